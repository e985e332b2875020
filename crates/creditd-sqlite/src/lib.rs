//! creditd-sqlite: the embedded default engine.
//!
//! The writer is a pipeline of two threads. The apply thread owns the
//! in-memory ledger state of every organisation it has touched and applies
//! queued commands into a batch; the committer writes a batch (events, each
//! touched row once) in one transaction with one fsync (group commit) and
//! answers its callers. While batch N commits, batch N+1 is applied on top of
//! N's states; if N fails, N+1 fails too (see `writer` and ARCHITECTURE.md).
//! Readers use their own read-only connections and never wait for the
//! writer (WAL).

pub mod backup;
mod catalogue;
mod checkpoint;
mod directory;
mod prices;
mod reader;
mod rollups;
pub mod schema;
mod webhooks;
mod writer;

#[cfg(test)]
mod pipeline_tests;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use creditd_core::verify::VerifyReport;
use creditd_core::{Balance, Notification, OrgSettings, OrgState, Outcome};
use creditd_store::{
    Clock, Command, ConversationCount, ConversationQuery, EventChunks, EventFilter, EventQuery, Order, OrgInfo, Page,
    Store, StoreError,
};
use tokio::sync::{mpsc, oneshot};

pub use catalogue::SqlitePlanCatalogue;
use checkpoint::Checkpointer;
pub use directory::{DirectoryOpenError, SqliteDirectory};
pub use prices::SqlitePriceBooks;
use reader::ReadPool;
pub use webhooks::SqliteWebhooks;
use writer::{Job, Writer};

/// Most jobs waiting for the writer before callers are made to wait.
pub const WRITER_QUEUE: usize = 8192;

pub use checkpoint::DEFAULT_WAL_CAP_BYTES;
pub use creditd_store::cache::OrgCacheSize;

/// How the engine bounds its disk and memory (docs/operations.md, "Bounded disk and
/// memory").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Past this many bytes of WAL the committer resets the log between two
    /// commits. `None`: no cap, only SQLite's automatic checkpoint at 1 GiB
    /// (the behaviour before the cap; `creditd bench` compares the two).
    pub wal_cap_bytes: Option<u64>,
    /// Org states the writer keeps in memory (least recently used go).
    pub org_cache: OrgCacheSize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions { wal_cap_bytes: Some(DEFAULT_WAL_CAP_BYTES), org_cache: OrgCacheSize::DEFAULT }
    }
}

/// The database's file name in a data directory.
pub const DB_FILE: &str = "creditd.sqlite";
/// The file a running store holds locked in its data directory.
pub const LOCK_FILE: &str = "creditd.lock";

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("another creditd is already using {0} (its lock file is held); stop it or choose another --data-dir")]
    Locked(PathBuf),
    #[error("cannot open database {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("cannot compute the hash chain of the events in {path}: {message}")]
    Chain { path: PathBuf, message: String },
    #[error("cannot read the price books in {path}: {message}")]
    PriceBooks { path: PathBuf, message: String },
}

pub struct SqliteStore {
    jobs: mpsc::Sender<Job>,
    reads: Arc<ReadPool>,
    clock: Arc<dyn Clock>,
    directory: SqliteDirectory,
    webhooks: SqliteWebhooks,
    price_books: SqlitePriceBooks,
    plan_catalogue: SqlitePlanCatalogue,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    checkpointer: Mutex<Option<Checkpointer>>,
    path: PathBuf,
    _lock: File,
}

/// Creates `dir` (and missing parents) readable by the owner only (0700 on
/// Unix): the database holds webhook signing secrets and key hashes. An
/// existing directory keeps the mode its operator gave it.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Opens `path` for writing, creating it readable by the owner only (0600
/// on Unix) if it does not exist; an existing file is neither truncated nor
/// changed.
pub fn private_file(path: &Path) -> std::io::Result<File> {
    let mut opts = File::options();
    opts.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)
}

impl SqliteStore {
    /// Opens (creating if needed) the database in `data_dir`, runs
    /// migrations and starts the writer. Fails if another process holds the
    /// directory.
    pub fn open(data_dir: &Path, clock: Arc<dyn Clock>) -> Result<SqliteStore, OpenError> {
        Self::open_with(data_dir, clock, SqliteOptions::default(), None)
    }

    /// [`SqliteStore::open`] with bounds other than the defaults.
    pub fn open_with_options(
        data_dir: &Path,
        clock: Arc<dyn Clock>,
        options: SqliteOptions,
    ) -> Result<SqliteStore, OpenError> {
        Self::open_with(data_dir, clock, options, None)
    }

    /// [`SqliteStore::open`] with test hooks in the writer.
    #[cfg(test)]
    pub(crate) fn open_with_hooks(
        data_dir: &Path,
        clock: Arc<dyn Clock>,
        hooks: Arc<writer::Hooks>,
    ) -> Result<SqliteStore, OpenError> {
        Self::open_with(data_dir, clock, SqliteOptions::default(), Some(hooks))
    }

    fn open_with(
        data_dir: &Path,
        clock: Arc<dyn Clock>,
        options: SqliteOptions,
        hooks: Option<Arc<writer::Hooks>>,
    ) -> Result<SqliteStore, OpenError> {
        create_private_dir(data_dir).map_err(|source| OpenError::DataDir { path: data_dir.into(), source })?;
        let lock_path = data_dir.join(LOCK_FILE);
        let lock = private_file(&lock_path).map_err(|source| OpenError::DataDir { path: lock_path.clone(), source })?;
        if lock.try_lock().is_err() {
            return Err(OpenError::Locked(data_dir.to_path_buf()));
        }
        let path = data_dir.join(DB_FILE);
        let sqlite = |source| OpenError::Sqlite { path: path.clone(), source };
        // Created before SQLite opens it, so that it is 0600 from the
        // start; SQLite gives the -wal and -shm files the database's mode.
        private_file(&path).map_err(|source| OpenError::DataDir { path: path.clone(), source })?;
        let mut conn = rusqlite::Connection::open(&path).map_err(sqlite)?;
        configure_writer(&conn).map_err(sqlite)?;
        schema::migrate(&mut conn).map_err(sqlite)?;
        let filled = schema::backfill_chain(&mut conn)
            .map_err(|e| OpenError::Chain { path: path.clone(), message: e.to_string() })?;
        if filled > 0 {
            tracing::info!(events = filled, "hash chain computed for events stored before it");
        }
        // Only holds are ever `open` (purchases wait as `processing`).
        let open_holds: i64 = conn.query_row(schema::COUNT_OPEN_HOLDS, [], |r| r.get(0)).map_err(sqlite)?;
        creditd_store::telemetry::open_holds_set(open_holds.max(0) as u64);
        let reads = Arc::new(ReadPool::new(path.clone()));
        let directory = SqliteDirectory::connect(&path).map_err(sqlite)?;
        let webhooks = SqliteWebhooks::connect(&path).map_err(sqlite)?;
        let price_books = SqlitePriceBooks::connect(&path, clock.clone())
            .map_err(|e| OpenError::PriceBooks { path: path.clone(), message: e.to_string() })?;
        let plan_catalogue = SqlitePlanCatalogue::connect(&path)
            .map_err(|e| OpenError::PriceBooks { path: path.clone(), message: e.to_string() })?;
        let checkpointer = Checkpointer::spawn(&path).map_err(sqlite)?;
        let cap = checkpointer.cap(options.wal_cap_bytes);
        if let Some(limit) = cap.journal_size_limit() {
            conn.pragma_update(None, "journal_size_limit", limit).map_err(sqlite)?;
        }
        let (tx, rx) = mpsc::channel(WRITER_QUEUE);
        let writer = Writer::new(
            conn,
            &path,
            clock.clone(),
            checkpointer.flag(),
            writer::Bounds { cap, org_cache: options.org_cache },
            tx.downgrade(),
            hooks,
            creditd_store::prices::PriceBooks::catalogue(&price_books),
        )
        .map_err(sqlite)?;
        let handle = std::thread::Builder::new()
            .name("creditd-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| OpenError::DataDir { path: data_dir.into(), source: e })?;
        Ok(SqliteStore {
            jobs: tx,
            reads,
            clock,
            directory,
            webhooks,
            price_books,
            plan_catalogue,
            writer: Mutex::new(Some(handle)),
            checkpointer: Mutex::new(Some(checkpointer)),
            path,
            _lock: lock,
        })
    }

    pub fn database_path(&self) -> &Path {
        &self.path
    }

    async fn send<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Job) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.jobs.send(make(tx)).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let reads = self.reads.clone();
        tokio::task::spawn_blocking(move || reads.with(f)).await.map_err(StoreError::backend)?
    }
}

fn configure_writer(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    // 16 KiB pages for a new database (an existing one keeps its own): event
    // rows are wide and every event also enters the filter indexes, so
    // fewer, fuller pages mean fewer splits (+5-10% writer ops per CPU-second
    // over 4 KiB in `creditd bench`).
    conn.pragma_update(None, "page_size", 16384)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: every commit is fsynced before a caller is told it succeeded.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -65536)?;
    conn.pragma_update(None, "wal_autocheckpoint", checkpoint::BACKSTOP_PAGES)?;
    conn.busy_timeout(checkpoint::WRITER_BUSY)?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    fn engine(&self) -> &'static str {
        "sqlite"
    }

    async fn create_org(&self, org_id: &str, settings: OrgSettings) -> Result<OrgInfo, StoreError> {
        let org_id = org_id.to_string();
        self.send(|reply| Job::CreateOrg { org_id, settings, reply }).await?
    }

    async fn org(&self, org_id: &str) -> Result<OrgInfo, StoreError> {
        let org_id = org_id.to_string();
        self.read(move |c| {
            let s = reader::load_state(c, &org_id)?;
            let parent_id = reader::parent_of(c, &org_id)?;
            Ok(OrgInfo { id: s.org_id.clone(), created_at: s.created_at, parent_id, settings: s.settings })
        })
        .await
    }

    async fn set_parent(&self, org_id: &str, parent_id: Option<&str>) -> Result<OrgInfo, StoreError> {
        let org_id = org_id.to_string();
        let parent_id = parent_id.map(str::to_string);
        self.send(|reply| Job::SetParent { org_id, parent_id, reply }).await?
    }

    async fn children(&self, org_ids: &[String]) -> Result<Vec<String>, StoreError> {
        let org_ids = org_ids.to_vec();
        self.read(move |c| reader::children(c, &org_ids)).await
    }

    async fn org_ids(&self) -> Result<Vec<String>, StoreError> {
        self.read(reader::org_ids).await
    }

    async fn balance(&self, org_id: &str) -> Result<Balance, StoreError> {
        let org_id = org_id.to_string();
        self.read(move |c| Ok(reader::load_state(c, &org_id)?.balance())).await
    }

    async fn execute(&self, commands: Vec<Command>) -> Vec<Result<Outcome, StoreError>> {
        let n = commands.len();
        match self.send(|reply| Job::Execute { commands, reply }).await {
            Ok(results) => results,
            Err(e) => (0..n).map(|_| Err(e.clone())).collect(),
        }
    }

    async fn events(&self, org_id: &str, query: &EventQuery) -> Result<Page, StoreError> {
        let org_id = org_id.to_string();
        let query = query.clone();
        self.read(move |c| reader::events_page(c, &org_id, &query)).await
    }

    async fn export(&self, org_id: &str, filter: &EventFilter) -> Result<EventChunks, StoreError> {
        self.export_in(org_id, filter, Order::NewestFirst).await
    }

    async fn export_in(&self, org_id: &str, filter: &EventFilter, order: Order) -> Result<EventChunks, StoreError> {
        let org_id = org_id.to_string();
        let filter = filter.clone();
        // Fail fast on an unknown org, before any bytes are sent.
        let check = org_id.clone();
        self.read(move |c| reader::load_state(c, &check).map(|_| ())).await?;
        let (tx, rx) = mpsc::channel(4);
        let reads = self.reads.clone();
        tokio::task::spawn_blocking(move || {
            let r = reads.with(|c| reader::stream_events(c, &org_id, &filter, order, &tx));
            if let Err(e) = r {
                let _ = tx.blocking_send(Err(e));
            }
        });
        Ok(rx)
    }

    async fn verify(&self, org_id: &str) -> Result<VerifyReport, StoreError> {
        let org_id = org_id.to_string();
        let mut report = self.read(move |c| reader::verify(c, &org_id)).await?;
        creditd_store::transfers::add_to(self, &mut report).await?;
        Ok(report)
    }

    fn export_rows(
        &self,
        org_id: &str,
        filter: &EventFilter,
        order: Order,
        sink: &mut dyn FnMut(&creditd_core::EventRef<'_>) -> std::ops::ControlFlow<()>,
    ) -> Result<u64, StoreError> {
        self.reads.with(|c| reader::stream_rows(c, org_id, filter, order, sink))
    }

    fn export_formatted(
        &self,
        org_id: &str,
        filter: &EventFilter,
        order: Order,
        make: &(dyn Fn() -> Box<dyn creditd_store::RowFormatter> + Sync),
        emit: &mut dyn FnMut(creditd_store::Formatted) -> std::ops::ControlFlow<()>,
    ) -> Result<u64, StoreError> {
        reader::export_formatted(&self.reads, reader::export_workers(), org_id, filter, order, make, emit)
    }

    async fn tick(&self) -> Result<usize, StoreError> {
        self.send(|reply| Job::Tick { reply }).await?
    }

    async fn org_state(&self, org_id: &str) -> Result<OrgState, StoreError> {
        let org_id = org_id.to_string();
        self.read(move |c| reader::load_state(c, &org_id)).await
    }

    async fn conversation_usage(
        &self,
        org_id: &str,
        query: &ConversationQuery,
    ) -> Result<Vec<ConversationCount>, StoreError> {
        let org_id = org_id.to_string();
        let query = query.clone();
        self.read(move |c| reader::conversation_usage(c, &org_id, &query)).await
    }

    async fn usage(
        &self,
        org_id: &str,
        query: &creditd_store::rollup::UsageQuery,
    ) -> Result<Vec<creditd_store::rollup::UsageRow>, StoreError> {
        let org_id = org_id.to_string();
        let query = query.clone();
        self.read(move |c| rollups::usage(c, &org_id, &query)).await
    }

    async fn usage_hours(
        &self,
        org_id: &str,
        query: &creditd_store::hours::HourQuery,
    ) -> Result<Vec<creditd_store::hours::HourRow>, StoreError> {
        query.check()?;
        let org_id = org_id.to_string();
        let query = query.clone();
        self.read(move |c| reader::usage_hours(c, &org_id, &query)).await
    }

    async fn statement_lines(
        &self,
        org_id: &str,
        first_day: jiff::civil::Date,
        last_day: jiff::civil::Date,
    ) -> Result<Vec<creditd_store::rollup::UsageRow>, StoreError> {
        let (sql, args) = creditd_store::rollup::statement_lines_sql(org_id, first_day, last_day, |n| format!("?{n}"));
        self.read(move |c| rollups::read_rows(c, &sql, args)).await
    }

    async fn notifications(&self, org_id: &str, after_seq: u64, limit: u32) -> Result<Vec<Notification>, StoreError> {
        let org_id = org_id.to_string();
        self.read(move |c| reader::notifications(c, &org_id, after_seq, limit)).await
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
        let org_id = org_id.to_string();
        self.send(|reply| Job::Import(writer::ImportJob { org_id, settings, events, reply })).await?
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
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        let checkpointer = self.checkpointer.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(checkpointer);
    }
}

#[cfg(all(test, unix))]
mod file_mode_tests {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    use creditd_core::OrgSettings;
    use creditd_store::{Store, SystemClock};

    use crate::SqliteStore;

    fn mode(p: &std::path::Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    /// The database holds webhook secrets: a fresh data directory is the
    /// owner's alone, and so is every file SQLite makes in it, whatever the
    /// process umask (the default 022 made them 0755 and 0644).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fresh_data_dir_and_its_files_are_private() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("nested").join("data");
        let store = SqliteStore::open(&dir, Arc::new(SystemClock)).unwrap();
        store.create_org("o", OrgSettings::new("O", "UTC")).await.unwrap();
        assert_eq!(mode(&dir), 0o700, "data dir");
        assert_eq!(mode(&parent.path().join("nested")), 0o700, "created parent");
        for f in ["creditd.sqlite", "creditd.sqlite-wal", "creditd.sqlite-shm", "creditd.lock"] {
            let p = dir.join(f);
            assert!(p.exists(), "{f} missing");
            assert_eq!(mode(&p), 0o600, "{f}");
        }
        store.shutdown().await;
    }
}
