//! The engine-neutral conformance suite, run against the PostgreSQL engine
//! (a throwaway cluster, or `CREDITD_TEST_DATABASE_URL`), plus what only a
//! shared database has: several nodes writing the same orgs.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use creditd_conformance::*;
use creditd_core::{Balance, EventKind, Micros};
use creditd_postgres::PgStore;
use creditd_store::cache::OrgCacheSize;
use creditd_store::{Clock, Store};

struct Pg(String);

#[async_trait]
impl Engine for Pg {
    async fn open(&self, clock: Arc<dyn Clock>) -> Result<Arc<dyn Store>, String> {
        let store = PgStore::open(&self.0, clock).await.map_err(|e| e.to_string())?;
        Ok(Arc::new(store))
    }

    async fn open_with_org_cache(&self, clock: Arc<dyn Clock>, orgs: OrgCacheSize) -> Result<Arc<dyn Store>, String> {
        let store = PgStore::open_with_org_cache(&self.0, clock, orgs).await.map_err(|e| e.to_string())?;
        Ok(Arc::new(store))
    }

    async fn raw_sql(&self, sql: &str) -> Result<bool, String> {
        let (client, conn) =
            tokio_postgres::connect(&self.0, tokio_postgres::NoTls).await.map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        client.batch_execute(sql).await.map_err(|e| e.to_string())?;
        Ok(true)
    }
}

async fn engine() -> Option<Box<dyn Engine>> {
    match pg::fresh_database().await {
        Ok(Some(url)) => Some(Box::new(Pg(url))),
        Ok(None) => None,
        Err(e) => panic!("cannot start PostgreSQL for the tests: {e}"),
    }
}

creditd_conformance::conformance_tests!(engine());

/// Two nodes on one database.
async fn two_nodes() -> Option<(Ctx, Arc<dyn Store>)> {
    let ctx = Ctx::start(engine().await?).await;
    let other = ctx.open_another().await;
    Some((ctx, other))
}

/// 64 clients split over two nodes race holds and debits on one org.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_race_holds_and_debits() {
    let Some((ctx, b)) = two_nodes().await else { return };
    let a = ctx.store.clone();
    new_org(a.as_ref(), "hot").await;
    ok(a.as_ref(), "hot", grant("40")).await;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        let other = if i % 2 == 0 { b.clone() } else { a.clone() };
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for _ in 0..4 {
                let Ok(h) = run(node.as_ref(), "hot", hold("1")).await else { continue };
                let id = record_id(&h);
                // Debit through the other node: its cache is stale by now.
                run(other.as_ref(), "hot", debit(&id, None)).await.expect("debit of an open hold");
                assert_eq!(code(&run(node.as_ref(), "hot", debit(&id, None)).await), "hold_already_settled");
                mine.push(id);
            }
            mine
        }));
    }
    let mut ids = BTreeSet::new();
    for t in tasks {
        for id in t.await.expect("task") {
            assert!(ids.insert(id), "a hold id was handed out twice");
        }
    }
    assert_eq!(ids.len(), 40, "exactly the affordable holds succeed");
    for node in [&a, &b] {
        let bal = node.balance("hot").await.expect("balance");
        assert_eq!((bal.available, bal.held, bal.period_usage), (Micros::ZERO, Micros::ZERO, m("40")));
        assert!(node.verify("hot").await.expect("verify").ok);
    }
    let debits = history(a.as_ref(), "hot").await.into_iter().filter(|e| e.kind == EventKind::Debit).count();
    assert_eq!(debits, 40);
    b.shutdown().await;
    ctx.finish().await;
}

/// A funded child races its parent over two nodes: node a cached the
/// child while it spent its own credits, node b turned funding on (so a's
/// cache is stale), then clients on both nodes spend on both orgs. The
/// parent never goes below zero, the budget is never exceeded, exactly
/// the acknowledged amounts are spent, and every draw has both halves.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_funded_child_races_parent() {
    let Some((ctx, b)) = two_nodes().await else { return };
    let a = ctx.store.clone();
    new_org(a.as_ref(), "p").await;
    new_org(a.as_ref(), "c").await;
    a.set_parent("c", Some("p")).await.expect("c under p");
    ok(a.as_ref(), "p", grant("60")).await;
    ok(a.as_ref(), "c", grant("4")).await;
    ok(a.as_ref(), "c", usage("1")).await;
    let funding = creditd_core::Op::Access(creditd_core::AccessOp::SetSettings(creditd_core::SettingsPatch {
        funding: Some(creditd_core::Funding::Parent),
        funding_budget: Some(Some(m("40"))),
        ..Default::default()
    }));
    ok(b.as_ref(), "c", funding).await;
    let mut tasks = Vec::new();
    for i in 0..96 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        let (org, amount) = if i % 3 == 2 { ("p", "1") } else { ("c", "2") };
        tasks.push(tokio::spawn(async move { (org, amount, run(node.as_ref(), org, usage(amount)).await) }));
    }
    let (mut child, mut parent) = (Micros::ZERO, Micros::ZERO);
    for t in tasks {
        let (org, amount, r) = t.await.expect("task");
        match r {
            Ok(_) if org == "c" => child = child.checked_add(m(amount)).expect("sum"),
            Ok(_) => parent = parent.checked_add(m(amount)).expect("sum"),
            Err(e) => {
                let c = e.code().as_str();
                assert!(c == "insufficient_credits" || (org == "c" && c == "cap_exceeded"), "{org}: {e}");
            }
        }
    }
    let drawn_events = |org: &'static str, kind: EventKind| {
        let a = a.clone();
        async move {
            history(a.as_ref(), org)
                .await
                .into_iter()
                .filter(|e| e.kind == kind && e.source.as_deref() == Some("funding"))
                .fold(Micros::ZERO, |acc, e| acc.checked_add(e.amount).expect("sum"))
        }
    };
    let drawn = drawn_events("c", EventKind::TransferIn).await;
    assert_eq!(drawn_events("p", EventKind::TransferOut).await.checked_neg(), Some(drawn));
    assert!(drawn <= m("40") && drawn.is_positive(), "drawn {drawn}");
    for node in [&a, &b] {
        let (pb, cb) = (node.balance("p").await.expect("p"), node.balance("c").await.expect("c"));
        assert_eq!(m("60").checked_sub(drawn).and_then(|x| x.checked_sub(parent)), Some(pb.available));
        assert_eq!(m("3").checked_add(drawn).and_then(|x| x.checked_sub(child)), Some(cb.available));
        assert!(!pb.available.is_negative() && !cb.available.is_negative());
        for org in ["p", "c"] {
            assert!(node.verify(org).await.expect("verify").ok, "{org}");
        }
    }
    assert_eq!(a.org_state("c").await.expect("c").funding_drawn(ctx.clock.now()), drawn);
    b.shutdown().await;
    ctx.finish().await;
}

/// Node a writes a child on its locked path (another node wrote it just
/// before) with the child cached as funding itself, while node b has
/// turned funding on: a finds out under the locks, tries again with the
/// parent locked too, and draws.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_funding_turned_on_by_the_other_node() {
    let Some((ctx, b)) = two_nodes().await else { return };
    let a = ctx.store.clone();
    new_org(a.as_ref(), "p").await;
    new_org(a.as_ref(), "c").await;
    a.set_parent("c", Some("p")).await.expect("c under p");
    ok(a.as_ref(), "p", grant("10")).await;
    ok(a.as_ref(), "c", grant("3")).await;
    // c becomes contended on a: b writes it between two of a's writes.
    ok(a.as_ref(), "c", usage("1")).await;
    ok(b.as_ref(), "c", usage("1")).await;
    ok(a.as_ref(), "c", usage("1")).await;
    let funding = creditd_core::Op::Access(creditd_core::AccessOp::SetSettings(creditd_core::SettingsPatch {
        funding: Some(creditd_core::Funding::Parent),
        ..Default::default()
    }));
    ok(b.as_ref(), "c", funding).await;
    let o = ok(a.as_ref(), "c", usage("4")).await;
    let kinds: Vec<EventKind> = o.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![EventKind::TransferIn, EventKind::Usage]);
    assert_eq!(a.balance("p").await.expect("p").available, m("6"));
    assert_eq!(b.balance("c").await.expect("c").available, m("0"));
    for org in ["p", "c"] {
        assert!(b.verify(org).await.expect("verify").ok, "{org}");
    }
    b.shutdown().await;
    ctx.finish().await;
}

/// Both nodes tick: a due hold is released once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_timeout_exactly_once() {
    let Some((ctx, b)) = two_nodes().await else { return };
    let a = ctx.store.clone();
    for o in 0..8 {
        let org = format!("org{o}");
        new_org(a.as_ref(), &org).await;
        ok(b.as_ref(), &org, grant("10")).await;
        for _ in 0..5 {
            ok(a.as_ref(), &org, hold_for("1", 30)).await;
        }
    }
    ctx.clock.advance(jiff::SignedDuration::from_secs(31));
    let (ta, tb) = tokio::join!(
        {
            let a = a.clone();
            async move {
                let mut n = 0;
                for _ in 0..5 {
                    n += a.tick().await.expect("tick a");
                }
                n
            }
        },
        {
            let b = b.clone();
            async move {
                let mut n = 0;
                for _ in 0..5 {
                    n += b.tick().await.expect("tick b");
                }
                n
            }
        },
    );
    assert_eq!(ta + tb, 40, "each of the 40 holds timed out once ({ta} on a, {tb} on b)");
    for o in 0..8 {
        let org = format!("org{o}");
        let bal = b.balance(&org).await.expect("balance");
        assert_eq!((bal.available, bal.held), (m("10"), Micros::ZERO));
        let releases = history(a.as_ref(), &org).await.into_iter().filter(|e| e.kind == EventKind::Release).count();
        assert_eq!(releases, 5);
    }
    b.shutdown().await;
    ctx.finish().await;
}

/// Retries of one request land on both nodes at once: one event, one answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_idempotency_once() {
    let Some((ctx, b)) = two_nodes().await else { return };
    let a = ctx.store.clone();
    new_org(a.as_ref(), "o").await;
    ok(a.as_ref(), "o", grant("100")).await;
    let mut tasks = Vec::new();
    for i in 0..32 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move { run_key(node.as_ref(), "o", hold("7"), "same-key").await }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.expect("task").expect("hold"));
    }
    assert!(outcomes.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(code(&run_key(b.as_ref(), "o", hold("8"), "same-key").await), "idempotency_conflict");
    let holds = history(b.as_ref(), "o").await.into_iter().filter(|e| e.kind == EventKind::Hold).count();
    assert_eq!(holds, 1);
    b.shutdown().await;
    ctx.finish().await;
}

/// Two nodes create the same orgs at once: each is created once, the other
/// caller told it exists; grants to 50 orgs written from both nodes stay exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_many_orgs() {
    let Some((ctx, b)) = two_nodes().await else { return };
    let a = ctx.store.clone();
    let mut tasks = Vec::new();
    for node in [a.clone(), b.clone()] {
        tasks.push(tokio::spawn(async move {
            let mut created = 0;
            for o in 0..50 {
                match node.create_org(&format!("m{o:03}"), creditd_core::OrgSettings::new("M", "UTC")).await {
                    Ok(_) => created += 1,
                    Err(e) => assert_eq!(e.code(), "already_exists"),
                }
            }
            created
        }));
    }
    let mut created = 0;
    for t in tasks {
        created += t.await.expect("task");
    }
    assert_eq!(created, 50);
    let mut tasks = Vec::new();
    for (n, node) in [a.clone(), b.clone()].into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for round in 0..4 {
                let cmds = (0..50)
                    .map(|o| {
                        creditd_store::Command::new(format!("m{:03}", (o + round * 7 + n * 13) % 50), grant("1"), None)
                    })
                    .collect();
                assert!(node.execute(cmds).await.iter().all(|r| r.is_ok()));
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let mut total = Micros::ZERO;
    for o in 0..50 {
        total = total.checked_add(a.balance(&format!("m{o:03}")).await.expect("balance").available).expect("sum");
    }
    assert_eq!(total, m("400"));
    b.shutdown().await;
    ctx.finish().await;
}

/// Nodes starting together on an empty database migrate it once, without
/// racing each other; a second start finds the schema in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_together_migrate_once() {
    let url = match pg::fresh_database().await {
        Ok(Some(url)) => url,
        Ok(None) => return,
        Err(e) => panic!("{e}"),
    };
    let clock: Arc<dyn Clock> = Arc::new(creditd_store::SystemClock);
    let opens = (0..4).map(|_| {
        let (url, clock) = (url.clone(), clock.clone());
        async move { PgStore::open(&url, clock).await }
    });
    let mut stores = Vec::new();
    for r in futures_join_all(opens.collect()).await {
        stores.push(r.expect("open"));
    }
    stores[0].create_org("o", creditd_core::OrgSettings::new("O", "UTC")).await.expect("create");
    assert_eq!(stores[3].org_ids().await.expect("ids"), vec!["o".to_string()]);
    for s in &stores {
        s.shutdown().await;
    }
    let again = PgStore::open(&url, clock).await.expect("reopen");
    assert_eq!(again.org_ids().await.expect("ids"), vec!["o".to_string()]);
    again.shutdown().await;
}

/// Polls futures side by side (no extra crate for `join_all`).
async fn futures_join_all<F: std::future::Future + Send + 'static>(futs: Vec<F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

/// Writes that add no credit event (conversations) still invalidate the
/// other node's cached state: the monthly limit holds across nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_conversation_limit() {
    let Some((ctx, b)) = two_nodes().await else { return };
    let a = ctx.store.clone();
    new_org(a.as_ref(), "o").await;
    let plan = creditd_core::Plan {
        name: "Starter".into(),
        credits_per_period: Micros::ZERO,
        identities_included: 5,
        price: Micros::ZERO,
        currency: "EUR".into(),
        conversations_per_identity: 10,
        rollover: creditd_core::Rollover::None,
        price_book: None,
    };
    let set = creditd_core::PlanOp::SetPlan { plan, effective: None, renewal_day: None };
    ok(b.as_ref(), "o", creditd_core::Op::Plans(set)).await;
    let conv = || {
        creditd_core::Op::Plans(creditd_core::PlanOp::Conversation {
            identity: "alice".into(),
            campaign: None,
            started_at: None,
        })
    };
    // Alternate nodes one call at a time: each sees the other's count.
    for i in 0..10 {
        let node = if i % 2 == 0 { &a } else { &b };
        ok(node.as_ref(), "o", conv()).await;
    }
    assert_eq!(code(&run(a.as_ref(), "o", conv()).await), "conversation_limit_reached");
    assert_eq!(code(&run(b.as_ref(), "o", conv()).await), "conversation_limit_reached");
    // And racing: a second identity, 24 tries over both nodes, 10 accepted.
    let mut tasks = Vec::new();
    for i in 0..24 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let op = creditd_core::Op::Plans(creditd_core::PlanOp::Conversation {
                identity: "bob".into(),
                campaign: None,
                started_at: None,
            });
            run(node.as_ref(), "o", op).await.is_ok()
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += usize::from(t.await.expect("task"));
    }
    assert_eq!(accepted, 10);
    let q = creditd_store::ConversationQuery {
        from: start_time().checked_sub(jiff::SignedDuration::from_hours(24)).expect("time"),
        to: start_time().checked_add(jiff::SignedDuration::from_hours(24)).expect("time"),
        group_by: creditd_store::ConversationGroup::Identity,
    };
    let counts: Vec<u64> =
        b.conversation_usage("o", &q).await.expect("usage").iter().map(|c| c.conversations).collect();
    assert_eq!(counts, vec![10, 10]);
    b.shutdown().await;
    ctx.finish().await;
}

/// Both nodes tick at a renewal: it is applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_renewal_exactly_once() {
    let Some((ctx, b)) = two_nodes().await else { return };
    let a = ctx.store.clone();
    for o in 0..6 {
        let org = format!("org{o}");
        new_org(a.as_ref(), &org).await;
        let plan = creditd_core::Plan {
            name: "Pro".into(),
            credits_per_period: m("100"),
            identities_included: 1,
            price: m("10"),
            currency: "EUR".into(),
            conversations_per_identity: 500,
            rollover: creditd_core::Rollover::None,
            price_book: None,
        };
        let set = creditd_core::PlanOp::SetPlan { plan, effective: None, renewal_day: None };
        ok(b.as_ref(), &org, creditd_core::Op::Plans(set)).await;
        ok(a.as_ref(), &org, usage("1")).await;
    }
    ctx.clock.set("2025-05-01T00:00:01Z".parse().expect("time"));
    let (ta, tb) = tokio::join!(a.tick(), b.tick());
    assert_eq!(ta.expect("tick a") + tb.expect("tick b"), 6, "one catch-up per org");
    for o in 0..6 {
        let org = format!("org{o}");
        let credits =
            history(b.as_ref(), &org).await.into_iter().filter(|e| e.kind == EventKind::SubscriptionCredit).count();
        assert_eq!(credits, 3, "subscribe, April, May");
        assert_eq!(a.balance(&org).await.expect("balance").available, m("100"));
    }
    b.shutdown().await;
    ctx.finish().await;
}

/// Two owners demoted at once through two nodes: one change wins, the org
/// keeps an owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_keep_an_owner() {
    use creditd_store::directory::{Member, MemberPatch, Role};
    let Some((ctx, b)) = two_nodes().await else { return };
    let a = ctx.store.clone();
    for round in 0..10 {
        let org = format!("o{round}");
        new_org(a.as_ref(), &org).await;
        for email in ["ann@x.io", "bob@x.io"] {
            let m = Member {
                org_id: org.clone(),
                email: email.into(),
                name: email.into(),
                role: Role::Owner,
                created_at: start_time(),
            };
            a.directory().add_member(m).await.expect("owner");
        }
        let demote = MemberPatch { name: None, role: Some(Role::Member) };
        let (ra, rb) = tokio::join!(
            a.directory().update_member(&org, "ann@x.io", demote.clone()),
            b.directory().update_member(&org, "bob@x.io", demote.clone()),
        );
        assert_eq!(usize::from(ra.is_ok()) + usize::from(rb.is_ok()), 1, "{ra:?} {rb:?}");
        let owners =
            b.directory().members(&org).await.expect("members").into_iter().filter(|m| m.role == Role::Owner).count();
        assert_eq!(owners, 1);
    }
    b.shutdown().await;
    ctx.finish().await;
}

/// Read replicas: a real streaming standby (pg_basebackup over loopback).
/// History, exports and verify come from it; a read naming its position
/// waits for the standby to replay it, or reads from the primary after
/// `REPLICA_WAIT`; a standby that is gone sends reads to the primary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_replica_serves_history_and_a_caller_reads_its_own_writes() {
    use creditd_postgres::REPLICA_WAIT;
    use creditd_store::consistency::read_after;
    if !pg::binaries_available() {
        println!("{}", pg::skip_message());
        return;
    }
    let primary = tokio::task::spawn_blocking(|| pg::PgCluster::start(pg::Durability::Fast))
        .await
        .expect("task")
        .expect("primary");
    pg::create_database(&primary.url("postgres"), "creditd").await.expect("database");
    let mut standby = tokio::task::block_in_place(|| primary.start_standby()).expect("standby");
    let clock = Arc::new(creditd_store::ManualClock::new(start_time()));
    let store = PgStore::open(&primary.url("creditd"), clock.clone())
        .await
        .expect("open")
        .with_read_replicas(&[standby.url("creditd")], 4)
        .await
        .expect("replica");
    let s: &dyn Store = &store;
    new_org(s, "o").await;
    ok(s, "o", grant("100")).await;
    let o = ok(s, "o", usage("1")).await;
    let seq = o.balance.seq;
    // Naming the write's position: the replica's answer has it.
    let page = read_after(Some(seq), history(s, "o")).await;
    assert_eq!(page.len() as u64, seq);

    // The standby stops replaying: reads without a position see it lag (so
    // they do come from it); a read naming the new position waits, then
    // reads from the primary.
    let (replica, conn) =
        tokio_postgres::connect(&standby.url("creditd"), tokio_postgres::NoTls).await.expect("standby");
    tokio::spawn(conn);
    replica.batch_execute("SELECT pg_wal_replay_pause()").await.expect("pause");
    let o = ok(s, "o", usage("2")).await;
    let newer = o.balance.seq;
    assert_eq!(history(s, "o").await.len() as u64, seq, "the paused replica has not seen the write");
    let started = std::time::Instant::now();
    let page = read_after(Some(newer), history(s, "o")).await;
    let waited = started.elapsed();
    assert_eq!(page.len() as u64, newer, "the primary answered the read that named its write");
    assert!(waited >= REPLICA_WAIT, "it waited for the replica first: {waited:?}");
    assert!(waited < REPLICA_WAIT * 4, "then gave up: {waited:?}");
    // Exports and verify follow the same rule.
    let report = read_after(Some(newer), s.verify("o")).await.expect("verify");
    assert!(report.ok, "{:?}", report.problems);

    // Replaying again: the same read is answered by the replica, at once.
    replica.batch_execute("SELECT pg_wal_replay_resume()").await.expect("resume");
    let started = std::time::Instant::now();
    let page = read_after(Some(newer), history(s, "o")).await;
    assert_eq!(page.len() as u64, newer);
    assert!(started.elapsed() < REPLICA_WAIT, "{:?}", started.elapsed());
    assert_eq!(history(s, "o").await.len() as u64, newer, "caught up");

    // The standby goes away: reads go to the primary, writes never noticed.
    drop(replica);
    tokio::task::block_in_place(|| standby.stop());
    ok(s, "o", usage("3")).await;
    assert_eq!(history(s, "o").await.len() as u64, newer + 1);
    assert!(s.verify("o").await.expect("verify").ok);
    s.shutdown().await;
}

/// A database written before price books (the schema taken back to then)
/// migrates at open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn price_books_migrate_from_previous_schema() {
    let Some(engine) = engine().await else { return };
    let mut ctx = Ctx::start(engine).await;
    // Back to before price books, so also before the org tree, priced events, the plan catalogue the third rollup layout and the pools after each event that came after.
    let previous = creditd_postgres::schema::MIGRATIONS.len() - 8;
    let downgrade = format!(
        "ALTER TABLE events DROP COLUMN draws; DROP TABLE rollup_marks; ALTER TABLE events DROP COLUMN plan_balance_after, DROP COLUMN voucher_balance_after, DROP COLUMN promotional_balance_after; ALTER TABLE usage_rollups DROP COLUMN quantity_micros; DROP TABLE plan_catalogue; ALTER TABLE events DROP COLUMN pricing; DROP INDEX orgs_parent; ALTER TABLE orgs DROP COLUMN parent_id; \
         DROP TABLE price_book_versions; \
         UPDATE schema_version SET version = {previous};"
    );
    cases::price_books_migrate_from_previous_schema(&mut ctx, &downgrade).await;
    ctx.finish().await;
}

/// A database written before the org tree (the schema taken back to then)
/// migrates at open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_tree_migrates_from_previous_schema() {
    let Some(engine) = engine().await else { return };
    let mut ctx = Ctx::start(engine).await;
    // Back to before the org tree, so also before priced events, the plan catalogue the third rollup layout and the pools after each event that came after.
    let previous = creditd_postgres::schema::MIGRATIONS.len() - 7;
    let downgrade = format!(
        "ALTER TABLE events DROP COLUMN draws; DROP TABLE rollup_marks; ALTER TABLE events DROP COLUMN plan_balance_after, DROP COLUMN voucher_balance_after, DROP COLUMN promotional_balance_after; ALTER TABLE usage_rollups DROP COLUMN quantity_micros; DROP TABLE plan_catalogue; ALTER TABLE events DROP COLUMN pricing; DROP INDEX orgs_parent; ALTER TABLE orgs DROP COLUMN parent_id; \
         UPDATE schema_version SET version = {previous};"
    );
    cases::org_tree_migrates_from_previous_schema(&mut ctx, &downgrade).await;
    ctx.finish().await;
}

/// A database written before priced events (no `pricing` column) migrates
/// at open, keeps its chain, and prices from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priced_events_migrate_from_previous_schema() {
    let Some(engine) = engine().await else { return };
    let mut ctx = Ctx::start(engine).await;
    let previous = creditd_postgres::schema::MIGRATIONS.len() - 6;
    let downgrade = format!(
        "ALTER TABLE events DROP COLUMN draws; DROP TABLE rollup_marks; ALTER TABLE events DROP COLUMN plan_balance_after, DROP COLUMN voucher_balance_after, DROP COLUMN promotional_balance_after; ALTER TABLE usage_rollups DROP COLUMN quantity_micros; DROP TABLE plan_catalogue; ALTER TABLE events DROP COLUMN pricing; \
         UPDATE schema_version SET version = {previous};"
    );
    cases::priced_events_migrate_from_previous_schema(&mut ctx, &downgrade).await;
    ctx.finish().await;
}

/// A database written before the plan catalogue (the schema taken back to
/// then) migrates at open: the table is there and empty, the orgs intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_catalogue_migrates_from_previous_schema() {
    let Some(engine) = engine().await else { return };
    let mut ctx = Ctx::start(engine).await;
    let previous = creditd_postgres::schema::MIGRATIONS.len() - 5;
    let downgrade = format!(
        "ALTER TABLE events DROP COLUMN draws; DROP TABLE rollup_marks; ALTER TABLE events DROP COLUMN plan_balance_after, DROP COLUMN voucher_balance_after, DROP COLUMN promotional_balance_after; ALTER TABLE usage_rollups DROP COLUMN quantity_micros; DROP TABLE plan_catalogue; UPDATE schema_version SET version = {previous};"
    );
    cases::plan_catalogue_migrates_from_previous_schema(&mut ctx, &downgrade).await;
    ctx.finish().await;
}

/// A database written before the third rollup layout (no quantities, no
/// price rows, no statement lines) is rebuilt at open by the migration's
/// backfill, priced events and statements included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollups_backfill_from_previous_schema() {
    let Some(engine) = engine().await else { return };
    let mut ctx = Ctx::start(engine).await;
    let previous = creditd_postgres::schema::MIGRATIONS.len() - 4;
    let downgrade = format!(
        "ALTER TABLE events DROP COLUMN draws; DROP TABLE rollup_marks; ALTER TABLE events DROP COLUMN plan_balance_after, DROP COLUMN voucher_balance_after, DROP COLUMN promotional_balance_after; DELETE FROM usage_rollups WHERE dim IN ('price', 'm:price', 'kind', 'm:kind'); \
         ALTER TABLE usage_rollups DROP COLUMN quantity_micros; UPDATE schema_version SET version = {previous};"
    );
    cases::rollups_backfill_from_previous_schema(&mut ctx, &downgrade).await;
    ctx.finish().await;
}

/// A database written before the pools after each event were recorded
/// opens and migrates: its events read back without them, an as-of in that
/// past says no split, and the events written after carry it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pools_after_migrate_from_previous_schema() {
    let Some(engine) = engine().await else { return };
    let mut ctx = Ctx::start(engine).await;
    let previous = creditd_postgres::schema::MIGRATIONS.len() - 3;
    let downgrade = format!(
        "ALTER TABLE events DROP COLUMN draws; DROP TABLE rollup_marks; ALTER TABLE events DROP COLUMN plan_balance_after, DROP COLUMN voucher_balance_after, DROP COLUMN promotional_balance_after; UPDATE schema_version SET version = {previous};"
    );
    creditd_conformance::cases::pools_after_migrate_from_previous_schema(&mut ctx, &downgrade).await;
    ctx.finish().await;
}

/// A priced hold made on one node is debited on another, and a version
/// the other node wrote prices on this one without a read first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priced_operations_across_nodes() {
    let Some((ctx, b)) = two_nodes().await else { return };
    let a = ctx.store.clone();
    a.price_books().put("standard", cases::example_book(None)).await.expect("put");
    new_org(a.as_ref(), "n").await;
    ok(a.as_ref(), "n", grant("100")).await;
    ok(a.as_ref(), "n", cases::use_book("standard")).await;
    // b never read the book: its writer refreshes the catalogue first.
    let h = record_id(&ok(b.as_ref(), "n", cases::priced_hold("image_generation", "2", &[])).await);
    let o = ok(a.as_ref(), "n", cases::priced_debit(&h, Some("1"))).await;
    assert_eq!(o.events[0].amount, m("-2.5"));
    ctx.finish().await;
    b.shutdown().await;
}

/// A version written on one node: the other node's catalogue lacks it
/// until it reads the table, and a read brings it in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_book_written_on_one_node_is_read_on_another() {
    let Some((ctx, b)) = two_nodes().await else { return };
    let a = ctx.store.clone();
    a.price_books().put("standard", cases::example_book(None)).await.expect("put");
    assert!(b.price_books().catalogue().book("standard").is_none(), "not read yet");
    let got = b.price_books().book("standard").await.expect("read").expect("the book");
    assert_eq!(got.versions.len(), 1);
    assert_eq!(b.price_books().catalogue().book("standard").map(|bk| bk.versions.len()), Some(1));
    // Version 2 from the other node: numbers are taken once across nodes.
    let mut dearer = cases::example_book(None);
    dearer.prices[0].credits_per_unit = Some(m("3"));
    let v2 = b.price_books().put("standard", dearer).await.expect("put on b");
    assert_eq!(v2.version, 2);
    assert_eq!(a.price_books().books().await.expect("list")[0].versions.len(), 2);
    assert_eq!(a.price_books().catalogue().version_count(), 2);
    b.shutdown().await;
    ctx.finish().await;
}

/// A node's own store (its pipeline's counters are the engine's, not the
/// trait's) and a plain connection to the same database.
async fn node_and_session() -> Option<(String, Arc<PgStore>, tokio_postgres::Client)> {
    let url = match pg::fresh_database().await {
        Ok(Some(url)) => url,
        Ok(None) => return None,
        Err(e) => panic!("cannot start PostgreSQL for the tests: {e}"),
    };
    let store = Arc::new(PgStore::open(&url, Arc::new(creditd_store::SystemClock)).await.expect("open"));
    let (session, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    Some((url, store, session))
}

/// Waits (bounded) until `done` holds.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

fn usage_on(store: &Arc<PgStore>, org: &'static str) -> tokio::task::JoinHandle<Balance> {
    let store = store.clone();
    tokio::spawn(async move { ok(store.as_ref(), org, usage("1")).await.balance })
}

/// The writer runs on a thread of its own, with connections of its own: a
/// batch is applied while every thread of the runtime that opened the
/// store is busy (on a node, with HTTP requests). Were the writer a task
/// of that runtime, it could not run before the runtime's thread is free.
#[tokio::test]
async fn the_writer_applies_a_batch_while_the_stores_runtime_is_busy() {
    let Some((_url, store, _session)) = node_and_session().await else { return };
    new_org(store.as_ref(), "o").await;
    ok(store.as_ref(), "o", grant("10")).await;
    let busy_from = jiff::Timestamp::now();
    // A caller on another thread, with a runtime of its own.
    let (answered, answer) = tokio::sync::oneshot::channel();
    std::thread::spawn({
        let store = store.clone();
        move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            let _ = answered.send(rt.block_on(async move { ok(store.as_ref(), "o", usage("1")).await }));
        }
    });
    // The store's runtime has one thread, and it is busy.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let busy_until = jiff::Timestamp::now();
    // Awaited, not joined: a writer on this runtime would run now.
    let outcome = answer.await.expect("usage");
    let at = outcome.events[0].created_at;
    assert!(
        busy_from <= at && at < busy_until,
        "applied at {at}, while the store's runtime was busy from {busy_from} to {busy_until}"
    );
    assert_eq!(outcome.balance.available, m("9"));
    let events = history(store.as_ref(), "o").await;
    assert_eq!(events.len(), 2, "the usage committed");
    store.shutdown().await;
}

/// Two batches on one org in flight at once: the second is applied on the
/// first's state while the first waits for its row lock, queues behind the
/// first's locks, and both commit in order with the balances they were
/// answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_batches_in_flight_on_one_org_commit_in_order() {
    let Some((_url, store, mut session)) = node_and_session().await else { return };
    new_org(store.as_ref(), "o").await;
    ok(store.as_ref(), "o", grant("10")).await;
    // The grant's flight lands (its answer comes a moment before).
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let stats = store.pipeline_stats();
    let (ahead, overlapped) = (stats.ahead.load(Ordering::SeqCst), stats.overlapped.load(Ordering::SeqCst));
    // Another session holds the org's row: the first batch cannot lock it.
    let tx = session.transaction().await.expect("begin");
    tx.execute("SELECT 1 FROM orgs WHERE org_id = 'o' FOR UPDATE", &[]).await.expect("lock");
    let first = usage_on(&store, "o");
    until("the first batch is applied and sent", || stats.ahead.load(Ordering::SeqCst) == ahead + 1).await;
    let second = usage_on(&store, "o");
    until("the second batch is applied", || stats.ahead.load(Ordering::SeqCst) == ahead + 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!first.is_finished() && !second.is_finished(), "nothing is answered before it commits");
    tx.commit().await.expect("release the row");
    let (a, b) = (first.await.expect("first"), second.await.expect("second"));
    assert_eq!((a.available, b.available), (m("9"), m("8")), "the second saw the first's state");
    assert_eq!(stats.overlapped.load(Ordering::SeqCst), overlapped + 1, "the second queued behind the first");
    assert_eq!(stats.redone.load(Ordering::SeqCst), 0);
    let events = history(store.as_ref(), "o").await;
    let mut after: Vec<Micros> = events.iter().map(|e| e.balance_after).collect();
    after.reverse();
    assert_eq!(after, [m("10"), m("9"), m("8")]);
    assert!(store.verify("o").await.expect("verify").ok);
    store.shutdown().await;
}

/// A batch applied ahead whose org moved on meanwhile (another writer
/// bumped its version) is refused by PostgreSQL, and so is the batch
/// applied on top of it: both run again under their locks, in order, on
/// the org as stored, and nothing is written twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batches_applied_on_a_refused_one_run_again() {
    let Some((_url, store, mut session)) = node_and_session().await else { return };
    new_org(store.as_ref(), "o").await;
    ok(store.as_ref(), "o", grant("10")).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let stats = store.pipeline_stats();
    let ahead = stats.ahead.load(Ordering::SeqCst);
    let tx = session.transaction().await.expect("begin");
    tx.execute("SELECT 1 FROM orgs WHERE org_id = 'o' FOR UPDATE", &[]).await.expect("lock");
    let first = usage_on(&store, "o");
    until("the first batch is applied and sent", || stats.ahead.load(Ordering::SeqCst) == ahead + 1).await;
    let second = usage_on(&store, "o");
    until("the second batch is applied", || stats.ahead.load(Ordering::SeqCst) == ahead + 2).await;
    // What another node's write does to the row (its state is unchanged
    // here, so the answers below are exact either way).
    tx.execute("UPDATE orgs SET version = version + 1 WHERE org_id = 'o'", &[]).await.expect("bump");
    tx.commit().await.expect("commit");
    let (a, b) = (first.await.expect("first"), second.await.expect("second"));
    assert_eq!((a.available, b.available), (m("9"), m("8")));
    assert_eq!(stats.redone.load(Ordering::SeqCst), 2, "both batches ran again");
    let usages = history(store.as_ref(), "o").await.into_iter().filter(|e| e.kind == EventKind::Usage).count();
    assert_eq!(usages, 2, "each usage is written once");
    // The org is contended now: its next batch takes the locked path.
    let locked = stats.locked.load(Ordering::SeqCst);
    ok(store.as_ref(), "o", usage("1")).await;
    assert_eq!(stats.locked.load(Ordering::SeqCst), locked + 1);
    assert_eq!(store.balance("o").await.expect("balance").available, m("7"));
    assert!(store.verify("o").await.expect("verify").ok);
    store.shutdown().await;
}

/// 64 clients on one org through the pipeline, more usage than credits:
/// exactly the credits are spent, never more, with batches overlapping.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipelined_batches_never_overspend() {
    let Some((_url, store, mut session)) = node_and_session().await else { return };
    new_org(store.as_ref(), "hot").await;
    ok(store.as_ref(), "hot", grant("1000")).await;
    // Another session holds the row. One usage goes first: its batch is
    // applied ahead and waits for the row. Only then do the 64 clients
    // start (had they all started at once, their first usages could all
    // be in that first batch, each client waiting for its answer, and no
    // second batch would ever form): what they send gathers behind the
    // first flight and is applied ahead of it, queued behind its locks
    // (batches overlap). The row is released once that second batch is
    // applied: on the event, not after a fixed time.
    let (locked_tx, locked_rx) = tokio::sync::oneshot::channel();
    let ahead = store.pipeline_stats().ahead.load(Ordering::SeqCst);
    let watched = store.clone();
    let release = tokio::spawn(async move {
        let tx = session.transaction().await.expect("begin");
        tx.execute("SELECT 1 FROM orgs WHERE org_id = 'hot' FOR UPDATE", &[]).await.expect("lock");
        let _ = locked_tx.send(());
        until("a second batch is applied behind the first", || {
            watched.pipeline_stats().ahead.load(Ordering::SeqCst) >= ahead + 2
        })
        .await;
        tx.commit().await.expect("release the row");
    });
    locked_rx.await.expect("row locked");
    let first = usage_on(&store, "hot");
    until("the first batch is applied and sent", || store.pipeline_stats().ahead.load(Ordering::SeqCst) > ahead).await;
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut spent = 0;
            for _ in 0..20 {
                match run(store.as_ref(), "hot", usage("1")).await {
                    Ok(_) => spent += 1,
                    Err(e) => assert_eq!(e.code().as_str(), "insufficient_credits", "{e}"),
                }
            }
            spent
        }));
    }
    assert_eq!(first.await.expect("first").available, m("999"));
    let mut spent = 1;
    for t in tasks {
        spent += t.await.expect("client");
    }
    release.await.expect("release");
    assert_eq!(spent, 1000, "exactly the credits there were are spent");
    assert_eq!(store.balance("hot").await.expect("balance").available, Micros::ZERO);
    assert!(store.verify("hot").await.expect("verify").ok);
    assert!(store.pipeline_stats().overlapped.load(Ordering::SeqCst) > 0, "batches overlapped");
    store.shutdown().await;
}

/// With the pipeline full (two flights out, each waiting for a row that
/// another session holds), the next batch waits for a connection, and what
/// queued meanwhile joins it when a flight lands: the three usages go out
/// as one batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_waiting_for_a_pipeline_slot_takes_what_arrives() {
    let Some((_url, store, mut session)) = node_and_session().await else { return };
    for org in ["a", "b", "c", "d", "e"] {
        new_org(store.as_ref(), org).await;
        ok(store.as_ref(), org, grant("10")).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let stats = store.pipeline_stats();
    let (ahead, joined) = (stats.ahead.load(Ordering::SeqCst), stats.joined_waiting.load(Ordering::SeqCst));
    assert_eq!(creditd_postgres::PIPELINE_DEPTH, 2);
    let tx = session.transaction().await.expect("begin");
    tx.execute("SELECT 1 FROM orgs WHERE org_id IN ('a', 'b') FOR UPDATE", &[]).await.expect("lock");
    let first = usage_on(&store, "a");
    until("the first flight is out", || stats.ahead.load(Ordering::SeqCst) == ahead + 1).await;
    let second = usage_on(&store, "b");
    until("the second flight is out", || stats.ahead.load(Ordering::SeqCst) == ahead + 2).await;
    let third = usage_on(&store, "c");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let rest = [usage_on(&store, "d"), usage_on(&store, "e")];
    // The waiting writer does not take them one by one: they stay queued.
    until("both are queued", || store.queued_jobs() == 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(store.queued_jobs(), 2, "the writer waits for a slot, not for jobs");
    assert_eq!(stats.joined_waiting.load(Ordering::SeqCst), joined);
    assert_eq!(stats.ahead.load(Ordering::SeqCst), ahead + 2, "nothing more went out while the pipeline was full");
    assert!(!third.is_finished(), "the waiting batch is not answered before it commits");
    tx.commit().await.expect("release the rows");
    for t in [first, second, third].into_iter().chain(rest) {
        assert_eq!(t.await.expect("usage").available, m("9"));
    }
    assert_eq!(stats.joined_waiting.load(Ordering::SeqCst), joined + 2, "both joined the waiting batch");
    assert_eq!(stats.ahead.load(Ordering::SeqCst), ahead + 3, "c, d and e went out as one batch");
    assert_eq!(stats.redone.load(Ordering::SeqCst), 0);
    for org in ["a", "b", "c", "d", "e"] {
        assert!(store.verify(org).await.expect("verify").ok);
    }
    store.shutdown().await;
}

/// Hot-org batching: what arrives for an org while a batch on it is in
/// flight waits for that flight (up to the gathering window) and goes out
/// as one batch, not one batch per arrival.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_gathers_behind_a_flight_on_its_org() {
    let Some((_url, store, mut session)) = node_and_session().await else { return };
    new_org(store.as_ref(), "o").await;
    ok(store.as_ref(), "o", grant("10")).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let stats = store.pipeline_stats();
    let (ahead, gathered) = (stats.ahead.load(Ordering::SeqCst), stats.gathered.load(Ordering::SeqCst));
    // The first batch cannot lock the row: it stays in flight.
    let tx = session.transaction().await.expect("begin");
    tx.execute("SELECT 1 FROM orgs WHERE org_id = 'o' FOR UPDATE", &[]).await.expect("lock");
    let first = usage_on(&store, "o");
    until("the first batch is applied and sent", || stats.ahead.load(Ordering::SeqCst) == ahead + 1).await;
    // Three more, sent at once (the window is ten milliseconds: sleeps
    // between them could outlast it on a loaded machine).
    assert_eq!(creditd_postgres::GATHER_FOR, std::time::Duration::from_millis(10));
    let rest: Vec<_> = (0..3).map(|_| usage_on(&store, "o")).collect();
    until("the gathered batch is applied", || stats.ahead.load(Ordering::SeqCst) == ahead + 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(stats.gathered.load(Ordering::SeqCst), gathered + 1, "the second batch gathered");
    assert_eq!(stats.ahead.load(Ordering::SeqCst), ahead + 2, "the three went out as one batch");
    tx.commit().await.expect("release the row");
    assert_eq!(first.await.expect("first").available, m("9"));
    let mut after = Vec::new();
    for r in rest {
        after.push(r.await.expect("usage").available);
    }
    after.sort();
    assert_eq!(after, [m("6"), m("7"), m("8")]);
    assert_eq!(stats.redone.load(Ordering::SeqCst), 0);
    assert_eq!(store.balance("o").await.expect("balance").available, m("6"));
    assert!(store.verify("o").await.expect("verify").ok);
    store.shutdown().await;
}

/// A batch applied ahead takes an idempotency key this node has not seen
/// as new, without reading it. When another node stored it, PostgreSQL
/// refuses the batch on the key, and it runs again on the locked path,
/// which replays the stored answer: one event, the first answer, and the
/// org is not taken for contended (the next batch goes ahead). A retry the
/// node has seen is read first, with no refused batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_another_node_stored_refuses_one_batch_and_replays() {
    let Some((url, a, _session)) = node_and_session().await else { return };
    let b = Arc::new(PgStore::open(&url, Arc::new(creditd_store::SystemClock)).await.expect("open b"));
    let settle = || tokio::time::sleep(std::time::Duration::from_millis(100));
    new_org(a.as_ref(), "o").await;
    ok(a.as_ref(), "o", grant("100")).await;
    let first = run_key(a.as_ref(), "o", usage("1"), "k1").await.expect("first");
    ok(b.as_ref(), "o", usage("1")).await;
    settle().await;
    let stats = b.pipeline_stats();
    let (taken, redone) = (stats.keys_taken.load(Ordering::SeqCst), stats.redone.load(Ordering::SeqCst));
    // b never saw k1: its batch takes it as new and is refused on the key.
    let again = run_key(b.as_ref(), "o", usage("1"), "k1").await.expect("retry on b");
    assert_eq!(again, first, "the stored answer, replayed");
    assert_eq!(stats.keys_taken.load(Ordering::SeqCst), taken + 1, "refused on the key");
    assert_eq!(stats.redone.load(Ordering::SeqCst), redone + 1, "and run again under the locks");
    // b has seen k1 now: a retry with another request is read first.
    assert_eq!(code(&run_key(b.as_ref(), "o", usage("2"), "k1").await), "idempotency_conflict");
    assert_eq!(run_key(b.as_ref(), "o", usage("1"), "k1").await.expect("retry again"), first);
    assert_eq!(stats.keys_taken.load(Ordering::SeqCst), taken + 1, "no second refusal");
    assert_eq!(stats.redone.load(Ordering::SeqCst), redone + 1);
    // Not contended: b's next batch on o goes ahead.
    let ahead = stats.ahead.load(Ordering::SeqCst);
    let fresh = run_key(b.as_ref(), "o", usage("1"), "k2").await.expect("a fresh key");
    assert_eq!(fresh.balance.available, m("97"));
    assert_eq!(stats.ahead.load(Ordering::SeqCst), ahead + 1, "applied ahead, not locked");
    assert_eq!(stats.redone.load(Ordering::SeqCst), redone + 1);
    let usages = history(a.as_ref(), "o").await.into_iter().filter(|e| e.kind == EventKind::Usage).count();
    assert_eq!(usages, 3, "k1 once, the plain usage, k2");
    for node in [&a, &b] {
        assert!(node.verify("o").await.expect("verify").ok);
    }
    b.shutdown().await;
    a.shutdown().await;
}

/// The writer's key lookups must take the index however small the table
/// was when PostgreSQL settled on their plan. Retries of 32 keys at once
/// (so a lookup names many keys, where a scan of a nearly empty table
/// looks cheaper), six rounds while `idempotency` holds a few rows, then
/// the table grows (with autovacuum off, nothing replans): the retries'
/// reads add index scans and no sequential scan.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_writers_key_lookups_take_the_index_after_the_table_grew() {
    let Some((_url, a, session)) = node_and_session().await else { return };
    session.batch_execute("ALTER TABLE idempotency SET (autovacuum_enabled = false)").await.expect("no autovacuum");
    new_org(a.as_ref(), "o").await;
    ok(a.as_ref(), "o", grant("100")).await;
    let keys: Vec<String> = (0..32).map(|i| format!("k{i}")).collect();
    let mut firsts = Vec::new();
    for k in &keys {
        firsts.push(run_key(a.as_ref(), "o", usage("1"), k).await.expect("first"));
    }
    let retry_all = || async {
        let tasks: Vec<_> = keys
            .iter()
            .map(|k| {
                let (a, k) = (a.clone(), k.clone());
                tokio::spawn(async move { run_key(a.as_ref(), "o", usage("1"), &k).await.expect("retry") })
            })
            .collect();
        for (t, first) in tasks.into_iter().zip(&firsts) {
            assert_eq!(&t.await.expect("task"), first);
        }
    };
    for _ in 0..6 {
        retry_all().await;
    }
    session
        .batch_execute(
            "INSERT INTO idempotency (org_id, key, fingerprint, outcome, created_at) \
             SELECT 'o', 'filler-' || g, 'f', '{}', 0 FROM generate_series(1, 50000) g",
        )
        .await
        .expect("grow the table");
    let scans = || async {
        let row = session
            .query_one(
                "SELECT COALESCE(seq_scan, 0), COALESCE(idx_scan, 0) FROM pg_stat_user_tables \
                 WHERE relname = 'idempotency'",
                &[],
            )
            .await
            .expect("stats");
        (row.get::<_, i64>(0), row.get::<_, i64>(1))
    };
    // Statistics reach other sessions within a second or so.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (seq_before, idx_before) = scans().await;
    retry_all().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let (seq, idx) = loop {
        let (seq, idx) = scans().await;
        if idx > idx_before || seq > seq_before || std::time::Instant::now() > deadline {
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            break scans().await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(seq, seq_before, "the retries' reads never scanned the table (index scans {idx_before} -> {idx})");
    assert!(idx > idx_before, "they used the index");
    a.shutdown().await;
}

/// A retry to the node that stored the key: read before the batch, the
/// first answer replayed, nothing refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_to_the_same_node_is_read_first() {
    let Some((_url, a, _session)) = node_and_session().await else { return };
    new_org(a.as_ref(), "o").await;
    ok(a.as_ref(), "o", grant("100")).await;
    let first = run_key(a.as_ref(), "o", hold("7"), "k").await.expect("first");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let stats = a.pipeline_stats();
    let (taken, redone, ahead) = (
        stats.keys_taken.load(Ordering::SeqCst),
        stats.redone.load(Ordering::SeqCst),
        stats.ahead.load(Ordering::SeqCst),
    );
    assert_eq!(run_key(a.as_ref(), "o", hold("7"), "k").await.expect("retry"), first);
    assert_eq!(code(&run_key(a.as_ref(), "o", hold("8"), "k").await), "idempotency_conflict");
    assert_eq!(stats.keys_taken.load(Ordering::SeqCst), taken);
    assert_eq!(stats.redone.load(Ordering::SeqCst), redone);
    assert_eq!(stats.ahead.load(Ordering::SeqCst), ahead + 2, "both ahead");
    let holds = history(a.as_ref(), "o").await.into_iter().filter(|e| e.kind == EventKind::Hold).count();
    assert_eq!(holds, 1);
    a.shutdown().await;
}

/// The locked path takes an org another node wrote with its row lock: the
/// lock brings back the state (the cached one is stale), pending records
/// are read with it, and the answers are the other node's writes plus its
/// own, whether the org was known contended (a redo) or not (a transfer on
/// a cached org).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_locked_path_reads_what_another_node_wrote() {
    let Some((url, a, _session)) = node_and_session().await else { return };
    let b = Arc::new(PgStore::open(&url, Arc::new(creditd_store::SystemClock)).await.expect("open b"));
    let settle = || tokio::time::sleep(std::time::Duration::from_millis(100));
    for o in ["o", "p", "c"] {
        new_org(a.as_ref(), o).await;
    }
    a.set_parent("c", Some("p")).await.expect("c under p");
    ok(a.as_ref(), "o", grant("100")).await;
    ok(a.as_ref(), "p", grant("100")).await;
    settle().await;
    // b holds 10 on o: a's cached state of o is stale.
    let h = record_id(&ok(b.as_ref(), "o", hold("10")).await);
    settle().await;
    let stats = a.pipeline_stats();
    let redone = stats.redone.load(Ordering::SeqCst);
    let bal = ok(a.as_ref(), "o", usage("1")).await.balance;
    assert_eq!((bal.available, bal.held), (m("89"), m("10")), "b's hold is in a's answer");
    assert_eq!(stats.redone.load(Ordering::SeqCst), redone + 1, "refused, then run under the locks");
    settle().await;
    // o is contended now: b writes again, a's next batch takes the locked
    // path and reads b's write with its lock.
    ok(b.as_ref(), "o", usage("1")).await;
    settle().await;
    let locked = stats.locked.load(Ordering::SeqCst);
    let bal = ok(a.as_ref(), "o", usage("1")).await.balance;
    assert_eq!((bal.available, bal.held), (m("87"), m("10")));
    assert_eq!(stats.locked.load(Ordering::SeqCst), locked + 1);
    assert_eq!(stats.redone.load(Ordering::SeqCst), redone + 1, "no second redo");
    let bal = ok(a.as_ref(), "o", release(&h)).await.balance;
    assert_eq!((bal.available, bal.held), (m("97"), Micros::ZERO), "a released b's hold");
    // p is cached on a and not contended; b holds on it, then a transfer
    // (always the locked path) finds p stale under its lock.
    let hp = record_id(&ok(b.as_ref(), "p", hold("10")).await);
    settle().await;
    let out = ok(
        a.as_ref(),
        "p",
        creditd_core::Op::Transfer(creditd_core::TransferOp::Out {
            to: "c".into(),
            amount: m("5"),
            ctx: Default::default(),
        }),
    )
    .await
    .balance;
    assert_eq!((out.available, out.held), (m("85"), m("10")));
    let bal = ok(a.as_ref(), "p", release(&hp)).await.balance;
    assert_eq!((bal.available, bal.held), (m("95"), Micros::ZERO));
    let bal = ok(b.as_ref(), "o", usage("1")).await.balance;
    assert_eq!(bal.available, m("96"), "b reads a's writes too");
    for node in [&a, &b] {
        for o in ["o", "p", "c"] {
            assert!(node.verify(o).await.expect("verify").ok);
        }
    }
    assert_eq!(a.balance("c").await.expect("balance").available, m("5"));
    b.shutdown().await;
    a.shutdown().await;
}

/// A batch on the locked path that waits for its row locks takes what
/// queued for its orgs meanwhile once it holds them: one transaction, one
/// hand-over, applied after it in arrival order under the same locks.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_locked_batch_takes_what_arrives_while_it_waits_for_its_rows() {
    let Some((_url, store, mut session)) = node_and_session().await else { return };
    for o in ["c", "p"] {
        new_org(store.as_ref(), o).await;
    }
    store.set_parent("c", Some("p")).await.expect("c under p");
    ok(store.as_ref(), "p", grant("100")).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let stats = store.pipeline_stats();
    let (ahead, locked, joined) =
        (stats.ahead.load(Ordering::SeqCst), stats.locked.load(Ordering::SeqCst), stats.joined.load(Ordering::SeqCst));
    // Another session holds p's row: the transfer (always the locked path)
    // waits for it.
    let tx = session.transaction().await.expect("begin");
    tx.execute("SELECT 1 FROM orgs WHERE org_id = 'p' FOR UPDATE", &[]).await.expect("lock");
    let transfer = {
        let store = store.clone();
        tokio::spawn(async move {
            let out = creditd_core::TransferOp::Out { to: "c".into(), amount: m("5"), ctx: Default::default() };
            ok(store.as_ref(), "p", creditd_core::Op::Transfer(out)).await.balance
        })
    };
    until("the transfer waits for its locks", || stats.locked.load(Ordering::SeqCst) == locked + 1).await;
    // c has nothing until the transfer: its usages succeed only if they run
    // after it, in the same transaction.
    let on_p: Vec<_> = (0..3).map(|_| usage_on(&store, "p")).collect();
    let on_c: Vec<_> = (0..2).map(|_| usage_on(&store, "c")).collect();
    until("the five usages are queued", || store.queued_jobs() == 5).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(store.queued_jobs(), 5, "the writer waits for the locks, not for jobs");
    assert!(!transfer.is_finished() && on_p.iter().all(|t| !t.is_finished()), "nothing is answered before the commit");
    tx.commit().await.expect("release the row");
    assert_eq!(transfer.await.expect("transfer").available, m("95"));
    assert_eq!(stats.joined.load(Ordering::SeqCst), joined + 5, "the five usages joined the waiting batch");
    let mut after_p = Vec::new();
    for t in on_p {
        after_p.push(t.await.expect("usage on p").available);
    }
    after_p.sort();
    assert_eq!(after_p, [m("92"), m("93"), m("94")]);
    let mut after_c = Vec::new();
    for t in on_c {
        after_c.push(t.await.expect("usage on c").available);
    }
    after_c.sort();
    assert_eq!(after_c, [m("3"), m("4")]);
    assert_eq!(stats.locked.load(Ordering::SeqCst), locked + 1, "one locked batch carried all six");
    assert_eq!(stats.ahead.load(Ordering::SeqCst), ahead, "nothing went ahead meanwhile");
    assert_eq!(store.balance("p").await.expect("balance").available, m("92"));
    for o in ["c", "p"] {
        assert!(store.verify(o).await.expect("verify").ok);
    }
    store.shutdown().await;
}

/// Two nodes hammering one org: batches waiting for the row the other node
/// holds take what queues meanwhile (fewer, fuller hand-overs), and the
/// ledger stays exact: never more spent than there was, each key once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_on_one_hot_org_hand_over_full_batches() {
    let Some((url, a, _session)) = node_and_session().await else { return };
    let b = Arc::new(PgStore::open(&url, Arc::new(creditd_store::SystemClock)).await.expect("open b"));
    new_org(a.as_ref(), "hot").await;
    ok(a.as_ref(), "hot", grant("500")).await;
    let mut tasks = Vec::new();
    for i in 0..48 {
        let (node, twin) = if i % 2 == 0 { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) };
        tasks.push(tokio::spawn(async move {
            let mut spent = 0;
            for n in 0..15 {
                let key = format!("k{i}-{n}");
                let first = run_key(node.as_ref(), "hot", usage("1"), &key).await;
                // Every fifth request retried on the other node: the same answer.
                if n % 5 == 0 {
                    let again = run_key(twin.as_ref(), "hot", usage("1"), &key).await;
                    match (&first, &again) {
                        (Ok(x), Ok(y)) => assert_eq!(x, y, "a retry answers as the first"),
                        (Err(x), Err(y)) => assert_eq!(x.code(), y.code()),
                        _ => panic!("a retry answered otherwise: {first:?} / {again:?}"),
                    }
                }
                match first {
                    Ok(_) => spent += 1,
                    Err(e) => assert_eq!(e.code().as_str(), "insufficient_credits", "{e}"),
                }
            }
            spent
        }));
    }
    let mut spent = 0;
    for t in tasks {
        spent += t.await.expect("client");
    }
    assert_eq!(spent, 500, "exactly the credits there were are spent");
    assert_eq!(b.balance("hot").await.expect("balance").available, Micros::ZERO);
    let usages = history(a.as_ref(), "hot").await.into_iter().filter(|e| e.kind == EventKind::Usage).count();
    assert_eq!(usages, 500, "each key written once");
    assert!(a.verify("hot").await.expect("verify").ok);
    let joined: u64 = [&a, &b].iter().map(|s| s.pipeline_stats().joined.load(Ordering::SeqCst)).sum();
    assert!(joined > 0, "batches waiting for the other node's row took what queued meanwhile");
    b.shutdown().await;
    a.shutdown().await;
}

/// Every grouping of `org`'s usage on its days, as `store` answers it and
/// as its events say (`usage_from_events`, the reference).
async fn usage_and_reference(
    store: &dyn Store,
    org: &str,
) -> (Vec<Vec<creditd_store::rollup::UsageRow>>, Vec<Vec<creditd_store::rollup::UsageRow>>) {
    use creditd_store::rollup::{UsageGroup, UsageQuery, usage_from_events};
    let events = history(store, org).await;
    assert!(!events.is_empty(), "{org} has events");
    // The stores run on the system clock: the window is around today.
    let day = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let (first_day, last_day) =
        (day.checked_sub(jiff::Span::new().days(400)).unwrap(), day.checked_add(jiff::Span::new().days(400)).unwrap());
    let (mut got, mut want) = (Vec::new(), Vec::new());
    for group_by in UsageGroup::ALL {
        for user_email in [None, Some("u1@x.io".to_string())] {
            let q = UsageQuery { first_day, last_day, group_by, user_email };
            got.push(store.usage(org, &q).await.expect("usage"));
            want.push(usage_from_events(&events, &jiff::tz::TimeZone::UTC, &q).expect("reference"));
        }
    }
    assert!(want.iter().any(|rows| !rows.is_empty()), "{org}: the reference counts its usage");
    (got, want)
}

/// `org`'s mark and its last event's `seq`.
async fn mark_and_seq(session: &tokio_postgres::Client, org: &str) -> (i64, i64) {
    let r = session
        .query_one(
            "SELECT COALESCE((SELECT seq FROM rollup_marks WHERE org_id = $1), 0), (SELECT seq FROM orgs WHERE org_id = $1)",
            &[&org],
        )
        .await
        .expect("mark");
    (r.get(0), r.get(1))
}

/// Waits (bounded) until every org of `orgs` is folded up to its last event.
async fn until_folded(session: &tokio_postgres::Client, orgs: &[&str]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    for org in orgs {
        loop {
            let (mark, seq) = mark_and_seq(session, org).await;
            if mark == seq {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{org} still folded to {mark} of {seq}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// A flush of more orgs than one transaction writes (`FLUSH_CHUNK_ORGS`)
/// is cut into parts: the last flush, at shutdown, writes every org's
/// rows and mark, and the rows alone then give each org's usage.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flush_of_more_orgs_than_one_part_writes_them_all() {
    let Some((url, store, session)) = node_and_session().await else { return };
    let n = 2 * creditd_postgres::FLUSH_CHUNK_ORGS + 3;
    let orgs: Vec<String> = (0..n).map(|i| format!("parts-{i:04}")).collect();
    for org in &orgs {
        new_org(store.as_ref(), org).await;
    }
    let mut tasks = Vec::new();
    for (i, org) in orgs.iter().enumerate() {
        let (store, org) = (store.clone(), org.clone());
        tasks.push(tokio::spawn(async move {
            ok(store.as_ref(), &org, grant("10")).await;
            ok(store.as_ref(), &org, usage(&format!("0.{}", 1 + i % 9))).await;
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    store.shutdown().await;
    for org in &orgs {
        let (mark, seq) = mark_and_seq(&session, org).await;
        assert_eq!(mark, seq, "{org} folded to its last event");
    }
    let rows = session
        .query(
            "SELECT org_id, amount_micros FROM usage_rollups \
             WHERE org_id LIKE 'parts-%' AND scope = 'org' AND dim = 'total' ORDER BY org_id",
            &[],
        )
        .await
        .expect("rows");
    let got: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let want: Vec<(String, i64)> =
        orgs.iter().enumerate().map(|(i, o)| (o.clone(), 100_000 * (1 + i as i64 % 9))).collect();
    assert_eq!(got, want, "one day row per org, its usage alone");
    let reopened: Arc<dyn Store> =
        Arc::new(PgStore::open(&url, Arc::new(creditd_store::SystemClock)).await.expect("reopen"));
    for org in [&orgs[0], &orgs[n / 2], &orgs[n - 1]] {
        let (got, want) = usage_and_reference(reopened.as_ref(), org).await;
        assert_eq!(got, want, "{org}");
    }
    reopened.shutdown().await;
}

/// Usage in `org` through `store`: users, services and projects varied.
async fn varied_usage(store: Arc<dyn Store>, org: &'static str, n: usize) {
    let mut tasks = Vec::new();
    for i in 0..n {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let op = usage_by(
                &format!("0.{}", 1 + i % 9),
                ["chat", "image"][i % 2],
                ["p1", "p2", "p3"][i % 3],
                ["u1@x.io", "u2@x.io"][i % 2],
            );
            ok(store.as_ref(), org, op).await;
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
}

/// Rollups are written by each node's follower, folded over its batches of
/// the last second: a read is exact at once (it adds the events past the
/// org's mark), on either node; two nodes writing one org alternately fold
/// each other's events from the table; and once flushed, the mark is the
/// org's last event and the rows alone are exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rollups_folded_by_two_nodes_followers_stay_exact() {
    let Some((url, a, session)) = node_and_session().await else { return };
    let b: Arc<dyn Store> = Arc::new(PgStore::open(&url, Arc::new(creditd_store::SystemClock)).await.expect("open b"));
    let a: Arc<dyn Store> = a;
    new_org(a.as_ref(), "r").await;
    ok(b.as_ref(), "r", grant("1000")).await;
    for round in 0..3 {
        // Both nodes at once on one org, then each alone.
        tokio::join!(varied_usage(a.clone(), "r", 30), varied_usage(b.clone(), "r", 30));
        let (got, want) = usage_and_reference(a.as_ref(), "r").await;
        assert_eq!(got, want, "round {round}: at once, on a");
        let (got, want) = usage_and_reference(b.as_ref(), "r").await;
        assert_eq!(got, want, "round {round}: at once, on b");
    }
    until_folded(&session, &["r"]).await;
    assert_eq!(mark_and_seq(&session, "r").await.1 as usize, history(a.as_ref(), "r").await.len());
    let (got, want) = usage_and_reference(a.as_ref(), "r").await;
    assert_eq!(got, want, "from the rows alone");
    // The rows alone, read without the reads' tail: every usage once.
    let total: i64 = session
        .query_one(
            "SELECT CAST(SUM(amount_micros) AS BIGINT) FROM usage_rollups WHERE org_id = 'r' AND scope = 'org' AND dim = 'total'",
            &[],
        )
        .await
        .expect("total")
        .get(0);
    let used: i64 =
        history(a.as_ref(), "r").await.iter().filter(|e| e.kind == EventKind::Usage).map(|e| -e.amount.micros()).sum();
    assert_eq!(total, used);
    b.shutdown().await;
    a.shutdown().await;
}

/// A node stopped without writing what it folded (its runtime dropped: as
/// `kill -9`): reads stay exact, the next node that writes the org folds
/// the lost events from the table, and a node that starts folds the orgs
/// nobody writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rollups_a_node_lost_are_folded_by_the_others() {
    let Some((url, a, session)) = node_and_session().await else { return };
    let a: Arc<dyn Store> = a;
    for org in ["w", "q"] {
        new_org(a.as_ref(), org).await;
        ok(a.as_ref(), org, grant("1000")).await;
    }
    until_folded(&session, &["w", "q"]).await;
    // The lost node, on a runtime of its own, dropped with its tasks.
    let lost_url = url.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        rt.block_on(async {
            let lost: Arc<dyn Store> =
                Arc::new(PgStore::open(&lost_url, Arc::new(creditd_store::SystemClock)).await.expect("open lost"));
            varied_usage(lost.clone(), "q", 20).await;
            varied_usage(lost.clone(), "w", 20).await;
        });
        rt.shutdown_background();
    })
    .join()
    .expect("lost node");
    // The runtime is gone with what its follower held: unless a flush came
    // first (a node flushes five seconds after it opens; the writes take
    // less on an idle machine), the rows are behind. The reads are not.
    let (mark, seq) = mark_and_seq(&session, "w").await;
    if mark == seq {
        eprintln!("the lost node flushed before it was dropped (a slow machine): only the exact reads are checked");
    }
    for org in ["w", "q"] {
        let (got, want) = usage_and_reference(a.as_ref(), org).await;
        assert_eq!(got, want, "{org}: the reads add the unfolded events");
    }
    // a writes w: its flush folds the lost events from the table first.
    varied_usage(a.clone(), "w", 5).await;
    until_folded(&session, &["w"]).await;
    let (got, want) = usage_and_reference(a.as_ref(), "w").await;
    assert_eq!(got, want, "w folded by a");
    // Nobody writes q: a node that starts folds it.
    let c = PgStore::open(&url, Arc::new(creditd_store::SystemClock)).await.expect("open c");
    until_folded(&session, &["q"]).await;
    let (got, want) = usage_and_reference(&c, "q").await;
    assert_eq!(got, want, "q folded by a node that started");
    for org in ["w", "q"] {
        assert!(c.verify(org).await.expect("verify").ok, "{org}");
    }
    c.shutdown().await;
    a.shutdown().await;
}

/// A database written before the rollup marks migrates at open: the rows
/// are rebuilt from the events and every org is marked folded to its last
/// event, whatever had been flushed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollup_marks_migrate_from_previous_schema() {
    let Some(engine) = engine().await else { return };
    let mut ctx = Ctx::start(engine).await;
    let previous = creditd_postgres::schema::MIGRATIONS.len() - 2;
    let downgrade = format!(
        "ALTER TABLE events DROP COLUMN draws; DROP TABLE rollup_marks; UPDATE schema_version SET version = {previous};"
    );
    cases::rollups_backfill_from_previous_schema(&mut ctx, &downgrade).await;
    ctx.finish().await;
}

/// A database written before usage events kept their draws (each usage had
/// a `records` row) migrates at open: a usage of then is refunded from its
/// record row, a usage of now from its event (no record row is written
/// for it until its refund), and both orgs verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_draws_migrate_from_previous_schema() {
    let Some((url, a, session)) = node_and_session().await else { return };
    new_org(a.as_ref(), "src").await;
    ok(a.as_ref(), "src", grant("10")).await;
    let then = record_id(&ok(a.as_ref(), "src", usage("3")).await);
    // Imported, its usage has a record row, as every usage had before.
    let mut events = history(a.as_ref(), "src").await;
    events.reverse();
    for e in &mut events {
        e.org_id = "old".into();
    }
    a.import("old", creditd_core::OrgSettings::new("Old", "UTC"), events).await.expect("import");
    a.shutdown().await;
    let rows = |org: &'static str| {
        let session = &session;
        async move {
            let n: i64 = session
                .query_one("SELECT count(*) FROM records WHERE org_id = $1 AND id LIKE 'use_%'", &[&org])
                .await
                .expect("count")
                .get(0);
            n
        }
    };
    assert_eq!((rows("src").await, rows("old").await), (0, 1), "a usage writes no record row now");
    let previous = creditd_postgres::schema::MIGRATIONS.len() - 1;
    session
        .batch_execute(&format!(
            "ALTER TABLE events DROP COLUMN draws; UPDATE schema_version SET version = {previous};"
        ))
        .await
        .expect("downgrade");
    let b = PgStore::open(&url, Arc::new(creditd_store::SystemClock)).await.expect("reopen");
    let now = record_id(&ok(&b, "old", usage("2")).await);
    assert_eq!(rows("old").await, 1, "the new usage has no record row");
    let r = ok(&b, "old", refund(&then, Some("1"))).await;
    assert_eq!(r.events[0].amount, m("1"));
    let r = ok(&b, "old", refund(&now, None)).await;
    assert_eq!(r.events[0].amount, m("2"));
    assert_eq!(code(&run(&b, "old", refund(&now, Some("0.5"))).await), "refund_exceeds_consumed");
    assert_eq!(b.balance("old").await.expect("balance").available, m("8"));
    for org in ["src", "old"] {
        assert!(b.verify(org).await.expect("verify").ok, "{org}");
    }
    b.shutdown().await;
}
