//! Money in from the dashboard: the plan catalogue (stored by every
//! engine, shared by every organisation), Buy more (a processing purchase
//! of an offered amount and its `top_up.requested` webhook, written with
//! the event) and the `plan_change.requested` message a plan change
//! request leaves in the outbox.

use super::plans::{plan, set_plan};
use super::*;
use creditd_core::{AccessOp, PlanOp, SettingsPatch};
use creditd_store::catalogue::CataloguePlan;
use creditd_store::webhooks::{Endpoint, PlanChangeData, WebhookError, WebhookType, plan_change_message};

fn entry(id: &str, name: &str, credits: &str, at: jiff::Timestamp) -> CataloguePlan {
    CataloguePlan {
        id: id.to_string(),
        plan: plan(name, credits, 3, 500),
        price_text: Some(format!("{name}: 49 € / month")),
        description: None,
        updated_at: at,
    }
}

fn buy_more(amount: &str, by: &str) -> Op {
    Op::Plans(PlanOp::BuyMore { amount: m(amount), requested_by: Some(by.to_string()) })
}

fn offer(amounts: &[&str]) -> Op {
    Op::Access(AccessOp::SetSettings(SettingsPatch {
        buy_more_amounts: Some(amounts.iter().map(|a| m(a)).collect()),
        ..SettingsPatch::default()
    }))
}

fn endpoint(org: &str, id: &str, types: Vec<WebhookType>) -> Endpoint {
    Endpoint {
        id: id.to_string(),
        org_id: org.to_string(),
        url: format!("http://127.0.0.1:9/{id}"),
        types: Some(types),
        description: None,
        secret: format!("whsec_{id}_0123456789abcdef"),
        created_at: crate::start_time(),
    }
}

/// Entries are written whole, replaced whole, listed in id order and kept
/// across a restart; a bad entry is refused and writes nothing; an org
/// subscribed to an entry's plan keeps it when the entry changes.
pub async fn plan_catalogue_round_trips(t: &mut Ctx) {
    let now = t.clock.now();
    {
        let c = t.store.plan_catalogue();
        assert!(c.list().await.expect("list").is_empty());
        assert!(c.put(&entry("pro", "Pro", "1000", now)).await.expect("put"), "new");
        assert!(c.put(&entry("basic", "Basic", "100", now)).await.expect("put"), "new");
        let ids: Vec<String> = c.list().await.expect("list").into_iter().map(|p| p.id).collect();
        assert_eq!(ids, ["basic", "pro"]);
        // Refused, nothing written: a bad id, a plan breaking its rules, an empty price text.
        let mut bad = entry("x", "", "10", now);
        assert_eq!(c.put(&bad).await.expect_err("empty name").code(), "validation_error");
        bad = entry("../x", "X", "10", now);
        assert_eq!(c.put(&bad).await.expect_err("bad id").code(), "validation_error");
        bad = entry("x", "X", "10", now);
        bad.price_text = Some(String::new());
        assert_eq!(c.put(&bad).await.expect_err("empty text").code(), "validation_error");
        assert_eq!(c.list().await.expect("list").len(), 2);
        assert!(c.get("x").await.expect("get").is_none());
    }
    // An org subscribes to the catalogue's Pro, then the entry changes.
    let s = t.store.as_ref();
    new_org(s, "o").await;
    let pro = s.plan_catalogue().get("pro").await.expect("get").expect("pro");
    ok(s, "o", set_plan(pro.plan.clone())).await;
    let later = now.checked_add(secs(60)).expect("time");
    assert!(!s.plan_catalogue().put(&entry("pro", "Pro 2027", "2000", later)).await.expect("put"), "replaced");
    t.reopen().await;
    let s = t.store.as_ref();
    let pro2 = s.plan_catalogue().get("pro").await.expect("get").expect("pro");
    assert_eq!(
        (pro2.plan.name.as_str(), pro2.plan.credits_per_period, pro2.updated_at),
        ("Pro 2027", m("2000"), later)
    );
    assert_eq!(pro2.price_text.as_deref(), Some("Pro 2027: 49 € / month"));
    let st = s.org_state("o").await.expect("state");
    let held = st.plans.plan.as_ref().expect("subscribed");
    assert_eq!(
        (held.name.as_str(), held.credits_per_period),
        ("Pro", m("1000")),
        "the org keeps what it subscribed to"
    );
}

/// Buy more: refused (nothing written, no message) until amounts are
/// offered and for an amount not offered; an offered one writes one
/// processing purchase and, in its transaction, one `top_up.requested`
/// message naming the purchase and who asked, delivered to the endpoints
/// that want it. The same key replays; settling it adds the credits.
pub async fn buy_more_writes_a_purchase_and_its_webhook(t: &mut Ctx) {
    let s = t.store.as_ref();
    new_org(s, "o").await;
    s.webhooks().create_endpoint(&endpoint("o", "whe_top", vec![WebhookType::TopUpRequested])).await.expect("ep");
    s.webhooks().create_endpoint(&endpoint("o", "whe_other", vec![WebhookType::Renewal])).await.expect("ep");
    ok(s, "o", grant("10")).await;
    assert_eq!(code(&run(s, "o", buy_more("100", "olivia@acme.example")).await), "validation_error");
    ok(s, "o", offer(&["100", "500"])).await;
    assert_eq!(code(&run(s, "o", buy_more("250", "olivia@acme.example")).await), "validation_error");
    assert_eq!(code(&run(s, "o", offer(&["0"])).await), "validation_error");
    assert_eq!(history(s, "o").await.len(), 1, "refusals write nothing");
    assert!(s.webhooks().messages("o", 100).await.expect("outbox").is_empty());

    let o = run_key(s, "o", buy_more("500", "olivia@acme.example"), "buy-1").await.expect("buy more");
    let e = &o.events[0];
    assert_eq!(
        (e.kind, e.status, e.amount, e.balance_after),
        (EventKind::Purchase, Status::Processing, m("500"), m("10"))
    );
    let purchase = record_id(&o);
    let again = run_key(s, "o", buy_more("500", "olivia@acme.example"), "buy-1").await.expect("replay");
    assert_eq!(again.events, o.events);
    let outbox = s.webhooks().messages("o", 100).await.expect("outbox");
    assert_eq!(outbox.iter().map(|m| m.kind).collect::<Vec<_>>(), [WebhookType::TopUpRequested]);
    assert_eq!(outbox[0].event_seq, e.seq);
    let body: serde_json::Value = serde_json::from_str(&outbox[0].body).expect("JSON");
    assert_eq!(body["type"], "top_up.requested");
    assert_eq!(body["data"]["purchase_id"], purchase.as_str());
    assert_eq!(body["data"]["requested_by"], "olivia@acme.example");
    assert_eq!(body["data"]["trigger"], "buy_more");
    assert_eq!(body["data"]["amount"], serde_json::json!(500));
    let d = s.webhooks().deliveries("o", "whe_top", 10).await.expect("deliveries");
    assert_eq!(d.len(), 1);
    assert!(s.webhooks().deliveries("o", "whe_other", 10).await.expect("deliveries").is_empty());

    t.reopen().await;
    let s = t.store.as_ref();
    assert_eq!(s.org("o").await.expect("org").settings.buy_more_amounts, [m("100"), m("500")]);
    let settle = Op::SettlePurchase { purchase_id: purchase, status: Status::Succeeded, ctx: EventCtx::default() };
    assert_eq!(ok(s, "o", settle).await.balance.available, m("510"));
}

/// A plan change request is a message of its own in the outbox (no ledger
/// event): written once per request id, fanned out to the endpoints that
/// want it, refused for an unknown org.
pub async fn plan_change_request_is_enqueued(t: &mut Ctx) {
    let s = t.store.as_ref();
    new_org(s, "o").await;
    s.webhooks()
        .create_endpoint(&endpoint("o", "whe_plans", vec![WebhookType::PlanChangeRequested]))
        .await
        .expect("ep");
    let data = PlanChangeData {
        plan_id: "pro".into(),
        plan: plan("Pro", "1000", 3, 500),
        current_plan: None,
        effective: creditd_core::Effective::NextPeriod,
        requested_by: Some("olivia@acme.example".into()),
    };
    let msg = plan_change_message("o", "req_1", t.clock.now(), &data).expect("message");
    s.webhooks().enqueue(&msg).await.expect("enqueue");
    s.webhooks().enqueue(&msg).await.expect("enqueue again: left as it is");
    let outbox = s.webhooks().messages("o", 100).await.expect("outbox");
    assert_eq!(outbox.len(), 1);
    assert_eq!(
        (outbox[0].kind, outbox[0].id.as_str(), outbox[0].body.as_str()),
        (msg.kind, msg.id.as_str(), msg.body.as_str())
    );
    let body: serde_json::Value = serde_json::from_str(&outbox[0].body).expect("JSON");
    assert_eq!((body["type"].as_str(), body["data"]["plan_id"].as_str()), (Some("plan_change.requested"), Some("pro")));
    assert_eq!(s.webhooks().deliveries("o", "whe_plans", 10).await.expect("deliveries").len(), 1);
    let other = plan_change_message("nope", "req_2", t.clock.now(), &data).expect("message");
    assert!(matches!(s.webhooks().enqueue(&other).await, Err(WebhookError::OrgNotFound(_))));
    assert!(history(s, "o").await.is_empty(), "no ledger event");
}

/// A database of the schema before the plan catalogue (`downgrade` takes
/// it back one migration) opens, migrates and keeps its ledger; the
/// catalogue is empty and can be written.
pub async fn plan_catalogue_migrates_from_previous_schema(ctx: &mut Ctx, downgrade: &str) {
    new_org(ctx.store.as_ref(), "old").await;
    ok(ctx.store.as_ref(), "old", grant("10")).await;
    if !ctx.raw_sql(downgrade).await {
        return;
    }
    ctx.reopen().await;
    assert_eq!(ctx.store.balance("old").await.expect("balance").available, m("10"));
    assert!(ctx.store.plan_catalogue().list().await.expect("list").is_empty());
    let now = ctx.clock.now();
    ctx.store.plan_catalogue().put(&entry("pro", "Pro", "1000", now)).await.expect("put");
    ctx.reopen().await;
    assert!(ctx.store.plan_catalogue().get("pro").await.expect("get").is_some());
}
