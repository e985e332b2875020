//! Streaming Excel (.xlsx) export.
//!
//! Owners ask for "a real Excel file" (FPT's Export Excel): typed cells that
//! sort and sum, dates Excel recognises, a header that stays in view. An xlsx
//! is a zip of XML parts that can only be assembled at the end, so
//! rust_xlsxwriter's constant-memory mode is used: each finished row goes to a
//! temporary file (one per sheet, in [`XlsxOptions::tempdir`] or the system
//! temporary directory), and [`XlsxExporter::finish`] zips those into the
//! sink. Memory stays flat; disk use is about the uncompressed sheet XML.
//!
//! The sink only needs `Write + Send` (rust_xlsxwriter writes the zip in
//! streaming mode, no `Seek`), so it can be a file, a pipe or a buffer. No
//! bytes reach it before `finish`.
//!
//! Unlike the CSV export, text cells need no formula neutralising: they are
//! written as string cells, which Excel never evaluates.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use creditd_core::{Event, EventRef, MetadataRef, Micros, PricingRef};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use rust_xlsxwriter::{DocProperties, Format, Workbook, Worksheet, XlsxError};

use crate::ExportError;
use crate::layout::{Cell, Layout, each_cell, person_description, report_kind_amount};
use crate::num::micros_f64;
use crate::time::LocalClock;

/// Rows in one Excel worksheet, the header included (Excel's hard limit).
pub const EXCEL_MAX_ROWS: u32 = 1_048_576;

/// Excel's limit for the text of one cell, in UTF-16 code units.
const MAX_CELL_UTF16: usize = 32_767;

/// How an Excel export is laid out on disk and in the workbook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XlsxOptions {
    /// Rows per worksheet including its header row; when a sheet is full the
    /// export continues on "History 2", "History 3", … At most
    /// [`EXCEL_MAX_ROWS`], at least 2.
    pub rows_per_sheet: u32,
    /// Where the per-sheet temporary files go. `None` is the system
    /// temporary directory; point it at a disk if that is a RAM file system,
    /// or memory is not flat after all.
    pub tempdir: Option<PathBuf>,
    /// Zip compression level, 1 (fastest) to 9 (smallest). The default is
    /// 3, not rust_xlsxwriter's 6: measured on a million report rows, 6
    /// spends as long compressing as writing the rows, and 3 halves that for
    /// a file about 9% larger (level 1 is faster still but 50% larger).
    pub compression_level: u8,
}

impl Default for XlsxOptions {
    fn default() -> Self {
        XlsxOptions { rows_per_sheet: EXCEL_MAX_ROWS, tempdir: None, compression_level: 3 }
    }
}

/// Cell formats, created once: looking a format up is a hash of the whole
/// `Format`, so the same four are reused for every cell.
struct Formats {
    header: Format,
    /// Whole amounts: `1,250`.
    whole: Format,
    /// Fractional amounts with up to six decimals: `12.5`, `0.000001`. A
    /// separate format from `whole` because Excel's `0.######` leaves a
    /// dangling point on whole numbers (`1,250.`).
    fraction: Format,
    date: Format,
    integer: Format,
}

/// Writes events as rows of a workbook in one [`Layout`], times in one zone.
///
/// Call [`push`](Self::push) for each event in order, then
/// [`finish`](Self::finish), which writes the whole file into the sink and
/// returns it.
///
/// Cells: amounts and balances are number cells holding credits as `f64`
/// with a format of up to six decimals (a display value; the CSV holds the
/// exact decimal); times are date-time cells showing the organisation's
/// local time (`yyyy-mm-dd hh:mm:ss`; the zone is named in the workbook's
/// comment property since a cell cannot hold one); `seq` is an integer
/// number; everything else is text. Text longer than Excel's 32,767
/// characters is cut there and ends with `…`.
pub struct XlsxExporter<W: Write + Send> {
    sink: W,
    workbook: Workbook,
    /// Index of the sheet being written in the workbook.
    sheet: usize,
    sheets: u32,
    /// Next row to write in the current sheet (0 is the header).
    row: u32,
    rows_per_sheet: u32,
    layout: Layout,
    clock: LocalClock,
    /// UTC, for the events layout's `created_at`.
    utc: LocalClock,
    formats: Formats,
    rows: u64,
}

impl XlsxExporter<BufWriter<File>> {
    /// An export into a new file at `path` (created, or truncated).
    pub fn create(
        path: impl AsRef<Path>,
        layout: Layout,
        tz: TimeZone,
        options: XlsxOptions,
    ) -> Result<Self, ExportError> {
        let file = File::create(path)?;
        XlsxExporter::with_options(BufWriter::new(file), layout, tz, options)
    }
}

impl<W: Write + Send> XlsxExporter<W> {
    /// Starts an export with the default options (Excel's full row limit).
    pub fn new(sink: W, layout: Layout, tz: TimeZone) -> Result<Self, ExportError> {
        Self::with_options(sink, layout, tz, XlsxOptions::default())
    }

    pub fn with_options(sink: W, layout: Layout, tz: TimeZone, options: XlsxOptions) -> Result<Self, ExportError> {
        if !(2..=EXCEL_MAX_ROWS).contains(&options.rows_per_sheet) {
            return Err(ExportError::RowsPerSheet(options.rows_per_sheet));
        }
        let mut workbook = Workbook::new();
        if let Some(dir) = &options.tempdir {
            workbook.set_tempdir(dir)?;
        }
        workbook.set_zip_compression_level(options.compression_level.clamp(1, 9));
        // A zone without a name is a fixed offset; name that instead.
        let zone = tz.iana_name().map_or_else(|| tz.to_offset(Timestamp::now()).to_string(), str::to_string);
        workbook.set_properties(
            &DocProperties::new()
                .set_title("Credit history")
                .set_comment(format!("Times are local to {zone}. Amounts are in credits.")),
        );
        let formats = Formats {
            header: Format::new().set_bold(),
            whole: Format::new().set_num_format("#,##0"),
            fraction: Format::new().set_num_format("#,##0.######"),
            date: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            integer: Format::new().set_num_format("0"),
        };
        let mut exporter = XlsxExporter {
            sink,
            workbook,
            sheet: 0,
            sheets: 0,
            row: 0,
            rows_per_sheet: options.rows_per_sheet,
            layout,
            clock: LocalClock::new(tz),
            utc: LocalClock::new(TimeZone::UTC),
            formats,
            rows: 0,
        };
        exporter.new_sheet()?;
        Ok(exporter)
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Rows written so far, not counting headers.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Worksheets started so far (at least one).
    pub fn sheets(&self) -> u32 {
        self.sheets
    }

    fn new_sheet(&mut self) -> Result<(), XlsxError> {
        self.sheets += 1;
        let name = if self.sheets == 1 { "History".to_string() } else { format!("History {}", self.sheets) };
        let sheet = self.workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(name)?;
        for (col, (&title, &width)) in self.layout.headers().iter().zip(self.layout.widths()).enumerate() {
            sheet.set_column_width(col as u16, width)?;
            sheet.write_string_with_format(0, col as u16, title, &self.formats.header)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        self.sheet = self.workbook.worksheets().len() - 1;
        self.row = 1;
        Ok(())
    }

    /// Writes one event as one row, starting a new sheet when this one is full.
    pub fn push(&mut self, e: &Event) -> Result<(), ExportError> {
        self.push_ref(&e.view())
    }

    /// Writes one borrowed event (e.g. a database row) as one row: what
    /// [`push`](Self::push) writes for the same event.
    pub fn push_ref(&mut self, e: &EventRef<'_>) -> Result<(), ExportError> {
        if self.row >= self.rows_per_sheet {
            self.new_sheet()?;
        }
        let row = self.row;
        let sheet = self.workbook.worksheet_from_index(self.sheet)?;
        let mut cells =
            Cells { sheet, row, col: 0, clock: &mut self.clock, utc: &mut self.utc, formats: &self.formats };
        match self.layout {
            Layout::Report => {
                cells.text(e.project_name)?;
                cells.text(e.project_id)?;
                cells.text(e.user_name)?;
                cells.text(e.user_email)?;
                let (kind, amount) = report_kind_amount(e.kind, e.status, e.amount);
                cells.text(Some(&kind))?;
                cells.amount(amount)?;
                cells.time(e.created_at)?;
                cells.text(person_description(e).as_deref())?;
            }
            layout @ (Layout::Fpt | Layout::Events) => each_cell(layout, e, |cell| match cell {
                Cell::Text(t) => cells.text(t.as_deref()),
                Cell::Amount(m) => cells.amount(m),
                Cell::Local(ts) => cells.time(ts),
                Cell::Utc(ts) => cells.utc_time(ts),
            })?,
            Layout::Full => {
                match e.id {
                    Some(id) => cells.text(Some(id))?,
                    None => cells.text(Some(&Event::id_for(e.seq)))?,
                }
                cells.integer(e.seq)?;
                cells.time(e.created_at)?;
                cells.text(Some(e.kind.as_str()))?;
                cells.amount(e.amount)?;
                cells.text(e.pool.map(|p| p.as_str()))?;
                cells.text(Some(e.status.as_str()))?;
                cells.text(e.source)?;
                cells.text(e.service)?;
                cells.text(e.activity)?;
                cells.text(e.project_id)?;
                cells.text(e.project_name)?;
                cells.text(e.user_name)?;
                cells.text(e.user_email)?;
                cells.text(e.description)?;
                cells.text(e.code)?;
                cells.text(e.hold_id)?;
                cells.text(e.idempotency_key)?;
                cells.amount(e.balance_after)?;
                cells.amount(e.prepaid_balance_after)?;
                cells.amount(e.held_after)?;
                cells.amount(e.period_usage_after)?;
                match e.metadata {
                    None => cells.text(None)?,
                    Some(MetadataRef::Json(json)) => cells.text(Some(json))?,
                    Some(MetadataRef::Value(v)) => cells.text(Some(&v.to_string()))?,
                }
                match e.pricing {
                    None => cells.text(None)?,
                    Some(PricingRef::Json(json)) => cells.text(Some(json))?,
                    Some(p) => cells.text(Some(&p.json()))?,
                }
                match e.pools_after {
                    None => {
                        for _ in 0..3 {
                            cells.text(None)?;
                        }
                    }
                    Some(p) => {
                        cells.amount(p.plan)?;
                        cells.amount(p.voucher)?;
                        cells.amount(p.promotional)?;
                    }
                }
            }
        }
        self.row += 1;
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

    /// Assembles the workbook, writes it into the sink and returns the sink.
    /// This is where the time goes for a large export: the sheets' XML is
    /// compressed here.
    pub fn finish(mut self) -> Result<W, ExportError> {
        self.workbook.save_to_writer(&mut self.sink)?;
        self.sink.flush()?;
        Ok(self.sink)
    }
}

/// One row being written, cell by cell from the left.
struct Cells<'a> {
    sheet: &'a mut Worksheet,
    row: u32,
    col: u16,
    clock: &'a mut LocalClock,
    utc: &'a mut LocalClock,
    formats: &'a Formats,
}

impl Cells<'_> {
    fn text(&mut self, s: Option<&str>) -> Result<(), XlsxError> {
        if let Some(s) = s.filter(|s| !s.is_empty()) {
            // UTF-8 is never shorter than UTF-16 in code units, so only long
            // text needs counting.
            if s.len() > MAX_CELL_UTF16 {
                self.sheet.write_string(self.row, self.col, truncate_utf16(s))?;
            } else {
                self.sheet.write_string(self.row, self.col, s)?;
            }
        }
        self.col += 1;
        Ok(())
    }

    fn amount(&mut self, m: Micros) -> Result<(), XlsxError> {
        let format = if m.micros() % 1_000_000 == 0 { &self.formats.whole } else { &self.formats.fraction };
        self.sheet.write_number_with_format(self.row, self.col, micros_f64(m), format)?;
        self.col += 1;
        Ok(())
    }

    fn integer(&mut self, n: u64) -> Result<(), XlsxError> {
        self.sheet.write_number_with_format(self.row, self.col, n as f64, &self.formats.integer)?;
        self.col += 1;
        Ok(())
    }

    /// A date-time cell in UTC (the events layout's `created_at`).
    fn utc_time(&mut self, ts: Timestamp) -> Result<(), XlsxError> {
        let serial = self.utc.excel_serial(ts);
        self.sheet.write_number_with_format(self.row, self.col, serial, &self.formats.date)?;
        self.col += 1;
        Ok(())
    }

    fn time(&mut self, ts: Timestamp) -> Result<(), XlsxError> {
        let serial = self.clock.excel_serial(ts);
        self.sheet.write_number_with_format(self.row, self.col, serial, &self.formats.date)?;
        self.col += 1;
        Ok(())
    }
}

/// `s` cut to fit one Excel cell, ending with `…` to show it was cut.
fn truncate_utf16(s: &str) -> String {
    if s.encode_utf16().count() <= MAX_CELL_UTF16 {
        return s.to_string();
    }
    let mut units = 0;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        // Keep one unit for the ellipsis.
        if units > MAX_CELL_UTF16 - 1 {
            break;
        }
        end = i + c.len_utf8();
    }
    format!("{}…", &s[..end])
}
