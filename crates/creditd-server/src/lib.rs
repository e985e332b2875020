//! creditd-server: the HTTP API over any [`Store`].
//!
//! A library so tests start the real app on port 0 and talk to it over
//! loopback; the binary only parses flags and calls [`serve`].

pub mod api;
pub mod error;
pub mod extract;
pub mod plans;
pub mod wire;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use creditd_store::Store;
use rand::Rng;
use tokio::net::TcpListener;

use crate::error::ApiError;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    service_key: Arc<str>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, service_key: impl Into<Arc<str>>) -> Self {
        AppState { store, service_key: service_key.into() }
    }
}

/// A random URL-safe token of `len` characters.
pub fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// Compares without stopping at the first difference, so timing does not
/// tell how much of a guessed key was right.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn require_key(State(app): State<AppState>, req: Request, next: Next) -> Result<Response, ApiError> {
    let presented = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(k) if same_secret(k.as_bytes(), app.service_key.as_bytes()) => Ok(next.run(req).await),
        _ => Err(ApiError::unauthorized()),
    }
}

pub fn router(app: AppState) -> Router {
    let org = "/api/organizations/{org_id}";
    let api = Router::new()
        .route("/api/organizations", post(api::create_org))
        .route(org, get(api::get_org))
        .route(&format!("{org}/balance"), get(api::balance))
        .route(&format!("{org}/verify"), get(api::verify))
        .route(&format!("{org}/credits"), post(api::credits))
        .route(&format!("{org}/purchases/{{id}}/settle"), post(api::settle))
        .route(&format!("{org}/holds"), post(api::hold))
        .route(&format!("{org}/holds/{{id}}/debit"), post(api::debit))
        .route(&format!("{org}/holds/{{id}}/release"), post(api::release))
        .route(&format!("{org}/usage"), post(api::usage))
        .route(&format!("{org}/refunds"), post(api::refund))
        .route(&format!("{org}/adjustments"), post(api::adjustment))
        .route(&format!("{org}/billing"), post(api::billing))
        .route(&format!("{org}/credit-events"), get(api::credit_events))
        .route("/api/batch", post(api::batch))
        .merge(plans::routes())
        .route_layer(middleware::from_fn_with_state(app.clone(), require_key));
    Router::new()
        .route("/healthz", get(api::healthz))
        .merge(api)
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(app)
}

/// How often hold timeouts and block expiries are looked for.
pub const TICK_EVERY: Duration = Duration::from_secs(1);

/// Serves until `shutdown` resolves, then drains in-flight requests and the
/// store's writer.
pub async fn serve(
    listener: TcpListener,
    app: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = app.store.clone();
    let ticker = tokio::spawn({
        let store = store.clone();
        async move {
            let mut every = tokio::time::interval(TICK_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                match store.tick().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(applied = n, "released timed-out holds and expired blocks"),
                    Err(e) => tracing::warn!(error = %e, "scheduled work failed"),
                }
            }
        }
    });
    let result = axum::serve(listener, router(app)).with_graceful_shutdown(shutdown).await;
    ticker.abort();
    store.shutdown().await;
    result
}
