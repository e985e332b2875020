//! Money in: reversing a purchase (refund or chargeback at the payment
//! provider) under each policy, and racing a reversal against usage.

use super::*;
use creditd_core::{AccessOp, ReversalPolicy, SettingsPatch};
use creditd_store::webhooks::WebhookType;

fn reverse(purchase_id: &str, reason: &str) -> Op {
    Op::ReversePurchase { purchase_id: purchase_id.to_string(), reason: reason.to_string(), ctx: EventCtx::default() }
}

fn meta<'a>(e: &'a creditd_core::Event, key: &str) -> Option<&'a str> {
    e.metadata.as_ref().and_then(|m| m.get(key)).and_then(|v| v.as_str())
}

/// Policy `debt` (the default): a purchase of 100, 30 of it used and 20
/// held, is reversed. The 50 still in its block are taken back and the 50
/// spent or held become debt: available goes from 50 to −50 in one
/// `reversal` event of −100 linked to the purchase. Spending is refused
/// while in debt; the hold's release and the next credits settle the debt
/// before they count. At most once (409), idempotent by key, kept across
/// a restart, in the history, the export and an import; processing, failed
/// and unknown purchases and an empty reason are refused, writing nothing.
pub async fn reversal_under_debt_policy(t: &mut Ctx) {
    let store = t.store.clone();
    let s = store.as_ref();
    new_org(s, "o").await;
    let p = record_id(&ok(s, "o", purchase("100", Status::Succeeded)).await);
    ok(s, "o", usage("30")).await;
    let h = record_id(&ok(s, "o", hold("20")).await);
    let before = s.balance("o").await.expect("balance");
    assert_eq!((before.available, before.held, before.pools.prepaid), (m("50"), m("20"), m("50")));

    let r = run_key(s, "o", reverse(&p, "Chargeback ch_1, card reported stolen"), "rev-1").await.expect("reverse");
    assert_eq!(kinds(&r.events), vec![EventKind::Reversal]);
    let e = &r.events[0];
    assert_eq!((e.amount, e.pool, e.status), (m("-100"), Some(Pool::Prepaid), Status::Succeeded));
    assert_eq!(e.hold_id.as_deref(), Some(p.as_str()), "linked to its purchase");
    assert_eq!(e.idempotency_key.as_deref(), Some("rev-1"));
    assert_eq!(
        (meta(e, "policy"), meta(e, "unspent"), meta(e, "debt"), meta(e, "reason")),
        (Some("debt"), Some("50"), Some("50"), Some("Chargeback ch_1, card reported stolen"))
    );
    assert_eq!((e.balance_after, e.prepaid_balance_after, e.held_after), (m("-50"), Micros::ZERO, m("20")));
    let rec = r.record.as_ref().expect("the purchase");
    assert_eq!((rec.id.as_str(), rec.status.as_str()), (p.as_str(), "reversed"));
    assert_eq!((r.balance.available, r.balance.reversal_debt), (m("-50"), m("50")));

    // The same key answers the first result; a second reversal is refused.
    let again = run_key(s, "o", reverse(&p, "Chargeback ch_1, card reported stolen"), "rev-1").await;
    assert_eq!(again.expect("retry").events, r.events);
    assert_eq!(code(&run(s, "o", reverse(&p, "again")).await), "purchase_already_reversed");
    assert_eq!(code(&run_key(s, "o", reverse(&p, "again"), "rev-2").await), "purchase_already_reversed");
    // One `purchase_reversed` webhook (and `depleted`: available went below zero), once.
    let outbox = s.webhooks().messages("o", 100).await.expect("outbox");
    let mut types: Vec<_> = outbox.iter().map(|m| m.kind).collect();
    types.sort();
    assert_eq!(types, vec![WebhookType::Depleted, WebhookType::PurchaseReversed]);
    let reversed = outbox.iter().find(|m| m.kind == WebhookType::PurchaseReversed).expect("purchase_reversed");
    assert_eq!(reversed.event_seq, e.seq);
    let body: serde_json::Value = serde_json::from_str(&reversed.body).expect("JSON body");
    assert_eq!(body["type"], "purchase_reversed");
    assert_eq!(body["data"]["event"]["hold_id"], p.as_str());
    // In debt, nothing can be spent.
    assert_eq!(code(&run(s, "o", usage("1")).await), "insufficient_credits");
    let first_reversal = r.events[0].clone();
    drop(store);
    t.reopen().await;
    let store = t.store.clone();
    let s = store.as_ref();
    let b = s.balance("o").await.expect("balance");
    assert_eq!((b.available, b.held, b.reversal_debt, b.pools.prepaid), (m("-50"), m("20"), m("50"), Micros::ZERO));

    // The held 20 come back: they settle the debt, no block comes back.
    let rel = ok(s, "o", release(&h)).await;
    assert_eq!(
        (rel.balance.available, rel.balance.reversal_debt, rel.balance.pools.prepaid),
        (m("-30"), m("30"), Micros::ZERO)
    );
    // The next credits settle the rest first.
    let g = ok(s, "o", grant("50")).await;
    assert_eq!(
        (g.balance.available, g.balance.reversal_debt, g.balance.pools.promotional),
        (m("20"), Micros::ZERO, m("20"))
    );
    ok(s, "o", usage("20")).await;
    assert_eq!(code(&run(s, "o", usage("1")).await), "insufficient_credits");

    // Refusals: unknown, processing, failed, no reason; nothing written.
    let seq = s.balance("o").await.expect("balance").seq;
    assert_eq!(code(&run(s, "o", reverse("pur_999", "x")).await), "purchase_not_found");
    assert_eq!(code(&run(s, "o", reverse(&h, "x")).await), "purchase_not_found", "a hold is not a purchase");
    let pending = record_id(&ok(s, "o", purchase("5", Status::Processing)).await);
    assert_eq!(code(&run(s, "o", reverse(&pending, "x")).await), "purchase_not_reversible");
    let failed = record_id(&ok(s, "o", purchase("5", Status::Processing)).await);
    ok(s, "o", Op::SettlePurchase { purchase_id: failed.clone(), status: Status::Failed, ctx: EventCtx::default() })
        .await;
    assert_eq!(code(&run(s, "o", reverse(&failed, "x")).await), "purchase_not_reversible");
    let fresh = record_id(&ok(s, "o", purchase("5", Status::Succeeded)).await);
    assert_eq!(code(&run(s, "o", reverse(&fresh, "  ")).await), "validation_error");
    assert_eq!(s.balance("o").await.expect("balance").seq, seq + 4, "only the three purchases and the settle");

    // History, filter by kind, export.
    let only = EventFilter { kinds: vec![EventKind::Reversal], ..EventFilter::default() };
    let listed = history_filtered(s, "o", &only).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0], first_reversal);
    assert!(exported(s, "o", &EventFilter::default()).await.contains(&first_reversal));

    // An import of the history carries the reversal and what is owed.
    let mut events = history(s, "o").await;
    events.reverse();
    let mut early: Vec<_> = events.iter().take_while(|e| e.seq <= first_reversal.seq).cloned().collect();
    for e in &mut early {
        e.org_id = "o2".into();
    }
    s.import("o2", OrgSettings::new("O2", "UTC"), early).await.expect("import");
    let b2 = s.balance("o2").await.expect("balance o2");
    assert_eq!((b2.available, b2.held, b2.reversal_debt), (m("-50"), m("20"), m("50")));
    assert_eq!(code(&run(s, "o2", reverse(&p, "again")).await), "purchase_already_reversed");
    let g2 = ok(s, "o2", grant("60")).await;
    assert_eq!((g2.balance.available, g2.balance.reversal_debt), (m("10"), Micros::ZERO));
}

/// Policy `write_off`: a purchase settled after `processing`, partly spent,
/// is reversed; only its unspent credits are taken back, from exactly its
/// own block (not a grant's), and the spent part is written off: no debt.
pub async fn reversal_under_write_off_policy(t: &mut Ctx) {
    let s = t.store.as_ref();
    new_org(s, "o").await;
    let patch = SettingsPatch { reversal_policy: Some(ReversalPolicy::WriteOff), ..SettingsPatch::default() };
    ok(s, "o", Op::Access(AccessOp::SetSettings(patch))).await;
    assert_eq!(s.org("o").await.expect("org").settings.reversal_policy, ReversalPolicy::WriteOff);
    let p = record_id(&ok(s, "o", purchase("100", Status::Processing)).await);
    ok(s, "o", grant("10")).await;
    ok(s, "o", Op::SettlePurchase { purchase_id: p.clone(), status: Status::Succeeded, ctx: EventCtx::default() })
        .await;
    ok(s, "o", purchase("7", Status::Succeeded)).await;
    // Promotional first: 10 from the grant, then 30 from the first purchase's block.
    ok(s, "o", usage("40")).await;
    let b = s.balance("o").await.expect("balance");
    assert_eq!((b.available, b.pools.prepaid, b.pools.promotional), (m("77"), m("77"), Micros::ZERO));

    let r = ok(s, "o", reverse(&p, "Refunded at the customer's request")).await;
    let e = &r.events[0];
    assert_eq!((e.kind, e.amount, e.hold_id.as_deref()), (EventKind::Reversal, m("-70"), Some(p.as_str())));
    assert_eq!(
        (meta(e, "policy"), meta(e, "unspent"), meta(e, "written_off"), meta(e, "debt")),
        (Some("write_off"), Some("70"), Some("30"), None)
    );
    assert_eq!((r.balance.available, r.balance.reversal_debt, r.balance.pools.prepaid), (m("7"), Micros::ZERO, m("7")));
    // The other purchase's credits stay spendable; a second reversal is refused.
    ok(s, "o", usage("7")).await;
    assert_eq!(code(&run(s, "o", reverse(&p, "again")).await), "purchase_already_reversed");
    // A purchase of which nothing is left: a reversal of 0 still records it.
    let q = record_id(&ok(s, "o", purchase("5", Status::Succeeded)).await);
    ok(s, "o", usage("5")).await;
    let z = ok(s, "o", reverse(&q, "Chargeback")).await;
    assert_eq!((z.events[0].amount, meta(&z.events[0], "written_off")), (Micros::ZERO, Some("5")));
    assert_eq!(z.balance.available, Micros::ZERO);
}

/// 32 clients race: usages of 10 against one reversal of the purchase that
/// bought the only 100 credits, plus a second reversal. Exactly one
/// reversal lands; every usage that landed before it was paid from the
/// purchase and is owed after it; none lands after it. The books add up
/// to the micro-credit whichever order the writer chose.
pub async fn reversal_races_usage(t: &mut Ctx) {
    let s = t.store.clone();
    new_org(s.as_ref(), "o").await;
    let p = record_id(&ok(s.as_ref(), "o", purchase("100", Status::Succeeded)).await);
    let mut tasks = Vec::new();
    for i in 0..32 {
        let s = s.clone();
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            let op = if i == 7 || i == 23 { reverse(&p, "Chargeback") } else { usage("10") };
            (i == 7 || i == 23, run(s.as_ref(), "o", op).await)
        }));
    }
    let (mut used, mut reversals) = (0i64, 0);
    for task in tasks {
        match task.await.expect("task") {
            (true, Ok(_)) => reversals += 1,
            (true, Err(e)) => assert_eq!(e.code(), "purchase_already_reversed", "{e}"),
            (false, Ok(_)) => used += 10,
            (false, Err(e)) => assert_eq!(e.code(), "insufficient_credits", "{e}"),
        }
    }
    assert_eq!(reversals, 1);
    assert!(used <= 100);
    let events = history(s.as_ref(), "o").await;
    let rev: Vec<_> = events.iter().filter(|e| e.kind == EventKind::Reversal).collect();
    assert_eq!(rev.len(), 1);
    let usage_before = events.iter().filter(|e| e.kind == EventKind::Usage && e.seq < rev[0].seq).count() as i64;
    assert_eq!(usage_before * 10, used, "no usage lands after the reversal");
    let b = s.balance("o").await.expect("balance");
    assert_eq!(b.available, Micros::from_micros(-used * 1_000_000));
    assert_eq!(b.reversal_debt, Micros::from_micros(used * 1_000_000));
    assert_eq!(meta(rev[0], "unspent"), Some((100 - used).to_string().as_str()));
}
