//! `creditd bench --soak <seconds>`: does memory and disk stay flat?
//!
//! 64 keep-alive HTTP clients (`--clients`) run holds, debits, releases and
//! usage over `--soak-orgs` organisations while a task creates a stream of
//! new orgs (each funded and written once, so the writer's org cache keeps
//! meeting orgs it has never seen). Every `--soak-every` seconds it prints
//! requests per second, p50/p99 latency, the process's RSS, the WAL and
//! database sizes, and the writer's org cache entries; at the end it
//! verifies every org. On a fresh SQLite directory, or on PostgreSQL with
//! `--database-url` (then the WAL is PostgreSQL's: `du` its `pg_wal`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use creditd_sqlite::{SqliteOptions, SqliteStore};
use creditd_store::{Command, Store, SystemClock};

use crate::bench::{BenchArgs, grant};

/// What the clients measured since the last report.
#[derive(Default)]
struct Window {
    ok: u64,
    failed: u64,
    latency_us: Vec<u64>,
}

pub async fn run(args: &BenchArgs, seconds: u64, options: SqliteOptions) -> Result<()> {
    if args.soak_every == 0 || args.soak_orgs == 0 || args.clients == 0 || args.soak_creators == 0 {
        bail!("--soak-every, --soak-orgs, --soak-creators and --clients must be positive");
    }
    let dir = tempfile::tempdir()?;
    let (store, db): (Arc<dyn Store>, Option<std::path::PathBuf>) = match &args.database_url {
        Some(url) => {
            let pg = creditd_postgres::PgStore::open_with_org_cache(url, Arc::new(SystemClock), options.org_cache)
                .await
                .context("opening the PostgreSQL database (--database-url)")?;
            (Arc::new(pg), None)
        }
        None => {
            let store = SqliteStore::open_with_options(dir.path(), Arc::new(SystemClock), options)?;
            let db = store.database_path().to_path_buf();
            (Arc::new(store), Some(db))
        }
    };
    let setup_started = Instant::now();
    let existing: std::collections::HashSet<String> = store.org_ids().await?.into_iter().collect();
    let funding = grant(1_000_000_000);
    // Created and funded 64 at a time: with many orgs one at a time would
    // wait for a commit each.
    let mut setup = tokio::task::JoinSet::new();
    for part in 0..64usize {
        let (store, funding, existing) = (store.clone(), funding.clone(), existing.clone());
        let orgs = args.soak_orgs;
        setup.spawn(async move {
            for i in (part..orgs).step_by(64) {
                let org = format!("soak-{i}");
                if existing.contains(&org) {
                    continue;
                }
                store.create_org(&org, creditd_core::OrgSettings::new(&org, "UTC")).await?;
                creditd_store::execute_one(store.as_ref(), Command::new(&org, funding.clone(), None)).await?;
            }
            Ok::<(), anyhow::Error>(())
        });
    }
    while let Some(r) = setup.join_next().await {
        r.context("a setup task stopped")??;
    }
    println!("set up {} orgs in {:.1} s", args.soak_orgs, setup_started.elapsed().as_secs_f64());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let key = "soak-service-key-0123456789";
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = creditd_server::AppState::new(store.clone(), key);
    let server = tokio::spawn(creditd_server::serve(listener, app, async {
        let _ = stop_rx.await;
    }));
    println!(
        "soak {seconds} s: {} clients over {} orgs, {} new orgs/s, WAL cap {:?} bytes, org cache {}",
        args.clients, args.soak_orgs, args.soak_new_orgs_per_second, options.wal_cap_bytes, options.org_cache
    );
    println!("     s   req/s  failed   p50_us   p99_us   rss_MiB   wal_MiB    db_MiB  org_cache  new_orgs");
    let stop = Arc::new(AtomicBool::new(false));
    let window = Arc::new(std::sync::Mutex::new(Window::default()));
    let mut clients = Vec::new();
    for c in 0..args.clients {
        let (stop, window, orgs) = (stop.clone(), window.clone(), args.soak_orgs);
        clients.push(tokio::spawn(async move { client(addr, key, c, orgs, &stop, &window).await }));
    }
    let new_orgs = Arc::new(AtomicU64::new(0));
    // A fresh prefix per run, so a PostgreSQL database can be soaked again.
    let run_id = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut creators = Vec::new();
    for _ in 0..args.soak_creators {
        let (store, stop, new_orgs) = (store.clone(), stop.clone(), new_orgs.clone());
        let rate = args.soak_new_orgs_per_second as f64 / args.soak_creators as f64;
        creators.push(tokio::spawn(async move {
            if rate <= 0.0 {
                return Ok(());
            }
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let n = new_orgs.fetch_add(1, Ordering::Relaxed);
                let org = format!("new-{run_id}-{n}");
                store.create_org(&org, creditd_core::OrgSettings::new(&org, "UTC")).await?;
                let cmds = vec![
                    Command::new(&org, grant(10), None),
                    Command::new(&org, crate::bench::usage_op(n as usize), None),
                ];
                for r in store.execute(cmds).await {
                    r?;
                }
            }
            Ok::<(), anyhow::Error>(())
        }));
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut last = started;
    while Instant::now() < deadline {
        let next = (last + Duration::from_secs(args.soak_every)).min(deadline);
        tokio::time::sleep_until(next.into()).await;
        let w = std::mem::take(&mut *window.lock().unwrap_or_else(|p| p.into_inner()));
        report(&w, last.elapsed(), started.elapsed(), db.as_deref(), new_orgs.load(Ordering::Relaxed));
        last = next;
    }
    stop.store(true, Ordering::Relaxed);
    let mut failed = 0;
    for c in clients {
        failed += c.await.context("a soak client stopped")??;
    }
    for c in creators {
        c.await.context("an org creator stopped")??;
    }
    // Verified before the server stops: stopping it shuts the store down,
    // and PostgreSQL's pool then refuses every read.
    let orgs = store.org_ids().await?;
    let mut bad = Vec::new();
    for org in &orgs {
        if !store.verify(org).await?.ok {
            bad.push(org.clone());
        }
    }
    let _ = stop_tx.send(());
    server.await??;
    store.shutdown().await;
    if !bad.is_empty() {
        bail!("verify failed after the soak for {} orgs: {bad:?}", bad.len());
    }
    println!("verify ok: {} orgs", orgs.len());
    if failed > 0 {
        bail!("{failed} soak requests failed");
    }
    Ok(())
}

fn report(w: &Window, span: Duration, at: Duration, db: Option<&std::path::Path>, new_orgs: u64) {
    let mut lat = w.latency_us.clone();
    lat.sort_unstable();
    let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied();
    let mib = |b: Option<u64>| b.map_or("-".to_string(), |b| format!("{:.1}", b as f64 / 1048576.0));
    let size = |p: &std::path::Path| std::fs::metadata(p).ok().map(|m| m.len());
    let wal = db.and_then(|db| {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        size(std::path::Path::new(&wal))
    });
    println!(
        "{:>6.0} {:>7.0} {:>7} {:>8} {:>8} {:>9} {:>9} {:>9} {:>10} {:>9}",
        at.as_secs_f64(),
        w.ok as f64 / span.as_secs_f64().max(1e-9),
        w.failed,
        pct(0.50).map_or("-".into(), |v| v.to_string()),
        pct(0.99).map_or("-".into(), |v| v.to_string()),
        mib(rss_bytes()),
        mib(wal),
        mib(db.and_then(size)),
        org_cache_entries().map_or("-".into(), |v| v.to_string()),
        new_orgs,
    );
}

/// Resident memory of this process (Linux; None elsewhere).
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The writer's org cache entries, as `/metrics` shows them.
fn org_cache_entries() -> Option<u64> {
    let text = creditd_server::ops::recorder()?.render();
    let line = text.lines().find(|l| l.starts_with("creditd_org_cache_entries"))?;
    line.rsplit(' ').next()?.parse::<f64>().ok().map(|v| v as u64)
}

/// One keep-alive client: hold, then debit part of it or release it, then a
/// usage, on org `c + n` of `orgs` in turn. Returns its failed requests.
async fn client(
    addr: std::net::SocketAddr,
    key: &str,
    c: usize,
    orgs: usize,
    stop: &AtomicBool,
    window: &std::sync::Mutex<Window>,
) -> Result<u64> {
    use http_body_util::{BodyExt, Full};
    use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    let driver = tokio::spawn(conn);
    let auth = format!("Bearer {key}");
    let mut failed_total = 0;
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let org = format!("soak-{}", (c + n) % orgs);
        n += 1;
        let mut post = async |path: String, body: String| -> Result<Option<serde_json::Value>> {
            let t = Instant::now();
            let req = hyper::Request::builder()
                .method("POST")
                .uri(path)
                .header(HOST, "127.0.0.1")
                .header(AUTHORIZATION, &auth)
                .header(CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(body)))?;
            sender.ready().await?;
            let resp = sender.send_request(req).await?;
            let ok = resp.status().is_success();
            let bytes = resp.into_body().collect().await?.to_bytes();
            let us = t.elapsed().as_micros() as u64;
            let mut w = window.lock().unwrap_or_else(|p| p.into_inner());
            w.latency_us.push(us);
            if ok {
                w.ok += 1;
                Ok(Some(serde_json::from_slice(&bytes)?))
            } else {
                w.failed += 1;
                Ok(None)
            }
        };
        let base = format!("/api/organizations/{org}");
        let hold = post(format!("{base}/holds"), r#"{"amount": "0.01"}"#.into()).await?;
        let id = hold.as_ref().and_then(|h| h["hold"]["id"].as_str().map(str::to_string));
        let mut failed = u64::from(id.is_none());
        if let Some(id) = id {
            let settled = if n.is_multiple_of(2) {
                post(format!("{base}/holds/{id}/debit"), r#"{"amount": "0.004"}"#.into()).await?
            } else {
                post(format!("{base}/holds/{id}/release"), "{}".into()).await?
            };
            failed += u64::from(settled.is_none());
        }
        let body = format!(r#"{{"amount": "0.000001", "service": "Soak", "user_email": "u{c}@example.com"}}"#);
        failed += u64::from(post(format!("{base}/usage"), body).await?.is_none());
        failed_total += failed;
    }
    drop(sender);
    let _ = driver.await;
    Ok(failed_total)
}
