//! Reading a full-layout CSV export back into events.
//!
//! A full export is the portable form of an organisation's history: it is
//! what an operator moves between installations and what an auditor checks.
//! So reading it back is strict. Every cell is parsed with the same rules the
//! ledger uses (exact amounts, known kinds, times with offsets), sequence
//! numbers must increase, and the balances must follow from one another the
//! way `creditd_core::verify::Verifier` replays them: each event's
//! `balance_after` and `held_after` are the previous event's plus
//! `Event::deltas()`. A file with anything wrong is refused whole, and the
//! error names every bad line (up to [`MAX_BAD_LINES`]) with its reason, so
//! a person can fix the file in one pass.

use std::fmt;
use std::io::Read;

use creditd_core::{AmountError, Event, EventKind, Micros, Pool, Status, UnknownName};
use jiff::Timestamp;

use crate::csv_export::unneutralise;
use crate::layout::{FULL_FILE_WIDTHS, FULL_HEADERS};

/// The most problems one [`ImportError`] lists; past it they are only
/// counted, so a file of garbage cannot make the error itself huge.
pub const MAX_BAD_LINES: usize = 1000;

/// What is wrong with one line of an import.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("the file is empty; expected the full layout's header ({})", FULL_HEADERS.join(","))]
    Empty,
    #[error("the header is not the full layout's: expected {expected}, found {found}")]
    Header { expected: String, found: String },
    #[error("wrong column count: expected {expected}, found {found}")]
    ColumnCount { expected: usize, found: usize },
    #[error("column {column}: not valid UTF-8")]
    Utf8 { column: &'static str },
    #[error("column {column}: is empty")]
    Missing { column: &'static str },
    #[error("column {column}: bad amount: {source}")]
    Amount { column: &'static str, source: AmountError },
    #[error("column {column}: {source}")]
    Name { column: &'static str, source: UnknownName },
    #[error("column {column}: bad time {text:?}: expected RFC 3339 with an offset, e.g. 2026-03-01T09:30:00+01:00")]
    Time { column: &'static str, text: String },
    #[error("column {column}: {text:?} has more than 6 decimal places of seconds; creditd keeps whole microseconds")]
    TimePrecision { column: &'static str, text: String },
    #[error("column seq: {text:?} is not a whole number above 0")]
    Seq { text: String },
    #[error("column metadata: not JSON: {reason}")]
    Metadata { reason: String },
    #[error("column pricing: not a pricing (price_key, quantity, unit, price_book, version …): {reason}")]
    Pricing { reason: String },
    #[error("columns plan_balance_after, voucher_balance_after, promotional_balance_after: all three or none")]
    Pools,
    #[error("seq not increasing: seq {seq} follows seq {previous}")]
    SeqNotIncreasing { seq: u64, previous: u64 },
    #[error("seq {seq} follows seq {previous}: events {} to {} are missing", previous + 1, seq - 1)]
    SeqGap { seq: u64, previous: u64 },
    #[error("balance_after is {stored} but the line before and this {kind} make it {expected}")]
    BalanceChain { kind: EventKind, stored: Micros, expected: Micros },
    #[error("held_after is {stored} but the line before and this {kind} make it {expected}")]
    HeldChain { kind: EventKind, stored: Micros, expected: Micros },
    #[error("held_after is negative ({0})")]
    HeldNegative(Micros),
    #[error("the amount overflows the balance")]
    Overflow,
}

/// A line of the file and what is wrong with it. A line may appear more than
/// once, once per problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number in the file (the header is line 1). A quoted cell
    /// spanning lines counts them, so this is what an editor shows.
    pub line: u64,
    pub error: LineError,
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.error)
    }
}

/// Why a file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The reader failed; nothing about the content is known.
    #[error("reading the CSV import: {0}")]
    Read(#[from] std::io::Error),
    /// The content is wrong; `lines` names each problem, `omitted` counts
    /// those past [`MAX_BAD_LINES`].
    #[error("{}", describe(lines, *omitted))]
    Invalid { lines: Vec<BadLine>, omitted: usize },
}

fn describe(lines: &[BadLine], omitted: usize) -> String {
    const SHOWN: usize = 20;
    let total = lines.len() + omitted;
    let mut text = format!("the CSV import has {total} problem{}:", if total == 1 { "" } else { "s" });
    for bad in lines.iter().take(SHOWN) {
        text.push_str("\n  ");
        text.push_str(&bad.to_string());
    }
    if total > SHOWN {
        text.push_str(&format!("\n  … and {} more", total - SHOWN));
    }
    text
}

/// How strict an import is beyond the per-line checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Refuse gaps in `seq`: the file must hold every event from its first
    /// one on, as a restore needs. Off, a gap is allowed (a filtered export,
    /// by kind or project, has them) and the balance chain is checked only
    /// between consecutive seqs; the first line after a gap starts a new
    /// chain. Either way seq 1 starts from zero balances.
    pub require_contiguous: bool,
}

/// Reads a file written by [`crate::CsvExporter`] with
/// [`crate::Layout::Full`] into events of organisation `org_id` (the file does
/// not name it). Gaps in `seq` are allowed; see [`ImportOptions`].
pub fn parse_full_csv<R: Read>(reader: R, org_id: &str) -> Result<Vec<Event>, ImportError> {
    parse_full_csv_with(reader, org_id, &ImportOptions::default())
}

/// [`parse_full_csv`] with options.
///
/// The whole file is read into memory first: the events it returns are
/// larger than the file anyway, and having the bytes lets each problem be
/// given the line an editor shows (the csv crate's own line count is off by
/// one after CRLF line ends).
pub fn parse_full_csv_with<R: Read>(
    mut reader: R,
    org_id: &str,
    options: &ImportOptions,
) -> Result<Vec<Event>, ImportError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    // `flexible` so a short or long line is reported with its number here
    // rather than ending the read with csv's own error.
    let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(&bytes[..]);
    let mut lines = Lines { bytes: &bytes, counted_to: 0, line: 1 };
    let mut record = csv::ByteRecord::new();
    let mut bad = Problems::default();
    let mut events = Vec::new();

    if !csv.read_byte_record(&mut record).map_err(std::io::Error::from)? {
        bad.push(1, LineError::Empty);
        return Err(bad.into_error());
    }
    // The csv crate strips a UTF-8 byte order mark, so a file saved by a
    // spreadsheet reads the same.
    // A file written before the `pricing` column, or before the pools'
    // columns, has the header without them.
    let width = record.len();
    if !FULL_FILE_WIDTHS.contains(&width) || record.iter().zip(FULL_HEADERS).any(|(got, want)| got != want.as_bytes()) {
        let found = record.iter().map(String::from_utf8_lossy).collect::<Vec<_>>().join(",");
        bad.push(lines.of(&record), LineError::Header { expected: FULL_HEADERS.join(","), found });
        return Err(bad.into_error());
    }

    let mut chain = Chain::default();
    let mut line_errors = Vec::new();
    while csv.read_byte_record(&mut record).map_err(std::io::Error::from)? {
        let line = lines.of(&record);
        line_errors.clear();
        let parsed = parse_row(&record, width, org_id, &mut line_errors);
        chain.check(&record, parsed.as_ref(), options, &mut line_errors);
        if line_errors.is_empty() {
            // Keep collecting only while the file can still succeed; after
            // the first problem, only problems matter.
            if bad.is_empty() {
                events.extend(parsed);
            }
        } else {
            for error in line_errors.drain(..) {
                bad.push(line, error);
            }
            events = Vec::new();
        }
    }
    if bad.is_empty() { Ok(events) } else { Err(bad.into_error()) }
}

/// Line numbers of records, counted from the bytes. Records come in file
/// order, so counting resumes where the last record left off.
struct Lines<'b> {
    bytes: &'b [u8],
    counted_to: usize,
    line: u64,
}

impl Lines<'_> {
    fn of(&mut self, record: &csv::ByteRecord) -> u64 {
        let Some(start) = record.position().map(|p| p.byte() as usize) else { return self.line };
        // csv places a record's start right after the previous record's
        // terminator byte, so the LF of a CRLF, or skipped blank lines, can
        // still lie before its first cell.
        let mut first = start.min(self.bytes.len());
        while first < self.bytes.len() && matches!(self.bytes[first], b'\r' | b'\n') {
            first += 1;
        }
        if first > self.counted_to {
            self.line += self.bytes[self.counted_to..first].iter().filter(|&&b| b == b'\n').count() as u64;
            self.counted_to = first;
        }
        self.line
    }
}

#[derive(Default)]
struct Problems {
    lines: Vec<BadLine>,
    omitted: usize,
}

impl Problems {
    fn push(&mut self, line: u64, error: LineError) {
        if self.lines.len() < MAX_BAD_LINES {
            self.lines.push(BadLine { line, error });
        } else {
            self.omitted += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.omitted == 0
    }

    fn into_error(self) -> ImportError {
        ImportError::Invalid { lines: self.lines, omitted: self.omitted }
    }
}

/// The order of seqs and the balance chain as far as they are known, like
/// `Verifier`'s fold, built so that a problem is reported on the line that
/// has it and never on a good line next to it.
///
/// After a line with a problem it is not known which of two readings is
/// right, so both are kept and the next line passes if it follows either:
/// - seq: the bad line's own seq (a real gap: later lines follow it), or the
///   last good seq with one more line of slack (a typo: later lines follow
///   the good ones, the bad line having taken one place);
/// - balances: the bad line's stored balances (its amount was wrong), or
///   the ones its amount makes (its stored balance was wrong).
///
/// A line whose balance cells cannot be read carries no balances on: the
/// next line's balances are then not checked.
#[derive(Default)]
struct Chain {
    /// (seq, lines of slack) the next seq may follow; empty before the first
    /// line whose seq could be read.
    seqs: Vec<(u64, u64)>,
    /// (seq, available, held) the next line's balances may follow.
    afters: Vec<(u64, Micros, Micros)>,
}

/// Readings kept apart: bounded, so a file of bad lines costs no more.
const MAX_READINGS: usize = 4;

impl Chain {
    fn check(
        &mut self,
        record: &csv::ByteRecord,
        e: Option<&Event>,
        options: &ImportOptions,
        errors: &mut Vec<LineError>,
    ) {
        // A line that failed to parse may still say where it stands.
        let (seq, stored) = match e {
            Some(e) => (Some(e.seq), Some((e.balance_after, e.held_after))),
            None => peek(record),
        };
        self.check_seq(seq, options, errors);
        let Some(seq) = seq else {
            self.afters.clear();
            return;
        };
        let Some(e) = e else {
            self.afters.clear();
            self.afters.extend(stored.map(|(a, h)| (seq, a, h)));
            return;
        };
        // Seq 1 is an organisation's first event: everything starts at zero.
        let before: Vec<(Micros, Micros)> = if e.seq == 1 {
            vec![(Micros::ZERO, Micros::ZERO)]
        } else {
            self.afters.iter().filter(|(s, ..)| s.checked_add(1) == Some(e.seq)).map(|&(_, a, h)| (a, h)).collect()
        };
        let (da, dh) = e.deltas();
        let made: Vec<Option<(Micros, Micros)>> =
            before.iter().map(|(a, h)| Some((a.checked_add(da)?, h.checked_add(dh)?))).collect();
        let follows = made.contains(&Some((e.balance_after, e.held_after)));
        let mut computed = None;
        if !follows {
            // Reported against the first reading: the line just before's own.
            match made.first() {
                None => {}
                Some(None) => errors.push(LineError::Overflow),
                Some(Some((a, h))) => {
                    if *a != e.balance_after {
                        errors.push(LineError::BalanceChain { kind: e.kind, stored: e.balance_after, expected: *a });
                    }
                    if *h != e.held_after {
                        errors.push(LineError::HeldChain { kind: e.kind, stored: e.held_after, expected: *h });
                    }
                    computed = Some((e.seq, *a, *h));
                }
            }
        }
        if e.held_after.is_negative() {
            errors.push(LineError::HeldNegative(e.held_after));
        }
        self.afters.clear();
        self.afters.push((e.seq, e.balance_after, e.held_after));
        self.afters.extend(computed);
    }

    fn check_seq(&mut self, seq: Option<u64>, options: &ImportOptions, errors: &mut Vec<LineError>) {
        let fits = |&(previous, slack): &(u64, u64)| match seq {
            Some(seq) => seq > previous && (!options.require_contiguous || seq - previous <= slack.saturating_add(1)),
            None => false,
        };
        if seq.is_some() && (self.seqs.is_empty() || self.seqs.iter().any(fits)) {
            self.seqs = seq.map(|s| vec![(s, 0)]).unwrap_or_default();
            return;
        }
        if let (Some(seq), Some(&(previous, _))) = (seq, self.seqs.first()) {
            errors.push(if seq <= previous {
                LineError::SeqNotIncreasing { seq, previous }
            } else {
                LineError::SeqGap { seq, previous }
            });
        }
        // Either this line's seq is right (later lines follow it) or it took
        // the place of the one after the last good seq.
        let mut next: Vec<(u64, u64)> = seq.map(|s| (s, 0)).into_iter().collect();
        for &(previous, slack) in &self.seqs {
            let slack = slack.saturating_add(1);
            if let Some(same) = next.iter_mut().find(|(s, _)| *s == previous) {
                // The same seq read both ways: the looser reading covers both.
                same.1 = same.1.max(slack);
            } else if next.len() < MAX_READINGS {
                next.push((previous, slack));
            }
        }
        self.seqs = next;
    }
}

/// The seq and stored balances of a line that did not parse whole, where
/// those cells can be read (no errors reported: `parse_row` has).
fn peek(record: &csv::ByteRecord) -> (Option<u64>, Option<(Micros, Micros)>) {
    if !FULL_FILE_WIDTHS.contains(&record.len()) {
        return (None, None);
    }
    let cell = |i: usize| record.get(i).and_then(|b| std::str::from_utf8(b).ok());
    let seq = cell(col::SEQ).filter(|s| s.bytes().all(|b| b.is_ascii_digit())).and_then(|s| s.parse::<u64>().ok());
    let amount = |i: usize| cell(i).and_then(|s| s.parse::<Micros>().ok());
    (seq.filter(|s| *s > 0), amount(col::BALANCE_AFTER).zip(amount(col::HELD_AFTER)))
}

/// Column indexes of the full layout, named so the parser reads like the
/// header.
mod col {
    pub const ID: usize = 0;
    pub const SEQ: usize = 1;
    pub const CREATED_AT: usize = 2;
    pub const KIND: usize = 3;
    pub const AMOUNT: usize = 4;
    pub const POOL: usize = 5;
    pub const STATUS: usize = 6;
    pub const SOURCE: usize = 7;
    pub const SERVICE: usize = 8;
    pub const ACTIVITY: usize = 9;
    pub const PROJECT_ID: usize = 10;
    pub const PROJECT_NAME: usize = 11;
    pub const USER_NAME: usize = 12;
    pub const USER_EMAIL: usize = 13;
    pub const DESCRIPTION: usize = 14;
    pub const CODE: usize = 15;
    pub const HOLD_ID: usize = 16;
    pub const IDEMPOTENCY_KEY: usize = 17;
    pub const BALANCE_AFTER: usize = 18;
    pub const PREPAID_BALANCE_AFTER: usize = 19;
    pub const HELD_AFTER: usize = 20;
    pub const PERIOD_USAGE_AFTER: usize = 21;
    pub const METADATA: usize = 22;
    pub const PRICING: usize = 23;
    pub const PLAN_BALANCE_AFTER: usize = 24;
}

/// One line's cells, each parsed on its own so that every bad cell of the
/// line is reported, not just the first.
struct Row<'r, 'e> {
    record: &'r csv::ByteRecord,
    errors: &'e mut Vec<LineError>,
}

impl<'r> Row<'r, '_> {
    fn str(&mut self, i: usize) -> Option<&'r str> {
        let bytes = self.record.get(i).unwrap_or_default();
        match std::str::from_utf8(bytes) {
            Ok(s) => Some(s),
            Err(_) => {
                self.errors.push(LineError::Utf8 { column: FULL_HEADERS[i] });
                None
            }
        }
    }

    /// A text cell: empty is `None`, a defused formula gets its quote back
    /// off, and a lone `'` is the empty text (`Some("")`, see the exporter's
    /// `full_text`).
    fn text(&mut self, i: usize) -> Option<String> {
        self.str(i).filter(|s| !s.is_empty()).map(|s| unneutralise(s).to_string())
    }

    fn amount(&mut self, i: usize) -> Option<Micros> {
        let s = self.str(i)?;
        match s.parse() {
            Ok(m) => Some(m),
            Err(source) => {
                self.errors.push(LineError::Amount { column: FULL_HEADERS[i], source });
                None
            }
        }
    }

    /// An amount cell that may be empty: `Some(None)` when it is, `None`
    /// (the error noted) when it is not an amount.
    fn optional_amount(&mut self, i: usize) -> Option<Option<Micros>> {
        if self.record.get(i).is_none_or(|b| b.is_empty()) {
            return Some(None);
        }
        self.amount(i).map(Some)
    }

    fn name<T: std::str::FromStr<Err = UnknownName>>(&mut self, i: usize) -> Option<T> {
        let s = self.str(i)?;
        match s.parse() {
            Ok(v) => Some(v),
            Err(source) => {
                self.errors.push(LineError::Name { column: FULL_HEADERS[i], source });
                None
            }
        }
    }
}

/// Some(event) if every cell parsed; otherwise the reasons are in `errors`.
fn parse_row(record: &csv::ByteRecord, width: usize, org_id: &str, errors: &mut Vec<LineError>) -> Option<Event> {
    if record.len() != width {
        errors.push(LineError::ColumnCount { expected: width, found: record.len() });
        return None;
    }
    let mut row = Row { record, errors };

    let id = row.text(col::ID);
    if id.as_deref().is_none_or(str::is_empty) && row.str(col::ID).is_some() {
        row.errors.push(LineError::Missing { column: "id" });
    }
    let seq = row.str(col::SEQ).and_then(|s| match s.parse::<u64>() {
        Ok(n) if n > 0 && s.bytes().all(|b| b.is_ascii_digit()) => Some(n),
        _ => {
            row.errors.push(LineError::Seq { text: s.to_string() });
            None
        }
    });
    let created_at = row.str(col::CREATED_AT).and_then(|s| match s.parse::<Timestamp>() {
        // Stored as microseconds: a finer time would not read back as written.
        Ok(t) if t.subsec_nanosecond() % 1000 != 0 => {
            row.errors.push(LineError::TimePrecision { column: "created_at", text: s.to_string() });
            None
        }
        Ok(t) => Some(t),
        Err(_) => {
            row.errors.push(LineError::Time { column: "created_at", text: s.to_string() });
            None
        }
    });
    let kind: Option<EventKind> = row.name(col::KIND);
    let amount = row.amount(col::AMOUNT);
    let pool: Option<Option<Pool>> = match row.str(col::POOL) {
        Some("") => Some(None),
        Some(_) => row.name(col::POOL).map(Some),
        None => None,
    };
    let status: Option<Status> = row.name(col::STATUS);
    let source = row.text(col::SOURCE);
    let service = row.text(col::SERVICE);
    let activity = row.text(col::ACTIVITY);
    let project_id = row.text(col::PROJECT_ID);
    let project_name = row.text(col::PROJECT_NAME);
    let user_name = row.text(col::USER_NAME);
    let user_email = row.text(col::USER_EMAIL);
    let description = row.text(col::DESCRIPTION);
    let code = row.text(col::CODE);
    let hold_id = row.text(col::HOLD_ID);
    let idempotency_key = row.text(col::IDEMPOTENCY_KEY);
    let balance_after = row.amount(col::BALANCE_AFTER);
    let prepaid_balance_after = row.amount(col::PREPAID_BALANCE_AFTER);
    let held_after = row.amount(col::HELD_AFTER);
    let period_usage_after = row.amount(col::PERIOD_USAGE_AFTER);
    let metadata = match row.text(col::METADATA) {
        None => Some(None),
        Some(json) => match serde_json::from_str(&json) {
            Ok(v) => Some(Some(v)),
            Err(e) => {
                row.errors.push(LineError::Metadata { reason: e.to_string() });
                None
            }
        },
    };
    let pricing = match (width > col::PRICING).then(|| row.text(col::PRICING)).flatten() {
        None => Some(None),
        Some(json) => match serde_json::from_str(&json) {
            Ok(v) => Some(Some(v)),
            Err(e) => {
                row.errors.push(LineError::Pricing { reason: e.to_string() });
                None
            }
        },
    };

    // The pools after the event: all three or none (an older file, or an
    // event written before they were recorded).
    let pools_after = if width > col::PLAN_BALANCE_AFTER {
        let cells: Vec<Option<Micros>> =
            (0..3).map(|i| row.optional_amount(col::PLAN_BALANCE_AFTER + i)).collect::<Option<_>>()?;
        match cells[..] {
            [Some(plan), Some(voucher), Some(promotional)] => {
                Some(creditd_core::FreePools { plan, voucher, promotional })
            }
            [None, None, None] => None,
            _ => {
                row.errors.push(LineError::Pools);
                return None;
            }
        }
    } else {
        None
    };

    if !row.errors.is_empty() {
        return None;
    }
    Some(Event {
        id: id?,
        org_id: org_id.to_string(),
        seq: seq?,
        created_at: created_at?,
        kind: kind?,
        amount: amount?,
        pool: pool?,
        status: status?,
        source,
        service,
        activity,
        project_id,
        project_name,
        user_name,
        user_email,
        description,
        code,
        hold_id,
        idempotency_key,
        balance_after: balance_after?,
        prepaid_balance_after: prepaid_balance_after?,
        held_after: held_after?,
        period_usage_after: period_usage_after?,
        metadata: metadata?,
        pricing: pricing?,
        pools_after,
    })
}
