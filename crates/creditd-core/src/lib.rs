//! creditd-core: the credit ledger as a pure state machine.
//!
//! It exists so that every rule of the ledger (pools, consumption order,
//! holds, no overdraft, refunds, expiry, periods) lives in one place that does
//! no I/O, no async and no SQL, and can be tested exhaustively. Storage engines
//! keep an [`OrgState`] per organisation, feed it [`Op`]s and persist the
//! [`Event`]s it returns.

pub mod access;
pub mod chain;
pub mod event;
pub mod input;
pub mod ledger;
pub mod money;
pub mod plans;
pub mod verify;
pub mod view;

pub use access::{AccessOp, Actor, CapSubject, CapView, SettingsPatch};
pub use chain::ChainHash;
pub use event::{Event, EventCtx, EventKind, Pool, Status, UnknownName};
pub use ledger::{
    Applied, Balance, Block, CreditKind, CreditOp, Draw, HoldOp, LedgerError, Op, OrgSettings, OrgState, Outcome,
    PoolBalances, Record, RecordKind, RecordStatus,
};
pub use money::{AmountError, Micros};
pub use plans::{Conversation, Effective, Notification, Plan, PlanOp, PlanState, Rollover, Summary};
pub use view::{EventRef, MetadataRef};

/// Checks an organisation or other caller-chosen id: 1–64 characters of
/// letters, digits, `-`, `_` and `.`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}
