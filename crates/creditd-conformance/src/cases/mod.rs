//! The conformance cases. Each gets a fresh store and must leave every org
//! verifiable (the harness runs `verify` on all of them afterwards).
//!
//! One module per topic; the harness names every case as `cases::<name>`.

use creditd_core::{EventCtx, EventKind, Micros, Op, OrgSettings, Pool, Status};
use creditd_store::query::{EventFilter, EventQuery, PageLimit, PageStart};
use creditd_store::{Clock, Command, StoreError};
use jiff::SignedDuration;
use std::collections::BTreeSet;

pub use crate::eviction::evicted_orgs_reload_exactly;
pub use crate::hardening::{expired_hold_refused_before_timer, unreadable_record_is_named, worst_inputs_read_back};
pub use crate::webhooks::{webhook_delivery_claims, webhook_outbox_with_events};
#[allow(unused_imports)]
use crate::*;

mod buymore;
mod debt;
mod directory;
mod exports;
mod extend;
mod funding;
mod history;
mod history_at;
mod hours;
mod idempotency;
mod ledger;
mod money;
mod plans;
mod priced;
mod prices;
mod rollups;
mod topup;
mod tree;

pub use buymore::*;
pub use debt::*;
pub use directory::*;
pub use exports::*;
pub use extend::*;
pub use funding::*;
pub use history::*;
pub use history_at::*;
pub use hours::*;
pub use idempotency::*;
pub use ledger::*;
pub use money::*;
pub use plans::*;
pub use priced::*;
pub use prices::*;
pub use rollups::*;
pub use topup::*;
pub use tree::*;

pub(crate) fn secs(s: i64) -> SignedDuration {
    SignedDuration::from_secs(s)
}

pub(crate) fn kinds(events: &[creditd_core::Event]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind).collect()
}
