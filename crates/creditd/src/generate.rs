//! `creditd gen`: a big, plausible credit history for one organisation,
//! written through the real engine (ledger rules, batching writer, indexes)
//! so benchmarks and dashboards run on data shaped like production: many
//! users and projects, a handful of services, every kind of event, spread
//! over months.
//!
//! Commands go in batches of thousands through `Store::execute` with a
//! manual clock that walks from `--days` ago to now, so date filters and
//! presets have something to select; one batch is in flight while the next
//! is built. Holds are settled two batches later (mostly debited, some
//! released); purchases sometimes wait and fail. Credits are topped up with
//! a grant only when they run low, so credit blocks are used up in turn as
//! in a real organisation (one huge grant that never runs out would leave
//! every later block queued behind it, and the ledger walks the live blocks
//! on every draw: generation slowed from 14k to 5k events/s within 500k
//! events that way).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use creditd_core::{CreditKind, CreditOp, EventCtx, HoldOp, Micros, Op, OrgSettings, Status};
use creditd_sqlite::SqliteStore;
use creditd_store::{Clock, Command, ManualClock, Store};
use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(clap::Args, Debug)]
pub struct GenArgs {
    /// Where the embedded database lives (created if missing).
    #[arg(long, default_value = "./creditd-bench-data")]
    data_dir: PathBuf,
    /// The organisation to create and fill.
    #[arg(long, default_value = "big")]
    org: String,
    /// How many events to write (at least).
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Commands per batch.
    #[arg(long, default_value_t = 4096)]
    batch: usize,
    /// Days the history spans, ending now.
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// The organisation's time zone.
    #[arg(long, default_value = "Europe/Madrid")]
    time_zone: String,
    /// Random seed (the same seed writes the same history).
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

pub const SERVICES: &[(&str, &[&str])] = &[
    ("AI Inference", &["Model generation", "Image upscale"]),
    ("Scraping", &["Scrape company", "Scrape contacts"]),
    ("Enrichment", &["Enrich contact email", "Enrich phone number"]),
    ("AI Variables", &["AI completion"]),
    ("Workflows", &["Run workflow"]),
    ("GPU Container", &["GPU hour"]),
    ("Model Fine-tuning", &["Fine-tune job"]),
];
pub const USERS: usize = 200;
pub const PROJECTS: usize = 2000;

pub fn user(i: usize) -> (String, String) {
    (format!("User {i}"), format!("user{i}@acme.example"))
}

pub fn project(i: usize) -> String {
    format!("case-{i}")
}

fn ctx(rng: &mut StdRng) -> EventCtx {
    // A few heavy users and projects, a long tail.
    let u = (rng.random::<f64>().powi(2) * USERS as f64) as usize;
    let p = (rng.random::<f64>().powi(3) * PROJECTS as f64) as usize;
    let (service, activities) = SERVICES[rng.random_range(0..SERVICES.len())];
    let activity = activities[rng.random_range(0..activities.len())];
    let (name, email) = user(u);
    EventCtx {
        source: Some("app".into()),
        service: Some(service.into()),
        activity: Some(activity.into()),
        project_id: Some(project(p)),
        project_name: Some(format!("Case {p}")),
        user_name: Some(name),
        user_email: Some(email),
        description: Some(format!("{activity} for case {p}")),
        metadata: None,
    }
}

fn amount(rng: &mut StdRng, lo_centi: i64, hi_centi: i64) -> Micros {
    Micros::from_micros(rng.random_range(lo_centi..=hi_centi) * 10_000)
}

fn credit(kind: CreditKind, credits: i64, status: Option<Status>) -> Op {
    Op::Credit(CreditOp {
        kind,
        amount: Micros::from_micros(credits * 1_000_000),
        pool: None,
        expires_at: None,
        code: (kind == CreditKind::Voucher).then(|| "WELCOME-26".to_string()),
        status,
        ctx: EventCtx {
            source: Some(if kind == CreditKind::Purchase { "stripe" } else { "admin" }.into()),
            description: Some(format!("{kind:?} of {credits} credits")),
            ..EventCtx::default()
        },
    })
}

/// Credits granted per command of a batch when the org runs low: about
/// twice what two batches in flight can consume (usage averages 2.5
/// credits, holds 10), so no command is refused for want of credits.
const TOP_UP_CREDITS_PER_COMMAND: i64 = 20;

/// A batch handed to the store whose answers are not read yet.
struct InFlight {
    names: Vec<&'static str>,
    answers: tokio::task::JoinHandle<Vec<Result<creditd_core::Outcome, creditd_store::StoreError>>>,
}

/// Fills `cmds` up to `batch` commands: first the settlements of earlier
/// holds and purchases, then new operations in a plausible mix.
/// A debit or release refused because the hold's time ran out (its
/// release was written by the refusal).
fn timed_out(r: &Result<creditd_core::Outcome, creditd_store::StoreError>) -> bool {
    matches!(r, Err(creditd_store::StoreError::Ledger(creditd_core::LedgerError::HoldExpired { .. })))
}

fn fill_batch(
    rng: &mut StdRng,
    cmds: &mut Vec<Command>,
    batch: usize,
    run1: &impl Fn(Op) -> Command,
    open_holds: &mut Vec<String>,
    processing: &mut Vec<String>,
    usages: &mut Vec<String>,
) {
    for hold_id in open_holds.drain(..) {
        let op = if rng.random_bool(0.85) {
            let part = if rng.random_bool(0.2) { Some(Micros::from_micros(10_000)) } else { None };
            Op::Debit { hold_id, amount: part, ctx: EventCtx::default() }
        } else {
            Op::Release { hold_id, ctx: EventCtx::default() }
        };
        cmds.push(run1(op));
    }
    for purchase_id in processing.drain(..) {
        let status = if rng.random_bool(0.7) { Status::Succeeded } else { Status::Failed };
        cmds.push(run1(Op::SettlePurchase { purchase_id, status, ctx: EventCtx::default() }));
    }
    while cmds.len() < batch {
        let r: f64 = rng.random();
        let op = if r < 0.70 {
            Op::Usage { amount: amount(rng, 1, 500), ctx: ctx(rng) }
        } else if r < 0.88 {
            Op::Hold(HoldOp { amount: amount(rng, 10, 2000), timeout_seconds: Some(86_400), ctx: ctx(rng) })
        } else if r < 0.90 {
            match usages.pop() {
                Some(u) => Op::Refund { refers_to: u, amount: None, ctx: EventCtx::default() },
                None => Op::Usage { amount: amount(rng, 1, 500), ctx: ctx(rng) },
            }
        } else if r < 0.905 {
            credit(CreditKind::Purchase, rng.random_range(10..500), None)
        } else if r < 0.908 {
            credit(CreditKind::Purchase, rng.random_range(10..500), Some(Status::Processing))
        } else if r < 0.912 {
            credit(CreditKind::Voucher, rng.random_range(5..50), None)
        } else if r < 0.915 {
            credit(CreditKind::Grant, rng.random_range(5..100), None)
        } else if r < 0.917 {
            credit(CreditKind::SubscriptionCredit, 100, None)
        } else if r < 0.92 {
            Op::Adjustment {
                amount: Micros::from_micros(-rng.random_range(1..100) * 10_000),
                reason: "usage correction".into(),
                pool: None,
                expires_at: None,
                ctx: EventCtx::default(),
            }
        } else if r < 0.922 {
            Op::Billing {
                amount: Micros::ZERO,
                ctx: EventCtx { description: Some("Monthly invoice".into()), ..EventCtx::default() },
            }
        } else {
            Op::Usage { amount: amount(rng, 1, 500), ctx: ctx(rng) }
        };
        cmds.push(run1(op));
    }
}

pub async fn run(args: GenArgs) -> Result<()> {
    if args.batch == 0 || args.events == 0 || args.days <= 0 {
        bail!("--events, --batch and --days must be positive");
    }
    let end = Timestamp::now();
    let start = end.checked_sub(SignedDuration::from_hours(24 * args.days))?;
    let clock = Arc::new(ManualClock::new(start));
    let store = Arc::new(
        SqliteStore::open(&args.data_dir, clock.clone())
            .with_context(|| format!("opening {}", args.data_dir.display()))?,
    );
    let result = generate(&store, &clock, &args, start, end).await;
    store.shutdown().await;
    result
}

async fn generate(
    store: &Arc<SqliteStore>,
    clock: &Arc<ManualClock>,
    args: &GenArgs,
    start: Timestamp,
    end: Timestamp,
) -> Result<()> {
    store
        .create_org(&args.org, OrgSettings::new(format!("Org {}", args.org), args.time_zone.clone()))
        .await
        .with_context(|| format!("creating organization {} (gen fills a new one)", args.org))?;
    let mut rng = StdRng::seed_from_u64(args.seed);
    let run1 = |op| Command::new(args.org.clone(), op, None);
    let top_up = Micros::from_micros(TOP_UP_CREDITS_PER_COMMAND * args.batch as i64 * 1_000_000);
    let mut available = store
        .execute(vec![run1(credit(CreditKind::Grant, TOP_UP_CREDITS_PER_COMMAND * args.batch as i64, None))])
        .await
        .pop()
        .context("the store gave no answer")?
        .context("funding the organisation")?
        .events
        .last()
        .map_or(Micros::ZERO, |e| e.balance_after);
    // The clock walks with the events written (not a fixed step per batch,
    // which assumed so many events per command and ran past now when there
    // were fewer), so the history spans `--days` and ends now.
    let span = (end.as_microsecond() - start.as_microsecond()) as f64;
    let clock_at = |written: u64| {
        let progress = (written as f64 / args.events as f64).min(1.0);
        start.checked_add(SignedDuration::from_micros((span * progress) as i64)).unwrap_or(end).min(end)
    };
    let started = Instant::now();
    let mut written: u64 = 1;
    let mut open_holds: Vec<String> = Vec::new();
    let mut processing: Vec<String> = Vec::new();
    let mut usages: Vec<String> = Vec::new();
    let mut last_report = Instant::now();
    // One batch in flight while the next is built: the writer never waits
    // for the generator. Holds and purchases of a batch are settled two
    // batches later, when its answers are in.
    let mut in_flight: Option<InFlight> = None;
    while written < args.events || in_flight.is_some() {
        let next = if written < args.events {
            let mut cmds = Vec::with_capacity(args.batch + 1);
            // Top up only when credits run low, so credit blocks are used up
            // in turn (as in a real org) instead of piling up behind one
            // endless grant, which the ledger would walk on every draw.
            if available < top_up {
                cmds.push(run1(credit(CreditKind::Grant, TOP_UP_CREDITS_PER_COMMAND * args.batch as i64, None)));
                available = available.checked_add(top_up).unwrap_or(Micros::MAX);
            }
            fill_batch(&mut rng, &mut cmds, args.batch, &run1, &mut open_holds, &mut processing, &mut usages);
            let names: Vec<&'static str> = cmds.iter().map(|c| c.op.name()).collect();
            let store = store.clone();
            // At least one event per command: this batch and the one in
            // flight bring the history that far.
            let in_flight_cmds = in_flight.as_ref().map_or(0, |f| f.names.len());
            let at = clock_at(written + (in_flight_cmds + cmds.len()) as u64);
            if at > clock.now() {
                clock.set(at);
            } else {
                clock.advance(SignedDuration::from_micros(1));
            }
            Some(InFlight { names, answers: tokio::spawn(async move { store.execute(cmds).await }) })
        } else {
            None
        };
        if let Some(done) = std::mem::replace(&mut in_flight, next) {
            let answers = done.answers.await?;
            for (r, name) in answers.into_iter().zip(done.names) {
                // A hold whose timeout passed before its settle came (steps of
                // several days): the refusal wrote its release, as in life.
                if timed_out(&r) {
                    written += 1;
                    continue;
                }
                let o = r.with_context(|| format!("the generator's {name} was refused"))?;
                written += o.events.len() as u64;
                if let Some(e) = o.events.last() {
                    available = e.balance_after;
                }
                if let Some(rec) = &o.record {
                    match (rec.kind, rec.status) {
                        (creditd_core::RecordKind::Hold, creditd_core::RecordStatus::Open) => {
                            open_holds.push(rec.id.clone())
                        }
                        (creditd_core::RecordKind::Purchase, creditd_core::RecordStatus::Processing) => {
                            processing.push(rec.id.clone())
                        }
                        // A refund answers with its usage too; only a new usage is refundable.
                        (creditd_core::RecordKind::Usage, _)
                            if o.events.first().is_some_and(|e| e.kind == creditd_core::EventKind::Usage)
                                && usages.len() < 10_000
                                && rng.random_bool(0.05) =>
                        {
                            usages.push(rec.id.clone())
                        }
                        _ => {}
                    }
                }
            }
        }
        if last_report.elapsed().as_secs() >= 5 {
            last_report = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            eprintln!("gen: {written} events, {:.0} events/s", written as f64 / secs);
        }
    }
    // Settle what is still open so the history ends quiet.
    let mut cmds: Vec<Command> =
        open_holds.drain(..).map(|h| run1(Op::Release { hold_id: h, ctx: EventCtx::default() })).collect();
    cmds.extend(
        processing
            .drain(..)
            .map(|p| run1(Op::SettlePurchase { purchase_id: p, status: Status::Failed, ctx: EventCtx::default() })),
    );
    for r in store.execute(cmds).await {
        if timed_out(&r) {
            written += 1;
            continue;
        }
        written += r?.events.len() as u64;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "gen: wrote {written} events into {} in {secs:.1} s ({:.0} events/s) in {}",
        args.org,
        written as f64 / secs,
        args.data_dir.display()
    );
    let report = store.verify(&args.org).await?;
    if !report.ok {
        bail!("verify failed after generating: {:?}", report.problems);
    }
    println!("gen: verify ok");
    Ok(())
}
