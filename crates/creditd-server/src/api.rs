//! Handlers: parse, authorise, call the store, shape the answer. No SQL and
//! no ledger rules here.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use creditd_core::ErrorCode;
use creditd_core::{Balance, CapView, Event, OrgId, Outcome, Record, RecordKind, valid_id};
use creditd_store::{Command, MAX_BATCH_OPS, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Principal, action_for};
use crate::error::{ApiError, ErrorDetail};
use crate::extract::{Body, QueryPairs, RawBody};
use crate::permissions::Action;
use crate::wire::{BatchRequest, CreateOrgRequest, OpName, build_op};

/// Longest idempotency key accepted.
const MAX_KEY_LEN: usize = 255;

pub(crate) fn org_id(id: &str) -> Result<&str, ApiError> {
    if valid_id(id) { Ok(id) } else { Err(ApiError::not_found(format!("organization {id:?} not found"))) }
}

pub async fn create_org(
    State(app): State<AppState>,
    principal: Principal,
    Body(req): Body<CreateOrgRequest>,
) -> Result<Response, ApiError> {
    let (id, settings) = req.settings();
    let id = match id {
        Some(id) => OrgId::parse(&id).map_err(|e| ApiError::validation(format!("organization {e}")))?.into_string(),
        None => format!("org_{}", crate::random_token(12)),
    };
    principal.require_create_org(&id)?;
    let info = app.store.create_org(&id, settings).await?;
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

pub async fn get_org(
    State(app): State<AppState>,
    principal: Principal,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    principal.require(Action::ReadSummary, org_id(&org)?)?;
    let info = app.store.org(org_id(&org)?).await?;
    Ok(Json(info).into_response())
}

pub async fn balance(
    State(app): State<AppState>,
    principal: Principal,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    principal.require(Action::ReadSummary, org_id(&org)?)?;
    let balance = app.store.balance(org_id(&org)?).await?;
    let caps = crate::auth::caps_shown(&app, &principal, &org).await;
    Ok(Json(BalanceView { balance, caps }).into_response())
}

pub async fn verify(
    State(app): State<AppState>,
    principal: Principal,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    principal.require(Action::ReadHistory, org_id(&org)?)?;
    let report = app.store.verify(org_id(&org)?).await?;
    Ok(Json(report).into_response())
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

fn body_text(body: &Bytes) -> Result<&str, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::new(ErrorCode::InvalidJson, "body is not UTF-8"))?;
    Ok(if text.trim().is_empty() { "{}" } else { text })
}

/// `GET …/balance`: the balance and the caps the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceView {
    #[serde(flatten)]
    pub balance: Balance,
    pub caps: Vec<CapView>,
}

/// What a write answers: the events it made, the balance after, and the
/// hold, usage or purchase it made or changed under its own name.
#[derive(Debug, Serialize, ToSchema)]
pub struct WriteResult {
    pub events: Vec<Event>,
    pub balance: Balance,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<Record>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Record>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase: Option<Record>,
}

/// Shapes an outcome for clients.
pub fn outcome_json(o: &Outcome) -> WriteResult {
    let mut w =
        WriteResult { events: o.events.clone(), balance: o.balance.clone(), hold: None, usage: None, purchase: None };
    if let Some(r) = &o.record {
        let slot = match r.kind {
            RecordKind::Hold => &mut w.hold,
            RecordKind::Usage => &mut w.usage,
            RecordKind::Purchase => &mut w.purchase,
        };
        *slot = Some(r.clone());
    }
    w
}

/// One answer of `POST /api/batch`: `ok` and the HTTP status the operation
/// would have had on its own route, then its result or its error.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchResult {
    Applied {
        /// Always true here.
        ok: bool,
        status: u16,
        result: WriteResult,
    },
    Refused {
        /// Always false here.
        ok: bool,
        status: u16,
        error: ErrorDetail,
    },
}

/// `POST /api/batch`: one result per operation, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    pub results: Vec<BatchResult>,
}

/// `GET /healthz`, `GET /readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (healthz) or `ready` (readyz).
    pub status: String,
}

fn created_status(name: OpName) -> StatusCode {
    match name {
        OpName::Credits | OpName::Hold | OpName::Usage | OpName::Refund | OpName::Adjustment | OpName::Billing => {
            StatusCode::CREATED
        }
        _ => StatusCode::OK,
    }
}

async fn write(
    app: &AppState,
    principal: &Principal,
    org: &str,
    name: OpName,
    target: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let org = org_id(org)?;
    let key = idempotency_key(headers)?;
    let op = build_op(name, target, body_text(body)?)?;
    principal.require(action_for(&op), org)?;
    let outcome = creditd_store::execute_one(app.store.as_ref(), principal.command(org, op, key)).await?;
    Ok((created_status(name), Json(outcome_json(&outcome))).into_response())
}

macro_rules! write_route {
    ($fn:ident, $name:expr) => {
        pub async fn $fn(
            State(app): State<AppState>,
            principal: Principal,
            Path(org): Path<String>,
            headers: HeaderMap,
            RawBody(body): RawBody,
        ) -> Result<Response, ApiError> {
            write(&app, &principal, &org, $name, None, &headers, &body).await
        }
    };
    ($fn:ident, $name:expr, target) => {
        pub async fn $fn(
            State(app): State<AppState>,
            principal: Principal,
            Path((org, target)): Path<(String, String)>,
            headers: HeaderMap,
            RawBody(body): RawBody,
        ) -> Result<Response, ApiError> {
            write(&app, &principal, &org, $name, Some(&target), &headers, &body).await
        }
    };
}

write_route!(credits, OpName::Credits);
write_route!(hold, OpName::Hold);
write_route!(usage, OpName::Usage);
write_route!(refund, OpName::Refund);
write_route!(adjustment, OpName::Adjustment);
write_route!(billing, OpName::Billing);
write_route!(debit, OpName::Debit, target);
write_route!(release, OpName::Release, target);
write_route!(settle, OpName::Settle, target);

/// `POST /api/batch`: each operation applied in order on its own.
pub async fn batch(
    State(app): State<AppState>,
    principal: Principal,
    Body(req): Body<BatchRequest>,
) -> Result<Response, ApiError> {
    if req.operations.is_empty() || req.operations.len() > MAX_BATCH_OPS {
        return Err(ApiError::validation(format!("a batch holds 1 to {MAX_BATCH_OPS} operations")));
    }
    // The batch's own shape is checked whole; an operation's rules, one by one.
    for (i, item) in req.operations.iter().enumerate() {
        if let Some(b) = &item.body {
            crate::wire::ensure_object(b.get())
                .map_err(|_| ApiError::validation(format!("operations[{i}].body must be a JSON object")))?;
        }
    }
    // Build every command first; one that cannot be parsed is answered
    // without reaching the ledger, the others still run.
    let mut slots: Vec<Result<Command, ApiError>> = Vec::with_capacity(req.operations.len());
    for item in &req.operations {
        let built = (|| {
            let org = org_id(&item.org_id)?;
            if item.idempotency_key.as_ref().is_some_and(|k| k.is_empty() || k.len() > MAX_KEY_LEN) {
                return Err(ApiError::validation(format!("idempotency_key must be 1 to {MAX_KEY_LEN} characters")));
            }
            let target = item.hold_id.as_deref().or(item.purchase_id.as_deref());
            let body = item.body.as_ref().map_or("{}", |b| b.get());
            let op = build_op(item.op, target, body)?;
            principal.require(action_for(&op), org)?;
            Ok(principal.command(org, op, item.idempotency_key.clone()))
        })();
        slots.push(built);
    }
    let commands: Vec<Command> = slots.iter().filter_map(|s| s.as_ref().ok().cloned()).collect();
    let mut results = app.store.execute(commands).await.into_iter();
    let results: Vec<BatchResult> = slots
        .into_iter()
        .zip(req.operations.iter())
        .map(|(slot, item)| {
            let r: Result<Outcome, ApiError> = match slot {
                Ok(_) => results.next().unwrap_or(Err(StoreError::Closed)).map_err(ApiError::from),
                Err(e) => Err(e),
            };
            match r {
                Ok(o) => BatchResult::Applied {
                    ok: true,
                    status: created_status(item.op).as_u16(),
                    result: outcome_json(&o),
                },
                Err(e) => BatchResult::Refused { ok: false, status: e.status.as_u16(), error: e.detail() },
            }
        })
        .collect();
    Ok(Json(BatchResponse { results }).into_response())
}

pub async fn credit_events(
    State(app): State<AppState>,
    principal: Principal,
    Path(org): Path<String>,
    q: QueryPairs,
) -> Result<Response, ApiError> {
    let org = org_id(&org)?;
    principal.require(Action::ReadHistory, org)?;
    let query = crate::history::page_query(&app, org, &q).await?;
    let page = app.store.events(org, &query).await?;
    Ok(Json(page).into_response())
}

pub async fn healthz() -> impl IntoResponse {
    Json(Health { status: "ok".into() })
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this route does not take that method")
}
