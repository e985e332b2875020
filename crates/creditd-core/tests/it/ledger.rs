//! The test suite of the ledger core: every event kind, consumption order,
//! holds, refunds, expiry, overdraft, invalid input, amounts, periods, and a
//! property test that runs random operation sequences against an independent
//! model of the ledger.

use std::collections::HashMap;

use creditd_core::ledger::{DEFAULT_HOLD_TIMEOUT_SECONDS, MAX_HOLD_TIMEOUT_SECONDS, MAX_TEXT_LEN, period_bounds};
use creditd_core::money::SCALE;
use creditd_core::verify::Verifier;
use creditd_core::*;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const T0: &str = "2026-01-10T12:00:00Z";
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn at(secs: i64) -> Timestamp {
    ts(T0).checked_add(secs.seconds()).unwrap()
}

fn m(text: &str) -> Micros {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn ctx() -> EventCtx {
    EventCtx::default()
}

fn credit(kind: CreditKind, amount: &str) -> CreditOp {
    CreditOp { kind, amount: m(amount), pool: None, expires_at: None, code: None, status: None, ctx: ctx() }
}

fn grant(amount: &str) -> Op {
    Op::Credit(credit(CreditKind::Grant, amount))
}

fn grant_until(amount: &str, expires_at: Timestamp) -> Op {
    Op::Credit(CreditOp { expires_at: Some(expires_at), ..credit(CreditKind::Grant, amount) })
}

fn grant_to(pool: Pool, amount: &str, expires_at: Option<Timestamp>) -> Op {
    Op::Credit(CreditOp { pool: Some(pool), expires_at, ..credit(CreditKind::Grant, amount) })
}

fn subscription(amount: &str) -> Op {
    Op::Credit(credit(CreditKind::SubscriptionCredit, amount))
}

fn voucher(amount: &str, code: Option<&str>) -> Op {
    Op::Credit(CreditOp { code: code.map(str::to_string), ..credit(CreditKind::Voucher, amount) })
}

fn purchase(amount: &str, status: Option<Status>) -> Op {
    Op::Credit(CreditOp { status, ..credit(CreditKind::Purchase, amount) })
}

fn settle(id: &str, status: Status) -> Op {
    Op::SettlePurchase { purchase_id: id.into(), status, ctx: ctx() }
}

fn hold(amount: &str) -> Op {
    Op::Hold(HoldOp { amount: m(amount), timeout_seconds: None, ctx: ctx() })
}

fn hold_for(amount: &str, timeout: u64) -> Op {
    Op::Hold(HoldOp { amount: m(amount), timeout_seconds: Some(timeout), ctx: ctx() })
}

fn debit(id: &str, amount: Option<&str>) -> Op {
    Op::Debit { hold_id: id.into(), amount: amount.map(m), ctx: ctx() }
}

fn release(id: &str) -> Op {
    Op::Release { hold_id: id.into(), ctx: ctx() }
}

fn timeout(id: &str) -> Op {
    Op::TimeoutHold { hold_id: id.into() }
}

fn usage(amount: &str) -> Op {
    Op::Usage { amount: m(amount), ctx: ctx() }
}

fn refund(id: &str, amount: Option<&str>) -> Op {
    Op::Refund { refers_to: id.into(), amount: amount.map(m), ctx: ctx() }
}

fn adjust(amount: &str, reason: &str) -> Op {
    Op::Adjustment { amount: m(amount), reason: reason.into(), pool: None, expires_at: None, ctx: ctx() }
}

fn billing(amount: &str) -> Op {
    Op::Billing { amount: m(amount), ctx: ctx() }
}

type Snapshot = (String, Vec<(String, Record)>);

/// One organisation's ledger plus every event it produced, checking after
/// each operation what must always hold.
struct Harness {
    state: OrgState,
    events: Vec<Event>,
    now: Timestamp,
}

impl Harness {
    fn new() -> Self {
        Self::with(|_| {})
    }

    fn with(f: impl FnOnce(&mut OrgSettings)) -> Self {
        let mut settings = OrgSettings::new("Acme", "UTC");
        f(&mut settings);
        Self::from_settings(settings, ts(T0))
    }

    fn from_settings(settings: OrgSettings, now: Timestamp) -> Self {
        Harness { state: OrgState::new("org_1", settings, now).unwrap(), events: Vec::new(), now }
    }

    fn wait(&mut self, secs: i64) {
        self.now = self.now.checked_add(secs.seconds()).unwrap();
    }

    fn snapshot(&self) -> Snapshot {
        let mut records: Vec<(String, Record)> =
            self.state.records.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        records.sort_by(|a, b| a.0.cmp(&b.0));
        (serde_json::to_string(&self.state).unwrap(), records)
    }

    /// Applies `op` at the harness clock.
    fn apply(&mut self, op: &Op) -> Result<Option<Outcome>, LedgerError> {
        let now = self.now;
        self.apply_at(op, now)
    }

    fn apply_at(&mut self, op: &Op, now: Timestamp) -> Result<Option<Outcome>, LedgerError> {
        let before = self.snapshot();
        let last_at = self.state.last_at;
        let prev_hash = self.state.last_hash;
        let result = self.state.apply(op, now, Some("idem-1"));
        let applied = match result {
            Err(e) => {
                assert_eq!(before, self.snapshot(), "{op:?} was refused ({e}) but changed the state");
                return Err(e);
            }
            Ok(a) => a,
        };
        let Some(outcome) = applied.outcome else {
            assert!(applied.touched_records.is_empty(), "a no-op touched records");
            assert_eq!(before.1, self.snapshot().1, "a no-op changed records");
            assert_eq!(self.state.seq, self.events.len() as u64);
            return Ok(None);
        };
        assert!(!outcome.events.is_empty());
        assert_eq!(applied.hashes, chain::hash_all(&prev_hash, &outcome.events), "each event's chain hash");
        assert_eq!(applied.hashes.last(), Some(&self.state.last_hash));
        let expected_at = match last_at {
            Some(last) if last > now => last,
            _ => now,
        };
        let mut prev_at = self.events.last().map(|e| e.created_at);
        for e in &outcome.events {
            assert_eq!(e.seq, self.events.len() as u64 + 1, "seq must follow the previous event");
            assert_eq!(e.id, Event::id_for(e.seq));
            assert_eq!(e.org_id, "org_1");
            assert_eq!(e.created_at, expected_at, "event time is the operation's time, never earlier than the last");
            if let Some(p) = prev_at {
                assert!(e.created_at >= p, "created_at went backwards");
            }
            prev_at = Some(e.created_at);
            assert!(!e.held_after.is_negative(), "held went negative: {e:?}");
            assert!(e.balance_after >= self.state.settings.overdraft_limit.checked_neg().unwrap(), "overdraft: {e:?}");
            self.events.push(e.clone());
        }
        let keyed: Vec<&Event> = outcome.events.iter().filter(|e| e.idempotency_key.is_some()).collect();
        if outcome.events.iter().any(|e| e.kind != EventKind::Expiry) {
            assert_eq!(keyed.len(), 1, "the op's own first event carries the idempotency key");
            assert_ne!(keyed[0].kind, EventKind::Expiry);
            assert_eq!(keyed[0].idempotency_key.as_deref(), Some("idem-1"));
        } else {
            assert!(keyed.is_empty());
        }
        let last = outcome.events.last().unwrap();
        assert_eq!(last.balance_after, self.state.available());
        assert_eq!(last.held_after, self.state.held);
        assert_eq!(last.prepaid_balance_after, self.state.pool_total(Pool::Prepaid));
        assert_eq!(last.period_usage_after, self.state.period_usage);
        assert_eq!(outcome.balance, self.state.balance());
        assert_eq!(self.state.seq, last.seq);
        assert_eq!(self.state.last_at, Some(last.created_at));
        for id in &applied.touched_records {
            assert!(self.state.records.contains_key(id), "touched record {id} is not loaded");
        }
        if let Some(r) = &outcome.record {
            assert_eq!(Some(r), self.state.records.get(&r.id));
            assert!(applied.touched_records.contains(&r.id));
        }
        self.state.check_invariants().unwrap();
        self.state.check_open_holds().unwrap();
        // The engines store outcomes (idempotent replays) and states as JSON.
        let json = serde_json::to_string(&outcome).unwrap();
        assert_eq!(serde_json::from_str::<Outcome>(&json).unwrap(), outcome, "outcome JSON round trip");
        let mut without_records = self.state.clone();
        without_records.records.clear();
        let json = serde_json::to_string(&self.state).unwrap();
        assert_eq!(serde_json::from_str::<OrgState>(&json).unwrap(), without_records, "state JSON round trip");
        Ok(Some(outcome))
    }

    fn ok(&mut self, op: Op) -> Outcome {
        match self.apply(&op) {
            Ok(Some(o)) => o,
            Ok(None) => panic!("{op:?} did nothing"),
            Err(e) => panic!("{op:?} was refused: {e}"),
        }
    }

    fn err(&mut self, op: Op) -> LedgerError {
        match self.apply(&op) {
            Ok(o) => panic!("{op:?} should be refused, got {o:?}"),
            Err(e) => e,
        }
    }

    fn verify(&self) {
        let mut v = Verifier::new();
        for (e, h) in self.events.iter().zip(chain::hash_all(&ChainHash::GENESIS, &self.events)) {
            v.push_chained(e, Some(&h.to_string()));
        }
        let report = v.finish(&self.state);
        assert!(report.ok, "verifier: {:?}", report.problems);
        assert!(report.broken_link.is_none());
        assert_eq!(report.chain_checked, !self.events.is_empty());
        assert_eq!(report.events, self.events.len() as u64);
    }

    fn pools(&self) -> PoolBalances {
        self.state.balance().pools
    }
}

/// A table-driven scenario: each step waits `secs`, applies the op and
/// compares with the expectation:
/// - `"noop"`: accepted, no events;
/// - `"err:<code>"`: refused with that [`LedgerError::code`];
/// - events separated by `;`, each `kind amount balance_after held_after`
///   then optional `key=value` checks: `pool` (`-` for none), `status`,
///   `prepaid` (prepaid_balance_after), `usage` (period_usage_after),
///   `source`, `hold` (hold_id), `code`.
fn check(steps: &[(i64, Op, &str)]) -> Harness {
    check_with(Harness::new(), steps)
}

fn check_with(mut h: Harness, steps: &[(i64, Op, &str)]) -> Harness {
    for (i, (wait, op, expected)) in steps.iter().enumerate() {
        h.wait(*wait);
        let got = h.apply(op);
        let what = format!("step {i}: {op:?}");
        match (*expected, got) {
            ("noop", Ok(None)) => {}
            (exp, Err(e)) if exp.starts_with("err:") => assert_eq!(e.code(), &exp[4..], "{what}: {e}"),
            (exp, Ok(Some(o))) if exp != "noop" && !exp.starts_with("err:") => {
                let want: Vec<&str> = exp.split(';').map(str::trim).collect();
                assert_eq!(o.events.len(), want.len(), "{what}: events {:#?}", o.events);
                for (e, w) in o.events.iter().zip(want) {
                    check_event(e, w, &what);
                }
            }
            (exp, got) => panic!("{what}: expected {exp}, got {got:?}"),
        }
    }
    h.verify();
    h
}

fn check_event(e: &Event, want: &str, what: &str) {
    let mut t = want.split_whitespace();
    let kind: EventKind = t.next().unwrap().parse().unwrap();
    let ctx = format!("{what}: event {e:?} vs {want:?}");
    assert_eq!(e.kind, kind, "{ctx}");
    assert_eq!(e.amount, m(t.next().unwrap()), "amount, {ctx}");
    assert_eq!(e.balance_after, m(t.next().unwrap()), "balance_after, {ctx}");
    assert_eq!(e.held_after, m(t.next().unwrap()), "held_after, {ctx}");
    for kv in t {
        let (k, v) = kv.split_once('=').unwrap();
        match k {
            "pool" => assert_eq!(e.pool, if v == "-" { None } else { Some(v.parse().unwrap()) }, "pool, {ctx}"),
            "status" => assert_eq!(e.status, v.parse::<Status>().unwrap(), "status, {ctx}"),
            "prepaid" => assert_eq!(e.prepaid_balance_after, m(v), "prepaid, {ctx}"),
            "usage" => assert_eq!(e.period_usage_after, m(v), "period usage, {ctx}"),
            "source" => assert_eq!(e.source.as_deref(), Some(v), "source, {ctx}"),
            "hold" => assert_eq!(e.hold_id.as_deref(), Some(v), "hold_id, {ctx}"),
            "code" => assert_eq!(e.code.as_deref(), Some(v), "code, {ctx}"),
            _ => panic!("unknown check {k}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Credits: grant, purchase, subscription credit, voucher
// ---------------------------------------------------------------------------

#[test]
fn credits_go_to_their_pools() {
    let h = check(&[
        (0, grant("10"), "grant 10 10 0 pool=promotional status=succeeded prepaid=0"),
        (0, subscription("100"), "subscription_credit 100 110 0 pool=plan"),
        (0, voucher("5", Some(" SPRING-5 ")), "voucher 5 115 0 pool=voucher code=SPRING-5"),
        (0, purchase("20.5", None), "purchase 20.5 135.5 0 pool=prepaid prepaid=20.5 hold=pur_4"),
        (0, purchase("1", Some(Status::Succeeded)), "purchase 1 136.5 0 pool=prepaid prepaid=21.5"),
        (0, grant_to(Pool::Prepaid, "0.000001", None), "grant 0.000001 136.500001 0 pool=prepaid prepaid=21.500001"),
    ]);
    let pools = h.pools();
    assert_eq!(pools.plan, m("100"));
    assert_eq!(pools.promotional, m("10"));
    assert_eq!(pools.voucher, m("5"));
    assert_eq!(pools.prepaid, m("21.500001"));
    assert_eq!(h.state.records["pur_4"].status, RecordStatus::Succeeded);
}

#[test]
fn purchase_processing_then_settled_once() {
    let h = check(&[
        (0, purchase("30", Some(Status::Processing)), "purchase 30 0 0 status=processing prepaid=0 hold=pur_1"),
        (0, purchase("7", Some(Status::Processing)), "purchase 7 0 0 status=processing"),
        (0, settle("pur_1", Status::Processing), "err:validation_error"),
        (0, settle("pur_1", Status::Succeeded), "purchase 30 30 0 status=succeeded prepaid=30 pool=prepaid hold=pur_1"),
        (0, settle("pur_1", Status::Succeeded), "err:purchase_already_settled"),
        (0, settle("pur_1", Status::Failed), "err:purchase_already_settled"),
        (0, settle("pur_2", Status::Failed), "purchase 7 30 0 status=failed prepaid=30 hold=pur_2"),
        (0, settle("pur_2", Status::Succeeded), "err:purchase_already_settled"),
        (0, settle("pur_9", Status::Succeeded), "err:purchase_not_found"),
        (0, hold("1"), "hold -1 29 1"),
        (0, settle("hold_5", Status::Succeeded), "err:purchase_not_found"),
        (0, refund("pur_1", None), "err:refund_target_not_found"),
    ]);
    assert_eq!(h.state.records["pur_1"].status, RecordStatus::Succeeded);
    assert_eq!(h.state.records["pur_2"].status, RecordStatus::Failed);
    assert_eq!(h.pools().prepaid, m("29"));
}

#[test]
fn purchase_with_expiry_settled_late_is_refused() {
    let exp = at(HOUR);
    let op = Op::Credit(CreditOp {
        expires_at: Some(exp),
        status: Some(Status::Processing),
        ..credit(CreditKind::Purchase, "10")
    });
    check(&[
        (0, op.clone(), "purchase 10 0 0 status=processing"),
        (0, op, "purchase 10 0 0 status=processing"),
        (60, settle("pur_1", Status::Succeeded), "purchase 10 10 0 prepaid=10"),
        (2 * HOUR, settle("pur_2", Status::Succeeded), "err:validation_error"),
        // Failing it is still fine; the earlier block lapses first.
        (0, settle("pur_2", Status::Failed), "expiry -10 0 0 pool=prepaid prepaid=0; purchase 10 0 0 status=failed"),
    ]);
}

#[test]
fn invalid_credits_are_refused() {
    let past = at(-1);
    let mut h = Harness::new();
    h.ok(grant("1"));
    for (op, code) in [
        (grant("0"), "validation_error"),
        (grant("-1"), "validation_error"),
        (grant_until("1", past), "validation_error"),
        (grant_until("1", ts(T0)), "validation_error"),
        (voucher("1", None), "validation_error"),
        (voucher("1", Some("   ")), "validation_error"),
        (voucher("1", Some(&"X".repeat(201))), "validation_error"),
        (
            Op::Credit(CreditOp { status: Some(Status::Processing), ..credit(CreditKind::Grant, "1") }),
            "validation_error",
        ),
        (purchase("1", Some(Status::Failed)), "validation_error"),
        (Op::Credit(CreditOp { pool: Some(Pool::Plan), ..credit(CreditKind::Purchase, "1") }), "validation_error"),
        (
            Op::Credit(CreditOp {
                pool: Some(Pool::Promotional),
                status: Some(Status::Processing),
                ..credit(CreditKind::Purchase, "1")
            }),
            "validation_error",
        ),
        (Op::Credit(CreditOp { amount: Micros::MAX, ..credit(CreditKind::Grant, "1") }), "amount_overflow"),
    ] {
        assert_eq!(h.err(op).code(), code);
    }
    h.ok(voucher("1", Some(&"X".repeat(200))));
    h.ok(Op::Credit(CreditOp { pool: Some(Pool::Prepaid), ..credit(CreditKind::Purchase, "1") }));
    h.verify();
}

// ---------------------------------------------------------------------------
// Holds: hold, debit, release, timeout
// ---------------------------------------------------------------------------

#[test]
fn hold_then_full_debit_once() {
    let h = check(&[
        (0, grant("10"), "grant 10 10 0"),
        (0, hold("4"), "hold -4 6 4 pool=promotional hold=hold_2"),
        (0, debit("hold_2", None), "debit -4 6 0 hold=hold_2 pool=promotional usage=4"),
        (0, debit("hold_2", None), "err:hold_already_settled"),
        (0, debit("hold_2", Some("1")), "err:hold_already_settled"),
        (0, release("hold_2"), "err:hold_already_settled"),
        (2 * HOUR, timeout("hold_2"), "noop"),
    ]);
    let r = &h.state.records["hold_2"];
    assert_eq!((r.status, r.captured, r.refunded), (RecordStatus::Debited, m("4"), Micros::ZERO));
}

#[test]
fn partial_debit_releases_the_rest() {
    let h = check(&[
        (0, grant("10"), "grant 10 10 0"),
        (0, hold("4"), "hold -4 6 4"),
        (0, debit("hold_2", Some("1.5")), "debit -1.5 6 2.5 usage=1.5; release 2.5 8.5 0 hold=hold_2"),
        (0, debit("hold_2", Some("1")), "err:hold_already_settled"),
        (0, release("hold_2"), "err:hold_already_settled"),
    ]);
    assert_eq!(h.state.records["hold_2"].captured, m("1.5"));
    assert_eq!(h.state.records["hold_2"].status, RecordStatus::Debited);
    assert_eq!(h.events[3].description.as_deref(), Some("Rest of hold hold_2 released after a partial debit"));
}

#[test]
fn debit_and_hold_bounds() {
    check(&[
        (0, grant("10"), "grant 10 10 0"),
        (0, hold("10.000001"), "err:insufficient_credits"),
        (0, hold("0"), "err:validation_error"),
        (0, hold("-1"), "err:validation_error"),
        (0, hold_for("1", 0), "err:validation_error"),
        (0, hold_for("1", MAX_HOLD_TIMEOUT_SECONDS + 1), "err:validation_error"),
        (0, hold_for("1", MAX_HOLD_TIMEOUT_SECONDS), "hold -1 9 1"),
        (0, hold("9"), "hold -9 0 10"),
        (0, hold("0.000001"), "err:insufficient_credits"),
        (0, debit("hold_3", Some("9.000001")), "err:debit_exceeds_hold"),
        (0, debit("hold_3", Some("0")), "err:validation_error"),
        (0, debit("hold_3", Some("-1")), "err:validation_error"),
        (0, debit("hold_99", None), "err:hold_not_found"),
        (0, release("hold_99"), "err:hold_not_found"),
        (0, debit("hold_3", Some("9")), "debit -9 0 1"),
        (0, release("hold_2"), "release 1 1 0"),
        (0, usage("1"), "usage -1 0 0 hold=use_6"),
        // A usage, a purchase or a block is not a hold.
        (0, debit("use_6", None), "err:hold_not_found"),
        (0, release("use_6"), "err:hold_not_found"),
        (0, purchase("1", Some(Status::Processing)), "purchase 1 0 0 status=processing"),
        (0, release("pur_7"), "err:hold_not_found"),
        (0, debit("blk_1", None), "err:hold_not_found"),
    ]);
}

#[test]
fn hold_timeouts() {
    let h = check(&[
        (0, grant("10"), "grant 10 10 0"),
        (0, hold_for("3", 600), "hold -3 7 3"),
        (0, hold("2"), "hold -2 5 5"),
        (599, timeout("hold_2"), "noop"),
        (0, timeout("hold_99"), "noop"),
        (0, timeout("blk_1"), "noop"),
        (1, timeout("hold_2"), "release 3 8 2 source=timeout hold=hold_2"),
        (0, timeout("hold_2"), "noop"),
        // A hold the timer released says so, not merely "already settled".
        (0, release("hold_2"), "err:hold_expired"),
        (0, debit("hold_2", None), "err:hold_expired"),
        // A hold whose time is up is refused even before the timer runs
        // (the engines then write the release); the pure core changes nothing.
        (DAY, debit("hold_3", None), "err:hold_expired"),
        (0, release("hold_3"), "err:hold_expired"),
        (0, timeout("hold_3"), "release 2 10 0 source=timeout hold=hold_3"),
        (0, debit("hold_3", None), "err:hold_expired"),
    ]);
    let r = &h.state.records["hold_2"];
    assert_eq!(r.status, RecordStatus::Released);
    assert_eq!(r.expires_at, Some(at(600)));
    assert_eq!(h.state.records["hold_3"].expires_at, Some(at(DEFAULT_HOLD_TIMEOUT_SECONDS as i64)));
    assert_eq!(h.events[3].description.as_deref(), Some("Hold hold_2 timed out"));
}

#[test]
fn due_holds_lists_open_holds_past_their_timeout() {
    let mut h = Harness::new();
    h.ok(grant("10"));
    h.ok(hold_for("1", 100));
    h.ok(hold_for("1", 50));
    h.ok(hold_for("1", 1000));
    h.ok(hold_for("1", 10));
    h.ok(debit("hold_5", None));
    assert_eq!(h.state.due_holds(at(49)), Vec::<String>::new());
    assert_eq!(h.state.due_holds(at(100)), vec!["hold_3".to_string(), "hold_2".to_string()]);
    h.verify();
}

#[test]
fn ctx_is_copied_and_follow_ups_inherit_it() {
    let mut h = Harness::new();
    h.ok(grant("10"));
    let c = EventCtx {
        source: Some("api".into()),
        service: Some("AI Inference".into()),
        activity: Some("Generate image".into()),
        project_id: Some("case-1".into()),
        project_name: Some("Case One".into()),
        user_name: Some("Ana".into()),
        user_email: Some("ana@example.com".into()),
        description: Some("first".into()),
        metadata: Some(serde_json::json!({"model": "x"})),
    };
    h.ok(Op::Hold(HoldOp { amount: m("2"), timeout_seconds: None, ctx: c.clone() }));
    let o = h.ok(Op::Debit {
        hold_id: "hold_2".into(),
        amount: None,
        ctx: EventCtx { description: Some("delivered".into()), ..ctx() },
    });
    let e = &o.events[0];
    assert_eq!(e.service.as_deref(), Some("AI Inference"));
    assert_eq!(e.activity.as_deref(), Some("Generate image"));
    assert_eq!(e.project_id.as_deref(), Some("case-1"));
    assert_eq!(e.project_name.as_deref(), Some("Case One"));
    assert_eq!(e.user_name.as_deref(), Some("Ana"));
    assert_eq!(e.user_email.as_deref(), Some("ana@example.com"));
    assert_eq!(e.source.as_deref(), Some("api"));
    assert_eq!(e.description.as_deref(), Some("delivered"));
    assert_eq!(e.metadata, Some(serde_json::json!({"model": "x"})));
    h.verify();
}

// ---------------------------------------------------------------------------
// Usage, refund, adjustment, billing
// ---------------------------------------------------------------------------

#[test]
fn usage_and_refunds_bounded_by_consumption() {
    let h = check(&[
        (0, grant("10"), "grant 10 10 0"),
        (0, usage("3"), "usage -3 7 0 usage=3 hold=use_2"),
        (0, usage("7.000001"), "err:insufficient_credits"),
        (0, usage("0"), "err:validation_error"),
        (0, refund("use_2", Some("1")), "refund 1 8 0 usage=2 hold=use_2"),
        (0, refund("use_2", Some("2.000001")), "err:refund_exceeds_consumed"),
        (0, refund("use_2", Some("0")), "err:validation_error"),
        (0, refund("use_2", None), "refund 2 10 0 usage=0"),
        (0, refund("use_2", Some("0.000001")), "err:refund_exceeds_consumed"),
        (0, refund("use_2", None), "err:validation_error"),
        (0, refund("use_99", None), "err:refund_target_not_found"),
        (0, refund("blk_1", None), "err:refund_target_not_found"),
    ]);
    let r = &h.state.records["use_2"];
    assert_eq!((r.captured, r.refunded, r.status), (m("3"), m("3"), RecordStatus::Consumed));
}

#[test]
fn refunds_of_holds() {
    check(&[
        (0, grant("10"), "grant 10 10 0"),
        (0, hold("4"), "hold -4 6 4"),
        (0, refund("hold_2", None), "err:not_refundable"),
        (0, debit("hold_2", Some("3")), "debit -3 6 1 usage=3; release 1 7 0"),
        // Only the debited part was consumed.
        (0, refund("hold_2", Some("3.000001")), "err:refund_exceeds_consumed"),
        (0, refund("hold_2", Some("2")), "refund 2 9 0 usage=1"),
        (0, refund("hold_2", None), "refund 1 10 0 usage=0"),
        (0, hold("5"), "hold -5 5 5"),
        (0, release("hold_7"), "release 5 10 0"),
        (0, refund("hold_7", None), "err:not_refundable"),
    ]);
}

#[test]
fn refund_returns_credits_to_the_blocks_last_consumed() {
    let mut h = Harness::new();
    h.ok(subscription("2")); // plan, consumed first
    h.ok(grant("3")); // promotional
    h.ok(usage("4")); // 2 plan + 2 promotional
    assert_eq!(h.pools().plan, Micros::ZERO);
    assert_eq!(h.pools().promotional, m("1"));
    let o = h.ok(refund("use_3", Some("2.5")));
    assert_eq!(o.events[0].pool, Some(Pool::Promotional));
    assert_eq!(h.pools().promotional, m("3"));
    assert_eq!(h.pools().plan, m("0.5"));
    h.ok(refund("use_3", None));
    assert_eq!(h.pools().plan, m("2"));
    h.verify();
}

#[test]
fn adjustments_need_a_reason() {
    let h = check(&[
        (0, adjust("5", "goodwill"), "adjustment 5 5 0 pool=promotional"),
        (0, adjust("-2", "correction"), "adjustment -2 3 0 pool=promotional"),
        (0, adjust("0", "nothing"), "err:validation_error"),
        (0, adjust("1", ""), "err:validation_error"),
        (0, adjust("1", "   "), "err:validation_error"),
        (0, adjust("1", &"r".repeat(MAX_TEXT_LEN + 1)), "err:validation_error"),
        (0, adjust("-3.000001", "too much"), "err:insufficient_credits"),
        (
            0,
            Op::Adjustment {
                amount: m("-1"),
                reason: "x".into(),
                pool: Some(Pool::Plan),
                expires_at: None,
                ctx: ctx(),
            },
            "err:validation_error",
        ),
        (
            0,
            Op::Adjustment { amount: m("-1"), reason: "x".into(), pool: None, expires_at: Some(at(DAY)), ctx: ctx() },
            "err:validation_error",
        ),
        (
            0,
            Op::Adjustment {
                amount: m("1"),
                reason: "x".into(),
                pool: Some(Pool::Prepaid),
                expires_at: Some(at(0)),
                ctx: ctx(),
            },
            "err:validation_error",
        ),
        (
            0,
            Op::Adjustment {
                amount: m("4"),
                reason: "migration".into(),
                pool: Some(Pool::Prepaid),
                expires_at: Some(at(DAY)),
                ctx: ctx(),
            },
            "adjustment 4 7 0 pool=prepaid prepaid=4",
        ),
        (0, adjust("-3", "correction"), "adjustment -3 4 0 pool=prepaid prepaid=1"),
        (
            0,
            Op::Adjustment { amount: Micros::MAX, reason: "x".into(), pool: None, expires_at: None, ctx: ctx() },
            "err:amount_overflow",
        ),
        (
            0,
            Op::Adjustment {
                amount: Micros::from_micros(i64::MIN),
                reason: "x".into(),
                pool: None,
                expires_at: None,
                ctx: ctx(),
            },
            "err:amount_overflow",
        ),
    ]);
    let e = &h.events[0];
    assert_eq!(e.description.as_deref(), Some("goodwill"));
    assert_eq!(e.metadata, Some(serde_json::json!({"reason": "goodwill"})));
}

#[test]
fn adjustment_keeps_caller_metadata() {
    let mut h = Harness::new();
    let o = h.ok(Op::Adjustment {
        amount: m("1"),
        reason: " ticket 42 ".into(),
        pool: None,
        expires_at: None,
        ctx: EventCtx {
            description: Some("Support credit".into()),
            metadata: Some(serde_json::json!({"agent": "bo"})),
            ..ctx()
        },
    });
    assert_eq!(o.events[0].description.as_deref(), Some("Support credit"));
    assert_eq!(o.events[0].metadata, Some(serde_json::json!({"agent": "bo", "reason": "ticket 42"})));
    let o = h.ok(Op::Adjustment {
        amount: m("1"),
        reason: "r".into(),
        pool: None,
        expires_at: None,
        ctx: EventCtx { metadata: Some(serde_json::json!([1, 2])), ..ctx() },
    });
    assert_eq!(o.events[0].metadata, Some(serde_json::json!({"value": [1, 2], "reason": "r"})));
    h.verify();
}

#[test]
fn billing_records_zero_or_negative() {
    check(&[
        (0, grant("10"), "grant 10 10 0"),
        (0, billing("0"), "billing 0 10 0 pool=-"),
        (0, billing("-2.5"), "billing -2.5 7.5 0 pool=promotional usage=0"),
        (0, billing("0.000001"), "err:validation_error"),
        (0, billing("-7.500001"), "err:insufficient_credits"),
    ]);
}

// ---------------------------------------------------------------------------
// Expiry
// ---------------------------------------------------------------------------

#[test]
fn expired_blocks_lapse() {
    let h = check(&[
        (0, grant_until("10", at(HOUR)), "grant 10 10 0"),
        (0, grant("1"), "grant 1 11 0"),
        (0, usage("2"), "usage -2 9 0"),
        (HOUR - 1, Op::ExpireDue, "noop"),
        (1, Op::ExpireDue, "expiry -8 1 0 pool=promotional source=system"),
        (0, Op::ExpireDue, "noop"),
        (0, usage("1.000001"), "err:insufficient_credits"),
        (0, usage("1"), "usage -1 0 0"),
    ]);
    assert!(h.state.blocks.is_empty());
}

#[test]
fn expired_credits_cannot_be_spent_before_they_lapse() {
    let h = check(&[
        (0, grant_until("10", at(HOUR)), "grant 10 10 0"),
        (0, grant("1"), "grant 1 11 0"),
        // Past the expiry the block is dead even though no event lapsed it yet.
        (2 * HOUR, usage("2"), "err:insufficient_credits"),
        (0, hold("2"), "err:insufficient_credits"),
        (0, usage("0.5"), "expiry -10 1 0; usage -0.5 0.5 0"),
    ]);
    assert_eq!(h.events[2].hold_id, None);
    assert_eq!(h.events[3].idempotency_key.as_deref(), Some("idem-1"));
    assert_eq!(h.events[2].idempotency_key, None);
}

#[test]
fn released_credits_of_a_lapsed_block_expire_at_once() {
    check(&[
        (0, grant_until("10", at(HOUR)), "grant 10 10 0"),
        (0, grant("2"), "grant 2 12 0"),
        // Soonest-expiring first: 10 from the expiring block, 1 from the other.
        (0, hold_for("11", 2 * HOUR as u64), "hold -11 1 11"),
        (0, hold_for("1", 2 * HOUR as u64), "hold -1 0 12"),
        (HOUR + 60, release("hold_3"), "release 11 11 1; expiry -10 1 1 pool=promotional"),
        (0, Op::ExpireDue, "noop"),
        (0, debit("hold_4", None), "debit -1 1 0"),
    ]);
}

#[test]
fn partial_debit_after_expiry_lapses_the_rest() {
    check(&[
        (0, grant_until("10", at(HOUR)), "grant 10 10 0"),
        (0, hold_for("4", 2 * HOUR as u64), "hold -4 6 4"),
        (HOUR, debit("hold_2", Some("1")), "expiry -6 0 4; debit -1 0 3; release 3 3 0; expiry -3 0 0"),
    ]);
}

#[test]
fn timeout_of_a_hold_on_a_lapsed_block() {
    check(&[
        (0, grant_until("5", at(HOUR)), "grant 5 5 0"),
        (0, hold_for("5", 2 * HOUR as u64), "hold -5 0 5"),
        (2 * HOUR, timeout("hold_2"), "release 5 5 0 source=timeout; expiry -5 0 0"),
    ]);
}

#[test]
fn refund_to_a_lapsed_block_expires_at_once() {
    check(&[
        (0, grant_until("5", at(HOUR)), "grant 5 5 0"),
        (0, grant("1"), "grant 1 6 0"),
        (0, usage("5.5"), "usage -5.5 0.5 0 usage=5.5"),
        (HOUR, refund("use_3", Some("1")), "refund 1 1.5 0 usage=4.5; expiry -0.5 1 0"),
    ]);
}

// ---------------------------------------------------------------------------
// Consumption order
// ---------------------------------------------------------------------------

fn four_pools(h: &mut Harness, plan_exp: Option<Timestamp>, promo_exp: Option<Timestamp>) {
    h.ok(purchase("1", None));
    h.ok(grant_to(Pool::Promotional, "1", promo_exp));
    h.ok(voucher("1", Some("V")));
    h.ok(Op::Credit(CreditOp { expires_at: plan_exp, ..credit(CreditKind::SubscriptionCredit, "1") }));
}

fn pools_of(h: &Harness) -> [Micros; 4] {
    let p = h.pools();
    [p.plan, p.voucher, p.promotional, p.prepaid]
}

#[test]
fn default_order_is_free_before_paid() {
    let mut h = Harness::new();
    four_pools(&mut h, None, None);
    let o = h.ok(usage("2.5"));
    assert_eq!(o.events[0].pool, Some(Pool::Plan));
    assert_eq!(pools_of(&h), [m("0"), m("0"), m("0.5"), m("1")]);
    // Half promotional, half prepaid: the event names the first on a tie.
    let o = h.ok(usage("1"));
    assert_eq!(o.events[0].pool, Some(Pool::Promotional));
    assert_eq!(pools_of(&h), [m("0"), m("0"), m("0"), m("0.5")]);
    h.verify();
}

#[test]
fn soonest_expiring_first() {
    let mut h = Harness::new();
    four_pools(&mut h, Some(at(2 * DAY)), Some(at(DAY)));
    h.ok(usage("1.5"));
    // Promotional expires first, then plan, then the never-expiring pools in order.
    assert_eq!(pools_of(&h), [m("0.5"), m("1"), m("0"), m("1")]);
    h.ok(usage("1"));
    assert_eq!(pools_of(&h), [m("0"), m("0.5"), m("0"), m("1")]);
    h.verify();
}

#[test]
fn expiring_first_can_be_turned_off() {
    let mut h = Harness::with(|s| s.expiring_first = false);
    four_pools(&mut h, Some(at(2 * DAY)), Some(at(DAY)));
    h.ok(usage("1.5"));
    assert_eq!(pools_of(&h), [m("0"), m("0.5"), m("1"), m("1")]);
    h.verify();
}

#[test]
fn custom_consumption_order() {
    let mut h = Harness::with(|s| {
        s.expiring_first = false;
        s.consumption_order = vec![Pool::Prepaid, Pool::Promotional, Pool::Voucher, Pool::Plan];
    });
    four_pools(&mut h, None, Some(at(DAY)));
    let o = h.ok(usage("2.5"));
    assert_eq!(o.events[0].pool, Some(Pool::Prepaid));
    assert_eq!(pools_of(&h), [m("1"), m("0.5"), m("0"), m("0")]);
    h.verify();
    let mut s = OrgSettings::new("x", "UTC");
    s.consumption_order = vec![Pool::Prepaid, Pool::Prepaid, Pool::Voucher, Pool::Plan];
    assert!(OrgState::new("o", s.clone(), ts(T0)).is_err());
    s.consumption_order = vec![Pool::Prepaid, Pool::Voucher, Pool::Plan];
    assert!(OrgState::new("o", s, ts(T0)).is_err());
}

#[test]
fn same_pool_and_expiry_oldest_first() {
    let mut h = Harness::new();
    h.ok(grant("1"));
    h.ok(grant("1"));
    h.ok(usage("0.5"));
    assert_eq!(
        h.state.blocks.iter().map(|b| (b.id.as_str(), b.remaining)).collect::<Vec<_>>(),
        [("blk_1", m("0.5")), ("blk_2", m("1"))]
    );
    h.verify();
}

#[test]
fn a_hold_remembers_its_draws() {
    let mut h = Harness::new();
    h.ok(subscription("2"));
    h.ok(grant("2"));
    h.ok(hold("3")); // plan 2 + promotional 1
    assert_eq!(pools_of(&h), [m("0"), m("0"), m("1"), m("0")]);
    h.ok(grant_to(Pool::Plan, "1", None));
    h.ok(usage("1.5")); // plan 1 + promotional 0.5
    assert_eq!(pools_of(&h), [m("0"), m("0"), m("0.5"), m("0")]);
    let o = h.ok(release("hold_3"));
    assert_eq!(o.events[0].pool, Some(Pool::Plan));
    assert_eq!(pools_of(&h), [m("2"), m("0"), m("1.5"), m("0")]);
    let r = &h.state.records["hold_3"];
    assert_eq!(r.draws.len(), 2);
    assert_eq!((r.draws[0].pool, r.draws[0].amount), (Some(Pool::Plan), m("2")));
    assert_eq!((r.draws[1].pool, r.draws[1].amount), (Some(Pool::Promotional), m("1")));
    h.verify();
}

/// Credits given back to a block that was used up go back to that block's
/// place: among blocks of the same pool and expiry the oldest is still
/// consumed first, so what lapses later does not depend on the round trip.
#[test]
fn returned_credits_keep_the_creation_order() {
    for via_hold in [false, true] {
        let mut h = Harness::with(|s| s.expiring_first = false);
        h.ok(grant_until("2", at(DAY))); // blk_1, older, expires sooner
        h.ok(grant_until("2", at(2 * DAY))); // blk_2
        if via_hold {
            h.ok(hold("3"));
            h.ok(release("hold_3"));
        } else {
            h.ok(usage("3"));
            h.ok(refund("use_3", None));
        }
        h.ok(usage("1"));
        h.wait(DAY);
        let o = h.ok(Op::ExpireDue);
        assert_eq!(o.events.len(), 1);
        assert_eq!(o.events[0].amount, m("-1"), "via_hold={via_hold}: the oldest block is consumed first");
        assert_eq!(h.state.available(), m("2"));
        h.verify();
    }
}

// ---------------------------------------------------------------------------
// Overdraft
// ---------------------------------------------------------------------------

#[test]
fn no_overdraft_by_default() {
    let h = check(&[
        (0, usage("0.000001"), "err:insufficient_credits"),
        (0, hold("1"), "err:insufficient_credits"),
        (0, adjust("-1", "x"), "err:insufficient_credits"),
        (0, billing("-1"), "err:insufficient_credits"),
        (0, grant("1"), "grant 1 1 0"),
        (0, usage("1"), "usage -1 0 0"),
        (0, usage("0.000001"), "err:insufficient_credits"),
    ]);
    match h.state.clone().apply(&usage("2"), ts(T0), None) {
        Err(LedgerError::InsufficientCredits { available, requested }) => {
            assert_eq!((available, requested), (m("0"), m("2")))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn overdraft_down_to_the_limit() {
    let h = check_with(
        Harness::with(|s| s.overdraft_limit = m("5")),
        &[
            (0, grant("3"), "grant 3 3 0"),
            (0, usage("7"), "usage -7 -4 0"),
            (0, usage("1.000001"), "err:insufficient_credits"),
            (0, hold("1"), "hold -1 -5 1 pool=-"),
            (0, adjust("-0.000001", "x"), "err:insufficient_credits"),
            (0, release("hold_3"), "release 1 -4 0"),
            (0, grant("10"), "grant 10 6 0"),
            (0, usage("11.000001"), "err:insufficient_credits"),
            (0, usage("11"), "usage -11 -5 0"),
            // The most recent part of use_2 came from the overdraft.
            (0, refund("use_2", Some("4")), "refund 4 -1 0 pool=-"),
            (0, refund("use_2", None), "refund 3 2 0 pool=promotional"),
        ],
    );
    assert_eq!(h.state.debt, m("1"));
    assert_eq!(h.state.balance().overdraft_used, m("1"));
    assert_eq!(h.state.balance().overdraft_limit, m("5"));
    let mut s = OrgSettings::new("x", "UTC");
    s.overdraft_limit = m("-1");
    assert_eq!(OrgState::new("o", s, ts(T0)).unwrap_err().code(), "validation_error");
}

#[test]
fn expiry_never_pushes_below_the_limit() {
    let h = check_with(
        Harness::with(|s| s.overdraft_limit = m("5")),
        &[
            (0, grant_until("3", at(HOUR)), "grant 3 3 0"),
            (0, grant("1"), "grant 1 4 0"),
            (0, usage("8"), "usage -8 -4 0"),
            (0, grant_until("2", at(HOUR)), "grant 2 -2 0"),
            (HOUR, Op::ExpireDue, "expiry -2 -4 0"),
        ],
    );
    assert_eq!(h.state.debt, m("4"));
}

// ---------------------------------------------------------------------------
// Invalid input changes nothing
// ---------------------------------------------------------------------------

#[test]
fn invalid_text_is_refused_by_every_operation() {
    let long = "x".repeat(MAX_TEXT_LEN + 1);
    let bad_ctxs = [
        EventCtx { source: Some(long.clone()), ..ctx() },
        EventCtx { service: Some(long.clone()), ..ctx() },
        EventCtx { activity: Some(long.clone()), ..ctx() },
        EventCtx { project_id: Some(long.clone()), ..ctx() },
        EventCtx { project_name: Some(long.clone()), ..ctx() },
        EventCtx { user_name: Some(long.clone()), ..ctx() },
        EventCtx { user_email: Some(format!("{long}@example.com")), ..ctx() },
        EventCtx { description: Some(long.clone()), ..ctx() },
        EventCtx { user_email: Some("not-an-email".into()), ..ctx() },
        EventCtx { metadata: Some(serde_json::json!({ "blob": "y".repeat(16 * 1024) })), ..ctx() },
    ];
    let mut h = Harness::new();
    h.ok(grant("10"));
    h.ok(purchase("5", Some(Status::Processing)));
    h.ok(hold("2"));
    h.ok(usage("1"));
    for c in bad_ctxs {
        let ops = [
            Op::Credit(CreditOp { ctx: c.clone(), ..credit(CreditKind::Grant, "1") }),
            Op::SettlePurchase { purchase_id: "pur_2".into(), status: Status::Succeeded, ctx: c.clone() },
            Op::Hold(HoldOp { amount: m("1"), timeout_seconds: None, ctx: c.clone() }),
            Op::Debit { hold_id: "hold_3".into(), amount: None, ctx: c.clone() },
            Op::Release { hold_id: "hold_3".into(), ctx: c.clone() },
            Op::Usage { amount: m("1"), ctx: c.clone() },
            Op::Refund { refers_to: "use_4".into(), amount: None, ctx: c.clone() },
            Op::Adjustment { amount: m("1"), reason: "r".into(), pool: None, expires_at: None, ctx: c.clone() },
            Op::Adjustment { amount: m("-1"), reason: "r".into(), pool: None, expires_at: None, ctx: c.clone() },
            Op::Billing { amount: m("-1"), ctx: c.clone() },
        ];
        for op in ops {
            assert_eq!(h.err(op).code(), "validation_error");
        }
    }
    // The limits are inclusive.
    let fits = EventCtx { description: Some("d".repeat(MAX_TEXT_LEN)), user_email: Some("a@b".into()), ..ctx() };
    h.ok(Op::Usage { amount: m("1"), ctx: fits });
    h.verify();
}

#[test]
fn refused_operations_after_time_passed_change_nothing() {
    // Every refusal is checked by the harness against a snapshot of the state
    // and records; here the refusals come after the period rolled over and
    // after blocks expired, when there would be something to change.
    let mut h = Harness::new();
    h.ok(grant_until("5", at(HOUR)));
    h.ok(grant("5"));
    h.ok(usage("1"));
    h.ok(hold_for("1", 60));
    h.wait(30 * DAY);
    for op in [
        usage("100"),
        hold("100"),
        hold_for("1", 0),
        debit("hold_4", Some("2")),
        debit("hold_9", None),
        release("use_3"),
        refund("use_3", Some("2")),
        refund("hold_4", None),
        adjust("-100", "x"),
        adjust("1", ""),
        billing("1"),
        billing("-100"),
        grant("0"),
        grant_until("1", at(0)),
        voucher("1", None),
        settle("pur_1", Status::Succeeded),
    ] {
        h.err(op);
    }
    // Balance still counts the expired block until something lapses it.
    assert_eq!(h.state.available(), m("8"));
    assert_eq!(h.state.period_usage, m("1"));
    h.ok(Op::ExpireDue);
    assert_eq!(h.state.available(), m("5"));
    assert_eq!(h.state.period_usage, m("0"));
    h.verify();
}

// ---------------------------------------------------------------------------
// Sequence numbers, time, periods
// ---------------------------------------------------------------------------

#[test]
fn time_never_goes_backwards() {
    let mut h = Harness::new();
    h.ok(grant("10"));
    h.apply_at(&grant("1"), at(100)).unwrap().unwrap();
    let o = h.apply_at(&hold_for("1", 60), at(50)).unwrap().unwrap();
    assert_eq!(o.events[0].created_at, at(100));
    assert_eq!(o.record.unwrap().expires_at, Some(at(160)));
    let o = h.apply_at(&usage("1"), at(-DAY)).unwrap().unwrap();
    assert_eq!(o.events[0].created_at, at(100));
    h.apply_at(&grant_until("1", at(120)), at(110)).unwrap().unwrap();
    let seqs: Vec<u64> = h.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=5).collect::<Vec<_>>());
    h.verify();
}

#[test]
fn period_usage_follows_debits_usage_and_refunds_and_resets_each_period() {
    let mut h = Harness::new();
    assert_eq!(h.state.period_start, Some(ts("2026-01-01T00:00:00Z")));
    assert_eq!(h.state.period_end, Some(ts("2026-02-01T00:00:00Z")));
    h.ok(grant("100"));
    h.ok(usage("3"));
    h.ok(hold_for("5", MAX_HOLD_TIMEOUT_SECONDS));
    h.ok(debit("hold_3", Some("2")));
    assert_eq!(h.state.period_usage, m("5"));
    h.ok(refund("use_2", Some("1")));
    assert_eq!(h.state.period_usage, m("4"));
    // 2026-02-01T00:00:00Z: a new period. The hold opened just before it
    // is still within its time when it is debited in the next period.
    h.now = ts("2026-01-31T23:59:59Z");
    h.ok(hold_for("5", MAX_HOLD_TIMEOUT_SECONDS));
    h.ok(usage("1"));
    assert_eq!(h.state.period_usage, m("5"));
    h.now = ts("2026-02-01T00:00:00Z");
    h.err(usage("1000"));
    assert_eq!(h.state.period_usage, m("5"), "a refused operation does not roll the period");
    let o = h.ok(debit("hold_7", None));
    assert_eq!(o.events[0].period_usage_after, m("5"));
    assert_eq!(o.balance.period_start, Some(ts("2026-02-01T00:00:00Z")));
    assert_eq!(o.balance.period_end, Some(ts("2026-03-01T00:00:00Z")));
    // Refunding last period's usage cannot take this period below zero.
    let o = h.ok(refund("use_2", None));
    assert_eq!(o.events[0].period_usage_after, m("3"));
    h.ok(refund("hold_3", None));
    assert_eq!(h.state.period_usage, m("1"));
    h.verify();
}

#[test]
fn period_bounds_in_zones_and_across_dst() {
    let cases: &[(&str, u8, &str, &str, &str)] = &[
        ("UTC", 1, "2026-01-10T12:00:00Z", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
        ("UTC", 1, "2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"),
        ("UTC", 1, "2026-01-31T23:59:59.999Z", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
        ("UTC", 1, "2026-12-15T00:00:00Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        ("UTC", 15, "2026-03-14T23:00:00Z", "2026-02-15T00:00:00Z", "2026-03-15T00:00:00Z"),
        ("UTC", 28, "2028-02-29T00:00:00Z", "2028-02-28T00:00:00Z", "2028-03-28T00:00:00Z"),
        // Madrid: CET (+1) in winter, CEST (+2) from the last Sunday of March.
        ("Europe/Madrid", 1, "2026-01-10T12:00:00Z", "2025-12-31T23:00:00Z", "2026-01-31T23:00:00Z"),
        ("Europe/Madrid", 1, "2026-03-15T00:00:00Z", "2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z"),
        ("Europe/Madrid", 1, "2026-03-31T21:59:59Z", "2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z"),
        ("Europe/Madrid", 1, "2026-03-31T22:00:00Z", "2026-03-31T22:00:00Z", "2026-04-30T22:00:00Z"),
        ("Europe/Madrid", 1, "2026-10-20T00:00:00Z", "2026-09-30T22:00:00Z", "2026-10-31T23:00:00Z"),
        ("Europe/Madrid", 1, "2026-10-31T23:30:00Z", "2026-10-31T23:00:00Z", "2026-11-30T23:00:00Z"),
        // New York: EST (-5), EDT (-4) from the second Sunday of March.
        ("America/New_York", 1, "2026-03-01T04:59:59Z", "2026-02-01T05:00:00Z", "2026-03-01T05:00:00Z"),
        ("America/New_York", 1, "2026-03-20T00:00:00Z", "2026-03-01T05:00:00Z", "2026-04-01T04:00:00Z"),
        ("America/New_York", 1, "2026-11-15T00:00:00Z", "2026-11-01T04:00:00Z", "2026-12-01T05:00:00Z"),
        ("America/New_York", 1, "2026-01-01T04:00:00Z", "2025-12-01T05:00:00Z", "2026-01-01T05:00:00Z"),
        // Auckland: NZDT (+13) until the first Sunday of April, NZST (+12) until the last Sunday of September.
        ("Pacific/Auckland", 1, "2026-03-31T10:59:59Z", "2026-02-28T11:00:00Z", "2026-03-31T11:00:00Z"),
        ("Pacific/Auckland", 1, "2026-04-10T00:00:00Z", "2026-03-31T11:00:00Z", "2026-04-30T12:00:00Z"),
        ("Pacific/Auckland", 1, "2026-09-30T11:00:00Z", "2026-09-30T11:00:00Z", "2026-10-31T11:00:00Z"),
        ("Pacific/Auckland", 1, "2026-09-20T00:00:00Z", "2026-08-31T12:00:00Z", "2026-09-30T11:00:00Z"),
        // New Year arrives in Auckland while it is still the 31st in UTC.
        ("Pacific/Auckland", 1, "2025-12-31T11:00:00Z", "2025-12-31T11:00:00Z", "2026-01-31T11:00:00Z"),
    ];
    for (zone, day, now, start, end) in cases {
        let tz = TimeZone::get(zone).unwrap();
        let got = period_bounds(&tz, *day, ts(now)).unwrap();
        assert_eq!(got, (ts(start), ts(end)), "{zone} day {day} at {now}");
    }
}

#[test]
fn org_state_uses_its_zone_for_periods() {
    let s = OrgSettings::new("Acme", "Europe/Madrid");
    let st = OrgState::new("o", s, ts("2026-03-31T22:30:00Z")).unwrap();
    assert_eq!(st.period_start, Some(ts("2026-03-31T22:00:00Z")));
    let mut bad = OrgSettings::new("Acme", "Mars/Olympus");
    assert_eq!(OrgState::new("o", bad.clone(), ts(T0)).unwrap_err().code(), "validation_error");
    bad.time_zone = "UTC".into();
    bad.renewal_day = 29;
    assert!(OrgState::new("o", bad.clone(), ts(T0)).is_err());
    bad.renewal_day = 0;
    assert!(OrgState::new("o", bad.clone(), ts(T0)).is_err());
    bad.renewal_day = 1;
    bad.name = "  ".into();
    assert!(OrgState::new("o", bad, ts(T0)).is_err());
}

#[test]
fn valid_ids() {
    assert!(valid_id("org_1.a-B"));
    assert!(valid_id(&"a".repeat(64)));
    assert!(!valid_id(&"a".repeat(65)));
    assert!(!valid_id(""));
    assert!(!valid_id("a b"));
    assert!(!valid_id("é"));
}

/// New ids: one grammar that survives a URL path unchanged. Dot-only ids
/// (resolved away as `.`/`..` segments) and leading punctuation are
/// refused; ids of an earlier release stay readable (`valid_id`).
#[test]
fn new_ids_have_one_url_safe_grammar() {
    use creditd_core::OrgId;
    for good in ["acme", "org_1.a-B", "9lives", "a", &"a".repeat(64), "demo", "a..b", "x."] {
        assert_eq!(OrgId::parse(good).map(|i| i.into_string()).as_deref(), Ok(good), "{good}");
    }
    let long = "a".repeat(65);
    for bad in [".", "..", "...", "-", "_", ".hidden", "-rf", "_x", "", "a b", "a/b", "a%2e", "é", "a~b", long.as_str()]
    {
        assert!(OrgId::parse(bad).is_err(), "{bad:?} accepted");
    }
    for legacy in ["..", "...", "_x", "-a"] {
        assert!(valid_id(legacy), "{legacy} can still be looked up");
    }
}

// ---------------------------------------------------------------------------
// Amounts
// ---------------------------------------------------------------------------

#[test]
fn micros_parse_and_format() {
    let max = i64::MAX;
    let cases: &[(&str, i64, &str)] = &[
        ("0", 0, "0"),
        ("-0", 0, "0"),
        ("+0.0", 0, "0"),
        ("1", SCALE, "1"),
        ("0.1", 100_000, "0.1"),
        ("0.000001", 1, "0.000001"),
        ("-0.000001", -1, "-0.000001"),
        ("10.010", 10_010_000, "10.01"),
        ("007.5", 7_500_000, "7.5"),
        ("123456.789012", 123_456_789_012, "123456.789012"),
        ("9223372036854.775807", max, "9223372036854.775807"),
        ("-9223372036854.775807", -max, "-9223372036854.775807"),
        ("9223372036854", 9_223_372_036_854_000_000, "9223372036854"),
    ];
    for (text, micros, shown) in cases {
        let v: Micros = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(v.micros(), *micros, "{text}");
        assert_eq!(v.to_string(), *shown, "{text}");
        assert_eq!(serde_json::to_string(&v).unwrap(), *shown);
        let back: Micros = serde_json::from_str(shown).unwrap();
        assert_eq!(back, v);
        let quoted: Micros = serde_json::from_str(&format!("\"{text}\"")).unwrap();
        assert_eq!(quoted, v);
    }
    assert_eq!(Micros::from_micros(i64::MIN).to_string(), "-9223372036854.775808");
}

#[test]
fn micros_rejects_bad_text() {
    fn kind(e: &AmountError) -> &'static str {
        match e {
            AmountError::NotDecimal(_) => "NotDecimal",
            AmountError::TooPrecise(_) => "TooPrecise",
            AmountError::TooLarge(_) => "TooLarge",
        }
    }
    let cases: &[(&str, &str)] = &[
        ("", "NotDecimal"),
        ("+", "NotDecimal"),
        ("-", "NotDecimal"),
        ("--1", "NotDecimal"),
        ("+-1", "NotDecimal"),
        ("1.", "NotDecimal"),
        (".5", "NotDecimal"),
        ("-.5", "NotDecimal"),
        ("1.2.3", "NotDecimal"),
        ("1,5", "NotDecimal"),
        (" 1", "NotDecimal"),
        ("1 ", "NotDecimal"),
        ("1e3", "NotDecimal"),
        ("0x10", "NotDecimal"),
        ("NaN", "NotDecimal"),
        ("inf", "NotDecimal"),
        ("١", "NotDecimal"),
        ("0.0000001", "TooPrecise"),
        ("1.0000000", "TooPrecise"),
        ("9223372036854.775808", "TooLarge"),
        ("-9223372036854.775808", "TooLarge"),
        ("9223372036855", "TooLarge"),
        ("99999999999999999999999", "TooLarge"),
    ];
    for (text, want) in cases {
        let e = text.parse::<Micros>().expect_err(text);
        assert_eq!(kind(&e), *want, "{text}: {e:?}");
    }
}

#[test]
fn micros_json_edge_cases() {
    for bad in ["1e2", "1E-2", "true", "null", "\"\"", "\"1e2\"", "[1]", "{}", "\"12", "1.0000001", "1e400"] {
        assert!(serde_json::from_str::<Micros>(bad).is_err(), "{bad} should be refused");
    }
    assert_eq!(serde_json::from_str::<Micros>(" \" 2.5 \" ").unwrap(), m("2.5"));
    assert_eq!(serde_json::from_str::<Micros>("-0.5").unwrap(), m("-0.5"));
    #[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq)]
    struct W {
        a: Micros,
        b: Vec<Micros>,
    }
    let w: W = serde_json::from_str(r#"{"a": 9223372036854.775807, "b": ["0.1", 0.2, -3]}"#).unwrap();
    assert_eq!(w, W { a: Micros::MAX, b: vec![m("0.1"), m("0.2"), m("-3")] });
    assert_eq!(serde_json::to_string(&w).unwrap(), r#"{"a":9223372036854.775807,"b":[0.1,0.2,-3]}"#);
}

#[test]
fn micros_arithmetic_is_checked() {
    assert_eq!(Micros::from_credits(2), Some(m("2")));
    assert_eq!(Micros::from_credits(i64::MAX / SCALE + 1), None);
    assert_eq!(Micros::MAX.checked_add(Micros::from_micros(1)), None);
    assert_eq!(Micros::from_micros(i64::MIN).checked_sub(Micros::from_micros(1)), None);
    assert_eq!(Micros::from_micros(i64::MIN).checked_neg(), None);
    assert_eq!(Micros::from_micros(i64::MIN).abs(), Micros::MAX);
    assert_eq!(m("-2").abs(), m("2"));
    assert_eq!(m("2").min(m("-1")), m("-1"));
    assert!(m("0.000001").is_positive() && m("-0.000001").is_negative() && Micros::ZERO.is_zero());
}

// ---------------------------------------------------------------------------
// Overflow in the ledger: an error, never a panic or a wrong balance
// ---------------------------------------------------------------------------

const MAX: &str = "9223372036854.775807";

#[test]
fn credits_beyond_the_representable_total_are_refused() {
    check(&[
        (0, grant(MAX), &format!("grant {MAX} {MAX} 0")),
        (0, grant("0.000001"), "err:amount_overflow"),
        (0, purchase("1", None), "err:amount_overflow"),
        (0, adjust("1", "x"), "err:amount_overflow"),
        (0, usage(MAX), "usage -9223372036854.775807 0 0"),
        (0, grant(MAX), &format!("grant {MAX} {MAX} 0")),
    ]);
}

#[test]
fn held_credits_count_towards_the_total() {
    // Otherwise releasing the hold would take the total past what an amount can hold.
    let mut h = Harness::new();
    h.ok(purchase("1000", Some(Status::Processing)));
    h.ok(grant(MAX));
    h.ok(hold("1000"));
    assert_eq!(h.err(grant("1000")).code(), "amount_overflow");
    assert_eq!(h.err(adjust("1000", "x")).code(), "amount_overflow");
    assert_eq!(h.err(settle("pur_1", Status::Succeeded)).code(), "amount_overflow");
    h.ok(release("hold_3"));
    assert_eq!(h.state.available(), Micros::MAX);
    h.verify();
}

#[test]
fn refund_beyond_the_representable_total_is_refused() {
    let mut h = Harness::new();
    h.ok(grant(MAX));
    h.ok(usage("1000"));
    h.ok(grant("1000"));
    assert_eq!(h.err(refund("use_2", None)).code(), "amount_overflow");
    h.ok(usage("1"));
    h.ok(refund("use_2", Some("1")));
    assert_eq!(h.state.available(), Micros::MAX);
    h.verify();
}

#[test]
fn period_usage_overflow_refuses_the_debit_and_changes_nothing() {
    let mut h = Harness::new();
    h.ok(grant(MAX));
    h.ok(usage(MAX));
    h.ok(grant("5"));
    h.ok(hold("5"));
    assert_eq!(h.err(debit("hold_4", None)).code(), "amount_overflow");
    assert_eq!(h.err(debit("hold_4", Some("1"))).code(), "amount_overflow");
    h.ok(release("hold_4"));
    h.verify();
}

// ---------------------------------------------------------------------------
// Property test: random sequences against an independent model
// ---------------------------------------------------------------------------

/// A block in the model. Blocks are never removed, so their index is their
/// creation order.
#[derive(Clone, Debug)]
struct MBlock {
    pool: Pool,
    remaining: i64,
    expires_at: Option<Timestamp>,
}

/// Part of an amount: from block `block`, or from the overdraft.
#[derive(Clone, Debug)]
struct MDraw {
    block: Option<usize>,
    amount: i64,
}

#[derive(Clone, Debug)]
struct MRec {
    id: String,
    is_hold: bool,
    amount: i64,
    status: RecordStatus,
    captured: i64,
    refunded: i64,
    draws: Vec<MDraw>,
    timeout_at: Option<Timestamp>,
    /// Released by the timer.
    timed_out: bool,
}

impl MRec {
    /// Why a caller's debit or release of this hold at `now` is refused:
    /// past its time (released by the timer or not yet) is `hold_expired`,
    /// otherwise settled is `hold_already_settled`.
    fn settle_refusal(&self, now: Timestamp) -> Option<&'static str> {
        let past_time = self.timeout_at.is_some_and(|t| t <= now);
        match self.status {
            RecordStatus::Open if past_time => Some("hold_expired"),
            RecordStatus::Open => None,
            RecordStatus::Released if self.timed_out => Some("hold_expired"),
            _ => Some("hold_already_settled"),
        }
    }
}

#[derive(Clone, Debug)]
struct MPurchase {
    id: String,
    amount: i64,
    expires_at: Option<Timestamp>,
    status: RecordStatus,
}

/// What the model expects of one operation.
#[derive(Debug, PartialEq)]
enum Expect {
    Events,
    Noop,
    Refused(&'static str),
}

struct Model {
    limit: i64,
    expiring_first: bool,
    order: Vec<Pool>,
    blocks: Vec<MBlock>,
    debt: i64,
    held: i64,
    period_usage: i64,
    period_end: Timestamp,
    recs: Vec<MRec>,
    purchases: Vec<MPurchase>,
    /// A record created by the last operation, waiting for its id.
    new_rec: Option<bool>,
}

fn next_month_utc(t: Timestamp) -> Timestamp {
    let d = t.to_zoned(TimeZone::UTC).date().first_of_month().checked_add(1.month()).unwrap();
    d.to_zoned(TimeZone::UTC).unwrap().timestamp()
}

fn slice(draws: &[MDraw], lo: i64, hi: i64) -> Vec<MDraw> {
    let mut out = Vec::new();
    let mut offset = 0;
    for d in draws {
        let (s, e) = (offset, offset + d.amount);
        offset = e;
        let (a, b) = (s.max(lo), e.min(hi));
        if b > a {
            out.push(MDraw { block: d.block, amount: b - a });
        }
    }
    out
}

impl Model {
    fn new(settings: &OrgSettings, now: Timestamp) -> Self {
        Model {
            limit: settings.overdraft_limit.micros(),
            expiring_first: settings.expiring_first,
            order: settings.consumption_order.clone(),
            blocks: Vec::new(),
            debt: 0,
            held: 0,
            period_usage: 0,
            period_end: next_month_utc(now),
            recs: Vec::new(),
            purchases: Vec::new(),
            new_rec: None,
        }
    }

    fn expired(b: &MBlock, now: Timestamp) -> bool {
        b.expires_at.is_some_and(|t| t <= now)
    }

    fn available(&self) -> i64 {
        self.blocks.iter().map(|b| b.remaining).sum::<i64>() - self.debt
    }

    fn live(&self, now: Timestamp) -> i64 {
        self.blocks.iter().filter(|b| !Self::expired(b, now)).map(|b| b.remaining).sum::<i64>() - self.debt
    }

    fn pool_total(&self, p: Pool) -> i64 {
        self.blocks.iter().filter(|b| b.pool == p).map(|b| b.remaining).sum()
    }

    fn can_take(&self, amount: i64, now: Timestamp) -> bool {
        self.live(now) - amount >= -self.limit
    }

    fn anything_to_lapse(&self, now: Timestamp) -> bool {
        self.blocks.iter().any(|b| b.remaining > 0 && Self::expired(b, now))
    }

    fn lapse(&mut self, now: Timestamp) {
        for b in &mut self.blocks {
            if Self::expired(b, now) {
                b.remaining = 0;
            }
        }
    }

    fn roll(&mut self, now: Timestamp) {
        if now >= self.period_end {
            self.period_usage = 0;
            self.period_end = next_month_utc(now);
        }
    }

    /// Takes `amount` (already checked) after lapsing what expired.
    fn take(&mut self, amount: i64, now: Timestamp) -> Vec<MDraw> {
        self.lapse(now);
        let rank = |p: Pool| self.order.iter().position(|q| *q == p).unwrap();
        let mut idx: Vec<usize> = (0..self.blocks.len()).filter(|&i| self.blocks[i].remaining > 0).collect();
        idx.sort_by_key(|&i| {
            let b = &self.blocks[i];
            let exp = if self.expiring_first { b.expires_at.map_or(i128::MAX, |t| t.as_nanosecond()) } else { 0 };
            (exp, rank(b.pool), i)
        });
        let mut left = amount;
        let mut draws = Vec::new();
        for i in idx {
            if left == 0 {
                break;
            }
            let t = left.min(self.blocks[i].remaining);
            self.blocks[i].remaining -= t;
            left -= t;
            draws.push(MDraw { block: Some(i), amount: t });
        }
        if left > 0 {
            self.debt += left;
            draws.push(MDraw { block: None, amount: left });
        }
        draws
    }

    fn give_back(&mut self, draws: &[MDraw], now: Timestamp) {
        for d in draws {
            match d.block {
                Some(i) => self.blocks[i].remaining += d.amount,
                None => self.debt -= d.amount.min(self.debt),
            }
        }
        self.lapse(now);
    }

    fn add_block(&mut self, pool: Pool, amount: i64, expires_at: Option<Timestamp>, now: Timestamp) {
        self.lapse(now);
        self.blocks.push(MBlock { pool, remaining: amount, expires_at });
    }

    fn holds(&self) -> Vec<usize> {
        (0..self.recs.len()).filter(|&i| self.recs[i].is_hold).collect()
    }

    fn release(&mut self, i: usize, now: Timestamp) {
        self.lapse(now);
        let r = &mut self.recs[i];
        r.status = RecordStatus::Released;
        self.held -= r.amount;
        let draws = r.draws.clone();
        self.give_back(&draws, now);
    }

    /// Predicts `op` at `now` and, unless it is refused, applies it.
    fn step(&mut self, op: &POp, now: Timestamp) -> (Op, Expect) {
        use Expect::*;
        let micros = Micros::from_micros;
        let in_secs = |s: u32| now.checked_add((s as i64).seconds()).unwrap();
        self.new_rec = None;
        match *op {
            POp::Advance(_) => unreachable!(),
            POp::Credit { kind, pool, amount, expires_in } => {
                let expires_at = expires_in.map(in_secs);
                let (op, pool) = match kind {
                    0 => (grant_to(pool, "1", expires_at), pool),
                    1 => {
                        (Op::Credit(CreditOp { expires_at, ..credit(CreditKind::SubscriptionCredit, "1") }), Pool::Plan)
                    }
                    2 => (
                        Op::Credit(CreditOp { expires_at, code: Some("C".into()), ..credit(CreditKind::Voucher, "1") }),
                        Pool::Voucher,
                    ),
                    3 => (Op::Credit(CreditOp { expires_at, ..credit(CreditKind::Purchase, "1") }), Pool::Prepaid),
                    _ => (
                        Op::Adjustment {
                            amount: micros(amount),
                            reason: "bonus".into(),
                            pool: Some(pool),
                            expires_at,
                            ctx: ctx(),
                        },
                        pool,
                    ),
                };
                let op = match op {
                    Op::Credit(c) => Op::Credit(CreditOp { amount: micros(amount), ..c }),
                    other => other,
                };
                self.roll(now);
                self.add_block(pool, amount, expires_at, now);
                if kind == 3 {
                    self.purchases.push(MPurchase {
                        id: String::new(),
                        amount,
                        expires_at,
                        status: RecordStatus::Succeeded,
                    });
                    self.new_rec = Some(false);
                }
                (op, Events)
            }
            POp::PurchaseProcessing { amount, expires_in } => {
                let expires_at = expires_in.map(in_secs);
                let op = Op::Credit(CreditOp {
                    amount: micros(amount),
                    expires_at,
                    status: Some(Status::Processing),
                    ..credit(CreditKind::Purchase, "1")
                });
                self.roll(now);
                self.lapse(now);
                self.purchases.push(MPurchase {
                    id: String::new(),
                    amount,
                    expires_at,
                    status: RecordStatus::Processing,
                });
                self.new_rec = Some(false);
                (op, Events)
            }
            POp::Settle { idx, ok } => {
                let status = if ok { Status::Succeeded } else { Status::Failed };
                if self.purchases.is_empty() {
                    return (settle("pur_0", status), Refused("purchase_not_found"));
                }
                let i = idx % self.purchases.len();
                let p = self.purchases[i].clone();
                let op = settle(&p.id, status);
                if p.status != RecordStatus::Processing {
                    return (op, Refused("purchase_already_settled"));
                }
                if ok && p.expires_at.is_some_and(|t| t <= now) {
                    return (op, Refused("validation_error"));
                }
                self.roll(now);
                self.lapse(now);
                if ok {
                    self.add_block(Pool::Prepaid, p.amount, p.expires_at, now);
                    self.purchases[i].status = RecordStatus::Succeeded;
                } else {
                    self.purchases[i].status = RecordStatus::Failed;
                }
                (op, Events)
            }
            POp::Hold { amount, timeout } => {
                let op = Op::Hold(HoldOp { amount: micros(amount), timeout_seconds: Some(timeout as u64), ctx: ctx() });
                if timeout == 0 || timeout as u64 > MAX_HOLD_TIMEOUT_SECONDS {
                    return (op, Refused("validation_error"));
                }
                if !self.can_take(amount, now) {
                    return (op, Refused("insufficient_credits"));
                }
                self.roll(now);
                let draws = self.take(amount, now);
                self.held += amount;
                self.recs.push(MRec {
                    id: String::new(),
                    is_hold: true,
                    amount,
                    status: RecordStatus::Open,
                    captured: 0,
                    refunded: 0,
                    draws,
                    timeout_at: Some(in_secs(timeout)),
                    timed_out: false,
                });
                self.new_rec = Some(true);
                (op, Events)
            }
            POp::Debit { idx, percent } => {
                let holds = self.holds();
                if holds.is_empty() {
                    return (debit("hold_0", None), Refused("hold_not_found"));
                }
                let i = holds[idx % holds.len()];
                let r = self.recs[i].clone();
                let take = percent.map_or(r.amount, |p| r.amount * p as i64 / 100);
                let op = Op::Debit { hold_id: r.id.clone(), amount: percent.map(|_| micros(take)), ctx: ctx() };
                if let Some(code) = r.settle_refusal(now) {
                    return (op, Refused(code));
                }
                if take <= 0 {
                    return (op, Refused("validation_error"));
                }
                if take > r.amount {
                    return (op, Refused("debit_exceeds_hold"));
                }
                self.roll(now);
                self.lapse(now);
                self.held -= r.amount;
                self.period_usage += take;
                let rec = &mut self.recs[i];
                rec.status = RecordStatus::Debited;
                rec.captured = take;
                self.give_back(&slice(&r.draws, take, r.amount), now);
                (op, Events)
            }
            POp::Release { idx } => {
                let holds = self.holds();
                if holds.is_empty() {
                    return (release("hold_0"), Refused("hold_not_found"));
                }
                let i = holds[idx % holds.len()];
                let op = release(&self.recs[i].id);
                if let Some(code) = self.recs[i].settle_refusal(now) {
                    return (op, Refused(code));
                }
                self.roll(now);
                self.release(i, now);
                (op, Events)
            }
            POp::Timeout { idx } => {
                // Mostly the timer's case: an open hold.
                let open: Vec<usize> =
                    self.holds().into_iter().filter(|&i| self.recs[i].status == RecordStatus::Open).collect();
                let holds = if open.is_empty() || idx % 4 == 0 { self.holds() } else { open };
                if holds.is_empty() {
                    self.roll(now);
                    return (timeout("hold_0"), Noop);
                }
                let i = holds[idx / 4 % holds.len()];
                let op = timeout(&self.recs[i].id);
                self.roll(now);
                let r = &self.recs[i];
                if r.status != RecordStatus::Open || r.timeout_at.is_none_or(|t| t > now) {
                    return (op, Noop);
                }
                self.release(i, now);
                self.recs[i].timed_out = true;
                (op, Events)
            }
            POp::Usage { amount } => {
                let op = usage(&micros(amount).to_string());
                if !self.can_take(amount, now) {
                    return (op, Refused("insufficient_credits"));
                }
                self.roll(now);
                let draws = self.take(amount, now);
                self.period_usage += amount;
                self.recs.push(MRec {
                    id: String::new(),
                    is_hold: false,
                    amount,
                    status: RecordStatus::Consumed,
                    captured: amount,
                    refunded: 0,
                    draws,
                    timeout_at: None,
                    timed_out: false,
                });
                self.new_rec = Some(true);
                (op, Events)
            }
            POp::Refund { idx, percent } => {
                // Some refunds go to a purchase or to nothing.
                let n = self.recs.len() + self.purchases.len() + 1;
                let pick = idx % n;
                if pick >= self.recs.len() {
                    let id = self.purchases.get(pick - self.recs.len()).map_or("use_0".to_string(), |p| p.id.clone());
                    return (refund(&id, None), Refused("refund_target_not_found"));
                }
                let r = self.recs[pick].clone();
                let refundable = r.captured - r.refunded;
                let amount = percent.map_or(refundable, |p| refundable * p as i64 / 100);
                let op = Op::Refund { refers_to: r.id.clone(), amount: percent.map(|_| micros(amount)), ctx: ctx() };
                if r.is_hold && r.status != RecordStatus::Debited {
                    return (op, Refused("not_refundable"));
                }
                if amount <= 0 {
                    return (op, Refused("validation_error"));
                }
                if amount > refundable {
                    return (op, Refused("refund_exceeds_consumed"));
                }
                self.roll(now);
                self.lapse(now);
                self.recs[pick].refunded += amount;
                self.period_usage -= amount.min(self.period_usage);
                self.give_back(&slice(&r.draws, refundable - amount, refundable), now);
                (op, Events)
            }
            POp::AdjustDown { amount } => {
                let op = adjust(&(-amount).to_string(), "correction");
                let op = match op {
                    Op::Adjustment { reason, pool, expires_at, ctx, .. } => {
                        Op::Adjustment { amount: micros(-amount), reason, pool, expires_at, ctx }
                    }
                    _ => unreachable!(),
                };
                if !self.can_take(amount, now) {
                    return (op, Refused("insufficient_credits"));
                }
                self.roll(now);
                self.take(amount, now);
                (op, Events)
            }
            POp::Billing { amount } => {
                let op = Op::Billing { amount: micros(-amount), ctx: ctx() };
                if !self.can_take(amount, now) {
                    return (op, Refused("insufficient_credits"));
                }
                self.roll(now);
                self.take(amount, now);
                (op, Events)
            }
            POp::ExpireDue => {
                self.roll(now);
                if !self.anything_to_lapse(now) {
                    return (Op::ExpireDue, Noop);
                }
                self.lapse(now);
                (Op::ExpireDue, Events)
            }
            POp::Late { amount, .. } => self.step(&POp::Usage { amount }, now),
        }
    }

    /// Compares the model with the ledger's state.
    fn compare(&self, st: &OrgState) {
        assert_eq!(st.available().micros(), self.available(), "available");
        assert_eq!(st.held.micros(), self.held, "held");
        assert_eq!(st.debt.micros(), self.debt, "overdraft used");
        for p in Pool::ALL {
            assert_eq!(st.pool_total(*p).micros(), self.pool_total(*p), "pool {p}");
        }
        assert_eq!(st.period_usage.micros(), self.period_usage, "period usage");
        assert!(st.available().micros() >= -self.limit, "below the overdraft limit");
        assert!(st.held.micros() >= 0, "held is negative");
        let open: i64 = self.recs.iter().filter(|r| r.status == RecordStatus::Open).map(|r| r.amount).sum();
        assert_eq!(open, self.held, "model: open holds add up to held");
        for r in &self.recs {
            let l = &st.records[&r.id];
            assert_eq!(l.kind, if r.is_hold { RecordKind::Hold } else { RecordKind::Usage }, "{}", r.id);
            assert_eq!(l.status, r.status, "{}", r.id);
            assert_eq!(l.amount.micros(), r.amount, "{}", r.id);
            assert_eq!(l.captured.micros(), r.captured, "{}", r.id);
            assert_eq!(l.refunded.micros(), r.refunded, "{}", r.id);
            assert_eq!(l.expires_at, r.timeout_at, "{}", r.id);
            let drawn: i64 = l.draws.iter().map(|d| d.amount.micros()).sum();
            assert_eq!(drawn, r.amount, "{}: draws add up to the amount", r.id);
        }
        for p in &self.purchases {
            let l = &st.records[&p.id];
            assert_eq!((l.kind, l.status, l.amount.micros()), (RecordKind::Purchase, p.status, p.amount), "{}", p.id);
        }
    }
}

#[derive(Clone, Debug)]
enum POp {
    Advance(u32),
    /// kind 0 grant (to `pool`), 1 subscription credit, 2 voucher, 3 purchase, 4 adjustment (to `pool`).
    Credit {
        kind: u8,
        pool: Pool,
        amount: i64,
        expires_in: Option<u32>,
    },
    PurchaseProcessing {
        amount: i64,
        expires_in: Option<u32>,
    },
    Settle {
        idx: usize,
        ok: bool,
    },
    Hold {
        amount: i64,
        timeout: u32,
    },
    /// `percent` of the hold; `None` debits all of it.
    Debit {
        idx: usize,
        percent: Option<u8>,
    },
    Release {
        idx: usize,
    },
    Timeout {
        idx: usize,
    },
    Usage {
        amount: i64,
    },
    Refund {
        idx: usize,
        percent: Option<u8>,
    },
    AdjustDown {
        amount: i64,
    },
    Billing {
        amount: i64,
    },
    ExpireDue,
    /// A usage whose caller's clock is `back` seconds behind.
    Late {
        back: u32,
        amount: i64,
    },
}

fn amount(max_credits: i64) -> impl Strategy<Value = i64> {
    prop_oneof![(1..=max_credits).prop_map(|c| c * SCALE), 1..=max_credits * SCALE]
}

fn pop() -> impl Strategy<Value = POp> {
    let pool = prop::sample::select(Pool::ALL.to_vec());
    let expiry = prop::option::weighted(0.5, prop_oneof![3 => 1u32..=12 * HOUR as u32, 1 => 1u32..=3 * DAY as u32]);
    prop_oneof![
        4 => prop_oneof![0u32..=600, 0u32..=6 * HOUR as u32].prop_map(POp::Advance),
        5 => (0u8..5, pool, amount(40), expiry.clone())
            .prop_map(|(kind, pool, amount, expires_in)| POp::Credit { kind, pool, amount, expires_in }),
        1 => (amount(20), expiry).prop_map(|(amount, expires_in)| POp::PurchaseProcessing { amount, expires_in }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(idx, ok)| POp::Settle { idx, ok }),
        5 => (amount(30), prop_oneof![
                6 => 1u32..=6 * HOUR as u32,
                1 => 1u32..=2 * DAY as u32,
                1 => Just(MAX_HOLD_TIMEOUT_SECONDS as u32),
                1 => Just(0),
            ])
            .prop_map(|(amount, timeout)| POp::Hold { amount, timeout }),
        4 => (any::<usize>(), prop::option::of(0u8..=110)).prop_map(|(idx, percent)| POp::Debit { idx, percent }),
        2 => any::<usize>().prop_map(|idx| POp::Release { idx }),
        3 => any::<usize>().prop_map(|idx| POp::Timeout { idx }),
        4 => amount(30).prop_map(|amount| POp::Usage { amount }),
        3 => (any::<usize>(), prop::option::of(0u8..=110)).prop_map(|(idx, percent)| POp::Refund { idx, percent }),
        1 => amount(10).prop_map(|amount| POp::AdjustDown { amount }),
        1 => prop_oneof![Just(0), amount(5)].prop_map(|amount| POp::Billing { amount }),
        1 => Just(POp::ExpireDue),
        1 => (1u32..=DAY as u32, amount(5)).prop_map(|(back, amount)| POp::Late { back, amount }),
    ]
}

fn settings() -> impl Strategy<Value = OrgSettings> {
    (any::<bool>(), Just(Pool::ALL.to_vec()).prop_shuffle(), prop_oneof![Just(0i64), Just(5 * SCALE), 1..=20 * SCALE])
        .prop_map(|(expiring_first, order, limit)| {
            let mut s = OrgSettings::new("Prop", "UTC");
            s.expiring_first = expiring_first;
            s.consumption_order = order;
            s.overdraft_limit = Micros::from_micros(limit);
            s
        })
}

fn run_model(settings: OrgSettings, start_offset: u32, ops: Vec<POp>) {
    let start = ts("2026-01-25T00:00:00Z").checked_add((start_offset as i64).seconds()).unwrap();
    let mut h = Harness::from_settings(settings.clone(), start);
    let mut model = Model::new(&settings, start);
    let mut clock = start;
    for (n, op) in ops.iter().enumerate() {
        if let POp::Advance(s) = op {
            clock = clock.checked_add((*s as i64).seconds()).unwrap();
            continue;
        }
        let requested = match op {
            POp::Late { back, .. } => clock.checked_sub((*back as i64).seconds()).unwrap(),
            _ => clock,
        };
        // The ledger never goes back before its last event.
        let now = match h.state.last_at {
            Some(last) if last > requested => last,
            _ => requested,
        };
        let (ledger_op, expect) = model.step(op, now);
        let got = h.apply_at(&ledger_op, requested);
        let what = format!("op {n}: {op:?} as {ledger_op:?} at {now}");
        match (&expect, got) {
            (Expect::Refused(code), Err(e)) => assert_eq!(e.code(), *code, "{what}: {e}"),
            (Expect::Noop, Ok(None)) => {}
            (Expect::Events, Ok(Some(o))) => {
                if let Some(is_rec) = model.new_rec.take() {
                    let id = o.record.as_ref().expect("a new record").id.clone();
                    if is_rec {
                        model.recs.last_mut().unwrap().id = id;
                    } else {
                        model.purchases.last_mut().unwrap().id = id;
                    }
                }
            }
            (e, got) => panic!("{what}: model expected {e:?}, ledger gave {got:?}"),
        }
        model.compare(&h.state);
    }
    // Every hold was settled at most once: one debit and one release at most,
    // and a release after a debit only as its remainder.
    let mut per_hold: HashMap<&str, Vec<EventKind>> = HashMap::new();
    for e in &h.events {
        if let Some(id) = e.hold_id.as_deref().filter(|id| id.starts_with("hold_")) {
            per_hold.entry(id).or_default().push(e.kind);
        }
    }
    for (id, kinds) in &per_hold {
        let settles: Vec<&EventKind> =
            kinds.iter().filter(|k| matches!(k, EventKind::Debit | EventKind::Release)).collect();
        assert!(
            settles.is_empty()
                || settles == [&EventKind::Debit]
                || settles == [&EventKind::Release]
                || settles == [&EventKind::Debit, &EventKind::Release],
            "{id}: {kinds:?}"
        );
        assert_eq!(kinds[0], EventKind::Hold, "{id}");
    }
    h.verify();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_match_the_model(
        settings in settings(),
        start_offset in 0u32..(10 * DAY as u32),
        ops in prop::collection::vec(pop(), 1..60),
    ) {
        run_model(settings, start_offset, ops);
    }

    #[test]
    fn micros_text_round_trips(v in (i64::MIN + 1)..=i64::MAX) {
        let m = Micros::from_micros(v);
        let text = m.to_string();
        prop_assert_eq!(text.parse::<Micros>().unwrap(), m);
        prop_assert_eq!(serde_json::from_str::<Micros>(&serde_json::to_string(&m).unwrap()).unwrap(), m);
        prop_assert!(!text.contains('e'));
    }
}

// ---------------------------------------------------------------------------
// Names and codes the engines and the API rely on
// ---------------------------------------------------------------------------

#[test]
fn ops_name_the_record_they_need() {
    assert_eq!(settle("pur_1", Status::Failed).record_ref(), Some("pur_1"));
    assert_eq!(debit("hold_1", None).record_ref(), Some("hold_1"));
    assert_eq!(release("hold_2").record_ref(), Some("hold_2"));
    assert_eq!(timeout("hold_3").record_ref(), Some("hold_3"));
    assert_eq!(refund("use_4", None).record_ref(), Some("use_4"));
    for op in [grant("1"), hold("1"), usage("1"), adjust("1", "r"), billing("0"), Op::ExpireDue] {
        assert_eq!(op.record_ref(), None, "{op:?}");
    }
    assert_eq!(voucher("1", Some("c")).name(), "voucher");
    assert_eq!(timeout("h").name(), "timeout_hold");
}

#[test]
fn error_codes() {
    let m0 = Micros::ZERO;
    let cases = [
        (LedgerError::InsufficientCredits { available: m0, requested: m0 }, "insufficient_credits", false),
        (LedgerError::HoldNotFound("h".into()), "hold_not_found", true),
        (LedgerError::HoldAlreadySettled { hold_id: "h".into(), status: "debited" }, "hold_already_settled", false),
        (LedgerError::DebitExceedsHold { hold_id: "h".into(), held: m0, requested: m0 }, "debit_exceeds_hold", false),
        (LedgerError::PurchaseNotFound("p".into()), "purchase_not_found", true),
        (
            LedgerError::PurchaseAlreadySettled { purchase_id: "p".into(), status: "failed" },
            "purchase_already_settled",
            false,
        ),
        (LedgerError::RefundTargetNotFound("u".into()), "refund_target_not_found", true),
        (LedgerError::NotRefundable { refers_to: "h".into(), why: "x" }, "not_refundable", false),
        (
            LedgerError::RefundExceedsConsumed { refers_to: "u".into(), refundable: m0, requested: m0 },
            "refund_exceeds_consumed",
            false,
        ),
        (LedgerError::Invalid("x".into()), "validation_error", false),
        (LedgerError::Overflow, "amount_overflow", false),
        (LedgerError::BlockMissing("blk_1".into()), "broken_invariant", false),
    ];
    for (e, code, not_found) in cases {
        assert_eq!(e.code(), code);
        assert_eq!(e.is_not_found(), not_found, "{code}");
        assert!(!e.to_string().is_empty());
    }
}

/// One list of codes: each string once, each parses back to itself, and
/// each status is a client or server error.
#[test]
fn error_code_list() {
    let mut seen = std::collections::HashSet::new();
    for c in ErrorCode::ALL {
        assert!(seen.insert(c.as_str()), "{c} listed twice");
        assert_eq!(c.as_str().parse::<ErrorCode>(), Ok(*c));
        assert!((400..600).contains(&c.status()), "{c}");
    }
    assert!("no_such_code".parse::<ErrorCode>().is_err());
    assert_eq!(ErrorCode::ConversationLimitReached.status(), 409);
    assert_eq!(ErrorCode::IdentityLimitReached.status(), 409);
}

#[test]
fn names_and_seed_aliases_parse() {
    for k in EventKind::ALL {
        assert_eq!(k.as_str().parse::<EventKind>().unwrap(), *k);
        assert_eq!(serde_json::to_string(k).unwrap(), format!("\"{}\"", k.as_str()));
        assert!(!k.title().is_empty());
    }
    for (alias, kind) in [
        ("prepaid_purchase", EventKind::Purchase),
        ("reservation", EventKind::Hold),
        ("reservation_released", EventKind::Release),
        ("charged", EventKind::Usage),
    ] {
        assert_eq!(alias.parse::<EventKind>().unwrap(), kind);
    }
    assert_eq!("add_on".parse::<Pool>().unwrap(), Pool::Prepaid);
    assert_eq!("success".parse::<Status>().unwrap(), Status::Succeeded);
    let e = "Grant".parse::<EventKind>().unwrap_err();
    assert!(e.to_string().contains("expected one of"), "{e}");
}

/// The hash chain: any change to a stored event's content (or an event
/// removed or swapped) breaks the link at that event; the state knows the
/// last hash so a truncated tail is seen too.
#[test]
fn hash_chain_shows_the_first_changed_event() {
    let mut h = Harness::new();
    h.ok(grant("100"));
    let hold_id = h.ok(hold("30")).record.unwrap().id;
    h.ok(usage("5"));
    h.ok(Op::Release { hold_id, ctx: EventCtx::default() });
    let hashes: Vec<String> = chain::hash_all(&ChainHash::GENESIS, &h.events).iter().map(|x| x.to_string()).collect();
    let check = |events: &[Event], hashes: &[String]| {
        let mut v = Verifier::new();
        for (e, x) in events.iter().zip(hashes) {
            v.push_chained(e, Some(x));
        }
        v.finish(&h.state)
    };
    assert!(check(&h.events, &hashes).ok);
    type Tamper = fn(&mut Event);
    let cases: [(&str, usize, Tamper); 6] = [
        ("description", 1, |e| e.description = Some("edited".into())),
        ("amount", 2, |e| e.amount = Micros::from_micros(e.amount.micros() + 1)),
        ("user", 0, |e| e.user_email = Some("x@y.z".into())),
        ("metadata", 3, |e| e.metadata = Some(serde_json::json!({"a": 1}))),
        ("time", 2, |e| e.created_at = e.created_at.checked_add(1.second()).unwrap()),
        ("empty vs none", 1, |e| e.project_id = Some(String::new())),
    ];
    for (what, i, tamper) in cases {
        let mut events = h.events.clone();
        tamper(&mut events[i]);
        let report = check(&events, &hashes);
        let link = report.broken_link.unwrap_or_else(|| panic!("{what}: not caught"));
        assert_eq!(link.seq, events[i].seq, "{what}");
        assert_eq!(link.stored_hash.as_deref(), Some(hashes[i].as_str()));
        assert!(!report.ok);
    }
    // The whole chain recomputed after an edit still differs from the
    // state's last hash.
    let mut events = h.events.clone();
    events[1].description = Some("edited".into());
    let rewritten: Vec<String> = chain::hash_all(&ChainHash::GENESIS, &events).iter().map(|x| x.to_string()).collect();
    let report = check(&events, &rewritten);
    assert!(!report.ok && report.problems.iter().any(|p| p.contains("last hash")), "{report:?}");
    // A missing or malformed hash is a broken link too.
    let mut bad = hashes.clone();
    bad[2] = "not hex".into();
    assert_eq!(check(&h.events, &bad).broken_link.map(|l| l.seq), Some(3));
    // Key order inside metadata does not matter (a database may reorder).
    let mut e = h.events[0].clone();
    e.metadata = Some(serde_json::from_str(r#"{"b": 1, "a": [1, {"d": 2, "c": 3}]}"#).unwrap());
    let mut f = e.clone();
    f.metadata = Some(serde_json::from_str(r#"{"a": [1, {"c": 3, "d": 2}], "b": 1}"#).unwrap());
    assert_eq!(chain::hash(&ChainHash::GENESIS, &e), chain::hash(&ChainHash::GENESIS, &f));
}

/// `check_invariants` catches each invariant `OrgState`'s docs state, one
/// broken field at a time, and passes the state the operations left.
#[test]
fn check_invariants_catches_each_stated_invariant() {
    let mut settings = OrgSettings::new("Acme", "UTC");
    settings.overdraft_limit = m("5");
    let mut state = OrgState::new("o", settings, ts(T0)).unwrap();
    state.apply(&grant("10"), ts(T0), None).unwrap();
    state.apply(&Op::Usage { amount: m("12"), ctx: ctx() }, at(1), None).unwrap();
    state.check_invariants().unwrap();
    state.check_open_holds().unwrap();

    type Breaks = fn(&mut OrgState);
    let cases: Vec<(&str, Breaks, &str)> = vec![
        ("held negative", |s| s.held = m("-1"), "held is negative"),
        ("debt negative", |s| s.debt = m("-1"), "overdraft used is negative"),
        ("debt over the limit", |s| s.debt = m("6"), "over the limit"),
        ("empty block", |s| s.blocks.push(Block { remaining: Micros::ZERO, ..block() }), "is not positive"),
        ("period usage negative", |s| s.period_usage = m("-1"), "period usage is negative"),
        ("period backwards", |s| s.period_end = s.period_start, "not before its end"),
        ("events without a time", |s| s.last_at = None, "does not match the last event time"),
        ("a time without events", |s| s.seq = 0, "does not match the last event time"),
    ];
    fn block() -> Block {
        Block { id: "blk_99".into(), pool: Pool::Promotional, remaining: m("1"), expires_at: None, rollovers: 0 }
    }
    for (name, breaks, expected) in cases {
        let mut broken = state.clone();
        breaks(&mut broken);
        let err = broken.check_invariants().expect_err(name);
        assert!(err.0.contains(expected), "{name}: {err}");
    }
}
