//! creditd-export's tests: every file written is read back by an independent
//! reader (the csv crate, calamine) and compared with the events.

use calamine::{Data, Reader, Xlsx, open_workbook};
use creditd_core::{Event, EventKind, Micros, Pool, Status};
use creditd_export::{
    CsvExporter, FULL_HEADERS, ImportError, ImportOptions, Layout, LineError, REPORT_HEADERS, XlsxExporter,
    XlsxOptions, content_disposition, filename, neutralise, parse_full_csv, parse_full_csv_with,
};
use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;

const ORG: &str = "acme";

fn madrid() -> TimeZone {
    TimeZone::get("Europe/Madrid").unwrap()
}

fn credits(text: &str) -> Micros {
    text.parse().unwrap()
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Builds a consistent history: each event's balances follow from the one
/// before it the way the ledger's `Event::deltas()` says.
struct History {
    events: Vec<Event>,
    available: Micros,
    held: Micros,
    prepaid: Micros,
    usage: Micros,
}

impl History {
    fn new() -> Self {
        History {
            events: Vec::new(),
            available: Micros::ZERO,
            held: Micros::ZERO,
            prepaid: Micros::ZERO,
            usage: Micros::ZERO,
        }
    }

    /// Adds an event; `edit` fills the descriptive fields before the
    /// balances are computed.
    fn add(&mut self, kind: EventKind, amount: &str, at: &str, edit: impl FnOnce(&mut Event)) -> &mut Self {
        let seq = self.events.len() as u64 + 1;
        let mut e = Event {
            id: Event::id_for(seq),
            org_id: ORG.to_string(),
            seq,
            created_at: ts(at),
            kind,
            amount: credits(amount),
            pool: None,
            status: Status::Succeeded,
            source: None,
            service: None,
            activity: None,
            project_id: None,
            project_name: None,
            user_name: None,
            user_email: None,
            description: None,
            code: None,
            hold_id: None,
            idempotency_key: None,
            balance_after: Micros::ZERO,
            prepaid_balance_after: Micros::ZERO,
            held_after: Micros::ZERO,
            period_usage_after: Micros::ZERO,
            metadata: None,
            pricing: None,
            pools_after: None,
        };
        edit(&mut e);
        let (da, dh) = e.deltas();
        self.available = self.available.checked_add(da).unwrap();
        self.held = self.held.checked_add(dh).unwrap();
        if e.pool == Some(Pool::Prepaid) {
            self.prepaid = self.prepaid.checked_add(da).unwrap();
        }
        if matches!(kind, EventKind::Debit | EventKind::Usage) {
            self.usage = self.usage.checked_add(e.amount.abs()).unwrap();
        }
        e.balance_after = self.available;
        e.held_after = self.held;
        e.prepaid_balance_after = self.prepaid;
        e.period_usage_after = self.usage;
        self.events.push(e);
        self
    }
}

/// A history that touches every column: text with commas, quotes, newlines
/// and non-ASCII letters, fractional amounts and seconds, both sides of a
/// daylight-saving change, metadata.
fn sample() -> Vec<Event> {
    let mut h = History::new();
    h.add(EventKind::Grant, "100", "2026-01-01T08:00:00Z", |e| {
        e.pool = Some(Pool::Promotional);
        e.source = Some("System".into());
        e.description = Some("Welcome credits".into());
        e.idempotency_key = Some("grant-1".into());
    })
    .add(EventKind::Purchase, "50.25", "2026-02-10T23:30:00Z", |e| {
        e.pool = Some(Pool::Prepaid);
        e.source = Some("Stripe".into());
        e.description = Some("Top-up, 50.25 credits \"starter\" pack".into());
        e.metadata = Some(serde_json::json!({"invoice": "in_1", "lines": [1, 2.5, null], "paid": true}));
    })
    .add(EventKind::Purchase, "10", "2026-02-11T00:00:00Z", |e| {
        e.pool = Some(Pool::Prepaid);
        e.status = Status::Processing;
        e.source = Some("PayPal".into());
    })
    .add(EventKind::Hold, "-12.5", "2026-03-29T00:59:59.25Z", |e| {
        e.project_id = Some("case_42".into());
        e.project_name = Some("Villa Núñez, phase 2".into());
        e.user_name = Some("José Núñez".into());
        e.user_email = Some("jose@example.com".into());
        e.service = Some("AI Inference".into());
        e.activity = Some("Generate model".into());
        e.hold_id = Some("hold_1".into());
        e.description = Some("Model generation\nrequested".into());
    })
    .add(EventKind::Debit, "-12.5", "2026-03-29T01:00:00Z", |e| {
        e.project_id = Some("case_42".into());
        e.project_name = Some("Villa Núñez, phase 2".into());
        e.user_name = Some("José Núñez".into());
        e.user_email = Some("jose@example.com".into());
        e.hold_id = Some("hold_1".into());
        e.description = Some("First download".into());
    })
    .add(EventKind::Hold, "-0.000001", "2026-07-15T12:00:00.123456Z", |e| {
        e.project_id = Some("case_7".into());
        e.project_name = Some("Case 7".into());
        e.user_name = Some("Ann".into());
        e.user_email = Some("ann@example.com".into());
        e.hold_id = Some("hold_2".into());
    })
    .add(EventKind::Release, "0.000001", "2026-07-15T12:05:00Z", |e| {
        e.project_id = Some("case_7".into());
        e.project_name = Some("Case 7".into());
        e.user_name = Some("Ann".into());
        e.user_email = Some("ann@example.com".into());
        e.hold_id = Some("hold_2".into());
        e.description = Some("Model rejected".into());
    })
    .add(EventKind::Voucher, "5", "2026-10-25T00:30:00Z", |e| {
        e.pool = Some(Pool::Voucher);
        e.code = Some("WELCOME5".into());
        e.source = Some("Voucher".into());
        e.description = Some(String::new());
        e.activity = Some("'".into());
    })
    .add(EventKind::Usage, "-3.75", "2026-10-25T01:30:00Z", |e| {
        e.service = Some("GPU Container".into());
        e.activity = Some("H100 x 2h".into());
        e.metadata = Some(serde_json::json!(null));
    })
    .add(EventKind::Adjustment, "-1", "2026-12-31T23:59:59Z", |e| {
        e.description = Some("Goodwill correction".into());
        // Empty texts are not absent ones: the full layout keeps them apart.
        e.source = Some(String::new());
        e.user_name = Some(String::new());
        e.idempotency_key = Some(String::new());
    });
    h.events
}

fn export_csv(events: &[Event], layout: Layout, tz: TimeZone) -> Vec<u8> {
    let mut csv = CsvExporter::new(Vec::new(), layout, tz).unwrap();
    // In two chunks, as the server feeds it.
    let (a, b) = events.split_at(events.len() / 2);
    csv.push_all(a).unwrap();
    csv.flush().unwrap();
    csv.push_all(b).unwrap();
    assert_eq!(csv.rows(), events.len() as u64);
    csv.finish().unwrap()
}

fn read_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes);
    reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
}

/// The local time the way jiff writes it: the reference for ours.
fn local_text(t: Timestamp, tz: &TimeZone) -> String {
    t.display_with_offset(tz.to_offset(t)).to_string()
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

/// What a person reads for an event's Kind and Amount, said again here: a
/// processing or failed purchase is 0 with its status in the Kind, a debit
/// is 0 (its credits left the available balance with its hold), anything
/// else its amount.
fn person_kind_amount(e: &Event) -> (String, Micros) {
    match (e.kind, e.status) {
        (EventKind::Debit, Status::Succeeded) => ("Debit".to_string(), Micros::ZERO),
        (_, Status::Succeeded) => (e.kind.title().to_string(), e.amount),
        (_, other) => (format!("{} ({})", e.kind.title(), other.as_str()), Micros::ZERO),
    }
}

/// The Description a person reads: a debit's says what it captured.
fn person_text(e: &Event) -> String {
    if e.kind != EventKind::Debit {
        return opt(&e.description).to_string();
    }
    let note = format!(
        "{} credits captured from hold {}, counted when held",
        e.amount.checked_neg().unwrap(),
        opt(&e.hold_id)
    );
    match e.description.as_deref() {
        Some(d) if !d.is_empty() => format!("{d} ({note})"),
        _ => note,
    }
}

#[test]
fn report_csv_reads_back_field_by_field() {
    let events = sample();
    let bytes = export_csv(&events, Layout::Report, madrid());
    let rows = read_csv(&bytes);
    assert_eq!(rows[0], REPORT_HEADERS);
    assert_eq!(rows.len(), events.len() + 1);
    for (row, e) in rows[1..].iter().zip(&events) {
        assert_eq!(row.len(), 8);
        assert_eq!(row[0], opt(&e.project_name), "Case Name of {}", e.id);
        assert_eq!(row[1], opt(&e.project_id), "Case ID of {}", e.id);
        assert_eq!(row[2], opt(&e.user_name), "User's Name of {}", e.id);
        assert_eq!(row[3], opt(&e.user_email), "Email of {}", e.id);
        // Credits that have not arrived (a processing purchase) read as 0,
        // with the status in the Kind cell; a debit reads as 0 (its credits
        // left with the hold); everything else verbatim.
        let (kind, amount) = person_kind_amount(e);
        assert_eq!(row[4], kind, "Kind of {}", e.id);
        assert_eq!(row[5], amount.to_string(), "Amount of {}", e.id);
        assert_eq!(row[5].parse::<Micros>().unwrap(), amount);
        assert_eq!(row[6], local_text(e.created_at, &madrid()), "Created At of {}", e.id);
        assert_eq!(row[6].parse::<Timestamp>().unwrap(), e.created_at);
        assert_eq!(row[7], person_text(e), "Description of {}", e.id);
    }
    // Genira's four kinds read as Genira writes them.
    let kinds: Vec<&str> = rows[1..].iter().map(|r| r[4].as_str()).collect();
    for word in ["Grant", "Hold", "Debit", "Release"] {
        assert!(kinds.contains(&word), "{word} in {kinds:?}");
    }
}

/// A purchase of 7,000 that was processing and then failed, and one of 300
/// that was processing and then succeeded.
fn settled_purchases() -> Vec<Event> {
    let mut h = History::new();
    let purchase = |status: Status, id: &'static str| {
        move |e: &mut Event| {
            e.pool = Some(Pool::Prepaid);
            e.status = status;
            e.hold_id = Some(id.into());
            e.description = Some("Top-up".into());
        }
    };
    h.add(EventKind::Purchase, "7000", "2026-05-01T10:00:00Z", purchase(Status::Processing, "pur_1"))
        .add(EventKind::Purchase, "7000", "2026-05-01T10:05:00Z", purchase(Status::Failed, "pur_1"))
        .add(EventKind::Purchase, "300", "2026-05-02T10:00:00Z", purchase(Status::Processing, "pur_3"))
        .add(EventKind::Purchase, "300", "2026-05-02T10:05:00Z", purchase(Status::Succeeded, "pur_3"));
    h.events
}

/// What the report must say for [`settled_purchases`]: no credit that never
/// arrived, the status where the layout has room for it (Kind), and the
/// succeeded purchase's 300 counted once.
const SETTLED_REPORT: [(&str, &str); 4] =
    [("Purchase (processing)", "0"), ("Purchase (failed)", "0"), ("Purchase (processing)", "0"), ("Purchase", "300")];

#[test]
fn report_shows_no_credits_for_failed_or_processing_purchases() {
    let events = settled_purchases();
    let rows = read_csv(&export_csv(&events, Layout::Report, madrid()));
    let got: Vec<(&str, &str)> = rows[1..].iter().map(|r| (r[4].as_str(), r[5].as_str())).collect();
    assert_eq!(got, SETTLED_REPORT);
    let total: Micros = rows[1..].iter().fold(Micros::ZERO, |t, r| t.checked_add(credits(&r[5])).unwrap());
    assert_eq!(total, credits("300"), "the report sums to the credits that arrived");
    // The rule is the one function the dashboard calls too.
    for (e, (kind, amount)) in events.iter().zip(SETTLED_REPORT) {
        let (k, a) = creditd_export::report_kind_amount(e.kind, e.status, e.amount);
        assert_eq!((k.as_ref(), a), (kind, credits(amount)));
    }

    // Excel: the same cells, the amount a number.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.xlsx");
    let mut x = XlsxExporter::create(&path, Layout::Report, madrid(), XlsxOptions::default()).unwrap();
    x.push_all(&events).unwrap();
    x.finish().unwrap();
    let sheets = read_xlsx(&path);
    let got: Vec<(String, f64)> = sheets[0].1[1..]
        .iter()
        .map(|r| (cell_text(&r[4]).to_string(), if let Data::Float(f) = r[5] { f } else { panic!("{:?}", r[5]) }))
        .collect();
    let want: Vec<(String, f64)> = SETTLED_REPORT.iter().map(|(k, a)| (k.to_string(), a.parse().unwrap())).collect();
    assert_eq!(got, want);

    // The full layout stays verbatim: amounts and statuses as stored.
    let full = read_csv(&export_csv(&events, Layout::Full, madrid()));
    let got: Vec<(&str, &str, &str)> =
        full[1..].iter().map(|r| (r[3].as_str(), r[4].as_str(), r[6].as_str())).collect();
    assert_eq!(
        got,
        [
            ("purchase", "7000", "processing"),
            ("purchase", "7000", "failed"),
            ("purchase", "300", "processing"),
            ("purchase", "300", "succeeded")
        ]
    );
}

#[test]
fn csv_is_rfc_4180() {
    let events = sample();
    let bytes = export_csv(&events, Layout::Report, madrid());
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with("Case Name,Case ID,User's Name,Email,Kind,Amount,Created At,Description\r\n"));
    assert!(text.ends_with("\r\n"));
    // Every line break outside a quoted cell is CRLF.
    assert_eq!(text.matches('\n').count(), text.matches("\r\n").count() + 1, "only the quoted newline is bare");
    assert!(text.contains("\"Villa Núñez, phase 2\""), "comma quoted");
    assert!(text.contains("\"Model generation\nrequested\""), "newline quoted");
    let full = String::from_utf8(export_csv(&events, Layout::Full, madrid())).unwrap();
    assert!(full.contains("\"Top-up, 50.25 credits \"\"starter\"\" pack\""), "quotes doubled");
    assert!(full.starts_with(&format!("{}\r\n", FULL_HEADERS.join(","))));
}

#[test]
fn full_csv_round_trips_to_identical_events() {
    let events = sample();
    let bytes = export_csv(&events, Layout::Full, madrid());
    let back = parse_full_csv(&bytes[..], ORG).unwrap();
    assert_eq!(back.len(), events.len());
    for (b, e) in back.iter().zip(&events) {
        assert_eq!(b, e);
    }
    // Any zone gives the same instants.
    let utc = export_csv(&events, Layout::Full, TimeZone::UTC);
    assert_eq!(parse_full_csv(&utc[..], ORG).unwrap(), events);
    let nepal = export_csv(&events, Layout::Full, TimeZone::get("Asia/Kathmandu").unwrap());
    assert_eq!(parse_full_csv(&nepal[..], ORG).unwrap(), events);
}

#[test]
fn amounts_are_exact_decimal_text() {
    let values = [
        0,
        1,
        -1,
        10,
        999_999,
        1_000_000,
        -1_000_000,
        12_500_000,
        -12_500_000,
        1_000_001,
        100_000,
        123_456_789_012,
        i64::MAX,
        i64::MIN,
        i64::MIN + 1,
    ];
    let mut events = sample();
    events.truncate(1);
    let template = events.pop().unwrap();
    let events: Vec<Event> = values
        .iter()
        .map(|&m| Event { amount: Micros::from_micros(m), balance_after: Micros::from_micros(m), ..template.clone() })
        .collect();
    let report = read_csv(&export_csv(&events, Layout::Report, TimeZone::UTC));
    let full = read_csv(&export_csv(&events, Layout::Full, TimeZone::UTC));
    for ((r, f), &m) in report[1..].iter().zip(&full[1..]).zip(&values) {
        let want = Micros::from_micros(m).to_string();
        assert_eq!(r[5], want);
        assert_eq!(f[4], want);
        assert_eq!(f[18], want);
    }
}

#[test]
fn formula_cells_are_neutralised_but_amounts_stay_numbers() {
    let mut h = History::new();
    h.add(EventKind::Grant, "20", "2026-05-01T10:00:00Z", |e| {
        e.project_name = Some("=cmd|' /C calc'!A0".into());
        e.project_id = Some("+x".into());
        e.user_name = Some("@x".into());
        e.user_email = Some("-x text".into());
        e.description = Some("\tx".into());
        e.source = Some("'already quoted".into());
    })
    .add(EventKind::Usage, "-12.5", "2026-05-01T11:00:00Z", |e| {
        e.project_name = Some("\rx".into());
        e.description = Some("=1+1".into());
        e.activity = Some("plain".into());
        e.metadata = Some(serde_json::json!(-5));
    });
    let events = h.events;

    let report = read_csv(&export_csv(&events, Layout::Report, madrid()));
    assert_eq!(report[1][0], "'=cmd|' /C calc'!A0");
    assert_eq!(report[1][1], "'+x");
    assert_eq!(report[1][2], "'@x");
    assert_eq!(report[1][3], "'-x text");
    assert_eq!(report[1][7], "'\tx");
    assert_eq!(report[2][0], "'\rx");
    assert_eq!(report[2][7], "'=1+1");
    // The negative amount is a number, not text.
    assert_eq!(report[2][5], "-12.5");
    assert_eq!(report[1][5], "20");

    let full = read_csv(&export_csv(&events, Layout::Full, madrid()));
    assert_eq!(full[1][7], "''already quoted", "a leading quote is doubled so the rule can be undone");
    assert_eq!(full[2][4], "-12.5");
    assert_eq!(full[2][18], "7.5");
    assert_eq!(full[2][22], "'-5", "metadata JSON is text too");
    assert_eq!(full[2][9], "plain");

    // No cell of either layout starts like a formula unless it is an amount.
    let amount_cols = [4, 18, 19, 20, 21];
    for row in &full[1..] {
        for (i, cell) in row.iter().enumerate() {
            if !amount_cols.contains(&i) {
                assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "column {i}: {cell:?}");
            }
        }
    }

    // Undone on import, exactly.
    let bytes = export_csv(&events, Layout::Full, madrid());
    assert_eq!(parse_full_csv(&bytes[..], ORG).unwrap(), events);

    for (input, want) in [("=x", "'=x"), ("x=", "x="), ("", ""), ("'", "''"), ("-", "'-"), ("a-b", "a-b")] {
        assert_eq!(neutralise(input), want, "{input:?}");
    }
}

#[test]
fn times_use_the_zone_offset_in_summer_and_winter() {
    let tz = madrid();
    let cases = [
        // Winter, CET.
        ("2026-01-15T12:00:00Z", "2026-01-15T13:00:00+01:00"),
        ("2026-03-01T08:30:00Z", "2026-03-01T09:30:00+01:00"),
        // The spring change: 02:00 CET becomes 03:00 CEST at 01:00 UTC.
        ("2026-03-29T00:59:59Z", "2026-03-29T01:59:59+01:00"),
        ("2026-03-29T01:00:00Z", "2026-03-29T03:00:00+02:00"),
        // Summer, CEST.
        ("2026-07-15T12:00:00Z", "2026-07-15T14:00:00+02:00"),
        ("2026-07-15T22:30:00.5Z", "2026-07-16T00:30:00.5+02:00"),
        // The autumn change: 03:00 CEST becomes 02:00 CET at 01:00 UTC.
        ("2026-10-25T00:59:59Z", "2026-10-25T02:59:59+02:00"),
        ("2026-10-25T01:00:00Z", "2026-10-25T02:00:00+01:00"),
        ("2026-12-31T23:00:00Z", "2027-01-01T00:00:00+01:00"),
        ("1969-12-31T23:59:59.999Z", "1970-01-01T00:59:59.999+01:00"),
    ];
    let mut template = sample().remove(0);
    template.description = None;
    let mut forward: Vec<Event> =
        cases.iter().map(|(utc, _)| Event { created_at: ts(utc), ..template.clone() }).collect();
    // Newest first too, as the history is listed: the offset cache must
    // work in both directions.
    let mut backward = forward.clone();
    backward.reverse();
    for (events, order) in [(&mut forward, "oldest first"), (&mut backward, "newest first")] {
        let rows = read_csv(&export_csv(events, Layout::Report, tz.clone()));
        let mut got: Vec<(String, String)> =
            rows[1..].iter().zip(events.iter()).map(|(r, e)| (e.created_at.to_string(), r[6].clone())).collect();
        if order == "newest first" {
            got.reverse();
        }
        for ((utc, want), (_, text)) in cases.iter().zip(&got) {
            assert_eq!(text, want, "{utc} ({order})");
        }
    }
}

#[test]
fn times_match_jiff_across_zones_and_years() {
    // A deterministic spread of instants from 1970 to 2100, in zones with
    // odd offsets and half-hour DST, compared with jiff's own formatting.
    let zones = ["UTC", "Europe/Madrid", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe"];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut template = sample().remove(0);
    template.description = None;
    let events: Vec<Event> = (0..3000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let secs = (x % 4_102_444_800) as i64;
            let nanos = if x.is_multiple_of(3) { (x % 1_000_000_000) as i32 } else { 0 };
            Event { created_at: Timestamp::new(secs, nanos).unwrap(), ..template.clone() }
        })
        .collect();
    for name in zones {
        let tz = TimeZone::get(name).unwrap();
        let rows = read_csv(&export_csv(&events, Layout::Report, tz.clone()));
        for (row, e) in rows[1..].iter().zip(&events) {
            assert_eq!(row[6], local_text(e.created_at, &tz), "{name} at {}", e.created_at);
        }
    }
}

/// Excel's serial of the local wall-clock time, computed with jiff.
fn excel_serial(t: Timestamp, tz: &TimeZone) -> f64 {
    let local = t.to_zoned(tz.clone()).datetime();
    let days = local.date().since(date(1899, 12, 30)).unwrap().get_days() as f64;
    let secs = local.time().hour() as f64 * 3600.0 + local.time().minute() as f64 * 60.0 + local.time().second() as f64;
    let ms = (local.time().subsec_nanosecond() / 1_000_000) as f64;
    days + (secs * 1000.0 + ms) / 86_400_000.0
}

fn cell_text(cell: &Data) -> &str {
    match cell {
        Data::String(s) => s,
        Data::Empty => "",
        other => panic!("expected text, found {other:?}"),
    }
}

fn read_xlsx(path: &std::path::Path) -> Vec<(String, Vec<Vec<Data>>)> {
    let mut book: Xlsx<_> = open_workbook(path).unwrap();
    book.sheet_names()
        .into_iter()
        .map(|name| {
            let range = book.worksheet_range(&name).unwrap();
            // Cells are addressed from A1 even if leading columns are empty.
            let width = range.end().map_or(0, |(_, c)| c as usize + 1);
            let rows = range
                .rows()
                .map(|r| {
                    let mut row = r.to_vec();
                    row.resize(width, Data::Empty);
                    row
                })
                .collect();
            (name, rows)
        })
        .collect()
}

#[test]
fn xlsx_report_holds_the_same_rows_with_types() {
    let events = sample();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.xlsx");
    let options = XlsxOptions { tempdir: Some(dir.path().to_path_buf()), ..XlsxOptions::default() };
    let mut xlsx = XlsxExporter::create(&path, Layout::Report, madrid(), options).unwrap();
    xlsx.push_all(&events).unwrap();
    assert_eq!(xlsx.rows(), events.len() as u64);
    xlsx.finish().unwrap();

    let sheets = read_xlsx(&path);
    assert_eq!(sheets.len(), 1);
    let (name, rows) = &sheets[0];
    assert_eq!(name, "History");
    let header: Vec<&str> = rows[0].iter().map(cell_text).collect();
    assert_eq!(header, REPORT_HEADERS);
    assert_eq!(rows.len(), events.len() + 1);
    for (row, e) in rows[1..].iter().zip(&events) {
        assert_eq!(cell_text(&row[0]), opt(&e.project_name));
        assert_eq!(cell_text(&row[1]), opt(&e.project_id));
        assert_eq!(cell_text(&row[2]), opt(&e.user_name));
        assert_eq!(cell_text(&row[3]), opt(&e.user_email));
        let (kind, amount) = person_kind_amount(e);
        assert_eq!(cell_text(&row[4]), kind);
        match &row[5] {
            Data::Float(f) => assert_eq!(*f, amount.micros() as f64 / 1e6, "Amount of {}", e.id),
            other => panic!("Amount of {} is {other:?}, not a number", e.id),
        }
        match &row[6] {
            Data::DateTime(dt) => {
                assert!(dt.is_datetime(), "Created At of {} is a date-time", e.id);
                let want = excel_serial(e.created_at, &madrid());
                assert!((dt.as_f64() - want).abs() < 1e-9, "Created At of {}: {} vs {want}", e.id, dt.as_f64());
            }
            other => panic!("Created At of {} is {other:?}, not a date-time", e.id),
        }
        assert_eq!(cell_text(&row[7]), person_text(e));
    }
    // 2026-07-15T12:00:00.123Z is 14:00:00.123 in Madrid.
    let Data::DateTime(summer) = &rows[6][6] else { panic!() };
    let want = 46218.0 + (14.0 * 3600.0 + 0.123) / 86400.0;
    assert!((summer.as_f64() - want).abs() < 1e-9, "{} vs {want}", summer.as_f64());
}

#[test]
fn xlsx_full_layout_types() {
    let events = sample();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.xlsx");
    // Into any Write + Send sink, here a Vec.
    let mut xlsx = XlsxExporter::new(Vec::new(), Layout::Full, madrid()).unwrap();
    xlsx.push_all(&events).unwrap();
    let bytes = xlsx.finish().unwrap();
    std::fs::write(&path, bytes).unwrap();

    let sheets = read_xlsx(&path);
    let rows = &sheets[0].1;
    let header: Vec<&str> = rows[0].iter().map(cell_text).collect();
    assert_eq!(header, FULL_HEADERS);
    for (row, e) in rows[1..].iter().zip(&events) {
        assert_eq!(cell_text(&row[0]), e.id);
        assert_eq!(row[1], Data::Float(e.seq as f64));
        assert!(matches!(&row[2], Data::DateTime(dt) if dt.is_datetime()));
        assert_eq!(cell_text(&row[3]), e.kind.as_str());
        assert_eq!(row[4], Data::Float(e.amount.micros() as f64 / 1e6));
        assert_eq!(cell_text(&row[5]), e.pool.map_or("", |p| p.as_str()));
        assert_eq!(cell_text(&row[6]), e.status.as_str());
        assert_eq!(row[18], Data::Float(e.balance_after.micros() as f64 / 1e6));
        assert_eq!(row[20], Data::Float(e.held_after.micros() as f64 / 1e6));
        assert_eq!(cell_text(&row[22]), e.metadata.as_ref().map(|m| m.to_string()).unwrap_or_default());
    }
}

#[test]
fn xlsx_splits_into_sheets_at_the_row_limit() {
    let events = sample(); // 10 events
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("split.xlsx");
    // 4 rows per sheet: a header and 3 events.
    let options = XlsxOptions { rows_per_sheet: 4, ..XlsxOptions::default() };
    let mut xlsx = XlsxExporter::create(&path, Layout::Report, madrid(), options).unwrap();
    for e in &events {
        xlsx.push(e).unwrap();
    }
    assert_eq!(xlsx.sheets(), 4);
    xlsx.finish().unwrap();

    let sheets = read_xlsx(&path);
    let names: Vec<&str> = sheets.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["History", "History 2", "History 3", "History 4"]);
    let mut seen = Vec::new();
    for (name, rows) in &sheets {
        let header: Vec<&str> = rows[0].iter().map(cell_text).collect();
        assert_eq!(header, REPORT_HEADERS, "header of {name}");
        assert!(rows.len() <= 4, "{name} has {} rows", rows.len());
        seen.extend(rows[1..].iter().map(|r| r[5].clone()));
    }
    let want: Vec<Data> = events
        .iter()
        .map(|e| creditd_export::report_kind_amount(e.kind, e.status, e.amount).1)
        .map(|amount| Data::Float(amount.micros() as f64 / 1e6))
        .collect();
    assert_eq!(seen, want, "every row once, in order");

    for bad in [0, 1, 1_048_577] {
        let options = XlsxOptions { rows_per_sheet: bad, ..XlsxOptions::default() };
        assert!(XlsxExporter::new(Vec::new(), Layout::Report, madrid()).is_ok());
        assert!(XlsxExporter::with_options(Vec::new(), Layout::Report, madrid(), options).is_err(), "{bad}");
    }
}

#[test]
fn xlsx_cuts_text_at_excels_cell_limit() {
    let mut events = sample();
    events.truncate(2);
    // 40,000 characters, some outside the BMP (two UTF-16 units each).
    events[0].description = Some("ab😀".repeat(10_000));
    events[1].description = Some("x".repeat(32_767));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.xlsx");
    let mut xlsx = XlsxExporter::create(&path, Layout::Report, madrid(), XlsxOptions::default()).unwrap();
    xlsx.push_all(&events).unwrap();
    xlsx.finish().unwrap();
    let rows = &read_xlsx(&path)[0].1;
    let cut = cell_text(&rows[1][7]);
    assert_eq!(cut.encode_utf16().count(), 32_767);
    assert!(cut.ends_with('…'));
    assert!(events[0].description.as_ref().unwrap().starts_with(cut.trim_end_matches('…')));
    assert_eq!(cell_text(&rows[2][7]), events[1].description.as_deref().unwrap(), "at the limit: kept whole");
}

#[test]
fn empty_exports_have_only_the_header() {
    let csv = CsvExporter::new(Vec::new(), Layout::Report, madrid()).unwrap().finish().unwrap();
    assert_eq!(String::from_utf8(csv).unwrap(), format!("{}\r\n", REPORT_HEADERS.join(",")));
    let full = CsvExporter::new(Vec::new(), Layout::Full, madrid()).unwrap().finish().unwrap();
    assert_eq!(parse_full_csv(&full[..], ORG).unwrap(), Vec::<Event>::new());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.xlsx");
    XlsxExporter::create(&path, Layout::Report, madrid(), XlsxOptions::default()).unwrap().finish().unwrap();
    let sheets = read_xlsx(&path);
    assert_eq!(sheets.len(), 1);
    assert_eq!(sheets[0].1.len(), 1);
}

/// The full export of `sample()` as lines (each ending without CRLF), so a
/// test can spoil one. Line 5 of the file (the 4th event) spans two lines
/// because its description has a newline.
fn full_lines() -> Vec<String> {
    let text = String::from_utf8(export_csv(&sample(), Layout::Full, madrid())).unwrap();
    text.split("\r\n").filter(|l| !l.is_empty()).map(str::to_string).collect()
}

fn import(lines: &[String]) -> Result<Vec<Event>, ImportError> {
    let text = lines.iter().map(|l| format!("{l}\r\n")).collect::<String>();
    parse_full_csv(text.as_bytes(), ORG)
}

/// Replaces column `col` of CSV line `idx` (0-based in `lines`).
fn spoil(lines: &mut [String], idx: usize, col: usize, value: &str) {
    let mut record: Vec<String> = read_csv(lines[idx].as_bytes()).remove(0);
    record[col] = value.to_string();
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    w.write_record(&record).unwrap();
    lines[idx] = String::from_utf8(w.into_inner().unwrap()).unwrap().trim_end_matches("\r\n").to_string();
}

fn bad_lines(result: Result<Vec<Event>, ImportError>) -> Vec<(u64, LineError)> {
    match result {
        Err(ImportError::Invalid { lines, omitted }) => {
            assert_eq!(omitted, 0);
            lines.into_iter().map(|b| (b.line, b.error)).collect()
        }
        other => panic!("expected an invalid import, got {other:?}"),
    }
}

#[test]
fn import_names_the_bad_line_and_why() {
    // lines[0] is the header (file line 1); lines[k] is event k, on file
    // line k + 1, except that event 4's cell spans two lines, so events 5..
    // are on file line k + 2.
    let base = full_lines();
    assert_eq!(import(&base).unwrap(), sample());

    type Check = fn(&LineError) -> bool;
    let cases: &[(usize, usize, &str, u64, &str, Check)] = &[
        (2, 4, "12.5x", 3, "bad amount", |e| matches!(e, LineError::Amount { column: "amount", .. })),
        (2, 18, "1.0000001", 3, "more than 6 decimals", |e| {
            matches!(e, LineError::Amount { column: "balance_after", .. })
        }),
        (3, 3, "gift", 4, "unknown EventKind \"gift\"", |e| matches!(e, LineError::Name { column: "kind", .. })),
        (3, 5, "gold", 4, "unknown Pool", |e| matches!(e, LineError::Name { column: "pool", .. })),
        (6, 2, "2026-07-15 14:00:00", 8, "bad time", |e| matches!(e, LineError::Time { .. })),
        (6, 1, "x7", 8, "not a whole number", |e| matches!(e, LineError::Seq { .. })),
        (7, 22, "{not json", 9, "not JSON", |e| matches!(e, LineError::Metadata { .. })),
        (8, 1, "7", 10, "seq not increasing", |e| matches!(e, LineError::SeqNotIncreasing { seq: 7, previous: 7 })),
        // A changed amount no longer explains the stored balance.
        (9, 4, "-4", 11, "balance_after is 139 but the line before and this usage make it 138.75", |e| {
            matches!(e, LineError::BalanceChain { .. })
        }),
        (10, 20, "5", 12, "held_after is 5", |e| matches!(e, LineError::HeldChain { .. })),
        (1, 0, "", 2, "column id: is empty", |e| matches!(e, LineError::Missing { column: "id" })),
    ];
    let strict = ImportOptions { require_contiguous: true };
    for &(idx, col, value, line, reason, check) in cases {
        let mut lines = base.clone();
        spoil(&mut lines, idx, col, value);
        let err = import(&lines).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&format!("line {line}: ")), "{value:?} in column {col}: {message}");
        assert!(message.contains(reason), "{value:?} in column {col}: {message}");
        let bad = bad_lines(Err(err));
        assert!(bad.iter().all(|(l, _)| *l == line), "only line {line}: {bad:?}");
        assert!(bad.iter().any(|(_, e)| check(e)), "{value:?} in column {col}: {bad:?}");
        // The same with gaps refused, as `creditd import` reads: the line
        // after a bad one is not blamed for a gap the bad line left.
        let text = lines.iter().map(|l| format!("{l}\r\n")).collect::<String>();
        let bad = bad_lines(parse_full_csv_with(text.as_bytes(), ORG, &strict));
        assert!(bad.iter().all(|(l, _)| *l == line), "contiguous, only line {line}: {bad:?}");
        assert!(bad.iter().any(|(_, e)| check(e)), "contiguous, {value:?} in column {col}: {bad:?}");
    }

    // Wrong column count.
    let mut lines = base.clone();
    lines[2].push_str(",extra");
    assert_eq!(bad_lines(import(&lines)), [(3, LineError::ColumnCount { expected: 27, found: 28 })]);

    // Every bad line is named, not just the first.
    let mut lines = base.clone();
    spoil(&mut lines, 1, 4, "abc");
    spoil(&mut lines, 8, 3, "nope");
    let bad = bad_lines(import(&lines));
    let numbers: Vec<u64> = bad.iter().map(|(l, _)| *l).collect();
    assert_eq!(numbers, [2, 10]);
}

/// Several kinds of bad line in one file, some next to each other: each is
/// named once per problem, and no good line is named, with or without gaps
/// refused. A bad line can be wrong in two ways (a typo in its seq or a real
/// gap; its amount or its stored balance), so the line after it passes if
/// it follows either reading.
#[test]
fn import_blames_each_bad_line_and_no_good_one() {
    let base = full_lines();
    let strict = ImportOptions { require_contiguous: true };
    // (lines index, column, value): file line is index + 1 up to event 4,
    // index + 2 after it (event 4's description spans two lines).
    type Spoil = (usize, usize, &'static str);
    // (spoils, lines named, only with gaps refused): without that option a
    // seq that jumps ahead is allowed, so after a typo (99 for 5) the next
    // line is the one that goes backwards.
    let files: &[(&[Spoil], &[u64], bool)] = &[
        // The reported case: a bad amount on line 3, nothing on line 4.
        (&[(2, 4, "12.5x")], &[3], false),
        // A typo in seq (99 for 5): only its line, the next follows seq 4.
        (&[(5, 1, "99")], &[7], true),
        // A seq repeated: only its line.
        (&[(5, 1, "4")], &[7], false),
        // A stored balance edited: the next line follows the right balance.
        (&[(5, 18, "1000")], &[7], false),
        // An amount edited: the next line follows the stored balance.
        (&[(9, 4, "-3")], &[11], false),
        // Unreadable seq, bad kind, bad time, no id, side by side.
        (&[(4, 1, "four"), (5, 3, "gift"), (6, 2, "noon"), (7, 0, "")], &[5, 7, 8, 9], false),
        // Many at once.
        (
            &[(1, 4, "x"), (3, 1, "zz"), (5, 18, "1000"), (6, 2, "noon"), (9, 4, "-3"), (10, 5, "gold")],
            &[2, 4, 7, 8, 11, 12],
            false,
        ),
    ];
    for (spoils, want, strict_only) in files {
        let mut lines = base.clone();
        for &(idx, col, value) in *spoils {
            spoil(&mut lines, idx, col, value);
        }
        let text = lines.iter().map(|l| format!("{l}\r\n")).collect::<String>();
        let options = if *strict_only { vec![strict.clone()] } else { vec![ImportOptions::default(), strict.clone()] };
        for options in options {
            let bad = bad_lines(parse_full_csv_with(text.as_bytes(), ORG, &options));
            let mut named: Vec<u64> = bad.iter().map(|(l, _)| *l).collect();
            named.dedup();
            assert_eq!(named, *want, "{spoils:?}, {options:?}: {bad:?}");
        }
    }
    // A wrong column count is its own line's problem too.
    let mut lines = base.clone();
    lines[3].push_str(",extra");
    let text = lines.iter().map(|l| format!("{l}\r\n")).collect::<String>();
    let bad = bad_lines(parse_full_csv_with(text.as_bytes(), ORG, &strict));
    assert_eq!(bad, [(4, LineError::ColumnCount { expected: 27, found: 28 })]);
    // A real gap is still one: the line after the gap, and only it.
    let mut lines = base.clone();
    lines.remove(3);
    let text = lines.iter().map(|l| format!("{l}\r\n")).collect::<String>();
    let bad = bad_lines(parse_full_csv_with(text.as_bytes(), ORG, &strict));
    assert_eq!(bad, [(4, LineError::SeqGap { seq: 4, previous: 2 })]);
    // A time finer than a microsecond would not be stored as written.
    let mut lines = base.clone();
    spoil(&mut lines, 1, 2, "2026-01-01T09:00:00.0000001+01:00");
    let bad = bad_lines(import(&lines));
    assert!(matches!(bad[..], [(2, LineError::TimePrecision { column: "created_at", .. })]), "{bad:?}");
}

#[test]
fn import_checks_header_empty_file_gaps_and_bom() {
    assert_eq!(bad_lines(parse_full_csv(&b""[..], ORG)), [(1, LineError::Empty)]);
    let bad = bad_lines(parse_full_csv(&b"Case Name,Case ID\r\n"[..], ORG));
    assert!(matches!(bad[..], [(1, LineError::Header { .. })]), "{bad:?}");

    // A report-layout file is not a full one.
    let report = export_csv(&sample(), Layout::Report, madrid());
    assert!(parse_full_csv(&report[..], ORG).is_err());

    // A filtered export has gaps: allowed, unless asked for a whole history.
    let events: Vec<Event> = sample().into_iter().filter(|e| e.seq != 3).collect();
    let bytes = export_csv(&events, Layout::Full, madrid());
    assert_eq!(parse_full_csv(&bytes[..], ORG).unwrap(), events);
    let strict = ImportOptions { require_contiguous: true };
    let bad = bad_lines(parse_full_csv_with(&bytes[..], ORG, &strict));
    assert_eq!(bad, [(4, LineError::SeqGap { seq: 4, previous: 2 })]);

    // A history that does not start at seq 1 starts its chain at its first line.
    let events: Vec<Event> = sample().into_iter().skip(4).collect();
    let bytes = export_csv(&events, Layout::Full, madrid());
    assert_eq!(parse_full_csv(&bytes[..], ORG).unwrap(), events);

    // Seq 1 must start from zero.
    let mut events = sample();
    events[0].amount = credits("99");
    let bytes = export_csv(&events, Layout::Full, madrid());
    let bad = bad_lines(parse_full_csv(&bytes[..], ORG));
    assert!(matches!(bad[..], [(2, LineError::BalanceChain { .. })]), "{bad:?}");

    // A spreadsheet's UTF-8 byte order mark is ignored.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(export_csv(&sample(), Layout::Full, madrid()));
    assert_eq!(parse_full_csv(&bom[..], ORG).unwrap(), sample());

    // Bytes that are not UTF-8 are named, not a crash.
    let mut lines = full_lines();
    lines[1] = lines[1].replace("Welcome credits", "Welcome \u{FFFD}");
    let mut bytes: Vec<u8> = lines.iter().flat_map(|l| format!("{l}\r\n").into_bytes()).collect();
    let at = bytes.windows(3).position(|w| w == "\u{FFFD}".as_bytes()).unwrap();
    bytes.splice(at..at + 3, [0xFF]);
    let bad = bad_lines(parse_full_csv(&bytes[..], ORG));
    assert_eq!(bad, [(2, LineError::Utf8 { column: "description" })]);
}

#[test]
fn filenames_name_the_org_and_period() {
    let (from, to) = (date(2026, 1, 1), date(2026, 1, 31));
    for (org, ext, want) in [
        ("acme", "csv", "credit-history_acme_2026-01-01_2026-01-31.csv"),
        ("acme", "XLSX", "credit-history_acme_2026-01-01_2026-01-31.xlsx"),
        ("my org/..\\\"x", "csv", "credit-history_my_org_..__x_2026-01-01_2026-01-31.csv"),
        ("..hidden", ".csv", "credit-history_hidden_2026-01-01_2026-01-31.csv"),
        ("", "", "credit-history_org_2026-01-01_2026-01-31.bin"),
    ] {
        assert_eq!(filename(org, from, to, ext), want, "{org:?} {ext:?}");
    }
    assert_eq!(
        content_disposition(&filename("acme", from, to, "csv")),
        "attachment; filename=\"credit-history_acme_2026-01-01_2026-01-31.csv\""
    );
    assert_eq!(content_disposition("a\"b\\c\nñ.csv"), "attachment; filename=\"abc.csv\"");
    assert_eq!("full".parse::<Layout>().unwrap(), Layout::Full);
    assert_eq!("report".parse::<Layout>().unwrap(), Layout::Report);
    assert!("xlsx".parse::<Layout>().is_err());
}

/// An event as an engine hands a stored row over: the id left to be
/// derived from seq, the metadata as the JSON text stored.
fn as_row(e: &Event) -> (Option<String>, creditd_core::EventRef<'_>) {
    let json = e.metadata.as_ref().map(|m| m.to_string());
    let mut view = e.view();
    view.id = None;
    view.metadata = None;
    (json, view)
}

/// Rows borrowed from a store (`push_ref`, derived id, metadata as stored
/// text) are written byte for byte as the same `Event`s are, in both
/// layouts and both formats.
#[test]
fn borrowed_rows_write_what_events_write() {
    let events = sample();
    assert!(events.iter().all(|e| e.id == Event::id_for(e.seq)));
    for layout in [Layout::Report, Layout::Full] {
        let mut csv = CsvExporter::new(Vec::new(), layout, madrid()).unwrap();
        for e in &events {
            let (json, mut row) = as_row(e);
            row.metadata = json.as_deref().map(creditd_core::MetadataRef::Json);
            csv.push_ref(&row).unwrap();
        }
        let rows = csv.finish().unwrap();
        assert_eq!(String::from_utf8(rows).unwrap(), String::from_utf8(export_csv(&events, layout, madrid())).unwrap());

        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.xlsx"), dir.path().join("b.xlsx"));
        let mut x = XlsxExporter::create(&a, layout, madrid(), XlsxOptions::default()).unwrap();
        x.push_all(&events).unwrap();
        x.finish().unwrap();
        let mut x = XlsxExporter::create(&b, layout, madrid(), XlsxOptions::default()).unwrap();
        for e in &events {
            let (json, mut row) = as_row(e);
            row.metadata = json.as_deref().map(creditd_core::MetadataRef::Json);
            x.push_ref(&row).unwrap();
        }
        x.finish().unwrap();
        assert_eq!(read_xlsx(&a), read_xlsx(&b), "{layout:?}");
    }
}

/// The available balance's change over `events`, from their own balances.
fn available_change(events: &[Event]) -> Micros {
    let first = &events[0];
    let before = first.balance_after.checked_sub(first.deltas().0).unwrap();
    events.last().unwrap().balance_after.checked_sub(before).unwrap()
}

fn sum_column(rows: &[Vec<String>], col: usize) -> Micros {
    rows[1..].iter().fold(Micros::ZERO, |t, r| t.checked_add(credits(&r[col])).unwrap())
}

#[test]
fn fpt_layout_reads_as_seed_003_with_its_meanings() {
    let events = sample();
    let rows = read_csv(&export_csv(&events, Layout::Fpt, madrid()));
    assert_eq!(rows[0], ["Date", "Service", "Source", "Description", "Code", "Status", "Amount"]);
    assert_eq!(rows.len(), events.len() + 1);
    let row = |kind: EventKind, status: Status| {
        let i = events.iter().position(|e| e.kind == kind && e.status == status).unwrap();
        (&rows[i + 1], &events[i])
    };
    // A top-up: the payment gateway and its name.
    let (r, e) = row(EventKind::Purchase, Status::Succeeded);
    assert_eq!(
        (r[1].as_str(), r[2].as_str(), r[5].as_str(), r[6].as_str()),
        ("Payment Gateway", "Stripe", "Success", "50.25")
    );
    assert_eq!(r[0], local_text(e.created_at, &madrid()));
    // A processing top-up: nothing arrived yet.
    let (r, _) = row(EventKind::Purchase, Status::Processing);
    assert_eq!((r[2].as_str(), r[5].as_str(), r[6].as_str()), ("PayPal", "Processed", "0"));
    // A voucher: System, Voucher, its code.
    let (r, _) = row(EventKind::Voucher, Status::Succeeded);
    assert_eq!((r[1].as_str(), r[2].as_str(), r[4].as_str(), r[6].as_str()), ("System", "Voucher", "WELCOME5", "5"));
    // A charge: the service that used credits and the resource.
    let (r, _) = row(EventKind::Usage, Status::Succeeded);
    assert_eq!((r[1].as_str(), r[2].as_str(), r[6].as_str()), ("GPU Container", "H100 x 2h", "-3.75"));
    // A hold and its debit are one charge: the debit says what it captured.
    let (r, _) = row(EventKind::Hold, Status::Succeeded);
    assert_eq!(r[6], "-12.5");
    let (r, _) = row(EventKind::Debit, Status::Succeeded);
    assert_eq!(r[6], "0");
    assert_eq!(r[3], "First download (12.5 credits captured from hold hold_1, counted when held)");
    // Its amounts add up to what happened to the available balance.
    assert_eq!(sum_column(&rows, 6), available_change(&events));
}

#[test]
fn events_layout_reads_as_seed_001_and_counts_a_hold_once() {
    let events = sample();
    let rows = read_csv(&export_csv(&events, Layout::Events, madrid()));
    assert_eq!(
        rows[0],
        [
            "created_at",
            "event_type",
            "source",
            "project_id",
            "activity_name",
            "credits",
            "prepaid_balance_after",
            "period_usage_after",
            "metadata"
        ]
    );
    let types: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        types,
        [
            "grant",
            "prepaid_purchase",
            "prepaid_purchase",
            "reservation",
            "usage",
            "reservation",
            "reservation_released",
            "voucher",
            "usage",
            "adjustment"
        ]
    );
    for (r, e) in rows[1..].iter().zip(&events) {
        // UTC, as the seed says, and the same instant.
        assert!(r[0].ends_with("+00:00"), "{}", r[0]);
        assert_eq!(r[0].parse::<Timestamp>().unwrap(), e.created_at);
        assert_eq!(r[3], opt(&e.project_id));
        assert_eq!(r[6], e.prepaid_balance_after.to_string());
        assert_eq!(r[7], e.period_usage_after.to_string());
        // Every name reads back as a kind a filter finds (a debit as usage).
        let kind: EventKind = r[1].parse().unwrap();
        assert_eq!(kind, if e.kind == EventKind::Debit { EventKind::Usage } else { e.kind });
    }
    assert_eq!(rows[4][5], "-12.5", "the reservation takes the credits");
    assert_eq!(rows[5][5], "0", "its capture does not take them again");
    let meta: serde_json::Value = serde_json::from_str(&rows[5][8]).unwrap();
    assert_eq!(meta["captured"], "12.5");
    assert_eq!(meta["reservation"], "hold_1");
    // Stored metadata is kept as it is.
    let meta: serde_json::Value = serde_json::from_str(&rows[2][8]).unwrap();
    assert_eq!(meta["invoice"], "in_1");
    assert_eq!(sum_column(&rows, 5), available_change(&events));
}

#[test]
fn report_amounts_add_up_to_the_available_change() {
    let events = sample();
    let rows = read_csv(&export_csv(&events, Layout::Report, madrid()));
    assert_eq!(sum_column(&rows, 5), available_change(&events));
    // A debit's own metadata keeps its keys beside the note in seed 001's log.
    let mut h = History::new();
    h.add(EventKind::Grant, "10", "2026-01-01T00:00:00Z", |_| {})
        .add(EventKind::Hold, "-4", "2026-01-01T00:01:00Z", |e| e.hold_id = Some("hold_2".into()))
        .add(EventKind::Debit, "-3", "2026-01-01T00:02:00Z", |e| {
            e.hold_id = Some("hold_2".into());
            e.metadata = Some(serde_json::json!({"job": "j-9"}));
        })
        .add(EventKind::Release, "1", "2026-01-01T00:02:00Z", |e| e.hold_id = Some("hold_2".into()));
    let rows = read_csv(&export_csv(&h.events, Layout::Events, TimeZone::UTC));
    let meta: serde_json::Value = serde_json::from_str(&rows[3][8]).unwrap();
    assert_eq!(
        meta,
        serde_json::json!({"job": "j-9", "captured": "3", "reservation": "hold_2",
        "note": "3 credits captured from hold hold_2, counted when held"})
    );
    // A partial capture: 10 granted, 4 held, 3 captured, 1 back: 7 left.
    assert_eq!(available_change(&h.events), credits("7"));
    assert_eq!(sum_column(&rows, 5), credits("7"));
}

#[test]
fn xlsx_fpt_and_events_hold_the_csv_cells_typed() {
    let events = sample();
    for layout in [Layout::Fpt, Layout::Events] {
        let csv_rows = read_csv(&export_csv(&events, layout, madrid()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.xlsx");
        let mut x = XlsxExporter::create(&path, layout, madrid(), XlsxOptions::default()).unwrap();
        x.push_all(&events).unwrap();
        x.finish().unwrap();
        let sheets = read_xlsx(&path);
        let rows = &sheets[0].1;
        let header: Vec<&str> = rows[0].iter().map(cell_text).collect();
        assert_eq!(header, layout.headers(), "{layout}");
        assert_eq!(rows.len(), csv_rows.len());
        let (time_col, amount_col, zone) = match layout {
            Layout::Fpt => (0, 6, madrid()),
            _ => (0, 5, TimeZone::UTC),
        };
        for ((row, csv_row), e) in rows[1..].iter().zip(&csv_rows[1..]).zip(&events) {
            match &row[amount_col] {
                Data::Float(f) => {
                    assert_eq!(*f, credits(&csv_row[amount_col]).micros() as f64 / 1e6, "{layout} {}", e.id)
                }
                other => panic!("{layout}: amount of {} is {other:?}", e.id),
            }
            match &row[time_col] {
                Data::DateTime(dt) => assert!((dt.as_f64() - excel_serial(e.created_at, &zone)).abs() < 1e-9),
                other => panic!("{layout}: time of {} is {other:?}", e.id),
            }
            // Text cells hold the CSV's text (less the formula guard).
            let texts: Vec<usize> = match layout {
                Layout::Fpt => vec![1, 2, 3, 4, 5],
                _ => vec![1, 2, 3, 4],
            };
            for col in texts {
                assert_eq!(
                    cell_text(&row[col]),
                    csv_row[col].strip_prefix('\'').unwrap_or(&csv_row[col]),
                    "{layout} {} col {col}",
                    e.id
                );
            }
        }
    }
}

#[test]
fn every_layout_name_parses_back() {
    for layout in Layout::ALL {
        assert_eq!(layout.as_str().parse::<Layout>().unwrap(), layout);
        assert_eq!(layout.headers().len(), layout.to_string().parse::<Layout>().unwrap().headers().len());
    }
    let err = "fancy".parse::<Layout>().unwrap_err().to_string();
    assert!(err.contains("report, fpt, events or full"), "{err}");
}

/// A history with a priced hold and its priced debit (a graduated price).
fn priced_sample() -> Vec<Event> {
    let pricing = |quantity: &str| -> creditd_core::Pricing {
        serde_json::from_value(serde_json::json!({
            "price_key": "tokens_in",
            "dimensions": {"model": "large"},
            "quantity": quantity,
            "unit": "1k tokens",
            "tiers": [{"quantity": "2", "credits_per_unit": "0.5"}, {"quantity": "1.5", "credits_per_unit": "0.25"}],
            "price_book": "standard",
            "version": 2
        }))
        .unwrap()
    };
    let mut h = History::new();
    h.add(EventKind::Grant, "10", "2026-01-01T08:00:00Z", |e| e.pool = Some(Pool::Promotional))
        .add(EventKind::Hold, "-1.375", "2026-01-02T08:00:00Z", |e| {
            e.pool = Some(Pool::Promotional);
            e.hold_id = Some("hold_2".into());
            e.pricing = Some(pricing("3.5"));
        })
        .add(EventKind::Debit, "-1.375", "2026-01-02T08:01:00Z", |e| {
            e.pool = Some(Pool::Promotional);
            e.hold_id = Some("hold_2".into());
            e.pricing = Some(pricing("3.5"));
        });
    h.events
}

#[test]
fn full_csv_carries_pricing_and_reads_files_written_before_it() {
    let events = priced_sample();
    let bytes = export_csv(&events, Layout::Full, madrid());
    let rows = read_csv(&bytes);
    // The pricing column, before the three pools' columns.
    let pricing_col = creditd_export::FULL_HEADERS_BEFORE_POOLS - 1;
    assert_eq!(rows[0].get(pricing_col).map(String::as_str), Some("pricing"));
    assert_eq!(rows[1].get(pricing_col).map(String::as_str), Some(""), "a grant has no pricing");
    let cell: serde_json::Value = serde_json::from_str(&rows[2][pricing_col]).unwrap();
    assert_eq!(cell["price_key"], "tokens_in");
    assert_eq!(cell["version"], 2);
    assert_eq!(parse_full_csv(&bytes[..], ORG).unwrap(), events);

    // The Excel full layout has the column too.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("priced.xlsx");
    let mut x = XlsxExporter::new(Vec::new(), Layout::Full, madrid()).unwrap();
    x.push_all(&events).unwrap();
    std::fs::write(&path, x.finish().unwrap()).unwrap();
    let sheets = read_xlsx(&path);
    let header: Vec<&str> = sheets[0].1[0].iter().map(cell_text).collect();
    assert_eq!(header.get(pricing_col), Some(&"pricing"));
    assert!(cell_text(&sheets[0].1[2][pricing_col]).contains("\"price_key\":\"tokens_in\""));

    // A file written before the column: 23 columns, no pricing, imports.
    let old: Vec<Event> = events
        .iter()
        .cloned()
        .map(|mut e| {
            e.pricing = None;
            e
        })
        .collect();
    let text: String = read_csv(&export_csv(&old, Layout::Full, madrid()))
        .iter()
        .map(|r| {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(&r[..creditd_export::FULL_HEADERS_BEFORE_PRICING]).unwrap();
            String::from_utf8(w.into_inner().unwrap()).unwrap()
        })
        .collect();
    assert!(!text.lines().next().unwrap().contains("pricing"));
    assert_eq!(parse_full_csv(text.as_bytes(), ORG).unwrap(), old);
    // A line of the old width in a new file is still refused.
    let mut lines: Vec<String> =
        String::from_utf8(bytes).unwrap().split("\r\n").filter(|l| !l.is_empty()).map(str::to_string).collect();
    lines[1] = text.lines().nth(1).unwrap().to_string();
    assert_eq!(bad_lines(import(&lines)), [(2, LineError::ColumnCount { expected: 27, found: 23 })]);
    // A pricing cell that is not a pricing is named.
    let mut lines = full_lines_of(&events);
    spoil(&mut lines, 2, pricing_col, "{\"price_key\": 1}");
    assert!(matches!(bad_lines(import(&lines)).as_slice(), [(3, LineError::Pricing { .. })]));
}

/// The full layout's last three columns: each pool after the event, read
/// back exactly; empty for an event that does not carry them; all three or
/// none; a file written before them (24 columns) still imports.
#[test]
fn full_csv_carries_the_pools_after_each_event() {
    let mut events = priced_sample();
    for (i, e) in events.iter_mut().enumerate() {
        if i % 2 == 0 {
            e.pools_after = Some(creditd_core::FreePools {
                plan: Micros::from_micros(1_500_000 * i as i64),
                voucher: Micros::from_micros(7),
                promotional: Micros::from_micros(250_000),
            });
        }
    }
    assert!(events.iter().any(|e| e.pools_after.is_none()) && events.iter().any(|e| e.pools_after.is_some()));
    let bytes = export_csv(&events, Layout::Full, madrid());
    let rows = read_csv(&bytes);
    assert_eq!(rows[0][24..], ["plan_balance_after", "voucher_balance_after", "promotional_balance_after"]);
    assert_eq!(rows[1][24..], ["0", "0.000007", "0.25"], "exact micro-credits");
    assert_eq!(rows[2][24..], ["", "", ""], "an event without them");
    assert_eq!(parse_full_csv(&bytes[..], ORG).unwrap(), events);
    // A file written before the pools' columns: they are absent, it imports.
    let old: Vec<Event> = events.iter().cloned().map(|e| Event { pools_after: None, ..e }).collect();
    let text: String = rows
        .iter()
        .map(|r| {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(&r[..creditd_export::FULL_HEADERS_BEFORE_POOLS]).unwrap();
            String::from_utf8(w.into_inner().unwrap()).unwrap()
        })
        .collect();
    assert_eq!(parse_full_csv(text.as_bytes(), ORG).unwrap(), old);
    // One of the three alone, or one that is not an amount, is refused.
    let mut lines = full_lines_of(&events);
    spoil(&mut lines, 1, 25, "");
    assert_eq!(bad_lines(import(&lines)), [(2, LineError::Pools)]);
    let mut lines = full_lines_of(&events);
    spoil(&mut lines, 1, 26, "lots");
    assert!(matches!(bad_lines(import(&lines)).as_slice(), [(2, LineError::Amount { .. })]), "{lines:?}");
}

fn full_lines_of(events: &[Event]) -> Vec<String> {
    let text = String::from_utf8(export_csv(events, Layout::Full, madrid())).unwrap();
    text.split("\r\n").filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// `m` as a person reads it in a spreadsheet: thousands grouped with
/// commas, every decimal `Micros` has and no trailing point.
fn grouped(m: Micros) -> String {
    let s = m.to_string();
    let (sign, body) = s.strip_prefix('-').map_or(("", s.as_str()), |b| ("-", b));
    let (whole, frac) = body.split_once('.').map_or((body, None), |(w, f)| (w, Some(f)));
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// The exported workbook opened by LibreOffice (headless `soffice`, the
/// reader seed 000's users have besides Excel) and saved as CSV "as
/// shown": whole amounts read without a trailing point (`100`, not
/// `100.`), fractions keep every digit (`-0.000001`), thousands grouped.
/// Without `soffice` it prints SKIPPED and passes, as the browser test
/// does without Chromium (`.ci/run` installs it).
#[test]
fn xlsx_amounts_as_libreoffice_shows_them() {
    let Some(soffice) = ["soffice", "libreoffice"].iter().find_map(|n| {
        std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(n)).find(|p| p.is_file()))
    }) else {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED xlsx_amounts_as_libreoffice_shows_them: soffice is not installed \
             (apt-get install libreoffice-calc-nogui)"
        );
        return;
    };
    let mut events = sample();
    let mut big = History::new();
    big.add(EventKind::Grant, "1234567", "2026-01-02T08:00:00Z", |e| e.pool = Some(Pool::Promotional))
        .add(EventKind::Usage, "-2500.000001", "2026-01-02T09:00:00Z", |_| {})
        .add(EventKind::Usage, "-1000", "2026-01-02T10:00:00Z", |_| {})
        .add(EventKind::Usage, "-0.5", "2026-01-02T11:00:00Z", |_| {});
    events.extend(big.events.clone());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.xlsx");
    let options = XlsxOptions { tempdir: Some(dir.path().to_path_buf()), ..XlsxOptions::default() };
    let mut xlsx = XlsxExporter::create(&path, Layout::Report, madrid(), options).unwrap();
    xlsx.push_all(&events).unwrap();
    xlsx.finish().unwrap();

    let profile = dir.path().join("profile");
    let out = std::process::Command::new(&soffice)
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--norestore", "--nologo", "--convert-to"])
        // Comma, double quote, UTF-8 (76), from line 1; cells as shown.
        .arg("csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true")
        .arg("--outdir")
        .arg(dir.path())
        .arg(&path)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let csv_path = dir.path().join("history.csv");
    assert!(
        csv_path.is_file(),
        "soffice wrote no CSV: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = read_csv(&std::fs::read(&csv_path).unwrap());
    assert_eq!(rows[0], REPORT_HEADERS);
    assert_eq!(rows.len(), events.len() + 1);
    let amounts: Vec<&str> = rows[1..].iter().map(|r| r[5].as_str()).collect();
    let want: Vec<String> = events.iter().map(|e| grouped(person_kind_amount(e).1)).collect();
    assert_eq!(amounts, want);
    // What the check is about, said plainly.
    for a in &amounts {
        assert!(!a.ends_with('.'), "{a}: a whole number with a trailing point");
    }
    for (shown, exact) in [("1,234,567", true), ("-2,500.000001", true), ("-0.000001", true), ("50.25", true)] {
        assert_eq!(amounts.contains(&shown), exact, "{shown} in {amounts:?}");
    }
}
