//! The one error shape every failure takes:
//! `{"error": {"code": "...", "message": "..."}}` with a stable `code`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use creditd_core::ErrorCode;
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

/// A refusal or failure as the API answers it. The status always follows
/// from the code ([`ErrorCode::status`]): one list says both.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError { status, code, message: message.into() }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationError, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized, "missing or invalid API key: send Authorization: Bearer <key>")
    }

    /// The caller is known but their role does not allow this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody { error: self.detail() }
    }

    pub fn detail(&self) -> ErrorDetail {
        ErrorDetail { code: self.code.as_str().to_string(), message: self.message.clone() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code.as_str(), message = %self.message, "request failed");
        }
        (self.status, Json(self.body())).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_internal() {
            // Storage details stay in the log, not in the answer.
            tracing::error!(error = %e, "storage failure");
            return ApiError::new(e.code(), "the request could not be stored; it was not applied");
        }
        ApiError::new(e.code(), e.to_string())
    }
}

impl From<DirectoryError> for ApiError {
    fn from(e: DirectoryError) -> Self {
        match e {
            // The same answer as for any other missing organisation.
            DirectoryError::OrgNotFound(org) => ApiError::from(StoreError::OrgNotFound(org)),
            DirectoryError::Store(s) => ApiError::from(s),
            e => ApiError::new(e.code(), e.to_string()),
        }
    }
}
