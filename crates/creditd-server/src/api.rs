//! Handlers: parse, authorise, call the store, shape the answer. No SQL and
//! no ledger rules here.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use creditd_core::ErrorCode;
use creditd_core::verify::VerifyReport;
use creditd_core::{Actor, Balance, CapView, CheckAnswer, Event, Op, OrgId, Outcome, PricedOp, Record, RecordKind};
use creditd_store::{Command, MAX_BATCH_OPS, OrgInfo, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::answer::{Created, JsonOrMoved, Written};
use crate::auth::{Principal, action_for};
use crate::error::{ApiError, ErrorDetail};
use crate::extract::{
    Body, IdempotencyKey, MAX_IDEMPOTENCY_KEY_LEN, OrgPath, PathId, QueryPairs, RawBody, body_text, org_id,
};
use crate::permissions::{Action, Who};
use crate::wire::{BatchRequest, CheckRequest, CreateOrgRequest, OpName, build_op};

/// `POST /api/organizations`: a new organisation (its id chosen or made).
pub async fn create_org(
    State(app): State<AppState>,
    principal: Principal,
    Body(req): Body<CreateOrgRequest>,
) -> Result<Created<OrgInfo>, ApiError> {
    let (id, settings) = req.settings();
    let id = match id {
        Some(id) => OrgId::parse(&id).map_err(|e| ApiError::validation(format!("organization {e}")))?.into_string(),
        None => format!("org_{}", crate::random_token(12)),
    };
    principal.require_create_org(&id)?;
    let info = app.store.create_org(&id, settings).await?;
    Ok(Created(info))
}

/// `GET /api/organizations/{org_id}`: the organisation and its settings.
pub async fn get_org(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
) -> Result<Json<OrgInfo>, ApiError> {
    principal.require(Action::ReadSummary, &org)?;
    Ok(Json(app.store.org(&org).await?))
}

/// `GET …/balance`: available, held, per pool, and the caps the caller sees.
///
/// With `as_of` (the balance at a time), a 307 redirect to `GET
/// …/balance/as-of` with the same query, which answers it; any other
/// parameter is refused.
pub async fn balance(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
    q: QueryPairs,
) -> Result<JsonOrMoved<BalanceView>, ApiError> {
    principal.require(Action::ReadSummary, &org)?;
    if q.one("as_of")?.is_some() {
        q.only(crate::statements::AS_OF_PARAMS)?;
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(q.0.iter()).finish();
        return Ok(JsonOrMoved::Moved(format!("/api/organizations/{}/balance/as-of?{query}", org.as_str())));
    }
    q.only(&[]).map_err(|_| {
        ApiError::validation(
            "GET …/balance takes no parameters but as_of (the balance at a time, answered by GET …/balance/as-of)",
        )
    })?;
    let balance = app.store.balance(&org).await?;
    let caps = crate::auth::caps_shown(&app, &principal, &org).await;
    Ok(JsonOrMoved::Json(BalanceView { balance, caps }))
}

/// `GET …/verify`: balances and the hash chain recomputed from the events.
pub async fn verify(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
) -> Result<Json<VerifyReport>, ApiError> {
    principal.require(Action::ReadHistory, &org)?;
    Ok(Json(app.store.verify(&org).await?))
}

/// `GET …/balance`: the balance and the caps the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceView {
    /// Available, held, per pool.
    #[serde(flatten)]
    pub balance: Balance,
    /// The caps the caller may see.
    pub caps: Vec<CapView>,
}

/// What a write answers: the events it made, the balance after, and the
/// hold, usage or purchase it made or changed under its own name.
#[derive(Debug, Serialize, ToSchema)]
pub struct WriteResult {
    /// The events it made, in order.
    pub events: Vec<Event>,
    /// The balance after them.
    pub balance: Balance,
    /// The hold it made or settled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<Record>,
    /// The usage it recorded or refunded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Record>,
    /// The purchase it made or settled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase: Option<Record>,
}

/// Shapes an outcome for clients.
/// Takes the outcome (its events, balance and record move into the
/// answer, nothing is copied).
pub fn outcome_json(o: Outcome) -> WriteResult {
    let mut w = WriteResult { events: o.events, balance: o.balance, hold: None, usage: None, purchase: None };
    if let Some(r) = o.record {
        let slot = match r.kind {
            RecordKind::Hold => &mut w.hold,
            RecordKind::Usage => &mut w.usage,
            RecordKind::Purchase => &mut w.purchase,
        };
        *slot = Some(r);
    }
    w
}

/// One answer of `POST /api/batch`: `ok` and the HTTP status the operation
/// would have had on its own route, then its result or its error.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchResult {
    /// The operation was applied.
    Applied {
        /// Always true here.
        ok: bool,
        /// The status its own route would have answered.
        status: u16,
        /// What its own route would have answered (boxed: far larger
        /// than a refusal).
        result: Box<WriteResult>,
    },
    /// The operation was refused; nothing of it was written.
    Refused {
        /// Always false here.
        ok: bool,
        /// The status its own route would have answered.
        status: u16,
        /// The error, in the one shape.
        error: ErrorDetail,
    },
}

/// `POST /api/batch`: one result per operation, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    /// In the order of the operations.
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

/// One ledger write on its own route: the body parsed by the same parser
/// as a batch item's, authorised by the operation it builds.
async fn write(
    app: &AppState,
    principal: &Principal,
    org: &str,
    name: OpName,
    target: Option<&str>,
    key: IdempotencyKey,
    body: &[u8],
) -> Result<Written<WriteResult>, ApiError> {
    let op = build_op(name, target, body_text(body)?)?;
    principal.require(action_for(&op), org)?;
    let outcome = creditd_store::execute_one(app.store.as_ref(), principal.command(org, op, key.0)).await?;
    Ok(Written { status: created_status(name), body: outcome_json(outcome) })
}

macro_rules! write_route {
    ($(#[$doc:meta])* $fn:ident, $name:expr) => {
        $(#[$doc])*
        pub async fn $fn(
            State(app): State<AppState>,
            principal: Principal,
            org: OrgPath,
            key: IdempotencyKey,
            RawBody(body): RawBody,
        ) -> Result<Written<WriteResult>, ApiError> {
            write(&app, &principal, &org, $name, None, key, &body).await
        }
    };
    ($(#[$doc:meta])* $fn:ident, $name:expr, target) => {
        $(#[$doc])*
        pub async fn $fn(
            State(app): State<AppState>,
            principal: Principal,
            org: OrgPath,
            PathId(target): PathId,
            key: IdempotencyKey,
            RawBody(body): RawBody,
        ) -> Result<Written<WriteResult>, ApiError> {
            write(&app, &principal, &org, $name, Some(&target), key, &body).await
        }
    };
}

write_route!(
    /// `POST …/credits`: grant, purchase, voucher or subscription credits.
    credits, OpName::Credits
);
write_route!(
    /// `POST …/holds`: reserve credits.
    hold, OpName::Hold
);
write_route!(
    /// `POST …/usage`: consume credits without a hold.
    usage, OpName::Usage
);
write_route!(
    /// `POST …/refunds`: refund consumed credits.
    refund, OpName::Refund
);
write_route!(
    /// `POST …/adjustments`: a signed correction with a reason.
    adjustment, OpName::Adjustment
);
write_route!(
    /// `POST …/billing`: an invoice or charge record.
    billing, OpName::Billing
);
write_route!(
    /// `POST …/holds/{id}/debit`: capture a hold once.
    debit, OpName::Debit, target
);
write_route!(
    /// `POST …/holds/{id}/release`: release a hold.
    release, OpName::Release, target
);
write_route!(
    /// `POST …/holds/{id}/extend`: grow an open hold and/or give it a later timeout.
    extend, OpName::Extend, target
);
write_route!(
    /// `POST …/purchases/{id}/settle`: settle a purchase.
    settle, OpName::Settle, target
);
write_route!(
    /// `POST …/purchases/{id}/reverse`: take back a succeeded purchase.
    reverse, OpName::Reverse, target
);

/// `POST …/check`: would this hold or usage be accepted now, what would it
/// cost, what is left. The core applies it to a copy of the org's state
/// (`OrgState::check`); nothing is written, not even an idempotency row.
///
/// Whose operation it checks: the key named in `key_id`, else the member
/// named in `user_email` (as if they acted themselves), else the caller. A
/// member checks only for themselves.
pub async fn check(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
    RawBody(body): RawBody,
) -> Result<Json<CheckAnswer>, ApiError> {
    principal.require(Action::Check, &org)?;
    let mut r: CheckRequest = crate::wire::parse_object(body_text(&body)?)?;
    let mut ctx = r.ctx();
    let me = principal.member().map(|(_, email)| email.to_string());
    let named = ctx.user_email.as_deref().map(|e| e.trim().to_lowercase());
    let actor = if principal.who_in(&org) == Who::Member {
        if r.key_id.is_some() {
            return Err(ApiError::forbidden(
                "a member checks as themselves: key_id is for owners, admins and service keys",
            ));
        }
        if named.as_ref().is_some_and(|e| Some(e) != me.as_ref().map(|m| m.to_lowercase()).as_ref()) {
            return Err(ApiError::forbidden("a member may check only for themselves"));
        }
        ctx.user_email = me;
        principal.actor()
    } else if let Some(key_id) = r.key_id.take() {
        creditd_core::input::check_text("key_id", &key_id).map_err(|e| ApiError::from(StoreError::Ledger(e)))?;
        Some(Actor { key_id: Some(key_id), member_email: None, own_holds_only: false })
    } else if let Some(email) = named {
        Some(Actor { key_id: None, member_email: Some(email), own_holds_only: false })
    } else {
        principal.actor()
    };
    let op = match crate::wire::amount_or_price(r.amount, r.price.take(), r.quantity, r.dimensions.take())? {
        Ok(amount) => Op::Usage { amount, ctx },
        Err(price) => Op::Priced(PricedOp::Usage { price, ctx }),
    };
    let state = app.store.org_state(&org).await?;
    // A child drawing on its parent: checked against the parent's credits too.
    let parent = match (state.settings.funding, app.store.org(&org).await?.parent_id) {
        (creditd_core::Funding::Parent, Some(p)) => Some(app.store.org_state(&p).await?),
        _ => None,
    };
    let prices = app.store.price_books().catalogue();
    let answer = state
        .check_funded(parent.as_ref(), &op, actor.as_ref(), app.store.now(), prices.as_ref())
        .map_err(|e| ApiError::from(StoreError::Ledger(e)))?;
    Ok(Json(answer))
}

/// `POST /api/batch`: each operation applied in order on its own.
pub async fn batch(
    State(app): State<AppState>,
    principal: Principal,
    Body(req): Body<BatchRequest>,
) -> Result<Json<BatchResponse>, ApiError> {
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
            if item.idempotency_key.as_ref().is_some_and(|k| k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY_LEN) {
                return Err(ApiError::validation(format!(
                    "idempotency_key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} characters"
                )));
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
                    result: Box::new(outcome_json(o)),
                },
                Err(e) => BatchResult::Refused { ok: false, status: e.status.as_u16(), error: e.detail() },
            }
        })
        .collect();
    Ok(Json(BatchResponse { results }))
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

/// Any path no route serves.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// A served path asked with a method it does not take.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this route does not take that method")
}
