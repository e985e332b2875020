//! Reading the past from the events: the balance as of an instant and a
//! statement of a range of days. Pure folds; the store reads the events
//! and rollups they need (`creditd_store::history_at`).
//!
//! Every event carries the balances after it, so the balance at `T` is the
//! one after the last event at or before `T` (ties: the highest seq), and a
//! statement's opening and closing balances are the ones after the last
//! event before its first and after its last instant. What happened in
//! between is summed per kind from [`Event::deltas`], the one rule of what
//! an event moves, so `opening + in − out = closing` holds to the
//! micro-credit whenever the sums read are the events' own.
//!
//! The balance of a statement is **available + held**: a hold moves credits
//! from available to held and a release moves them back, so neither is in
//! or out; a debit takes them out of held. Held is shown apart at both
//! ends.

use std::collections::{BTreeMap, HashSet};

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::error::LedgerError;
use crate::event::{Event, EventKind};
use crate::money::Micros;

/// The most open holds a balance as of a time lists (their count and sum
/// are always complete).
pub const MAX_OPEN_HOLDS_LISTED: usize = 100;

/// The longest statement, in days (a leap year).
pub const MAX_STATEMENT_DAYS: i64 = 366;

/// An `as_of` a balance may be asked for: not after `now` (the future has
/// no balance yet). Before the organisation existed is allowed and answers
/// zeros with `before_org_created`.
pub fn check_as_of(as_of: Timestamp, now: Timestamp) -> Result<(), LedgerError> {
    if as_of > now {
        return Err(LedgerError::Invalid(format!(
            "as_of {as_of} is in the future (now is {now}): a balance is known only up to now"
        )));
    }
    Ok(())
}

/// A statement's days: `date_to` not before `date_from`, at most
/// [`MAX_STATEMENT_DAYS`] days in all.
pub fn check_statement_days(date_from: Date, date_to: Date) -> Result<(), LedgerError> {
    if date_to < date_from {
        return Err(LedgerError::Invalid(format!("date_to {date_to} is before date_from {date_from}")));
    }
    let days = date_from.until(date_to).map_err(|e| LedgerError::Invalid(format!("statement range: {e}")))?;
    let days = i64::from(days.get_days()) + 1;
    if days > MAX_STATEMENT_DAYS {
        return Err(LedgerError::Invalid(format!(
            "a statement covers at most {MAX_STATEMENT_DAYS} days; {date_from} to {date_to} is {days}"
        )));
    }
    Ok(())
}

/// The balances of an organisation as they were at an instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BalanceAt {
    /// The organisation.
    pub org_id: String,
    /// The instant asked about.
    pub as_of: Timestamp,
    /// The instant is before the organisation was created: every figure
    /// is zero and there are no events.
    pub before_org_created: bool,
    /// The last event at or before `as_of` (0: none).
    pub seq: u64,
    /// When that event was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_at: Option<Timestamp>,
    /// Credits that could be spent at `as_of` (negative in overdraft).
    pub available: Micros,
    /// Reserved by the holds open at `as_of`.
    pub held: Micros,
    /// What the prepaid pool held at `as_of`.
    pub prepaid: Micros,
    /// What each pool held at `as_of` (prepaid as above): the split the
    /// last event at or before it recorded. Absent when that event does
    /// not carry it: written before creditd recorded it (an older
    /// release), or imported (a file does not carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pools: Option<crate::state::PoolBalances>,
    /// Consumed in the plan period containing `as_of` up to it.
    pub period_usage: Micros,
    /// The plan period containing `as_of` (the org's renewal day and zone).
    pub period_start: Timestamp,
    /// Its end (exclusive).
    pub period_end: Timestamp,
    /// How many holds were open at `as_of`; absent when more than
    /// [`MAX_OPEN_HOLDS_LISTED`] were (the walk stops at the newest ones).
    pub open_hold_count: Option<u64>,
    /// The holds open at `as_of`, newest first, at most
    /// [`MAX_OPEN_HOLDS_LISTED`]; their amounts sum to `held` when
    /// `open_hold_count` is given.
    pub open_holds: Vec<OpenHoldAt>,
}

/// A hold that was open at an instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OpenHoldAt {
    /// The hold's id (`hold_<seq>`).
    pub id: String,
    /// Reserved.
    pub amount: Micros,
    /// When it was made.
    pub created_at: Timestamp,
    /// Whose hold it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    /// The project it was for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The kinds [`OpenHoldsAt`] reads: a hold opens, a debit or a release
/// (a caller's, a partial debit's rest, a timeout) settles it.
pub const HOLD_KINDS: [EventKind; 3] = [EventKind::Hold, EventKind::Debit, EventKind::Release];

/// Rebuilds the holds open at an instant from the hold, debit and release
/// events at or before it, pushed **newest first**.
///
/// A settling event always comes after its hold, so when a hold is pushed
/// every event that could have settled it by then has been seen. Held at
/// the instant is known (the last event's `held_after`) and is the sum of
/// the open holds, so the walk stops as soon as the open holds found add up
/// to it, or once [`MAX_OPEN_HOLDS_LISTED`] are listed: it reads the
/// events back to the oldest hold still open (or the 100th newest), never
/// the whole history (holds live at most seven days).
#[derive(Debug)]
pub struct OpenHoldsAt {
    held: Micros,
    found: Micros,
    count: u64,
    settled: HashSet<String>,
    open: Vec<OpenHoldAt>,
}

impl OpenHoldsAt {
    /// A walk for an instant at which `held` was reserved.
    pub fn new(held: Micros) -> Self {
        OpenHoldsAt { held, found: Micros::ZERO, count: 0, settled: HashSet::new(), open: Vec::new() }
    }

    /// Whether every open hold has been found, or as many as are listed.
    pub fn done(&self) -> bool {
        self.found >= self.held || self.open.len() >= MAX_OPEN_HOLDS_LISTED
    }

    /// Folds the next older event (other kinds are ignored).
    pub fn push(&mut self, e: &Event) -> Result<(), LedgerError> {
        let Some(id) = &e.hold_id else { return Ok(()) };
        match e.kind {
            EventKind::Debit | EventKind::Release => {
                self.settled.insert(id.clone());
            }
            EventKind::Hold if !self.settled.contains(id) => {
                let amount = e.amount.checked_neg().ok_or(LedgerError::Overflow)?;
                self.found = self.found.checked_add(amount).ok_or(LedgerError::Overflow)?;
                self.count += 1;
                if self.open.len() < MAX_OPEN_HOLDS_LISTED {
                    self.open.push(OpenHoldAt {
                        id: id.clone(),
                        amount,
                        created_at: e.created_at,
                        user_email: e.user_email.clone(),
                        project_id: e.project_id.clone(),
                        description: e.description.clone(),
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The open holds found (newest first, at most
    /// [`MAX_OPEN_HOLDS_LISTED`]) and how many there were, if all were
    /// found.
    pub fn finish(self) -> (Option<u64>, Vec<OpenHoldAt>) {
        ((self.found >= self.held).then_some(self.count), self.open)
    }
}

/// The balance after the last event at or before `as_of` (`last`; `None`
/// when there is none), with `period` the plan period containing `as_of`:
/// period usage counts only if that event is in the same period.
pub fn balance_at(
    org_id: &str,
    as_of: Timestamp,
    before_org_created: bool,
    last: Option<&Event>,
    period: (Timestamp, Timestamp),
) -> BalanceAt {
    let period_usage = last.filter(|e| e.created_at >= period.0).map_or(Micros::ZERO, |e| e.period_usage_after);
    BalanceAt {
        org_id: org_id.to_string(),
        as_of,
        before_org_created,
        seq: last.map_or(0, |e| e.seq),
        last_event_at: last.map(|e| e.created_at),
        available: last.map_or(Micros::ZERO, |e| e.balance_after),
        held: last.map_or(Micros::ZERO, |e| e.held_after),
        prepaid: last.map_or(Micros::ZERO, |e| e.prepaid_balance_after),
        pools: match last {
            None => Some(crate::state::PoolBalances::default()),
            Some(e) => e.pools_after.map(|p| crate::state::PoolBalances {
                plan: p.plan,
                prepaid: e.prepaid_balance_after,
                voucher: p.voucher,
                promotional: p.promotional,
            }),
        },
        period_usage,
        period_start: period.0,
        period_end: period.1,
        open_hold_count: Some(0),
        open_holds: Vec::new(),
    }
}

/// The kinds a statement shows a line each for: everything but holds and
/// releases (they move credits between available and held, not in or out)
/// and debits and usage (consumption, summed from the usage rollups). Only
/// these kinds write the rollups' statement lines (`creditd_store::rollup`,
/// dimension `kind`), which the store sums per kind and side; the name is
/// from when they were read event by event.
pub const STATEMENT_SCANNED_KINDS: [EventKind; 11] = [
    EventKind::Grant,
    EventKind::Purchase,
    EventKind::SubscriptionCredit,
    EventKind::Voucher,
    EventKind::Refund,
    EventKind::Adjustment,
    EventKind::Expiry,
    EventKind::Billing,
    EventKind::TransferOut,
    EventKind::TransferIn,
    EventKind::Reversal,
];

/// The statement line of debits and usage (net of nothing: refunds are a
/// line of their own among the credits in).
pub const CONSUMPTION_LINE: &str = "usage_and_debits";

/// A balance at one end of a statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatementBalance {
    /// Available + held: the statement's balance.
    pub balance: Micros,
    /// Available then.
    pub available: Micros,
    /// Held then (shown apart; in `balance`).
    pub held: Micros,
    /// The last event before this end (0: none).
    pub seq: u64,
}

impl StatementBalance {
    /// The balance after `last` (none: zero).
    pub fn after(last: Option<&Event>) -> Result<StatementBalance, LedgerError> {
        let (available, held) = last.map_or((Micros::ZERO, Micros::ZERO), |e| (e.balance_after, e.held_after));
        Ok(StatementBalance {
            balance: available.checked_add(held).ok_or(LedgerError::Overflow)?,
            available,
            held,
            seq: last.map_or(0, |e| e.seq),
        })
    }
}

/// One line of a statement: credits in or out of one kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatementLine {
    /// The event kind (`grant`, `expiry`, …) or `usage_and_debits`.
    pub kind: String,
    /// The words a report shows.
    pub title: String,
    /// Credits, never negative.
    pub amount: Micros,
    /// Events (for `usage_and_debits`: debits and usage operations).
    pub count: i64,
}

/// Opening balance, credits in and out by kind, closing balance, over
/// whole local days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Statement {
    /// The organisation.
    pub org_id: String,
    /// The zone the days are in.
    pub time_zone: String,
    /// First day (inclusive).
    pub date_from: Date,
    /// Last day (inclusive).
    pub date_to: Date,
    /// The first instant covered (00:00 of `date_from`).
    pub from: Timestamp,
    /// The first instant after (00:00 of the day after `date_to`).
    pub to: Timestamp,
    /// The balance before the first instant.
    pub opening: StatementBalance,
    /// Credits in, by kind (biggest first).
    pub credits_in: Vec<StatementLine>,
    /// Their sum.
    pub total_in: Micros,
    /// Credits out, by kind (biggest first).
    pub credits_out: Vec<StatementLine>,
    /// Their sum.
    pub total_out: Micros,
    /// Of the credits out, what lapsed (the `expiry` line).
    pub expired: Micros,
    /// The balance before the first instant after the range:
    /// `opening.balance + total_in − total_out`.
    pub closing: StatementBalance,
}

/// Sums a statement's lines.
#[derive(Debug, Default)]
pub struct StatementBuilder {
    ins: BTreeMap<EventKind, (Micros, i64)>,
    outs: BTreeMap<EventKind, (Micros, i64)>,
    refunded: Micros,
}

impl StatementBuilder {
    /// An empty statement.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an event of one of [`STATEMENT_SCANNED_KINDS`] (others are an
    /// error: they are summed elsewhere or move nothing in or out).
    pub fn push(&mut self, e: &Event) -> Result<(), LedgerError> {
        if !STATEMENT_SCANNED_KINDS.contains(&e.kind) {
            return Err(LedgerError::Invalid(format!("a statement does not read {} events one by one", e.kind)));
        }
        let (a, h) = e.deltas();
        let moved = a.checked_add(h).ok_or(LedgerError::Overflow)?;
        self.add(e.kind, moved, 1)
    }

    /// Adds `count` events of `kind` that moved `moved` in all (positive:
    /// in; negative: out), as one line of the rollups
    /// (`creditd_store::rollup`, dimension `kind`) holds them: the same
    /// sums as pushing each event.
    pub fn add(&mut self, kind: EventKind, moved: Micros, count: i64) -> Result<(), LedgerError> {
        if !STATEMENT_SCANNED_KINDS.contains(&kind) {
            return Err(LedgerError::Invalid(format!("a statement has no line of {kind} events")));
        }
        if moved.is_zero() {
            return Ok(());
        }
        if kind == EventKind::Refund {
            self.refunded = self.refunded.checked_add(moved).ok_or(LedgerError::Overflow)?;
        }
        let (side, amount) = if moved.is_positive() {
            (&mut self.ins, moved)
        } else {
            (&mut self.outs, moved.checked_neg().ok_or(LedgerError::Overflow)?)
        };
        let line = side.entry(kind).or_insert((Micros::ZERO, 0));
        line.0 = line.0.checked_add(amount).ok_or(LedgerError::Overflow)?;
        line.1 += count;
        Ok(())
    }

    /// The statement, with `consumed` the debits and usage less refunds of
    /// the range (the usage rollups' sum) over `operations` operations.
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        self,
        org_id: &str,
        time_zone: &str,
        (date_from, date_to): (Date, Date),
        (from, to): (Timestamp, Timestamp),
        opening: StatementBalance,
        closing: StatementBalance,
        consumed: Micros,
        operations: i64,
    ) -> Result<Statement, LedgerError> {
        let line = |kind: EventKind, (amount, count): (Micros, i64)| StatementLine {
            kind: kind.as_str().to_string(),
            title: kind.title().to_string(),
            amount,
            count,
        };
        let mut credits_in: Vec<StatementLine> = self.ins.into_iter().map(|(k, v)| line(k, v)).collect();
        let mut credits_out: Vec<StatementLine> = self.outs.into_iter().map(|(k, v)| line(k, v)).collect();
        // The rollups count refunds against consumption; the statement shows
        // them as credits in, so the consumption line is before refunds.
        let gross = consumed.checked_add(self.refunded).ok_or(LedgerError::Overflow)?;
        if !gross.is_zero() || operations > 0 {
            credits_out.push(StatementLine {
                kind: CONSUMPTION_LINE.to_string(),
                title: "Usage and debits".to_string(),
                amount: gross,
                count: operations,
            });
        }
        let sum = |lines: &[StatementLine]| {
            lines.iter().try_fold(Micros::ZERO, |acc, l| acc.checked_add(l.amount)).ok_or(LedgerError::Overflow)
        };
        for lines in [&mut credits_in, &mut credits_out] {
            lines.sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.kind.cmp(&b.kind)));
        }
        let expired = credits_out.iter().filter(|l| l.kind == EventKind::Expiry.as_str()).map(|l| l.amount).next();
        Ok(Statement {
            org_id: org_id.to_string(),
            time_zone: time_zone.to_string(),
            date_from,
            date_to,
            from,
            to,
            opening,
            total_in: sum(&credits_in)?,
            credits_in,
            total_out: sum(&credits_out)?,
            credits_out,
            expired: expired.unwrap_or(Micros::ZERO),
            closing,
        })
    }
}

impl Statement {
    /// `opening + in − out − closing`: zero when the statement adds up.
    pub fn difference(&self) -> Option<Micros> {
        self.opening.balance.checked_add(self.total_in)?.checked_sub(self.total_out)?.checked_sub(self.closing.balance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Pool, Status};

    fn ev(seq: u64, kind: EventKind, amount: i64, hold: Option<&str>, after: (i64, i64)) -> Event {
        Event {
            id: Event::id_for(seq),
            org_id: "o".into(),
            seq,
            created_at: Timestamp::from_second(1_000 + seq as i64).unwrap(),
            kind,
            amount: Micros::from_micros(amount),
            pool: Some(Pool::Promotional),
            status: Status::Succeeded,
            source: None,
            service: None,
            activity: None,
            project_id: None,
            project_name: None,
            user_name: None,
            user_email: None,
            description: None,
            code: None,
            hold_id: hold.map(str::to_string),
            idempotency_key: None,
            balance_after: Micros::from_micros(after.0),
            prepaid_balance_after: Micros::ZERO,
            held_after: Micros::from_micros(after.1),
            period_usage_after: Micros::ZERO,
            metadata: None,
            pricing: None,
            pools_after: None,
        }
    }

    #[test]
    fn as_of_and_statement_bounds() {
        let now = Timestamp::from_second(1_000).unwrap();
        assert!(check_as_of(now, now).is_ok());
        assert!(check_as_of(Timestamp::from_second(1_001).unwrap(), now).is_err());
        let d = |m, day| Date::constant(2024, m, day);
        assert!(check_statement_days(d(1, 1), d(1, 1)).is_ok());
        // 2024 is a leap year: Jan 1 to Dec 31 is 366 days.
        assert!(check_statement_days(d(1, 1), d(12, 31)).is_ok());
        assert!(check_statement_days(d(1, 1), Date::constant(2025, 1, 1)).is_err(), "367 days");
        assert!(check_statement_days(d(1, 2), d(1, 1)).is_err(), "reversed");
    }

    #[test]
    fn open_holds_stop_at_the_held_sum() {
        // grant 100; hold_2 30; hold_3 20; release hold_2; hold_5 5.
        let events = [
            ev(1, EventKind::Grant, 100, None, (100, 0)),
            ev(2, EventKind::Hold, -30, Some("hold_2"), (70, 30)),
            ev(3, EventKind::Hold, -20, Some("hold_3"), (50, 50)),
            ev(4, EventKind::Release, 30, Some("hold_2"), (80, 20)),
            ev(5, EventKind::Hold, -5, Some("hold_5"), (75, 25)),
        ];
        let mut w = OpenHoldsAt::new(Micros::from_micros(25));
        let mut read = 0;
        for e in events.iter().rev() {
            if w.done() {
                break;
            }
            read += 1;
            w.push(e).unwrap();
        }
        assert_eq!(read, 3, "stops at hold_3: every open hold found");
        let (count, open) = w.finish();
        assert_eq!(count, Some(2));
        assert_eq!(open.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["hold_5", "hold_3"]);
        assert!(OpenHoldsAt::new(Micros::ZERO).done(), "nothing held: nothing to read");
        // More open than listed: the walk stops at the newest 100, uncounted.
        let mut w = OpenHoldsAt::new(Micros::from_micros(1_000));
        for seq in (1..=200u64).rev() {
            if w.done() {
                break;
            }
            let id = format!("hold_{seq}");
            w.push(&ev(seq, EventKind::Hold, -5, Some(&id), (0, 1_000))).unwrap();
        }
        let (count, open) = w.finish();
        assert_eq!((count, open.len()), (None, MAX_OPEN_HOLDS_LISTED));
    }

    #[test]
    fn statement_adds_up_and_refuses_consumption_events() {
        let mut b = StatementBuilder::new();
        b.push(&ev(1, EventKind::Grant, 100, None, (100, 0))).unwrap();
        b.push(&ev(3, EventKind::Refund, 4, Some("use_2"), (94, 0))).unwrap();
        b.push(&ev(4, EventKind::Expiry, -50, None, (44, 0))).unwrap();
        assert!(b.push(&ev(2, EventKind::Usage, -10, None, (90, 0))).is_err());
        let opening = StatementBalance::after(None).unwrap();
        let closing = StatementBalance::after(Some(&ev(4, EventKind::Expiry, -50, None, (44, 0)))).unwrap();
        let day = Date::constant(2026, 1, 1);
        let t = Timestamp::UNIX_EPOCH;
        // Consumed 10 less the refund of 4: the rollups' 6.
        let s = b.finish("o", "UTC", (day, day), (t, t), opening, closing, Micros::from_micros(6), 1).unwrap();
        assert_eq!(s.total_in, Micros::from_micros(104));
        assert_eq!(s.total_out, Micros::from_micros(60));
        assert_eq!(s.expired, Micros::from_micros(50));
        let usage = s.credits_out.iter().find(|l| l.kind == CONSUMPTION_LINE).unwrap();
        assert_eq!((usage.amount, usage.count), (Micros::from_micros(10), 1));
        assert_eq!(s.difference(), Some(Micros::ZERO));
    }

    #[test]
    fn lines_added_whole_equal_events_pushed() {
        let events = [
            ev(1, EventKind::Grant, 100, None, (100, 0)),
            ev(2, EventKind::Adjustment, 7, None, (107, 0)),
            ev(3, EventKind::Adjustment, -3, None, (104, 0)),
            ev(4, EventKind::Refund, 4, None, (108, 0)),
            ev(5, EventKind::Adjustment, 2, None, (110, 0)),
        ];
        let mut pushed = StatementBuilder::new();
        for e in &events {
            pushed.push(e).unwrap();
        }
        let mut added = StatementBuilder::new();
        added.add(EventKind::Grant, Micros::from_micros(100), 1).unwrap();
        added.add(EventKind::Adjustment, Micros::from_micros(9), 2).unwrap();
        added.add(EventKind::Adjustment, Micros::from_micros(-3), 1).unwrap();
        added.add(EventKind::Refund, Micros::from_micros(4), 1).unwrap();
        assert!(added.add(EventKind::Usage, Micros::from_micros(-1), 1).is_err(), "usage is no line of its own");
        let (opening, closing) =
            (StatementBalance::after(None).unwrap(), StatementBalance::after(events.last()).unwrap());
        let (day, t) = (Date::constant(2026, 1, 1), Timestamp::UNIX_EPOCH);
        let finish = |b: StatementBuilder| {
            b.finish("o", "UTC", (day, day), (t, t), opening.clone(), closing.clone(), Micros::from_micros(-4), 0)
                .unwrap()
        };
        let (pushed, added) = (finish(pushed), finish(added));
        assert_eq!(pushed, added);
        let adj = added.credits_in.iter().find(|l| l.kind == "adjustment").unwrap();
        assert_eq!((adj.amount, adj.count), (Micros::from_micros(9), 2));
        assert_eq!(added.difference(), Some(Micros::ZERO));
    }
}
