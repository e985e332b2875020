//! Plans, renewals, conversations and low-balance notifications.

use super::*;

pub(crate) fn plan(name: &str, credits: &str, identities: u32, conversations: u32) -> creditd_core::Plan {
    creditd_core::Plan {
        name: name.to_string(),
        credits_per_period: m(credits),
        identities_included: identities,
        price: m("49"),
        currency: "EUR".to_string(),
        conversations_per_identity: conversations,
        rollover: creditd_core::Rollover::None,
        price_book: None,
    }
}

pub(crate) fn set_plan(p: creditd_core::Plan) -> Op {
    Op::Plans(creditd_core::PlanOp::SetPlan { plan: p, effective: None, renewal_day: None })
}

pub(crate) fn conversation(identity: &str, campaign: Option<&str>) -> Op {
    Op::Plans(creditd_core::PlanOp::Conversation {
        identity: identity.to_string(),
        campaign: campaign.map(str::to_string),
        started_at: None,
    })
}

pub(crate) fn at(text: &str) -> jiff::Timestamp {
    text.parse().unwrap_or_else(|e| panic!("time {text}: {e}"))
}

/// A plan renews at its period start through `tick`: unused plan credits
/// expire, the new period's credits arrive, once; renewals missed while the
/// server was down are applied once each, in order, at their own instants.
pub async fn plan_renewal_by_tick(t: &mut Ctx) {
    {
        let s = t.store.as_ref();
        new_org(s, "o").await;
        let sub = ok(s, "o", set_plan(plan("Pro", "100", 3, 500))).await;
        assert_eq!(kinds(&sub.events), vec![EventKind::SubscriptionCredit]);
        assert_eq!(sub.balance.pools.plan, m("100"));
        ok(s, "o", usage("30")).await;
        assert_eq!(s.tick().await.expect("tick"), 0);
        t.clock.set(at("2025-04-01T00:00:01Z"));
        assert_eq!(s.tick().await.expect("tick"), 1);
        assert_eq!(s.tick().await.expect("tick"), 0, "a renewal happens once");
        let b = s.balance("o").await.expect("balance");
        assert_eq!((b.available, b.pools.plan, b.period_usage), (m("100"), m("100"), Micros::ZERO));
        assert_eq!(b.period_start, Some(at("2025-04-01T00:00:00Z")));
        let h = history(s, "o").await;
        assert_eq!(kinds(&h[..2]), vec![EventKind::SubscriptionCredit, EventKind::Expiry]);
        assert_eq!((h[1].amount, h[1].pool), (m("-70"), Some(Pool::Plan)));
        assert!(h[..2].iter().all(|e| e.created_at == at("2025-04-01T00:00:00Z")));
    }
    // Down from mid-April to mid-June: May and June renewals are due.
    t.clock.set(at("2025-06-15T08:00:00Z"));
    t.reopen().await;
    let s = t.store.as_ref();
    assert_eq!(s.tick().await.expect("tick"), 1);
    assert_eq!(s.tick().await.expect("tick"), 0);
    let h = history(s, "o").await;
    let credits: Vec<_> = h.iter().filter(|e| e.kind == EventKind::SubscriptionCredit).map(|e| e.created_at).collect();
    assert_eq!(
        credits,
        vec![
            at("2025-06-01T00:00:00Z"),
            at("2025-05-01T00:00:00Z"),
            at("2025-04-01T00:00:00Z"),
            at("2025-03-10T12:00:00Z")
        ]
    );
    assert_eq!(
        kinds(&h[..4]),
        vec![EventKind::SubscriptionCredit, EventKind::Expiry, EventKind::SubscriptionCredit, EventKind::Expiry]
    );
    let b = s.balance("o").await.expect("balance");
    assert_eq!((b.available, b.pools.plan), (m("100"), m("100")));
    let state = s.org_state("o").await.expect("org state");
    assert_eq!(state.plans.plan.as_ref().map(|p| p.name.as_str()), Some("Pro"));
    assert!(matches!(s.org_state("nope").await, Err(StoreError::OrgNotFound(_))));
}

/// Conversations count per identity and month against the plan's limits,
/// survive a restart, and group by identity, campaign and day.
pub async fn conversations_limit_and_analytics(t: &mut Ctx) {
    use creditd_store::{ConversationGroup, ConversationQuery};
    {
        let s = t.store.as_ref();
        new_org(s, "o").await;
        ok(s, "o", set_plan(plan("Starter", "0", 2, 2))).await;
        let c = ok(s, "o", conversation("alice", Some("spring"))).await;
        let conv = c.conversation.expect("the conversation");
        assert_eq!((conv.seq, conv.month_count, conv.month_limit), (1, 1, 2));
        assert!(c.events.is_empty(), "a conversation is not a credit event");
        ok(s, "o", conversation("alice", Some("spring"))).await;
        assert_eq!(code(&run(s, "o", conversation("alice", None)).await), "conversation_limit_reached");
        ok(s, "o", conversation("bob", None)).await;
        assert_eq!(code(&run(s, "o", conversation("carol", None)).await), "identity_limit_reached");
        assert_eq!(code(&run(s, "o", conversation("  ", None)).await), "validation_error");
    }
    t.reopen().await;
    let s = t.store.as_ref();
    assert_eq!(code(&run(s, "o", conversation("alice", None)).await), "conversation_limit_reached");
    let q = |group_by| ConversationQuery { from: at("2025-03-01T00:00:00Z"), to: at("2025-04-01T00:00:00Z"), group_by };
    let by = |rows: Vec<creditd_store::ConversationCount>| {
        rows.into_iter().map(|r| (r.key, r.conversations)).collect::<Vec<_>>()
    };
    assert_eq!(
        by(s.conversation_usage("o", &q(ConversationGroup::Identity)).await.expect("by identity")),
        vec![(Some("alice".to_string()), 2), (Some("bob".to_string()), 1)]
    );
    let campaigns = by(s.conversation_usage("o", &q(ConversationGroup::Campaign)).await.expect("by campaign"));
    assert_eq!(campaigns[0], (Some("spring".to_string()), 2));
    assert_eq!(campaigns[1], (None, 1));
    assert_eq!(
        by(s.conversation_usage("o", &q(ConversationGroup::Day)).await.expect("by day")),
        vec![(Some("2025-03-10".to_string()), 3)]
    );
    let april = ConversationQuery {
        from: at("2025-04-01T00:00:00Z"),
        to: at("2025-05-01T00:00:00Z"),
        group_by: ConversationGroup::Day,
    };
    assert!(s.conversation_usage("o", &april).await.expect("april").is_empty());
    assert!(matches!(s.conversation_usage("nope", &april).await, Err(StoreError::OrgNotFound(_))));
    // A new month starts new counts.
    t.clock.set(at("2025-04-02T09:00:00Z"));
    ok(s, "o", conversation("alice", None)).await;
}

/// Crossing the low-balance threshold downwards leaves one notification,
/// until the balance is back above it.
pub async fn low_balance_notifications(t: &mut Ctx) {
    let s = t.store.as_ref();
    new_org(s, "o").await;
    let threshold = Op::Plans(creditd_core::PlanOp::SetLowBalanceThreshold { threshold: Some(m("10")) });
    let set = ok(s, "o", threshold).await;
    assert!(set.events.is_empty());
    assert_eq!(s.org_state("o").await.expect("state").settings.low_balance_threshold, Some(m("10")));
    ok(s, "o", grant("20")).await;
    let dip = ok(s, "o", usage("15")).await;
    ok(s, "o", usage("1")).await;
    ok(s, "o", grant("100")).await;
    ok(s, "o", usage("100")).await;
    let notes = s.notifications("o", 0, 10).await.expect("notifications");
    // Set while the balance was 0: below at once, with no event behind it.
    assert_eq!(notes.len(), 3);
    assert_eq!((notes[0].seq, notes[0].balance, notes[0].event_seq), (1, Micros::ZERO, 0));
    assert_eq!((notes[1].seq, notes[1].balance, notes[1].threshold), (2, m("5"), m("10")));
    assert_eq!(notes[1].event_seq, dip.events[0].seq);
    assert_eq!((notes[2].seq, notes[2].balance), (3, m("4")));
    assert_eq!(s.notifications("o", 1, 10).await.expect("after 1").len(), 2);
    assert_eq!(s.notifications("o", 0, 1).await.expect("limit 1"), notes[..1].to_vec());
    assert!(matches!(s.notifications("nope", 0, 10).await, Err(StoreError::OrgNotFound(_))));
}
