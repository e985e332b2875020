//! Plans, the plan summary, conversations and notifications over HTTP.
//!
//! Thin like the other handlers: parse, call the store, shape the answer.
//! The rules (renewals, rollover, monthly conversation limits, the
//! low-balance crossing) live in `creditd_core::plans`; reads that depend on
//! the time use the store's clock (`Store::now`) and apply renewals that fell
//! due to a copy of the state (`OrgState::as_of`), so an answer never lags
//! the scheduler.
//!
//! - `GET  /api/organizations/{orgId}/summary`
//! - `GET  /api/organizations/{orgId}/plan`, `PUT …/plan`
//! - `POST /api/organizations/{orgId}/conversations`, `GET …/conversations`
//! - `PUT  /api/organizations/{orgId}/low-balance-threshold`
//! - `GET  /api/organizations/{orgId}/notifications`

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use creditd_core::ErrorCode;
use creditd_core::money::Amount;
use creditd_core::plans::{DEFAULT_CONVERSATIONS_PER_IDENTITY, Effective, LowBalance, Plan, PlanOp, Rollover, Summary};
use creditd_core::{Balance, CapView, Conversation, Event, Micros, Notification, Op, OrgState, valid_id};
use creditd_store::conversations::{ConversationCount, MAX_CONVERSATION_GROUPS};
use creditd_store::{Command, ConversationGroup, ConversationQuery, StoreError};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{Body, QueryPairs};
use crate::permissions::Action;

/// Longest idempotency key accepted (as for the other writes).
const MAX_KEY_LEN: usize = 255;
/// Longest range a conversation breakdown covers.
const MAX_RANGE_DAYS: i64 = 366;
/// Most notifications one page returns.
const MAX_NOTIFICATIONS: u32 = 100;
/// Query parameters of `GET …/conversations` (and `…/conversations/usage`).
pub const CONVERSATION_PARAMS: &[&str] = &["group_by", "date_from", "date_to"];
/// Query parameters of `GET …/notifications`.
pub const NOTIFICATION_PARAMS: &[&str] = &["after", "limit"];

pub fn routes() -> Router<AppState> {
    let org = "/api/organizations/{org_id}";
    Router::new()
        .route(&format!("{org}/summary"), get(summary))
        .route(&format!("{org}/plan"), get(get_plan).put(put_plan))
        .route(&format!("{org}/conversations"), get(conversation_usage).post(start_conversation))
        .route(&format!("{org}/low-balance-threshold"), put(set_low_balance_threshold))
        .route(&format!("{org}/notifications"), get(notifications))
}

fn org_id(id: &str) -> Result<&str, ApiError> {
    if valid_id(id) { Ok(id) } else { Err(ApiError::not_found(format!("organization {id:?} not found"))) }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let s = v.to_str().map_err(|_| ApiError::validation("Idempotency-Key must be printable ASCII"))?;
            if s.is_empty() || s.len() > MAX_KEY_LEN {
                return Err(ApiError::validation(format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} characters")));
            }
            Ok(Some(s.to_string()))
        }
    }
}

/// The state as it is now, renewals due by now applied to a copy.
async fn state_now(app: &AppState, org: &str) -> Result<(OrgState, Timestamp), ApiError> {
    let state = app.store.org_state(org).await?;
    let now = app.store.now();
    let state = state.as_of(now).map_err(|e| ApiError::from(StoreError::from(e)))?;
    Ok((state, now))
}

/// `GET …/summary`: the Plan tab (see `creditd_core::plans::Summary`).
pub async fn summary(
    State(app): State<AppState>,
    principal: Principal,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    let org = org_id(&org)?;
    principal.require(Action::ReadSummary, org)?;
    let state = app.store.org_state(org).await?;
    let now = app.store.now();
    let summary = state.summary(now).map_err(|e| ApiError::from(StoreError::from(e)))?;
    Ok(Json(SummaryView { summary, caps: principal.visible_caps(&state, now) }).into_response())
}

/// `GET …/summary`: the summary and the caps the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryView {
    #[serde(flatten)]
    pub summary: Summary,
    pub caps: Vec<CapView>,
}

/// `GET …/plan`: the plan, a pending change, the anchor and the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    pub plan: Option<Plan>,
    /// Replaces `plan` at the next renewal.
    pub next_plan: Option<Plan>,
    pub subscribed_at: Option<Timestamp>,
    pub renewal_day: u8,
    pub time_zone: String,
    pub period_start: Option<Timestamp>,
    pub period_end: Option<Timestamp>,
    pub renews_at: Option<Timestamp>,
}

/// `PUT …/plan`: the plan view, the events the change made, the balance.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanChanged {
    #[serde(flatten)]
    pub plan: PlanView,
    pub events: Vec<Event>,
    pub balance: Balance,
}

fn plan_view(s: &OrgState) -> PlanView {
    PlanView {
        plan: s.plans.plan.clone(),
        next_plan: s.plans.next_plan.clone(),
        subscribed_at: s.plans.subscribed_at,
        renewal_day: s.settings.renewal_day,
        time_zone: s.settings.time_zone.clone(),
        period_start: s.period_start,
        period_end: s.period_end,
        renews_at: s.next_renewal(),
    }
}

/// `GET …/plan`: the plan, a pending change, the anchor and the period.
pub async fn get_plan(
    State(app): State<AppState>,
    principal: Principal,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    let org = org_id(&org)?;
    principal.require(Action::ReadSummary, org)?;
    let (state, _) = state_now(&app, org).await?;
    Ok(Json(plan_view(&state)).into_response())
}

/// `PUT …/plan`: subscribe (default `effective: now`: this period's
/// credits at once) or change the plan (default `effective: next_period`;
/// `now` replaces this period's unused plan credits with the new
/// allocation). `renewal_day` (1–28) sets the anchor when subscribing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutPlanRequest {
    pub name: String,
    #[schema(value_type = Amount)]
    pub credits_per_period: Micros,
    pub identities_included: u32,
    #[schema(value_type = Amount)]
    pub price: Micros,
    pub currency: String,
    /// Default 500.
    pub conversations_per_identity: Option<u32>,
    /// Default `{"policy": "none"}`.
    pub rollover: Option<Rollover>,
    pub effective: Option<Effective>,
    #[schema(minimum = 1, maximum = 28)]
    pub renewal_day: Option<u8>,
}

pub async fn put_plan(
    State(app): State<AppState>,
    principal: Principal,
    Path(org): Path<String>,
    headers: HeaderMap,
    Body(req): Body<PutPlanRequest>,
) -> Result<Response, ApiError> {
    let org = org_id(&org)?;
    principal.require(Action::ManagePlan, org)?;
    let key = idempotency_key(&headers)?;
    let plan = Plan {
        name: req.name,
        credits_per_period: req.credits_per_period,
        identities_included: req.identities_included,
        price: req.price,
        currency: req.currency,
        conversations_per_identity: req.conversations_per_identity.unwrap_or(DEFAULT_CONVERSATIONS_PER_IDENTITY),
        rollover: req.rollover.unwrap_or_default(),
    };
    let op = Op::Plans(PlanOp::SetPlan { plan, effective: req.effective, renewal_day: req.renewal_day });
    let outcome = creditd_store::execute_one(app.store.as_ref(), Command::new(org, op, key)).await?;
    let (state, _) = state_now(&app, org).await?;
    Ok(Json(PlanChanged { plan: plan_view(&state), events: outcome.events, balance: outcome.balance }).into_response())
}

/// `POST …/conversations`: one conversation started by an identity.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationRequest {
    pub identity: String,
    pub campaign: Option<String>,
    /// Default: now. May be in the previous month (counted there).
    pub started_at: Option<Timestamp>,
}

/// `POST …/conversations`: the conversation counted and what is left of
/// the identity's monthly limit.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationStarted {
    pub conversation: Conversation,
    pub remaining_this_month: u32,
}

pub async fn start_conversation(
    State(app): State<AppState>,
    principal: Principal,
    Path(org): Path<String>,
    headers: HeaderMap,
    Body(req): Body<ConversationRequest>,
) -> Result<Response, ApiError> {
    let org = org_id(&org)?;
    principal.require(Action::Consume, org)?;
    let key = idempotency_key(&headers)?;
    let op =
        Op::Plans(PlanOp::Conversation { identity: req.identity, campaign: req.campaign, started_at: req.started_at });
    let outcome = creditd_store::execute_one(app.store.as_ref(), Command::new(org, op, key)).await?;
    let c = outcome.conversation.ok_or_else(|| ApiError::new(ErrorCode::StorageError, "no conversation recorded"))?;
    let remaining_this_month = c.month_limit.saturating_sub(c.month_count);
    Ok((StatusCode::CREATED, Json(ConversationStarted { conversation: c, remaining_this_month })).into_response())
}

fn parse_time(name: &str, v: &str) -> Result<Timestamp, ApiError> {
    v.parse::<Timestamp>()
        .map_err(|_| ApiError::validation(format!("{name} {v:?} is not an RFC 3339 time like 2026-03-01T00:00:00Z")))
}

fn start_of(tz: &TimeZone, d: Date) -> Result<Timestamp, ApiError> {
    d.to_zoned(tz.clone()).map(|z| z.timestamp()).map_err(|e| ApiError::validation(format!("date {d}: {e}")))
}

/// `GET …/conversations?group_by=day|campaign|identity&date_from=&date_to=`:
/// conversations started in `[date_from, date_to)` (default: this month in
/// the org's zone). By day, every day of the range is listed, zeros
/// included (a daily line); by campaign or identity, most first.
pub async fn conversation_usage(
    State(app): State<AppState>,
    principal: Principal,
    Path(org): Path<String>,
    q: QueryPairs,
) -> Result<Response, ApiError> {
    let org = org_id(&org)?;
    principal.require(Action::ReadAnalytics, org)?;
    q.only(CONVERSATION_PARAMS)?;
    let group_by = match q.one("group_by")?.unwrap_or("day") {
        "day" => ConversationGroup::Day,
        "campaign" => ConversationGroup::Campaign,
        "identity" => ConversationGroup::Identity,
        other => {
            return Err(ApiError::validation(format!("group_by {other:?} must be one of: day, campaign, identity")));
        }
    };
    let info = app.store.org(org).await?;
    let tz = TimeZone::get(&info.settings.time_zone).map_err(|e| ApiError::validation(e.to_string()))?;
    let month = app.store.now().to_zoned(tz.clone()).date().first_of_month();
    let from = match q.one("date_from")? {
        Some(v) => parse_time("date_from", v)?,
        None => start_of(&tz, month)?,
    };
    let to = match q.one("date_to")? {
        Some(v) => parse_time("date_to", v)?,
        None => start_of(&tz, month.checked_add(1.month()).map_err(|e| ApiError::validation(e.to_string()))?)?,
    };
    if to <= from {
        return Err(ApiError::validation("date_to must be after date_from"));
    }
    if to.as_second() - from.as_second() > MAX_RANGE_DAYS * 86_400 {
        return Err(ApiError::validation(format!("a conversation breakdown covers at most {MAX_RANGE_DAYS} days")));
    }
    let query = ConversationQuery { from, to, group_by };
    let mut rows = app.store.conversation_usage(org, &query).await?;
    let truncated = rows.len() > MAX_CONVERSATION_GROUPS;
    rows.truncate(MAX_CONVERSATION_GROUPS);
    let total: u64 = rows.iter().map(|r| r.conversations).sum();
    let rows: Vec<ConversationCount> = if group_by == ConversationGroup::Day {
        // Every day of the range in the org's zone, zeros included.
        let mut out = Vec::new();
        let last = to
            .checked_sub(jiff::SignedDuration::from_micros(1))
            .map_err(|e| ApiError::validation(e.to_string()))?
            .to_zoned(tz.clone())
            .date();
        let mut day = from.to_zoned(tz.clone()).date();
        while day <= last {
            let key = day.to_string();
            let n = rows.iter().find(|r| r.key.as_deref() == Some(key.as_str())).map_or(0, |r| r.conversations);
            out.push(ConversationCount { key: Some(key), conversations: n });
            day = day.tomorrow().map_err(|e| ApiError::validation(e.to_string()))?;
        }
        out
    } else {
        rows
    };
    Ok(Json(ConversationReport {
        group_by,
        date_from: from,
        date_to: to,
        time_zone: info.settings.time_zone,
        total,
        truncated,
        rows,
    })
    .into_response())
}

/// `GET …/conversations`: conversations started in `[date_from, date_to)`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationReport {
    pub group_by: ConversationGroup,
    pub date_from: Timestamp,
    pub date_to: Timestamp,
    pub time_zone: String,
    pub total: u64,
    /// More than 1,000 groups: only the first are listed.
    pub truncated: bool,
    pub rows: Vec<ConversationCount>,
}

/// `PUT …/low-balance-threshold`: `{"threshold": 1000}`; `null` clears it.
/// Below it, a `low_balance` notification is stored once per crossing
/// (see `GET …/notifications`); never a credit event.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdRequest {
    #[schema(value_type = Option<Amount>)]
    pub threshold: Option<Micros>,
}

/// `PUT …/low-balance-threshold`: the alert's state and the balance.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThresholdSet {
    pub low_balance: LowBalance,
    pub balance: Micros,
}

/// `GET …/notifications`, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Notifications {
    pub notifications: Vec<Notification>,
}

pub async fn set_low_balance_threshold(
    State(app): State<AppState>,
    principal: Principal,
    Path(org): Path<String>,
    headers: HeaderMap,
    Body(req): Body<ThresholdRequest>,
) -> Result<Response, ApiError> {
    let org = org_id(&org)?;
    principal.require(Action::ManagePlan, org)?;
    let key = idempotency_key(&headers)?;
    let op = Op::Plans(PlanOp::SetLowBalanceThreshold { threshold: req.threshold });
    creditd_store::execute_one(app.store.as_ref(), Command::new(org, op, key)).await?;
    let state = app.store.org_state(org).await?;
    let s = state.summary(app.store.now()).map_err(|e| ApiError::from(StoreError::from(e)))?;
    Ok(Json(ThresholdSet { low_balance: s.low_balance, balance: s.balance }).into_response())
}

/// `GET …/notifications?after=SEQ&limit=N`: oldest first, at most 100.
pub async fn notifications(
    State(app): State<AppState>,
    principal: Principal,
    Path(org): Path<String>,
    q: QueryPairs,
) -> Result<Response, ApiError> {
    let org = org_id(&org)?;
    principal.require(Action::ReadHistory, org)?;
    q.only(NOTIFICATION_PARAMS)?;
    let after = match q.one("after")? {
        None => 0,
        Some(v) => {
            v.parse::<u64>().map_err(|_| ApiError::validation(format!("after must be a whole number, got {v:?}")))?
        }
    };
    let limit = match q.one("limit")? {
        None => MAX_NOTIFICATIONS,
        Some(v) => v.parse::<u32>().ok().filter(|l| (1..=MAX_NOTIFICATIONS).contains(l)).ok_or_else(|| {
            ApiError::validation(format!("limit must be a whole number from 1 to {MAX_NOTIFICATIONS}, got {v:?}"))
        })?,
    };
    let list = app.store.notifications(org, after, limit).await?;
    Ok(Json(Notifications { notifications: list }).into_response())
}
