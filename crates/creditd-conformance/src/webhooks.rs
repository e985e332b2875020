//! Conformance cases for the webhook outbox and delivery state (every
//! engine): messages appear with their events, in the same transaction, and
//! never for a refused operation; claims, retries, back-off and giving up.

use std::collections::BTreeSet;

use creditd_core::{Op, PlanOp, Status};
use creditd_store::Clock;
use creditd_store::webhooks::{
    Attempt, DeliveryStatus, Endpoint, MAX_ATTEMPTS, MAX_ENDPOINTS_PER_ORG, Recorded, WebhookError, WebhookType,
    backoff,
};
use jiff::SignedDuration;

use crate::*;

fn endpoint(org: &str, id: &str, types: Option<Vec<WebhookType>>) -> Endpoint {
    Endpoint {
        id: id.to_string(),
        org_id: org.to_string(),
        url: format!("http://127.0.0.1:9/{id}"),
        types,
        description: Some(format!("endpoint {id}")),
        secret: format!("whsec_{id}_0123456789abcdef"),
        created_at: start_time(),
    }
}

fn threshold(credits: &str) -> Op {
    Op::Plans(PlanOp::SetLowBalanceThreshold { threshold: Some(m(credits)) })
}

fn plan_of(credits: &str) -> Op {
    Op::Plans(PlanOp::SetPlan {
        plan: creditd_core::Plan {
            name: "Pro".to_string(),
            credits_per_period: m(credits),
            identities_included: 1,
            price: m("49"),
            currency: "EUR".to_string(),
            conversations_per_identity: 500,
            rollover: creditd_core::Rollover::None,
            price_book: None,
        },
        effective: None,
        renewal_day: None,
    })
}

fn kinds_of(messages: &[creditd_store::webhooks::OutboxMessage]) -> Vec<WebhookType> {
    messages.iter().map(|m| m.kind).collect()
}

async fn outbox(s: &dyn Store, org: &str) -> Vec<creditd_store::webhooks::OutboxMessage> {
    s.webhooks().messages(org, 1000).await.expect("outbox")
}

/// Each of the five types is written with the event it comes from; a
/// refused operation writes none; endpoints get the types they asked for;
/// another org's endpoint gets nothing.
pub async fn webhook_outbox_with_events(t: &mut Ctx) {
    let s = t.store.as_ref();
    let w = s.webhooks();
    new_org(s, "o").await;
    new_org(s, "p").await;
    w.create_endpoint(&endpoint("o", "whe_all", None)).await.expect("endpoint");
    w.create_endpoint(&endpoint("o", "whe_renewal", Some(vec![WebhookType::Renewal]))).await.expect("endpoint");
    w.create_endpoint(&endpoint("p", "whe_p", None)).await.expect("endpoint");

    // Subscribing grants plan credits: not a renewal.
    ok(s, "o", plan_of("100")).await;
    ok(s, "o", threshold("50")).await;
    assert!(outbox(s, "o").await.is_empty());

    ok(s, "o", usage("60")).await;
    assert_eq!(kinds_of(&outbox(s, "o").await), vec![WebhookType::LowBalance]);
    // Refused: nothing written.
    assert_eq!(code(&run(s, "o", usage("1000")).await), "insufficient_credits");
    assert_eq!(code(&run(s, "o", release("hold_nope")).await), "hold_not_found");
    assert_eq!(outbox(s, "o").await.len(), 1);

    let h = ok(s, "o", hold_for("40", 60)).await;
    let hold_id = record_id(&h);
    t.clock.advance(SignedDuration::from_secs(61));
    assert!(s.tick().await.expect("tick") >= 1);
    // A release the caller asks for is not an expiry.
    let h2 = ok(s, "o", hold("1")).await;
    ok(s, "o", release(&record_id(&h2))).await;

    let p1 = ok(s, "o", purchase("5", Status::Processing)).await;
    ok(s, "o", Op::SettlePurchase { purchase_id: record_id(&p1), status: Status::Succeeded, ctx: Default::default() })
        .await;
    let p2 = ok(s, "o", purchase("5", Status::Processing)).await;
    ok(s, "o", Op::SettlePurchase { purchase_id: record_id(&p2), status: Status::Failed, ctx: Default::default() })
        .await;
    ok(s, "o", usage("45")).await;
    let before_renewal = outbox(s, "o").await;
    t.clock.set("2025-04-01T00:00:01Z".parse().expect("time"));
    assert!(s.tick().await.expect("tick") >= 1);

    let messages = outbox(s, "o").await;
    assert_eq!(
        kinds_of(&messages),
        vec![
            WebhookType::LowBalance,
            WebhookType::Depleted,
            WebhookType::HoldExpired,
            WebhookType::PurchaseSettled,
            WebhookType::PurchaseSettled,
            WebhookType::Depleted,
            WebhookType::Renewal,
        ]
    );
    assert_eq!(&messages[..6], &before_renewal[..], "messages are written once and never change");
    let ids: BTreeSet<_> = messages.iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids.len(), messages.len(), "ids are unique");
    let history = history(s, "o").await;
    for msg in &messages {
        let body: serde_json::Value = serde_json::from_str(&msg.body).expect("body is JSON");
        assert_eq!(body["id"], msg.id.as_str());
        assert_eq!(body["type"], msg.kind.as_str());
        assert_eq!(body["org_id"], "o");
        if msg.kind != WebhookType::LowBalance {
            let e = history.iter().find(|e| e.seq == msg.event_seq).expect("the message's event is stored");
            assert_eq!(body["data"]["event"]["id"], e.id.as_str());
            assert_eq!(body["data"]["event"]["seq"], e.seq);
        }
    }
    let expired: serde_json::Value = serde_json::from_str(&messages[2].body).expect("json");
    assert_eq!(expired["data"]["event"]["hold_id"], hold_id.as_str());
    assert_eq!(expired["data"]["event"]["source"], "timeout");
    let low: serde_json::Value = serde_json::from_str(&messages[0].body).expect("json");
    assert_eq!(
        (low["data"]["threshold"].to_string(), low["data"]["available"].to_string()),
        ("50".into(), "40".into())
    );
    let settled: Vec<serde_json::Value> =
        messages[3..5].iter().map(|m| serde_json::from_str(&m.body).expect("json")).collect();
    assert_eq!(settled[0]["data"]["event"]["status"], "succeeded");
    assert_eq!(settled[1]["data"]["event"]["status"], "failed");

    // Fan-out: every message to the catch-all endpoint, the renewal to the
    // other; the other org has no messages and its endpoint no deliveries.
    let all = w.deliveries("o", "whe_all", 100).await.expect("deliveries");
    let mut got: Vec<_> = all.iter().map(|d| d.message_id.clone()).collect();
    got.sort();
    let mut want: Vec<_> = ids.iter().cloned().collect();
    want.sort();
    assert_eq!(got, want);
    assert!(all.iter().all(|d| d.status == DeliveryStatus::Pending && d.attempts == 0));
    let renewal = w.deliveries("o", "whe_renewal", 100).await.expect("deliveries");
    assert_eq!(renewal.iter().map(|d| d.kind).collect::<Vec<_>>(), vec![WebhookType::Renewal]);
    assert!(outbox(s, "p").await.is_empty());
    assert!(w.deliveries("p", "whe_p", 100).await.expect("deliveries").is_empty());
    // Another org's endpoint is not found through this org.
    assert!(w.deliveries("p", "whe_all", 100).await.expect("deliveries").is_empty());
    assert_eq!(w.endpoint("p", "whe_all").await.expect("endpoint"), None);
    assert!(!w.delete_endpoint("p", "whe_all").await.expect("delete"));

    // Survives a restart.
    t.reopen().await;
    assert_eq!(outbox(t.store.as_ref(), "o").await, messages);
}

/// Claims lease deliveries; failures back off on the store's clock; a 2xx
/// ends a delivery; after the last attempt it fails for good; endpoints are
/// limited per org and deleting one drops its deliveries.
pub async fn webhook_delivery_claims(t: &mut Ctx) {
    let s = t.store.as_ref();
    let w = s.webhooks();
    let lease = SignedDuration::from_secs(60);
    new_org(s, "o").await;
    assert!(matches!(w.create_endpoint(&endpoint("nope", "whe_x", None)).await, Err(WebhookError::OrgNotFound(_))));
    assert!(matches!(w.endpoints("nope").await, Err(WebhookError::OrgNotFound(_))));
    w.create_endpoint(&endpoint("o", "whe_a", None)).await.expect("endpoint");
    ok(s, "o", grant("100")).await;
    ok(s, "o", threshold("50")).await;
    ok(s, "o", usage("100")).await;
    // Created after the messages: gets none of them.
    w.create_endpoint(&endpoint("o", "whe_late", None)).await.expect("endpoint");
    assert_eq!(outbox(s, "o").await.len(), 2);

    let now = t.clock.now();
    let claimed = w.claim_due(now, lease, 10).await.expect("claim");
    assert_eq!(claimed.len(), 2);
    assert!(claimed.iter().all(|d| d.endpoint_id == "whe_a" && d.attempts == 0 && d.url.ends_with("/whe_a")));
    assert!(claimed.iter().all(|d| d.secret == "whsec_whe_a_0123456789abcdef"));
    assert!(w.claim_due(now, lease, 10).await.expect("claim").is_empty(), "leased");

    let (first, second) = (&claimed[0], &claimed[1]);
    let r = w.record_attempt(first, &Attempt::Delivered { status: 204 }, now).await.expect("record");
    assert_eq!(r, Recorded::Delivered);
    assert_eq!(
        w.record_attempt(first, &Attempt::Delivered { status: 200 }, now).await.expect("record"),
        Recorded::Gone,
        "recorded once"
    );
    let failed = Attempt::Failed { status: Some(500), error: "HTTP 500".into() };
    let r = w.record_attempt(second, &failed, now).await.expect("record");
    assert_eq!(r, Recorded::Retry(now.checked_add(backoff(1)).expect("time")));
    assert!(w.claim_due(now, lease, 10).await.expect("claim").is_empty(), "backing off");
    t.clock.advance(backoff(1));
    let again = w.claim_due(t.clock.now(), lease, 10).await.expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].message_id.as_str(), again[0].attempts), (second.message_id.as_str(), 1));
    assert_eq!(again[0].body, second.body, "the same body every time");
    // A worker that dies mid-attempt: the delivery comes back after the lease.
    t.clock.advance(lease);
    let mut d = w.claim_due(t.clock.now(), lease, 10).await.expect("claim").pop().expect("claimed after lease");
    let mut last = Recorded::Gone;
    for _ in 1..MAX_ATTEMPTS {
        last = w
            .record_attempt(&d, &Attempt::Failed { status: None, error: "connection refused".into() }, t.clock.now())
            .await
            .expect("record");
        match last {
            Recorded::Retry(at) => {
                t.clock.set(at);
                d = w.claim_due(t.clock.now(), lease, 10).await.expect("claim").pop().expect("due again");
            }
            _ => break,
        }
    }
    assert_eq!(last, Recorded::GaveUp);
    assert_eq!(d.attempts + 1, MAX_ATTEMPTS);
    t.clock.advance(SignedDuration::from_hours(48));
    assert!(w.claim_due(t.clock.now(), lease, 10).await.expect("claim").is_empty(), "failed for good");
    let rows = w.deliveries("o", "whe_a", 10).await.expect("deliveries");
    let by_status: BTreeSet<_> = rows.iter().map(|r| (r.status, r.attempts, r.last_status)).collect();
    assert_eq!(
        by_status,
        BTreeSet::from([(DeliveryStatus::Delivered, 1, Some(204)), (DeliveryStatus::Failed, MAX_ATTEMPTS, None)])
    );
    let failed_row = rows.iter().find(|r| r.status == DeliveryStatus::Failed).expect("failed row");
    assert_eq!(failed_row.last_error.as_deref(), Some("connection refused"));
    assert_eq!(failed_row.next_attempt_at, None);
    assert!(w.deliveries("o", "whe_late", 10).await.expect("deliveries").is_empty());

    // Deleting drops the endpoint and its pending deliveries.
    ok(s, "o", grant("100")).await;
    ok(s, "o", usage("100")).await;
    // Low balance and depleted, to each endpoint.
    assert_eq!(w.claim_due(t.clock.now(), lease, 10).await.expect("claim").len(), 4);
    t.clock.advance(lease);
    assert!(w.delete_endpoint("o", "whe_a").await.expect("delete"));
    assert!(!w.delete_endpoint("o", "whe_a").await.expect("delete"));
    let left = w.claim_due(t.clock.now(), lease, 10).await.expect("claim");
    assert_eq!(left.iter().map(|d| d.endpoint_id.as_str()).collect::<Vec<_>>(), vec!["whe_late", "whe_late"]);
    assert_eq!(w.endpoints("o").await.expect("endpoints").len(), 1);

    // At most so many endpoints per org.
    for i in 1..MAX_ENDPOINTS_PER_ORG {
        w.create_endpoint(&endpoint("o", &format!("whe_{i}"), None)).await.expect("endpoint");
    }
    let over = w.create_endpoint(&endpoint("o", "whe_over", None)).await;
    assert!(matches!(over, Err(WebhookError::TooMany { .. })), "{over:?}");
    assert_eq!(w.endpoints("o").await.expect("endpoints").len(), MAX_ENDPOINTS_PER_ORG);
}
