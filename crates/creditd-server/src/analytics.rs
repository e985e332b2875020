//! Usage analytics over HTTP: credits used (and priced quantities) by
//! action, user, project, service, price or day, answered from the usage rollups (`creditd_store::rollup`),
//! and the conversation breakdowns under the same prefix.
//!
//! - `GET /api/organizations/{orgId}/usage?range=…&group_by=…` (or
//!   `date_from`/`date_to`, plain dates in the org's zone, both inclusive)
//! - `GET /api/organizations/{orgId}/conversations/usage?group_by=day|campaign|identity`
//!
//! The rollups hold whole local days, so a range is a span of dates, never
//! an instant in the middle of a day. The dashboard's charts are drawn from
//! [`usage_report`], the very function the API answers with.

use axum::Json;
use axum::extract::State;
use creditd_core::Micros;
use creditd_core::prices::Quantity;
use creditd_store::range::{RangePreset, days_bounds, local_date};
use creditd_store::rollup::{MAX_USAGE_GROUPS, UsageGroup, UsageQuery, UsageRow};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{OrgPath, QueryPairs};
use crate::permissions::Action;

/// Query parameters of `…/usage`.
pub const USAGE_PARAMS: &[&str] = &["range", "date_from", "date_to", "group_by", "user_email"];
/// Longest span one usage answer covers, in days.
pub const MAX_RANGE_DAYS: i64 = 366;
/// The range when none is given.
pub const DEFAULT_RANGE: RangePreset = RangePreset::ThisMonth;

/// The local dates a report covers, and how they were asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayRange {
    /// The preset, or `None` for custom dates.
    pub preset: Option<RangePreset>,
    /// The first day, inclusive.
    pub first: Date,
    /// The last day, inclusive.
    pub last: Date,
}

impl DayRange {
    /// `[first 00:00, day after last 00:00)` in `tz`.
    pub fn instants(&self, tz: &TimeZone) -> (Timestamp, Timestamp) {
        days_bounds(self.first, self.last, tz)
    }

    /// How many days, both ends counted.
    pub fn days(&self) -> i64 {
        (self.last - self.first).get_days() as i64 + 1
    }

    /// The preset's name, or `custom`.
    pub fn name(&self) -> &'static str {
        self.preset.map_or("custom", RangePreset::as_str)
    }
}

fn parse_date(name: &str, v: &str) -> Result<Date, ApiError> {
    let v = v.trim();
    if v.len() == 10
        && let Ok(d) = v.parse::<Date>()
    {
        return Ok(d);
    }
    Err(ApiError::validation(format!(
        "{name} {v:?} must be a date like 2026-03-01 (a whole day in the organisation's time zone)"
    )))
}

/// `range` (a preset, or `custom`) and `date_from`/`date_to` (plain dates,
/// both inclusive) into a span of local dates; `default` when none is
/// given. `date_from` alone runs to today.
pub fn parse_range(q: &QueryPairs, today: Date, default: RangePreset) -> Result<DayRange, ApiError> {
    let from = q.one("date_from")?.map(|v| parse_date("date_from", v)).transpose()?;
    let to = q.one("date_to")?.map(|v| parse_date("date_to", v)).transpose()?;
    let preset = match q.one("range")? {
        Some(r) if r.trim().eq_ignore_ascii_case("custom") => None,
        Some(r) => {
            if from.is_some() || to.is_some() {
                return Err(ApiError::validation(
                    "give either range or date_from/date_to, not both (range=custom goes with date_from/date_to)",
                ));
            }
            Some(r.parse::<RangePreset>().map_err(|e| ApiError::validation(e.to_string()))?)
        }
        None if from.is_none() && to.is_none() => Some(default),
        None => None,
    };
    let range = match preset {
        Some(p) => {
            let (first, last) = p.dates(today);
            DayRange { preset: Some(p), first, last }
        }
        None => {
            let first =
                from.ok_or_else(|| ApiError::validation("date_from is required with date_to or range=custom"))?;
            let last = to.unwrap_or(today);
            if last < first {
                return Err(ApiError::validation(format!("date_to ({last}) is before date_from ({first})")));
            }
            DayRange { preset: None, first, last }
        }
    };
    if range.days() > MAX_RANGE_DAYS {
        return Err(ApiError::validation(format!(
            "a report covers at most {MAX_RANGE_DAYS} days; {} to {} is {} days",
            range.first,
            range.last,
            range.days()
        )));
    }
    Ok(range)
}

/// `group_by` (default day): action, user, project, service, price, day or org.
pub fn parse_group(v: Option<&str>) -> Result<UsageGroup, ApiError> {
    match v {
        None => Ok(UsageGroup::Day),
        Some(v) => UsageGroup::parse(v).ok_or_else(|| {
            ApiError::validation(format!(
                "group_by {v:?} must be one of: action, user, project, service, price, day, org"
            ))
        }),
    }
}

/// Whose usage `principal` may read in `org`, given the `user_email` asked
/// for (none: the whole organisation).
///
/// This is the one place the "members see only their own usage" rule is
/// applied, for the API and the dashboard alike: whoever may read
/// analytics (service keys, owners, admins) gets what they asked for; a
/// member gets their own usage, whatever they asked for, and a 403 if they
/// named someone else.
pub fn usage_scope(principal: &Principal, org: &str, asked: Option<&str>) -> Result<Option<String>, ApiError> {
    principal.require(Action::ReadOwnUsage, org)?;
    if principal.require(Action::ReadAnalytics, org).is_ok() {
        return Ok(asked.map(str::to_string));
    }
    let Some((_, me)) = principal.member() else {
        return Err(ApiError::forbidden("this key may not read usage analytics"));
    };
    match asked {
        Some(other) if !other.eq_ignore_ascii_case(me) => {
            Err(ApiError::forbidden("a member may read only their own usage"))
        }
        _ => Ok(Some(me.to_string())),
    }
}

/// One group of a usage report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UsageEntry {
    /// The action, user email, project id, service or price key; a
    /// `YYYY-MM-DD` day; null for usage that named none.
    pub key: Option<String>,
    /// The user's or project's latest name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Credits used: debits and usage less refunds (by price: the credits
    /// priced, before refunds, which name no price).
    pub credits: Micros,
    /// Consuming operations (debits and usage).
    pub operations: i64,
    /// The priced quantity of these operations, in the price's unit:
    /// plain usage (an `amount`, no `price`) adds 0, so a row of plain
    /// usage only says 0; mixed units add up as numbers, so read it by
    /// price (`group_by=price`) to know the unit.
    pub quantity: Quantity,
    /// By price: the price's unit (`image`, `1k tokens`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// A usage answer: the API's body and what the dashboard draws.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UsageReport {
    /// The organisation.
    pub org_id: String,
    /// Its time zone, which the days are in.
    pub time_zone: String,
    /// The preset, or `custom`.
    pub range: &'static str,
    /// First and last local day, inclusive.
    pub date_from: Date,
    /// The last day, inclusive.
    pub date_to: Date,
    /// The same span as instants, `[from, to)`.
    pub from: Timestamp,
    /// The end, exclusive.
    pub to: Timestamp,
    /// How the rows are grouped.
    pub group_by: UsageGroup,
    /// Whose usage; null: the whole organisation.
    pub user_email: Option<String>,
    /// Credits used over the range (all groups, listed or not).
    pub total_credits: Micros,
    /// Consuming operations over the range.
    pub total_operations: i64,
    /// More than [`MAX_USAGE_GROUPS`] groups: the smallest were left out
    /// (the totals still count them).
    pub truncated: bool,
    /// Per day (every day, zeros included) or per group, most used first.
    pub rows: Vec<UsageEntry>,
}

fn sum(rows: &[UsageRow]) -> Result<(Micros, i64, Quantity), ApiError> {
    let mut credits = Micros::ZERO;
    let mut ops: i64 = 0;
    let mut quantity = Quantity::ZERO;
    let too_large = || ApiError::validation("the usage total is too large to add up exactly");
    for r in rows {
        credits = credits.checked_add(r.amount).ok_or_else(too_large)?;
        quantity = quantity.checked_add(r.quantity).ok_or_else(too_large)?;
        ops = ops.saturating_add(r.count);
    }
    Ok((credits, ops, quantity))
}

fn entry(r: UsageRow, group: UsageGroup) -> UsageEntry {
    let (name, unit) = match group {
        UsageGroup::User | UsageGroup::Project | UsageGroup::Org if !r.name.is_empty() => (Some(r.name), None),
        UsageGroup::Price => (None, Some(r.name)),
        _ => (None, None),
    };
    UsageEntry {
        key: (!r.key.is_empty()).then_some(r.key),
        name,
        credits: r.amount,
        operations: r.count,
        quantity: r.quantity,
        unit,
    }
}

/// Usage of `org` on `range`, grouped; `user_email`'s own when given (see
/// [`usage_scope`]). By day, every day of the range is listed, zeros
/// included; other groups come most used first.
pub async fn usage_report(
    app: &AppState,
    org: &str,
    time_zone: &str,
    range: DayRange,
    group_by: UsageGroup,
    user_email: Option<String>,
) -> Result<UsageReport, ApiError> {
    let tz = crate::history::org_zone(time_zone);
    let query = UsageQuery { first_day: range.first, last_day: range.last, group_by, user_email: user_email.clone() };
    let mut rows = match (&user_email, group_by) {
        // One user's own rows hold no users or projects (see
        // `creditd_store::rollup`): their "by user" is their total.
        (Some(email), UsageGroup::User) => {
            let days = app.store.usage(org, &UsageQuery { group_by: UsageGroup::Day, ..query.clone() }).await?;
            let (amount, count, quantity) = sum(&days)?;
            if days.is_empty() {
                Vec::new()
            } else {
                vec![UsageRow { key: email.clone(), name: String::new(), amount, count, quantity }]
            }
        }
        (Some(_), UsageGroup::Org) => {
            return Err(ApiError::validation(
                "one user's usage (a member's own) is broken down by day, action, service or user, not by org",
            ));
        }
        (None, UsageGroup::Org) => org_rows(app, org, &query).await?,
        (Some(_), UsageGroup::Project) => {
            return Err(ApiError::validation(
                "one user's usage (a member's own) is broken down by day, action, service or user, not by project",
            ));
        }
        _ => app.store.usage(org, &query).await?,
    };
    let truncated = rows.len() > MAX_USAGE_GROUPS;
    // Price rows hold priced usage only: the totals are of all usage.
    let (total_credits, total_operations, _) =
        if matches!(group_by, UsageGroup::Day | UsageGroup::Org) || (!truncated && group_by != UsageGroup::Price) {
            sum(&rows)?
        } else {
            let by_day = app.store.usage(org, &UsageQuery { group_by: UsageGroup::Day, ..query.clone() }).await?;
            sum(&by_day)?
        };
    rows.truncate(MAX_USAGE_GROUPS);
    let rows = if group_by == UsageGroup::Day {
        let mut by_day: std::collections::HashMap<String, UsageRow> =
            rows.into_iter().map(|r| (r.key.clone(), r)).collect();
        let mut out = Vec::with_capacity(range.days() as usize);
        let mut day = range.first;
        loop {
            let key = day.to_string();
            let r = by_day.remove(&key).unwrap_or(UsageRow { key, ..UsageRow::default() });
            out.push(entry(r, group_by));
            if day >= range.last {
                break;
            }
            day = day.tomorrow().map_err(|e| ApiError::validation(e.to_string()))?;
        }
        out
    } else {
        rows.into_iter().map(|r| entry(r, group_by)).collect()
    };
    let (from, to) = range.instants(&tz);
    Ok(UsageReport {
        org_id: org.to_string(),
        time_zone: time_zone.to_string(),
        range: range.name(),
        date_from: range.first,
        date_to: range.last,
        from,
        to,
        group_by,
        user_email,
        total_credits,
        total_operations,
        truncated,
        rows,
    })
}

/// `group_by=org`: one row for `org` itself and one per child (its
/// name, its usage over the same local dates, each from its own
/// rollups), most used first; orgs with no usage are left out. A child
/// that draws on `org` (`funding: parent`) shows here what it consumed.
async fn org_rows(app: &AppState, org: &str, query: &UsageQuery) -> Result<Vec<UsageRow>, ApiError> {
    let by_day = UsageQuery { group_by: UsageGroup::Day, ..query.clone() };
    let mut orgs = vec![org.to_string()];
    orgs.extend(app.store.children(&[org.to_string()]).await?);
    let mut rows = Vec::with_capacity(orgs.len());
    for id in orgs {
        let (amount, count, quantity) = sum(&app.store.usage(&id, &by_day).await?)?;
        if amount.is_zero() && count == 0 {
            continue;
        }
        let name = app.store.org(&id).await?.settings.name;
        rows.push(UsageRow { key: id, name, amount, count, quantity });
    }
    rows.sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.key.cmp(&b.key)));
    Ok(rows)
}

/// Today in the org's zone, by the store's clock.
pub fn today(app: &AppState, tz: &TimeZone) -> Date {
    local_date(app.store.now(), tz)
}

/// `GET /api/organizations/{orgId}/usage`.
pub async fn usage(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
    q: QueryPairs,
) -> Result<Json<UsageReport>, ApiError> {
    let org = org.as_str();
    let who = usage_scope(&principal, org, q.one("user_email")?.map(str::trim))?;
    q.only(USAGE_PARAMS)?;
    let group_by = parse_group(q.one("group_by")?)?;
    let info = app.store.org(org).await?;
    let tz = crate::history::org_zone(&info.settings.time_zone);
    let range = parse_range(&q, today(&app, &tz), DEFAULT_RANGE)?;
    let report = usage_report(&app, org, &info.settings.time_zone, range, group_by, who).await?;
    Ok(Json(report))
}

/// `GET /api/organizations/{orgId}/conversations/usage`: the breakdown of
/// `GET …/conversations` (plans.rs) under the analytics prefix, with the
/// same answer and the same permission.
pub async fn conversation_usage(
    state: State<AppState>,
    principal: Principal,
    org: OrgPath,
    q: QueryPairs,
) -> Result<Json<crate::plans::ConversationReport>, ApiError> {
    crate::plans::conversation_usage(state, principal, org, q).await
}
