//! The past, read from what every engine already stores: the balance as of
//! an instant and statements over whole local days. Both are built on
//! [`Store::events`] (whose date bounds are a binary search on the primary
//! key, and whose kind filter walks `events_kind (org_id, kind, seq)`) and
//! [`Store::usage`] (the rollups), so they need nothing engine-specific
//! and answer the same on every engine. The folds are the core's
//! (`creditd_core::statement`).
//!
//! Cost, for an org of `n` events:
//! - balance as of `T`: the last event at or before `T` is one page of one
//!   row below a seq found by binary search, O(log n) point reads; the
//!   open holds are rebuilt by walking the hold, debit and release events
//!   back from `T` on the kind index until they add up to the held
//!   recorded at `T` (nothing held: no walk): O(log n + k), k those
//!   events since the oldest hold still open at `T` (a hold lives at most
//!   seven days).
//! - statement: two such lookups (opening, closing), the day rollups of
//!   the range (at most 366 rows), and the rollups of the statement's
//!   lines (dimension `kind`: grants, purchases, refunds, expiries,
//!   transfers, … per day, or per month for the range's whole months):
//!   O(log n + days), whatever the number of events in the range. No
//!   event of the range is read (issue 18: "months of 10M events answered
//!   from rollups, not by scanning").

use creditd_core::statement::{
    BalanceAt, HOLD_KINDS, OpenHoldsAt, Statement, StatementBalance, StatementBuilder, balance_at as balance_after,
    check_as_of, check_statement_days,
};
use creditd_core::{Event, EventKind, LedgerError, Micros};
use jiff::Timestamp;
use jiff::civil::Date;

use crate::query::{EventFilter, EventQuery, PageLimit, PageStart};
use crate::range::days_bounds;
use crate::rollup::{UsageGroup, UsageQuery, parse_statement_key};
use crate::{Store, StoreError};

/// The last event written before `t` (exclusive), with `seq` below
/// `below` when given.
async fn last_before(
    store: &dyn Store,
    org_id: &str,
    t: Timestamp,
    below: Option<u64>,
) -> Result<Option<Event>, StoreError> {
    let query = EventQuery {
        filter: EventFilter { date_to: Some(t), ..EventFilter::default() },
        limit: PageLimit::new(1).unwrap_or(PageLimit::DEFAULT),
        start: below.map_or(PageStart::Offset(0), PageStart::Before),
    };
    Ok(store.events(org_id, &query).await?.events.into_iter().next())
}

/// Every event matching `filter` with a seq below `below`, newest first,
/// page by page, handed to `each` until it returns `false`.
async fn walk(
    store: &dyn Store,
    org_id: &str,
    filter: EventFilter,
    below: u64,
    mut each: impl FnMut(&Event) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let mut start = below;
    loop {
        let query = EventQuery {
            filter: filter.clone(),
            limit: PageLimit::new(PageLimit::MAX).unwrap_or(PageLimit::DEFAULT),
            start: PageStart::Before(start),
        };
        let page = store.events(org_id, &query).await?;
        for e in &page.events {
            if !each(e)? {
                return Ok(());
            }
        }
        match (page.next_cursor, page.events.last()) {
            (Some(_), Some(last)) => start = last.seq,
            _ => return Ok(()),
        }
    }
}

/// The balances of `org_id` as they were at `as_of`: available, held and
/// its open holds, prepaid and period usage, after the last event at or
/// before it. `as_of` after the store's clock is refused
/// (`validation_error`); before the org was created answers zeros with
/// `before_org_created`.
pub async fn balance_at(store: &dyn Store, org_id: &str, as_of: Timestamp) -> Result<BalanceAt, StoreError> {
    let info = store.org(org_id).await?;
    check_as_of(as_of, store.now())?;
    let tz = info.settings.validate()?;
    let period = creditd_core::state::period_bounds(&tz, info.settings.renewal_day, as_of)?;
    if as_of < info.created_at {
        return Ok(balance_after(org_id, as_of, true, None, period));
    }
    // At or before `as_of`: before the microsecond after it.
    let end = as_of.checked_add(jiff::SignedDuration::from_micros(1)).map_err(|_| LedgerError::Overflow)?;
    let last = last_before(store, org_id, end, None).await?;
    with_open_holds(store, org_id, balance_after(org_id, as_of, false, last.as_ref(), period), last.as_ref()).await
}

/// `answer` (the balances after `last`) with the holds open right after
/// `last`, rebuilt by walking the hold events back from it.
async fn with_open_holds(
    store: &dyn Store,
    org_id: &str,
    mut answer: BalanceAt,
    last: Option<&Event>,
) -> Result<BalanceAt, StoreError> {
    if let Some(last) = last.filter(|e| e.held_after.is_positive()) {
        (answer.open_hold_count, answer.open_holds) =
            open_holds_below(store, org_id, last.held_after, last.seq + 1).await?;
    }
    Ok(answer)
}

/// The holds open with `held` reserved, just before event `below`: the
/// hold events walked back from it until they account for `held`.
async fn open_holds_below(
    store: &dyn Store,
    org_id: &str,
    held: Micros,
    below: u64,
) -> Result<(Option<u64>, Vec<creditd_core::statement::OpenHoldAt>), StoreError> {
    let mut holds = OpenHoldsAt::new(held);
    if held.is_positive() {
        let filter = EventFilter { kinds: HOLD_KINDS.to_vec(), ..EventFilter::default() };
        walk(store, org_id, filter, below, |e| {
            holds.push(e)?;
            Ok(!holds.done())
        })
        .await?;
    }
    Ok(holds.finish())
}

/// The balances of `org_id` right after `event` (one of its events), with
/// the holds open then: what [`balance_at`] answers for the event's time
/// when no other event shares it. Several events written in the same
/// microsecond each have their own balance after, so a page of the
/// history that starts inside such a run asks by the event, not by time.
///
/// A debit is the one event written inside an operation whose hold may
/// still be held right after it: a partial debit leaves the rest of its
/// hold reserved until the release written next in the same operation.
/// So after a debit the open holds are those open just before it, its
/// hold kept with what the debit did not take from `held` (if anything).
pub async fn balance_after_event(store: &dyn Store, org_id: &str, event: &Event) -> Result<BalanceAt, StoreError> {
    let info = store.org(org_id).await?;
    let tz = info.settings.validate()?;
    let period = creditd_core::state::period_bounds(&tz, info.settings.renewal_day, event.created_at)?;
    let mut answer = balance_after(org_id, event.created_at, false, Some(event), period);
    let Some(hold_id) = event.hold_id.as_deref().filter(|_| event.kind == EventKind::Debit) else {
        return with_open_holds(store, org_id, answer, Some(event)).await;
    };
    // The holds open just before the debit: after the event before it.
    let end = event.created_at.checked_add(jiff::SignedDuration::from_micros(1)).map_err(|_| LedgerError::Overflow)?;
    let before = last_before(store, org_id, end, Some(event.seq)).await?;
    let held_before = before.as_ref().map_or(Micros::ZERO, |e| e.held_after);
    let (mut count, mut open) = open_holds_below(store, org_id, held_before, event.seq).await?;
    let taken = held_before.checked_sub(event.held_after).ok_or(LedgerError::Overflow)?;
    if let Some(i) = open.iter().position(|h| h.id == hold_id) {
        let rest = open[i].amount.checked_sub(taken).ok_or(LedgerError::Overflow)?;
        if rest.is_positive() {
            open[i].amount = rest;
        } else {
            open.remove(i);
            count = count.map(|n| n.saturating_sub(1));
        }
    }
    (answer.open_hold_count, answer.open_holds) = (count, open);
    Ok(answer)
}

/// How many times a statement is read again when events were written to
/// its range while it was being read.
const STATEMENT_TRIES: usize = 5;

/// The statement of `org_id` for the local days `date_from` to `date_to`
/// (inclusive) in its zone: opening balance, credits in and out by kind,
/// closing balance. Consumption comes from the day rollups, the other kinds
/// from their rollups (`kind` lines), the two balances from the events'
/// balances after.
pub async fn statement(
    store: &dyn Store,
    org_id: &str,
    date_from: Date,
    date_to: Date,
) -> Result<Statement, StoreError> {
    let info = store.org(org_id).await?;
    check_statement_days(date_from, date_to)?;
    let tz = info.settings.validate()?;
    let (from, to) = days_bounds(date_from, date_to, &tz);
    for _ in 0..STATEMENT_TRIES {
        let closing = last_before(store, org_id, to, None).await?;
        let below = closing.as_ref().map_or(0, |e| e.seq) + 1;
        // The rollups are read between two reads of the closing event: if
        // it did not move, they saw exactly the events up to it.
        let rows = store
            .usage(
                org_id,
                &UsageQuery { first_day: date_from, last_day: date_to, group_by: UsageGroup::Day, user_email: None },
            )
            .await?;
        let lines = store.statement_lines(org_id, date_from, date_to).await?;
        let mut builder = StatementBuilder::new();
        for l in &lines {
            let (kind, inward) = parse_statement_key(&l.key).ok_or_else(|| {
                StoreError::Corrupt(format!("statement rollup of {org_id}: unknown line {:?}", l.key))
            })?;
            let moved = if inward { l.amount } else { l.amount.checked_neg().ok_or(LedgerError::Overflow)? };
            builder.add(kind, moved, l.count)?;
        }
        let again = last_before(store, org_id, to, None).await?;
        if again.as_ref().map(|e| e.seq) != closing.as_ref().map(|e| e.seq) {
            continue;
        }
        let opening = last_before(store, org_id, from, Some(below)).await?;
        let (mut consumed, mut operations) = (Micros::ZERO, 0i64);
        for r in &rows {
            consumed = consumed.checked_add(r.amount).ok_or(LedgerError::Overflow)?;
            operations += r.count;
        }
        return Ok(builder.finish(
            org_id,
            &info.settings.time_zone,
            (date_from, date_to),
            (from, to),
            StatementBalance::after(opening.as_ref())?,
            StatementBalance::after(closing.as_ref())?,
            consumed,
            operations,
        )?);
    }
    // Written to on every try: as busy as a full queue; the caller retries.
    Err(StoreError::Overloaded)
}
