//! An async Rust client for the creditd API.
//!
//! It exists so that a Rust backend calls creditd the way the Python and
//! TypeScript clients do, with the same safety: every write carries an
//! `Idempotency-Key` and every retry (connection errors, 429, 5xx) reuses
//! it ([`transport`]); an error is one type whose code is the core's
//! [`ErrorCode`]; amounts are the core's exact [`Micros`]; the history is a
//! stream that follows cursors ([`Pages`]); exports stream to a file; and
//! webhook messages are checked with the server's scheme ([`webhooks`]).
//!
//! Each method sends one operation of [`operations`], the client's table of
//! the API document, which a test keeps in step with `openapi.json`.
//! The README has a five-minute example (a test runs it).

pub mod error;
mod history;
mod more;
pub mod operations;
pub mod transport;
mod types;
pub mod webhooks;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use creditd_core::alerts::{AlertLevelView, AlertsView};
pub use creditd_core::money_in::{AlertLevel, AutoTopUpRule, AutoTopUpStatus, PendingTopUp, TopUpCap, TopUpPause};
pub use creditd_core::plans::{Forecast, LowBalance, Price};
pub use creditd_core::prices::{PriceBook, PriceBookDraft, PriceBookVersion, PriceLine, Tier};
pub use creditd_core::topup::AutoTopUpView;
pub use creditd_core::{
    Balance, CapSubject, CapView, CheckAnswer, CreditKind, Draw, Effective, ErrorCode, Event, EventKind, Micros, Plan,
    Pool, PoolBalances, Record, RecordKind, RecordStatus, ReversalPolicy, Rollover, Status,
};
pub use error::Error;
/// The stream traits [`Pages`] needs in scope (`try_next`, `try_collect`).
pub use futures_util::{Stream, StreamExt, TryStreamExt};
pub use history::{ExportFormat, ExportLayout, ExportOrder, ExportRequest, HistoryFilter, PageRequest, Pages, Range};
pub use more::*;
pub use types::{
    Adjustment, BalanceView, Billing, CheckRequest, Context, Credit, Debit, Health, HoldExtension, NewHold,
    NewOrganization, NewTransfer, Organization, OrganizationPatch, Page, Refund, Release, Reversal, Settlement,
    Transfer, Usage, WriteResult,
};

use operations::{self as ops, Operation};
use reqwest::Url;
use serde::Serialize;
use serde::de::DeserializeOwned;
use transport::{Request, Transport};

/// Where the client connects when neither the builder nor `CREDITD_URL`
/// says.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// A creditd client: cheap to clone (clones share one connection pool).
#[derive(Clone, Debug)]
pub struct Client {
    t: Arc<Transport>,
}

/// Settings for a [`Client`]; [`Client::builder`].
pub struct ClientBuilder {
    base_url: String,
    api_key: String,
    timeout: Duration,
    max_retries: u32,
    backoff: Duration,
    max_backoff: Duration,
    user_agent: Option<String>,
    http: Option<reqwest::Client>,
    observer: Option<transport::Observer>,
    nodes: Vec<String>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff", &self.backoff)
            .field("max_backoff", &self.max_backoff)
            .field("nodes", &self.nodes)
            .finish_non_exhaustive()
    }
}

/// An http(s) base URL, its query and fragment dropped.
fn base_url(url: &str) -> Result<Url, Error> {
    let mut base = Url::parse(url.trim()).map_err(|e| Error::InvalidArgument(format!("base URL {:?}: {e}", url)))?;
    if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
        return Err(Error::InvalidArgument(format!("base URL {base} is not an http(s) URL")));
    }
    base.set_query(None);
    base.set_fragment(None);
    Ok(base)
}

impl ClientBuilder {
    /// The deployment's other nodes (their own URLs, as in their
    /// `--advertise-url`): an org's writes go to the one a node names as
    /// its home, and to the base URL when it fails ([`transport`], "Home
    /// nodes"). A node not listed here is never written to.
    pub fn nodes<S: AsRef<str>>(mut self, urls: impl IntoIterator<Item = S>) -> Self {
        self.nodes = urls.into_iter().map(|u| u.as_ref().to_owned()).collect();
        self
    }

    /// Calls `observer` with every answer read whole, before it is decoded
    /// (see [`transport::Answer`]).
    pub fn observer(mut self, observer: impl Fn(&transport::Answer<'_>) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// Time for one attempt, connecting to the last byte (default 30 s;
    /// an export's download counts too, so raise it for very large ones).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retries after the first try (default 3).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The first wait and the longest one between tries (default 250 ms
    /// and 8 s).
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = first;
        self.max_backoff = max;
        self
    }

    /// The `User-Agent` (default `creditd-rust/<version>`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = Some(ua.into());
        self
    }

    /// Your own `reqwest::Client` (proxies, TLS roots); the timeout and
    /// user agent of this builder are then not applied.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The client.
    pub fn build(self) -> Result<Client, Error> {
        if self.api_key.trim().is_empty() {
            return Err(Error::InvalidArgument("an API key is required (pass one or set CREDITD_API_KEY)".into()));
        }
        let base = base_url(&self.base_url)?;
        let nodes = self.nodes.iter().map(|n| base_url(n)).collect::<Result<Vec<_>, _>>()?;
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .timeout(self.timeout)
                .user_agent(
                    self.user_agent.unwrap_or_else(|| concat!("creditd-rust/", env!("CARGO_PKG_VERSION")).into()),
                )
                .build()
                .map_err(|e| Error::InvalidArgument(format!("HTTP client: {e}")))?,
        };
        Ok(Client {
            t: Arc::new(Transport {
                http,
                base,
                authorization: format!("Bearer {}", self.api_key.trim()),
                max_retries: self.max_retries,
                backoff: self.backoff,
                max_backoff: self.max_backoff,
                observer: self.observer,
                homes: Arc::new(transport::Homes::new(nodes)),
            }),
        })
    }
}

/// A finished export: where it was written, the server's file name, its
/// size and type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// The file written (none when written to a writer).
    pub path: Option<PathBuf>,
    /// The file name the server suggested (`Content-Disposition`).
    pub filename: Option<String>,
    /// Bytes written.
    pub bytes: u64,
    /// The answer's `Content-Type`.
    pub content_type: String,
}

impl Client {
    /// A client of the API at `base_url` with `api_key`, default settings.
    pub fn new(base_url: &str, api_key: &str) -> Result<Client, Error> {
        Client::builder(base_url, api_key).build()
    }

    /// A builder of a client of the API at `base_url` with `api_key`.
    pub fn builder(base_url: &str, api_key: &str) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.to_owned(),
            api_key: api_key.to_owned(),
            timeout: Duration::from_secs(30),
            max_retries: 3,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            user_agent: None,
            http: None,
            observer: None,
            nodes: Vec::new(),
        }
    }

    /// A builder from the environment: `CREDITD_URL` (else
    /// [`DEFAULT_URL`]) and `CREDITD_API_KEY`.
    pub fn builder_from_env() -> ClientBuilder {
        let url = std::env::var("CREDITD_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
        let key = std::env::var("CREDITD_API_KEY").unwrap_or_default();
        Client::builder(&url, &key)
    }

    /// The API's base URL.
    pub fn base_url(&self) -> &Url {
        &self.t.base
    }

    // ---- the one way every method sends -----------------------------------

    pub(crate) async fn send(
        &self,
        op: &Operation,
        args: &[&str],
        query: Vec<(String, String)>,
        body: Option<Vec<u8>>,
        idempotency_key: Option<&str>,
    ) -> Result<reqwest::Response, Error> {
        self.t.send(Request { op, args, query, body, idempotency_key: idempotency_key.map(str::to_owned) }).await
    }

    pub(crate) async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        op: &Operation,
        args: &[&str],
        query: Vec<(String, String)>,
        body: Option<&B>,
        idempotency_key: Option<&str>,
    ) -> Result<T, Error> {
        let body = match body {
            Some(b) => {
                Some(serde_json::to_vec(b).map_err(|e| Error::InvalidArgument(format!("{}: the body: {e}", op.id)))?)
            }
            None => None,
        };
        let response = self.send(op, args, query, body, idempotency_key).await?;
        let (status, rid, body) = self.t.read(op, response).await?;
        serde_json::from_slice(&body).map_err(|e| Error::UnexpectedResponse {
            operation: op.id,
            status,
            detail: format!("the answer does not decode ({e}): {}", error::snippet(&body)),
            request_id: rid,
        })
    }

    async fn get<T: DeserializeOwned>(&self, op: &Operation, args: &[&str]) -> Result<T, Error> {
        self.call::<(), T>(op, args, Vec::new(), None, None).await
    }

    async fn write<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        op: &Operation,
        args: &[&str],
        body: &B,
        idempotency_key: Option<&str>,
    ) -> Result<T, Error> {
        self.call(op, args, Vec::new(), Some(body), idempotency_key).await
    }

    /// Any operation of the table with a JSON body and answer: for a
    /// route this version has no typed method for. A write gets a fresh
    /// idempotency key when `idempotency_key` is none, reused on retries.
    pub async fn call_json(
        &self,
        op: &Operation,
        args: &[&str],
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
        idempotency_key: Option<&str>,
    ) -> Result<serde_json::Value, Error> {
        let query = query.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.call(op, args, query, body, idempotency_key).await
    }

    // ---- health ---------------------------------------------------------------

    /// `getHealth`: the process answers.
    pub async fn health(&self) -> Result<Health, Error> {
        self.get(&ops::GET_HEALTH, &[]).await
    }

    /// `getReadiness`: the store answers a read.
    pub async fn readiness(&self) -> Result<Health, Error> {
        self.get(&ops::GET_READINESS, &[]).await
    }

    /// `getOpenApiDocument`: the API document the server serves.
    pub async fn openapi_document(&self) -> Result<serde_json::Value, Error> {
        self.get(&ops::GET_OPEN_API_DOCUMENT, &[]).await
    }

    // ---- organisations ------------------------------------------------------

    /// `createOrganization`. Not retried once the request may have
    /// arrived (the document gives it no idempotency key): an
    /// `already_exists` after a broken connection means it was created.
    pub async fn create_organization(&self, org: &NewOrganization) -> Result<Organization, Error> {
        self.write(&ops::CREATE_ORGANIZATION, &[], org, None).await
    }

    /// `getOrganization`.
    pub async fn get_organization(&self, org_id: &str) -> Result<Organization, Error> {
        self.get(&ops::GET_ORGANIZATION, &[org_id]).await
    }

    /// `updateOrganization`: changes the fields given.
    pub async fn update_organization(&self, org_id: &str, patch: &OrganizationPatch) -> Result<Organization, Error> {
        self.write(&ops::UPDATE_ORGANIZATION, &[org_id], patch, None).await
    }

    // ---- the ledger's writes ------------------------------------------------

    /// `grantCredits`: a grant, purchase, voucher or subscription credit.
    pub async fn grant_credits(&self, org_id: &str, credit: &Credit, key: Option<&str>) -> Result<WriteResult, Error> {
        self.write(&ops::GRANT_CREDITS, &[org_id], credit, key).await
    }

    /// `recordUsage`: consumes credits at once, without a hold.
    pub async fn record_usage(&self, org_id: &str, usage: &Usage, key: Option<&str>) -> Result<WriteResult, Error> {
        self.write(&ops::RECORD_USAGE, &[org_id], usage, key).await
    }

    /// `createHold`: reserves credits; the answer's `hold` has its id.
    pub async fn create_hold(&self, org_id: &str, hold: &NewHold, key: Option<&str>) -> Result<WriteResult, Error> {
        self.write(&ops::CREATE_HOLD, &[org_id], hold, key).await
    }

    /// `debitHold`: captures an open hold once (all, or part and the rest
    /// released).
    pub async fn debit_hold(
        &self,
        org_id: &str,
        hold_id: &str,
        debit: &Debit,
        key: Option<&str>,
    ) -> Result<WriteResult, Error> {
        self.write(&ops::DEBIT_HOLD, &[org_id, hold_id], debit, key).await
    }

    /// `extendHold`: grows an open hold (more credits, or more units of a
    /// priced one) and/or moves its timeout later.
    pub async fn extend_hold(
        &self,
        org_id: &str,
        hold_id: &str,
        extension: &HoldExtension,
        key: Option<&str>,
    ) -> Result<WriteResult, Error> {
        self.write(&ops::EXTEND_HOLD, &[org_id, hold_id], extension, key).await
    }

    /// `checkBeforeActing`: whether a hold or usage would be accepted now,
    /// what it would cost and what is left; writes nothing.
    pub async fn check(&self, org_id: &str, check: &CheckRequest) -> Result<CheckAnswer, Error> {
        self.call(&ops::CHECK_BEFORE_ACTING, &[org_id], Vec::new(), Some(check), None).await
    }

    /// `releaseHold`: gives an open hold's credits back.
    pub async fn release_hold(
        &self,
        org_id: &str,
        hold_id: &str,
        release: &Release,
        key: Option<&str>,
    ) -> Result<WriteResult, Error> {
        self.write(&ops::RELEASE_HOLD, &[org_id, hold_id], release, key).await
    }

    /// `refundUsage`: gives back up to what a usage or debited hold consumed.
    pub async fn refund(&self, org_id: &str, refund: &Refund, key: Option<&str>) -> Result<WriteResult, Error> {
        self.write(&ops::REFUND_USAGE, &[org_id], refund, key).await
    }

    /// `adjustCredits`: a signed correction with a reason.
    pub async fn adjust_credits(
        &self,
        org_id: &str,
        adjustment: &Adjustment,
        key: Option<&str>,
    ) -> Result<WriteResult, Error> {
        self.write(&ops::ADJUST_CREDITS, &[org_id], adjustment, key).await
    }

    /// `recordBilling`: an invoice or charge record.
    pub async fn record_billing(
        &self,
        org_id: &str,
        billing: &Billing,
        key: Option<&str>,
    ) -> Result<WriteResult, Error> {
        self.write(&ops::RECORD_BILLING, &[org_id], billing, key).await
    }

    /// `settlePurchase`: a `processing` purchase succeeds or fails, once.
    pub async fn settle_purchase(
        &self,
        org_id: &str,
        purchase_id: &str,
        settlement: &Settlement,
        key: Option<&str>,
    ) -> Result<WriteResult, Error> {
        self.write(&ops::SETTLE_PURCHASE, &[org_id, purchase_id], settlement, key).await
    }

    /// `reversePurchase`: takes back a succeeded purchase's unspent credits
    /// (a refund or chargeback at the payment provider); what was spent
    /// becomes debt or is written off, as the org's `reversal_policy` says.
    pub async fn reverse_purchase(
        &self,
        org_id: &str,
        purchase_id: &str,
        reversal: &Reversal,
        key: Option<&str>,
    ) -> Result<WriteResult, Error> {
        self.write(&ops::REVERSE_PURCHASE, &[org_id, purchase_id], reversal, key).await
    }

    /// `createTransfer`: moves credits, with their pools and expiries, to a
    /// parent, child or sibling organisation (both halves or neither).
    pub async fn create_transfer(
        &self,
        org_id: &str,
        transfer: &NewTransfer,
        key: Option<&str>,
    ) -> Result<Transfer, Error> {
        self.write(&ops::CREATE_TRANSFER, &[org_id], transfer, key).await
    }

    // ---- balance and history ------------------------------------------------

    /// `getBalance`: available, held, per pool, and the caps.
    pub async fn get_balance(&self, org_id: &str) -> Result<BalanceView, Error> {
        self.get(&ops::GET_BALANCE, &[org_id]).await
    }

    /// `listCreditEvents`: one page of the history, newest first.
    pub async fn list_credit_events(
        &self,
        org_id: &str,
        filter: &HistoryFilter,
        page: &PageRequest,
    ) -> Result<Page, Error> {
        let mut query = Vec::new();
        page.pairs(&mut query);
        filter.pairs(&mut query);
        self.call::<(), Page>(&ops::LIST_CREDIT_EVENTS, &[org_id], query, None, None).await
    }

    /// Every page of the history that matches `filter`, following the
    /// cursors (`page_size` 1–100, default the server's).
    pub fn credit_event_pages(&self, org_id: &str, filter: HistoryFilter, page_size: Option<u32>) -> Pages {
        Pages::new(self.clone(), org_id.to_owned(), filter, page_size)
    }

    /// `exportCreditEvents` streamed to `dest`: a file path, or a directory
    /// (then the server's file name is used). The file is written as
    /// `<name>.part` and renamed when complete, so a broken download leaves
    /// nothing under the final name. Chunks are written with blocking
    /// writes as they arrive.
    pub async fn export_credit_events(
        &self,
        org_id: &str,
        request: &ExportRequest,
        dest: &Path,
    ) -> Result<Export, Error> {
        let response = self.send(&ops::EXPORT_CREDIT_EVENTS, &[org_id], request.pairs(), None, None).await?;
        let filename = content_disposition_filename(response.headers());
        let target = if dest.is_dir() {
            dest.join(filename.clone().unwrap_or_else(|| format!("credit-history.{}", request.format.as_str())))
        } else {
            dest.to_path_buf()
        };
        let mut part_name = target.file_name().unwrap_or_default().to_os_string();
        part_name.push(".part");
        let part = target.with_file_name(part_name);
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| Error::Io { path, source }
        };
        let mut file = std::fs::File::create(&part).map_err(io(&part))?;
        let written = stream_body(response, &mut file, &part).await.and_then(|(n, ctype)| {
            file.sync_all().map_err(io(&part))?;
            Ok((n, ctype))
        });
        drop(file);
        match written.and_then(|w| std::fs::rename(&part, &target).map(|()| w).map_err(io(&target))) {
            Ok((bytes, content_type)) => Ok(Export { path: Some(target), filename, bytes, content_type }),
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                Err(e)
            }
        }
    }

    /// `exportCreditEvents` streamed into `out` (a file, a socket, a buffer).
    pub async fn export_credit_events_to<W: Write>(
        &self,
        org_id: &str,
        request: &ExportRequest,
        out: &mut W,
    ) -> Result<Export, Error> {
        let response = self.send(&ops::EXPORT_CREDIT_EVENTS, &[org_id], request.pairs(), None, None).await?;
        let filename = content_disposition_filename(response.headers());
        let (bytes, content_type) = stream_body(response, out, Path::new("(writer)")).await?;
        Ok(Export { path: None, filename, bytes, content_type })
    }
}

async fn stream_body<W: Write>(
    mut response: reqwest::Response,
    out: &mut W,
    path: &Path,
) -> Result<(u64, String), Error> {
    let ctype = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut n = 0u64;
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|e| Error::Connection { operation: ops::EXPORT_CREDIT_EVENTS.id, source: e })?;
        let Some(chunk) = chunk else { break };
        out.write_all(&chunk).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
        n += chunk.len() as u64;
    }
    out.flush().map_err(|source| Error::Io { path: path.display().to_string(), source })?;
    Ok((n, ctype))
}

/// The file name an answer suggests, without any directory part.
fn content_disposition_filename(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let v = headers.get(reqwest::header::CONTENT_DISPOSITION)?.to_str().ok()?;
    let start = v.find("filename=")? + "filename=".len();
    let rest = &v[start..];
    let name = match rest.strip_prefix('"') {
        Some(q) => &q[..q.find('"')?],
        None => rest.split(';').next()?.trim(),
    };
    let name = name.replace('\\', "/");
    let name = name.rsplit('/').next()?.trim();
    (!name.is_empty() && name != "." && name != "..").then(|| name.to_owned())
}
