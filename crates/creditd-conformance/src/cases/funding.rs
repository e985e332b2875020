//! Shared budgets (creditd_core::funding): a child drawing on its parent's
//! balance, on every engine alike.

use super::*;
use creditd_core::{AccessOp, Funding, SettingsPatch};
use creditd_store::Store;

fn set_funding(funding: Funding, budget: Option<Option<&str>>) -> Op {
    Op::Access(AccessOp::SetSettings(SettingsPatch {
        funding: Some(funding),
        funding_budget: budget.map(|b| b.map(m)),
        ..SettingsPatch::default()
    }))
}

/// The amounts of `org`'s events of `kind` whose source is the funding
/// draw, oldest first.
async fn draws(s: &dyn Store, org: &str, kind: EventKind) -> Vec<Micros> {
    let mut out: Vec<Micros> = history(s, org)
        .await
        .into_iter()
        .filter(|e| e.kind == kind && e.source.as_deref() == Some(creditd_core::funding::FUNDING_SOURCE))
        .map(|e| e.amount)
        .collect();
    out.reverse();
    out
}

fn total(amounts: &[Micros]) -> Micros {
    amounts.iter().fold(Micros::ZERO, |a, b| a.checked_add(*b).expect("sum"))
}

/// What a refusal must leave alone: both orgs' balances, histories and
/// states.
async fn snapshot(s: &dyn Store, orgs: &[&str]) -> Vec<(creditd_core::Balance, usize, creditd_core::OrgState)> {
    let mut out = Vec::new();
    for o in orgs {
        let mut state = s.org_state(o).await.expect("state");
        state.records.clear();
        out.push((s.balance(o).await.expect("balance"), history(s, o).await.len(), state));
    }
    out
}

/// A funded child spends its own credits first, then draws the shortfall
/// from its parent as a transfer (`transfer_out` on the parent, with its
/// balance after; `transfer_in` then the usage on the child); holds draw
/// when placed and what a release gives back is the child's; past the
/// budget `cap_exceeded`, past the parent's credits
/// `insufficient_credits`, nothing written; the next period starts a new
/// budget; switching back to own funding stops the draws; a restart reads
/// it all back.
pub async fn funded_child_draws_own_first_within_its_budget(t: &mut Ctx) {
    let s = t.store.as_ref();
    for o in ["p", "c"] {
        new_org(s, o).await;
    }
    s.set_parent("c", Some("p")).await.expect("c under p");
    ok(s, "p", grant("50")).await;
    ok(s, "c", grant("4")).await;
    ok(s, "c", set_funding(Funding::Parent, Some(Some("20")))).await;

    // Own first: 3 of its own 4, no draw.
    let o = ok(s, "c", usage("3")).await;
    assert_eq!(kinds(&o.events), vec![EventKind::Usage]);
    assert!(draws(s, "p", EventKind::TransferOut).await.is_empty());
    // 6 more: its last 1, then 5 drawn.
    let o = ok(s, "c", usage("6")).await;
    assert_eq!(kinds(&o.events), vec![EventKind::TransferIn, EventKind::Usage]);
    assert_eq!(o.balance.available, m("0"));
    assert_eq!(draws(s, "p", EventKind::TransferOut).await, vec![m("-5")]);
    assert_eq!(draws(s, "c", EventKind::TransferIn).await, vec![m("5")]);
    let p_out = history(s, "p").await.into_iter().find(|e| e.kind == EventKind::TransferOut).expect("draw");
    assert_eq!(p_out.code.as_deref(), Some("c"));
    assert_eq!(p_out.balance_after, m("45"), "the parent's history shows the draw with its balance after");
    assert_eq!(s.balance("p").await.expect("p").available, m("45"));
    // The parent's as-of and statement include the draw.
    let at = creditd_store::history_at::balance_at(s, "p", t.clock.now()).await.expect("as of");
    assert_eq!(at.available, m("45"));
    let today = t.clock.now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let st = creditd_store::history_at::statement(s, "p", today, today).await.expect("statement");
    assert_eq!((st.total_in, st.total_out, st.closing.balance), (m("50"), m("5"), m("45")));
    let st = creditd_store::history_at::statement(s, "c", today, today).await.expect("statement");
    assert_eq!((st.total_in, st.total_out, st.closing.balance), (m("9"), m("9"), m("0")));
    let state = s.org_state("c").await.expect("c");
    assert_eq!(state.funding_drawn(t.clock.now()), m("5"));
    assert_eq!(state.funding_left(t.clock.now()), Some(m("15")));
    assert_eq!(state.period_usage, m("9"), "the child's usage counts in the child");

    // A hold draws when placed; its release leaves the credits with the child.
    let h = ok(s, "c", hold("8")).await;
    assert_eq!(kinds(&h.events), vec![EventKind::TransferIn, EventKind::Hold]);
    ok(s, "c", debit(&record_id(&h), Some("2"))).await;
    assert_eq!(s.balance("c").await.expect("c").available, m("6"));
    assert_eq!(s.balance("p").await.expect("p").available, m("37"));
    // Those 6 are spent before anything more is drawn.
    let o = ok(s, "c", usage("6")).await;
    assert_eq!(kinds(&o.events), vec![EventKind::Usage]);
    assert_eq!(draws(s, "c", EventKind::TransferIn).await, vec![m("5"), m("8")]);

    // Past the budget (13 drawn of 20): cap_exceeded, nothing written.
    let before = snapshot(s, &["p", "c"]).await;
    let r = run(s, "c", usage("8")).await;
    assert_eq!(code(&r), "cap_exceeded", "{r:?}");
    assert_eq!(snapshot(s, &["p", "c"]).await, before, "a refused draw wrote something");
    // Exactly the budget's rest is allowed; a retry with its key draws
    // nothing more.
    let first = run_key(s, "c", usage("7"), "last-7").await.expect("usage 7");
    let again = run_key(s, "c", usage("7"), "last-7").await.expect("retry");
    assert_eq!(first, again);
    assert_eq!(kinds(&again.events), vec![EventKind::TransferIn, EventKind::Usage]);
    assert_eq!(s.org_state("c").await.expect("c").funding_left(t.clock.now()), Some(m("0")));

    // A budget raised; the parent then lacks credits: insufficient_credits.
    ok(s, "c", set_funding(Funding::Parent, Some(None))).await;
    ok(s, "p", usage("29")).await;
    assert_eq!(s.balance("p").await.expect("p").available, m("1"));
    let before = snapshot(s, &["p", "c"]).await;
    let r = run(s, "c", usage("2")).await;
    assert_eq!(code(&r), "insufficient_credits", "{r:?}");
    assert_eq!(snapshot(s, &["p", "c"]).await, before, "a refused draw wrote something");
    ok(s, "c", usage("1")).await;
    assert_eq!(s.balance("p").await.expect("p").available, m("0"));

    // A new period: the budget starts again.
    ok(s, "p", grant("100")).await;
    ok(s, "c", set_funding(Funding::Parent, Some(Some("10")))).await;
    assert_eq!(s.org_state("c").await.expect("c").funding_left(t.clock.now()), Some(m("0")));
    t.clock.advance(secs(31 * 86_400));
    let now = t.clock.now();
    assert_eq!(s.org_state("c").await.expect("c").funding_left(now), Some(m("10")));
    ok(s, "c", usage("4")).await;
    assert_eq!(s.org_state("c").await.expect("c").funding_drawn(now), m("4"));

    // Restart: the setting and this period's draws read back.
    t.reopen().await;
    let s = t.store.as_ref();
    let state = s.org_state("c").await.expect("c");
    assert_eq!(state.settings.funding, Funding::Parent);
    assert_eq!(state.settings.funding_budget, Some(m("10")));
    assert_eq!(state.funding_drawn(now), m("4"));
    let r = run(s, "c", usage("7")).await;
    assert_eq!(code(&r), "cap_exceeded", "{r:?}");

    // Back to own funding: nothing more is drawn.
    ok(s, "c", set_funding(Funding::Own, None)).await;
    let r = run(s, "c", usage("1")).await;
    assert_eq!(code(&r), "insufficient_credits", "{r:?}");
    let p_draws = draws(s, "p", EventKind::TransferOut).await;
    let c_draws = draws(s, "c", EventKind::TransferIn).await;
    assert_eq!(total(&p_draws).checked_neg(), Some(total(&c_draws)));
    assert_eq!(total(&c_draws), m("25"));
    for org in ["p", "c"] {
        let v = s.verify(org).await.expect("verify");
        assert!(v.ok, "{org}: {:?}", v.problems);
    }
}

/// `funding: parent` needs a parent that does not itself draw on its
/// parent, and an org no child draws on (422, nothing written); a funded
/// child, and a parent with funded children, keep their parents
/// (`org_tree_invalid`) until the child switches back to own funding.
pub async fn funding_setting_refusals(t: &mut Ctx) {
    let s = t.store.as_ref();
    for o in ["top", "mid", "leaf", "other", "lone"] {
        new_org(s, o).await;
    }
    s.set_parent("mid", Some("top")).await.expect("mid under top");
    s.set_parent("leaf", Some("mid")).await.expect("leaf under mid");
    let refused = |org: &'static str, op: Op, want: &'static str| async move {
        let before = snapshot(s, &[org]).await;
        let r = run(s, org, op).await;
        assert_eq!(code(&r), want, "{org}: {r:?}");
        assert_eq!(snapshot(s, &[org]).await, before, "{org}: a refusal wrote something");
    };

    // No parent.
    refused("lone", set_funding(Funding::Parent, None), "validation_error").await;
    ok(s, "leaf", set_funding(Funding::Parent, Some(Some("5")))).await;
    // leaf draws on mid: mid cannot draw on top.
    refused("mid", set_funding(Funding::Parent, None), "validation_error").await;
    let budget = Op::Access(AccessOp::SetSettings(SettingsPatch {
        funding_budget: Some(Some(m("-1"))),
        ..SettingsPatch::default()
    }));
    refused("leaf", budget, "validation_error").await;
    assert_eq!(s.org_state("leaf").await.expect("leaf").settings.funding_budget, Some(m("5")));

    // Neither the funded child nor its parent changes parent.
    for (org, parent) in [("leaf", Some("other")), ("leaf", None), ("mid", Some("other")), ("mid", None)] {
        let r = s.set_parent(org, parent).await;
        assert_eq!(r.as_ref().map_err(|e| e.code().as_str()).err(), Some("org_tree_invalid"), "{org}: {r:?}");
    }
    assert_eq!(s.org("leaf").await.expect("leaf").parent_id.as_deref(), Some("mid"));
    assert_eq!(s.org("mid").await.expect("mid").parent_id.as_deref(), Some("top"));
    // The same parent again changes nothing and is allowed.
    s.set_parent("leaf", Some("mid")).await.expect("same parent");

    // One level: once leaf is on its own, mid may draw on top, and then
    // leaf may not draw on mid.
    ok(s, "leaf", set_funding(Funding::Own, None)).await;
    ok(s, "mid", set_funding(Funding::Parent, None)).await;
    refused("leaf", set_funding(Funding::Parent, None), "validation_error").await;
    ok(s, "mid", set_funding(Funding::Own, None)).await;
    s.set_parent("mid", Some("other")).await.expect("mid moves once on its own");
    assert_eq!(s.org("mid").await.expect("mid").parent_id.as_deref(), Some("other"));
    t.reopen().await;
    let s = t.store.as_ref();
    assert_eq!(s.org_state("leaf").await.expect("leaf").settings.funding_budget, Some(m("5")));
    assert_eq!(s.org_state("mid").await.expect("mid").settings.funding, Funding::Own);
}

/// A child drawing at its budget races usage on the child and on the
/// parent: the parent never goes below zero, the budget is never
/// exceeded, exactly the acknowledged amounts are spent, and every draw
/// has both halves.
pub async fn funded_child_races_parent_at_its_budget(t: &mut Ctx) {
    let s = t.store.clone();
    new_org(s.as_ref(), "p").await;
    new_org(s.as_ref(), "c").await;
    s.set_parent("c", Some("p")).await.expect("c under p");
    ok(s.as_ref(), "p", grant("60")).await;
    ok(s.as_ref(), "c", grant("3")).await;
    ok(s.as_ref(), "c", set_funding(Funding::Parent, Some(Some("40")))).await;
    let mut tasks = Vec::new();
    for i in 0..90 {
        let s = s.clone();
        // The child asks for 2 × 60 (own 3 + budget 40 cover 21 of them);
        // the parent for 1 × 30; together more than the parent has.
        let (org, amount) = if i % 3 == 2 { ("p", "1") } else { ("c", "2") };
        tasks.push(tokio::spawn(async move { (org, amount, run(s.as_ref(), org, usage(amount)).await) }));
    }
    let (mut child_spent, mut parent_spent) = (Micros::ZERO, Micros::ZERO);
    for task in tasks {
        let (org, amount, r) = task.await.expect("task");
        match r {
            Ok(_) if org == "c" => child_spent = child_spent.checked_add(m(amount)).expect("sum"),
            Ok(_) => parent_spent = parent_spent.checked_add(m(amount)).expect("sum"),
            Err(e) => {
                let c = e.code().as_str();
                assert!(c == "insufficient_credits" || (org == "c" && c == "cap_exceeded"), "{org}: {e}");
            }
        }
    }
    let s = s.as_ref();
    let (pb, cb) = (s.balance("p").await.expect("p"), s.balance("c").await.expect("c"));
    assert!(!pb.available.is_negative() && !cb.available.is_negative(), "{pb:?} {cb:?}");
    let drawn = total(&draws(s, "c", EventKind::TransferIn).await);
    assert_eq!(total(&draws(s, "p", EventKind::TransferOut).await).checked_neg(), Some(drawn));
    assert!(drawn <= m("40"), "the budget was exceeded: {drawn}");
    assert_eq!(s.org_state("c").await.expect("c").funding_drawn(t.clock.now()), drawn);
    // Exactly what was acknowledged was spent, on each side.
    assert_eq!(m("60").checked_sub(drawn).and_then(|x| x.checked_sub(parent_spent)), Some(pb.available));
    assert_eq!(m("3").checked_add(drawn).and_then(|x| x.checked_sub(child_spent)), Some(cb.available));
    assert!(child_spent.is_positive() && parent_spent.is_positive());
    assert_eq!(s.org_state("c").await.expect("c").period_usage, child_spent);
    for org in ["p", "c"] {
        let v = s.verify(org).await.expect("verify");
        assert!(v.ok, "{org}: {:?}", v.problems);
    }
}

/// A funded child's extension draws what the extra amount lacks; when the
/// hold times out, its credits come back to the child (not the parent),
/// and the child spends them before drawing again.
pub async fn funded_child_extends_and_times_out(t: &mut Ctx) {
    let s = t.store.as_ref();
    for o in ["p", "c"] {
        new_org(s, o).await;
    }
    s.set_parent("c", Some("p")).await.expect("c under p");
    ok(s, "p", grant("10")).await;
    ok(s, "c", set_funding(Funding::Parent, None)).await;
    let h = ok(s, "c", hold_for("3", 60)).await;
    let id = record_id(&h);
    let e = ok(s, "c", super::extend(&id, Some("2"), None)).await;
    assert_eq!(kinds(&e.events), vec![EventKind::TransferIn, EventKind::Hold]);
    assert_eq!(draws(s, "p", EventKind::TransferOut).await, vec![m("-3"), m("-2")]);
    assert_eq!(s.balance("c").await.expect("c").held, m("5"));
    // An extension past the parent's credits: refused, nothing written.
    let before = snapshot(s, &["p", "c"]).await;
    assert_eq!(code(&run(s, "c", super::extend(&id, Some("6"), None)).await), "insufficient_credits");
    assert_eq!(snapshot(s, &["p", "c"]).await, before);
    t.clock.advance(secs(3_600));
    assert!(s.tick().await.expect("tick") >= 1);
    let (pb, cb) = (s.balance("p").await.expect("p"), s.balance("c").await.expect("c"));
    assert_eq!((pb.available, cb.available, cb.held), (m("5"), m("5"), m("0")));
    let o = ok(s, "c", usage("5")).await;
    assert_eq!(kinds(&o.events), vec![EventKind::Usage], "what came back is spent first");
    for org in ["p", "c"] {
        let v = s.verify(org).await.expect("verify");
        assert!(v.ok, "{org}: {:?}", v.problems);
    }
}

/// Priced usage and a priced hold of a funded child draw what their
/// price lacks; the events keep their pricing, and the debit of the
/// priced hold for fewer units gives the rest back to the child.
pub async fn funded_child_priced_usage_and_holds(t: &mut Ctx) {
    let s = t.store.as_ref();
    s.price_books().put("standard", super::example_book(None)).await.expect("book");
    for o in ["p", "c"] {
        new_org(s, o).await;
    }
    s.set_parent("c", Some("p")).await.expect("c under p");
    ok(s, "p", grant("20")).await;
    ok(s, "c", grant("1")).await;
    ok(s, "c", super::use_book("standard")).await;
    ok(s, "c", set_funding(Funding::Parent, Some(Some("15")))).await;
    // 3 images at 2.5: 7.5, of which the child's 1, 6.5 drawn.
    let o = ok(s, "c", super::priced_usage("image_generation", "3", &[])).await;
    assert_eq!(kinds(&o.events), vec![EventKind::TransferIn, EventKind::Usage]);
    let usage = &o.events[1];
    assert_eq!(usage.amount, m("-7.5"));
    assert!(usage.pricing.is_some(), "the usage keeps its pricing");
    assert_eq!(draws(s, "p", EventKind::TransferOut).await, vec![m("-6.5")]);
    // A priced hold of 2 images (5) draws 5; its debit for 1 gives 2.5 back to c.
    let h = ok(s, "c", super::priced_hold("image_generation", "2", &[])).await;
    assert_eq!(kinds(&h.events), vec![EventKind::TransferIn, EventKind::Hold]);
    ok(s, "c", super::priced_debit(&record_id(&h), Some("1"))).await;
    assert_eq!(s.balance("c").await.expect("c").available, m("2.5"));
    assert_eq!(s.balance("p").await.expect("p").available, m("8.5"));
    // 4 more images (10): 2.5 of c's own, 7.5 more than the budget's 3.5 left.
    let before = snapshot(s, &["p", "c"]).await;
    assert_eq!(code(&run(s, "c", super::priced_usage("image_generation", "4", &[])).await), "cap_exceeded");
    assert_eq!(snapshot(s, &["p", "c"]).await, before);
    for org in ["p", "c"] {
        let v = s.verify(org).await.expect("verify");
        assert!(v.ok, "{org}: {:?}", v.problems);
    }
}
