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

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use creditd_core::valid_id;
use creditd_store::Store;
use creditd_store::webhooks::{
    Attempt, Delivery, DeliveryStatus, DueDelivery, Endpoint, MAX_DELIVERIES_PAGE, Recorded, WebhookError, WebhookType,
};
use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2_hmac::Sha256;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::AppState;
use crate::answer::Created;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{OrgPath, PathId, QueryPairs, RawBody, parse_body};
use crate::permissions::Action;

/// Longest URL accepted.
pub const MAX_URL_CHARS: usize = 2048;
/// Longest description accepted.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// A delivery's message id header (the same on every attempt).
pub const ID_HEADER: &str = "creditd-webhook-id";
/// A delivery's timestamp header (unix seconds, signed).
pub const TIMESTAMP_HEADER: &str = "creditd-webhook-timestamp";
/// A delivery's type header (a [`WebhookType`]).
pub const TYPE_HEADER: &str = "creditd-webhook-type";
/// A delivery's signature header ([`signature_header`]).
pub const SIGNATURE_HEADER: &str = "creditd-signature";

pub(crate) fn api_error(e: WebhookError) -> ApiError {
    match e {
        WebhookError::OrgNotFound(org) => ApiError::from(creditd_store::StoreError::OrgNotFound(org)),
        WebhookError::NotFound(id) => endpoint_not_found(&id),
        WebhookError::Invalid(m) => ApiError::validation(m),
        e @ WebhookError::TooMany { .. } => ApiError::new(e.code(), e.to_string()),
        WebhookError::Store(e) => ApiError::from(e),
    }
}

/// An endpoint of another org, or none: the same answer.
fn endpoint_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("webhook endpoint {id} not found"))
}

/// `POST …/webhooks`: where to send, which types (absent: every type),
/// and a note for people.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpointRequest {
    /// An absolute http(s) URL on a public address.
    pub url: String,
    /// The types it wants, at least one; absent: every type.
    #[serde(default)]
    #[schema(value_type = Option<Vec<WebhookTypeName>>)]
    pub event_types: Option<Vec<String>>,
    /// At most 500 characters.
    #[serde(default)]
    pub description: Option<String>,
}

/// The name of a [`WebhookType`], as the API reads and writes it.
pub struct WebhookTypeName;

impl PartialSchema for WebhookTypeName {
    fn schema() -> RefOr<Schema> {
        let values: Vec<&str> = WebhookType::ALL.iter().map(|t| t.as_str()).collect();
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values)).into()
    }
}

impl ToSchema for WebhookTypeName {}

/// Where a delivery stands: `pending`, `delivered` or `failed`.
pub struct DeliveryStatusName;

/// Every [`DeliveryStatus`], for the schema.
const DELIVERY_STATUSES: [DeliveryStatus; 3] =
    [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Failed];

impl PartialSchema for DeliveryStatusName {
    fn schema() -> RefOr<Schema> {
        let values: Vec<&str> = DELIVERY_STATUSES.iter().map(|s| s.as_str()).collect();
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values)).into()
    }
}

impl ToSchema for DeliveryStatusName {}

/// An endpoint as shown after its creation: never the secret, only its
/// first characters.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointView {
    /// `whe_…`.
    pub id: String,
    /// The organisation it belongs to.
    pub org_id: String,
    /// Where messages are POSTed.
    pub url: String,
    /// The types it wants; null: every type.
    #[schema(value_type = Option<Vec<WebhookTypeName>>)]
    pub event_types: Option<Vec<&'static str>>,
    /// A note for people.
    pub description: Option<String>,
    /// Enough of the signing secret to recognise it.
    pub secret_prefix: String,
    /// When it was registered.
    pub created_at: Timestamp,
}

impl From<&Endpoint> for EndpointView {
    fn from(e: &Endpoint) -> Self {
        EndpointView {
            id: e.id.clone(),
            org_id: e.org_id.clone(),
            url: e.url.clone(),
            event_types: e.types.as_ref().map(|ts| ts.iter().map(|t| t.as_str()).collect()),
            description: e.description.clone(),
            secret_prefix: e.secret_prefix(),
            created_at: e.created_at,
        }
    }
}

/// `POST …/webhooks`: the endpoint and its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointCreated {
    /// The endpoint registered.
    pub endpoint: EndpointView,
    /// `whsec_…`: signs every delivery ([`signature_header`]).
    pub secret: String,
}

/// `GET …/webhooks`: the organisation's endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct Endpoints {
    /// Every endpoint of the organisation.
    pub endpoints: Vec<EndpointView>,
}

/// `GET …/webhooks/{id}`: one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointFound {
    /// The endpoint.
    pub endpoint: EndpointView,
}

/// `DELETE …/webhooks/{id}`: the endpoint as it was, now gone with its
/// deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointDeleted {
    /// The endpoint deleted.
    pub endpoint: EndpointView,
    /// Always true.
    pub deleted: bool,
}

/// One message to one endpoint, as operators see it
/// ([`creditd_store::webhooks::Delivery`], field for field).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// The message id, the same on every attempt: receivers deduplicate by it.
    pub message_id: String,
    /// The endpoint it goes to.
    pub endpoint_id: String,
    /// What it tells about.
    #[serde(rename = "type")]
    #[schema(value_type = WebhookTypeName)]
    pub kind: WebhookType,
    /// The credit event (or notification) it was made from.
    pub event_seq: u64,
    /// Where it stands.
    #[schema(value_type = DeliveryStatusName)]
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When it was written.
    pub created_at: Timestamp,
    /// When it is tried next (pending only).
    pub next_attempt_at: Option<Timestamp>,
    /// When it was last tried.
    pub last_attempt_at: Option<Timestamp>,
    /// The last answer's HTTP status, if there was one.
    pub last_status: Option<u16>,
    /// Why the last attempt failed (one class for every network failure).
    pub last_error: Option<String>,
    /// When a 2xx answer came.
    pub delivered_at: Option<Timestamp>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        DeliveryView {
            message_id: d.message_id,
            endpoint_id: d.endpoint_id,
            kind: d.kind,
            event_seq: d.event_seq,
            status: d.status,
            attempts: d.attempts,
            created_at: d.created_at,
            next_attempt_at: d.next_attempt_at,
            last_attempt_at: d.last_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error,
            delivered_at: d.delivered_at,
        }
    }
}

/// `GET …/webhooks/{id}/deliveries`: the endpoint's latest deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deliveries {
    /// The endpoint asked about.
    pub endpoint_id: String,
    /// At most `limit` of them.
    pub deliveries: Vec<DeliveryView>,
}

/// Query parameters of `GET …/webhooks/{id}/deliveries`.
pub const DELIVERY_PARAMS: &[&str] = &["limit"];

/// A URL creditd can POST to: absolute http(s) with a host, no
/// credentials, and not aimed at this machine or a private network (see
/// [`Networks`]). Names are checked again, resolved, at every delivery.
pub fn check_url(url: &str, networks: &Networks) -> Result<String, ApiError> {
    let url = url.trim();
    if url.chars().count() > MAX_URL_CHARS {
        return Err(ApiError::validation(format!("url must be at most {MAX_URL_CHARS} characters")));
    }
    let parsed =
        reqwest::Url::parse(url).map_err(|e| ApiError::validation(format!("url {url:?} is not valid: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ApiError::validation(format!("url must be http or https, not {:?}", parsed.scheme())));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ApiError::validation(
            "url must not carry credentials (user:password@); sign with the secret instead",
        ));
    }
    // The parser has already turned `2130706433` and `0x7f.1` into 127.0.0.1.
    let refused = match parsed.host() {
        None => return Err(ApiError::validation("url must name a host")),
        Some(url::Host::Domain("")) => return Err(ApiError::validation("url must name a host")),
        Some(url::Host::Domain(name)) => internal_name(name) && !networks.allows_names(),
        Some(url::Host::Ipv4(ip)) => !networks.allows(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !networks.allows(IpAddr::V6(ip)),
    };
    if refused {
        return Err(ApiError::validation("url must point to a public address, not this machine or a private network"));
    }
    Ok(parsed.to_string())
}

/// Names that only ever mean something inside a network.
fn internal_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    !name.contains('.')
        || ["localhost", "internal", "local", "localdomain", "home.arpa", "intranet", "lan"]
            .iter()
            .any(|suffix| name == *suffix || name.ends_with(&format!(".{suffix}")))
}

/// An address range, `10.0.0.0/8` or `fd00::/8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Network, String> {
        let bad = || format!("{s:?} is not a network like 10.0.0.0/8 or fd00::/8");
        let (addr, prefix) = s.trim().split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad());
        }
        Ok(Network { addr, prefix })
    }
}

impl Network {
    /// Whether `ip` is in this range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| match ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32u32),
            IpAddr::V6(v6) => (u128::from(v6), 128u32),
        };
        let ((net, width), (addr, addr_width)) = (bits(self.addr), bits(ip));
        if width != addr_width {
            return false;
        }
        let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
        net & mask == addr & mask
    }
}

/// Where webhooks may go: public addresses, and the private networks the
/// operator names (`--webhook-allow-network`). Checked at registration and
/// on every resolved address at delivery, so a name that later resolves to
/// 127.0.0.1 (DNS rebinding) is refused too.
#[derive(Clone, Debug, Default)]
pub struct Networks {
    /// Private networks the operator allowed.
    pub allowed: Vec<Network>,
}

impl Networks {
    /// Whether a delivery may reach `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        public(ip) || self.allowed.iter().any(|n| n.contains(ip))
    }

    /// Internal-looking names are refused at registration unless the
    /// operator allowed some private network (the receiver may be named).
    fn allows_names(&self) -> bool {
        !self.allowed.is_empty()
    }
}

/// Not this machine, not a private, shared (CGNAT), link-local, multicast,
/// broadcast, documentation or reserved range, not an IPv4 address dressed
/// as IPv6.
pub fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b == 18 || b == 19)))
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80 // link-local
                || v6.to_ipv4_mapped().is_some()
                || seg[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible
                || (seg[0] == 0x64 && seg[1] == 0xff9b) // NAT64
                || (seg[0] == 0x2001 && seg[1] == 0xdb8)) // documentation
        }
    }
}

/// The delivery client's resolver: every address a name resolves to must
/// be allowed, and only those checked addresses are connected to.
struct CheckedResolver {
    networks: Networks,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let networks = self.networks.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| !networks.allows(a.ip())) {
                return Err(format!("{host} resolves to {}, which webhooks may not reach", bad.ip()).into());
            }
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// What tenants see of a failed attempt: one class for every network
/// failure, so that deliveries cannot be used to tell a closed port from a
/// filtered one or a slow host (the details go to the server log).
pub const COULD_NOT_DELIVER: &str = "could not deliver";

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

/// `POST …/webhooks`: registers an endpoint; the answer carries its
/// signing secret, once.
pub async fn create_endpoint(
    State(app): State<AppState>,
    principal: Principal,
    OrgPath(org): OrgPath,
    RawBody(body): RawBody,
) -> Result<Created<EndpointCreated>, ApiError> {
    principal.require(Action::ManageWebhooks, &org)?;
    let req: CreateEndpointRequest = parse_body(&body)?;
    let url = check_url(&req.url, &app.webhooks.networks)?;
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
    Ok(Created(EndpointCreated { endpoint: EndpointView::from(&endpoint), secret: endpoint.secret }))
}

/// `GET …/webhooks`: the organisation's endpoints (secrets never shown).
pub async fn list_endpoints(
    State(app): State<AppState>,
    principal: Principal,
    OrgPath(org): OrgPath,
) -> Result<Json<Endpoints>, ApiError> {
    principal.require(Action::ManageWebhooks, &org)?;
    let endpoints = app.store.webhooks().endpoints(&org).await.map_err(api_error)?;
    Ok(Json(Endpoints { endpoints: endpoints.iter().map(EndpointView::from).collect() }))
}

async fn find(app: &AppState, org: &str, id: &str) -> Result<Endpoint, ApiError> {
    if !valid_id(id) {
        // Still 404 for an unknown org first, as everywhere.
        app.store.org(org).await?;
        return Err(endpoint_not_found(id));
    }
    app.store.webhooks().endpoint(org, id).await.map_err(api_error)?.ok_or_else(|| endpoint_not_found(id))
}

/// `GET …/webhooks/{id}`: one endpoint.
pub async fn get_endpoint(
    State(app): State<AppState>,
    principal: Principal,
    OrgPath(org): OrgPath,
    PathId(id): PathId,
) -> Result<Json<EndpointFound>, ApiError> {
    principal.require(Action::ManageWebhooks, &org)?;
    let e = find(&app, &org, &id).await?;
    Ok(Json(EndpointFound { endpoint: EndpointView::from(&e) }))
}

/// `DELETE …/webhooks/{id}`: deletes an endpoint and its deliveries.
pub async fn delete_endpoint(
    State(app): State<AppState>,
    principal: Principal,
    OrgPath(org): OrgPath,
    PathId(id): PathId,
) -> Result<Json<EndpointDeleted>, ApiError> {
    principal.require(Action::ManageWebhooks, &org)?;
    let e = find(&app, &org, &id).await?;
    if !app.store.webhooks().delete_endpoint(&org, &id).await.map_err(api_error)? {
        return Err(endpoint_not_found(&id));
    }
    Ok(Json(EndpointDeleted { endpoint: EndpointView::from(&e), deleted: true }))
}

/// `GET …/webhooks/{id}/deliveries?limit=N`: each message's delivery state.
pub async fn list_deliveries(
    State(app): State<AppState>,
    principal: Principal,
    OrgPath(org): OrgPath,
    PathId(id): PathId,
    QueryPairs(query): QueryPairs,
) -> Result<Json<Deliveries>, ApiError> {
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
    Ok(Json(Deliveries { endpoint_id: e.id, deliveries: deliveries.into_iter().map(DeliveryView::from).collect() }))
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
    /// Private networks webhooks may reach besides public addresses.
    pub networks: Networks,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            poll_every: Duration::from_secs(1),
            batch: 32,
            timeout: Duration::from_secs(10),
            lease: SignedDuration::from_secs(60),
            networks: Networks::default(),
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
async fn attempt(store: Arc<dyn Store>, client: reqwest::Client, networks: Networks, d: DueDelivery) {
    let t = store.now().as_second();
    // A literal address is not resolved, so the resolver does not see it.
    let literal = reqwest::Url::parse(&d.url).ok().and_then(|u| match u.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    });
    if let Some(ip) = literal.filter(|ip| !networks.allows(*ip)) {
        tracing::warn!(org = %d.org_id, endpoint = %d.endpoint_id, %ip, "webhook url points to a refused address");
        let outcome = Attempt::Failed { status: None, error: COULD_NOT_DELIVER.into() };
        record(store, &d, outcome).await;
        return;
    }
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
        Err(e) => {
            tracing::info!(org = %d.org_id, endpoint = %d.endpoint_id, error = %describe(&e), "webhook attempt failed");
            Attempt::Failed { status: None, error: COULD_NOT_DELIVER.into() }
        }
    };
    record(store, &d, outcome).await;
}

async fn record(store: Arc<dyn Store>, d: &DueDelivery, outcome: Attempt) {
    match store.webhooks().record_attempt(d, &outcome, store.now()).await {
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
        // Straight to the checked address: no proxy from the environment.
        .no_proxy()
        .dns_resolver(Arc::new(CheckedResolver { networks: config.networks.clone() }))
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
                set.spawn(attempt(store.clone(), client.clone(), config.networks.clone(), d));
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

    /// The names the schemas list are the ones the store writes and reads.
    #[test]
    fn documented_names_parse() {
        for s in DELIVERY_STATUSES {
            assert_eq!(s.as_str().parse::<DeliveryStatus>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
        }
        for t in WebhookType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), serde_json::json!(t.as_str()));
        }
    }

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
        let none = Networks::default();
        assert!(check_url("https://hooks.example.com/creditd", &none).is_ok());
        assert!(check_url("http://93.184.215.14:8080/x", &none).is_ok());
        for bad in ["ftp://example.com/", "not a url", "", "http://", "mailto:a@b.c", "/relative"] {
            assert!(check_url(bad, &none).is_err(), "{bad}");
        }
    }

    /// Server-side request forgery: the server's own machine, private and
    /// metadata networks are refused in every spelling, and credentials in
    /// the URL; an operator names the private networks it wants reachable.
    #[test]
    fn internal_targets_are_refused() {
        let none = Networks::default();
        for bad in [
            "http://127.0.0.1:8080/x",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://0/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://[::1]/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:8.8.8.8]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://localhost:9000/",
            "http://api.localhost/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://printer.local/",
            "http://intranet/",
            "https://user:pass@hooks.example.com/",
            "https://token@hooks.example.com/",
        ] {
            assert!(check_url(bad, &none).is_err(), "{bad} accepted");
        }
        let lo = Networks { allowed: vec!["127.0.0.0/8".parse().unwrap()] };
        assert!(check_url("http://127.0.0.1:8080/x", &lo).is_ok());
        assert!(check_url("http://10.0.0.1/x", &lo).is_err());
        let n: Network = "10.0.0.0/8".parse().unwrap();
        assert!(n.contains("10.255.0.1".parse().unwrap()) && !n.contains("11.0.0.1".parse().unwrap()));
        assert!(!n.contains("::ffff:10.0.0.1".parse().unwrap()));
        for bad in ["10.0.0.0", "10.0.0.0/33", "x/8", "::/129"] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
        assert!(public("8.8.8.8".parse().unwrap()) && public("2606:4700::1111".parse().unwrap()));
    }
}
