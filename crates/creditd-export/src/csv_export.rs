//! Streaming CSV export (RFC 4180, UTF-8, CRLF line ends).
//!
//! Written for a download of millions of rows: one `csv::Writer` with a large
//! buffer, fields written straight from the event's strings, numbers and
//! times formatted into stack buffers, one scratch buffer reused for the rare
//! cell that needs rewriting. Nothing is allocated per row, so memory stays
//! flat however long the history.

use std::io::Write;

use creditd_core::{Event, EventRef, MetadataRef, Micros, PricingRef};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::ExportError;
use crate::layout::{Cell, Layout, each_cell, person_description, report_kind_amount};
use crate::num::{NumBuf, fmt_micros, fmt_u64};
use crate::time::{LocalClock, TimeBuf};

/// Bytes buffered before the sink sees a write: large enough that the sink is
/// called rarely, small enough that a streamed download starts at once.
const BUFFER_BYTES: usize = 64 * 1024;

/// Writes events as CSV rows in one [`Layout`], times in one zone.
///
/// Call [`push`](Self::push) for each event in the order they should appear,
/// then [`finish`](Self::finish): it flushes and hands the sink back. Dropping
/// the exporter without `finish` may lose the last buffered rows. After an
/// error the output may end in a partial row; drop the exporter and fail the
/// download.
///
/// Cells are written as follows:
/// - amounts and balances exactly, as `Micros` displays them (`-12.5`), so a
///   spreadsheet reads a number and a program reads the exact decimal;
/// - times as RFC 3339 in the organisation's zone with the offset
///   (`2026-03-01T09:30:00+01:00`), so the local time is what a person sees
///   and the instant is still exact;
/// - text through [`neutralise`], so no cell is run as a formula;
/// - absent values as empty cells.
pub struct CsvExporter<W: Write> {
    out: csv::Writer<W>,
    layout: Layout,
    clock: LocalClock,
    /// UTC, for the events layout's `created_at`.
    utc: LocalClock,
    /// For the cells [`neutralise`] rewrites and for metadata JSON.
    scratch: Vec<u8>,
    rows: u64,
}

impl<W: Write> CsvExporter<W> {
    /// Starts an export and writes the header row. `tz` is the
    /// organisation's zone.
    pub fn new(writer: W, layout: Layout, tz: TimeZone) -> Result<Self, ExportError> {
        let mut exporter = Self::rows_only(writer, layout, tz);
        exporter.out.write_record(layout.headers())?;
        Ok(exporter)
    }

    /// Starts a stretch of rows without the header: a piece of an export
    /// formatted apart (on another thread) and joined to the others in order.
    pub fn rows_only(writer: W, layout: Layout, tz: TimeZone) -> Self {
        let out = csv_writer(writer);
        CsvExporter {
            out,
            layout,
            clock: LocalClock::new(tz),
            utc: LocalClock::new(TimeZone::UTC),
            scratch: Vec::new(),
            rows: 0,
        }
    }

    /// The header row of `layout`, as [`new`](Self::new) writes it.
    pub fn header(layout: Layout) -> Result<Vec<u8>, ExportError> {
        let mut w = csv_writer(Vec::new());
        w.write_record(layout.headers())?;
        w.into_inner().map_err(|e| ExportError::Io(e.into_error()))
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn time_zone(&self) -> &TimeZone {
        self.clock.time_zone()
    }

    /// Rows written so far, not counting the header.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes one event as one row.
    pub fn push(&mut self, e: &Event) -> Result<(), ExportError> {
        self.push_ref(&e.view())
    }

    /// Writes one borrowed event (e.g. a database row) as one row: what
    /// [`push`](Self::push) writes for the same event.
    pub fn push_ref(&mut self, e: &EventRef<'_>) -> Result<(), ExportError> {
        match self.layout {
            Layout::Report => self.push_report(e)?,
            Layout::Full => self.push_full(e)?,
            layout @ (Layout::Fpt | Layout::Events) => each_cell(layout, e, |cell| match cell {
                Cell::Text(t) => self.text(t.as_deref()),
                Cell::Amount(m) => self.amount(m),
                Cell::Local(ts) => self.time(ts),
                Cell::Utc(ts) => {
                    let mut buf: TimeBuf = [0; 40];
                    let text = self.utc.rfc3339(ts, &mut buf);
                    self.out.write_field(text)
                }
            })?,
        }
        // An empty iterator ends the record the fields above started.
        self.out.write_record(None::<&[u8]>)?;
        self.rows += 1;
        Ok(())
    }

    /// Writes every event of a chunk.
    pub fn push_all<'a>(&mut self, events: impl IntoIterator<Item = &'a Event>) -> Result<(), ExportError> {
        for e in events {
            self.push(e)?;
        }
        Ok(())
    }

    fn push_report(&mut self, e: &EventRef<'_>) -> csv::Result<()> {
        self.text(e.project_name)?;
        self.text(e.project_id)?;
        self.text(e.user_name)?;
        self.text(e.user_email)?;
        let (kind, amount) = report_kind_amount(e.kind, e.status, e.amount);
        self.out.write_field(kind.as_bytes())?;
        self.amount(amount)?;
        self.time(e.created_at)?;
        match e.kind {
            creditd_core::EventKind::Debit => self.text(person_description(e).as_deref()),
            _ => self.text(e.description),
        }
    }

    fn push_full(&mut self, e: &EventRef<'_>) -> csv::Result<()> {
        let mut num: NumBuf = [0; 24];
        match e.id {
            Some(id) => self.text(Some(id))?,
            // `evt_<seq>` never needs neutralising.
            None => {
                let digits = fmt_u64(&mut num, e.seq);
                self.scratch.clear();
                self.scratch.extend_from_slice(b"evt_");
                self.scratch.extend_from_slice(digits);
                self.out.write_field(&self.scratch)?;
            }
        }
        self.out.write_field(fmt_u64(&mut num, e.seq))?;
        self.time(e.created_at)?;
        self.out.write_field(e.kind.as_str())?;
        self.amount(e.amount)?;
        self.out.write_field(e.pool.map_or("", |p| p.as_str()))?;
        self.out.write_field(e.status.as_str())?;
        self.full_text(e.source)?;
        self.full_text(e.service)?;
        self.full_text(e.activity)?;
        self.full_text(e.project_id)?;
        self.full_text(e.project_name)?;
        self.full_text(e.user_name)?;
        self.full_text(e.user_email)?;
        self.full_text(e.description)?;
        self.full_text(e.code)?;
        self.full_text(e.hold_id)?;
        self.full_text(e.idempotency_key)?;
        self.amount(e.balance_after)?;
        self.amount(e.prepaid_balance_after)?;
        self.amount(e.held_after)?;
        self.amount(e.period_usage_after)?;
        match e.metadata {
            None => self.out.write_field(b""),
            Some(MetadataRef::Json(json)) => self.text(Some(json)),
            Some(MetadataRef::Value(value)) => {
                // Leave room for the quote `neutralise` may put in front, so
                // the JSON is serialised once either way.
                self.scratch.clear();
                self.scratch.push(b'\'');
                serde_json::to_writer(&mut self.scratch, value).map_err(std::io::Error::from)?;
                let json = &self.scratch[1..];
                if needs_quote_prefix(json) { self.out.write_field(&self.scratch) } else { self.out.write_field(json) }
            }
        }?;
        match e.pricing {
            None => self.out.write_field(b""),
            Some(PricingRef::Json(json)) => self.text(Some(json)),
            Some(p) => self.text(Some(&p.json())),
        }?;
        match e.pools_after {
            None => {
                for _ in 0..3 {
                    self.out.write_field(b"")?;
                }
                Ok(())
            }
            Some(p) => {
                self.amount(p.plan)?;
                self.amount(p.voucher)?;
                self.amount(p.promotional)
            }
        }
    }

    #[inline]
    fn text(&mut self, s: Option<&str>) -> csv::Result<()> {
        let bytes = s.unwrap_or("").as_bytes();
        if needs_quote_prefix(bytes) {
            self.scratch.clear();
            self.scratch.push(b'\'');
            self.scratch.extend_from_slice(bytes);
            self.out.write_field(&self.scratch)
        } else {
            self.out.write_field(bytes)
        }
    }

    /// A text cell of the full layout, which must read back as it was
    /// stored: absent (`None`) is an empty cell and an empty text
    /// (`Some("")`) is a lone `'`, the quote [`neutralise`] puts in front of
    /// text and the importer takes off again. Spreadsheets read a lone `'`
    /// as an empty text cell too, and `neutralise` never writes one (text
    /// starting with `'` gets a second), so the two cannot be confused.
    #[inline]
    fn full_text(&mut self, s: Option<&str>) -> csv::Result<()> {
        match s {
            Some("") => self.out.write_field(b"'"),
            other => self.text(other),
        }
    }

    /// Amounts are never neutralised: `-12.5` must stay a number.
    #[inline]
    fn amount(&mut self, m: Micros) -> csv::Result<()> {
        let mut buf: NumBuf = [0; 24];
        self.out.write_field(fmt_micros(&mut buf, m))
    }

    #[inline]
    fn time(&mut self, ts: Timestamp) -> csv::Result<()> {
        let mut buf: TimeBuf = [0; 40];
        let text = self.clock.rfc3339(ts, &mut buf);
        self.out.write_field(text)
    }

    /// Hands everything written so far to the sink, e.g. between chunks of a
    /// streamed response.
    pub fn flush(&mut self) -> Result<(), ExportError> {
        self.out.flush()?;
        Ok(())
    }

    /// Flushes and returns the sink.
    pub fn finish(self) -> Result<W, ExportError> {
        self.out.into_inner().map_err(|e| ExportError::Io(e.into_error()))
    }
}

impl CsvExporter<Vec<u8>> {
    /// The bytes of the rows written since the last call; the exporter goes
    /// on with an empty buffer (and its own scratch and zone cache).
    ///
    /// The next buffer starts with room for this chunk's size and a quarter
    /// more: a growing `Vec` doubles, so a 2.3 MiB chunk would otherwise sit
    /// in a 4 MiB allocation for as long as it waits to be sent, and a
    /// streamed export holds several chunks at a time.
    pub fn take_bytes(&mut self) -> Result<Vec<u8>, ExportError> {
        self.out.flush()?;
        let len = self.out.get_ref().len();
        let fresh = csv_writer(Vec::with_capacity(len.saturating_add(len / 4)));
        let done = std::mem::replace(&mut self.out, fresh);
        done.into_inner().map_err(|e| ExportError::Io(e.into_error()))
    }
}

/// RFC 4180 with CRLF line ends, quoting only what needs it.
fn csv_writer<W: Write>(w: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .buffer_capacity(BUFFER_BYTES)
        .from_writer(w)
}

/// Whether a spreadsheet would run this text as a formula (it starts with
/// `=`, `+`, `-`, `@`, a tab or a carriage return), or it already starts with
/// the quote used to defuse one.
#[inline]
fn needs_quote_prefix(bytes: &[u8]) -> bool {
    matches!(bytes.first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\''))
}

/// The text a CSV export writes for a text cell: `s` itself, or `s` behind a
/// single quote when a spreadsheet would otherwise run it as a formula
/// (`=cmd|' /C calc'!A0`, `+x`, `-x`, `@x`, a leading tab or CR) — the
/// OWASP advice for CSV injection.
///
/// Text that already starts with a quote gets one more, so the rule can be
/// undone exactly: strip one leading quote if there is one. The importer does
/// that, which is why a full export round-trips. Amount cells are numbers
/// written by creditd and are never passed through this.
pub fn neutralise(s: &str) -> std::borrow::Cow<'_, str> {
    if needs_quote_prefix(s.as_bytes()) { format!("'{s}").into() } else { s.into() }
}

/// Undoes [`neutralise`].
pub(crate) fn unneutralise(s: &str) -> &str {
    s.strip_prefix('\'').unwrap_or(s)
}
