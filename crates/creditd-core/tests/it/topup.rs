//! Auto top-up (`topup.rs`) and usage alerts (`alerts.rs`): when a top-up
//! is requested and for how much, the per-period cap, failures and the
//! pause, every refusal; when an alert fires, once per period per
//! crossing.

use creditd_core::effects::NotificationKind;
use creditd_core::verify::Verifier;
use creditd_core::*;
use jiff::Timestamp;

const T0: &str = "2026-01-10T12:00:00Z";

fn m(text: &str) -> Micros {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
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

fn purchase(amount: &str) -> Op {
    Op::Credit(CreditOp {
        kind: CreditKind::Purchase,
        amount: m(amount),
        pool: None,
        expires_at: None,
        code: None,
        status: None,
        ctx: EventCtx::default(),
    })
}

fn usage(amount: &str) -> Op {
    Op::Usage { amount: m(amount), ctx: EventCtx::default() }
}

fn settle(id: &str, status: Status) -> Op {
    Op::SettlePurchase { purchase_id: id.into(), status, ctx: EventCtx::default() }
}

fn rule(threshold: &str, amount: Option<&str>, target: Option<&str>) -> AutoTopUpRule {
    AutoTopUpRule {
        threshold: m(threshold),
        amount: amount.map(m),
        target_balance: target.map(m),
        max_per_period: None,
        pool: Pool::Prepaid,
        pause_after_failures: 3,
        enabled: true,
    }
}

fn set(r: AutoTopUpRule) -> Op {
    Op::Plans(PlanOp::SetAutoTopUp(r))
}

fn alerts(levels: Vec<AlertLevel>) -> Op {
    Op::Plans(PlanOp::SetAlerts(levels))
}

fn plan(credits: &str) -> Op {
    Op::Plans(PlanOp::SetPlan {
        plan: Plan {
            name: "Growth".into(),
            credits_per_period: m(credits),
            identities_included: 1,
            price: m("49"),
            currency: "EUR".into(),
            conversations_per_identity: 500,
            rollover: Rollover::None,
            price_book: None,
        },
        effective: None,
        renewal_day: None,
    })
}

/// An org, its events and notifications; after each operation the
/// invariants, a replay of the events and a JSON round trip of the state
/// are checked, and a refusal must change nothing.
struct Org {
    state: OrgState,
    events: Vec<Event>,
    notes: Vec<Notification>,
    now: Timestamp,
}

impl Org {
    fn new() -> Org {
        let now: Timestamp = T0.parse().unwrap();
        let state = OrgState::new("o", OrgSettings::new("Acme", "UTC"), now).unwrap();
        Org { state, events: Vec::new(), notes: Vec::new(), now }
    }

    fn ok(&mut self, op: Op) -> Applied {
        let a = self.state.apply(&op, self.now, None).unwrap_or_else(|e| panic!("{op:?}: {e}"));
        if let Some(o) = &a.outcome {
            self.events.extend(o.events.clone());
        }
        self.notes.extend(a.notifications.clone());
        self.state.check_invariants().unwrap();
        let mut v = Verifier::new();
        self.events.iter().for_each(|e| v.push(e));
        let report = v.finish(&self.state);
        assert!(report.ok, "{:?}", report.problems);
        let json = serde_json::to_string(&self.state).unwrap();
        let mut back: OrgState = serde_json::from_str(&json).unwrap();
        back.records = self.state.records.clone();
        assert_eq!(back, self.state, "the state round-trips through its JSON");
        a
    }

    fn err(&mut self, op: Op) -> ErrorCode {
        let before = serde_json::to_string(&self.state).unwrap();
        let e = self.state.apply(&op, self.now, None).expect_err("refused");
        assert_eq!(before, serde_json::to_string(&self.state).unwrap(), "{e}");
        e.code()
    }

    fn top_ups(&self) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|e| e.kind == EventKind::Purchase && e.status == Status::Processing)
            .filter(|e| e.source.as_deref() == Some("auto_top_up"))
            .collect()
    }

    fn pending(&self) -> Option<String> {
        self.state.auto_top_up.pending.as_ref().map(|p| p.purchase_id.clone())
    }

    fn kinds(&self, kind: NotificationKind) -> Vec<&Notification> {
        self.notes.iter().filter(|n| n.kind == kind).collect()
    }
}

#[test]
fn top_up_is_requested_in_the_operation_that_crosses_once() {
    let mut o = Org::new();
    o.ok(grant("100"));
    let a = o.ok(set(rule("50", Some("200"), None)));
    assert!(a.notifications.is_empty(), "above the threshold: nothing yet");
    let a = o.ok(usage("60"));
    let events = &a.outcome.as_ref().unwrap().events;
    assert_eq!(events.iter().map(|e| e.kind).collect::<Vec<_>>(), vec![EventKind::Usage, EventKind::Purchase]);
    let p = &events[1];
    assert_eq!(
        (p.amount, p.status, p.pool, p.balance_after),
        (m("200"), Status::Processing, Some(Pool::Prepaid), m("40"))
    );
    let id = p.hold_id.clone().unwrap();
    assert_eq!(o.state.records[&id].status, RecordStatus::Processing);
    assert_eq!(a.notifications.len(), 1);
    let n = &a.notifications[0];
    assert_eq!(
        (n.kind, n.purchase_id.as_deref(), n.amount, n.threshold, n.balance, n.event_seq),
        (NotificationKind::TopUpRequested, Some(id.as_str()), Some(m("200")), m("50"), m("40"), p.seq)
    );
    // Still below, one pending: nothing more.
    o.ok(usage("10"));
    o.ok(usage("10"));
    assert_eq!(o.top_ups().len(), 1);
    let v = o.state.auto_top_up_view(o.now);
    assert_eq!((v.status.as_str(), v.count_this_period, v.credits_this_period), ("active", 1, m("200")));
    assert_eq!(v.pending.as_ref().map(|p| p.purchase_id.clone()), Some(id.clone()));
    // Settled: the credits arrive, nothing pending.
    let s = o.ok(settle(&id, Status::Succeeded));
    assert_eq!(s.outcome.unwrap().balance.available, m("220"));
    assert_eq!(o.pending(), None);
    // The next crossing requests the next top-up.
    o.ok(usage("200"));
    assert_eq!(o.top_ups().len(), 2);
}

#[test]
fn target_balance_buys_the_exact_difference() {
    let mut o = Org::new();
    o.ok(grant("100"));
    o.ok(set(rule("50", None, Some("500"))));
    o.ok(usage("50.500001"));
    let t = o.top_ups();
    assert_eq!((t.len(), t[0].amount), (1, m("450.500001")), "500 − 49.499999, to the micro-credit");
    // Already below when the rule is set: requested by the PUT itself.
    let mut o = Org::new();
    o.ok(grant("1"));
    let a = o.ok(set(rule("10", None, Some("10.000001"))));
    assert_eq!(o.top_ups()[0].amount, m("9.000001"));
    assert_eq!(a.outcome.unwrap().events.len(), 1);
}

#[test]
fn the_period_cap_is_never_exceeded() {
    let mut o = Org::new();
    let mut r = rule("1000", Some("100"), None);
    r.max_per_period = Some(TopUpCap { count: Some(5), credits: Some(m("250")) });
    o.ok(set(r));
    // Always below the threshold: every settle is followed by a request
    // until the credits cap is used up; the third is cut to what is left.
    for _ in 0..6 {
        if let Some(p) = o.pending() {
            o.ok(settle(&p, Status::Succeeded));
        }
    }
    let amounts: Vec<Micros> = o.top_ups().iter().map(|e| e.amount).collect();
    assert_eq!(amounts, vec![m("100"), m("100"), m("50")]);
    let v = o.state.auto_top_up_view(o.now);
    assert_eq!((v.count_this_period, v.credits_this_period), (3, m("250")));
    // A new period starts the counts again.
    o.now = "2026-02-01T00:00:01Z".parse().unwrap();
    o.ok(usage("1"));
    assert_eq!(o.top_ups().len(), 4);
    // The count cap alone.
    let mut o = Org::new();
    let mut r = rule("1000", Some("1"), None);
    r.max_per_period = Some(TopUpCap { count: Some(2), credits: None });
    o.ok(set(r));
    for _ in 0..4 {
        if let Some(p) = o.pending() {
            o.ok(settle(&p, Status::Succeeded));
        }
        o.ok(grant("1"));
    }
    assert_eq!(o.top_ups().len(), 2);
}

#[test]
fn failures_pause_and_a_success_or_the_rule_resumes() {
    let mut o = Org::new();
    o.ok(grant("10"));
    let mut r = rule("50", Some("100"), None);
    r.max_per_period = Some(TopUpCap { count: Some(10), credits: None });
    o.ok(set(r.clone()));
    for i in 1..=3 {
        let p = o.pending().expect("a pending top-up");
        let a = o.ok(settle(&p, Status::Failed));
        // The failing settle requests nothing itself.
        assert_eq!(o.pending(), None);
        assert_eq!(o.state.auto_top_up.consecutive_failures, i);
        if i < 3 {
            assert!(a.notifications.is_empty());
            o.ok(usage("1"));
        } else {
            assert_eq!(a.notifications[0].kind, NotificationKind::TopUpPaused);
            assert_eq!(a.notifications[0].purchase_id.as_deref(), Some(p.as_str()));
        }
    }
    let v = o.state.auto_top_up_view(o.now);
    assert_eq!(v.status, "paused");
    assert!(v.paused.as_ref().unwrap().reason.starts_with("3 top-ups failed in a row (the last: "), "{:?}", v.paused);
    assert_eq!(v.count_this_period, 0, "failed top-ups give their count back");
    assert_eq!(o.state.summary(o.now).unwrap().auto_top_up.status, "paused");
    // Paused: below the threshold, nothing is requested.
    o.ok(usage("1"));
    assert_eq!((o.pending(), o.top_ups().len()), (None, 3));
    // A purchase that succeeds resumes it; the next crossing requests.
    o.ok(purchase("1"));
    assert_eq!(o.state.auto_top_up_view(o.now).status, "active");
    assert!(o.pending().is_some(), "the purchase left available below: requested at once");
    let p = o.pending().unwrap();
    o.ok(settle(&p, Status::Failed));
    assert_eq!(o.state.auto_top_up.consecutive_failures, 1);
    // Setting the rule again resumes too (and forgets the failures).
    let op = settle_all_failing(&mut o, 2);
    o.ok(op);
    assert_eq!(o.state.auto_top_up_view(o.now).status, "paused");
    o.ok(set(r));
    assert_eq!(o.state.auto_top_up.consecutive_failures, 0);
    assert!(o.pending().is_some());
    assert_eq!(o.kinds(NotificationKind::TopUpPaused).len(), 2);
}

/// Fails `n` more top-ups (each requested by a usage of 1), returning the
/// last operation to apply (a grant of nothing would be refused, so a
/// usage).
fn settle_all_failing(o: &mut Org, n: u32) -> Op {
    for _ in 0..n {
        if o.pending().is_none() {
            o.ok(usage("0.1"));
        }
        let p = o.pending().unwrap();
        o.ok(settle(&p, Status::Failed));
    }
    usage("0.1")
}

#[test]
fn disabled_rule_requests_nothing() {
    let mut o = Org::new();
    let mut r = rule("50", Some("100"), None);
    r.enabled = false;
    o.ok(grant("10"));
    o.ok(set(r));
    o.ok(usage("1"));
    assert!(o.top_ups().is_empty());
    assert_eq!(o.state.auto_top_up_view(o.now).status, "disabled");
}

#[test]
fn bad_rules_are_refused_and_change_nothing() {
    let mut o = Org::new();
    o.ok(grant("10"));
    let bad = |f: &dyn Fn(&mut AutoTopUpRule)| {
        let mut r = rule("50", Some("100"), None);
        f(&mut r);
        set(r)
    };
    let cases: Vec<(Op, &str)> = vec![
        (bad(&|r| r.amount = Some(m("0"))), "amount 0"),
        (bad(&|r| r.amount = Some(m("-1"))), "amount −1"),
        (bad(&|r| r.target_balance = Some(m("500"))), "both"),
        (bad(&|r| r.amount = None), "neither"),
        (
            bad(&|r| {
                r.amount = None;
                r.target_balance = Some(m("50"))
            }),
            "threshold = target",
        ),
        (
            bad(&|r| {
                r.amount = None;
                r.target_balance = Some(m("40"))
            }),
            "threshold > target",
        ),
        (bad(&|r| r.threshold = m("-1")), "negative threshold"),
        (bad(&|r| r.max_per_period = Some(TopUpCap { count: Some(0), credits: None })), "count cap 0"),
        (bad(&|r| r.max_per_period = Some(TopUpCap { count: None, credits: Some(m("0")) })), "credits cap 0"),
        (bad(&|r| r.max_per_period = Some(TopUpCap::default())), "empty cap"),
        (bad(&|r| r.pool = Pool::Promotional), "pool"),
        (bad(&|r| r.pause_after_failures = 0), "pause 0"),
        (bad(&|r| r.pause_after_failures = 101), "pause 101"),
    ];
    for (op, what) in cases {
        assert_eq!(o.err(op), ErrorCode::ValidationError, "{what}");
    }
    assert!(o.state.auto_top_up.is_empty());
    for levels in [
        vec![AlertLevel::PercentUsed(0)],
        vec![AlertLevel::PercentUsed(1001)],
        vec![AlertLevel::AvailableBelow(m("-1"))],
        vec![AlertLevel::PercentUsed(80), AlertLevel::PercentUsed(80)],
        (1..=21).map(AlertLevel::PercentUsed).collect(),
    ] {
        assert_eq!(o.err(alerts(levels)), ErrorCode::ValidationError);
    }
}

#[test]
fn rule_and_levels_read_from_json_exactly() {
    let r: AutoTopUpRule =
        serde_json::from_str(r#"{"threshold": "10.5", "amount": 25, "max_per_period": {"count": 2}}"#).unwrap();
    assert_eq!(
        (r.threshold, r.amount, r.pool, r.pause_after_failures, r.enabled),
        (m("10.5"), Some(m("25")), Pool::Prepaid, 3, true)
    );
    assert!(serde_json::from_str::<AutoTopUpRule>(r#"{"threshold": 1, "amount": "0.0000001"}"#).is_err(), "7 decimals");
    assert!(serde_json::from_str::<AutoTopUpRule>(r#"{"threshold": 1, "amount": 1, "colour": 1}"#).is_err());
    let l: Vec<AlertLevel> = serde_json::from_str(r#"[{"percent_used": 80}, {"available_below": "2.5"}]"#).unwrap();
    assert_eq!(l, vec![AlertLevel::PercentUsed(80), AlertLevel::AvailableBelow(m("2.5"))]);
    assert_eq!(serde_json::to_string(&l).unwrap(), r#"[{"percent_used":80},{"available_below":2.5}]"#);
    assert!(serde_json::from_str::<AlertLevel>(r#"{"percent_used": 80, "available_below": 1}"#).is_err());
    assert!(serde_json::from_str::<AlertLevel>(r#"{}"#).is_err());
}

#[test]
fn percent_levels_round_the_usage_up_to_the_micro_credit() {
    assert_eq!(alerts::percent_of(m("100"), 80).unwrap(), m("80"));
    assert_eq!(alerts::percent_of(m("0.000003"), 50).unwrap(), m("0.000002"), "1.5 micro-credits rounds up");
    assert_eq!(alerts::percent_of(m("0.000001"), 1).unwrap(), m("0.000001"));
}

#[test]
fn alerts_fire_once_per_period_per_crossing() {
    let mut o = Org::new();
    o.ok(plan("100"));
    o.ok(alerts(vec![AlertLevel::PercentUsed(50), AlertLevel::PercentUsed(80), AlertLevel::AvailableBelow(m("10"))]));
    o.ok(usage("49.999999"));
    assert!(o.kinds(NotificationKind::UsageAlert).is_empty());
    let a = o.ok(usage("0.000001"));
    assert_eq!(a.notifications.len(), 1, "50% exactly");
    let n = &a.notifications[0];
    assert_eq!(
        (n.level.clone(), n.threshold, n.period_usage, n.allocation, n.balance),
        (Some(AlertLevel::PercentUsed(50)), m("50"), Some(m("50")), Some(m("100")), m("50"))
    );
    // One operation across two levels fires both, once each.
    let a = o.ok(usage("45"));
    let levels: Vec<_> = a.notifications.iter().map(|n| n.level.clone().unwrap()).collect();
    assert_eq!(levels, vec![AlertLevel::PercentUsed(80), AlertLevel::AvailableBelow(m("10"))]);
    o.ok(usage("1"));
    assert_eq!(o.kinds(NotificationKind::UsageAlert).len(), 3);
    let v = o.state.alerts_view(o.now);
    assert!(v.levels.iter().all(|l| l.fired));
    // Recovering re-arms: a refund of the 45 (usage back to 51 %, 49
    // available), then crossing 80 % again.
    let id = o.events.iter().find(|e| e.kind == EventKind::Usage && e.amount == m("-45")).unwrap();
    let id = id.hold_id.clone().unwrap();
    o.ok(Op::Refund { refers_to: id, amount: None, ctx: EventCtx::default() });
    o.ok(usage("30"));
    let n = o.kinds(NotificationKind::UsageAlert);
    assert_eq!(n.len(), 4);
    assert_eq!(n[3].level, Some(AlertLevel::PercentUsed(80)));
    // A new period re-arms every level: usage restarts (percent levels are
    // clear), available is back to 100 (so is the amount level).
    o.now = "2026-02-01T00:00:01Z".parse().unwrap();
    o.ok(usage("95"));
    let n = o.kinds(NotificationKind::UsageAlert);
    assert_eq!(n.len(), 7, "{n:?}");
}

#[test]
fn a_level_still_crossed_fires_again_in_a_new_period() {
    let mut o = Org::new();
    o.ok(grant("5"));
    o.ok(alerts(vec![AlertLevel::AvailableBelow(m("1000"))]));
    assert_eq!(o.kinds(NotificationKind::UsageAlert).len(), 1, "already crossed when set");
    o.ok(usage("1"));
    assert_eq!(o.kinds(NotificationKind::UsageAlert).len(), 1);
    o.now = "2026-02-19T12:00:00Z".parse().unwrap();
    o.ok(usage("1"));
    assert_eq!(o.kinds(NotificationKind::UsageAlert).len(), 2);
    assert!(o.state.alerts_view(o.now).levels[0].fired);
}

#[test]
fn low_balance_threshold_is_listed_with_the_levels_and_keeps_its_notification() {
    let mut o = Org::new();
    o.ok(grant("20"));
    o.ok(Op::Plans(PlanOp::SetLowBalanceThreshold { threshold: Some(m("10")) }));
    o.ok(alerts(vec![AlertLevel::AvailableBelow(m("15"))]));
    o.ok(usage("12"));
    let kinds: Vec<_> = o.notes.iter().map(|n| n.kind).collect();
    assert_eq!(kinds, vec![NotificationKind::LowBalance, NotificationKind::UsageAlert]);
    let v = o.state.alerts_view(o.now);
    let hooks: Vec<(&str, bool)> = v.levels.iter().map(|l| (l.webhook.as_str(), l.fired)).collect();
    assert_eq!(hooks, vec![("usage_alert", true), ("low_balance", true)]);
    assert_eq!(v.levels[1].level, AlertLevel::AvailableBelow(m("10")));
}
