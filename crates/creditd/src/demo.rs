//! `creditd demo`: a demo organisation with several months of plausible
//! history, written through the real ledger with a clock that walks forward
//! hour by hour, so every view has data and every balance is genuine.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use creditd_core::AlertLevel;
use creditd_core::plans::{Plan, PlanOp, Rollover};
use creditd_core::{CreditKind, CreditOp, EventCtx, HoldOp, Micros, Op, OrgSettings, RecordKind};
use creditd_sqlite::SqliteStore;
use creditd_store::catalogue::CataloguePlan;
use creditd_store::directory::{DirectoryError, Member, Role};
use creditd_store::{Command, ManualClock, Store, StoreError};
use jiff::{ToSpan, Zoned, tz::TimeZone};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const DEMO_ORG: &str = "demo";
const ZONE: &str = "Europe/Madrid";
const PLAN_CREDITS: i64 = 10_000;

const USERS: &[(&str, &str)] = &[
    ("Mikaela Ortiz", "mikaela@acme.example"),
    ("Samara Lind", "samara@acme.example"),
    ("Jonas Weber", "jonas@acme.example"),
    ("Priya Nair", "priya@acme.example"),
    ("Luis García", "luis@acme.example"),
    ("Ana Sousa", "ana@acme.example"),
];

const PROJECTS: &[(&str, &str)] = &[
    ("case-1042", "Q3 outbound — fintech"),
    ("case-1043", "Hiring pipeline"),
    ("case-1044", "Partner research"),
    ("case-1051", "Q3 outbound — fintech"),
    ("case-1060", "Renewals"),
    ("case-1072", "Board pack Q4"),
    ("case-1080", "Churn analysis"),
];

/// (service, activity, cost range in credits)
const ACTIONS: &[(&str, &str, (i64, i64))] = &[
    ("Enrichment", "Enrich contact email", (1, 3)),
    ("Enrichment", "Enrich phone number", (2, 5)),
    ("Scraping", "Scrape company", (3, 8)),
    ("Scraping", "Scrape contacts", (2, 6)),
    ("AI Variables", "AI completion", (1, 4)),
    ("Workflows", "Run workflow", (5, 20)),
    ("AI Inference", "Model generation", (10, 40)),
];

/// Who signs in to the demo dashboard: (name, email, role).
pub const MEMBERS: &[(&str, &str, Role)] = &[
    ("Olga Owner", "owner@acme.example", Role::Owner),
    ("Adam Admin", "admin@acme.example", Role::Admin),
    ("Mikaela Ortiz", "mikaela@acme.example", Role::Member),
];

/// Sending identities (the plan includes five) and the campaigns their
/// conversations come from.
const IDENTITIES: &[&str] =
    &["mikaela@send.acme.example", "samara@send.acme.example", "jonas@send.acme.example", "priya@send.acme.example"];
const CAMPAIGNS: &[&str] = &["Spring outbound", "Renewals Q2", "Webinar follow-up", "Partner intros"];

/// The Genesys-like plan of seed 002: 10,000 credits a month, five
/// identities, 449 EUR; up to 5,000 unused credits carried over.
fn plan() -> Plan {
    Plan {
        name: "Genesys".into(),
        credits_per_period: Micros::from_micros(PLAN_CREDITS * 1_000_000),
        identities_included: 5,
        price: Micros::from_micros(449_000_000),
        currency: "EUR".into(),
        conversations_per_identity: 500,
        rollover: Rollover::UpTo { max_credits: Micros::from_micros(5_000_000_000) },
        price_book: None,
    }
}

/// The plans the demo's operator offers (the catalogue the Plan tab's
/// Change plan lists): Genesys as the org has it, and a bigger one.
fn catalogue(at: jiff::Timestamp) -> Vec<CataloguePlan> {
    let scale = Plan {
        name: "Scale".into(),
        credits_per_period: Micros::from_micros(25_000 * 1_000_000),
        identities_included: 10,
        price: Micros::from_micros(990_000_000),
        ..plan()
    };
    vec![
        CataloguePlan {
            id: "genesys".into(),
            plan: plan(),
            price_text: Some("449 € / month".into()),
            description: Some("10,000 credits a month, five identities".into()),
            updated_at: at,
        },
        CataloguePlan {
            id: "scale".into(),
            plan: scale,
            price_text: Some("990 € / month".into()),
            description: Some("25,000 credits a month, ten identities".into()),
            updated_at: at,
        },
    ]
}

fn ctx(rng: &mut StdRng) -> EventCtx {
    let (user, email) = USERS[rng.random_range(0..USERS.len())];
    let (pid, pname) = PROJECTS[rng.random_range(0..PROJECTS.len())];
    let (service, activity, _) = ACTIONS[rng.random_range(0..ACTIONS.len())];
    EventCtx {
        source: Some("app".into()),
        service: Some(service.into()),
        activity: Some(activity.into()),
        project_id: Some(pid.into()),
        project_name: Some(pname.into()),
        user_name: Some(user.into()),
        user_email: Some(email.into()),
        description: Some(format!("{activity} for {pname}")),
        metadata: None,
    }
}

fn cost(rng: &mut StdRng, activity: &str) -> Micros {
    let (lo, hi) = ACTIONS.iter().find(|a| a.1 == activity).map(|a| a.2).unwrap_or((1, 5));
    // Whole credits plus a fraction, to show exact decimals.
    Micros::from_micros(rng.random_range(lo..=hi) * 1_000_000 + rng.random_range(0..4) * 250_000)
}

fn credit(
    kind: CreditKind,
    credits: i64,
    expires_at: Option<jiff::Timestamp>,
    code: Option<&str>,
    source: &str,
    description: &str,
) -> Op {
    Op::Credit(CreditOp {
        kind,
        amount: Micros::from_micros(credits * 1_000_000),
        pool: None,
        expires_at,
        code: code.map(str::to_string),
        status: None,
        ctx: EventCtx { source: Some(source.into()), description: Some(description.into()), ..EventCtx::default() },
    })
}

/// The demo's price book: a flat price, a per-model token price and a
/// graduated one (seed pages' "an image costs 2.5", "1k tokens of the large
/// model cost 1.2", "the first 1,000 rows a month cost 1 credit each, then
/// 0.5"), so the Plan tab's rate card and the Credits tab's quantities
/// have something to show.
fn price_book() -> Result<creditd_core::prices::PriceBookDraft> {
    Ok(serde_json::from_value(serde_json::json!({"prices": [
        {"key": "image_generation", "service": "AI Inference", "activity": "Image generation", "unit": "image",
         "credits_per_unit": "2.5"},
        {"key": "tokens", "service": "AI Inference", "activity": "Model generation", "unit": "1k tokens",
         "dimensions": {"model": "small"}, "credits_per_unit": "0.3"},
        {"key": "tokens", "service": "AI Inference", "activity": "Model generation", "unit": "1k tokens",
         "dimensions": {"model": "large"}, "credits_per_unit": "1.2"},
        {"key": "enrichment_rows", "service": "Enrichment", "activity": "Enrich rows", "unit": "row",
         "tiers": [{"up_to": 1000, "credits_per_unit": "1"}, {"credits_per_unit": "0.5"}]}
    ]}))?)
}

/// One priced usage of the demo's book, by a random user.
fn priced_usage(rng: &mut StdRng) -> Op {
    let (name, email) = USERS[rng.random_range(0..USERS.len())];
    let (price, quantity, model) = match rng.random_range(0..4) {
        0 => ("image_generation", rng.random_range(1..5) * 1_000_000, None),
        1 => ("tokens", rng.random_range(1..40) * 250_000, Some("small")),
        2 => ("tokens", rng.random_range(1..20) * 250_000, Some("large")),
        _ => ("enrichment_rows", rng.random_range(5..60) * 1_000_000, None),
    };
    Op::Priced(creditd_core::PricedOp::Usage {
        price: creditd_core::prices::PriceRequest {
            price: price.into(),
            quantity: creditd_core::Quantity::from_micros(quantity),
            dimensions: model.map(|m| ("model".to_string(), m.to_string())).into_iter().collect(),
        },
        ctx: EventCtx { user_name: Some(name.into()), user_email: Some(email.into()), ..EventCtx::default() },
    })
}

/// Creates and fills the demo organisation unless it already exists.
pub async fn seed(data_dir: &Path) -> Result<()> {
    let tz = TimeZone::get(ZONE)?;
    let now = Zoned::now().with_time_zone(tz.clone());
    let start = now.date().first_of_month().checked_sub(3.months())?.to_zoned(tz.clone())?;
    let clock = Arc::new(ManualClock::new(start.timestamp()));
    let store =
        SqliteStore::open(data_dir, clock.clone()).with_context(|| format!("opening {}", data_dir.display()))?;
    let mut settings = OrgSettings::new("Acme Research", ZONE);
    // Buy more offers these amounts on the Plan tab (the owner's choice).
    settings.buy_more_amounts = [1_000, 5_000, 10_000].map(|c| Micros::from_micros(c * 1_000_000)).to_vec();
    match store.create_org(DEMO_ORG, settings).await {
        Ok(_) => {}
        Err(StoreError::OrgExists(_)) => {
            store.shutdown().await;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    eprintln!("creditd: seeding the demo organisation (a few seconds)…");
    for entry in catalogue(start.timestamp()) {
        store.plan_catalogue().put(&entry).await?;
    }
    store.price_books().put("acme-rates", price_book()?).await.context("the demo's price book")?;
    for (name, email, role) in MEMBERS {
        let member = Member {
            org_id: DEMO_ORG.into(),
            email: (*email).into(),
            name: (*name).into(),
            role: *role,
            created_at: start.timestamp(),
        };
        store.directory().add_member(member).await?;
    }
    let mut rng = StdRng::seed_from_u64(20261122);
    let mut priced_rng = StdRng::seed_from_u64(20261207);
    let mut open_holds: Vec<String> = Vec::new();
    let mut recent_usage: Vec<String> = Vec::new();
    let mut hour = start.clone();
    let mut events = 0usize;
    while hour.timestamp() < now.timestamp() {
        clock.set(hour.timestamp());
        let mut ops: Vec<Op> = Vec::new();
        if hour == start {
            // The plan grants each month's credits at its renewal and lets
            // the unused ones lapse (keeping up to 5,000).
            ops.push(Op::Plans(PlanOp::SetPlan { plan: plan(), effective: None, renewal_day: None }));
            // Usage alerts at 80% and 100% of the month's plan credits.
            let levels = vec![AlertLevel::PercentUsed(80), AlertLevel::PercentUsed(100)];
            ops.push(Op::Plans(PlanOp::SetAlerts(levels)));
            let patch = creditd_core::SettingsPatch { price_book: Some("acme-rates".into()), ..Default::default() };
            ops.push(Op::Access(creditd_core::AccessOp::SetSettings(patch)));
        }
        if hour.day() == 12 && hour.hour() == 10 {
            ops.push(credit(CreditKind::Purchase, 5_000, None, None, "Stripe", "Add-on credits (Buy more)"));
        }
        if hour.day() == 20 && hour.hour() == 11 {
            let expires = hour.checked_add(30.days())?.timestamp();
            ops.push(credit(CreditKind::Voucher, 500, Some(expires), Some("WELCOME500"), "Voucher", "Voucher credits"));
        }
        if hour.day() == 5 && hour.hour() == 9 {
            ops.push(credit(CreditKind::Grant, 250, None, None, "support", "Goodwill credits"));
        }
        let weekday = hour.weekday().to_monday_one_offset() <= 5;
        if weekday && (8..20).contains(&hour.hour()) {
            // Settle the previous hour's holds: most are debited, some rejected.
            for hold_id in open_holds.drain(..) {
                let op = if rng.random_bool(0.88) {
                    Op::Debit { hold_id, amount: None, ctx: EventCtx::default() }
                } else {
                    Op::Release {
                        hold_id,
                        ctx: EventCtx { description: Some("Result rejected".into()), ..EventCtx::default() },
                    }
                };
                ops.push(op);
            }
            for _ in 0..rng.random_range(1..6) {
                let c = ctx(&mut rng);
                let amount = cost(&mut rng, c.activity.as_deref().unwrap_or(""));
                if rng.random_bool(0.5) {
                    ops.push(Op::Hold(HoldOp { amount, timeout_seconds: Some(6 * 3600), ctx: c }));
                } else {
                    ops.push(Op::Usage { amount, ctx: c });
                }
            }
            if rng.random_bool(0.03)
                && let Some(u) = recent_usage.pop()
            {
                ops.push(Op::Refund {
                    refers_to: u,
                    amount: None,
                    ctx: EventCtx { description: Some("Refund: failed delivery".into()), ..EventCtx::default() },
                });
            }
        }
        // Priced usage from the book (its own random stream, so the rest
        // of the history is the one it always was).
        if weekday && (9..18).contains(&hour.hour()) && priced_rng.random_bool(0.5) {
            ops.push(priced_usage(&mut priced_rng));
        }
        if weekday && (8..19).contains(&hour.hour()) {
            for _ in 0..rng.random_range(0..3) {
                let campaign = CAMPAIGNS[rng.random_range(0..CAMPAIGNS.len())];
                ops.push(Op::Plans(PlanOp::Conversation {
                    identity: IDENTITIES[rng.random_range(0..IDENTITIES.len())].into(),
                    campaign: (!rng.random_bool(0.08)).then(|| campaign.to_string()),
                    started_at: None,
                }));
            }
        }
        if hour.day() == 15 && hour.hour() == 16 {
            ops.push(Op::Adjustment {
                amount: Micros::from_micros(-20_000_000),
                reason: "Correction of a duplicated import".into(),
                pool: None,
                expires_at: None,
                ctx: EventCtx { source: Some("admin".into()), ..EventCtx::default() },
            });
        }
        if !ops.is_empty() {
            let commands = ops.into_iter().map(|op| Command::new(DEMO_ORG, op, None)).collect();
            // Refusals (e.g. not enough credits late in a month) are part of life.
            for o in store.execute(commands).await.into_iter().flatten() {
                events += o.events.len();
                if let Some(rec) = o.record {
                    match rec.kind {
                        RecordKind::Hold if rec.status.is_pending() => open_holds.push(rec.id),
                        RecordKind::Usage => recent_usage.push(rec.id),
                        _ => {}
                    }
                }
            }
        }
        hour = hour.checked_add(1.hour())?;
    }
    clock.set(now.timestamp());
    store.tick().await?;
    store.shutdown().await;
    eprintln!("creditd: demo organisation {DEMO_ORG:?} has {events} events");
    Ok(())
}

/// A one-time sign-in URL for the demo's owner on `listen` (the owner is
/// added first if an older demo directory lacks them).
pub async fn sign_in_link(store: &dyn Store, listen: std::net::SocketAddr) -> Result<String> {
    let (name, email, role) = MEMBERS[0];
    let owner =
        Member { org_id: DEMO_ORG.into(), email: email.into(), name: name.into(), role, created_at: store.now() };
    match store.directory().add_member(owner).await {
        Ok(_) | Err(DirectoryError::Exists(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let ttl = jiff::SignedDuration::from_hours(1);
    let token = creditd_server::auth::issue_login_link(store.directory(), DEMO_ORG, email, store.now(), ttl).await?;
    let host = if listen.ip().is_unspecified() { "127.0.0.1".to_string() } else { listen.ip().to_string() };
    Ok(format!("http://{host}:{}/login/{token}", listen.port()))
}
