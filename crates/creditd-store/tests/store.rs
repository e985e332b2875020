//! creditd-store's pure parts: named date ranges across DST, the seq search
//! that turns dates into seq bounds, the shared history SQL, and deriving an
//! organisation's state from an imported history.

use creditd_core::{
    CreditKind, CreditOp, Event, EventCtx, HoldOp, LedgerError, Micros, Op, OrgSettings, OrgState, Pool, RecordStatus,
};
use creditd_store::StoreError;
use creditd_store::import::derive;
use creditd_store::query::{EventFilter, EventQuery, PageLimit, PageStart};
use creditd_store::range::{RangePreset, days_bounds, range_bounds, start_of_day};
use creditd_store::sql::{
    Dialect, SeqRange, first_seq_at_or_after, history_export_query, history_page_query, seq_range,
};
use jiff::Timestamp;
use jiff::tz::TimeZone;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn tz(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

/// (zone, now, preset, expected from, expected to)
fn check(zone: &str, now: &str, preset: RangePreset, from: &str, to: &str) {
    let got = range_bounds(preset, &tz(zone), ts(now));
    assert_eq!(got, (ts(from), ts(to)), "{preset} in {zone} at {now}");
}

#[test]
fn presets_in_madrid_across_the_spring_change() {
    use RangePreset::*;
    // Sunday 2026-03-29: clocks go 02:00 -> 03:00 (UTC+1 -> UTC+2); a 23-hour day.
    let z = "Europe/Madrid";
    let now = "2026-03-29T15:00:00Z";
    check(z, now, Today, "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z");
    check(z, now, Yesterday, "2026-03-27T23:00:00Z", "2026-03-28T23:00:00Z");
    // Weeks start on Monday: Monday 23rd to Monday 30th.
    check(z, now, ThisWeek, "2026-03-22T23:00:00Z", "2026-03-29T22:00:00Z");
    check(z, now, LastWeek, "2026-03-15T23:00:00Z", "2026-03-22T23:00:00Z");
    check(z, now, ThisMonth, "2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z");
    check(z, now, LastMonth, "2026-01-31T23:00:00Z", "2026-02-28T23:00:00Z");
    // Today and the 27 days before: from Monday 2 March.
    check(z, now, Last28Days, "2026-03-01T23:00:00Z", "2026-03-29T22:00:00Z");
    // Just after midnight local, "today" is already the 30th (UTC still says 29th).
    check(z, "2026-03-29T22:30:00Z", Today, "2026-03-29T22:00:00Z", "2026-03-30T22:00:00Z");
    check(z, "2026-03-29T22:30:00Z", Yesterday, "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z");
    // A Monday is the first day of its own week.
    check(z, "2026-03-30T10:00:00Z", ThisWeek, "2026-03-29T22:00:00Z", "2026-04-05T22:00:00Z");
    check(z, "2026-03-30T10:00:00Z", LastWeek, "2026-03-22T23:00:00Z", "2026-03-29T22:00:00Z");
}

#[test]
fn presets_across_the_autumn_change_and_year_ends() {
    use RangePreset::*;
    // Sunday 2026-10-25 in Madrid: 03:00 -> 02:00, a 25-hour day.
    let z = "Europe/Madrid";
    check(z, "2026-10-25T12:00:00Z", Today, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z");
    check(z, "2026-10-26T12:00:00Z", Yesterday, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z");
    check(z, "2026-10-28T12:00:00Z", LastWeek, "2026-10-18T22:00:00Z", "2026-10-25T23:00:00Z");
    // January: last month is December of the year before.
    check(z, "2026-01-05T09:00:00Z", LastMonth, "2025-11-30T23:00:00Z", "2025-12-31T23:00:00Z");
    check(z, "2026-01-05T09:00:00Z", ThisMonth, "2025-12-31T23:00:00Z", "2026-01-31T23:00:00Z");
    // New York: DST starts 2026-03-08; last 28 days spans it.
    check("America/New_York", "2026-03-20T16:00:00Z", Last28Days, "2026-02-21T05:00:00Z", "2026-03-21T04:00:00Z");
    // UTC has no surprises.
    check("UTC", "2026-02-28T23:59:59Z", ThisMonth, "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z");
    check("UTC", "2024-02-29T12:00:00Z", Last28Days, "2024-02-02T00:00:00Z", "2024-03-01T00:00:00Z");
}

#[test]
fn a_day_whose_midnight_does_not_exist_starts_after_the_gap() {
    // America/Santiago moves from 00:00 (-04) to 01:00 (-03) on 2026-09-06.
    let z = tz("America/Santiago");
    assert_eq!(start_of_day("2026-09-06".parse().unwrap(), &z), ts("2026-09-06T04:00:00Z"));
    assert_eq!(
        days_bounds("2026-09-05".parse().unwrap(), "2026-09-05".parse().unwrap(), &z).1,
        ts("2026-09-06T04:00:00Z")
    );
    let (from, to) = range_bounds(RangePreset::Today, &z, ts("2026-09-06T12:00:00Z"));
    assert_eq!((from, to), (ts("2026-09-06T04:00:00Z"), ts("2026-09-07T03:00:00Z")));
    // Consecutive days tile: no instant is in two days or in none.
    let mut d: jiff::civil::Date = "2026-08-30".parse().unwrap();
    for _ in 0..20 {
        let next = d.tomorrow().unwrap();
        assert_eq!(days_bounds(d, d, &z).1, days_bounds(next, next, &z).0);
        d = next;
    }
}

#[test]
fn preset_names_parse_as_the_dashboards_write_them() {
    for (text, want) in [
        ("today", RangePreset::Today),
        ("Yesterday", RangePreset::Yesterday),
        ("This week", RangePreset::ThisWeek),
        ("last-week", RangePreset::LastWeek),
        ("THIS_MONTH", RangePreset::ThisMonth),
        ("Last month", RangePreset::LastMonth),
        ("Last 28 days", RangePreset::Last28Days),
    ] {
        assert_eq!(text.parse::<RangePreset>(), Ok(want), "{text}");
    }
    let err = "fortnight".parse::<RangePreset>().unwrap_err().to_string();
    assert!(err.contains("last_28_days"), "{err}");
}

#[test]
fn the_seq_search_agrees_with_a_linear_scan() {
    // Times that never decrease, with runs of equal times (one batch).
    let times: Vec<i64> = vec![5, 5, 7, 7, 7, 9, 12, 12, 20, 21, 21, 21, 30];
    let at = |seq: u64| Ok::<i64, StoreError>(times[(seq - 1) as usize]);
    let last = times.len() as u64;
    for t in 0..35 {
        let linear = (1..=last).find(|s| times[(*s - 1) as usize] >= t).unwrap_or(last + 1);
        let mut probes = 0;
        let got = first_seq_at_or_after(1, last, t, |s| {
            probes += 1;
            at(s)
        })
        .unwrap();
        assert_eq!(got, linear, "t = {t}");
        assert!(probes <= 5, "{probes} probes for {} events", times.len());
    }
    // Dates map to [from, to): to past the last event is left open.
    let us = |v: i64| Timestamp::from_microsecond(v).unwrap();
    let f = EventFilter { date_from: Some(us(7)), date_to: Some(us(21)), ..EventFilter::default() };
    assert_eq!(seq_range(last, &f, at).unwrap(), SeqRange { from: Some(3), to: Some(10) });
    let f = EventFilter { date_from: Some(us(31)), date_to: Some(us(99)), ..EventFilter::default() };
    assert_eq!(seq_range(last, &f, at).unwrap(), SeqRange { from: Some(14), to: None });
    assert_eq!(seq_range(0, &f, at).unwrap(), SeqRange::default());
}

fn page(filter: EventFilter, start: PageStart) -> EventQuery {
    EventQuery { filter, limit: PageLimit::new(10).unwrap(), start }
}

#[test]
fn history_sql_walks_the_right_index_in_each_dialect() {
    use creditd_core::{EventKind, Status};
    let f = EventFilter::default;
    let seqs = SeqRange { from: Some(100), to: Some(200) };
    let (sql, args) = history_page_query("o", &page(f(), PageStart::Before(150)), seqs, Dialect::Sqlite);
    assert!(!sql.contains("INDEXED BY"), "{sql}");
    assert!(sql.contains("seq >= ?2 AND seq < ?3 ORDER BY seq DESC LIMIT ?4"), "{sql}");
    assert_eq!(args.len(), 4);
    // The cursor and the date's upper bound: the lower of the two.
    assert_eq!(args[2], creditd_store::sql::SqlValue::Int(150));

    let project = EventFilter { project_id: Some("p1".into()), kinds: vec![EventKind::Usage], ..f() };
    let (sql, _) =
        history_page_query("o", &page(project.clone(), PageStart::Offset(0)), SeqRange::default(), Dialect::Sqlite);
    assert!(sql.contains("INDEXED BY events_project") && sql.contains("+kind = ?"), "{sql}");
    let (sql, _) =
        history_page_query("o", &page(project, PageStart::Offset(0)), SeqRange::default(), Dialect::Postgres);
    // A project with a kind picks its seqs from the walk first (walk_first), then reads the page.
    assert!(!sql.contains("INDEXED BY") && !sql.contains('+'), "{sql}");
    assert!(
        sql.contains(
            "seq IN (SELECT seq FROM (SELECT seq FROM events WHERE org_id = $2 AND project_id = $3 AND kind = $4"
        ),
        "{sql}"
    );
    let alone = EventFilter { project_id: Some("p1".into()), ..f() };
    let (sql, _) = history_page_query("o", &page(alone, PageStart::Offset(0)), SeqRange::default(), Dialect::Postgres);
    assert!(!sql.contains("seq IN") && sql.contains("project_id = $2"), "{sql}");

    // Several kinds: one walk per kind, merged.
    let kinds = EventFilter { kinds: vec![EventKind::Hold, EventKind::Debit, EventKind::Release], ..f() };
    let (sql, _) =
        history_page_query("o", &page(kinds.clone(), PageStart::Offset(20)), SeqRange::default(), Dialect::Postgres);
    assert_eq!(sql.matches("UNION ALL").count(), 2, "{sql}");
    assert!(sql.ends_with("ORDER BY seq DESC LIMIT $11 OFFSET $12) ORDER BY seq DESC"), "{sql}");
    assert!(
        sql.contains("(SELECT seq FROM events WHERE org_id = $2 AND kind = $3 ORDER BY seq DESC LIMIT $4)"),
        "{sql}"
    );
    // An export with several kinds walks the primary key instead (no sort).
    let (sql, _) = history_export_query("o", &kinds, SeqRange::default(), Default::default(), Dialect::Sqlite);
    assert!(!sql.contains("UNION") && sql.contains("+kind IN (?2, ?3, ?4)"), "{sql}");

    // Unsettled statuses use the partial index, spelled as it is declared.
    // The balance-type filter on paid pools has its partial index too.
    let paid = EventFilter { pools: vec![Pool::Voucher], services: vec!["GPU".into()], ..f() };
    let (sql, _) = history_page_query("o", &page(paid, PageStart::Offset(0)), SeqRange::default(), Dialect::Sqlite);
    assert!(sql.contains("INDEXED BY events_pool_paid") && sql.contains("pool IN ('prepaid', 'voucher')"), "{sql}");
    let plan = EventFilter { pools: vec![Pool::Plan, Pool::Voucher], ..f() };
    let (sql, _) = history_page_query("o", &page(plan, PageStart::Offset(0)), SeqRange::default(), Dialect::Sqlite);
    assert!(!sql.contains("INDEXED BY") && sql.contains("+pool IN (?2, ?3)"), "{sql}");
    let failed = EventFilter { statuses: vec![Status::Failed], ..f() };
    let (sql, _) = history_page_query("o", &page(failed, PageStart::Offset(0)), SeqRange::default(), Dialect::Sqlite);
    assert!(sql.contains("INDEXED BY events_unsettled") && sql.contains("status <> 'succeeded'"), "{sql}");
}

// ---------------------------------------------------------------------------
// Import: the state derived from a history equals the state that wrote it.

const T0: &str = "2026-03-02T09:00:00Z";

fn m(s: &str) -> Micros {
    s.parse().unwrap()
}

fn ctx(project: &str) -> EventCtx {
    EventCtx { project_id: Some(project.into()), user_email: Some("ana@example.com".into()), ..EventCtx::default() }
}

fn credit(kind: CreditKind, amount: &str, status: Option<creditd_core::Status>) -> Op {
    Op::Credit(CreditOp {
        kind,
        amount: m(amount),
        pool: None,
        expires_at: None,
        code: (kind == CreditKind::Voucher).then(|| "CODE-1".into()),
        status,
        ctx: EventCtx::default(),
    })
}

/// A history written by the real ledger: every kind, an open hold, a
/// processing purchase, a refundable usage. Returns the state and events.
fn lived() -> (OrgState, Vec<Event>, String, String, String) {
    let mut now = ts(T0);
    let mut s = OrgState::new("o", OrgSettings::new("O", "Europe/Madrid"), now).unwrap();
    let mut events = Vec::new();
    let mut apply = |s: &mut OrgState, op: Op, now: &mut Timestamp| {
        *now = now.checked_add(jiff::SignedDuration::from_mins(7)).unwrap();
        let a = s.apply(&op, *now, None).unwrap();
        let o = a.outcome.unwrap();
        events.extend(o.events.clone());
        o.record.map(|r| r.id)
    };
    apply(&mut s, credit(CreditKind::SubscriptionCredit, "100", None), &mut now);
    apply(&mut s, credit(CreditKind::Grant, "20", None), &mut now);
    apply(&mut s, credit(CreditKind::Voucher, "15", None), &mut now);
    apply(&mut s, credit(CreditKind::Purchase, "50", None), &mut now);
    let u = apply(&mut s, Op::Usage { amount: m("30"), ctx: ctx("p1") }, &mut now).unwrap();
    let h1 =
        apply(&mut s, Op::Hold(HoldOp { amount: m("12.5"), timeout_seconds: None, ctx: ctx("p2") }), &mut now).unwrap();
    apply(&mut s, Op::Debit { hold_id: h1.clone(), amount: Some(m("10")), ctx: EventCtx::default() }, &mut now);
    let h2 =
        apply(&mut s, Op::Hold(HoldOp { amount: m("100"), timeout_seconds: None, ctx: ctx("p3") }), &mut now).unwrap();
    apply(&mut s, Op::Release { hold_id: h2, ctx: EventCtx::default() }, &mut now);
    apply(&mut s, Op::Refund { refers_to: u.clone(), amount: Some(m("5")), ctx: EventCtx::default() }, &mut now);
    apply(
        &mut s,
        Op::Adjustment {
            amount: m("-1.25"),
            reason: "fix".into(),
            pool: None,
            expires_at: None,
            ctx: EventCtx::default(),
        },
        &mut now,
    );
    apply(&mut s, Op::Billing { amount: Micros::ZERO, ctx: EventCtx::default() }, &mut now);
    let pending =
        apply(&mut s, credit(CreditKind::Purchase, "40", Some(creditd_core::Status::Processing)), &mut now).unwrap();
    let open =
        apply(&mut s, Op::Hold(HoldOp { amount: m("7"), timeout_seconds: None, ctx: ctx("p1") }), &mut now).unwrap();
    (s, events, u, pending, open)
}

#[test]
fn an_imported_history_carries_on_where_it_ended() {
    let (lived, events, usage, pending, open) = lived();
    let now = ts("2026-03-03T12:00:00Z");
    let d = derive("o", OrgSettings::new("O", "Europe/Madrid"), &events, now).unwrap();
    assert!(d.report.verify.ok, "{:?}", d.report.verify);
    let (a, b) = (d.state.balance(), lived.balance());
    assert_eq!((a.available, a.held, a.pools.prepaid, a.seq), (b.available, b.held, b.pools.prepaid, b.seq));
    assert_eq!(
        a.pools.plan.micros() + a.pools.voucher.micros() + a.pools.promotional.micros(),
        b.pools.plan.micros() + b.pools.voucher.micros() + b.pools.promotional.micros()
    );
    assert_eq!((d.report.open_holds, d.report.pending_purchases), (1, 1));
    assert_eq!(d.state.records[&open].status, RecordStatus::Open);
    assert!(d.state.records[&open].expires_at.unwrap() > now);

    // The derived org goes on: debit the open hold, settle the purchase,
    // refund the rest of the usage (loading its record as an engine would).
    let mut s = d.state;
    for r in &d.records {
        s.records.entry(r.id.clone()).or_insert_with(|| r.clone());
    }
    // Within the hold's time (a debit at or past `expires_at` is refused).
    let later = ts("2026-03-03T12:30:00Z");
    assert!(s.records[&open].expires_at.unwrap() > later);
    s.apply(&Op::Debit { hold_id: open, amount: None, ctx: EventCtx::default() }, later, None).unwrap();
    let settle =
        Op::SettlePurchase { purchase_id: pending, status: creditd_core::Status::Succeeded, ctx: EventCtx::default() };
    s.apply(&settle, later, None).unwrap();
    let refund = Op::Refund { refers_to: usage.clone(), amount: Some(m("25")), ctx: EventCtx::default() };
    let o = s.apply(&refund, later, None).unwrap().outcome.unwrap();
    assert_eq!(o.events[0].seq, lived.seq + 3);
    // Only 25 of the 30 used were left to refund.
    let again = Op::Refund { refers_to: usage, amount: Some(m("0.01")), ctx: EventCtx::default() };
    assert!(matches!(s.apply(&again, later, None), Err(LedgerError::RefundExceedsConsumed { .. })));
    assert_eq!(s.balance().available, b.available.checked_add(m("40")).unwrap().checked_add(m("25")).unwrap());
}

fn refused(events: &[Event]) -> String {
    match derive("o", OrgSettings::new("O", "UTC"), events, ts("2026-04-01T00:00:00Z")) {
        Err(StoreError::Ledger(LedgerError::Invalid(msg))) => msg,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_inconsistent_history_is_refused_with_reasons() {
    let (_, events, ..) = lived();
    assert!(refused(&[]).contains("no events"));
    assert!(refused(&events[1..]).contains("not 1"));
    let mut gap = events.clone();
    gap.remove(4);
    assert!(refused(&gap).contains("without gaps"));
    let mut backwards = events.clone();
    backwards[6].created_at = backwards[5].created_at.checked_sub(jiff::SignedDuration::from_secs(1)).unwrap();
    assert!(refused(&backwards).contains("time never goes backwards"));
    let mut wrong = events.clone();
    wrong[3].balance_after = wrong[3].balance_after.checked_add(m("1")).unwrap();
    assert!(refused(&wrong).contains("balance_after"));
    let mut id = events.clone();
    id[2].id = "evt_x".into();
    assert!(refused(&id).contains("must be evt_3"));
    let mut long = events.clone();
    long[2].description = Some("x".repeat(2000));
    assert!(refused(&long).contains("description is longer"));
    let mut other = events;
    other[0].org_id = "elsewhere".into();
    assert!(refused(&other).contains("belongs to organization"));
}

#[test]
fn overdraft_in_use_comes_back_as_debt() {
    let now = ts(T0);
    let mut settings = OrgSettings::new("O", "UTC");
    settings.overdraft_limit = m("10");
    let mut s = OrgState::new("o", settings.clone(), now).unwrap();
    let mut events = Vec::new();
    for op in [credit(CreditKind::Grant, "5", None), Op::Usage { amount: m("12"), ctx: EventCtx::default() }] {
        events.extend(s.apply(&op, now, None).unwrap().outcome.unwrap().events);
    }
    events.extend(s.apply(&credit(CreditKind::Purchase, "3", None), now, None).unwrap().outcome.unwrap().events);
    let d = derive("o", settings, &events, now).unwrap();
    assert_eq!(d.state.balance().available, m("-4"));
    assert_eq!(d.state.debt, m("7"));
    assert_eq!(d.state.pool_total(Pool::Prepaid), m("3"));
    assert!(d.report.verify.ok);
}

/// The writer reuses its committed batch (`Batch::clear`): nothing of the
/// old batch may leak into the next one, or a retry would replay an answer
/// that was never stored, or a record be written twice.
#[test]
fn a_cleared_batch_applies_like_a_new_one() {
    use creditd_store::Command;
    use creditd_store::batch::Batch;
    let now = ts(T0);
    let run = |batch: &mut Batch, s: &mut OrgState| {
        let keyed = |op: Op, key: &str| Command::new("o", op, Some(key.to_string()));
        let grant = batch.apply(s, &keyed(credit(CreditKind::Grant, "50", None), "k-grant"), now, None).unwrap();
        let hold = Op::Hold(HoldOp { amount: m("5"), timeout_seconds: None, ctx: ctx("p1") });
        let held = batch.apply(s, &keyed(hold, "k-hold"), now, None).unwrap();
        let usage = Op::Usage { amount: m("1"), ctx: ctx("p2") };
        batch.apply(s, &Command::new("o", usage, None), now, None).unwrap();
        (grant, held.record.map(|r| r.id))
    };
    let mut used = Batch::new();
    let mut s1 = OrgState::new("o", OrgSettings::new("O", "Europe/Madrid"), now).unwrap();
    run(&mut used, &mut s1);
    assert!(used.idem_row("o", "k-grant").is_some());
    used.clear();
    assert!(used.is_empty());
    assert!(used.idem_row("o", "k-grant").is_none() && used.idem_row("o", "k-hold").is_none());
    assert!(used.records.is_empty() && used.usage_records.is_empty() && used.hashes.is_empty());
    assert!(used.rollups.is_empty() && used.webhooks.is_empty() && used.orgs.is_empty());
    assert_eq!((used.applied, used.open_holds_delta), (0, 0));

    // The same commands on a fresh org: into the cleared batch and into a new
    // one, the same events, rows and answers (the keys are new to both).
    let mut fresh = Batch::new();
    let (mut a, mut b) = (
        OrgState::new("o", OrgSettings::new("O", "Europe/Madrid"), now).unwrap(),
        OrgState::new("o", OrgSettings::new("O", "Europe/Madrid"), now).unwrap(),
    );
    let (ga, ha) = run(&mut used, &mut a);
    let (gb, hb) = run(&mut fresh, &mut b);
    assert_eq!(ga.events, gb.events);
    assert_eq!(ha, hb);
    assert_eq!(used.events, fresh.events);
    assert!(used.hashes == fresh.hashes);
    assert_eq!(used.idem.len(), 2);
    assert_eq!(used.records.len(), fresh.records.len());
    assert_eq!(used.usage_records.len(), fresh.usage_records.len());
    assert_eq!(used.orgs, vec!["o".to_string()]);
    assert_eq!(used.rollups.deltas().len(), fresh.rollups.deltas().len());
    assert_eq!((used.applied, used.open_holds_delta), (fresh.applied, fresh.open_holds_delta));
}

/// What a batch writes is computed once for both engines: a new usage
/// record lives on its event (its draws), not as a record row, unless it
/// was refunded in the batch (then its newer version is a row, once).
#[test]
fn a_write_set_keeps_usage_records_on_their_events() {
    use creditd_store::Command;
    use creditd_store::batch::Batch;
    use creditd_store::write::WriteSet;
    let now = ts(T0);
    let mut s = OrgState::new("o", OrgSettings::new("O", "Europe/Madrid"), now).unwrap();
    let mut batch = Batch::new();
    let mut apply = |op: Op, key: Option<&str>| {
        batch.apply(&mut s, &Command::new("o", op, key.map(str::to_string)), now, None).unwrap()
    };
    apply(credit(CreditKind::Grant, "50", None), Some("k-grant"));
    let kept = apply(Op::Usage { amount: m("1"), ctx: ctx("p1") }, None).record.unwrap().id;
    let refunded = apply(Op::Usage { amount: m("2"), ctx: ctx("p2") }, None).record.unwrap().id;
    apply(Op::Refund { refers_to: refunded.clone(), amount: None, ctx: EventCtx::default() }, Some("k-refund"));
    let hold =
        apply(Op::Hold(HoldOp { amount: m("5"), timeout_seconds: None, ctx: ctx("p1") }), None).record.unwrap().id;
    assert_eq!(batch.usage_records.len(), 2);

    let state = s.clone();
    let of = |org: &str| (org == "o").then_some(&state);
    let draws = WriteSet::encode(&batch, of).unwrap();
    let rows = draws.rows(&batch).unwrap();
    // Draws go on the two usage events, records are the batch's own versions.
    let with_draws: Vec<i64> = rows.events().filter(|e| e.draws_json.is_some()).map(|e| e.seq).collect();
    let usage_seqs: Vec<i64> = batch.usage_records.iter().map(|(i, _)| batch.events[*i].seq as i64).collect();
    assert_eq!(with_draws, usage_seqs);
    let mut ids: Vec<&str> = rows.records().map(|r| r.id).collect();
    ids.sort_unstable();
    let mut want = vec![refunded.as_str(), hold.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    assert_eq!(rows.events().len(), batch.events.len());
    assert_eq!(rows.idempotency().map(|i| i.key).collect::<Vec<_>>(), vec!["k-grant", "k-refund"]);
    let org: Vec<_> = rows.orgs().collect();
    assert_eq!((org.len(), org[0].org_id, org[0].seq), (1, "o", state.seq as i64));
    let back: OrgState = serde_json::from_str(org[0].state_json).unwrap();
    assert_eq!(back.seq, state.seq);
    for e in rows.events() {
        assert_eq!(e.hash.len(), 64, "hex chain hash");
    }

    // The refunded usage's row is its newer version, once.
    let recs: Vec<_> = rows.records().map(|r| (r.id.to_string(), r.body_json.to_string())).collect();
    assert_eq!(recs.iter().filter(|(id, _)| *id == refunded).count(), 1, "{recs:?}");
    assert!(!recs.iter().any(|(id, _)| *id == kept), "a usage not refunded has no record row");
    let body = &recs.iter().find(|(id, _)| *id == refunded).unwrap().1;
    let r: creditd_core::Record = serde_json::from_str(body).unwrap();
    assert_eq!(r.refunded, m("2"));

    // Rows are read only from the batch they were encoded from.
    let other = Batch::new();
    assert!(matches!(draws.rows(&other), Err(StoreError::Corrupt(_))));
    // A touched org without a state refuses the whole batch.
    let none = |_: &str| None;
    assert!(matches!(WriteSet::encode(&batch, none), Err(StoreError::OrgNotFound(_))));
}

/// A tick's commands: every due hold times out, then every due org expires
/// (and renews); the queries read the same in both dialects.
#[test]
fn tick_commands_time_out_holds_then_expire_orgs() {
    use creditd_store::tick;
    let cmds: Vec<_> =
        tick::commands(vec![("a".to_string(), "h1".to_string())], vec!["b".to_string(), "a".to_string()]).collect();
    let ops: Vec<(&str, &str)> = cmds.iter().map(|c| (c.org_id.as_str(), c.op.name())).collect();
    assert_eq!(ops, vec![("a", "timeout_hold"), ("b", "expire_due"), ("a", "expire_due")]);
    assert!(cmds.iter().all(|c| c.idempotency_key.is_none() && c.actor.is_none()));
    assert_eq!(
        tick::due_holds_sql(|n| format!("${n}")),
        "SELECT org_id, id FROM records WHERE status IN ('open', 'processing') AND status = 'open' \
         AND expires_at <= $1 ORDER BY expires_at LIMIT $2"
    );
    assert_eq!(tick::due_orgs_sql(|n| format!("?{n}")), "SELECT org_id FROM orgs WHERE next_expiry <= ?1 LIMIT ?2");
}
