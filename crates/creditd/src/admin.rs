//! `creditd keys|members|login-link`: members, API keys and sign-in links
//! from the command line.
//!
//! They work on the data directory (or `--database-url`) directly, also
//! while a server is running on it: these rows are not ledger data and are
//! written in short transactions of their own. A running server sees a
//! revoked key or a changed member within a few seconds (its key cache).
//!
//! A key's secret and a sign-in link are printed once, on standard output
//! (everything else goes to standard error), so `KEY=$(creditd keys create …)`
//! captures just the secret.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use creditd_sqlite::SqliteDirectory;
use creditd_store::Store;
use creditd_store::directory::{ApiKey, Directory, KeyScope, Member, NewKey, Role};
use jiff::{SignedDuration, Timestamp};

/// Where the directory lives.
#[derive(Args, Clone)]
pub struct Place {
    /// The embedded database's directory.
    #[arg(long, default_value = "./creditd-data", env = "CREDITD_DATA_DIR")]
    data_dir: PathBuf,
    /// A PostgreSQL database instead.
    #[arg(long, env = "CREDITD_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    cmd: KeysCmd,
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Create a key and print its secret once.
    Create {
        #[command(flatten)]
        place: Place,
        /// A platform service key (all organisations, or those given with --org).
        #[arg(long)]
        service: bool,
        /// Service key: an organisation it reaches (repeat for more; none: all).
        /// Member key: the member's organisation.
        #[arg(long = "org")]
        orgs: Vec<String>,
        /// Member key: the member's email.
        #[arg(long)]
        email: Option<String>,
        /// A label to recognise the key by.
        #[arg(long)]
        name: Option<String>,
    },
    /// List keys (never their secrets).
    List {
        #[command(flatten)]
        place: Place,
        /// Only keys that reach this organisation.
        #[arg(long)]
        org: Option<String>,
    },
    /// Revoke a key: it is refused from then on.
    Revoke {
        #[command(flatten)]
        place: Place,
        key_id: String,
    },
}

#[derive(Args)]
pub struct MembersArgs {
    #[command(subcommand)]
    cmd: MembersCmd,
}

#[derive(Subcommand)]
enum MembersCmd {
    /// Add a member (the first member of an organisation must be an owner).
    Add {
        #[command(flatten)]
        place: Place,
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// owner, admin or member.
        #[arg(long, default_value = "member")]
        role: String,
    },
    /// List an organisation's members.
    List {
        #[command(flatten)]
        place: Place,
        #[arg(long)]
        org: String,
    },
    /// Remove a member; their keys are revoked and their sessions end.
    Remove {
        #[command(flatten)]
        place: Place,
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
    },
}

#[derive(Args)]
pub struct LoginLinkArgs {
    #[command(flatten)]
    place: Place,
    #[arg(long)]
    org: String,
    /// The member signing in.
    #[arg(long)]
    email: String,
    /// Where the dashboard is served.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "CREDITD_PUBLIC_URL")]
    base_url: String,
    /// How long the link stays valid.
    #[arg(long, default_value_t = 15)]
    ttl_minutes: i64,
}

/// The directory of a data directory or database.
enum Opened {
    Sqlite(SqliteDirectory),
    Store(Arc<dyn Store>),
}

impl Opened {
    async fn open(place: &Place) -> Result<Opened> {
        match &place.database_url {
            Some(url) => Ok(Opened::Store(crate::open_pg_store(url).await?)),
            None => Ok(Opened::Sqlite(open_sqlite(&place.data_dir)?)),
        }
    }

    fn dir(&self) -> &dyn Directory {
        match self {
            Opened::Sqlite(d) => d,
            Opened::Store(s) => s.directory(),
        }
    }

    async fn close(self) {
        if let Opened::Store(s) = self {
            s.shutdown().await;
        }
    }
}

fn open_sqlite(data_dir: &Path) -> Result<SqliteDirectory> {
    SqliteDirectory::open(data_dir).with_context(|| format!("opening the data directory {}", data_dir.display()))
}

fn when(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "-".to_string(), |t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
}

fn scope_text(k: &ApiKey) -> String {
    match &k.scope {
        KeyScope::Service { org_ids: None } => "service: all organisations".to_string(),
        KeyScope::Service { org_ids: Some(ids) } => format!("service: {}", ids.join(", ")),
        KeyScope::Member { org_id, email } => format!("member: {email} of {org_id}"),
    }
}

pub async fn keys(args: KeysArgs) -> Result<ExitCode> {
    match args.cmd {
        KeysCmd::Create { place, service, orgs, email, name } => {
            let scope = match (service, email) {
                (true, Some(_)) => bail!("a service key has no --email; a member key is not --service"),
                (true, None) => {
                    if let Some(bad) = orgs.iter().find(|o| !creditd_core::valid_id(o)) {
                        bail!("{bad:?} is not an organization id");
                    }
                    KeyScope::Service { org_ids: (!orgs.is_empty()).then_some(orgs) }
                }
                (false, Some(email)) => match orgs.as_slice() {
                    [org] => KeyScope::Member { org_id: org.clone(), email },
                    _ => bail!("a member key needs exactly one --org and the member's --email"),
                },
                (false, None) => bail!("say which key: --service [--org ID…], or --org ID --email EMAIL for a member"),
            };
            let opened = Opened::open(&place).await?;
            let (secret, prefix, secret_hash) = creditd_server::auth::new_key_secret();
            let name = name.unwrap_or_else(|| if service { "service key" } else { "member key" }.to_string());
            let key = NewKey {
                id: creditd_server::auth::new_key_id(),
                prefix,
                name,
                scope,
                secret_hash,
                created_at: Timestamp::now(),
            };
            let result = opened.dir().create_key(key).await;
            opened.close().await;
            let key = result.context("creating the key")?;
            eprintln!("creditd: created key {} ({}, {}).", key.id, key.prefix, scope_text(&key));
            eprintln!("creditd: the secret below is shown only this once; send it as Authorization: Bearer <secret>");
            println!("{secret}");
            Ok(ExitCode::SUCCESS)
        }
        KeysCmd::List { place, org } => {
            let opened = Opened::open(&place).await?;
            let result = opened.dir().keys(org.as_deref()).await;
            opened.close().await;
            let keys = result.context("listing keys")?;
            println!(
                "{:<22} {:<13} {:<10} {:<21} {:<21} {:<21} scope",
                "id", "prefix", "state", "created", "last used", "name"
            );
            for k in &keys {
                let state = if k.revoked_at.is_some() { "revoked" } else { "active" };
                println!(
                    "{:<22} {:<13} {:<10} {:<21} {:<21} {:<21} {}",
                    k.id,
                    k.prefix,
                    state,
                    when(Some(k.created_at)),
                    when(k.last_used_at),
                    k.name,
                    scope_text(k)
                );
            }
            eprintln!("creditd: {} keys", keys.len());
            Ok(ExitCode::SUCCESS)
        }
        KeysCmd::Revoke { place, key_id } => {
            let opened = Opened::open(&place).await?;
            let result = opened.dir().revoke_key(&key_id, Timestamp::now()).await;
            opened.close().await;
            let k = result.with_context(|| format!("revoking {key_id}"))?;
            eprintln!("creditd: key {} ({}) is revoked since {}", k.id, k.prefix, when(k.revoked_at));
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn members(args: MembersArgs) -> Result<ExitCode> {
    match args.cmd {
        MembersCmd::Add { place, org, email, name, role } => {
            let role: Role = role.parse()?;
            let opened = Opened::open(&place).await?;
            let m = Member { org_id: org, email, name, role, created_at: Timestamp::now() };
            let result = opened.dir().add_member(m).await;
            opened.close().await;
            let m = result.context("adding the member")?;
            eprintln!("creditd: {} <{}> is now {} of {}", m.name, m.email, m.role, m.org_id);
            Ok(ExitCode::SUCCESS)
        }
        MembersCmd::List { place, org } => {
            let opened = Opened::open(&place).await?;
            let result = opened.dir().members(&org).await;
            opened.close().await;
            let members = result.with_context(|| format!("listing the members of {org}"))?;
            println!("{:<40} {:<8} {:<21} name", "email", "role", "added");
            for m in &members {
                println!("{:<40} {:<8} {:<21} {}", m.email, m.role.as_str(), when(Some(m.created_at)), m.name);
            }
            eprintln!("creditd: {} members", members.len());
            Ok(ExitCode::SUCCESS)
        }
        MembersCmd::Remove { place, org, email } => {
            let opened = Opened::open(&place).await?;
            let result = opened.dir().remove_member(&org, &email, Timestamp::now()).await;
            opened.close().await;
            let m = result.with_context(|| format!("removing {email} from {org}"))?;
            eprintln!(
                "creditd: removed {} from {}; their keys are revoked and their sessions ended",
                m.email, m.org_id
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn login_link(args: LoginLinkArgs) -> Result<ExitCode> {
    if !(1..=7 * 24 * 60).contains(&args.ttl_minutes) {
        bail!("--ttl-minutes must be between 1 and 10080 (7 days)");
    }
    let base = args.base_url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        bail!("--base-url must start with http:// or https://, got {base:?}");
    }
    let opened = Opened::open(&args.place).await?;
    let ttl = SignedDuration::from_mins(args.ttl_minutes);
    let result =
        creditd_server::auth::issue_login_link(opened.dir(), &args.org, &args.email, Timestamp::now(), ttl).await;
    opened.close().await;
    let token = result.with_context(|| format!("making a sign-in link for {} in {}", args.email, args.org))?;
    eprintln!(
        "creditd: a one-time sign-in link for {} in {}, valid for {} minutes:",
        args.email, args.org, args.ttl_minutes
    );
    println!("{base}/login/{token}");
    Ok(ExitCode::SUCCESS)
}
