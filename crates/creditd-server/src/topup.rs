//! Money in over HTTP: the auto top-up rule and the usage alert levels.
//!
//! - `GET/PUT /api/organizations/{orgId}/auto-top-up`
//! - `GET/PUT /api/organizations/{orgId}/alerts`
//!
//! Thin handlers: the rules (when a top-up is requested, when an alert
//! fires, what is refused) are `creditd_core::topup` and
//! `creditd_core::alerts`; a PUT is one operation through the writer like
//! any other, so a top-up it triggers is in the same transaction.

use axum::Json;
use axum::extract::State;
use creditd_core::alerts::AlertsView;
use creditd_core::money_in::{AlertLevel, AutoTopUpRule};
use creditd_core::topup::AutoTopUpView;
use creditd_core::{Op, PlanOp};
use creditd_store::Command;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{Body, IdempotencyKey, OrgPath};
use crate::permissions::Action;

/// `PUT …/alerts`: the usage alert levels (replacing the previous list;
/// `[]` removes them all).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertsRequest {
    /// At most 20 levels, none twice.
    pub levels: Vec<AlertLevel>,
}

/// `GET …/auto-top-up`: the rule, the pending top-up, this period's counts,
/// whether it is paused and why.
pub async fn get_auto_top_up(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
) -> Result<Json<AutoTopUpView>, ApiError> {
    let org = org.as_str();
    principal.require(Action::ReadMoneyIn, org)?;
    let state = app.store.org_state(org).await?;
    Ok(Json(state.auto_top_up_view(app.store.now())))
}

/// `PUT …/auto-top-up`: sets the rule (and resumes a paused auto top-up).
pub async fn put_auto_top_up(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
    IdempotencyKey(key): IdempotencyKey,
    Body(rule): Body<AutoTopUpRule>,
) -> Result<Json<AutoTopUpView>, ApiError> {
    let org = org.as_str();
    principal.require(Action::ManageMoneyIn, org)?;
    let op = Op::Plans(PlanOp::SetAutoTopUp(rule));
    creditd_store::execute_one(app.store.as_ref(), Command::new(org, op, key)).await?;
    let state = app.store.org_state(org).await?;
    Ok(Json(state.auto_top_up_view(app.store.now())))
}

/// `GET …/alerts`: the levels, which have fired, and the figures.
pub async fn get_alerts(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
) -> Result<Json<AlertsView>, ApiError> {
    let org = org.as_str();
    principal.require(Action::ReadMoneyIn, org)?;
    let state = app.store.org_state(org).await?;
    Ok(Json(state.alerts_view(app.store.now())))
}

/// `PUT …/alerts`: replaces the usage alert levels.
pub async fn put_alerts(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
    IdempotencyKey(key): IdempotencyKey,
    Body(req): Body<AlertsRequest>,
) -> Result<Json<AlertsView>, ApiError> {
    let org = org.as_str();
    principal.require(Action::ManageMoneyIn, org)?;
    let op = Op::Plans(PlanOp::SetAlerts(req.levels));
    creditd_store::execute_one(app.store.as_ref(), Command::new(org, op, key)).await?;
    let state = app.store.org_state(org).await?;
    Ok(Json(state.alerts_view(app.store.now())))
}
