//! `creditd bench`: ledger throughput measured on the real paths, each next
//! to a baseline run in the same process minutes apart at most, so figures
//! are read as ratios on a noisy shared machine.
//!
//! 1. Engine: commands in batches through the SQLite engine (durable group
//!    commit) vs. a plain per-operation SQL ledger (check balance, update the
//!    balance row, insert the event) in 1,000-operation transactions.
//! 2. HTTP: single-operation requests from concurrent keep-alive clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use creditd_core::{CreditKind, CreditOp, EventCtx, Micros, Op, OrgSettings};
use creditd_sqlite::SqliteStore;
use creditd_store::{Command, Store, SystemClock};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Operations for the engine benchmark.
    #[arg(long, default_value_t = 200_000)]
    ops: usize,
    /// Commands per execute() call in the engine benchmark.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Concurrent submitters in the engine benchmark.
    #[arg(long, default_value_t = 4)]
    submitters: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// How long the HTTP benchmark runs.
    #[arg(long, default_value_t = 5)]
    http_seconds: u64,
    /// Skip the HTTP part.
    #[arg(long)]
    skip_http: bool,
}

fn usage_op(i: usize) -> Op {
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

fn grant(credits: i64) -> Op {
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

async fn fresh_store(dir: &std::path::Path) -> Result<Arc<SqliteStore>> {
    let store = Arc::new(SqliteStore::open(dir, Arc::new(SystemClock))?);
    store.create_org("bench", OrgSettings::new("Bench", "UTC")).await?;
    let r = creditd_store::execute_one(store.as_ref(), Command::new("bench", grant(1_000_000_000), None)).await;
    r.context("funding the bench org")?;
    Ok(store)
}

pub async fn run(args: BenchArgs) -> Result<()> {
    if args.batch == 0 || args.ops == 0 || args.submitters == 0 {
        bail!("--ops, --batch and --submitters must be positive");
    }
    println!("creditd bench (release build recommended): {args:?}");
    let engine = engine(&args).await?;
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
    if !args.skip_http {
        http(&args).await?;
    }
    Ok(())
}

/// Operations per second of wall clock, and per second of CPU time of the
/// thread that writes (None where /proc cannot tell).
struct Rate {
    wall: f64,
    per_cpu_second: Option<f64>,
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

async fn engine(args: &BenchArgs) -> Result<Rate> {
    let dir = tempfile::tempdir()?;
    let store = fresh_store(dir.path()).await?;
    let per_task = args.ops / args.submitters;
    // The write path is two threads (apply, commit): their CPU time together.
    let threads: Vec<String> = ["creditd-writer", "creditd-commit"].iter().filter_map(|n| thread_named(n)).collect();
    let cpu_of = |threads: &[String]| threads.iter().map(|t| thread_cpu_seconds(t)).sum::<Option<f64>>();
    let cpu_before = cpu_of(&threads);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..args.submitters {
        let store = store.clone();
        let batch = args.batch;
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            while done < per_task {
                let n = batch.min(per_task - done);
                let cmds = (0..n).map(|i| Command::new("bench", usage_op(t * per_task + done + i), None)).collect();
                for r in store.execute(cmds).await {
                    r?;
                }
                done += n;
            }
            Ok::<usize, creditd_store::StoreError>(done)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = match (cpu_before, cpu_of(&threads)) {
        (Some(a), Some(b)) if b > a => Some(b - a),
        _ => None,
    };
    let report = store.verify("bench").await?;
    if !report.ok {
        bail!("verify failed after the engine benchmark: {:?}", report.problems);
    }
    store.shutdown().await;
    Ok(Rate { wall: total as f64 / secs, per_cpu_second: cpu.map(|c| total as f64 / c) })
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
    Ok(Rate { wall, per_cpu_second })
}

async fn http(args: &BenchArgs) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn Store> = fresh_store(dir.path()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let key = "bench-service-key-0123456789";
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = creditd_server::AppState::new(store.clone(), key);
    let server = tokio::spawn(creditd_server::serve(listener, app, async {
        let _ = stop_rx.await;
    }));
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.clients).build()?;
    let url = format!("http://{addr}/api/organizations/bench/usage");
    let deadline = Instant::now() + Duration::from_secs(args.http_seconds);
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let (client, url, ok, failed) = (client.clone(), url.clone(), ok.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat_us = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .bearer_auth(key)
                    .header("content-type", "application/json")
                    .body(format!(
                        r#"{{"amount": "0.000001", "service": "AI Inference", "user_email": "u{c}@example.com"}}"#
                    ))
                    .send()
                    .await;
                match r {
                    Ok(resp) if resp.status().is_success() => {
                        let _ = resp.bytes().await;
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                lat_us.push(t.elapsed().as_micros() as u64);
            }
            lat_us
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await?);
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct =
        |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0);
    let ok = ok.load(Ordering::Relaxed);
    println!(
        "http    {} clients, single-op POST /usage: {:>10.0} req/s ok ({} failed), latency p50 {} us, p99 {} us",
        args.clients,
        ok as f64 / secs,
        failed.load(Ordering::Relaxed),
        pct(0.50),
        pct(0.99)
    );
    let report = store.verify("bench").await?;
    let _ = stop_tx.send(());
    server.await??;
    if !report.ok {
        bail!("verify failed after the HTTP benchmark: {:?}", report.problems);
    }
    Ok(())
}
