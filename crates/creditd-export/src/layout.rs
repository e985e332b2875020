//! The two column layouts an export can have.
//!
//! Kept in one place so the CSV writer, the Excel writer and the importer can
//! never disagree about which column holds what.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use creditd_core::{EventKind, Micros, Status};

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
}

/// Column titles of [`Layout::Report`], in order (Genira's report; a case is a
/// project).
pub const REPORT_HEADERS: [&str; 8] =
    ["Case Name", "Case ID", "User's Name", "Email", "Kind", "Amount", "Created At", "Description"];

/// Column names of [`Layout::Full`], in order: the `Event` field names, less
/// `org_id` (an export is always of one organisation, named by the file).
pub const FULL_HEADERS: [&str; 23] = [
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
pub fn report_kind_amount(kind: EventKind, status: Status, amount: Micros) -> (Cow<'static, str>, Micros) {
    match (kind, status) {
        (_, Status::Succeeded) => (Cow::Borrowed(kind.title()), amount),
        (EventKind::Purchase, Status::Processing) => (Cow::Borrowed("Purchase (processing)"), Micros::ZERO),
        (EventKind::Purchase, Status::Failed) => (Cow::Borrowed("Purchase (failed)"), Micros::ZERO),
        // The ledger gives other kinds no other status; should an imported
        // history carry one, the same rule applies.
        (_, _) => (Cow::Owned(format!("{} ({})", kind.title(), status.as_str())), Micros::ZERO),
    }
}

/// Excel column widths in characters, by layout, wide enough for typical
/// values so a downloaded sheet is readable without resizing.
pub(crate) const REPORT_WIDTHS: [f64; 8] = [24.0, 18.0, 20.0, 28.0, 12.0, 14.0, 20.0, 48.0];
pub(crate) const FULL_WIDTHS: [f64; 23] = [
    14.0, 10.0, 20.0, 20.0, 14.0, 12.0, 11.0, 16.0, 16.0, 22.0, 16.0, 22.0, 20.0, 28.0, 40.0, 14.0, 16.0, 22.0, 14.0,
    14.0, 14.0, 14.0, 40.0,
];

impl Layout {
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Report => "report",
            Layout::Full => "full",
        }
    }

    /// The header row.
    pub fn headers(self) -> &'static [&'static str] {
        match self {
            Layout::Report => &REPORT_HEADERS,
            Layout::Full => &FULL_HEADERS,
        }
    }

    pub(crate) fn widths(self) -> &'static [f64] {
        match self {
            Layout::Report => &REPORT_WIDTHS,
            Layout::Full => &FULL_WIDTHS,
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A layout name that is neither `report` nor `full`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown export layout {0:?}; expected report or full")]
pub struct UnknownLayout(pub String);

impl FromStr for Layout {
    type Err = UnknownLayout;

    fn from_str(s: &str) -> Result<Self, UnknownLayout> {
        match s {
            "report" => Ok(Layout::Report),
            "full" => Ok(Layout::Full),
            _ => Err(UnknownLayout(s.to_string())),
        }
    }
}
