//! The one error shape every failure takes:
//! `{"error": {"code": "...", "message": "..."}}` with a stable `code`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use creditd_core::LedgerError;
use creditd_store::{DirectoryError, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

/// What every refusal answers: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `validation_error`, `insufficient_credits`, ...
    pub code: String,
    /// For people; may change between versions.
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_error", message)
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid API key: send Authorization: Bearer <key>",
        )
    }

    /// The caller is known but their role does not allow this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn forbidden_code(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody { error: self.detail() }
    }

    pub fn detail(&self) -> ErrorDetail {
        ErrorDetail { code: self.code.to_string(), message: self.message.clone() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        }
        (self.status, Json(self.body())).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let status = match &e {
            StoreError::OrgNotFound(_) => StatusCode::NOT_FOUND,
            StoreError::OrgExists(_) | StoreError::IdempotencyConflict { .. } | StoreError::UnreadableRecord { .. } => {
                StatusCode::CONFLICT
            }
            StoreError::Ledger(l) => return ledger_status(l, e.code()),
            StoreError::Overloaded | StoreError::Closed => StatusCode::SERVICE_UNAVAILABLE,
            StoreError::Backend(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = match &e {
            // Storage details stay in the log, not in the answer.
            StoreError::Backend(_) => "the request could not be stored; it was not applied".to_string(),
            other => other.to_string(),
        };
        ApiError::new(status, e.code(), message)
    }
}

impl From<DirectoryError> for ApiError {
    fn from(e: DirectoryError) -> Self {
        match e {
            // The same answer as for any other missing organisation.
            DirectoryError::OrgNotFound(org) => ApiError::from(StoreError::OrgNotFound(org)),
            DirectoryError::Store(s) => ApiError::from(s),
            DirectoryError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, e.code(), e.to_string()),
            DirectoryError::Exists(_) | DirectoryError::LastOwner(_) => {
                ApiError::new(StatusCode::CONFLICT, e.code(), e.to_string())
            }
            DirectoryError::Invalid(_) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string()),
        }
    }
}

fn ledger_status(e: &LedgerError, code: &'static str) -> ApiError {
    let status = if e.is_not_found() {
        StatusCode::NOT_FOUND
    } else {
        match e {
            LedgerError::InsufficientCredits { .. }
            | LedgerError::HoldAlreadySettled { .. }
            | LedgerError::HoldExpired { .. }
            | LedgerError::PurchaseAlreadySettled { .. }
            | LedgerError::NotRefundable { .. }
            | LedgerError::CapExceeded { .. } => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    };
    ApiError::new(status, code, e.to_string())
}
