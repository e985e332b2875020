//! The two column layouts an export can have.
//!
//! Kept in one place so the CSV writer, the Excel writer and the importer can
//! never disagree about which column holds what.

use std::fmt;
use std::str::FromStr;

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
