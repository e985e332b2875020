//! What a batch writes, computed once for both engines.
//!
//! Both engines store the same tables with the same values: an org's state
//! row, the events with their chain hashes, the records, the idempotency
//! rows, conversations, notifications, usage rollups and the webhook
//! outbox. Deciding those values (serialising states and records, checking
//! the ledger's invariants before anything is committed, formatting hashes
//! and metadata) lives here, in [`WriteSet::encode`]; an engine's writer
//! only binds the rows [`WriteSet::rows`] hands out into its own SQL and
//! commits. A usage record created in the batch lives on its event (the
//! blocks it drew from, as the `draws` column), not as a `records` row,
//! until a refund rewrites it; both engines lay it out so.
//!
//! The rows borrow from the [`Batch`] instead of copying it: the events are
//! the batch's own, and a [`WriteSet`] holds only the columns that had to be
//! computed (text and JSON). That keeps the hot path free of a second copy of
//! every event, and lets SQLite compute the set on its apply thread and bind
//! it on its committer thread.

use creditd_core::{ChainHash, Event, OrgSettings, OrgState, Record};
use jiff::Timestamp;

use crate::batch::{self, Batch};
use crate::rollup::{RollupDelta, Rollups, ZoneCache};
use crate::sql::event_texts;
use crate::webhooks::OutboxMessage;
use crate::{OrgInfo, StoreError};

/// The computed columns of one batch's rows, from [`WriteSet::encode`]:
/// bind them through [`WriteSet::rows`] with the same batch.
#[derive(Debug)]
pub struct WriteSet {
    /// One per `batch.orgs`, in order.
    orgs: Vec<OrgColumns>,
    /// One per `batch.events`, in order.
    events: Vec<EventText>,
    /// The records to upsert (`batch.records`, in order), each with its
    /// JSON body.
    records: Vec<String>,
    /// The JSON body of each of `batch.notifications`, in order.
    notifications: Vec<String>,
    /// The lengths of the batch's vectors when it was encoded.
    shape: Shape,
}

/// An org state row's computed columns.
#[derive(Debug)]
struct OrgColumns {
    seq: i64,
    next_expiry_us: Option<i64>,
    state_json: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shape {
    orgs: usize,
    events: usize,
    records: usize,
    usage_records: usize,
    notifications: usize,
}

impl Shape {
    fn of(batch: &Batch) -> Self {
        Shape {
            orgs: batch.orgs.len(),
            events: batch.events.len(),
            records: batch.records.len(),
            usage_records: batch.usage_records.len(),
            notifications: batch.notifications.len(),
        }
    }
}

/// An event's columns that are formatted rather than bound as they are.
#[derive(Debug)]
pub struct EventText {
    /// The chain hash, as lowercase hex.
    hash: String,
    /// The metadata object, as JSON.
    metadata: Option<String>,
    /// A priced event's pricing, as JSON: formatted when the row is bound
    /// ([`EventRow::new`]), on the committing side of the pipeline, not
    /// by the writer that applies (priced work the busier thread need not
    /// do).
    pricing: std::sync::OnceLock<Option<String>>,
    /// For a usage event, the blocks its record drew from (JSON).
    draws: Option<String>,
}

impl EventText {
    /// The formatted columns of `e`, whose chain hash is `hash`; `draws` is
    /// the JSON of its usage record's draws, if it goes on the event.
    pub fn new(e: &Event, hash: &ChainHash, draws: Option<String>) -> Self {
        EventText {
            hash: hash.to_string(),
            metadata: e.metadata.as_ref().map(|m| m.to_string()),
            pricing: std::sync::OnceLock::new(),
            draws,
        }
    }
}

impl WriteSet {
    /// Computes everything `batch` writes that is not bound as it is:
    /// every touched org's state row (after checking the org's invariants:
    /// a broken one refuses the whole batch before anything is written), each
    /// event's hash, metadata and (for a usage) draws,
    /// each record's body, each notification's body. `state_of` finds the
    /// org's in-memory state as of the end of the batch.
    pub fn encode<'s>(batch: &Batch, state_of: impl Fn(&str) -> Option<&'s OrgState>) -> Result<WriteSet, StoreError> {
        let orgs = batch
            .orgs
            .iter()
            .map(|org| {
                let s = state_of(org).ok_or_else(|| StoreError::OrgNotFound(org.clone()))?;
                if let Err(problem) = s.check_invariants() {
                    return Err(StoreError::BrokenInvariant(problem));
                }
                OrgColumns::of(s)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut usage = batch.usage_records.iter().peekable();
        let events = batch
            .events
            .iter()
            .zip(&batch.hashes)
            .enumerate()
            .map(|(i, (e, h))| {
                let draws = match usage.next_if(|(at, _)| *at == i) {
                    Some((_, r)) => Some(serde_json::to_string(&r.draws).map_err(StoreError::json("draws"))?),
                    None => None,
                };
                Ok(EventText::new(e, h, draws))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let records = batch.records.iter().map(|(_, r)| record_body(r)).collect::<Result<Vec<_>, StoreError>>()?;
        let notifications = batch
            .notifications
            .iter()
            .map(|(_, n)| serde_json::to_string(n).map_err(StoreError::json("notification")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WriteSet { orgs, events, records, notifications, shape: Shape::of(batch) })
    }

    /// The rows to bind, read from `batch` (the one this set was encoded
    /// from: another batch is refused as `Corrupt`).
    pub fn rows<'a>(&'a self, batch: &'a Batch) -> Result<Rows<'a>, StoreError> {
        if Shape::of(batch) != self.shape {
            return Err(StoreError::Corrupt("a write batch was encoded from another batch".into()));
        }
        Ok(Rows { set: self, batch })
    }
}

impl OrgColumns {
    fn of(s: &OrgState) -> Result<Self, StoreError> {
        Ok(OrgColumns {
            seq: s.seq as i64,
            next_expiry_us: batch::next_expiry(s).map(|t| t.as_microsecond()),
            state_json: serde_json::to_string(s).map_err(StoreError::json("org state"))?,
        })
    }
}

/// A record's `body` column: the record as JSON.
pub fn record_body(r: &Record) -> Result<String, StoreError> {
    serde_json::to_string(r).map_err(StoreError::json("record"))
}

/// A batch's rows, ready to bind: each accessor yields one table's rows in
/// the order the engines write them.
#[derive(Clone, Copy, Debug)]
pub struct Rows<'a> {
    set: &'a WriteSet,
    batch: &'a Batch,
}

impl<'a> Rows<'a> {
    /// The `orgs` rows to update (seq, next expiry, state), one per org
    /// the batch touched.
    pub fn orgs(&self) -> impl ExactSizeIterator<Item = OrgRow<'a>> + 'a {
        self.batch.orgs.iter().zip(&self.set.orgs).map(|(org_id, c)| OrgRow {
            org_id,
            seq: c.seq,
            next_expiry_us: c.next_expiry_us,
            state_json: &c.state_json,
        })
    }

    /// The `events` rows to insert, in the batch's order.
    pub fn events(&self) -> impl ExactSizeIterator<Item = EventRow<'a>> + 'a {
        self.batch.events.iter().zip(&self.set.events).map(|(e, t)| EventRow::new(e, t))
    }

    /// The `records` rows to upsert.
    pub fn records(&self) -> impl ExactSizeIterator<Item = RecordRow<'a>> + 'a {
        self.batch.records.iter().zip(&self.set.records).map(|((org_id, r), body)| RecordRow::new(org_id, r, body))
    }

    /// The `idempotency` rows to insert.
    pub fn idempotency(&self) -> impl ExactSizeIterator<Item = IdempotencyRow<'a>> + 'a {
        self.batch.idem.iter().map(|i| IdempotencyRow {
            org_id: &i.org_id,
            key: &i.key,
            fingerprint: &i.fingerprint,
            outcome_json: &i.outcome,
            created_at_us: i.created_at.as_microsecond(),
        })
    }

    /// The `conversations` rows to insert.
    pub fn conversations(&self) -> impl ExactSizeIterator<Item = ConversationRow<'a>> + 'a {
        self.batch.conversations.iter().map(|(org_id, v)| ConversationRow {
            org_id,
            seq: v.seq as i64,
            identity: &v.identity,
            campaign: v.campaign.as_deref(),
            started_at_us: v.started_at.as_microsecond(),
            day: v.day.to_string(),
            created_at_us: v.created_at.as_microsecond(),
        })
    }

    /// The `notifications` rows to insert.
    pub fn notifications(&self) -> impl ExactSizeIterator<Item = NotificationRow<'a>> + 'a {
        self.batch.notifications.iter().zip(&self.set.notifications).map(|((org_id, n), body)| NotificationRow {
            org_id,
            seq: n.seq as i64,
            created_at_us: n.created_at.as_microsecond(),
            kind: n.kind.as_str(),
            body_json: body,
        })
    }

    /// The usage rollup deltas to add, one per row touched; `Err` (a broken
    /// invariant) if a sum could not be kept exact, and then the batch must
    /// not commit.
    pub fn rollups(&self) -> Result<Vec<RollupDelta>, StoreError> {
        self.batch.rollups.checked_deltas()
    }

    /// The webhook messages for the outbox, each fanned out to the org's
    /// endpoints that want its type.
    pub fn webhooks(&self) -> &'a [OutboxMessage] {
        &self.batch.webhooks
    }
}

/// An `orgs` row as a batch leaves it.
#[derive(Clone, Copy, Debug)]
pub struct OrgRow<'a> {
    /// The org.
    pub org_id: &'a str,
    /// The org's last event seq (0 before its first event).
    pub seq: i64,
    /// When the org next has scheduled work ([`batch::next_expiry`]), in
    /// microseconds since the epoch; `None` when it has none.
    pub next_expiry_us: Option<i64>,
    /// The org's [`OrgState`] as JSON.
    pub state_json: &'a str,
}

/// An `events` row: every column, in the order of the events table.
#[derive(Clone, Copy, Debug)]
pub struct EventRow<'a> {
    /// The org.
    pub org_id: &'a str,
    /// Per-org sequence number, from 1.
    pub seq: i64,
    /// When it was written, in microseconds since the epoch.
    pub created_at_us: i64,
    /// The event kind's stable name.
    pub kind: &'static str,
    /// The amount, in micro-credits.
    pub amount_micros: i64,
    /// The pool's stable name, if the event names one.
    pub pool: Option<&'static str>,
    /// The status's stable name.
    pub status: &'static str,
    /// The text columns from `source` to `idempotency_key`, in
    /// [`crate::sql::EVENT_COLUMNS`] order ([`event_texts`]).
    pub texts: [Option<&'a str>; 11],
    /// Balance after the event, in micro-credits.
    pub balance_after_micros: i64,
    /// Prepaid balance after the event, in micro-credits.
    pub prepaid_balance_after_micros: i64,
    /// Held amount after the event, in micro-credits.
    pub held_after_micros: i64,
    /// The period's usage after the event, in micro-credits.
    pub period_usage_after_micros: i64,
    /// The metadata object as JSON, if any.
    pub metadata_json: Option<&'a str>,
    /// A priced event's pricing as JSON, if any.
    pub pricing_json: Option<&'a str>,
    /// The chain hash, as lowercase hex.
    pub hash: &'a str,
    /// A usage event's draws as JSON (its record, until a refund rewrites
    /// it as a `records` row).
    pub draws_json: Option<&'a str>,
    /// The plan, voucher and promotional pools after the event
    /// ([`crate::sql::pools_columns`]).
    pub pools_after: [Option<i64>; 3],
}

impl<'a> EventRow<'a> {
    /// The row of `e` with its formatted columns `text`.
    pub fn new(e: &'a Event, text: &'a EventText) -> Self {
        EventRow {
            org_id: &e.org_id,
            seq: e.seq as i64,
            created_at_us: e.created_at.as_microsecond(),
            kind: e.kind.as_str(),
            amount_micros: e.amount.micros(),
            pool: e.pool.map(|p| p.as_str()),
            status: e.status.as_str(),
            texts: event_texts(e),
            balance_after_micros: e.balance_after.micros(),
            prepaid_balance_after_micros: e.prepaid_balance_after.micros(),
            held_after_micros: e.held_after.micros(),
            period_usage_after_micros: e.period_usage_after.micros(),
            metadata_json: text.metadata.as_deref(),
            pricing_json: text
                .pricing
                .get_or_init(|| e.pricing.as_ref().map(|p| creditd_core::PricingRef::Value(p).json()))
                .as_deref(),
            hash: &text.hash,
            draws_json: text.draws.as_deref(),
            pools_after: crate::sql::pools_columns(e.pools_after),
        }
    }
}

/// A `records` row to upsert (a hold, usage or purchase, latest version).
#[derive(Clone, Copy, Debug)]
pub struct RecordRow<'a> {
    /// The org.
    pub org_id: &'a str,
    /// The record's id.
    pub id: &'a str,
    /// The status's stable name.
    pub status: &'static str,
    /// When an open hold times out, in microseconds since the epoch.
    pub expires_at_us: Option<i64>,
    /// The record as JSON ([`record_body`]).
    pub body_json: &'a str,
}

impl<'a> RecordRow<'a> {
    /// The row of `r`, of `org_id`, whose JSON is `body`.
    pub fn new(org_id: &'a str, r: &'a Record, body: &'a str) -> Self {
        RecordRow {
            org_id,
            id: &r.id,
            status: r.status.as_str(),
            expires_at_us: r.expires_at.map(|t| t.as_microsecond()),
            body_json: body,
        }
    }
}

/// An `idempotency` row to insert.
#[derive(Clone, Copy, Debug)]
pub struct IdempotencyRow<'a> {
    /// The org.
    pub org_id: &'a str,
    /// The client's idempotency key.
    pub key: &'a str,
    /// The request's fingerprint (hex SHA-256).
    pub fingerprint: &'a str,
    /// The first answer, as JSON.
    pub outcome_json: &'a str,
    /// When it was stored, in microseconds since the epoch.
    pub created_at_us: i64,
}

/// A `conversations` row to insert.
#[derive(Clone, Debug)]
pub struct ConversationRow<'a> {
    /// The org.
    pub org_id: &'a str,
    /// Per-org sequence number, from 1.
    pub seq: i64,
    /// Who the conversation was with.
    pub identity: &'a str,
    /// The campaign, if any.
    pub campaign: Option<&'a str>,
    /// When it started, in microseconds since the epoch.
    pub started_at_us: i64,
    /// The start's date in the org's zone, `YYYY-MM-DD`.
    pub day: String,
    /// When it was recorded, in microseconds since the epoch.
    pub created_at_us: i64,
}

/// A `notifications` row to insert.
#[derive(Clone, Copy, Debug)]
pub struct NotificationRow<'a> {
    /// The org.
    pub org_id: &'a str,
    /// Per-org sequence number, from 1.
    pub seq: i64,
    /// When it was raised, in microseconds since the epoch.
    pub created_at_us: i64,
    /// The kind's stable name.
    pub kind: &'static str,
    /// The notification as JSON.
    pub body_json: &'a str,
}

/// A new organisation: its state, the row that stores it, and the answer.
#[derive(Debug)]
pub struct NewOrg {
    /// The org's state at creation (no events, seq 0).
    pub state: OrgState,
    /// When it was created, in microseconds since the epoch (`orgs.created_at`).
    pub created_at_us: i64,
    /// `state` as JSON (`orgs.state`); the row's seq is 0 and its next
    /// expiry NULL.
    pub state_json: String,
    /// The answer to the caller.
    pub info: OrgInfo,
}

/// The organisation `org_id` with `settings`, created at `now`, ready to
/// insert. `Err(StoreError::Ledger(_))` refuses the settings; any other
/// error is a failure to serialise.
pub fn new_org(org_id: &str, settings: OrgSettings, now: Timestamp) -> Result<NewOrg, StoreError> {
    let state = OrgState::new(org_id, settings, now)?;
    let state_json = serde_json::to_string(&state).map_err(StoreError::json("org state"))?;
    let info = OrgInfo { id: org_id.to_string(), created_at: now, parent_id: None, settings: state.settings.clone() };
    Ok(NewOrg { state, created_at_us: now.as_microsecond(), state_json, info })
}

/// An imported organisation's row: its derived state as it stands after
/// the history (no invariant check here: the import replays the history
/// before it writes).
#[derive(Debug)]
pub struct ImportedOrg {
    /// `orgs.created_at`, in microseconds since the epoch.
    pub created_at_us: i64,
    /// The last event's seq.
    pub seq: i64,
    /// `orgs.next_expiry`, in microseconds since the epoch.
    pub next_expiry_us: Option<i64>,
    /// The state as JSON.
    pub state_json: String,
}

impl ImportedOrg {
    /// The row of the derived `state`.
    pub fn of(state: &OrgState) -> Result<Self, StoreError> {
        let OrgColumns { seq, next_expiry_us, state_json } = OrgColumns::of(state)?;
        Ok(ImportedOrg { created_at_us: state.created_at.as_microsecond(), seq, next_expiry_us, state_json })
    }
}

/// The usage rollups of a whole imported history of `org_id`, whose zone
/// is `zone`, checked.
pub fn history_rollups(org_id: &str, zone: &str, events: &[Event]) -> Result<Vec<RollupDelta>, StoreError> {
    let tz = ZoneCache::default().get(org_id, zone);
    let mut rollups = Rollups::new();
    for e in events {
        rollups.add_event(e, &tz);
    }
    rollups.checked_deltas()
}
