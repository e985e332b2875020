//! creditd-export: an organisation's credit history as files, and back.
//!
//! It exists so that the server's download buttons and the CLI's `export`
//! command share one definition of what a credit-history file contains: the
//! column layouts ([`Layout`]), how amounts and times are written, how cells
//! are made safe to open in a spreadsheet, how a workbook is split into sheets,
//! and how the full layout is read back and checked ([`parse_full_csv`]).
//!
//! What it does not do: no async, no HTTP, no database. Callers feed events
//! chunk by chunk into an exporter that owns a `std::io::Write` sink, so an
//! export of any length runs in flat memory. Amounts are written exactly
//! (micro-credits, never through a float) everywhere except the Excel number
//! cells, which are display cells by nature; the exact value is always the
//! CSV or JSON.

mod csv_export;
mod import;
mod layout;
mod num;
mod statement;
mod time;
mod xlsx_export;

use std::io;

pub use csv_export::{CsvExporter, neutralise};
pub use import::{BadLine, ImportError, ImportOptions, LineError, MAX_BAD_LINES, parse_full_csv, parse_full_csv_with};
pub use layout::{
    EVENTS_HEADERS, FPT_HEADERS, FULL_FILE_WIDTHS, FULL_HEADERS, FULL_HEADERS_BEFORE_POOLS,
    FULL_HEADERS_BEFORE_PRICING, Layout, REPORT_HEADERS, UnknownLayout, debit_note, events_metadata,
    fpt_service_source, fpt_status, person_amount, person_description, report_kind_amount, seed_event_type,
};
pub use statement::{STATEMENT_HEADERS, statement_csv, statement_filename, statement_xlsx};
pub use xlsx_export::{EXCEL_MAX_ROWS, XlsxExporter, XlsxOptions};

/// `Content-Type` of a CSV export.
pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";
/// `Content-Type` of an Excel export.
pub const XLSX_CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Why an export could not be written.
///
/// Every variant is about the sink or the file format, never about the
/// events: any `Event` can be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing the CSV export: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing the export: {0}")]
    Io(#[from] io::Error),
    #[error("writing the Excel export: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("rows_per_sheet must be between 2 (a header and one row) and {EXCEL_MAX_ROWS}, got {0}")]
    RowsPerSheet(u32),
}

/// The download's file name, naming the organisation and the period:
/// `credit-history_acme_2026-01-01_2026-01-31.csv`.
///
/// Characters outside `[A-Za-z0-9._-]` in `org_id` become `_`, and `ext` keeps
/// only ASCII letters and digits, so the result is always safe to put in a
/// quoted `Content-Disposition` filename and on any file system.
pub fn filename(org_id: &str, from: jiff::civil::Date, to: jiff::civil::Date, ext: &str) -> String {
    let org: String = org_id
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') { c } else { '_' })
        .collect();
    // A name starting with a dot would be hidden on Unix.
    let org = org.trim_start_matches('.');
    let org = if org.is_empty() { "org" } else { org };
    let ext: String = ext.chars().filter(char::is_ascii_alphanumeric).take(8).collect();
    let ext = if ext.is_empty() { "bin".to_string() } else { ext.to_ascii_lowercase() };
    format!("credit-history_{org}_{from}_{to}.{ext}")
}

/// A `Content-Disposition` header value that downloads `filename` as an
/// attachment. `filename` should come from [`filename`], which needs no
/// escaping; anything but printable ASCII, quotes and backslashes is dropped
/// here in case it does not.
pub fn content_disposition(filename: &str) -> String {
    let safe: String =
        filename.chars().filter(|c| (c.is_ascii_graphic() || *c == ' ') && !matches!(c, '"' | '\\')).collect();
    format!("attachment; filename=\"{safe}\"")
}
