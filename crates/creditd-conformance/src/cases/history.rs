//! History pages, filters, paging while writing, the newest-first export and a restart.

use super::*;

/// Builds a varied history over three days: kinds, pools, statuses, services,
/// projects, users.
pub(crate) async fn varied_history(t: &Ctx, org: &str) {
    let s = t.store.as_ref();
    new_org(s, org).await;
    ok(s, org, grant("1000")).await;
    t.clock.advance(secs(86_400));
    ok(s, org, usage_by("1", "AI Inference", "p1", "ana@example.com")).await;
    ok(s, org, usage_by("2", "Scraping", "p2", "ben@example.com")).await;
    let h = Op::Hold(creditd_core::HoldOp {
        amount: m("5"),
        timeout_seconds: None,
        ctx: EventCtx {
            service: Some("AI Inference".into()),
            project_id: Some("p1".into()),
            user_email: Some("ana@example.com".into()),
            ..EventCtx::default()
        },
    });
    let id = record_id(&ok(s, org, h).await);
    ok(s, org, debit(&id, Some("4"))).await;
    let pur = record_id(&ok(s, org, purchase("10", Status::Processing)).await);
    ok(s, org, Op::SettlePurchase { purchase_id: pur, status: Status::Failed, ctx: EventCtx::default() }).await;
    ok(s, org, purchase("20", Status::Succeeded)).await;
    ok(s, org, credit_in(Pool::Voucher, "3", None)).await;
    t.clock.advance(secs(86_400));
    ok(s, org, adjustment("-1", "fix")).await;
    ok(
        s,
        org,
        Op::Billing {
            amount: Micros::ZERO,
            ctx: EventCtx { description: Some("Invoice 7".into()), ..EventCtx::default() },
        },
    )
    .await;
    for i in 0..12 {
        let (svc, p, u) =
            if i % 3 == 0 { ("Scraping", "p2", "ben@example.com") } else { ("AI Inference", "p1", "ana@example.com") };
        ok(s, org, usage_by("0.5", svc, p, u)).await;
    }
}

pub(crate) fn sample_filters() -> Vec<EventFilter> {
    let day1 = start_time().checked_add(secs(86_400)).unwrap_or(start_time());
    let day2 = start_time().checked_add(secs(2 * 86_400)).unwrap_or(start_time());
    let f = EventFilter::default;
    vec![
        f(),
        EventFilter { kinds: vec![EventKind::Usage], ..f() },
        EventFilter { kinds: vec![EventKind::Hold, EventKind::Debit, EventKind::Release], ..f() },
        EventFilter { pools: vec![Pool::Prepaid], ..f() },
        EventFilter { pools: vec![Pool::Voucher, Pool::Promotional], ..f() },
        EventFilter { statuses: vec![Status::Failed], ..f() },
        EventFilter { statuses: vec![Status::Succeeded, Status::Processing], ..f() },
        EventFilter { services: vec!["AI Inference".into()], ..f() },
        EventFilter { services: vec!["AI Inference".into(), "Scraping".into()], ..f() },
        EventFilter { project_id: Some("p2".into()), ..f() },
        EventFilter { user_email: Some("ana@example.com".into()), ..f() },
        EventFilter { date_from: Some(day1), ..f() },
        EventFilter { date_to: Some(day1), ..f() },
        EventFilter { date_from: Some(day1), date_to: Some(day2), ..f() },
        EventFilter { kinds: vec![EventKind::Usage], project_id: Some("p1".into()), date_from: Some(day2), ..f() },
        EventFilter { services: vec!["Nothing".into()], ..f() },
    ]
}

/// Every filter returns exactly the events the reference filter matches, newest first.
pub async fn history_filters(t: &mut Ctx) {
    varied_history(t, "o").await;
    let s = t.store.as_ref();
    let all = history(s, "o").await;
    assert_eq!(all.len(), 24);
    assert!(all.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
    for filter in sample_filters() {
        let expected: Vec<_> = all.iter().filter(|e| filter.matches(e)).cloned().collect();
        assert_eq!(history_filtered(s, "o", &filter).await, expected, "cursor pages, {filter:?}");
        let mut by_offset = Vec::new();
        let mut offset = 0;
        loop {
            let q = EventQuery {
                filter: filter.clone(),
                limit: PageLimit::new(4).expect("limit"),
                start: PageStart::Offset(offset),
            };
            let page = s.events("o", &q).await.expect("page");
            assert!(page.events.len() <= 4);
            let n = page.events.len() as u64;
            by_offset.extend(page.events);
            if page.next_cursor.is_none() {
                break;
            }
            offset += n;
        }
        assert_eq!(by_offset, expected, "offset pages, {filter:?}");
        assert_eq!(exported(s, "o", &filter).await, expected, "export, {filter:?}");
    }
}

/// Offset pages tile the history; a page past the end is empty.
pub async fn offset_paging(t: &mut Ctx) {
    let s = t.store.as_ref();
    new_org(s, "o").await;
    ok(s, "o", grant("100")).await;
    for _ in 0..22 {
        ok(s, "o", usage("1")).await;
    }
    let all = history(s, "o").await;
    assert_eq!(all.len(), 23);
    let page = |offset, limit| EventQuery {
        filter: EventFilter::default(),
        limit: PageLimit::new(limit).expect("limit"),
        start: PageStart::Offset(offset),
    };
    let mut got = Vec::new();
    for offset in (0..23).step_by(5) {
        let p = s.events("o", &page(offset, 5)).await.expect("page");
        assert_eq!(p.offset, Some(offset));
        assert_eq!(p.next_cursor.is_some(), offset + 5 < 23);
        got.extend(p.events);
    }
    assert_eq!(got, all);
    assert!(s.events("o", &page(23, 5)).await.expect("page").events.is_empty());
    assert!(s.events("o", &page(u64::MAX, 100)).await.expect("page").events.is_empty());
    let first = s.events("o", &EventQuery::default()).await.expect("default page");
    assert_eq!(first.events.len(), 23);
    assert_eq!(first.limit, 50);
}

/// Cursor pages see each event exactly once while new events are written.
pub async fn cursor_paging_while_writing(t: &mut Ctx) {
    let s = t.store.clone();
    new_org(s.as_ref(), "o").await;
    ok(s.as_ref(), "o", grant("100000")).await;
    let cmds = (0..199).map(|_| Command::new("o", usage("1"), None)).collect();
    assert!(s.execute(cmds).await.iter().all(|r| r.is_ok()));
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            for _ in 0..40 {
                let cmds = (0..5).map(|_| Command::new("o", usage("1"), None)).collect();
                assert!(s.execute(cmds).await.iter().all(|r| r.is_ok()));
                tokio::task::yield_now().await;
            }
        })
    };
    let mut seen = Vec::new();
    let mut start = PageStart::Offset(0);
    loop {
        let q = EventQuery { filter: EventFilter::default(), limit: PageLimit::new(7).expect("limit"), start };
        let page = s.events("o", &q).await.expect("page");
        seen.extend(page.events.iter().map(|e| e.seq));
        match page.next_cursor.as_deref().and_then(creditd_store::query::decode_cursor) {
            Some(seq) => start = PageStart::Before(seq),
            None => break,
        }
        tokio::task::yield_now().await;
    }
    writer.await.expect("writer");
    let top = seen[0];
    assert!(top >= 200);
    let expected: Vec<u64> = (1..=top).rev().collect();
    assert_eq!(seen, expected, "each event once, newest first");
    assert_eq!(history(s.as_ref(), "o").await.len(), 400);
}

/// The export stream is the history, in chunks, past one chunk's size.
pub async fn export_equals_history(t: &mut Ctx) {
    let s = t.store.as_ref();
    new_org(s, "o").await;
    ok(s, "o", grant("100000")).await;
    for chunk in 0..5 {
        let cmds = (0..500)
            .map(|i| {
                let svc = if i % 4 == 0 { "Scraping" } else { "AI Inference" };
                Command::new("o", usage_by("0.000001", svc, &format!("p{}", (chunk + i) % 3), "ana@example.com"), None)
            })
            .collect();
        assert!(s.execute(cmds).await.iter().all(|r| r.is_ok()));
    }
    let all = history(s, "o").await;
    assert_eq!(all.len(), 2501);
    let mut rx = s.export("o", &EventFilter::default()).await.expect("export");
    let mut chunks = 0;
    let mut got = Vec::new();
    while let Some(c) = rx.recv().await {
        let c = c.expect("chunk");
        assert!(c.len() <= creditd_store::EXPORT_CHUNK);
        chunks += 1;
        got.extend(c);
    }
    assert!(chunks >= 2);
    assert_eq!(got, all);
    let scraping =
        EventFilter { services: vec!["Scraping".into()], project_id: Some("p1".into()), ..EventFilter::default() };
    let expected: Vec<_> = all.iter().filter(|e| scraping.matches(e)).cloned().collect();
    assert!(!expected.is_empty());
    assert_eq!(exported(s, "o", &scraping).await, expected);
    // Oldest first: the order a full export is read back in.
    let mut rx = s.export_in("o", &scraping, creditd_store::Order::OldestFirst).await.expect("oldest-first export");
    let mut oldest = Vec::new();
    while let Some(c) = rx.recv().await {
        oldest.extend(c.expect("chunk"));
    }
    assert_eq!(oldest, expected.iter().rev().cloned().collect::<Vec<_>>());
    let mut rx = s.export_in("o", &EventFilter::default(), creditd_store::Order::OldestFirst).await.expect("export");
    let mut n = 0u64;
    while let Some(c) = rx.recv().await {
        for e in c.expect("chunk") {
            n += 1;
            assert_eq!(e.seq, n, "oldest first, every event once");
        }
    }
    assert_eq!(n, 2501);
    // A reader that hangs up early does not stop the store.
    let mut rx = s.export("o", &EventFilter::default()).await.expect("export");
    let _ = rx.recv().await;
    drop(rx);
    ok(s, "o", usage("1")).await;
}

/// A restart keeps balances, history, open holds, pending purchases and
/// idempotency keys; timeouts still fire after it.
pub async fn restart_keeps_everything(t: &mut Ctx) {
    {
        let s = t.store.as_ref();
        new_org(s, "o").await;
        ok(s, "o", grant("100")).await;
    }
    let s = t.store.clone();
    let open = record_id(&ok(s.as_ref(), "o", hold_for("10", 600)).await);
    let short = record_id(&ok(s.as_ref(), "o", hold_for("5", 60)).await);
    let pur = record_id(&ok(s.as_ref(), "o", purchase("30", Status::Processing)).await);
    let keyed = run_key(s.as_ref(), "o", usage("2"), "once").await.expect("usage");
    let used = record_id(&keyed);
    let balance = s.balance("o").await.expect("balance");
    let before = history(s.as_ref(), "o").await;
    drop(s);
    t.reopen().await;
    let s = t.store.as_ref();
    assert_eq!(s.balance("o").await.expect("balance"), balance);
    assert_eq!(history(s, "o").await, before);
    assert_eq!(s.org_ids().await.expect("ids"), vec!["o".to_string()]);
    assert_eq!(run_key(s, "o", usage("2"), "once").await.expect("replay"), keyed);
    assert_eq!(code(&run_key(s, "o", usage("3"), "once").await), "idempotency_conflict");
    t.clock.advance(secs(61));
    assert_eq!(s.tick().await.expect("tick"), 1);
    assert_eq!(code(&run(s, "o", debit(&short, None)).await), "hold_expired");
    ok(s, "o", debit(&open, Some("4"))).await;
    let settled =
        ok(s, "o", Op::SettlePurchase { purchase_id: pur, status: Status::Succeeded, ctx: EventCtx::default() }).await;
    ok(s, "o", refund(&used, None)).await;
    assert_eq!(settled.balance.available, m("124"));
    let b = s.balance("o").await.expect("balance");
    assert_eq!((b.available, b.held), (m("126"), Micros::ZERO));
    t.reopen().await;
    assert_eq!(history(t.store.as_ref(), "o").await.len(), before.len() + 5);
}
