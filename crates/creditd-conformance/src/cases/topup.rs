//! Money in: auto top-up and usage alerts on both engines (the rules are
//! `creditd_core::topup` and `creditd_core::alerts`): racing clients
//! across the threshold open one purchase, the period cap holds under
//! races, three failed top-ups pause it (webhook, summary) until a
//! purchase succeeds, an alert crossed inside one batch fires once, and a
//! new period re-arms the levels.

use super::*;
use creditd_core::{AlertLevel, AutoTopUpRule, PlanOp, TopUpCap};
use creditd_store::webhooks::WebhookType;

fn rule(threshold: &str, amount: &str) -> AutoTopUpRule {
    AutoTopUpRule {
        threshold: m(threshold),
        amount: Some(m(amount)),
        target_balance: None,
        max_per_period: None,
        pool: Pool::Prepaid,
        pause_after_failures: 3,
        enabled: true,
    }
}

fn set_rule(r: AutoTopUpRule) -> Op {
    Op::Plans(PlanOp::SetAutoTopUp(r))
}

fn settle(id: &str, status: Status) -> Op {
    Op::SettlePurchase { purchase_id: id.to_string(), status, ctx: EventCtx::default() }
}

/// The auto top-up purchases in the history, oldest first.
async fn top_ups(s: &dyn creditd_store::Store, org: &str) -> Vec<creditd_core::Event> {
    let mut v: Vec<_> = history(s, org)
        .await
        .into_iter()
        .filter(|e| e.kind == EventKind::Purchase && e.status == Status::Processing)
        .filter(|e| e.source.as_deref() == Some("auto_top_up"))
        .collect();
    v.reverse();
    v
}

async fn pending(s: &dyn creditd_store::Store, org: &str) -> Option<String> {
    let state = s.org_state(org).await.expect("state");
    state.auto_top_up.pending.map(|p| p.purchase_id)
}

async fn outbox(s: &dyn creditd_store::Store, org: &str, kind: WebhookType) -> Vec<serde_json::Value> {
    let all = s.webhooks().messages(org, 100).await.expect("outbox");
    all.iter().filter(|m| m.kind == kind).map(|m| serde_json::from_str(&m.body).expect("JSON body")).collect()
}

/// 32 clients race usages of 10 across the threshold (1000 available,
/// threshold 850): exactly one `processing` top-up purchase, written in
/// the transaction of the usage that crossed (that usage's outcome carries
/// it), and one `top_up.requested` message naming it.
pub async fn auto_top_up_races_open_one_purchase(t: &mut Ctx) {
    let s = t.store.clone();
    new_org(s.as_ref(), "o").await;
    ok(s.as_ref(), "o", grant("1000")).await;
    ok(s.as_ref(), "o", set_rule(rule("850", "500"))).await;
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move { ok(s.as_ref(), "o", usage("10")).await }));
    }
    let mut with_top_up = Vec::new();
    for task in tasks {
        let o = task.await.expect("task");
        if o.events.iter().any(|e| e.kind == EventKind::Purchase) {
            assert_eq!(kinds(&o.events), vec![EventKind::Usage, EventKind::Purchase], "atomic with the usage");
            assert!(o.events[0].balance_after < m("850"));
            assert!(o.events[0].balance_after >= m("840"), "the usage that crossed");
            with_top_up.push(o.events[1].clone());
        }
    }
    assert_eq!(with_top_up.len(), 1);
    let t = top_ups(s.as_ref(), "o").await;
    assert_eq!(t.len(), 1);
    let id = t[0].hold_id.clone().expect("purchase id");
    assert_eq!((t[0].amount, t[0].pool), (m("500"), Some(Pool::Prepaid)));
    assert_eq!(pending(s.as_ref(), "o").await.as_deref(), Some(id.as_str()));
    let requested = outbox(s.as_ref(), "o", WebhookType::TopUpRequested).await;
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0]["type"], "top_up.requested");
    assert_eq!(requested[0]["data"]["purchase_id"], id.as_str());
    assert_eq!(requested[0]["data"]["amount"], serde_json::json!(500));
    assert_eq!(requested[0]["data"]["event"]["seq"], serde_json::json!(t[0].seq));
    assert_eq!(requested[0]["data"]["trigger"], "auto_top_up", "the same message as Buy more's, its trigger told");
    assert_eq!(
        (&requested[0]["data"]["threshold"], &requested[0]["data"]["requested_by"]),
        (&serde_json::json!(850), &serde_json::Value::Null)
    );
    // The backend settles it with the ordinary route; the credits arrive.
    let done = ok(s.as_ref(), "o", settle(&id, Status::Succeeded)).await;
    assert_eq!(done.balance.available, m("1180"));
    assert_eq!(pending(s.as_ref(), "o").await, None);
    assert_eq!(outbox(s.as_ref(), "o", WebhookType::PurchaseSettled).await.len(), 1);
}

/// The cap under races: the balance stays below the threshold, so each
/// settle asks for the next top-up; 16 clients race usages and settles of
/// whatever is pending. The period's cap (4 top-ups, 250 credits) is never
/// exceeded: 100, 100, then 50 (cut to what is left), then none.
pub async fn auto_top_up_cap_holds_under_races(t: &mut Ctx) {
    let s = t.store.clone();
    new_org(s.as_ref(), "o").await;
    ok(s.as_ref(), "o", grant("100")).await;
    let mut r = rule("100000", "100");
    r.max_per_period = Some(TopUpCap { count: Some(4), credits: Some(m("250")) });
    let set = ok(s.as_ref(), "o", set_rule(r)).await;
    assert_eq!(kinds(&set.events), vec![EventKind::Purchase], "already below: the PUT requests");
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..6 {
                if let Some(p) = pending(s.as_ref(), "o").await {
                    let r = run(s.as_ref(), "o", settle(&p, Status::Succeeded)).await;
                    assert!(matches!(code(&r), "ok" | "purchase_already_settled"), "{}", code(&r));
                }
                if i % 2 == 0 {
                    ok(s.as_ref(), "o", usage("0.5")).await;
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    if let Some(p) = pending(s.as_ref(), "o").await {
        ok(s.as_ref(), "o", settle(&p, Status::Succeeded)).await;
    }
    let amounts: Vec<Micros> = top_ups(s.as_ref(), "o").await.iter().map(|e| e.amount).collect();
    assert_eq!(amounts, vec![m("100"), m("100"), m("50")]);
    assert_eq!(outbox(s.as_ref(), "o", WebhookType::TopUpRequested).await.len(), 3);
    let v = s.org_state("o").await.expect("state").auto_top_up_view(s.now());
    assert_eq!((v.count_this_period, v.credits_this_period, v.pending), (3, m("250"), None));
    let b = s.balance("o").await.expect("balance");
    assert_eq!(b.available, m("326"), "100 + 250 bought − 48 × 0.5 used");
}

/// Three top-ups settled `failed` in a row: the failures are counted, the
/// third pauses auto top-up (`top_up.paused` naming it, the summary says
/// paused and why, nothing more is requested), and a purchase that
/// succeeds resumes it. Kept across a restart.
pub async fn auto_top_up_pauses_after_failures_and_resumes(t: &mut Ctx) {
    let s = t.store.clone();
    new_org(s.as_ref(), "o").await;
    ok(s.as_ref(), "o", grant("20")).await;
    ok(s.as_ref(), "o", set_rule(rule("50", "100"))).await;
    let mut failed = Vec::new();
    for i in 1..=3u32 {
        let p = pending(s.as_ref(), "o").await.expect("a pending top-up");
        let r = ok(s.as_ref(), "o", settle(&p, Status::Failed)).await;
        assert_eq!(kinds(&r.events), vec![EventKind::Purchase], "the failing settle requests nothing");
        failed.push(p);
        let state = s.org_state("o").await.expect("state");
        assert_eq!(state.auto_top_up.consecutive_failures, i);
        if i < 3 {
            ok(s.as_ref(), "o", usage("1")).await;
        }
    }
    let paused = outbox(s.as_ref(), "o", WebhookType::TopUpPaused).await;
    assert_eq!(paused.len(), 1);
    assert_eq!(paused[0]["data"]["purchase_id"], failed[2].as_str());
    assert!(paused[0]["data"]["reason"].as_str().unwrap().starts_with("3 top-ups failed in a row"));
    drop(s);
    t.reopen().await;
    let s = t.store.clone();
    let summary = s.org_state("o").await.expect("state").summary(s.now()).expect("summary");
    assert_eq!(summary.auto_top_up.status, "paused");
    assert!(summary.auto_top_up.paused.as_ref().is_some_and(|p| p.last_failed == failed[2]));
    ok(s.as_ref(), "o", usage("1")).await;
    assert_eq!(pending(s.as_ref(), "o").await, None, "paused: nothing requested");
    assert_eq!(top_ups(s.as_ref(), "o").await.len(), 3);
    let notes = s.notifications("o", 0, 100).await.expect("notifications");
    let names: Vec<_> = notes.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(names, vec!["top_up_requested", "top_up_requested", "top_up_requested", "top_up_paused"]);
    // A purchase that succeeds resumes it; still below, so it asks at once.
    let r = ok(s.as_ref(), "o", purchase("5", Status::Succeeded)).await;
    assert_eq!(kinds(&r.events), vec![EventKind::Purchase, EventKind::Purchase]);
    let v = s.org_state("o").await.expect("state").auto_top_up_view(s.now());
    assert_eq!((v.status.as_str(), v.consecutive_failures), ("active", 0));
    assert!(v.pending.is_some());
    assert_eq!(outbox(s.as_ref(), "o", WebhookType::TopUpRequested).await.len(), 4);
}

/// A plan of 100 credits and levels 50 % and 80 % used: one batch of ten
/// usages of 10 crosses both; each fires exactly once (one `usage_alert`
/// message, one notification), with the figures. The low-balance
/// threshold, set beside them, keeps its `low_balance` message.
pub async fn usage_alert_crossed_inside_one_batch_fires_once(t: &mut Ctx) {
    let s = t.store.clone();
    new_org(s.as_ref(), "o").await;
    let plan = creditd_core::Plan {
        name: "Growth".into(),
        credits_per_period: m("100"),
        identities_included: 1,
        price: m("49"),
        currency: "EUR".into(),
        conversations_per_identity: 500,
        rollover: creditd_core::Rollover::None,
        price_book: None,
    };
    ok(s.as_ref(), "o", Op::Plans(PlanOp::SetPlan { plan, effective: None, renewal_day: None })).await;
    let levels = vec![AlertLevel::PercentUsed(50), AlertLevel::PercentUsed(80)];
    ok(s.as_ref(), "o", Op::Plans(PlanOp::SetAlerts(levels))).await;
    ok(s.as_ref(), "o", Op::Plans(PlanOp::SetLowBalanceThreshold { threshold: Some(m("15")) })).await;
    let batch: Vec<Command> = (0..10).map(|_| Command::new("o", usage("9"), None)).collect();
    for r in s.execute(batch).await {
        r.expect("usage");
    }
    let alerts = outbox(s.as_ref(), "o", WebhookType::UsageAlert).await;
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let mut by_level: Vec<(serde_json::Value, serde_json::Value, serde_json::Value)> = alerts
        .iter()
        .map(|a| (a["data"]["level"].clone(), a["data"]["threshold"].clone(), a["data"]["period_usage"].clone()))
        .collect();
    by_level.sort_by_key(|(l, _, _)| l.to_string());
    assert_eq!(
        by_level,
        vec![
            (serde_json::json!({"percent_used": 50}), serde_json::json!(50), serde_json::json!(54)),
            (serde_json::json!({"percent_used": 80}), serde_json::json!(80), serde_json::json!(81)),
        ]
    );
    assert_eq!(alerts[0]["data"]["allocation"], serde_json::json!(100));
    assert_eq!(outbox(s.as_ref(), "o", WebhookType::LowBalance).await.len(), 1);
    let notes = s.notifications("o", 0, 100).await.expect("notifications");
    let names: Vec<_> = notes.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(names, vec!["usage_alert", "usage_alert", "low_balance"]);
    // Later usage in the period fires nothing more.
    ok(s.as_ref(), "o", usage("1")).await;
    assert_eq!(outbox(s.as_ref(), "o", WebhookType::UsageAlert).await.len(), 2);
}

/// A level still crossed when a period ends fires again in the next one
/// (renewal re-arms), and not twice within a period.
pub async fn usage_alert_rearmed_by_period_renewal(t: &mut Ctx) {
    let s = t.store.clone();
    new_org(s.as_ref(), "o").await;
    ok(s.as_ref(), "o", grant("30")).await;
    ok(s.as_ref(), "o", Op::Plans(PlanOp::SetAlerts(vec![AlertLevel::AvailableBelow(m("1000"))]))).await;
    ok(s.as_ref(), "o", usage("1")).await;
    assert_eq!(outbox(s.as_ref(), "o", WebhookType::UsageAlert).await.len(), 1);
    t.clock.advance(secs(40 * 86_400));
    ok(s.as_ref(), "o", usage("1")).await;
    ok(s.as_ref(), "o", usage("1")).await;
    let alerts = outbox(s.as_ref(), "o", WebhookType::UsageAlert).await;
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[1]["data"]["available"], serde_json::json!(28));
    let view = s.org_state("o").await.expect("state").alerts_view(s.now());
    assert!(view.levels[0].fired);
}

/// An imported history carries on its auto top-up: a top-up failed, the
/// next one is still `processing` when the history is exported. After the
/// import it is the pending one (the rule, set again, requests no second
/// one while it is open), this period's top-ups that did not fail count
/// against a cap set again, and its settle in the new organisation
/// clears it and brings the credits. Kept across a restart.
pub async fn auto_top_up_history_imports(t: &mut Ctx) {
    let s = t.store.clone();
    new_org(s.as_ref(), "src").await;
    ok(s.as_ref(), "src", grant("20")).await;
    ok(s.as_ref(), "src", set_rule(rule("50", "100"))).await;
    let first = pending(s.as_ref(), "src").await.expect("the rule's own top-up");
    ok(s.as_ref(), "src", settle(&first, Status::Failed)).await;
    ok(s.as_ref(), "src", usage("1")).await;
    let second = pending(s.as_ref(), "src").await.expect("the next top-up");
    assert_ne!(first, second);

    let mut events = history(s.as_ref(), "src").await;
    events.reverse();
    for e in &mut events {
        e.org_id = "dst".into();
    }
    let report = s.import("dst", OrgSettings::new("Dst", "UTC"), events).await.expect("import");
    assert!(report.notes.iter().any(|n| n.contains(&second) && n.contains("pending")), "{:?}", report.notes);
    drop(s);
    t.reopen().await;
    let s = t.store.clone();
    let v = s.org_state("dst").await.expect("state").auto_top_up_view(s.now());
    assert_eq!(v.pending.as_ref().map(|p| (p.purchase_id.as_str(), p.amount)), Some((second.as_str(), m("100"))));
    assert_eq!((v.count_this_period, v.credits_this_period, v.consecutive_failures), (1, m("100"), 1));
    assert_eq!((v.status.as_str(), v.rule.is_none()), ("off", true), "the rule is a setting: not in the file");

    // Set again, still below the threshold: the imported top-up is the pending one.
    ok(s.as_ref(), "dst", set_rule(rule("50", "100"))).await;
    ok(s.as_ref(), "dst", usage("1")).await;
    assert_eq!(top_ups(s.as_ref(), "dst").await.len(), 2, "no second top-up while one is pending");
    let done = ok(s.as_ref(), "dst", settle(&second, Status::Succeeded)).await;
    assert_eq!(done.balance.available, m("118"));
    assert_eq!(pending(s.as_ref(), "dst").await, None);
    // A cap of one top-up this period is already used by the imported one.
    let mut capped = rule("150", "10");
    capped.max_per_period = Some(TopUpCap { count: Some(1), credits: None });
    ok(s.as_ref(), "dst", set_rule(capped)).await;
    ok(s.as_ref(), "dst", usage("1")).await;
    assert_eq!(pending(s.as_ref(), "dst").await, None, "the cap counts the imported period's top-up");
    assert_eq!(top_ups(s.as_ref(), "dst").await.len(), 2);
}
