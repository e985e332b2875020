//! `creditd bench`: ledger throughput measured on the real paths, each next
//! to a baseline run in the same process minutes apart at most, so figures
//! are read as ratios on a noisy shared machine.
//!
//! 1. Engine: commands in batches through the SQLite engine (durable group
//!    commit) vs. a plain per-operation SQL ledger (check balance, update the
//!    balance row, insert the event) in 1,000-operation transactions.
//! 2. HTTP: single-operation requests from concurrent keep-alive clients
//!    (one hyper HTTP/1.1 connection each) vs. the same clients asking
//!    `GET /healthz`, which touches neither JSON nor the store.
//!
//! `--compare-wal-cap` runs the engine part without the WAL cap, then with
//! it; `--priced` runs it with plain usage, then with priced usage (by price
//! and quantity, half flat and half graduated, priced from a book inside
//! the writer's apply step) and prints the ratio; `--soak <seconds>` runs
//! the soak instead (see `soak`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use creditd_core::{CreditKind, CreditOp, EventCtx, Micros, Op, OrgSettings};
use creditd_sqlite::{OrgCacheSize, SqliteOptions, SqliteStore};
use creditd_store::{Command, Store, SystemClock};

/// A workload of the PostgreSQL benchmark (`--pg-workloads`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PgWorkload {
    /// One client on one org.
    One,
    /// `--clients` clients over `--pg-orgs` orgs.
    Many,
    /// `--clients` clients on one org.
    Hot,
}

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Operations for the engine benchmark.
    #[arg(long, default_value_t = 200_000)]
    ops: usize,
    /// Commands per execute() call in the engine benchmark.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Concurrent submitters in the engine benchmark. Each waits for its
    /// batch to commit before it sends the next, so the pipeline (one batch
    /// applied while one commits) stays full only with enough of them: 8 of
    /// 1,000 measured 1.4x the rate of 4 on this 2-core machine.
    #[arg(long, default_value_t = 8)]
    submitters: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 64)]
    pub(crate) clients: usize,
    /// How long each HTTP run (the baseline, then usage) lasts. The first
    /// seconds on a fresh database are the slowest (5 s runs measured about
    /// 0.75x of 10 s ones), so the default runs long enough to be steady.
    #[arg(long, default_value_t = 10)]
    pub(crate) http_seconds: u64,
    /// Skip the HTTP part.
    #[arg(long)]
    skip_http: bool,
    /// The WAL cap of the runs, MiB (0: no cap), as `serve --wal-cap-mib`.
    #[arg(long, default_value_t = 64)]
    wal_cap_mib: u64,
    /// Run the engine part twice in one process, without the WAL cap and
    /// with it, and print ops/s and the p99 of an execute call for both.
    #[arg(long)]
    compare_wal_cap: bool,
    /// Run the engine part twice in one process, with plain usage (an
    /// amount) and with priced usage (a price and a quantity), and print
    /// ops/s for both and their ratio.
    #[arg(long)]
    priced: bool,
    /// `--priced`: how many plain-then-priced pairs to run, one after the
    /// other in this process; each pair's ratio is printed, then their
    /// median (a pair run while another process takes the CPU is an
    /// outlier the median sets aside).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// The writer's org cache, as `serve --org-cache`.
    #[arg(long, default_value_t = OrgCacheSize::DEFAULT)]
    pub(crate) org_cache: OrgCacheSize,
    /// Instead of the benchmarks: a soak of this many seconds (HTTP clients
    /// as `--clients`), reporting memory, disk and latency as it goes.
    #[arg(long)]
    soak: Option<u64>,
    /// Soak: seconds between reports.
    #[arg(long, default_value_t = 10)]
    pub(crate) soak_every: u64,
    /// Soak: organisations the clients write.
    #[arg(long, default_value_t = 100)]
    pub(crate) soak_orgs: usize,
    /// Soak: new organisations created (and written once) per second.
    #[arg(long, default_value_t = 50)]
    pub(crate) soak_new_orgs_per_second: u64,
    /// Soak: tasks creating the new organisations, each at its share of
    /// the rate (one task waits for each commit, so a high rate needs more).
    #[arg(long, default_value_t = 1)]
    pub(crate) soak_creators: u64,
    /// Without `--soak`: the PostgreSQL benchmark on the database at this
    /// URL (a scratch database: it adds orgs and a `bench_pgledger` schema)
    /// instead of the SQLite one: creditd's HTTP usage on 1 client, 64
    /// clients over `--pg-orgs` orgs and 64 on one hot org, on one node and
    /// on two, next to a pgledger-style per-operation SQL function driven
    /// by as many clients, with PostgreSQL's CPU per operation. With
    /// `--soak`: the soak on PostgreSQL instead of a fresh SQLite directory
    /// (the database must be empty or hold only earlier soak orgs; WAL and
    /// database sizes are then PostgreSQL's own and not printed).
    #[arg(long)]
    pub(crate) database_url: Option<String>,
    /// PostgreSQL benchmark: organisations of the many-orgs workload.
    #[arg(long, default_value_t = 1000)]
    pub(crate) pg_orgs: usize,
    /// PostgreSQL benchmark: which workloads to run (comma-separated):
    /// `one` (1 client), `many` (64 clients over `--pg-orgs` orgs), `hot`
    /// (64 clients on one org); and on how many nodes (`--pg-nodes`).
    #[arg(long, value_delimiter = ',', default_values = ["one", "many", "hot"])]
    pub(crate) pg_workloads: Vec<PgWorkload>,
    /// PostgreSQL benchmark: the node counts to run the workloads on
    /// (comma-separated, 1 and/or 2; one client runs on one node only).
    #[arg(long, value_delimiter = ',', default_values_t = [1u8, 2], value_parser = clap::value_parser!(u8).range(1..=2))]
    pub(crate) pg_nodes: Vec<u8>,
    /// PostgreSQL benchmark: the nodes' `--worker-threads` (default: theirs,
    /// one per CPU).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub(crate) node_threads: Option<u16>,
    /// PostgreSQL benchmark: the `creditd` binary whose `serve` is measured
    /// (default: this one), e.g. an older build to compare with.
    #[arg(long)]
    pub(crate) server_bin: Option<std::path::PathBuf>,
    /// PostgreSQL benchmark: every usage carries a fresh `Idempotency-Key`,
    /// as the clients send (by default the usages carry none).
    #[arg(long)]
    pub(crate) pg_idempotency_keys: bool,
    /// PostgreSQL benchmark: two nodes know each other (`--peer-listen`,
    /// `--peer`), so each org's writes go through its home node.
    #[arg(long)]
    pub(crate) pg_home_nodes: bool,
    /// PostgreSQL benchmark, with `--pg-home-nodes`: the load generator's
    /// clients do not follow `Creditd-Home-Node` (by default they do, as
    /// the clients given the nodes' URLs do), so every write of an org
    /// homed at the other node is forwarded: the cost of the hop.
    #[arg(long, requires = "pg_home_nodes")]
    pub(crate) pg_clients_stay: bool,
    /// PostgreSQL benchmark: instead of each node count once, this many
    /// pairs of runs of each workload with more than one client, one node
    /// and two back to back (each `--http-seconds`; every other pair runs
    /// two nodes first), with each pair's ratio and the medians: other
    /// tenants of a shared machine then slow both sides of a pair alike.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=100))]
    pub(crate) pg_pairs: u16,
}

impl BenchArgs {
    fn options(&self, wal_cap: bool) -> SqliteOptions {
        let wal_cap_bytes = (wal_cap && self.wal_cap_mib > 0).then(|| self.wal_cap_mib.saturating_mul(1 << 20));
        SqliteOptions { wal_cap_bytes, org_cache: self.org_cache }
    }
}

pub(crate) fn usage_op(i: usize) -> Op {
    Op::Usage {
        amount: Micros::from_micros(1),
        ctx: EventCtx {
            service: Some("AI Inference".into()),
            activity: Some("Model generation".into()),
            project_id: Some(format!("case-{}", i % 50)),
            user_email: Some(format!("user{}@example.com", i % 20)),
            ..EventCtx::default()
        },
    }
}

/// The bench's price book: a flat price and a graduated one, each a
/// micro-credit or two a unit, so a billion credits last.
fn bench_book() -> Result<creditd_core::prices::PriceBookDraft> {
    Ok(serde_json::from_value(serde_json::json!({"prices": [
        {"key": "generation", "service": "AI Inference", "activity": "Model generation", "unit": "call",
         "credits_per_unit": "0.000001"},
        {"key": "rows", "service": "AI Inference", "activity": "Enrichment", "unit": "row",
         "tiers": [{"up_to": 100000, "credits_per_unit": "0.000002"}, {"credits_per_unit": "0.000001"}]}
    ]}))?)
}

/// Priced usage number `i`: one unit of the flat price or of the tiered one.
pub(crate) fn priced_usage_op(i: usize) -> Op {
    let Op::Usage { ctx, .. } = usage_op(i) else { unreachable!("usage_op is a usage") };
    let price = if i.is_multiple_of(2) { "generation" } else { "rows" };
    Op::Priced(creditd_core::PricedOp::Usage {
        price: creditd_core::prices::PriceRequest {
            price: price.into(),
            quantity: creditd_core::Quantity::from_micros(1_000_000),
            dimensions: Default::default(),
        },
        ctx: EventCtx { service: None, activity: None, ..ctx },
    })
}

pub(crate) fn grant(credits: i64) -> Op {
    Op::Credit(CreditOp {
        kind: CreditKind::Grant,
        amount: Micros::from_micros(credits * 1_000_000),
        pool: None,
        expires_at: None,
        code: None,
        status: None,
        ctx: EventCtx::default(),
    })
}

async fn fresh_store(dir: &std::path::Path, options: SqliteOptions, priced: bool) -> Result<Arc<SqliteStore>> {
    let store = Arc::new(SqliteStore::open_with_options(dir, Arc::new(SystemClock), options)?);
    store.create_org("bench", OrgSettings::new("Bench", "UTC")).await?;
    let r = creditd_store::execute_one(store.as_ref(), Command::new("bench", grant(1_000_000_000), None)).await;
    r.context("funding the bench org")?;
    if priced {
        store.price_books().put("bench", bench_book()?).await.context("the bench's price book")?;
        let patch = creditd_core::SettingsPatch { price_book: Some("bench".into()), ..Default::default() };
        let op = Op::Access(creditd_core::AccessOp::SetSettings(patch));
        creditd_store::execute_one(store.as_ref(), Command::new("bench", op, None)).await.context("naming the book")?;
    }
    Ok(store)
}

pub async fn run(args: BenchArgs) -> Result<()> {
    if args.batch == 0 || args.ops == 0 || args.submitters == 0 {
        bail!("--ops, --batch and --submitters must be positive");
    }
    println!("creditd bench (release build recommended): {args:?}");
    if let Some(seconds) = args.soak {
        return crate::soak::run(&args, seconds, args.options(true)).await;
    }
    if let Some(url) = &args.database_url {
        return crate::pgbench::run(&args, url).await;
    }
    if args.compare_wal_cap {
        // Same process, same load, one after the other: read the ratio.
        let without = engine(&args, args.options(false), false).await?;
        let with = engine(&args, args.options(true), false).await?;
        for (what, r) in [("without the WAL cap", &without), ("with the WAL cap   ", &with)] {
            println!(
                "engine  {what}: {:>10.0} ops/s, execute p50 {} us, p99 {} us, largest WAL {:.1} MiB",
                r.wall,
                r.p50_us,
                r.p99_us,
                r.wal_max as f64 / 1048576.0
            );
        }
        println!("ratio with / without    : {:>10.2}x ops/s", with.wall / without.wall);
        return Ok(());
    }
    if args.priced {
        if args.rounds == 0 {
            bail!("--rounds must be positive");
        }
        // Same process, one after the other, in pairs: read the ratios.
        let (mut walls, mut cpus) = (Vec::new(), Vec::new());
        for round in 1..=args.rounds {
            println!("round {round} of {}, load average {}", args.rounds, load_average());
            let plain = engine(&args, args.options(true), false).await?;
            let priced = engine(&args, args.options(true), true).await?;
            for (what, r) in [("plain usage (amount)         ", &plain), ("priced usage (price+quantity)", &priced)] {
                let cpu = r.per_cpu_second.map_or(String::new(), |c| format!(", {c:.0} ops per writer CPU-second"));
                println!(
                    "engine  {what}: {:>10.0} ops/s, execute p50 {} us, p99 {} us{cpu}",
                    r.wall, r.p50_us, r.p99_us
                );
                // Which of the two writing threads a difference is in.
                for (name, cpu) in &r.threads {
                    println!("  {name}: {:.2} us CPU per op", 1e6 * cpu / args.ops as f64);
                }
            }
            walls.push(priced.wall / plain.wall);
            println!("ratio priced / plain    : {:>10.2}x ops/s", priced.wall / plain.wall);
            if let (Some(p), Some(q)) = (plain.per_cpu_second, priced.per_cpu_second) {
                cpus.push(q / p);
                println!("ratio priced / plain    : {:>10.2}x per writer CPU-second", q / p);
            }
        }
        println!("median of {} rounds    : {:>10.2}x ops/s", args.rounds, median(&mut walls));
        if !cpus.is_empty() {
            println!("median of {} rounds    : {:>10.2}x per writer CPU-second", args.rounds, median(&mut cpus));
        }
        println!("load average at the end : {}", load_average());
        return Ok(());
    }
    let engine = engine(&args, args.options(true), false).await?;
    let baseline = tokio::task::spawn_blocking({
        let ops = args.ops;
        move || baseline(ops)
    })
    .await??;
    println!("engine  batches of {:>5}: {:>10.0} ops/s (durable group commit)", args.batch, engine.wall);
    println!(
        "baseline per-op SQL     : {:>10.0} ops/s (UPDATE balance + INSERT event, 1,000-op transactions)",
        baseline.wall
    );
    println!("ratio engine / baseline : {:>10.2}x", engine.wall / baseline.wall);
    // The writer is the serial part: its CPU time per operation is what an
    // idle machine's throughput comes down to, and it is much less sensitive
    // to other processes than the wall clock.
    if let (Some(e), Some(b)) = (engine.per_cpu_second, baseline.per_cpu_second) {
        println!("per CPU-second of the writing threads: engine {e:.0} ops, baseline {b:.0} ops, ratio {:.2}x", e / b);
    }
    // A pipeline goes as fast as its busiest stage: how busy each thread was.
    for (name, cpu) in &engine.threads {
        println!("  {name}: {cpu:.2} s CPU in {:.2} s ({:.0}% busy)", engine.secs, 100.0 * cpu / engine.secs);
    }
    if !args.skip_http {
        http(&args).await?;
    }
    Ok(())
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The system's 1-minute load average, for the record beside a figure.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Operations per second of wall clock, and per second of CPU time of the
/// thread that writes (None where /proc cannot tell).
struct Rate {
    wall: f64,
    per_cpu_second: Option<f64>,
    /// Seconds of wall clock, and of CPU per writing thread (name, seconds).
    secs: f64,
    threads: Vec<(&'static str, f64)>,
    /// Engine runs: latency of one execute call, and the largest WAL file
    /// seen after one.
    p50_us: u64,
    p99_us: u64,
    wal_max: u64,
}

/// CPU time (user + system) of one thread of this process, from
/// /proc/self/task/<tid>/stat (Linux; None elsewhere).
fn thread_cpu_seconds(tid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// The id of this process's thread called `name`.
fn thread_named(name: &str) -> Option<String> {
    std::fs::read_dir("/proc/self/task").ok()?.flatten().find_map(|t| {
        let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
        (comm.trim() == name).then(|| t.file_name().to_string_lossy().into_owned())
    })
}

async fn engine(args: &BenchArgs, options: SqliteOptions, priced: bool) -> Result<Rate> {
    let dir = tempfile::tempdir()?;
    let store = fresh_store(dir.path(), options, priced).await?;
    let op = if priced { priced_usage_op } else { usage_op };
    let mut wal = store.database_path().as_os_str().to_owned();
    wal.push("-wal");
    let wal: Arc<std::path::Path> = std::path::PathBuf::from(wal).into();
    let per_task = args.ops / args.submitters;
    // The write path is two threads (apply, commit): their CPU time together.
    let names = ["creditd-writer", "creditd-commit"];
    let threads: Vec<(&'static str, String)> =
        names.iter().filter_map(|&n| thread_named(n).map(|tid| (n, tid))).collect();
    let each = |threads: &[(&'static str, String)]| {
        threads.iter().map(|(n, t)| thread_cpu_seconds(t).map(|s| (*n, s))).collect::<Option<Vec<_>>>()
    };
    let before = each(&threads);
    let mut tasks = Vec::new();
    // The commands are built before the clock starts: what is measured is
    // the engine taking them, not the submitters making them.
    let work: Vec<Vec<Vec<Command>>> = (0..args.submitters)
        .map(|t| {
            let ops: Vec<usize> = (t * per_task..(t + 1) * per_task).collect();
            ops.chunks(args.batch)
                .map(|chunk| chunk.iter().map(|&i| Command::new("bench", op(i), None)).collect())
                .collect()
        })
        .collect();
    let started = Instant::now();
    for batches in work {
        let (store, wal) = (store.clone(), wal.clone());
        tasks.push(tokio::spawn(async move {
            let (mut done, mut lat, mut wal_max) = (0, Vec::new(), 0);
            for cmds in batches {
                let t = Instant::now();
                for r in store.execute(cmds).await {
                    r?;
                    done += 1;
                }
                lat.push(t.elapsed().as_micros() as u64);
                wal_max = std::fs::metadata(&wal).map_or(wal_max, |m| m.len().max(wal_max));
            }
            Ok::<_, creditd_store::StoreError>((done, lat, wal_max))
        }));
    }
    let (mut total, mut lat, mut wal_max) = (0, Vec::new(), 0);
    for t in tasks {
        let (done, l, w) = t.await??;
        total += done;
        lat.extend(l);
        wal_max = wal_max.max(w);
    }
    lat.sort_unstable();
    let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied();
    let secs = started.elapsed().as_secs_f64();
    let used: Vec<(&'static str, f64)> = match (before, each(&threads)) {
        (Some(a), Some(b)) => a.iter().zip(&b).map(|((n, x), (_, y))| (*n, y - x)).collect(),
        _ => Vec::new(),
    };
    let cpu: f64 = used.iter().map(|(_, s)| s).sum();
    let report = store.verify("bench").await?;
    if !report.ok {
        bail!("verify failed after the engine benchmark: {:?}", report.problems);
    }
    store.shutdown().await;
    Ok(Rate {
        wall: total as f64 / secs,
        per_cpu_second: (used.len() == names.len() && cpu > 0.0).then(|| total as f64 / cpu),
        secs,
        threads: used,
        p50_us: pct(0.50).unwrap_or(0),
        p99_us: pct(0.99).unwrap_or(0),
        wal_max,
    })
}

/// What a ledger on a general database does per operation.
fn baseline(ops: usize) -> Result<Rate> {
    let cpu = || thread_cpu_seconds(&std::fs::read_link("/proc/thread-self").ok()?.file_name()?.to_string_lossy());
    let dir = tempfile::tempdir()?;
    let mut c = rusqlite::Connection::open(dir.path().join("baseline.sqlite"))?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "FULL")?;
    c.execute_batch(
        "CREATE TABLE balances (org_id TEXT PRIMARY KEY, available INTEGER NOT NULL, seq INTEGER NOT NULL);
         CREATE TABLE events (org_id TEXT, seq INTEGER, created_at INTEGER, kind TEXT, amount INTEGER,
             service TEXT, activity TEXT, project_id TEXT, user_email TEXT, balance_after INTEGER,
             PRIMARY KEY (org_id, seq)) WITHOUT ROWID;
         INSERT INTO balances VALUES ('bench', 1000000000000000, 0);",
    )?;
    let cpu_before = cpu();
    let started = Instant::now();
    let mut done = 0;
    while done < ops {
        let tx = c.transaction()?;
        for i in 0..1000.min(ops - done) {
            let (avail, seq): (i64, i64) =
                tx.query_row("SELECT available, seq FROM balances WHERE org_id = 'bench'", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            if avail < 1 {
                bail!("baseline ran out of credits");
            }
            tx.execute("UPDATE balances SET available = ?1, seq = ?2 WHERE org_id = 'bench'", (avail - 1, seq + 1))?;
            tx.execute(
                "INSERT INTO events VALUES ('bench', ?1, ?2, 'usage', -1, 'AI Inference', 'Model generation', ?3, ?4, ?5)",
                (seq + 1, jiff::Timestamp::now().as_microsecond(), format!("case-{}", i % 50), format!("user{}@example.com", i % 20), avail - 1),
            )?;
        }
        tx.commit()?;
        done += 1000.min(ops - done);
    }
    let wall = ops as f64 / started.elapsed().as_secs_f64();
    let per_cpu_second = match (cpu_before, cpu()) {
        (Some(a), Some(b)) if b > a => Some(ops as f64 / (b - a)),
        _ => None,
    };
    let secs = started.elapsed().as_secs_f64();
    Ok(Rate { wall, per_cpu_second, secs, threads: Vec::new(), p50_us: 0, p99_us: 0, wal_max: 0 })
}

async fn http(args: &BenchArgs) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open_with_options(dir.path(), Arc::new(SystemClock), args.options(true))?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let key = "bench-service-key-0123456789";
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = creditd_server::AppState::new(store.clone(), key);
    let server = tokio::spawn(creditd_server::serve(listener, app, async {
        let _ = stop_rx.await;
    }));
    // The organisation is set up as a backend would, through the Rust
    // client; the load below is raw keep-alive HTTP, the path measured.
    let api = creditd_client::Client::new(&format!("http://{addr}"), key)?;
    let new = creditd_client::NewOrganization {
        id: Some("bench".into()),
        name: "Bench".into(),
        time_zone: Some("UTC".into()),
        ..Default::default()
    };
    api.create_organization(&new).await.context("creating the bench org")?;
    let funding = creditd_client::Credit::grant(Micros::from_micros(1_000_000_000 * 1_000_000));
    api.grant_credits("bench", &funding, None).await.context("funding the bench org")?;
    let seconds = Duration::from_secs(args.http_seconds);
    // Baseline: the same clients on the same server asking for nothing (no
    // JSON, no store), so the ratio says what a ledger write costs over
    // the HTTP stack itself on this machine, now.
    let health = load(&[addr], args.clients, seconds, key, false, |_, _| Request::Get("/healthz")).await?;
    let usage = load(&[addr], args.clients, seconds, key, false, |c, _| {
        Request::Post(
            "/api/organizations/bench/usage".to_string(),
            Bytes::from(format!(
                r#"{{"amount": "0.000001", "service": "AI Inference", "user_email": "u{c}@example.com"}}"#
            )),
            None,
        )
    })
    .await?;
    for (what, r) in [("single-op POST /usage", &usage), ("baseline GET /healthz", &health)] {
        println!(
            "http    {} clients, {what}: {:>10.0} req/s ok ({} failed), latency p50 {} us, p99 {} us",
            args.clients, r.rate, r.failed, r.p50_us, r.p99_us
        );
    }
    println!("ratio usage / healthz    : {:>10.2}x", usage.rate / health.rate);
    let report = api.verify_ledger("bench").await.context("verifying after the HTTP benchmark")?;
    let balance = api.get_balance("bench").await?;
    let _ = stop_tx.send(());
    server.await??;
    if !report.ok {
        bail!("verify failed after the HTTP benchmark: {:?}", report.problems);
    }
    // Every acknowledged usage is one micro-credit, and nothing else was spent.
    let spent = funding.amount.micros() - balance.available.micros();
    if u64::try_from(spent).ok() != Some(usage.ok) {
        bail!("{} usages acknowledged but {spent} micro-credits spent", usage.ok);
    }
    if usage.failed > 0 || health.failed > 0 {
        bail!("{} usage and {} health requests failed", usage.failed, health.failed);
    }
    Ok(())
}

pub(crate) enum Request {
    Get(&'static str),
    /// A path, a JSON body and, if any, an `Idempotency-Key`.
    Post(String, Bytes, Option<String>),
}

pub(crate) struct Load {
    pub(crate) rate: f64,
    pub(crate) ok: u64,
    pub(crate) failed: u64,
    pub(crate) p50_us: u64,
    pub(crate) p99_us: u64,
}

/// `clients` tasks, each on its own keep-alive HTTP/1.1 connection (hyper's
/// client connection, no pool) to `addrs[client % addrs.len()]`, sending
/// one request at a time for `seconds`: `request(client, n)` is the
/// client's n-th.
pub(crate) async fn load(
    addrs: &[std::net::SocketAddr],
    clients: usize,
    seconds: Duration,
    key: &str,
    follow_homes: bool,
    request: impl Fn(usize, u64) -> Request + Send + Sync + 'static,
) -> Result<Load> {
    use http_body_util::{BodyExt, Either, Empty, Full};
    use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
    type Sender = hyper::client::conn::http1::SendRequest<Either<Empty<Bytes>, Full<Bytes>>>;
    async fn connect(addr: std::net::SocketAddr) -> Result<Sender> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(sender)
    }
    let deadline = Instant::now() + seconds;
    let started = Instant::now();
    let mut tasks = Vec::new();
    let request = Arc::new(request);
    let nodes: Arc<Vec<std::net::SocketAddr>> = Arc::new(addrs.to_vec());
    for c in 0..clients {
        let request = request.clone();
        let nodes = nodes.clone();
        let addr = addrs[c % addrs.len()];
        let auth = format!("Bearer {key}");
        tasks.push(tokio::spawn(async move {
            // One keep-alive connection per node this client writes to: its
            // own, and (following `Creditd-Home-Node`, as the clients do
            // when they know the nodes) a path's home node.
            let mut senders: std::collections::HashMap<std::net::SocketAddr, Sender> = Default::default();
            senders.insert(addr, connect(addr).await?);
            let mut homes: std::collections::HashMap<String, std::net::SocketAddr> = Default::default();
            let (mut ok, mut failed, mut lat_us) = (0u64, 0u64, Vec::new());
            let mut n = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let builder = hyper::Request::builder().header(HOST, "127.0.0.1").header(AUTHORIZATION, &auth);
                let (to, req) = match request(c, n) {
                    Request::Get(path) => {
                        (addr, builder.method("GET").uri(path).body(Either::Left(Empty::<Bytes>::new()))?)
                    }
                    Request::Post(path, body, key) => {
                        let builder = match key {
                            Some(key) => builder.header("idempotency-key", key),
                            None => builder,
                        };
                        let to = homes.get(&path).copied().unwrap_or(addr);
                        let req = builder
                            .method("POST")
                            .uri(path)
                            .header(CONTENT_TYPE, "application/json")
                            .body(Either::Right(Full::new(body)))?;
                        (to, req)
                    }
                };
                n += 1;
                let sender = match senders.entry(to) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => e.insert(connect(to).await?),
                };
                // Only a client that follows homes needs the path after sending.
                let path = follow_homes.then(|| req.uri().path().to_owned());
                sender.ready().await?;
                let resp = sender.send_request(req).await?;
                let success = resp.status().is_success();
                if let Some(path) = path {
                    let home = resp
                        .headers()
                        .get("creditd-home-node")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.strip_prefix("http://"))
                        .and_then(|v| v.trim_end_matches('/').parse::<std::net::SocketAddr>().ok())
                        .filter(|a| nodes.contains(a));
                    if let Some(home) = home {
                        homes.insert(path, home);
                    }
                }
                resp.into_body().collect().await?;
                if success {
                    ok += 1
                } else {
                    failed += 1
                }
                lat_us.push(t.elapsed().as_micros() as u64);
            }
            Ok::<_, anyhow::Error>((ok, failed, lat_us))
        }));
    }
    let (mut ok, mut failed, mut lat) = (0, 0, Vec::new());
    for t in tasks {
        let (o, f, l) = t.await??;
        ok += o;
        failed += f;
        lat.extend(l);
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct =
        |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0);
    Ok(Load { rate: ok as f64 / secs, ok, failed, p50_us: pct(0.50), p99_us: pct(0.99) })
}
