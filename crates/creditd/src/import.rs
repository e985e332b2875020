//! `creditd import`: a full-layout CSV export (a restore, or a migration
//! from another system written in that layout) into a new or empty
//! organisation.
//!
//! All or nothing: every line is checked first (`parse_full_csv_with`, which
//! names each bad line and why), then the store writes the events and the
//! state derived from them in one transaction after replaying them
//! (`Store::import`), and finally the balances are recomputed from what was
//! stored (`Store::verify`). What an import cannot carry over (block expiry
//! dates, plans, idempotency keys) is in `creditd_store::import`'s docs and
//! printed as notes.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use creditd_core::OrgSettings;
use creditd_export::{ImportError, ImportOptions, parse_full_csv_with};
use creditd_store::Store;

use crate::export::open_existing_or_new;

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// Where the embedded database lives (created if missing).
    #[arg(long, default_value = "./creditd-data", env = "CREDITD_DATA_DIR")]
    data_dir: PathBuf,
    /// The organisation to create (or an existing one without events, which
    /// keeps its settings).
    #[arg(long)]
    org: String,
    /// Its display name (default: the id).
    #[arg(long)]
    name: Option<String>,
    /// Its IANA time zone.
    #[arg(long, default_value = "UTC")]
    time_zone: String,
    /// Import into a PostgreSQL database instead of the embedded one.
    #[arg(long, env = "CREDITD_DATABASE_URL")]
    database_url: Option<String>,
    /// A full-layout CSV (`creditd export --layout full`), or - for stdin.
    file: String,
}

pub async fn run(args: ImportArgs) -> Result<ExitCode> {
    creditd_core::OrgId::parse(&args.org).map_err(|e| anyhow::anyhow!("organization {e}"))?;
    let settings = OrgSettings::new(args.name.clone().unwrap_or_else(|| args.org.clone()), args.time_zone.clone());
    settings.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut bytes = Vec::new();
    if args.file == "-" {
        std::io::stdin().read_to_end(&mut bytes).context("reading stdin")?;
    } else {
        std::fs::File::open(&args.file)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .with_context(|| format!("reading {}", args.file))?;
    }
    let options = ImportOptions { require_contiguous: true };
    let events = match parse_full_csv_with(&bytes[..], &args.org, &options) {
        Ok(events) => events,
        Err(ImportError::Invalid { lines, omitted }) => {
            for bad in &lines {
                eprintln!("{}: {bad}", args.file);
            }
            if omitted > 0 {
                eprintln!("{}: … and {omitted} more problems", args.file);
            }
            eprintln!(
                "creditd: import refused: {} problem(s) in {}; nothing was written",
                lines.len() + omitted,
                args.file
            );
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e).context(format!("reading {}", args.file)),
    };
    drop(bytes);
    let n = events.len();
    let store: Arc<dyn Store> = match &args.database_url {
        Some(url) => Arc::new(
            creditd_postgres::PgStore::open(url, Arc::new(creditd_store::SystemClock))
                .await
                .context("opening the PostgreSQL database (--database-url)")?,
        ),
        None => open_existing_or_new(&args.data_dir)?,
    };
    let result = async {
        let report = store
            .import(&args.org, settings, events)
            .await
            .with_context(|| format!("importing {n} events into organization {} (nothing was written)", args.org))?;
        let verify = store.verify(&args.org).await.context("verifying the imported organization")?;
        Ok::<_, anyhow::Error>((report, verify))
    }
    .await;
    store.shutdown().await;
    let (report, verify) = result?;
    println!(
        "imported {} events into {}: available {}, held {}, prepaid {}; {} records ({} open holds, {} processing purchases)",
        report.events,
        report.org_id,
        report.balance.available,
        report.balance.held,
        report.balance.pools.prepaid,
        report.records,
        report.open_holds,
        report.pending_purchases
    );
    for note in &report.notes {
        println!("  note: {note}");
    }
    if verify.ok {
        println!("verify: ok, {} events, balances match", verify.events);
        Ok(ExitCode::SUCCESS)
    } else {
        println!("verify: FAILED");
        for p in &verify.problems {
            println!("  - {p}");
        }
        Ok(ExitCode::from(2))
    }
}
