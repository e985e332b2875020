//! The dashboard an organisation's people open in a browser: tabs Plan,
//! Credits, Conversations and Credit history (seeds 000–004), rendered on
//! the server with askama and hand-made SVG charts.
//!
//! - Pages use the session cookie of a one-time sign-in link (`auth`);
//!   the API keeps its bearer keys, and also takes the cookie for reads,
//!   which is how the export buttons download.
//! - Every figure comes from the function the API answers with (the
//!   summary, [`analytics::usage_report`], [`plans::conversation_report`],
//!   the history's filter parser), typed values, never an answer's bytes
//!   read back, so a chart and the API cannot disagree.
//!
//! [`plans::conversation_report`]: crate::plans::conversation_report
//! - What a role may not read is neither linked nor served: a member sees
//!   Plan and their own Credits; Conversations and Credit history answer
//!   403 to them.
//! - The pages work without JavaScript; `dashboard.js` only adds tooltips
//!   to chart marks on hover and keyboard focus.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use creditd_core::plans::Summary;
use creditd_core::{ErrorCode, Event, EventKind, Micros, OrgSettings, Pool, Status};
use creditd_store::range::RangePreset;
use creditd_store::rollup::UsageGroup;
use creditd_store::{ConversationGroup, StoreError};
use jiff::tz::TimeZone;

use crate::AppState;
use crate::analytics::{self, DayRange, UsageReport};
use crate::answer::{Answer, Documented, Text};
use crate::auth::{Access, MaybeSession, Principal};
use crate::charts::{self, HBar, Point, Slice, TimeChart};
use crate::error::ApiError;
use crate::extract::QueryPairs;
use crate::permissions::Action;

/// Rows of history one dashboard page shows.
pub const HISTORY_PAGE: u32 = 25;

// ---------------------------------------------------------------------------
// Pages and errors

/// A page or an HTML error page; never the API's JSON.
pub struct Page(Result<(StatusCode, String), PageError>);

impl Documented for Page {
    const ANSWER: Answer = Answer::Html;
}

/// What went wrong, for people.
#[derive(Debug)]
pub struct PageError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The page's heading.
    pub title: String,
    /// What happened, in words.
    pub message: String,
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        let title = match e.status {
            StatusCode::FORBIDDEN => "Not available to you",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::UNAUTHORIZED => "Please sign in",
            s if s.is_client_error() => "Please check the request",
            _ => "Something went wrong",
        };
        PageError { status: e.status, title: title.to_string(), message: e.message }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError::from(ApiError::from(e))
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        tracing::error!(error = %e, "dashboard template failed");
        PageError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "Something went wrong".into(),
            message: "this page could not be drawn".into(),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    status: u16,
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage<'a> {
    /// What happened, when the page is shown for a reason (a used link,
    /// a page asked for without a session, a sign-out).
    notice: &'a str,
    /// The notice is a problem (an alert), not a confirmation.
    problem: bool,
}

/// The sign-in page with `notice`, answered with `status`.
fn sign_in_page(status: StatusCode, notice: &str) -> Response {
    let page = SignInPage { notice, problem: status.is_client_error() };
    let html = page.render().unwrap_or_else(|_| notice.to_string());
    with_headers((status, Html(html)).into_response())
}

/// What the sign-in page says after a refused link.
pub const LINK_USED: &str = "This sign-in link has already been used or has expired. A link works once and \
     for a short time: ask for a new one.";
/// What the sign-in page says when a page needs a session.
pub const SIGN_IN_FIRST: &str = "You are not signed in, or your session has ended. Sign in again with a new link.";
/// What the sign-in page says after signing out.
pub const SIGNED_OUT: &str = "You have signed out. To come back, sign in with a new link.";

fn with_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    r
}

/// An HTML error page (the sign-in page for 401).
fn error_page(e: &PageError) -> Response {
    if e.status == StatusCode::UNAUTHORIZED {
        return sign_in_page(e.status, SIGN_IN_FIRST);
    }
    let page = ErrorPage { title: &e.title, message: &e.message, status: e.status.as_u16() };
    let html = page.render().unwrap_or_else(|_| e.message.clone());
    with_headers((e.status, Html(html)).into_response())
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        match self.0 {
            Ok((status, html)) => with_headers((status, Html(html)).into_response()),
            Err(e) => error_page(&e),
        }
    }
}

/// Largest error body [`html_errors`] reads back (the API's errors are a
/// few hundred bytes).
const ERROR_BODY_MAX_BYTES: usize = 16 * 1024;

/// Whether a request is a browser asking for a page: a GET or HEAD whose
/// `Accept` names `text/html` (every browser's navigation does; API
/// clients send `application/json`, `*/*` or nothing).
fn wants_page(req: &Request) -> bool {
    (req.method() == Method::GET || req.method() == Method::HEAD)
        && req
            .headers()
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|m| m.split(';').next().is_some_and(|t| t.trim() == "text/html")))
}

/// Middleware: a browser that reaches a refusal in the API's JSON shape
/// (an unknown path, a used sign-in link, an export a member may not
/// download, a signed-out session) gets an HTML page saying the same in
/// words, with the same status; every other client keeps the JSON.
pub async fn html_errors(req: Request, next: Next) -> Response {
    let page = wants_page(&req);
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    let status = resp.status();
    let json = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !page || !json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, ERROR_BODY_MAX_BYTES).await.unwrap_or_default();
    let error: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let code = error["error"]["code"].as_str().unwrap_or_default();
    let message = error["error"]["message"].as_str().unwrap_or_default();
    let mut r = people_page(status, code, message, &path);
    // Keep what the API said besides its body (the request id, Retry-After).
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    for (k, v) in &parts.headers {
        r.headers_mut().entry(k.clone()).or_insert_with(|| v.clone());
    }
    r
}

/// The page for an API refusal `code` on `path`, in words.
fn people_page(status: StatusCode, code: &str, message: &str, path: &str) -> Response {
    if code == ErrorCode::LoginLinkInvalid.as_str() {
        return sign_in_page(status, LINK_USED);
    }
    if status == StatusCode::UNAUTHORIZED {
        return sign_in_page(status, SIGN_IN_FIRST);
    }
    let api = path.starts_with("/api/");
    let (title, message) = match status {
        StatusCode::NOT_FOUND if !api => ("Page not found", format!("There is no page at {path}.")),
        StatusCode::NOT_FOUND => ("Not found", message.to_string()),
        StatusCode::FORBIDDEN if path.ends_with("/credit-events/export") => (
            "Not available to you",
            "Downloading the credit history is for the organisation's owners and admins. Your own usage is on \
             the Credits tab."
                .to_string(),
        ),
        StatusCode::FORBIDDEN => ("Not available to you", format!("{message}. Ask an owner or admin of the organisation.")),
        s if s.is_client_error() => ("Please check the request", message.to_string()),
        _ => ("Something went wrong", "the request could not be answered; please try again later".to_string()),
    };
    error_page(&PageError { status, title: title.to_string(), message })
}

/// A refusal for a member, in words: what the page is and who may open it.
fn for_admins(e: ApiError, what: &str) -> PageError {
    let mut page = PageError::from(e);
    if page.status == StatusCode::FORBIDDEN {
        page.message =
            format!("{what} is for the organisation's owners and admins. Your own usage is on the Credits tab.");
    }
    page
}

fn render(t: &impl Template) -> Page {
    Page(t.render().map(|h| (StatusCode::OK, h)).map_err(PageError::from))
}

// ---------------------------------------------------------------------------
// The frame every tab shares

/// A tab in the dashboard's header.
#[derive(Clone, Debug)]
pub struct TabLink {
    /// Where it goes.
    pub href: &'static str,
    /// Its name.
    pub label: &'static str,
    /// The page shown is this tab.
    pub current: bool,
}

/// The header and tabs: who is signed in, the organisation, credits left
/// and days until renewal (seed 004's summary line), the tabs they may open.
#[derive(Clone, Debug)]
pub struct Frame {
    /// The page's title.
    pub title: String,
    /// The organisation's id.
    pub org_id: String,
    /// The organisation's name.
    pub org_name: String,
    /// The signed-in member's name.
    pub user_name: String,
    /// The signed-in member's email.
    pub user_email: String,
    /// The signed-in member's role.
    pub role: String,
    /// The session's CSRF token, for form posts.
    pub csrf: String,
    /// The tabs the member may open.
    pub tabs: Vec<TabLink>,
    /// Credits left, formatted.
    pub credits_left: String,
    /// "Renews in N days", or that there is no renewal.
    pub renews: String,
}

/// The signed-in member and their organisation.
struct Ctx {
    app: AppState,
    principal: Principal,
    org: String,
    settings: OrgSettings,
    tz: TimeZone,
}

impl Ctx {
    async fn new(app: AppState, session: Option<Principal>) -> Result<Ctx, PageError> {
        let principal = session.ok_or_else(|| PageError::from(ApiError::unauthorized()))?;
        let (org, _) = principal.member().ok_or_else(|| PageError::from(ApiError::unauthorized()))?;
        let org = org.to_string();
        principal.require(Action::ReadSummary, &org)?;
        let info = app.store.org(&org).await?;
        let tz = crate::history::org_zone(&info.settings.time_zone);
        Ok(Ctx { app, principal, org, settings: info.settings, tz })
    }

    fn may(&self, action: Action) -> bool {
        self.principal.require(action, &self.org).is_ok()
    }

    async fn summary(&self) -> Result<Summary, PageError> {
        let state = self.app.store.org_state(&self.org).await?;
        state.summary(self.app.store.now()).map_err(|e| PageError::from(StoreError::from(e)))
    }

    fn frame(&self, tab: &str, title: &str, summary: &Summary) -> Frame {
        let mut tabs = vec![
            TabLink { href: "/", label: "Plan", current: tab == "plan" },
            TabLink { href: "/credits", label: "Credits", current: tab == "credits" },
        ];
        if self.may(Action::ReadAnalytics) {
            tabs.push(TabLink { href: "/conversations", label: "Conversations", current: tab == "conversations" });
        }
        if self.may(Action::ReadHistory) {
            tabs.push(TabLink { href: "/history", label: "Credit history", current: tab == "history" });
        }
        let (name, email, role) = match &self.principal.access {
            Access::Member { name, email, role, .. } => (name.clone(), email.clone(), role.as_str().to_string()),
            Access::Service { .. } => (String::new(), String::new(), String::new()),
        };
        Frame {
            title: title.to_string(),
            org_id: self.org.clone(),
            org_name: self.settings.name.clone(),
            user_name: name,
            user_email: email,
            role,
            csrf: self.principal.csrf_token().unwrap_or_default().to_string(),
            tabs,
            credits_left: charts::credits(summary.credits_left),
            renews: renews_text(summary),
        }
    }
}

fn days_text(days: i64) -> String {
    match days {
        0 => "today".to_string(),
        1 => "in 1 day".to_string(),
        n => format!("in {n} days"),
    }
}

fn renews_text(s: &Summary) -> String {
    match s.days_until_top_up {
        Some(d) => format!("Renews {}", days_text(d)),
        None => "No plan renewal".to_string(),
    }
}

// ---------------------------------------------------------------------------
// Plan

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    frame: Frame,
    plan: String,
    has_plan: bool,
    identities: String,
    plan_credits: String,
    plan_credits_left: String,
    add_on: String,
    accumulated: String,
    has_accumulated: bool,
    other: String,
    balance: String,
    held: String,
    credits_left: String,
    used_this_period: String,
    price: String,
    top_up: String,
    days_until: String,
    period: String,
    /// Credits left as a share of the plan's allocation (0–100) and its label.
    meter_pct: f64,
    meter_label: String,
    forecast: String,
    low_balance: String,
    next_plan: String,
}

/// `GET /`: the Plan tab (the sign-in page without a session; after
/// signing out, `?signed_out=1` says so).
pub async fn plan_tab(State(app): State<AppState>, MaybeSession(session): MaybeSession, q: QueryPairs) -> Page {
    if session.is_none() {
        let notice = if q.0.iter().any(|(k, _)| k == "signed_out") { SIGNED_OUT } else { "" };
        return render(&SignInPage { notice, problem: false });
    }
    Page(plan_inner(app, session).await)
}

async fn plan_inner(app: AppState, session: Option<Principal>) -> Result<(StatusCode, String), PageError> {
    let ctx = Ctx::new(app, session).await?;
    let s = ctx.summary().await?;
    let c = charts::credits;
    let plan_credits = s.plan_credits;
    let meter_pct = if plan_credits.is_positive() {
        (s.credits_left.micros() as f64 / plan_credits.micros() as f64 * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    };
    let meter_label = if plan_credits.is_positive() {
        format!("{} / {}", c(s.credits_left), charts::short(plan_credits.micros() as f64 / 1e6))
    } else {
        c(s.credits_left)
    };
    let period = match (s.period_start, s.period_end) {
        (Some(a), Some(b)) => format!(
            "{} – {}",
            a.to_zoned(ctx.tz.clone()).date(),
            b.to_zoned(ctx.tz.clone()).date().yesterday().unwrap_or(b.to_zoned(ctx.tz.clone()).date())
        ),
        _ => "—".to_string(),
    };
    let low_balance = match (s.low_balance.threshold, s.low_balance.below) {
        (Some(t), true) => format!("Below the low-balance alert of {} credits", c(t)),
        (Some(t), false) => format!("Alert below {} credits", c(t)),
        (None, _) => String::new(),
    };
    let page = PlanPage {
        frame: ctx.frame("plan", "Plan", &s),
        has_plan: s.plan.is_some(),
        plan: s.plan.clone().unwrap_or_else(|| "Not available".into()),
        identities: match s.identities {
            Some(n) => format!("{n} ({} active this month)", s.identities_used),
            None => "—".into(),
        },
        plan_credits: c(s.plan_credits),
        plan_credits_left: c(s.plan_credits_left),
        add_on: c(s.add_on_credits),
        accumulated: c(s.accumulated_credits),
        has_accumulated: !s.accumulated_credits.is_zero(),
        other: c(s.other_credits),
        balance: c(s.balance),
        held: c(s.held),
        credits_left: c(s.credits_left),
        used_this_period: c(s.used_this_period),
        price: match &s.price {
            Some(p) => format!("{} {} / {}", c(p.amount), p.currency, p.per),
            None => "—".into(),
        },
        top_up: s.top_up_date.map_or("—".into(), |d| d.strftime("%B %-d, %Y").to_string()),
        days_until: s.days_until_top_up.map_or(String::new(), days_text),
        period,
        meter_pct: (meter_pct * 10.0).round() / 10.0,
        meter_label,
        forecast: s.forecast.message.clone(),
        low_balance,
        next_plan: s.next_plan.clone().unwrap_or_default(),
    };
    Ok((StatusCode::OK, page.render()?))
}

// ---------------------------------------------------------------------------
// The range picker (Credits and Conversations)

/// A preset of the range picker.
#[derive(Clone, Debug)]
pub struct PresetLink {
    /// The page with this range.
    pub href: String,
    /// Its name.
    pub label: &'static str,
    /// The range shown is this preset.
    pub current: bool,
}

/// The range picker of a tab.
#[derive(Clone, Debug)]
pub struct Picker {
    /// The tab's path.
    pub path: &'static str,
    /// The presets.
    pub presets: Vec<PresetLink>,
    /// The range shown is custom dates.
    pub custom: bool,
    /// The first day shown.
    pub date_from: String,
    /// The last day shown.
    pub date_to: String,
    /// "March 1 – March 31, 2026 (Europe/Madrid)".
    pub label: String,
}

fn preset_label(p: RangePreset) -> &'static str {
    match p {
        RangePreset::Today => "Today",
        RangePreset::Yesterday => "Yesterday",
        RangePreset::ThisWeek => "This week",
        RangePreset::LastWeek => "Last week",
        RangePreset::ThisMonth => "This month",
        RangePreset::LastMonth => "Last month",
        RangePreset::Last28Days => "Last 28 days",
    }
}

fn picker(path: &'static str, range: &DayRange, zone: &str) -> Picker {
    let presets = RangePreset::ALL
        .iter()
        .map(|p| PresetLink {
            href: format!("{path}?range={}", p.as_str()),
            label: preset_label(*p),
            current: range.preset == Some(*p),
        })
        .collect();
    let label = if range.first == range.last {
        format!("{} ({zone})", range.first.strftime("%A, %B %-d, %Y"))
    } else {
        format!("{} – {} ({zone})", range.first.strftime("%B %-d"), range.last.strftime("%B %-d, %Y"))
    };
    Picker {
        path,
        presets,
        custom: range.preset.is_none(),
        date_from: range.first.to_string(),
        date_to: range.last.to_string(),
        label,
    }
}

/// The range of a tab's query string (presets, `custom` dates), checked as
/// the API checks it.
fn tab_range(q: &QueryPairs, ctx: &Ctx, allowed: &[&str]) -> Result<DayRange, PageError> {
    q.only(allowed)?;
    Ok(analytics::parse_range(q, analytics::today(&ctx.app, &ctx.tz), analytics::DEFAULT_RANGE)?)
}

// ---------------------------------------------------------------------------
// Credits

#[derive(Template)]
#[template(path = "credits.html")]
struct CreditsPage {
    frame: Frame,
    picker: Picker,
    own_only: bool,
    total: String,
    total_exact: String,
    operations: String,
    daily_average: String,
    over_time: TimeChart,
    by_action: Vec<HBar>,
    by_user: Vec<HBar>,
    by_project: Vec<HBar>,
    by_service: Vec<HBar>,
    api_query: String,
}

fn bars(report: &UsageReport, none: &str) -> Vec<HBar> {
    let rows: Vec<(String, String, String, Micros, i64)> = report
        .rows
        .iter()
        .map(|r| {
            let key = r.key.clone().unwrap_or_default();
            let (label, detail) = match (&r.name, &r.key) {
                (Some(n), Some(k)) => (n.clone(), k.clone()),
                (None, Some(k)) => (k.clone(), String::new()),
                (_, None) => (none.to_string(), String::new()),
            };
            (key, label, detail, r.credits, r.operations)
        })
        .collect();
    charts::hbars(&rows, report.total_credits)
}

/// `GET /credits`: credits used, by day, action, user, project, service.
pub async fn credits_tab(State(app): State<AppState>, MaybeSession(session): MaybeSession, q: QueryPairs) -> Page {
    Page(credits_inner(app, session, q).await)
}

async fn credits_inner(
    app: AppState,
    session: Option<Principal>,
    q: QueryPairs,
) -> Result<(StatusCode, String), PageError> {
    let ctx = Ctx::new(app, session).await?;
    let range = tab_range(&q, &ctx, &["range", "date_from", "date_to"])?;
    let who = analytics::usage_scope(&ctx.principal, &ctx.org, None)?;
    let own_only = who.is_some();
    let zone = ctx.settings.time_zone.clone();
    let report = |g: UsageGroup| analytics::usage_report(&ctx.app, &ctx.org, &zone, range, g, who.clone());
    let by_day = report(UsageGroup::Day).await?;
    let by_action = report(UsageGroup::Action).await?;
    let by_user = if own_only { None } else { Some(report(UsageGroup::User).await?) };
    let by_project = if own_only { None } else { Some(report(UsageGroup::Project).await?) };
    let by_service = report(UsageGroup::Service).await?;
    let points: Vec<Point> = by_day
        .rows
        .iter()
        .map(|r| Point::credits(r.key.clone().unwrap_or_default(), r.credits, r.operations))
        .collect();
    // The days so far: "This month" on the 2nd averages over two days.
    let today = analytics::today(&ctx.app, &ctx.tz);
    let days = if range.first <= today && today < range.last {
        DayRange { last: today, ..range }.days()
    } else {
        range.days()
    }
    .max(1);
    let average = Micros::from_micros(by_day.total_credits.micros() / days);
    let s = ctx.summary().await?;
    let mut api_query = format!("group_by=day&range={}", range.name());
    if range.preset.is_none() {
        api_query.push_str(&format!("&date_from={}&date_to={}", range.first, range.last));
    }
    let page = CreditsPage {
        frame: ctx.frame("credits", if own_only { "My credit usage" } else { "Credits" }, &s),
        picker: picker("/credits", &range, &zone),
        own_only,
        total: charts::credits(by_day.total_credits),
        total_exact: by_day.total_credits.to_string(),
        operations: charts::count(by_day.total_operations),
        daily_average: charts::credits(average),
        over_time: charts::time_chart(&points, 720.0, 240.0),
        by_action: bars(&by_action, "(no action named)"),
        by_user: by_user.as_ref().map(|r| bars(r, "(no user named)")).unwrap_or_default(),
        by_project: by_project.as_ref().map(|r| bars(r, "(no project)")).unwrap_or_default(),
        by_service: bars(&by_service, "(no service named)"),
        api_query,
    };
    Ok((StatusCode::OK, page.render()?))
}

// ---------------------------------------------------------------------------
// Conversations

#[derive(Template)]
#[template(path = "conversations.html")]
struct ConversationsPage {
    frame: Frame,
    picker: Picker,
    total: String,
    total_exact: String,
    per_identity: String,
    identities: String,
    daily: TimeChart,
    by_campaign: Vec<Slice>,
    by_identity: Vec<Slice>,
}

/// The conversations of the tab's range, grouped: the function the API
/// answers with ([`crate::plans::conversation_report`]), as rows of (key,
/// count) and the total.
async fn conversations(
    ctx: &Ctx,
    group: ConversationGroup,
    from: jiff::Timestamp,
    to: jiff::Timestamp,
) -> Result<(Vec<(String, u64)>, u64), PageError> {
    let report = crate::plans::conversation_report(&ctx.app, &ctx.org, group, Some(from), Some(to)).await?;
    let rows = report.rows.into_iter().map(|r| (r.key.unwrap_or_default(), r.conversations)).collect();
    Ok((rows, report.total))
}

/// `GET /conversations`: conversations by day, campaign and identity.
pub async fn conversations_tab(
    State(app): State<AppState>,
    MaybeSession(session): MaybeSession,
    q: QueryPairs,
) -> Page {
    Page(conversations_inner(app, session, q).await)
}

async fn conversations_inner(
    app: AppState,
    session: Option<Principal>,
    q: QueryPairs,
) -> Result<(StatusCode, String), PageError> {
    let ctx = Ctx::new(app, session).await?;
    ctx.principal.require(Action::ReadAnalytics, &ctx.org).map_err(|e| for_admins(e, "Conversations"))?;
    let range = tab_range(&q, &ctx, &["range", "date_from", "date_to"])?;
    let (from, to) = range.instants(&ctx.tz);
    let (daily, total) = conversations(&ctx, ConversationGroup::Day, from, to).await?;
    let (campaigns, _) = conversations(&ctx, ConversationGroup::Campaign, from, to).await?;
    let (identities, _) = conversations(&ctx, ConversationGroup::Identity, from, to).await?;
    // Identities active in the range shown (those that started a
    // conversation in it), not this month's.
    let active = identities.iter().filter(|(k, n)| !k.is_empty() && *n > 0).count();
    let points: Vec<Point> = daily.into_iter().map(|(k, n)| Point::count(k, n, "conversations")).collect();
    let pie_rows = |rows: &[(String, u64)], none: &str| -> Vec<(String, String, u64)> {
        rows.iter()
            .map(|(k, n)| {
                let label = if k.is_empty() { none.to_string() } else { k.clone() };
                (k.clone(), label, *n)
            })
            .collect()
    };
    let s = ctx.summary().await?;
    let page = ConversationsPage {
        frame: ctx.frame("conversations", "Conversations", &s),
        picker: picker("/conversations", &range, &ctx.settings.time_zone),
        total: charts::count(i64::try_from(total).unwrap_or(i64::MAX)),
        total_exact: total.to_string(),
        per_identity: charts::count(i64::from(s.conversations_per_identity)),
        identities: match s.identities {
            Some(n) => format!("{active} of {n}"),
            None => active.to_string(),
        },
        daily: charts::time_chart(&points, 720.0, 220.0),
        by_campaign: charts::pie(&pie_rows(&campaigns, "(no campaign)"), "conversations"),
        by_identity: charts::pie(&pie_rows(&identities, "(unknown)"), "conversations"),
    };
    Ok((StatusCode::OK, page.render()?))
}

// ---------------------------------------------------------------------------
// Credit history

/// An option of a history filter.
#[derive(Clone, Debug)]
pub struct Choice {
    /// The value sent.
    pub value: &'static str,
    /// What people read.
    pub label: &'static str,
    /// Chosen in the current filter.
    pub selected: bool,
}

/// A row of the credit history table, formatted.
#[derive(Clone, Debug)]
pub struct Row {
    /// Local date and time.
    pub date: String,
    /// The instant, RFC 3339.
    pub iso: String,
    /// The kind, as the report names it.
    pub kind: std::borrow::Cow<'static, str>,
    /// The kind's API name.
    pub kind_key: &'static str,
    /// The amount, signed and formatted.
    pub amount: String,
    /// The amount, exact.
    pub amount_exact: String,
    /// `pos`, `neg` or `zero`.
    pub sign: &'static str,
    /// The balance after the event.
    pub balance_after: String,
    /// The pool, if any.
    pub pool: String,
    /// Success, Processing or Failed.
    pub status: &'static str,
    /// The service named.
    pub service: String,
    /// Where the operation came from.
    pub source: String,
    /// The activity named.
    pub activity: String,
    /// The project's name.
    pub project: String,
    /// The project's id.
    pub project_id: String,
    /// The user's name.
    pub user: String,
    /// The user's email.
    pub user_email: String,
    /// The description.
    pub description: String,
    /// A voucher's code.
    pub code: String,
    /// The event's id.
    pub id: String,
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    frame: Frame,
    kinds: Vec<Choice>,
    pools: Vec<Choice>,
    statuses: Vec<Choice>,
    date_from: String,
    date_to: String,
    service: String,
    project_id: String,
    user_email: String,
    filtered: bool,
    error: String,
    rows: Vec<Row>,
    page_no: u64,
    next_href: String,
    first_href: String,
    export_csv: String,
    export_xlsx: String,
    zone: String,
}

/// Keys of the history form that are the API's filters.
const HISTORY_FILTERS: &[&str] =
    &["date_from", "date_to", "event_type", "pool", "project_id", "service", "status", "user_email"];

fn query_string(pairs: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn row(e: &Event, tz: &TimeZone) -> Row {
    let z = e.created_at.to_zoned(tz.clone());
    let t = |v: &Option<String>| v.clone().unwrap_or_default();
    // The report's rule: a purchase still processing or failed shows 0.
    let (kind, amount) = creditd_export::report_kind_amount(e.kind, e.status, e.amount);
    Row {
        date: z.strftime("%Y-%m-%d %H:%M").to_string(),
        iso: e.created_at.to_string(),
        kind,
        kind_key: e.kind.as_str(),
        amount: if amount.is_positive() { format!("+{}", charts::credits(amount)) } else { charts::credits(amount) },
        amount_exact: amount.to_string(),
        sign: if amount.is_positive() {
            "pos"
        } else if amount.is_negative() {
            "neg"
        } else {
            "zero"
        },
        balance_after: charts::credits(e.balance_after),
        pool: e.pool.map(|p| p.as_str().to_string()).unwrap_or_default(),
        status: status_label(e.status),
        service: t(&e.service),
        source: t(&e.source),
        activity: t(&e.activity),
        project: t(&e.project_name),
        project_id: t(&e.project_id),
        user: t(&e.user_name),
        user_email: t(&e.user_email),
        description: t(&e.description),
        code: t(&e.code),
        id: e.id.clone(),
    }
}

/// The words the form uses for a balance type.
fn pool_label(p: Pool) -> &'static str {
    match p {
        Pool::Plan => "Plan credits",
        Pool::Prepaid => "Top-up / add-on credits",
        Pool::Voucher => "Voucher credits",
        Pool::Promotional => "Promotional credits",
    }
}

/// The words the form uses for a status.
fn status_label(st: Status) -> &'static str {
    match st {
        Status::Succeeded => "Success",
        Status::Processing => "Processing",
        Status::Failed => "Failed",
    }
}

/// Checks the history form's fields in the form's own words (its labels
/// and the names its choices show), before the API's parser sees them:
/// dates are the plain dates the date fields send, and a reversed range
/// is reported as the dates typed.
fn check_form(filters: &[(String, String)]) -> Result<(), String> {
    let values = |key: &str| -> Vec<&str> {
        filters.iter().filter(|(k, _)| k == key).flat_map(|(_, v)| v.split(',')).map(str::trim).filter(|v| !v.is_empty()).collect()
    };
    let date = |key: &str, label: &str| -> Result<Option<jiff::civil::Date>, String> {
        match values(key).as_slice() {
            [] => Ok(None),
            [v] => v
                .parse::<jiff::civil::Date>()
                .ok()
                .filter(|_| v.len() == 10)
                .map(Some)
                .ok_or_else(|| format!("{label} \"{v}\" is not a date; pick one in the calendar or type it like 2026-03-01.")),
            _ => Err(format!("{label} is given more than once.")),
        }
    };
    let from = date("date_from", "Start date")?;
    let to = date("date_to", "End date")?;
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        return Err(format!(
            "The end date {t} ({}) is before the start date {f} ({}): swap them, or pick an end date on or after the start date.",
            t.strftime("%B %-d, %Y"),
            f.strftime("%B %-d, %Y")
        ));
    }
    let list = |labels: Vec<&str>| labels.join(", ");
    for v in values("event_type") {
        if crate::history::parse_kind(v).is_err() {
            let names = list(EventKind::ALL.iter().map(|k| k.title()).collect());
            return Err(format!("Event type \"{v}\" is not one of the types this form lists: {names}."));
        }
    }
    for v in values("pool") {
        if crate::history::parse_pool(v).is_err() {
            let names = list(Pool::ALL.iter().map(|p| pool_label(*p)).collect());
            return Err(format!("Balance type \"{v}\" is not one of: {names}."));
        }
    }
    for v in values("status") {
        if crate::history::parse_status(v).is_err() {
            let names = list(Status::ALL.iter().map(|s| status_label(*s)).collect());
            return Err(format!("Status \"{v}\" is not one of: {names}."));
        }
    }
    Ok(())
}

/// `GET /history`: the credit history, filtered, paged, exportable.
pub async fn history_tab(State(app): State<AppState>, MaybeSession(session): MaybeSession, q: QueryPairs) -> Page {
    Page(history_inner(app, session, q).await)
}

async fn history_inner(
    app: AppState,
    session: Option<Principal>,
    q: QueryPairs,
) -> Result<(StatusCode, String), PageError> {
    let ctx = Ctx::new(app, session).await?;
    ctx.principal.require(Action::ReadHistory, &ctx.org).map_err(|e| for_admins(e, "The credit history"))?;
    let mut allowed: Vec<&str> = HISTORY_FILTERS.to_vec();
    allowed.extend(["cursor", "page"]);
    q.only(&allowed)?;
    // The filters as the form sent them, empty fields dropped.
    let filters: Vec<(String, String)> =
        q.0.iter().filter(|(k, v)| HISTORY_FILTERS.contains(&k.as_str()) && !v.trim().is_empty()).cloned().collect();
    let cursor = q.one("cursor")?.map(str::to_string);
    // The page number only labels a page reached by a cursor: without one
    // the page shown is the first, whatever `page` says.
    let page_no: u64 = match &cursor {
        Some(_) => q.one("page")?.and_then(|p| p.parse().ok()).filter(|p| *p >= 1).unwrap_or(2),
        None => 1,
    };
    let mut api_pairs = filters.clone();
    api_pairs.push(("limit".into(), HISTORY_PAGE.to_string()));
    if let Some(c) = &cursor {
        api_pairs.push(("cursor".into(), c.clone()));
    }
    let s = ctx.summary().await?;
    let query = match check_form(&filters) {
        Ok(()) => crate::history::page_query(&ctx.app, &ctx.org, &QueryPairs(api_pairs)).await,
        Err(message) => Err(ApiError::validation(message)),
    };
    let (rows, next_cursor, error, status) =
        match query {
            Ok(query) => {
                let page = ctx.app.store.events(&ctx.org, &query).await?;
                (page.events.iter().map(|e| row(e, &ctx.tz)).collect(), page.next_cursor, String::new(), StatusCode::OK)
            }
            Err(e) if e.status.is_client_error() => (Vec::new(), None, e.message, e.status),
            Err(e) => return Err(e.into()),
        };
    let has = |k: &str, v: &str| filters.iter().any(|(fk, fv)| fk == k && fv.split(',').any(|x| x.trim() == v));
    let one = |k: &str| filters.iter().find(|(fk, _)| fk == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let kinds = EventKind::ALL
        .iter()
        .map(|k| Choice { value: k.as_str(), label: k.title(), selected: has("event_type", k.as_str()) })
        .collect();
    let pools = Pool::ALL
        .iter()
        .map(|p| Choice {
            value: p.as_str(),
            label: pool_label(*p),
            selected: has("pool", p.as_str()),
        })
        .collect();
    let statuses = Status::ALL
        .iter()
        .map(|st| Choice {
            value: st.as_str(),
            label: status_label(*st),
            selected: has("status", st.as_str()),
        })
        .collect();
    let base = query_string(&filters);
    let with = |extra: &[(&str, String)]| {
        let mut p = filters.clone();
        p.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        query_string(&p)
    };
    let next_href = next_cursor
        .map(|c| format!("/history?{}", with(&[("cursor", c), ("page", (page_no + 1).to_string())])))
        .unwrap_or_default();
    let export = |format: &str| {
        let mut p = vec![("format".to_string(), format.to_string())];
        p.extend(filters.iter().cloned());
        format!("/api/organizations/{}/credit-events/export?{}", ctx.org, query_string(&p))
    };
    let page = HistoryPage {
        frame: ctx.frame("history", "Credit history", &s),
        kinds,
        pools,
        statuses,
        date_from: one("date_from"),
        date_to: one("date_to"),
        service: one("service"),
        project_id: one("project_id"),
        user_email: one("user_email"),
        filtered: !filters.is_empty(),
        error,
        rows,
        page_no,
        next_href,
        first_href: if base.is_empty() { "/history".into() } else { format!("/history?{base}") },
        export_csv: export("csv"),
        export_xlsx: export("xlsx"),
        zone: ctx.settings.time_zone.clone(),
    };
    Ok((status, page.render()?))
}

// ---------------------------------------------------------------------------
// Assets

const CSS: &str = include_str!("../assets/dashboard.css");
const JS: &str = include_str!("../assets/dashboard.js");

/// A static asset, cached for five minutes.
fn asset(body: &'static str, content_type: &'static str) -> Text {
    Text { content_type, asset: true, body: body.into() }
}

/// `GET /assets/dashboard.css`.
pub async fn css() -> Text {
    asset(CSS, "text/css; charset=utf-8")
}

/// `GET /assets/dashboard.js`.
pub async fn js() -> Text {
    asset(JS, "text/javascript; charset=utf-8")
}

const ICON: &str = include_str!("../assets/favicon.svg");

/// `GET /assets/favicon.svg` (the pages link it) and `GET /favicon.ico`
/// (what a browser asks for on a page that links none): the same SVG.
pub async fn icon() -> Text {
    asset(ICON, "image/svg+xml")
}
