//! Importing an organisation's history: the events verbatim, and the ledger
//! state derived from them, so that the organisation carries on where the
//! file ends.
//!
//! It exists because a full-layout export is how a history moves between
//! installations (a restore, a migration from another system), and an
//! imported organisation must then behave like one that lived here: the same
//! balances, its open holds still debitable or releasable, its usages still
//! refundable, its processing purchases still settleable. Engines write what
//! [`derive`] returns (events, records, state) in one transaction, or nothing.
//!
//! What the events determine exactly, and so what is exact after an import:
//! available (`balance_after` of the last event), held (`held_after`), the
//! prepaid pool (`prepaid_balance_after`), the sequence and the time of the
//! last event, and every hold, usage and purchase with its status, captured
//! and refunded amounts (from the events that name it in `hold_id`).
//!
//! What the events do not carry, and how it is filled in (the limits):
//! - Reversal debt: replayed by the ledger's own rule
//!   (`creditd_core::effects::debt_after`): each `reversal` under policy
//!   `debt` adds the `debt` its metadata states, and every event adding to
//!   available settles it first, as `OrgState::add_block` and
//!   `OrgState::settle_debt` did live. (A release or refund of credits that
//!   came from the overdraft paid the overdraft back live; the replay counts
//!   it against the debt, so it never owes more than the live org did.)
//! - Blocks. The events carry no block expiry. Each pool becomes one block
//!   with no expiry: prepaid exactly (`prepaid_balance_after`); plan,
//!   voucher and promotional exactly as the last event's pool columns say
//!   (`pools_after`), refused when they hold less than available plus the
//!   replayed debt (the rest is overdraft used). A file without pool
//!   columns (written before they existed): a per-pool fold of the events
//!   (each arrival net of what settled the debt), matched to the exact free
//!   total (available + debt − prepaid) by taking the excess in consumption
//!   order or adding the shortfall to promotional. Credits that would have
//!   expired later do not.
//! - Overdraft used: what the blocks hold beyond available and the debt
//!   (no pool columns: what available + debt is below the prepaid
//!   balance, the free pools then empty); what of it is beyond the
//!   organisation's overdraft limit (a history from elsewhere, or an
//!   organisation imported with a lower limit) is kept as `reversal_debt`.
//! - Purchases do not name their block: a reversal of an imported purchase
//!   takes from the prepaid pool (see `creditd_core::reversal`).
//! - Holds: each keeps its amount (its `hold` event's, plus every later
//!   `hold` event naming it: an extension), drawn from one block of its
//!   events' pool (none: the overdraft); an open hold gets a fresh default timeout from
//!   the time of the import, since its original timeout is not in the file.
//! - Plans, conversations, notifications and idempotency rows are not
//!   events: the organisation starts with no plan (subscribe it again) and a
//!   retry of a request made before the import is not recognised.
//! - Auto top-up and usage alerts: their rules are settings, so the
//!   organisation starts with none (set them again). What the events say is
//!   rebuilt ([`OrgState::rebuild_top_up`]): a top-up still `processing` is
//!   pending (no second one is requested; its settle clears it), the
//!   current period's top-ups that did not fail count against a cap set
//!   again, and the failures since the last successful purchase are kept.
//!   Alert levels start armed, as set on any organisation: one already
//!   crossed fires once.
//! - The period: the current one by the organisation's settings; its usage is
//!   the last event's `period_usage_after` if that event falls in it.

use std::collections::HashMap;

use creditd_core::ledger::DEFAULT_HOLD_TIMEOUT_SECONDS;
use creditd_core::verify::{Verifier, VerifyReport};
use creditd_core::{
    Balance, Block, ChainHash, Draw, Event, EventCtx, EventKind, LedgerError, Micros, OrgSettings, OrgState, Pool,
    Record, RecordKind, RecordStatus, Status,
};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::StoreError;

/// Longest text cell an imported event may carry (the ledger's own limit
/// for the free-text fields it accepts).
pub const MAX_IMPORT_TEXT: usize = 1024;
/// Largest metadata JSON an imported event may carry.
pub const MAX_IMPORT_METADATA: usize = 16 * 1024;
/// Most problems one refused import lists.
const MAX_PROBLEMS: usize = 50;

/// What an engine writes for an import, all in one transaction.
#[derive(Debug)]
pub struct Derived {
    /// The organisation's state after the last event. Its `records` hold the
    /// pending ones (open holds, processing purchases).
    pub state: OrgState,
    /// Every hold, usage and purchase the events name, as they stand now.
    pub records: Vec<Record>,
    /// What the import did, for the caller.
    pub report: ImportReport,
    /// The chain hash of each event (see `creditd_core::chain`): an
    /// imported history chains like one written here; `state.last_hash` is
    /// the last of them.
    pub hashes: Vec<ChainHash>,
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The organisation imported into.
    pub org_id: String,
    /// Events written.
    pub events: u64,
    /// Records (holds, usages, purchases) written.
    pub records: u64,
    /// Holds still open after the last event.
    pub open_holds: u64,
    /// Purchases still processing after the last event.
    pub pending_purchases: u64,
    /// The balances after the last event.
    pub balance: Balance,
    /// The balances recomputed from the events against the derived state.
    pub verify: VerifyReport,
    /// What was filled in rather than read (see the module docs).
    pub notes: Vec<String>,
}

fn refuse(problems: Vec<String>, omitted: usize) -> StoreError {
    let mut msg = format!("import refused, nothing written: {} problem(s)", problems.len() + omitted);
    for p in &problems {
        msg.push_str("\n  ");
        msg.push_str(p);
    }
    if omitted > 0 {
        msg.push_str(&format!("\n  … and {omitted} more"));
    }
    StoreError::Ledger(LedgerError::Invalid(msg))
}

fn block_id(pool: Pool) -> String {
    format!("blk_import_{pool}")
}

/// Checks `events` (an organisation's whole history, seq 1 first) and
/// derives the state and records to write. Pure: `now` is the import time.
pub fn derive(org_id: &str, settings: OrgSettings, events: &[Event], now: Timestamp) -> Result<Derived, StoreError> {
    let mut problems = Vec::new();
    let mut omitted = 0;
    let mut problem = |p: String| {
        if problems.len() < MAX_PROBLEMS {
            problems.push(p);
        } else {
            omitted += 1;
        }
    };
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return Err(refuse(vec!["the file holds no events".into()], 0));
    };
    if first.seq != 1 {
        problem(format!(
            "the first event is seq {}, not 1: an import needs the whole history (an unfiltered full export)",
            first.seq
        ));
    }
    let mut previous: Option<&Event> = None;
    for e in events {
        let at = format!("event seq {} ({})", e.seq, e.id);
        if e.org_id != org_id {
            problem(format!("{at}: belongs to organization {:?}, not {org_id:?}", e.org_id));
        }
        if e.id != Event::id_for(e.seq) {
            problem(format!("{at}: id must be {} (creditd derives event ids from seq)", Event::id_for(e.seq)));
        }
        if let Some(p) = previous {
            if e.seq != p.seq + 1 {
                problem(format!("{at}: follows seq {}; seqs must run 1, 2, 3, … without gaps", p.seq));
            }
            if e.created_at < p.created_at {
                problem(format!(
                    "{at}: created_at {} is before the previous event's {}; time never goes backwards within an organisation",
                    e.created_at, p.created_at
                ));
            }
        }
        let texts = crate::sql::event_texts(e);
        let names = [
            "source",
            "service",
            "activity",
            "project_id",
            "project_name",
            "user_name",
            "user_email",
            "description",
            "code",
            "hold_id",
            "idempotency_key",
        ];
        for (name, text) in names.iter().zip(texts) {
            if text.is_some_and(|t| t.len() > MAX_IMPORT_TEXT) {
                problem(format!("{at}: {name} is longer than {MAX_IMPORT_TEXT} bytes"));
            }
        }
        if e.metadata.as_ref().is_some_and(|m| m.to_string().len() > MAX_IMPORT_METADATA) {
            problem(format!("{at}: metadata is larger than {MAX_IMPORT_METADATA} bytes"));
        }
        if e.prepaid_balance_after.is_negative() {
            problem(format!("{at}: prepaid_balance_after is negative"));
        }
        previous = Some(e);
    }
    if !problems.is_empty() {
        return Err(refuse(problems, omitted));
    }

    let mut state = OrgState::new(org_id, settings, now)?;
    let mut notes = Vec::new();
    state.seq = last.seq;
    state.last_at = Some(last.created_at);
    state.created_at = first.created_at.min(now);
    state.held = last.held_after;
    if last.created_at > now {
        notes.push(format!(
            "the last event is at {}, after the import time; new events will carry that time until then",
            last.created_at
        ));
    }

    // The reversal debt, replayed by the core's rule (reversals under
    // policy `debt` add to it, arriving credits settle it first), and the
    // free pools: exactly the last event's pool columns when the file has
    // them; otherwise a per-pool fold (arrivals net of what settled the
    // debt) matched to the exact total.
    let available = last.balance_after;
    let prepaid = last.prepaid_balance_after;
    let free_pools: Vec<Pool> =
        state.settings.consumption_order.iter().copied().filter(|p| *p != Pool::Prepaid).collect();
    let mut folded: HashMap<Pool, i128> = HashMap::new();
    let mut replayed_debt = Micros::ZERO;
    for e in events {
        let (da, _) = e.deltas();
        let debt_before = replayed_debt;
        replayed_debt = creditd_core::effects::debt_after(replayed_debt, e);
        let reaches_pool = if da.is_positive() {
            i128::from(da.micros()) - (i128::from(debt_before.micros()) - i128::from(replayed_debt.micros()))
        } else {
            i128::from(da.micros())
        };
        if let Some(p) = e.pool.filter(|p| *p != Pool::Prepaid) {
            let v = folded.entry(p).or_default();
            *v = (*v + reaches_pool).max(0);
        }
    }
    let rdebt = i128::from(replayed_debt.micros());
    state.reversal_debt = replayed_debt;
    // The free pools, and the overdraft used.
    let (free, mut debt): (Vec<(Pool, i128)>, i128) = match last.pools_after {
        Some(pools) => {
            let free: Vec<(Pool, i128)> = free_pools.iter().map(|p| (*p, i128::from(pools.get(*p).micros()))).collect();
            // What the blocks hold beyond available is the overdraft used
            // plus the reversal debt: never less than the debt.
            let Some(owed) = pools.owed_beyond(prepaid, available, replayed_debt) else {
                return Err(refuse(
                    vec![format!(
                        "event seq {}: its pool columns (plan {}, voucher {}, promotional {}) and prepaid {} are \
                         negative or hold less than its balance_after {} plus the reversal debt its history leaves \
                         ({}): the pool columns disagree with the events",
                        last.seq, pools.plan, pools.voucher, pools.promotional, prepaid, available, replayed_debt
                    )],
                    0,
                ));
            };
            (free, owed - rdebt)
        }
        None => {
            let mut free: Vec<(Pool, i128)> =
                free_pools.iter().map(|p| (*p, folded.get(p).copied().unwrap_or(0))).collect();
            // Available is net of the debt: the blocks hold that much more.
            let free_total = i128::from(available.micros()) + rdebt - i128::from(prepaid.micros());
            let mut overdraft = 0;
            if free_total >= 0 {
                let mut excess = free.iter().map(|(_, v)| v).sum::<i128>() - free_total;
                // Too much: the ledger would have consumed it in this order.
                for (_, v) in free.iter_mut() {
                    let take = excess.clamp(0, *v);
                    *v -= take;
                    excess -= take;
                }
                if excess < 0
                    && let Some((_, v)) = free.iter_mut().find(|(p, _)| *p == Pool::Promotional)
                {
                    *v -= excess;
                }
            } else {
                overdraft = -free_total;
                for (_, v) in free.iter_mut() {
                    *v = 0;
                }
            }
            notes.push("blocks were rebuilt per pool from the events (the file has no pool columns)".into());
            (free, overdraft)
        }
    };
    if debt > 0 {
        notes.push(format!(
            "available is below what the blocks hold less the reversal debt: {} of overdraft is in use",
            Micros::from_micros(debt.min(i128::from(i64::MAX)) as i64)
        ));
        // Past the overdraft limit it can only be a reversed purchase's
        // debt the events do not state (a history from elsewhere).
        let limit = i128::from(state.settings.overdraft_limit.micros());
        if debt > limit {
            notes.push(format!(
                "{} of it is above the organisation's overdraft_limit and is kept as reversal debt: the next credits that arrive settle it",
                Micros::from_micros((debt - limit).min(i128::from(i64::MAX)) as i64)
            ));
            let total = rdebt + (debt - limit);
            state.reversal_debt = Micros::from_micros(total.min(i128::from(i64::MAX)) as i64);
            debt = limit;
        }
    }
    let to_micros = |v: i128| Micros::from_micros(v.clamp(0, i128::from(i64::MAX)) as i64);
    state.blocks.clear();
    for (pool, v) in free.iter().copied().chain(std::iter::once((Pool::Prepaid, i128::from(prepaid.micros())))) {
        if v > 0 {
            state.blocks.push(Block {
                id: block_id(pool),
                pool,
                remaining: to_micros(v),
                expires_at: None,
                rollovers: 0,
            });
        }
    }
    // Keep the blocks in the org's consumption order (ties go to the first).
    let order = state.settings.consumption_order.clone();
    state.blocks.sort_by_key(|b| order.iter().position(|p| *p == b.pool));
    state.debt = to_micros(debt);
    notes.push("blocks were rebuilt per pool without expiry dates (the events do not carry them)".into());

    if let Some(start) = state.period_start
        && last.created_at >= start
    {
        state.period_usage = last.period_usage_after.max(Micros::ZERO);
        // Graduated prices go on from the units this period's priced usage
        // and debits used.
        for e in events.iter().filter(|e| e.created_at >= start) {
            if let (EventKind::Usage | EventKind::Debit, Some(p)) = (e.kind, &e.pricing) {
                let line = p.line_id();
                let used = state.quantities.used(state.period_start, &line);
                let after = used.checked_add(p.quantity).unwrap_or(used);
                state.quantities.set(state.period_start, &line, after);
            }
        }
    }

    // Records, from the events that name them.
    let mut records: Vec<Record> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let draw_of =
        |e: &Event, amount: Micros| Draw { block_id: e.pool.map(block_id), pool: e.pool, expires_at: None, amount };
    for e in events {
        let Some(id) = e.hold_id.as_deref() else { continue };
        let positive = e.amount.abs();
        let existing = index.get(id).copied();
        match (e.kind, existing) {
            (EventKind::Hold, None) | (EventKind::Usage, None) | (EventKind::Purchase, None) => {
                let (kind, status, captured) = match e.kind {
                    EventKind::Hold => (RecordKind::Hold, RecordStatus::Open, Micros::ZERO),
                    EventKind::Usage => (RecordKind::Usage, RecordStatus::Consumed, positive),
                    _ => (
                        RecordKind::Purchase,
                        match e.status {
                            Status::Processing => RecordStatus::Processing,
                            Status::Succeeded => RecordStatus::Succeeded,
                            Status::Failed => RecordStatus::Failed,
                        },
                        Micros::ZERO,
                    ),
                };
                let draws = if kind == RecordKind::Purchase { Vec::new() } else { vec![draw_of(e, positive)] };
                index.insert(id.to_string(), records.len());
                records.push(Record {
                    id: id.to_string(),
                    kind,
                    status,
                    amount: positive,
                    captured,
                    refunded: Micros::ZERO,
                    draws,
                    expires_at: None,
                    created_at: e.created_at,
                    ctx: EventCtx::of(e),
                    timed_out: false,
                    // A priced hold keeps its pricing: its debit prices with it.
                    pricing: if kind == RecordKind::Hold { e.pricing.clone() } else { None },
                    block_id: None,
                });
            }
            // A later `hold` event naming an open hold extends it (see
            // `OrgState::extend_hold`): more credits, more priced units.
            (EventKind::Hold, Some(i))
                if records[i].kind == RecordKind::Hold && records[i].status == RecordStatus::Open =>
            {
                let r = &mut records[i];
                r.amount = r.amount.checked_add(positive).unwrap_or(Micros::MAX);
                if positive.is_positive() {
                    r.draws.push(draw_of(e, positive));
                }
                if let (Some(held), Some(more)) = (r.pricing.as_mut(), e.pricing.as_ref()) {
                    held.quantity = held.quantity.checked_add(more.quantity).unwrap_or(held.quantity);
                    if let (Some(parts), Some(added)) = (held.tiers.as_mut(), more.tiers.as_ref()) {
                        parts.extend(added.iter().cloned());
                    }
                }
            }
            (EventKind::Debit, Some(i)) if records[i].kind == RecordKind::Hold => {
                records[i].captured = positive;
                records[i].status = RecordStatus::Debited;
            }
            (EventKind::Release, Some(i))
                if records[i].kind == RecordKind::Hold && records[i].status == RecordStatus::Open =>
            {
                records[i].status = RecordStatus::Released;
                // The timer's releases say so (`source: timeout`), as the core writes them.
                records[i].timed_out = e.source.as_deref() == Some("timeout");
            }
            (EventKind::Refund, Some(i)) => {
                records[i].refunded = records[i].refunded.checked_add(positive).unwrap_or(Micros::MAX);
            }
            (EventKind::Reversal, Some(i)) if records[i].kind == RecordKind::Purchase => {
                records[i].status = RecordStatus::Reversed;
            }
            (EventKind::Purchase, Some(i)) if records[i].kind == RecordKind::Purchase => {
                records[i].status = match e.status {
                    Status::Processing => RecordStatus::Processing,
                    Status::Succeeded => RecordStatus::Succeeded,
                    Status::Failed => RecordStatus::Failed,
                };
            }
            // An event naming a record this file never created (a history
            // from elsewhere): it moved the balances, which are checked; no
            // record to keep.
            _ => {}
        }
    }
    let timeout = SignedDuration::from_secs(DEFAULT_HOLD_TIMEOUT_SECONDS as i64);
    let hold_expiry = now.checked_add(timeout).unwrap_or(now);
    let mut open_holds = 0;
    let mut pending_purchases = 0;
    for r in records.iter_mut() {
        if r.kind == RecordKind::Hold && r.status == RecordStatus::Open {
            r.expires_at = Some(hold_expiry);
            open_holds += 1;
        }
        if r.status == RecordStatus::Processing {
            pending_purchases += 1;
        }
        if r.status.is_pending() {
            state.records.insert(r.id.clone(), r.clone());
        }
    }
    if open_holds > 0 {
        notes.push(format!("{open_holds} open hold(s) time out at {hold_expiry} unless debited or released"));
    }
    state.rebuild_top_up(events);
    if let Some(p) = &state.auto_top_up.pending {
        notes.push(format!(
            "auto top-up {} is still pending: settle it as any purchase; no other is requested before",
            p.purchase_id
        ));
    }
    notes.push("no plan is set and no idempotency keys are remembered: subscribe the plan again if it had one".into());
    notes.push(
        "auto top-up and usage alerts are settings, not events: set them again (this period's top-ups count against the cap)"
            .into(),
    );

    let mut verifier = Verifier::new();
    for e in events {
        verifier.push(e);
    }
    let verify = verifier.finish(&state);
    if !verify.ok {
        return Err(refuse(verify.problems.clone(), 0));
    }
    let report = ImportReport {
        org_id: org_id.to_string(),
        events: events.len() as u64,
        records: records.len() as u64,
        open_holds,
        pending_purchases,
        balance: state.balance(),
        verify,
        notes,
    };
    let hashes = creditd_core::chain::hash_all(&ChainHash::GENESIS, events);
    state.last_hash = hashes.last().copied().unwrap_or(ChainHash::GENESIS);
    Ok(Derived { state, records, report, hashes })
}
