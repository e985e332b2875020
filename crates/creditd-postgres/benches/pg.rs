//! PostgreSQL throughput: the creditd engine (batching writer per node,
//! per-org row locks) against a plain per-operation SQL ledger (lock the
//! balance row, check, update, insert the event, commit: what a
//! general-purpose ledger on PostgreSQL does), in the same run on the same
//! cluster, for one hot org and for 1,000 orgs, with one and two nodes.
//!
//! `cargo bench -p creditd-postgres --bench pg` starts a throwaway durable
//! cluster (fsync on); `CREDITD_BENCH_DATABASE_URL` uses an existing server
//! instead. `CREDITD_BENCH_SECONDS` (default 5) and `CREDITD_BENCH_CLIENTS`
//! (default 64) tune it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use creditd_conformance::pg::{self, Durability, PgCluster};
use creditd_core::{EventCtx, Micros, Op, OrgSettings};
use creditd_postgres::PgStore;
use creditd_store::{Command, Store, SystemClock};

const ORGS_MANY: usize = 1000;

struct Figures {
    ops: u64,
    secs: f64,
    lat_us: Vec<u64>,
}

impl Figures {
    fn line(&mut self, name: &str) -> String {
        self.lat_us.sort_unstable();
        let pct = |p: f64| {
            self.lat_us.get(((self.lat_us.len() as f64 * p) as usize).min(self.lat_us.len().saturating_sub(1))).copied()
        };
        format!(
            "{name:<44} {:>9.0} ops/s   p50 {:>6} us   p99 {:>6} us",
            self.ops as f64 / self.secs,
            pct(0.5).unwrap_or(0),
            pct(0.99).unwrap_or(0)
        )
    }
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

fn org_name(i: usize) -> String {
    format!("org{i:04}")
}

/// Which org client `c` writes on its `n`-th operation.
fn pick_org(orgs: usize, c: usize, n: usize) -> usize {
    if orgs == 1 { 0 } else { (c.wrapping_mul(7919).wrapping_add(n.wrapping_mul(104_729))) % orgs }
}

async fn engine(base_url: &str, nodes: usize, orgs: usize, clients: usize, secs: u64) -> Result<Figures> {
    let db = format!("bench_engine_{nodes}_{orgs}");
    pg::create_database(base_url, &db).await.map_err(anyhow::Error::msg)?;
    let url = pg::with_database(base_url, &db);
    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    for _ in 0..nodes {
        stores.push(Arc::new(PgStore::open(&url, Arc::new(SystemClock)).await?));
    }
    let fund = if orgs == 1 { 1_000_000_000 } else { 1_000_000 };
    let mut setup = Vec::new();
    for o in 0..orgs {
        stores[0].create_org(&org_name(o), OrgSettings::new("Bench", "UTC")).await?;
        setup.push(Command::new(org_name(o), creditd_conformance::grant(&fund.to_string()), None));
    }
    for chunk in setup.chunks(1000) {
        for r in stores[0].execute(chunk.to_vec()).await {
            r.context("funding")?;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let store = stores[c % nodes].clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut n = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                let org = org_name(pick_org(orgs, c, n));
                creditd_store::execute_one(store.as_ref(), Command::new(org, usage_op(n), None)).await?;
                lat.push(t.elapsed().as_micros() as u64);
                n += 1;
            }
            Ok::<_, creditd_store::StoreError>(lat)
        }));
    }
    let mut lat_us = Vec::new();
    for t in tasks {
        lat_us.extend(t.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    let checked = if orgs == 1 { vec![0] } else { (0..orgs).collect() };
    for o in checked {
        let report = stores[(o + 1) % nodes].verify(&org_name(o)).await?;
        if !report.ok {
            bail!("verify failed after the engine run: {:?}", report.problems);
        }
    }
    for s in &stores {
        s.shutdown().await;
    }
    Ok(Figures { ops: lat_us.len() as u64, secs, lat_us })
}

const BASELINE_SCHEMA: &str = "
    CREATE TABLE balances (org_id TEXT PRIMARY KEY, available BIGINT NOT NULL, seq BIGINT NOT NULL);
    CREATE TABLE events (
        org_id TEXT NOT NULL, seq BIGINT NOT NULL, created_at BIGINT NOT NULL, kind TEXT NOT NULL,
        amount BIGINT NOT NULL, service TEXT, activity TEXT, project_id TEXT, user_email TEXT,
        balance_after BIGINT NOT NULL, PRIMARY KEY (org_id, seq));";

/// Per operation: BEGIN; SELECT … FOR UPDATE; check; UPDATE; INSERT; COMMIT,
/// one connection per client.
async fn baseline(base_url: &str, orgs: usize, clients: usize, secs: u64) -> Result<Figures> {
    let db = format!("bench_baseline_{orgs}");
    pg::create_database(base_url, &db).await.map_err(anyhow::Error::msg)?;
    let url = pg::with_database(base_url, &db);
    let connect = || async {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        Ok::<_, tokio_postgres::Error>(client)
    };
    let setup = connect().await?;
    setup.batch_execute(BASELINE_SCHEMA).await?;
    let fund: i64 = if orgs == 1 { 1_000_000_000_000_000 } else { 1_000_000_000_000 };
    let ids: Vec<String> = (0..orgs).map(org_name).collect();
    setup.execute("INSERT INTO balances SELECT unnest($1::text[]), $2, 0", &[&ids, &fund]).await?;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let mut client = connect().await?;
        tasks.push(tokio::spawn(async move {
            let lock = client.prepare("SELECT available, seq FROM balances WHERE org_id = $1 FOR UPDATE").await?;
            let update = client.prepare("UPDATE balances SET available = $2, seq = $3 WHERE org_id = $1").await?;
            let insert = client
                .prepare(
                    "INSERT INTO events (org_id, seq, created_at, kind, amount, service, activity, project_id, \
                     user_email, balance_after) VALUES ($1, $2, $3, 'usage', -1, 'AI Inference', \
                     'Model generation', $4, $5, $6)",
                )
                .await?;
            let mut lat = Vec::new();
            let mut n = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                let org = org_name(pick_org(orgs, c, n));
                let tx = client.transaction().await?;
                let row = tx.query_one(&lock, &[&org]).await?;
                let (available, seq): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
                if available < 1 {
                    tx.rollback().await?;
                    anyhow::bail!("baseline ran out of credits");
                }
                let now = jiff::Timestamp::now().as_microsecond();
                tx.execute(&update, &[&org, &(available - 1), &(seq + 1)]).await?;
                tx.execute(
                    &insert,
                    &[
                        &org,
                        &(seq + 1),
                        &now,
                        &format!("case-{}", n % 50),
                        &format!("user{}@example.com", n % 20),
                        &(available - 1),
                    ],
                )
                .await?;
                tx.commit().await?;
                lat.push(t.elapsed().as_micros() as u64);
                n += 1;
            }
            Ok(lat)
        }));
    }
    let mut lat_us = Vec::new();
    for t in tasks {
        lat_us.extend(t.await??);
    }
    Ok(Figures { ops: lat_us.len() as u64, secs: started.elapsed().as_secs_f64(), lat_us })
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then
    // only check that this builds.
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    let secs = env_num("CREDITD_BENCH_SECONDS", 5);
    let clients = env_num("CREDITD_BENCH_CLIENTS", 64) as usize;
    let (_cluster, base) = match std::env::var("CREDITD_BENCH_DATABASE_URL") {
        Ok(url) => (None, url),
        Err(_) => {
            if !pg::binaries_available() {
                println!("{}", pg::skip_message());
                return Ok(());
            }
            let c = PgCluster::start(Durability::Durable).map_err(anyhow::Error::msg)?;
            let url = c.url("postgres");
            (Some(c), url)
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        println!(
            "creditd PostgreSQL bench: {clients} concurrent clients, single-operation calls (usage), {secs} s each, \
             durable commits (fsync on), {} cores",
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        );
        for orgs in [1, ORGS_MANY] {
            let what = if orgs == 1 { "1 hot org" } else { "1,000 orgs" };
            let mut base_fig = baseline(&base, orgs, clients, secs).await?;
            println!("{}", base_fig.line(&format!("baseline per-op SQL, {what}")));
            for nodes in [1, 2] {
                let mut f = engine(&base, nodes, orgs, clients, secs).await?;
                let ratio = (f.ops as f64 / f.secs) / (base_fig.ops as f64 / base_fig.secs);
                println!("{}   ({ratio:.1}x baseline)", f.line(&format!("engine, {nodes} node(s), {what}")));
            }
        }
        Ok::<_, anyhow::Error>(())
    })
}
