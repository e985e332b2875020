//! The past read back (creditd_store::history_at): the balance as of any
//! instant equals the balance after the last event at or before it, with
//! the holds open then; statements add up to the micro-credit and agree
//! with the events, on every engine.

use std::collections::BTreeMap;

use super::*;
use creditd_core::statement::{CONSUMPTION_LINE, MAX_STATEMENT_DAYS, Statement};
use creditd_core::{Event, TransferOp};
use creditd_store::Store;
use creditd_store::history_at::{balance_after_event, balance_at, statement};
use creditd_store::range::{days_bounds, local_date};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

const ZONE: &str = "Europe/Madrid";

fn transfer(to: &str, amount: &str) -> Op {
    Op::Transfer(TransferOp::Out { to: to.into(), amount: m(amount), ctx: EventCtx::default() })
}

/// A small deterministic generator (xorshift), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Every event of `org`, oldest first.
async fn oldest_first(s: &dyn Store, org: &str) -> Vec<Event> {
    let mut all = history(s, org).await;
    all.reverse();
    all
}

/// A history of `steps` operations on `org` (a child `child` to transfer
/// with), spread over days with ties in time: grants, credits that expire,
/// purchases, holds debited (in part), released or timed out, usage,
/// refunds, adjustments, transfers both ways and the ticks' expiries.
async fn generate(t: &Ctx, org: &str, child: &str, steps: usize, seed: u64) {
    let s = t.store.as_ref();
    let mut rng = Rng(seed);
    let mut open: Vec<String> = Vec::new();
    let mut used: Vec<String> = Vec::new();
    ok(s, org, grant("500")).await;
    for i in 0..steps {
        // Ties (0), seconds, hours, and now and then most of a day.
        let step = [0, 1, 7, 60, 3_600, 5 * 3_600, 20 * 3_600][rng.next(7) as usize];
        t.clock.advance(secs(step));
        let amount = format!("{}.{:02}", 1 + rng.next(40), rng.next(100));
        let op = match rng.next(12) {
            0 => grant(&amount),
            1 => credit_in(Pool::Voucher, &amount, t.clock.now().checked_add(secs(3 * 3_600)).ok()),
            2 => purchase(&amount, Status::Succeeded),
            3 | 4 => hold_for(&amount, if rng.next(2) == 0 { 2 * 3_600 } else { 3 * 86_400 }),
            5 if !open.is_empty() => {
                let id = open.remove(rng.next(open.len() as u64) as usize);
                if rng.next(2) == 0 { debit(&id, Some("0.5")) } else { debit(&id, None) }
            }
            6 if !open.is_empty() => release(&open.remove(rng.next(open.len() as u64) as usize)),
            7 | 8 => usage(&amount),
            9 if !used.is_empty() => refund(&used[rng.next(used.len() as u64) as usize], Some("0.25")),
            10 => {
                if rng.next(2) == 0 {
                    adjustment(&amount, "correction")
                } else {
                    adjustment(&format!("-{amount}"), "correction")
                }
            }
            _ => {
                if rng.next(2) == 0 {
                    transfer(child, &amount)
                } else {
                    ok(s, child, grant(&amount)).await;
                    let back = run(s, child, transfer(org, &amount)).await;
                    assert!(back.is_ok(), "the child sends back what it was given: {back:?}");
                    continue;
                }
            }
        };
        let kind_hold = matches!(op, Op::Hold(_));
        let kind_usage = matches!(op, Op::Usage { .. });
        match run(s, org, op).await {
            Ok(o) => {
                if kind_hold {
                    open.push(record_id(&o));
                }
                if kind_usage {
                    used.push(record_id(&o));
                }
            }
            Err(e) => {
                let c = e.code().as_str();
                assert!(
                    ["insufficient_credits", "refund_exceeds_consumed", "hold_expired", "hold_already_settled"]
                        .contains(&c),
                    "step {i}: unexpected refusal {e:?}"
                );
            }
        }
        if rng.next(5) == 0 {
            s.tick().await.expect("tick");
        }
    }
    // Credits that lapse for sure, whatever came before.
    t.clock.advance(secs(60));
    ok(s, org, credit_in(Pool::Promotional, "3", t.clock.now().checked_add(secs(3_600)).ok())).await;
    t.clock.advance(secs(2 * 3_600));
    s.tick().await.expect("tick");
}

/// `as_of` at every event of a generated history (and just before it)
/// equals the balance after that event (the last one of its instant), with
/// exactly the holds open then; the balance after each event, asked by the
/// event (`balance_after_event`, the history page's line), is that event's
/// also inside a run of events of one instant; before the org: zeros; in
/// the future: 422.
pub async fn balance_as_of_every_event(t: &mut Ctx) {
    let s = t.store.as_ref();
    let created = t.clock.now();
    new_org(s, "p").await;
    new_org(s, "c").await;
    s.set_parent("c", Some("p")).await.expect("c under p");
    t.clock.advance(secs(60));
    generate(t, "p", "c", 160, 0x5eed_1234_abcd_0001).await;
    let events = oldest_first(s, "p").await;
    assert!(events.len() > 150, "a real history: {}", events.len());
    let kinds: BTreeSet<EventKind> = events.iter().map(|e| e.kind).collect();
    for k in [EventKind::Hold, EventKind::Debit, EventKind::Release, EventKind::Expiry, EventKind::TransferOut] {
        assert!(kinds.contains(&k), "the history has {k}: {kinds:?}");
    }
    let mut open: BTreeMap<String, Micros> = BTreeMap::new();
    let mut max_open = 0;
    let mut inside_an_instant = 0;
    let mut partial_debits = 0;
    for (i, e) in events.iter().enumerate() {
        match e.kind {
            EventKind::Hold => {
                open.insert(e.hold_id.clone().expect("hold id"), e.amount.checked_neg().expect("amount"));
            }
            EventKind::Debit | EventKind::Release => {
                open.remove(e.hold_id.as_deref().expect("hold id"));
            }
            _ => {}
        }
        // By the event: its own balance after and the holds open right
        // after it, whatever else was written in the same instant (a
        // partial debit's hold stays held until the release after it).
        let b = balance_after_event(s, "p", e).await.expect("after event");
        let what = format!("after event {} {} at {}", e.seq, e.kind, e.created_at);
        assert_eq!(
            (b.seq, b.available, b.held, b.prepaid),
            (e.seq, e.balance_after, e.held_after, e.prepaid_balance_after),
            "{what}"
        );
        let mut expected: BTreeSet<&str> = open.keys().map(String::as_str).collect();
        let released_next = events.get(i + 1).filter(|n| n.kind == EventKind::Release && n.hold_id == e.hold_id);
        if e.kind == EventKind::Debit && released_next.is_some() {
            expected.insert(e.hold_id.as_deref().expect("hold id"));
            partial_debits += 1;
        }
        assert_eq!(b.open_hold_count, Some(expected.len() as u64), "{what}");
        let ids: BTreeSet<&str> = b.open_holds.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, expected, "{what}");
        let sum = b.open_holds.iter().try_fold(Micros::ZERO, |a, h| a.checked_add(h.amount)).expect("sum");
        assert_eq!(sum, b.held, "{what}: the open holds make up held");
        // The balance at an instant is the one after its last event.
        if events.get(i + 1).is_some_and(|n| n.created_at == e.created_at) {
            inside_an_instant += 1;
            continue;
        }
        max_open = max_open.max(open.len());
        let b = balance_at(s, "p", e.created_at).await.expect("as_of");
        let what = format!("as_of {} (event {} {})", e.created_at, e.seq, e.kind);
        assert!(!b.before_org_created, "{what}");
        assert_eq!(b.seq, e.seq, "{what}");
        assert_eq!(b.last_event_at, Some(e.created_at), "{what}");
        assert_eq!(
            (b.available, b.held, b.prepaid),
            (e.balance_after, e.held_after, e.prepaid_balance_after),
            "{what}"
        );
        assert_eq!(b.period_usage, e.period_usage_after, "{what}");
        // Each pool as it was: the split the event recorded, which adds up
        // to what could be spent (nothing when in overdraft).
        let pools = b.pools.clone().unwrap_or_else(|| panic!("{what}: the pools were recorded"));
        assert_eq!(pools.prepaid, e.prepaid_balance_after, "{what}");
        assert_eq!(
            Some((pools.plan, pools.voucher, pools.promotional)),
            e.pools_after.map(|p| (p.plan, p.voucher, p.promotional)),
            "{what}"
        );
        let sum = [pools.plan, pools.voucher, pools.promotional, pools.prepaid]
            .into_iter()
            .try_fold(Micros::ZERO, |a, p| a.checked_add(p))
            .expect("sum");
        assert_eq!(sum, e.balance_after.max(Micros::ZERO), "{what}: the pools make up available");
        assert!(open.len() < 100, "a history whose open holds are all listed");
        assert_eq!(b.open_hold_count, Some(open.len() as u64), "{what}");
        let ids: BTreeSet<&str> = b.open_holds.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, open.keys().map(String::as_str).collect::<BTreeSet<_>>(), "{what}");
        for h in &b.open_holds {
            assert_eq!(Some(&h.amount), open.get(&h.id), "{what}: {}", h.id);
        }
        let sum = b.open_holds.iter().try_fold(Micros::ZERO, |a, h| a.checked_add(h.amount)).expect("sum");
        assert_eq!(sum, b.held, "{what}: the open holds make up held");
        // Just before the event: the previous instant's balance.
        let before = e.created_at.checked_sub(jiff::SignedDuration::from_micros(1)).expect("time");
        let prev = events.iter().take_while(|x| x.created_at <= before).last();
        let b = balance_at(s, "p", before).await.expect("as_of before");
        assert_eq!(b.seq, prev.map_or(0, |x| x.seq), "just before {what}");
        assert_eq!(b.available, prev.map_or(Micros::ZERO, |x| x.balance_after), "just before {what}");
    }
    assert!(max_open >= 2, "the history had several holds open at once ({max_open})");
    assert!(inside_an_instant >= 10, "events sharing an instant with a later one: {inside_an_instant}");
    assert!(partial_debits >= 1, "a partial debit, its hold held until its release: {partial_debits}");
    // Now: the pools as of the last event are the ledger's own; the free
    // pools this history grants (vouchers, grants) held credits on the way.
    let now = balance_at(s, "p", t.clock.now()).await.expect("now");
    assert_eq!(now.pools, Some(s.balance("p").await.expect("balance").pools), "the pools now");
    for (name, pick) in [
        ("voucher", (|p: &creditd_core::FreePools| p.voucher) as fn(&creditd_core::FreePools) -> Micros),
        ("promotional", |p| p.promotional),
    ] {
        assert!(events.iter().filter_map(|e| e.pools_after.as_ref()).any(|p| pick(p).is_positive()), "{name} was used");
    }
    // Before the org existed: zeros, said so.
    let b = balance_at(s, "p", created.checked_sub(secs(86_400)).expect("time")).await.expect("before");
    assert!(b.before_org_created);
    assert_eq!((b.seq, b.available, b.held, b.open_hold_count), (0, Micros::ZERO, Micros::ZERO, Some(0)));
    // The future: refused.
    let r = balance_at(s, "p", t.clock.now().checked_add(secs(1)).expect("time")).await;
    assert_eq!(r.map(|_| ()).map_err(|e| e.code().as_str()), Err("validation_error"));
    let r = balance_at(s, "ghost", t.clock.now()).await;
    assert_eq!(r.map(|_| ()).map_err(|e| e.code().as_str()), Err("not_found"));
}

/// What a statement of `[from, to)` must say, from the events themselves:
/// credits in and out per kind (by sign of what each moved), consumption.
fn expected_lines(events: &[Event], from: Timestamp, to: Timestamp) -> BTreeMap<(bool, String), Micros> {
    let mut lines: BTreeMap<(bool, String), Micros> = BTreeMap::new();
    for e in events.iter().filter(|e| e.created_at >= from && e.created_at < to) {
        let (a, h) = e.deltas();
        let moved = a.checked_add(h).expect("moved");
        let (name, moved) = match e.kind {
            EventKind::Hold | EventKind::Release => continue,
            EventKind::Debit | EventKind::Usage => (CONSUMPTION_LINE.to_string(), moved),
            k => (k.as_str().to_string(), moved),
        };
        if moved.is_zero() {
            continue;
        }
        let key = (moved.is_positive(), name);
        let line = lines.entry(key).or_insert(Micros::ZERO);
        *line = line.checked_add(moved.abs()).expect("sum");
    }
    lines
}

fn lines_of(s: &Statement) -> BTreeMap<(bool, String), Micros> {
    let ins = s.credits_in.iter().map(|l| ((true, l.kind.clone()), l.amount));
    let outs = s.credits_out.iter().map(|l| ((false, l.kind.clone()), l.amount));
    ins.chain(outs).filter(|(_, a)| !a.is_zero()).collect()
}

/// Statements of every day, of runs of days and of the whole generated
/// history add up (opening + in − out = closing, to the micro-credit),
/// chain (a day opens where the one before closed), and agree line by line
/// with the events; a range over 366 days is refused.
pub async fn statements_add_up(t: &mut Ctx) {
    let s = t.store.as_ref();
    s.create_org("p", OrgSettings::new("P", ZONE)).await.expect("p");
    s.create_org("c", OrgSettings::new("C", ZONE)).await.expect("c");
    s.set_parent("c", Some("p")).await.expect("c under p");
    generate(t, "p", "c", 140, 0x0bad_cafe_f00d_0002).await;
    let events = oldest_first(s, "p").await;
    let tz = TimeZone::get(ZONE).expect("zone");
    let first = local_date(events[0].created_at, &tz);
    let last = local_date(events[events.len() - 1].created_at, &tz);
    assert!(first < last, "the history spans days: {first} to {last}");
    let mut day = first;
    let mut previous_closing = Micros::ZERO;
    let mut days = 0;
    while day <= last {
        let st = statement(s, "p", day, day).await.expect("statement");
        let what = format!("statement of {day}");
        assert_eq!(st.difference(), Some(Micros::ZERO), "{what}: {st:?}");
        assert_eq!(st.opening.balance, previous_closing, "{what} opens where the day before closed");
        let (from, to) = days_bounds(day, day, &tz);
        assert_eq!((st.from, st.to), (from, to), "{what}");
        assert_eq!(lines_of(&st), expected_lines(&events, from, to), "{what}");
        let closing = events.iter().take_while(|e| e.created_at < to).last();
        assert_eq!(st.closing.available, closing.map_or(Micros::ZERO, |e| e.balance_after), "{what}");
        assert_eq!(st.closing.held, closing.map_or(Micros::ZERO, |e| e.held_after), "{what}");
        previous_closing = st.closing.balance;
        days += 1;
        day = day.tomorrow().expect("day");
    }
    assert!(days >= 3, "{days} days");
    // The whole history, and the days before it (nothing: zero to zero).
    let whole = statement(s, "p", first, last).await.expect("whole");
    assert_eq!(whole.difference(), Some(Micros::ZERO));
    assert_eq!(whole.closing.balance, previous_closing);
    let (from, to) = days_bounds(first, last, &tz);
    assert_eq!(lines_of(&whole), expected_lines(&events, from, to));
    let before = first.yesterday().expect("day");
    let empty = statement(s, "p", before, before).await.expect("empty");
    assert_eq!(
        (empty.opening.balance, empty.closing.balance, empty.total_in),
        (Micros::ZERO, Micros::ZERO, Micros::ZERO)
    );
    assert!(empty.credits_out.is_empty());
    // 366 days are allowed, 367 are not; reversed is refused.
    let year = Date::new(2024, 1, 1).expect("date");
    assert!(statement(s, "p", year, Date::new(2024, 12, 31).expect("date")).await.is_ok());
    assert_eq!(MAX_STATEMENT_DAYS, 366);
    for (a, b) in [(year, Date::new(2025, 1, 1).expect("date")), (last, first)] {
        let r = statement(s, "p", a, b).await;
        assert_eq!(r.map(|_| ()).map_err(|e| e.code().as_str()), Err("validation_error"), "{a} to {b}");
    }
}

/// Statements answered from the rollups (day rows, month rows for the
/// whole months of a range) agree with the statement computed from the
/// events, line by line and event count by event count, over a generated
/// history of fourteen weeks with every kind of line: each whole month, a
/// range of whole months with days at both ends, the whole history.
pub async fn statements_from_rollups_match_the_events(t: &mut Ctx) {
    let s = t.store.as_ref();
    s.create_org("p", OrgSettings::new("P", ZONE)).await.expect("p");
    s.create_org("c", OrgSettings::new("C", ZONE)).await.expect("c");
    s.set_parent("c", Some("p")).await.expect("c under p");
    ok(s, "p", grant("5000")).await;
    for i in 0..100i64 {
        t.clock.advance(secs(86_400 + 3_600 * (i % 5)));
        let amount = format!("{}.{:02}", 1 + i % 17, (i * 37) % 100);
        let used = record_id(&ok(s, "p", usage(&amount)).await);
        let expires = t.clock.now().checked_add(secs(3 * 3_600)).ok();
        let op = match i % 7 {
            0 => grant(&amount),
            1 => credit_in(Pool::Voucher, &amount, expires),
            2 => purchase(&amount, Status::Succeeded),
            3 => adjustment(&amount, "correction"),
            4 => adjustment(&format!("-{amount}"), "correction"),
            5 => refund(&used, Some("0.25")),
            _ => transfer("c", &amount),
        };
        ok(s, "p", op).await;
        if i % 3 == 0 {
            s.tick().await.expect("tick");
        }
    }
    t.clock.advance(secs(4 * 3_600));
    s.tick().await.expect("tick");
    let events = oldest_first(s, "p").await;
    let tz = TimeZone::get(ZONE).expect("zone");
    let first = local_date(events[0].created_at, &tz);
    let last = local_date(events[events.len() - 1].created_at, &tz);
    let mut ranges = Vec::new();
    let mut month = first.first_of_month();
    while month <= last {
        if month >= first && month.last_of_month() <= last {
            ranges.push((month, month.last_of_month()));
        }
        month = month.last_of_month().tomorrow().expect("month");
    }
    assert!(ranges.len() >= 2, "the history holds two whole months: {first} to {last}");
    ranges.push((ranges[0].0.yesterday().expect("day"), ranges[ranges.len() - 1].1.tomorrow().expect("day")));
    ranges.push((first, last));
    for (a, b) in ranges {
        let st = statement(s, "p", a, b).await.expect("statement");
        let what = format!("statement of {a} to {b}");
        assert_eq!(st.difference(), Some(Micros::ZERO), "{what}: {st:?}");
        let (from, to) = days_bounds(a, b, &tz);
        assert_eq!(lines_of(&st), expected_lines(&events, from, to), "{what}");
        // Event counts, from the events: each line's kind and side.
        let mut counts: BTreeMap<(bool, String), i64> = BTreeMap::new();
        for e in events.iter().filter(|e| e.created_at >= from && e.created_at < to) {
            let (av, h) = e.deltas();
            let moved = av.checked_add(h).expect("moved");
            let name = match e.kind {
                EventKind::Hold | EventKind::Release => continue,
                EventKind::Debit | EventKind::Usage => CONSUMPTION_LINE.to_string(),
                _ if moved.is_zero() => continue,
                k => k.as_str().to_string(),
            };
            let side = if name == CONSUMPTION_LINE { false } else { moved.is_positive() };
            *counts.entry((side, name)).or_insert(0) += 1;
        }
        let got: BTreeMap<(bool, String), i64> = st
            .credits_in
            .iter()
            .map(|l| ((true, l.kind.clone()), l.count))
            .chain(st.credits_out.iter().map(|l| ((false, l.kind.clone()), l.count)))
            .collect();
        assert_eq!(got, counts, "{what}");
        let opening = events.iter().take_while(|e| e.created_at < from).last();
        let closing = events.iter().take_while(|e| e.created_at < to).last();
        assert_eq!(st.opening.available, opening.map_or(Micros::ZERO, |e| e.balance_after), "{what}");
        assert_eq!(st.closing.available, closing.map_or(Micros::ZERO, |e| e.balance_after), "{what}");
    }
}

/// A database written before the pools after each event were recorded
/// (`downgrade` drops the three columns and takes the version counter one
/// back) opens and migrates: its events read back without the split, an
/// as-of in that past answers no `pools` (rather than a wrong split), and
/// every event written after the upgrade carries it again.
pub async fn pools_after_migrate_from_previous_schema(t: &mut Ctx, downgrade: &str) {
    let s = t.store.clone();
    new_org(s.as_ref(), "old").await;
    ok(s.as_ref(), "old", grant("10")).await;
    ok(s.as_ref(), "old", usage("1")).await;
    let written = history(s.as_ref(), "old").await;
    assert!(written.iter().all(|e| e.pools_after.is_some()), "this release records them");
    if !t.raw_sql(downgrade).await {
        return;
    }
    drop(s);
    t.reopen().await;
    let s = t.store.clone();
    assert_eq!(s.balance("old").await.expect("balance").available, m("9"));
    assert!(s.verify("old").await.expect("verify").ok, "the chain does not cover the split");
    assert!(history(s.as_ref(), "old").await.iter().all(|e| e.pools_after.is_none()));
    let then = balance_at(s.as_ref(), "old", t.clock.now()).await.expect("as of");
    assert_eq!((then.available, then.prepaid, then.pools), (m("9"), Micros::ZERO, None));
    t.clock.advance(secs(1));
    ok(s.as_ref(), "old", usage("2")).await;
    drop(s);
    t.reopen().await;
    let s = t.store.clone();
    let now = balance_at(s.as_ref(), "old", t.clock.now()).await.expect("as of");
    assert_eq!(now.pools.map(|p| (p.promotional, p.plan, p.voucher)), Some((m("7"), Micros::ZERO, Micros::ZERO)));
}
