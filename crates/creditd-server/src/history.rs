//! The credit history over HTTP: the page API with its filters, and the CSV
//! and Excel downloads of everything that matches.
//!
//! Filters are parsed here once, into the `EventFilter` the engines trust,
//! for both routes and for the CLI's `export` (which hands its flags over as
//! query pairs so that a filter means the same thing everywhere). Dates
//! without an offset and the `range` presets are read in the organisation's
//! time zone (`creditd_store::range`).
//!
//! Downloads stream: CSV rows go to the client chunk by chunk as the store
//! yields them (memory stays flat whatever the row count); an Excel workbook
//! can only be zipped at its end, so it is written to an anonymous temporary
//! file in constant memory and then streamed from there. Anything that goes
//! wrong before the first byte is answered in the one JSON error shape;
//! a failure mid-stream aborts the response, so a client never mistakes a
//! cut file for a whole one.

use std::io::{self, Read, Seek};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use creditd_core::{EventKind, Pool, Status, UnknownName};
use creditd_export::{CsvExporter, ExportError, Layout, XlsxExporter};
use creditd_store::StoreError;
use creditd_store::query::{EventFilter, EventQuery, Order, Page, PageLimit, PageStart, decode_cursor};
use creditd_store::range::{RangePreset, days_bounds, local_date, start_of_day};
use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use tokio::sync::mpsc;

use crate::AppState;
use crate::answer::Download;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{OrgPath, QueryPairs};
use crate::permissions::Action;

/// Query parameters that filter the history (pages and exports alike).
pub const FILTER_PARAMS: &[&str] =
    &["date_from", "date_to", "range", "event_type", "pool", "project_id", "service", "status", "user_email"];
/// Query parameters of a page: the filters and where the page starts.
pub const PAGE_PARAMS: &[&str] = &["limit", "offset", "cursor", "fields"];
/// Query parameters of an export: the filters and the file's shape.
pub const EXPORT_PARAMS: &[&str] = &["format", "layout", "order"];

/// Workbook chunks waiting for the HTTP body.
const STREAM_CHUNKS_IN_FLIGHT: usize = 8;
/// Bytes read from a finished workbook per body chunk.
const FILE_CHUNK_BYTES: usize = 64 * 1024;

/// The two download formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// CSV, streamed row by row.
    Csv,
    /// An Excel workbook, built then streamed.
    Xlsx,
}

impl Format {
    /// `format` (`csv`, `xlsx` or `excel`, any case).
    pub fn parse(v: &str) -> Result<Format, ApiError> {
        match v.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "xlsx" | "excel" => Ok(Format::Xlsx),
            _ => Err(ApiError::validation(format!("format {v:?} is not one of: csv, xlsx"))),
        }
    }

    /// The file name's extension.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    /// The download's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => creditd_export::CSV_CONTENT_TYPE,
            Format::Xlsx => creditd_export::XLSX_CONTENT_TYPE,
        }
    }
}

/// `layout`: `report`, `fpt`, `events` or `full`.
pub fn parse_layout(v: &str) -> Result<Layout, ApiError> {
    v.trim().to_ascii_lowercase().parse::<Layout>().map_err(|e| ApiError::validation(e.to_string()))
}

/// Lower case, spaces and hyphens as underscores: "Top-up" is `top_up`,
/// "Reservation released" is `reservation_released`.
fn normalise(v: &str) -> String {
    v.trim().chars().map(|c| if c == ' ' || c == '-' { '_' } else { c.to_ascii_lowercase() }).collect()
}

/// An `event_type`: creditd's kinds and the names the seeds use for them
/// (Genira's Grant/Hold/Debit/Release, the credit-events API's
/// `reservation`, `reservation_released`, `prepaid_purchase`, FPT's Top-up
/// and Charged, "Plan credits", "Add-on credits").
pub fn parse_kind(v: &str) -> Result<EventKind, UnknownName> {
    let n = normalise(v);
    let alias = match n.as_str() {
        "plan_credit" | "plan_credits" => "subscription_credit",
        "add_on" | "add_on_credit" | "add_on_credits" | "buy_more" | "topup" | "top_up_credits" => "purchase",
        "voucher_credit" | "voucher_credits" | "code" => "voucher",
        "not_carried_over" | "expired" => "expiry",
        "invoice" | "charge" => "billing",
        other => other,
    };
    alias.parse::<EventKind>().map_err(|mut e| {
        e.got = v.to_string();
        e
    })
}

/// A `pool` (balance type): FPT's "Top-up credits" and "Voucher credits"
/// as well as creditd's names.
pub fn parse_pool(v: &str) -> Result<Pool, UnknownName> {
    let n = normalise(v);
    let n = n.strip_suffix("_credits").unwrap_or(&n);
    let n = if n == "topup" { "top_up" } else { n };
    n.parse::<Pool>().map_err(|mut e| {
        e.got = v.to_string();
        e
    })
}

/// A `status`: FPT's Success, Processed and Failed as well as creditd's.
pub fn parse_status(v: &str) -> Result<Status, UnknownName> {
    let n = normalise(v);
    let n = if n == "completed" { "succeeded" } else { n.as_str() };
    n.parse::<Status>().map_err(|mut e| {
        e.got = v.to_string();
        e
    })
}

fn parse_list<T>(q: &QueryPairs, key: &str, parse: impl Fn(&str) -> Result<T, UnknownName>) -> Result<Vec<T>, ApiError>
where
    T: PartialEq,
{
    let mut out = Vec::new();
    for v in q.many(key) {
        let t = parse(v).map_err(|e| ApiError::validation(format!("{key}: {e}")))?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// Which end of a date range a value is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    From,
    To,
}

/// `date_from` / `date_to`: an RFC 3339 instant (`2026-03-01T00:00:00Z`,
/// `…+01:00`) is taken as is, `date_to` exclusive; a plain date
/// (`2026-03-01`) is that day in the organisation's zone, `date_to`
/// inclusive of it; a date and time without offset (`2026-03-01T09:30`) is
/// that wall-clock time in the zone.
fn parse_bound(name: &str, v: &str, end: End, tz: &TimeZone) -> Result<Timestamp, ApiError> {
    let v = v.trim();
    if let Ok(t) = v.parse::<Timestamp>() {
        return Ok(t);
    }
    if v.len() == 10 {
        if let Ok(d) = v.parse::<Date>() {
            return Ok(match end {
                End::From => start_of_day(d, tz),
                End::To => days_bounds(d, d, tz).1,
            });
        }
    } else if let Ok(dt) = v.parse::<DateTime>()
        && let Ok(t) = tz.to_ambiguous_timestamp(dt).compatible()
    {
        return Ok(t);
    }
    Err(ApiError::validation(format!(
        "{name} {v:?} is neither a date like 2026-03-01 (in the organisation's time zone) nor an RFC 3339 time like 2026-03-01T00:00:00Z"
    )))
}

/// Whether parsing `q` needs the organisation's time zone (a plain date, a
/// local time or a range preset), so a page of pure instants skips the
/// lookup.
pub fn needs_zone(q: &QueryPairs) -> bool {
    q.0.iter().any(|(k, v)| match k.as_str() {
        "range" => true,
        "date_from" | "date_to" => v.trim().parse::<Timestamp>().is_err(),
        _ => false,
    })
}

/// Parses the filters of `q` (other keys are the caller's to check).
pub fn parse_filter(q: &QueryPairs, tz: &TimeZone, now: Timestamp) -> Result<EventFilter, ApiError> {
    let mut date_from = q.one("date_from")?.map(|v| parse_bound("date_from", v, End::From, tz)).transpose()?;
    let mut date_to = q.one("date_to")?.map(|v| parse_bound("date_to", v, End::To, tz)).transpose()?;
    if let Some(r) = q.one("range")?
        && normalise(r) != "custom"
    {
        if date_from.is_some() || date_to.is_some() {
            return Err(ApiError::validation(
                "give either range or date_from/date_to, not both (range=custom goes with date_from/date_to)",
            ));
        }
        let preset = r.parse::<RangePreset>().map_err(|e| ApiError::validation(e.to_string()))?;
        let (from, to) = creditd_store::range::range_bounds(preset, tz, now);
        (date_from, date_to) = (Some(from), Some(to));
    }
    // Compare the instants the two ends resolve to, not the text: a plain
    // `date_to` day ends where the next day starts, so `2026-12-02` to
    // `2026-12-01` resolve to the same instant and, compared with `>`, read
    // as an empty range (200, nothing) while a two-day reversal was refused.
    // A range that holds no time is refused whichever way it was written.
    if let (Some(f), Some(t)) = (date_from, date_to)
        && t <= f
    {
        let given = |key: &str, at: Timestamp| q.one(key).ok().flatten().map_or(at.to_string(), str::to_string);
        return Err(ApiError::validation(format!(
            "date_to ({}) must be after date_from ({}): the range is reversed or empty",
            given("date_to", t),
            given("date_from", f)
        )));
    }
    let text = |key: &str| -> Result<Option<String>, ApiError> { Ok(q.one(key)?.map(|v| v.trim().to_string())) };
    Ok(EventFilter {
        date_from,
        date_to,
        kinds: parse_list(q, "event_type", parse_kind)?,
        pools: parse_list(q, "pool", parse_pool)?,
        statuses: parse_list(q, "status", parse_status)?,
        services: {
            let mut s: Vec<String> = Vec::new();
            for v in q.many("service") {
                if !s.iter().any(|x| x == v) {
                    s.push(v.to_string());
                }
            }
            s
        },
        project_id: text("project_id")?,
        user_email: text("user_email")?,
    })
}

/// Parses a page request: filters, `limit` (1–100), `offset` or `cursor`.
pub fn parse_page(q: &QueryPairs, tz: &TimeZone, now: Timestamp) -> Result<EventQuery, ApiError> {
    let allowed: Vec<&str> = FILTER_PARAMS.iter().chain(PAGE_PARAMS).copied().collect();
    q.only(&allowed)?;
    let filter = parse_filter(q, tz, now)?;
    let limit = match q.one("limit")? {
        None => PageLimit::DEFAULT,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > u64::from(PageLimit::MAX) => {
                return Err(ApiError::validation(format!(
                    "limit {n} is above the maximum of {} events per page; follow next_cursor for more",
                    PageLimit::MAX
                )));
            }
            Ok(n) => PageLimit::new(n as u32)
                .ok_or_else(|| ApiError::validation(format!("limit must be from 1 to {}, got {n}", PageLimit::MAX)))?,
            Err(_) => {
                return Err(ApiError::validation(format!(
                    "limit must be a whole number from 1 to {}, got {v:?}",
                    PageLimit::MAX
                )));
            }
        },
    };
    let offset = match q.one("offset")? {
        None => None,
        Some(v) => Some(
            v.trim()
                .parse::<u64>()
                .map_err(|_| ApiError::validation(format!("offset must be a whole number from 0, got {v:?}")))?,
        ),
    };
    let start = match (q.one("cursor")?, offset) {
        (Some(_), Some(_)) => return Err(ApiError::validation("give either cursor or offset, not both")),
        (Some(c), None) => PageStart::Before(
            decode_cursor(c.trim())
                .ok_or_else(|| ApiError::validation(format!("cursor {c:?} is not one this API issued")))?,
        ),
        (None, o) => PageStart::Offset(o.unwrap_or(0)),
    };
    Ok(EventQuery { filter, limit, start })
}

/// The organisation's zone, for the filters that need it.
async fn zone(app: &AppState, org: &str) -> Result<TimeZone, ApiError> {
    let info = app.store.org(org).await?;
    Ok(org_zone(&info.settings.time_zone))
}

/// A stored zone name; settings are validated when stored, so UTC is only a
/// guard against a tz database that lost a name.
pub fn org_zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// The page query of a history request to `org` (looking up its zone only
/// when a filter needs it).
pub async fn page_query(app: &AppState, org: &str, q: &QueryPairs) -> Result<EventQuery, ApiError> {
    let tz = if needs_zone(q) { zone(app, org).await? } else { TimeZone::UTC };
    parse_page(q, &tz, app.store.now())
}

/// `GET /api/organizations/{org_id}/credit-events`: one page of the
/// history, newest first, filtered; `fields=events` answers seed 001's
/// field names.
pub async fn credit_events(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
    q: QueryPairs,
) -> Result<Json<HistoryPage>, ApiError> {
    principal.require(Action::ReadHistory, &org)?;
    let seed_fields = match q.one("fields")?.map(str::trim) {
        None | Some("all") => false,
        Some("events") => true,
        Some(other) => {
            return Err(ApiError::validation(format!(
                "fields must be all (every field of an event) or events (seed 001's columns), got {other:?}"
            )));
        }
    };
    let query = page_query(&app, &org, &q).await?;
    let page = app.store.events(&org, &query).await?;
    Ok(Json(if seed_fields { HistoryPage::Events(SeedPage::of(page)) } else { HistoryPage::All(page) }))
}

/// A page of the history: every field (the default), or seed 001's.
/// Documented as `anyOf` (an empty page is both).
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum HistoryPage {
    /// `fields=all`: every field of each event.
    All(Page),
    /// `fields=events`: seed 001's credit events, under its names.
    Events(SeedPage),
}

impl utoipa::PartialSchema for HistoryPage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, Ref};
        AnyOfBuilder::new()
            .item(Ref::from_schema_name(<Page as utoipa::ToSchema>::name()))
            .item(Ref::from_schema_name(<SeedPage as utoipa::ToSchema>::name()))
            .into()
    }
}

impl utoipa::ToSchema for HistoryPage {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        use utoipa::PartialSchema;
        schemas.push((<Page as utoipa::ToSchema>::name().into(), Page::schema()));
        <Page as utoipa::ToSchema>::schemas(schemas);
        schemas.push((<SeedPage as utoipa::ToSchema>::name().into(), SeedPage::schema()));
        <SeedPage as utoipa::ToSchema>::schemas(schemas);
    }
}

/// One page of the history with seed 001's field names (`fields=events`):
/// what a client written for that log reads unchanged.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SeedPage {
    /// The page's events, newest first.
    pub events: Vec<SeedEvent>,
    /// The page size asked for.
    pub limit: u32,
    /// The offset asked for; absent when the page was asked for by cursor.
    pub offset: Option<u64>,
    /// Pass as `cursor` (with `fields=events`) for the next page; absent on
    /// the last page.
    pub next_cursor: Option<String>,
}

/// One credit event as seed 001 names its fields; the same cells as the
/// `events` export layout (`creditd_export`'s rules: a debit is `usage` with
/// credits 0 and says in `metadata` what it captured).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SeedEvent {
    /// When the event happened (UTC).
    pub created_at: Timestamp,
    /// `usage`, `prepaid_purchase`, `subscription_credit`, `billing`,
    /// `adjustment`, `grant`, `refund`, `reservation`,
    /// `reservation_released`; creditd's `voucher` and `expiry`.
    pub event_type: &'static str,
    /// The system that triggered the event.
    pub source: Option<String>,
    /// The project that consumed credits.
    pub project_id: Option<String>,
    /// The activity that consumed credits.
    pub activity_name: Option<String>,
    /// Signed change of the available credits.
    pub credits: creditd_core::Micros,
    /// Prepaid balance right after the event.
    pub prepaid_balance_after: creditd_core::Micros,
    /// Period usage right after the event.
    pub period_usage_after: creditd_core::Micros,
    /// Event-specific detail (JSON).
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

impl SeedPage {
    fn of(page: Page) -> SeedPage {
        let events = page
            .events
            .iter()
            .map(|e| {
                let v = e.view();
                SeedEvent {
                    created_at: e.created_at,
                    event_type: creditd_export::seed_event_type(e.kind),
                    source: e.source.clone(),
                    project_id: e.project_id.clone(),
                    activity_name: e.activity.clone(),
                    credits: creditd_export::person_amount(&v),
                    prepaid_balance_after: e.prepaid_balance_after,
                    period_usage_after: e.period_usage_after,
                    metadata: creditd_export::events_metadata(&v).and_then(|m| serde_json::from_str(&m).ok()),
                }
            })
            .collect();
        SeedPage { events, limit: page.limit, offset: page.offset, next_cursor: page.next_cursor }
    }
}

/// A parsed export request.
#[derive(Clone, Debug)]
pub struct ExportRequest {
    /// CSV or XLSX.
    pub format: Format,
    /// The report's columns or every field.
    pub layout: Layout,
    /// Newest or oldest first.
    pub order: Order,
    /// Which events.
    pub filter: EventFilter,
}

/// `order`: `newest` first or `oldest` first. The report lists newest first
/// like the history table; the full layout defaults to oldest first, the
/// order a ledger replays in and `creditd import` reads.
pub fn parse_order(v: Option<&str>, layout: Layout) -> Result<Order, ApiError> {
    match v.map(normalise).as_deref() {
        None => Ok(if layout == Layout::Full { Order::OldestFirst } else { Order::NewestFirst }),
        Some("newest" | "newest_first" | "desc") => Ok(Order::NewestFirst),
        Some("oldest" | "oldest_first" | "asc") => Ok(Order::OldestFirst),
        Some(_) => Err(ApiError::validation(format!("order {:?} is not one of: newest, oldest", v.unwrap_or("")))),
    }
}

/// Parses an export request (filters, `format`, `layout`); refuses the page
/// parameters, which an export has no use for.
pub fn parse_export(q: &QueryPairs, tz: &TimeZone, now: Timestamp) -> Result<ExportRequest, ApiError> {
    if let Some((k, _)) = q.0.iter().find(|(k, _)| PAGE_PARAMS.contains(&k.as_str())) {
        return Err(ApiError::validation(format!(
            "{k} does not apply to an export: it holds every matching event, no pages"
        )));
    }
    let allowed: Vec<&str> = FILTER_PARAMS.iter().chain(EXPORT_PARAMS).copied().collect();
    q.only(&allowed)?;
    let format = q.one("format")?.map(Format::parse).transpose()?.unwrap_or(Format::Csv);
    let layout = q.one("layout")?.map(parse_layout).transpose()?.unwrap_or(Layout::Report);
    let order = parse_order(q.one("order")?, layout)?;
    Ok(ExportRequest { format, layout, order, filter: parse_filter(q, tz, now)? })
}

/// The local dates an export covers, for its file name: the filter's dates,
/// else from the organisation's first day to today.
pub fn export_period(filter: &EventFilter, tz: &TimeZone, org_created: Timestamp, now: Timestamp) -> (Date, Date) {
    let from = local_date(filter.date_from.unwrap_or(org_created), tz);
    let to = match filter.date_to {
        // `date_to` is exclusive: the last day is the one before it ends.
        Some(t) => local_date(t.checked_sub(jiff::SignedDuration::from_micros(1)).unwrap_or(t), tz),
        None => local_date(now, tz),
    };
    (from, to.max(from))
}

/// Sets `cancelled` when dropped: the handler's future is dropped when the
/// client goes away, and the blocking workbook writer checks the flag.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// `GET /api/organizations/{orgId}/credit-events/export`.
pub async fn export(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
    q: QueryPairs,
) -> Result<Download, ApiError> {
    let org = org.as_str();
    principal.require(Action::Export, org)?;
    let info = app.store.org(org).await?;
    let tz = org_zone(&info.settings.time_zone);
    let now = app.store.now();
    let req = parse_export(&q, &tz, now)?;
    let (from, to) = export_period(&req.filter, &tz, info.created_at, now);
    let name = creditd_export::filename(org, from, to, req.format.ext());
    let (body, length) = match req.format {
        Format::Csv => {
            let (started, body) = csv_body(app.store.clone(), org.to_string(), req.filter, req.order, req.layout, tz);
            // An error before the first row is an error answer, not a file.
            started.await.map_err(|_| ApiError::from(StoreError::Closed))??;
            (body, None)
        }
        Format::Xlsx => {
            let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
            let flag = cancel.0.clone();
            let (store, org, layout) = (app.store.clone(), org.to_string(), req.layout);
            let read_after = creditd_store::consistency::current();
            let built = tokio::task::spawn_blocking(move || {
                creditd_store::consistency::read_after_sync(read_after, || {
                    build_xlsx(store.as_ref(), &org, &req.filter, req.order, layout, tz, &flag)
                })
            })
            .await
            .map_err(|e| ApiError::from(StoreError::backend(e)))?;
            drop(cancel);
            let (file, len) = built?;
            (file_body(file), Some(len))
        }
    };
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(req.format.content_type()));
    if let Ok(v) = HeaderValue::from_str(&creditd_export::content_disposition(&name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Some(len) = length {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    Ok(Download(resp))
}

/// Body chunks from a blocking producer.
pub struct ChunkStream(mpsc::Receiver<Result<Bytes, io::Error>>);

impl futures_core::Stream for ChunkStream {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// Whether an export stopped because its reader went away (a client that
/// hung up, a closed pipe). The csv crate keeps the io error inside its own
/// error type, without exposing it as a source, hence the match.
pub fn is_broken_pipe(e: &ExportError) -> bool {
    let io = match e {
        ExportError::Io(io) => Some(io),
        ExportError::Csv(c) => match c.kind() {
            csv::ErrorKind::Io(io) => Some(io),
            _ => None,
        },
        _ => None,
    };
    io.is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

/// Formatted CSV chunks waiting for the HTTP body.
///
/// A chunk is a range of 8,192 events (about 1 MiB in the report layout,
/// 2.5 MiB in the full one). While a client reads, the HTTP side holds at
/// most this many in the channel, plus the one the producer is blocked
/// handing over and the one hyper is writing to the socket; a client that
/// reads slowly therefore holds the producer (and through its per-worker
/// queues of one chunk, the engine) instead of making the server buffer the
/// file. One is enough to keep the socket busy: a chunk takes milliseconds
/// to format and far longer to send.
pub const CSV_CHUNKS_IN_FLIGHT: usize = 1;

/// CSV rows without the header, for [`Store::export_formatted`]: one per
/// formatting thread.
///
/// [`Store::export_formatted`]: creditd_store::Store::export_formatted
pub struct CsvRows(CsvExporter<Vec<u8>>);

impl CsvRows {
    /// A formatter of `layout` rows with times in `tz`.
    pub fn new(layout: Layout, tz: TimeZone) -> Self {
        CsvRows(CsvExporter::rows_only(Vec::new(), layout, tz))
    }
}

impl creditd_store::RowFormatter for CsvRows {
    fn push(&mut self, e: &creditd_core::EventRef<'_>) -> Result<(), StoreError> {
        self.0.push_ref(e).map_err(|e| StoreError::backend(format!("formatting CSV: {e}")))
    }

    fn take(&mut self) -> Result<Vec<u8>, StoreError> {
        self.0.take_bytes().map_err(|e| StoreError::backend(format!("formatting CSV: {e}")))
    }

    fn fields(&self) -> creditd_store::Fields {
        fields_of(self.0.layout())
    }
}

/// What a layout reads of each event.
fn fields_of(layout: Layout) -> creditd_store::Fields {
    match layout {
        Layout::Report => creditd_store::Fields::Report,
        Layout::Full | Layout::Fpt | Layout::Events => creditd_store::Fields::All,
    }
}

/// Every matching row into `x`: a thread of the store reads the rows
/// (`Store::export_in`, chunks of owned events, a few in flight) while this
/// one writes the workbook, the slower half. Stops with `Closed` when
/// `cancelled` is raised (checked per chunk); `on_chunk` hears each chunk's
/// row count. Blocking: call it from a blocking thread.
pub fn export_to_xlsx<W: io::Write + Send>(
    store: &dyn creditd_store::Store,
    org: &str,
    filter: &EventFilter,
    order: Order,
    x: &mut XlsxExporter<W>,
    cancelled: &AtomicBool,
    on_chunk: &mut dyn FnMut(u64),
) -> Result<u64, XlsxFailure> {
    let rt = tokio::runtime::Handle::try_current().map_err(|e| XlsxFailure::Store(StoreError::backend(e)))?;
    let mut chunks = rt.block_on(store.export_in(org, filter, order)).map_err(XlsxFailure::Store)?;
    let mut rows = 0;
    while let Some(chunk) = chunks.blocking_recv() {
        if cancelled.load(Ordering::Relaxed) {
            return Err(XlsxFailure::Store(StoreError::Closed));
        }
        let chunk = chunk.map_err(XlsxFailure::Store)?;
        for e in &chunk {
            x.push_ref(&e.view()).map_err(XlsxFailure::Export)?;
        }
        rows += chunk.len() as u64;
        on_chunk(chunk.len() as u64);
    }
    Ok(rows)
}

/// Why [`export_to_xlsx`] stopped: the store, or the workbook.
#[derive(Debug)]
pub enum XlsxFailure {
    /// The store failed (or the export was cancelled).
    Store(StoreError),
    /// Writing the workbook failed.
    Export(ExportError),
}

/// Streams CSV: on a blocking thread the store formats the rows into chunks
/// (`Store::export_formatted`, on several threads where the engine can),
/// which go straight into the body in order ([`csv_stream`]).
fn csv_body(
    store: Arc<dyn creditd_store::Store>,
    org: String,
    filter: EventFilter,
    order: Order,
    layout: Layout,
    tz: TimeZone,
) -> (tokio::sync::oneshot::Receiver<Result<(), StoreError>>, Body) {
    let (started, chunks) = csv_stream(layout, move |emit| {
        let make = || -> Box<dyn creditd_store::RowFormatter> { Box::new(CsvRows::new(layout, tz.clone())) };
        store.export_formatted(&org, &filter, order, &make, &mut |chunk| emit(chunk.bytes))
    });
    (started, Body::from_stream(chunks))
}

/// The CSV body's stream: `produce` runs on a blocking thread and hands
/// each formatted chunk to `emit`, which blocks while [`CSV_CHUNKS_IN_FLIGHT`]
/// chunks wait for the client and breaks once the client has gone. The
/// header goes out with the first chunk, so that `started` can still answer
/// an error that comes before any row (it is `Ok` once the file has begun).
pub fn csv_stream<P>(
    layout: Layout,
    produce: P,
) -> (tokio::sync::oneshot::Receiver<Result<(), StoreError>>, ChunkStream)
where
    P: FnOnce(&mut dyn FnMut(Vec<u8>) -> std::ops::ControlFlow<()>) -> Result<u64, StoreError> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(CSV_CHUNKS_IN_FLIGHT);
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    // The request's read position goes with the export to its thread.
    let read_after = creditd_store::consistency::current();
    tokio::task::spawn_blocking(move || {
        creditd_store::consistency::read_after_sync(read_after, move || {
            let mut started = Some(started_tx);
            let send = |bytes: Vec<u8>| tx.blocking_send(Ok(Bytes::from(bytes))).is_ok();
            // The file begins: the handler answers 200 and the header goes first.
            let begin = |started: &mut Option<_>| -> bool {
                match started.take() {
                    Some(s) => {
                        let _: Result<(), _> = tokio::sync::oneshot::Sender::send(s, Ok(()));
                        CsvExporter::<Vec<u8>>::header(layout).is_ok_and(send)
                    }
                    None => true,
                }
            };
            let scanned = produce(&mut |bytes| {
                if begin(&mut started) && send(bytes) {
                    std::ops::ControlFlow::Continue(())
                } else {
                    // The client went away.
                    std::ops::ControlFlow::Break(())
                }
            });
            match scanned {
                // Nothing was sent: the handler answers with the error.
                Err(e) if started.is_some() => {
                    if let Some(s) = started.take() {
                        let _ = s.send(Err(e));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "CSV export failed mid-stream; aborting the download");
                    let _ = tx.blocking_send(Err(io::Error::other(e.to_string())));
                }
                // No rows: the file is the header alone.
                Ok(_) => {
                    begin(&mut started);
                }
            }
        })
    });
    (started_rx, ChunkStream(rx))
}

/// Writes the workbook to an anonymous temporary file; returns it rewound
/// and its length.
fn build_xlsx(
    store: &dyn creditd_store::Store,
    org: &str,
    filter: &EventFilter,
    order: Order,
    layout: Layout,
    tz: TimeZone,
    cancelled: &AtomicBool,
) -> Result<(std::fs::File, u64), ApiError> {
    let fail = |e: ExportError| ApiError::from(StoreError::backend(format!("writing the Excel export: {e}")));
    let file = tempfile::tempfile().map_err(|e| fail(e.into()))?;
    let mut x = XlsxExporter::new(io::BufWriter::with_capacity(FILE_CHUNK_BYTES, file), layout, tz).map_err(fail)?;
    export_to_xlsx(store, org, filter, order, &mut x, cancelled, &mut |_| {}).map_err(|e| match e {
        XlsxFailure::Store(e) => ApiError::from(e),
        XlsxFailure::Export(e) => fail(e),
    })?;
    let sink = x.finish().map_err(fail)?;
    let mut file = sink.into_inner().map_err(|e| fail(e.into_error().into()))?;
    let len = file.seek(io::SeekFrom::End(0)).map_err(|e| fail(e.into()))?;
    file.rewind().map_err(|e| fail(e.into()))?;
    Ok((file, len))
}

/// Streams a finished file in 64 KiB chunks.
fn file_body(mut file: std::fs::File) -> Body {
    let (tx, rx) = mpsc::channel(STREAM_CHUNKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; FILE_CHUNK_BYTES];
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.blocking_send(Ok(Bytes::copy_from_slice(&buf[..n]))).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    Body::from_stream(ChunkStream(rx))
}
