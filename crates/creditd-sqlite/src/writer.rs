//! The writer: an apply thread (ledger core, in-memory states) and a
//! committer thread (SQL, fsync), one batch in flight between them. Why two:
//! applying and writing each take a large share of a batch's time, so
//! overlapping them (and the fsync) shortens the cycle (1.2-1.4x ops/s in
//! `creditd bench` on 2 cores).
//! Why the connection travels with the batch instead of living on the
//! committer: barriers (create org, tick, import) need it on the apply side
//! with the pipeline drained, and ownership says who may use it.

// FxHash: keys are our own ids and names, hashed on every operation.
use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;

use creditd_core::{Event, Funding, OrgSettings, OrgState, Outcome, Record};
use creditd_store::batch::{self, Batch, IdemRow};
use creditd_store::cache::{OrgCache, OrgCacheSize};
use creditd_store::import::ImportReport;
use creditd_store::tick::{self, MAX_TICK_WORK};
use creditd_store::write::{self, EventRow, EventText, ImportedOrg, RecordRow, Rows, WriteSet};
use creditd_store::{Clock, Command, OrgInfo, StoreError, micros_ts, telemetry};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot};

use crate::checkpoint::WalCap;
use crate::reader::{db, load_pending_records, load_record, load_state};

/// Most commands one transaction carries.
pub const MAX_BATCH_COMMANDS: usize = 8192;

pub enum Job {
    Execute {
        commands: Vec<Command>,
        reply: oneshot::Sender<Vec<Result<Outcome, StoreError>>>,
    },
    CreateOrg {
        org_id: String,
        settings: OrgSettings,
        reply: oneshot::Sender<Result<OrgInfo, StoreError>>,
    },
    Tick {
        reply: oneshot::Sender<Result<usize, StoreError>>,
    },
    /// A tree change (`Store::set_parent`): a barrier, so the facts it
    /// reads are every committed write and nothing is in flight.
    SetParent {
        org_id: String,
        parent_id: Option<String>,
        reply: oneshot::Sender<Result<OrgInfo, StoreError>>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
    Import(ImportJob),
    /// From the committer: a batch landed (see `Writer::run`).
    Wake,
}

/// A whole history into a new or empty org, in a transaction of its own.
pub struct ImportJob {
    pub org_id: String,
    pub settings: OrgSettings,
    pub events: Vec<Event>,
    pub reply: oneshot::Sender<Result<ImportReport, StoreError>>,
}

pub struct Writer {
    /// The read-write connection; `None` while a batch is committing (the
    /// committer thread has it).
    conn: Option<Connection>,
    /// A read-only connection for what `apply` reads while a batch is in
    /// flight: it sees only committed rows, so the in-flight batch is read
    /// through [`InFlight`] first.
    read: Connection,
    /// Bounded: least recently used orgs go when a batch is handed over,
    /// never one the open or in-flight batch touched (see [`Writer::ship`]).
    states: OrgCache<OrgState>,
    clock: Arc<dyn Clock>,
    /// Raised after each commit for the checkpoint thread.
    wal_dirty: Arc<AtomicBool>,
    /// The batch being applied (not yet handed to the committer).
    open: Open,
    /// The batch the committer is writing, if any (one at most).
    in_flight: Option<InFlight>,
    /// The last committed batch, emptied, to be the next open one.
    spare: Option<Batch>,
    to_commit: Option<std_mpsc::SyncSender<Flight>>,
    landed: std_mpsc::Receiver<Landed>,
    committer: Option<std::thread::JoinHandle<()>>,
    hooks: Option<Arc<Hooks>>,
    /// The price books priced operations are priced from (the store's
    /// catalogue, updated by its `put`).
    prices: Arc<creditd_store::prices::Catalogue>,
}

/// Test hooks (only tests construct them): hold commits at a gate, make the
/// next commit fail, count what was applied.
#[derive(Default)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Hooks {
    /// Commits the committer may start before it waits (None: no limit).
    permits: std::sync::Mutex<Option<usize>>,
    cv: std::sync::Condvar,
    /// Commits waiting at the gate now.
    pub waiting: AtomicUsize,
    /// Fail the next pipelined commit after writing its rows (then roll back).
    pub fail_next: AtomicBool,
    /// Execute jobs applied so far.
    pub applied_jobs: AtomicUsize,
}

#[cfg_attr(not(test), allow(dead_code))]
impl Hooks {
    pub fn close_gate(&self) {
        *self.permits.lock().unwrap() = Some(0);
    }
    pub fn allow(&self, n: usize) {
        let mut p = self.permits.lock().unwrap();
        if let Some(k) = p.as_mut() {
            *k += n;
        }
        self.cv.notify_all();
    }
    pub fn open_gate(&self) {
        *self.permits.lock().unwrap() = None;
        self.cv.notify_all();
    }
    fn gate(&self) {
        let mut p = self.permits.lock().unwrap();
        self.waiting.fetch_add(1, Ordering::SeqCst);
        while *p == Some(0) {
            p = self.cv.wait(p).unwrap();
        }
        if let Some(k) = p.as_mut() {
            *k -= 1;
        }
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The batch being applied: its rows and who waits for it.
#[derive(Default)]
struct Open {
    batch: Batch,
    replies: Vec<ExecReply>,
    commands: usize,
    started: Option<std::time::Instant>,
}

impl Open {
    fn is_empty(&self) -> bool {
        self.replies.is_empty()
    }
}

type ExecReply = (oneshot::Sender<Vec<Result<Outcome, StoreError>>>, Vec<Result<Outcome, StoreError>>);

/// What the apply side keeps of the batch the committer is writing: reads
/// of rows it wrote (idempotency rows, records) must find them although
/// they are not on disk yet.
struct InFlight {
    batch: Arc<Batch>,
    /// (org, id) → index in `batch.usage_records`, built on the first miss.
    usage_index: std::cell::OnceCell<HashMap<(String, String), usize>>,
}

impl InFlight {
    fn record(&self, org_id: &str, id: &str) -> Option<&Record> {
        if let Some(r) = self.batch.record(org_id, id) {
            return Some(r);
        }
        let index = self.usage_index.get_or_init(|| {
            let b = &self.batch;
            b.usage_records
                .iter()
                .enumerate()
                .map(|(i, (at, r))| ((b.events[*at].org_id.clone(), r.id.clone()), i))
                .collect()
        });
        index.get(&(org_id.to_string(), id.to_string())).map(|&i| &self.batch.usage_records[i].1)
    }
}

/// A batch handed to the committer, with the connection to write it on.
struct Flight {
    conn: Connection,
    batch: Arc<Batch>,
    encoded: WriteSet,
    replies: Vec<ExecReply>,
    commands: usize,
    started: std::time::Instant,
}

/// The committer's answer: the connection back, and whether the batch committed.
struct Landed {
    conn: Connection,
    result: Result<(), StoreError>,
}

/// What keeps the writer's disk and memory bounded.
pub(crate) struct Bounds {
    /// The committer's cap on the WAL.
    pub cap: WalCap,
    pub org_cache: OrgCacheSize,
}

/// Where each command's answer goes once the batch has committed.
enum Reply {
    CreateOrg(oneshot::Sender<Result<OrgInfo, StoreError>>, Result<OrgInfo, StoreError>),
    Tick(oneshot::Sender<Result<usize, StoreError>>, Result<usize, StoreError>),
    SetParent(oneshot::Sender<Result<OrgInfo, StoreError>>, Result<OrgInfo, StoreError>),
}

impl Writer {
    /// Opens the apply side's read connection to `path` and starts the
    /// committer thread.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        conn: Connection,
        path: &std::path::Path,
        clock: Arc<dyn Clock>,
        wal_dirty: Arc<AtomicBool>,
        bounds: Bounds,
        wake: mpsc::WeakSender<Job>,
        hooks: Option<Arc<Hooks>>,
        prices: Arc<creditd_store::prices::Catalogue>,
    ) -> Result<Self, rusqlite::Error> {
        let Bounds { cap, org_cache } = bounds;
        let read = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        read.busy_timeout(std::time::Duration::from_secs(5))?;
        read.pragma_update(None, "cache_size", -16384)?;
        let (to_commit, flights) = std_mpsc::sync_channel::<Flight>(1);
        let (landed_tx, landed) = std_mpsc::sync_channel::<Landed>(1);
        let committer = {
            let (wal_dirty, hooks) = (wal_dirty.clone(), hooks.clone());
            std::thread::Builder::new()
                .name("creditd-commit".into())
                .spawn(move || commit_loop(flights, landed_tx, wake, wal_dirty, cap, hooks))
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?
        };
        Ok(Writer {
            conn: Some(conn),
            read,
            states: OrgCache::new("sqlite", org_cache),
            clock,
            wal_dirty,
            open: Open::default(),
            in_flight: None,
            spare: None,
            to_commit: Some(to_commit),
            landed,
            committer: Some(committer),
            hooks,
            prices,
        })
    }

    /// The read-write connection. Every caller drains the pipeline first,
    /// so it is back from the committer; if not, the caller fails cleanly.
    fn conn(&self) -> Result<&Connection, StoreError> {
        self.conn.as_ref().ok_or_else(connection_away)
    }

    pub fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let mut shutdown: Option<oneshot::Sender<()>> = None;
        loop {
            // Before each job: learn whether the in-flight batch committed, so
            // a job sent after a caller of that batch got its answer is never
            // applied on top of a batch that failed.
            self.poll_landed();
            if self.in_flight.is_none() && !self.open.is_empty() {
                self.ship();
                continue;
            }
            let job = match rx.try_recv() {
                Ok(job) => job,
                // The committer sends `Job::Wake` when a batch lands, so
                // this wakes up for new work or to ship the open batch.
                Err(mpsc::error::TryRecvError::Empty) => match rx.blocking_recv() {
                    Some(job) => job,
                    None => break,
                },
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            };
            telemetry::queue_depth("sqlite", rx.len());
            if let Job::Shutdown { reply } = job {
                shutdown = Some(reply);
                break;
            }
            self.handle(job);
        }
        // Drain what was queued before the shutdown so no caller is dropped.
        rx.close();
        while let Ok(job) = rx.try_recv() {
            match job {
                Job::Shutdown { reply } => {
                    let _ = reply.send(());
                }
                job => self.handle(job),
            }
        }
        self.drain();
        if let Err(e) = self.conn().and_then(|c| c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").map_err(db)) {
            tracing::warn!(error = %e, "checkpoint at shutdown failed");
        }
        self.to_commit = None;
        if let Some(h) = self.committer.take() {
            let _ = h.join();
        }
        if let Some(reply) = shutdown {
            let _ = reply.send(());
        }
    }

    fn handle(&mut self, job: Job) {
        match job {
            Job::Execute { commands, reply } => {
                // A full batch waits for the committer rather than grow.
                while self.open.commands >= MAX_BATCH_COMMANDS {
                    if self.in_flight.is_some() {
                        self.wait_landed();
                    } else {
                        self.ship();
                    }
                }
                let now = self.clock.now();
                let Writer { states, read, in_flight, open, prices, .. } = self;
                open.started.get_or_insert_with(std::time::Instant::now);
                let results: Vec<_> = commands
                    .iter()
                    .map(|c| apply(states, read, in_flight.as_ref(), &mut open.batch, c, now, prices))
                    .collect();
                open.commands += commands.len();
                open.replies.push((reply, results));
                if let Some(h) = &self.hooks {
                    h.applied_jobs.fetch_add(1, Ordering::SeqCst);
                }
            }
            // Barriers: they read and write outside the in-memory states
            // (existence of an org, due work on disk, a whole history), so
            // they run alone on a drained pipeline.
            Job::CreateOrg { .. } | Job::Tick { .. } | Job::SetParent { .. } => {
                self.drain();
                self.process(job);
            }
            Job::Import(_) => {
                self.drain();
                self.run_import(job);
            }
            Job::Shutdown { reply } => {
                let _ = reply.send(());
            }
            Job::Wake => {}
        }
    }

    /// Hands the open batch to the committer (none may be in flight).
    fn ship(&mut self) {
        debug_assert!(self.in_flight.is_none());
        let mut open = std::mem::take(&mut self.open);
        let zones = std::mem::take(&mut open.batch.zones);
        if let Some(spare) = self.spare.take() {
            self.open.batch = spare;
        }
        self.open.batch.zones = zones;
        let encoded = match encode(&self.states, &open.batch) {
            Ok(encoded) => encoded,
            Err(e) => {
                tracing::error!(error = %e, "write batch refused before commit");
                for org in &open.batch.orgs {
                    self.states.remove(org);
                }
                for (tx, results) in open.replies {
                    let _ = tx.send(results.into_iter().map(|r| r.and(Err(e.clone()))).collect());
                }
                return;
            }
        };
        // From now on the batch's settled records are found in the in-flight
        // overlay, then on disk.
        for org in &open.batch.orgs {
            if let Some(s) = self.states.get_mut(org) {
                batch::evict_settled(s);
            }
        }
        let Some(conn) = self.conn.take() else {
            // Unreachable while one batch at most is in flight; fail, never panic.
            let e = connection_away();
            for org in &open.batch.orgs {
                self.states.remove(org);
            }
            for (tx, results) in open.replies {
                let _ = tx.send(results.into_iter().map(|_| Err(e.clone())).collect());
            }
            return;
        };
        let batch = Arc::new(open.batch);
        let flight = Flight {
            conn,
            batch: batch.clone(),
            encoded,
            replies: open.replies,
            commands: open.commands,
            started: open.started.unwrap_or_else(std::time::Instant::now),
        };
        let unsent = match &self.to_commit {
            Some(tx) => tx.send(flight).err(),
            None => None,
        };
        if let Some(std_mpsc::SendError(flight)) = unsent {
            // The committer is gone (it panicked): fail and keep going on our own.
            self.conn = Some(flight.conn);
            let e = StoreError::Stopped("the committer thread stopped".into());
            for org in &batch.orgs {
                self.states.remove(org);
            }
            for (tx, results) in flight.replies {
                let _ = tx.send(results.into_iter().map(|_| Err(e.clone())).collect());
            }
            return;
        }
        self.in_flight = Some(InFlight { batch, usage_index: Default::default() });
        // The batch just shipped was applied in this epoch and the next one
        // starts now: keeping both keeps every org in flight or open in
        // memory, which the read order (memory, in-flight batch, disk)
        // needs. Any other org is on disk as it is in memory.
        let shipped = self.states.epoch();
        self.states.next_epoch();
        self.states.trim(shipped);
    }

    fn poll_landed(&mut self) {
        if self.in_flight.is_some()
            && let Ok(l) = self.landed.try_recv()
        {
            self.on_landed(l);
        }
    }

    fn wait_landed(&mut self) {
        if self.in_flight.is_some() {
            match self.landed.recv() {
                Ok(l) => self.on_landed(l),
                Err(_) => panic!("the committer thread stopped with a batch in flight"),
            }
        }
    }

    fn on_landed(&mut self, landed: Landed) {
        self.conn = Some(landed.conn);
        let Some(flight) = self.in_flight.take() else { return };
        if let Err(e) = landed.result {
            // Memory ran ahead of the database twice: the failed batch and
            // the one applied on top of it. Forget both (the orgs reload from
            // disk) and fail every caller of the open one: its results were
            // computed on states that never existed.
            let open = std::mem::take(&mut self.open);
            self.open.batch.zones = open.batch.zones;
            for org in flight.batch.orgs.iter().chain(open.batch.orgs.iter()) {
                self.states.remove(org);
            }
            let e = StoreError::Stopped(format!("an earlier write batch failed to commit: {e}"));
            for (tx, results) in open.replies {
                let _ = tx.send(results.into_iter().map(|_| Err(e.clone())).collect());
            }
        }
        // The committer has let go of the batch: keep its allocations for
        // the next one (this also frees its events on this thread).
        if let Ok(mut batch) = Arc::try_unwrap(flight.batch) {
            batch.clear();
            self.spare = Some(batch);
        }
    }

    /// Waits until everything applied is committed (or failed).
    fn drain(&mut self) {
        self.wait_landed();
        if !self.open.is_empty() {
            self.ship();
            self.wait_landed();
        }
    }

    /// A barrier job in a transaction of its own, on a drained pipeline.
    fn process(&mut self, job: Job) {
        let now = self.clock.now();
        let started = std::time::Instant::now();
        let mut batch = Batch::new();
        let mut created: Option<String> = None;
        let begin = self.conn().and_then(|c| c.execute_batch("BEGIN IMMEDIATE").map_err(db));
        let reply = match job {
            Job::CreateOrg { org_id, settings, reply } => {
                let r = begin.clone().and_then(|()| self.create_org(&org_id, settings, now));
                if r.is_ok() {
                    created = Some(org_id);
                }
                Reply::CreateOrg(reply, r)
            }
            Job::Tick { reply } => {
                let r = begin.clone().and_then(|()| self.tick(&mut batch, now));
                Reply::Tick(reply, r)
            }
            Job::SetParent { org_id, parent_id, reply } => {
                let r = begin.clone().and_then(|()| set_parent(self.conn()?, &org_id, parent_id.as_deref()));
                Reply::SetParent(reply, r)
            }
            _ => return,
        };
        let committed = begin
            .and_then(|()| encode(&self.states, &batch))
            .and_then(|encoded| write(self.conn()?, encoded.rows(&batch)?))
            .and_then(|()| self.conn()?.execute_batch("COMMIT").map_err(db));
        if let Err(e) = &committed {
            tracing::error!(error = %e, "write batch failed; rolling back");
            if let Ok(c) = self.conn() {
                let _ = c.execute_batch("ROLLBACK");
            }
            // Memory ran ahead of the database: forget what the batch touched.
            for org in batch.orgs.iter().chain(created.iter()) {
                self.states.remove(org);
            }
        } else {
            self.wal_dirty.store(true, Ordering::Release);
            for org in &batch.orgs {
                if let Some(s) = self.states.get_mut(org) {
                    batch::evict_settled(s);
                }
            }
            telemetry::batch_committed("sqlite", 1, started.elapsed());
            telemetry::open_holds_changed(batch.open_holds_delta);
        }
        // Drained: nothing is in flight, so only the bound decides.
        self.states.next_epoch();
        self.states.trim(self.states.epoch());
        match reply {
            Reply::CreateOrg(tx, r) => {
                let _ = tx.send(committed.and(r));
            }
            Reply::Tick(tx, r) => {
                let _ = tx.send(committed.and(r));
            }
            Reply::SetParent(tx, r) => {
                let _ = tx.send(committed.and(r));
            }
        }
    }

    fn run_import(&mut self, job: Job) {
        let Job::Import(ImportJob { org_id, settings, events, reply }) = job else { return };
        let now = self.clock.now();
        let result = self.conn().and_then(|c| c.execute_batch("BEGIN IMMEDIATE").map_err(db)).and_then(|()| {
            let r = self.import(&org_id, settings, &events, now);
            match r {
                Ok(report) => self.conn()?.execute_batch("COMMIT").map_err(db).map(|()| report),
                Err(e) => Err(e),
            }
        });
        if result.is_err()
            && let Ok(c) = self.conn()
        {
            let _ = c.execute_batch("ROLLBACK");
        }
        // The next command loads the org from what was committed.
        self.states.remove(&org_id);
        let _ = reply.send(result);
    }

    /// Writes an import inside the open transaction.
    fn import(
        &mut self,
        org_id: &str,
        settings: OrgSettings,
        events: &[Event],
        now: jiff::Timestamp,
    ) -> Result<ImportReport, StoreError> {
        let c = self.conn()?;
        let existing: Option<String> = c
            .prepare_cached("SELECT state FROM orgs WHERE org_id = ?1")
            .map_err(db)?
            .query_row([org_id], |r| r.get(0))
            .optional()
            .map_err(db)?;
        let settings = match existing {
            None => settings,
            Some(json) => {
                let state: OrgState = serde_json::from_str(&json).map_err(StoreError::json("stored org state"))?;
                let has_events: Option<i64> = c
                    .prepare_cached("SELECT 1 FROM events WHERE org_id = ?1 LIMIT 1")
                    .map_err(db)?
                    .query_row([org_id], |r| r.get(0))
                    .optional()
                    .map_err(db)?;
                if state.seq > 0 || has_events.is_some() {
                    return Err(StoreError::OrgExists(org_id.to_string()));
                }
                state.settings
            }
        };
        let derived = creditd_store::import::derive(org_id, settings, events, now)?;
        let row = ImportedOrg::of(&derived.state)?;
        c.prepare_cached(
            "INSERT INTO orgs (org_id, created_at, seq, next_expiry, state) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (org_id) DO UPDATE SET created_at = excluded.created_at, seq = excluded.seq, \
             next_expiry = excluded.next_expiry, state = excluded.state",
        )
        .map_err(db)?
        .execute(params![org_id, row.created_at_us, row.seq, row.next_expiry_us, row.state_json])
        .map_err(db)?;
        let mut ins = c.prepare_cached(INSERT_EVENT).map_err(db)?;
        for (e, h) in events.iter().zip(&derived.hashes) {
            insert_event(&mut ins, &EventRow::new(e, &EventText::new(e, h, None)))?;
        }
        let mut up = c.prepare_cached(UPSERT_RECORD).map_err(db)?;
        for r in &derived.records {
            upsert_record(&mut up, &RecordRow::new(org_id, r, &write::record_body(r)?))?;
        }
        crate::rollups::upsert(c, &write::history_rollups(org_id, &derived.state.settings.time_zone, events)?)?;
        Ok(derived.report)
    }

    fn create_org(&mut self, org_id: &str, settings: OrgSettings, now: jiff::Timestamp) -> Result<OrgInfo, StoreError> {
        let exists: Option<i64> = self
            .conn()?
            .prepare_cached("SELECT 1 FROM orgs WHERE org_id = ?1")
            .map_err(db)?
            .query_row([org_id], |r| r.get(0))
            .optional()
            .map_err(db)?;
        if exists.is_some() {
            return Err(StoreError::OrgExists(org_id.to_string()));
        }
        let new = write::new_org(org_id, settings, now)?;
        self.conn()?
            .prepare_cached(
                "INSERT INTO orgs (org_id, created_at, seq, next_expiry, state) VALUES (?1, ?2, 0, NULL, ?3)",
            )
            .map_err(db)?
            .execute(params![org_id, new.created_at_us, new.state_json])
            .map_err(db)?;
        self.states.insert(org_id.to_string(), new.state);
        Ok(new.info)
    }

    /// Releases holds whose time is up and lets expired blocks lapse.
    fn tick(&mut self, batch: &mut Batch, now: jiff::Timestamp) -> Result<usize, StoreError> {
        let us = now.as_microsecond();
        let due_holds: Vec<(String, String)> = {
            let mut st = self.conn()?.prepare_cached(&tick::due_holds_sql(|n| format!("?{n}"))).map_err(db)?;
            st.query_map(params![us, MAX_TICK_WORK as i64], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db)?
                .collect::<Result<_, _>>()
                .map_err(db)?
        };
        let due_orgs: Vec<String> = {
            let mut st = self.conn()?.prepare_cached(&tick::due_orgs_sql(|n| format!("?{n}"))).map_err(db)?;
            st.query_map(params![us, MAX_TICK_WORK as i64], |r| r.get(0))
                .map_err(db)?
                .collect::<Result<_, _>>()
                .map_err(db)?
        };
        let commands: Vec<Command> = tick::commands(due_holds, due_orgs).collect();
        let conn = self.conn.as_ref().ok_or_else(connection_away)?;
        Ok(tick::run(&commands, |cmd| apply(&mut self.states, conn, None, batch, cmd, now, &self.prices)))
    }
}

/// What the committer binds, computed on the apply side so that the two
/// threads of the pipeline share the work (see [`WriteSet::encode`]).
fn encode(states: &OrgCache<OrgState>, batch: &Batch) -> Result<WriteSet, StoreError> {
    WriteSet::encode(batch, |org| states.get(org))
}

/// Appends the batch's events and writes each touched row once.
fn write(c: &Connection, rows: Rows<'_>) -> Result<(), StoreError> {
    {
        let mut ins = c.prepare_cached(INSERT_EVENT).map_err(db)?;
        for e in rows.events() {
            insert_event(&mut ins, &e)?;
        }
    }
    {
        let mut up = c.prepare_cached(UPSERT_RECORD).map_err(db)?;
        for r in rows.records() {
            upsert_record(&mut up, &r)?;
        }
    }
    {
        let mut up =
            c.prepare_cached("UPDATE orgs SET seq = ?2, next_expiry = ?3, state = ?4 WHERE org_id = ?1").map_err(db)?;
        for r in rows.orgs() {
            up.execute(params![r.org_id, r.seq, r.next_expiry_us, r.state_json]).map_err(db)?;
        }
    }
    {
        let mut ins = c
            .prepare_cached(
                "INSERT INTO idempotency (org_id, key, fingerprint, outcome, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db)?;
        for i in rows.idempotency() {
            ins.execute(params![i.org_id, i.key, i.fingerprint, i.outcome_json, i.created_at_us]).map_err(db)?;
        }
    }
    let conversations = rows.conversations();
    if conversations.len() > 0 {
        let mut ins = c
            .prepare_cached(
                "INSERT INTO conversations (org_id, seq, identity, campaign, started_at, day, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(db)?;
        for v in conversations {
            ins.execute(params![v.org_id, v.seq, v.identity, v.campaign, v.started_at_us, v.day, v.created_at_us])
                .map_err(db)?;
        }
    }
    crate::rollups::upsert(c, &rows.rollups()?)?;
    let notifications = rows.notifications();
    if notifications.len() > 0 {
        let mut ins = c
            .prepare_cached(
                "INSERT INTO notifications (org_id, seq, created_at, kind, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db)?;
        for n in notifications {
            ins.execute(params![n.org_id, n.seq, n.created_at_us, n.kind, n.body_json]).map_err(db)?;
        }
    }
    crate::webhooks::write_outbox(c, rows.webhooks())?;
    Ok(())
}

/// The org's in-memory state, loaded from `read` on first use (or after
/// the cache forgot it). An org the in-flight batch touched is always in
/// memory (states are forgotten only with the pipeline drained, or when
/// neither the open nor the in-flight batch used them), so what `read`
/// lacks can never matter here.
fn state<'a>(
    states: &'a mut OrgCache<OrgState>,
    read: &Connection,
    org_id: &str,
) -> Result<&'a mut OrgState, StoreError> {
    if !states.contains(org_id) {
        let mut s = load_state(read, org_id)?;
        load_pending_records(read, &mut s)?;
        states.insert(org_id.to_string(), s);
    }
    states.get_mut(org_id).ok_or_else(|| StoreError::OrgNotFound(org_id.to_string()))
}

/// `Store::set_parent` inside the barrier's transaction: the facts, the
/// core's check, then the one column. A refusal is an `Err` the caller
/// gets while the (empty) transaction still commits.
fn set_parent(c: &Connection, org_id: &str, parent_id: Option<&str>) -> Result<OrgInfo, StoreError> {
    let state = load_state(c, org_id)?;
    let mut funded = Vec::new();
    for child in crate::reader::children(c, &[org_id.to_string()])? {
        if load_state(c, &child)?.settings.funding == Funding::Parent {
            funded.push(child);
        }
    }
    if crate::reader::parent_of(c, org_id)?.as_deref() != parent_id {
        creditd_core::funding::check_reparent(org_id, state.settings.funding, &funded)?;
    }
    if let Some(parent) = parent_id {
        let ancestors = creditd_store::tree::ancestors(parent, |o| crate::reader::parent_of(c, o))?;
        let height = creditd_store::tree::subtree_height(org_id, |ids| crate::reader::children(c, ids))?;
        creditd_core::tree::check_parent(org_id, parent, &ancestors, height)?;
    }
    c.prepare_cached("UPDATE orgs SET parent_id = ?2 WHERE org_id = ?1")
        .map_err(db)?
        .execute(params![org_id, parent_id])
        .map_err(db)?;
    Ok(OrgInfo {
        id: org_id.to_string(),
        created_at: state.created_at,
        parent_id: parent_id.map(str::to_string),
        settings: state.settings,
    })
}

/// Applies one command into `batch`. Reads look at memory, then at the
/// in-flight batch (written, not yet committed), then at `read`.
fn apply(
    states: &mut OrgCache<OrgState>,
    read: &Connection,
    in_flight: Option<&InFlight>,
    batch: &mut Batch,
    cmd: &Command,
    now: jiff::Timestamp,
    prices: &creditd_store::prices::Catalogue,
) -> Result<Outcome, StoreError> {
    let stored = match &cmd.idempotency_key {
        Some(key) => match in_flight.and_then(|f| f.batch.idem_row(&cmd.org_id, key)) {
            Some(row) => Some(row.clone()),
            None => load_idem(read, &cmd.org_id, key)?,
        },
        None => None,
    };
    if let Some(to) = cmd.op.other_org() {
        return apply_transfer(states, read, batch, cmd, to, now, stored.as_ref());
    }
    if creditd_core::funding::turns_on(&cmd.op) {
        check_funding(states, read, &cmd.org_id)?;
    }
    let state = state(states, read, &cmd.org_id)?;
    if let Some(id) = cmd.op.record_ref()
        && !state.records.contains_key(id)
    {
        let found = match in_flight.and_then(|f| f.record(&cmd.org_id, id)) {
            Some(r) => Some(r.clone()),
            None => load_record(read, &cmd.org_id, id)?,
        };
        if let Some(r) = found {
            state.records.insert(r.id.clone(), r);
        }
    }
    if state.settings.funding == Funding::Parent
        && creditd_core::funding::draws(&cmd.op)
        && let Some(parent) = crate::reader::parent_of(read, &cmd.org_id)?
    {
        return apply_funded(states, read, batch, cmd, &parent, now, stored.as_ref(), prices);
    }
    let state = self::state(states, read, &cmd.org_id)?;
    batch.apply_with(state, cmd, now, stored.as_ref(), prices)
}

/// `funding: parent` asked for `org_id`: the tree's facts (its parent as
/// committed, that parent's funding, its own children that draw on it)
/// and the core's check. Tree changes are barriers, so nothing in flight
/// changes the parents read here.
fn check_funding(states: &mut OrgCache<OrgState>, read: &Connection, org_id: &str) -> Result<(), StoreError> {
    let parent = match crate::reader::parent_of(read, org_id)? {
        Some(p) => {
            let funding = state(states, read, &p)?.settings.funding;
            Some((p, funding))
        }
        None => None,
    };
    let mut funded = Vec::new();
    for child in crate::reader::children(read, &[org_id.to_string()])? {
        if state(states, read, &child)?.settings.funding == Funding::Parent {
            funded.push(child);
        }
    }
    creditd_core::funding::check_setting(org_id, parent.as_ref().map(|(p, f)| (p.as_str(), *f)), &funded)?;
    Ok(())
}

/// A funded child's hold, usage or extension: both states in memory, the
/// draw (if any) and the operation into `batch`, or neither (the core
/// leaves both states as they were on a refusal). The parent is taken out
/// of the cache while the child is borrowed, and put back.
#[allow(clippy::too_many_arguments)]
fn apply_funded(
    states: &mut OrgCache<OrgState>,
    read: &Connection,
    batch: &mut Batch,
    cmd: &Command,
    parent_id: &str,
    now: jiff::Timestamp,
    stored: Option<&IdemRow>,
    prices: &creditd_store::prices::Catalogue,
) -> Result<Outcome, StoreError> {
    state(states, read, parent_id)?;
    let Some(mut parent) = states.remove(parent_id) else {
        return Err(StoreError::OrgNotFound(parent_id.to_string()));
    };
    let r = match state(states, read, &cmd.org_id) {
        Ok(child) => batch.apply_funded(child, &mut parent, cmd, now, stored, prices),
        Err(e) => Err(e),
    };
    states.insert(parent_id.to_string(), parent);
    r
}

/// A transfer: both orgs' states in memory, their parents as committed
/// (a tree change is a barrier, so nothing in flight changes them), both
/// halves into `batch` or neither. The receiver is applied on a copy put
/// back only when the transfer is applied.
fn apply_transfer(
    states: &mut OrgCache<OrgState>,
    read: &Connection,
    batch: &mut Batch,
    cmd: &Command,
    to: &str,
    now: jiff::Timestamp,
    stored: Option<&IdemRow>,
) -> Result<Outcome, StoreError> {
    creditd_core::transfers::check_request(&cmd.org_id, &cmd.op)?;
    let from_parent = crate::reader::parent_of(read, &cmd.org_id)?;
    let to_parent = crate::reader::parent_of(read, to)?;
    let mut receiver = state(states, read, to)?.clone();
    let sender = state(states, read, &cmd.org_id)?;
    let r = batch.apply_transfer(sender, from_parent.as_deref(), &mut receiver, to_parent.as_deref(), cmd, now, stored);
    if r.is_ok() {
        match states.get_mut(to) {
            Some(s) => *s = receiver,
            None => states.insert(to.to_string(), receiver),
        }
    }
    r
}

/// The committer: writes and commits one batch at a time, answers its
/// callers, and hands the connection back.
fn commit_loop(
    flights: std_mpsc::Receiver<Flight>,
    landed: std_mpsc::SyncSender<Landed>,
    wake: mpsc::WeakSender<Job>,
    wal_dirty: Arc<AtomicBool>,
    mut cap: WalCap,
    hooks: Option<Arc<Hooks>>,
) {
    for Flight { conn, batch, encoded, replies, commands, started } in flights {
        if let Some(h) = &hooks {
            h.gate();
        }
        let result = conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(db)
            .and_then(|()| write(&conn, encoded.rows(&batch)?))
            .and_then(|()| match &hooks {
                Some(h) if h.fail_next.swap(false, Ordering::SeqCst) => {
                    Err(StoreError::backend("injected commit failure"))
                }
                _ => Ok(()),
            })
            .and_then(|()| conn.execute_batch("COMMIT").map_err(db));
        if let Err(e) = &result {
            tracing::error!(error = %e, "write batch failed; rolling back");
            let _ = conn.execute_batch("ROLLBACK");
        } else {
            wal_dirty.store(true, Ordering::Release);
            telemetry::batch_committed("sqlite", commands, started.elapsed());
            telemetry::open_holds_changed(batch.open_holds_delta);
        }
        drop(batch);
        let mut replies = Some(replies);
        // Past the WAL cap: reset the log now, between two commits. Its
        // callers are answered first (the reset delays the next batch, not
        // this one); a committed batch has no failure for the apply side
        // to hear about first.
        if result.is_ok() && cap.due() {
            answer(&result, replies.take());
            cap.restart(&conn);
        }
        // Otherwise the apply side hears first, so a caller who retries
        // after its answer finds a failure already handled.
        let answered = result.clone();
        if landed.send(Landed { conn, result }).is_err() {
            return;
        }
        // A full queue needs no wake: the apply side polls for a landing
        // before each job. Weak, so the queue still closes when the store goes.
        if let Some(tx) = wake.upgrade() {
            let _ = tx.try_send(Job::Wake);
        }
        answer(&answered, replies);
    }
}

/// Sends each caller of a batch its answer, or the batch's failure.
fn answer(result: &Result<(), StoreError>, replies: Option<Vec<ExecReply>>) {
    for (tx, results) in replies.into_iter().flatten() {
        let _ = match result {
            Ok(()) => tx.send(results),
            Err(e) => tx.send(results.into_iter().map(|r| r.and(Err(e.clone()))).collect()),
        };
    }
}

/// The read-write connection is with the committer (a batch in flight).
fn connection_away() -> StoreError {
    StoreError::Stopped("the write connection is with the committer".into())
}

const INSERT_EVENT: &str = "INSERT INTO events (org_id, seq, created_at, kind, amount, pool, status, source, \
     service, activity, project_id, project_name, user_name, user_email, description, code, hold_id, \
     idempotency_key, balance_after, prepaid_balance_after, held_after, period_usage_after, metadata, hash, draws, \
     pricing, plan_balance_after, voucher_balance_after, promotional_balance_after) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, \
     ?24, ?25, ?26, ?27, ?28, ?29)";

const UPSERT_RECORD: &str = "INSERT INTO records (org_id, id, status, expires_at, body) VALUES (?1, ?2, ?3, ?4, ?5) \
     ON CONFLICT (org_id, id) DO UPDATE SET status = excluded.status, expires_at = excluded.expires_at, \
     body = excluded.body";

/// Inserts one `events` row.
fn insert_event(ins: &mut rusqlite::CachedStatement<'_>, e: &EventRow<'_>) -> Result<(), StoreError> {
    let [t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10] = e.texts;
    ins.execute(params![
        e.org_id,
        e.seq,
        e.created_at_us,
        e.kind,
        e.amount_micros,
        e.pool,
        e.status,
        t0,
        t1,
        t2,
        t3,
        t4,
        t5,
        t6,
        t7,
        t8,
        t9,
        t10,
        e.balance_after_micros,
        e.prepaid_balance_after_micros,
        e.held_after_micros,
        e.period_usage_after_micros,
        e.metadata_json,
        e.hash,
        e.draws_json,
        e.pricing_json,
        e.pools_after[0],
        e.pools_after[1],
        e.pools_after[2],
    ])
    .map_err(db)?;
    Ok(())
}

/// Upserts one `records` row.
fn upsert_record(up: &mut rusqlite::CachedStatement<'_>, r: &RecordRow<'_>) -> Result<(), StoreError> {
    up.execute(params![r.org_id, r.id, r.status, r.expires_at_us, r.body_json]).map_err(db)?;
    Ok(())
}

fn load_idem(c: &Connection, org_id: &str, key: &str) -> Result<Option<IdemRow>, StoreError> {
    let row: Option<(String, String, i64)> = c
        .prepare_cached("SELECT fingerprint, outcome, created_at FROM idempotency WHERE org_id = ?1 AND key = ?2")
        .map_err(db)?
        .query_row([org_id, key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .map_err(db)?;
    row.map(|(fingerprint, outcome, at)| {
        Ok(IdemRow {
            org_id: org_id.to_string(),
            key: key.to_string(),
            fingerprint,
            outcome,
            created_at: micros_ts(at)?,
        })
    })
    .transpose()
}
