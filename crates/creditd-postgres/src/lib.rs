//! creditd-postgres: the scale-out engine. Several stateless creditd nodes
//! share one PostgreSQL database.
//!
//! Each node runs one writer, on a thread of its own (see
//! `writer::start_thread`), that batches queued commands into one
//! transaction (group commit, as the SQLite engine does) and keeps the
//! ledger states of the orgs it touched in memory. Like the SQLite
//! engine's, it is a pipeline: batch N+1 is applied while batch N commits
//! (each batch one round trip of pipelined statements). Nodes serialise
//! per organisation on the org's row: a batch locks the rows of the orgs
//! it writes (`SELECT … FOR UPDATE`, in `org_id` order) and its cached
//! states count only if each row's `version` is still the one it cached;
//! otherwise the batch is refused and runs again on the states read under
//! the lock (see `writer`). Holds, debits,
//! idempotency keys and hold timeouts therefore happen exactly once
//! whichever node sees them. Reads (history, exports, balances, verify) go
//! through a connection pool and never wait for the writer.
//!
//! With read replicas ([`PgStore::with_read_replicas`]), history pages,
//! exports, analytics and verify read from a replica (round robin); what
//! the ledger decides (balances, states, writes) stays on the primary. A
//! read that names a position (`creditd_store::consistency`) waits up to
//! [`REPLICA_WAIT`] for the replica to replay the org's events up to it,
//! then reads from the primary; a replica that cannot be reached sends its
//! reads to the primary too.

pub mod catalogue;
pub mod directory;
mod follower;
mod import;
pub mod prices;
mod reader;
mod rollups;
pub mod schema;
pub mod webhooks;
mod writer;

use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use creditd_core::verify::VerifyReport;
use creditd_core::{Balance, Notification, OrgSettings, OrgState, Outcome};
use creditd_store::{
    Clock, Command, ConversationCount, ConversationQuery, EventChunks, EventFilter, EventQuery, Order, OrgInfo, Page,
    Store, StoreError,
};
use deadpool_postgres::{ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_postgres::NoTls;

use writer::{Job, Writer};

pub use follower::{FLUSH_CHUNK_ORGS, FLUSH_EVERY, FLUSH_ORG_EVENTS, FLUSH_PACE, FLUSH_ROWS};
pub use writer::{GATHER_FOR, PIPELINE_DEPTH, PipelineStats};

pub use creditd_store::cache::OrgCacheSize;

pub use schema::MigrateError;
pub use tokio_postgres::Config as PgConfig;

/// Most jobs waiting for the writer before callers are made to wait.
pub const WRITER_QUEUE: usize = 8192;
/// Connections kept for reads (the writer has `1 + PIPELINE_DEPTH` more of
/// its own: the locked path's and one per batch in flight).
pub const DEFAULT_POOL_SIZE: usize = 16;
/// Longest a read waits for a free connection.
const POOL_WAIT: Duration = Duration::from_secs(30);
/// Longest a read that names a position waits for a replica to replay it
/// before it reads from the primary instead.
pub const REPLICA_WAIT: Duration = Duration::from_millis(500);
/// Longest opening waits for a replica to replay the primary's schema.
const REPLICA_SCHEMA_WAIT: Duration = Duration::from_secs(10);
/// How often a waiting read asks the replica how far it has replayed.
const REPLICA_POLL: Duration = Duration::from_millis(5);
/// Longest the pool of a replica waits to connect or for a connection
/// before its read goes to the primary.
const REPLICA_CONNECT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("invalid database URL: {0}")]
    Url(String),
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(String),
    #[error(transparent)]
    Migrate(#[from] MigrateError),
}

pub struct PgStore {
    pool: Pool,
    /// Read replicas, in the order given; empty: every read on `pool`.
    replicas: Vec<Pool>,
    next_replica: AtomicUsize,
    clock: Arc<dyn Clock>,
    directory: directory::PgDirectory,
    webhooks: webhooks::PgWebhooks,
    price_books: prices::PgPriceBooks,
    plan_catalogue: catalogue::PgPlanCatalogue,
    jobs: mpsc::Sender<Job>,
    writer: Mutex<Option<JoinHandle<()>>>,
    pipeline: Arc<PipelineStats>,
    /// Folds the rollups of this node's batches and writes them every
    /// [`FLUSH_EVERY`] (`follower`).
    follower: Arc<follower::Follower>,
    following: Mutex<Option<JoinHandle<()>>>,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:pass@host:port/db`), runs
    /// migrations and starts this node's writer.
    pub async fn open(url: &str, clock: Arc<dyn Clock>) -> Result<PgStore, OpenError> {
        Self::open_with_org_cache(url, clock, OrgCacheSize::DEFAULT).await
    }

    /// [`PgStore::open`] with a writer that keeps at most `org_cache` org
    /// states in memory (least recently used go).
    pub async fn open_with_org_cache(
        url: &str,
        clock: Arc<dyn Clock>,
        org_cache: OrgCacheSize,
    ) -> Result<PgStore, OpenError> {
        let config = PgConfig::from_str(url).map_err(|e| OpenError::Url(e.to_string()))?;
        Self::open_config_with(config, DEFAULT_POOL_SIZE, clock, org_cache).await
    }

    pub async fn open_config(config: PgConfig, pool_size: usize, clock: Arc<dyn Clock>) -> Result<PgStore, OpenError> {
        Self::open_config_with(config, pool_size, clock, OrgCacheSize::DEFAULT).await
    }

    pub async fn open_config_with(
        config: PgConfig,
        pool_size: usize,
        clock: Arc<dyn Clock>,
        org_cache: OrgCacheSize,
    ) -> Result<PgStore, OpenError> {
        // Reads, the follower and the directory; the writer has its own.
        let pool = pool_of(&config, pool_size.max(1), POOL_WAIT, None)?;
        {
            let mut client = pool.get().await.map_err(|e| OpenError::Connect(chain(&e)))?;
            let client: &mut tokio_postgres::Client = &mut client;
            schema::migrate(client).await?;
        }
        let (tx, rx) = mpsc::channel(WRITER_QUEUE);
        let price_books = prices::PgPriceBooks::load(pool.clone(), clock.clone())
            .await
            .map_err(|e| OpenError::Connect(format!("reading the price books: {e}")))?;
        let catalogue = creditd_store::prices::PriceBooks::catalogue(&price_books);
        let pipeline = Arc::new(PipelineStats::default());
        let follower = Arc::new(follower::Follower::default());
        let writer_pool = pool_of(&writer_config(&config), 1 + PIPELINE_DEPTH, POOL_WAIT, None)?;
        let writer = Writer::new(writer_pool, clock.clone(), org_cache, catalogue, pipeline.clone(), follower.clone());
        let handle =
            writer::start_thread(writer, rx).map_err(|e| OpenError::Connect(format!("starting the writer: {e}")))?;
        let following = tokio::spawn(follower.clone().run(pool.clone()));
        let directory = directory::PgDirectory::new(pool.clone());
        let webhooks = webhooks::PgWebhooks::new(pool.clone());
        let plan_catalogue = catalogue::PgPlanCatalogue::new(pool.clone());
        Ok(PgStore {
            pool,
            price_books,
            plan_catalogue,
            replicas: Vec::new(),
            next_replica: AtomicUsize::new(0),
            clock,
            directory,
            webhooks,
            jobs: tx,
            writer: Mutex::new(Some(handle)),
            pipeline,
            follower,
            following: Mutex::new(Some(following)),
        })
    }

    /// Serves history pages, exports, analytics and verify from these read
    /// replicas (streaming standbys of the primary, or any copy kept up to
    /// date), `pool_size` connections each. Each must answer and hold the
    /// schema now; later, one that cannot be reached sends its reads to
    /// the primary.
    pub async fn with_read_replicas(mut self, urls: &[String], pool_size: usize) -> Result<PgStore, OpenError> {
        for url in urls {
            let url = url.as_str();
            let config = PgConfig::from_str(url).map_err(|e| OpenError::Url(e.to_string()))?;
            let pool = pool_of(&config, pool_size.max(1), REPLICA_CONNECT, Some(REPLICA_CONNECT))?;
            let client = pool.get().await.map_err(|e| OpenError::Connect(format!("read replica: {}", chain(&e))))?;
            // A standby replays the primary's migrations a moment later.
            let deadline = Instant::now() + REPLICA_SCHEMA_WAIT;
            while let Err(e) = client.query_one("SELECT count(*) FROM orgs WHERE false", &[]).await {
                if Instant::now() >= deadline {
                    return Err(OpenError::Connect(format!("read replica has no creditd schema: {}", chain(&e))));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            self.replicas.push(pool);
        }
        Ok(self)
    }

    /// What this node's writer pipeline has done so far.
    pub fn pipeline_stats(&self) -> &PipelineStats {
        &self.pipeline
    }

    /// Jobs queued for this node's writer that it has not taken yet (it
    /// takes what queued while it waited for a commit, a slot or row
    /// locks when the wait ends).
    pub fn queued_jobs(&self) -> usize {
        self.jobs.max_capacity() - self.jobs.capacity()
    }

    /// A connection for a read that may come from a replica: the next
    /// replica (round robin) once it has replayed the position this task
    /// names for `org_id`, if any; else the primary.
    async fn read_conn(&self, org_id: &str) -> Result<deadpool_postgres::Client, StoreError> {
        if self.replicas.is_empty() {
            return self.conn().await;
        }
        let i = self.next_replica.fetch_add(1, Ordering::Relaxed) % self.replicas.len();
        let Ok(client) = self.replicas[i].get().await else {
            creditd_store::telemetry::replica_read("primary_unavailable");
            return self.conn().await;
        };
        let Some(seq) = creditd_store::consistency::current() else {
            creditd_store::telemetry::replica_read("replica");
            return Ok(client);
        };
        let want = i64::try_from(seq).unwrap_or(i64::MAX);
        let deadline = Instant::now() + REPLICA_WAIT;
        loop {
            let replayed = client
                .query_one("SELECT COALESCE(MAX(seq), 0) FROM events WHERE org_id = $1", &[&org_id])
                .await
                .map(|row| row.get::<_, i64>(0));
            match replayed {
                Ok(at) if at >= want => {
                    creditd_store::telemetry::replica_read("replica");
                    return Ok(client);
                }
                Ok(_) if Instant::now() < deadline => tokio::time::sleep(REPLICA_POLL).await,
                Ok(_) => {
                    creditd_store::telemetry::replica_read("primary_lagging");
                    return self.conn().await;
                }
                Err(_) => {
                    creditd_store::telemetry::replica_read("primary_unavailable");
                    return self.conn().await;
                }
            }
        }
    }

    async fn send<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Job) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.jobs.send(make(tx)).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)
    }

    async fn conn(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool.get().await.map_err(StoreError::backend)
    }
}

#[async_trait]
impl Store for PgStore {
    fn engine(&self) -> &'static str {
        "postgres"
    }

    async fn create_org(&self, org_id: &str, settings: OrgSettings) -> Result<OrgInfo, StoreError> {
        let org_id = org_id.to_string();
        self.send(|reply| Job::CreateOrg { org_id, settings, reply }).await?
    }

    async fn org(&self, org_id: &str) -> Result<OrgInfo, StoreError> {
        if org_id.contains('\0') {
            return Err(StoreError::OrgNotFound(org_id.replace('\0', "\\0")));
        }
        let c = self.conn().await?;
        let s = reader::load_state(&c, org_id).await?;
        let parent_id = reader::parent_of(&c, org_id).await?;
        Ok(OrgInfo { id: s.org_id.clone(), created_at: s.created_at, parent_id, settings: s.settings })
    }

    async fn set_parent(&self, org_id: &str, parent_id: Option<&str>) -> Result<OrgInfo, StoreError> {
        if org_id.contains('\0') || parent_id.is_some_and(|p| p.contains('\0')) {
            return Err(StoreError::OrgNotFound(org_id.replace('\0', "\\0")));
        }
        reader::set_parent(&mut self.conn().await?, org_id, parent_id).await
    }

    async fn children(&self, org_ids: &[String]) -> Result<Vec<String>, StoreError> {
        if org_ids.iter().any(|o| o.contains('\0')) {
            return Ok(Vec::new());
        }
        reader::children(&self.conn().await?, org_ids).await
    }

    async fn org_ids(&self) -> Result<Vec<String>, StoreError> {
        reader::org_ids(&self.conn().await?).await
    }

    async fn balance(&self, org_id: &str) -> Result<Balance, StoreError> {
        if org_id.contains('\0') {
            return Err(StoreError::OrgNotFound(org_id.replace('\0', "\\0")));
        }
        Ok(reader::load_state(&self.conn().await?, org_id).await?.balance())
    }

    async fn execute(&self, commands: Vec<Command>) -> Vec<Result<Outcome, StoreError>> {
        let n = commands.len();
        match self.send(|reply| Job::Execute { commands, reply }).await {
            Ok(results) => results,
            Err(e) => (0..n).map(|_| Err(e.clone())).collect(),
        }
    }

    async fn events(&self, org_id: &str, query: &EventQuery) -> Result<Page, StoreError> {
        if has_nul(org_id, &query.filter) {
            return nul_refusal(org_id);
        }
        reader::events_page(&mut self.read_conn(org_id).await?, org_id, query).await
    }

    async fn export(&self, org_id: &str, filter: &EventFilter) -> Result<EventChunks, StoreError> {
        self.export_in(org_id, filter, Order::NewestFirst).await
    }

    async fn export_in(&self, org_id: &str, filter: &EventFilter, order: Order) -> Result<EventChunks, StoreError> {
        if has_nul(org_id, filter) {
            return nul_refusal(org_id);
        }
        let mut conn = self.read_conn(org_id).await?;
        // Fail fast on an unknown org, before any bytes are sent.
        reader::load_state(&conn, org_id).await?;
        let (tx, rx) = mpsc::channel(4);
        let org_id = org_id.to_string();
        let filter = filter.clone();
        tokio::spawn(async move {
            if let Err(e) = reader::stream_events(&mut conn, &org_id, &filter, order, &tx).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        Ok(rx)
    }

    async fn verify(&self, org_id: &str) -> Result<VerifyReport, StoreError> {
        if org_id.contains('\0') {
            return Err(StoreError::OrgNotFound(org_id.replace('\0', "\\0")));
        }
        let mut report = reader::verify(&mut self.read_conn(org_id).await?, org_id).await?;
        creditd_store::transfers::add_to(self, &mut report).await?;
        Ok(report)
    }

    async fn tick(&self) -> Result<usize, StoreError> {
        self.send(|reply| Job::Tick { reply }).await?
    }

    async fn org_state(&self, org_id: &str) -> Result<OrgState, StoreError> {
        if org_id.contains('\0') {
            return Err(StoreError::OrgNotFound(org_id.replace('\0', "\\0")));
        }
        reader::load_state(&self.conn().await?, org_id).await
    }

    async fn conversation_usage(
        &self,
        org_id: &str,
        query: &ConversationQuery,
    ) -> Result<Vec<ConversationCount>, StoreError> {
        if org_id.contains('\0') {
            return Err(StoreError::OrgNotFound(org_id.replace('\0', "\\0")));
        }
        reader::conversation_usage(&self.read_conn(org_id).await?, org_id, query).await
    }

    async fn usage(
        &self,
        org_id: &str,
        query: &creditd_store::rollup::UsageQuery,
    ) -> Result<Vec<creditd_store::rollup::UsageRow>, StoreError> {
        rollups::usage(&mut self.read_conn(org_id).await?, org_id, query).await
    }

    async fn usage_hours(
        &self,
        org_id: &str,
        query: &creditd_store::hours::HourQuery,
    ) -> Result<Vec<creditd_store::hours::HourRow>, StoreError> {
        query.check()?;
        if org_id.contains('\0') {
            return Err(StoreError::OrgNotFound(org_id.replace('\0', "\\0")));
        }
        reader::usage_hours(&mut self.read_conn(org_id).await?, org_id, query).await
    }

    async fn statement_lines(
        &self,
        org_id: &str,
        first_day: jiff::civil::Date,
        last_day: jiff::civil::Date,
    ) -> Result<Vec<creditd_store::rollup::UsageRow>, StoreError> {
        if org_id.contains('\0') {
            return Ok(Vec::new());
        }
        let (sql, args) = creditd_store::rollup::statement_lines_sql(org_id, first_day, last_day, |n| format!("${n}"));
        rollups::read_rows(&mut self.read_conn(org_id).await?, org_id, &sql, args).await
    }

    async fn notifications(&self, org_id: &str, after_seq: u64, limit: u32) -> Result<Vec<Notification>, StoreError> {
        if org_id.contains('\0') {
            return Err(StoreError::OrgNotFound(org_id.replace('\0', "\\0")));
        }
        reader::notifications(&self.conn().await?, org_id, after_seq, limit).await
    }

    fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    async fn import(
        &self,
        org_id: &str,
        settings: OrgSettings,
        events: Vec<creditd_core::Event>,
    ) -> Result<creditd_store::import::ImportReport, StoreError> {
        let now = self.clock.now();
        import::import(&mut self.conn().await?, org_id, settings, &events, now).await
    }

    fn directory(&self) -> &dyn creditd_store::Directory {
        &self.directory
    }

    fn webhooks(&self) -> &dyn creditd_store::webhooks::Webhooks {
        &self.webhooks
    }

    fn price_books(&self) -> &dyn creditd_store::prices::PriceBooks {
        &self.price_books
    }

    fn plan_catalogue(&self) -> &dyn creditd_store::catalogue::PlanCatalogue {
        &self.plan_catalogue
    }

    async fn shutdown(&self) {
        let _ = self.send(|reply| Job::Shutdown { reply }).await;
        let handle = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.await;
        }
        // The writer has stopped: what it committed is folded; write it.
        if let Some(h) = self.following.lock().unwrap_or_else(|p| p.into_inner()).take() {
            h.abort();
        }
        if let Err(e) = self.follower.flush(&self.pool, false).await {
            tracing::warn!(error = %e, "rollups: the last flush failed; reads and the next node fold those events");
        }
        self.pool.close();
        for replica in &self.replicas {
            replica.close();
        }
    }
}

/// The writer's connections: `config`, with generic plans and sequential
/// scans priced out.
///
/// Generic plans: with custom plans (PostgreSQL's choice for the
/// statements whose cost depends on an array's length, such as the row
/// locks and the org row update) each batch planned them again, at 30 to
/// 65 µs each: more than they took to run (`pg_stat_statements` with
/// `track_planning`). Every writer statement finds its rows by key, so the
/// generic plan is the same index lookup whatever the batch's size. It is
/// set for the connection, not per transaction: a batch applied ahead is
/// one statement with no `BEGIN` (see `writer::one_statement`). These
/// connections serve the writer only; the shared pool keeps the default.
///
/// Sequential scans: the writer keeps its plans for the connection's
/// life. A plan made while a table is nearly empty (a new database) scans
/// it whole, and went on doing so as it grew, until PostgreSQL analysed it
/// again: an idempotency key lookup that seq-scanned a growing table
/// took PostgreSQL to 200 µs per operation. With `enable_seqscan` off,
/// such a plan takes the index whatever the table's size then; a
/// statement with no index to use still scans (the setting is a cost,
/// not a ban). Options the caller gave are kept.
fn writer_config(config: &PgConfig) -> PgConfig {
    let mut config = config.clone();
    let options = match config.get_options() {
        Some(given) if !given.trim().is_empty() => format!("{given} {WRITER_OPTIONS}"),
        _ => WRITER_OPTIONS.to_string(),
    };
    config.options(&options);
    config
}

/// The settings [`writer_config`] adds.
const WRITER_OPTIONS: &str = "-c plan_cache_mode=force_generic_plan -c enable_seqscan=off";

/// A pool of at most `size` connections to `config`'s database: a caller
/// waits up to `wait` for a free one, a new one is given up on after
/// `connect` (`None`: the driver's own timeout). Each connection's I/O is
/// driven by the runtime it was made on.
fn pool_of(config: &PgConfig, size: usize, wait: Duration, connect: Option<Duration>) -> Result<Pool, OpenError> {
    let manager = deadpool_postgres::Manager::from_config(
        config.clone(),
        NoTls,
        ManagerConfig { recycling_method: RecyclingMethod::Fast },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(wait))
        .create_timeout(connect)
        .build()
        .map_err(|e| OpenError::Connect(chain(&e)))
}

/// An error with its causes ("error connecting to server: Connection
/// refused"): the pool's own message alone does not say why.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

fn has_nul(org_id: &str, f: &EventFilter) -> bool {
    org_id.contains('\0')
        || f.project_id.as_deref().is_some_and(|s| s.contains('\0'))
        || f.user_email.as_deref().is_some_and(|s| s.contains('\0'))
        || f.services.iter().any(|s| s.contains('\0'))
}

fn nul_refusal<T>(org_id: &str) -> Result<T, StoreError> {
    if org_id.contains('\0') {
        Err(StoreError::OrgNotFound(org_id.replace('\0', "\\0")))
    } else {
        Err(StoreError::Ledger(creditd_core::LedgerError::Invalid("filters must not contain NUL characters".into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The writer's connections use generic plans, price sequential scans
    /// out, and keep what the caller set.
    #[test]
    fn the_writers_connections_price_sequential_scans_out() {
        let plain: PgConfig = "postgres://u@127.0.0.1/db".parse().expect("url");
        assert_eq!(
            writer_config(&plain).get_options(),
            Some("-c plan_cache_mode=force_generic_plan -c enable_seqscan=off")
        );
        let given: PgConfig =
            "postgres://u@127.0.0.1/db?options=-c%20statement_timeout%3D5000".parse().expect("url with options");
        assert_eq!(
            writer_config(&given).get_options(),
            Some("-c statement_timeout=5000 -c plan_cache_mode=force_generic_plan -c enable_seqscan=off")
        );
        assert_eq!(given.get_options(), Some("-c statement_timeout=5000"), "the shared pool's are left as given");
    }
}
