//! `creditd prices set|list`: price books through a running server's API.
//!
//! Unlike `keys` and `members` (which write the data directory directly),
//! these go over HTTP: the server prices operations from an in-memory
//! catalogue that its own writes keep up to date, so a version must be
//! written by the server that uses it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::Value;

/// Where the server is and how to reach it.
#[derive(Args, Clone)]
pub struct ServerArgs {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "CREDITD_URL")]
    url: String,
    /// A service key that reaches every organisation (books are shared).
    #[arg(long, env = "CREDITD_SERVICE_KEY", hide_env_values = true)]
    key: String,
}

#[derive(Args)]
pub struct PricesArgs {
    #[command(subcommand)]
    cmd: PricesCmd,
}

#[derive(Subcommand)]
enum PricesCmd {
    /// Write FILE (a JSON price book version: `{"effective_from"?, "prices": [...]}`)
    /// as the next version of the book; prints the version written.
    Set {
        #[command(flatten)]
        server: ServerArgs,
        /// The book's id.
        #[arg(long)]
        book: String,
        /// The version, as JSON.
        file: PathBuf,
    },
    /// List every book, its versions and their prices.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
}

pub async fn prices(args: PricesArgs) -> Result<ExitCode> {
    match args.cmd {
        PricesCmd::Set { server, book, file } => {
            // Plain HTTP here: the file is sent as written, so the server's
            // errors name lines of this file (the client would re-encode it).
            let client = reqwest::Client::new();
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            // Sent as written, so the server's errors name lines of this file.
            let url = format!("{}/api/price-books/{book}", server.url.trim_end_matches('/'));
            let resp = client
                .put(&url)
                .bearer_auth(&server.key)
                .header("content-type", "application/json")
                .body(text)
                .send()
                .await
                .with_context(|| format!("PUT {url}"))?;
            let v = answer(resp, &file.display().to_string()).await?;
            eprintln!(
                "price book {} version {} written: {} prices, in force from {}",
                v["book_id"].as_str().unwrap_or(&book),
                v["version"],
                v["prices"].as_array().map_or(0, Vec::len),
                v["effective_from"].as_str().unwrap_or("?"),
            );
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        PricesCmd::List { server } => {
            // Through the Rust client: typed books, its retries and errors.
            let api = creditd_client::Client::new(&server.url, &server.key)
                .with_context(|| format!("a client for {}", server.url))?;
            let books = api.list_price_books().await.context("listing the price books")?;
            for book in &books {
                for ver in &book.versions {
                    println!("{} v{} from {}", book.id, ver.version, ver.effective_from);
                    for p in &ver.prices {
                        println!("  {}", line(p));
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One price as a line: `key [dims] (service/activity): 2.5 per image` or
/// its tiers.
fn line(p: &creditd_client::PriceLine) -> String {
    let dims = if p.dimensions.is_empty() {
        String::new()
    } else {
        format!(" [{}]", p.dimensions.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "))
    };
    let unit = &p.unit;
    let price = match (&p.tiers, p.credits_per_unit) {
        (Some(tiers), _) => tiers
            .iter()
            .map(|t| match t.up_to {
                Some(u) => format!("{} per {unit} up to {u}", t.credits_per_unit),
                None => format!("{} per {unit} after", t.credits_per_unit),
            })
            .collect::<Vec<_>>()
            .join("; "),
        (None, Some(c)) => format!("{c} per {unit}"),
        (None, None) => "no price".to_string(),
    };
    format!("{}{dims} ({}/{}): {price}", p.key, p.service, p.activity)
}

async fn answer(resp: reqwest::Response, what: &str) -> Result<Value> {
    let status = resp.status();
    let body = resp.text().await.context("reading the answer")?;
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::String(body.clone()));
    if !status.is_success() {
        let msg = v["error"]["message"].as_str().unwrap_or(&body);
        let code = v["error"]["code"].as_str().unwrap_or("?");
        bail!("{what} refused ({status}, {code}): {msg}");
    }
    Ok(v)
}
