//! The past over HTTP: the balance as of an instant and statements.
//!
//! - `GET …/balance/as-of?as_of=T`: available, held and the holds open,
//!   prepaid and period usage as they were at `T`
//!   (`creditd_store::history_at::balance_at`).
//! - `GET …/statement?range=…` (or `date_from`/`date_to`, plain dates in the
//!   org's zone, both inclusive, at most 366 days): opening balance, credits
//!   in and out by kind, closing balance
//!   (`creditd_store::history_at::statement`); `…/statement/export?format=`
//!   the same as CSV or XLSX.
//!
//! Parsing and shaping only: the rules are the core's
//! (`creditd_core::statement`), the reads the store's.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use creditd_core::statement::{BalanceAt, Statement};
use creditd_store::StoreError;
use creditd_store::range::{RangePreset, days_bounds};
use jiff::Timestamp;
use jiff::civil::Date;

use crate::AppState;
use crate::analytics::{parse_range, today};
use crate::answer::Download;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{OrgPath, QueryPairs};
use crate::history::{Format, org_zone};
use crate::permissions::Action;

/// Query parameters of `…/balance/as-of`.
pub const AS_OF_PARAMS: &[&str] = &["as_of"];
/// Query parameters of `…/statement`.
pub const STATEMENT_PARAMS: &[&str] = &["range", "date_from", "date_to"];
/// Query parameters of `…/statement/export`.
pub const STATEMENT_EXPORT_PARAMS: &[&str] = &["format", "range", "date_from", "date_to"];
/// The statement's range when none is given.
pub const DEFAULT_STATEMENT_RANGE: RangePreset = RangePreset::LastMonth;

/// `as_of`: an RFC 3339 instant, or a plain date meaning the end of that
/// day in the organisation's zone (the last microsecond before the next
/// day starts: "the balance on 31 March"); today's date, whose end is
/// still to come, means `now` (the answer's `as_of` says so).
pub fn parse_as_of(v: &str, tz: &jiff::tz::TimeZone, now: Timestamp) -> Result<Timestamp, ApiError> {
    let v = v.trim();
    if let Ok(t) = v.parse::<Timestamp>() {
        return Ok(t);
    }
    if v.len() == 10
        && let Ok(d) = v.parse::<Date>()
    {
        let (_, next) = days_bounds(d, d, tz);
        let end = next
            .checked_sub(jiff::SignedDuration::from_micros(1))
            .map_err(|_| ApiError::validation(format!("as_of {v:?} is out of range")))?;
        return Ok(if end > now && d == now.to_zoned(tz.clone()).date() { now } else { end });
    }
    Err(ApiError::validation(format!(
        "as_of {v:?} is neither an RFC 3339 time like 2026-03-31T23:59:59Z nor a date like 2026-03-31 (its end, in the organisation's time zone)"
    )))
}

/// `GET /api/organizations/{orgId}/balance/as-of?as_of=T`.
pub async fn balance_as_of(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
    q: QueryPairs,
) -> Result<Json<BalanceAt>, ApiError> {
    principal.require(Action::ReadHistory, &org)?;
    q.only(AS_OF_PARAMS)?;
    let v = q.one("as_of")?.ok_or_else(|| {
        ApiError::validation("as_of is required: an RFC 3339 time like 2026-03-31T23:59:59Z or a date like 2026-03-31")
    })?;
    let info = app.store.org(&org).await?;
    let as_of = parse_as_of(v, &org_zone(&info.settings.time_zone), app.store.now())?;
    Ok(Json(creditd_store::history_at::balance_at(app.store.as_ref(), &org, as_of).await?))
}

/// The statement `q` asks for (`range`, or `date_from`/`date_to`).
pub async fn read_statement(app: &AppState, org: &str, q: &QueryPairs) -> Result<Statement, ApiError> {
    let info = app.store.org(org).await?;
    let tz = org_zone(&info.settings.time_zone);
    let range = parse_range(q, today(app, &tz), DEFAULT_STATEMENT_RANGE)?;
    Ok(creditd_store::history_at::statement(app.store.as_ref(), org, range.first, range.last).await?)
}

/// `GET /api/organizations/{orgId}/statement`.
pub async fn statement(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
    q: QueryPairs,
) -> Result<Json<Statement>, ApiError> {
    principal.require(Action::ReadHistory, &org)?;
    q.only(STATEMENT_PARAMS)?;
    Ok(Json(read_statement(&app, &org, &q).await?))
}

/// `GET /api/organizations/{orgId}/statement/export?format=csv|xlsx`.
pub async fn statement_export(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
    q: QueryPairs,
) -> Result<Download, ApiError> {
    principal.require(Action::Export, &org)?;
    q.only(STATEMENT_EXPORT_PARAMS)?;
    let format = Format::parse(q.one("format")?.unwrap_or("csv"))?;
    let s = read_statement(&app, &org, &q).await?;
    let bytes = match format {
        Format::Csv => creditd_export::statement_csv(&s),
        Format::Xlsx => creditd_export::statement_xlsx(&s),
    }
    .map_err(|e| ApiError::from(StoreError::backend(e)))?;
    let name = creditd_export::statement_filename(&s, format.ext());
    let len = bytes.len();
    let mut resp = Response::new(axum::body::Body::from(bytes));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(v) = HeaderValue::from_str(&creditd_export::content_disposition(&name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(Download(resp))
}
