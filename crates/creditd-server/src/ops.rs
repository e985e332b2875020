//! What operators watch: Prometheus metrics, readiness, request ids.
//!
//! Requests are counted and timed by their matched route (`/api/organizations/{org_id}/holds`),
//! never the raw path, so the label set stays small whatever ids callers
//! send. The engines record the ledger's own figures (operations by kind,
//! writer batch size and commit time, queue depth, open holds) through the
//! same `metrics` facade; one process-wide recorder renders them all.

use creditd_core::ErrorCode;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower_http::request_id::RequestId;

use crate::error::ApiError;
use crate::{AppState, conn, dashboard};

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
    describe_counter!(
        "creditd_pg_writer_batches_total",
        "PostgreSQL writer batches by path: ahead (on cached states), locked (under row locks), redone (refused ahead, \
         run again locked)"
    );
    describe_gauge!("creditd_open_holds", "Holds neither debited nor released (this node's view)");
    describe_counter!("creditd_webhook_deliveries_total", "Webhook delivery attempts by result");
    describe_gauge!("creditd_webhook_outbox_pending", "Webhook deliveries waiting to be sent");
    describe_counter!(
        "creditd_forwarded_requests_total",
        "Writes of orgs whose home is another node, by outcome (forwarded, not_sent, down, lost_retried, lost)"
    );
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

/// The position a request's `Creditd-Read-After` header names (`None`
/// without one), or the 422 for a value that is not a whole number.
pub fn read_after_position(req: &Request) -> Result<Option<u64>, ApiError> {
    match req.headers().get(READ_AFTER_HEADER) {
        None => Ok(None),
        Some(v) => match v.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()) {
            Some(seq) => Ok(Some(seq)),
            None => Err(ApiError::validation(
                "Creditd-Read-After must be a whole number: the seq of the balance a write answered",
            )),
        },
    }
}

/// Middleware: what every request passes inside its span, in one layer
/// (each layer of the router costs a boxed clone of the route and a boxed
/// future per request; six of them were a tenth of a node's CPU on a hot
/// org, perf). From the outside in:
///
/// 1. counted and timed by its matched route ([`record_request`]);
/// 2. its body must arrive within the body deadline
///    ([`conn::with_body_deadline`], a 408 otherwise);
/// 3. run with the position its `Creditd-Read-After` header names, so
///    reads served from a replica see the caller's writes; a value that
///    is not a whole number is refused (422) before anything is read;
/// 4. a body of at most [`crate::MAX_BODY_BYTES`];
/// 5. a browser reaching a JSON refusal gets it as a page
///    ([`dashboard::refusal_as_page`]).
pub async fn per_request(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = method_label(req.method());
    let (req, late) = conn::with_body_deadline(&app.limits, req);
    let response = match read_after_position(&req) {
        Err(refused) => refused.into_response(),
        Ok(seq) => {
            creditd_store::consistency::read_after(seq, async move {
                let mut req = req;
                DefaultBodyLimit::max(crate::MAX_BODY_BYTES).apply(&mut req);
                let page = dashboard::page_wanted(&req);
                dashboard::refusal_as_page(page, next.run(req).await).await
            })
            .await
        }
    };
    let response = conn::close_after_refused_body(conn::body_deadline_answer(&app.limits, &late, response));
    record(route.as_ref().map(MatchedPath::as_str), method, response.status(), start.elapsed());
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
    record(route, method_label(method), status, elapsed);
}

/// The series of one route and method: its latency histogram and a
/// request counter per status.
struct Series {
    latency: metrics::Histogram,
    by_status: Vec<(u16, metrics::Counter)>,
}

/// The handles of every series seen, by route then method. Looking a
/// series up through the `metrics` macros builds its key (three label
/// strings) and hashes it on every request; a handle found here is one
/// map lookup by the route's text. Bounded as the label sets are: routes
/// of the table, [`method_label`]'s names, status codes.
static SERIES: OnceLock<Mutex<SeriesByRoute>> = OnceLock::new();

/// Route text → (method label, its series).
type SeriesByRoute = HashMap<String, Vec<(&'static str, Series)>>;

fn record(route: Option<&str>, method: &'static str, status: StatusCode, elapsed: std::time::Duration) {
    // The recorder first, so no handle is taken before it is installed.
    recorder();
    let route = route.unwrap_or(UNMATCHED_ROUTE);
    let status = status.as_u16();
    let (counter, latency) = {
        let mut all = SERIES.get_or_init(Default::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !all.contains_key(route) {
            all.insert(route.to_owned(), Vec::new());
        }
        let methods = all.get_mut(route).expect("inserted above");
        let at = match methods.iter().position(|(m, _)| *m == method) {
            Some(at) => at,
            None => {
                let labels = [("route", route.to_owned()), ("method", method.to_owned())];
                let latency = metrics::histogram!("creditd_http_request_duration_seconds", &labels);
                methods.push((method, Series { latency, by_status: Vec::new() }));
                methods.len() - 1
            }
        };
        let series = &mut methods[at].1;
        let counter = match series.by_status.iter().find(|(s, _)| *s == status) {
            Some((_, c)) => c.clone(),
            None => {
                let labels =
                    [("route", route.to_owned()), ("method", method.to_owned()), ("status", status.to_string())];
                let c = metrics::counter!("creditd_http_requests_total", &labels);
                series.by_status.push((status, c.clone()));
                c
            }
        };
        (counter, series.latency.clone())
    };
    counter.increment(1);
    latency.record(elapsed.as_secs_f64());
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

/// The request id header.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A caller's `x-request-id` worth keeping: one, and
/// [`valid_request_id`]. Anything else is dropped, so one is generated
/// instead.
fn kept_request_id(headers: &HeaderMap) -> Option<HeaderValue> {
    let mut values = headers.get_all(REQUEST_ID).iter();
    match (values.next(), values.next()) {
        (Some(v), None) if valid_request_id(v.as_bytes()) => Some(v.clone()),
        _ => None,
    }
}

/// Middleware, outermost: every request has an `x-request-id` (the
/// caller's when it is [`valid_request_id`] and sent once, else one from
/// [`MakeId`]), in its headers and as a [`RequestId`] extension for the
/// layers inside (the span of its logs), and its answer carries the same
/// id unless the handler set one. One layer for what were three
/// (sanitising, setting, propagating).
pub async fn request_ids(State(ids): State<MakeId>, mut req: Request, next: Next) -> Response {
    let id = match kept_request_id(req.headers()) {
        Some(v) => v,
        None => {
            req.headers_mut().remove(REQUEST_ID);
            let v = ids.next_id();
            req.headers_mut().insert(REQUEST_ID, v.clone());
            v
        }
    };
    if req.extensions().get::<RequestId>().is_none() {
        req.extensions_mut().insert(RequestId::new(id.clone()));
    }
    let mut response = next.run(req).await;
    if !response.headers().contains_key(REQUEST_ID) {
        response.headers_mut().insert(REQUEST_ID, id);
    }
    response
}

/// Request ids: a per-process random prefix and a counter, unless the
/// caller sent a well-formed `x-request-id` of its own
/// ([`request_ids`]).
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

impl MakeId {
    /// The next id: `<prefix>-<n>`.
    pub fn next_id(&self) -> HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // The prefix is alphanumeric and `n` digits: always a valid value.
        HeaderValue::from_str(&format!("{}-{n}", self.prefix)).expect("an id of letters, digits and a dash")
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
