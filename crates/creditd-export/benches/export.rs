//! Export throughput and memory.
//!
//! `cargo bench -p creditd-export --bench export -- [N]` (or
//! `CREDITD_BENCH_EVENTS=N`; default 1,000,000; `CREDITD_BENCH_ZIP_LEVEL`
//! overrides the Excel compression level). Generates N synthetic events
//! on the fly (never all in memory, as the server streams them) and reports
//! rows/s for CSV report, CSV full and Excel report, and the process's peak
//! resident memory after each. Plain `std::time`: the numbers are for
//! comparing against the targets (CSV ≥ 1M rows/s, Excel ≥ 150k rows/s), not
//! for statistics.

use std::fs::File;
use std::io::{self, BufWriter};
use std::time::{Duration, Instant};

use creditd_core::{Event, EventKind, Micros, Pool, Status};
use creditd_export::{CsvExporter, Layout, XlsxExporter, XlsxOptions};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A varied, realistic-looking event stream, rebuilt in place for each row.
struct Events {
    event: Event,
    base: i64,
}

const KINDS: [EventKind; 4] = [EventKind::Hold, EventKind::Debit, EventKind::Release, EventKind::Grant];
const PROJECTS: [(&str, &str); 4] = [
    ("case_001", "Villa Núñez, phase 2"),
    ("case_002", "Warehouse scan"),
    ("case_003", "Harbour \"Q3\" survey"),
    ("case_004", "=SUM(A1)"),
];
const USERS: [(&str, &str); 3] =
    [("José Núñez", "jose@example.com"), ("Ann Lee", "ann@example.com"), ("Bo", "bo@example.com")];

impl Events {
    fn new() -> Self {
        let event = Event {
            id: String::with_capacity(24),
            org_id: "acme".to_string(),
            seq: 0,
            created_at: Timestamp::UNIX_EPOCH,
            kind: EventKind::Grant,
            amount: Micros::ZERO,
            pool: Some(Pool::Plan),
            status: Status::Succeeded,
            source: Some("api".to_string()),
            service: Some("AI Inference".to_string()),
            activity: Some("Generate model".to_string()),
            project_id: None,
            project_name: None,
            user_name: None,
            user_email: None,
            description: None,
            code: None,
            hold_id: Some(String::with_capacity(24)),
            idempotency_key: None,
            balance_after: Micros::ZERO,
            prepaid_balance_after: Micros::ZERO,
            held_after: Micros::ZERO,
            period_usage_after: Micros::ZERO,
            metadata: None,
            pricing: None,
            pools_after: None,
        };
        // 2026-01-01T00:00:00Z: a year of events crosses both DST changes.
        Events { event, base: 1_767_225_600 }
    }

    fn get(&mut self, i: u64) -> &Event {
        use std::fmt::Write as _;
        let e = &mut self.event;
        e.seq = i + 1;
        e.id.clear();
        let _ = write!(e.id, "evt_{}", e.seq);
        // One event every ~31 s: 1M events span about a year.
        e.created_at = Timestamp::from_second(self.base + i as i64 * 31).unwrap();
        e.kind = KINDS[(i % 4) as usize];
        let micros = 1_000_000 + (i as i64 % 977) * 12_345;
        e.amount =
            Micros::from_micros(if matches!(e.kind, EventKind::Hold | EventKind::Debit) { -micros } else { micros });
        let (pid, pname) = PROJECTS[(i % 4) as usize];
        let (uname, email) = USERS[(i % 3) as usize];
        set(&mut e.project_id, pid);
        set(&mut e.project_name, pname);
        set(&mut e.user_name, uname);
        set(&mut e.user_email, email);
        set(&mut e.description, if i.is_multiple_of(2) { "Model generation requested" } else { "First download" });
        if let Some(h) = &mut e.hold_id {
            h.clear();
            let _ = write!(h, "hold_{}", i / 3);
        }
        e.balance_after = Micros::from_micros(5_000_000_000 - (i as i64 % 100_000) * 1_000);
        e.held_after = Micros::from_micros((i as i64 % 7) * 500_000);
        e.period_usage_after = Micros::from_micros(i as i64 * 10);
        &self.event
    }
}

fn set(field: &mut Option<String>, value: &str) {
    match field {
        Some(s) => {
            s.clear();
            s.push_str(value);
        }
        None => *field = Some(value.to_string()),
    }
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn report(name: &str, n: u64, took: Duration, extra: &str) {
    let rate = n as f64 / took.as_secs_f64();
    println!(
        "{name:<14} {n:>10} rows  {:>8.3} s  {:>12.0} rows/s  peak RSS {:>7.1} MiB{extra}",
        took.as_secs_f64(),
        rate,
        peak_rss_mib()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; take the first plain number.
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.replace('_', "").parse().ok())
        .or_else(|| std::env::var("CREDITD_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()))
        .unwrap_or(1_000_000);
    let tz = TimeZone::get("Europe/Madrid").unwrap();
    let mut events = Events::new();
    println!("creditd-export bench: {n} events, zone Europe/Madrid, start RSS {:.1} MiB", peak_rss_mib());

    // Generating the rows costs time too; measured alone so it can be told
    // apart from the exporters'.
    let start = Instant::now();
    let mut check = 0u64;
    for i in 0..n {
        check = check.wrapping_add(events.get(i).seq);
    }
    std::hint::black_box(check);
    report("generate only", n, start.elapsed(), "");

    for layout in [Layout::Report, Layout::Full] {
        let start = Instant::now();
        let mut csv = CsvExporter::new(io::sink(), layout, tz.clone()).unwrap();
        for i in 0..n {
            csv.push(events.get(i)).unwrap();
        }
        csv.finish().unwrap();
        report(&format!("csv {layout}"), n, start.elapsed(), "");
    }

    let dir = std::env::temp_dir().join(format!("creditd-export-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("history.xlsx");
    let start = Instant::now();
    let mut options = XlsxOptions { tempdir: Some(dir.clone()), ..XlsxOptions::default() };
    if let Some(level) = std::env::var("CREDITD_BENCH_ZIP_LEVEL").ok().and_then(|v| v.parse().ok()) {
        options.compression_level = level;
    }
    let level = options.compression_level;
    let file = BufWriter::new(File::create(&path).unwrap());
    let mut xlsx = XlsxExporter::with_options(file, Layout::Report, tz.clone(), options).unwrap();
    for i in 0..n {
        xlsx.push(events.get(i)).unwrap();
    }
    let pushed = start.elapsed();
    let sheets = xlsx.sheets();
    xlsx.finish().unwrap();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    report(
        "xlsx report",
        n,
        start.elapsed(),
        &format!(
            "  ({sheets} sheet(s), zip level {level}, {:.1} MiB file, rows {:.3} s + zip {:.3} s)",
            size as f64 / 1048576.0,
            pushed.as_secs_f64(),
            (start.elapsed() - pushed).as_secs_f64()
        ),
    );
    let _ = std::fs::remove_dir_all(&dir);
}
