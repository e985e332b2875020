//! Idempotency keys, batches of independent commands, and bad input refused without a write.

use super::*;

/// The same key with the same body returns the first result and writes once.
pub async fn idempotent_retry_same_body(t: &mut Ctx) {
    let s = t.store.as_ref();
    new_org(s, "o").await;
    new_org(s, "p").await;
    let first = run_key(s, "o", grant("10"), "g-1").await.expect("grant");
    let again = run_key(s, "o", grant("10"), "g-1").await.expect("retry");
    assert_eq!(first, again);
    assert_eq!(first.events[0].idempotency_key.as_deref(), Some("g-1"));
    let h1 = run_key(s, "o", hold("3"), "h-1").await.expect("hold");
    ok(s, "o", usage("1")).await;
    let h2 = run_key(s, "o", hold("3"), "h-1").await.expect("hold retry");
    assert_eq!(h1, h2, "a retry answers with the first result, balances included");
    let other = run_key(s, "p", grant("10"), "g-1").await.expect("same key, other org");
    assert_eq!(other.events[0].org_id, "p");
    assert_eq!(history(s, "o").await.len(), 3);
    assert_eq!(s.balance("o").await.expect("balance").available, m("6"));
}

/// The same key with a different body is a conflict and writes nothing.
pub async fn idempotency_conflict_different_body(t: &mut Ctx) {
    let s = t.store.as_ref();
    new_org(s, "o").await;
    run_key(s, "o", grant("10"), "k").await.expect("grant");
    let r = run_key(s, "o", grant("11"), "k").await;
    assert!(matches!(r, Err(StoreError::IdempotencyConflict { .. })), "{r:?}");
    assert_eq!(code(&run_key(s, "o", usage("1"), "k").await), "idempotency_conflict");
    // A refused operation stores no key: the key can be used once it succeeds.
    assert_eq!(code(&run_key(s, "o", usage("100"), "u").await), "insufficient_credits");
    run_key(s, "o", usage("1"), "u").await.expect("usage after a refusal with the same key");
    assert_eq!(history(s, "o").await.len(), 2);
}

/// Concurrent retries of one request: one event, every caller the same answer.
pub async fn concurrent_idempotent_retries(t: &mut Ctx) {
    let s = t.store.clone();
    new_org(s.as_ref(), "o").await;
    ok(s.as_ref(), "o", grant("100")).await;
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move { run_key(s.as_ref(), "o", hold("7"), "retry-me").await }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task").expect("hold"));
    }
    assert!(outcomes.windows(2).all(|w| w[0] == w[1]));
    let holds = history(s.as_ref(), "o").await.into_iter().filter(|e| e.kind == EventKind::Hold).count();
    assert_eq!(holds, 1);
    assert_eq!(s.balance("o").await.expect("balance").held, m("7"));
}

/// Commands of one `execute` call succeed or fail on their own.
pub async fn batch_commands_independent(t: &mut Ctx) {
    let s = t.store.as_ref();
    new_org(s, "o").await;
    let results = s
        .execute(vec![
            Command::new("o", grant("10"), None),
            Command::new("o", usage("100"), None),
            Command::new("o", usage("3"), None),
            Command::new("missing", grant("1"), None),
            Command::new("o", debit("hold_1", None), None),
        ])
        .await;
    let codes: Vec<&str> = results.iter().map(code).collect();
    assert_eq!(codes, vec!["ok", "insufficient_credits", "ok", "not_found", "hold_not_found"]);
    let b = s.balance("o").await.expect("balance");
    assert_eq!((b.available, b.seq), (m("7"), 2));
}

/// Bad input is refused with a domain error, never a storage failure, and
/// leaves the store working.
pub async fn bad_input_is_refused_not_failed(t: &mut Ctx) {
    let s = t.store.as_ref();
    new_org(s, "o").await;
    new_org(s, "big").await;
    let refusals = vec![
        Command::new("o", grant("0"), None),
        Command::new("o", grant("-1"), None),
        Command::new("o", hold("-1"), None),
        Command::new("o", hold_for("1", 0), None),
        Command::new("o", usage("0"), None),
        Command::new("o", credit_in(Pool::Voucher, "1", Some(start_time())), None),
        Command::new("o", Op::Billing { amount: m("1"), ctx: EventCtx::default() }, None),
        Command::new(
            "o",
            Op::Usage {
                amount: m("1"),
                ctx: EventCtx { user_email: Some("not-an-email".into()), ..EventCtx::default() },
            },
            None,
        ),
    ];
    for r in s.execute(refusals).await {
        assert_eq!(code(&r), "validation_error", "{r:?}");
    }
    ok(
        s,
        "big",
        Op::Credit(creditd_core::CreditOp { amount: Micros::MAX, ..credit(creditd_core::CreditKind::Grant, "1") }),
    )
    .await;
    assert_eq!(code(&run(s, "big", grant("0.000001")).await), "amount_overflow");
    // Text PostgreSQL cannot store (NUL) is either kept verbatim or refused
    // as invalid, on its own: the commands around it still succeed.
    let nul = EventCtx { description: Some("a\0b".into()), ..EventCtx::default() };
    let results = s
        .execute(vec![
            Command::new("o", grant("5"), None),
            Command::new(
                "o",
                Op::Credit(creditd_core::CreditOp { ctx: nul, ..credit(creditd_core::CreditKind::Grant, "1") }),
                None,
            ),
            Command::new("o", usage("1"), Some("key\0nul".into())),
            Command::new("o\0x", grant("1"), None),
            Command::new("o", usage("2"), None),
        ])
        .await;
    let codes: Vec<&str> = results.iter().map(code).collect();
    assert_eq!(codes[0], "ok");
    assert!(matches!(codes[1], "ok" | "validation_error"), "{results:?}");
    assert!(matches!(codes[2], "ok" | "validation_error"), "{results:?}");
    assert_eq!(codes[3], "not_found");
    assert_eq!(codes[4], "ok");
    if codes[1] == "ok" {
        let h = history(s, "o").await;
        assert!(h.iter().any(|e| e.description.as_deref() == Some("a\0b")));
    }
    assert!(matches!(s.balance("o\0x").await, Err(StoreError::OrgNotFound(_))));
    ok(s, "o", usage("1")).await;
}
