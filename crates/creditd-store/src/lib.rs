//! creditd-store: what the server and CLI need from storage, whatever the
//! engine.
//!
//! The [`Store`] trait is implemented by the SQLite engine (embedded default)
//! and the PostgreSQL engine (scale-out). Both apply writes the same way: a
//! writer collects queued [`Command`]s into a batch, runs each through the
//! pure ledger with [`batch::Batch`], and persists the batch's events, records,
//! organisation states and idempotency rows in one transaction.

#![deny(missing_docs)]

pub mod batch;
pub mod cache;
pub mod catalogue;
pub mod clock;
pub mod consistency;
pub mod conversations;
pub mod directory;
pub mod history_at;
pub mod hours;
pub mod import;
pub mod prices;
pub mod query;
pub mod range;
pub mod rollup;
pub mod sql;
pub mod stored;
pub mod telemetry;
pub mod tick;
pub mod transfers;
pub mod tree;
pub mod webhooks;
pub mod write;

use async_trait::async_trait;
use creditd_core::verify::VerifyReport;
use creditd_core::{
    Actor, Balance, BrokenInvariant, ErrorCode, LedgerError, Notification, Op, OrgSettings, OrgState, Outcome,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use clock::{Clock, ManualClock, SystemClock, to_micros};
pub use conversations::{ConversationCount, ConversationGroup, ConversationQuery};
pub use directory::{Directory, DirectoryError};
pub use query::{EventFilter, EventQuery, Order, Page, PageLimit};

/// Most operations one `execute` call (one `POST /api/batch`) may carry.
pub const MAX_BATCH_OPS: usize = 1000;
/// Most events one export chunk carries.
pub const EXPORT_CHUNK: usize = 2048;

/// Rows a formatted export chunk holds at most (see
/// [`Store::export_formatted`]): a few MiB of CSV, so that the chunks in
/// flight stay well under the export's memory budget.
pub const FORMAT_CHUNK_ROWS: u64 = 8192;

/// Turns rows into bytes for [`Store::export_formatted`] (e.g. CSV lines
/// without the header). One per thread; never shared.
pub trait RowFormatter {
    /// Appends one row.
    fn push(&mut self, e: &creditd_core::EventRef<'_>) -> Result<(), StoreError>;
    /// The bytes of the rows pushed since the last call.
    fn take(&mut self) -> Result<Vec<u8>, StoreError>;
    /// The fields it reads; an engine may leave the others out.
    fn fields(&self) -> Fields {
        Fields::All
    }
}

/// The fields of an event an export reads. With `Report`, an engine may
/// hand over rows with only the report layout's fields (project, user,
/// kind, amount, time, description; seq and status too) and the others
/// absent or zero: reading 8 columns instead of 22 is most of a report's cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fields {
    #[default]
    /// Every field of the event.
    All,
    /// The report layout's fields only (and `hold_id`, which a debit's note
    /// names); the others may be absent or zero.
    Report,
}

/// One chunk of a formatted export: `rows` rows as `bytes`.
#[derive(Debug)]
pub struct Formatted {
    /// The formatted rows, ready to send.
    pub bytes: Vec<u8>,
    /// How many rows `bytes` holds.
    pub rows: u64,
}

/// A write for one organisation, with its idempotency key.
#[derive(Clone, Debug)]
pub struct Command {
    /// The organisation it writes to.
    pub org_id: String,
    /// What to do.
    pub op: Op,
    /// Who does it (a stored key or a member), when the server knows:
    /// their caps apply (see `OrgState::apply_as`). Not part of the
    /// fingerprint: a retry with another key of the same request replays.
    pub actor: Option<Actor>,
    /// The client's idempotency key, if the request had one: a retry with the
    /// same key and request replays the first answer.
    pub idempotency_key: Option<String>,
    /// Hash of what the request asked, to tell a retry from a reuse of the
    /// key; empty when there is no key.
    pub fingerprint: String,
}

impl Command {
    /// A command for `org_id` with no actor; its fingerprint is computed from
    /// the org and the op when a key is given.
    pub fn new(org_id: impl Into<String>, op: Op, idempotency_key: Option<String>) -> Self {
        let org_id = org_id.into();
        // Only a keyed request is ever compared with an earlier one.
        let fingerprint = match &idempotency_key {
            Some(_) => {
                let body = serde_json::to_vec(&op).unwrap_or_default();
                let mut h = Sha256::new();
                h.update(org_id.as_bytes());
                h.update([0]);
                h.update(&body);
                hex::encode(h.finalize())
            }
            None => String::new(),
        };
        Command { org_id, op, actor: None, idempotency_key, fingerprint }
    }

    /// The same command, done by `actor`.
    pub fn by(mut self, actor: Option<Actor>) -> Self {
        self.actor = actor;
        self
    }
}

/// An organisation as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrgInfo {
    /// The organisation's id (as the client chose it).
    pub id: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// Its parent organisation, if it has one (see `creditd_core::tree`):
    /// set with `PATCH` (`parent_id`), at most three levels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(flatten)]
    /// Its settings (name, zone, overdraft limit, renewal day, ...), inlined.
    pub settings: OrgSettings,
}

/// A driver or runtime error kept as the source of a [`StoreError`].
pub type Source = std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Why a store call failed. Every variant names its [`ErrorCode`]; storage
/// failures keep the error that caused them as their `source`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// No organisation has that id.
    #[error("organization {0} not found")]
    OrgNotFound(String),
    /// An organisation with that id exists already.
    #[error("organization {0} already exists")]
    OrgExists(String),
    /// The ledger refused the operation.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The key was used before with a different request.
    #[error("idempotency key {key:?} was already used with a different request")]
    IdempotencyConflict {
        /// The reused key.
        key: String,
    },
    /// The writer queue is full.
    #[error("the writer queue is full; retry shortly")]
    Overloaded,
    /// The store is shutting down.
    #[error("the store is shutting down")]
    Closed,
    /// The database, its driver or its pool failed.
    #[error("storage failure: {source}")]
    Database {
        /// The driver's error.
        #[source]
        source: Source,
    },
    /// A value could not be turned into the JSON stored for it (or back).
    #[error("{what}: {source}")]
    Json {
        /// What was being encoded or decoded.
        what: &'static str,
        /// The serde error.
        #[source]
        source: std::sync::Arc<serde_json::Error>,
    },
    /// Stored data that is not what the store writes (a missing event, an
    /// unknown name, an amount out of range).
    #[error("damaged stored data: {0}")]
    Corrupt(String),
    /// A batch would have stored a state that breaks a ledger invariant;
    /// nothing was committed.
    #[error("refusing to commit: {0}")]
    BrokenInvariant(#[from] BrokenInvariant),
    /// A thread the store needs (committer, export worker) is gone, or a
    /// write depends on an earlier one that failed.
    #[error("{0}")]
    Stopped(String),
    /// A stored record that cannot be read back (a damaged row): operations
    /// on it are refused, the organization's other writes go on, and
    /// `verify` names it (see [`stored`]).
    #[error("record {record_id} of organization {org_id} is stored but cannot be read ({reason}); run verify")]
    UnreadableRecord {
        /// The organisation.
        org_id: String,
        /// The record.
        record_id: String,
        /// What could not be read.
        reason: String,
    },
}

impl StoreError {
    /// A database, driver, pool or runtime failure, keeping it as source.
    pub fn backend(e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        StoreError::Database { source: Source::from(e.into()) }
    }

    /// A JSON encoding or decoding failure of `what`.
    pub fn json(what: &'static str) -> impl FnOnce(serde_json::Error) -> StoreError {
        move |e| StoreError::Json { what, source: std::sync::Arc::new(e) }
    }

    /// The stable code answered for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::OrgNotFound(_) => ErrorCode::NotFound,
            StoreError::OrgExists(_) => ErrorCode::AlreadyExists,
            StoreError::Ledger(e) => e.code(),
            StoreError::IdempotencyConflict { .. } => ErrorCode::IdempotencyConflict,
            StoreError::Overloaded => ErrorCode::Overloaded,
            StoreError::Closed => ErrorCode::ShuttingDown,
            StoreError::Database { .. }
            | StoreError::Json { .. }
            | StoreError::Corrupt(_)
            | StoreError::BrokenInvariant(_)
            | StoreError::Stopped(_) => ErrorCode::StorageError,
            StoreError::UnreadableRecord { .. } => ErrorCode::RecordUnreadable,
        }
    }

    /// Whether this is a failure of the storage itself (logged, answered
    /// without its details) rather than a refusal.
    pub fn is_internal(&self) -> bool {
        self.code() == ErrorCode::StorageError
    }
}

/// A stream of matching events in chunks, newest first, with flat memory.
pub type EventChunks = tokio::sync::mpsc::Receiver<Result<Vec<creditd_core::Event>, StoreError>>;

#[async_trait]
/// Storage for the ledger, whatever the engine: organisations, their
/// commands (applied in batches by one writer, see [`batch`]), history
/// reads, exports, imports, and the directory and webhooks beside them.
pub trait Store: Send + Sync + 'static {
    /// Engine name for logs and metrics ("sqlite", "postgres").
    fn engine(&self) -> &'static str;
    /// Creates the organisation `org_id` with `settings` (no events, seq 0).
    /// `OrgExists` if the id is taken; `Ledger` if the settings are refused.
    async fn create_org(&self, org_id: &str, settings: OrgSettings) -> Result<OrgInfo, StoreError>;
    /// The organisation as stored; `OrgNotFound` if there is none.
    async fn org(&self, org_id: &str) -> Result<OrgInfo, StoreError>;
    /// Every organisation's id, in id order.
    async fn org_ids(&self) -> Result<Vec<String>, StoreError>;
    /// Gives `org_id` the parent `parent_id` (none: makes it a root), after
    /// [`creditd_core::tree::check_parent`] with facts read under a lock
    /// that serialises every tree change (and the transfers of the org);
    /// nothing is written on a refusal. `OrgNotFound` for either org.
    async fn set_parent(&self, org_id: &str, parent_id: Option<&str>) -> Result<OrgInfo, StoreError>;
    /// The direct children of the organisations `org_ids`, in id order.
    async fn children(&self, org_ids: &[String]) -> Result<Vec<String>, StoreError>;
    /// The org's balances as last stored; `OrgNotFound` if there is none.
    async fn balance(&self, org_id: &str) -> Result<Balance, StoreError>;
    /// Applies commands in order, each on its own: one failing does not stop
    /// the others. Results come back in the same order.
    async fn execute(&self, commands: Vec<Command>) -> Vec<Result<Outcome, StoreError>>;
    /// One page of history, newest first.
    async fn events(&self, org_id: &str, query: &EventQuery) -> Result<Page, StoreError>;
    /// Every event matching `filter`, newest first, streamed in chunks.
    async fn export(&self, org_id: &str, filter: &EventFilter) -> Result<EventChunks, StoreError>;
    /// Recomputes the org's balances from its events.
    async fn verify(&self, org_id: &str) -> Result<VerifyReport, StoreError>;
    /// Runs due work now (hold timeouts, expiries) and returns how many
    /// operations it applied. The engine also does this on its own timer.
    async fn tick(&self) -> Result<usize, StoreError>;
    /// Drains the writer and closes.
    async fn shutdown(&self);

    // Plans, conversations and notifications (issue 5).

    /// The org's ledger state as last stored (the `orgs.state` JSON),
    /// without records: plan, pending plan change, period, conversation
    /// counts. Renewals that fell due since are not in it; the summary
    /// applies them to a copy (`OrgState::summary(now)`).
    async fn org_state(&self, org_id: &str) -> Result<OrgState, StoreError>;

    /// Conversations of `org_id` started in `[query.from, query.to)`,
    /// grouped by day (the stored `day` column: the date in the org's zone
    /// when it was recorded), campaign (null key: none) or identity, as
    /// [`conversations::conversation_usage_sql`] orders and bounds them.
    /// `OrgNotFound` for an unknown org.
    async fn conversation_usage(
        &self,
        org_id: &str,
        query: &ConversationQuery,
    ) -> Result<Vec<ConversationCount>, StoreError>;

    /// Credits consumed by `org_id` on the local dates of `query`, grouped,
    /// from the usage rollups ([`rollup::usage_sql`]); only one user's own
    /// with `query.user_email`. Days without usage are absent (the caller
    /// fills them in). An unknown org answers no rows.
    async fn usage(&self, org_id: &str, query: &rollup::UsageQuery) -> Result<Vec<rollup::UsageRow>, StoreError>;

    /// Credits consumed by `org_id` per hour of `query`'s span (at most
    /// two local days), summed from the span's events
    /// ([`hours::hours_sql`] over the span's seq range); hours without
    /// usage are absent. A span too long is a validation error;
    /// `OrgNotFound` for an unknown org.
    async fn usage_hours(&self, org_id: &str, query: &hours::HourQuery) -> Result<Vec<hours::HourRow>, StoreError>;

    /// The statement lines of `org_id` on the local dates
    /// `first_day..=last_day` (its zone), from the rollups
    /// ([`rollup::statement_lines_sql`]): one row per [`rollup::statement_key`]
    /// (`in:grant`, `out:expiry`, …) with the credits moved and the events.
    /// An unknown org answers no rows.
    async fn statement_lines(
        &self,
        org_id: &str,
        first_day: jiff::civil::Date,
        last_day: jiff::civil::Date,
    ) -> Result<Vec<rollup::UsageRow>, StoreError>;

    /// The org's notifications with `seq > after_seq`, oldest first, at most
    /// `limit` (the `notifications` table: org_id, seq, created_at, kind, body
    /// = the notification as JSON). `OrgNotFound` for an unknown org.
    async fn notifications(&self, org_id: &str, after_seq: u64, limit: u32) -> Result<Vec<Notification>, StoreError>;

    /// The time this store applies operations at: its [`Clock`]. Handlers
    /// that compute figures as of now (the summary) use it, so a test's
    /// manual clock drives both.
    fn now(&self) -> Timestamp;

    /// Every event matching `filter` in `order`, streamed in chunks.
    /// Newest first is [`Store::export`].
    async fn export_in(
        &self,
        org_id: &str,
        filter: &EventFilter,
        order: query::Order,
    ) -> Result<EventChunks, StoreError>;

    /// Hands every event matching `filter`, in `order`, to `sink` one at a
    /// time as an [`EventRef`], from one read snapshot, and returns how many
    /// it handed over. This is the export path: an engine can pass rows
    /// straight from its cursor without building an `Event` per row. The
    /// sink returns `Break` to stop early (a client that went away); keep
    /// its own error beside it.
    ///
    /// Blocking: call it from a blocking thread (`spawn_blocking`) inside
    /// the runtime. An error before the first row (unknown org, bad filter)
    /// means the sink was never called, so a caller can still answer with an
    /// error instead of a file. The default streams [`Store::export_in`]'s
    /// chunks.
    fn export_rows(
        &self,
        org_id: &str,
        filter: &EventFilter,
        order: query::Order,
        sink: &mut dyn FnMut(&creditd_core::EventRef<'_>) -> std::ops::ControlFlow<()>,
    ) -> Result<u64, StoreError> {
        let rt = tokio::runtime::Handle::try_current().map_err(StoreError::backend)?;
        let mut chunks = rt.block_on(self.export_in(org_id, filter, order))?;
        let mut n = 0;
        while let Some(chunk) = chunks.blocking_recv() {
            for e in &chunk? {
                n += 1;
                if sink(&e.view()).is_break() {
                    return Ok(n);
                }
            }
        }
        Ok(n)
    }

    /// Every event matching `filter`, in `order`, formatted into bytes by
    /// formatters `make` creates and handed to `emit` chunk by chunk, in the
    /// export's order; returns the rows formatted. An engine may run several
    /// formatters at once, each on a thread of its own over its own seq
    /// ranges: events are never changed once written, so ranges read at
    /// different moments below the seq that was last when the export began
    /// are one snapshot. `emit` returns `Break` to stop (a client that went
    /// away; keep its own error beside it).
    ///
    /// Blocking, like [`Store::export_rows`]; an error before the first
    /// chunk means `emit` was never called. The default formats
    /// [`Store::export_rows`] on the calling thread.
    fn export_formatted(
        &self,
        org_id: &str,
        filter: &EventFilter,
        order: query::Order,
        make: &(dyn Fn() -> Box<dyn RowFormatter> + Sync),
        emit: &mut dyn FnMut(Formatted) -> std::ops::ControlFlow<()>,
    ) -> Result<u64, StoreError> {
        let mut f = make();
        let mut in_chunk = 0u64;
        let mut failed = None;
        let mut stopped = false;
        let n = self.export_rows(org_id, filter, order, &mut |e| {
            if let Err(e) = f.push(e) {
                failed = Some(e);
                return std::ops::ControlFlow::Break(());
            }
            in_chunk += 1;
            if in_chunk == FORMAT_CHUNK_ROWS {
                let chunk = match f.take() {
                    Ok(bytes) => Formatted { bytes, rows: std::mem::take(&mut in_chunk) },
                    Err(e) => {
                        failed = Some(e);
                        return std::ops::ControlFlow::Break(());
                    }
                };
                if emit(chunk).is_break() {
                    stopped = true;
                    return std::ops::ControlFlow::Break(());
                }
            }
            std::ops::ControlFlow::Continue(())
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        if !stopped && in_chunk > 0 {
            let _ = emit(Formatted { bytes: f.take()?, rows: in_chunk });
        }
        Ok(n)
    }

    /// Loads a whole history (`events`, seq 1 first, as read from a full
    /// export) into a new organisation, or an existing one without events
    /// (which keeps its own settings): the events verbatim and the state
    /// [`import::derive`] derives from them, in one transaction, checked by
    /// replaying the events before the commit. All or nothing.
    async fn import(
        &self,
        org_id: &str,
        settings: OrgSettings,
        events: Vec<creditd_core::Event>,
    ) -> Result<import::ImportReport, StoreError>;

    /// Members, API keys, sessions and sign-in links (issue 4): not ledger
    /// data, written in short transactions of their own.
    fn directory(&self) -> &dyn Directory;

    /// Webhook endpoints, the outbox and delivery state (see [`webhooks`]).
    fn webhooks(&self) -> &dyn webhooks::Webhooks;

    /// Price books: shared by every organisation, versions never changed.
    fn price_books(&self) -> &dyn prices::PriceBooks;

    /// The plan catalogue: shared by every organisation (see [`catalogue`]).
    fn plan_catalogue(&self) -> &dyn catalogue::PlanCatalogue;
}

/// Every organisation below `org_id` (children and grandchildren), in id
/// order: what a parent's owners, admins and service keys reach.
pub async fn descendants(store: &dyn Store, org_id: &str) -> Result<Vec<String>, StoreError> {
    let mut all = Vec::new();
    let mut level = vec![org_id.to_string()];
    for _ in 1..creditd_core::tree::MAX_LEVELS {
        level = store.children(&level).await?;
        if level.is_empty() {
            break;
        }
        all.extend(level.iter().cloned());
    }
    all.sort();
    all.dedup();
    Ok(all)
}

/// Convenience: one command.
pub async fn execute_one(store: &dyn Store, command: Command) -> Result<Outcome, StoreError> {
    store.execute(vec![command]).await.pop().unwrap_or(Err(StoreError::Closed))
}

/// Convenience: time `now` as microseconds since the epoch, the unit stored.
pub fn ts_micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

/// A stored time (microseconds since the epoch) back as a timestamp;
/// `Corrupt` if it is out of range.
pub fn micros_ts(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us).map_err(|e| StoreError::Corrupt(format!("time {us} out of range: {e}")))
}
