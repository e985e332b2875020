//! Extending holds (more credits or units, a later timeout) and checking
//! an operation before acting, on every engine alike.

use creditd_core::prices::{PriceRequest, Quantity};
use creditd_core::{AccessOp, Actor, CapSubject, EventKind, ExtendOp, OrgState, PricedOp};
use std::collections::BTreeMap;

use super::{example_book, priced_hold, priced_usage, secs, use_book};
use crate::*;

fn q(text: &str) -> Quantity {
    text.parse().unwrap_or_else(|e| panic!("quantity {text}: {e:?}"))
}

/// A plain extension of `hold_id`: `amount` more and/or a timeout.
pub fn extend(hold_id: &str, amount: Option<&str>, timeout_seconds: Option<u64>) -> Op {
    Op::ExtendHold(ExtendOp {
        hold_id: hold_id.to_string(),
        amount: amount.map(m),
        timeout_seconds,
        ctx: EventCtx::default(),
    })
}

/// A priced extension of `hold_id` by `quantity` more units.
pub fn extend_by(hold_id: &str, quantity: &str) -> Op {
    Op::Priced(PricedOp::Extend {
        hold_id: hold_id.to_string(),
        quantity: q(quantity),
        timeout_seconds: None,
        ctx: EventCtx::default(),
    })
}

fn set_cap(subject: CapSubject, limit: &str) -> Op {
    Op::Access(AccessOp::SetCap { subject, limit: Some(m(limit)) })
}

fn own_hold_event(o: &Outcome) -> &Event {
    o.events.iter().find(|e| e.kind == EventKind::Hold).unwrap_or_else(|| panic!("no hold event in {:?}", o.events))
}

/// A plain hold grows by an amount and/or a later timeout: one `hold`
/// event naming it with the credits added, the later debit captures up to
/// the new total, the timer waits for the new timeout. Refused like a new
/// hold (credits, caps) or like a debit (settled, expired, unknown), and
/// for bad input, writing nothing; idempotent; in a batch; after a restart
/// and through an import the extended hold is the same.
pub async fn hold_extends_and_debits_up_to_the_new_total(ctx: &mut Ctx) {
    let s = ctx.store.clone();
    new_org(s.as_ref(), "x").await;
    ok(s.as_ref(), "x", grant("100")).await;
    let h = record_id(&ok(s.as_ref(), "x", hold("10")).await);
    let o = ok(s.as_ref(), "x", extend(&h, Some("5"), None)).await;
    let e = own_hold_event(&o);
    assert_eq!((e.amount, e.hold_id.as_deref()), (m("-5"), Some(h.as_str())));
    assert_eq!(e.description.as_deref(), Some(format!("Hold {h} extended").as_str()));
    assert_eq!(o.record.as_ref().map(|r| r.amount), Some(m("15")));
    let b = s.balance("x").await.expect("balance");
    assert_eq!((b.available, b.held), (m("85"), m("15")));

    // Refusals, nothing written.
    let seq = s.balance("x").await.expect("balance").seq;
    let refused = [
        (extend(&h, None, None), "validation_error"),
        (extend(&h, Some("0"), None), "validation_error"),
        (extend(&h, Some("-1"), None), "validation_error"),
        // The hold runs an hour from its creation: 10 s from now is earlier.
        (extend(&h, None, Some(10)), "validation_error"),
        (extend(&h, None, Some(7 * 24 * 3600 + 1)), "validation_error"),
        (extend(&h, Some("85.000001"), None), "insufficient_credits"),
        (extend_by(&h, "1"), "validation_error"),
        (extend("hold_999", Some("1"), None), "hold_not_found"),
    ];
    for (op, want) in refused {
        let name = format!("{op:?}");
        assert_eq!(code(&run(s.as_ref(), "x", op).await), want, "{name}");
    }
    assert_eq!(s.balance("x").await.expect("balance").seq, seq, "refusals write nothing");

    // A later timeout alone: a `hold` event of zero; the timer waits for it.
    let o = ok(s.as_ref(), "x", extend(&h, None, Some(7200))).await;
    assert_eq!(own_hold_event(&o).amount, Micros::ZERO);
    let until = o.record.as_ref().and_then(|r| r.expires_at).expect("expires_at");
    assert_eq!(until, ctx.clock.now() + secs(7200));
    ctx.clock.advance(secs(3601));
    s.tick().await.expect("tick");
    assert_eq!(s.balance("x").await.expect("balance").held, m("15"), "the old timeout no longer applies");

    // Idempotent: a retry answers the first result and writes nothing more.
    let first = run_key(s.as_ref(), "x", extend(&h, Some("1"), None), "ext-1").await.expect("first");
    let again = run_key(s.as_ref(), "x", extend(&h, Some("1"), None), "ext-1").await.expect("again");
    assert_eq!(first, again);
    assert_eq!(s.balance("x").await.expect("balance").held, m("16"));
    assert_eq!(code(&run_key(s.as_ref(), "x", extend(&h, Some("2"), None), "ext-1").await), "idempotency_conflict");

    // In one engine batch with the debit that follows it.
    let cmds = vec![
        Command::new("x", extend(&h, Some("4"), None), None),
        Command::new("x", debit(&h, Some("20.000001")), None),
        Command::new("x", debit(&h, Some("19")), None),
    ];
    let got: Vec<&'static str> = s.execute(cmds).await.iter().map(code).collect();
    assert_eq!(got, vec!["ok", "debit_exceeds_hold", "ok"]);
    let b = s.balance("x").await.expect("balance");
    assert_eq!((b.available, b.held), (m("81"), Micros::ZERO));
    // Settled: refused as a debit would be.
    assert_eq!(code(&run(s.as_ref(), "x", extend(&h, Some("1"), None)).await), "hold_already_settled");

    // Expired (the timer has not run yet): refused, and released.
    let late = record_id(&ok(s.as_ref(), "x", hold_for("3", 60)).await);
    ctx.clock.advance(secs(61));
    assert_eq!(code(&run(s.as_ref(), "x", extend(&late, Some("1"), None)).await), "hold_expired");
    assert_eq!(s.balance("x").await.expect("balance").held, Micros::ZERO);

    // Caps count the added credits like a new hold's.
    let mut by_ana = hold("5");
    if let Op::Hold(h) = &mut by_ana {
        h.ctx.user_email = Some("ana@x.example".into());
    }
    ok(s.as_ref(), "x", set_cap(CapSubject::Member("ana@x.example".into()), "8")).await;
    let capped = record_id(&ok(s.as_ref(), "x", by_ana).await);
    ok(s.as_ref(), "x", extend(&capped, Some("3"), None)).await;
    assert_eq!(code(&run(s.as_ref(), "x", extend(&capped, Some("0.000001"), None)).await), "cap_exceeded");
    // A plain member extends only their own holds: another's is not found
    // (not even its cap is named).
    let bob = Actor { key_id: None, member_email: Some("bob@x.example".into()), own_holds_only: true };
    let by_bob = Command::new("x", extend(&capped, Some("1"), None), None).by(Some(bob));
    assert_eq!(code(&creditd_store::execute_one(s.as_ref(), by_bob).await), "hold_not_found");
    // Released, the whole extended hold goes back to the cap.
    ok(s.as_ref(), "x", release(&capped)).await;
    let again = record_id(
        &ok(s.as_ref(), "x", {
            let mut op = hold("8");
            if let Op::Hold(h) = &mut op {
                h.ctx.user_email = Some("ana@x.example".into());
            }
            op
        })
        .await,
    );

    // A restart keeps the extended hold; an import carries the extension.
    let open = record_id(&ok(s.as_ref(), "x", hold("2")).await);
    ok(s.as_ref(), "x", extend(&open, Some("3"), Some(7200))).await;
    let before = history(s.as_ref(), "x").await;
    drop(s);
    ctx.reopen().await;
    let s = ctx.store.clone();
    assert_eq!(history(s.as_ref(), "x").await, before);
    let mut events = before.clone();
    events.reverse();
    for e in &mut events {
        e.org_id = "y".into();
    }
    s.import("y", OrgSettings::new("Y", "UTC"), events).await.expect("import");
    let v = s.verify("y").await.expect("verify");
    assert!(v.ok && v.chain_checked, "{v:?}");
    for org in ["x", "y"] {
        assert_eq!(code(&run(s.as_ref(), org, debit(&open, Some("5.000001"))).await), "debit_exceeds_hold", "{org}");
        let o = ok(s.as_ref(), org, debit(&open, Some("5"))).await;
        assert_eq!(o.record.as_ref().map(|r| (r.amount, r.captured)), Some((m("5"), m("5"))), "{org}");
    }
    ok(s.as_ref(), "x", release(&again)).await;
}

/// A priced hold grows by quantity, priced with the hold's own line and
/// version even when a later version is in force (the credits it reserves
/// were quoted at that price, and its debit prices with that version too);
/// the units join the estimate; holds and their extensions do not move the
/// tier position.
pub async fn priced_hold_extends_at_its_version(ctx: &mut Ctx) {
    let s = ctx.store.clone();
    s.price_books().put("standard", example_book(None)).await.expect("v1");
    let at = ctx.clock.now() + secs(1800);
    let mut dearer = example_book(Some(at));
    dearer.prices[0].credits_per_unit = Some(m("3"));
    s.price_books().put("standard", dearer).await.expect("v2");
    new_org(s.as_ref(), "pe").await;
    ok(s.as_ref(), "pe", grant("5000")).await;
    ok(s.as_ref(), "pe", use_book("standard")).await;

    let h = record_id(&ok(s.as_ref(), "pe", priced_hold("image_generation", "2", &[])).await);
    ctx.clock.advance(secs(1800));
    // v2 in force now; the extension still prices at the hold's v1.
    let o = ok(s.as_ref(), "pe", extend_by(&h, "1")).await;
    let e = own_hold_event(&o);
    assert_eq!(e.amount, m("-2.5"));
    let p = e.pricing.as_ref().expect("pricing");
    assert_eq!((p.quantity, p.version, p.unit_price), (q("1"), 1, Some(m("2.5"))));
    let r = o.record.as_ref().expect("hold");
    assert_eq!((r.amount, r.pricing.as_ref().map(|p| p.quantity)), (m("7.5"), Some(q("3"))));
    // A new hold now is at v2.
    let o = ok(s.as_ref(), "pe", priced_hold("image_generation", "1", &[])).await;
    assert_eq!(own_hold_event(&o).amount, m("-3"));
    let newer = record_id(&o);
    ok(s.as_ref(), "pe", release(&newer)).await;
    // Refusals: by amount, zero units, unknown hold; nothing written.
    let seq = s.balance("pe").await.expect("balance").seq;
    assert_eq!(code(&run(s.as_ref(), "pe", extend(&h, Some("1"), None)).await), "validation_error");
    assert_eq!(code(&run(s.as_ref(), "pe", extend_by(&h, "0")).await), "validation_error");
    assert_eq!(code(&run(s.as_ref(), "pe", extend_by("hold_999", "1")).await), "hold_not_found");
    assert_eq!(code(&run(s.as_ref(), "pe", extend_by(&h, "100000")).await), "insufficient_credits");
    assert_eq!(s.balance("pe").await.expect("balance").seq, seq);
    // A timeout alone is fine on a priced hold.
    ok(s.as_ref(), "pe", extend(&h, None, Some(7200))).await;
    // The debit's default quantity is the grown estimate, at v1.
    let o = ok(s.as_ref(), "pe", debit(&h, None)).await;
    let d = o.events.iter().find(|e| e.kind == EventKind::Debit).expect("debit");
    assert_eq!((d.amount, d.pricing.as_ref().map(|p| (p.quantity, p.version))), (m("-7.5"), Some((q("3"), 1))));

    // Tiers: an extended hold does not move the position; its debit does.
    let t = record_id(&ok(s.as_ref(), "pe", priced_hold("enrichment", "600", &[])).await);
    let o = ok(s.as_ref(), "pe", extend_by(&t, "600")).await;
    assert_eq!(own_hold_event(&o).amount, m("-600"), "still in the first band: holds do not count");
    let o = ok(
        s.as_ref(),
        "pe",
        Op::Priced(PricedOp::Debit { hold_id: t, quantity: Some(q("1200")), ctx: EventCtx::default() }),
    )
    .await;
    let d = o.events.iter().find(|e| e.kind == EventKind::Debit).expect("debit");
    assert_eq!(d.amount, m("-1100"), "1,000 at 1 and 200 at 0.5");
    let o = ok(s.as_ref(), "pe", priced_usage("enrichment", "2", &[])).await;
    assert_eq!(o.events.iter().find(|e| e.kind == EventKind::Usage).map(|e| e.amount), Some(m("-1")));
}

fn check_now(state: &OrgState, s: &dyn Store, op: &Op, actor: Option<&Actor>) -> creditd_core::CheckAnswer {
    state.check(op, actor, s.now(), s.price_books().catalogue().as_ref()).expect("a check answers")
}

/// A check answers what the operation itself would (allowed, or the same
/// error code), the cost with the price breakdown, the credits available
/// and the caps' room left, from the state each engine stores; it writes
/// nothing.
pub async fn check_agrees_with_the_operation(ctx: &mut Ctx) {
    let s = ctx.store.clone();
    s.price_books().put("standard", example_book(None)).await.expect("book");
    new_org(s.as_ref(), "c").await;
    ok(s.as_ref(), "c", grant("1100")).await;
    ok(s.as_ref(), "c", use_book("standard")).await;
    ok(s.as_ref(), "c", set_cap(CapSubject::Member("ana@c.example".into()), "20")).await;
    ok(s.as_ref(), "c", set_cap(CapSubject::Project("p1".into()), "50")).await;
    ok(s.as_ref(), "c", priced_usage("enrichment", "990", &[])).await;
    let ana = Actor { key_id: None, member_email: Some("ana@c.example".into()), own_holds_only: true };
    let with = |mut op: Op, email: Option<&str>, project: Option<&str>| {
        let ctx = match &mut op {
            Op::Usage { ctx, .. } => ctx,
            Op::Priced(p) => p.ctx_mut(),
            _ => unreachable!(),
        };
        ctx.user_email = email.map(str::to_string);
        ctx.project_id = project.map(str::to_string);
        op
    };
    let price = |key: &str, quantity: &str, dims: &[(&str, &str)]| {
        let dimensions: BTreeMap<String, String> = dims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Op::Priced(PricedOp::Usage {
            price: PriceRequest { price: key.into(), quantity: q(quantity), dimensions },
            ctx: EventCtx::default(),
        })
    };
    // (op, actor, reason refused, cost)
    type Case = (Op, Option<Actor>, Option<&'static str>, Option<Micros>);
    let cases: Vec<Case> = vec![
        (usage("5"), None, None, Some(m("5"))),
        (usage("110.000001"), None, Some("insufficient_credits"), Some(m("110.000001"))),
        (with(usage("21"), Some("ana@c.example"), None), Some(ana.clone()), Some("cap_exceeded"), Some(m("21"))),
        (with(usage("20"), Some("ana@c.example"), None), Some(ana.clone()), None, Some(m("20"))),
        // The tiers cross inside the checked quantity: 10 at 1, 10 at 0.5.
        (price("enrichment", "20", &[]), None, None, Some(m("15"))),
        // Now past the first band: 300 at 0.5 is more than the 110 left.
        (price("enrichment", "300", &[]), None, Some("insufficient_credits"), Some(m("150"))),
        (price("video", "1", &[]), None, Some("unknown_price"), None),
        (with(price("tokens_in", "2", &[("model", "large")]), None, Some("p1")), None, None, Some(m("0.6"))),
    ];
    for (op, actor, reason, cost) in cases {
        let name = format!("{op:?}");
        let state = s.org_state("c").await.expect("state");
        let seq = s.balance("c").await.expect("balance").seq;
        let a = check_now(&state, s.as_ref(), &op, actor.as_ref());
        assert_eq!((a.allowed, a.reason.as_deref(), a.cost), (reason.is_none(), reason, cost), "{name}");
        assert_eq!(a.available, s.balance("c").await.expect("balance").available, "{name}");
        assert_eq!(s.balance("c").await.expect("balance").seq, seq, "a check writes nothing: {name}");
        // The operation itself, done on a copy of the org (an import of
        // its history would lose the caps): the same answer.
        let real = creditd_store::execute_one(s.as_ref(), Command::new("c", op, None).by(actor.clone())).await;
        assert_eq!(code(&real), reason.unwrap_or("ok"), "{name}");
        if let Ok(o) = &real {
            let consumed =
                o.events.iter().find(|e| e.kind == EventKind::Usage).map(|e| e.amount.checked_neg().expect("neg"));
            assert_eq!(consumed, cost, "{name}");
            // Back to where the check was made, for the next case.
            ok(s.as_ref(), "c", refund(&record_id(o), None)).await;
        }
    }
    // The breakdown and the caps counted against.
    let state = s.org_state("c").await.expect("state");
    let a = check_now(
        &state,
        s.as_ref(),
        &with(price("enrichment", "1", &[]), Some("ana@c.example"), Some("p1")),
        Some(&ana),
    );
    let p = a.pricing.expect("pricing");
    assert_eq!((&*p.price_key, p.quantity, p.version), ("enrichment", q("1"), 1));
    let mut subjects: Vec<String> = a.caps.iter().map(|c| c.subject.to_string()).collect();
    subjects.sort();
    assert_eq!(subjects, vec!["member ana@c.example", "project p1"]);
    // Bad input is an error, as the operation's own.
    let bad = state.check(
        &price("tokens_in", "1", &[("model", "huge")]),
        None,
        s.now(),
        s.price_books().catalogue().as_ref(),
    );
    assert_eq!(bad.map_err(|e| e.code().as_str()).err(), Some("validation_error"));
}
