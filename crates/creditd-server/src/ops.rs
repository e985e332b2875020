//! What operators watch: Prometheus metrics, readiness, request ids.
//!
//! Requests are counted and timed by their matched route (`/api/organizations/{org_id}/holds`),
//! never the raw path, so the label set stays small whatever ids callers
//! send. The engines record the ledger's own figures (operations by kind,
//! writer batch size and commit time, queue depth, open holds) through the
//! same `metrics` facade; one process-wide recorder renders them all.

use creditd_core::ErrorCode;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::AppState;
use crate::error::ApiError;

/// Buckets of the latency histograms, in seconds: 100 µs to 10 s.
const LATENCY_BUCKETS: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Buckets of the writer batch size histogram (commands per transaction).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0, 8192.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (once; later calls reuse
/// it). `None` if another recorder was installed first.
pub fn recorder() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full("creditd_writer_batch_commands".into()), BATCH_BUCKETS)
                })
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!("creditd_http_requests_total", "HTTP requests by matched route, method and status");
    describe_histogram!(
        "creditd_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency by matched route"
    );
    describe_counter!("creditd_ledger_operations_total", "Ledger operations by kind and result (ok or an error code)");
    describe_histogram!("creditd_writer_batch_commands", "Commands per write transaction");
    describe_histogram!("creditd_writer_commit_seconds", Unit::Seconds, "Time to write and commit one batch");
    describe_gauge!("creditd_writer_queue_depth", "Jobs waiting for the writer");
    describe_gauge!("creditd_open_holds", "Holds neither debited nor released (this node's view)");
    describe_counter!("creditd_webhook_deliveries_total", "Webhook delivery attempts by result");
    describe_gauge!("creditd_webhook_outbox_pending", "Webhook deliveries waiting to be sent");
}

/// `GET /metrics`: the Prometheus text format.
pub async fn metrics() -> Result<crate::answer::Text, ApiError> {
    match recorder() {
        Some(h) => Ok(crate::answer::Text {
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            asset: false,
            body: h.render().into(),
        }),
        None => Err(ApiError::new(ErrorCode::MetricsUnavailable, "no metrics recorder is installed")),
    }
}

/// `GET /readyz`: ready when the store answers a cheap read.
pub async fn readyz(State(app): State<AppState>) -> Result<axum::Json<crate::api::Health>, ApiError> {
    // A primary-key lookup of an org id that cannot exist (ids have no `/`).
    match app.store.org("readyz/probe").await {
        Ok(_) | Err(creditd_store::StoreError::OrgNotFound(_)) => {
            Ok(axum::Json(crate::api::Health { status: "ready".into() }))
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness probe failed");
            Err(ApiError::new(ErrorCode::NotReady, format!("the store is not reachable: {e}")))
        }
    }
}

/// The request header naming the position a caller's reads must see: the
/// `seq` its last write answered (`creditd_store::consistency`).
pub const READ_AFTER_HEADER: &str = "creditd-read-after";

/// Runs the request with the position its `Creditd-Read-After` header
/// names, so reads served from a replica see the caller's writes; a value
/// that is not a whole number is refused (422) before anything is read.
pub async fn read_after(req: Request, next: Next) -> Response {
    let seq = match req.headers().get(READ_AFTER_HEADER) {
        None => None,
        Some(v) => match v.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()) {
            Some(seq) => Some(seq),
            None => {
                return ApiError::validation(
                    "Creditd-Read-After must be a whole number: the seq of the balance a write answered",
                )
                .into_response();
            }
        },
    };
    creditd_store::consistency::read_after(seq, next.run(req)).await
}

/// Counts and times every request by its matched route.
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let method = req.method().clone();
    let response = next.run(req).await;
    record_request(route.as_deref(), &method, response.status(), start.elapsed());
    response
}

/// The `route` label of requests no route matched: one fixed value, since
/// the raw path is the caller's to choose.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The `method` label: the standard methods by name, anything a caller
/// invents (`PROBE1`) as `other`, so callers cannot add series.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// Every this many requests, [`record_request`] folds the buffered
/// histogram samples into their buckets (see [`upkeep`]).
pub const UPKEEP_EVERY_REQUESTS: u64 = 1024;
/// ...and at least this often, for samples the engines record.
pub const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

static REQUESTS_SEEN: AtomicU64 = AtomicU64::new(0);

/// Counts and times one request. Every label is chosen by the server: the
/// matched route template (or [`UNMATCHED_ROUTE`]), [`method_label`] and
/// the status code.
pub fn record_request(route: Option<&str>, method: &Method, status: StatusCode, elapsed: std::time::Duration) {
    let route = route.unwrap_or(UNMATCHED_ROUTE).to_owned();
    let method = method_label(method);
    let labels = [("route", route), ("method", method.to_owned()), ("status", status.as_u16().to_string())];
    metrics::counter!("creditd_http_requests_total", &labels).increment(1);
    metrics::histogram!("creditd_http_request_duration_seconds", &labels[..2]).record(elapsed.as_secs_f64());
    if REQUESTS_SEEN.fetch_add(1, Ordering::Relaxed) % UPKEEP_EVERY_REQUESTS == UPKEEP_EVERY_REQUESTS - 1 {
        upkeep();
    }
}

/// Folds the histogram samples buffered since the last render into their
/// fixed buckets. The exporter keeps every sample until then (about 8
/// bytes each), so without this a server nobody scrapes grows by every
/// request; with it the held state is the buckets, whatever the traffic.
pub fn upkeep() {
    if let Some(h) = recorder() {
        h.run_upkeep();
    }
}

/// Runs [`upkeep`] every [`UPKEEP_EVERY`] until aborted ([`crate::serve`]).
pub async fn upkeep_timer() {
    let mut every = tokio::time::interval(UPKEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        upkeep();
    }
}

/// Longest `x-request-id` kept from a caller.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// A caller's `x-request-id` worth keeping: 1–[`MAX_REQUEST_ID_CHARS`]
/// characters of `[A-Za-z0-9._:-]`. It is echoed and written to every log
/// line of the request, so anything longer or with spaces or control
/// characters is not.
pub fn valid_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_CHARS).contains(&id.len())
        && id.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Drops a caller's `x-request-id` that is not [`valid_request_id`] (or
/// sent more than once), so the request-id layer generates one instead.
pub async fn sanitize_request_id(mut req: Request) -> Request {
    let headers = req.headers_mut();
    let mut values = headers.get_all("x-request-id").iter();
    let keep = match (values.next(), values.next()) {
        (Some(v), None) => valid_request_id(v.as_bytes()),
        (None, _) => true,
        (Some(_), Some(_)) => false,
    };
    if !keep {
        headers.remove("x-request-id");
    }
    req
}

/// Request ids: a per-process random prefix and a counter, unless the
/// caller sent a well-formed `x-request-id` of its own
/// ([`sanitize_request_id`]).
#[derive(Clone)]
pub struct MakeId {
    prefix: std::sync::Arc<str>,
    next: std::sync::Arc<AtomicU64>,
}

impl Default for MakeId {
    fn default() -> Self {
        MakeId { prefix: crate::random_token(8).into(), next: Default::default() }
    }
}

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix)).ok().map(RequestId::new)
    }
}

/// The span each request's logs are in: method, matched route and request
/// id; never headers or bodies (keys and secrets travel there).
pub fn span_for(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str()).unwrap_or(UNMATCHED_ROUTE);
    tracing::info_span!("request", method = method_label(req.method()), route, request_id = id)
}

/// Most exports streaming at once; one more gets 429 `too_many_exports`.
/// An export holds its slot until its last byte is sent (or the client
/// goes away), not just until its headers are.
pub const MAX_CONCURRENT_EXPORTS: usize = 4;

/// Middleware of the export route: takes a slot or refuses.
pub async fn limit_exports(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let Ok(permit) = app.export_slots.clone().try_acquire_owned() else {
        let mut resp = ApiError::new(
            ErrorCode::TooManyExports,
            format!("{MAX_CONCURRENT_EXPORTS} exports are already running; retry when one has finished"),
        )
        .into_response();
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return resp;
    };
    let (parts, body) = next.run(req).await.into_parts();
    let body = axum::body::Body::from_stream(Guarded { inner: body.into_data_stream(), _permit: permit });
    Response::from_parts(parts, body)
}

/// A response body that keeps its export slot while it streams.
struct Guarded {
    inner: axum::body::BodyDataStream,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl futures_core::Stream for Guarded {
    type Item = Result<axum::body::Bytes, axum::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::pin::Pin::new(&mut self.inner).poll_next(cx)
    }
}
