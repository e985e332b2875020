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
use axum::response::{Html, IntoResponse, Response};
use creditd_core::locale::Locale;
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

/// Largest error body [`refusal_as_page`] reads back (the API's errors are a
/// few hundred bytes).
const ERROR_BODY_MAX_BYTES: usize = 16 * 1024;

/// Whether a request is a browser asking for a page: a GET or HEAD, or a
/// form post (the dashboard's forms), whose `Accept` names `text/html`
/// (every browser's navigation does; API clients send `application/json`,
/// `*/*` or nothing).
fn wants_page(req: &Request) -> bool {
    let form = req.method() == Method::POST
        && req
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/x-www-form-urlencoded"));
    (req.method() == Method::GET || req.method() == Method::HEAD || form)
        && req
            .headers()
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|m| m.split(';').next().is_some_and(|t| t.trim() == "text/html")))
}

/// Refusals as pages. A browser that reaches a refusal in the API's JSON
/// shape (an unknown path, a used sign-in link, an export a member may
/// not download, a signed-out session) gets an HTML page saying the same
/// in words, with the same status; every other client keeps the JSON.
/// [`crate::ops::per_request`] runs this before every handler and
/// [`refusal_as_page`] on its answer.
///
/// The request's path when it [`wants_page`]s (to say what was refused),
/// else `None`: most requests allocate nothing here.
pub fn page_wanted(req: &Request) -> Option<String> {
    wants_page(req).then(|| req.uri().path().to_string())
}

/// `resp` as an HTML page if `page` (from [`page_wanted`]) and it is a
/// JSON refusal (4xx or 5xx); otherwise `resp` unchanged.
pub async fn refusal_as_page(page: Option<String>, resp: Response) -> Response {
    let Some(path) = page else { return resp };
    let status = resp.status();
    let json = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !json || !(status.is_client_error() || status.is_server_error()) {
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

/// What a page says when a form post lacks its CSRF token.
pub const FORM_EXPIRED: &str = "This form has expired: reload the page and try again.";

/// `text` with its first letter upper-case.
fn sentence_case(text: &str) -> String {
    let mut c = text.chars();
    c.next().map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
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
        // A session's form without its token: an old page (the session
        // was renewed) or a form from elsewhere. JSON callers keep the
        // precise message.
        StatusCode::FORBIDDEN if code == ErrorCode::CsrfFailed.as_str() => {
            ("This form has expired", FORM_EXPIRED.to_string())
        }
        // The API's refusal already says who may and whom to ask
        // (`permissions::refusal`), following the permission table.
        StatusCode::FORBIDDEN => ("Not available to you", format!("{}.", sentence_case(message))),
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
    /// How numbers, money and dates are written (`OrgSettings::locale`).
    loc: Locale,
}

impl Ctx {
    async fn new(app: AppState, session: Option<Principal>) -> Result<Ctx, PageError> {
        let principal = session.ok_or_else(|| PageError::from(ApiError::unauthorized()))?;
        let (org, _) = principal.member().ok_or_else(|| PageError::from(ApiError::unauthorized()))?;
        let org = org.to_string();
        principal.require(Action::ReadSummary, &org)?;
        let info = app.store.org(&org).await?;
        let tz = crate::history::org_zone(&info.settings.time_zone);
        let loc = info.settings.locale();
        Ok(Ctx { app, principal, org, settings: info.settings, tz, loc })
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
            credits_left: self.loc.number(summary.credits_left),
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
    /// Plan credits used as a share of the allocation (0–100, for the bar's
    /// width only) and its label in exact credits.
    meter_pct: f64,
    meter_label: String,
    /// Usage this period outside the plan's allocation, or empty.
    meter_note: String,
    /// The rollover policy in words; empty without a plan.
    rollover: String,
    forecast: String,
    low_balance: String,
    /// Auto top-up paused (and why) or pending, and the usage alerts
    /// fired this period, one line each.
    top_up_notices: Vec<String>,
    next_plan: String,
    /// "Funded by …" with the budget used and left this period; empty
    /// unless the org draws on its parent.
    funded_by: String,
    /// The children that draw on this org, with their use this period.
    funded_children: Vec<FundedRow>,
    /// Buy more and Change plan (their own template, `plan_money_in.html`).
    money_in: crate::money_in::PlanTabMoneyIn,
    /// "What each action costs": the lines of the book version in force
    /// (empty: no book applies, or none of its versions is in force yet).
    rates: Vec<RateRow>,
    /// Which book and version the rates come from.
    rate_book: String,
    /// Conversations per identity this month against the limit, in one
    /// line ([`conversations_line`]).
    conversations: String,
}

/// The Plan tab's line on conversations: the per-identity limit, and for
/// whom may read the breakdowns, this month's busiest identity against it
/// (the Conversations tab lists them all).
async fn conversations_line(ctx: &Ctx, s: &Summary) -> Result<String, PageError> {
    let limit = i64::from(s.conversations_per_identity);
    let head = format!("{} a month per identity", ctx.loc.count(limit));
    if !ctx.may(Action::ReadAnalytics) {
        return Ok(head);
    }
    let uses = month_identities(ctx, s).await?;
    let busiest = uses.iter().max_by_key(|u| u.count);
    Ok(match busiest {
        None => format!("{head}; none started this month"),
        Some(u) => format!(
            "{head}; {} {} active this month, the busiest {}: {} used, {} left",
            ctx.loc.count(uses.len() as i64),
            if uses.len() == 1 { "identity" } else { "identities" },
            u.identity,
            u.used,
            u.left
        ),
    })
}

/// This month's conversations per identity against the per-identity limit
/// (it counts by calendar month).
async fn month_identities(ctx: &Ctx, s: &Summary) -> Result<Vec<IdentityUse>, PageError> {
    let (month_from, month_to) =
        creditd_store::range::range_bounds(RangePreset::ThisMonth, &ctx.tz, ctx.app.store.now());
    let (this_month, _) = conversations(ctx, ConversationGroup::Identity, month_from, month_to).await?;
    let limit = u64::from(s.conversations_per_identity);
    Ok(this_month
        .iter()
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, n)| IdentityUse {
            identity: k.clone(),
            count: *n,
            used: ctx.loc.count(i64::try_from(*n).unwrap_or(i64::MAX)),
            left: ctx.loc.count(i64::try_from(limit.saturating_sub(*n)).unwrap_or(0)),
            pct: if limit > 0 { ((*n as f64 / limit as f64) * 1000.0).round().min(1000.0) / 10.0 } else { 0.0 },
            full: *n >= limit,
        })
        .collect())
}

/// One child drawing on the org, on the Plan tab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundedRow {
    /// The child's id.
    pub org_id: String,
    /// Its name.
    pub name: String,
    /// Drawn this period, formatted.
    pub drawn: String,
    /// Its budget, formatted ("No limit" without one).
    pub budget: String,
    /// What it consumed this period, formatted.
    pub used: String,
}

/// One line of the rate card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateRow {
    /// The price's key, as callers name it.
    pub key: String,
    /// Where its events are filed.
    pub service: String,
    /// What is done.
    pub activity: String,
    /// What one unit is.
    pub unit: String,
    /// The price per unit, or each band of the tiers, in words.
    pub price: String,
    /// `model=large`, or `default` for the key's line without dimensions.
    pub dimensions: String,
}

/// A quantity for people: thousands grouped, decimals as exact as stored.
fn quantity_text(q: creditd_core::Quantity, loc: Locale) -> String {
    loc.number(Micros::from_micros(q.micros()))
}

/// The rate card of the org's book version in force at `now` (see
/// [`OrgState::price_book_id`](creditd_core::OrgState::price_book_id)):
/// its rows and a line naming the book and version; no rows when no book
/// applies or none of its versions is in force yet.
pub fn rate_card(
    state: &creditd_core::OrgState,
    books: &creditd_store::prices::Catalogue,
    now: jiff::Timestamp,
    tz: &TimeZone,
    loc: Locale,
) -> (Vec<RateRow>, String) {
    let Some(id) = state.price_book_id() else { return (Vec::new(), String::new()) };
    let Some(book) = books.book(id) else { return (Vec::new(), String::new()) };
    let Some(v) = book.in_force(now) else { return (Vec::new(), String::new()) };
    let c = |m: Micros| loc.number(m);
    let rows = v
        .prices
        .iter()
        .map(|l| {
            let price = match (&l.credits_per_unit, &l.tiers) {
                (Some(p), _) => format!("{} per {}", c(*p), l.unit),
                (None, Some(tiers)) => {
                    let mut from = String::from("0");
                    let mut parts = Vec::new();
                    for t in tiers {
                        match t.up_to {
                            Some(up_to) => {
                                let to = quantity_text(up_to, loc);
                                parts.push(format!("{} per {} from {from} to {to}", c(t.credits_per_unit), l.unit));
                                from = to;
                            }
                            None => parts.push(format!("{} per {} beyond {from}", c(t.credits_per_unit), l.unit)),
                        }
                    }
                    format!("{} this period", parts.join("; "))
                }
                (None, None) => String::new(),
            };
            let dimensions = if l.dimensions.is_empty() {
                "default".to_string()
            } else {
                l.dimensions.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
            };
            RateRow {
                key: l.key.to_string(),
                service: l.service.to_string(),
                activity: l.activity.to_string(),
                unit: l.unit.to_string(),
                price,
                dimensions,
            }
        })
        .collect();
    let since = loc.date(v.effective_from.to_zoned(tz.clone()).date());
    (rows, format!("Price book {}, version {}, in force since {since}.", v.book_id, v.version))
}

/// `GET /`: the Plan tab (the sign-in page without a session; after
/// signing out, `?signed_out=1` says so).
pub async fn plan_tab(State(app): State<AppState>, MaybeSession(session): MaybeSession, q: QueryPairs) -> Page {
    if session.is_none() {
        let notice = if q.0.iter().any(|(k, _)| k == "signed_out") { SIGNED_OUT } else { "" };
        return render(&SignInPage { notice, problem: false });
    }
    Page(plan_inner(app, session, &q).await)
}

/// The plan's rollover policy, in words.
fn rollover_text(r: &creditd_core::plans::Rollover, loc: Locale) -> String {
    use creditd_core::plans::Rollover;
    match r {
        Rollover::None => "Plan credits left at renewal are not carried over.".to_string(),
        Rollover::All => {
            "Plan credits left at renewal are carried over for as long as the subscription lasts.".to_string()
        }
        Rollover::UpTo { max_credits } => format!(
            "Plan credits left at renewal are carried over, up to {} credits in all (the newest kept first).",
            loc.number(*max_credits)
        ),
        Rollover::Periods { periods: 1 } => {
            "Plan credits left at renewal are carried over once, to the next period.".to_string()
        }
        Rollover::Periods { periods } => {
            format!("Plan credits left at renewal are carried over for up to {periods} renewals.")
        }
    }
}

async fn plan_inner(
    app: AppState,
    session: Option<Principal>,
    q: &QueryPairs,
) -> Result<(StatusCode, String), PageError> {
    let ctx = Ctx::new(app, session).await?;
    let state = ctx.app.store.org_state(&ctx.org).await?;
    let money_in =
        crate::money_in::plan_tab(&ctx.app, &ctx.principal, &ctx.org, &state, &ctx.settings, q, ctx.loc).await?;
    let s = state.summary(ctx.app.store.now()).map_err(|e| PageError::from(StoreError::from(e)))?;
    let rollover = state.plans.plan.as_ref().map(|p| rollover_text(&p.rollover, ctx.loc)).unwrap_or_default();
    let loc = ctx.loc;
    let c = |m: Micros| loc.number(m);
    // The meter: this period's plan credits used against the allocation;
    // add-on credits are shown apart (they are not part of the allocation).
    let plan_credits = s.plan_credits;
    let plan_used = plan_credits.checked_sub(s.plan_credits_left).unwrap_or(Micros::ZERO).max(Micros::ZERO);
    let meter_pct = if plan_credits.is_positive() {
        (plan_used.micros() as f64 / plan_credits.micros() as f64 * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    };
    let meter_label = format!("{} of {} plan credits used", c(plan_used), c(plan_credits));
    // Usage this period that the meter does not count: it came from other
    // credits (carried over, add-ons), spent first by the consumption order.
    let meter_note = match s.used_this_period.checked_sub(plan_used) {
        Some(other) if other.is_positive() && s.plan.is_some() => format!(
            "{} used this period in all; {} of it from credits carried over or added, which the consumption order spent first.",
            c(s.used_this_period),
            c(other)
        ),
        _ => String::new(),
    };
    let period = match (s.period_start, s.period_end) {
        (Some(a), Some(b)) => {
            let end = b.to_zoned(ctx.tz.clone()).date();
            loc.span(a.to_zoned(ctx.tz.clone()).date(), end.yesterday().unwrap_or(end))
        }
        _ => "—".to_string(),
    };
    let low_balance = match (s.low_balance.threshold, s.low_balance.below) {
        (Some(t), true) => format!("Below the low-balance alert of {} credits", c(t)),
        (Some(t), false) => format!("Alert below {} credits", c(t)),
        (None, _) => String::new(),
    };
    let mut top_up_notices = Vec::new();
    if let Some(p) = &s.auto_top_up.paused {
        top_up_notices.push(format!("Auto top-up is paused: {}.", p.reason));
    } else if let Some(p) = &s.auto_top_up.pending {
        top_up_notices.push(format!("Auto top-up of {} credits requested; waiting for its payment.", c(p.amount)));
    }
    let alerts = state.alerts_view(ctx.app.store.now());
    for l in alerts.levels.iter().filter(|l| l.fired && l.webhook == "usage_alert") {
        top_up_notices.push(format!("Usage alert: {}.", l.level));
    }
    let now = ctx.app.store.now();
    let (rates, rate_book) = rate_card(&state, ctx.app.store.price_books().catalogue().as_ref(), now, &ctx.tz, loc);
    let (funding, children) = crate::plans::funding_views(&ctx.app, &state, now).await?;
    let funded_by = funding.map_or(String::new(), |f| match (f.budget, f.budget_left) {
        (Some(b), Some(left)) => format!(
            "Funded by {}: {} of its {} credits budget drawn this period, {} left.",
            f.parent_name,
            c(f.drawn_this_period),
            c(b),
            c(left)
        ),
        _ => format!(
            "Funded by {}: {} credits drawn this period (no budget limit).",
            f.parent_name,
            c(f.drawn_this_period)
        ),
    });
    let funded_children = children
        .into_iter()
        .map(|ch| FundedRow {
            org_id: ch.org_id,
            name: ch.name,
            drawn: c(ch.drawn_this_period),
            budget: ch.budget.map_or("No limit".to_string(), c),
            used: c(ch.used_this_period),
        })
        .collect();
    let conversations = conversations_line(&ctx, &s).await?;
    let page = PlanPage {
        conversations,
        rates,
        rate_book,
        frame: ctx.frame("plan", "Plan", &s),
        has_plan: s.plan.is_some(),
        plan: s.plan.clone().unwrap_or_else(|| "Not available".into()),
        identities: match s.identities {
            Some(n) => {
                format!("{} ({} active this month)", loc.count(i64::from(n)), loc.count(i64::from(s.identities_used)))
            }
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
            Some(p) => format!("{} / {}", loc.money(p.amount, &p.currency), p.per),
            None => "—".into(),
        },
        top_up: s.top_up_date.map_or("—".into(), |d| loc.date(d)),
        days_until: s.days_until_top_up.map_or(String::new(), days_text),
        period,
        meter_pct: (meter_pct * 10.0).round() / 10.0,
        meter_label,
        meter_note,
        rollover,
        // The core's sentence with its day written as the page's dates are.
        forecast: match (s.forecast.runs_out_on, s.credits_left.is_positive()) {
            (Some(d), true) => s.forecast.message.replace(&d.to_string(), &loc.date(d)),
            _ => s.forecast.message.clone(),
        },
        low_balance,
        top_up_notices,
        next_plan: s.next_plan.clone().unwrap_or_default(),
        funded_by,
        funded_children,
        money_in,
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
    /// "March 1 – March 31, 2026 (Europe/Madrid)"; empty when the range
    /// asked for is refused.
    pub label: String,
    /// Why the range asked for is refused, in the form's words; empty
    /// when it is shown.
    pub error: String,
    /// Daily: the page of the day before, and of the day after (empty
    /// after today, and for other ranges).
    pub prev_day: String,
    pub next_day: String,
}

/// The dashboard's **Daily** range (seed 004's preset beside Today and
/// Yesterday): one day at a time, drawn by hour like Today, with links to
/// the day before and after; `day=YYYY-MM-DD` names the day (today
/// without it). It is the page's way through days: the API answers the
/// same figures for that day's custom dates.
pub const DAILY: &str = "daily";

/// The range is Daily.
fn is_daily(q: &QueryPairs) -> bool {
    matches!(form_values(q, "range").as_slice(), [r] if r.eq_ignore_ascii_case(DAILY))
}

/// The range picker's presets, Daily after Yesterday.
fn preset_links(path: &str, current: Option<RangePreset>, daily: bool) -> Vec<PresetLink> {
    let mut links: Vec<PresetLink> = RangePreset::ALL
        .iter()
        .map(|p| PresetLink {
            href: format!("{path}?range={}", p.as_str()),
            label: preset_label(*p),
            current: !daily && current == Some(*p),
        })
        .collect();
    let at = RangePreset::ALL.iter().position(|p| *p == RangePreset::Yesterday).map_or(links.len(), |i| i + 1);
    links.insert(at, PresetLink { href: format!("{path}?range={DAILY}"), label: "Daily", current: daily });
    links
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

/// The picker of a tab showing `range` (`daily`: the Daily range, whose
/// day after is linked up to `today`).
fn picker(
    path: &'static str,
    range: &DayRange,
    zone: &str,
    loc: Locale,
    daily: bool,
    today: jiff::civil::Date,
) -> Picker {
    let presets = preset_links(path, range.preset, daily);
    let step = |d: Option<jiff::civil::Date>| d.map_or(String::new(), |d| format!("{path}?range={DAILY}&day={d}"));
    let (prev_day, next_day) = if daily {
        (step(range.first.yesterday().ok()), step(range.first.tomorrow().ok().filter(|d| *d <= today)))
    } else {
        (String::new(), String::new())
    };
    let label = if range.first == range.last {
        format!("{} ({zone})", loc.weekday_date(range.first))
    } else {
        format!("{} ({zone})", loc.span(range.first, range.last))
    };
    Picker {
        path,
        presets,
        custom: range.preset.is_none() && !daily,
        date_from: range.first.to_string(),
        date_to: range.last.to_string(),
        label,
        error: String::new(),
        prev_day,
        next_day,
    }
}

/// The values of `key` in `q`, trimmed, empty ones dropped (a form sends
/// its empty fields).
fn form_values<'a>(q: &'a QueryPairs, key: &str) -> Vec<&'a str> {
    q.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.trim()).filter(|v| !v.is_empty()).collect()
}

/// A date field's values as a form sent them, read in the form's words:
/// none, one plain date (`2026-03-01`, as a date field sends it), or why
/// not. The one reading of every tab's date fields (History, the range
/// tabs, Daily's day).
fn form_date(values: &[&str], label: &str) -> Result<Option<jiff::civil::Date>, String> {
    match values {
        [] => Ok(None),
        [v] => v.parse::<jiff::civil::Date>().ok().filter(|_| v.len() == 10).map(Some).ok_or_else(|| {
            format!("The {label} \"{v}\" is not a date: pick one in the calendar, or type it like 2026-03-01.")
        }),
        _ => Err(format!("The {label} is given more than once: pick one.")),
    }
}

/// The range a tab's form asked for (a preset, or `custom` dates),
/// checked in the form's words (its labels, the dates as typed, the
/// organisation's way of writing dates), then read by the API's parser
/// ([`analytics::parse_range`]) so a page and the API cover the same days.
fn form_range(
    q: &QueryPairs,
    allowed: &[&str],
    today: jiff::civil::Date,
    default: RangePreset,
    loc: Locale,
) -> Result<DayRange, String> {
    let choose = || {
        let names: Vec<&str> = preset_links("", None, false).iter().map(|p| p.label).collect();
        format!("Choose a range from the list ({}), or pick a start and an end date.", names.join(", "))
    };
    if let Some((k, _)) = q.0.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        return Err(format!("This page does not take \"{k}\". {}", choose()));
    }
    if is_daily(q) {
        if !form_values(q, "date_from").is_empty() || !form_values(q, "date_to").is_empty() {
            return Err("Choose Daily or pick dates, not both.".to_string());
        }
        let day = form_date(&form_values(q, "day"), "day")?.unwrap_or(today);
        return Ok(DayRange { preset: None, first: day, last: day });
    }
    if !form_values(q, "day").is_empty() {
        return Err("A day goes with the Daily range: choose Daily, or a range from the list.".to_string());
    }
    let from = form_date(&form_values(q, "date_from"), "start date")?;
    let to = form_date(&form_values(q, "date_to"), "end date")?;
    let preset = match form_values(q, "range").as_slice() {
        [] => None,
        [r] if r.eq_ignore_ascii_case("custom") => None,
        [r] => Some(r.parse::<RangePreset>().map_err(|_| choose())?),
        _ => return Err(choose()),
    };
    let dates = from.is_some() || to.is_some();
    if preset.is_some() && dates {
        return Err("Choose a range from the list or pick dates, not both.".to_string());
    }
    if preset.is_none() && dates {
        let Some(first) = from else { return Err("Pick a start date as well as the end date.".to_string()) };
        let last = to.unwrap_or(today);
        if last < first {
            return Err(format!(
                "The end date is before the start date ({} is before {}): swap them, or pick an end date on or \
                 after the start date.",
                loc.date(last),
                loc.date(first)
            ));
        }
        let days = DayRange { preset: None, first, last }.days();
        if days > analytics::MAX_RANGE_DAYS {
            return Err(format!(
                "A range covers at most {} days; {} is {} days: pick a shorter one.",
                analytics::MAX_RANGE_DAYS,
                loc.span(first, last),
                loc.count(days)
            ));
        }
    } else if preset.is_none() && !form_values(q, "range").is_empty() {
        return Err("Pick a start and an end date for a custom range.".to_string());
    }
    // What is left to the API's parser: the fields as checked above.
    let pairs: Vec<(String, String)> = ["range", "date_from", "date_to"]
        .iter()
        .flat_map(|k| form_values(q, k).into_iter().map(|v| (k.to_string(), v.to_string())))
        .collect();
    analytics::parse_range(&QueryPairs(pairs), today, default).map_err(|e| e.message)
}

/// The range of a tab's query string, or why it is refused in the form's
/// words ([`form_range`]).
fn tab_range(q: &QueryPairs, ctx: &Ctx, allowed: &[&str], default: RangePreset) -> Result<DayRange, String> {
    form_range(q, allowed, analytics::today(&ctx.app, &ctx.tz), default, ctx.loc)
}

/// The picker of a refused range: no preset current, the dates typed kept
/// when they are dates, and the reason.
fn refused_picker(path: &'static str, q: &QueryPairs, error: String) -> Picker {
    let typed = |key: &str| match form_values(q, key).as_slice() {
        [v] if v.len() == 10 && v.parse::<jiff::civil::Date>().is_ok() => v.to_string(),
        _ => String::new(),
    };
    Picker {
        path,
        presets: preset_links(path, None, false),
        custom: false,
        date_from: typed("date_from"),
        date_to: typed("date_to"),
        label: String::new(),
        error,
        prev_day: String::new(),
        next_day: String::new(),
    }
}

/// A tab whose range is refused: the tab with its range form and the
/// reason, 422, nothing else drawn.
#[derive(Template)]
#[template(path = "range_refused.html")]
struct RangeRefusedPage {
    frame: Frame,
    picker: Picker,
}

async fn range_refused(
    ctx: &Ctx,
    (tab, title, path): (&str, &str, &'static str),
    q: &QueryPairs,
    error: String,
) -> Result<(StatusCode, String), PageError> {
    let s = ctx.summary().await?;
    let page = RangeRefusedPage { frame: ctx.frame(tab, title, &s), picker: refused_picker(path, q, error) };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page.render()?))
}

// ---------------------------------------------------------------------------
// Credits

/// One row of the Credits tab's "How many of what": a price's quantity
/// (in its unit), credits and operations over the range, in the org's
/// locale.
struct PriceUse {
    key: String,
    quantity: String,
    unit: String,
    credits: String,
    operations: String,
}

#[derive(Template)]
#[template(path = "credits.html")]
struct CreditsPage {
    frame: Frame,
    picker: Picker,
    own_only: bool,
    total: String,
    total_exact: String,
    operations: String,
    /// Rounded to 0.1 credit for people ([`charts::rounded`]).
    daily_average: String,
    /// The average to the micro-credit (rounded down), for its title.
    daily_average_exact: String,
    /// The range is more than one day (a day's "daily average" would be
    /// its total, so it is not shown).
    show_average: bool,
    over_time: TimeChart,
    /// Usage by action per day, stacked (ranges up to
    /// [`MAX_STACKED_DAYS`]); `None` draws `over_time` instead.
    by_action_day: Option<charts::StackChart>,
    /// One day: usage per hour instead of per day (`by_action_day` and
    /// `over_time` are not drawn).
    by_hour: Option<TimeChart>,
    /// The same span just before, for comparison.
    before: Comparison,
    /// Cumulative use over the range against the plan's allocation.
    cumulative: TimeChart,
    /// "10,000 plan credits this period", or empty without a plan.
    allocation: String,
    by_action: Vec<HBar>,
    by_user: Vec<HBar>,
    by_project: Vec<HBar>,
    by_service: Vec<HBar>,
    /// Priced usage by price: how many of what (none: no priced usage in
    /// the range, and the card is not drawn).
    by_price: Vec<PriceUse>,
    api_query: String,
}

/// Longest range whose usage by action is drawn per day (one rollup
/// query per day that has happened).
pub const MAX_STACKED_DAYS: i64 = 62;

/// Actions drawn apart in the stacked chart; the rest are "Other".
pub const STACKED_ACTIONS: usize = 4;

/// The Credits tab's comparison with the span just before.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// "March 1 – March 9, 2026".
    pub label: String,
    /// First and last day, `YYYY-MM-DD`.
    pub date_from: String,
    pub date_to: String,
    /// Credits used then, formatted and exact.
    pub total: String,
    pub total_exact: String,
    /// "+12.5%", or "—" when nothing was used then.
    pub change: String,
}

/// The span to compare `range` with: the month before for this or last
/// month, else as many days just before it; when
/// `range` runs past `today`, both are cut to the days so far (this
/// month's first week against last month's first week), and the second
/// value is the range so cut.
fn period_before(range: &DayRange, today: jiff::civil::Date) -> Option<(DayRange, DayRange)> {
    let shown = if range.first <= today && today < range.last { DayRange { last: today, ..*range } } else { *range };
    // A calendar month is compared with the month before (November for
    // December), other ranges with as many days just before.
    let months = matches!(range.preset, Some(RangePreset::ThisMonth | RangePreset::LastMonth));
    let back = if months { jiff::Span::new().months(1) } else { jiff::Span::new().days(range.days()) };
    let first = range.first.checked_sub(back).ok()?;
    let mut last = first.checked_add(jiff::Span::new().days(shown.days() - 1)).ok()?;
    if months {
        last = last.min(first.last_of_month());
    }
    Some((DayRange { preset: None, first, last }, shown))
}

fn span_label(r: &DayRange, loc: Locale) -> String {
    loc.span(r.first, r.last)
}

/// Usage by action per day (the rollups' day rows, one query per day that
/// has happened): the top [`STACKED_ACTIONS`] actions of the range apart,
/// the rest summed as "Other".
async fn action_days(
    ctx: &Ctx,
    range: DayRange,
    today: jiff::civil::Date,
    by_action: &UsageReport,
    who: Option<String>,
) -> Result<charts::StackChart, PageError> {
    let mut series: Vec<(String, String)> = by_action
        .rows
        .iter()
        .take(STACKED_ACTIONS)
        .map(|r| (r.key.clone().unwrap_or_default(), r.key.clone().unwrap_or_else(|| "(no action named)".into())))
        .collect();
    let other = by_action.rows.len() > STACKED_ACTIONS;
    if other {
        series.push(("(other)".into(), format!("Other ({})", by_action.rows.len() - STACKED_ACTIONS)));
    }
    let mut days = Vec::with_capacity(range.days() as usize);
    let mut day = range.first;
    loop {
        let mut amounts = vec![Micros::ZERO; series.len()];
        let future = day > today;
        if !future && !series.is_empty() {
            let one = DayRange { preset: None, first: day, last: day };
            let r = analytics::usage_report(
                &ctx.app,
                &ctx.org,
                &ctx.settings.time_zone,
                one,
                UsageGroup::Action,
                who.clone(),
            )
            .await?;
            for row in &r.rows {
                let key = row.key.clone().unwrap_or_default();
                let i = series.iter().take(STACKED_ACTIONS).position(|(k, _)| *k == key);
                let i = match (i, other) {
                    (Some(i), _) => i,
                    (None, true) => series.len() - 1,
                    // An action of the day that is not among the range's
                    // (cannot happen: the range holds the day).
                    (None, false) => continue,
                };
                amounts[i] = amounts[i].checked_add(row.credits).ok_or_else(|| {
                    PageError::from(ApiError::validation("the usage total is too large to add up exactly"))
                })?;
            }
        }
        days.push(charts::StackDay { key: day.to_string(), future, amounts });
        if day >= range.last {
            break;
        }
        day = day.tomorrow().map_err(|e| PageError::from(ApiError::validation(e.to_string())))?;
    }
    Ok(charts::stacked_chart(&days, &series, 720.0, 240.0, ctx.loc))
}

/// Rows a bar list shows; the rest are summed as one "Other (n)" row (an
/// org of 2,000 projects drew 2,000 rows, 0.7 MB a page).
pub const MAX_BARS: usize = 20;

fn bars(report: &UsageReport, none: &str, loc: Locale) -> Vec<HBar> {
    let mut rows: Vec<(String, String, String, Micros, i64)> = report
        .rows
        .iter()
        .take(MAX_BARS)
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
    if report.rows.len() > MAX_BARS {
        let rest = &report.rows[MAX_BARS..];
        let credits = rest.iter().try_fold(Micros::ZERO, |a, r| a.checked_add(r.credits)).unwrap_or(Micros::ZERO);
        let ops = rest.iter().fold(0i64, |a, r| a.saturating_add(r.operations));
        let label = format!("Other ({})", loc.count(rest.len() as i64));
        rows.push(("(other)".into(), label, String::new(), credits, ops));
    }
    charts::hbars(&rows, report.total_credits, loc)
}

/// Usage per hour of a one-day `range` (`Store::usage_hours`, from the
/// day's events), each hour labelled with its local time (a day the clocks
/// change has 23 or 25); hours after `now` are still to come (empty, not
/// zero). Returns the points and the cumulative points.
async fn hour_points(
    ctx: &Ctx,
    day: jiff::civil::Date,
    who: Option<String>,
) -> Result<(Vec<Point>, Vec<Point>), PageError> {
    let (from, to) = creditd_store::range::days_bounds(day, day, &ctx.tz);
    let q = creditd_store::hours::HourQuery { from, to, user_email: who };
    let rows = ctx.app.store.usage_hours(&ctx.org, &q).await?;
    let now = ctx.app.store.now();
    let mut points = Vec::new();
    let mut cumulative = Vec::new();
    let mut so_far = Micros::ZERO;
    for h in 0..q.hours() {
        let start = from
            .checked_add(jiff::SignedDuration::from_hours(h))
            .map_err(|e| PageError::from(ApiError::validation(e.to_string())))?;
        let local = start.to_zoned(ctx.tz.clone());
        let label = local.strftime("%H:%M").to_string();
        let (amount, count) = rows.iter().find(|r| r.hour == h).map_or((Micros::ZERO, 0), |r| (r.amount, r.count));
        let mut p = Point::credits_in(ctx.loc, label.clone(), amount, count);
        so_far = so_far.checked_add(amount).unwrap_or(so_far);
        let mut c = Point::credits_in(ctx.loc, label.clone(), so_far, 0);
        c.title = format!("{label}: {} credits used so far", ctx.loc.number(so_far));
        if start > now {
            for p in [&mut p, &mut c] {
                p.future = true;
                p.value = 0.0;
                p.exact = String::new();
                p.title = format!("{label}: still to come");
            }
        }
        points.push(p);
        cumulative.push(c);
    }
    Ok((points, cumulative))
}

/// The change from `then` to `now` as `loc` writes a percentage
/// ([`charts::percent_change`]); "—" without a base.
fn percent(loc: Locale, now: Micros, then: Micros) -> String {
    charts::percent_change(now, then).map_or_else(|| "—".into(), |p| loc.percent(p.trim_end_matches('%')))
}

/// The total usage of `range` (the day rows), for a comparison.
async fn report_range(ctx: &Ctx, range: DayRange, who: Option<String>) -> Result<UsageReport, PageError> {
    Ok(analytics::usage_report(&ctx.app, &ctx.org, &ctx.settings.time_zone, range, UsageGroup::Day, who).await?)
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
    let who = analytics::usage_scope(&ctx.principal, &ctx.org, None)?;
    let own_only = who.is_some();
    let title = if own_only { "My credit usage" } else { "Credits" };
    let range = match tab_range(&q, &ctx, &["range", "date_from", "date_to", "day"], analytics::DEFAULT_RANGE) {
        Ok(r) => r,
        Err(e) => return range_refused(&ctx, ("credits", title, "/credits"), &q, e).await,
    };
    let zone = ctx.settings.time_zone.clone();
    let report = |g: UsageGroup| analytics::usage_report(&ctx.app, &ctx.org, &zone, range, g, who.clone());
    let by_day = report(UsageGroup::Day).await?;
    let by_action = report(UsageGroup::Action).await?;
    let by_user = if own_only { None } else { Some(report(UsageGroup::User).await?) };
    let by_project = if own_only { None } else { Some(report(UsageGroup::Project).await?) };
    let by_service = report(UsageGroup::Service).await?;
    let by_price = report(UsageGroup::Price).await?;
    // The days so far: "This month" on the 2nd averages over two days, and
    // draws the rest of the month empty, not as zeros.
    let today = analytics::today(&ctx.app, &ctx.tz);
    let points: Vec<Point> = by_day
        .rows
        .iter()
        .map(|r| Point::credits_in(ctx.loc, r.key.clone().unwrap_or_default(), r.credits, r.operations).after(today))
        .collect();
    let days = if range.first <= today && today < range.last {
        DayRange { last: today, ..range }.days()
    } else {
        range.days()
    }
    .max(1);
    let average = Micros::from_micros(by_day.total_credits.micros() / days);
    let s = ctx.summary().await?;
    let hours = if range.days() == 1 { Some(hour_points(&ctx, range.first, who.clone()).await?) } else { None };
    let by_action_day = if hours.is_none() && range.days() <= MAX_STACKED_DAYS {
        Some(action_days(&ctx, range, today, &by_action, who.clone()).await?)
    } else {
        None
    };
    // The same span just before (cut to the days so far when the range
    // runs past today), from the same day rows.
    let before = match period_before(&range, today) {
        // Today so far against yesterday until the same time of day (the
        // day's own events, per hour, cut at that instant).
        Some((prev, _)) if range.days() == 1 && range.first == today => {
            let (from, _) = creditd_store::range::days_bounds(prev.first, prev.first, &ctx.tz);
            let (midnight, _) = creditd_store::range::days_bounds(today, today, &ctx.tz);
            let now = ctx.app.store.now();
            let elapsed = now.duration_since(midnight);
            let cut = from.checked_add(elapsed).unwrap_or(from);
            let then = if cut > from {
                let q = creditd_store::hours::HourQuery { from, to: cut, user_email: who.clone() };
                let rows = ctx.app.store.usage_hours(&ctx.org, &q).await?;
                rows.iter().try_fold(Micros::ZERO, |a, r| a.checked_add(r.amount)).ok_or_else(|| {
                    PageError::from(ApiError::validation("the usage total is too large to add up exactly"))
                })?
            } else {
                Micros::ZERO
            };
            let until = now.to_zoned(ctx.tz.clone()).strftime("%H:%M").to_string();
            Comparison {
                label: format!("{} until {until}", span_label(&prev, ctx.loc)),
                date_from: prev.first.to_string(),
                date_to: prev.last.to_string(),
                total: ctx.loc.number(then),
                total_exact: then.to_string(),
                change: percent(ctx.loc, by_day.total_credits, then),
            }
        }
        Some((prev, shown)) => {
            let then = report_range(&ctx, prev, who.clone()).await?;
            let now = if shown == range {
                by_day.total_credits
            } else {
                report_range(&ctx, shown, who.clone()).await?.total_credits
            };
            Comparison {
                label: span_label(&prev, ctx.loc),
                date_from: prev.first.to_string(),
                date_to: prev.last.to_string(),
                total: ctx.loc.number(then.total_credits),
                total_exact: then.total_credits.to_string(),
                change: percent(ctx.loc, now, then.total_credits),
            }
        }
        None => Comparison {
            label: "—".into(),
            date_from: String::new(),
            date_to: String::new(),
            total: "—".into(),
            total_exact: String::new(),
            change: "—".into(),
        },
    };
    // Cumulative use against the plan's allocation (this period's plan
    // credits), up to today.
    let mut so_far = Micros::ZERO;
    let cumulative_points: Vec<Point> = by_day
        .rows
        .iter()
        .map(|r| {
            so_far = so_far.checked_add(r.credits).unwrap_or(so_far);
            let key = r.key.clone().unwrap_or_default();
            let mut p = Point::credits_in(ctx.loc, key.clone(), so_far, 0);
            p.title = format!("{}: {} credits used so far", p.label, ctx.loc.number(so_far));
            p.after(today)
        })
        .collect();
    let has_plan = s.plan.is_some() && s.plan_credits.is_positive();
    let allocation =
        if has_plan { format!("{} plan credits this period", ctx.loc.number(s.plan_credits)) } else { String::new() };
    let cumulative_points = match &hours {
        Some((_, c)) => c.clone(),
        None => cumulative_points,
    };
    let cumulative = charts::time_chart_with_limit(
        &cumulative_points,
        has_plan.then(|| (s.plan_credits, format!("Plan allocation: {}", ctx.loc.number(s.plan_credits)))),
        720.0,
        240.0,
        ctx.loc,
    );
    let mut api_query = format!("group_by=day&range={}", range.name());
    if range.preset.is_none() {
        api_query.push_str(&format!("&date_from={}&date_to={}", range.first, range.last));
    }
    let page = CreditsPage {
        frame: ctx.frame("credits", title, &s),
        picker: picker("/credits", &range, &zone, ctx.loc, is_daily(&q), today),
        own_only,
        total: ctx.loc.number(by_day.total_credits),
        total_exact: by_day.total_credits.to_string(),
        operations: ctx.loc.count(by_day.total_operations),
        daily_average: ctx.loc.rounded(average, 1),
        daily_average_exact: average.to_string(),
        show_average: range.days() > 1,
        over_time: charts::time_chart(&points, 720.0, 240.0, ctx.loc),
        by_action_day,
        by_hour: hours.as_ref().map(|(p, _)| charts::time_chart(p, 720.0, 240.0, ctx.loc)),
        before,
        cumulative,
        allocation,
        by_action: bars(&by_action, "(no action named)", ctx.loc),
        by_user: by_user.as_ref().map(|r| bars(r, "(no user named)", ctx.loc)).unwrap_or_default(),
        by_project: by_project.as_ref().map(|r| bars(r, "(no project)", ctx.loc)).unwrap_or_default(),
        by_service: bars(&by_service, "(no service named)", ctx.loc),
        by_price: by_price
            .rows
            .iter()
            .map(|r| PriceUse {
                key: r.key.clone().unwrap_or_default(),
                quantity: quantity_text(r.quantity, ctx.loc),
                unit: r.unit.clone().unwrap_or_default(),
                credits: ctx.loc.number(r.credits),
                operations: ctx.loc.count(r.operations),
            })
            .collect(),
        api_query,
    };
    Ok((StatusCode::OK, page.render()?))
}

// ---------------------------------------------------------------------------
// Statement (linked from the credit history; printable)

/// One line of the statement page, formatted exactly.
struct StatementRow {
    kind: String,
    title: String,
    amount: String,
    count: String,
}

/// A balance at one end of the statement page, in the org's locale (and
/// exact, for the page's data).
struct StatementEnd {
    balance: String,
    balance_exact: String,
    held: String,
}

#[derive(Template)]
#[template(path = "statement.html")]
struct StatementPage {
    frame: Frame,
    picker: Picker,
    opening: StatementEnd,
    credits_in: Vec<StatementRow>,
    total_in: String,
    credits_out: Vec<StatementRow>,
    total_out: String,
    closing: StatementEnd,
    may_export: bool,
    api_query: String,
}

/// The Statement page's query: the API's (`range`, `date_from`, `date_to`)
/// and the Daily range's `day`.
const STATEMENT_PAGE_PARAMS: &[&str] = &["range", "date_from", "date_to", "day"];

/// `GET /statement`: the statement of a range (`creditd_store::history_at`,
/// what the API answers), as a page that prints as the statement alone.
pub async fn statement_tab(State(app): State<AppState>, MaybeSession(session): MaybeSession, q: QueryPairs) -> Page {
    Page(statement_inner(app, session, q).await)
}

async fn statement_inner(
    app: AppState,
    session: Option<Principal>,
    q: QueryPairs,
) -> Result<(StatusCode, String), PageError> {
    let ctx = Ctx::new(app, session).await?;
    ctx.principal.require(Action::ReadHistory, &ctx.org)?;
    let range = match tab_range(&q, &ctx, STATEMENT_PAGE_PARAMS, crate::statements::DEFAULT_STATEMENT_RANGE) {
        Ok(r) => r,
        Err(e) => return range_refused(&ctx, ("history", "Statement", "/statement"), &q, e).await,
    };
    let st = creditd_store::history_at::statement(ctx.app.store.as_ref(), &ctx.org, range.first, range.last).await?;
    let s = ctx.summary().await?;
    let rows = |lines: &[creditd_core::statement::StatementLine]| {
        lines
            .iter()
            .map(|l| StatementRow {
                kind: l.kind.clone(),
                title: l.title.clone(),
                amount: ctx.loc.number(l.amount),
                count: ctx.loc.count(l.count),
            })
            .collect::<Vec<_>>()
    };
    let end = |b: &creditd_core::statement::StatementBalance| StatementEnd {
        balance: ctx.loc.number(b.balance),
        balance_exact: b.balance.to_string(),
        held: ctx.loc.number(b.held),
    };
    let mut api_query = format!("range={}", range.name());
    if range.preset.is_none() {
        api_query.push_str(&format!("&date_from={}&date_to={}", range.first, range.last));
    }
    let page = StatementPage {
        frame: ctx.frame("history", "Statement", &s),
        picker: picker(
            "/statement",
            &range,
            &ctx.settings.time_zone,
            ctx.loc,
            is_daily(&q),
            analytics::today(&ctx.app, &ctx.tz),
        ),
        opening: end(&st.opening),
        credits_in: rows(&st.credits_in),
        total_in: ctx.loc.number(st.total_in),
        credits_out: rows(&st.credits_out),
        total_out: ctx.loc.number(st.total_out),
        closing: end(&st.closing),
        may_export: ctx.may(Action::Export),
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
    /// This month's conversations per identity against the limit.
    month_identities: Vec<IdentityUse>,
}

/// One identity's conversations this month against the per-identity limit.
#[derive(Clone, Debug)]
pub struct IdentityUse {
    /// The identity.
    pub identity: String,
    /// Conversations started this month.
    pub count: u64,
    /// Conversations started this month.
    pub used: String,
    /// What is left of the limit (0 when reached).
    pub left: String,
    /// The share of the limit used, 0–100 (the bar's width only).
    pub pct: f64,
    /// The limit is reached.
    pub full: bool,
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
    let range = match tab_range(&q, &ctx, &["range", "date_from", "date_to", "day"], analytics::DEFAULT_RANGE) {
        Ok(r) => r,
        Err(e) => return range_refused(&ctx, ("conversations", "Conversations", "/conversations"), &q, e).await,
    };
    let (from, to) = range.instants(&ctx.tz);
    let (daily, total) = conversations(&ctx, ConversationGroup::Day, from, to).await?;
    let (campaigns, _) = conversations(&ctx, ConversationGroup::Campaign, from, to).await?;
    let (identities, _) = conversations(&ctx, ConversationGroup::Identity, from, to).await?;
    // Identities active in the range shown (those that started a
    // conversation in it), not this month's.
    let active = identities.iter().filter(|(k, n)| !k.is_empty() && *n > 0).count();
    let today = analytics::today(&ctx.app, &ctx.tz);
    let points: Vec<Point> =
        daily.into_iter().map(|(k, n)| Point::count_in(ctx.loc, k, n, "conversations").after(today)).collect();
    let pie_rows = |rows: &[(String, u64)], none: &str| -> Vec<(String, String, u64)> {
        rows.iter()
            .map(|(k, n)| {
                let label = if k.is_empty() { none.to_string() } else { k.clone() };
                (k.clone(), label, *n)
            })
            .collect()
    };
    let s = ctx.summary().await?;
    let month_identities = month_identities(&ctx, &s).await?;
    let page = ConversationsPage {
        frame: ctx.frame("conversations", "Conversations", &s),
        picker: picker("/conversations", &range, &ctx.settings.time_zone, ctx.loc, is_daily(&q), today),
        total: ctx.loc.count(i64::try_from(total).unwrap_or(i64::MAX)),
        total_exact: total.to_string(),
        per_identity: ctx.loc.count(i64::from(s.conversations_per_identity)),
        identities: match s.identities {
            Some(n) => format!("{active} of {n}"),
            None => active.to_string(),
        },
        daily: charts::time_chart(&points, 720.0, 220.0, ctx.loc),
        by_campaign: charts::pie(&pie_rows(&campaigns, "(no campaign)"), "conversations", ctx.loc),
        by_identity: charts::pie(&pie_rows(&identities, "(unknown)"), "conversations", ctx.loc),
        month_identities,
    };
    Ok((StatusCode::OK, page.render()?))
}

// ---------------------------------------------------------------------------
// Credit history

/// An option of a history filter.
#[derive(Clone, Debug)]
pub struct Choice {
    /// The value sent.
    pub value: String,
    /// What people read.
    pub label: String,
    /// Chosen in the current filter.
    pub selected: bool,
}

/// A column the history table can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ColumnDef {
    /// Its key in `col=`.
    key: &'static str,
    /// Its heading.
    label: &'static str,
    /// Right-aligned figures.
    num: bool,
    /// Shown when no column is chosen.
    default: bool,
}

/// Every column, in the table's order (seed 003's Date, Service, Source,
/// Description, Code, Status, Amount by default, with the kind and the
/// balance after; seed 000's and 001's others to choose).
const COLUMNS: &[ColumnDef] = &[
    ColumnDef { key: "date", label: "Date", num: false, default: true },
    ColumnDef { key: "kind", label: "Kind", num: false, default: true },
    ColumnDef { key: "service", label: "Service", num: false, default: true },
    ColumnDef { key: "source", label: "Source", num: false, default: true },
    ColumnDef { key: "description", label: "Description", num: false, default: true },
    ColumnDef { key: "code", label: "Code", num: false, default: true },
    ColumnDef { key: "status", label: "Status", num: false, default: true },
    ColumnDef { key: "amount", label: "Amount", num: true, default: true },
    ColumnDef { key: "balance", label: "Balance after", num: true, default: true },
    ColumnDef { key: "pool", label: "Balance type", num: false, default: false },
    ColumnDef { key: "project", label: "Project", num: false, default: false },
    ColumnDef { key: "user", label: "User", num: false, default: false },
];

/// A column heading of the table shown.
#[derive(Clone, Debug)]
pub struct Column {
    /// Its key.
    pub key: &'static str,
    /// Its heading.
    pub label: &'static str,
    /// `num` for figures, else empty.
    pub class: &'static str,
}

/// One cell of the history table.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The column's key.
    pub key: &'static str,
    /// The column's heading (the phone layout labels each cell with it).
    pub label: &'static str,
    /// Classes.
    pub class: String,
    /// The text.
    pub text: String,
    /// A second, smaller line (an activity, a project id, an email).
    pub detail: String,
}

/// A row of the credit history table, formatted.
#[derive(Clone, Debug)]
pub struct Row {
    /// The instant, RFC 3339.
    pub iso: String,
    /// The kind's API name.
    pub kind_key: &'static str,
    /// The amount, exact.
    pub amount_exact: String,
    /// The event's id.
    pub id: String,
    /// The cells of the columns shown.
    pub cells: Vec<Cell>,
}

/// A layout the export can take (`creditd_export::Layout`), in words.
#[derive(Clone, Debug)]
pub struct LayoutChoice {
    /// The `layout=` value.
    pub value: &'static str,
    /// What people read.
    pub label: &'static str,
    /// Offered first.
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    frame: Frame,
    /// The page's cursor is not one this page made: `error` says so and
    /// links the first page.
    link_expired: bool,
    kinds: Vec<Choice>,
    pools: Vec<Choice>,
    statuses: Vec<Choice>,
    services: Vec<String>,
    projects: Vec<Choice>,
    sizes: Vec<Choice>,
    columns_offered: Vec<Choice>,
    date_from: String,
    date_to: String,
    service: String,
    user_email: String,
    filtered: bool,
    error: String,
    columns: Vec<Column>,
    rows: Vec<Row>,
    page_no: u64,
    first_row: u64,
    last_row: u64,
    matching: String,
    next_href: String,
    prev_href: String,
    first_href: String,
    export_action: String,
    export_hidden: Vec<(String, String)>,
    layouts: Vec<LayoutChoice>,
    zone: String,
    /// "Balance at <the newest event's time>: …", empty without events.
    balance_at: String,
}

/// Keys of the history form that are the API's filters.
const HISTORY_FILTERS: &[&str] =
    &["date_from", "date_to", "event_type", "pool", "project_id", "service", "status", "user_email"];
/// Keys of the history form that shape the table, not the events.
const HISTORY_VIEW: &[&str] = &["size", "col"];
/// Rows a page may show.
pub const HISTORY_SIZES: &[u32] = &[25, 50, 100];
/// Earlier pages a page remembers for Previous (`back=`); beyond them,
/// First page.
pub const HISTORY_BACK_MAX: usize = 50;
/// Most matching events the page counts; above it, it says "more than".
pub const HISTORY_COUNT_CAP: u64 = 1_000;

fn query_string(pairs: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn cell(def: &ColumnDef, text: String, detail: String, extra: &str) -> Cell {
    let mut class = if def.num { "num".to_string() } else { String::new() };
    let extra = if text.is_empty() && detail.is_empty() { "blank" } else { extra };
    if !extra.is_empty() {
        if !class.is_empty() {
            class.push(' ');
        }
        class.push_str(extra);
    }
    Cell { key: def.key, label: def.label, class, text, detail }
}

fn row(e: &Event, tz: &TimeZone, shown: &[&ColumnDef], loc: Locale) -> Row {
    let z = e.created_at.to_zoned(tz.clone());
    let t = |v: &Option<String>| v.clone().unwrap_or_default();
    // The report's rule: a purchase still processing or failed shows 0.
    let (kind, amount) = creditd_export::report_kind_amount(e.kind, e.status, e.amount);
    let sign = if amount.is_positive() {
        "amount pos"
    } else if amount.is_negative() {
        "amount neg"
    } else {
        "amount zero"
    };
    let cells = shown
        .iter()
        .map(|def| match def.key {
            "date" => cell(def, z.strftime("%Y-%m-%d %H:%M").to_string(), String::new(), ""),
            "kind" => cell(def, kind.to_string(), String::new(), ""),
            "amount" => cell(
                def,
                if amount.is_positive() { format!("+{}", loc.number(amount)) } else { loc.number(amount) },
                // A priced event: how many of what.
                e.pricing
                    .as_ref()
                    .map(|p| format!("{} {}", quantity_text(p.quantity, loc), p.unit))
                    .unwrap_or_default(),
                sign,
            ),
            "balance" => cell(def, loc.number(e.balance_after), String::new(), ""),
            "pool" => cell(def, e.pool.map(pool_label).unwrap_or_default().to_string(), String::new(), ""),
            "status" => cell(def, status_label(e.status).to_string(), String::new(), ""),
            "service" => cell(def, t(&e.service), t(&e.activity), ""),
            "source" => cell(def, t(&e.source), String::new(), ""),
            "project" => cell(def, t(&e.project_name), t(&e.project_id), ""),
            "user" => cell(def, t(&e.user_name), t(&e.user_email), ""),
            "description" => cell(def, t(&e.description), String::new(), ""),
            _ => cell(def, t(&e.code), String::new(), ""),
        })
        .collect();
    Row {
        iso: e.created_at.to_string(),
        kind_key: e.kind.as_str(),
        amount_exact: amount.to_string(),
        id: e.id.clone(),
        cells,
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

/// Every value of `key` in `pairs`, repeated or comma-separated.
fn values_of<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect()
}

/// Checks the history form's fields in the form's own words (its labels
/// and the names its choices show), before the API's parser sees them:
/// dates are the plain dates the date fields send, and a reversed range
/// is reported as the dates typed.
fn check_form(filters: &[(String, String)]) -> Result<(), String> {
    let from = form_date(&values_of(filters, "date_from"), "start date")?;
    let to = form_date(&values_of(filters, "date_to"), "end date")?;
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        return Err(format!(
            "The end date {t} ({}) is before the start date {f} ({}): swap them, or pick an end date on or after \
             the start date.",
            t.strftime("%B %-d, %Y"),
            f.strftime("%B %-d, %Y")
        ));
    }
    for v in values_of(filters, "event_type") {
        if crate::history::parse_kind(v).is_err() {
            let names: Vec<&str> = EventKind::ALL.iter().map(|k| k.title()).collect();
            return Err(format!("Event type \"{v}\" is not one of the types this form lists: {}.", names.join(", ")));
        }
    }
    for v in values_of(filters, "pool") {
        if crate::history::parse_pool(v).is_err() {
            let names: Vec<&str> = Pool::ALL.iter().map(|p| pool_label(*p)).collect();
            return Err(format!("Balance type \"{v}\" is not one of: {}.", names.join(", ")));
        }
    }
    for v in values_of(filters, "status") {
        if crate::history::parse_status(v).is_err() {
            let names: Vec<&str> = Status::ALL.iter().map(|s| status_label(*s)).collect();
            return Err(format!("Status \"{v}\" is not one of: {}.", names.join(", ")));
        }
    }
    Ok(())
}

/// The table's rows per page (`size`), one of [`HISTORY_SIZES`].
fn page_size(q: &QueryPairs) -> Result<u32, String> {
    match q.one("size").ok().flatten() {
        None => Ok(HISTORY_PAGE),
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| HISTORY_SIZES.contains(n))
            .ok_or_else(|| format!("Rows per page \"{v}\" is not one of 25, 50 or 100.")),
    }
}

/// The columns chosen (`col`), in the table's order; the default set
/// when none is chosen.
fn chosen_columns(q: &QueryPairs) -> Result<Vec<&'static ColumnDef>, String> {
    let asked = q.many("col");
    if let Some(bad) = asked.iter().find(|k| !COLUMNS.iter().any(|c| c.key == **k)) {
        let names: Vec<&str> = COLUMNS.iter().map(|c| c.key).collect();
        return Err(format!("Column \"{bad}\" is not one of: {}.", names.join(", ")));
    }
    Ok(if asked.is_empty() {
        COLUMNS.iter().filter(|c| c.default).collect()
    } else {
        COLUMNS.iter().filter(|c| asked.contains(&c.key)).collect()
    })
}

/// Services and projects that exist: those used in the last twelve whole
/// months (the usage rollups, read by month), for the form's choices.
async fn known_values(ctx: &Ctx) -> Result<(Vec<String>, Vec<(String, String)>), PageError> {
    let today = analytics::today(&ctx.app, &ctx.tz);
    let first = today.first_of_month().checked_sub(jiff::Span::new().months(11)).unwrap_or(today);
    let range = DayRange { preset: None, first, last: today.last_of_month() };
    let zone = &ctx.settings.time_zone;
    let services = analytics::usage_report(&ctx.app, &ctx.org, zone, range, UsageGroup::Service, None).await?;
    let projects = analytics::usage_report(&ctx.app, &ctx.org, zone, range, UsageGroup::Project, None).await?;
    let mut services: Vec<String> = services.rows.into_iter().filter_map(|r| r.key).collect();
    services.sort_by_key(|s| s.to_lowercase());
    let mut projects: Vec<(String, String)> =
        projects.rows.into_iter().filter_map(|r| r.key.map(|k| (k, r.name.unwrap_or_default()))).collect();
    projects.sort_by(|a, b| (a.1.to_lowercase(), &a.0).cmp(&(b.1.to_lowercase(), &b.0)));
    Ok((services, projects))
}

/// How many events match `filter`, counted page by page up to
/// [`HISTORY_COUNT_CAP`]: the number, and whether there are more.
async fn count_matching(ctx: &Ctx, filter: &creditd_store::EventFilter) -> Result<(u64, bool), PageError> {
    use creditd_store::query::{EventQuery, PageLimit, PageStart, decode_cursor};
    let mut n = 0u64;
    let mut start = PageStart::Offset(0);
    loop {
        let q = EventQuery {
            filter: filter.clone(),
            limit: PageLimit::new(PageLimit::MAX).unwrap_or(PageLimit::DEFAULT),
            start,
        };
        let page = ctx.app.store.events(&ctx.org, &q).await?;
        n += page.events.len() as u64;
        match page.next_cursor.as_deref().and_then(decode_cursor) {
            Some(seq) if n < HISTORY_COUNT_CAP => start = PageStart::Before(seq),
            Some(_) => return Ok((n.min(HISTORY_COUNT_CAP), true)),
            None => return Ok((n, false)),
        }
    }
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
    allowed.extend(HISTORY_VIEW);
    allowed.extend(["cursor", "page", "back"]);
    // A parameter the page does not take is a filter error in the form's
    // words, with the form there to mend it (not the API's list of names).
    let unknown = q.0.iter().find(|(k, _)| !allowed.contains(&k.as_str())).map(|(k, _)| {
        format!("This page does not take \"{k}\": filter with the form's fields (dates, type, status, balance type, service, project, user, code).")
    });
    let (services, projects) = known_values(&ctx).await?;
    // The filters as the form sent them, empty fields dropped; a service
    // typed in another case is the one that exists ("scraping": Scraping).
    let filters: Vec<(String, String)> =
        q.0.iter()
            .filter(|(k, v)| HISTORY_FILTERS.contains(&k.as_str()) && !v.trim().is_empty())
            .map(|(k, v)| {
                let v = v.trim();
                let known = match k.as_str() {
                    "service" => services.iter().find(|s| s.eq_ignore_ascii_case(v)).cloned(),
                    "project_id" => projects.iter().find(|p| p.0.eq_ignore_ascii_case(v)).map(|p| p.0.clone()),
                    _ => None,
                };
                (k.clone(), known.unwrap_or_else(|| v.to_string()))
            })
            .collect();
    let size = page_size(&q);
    let columns = chosen_columns(&q);
    let view: Vec<(String, String)> =
        q.0.iter().filter(|(k, v)| HISTORY_VIEW.contains(&k.as_str()) && !v.trim().is_empty()).cloned().collect();
    let cursor = q.one("cursor")?.map(|c| c.trim().to_string());
    // Cursors of the pages before this one, for Previous: all issued by
    // this page, at most HISTORY_BACK_MAX of them.
    let back: Vec<String> = q.many("back").into_iter().map(str::to_string).collect();
    let back_ok = back.len() <= HISTORY_BACK_MAX
        && back.iter().all(|c| creditd_store::query::decode_cursor(c).is_some())
        && (back.is_empty() || cursor.is_some());
    // The page number only labels a page reached by a cursor: without one
    // the page shown is the first, whatever `page` says.
    let page_no: u64 = match &cursor {
        Some(_) => q.one("page")?.and_then(|p| p.parse().ok()).filter(|p| *p >= 2).unwrap_or(2),
        None => 1,
    };
    let size_n = *size.as_ref().unwrap_or(&HISTORY_PAGE);
    let mut api_pairs = filters.clone();
    api_pairs.push(("limit".into(), size_n.to_string()));
    if let Some(c) = &cursor {
        api_pairs.push(("cursor".into(), c.clone()));
    }
    let s = ctx.summary().await?;
    let checked = unknown
        .map_or(Ok(()), Err)
        .and(check_form(&filters))
        .and(size.map(|_| ()))
        .and(columns.as_ref().map(|_| ()).map_err(Clone::clone))
        .and(if back_ok {
            Ok(())
        } else {
            Err("The page's Previous links are not ones this page made; start again from the first page.".to_string())
        });
    let query = match checked {
        Ok(()) => crate::history::page_query(&ctx.app, &ctx.org, &QueryPairs(api_pairs)).await,
        Err(message) => Err(ApiError::validation(message)),
    };
    let shown: Vec<&ColumnDef> = columns.clone().unwrap_or_else(|_| COLUMNS.iter().filter(|c| c.default).collect());
    let mut link_expired = false;
    let (rows, next_cursor, matching, error, status, balance_at) = match query {
        Ok(query) => {
            let page = ctx.app.store.events(&ctx.org, &query).await?;
            // The balance right after the newest event on the page, with the
            // holds open then (`history_at::balance_after_event`): by the
            // event, not its time, as several events may share a time.
            let balance_at = match page.events.first() {
                Some(top) => creditd_store::history_at::balance_after_event(ctx.app.store.as_ref(), &ctx.org, top)
                    .await
                    .map(|b| {
                        let at = top.created_at.to_zoned(ctx.tz.clone()).strftime("%Y-%m-%d %H:%M:%S");
                        let open = b.open_hold_count.map_or_else(|| "more than 100".to_string(), |n| n.to_string());
                        format!(
                            "Balance at {at}: {} available, {} held, open holds: {open}",
                            ctx.loc.number(b.available),
                            ctx.loc.number(b.held)
                        )
                    })
                    .unwrap_or_default(),
                None => String::new(),
            };
            let (n, more) = count_matching(&ctx, &query.filter).await?;
            let matching = match (n, more) {
                (_, true) => format!("More than {} events match", ctx.loc.count(HISTORY_COUNT_CAP as i64)),
                (1, false) => "1 event matches".to_string(),
                (n, false) => format!("{} events match", ctx.loc.count(n as i64)),
            };
            let rows = page.events.iter().map(|e| row(e, &ctx.tz, &shown, ctx.loc)).collect();
            (rows, page.next_cursor, matching, String::new(), StatusCode::OK, balance_at)
        }
        // A cursor this page did not make (a link kept too long, edited,
        // or from another filter): the first page is the way on.
        Err(e) if e.status.is_client_error() && cursor.is_some() && e.message.contains("cursor") => {
            link_expired = true;
            let message = "This page link has expired: start from the first page.".to_string();
            (Vec::new(), None, String::new(), message, e.status, String::new())
        }
        Err(e) if e.status.is_client_error() => (Vec::new(), None, String::new(), e.message, e.status, String::new()),
        Err(e) => return Err(e.into()),
    };
    let has = |k: &str, v: &str| values_of(&filters, k).contains(&v);
    let one = |k: &str| filters.iter().find(|(fk, _)| fk == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let choice = |value: &str, label: &str, selected: bool| Choice {
        value: value.to_string(),
        label: label.to_string(),
        selected,
    };
    let kinds = EventKind::ALL.iter().map(|k| choice(k.as_str(), k.title(), has("event_type", k.as_str()))).collect();
    let pools = Pool::ALL.iter().map(|p| choice(p.as_str(), pool_label(*p), has("pool", p.as_str()))).collect();
    let statuses =
        Status::ALL.iter().map(|st| choice(st.as_str(), status_label(*st), has("status", st.as_str()))).collect();
    let project = one("project_id");
    let mut project_choices: Vec<Choice> = projects
        .iter()
        .map(|(id, name)| {
            let label = if name.is_empty() { id.clone() } else { format!("{name} ({id})") };
            choice(id, &label, *id == project)
        })
        .collect();
    if !project.is_empty() && !project_choices.iter().any(|c| c.selected) {
        project_choices.push(choice(&project, &project, true));
    }
    let sizes = HISTORY_SIZES.iter().map(|n| choice(&n.to_string(), &n.to_string(), *n == size_n)).collect();
    let columns_offered =
        COLUMNS.iter().map(|c| choice(c.key, c.label, shown.iter().any(|s| s.key == c.key))).collect();
    // Links keep the filters and the view (size, columns).
    let mut keep = filters.clone();
    keep.extend(view.iter().cloned());
    let href = |extra: Vec<(String, String)>| {
        let mut p = keep.clone();
        p.extend(extra);
        let qs = query_string(&p);
        if qs.is_empty() { "/history".to_string() } else { format!("/history?{qs}") }
    };
    let stack = |list: &[String]| list.join(",");
    let next_href = match next_cursor {
        Some(next) => {
            let mut b = back.clone();
            if let Some(c) = &cursor {
                b.push(c.clone());
            }
            if b.len() > HISTORY_BACK_MAX {
                b.remove(0);
            }
            let mut extra = vec![("cursor".to_string(), next), ("page".to_string(), (page_no + 1).to_string())];
            if !b.is_empty() {
                extra.push(("back".to_string(), stack(&b)));
            }
            href(extra)
        }
        None => String::new(),
    };
    let prev_href = match (page_no, back.split_last()) {
        (1, _) => String::new(),
        (2, _) => href(Vec::new()),
        (_, Some((last, rest))) => {
            let mut extra = vec![("cursor".to_string(), last.clone()), ("page".to_string(), (page_no - 1).to_string())];
            if !rest.is_empty() {
                extra.push(("back".to_string(), stack(rest)));
            }
            href(extra)
        }
        // Further back than this page remembers: First page only.
        (_, None) => String::new(),
    };
    let voucher = has("pool", Pool::Voucher.as_str());
    let layouts = vec![
        LayoutChoice {
            value: "report",
            label: "Report: case, user, kind, amount, date, description",
            selected: !voucher,
        },
        LayoutChoice {
            value: "fpt",
            label: "Date, Service, Source, Description, Code, Status, Amount",
            selected: voucher,
        },
        LayoutChoice { value: "events", label: "Event log: created_at, event_type, credits, …", selected: false },
        LayoutChoice { value: "full", label: "Every field, as stored", selected: false },
    ];
    let rows_len = rows.len() as u64;
    let page = HistoryPage {
        frame: ctx.frame("history", "Credit history", &s),
        kinds,
        pools,
        statuses,
        services,
        projects: project_choices,
        sizes,
        columns_offered,
        date_from: one("date_from"),
        date_to: one("date_to"),
        service: one("service"),
        user_email: one("user_email"),
        filtered: !filters.is_empty(),
        error,
        link_expired,
        columns: shown
            .iter()
            .map(|c| Column { key: c.key, label: c.label, class: if c.num { "num" } else { "" } })
            .collect(),
        rows,
        page_no,
        first_row: (page_no - 1) * u64::from(size_n) + 1,
        last_row: (page_no - 1) * u64::from(size_n) + rows_len,
        matching,
        next_href,
        prev_href,
        first_href: href(Vec::new()),
        export_action: format!("/api/organizations/{}/credit-events/export", ctx.org),
        export_hidden: filters.clone(),
        layouts,
        zone: ctx.settings.time_zone.clone(),
        balance_at,
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
