//! The client's one error type.
//!
//! An answer in the API's error shape (`{"error": {"code", "message"}}`)
//! becomes [`Error::Api`] with the core's [`ErrorCode`], so callers match on
//! the same enum the server answers from; everything else that can go wrong
//! (no connection, an answer that is not what the document says, a file
//! that cannot be written, a webhook whose signature does not check) has a
//! variant of its own.

use creditd_core::ErrorCode;

/// What a call of the client can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server refused the request with one of its error codes. Nothing
    /// was applied (creditd answers an error only when it stored nothing).
    #[error("{operation}: {code} (HTTP {status}): {message}")]
    Api {
        /// The operation id (`createHold`, …).
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// The stable code, from the core's one list.
        code: ErrorCode,
        /// The server's message for people.
        message: String,
        /// The server's `x-request-id`, for its logs.
        request_id: Option<String>,
    },
    /// The server answered something the API document does not allow: an
    /// error without the error shape or with a code this client does not
    /// know, or a success whose body does not decode.
    #[error("{operation}: unexpected answer (HTTP {status}): {detail}")]
    UnexpectedResponse {
        /// The operation id.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// What was wrong, with the start of the body.
        detail: String,
        /// The server's `x-request-id`.
        request_id: Option<String>,
    },
    /// The request could not be sent or its answer not read (after the
    /// retries the policy allows).
    #[error("{operation}: connection failed: {source}")]
    Connection {
        /// The operation id.
        operation: &'static str,
        /// The transport's error.
        #[source]
        source: reqwest::Error,
    },
    /// An argument the client refuses before sending anything (an empty
    /// path id, a base URL that cannot be a base).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Writing an export's file failed; no file is left under the final name.
    #[error("export to {path}: {source}")]
    Io {
        /// The file being written.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A webhook message whose signature, timestamp or body does not check.
    #[error("webhook: {0}")]
    Webhook(String),
}

impl Error {
    /// The API's error code, when the server answered with one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The server's `x-request-id` of the answer, for its logs.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api { request_id, .. } | Error::UnexpectedResponse { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::UnexpectedResponse { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The error an answer with status `status` and body `body` stands for.
pub(crate) fn from_answer(operation: &'static str, status: u16, request_id: Option<String>, body: &[u8]) -> Error {
    #[derive(serde::Deserialize)]
    struct Shape {
        error: Detail,
    }
    #[derive(serde::Deserialize)]
    struct Detail {
        code: String,
        message: String,
    }
    match serde_json::from_slice::<Shape>(body) {
        Ok(Shape { error: Detail { code, message } }) => match code.parse::<ErrorCode>() {
            Ok(code) => Error::Api { operation, status, code, message, request_id },
            Err(()) => Error::UnexpectedResponse {
                operation,
                status,
                detail: format!("unknown error code {code:?} ({message})"),
                request_id,
            },
        },
        Err(e) => Error::UnexpectedResponse {
            operation,
            status,
            detail: format!("not the API's error shape ({e}): {}", snippet(body)),
            request_id,
        },
    }
}

/// The start of a body, for messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    if body.len() > 200 { format!("{text}…") } else { text }
}
