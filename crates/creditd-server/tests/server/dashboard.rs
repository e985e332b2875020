//! Usage analytics and the dashboard, end to end on generated data:
//!
//! - the analytics API equals sums over the events (per group, every
//!   range, computed two ways: the in-memory reference fold and
//!   `EventFilter` queries over the stored events), and the dashboard's
//!   chart numbers equal the API;
//! - bad input is a 4xx in the one error shape (the API) or an HTML error
//!   page (the dashboard), and members see only their own usage;
//! - a real headless Chromium signs in, opens each tab, changes the range,
//!   filters the history, pages, downloads a CSV and an .xlsx and checks
//!   their rows, and saves screenshots of each tab (printed paths). Without
//!   `chromium` and `chromedriver` it prints SKIPPED and passes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use creditd_core::plans::{Plan, PlanOp, Rollover};
use creditd_core::{CreditKind, CreditOp, Event, EventCtx, EventKind, HoldOp, Micros, Op, OrgSettings, RecordKind};
use creditd_store::directory::{Member, Role};
use creditd_store::hours::{HourQuery, hours_from_events};
use creditd_store::range::days_bounds;
use creditd_store::rollup::{UsageGroup, UsageQuery, usage_from_events};
use creditd_store::{Clock, Command, EventFilter, Store};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::{KEY, Server, Start};
use creditd_server::dashboard;

const ORG: &str = "acme";
const ZONE: &str = "Europe/Madrid";
/// "Now" for every test: a Thursday, days after the clocks changed (29 March).
const NOW: &str = "2026-04-02T08:30:00Z";

const OWNER: (&str, &str) = ("Olivia Owner", "olivia@acme.example");
const MEMBER: (&str, &str) = ("Mia Member", "mia@acme.example");
const ADMIN: (&str, &str) = ("Adam Admin", "adam@acme.example");

const USERS: &[(&str, &str)] = &[
    ("Mikaela Ortiz", "mikaela@acme.example"),
    ("Samara Lind", "samara@acme.example"),
    ("Jonas Weber", "jonas@acme.example"),
    MEMBER,
];
const PROJECTS: &[(&str, &str)] =
    &[("case-1042", "Q3 outbound"), ("case-1043", "Hiring pipeline"), ("case-1044", "Partner research")];
const ACTIONS: &[(&str, &str)] = &[
    ("Enrichment", "Enrich contact email"),
    ("Enrichment", "Enrich phone number"),
    ("Scraping", "Scrape company"),
    ("AI Variables", "AI completion"),
    ("Workflows", "Run workflow"),
];
const CAMPAIGNS: &[&str] = &["Spring launch", "Renewals", "Webinar follow-up"];
const IDENTITIES: &[&str] = &["anna@send.acme.example", "ben@send.acme.example", "carla@send.acme.example"];

struct App(Server);

crate::app_derefs_to_server!(App, 0);

impl App {
    async fn start() -> App {
        App(Server::with(Start { at: NOW, no_redirects: true, ..Start::default() }).await)
    }

    /// GET with the service key: status and body text.
    async fn get(&self, path: &str) -> (u16, String) {
        let r = self.client.get(format!("{}{path}", self.base)).bearer_auth(KEY).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// GET with a session cookie: status, content type, body.
    async fn page(&self, path: &str, cookie: Option<&str>) -> (u16, String, String) {
        self.get_as(path, cookie, None).await
    }

    /// GET as a browser navigates (its `Accept`), with a session cookie.
    async fn browse(&self, path: &str, cookie: Option<&str>) -> (u16, String, String) {
        let accept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
        self.get_as(path, cookie, Some(accept)).await
    }

    async fn get_as(&self, path: &str, cookie: Option<&str>, accept: Option<&str>) -> (u16, String, String) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        let r = req.send().await.unwrap();
        let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        (r.status().as_u16(), ct, r.text().await.unwrap())
    }

    async fn usage(&self, query: &str) -> UsageResp {
        let (s, body) = self.get(&format!("/api/organizations/{ORG}/usage?{query}")).await;
        assert_eq!(s, 200, "{query}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{query}: {e}: {body}"))
    }

    /// A one-time sign-in URL for `email`.
    async fn login_url(&self, email: &str) -> String {
        self.0.login_url(ORG, email).await
    }

    /// Signs in over HTTP and returns the session cookie (`name=value`).
    async fn sign_in(&self, email: &str) -> String {
        let r = self.client.get(self.login_url(email).await).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 303);
        let c = r.headers().get("set-cookie").unwrap().to_str().unwrap();
        c.split(';').next().unwrap().to_string()
    }

    async fn events(&self, filter: &EventFilter) -> Vec<Event> {
        let mut rx = self.store.export(ORG, filter).await.unwrap();
        let mut all = Vec::new();
        while let Some(chunk) = rx.recv().await {
            all.extend(chunk.unwrap());
        }
        all
    }
}

#[derive(Debug, Deserialize)]
struct UsageResp {
    range: String,
    date_from: Date,
    date_to: Date,
    from: Timestamp,
    to: Timestamp,
    user_email: Option<String>,
    total_credits: Micros,
    total_operations: i64,
    truncated: bool,
    rows: Vec<UsageRowResp>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
struct UsageRowResp {
    key: Option<String>,
    name: Option<String>,
    credits: Micros,
    operations: i64,
}

fn ctx(rng: &mut StdRng) -> EventCtx {
    let (user, email) = USERS[rng.random_range(0..USERS.len())];
    let (service, activity) = ACTIONS[rng.random_range(0..ACTIONS.len())];
    // Now and then usage names no project (the "(no project)" group).
    let project = if rng.random_bool(0.05) { None } else { Some(PROJECTS[rng.random_range(0..PROJECTS.len())]) };
    EventCtx {
        source: Some("app".into()),
        service: Some(service.into()),
        activity: Some(activity.into()),
        project_id: project.map(|p| p.0.into()),
        project_name: project.map(|p| p.1.into()),
        user_name: Some(user.into()),
        user_email: Some(email.into()),
        description: Some(format!("{activity} run")),
        metadata: None,
    }
}

fn amount(rng: &mut StdRng) -> Micros {
    // Whole and fractional credits, and now and then a single micro-credit.
    let micros =
        rng.random_range(1..25) * 1_000_000 + rng.random_range(0..4) * 250_000 + i64::from(rng.random_bool(0.1));
    Micros::from_micros(micros)
}

fn credit(kind: CreditKind, credits: i64, code: Option<&str>, source: &str, description: &str) -> Op {
    Op::Credit(CreditOp {
        kind,
        amount: Micros::from_micros(credits * 1_000_000),
        pool: None,
        expires_at: None,
        code: code.map(str::to_string),
        status: None,
        ctx: EventCtx { source: Some(source.into()), description: Some(description.into()), ..EventCtx::default() },
    })
}

/// Two months of plausible history written through the ledger with a
/// clock walking forward hour by hour; ends at [`NOW`].
async fn seed(app: &App) {
    let tz = TimeZone::get(ZONE).unwrap();
    let start = Date::new(2026, 2, 1).unwrap().to_zoned(tz.clone()).unwrap();
    let end: Timestamp = NOW.parse().unwrap();
    app.clock.set(start.timestamp());
    app.store.create_org(ORG, OrgSettings::new("Acme Research", ZONE)).await.unwrap();
    let dir = app.store.directory();
    for ((name, email), role) in [(OWNER, Role::Owner), (ADMIN, Role::Admin), (MEMBER, Role::Member)] {
        dir.add_member(Member {
            org_id: ORG.into(),
            email: email.into(),
            name: name.into(),
            role,
            created_at: start.timestamp(),
        })
        .await
        .unwrap();
    }
    let plan = Plan {
        name: "Genesys".into(),
        credits_per_period: Micros::from_micros(10_000_000_000),
        identities_included: 5,
        price: Micros::from_micros(449_000_000),
        currency: "EUR".into(),
        conversations_per_identity: 500,
        rollover: Rollover::UpTo { max_credits: Micros::from_micros(5_000_000_000) },
        price_book: None,
    };
    let run = |ops: Vec<Op>| {
        let store = app.store.clone();
        async move { store.execute(ops.into_iter().map(|op| Command::new(ORG, op, None)).collect()).await }
    };
    run(vec![Op::Plans(PlanOp::SetPlan { plan, effective: None, renewal_day: None })]).await[0].as_ref().unwrap();
    let mut rng = StdRng::seed_from_u64(6);
    let mut open_holds: Vec<String> = Vec::new();
    let mut usages: Vec<String> = Vec::new();
    let mut hour = start.clone();
    while hour.timestamp() < end {
        app.clock.set(hour.timestamp());
        let mut ops = Vec::new();
        if hour.day() == 12 && hour.hour() == 10 {
            ops.push(credit(CreditKind::Purchase, 2_000, None, "Stripe", "Add-on credits (Buy more)"));
        }
        if hour.day() == 20 && hour.hour() == 11 {
            ops.push(credit(CreditKind::Voucher, 300, Some("WELCOME300"), "Voucher", "Voucher credits"));
        }
        let weekday = hour.weekday().to_monday_one_offset() <= 5;
        if (7..22).contains(&hour.hour()) && (weekday || rng.random_bool(0.2)) {
            for hold_id in open_holds.drain(..) {
                let roll: f64 = rng.random();
                ops.push(if roll < 0.8 {
                    Op::Debit { hold_id, amount: None, ctx: EventCtx::default() }
                } else if roll < 0.9 {
                    // A partial debit: the rest is released.
                    Op::Debit { hold_id, amount: Some(Micros::from_micros(500_000)), ctx: EventCtx::default() }
                } else {
                    Op::Release { hold_id, ctx: EventCtx::default() }
                });
            }
            for _ in 0..rng.random_range(1..4) {
                let c = ctx(&mut rng);
                let a = amount(&mut rng);
                if rng.random_bool(0.5) {
                    ops.push(Op::Hold(HoldOp { amount: a, timeout_seconds: Some(6 * 3600), ctx: c }));
                } else {
                    ops.push(Op::Usage { amount: a, ctx: c });
                }
            }
            if rng.random_bool(0.05)
                && let Some(u) = usages.pop()
            {
                ops.push(Op::Refund { refers_to: u, amount: None, ctx: EventCtx::default() });
            }
            for _ in 0..rng.random_range(0..3) {
                let campaign =
                    if rng.random_bool(0.1) { None } else { Some(CAMPAIGNS[rng.random_range(0..CAMPAIGNS.len())]) };
                ops.push(Op::Plans(PlanOp::Conversation {
                    identity: IDENTITIES[rng.random_range(0..IDENTITIES.len())].into(),
                    campaign: campaign.map(str::to_string),
                    started_at: None,
                }));
            }
        }
        if !ops.is_empty() {
            for r in run(ops).await.into_iter().flatten() {
                if let Some(rec) = r.record {
                    match rec.kind {
                        RecordKind::Hold if rec.status.is_pending() => open_holds.push(rec.id),
                        RecordKind::Usage => usages.push(rec.id),
                        _ => {}
                    }
                }
            }
        }
        hour = hour.checked_add(1.hour()).unwrap();
    }
    app.clock.set(end);
    app.store.tick().await.unwrap();
}

/// The consumption of `events` and their consuming operations.
fn consumed(events: &[Event]) -> (Micros, i64) {
    let mut total = Micros::ZERO;
    let mut ops = 0;
    for e in events {
        match e.kind {
            EventKind::Debit | EventKind::Usage | EventKind::Refund => {
                total = total.checked_sub(e.amount).unwrap();
                ops += i64::from(e.kind != EventKind::Refund);
            }
            _ => {}
        }
    }
    (total, ops)
}

fn consuming_filter(from: Timestamp, to: Timestamp) -> EventFilter {
    EventFilter {
        date_from: Some(from),
        date_to: Some(to),
        kinds: vec![EventKind::Debit, EventKind::Usage, EventKind::Refund],
        ..EventFilter::default()
    }
}

/// Undoes the HTML escaping of attribute values.
pub(crate) fn unescape(s: &str) -> String {
    s.replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    Some(&tag[start..start + tag[start..].find('"')?])
}

/// The (key, value) of every mark of chart `id` on a dashboard page.
fn chart_marks(html: &str, id: &str) -> Vec<(String, String)> {
    let Some(start) = html.find(&format!("id=\"{id}\"")) else { return Vec::new() };
    let rest = &html[start..];
    let end = rest.find("</figure>").unwrap_or(rest.len());
    let mut out = Vec::new();
    for piece in rest[..end].split('<').skip(1) {
        let tag = piece.split('>').next().unwrap_or("");
        if !tag.contains("class=\"mark\"") {
            continue;
        }
        if let (Some(k), Some(v)) = (attr(tag, "data-key"), attr(tag, "data-value")) {
            out.push((unescape(k), v.to_string()));
        }
    }
    out
}

/// The text of the element with `data-testid`, without markup.
fn testid_text(html: &str, testid: &str) -> String {
    let start = html.find(&format!("data-testid=\"{testid}\"")).unwrap_or_else(|| panic!("no {testid}"));
    let rest = &html[start..];
    let body = &rest[rest.find('>').unwrap() + 1..];
    unescape(&body[..body.find('<').unwrap()])
}

fn test_value(html: &str, testid: &str) -> String {
    let start = html.find(&format!("data-testid=\"{testid}\"")).unwrap_or_else(|| panic!("no {testid}"));
    let tag_start = html[..start].rfind('<').unwrap();
    let tag = &html[tag_start..start + html[start..].find('>').unwrap()];
    attr(tag, "data-value").unwrap_or_else(|| panic!("{testid} has no data-value")).to_string()
}

/// What `EventFilter` queries over the stored events say each group used:
/// one query per user, project, service and day; actions (no filter of
/// their own) are grouped from the range's consuming events.
async fn by_filter(
    app: &App,
    group: UsageGroup,
    from: Timestamp,
    to: Timestamp,
    keys: &[Option<String>],
) -> BTreeMap<Option<String>, (Micros, i64)> {
    let tz = TimeZone::get(ZONE).unwrap();
    let all = app.events(&consuming_filter(from, to)).await;
    let mut out = BTreeMap::new();
    for key in keys {
        let k = key.clone();
        let got = match (group, &k) {
            (UsageGroup::Org, _) => unreachable!("by org is not one org's rollup dimension (not in UsageGroup::ALL)"),
            (UsageGroup::User, Some(email)) => consumed(
                &app.events(&EventFilter { user_email: Some(email.clone()), ..consuming_filter(from, to) }).await,
            ),
            (UsageGroup::Project, Some(p)) => {
                consumed(&app.events(&EventFilter { project_id: Some(p.clone()), ..consuming_filter(from, to) }).await)
            }
            (UsageGroup::Service, Some(s)) => {
                consumed(&app.events(&EventFilter { services: vec![s.clone()], ..consuming_filter(from, to) }).await)
            }
            (UsageGroup::Day, Some(d)) => {
                let d: Date = d.parse().unwrap();
                let (a, b) = days_bounds(d, d, &tz);
                consumed(&app.events(&consuming_filter(a, b)).await)
            }
            (UsageGroup::Action, k) => {
                let mine: Vec<Event> = all.iter().filter(|e| e.activity == *k).cloned().collect();
                consumed(&mine)
            }
            (UsageGroup::Price, Some(p)) => {
                let priced = |e: &&Event| e.pricing.as_ref().is_some_and(|x| *x.price_key == **p);
                consumed(&all.iter().filter(priced).cloned().collect::<Vec<_>>())
            }
            // Events that named no user, project or service: what the
            // filters cannot select, computed from the range's events.
            (_, None) => {
                let field = |e: &Event| match group {
                    UsageGroup::User => e.user_email.clone(),
                    UsageGroup::Project => e.project_id.clone(),
                    _ => e.service.clone(),
                };
                let mine: Vec<Event> = all.iter().filter(|e| field(e).is_none()).cloned().collect();
                consumed(&mine)
            }
        };
        out.insert(k, got);
    }
    out
}

const RANGES: &[&str] = &[
    "range=today",
    "range=yesterday",
    "range=this_week",
    "range=last_week",
    "range=this_month",
    "range=last_month",
    "range=last_28_days",
    "date_from=2026-02-01&date_to=2026-04-02",
    "range=custom&date_from=2026-03-28&date_to=2026-03-30",
];

#[tokio::test]
async fn analytics_agree_with_the_events_and_the_charts() {
    let mut app = App::start().await;
    seed(&app).await;
    let tz = TimeZone::get(ZONE).unwrap();
    let everything = app.events(&EventFilter::default()).await;
    assert!(everything.len() > 1000, "seeded {} events", everything.len());
    let owner = app.sign_in(OWNER.1).await;
    for range in RANGES {
        let mut page_html = None;
        // By price: nothing here is priced (tests/server/prices.rs has it).
        for group in UsageGroup::ALL.into_iter().filter(|g| *g != UsageGroup::Price) {
            let q = format!("{range}&group_by={}", group.as_str());
            let api = app.usage(&q).await;
            assert!(!api.truncated);
            assert_eq!(api.user_email, None);
            let (from, to) = days_bounds(api.date_from, api.date_to, &tz);
            assert_eq!((api.from, api.to), (from, to), "{q}");

            // 1. The in-memory reference fold over every event.
            let reference = usage_from_events(
                everything.iter(),
                &tz,
                &UsageQuery { first_day: api.date_from, last_day: api.date_to, group_by: group, user_email: None },
            )
            .unwrap();
            let api_rows: Vec<(Option<String>, Micros, i64)> =
                api.rows.iter().map(|r| (r.key.clone(), r.credits, r.operations)).collect();
            let mut ref_rows: Vec<(Option<String>, Micros, i64)> =
                reference.iter().map(|r| ((!r.key.is_empty()).then(|| r.key.clone()), r.amount, r.count)).collect();
            if group == UsageGroup::Day {
                // The API lists every day; the fold only days with usage.
                ref_rows = api
                    .rows
                    .iter()
                    .map(|r| {
                        ref_rows.iter().find(|x| x.0 == r.key).cloned().unwrap_or((r.key.clone(), Micros::ZERO, 0))
                    })
                    .collect();
                assert_eq!(api.rows.len() as i64, (api.date_to - api.date_from).get_days() as i64 + 1);
            }
            assert_eq!(api_rows, ref_rows, "{q}: API vs fold over the events");

            // 2. EventFilter sums over the stored events, per group.
            let keys: Vec<Option<String>> = api.rows.iter().map(|r| r.key.clone()).collect();
            let filtered = by_filter(&app, group, from, to, &keys).await;
            for r in &api.rows {
                assert_eq!(filtered[&r.key], (r.credits, r.operations), "{q}: group {:?}", r.key);
            }
            let (total, ops) = consumed(&app.events(&consuming_filter(from, to)).await);
            assert_eq!((api.total_credits, api.total_operations), (total, ops), "{q}: totals");
            let sum = api.rows.iter().fold(Micros::ZERO, |a, r| a.checked_add(r.credits).unwrap());
            assert_eq!(sum, api.total_credits, "{q}: rows add up to the total");

            // 3. The dashboard draws exactly these numbers.
            if page_html.is_none() {
                let (s, _, html) = app.page(&format!("/credits?{range}"), Some(&owner)).await;
                assert_eq!(s, 200, "{html}");
                assert_eq!(test_value(&html, "total-credits"), api.total_credits.to_string(), "{range}");
                page_html = Some(html);
            }
            let html = page_html.as_ref().unwrap();
            let id = match group {
                UsageGroup::Day => "chart-day",
                UsageGroup::Action => "chart-action",
                UsageGroup::User => "chart-user",
                UsageGroup::Project => "chart-project",
                UsageGroup::Service => "chart-service",
                UsageGroup::Price => unreachable!("left out above"),
                UsageGroup::Org => unreachable!("not in UsageGroup::ALL"),
            };
            if group == UsageGroup::Day && api.rows.len() == 1 {
                // One day is drawn per hour, from the day's events: each
                // hour so far with its exact usage, labelled in local time.
                assert!(chart_marks(html, "chart-day").is_empty(), "{range}: one day, no day bars");
                let q = HourQuery { from, to, user_email: None };
                let per_hour = hours_from_events(everything.iter(), &q).unwrap();
                let now: Timestamp = NOW.parse().unwrap();
                let want: Vec<(String, String)> = (0..q.hours())
                    .map(|h| from.checked_add(SignedDuration::from_hours(h)).unwrap())
                    .enumerate()
                    .filter(|(_, t)| *t <= now)
                    .map(|(h, t)| {
                        let m = per_hour.iter().find(|r| r.hour == h as i64).map_or(Micros::ZERO, |r| r.amount);
                        (t.to_zoned(tz.clone()).strftime("%H:%M").to_string(), m.to_string())
                    })
                    .collect();
                assert_eq!(chart_marks(html, "chart-hour"), want, "{range}: hours");
                let sum = per_hour.iter().fold(Micros::ZERO, |a, r| a.checked_add(r.amount).unwrap());
                assert_eq!(sum, api.total_credits, "{range}: the hours add up to the day");
                let chart = &html[html.find("id=\"chart-hour\"").unwrap()..];
                let chart = &chart[..chart.find("</figure>").unwrap()];
                let future = (0..q.hours()).count() - want.len();
                assert_eq!(chart.matches("data-future=\"true\"").count(), future, "{range}: hours to come");
                assert!(range != &"range=today" || future > 0, "today has hours to come");
                continue;
            }
            let drawn = chart_marks(html, id);
            // Days still to come are drawn empty, without a value.
            let today = "2026-04-02";
            let want: Vec<(String, String)> = api
                .rows
                .iter()
                .filter(|r| group != UsageGroup::Day || r.key.as_deref().unwrap() <= today)
                .map(|r| (r.key.clone().unwrap_or_default(), r.credits.to_string()))
                .collect();
            assert_eq!(drawn, want, "{range}: chart {id} vs API");
            if group == UsageGroup::Day {
                let future = api.rows.iter().filter(|r| r.key.as_deref().unwrap() > today).count();
                let chart = &html[html.find("id=\"chart-day\"").unwrap()..];
                let chart = &chart[..chart.find("</figure>").unwrap()];
                assert_eq!(chart.matches("data-future=\"true\"").count(), future, "{range}: days to come");
            }
        }
    }

    // One user's own usage (what a member sees) agrees the same way.
    for range in ["range=last_month", "range=this_month"] {
        let api = app.usage(&format!("{range}&group_by=action&user_email={}", MEMBER.1)).await;
        assert_eq!(api.user_email.as_deref(), Some(MEMBER.1));
        let (from, to) = (api.from, api.to);
        let mine = app.events(&EventFilter { user_email: Some(MEMBER.1.into()), ..consuming_filter(from, to) }).await;
        assert_eq!((api.total_credits, api.total_operations), consumed(&mine), "{range}");
        let reference = usage_from_events(
            everything.iter(),
            &tz,
            &UsageQuery {
                first_day: api.date_from,
                last_day: api.date_to,
                group_by: UsageGroup::Action,
                user_email: Some(MEMBER.1.into()),
            },
        )
        .unwrap();
        let got: Vec<(String, Micros)> =
            api.rows.iter().map(|r| (r.key.clone().unwrap_or_default(), r.credits)).collect();
        let want: Vec<(String, Micros)> = reference.iter().map(|r| (r.key.clone(), r.amount)).collect();
        assert_eq!(got, want, "{range}");
    }

    // Last month crosses the change to summer time: 31 days, the 29th is
    // 23 hours long, and the range ends at local midnight.
    let march = app.usage("range=last_month&group_by=day").await;
    assert_eq!((march.range.as_str(), march.rows.len()), ("last_month", 31));
    assert_eq!(march.from, "2026-02-28T23:00:00Z".parse::<Timestamp>().unwrap());
    assert_eq!(march.to, "2026-03-31T22:00:00Z".parse::<Timestamp>().unwrap());
    app.stop().await;
}

#[tokio::test]
async fn bad_input_and_what_members_may_see() {
    let mut app = App::start().await;
    seed(&app).await;
    let org = format!("/api/organizations/{ORG}");
    for (query, status) in [
        ("range=fortnight", 422),
        ("group_by=colour", 422),
        ("date_from=2026-13-01", 422),
        ("date_from=2026-03-01T00:00:00Z", 422),
        ("date_from=2026-03-10&date_to=2026-03-01", 422),
        ("range=today&date_from=2026-03-01", 422),
        ("date_from=2025-01-01&date_to=2026-03-01", 422),
        ("date_to=2026-03-01", 422),
        ("range=today&range=yesterday", 422),
        ("colour=blue", 422),
    ] {
        let (s, body) = app.get(&format!("{org}/usage?{query}")).await;
        assert_eq!(s, status, "{query}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["code"], "validation_error", "{query}: {body}");
        assert!(v["error"]["message"].as_str().unwrap().len() > 10);
    }
    let (s, body) = app.get("/api/organizations/nope/usage").await;
    assert_eq!((s, serde_json::from_str::<Value>(&body).unwrap()["error"]["code"].clone()), (404, json!("not_found")));
    let r = app.client.get(format!("{}{org}/usage", app.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let (s, body) = app.get(&format!("{org}/conversations/usage?group_by=campaign")).await;
    assert_eq!(s, 200, "{body}");

    // A member: their own usage, whatever they ask for; never someone else's.
    let member = app.sign_in(MEMBER.1).await;
    let (s, _, body) = app.page(&format!("{org}/usage?range=last_month&group_by=user"), Some(&member)).await;
    assert_eq!(s, 200, "{body}");
    let own: UsageResp = serde_json::from_str(&body).unwrap();
    assert_eq!(own.user_email.as_deref(), Some(MEMBER.1));
    assert_eq!(own.rows.iter().map(|r| r.key.clone()).collect::<Vec<_>>(), vec![Some(MEMBER.1.to_string())]);
    let (s, _, body) = app.page(&format!("{org}/usage?user_email={}", USERS[0].1), Some(&member)).await;
    assert_eq!(s, 403, "{body}");
    // One user's own rows are by day, action and service (and their total).
    let (s, _, body) = app.page(&format!("{org}/usage?group_by=project"), Some(&member)).await;
    assert_eq!(s, 422, "{body}");
    let (s, body) = app.get(&format!("{org}/usage?group_by=project&user_email={}", MEMBER.1)).await;
    assert_eq!(s, 422, "{body}");
    let (s, _, _) = app.page(&format!("{org}/conversations/usage"), Some(&member)).await;
    assert_eq!(s, 403);
    let (s, _, _) = app.page(&format!("{org}/credit-events/export?format=csv"), Some(&member)).await;
    assert_eq!(s, 403);

    // The dashboard: a member sees Plan and their own Credits; the other
    // tabs are neither linked nor served.
    let (s, ct, html) = app.page("/credits?range=last_month", Some(&member)).await;
    assert_eq!(s, 200, "{html}");
    assert!(ct.starts_with("text/html"));
    assert!(html.contains("You see your own usage"));
    assert!(!html.contains("id=\"chart-user\"") && !html.contains("id=\"chart-project\""));
    assert!(!html.contains("href=\"/history\"") && !html.contains("href=\"/conversations\""));
    assert!(!html.contains(USERS[0].1), "another user's email is on a member's page");
    assert_eq!(test_value(&html, "total-credits"), own.total_credits.to_string());
    for path in ["/history", "/conversations", "/history?event_type=debit"] {
        let (s, ct, html) = app.page(path, Some(&member)).await;
        assert_eq!(s, 403, "{path}");
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
        assert!(!html.contains("data-kind="), "{path} shows events");
    }

    // Signed out: the sign-in page, never a 500 nor the API's words.
    let (s, _, html) = app.page("/", None).await;
    assert_eq!(s, 200);
    assert!(html.contains("Sign in to creditd") && html.contains("creditd login-link"), "{html}");
    assert!(!html.contains("id=\"signin-notice\""), "a plain visit has no notice");
    for path in ["/credits", "/conversations", "/history", "/history?event_type=debit"] {
        let (s, ct, html) = app.page(path, None).await;
        assert_eq!((s, ct.starts_with("text/html")), (401, true), "{path}");
        assert!(
            unescape(&html).contains(dashboard::SIGN_IN_FIRST) && html.contains("creditd login-link"),
            "{path}: {html}"
        );
        assert!(!html.contains("missing or invalid API key") && !html.contains("Bearer"), "{path}: {html}");
    }
    let (s, _, html) = app.page("/", Some("creditd_session=cs_forged")).await;
    assert_eq!(s, 200);
    assert!(html.contains("Sign in to creditd"));
    let (s, _, html) = app.page("/?signed_out=1", None).await;
    assert_eq!(s, 200);
    assert!(unescape(&html).contains(dashboard::SIGNED_OUT), "{html}");

    // What a browser reaches answers a page; other clients keep the JSON.
    let (s, ct, html) = app.browse("/nope", None).await;
    assert_eq!((s, ct.starts_with("text/html")), (404, true), "{html}");
    assert!(html.contains("Page not found") && unescape(&html).contains("There is no page at /nope."), "{html}");
    let (s, ct, body) = app.page("/nope", None).await;
    assert_eq!((s, ct.as_str()), (404, "application/json"), "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"]["code"], "not_found");
    let link = app.login_url(MEMBER.1).await;
    let path = &link[app.base.len()..];
    let (s, _, _) = app.browse(path, None).await;
    assert_eq!(s, 303, "the link works once");
    let (s, ct, html) = app.browse(path, None).await;
    assert_eq!((s, ct.starts_with("text/html")), (410, true), "{html}");
    assert!(unescape(&html).contains(dashboard::LINK_USED) && html.contains("creditd login-link"), "{html}");
    let (s, ct, body) = app.page(path, None).await;
    assert_eq!((s, ct.as_str()), (410, "application/json"), "{body}");
    let export = format!("{org}/credit-events/export?format=csv");
    let (s, ct, html) = app.browse(&export, Some(&member)).await;
    assert_eq!((s, ct.starts_with("text/html")), (403, true), "{html}");
    assert!(
        html.contains("Not available to you") && unescape(&html).contains("for the organisation's owners and admins"),
        "{html}"
    );
    let (s, ct, html) = app.browse(&export, None).await;
    assert_eq!((s, ct.starts_with("text/html")), (401, true), "{html}");
    assert!(unescape(&html).contains(dashboard::SIGN_IN_FIRST));
    for icon in ["/favicon.ico", "/assets/favicon.svg"] {
        let (s, ct, body) = app.browse(icon, None).await;
        assert_eq!((s, ct.as_str()), (200, "image/svg+xml"), "{icon}");
        assert!(body.starts_with("<svg"), "{icon}");
    }

    // Bad dashboard input is an HTML page with the reason, never JSON.
    let owner = app.sign_in(OWNER.1).await;
    for (path, status, says) in [
        // The range forms speak the form's words too (issue 21, D7).
        ("/credits?range=fortnight", 422, "Choose a range from the list (Today, Yesterday, "),
        (
            "/credits?range=custom&date_from=2026-03-10&date_to=2026-03-01",
            422,
            "The end date is before the start date (March 1, 2026 is before March 10, 2026)",
        ),
        ("/credits?colour=1", 422, "This page does not take \"colour\""),
        ("/conversations?date_from=yesterday", 422, "The start date \"yesterday\" is not a date"),
        ("/history?date_from=2026-02-30", 422, "The start date \"2026-02-30\" is not a date"),
        ("/history?date_from=2026-03-01T00:00:00Z", 422, "The start date \"2026-03-01T00:00:00Z\" is not a date"),
        (
            "/history?date_from=2026-03-02&date_to=2026-03-01",
            422,
            "The end date 2026-03-01 (March 1, 2026) is before the start date 2026-03-02 (March 2, 2026)",
        ),
        ("/history?event_type=teleport", 422, "Event type \"teleport\" is not one of the types this form lists: "),
        ("/history?event_type=nope", 422, "Event type \"nope\" is not one of the types this form lists: "),
        ("/history?status=bogus", 422, "Status \"bogus\" is not one of: Success, Processing, Failed."),
        ("/history?pool=gold", 422, "Balance type \"gold\" is not one of: Plan credits, "),
        ("/history?cursor=zzz", 422, "This page link has expired: start from the first page."),
        ("/history?limit=5", 422, "This page does not take \"limit\": filter with the form's fields"),
    ] {
        let (s, ct, html) = app.page(path, Some(&owner)).await;
        assert_eq!(s, status, "{path}: {html}");
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
        let html = unescape(&html);
        assert!(html.contains(says), "{path}: {html}");
        // In the page's words: no type names, no UTC instants for dates.
        let said = strip_tags(&html);
        for api_word in ["EventKind", "succeeded", "T23:00:00Z", "T22:00:00Z"] {
            assert!(!said.contains(api_word), "{path} says {api_word}: {said}");
        }
        if path.starts_with("/history") {
            // An invalid filter (an unknown parameter too): the message by
            // the form, Export disabled.
            assert!(html.contains("id=\"filter-error\""), "{path}");
            assert!(
                html.contains("id=\"export-csv\" disabled") && html.contains("id=\"export-xlsx\" disabled"),
                "{path}"
            );
            assert!(!html.contains("/credit-events/export?"), "{path}: an export link on an invalid filter");
        }
    }
    let (s, _, html) = app.page("/history", Some(&owner)).await;
    assert_eq!(s, 200);
    assert_eq!(html.matches("data-kind=").count(), creditd_server::dashboard::HISTORY_PAGE as usize);
    assert!(html.contains("action=\"/api/organizations/acme/credit-events/export\" id=\"export\""), "{html}");
    assert!(html.contains("id=\"export-csv\" name=\"format\" value=\"csv\">"), "{html}");
    assert!(!html.contains("id=\"filter-error\""));
    // `page` without a cursor is the first page, and says so.
    let (s, _, page7) = app.page("/history?page=7", Some(&owner)).await;
    assert_eq!(s, 200);
    assert!(page7.contains("page 1,") && !page7.contains("page 7"), "{page7}");
    assert_eq!(history_rows(&page7), history_rows(&html));
    let (s, _, html) = app.page("/conversations?range=last_month", Some(&owner)).await;
    assert_eq!(s, 200, "{html}");
    // Identities active in that range, not this month.
    let (s, body) = app.get(&format!("{org}/conversations/usage?group_by=identity&date_from=2026-03-01T00:00:00%2B01:00&date_to=2026-04-01T00:00:00%2B02:00")).await;
    assert_eq!(s, 200, "{body}");
    let march: Value = serde_json::from_str(&body).unwrap();
    let active = march["rows"].as_array().unwrap().iter().filter(|r| r["key"].is_string()).count();
    assert!(active > 0);
    assert_eq!(testid_text(&html, "identities-active"), format!("{active} of 5"));
    // This month per identity against the limit of 500, whatever the range.
    let (s, body) = app
        .get(&format!(
            "{org}/conversations/usage?group_by=identity&date_from=2026-04-01T00:00:00%2B02:00&date_to=2026-05-01T00:00:00%2B02:00"
        ))
        .await;
    assert_eq!(s, 200, "{body}");
    let april: Value = serde_json::from_str(&body).unwrap();
    let rows: Vec<(String, u64)> = april["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["key"].is_string())
        .map(|r| (r["key"].as_str().unwrap().to_string(), r["conversations"].as_u64().unwrap()))
        .collect();
    assert!(!rows.is_empty());
    assert!(html.contains("against the limit of 500"));
    for (identity, n) in &rows {
        let at = html.find(&format!("<tr data-identity=\"{identity}\">")).unwrap_or_else(|| panic!("{identity}"));
        let row = strip_tags(&html[at..at + html[at..].find("</tr>").unwrap()]);
        assert_eq!(row, format!("{identity}{n}{}", 500 - n), "{identity}");
    }
    let (s, body) = app.get(&format!("{org}/conversations/usage?group_by=day&date_from=2026-03-01T00:00:00%2B01:00&date_to=2026-04-01T00:00:00%2B02:00")).await;
    assert_eq!(s, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(test_value(&html, "total-conversations"), v["total"].to_string());
    let drawn: Vec<(String, String)> = chart_marks(&html, "chart-conv-day");
    let want: Vec<(String, String)> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["key"].as_str().unwrap().to_string(), r["conversations"].to_string()))
        .collect();
    assert_eq!(drawn, want);
    app.stop().await;
}

/// Text without its tags.
fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in s.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
}

/// The cells of each history row, by column key (`data-col`).
fn history_cells(html: &str) -> Vec<BTreeMap<String, String>> {
    html.split("<tr data-id=")
        .skip(1)
        .map(|row| {
            let row = &row[..row.find("</tr>").unwrap()];
            row.split("<td")
                .skip(1)
                .map(|c| {
                    let (tag, rest) = c.split_once('>').unwrap();
                    let key = attr(&format!(" {tag}"), "data-col").unwrap().to_string();
                    (key, strip_tags(rest.split("</td>").next().unwrap()))
                })
                .collect()
        })
        .collect()
}

/// The history table's rows: (data-kind, data-amount, Kind cell, Amount
/// cell, Status cell), newest first.
fn history_rows(html: &str) -> Vec<(String, String, String, String, String)> {
    let cells = history_cells(html);
    html.split("<tr data-id=")
        .skip(1)
        .zip(cells)
        .map(|(row, c)| {
            let tag = &row[..row.find('>').unwrap()];
            let a = |n: &str| attr(tag, n).unwrap().to_string();
            (a("data-kind"), a("data-amount"), c["kind"].clone(), c["amount"].clone(), c["status"].clone())
        })
        .collect()
}

/// The `href` of the element with `id`, unescaped; None without one.
fn href_of(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let tag_start = html[..start].rfind('<').unwrap();
    let tag = &html[tag_start..start + html[start..].find('>').unwrap()];
    attr(tag, "href").map(unescape)
}

fn row_ids(html: &str) -> Vec<String> {
    html.split("<tr data-id=\"").skip(1).map(|r| r[..r.find('"').unwrap()].to_string()).collect()
}

/// The credit history tab: Previous as well as Next, page sizes, the
/// number of matching events, columns, multiple statuses, services and
/// projects from the values that exist, balance types in the form's
/// words, and an export that offers its layout.
#[tokio::test]
async fn history_pages_back_and_forth_with_columns_and_counts() {
    let mut app = App::start().await;
    seed(&app).await;
    let owner = app.sign_in(OWNER.1).await;
    let page = |path: String| {
        let app = &app;
        let owner = owner.clone();
        async move {
            let (s, ct, html) = app.page(&path, Some(&owner)).await;
            assert_eq!((s, ct.starts_with("text/html")), (200, true), "{path}: {html}");
            html
        }
    };

    // Next, Next, Previous, Previous: the same pages, back to the first.
    let first = page("/history?size=50&event_type=usage".into()).await;
    assert_eq!(row_ids(&first).len(), 50);
    assert!(href_of(&first, "prev-page").is_none() && href_of(&first, "first-page").is_none());
    let second = page(href_of(&first, "next-page").unwrap()).await;
    assert!(second.contains("page 2,"));
    let third = page(href_of(&second, "next-page").unwrap()).await;
    assert!(third.contains("page 3,"));
    let ids = |h: &str| row_ids(h);
    assert!(
        ids(&first).iter().all(|i| !ids(&second).contains(i)) && ids(&second).iter().all(|i| !ids(&third).contains(i))
    );
    let back_to_second = page(href_of(&third, "prev-page").unwrap()).await;
    assert_eq!(ids(&back_to_second), ids(&second));
    assert!(back_to_second.contains("page 2,"));
    let back_to_first = page(href_of(&back_to_second, "prev-page").unwrap()).await;
    assert_eq!(ids(&back_to_first), ids(&first));
    assert_eq!(href_of(&third, "first-page").unwrap(), "/history?event_type=usage&size=50");
    assert!(third.contains("Rows 101–150"), "rows of page 3");
    // Every link keeps the filters and the page size.
    for h in [href_of(&second, "next-page").unwrap(), href_of(&third, "prev-page").unwrap()] {
        assert!(h.contains("event_type=usage") && h.contains("size=50"), "{h}");
    }

    // How long the page takes here (a debug build on a shared machine),
    // counting up to the cap included: printed for the record.
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = std::time::Instant::now();
        page("/history".into()).await;
        times.push(t.elapsed());
    }
    times.sort();
    say(&format!("history_pages_back_and_forth_with_columns_and_counts: GET /history median {:?}", times[2]));

    // The number of matching events: exact below the cap, "more than" above.
    let purchases = app.events(&EventFilter { kinds: vec![EventKind::Purchase], ..EventFilter::default() }).await;
    let html = page("/history?event_type=purchase".into()).await;
    assert_eq!(testid_text(&html, "matching"), format!("{} events match", purchases.len()));
    let html = page("/history".into()).await;
    assert_eq!(testid_text(&html, "matching"), "More than 1,000 events match");
    for size in [25, 50, 100] {
        let html = page(format!("/history?size={size}")).await;
        assert_eq!(row_ids(&html).len(), size, "size={size}");
        assert!(html.contains(&format!("<option value=\"{size}\" selected>")));
    }

    // Columns: the default set, or those chosen, in the table's order.
    let cols = |html: &str| -> Vec<String> {
        html.split("<th scope=\"col\"")
            .skip(1)
            .map(|t| attr(&format!(" {t}"), "data-col").unwrap().to_string())
            .collect()
    };
    let html = page("/history".into()).await;
    assert_eq!(
        cols(&html),
        ["date", "kind", "service", "source", "description", "code", "status", "amount", "balance"]
    );
    let html = page("/history?col=amount&col=date&col=pool&event_type=voucher".into()).await;
    assert_eq!(cols(&html), ["date", "amount", "pool"]);
    let cells = history_cells(&html);
    assert!(!cells.is_empty());
    for c in &cells {
        assert_eq!(c.keys().collect::<Vec<_>>(), ["amount", "date", "pool"]);
        // Balance types in the form's words.
        assert_eq!(c["pool"], "Voucher credits");
    }
    // Links keep the columns.
    let html = page("/history?col=amount&col=date".into()).await;
    assert!(href_of(&html, "next-page").unwrap().contains("col=amount&col=date"));

    // Statuses, several at once; services and projects from those that exist.
    let html = page("/history?status=succeeded&status=failed".into()).await;
    assert!(html.contains("value=\"succeeded\" checked") && html.contains("value=\"failed\" checked"));
    assert!(!html.contains("value=\"processing\" checked"));
    let html = page("/history?service=scraping&col=service".into()).await;
    let cells = history_cells(&html);
    assert_eq!(cells.len(), 25);
    assert!(cells.iter().all(|c| c["service"].starts_with("Scraping")), "{cells:?}");
    assert!(html.contains("value=\"Scraping\""), "the service as it exists");
    for service in ["Enrichment", "Scraping", "AI Variables", "Workflows"] {
        assert!(html.contains(&format!("<option value=\"{service}\">")), "{service} offered");
    }
    for (id, name) in PROJECTS {
        assert!(html.contains(&format!("<option value=\"{id}\">{name} ({id})</option>")), "{id} offered");
    }
    let html = page("/history?project_id=CASE-1043&col=project".into()).await;
    assert!(history_cells(&html).iter().all(|c| c["project"].ends_with("case-1043")));

    // The export offers its layout; a voucher export keeps its codes.
    let html = page("/history?pool=voucher".into()).await;
    assert!(html.contains("<input type=\"hidden\" name=\"pool\" value=\"voucher\">"), "{html}");
    assert!(html.contains("<option value=\"fpt\" selected>"));
    for layout in ["report", "fpt", "events", "full"] {
        assert!(html.contains(&format!("<option value=\"{layout}\"")), "{layout}");
    }
    let html = page("/history".into()).await;
    assert!(html.contains("<option value=\"report\" selected>"));

    // What the page cannot use is said in its words and changes nothing.
    for (path, says) in [
        ("/history?size=30", "Rows per page \"30\" is not one of 25, 50 or 100."),
        ("/history?col=colour", "Column \"colour\" is not one of: date, kind, "),
        ("/history?cursor=c10&back=zzz", "The page's Previous links are not ones this page made"),
        ("/history?back=c10", "The page's Previous links are not ones this page made"),
    ] {
        let (s, _, html) = app.page(path, Some(&owner)).await;
        assert_eq!(s, 422, "{path}");
        assert!(unescape(&html).contains(says), "{path}: {html}");
        assert!(html.contains("id=\"export-csv\" disabled"), "{path}");
    }
    app.stop().await;
}

/// An organisation with members and nothing else (the empty states).
async fn empty_org(app: &App, org: &str, owner: &str) {
    app.store.create_org(org, OrgSettings::new("Newco", ZONE)).await.unwrap();
    add_member(app, org, ("Nora New", owner), Role::Owner).await;
}

/// Adds `(name, email)` to `org` as `role`, now.
async fn add_member(app: &App, org: &str, (name, email): (&str, &str), role: Role) {
    app.0.add_member(org, name, email, role).await;
}

/// The Plan tab's meter (plan credits used against the allocation, add-ons
/// apart), the rollover policy, averages rounded for people, and what a
/// new organisation sees on every tab.
#[tokio::test]
async fn plan_meter_averages_and_an_empty_org() {
    let mut app = App::start().await;
    seed(&app).await;
    let owner = app.sign_in(OWNER.1).await;
    let (_, summary) = app.get(&format!("/api/organizations/{ORG}/summary")).await;
    let summary: Value = serde_json::from_str(&summary).unwrap();
    let m = |k: &str| serde_json::from_value::<Micros>(summary[k].clone()).unwrap();
    let used = m("plan_credits").checked_sub(m("plan_credits_left")).unwrap();
    assert!(!used.is_negative() && m("add_on_credits").is_positive(), "{summary}");
    let (s, _, html) = app.page("/", Some(&owner)).await;
    assert_eq!(s, 200);
    let c = creditd_server::charts::credits;
    assert_eq!(testid_text(&html, "plan-meter"), format!("{} of 10,000 plan credits used", c(used)));
    // What this period used beyond the meter (credits carried over or
    // added, spent first) is said under it, or nothing is.
    let all = m("used_this_period");
    match all.checked_sub(used).filter(|o| o.is_positive()) {
        Some(other) => assert_eq!(
            testid_text(&html, "meter-note"),
            format!(
                "{} used this period in all; {} of it from credits carried over or added, which the consumption order spent first.",
                c(all),
                c(other)
            )
        ),
        None => assert!(!html.contains("data-testid=\"meter-note\""), "{html}"),
    }
    assert!(
        testid_text(&html, "add-ons")
            .starts_with(&format!("Add-on credits, apart from the plan: {} left", c(m("add_on_credits"))))
    );
    assert_eq!(
        testid_text(&html, "rollover"),
        "Plan credits left at renewal are carried over, up to 5,000 credits in all (the newest kept first)."
    );

    // The daily average: exact in its title, rounded to 0.1 for people.
    let (_, _, html) = app.page("/credits?range=last_month", Some(&owner)).await;
    let march = app.usage("range=last_month").await;
    let average = Micros::from_micros(march.total_credits.micros() / 31);
    assert_eq!(test_value(&html, "daily-average"), average.to_string());
    assert_eq!(testid_text(&html, "daily-average"), creditd_server::charts::rounded(average, 1));
    let shown = testid_text(&html, "daily-average");
    assert!(shown.split_once('.').is_none_or(|(_, f)| f.len() == 1), "{shown}");

    // A new organisation: no plan, no period, no axes drawn over nothing.
    empty_org(&app, "newco", "nora@newco.example").await;
    let token = creditd_server::auth::issue_login_link(
        app.store.directory(),
        "newco",
        "nora@newco.example",
        app.clock.now(),
        SignedDuration::from_mins(15),
    )
    .await
    .unwrap();
    let r = app.client.get(format!("{}/login/{token}", app.base)).send().await.unwrap();
    let nora = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let (s, _, html) = app.page("/", Some(&nora)).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("data-testid=\"no-plan\""));
    assert!(!html.contains("role=\"meter\"") && !html.contains("data-testid=\"rollover\""));
    for (path, says, chart) in [
        ("/credits", "No credits used in this range.", "id=\"chart-day\""),
        ("/conversations", "No conversations in this range.", "id=\"chart-conv-day\""),
    ] {
        let (s, _, html) = app.page(path, Some(&nora)).await;
        assert_eq!(s, 200, "{path}: {html}");
        assert!(html.contains(says), "{path}");
        assert!(!html.contains(chart), "{path}: an axis drawn over nothing");
    }
    let (s, _, html) = app.page("/history", Some(&nora)).await;
    assert_eq!(s, 200);
    assert!(html.contains("No credit events match these filters."));
    assert_eq!(testid_text(&html, "matching"), "0 events match");
    app.stop().await;
}

/// One day's stacked bar: (day, total, [(series, amount)]).
type DayStack = (String, String, Vec<(String, String)>);

/// Each day's stacked bar of chart `id`.
fn stacks(html: &str, id: &str) -> Vec<DayStack> {
    let start = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no {id}"));
    let rest = &html[start..];
    let end = rest.find("</svg>").unwrap();
    let mut out: Vec<DayStack> = Vec::new();
    for piece in rest[..end].split('<').skip(1) {
        let tag = piece.split('>').next().unwrap_or("");
        if tag.starts_with("g ") && tag.contains("class=\"mark\"") {
            out.push((attr(tag, "data-key").unwrap().into(), attr(tag, "data-value").unwrap().into(), Vec::new()));
        } else if tag.starts_with("rect ") && tag.contains("class=\"seg\"") {
            let seg = (unescape(attr(tag, "data-series").unwrap()), attr(tag, "data-value").unwrap().to_string());
            out.last_mut().unwrap().2.push(seg);
        }
    }
    out
}

/// The (key, value) of each entry of the stacked chart's legend.
fn legend(html: &str) -> Vec<(String, String)> {
    let start = html.find("<ul class=\"series\"").unwrap();
    let rest = &html[start..];
    let end = rest.find("</ul>").unwrap();
    rest[..end]
        .split("<li ")
        .skip(1)
        .map(|t| {
            (
                unescape(attr(&format!(" {t}"), "data-key").unwrap()),
                attr(&format!(" {t}"), "data-value").unwrap().into(),
            )
        })
        .collect()
}

/// The Credits tab's usage by action per day (stacked), the same span
/// before with its change, and the cumulative use against the allocation,
/// each checked against the usage API.
#[tokio::test]
async fn credits_tab_stacks_compares_and_accumulates() {
    let mut app = App::start().await;
    seed(&app).await;
    let owner = app.sign_in(OWNER.1).await;
    let member = app.sign_in(MEMBER.1).await;
    let c = creditd_server::charts::credits;
    // (tab range, the span before, the span now it is compared with)
    for (range, before, now) in [
        ("range=last_month", ("2026-02-01", "2026-02-28"), ("2026-03-01", "2026-03-31")),
        // April so far (two days) against March's first two days.
        ("range=this_month", ("2026-03-01", "2026-03-02"), ("2026-04-01", "2026-04-02")),
        ("range=last_week", ("2026-03-16", "2026-03-22"), ("2026-03-23", "2026-03-29")),
        ("range=today", ("2026-04-01", "2026-04-01"), ("2026-04-02", "2026-04-02")),
        ("date_from=2026-03-10&date_to=2026-03-12", ("2026-03-07", "2026-03-09"), ("2026-03-10", "2026-03-12")),
    ] {
        for (who, cookie, email) in [("owner", &owner, None), ("member", &member, Some(MEMBER.1))] {
            let scope = email.map(|e| format!("&user_email={e}")).unwrap_or_default();
            let (s, _, html) = app.page(&format!("/credits?{range}"), Some(cookie)).await;
            assert_eq!(s, 200, "{html}");
            let what = format!("{range} as {who}");
            let by_action = app.usage(&format!("{range}&group_by=action{scope}")).await;
            let by_day = app.usage(&format!("{range}&group_by=day{scope}")).await;

            // 1. Stacked by action: the top four apart, the rest "Other";
            // every segment is that day's usage of that action (or of the
            // others), and the legend the range's totals.
            let top: Vec<String> = by_action.rows.iter().take(4).map(|r| r.key.clone().unwrap_or_default()).collect();
            let mut want_legend: Vec<(String, String)> = by_action
                .rows
                .iter()
                .take(4)
                .map(|r| (r.key.clone().unwrap_or_default(), r.credits.to_string()))
                .collect();
            if by_action.rows.len() > 4 {
                let rest = by_action.rows[4..].iter().fold(Micros::ZERO, |a, r| a.checked_add(r.credits).unwrap());
                want_legend.push(("(other)".into(), rest.to_string()));
            }
            if by_action.rows.is_empty() {
                assert!(html.contains("No credits used in this range."), "{what}");
                continue;
            }
            let one_day = by_day.rows.len() == 1;
            if !one_day {
                assert_eq!(legend(&html), want_legend, "{what}: legend");
            }
            let today = "2026-04-02";
            let days: Vec<&UsageRowResp> = by_day.rows.iter().filter(|r| r.key.as_deref().unwrap() <= today).collect();
            let drawn = if one_day { Vec::new() } else { stacks(&html, "chart-day") };
            if !one_day {
                assert_eq!(drawn.len(), days.len(), "{what}");
            }
            for ((day, total, segs), api_day) in drawn.iter().zip(&days) {
                assert_eq!(Some(day.as_str()), api_day.key.as_deref());
                assert_eq!(*total, api_day.credits.to_string(), "{what} {day}");
                let one = app.usage(&format!("date_from={day}&date_to={day}&group_by=action{scope}")).await;
                let mut want: Vec<(String, Micros)> = Vec::new();
                let mut other = Micros::ZERO;
                for r in &one.rows {
                    let k = r.key.clone().unwrap_or_default();
                    if top.contains(&k) {
                        want.push((k, r.credits));
                    } else {
                        other = other.checked_add(r.credits).unwrap();
                    }
                }
                want.sort_by_key(|(k, _)| top.iter().position(|t| t == k));
                if !other.is_zero() {
                    want.push(("(other)".into(), other));
                }
                want.retain(|(_, m)| !m.is_zero());
                let want: Vec<(String, String)> = want.into_iter().map(|(k, m)| (k, m.to_string())).collect();
                assert_eq!(*segs, want, "{what} {day}: segments");
            }

            // 2. The span before, and the change to one decimal; today so
            // far is compared with yesterday until the same time (10:30).
            let mut then = app.usage(&format!("date_from={}&date_to={}{scope}", before.0, before.1)).await;
            if range == "range=today" {
                let from: Timestamp = "2026-03-31T22:00:00Z".parse().unwrap();
                let cut: Timestamp = "2026-04-01T08:30:00Z".parse().unwrap();
                let mine: Vec<Event> = app
                    .events(&EventFilter { user_email: email.map(str::to_string), ..consuming_filter(from, cut) })
                    .await;
                then.total_credits = consumed(&mine).0;
                assert_eq!(testid_text(&html, "before-label"), "April 1, 2026 until 10:30", "{what}");
            }
            let so_far = app.usage(&format!("date_from={}&date_to={}{scope}", now.0, now.1)).await;
            assert_eq!(test_value(&html, "before-total"), then.total_credits.to_string(), "{what}");
            assert!(html.contains(&format!("data-from=\"{}\" data-to=\"{}\"", before.0, before.1)), "{what}");
            let change = testid_text(&html, "change");
            // The change computed here in integer tenths of a percent.
            let (n, b) = (i128::from(so_far.total_credits.micros()), i128::from(then.total_credits.micros()));
            if b > 0 {
                let tenths = ((n - b) * 2000 + (n - b).signum() * b) / (2 * b);
                let sign = if tenths > 0 {
                    "+"
                } else if tenths < 0 {
                    "-"
                } else {
                    ""
                };
                let a = tenths.abs();
                assert_eq!(
                    change,
                    format!("{sign}{}.{}%", c(Micros::from_micros(a as i64 / 10 * 1_000_000)), a % 10),
                    "{what}"
                );
            } else {
                assert_eq!(change, "—", "{what}");
            }

            // 3. Cumulative use: the running sum of the days so far, the
            // last one the total; the plan's allocation drawn as a level.
            let marks = chart_marks(&html, "chart-cumulative");
            if one_day {
                // Per hour: the running sum of the hour bars.
                let hours = chart_marks(&html, "chart-hour");
                let mut run = Micros::ZERO;
                let want: Vec<(String, String)> = hours
                    .iter()
                    .map(|(k, v)| {
                        run = run.checked_add(v.parse().unwrap()).unwrap();
                        (k.clone(), run.to_string())
                    })
                    .collect();
                assert_eq!(marks, want, "{what}: cumulative by hour");
                assert_eq!(run, by_day.total_credits, "{what}");
                assert!(!html.contains("data-testid=\"daily-average\""), "{what}");
                continue;
            }
            let mut run = Micros::ZERO;
            let want: Vec<(String, String)> = days
                .iter()
                .map(|r| {
                    run = run.checked_add(r.credits).unwrap();
                    (r.key.clone().unwrap(), run.to_string())
                })
                .collect();
            assert_eq!(marks, want, "{what}: cumulative");
            assert_eq!(marks.last().unwrap().1, by_day.total_credits.to_string());
            assert!(html.contains("<g class=\"limit\" data-value=\"10000\">"), "{what}: the allocation");
            assert_eq!(
                testid_text(&html, "allocation"),
                "Against the plan's allocation: 10,000 plan credits this period."
            );

            // 4. One day has no "daily average" (it would be its total).
            assert_eq!(html.contains("data-testid=\"daily-average\""), by_day.rows.len() > 1, "{what}");
        }
    }
    // Past 62 days: the plain daily bars, and a note why.
    let (_, _, html) = app.page("/credits?date_from=2026-01-20&date_to=2026-04-02", Some(&owner)).await;
    assert!(!html.contains("class=\"seg\"") && html.contains("drawn for ranges up to 62 days"));
    assert_eq!(chart_marks(&html, "chart-day").len(), 73);
    app.stop().await;
}

/// The org's `locale`: set over the API (checked, stored as its tag), then
/// every figure of the Plan and Credits tabs as a Madrid org reads them
/// (seed 002: "14.931", "449 €"), one date form per page; back to en-US.
#[tokio::test]
async fn a_madrid_org_reads_numbers_money_and_dates_its_way() {
    use creditd_core::locale::Locale;
    let mut app = App::start().await;
    seed(&app).await;
    let owner = app.sign_in(OWNER.1).await;
    let patch = |body: Value| {
        let (client, url) = (app.client.clone(), format!("{}/api/organizations/{ORG}", app.base));
        async move {
            let r = client.patch(url).bearer_auth(KEY).json(&body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    // Refused: unknown tags, nothing written.
    for bad in ["es", "xx-XX", "", "es-ES-x"] {
        let (s, body) = patch(json!({"locale": bad})).await;
        assert_eq!((s, body["error"]["code"].as_str()), (422, Some("validation_error")), "{bad}: {body}");
    }
    let (_, org) = app.get(&format!("/api/organizations/{ORG}")).await;
    assert!(!org.contains("\"locale\""), "the default is not written: {org}");
    let (s, body) = patch(json!({"locale": "es_es"})).await;
    assert_eq!(s, 200, "{body}");
    let (_, org) = app.get(&format!("/api/organizations/{ORG}")).await;
    assert!(org.contains("\"locale\":\"es-ES\""), "stored as its tag: {org}");

    let es = Locale::EsEs;
    let (_, summary) = app.get(&format!("/api/organizations/{ORG}/summary")).await;
    let summary: Value = serde_json::from_str(&summary).unwrap();
    let left: Micros = serde_json::from_value(summary["credits_left"].clone()).unwrap();
    let (s, _, html) = app.page("/", Some(&owner)).await;
    assert_eq!(s, 200, "{html}");
    assert_eq!(testid_text(&html, "credits-left"), es.number(left));
    assert!(left.micros() >= 10_000_000_000, "grouped in Spanish from five digits: {left}");
    assert!(testid_text(&html, "credits-left").contains('.'), "{left}");
    assert_eq!(testid_text(&html, "price"), "449\u{a0}€ / month");
    assert_eq!(testid_text(&html, "top-up-date"), "1 de mayo de 2026");
    assert_eq!(testid_text(&html, "period"), "1 de abril – 30 de abril de 2026");
    // One date form on the page: the forecast's day too.
    let day: Date = serde_json::from_value(summary["forecast"]["runs_out_on"].clone()).unwrap();
    assert!(html.contains(&format!("credits run out on {}", es.date(day))), "the forecast's day in Spanish");
    assert!(!html.contains(&day.to_string()), "no ISO date on the Plan tab");
    assert_eq!(
        testid_text(&html, "rollover"),
        "Plan credits left at renewal are carried over, up to 5000 credits in all (the newest kept first)."
    );

    let (_, _, html) = app.page("/credits?range=last_month", Some(&owner)).await;
    let march = app.usage("range=last_month&group_by=action").await;
    assert_eq!(testid_text(&html, "total-credits"), es.number(march.total_credits));
    assert_eq!(test_value(&html, "total-credits"), march.total_credits.to_string(), "the data stays exact");
    assert_eq!(testid_text(&html, "range-label"), "1 de marzo – 31 de marzo de 2026 (Europe/Madrid)");
    assert_eq!(testid_text(&html, "before-label"), "1 de febrero – 28 de febrero de 2026");
    assert!(testid_text(&html, "change").ends_with("\u{a0}%"), "{}", testid_text(&html, "change"));
    assert!(html.contains(">1 mar</text>"), "axis days in Spanish");
    assert!(!html.contains(">Mar 1</text>"), "no English axis day");
    let first = &march.rows[0];
    assert!(html.contains(&format!("<td class=\"num\">{}</td>", es.number(first.credits))), "the action bars");
    // One day, in words.
    let (_, _, html) = app.page("/credits?range=today", Some(&owner)).await;
    assert_eq!(testid_text(&html, "range-label"), "jueves, 2 de abril de 2026 (Europe/Madrid)");
    // The history's balance line (as of its newest event: now) in Spanish numbers.
    let (_, balance) = app.get(&format!("/api/organizations/{ORG}/balance")).await;
    let balance: Value = serde_json::from_str(&balance).unwrap();
    let available: Micros = serde_json::from_value(balance["available"].clone()).unwrap();
    let held: Micros = serde_json::from_value(balance["held"].clone()).unwrap();
    let (_, _, html) = app.page("/history", Some(&owner)).await;
    let line = testid_text(&html, "balance-at");
    assert!(
        line.contains(&format!(": {} available, {} held", es.number(available), es.number(held))),
        "{line} ({available}, {held})"
    );

    // No figure on any tab is written the en-US way (issue 21, D5: the next
    // one missed is caught here).
    for path in ["/", "/credits?range=last_month", "/credits?range=today", "/conversations", "/history", "/statement"] {
        let (s, _, html) = app.page(path, Some(&owner)).await;
        assert_eq!(s, 200, "{path}");
        let said = crate::tryout::text(&html);
        assert_eq!(crate::tryout::english_grouped(&said), Vec::<String>::new(), "{path}: {said}");
    }

    // Back to the default: en-US.
    let (s, _) = patch(json!({"locale": "en-US"})).await;
    assert_eq!(s, 200);
    let (_, _, html) = app.page("/", Some(&owner)).await;
    assert_eq!(testid_text(&html, "price"), "€449 / month");
    assert_eq!(testid_text(&html, "top-up-date"), "May 1, 2026");
    assert_eq!(testid_text(&html, "credits-left"), creditd_server::charts::credits(left));
    app.stop().await;
}

/// A bar list shows the 20 largest groups and sums the rest as one "Other
/// (n)" row, so an org of thousands of projects draws a page of 21 rows;
/// the total still covers every group.
#[tokio::test]
async fn bar_lists_keep_twenty_rows_and_sum_the_rest() {
    let mut app = App::start().await;
    app.clock.set(NOW.parse().unwrap());
    app.store.create_org(ORG, OrgSettings::new("Acme Research", ZONE)).await.unwrap();
    add_member(&app, ORG, OWNER, Role::Owner).await;
    let mut ops = vec![credit(CreditKind::Grant, 100_000, None, "System", "Welcome")];
    for p in 1..=25i64 {
        ops.push(Op::Usage {
            amount: Micros::from_micros(p * 1_000_000),
            ctx: EventCtx { project_id: Some(format!("p{p:02}")), ..EventCtx::default() },
        });
    }
    for r in app.store.execute(ops.into_iter().map(|op| Command::new(ORG, op, None)).collect()).await {
        r.unwrap();
    }
    let owner = app.sign_in(OWNER.1).await;
    let (s, _, html) = app.page("/credits?range=today", Some(&owner)).await;
    assert_eq!(s, 200, "{html}");
    let marks = chart_marks(&html, "chart-project");
    assert_eq!(marks.len(), 21, "{marks:?}");
    assert_eq!(marks[0], ("p25".to_string(), "25".to_string()));
    assert_eq!(marks[19], ("p06".to_string(), "6".to_string()));
    // p01–p05: 1 + 2 + 3 + 4 + 5.
    assert_eq!(marks[20], ("(other)".to_string(), "15".to_string()));
    assert!(html.contains("Other (5)"));
    assert_eq!(test_value(&html, "total-credits"), "325");
    app.stop().await;
}

/// A purchase of 7,000 that fails and one of 300 that succeeds: the
/// dashboard's history table and the report downloads (CSV, Excel) show no
/// credit that never arrived, and say the status in the Kind cell; the full
/// layout keeps every amount and status as stored.
#[tokio::test]
async fn failed_and_processing_purchases_show_no_credits() {
    let mut app = App::start().await;
    app.store.create_org(ORG, OrgSettings::new("Acme Research", ZONE)).await.unwrap();
    add_member(&app, ORG, OWNER, Role::Owner).await;
    let run = |op: Op| {
        let store = app.store.clone();
        async move { creditd_store::execute_one(store.as_ref(), Command::new(ORG, op, None)).await.unwrap() }
    };
    let processing = |credits: i64| {
        let mut op = credit(CreditKind::Purchase, credits, None, "Stripe", "Top-up");
        if let Op::Credit(c) = &mut op {
            c.status = Some(creditd_core::Status::Processing);
        }
        op
    };
    let settle = |id: String, status| Op::SettlePurchase { purchase_id: id, status, ctx: EventCtx::default() };
    let failed = run(processing(7_000)).await.record.unwrap().id;
    run(settle(failed, creditd_core::Status::Failed)).await;
    let ok = run(processing(300)).await.record.unwrap().id;
    run(settle(ok, creditd_core::Status::Succeeded)).await;
    // Newest first, as the table and the report list them.
    let want = [
        ("Purchase", "300"),
        ("Purchase (processing)", "0"),
        ("Purchase (failed)", "0"),
        ("Purchase (processing)", "0"),
    ];

    let owner = app.sign_in(OWNER.1).await;
    let (s, _, html) = app.page("/history", Some(&owner)).await;
    assert_eq!(s, 200, "{html}");
    let rows = history_rows(&html);
    let got: Vec<(&str, &str)> = rows.iter().map(|r| (r.2.as_str(), r.1.as_str())).collect();
    assert_eq!(got, want, "{rows:?}");
    let shown: Vec<&str> = rows.iter().map(|r| r.3.as_str()).collect();
    assert_eq!(shown, ["+300", "0", "0", "0"]);
    let statuses: Vec<&str> = rows.iter().map(|r| r.4.as_str()).collect();
    assert_eq!(statuses, ["Success", "Processing", "Failed", "Processing"]);
    assert!(rows.iter().all(|r| r.0 == "purchase"));

    let export = format!("/api/organizations/{ORG}/credit-events/export");
    let (s, body) = app.get(&format!("{export}?format=csv")).await;
    assert_eq!(s, 200, "{body}");
    let mut rdr = csv::Reader::from_reader(body.as_bytes());
    let got: Vec<(String, String)> =
        rdr.records().map(|r| r.unwrap()).map(|r| (r[4].to_string(), r[5].to_string())).collect();
    let want_owned: Vec<(String, String)> = want.iter().map(|(k, a)| (k.to_string(), a.to_string())).collect();
    assert_eq!(got, want_owned, "report CSV");

    let r = app.client.get(format!("{}{export}?format=xlsx", app.base)).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let bytes = r.bytes().await.unwrap().to_vec();
    use calamine::{Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    let got: Vec<(String, String)> = range
        .rows()
        .skip(1)
        .map(|r| {
            let Data::Float(f) = r[5] else { panic!("{:?}", r[5]) };
            (r[4].to_string(), f.to_string())
        })
        .collect();
    assert_eq!(got, want_owned, "report Excel");

    // The full layout is verbatim.
    let (s, body) = app.get(&format!("{export}?format=csv&layout=full")).await;
    assert_eq!(s, 200, "{body}");
    let mut rdr = csv::Reader::from_reader(body.as_bytes());
    let got: Vec<(String, String)> =
        rdr.records().map(|r| r.unwrap()).map(|r| (r[4].to_string(), r[6].to_string())).collect();
    let full = [("7000", "processing"), ("7000", "failed"), ("300", "processing"), ("300", "succeeded")];
    assert_eq!(got, full.map(|(a, s)| (a.to_string(), s.to_string())));
    app.stop().await;
}

// ---------------------------------------------------------------------------
// The browser test

/// A chromedriver child process on a loopback port, killed on drop.
struct Driver {
    child: std::process::Child,
    url: String,
}

impl Drop for Driver {
    /// Ends chromedriver and every browser it started (its process group),
    /// also when the test failed half-way and never closed its session.
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = std::process::Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

async fn start_driver(chromedriver: &Path) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    use std::os::unix::process::CommandExt as _;
    let child = std::process::Command::new(chromedriver)
        .process_group(0)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let driver = Driver { child, url };
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{}/status", driver.url)).send().await
            && r.status().is_success()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start on port {port}");
}

/// A WebDriver session: the few commands the test needs, over HTTP.
struct Browser {
    client: reqwest::Client,
    session: String,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    async fn open(driver: &Driver, chromium: &Path, profile: &Path, downloads: &Path) -> Browser {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_str().unwrap(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--disable-breakpad", "--disable-crash-reporter",
                    "--window-size=1366,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": {
                    "download.default_directory": downloads.to_str().unwrap(),
                    "download.prompt_for_download": false,
                    "download.directory_upgrade": true,
                    "safebrowsing.enabled": false
                }
            }
        }}});
        let r = client.post(format!("{}/session", driver.url)).json(&caps).send().await.unwrap();
        let v: Value = r.json().await.unwrap();
        let id = v["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no WebDriver session: {v}")).to_string();
        let b = Browser { client, session: format!("{}/session/{id}", driver.url) };
        // Allow downloads into the directory (headless Chrome asks otherwise).
        b.cdp("Browser.setDownloadBehavior", json!({"behavior": "allow", "downloadPath": downloads.to_str().unwrap()}))
            .await;
        b
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.session);
        let req = match method {
            "GET" => self.client.get(&url),
            "DELETE" => self.client.delete(&url),
            _ => self.client.post(&url).json(&body.unwrap_or(json!({}))),
        };
        let r = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert!(status.is_success(), "WebDriver {method} {path}: {status} {v}");
        v["value"].clone()
    }

    async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.cmd("POST", "/goog/cdp/execute", Some(json!({"cmd": cmd, "params": params}))).await
    }

    async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url}))).await;
    }

    async fn url(&self) -> String {
        self.cmd("GET", "/url", None).await.as_str().unwrap().to_string()
    }

    async fn find_all(&self, css: &str) -> Vec<String> {
        let v = self.cmd("POST", "/elements", Some(json!({"using": "css selector", "value": css}))).await;
        v.as_array().unwrap().iter().map(|e| e[ELEMENT].as_str().unwrap().to_string()).collect()
    }

    async fn find(&self, css: &str) -> String {
        let all = self.find_all(css).await;
        assert!(!all.is_empty(), "no element {css} on {}", self.url().await);
        all[0].clone()
    }

    async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd("POST", &format!("/element/{el}/click"), None).await;
    }

    /// Clicks something that loads a new page and waits until it has.
    async fn click_nav(&self, css: &str) {
        let before = self.url().await;
        self.click(css).await;
        for _ in 0..100 {
            let now = self.url().await;
            let ready = self.js("return document.readyState").await;
            if now != before && ready == json!("complete") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("clicking {css} on {before} loaded no new page");
    }

    async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.cmd("GET", &format!("/element/{el}/text"), None).await.as_str().unwrap_or_default().to_string()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd("POST", &format!("/element/{el}/clear"), None).await;
        self.cmd("POST", &format!("/element/{el}/value"), Some(json!({"text": text}))).await;
    }

    async fn js(&self, script: &str) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    /// Sets an `<input type=date>` (typing into one depends on the locale).
    async fn set_value(&self, css: &str, value: &str) {
        let script = format!(
            "document.querySelector({}).value = {};",
            serde_json::to_string(css).unwrap(),
            serde_json::to_string(value).unwrap()
        );
        self.js(&script).await;
    }

    /// Lays pages out `width` CSS pixels wide (a phone below 600), until
    /// changed again; 1366 is a laptop's 1366×900.
    async fn set_width(&self, width: u32) {
        let mobile = width < 600;
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": if mobile { 844 } else { 900 }, "deviceScaleFactor": 1, "mobile": mobile}),
        )
        .await;
    }

    /// A full-page PNG at `width` CSS pixels (a phone with `mobile`).
    async fn screenshot(&self, width: u32, path: &Path) {
        let mobile = width < 600;
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": if mobile { 844 } else { 900 }, "deviceScaleFactor": 1, "mobile": mobile}),
        )
        .await;
        if mobile {
            // Nothing but the scrollable regions may be wider than a phone.
            let wide = self
                .js("const w = document.documentElement.clientWidth; \
                     return [...document.querySelectorAll('body *')].filter(e => !e.closest('.scroll-x, .table-wrap, .tabs')) \
                     .filter(e => e.getBoundingClientRect().right > w + 1).map(e => e.tagName + '.' + (e.getAttribute('class') || '') + ' right=' + Math.round(e.getBoundingClientRect().right) + ' w=' + Math.round(e.getBoundingClientRect().width) + ' of ' + w + (e.tagName == 'TABLE' ? ' cols=' + [...e.rows[0].cells].map(c => Math.round(c.getBoundingClientRect().width)).join(',') + ' id=' + e.id : '')).slice(0, 5)")
                .await;
            assert_eq!(wide, json!([]), "wider than a phone on {}", self.url().await);
        }
        let m = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let h = m["cssContentSize"]["height"].as_f64().unwrap_or(900.0).ceil().min(12_000.0);
        let w = m["cssContentSize"]["width"].as_f64().unwrap_or(f64::from(width)).ceil();
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true,
                       "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1}}),
            )
            .await;
        std::fs::write(path, base64_decode(shot["data"].as_str().unwrap())).unwrap();
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({})).await;
    }

    /// Runs axe-core (`axe_js`, its source) on the page shown: the rules'
    /// serious, moderate and critical violations, as "rule (impact): targets".
    async fn axe(&self, axe_js: &str) -> Vec<String> {
        if self.js("return typeof window.axe").await != json!("object") {
            self.js(axe_js).await;
        }
        let r = self
            .js("return axe.run(document, {resultTypes: ['violations']}).then(r => [r.passes.length, r.violations \
                 .filter(v => ['moderate', 'serious', 'critical'].includes(v.impact)) \
                 .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 4).map(n => n.target.join(' ')).join(', '))])")
            .await;
        // axe ran its rules (a page where it could not would pass nothing).
        assert!(r[0].as_u64().unwrap() > 10, "axe-core passed no rules: {r}");
        serde_json::from_value(r[1].clone()).unwrap()
    }

    async fn close(self) {
        let _ = self.client.delete(&self.session).send().await;
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let mut map = [255u8; 256];
    for (i, c) in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".iter().enumerate() {
        map[*c as usize] = i as u8;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut buf, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = map[c as usize];
        if v == 255 {
            continue;
        }
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

/// Waits for a finished download whose name ends in `ext`.
async fn wait_download(dir: &Path, ext: &str) -> PathBuf {
    // Chromium may show the file's final name (empty) while it still writes
    // a `.crdownload` beside it: done when no `.crdownload` is left and the
    // file's size is above zero and the same on two looks in a row.
    let mut last: Option<(PathBuf, u64)> = None;
    for _ in 0..300 {
        if let Ok(rd) = std::fs::read_dir(dir) {
            let paths: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
            let pending = paths.iter().any(|p| p.extension().is_some_and(|x| x == "crdownload"));
            let done = paths.into_iter().find(|p| p.extension().is_some_and(|x| x == ext));
            if let (false, Some(p)) = (pending, done) {
                let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                if size > 0 && last.as_ref() == Some(&(p.clone(), size)) {
                    return p;
                }
                last = Some((p, size));
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no complete .{ext} download in {}", dir.display());
}

/// axe-core's source: `CREDITD_AXE_JS` names `axe.min.js` (`.ci/run`
/// installs it with npm under /var/tmp/creditd-axe). None, and a line
/// saying SKIPPED, without it.
fn axe_source() -> Option<String> {
    let Some(path) = std::env::var_os("CREDITD_AXE_JS") else {
        say("SKIPPED the axe-core checks: CREDITD_AXE_JS is not set (npm install axe-core; point it at axe.min.js)");
        return None;
    };
    match std::fs::read_to_string(&path) {
        Ok(js) => Some(js),
        Err(e) => panic!("CREDITD_AXE_JS={}: {e}", Path::new(&path).display()),
    }
}

/// Checks the page shown with axe-core (when it is there): no serious or
/// moderate violation, at desktop and phone widths.
async fn check_axe(b: &Browser, axe: Option<&str>, what: &str) {
    let Some(axe) = axe else { return };
    let found = b.axe(axe).await;
    assert!(found.is_empty(), "axe on {what} ({}): {found:#?}", b.url().await);
}

fn screenshots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("..").join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_headless_chromium() {
    let (Some(chromium), Some(chromedriver)) =
        (find_program(&["chromium", "chromium-browser", "google-chrome"]), find_program(&["chromedriver"]))
    else {
        say(
            "SKIPPED dashboard_in_headless_chromium: chromium and chromedriver are not installed (apt-get install chromium chromium-driver)",
        );
        return;
    };
    let mut app = App::start().await;
    seed(&app).await;
    let shots = screenshots_dir();
    let work = tempfile::tempdir().unwrap();
    let downloads = work.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let driver = start_driver(&chromedriver).await;
    let b = Browser::open(&driver, &chromium, &work.path().join("profile"), &downloads).await;

    // Sign in with a one-time link: the Plan tab.
    b.goto(&app.login_url(OWNER.1).await).await;
    assert_eq!(b.url().await, format!("{}/", app.base));
    assert_eq!(b.text("h1").await, "Plan");
    assert_eq!(b.text("[data-testid=plan-name]").await, "Genesys");
    let (_, summary) = app.get(&format!("/api/organizations/{ORG}/summary")).await;
    let summary: Value = serde_json::from_str(&summary).unwrap();
    let left: Micros = serde_json::from_value(summary["credits_left"].clone()).unwrap();
    assert_eq!(b.text("[data-testid=credits-left]").await, creditd_server::charts::credits(left));
    let unlabelled = b
        .js("return [...document.querySelectorAll('input:not([type=hidden]),select')].filter(e => !e.labels || !e.labels.length).length")
        .await;
    assert_eq!(unlabelled, json!(0));
    // The icon the page links loads (no favicon.ico 404 on every load).
    let icon = b
        .js("return fetch(document.querySelector('link[rel=icon]').href).then(r => [r.status, r.headers.get('content-type')])")
        .await;
    assert_eq!(icon, json!([200, "image/svg+xml"]));
    b.screenshot(1366, &shots.join("plan-desktop.png")).await;
    b.screenshot(390, &shots.join("plan-phone.png")).await;

    // Credits: this month by default, then Last month, then custom dates.
    b.click_nav("nav.tabs a[href='/credits']").await;
    assert_eq!(b.text("h1").await, "Credits");
    assert!(b.text("[data-testid=range-label]").await.contains("April 1"));
    b.click_nav(".presets a[href='/credits?range=last_month']").await;
    assert!(b.url().await.ends_with("/credits?range=last_month"));
    let api = app.usage("range=last_month&group_by=action").await;
    let shown = b.js("return document.querySelector('[data-testid=total-credits]').dataset.value").await;
    assert_eq!(shown, json!(api.total_credits.to_string()));
    let bars = b.find_all("#chart-day .mark").await;
    assert_eq!(bars.len(), 31);
    let actions = b
        .js("return [...document.querySelectorAll('#chart-action .mark')].map(m => [m.dataset.key, m.dataset.value])")
        .await;
    let want: Vec<Value> =
        api.rows.iter().map(|r| json!([r.key.clone().unwrap_or_default(), r.credits.to_string()])).collect();
    assert_eq!(actions, json!(want));
    // Keyboard: a bar takes focus and shows its value.
    b.js("document.querySelectorAll('#chart-day .mark')[4].focus()").await;
    let tip = b.js("const t = document.getElementById('tip'); return t.hidden ? '' : t.textContent").await;
    assert!(tip.as_str().unwrap().contains("credits"), "tooltip: {tip}");
    // Usage by action per day (stacked), the span before, the cumulative
    // use against the allocation; on a phone the charts need no sideways
    // swipe and their text stays readable.
    let legend =
        b.js("return [...document.querySelectorAll('#chart-day-cap ~ ul.series li')].map(l => l.dataset.key)").await;
    assert_eq!(legend.as_array().unwrap().len(), 5, "four actions and Other: {legend}");
    let segs = b.js("return document.querySelectorAll('#chart-day .seg').length").await;
    assert!(segs.as_u64().unwrap() > 31, "segments: {segs}");
    assert_eq!(b.text("[data-testid=before-label]").await, "February 1 – February 28, 2026");
    assert!(!b.find_all("#chart-cumulative .limit").await.is_empty());
    for width in [1366, 390] {
        b.set_width(width).await;
        let fits = b
            .js("const w = document.documentElement.clientWidth; \
                 return [...document.querySelectorAll('.scroll-x')].map(s => s.scrollWidth <= s.clientWidth + 1 && s.getBoundingClientRect().right <= w + 1) \
                   .concat([document.documentElement.scrollWidth <= w + 1, \
                            Math.round(document.querySelector('#chart-day .axis').getBoundingClientRect().height) >= 9])")
            .await;
        assert_eq!(fits, json!([true, true, true, true]), "the Credits tab at {width} px");
    }
    b.set_width(1366).await;
    b.screenshot(1366, &shots.join("credits-desktop.png")).await;
    b.screenshot(390, &shots.join("credits-phone.png")).await;
    // Today, per hour in Madrid: 10:30 now, so 00:00–10:00 drawn and the
    // 13 hours after them empty, not zero; no "daily average" for a day.
    b.click_nav(".presets a[href='/credits?range=today']").await;
    let hours = b
        .js("return [document.querySelectorAll('#chart-hour .mark').length, document.querySelectorAll('#chart-hour [data-future=true]').length, \
             document.querySelectorAll('[data-testid=daily-average]').length, document.querySelector('#chart-hour .mark').dataset.key]")
        .await;
    assert_eq!(hours, json!([11, 13, 0, "00:00"]), "today by hour");
    b.screenshot(1366, &shots.join("credits-today-desktop.png")).await;
    b.screenshot(390, &shots.join("credits-today-phone.png")).await;
    b.click_nav(".presets a[href='/credits?range=last_month']").await;
    b.set_value("input[name=date_from]", "2026-03-09").await;
    b.set_value("input[name=date_to]", "2026-03-15").await;
    b.click_nav("form.custom button[type=submit]").await;
    let url = b.url().await;
    assert!(url.contains("range=custom&date_from=2026-03-09&date_to=2026-03-15"), "{url}");
    assert_eq!(b.find_all("#chart-day .mark").await.len(), 7);
    let week = app.usage("date_from=2026-03-09&date_to=2026-03-15").await;
    let shown = b.js("return document.querySelector('[data-testid=total-credits]').dataset.value").await;
    assert_eq!(shown, json!(week.total_credits.to_string()));

    // Conversations: a daily line and two pies.
    b.click_nav("nav.tabs a[href='/conversations']").await;
    b.click_nav(".presets a[href='/conversations?range=last_month']").await;
    let (_, body) = app.get(&format!("/api/organizations/{ORG}/conversations/usage?group_by=identity&date_from=2026-03-01T00:00:00%2B01:00&date_to=2026-04-01T00:00:00%2B02:00")).await;
    let march: Value = serde_json::from_str(&body).unwrap();
    let active = march["rows"].as_array().unwrap().iter().filter(|r| r["key"].is_string()).count();
    assert_eq!(b.text("[data-testid=identities-active]").await, format!("{active} of 5"), "identities of last month");
    assert_eq!(b.find_all("#chart-conv-day .mark").await.len(), 31);
    assert!(!b.find_all("#chart-campaign .mark").await.is_empty());
    assert!(!b.find_all("#chart-identity .mark").await.is_empty());
    b.screenshot(1366, &shots.join("conversations-desktop.png")).await;
    b.screenshot(390, &shots.join("conversations-phone.png")).await;

    // Credit history: filter, page, export.
    b.click_nav("nav.tabs a[href='/history']").await;
    assert_eq!(b.find_all("#events tbody tr[data-id]").await.len(), 25);
    b.screenshot(1366, &shots.join("history-desktop.png")).await;
    b.screenshot(390, &shots.join("history-phone.png")).await;
    b.click("input[name=event_type][value=debit]").await;
    b.click("input[name=event_type][value=usage]").await;
    b.set_value("#filters input[name=date_from]", "2026-03-01").await;
    b.set_value("#filters input[name=date_to]", "2026-03-31").await;
    b.set_value("#filters select[name=project_id]", "case-1043").await;
    b.click_nav("#filters button[type=submit]").await;
    let url = b.url().await;
    assert!(url.contains("event_type=debit") && url.contains("project_id=case-1043"), "{url}");
    // Only the fields filled in are sent.
    let query = url.split_once('?').unwrap().1;
    assert!(query.split('&').all(|kv| !kv.ends_with('=')), "empty fields sent: {url}");
    for empty in ["pool=", "status=", "service=", "user_email="] {
        assert!(!query.contains(empty), "{empty} sent: {url}");
    }
    let kinds =
        b.js("return [...document.querySelectorAll('#events tbody tr[data-id]')].map(r => r.dataset.kind)").await;
    let kinds: Vec<String> = serde_json::from_value(kinds).unwrap();
    assert_eq!(kinds.len(), 25);
    assert!(kinds.iter().all(|k| k == "debit" || k == "usage"), "{kinds:?}");
    let first_page =
        b.js("return [...document.querySelectorAll('#events tbody tr[data-id]')].map(r => r.dataset.id)").await;
    b.click_nav("#next-page").await;
    assert!(b.url().await.contains("cursor="));
    let second_page =
        b.js("return [...document.querySelectorAll('#events tbody tr[data-id]')].map(r => r.dataset.id)").await;
    assert_ne!(first_page, second_page);
    let seqs = |v: &Value| -> Vec<u64> {
        v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().trim_start_matches("evt_").parse().unwrap()).collect()
    };
    assert!(seqs(&first_page).iter().min() > seqs(&second_page).iter().max(), "pages go back in time");
    b.screenshot(1366, &shots.join("history-filtered-page2.png")).await;

    // What the filters select, straight from the store.
    let tz = TimeZone::get(ZONE).unwrap();
    let (from, to) = days_bounds(Date::new(2026, 3, 1).unwrap(), Date::new(2026, 3, 31).unwrap(), &tz);
    let expected = app
        .events(&EventFilter {
            date_from: Some(from),
            date_to: Some(to),
            kinds: vec![EventKind::Debit, EventKind::Usage],
            project_id: Some("case-1043".into()),
            ..EventFilter::default()
        })
        .await;
    assert!(expected.len() > 50, "{}", expected.len());

    b.click("#export-csv").await;
    let csv_path = wait_download(&downloads, "csv").await;
    let mut rdr = csv::Reader::from_path(&csv_path).unwrap();
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(&headers[0], "Case Name");
    let kind_col = headers.iter().position(|h| h == "Kind").unwrap();
    let id_col = headers.iter().position(|h| h == "Case ID").unwrap();
    let amount_col = headers.iter().position(|h| h == "Amount").unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), expected.len(), "CSV rows");
    for (row, e) in rows.iter().zip(&expected) {
        assert_eq!(&row[id_col], "case-1043");
        assert_eq!(row[kind_col].to_ascii_lowercase(), e.kind.title().to_ascii_lowercase());
        // A debit reads 0: its credits left the balance with its hold.
        let amount = if e.kind == EventKind::Debit { Micros::ZERO } else { e.amount };
        assert_eq!(row[amount_col].parse::<Micros>().unwrap(), amount);
    }

    b.click("#export-xlsx").await;
    let xlsx_path = wait_download(&downloads, "xlsx").await;
    use calamine::{Data, Reader, Xlsx, open_workbook};
    let mut wb: Xlsx<_> = open_workbook(&xlsx_path).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    let mut it = range.rows();
    let header: Vec<String> = it.next().unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(header[0], "Case Name");
    let data: Vec<&[Data]> = it.collect();
    assert_eq!(data.len(), expected.len(), "Excel rows");
    let case_col = header.iter().position(|h| h == "Case ID").unwrap();
    assert!(data.iter().all(|r| r[case_col] == "case-1043"));
    println!("downloads checked: {} and {}", csv_path.display(), xlsx_path.display());

    // The export offers its layout: voucher credits export with their codes.
    for f in std::fs::read_dir(&downloads).unwrap().flatten() {
        std::fs::remove_file(f.path()).unwrap();
    }
    b.goto(&format!("{}/history?pool=voucher", app.base)).await;
    assert_eq!(b.js("return document.getElementById('export-layout').value").await, json!("fpt"));
    b.click("#export-csv").await;
    let csv_path = wait_download(&downloads, "csv").await;
    let mut rdr = csv::Reader::from_path(&csv_path).unwrap();
    assert_eq!(rdr.headers().unwrap().iter().collect::<Vec<_>>(), creditd_export::FPT_HEADERS);
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    // WELCOME300 on February 20 and March 20.
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| (&r[2], &r[4]) == ("Voucher", "WELCOME300")), "{rows:?}");

    // A service typed in another case finds the one that exists.
    b.goto(&format!("{}/history", app.base)).await;
    b.type_into("#filters input[name=service]", "scraping").await;
    b.click_nav("#filters button[type=submit]").await;
    let url = b.url().await;
    assert!(url.ends_with("/history?service=scraping&size=25&col=date&col=kind&col=service&col=source&col=description&col=code&col=status&col=amount&col=balance"), "{url}");
    let services = b
        .js("return [...document.querySelectorAll('#events td[data-col=service] .v')].map(c => c.firstChild.textContent)")
        .await;
    let services: Vec<String> = serde_json::from_value(services).unwrap();
    assert_eq!(services.len(), 25);
    assert!(services.iter().all(|s| s == "Scraping"), "{services:?}");

    // The defects a browser met: every page it reaches is a page.
    b.goto(&format!("{}/history?page=7", app.base)).await;
    assert!(b.text("#events-h").await.contains("page 1,"), "page 7 without a cursor is page 1");
    b.goto(&format!("{}/history?status=bogus&event_type=nope", app.base)).await;
    let said = b.text("#filter-error").await;
    assert!(said.contains("Event type \"nope\" is not one of the types this form lists"), "{said}");
    assert!(!said.contains("EventKind"), "{said}");
    assert_eq!(b.js("return [document.getElementById('export-csv').disabled, document.getElementById('export-xlsx').disabled, document.querySelectorAll('a[href*=\"/export\"]').length]").await, json!([true, true, 0]));
    b.goto(&format!("{}/history?status=bogus", app.base)).await;
    assert_eq!(
        b.text("#filter-error").await,
        "Status \"bogus\" is not one of: Success, Processing, Failed. Change the filters and apply them again; nothing can be exported until they are valid."
    );
    b.goto(&format!("{}/history?date_from=2026-03-10&date_to=2026-03-02", app.base)).await;
    assert!(
        b.text("#filter-error").await.starts_with(
            "The end date 2026-03-02 (March 2, 2026) is before the start date 2026-03-10 (March 10, 2026)"
        )
    );
    b.screenshot(1366, &shots.join("history-invalid-filter.png")).await;
    // A bad range on Credits, Conversations and Statement: the tab with its
    // range form and the reason in the form's words, and the form mends it
    // (issue 21, D7); an old page link of the history leads to the first.
    for tab in ["/credits", "/conversations", "/statement"] {
        b.goto(&format!("{}{tab}?date_from=2026-03-10&date_to=2026-03-02", app.base)).await;
        assert_eq!(
            b.text("#range-error").await,
            "The end date is before the start date (March 2, 2026 is before March 10, 2026): swap them, or pick \
             an end date on or after the start date.",
            "{tab}"
        );
        let title = match tab {
            "/credits" => "Credits",
            "/conversations" => "Conversations",
            _ => "Statement",
        };
        assert_eq!(b.text("h1").await, title);
        b.set_value("form.custom input[name=date_to]", "2026-03-12").await;
        b.click_nav("form.custom button[type=submit]").await;
        assert!(b.find_all("#range-error").await.is_empty(), "{tab}: mended");
        assert!(b.text("[data-testid=range-label]").await.starts_with("March 10 – March 12, 2026"), "{tab}");
    }
    b.goto(&format!("{}/credits?range=bogus", app.base)).await;
    assert!(b.text("#range-error").await.starts_with("Choose a range from the list (Today, Yesterday, "));
    b.screenshot(1366, &shots.join("credits-invalid-range.png")).await;
    b.click_nav(".presets a[href='/credits?range=last_month']").await;
    assert!(b.find_all("#range-error").await.is_empty());
    // Daily (seed 004): a day by hour, walked day by day.
    b.click_nav(".presets a[href='/credits?range=daily']").await;
    assert_eq!(b.text("[data-testid=range-label]").await, "Thursday, April 2, 2026 (Europe/Madrid)");
    assert_eq!(b.find_all("#chart-hour").await.len(), 1, "by hour");
    assert!(b.find_all("#next-day").await.is_empty(), "no day after today");
    b.click_nav("#prev-day").await;
    assert_eq!(b.text("[data-testid=range-label]").await, "Wednesday, April 1, 2026 (Europe/Madrid)");
    assert_eq!(b.find_all("#chart-hour").await.len(), 1);
    b.click_nav("#next-day").await;
    assert!(b.url().await.ends_with("/credits?range=daily&day=2026-04-02"), "{}", b.url().await);
    b.goto(&format!("{}/history?cursor=garbage&page=2", app.base)).await;
    assert_eq!(
        b.text("#filter-error").await,
        "This page link has expired: start from the first page. Go to the first page"
    );
    b.click_nav("#expired-first-page").await;
    assert_eq!(b.url().await, format!("{}/history", app.base));
    assert!(b.find_all("#filter-error").await.is_empty());
    b.goto(&format!("{}/nope", app.base)).await;
    assert_eq!(b.text("h1").await, "Page not found");
    assert_eq!(b.text("#error-message").await, "There is no page at /nope.");
    // Each tab's landmarks have names of their own (axe landmark-unique).
    for tab in ["/", "/credits", "/conversations", "/history"] {
        b.goto(&format!("{}{tab}", app.base)).await;
        let dupes = b
            .js("const name = e => e.getAttribute('aria-label') || (e.getAttribute('aria-labelledby') || '').split(' ').map(i => (document.getElementById(i) || {}).textContent || '').join(' '); \
                 const marks = [...document.querySelectorAll('[role=region], section[aria-label], section[aria-labelledby], nav, main, header, [role=alert]')].map(e => (e.getAttribute('role') || e.tagName) + ':' + name(e).trim()); \
                 return marks.filter((m, i) => marks.indexOf(m) !== i)")
            .await;
        assert_eq!(dupes, json!([]), "landmarks with one name on {tab}");
    }
    // On a phone the tab strip shows the current tab.
    b.cdp(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true}),
    )
    .await;
    b.goto(&format!("{}/history", app.base)).await;
    let seen = b
        .js("const a = document.querySelector('nav.tabs [aria-current=page]').getBoundingClientRect(); \
             const s = document.querySelector('nav.tabs ul'); \
             return [s.scrollWidth > s.clientWidth, a.left >= 0 && a.right <= document.documentElement.clientWidth]")
        .await;
    assert_eq!(seen, json!([true, true]), "the current tab on a phone");
    // The history table needs no sideways swipe on a phone: one card per event.
    let fits = b
        .js("const w = document.querySelector('.table-wrap'); \
             return [w.scrollWidth <= w.clientWidth + 1, document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1, \
                     document.querySelectorAll('#events tbody tr[data-id]').length]")
        .await;
    assert_eq!(fits, json!([true, true, 25]), "the history on a phone");
    b.cdp("Emulation.clearDeviceMetricsOverride", json!({})).await;

    // Signing out says so; a page asked for then is the sign-in page, and
    // so is a used link, each with what to do.
    b.click_nav("form[action='/logout'] button").await;
    assert_eq!(b.text("#signin-notice").await, dashboard::SIGNED_OUT);
    b.goto(&format!("{}/history", app.base)).await;
    assert_eq!(b.text("h1").await, "Sign in to creditd");
    assert_eq!(b.text("#signin-notice").await, dashboard::SIGN_IN_FIRST);
    b.goto(&format!("{}/api/organizations/{ORG}/credit-events/export?format=csv", app.base)).await;
    assert_eq!(b.text("#signin-notice").await, dashboard::SIGN_IN_FIRST);
    let link = app.login_url(MEMBER.1).await;
    b.goto(&link).await;
    b.click_nav("form[action='/logout'] button").await;
    b.goto(&link).await;
    assert_eq!(b.text("#signin-notice").await, dashboard::LINK_USED);
    assert!(b.text("main").await.contains("creditd login-link"));
    b.screenshot(1366, &shots.join("signin-link-used.png")).await;

    // Signed in as a member: Plan and their own Credits only.
    b.goto(&app.login_url(MEMBER.1).await).await;
    let tabs = b.js("return [...document.querySelectorAll('nav.tabs a')].map(a => a.textContent)").await;
    assert_eq!(tabs, json!(["Plan", "Credits"]));
    b.click_nav("nav.tabs a[href='/credits']").await;
    assert!(b.find_all("#chart-user").await.is_empty());
    b.screenshot(1366, &shots.join("member-credits-desktop.png")).await;
    b.goto(&format!("{}/history", app.base)).await;
    assert_eq!(b.text("h1").await, "Not available to you");
    b.screenshot(1366, &shots.join("member-history-refused.png")).await;
    // The export URL a member might open: a page, not JSON.
    b.goto(&format!("{}/api/organizations/{ORG}/credit-events/export?format=csv", app.base)).await;
    assert_eq!(b.text("h1").await, "Not available to you");
    assert!(
        b.text("#error-message")
            .await
            .contains("Downloading the credit history is for the organisation's owners and admins")
    );

    // Every tab a member opens, at both widths.
    b.goto(&format!("{}/", app.base)).await;
    b.screenshot(1366, &shots.join("member-plan-desktop.png")).await;
    b.screenshot(390, &shots.join("member-plan-phone.png")).await;
    b.goto(&format!("{}/credits", app.base)).await;
    b.screenshot(390, &shots.join("member-credits-phone.png")).await;

    // A new organisation's every tab, at both widths: empty states.
    empty_org(&app, "newco", "nora@newco.example").await;
    let token = creditd_server::auth::issue_login_link(
        app.store.directory(),
        "newco",
        "nora@newco.example",
        app.clock.now(),
        SignedDuration::from_mins(15),
    )
    .await
    .unwrap();
    b.goto(&format!("{}/login/{token}", app.base)).await;
    assert!(!b.find_all("[data-testid=no-plan]").await.is_empty());
    for (tab, name) in
        [("/", "plan"), ("/credits", "credits"), ("/conversations", "conversations"), ("/history", "history")]
    {
        b.goto(&format!("{}{tab}", app.base)).await;
        assert!(b.find_all("svg.time").await.is_empty(), "{tab}: an axis drawn over nothing");
        b.screenshot(1366, &shots.join(format!("empty-{name}-desktop.png"))).await;
        b.screenshot(390, &shots.join(format!("empty-{name}-phone.png"))).await;
    }
    b.click_nav("form[action='/logout'] button").await;
    b.goto(&app.login_url(MEMBER.1).await).await;

    // axe-core on every tab each role opens, at both widths, and on the
    // pages around them (sign-in, refusals, a bad filter).
    if let Some(axe) = axe_source() {
        b.click_nav("form[action='/logout'] button").await;
        check_axe(&b, Some(&axe), "signed out").await;
        // The check can fail: a second landmark named like the tabs is found.
        b.goto(&app.login_url(OWNER.1).await).await;
        b.js("document.body.insertAdjacentHTML('beforeend', '<nav aria-label=\"Dashboard\"><a href=\"/\">Plan</a></nav>')").await;
        let found = b.axe(&axe).await;
        assert!(found.iter().any(|v| v.starts_with("landmark-unique (moderate)")), "{found:?}");
        b.click_nav("form[action='/logout'] button").await;
        let everything: &[&str] = &[
            "/",
            "/credits",
            "/credits?range=today",
            "/conversations",
            "/history",
            "/history?status=bogus",
            "/nope",
            "/credits?range=bogus",
            "/credits?range=daily&day=2026-03-31",
            "/conversations?date_from=2026-03-10&date_to=2026-03-02",
            "/statement?range=last_month",
            "/statement?range=bogus",
            "/history?cursor=garbage&page=2",
        ];
        for (email, tabs) in [
            (OWNER.1, everything),
            (ADMIN.1, everything),
            (MEMBER.1, &["/", "/credits?range=last_month", "/history"][..]),
        ] {
            b.goto(&app.login_url(email).await).await;
            for tab in tabs {
                for width in [1366, 390] {
                    b.set_width(width).await;
                    b.goto(&format!("{}{tab}", app.base)).await;
                    check_axe(&b, Some(&axe), &format!("{tab} as {email} at {width} px")).await;
                }
            }
            b.set_width(1366).await;
            b.goto(&format!("{}/", app.base)).await;
            b.click_nav("form[action='/logout'] button").await;
        }
        b.goto(&app.login_url(OWNER.1).await).await;
        b.goto(&app.login_url(OWNER.1).await).await;
        check_axe(&b, Some(&axe), "a used sign-in link").await;
        say("dashboard_in_headless_chromium: axe-core found no serious or moderate violation");
    }

    // A Madrid organisation (locale es-ES) as its owner reads it, at both
    // widths, axe-clean: "14.931"-style numbers, "449 €", dates in Spanish.
    let r = app
        .client
        .patch(format!("{}/api/organizations/{ORG}", app.base))
        .bearer_auth(KEY)
        .json(&json!({"locale": "es-ES"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    b.goto(&app.login_url(OWNER.1).await).await;
    let es = creditd_core::locale::Locale::EsEs;
    let (_, statement) = app.get(&format!("/api/organizations/{ORG}/statement?range=last_month")).await;
    let statement: Value = serde_json::from_str(&statement).unwrap();
    let opening: Micros = serde_json::from_value(statement["opening"]["balance"].clone()).unwrap();
    let closing: Micros = serde_json::from_value(statement["closing"]["balance"].clone()).unwrap();
    assert_ne!(es.number(closing), creditd_server::charts::credits(closing), "Spanish differs from English");
    for width in [1366, 390] {
        b.set_width(width).await;
        b.goto(&format!("{}/", app.base)).await;
        // WebDriver's text turns the no-break space into a space.
        assert_eq!(b.text("[data-testid=price]").await, "449 € / month", "at {width} px");
        let raw = b.js("return document.querySelector('[data-testid=price]').textContent").await;
        assert_eq!(raw, json!("449\u{a0}€ / month"));
        assert_eq!(b.text("[data-testid=top-up-date]").await, "1 de mayo de 2026");
        assert_eq!(b.text("[data-testid=credits-left]").await, es.number(left));
        b.goto(&format!("{}/credits?range=last_month", app.base)).await;
        assert_eq!(b.text("[data-testid=range-label]").await, "1 de marzo – 31 de marzo de 2026 (Europe/Madrid)");
        let ticks = b.js("return [...document.querySelectorAll('#chart-day text.axis')].map(t => t.textContent)").await;
        assert!(ticks.as_array().unwrap().iter().any(|t| t == "1 mar"), "{ticks}");
        if let Some(axe) = axe_source() {
            check_axe(&b, Some(&axe), &format!("/credits in es-ES at {width} px")).await;
            b.goto(&format!("{}/", app.base)).await;
            check_axe(&b, Some(&axe), &format!("/ in es-ES at {width} px")).await;
        }
        // The printable statement in Spanish figures (issue 21, D4).
        b.goto(&format!("{}/statement?range=last_month", app.base)).await;
        assert_eq!(b.text("[data-testid=opening]").await, es.number(opening), "at {width} px");
        assert_eq!(b.text("[data-testid=closing]").await, es.number(closing), "at {width} px");
        if let Some(axe) = axe_source() {
            check_axe(&b, Some(&axe), &format!("/statement in es-ES at {width} px")).await;
        }
    }
    b.set_width(1366).await;
    b.screenshot(1366, &shots.join("plan-es-desktop.png")).await;
    b.screenshot(390, &shots.join("plan-es-phone.png")).await;

    b.close().await;
    drop(driver);
    app.stop().await;
    say(&format!("dashboard_in_headless_chromium: screenshots in {}", shots.display()));
}

/// A line on the test's stderr that the harness does not capture, so a
/// skip or where the screenshots went shows in every run's output.
fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Buy more and Change plan on the Plan tab, in a real browser: the owner
/// picks an amount and clicks Buy more (a processing purchase and its
/// `top_up.requested` webhook naming the owner exist), requests a plan
/// from the catalogue (a `plan_change.requested` webhook, nothing changed)
/// and, once the organisation is self-service, switches to it (applied);
/// a member sees neither. axe-core finds nothing on the tab for either,
/// at both widths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buy_more_and_change_plan_in_headless_chromium() {
    let (Some(chromium), Some(chromedriver)) =
        (find_program(&["chromium", "chromium-browser", "google-chrome"]), find_program(&["chromedriver"]))
    else {
        say("SKIPPED buy_more_and_change_plan_in_headless_chromium: chromium and chromedriver are not installed");
        return;
    };
    let mut app = App::start().await;
    empty_org(&app, ORG, OWNER.1).await;
    add_member(&app, ORG, MEMBER, Role::Member).await;
    add_member(&app, ORG, ADMIN, Role::Admin).await;
    let send = |method: reqwest::Method, path: &str, body: Value| {
        let req = app.client.request(method, format!("{}{path}", app.base)).bearer_auth(KEY).json(&body);
        async move {
            let r = req.send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    for (id, name, credits, price) in [("basic", "Basic", 1000, "49 € / month"), ("pro", "Pro", 10000, "449 € / month")]
    {
        let plan = json!({"name": name, "credits_per_period": credits, "identities_included": 3, "price": 49,
            "currency": "EUR", "price_text": price});
        let (s, v) = send(reqwest::Method::PUT, &format!("/api/plans/{id}"), plan).await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, v) =
        send(reqwest::Method::PUT, &format!("/api/organizations/{ORG}/plan"), json!({"plan_id": "basic"})).await;
    assert_eq!((s, &v["plan"]["name"]), (200, &json!("Basic")), "{v}");
    let (s, v) =
        send(reqwest::Method::PATCH, &format!("/api/organizations/{ORG}"), json!({"buy_more_amounts": [100, 500]}))
            .await;
    assert_eq!(s, 200, "{v}");
    let outbox = |kind: creditd_store::webhooks::WebhookType| {
        let store = app.store.clone();
        async move {
            let all = store.webhooks().messages(ORG, 100).await.unwrap();
            all.into_iter()
                .filter(|m| m.kind == kind)
                .map(|m| serde_json::from_str::<Value>(&m.body).unwrap())
                .collect::<Vec<_>>()
        }
    };
    let shots = screenshots_dir();
    let axe = axe_source();
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(work.path().join("downloads")).unwrap();
    let driver = start_driver(&chromedriver).await;
    let b = Browser::open(&driver, &chromium, &work.path().join("profile"), &work.path().join("downloads")).await;

    // The owner: Buy more 500 credits.
    b.goto(&app.login_url(OWNER.1).await).await;
    assert_eq!(b.text("#buy-more-h").await, "Buy more credits");
    assert_eq!(b.find_all("[data-testid=buy-more] input[name=amount]").await.len(), 2);
    for width in [1366, 390] {
        b.set_width(width).await;
        b.goto(&format!("{}/", app.base)).await;
        check_axe(&b, axe.as_deref(), &format!("the Plan tab with Buy more at {width} px")).await;
    }
    b.set_width(1366).await;
    b.screenshot(1366, &shots.join("plan-buy-more-desktop.png")).await;
    b.screenshot(390, &shots.join("plan-buy-more-phone.png")).await;
    b.click("[data-testid=buy-more] input[name=amount][value='500']").await;
    b.click_nav("[data-testid=buy-more-submit]").await;
    let url = b.url().await;
    let purchase = url.split("bought=").nth(1).unwrap_or_else(|| panic!("{url}")).to_string();
    assert!(b.text("[data-testid=money-in-notice]").await.contains(&format!("Purchase {purchase} requested")));
    let events = app.events(&EventFilter::default()).await;
    let e = events.iter().find(|e| e.hold_id.as_deref() == Some(purchase.as_str())).expect("the purchase event");
    assert_eq!(
        (e.kind, e.status, e.amount),
        (EventKind::Purchase, creditd_core::Status::Processing, Micros::from_credits(500).unwrap())
    );
    assert_eq!(e.source.as_deref(), Some("buy_more"));
    let top_ups = outbox(creditd_store::webhooks::WebhookType::TopUpRequested).await;
    assert_eq!(top_ups.len(), 1);
    assert_eq!(top_ups[0]["data"]["purchase_id"], json!(purchase));
    assert_eq!(top_ups[0]["data"]["requested_by"], json!(OWNER.1));

    // Change plan: requested (not self-service), then applied.
    assert_eq!(b.find_all("[data-testid=plan-choice-basic] [data-testid=plan-current]").await.len(), 1);
    assert_eq!(b.text("[data-testid=change-to-pro]").await, "Request Pro");
    b.click_nav("[data-testid=change-to-pro]").await;
    assert!(b.url().await.ends_with("/?plan_change=requested&plan=pro"));
    assert!(b.text("[data-testid=money-in-notice]").await.contains("requested"));
    let asked = outbox(creditd_store::webhooks::WebhookType::PlanChangeRequested).await;
    assert_eq!(asked.len(), 1);
    assert_eq!((&asked[0]["data"]["plan_id"], &asked[0]["data"]["requested_by"]), (&json!("pro"), &json!(OWNER.1)));
    assert_eq!(app.store.org_state(ORG).await.unwrap().plans.plan.unwrap().name, "Basic");
    let (s, v) =
        send(reqwest::Method::PATCH, &format!("/api/organizations/{ORG}"), json!({"self_service_plan_change": true}))
            .await;
    assert_eq!(s, 200, "{v}");
    b.goto(&format!("{}/", app.base)).await;
    assert_eq!(b.text("[data-testid=change-to-pro]").await, "Switch to Pro");
    b.click_nav("[data-testid=change-to-pro]").await;
    assert!(b.url().await.ends_with("/?plan_change=applied&plan=pro"));
    assert_eq!(b.text("[data-testid=money-in-notice]").await, "Plan changed to Pro: see the plan details.");
    assert_eq!(b.find_all("[data-testid=plan-choice-pro] [data-testid=plan-next]").await.len(), 1);
    assert!(b.find_all("[data-testid=change-to-pro]").await.is_empty(), "already chosen");
    let st = app.store.org_state(ORG).await.unwrap();
    assert_eq!(st.plans.next_plan.map(|p| p.name).as_deref(), Some("Pro"), "from the next renewal");
    assert_eq!(outbox(creditd_store::webhooks::WebhookType::PlanChangeRequested).await.len(), 1, "applied: no request");
    b.screenshot(1366, &shots.join("plan-changed-desktop.png")).await;
    // An old page's form (its token no longer the session's): the page says
    // so in words, not the API's header names (issue 21, D8).
    b.goto(&format!("{}/", app.base)).await;
    b.js("document.querySelector('[data-testid=buy-more] input[name=csrf_token]').value = 'stale'").await;
    b.click_nav("[data-testid=buy-more-submit]").await;
    assert_eq!(b.text("h1").await, "This form has expired");
    assert_eq!(b.text("#error-message").await, "This form has expired: reload the page and try again.");
    check_axe(&b, axe.as_deref(), "an expired form").await;
    b.goto(&format!("{}/", app.base)).await;
    b.click_nav("form[action='/logout'] button").await;

    // An admin sees neither: Buy more and Change plan are the owners'.
    b.goto(&app.login_url(ADMIN.1).await).await;
    assert_eq!(b.text("h1").await, "Plan");
    assert!(b.find_all("[data-testid=buy-more], [data-testid=change-plan]").await.is_empty());
    b.click_nav("form[action='/logout'] button").await;

    // A member sees neither.
    b.goto(&app.login_url(MEMBER.1).await).await;
    assert_eq!(b.text("h1").await, "Plan");
    assert!(b.find_all("[data-testid=buy-more]").await.is_empty());
    assert!(b.find_all("[data-testid=change-plan]").await.is_empty());
    assert!(b.find_all("form[action='/plan/buy-more'], form[action='/plan/change']").await.is_empty());
    for width in [1366, 390] {
        b.set_width(width).await;
        b.goto(&format!("{}/", app.base)).await;
        check_axe(&b, axe.as_deref(), &format!("the Plan tab as a member at {width} px")).await;
    }
    b.screenshot(390, &shots.join("plan-member-phone.png")).await;
    b.close().await;
    drop(driver);
    app.stop().await;
}

/// The Plan tab's rate card: an empty state without a book, then every
/// line of the version in force (flat, tiered, per model), and a priced
/// event's quantity and unit in the history table.
#[tokio::test]
async fn rate_card_and_quantities_on_the_dashboard() {
    let mut app = App::start().await;
    empty_org(&app, "rates", "nora@rates.example").await;
    let token = creditd_server::auth::issue_login_link(
        app.store.directory(),
        "rates",
        "nora@rates.example",
        app.clock.now(),
        SignedDuration::from_mins(15),
    )
    .await
    .unwrap();
    let r = app.client.get(format!("{}/login/{token}", app.base)).send().await.unwrap();
    let nora = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let (s, _, html) = app.page("/", Some(&nora)).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("data-testid=\"no-rates\""), "{html}");
    assert!(!html.contains("id=\"rate-card\""));
    let (_, _, html) = app.page("/credits?range=today", Some(&nora)).await;
    assert!(!html.contains("data-testid=\"by-price\""), "no priced usage: no quantities card");

    let send = |method: reqwest::Method, path: String, body: Value| {
        let req = app.client.request(method, format!("{}{path}", app.base)).bearer_auth(KEY).json(&body);
        async move {
            let r = req.send().await.unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.text().await.unwrap());
        }
    };
    let book = serde_json::json!({"prices": [
        {"key": "image_generation", "service": "images", "activity": "generate", "unit": "image",
         "credits_per_unit": 2.5},
        {"key": "enrichment", "service": "crm", "activity": "enrich", "unit": "row",
         "tiers": [{"up_to": 1000, "credits_per_unit": 1}, {"credits_per_unit": "0.5"}]},
        {"key": "tokens_in", "service": "llm", "activity": "input", "unit": "1k tokens",
         "dimensions": {"model": "large"}, "credits_per_unit": 0.3}
    ]});
    send(reqwest::Method::PUT, "/api/price-books/standard".into(), book).await;
    // A later version is not in force yet: the card shows version 1.
    let later = serde_json::json!({"effective_from": "2099-01-01T00:00:00Z", "prices": [
        {"key": "other", "service": "s", "activity": "a", "unit": "u", "credits_per_unit": 9}]});
    send(reqwest::Method::PUT, "/api/price-books/standard".into(), later).await;
    send(reqwest::Method::PATCH, "/api/organizations/rates".into(), serde_json::json!({"price_book": "standard"}))
        .await;
    send(
        reqwest::Method::POST,
        "/api/organizations/rates/credits".into(),
        serde_json::json!({"kind": "grant", "amount": 100}),
    )
    .await;
    send(
        reqwest::Method::POST,
        "/api/organizations/rates/usage".into(),
        serde_json::json!({"price": "image_generation", "quantity": 3}),
    )
    .await;

    let (s, _, html) = app.page("/", Some(&nora)).await;
    assert_eq!(s, 200, "{html}");
    assert!(!html.contains("data-testid=\"no-rates\""), "{html}");
    assert!(testid_text(&html, "rate-book").starts_with("Price book standard, version 1, in force since"), "{html}");
    for line in [
        "<td><code>image_generation</code></td><td>images / generate</td><td>image</td><td>2.5 per image</td><td>default</td>",
        "<td>1 per row from 0 to 1,000; 0.5 per row beyond 1,000 this period</td>",
        "<td>0.3 per 1k tokens</td><td>model=large</td>",
    ] {
        assert!(html.contains(line), "{line} in {html}");
    }
    assert!(!html.contains("<code>other</code>"), "the later version is not in force");
    let (s, _, html) = app.page("/history", Some(&nora)).await;
    assert_eq!(s, 200);
    assert!(html.contains("<span class=\"detail\">3 image</span>"), "{html}");
    // The Credits tab says how many of what: quantities in their units,
    // and what they cost; plain usage is not a price's row.
    send(
        reqwest::Method::POST,
        "/api/organizations/rates/credits".into(),
        serde_json::json!({"kind": "grant", "amount": 1000}),
    )
    .await;
    send(
        reqwest::Method::POST,
        "/api/organizations/rates/usage".into(),
        serde_json::json!({"price": "tokens_in", "quantity": "1500.25", "dimensions": {"model": "large"}}),
    )
    .await;
    send(reqwest::Method::POST, "/api/organizations/rates/usage".into(), serde_json::json!({"amount": 1})).await;
    let (s, _, html) = app.page("/credits?range=today", Some(&nora)).await;
    assert_eq!(s, 200, "{html}");
    for row in [
        "<tr data-key=\"image_generation\"><td><code>image_generation</code></td><td data-testid=\"quantity\">3 image</td><td>7.5</td><td>1</td></tr>",
        "<tr data-key=\"tokens_in\"><td><code>tokens_in</code></td><td data-testid=\"quantity\">1,500.25 1k tokens</td><td>450.075</td><td>1</td></tr>",
    ] {
        assert!(html.contains(row), "{row} in {html}");
    }
    assert_eq!(html.matches("<tr data-key=").count(), 2, "one row per price: {html}");
    app.stop().await;
}
