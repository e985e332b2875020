//! Two `creditd serve` processes on one PostgreSQL database, 64 HTTP clients
//! split across them racing holds and debits on one org with limited
//! credits: no overdraft, no double debit, `verify` passes on both nodes.
//! Skips (saying so) when PostgreSQL 15 is not installed.
//!
//! The binary's other end-to-end tests live beside it as modules (one test
//! binary per crate): `cli/history.rs` (gen, export, import), `cli/soak.rs`
//! (`bench --soak`), `cli/backup.rs` (`backup` while writing, `restore`),
//! `cli/config.rs` (`serve --config`, `config check`), `cli/docs.rs`
//! (the README's and `docs/`'s examples, run).

#[path = "cli/backup.rs"]
mod backup;
#[path = "cli/config.rs"]
mod config;
#[path = "cli/demo.rs"]
mod demo;
#[path = "cli/docs.rs"]
mod docs;
#[path = "cli/history.rs"]
mod history;
#[path = "cli/serve.rs"]
mod serve;
#[path = "cli/soak.rs"]
mod soak;

use std::collections::BTreeSet;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const KEY: &str = "multinode-test-service-key-0123456789";
const CLIENTS: usize = 64;
const CREDITS: usize = 500;
const TRIES_PER_CLIENT: usize = 10;

struct Node {
    child: Child,
    base: String,
}

impl Node {
    fn spawn(url: &str, data_dir: &std::path::Path) -> Node {
        Node::spawn_with(url, data_dir, &[])
    }

    fn spawn_with(url: &str, data_dir: &std::path::Path, more: &[&str]) -> Node {
        let mut args = vec!["--database-url".as_ref(), url.as_ref(), "--data-dir".as_ref(), data_dir.as_os_str()];
        args.extend(more.iter().map(|a| std::ffi::OsStr::new(*a)));
        let (child, addr) = serve::spawn_serve(&args, KEY);
        Node { child, base: format!("http://{addr}/api") }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Ctrl-C: drain and stop cleanly; kill if it takes too long.
        let _ = Command::new("kill").arg("-INT").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn post(c: &reqwest::Client, url: &str, body: Value) -> (u16, Value) {
    let r = c.post(url).bearer_auth(KEY).json(&body).send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(c: &reqwest::Client, url: &str) -> Value {
    let r = c.get(url).bearer_auth(KEY).send().await.expect("request");
    assert!(r.status().is_success(), "GET {url}: {}", r.status());
    r.json().await.expect("json")
}

/// Every event of `kind` of the org `hot`, through cursor pages.
async fn events_of(c: &reqwest::Client, base: &str, kind: &str) -> Vec<Value> {
    org_events_of(c, base, "hot", kind).await
}

/// Every event of `kind` of `org`, through cursor pages.
async fn org_events_of(c: &reqwest::Client, base: &str, org: &str, kind: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let page =
            get(c, &format!("{base}/organizations/{org}/credit-events?event_type={kind}&limit=100{cursor}")).await;
        out.extend(page["events"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_race_holds_and_debits() {
    let url = match creditd_conformance::pg::fresh_database().await {
        Ok(Some(url)) => url,
        Ok(None) => return,
        Err(e) => panic!("cannot start PostgreSQL: {e}"),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let nodes = [Node::spawn(&url, dir.path()), Node::spawn(&url, dir.path())];
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let c = reqwest::Client::builder().pool_max_idle_per_host(CLIENTS).build().expect("client");

    let (s, body) = post(&c, &format!("{}/organizations", bases[0]), json!({"id": "hot", "name": "Hot"})).await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = post(
        &c,
        &format!("{}/organizations/hot/credits", bases[1]),
        json!({"kind": "grant", "amount": CREDITS.to_string()}),
    )
    .await;
    assert_eq!(s, 201, "{body}");

    let requests = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let (c, requests) = (c.clone(), requests.clone());
        let mine = bases[i % 2].clone();
        let other = bases[(i + 1) % 2].clone();
        tasks.push(tokio::spawn(async move {
            let mut held = Vec::new();
            for _ in 0..TRIES_PER_CLIENT {
                let (s, body) = post(&c, &format!("{mine}/organizations/hot/holds"), json!({"amount": "1"})).await;
                requests.fetch_add(1, Ordering::Relaxed);
                if s == 409 {
                    assert_eq!(body["error"]["code"], "insufficient_credits", "{body}");
                    continue;
                }
                assert_eq!(s, 201, "hold: {body}");
                let id = body["hold"]["id"].as_str().expect("hold id").to_string();
                // Capture through the other node, then try again through this one.
                let (s, body) = post(&c, &format!("{other}/organizations/hot/holds/{id}/debit"), json!({})).await;
                assert_eq!(s, 200, "debit: {body}");
                let (s, body) = post(&c, &format!("{mine}/organizations/hot/holds/{id}/debit"), json!({})).await;
                assert_eq!((s, body["error"]["code"].as_str()), (409, Some("hold_already_settled")), "{body}");
                requests.fetch_add(2, Ordering::Relaxed);
                held.push(id);
            }
            held
        }));
    }
    let mut ids = BTreeSet::new();
    for t in tasks {
        for id in t.await.expect("client") {
            assert!(ids.insert(id), "a hold id was handed out twice");
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let n = requests.load(Ordering::Relaxed);
    println!(
        "two creditd processes, {CLIENTS} clients: {n} requests in {secs:.2}s ({:.0} req/s), {} holds captured of {} tried",
        n as f64 / secs,
        ids.len(),
        CLIENTS * TRIES_PER_CLIENT
    );
    assert_eq!(ids.len(), CREDITS, "exactly the affordable holds succeed");

    for base in &bases {
        let b = get(&c, &format!("{base}/organizations/hot/balance")).await;
        assert_eq!((b["available"].clone(), b["held"].clone()), (json!(0), json!(0)), "{b}");
        assert_eq!(b["period_usage"], json!(CREDITS));
        let v = get(&c, &format!("{base}/organizations/hot/verify")).await;
        assert_eq!(v["ok"], json!(true), "{v}");
    }
    let debits = events_of(&c, &bases[0], "debit").await;
    let debited: BTreeSet<String> =
        debits.iter().map(|e| e["hold_id"].as_str().expect("hold_id").to_string()).collect();
    assert_eq!(debits.len(), CREDITS, "one debit per hold");
    assert_eq!(debited, ids);
    let holds = events_of(&c, &bases[1], "hold").await;
    assert_eq!(holds.len(), CREDITS);
    // The whole history as a full-layout file, for the import below.
    let full = c
        .get(format!("{}/organizations/hot/credit-events/export?layout=full", bases[0]))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("export")
        .text()
        .await
        .expect("export body");
    let full_path = dir.path().join("hot-full.csv");
    std::fs::write(&full_path, &full).expect("write export");
    drop(nodes);

    // The operator's check, from a third process.
    let out = Command::new(env!("CARGO_BIN_EXE_creditd"))
        .args(["verify", "--database-url", &url])
        .env("RUST_LOG", "warn")
        .output()
        .expect("creditd verify");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "creditd verify: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("ok   hot"), "{stdout}");

    // `creditd import` into PostgreSQL: all of it, verified; a second time
    // is refused and changes nothing.
    let import = || {
        Command::new(env!("CARGO_BIN_EXE_creditd"))
            .args(["import", "--org", "hot-copy", "--database-url", &url])
            .arg(&full_path)
            .env("RUST_LOG", "warn")
            .output()
            .expect("creditd import")
    };
    let out = import();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "creditd import: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    let events = full.lines().count() - 1;
    assert!(stdout.contains(&format!("imported {events} events into hot-copy: available 0, held 0")), "{stdout}");
    let again = import();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_creditd"))
        .args(["verify", "--database-url", &url, "--org", "hot-copy"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("creditd verify");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("ok   hot-copy"), "{stdout}");
}

/// `creditd serve --read-database-url` on a real streaming standby: history
/// pages come from the standby (a paused standby shows them lagging), and a
/// caller that names its write's position in `Creditd-Read-After` reads its
/// write at once (from the primary once the standby has lagged 500 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_replica_serves_history_and_read_after_sees_the_write() {
    use creditd_conformance::pg;
    if !pg::binaries_available() {
        println!("{}", pg::skip_message());
        return;
    }
    let primary = tokio::task::spawn_blocking(|| pg::PgCluster::start(pg::Durability::Fast))
        .await
        .expect("task")
        .expect("primary");
    pg::create_database(&primary.url("postgres"), "creditd").await.expect("database");
    let standby = tokio::task::block_in_place(|| primary.start_standby()).expect("standby");
    let dir = tempfile::tempdir().expect("temp dir");
    let (primary_url, replica_url) = (primary.url("creditd"), standby.url("creditd"));
    let args = [
        "--database-url".as_ref(),
        primary_url.as_ref(),
        "--read-database-url".as_ref(),
        replica_url.as_ref(),
        "--data-dir".as_ref(),
        dir.path().as_os_str(),
    ];
    let (child, addr) = serve::spawn_serve(&args, KEY);
    let node = Node { child, base: format!("http://{addr}/api") };
    let c = reqwest::Client::new();
    let org = format!("{}/organizations/hot", node.base);
    assert_eq!(post(&c, &format!("{}/organizations", node.base), json!({"id": "hot", "name": "Hot"})).await.0, 201);
    let (s, body) = post(&c, &format!("{org}/credits"), json!({"kind": "grant", "amount": 10})).await;
    assert_eq!(s, 201, "{body}");
    let page = |after: Option<u64>| {
        let (c, url) = (c.clone(), format!("{org}/credit-events?limit=100"));
        async move {
            let mut r = c.get(url).bearer_auth(KEY);
            if let Some(seq) = after {
                r = r.header("Creditd-Read-After", seq.to_string());
            }
            let r = r.send().await.expect("request");
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.expect("json")["events"].as_array().expect("events").len() as u64
        }
    };
    let seq = body["balance"]["seq"].as_u64().expect("seq");
    assert_eq!(page(Some(seq)).await, seq);

    let (replica, conn) = tokio_postgres::connect(&replica_url, tokio_postgres::NoTls).await.expect("standby");
    tokio::spawn(conn);
    replica.batch_execute("SELECT pg_wal_replay_pause()").await.expect("pause");
    let (s, body) = post(&c, &format!("{org}/usage"), json!({"amount": 1})).await;
    assert_eq!(s, 201, "{body}");
    let newer = body["balance"]["seq"].as_u64().expect("seq");
    assert_eq!(page(None).await, seq, "history pages come from the (paused) standby");
    assert_eq!(page(Some(newer)).await, newer, "the caller reads its own write");
    replica.batch_execute("SELECT pg_wal_replay_resume()").await.expect("resume");
    let r = c.get(format!("{org}/credit-events")).bearer_auth(KEY).header("Creditd-Read-After", "soon").send().await;
    assert_eq!(r.expect("request").status(), 422);
    drop(node);
    drop(standby);
}

/// Failover with nothing lost: a primary with a synchronous standby, one
/// `creditd serve` on a multi-host URL (`target_session_attrs=read-write`),
/// 8 clients writing usage with idempotency keys and retrying on any error
/// with the same key (as the clients do). The primary is killed mid-load
/// and the standby promoted: the node carries on by itself, every write is
/// acknowledged, each appears exactly once, and verify passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_to_a_synchronous_standby_keeps_every_acknowledged_write_once() {
    use creditd_conformance::pg;
    if !pg::binaries_available() {
        println!("{}", pg::skip_message());
        return;
    }
    const WRITERS: usize = 8;
    const EACH: usize = 40;
    let mut primary = tokio::task::spawn_blocking(|| pg::PgCluster::start(pg::Durability::Fast))
        .await
        .expect("task")
        .expect("primary");
    pg::create_database(&primary.url("postgres"), "creditd").await.expect("database");
    let standby = tokio::task::block_in_place(|| primary.start_standby()).expect("standby");
    // Commits wait for the standby to have them.
    let (admin, conn) =
        tokio_postgres::connect(&primary.url("postgres"), tokio_postgres::NoTls).await.expect("primary");
    tokio::spawn(conn);
    for sql in [
        "ALTER SYSTEM SET synchronous_standby_names = '*'",
        "ALTER SYSTEM SET synchronous_commit = 'on'",
        "SELECT pg_reload_conf()",
    ] {
        admin.batch_execute(sql).await.expect("synchronous replication");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = admin.query("SELECT sync_state FROM pg_stat_replication", &[]).await.expect("replication state");
        if rows.iter().any(|r| r.get::<_, String>(0) == "sync") {
            break;
        }
        assert!(Instant::now() < deadline, "the standby never became synchronous");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(admin);
    let url = format!(
        "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/creditd?target_session_attrs=read-write",
        primary.port(),
        standby.port()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::spawn(&url, dir.path());
    let c = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("client");
    let base = node.base.clone();
    assert_eq!(post(&c, &format!("{base}/organizations"), json!({"id": "hot", "name": "Hot"})).await.0, 201);
    assert_eq!(
        post(&c, &format!("{base}/organizations/hot/credits"), json!({"kind": "grant", "amount": 100000})).await.0,
        201
    );

    let acked = Arc::new(AtomicU64::new(0));
    let retried = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (c, base, acked, retried) = (c.clone(), base.clone(), acked.clone(), retried.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..EACH {
                let key = format!("w{w}-{i}");
                let deadline = Instant::now() + Duration::from_secs(120);
                loop {
                    let sent = c
                        .post(format!("{base}/organizations/hot/usage"))
                        .bearer_auth(KEY)
                        .header("Idempotency-Key", &key)
                        .json(&json!({"amount": 1}))
                        .send()
                        .await;
                    match sent.map(|r| r.status().as_u16()) {
                        Ok(201) => break,
                        Ok(s) if s < 500 && s != 408 && s != 429 => panic!("{key}: {s}"),
                        _ => {
                            assert!(Instant::now() < deadline, "{key} never went through");
                            retried.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
                acked.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    while acked.load(Ordering::Relaxed) < (WRITERS * EACH / 3) as u64 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let at_crash = acked.load(Ordering::Relaxed);
    tokio::task::block_in_place(|| primary.crash()).expect("crash the primary");
    let crashed = Instant::now();
    tokio::task::block_in_place(|| standby.promote()).expect("promote the standby");
    for t in tasks {
        t.await.expect("writer");
    }
    let total = acked.load(Ordering::Relaxed);
    assert_eq!(total, (WRITERS * EACH) as u64);
    println!(
        "failover: {at_crash} writes acknowledged before the crash, all {total} by {:?} after it; {} retries",
        crashed.elapsed(),
        retried.load(Ordering::Relaxed)
    );

    let usages = events_of(&c, &base, "usage").await;
    let mut keys: Vec<String> =
        usages.iter().map(|e| e["idempotency_key"].as_str().expect("every usage has its key").to_string()).collect();
    assert_eq!(keys.len(), WRITERS * EACH, "each acknowledged write is there exactly once");
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), WRITERS * EACH, "no write twice");
    let v = get(&c, &format!("{base}/organizations/hot/verify")).await;
    assert_eq!(v["ok"], true, "{v}");
    let b = get(&c, &format!("{base}/organizations/hot/balance")).await;
    assert_eq!(b["available"], json!(100000 - WRITERS * EACH), "{b}");

    // Usage analytics count every acknowledged usage once across the
    // failover: at once (the rollup rows plus the events past the org's
    // mark), and once the node's rollup follower has written its fold to
    // the promoted standby (the rows alone, the mark at the org's seq).
    let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let usage_url = format!(
        "{base}/organizations/hot/usage?date_from={}&date_to={today}",
        today.yesterday().expect("a date before today")
    );
    let counted = |u: &Value| (u["total_credits"].clone(), u["total_operations"].clone());
    let u = get(&c, &usage_url).await;
    assert_eq!(counted(&u), (json!(WRITERS * EACH), json!(WRITERS * EACH)), "{u}");
    let (db, conn) = tokio_postgres::connect(
        &format!("postgres://postgres@127.0.0.1:{}/creditd", standby.port()),
        tokio_postgres::NoTls,
    )
    .await
    .expect("the promoted standby");
    tokio::spawn(conn);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let row = db
            .query_one(
                "SELECT (SELECT seq FROM orgs WHERE org_id = 'hot'), \
                 COALESCE((SELECT seq FROM rollup_marks WHERE org_id = 'hot'), 0)",
                &[],
            )
            .await
            .expect("seq and mark");
        let (seq, mark): (i64, i64) = (row.get(0), row.get(1));
        if mark == seq {
            break;
        }
        assert!(Instant::now() < deadline, "no rollups written after the failover: mark {mark}, seq {seq}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stored: i64 = db
        .query_one(
            "SELECT COALESCE(SUM(event_count), 0)::int8 FROM usage_rollups \
             WHERE org_id = 'hot' AND scope = 'org' AND dim = 'total'",
            &[],
        )
        .await
        .expect("stored rollups")
        .get(0);
    assert_eq!(stored, (WRITERS * EACH) as i64, "the stored rollup rows alone");
    let u = get(&c, &usage_url).await;
    assert_eq!(counted(&u), (json!(WRITERS * EACH), json!(WRITERS * EACH)), "{u}");
    drop(node);
    drop(standby);
}

/// `creditd bench --database-url` in a tiny configuration, on the chosen
/// workloads and node counts only: each creditd run sits beside its
/// pgledger-style baseline, and the bench's own check (every acknowledged
/// usage spent exactly once, verify on every org) passed, or it fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_postgres_bench_runs_the_chosen_workloads() {
    let url = match creditd_conformance::pg::fresh_database().await {
        Ok(Some(url)) => url,
        Ok(None) => return,
        Err(e) => panic!("cannot start PostgreSQL: {e}"),
    };
    let stdout = small_bench(&url, &["--pg-orgs", "3", "--pg-workloads", "one,hot", "--pg-nodes", "1"]);
    for row in [
        "pgledger-style SQL   1 client(s), one org",
        "pgledger-style SQL   4 client(s), one org",
        "creditd, 1 node      1 client(s), one org",
        "creditd, 1 node      4 client(s), one org",
    ] {
        assert_eq!(stdout.matches(row).count(), 1, "{row} in {stdout}");
    }
    assert!(stdout.contains("CPU per op: PostgreSQL"), "{stdout}");
    assert!(stdout.contains("node worker threads: 1"), "{stdout}");
    assert!(!stdout.contains("3 orgs") && !stdout.contains("2 nodes"), "{stdout}");
    assert!(stdout.contains("summary"), "{stdout}");
    // Each creditd run counts its nodes' writer batches: a usage on a
    // cached org goes ahead; the org was created (and funded) before.
    let runs: Vec<&str> = stdout.lines().filter(|l| l.starts_with("creditd, ")).collect();
    assert_eq!(runs.len(), 2, "{stdout}");
    for row in runs {
        let (ahead, locked, redone) = batches(row).expect(row);
        assert!(ahead > 0 && redone <= locked, "{row}");
    }

    // Pairs: one node and two home nodes back to back (two first in every
    // other pair), each pair's ratio and the medians.
    let stdout = small_bench(&url, &["--pg-workloads", "one,hot", "--pg-home-nodes", "--pg-pairs", "2"]);
    assert_eq!(stdout.matches("creditd, 1 node      4 client(s), one org").count(), 2, "{stdout}");
    assert_eq!(stdout.matches("creditd, 2 home nodes 4 client(s), one org").count(), 2, "{stdout}");
    assert!(!stdout.contains("creditd, 1 node      1 client(s)"), "one client has no pairs: {stdout}");
    for line in [
        "pair 1 (one node first): two nodes / one node = ",
        "pair 2 (two nodes first): two nodes / one node = ",
        "over 2 pairs: median ",
        "with one node first, ",
    ] {
        assert_eq!(stdout.matches(line).count(), 1, "{line} in {stdout}");
    }
    // The second pair ran two nodes first: its two-node row comes first.
    let pair_2 = &stdout[stdout.find("pair 1 (").expect("pair 1")..stdout.find("pair 2 (").expect("pair 2")];
    let (two, one) = (pair_2.find("creditd, 2 home nodes"), pair_2.find("creditd, 1 node"));
    assert!(two.zip(one).is_some_and(|(t, o)| t < o), "two nodes first in pair 2: {pair_2}");

    let none = Command::new(env!("CARGO_BIN_EXE_creditd"))
        .args(["bench", "--database-url", &url, "--pg-nodes", "3"])
        .output()
        .expect("creditd bench");
    assert!(!none.status.success());
}

/// A loopback port free a moment ago (for a node's --peer-listen, which the
/// other node must be told before either starts).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Two nodes on a fresh database that know each other (`--peer-listen`,
/// `--peer`), forwarding the writes of the other node's orgs once an org
/// takes `hot_rate` writes a second ("0": every write); their data
/// directory and peer addresses. `None` without PostgreSQL.
async fn peer_nodes(hot_rate: &str) -> Option<(tempfile::TempDir, Vec<Node>, [String; 2])> {
    let url = match creditd_conformance::pg::fresh_database().await {
        Ok(Some(url)) => url,
        Ok(None) => return None,
        Err(e) => panic!("cannot start PostgreSQL: {e}"),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let peers = [format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port())];
    let nodes = (0..2)
        .map(|me| {
            let more = ["--peer-listen", &peers[me], "--peer", &peers[1 - me], "--peer-hot-writes-per-s", hot_rate];
            Node::spawn_with(&url, dir.path(), &more)
        })
        .collect();
    Some((dir, nodes, peers))
}

/// A new org whose home is node 0 (as every node computes it, from the
/// peer addresses), created through `node_1`.
async fn org_homed_at_node_0(c: &reqwest::Client, peers: &[String; 2], node_1: &str, prefix: &str) -> String {
    let ring = creditd_server::forward::Ring::new(peers[0].clone(), [peers[1].clone()]);
    let org = (0..).map(|i| format!("{prefix}-{i}")).find(|o| ring.home(o).is_none()).expect("an org");
    let (s, body) = post(c, &format!("{node_1}/organizations"), json!({"id": org, "name": prefix})).await;
    assert_eq!(s, 201, "{body}");
    org
}

/// `creditd_forwarded_requests_total` of one outcome, from a node's /metrics.
async fn forwarded(c: &reqwest::Client, base: &str, outcome: &str) -> u64 {
    let root = base.trim_end_matches("/api");
    let text =
        c.get(format!("{root}/metrics")).bearer_auth(KEY).send().await.expect("metrics").text().await.expect("text");
    let series = format!("creditd_forwarded_requests_total{{outcome=\"{outcome}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(&series)).map_or(0, |v| v.trim().parse().expect("a count"))
}

/// `POST …/usage` answers a node gave, from its /metrics.
async fn usages_served(c: &reqwest::Client, base: &str) -> u64 {
    let root = base.trim_end_matches("/api");
    let text =
        c.get(format!("{root}/metrics")).bearer_auth(KEY).send().await.expect("metrics").text().await.expect("text");
    text.lines()
        .filter(|l| {
            l.starts_with("creditd_http_requests_total{")
                && l.contains("route=\"/api/organizations/{org_id}/usage\"")
                && l.contains("method=\"POST\"")
        })
        .map(|l| l.rsplit(' ').next().expect("a value").parse::<u64>().expect("a count"))
        .sum()
}

/// `creditd bench` on `url` for 1 s per run, 4 clients, one worker thread
/// per node, with `args`: what it printed (it must succeed).
fn small_bench(url: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_creditd"))
        .args(["bench", "--database-url", url, "--http-seconds", "1", "--clients", "4", "--node-threads", "1"])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("creditd bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "creditd bench: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// A bench row's writer batches: ahead, locked, redone
/// (`batches: A ahead, L locked (R redone)`).
fn batches(row: &str) -> Option<(u64, u64, u64)> {
    let counts = row.split("; batches: ").nth(1)?;
    let mut n = counts.split(|c: char| !c.is_ascii_digit()).filter(|t| !t.is_empty()).map(str::parse::<u64>);
    Some((n.next()?.ok()?, n.next()?.ok()?, n.next()?.ok()?))
}

/// A usage of 1 credit with an idempotency key; the status, or 0 when the
/// node could not be reached.
async fn use_one(c: &reqwest::Client, base: &str, org: &str, key: &str) -> u16 {
    match c
        .post(format!("{base}/organizations/{org}/usage"))
        .bearer_auth(KEY)
        .header("Idempotency-Key", key)
        .json(&json!({"amount": "1", "service": "AI Inference"}))
        .send()
        .await
    {
        Ok(r) => r.status().as_u16(),
        Err(e) => {
            eprintln!("use_one: {e:?}");
            0
        }
    }
}

/// Two nodes that know each other (`--peer-listen`, `--peer`): an org's
/// writes go through its home node, the other node forwards them (and counts
/// them in its metrics), and callers get the same answers, refusals
/// included. When the home node is killed mid-load, the other carries on
/// writing by itself; every acknowledged usage is there exactly once and
/// verify passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_go_through_the_home_node_and_carry_on_without_it() {
    const FUNDS: u64 = 100_000;
    const WRITERS: usize = 16;
    const EACH: usize = 30;
    let Some((_dir, mut nodes, peers)) = peer_nodes("0").await else { return };
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let c = reqwest::Client::builder().pool_max_idle_per_host(WRITERS * 2).build().expect("client");

    let org = org_homed_at_node_0(&c, &peers, &bases[1], "homed").await;
    let (s, body) = post(
        &c,
        &format!("{}/organizations/{org}/credits", bases[1]),
        json!({"kind": "grant", "amount": FUNDS.to_string()}),
    )
    .await;
    assert_eq!(s, 201, "a grant through the other node: {body}");
    assert!(forwarded(&c, &bases[1], "forwarded").await >= 1, "the grant went to the home node");

    // Refusals come back as the home node gives them.
    for base in &bases {
        let r = c
            .post(format!("{base}/organizations/{org}/usage"))
            .bearer_auth("not-a-key")
            .json(&json!({"amount": "1"}))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status().as_u16(), 401, "{base}");
        let (s, body) = post(&c, &format!("{base}/organizations/{org}/usage"), json!({"amount": "-1"})).await;
        assert_eq!((s, body["error"]["code"].as_str()), (422, Some("validation_error")), "{base}: {body}");
        let r = c
            .post(format!("{base}/organizations/{org}/usage"))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(vec![b' '; 2 << 20])
            .send()
            .await
            .expect("request");
        assert_eq!(r.status().as_u16(), 413, "{base}");
    }

    // Both nodes write the org at once.
    let acked = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (c, base, org, acked) = (c.clone(), bases[w % 2].clone(), org.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0..EACH {
                let s = use_one(&c, &base, &org, &format!("both-{w}-{n}")).await;
                assert_eq!(s, 201, "usage {w}/{n} through {base}");
                acked.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    let through = forwarded(&c, &bases[1], "forwarded").await;
    assert!(through > (WRITERS / 2 * EACH) as u64, "node 1 forwarded {through} writes");
    assert_eq!(forwarded(&c, &bases[0], "forwarded").await, 0, "the home node writes its org itself");

    // Kill the home node while node 1's callers write; they carry on.
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (c, base, org, acked) = (c.clone(), bases[1].clone(), org.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0..EACH * 3 {
                let key = format!("after-{w}-{n}");
                let s = use_one(&c, &base, &org, &key).await;
                assert_eq!(s, 201, "usage {key} through the surviving node");
                acked.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    let mut home = nodes.remove(0);
    home.child.kill().expect("kill -9 the home node");
    let _ = home.child.wait();
    std::mem::forget(home);
    for t in tasks {
        t.await.expect("writer");
    }
    let outcomes = ["forwarded", "not_sent", "lost_retried", "down", "lost"];
    let mut seen = Vec::new();
    for o in outcomes {
        seen.push((o, forwarded(&c, &bases[1], o).await));
    }
    println!("node 1's forwarding outcomes: {seen:?}");
    assert!(seen[1].1 + seen[2].1 + seen[3].1 > 0, "node 1 wrote by itself after the home node died: {seen:?}");
    assert_eq!(seen[4].1, 0, "every write carried a key, so none was refused: {seen:?}");

    let acked = acked.load(Ordering::Relaxed);
    let usages = org_events_of(&c, &bases[1], &org, "usage").await;
    assert_eq!(usages.len() as u64, acked, "every acknowledged usage once");
    let b = get(&c, &format!("{}/organizations/{org}/balance", bases[1])).await;
    assert_eq!(b["available"], json!(FUNDS - acked), "{b}");
    let v = get(&c, &format!("{}/organizations/{org}/verify", bases[1])).await;
    assert_eq!(v["ok"], json!(true), "{v}");
}

/// A client that knows the nodes writes a hot org at its home itself: the
/// first write through the other node is forwarded and its answer names
/// the home node (`Creditd-Home-Node`), and the client's next writes go
/// there directly. When the home node dies the client goes back to its base
/// URL, which writes by itself; every acknowledged usage is there once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_that_know_the_nodes_write_at_the_home_node() {
    const FUNDS: u64 = 10_000;
    let Some((_dir, mut nodes, peers)) = peer_nodes("0").await else { return };
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let roots: Vec<String> = bases.iter().map(|b| b.trim_end_matches("/api").to_string()).collect();
    let c = reqwest::Client::new();
    let org = org_homed_at_node_0(&c, &peers, &bases[1], "direct").await;

    // A forwarded write's answer names the home node; the home's own do not.
    let grant = |base: &str| {
        c.post(format!("{base}/organizations/{org}/credits"))
            .bearer_auth(KEY)
            .json(&json!({"kind": "grant", "amount": (FUNDS / 2).to_string()}))
            .send()
    };
    let r = grant(&bases[1]).await.expect("grant via node 1");
    assert_eq!(r.status().as_u16(), 201);
    let named = r.headers().get("creditd-home-node").map(|v| v.to_str().unwrap().to_string());
    assert_eq!(named.as_deref(), Some(format!("{}/", roots[0]).as_str()), "the home node's URL");
    let r = grant(&bases[0]).await.expect("grant at the home node");
    assert_eq!(r.status().as_u16(), 201);
    assert!(r.headers().get("creditd-home-node").is_none(), "no hint from the home itself");
    // Reads are served where they arrive, with no hint.
    let r = c.get(format!("{}/organizations/{org}/balance", bases[1])).bearer_auth(KEY).send().await.expect("read");
    assert!(r.headers().get("creditd-home-node").is_none());

    // A client based on node 1 that knows node 0: one write is forwarded,
    // the rest go to node 0 directly.
    let client = creditd_client::Client::builder(&roots[1], KEY).nodes([roots[0].as_str()]).build().expect("a client");
    let before = forwarded(&c, &bases[1], "forwarded").await;
    let one = creditd_client::Usage::new(creditd_client::Micros::from_credits(1).expect("1 credit"));
    for _ in 0..40 {
        client.record_usage(&org, &one, None).await.expect("usage");
    }
    assert_eq!(forwarded(&c, &bases[1], "forwarded").await - before, 1, "only the first write was forwarded");
    // A client that does not list node 0 never follows the hint.
    let plain = creditd_client::Client::new(&roots[1], KEY).expect("a client");
    for _ in 0..5 {
        plain.record_usage(&org, &one, None).await.expect("usage");
    }
    assert_eq!(forwarded(&c, &bases[1], "forwarded").await - before, 6, "each of its writes was forwarded");

    // The home node dies: the client's writes go back to node 1.
    let mut home = nodes.remove(0);
    home.child.kill().expect("kill -9 the home node");
    let _ = home.child.wait();
    std::mem::forget(home);
    for _ in 0..10 {
        client.record_usage(&org, &one, None).await.expect("usage after the home node died");
    }
    let usages = org_events_of(&c, &bases[1], &org, "usage").await;
    assert_eq!(usages.len(), 55, "every acknowledged usage once");
    let b = get(&c, &format!("{}/organizations/{org}/balance", bases[1])).await;
    assert_eq!(b["available"], json!(FUNDS - 55), "{b}");
    let v = get(&c, &format!("{}/organizations/{org}/verify", bases[1])).await;
    assert_eq!(v["ok"], json!(true), "{v}");
}

/// A cold org's writes through the other node are served there (nothing is
/// forwarded), and once the nodes have told each other their URLs the
/// answers name the org's home; a client that knows the nodes then writes
/// the org at its home, so the row is not handed between the nodes. When
/// the home dies, the client's writes go back to its base URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cold_orgs_are_served_where_they_arrive_and_name_their_home() {
    let Some((_dir, mut nodes, peers)) = peer_nodes("100").await else { return };
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let roots: Vec<String> = bases.iter().map(|b| b.trim_end_matches("/api").to_string()).collect();
    let c = reqwest::Client::new();
    let org = org_homed_at_node_0(&c, &peers, &bases[1], "cold").await;

    // Node 1 learns node 0's URL from its hello within a few seconds.
    let home = format!("{}/", roots[0]);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut grants = 0u64;
    loop {
        let r = c
            .post(format!("{}/organizations/{org}/credits", bases[1]))
            .bearer_auth(KEY)
            .json(&json!({"kind": "grant", "amount": "100"}))
            .send()
            .await
            .expect("grant");
        assert_eq!(r.status().as_u16(), 201);
        grants += 1;
        if r.headers().get("creditd-home-node").is_some_and(|v| v.to_str().unwrap() == home) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "node 1 never named node 0 as the home");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(forwarded(&c, &bases[1], "forwarded").await, 0, "a cold org's writes are not forwarded");

    // A client based on node 1 that knows node 0: its first usage is
    // served by node 1 (and names the home), the others by node 0.
    let client = creditd_client::Client::builder(&roots[1], KEY).nodes([roots[0].as_str()]).build().expect("a client");
    let one = creditd_client::Usage::new(creditd_client::Micros::from_credits(1).expect("1 credit"));
    let before = (usages_served(&c, &bases[0]).await, usages_served(&c, &bases[1]).await);
    for _ in 0..20 {
        client.record_usage(&org, &one, None).await.expect("usage");
    }
    let after = (usages_served(&c, &bases[0]).await, usages_served(&c, &bases[1]).await);
    assert_eq!((after.0 - before.0, after.1 - before.1), (19, 1), "usages served by node 0 and node 1");
    assert_eq!(forwarded(&c, &bases[1], "forwarded").await, 0);

    // The home node dies: the client goes back to node 1, which names no
    // home it cannot reach.
    let mut dead = nodes.remove(0);
    dead.child.kill().expect("kill -9 the home node");
    let _ = dead.child.wait();
    std::mem::forget(dead);
    for _ in 0..5 {
        client.record_usage(&org, &one, None).await.expect("usage after the home node died");
    }
    let r = c
        .post(format!("{}/organizations/{org}/usage", bases[1]))
        .bearer_auth(KEY)
        .json(&json!({"amount": "1"}))
        .send()
        .await
        .expect("usage");
    assert_eq!(r.status().as_u16(), 201);
    assert!(r.headers().get("creditd-home-node").is_none(), "no hint to a node that is down");
    let usages = org_events_of(&c, &bases[1], &org, "usage").await;
    assert_eq!(usages.len(), 26, "every acknowledged usage once");
    let b = get(&c, &format!("{}/organizations/{org}/balance", bases[1])).await;
    assert_eq!(b["available"], json!(grants * 100 - 26), "{b}");
    let v = get(&c, &format!("{}/organizations/{org}/verify", bases[1])).await;
    assert_eq!(v["ok"], json!(true), "{v}");
}
