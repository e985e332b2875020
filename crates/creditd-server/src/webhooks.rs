//! Webhooks over HTTP: the endpoints API and the delivery worker.
//!
//! - `POST /api/organizations/{orgId}/webhooks` registers a URL (and the
//!   event types it wants); the answer carries its signing secret, once.
//! - `GET …/webhooks`, `GET|DELETE …/webhooks/{id}`: never the secret again,
//!   only its prefix.
//! - `GET …/webhooks/{id}/deliveries`: each message's delivery state.
//!
//! The messages themselves are written by the engines in the events' own
//! transaction (see `creditd_store::webhooks`). [`run`] is the worker
//! [`crate::serve`] starts: it claims due deliveries on the store's clock,
//! POSTs each one signed with HMAC-SHA256 ([`signature_header`]), and
//! records the outcome; failures are retried with exponential back-off.
//! Delivery is at least once; receivers deduplicate by the message id.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use creditd_core::valid_id;
use creditd_store::Store;
use creditd_store::webhooks::{
    Attempt, DueDelivery, Endpoint, MAX_DELIVERIES_PAGE, Recorded, WebhookError, WebhookType,
};
use hmac::{Hmac, KeyInit, Mac};
use jiff::SignedDuration;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2_hmac::Sha256;

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{QueryPairs, RawBody};
use crate::permissions::Action;

/// Longest URL accepted.
pub const MAX_URL_CHARS: usize = 2048;
/// Longest description accepted.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// Header names of a delivery.
pub const ID_HEADER: &str = "creditd-webhook-id";
pub const TIMESTAMP_HEADER: &str = "creditd-webhook-timestamp";
pub const TYPE_HEADER: &str = "creditd-webhook-type";
pub const SIGNATURE_HEADER: &str = "creditd-signature";

pub fn routes() -> Router<AppState> {
    let org = "/api/organizations/{org_id}";
    Router::new()
        .route(&format!("{org}/webhooks"), get(list_endpoints).post(create_endpoint))
        .route(&format!("{org}/webhooks/{{id}}"), get(get_endpoint).delete(delete_endpoint))
        .route(&format!("{org}/webhooks/{{id}}/deliveries"), get(list_deliveries))
}

fn api_error(e: WebhookError) -> ApiError {
    match e {
        WebhookError::OrgNotFound(org) => ApiError::from(creditd_store::StoreError::OrgNotFound(org)),
        WebhookError::NotFound(id) => endpoint_not_found(&id),
        WebhookError::Invalid(m) => ApiError::validation(m),
        e @ WebhookError::TooMany { .. } => ApiError::new(StatusCode::CONFLICT, e.code(), e.to_string()),
        WebhookError::Store(e) => ApiError::from(e),
    }
}

/// An endpoint of another org, or none: the same answer.
fn endpoint_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("webhook endpoint {id} not found"))
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("invalid_json", "body is not UTF-8"))?;
    let text = if text.trim().is_empty() { "{}" } else { text };
    serde_json::from_str(text).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ApiError::bad_request("invalid_json", format!("malformed JSON: {e}"))
        } else {
            ApiError::validation(format!("invalid request body: {e}"))
        }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateEndpoint {
    url: String,
    #[serde(default)]
    event_types: Option<Vec<String>>,
    #[serde(default)]
    description: Option<String>,
}

/// A URL creditd can POST to: absolute http(s) with a host.
pub fn check_url(url: &str) -> Result<String, ApiError> {
    let url = url.trim();
    if url.chars().count() > MAX_URL_CHARS {
        return Err(ApiError::validation(format!("url must be at most {MAX_URL_CHARS} characters")));
    }
    let parsed =
        reqwest::Url::parse(url).map_err(|e| ApiError::validation(format!("url {url:?} is not valid: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ApiError::validation(format!("url must be http or https, not {:?}", parsed.scheme())));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::validation("url must name a host"));
    }
    Ok(parsed.to_string())
}

fn check_types(types: Option<Vec<String>>) -> Result<Option<Vec<WebhookType>>, ApiError> {
    let Some(names) = types else { return Ok(None) };
    if names.is_empty() {
        return Err(ApiError::validation("event_types must name at least one type (omit it for every type)"));
    }
    let mut out: Vec<WebhookType> = Vec::new();
    for n in names {
        let t: WebhookType = n.parse().map_err(|e: WebhookError| ApiError::validation(e.to_string()))?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out.sort();
    Ok(Some(out))
}

fn endpoint_json(e: &Endpoint) -> Value {
    json!({
        "id": e.id,
        "org_id": e.org_id,
        "url": e.url,
        "event_types": e.types.as_ref().map(|ts| ts.iter().map(|t| t.as_str()).collect::<Vec<_>>()),
        "description": e.description,
        "secret_prefix": e.secret_prefix(),
        "created_at": e.created_at,
    })
}

async fn create_endpoint(
    State(app): State<AppState>,
    principal: Principal,
    Path(org): Path<String>,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    principal.require(Action::ManageWebhooks, &org)?;
    let req: CreateEndpoint = parse(&body)?;
    let url = check_url(&req.url)?;
    let types = check_types(req.event_types)?;
    let description = req.description.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
    if description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS) {
        return Err(ApiError::validation(format!("description must be at most {MAX_DESCRIPTION_CHARS} characters")));
    }
    let endpoint = Endpoint {
        id: format!("whe_{}", crate::random_token(16)),
        org_id: org,
        url,
        types,
        description,
        secret: format!("whsec_{}", crate::random_token(32)),
        created_at: app.store.now(),
    };
    app.store.webhooks().create_endpoint(&endpoint).await.map_err(api_error)?;
    let body = json!({"endpoint": endpoint_json(&endpoint), "secret": endpoint.secret});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn list_endpoints(
    State(app): State<AppState>,
    principal: Principal,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    principal.require(Action::ManageWebhooks, &org)?;
    let endpoints = app.store.webhooks().endpoints(&org).await.map_err(api_error)?;
    Ok(Json(json!({"endpoints": endpoints.iter().map(endpoint_json).collect::<Vec<_>>()})).into_response())
}

async fn find(app: &AppState, org: &str, id: &str) -> Result<Endpoint, ApiError> {
    if !valid_id(id) {
        // Still 404 for an unknown org first, as everywhere.
        app.store.org(org).await?;
        return Err(endpoint_not_found(id));
    }
    app.store.webhooks().endpoint(org, id).await.map_err(api_error)?.ok_or_else(|| endpoint_not_found(id))
}

async fn get_endpoint(
    State(app): State<AppState>,
    principal: Principal,
    Path((org, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    principal.require(Action::ManageWebhooks, &org)?;
    let e = find(&app, &org, &id).await?;
    Ok(Json(json!({"endpoint": endpoint_json(&e)})).into_response())
}

async fn delete_endpoint(
    State(app): State<AppState>,
    principal: Principal,
    Path((org, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    principal.require(Action::ManageWebhooks, &org)?;
    let e = find(&app, &org, &id).await?;
    if !app.store.webhooks().delete_endpoint(&org, &id).await.map_err(api_error)? {
        return Err(endpoint_not_found(&id));
    }
    Ok(Json(json!({"endpoint": endpoint_json(&e), "deleted": true})).into_response())
}

async fn list_deliveries(
    State(app): State<AppState>,
    principal: Principal,
    Path((org, id)): Path<(String, String)>,
    QueryPairs(query): QueryPairs,
) -> Result<Response, ApiError> {
    principal.require(Action::ManageWebhooks, &org)?;
    let mut limit = 50;
    for (k, v) in &query {
        match k.as_str() {
            "limit" => {
                limit = v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_DELIVERIES_PAGE).contains(n))
                    .ok_or_else(|| ApiError::validation(format!("limit must be 1 to {MAX_DELIVERIES_PAGE}")))?;
            }
            other => return Err(ApiError::validation(format!("unknown query parameter {other:?}"))),
        }
    }
    let e = find(&app, &org, &id).await?;
    let deliveries = app.store.webhooks().deliveries(&org, &e.id, limit).await.map_err(api_error)?;
    Ok(Json(json!({"endpoint_id": e.id, "deliveries": deliveries})).into_response())
}

// ---- signing --------------------------------------------------------------

/// Hex HMAC-SHA256 of `"<id>.<timestamp>.<body>"` under `secret`.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `Creditd-Signature` header: `t=<unix seconds>,v1=<hex>`.
pub fn signature_header(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    format!("t={timestamp},v1={}", signature(secret, id, timestamp, body))
}

/// What a receiver does: checks a `Creditd-Signature` header against the
/// message id and the raw body, in constant time, and that its timestamp is
/// within `tolerance_s` of `now_unix`.
pub fn verify_signature(secret: &str, header: &str, id: &str, body: &str, now_unix: i64, tolerance_s: i64) -> bool {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(v),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (now_unix - t).abs() > tolerance_s {
        return false;
    }
    sigs.iter().any(|s| {
        let Ok(given) = hex::decode(s) else { return false };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
        mac.update(format!("{id}.{t}.").as_bytes());
        mac.update(body.as_bytes());
        mac.verify_slice(&given).is_ok()
    })
}

// ---- the worker -------------------------------------------------------------

/// How the delivery worker runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// How often due deliveries are looked for when there were none.
    pub poll_every: Duration,
    /// Most deliveries claimed (and sent at once) per round.
    pub batch: u32,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// How long a claimed delivery is kept from other claims: longer than
    /// `timeout`, so only a worker that died leaves one to be sent again.
    pub lease: SignedDuration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            poll_every: Duration::from_secs(1),
            batch: 32,
            timeout: Duration::from_secs(10),
            lease: SignedDuration::from_secs(60),
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut out = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    let mut last = String::new();
    while let Some(s) = source {
        let text = s.to_string();
        if text != last {
            out.push_str(": ");
            out.push_str(&text);
        }
        last = text;
        source = s.source();
    }
    out
}

/// One attempt of one delivery, recorded.
async fn attempt(store: Arc<dyn Store>, client: reqwest::Client, d: DueDelivery) {
    let t = store.now().as_second();
    let sent = client
        .post(&d.url)
        .header("content-type", "application/json")
        .header(ID_HEADER, &d.message_id)
        .header(TIMESTAMP_HEADER, t.to_string())
        .header(TYPE_HEADER, d.kind.as_str())
        .header(SIGNATURE_HEADER, signature_header(&d.secret, &d.message_id, t, &d.body))
        .body(d.body.clone())
        .send()
        .await;
    let outcome = match sent {
        Ok(r) if r.status().is_success() => Attempt::Delivered { status: r.status().as_u16() },
        Ok(r) => Attempt::Failed { status: Some(r.status().as_u16()), error: format!("HTTP {}", r.status().as_u16()) },
        Err(e) => Attempt::Failed { status: None, error: describe(&e) },
    };
    match store.webhooks().record_attempt(&d, &outcome, store.now()).await {
        Ok(recorded) => {
            let result = match recorded {
                Recorded::Delivered => "delivered",
                Recorded::Retry(_) => "retry",
                Recorded::GaveUp => "failed",
                Recorded::Gone => "gone",
            };
            metrics::counter!("creditd_webhook_deliveries_total", "result" => result).increment(1);
            if let (Recorded::GaveUp, Attempt::Failed { error, .. }) = (recorded, &outcome) {
                tracing::warn!(org = %d.org_id, endpoint = %d.endpoint_id, message = %d.message_id, %error,
                    "webhook delivery failed for good");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not record a webhook attempt; it will be sent again"),
    }
}

/// Delivers due webhooks until `stop` says true. Attempts in flight when it
/// stops are dropped; their lease runs out and they are sent again (at
/// least once).
pub async fn run(store: Arc<dyn Store>, config: Config, mut stop: tokio::sync::watch::Receiver<bool>) {
    let client = match reqwest::Client::builder()
        .timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("creditd-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhooks: cannot build the HTTP client; no webhooks will be sent");
            return;
        }
    };
    loop {
        if *stop.borrow() {
            return;
        }
        let due = match store.webhooks().claim_due(store.now(), config.lease, config.batch).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: could not claim due deliveries");
                Vec::new()
            }
        };
        let full = due.len() as u32 >= config.batch;
        if !due.is_empty() {
            let mut set = tokio::task::JoinSet::new();
            for d in due {
                set.spawn(attempt(store.clone(), client.clone(), d));
            }
            loop {
                tokio::select! {
                    next = set.join_next() => if next.is_none() { break },
                    _ = stop.changed() => { set.abort_all(); return; }
                }
            }
        }
        if full {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(config.poll_every) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_detect_changes() {
        let h = signature_header("whsec_k", "whmsg_1", 1_700_000_000, "{\"a\":1}");
        assert!(verify_signature("whsec_k", &h, "whmsg_1", "{\"a\":1}", 1_700_000_100, 300));
        assert!(!verify_signature("whsec_x", &h, "whmsg_1", "{\"a\":1}", 1_700_000_100, 300));
        assert!(!verify_signature("whsec_k", &h, "whmsg_2", "{\"a\":1}", 1_700_000_100, 300));
        assert!(!verify_signature("whsec_k", &h, "whmsg_1", "{\"a\":2}", 1_700_000_100, 300));
        assert!(!verify_signature("whsec_k", &h, "whmsg_1", "{\"a\":1}", 1_700_001_000, 300), "too old");
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn urls_are_checked() {
        assert!(check_url("https://hooks.example.com/creditd").is_ok());
        assert!(check_url("http://127.0.0.1:8080/x").is_ok());
        for bad in ["ftp://example.com/", "not a url", "", "http://", "mailto:a@b.c", "/relative"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
