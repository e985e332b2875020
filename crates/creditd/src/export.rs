//! `creditd export`: an organisation's credit history to a CSV or Excel
//! file, from the embedded database, with the same filters as the API.
//!
//! The flags are handed to the server's own parser as query pairs, so
//! `--range last_month --event-type reservation` means exactly what
//! `?range=last_month&event_type=reservation` means over HTTP. Rows stream
//! from the store through the exporter into the file: memory stays flat
//! whatever the row count. A progress bar is drawn only when stderr is a
//! terminal and the output is a file; `--output -` writes to stdout, and a
//! reader that stops early (`| head`) ends the export quietly.

use std::io::{BufWriter, IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use creditd_core::EventRef;
use creditd_export::{CsvExporter, ExportError, XlsxExporter};
use creditd_server::extract::QueryPairs;
use creditd_server::history::{
    CsvRows, ExportRequest, Format, XlsxFailure, export_to_xlsx, is_broken_pipe, org_zone, parse_export,
};
use creditd_sqlite::{OpenError, SqliteStore};
use creditd_store::{EventFilter, RowFormatter, Store, SystemClock};
use indicatif::{ProgressBar, ProgressStyle};

/// Rows between two moves of the progress bar.
const PROGRESS_ROWS: u64 = 4096;

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Where the embedded database lives.
    #[arg(long, default_value = "./creditd-data", env = "CREDITD_DATA_DIR")]
    data_dir: PathBuf,
    /// The organisation to export.
    #[arg(long)]
    org: String,
    /// csv or xlsx.
    #[arg(long, default_value = "csv")]
    format: String,
    /// report (Case Name, Case ID, User's Name, Email, Kind, Amount, Created
    /// At, Description), fpt (Date, Service, Source, Description, Code,
    /// Status, Amount), events (seed 001's created_at, event_type, …,
    /// metadata, in UTC) or full (every field; what `creditd import` reads).
    #[arg(long, default_value = "report")]
    layout: String,
    /// newest or oldest first (default: newest for report, oldest for full).
    #[arg(long)]
    order: Option<String>,
    /// The file to write, or - for stdout.
    #[arg(long, short = 'o')]
    output: String,
    /// From this date (YYYY-MM-DD in the organisation's zone) or instant (RFC 3339).
    #[arg(long)]
    date_from: Option<String>,
    /// To this date, inclusive (YYYY-MM-DD), or instant, exclusive (RFC 3339).
    #[arg(long)]
    date_to: Option<String>,
    /// today, yesterday, this_week, last_week, this_month, last_month, last_28_days.
    #[arg(long)]
    range: Option<String>,
    /// Event types, repeated or comma-separated (usage, reservation, grant, …).
    #[arg(long)]
    event_type: Vec<String>,
    /// Balance types (plan, prepaid, voucher, promotional).
    #[arg(long)]
    pool: Vec<String>,
    #[arg(long)]
    project_id: Option<String>,
    #[arg(long)]
    service: Vec<String>,
    /// succeeded, processing, failed.
    #[arg(long)]
    status: Vec<String>,
    #[arg(long)]
    user_email: Option<String>,
    /// Print rows, seconds and peak memory as JSON on stderr (benchmarks).
    #[arg(long, hide = true)]
    stats: bool,
    /// Benchmark baseline: the path before this one, every row borrowed
    /// from one read and written on one thread (`Store::export_rows`),
    /// instead of formatting on several threads (CSV) or reading on one
    /// while writing on another (Excel).
    #[arg(long, hide = true)]
    baseline: bool,
}

impl ExportArgs {
    /// The flags as the query pairs the API would receive.
    fn pairs(&self) -> Vec<(String, String)> {
        let mut q = vec![("format".to_string(), self.format.clone()), ("layout".to_string(), self.layout.clone())];
        let mut one = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                q.push((k.to_string(), v.clone()));
            }
        };
        one("order", &self.order);
        one("date_from", &self.date_from);
        one("date_to", &self.date_to);
        one("range", &self.range);
        one("project_id", &self.project_id);
        one("user_email", &self.user_email);
        for (k, vs) in [
            ("event_type", &self.event_type),
            ("pool", &self.pool),
            ("service", &self.service),
            ("status", &self.status),
        ] {
            q.extend(vs.iter().map(|v| (k.to_string(), v.clone())));
        }
        q
    }
}

/// Opens the embedded database of `data_dir` for a command that runs beside
/// (not inside) a server; refuses to create one.
pub fn open_existing(data_dir: &Path) -> Result<Arc<SqliteStore>> {
    if !data_dir.join("creditd.sqlite").exists() {
        bail!("no creditd database in {} (give --data-dir)", data_dir.display());
    }
    open_existing_or_new(data_dir)
}

/// Opens (creating if needed) the embedded database of `data_dir`, saying
/// plainly when a running server holds it.
pub fn open_existing_or_new(data_dir: &Path) -> Result<Arc<SqliteStore>> {
    match SqliteStore::open(data_dir, Arc::new(SystemClock)) {
        Ok(s) => Ok(Arc::new(s)),
        Err(OpenError::Locked(dir)) => bail!(
            "{} is in use by a running creditd server (it holds the lock): stop the server first, or use its \
             HTTP API (GET /api/organizations/<org>/credit-events/export?format=csv&… for an export)",
            dir.display()
        ),
        Err(e) => Err(e).with_context(|| format!("opening the data directory {}", data_dir.display())),
    }
}

/// Peak resident memory of this process (VmHWM), in KiB; 0 where unknown.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

pub async fn run(args: ExportArgs) -> Result<()> {
    let store = open_existing(&args.data_dir)?;
    let result = export(&store, &args).await;
    store.shutdown().await;
    result
}

async fn export(store: &Arc<SqliteStore>, args: &ExportArgs) -> Result<()> {
    let started = Instant::now();
    let info = store.org(&args.org).await.with_context(|| format!("exporting {}", args.org))?;
    let tz = org_zone(&info.settings.time_zone);
    let q = QueryPairs(args.pairs());
    let ExportRequest { format, layout, order, filter } =
        parse_export(&q, &tz, store.now()).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let to_stdout = args.output == "-";
    let bar = if !to_stdout && std::io::stderr().is_terminal() {
        Some(progress(store, &args.org, &filter).await)
    } else {
        None
    };
    let output = args.output.clone();
    let bar2 = bar.clone();
    let tz2 = tz.clone();
    let baseline = args.baseline;
    let (store2, org) = (store.clone(), args.org.clone());
    let rows = tokio::task::spawn_blocking(move || -> Result<u64> {
        let sink: Box<dyn Write + Send> = if output == "-" {
            Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout()))
        } else {
            let f = std::fs::File::create(&output).with_context(|| format!("creating {output}"))?;
            Box::new(BufWriter::with_capacity(1 << 16, f))
        };
        // Rows from the store into `push`; the first error ends the export.
        let pump = |push: &mut dyn FnMut(&EventRef<'_>) -> Result<()>| -> Result<()> {
            let mut failed = None;
            let mut n = 0u64;
            let mut each = |e: &EventRef<'_>| {
                n += 1;
                if let Some(b) = &bar2
                    && n.is_multiple_of(PROGRESS_ROWS)
                {
                    b.inc(PROGRESS_ROWS);
                }
                match push(e) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => {
                        failed = Some(e);
                        ControlFlow::Break(())
                    }
                }
            };
            store2.export_rows(&org, &filter, order, &mut each)?;
            failed.map_or(Ok(()), Err)
        };
        match format {
            // Formatted on several threads where the engine can, written here in order.
            Format::Csv if !baseline => {
                let mut sink = sink;
                let mut header = Some(CsvExporter::<Vec<u8>>::header(layout).map_err(export_err)?);
                let mut failed = None;
                let make = || -> Box<dyn RowFormatter> { Box::new(CsvRows::new(layout, tz2.clone())) };
                let rows = store2.export_formatted(&org, &filter, order, &make, &mut |chunk| {
                    if let Some(b) = &bar2 {
                        b.inc(chunk.rows);
                    }
                    let written = match header.take() {
                        Some(h) => sink.write_all(&h),
                        None => Ok(()),
                    };
                    match written.and_then(|()| sink.write_all(&chunk.bytes)) {
                        Ok(()) => ControlFlow::Continue(()),
                        Err(e) => {
                            failed = Some(e);
                            ControlFlow::Break(())
                        }
                    }
                })?;
                if let Some(e) = failed {
                    return Err(e.into());
                }
                if let Some(h) = header {
                    sink.write_all(&h)?;
                }
                sink.flush()?;
                Ok(rows)
            }
            Format::Csv => {
                let mut csv = CsvExporter::new(sink, layout, tz2).map_err(export_err)?;
                pump(&mut |e| csv.push_ref(e).map_err(export_err))?;
                let rows = csv.rows();
                csv.finish().map_err(export_err)?.flush()?;
                Ok(rows)
            }
            // Read on the store's threads, written here.
            Format::Xlsx if !baseline => {
                let mut x = XlsxExporter::new(sink, layout, tz2).map_err(export_err)?;
                let never = std::sync::atomic::AtomicBool::new(false);
                let mut tick = |n: u64| {
                    if let Some(b) = &bar2 {
                        b.inc(n);
                    }
                };
                export_to_xlsx(store2.as_ref(), &org, &filter, order, &mut x, &never, &mut tick).map_err(
                    |e| match e {
                        XlsxFailure::Store(e) => anyhow::Error::from(e),
                        XlsxFailure::Export(e) => export_err(e),
                    },
                )?;
                let rows = x.rows();
                if let Some(b) = &bar2 {
                    b.set_message("zipping the workbook");
                }
                x.finish().map_err(export_err)?.flush()?;
                Ok(rows)
            }
            Format::Xlsx => {
                let mut x = XlsxExporter::new(sink, layout, tz2).map_err(export_err)?;
                pump(&mut |e| x.push_ref(e).map_err(export_err))?;
                let rows = x.rows();
                if let Some(b) = &bar2 {
                    b.set_message("zipping the workbook");
                }
                x.finish().map_err(export_err)?.flush()?;
                Ok(rows)
            }
        }
    })
    .await?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let rows = match rows {
        Ok(r) => r,
        Err(e) => {
            if !to_stdout {
                let _ = std::fs::remove_file(&args.output);
            }
            return Err(e.context(format!("exporting {} to {}", args.org, args.output)));
        }
    };
    let secs = started.elapsed().as_secs_f64();
    if args.stats {
        eprintln!(
            "{}",
            serde_json::json!({"rows": rows, "seconds": secs, "rows_per_s": rows as f64 / secs.max(1e-9),
                               "peak_rss_kib": peak_rss_kib(), "format": format.ext(), "layout": layout.as_str()})
        );
    } else if !to_stdout {
        eprintln!("creditd: exported {rows} events ({layout} layout) to {} in {secs:.1} s", args.output);
    }
    Ok(())
}

/// An exporter's error, with a closed pipe made plain (`io::Error`
/// BrokenPipe) so that `creditd export … | head` ends quietly.
fn export_err(e: ExportError) -> anyhow::Error {
    if is_broken_pipe(&e) { std::io::Error::from(std::io::ErrorKind::BrokenPipe).into() } else { e.into() }
}

/// A bar with a total when the export is the whole history (the org's last
/// seq), a counter otherwise.
async fn progress(store: &Arc<SqliteStore>, org: &str, filter: &EventFilter) -> ProgressBar {
    let total = if *filter == EventFilter::default() { store.balance(org).await.ok().map(|b| b.seq) } else { None };
    match total {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} events  {per_sec}  eta {eta}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {pos} events  {per_sec}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
}
