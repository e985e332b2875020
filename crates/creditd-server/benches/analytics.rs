//! Usage analytics at scale: a month of 10M events, answered from the
//! rollups.
//!
//! `cargo bench -p creditd-server --bench analytics -- [EVENTS] [SHAPE] [--write-events]`
//! (or `CREDITD_BENCH_EVENTS`; default 10,000,000; SHAPE `team` (default):
//! 40 users on 6 of 120 projects each, or `wide`: 200 users on any of 2,000
//! projects, the worst case for the per-user rows).
//!
//! 1. Builds the rollups of EVENTS usage events spread evenly over March
//!    2026 in Europe/Madrid. By default it folds them exactly as a write
//!    batch does (`Rollups::add_facts`, 4,096 events a batch) and upserts
//!    each batch's deltas with the engine's own statement
//!    (`rollup::SQLITE_UPSERT`) into the engine's database: the rows 10M
//!    events leave, without the gigabytes of the events themselves. With
//!    `--write-events` it writes the events through the real engine
//!    (`Store::execute`, durable commits) and prints writes/s.
//! 2. Times "last month" (the whole of March) answers 1,000 times per
//!    grouping, three ways: the store's rollup read, the API's report
//!    function (`analytics::usage_report`: every day filled in, totals),
//!    and `GET /api/organizations/{id}/usage` over loopback HTTP; prints
//!    p50, p99 and max. Also a member's own usage (the per-user rows).
//!
//! Plain `std::time`; the numbers are for the target (< 10 ms p99), not
//! for statistics. The data directory is a temporary one, removed at the
//! end (`CREDITD_BENCH_DIR` chooses where; default /var/tmp).

use std::sync::Arc;
use std::time::{Duration, Instant};

use creditd_core::{CreditKind, CreditOp, EventCtx, EventKind, Micros, Op, OrgSettings};
use creditd_server::AppState;
use creditd_server::analytics::{self, DayRange};
use creditd_sqlite::SqliteStore;
use creditd_store::range::RangePreset;
use creditd_store::rollup::{Rollups, SQLITE_UPSERT, UsageFacts, UsageGroup, UsageQuery};
use creditd_store::{Command, ManualClock, Store};
use jiff::SignedDuration;
use jiff::civil::Date;
use jiff::tz::TimeZone;

const ORG: &str = "big";
const ZONE: &str = "Europe/Madrid";
const KEY: &str = "bench-service-key-0123456789";
const BATCH: usize = 4096;
const RUNS: usize = 1000;

const SERVICES: &[(&str, &[&str])] = &[
    ("AI Inference", &["Model generation", "Image upscale"]),
    ("Scraping", &["Scrape company", "Scrape contacts"]),
    ("Enrichment", &["Enrich contact email", "Enrich phone number"]),
    ("AI Variables", &["AI completion"]),
    ("Workflows", &["Run workflow"]),
    ("GPU Container", &["GPU hour"]),
    ("Model Fine-tuning", &["Fine-tune job"]),
];

struct Shape {
    users: usize,
    projects: usize,
    /// Projects each user works on (0: any).
    per_user: usize,
}

/// A small deterministic generator (xorshift), to keep the bench free of
/// dependencies and the same run to run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn op(rng: &mut Rng, shape: &Shape) -> Op {
    let user = rng.below(shape.users);
    let project = if shape.per_user == 0 {
        rng.below(shape.projects)
    } else {
        (user * 7 + rng.below(shape.per_user) * 13) % shape.projects
    };
    let (service, activities) = SERVICES[rng.below(SERVICES.len())];
    let activity = activities[rng.below(activities.len())];
    Op::Usage {
        amount: Micros::from_micros(1_000_000 + (rng.below(40) as i64) * 250_000),
        ctx: EventCtx {
            source: Some("bench".into()),
            service: Some(service.into()),
            activity: Some(activity.into()),
            project_id: Some(format!("case-{project:05}")),
            project_name: Some(format!("Project {project}")),
            user_name: Some(format!("User {user}")),
            user_email: Some(format!("user{user}@big.example")),
            description: None,
            metadata: None,
        },
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn report(what: &str, mut times: Vec<Duration>) -> Duration {
    times.sort();
    let (p50, p99, max) = (pct(&times, 0.50), pct(&times, 0.99), *times.last().unwrap());
    println!(
        "  {what:<44} p50 {:>7.3} ms   p99 {:>7.3} ms   max {:>7.3} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    p99
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let events: u64 = args
        .first()
        .and_then(|a| a.parse().ok())
        .or_else(|| std::env::var("CREDITD_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()))
        .unwrap_or(10_000_000);
    let wide = args.get(1).is_some_and(|a| a == "wide");
    let shape = if wide {
        Shape { users: 200, projects: 2000, per_user: 0 }
    } else {
        Shape { users: 40, projects: 120, per_user: 6 }
    };
    let dir = tempfile::tempdir_in(std::env::var("CREDITD_BENCH_DIR").unwrap_or_else(|_| "/var/tmp".into())).unwrap();
    let tz = TimeZone::get(ZONE).unwrap();
    let (first, last) = (Date::new(2026, 3, 1).unwrap(), Date::new(2026, 3, 31).unwrap());
    let start = first.to_zoned(tz.clone()).unwrap().timestamp();
    let end = Date::new(2026, 4, 1).unwrap().to_zoned(tz.clone()).unwrap().timestamp();
    let write_events = std::env::args().any(|a| a == "--write-events");
    println!(
        "analytics bench: {events} usage events in March 2026 ({ZONE}), {} users, {} projects{}, batches of {BATCH}",
        shape.users,
        shape.projects,
        if shape.per_user > 0 { format!(" ({} per user)", shape.per_user) } else { " (any)".into() }
    );
    let clock = Arc::new(ManualClock::new(start));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let batches = events.div_ceil(BATCH as u64);
    let step = SignedDuration::from_micros((end.as_microsecond() - start.as_microsecond()) / batches as i64);
    let t0 = Instant::now();
    let mut written = 0u64;
    let mut now = start;
    let store = if write_events {
        // 1a. The events themselves, through the engine.
        let store = Arc::new(SqliteStore::open(dir.path(), clock.clone()).unwrap());
        store.create_org(ORG, OrgSettings::new("Big Org", ZONE)).await.unwrap();
        let grant = Op::Credit(CreditOp {
            kind: CreditKind::Grant,
            amount: Micros::from_credits(events as i64 * 12 + 1000).unwrap(),
            pool: None,
            expires_at: None,
            code: None,
            status: None,
            ctx: EventCtx::default(),
        });
        creditd_store::execute_one(store.as_ref(), Command::new(ORG, grant, None)).await.unwrap();
        let t0 = Instant::now();
        for b in 0..batches {
            clock.set(now);
            let n = (events - written).min(BATCH as u64) as usize;
            let commands: Vec<Command> = (0..n).map(|_| Command::new(ORG, op(&mut rng, &shape), None)).collect();
            for r in store.execute(commands).await {
                r.unwrap();
            }
            written += n as u64;
            now = now.checked_add(step).unwrap();
            if b % 200 == 199 {
                eprintln!("  … {written} events, {:.0} events/s", written as f64 / t0.elapsed().as_secs_f64());
            }
        }
        let secs = t0.elapsed().as_secs_f64();
        println!("write: {written} events in {secs:.1} s = {:.0} events/s (rollups included)", written as f64 / secs);
        store
    } else {
        // 1b. Only their rollups: each batch folded as the writer folds it
        // and upserted with the engine's statement.
        let store = SqliteStore::open(dir.path(), clock.clone()).unwrap();
        store.create_org(ORG, OrgSettings::new("Big Org", ZONE)).await.unwrap();
        store.shutdown().await;
        drop(store);
        let mut conn = rusqlite::Connection::open(dir.path().join("creditd.sqlite")).unwrap();
        let mut seq = 1u64;
        let mut rows = 0usize;
        for _ in 0..batches {
            let n = (events - written).min(BATCH as u64) as usize;
            let mut rollups = Rollups::new();
            for _ in 0..n {
                let Op::Usage { amount, ctx } = op(&mut rng, &shape) else { unreachable!() };
                let facts = UsageFacts {
                    org_id: ORG,
                    seq,
                    created_at: now,
                    kind: EventKind::Usage,
                    status: creditd_core::Status::Succeeded,
                    amount: Micros::from_micros(-amount.micros()),
                    service: ctx.service.as_deref(),
                    activity: ctx.activity.as_deref(),
                    project_id: ctx.project_id.as_deref(),
                    project_name: ctx.project_name.as_deref(),
                    user_name: ctx.user_name.as_deref(),
                    user_email: ctx.user_email.as_deref(),
                    pricing: None,
                };
                rollups.add_facts(&facts, &tz);
                seq += 1;
            }
            rollups.check().unwrap();
            let tx = conn.transaction().unwrap();
            {
                let mut up = tx.prepare_cached(SQLITE_UPSERT).unwrap();
                for d in rollups.deltas() {
                    up.execute(rusqlite::params![
                        d.at.org_id,
                        d.at.scope,
                        d.at.dim_column(),
                        d.at.day_column(),
                        d.at.key,
                        d.name,
                        d.amount.micros(),
                        d.count,
                        d.quantity.micros()
                    ])
                    .unwrap();
                    rows += 1;
                }
            }
            tx.commit().unwrap();
            written += n as u64;
            now = now.checked_add(step).unwrap();
        }
        let stored: i64 = conn.query_row("SELECT COUNT(*) FROM usage_rollups", [], |r| r.get(0)).unwrap();
        println!(
            "rollups of {written} events folded in {:.1} s: {rows} upserts, {stored} rows stored",
            t0.elapsed().as_secs_f64()
        );
        drop(conn);
        Arc::new(SqliteStore::open(dir.path(), clock.clone()).unwrap())
    };
    clock.set(end.checked_add(SignedDuration::from_hours(10)).unwrap());

    // 2. Read.
    let range = DayRange { preset: Some(RangePreset::LastMonth), first, last };
    let app = AppState::new(store.clone() as Arc<dyn Store>, KEY);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(creditd_server::serve(listener, app.clone(), async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let mut worst = Duration::ZERO;
    println!("read: the whole month, {RUNS} runs each");
    for group in UsageGroup::ALL {
        let q = UsageQuery { first_day: first, last_day: last, group_by: group, user_email: None };
        let rows = store.usage(ORG, &q).await.unwrap().len();
        let mut t_store = Vec::with_capacity(RUNS);
        let mut t_report = Vec::with_capacity(RUNS);
        let mut t_http = Vec::with_capacity(RUNS);
        let url = format!("{base}/api/organizations/{ORG}/usage?range=last_month&group_by={}", group.as_str());
        for _ in 0..RUNS {
            let t = Instant::now();
            std::hint::black_box(store.usage(ORG, &q).await.unwrap());
            t_store.push(t.elapsed());
            let t = Instant::now();
            std::hint::black_box(analytics::usage_report(&app, ORG, ZONE, range, group, None).await.unwrap());
            t_report.push(t.elapsed());
            let t = Instant::now();
            let r = client.get(&url).bearer_auth(KEY).send().await.unwrap();
            assert!(r.status().is_success());
            std::hint::black_box(r.bytes().await.unwrap());
            t_http.push(t.elapsed());
        }
        println!(" group_by={} ({rows} groups)", group.as_str());
        report("store read (rollups)", t_store);
        worst = worst.max(report("report (API function, days filled, totals)", t_report));
        worst = worst.max(report("GET …/usage over HTTP", t_http));
    }
    for group in [UsageGroup::Action, UsageGroup::Day] {
        let mut t_member = Vec::with_capacity(RUNS);
        for i in 0..RUNS {
            let who = Some(format!("user{}@big.example", i % shape.users));
            let t = Instant::now();
            std::hint::black_box(analytics::usage_report(&app, ORG, ZONE, range, group, who).await.unwrap());
            t_member.push(t.elapsed());
        }
        println!(" one member's own usage by {}", group.as_str());
        worst = worst.max(report("report (API function)", t_member));
    }
    // Not a whole month: the day rows of 28 days.
    let days28 = DayRange { preset: Some(RangePreset::Last28Days), first: Date::new(2026, 3, 4).unwrap(), last };
    for group in [UsageGroup::Project, UsageGroup::User] {
        let mut t = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let t0 = Instant::now();
            std::hint::black_box(analytics::usage_report(&app, ORG, ZONE, days28, group, None).await.unwrap());
            t.push(t0.elapsed());
        }
        println!(" the last 28 days (day rows) by {}", group.as_str());
        report("report (API function)", t);
    }
    println!("worst p99: {:.3} ms (target < 10 ms)", worst.as_secs_f64() * 1e3);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    let size = std::fs::metadata(store.database_path()).map(|m| m.len()).unwrap_or(0);
    println!("database: {:.1} MB", size as f64 / 1e6);
}
