//! SQLite-only history checks: the page queries walk an index and never
//! sort, and an import is written whole or not at all.

use std::sync::Arc;

use creditd_core::{CreditKind, CreditOp, Event, EventCtx, EventKind, HoldOp, Micros, Op, OrgSettings, Pool, Status};
use creditd_sqlite::SqliteStore;
use creditd_store::query::{EventFilter, EventQuery, Order, PageLimit, PageStart};
use creditd_store::sql::{Dialect, SeqRange, SqlValue, history_export_query, history_page_query};
use creditd_store::{Command, ManualClock, Store, StoreError};
use jiff::SignedDuration;

fn m(s: &str) -> Micros {
    s.parse().unwrap()
}

fn ctx(i: usize) -> EventCtx {
    EventCtx {
        service: Some(["AI Inference", "Scraping"][i % 2].into()),
        project_id: Some(format!("p{}", i % 3)),
        user_email: Some(format!("u{}@example.com", i % 4)),
        ..EventCtx::default()
    }
}

fn credit(kind: CreditKind, amount: &str, status: Option<Status>) -> Op {
    Op::Credit(CreditOp {
        kind,
        amount: m(amount),
        pool: None,
        expires_at: None,
        code: (kind == CreditKind::Voucher).then(|| "V".into()),
        status,
        ctx: EventCtx::default(),
    })
}

async fn open(dir: &std::path::Path) -> (Arc<SqliteStore>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new("2026-03-02T09:00:00Z".parse().unwrap()));
    (Arc::new(SqliteStore::open(dir, clock.clone()).unwrap()), clock)
}

async fn run(s: &SqliteStore, org: &str, op: Op) -> creditd_core::Outcome {
    creditd_store::execute_one(s, Command::new(org, op, None)).await.unwrap()
}

/// A history of every kind in org `a`, ending with an open hold and a
/// processing purchase. Returns (open hold id, processing purchase id).
async fn history(s: &SqliteStore, clock: &ManualClock) -> (String, String) {
    s.create_org("a", OrgSettings::new("A", "Europe/Madrid")).await.unwrap();
    run(s, "a", credit(CreditKind::Grant, "1000", None)).await;
    run(s, "a", credit(CreditKind::Voucher, "30", None)).await;
    for i in 0..60 {
        clock.advance(SignedDuration::from_mins(45));
        let u = run(s, "a", Op::Usage { amount: m("1.5"), ctx: ctx(i) }).await;
        let h = run(s, "a", Op::Hold(HoldOp { amount: m("4"), timeout_seconds: None, ctx: ctx(i + 1) })).await;
        let h = h.record.unwrap().id;
        if i % 4 == 0 {
            run(s, "a", Op::Release { hold_id: h, ctx: EventCtx::default() }).await;
        } else {
            run(s, "a", Op::Debit { hold_id: h, amount: Some(m("3")), ctx: EventCtx::default() }).await;
        }
        if i % 10 == 3 {
            let u = u.record.unwrap().id;
            run(s, "a", Op::Refund { refers_to: u, amount: Some(m("0.5")), ctx: EventCtx::default() }).await;
        }
        if i % 15 == 7 {
            let p = run(s, "a", credit(CreditKind::Purchase, "20", Some(Status::Processing))).await.record.unwrap().id;
            run(s, "a", Op::SettlePurchase { purchase_id: p, status: Status::Failed, ctx: EventCtx::default() }).await;
        }
    }
    let open = run(s, "a", Op::Hold(HoldOp { amount: m("9"), timeout_seconds: None, ctx: ctx(2) })).await;
    let pending = run(s, "a", credit(CreditKind::Purchase, "50", Some(Status::Processing))).await;
    (open.record.unwrap().id, pending.record.unwrap().id)
}

async fn all(s: &SqliteStore, org: &str, order: Order) -> Vec<Event> {
    let mut rx = s.export_in(org, &EventFilter::default(), order).await.unwrap();
    let mut out = Vec::new();
    while let Some(c) = rx.recv().await {
        out.extend(c.unwrap());
    }
    out
}

fn bind(args: &[SqlValue]) -> Vec<rusqlite::types::Value> {
    args.iter()
        .map(|a| match a {
            SqlValue::Int(i) => rusqlite::types::Value::Integer(*i),
            SqlValue::Text(t) => rusqlite::types::Value::Text(t.clone()),
        })
        .collect()
}

fn plan(c: &rusqlite::Connection, sql: &str, args: &[SqlValue]) -> String {
    let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let rows = st.query_map(rusqlite::params_from_iter(bind(args)), |r| r.get::<_, String>(3)).unwrap();
    rows.map(|r| r.unwrap()).collect::<Vec<_>>().join(" | ")
}

#[tokio::test]
async fn history_pages_walk_an_index_and_never_sort() {
    let dir = tempfile::tempdir().unwrap();
    let (s, clock) = open(dir.path()).await;
    history(&s, &clock).await;
    let c = rusqlite::Connection::open(s.database_path()).unwrap();
    let f = EventFilter::default;
    let cases = [
        (f(), "PRIMARY KEY"),
        (EventFilter { kinds: vec![EventKind::Usage], ..f() }, "INDEX events_kind"),
        (
            EventFilter { project_id: Some("p1".into()), kinds: vec![EventKind::Usage, EventKind::Hold], ..f() },
            "INDEX events_project",
        ),
        (EventFilter { user_email: Some("u1@example.com".into()), ..f() }, "INDEX events_user"),
        (EventFilter { statuses: vec![Status::Failed], ..f() }, "INDEX events_unsettled"),
        (
            EventFilter { pools: vec![Pool::Voucher], services: vec!["Scraping".into()], ..f() },
            "INDEX events_pool_paid",
        ),
        (EventFilter { pools: vec![Pool::Prepaid, Pool::Voucher], ..f() }, "INDEX events_pool_paid"),
        (EventFilter { pools: vec![Pool::Plan], services: vec!["Scraping".into()], ..f() }, "PRIMARY KEY"),
        (EventFilter { kinds: vec![EventKind::Hold, EventKind::Release], ..f() }, "INDEX events_kind"),
        // The walk picks seqs from the index alone, then reads the page.
        (
            EventFilter {
                user_email: Some("u1@example.com".into()),
                services: vec!["Scraping".into()],
                kinds: vec![EventKind::Usage, EventKind::Hold],
                ..f()
            },
            "COVERING INDEX events_user",
        ),
        (
            EventFilter { project_id: Some("p1".into()), services: vec!["Scraping".into()], ..f() },
            "COVERING INDEX events_project",
        ),
    ];
    for (filter, index) in cases {
        for start in [PageStart::Offset(0), PageStart::Before(50)] {
            let q = EventQuery { filter: filter.clone(), limit: PageLimit::new(100).unwrap(), start };
            let (sql, args) = history_page_query("a", &q, SeqRange { from: Some(10), to: None }, Dialect::Sqlite);
            let p = plan(&c, &sql, &args);
            assert!(p.contains(index), "{filter:?}: {p}");
            // The merge of several walks sorts at most a page per walk;
            // a single walk never sorts.
            if !sql.contains("UNION ALL") {
                assert!(!p.contains("TEMP B-TREE"), "{filter:?} sorts: {p}");
            }
            assert!(!p.contains("SCAN events"), "{filter:?} scans: {p}");
        }
        let (sql, args) = history_export_query("a", &filter, SeqRange::default(), Order::OldestFirst, Dialect::Sqlite);
        let p = plan(&c, &sql, &args);
        assert!(!p.contains("TEMP B-TREE"), "export of {filter:?} sorts: {p}");
    }
}

#[tokio::test]
async fn an_import_is_whole_and_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let (s, clock) = open(dir.path()).await;
    let (open_hold, pending) = history(&s, &clock).await;
    let original = all(&s, "a", Order::OldestFirst).await;
    let as_b: Vec<Event> = original
        .iter()
        .cloned()
        .map(|mut e| {
            e.org_id = "b".into();
            e
        })
        .collect();

    // A broken chain: refused, nothing written, the org does not exist.
    let mut broken = as_b.clone();
    broken[40].held_after = broken[40].held_after.checked_add(m("1")).unwrap();
    let err = s.import("b", OrgSettings::new("B", "UTC"), broken).await.unwrap_err();
    assert!(err.to_string().contains("held_after"), "{err}");
    assert!(matches!(s.org("b").await, Err(StoreError::OrgNotFound(_))));

    // Into an org that has events: refused.
    let err = s.import("a", OrgSettings::new("A", "UTC"), original.clone()).await.unwrap_err();
    assert!(matches!(err, StoreError::OrgExists(_)), "{err}");

    // Into an empty org that exists: keeps its settings.
    s.create_org("b", OrgSettings::new("Bee", "Asia/Tokyo")).await.unwrap();
    let report = s.import("b", OrgSettings::new("ignored", "UTC"), as_b.clone()).await.unwrap();
    assert_eq!(report.events, as_b.len() as u64);
    assert_eq!((report.open_holds, report.pending_purchases), (1, 1));
    assert_eq!(s.org("b").await.unwrap().settings.time_zone, "Asia/Tokyo");
    assert!(s.verify("b").await.unwrap().ok);
    let (ba, bb) = (s.balance("a").await.unwrap(), s.balance("b").await.unwrap());
    assert_eq!((ba.available, ba.held, ba.pools.prepaid, ba.seq), (bb.available, bb.held, bb.pools.prepaid, bb.seq));
    let mut imported = all(&s, "b", Order::OldestFirst).await;
    for e in imported.iter_mut() {
        e.org_id = "a".into();
    }
    assert_eq!(imported, original);

    // It carries on: the open hold is debited, the purchase settles, new
    // events follow in sequence, and verify still agrees.
    clock.advance(SignedDuration::from_mins(5));
    let d = run(&s, "b", Op::Debit { hold_id: open_hold, amount: None, ctx: EventCtx::default() }).await;
    assert_eq!(d.events[0].seq, ba.seq + 1);
    run(&s, "b", Op::SettlePurchase { purchase_id: pending, status: Status::Succeeded, ctx: EventCtx::default() })
        .await;
    run(&s, "b", Op::Usage { amount: m("2"), ctx: ctx(0) }).await;
    assert!(s.verify("b").await.unwrap().ok);
    // A restart reloads it from disk the same way.
    s.shutdown().await;
    drop(s);
    let (s, _) = open(dir.path()).await;
    assert!(s.verify("b").await.unwrap().ok);
    run(&s, "b", Op::Usage { amount: m("1"), ctx: ctx(1) }).await;
    s.shutdown().await;
}

/// The hash-chain backfill at open: it finds an org whose rows predate the
/// chain, fills them in (verify then checks the chain), and afterwards the
/// check costs a primary-key lookup per org instead of a scan of `events`;
/// the open-holds count reads the partial index, not every record. (Both
/// scans filled the writer's page cache on every start.)
#[tokio::test]
async fn opening_looks_up_seq_1_and_open_holds_and_never_scans() {
    use creditd_sqlite::schema::{ORGS_TO_BACKFILL, orgs_to_backfill};
    let dir = tempfile::tempdir().unwrap();
    let (s, clock) = open(dir.path()).await;
    history(&s, &clock).await;
    s.create_org("b", OrgSettings::new("B", "UTC")).await.unwrap();
    run(&s, "b", credit(CreditKind::Grant, "5", None)).await;
    let c = rusqlite::Connection::open(dir.path().join("creditd.sqlite")).unwrap();
    assert_eq!(orgs_to_backfill(&c).unwrap(), Vec::<String>::new());
    let backfill = plan(&c, ORGS_TO_BACKFILL, &[]);
    assert!(backfill.contains("SEARCH e USING PRIMARY KEY (org_id=? AND seq=?)"), "{backfill}");
    assert!(!backfill.contains("SCAN e"), "{backfill}");
    // Nor does the open-holds count read every record.
    let holds = plan(&c, creditd_sqlite::schema::COUNT_OPEN_HOLDS, &[]);
    assert!(holds.contains("USING COVERING INDEX records_pending"), "{holds}");
    assert!(!holds.contains("SCAN records"), "{holds}");
    // Nor does the writer's tick, once a second, looking for due holds.
    let due = plan(
        &c,
        &creditd_store::tick::due_holds_sql(|n| format!("?{n}")),
        &[SqlValue::Int(i64::MAX), SqlValue::Int(100)],
    );
    assert!(due.contains("USING COVERING INDEX records_pending"), "{due}");
    assert!(!due.contains("SCAN records") && !due.contains("TEMP B-TREE"), "{due}");
    s.shutdown().await;
    drop(s);
    // A database written before the chain: org a's rows have no hash.
    c.execute_batch("UPDATE events SET hash = NULL WHERE org_id = 'a'").unwrap();
    assert_eq!(orgs_to_backfill(&c).unwrap(), vec!["a".to_string()]);
    drop(c);
    let (s, _) = open(dir.path()).await;
    for org in ["a", "b"] {
        let report = s.verify(org).await.unwrap();
        assert!(report.ok && report.chain_checked, "{org}: {report:?}");
    }
    let c = rusqlite::Connection::open(dir.path().join("creditd.sqlite")).unwrap();
    assert_eq!(orgs_to_backfill(&c).unwrap(), Vec::<String>::new());
    let unhashed: i64 = c.query_row("SELECT count(*) FROM events WHERE hash IS NULL", [], |r| r.get(0)).unwrap();
    assert_eq!(unhashed, 0);
    s.shutdown().await;
}
