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

use axum::Json;
use axum::extract::State;
use creditd_core::ErrorCode;
use creditd_core::money::Amount;
use creditd_core::plans::{DEFAULT_CONVERSATIONS_PER_IDENTITY, Effective, LowBalance, Plan, PlanOp, Rollover, Summary};
use creditd_core::{Balance, CapView, Conversation, Event, Micros, Notification, Op, OrgState};
use creditd_store::conversations::{ConversationCount, MAX_CONVERSATION_GROUPS};
use creditd_store::{Command, ConversationGroup, ConversationQuery, StoreError};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::answer::Created;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{Body, IdempotencyKey, OrgPath, QueryPairs};
use crate::permissions::Action;
/// Longest range a conversation breakdown covers.
const MAX_RANGE_DAYS: i64 = 366;
/// Most notifications one page returns.
const MAX_NOTIFICATIONS: u32 = 100;
/// Query parameters of `GET …/conversations` (and `…/conversations/usage`).
pub const CONVERSATION_PARAMS: &[&str] = &["group_by", "date_from", "date_to"];
/// Query parameters of `GET …/notifications`.
pub const NOTIFICATION_PARAMS: &[&str] = &["after", "limit"];

/// The state as it is now, renewals due by now applied to a copy.
pub(crate) async fn state_now(app: &AppState, org: &str) -> Result<(OrgState, Timestamp), ApiError> {
    let state = app.store.org_state(org).await?;
    let now = app.store.now();
    let state = state.as_of(now).map_err(|e| ApiError::from(StoreError::from(e)))?;
    Ok((state, now))
}

/// `GET …/summary`: the Plan tab (see `creditd_core::plans::Summary`).
pub async fn summary(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
) -> Result<Json<SummaryView>, ApiError> {
    let org = org.as_str();
    principal.require(Action::ReadSummary, org)?;
    let state = app.store.org_state(org).await?;
    let now = app.store.now();
    let summary = state.summary(now).map_err(|e| ApiError::from(StoreError::from(e)))?;
    let (funded_by, funded_children) = funding_views(&app, &state, now).await?;
    Ok(Json(SummaryView { summary, caps: principal.visible_caps(&state, now), funded_by, funded_children }))
}

/// `GET …/summary`: the summary and the caps the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryView {
    /// The Plan tab's figures.
    #[serde(flatten)]
    pub summary: Summary,
    /// The caps the caller may see.
    pub caps: Vec<CapView>,
    /// With `funding: parent`: the parent drawn on and this period's
    /// budget; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funded_by: Option<FundingView>,
    /// The children that draw on this organisation (`funding: parent`),
    /// with what each drew and consumed this period.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub funded_children: Vec<FundedChild>,
}

/// A funded organisation's parent and budget (see
/// `creditd_core::funding`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FundingView {
    /// The parent drawn on.
    pub parent_id: String,
    /// The parent's name ("Funded by …").
    pub parent_name: String,
    /// The most drawn per period; null: no limit.
    #[schema(value_type = Option<Amount>)]
    pub budget: Option<Micros>,
    /// Drawn from the parent this period.
    #[schema(value_type = Amount)]
    pub drawn_this_period: Micros,
    /// What is left of the budget this period; null: no limit.
    #[schema(value_type = Option<Amount>)]
    pub budget_left: Option<Micros>,
}

/// A child that draws on this organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FundedChild {
    /// The child.
    pub org_id: String,
    /// Its name.
    pub name: String,
    /// Its budget per period; null: no limit.
    #[schema(value_type = Option<Amount>)]
    pub budget: Option<Micros>,
    /// Drawn from this organisation in the child's period.
    #[schema(value_type = Amount)]
    pub drawn_this_period: Micros,
    /// What it consumed in its period (its own credits and drawn ones).
    #[schema(value_type = Amount)]
    pub used_this_period: Micros,
}

/// The funding side of a summary: whom `state`'s org draws on (if it
/// does) and which of its children draw on it, as of `now`.
pub(crate) async fn funding_views(
    app: &AppState,
    state: &OrgState,
    now: jiff::Timestamp,
) -> Result<(Option<FundingView>, Vec<FundedChild>), StoreError> {
    let funded_by = match state.settings.funding {
        creditd_core::Funding::Own => None,
        creditd_core::Funding::Parent => match app.store.org(&state.org_id).await?.parent_id {
            Some(parent_id) => {
                let parent_name = app.store.org(&parent_id).await?.settings.name;
                Some(FundingView {
                    parent_id,
                    parent_name,
                    budget: state.settings.funding_budget,
                    drawn_this_period: state.funding_drawn(now),
                    budget_left: state.funding_left(now),
                })
            }
            None => None,
        },
    };
    let mut funded_children = Vec::new();
    for child in app.store.children(std::slice::from_ref(&state.org_id)).await? {
        let c = app.store.org_state(&child).await?;
        if c.settings.funding != creditd_core::Funding::Parent {
            continue;
        }
        let c = c.as_of(now)?;
        funded_children.push(FundedChild {
            org_id: child,
            name: c.settings.name.clone(),
            budget: c.settings.funding_budget,
            drawn_this_period: c.funding_drawn(now),
            used_this_period: c.period_usage,
        });
    }
    Ok((funded_by, funded_children))
}

/// `GET …/plan`: the plan, a pending change, the anchor and the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    /// The plan now; null: not subscribed.
    pub plan: Option<Plan>,
    /// Replaces `plan` at the next renewal.
    pub next_plan: Option<Plan>,
    /// When the organisation first subscribed.
    pub subscribed_at: Option<Timestamp>,
    /// The day of the month periods start (1–28).
    pub renewal_day: u8,
    /// The organisation's time zone.
    pub time_zone: String,
    /// This period's first instant.
    pub period_start: Option<Timestamp>,
    /// The next period's first instant.
    pub period_end: Option<Timestamp>,
    /// When the next renewal is due.
    pub renews_at: Option<Timestamp>,
}

/// `PUT …/plan`: the plan view, the events the change made, the balance.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanChanged {
    /// The plan after the change.
    #[serde(flatten)]
    pub plan: PlanView,
    /// The events the change made.
    pub events: Vec<Event>,
    /// The balance after them.
    pub balance: Balance,
}

pub(crate) fn plan_view(s: &OrgState) -> PlanView {
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
    org: OrgPath,
) -> Result<Json<PlanView>, ApiError> {
    let org = org.as_str();
    principal.require(Action::ReadSummary, org)?;
    let (state, _) = state_now(&app, org).await?;
    Ok(Json(plan_view(&state)))
}

/// `PUT …/plan`: subscribe (default `effective: now`: this period's
/// credits at once) or change the plan (default `effective: next_period`;
/// `now` replaces this period's unused plan credits with the new
/// allocation). `renewal_day` (1–28) sets the anchor when subscribing.
/// The plan is either described in full (`name`, `credits_per_period`,
/// `identities_included`, `price`, `currency`, and the optional fields) or
/// named from the catalogue (`plan_id` alone, with `effective` and
/// `renewal_day`): the organisation gets a copy of the catalogue's plan as
/// it is now, which later catalogue changes do not rewrite.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutPlanRequest {
    /// A plan of the catalogue (`PUT /api/plans/{plan_id}`), instead of
    /// the fields below.
    pub plan_id: Option<String>,
    /// The plan's name.
    pub name: Option<String>,
    /// Credits each period.
    #[schema(value_type = Option<Amount>)]
    pub credits_per_period: Option<Micros>,
    /// Identities the plan counts conversations for.
    pub identities_included: Option<u32>,
    /// The price per period.
    #[schema(value_type = Option<Amount>)]
    pub price: Option<Micros>,
    /// The price's currency.
    pub currency: Option<String>,
    /// Default 500.
    pub conversations_per_identity: Option<u32>,
    /// Default `{"policy": "none"}`.
    pub rollover: Option<Rollover>,
    /// When a change applies: `now` or `next_period`.
    pub effective: Option<Effective>,
    /// The anchor day when subscribing.
    #[schema(minimum = 1, maximum = 28)]
    pub renewal_day: Option<u8>,
    /// The price book the plan's priced operations use (it must exist;
    /// an organisation's own `price_book` setting wins).
    pub price_book: Option<String>,
}

/// `PUT …/plan`: subscribe or change the plan (see [`PutPlanRequest`]).
pub async fn put_plan(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
    IdempotencyKey(key): IdempotencyKey,
    Body(req): Body<PutPlanRequest>,
) -> Result<Json<PlanChanged>, ApiError> {
    let org = org.as_str();
    principal.require(Action::ManagePlan, org)?;
    let plan = match req.plan_id.as_deref() {
        Some(id) => {
            let described = req.name.is_some()
                || req.credits_per_period.is_some()
                || req.identities_included.is_some()
                || req.price.is_some()
                || req.currency.is_some()
                || req.conversations_per_identity.is_some()
                || req.rollover.is_some()
                || req.price_book.is_some();
            if described {
                return Err(ApiError::validation(
                    "plan_id names a catalogue plan: send it alone (with effective and renewal_day), not with the \
                     plan's fields",
                ));
            }
            crate::money_in::catalogue_plan(&app, id).await?.plan
        }
        None => {
            let missing =
                |f: &str| ApiError::validation(format!("{f} is required (or name a catalogue plan: plan_id)"));
            crate::prices::require_book(&app, req.price_book.as_deref()).await?;
            Plan {
                name: req.name.ok_or_else(|| missing("name"))?,
                credits_per_period: req.credits_per_period.ok_or_else(|| missing("credits_per_period"))?,
                identities_included: req.identities_included.ok_or_else(|| missing("identities_included"))?,
                price: req.price.ok_or_else(|| missing("price"))?,
                currency: req.currency.ok_or_else(|| missing("currency"))?,
                conversations_per_identity: req
                    .conversations_per_identity
                    .unwrap_or(DEFAULT_CONVERSATIONS_PER_IDENTITY),
                rollover: req.rollover.unwrap_or_default(),
                price_book: req.price_book,
            }
        }
    };
    let op = Op::Plans(PlanOp::SetPlan { plan, effective: req.effective, renewal_day: req.renewal_day });
    let outcome = creditd_store::execute_one(app.store.as_ref(), Command::new(org, op, key)).await?;
    let (state, _) = state_now(&app, org).await?;
    Ok(Json(PlanChanged { plan: plan_view(&state), events: outcome.events, balance: outcome.balance }))
}

/// `POST …/conversations`: one conversation started by an identity.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationRequest {
    /// Who started the conversation (counted against their monthly limit).
    pub identity: String,
    /// The campaign it belongs to.
    pub campaign: Option<String>,
    /// Default: now. May be in the previous month (counted there).
    pub started_at: Option<Timestamp>,
}

/// `POST …/conversations`: the conversation counted and what is left of
/// the identity's monthly limit.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationStarted {
    /// The conversation as counted.
    pub conversation: Conversation,
    /// What is left of the identity's limit this month.
    pub remaining_this_month: u32,
}

/// `POST …/conversations`: counts a conversation against its identity's
/// monthly limit (never a credit event).
pub async fn start_conversation(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
    IdempotencyKey(key): IdempotencyKey,
    Body(req): Body<ConversationRequest>,
) -> Result<Created<ConversationStarted>, ApiError> {
    let org = org.as_str();
    principal.require(Action::Consume, org)?;
    let op =
        Op::Plans(PlanOp::Conversation { identity: req.identity, campaign: req.campaign, started_at: req.started_at });
    let outcome = creditd_store::execute_one(app.store.as_ref(), Command::new(org, op, key)).await?;
    let c = outcome.conversation.ok_or_else(|| ApiError::new(ErrorCode::StorageError, "no conversation recorded"))?;
    let remaining_this_month = c.month_limit.saturating_sub(c.month_count);
    Ok(Created(ConversationStarted { conversation: c, remaining_this_month }))
}

fn parse_time(name: &str, v: &str) -> Result<Timestamp, ApiError> {
    v.parse::<Timestamp>()
        .map_err(|_| ApiError::validation(format!("{name} {v:?} is not an RFC 3339 time like 2026-03-01T00:00:00Z")))
}

fn start_of(tz: &TimeZone, d: Date) -> Result<Timestamp, ApiError> {
    d.to_zoned(tz.clone()).map(|z| z.timestamp()).map_err(|e| ApiError::validation(format!("date {d}: {e}")))
}

/// `GET …/conversations?group_by=day|campaign|identity&date_from=&date_to=`:
/// the query checked, then [`conversation_report`].
pub async fn conversation_usage(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
    q: QueryPairs,
) -> Result<Json<ConversationReport>, ApiError> {
    let org = org.as_str();
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
    let from = q.one("date_from")?.map(|v| parse_time("date_from", v)).transpose()?;
    let to = q.one("date_to")?.map(|v| parse_time("date_to", v)).transpose()?;
    Ok(Json(conversation_report(&app, org, group_by, from, to).await?))
}

/// Conversations of `org` started in `[from, to)` (default: this month in
/// the org's zone), grouped. By day, every day of the range is listed,
/// zeros included (a daily line); by campaign or identity, most first. The
/// API's answer and the dashboard's Conversations tab both come from here.
pub async fn conversation_report(
    app: &AppState,
    org: &str,
    group_by: ConversationGroup,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> Result<ConversationReport, ApiError> {
    let info = app.store.org(org).await?;
    let tz = TimeZone::get(&info.settings.time_zone).map_err(|e| ApiError::validation(e.to_string()))?;
    let month = app.store.now().to_zoned(tz.clone()).date().first_of_month();
    let from = match from {
        Some(t) => t,
        None => start_of(&tz, month)?,
    };
    let to = match to {
        Some(t) => t,
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
    Ok(ConversationReport {
        group_by,
        date_from: from,
        date_to: to,
        time_zone: info.settings.time_zone,
        total,
        truncated,
        rows,
    })
}

/// `GET …/conversations`: conversations started in `[date_from, date_to)`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationReport {
    /// How the rows are grouped.
    pub group_by: ConversationGroup,
    /// The start, inclusive.
    pub date_from: Timestamp,
    /// The end, exclusive.
    pub date_to: Timestamp,
    /// The zone days are counted in.
    pub time_zone: String,
    /// Conversations in the range.
    pub total: u64,
    /// More than 1,000 groups: only the first are listed.
    pub truncated: bool,
    /// Per day (every day, zeros included) or per group, most first.
    pub rows: Vec<ConversationCount>,
}

/// `PUT …/low-balance-threshold`: `{"threshold": 1000}`; `null` clears it.
/// Below it, a `low_balance` notification is stored once per crossing
/// (see `GET …/notifications`); never a credit event.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdRequest {
    /// Credits; null clears the threshold.
    #[schema(value_type = Option<Amount>)]
    pub threshold: Option<Micros>,
}

/// `PUT …/low-balance-threshold`: the alert's state and the balance.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThresholdSet {
    /// The threshold and whether the balance is below it.
    pub low_balance: LowBalance,
    /// Available credits now.
    pub balance: Micros,
}

/// `GET …/notifications`, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Notifications {
    /// Oldest first.
    pub notifications: Vec<Notification>,
}

/// `PUT …/low-balance-threshold`: sets or clears the alert threshold.
pub async fn set_low_balance_threshold(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
    IdempotencyKey(key): IdempotencyKey,
    Body(req): Body<ThresholdRequest>,
) -> Result<Json<ThresholdSet>, ApiError> {
    let org = org.as_str();
    principal.require(Action::ManagePlan, org)?;
    let op = Op::Plans(PlanOp::SetLowBalanceThreshold { threshold: req.threshold });
    creditd_store::execute_one(app.store.as_ref(), Command::new(org, op, key)).await?;
    let state = app.store.org_state(org).await?;
    let s = state.summary(app.store.now()).map_err(|e| ApiError::from(StoreError::from(e)))?;
    Ok(Json(ThresholdSet { low_balance: s.low_balance, balance: s.balance }))
}

/// `GET …/notifications?after=SEQ&limit=N`: oldest first, at most 100.
pub async fn notifications(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
    q: QueryPairs,
) -> Result<Json<Notifications>, ApiError> {
    let org = org.as_str();
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
    Ok(Json(Notifications { notifications: list }))
}
