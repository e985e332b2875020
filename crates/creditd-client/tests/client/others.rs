//! The operations beyond the ledger's writes, each called against a live
//! server and its answer decoded into the client's types.

use std::collections::BTreeMap;

use creditd_client::operations;
use creditd_client::{
    BatchItem, CapSubject, ConversationQuery, Credit, Effective, ErrorCode, KeyKind, MemberPatch, NewConversation,
    NewEndpoint, NewKey, NewMember, PlanRequest, PriceBookDraft, PriceLine, Role, Rollover, SetCap, Usage, UsageQuery,
};

use crate::common::{Server, c, org};

#[tokio::test]
async fn plans_summary_threshold_and_notifications() {
    let server = Server::start();
    let client = server.client();
    let o = org(&client, "plans").await;

    let plan = PlanRequest {
        name: "Pro".into(),
        credits_per_period: c("1000"),
        identities_included: 2,
        price: c("449"),
        currency: "EUR".into(),
        conversations_per_identity: Some(3),
        effective: Some(Effective::Now),
        price_book: None,
        renewal_day: None,
        rollover: Some(Rollover::UpTo { max_credits: c("250.5") }),
    };
    let changed = client.set_plan(&o, &plan, None).await.unwrap();
    let p = changed.plan.clone().expect("the plan in force");
    assert_eq!((p.name.as_str(), p.credits_per_period, p.price), ("Pro", c("1000"), c("449")));
    assert_eq!(p.rollover, Rollover::UpTo { max_credits: c("250.5") });
    assert_eq!(changed.balance.pools.plan, c("1000"));
    assert!(changed.events.iter().any(|e| e.kind == creditd_client::EventKind::SubscriptionCredit));
    let view = client.get_plan(&o).await.unwrap();
    assert_eq!(view.plan, changed.plan);
    assert_eq!(view.time_zone, "Europe/Madrid");

    let set = client.set_low_balance_threshold(&o, Some(c("900")), None).await.unwrap();
    assert_eq!(set.low_balance.threshold, Some(c("900")));
    assert!(!set.low_balance.below);
    client.record_usage(&o, &Usage::new(c("150.25")), None).await.unwrap();

    let summary = client.get_plan_summary(&o).await.unwrap();
    assert_eq!(summary.plan.as_deref(), Some("Pro"));
    assert_eq!(summary.plan_credits, c("1000"));
    assert_eq!(summary.used_this_period, c("150.25"));
    assert_eq!(summary.balance, c("849.75"));
    assert!(summary.low_balance.below);
    assert_eq!(summary.price.as_ref().map(|p| (p.amount, p.currency.as_str())), Some((c("449"), "EUR")));

    let notes = client.list_notifications(&o, None, Some(10)).await.unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!((notes[0].threshold, notes[0].balance), (c("900"), c("849.75")));
    assert!(client.list_notifications(&o, Some(notes[0].seq), None).await.unwrap().is_empty());

    // Conversations count against the plan's limit per identity.
    for i in 0..3 {
        let started = client
            .start_conversation(
                &o,
                &NewConversation { identity: "ana".into(), campaign: Some("spring".into()), started_at: None },
                None,
            )
            .await
            .unwrap();
        assert_eq!(started.remaining_this_month, 2 - i);
    }
    let e = client
        .start_conversation(&o, &NewConversation { identity: "ana".into(), campaign: None, started_at: None }, None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::ConversationLimitReached), "{e}");
    let by_campaign = ConversationQuery { group_by: Some("campaign".into()), ..Default::default() };
    let report = client.list_conversations(&o, &by_campaign).await.unwrap();
    assert_eq!(report.total, 3);
    assert_eq!(
        report.rows.iter().map(|r| (r.key.as_deref(), r.conversations)).collect::<Vec<_>>(),
        vec![(Some("spring"), 3)]
    );
    let usage = client.get_conversation_usage(&o, &ConversationQuery::default()).await.unwrap();
    assert_eq!(usage.total, 3);

    let report =
        client.get_usage(&o, &UsageQuery { group_by: Some("action".into()), ..Default::default() }).await.unwrap();
    assert_eq!(report.total_credits, c("150.25"));
    assert_eq!(report.total_operations, 1);

    let verified = client.verify_ledger(&o).await.unwrap();
    assert!(verified.ok, "{:?}", verified.problems);
    assert_eq!(verified.events, changed.balance.seq + 1);
}

#[tokio::test]
async fn members_keys_caps_and_me() {
    let server = Server::start();
    let client = server.client();
    let o = org(&client, "people").await;

    let ana = client
        .add_member(&o, &NewMember { email: "ana@example.com".into(), name: "Ana".into(), role: Some(Role::Owner) })
        .await
        .unwrap();
    assert_eq!((ana.role, ana.org_id.as_str()), (Role::Owner, "people"));
    client.add_member(&o, &NewMember { email: "bo@example.com".into(), name: "Bo".into(), role: None }).await.unwrap();
    assert_eq!(client.list_members(&o).await.unwrap().len(), 2);
    let bo = client
        .update_member(&o, "bo@example.com", &MemberPatch { role: Some(Role::Admin), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(bo.role, Role::Admin);
    assert_eq!(client.get_member(&o, "bo@example.com").await.unwrap().name, "Bo");

    let cap = client
        .set_cap(&o, &SetCap { member: Some("bo@example.com".into()), limit: Some(c("5")), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(cap.subject, CapSubject::Member("bo@example.com".into()));
    assert_eq!(cap.cap.as_ref().unwrap().limit, c("5"));
    assert_eq!(client.list_caps(&o).await.unwrap().len(), 1);

    // A member's own key: what it may do is the server's rule.
    let made = client
        .create_api_key(&NewKey {
            kind: KeyKind::Member,
            name: Some("bo's".into()),
            org_id: Some(o.clone()),
            email: Some("bo@example.com".into()),
            org_ids: None,
        })
        .await
        .unwrap();
    assert_eq!(made.key.kind, KeyKind::Member);
    assert_eq!(made.key.email.as_deref(), Some("bo@example.com"));
    assert!(made.secret.starts_with(&made.key.prefix));
    assert_eq!(client.get_api_key(&made.key.id).await.unwrap().id, made.key.id);
    assert!(client.list_api_keys(Some(&o)).await.unwrap().iter().any(|k| k.id == made.key.id));

    let bo_client = creditd_client::Client::new(&server.url, &made.secret).unwrap();
    let me = bo_client.get_me(&o).await.unwrap();
    assert_eq!((me.kind, me.email.as_deref(), me.role), (KeyKind::Member, Some("bo@example.com"), Some(Role::Admin)));
    assert_eq!(me.caps.len(), 1);
    client.grant_credits(&o, &Credit::grant(c("10")), None).await.unwrap();
    let mut u = Usage::new(c("6"));
    u.ctx.user_email = Some("bo@example.com".into());
    let e = bo_client.record_usage(&o, &u, None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::CapExceeded), "{e}");

    let revoked = client.revoke_api_key(&made.key.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    let e = bo_client.get_me(&o).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Unauthorized), "{e}");

    let e = client.remove_member(&o, "ana@example.com").await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::LastOwner), "{e}");
    let removed = client.remove_member(&o, "bo@example.com").await.unwrap();
    assert_eq!(removed.email, "bo@example.com");
    assert_eq!(client.list_members(&o).await.unwrap().len(), 1);
}

#[tokio::test]
async fn endpoints_price_books_batch_and_raw_calls() {
    let server = Server::start();
    let client = server.client();
    let o = org(&client, "misc").await;

    let made = client
        .create_webhook_endpoint(&o, &NewEndpoint { url: "http://127.0.0.1:9/hook".into(), event_types: None })
        .await
        .unwrap();
    let id = made.endpoint.id.clone();
    assert_eq!(client.get_webhook_endpoint(&o, &id).await.unwrap(), made.endpoint);
    assert_eq!(client.list_webhook_endpoints(&o).await.unwrap(), vec![made.endpoint.clone()]);
    assert!(client.list_webhook_deliveries(&o, &id, None).await.unwrap().deliveries.is_empty());
    let deleted = client.delete_webhook_endpoint(&o, &id).await.unwrap();
    assert!(deleted.deleted);
    let e = client.get_webhook_endpoint(&o, &id).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::NotFound), "{e}");

    let draft = PriceBookDraft {
        effective_from: None,
        prices: vec![PriceLine {
            key: "image".into(),
            service: "AI Images".into(),
            activity: "Generate image".into(),
            unit: "image".into(),
            dimensions: BTreeMap::new(),
            credits_per_unit: Some(c("0.125")),
            tiers: None,
        }],
    };
    let v1 = client.put_price_book("standard", &draft).await.unwrap();
    assert_eq!((&*v1.book_id, v1.version), ("standard", 1));
    assert_eq!(v1.prices[0].credits_per_unit, Some(c("0.125")));
    let book = client.get_price_book("standard").await.unwrap();
    assert_eq!(book.versions, vec![v1.clone()]);
    assert_eq!(client.list_price_books().await.unwrap().len(), 1);

    let results = client
        .run_batch(&[
            BatchItem {
                org_id: o.clone(),
                op: "credits".into(),
                body: Some(serde_json::json!({"kind": "grant", "amount": "5"})),
                hold_id: None,
                purchase_id: None,
                idempotency_key: Some("b-1".into()),
            },
            BatchItem {
                org_id: o.clone(),
                op: "usage".into(),
                body: Some(serde_json::json!({"amount": 9})),
                hold_id: None,
                purchase_id: None,
                idempotency_key: Some("b-2".into()),
            },
        ])
        .await
        .unwrap();
    assert_eq!(results.len(), 2);
    assert!(results[0].ok);
    assert_eq!(results[0].result.as_ref().unwrap().balance.available, c("5"));
    assert!(!results[1].ok);
    assert_eq!(results[1].error.as_ref().unwrap().error_code(), Some(ErrorCode::InsufficientCredits));

    // The raw escape hatch reaches any operation of the table.
    let raw = client.call_json(&operations::GET_BALANCE, &[&o], &[], None, None).await.unwrap();
    assert_eq!(raw["available"], serde_json::json!(5));
    let doc = client.openapi_document().await.unwrap();
    assert!(doc["paths"].as_object().unwrap().len() > 10);
}

#[tokio::test]
async fn auto_top_up_and_usage_alerts() {
    use creditd_client::{AlertLevel, AutoTopUpRule, Pool, TopUpCap};
    let server = Server::start();
    let client = server.client();
    let o = org(&client, "money-in").await;
    client.grant_credits(&o, &Credit::grant(c("100")), None).await.unwrap();
    assert_eq!(client.get_auto_top_up(&o).await.unwrap().status, "off");
    let rule = AutoTopUpRule {
        threshold: c("50"),
        amount: None,
        target_balance: Some(c("120.5")),
        max_per_period: Some(TopUpCap { count: Some(2), credits: None }),
        pool: Pool::Prepaid,
        pause_after_failures: 2,
        enabled: true,
    };
    let set = client.set_auto_top_up(&o, &rule, None).await.unwrap();
    assert_eq!((set.status.as_str(), set.rule.as_ref()), ("active", Some(&rule)));
    client.record_usage(&o, &Usage::new(c("60")), None).await.unwrap();
    let view = client.get_auto_top_up(&o).await.unwrap();
    let pending = view.pending.expect("a top-up below the threshold");
    assert_eq!((pending.amount, view.count_this_period), (c("80.5"), 1));
    let summary = client.get_plan_summary(&o).await.unwrap();
    assert_eq!((summary.auto_top_up.status.as_str(), summary.auto_top_up.pending), ("active", Some(pending)));

    let levels = vec![AlertLevel::PercentUsed(80), AlertLevel::AvailableBelow(c("45"))];
    let set = client.set_alerts(&o, &levels, None).await.unwrap();
    assert_eq!(set.levels.iter().map(|l| l.level.clone()).collect::<Vec<_>>(), levels);
    assert!(set.levels[1].fired, "40 available: below 45 at once");
    let got = client.get_alerts(&o).await.unwrap();
    assert_eq!((got.available, got.allocation), (c("40"), None));
    let kinds: Vec<String> =
        client.list_notifications(&o, None, None).await.unwrap().into_iter().map(|n| n.kind).collect();
    assert_eq!(kinds, vec!["top_up_requested", "usage_alert"]);
}

/// The plan catalogue, Buy more and Change plan through the client.
#[tokio::test]
async fn catalogue_buy_more_and_change_plan() {
    let server = Server::start();
    let client = server.client();
    let o = org(&client, "buyer").await;
    let pro = creditd_client::CataloguePlanRequest {
        name: "Pro".into(),
        credits_per_period: c("1000"),
        identities_included: 2,
        price: c("449"),
        currency: "EUR".into(),
        conversations_per_identity: None,
        rollover: None,
        price_book: None,
        price_text: Some("449 € / month".into()),
        description: None,
    };
    let entry = client.put_catalogue_plan("pro", &pro).await.unwrap();
    assert_eq!(
        (entry.id.as_str(), entry.plan.name.as_str(), entry.price_text.as_deref()),
        ("pro", "Pro", Some("449 € / month"))
    );
    let all = client.list_catalogue_plans().await.unwrap();
    assert_eq!(all, vec![entry.clone()]);

    // Not offered yet: refused.
    let e = client.request_purchase(&o, c("100"), None, None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::ValidationError), "{e}");
    let patch = creditd_client::OrganizationPatch {
        buy_more_amounts: Some(vec![c("100"), c("250.5")]),
        checkout_url_template: Some("https://pay.example.com/{purchase_id}?s={signature}".into()),
        ..Default::default()
    };
    let org_now = client.update_organization(&o, &patch).await.unwrap();
    assert_eq!(org_now.buy_more_amounts, vec![c("100"), c("250.5")]);
    let bought = client.request_purchase(&o, c("250.5"), Some("ana@example.com"), Some("buy-1")).await.unwrap();
    let p = bought.purchase.clone().expect("the purchase");
    assert_eq!((p.amount, p.status.as_str()), (c("250.5"), "processing"));
    assert!(bought.checkout_url.as_deref().unwrap().starts_with(&format!("https://pay.example.com/{}?s=", p.id)));
    let again = client.request_purchase(&o, c("250.5"), Some("ana@example.com"), Some("buy-1")).await.unwrap();
    assert_eq!(again.events, bought.events, "the same key replays");

    let asked = client.request_plan_change(&o, "pro", None, None).await.unwrap();
    assert!(!asked.applied && asked.message_id.is_some(), "{asked:?}");
    assert_eq!(asked.plan.plan, None);
    let patch = creditd_client::OrganizationPatch { self_service_plan_change: Some(true), ..Default::default() };
    assert!(client.update_organization(&o, &patch).await.unwrap().self_service_plan_change);
    let applied = client.request_plan_change(&o, "pro", Some(Effective::Now), None).await.unwrap();
    assert!(applied.applied && applied.message_id.is_none(), "{applied:?}");
    assert_eq!(applied.plan.plan.map(|p| p.name).as_deref(), Some("Pro"));
    let e = client.request_plan_change(&o, "gold", None, None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::ValidationError), "{e}");

    // An operator's backend subscribes another org to a catalogue plan.
    let other = org(&client, "subscriber").await;
    let set = client.set_catalogue_plan(&other, "pro", None, Some("sub-1")).await.unwrap();
    assert_eq!(client.get_plan(&other).await.unwrap().plan.map(|p| p.name).as_deref(), Some("Pro"), "{set:?}");
    let e = client.set_catalogue_plan(&other, "gold", None, None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::ValidationError), "an unknown catalogue plan: {e}");
}
