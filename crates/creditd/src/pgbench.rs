//! `creditd bench --database-url URL`: creditd on PostgreSQL against a
//! per-operation SQL ledger on the same database, in one run.
//!
//! creditd: `POST …/usage` of 1 credit from keep-alive HTTP clients to one
//! node, then to two nodes (two stores on the database, each with its own
//! writer, clients split between them; with `--pg-home-nodes` the nodes
//! know each other and the clients follow `Creditd-Home-Node` to an org's
//! home, unless `--pg-clients-stay`). The baseline: a transfer function
//! in the spirit of pgr0ss/pgledger (lock both accounts in id order, move
//! the amount with a no-overdraft check, one transfer row and two entry
//! rows, each account's version bumped), called by as many clients, each
//! on its own connection, one call (one transaction) at a time.
//!
//! Beside each rate: p50/p99, the CPU time PostgreSQL spent per operation
//! (the postmaster and every process it started, from /proc before and
//! after), this process's CPU per operation (server and load generator
//! together: they share a runtime) and the load average.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use creditd_postgres::PgStore;
use creditd_store::{Command, Store, SystemClock};

use crate::bench::{BenchArgs, PgWorkload, Request, grant, load, load_average};

/// The baseline: accounts, transfers and entries, and the transfer
/// function. Amounts are integers (micro-credits), like creditd's.
const BASELINE_SCHEMA: &str = "
    DROP SCHEMA IF EXISTS bench_pgledger CASCADE;
    CREATE SCHEMA bench_pgledger;
    CREATE TABLE bench_pgledger.accounts (
        id             BIGINT PRIMARY KEY,
        balance        BIGINT NOT NULL,
        version        BIGINT NOT NULL DEFAULT 0,
        allow_negative BOOLEAN NOT NULL,
        updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE bench_pgledger.transfers (
        id         BIGSERIAL PRIMARY KEY,
        from_id    BIGINT NOT NULL REFERENCES bench_pgledger.accounts (id),
        to_id      BIGINT NOT NULL REFERENCES bench_pgledger.accounts (id),
        amount     BIGINT NOT NULL CHECK (amount > 0),
        created_at TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX ON bench_pgledger.transfers (from_id);
    CREATE INDEX ON bench_pgledger.transfers (to_id);
    CREATE TABLE bench_pgledger.entries (
        id              BIGSERIAL PRIMARY KEY,
        account_id      BIGINT NOT NULL REFERENCES bench_pgledger.accounts (id),
        transfer_id     BIGINT NOT NULL REFERENCES bench_pgledger.transfers (id),
        amount          BIGINT NOT NULL,
        balance_before  BIGINT NOT NULL,
        balance_after   BIGINT NOT NULL,
        account_version BIGINT NOT NULL,
        created_at      TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX ON bench_pgledger.entries (account_id);
    CREATE INDEX ON bench_pgledger.entries (transfer_id);
    CREATE FUNCTION bench_pgledger.transfer(src BIGINT, dst BIGINT, amt BIGINT) RETURNS BIGINT
    LANGUAGE plpgsql AS $$
    DECLARE
        a bench_pgledger.accounts;
        b bench_pgledger.accounts;
        t BIGINT;
    BEGIN
        IF amt <= 0 OR src = dst THEN
            RAISE EXCEPTION 'a transfer needs a positive amount and two accounts';
        END IF;
        -- Both rows locked in id order: concurrent transfers never deadlock.
        PERFORM 1 FROM bench_pgledger.accounts WHERE id IN (src, dst) ORDER BY id FOR UPDATE;
        UPDATE bench_pgledger.accounts SET balance = balance - amt, version = version + 1, updated_at = now()
            WHERE id = src RETURNING * INTO a;
        IF NOT a.allow_negative AND a.balance < 0 THEN
            RAISE EXCEPTION 'account % would go below zero', src;
        END IF;
        UPDATE bench_pgledger.accounts SET balance = balance + amt, version = version + 1, updated_at = now()
            WHERE id = dst RETURNING * INTO b;
        INSERT INTO bench_pgledger.transfers (from_id, to_id, amount, created_at)
            VALUES (src, dst, amt, now()) RETURNING id INTO t;
        INSERT INTO bench_pgledger.entries
            (account_id, transfer_id, amount, balance_before, balance_after, account_version, created_at)
            VALUES (src, t, -amt, a.balance + amt, a.balance, a.version, now()),
                   (dst, t, amt, b.balance - amt, b.balance, b.version, now());
        RETURN t;
    END
    $$;
";

/// Credits each org (and each baseline account) starts with: more than
/// any run spends.
const FUNDING_CREDITS: i64 = 1_000_000_000;

/// One workload: clients, and the orgs they spread over.
#[derive(Clone, Copy)]
struct Workload {
    clients: usize,
    /// 1: every request on one org.
    orgs: usize,
}

/// A run's figures.
struct Figures {
    rate: f64,
    ok: u64,
    failed: u64,
    p50_us: u64,
    p99_us: u64,
    pg_us_per_op: f64,
    /// This process: the load generator (and, for the baseline, its
    /// driver).
    own_us_per_op: f64,
    /// The creditd `serve` processes, summed.
    nodes_us_per_op: Option<f64>,
    /// Each node's share of it, when there are several.
    each_node_us_per_op: Vec<f64>,
    /// The nodes' writer batches in the run, by path (`ahead`, `locked`,
    /// `redone`; see `creditd_pg_writer_batches_total`).
    batches: Option<[u64; 3]>,
    load: String,
}

/// A `creditd serve` process on the database.
struct Node {
    child: std::process::Child,
    pid: u32,
    addr: std::net::SocketAddr,
}

impl Node {
    async fn start(bin: &std::path::Path, url: &str, key: &str, threads: Option<u16>, more: &[String]) -> Result<Node> {
        let addr = free_loopback_addr()?;
        let child = std::process::Command::new(bin)
            .args(["serve", "--database-url", url, "--listen", &addr.to_string()])
            .args(more)
            .env("CREDITD_SERVICE_KEY", key)
            .env("RUST_LOG", "warn")
            .envs(threads.map(|n| ("CREDITD_WORKER_THREADS", n.to_string())))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id();
        let node = Node { child, pid, addr };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !healthy(addr) {
            if Instant::now() > deadline {
                bail!("{} serve did not answer on {addr} within 30 s", bin.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(node)
    }
}

/// A loopback address free a moment ago.
fn free_loopback_addr() -> Result<std::net::SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

impl Drop for Node {
    fn drop(&mut self) {
        // The bench's requests are all answered by now: a kill loses
        // nothing that is measured.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The writer batches of `nodes` so far, summed, by path: ahead, locked,
/// redone (their `creditd_pg_writer_batches_total`, from `GET /metrics`).
fn writer_batches(nodes: &[Node], key: &str) -> Result<[u64; 3]> {
    use std::io::{Read, Write};
    let mut sum = [0u64; 3];
    for node in nodes {
        let mut s = std::net::TcpStream::connect_timeout(&node.addr, Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n")?;
        let mut text = String::new();
        s.take(16 << 20).read_to_string(&mut text)?;
        if !text.starts_with("HTTP/1.1 200") {
            bail!("GET /metrics on {}: {}", node.addr, text.lines().next().unwrap_or("no answer"));
        }
        for line in text.lines().filter(|l| l.starts_with("creditd_pg_writer_batches_total{")) {
            let at = ["\"ahead\"", "\"locked\"", "\"redone\""].iter().position(|p| line.contains(p));
            let n = line.rsplit(' ').next().and_then(|v| v.parse::<u64>().ok());
            if let (Some(at), Some(n)) = (at, n) {
                sum[at] += n;
            }
        }
    }
    Ok(sum)
}

/// Whether `GET /healthz` at `addr` answers 200 (blocking, short).
fn healthy(addr: std::net::SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut head = [0u8; 12];
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").is_ok()
        && s.read_exact(&mut head).is_ok()
        && head.ends_with(b"200")
}

pub async fn run(args: &BenchArgs, url: &str) -> Result<()> {
    let seconds = Duration::from_secs(args.http_seconds);
    let orgs = args.pg_orgs.max(1);
    let clients = args.clients.max(1);
    let postmaster = postmaster_pid(url).await?;
    println!(
        "PostgreSQL benchmark: postmaster pid {postmaster}, {} s per run, {} CPUs, node worker threads: {}",
        seconds.as_secs(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.node_threads.map_or("one per CPU".to_string(), |n| n.to_string()),
    );
    let workloads: Vec<Workload> = [
        (PgWorkload::One, Workload { clients: 1, orgs: 1 }),
        (PgWorkload::Many, Workload { clients, orgs }),
        (PgWorkload::Hot, Workload { clients, orgs: 1 }),
    ]
    .into_iter()
    .filter(|(k, _)| args.pg_workloads.contains(k))
    .map(|(_, w)| w)
    .collect();

    // The baseline first: its accounts are fresh tables.
    let baseline = Baseline::create(url, orgs).await?;
    let mut base = Vec::new();
    for w in &workloads {
        let conns = baseline.connect(url, w.clients).await?;
        let (f, conns) = measure(postmaster, || baseline.run(conns, *w, seconds)).await?;
        drop(conns);
        print_row("pgledger-style SQL", w, &f, None);
        base.push(f);
    }

    // creditd: `serve` processes (this binary, or `--server-bin`, so an
    // older build can be measured by the same bench), one or two nodes.
    // This process creates, funds and checks the orgs through a store of
    // its own (a third node), outside the timed runs.
    let run_id = jiff::Timestamp::now().as_second();
    let store = Arc::new(PgStore::open(url, Arc::new(SystemClock)).await.context("opening the database")?);
    let bin = match &args.server_bin {
        Some(p) => p.clone(),
        None => std::env::current_exe()?,
    };
    let key = "bench-service-key-0123456789";
    let mut nodes_up: Vec<Node> = Vec::new();
    let mut results = Vec::new();
    let run = Run { store: &store, postmaster, key, seconds, args };
    if args.pg_pairs > 0 {
        let single = vec![Node::start(&bin, url, key, args.node_threads, &[]).await?];
        let pair = start_nodes(&bin, url, key, args, 2).await?;
        for (i, w) in workloads.iter().enumerate().filter(|(_, w)| w.clients > 1) {
            // Each pair's second run finds the database as the first left
            // it (a checkpoint, autovacuum of what it wrote): every other
            // pair runs two nodes first, so that falls on both sides alike.
            let (mut ratios, mut by_order) = (Vec::new(), [Vec::new(), Vec::new()]);
            for p in 0..args.pg_pairs {
                let two_first = p % 2 == 1;
                let mut one = None;
                let mut two = None;
                for run_two in [two_first, !two_first] {
                    let (nodes, n) = if run_two { (&pair, 2) } else { (&single, 1) };
                    let figures = run.workload(nodes, *w, &format!("pgb{run_id}-p{p}-w{i}-n{n}")).await?;
                    let label = if run_two { two_nodes_label(args) } else { "creditd, 1 node" };
                    print_row(label, w, &figures, Some(&base[i]));
                    *(if run_two { &mut two } else { &mut one }) = Some(figures.rate);
                }
                let (Some(one), Some(two)) = (one, two) else { unreachable!("both sides of a pair ran") };
                let ratio = two / one;
                let order = if two_first { "two nodes first" } else { "one node first" };
                println!("  pair {} ({order}): two nodes / one node = {ratio:.2}x", p + 1);
                ratios.push(ratio);
                by_order[usize::from(two_first)].push(ratio);
            }
            let median = |r: &mut Vec<f64>| {
                r.sort_by(f64::total_cmp);
                r.get(r.len() / 2).copied().unwrap_or(f64::NAN)
            };
            let all = median(&mut ratios);
            println!(
                "{} on {}: two nodes / one node over {} pairs: median {all:.2}x, from {:.2}x to {:.2}x; \
                 median {:.2}x with one node first, {:.2}x with two nodes first",
                two_nodes_label(args),
                w.describe(),
                ratios.len(),
                ratios[0],
                ratios[ratios.len() - 1],
                median(&mut by_order[0]),
                median(&mut by_order[1]),
            );
        }
        drop((single, pair));
        store.shutdown().await;
        return Ok(());
    }
    let mut node_counts: Vec<usize> = args.pg_nodes.iter().map(|&n| usize::from(n)).collect();
    node_counts.sort_unstable();
    node_counts.dedup();
    for nodes in node_counts {
        if args.pg_home_nodes && nodes > 1 {
            // Nodes that know each other from the start.
            nodes_up = start_nodes(&bin, url, key, args, nodes).await?;
        }
        while nodes_up.len() < nodes {
            nodes_up.push(Node::start(&bin, url, key, args.node_threads, &[]).await?);
        }
        for (i, w) in workloads.iter().enumerate() {
            if nodes == 2 && w.clients == 1 {
                continue;
            }
            let f = run.workload(&nodes_up, *w, &format!("pgb{run_id}-n{nodes}-w{i}")).await?;
            let who = if nodes == 1 { "creditd, 1 node" } else { two_nodes_label(args) };
            print_row(who, w, &f, Some(&base[i]));
            results.push((nodes, i, f));
        }
    }
    drop(nodes_up);
    store.shutdown().await;

    println!();
    println!("summary (ratio = creditd / pgledger-style, same clients, same database, minutes apart at most):");
    for (nodes, i, f) in &results {
        let b = &base[*i];
        println!(
            "  {:<24} {} node(s){}: {:>8.0} ops/s ({:.2}x), p99 {:.1} ms; PostgreSQL {:.0} us/op ({:.2}x the baseline's {:.0})",
            workloads[*i].describe(),
            nodes,
            match (*nodes > 1 && args.pg_home_nodes, args.pg_clients_stay) {
                (false, _) => "",
                (true, false) => " (home nodes, clients follow)",
                (true, true) => " (home nodes, every write forwarded)",
            },
            f.rate,
            f.rate / b.rate,
            f.p99_us as f64 / 1000.0,
            f.pg_us_per_op,
            f.pg_us_per_op / b.pg_us_per_op,
            b.pg_us_per_op
        );
    }
    Ok(())
}

/// What every creditd run of the bench shares.
struct Run<'a> {
    store: &'a Arc<PgStore>,
    postmaster: u32,
    key: &'a str,
    seconds: Duration,
    args: &'a BenchArgs,
}

impl Run<'_> {
    /// Workload `w` on `nodes`, on fresh orgs named from `prefix`: its
    /// figures, once every acknowledged usage is found there exactly once
    /// and each org verifies.
    async fn workload(&self, nodes: &[Node], w: Workload, prefix: &str) -> Result<Figures> {
        let org_ids: Vec<String> = (0..w.orgs).map(|o| format!("{prefix}-{o}")).collect();
        fund(self.store, &org_ids).await?;
        let paths: Arc<Vec<String>> =
            Arc::new(org_ids.iter().map(|o| format!("/api/organizations/{o}/usage")).collect());
        let body = Bytes::from_static(br#"{"amount": "1", "service": "AI Inference"}"#);
        let n_orgs = w.orgs;
        let pids: Vec<u32> = nodes.iter().map(|n| n.pid).collect();
        let each_cpu = || pids.iter().map(|p| process_cpu_seconds(&p.to_string()).unwrap_or(0.0)).collect::<Vec<f64>>();
        let each_before = each_cpu();
        let batches_before = writer_batches(nodes, self.key)?;
        let addrs: Vec<std::net::SocketAddr> = nodes.iter().map(|n| n.addr).collect();
        let (clients, seconds, key) = (w.clients, self.seconds, self.key);
        let (keyed, key_prefix) = (self.args.pg_idempotency_keys, Arc::<str>::from(prefix));
        let follow = self.args.pg_home_nodes && !self.args.pg_clients_stay;
        let (mut f, ()) = measure(self.postmaster, || async move {
            let l = load(&addrs, clients, seconds, key, follow, move |c, n| {
                let at = spread(c, n, n_orgs);
                let idempotency_key = keyed.then(|| format!("{key_prefix}-{c}-{n}"));
                Request::Post(paths[at].clone(), body.clone(), idempotency_key)
            })
            .await?;
            Ok((l, ()))
        })
        .await?;
        let each: Vec<f64> =
            each_cpu().iter().zip(&each_before).map(|(a, b)| (a - b) * 1e6 / f.ok.max(1) as f64).collect();
        f.nodes_us_per_op = Some(each.iter().sum());
        let batches_after = writer_batches(nodes, self.key)?;
        f.batches = Some(std::array::from_fn(|i| batches_after[i].saturating_sub(batches_before[i])));
        if each.len() > 1 {
            f.each_node_us_per_op = each;
        }
        // The ledger is exact: every acknowledged usage is there once.
        let mut spent = 0i64;
        for o in &org_ids {
            let balance = self.store.balance(o).await?;
            spent += FUNDING_CREDITS * 1_000_000 - balance.available.micros();
            let report = self.store.verify(o).await?;
            if !report.ok {
                bail!("verify failed on {o}: {:?}", report.problems);
            }
        }
        if spent != f.ok as i64 * 1_000_000 {
            bail!("{} usages acknowledged but {} credits spent on {prefix}", f.ok, spent / 1_000_000);
        }
        Ok(f)
    }
}

/// `nodes` nodes; with `--pg-home-nodes` they know each other from the
/// start.
async fn start_nodes(bin: &std::path::Path, url: &str, key: &str, args: &BenchArgs, nodes: usize) -> Result<Vec<Node>> {
    let peers: Vec<String> = (0..nodes).map(|_| free_loopback_addr().map(|a| a.to_string())).collect::<Result<_>>()?;
    let mut up = Vec::new();
    for me in 0..nodes {
        let mut more = Vec::new();
        if args.pg_home_nodes {
            more = vec!["--peer-listen".to_string(), peers[me].clone()];
            for (i, p) in peers.iter().enumerate() {
                if i != me {
                    more.extend(["--peer".to_string(), p.clone()]);
                }
            }
        }
        up.push(Node::start(bin, url, key, args.node_threads, &more).await?);
    }
    Ok(up)
}

/// How a two-node run is named in the rows.
fn two_nodes_label(args: &BenchArgs) -> &'static str {
    match (args.pg_home_nodes, args.pg_clients_stay) {
        (false, _) => "creditd, 2 nodes",
        (true, false) => "creditd, 2 home nodes",
        (true, true) => "creditd, 2 home nodes, clients stay",
    }
}

impl Workload {
    fn describe(&self) -> String {
        if self.orgs == 1 {
            format!("{} client(s), one org", self.clients)
        } else {
            format!("{} clients, {} orgs", self.clients, self.orgs)
        }
    }
}

/// The org (or account) of client `c`'s n-th request: spread evenly, each
/// client walking its own way through them.
fn spread(c: usize, n: u64, orgs: usize) -> usize {
    ((c as u64).wrapping_mul(7919).wrapping_add(n.wrapping_mul(104_729)) % orgs as u64) as usize
}

fn print_row(who: &str, w: &Workload, f: &Figures, base: Option<&Figures>) {
    let ratio = base.map(|b| format!(" ({:.2}x)", f.rate / b.rate)).unwrap_or_default();
    let each = if f.each_node_us_per_op.is_empty() {
        String::new()
    } else {
        let parts: Vec<String> = f.each_node_us_per_op.iter().map(|n| format!("{n:.0}")).collect();
        format!(" ({})", parts.join(" + "))
    };
    let nodes = f.nodes_us_per_op.map(|n| format!("creditd {n:.0} us/op{each}, ")).unwrap_or_default();
    let batches = f
        .batches
        .map(|[ahead, locked, redone]| format!("; batches: {ahead} ahead, {locked} locked ({redone} redone)"))
        .unwrap_or_default();
    println!(
        "{who:<20} {:<24} {:>8.0} ops/s{ratio}, p50 {:.2} ms, p99 {:.2} ms, {} failed; CPU per op: \
         PostgreSQL {:.0} us, {nodes}load generator {:.0} us{batches}; load average {}",
        w.describe(),
        f.rate,
        f.p50_us as f64 / 1000.0,
        f.p99_us as f64 / 1000.0,
        f.failed,
        f.pg_us_per_op,
        f.own_us_per_op,
        f.load
    );
}

/// Gives each org its funding (creating it first), 100 orgs at a time.
async fn fund(store: &Arc<PgStore>, org_ids: &[String]) -> Result<()> {
    for chunk in org_ids.chunks(100) {
        let mut creates = Vec::new();
        for o in chunk {
            let (store, o) = (store.clone(), o.clone());
            creates.push(tokio::spawn(async move {
                store.create_org(&o, creditd_core::OrgSettings::new(o.clone(), "UTC")).await
            }));
        }
        for c in creates {
            c.await??;
        }
        let cmds: Vec<Command> = chunk.iter().map(|o| Command::new(o, grant(FUNDING_CREDITS), None)).collect();
        for r in store.execute(cmds).await {
            r.context("funding a bench org")?;
        }
    }
    Ok(())
}

/// Runs `work`, measuring PostgreSQL's CPU, this process's and the load.
/// What `work` returns beside its load (its connections) is dropped only
/// after the CPU times are read: a backend that exits takes its time with it.
async fn measure<F, K>(postmaster: u32, work: impl FnOnce() -> F) -> Result<(Figures, K)>
where
    F: std::future::Future<Output = Result<(crate::bench::Load, K)>>,
{
    let pg_before = cluster_cpu_seconds(postmaster);
    let own_before = process_cpu_seconds("self");
    let load_before = load_average();
    let (l, keep) = work().await?;
    let pg = cluster_cpu_seconds(postmaster) - pg_before;
    let own = process_cpu_seconds("self").unwrap_or(0.0) - own_before.unwrap_or(0.0);
    let ops = l.ok.max(1) as f64;
    let figures = Figures {
        rate: l.rate,
        ok: l.ok,
        failed: l.failed,
        p50_us: l.p50_us,
        p99_us: l.p99_us,
        pg_us_per_op: pg * 1e6 / ops,
        own_us_per_op: own * 1e6 / ops,
        nodes_us_per_op: None,
        each_node_us_per_op: Vec::new(),
        batches: None,
        load: format!("{} -> {}", load_before, load_average()),
    };
    Ok((figures, keep))
}

/// User + system CPU seconds of process `pid` ("self" for this one).
fn process_cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// The parent pid of `pid`.
fn parent_of(pid: &str) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("PPid:")).and_then(|v| v.trim().parse().ok())
}

/// CPU seconds of the postmaster and every process it started (backends,
/// WAL writer, checkpointer…): the cluster's, not other clusters' on the
/// machine. A backend that exits during a run takes its time with it, so
/// the connections are kept open across each run.
fn cluster_cpu_seconds(postmaster: u32) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0.0 };
    let mut total = process_cpu_seconds(&postmaster.to_string()).unwrap_or(0.0);
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())) else { continue };
        if parent_of(pid) == Some(postmaster) {
            total += process_cpu_seconds(pid).unwrap_or(0.0);
        }
    }
    total
}

/// The postmaster of the cluster at `url`: the parent of a backend.
async fn postmaster_pid(url: &str) -> Result<u32> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.context("connecting")?;
    let driver = tokio::spawn(conn);
    let backend: i32 = client.query_one("SELECT pg_backend_pid()", &[]).await?.get(0);
    let parent = parent_of(&backend.to_string())
        .context("PostgreSQL must run on this machine (its CPU time is read from /proc)")?;
    drop(client);
    let _ = driver.await;
    Ok(parent)
}

/// The per-operation SQL ledger: account pairs (an org's balance and its
/// usage account) and the transfer function.
struct Baseline {
    accounts: usize,
}

impl Baseline {
    async fn create(url: &str, orgs: usize) -> Result<Baseline> {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        let driver = tokio::spawn(conn);
        client.batch_execute(BASELINE_SCHEMA).await.context("creating the baseline's schema")?;
        // Account 2k: org k's balance (no overdraft); 2k + 1: its usage.
        let funding = FUNDING_CREDITS * 1_000_000;
        client
            .execute(
                "INSERT INTO bench_pgledger.accounts (id, balance, allow_negative) \
                 SELECT g, CASE WHEN g % 2 = 0 THEN $2::int8 ELSE 0 END, g % 2 = 1 \
                 FROM generate_series(0, $1::int8 * 2 - 1) AS g",
                &[&(orgs as i64), &funding],
            )
            .await?;
        client.batch_execute("VACUUM ANALYZE bench_pgledger.accounts").await?;
        drop(client);
        let _ = driver.await;
        Ok(Baseline { accounts: orgs })
    }

    /// `n` connections with the transfer function prepared.
    async fn connect(&self, url: &str, n: usize) -> Result<Vec<BaselineConn>> {
        let mut conns = Vec::new();
        for _ in 0..n {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
            let driver = tokio::spawn(conn);
            let st = client.prepare("SELECT bench_pgledger.transfer($1, $2, $3)").await?;
            conns.push(BaselineConn { client, st, driver });
        }
        Ok(conns)
    }

    /// One client per connection calling the transfer function for
    /// `seconds`; the connections come back open.
    async fn run(
        &self,
        conns: Vec<BaselineConn>,
        w: Workload,
        seconds: Duration,
    ) -> Result<(crate::bench::Load, Vec<BaselineConn>)> {
        let orgs = w.orgs.min(self.accounts);
        let deadline = Instant::now() + seconds;
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (c, conn) in conns.into_iter().enumerate() {
            tasks.push(tokio::spawn(async move {
                let (mut ok, mut failed, mut lat) = (0u64, 0u64, Vec::new());
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let org = spread(c, n, orgs) as i64;
                    n += 1;
                    let t = Instant::now();
                    match conn.client.query_one(&conn.st, &[&(2 * org), &(2 * org + 1), &1_000_000i64]).await {
                        Ok(_) => ok += 1,
                        Err(_) => failed += 1,
                    }
                    lat.push(t.elapsed().as_micros() as u64);
                }
                (ok, failed, lat, conn)
            }));
        }
        let (mut ok, mut failed, mut lat, mut back) = (0, 0, Vec::new(), Vec::new());
        for t in tasks {
            let (o, f, l, conn) = t.await?;
            ok += o;
            failed += f;
            lat.extend(l);
            back.push(conn);
        }
        let secs = started.elapsed().as_secs_f64();
        lat.sort_unstable();
        let pct =
            |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0);
        Ok((crate::bench::Load { rate: ok as f64 / secs, ok, failed, p50_us: pct(0.5), p99_us: pct(0.99) }, back))
    }
}

/// A baseline client's connection, its driver and the prepared call.
struct BaselineConn {
    client: tokio_postgres::Client,
    st: tokio_postgres::Statement,
    driver: tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>,
}

impl Drop for BaselineConn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}
