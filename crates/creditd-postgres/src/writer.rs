//! The writer of one node (on a thread of its own, see [`start_thread`]):
//! batches queued jobs into transactions,
//! and keeps up to [`PIPELINE_DEPTH`] of them in flight.
//!
//! Several nodes may write the same organisation. Every batch locks the
//! rows of the orgs it touches (`FOR UPDATE`, in `org_id` order, so two
//! nodes never deadlock on each other), and a cached [`OrgState`] counts
//! only if the `orgs.version` it was read or written at is still the
//! locked row's: otherwise another node wrote the org since.
//!
//! Two paths:
//!
//! - **Ahead** (plain commands on orgs no other node is writing): the batch
//!   is applied on the cached states at once, then sent on a connection of
//!   its own as one statement, a transaction of its own (the row locks
//!   with a check that every org is still at the version its state was
//!   cached at, and one array write per table as `WITH` parts: see
//!   [`one_statement`]); a task waits for the commit and answers the
//!   callers while the writer applies the next batch. A batch on an org
//!   that a batch in flight also writes first waits until that flight
//!   commits and takes what queued meanwhile (hot-org batching, bounded by
//!   [`GATHER_FOR`]); if it is still in flight then, the batch is applied
//!   on its state and sent once that flight has landed, so it commits
//!   after. If PostgreSQL
//!   refuses a batch (the check failed: another node wrote an org, or the
//!   batch it was applied on was refused), nothing of it is written; the
//!   batches after it land too, and the refused ones run again on the
//!   locked path, in order. Rows written ahead carry a fresh, unique
//!   version (never `old + 1`), so a batch applied on a refused one can
//!   never pass its check.
//! - **Locked** (org creations, ticks, transfers, orgs another node wrote
//!   in the last second, redos), with nothing in flight, as one
//!   transaction in two round trips: `BEGIN` and the row locks, which bring
//!   back the state of every org whose cached version is not the row's,
//!   with the pending records of the orgs likely stale; then apply, and the
//!   writes with the `COMMIT`. Once it has waited for the row locks
//!   (another node held an org), plain commands on its orgs that queued
//!   meanwhile join it ([`Writer::join_while_locking`]): two nodes on one
//!   org hand the row over with full batches.
//!
//! The writer does not listen to its queue while it waits for a commit, a
//! slot or row locks (see [`Writer::gather`]): each job would wake its
//! thread.
//!
//! Within a node, one hot org gets group commit on both paths: every queued
//! command for it shares one transaction and one commit.
//!
//! What a batch writes is computed by [`WriteSet::encode`] in the store
//! crate, as on SQLite; this file only binds its rows into array statements.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_postgres::types::ToSql;

use creditd_core::{Op, OrgSettings, OrgState, Outcome};
use creditd_store::batch::{self, Batch, IdemRow};
use creditd_store::cache::{OrgCache, OrgCacheSize};
use creditd_store::tick::{self, MAX_TICK_WORK};
use creditd_store::write::{self, EventRow, Rows, WriteSet};
use creditd_store::{Clock, Command, OrgInfo, StoreError, micros_ts, telemetry};
use deadpool_postgres::{GenericClient, Pool};
use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;

use crate::follower::Follower;
use crate::reader::{db, load_states};

/// Runs `writer` on a thread of its own, in a single-threaded runtime:
/// its flights, and the connections of its pool (made there), are driven
/// there too. On a node whose runtime is busy with HTTP, a batch's commit
/// then reaches the writer, and the next batch PostgreSQL, without
/// waiting behind every request task queued on the same threads. The
/// handle finishes when the writer has stopped.
pub fn start_thread(writer: Writer, rx: mpsc::Receiver<Job>) -> std::io::Result<JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (stopped, on_stop) = oneshot::channel::<()>();
    std::thread::Builder::new().name("creditd-pg-writer".into()).spawn(move || {
        runtime.block_on(writer.run(rx));
        // Flights and connections still on this runtime end with it.
        drop(runtime);
        let _ = stopped.send(());
    })?;
    Ok(tokio::spawn(async move {
        let _ = on_stop.await;
    }))
}

/// Most commands one transaction carries.
pub const MAX_BATCH_COMMANDS: usize = 8192;
/// Times a batch is tried again after a deadlock, serialization failure or
/// a unique violation from a concurrent node.
const MAX_RETRIES: usize = 5;

pub enum Job {
    Execute { commands: Vec<Command>, reply: oneshot::Sender<Vec<Result<Outcome, StoreError>>> },
    CreateOrg { org_id: String, settings: OrgSettings, reply: oneshot::Sender<Result<OrgInfo, StoreError>> },
    Tick { reply: oneshot::Sender<Result<usize, StoreError>> },
    Shutdown { reply: oneshot::Sender<()> },
}

impl Job {
    /// What the job counts toward [`MAX_BATCH_COMMANDS`]: its commands, at
    /// least one.
    fn size(&self) -> usize {
        match self {
            Job::Execute { commands, .. } => commands.len().max(1),
            _ => 1,
        }
    }
}

enum Req {
    Execute(Vec<Command>),
    CreateOrg(String, OrgSettings),
    Tick,
}

enum Ans {
    Execute(Vec<Result<Outcome, StoreError>>),
    CreateOrg(Result<OrgInfo, StoreError>),
    Tick(Result<usize, StoreError>),
}

enum ReplyTo {
    Execute(oneshot::Sender<Vec<Result<Outcome, StoreError>>>),
    CreateOrg(oneshot::Sender<Result<OrgInfo, StoreError>>),
    Tick(oneshot::Sender<Result<usize, StoreError>>),
}

/// Why a batch did not commit.
struct Failure {
    error: StoreError,
    /// PostgreSQL refused the transaction in a way that a fresh try, with
    /// states reloaded under the locks, resolves.
    retry: bool,
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        let retry = matches!(
            e.code(),
            Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::UNIQUE_VIOLATION
        );
        Failure { error: db(e), retry }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure { error, retry: false }
    }
}

pub struct Writer {
    pool: Pool,
    conn: Option<deadpool_postgres::Client>,
    /// Bounded: least recently used orgs go after each batch, when nothing
    /// is in flight.
    states: OrgCache<Cached>,
    clock: Arc<dyn Clock>,
    /// The price books priced operations are priced from; refreshed from
    /// the table before a batch that prices (another node may have added a
    /// version).
    prices: Arc<creditd_store::prices::Catalogue>,
    /// Batches applied ahead and sent, oldest first (at most
    /// [`PIPELINE_DEPTH`]).
    flights: VecDeque<Flight>,
    /// Connections of the pipeline not in flight now.
    spare: Vec<deadpool_postgres::Client>,
    /// Orgs another node wrote lately (or whose batch PostgreSQL refused):
    /// their batches take the locked path for a while (see [`Contention`]).
    contended: Contention,
    /// `funding: parent` asked for, per org: the check made under the
    /// batch's locks (`creditd_core::funding::check_setting`).
    funding_checks: HashMap<String, Result<(), creditd_core::LedgerError>>,
    /// The versions a batch applied ahead writes: unique, never `old + 1`
    /// (see [`Writer::next_version`]).
    versions: (std::collections::hash_map::RandomState, u64),
    /// Jobs taken from the queue while a locked batch waited for its row
    /// locks that could not join it: the next ones the writer runs.
    held: VecDeque<Job>,
    stats: Arc<PipelineStats>,
    /// Where committed batches' rollups go (`crate::follower`).
    follower: Arc<Follower>,
    /// The idempotency keys this node has seen lately: a batch applied
    /// ahead looks up only these in the database (see [`RecentKeys`]).
    recent_keys: RecentKeys,
}

/// The (org, idempotency key) pairs a node's writer has seen lately, as
/// hashes, the oldest forgotten past [`RECENT_KEYS`].
///
/// A batch applied ahead takes a key it has not seen as new, without a
/// read: a fresh key is what callers send on all but a retry. If another
/// node (or this one, longer ago) stored it, the batch's insert into
/// `idempotency` breaks its primary key, PostgreSQL refuses the batch
/// (nothing of it is written) and it runs again on the locked path, which
/// reads every key and replays the stored answers. A key seen lately (a
/// retry to the same node) is read before the batch, as every key was
/// before, so a caller retrying here costs no refused batch.
/// A hash shared by two pairs only makes a read that was not needed.
#[derive(Default)]
struct RecentKeys {
    seen: std::collections::HashSet<u64, rustc_hash::FxBuildHasher>,
    order: VecDeque<u64>,
}

/// How many (org, key) pairs [`RecentKeys`] remembers: 8 bytes each, twice.
pub const RECENT_KEYS: usize = 65_536;

impl RecentKeys {
    /// Whether (org, key) is seen here for the first time lately; it is
    /// remembered from now on.
    fn first_sight(&mut self, org_id: &str, key: &str) -> bool {
        use std::hash::BuildHasher;
        let h = rustc_hash::FxBuildHasher.hash_one((org_id, key));
        if !self.seen.insert(h) {
            return false;
        }
        self.order.push_back(h);
        if self.order.len() > RECENT_KEYS
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }
}

/// Counts a batch that took `path` (see `telemetry::pg_writer_batch`), in
/// `stat` and for operators.
fn tally(stat: &AtomicU64, path: &'static str) {
    stat.fetch_add(1, Ordering::Relaxed);
    telemetry::pg_writer_batch(path);
}

/// A cached org state and the `orgs.version` it was read or written at.
struct Cached {
    state: OrgState,
    version: i64,
}

/// Batches in flight at once, each on a connection of its own: batch N+1
/// is applied, and its statements sent, while batch N commits.
pub const PIPELINE_DEPTH: usize = 2;
/// Longest an org that another node wrote takes the locked path (lock,
/// read, apply, write) instead of being applied ahead on its cached state,
/// which would only be refused and run again (see [`Contention`]).
const CONTENDED_FOR: Duration = Duration::from_secs(1);
/// Shortest: a locked batch that finds the org's row as this node left it
/// ends its contention only this long after the last sign of another node
/// (see [`Contention`]).
const CONTENDED_AT_LEAST: Duration = Duration::from_millis(50);

/// The orgs another node wrote lately: their batches take the locked path
/// for up to [`CONTENDED_FOR`] after the last sign of it (a batch of this
/// node refused, or a locked batch finding the row written by another
/// node).
///
/// Sooner when the other node has stopped: a locked batch that finds the
/// row as this node left it, [`CONTENDED_AT_LEAST`] or more after the last
/// sign, ends it. Two nodes writing one org keep seeing each other's
/// writes under the locks and stay on the locked path; a single write from
/// another node (with home nodes, a client's first write to a node that
/// is not the org's home, served there) costs about 50 ms of locked
/// batches, where it cost a second: one in five of a hot org's batches in
/// a 5 s `creditd bench` run.
#[derive(Default)]
struct Contention {
    orgs: HashMap<String, Instant>,
}

impl Contention {
    /// Another node wrote `org` (seen at `now`).
    fn mark(&mut self, org: &str, now: Instant) {
        self.orgs.insert(org.to_string(), now);
    }

    /// A locked batch found `org`'s row as this node left it, at `now`.
    fn quiet(&mut self, org: &str, now: Instant) {
        if self.orgs.get(org).is_some_and(|at| now.saturating_duration_since(*at) >= CONTENDED_AT_LEAST) {
            self.orgs.remove(org);
        }
    }

    /// Whether `org`'s batches take the locked path at `now`.
    fn holds(&self, org: &str, now: Instant) -> bool {
        self.orgs.get(org).is_some_and(|at| now.saturating_duration_since(*at) < CONTENDED_FOR)
    }

    /// Whether another node was seen writing `org` (its state is likely
    /// stale).
    fn seen(&self, org: &str) -> bool {
        self.orgs.contains_key(org)
    }

    /// Forgets the orgs whose contention is over.
    fn trim(&mut self, now: Instant) {
        self.orgs.retain(|_, at| now.saturating_duration_since(*at) < CONTENDED_FOR);
    }

    fn len(&self) -> usize {
        self.orgs.len()
    }
}

/// Longest a batch waits, gathering, for a flight on one of its orgs to
/// land before it is sent to queue behind that flight's row locks.
pub const GATHER_FOR: Duration = Duration::from_millis(10);

/// What the writer's pipeline did (for tests and `creditd bench`).
#[derive(Debug, Default)]
pub struct PipelineStats {
    /// Batches applied ahead: on cached states, before their row locks.
    pub ahead: AtomicU64,
    /// Of those, batches sent while an earlier batch on one of their orgs
    /// was still in flight (they queue behind its row locks).
    pub overlapped: AtomicU64,
    /// Batches applied ahead that PostgreSQL refused before committing
    /// (an org's version had moved on, or a key taken as new was stored)
    /// and that ran again on the locked path.
    pub redone: AtomicU64,
    /// Of those, batches refused because an idempotency key they took as
    /// new was stored already (see `RecentKeys`).
    pub keys_taken: AtomicU64,
    /// Batches run on the locked path (creations, ticks, transfers,
    /// contended orgs, redos).
    pub locked: AtomicU64,
    /// Batches that waited for a flight on one of their orgs to commit or
    /// land, taking what queued meanwhile (see `Writer::gather`).
    pub gathered: AtomicU64,
    /// Jobs that joined a batch on the locked path once it had waited for
    /// its row locks (see `Writer::join_while_locking`): on an org two
    /// nodes write, what queues while the other node holds the row goes out
    /// with the next hand-over instead of in one of its own.
    pub joined: AtomicU64,
    /// Jobs that joined a batch applied ahead once it had waited for a
    /// pipeline connection (see `Writer::wait_for_a_slot`).
    pub joined_waiting: AtomicU64,
}

/// A command list and who waits for its answers.
type ExecJob = (Vec<Command>, oneshot::Sender<Vec<Result<Outcome, StoreError>>>);

/// A batch applied ahead, its statements sent (see [`commit_ahead`]).
struct Flight {
    handle: JoinHandle<Landed>,
    /// Its rows: what later batches read (idempotency rows, settled
    /// records) until it has committed.
    batch: Arc<Batch>,
    /// Every org whose state it used, sorted.
    orgs: Vec<String>,
    /// Fires once its statement has ended (committed or refused): its row
    /// locks are free then.
    ended: Option<oneshot::Receiver<()>>,
    /// Fires once it has committed, before its callers are answered (not
    /// at all if it failed): a batch gathering behind it is sent then,
    /// instead of after the answers.
    committed: Option<oneshot::Receiver<()>>,
    /// The cache epoch its orgs were used in.
    epoch: u64,
}

/// A flight's end: its connection back, and what became of the batch.
struct Landed {
    conn: deadpool_postgres::Client,
    result: FlightResult,
}

enum FlightResult {
    /// Committed; its callers have their answers.
    Committed { commands: usize, elapsed: Duration, open_holds_delta: i64 },
    /// PostgreSQL refused it before the commit (nothing was written): to be
    /// run again on the locked path, callers still waiting.
    /// Refused: run again on the locked path. `key_taken`: because a key
    /// taken as new was stored already, not because another node wrote an
    /// org (so the orgs are not marked contended).
    Redo { execs: Vec<ExecJob>, key_taken: bool },
    /// Failed with an unknown outcome (the connection broke): its callers
    /// have the error.
    Failed,
}

/// What the writer waits for: a flight to land or a job.
enum Next {
    Landed(Result<Landed, tokio::task::JoinError>),
    Job(Option<Job>),
}

/// What applying a batch ahead produced, to be sent.
struct Plan {
    batch: Batch,
    set: WriteSet,
    /// Every org the batch used and the version its cached state is at.
    check_ids: Vec<String>,
    check_versions: Vec<i64>,
    /// One per `batch.orgs`: the version the row is written with.
    new_versions: Vec<i64>,
    answers: Vec<Vec<Result<Outcome, StoreError>>>,
}

impl Writer {
    pub fn new(
        pool: Pool,
        clock: Arc<dyn Clock>,
        org_cache: OrgCacheSize,
        prices: Arc<creditd_store::prices::Catalogue>,
        stats: Arc<PipelineStats>,
        follower: Arc<Follower>,
    ) -> Self {
        Writer {
            pool,
            conn: None,
            states: OrgCache::new("postgres", org_cache),
            clock,
            prices,
            flights: VecDeque::new(),
            spare: Vec::new(),
            contended: Contention::default(),
            recent_keys: RecentKeys::default(),
            funding_checks: HashMap::new(),
            versions: (std::collections::hash_map::RandomState::new(), 0),
            held: VecDeque::new(),
            stats,
            follower,
        }
    }

    pub async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let mut shutdown: Option<oneshot::Sender<()>> = None;
        loop {
            // A flight that lands is seen to first: its connection is the
            // next batch's.
            let next = match self.flights.front_mut() {
                _ if !self.held.is_empty() => Next::Job(self.held.pop_front()),
                Some(f) => tokio::select! {
                    biased;
                    landed = &mut f.handle => Next::Landed(landed),
                    job = rx.recv() => Next::Job(job),
                },
                None => Next::Job(rx.recv().await),
            };
            let first = match next {
                Next::Landed(landed) => {
                    if let Some(f) = self.flights.pop_front() {
                        self.land(f, landed).await;
                    }
                    continue;
                }
                Next::Job(job) => job,
            };
            let Some(first) = first else { break };
            let mut jobs = Vec::new();
            let mut size = 0;
            let mut next = Some(first);
            while let Some(job) = next.take() {
                if let Job::Shutdown { reply } = job {
                    shutdown = Some(reply);
                    break;
                }
                size += job.size();
                jobs.push(job);
                if size < MAX_BATCH_COMMANDS {
                    next = self.held.pop_front().or_else(|| rx.try_recv().ok());
                }
            }
            if shutdown.is_none() && size < MAX_BATCH_COMMANDS {
                self.gather(&mut rx, &mut jobs, &mut size, &mut shutdown).await;
            }
            telemetry::queue_depth("postgres", rx.len());
            if !jobs.is_empty() {
                self.dispatch(jobs, size, &mut rx).await;
            }
            if shutdown.is_some() {
                break;
            }
        }
        self.drain().await;
        // Drain what was queued before the shutdown so no caller is dropped.
        rx.close();
        let mut rest = Vec::new();
        while let Some(job) = self.held.pop_front().or_else(|| rx.try_recv().ok()) {
            match job {
                Job::Shutdown { reply } => {
                    let _ = reply.send(());
                }
                job => rest.push(job),
            }
        }
        if !rest.is_empty() {
            self.process(rest, None).await;
        }
        if let Some(reply) = shutdown {
            let _ = reply.send(());
        }
    }

    /// Hot-org batching: while a flight on an org of `jobs` is in flight,
    /// the batch waits until that flight commits (signalled before it
    /// answers its callers) or lands, or [`GATHER_FOR`] passes; then what
    /// queued meanwhile joins `jobs` ([`Writer::take_queued`]), so the next
    /// commit carries everything that queued behind it instead of a sliver
    /// sent to wait on its row locks. Jobs for other orgs only are
    /// dispatched at once, as are creations, ticks and transfers (they
    /// drain the pipeline anyway).
    ///
    /// The writer does not listen to its queue while it waits, here, for
    /// a slot ([`Writer::wait_for_a_slot`]) or for row locks
    /// ([`Writer::join_while_locking`]): a job sent to a writer that waits
    /// on its queue wakes the writer's thread, once per job (an `eventfd`
    /// write on the sender's side, a context switch on the writer's);
    /// taking the queue when the wait ends costs one wake-up per batch.
    /// On one hot org the node's CPU per operation fell by a sixth
    /// (docs/scaling.md, "A writer that sleeps while it waits").
    async fn gather(
        &mut self,
        rx: &mut mpsc::Receiver<Job>,
        jobs: &mut Vec<Job>,
        size: &mut usize,
        shutdown: &mut Option<oneshot::Sender<()>>,
    ) {
        if !self.held.is_empty() {
            return;
        }
        let mut orgs: std::collections::HashSet<String> = std::collections::HashSet::new();
        for job in jobs.iter() {
            match job {
                Job::Execute { commands, .. } => orgs.extend(commands.iter().map(|c| c.org_id.clone())),
                _ => return,
            }
        }
        let deadline = tokio::time::Instant::now() + GATHER_FOR;
        let mut waited = false;
        loop {
            let overlaps = self.flights.iter().any(|f| f.orgs.iter().any(|o| orgs.contains(o)));
            let Some(front) = self.flights.front_mut().filter(|_| overlaps) else { break };
            // Held back behind the flight, whether or not anything joins.
            waited = true;
            let committed = async {
                match front.committed.as_mut() {
                    Some(rx) => rx.await.is_ok(),
                    None => false,
                }
            };
            // `None`: committed and answering its callers; what queued
            // goes now (its org rows are free), the flight lands later.
            let landed = tokio::select! {
                biased;
                true = committed => None,
                landed = &mut front.handle => Some(landed),
                _ = tokio::time::sleep_until(deadline) => break,
            };
            match landed {
                Some(landed) => {
                    if let Some(f) = self.flights.pop_front() {
                        self.land(f, landed).await;
                    }
                }
                None => {
                    if let Some(f) = self.flights.front_mut() {
                        f.committed = None;
                    }
                    break;
                }
            }
        }
        if waited {
            Self::take_queued(rx, jobs, size, shutdown);
            self.stats.gathered.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes what queued while the writer waited into `jobs`, as if it had
    /// arrived during the wait: up to [`MAX_BATCH_COMMANDS`], ending after
    /// the first job that is not plain commands (a creation or a tick; it
    /// goes with the batch, which then takes the locked path) or at a
    /// shutdown.
    fn take_queued(
        rx: &mut mpsc::Receiver<Job>,
        jobs: &mut Vec<Job>,
        size: &mut usize,
        shutdown: &mut Option<oneshot::Sender<()>>,
    ) {
        while *size < MAX_BATCH_COMMANDS {
            let Ok(job) = rx.try_recv() else { break };
            if let Job::Shutdown { reply } = job {
                *shutdown = Some(reply);
                break;
            }
            *size += job.size();
            let plain = matches!(job, Job::Execute { .. });
            jobs.push(job);
            if !plain {
                break;
            }
        }
    }

    /// Applies the jobs ahead when they are plain commands on orgs no other
    /// node is writing; otherwise (creations, ticks, transfers, contended
    /// orgs) drains the pipeline and runs them on the locked path, where
    /// what arrives for the same orgs while it waits for their row locks
    /// joins the batch. `size`: what `jobs` count toward
    /// [`MAX_BATCH_COMMANDS`].
    async fn dispatch(&mut self, mut jobs: Vec<Job>, size: usize, rx: &mut mpsc::Receiver<Job>) {
        let now = Instant::now();
        if self.contended.len() > 4 * MAX_BATCH_COMMANDS {
            self.contended.trim(now);
        }
        if !jobs.iter().all(|j| self.goes_ahead(j, now)) {
            self.drain().await;
            tally(&self.stats.locked, "locked");
            self.process(jobs, Some(rx)).await;
            return;
        }
        self.wait_for_a_slot(&mut jobs, size, rx, now).await;
        let execs = jobs
            .into_iter()
            .filter_map(|j| match j {
                Job::Execute { commands, reply } => Some((commands, reply)),
                _ => None,
            })
            .collect();
        self.fly(execs).await;
    }

    /// Whether `job` can be applied ahead: plain commands on orgs no other
    /// node wrote lately (see [`Contention`]).
    fn goes_ahead(&self, job: &Job, now: Instant) -> bool {
        match job {
            Job::Execute { commands, .. } => {
                commands.iter().all(|c| c.op.other_org().is_none() && !self.contended.holds(&c.org_id, now))
            }
            _ => false,
        }
    }

    /// With [`PIPELINE_DEPTH`] flights out, waits for the oldest to land;
    /// then what queued meanwhile and can go ahead joins `jobs` (up to
    /// [`MAX_BATCH_COMMANDS`]), so the batch that takes the freed
    /// connection carries everything that queued for it instead of
    /// waiting for the one after. The first job that cannot is held for
    /// the next round, and nothing more joins after it.
    async fn wait_for_a_slot(&mut self, jobs: &mut Vec<Job>, size: usize, rx: &mut mpsc::Receiver<Job>, now: Instant) {
        let open = self.held.is_empty();
        let mut waited = false;
        while self.flights.len() >= PIPELINE_DEPTH {
            let Some(mut front) = self.flights.pop_front() else { break };
            waited = true;
            let landed = (&mut front.handle).await;
            self.land(front, landed).await;
        }
        if !(waited && open) {
            return;
        }
        let joined = self.take_joining(rx, size, |w, job| w.goes_ahead(job, now));
        self.stats.joined_waiting.fetch_add(joined.len() as u64, Ordering::Relaxed);
        jobs.extend(joined);
    }

    /// Takes what queued while the writer waited, for a batch of `size`
    /// commands: each job that `joins` (up to [`MAX_BATCH_COMMANDS`]); the
    /// first that does not is held for the writer's next batch and ends
    /// the taking (nothing overtakes it).
    fn take_joining(
        &mut self,
        rx: &mut mpsc::Receiver<Job>,
        mut size: usize,
        joins: impl Fn(&Self, &Job) -> bool,
    ) -> Vec<Job> {
        let mut joined = Vec::new();
        while size < MAX_BATCH_COMMANDS {
            let Ok(job) = rx.try_recv() else { break };
            if !joins(self, &job) {
                self.held.push_back(job);
                break;
            }
            size += job.size();
            joined.push(job);
        }
        joined
    }

    /// Waits until every flight has landed (and what PostgreSQL refused has
    /// run again).
    async fn drain(&mut self) {
        while let Some(mut f) = self.flights.pop_front() {
            let landed = (&mut f.handle).await;
            self.land(f, landed).await;
        }
    }

    /// A flight has landed. If PostgreSQL refused it, every later flight
    /// lands first (each decides against the database without it, so one
    /// applied on top of it is refused too), then the refused ones run again
    /// on the locked path, in order.
    async fn land(&mut self, f: Flight, landed: Result<Landed, tokio::task::JoinError>) {
        let mut redo = Vec::new();
        let key_taken = self.settle(f, landed, &mut redo, false);
        if redo.is_empty() {
            return;
        }
        while let Some(mut g) = self.flights.pop_front() {
            let landed = (&mut g.handle).await;
            self.settle(g, landed, &mut redo, key_taken);
        }
        for execs in redo {
            tally(&self.stats.redone, "redone");
            tally(&self.stats.locked, "locked");
            self.process(execs.into_iter().map(|(commands, reply)| Job::Execute { commands, reply }).collect(), None)
                .await;
        }
    }

    /// Settles a landed flight; what PostgreSQL refused goes to `redo`,
    /// and its orgs are marked contended unless the refusal was a stored
    /// key's (this flight's, or, `after_key_taken`, the one it was applied
    /// on). Returns whether this flight's refusal was a stored key's.
    fn settle(
        &mut self,
        f: Flight,
        landed: Result<Landed, tokio::task::JoinError>,
        redo: &mut Vec<Vec<ExecJob>>,
        after_key_taken: bool,
    ) -> bool {
        let mut key_taken = false;
        match landed {
            Ok(Landed { conn, result }) => {
                if !conn.is_closed() && self.spare.len() < PIPELINE_DEPTH {
                    self.spare.push(conn);
                }
                match result {
                    FlightResult::Committed { commands, elapsed, open_holds_delta } => {
                        telemetry::batch_committed("postgres", commands, elapsed);
                        telemetry::open_holds_changed(open_holds_delta);
                        return false;
                    }
                    FlightResult::Redo { execs, key_taken: taken } => {
                        if taken {
                            self.stats.keys_taken.fetch_add(1, Ordering::Relaxed);
                        }
                        key_taken = taken;
                        redo.push(execs);
                    }
                    FlightResult::Failed => {}
                }
            }
            // Its callers' senders were dropped with it: they get `Closed`.
            Err(e) => tracing::error!(error = %e, "a write batch's task stopped"),
        }
        // Memory ran ahead of the database: these orgs reload, under their
        // locks for a while if another node wrote them.
        let now = Instant::now();
        for org in &f.orgs {
            self.states.remove(org);
            if !(key_taken || after_key_taken) {
                self.contended.mark(org, now);
            }
        }
        key_taken
    }

    /// A version no writer will write again: a keyed hash of a counter
    /// (random keys per writer). Why not `old + 1`: a batch applied ahead
    /// on top of one that was refused expects that one's version; were it
    /// `old + 1`, another node's single write in between would make the
    /// row show it, and the later batch would pass its check on a state
    /// that never existed.
    fn next_version(&mut self) -> i64 {
        use std::hash::{BuildHasher, Hasher};
        self.versions.1 += 1;
        let mut h = self.versions.0.build_hasher();
        h.write_u64(self.versions.1);
        h.finish() as i64
    }

    /// Applies a batch on the cached states, sends its statements on a
    /// pipeline connection (a task waits for the commit and answers the
    /// callers) and returns: the next batch is applied while this one
    /// commits.
    async fn fly(&mut self, execs: Vec<ExecJob>) {
        let conn = match self.spare.pop() {
            Some(c) if !c.is_closed() => Ok(c),
            _ => self.pool.get().await.map_err(StoreError::backend),
        };
        let conn = match conn {
            Ok(c) => c,
            Err(e) => {
                for (cmds, reply) in execs {
                    let _ = reply.send(cmds.iter().map(|_| Err(e.clone())).collect());
                }
                return;
            }
        };
        let started = Instant::now();
        let now = self.clock.now();
        let mut touched = Vec::new();
        let plan = match self.plan(&conn, &execs, now, &mut touched).await {
            Ok(plan) => plan,
            Err(f) => {
                // Nothing was sent: forget what was applied and run the
                // batch on the locked path, which reports its errors.
                tracing::debug!(error = %f.error, "a batch could not be applied ahead; taking the locked path");
                for org in &touched {
                    self.states.remove(org);
                }
                self.spare.push(conn);
                self.drain().await;
                tally(&self.stats.locked, "locked");
                self.process(
                    execs.into_iter().map(|(commands, reply)| Job::Execute { commands, reply }).collect(),
                    None,
                )
                .await;
                return;
            }
        };
        tally(&self.stats.ahead, "ahead");
        // Queue behind an earlier flight on a common org: send only once
        // its statement has ended, so this batch commits after it.
        let mut waited = false;
        for f in self.flights.iter_mut() {
            if !f.handle.is_finished()
                && f.orgs.iter().any(|o| plan.check_ids.binary_search(o).is_ok())
                && let Some(ended) = f.ended.take()
            {
                let _ = ended.await;
                waited = true;
            }
        }
        if waited {
            self.stats.overlapped.fetch_add(1, Ordering::Relaxed);
        }
        let epoch = self.states.epoch();
        let Plan { batch, set, check_ids, check_versions, new_versions, answers } = plan;
        let batch = Arc::new(batch);
        let (ended_tx, ended_rx) = oneshot::channel();
        let (committed_tx, committed_rx) = oneshot::channel();
        let orgs = check_ids.clone();
        let follower = self.follower.clone();
        let handle = tokio::spawn({
            let batch = batch.clone();
            async move {
                let commands = execs.iter().map(|(c, _)| c.len()).sum();
                let ahead =
                    Ahead { ids: &check_ids, expected: &check_versions, versions: &new_versions, ended: ended_tx };
                let result = match commit_ahead(&conn, &batch, &set, ahead, &follower).await {
                    Ok(()) => {
                        let _ = committed_tx.send(());
                        for ((_, reply), answer) in execs.into_iter().zip(answers) {
                            let _ = reply.send(answer);
                        }
                        FlightResult::Committed {
                            commands,
                            elapsed: started.elapsed(),
                            open_holds_delta: batch.open_holds_delta,
                        }
                    }
                    Err(AheadError::Refused(e)) => {
                        tracing::debug!(error = %e, "a batch applied ahead was refused; running it again under its locks");
                        FlightResult::Redo { execs, key_taken: false }
                    }
                    Err(AheadError::KeyTaken) => {
                        tracing::debug!(
                            "a batch applied ahead had a stored idempotency key; running it again under its locks"
                        );
                        FlightResult::Redo { execs, key_taken: true }
                    }
                    Err(AheadError::Unknown(e)) => {
                        tracing::error!(error = %e, "write batch failed");
                        for (cmds, reply) in execs {
                            let _ = reply.send(cmds.iter().map(|_| Err(e.clone())).collect());
                        }
                        FlightResult::Failed
                    }
                };
                Landed { conn, result }
            }
        });
        self.flights.push_back(Flight {
            handle,
            batch,
            orgs,
            ended: Some(ended_rx),
            committed: Some(committed_rx),
            epoch,
        });
        // Keep every org of a batch in flight: later batches read them from
        // memory (the database does not have them yet).
        let oldest = self.flights.front().map_or(epoch, |f| f.epoch);
        self.states.next_epoch();
        self.states.trim(oldest);
    }

    /// Applies `execs` on the cached states (orgs not cached are read, with
    /// their version, without a lock): the batch's rows, and what its
    /// commit must find for them to hold.
    async fn plan(
        &mut self,
        conn: &deadpool_postgres::Client,
        execs: &[ExecJob],
        now: Timestamp,
        touched: &mut Vec<String>,
    ) -> Result<Plan, Failure> {
        let mut org_ids: Vec<String> = execs
            .iter()
            .flat_map(|(cmds, _)| cmds.iter())
            .filter(|c| !c.org_id.contains('\0'))
            .map(|c| c.org_id.clone())
            .collect();
        org_ids.sort_unstable();
        org_ids.dedup();
        touched.extend(org_ids.iter().cloned());
        let missing: Vec<String> = org_ids.iter().filter(|o| !self.states.contains(o)).cloned().collect();
        if !missing.is_empty() {
            // The version first, then the state: a state newer than its
            // version fails the check at commit; the reverse could pass.
            let st = conn.prepare_cached("SELECT org_id, version FROM orgs WHERE org_id = ANY($1)").await?;
            let mut versions: HashMap<String, i64> = HashMap::with_capacity(missing.len());
            for row in conn.query(&st, &[&missing]).await? {
                versions.insert(row.try_get(0)?, row.try_get(1)?);
            }
            let found: Vec<String> = missing.into_iter().filter(|o| versions.contains_key(o)).collect();
            let mut fresh = load_states(conn, &found).await?;
            for id in found {
                if let (Some(state), Some(&version)) = (fresh.remove(&id), versions.get(&id)) {
                    self.states.insert(id, Cached { state, version });
                }
            }
        }
        let mut expected: HashMap<String, i64> = HashMap::with_capacity(org_ids.len());
        for id in &org_ids {
            if let Some(c) = self.states.get_mut(id) {
                expected.insert(id.clone(), c.version);
            }
        }
        let cmds: Vec<&Command> = execs
            .iter()
            .flat_map(|(cmds, _)| cmds.iter())
            .filter(|c| expected.contains_key(&c.org_id) && pg_text_ok(c).is_ok())
            .collect();
        // A funded child's draws and turning funding on need the parent's
        // row locked too: the locked path.
        let funding = cmds.iter().any(|c| self.needs_parent(c, false));
        if funding {
            return Err(Failure { error: StoreError::backend("a funded organization's draw"), retry: false });
        }
        let (stored, unreadable) = self.read_refs(conn, &cmds, true).await?;
        if cmds.iter().any(|c| matches!(c.op, creditd_core::Op::Priced(_) | creditd_core::Op::Debit { .. })) {
            crate::prices::refresh(conn, &self.prices).await?;
        }
        let mut batch = Batch::new();
        let no_parents = HashMap::new();
        let answers = execs
            .iter()
            .map(|(cmds, _)| {
                cmds.iter()
                    .map(|c| self.apply(&mut batch, c, now, &expected, &no_parents, &stored, &unreadable))
                    .collect()
            })
            .collect();
        let set = WriteSet::encode(&batch, |org| self.states.get(org).map(|c| &c.state))?;
        let mut new_versions = Vec::with_capacity(batch.orgs.len());
        for org in &batch.orgs {
            let v = self.next_version();
            new_versions.push(v);
            if let Some(c) = self.states.get_mut(org) {
                // Settled records are read from the flight until it lands.
                batch::evict_settled(&mut c.state);
                c.version = v;
            }
        }
        let mut check: Vec<(String, i64)> = expected.into_iter().collect();
        check.sort_unstable();
        let (check_ids, check_versions) = check.into_iter().unzip();
        Ok(Plan { batch, set, check_ids, check_versions, new_versions, answers })
    }

    /// The stored idempotency rows of `cmds`' keys and the settled records
    /// they name (the batches in flight first, then the database); records
    /// found join their org's cached state. `ahead`: no row lock is held,
    /// so a record read from the database fails the call if its org's
    /// version moved on. A referenced record that cannot
    /// be read refuses only the commands naming it
    /// (`StoreError::UnreadableRecord`), not the batch.
    async fn read_refs<C: GenericClient + Sync>(
        &mut self,
        c: &C,
        cmds: &[&Command],
        ahead: bool,
    ) -> Result<(HashMap<(String, String), IdemRow>, HashMap<(String, String), StoreError>), Failure> {
        let mut stored: HashMap<(String, String), IdemRow> = HashMap::new();
        let mut unreadable: HashMap<(String, String), StoreError> = HashMap::new();
        let mut key_orgs = Vec::new();
        let mut keys = Vec::new();
        let mut ref_orgs = Vec::new();
        let mut refs = Vec::new();
        for cmd in cmds {
            if let Some(k) = &cmd.idempotency_key {
                let first_sight = self.recent_keys.first_sight(&cmd.org_id, k);
                match self.flights.iter().rev().find_map(|f| f.batch.idem_row(&cmd.org_id, k)) {
                    Some(row) => {
                        stored.insert((cmd.org_id.clone(), k.clone()), row.clone());
                    }
                    // Taken as new: the batch's insert refuses it if not.
                    None if ahead && first_sight => {}
                    None => {
                        key_orgs.push(cmd.org_id.as_str());
                        keys.push(k.as_str());
                    }
                }
            }
            if let Some(id) = cmd.op.record_ref()
                && self.states.get(&cmd.org_id).is_some_and(|c| !c.state.records.contains_key(id))
            {
                match self.flights.iter().rev().find_map(|f| flight_record(&f.batch, &cmd.org_id, id)) {
                    Some(r) => {
                        if let Some(c) = self.states.get_mut(&cmd.org_id) {
                            c.state.records.entry(r.id.clone()).or_insert_with(|| r.clone());
                        }
                    }
                    None => {
                        ref_orgs.push(cmd.org_id.as_str());
                        refs.push(id);
                    }
                }
            }
        }
        if keys.is_empty() && refs.is_empty() {
            return Ok((stored, unreadable));
        }
        let (st_idem, st_recs) = tokio::try_join!(
            c.prepare_cached(
                "SELECT i.org_id, i.key, i.fingerprint, i.outcome, i.created_at FROM idempotency i \
                 JOIN UNNEST($1::text[], $2::text[]) AS k(org_id, key) \
                 ON i.org_id = k.org_id AND i.key = k.key",
            ),
            c.prepare_cached(
                "SELECT r.org_id, r.id, r.body FROM records r \
                 JOIN UNNEST($1::text[], $2::text[]) AS k(org_id, id) \
                 ON r.org_id = k.org_id AND r.id = k.id",
            ),
        )?;
        let (idem_rows, record_rows) = tokio::try_join!(
            async { if keys.is_empty() { Ok(Vec::new()) } else { c.query(&st_idem, &[&key_orgs, &keys]).await } },
            async { if refs.is_empty() { Ok(Vec::new()) } else { c.query(&st_recs, &[&ref_orgs, &refs]).await } },
        )?;
        for row in idem_rows {
            let org_id: String = row.try_get(0)?;
            let key: String = row.try_get(1)?;
            let idem = IdemRow {
                org_id: org_id.clone(),
                key: key.clone(),
                fingerprint: row.try_get(2)?,
                outcome: row.try_get(3)?,
                created_at: micros_ts(row.try_get(4)?)?,
            };
            stored.insert((org_id, key), idem);
        }
        // A usage never refunded has no record row: it is its usage event
        // (`use_N` is seq N) with the draws kept on that row.
        let found: std::collections::HashSet<(String, String)> = record_rows
            .iter()
            .map(|r| Ok((r.try_get::<_, String>(0)?, r.try_get::<_, String>(1)?)))
            .collect::<Result<_, tokio_postgres::Error>>()?;
        let mut usage = (Vec::new(), Vec::new(), Vec::new());
        for (org, id) in ref_orgs.iter().zip(&refs) {
            if let Some(seq) = id.strip_prefix("use_").and_then(|n| n.parse::<i64>().ok())
                && !found.contains(&(org.to_string(), id.to_string()))
            {
                usage.0.push(*org);
                usage.1.push(seq);
                usage.2.push(*id);
            }
        }
        let usage_rows = if usage.0.is_empty() {
            Vec::new()
        } else {
            let st = c.prepare_cached(&crate::reader::USAGE_RECORDS).await?;
            c.query(&st, &[&usage.0, &usage.1, &usage.2]).await?
        };
        if ahead && !refs.is_empty() {
            // Applying ahead, the states are as cached: a record read now
            // belongs with them only if no other node has written its org
            // (its version is read after the record, so a write in between
            // shows). Otherwise the batch takes the locked path.
            let st = c.prepare_cached("SELECT org_id, version FROM orgs WHERE org_id = ANY($1)").await?;
            for row in c.query(&st, &[&ref_orgs]).await? {
                let org_id: String = row.try_get(0)?;
                let version: i64 = row.try_get(1)?;
                if self.states.get(&org_id).is_some_and(|c| c.version != version) {
                    return Err(StoreError::Stopped(format!("org {org_id} was written by another node")).into());
                }
            }
        }
        for row in record_rows {
            let org_id: String = row.try_get(0)?;
            let id: String = row.try_get(1)?;
            match creditd_store::stored::parse_record(&org_id, &id, &row.try_get::<_, String>(2)?) {
                Ok(r) => {
                    if let Some(c) = self.states.get_mut(&org_id) {
                        c.state.records.entry(r.id.clone()).or_insert(r);
                    }
                }
                Err(e) => {
                    unreadable.insert((org_id, id), e);
                }
            }
        }
        for row in usage_rows {
            let org_id: String = row.try_get(0)?;
            match crate::reader::usage_record(&row, &org_id) {
                Ok(r) => {
                    if let Some(c) = self.states.get_mut(&org_id) {
                        c.state.records.entry(r.id.clone()).or_insert(r);
                    }
                }
                Err(e) => {
                    unreadable.insert((org_id, format!("use_{}", row.try_get::<_, i64>(1)?)), e);
                }
            }
        }
        Ok((stored, unreadable))
    }

    /// Runs `jobs` on the locked path. With `rx`, plain commands on the
    /// batch's orgs that arrive while it waits for its row locks join it.
    async fn process(&mut self, jobs: Vec<Job>, mut rx: Option<&mut mpsc::Receiver<Job>>) {
        let now = self.clock.now();
        let mut reqs = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        for job in jobs {
            match job {
                Job::Execute { commands, reply } => {
                    reqs.push(Req::Execute(commands));
                    replies.push(ReplyTo::Execute(reply));
                }
                Job::CreateOrg { org_id, settings, reply } => {
                    reqs.push(Req::CreateOrg(org_id, settings));
                    replies.push(ReplyTo::CreateOrg(reply));
                }
                Job::Tick { reply } => {
                    reqs.push(Req::Tick);
                    replies.push(ReplyTo::Tick(reply));
                }
                Job::Shutdown { reply } => {
                    let _ = reply.send(());
                }
            }
        }
        let mut tries = 0;
        let started = std::time::Instant::now();
        let result = loop {
            match self.attempt(&mut reqs, &mut replies, now, rx.as_deref_mut()).await {
                Ok(answers) => break Ok(answers),
                Err(f) if f.retry && tries < MAX_RETRIES => {
                    tries += 1;
                    tracing::debug!(error = %f.error, tries, "write batch conflicted with another node; trying again");
                }
                Err(f) => break Err(f.error),
            }
        };
        let commands: usize = reqs.iter().map(|r| if let Req::Execute(c) = r { c.len() } else { 1 }).sum();
        match result {
            Ok(answers) => {
                telemetry::batch_committed("postgres", commands, started.elapsed());
                for (reply, answer) in replies.into_iter().zip(answers) {
                    match (reply, answer) {
                        (ReplyTo::Execute(tx), Ans::Execute(r)) => {
                            let _ = tx.send(r);
                        }
                        (ReplyTo::CreateOrg(tx), Ans::CreateOrg(r)) => {
                            let _ = tx.send(r);
                        }
                        (ReplyTo::Tick(tx), Ans::Tick(r)) => {
                            let _ = tx.send(r);
                        }
                        _ => tracing::error!("writer answers out of order"),
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "write batch failed; rolled back");
                for (reply, req) in replies.into_iter().zip(&reqs) {
                    match (reply, req) {
                        (ReplyTo::Execute(tx), Req::Execute(cmds)) => {
                            let _ = tx.send(cmds.iter().map(|_| Err(e.clone())).collect());
                        }
                        (ReplyTo::Execute(tx), _) => {
                            let _ = tx.send(vec![Err(e.clone())]);
                        }
                        (ReplyTo::CreateOrg(tx), _) => {
                            let _ = tx.send(Err(e.clone()));
                        }
                        (ReplyTo::Tick(tx), _) => {
                            let _ = tx.send(Err(e.clone()));
                        }
                    }
                }
            }
        }
    }

    /// One try at the whole batch. On failure the cached states of every org
    /// it touched are dropped: memory may have run ahead of the database.
    async fn attempt(
        &mut self,
        reqs: &mut Vec<Req>,
        replies: &mut Vec<ReplyTo>,
        now: Timestamp,
        rx: Option<&mut mpsc::Receiver<Job>>,
    ) -> Result<Vec<Ans>, Failure> {
        let mut conn = match self.conn.take() {
            Some(c) if !c.is_closed() => c,
            _ => self.pool.get().await.map_err(StoreError::backend)?,
        };
        let mut touched = Vec::new();
        let joining = Joining { reqs, replies, rx };
        let result = self.attempt_on(&mut conn, joining, now, &mut touched).await;
        if result.is_err() {
            for org in &touched {
                self.states.remove(org);
            }
        }
        // The batch is over (committed or rolled back): nothing is in
        // flight, so only the bound decides, least recently used first.
        self.states.next_epoch();
        self.states.trim(self.states.epoch());
        if !conn.is_closed() {
            self.conn = Some(conn);
        }
        result
    }

    /// Whether `c` needs its org's parent locked with it: turning
    /// `funding: parent` on, or a hold or usage of a child funded by its
    /// parent as far as this node knows (`unknown`: what an org this node
    /// has not cached counts as).
    fn needs_parent(&self, c: &Command, unknown: bool) -> bool {
        creditd_core::funding::turns_on(&c.op)
            || (creditd_core::funding::draws(&c.op)
                && self
                    .states
                    .get(&c.org_id)
                    .map_or(unknown, |s| s.state.settings.funding == creditd_core::Funding::Parent))
    }

    /// One try of the locked path, in two round trips when no org is new
    /// and nothing is due: `BEGIN` with the row locks (which bring back the
    /// state of every org whose cached version is not the row's) and the
    /// pending records of the orgs likely stale, then every write with the
    /// `COMMIT`. On failure the transaction is rolled back.
    async fn attempt_on(
        &mut self,
        conn: &mut deadpool_postgres::Client,
        joining: Joining<'_>,
        now: Timestamp,
        touched: &mut Vec<String>,
    ) -> Result<Vec<Ans>, Failure> {
        let c: &deadpool_postgres::Client = conn;
        let result = self.attempt_in(c, joining, now, touched).await;
        if result.is_err() && !c.is_closed() {
            // Ends the transaction if it is still open (a no-op otherwise).
            let _ = c.batch_execute("ROLLBACK").await;
        }
        result
    }

    async fn attempt_in(
        &mut self,
        c: &deadpool_postgres::Client,
        joining: Joining<'_>,
        now: Timestamp,
        touched: &mut Vec<String>,
    ) -> Result<Vec<Ans>, Failure> {
        let Joining { reqs: all_reqs, replies, rx } = joining;
        let reqs: &[Req] = all_reqs;
        // New orgs first, in id order: two nodes creating the same orgs
        // queue behind each other instead of deadlocking.
        let mut creates: Vec<(usize, &str, &OrgSettings)> = reqs
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match r {
                Req::CreateOrg(id, s) => Some((i, id.as_str(), s)),
                _ => None,
            })
            .collect();
        creates.sort_by(|a, b| a.1.cmp(b.1));
        let ticks = reqs.iter().any(|r| matches!(r, Req::Tick));
        // `BEGIN` goes out with the row locks unless something must run
        // in the transaction before them.
        let mut begun = false;
        if !creates.is_empty() || ticks {
            c.batch_execute(BEGIN).await?;
            begun = true;
        }
        let mut created: HashMap<usize, Result<OrgInfo, StoreError>> = HashMap::new();
        for (i, id, settings) in creates {
            let r = self.create_org(c, id, settings, now, touched).await?;
            created.insert(i, r);
        }

        let tick_commands = if ticks { due_work(c, now).await? } else { Vec::new() };

        // Lock every org the batch writes, in one statement, in id order.
        let mut org_ids: Vec<String> = reqs
            .iter()
            .filter_map(|r| match r {
                Req::Execute(cmds) => Some(cmds.iter()),
                _ => None,
            })
            .flatten()
            .chain(tick_commands.iter())
            .filter(|c| !c.org_id.contains('\0'))
            // A transfer writes its receiver too: locked with the others.
            .flat_map(|c| std::iter::once(c.org_id.as_str()).chain(c.op.other_org().filter(|o| !o.contains('\0'))))
            .map(str::to_string)
            .collect();
        // A funded child's hold or usage may draw on its parent, and
        // turning funding on reads the parent: those parents are locked with
        // the rest. Funded as far as this node knows (or not cached); a
        // child funded by another node since is caught under the locks
        // below, and the batch tried again with its state read afresh.
        let funding_orgs: Vec<String> = reqs
            .iter()
            .filter_map(|r| match r {
                Req::Execute(cmds) => Some(cmds.iter()),
                _ => None,
            })
            .flatten()
            .filter(|c| !c.org_id.contains('\0'))
            .filter(|c| self.needs_parent(c, true))
            .map(|c| c.org_id.clone())
            .collect();
        if !funding_orgs.is_empty() {
            let st =
                c.prepare_cached("SELECT parent_id FROM orgs WHERE org_id = ANY($1) AND parent_id IS NOT NULL").await?;
            for row in c.query(&st, &[&funding_orgs]).await? {
                org_ids.push(row.try_get(0)?);
            }
        }
        org_ids.sort_unstable();
        org_ids.dedup();
        touched.extend(org_ids.iter().cloned());
        let mut locked: HashMap<String, i64> = HashMap::with_capacity(org_ids.len());
        // Each locked org's parent, read under the lock (a tree change locks
        // the row too): what transfers check their relation with.
        let mut parents: HashMap<String, Option<String>> = HashMap::with_capacity(org_ids.len());
        // Orgs whose cached state is not the row's (another node wrote
        // them, or they are not cached): their state as locked.
        let mut fresh: HashMap<String, OrgState> = HashMap::new();
        // The pending records of the orgs likely stale (not cached, or
        // written by another node lately), read right after the locks in
        // the same round trip; a stale org not among them is read after.
        let likely: Vec<String> =
            org_ids.iter().filter(|o| !self.states.contains(o) || self.contended.seen(o)).cloned().collect();
        let mut likely_records = Vec::new();
        if !org_ids.is_empty() {
            let cached: Vec<Option<i64>> = org_ids.iter().map(|o| self.states.get(o).map(|c| c.version)).collect();
            let (st_lock, st_recs) =
                tokio::try_join!(c.prepare_cached(LOCK_LOCKED), c.prepare_cached(crate::reader::PENDING_RECORDS))?;
            let lock_params: [&(dyn ToSql + Sync); 2] = [&org_ids, &cached];
            let locking = async {
                tokio::join!(
                    biased;
                    async { if begun { Ok(()) } else { c.batch_execute(BEGIN).await } },
                    c.query(&st_lock, &lock_params),
                    async { if likely.is_empty() { Ok(Vec::new()) } else { c.query(&st_recs, &[&likely]).await } },
                )
            };
            let (b, rows, recs) = match rx {
                Some(rx) => self.join_while_locking(locking, rx, &org_ids, all_reqs, replies).await,
                None => locking.await,
            };
            b?;
            begun = true;
            for row in rows? {
                let id: String = row.try_get(0)?;
                locked.insert(id.clone(), row.try_get(1)?);
                parents.insert(id.clone(), row.try_get(2)?);
                if let Some(json) = row.try_get::<_, Option<String>>(3)? {
                    let state = creditd_store::stored::parse_state(&id, &json)?;
                    fresh.insert(id, state);
                }
            }
            likely_records = recs?;
        }
        if !begun {
            c.batch_execute(BEGIN).await?;
        }
        // With what joined while the locks were taken.
        let reqs: &[Req] = all_reqs;
        // A cached state is current only if no other node wrote the org since.
        let mut unread = Vec::new();
        let seen_at = Instant::now();
        for id in &org_ids {
            match locked.get(id) {
                None => {
                    self.states.remove(id);
                }
                // The row is as this node left it.
                Some(_) if !fresh.contains_key(id) => self.contended.quiet(id, seen_at),
                Some(_) => {
                    if self.states.contains(id) {
                        // Another node wrote it: keep it on the locked path.
                        self.contended.mark(id, seen_at);
                    }
                    if likely.binary_search(id).is_err() {
                        unread.push(id.clone());
                    }
                }
            }
        }
        crate::reader::add_pending_records(&mut fresh, likely_records)?;
        if !unread.is_empty() {
            let st = c.prepare_cached(crate::reader::PENDING_RECORDS).await?;
            let recs = c.query(&st, &[&unread]).await?;
            crate::reader::add_pending_records(&mut fresh, recs)?;
        }
        for (id, state) in fresh {
            let version = locked[&id];
            self.states.insert(id, Cached { state, version });
        }

        // Stored idempotency rows and settled records the commands refer to,
        // read under the locks so another node's committed writes are seen.
        let all_commands = || {
            reqs.iter()
                .filter_map(|r| match r {
                    Req::Execute(cmds) => Some(cmds.iter()),
                    _ => None,
                })
                .flatten()
                .chain(tick_commands.iter())
                .filter(|c| locked.contains_key(&c.org_id) && pg_text_ok(c).is_ok())
        };
        let cmds: Vec<&Command> = all_commands().collect();
        let (stored, unreadable) = self.read_refs(c, &cmds, false).await?;

        // A priced operation (or a debit, which may post a priced hold)
        // prices from versions another node may have written.
        if all_commands().any(|c| matches!(c.op, creditd_core::Op::Priced(_) | creditd_core::Op::Debit { .. })) {
            crate::prices::refresh(c, &self.prices).await?;
        }

        // `funding: parent` asked for: the tree's facts under the locks (the
        // parent's row is locked; a child turning funding on locks this
        // org's row, so its children's funding read here is current).
        self.funding_checks.clear();
        for c in all_commands().filter(|c| self.needs_parent(c, false)) {
            if let Some(p) = parents.get(&c.org_id).cloned().flatten()
                && !locked.contains_key(&p)
            {
                // Funded (or reparented) since this node looked: the states
                // just read are cached, so the next try locks the parent.
                return Err(Failure { error: StoreError::OrgNotFound(p), retry: true });
            }
        }
        let turning: Vec<String> =
            all_commands().filter(|c| creditd_core::funding::turns_on(&c.op)).map(|c| c.org_id.clone()).collect();
        for org in turning {
            let parent = match parents.get(&org).cloned().flatten() {
                Some(p) => match self.states.get(&p).filter(|_| locked.contains_key(&p)) {
                    Some(ps) => Some((p, ps.state.settings.funding)),
                    None => return Err(Failure { error: StoreError::OrgNotFound(p), retry: true }),
                },
                None => None,
            };
            let kids = crate::reader::children(c, std::slice::from_ref(&org)).await?;
            let kid_states = load_states(c, &kids).await?;
            let funded: Vec<String> = kids
                .into_iter()
                .filter(|k| kid_states.get(k).is_some_and(|s| s.settings.funding == creditd_core::Funding::Parent))
                .collect();
            let checked =
                creditd_core::funding::check_setting(&org, parent.as_ref().map(|(p, f)| (p.as_str(), *f)), &funded);
            self.funding_checks.insert(org, checked);
        }

        // Run the ledger.
        let mut batch = Batch::new();
        let mut answers = Vec::with_capacity(reqs.len());
        for (i, req) in reqs.iter().enumerate() {
            answers.push(match req {
                Req::Execute(cmds) => Ans::Execute(
                    cmds.iter()
                        .map(|c| self.apply(&mut batch, c, now, &locked, &parents, &stored, &unreadable))
                        .collect(),
                ),
                Req::CreateOrg(..) => Ans::CreateOrg(created.remove(&i).unwrap_or_else(|| {
                    Err(StoreError::Stopped("the answer to an organisation creation was lost".into()))
                })),
                Req::Tick => Ans::Tick(Ok(tick::run(&tick_commands, |c| {
                    self.apply(&mut batch, c, now, &locked, &parents, &stored, &unreadable)
                }))),
            });
        }

        if batch.is_empty() {
            c.batch_execute("COMMIT").await.map_err(|e| Failure { error: db(e), retry: false })?;
        } else {
            // The writes and the `COMMIT` in one round trip.
            let set = WriteSet::encode(&batch, |org| self.states.get(org).map(|c| &c.state))?;
            match write(c, set.rows(&batch)?, Written::Commit, &self.follower).await {
                Ok(()) => {}
                Err(WriteError::Refused(f) | WriteError::KeyTaken(f)) => return Err(f),
                Err(WriteError::Unknown(error)) => return Err(Failure { error, retry: false }),
            }
        }
        telemetry::open_holds_changed(batch.open_holds_delta);

        for org in &batch.orgs {
            if let Some(c) = self.states.get_mut(org) {
                batch::evict_settled(&mut c.state);
                // The row was rewritten with its version bumped once.
                if let Some(v) = locked.get(org) {
                    c.version = v + 1;
                }
            }
        }
        Ok(answers)
    }

    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        batch: &mut Batch,
        cmd: &Command,
        now: Timestamp,
        locked: &HashMap<String, i64>,
        parents: &HashMap<String, Option<String>>,
        stored: &HashMap<(String, String), IdemRow>,
        unreadable: &HashMap<(String, String), StoreError>,
    ) -> Result<Outcome, StoreError> {
        pg_text_ok(cmd)?;
        if !locked.contains_key(&cmd.org_id) {
            return Err(StoreError::OrgNotFound(cmd.org_id.clone()));
        }
        if let Some(to) = cmd.op.other_org() {
            // Both rows are locked (in id order, with the batch's others);
            // the receiver is applied on a copy put back only on success.
            creditd_core::transfers::check_request(&cmd.org_id, &cmd.op)?;
            let receiver = self.states.get(to).filter(|_| locked.contains_key(to));
            let Some(receiver) = receiver else { return Err(StoreError::OrgNotFound(to.to_string())) };
            let mut receiver = receiver.state.clone();
            let idem = cmd.idempotency_key.as_ref().and_then(|k| stored.get(&(cmd.org_id.clone(), k.clone())));
            let sender =
                &mut self.states.get_mut(&cmd.org_id).ok_or_else(|| StoreError::OrgNotFound(cmd.org_id.clone()))?.state;
            let (from_parent, to_parent) =
                (parents.get(&cmd.org_id).cloned().flatten(), parents.get(to).cloned().flatten());
            let r = batch.apply_transfer(
                sender,
                from_parent.as_deref(),
                &mut receiver,
                to_parent.as_deref(),
                cmd,
                now,
                idem,
            );
            if r.is_ok()
                && let Some(c) = self.states.get_mut(to)
            {
                c.state = receiver;
            }
            return r;
        }
        if let Some(e) = cmd.op.record_ref().and_then(|id| unreadable.get(&(cmd.org_id.clone(), id.to_string()))) {
            return Err(e.clone());
        }
        if creditd_core::funding::turns_on(&cmd.op) {
            // Checked before the ledger ran (only the locked path has them).
            match self.funding_checks.get(&cmd.org_id) {
                Some(checked) => checked.clone()?,
                None => return Err(StoreError::Corrupt("funding: parent was not checked under the locks".into())),
            }
        }
        let idem = cmd.idempotency_key.as_ref().and_then(|k| stored.get(&(cmd.org_id.clone(), k.clone())));
        let funded =
            self.states.get(&cmd.org_id).is_some_and(|c| c.state.settings.funding == creditd_core::Funding::Parent)
                && creditd_core::funding::draws(&cmd.op);
        if funded && let Some(parent_id) = parents.get(&cmd.org_id).cloned().flatten() {
            // Both rows are locked (the parent with the batch's others, in
            // id order); the parent is taken out of the cache while the
            // child is borrowed, and put back (the core leaves both states
            // as they were on a refusal).
            let parent = if locked.contains_key(&parent_id) { self.states.remove(&parent_id) } else { None };
            let Some(mut parent) = parent else {
                return Err(StoreError::Corrupt(format!(
                    "org {}: its parent {parent_id} was not locked for a draw",
                    cmd.org_id
                )));
            };
            let r = match self.states.get_mut(&cmd.org_id) {
                Some(child) => batch.apply_funded(&mut child.state, &mut parent.state, cmd, now, idem, &*self.prices),
                None => Err(StoreError::OrgNotFound(cmd.org_id.clone())),
            };
            self.states.insert(parent_id, parent);
            return r;
        }
        let state =
            &mut self.states.get_mut(&cmd.org_id).ok_or_else(|| StoreError::OrgNotFound(cmd.org_id.clone()))?.state;
        batch.apply_with(state, cmd, now, idem, &*self.prices)
    }

    /// Waits for `locking` (the locked path's `BEGIN` and row locks), then
    /// takes what queued meanwhile: a job of plain commands on orgs among
    /// `org_ids` (locked by this batch; neither a transfer nor a funded
    /// draw, which need other rows) joins the batch, so on an org that
    /// another node holds, everything that queued during the wait goes out
    /// with this hand-over. The first job that cannot join is held for the
    /// writer's next batch and ends the joining (nothing overtakes it after
    /// that). Adds no wait of its own: the locks decide when the batch goes.
    async fn join_while_locking<F: std::future::Future>(
        &mut self,
        locking: F,
        rx: &mut mpsc::Receiver<Job>,
        org_ids: &[String],
        reqs: &mut Vec<Req>,
        replies: &mut Vec<ReplyTo>,
    ) -> F::Output {
        let locked = locking.await;
        if !self.held.is_empty() {
            return locked;
        }
        let size: usize = reqs.iter().map(|r| if let Req::Execute(c) = r { c.len().max(1) } else { 1 }).sum();
        let joined = self.take_joining(rx, size, |w, job| match job {
            Job::Execute { commands, .. } => commands.iter().all(|c| {
                c.op.other_org().is_none() && org_ids.binary_search(&c.org_id).is_ok() && !w.needs_parent(c, true)
            }),
            _ => false,
        });
        for job in joined {
            if let Job::Execute { commands, reply } = job {
                self.stats.joined.fetch_add(1, Ordering::Relaxed);
                reqs.push(Req::Execute(commands));
                replies.push(ReplyTo::Execute(reply));
            }
        }
        locked
    }

    /// Inserts the org row; `Ok(Err(_))` is a refusal, `Err(_)` a failed
    /// transaction.
    async fn create_org<C: GenericClient + Sync>(
        &mut self,
        tx: &C,
        org_id: &str,
        settings: &OrgSettings,
        now: Timestamp,
        touched: &mut Vec<String>,
    ) -> Result<Result<OrgInfo, StoreError>, Failure> {
        if org_id.is_empty() || org_id.contains('\0') {
            return Ok(Err(StoreError::Ledger(creditd_core::LedgerError::Invalid(
                "organization id must be non-empty text without NUL characters".into(),
            ))));
        }
        let new = match write::new_org(org_id, settings.clone(), now) {
            Ok(new) => new,
            Err(e @ StoreError::Ledger(_)) => return Ok(Err(e)),
            Err(e) => return Err(e.into()),
        };
        let st = tx
            .prepare_cached(
                "INSERT INTO orgs (org_id, created_at, seq, next_expiry, state) VALUES ($1, $2, 0, NULL, $3) \
                 ON CONFLICT (org_id) DO NOTHING",
            )
            .await?;
        let n = tx.execute(&st, &[&org_id, &new.created_at_us, &new.state_json]).await?;
        if n == 0 {
            return Ok(Err(StoreError::OrgExists(org_id.to_string())));
        }
        touched.push(org_id.to_string());
        self.states.insert(org_id.to_string(), Cached { state: new.state, version: 0 });
        Ok(Ok(new.info))
    }
}

/// A locked batch's requests and who waits for their answers (in the same
/// order), and the queue that more may join from while it waits for its
/// row locks (see [`Writer::join_while_locking`]).
struct Joining<'a> {
    reqs: &'a mut Vec<Req>,
    replies: &'a mut Vec<ReplyTo>,
    rx: Option<&'a mut mpsc::Receiver<Job>>,
}

/// The row locks and the version check that a batch applied ahead runs in
/// front of its writes, in the same transaction.
struct Ahead<'a> {
    /// Every org whose state the batch used, sorted (the lock order).
    ids: &'a [String],
    /// The version each must still be at: what its cached state was read
    /// or written at.
    expected: &'a [i64],
    /// One per org row written (`rows.orgs()`): its new version.
    versions: &'a [i64],
    /// Told once the statement has ended (committed or refused).
    ended: oneshot::Sender<()>,
}

/// The primary key whose violation says a key taken as new was stored
/// (see [`RecentKeys`]).
const IDEMPOTENCY_KEY: &str = "idempotency_pkey";

/// Why a pipelined write failed.
enum WriteError {
    /// Nothing was written: the failure came before anything was sent, or
    /// PostgreSQL refused a statement (which aborts the transaction).
    Refused(Failure),
    /// The outcome is not known (the connection failed around the commit).
    Unknown(StoreError),
    /// Nothing was written: an idempotency key of the batch was stored
    /// already (its insert broke the primary key; see [`RecentKeys`]).
    KeyTaken(Failure),
}

/// Why a batch applied ahead did not commit.
enum AheadError {
    Refused(StoreError),
    Unknown(StoreError),
    /// A key the batch took as new was stored already.
    KeyTaken,
}

/// Sends a batch applied ahead in one round trip: `BEGIN`, the row locks
/// (in id order), the version check, every write, `COMMIT`.
async fn commit_ahead(
    c: &deadpool_postgres::Client,
    batch: &Batch,
    set: &WriteSet,
    ahead: Ahead<'_>,
    follower: &Follower,
) -> Result<(), AheadError> {
    let rows = set.rows(batch).map_err(AheadError::Refused)?;
    match write(c, rows, Written::Ahead(ahead), follower).await {
        Ok(()) => Ok(()),
        Err(WriteError::Refused(f)) => Err(AheadError::Refused(f.error)),
        Err(WriteError::Unknown(e)) => Err(AheadError::Unknown(e)),
        Err(WriteError::KeyTaken(_)) => Err(AheadError::KeyTaken),
    }
}

/// What a batch's writes are sent with.
enum Written<'a> {
    /// A batch applied ahead: in a transaction of its own, `BEGIN`, the
    /// row locks with the version check, the writes, `COMMIT`.
    Ahead(Ahead<'a>),
    /// The locked path: the caller's transaction is open and holds the
    /// locks; the writes are followed by its `COMMIT`.
    Commit,
}

/// Writes a batch: its events appended and each touched row written once,
/// one array statement per table (events, records, orgs, idempotency,
/// conversations, notifications, outbox messages and deliveries), all
/// pipelined with the `COMMIT` (and for a batch applied ahead, its `BEGIN`
/// and locks): one round trip whatever the batch's size. Once committed,
/// its rollups go to the `follower`, which writes them a moment later
/// with other batches'.
async fn write<C: GenericClient + Sync>(
    c: &C,
    rows: Rows<'_>,
    how: Written<'_>,
    follower: &Follower,
) -> Result<(), WriteError> {
    let before = |e: Failure| WriteError::Refused(e);
    let mut orgs = OrgCols::default();
    for r in rows.orgs() {
        orgs.org_id.push(r.org_id);
        orgs.seq.push(r.seq);
        orgs.next_expiry.push(r.next_expiry_us);
        orgs.state.push(r.state_json);
    }
    let events = EventCols::from_rows(rows.events());
    let mut recs = RecordCols::default();
    for r in rows.records() {
        recs.org_id.push(r.org_id);
        recs.id.push(r.id);
        recs.status.push(r.status);
        recs.expires_at.push(r.expires_at_us);
        recs.body.push(r.body_json);
    }
    let mut conv = ConversationCols::default();
    for v in rows.conversations() {
        conv.org_id.push(v.org_id);
        conv.seq.push(v.seq);
        conv.identity.push(v.identity);
        conv.campaign.push(v.campaign);
        conv.started_at.push(v.started_at_us);
        conv.day.push(v.day);
        conv.created_at.push(v.created_at_us);
    }
    let mut notes = NotificationCols::default();
    for n in rows.notifications() {
        notes.org_id.push(n.org_id);
        notes.seq.push(n.seq);
        notes.created_at.push(n.created_at_us);
        notes.kind.push(n.kind);
        notes.body.push(n.body_json);
    }
    let mut idem = IdemCols::default();
    for i in rows.idempotency() {
        idem.org_id.push(i.org_id);
        idem.key.push(i.key);
        idem.fingerprint.push(i.fingerprint);
        idem.outcome.push(i.outcome_json);
        idem.created_at.push(i.created_at_us);
    }
    // Rollups arrive folded: one row per (org, scope, group, day, key)
    // the batch touched, whatever its number of events. A sum that cannot
    // be kept exact refuses the batch, as on SQLite.
    let deltas = rows.rollups().map_err(|e| before(e.into()))?;
    let outbox = crate::webhooks::OutboxCols::of(rows.webhooks());
    let (r, o, i, cv, n) = (&recs, &orgs, &idem, &conv, &notes);
    let p_events = events.params();
    let versions: &[i64] = match &how {
        Written::Ahead(a) => a.versions,
        Written::Commit => &[],
    };
    let mut p_orgs: Vec<&(dyn ToSql + Sync)> = vec![&o.org_id, &o.seq, &o.next_expiry, &o.state];
    if matches!(how, Written::Ahead(_)) {
        p_orgs.push(&versions);
    }
    let p_records: [&(dyn ToSql + Sync); 5] = [&r.org_id, &r.id, &r.status, &r.expires_at, &r.body];
    let p_idem: [&(dyn ToSql + Sync); 5] = [&i.org_id, &i.key, &i.fingerprint, &i.outcome, &i.created_at];
    let p_conv: [&(dyn ToSql + Sync); 7] =
        [&cv.org_id, &cv.seq, &cv.identity, &cv.campaign, &cv.started_at, &cv.day, &cv.created_at];
    let p_notes: [&(dyn ToSql + Sync); 5] = [&n.org_id, &n.seq, &n.created_at, &n.kind, &n.body];
    let p_msgs = outbox.message_params();
    let p_fan = outbox.fan_out_params();
    let orgs_sql = if matches!(how, Written::Ahead(_)) { UPDATE_ORGS_AHEAD } else { UPDATE_ORGS };
    // Each table's statement and its parameters, in the order they are
    // sent; a table the batch writes no row to is left out.
    let parts: Vec<Part<'_>> = [
        (orgs_sql, &p_orgs[..], o.org_id.len()),
        (INSERT_EVENTS, &p_events[..], events.org_id.len()),
        (UPSERT_RECORDS, &p_records[..], r.org_id.len()),
        (INSERT_IDEM, &p_idem[..], i.org_id.len()),
        (INSERT_CONVERSATIONS, &p_conv[..], cv.org_id.len()),
        (INSERT_NOTIFICATIONS, &p_notes[..], n.org_id.len()),
        (crate::webhooks::INSERT_MESSAGES, &p_msgs[..], outbox.len()),
        (crate::webhooks::FAN_OUT, &p_fan[..], outbox.len()),
    ]
    .into_iter()
    .filter(|(_, _, rows)| *rows > 0)
    .map(|(sql, params, _)| Part { sql, params })
    .collect();
    let (got_orgs, got_events) = match how {
        Written::Ahead(a) => one_statement(c, a, &parts).await?,
        Written::Commit => with_commit(c, &parts).await?,
    };
    let (want_events, want_orgs) = (rows.events().len() as u64, rows.orgs().len() as u64);
    if got_events != want_events || got_orgs != want_orgs {
        let e = StoreError::Corrupt(format!(
            "wrote {got_events} of {want_events} events and {got_orgs} of {want_orgs} org rows"
        ));
        // Committed already: the locks make this unreachable (every org
        // row exists, checked for a batch applied ahead and read under the
        // lock on the locked path; an event insert writes all its rows or
        // fails).
        tracing::error!(error = %e, "a batch wrote other rows than it meant to");
    }
    let mut spans: Vec<(&str, i64, i64)> = Vec::new();
    for e in rows.events() {
        match spans.iter_mut().find(|s| s.0 == e.org_id) {
            Some(s) => (s.1, s.2) = (s.1.min(e.seq), s.2.max(e.seq)),
            None => spans.push((e.org_id, e.seq, e.seq)),
        }
    }
    follower.committed(deltas, &spans);
    Ok(())
}

/// One table's array statement of a batch, and its parameters.
struct Part<'p> {
    sql: &'static str,
    params: &'p [&'p (dyn ToSql + Sync)],
}

/// How many org rows and event rows a batch's statements wrote.
type RowsWritten = (u64, u64);

/// The locked path's writes: the statements in their order, then the
/// `COMMIT` of the transaction that holds the locks, all in one round
/// trip. A statement PostgreSQL refuses aborts the transaction, and the
/// `COMMIT` at the end then rolls it back.
async fn with_commit<C: GenericClient + Sync>(c: &C, parts: &[Part<'_>]) -> Result<RowsWritten, WriteError> {
    let prepared = futures_util::future::try_join_all(parts.iter().map(|p| c.prepare_cached(p.sql))).await;
    let prepared = prepared.map_err(|e| WriteError::Refused(e.into()))?;
    // Polled in this order on the first poll, so sent in this order.
    let (mut sent, commit) = tokio::join!(
        biased;
        futures_util::future::join_all(parts.iter().zip(&prepared).map(|(p, st)| c.execute(st, p.params))),
        c.batch_execute("COMMIT"),
    );
    // The first error PostgreSQL answered is the cause (the statements
    // after it answer that the transaction is aborted).
    let server = sent.iter().position(|r| matches!(r, Err(e) if e.code().is_some()));
    let failed = server.or_else(|| sent.iter().position(Result::is_err));
    if let Some(at) = failed
        && let Err(e) = sent.swap_remove(at)
    {
        // Ends the transaction if the `COMMIT` never went out.
        let _ = c.batch_execute("ROLLBACK").await;
        return Err(if server.is_none() { WriteError::Unknown(db(e)) } else { refusal(e) });
    }
    if let Err(e) = commit {
        return Err(WriteError::Unknown(db(e)));
    }
    let count = |sql: &str| {
        parts.iter().position(|p| p.sql == sql).and_then(|at| sent.get(at)).and_then(|r| r.as_ref().ok()).copied()
    };
    Ok((count(UPDATE_ORGS).unwrap_or(0), count(INSERT_EVENTS).unwrap_or(0)))
}

/// A batch applied ahead as one statement, which PostgreSQL runs as a
/// transaction of its own: its main query locks the rows of every org the
/// batch used, in id order, and fails (division by zero) unless each one
/// is still at the version its cached state was at ([`LOCK_CHECK`]);
/// each table's write is a data-modifying `WITH` part, run once the locks
/// are held. One message each way: the writes of separate statements,
/// each answered on its own, woke this thread and PostgreSQL about six
/// times per batch (measured with one client: 5.6 wake-ups of the writer
/// per operation).
async fn one_statement<C: GenericClient + Sync>(
    c: &C,
    ahead: Ahead<'_>,
    parts: &[Part<'_>],
) -> Result<RowsWritten, WriteError> {
    let (sql, params) = ahead_statement(&ahead.ids, &ahead.expected, parts);
    let result = match c.prepare_cached(&sql).await {
        Ok(st) => c.query_one(&st, &params).await,
        Err(e) => {
            // Nothing was sent.
            let _ = ahead.ended.send(());
            return Err(WriteError::Refused(e.into()));
        }
    };
    let _ = ahead.ended.send(());
    match result {
        Ok(row) => {
            let count = |at: usize| row.try_get::<_, i64>(at).map(|n| n.max(0) as u64).unwrap_or(0);
            Ok((count(1), count(2)))
        }
        // Refused: nothing of the statement was written.
        Err(e) if e.code().is_some() => Err(refusal(e)),
        Err(e) => Err(WriteError::Unknown(db(e))),
    }
}

/// The text and parameters of [`one_statement`]: the parts' statements
/// with their parameters renumbered after the lock check's two. The text
/// depends only on which tables the batch writes: it is made once per
/// combination (on this thread) and reused.
fn ahead_statement<'p>(
    ids: &'p &'p [String],
    expected: &'p &'p [i64],
    parts: &'p [Part<'p>],
) -> (Arc<str>, Vec<&'p (dyn ToSql + Sync)>) {
    thread_local! {
        /// By the addresses of the statements (constants: a handful of
        /// combinations).
        static TEXTS: std::cell::RefCell<HashMap<Vec<usize>, Arc<str>, rustc_hash::FxBuildHasher>> =
            Default::default();
    }
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![ids, expected];
    for p in parts {
        params.extend_from_slice(p.params);
    }
    let key: Vec<usize> = parts.iter().map(|p| p.sql.as_ptr() as usize).collect();
    let text = TEXTS.with_borrow_mut(|texts| {
        texts.entry(key).or_insert_with(|| ahead_text(&parts.iter().map(|p| p.sql).collect::<Vec<_>>()).into()).clone()
    });
    (text, params)
}

/// [`ahead_statement`]'s text for a batch writing with `statements`.
fn ahead_text(statements: &[&str]) -> String {
    let mut with = Vec::with_capacity(statements.len());
    let mut counted = ["0".to_string(), "0".to_string()];
    let mut at_param = 2;
    for (at, sql) in statements.iter().enumerate() {
        let name = format!("w{at}");
        let returning = match *sql {
            UPDATE_ORGS_AHEAD => Some(0),
            INSERT_EVENTS => Some(1),
            _ => None,
        };
        let mut body = renumber(sql, at_param);
        if let Some(slot) = returning {
            body.push_str(" RETURNING 1");
            counted[slot] = format!("(SELECT count(*) FROM {name})");
        }
        with.push(format!("{name} AS ({body})"));
        at_param += params_of(sql);
    }
    let with = if with.is_empty() { String::new() } else { format!("WITH {} ", with.join(", ")) };
    let [orgs, events] = counted;
    format!("{with}SELECT {LOCK_CHECK}, {orgs}, {events} {LOCKED_ROWS}")
}

/// How many parameters `sql` takes (its highest `$n`).
fn params_of(sql: &str) -> usize {
    sql.split('$')
        .skip(1)
        .filter_map(|t| t.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .max()
        .unwrap_or(0)
}

/// `sql` with each parameter `$n` made `$(n + by)`.
fn renumber(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// A refused write: nothing of it was written.
fn refusal(e: tokio_postgres::Error) -> WriteError {
    let key_taken = e.code() == Some(&SqlState::UNIQUE_VIOLATION)
        && e.as_db_error().and_then(|d| d.constraint()) == Some(IDEMPOTENCY_KEY);
    let failure = Failure::from(e);
    if key_taken { WriteError::KeyTaken(failure) } else { WriteError::Refused(failure) }
}

/// How the locked path's transaction starts. Its statements use generic
/// plans, as every statement of the writer's connections does (set for
/// the connection: see `writer_config`).
const BEGIN: &str = "BEGIN";

pub(crate) const INSERT_EVENTS: &str = "INSERT INTO events (org_id, seq, created_at, kind, amount, pool, status, source, \
     service, activity, project_id, project_name, user_name, user_email, description, code, hold_id, \
     idempotency_key, balance_after, prepaid_balance_after, held_after, period_usage_after, metadata, hash, pricing, \
     plan_balance_after, voucher_balance_after, promotional_balance_after, draws) \
     SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::text[], $5::int8[], $6::text[], $7::text[], \
     $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], \
     $16::text[], $17::text[], $18::text[], $19::int8[], $20::int8[], $21::int8[], $22::int8[], $23::text[], \
     $24::text[], $25::text[], $26::int8[], $27::int8[], $28::int8[], $29::text[])";

pub(crate) const UPSERT_RECORDS: &str = "INSERT INTO records (org_id, id, status, expires_at, body) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[]) \
     ON CONFLICT (org_id, id) DO UPDATE SET status = excluded.status, expires_at = excluded.expires_at, \
     body = excluded.body";

const UPDATE_ORGS: &str = "UPDATE orgs SET seq = u.seq, next_expiry = u.next_expiry, state = u.state, \
     version = orgs.version + 1 \
     FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::text[]) AS u(org_id, seq, next_expiry, state) \
     WHERE orgs.org_id = u.org_id";

/// The check of a batch applied ahead, over [`LOCKED_ROWS`]: it fails
/// (division by zero, which aborts the statement) unless every org the
/// batch used still exists at the version its cached state was at. The
/// locking sub-select locks them in id order (as the locked path does, so
/// nodes never deadlock) and returns each row as the commit of whoever
/// held its lock before left it (read committed re-reads a row it waited
/// for).
const LOCK_CHECK: &str = "1 / (count(*) = cardinality($1::text[]) AND bool_and(l.version = u.expected))::int";

/// The rows of every org a batch applied ahead used, locked in id order
/// with the version each must still be at (see [`one_statement`]).
const LOCKED_ROWS: &str = "FROM (SELECT org_id, version FROM orgs WHERE org_id = ANY($1) ORDER BY org_id FOR UPDATE) \
     AS l JOIN UNNEST($1::text[], $2::int8[]) AS u(org_id, expected) ON l.org_id = u.org_id";

/// The locked path: locks the rows of every org of the batch in id order,
/// with each one's version and parent, and its state when the version is
/// not `$2`'s (the cached one; NULL when not cached). A row waited for is
/// returned as its last commit left it.
const LOCK_LOCKED: &str = "SELECT o.org_id, o.version, o.parent_id, \
     CASE WHEN o.version IS DISTINCT FROM c.cached THEN o.state END \
     FROM orgs o JOIN UNNEST($1::text[], $2::int8[]) AS c(org_id, cached) ON o.org_id = c.org_id \
     ORDER BY o.org_id FOR UPDATE OF o";

/// [`UPDATE_ORGS`] for a batch applied ahead: each row's new version is
/// given (see `Writer::next_version`).
const UPDATE_ORGS_AHEAD: &str = "UPDATE orgs SET seq = u.seq, next_expiry = u.next_expiry, state = u.state, \
     version = u.version \
     FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::text[], $5::int8[]) \
     AS u(org_id, seq, next_expiry, state, version) \
     WHERE orgs.org_id = u.org_id";

const INSERT_IDEM: &str = "INSERT INTO idempotency (org_id, key, fingerprint, outcome, created_at) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[])";

const INSERT_CONVERSATIONS: &str = "INSERT INTO conversations (org_id, seq, identity, campaign, started_at, day, \
     created_at) SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[], $5::int8[], $6::text[], \
     $7::int8[])";

const INSERT_NOTIFICATIONS: &str = "INSERT INTO notifications (org_id, seq, created_at, kind, body) \
     SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::text[], $5::text[])";

/// A batch's conversation rows, one array per column of [`INSERT_CONVERSATIONS`].
#[derive(Default)]
struct ConversationCols<'a> {
    org_id: Vec<&'a str>,
    seq: Vec<i64>,
    identity: Vec<&'a str>,
    campaign: Vec<Option<&'a str>>,
    started_at: Vec<i64>,
    day: Vec<String>,
    created_at: Vec<i64>,
}

/// A batch's notification rows, one array per column of [`INSERT_NOTIFICATIONS`].
#[derive(Default)]
struct NotificationCols<'a> {
    org_id: Vec<&'a str>,
    seq: Vec<i64>,
    created_at: Vec<i64>,
    kind: Vec<&'static str>,
    body: Vec<&'a str>,
}

/// A batch's org rows, one array per column of [`UPDATE_ORGS`].
#[derive(Default)]
struct OrgCols<'a> {
    org_id: Vec<&'a str>,
    seq: Vec<i64>,
    next_expiry: Vec<Option<i64>>,
    state: Vec<&'a str>,
}

/// Record rows, one array per column of [`UPSERT_RECORDS`].
#[derive(Default)]
pub(crate) struct RecordCols<'a> {
    pub(crate) org_id: Vec<&'a str>,
    pub(crate) id: Vec<&'a str>,
    pub(crate) status: Vec<&'static str>,
    pub(crate) expires_at: Vec<Option<i64>>,
    pub(crate) body: Vec<&'a str>,
}

/// A batch's idempotency rows, one array per column of [`INSERT_IDEM`].
#[derive(Default)]
struct IdemCols<'a> {
    org_id: Vec<&'a str>,
    key: Vec<&'a str>,
    fingerprint: Vec<&'a str>,
    outcome: Vec<&'a str>,
    created_at: Vec<i64>,
}

/// The batch's events, one array per column.
#[derive(Default)]
pub(crate) struct EventCols<'a> {
    org_id: Vec<&'a str>,
    seq: Vec<i64>,
    created_at: Vec<i64>,
    kind: Vec<&'static str>,
    amount: Vec<i64>,
    pool: Vec<Option<&'static str>>,
    status: Vec<&'static str>,
    texts: [Vec<Option<&'a str>>; 11],
    balance_after: Vec<i64>,
    prepaid_balance_after: Vec<i64>,
    held_after: Vec<i64>,
    period_usage_after: Vec<i64>,
    metadata: Vec<Option<&'a str>>,
    hash: Vec<&'a str>,
    pricing: Vec<Option<&'a str>>,
    pools_after: [Vec<Option<i64>>; 3],
    draws: Vec<Option<&'a str>>,
}

impl<'a> EventCols<'a> {
    /// The columns of `rows`.
    pub(crate) fn from_rows(rows: impl ExactSizeIterator<Item = EventRow<'a>>) -> Self {
        let mut c = EventCols::default();
        for e in rows {
            c.org_id.push(e.org_id);
            c.seq.push(e.seq);
            c.created_at.push(e.created_at_us);
            c.kind.push(e.kind);
            c.amount.push(e.amount_micros);
            c.pool.push(e.pool);
            c.status.push(e.status);
            for (col, t) in c.texts.iter_mut().zip(e.texts) {
                col.push(t);
            }
            c.balance_after.push(e.balance_after_micros);
            c.prepaid_balance_after.push(e.prepaid_balance_after_micros);
            c.held_after.push(e.held_after_micros);
            c.period_usage_after.push(e.period_usage_after_micros);
            c.metadata.push(e.metadata_json);
            c.hash.push(e.hash);
            c.pricing.push(e.pricing_json);
            for (col, v) in c.pools_after.iter_mut().zip(e.pools_after) {
                col.push(v);
            }
            c.draws.push(e.draws_json);
        }
        c
    }

    /// The parameters of [`INSERT_EVENTS`].
    pub(crate) fn params(&self) -> [&(dyn ToSql + Sync); 29] {
        let e = self;
        [
            &e.org_id,
            &e.seq,
            &e.created_at,
            &e.kind,
            &e.amount,
            &e.pool,
            &e.status,
            &e.texts[0],
            &e.texts[1],
            &e.texts[2],
            &e.texts[3],
            &e.texts[4],
            &e.texts[5],
            &e.texts[6],
            &e.texts[7],
            &e.texts[8],
            &e.texts[9],
            &e.texts[10],
            &e.balance_after,
            &e.prepaid_balance_after,
            &e.held_after,
            &e.period_usage_after,
            &e.metadata,
            &e.hash,
            &e.pricing,
            &e.pools_after[0],
            &e.pools_after[1],
            &e.pools_after[2],
            &e.draws,
        ]
    }
}

/// Holds whose timeout has passed and orgs with scheduled work due (see
/// [`creditd_store::tick`]).
async fn due_work<C: GenericClient + Sync>(c: &C, now: Timestamp) -> Result<Vec<Command>, Failure> {
    let us = now.as_microsecond();
    let limit = MAX_TICK_WORK as i64;
    let ph = |n| format!("${n}");
    let st_holds = c.prepare_cached(&tick::due_holds_sql(ph)).await?;
    let st_orgs = c.prepare_cached(&tick::due_orgs_sql(ph)).await?;
    let params: [&(dyn ToSql + Sync); 2] = [&us, &limit];
    let (holds, orgs) = tokio::try_join!(c.query(&st_holds, &params), c.query(&st_orgs, &params))?;
    let holds = holds.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect::<Result<Vec<_>, Failure>>()?;
    let orgs = orgs.iter().map(|r| Ok(r.try_get(0)?)).collect::<Result<Vec<_>, Failure>>()?;
    Ok(tick::commands(holds, orgs).collect())
}

/// The latest version of record `id` of `org_id` that a batch in flight
/// writes (an upserted record, or a usage record it created), if any.
fn flight_record<'a>(batch: &'a Batch, org_id: &str, id: &str) -> Option<&'a creditd_core::Record> {
    batch.record(org_id, id).or_else(|| {
        batch
            .usage_records
            .iter()
            .find(|(at, r)| r.id == id && batch.events.get(*at).is_some_and(|e| e.org_id == org_id))
            .map(|(_, r)| r)
    })
}

/// PostgreSQL text cannot hold NUL characters; a command carrying one is
/// refused on its own instead of failing the whole batch's transaction.
fn pg_text_ok(cmd: &Command) -> Result<(), StoreError> {
    let nul = |s: &str| s.contains('\0');
    if nul(&cmd.org_id) {
        return Err(StoreError::OrgNotFound(cmd.org_id.replace('\0', "\\0")));
    }
    let bad = || StoreError::Ledger(creditd_core::LedgerError::Invalid("text must not contain NUL characters".into()));
    if cmd.idempotency_key.as_deref().is_some_and(nul) {
        return Err(bad());
    }
    let ctx_nul = |c: &creditd_core::EventCtx| {
        [
            &c.source,
            &c.service,
            &c.activity,
            &c.project_id,
            &c.project_name,
            &c.user_name,
            &c.user_email,
            &c.description,
        ]
        .into_iter()
        .any(|f| f.as_deref().is_some_and(nul))
    };
    let found = match &cmd.op {
        Op::Credit(c) => ctx_nul(&c.ctx) || c.code.as_deref().is_some_and(nul),
        Op::SettlePurchase { purchase_id, ctx, .. } => nul(purchase_id) || ctx_nul(ctx),
        Op::ReversePurchase { purchase_id, reason, ctx } => nul(purchase_id) || nul(reason) || ctx_nul(ctx),
        Op::Hold(h) => ctx_nul(&h.ctx),
        Op::Debit { hold_id, ctx, .. } | Op::Release { hold_id, ctx } => nul(hold_id) || ctx_nul(ctx),
        Op::ExtendHold(e) => nul(&e.hold_id) || ctx_nul(&e.ctx),
        Op::Usage { ctx, .. } | Op::Billing { ctx, .. } => ctx_nul(ctx),
        Op::Refund { refers_to, ctx, .. } => nul(refers_to) || ctx_nul(ctx),
        Op::Adjustment { reason, ctx, .. } => nul(reason) || ctx_nul(ctx),
        Op::TimeoutHold { hold_id } => nul(hold_id),
        Op::Transfer(t) => t.texts().into_iter().any(nul),
        Op::ExpireDue => false,
        Op::Plans(p) => p.texts().into_iter().any(nul),
        Op::Access(a) => a.texts().into_iter().any(nul),
        Op::Priced(p) => {
            ctx_nul(p.ctx())
                || matches!(p, creditd_core::PricedOp::Debit { hold_id, .. }
                    | creditd_core::PricedOp::Extend { hold_id, .. } if nul(hold_id))
        }
    };
    let found =
        found || cmd.actor.as_ref().is_some_and(|a| a.key_id.iter().chain(a.member_email.iter()).any(|s| nul(s)));
    if found { Err(bad()) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sign of another node holds an org on the locked path for up to a
    /// second; a locked batch finding the row as this node left it ends
    /// that, but not within 50 ms of the last sign.
    #[test]
    fn contention_lasts_while_another_node_keeps_writing() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut c = Contention::default();
        assert!(!c.holds("o", t0) && !c.seen("o"));
        c.mark("o", t0);
        assert!(c.holds("o", ms(999)) && !c.holds("o", ms(1_000)), "a second at most");
        assert!(!c.holds("p", ms(1)), "per org");
        // Another node keeps writing: each sign holds it a second more.
        c.mark("o", ms(900));
        assert!(c.holds("o", ms(1_899)));
        // The row as this node left it, too soon after the last sign: held.
        c.quiet("o", ms(949));
        assert!(c.holds("o", ms(950)) && c.seen("o"));
        // Later: over.
        c.quiet("o", ms(950));
        assert!(!c.holds("o", ms(951)) && !c.seen("o"));
        c.quiet("o", ms(960));
        assert!(!c.seen("o"), "a quiet org stays quiet");
        // Trimming forgets what no longer holds.
        c.mark("q", ms(2_000));
        c.trim(ms(2_999));
        assert!(c.seen("q"));
        c.trim(ms(3_000));
        assert_eq!(c.len(), 0);
    }

    /// A pair is new once; the oldest are forgotten past [`RECENT_KEYS`],
    /// so the memory is bounded whatever the number of keys.
    #[test]
    fn recent_keys_remember_the_latest_pairs_only() {
        let mut keys = RecentKeys::default();
        assert!(keys.first_sight("o", "k"));
        assert!(!keys.first_sight("o", "k"));
        assert!(keys.first_sight("p", "k"), "per org");
        assert!(keys.first_sight("o", "k2"));
        for i in 0..RECENT_KEYS {
            assert!(keys.first_sight("o", &format!("fill-{i}")));
        }
        assert!(keys.seen.len() <= RECENT_KEYS && keys.order.len() <= RECENT_KEYS);
        assert!(keys.first_sight("o", "k"), "forgotten");
        assert!(!keys.first_sight("o", &format!("fill-{}", RECENT_KEYS - 1)), "still seen");
    }

    /// Each org row's id, version, seq and state.
    async fn rows(c: &tokio_postgres::Client) -> Vec<(String, i64, i64, String)> {
        let rows = c.query("SELECT org_id, version, seq, state FROM orgs ORDER BY org_id", &[]).await;
        rows.expect("rows").iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect()
    }

    /// The generic and custom plans a session's prepared statements got
    /// (`pg_prepared_statements`), summed.
    async fn plans(c: &tokio_postgres::Client) -> (i64, i64) {
        let row = c
            .query_one(
                "SELECT COALESCE(sum(generic_plans), 0)::int8, COALESCE(sum(custom_plans), 0)::int8 \
                 FROM pg_prepared_statements WHERE NOT from_sql",
                &[],
            )
            .await
            .expect("plans");
        (row.get(0), row.get(1))
    }

    /// The parts' parameters follow the lock check's two, renumbered; only
    /// the org rows and the events are counted.
    #[test]
    fn a_batch_applied_ahead_is_one_statement_with_its_parameters_renumbered() {
        assert_eq!(
            renumber("a = $1 AND b = ANY($2::text[]) OR c = $10", 3),
            "a = $4 AND b = ANY($5::text[]) OR c = $13"
        );
        assert_eq!(renumber("no parameters $ here", 7), "no parameters $ here");
        let (ids, expected): (&[String], &[i64]) = (&["a".to_string()], &[1]);
        let (a, b, c) = (vec!["a"], vec![1i64], vec![Some(2i64)]);
        let orgs: [&(dyn ToSql + Sync); 5] = [&a, &b, &c, &a, &b];
        let idem: [&(dyn ToSql + Sync); 5] = [&a, &a, &a, &a, &b];
        let parts = [Part { sql: UPDATE_ORGS_AHEAD, params: &orgs }, Part { sql: INSERT_IDEM, params: &idem }];
        let (sql, params) = ahead_statement(&ids, &expected, &parts);
        assert_eq!(params.len(), 12);
        assert!(sql.starts_with("WITH w0 AS (UPDATE orgs SET"), "{sql}");
        assert!(sql.contains("FROM UNNEST($3::text[], $4::int8[], $5::int8[], $6::text[], $7::int8[])"), "{sql}");
        assert!(sql.contains("SELECT * FROM UNNEST($8::text[], $9::text[], $10::text[], $11::text[], $12::int8[])"));
        assert!(sql.contains(" RETURNING 1), w1 AS (INSERT INTO idempotency"), "only orgs and events return rows");
        assert!(sql.ends_with(&format!("SELECT {LOCK_CHECK}, (SELECT count(*) FROM w0), 0 {LOCKED_ROWS}")), "{sql}");
        assert!(!sql.contains("$13"));
        // The text is made once per combination of tables.
        let (again, _) = ahead_statement(&ids, &expected, &parts);
        assert!(Arc::ptr_eq(&sql, &again), "reused");
        let (alone, _) = ahead_statement(&ids, &expected, &parts[..1]);
        assert!(!alone.contains("idempotency") && alone.contains("$7::int8[]") && !alone.contains("$8"), "{alone}");
        for (sql, n) in [(INSERT_EVENTS, 29), (UPDATE_ORGS_AHEAD, 5), (UPDATE_ORGS, 4), (INSERT_IDEM, 5)] {
            assert_eq!(params_of(sql), n);
        }
    }

    /// A batch applied ahead, as one statement on a writer's connection:
    /// planned once (generic) where a default connection plans it again for
    /// each of its first executions (custom); written when every org is at
    /// its expected version, refused with nothing written when one is not,
    /// telling the next batch its locks are free either way. The locked
    /// path's writes, pipelined with its `COMMIT`: all or nothing too.
    #[tokio::test]
    async fn a_batch_applied_ahead_writes_all_or_nothing_on_generic_plans() {
        let url = match creditd_conformance::pg::fresh_database().await {
            Ok(Some(url)) => url,
            Ok(None) => return,
            Err(e) => panic!("cannot start PostgreSQL for the tests: {e}"),
        };
        let config: tokio_postgres::Config = url.parse().expect("url");
        let (c, conn) = config.connect(tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(conn);
        c.batch_execute(
            "CREATE TABLE orgs (org_id text PRIMARY KEY, version int8 NOT NULL, seq int8 NOT NULL, \
             next_expiry int8, state text NOT NULL); \
             INSERT INTO orgs VALUES ('a', 1, 0, NULL, '{}'), ('b', 7, 0, NULL, '{}')",
        )
        .await
        .expect("table");
        let lock = format!("SELECT {LOCK_CHECK} {LOCKED_ROWS}");
        let (ids, expected): (&[String], &[i64]) = (&["a".to_string(), "b".to_string()], &[1, 7]);
        // A default connection: a custom plan for each of the first executions.
        let st = c.prepare(&lock).await.expect("prepare");
        for _ in 0..8 {
            c.query(&st, &[&ids, &expected]).await.expect("lock");
        }
        let (generic, custom) = plans(&c).await;
        assert!(custom >= 5, "custom plans by default: {custom} (generic {generic})");
        let mode: String = c.query_one("SHOW plan_cache_mode", &[]).await.expect("show").get(0);
        assert_eq!(mode, "auto", "connections other than the writer's keep the default");

        // A connection of the writer's pool.
        let pool = crate::pool_of(&crate::writer_config(&config), 1, Duration::from_secs(10), None).expect("pool");
        let w = pool.get().await.expect("connect");
        let mode: String = w.query_one("SHOW plan_cache_mode", &[]).await.expect("show").get(0);
        assert_eq!(mode, "force_generic_plan");
        let (org_id, seq, next_expiry) = (vec!["a", "b"], vec![5i64, 6], vec![None::<i64>, Some(9)]);
        let (state, versions) = (vec!["{\"n\":1}", "{\"n\":2}"], vec![100i64, 101]);
        let orgs: [&(dyn ToSql + Sync); 5] = [&org_id, &seq, &next_expiry, &state, &versions];
        let parts = [Part { sql: UPDATE_ORGS_AHEAD, params: &orgs }];
        let ahead = |expected: &'static [i64], ended| Ahead { ids, expected, versions: &versions, ended };
        let before = rows(&w).await;

        // One org moved on (another node wrote it): refused, nothing written.
        c.batch_execute("UPDATE orgs SET version = 8 WHERE org_id = 'b'").await.expect("other node");
        let (tx, rx) = oneshot::channel();
        let refused = one_statement(&w, ahead(&[1, 7], tx), &parts).await;
        assert!(matches!(refused, Err(WriteError::Refused(_))), "a stale version refuses the batch");
        assert!(rx.await.is_ok(), "the next batch is told");
        let after: Vec<_> = rows(&w).await;
        assert_eq!(after[0], before[0], "nothing of a refused batch is written");
        assert_eq!(after[1].1, 8);

        // Every org at its version: written, with the rows counted.
        let planned = plans(&w).await;
        for round in 0..3 {
            let expected: &'static [i64] = if round == 0 { &[1, 8] } else { &[100, 101] };
            let (tx, rx) = oneshot::channel();
            let written = one_statement(&w, ahead(expected, tx), &parts).await;
            assert!(matches!(written, Ok((2, 0))), "round {round}: two org rows, no events");
            assert!(rx.await.is_ok());
            let now = rows(&w).await;
            assert_eq!(now[0], ("a".to_string(), 100, 5, "{\"n\":1}".to_string()));
            assert_eq!(now[1], ("b".to_string(), 101, 6, "{\"n\":2}".to_string()));
        }
        let after = plans(&w).await;
        assert_eq!(after.1, planned.1, "no custom plan on the writer's connection");
        assert_eq!(after.0, planned.0 + 3, "the generic plan each time");

        // The locked path: the writes pipelined with the `COMMIT` of the
        // transaction that holds the locks.
        w.batch_execute(
            "CREATE TABLE idempotency (org_id text, key text, fingerprint text, outcome text, created_at int8, \
             PRIMARY KEY (org_id, key)); INSERT INTO idempotency VALUES ('a', 'taken', 'f', '{}', 0)",
        )
        .await
        .expect("table");
        let (seq, state) = (vec![7i64, 8], vec!["{\"n\":3}", "{\"n\":4}"]);
        let orgs: [&(dyn ToSql + Sync); 4] = [&org_id, &seq, &next_expiry, &state];
        let (key_org, fingerprint, outcome, at) = (vec!["a"], vec!["f"], vec!["{}"], vec![1i64]);
        for (key, ok) in [("taken", false), ("fresh", true)] {
            let keys = vec![key];
            let idem: [&(dyn ToSql + Sync); 5] = [&key_org, &keys, &fingerprint, &outcome, &at];
            let parts = [Part { sql: UPDATE_ORGS, params: &orgs }, Part { sql: INSERT_IDEM, params: &idem }];
            w.batch_execute("BEGIN").await.expect("begin");
            w.query("SELECT 1 FROM orgs ORDER BY org_id FOR UPDATE", &[]).await.expect("locks");
            let written = with_commit(&w, &parts).await;
            let now = rows(&w).await;
            if ok {
                assert!(matches!(written, Ok((2, 0))), "written and counted");
                assert_eq!(now[0], ("a".to_string(), 101, 7, "{\"n\":3}".to_string()), "version + 1");
                assert_eq!(now[1], ("b".to_string(), 102, 8, "{\"n\":4}".to_string()));
            } else {
                assert!(matches!(written, Err(WriteError::KeyTaken(_))), "a stored key refuses the batch");
                assert_eq!(now[0], ("a".to_string(), 100, 5, "{\"n\":1}".to_string()), "nothing written");
            }
            // A savepoint needs an open transaction block.
            let open = w.batch_execute("SAVEPOINT s").await;
            assert!(open.is_err_and(|e| e.code() == Some(&SqlState::NO_ACTIVE_SQL_TRANSACTION)), "ended either way");
        }
        let stored: i64 = w.query_one("SELECT count(*) FROM idempotency", &[]).await.expect("count").get(0);
        assert_eq!(stored, 2);
    }
}
