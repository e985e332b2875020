//! The creditd binary: flags in, validated config out, then the library does
//! the work. Errors print with their full chain.

mod admin;
mod bench;
mod config;
mod demo;
mod export;
mod generate;
mod history_bench;
mod import;
mod pgbench;
mod prices;
mod soak;

use std::ffi::OsString;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use creditd_sqlite::SqliteStore;
use creditd_store::{Store, SystemClock};

/// mimalloc: the writer and the HTTP path allocate many short-lived strings;
/// glibc's free/consolidate was a fifth of the writer's time in profiles.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "creditd", version, about = "A credit ledger and credit-history service")]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args, Clone)]
struct ServeArgs {
    /// A TOML file of these settings (keys: the flags' names with `_` for
    /// `-`; see creditd.example.toml). Flags and CREDITD_* variables win
    /// over it.
    #[arg(long, env = "CREDITD_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "CREDITD_LISTEN")]
    listen: SocketAddr,
    /// Where the embedded database lives.
    #[arg(long, default_value = "./creditd-data", env = "CREDITD_DATA_DIR")]
    data_dir: PathBuf,
    /// Use PostgreSQL instead of the embedded database
    /// (postgres://user:password@host:port/db). Several nodes may share one
    /// database; give them the same CREDITD_SERVICE_KEY.
    #[arg(long, env = "CREDITD_DATABASE_URL")]
    database_url: Option<String>,
    /// PostgreSQL read replicas (with --database-url; repeat the flag, or
    /// separate URLs with commas): history pages, exports, analytics and
    /// verify read from them in turn; balances and writes stay on the
    /// primary. A request with a `Creditd-Read-After: <seq>` header reads
    /// an org's events up to that seq (a replica that has not replayed
    /// them within 500 ms gives way to the primary).
    #[arg(
        long = "read-database-url",
        env = "CREDITD_READ_DATABASE_URLS",
        value_delimiter = ',',
        requires = "database_url"
    )]
    read_database_urls: Vec<String>,
    /// Where this node takes the writes other nodes forward to it (with
    /// --database-url and --peer): each org's writes go through one node,
    /// its home, so a hot org is not handed between nodes. Give a concrete
    /// address (the others name this node by it in their --peer) on a
    /// private network or loopback (docs/postgresql.md#home-nodes).
    #[arg(long, env = "CREDITD_PEER_LISTEN", requires = "database_url", requires = "peers")]
    peer_listen: Option<SocketAddr>,
    /// Another node's --peer-listen address (repeat the flag, or separate
    /// them with commas). Every node must list the same nodes.
    #[arg(long = "peer", env = "CREDITD_PEERS", value_delimiter = ',', requires = "peer_listen")]
    peers: Vec<SocketAddr>,
    /// With --peer: an org's writes go to its home node once this node
    /// writes it this many times in a second (a hot org); 0 sends every
    /// write of another node's orgs there.
    #[arg(long, default_value_t = creditd_server::forward::DEFAULT_HOT_WRITES_PER_SECOND, env = "CREDITD_PEER_HOT_WRITES_PER_S")]
    peer_hot_writes_per_s: u32,
    /// With --peer-listen: the URL this node's API clients reach it at,
    /// sent (as `Creditd-Home-Node`) with the answers to writes other
    /// nodes forward here, so a client that knows the nodes sends that
    /// org's writes here itself. Default: http:// and the --listen address,
    /// unless that is a wildcard (then no URL is sent).
    #[arg(long, env = "CREDITD_ADVERTISE_URL", requires = "peer_listen")]
    advertise_url: Option<String>,
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    bounds: BoundsArgs,
}

/// How the HTTP server treats connections and what it is reached through.
#[derive(clap::Args, Clone)]
struct HttpArgs {
    /// The URL browsers reach creditd at; an https:// one makes the session
    /// cookie Secure (creditd behind a TLS proxy).
    #[arg(long, env = "CREDITD_PUBLIC_URL")]
    public_url: Option<String>,
    /// Trust X-Forwarded-Proto from the proxy in front (it must set it and
    /// drop the client's own): `https` there makes the session cookie Secure.
    #[arg(long, env = "CREDITD_TRUST_FORWARDED_PROTO")]
    trust_forwarded_proto: bool,
    /// Seconds a client has to send a request's head (from connecting, or
    /// from the head's first byte).
    #[arg(long, default_value_t = 10, env = "CREDITD_HEADER_TIMEOUT_S", value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout_s: u64,
    /// Seconds a client has to send a request body (from the request's start).
    #[arg(long, default_value_t = 30, env = "CREDITD_BODY_TIMEOUT_S", value_parser = clap::value_parser!(u64).range(1..=3600))]
    body_timeout_s: u64,
    /// Seconds a kept-alive connection may wait for its next request.
    #[arg(long, default_value_t = 60, env = "CREDITD_IDLE_TIMEOUT_S", value_parser = clap::value_parser!(u64).range(1..=3600))]
    idle_timeout_s: u64,
    /// Most connections open at once; more wait (unaccepted) until one closes.
    #[arg(long, default_value_t = 4096, env = "CREDITD_MAX_CONNECTIONS", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// A private network webhooks may be sent to (repeatable; comma-separated
    /// in the env), e.g. 10.0.0.0/8. Without one, only public addresses.
    #[arg(long = "webhook-allow-network", env = "CREDITD_WEBHOOK_ALLOW_NETWORKS", value_delimiter = ',')]
    webhook_allow_networks: Vec<creditd_server::webhooks::Network>,
    /// Threads that serve requests and run the writer (default: one per
    /// CPU). On a machine that PostgreSQL or the callers share, fewer can
    /// be faster: 1 on 2 CPUs next to PostgreSQL measured 1.1-1.3x the
    /// requests per second of 2, with less CPU per request
    /// (docs/scaling.md).
    #[arg(long, env = "CREDITD_WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    worker_threads: Option<u16>,
}

impl ServeArgs {
    /// The checks clap cannot make, before anything starts (also run by
    /// `creditd config check`).
    fn validate(&self, config: Option<&Path>) -> Result<()> {
        let checked = self.http.public_https().and_then(|_| self.bounds.sqlite());
        match (checked, config) {
            (Err(e), Some(file)) => Err(e.context(format!(
                "the settings from the command line, the environment and {} (`creditd config check` shows them)",
                file.display()
            ))),
            (checked, _) => checked.map(|_| ()),
        }
    }
}

impl HttpArgs {
    /// Validated: the public URL must be an http(s) URL.
    fn public_https(&self) -> Result<bool> {
        Ok(match &self.public_url {
            None => false,
            Some(u) => match u.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase()) {
                Some(s) if s == "https" => true,
                Some(s) if s == "http" => false,
                _ => bail!("--public-url {u:?} must start with https:// or http://"),
            },
        })
    }

    fn apply(&self, mut app: creditd_server::AppState) -> Result<creditd_server::AppState> {
        let public_https = self.public_https()?;
        app.https =
            creditd_server::auth::HttpsPolicy { public_https, trust_forwarded_proto: self.trust_forwarded_proto };
        app.limits = creditd_server::conn::Limits {
            header_timeout: std::time::Duration::from_secs(self.header_timeout_s),
            body_timeout: std::time::Duration::from_secs(self.body_timeout_s),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_s),
            max_connections: usize::try_from(self.max_connections).context("--max-connections")?,
        };
        app.webhooks.networks.allowed = self.webhook_allow_networks.clone();
        Ok(app)
    }
}

/// Disk and memory bounds (docs/operations.md, "Bounded disk and memory").
#[derive(clap::Args, Clone, Debug)]
pub struct BoundsArgs {
    /// Embedded database: past this many MiB of write-ahead log the writer
    /// resets the log between two commits. 0: no cap (SQLite's automatic
    /// checkpoint at 1 GiB only).
    #[arg(long, default_value_t = 64, env = "CREDITD_WAL_CAP_MIB")]
    pub wal_cap_mib: u64,
    /// Organisation states the writer keeps in memory (least recently used
    /// go first; an evicted org is read again on its next write).
    #[arg(long, default_value_t = creditd_sqlite::OrgCacheSize::DEFAULT, env = "CREDITD_ORG_CACHE")]
    pub org_cache: creditd_sqlite::OrgCacheSize,
}

impl BoundsArgs {
    pub fn sqlite(&self) -> Result<creditd_sqlite::SqliteOptions> {
        let wal_cap_bytes = match self.wal_cap_mib {
            0 => None,
            mib => Some(mib.checked_mul(1 << 20).context("--wal-cap-mib is too large")?),
        };
        Ok(creditd_sqlite::SqliteOptions { wal_cap_bytes, org_cache: self.org_cache })
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the API server.
    // A flag given twice keeps its last value: the config file's arguments
    // come first (config.rs).
    #[command(args_override_self = true)]
    Serve(ServeArgs),
    /// The configuration file of `serve`.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Run the server with a demo organisation full of realistic history.
    Demo {
        #[command(flatten)]
        serve: DemoServeArgs,
    },
    /// Recompute every balance from the events; non-zero exit on a mismatch.
    Verify {
        #[arg(long, default_value = "./creditd-data", env = "CREDITD_DATA_DIR")]
        data_dir: PathBuf,
        /// Only this organisation.
        #[arg(long)]
        org: Option<String>,
        /// Verify a PostgreSQL database instead of the embedded one.
        #[arg(long, env = "CREDITD_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Copy the embedded database into FILE while the server runs (one
    /// consistent snapshot), then verify every organisation of the copy.
    Backup {
        #[arg(long, default_value = "./creditd-data", env = "CREDITD_DATA_DIR")]
        data_dir: PathBuf,
        /// The backup file to write (it must not exist).
        file: PathBuf,
    },
    /// Verify a backup FILE, then make it the database of an empty data
    /// directory (with no server running on it).
    Restore {
        /// The backup file to restore.
        file: PathBuf,
        #[arg(long, default_value = "./creditd-data", env = "CREDITD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Measure ledger throughput: engine batches and HTTP with concurrent clients.
    Bench(bench::BenchArgs),
    /// Export an organisation's credit history to CSV or Excel (same filters as the API).
    Export(export::ExportArgs),
    /// Import a full-layout CSV export into a new organisation: all or nothing, then verify.
    Import(import::ImportArgs),
    /// Write a big, realistic history into a new organisation (for benchmarks).
    Gen(generate::GenArgs),
    /// Measure history pages, exports and the indexes' write cost on `gen` data.
    BenchHistory(history_bench::HistoryBenchArgs),
    /// API keys: create (the secret is printed once), list, revoke.
    Keys(admin::KeysArgs),
    /// Members of an organisation: add, list, remove.
    Members(admin::MembersArgs),
    /// Print a one-time, expiring dashboard sign-in URL for a member.
    LoginLink(admin::LoginLinkArgs),
    /// Price books on a running server: set (write a new version from a JSON file), list.
    Prices(prices::PricesArgs),
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Check a configuration file as `serve` would and print the effective
    /// settings with where each comes from; non-zero exit if it is wrong.
    Check {
        #[arg(long, env = "CREDITD_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(clap::Args, Clone)]
struct DemoServeArgs {
    #[arg(long, default_value = "127.0.0.1:8080", env = "CREDITD_LISTEN")]
    listen: SocketAddr,
    #[arg(long, default_value = "./creditd-demo-data")]
    data_dir: PathBuf,
    #[command(flatten)]
    http: HttpArgs,
}

/// Hand memory back to the system as soon as it is freed.
///
/// mimalloc asks for transparent huge pages on its arenas (this kernel's
/// THP mode is `madvise`), so memory is faulted in 2 MiB at a time, and
/// only spans of 2 MiB or more are ever handed back, after a delay. After a
/// 300k-event CSV export over HTTP the server stayed at 106-114 MiB (RSS)
/// instead of its 60 MiB: the export's chunks are allocated on the engine's
/// worker threads and freed on the HTTP ones, leaving partly used huge
/// pages. Without THP (for the whole process: the first arena is reserved
/// before `main`), purging at once and from 64 KiB, the same exports peak
/// at 65-70 MiB and it idles at 51-57 MiB (docs/history-and-exports.md, "History at scale").
/// The cost is more page faults and a madvise per freed span; the writer
/// benchmark (`creditd bench`) should be re-run to confirm it does not show.
#[allow(unsafe_code)]
fn return_memory_promptly() {
    // `mi_option_t` values from the bundled mimalloc.h (v3); libmimalloc-sys
    // names only the older options. Unknown values are ignored by mimalloc.
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    const ALLOW_THP: libmimalloc_sys::mi_option_t = 43;
    const MINIMAL_PURGE_SIZE_KIB: libmimalloc_sys::mi_option_t = 44;
    // SAFETY: prctl with integer arguments only; mi_option_set is a plain
    // setter of a global option, called before any other thread starts (it
    // is not thread safe).
    unsafe {
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        libmimalloc_sys::mi_option_set(ALLOW_THP, 0);
        libmimalloc_sys::mi_option_set(MINIMAL_PURGE_SIZE_KIB, 64);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
}

fn main() -> ExitCode {
    return_memory_promptly();
    let cli = match parse_cli(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("creditd: error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(cli.log_format);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Cmd::Serve(ServeArgs { http: HttpArgs { worker_threads: Some(n), .. }, .. }) = &cli.command {
        builder.worker_threads(usize::from(*n));
    }
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("creditd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("creditd: error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The command line, with `serve --config FILE`'s settings put in right
/// after `serve` (before the user's own flags, which win).
fn parse_cli(argv: Vec<OsString>) -> Result<Cli> {
    let cli = Cli::parse_from(&argv);
    let Cmd::Serve(ServeArgs { config: Some(path), .. }) = &cli.command else { return Ok(cli) };
    // `serve` itself: the first such word that is not `--log-format`'s value.
    let at = (1..argv.len())
        .find(|&i| argv[i] == "serve" && argv[i - 1] != "--log-format")
        .context("no serve subcommand in the command line")?;
    let file = config::file_args(&serve_command(), path, &argv[1..])?;
    let mut full = argv[..=at].to_vec();
    full.extend(file);
    full.extend_from_slice(&argv[at + 1..]);
    Ok(Cli::parse_from(full))
}

/// `serve` as clap sees it, with the global flags propagated to it.
fn serve_command() -> clap::Command {
    let mut cli = Cli::command();
    cli.build();
    cli.find_subcommand("serve").expect("a serve subcommand").clone()
}

/// `creditd config check`: the same reading as `serve`, then the settings.
fn config_check(path: Option<&Path>) -> Result<ExitCode> {
    let serve = serve_command();
    let mut argv: Vec<OsString> = vec!["creditd".into(), "serve".into()];
    if let Some(path) = path {
        argv.extend(config::file_args(&serve, path, &[])?);
    }
    let matches = Cli::command().try_get_matches_from(&argv)?;
    let Cmd::Serve(args) = Cli::from_arg_matches(&matches)?.command else { bail!("not a serve command line") };
    args.validate(path)?;
    let (_, sub) = matches.subcommand().context("no serve matches")?;
    match path {
        Some(p) => println!("# {}: ok", p.display()),
        None => println!("# no configuration file (--config or CREDITD_CONFIG): defaults and environment"),
    }
    for (key, arg) in config::keys(&serve) {
        let id = arg.get_id().as_str();
        let source = match sub.value_source(id) {
            Some(clap::parser::ValueSource::CommandLine) => "file",
            Some(clap::parser::ValueSource::EnvVariable) => "env",
            Some(clap::parser::ValueSource::DefaultValue) => "default",
            _ => "unset",
        };
        let values: Vec<String> =
            sub.get_raw(id).map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect()).unwrap_or_default();
        println!("{key:<22} = {:<24} # {source}", values.join(","));
    }
    Ok(ExitCode::SUCCESS)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(cmd: Cmd) -> Result<ExitCode> {
    match cmd {
        Cmd::Serve(args) => {
            args.validate(args.config.as_deref())?;
            let store = match &args.database_url {
                Some(url) => {
                    if std::env::var_os("CREDITD_SERVICE_KEY").is_none() {
                        // The service key file lives there.
                        creditd_sqlite::create_private_dir(&args.data_dir)
                            .with_context(|| format!("creating {}", args.data_dir.display()))?;
                    }
                    open_pg_store_with(url, &args.read_database_urls, args.bounds.org_cache).await?
                }
                None => open_store_with(&args.data_dir, args.bounds.sqlite()?)?,
            };
            let peers = args.peer_listen.map(|listen| PeerSettings {
                listen,
                others: args.peers.clone(),
                hot_writes_per_s: args.peer_hot_writes_per_s,
                advertise_url: args.advertise_url.clone(),
            });
            serve_with_peers(store, &args.data_dir, args.listen, &args.http, peers).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Demo { serve: args } => {
            demo::seed(&args.data_dir).await.context("seeding the demo organisation")?;
            let store = open_store(&args.data_dir)?;
            let link = demo::sign_in_link(store.as_ref(), args.listen).await.context("making a sign-in link")?;
            eprintln!("creditd: open the dashboard as the demo's owner (a one-time link, valid for an hour):");
            eprintln!("  {link}");
            serve(store, &args.data_dir, args.listen, &args.http).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Config(ConfigCmd::Check { config }) => config_check(config.as_deref()),
        Cmd::Verify { data_dir, org, database_url } => verify(&data_dir, org, database_url).await,
        Cmd::Backup { data_dir, file } => {
            let r = tokio::task::spawn_blocking(move || creditd_sqlite::backup::backup(&data_dir, &file)).await??;
            eprintln!(
                "creditd: backed up {} organisations, {} events ({:.1} MB) to {} in {:.1} s; the copy verifies ({:.1} s)",
                r.orgs.len(),
                r.events(),
                r.bytes as f64 / 1e6,
                r.file.display(),
                r.copy_seconds,
                r.verify_seconds
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Restore { file, data_dir } => {
            let dir = data_dir.clone();
            let r = tokio::task::spawn_blocking(move || creditd_sqlite::backup::restore(&file, &dir)).await??;
            eprintln!(
                "creditd: restored {} organisations, {} events from {} into {} (verified first)",
                r.orgs.len(),
                r.events(),
                r.file.display(),
                data_dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bench(args) => {
            bench::run(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Export(args) => {
            export::run(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Import(args) => import::run(args).await,
        Cmd::Gen(args) => {
            generate::run(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::BenchHistory(args) => {
            history_bench::run(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Keys(args) => admin::keys(args).await,
        Cmd::Members(args) => admin::members(args).await,
        Cmd::LoginLink(args) => admin::login_link(args).await,
        Cmd::Prices(args) => prices::prices(args).await,
    }
}

fn open_store(data_dir: &Path) -> Result<Arc<dyn Store>> {
    open_store_with(data_dir, creditd_sqlite::SqliteOptions::default())
}

fn open_store_with(data_dir: &Path, options: creditd_sqlite::SqliteOptions) -> Result<Arc<dyn Store>> {
    let store = SqliteStore::open_with_options(data_dir, Arc::new(SystemClock), options)
        .with_context(|| format!("opening the data directory {}", data_dir.display()))?;
    Ok(Arc::new(store))
}

/// The PostgreSQL engine (`--database-url`).
async fn open_pg_store(url: &str) -> Result<Arc<dyn Store>> {
    open_pg_store_with(url, &[], Default::default()).await
}

async fn open_pg_store_with(
    url: &str,
    read_replicas: &[String],
    org_cache: creditd_sqlite::OrgCacheSize,
) -> Result<Arc<dyn Store>> {
    let store = creditd_postgres::PgStore::open_with_org_cache(url, Arc::new(SystemClock), org_cache)
        .await
        .context("opening the PostgreSQL database (--database-url)")?
        .with_read_replicas(read_replicas, creditd_postgres::DEFAULT_POOL_SIZE)
        .await
        .context("opening a read replica (--read-database-url)")?;
    Ok(Arc::new(store))
}

/// The service key: `CREDITD_SERVICE_KEY`, else the one stored in the data
/// directory, else a new one written there (and printed once).
fn service_key(data_dir: &Path) -> Result<String> {
    if let Ok(k) = std::env::var("CREDITD_SERVICE_KEY") {
        if k.trim().len() < 16 {
            bail!("CREDITD_SERVICE_KEY must be at least 16 characters");
        }
        return Ok(k.trim().to_string());
    }
    let path = data_dir.join("service-key");
    if let Ok(k) = std::fs::read_to_string(&path) {
        return Ok(k.trim().to_string());
    }
    let key = format!("sk_{}", creditd_server::random_token(40));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&path).with_context(|| format!("writing {}", path.display()))?;
    writeln!(f, "{key}")?;
    eprintln!("creditd: generated a service key (stored in {}):\n\n    {key}\n", path.display());
    Ok(key)
}

async fn serve(store: Arc<dyn Store>, data_dir: &Path, listen: SocketAddr, http: &HttpArgs) -> Result<()> {
    serve_with_peers(store, data_dir, listen, http, None).await
}

/// `serve --peer-listen … --peer …`: where this node takes forwarded
/// writes, the other nodes, and when an org is hot.
struct PeerSettings {
    listen: SocketAddr,
    others: Vec<SocketAddr>,
    hot_writes_per_s: u32,
    advertise_url: Option<String>,
}

/// [`serve`]; with `peers`, hot orgs' writes go through each org's home
/// node (creditd_server::forward).
async fn serve_with_peers(
    store: Arc<dyn Store>,
    data_dir: &Path,
    listen: SocketAddr,
    http: &HttpArgs,
    peers: Option<PeerSettings>,
) -> Result<()> {
    let key = service_key(data_dir)?;
    let mut app = http.apply(creditd_server::AppState::new(store.clone(), key))?;
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    let peer_listener = match peers {
        Some(PeerSettings { listen: at, others, hot_writes_per_s, advertise_url }) => {
            let l = tokio::net::TcpListener::bind(at).await.with_context(|| format!("listening for peers on {at}"))?;
            let me = l.local_addr()?;
            if me.ip().is_unspecified() {
                bail!("--peer-listen {at}: give the address the other nodes reach this one at, not {}", me.ip());
            }
            tracing::info!(%me, peers = ?others, "writes go through each organisation's home node");
            let mut ring = creditd_server::forward::Ring::new(me.to_string(), others.iter().map(ToString::to_string))
                .with_hot_rate(hot_writes_per_s);
            let url = advertise_url.or_else(|| (!addr.ip().is_unspecified()).then(|| format!("http://{addr}")));
            if let Some(url) = url {
                ring = ring.with_url(&url).map_err(|e| anyhow!("--advertise-url: {e}"))?;
            }
            match ring.url() {
                Some(url) => eprintln!("creditd: taking forwarded writes on {me}; clients are sent here as {url}"),
                None => eprintln!(
                    "creditd: taking forwarded writes on {me}; --listen is a wildcard, so give --advertise-url for \
                     clients to write this node's orgs here directly"
                ),
            }
            app.ring = Some(Arc::new(ring));
            Some(l)
        }
        None => None,
    };
    tracing::info!(%addr, engine = store.engine(), data_dir = %data_dir.display(), "creditd is listening");
    eprintln!(
        "creditd: listening on http://{addr}  (Ctrl-C stops; try: curl -H 'Authorization: Bearer <key>' http://{addr}/api/organizations/demo/balance)"
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: draining requests and the writer");
    };
    creditd_server::serve_node(listener, peer_listener, app, shutdown).await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn verify(data_dir: &Path, org: Option<String>, database_url: Option<String>) -> Result<ExitCode> {
    let store = match database_url {
        Some(url) => open_pg_store(&url).await?,
        None => {
            if !data_dir.join("creditd.sqlite").exists() {
                bail!("no creditd database in {}", data_dir.display());
            }
            open_store(data_dir)?
        }
    };
    let orgs = match org {
        Some(o) => vec![o],
        None => store.org_ids().await?,
    };
    let mut bad = 0;
    for org in &orgs {
        let report = store.verify(org).await.with_context(|| format!("verifying {org}"))?;
        if report.ok {
            let chain = if report.chain_checked { ", hash chain intact" } else { "" };
            println!("ok   {org}: {} events, balances match{chain}", report.events);
        } else {
            bad += 1;
            println!("FAIL {org}: {} events", report.events);
            for p in &report.problems {
                println!("     - {p}");
            }
            if let Some(link) = &report.broken_link {
                println!("     first broken link: event {}", link.seq);
                println!("       stored hash     {}", link.stored_hash.as_deref().unwrap_or("(none)"));
                println!("       recomputed hash {}", link.recomputed_hash);
            }
        }
    }
    store.shutdown().await;
    println!("{} organisations checked, {bad} with problems", orgs.len());
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
