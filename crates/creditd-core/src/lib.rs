//! creditd-core: the credit ledger as a pure state machine.
//!
//! It exists so that every rule of the ledger (pools, consumption order,
//! holds, no overdraft, refunds, expiry, periods) lives in one place that does
//! no I/O, no async and no SQL, and can be tested exhaustively. Storage engines
//! keep an [`OrgState`] per organisation, feed it [`Op`]s and persist the
//! [`Event`]s it returns.
//!
//! Modules are layered (each imports only from the layers above it): values
//! (`money`, `event`, `chain`, `error`, `input`); the state (`state`); what
//! can be done and how its effects are written (`op`, `effects`); the rule
//! files (`ledger`, `access`, `plans`, `reversal`), which never import one another; and
//! the dispatcher ([`OrgState::apply`], in `apply.rs`) and `verify`.
//! ARCHITECTURE.md ("Operations and their rules") maps each operation to the one function with its rule.

#![deny(missing_docs)]

// Leaf modules: what the rule files import. None of them imports a rule file.
pub mod chain;
pub mod checkout;
pub mod effects;
pub mod error;
pub mod event;
pub mod input;
pub mod locale;
pub mod money;
pub mod money_in;
pub mod op;
pub mod prices;
pub mod state;
pub mod statement;
pub mod tree;
pub mod view;

// The rule files: each imports only the leaves above, never one another.
pub mod access;
pub mod alerts;
pub mod ledger;
pub mod plans;
pub mod pricing;
pub mod reversal;
pub mod topup;

// Above the rule files: the one operation on two organisations (it uses
// the ledger's draws); rules of the tree are a leaf (`tree`).
pub mod funding;
pub mod transfers;

// On top: `OrgState::apply` dispatches to the rule files; `verify` reads;
// `check` applies an operation to a copy.
mod apply;
pub mod check;
pub mod verify;

pub use access::CapView;
pub use chain::ChainHash;
pub use check::CheckAnswer;
pub use effects::{Applied, Conversation, Notification, Outcome};
pub use error::{BrokenInvariant, ErrorCode, LedgerError};
pub use event::{Event, EventCtx, EventKind, FreePools, Pool, Status, UnknownName};
pub use money::{AmountError, Micros};
pub use money_in::{AlertLevel, AutoTopUpRule, TopUpCap};
pub use op::{
    AccessOp, Actor, CreditKind, CreditOp, Effective, ExtendOp, HoldOp, Op, PlanOp, PricedOp, SettingsPatch, TransferOp,
};
pub use plans::Summary;
pub use prices::{NoPrices, PriceSource, Pricing, Quantity};
pub use state::{
    Balance, Block, CapSubject, Draw, Funding, FundingUse, OrgSettings, OrgState, Plan, PlanState, PoolBalances,
    Record, RecordKind, RecordStatus, ReversalPolicy, Rollover,
};
pub use view::{EventRef, MetadataRef, PricingRef};

/// Checks an id to look up: 1–64 characters of letters, digits, `-`, `_`
/// and `.`. Wider than [`OrgId`], which new ids must match, so that ids an
/// earlier release accepted (`..`) can still be read.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The one grammar of ids callers choose for new things (organisations):
/// 1–64 characters of `[A-Za-z0-9._-]`, the first a letter or digit. Such an
/// id travels in URL paths unchanged: nothing in it is percent-encoded, and
/// it is never a dot segment (`.`, `..`) that a client or proxy would
/// resolve away, nor does it start like a command-line flag (`-`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgId(String);

/// Why a string is not an [`OrgId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("id {0:?} must be 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit")]
pub struct InvalidId(pub String);

impl OrgId {
    /// Longest id, in characters (all ASCII, so also bytes).
    pub const MAX_CHARS: usize = 64;

    /// Parses a new id: refused unless it matches the grammar above.
    pub fn parse(id: &str) -> Result<OrgId, InvalidId> {
        let first_ok = id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        if first_ok && valid_id(id) { Ok(OrgId(id.to_string())) } else { Err(InvalidId(id.to_string())) }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for OrgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
