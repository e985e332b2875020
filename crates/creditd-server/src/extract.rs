//! Extractors that turn every malformed request into the one error shape:
//! bad JSON, unknown fields, wrong types, oversized bodies, bad query
//! strings, an organisation id outside the id grammar, a bad
//! `Idempotency-Key`. Each is checked here once, so a handler receives
//! values it can trust.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use creditd_core::ErrorCode;
use serde::de::DeserializeOwned;

use crate::answer::{ArgDoc, Described, schema};
use crate::error::ApiError;

/// Longest `Idempotency-Key` accepted (header or a batch item's field).
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// The `{org_id}` of the path, checked against the id grammar
/// ([`creditd_core::valid_id`]) before any handler runs. An id outside it
/// answers as a missing organisation does (404, the one error shape), so a
/// malformed id tells nothing more than an unknown one.
///
/// The grammar is the one ids are *read* with: ids written by an earlier
/// release (dot-only ids such as `...`) stay reachable, while new ids are
/// held to the stricter [`creditd_core::OrgId`] when they are created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgPath(pub String);

impl OrgPath {
    /// The id, as the store takes it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for OrgPath {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// The answer for an org id outside the grammar.
pub fn org_id_refused(id: &str) -> ApiError {
    ApiError::not_found(format!("organization {id:?} not found"))
}

/// `id` if it is an organisation id by the grammar, else the 404 of a
/// missing organisation (for ids that come in a body, such as a batch
/// item's `org_id`).
pub fn org_id(id: &str) -> Result<&str, ApiError> {
    if creditd_core::valid_id(id) { Ok(id) } else { Err(org_id_refused(id)) }
}

impl<S: Send + Sync> FromRequestParts<S> for OrgPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Not UTF-8 (axum refuses to decode it): no organisation has that id.
        let unreadable = || ApiError::not_found("organization not found");
        let params = RawPathParams::from_request_parts(parts, &()).await.map_err(|_| unreadable())?;
        let id = params.iter().find(|(k, _)| *k == "org_id").map(|(_, v)| v).ok_or_else(unreadable)?;
        org_id(id).map(|id| OrgPath(id.to_string()))
    }
}

/// A second path parameter (`{id}` of a hold, purchase or webhook endpoint,
/// `{email}` of a member, `{key_id}`), percent-decoded. The handler checks
/// it against what it names; a value that is not UTF-8 is refused here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let params =
            RawPathParams::from_request_parts(parts, &()).await.map_err(|_| ApiError::not_found("no such route"))?;
        // The last parameter that is not the organisation.
        params
            .iter()
            .filter(|(k, _)| *k != "org_id")
            .last()
            .map(|(_, v)| PathId(v.to_string()))
            .ok_or_else(|| ApiError::not_found("no such route"))
    }
}

/// The `Idempotency-Key` header: absent, or 1 to
/// [`MAX_IDEMPOTENCY_KEY_LEN`] printable ASCII characters. A retry with the
/// same key gets the first answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(v) = parts.headers.get(IDEMPOTENCY_KEY) else { return Ok(IdempotencyKey(None)) };
        let s = v.to_str().map_err(|_| ApiError::validation("Idempotency-Key must be printable ASCII"))?;
        if s.is_empty() || s.len() > MAX_IDEMPOTENCY_KEY_LEN {
            return Err(ApiError::validation(format!(
                "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} characters"
            )));
        }
        Ok(IdempotencyKey(Some(s.to_string())))
    }
}

/// A raw body as text: not UTF-8 is malformed JSON; an empty body means
/// `{}` (for the routes whose body may be left out).
pub fn body_text(body: &[u8]) -> Result<&str, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::new(ErrorCode::InvalidJson, "body is not UTF-8"))?;
    Ok(if text.trim().is_empty() { "{}" } else { text })
}

/// A raw body (empty: `{}`) parsed as a JSON object of type `T`.
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    crate::wire::parse_object(body_text(body)?)
}

/// A JSON body with errors in the API's shape.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // Raw first: the content type and the syntax checked as axum does,
        // then an object required (serde reads a struct from an array too).
        let raw = match axum::Json::<Box<serde_json::value::RawValue>>::from_request(req, state).await {
            Ok(axum::Json(raw)) => raw,
            Err(rejection) => return Err(json_rejection(rejection)),
        };
        crate::wire::ensure_object(raw.get())?;
        crate::wire::from_json(raw.get()).map(Body)
    }
}

/// A body over [`crate::MAX_BODY_BYTES`], in the one error shape.
pub fn body_too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, "request body is larger than 1 MiB")
}

/// The header that makes a write idempotent ([`IdempotencyKey`]).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A rejected JSON body in the one error shape.
pub fn json_rejection(r: JsonRejection) -> ApiError {
    match r {
        JsonRejection::JsonDataError(e) => ApiError::validation(format!("invalid request body: {}", e.body_text())),
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::new(ErrorCode::InvalidJson, format!("malformed JSON: {}", e.body_text()))
        }
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::new(ErrorCode::UnsupportedMediaType, "send the body as JSON with Content-Type: application/json")
        }
        JsonRejection::BytesRejection(e) => {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                body_too_large()
            } else {
                ApiError::new(ErrorCode::InvalidBody, e.body_text())
            }
        }
        other => ApiError::new(ErrorCode::InvalidBody, other.body_text()),
    }
}

/// The query string as ordered pairs; keys may repeat (`event_type=a&event_type=b`).
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        Ok(QueryPairs(form_urlencoded::parse(q.as_bytes()).into_owned().collect()))
    }
}

impl QueryPairs {
    /// Rejects keys not in `allowed`, so a misspelt filter is not silently ignored.
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            Some((k, _)) => {
                Err(ApiError::validation(format!("unknown query parameter {k:?}; known: {}", allowed.join(", "))))
            }
            None => Ok(()),
        }
    }

    /// The single value of `key`; an error if it is given twice.
    pub fn one(&self, key: &str) -> Result<Option<&str>, ApiError> {
        let mut it = self.0.iter().filter(|(k, _)| k == key);
        let first = it.next().map(|(_, v)| v.as_str());
        if it.next().is_some() {
            return Err(ApiError::validation(format!("query parameter {key} given more than once")));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    /// All values of `key`, repeated or comma-separated.
    pub fn many(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }
}

/// The raw body, for routes that parse it themselves (one parser for a
/// route and for the same operation inside a batch).
pub struct RawBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(RawBody(b)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(body_too_large()),
            Err(e) => Err(ApiError::new(ErrorCode::InvalidBody, e.body_text())),
        }
    }
}

impl<T: utoipa::ToSchema> ArgDoc for Body<T> {
    fn describe(d: &mut Described) {
        d.request = Some(schema::<T>);
    }
}

impl ArgDoc for IdempotencyKey {
    fn describe(d: &mut Described) {
        d.keyed = true;
    }
}

impl ArgDoc for RawBody {}
impl ArgDoc for QueryPairs {}
impl ArgDoc for OrgPath {}
impl ArgDoc for PathId {}
