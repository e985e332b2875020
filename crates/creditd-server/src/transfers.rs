//! `POST …/transfers`: credits moved to a parent, child or sibling
//! organisation. The handler only parses, authorises (the caller must be
//! allowed to transfer in both organisations) and maps the answer; the
//! rules are `creditd_core::transfers` and `creditd_core::tree`.

use axum::extract::State;
use creditd_core::{Balance, Event, EventCtx, EventKind, Micros, Op, TransferOp, valid_id};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::answer::Written;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, OrgPath, RawBody, parse_body};
use crate::permissions::Action;

/// `POST /api/organizations/{orgId}/transfers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The receiving organisation: this one's parent, a child or a sibling.
    pub to: String,
    /// Credits to move, above zero and at most what is available now.
    #[schema(value_type = creditd_core::money::Amount)]
    pub amount: Micros,
    /// Why, kept on both events (default: "Transfer to …" / "Transfer from …").
    #[schema(max_length = 1024)]
    pub description: Option<String>,
}

/// What a transfer answers (and a retry with the same key answers again).
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferView {
    /// `trf_<seq>`: the seq of the sending event; with the sending org, the
    /// transfer's identity (`hold_id` on both events).
    pub transfer_id: String,
    /// The sending organisation.
    pub from: String,
    /// The receiving organisation.
    pub to: String,
    /// Credits moved.
    #[schema(value_type = creditd_core::money::Amount)]
    pub amount: Micros,
    /// The sender's `transfer_out` event (amount negative).
    pub sent: Event,
    /// The receiver's `transfer_in` event (amount positive).
    pub received: Event,
    /// Every event the transfer wrote, both organisations' (expiries it
    /// caused included), the sender's first.
    pub events: Vec<Event>,
    /// The sender's balance after it.
    pub balance: Balance,
}

/// `POST …/transfers`: moves credits, with their pool and expiry, to a
/// related organisation; both halves or neither.
pub async fn create_transfer(
    State(app): State<AppState>,
    principal: Principal,
    OrgPath(org): OrgPath,
    key: IdempotencyKey,
    RawBody(body): RawBody,
) -> Result<Written<TransferView>, ApiError> {
    principal.require(Action::Transfer, &org)?;
    let req: TransferRequest = parse_body(&body)?;
    if !valid_id(&req.to) {
        return Err(ApiError::validation(format!("to: {:?} is not an organization id", req.to)));
    }
    // An organisation the caller does not reach answers as a missing one.
    principal.require(Action::Transfer, &req.to)?;
    let ctx = EventCtx { description: req.description, ..EventCtx::default() };
    let op = Op::Transfer(TransferOp::Out { to: req.to, amount: req.amount, ctx });
    let outcome = creditd_store::execute_one(app.store.as_ref(), principal.command(&org, op, key.0)).await?;
    let find = |kind: EventKind| outcome.events.iter().find(|e| e.kind == kind).cloned();
    let (Some(sent), Some(received)) = (find(EventKind::TransferOut), find(EventKind::TransferIn)) else {
        return Err(ApiError::from(creditd_store::StoreError::Corrupt(
            "a transfer's answer lacks one of its halves".into(),
        )));
    };
    Ok(Written {
        status: axum::http::StatusCode::CREATED,
        body: TransferView {
            transfer_id: sent.hold_id.clone().unwrap_or_default(),
            from: sent.org_id.clone(),
            to: received.org_id.clone(),
            amount: received.amount,
            sent,
            received,
            events: outcome.events.clone(),
            balance: outcome.balance,
        },
    })
}
