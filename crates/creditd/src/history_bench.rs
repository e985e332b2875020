//! `creditd bench-history`: the credit history at scale, on a data directory
//! filled by `creditd gen`.
//!
//! 1. Pages: for each filter, the first page and pages at random depths by
//!    cursor (what page 10,000 costs), p50/p99 through `Store::events`, plus
//!    offset pages to show why deep pages use the cursor.
//! 2. Exports: `creditd export` run as a child process (so its peak memory,
//!    VmHWM, is its own) to CSV and to XLSX: rows/s and peak memory.
//! 3. Write cost of the history indexes: engine ops/s on a fresh store with
//!    and without them, alternated, in this process.
//! 4. Dashboard pages (`--dashboard`): every tab and range as the owner
//!    opens them, over HTTP on loopback from this process: p50/p99 per page
//!    with the load average beside them.

use std::path::PathBuf;
use std::process::Command as Process;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use creditd_core::{CreditKind, CreditOp, EventCtx, Micros, Op, OrgSettings};
use creditd_server::extract::QueryPairs;
use creditd_server::history::{org_zone, parse_page};
use creditd_sqlite::SqliteStore;
use creditd_store::query::{PageStart, encode_cursor};
use creditd_store::{Command, Store, SystemClock};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::bench::load_average;
use crate::export::open_existing;
use crate::generate::{project, user};

#[derive(clap::Args, Debug)]
pub struct HistoryBenchArgs {
    /// A data directory filled by `creditd gen`.
    #[arg(long, default_value = "./creditd-bench-data")]
    data_dir: PathBuf,
    #[arg(long, default_value = "big")]
    org: String,
    /// Pages timed per filter and depth.
    #[arg(long, default_value_t = 200)]
    pages: usize,
    /// Skip the CSV and XLSX exports.
    #[arg(long)]
    skip_export: bool,
    /// Skip the XLSX export only (the slowest part).
    #[arg(long)]
    skip_xlsx: bool,
    /// Operations per run of the index write-cost comparison (0: skip it).
    #[arg(long, default_value_t = 200_000)]
    write_ops: usize,
    /// Also time every dashboard page (adds an owner member to the org).
    #[arg(long)]
    dashboard: bool,
    /// Only the dashboard pages (implies --dashboard).
    #[arg(long)]
    dashboard_only: bool,
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    sorted.get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1))).copied().unwrap_or(0)
}

fn pairs(q: &str) -> QueryPairs {
    QueryPairs(form_pairs(q))
}

fn form_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.replace("%20", " "))
        })
        .collect()
}

pub async fn run(args: HistoryBenchArgs) -> Result<()> {
    println!("creditd bench-history (release build): {args:?}");
    let store = open_existing(&args.data_dir)?;
    if args.dashboard_only {
        // The server's shutdown shuts the store down too.
        return dashboard(store, &args).await;
    }
    let pages = pages(&store, &args).await;
    let past = if pages.is_ok() { past(&store, &args).await } else { Ok(()) };
    if pages.is_ok() && past.is_ok() && args.dashboard {
        dashboard(store.clone(), &args).await?;
    } else {
        store.shutdown().await;
    }
    drop(store);
    pages?;
    past?;
    if !args.skip_export {
        exports(&args)?;
    }
    if args.write_ops > 0 {
        write_cost(args.write_ops).await?;
    }
    Ok(())
}

async fn pages(store: &Arc<SqliteStore>, args: &HistoryBenchArgs) -> Result<()> {
    let info = store.org(&args.org).await.with_context(|| format!("the org {} (run creditd gen first)", args.org))?;
    let tz = org_zone(&info.settings.time_zone);
    let total = store.balance(&args.org).await?.seq;
    // Date presets are read as of the newest event, so they select data
    // however long ago the history was generated.
    let newest = store.events(&args.org, &creditd_store::EventQuery::default()).await?;
    let now = newest.events.first().map_or_else(|| store.now(), |e| e.created_at);
    println!("org {}: {total} events, zone {}, newest event at {now}", args.org, info.settings.time_zone);
    let (_, heavy_user) = user(3);
    let busy_project = project(5);
    let quiet_project = project(1500);
    let cases: Vec<(String, String)> = vec![
        ("no filter".into(), String::new()),
        ("event_type=usage".into(), "event_type=usage".into()),
        ("event_type=reservation,debit,release".into(), "event_type=reservation,debit,release".into()),
        ("event_type=voucher (rare)".into(), "event_type=voucher".into()),
        ("pool=voucher (balance type)".into(), "pool=voucher".into()),
        (format!("project_id={busy_project}"), format!("project_id={busy_project}")),
        (format!("project_id={quiet_project} (rare)"), format!("project_id={quiet_project}")),
        (format!("user_email={heavy_user}"), format!("user_email={heavy_user}")),
        ("status=failed (rare)".into(), "status=failed".into()),
        ("pool=prepaid".into(), "pool=prepaid".into()),
        ("service=Scraping".into(), "service=Scraping".into()),
        ("range=last_month".into(), "range=last_month".into()),
        ("date range, 3 days".into(), {
            let d = creditd_store::range::local_date(now, &tz);
            let from = d.checked_sub(jiff::ToSpan::days(100))?;
            let to = d.checked_sub(jiff::ToSpan::days(98))?;
            format!("date_from={from}&date_to={to}")
        }),
        (
            format!("usage + project {busy_project} + last_28_days"),
            format!("event_type=usage&project_id={busy_project}&range=last_28_days"),
        ),
        (
            "Scraping + usage,hold + user".into(),
            format!("service=Scraping&event_type=usage,hold&user_email={heavy_user}"),
        ),
    ];
    let mut rng = StdRng::seed_from_u64(1);
    println!(
        "{:<52} {:>10} {:>10} {:>12} {:>12} {:>6}",
        "history page (limit 100)", "first p50", "first p99", "deep p50", "deep p99", "rows"
    );
    let mut worst_p99 = 0;
    for (name, q) in &cases {
        let q = if q.is_empty() { "limit=100".to_string() } else { format!("limit=100&{q}") };
        let first = parse_page(&pairs(&q), &tz, now).map_err(|e| anyhow::anyhow!("{name}: {}", e.message))?;
        let mut firsts = Vec::with_capacity(args.pages);
        let mut rows = 0;
        for _ in 0..args.pages {
            let t = Instant::now();
            let page = store.events(&args.org, &first).await?;
            firsts.push(t.elapsed().as_micros() as u64);
            rows = page.events.len();
        }
        let mut deeps = Vec::with_capacity(args.pages);
        for _ in 0..args.pages {
            let mut deep = first.clone();
            // Anywhere in the history, the bottom 1% included.
            let before = rng.random_range(1..=total.max(1));
            deep.start = PageStart::Before(before);
            let t = Instant::now();
            store.events(&args.org, &deep).await?;
            deeps.push(t.elapsed().as_micros() as u64);
        }
        firsts.sort_unstable();
        deeps.sort_unstable();
        worst_p99 = worst_p99.max(pct(&firsts, 0.99)).max(pct(&deeps, 0.99));
        println!(
            "{:<52} {:>7} us {:>7} us {:>9} us {:>9} us {:>6}",
            name,
            pct(&firsts, 0.5),
            pct(&firsts, 0.99),
            pct(&deeps, 0.5),
            pct(&deeps, 0.99),
            rows
        );
    }
    println!("worst p99 over all filters and depths: {:.2} ms (target < 5 ms)", worst_p99 as f64 / 1000.0);
    // Offset pages cost what they skip; the cursor does not.
    for offset in [0u64, 10_000, 100_000, 1_000_000] {
        if offset > total {
            break;
        }
        let mut q = parse_page(&pairs(&format!("limit=100&offset={offset}")), &tz, now)
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        let mut t_us = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            store.events(&args.org, &q).await?;
            t_us.push(t.elapsed().as_micros() as u64);
        }
        t_us.sort_unstable();
        let at = total.saturating_sub(offset);
        q.start = PageStart::Before(at + 1);
        let t = Instant::now();
        store.events(&args.org, &q).await?;
        let cursor_us = t.elapsed().as_micros();
        println!(
            "offset={offset:<9} median {:>9} us   the same page by cursor ({}): {:>6} us",
            pct(&t_us, 0.5),
            encode_cursor(at + 1),
            cursor_us
        );
    }
    Ok(())
}

/// The past read back (`creditd_store::history_at`): the balance as of
/// random instants across the whole history, with its open holds, and
/// statements of random months and of the whole last year.
async fn past(store: &Arc<SqliteStore>, args: &HistoryBenchArgs) -> Result<()> {
    let org = &args.org;
    let info = store.org(org).await?;
    let tz = org_zone(&info.settings.time_zone);
    let newest = store.events(org, &creditd_store::EventQuery::default()).await?;
    let Some(newest_at) = newest.events.first().map(|e| e.created_at) else { return Ok(()) };
    // `creditd gen` may write past the clock; a balance is asked for up to now.
    let last = newest_at.min(store.now());
    let first = info.created_at;
    let span_us = (last.as_microsecond() - first.as_microsecond()).max(1);
    let mut rng = StdRng::seed_from_u64(2);
    let mut t_us = Vec::with_capacity(args.pages);
    let mut holds = 0u64;
    for _ in 0..args.pages {
        let at = jiff::Timestamp::from_microsecond(first.as_microsecond() + rng.random_range(0..=span_us))?;
        let t = Instant::now();
        let b = creditd_store::history_at::balance_at(store.as_ref(), org, at).await?;
        t_us.push(t.elapsed().as_micros() as u64);
        holds = holds.max(b.open_hold_count.unwrap_or(b.open_holds.len() as u64));
    }
    t_us.sort_unstable();
    println!(
        "balance as of a random instant ({} tries): p50 {} us, p99 {} us, max {} us; most holds open at once (counted up to 100) {holds}",
        args.pages,
        pct(&t_us, 0.5),
        pct(&t_us, 0.99),
        t_us.last().copied().unwrap_or(0)
    );
    let last_day = creditd_store::range::local_date(newest_at, &tz);
    let first_day = creditd_store::range::local_date(first, &tz);
    let months = (first_day.until(last_day)?.get_days() / 31).max(1);
    let mut t_us = Vec::new();
    for _ in 0..args.pages.min(50) {
        let back = rng.random_range(0..months);
        let d = last_day.checked_sub(jiff::ToSpan::days(i64::from(back) * 31))?.first_of_month();
        let t = Instant::now();
        let s = creditd_store::history_at::statement(store.as_ref(), org, d, d.last_of_month()).await?;
        t_us.push(t.elapsed().as_micros() as u64);
        if s.difference() != Some(Micros::ZERO) {
            bail!("the statement of {d} does not add up: {s:?}");
        }
    }
    t_us.sort_unstable();
    println!(
        "statement of a random month ({} tries): p50 {} us, p99 {} us",
        t_us.len(),
        pct(&t_us, 0.5),
        pct(&t_us, 0.99)
    );
    let year_from = last_day.checked_sub(jiff::ToSpan::days(365))?;
    let t = Instant::now();
    let s = creditd_store::history_at::statement(store.as_ref(), org, year_from, last_day).await?;
    println!(
        "statement of the last 366 days: {} us, {} lines, adds up: {}",
        t.elapsed().as_micros(),
        s.credits_in.len() + s.credits_out.len(),
        s.difference() == Some(Micros::ZERO)
    );
    Ok(())
}

/// Every dashboard page the owner opens, served by the real router on
/// loopback (`creditd_server::serve`) and timed from the request to the
/// last byte of the body: p50 and p99 per page (target < 50 ms), the
/// one-minute load average beside each. Ranges are the presets (as of
/// today) and the same ranges around the newest event, so a history
/// generated in the past is still read.
async fn dashboard(store: Arc<SqliteStore>, args: &HistoryBenchArgs) -> Result<()> {
    use creditd_store::directory::{DirectoryError, Member, Role};
    let org = &args.org;
    let email = "bench-owner@creditd.invalid";
    let owner = Member {
        org_id: org.clone(),
        email: email.into(),
        name: "Bench Owner".into(),
        role: Role::Owner,
        created_at: store.now(),
    };
    match store.directory().add_member(owner).await {
        Ok(_) | Err(DirectoryError::Exists(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let ttl = jiff::SignedDuration::from_mins(15);
    let token = creditd_server::auth::issue_login_link(store.directory(), org, email, store.now(), ttl).await?;
    let info = store.org(org).await?;
    let tz = org_zone(&info.settings.time_zone);
    let newest = store.events(org, &creditd_store::EventQuery::default()).await?;
    let newest_day =
        creditd_store::range::local_date(newest.events.first().map_or_else(|| store.now(), |e| e.created_at), &tz);
    let month = newest_day.first_of_month();
    let week = newest_day.checked_sub(jiff::ToSpan::days(6))?;
    let store_dyn: Arc<dyn Store> = store.clone();
    let app = creditd_server::AppState::new(store_dyn, creditd_server::random_token(32));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(creditd_server::serve(listener, app, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let r = client.get(format!("{base}/login/{token}")).send().await?;
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("signing in gave no session cookie")?
        .to_string();
    let pages: Vec<String> = vec![
        "/".into(),
        "/credits".into(),
        "/credits?range=today".into(),
        format!("/credits?range=daily&day={newest_day}"),
        "/credits?range=last_month".into(),
        "/credits?range=last_28_days".into(),
        format!("/credits?date_from={newest_day}&date_to={newest_day}"),
        format!("/credits?date_from={week}&date_to={newest_day}"),
        format!("/credits?date_from={month}&date_to={}", month.last_of_month()),
        "/conversations".into(),
        format!("/conversations?range=daily&day={newest_day}"),
        format!("/conversations?date_from={month}&date_to={}", month.last_of_month()),
        "/history".into(),
        "/history?event_type=usage&size=100".into(),
        format!("/history?date_from={week}&date_to={newest_day}"),
        "/statement".into(),
        format!("/statement?range=daily&day={newest_day}"),
        format!("/statement?date_from={month}&date_to={}", month.last_of_month()),
    ];
    let runs = args.pages.clamp(5, 100);
    println!("dashboard pages as the owner, {runs} requests each (after 2 to warm up), target < 50 ms:");
    println!("{:<64} {:>9} {:>9} {:>9} {:>6}", "page", "p50 ms", "p99 ms", "bytes", "load");
    let mut worst = 0u64;
    let mut failed = None;
    for page in &pages {
        let mut t_us = Vec::with_capacity(runs);
        let mut bytes = 0;
        for i in 0..runs + 2 {
            let t = Instant::now();
            let r = client.get(format!("{base}{page}")).header("cookie", &cookie).send().await?;
            let status = r.status();
            let body = r.bytes().await?;
            let us = t.elapsed().as_micros() as u64;
            if !status.is_success() {
                failed = Some(format!("{page}: {status}: {}", String::from_utf8_lossy(&body[..body.len().min(300)])));
                break;
            }
            bytes = body.len();
            if i >= 2 {
                t_us.push(us);
            }
        }
        if failed.is_some() {
            break;
        }
        t_us.sort_unstable();
        worst = worst.max(pct(&t_us, 0.99));
        println!(
            "{:<64} {:>9.2} {:>9.2} {:>9} {:>6}",
            page,
            pct(&t_us, 0.5) as f64 / 1000.0,
            pct(&t_us, 0.99) as f64 / 1000.0,
            bytes,
            load_average()
        );
    }
    let _ = stop.send(());
    server.await??;
    if let Some(f) = failed {
        bail!("a dashboard page failed: {f}");
    }
    println!("worst dashboard p99: {:.2} ms (target < 50 ms)", worst as f64 / 1000.0);
    Ok(())
}

/// Runs `creditd export` as a child and reads its `--stats` line.
fn export_child(
    args: &HistoryBenchArgs,
    format: &str,
    layout: &str,
    output: &str,
    baseline: bool,
) -> Result<serde_json::Value> {
    let exe = std::env::current_exe()?;
    let mut cmd = Process::new(exe);
    cmd.args(["export", "--org", &args.org, "--format", format, "--layout", layout, "--output", output, "--stats"])
        .arg("--data-dir")
        .arg(&args.data_dir);
    if baseline {
        cmd.arg("--baseline");
    }
    let out = cmd.output().context("running creditd export")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("creditd export failed: {stderr}");
    }
    let line = stderr.lines().rev().find(|l| l.starts_with('{')).context("no --stats line from creditd export")?;
    Ok(serde_json::from_str(line)?)
}

/// Each export timed twice in a row: the export path (CSV formatted on a
/// thread per core, `Store::export_formatted`; Excel read on one thread and
/// written on another) and, as the baseline, the path before it: rows
/// borrowed from SQLite into the writer on one thread (`--baseline`). The
/// machine may be shared, so the ratio is the figure to compare across runs.
fn exports(args: &HistoryBenchArgs) -> Result<()> {
    let dir = tempfile::tempdir_in(&args.data_dir)?;
    let mut runs = vec![("csv", "report"), ("csv", "full")];
    if !args.skip_xlsx {
        runs.push(("xlsx", "report"));
    }
    for (format, layout) in runs {
        let path = dir.path().join(format!("export.{format}"));
        let mut rates = [0.0; 2];
        for (i, baseline) in [false, true].into_iter().enumerate() {
            let load = load_average();
            let s = export_child(args, format, layout, &path.to_string_lossy(), baseline)?;
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            rates[i] = s["rows_per_s"].as_f64().unwrap_or(0.0);
            println!(
                "export {format:<4} {layout:<6} {:<13}: {:>10} rows in {:>6.1} s = {:>9.0} rows/s, peak memory {:>6.1} MiB, \
                 file {:.0} MiB, load {load}",
                if baseline { "(one thread)" } else { "" },
                s["rows"].as_u64().unwrap_or(0),
                s["seconds"].as_f64().unwrap_or(0.0),
                rates[i],
                s["peak_rss_kib"].as_u64().unwrap_or(0) as f64 / 1024.0,
                size as f64 / (1024.0 * 1024.0)
            );
            let _ = std::fs::remove_file(&path);
        }
        println!("export {format:<4} {layout:<6}: {:.2}x the one-thread baseline", rates[0] / rates[1].max(1e-9));
    }
    Ok(())
}

/// The indexes `creditd_store::sql` walks, by name.
const HISTORY_INDEXES: [&str; 5] =
    ["events_kind", "events_project", "events_user", "events_unsettled", "events_pool_paid"];

/// Engine ops/s on a fresh store, with the history indexes or without.
async fn engine_ops(ops: usize, with_indexes: bool) -> Result<f64> {
    let dir = tempfile::tempdir()?;
    if !with_indexes {
        // Create the schema, then drop the indexes; migrations do not come back.
        SqliteStore::open(dir.path(), Arc::new(SystemClock))?.shutdown().await;
        let c = rusqlite::Connection::open(dir.path().join("creditd.sqlite"))?;
        for i in HISTORY_INDEXES {
            c.execute_batch(&format!("DROP INDEX IF EXISTS {i}"))?;
        }
    }
    let store = Arc::new(SqliteStore::open(dir.path(), Arc::new(SystemClock))?);
    store.create_org("w", OrgSettings::new("W", "UTC")).await?;
    let grant = Op::Credit(CreditOp {
        kind: CreditKind::Grant,
        amount: Micros::from_micros(1_000_000_000_000_000),
        pool: None,
        expires_at: None,
        code: None,
        status: None,
        ctx: EventCtx::default(),
    });
    store.execute(vec![Command::new("w", grant, None)]).await.pop().context("no answer")??;
    let started = Instant::now();
    let mut tasks = Vec::new();
    let per_task = ops / 4;
    for t in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            while done < per_task {
                let n = 1000.min(per_task - done);
                let cmds = (0..n)
                    .map(|i| {
                        let k = t * per_task + done + i;
                        let op = Op::Usage {
                            amount: Micros::from_micros(1),
                            ctx: EventCtx {
                                service: Some("AI Inference".into()),
                                activity: Some("Model generation".into()),
                                project_id: Some(format!("case-{}", k % 50)),
                                user_email: Some(format!("user{}@example.com", k % 20)),
                                ..EventCtx::default()
                            },
                        };
                        Command::new("w", op, None)
                    })
                    .collect();
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
    store.shutdown().await;
    Ok(total as f64 / secs)
}

async fn write_cost(ops: usize) -> Result<()> {
    let mut with = Vec::new();
    let mut without = Vec::new();
    for _ in 0..2 {
        without.push(engine_ops(ops, false).await?);
        with.push(engine_ops(ops, true).await?);
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let (a, b) = (best(&without), best(&with));
    println!(
        "write cost of the history indexes: engine {a:.0} ops/s without, {b:.0} ops/s with ({:+.1}%), best of 2 each, \
         {ops} usage ops with project and user",
        (b / a - 1.0) * 100.0
    );
    Ok(())
}
