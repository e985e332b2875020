//! Reversing a purchase (`reversal.rs`): what is taken back, what becomes
//! debt or is written off, how the debt is settled, and every refusal.

use creditd_core::verify::Verifier;
use creditd_core::*;
use jiff::{Timestamp, ToSpan};

const T0: &str = "2026-01-10T12:00:00Z";

fn m(text: &str) -> Micros {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn credit(kind: CreditKind, amount: &str) -> CreditOp {
    CreditOp {
        kind,
        amount: m(amount),
        pool: None,
        expires_at: None,
        code: None,
        status: None,
        ctx: EventCtx::default(),
    }
}

fn purchase(amount: &str) -> Op {
    Op::Credit(credit(CreditKind::Purchase, amount))
}

fn grant(amount: &str) -> Op {
    Op::Credit(credit(CreditKind::Grant, amount))
}

fn usage(amount: &str) -> Op {
    Op::Usage { amount: m(amount), ctx: EventCtx::default() }
}

fn reverse(id: &str, reason: &str) -> Op {
    Op::ReversePurchase { purchase_id: id.into(), reason: reason.into(), ctx: EventCtx::default() }
}

/// An org and its events; after each operation the invariants and a replay
/// of every event are checked, and a refusal must change nothing.
struct Org {
    state: OrgState,
    events: Vec<Event>,
    now: Timestamp,
}

impl Org {
    fn new(policy: ReversalPolicy) -> Org {
        let mut settings = OrgSettings::new("Acme", "UTC");
        settings.reversal_policy = policy;
        let now: Timestamp = T0.parse().unwrap();
        Org { state: OrgState::new("o", settings, now).unwrap(), events: Vec::new(), now }
    }

    fn ok(&mut self, op: Op) -> Outcome {
        let o = self.state.apply(&op, self.now, None).unwrap_or_else(|e| panic!("{op:?}: {e}")).outcome.unwrap();
        self.events.extend(o.events.clone());
        self.state.check_invariants().unwrap();
        self.state.check_open_holds().unwrap();
        let mut v = Verifier::new();
        self.events.iter().for_each(|e| v.push(e));
        let report = v.finish(&self.state);
        assert!(report.ok, "{:?}", report.problems);
        let json = serde_json::to_string(&self.state).unwrap();
        let back: OrgState = serde_json::from_str(&json).unwrap();
        assert_eq!(back.reversal_debt, self.state.reversal_debt, "the debt is stored with the state");
        o
    }

    fn err(&mut self, op: Op) -> ErrorCode {
        let before = (serde_json::to_string(&self.state).unwrap(), self.state.records.clone());
        let e = self.state.apply(&op, self.now, None).expect_err("refused");
        assert_eq!(before, (serde_json::to_string(&self.state).unwrap(), self.state.records.clone()), "{e}");
        e.code()
    }

    fn id(o: &Outcome) -> String {
        o.record.as_ref().unwrap().id.clone()
    }
}

fn meta(e: &Event, key: &str) -> Option<String> {
    e.metadata.as_ref()?.get(key)?.as_str().map(str::to_string)
}

#[test]
fn debt_policy_takes_all_and_owes_the_spent_part() {
    let mut o = Org::new(ReversalPolicy::Debt);
    o.ok(grant("5"));
    let p = Org::id(&o.ok(purchase("10.5")));
    // 5 from the grant (promotional first), 2.25 from the purchase.
    o.ok(usage("7.25"));
    let r = o.ok(reverse(&p, "chargeback"));
    let e = &r.events[0];
    assert_eq!((e.kind, e.amount, e.balance_after), (EventKind::Reversal, m("-10.5"), m("-2.25")));
    assert_eq!((meta(e, "unspent"), meta(e, "debt")), (Some("8.25".into()), Some("2.25".into())));
    assert_eq!(e.description.as_deref(), Some(format!("Purchase {p} reversed: chargeback").as_str()));
    assert_eq!(o.state.reversal_debt, m("2.25"));
    assert!(o.state.blocks.is_empty());
    assert_eq!(r.record.as_ref().unwrap().status, RecordStatus::Reversed);
    // The next credits settle the debt first, exactly.
    let g = o.ok(grant("2"));
    assert_eq!((g.balance.available, g.balance.reversal_debt), (m("-0.25"), m("0.25")));
    assert!(o.state.blocks.is_empty(), "all of it went to the debt");
    let g = o.ok(grant("1"));
    assert_eq!(
        (g.balance.available, g.balance.reversal_debt, g.balance.pools.promotional),
        (m("0.75"), m("0"), m("0.75"))
    );
    assert_eq!(o.err(reverse(&p, "again")), ErrorCode::PurchaseAlreadyReversed);
}

#[test]
fn write_off_policy_takes_only_the_unspent_part() {
    let mut o = Org::new(ReversalPolicy::WriteOff);
    let p = Org::id(&o.ok(purchase("10")));
    let q = Org::id(&o.ok(purchase("4")));
    o.ok(usage("3"));
    let r = o.ok(reverse(&p, "refund"));
    let e = &r.events[0];
    assert_eq!((e.amount, e.balance_after, e.prepaid_balance_after), (m("-7"), m("4"), m("4")));
    assert_eq!((meta(e, "written_off"), meta(e, "debt")), (Some("3".into()), None));
    assert_eq!(o.state.reversal_debt, m("0"));
    // Only its own block: the other purchase's credits are untouched.
    assert_eq!(o.state.blocks.len(), 1);
    assert_eq!(o.state.blocks[0].id, format!("blk_{}", &q[4..]));
}

#[test]
fn settled_purchase_is_reversed_from_the_block_its_settle_created() {
    let mut o = Org::new(ReversalPolicy::Debt);
    let op = Op::Credit(CreditOp { status: Some(Status::Processing), ..credit(CreditKind::Purchase, "6") });
    let p = Org::id(&o.ok(op));
    o.ok(grant("1"));
    let s = o.ok(Op::SettlePurchase { purchase_id: p.clone(), status: Status::Succeeded, ctx: EventCtx::default() });
    let block = s.record.as_ref().unwrap().block_id.clone().unwrap();
    assert_eq!(block, format!("blk_{}", s.events[0].seq));
    let r = o.ok(reverse(&p, "refund"));
    assert_eq!((r.events[0].amount, r.balance.available, r.balance.reversal_debt), (m("-6"), m("1"), m("0")));
}

#[test]
fn credits_coming_back_to_their_block_settle_the_debt() {
    let mut o = Org::new(ReversalPolicy::Debt);
    let p = Org::id(&o.ok(purchase("10")));
    let u = Org::id(&o.ok(usage("4")));
    let h = Org::id(&o.ok(Op::Hold(HoldOp { amount: m("3"), timeout_seconds: None, ctx: EventCtx::default() })));
    let r = o.ok(reverse(&p, "chargeback"));
    assert_eq!((r.balance.available, r.balance.held, r.balance.reversal_debt), (m("-7"), m("3"), m("7")));
    let rel = o.ok(Op::Release { hold_id: h, ctx: EventCtx::default() });
    assert_eq!((rel.balance.available, rel.balance.reversal_debt), (m("-4"), m("4")));
    let back = o.ok(Op::Refund { refers_to: u, amount: None, ctx: EventCtx::default() });
    assert_eq!((back.balance.available, back.balance.reversal_debt), (m("0"), m("0")));
    assert!(o.state.blocks.is_empty(), "the reversed purchase's block does not come back");
    assert_eq!(o.err(usage("0.000001")), ErrorCode::InsufficientCredits);
}

#[test]
fn lapsed_credits_are_not_unspent_and_a_renewal_settles_debt() {
    let mut o = Org::new(ReversalPolicy::Debt);
    let expires = o.now.checked_add(1.hour()).unwrap();
    let op = Op::Credit(CreditOp { expires_at: Some(expires), ..credit(CreditKind::Purchase, "5") });
    let p = Org::id(&o.ok(op));
    o.ok(usage("1"));
    o.now = o.now.checked_add(2.hours()).unwrap();
    let r = o.ok(reverse(&p, "late chargeback"));
    // The 4 left lapse first (their expiry event), then nothing is unspent.
    assert_eq!(kinds(&r.events), vec![EventKind::Expiry, EventKind::Reversal]);
    assert_eq!(meta(&r.events[1], "unspent"), Some("0".into()));
    assert_eq!((r.balance.available, r.balance.reversal_debt), (m("-5"), m("5")));
    let plan = Plan {
        name: "Pro".into(),
        credits_per_period: m("8"),
        identities_included: 1,
        price: m("9"),
        currency: "EUR".into(),
        conversations_per_identity: 500,
        rollover: Rollover::None,
        price_book: None,
    };
    let s = o.ok(Op::Plans(PlanOp::SetPlan { plan, effective: None, renewal_day: None }));
    assert_eq!((s.balance.available, s.balance.reversal_debt, s.balance.pools.plan), (m("3"), m("0"), m("3")));
}

fn kinds(events: &[Event]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind).collect()
}

#[test]
fn refusals_change_nothing() {
    let mut o = Org::new(ReversalPolicy::Debt);
    let pending = Op::Credit(CreditOp { status: Some(Status::Processing), ..credit(CreditKind::Purchase, "6") });
    let pending = Org::id(&o.ok(pending));
    let failed = Op::Credit(CreditOp { status: Some(Status::Processing), ..credit(CreditKind::Purchase, "2") });
    let failed = Org::id(&o.ok(failed));
    o.ok(Op::SettlePurchase { purchase_id: failed.clone(), status: Status::Failed, ctx: EventCtx::default() });
    let p = Org::id(&o.ok(purchase("3")));
    let u = Org::id(&o.ok(usage("1")));
    assert_eq!(o.err(reverse(&pending, "x")), ErrorCode::PurchaseNotReversible);
    assert_eq!(o.err(reverse(&failed, "x")), ErrorCode::PurchaseNotReversible);
    assert_eq!(o.err(reverse("pur_99", "x")), ErrorCode::PurchaseNotFound);
    assert_eq!(o.err(reverse(&u, "x")), ErrorCode::PurchaseNotFound);
    assert_eq!(o.err(reverse(&p, " ")), ErrorCode::ValidationError);
    assert_eq!(o.err(reverse(&p, &"x".repeat(1025))), ErrorCode::ValidationError);
    assert_eq!(o.err(reverse(&p, "a\0b")), ErrorCode::ValidationError);
    let bad_ctx = Op::ReversePurchase {
        purchase_id: p.clone(),
        reason: "x".into(),
        ctx: EventCtx { user_email: Some("nobody".into()), ..EventCtx::default() },
    };
    assert_eq!(o.err(bad_ctx), ErrorCode::ValidationError);
    // Metadata that would pass its bounds only without the reversal's own keys.
    let mut big = serde_json::Map::new();
    for i in 0..255 {
        big.insert(format!("k{i}"), serde_json::Value::Bool(true));
    }
    let crowded = Op::ReversePurchase {
        purchase_id: p.clone(),
        reason: "x".into(),
        ctx: EventCtx { metadata: Some(serde_json::Value::Object(big)), ..EventCtx::default() },
    };
    assert_eq!(o.err(crowded), ErrorCode::ValidationError);
    let msg = o.state.apply(&reverse(&pending, "x"), o.now, None).unwrap_err().to_string();
    assert!(msg.contains("settle it as failed instead"), "{msg}");
    o.ok(reverse(&p, "fine"));
}

#[test]
fn legacy_purchase_without_its_block_takes_from_prepaid_newest_first() {
    let mut o = Org::new(ReversalPolicy::WriteOff);
    o.ok(purchase("4"));
    let p = Org::id(&o.ok(purchase("3")));
    // As stored before purchases recorded their block (or imported).
    o.state.records.get_mut(&p).unwrap().block_id = None;
    let r = o.ok(reverse(&p, "refund"));
    assert_eq!((r.events[0].amount, r.balance.available), (m("-3"), m("4")));
}

#[test]
fn verify_knows_the_reversal() {
    let mut o = Org::new(ReversalPolicy::Debt);
    let p = Org::id(&o.ok(purchase("3")));
    o.ok(reverse(&p, "refund"));
    let mut twice = o.events.clone();
    let mut dup = twice.last().unwrap().clone();
    dup.seq += 1;
    dup.amount = m("0");
    twice.push(dup);
    let mut v = Verifier::new();
    twice.iter().for_each(|e| v.push(e));
    let report = v.finish(&o.state);
    assert!(report.problems.iter().any(|p| p.contains("reversed a second time")), "{:?}", report.problems);
    let mut positive = o.events.clone();
    positive.last_mut().unwrap().amount = m("3");
    positive.last_mut().unwrap().hold_id = None;
    let mut v = Verifier::new();
    positive.iter().for_each(|e| v.push(e));
    let report = v.finish(&o.state);
    assert!(report.problems.iter().any(|p| p.contains("a reversal takes credits")), "{:?}", report.problems);
    assert!(report.problems.iter().any(|p| p.contains("names no purchase")), "{:?}", report.problems);
}

#[test]
fn settle_pays_the_debt_first_and_leaves_the_rest() {
    use creditd_core::effects::settle;
    // (debt, arriving) -> (debt after, left for a block)
    let cases = [
        ("15", "20", "0", "5"),
        ("40", "25", "15", "0"),
        ("0", "7.5", "0", "7.5"),
        ("3", "3", "0", "0"),
        ("0.000001", "1", "0", "0.999999"),
        ("5", "0", "5", "0"),
        ("5", "-2", "5", "-2"),
    ];
    for (debt, arriving, after, left) in cases {
        assert_eq!(settle(m(debt), m(arriving)).unwrap(), (m(after), m(left)), "{debt} owed, {arriving} arriving");
    }
}

/// The replay of the rule over stored events (`effects::debt_after`)
/// agrees with the live state after every event of a history with debt
/// settled by a grant, a release and a purchase, under both policies.
#[test]
fn replayed_debt_follows_the_live_debt() {
    for policy in [ReversalPolicy::Debt, ReversalPolicy::WriteOff] {
        let mut o = Org::new(policy);
        let p = Org::id(&o.ok(purchase("30")));
        o.ok(usage("12"));
        let h = Org::id(&o.ok(Op::Hold(HoldOp { amount: m("8"), timeout_seconds: None, ctx: EventCtx::default() })));
        let mut debts = Vec::new();
        let mut step = |o: &mut Org, op: Op| {
            o.ok(op);
            debts.push(o.state.reversal_debt);
        };
        step(&mut o, reverse(&p, "chargeback"));
        step(&mut o, Op::Release { hold_id: h, ctx: EventCtx::default() });
        step(&mut o, grant("5"));
        step(&mut o, purchase("9"));
        let mut replayed = Micros::ZERO;
        let mut after = Vec::new();
        for e in &o.events {
            replayed = creditd_core::effects::debt_after(replayed, e);
            if e.seq > 3 {
                after.push(replayed);
            }
        }
        assert_eq!(after, debts, "{policy:?}");
        if policy == ReversalPolicy::Debt {
            assert_eq!(debts, vec![m("20"), m("12"), m("7"), Micros::ZERO]);
        }
    }
}

/// `verify` compares the free pools of the last event with the stored
/// ones, and checks every event's pools hold at least its available plus
/// the debt the events leave.
#[test]
fn verify_checks_the_pool_columns() {
    let mut o = Org::new(ReversalPolicy::Debt);
    o.ok(grant("65"));
    let p = Org::id(&o.ok(purchase("50")));
    o.ok(usage("80"));
    o.ok(reverse(&p, "cb"));
    o.ok(grant("20"));
    o.ok(usage("5"));
    o.ok(Op::Credit(credit(CreditKind::SubscriptionCredit, "500")));
    let last = o.events.last().unwrap().pools_after.unwrap();
    assert_eq!((last.plan, last.promotional), (m("500"), Micros::ZERO));
    let verify = |events: &[Event], state: &OrgState| {
        let mut v = Verifier::new();
        events.iter().for_each(|e| v.push(e));
        v.finish(state)
    };
    assert!(verify(&o.events, &o.state).ok);
    // A state rebuilt with the pools an old import gave: reported.
    let mut wrong = o.state.clone();
    wrong.blocks = vec![
        Block { id: "a".into(), pool: Pool::Plan, remaining: m("485"), expires_at: None, rollovers: 0 },
        Block { id: "b".into(), pool: Pool::Promotional, remaining: m("15"), expires_at: None, rollovers: 0 },
    ];
    let r = verify(&o.events, &wrong);
    assert!(!r.ok && r.problems.iter().any(|p| p.contains("stored pools")), "{:?}", r.problems);
    // A row whose pools hold less than its available and the debt.
    let mut events = o.events.clone();
    let i = events.iter().position(|e| e.kind == EventKind::Grant && e.amount == m("20")).unwrap();
    events[i].pools_after = Some(FreePools { promotional: m("4.999999"), ..events[i].pools_after.unwrap() });
    let r = verify(&events, &o.state);
    assert!(!r.ok && r.problems.iter().any(|p| p.starts_with(&format!("event {} (grant)", i + 1))), "{:?}", r.problems);
    // Events without pool columns (written before they existed): not checked.
    let old: Vec<Event> = o.events.iter().cloned().map(|e| Event { pools_after: None, ..e }).collect();
    assert!(verify(&old, &wrong).ok);
}
