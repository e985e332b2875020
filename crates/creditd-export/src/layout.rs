//! The column layouts an export can have: one per seed product, and every
//! field.
//!
//! Kept in one place so the CSV writer, the Excel writer, the importer, the
//! history API's `fields=events` and the dashboard can never disagree about
//! which column holds what, or what a person reads for an event.
//!
//! One rule runs through every layout a person reads (`report`, `fpt`,
//! `events`, the dashboard's table): **a hold and its debit are not two
//! charges.** A hold takes credits out of the available balance; its debit
//! consumes what was held and leaves the available balance as it was. So a
//! debit reads as an amount of 0, and its note says what it captured from
//! which hold ("30 credits captured from hold hold_2, counted when held").
//! A partial debit's rest comes back as a release (a positive amount), so the
//! amounts of these layouts always sum to the change of the available
//! balance. The `full` layout keeps every event as stored.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use creditd_core::{EventKind, EventRef, MetadataRef, Micros, Status};
use jiff::Timestamp;

/// Which columns an export has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Layout {
    /// Genira's credit history report, column for column: what an owner
    /// downloads to read in a spreadsheet.
    #[default]
    Report,
    /// Every field of an event: what an auditor or another system reads, and
    /// what [`crate::parse_full_csv`] reads back.
    Full,
    /// FPT AI Factory's credit history (seed 003): Date, Service, Source,
    /// Description, Code, Status, Amount, with its meanings: a top-up's
    /// Service is the payment gateway and its Source the gateway's name, a
    /// voucher's Service is "System" and its Source "Voucher", a charge's
    /// Service is the service that used credits and its Source the resource.
    Fpt,
    /// The credit events log of seed 001, under its column names and
    /// `event_type` values (`reservation`, `prepaid_purchase`, …), times in
    /// UTC: what a client written for that log reads unchanged.
    Events,
}

impl Layout {
    /// Every layout, in the order the API and the dashboard offer them.
    pub const ALL: [Layout; 4] = [Layout::Report, Layout::Fpt, Layout::Events, Layout::Full];
}

/// Column titles of [`Layout::Report`], in order (Genira's report; a case is a
/// project).
pub const REPORT_HEADERS: [&str; 8] =
    ["Case Name", "Case ID", "User's Name", "Email", "Kind", "Amount", "Created At", "Description"];

/// Column names of [`Layout::Full`], in order: the `Event` field names, less
/// `org_id` (an export is always of one organisation, named by the file).
/// Files written before priced operations end at `metadata`
/// ([`FULL_HEADERS_BEFORE_PRICING`] columns), files written before the
/// pools after each event were recorded at `pricing`
/// ([`FULL_HEADERS_BEFORE_POOLS`]); both still import.
pub const FULL_HEADERS: [&str; 27] = [
    "id",
    "seq",
    "created_at",
    "kind",
    "amount",
    "pool",
    "status",
    "source",
    "service",
    "activity",
    "project_id",
    "project_name",
    "user_name",
    "user_email",
    "description",
    "code",
    "hold_id",
    "idempotency_key",
    "balance_after",
    "prepaid_balance_after",
    "held_after",
    "period_usage_after",
    "metadata",
    "pricing",
    "plan_balance_after",
    "voucher_balance_after",
    "promotional_balance_after",
];

/// The widths a full export may have: every column, or a file written
/// before the pools after each event ([`FULL_HEADERS_BEFORE_POOLS`]) or
/// before priced operations ([`FULL_HEADERS_BEFORE_PRICING`]).
pub const FULL_FILE_WIDTHS: [usize; 3] = [FULL_HEADERS.len(), FULL_HEADERS_BEFORE_POOLS, FULL_HEADERS_BEFORE_PRICING];

/// How many of [`FULL_HEADERS`] a full export had before the pools after
/// each event: such a file still imports (its events carry no split, and
/// a balance as of their time answers none).
pub const FULL_HEADERS_BEFORE_POOLS: usize = 24;

/// How many of [`FULL_HEADERS`] a full export had before the `pricing`
/// column: such a file still imports (its events have no pricing).
pub const FULL_HEADERS_BEFORE_PRICING: usize = 23;

/// Column titles of [`Layout::Fpt`], in order (seed 003).
pub const FPT_HEADERS: [&str; 7] = ["Date", "Service", "Source", "Description", "Code", "Status", "Amount"];

/// Column names of [`Layout::Events`], in order (seed 001).
pub const EVENTS_HEADERS: [&str; 9] = [
    "created_at",
    "event_type",
    "source",
    "project_id",
    "activity_name",
    "credits",
    "prepaid_balance_after",
    "period_usage_after",
    "metadata",
];

/// The Kind and Amount cells a person reads for an event: the report
/// layout (CSV and Excel) and the dashboard's history table all call this,
/// so the rule lives here and nowhere else.
///
/// The rule: only a `succeeded` event moved credits. A purchase that is
/// still `processing`, or that was settled `failed`, keeps its amount in the
/// ledger (and in the full layout, verbatim), but no credits arrived, so the
/// report shows an amount of 0 and says why in the Kind cell:
/// "Purchase (processing)", "Purchase (failed)". Without it a failed
/// purchase of 7,000 read as two rows of +7,000 (its processing event and
/// its failed settlement) in a layout that has no status column. A purchase
/// that succeeds after processing reads as "Purchase (processing)" 0, then
/// "Purchase" 7,000: the credits are counted once, when they arrived.
///
/// A debit reads as 0 too: its credits left the available balance with its
/// hold (see the module docs; [`debit_note`] says what it captured).
pub fn report_kind_amount(kind: EventKind, status: Status, amount: Micros) -> (Cow<'static, str>, Micros) {
    match (kind, status) {
        (EventKind::Debit, Status::Succeeded) => (Cow::Borrowed(kind.title()), Micros::ZERO),
        (_, Status::Succeeded) => (Cow::Borrowed(kind.title()), amount),
        (EventKind::Purchase, Status::Processing) => (Cow::Borrowed("Purchase (processing)"), Micros::ZERO),
        (EventKind::Purchase, Status::Failed) => (Cow::Borrowed("Purchase (failed)"), Micros::ZERO),
        // The ledger gives other kinds no other status; should an imported
        // history carry one, the same rule applies.
        (_, _) => (Cow::Owned(format!("{} ({})", kind.title(), status.as_str())), Micros::ZERO),
    }
}

/// What a debit captured, for a person: "30 credits captured from hold
/// hold_2, counted when held"; `None` for any other event.
pub fn debit_note(e: &EventRef<'_>) -> Option<String> {
    if e.kind != EventKind::Debit {
        return None;
    }
    let captured = e.amount.checked_neg().unwrap_or(e.amount);
    Some(match e.hold_id {
        Some(hold) => format!("{captured} credits captured from hold {hold}, counted when held"),
        None => format!("{captured} credits captured from a hold, counted when held"),
    })
}

/// The Description a person reads: the event's own, and for a debit its
/// [`debit_note`] after it.
pub fn person_description<'a>(e: &EventRef<'a>) -> Option<Cow<'a, str>> {
    match (e.description.filter(|d| !d.is_empty()), debit_note(e)) {
        (Some(d), Some(note)) => Some(Cow::Owned(format!("{d} ({note})"))),
        (None, Some(note)) => Some(Cow::Owned(note)),
        (d, None) => d.map(Cow::Borrowed),
    }
}

/// Seed 003's Status words: Success, Processed, Failed.
pub fn fpt_status(status: Status) -> &'static str {
    match status {
        Status::Succeeded => "Success",
        Status::Processing => "Processed",
        Status::Failed => "Failed",
    }
}

/// Seed 003's Service and Source for an event. A top-up (purchase): the
/// payment gateway ("Payment Gateway", or the service the caller named) and
/// the gateway's name (the event's `source`). A voucher: "System" and
/// "Voucher". A charge (usage or debit): the service that used credits and
/// the resource (the event's `source`, else its `activity`). Anything else:
/// its service, else "System", and its source, else its kind.
pub fn fpt_service_source<'a>(e: &EventRef<'a>) -> (&'a str, &'a str) {
    match e.kind {
        EventKind::Purchase => (e.service.unwrap_or("Payment Gateway"), e.source.unwrap_or("")),
        EventKind::Voucher => ("System", "Voucher"),
        EventKind::Usage | EventKind::Debit => (e.service.unwrap_or(""), e.source.or(e.activity).unwrap_or("")),
        kind => (e.service.unwrap_or("System"), e.source.unwrap_or(kind.title())),
    }
}

/// Seed 001's `event_type` for an event kind: `reservation` (hold),
/// `reservation_released` (release), `prepaid_purchase` (purchase), `usage`
/// (usage and debit: consumption by an activity); `grant`,
/// `subscription_credit`, `refund`, `adjustment`, `billing` as they are.
/// Kinds the seed has no name for keep creditd's (`voucher`, `expiry`).
/// Each name parses back to its kind (`debit` aside, which reads as
/// `usage`), so a filter on these names finds these rows.
pub fn seed_event_type(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Hold => "reservation",
        EventKind::Release => "reservation_released",
        EventKind::Purchase => "prepaid_purchase",
        EventKind::Debit => "usage",
        other => other.as_str(),
    }
}

/// The `credits` a person reads for an event in the [`Layout::Events`] and
/// [`Layout::Fpt`] layouts: [`report_kind_amount`]'s amount.
pub fn person_amount(e: &EventRef<'_>) -> Micros {
    report_kind_amount(e.kind, e.status, e.amount).1
}

/// Seed 001's `metadata` for an event: the stored JSON as it is; for a
/// debit, an object with `captured` (credits), `reservation` (the hold) and
/// `note`, the stored metadata's own keys beside them (or under `metadata`
/// when it is not an object).
pub fn events_metadata<'a>(e: &EventRef<'a>) -> Option<Cow<'a, str>> {
    let stored = e.metadata.map(|m| match m {
        MetadataRef::Json(json) => Cow::Borrowed(json),
        MetadataRef::Value(v) => Cow::Owned(v.to_string()),
    });
    let Some(note) = debit_note(e) else { return stored };
    let mut object = match stored.as_deref().map(serde_json::from_str::<serde_json::Value>) {
        Some(Ok(serde_json::Value::Object(map))) => map,
        Some(Ok(other)) => serde_json::Map::from_iter([("metadata".to_string(), other)]),
        _ => serde_json::Map::new(),
    };
    let captured = e.amount.checked_neg().unwrap_or(e.amount);
    object.insert("captured".into(), serde_json::Value::String(captured.to_string()));
    if let Some(hold) = e.hold_id {
        object.insert("reservation".into(), serde_json::Value::String(hold.to_string()));
    }
    object.insert("note".into(), serde_json::Value::String(note));
    Some(Cow::Owned(serde_json::Value::Object(object).to_string()))
}

/// One cell of a row of [`Layout::Fpt`] or [`Layout::Events`], for the CSV
/// and Excel writers to write alike.
#[derive(Debug, PartialEq)]
pub(crate) enum Cell<'a> {
    /// Text (absent: an empty cell).
    Text(Option<Cow<'a, str>>),
    /// Credits.
    Amount(Micros),
    /// A time in the organisation's zone.
    Local(Timestamp),
    /// A time in UTC (seed 001's `created_at`).
    Utc(Timestamp),
}

/// The cells of one event in `layout` (`Fpt` or `Events`; the report and
/// full layouts have fast paths of their own in each writer), handed to
/// `cell` from the left; the first error stops the row.
pub(crate) fn each_cell<'a, E>(
    layout: Layout,
    e: &EventRef<'a>,
    mut cell: impl FnMut(Cell<'a>) -> Result<(), E>,
) -> Result<(), E> {
    let text = |s: Option<&'a str>| Cell::Text(s.map(Cow::Borrowed));
    match layout {
        Layout::Fpt => {
            let (service, source) = fpt_service_source(e);
            cell(Cell::Local(e.created_at))?;
            cell(Cell::Text(Some(Cow::Borrowed(service))))?;
            cell(Cell::Text(Some(Cow::Borrowed(source))))?;
            cell(Cell::Text(person_description(e)))?;
            cell(text(e.code))?;
            cell(Cell::Text(Some(Cow::Borrowed(fpt_status(e.status)))))?;
            cell(Cell::Amount(person_amount(e)))
        }
        Layout::Events => {
            cell(Cell::Utc(e.created_at))?;
            cell(Cell::Text(Some(Cow::Borrowed(seed_event_type(e.kind)))))?;
            cell(text(e.source))?;
            cell(text(e.project_id))?;
            cell(text(e.activity))?;
            cell(Cell::Amount(person_amount(e)))?;
            cell(Cell::Amount(e.prepaid_balance_after))?;
            cell(Cell::Amount(e.period_usage_after))?;
            cell(Cell::Text(events_metadata(e)))
        }
        Layout::Report | Layout::Full => unreachable!("the report and full layouts are written by their own paths"),
    }
}

/// Excel column widths in characters, by layout, wide enough for typical
/// values so a downloaded sheet is readable without resizing.
pub(crate) const REPORT_WIDTHS: [f64; 8] = [24.0, 18.0, 20.0, 28.0, 12.0, 14.0, 20.0, 48.0];
pub(crate) const FULL_WIDTHS: [f64; 27] = [
    14.0, 10.0, 20.0, 20.0, 14.0, 12.0, 11.0, 16.0, 16.0, 22.0, 16.0, 22.0, 20.0, 28.0, 40.0, 14.0, 16.0, 22.0, 14.0,
    14.0, 14.0, 14.0, 40.0, 40.0, 14.0, 14.0, 14.0,
];
pub(crate) const FPT_WIDTHS: [f64; 7] = [20.0, 20.0, 20.0, 48.0, 14.0, 11.0, 14.0];
pub(crate) const EVENTS_WIDTHS: [f64; 9] = [22.0, 22.0, 16.0, 16.0, 24.0, 14.0, 14.0, 14.0, 40.0];

impl Layout {
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Report => "report",
            Layout::Full => "full",
            Layout::Fpt => "fpt",
            Layout::Events => "events",
        }
    }

    /// The header row.
    pub fn headers(self) -> &'static [&'static str] {
        match self {
            Layout::Report => &REPORT_HEADERS,
            Layout::Full => &FULL_HEADERS,
            Layout::Fpt => &FPT_HEADERS,
            Layout::Events => &EVENTS_HEADERS,
        }
    }

    pub(crate) fn widths(self) -> &'static [f64] {
        match self {
            Layout::Report => &REPORT_WIDTHS,
            Layout::Full => &FULL_WIDTHS,
            Layout::Fpt => &FPT_WIDTHS,
            Layout::Events => &EVENTS_WIDTHS,
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A layout name that is not one of [`Layout::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown export layout {0:?}; expected report, fpt, events or full")]
pub struct UnknownLayout(pub String);

impl FromStr for Layout {
    type Err = UnknownLayout;

    fn from_str(s: &str) -> Result<Self, UnknownLayout> {
        match s {
            "report" => Ok(Layout::Report),
            "full" => Ok(Layout::Full),
            "fpt" => Ok(Layout::Fpt),
            "events" => Ok(Layout::Events),
            _ => Err(UnknownLayout(s.to_string())),
        }
    }
}
