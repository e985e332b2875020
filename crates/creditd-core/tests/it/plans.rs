//! Plans, periods, renewals, rollover, expiry and conversations, driven by
//! explicit timestamps (no clock, no sleeps). Expected values are worked out
//! by hand in the comments, not computed with the code under test.

use creditd_core::plans::{Effective, Plan, PlanOp, Rollover};
use creditd_core::verify::Verifier;
use creditd_core::*;
use jiff::Timestamp;
use jiff::tz::TimeZone;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn m(text: &str) -> Micros {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn plan(credits: &str, rollover: Rollover) -> Plan {
    Plan {
        name: "Growth".into(),
        credits_per_period: m(credits),
        identities_included: 5,
        price: m("449"),
        currency: "EUR".into(),
        conversations_per_identity: 500,
        rollover,
        price_book: None,
    }
}

fn set_plan(p: Plan, effective: Option<Effective>, renewal_day: Option<u8>) -> Op {
    Op::Plans(PlanOp::SetPlan { plan: p, effective, renewal_day })
}

fn subscribe(p: Plan) -> Op {
    set_plan(p, None, None)
}

fn usage(amount: &str) -> Op {
    Op::Usage { amount: m(amount), ctx: EventCtx::default() }
}

fn grant(amount: &str) -> Op {
    Op::Credit(CreditOp {
        kind: CreditKind::Grant,
        amount: m(amount),
        pool: None,
        expires_at: None,
        code: None,
        status: None,
        ctx: EventCtx::default(),
    })
}

fn voucher_until(amount: &str, expires_at: Timestamp) -> Op {
    Op::Credit(CreditOp {
        kind: CreditKind::Voucher,
        amount: m(amount),
        pool: None,
        expires_at: Some(expires_at),
        code: Some("SPRING".into()),
        status: None,
        ctx: EventCtx::default(),
    })
}

fn hold(amount: &str) -> Op {
    Op::Hold(HoldOp { amount: m(amount), timeout_seconds: Some(7 * 24 * 3600), ctx: EventCtx::default() })
}

fn conv(identity: &str, campaign: Option<&str>, started_at: Option<Timestamp>) -> Op {
    Op::Plans(PlanOp::Conversation { identity: identity.into(), campaign: campaign.map(str::to_string), started_at })
}

/// One organisation and every event it produced; checks after each
/// operation what must always hold, and that a refusal changes nothing.
struct Org {
    state: OrgState,
    events: Vec<Event>,
    tz: TimeZone,
}

type Snapshot = (String, Vec<(String, Record)>);

impl Org {
    fn new(zone: &str, at: &str) -> Org {
        let state = OrgState::new("org_1", OrgSettings::new("Acme", zone), ts(at)).unwrap();
        Org { state, events: Vec::new(), tz: TimeZone::get(zone).unwrap() }
    }

    fn snapshot(&self) -> Snapshot {
        let mut records: Vec<(String, Record)> =
            self.state.records.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        records.sort_by(|a, b| a.0.cmp(&b.0));
        (serde_json::to_string(&self.state).unwrap(), records)
    }

    fn apply(&mut self, op: &Op, at: &str) -> Result<Option<Outcome>, LedgerError> {
        let now = ts(at);
        let before = self.snapshot();
        let applied = match self.state.apply(op, now, Some("key-1")) {
            Err(e) => {
                assert_eq!(before, self.snapshot(), "{op:?} was refused ({e}) but changed the state");
                return Err(e);
            }
            Ok(a) => a,
        };
        let Some(outcome) = applied.outcome else {
            assert_eq!(before, self.snapshot(), "a no-op changed the state");
            return Ok(None);
        };
        for e in &outcome.events {
            assert_eq!(e.seq, self.events.len() as u64 + 1, "seq follows the previous event");
            if let Some(prev) = self.events.last() {
                assert!(e.created_at >= prev.created_at, "created_at went backwards: {e:?}");
            }
            assert!(e.created_at <= now.max(self.state.last_at.unwrap()), "an event from the future: {e:?}");
            self.events.push(e.clone());
        }
        // Renewals and expiries never take the operation's key.
        let keyed: Vec<&Event> = outcome.events.iter().filter(|e| e.idempotency_key.is_some()).collect();
        assert!(keyed.len() <= 1);
        for e in &keyed {
            assert_ne!(e.source.as_deref(), Some("system"), "a scheduled event took the op's key: {e:?}");
        }
        if let Some(last) = outcome.events.last() {
            assert_eq!(last.balance_after, self.state.available());
            assert_eq!(last.held_after, self.state.held);
            assert_eq!(last.period_usage_after, self.state.period_usage);
            assert_eq!(self.state.last_at, Some(last.created_at));
        }
        assert_eq!(outcome.balance, self.state.balance());
        self.state.check_invariants().unwrap();
        self.state.check_open_holds().unwrap();
        // Engines store states and outcomes as JSON.
        let mut without_records = self.state.clone();
        without_records.records.clear();
        let json = serde_json::to_string(&self.state).unwrap();
        assert_eq!(serde_json::from_str::<OrgState>(&json).unwrap(), without_records, "state JSON round trip");
        let json = serde_json::to_string(&outcome).unwrap();
        assert_eq!(serde_json::from_str::<Outcome>(&json).unwrap(), outcome, "outcome JSON round trip");
        Ok(Some(outcome))
    }

    fn ok(&mut self, op: Op, at: &str) -> Outcome {
        match self.apply(&op, at) {
            Ok(Some(o)) => o,
            Ok(None) => panic!("{op:?} at {at} did nothing"),
            Err(e) => panic!("{op:?} at {at} was refused: {e}"),
        }
    }

    /// The operation's events as `kind amount balance_after @local-time`.
    fn run(&mut self, op: Op, at: &str) -> Vec<String> {
        let o = self.ok(op, at);
        o.events.iter().map(|e| self.show(e)).collect()
    }

    fn err(&mut self, op: Op, at: &str) -> LedgerError {
        match self.apply(&op, at) {
            Ok(o) => panic!("{op:?} should be refused, got {o:?}"),
            Err(e) => e,
        }
    }

    fn noop(&mut self, op: Op, at: &str) {
        assert!(self.apply(&op, at).unwrap().is_none(), "{op:?} at {at} should do nothing");
    }

    fn show(&self, e: &Event) -> String {
        let local = e.created_at.to_zoned(self.tz.clone()).strftime("%Y-%m-%dT%H:%M").to_string();
        format!("{} {} {} @{local}", e.kind, e.amount, e.balance_after)
    }

    fn verify(&self) {
        let mut v = Verifier::new();
        for e in &self.events {
            v.push(e);
        }
        let report = v.finish(&self.state);
        assert!(report.ok, "verifier: {:?}", report.problems);
    }

    fn summary(&self, at: &str) -> Summary {
        self.state.summary(ts(at)).unwrap()
    }
}

// ---------------------------------------------------------------------------
// A year of monthly renewals, one per rollover policy
// ---------------------------------------------------------------------------

/// Subscribed on 10 January (UTC) to 10 credits a month; 3 credits used on
/// the 15th of every month. The usage of month `k` (1 = February) is the
/// first operation after the renewal of the 1st, so its events are the
/// renewal's (stamped the 1st at 00:00) then its own (the 15th at 12:00).
/// Consumption takes the oldest plan block first (all plan blocks of a
/// period expire together).
fn year_of_renewals(rollover: Rollover, expected: impl Fn(usize) -> Vec<&'static str>) -> Org {
    let mut org = Org::new("UTC", "2026-01-10T12:00:00Z");
    assert_eq!(
        org.run(subscribe(plan("10", rollover)), "2026-01-10T12:00:00Z"),
        ["subscription_credit 10 10 @2026-01-10T12:00"]
    );
    assert_eq!(org.run(usage("3"), "2026-01-15T12:00:00Z"), ["usage -3 7 @2026-01-15T12:00"]);
    for k in 1..=12 {
        let month = if k == 12 { "2027-01".to_string() } else { format!("2026-{:02}", k + 1) };
        let got = org.run(usage("3"), &format!("{month}-15T12:00:00Z"));
        let want: Vec<String> = expected(k)
            .iter()
            .map(|w| {
                let at = if w.starts_with("usage") { "15T12:00" } else { "01T00:00" };
                format!("{w} @{month}-{at}")
            })
            .collect();
        assert_eq!(got, want, "renewal {k} ({month})");
        // The new period's credit restarts period usage; the usage adds to it.
        assert_eq!(org.state.period_usage, m("3"));
        assert_eq!(org.state.period_start, Some(ts(&format!("{month}-01T00:00:00Z"))));
    }
    org.verify();
    org
}

#[test]
fn a_year_without_rollover_lapses_the_unused_credits_every_month() {
    let org = year_of_renewals(Rollover::None, |_| vec!["expiry -7 0", "subscription_credit 10 10", "usage -3 7"]);
    let s = org.summary("2027-01-20T00:00:00Z");
    assert_eq!((s.plan_credits_left, s.accumulated_credits, s.balance), (m("7"), m("0"), m("7")));
    // Each expiry names its period.
    let feb = org.events.iter().find(|e| e.kind == EventKind::Expiry).unwrap();
    assert_eq!(
        feb.description.as_deref(),
        Some("Plan credits of the period 2026-01-01 – 2026-02-01 not carried over (block blk_1)")
    );
    assert_eq!(feb.metadata.as_ref().unwrap()["period_start"], "2026-01-01T00:00:00Z");
    assert_eq!(feb.pool, Some(Pool::Plan));
    let credit = org.events.iter().filter(|e| e.kind == EventKind::SubscriptionCredit).nth(1).unwrap();
    assert_eq!(
        credit.description.as_deref(),
        Some("Plan credits for the period 2026-02-01 – 2026-03-01 (Growth plan)")
    );
    assert_eq!(credit.period_usage_after, m("0"));
}

#[test]
fn a_year_with_full_rollover_accumulates_everything() {
    // Renewal k: balance 7k before, +10; then 3 used.
    let org = year_of_renewals(Rollover::All, |k| {
        let credit = Box::leak(format!("subscription_credit 10 {}", 7 * k + 10).into_boxed_str());
        let used = Box::leak(format!("usage -3 {}", 7 * k + 7).into_boxed_str());
        vec![credit, used]
    });
    let s = org.summary("2027-01-20T00:00:00Z");
    // 84 carried over in twelve renewals, 3 of it used in January.
    assert_eq!((s.plan_credits_left, s.accumulated_credits, s.balance), (m("10"), m("81"), m("91")));
}

#[test]
fn a_year_with_rollover_capped_at_15_credits() {
    let org = year_of_renewals(Rollover::UpTo { max_credits: m("15") }, |k| match k {
        // Feb: 7 carried (≤ 15). Jan block 7 → 4 after the usage.
        1 => vec!["subscription_credit 10 17", "usage -3 14"],
        // Mar: 4 + 10 = 14 carried (≤ 15). Jan block 4 → 1.
        2 => vec!["subscription_credit 10 24", "usage -3 21"],
        // Apr: newest first: Mar 10 kept, Feb 5 of 10 kept, Jan 1 lapses.
        // Then Feb block 5 → 2.
        3 => vec!["expiry -1 20", "expiry -5 15", "subscription_credit 10 25", "usage -3 22"],
        // From May on: Feb-like block 2 lapses, the previous block keeps 5 of 10.
        _ => vec!["expiry -2 20", "expiry -5 15", "subscription_credit 10 25", "usage -3 22"],
    });
    let s = org.summary("2027-01-20T00:00:00Z");
    assert_eq!((s.plan_credits_left, s.accumulated_credits, s.balance), (m("10"), m("12"), m("22")));
}

#[test]
fn a_year_with_credits_carried_over_for_one_period() {
    let org = year_of_renewals(Rollover::Periods { periods: 1 }, |k| match k {
        // Feb: January's 7 carried once; 3 used from it → 4.
        1 => vec!["subscription_credit 10 17", "usage -3 14"],
        // Mar: January's 4 were carried once already: they lapse.
        2 => vec!["expiry -4 10", "subscription_credit 10 20", "usage -3 17"],
        _ => vec!["expiry -7 10", "subscription_credit 10 20", "usage -3 17"],
    });
    let s = org.summary("2027-01-20T00:00:00Z");
    assert_eq!((s.plan_credits_left, s.accumulated_credits, s.balance), (m("10"), m("7"), m("17")));
}

#[test]
fn a_year_with_credits_carried_over_for_two_periods() {
    let org = year_of_renewals(Rollover::Periods { periods: 2 }, |k| match k {
        1 => vec!["subscription_credit 10 17", "usage -3 14"],
        // Mar: Jan (4, once) and Feb (10) carried; Jan 4 → 1.
        2 => vec!["subscription_credit 10 24", "usage -3 21"],
        // Apr: Jan's 1 was carried twice: lapses. Feb 10 → 7.
        3 => vec!["expiry -1 20", "subscription_credit 10 30", "usage -3 27"],
        _ => vec!["expiry -7 20", "subscription_credit 10 30", "usage -3 27"],
    });
    let s = org.summary("2027-01-20T00:00:00Z");
    assert_eq!((s.plan_credits_left, s.accumulated_credits, s.balance), (m("10"), m("17"), m("27")));
}

// ---------------------------------------------------------------------------
// The 1st at 00:00 in the org's zone, across DST; short and long months
// ---------------------------------------------------------------------------

/// The 1st of February 2026 … January 2027 at 00:00, in UTC, worked out by
/// hand from each zone's offsets.
const RENEWALS: &[(&str, [&str; 12])] = &[
    // CET +1; CEST +2 from 29 March to 25 October.
    (
        "Europe/Madrid",
        [
            "2026-01-31T23:00:00Z",
            "2026-02-28T23:00:00Z",
            "2026-03-31T22:00:00Z",
            "2026-04-30T22:00:00Z",
            "2026-05-31T22:00:00Z",
            "2026-06-30T22:00:00Z",
            "2026-07-31T22:00:00Z",
            "2026-08-31T22:00:00Z",
            "2026-09-30T22:00:00Z",
            "2026-10-31T23:00:00Z",
            "2026-11-30T23:00:00Z",
            "2026-12-31T23:00:00Z",
        ],
    ),
    // EST -5; EDT -4 from 8 March to 1 November 02:00 (so 1 November 00:00 is still EDT).
    (
        "America/New_York",
        [
            "2026-02-01T05:00:00Z",
            "2026-03-01T05:00:00Z",
            "2026-04-01T04:00:00Z",
            "2026-05-01T04:00:00Z",
            "2026-06-01T04:00:00Z",
            "2026-07-01T04:00:00Z",
            "2026-08-01T04:00:00Z",
            "2026-09-01T04:00:00Z",
            "2026-10-01T04:00:00Z",
            "2026-11-01T04:00:00Z",
            "2026-12-01T05:00:00Z",
            "2027-01-01T05:00:00Z",
        ],
    ),
    // NZDT +13 until 5 April; NZST +12 until 27 September; NZDT again.
    (
        "Pacific/Auckland",
        [
            "2026-01-31T11:00:00Z",
            "2026-02-28T11:00:00Z",
            "2026-03-31T11:00:00Z",
            "2026-04-30T12:00:00Z",
            "2026-05-31T12:00:00Z",
            "2026-06-30T12:00:00Z",
            "2026-07-31T12:00:00Z",
            "2026-08-31T12:00:00Z",
            "2026-09-30T11:00:00Z",
            "2026-10-31T11:00:00Z",
            "2026-11-30T11:00:00Z",
            "2026-12-31T11:00:00Z",
        ],
    ),
];

fn one_micro_before(t: &str) -> String {
    ts(t).checked_sub(jiff::SignedDuration::from_micros(1)).unwrap().to_string()
}

#[test]
fn renewals_fall_on_the_1st_at_midnight_in_the_org_zone_across_dst() {
    for (zone, instants) in RENEWALS {
        let mut org = Org::new(zone, "2026-01-10T12:00:00Z");
        org.ok(subscribe(plan("10", Rollover::None)), "2026-01-10T12:00:00Z");
        for (i, at) in instants.iter().enumerate() {
            assert_eq!(org.state.next_renewal(), Some(ts(at)), "{zone} renewal {i}");
            // A moment before: nothing is due.
            org.noop(Op::ExpireDue, &one_micro_before(at));
            let o = org.ok(Op::ExpireDue, at);
            assert_eq!(o.events.len(), 2, "{zone} {at}");
            for e in &o.events {
                assert_eq!(e.created_at, ts(at), "{zone}");
                let local = e.created_at.to_zoned(org.tz.clone());
                assert_eq!((local.day(), local.hour(), local.minute()), (1, 0, 0), "{zone} {local}");
            }
            // Right after, nothing more.
            org.noop(Op::ExpireDue, at);
        }
        org.verify();
    }
}

#[test]
fn a_year_of_downtime_catches_up_every_renewal_once_in_each_zone() {
    for (zone, instants) in RENEWALS {
        let mut org = Org::new(zone, "2026-01-10T12:00:00Z");
        org.ok(subscribe(plan("10", Rollover::None)), "2026-01-10T12:00:00Z");
        // Back on 20 January 2027: a usage finds twelve renewals due.
        let o = org.ok(usage("1"), "2027-01-20T00:00:00Z");
        assert_eq!(o.events.len(), 12 * 2 + 1, "{zone}");
        for (i, at) in instants.iter().enumerate() {
            let (exp, credit) = (&o.events[2 * i], &o.events[2 * i + 1]);
            assert_eq!((exp.kind, exp.amount, exp.created_at), (EventKind::Expiry, m("-10"), ts(at)), "{zone} {i}");
            assert_eq!(
                (credit.kind, credit.amount, credit.created_at),
                (EventKind::SubscriptionCredit, m("10"), ts(at)),
                "{zone} {i}"
            );
        }
        let own = o.events.last().unwrap();
        assert_eq!((own.kind, own.created_at), (EventKind::Usage, ts("2027-01-20T00:00:00Z")));
        assert_eq!(own.idempotency_key.as_deref(), Some("key-1"));
        assert_eq!(org.state.balance().available, m("9"));
        org.noop(Op::ExpireDue, "2027-01-20T00:00:00Z");
        org.verify();
    }
}

#[test]
fn february_and_31_day_months() {
    let mut org = Org::new("UTC", "2026-01-31T12:00:00Z");
    org.ok(subscribe(plan("10", Rollover::None)), "2026-01-31T12:00:00Z");
    let mut lengths = Vec::new();
    for month in ["2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09"] {
        org.ok(Op::ExpireDue, &format!("{month}-01T00:00:00Z"));
        let (start, end) = (org.state.period_start.unwrap(), org.state.period_end.unwrap());
        assert_eq!(start, ts(&format!("{month}-01T00:00:00Z")));
        lengths.push((end.as_second() - start.as_second()) / 86_400);
    }
    assert_eq!(lengths, [28, 31, 30, 31, 30, 31, 31, 30]);

    // A leap year with the anchor on the 28th: 28 Jan → 28 Feb → 28 Mar, never the 29th.
    let mut org = Org::new("UTC", "2028-01-10T12:00:00Z");
    for day in [0, 29, 31] {
        assert_eq!(
            org.err(set_plan(plan("10", Rollover::None), None, Some(day)), "2028-01-10T12:00:00Z").code(),
            "validation_error"
        );
    }
    org.ok(set_plan(plan("10", Rollover::None), None, Some(28)), "2028-01-10T12:00:00Z");
    assert_eq!(org.state.settings.renewal_day, 28);
    assert_eq!(org.state.period_start, Some(ts("2027-12-28T00:00:00Z")));
    assert_eq!(org.state.next_renewal(), Some(ts("2028-01-28T00:00:00Z")));
    let o = org.ok(Op::ExpireDue, "2028-03-29T00:00:00Z");
    let at: Vec<Timestamp> =
        o.events.iter().filter(|e| e.kind == EventKind::SubscriptionCredit).map(|e| e.created_at).collect();
    assert_eq!(at, [ts("2028-01-28T00:00:00Z"), ts("2028-02-28T00:00:00Z"), ts("2028-03-28T00:00:00Z")]);
    assert_eq!(org.state.period_end, Some(ts("2028-04-28T00:00:00Z")));
    // The anchor is set when subscribing, not changed afterwards.
    let e = org.err(set_plan(plan("10", Rollover::None), None, Some(1)), "2028-03-29T00:00:00Z");
    assert!(e.to_string().contains("renews on day 28"), "{e}");
    org.verify();
}

// ---------------------------------------------------------------------------
// Downtime: every missed renewal and expiry once, in order, on time
// ---------------------------------------------------------------------------

#[test]
fn a_server_down_for_three_months_catches_up_exactly_once() {
    let mut org = Org::new("Europe/Madrid", "2026-01-10T12:00:00Z");
    org.ok(subscribe(plan("10", Rollover::None)), "2026-01-10T12:00:00Z");
    org.ok(grant("5"), "2026-01-10T12:00:00Z");
    org.ok(voucher_until("4", ts("2026-02-15T09:00:00Z")), "2026-01-10T12:00:00Z");
    org.ok(usage("3"), "2026-01-20T12:00:00Z");
    // Down from 20 January to 20 April. A refused operation on the way back
    // changes nothing (the harness compares the whole state).
    let e = org.err(usage("1000"), "2026-04-20T08:00:00Z");
    assert_eq!(e.code(), "insufficient_credits");
    assert_eq!(org.events.len(), 4);
    // The next operation applies the three renewals and the voucher's
    // expiry in order, each at its own time, then itself.
    assert_eq!(
        org.run(usage("1"), "2026-04-20T08:00:00Z"),
        [
            // 1 February: January's plan credits expired first, so the 3
            // used came from them; the other 7 lapse.
            "expiry -7 9 @2026-02-01T00:00",
            "subscription_credit 10 19 @2026-02-01T00:00",
            // 15 February 10:00 in Madrid: the voucher, unused.
            "expiry -4 15 @2026-02-15T10:00",
            "expiry -10 5 @2026-03-01T00:00",
            "subscription_credit 10 15 @2026-03-01T00:00",
            "expiry -10 5 @2026-04-01T00:00",
            "subscription_credit 10 15 @2026-04-01T00:00",
            "usage -1 14 @2026-04-20T10:00",
        ]
    );
    // Exactly once: nothing is due any more, now or a bit later.
    org.noop(Op::ExpireDue, "2026-04-20T08:00:00Z");
    org.noop(Op::ExpireDue, "2026-04-30T21:59:59Z");
    assert_eq!(org.run(Op::ExpireDue, "2026-05-02T00:00:00Z").len(), 2);
    org.verify();
}

#[test]
fn catch_up_by_the_scheduler_alone() {
    // Nothing but the timer's ExpireDue: the renewals still come once each.
    let mut org = Org::new("America/New_York", "2026-01-10T12:00:00Z");
    org.ok(subscribe(plan("10", Rollover::All)), "2026-01-10T12:00:00Z");
    assert_eq!(
        org.run(Op::ExpireDue, "2026-04-02T00:00:00Z"),
        [
            "subscription_credit 10 20 @2026-02-01T00:00",
            "subscription_credit 10 30 @2026-03-01T00:00",
            "subscription_credit 10 40 @2026-04-01T00:00",
        ]
    );
    org.noop(Op::ExpireDue, "2026-04-02T00:00:00Z");
    let s = org.summary("2026-04-02T00:00:00Z");
    assert_eq!((s.plan_credits_left, s.accumulated_credits), (m("10"), m("30")));
    org.verify();
}

// ---------------------------------------------------------------------------
// Holds across expiry and renewal
// ---------------------------------------------------------------------------

#[test]
fn voucher_expiry_with_an_open_hold_on_it() {
    let mut org = Org::new("UTC", "2026-01-10T12:00:00Z");
    org.ok(subscribe(plan("10", Rollover::None)), "2026-01-10T12:00:00Z");
    org.ok(voucher_until("10", ts("2026-01-20T00:00:00Z")), "2026-01-10T12:00:00Z");
    // The voucher expires first, so both holds draw from it.
    let h1 = org.ok(hold("6"), "2026-01-15T00:00:00Z").record.unwrap().id;
    let h2 = org.ok(hold("2"), "2026-01-15T00:00:00Z").record.unwrap().id;
    assert_eq!(org.state.pool_total(Pool::Voucher), m("2"));
    // The timer lapses the unheld 2 at the voucher's expiry; the holds keep
    // their 8 reserved.
    assert_eq!(org.run(Op::ExpireDue, "2026-01-20T00:00:05Z"), ["expiry -2 10 @2026-01-20T00:00"]);
    assert_eq!(org.state.held, m("8"));
    // Debiting a hold on the lapsed voucher still works: it was reserved.
    assert_eq!(
        org.run(Op::Debit { hold_id: h1, amount: None, ctx: EventCtx::default() }, "2026-01-21T00:00:00Z"),
        ["debit -6 10 @2026-01-21T00:00"]
    );
    // Releasing the other gives its credits back to a lapsed block: they
    // expire at once.
    assert_eq!(
        org.run(Op::Release { hold_id: h2, ctx: EventCtx::default() }, "2026-01-21T00:00:00Z"),
        ["release 2 12 @2026-01-21T00:00", "expiry -2 10 @2026-01-21T00:00"]
    );
    assert_eq!(org.state.held, m("0"));
    org.verify();
}

#[test]
fn a_hold_on_plan_credits_across_the_renewal() {
    let mut org = Org::new("UTC", "2026-01-10T12:00:00Z");
    org.ok(subscribe(plan("10", Rollover::None)), "2026-01-10T12:00:00Z");
    let h1 = org.ok(hold("4"), "2026-01-30T00:00:00Z").record.unwrap().id;
    let h2 = org.ok(hold("3"), "2026-01-30T00:00:00Z").record.unwrap().id;
    // Only the unheld 3 lapse at the renewal.
    assert_eq!(
        org.run(Op::ExpireDue, "2026-02-01T00:00:00Z"),
        ["expiry -3 0 @2026-02-01T00:00", "subscription_credit 10 10 @2026-02-01T00:00"]
    );
    assert_eq!(org.state.held, m("7"));
    // A debit after the renewal counts in the new period's usage.
    let o = org.ok(Op::Debit { hold_id: h1, amount: Some(m("1")), ctx: EventCtx::default() }, "2026-02-02T00:00:00Z");
    let shown: Vec<String> = o.events.iter().map(|e| org.show(e)).collect();
    assert_eq!(
        shown,
        ["debit -1 10 @2026-02-02T00:00", "release 3 13 @2026-02-02T00:00", "expiry -3 10 @2026-02-02T00:00"]
    );
    assert_eq!(org.state.period_usage, m("1"));
    assert_eq!(
        org.run(Op::Release { hold_id: h2, ctx: EventCtx::default() }, "2026-02-02T00:00:00Z"),
        ["release 3 13 @2026-02-02T00:00", "expiry -3 10 @2026-02-02T00:00"]
    );
    org.verify();
}

// ---------------------------------------------------------------------------
// Plan changes
// ---------------------------------------------------------------------------

#[test]
fn plan_changes_next_period_or_now() {
    let mut org = Org::new("UTC", "2026-01-10T12:00:00Z");
    org.ok(subscribe(plan("10", Rollover::None)), "2026-01-10T12:00:00Z");
    org.ok(usage("4"), "2026-01-11T00:00:00Z");
    // From the next period: no event now, the state remembers it.
    let mut pro = plan("30", Rollover::All);
    pro.name = "Pro".into();
    let o = org.ok(set_plan(pro.clone(), Some(Effective::NextPeriod), None), "2026-01-12T00:00:00Z");
    assert!(o.events.is_empty());
    assert_eq!(org.state.plans.next_plan.as_ref().map(|p| p.name.as_str()), Some("Pro"));
    assert_eq!(org.summary("2026-01-12T00:00:00Z").next_plan.as_deref(), Some("Pro"));
    // The ending period follows the old plan's policy (none); the new period is Pro's.
    assert_eq!(
        org.run(Op::ExpireDue, "2026-02-01T00:00:00Z"),
        ["expiry -6 0 @2026-02-01T00:00", "subscription_credit 30 30 @2026-02-01T00:00"]
    );
    assert_eq!(org.state.plans.plan.as_ref().unwrap().name, "Pro");
    assert!(org.state.plans.next_plan.is_none());
    // Carried over under Pro's policy.
    assert_eq!(org.run(Op::ExpireDue, "2026-03-01T00:00:00Z"), ["subscription_credit 30 60 @2026-03-01T00:00"]);
    // At once: this period's unused credits make way for the new allocation;
    // accumulated credits stay.
    org.ok(usage("5"), "2026-03-02T00:00:00Z");
    assert_eq!(
        org.run(set_plan(plan("10", Rollover::None), Some(Effective::Now), None), "2026-03-03T00:00:00Z"),
        ["expiry -30 25 @2026-03-03T00:00", "subscription_credit 10 35 @2026-03-03T00:00"]
    );
    let s = org.summary("2026-03-03T00:00:00Z");
    assert_eq!(
        (s.plan.as_deref(), s.plan_credits, s.plan_credits_left, s.accumulated_credits),
        (Some("Growth"), m("10"), m("10"), m("25"))
    );
    // The op's own key goes on its credit, not on the expiry.
    let last = org.events.last().unwrap();
    assert_eq!(last.idempotency_key.as_deref(), Some("key-1"));
    org.verify();
}

#[test]
fn invalid_plans_are_refused_and_change_nothing() {
    let mut org = Org::new("UTC", "2026-01-10T12:00:00Z");
    let at = "2026-01-10T12:00:00Z";
    let bad = [
        Plan { name: " ".into(), ..plan("10", Rollover::None) },
        Plan { currency: "eur".into(), ..plan("10", Rollover::None) },
        Plan { currency: "EURO".into(), ..plan("10", Rollover::None) },
        Plan { price: m("-1"), ..plan("10", Rollover::None) },
        Plan { credits_per_period: m("-10"), ..plan("10", Rollover::None) },
        plan("10", Rollover::UpTo { max_credits: m("-1") }),
        plan("10", Rollover::Periods { periods: 0 }),
        Plan { identities_included: 10_001, ..plan("10", Rollover::None) },
        Plan { conversations_per_identity: 1_000_001, ..plan("10", Rollover::None) },
    ];
    for p in bad {
        assert_eq!(org.err(subscribe(p), at).code(), "validation_error");
    }
    // A plan whose allocation could not be stored is refused too.
    org.ok(grant("9223372036854"), at);
    assert_eq!(org.err(subscribe(plan("1", Rollover::None)), at).code(), "amount_overflow");
    assert!(org.state.plans.plan.is_none());
}

#[test]
fn subscribing_from_the_next_period_grants_nothing_now() {
    let mut org = Org::new("UTC", "2026-01-10T12:00:00Z");
    let o = org.ok(set_plan(plan("10", Rollover::None), Some(Effective::NextPeriod), None), "2026-01-10T12:00:00Z");
    assert!(o.events.is_empty());
    assert_eq!(org.state.next_renewal(), Some(ts("2026-02-01T00:00:00Z")));
    assert_eq!(org.run(Op::ExpireDue, "2026-02-01T00:00:00Z"), ["subscription_credit 10 10 @2026-02-01T00:00"]);
    assert_eq!(org.state.plans.plan.as_ref().unwrap().name, "Growth");
    org.verify();
}

#[test]
fn orgs_without_a_plan_keep_the_old_period_behaviour() {
    let mut org = Org::new("UTC", "2026-01-10T12:00:00Z");
    org.ok(grant("10"), "2026-01-10T12:00:00Z");
    org.ok(usage("1"), "2026-01-10T12:00:00Z");
    assert_eq!(org.state.next_renewal(), None);
    // Nothing is scheduled: no renewal events, ever.
    let a = org.state.apply(&Op::ExpireDue, ts("2026-05-01T00:00:00Z"), None).unwrap();
    assert!(a.outcome.is_none());
    // The period rolls silently on the next op.
    org.ok(usage("1"), "2026-05-01T00:00:00Z");
    assert_eq!(org.state.period_start, Some(ts("2026-05-01T00:00:00Z")));
    assert_eq!(org.state.period_usage, m("1"));
}

// ---------------------------------------------------------------------------
// Conversations
// ---------------------------------------------------------------------------

#[test]
fn the_501st_conversation_is_refused_and_next_month_starts_again() {
    let mut org = Org::new("Europe/Madrid", "2026-03-01T12:00:00Z");
    org.ok(subscribe(Plan { identities_included: 2, ..plan("10", Rollover::None) }), "2026-03-01T12:00:00Z");
    for i in 1..=500u32 {
        let o = org.ok(conv("alice", Some("spring"), None), "2026-03-10T12:00:00Z");
        assert!(o.events.is_empty(), "a conversation is not a credit event");
        let c = o.conversation.unwrap();
        assert_eq!((c.month_count, c.month_limit, c.seq), (i, 500, u64::from(i)));
    }
    let e = org.err(conv("alice", Some("spring"), None), "2026-03-31T21:59:59Z");
    assert_eq!(e.code(), "conversation_limit_reached");
    assert!(e.to_string().contains("2026-03"), "{e}");
    // Another identity still has its own 500; a third is beyond the plan's two.
    org.ok(conv("bob", None, None), "2026-03-31T21:59:59Z");
    assert_eq!(org.err(conv("carol", None, None), "2026-03-31T21:59:59Z").code(), "identity_limit_reached");
    // 1 April 00:00 in Madrid (22:00 UTC the day before): a new month.
    let c = org.ok(conv("alice", None, None), "2026-03-31T22:00:00Z").conversation.unwrap();
    assert_eq!((c.month_count, c.day.to_string()), (1, "2026-04-01".to_string()));
    // A late report of a March conversation counts in March (still full).
    let late = Some(ts("2026-03-20T10:00:00Z"));
    assert_eq!(org.err(conv("alice", None, late), "2026-04-02T00:00:00Z").code(), "conversation_limit_reached");
    let c = org.ok(conv("bob", None, late), "2026-04-02T00:00:00Z").conversation.unwrap();
    assert_eq!((c.month_count, c.day.to_string()), (2, "2026-03-20".to_string()));
    // Two months back is closed; a start in the future is refused.
    assert_eq!(
        org.err(conv("bob", None, Some(ts("2026-02-27T10:00:00Z"))), "2026-04-02T00:00:00Z").code(),
        "validation_error"
    );
    assert_eq!(
        org.err(conv("bob", None, Some(ts("2026-04-02T01:00:00Z"))), "2026-04-02T00:00:00Z").code(),
        "validation_error"
    );
    for bad in ["", "  ", &"x".repeat(201)] {
        assert_eq!(org.err(conv(bad, None, None), "2026-04-02T00:00:00Z").code(), "validation_error");
    }
    assert_eq!(org.summary("2026-04-02T00:00:00Z").identities_used, 1);
    assert_eq!(org.state.plans.conversation_seq, 503);
}

#[test]
fn conversations_without_a_plan_use_the_default_limit() {
    let mut org = Org::new("UTC", "2026-03-01T12:00:00Z");
    for _ in 0..500 {
        org.ok(conv("alice", None, None), "2026-03-10T12:00:00Z");
    }
    assert_eq!(org.err(conv("alice", None, None), "2026-03-10T12:00:00Z").code(), "conversation_limit_reached");
    org.ok(conv("alice", None, None), "2026-04-01T00:00:00Z");
}

// ---------------------------------------------------------------------------
// Summary, forecast and the low-balance alert
// ---------------------------------------------------------------------------

#[test]
fn the_summary_matches_the_plan_tab() {
    // Seed 002: Plan Credits 10.000, Add-on Credits 0, Balance 14.931 + 4931
    // accumulated, Identities 5, Price 449€ / month, Top-up In 1 Day.
    let mut org = Org::new("Europe/Madrid", "2026-02-10T12:00:00Z");
    org.ok(subscribe(plan("10000", Rollover::All)), "2026-02-10T12:00:00Z");
    org.ok(usage("5069"), "2026-02-20T12:00:00Z");
    org.ok(Op::ExpireDue, "2026-03-01T00:00:00Z");
    let s = org.summary("2026-03-31T08:00:00Z");
    assert_eq!(s.plan.as_deref(), Some("Growth"));
    assert_eq!(s.identities, Some(5));
    assert_eq!(s.plan_credits, m("10000"));
    assert_eq!(s.add_on_credits, m("0"));
    assert_eq!(s.accumulated_credits, m("4931"));
    assert_eq!(s.balance, m("14931"));
    assert_eq!(s.credits_left, m("14931"));
    let price = s.price.unwrap();
    assert_eq!((price.amount, price.currency.as_str(), price.per.as_str()), (m("449"), "EUR", "month"));
    assert_eq!(s.top_up_date.unwrap().to_string(), "2026-04-01");
    assert_eq!(s.renews_at, Some(ts("2026-03-31T22:00:00Z")));
    assert_eq!(s.days_until_top_up, Some(1));
    assert_eq!(s.used_this_period, m("0"));
    // Without a plan: no plan, no price, no top-up.
    let bare = Org::new("UTC", "2026-02-10T12:00:00Z").summary("2026-02-10T12:00:00Z");
    assert_eq!((bare.plan, bare.price, bare.top_up_date, bare.days_until_top_up), (None, None, None, None));
}

#[test]
fn the_summary_applies_due_renewals_to_a_copy() {
    let mut org = Org::new("UTC", "2026-01-10T12:00:00Z");
    org.ok(subscribe(plan("10", Rollover::None)), "2026-01-10T12:00:00Z");
    org.ok(usage("4"), "2026-01-11T00:00:00Z");
    let before = org.snapshot();
    let s = org.summary("2026-02-03T00:00:00Z");
    assert_eq!((s.balance, s.used_this_period, s.days_until_top_up), (m("10"), m("0"), Some(26)));
    assert_eq!(s.period_start, Some(ts("2026-02-01T00:00:00Z")));
    assert_eq!(before, org.snapshot(), "the summary changed the state");
}

#[test]
fn burn_rate_forecast() {
    let mut org = Org::new("UTC", "2026-01-01T00:00:00Z");
    org.ok(grant("1000"), "2026-01-01T00:00:00Z");
    let s = org.summary("2026-01-01T00:00:00Z");
    assert_eq!((s.forecast.runs_out_on, s.forecast.before_top_up), (None, false));
    assert_eq!(s.forecast.message, "At the last 28 days' pace credits do not run out");
    // 28 credits a day for 28 days: 784 used, a pace of 28/day, 216 left:
    // 7 whole days (196) from 28 January.
    for day in 1..=28 {
        org.ok(usage("28"), &format!("2026-01-{day:02}T10:00:00Z"));
    }
    let s = org.summary("2026-01-28T12:00:00Z");
    assert_eq!((s.forecast.consumed, s.forecast.daily_pace, s.credits_left), (m("784"), m("28"), m("216")));
    assert_eq!(s.forecast.runs_out_on.unwrap().to_string(), "2026-02-04");
    assert_eq!(s.forecast.message, "At the last 28 days' pace credits run out on 2026-02-04");
    // Days out of the window drop off.
    let s = org.summary("2026-02-10T12:00:00Z");
    // Window 14 Jan … 10 Feb: 15 days × 28 = 420 → pace 15.
    assert_eq!((s.forecast.consumed, s.forecast.daily_pace), (m("420"), m("15")));
    assert_eq!(s.forecast.runs_out_on.unwrap().to_string(), "2026-02-24");
    assert_eq!(org.state.plans.usage_days.len(), 28);
}

#[test]
fn low_balance_is_notified_once_per_crossing() {
    let mut org = Org::new("UTC", "2026-01-01T00:00:00Z");
    org.ok(grant("100"), "2026-01-01T00:00:00Z");
    let set = |t: Option<&str>| Op::Plans(PlanOp::SetLowBalanceThreshold { threshold: t.map(m) });
    assert_eq!(org.err(set(Some("-1")), "2026-01-01T00:00:00Z").code(), "validation_error");
    let o = org.state.apply(&set(Some("50")), ts("2026-01-01T00:00:00Z"), None).unwrap();
    assert!(o.notifications.is_empty() && o.outcome.unwrap().events.is_empty());
    let a = org.state.apply(&usage("40"), ts("2026-01-02T00:00:00Z"), None).unwrap();
    assert!(a.notifications.is_empty());
    // 60 → 45: crossed.
    let a = org.state.apply(&usage("15"), ts("2026-01-03T00:00:00Z"), None).unwrap();
    assert_eq!(a.notifications.len(), 1);
    let n = &a.notifications[0];
    assert_eq!((n.seq, n.threshold, n.balance, n.event_seq), (1, m("50"), m("45"), 3));
    assert_eq!(n.kind.as_str(), "low_balance");
    // Still below: no second notification.
    let a = org.state.apply(&usage("5"), ts("2026-01-04T00:00:00Z"), None).unwrap();
    assert!(a.notifications.is_empty());
    let s = org.state.summary(ts("2026-01-04T00:00:00Z")).unwrap();
    assert_eq!((s.low_balance.below, s.low_balance.since), (true, Some(ts("2026-01-03T00:00:00Z"))));
    // Back above, then below again: a new one.
    org.state.apply(&grant("100"), ts("2026-01-05T00:00:00Z"), None).unwrap();
    assert!(org.state.plans.low_balance_since.is_none());
    let a = org.state.apply(&usage("100"), ts("2026-01-06T00:00:00Z"), None).unwrap();
    assert_eq!(a.notifications.iter().map(|n| n.seq).collect::<Vec<_>>(), [2]);
}

#[test]
fn rollover_json_is_a_flat_object() {
    for (json, want) in [
        (r#"{"policy":"none"}"#, Rollover::None),
        (r#"{"policy":"all"}"#, Rollover::All),
        (r#"{"policy":"up_to","max_credits":4931.5}"#, Rollover::UpTo { max_credits: m("4931.5") }),
        (r#"{"policy":"periods","periods":2}"#, Rollover::Periods { periods: 2 }),
    ] {
        let got: Rollover = serde_json::from_str(json).unwrap();
        assert_eq!(got, want);
        assert_eq!(serde_json::to_string(&got).unwrap(), json);
    }
    for bad in [
        r#"{"policy":"up_to"}"#,
        r#"{"policy":"none","periods":2}"#,
        r#"{"policy":"periods","max_credits":1}"#,
        r#"{"policy":"sometimes"}"#,
        r#"{"policy":"all","extra":1}"#,
        r#"{"policy":"up_to","max_credits":1e3}"#,
    ] {
        assert!(serde_json::from_str::<Rollover>(bad).is_err(), "{bad}");
    }
}

fn patch(p: SettingsPatch) -> Op {
    Op::Access(AccessOp::SetSettings(p))
}

fn buy_more(amount: &str, by: Option<&str>) -> Op {
    Op::Plans(PlanOp::BuyMore { amount: m(amount), requested_by: by.map(str::to_string) })
}

#[test]
fn buy_more_is_a_processing_purchase_of_an_offered_amount() {
    let at = "2026-01-01T00:00:00Z";
    let mut org = Org::new("UTC", at);
    org.ok(grant("10"), at);
    // Nothing offered yet: refused, nothing written.
    assert_eq!(org.err(buy_more("100", Some("olivia@acme.example")), at).code(), "validation_error");
    let offer = SettingsPatch { buy_more_amounts: Some(vec![m("100"), m("500"), m("0.5")]), ..Default::default() };
    org.ok(patch(offer), at);
    assert_eq!(org.state.settings.buy_more_amounts, [m("100"), m("500"), m("0.5")]);
    // An amount not in the choice: refused with the choice named.
    let e = org.err(buy_more("250", Some("olivia@acme.example")), at);
    assert_eq!(e.code(), "validation_error");
    assert!(e.to_string().contains("100, 500, 0.5"), "{e}");
    assert_eq!(org.err(buy_more("100", Some("a\0b")), at).code(), "validation_error");
    assert_eq!(org.err(buy_more("100", Some(&"x".repeat(201))), at).code(), "validation_error");
    // Offered: one processing purchase event, nothing added to the balance.
    let o = org.ok(buy_more("500", Some("olivia@acme.example")), at);
    assert_eq!(o.events.len(), 1);
    let e = &o.events[0];
    assert_eq!((e.kind, e.status, e.amount), (EventKind::Purchase, Status::Processing, m("500")));
    assert_eq!(e.source.as_deref(), Some("buy_more"));
    assert_eq!(e.metadata.as_ref().unwrap()["requested_by"], "olivia@acme.example");
    assert_eq!(e.hold_id.as_deref(), Some("pur_2"));
    assert_eq!(org.state.available(), m("10"));
    let r = o.record.unwrap();
    assert_eq!((r.id.as_str(), r.status), ("pur_2", RecordStatus::Processing));
    // Settled by the backend like any purchase: then the credits arrive.
    let settle =
        Op::SettlePurchase { purchase_id: "pur_2".into(), status: Status::Succeeded, ctx: EventCtx::default() };
    org.ok(settle, at);
    assert_eq!(org.state.available(), m("510"));
    // `[]` stops offering it.
    org.ok(patch(SettingsPatch { buy_more_amounts: Some(vec![]), ..Default::default() }), at);
    assert_eq!(org.err(buy_more("500", None), at).code(), "validation_error");
}

#[test]
fn buy_more_settings_are_checked() {
    let at = "2026-01-01T00:00:00Z";
    let mut org = Org::new("UTC", at);
    let amounts = |v: &[&str]| {
        patch(SettingsPatch { buy_more_amounts: Some(v.iter().map(|a| m(a)).collect()), ..Default::default() })
    };
    for bad in [&["0"][..], &["-5"], &["5", "5"], &["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"]] {
        assert_eq!(org.err(amounts(bad), at).code(), "validation_error", "{bad:?}");
    }
    let template = |t: &str| patch(SettingsPatch { checkout_url_template: Some(t.into()), ..Default::default() });
    for bad in [
        "http://pay.example.com/{purchase_id}?s={signature}",
        "https://pay.example.com/{purchase_id}",
        "https://pay.example.com/{purchase_id}?s={signature}&k={key}",
        "ftp://pay.example.com/{purchase_id}/{signature}",
    ] {
        assert_eq!(org.err(template(bad), at).code(), "validation_error", "{bad}");
    }
    assert_eq!(org.state.settings.checkout_url_template, None);
    let good = "https://pay.example.com/checkout/{purchase_id}?amount={amount}&sig={signature}";
    org.ok(template(good), at);
    assert_eq!(org.state.settings.checkout_url_template.as_deref(), Some(good));
    org.ok(template(""), at);
    assert_eq!(org.state.settings.checkout_url_template, None);
    org.ok(patch(SettingsPatch { self_service_plan_change: Some(true), ..Default::default() }), at);
    assert!(org.state.settings.self_service_plan_change);
    // Settings JSON without the new fields reads as their defaults.
    let json = serde_json::to_value(OrgSettings::new("Acme", "UTC")).unwrap();
    assert!(json.get("buy_more_amounts").is_none() && json.get("self_service_plan_change").is_none());
}
