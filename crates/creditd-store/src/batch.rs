//! The engine-neutral part of a write batch.
//!
//! An engine's writer loads the states of the organisations a batch touches,
//! then runs every command through [`Batch::apply`], which applies it to the
//! in-memory [`OrgState`] and collects what must be written. The engine then
//! writes the whole [`Batch`] in one transaction (one fsync) and only then
//! answers the callers. If the transaction fails the engine must drop its
//! in-memory states of the touched organisations and reload them.

// FxHash: keys are our own ids and names, hashed on every operation.
use rustc_hash::FxHashMap as HashMap;

use creditd_core::{
    ChainHash, Conversation, Event, EventKind, LedgerError, Notification, Op, OrgState, Outcome, Record, RecordKind,
};
use jiff::Timestamp;

use crate::rollup::{Rollups, ZoneCache};
use crate::{Command, StoreError, telemetry};

/// A stored idempotency key: the request's fingerprint and its first result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdemRow {
    /// The organisation the key belongs to.
    pub org_id: String,
    /// The client's key.
    pub key: String,
    /// Hex SHA-256 of the org and the op ([`Command::fingerprint`]).
    pub fingerprint: String,
    /// The first result, as JSON.
    pub outcome: String,
    /// When the first request was applied.
    pub created_at: Timestamp,
}

impl IdemRow {
    /// The answer to a request that reuses this key.
    pub fn replay(&self, fingerprint: &str) -> Result<Outcome, StoreError> {
        if self.fingerprint != fingerprint {
            return Err(StoreError::IdempotencyConflict { key: self.key.clone() });
        }
        creditd_core::input::parse_stored(&self.outcome)
            .map_err(|e| StoreError::Corrupt(format!("stored answer of idempotency key {:?}: {e}", self.key)))
    }
}

/// Everything one batch writes.
#[derive(Debug, Default)]
pub struct Batch {
    /// The events to append, in the order they were applied (per org, in seq
    /// order).
    pub events: Vec<Event>,
    /// The chain hash of each of `events`, in the same order.
    pub hashes: Vec<ChainHash>,
    /// Records to upsert, one per (org, id), latest version; usage records
    /// just created are in `usage_records` instead.
    pub records: Vec<(String, Record)>,
    /// Usage records created by this batch, each with the index in `events`
    /// of its usage event (which names its org). Such a record is its event
    /// plus the blocks it drew from, so both engines keep the draws on the
    /// event's row instead of writing a record row. If the usage was also
    /// refunded within the batch, its newer version is in `records` too
    /// ([`Batch::has_record`]).
    pub usage_records: Vec<(usize, Record)>,
    record_index: HashMap<(String, String), usize>,
    /// Organisations whose state row must be rewritten.
    pub orgs: Vec<String>,
    /// Idempotency rows to insert, one per keyed command applied.
    pub idem: Vec<IdemRow>,
    idem_index: HashMap<(String, String), usize>,
    /// Operations applied (for metrics).
    pub applied: usize,
    /// Open holds created less open holds settled (for metrics, once committed).
    pub open_holds_delta: i64,
    /// Conversations to insert (`conversations` table), with their org.
    pub conversations: Vec<(String, Conversation)>,
    /// Notifications to insert (`notifications` table), with their org.
    pub notifications: Vec<(String, Notification)>,
    /// Webhook messages for the outbox (see [`crate::webhooks`]): the engine
    /// writes them, with a delivery row per endpoint that wants each, in the
    /// same transaction.
    pub webhooks: Vec<crate::webhooks::OutboxMessage>,
    /// Credits consumed per day and group, folded from the events: the
    /// engine upserts them in the same transaction (see [`crate::rollup`])
    /// after [`Rollups::check`].
    pub rollups: Rollups,
    /// Parsed organisation time zones; an engine may carry it from batch to
    /// batch (`std::mem::take`) so a zone is parsed once per org.
    pub zones: ZoneCache,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the batch for reuse, keeping its allocations and its zone
    /// cache: an engine that recycles its last batch does not grow every
    /// vector from nothing again (copies and fresh pages, measured as about a
    /// tenth of the apply thread's time in `creditd bench`).
    pub fn clear(&mut self) {
        let Batch {
            events,
            hashes,
            records,
            usage_records,
            record_index,
            orgs,
            idem,
            idem_index,
            applied,
            open_holds_delta,
            conversations,
            notifications,
            webhooks,
            rollups,
            zones: _,
        } = self;
        events.clear();
        hashes.clear();
        records.clear();
        usage_records.clear();
        record_index.clear();
        orgs.clear();
        idem.clear();
        idem_index.clear();
        *applied = 0;
        *open_holds_delta = 0;
        conversations.clear();
        notifications.clear();
        webhooks.clear();
        *rollups = Rollups::default();
    }

    /// Whether `records` holds a version of (org, id).
    pub fn has_record(&self, org_id: &str, id: &str) -> bool {
        self.record_index.contains_key(&(org_id.to_string(), id.to_string()))
    }

    /// The idempotency row this batch stores for (org, key), if any.
    pub fn idem_row(&self, org_id: &str, key: &str) -> Option<&IdemRow> {
        self.idem_index.get(&(org_id.to_string(), key.to_string())).map(|&i| &self.idem[i])
    }

    /// The latest version of (org, id) in `records`, if this batch wrote one.
    /// (Usage records created here are in `usage_records`.)
    pub fn record(&self, org_id: &str, id: &str) -> Option<&Record> {
        self.record_index.get(&(org_id.to_string(), id.to_string())).map(|&i| &self.records[i].1)
    }

    /// Whether the batch writes nothing at all (no events, idempotency rows,
    /// state rows, conversations, notifications or webhook messages).
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.idem.is_empty()
            && self.orgs.is_empty()
            && self.conversations.is_empty()
            && self.notifications.is_empty()
            && self.webhooks.is_empty()
    }

    /// Applies `cmd` to `state` at `now`, without price books (priced
    /// operations are refused as `unknown_price`). `stored` is the
    /// idempotency row the engine found for the command's key, if any.
    pub fn apply(
        &mut self,
        state: &mut OrgState,
        cmd: &Command,
        now: Timestamp,
        stored: Option<&IdemRow>,
    ) -> Result<Outcome, StoreError> {
        self.apply_with(state, cmd, now, stored, &creditd_core::NoPrices)
    }

    /// [`Batch::apply`], pricing priced operations from `prices` (the
    /// engine's [`Catalogue`](crate::prices::Catalogue)).
    pub fn apply_with(
        &mut self,
        state: &mut OrgState,
        cmd: &Command,
        now: Timestamp,
        stored: Option<&IdemRow>,
        prices: &dyn creditd_core::PriceSource,
    ) -> Result<Outcome, StoreError> {
        if let Some(replayed) = self.replay(cmd, stored) {
            return replayed;
        }
        let was_open = cmd.op.record_ref().is_some_and(|id| telemetry::is_open_hold(state, id));
        let applied = match state.apply_priced(&cmd.op, cmd.actor.as_ref(), now, cmd.idempotency_key.as_deref(), prices)
        {
            Ok(applied) => applied,
            Err(e) => {
                telemetry::operation(cmd.op.name(), e.code().as_str());
                if let LedgerError::HoldExpired { hold_id, .. } = &e {
                    // A timed-out hold is released whether or not the timer
                    // has run: the refusal writes the release the timer
                    // would have written, in this batch.
                    if telemetry::is_open_hold(state, hold_id) {
                        let timeout =
                            Command::new(cmd.org_id.clone(), Op::TimeoutHold { hold_id: hold_id.clone() }, None);
                        self.apply(state, &timeout, now, None)?;
                    }
                }
                return Err(e.into());
            }
        };
        telemetry::operation(cmd.op.name(), "ok");
        let Some(outcome) = self.collect(state, &cmd.op, was_open, applied)? else {
            return Ok(Outcome { events: Vec::new(), record: None, balance: state.balance(), conversation: None });
        };
        self.remember(cmd, &outcome, now)?;
        Ok(outcome)
    }

    /// Applies the transfer `cmd` (an `Op::Transfer` sending half) from
    /// `from` to `to`, each with its parent as the engine read it under the
    /// batch's locks: both halves go into this batch, or neither
    /// (`creditd_core::transfers::transfer`). The answer (and the
    /// idempotency row, on the sender) holds both halves' events and the
    /// sender's balance.
    #[allow(clippy::too_many_arguments)]
    pub fn apply_transfer(
        &mut self,
        from: &mut OrgState,
        from_parent: Option<&str>,
        to: &mut OrgState,
        to_parent: Option<&str>,
        cmd: &Command,
        now: Timestamp,
        stored: Option<&IdemRow>,
    ) -> Result<Outcome, StoreError> {
        if let Some(replayed) = self.replay(cmd, stored) {
            return replayed;
        }
        let key = cmd.idempotency_key.as_deref();
        let both =
            creditd_core::transfers::transfer(from, from_parent, to, to_parent, &cmd.op, cmd.actor.as_ref(), now, key)
                .inspect_err(|e| telemetry::operation(cmd.op.name(), e.code().as_str()))?;
        telemetry::operation(cmd.op.name(), "ok");
        let out = self.collect(from, &cmd.op, false, both.out)?;
        let into = self.collect(to, &cmd.op, false, both.into)?;
        let mut events = Vec::new();
        events.extend(out.iter().flat_map(|o| o.events.iter().cloned()));
        events.extend(into.iter().flat_map(|o| o.events.iter().cloned()));
        let outcome = Outcome { events, record: None, balance: from.balance(), conversation: None };
        self.remember(cmd, &outcome, now)?;
        Ok(outcome)
    }

    /// Applies `cmd` to `child`, which draws on `parent` (`funding:
    /// parent`; the engine read the parent under the batch's locks): own
    /// credits first, the shortfall drawn from the parent in this batch
    /// (`creditd_core::funding::apply_funded`), both orgs or neither. The
    /// answer (and the idempotency row) holds the child's events and
    /// balance only: the parent's `transfer_out` is the parent's.
    pub fn apply_funded(
        &mut self,
        child: &mut OrgState,
        parent: &mut OrgState,
        cmd: &Command,
        now: Timestamp,
        stored: Option<&IdemRow>,
        prices: &dyn creditd_core::PriceSource,
    ) -> Result<Outcome, StoreError> {
        if let Some(replayed) = self.replay(cmd, stored) {
            return replayed;
        }
        let was_open = cmd.op.record_ref().is_some_and(|id| telemetry::is_open_hold(child, id));
        let key = cmd.idempotency_key.as_deref();
        let both =
            match creditd_core::funding::apply_funded(child, parent, &cmd.op, cmd.actor.as_ref(), now, key, prices) {
                Ok(both) => both,
                // The plain path writes the timer's release of a timed-out hold.
                Err(LedgerError::HoldExpired { .. }) => return self.apply_with(child, cmd, now, stored, prices),
                Err(e) => {
                    telemetry::operation(cmd.op.name(), e.code().as_str());
                    return Err(e.into());
                }
            };
        telemetry::operation(cmd.op.name(), "ok");
        let mut events = Vec::new();
        if let Some(draw) = both.draw {
            let out_op = Op::Transfer(creditd_core::TransferOp::Out {
                to: child.org_id.clone(),
                amount: creditd_core::Micros::ZERO,
                ctx: creditd_core::EventCtx::default(),
            });
            self.collect(parent, &out_op, false, draw.out)?;
            let into = self.collect(child, &out_op, false, draw.into)?;
            events.extend(into.iter().flat_map(|o| o.events.iter().cloned()));
        }
        let Some(mut outcome) = self.collect(child, &cmd.op, was_open, both.op)? else {
            return Ok(Outcome { events, record: None, balance: child.balance(), conversation: None });
        };
        events.append(&mut outcome.events);
        outcome.events = events;
        self.remember(cmd, &outcome, now)?;
        Ok(outcome)
    }

    /// The first answer to a retry of a keyed command, if this batch or the
    /// store has one.
    fn replay(&self, cmd: &Command, stored: Option<&IdemRow>) -> Option<Result<Outcome, StoreError>> {
        let key = cmd.idempotency_key.as_ref()?;
        if let Some(&i) = self.idem_index.get(&(cmd.org_id.clone(), key.clone())) {
            return Some(self.idem[i].replay(&cmd.fingerprint));
        }
        stored.map(|row| row.replay(&cmd.fingerprint))
    }

    /// Keeps what an operation applied to `state` produced (events,
    /// hashes, rollups, webhooks, records, the org row) for the commit;
    /// `None` when it changed nothing.
    fn collect(
        &mut self,
        state: &OrgState,
        op: &Op,
        was_open: bool,
        applied: creditd_core::Applied,
    ) -> Result<Option<Outcome>, StoreError> {
        let Some(outcome) = applied.outcome else {
            return Ok(None);
        };
        self.applied += 1;
        let first_event = self.events.len();
        self.events.extend(outcome.events.iter().cloned());
        let tz = self.zones.get(&state.org_id, &state.settings.time_zone);
        for e in &outcome.events {
            self.rollups.add_event(e, &tz);
        }
        debug_assert_eq!(applied.hashes.len(), outcome.events.len());
        self.hashes.extend(applied.hashes);
        self.webhooks.extend(crate::webhooks::derive(&state.org_id, op, &outcome.events, &applied.notifications)?);
        let org = || state.org_id.clone();
        self.conversations.extend(applied.conversations.into_iter().map(|c| (org(), c)));
        self.notifications.extend(applied.notifications.into_iter().map(|n| (org(), n)));
        let open_now = applied.touched_records.iter().filter(|id| telemetry::is_open_hold(state, id)).count();
        self.open_holds_delta += open_now as i64 - i64::from(was_open);
        for id in applied.touched_records {
            if let Some(r) = state.records.get(&id) {
                // Nothing refunded yet: created by this very operation.
                if r.kind == RecordKind::Usage && r.refunded.is_zero() {
                    let own = outcome
                        .events
                        .iter()
                        .position(|e| e.kind == EventKind::Usage && e.hold_id.as_deref() == Some(id.as_str()));
                    if let Some(pos) = own {
                        self.usage_records.push((first_event + pos, r.clone()));
                        continue;
                    }
                }
                let k = (state.org_id.clone(), id);
                match self.record_index.get(&k) {
                    Some(&i) => self.records[i].1 = r.clone(),
                    None => {
                        self.record_index.insert(k, self.records.len());
                        self.records.push((state.org_id.clone(), r.clone()));
                    }
                }
            }
        }
        if !self.orgs.contains(&state.org_id) {
            self.orgs.push(state.org_id.clone());
        }
        Ok(Some(outcome))
    }

    /// Stores the first answer of a keyed command, for its retries.
    fn remember(&mut self, cmd: &Command, outcome: &Outcome, now: Timestamp) -> Result<(), StoreError> {
        if let Some(key) = &cmd.idempotency_key {
            let outcome_json = serde_json::to_string(outcome).map_err(StoreError::json("outcome"))?;
            self.idem_index.insert((cmd.org_id.clone(), key.clone()), self.idem.len());
            self.idem.push(IdemRow {
                org_id: cmd.org_id.clone(),
                key: key.clone(),
                fingerprint: cmd.fingerprint.clone(),
                outcome: outcome_json,
                created_at: now,
            });
        }
        Ok(())
    }
}

/// When the organisation next has scheduled work, for the timer: the
/// soonest block expiry or, with a plan, the next renewal, whichever comes
/// first. The engines' tick sends `Op::ExpireDue` to orgs due by then.
pub fn next_expiry(state: &OrgState) -> Option<Timestamp> {
    let block = state.blocks.iter().filter_map(|b| b.expires_at).min();
    match (block, state.next_renewal()) {
        (Some(b), Some(r)) => Some(b.min(r)),
        (b, r) => b.or(r),
    }
}

/// Drops settled records from memory once written; pending ones stay so
/// timeouts and settles find them without a read.
pub fn evict_settled(state: &mut OrgState) {
    state.records.retain(|_, r| r.status.is_pending());
}
