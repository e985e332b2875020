//! Organisations in a tree and transfers between them (creditd_core::tree,
//! creditd_core::transfers): the same answers on every engine.

use super::*;
use creditd_core::{TransferOp, tree::MAX_LEVELS};
use creditd_store::Store;

fn transfer(to: &str, amount: &str) -> Op {
    Op::Transfer(TransferOp::Out { to: to.into(), amount: m(amount), ctx: EventCtx::default() })
}

/// What a refusal must leave alone: every org's balance and history.
async fn snapshot(s: &dyn Store, orgs: &[&str]) -> Vec<(creditd_core::Balance, Vec<creditd_core::Event>)> {
    let mut out = Vec::new();
    for o in orgs {
        out.push((s.balance(o).await.expect("balance"), history(s, o).await));
    }
    out
}

async fn parent_of(s: &dyn Store, org: &str) -> Option<String> {
    s.org(org).await.expect("org").parent_id
}

/// Parents are set and cleared; a cycle, oneself or a fourth level is
/// refused with `org_tree_invalid` and changes nothing.
pub async fn org_tree_parents_and_refusals(t: &mut Ctx) {
    let s = t.store.as_ref();
    for o in ["root", "mid", "leaf", "other", "deep"] {
        new_org(s, o).await;
    }
    assert_eq!(s.set_parent("mid", Some("root")).await.expect("mid under root").parent_id.as_deref(), Some("root"));
    s.set_parent("leaf", Some("mid")).await.expect("leaf under mid");
    assert_eq!(parent_of(s, "leaf").await.as_deref(), Some("mid"));
    assert_eq!(s.children(&["root".into()]).await.expect("children"), vec!["mid".to_string()]);
    assert_eq!(
        creditd_store::descendants(s, "root").await.expect("below"),
        vec!["leaf".to_string(), "mid".to_string()]
    );
    assert_eq!(MAX_LEVELS, 3);
    let refusals: &[(&str, Option<&str>, &str)] = &[
        ("root", Some("root"), "org_tree_invalid"),
        ("root", Some("leaf"), "org_tree_invalid"),
        ("mid", Some("leaf"), "org_tree_invalid"),
        // A fourth level: under the leaf.
        ("deep", Some("leaf"), "org_tree_invalid"),
        // mid (and leaf below it) moves under other...
        ("mid", Some("other"), "ok"),
        // ...so other has two levels below it: under root, that is four.
        ("other", Some("root"), "org_tree_invalid"),
        ("mid", Some("ghost"), "not_found"),
        ("ghost", Some("root"), "not_found"),
    ];
    for (org, parent, want) in refusals {
        let before = (parent_of(s, "root").await, parent_of(s, "mid").await, parent_of(s, "leaf").await);
        let r = s.set_parent(org, *parent).await;
        let got = match &r {
            Ok(_) => "ok",
            Err(e) => e.code().as_str(),
        };
        assert_eq!(got, *want, "{org} under {parent:?}: {r:?}");
        if *want != "ok" {
            let after = (parent_of(s, "root").await, parent_of(s, "mid").await, parent_of(s, "leaf").await);
            assert_eq!(after, before, "a refused tree change wrote something");
        }
    }
    // mid (with leaf) moved under other; root is alone again.
    assert_eq!(parent_of(s, "mid").await.as_deref(), Some("other"));
    assert!(s.children(&["root".into()]).await.expect("children").is_empty());
    let cleared = s.set_parent("mid", None).await.expect("clear");
    assert_eq!(cleared.parent_id, None);
    assert_eq!(parent_of(s, "mid").await, None);
    // Survives a restart.
    t.reopen().await;
    let s = t.store.as_ref();
    assert_eq!(parent_of(s, "leaf").await.as_deref(), Some("mid"));
    assert_eq!(parent_of(s, "mid").await, None);
}

/// A transfer moves credits with their blocks (pool and expiry, in the
/// sender's order), writes both halves linked by one id, or neither.
pub async fn transfer_moves_blocks_both_or_neither(t: &mut Ctx) {
    let s = t.store.as_ref();
    for o in ["p", "c", "sib", "stranger"] {
        new_org(s, o).await;
    }
    s.set_parent("c", Some("p")).await.expect("c under p");
    s.set_parent("sib", Some("p")).await.expect("sib under p");
    let in_a_week = t.clock.now().checked_add(secs(7 * 86_400)).expect("time");
    ok(s, "p", credit_in(Pool::Voucher, "30", Some(in_a_week))).await;
    ok(s, "p", grant("50")).await;
    ok(s, "p", credit_in(Pool::Prepaid, "20", None)).await;

    // Soonest expiring first (the voucher), then the pool order (promotional).
    let o = ok(s, "p", transfer("c", "40")).await;
    let out = o.events.iter().find(|e| e.kind == EventKind::TransferOut).expect("transfer_out").clone();
    let into = o.events.iter().find(|e| e.kind == EventKind::TransferIn).expect("transfer_in").clone();
    assert_eq!((out.org_id.as_str(), out.amount, out.code.as_deref()), ("p", m("-40"), Some("c")));
    assert_eq!((into.org_id.as_str(), into.amount, into.code.as_deref()), ("c", m("40"), Some("p")));
    let id = out.hold_id.clone().expect("transfer id");
    assert!(id.starts_with("trf_"), "{id}");
    assert_eq!(into.hold_id.as_deref(), Some(id.as_str()));
    creditd_core::transfers::check_halves(&out, &into).expect("halves match");
    assert_eq!(o.balance.available, m("60"));
    let pb = s.balance("p").await.expect("balance");
    assert_eq!((pb.pools.voucher, pb.pools.promotional, pb.pools.prepaid), (m("0"), m("40"), m("20")));
    let cb = s.balance("c").await.expect("balance");
    assert_eq!((cb.available, cb.pools.voucher, cb.pools.promotional), (m("40"), m("30"), m("10")));
    assert_eq!(cb.period_usage, Micros::ZERO, "a transfer is not usage");
    assert_eq!(pb.period_usage, Micros::ZERO, "a transfer is not usage");
    assert_eq!(history(s, "c").await[0], into);
    assert_eq!(history(s, "p").await[0], out);
    // The voucher credits kept their expiry: the child consumes them first.
    let used = ok(s, "c", usage("5")).await;
    assert_eq!(used.events[0].pool, Some(Pool::Voucher));

    // Child to parent and between siblings.
    ok(s, "c", transfer("p", "5")).await;
    ok(s, "c", transfer("sib", "10")).await;
    ok(s, "sib", transfer("c", "1")).await;
    assert_eq!(s.balance("sib").await.expect("balance").available, m("9"));

    // Refusals write nothing on either side.
    let orgs = ["p", "c", "sib", "stranger"];
    let before = snapshot(s, &orgs).await;
    for (from, op, want) in [
        ("p", transfer("p", "1"), "validation_error"),
        ("p", transfer("stranger", "1"), "orgs_not_related"),
        ("stranger", transfer("p", "1"), "orgs_not_related"),
        ("c", transfer("stranger", "1"), "orgs_not_related"),
        ("p", transfer("ghost", "1"), "not_found"),
        ("p", transfer("c", "0"), "validation_error"),
        ("p", transfer("c", "-3"), "validation_error"),
        ("p", transfer("c", "65.000001"), "insufficient_credits"),
        ("sib", transfer("c", "9.5"), "insufficient_credits"),
    ] {
        let r = run(s, from, op).await;
        assert_eq!(code(&r), want, "{from}: {r:?}");
    }
    assert_eq!(snapshot(s, &orgs).await, before, "a refused transfer wrote something");

    // The receiver refusing (its blocks would overflow) undoes the sender.
    ok(s, "stranger", grant("9223372036854")).await;
    s.set_parent("stranger", Some("p")).await.expect("stranger under p");
    let before = snapshot(s, &orgs).await;
    let r = run(s, "p", transfer("stranger", "1")).await;
    assert_eq!(code(&r), "amount_overflow", "{r:?}");
    assert_eq!(snapshot(s, &orgs).await, before, "half a transfer was written");

    // Idempotent: a retry answers the first result and moves nothing more.
    let first = run_key(s, "p", transfer("c", "2"), "move-2").await.expect("transfer");
    let again = run_key(s, "p", transfer("c", "2"), "move-2").await.expect("retry");
    assert_eq!(first, again);
    assert_eq!(code(&run_key(s, "p", transfer("c", "3"), "move-2").await), "idempotency_conflict");
    let p_out =
        history_filtered(s, "p", &EventFilter { kinds: vec![EventKind::TransferOut], ..Default::default() }).await;
    let c_in =
        history_filtered(s, "c", &EventFilter { kinds: vec![EventKind::TransferIn], ..Default::default() }).await;
    assert_eq!(p_out.len(), 2, "{p_out:?}");
    assert_eq!(c_in.iter().filter(|e| e.code.as_deref() == Some("p")).count(), 2);
    // Exports carry both kinds; verify checks the halves (the harness runs it).
    let exported = exported(s, "c", &EventFilter::default()).await;
    assert!(exported.iter().any(|e| e.kind == EventKind::TransferIn));
    assert!(exported.iter().any(|e| e.kind == EventKind::TransferOut));
    for o in orgs {
        let v = s.verify(o).await.expect("verify");
        assert!(v.ok, "{o}: {:?}", v.problems);
    }
    // After a restart both sides are as they were.
    let before = snapshot(s, &orgs).await;
    t.reopen().await;
    assert_eq!(snapshot(t.store.as_ref(), &orgs).await, before);
}

/// Credits that would expire in the sender expire in the receiver, at the
/// same instant, by the receiver's own tick.
pub async fn transferred_credits_expire_in_the_receiver(t: &mut Ctx) {
    let s = t.store.as_ref();
    new_org(s, "p").await;
    new_org(s, "c").await;
    s.set_parent("c", Some("p")).await.expect("c under p");
    let in_an_hour = t.clock.now().checked_add(secs(3600)).expect("time");
    ok(s, "p", credit_in(Pool::Promotional, "10", Some(in_an_hour))).await;
    ok(s, "p", grant("5")).await;
    ok(s, "p", transfer("c", "12")).await;
    let cb = s.balance("c").await.expect("balance");
    assert_eq!(cb.available, m("12"));
    assert_eq!(s.tick().await.expect("tick"), 0, "nothing is due yet");
    t.clock.advance(secs(2 * 3600));
    assert!(s.tick().await.expect("tick") >= 1);
    let ch = history(s, "c").await;
    assert_eq!((ch[0].kind, ch[0].amount), (EventKind::Expiry, m("-10")), "{ch:?}");
    assert_eq!(s.balance("c").await.expect("balance").available, m("2"));
    // The sender had nothing left of the expiring block: no expiry there.
    let ph = history(s, "p").await;
    assert!(ph.iter().all(|e| e.kind != EventKind::Expiry), "{ph:?}");
    assert_eq!(s.balance("p").await.expect("balance").available, m("3"));
    assert_eq!(s.tick().await.expect("tick"), 0, "an expiry happens once");
}

/// Transfers both ways race usage on both sides: no credit is made or
/// lost, nothing goes below zero, and every transfer has both halves.
pub async fn transfers_race_usage_on_both_sides(t: &mut Ctx) {
    let s = t.store.clone();
    new_org(s.as_ref(), "p").await;
    new_org(s.as_ref(), "c").await;
    s.set_parent("c", Some("p")).await.expect("c under p");
    ok(s.as_ref(), "p", grant("100")).await;
    ok(s.as_ref(), "c", grant("100")).await;
    let mut tasks = Vec::new();
    for i in 0..80 {
        let s = s.clone();
        let (org, op, used) = match i % 4 {
            0 => ("p", transfer("c", "7"), false),
            1 => ("c", transfer("p", "6"), false),
            2 => ("p", usage("5"), true),
            _ => ("c", usage("5"), true),
        };
        tasks.push(tokio::spawn(async move { (used, run(s.as_ref(), org, op).await) }));
    }
    let mut consumed = Micros::ZERO;
    let mut moved = 0;
    for task in tasks {
        let (used, r) = task.await.expect("task");
        match r {
            Ok(_) if used => consumed = consumed.checked_add(m("5")).expect("sum"),
            Ok(_) => moved += 1,
            Err(e) => assert_eq!(e.code(), "insufficient_credits", "{e}"),
        }
    }
    let (pb, cb) = (s.balance("p").await.expect("p"), s.balance("c").await.expect("c"));
    assert!(!pb.available.is_negative() && !cb.available.is_negative(), "{pb:?} {cb:?}");
    let total = pb.available.checked_add(cb.available).expect("sum");
    assert_eq!(total.checked_add(consumed).expect("sum"), m("200"), "credits were made or lost");
    let outs = |org: &'static str| {
        let s = s.clone();
        async move {
            history_filtered(
                s.as_ref(),
                org,
                &EventFilter { kinds: vec![EventKind::TransferOut], ..Default::default() },
            )
            .await
        }
    };
    let ins = |org: &'static str| {
        let s = s.clone();
        async move {
            history_filtered(s.as_ref(), org, &EventFilter { kinds: vec![EventKind::TransferIn], ..Default::default() })
                .await
        }
    };
    let (p_out, c_in, c_out, p_in) = (outs("p").await, ins("c").await, outs("c").await, ins("p").await);
    assert_eq!(p_out.len() + c_out.len(), moved);
    assert_eq!(p_out.len(), c_in.len());
    assert_eq!(c_out.len(), p_in.len());
    for o in &p_out {
        let other = c_in.iter().find(|i| i.hold_id == o.hold_id).expect("its transfer_in");
        creditd_core::transfers::check_halves(o, other).expect("halves");
    }
    for org in ["p", "c"] {
        let v = s.verify(org).await.expect("verify");
        assert!(v.ok, "{org}: {:?}", v.problems);
    }
}

/// A database written before the tree (schema one migration back, no
/// `orgs.parent_id`) migrates at open: its orgs are roots, and can become
/// parents and children and transfer.
pub async fn org_tree_migrates_from_previous_schema(ctx: &mut Ctx, downgrade: &str) {
    new_org(ctx.store.as_ref(), "old-parent").await;
    new_org(ctx.store.as_ref(), "old-child").await;
    ok(ctx.store.as_ref(), "old-parent", grant("10")).await;
    if !ctx.raw_sql(downgrade).await {
        return;
    }
    ctx.reopen().await;
    let s = ctx.store.as_ref();
    assert_eq!(s.balance("old-parent").await.expect("balance").available, m("10"));
    assert_eq!(s.org("old-child").await.expect("org").parent_id, None);
    s.set_parent("old-child", Some("old-parent")).await.expect("set parent");
    ok(s, "old-parent", transfer("old-child", "4")).await;
    ctx.reopen().await;
    let s = ctx.store.as_ref();
    assert_eq!(s.org("old-child").await.expect("org").parent_id.as_deref(), Some("old-parent"));
    assert_eq!(s.balance("old-child").await.expect("balance").available, m("4"));
}
