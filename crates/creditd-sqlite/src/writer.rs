//! The single writer: batches queued jobs into one transaction each.

// FxHash: keys are our own ids and names, hashed on every operation.
use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use creditd_core::{ChainHash, Event, Op, OrgSettings, OrgState, Outcome};
use creditd_store::batch::{self, Batch, IdemRow};
use creditd_store::import::ImportReport;
use creditd_store::sql::event_texts;
use creditd_store::{Clock, Command, OrgInfo, StoreError, micros_ts, telemetry};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot};

use crate::reader::{db, load_pending_records, load_record, load_state};

/// Most commands one transaction carries.
pub const MAX_BATCH_COMMANDS: usize = 8192;
/// Most due holds or expiries one tick handles (the next tick takes the rest).
const MAX_TICK_WORK: usize = 4096;

pub enum Job {
    Execute { commands: Vec<Command>, reply: oneshot::Sender<Vec<Result<Outcome, StoreError>>> },
    CreateOrg { org_id: String, settings: OrgSettings, reply: oneshot::Sender<Result<OrgInfo, StoreError>> },
    Tick { reply: oneshot::Sender<Result<usize, StoreError>> },
    Shutdown { reply: oneshot::Sender<()> },
    Import(ImportJob),
}

/// A whole history into a new or empty org, in a transaction of its own.
pub struct ImportJob {
    pub org_id: String,
    pub settings: OrgSettings,
    pub events: Vec<Event>,
    pub reply: oneshot::Sender<Result<ImportReport, StoreError>>,
}

pub struct Writer {
    conn: Connection,
    states: HashMap<String, OrgState>,
    clock: Arc<dyn Clock>,
    /// Raised after each commit for the checkpoint thread.
    wal_dirty: Arc<AtomicBool>,
}

/// Where each command's answer goes once the batch has committed.
enum Reply {
    Execute(oneshot::Sender<Vec<Result<Outcome, StoreError>>>, Vec<Result<Outcome, StoreError>>),
    CreateOrg(oneshot::Sender<Result<OrgInfo, StoreError>>, Result<OrgInfo, StoreError>),
    Tick(oneshot::Sender<Result<usize, StoreError>>, Result<usize, StoreError>),
}

impl Writer {
    pub fn new(conn: Connection, clock: Arc<dyn Clock>, wal_dirty: Arc<AtomicBool>) -> Self {
        Writer { conn, states: HashMap::default(), clock, wal_dirty }
    }

    pub fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let mut shutdown: Option<oneshot::Sender<()>> = None;
        while let Some(first) = rx.blocking_recv() {
            let mut jobs = Vec::new();
            let mut size = 0;
            let mut next = Some(first);
            let mut import = None;
            while let Some(job) = next.take() {
                match job {
                    Job::Shutdown { reply } => {
                        shutdown = Some(reply);
                        break;
                    }
                    // Not batched: it commits or fails on its own.
                    Job::Import(_) => {
                        import = Some(job);
                        break;
                    }
                    Job::Execute { ref commands, .. } => size += commands.len().max(1),
                    _ => size += 1,
                }
                jobs.push(job);
                if size < MAX_BATCH_COMMANDS {
                    next = rx.try_recv().ok();
                }
            }
            telemetry::queue_depth("sqlite", rx.len());
            if !jobs.is_empty() {
                self.process(jobs);
            }
            if let Some(job) = import {
                self.run_import(job);
            }
            if shutdown.is_some() {
                break;
            }
        }
        // Drain what was queued before the shutdown so no caller is dropped.
        rx.close();
        let mut rest = Vec::new();
        let mut imports = Vec::new();
        while let Ok(job) = rx.try_recv() {
            match job {
                Job::Shutdown { .. } => {}
                Job::Import(_) => imports.push(job),
                _ => rest.push(job),
            }
        }
        if !rest.is_empty() {
            self.process(rest);
        }
        for job in imports {
            self.run_import(job);
        }
        if let Err(e) = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
            tracing::warn!(error = %e, "checkpoint at shutdown failed");
        }
        if let Some(reply) = shutdown {
            let _ = reply.send(());
        }
    }

    fn process(&mut self, jobs: Vec<Job>) {
        let now = self.clock.now();
        let started = std::time::Instant::now();
        let commands: usize =
            jobs.iter().map(|j| if let Job::Execute { commands, .. } = j { commands.len() } else { 1 }).sum();
        let mut batch = Batch::new();
        let mut replies = Vec::with_capacity(jobs.len());
        let mut created: Vec<String> = Vec::new();
        let begin = self.conn.execute_batch("BEGIN IMMEDIATE").map_err(db);
        for job in jobs {
            match job {
                Job::Execute { commands, reply } => {
                    let results = commands
                        .iter()
                        .map(|c| match &begin {
                            Ok(()) => self.apply(&mut batch, c, now),
                            Err(e) => Err(e.clone()),
                        })
                        .collect();
                    replies.push(Reply::Execute(reply, results));
                }
                Job::CreateOrg { org_id, settings, reply } => {
                    let r = begin.clone().and_then(|()| self.create_org(&org_id, settings, now));
                    if r.is_ok() {
                        created.push(org_id);
                    }
                    replies.push(Reply::CreateOrg(reply, r));
                }
                Job::Tick { reply } => {
                    let r = begin.clone().and_then(|()| self.tick(&mut batch, now));
                    replies.push(Reply::Tick(reply, r));
                }
                Job::Shutdown { reply } => {
                    let _ = reply.send(());
                }
                // `run` takes imports out of batches; never reached.
                Job::Import(ImportJob { reply, .. }) => {
                    let _ = reply.send(Err(StoreError::Backend("an import cannot join a write batch".into())));
                }
            }
        }
        let committed =
            begin.and_then(|()| self.write(&batch)).and_then(|()| self.conn.execute_batch("COMMIT").map_err(db));
        if let Err(e) = &committed {
            tracing::error!(error = %e, "write batch failed; rolling back");
            let _ = self.conn.execute_batch("ROLLBACK");
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
            telemetry::batch_committed("sqlite", commands, started.elapsed());
            telemetry::open_holds_changed(batch.open_holds_delta);
        }
        for reply in replies {
            match (reply, &committed) {
                (Reply::Execute(tx, results), Ok(())) => {
                    let _ = tx.send(results);
                }
                (Reply::Execute(tx, results), Err(e)) => {
                    let _ = tx.send(results.into_iter().map(|r| r.and(Err(e.clone()))).collect());
                }
                (Reply::CreateOrg(tx, r), c) => {
                    let _ = tx.send(c.clone().and(r));
                }
                (Reply::Tick(tx, r), c) => {
                    let _ = tx.send(c.clone().and(r));
                }
            }
        }
    }

    fn run_import(&mut self, job: Job) {
        let Job::Import(ImportJob { org_id, settings, events, reply }) = job else { return };
        let now = self.clock.now();
        let result = self.conn.execute_batch("BEGIN IMMEDIATE").map_err(db).and_then(|()| {
            let r = self.import(&org_id, settings, &events, now);
            match r {
                Ok(report) => self.conn.execute_batch("COMMIT").map_err(db).map(|()| report),
                Err(e) => Err(e),
            }
        });
        if result.is_err() {
            let _ = self.conn.execute_batch("ROLLBACK");
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
        let c = &self.conn;
        let existing: Option<String> = c
            .prepare_cached("SELECT state FROM orgs WHERE org_id = ?1")
            .map_err(db)?
            .query_row([org_id], |r| r.get(0))
            .optional()
            .map_err(db)?;
        let settings = match existing {
            None => settings,
            Some(json) => {
                let state: OrgState = serde_json::from_str(&json).map_err(StoreError::backend)?;
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
        let json = serde_json::to_string(&derived.state).map_err(StoreError::backend)?;
        let next = batch::next_expiry(&derived.state).map(|t| t.as_microsecond());
        c.prepare_cached(
            "INSERT INTO orgs (org_id, created_at, seq, next_expiry, state) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (org_id) DO UPDATE SET created_at = excluded.created_at, seq = excluded.seq, \
             next_expiry = excluded.next_expiry, state = excluded.state",
        )
        .map_err(db)?
        .execute(params![org_id, derived.state.created_at.as_microsecond(), derived.state.seq as i64, next, json])
        .map_err(db)?;
        let mut ins = c.prepare_cached(INSERT_EVENT).map_err(db)?;
        for (e, h) in events.iter().zip(&derived.hashes) {
            insert_event(&mut ins, e, h, None)?;
        }
        let mut up = c.prepare_cached(UPSERT_RECORD).map_err(db)?;
        for r in &derived.records {
            let body = serde_json::to_string(r).map_err(StoreError::backend)?;
            up.execute(params![org_id, r.id, r.status.as_str(), r.expires_at.map(|t| t.as_microsecond()), body])
                .map_err(db)?;
        }
        crate::rollups::add_history(c, org_id, &derived.state.settings.time_zone, events)?;
        Ok(derived.report)
    }

    /// The org's in-memory state, loaded on first use.
    fn state(&mut self, org_id: &str) -> Result<&mut OrgState, StoreError> {
        if !self.states.contains_key(org_id) {
            let mut s = load_state(&self.conn, org_id)?;
            load_pending_records(&self.conn, &mut s)?;
            self.states.insert(org_id.to_string(), s);
        }
        self.states.get_mut(org_id).ok_or_else(|| StoreError::OrgNotFound(org_id.to_string()))
    }

    fn apply(&mut self, batch: &mut Batch, cmd: &Command, now: jiff::Timestamp) -> Result<Outcome, StoreError> {
        let conn = &self.conn;
        let stored = match &cmd.idempotency_key {
            Some(key) => load_idem(conn, &cmd.org_id, key)?,
            None => None,
        };
        self.state(&cmd.org_id)?;
        let state = self.states.get_mut(&cmd.org_id).ok_or_else(|| StoreError::OrgNotFound(cmd.org_id.clone()))?;
        if let Some(id) = cmd.op.record_ref() {
            if !state.records.contains_key(id) {
                if let Some(r) = load_record(&self.conn, &cmd.org_id, id)? {
                    state.records.insert(r.id.clone(), r);
                }
            }
        }
        batch.apply(state, cmd, now, stored.as_ref())
    }

    fn create_org(&mut self, org_id: &str, settings: OrgSettings, now: jiff::Timestamp) -> Result<OrgInfo, StoreError> {
        let exists: Option<i64> = self
            .conn
            .prepare_cached("SELECT 1 FROM orgs WHERE org_id = ?1")
            .map_err(db)?
            .query_row([org_id], |r| r.get(0))
            .optional()
            .map_err(db)?;
        if exists.is_some() {
            return Err(StoreError::OrgExists(org_id.to_string()));
        }
        let state = OrgState::new(org_id, settings, now)?;
        let json = serde_json::to_string(&state).map_err(StoreError::backend)?;
        self.conn
            .prepare_cached(
                "INSERT INTO orgs (org_id, created_at, seq, next_expiry, state) VALUES (?1, ?2, 0, NULL, ?3)",
            )
            .map_err(db)?
            .execute(params![org_id, now.as_microsecond(), json])
            .map_err(db)?;
        let info = OrgInfo { id: org_id.to_string(), created_at: now, settings: state.settings.clone() };
        self.states.insert(org_id.to_string(), state);
        Ok(info)
    }

    /// Releases holds whose time is up and lets expired blocks lapse.
    fn tick(&mut self, batch: &mut Batch, now: jiff::Timestamp) -> Result<usize, StoreError> {
        let us = now.as_microsecond();
        let due_holds: Vec<(String, String)> = {
            let mut st = self
                .conn
                .prepare_cached(
                    "SELECT org_id, id FROM records WHERE status = 'open' AND expires_at <= ?1 \
                     ORDER BY expires_at LIMIT ?2",
                )
                .map_err(db)?;
            st.query_map(params![us, MAX_TICK_WORK as i64], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db)?
                .collect::<Result<_, _>>()
                .map_err(db)?
        };
        let due_orgs: Vec<String> = {
            let mut st =
                self.conn.prepare_cached("SELECT org_id FROM orgs WHERE next_expiry <= ?1 LIMIT ?2").map_err(db)?;
            st.query_map(params![us, MAX_TICK_WORK as i64], |r| r.get(0))
                .map_err(db)?
                .collect::<Result<_, _>>()
                .map_err(db)?
        };
        let mut done = 0;
        let commands = due_holds
            .into_iter()
            .map(|(org, hold_id)| Command::new(org, Op::TimeoutHold { hold_id }, None))
            .chain(due_orgs.into_iter().map(|org| Command::new(org, Op::ExpireDue, None)));
        for cmd in commands {
            match self.apply(batch, &cmd, now) {
                Ok(o) if !o.events.is_empty() => done += 1,
                Ok(_) => {}
                Err(e) => tracing::warn!(org = %cmd.org_id, op = cmd.op.name(), error = %e, "scheduled work refused"),
            }
        }
        Ok(done)
    }

    /// Appends the batch's events and writes each touched row once.
    fn write(&mut self, batch: &Batch) -> Result<(), StoreError> {
        let c = &self.conn;
        {
            let mut ins = c.prepare_cached(INSERT_EVENT).map_err(db)?;
            let mut usage = batch.usage_records.iter().peekable();
            for (i, (e, h)) in batch.events.iter().zip(&batch.hashes).enumerate() {
                let draws = match usage.next_if(|(at, _)| *at == i) {
                    Some((_, r)) => Some(serde_json::to_string(&r.draws).map_err(StoreError::backend)?),
                    None => None,
                };
                insert_event(&mut ins, e, h, draws.as_deref())?;
            }
        }
        {
            let mut up = c
                .prepare_cached(
                    "INSERT INTO records (org_id, id, status, expires_at, body) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (org_id, id) DO UPDATE SET status = excluded.status, \
                     expires_at = excluded.expires_at, body = excluded.body",
                )
                .map_err(db)?;
            for (org, r) in &batch.records {
                let body = serde_json::to_string(r).map_err(StoreError::backend)?;
                up.execute(params![org, r.id, r.status.as_str(), r.expires_at.map(|t| t.as_microsecond()), body])
                    .map_err(db)?;
            }
        }
        {
            let mut up = c
                .prepare_cached("UPDATE orgs SET seq = ?2, next_expiry = ?3, state = ?4 WHERE org_id = ?1")
                .map_err(db)?;
            for org in &batch.orgs {
                let s = self.states.get(org).ok_or_else(|| StoreError::OrgNotFound(org.clone()))?;
                if let Err(problem) = s.check_invariants() {
                    return Err(StoreError::Backend(format!("refusing to commit: {problem}")));
                }
                let json = serde_json::to_string(s).map_err(StoreError::backend)?;
                let next = batch::next_expiry(s).map(|t| t.as_microsecond());
                up.execute(params![org, s.seq as i64, next, json]).map_err(db)?;
            }
        }
        {
            let mut ins = c
                .prepare_cached(
                    "INSERT INTO idempotency (org_id, key, fingerprint, outcome, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(db)?;
            for i in &batch.idem {
                ins.execute(params![i.org_id, i.key, i.fingerprint, i.outcome, i.created_at.as_microsecond()])
                    .map_err(db)?;
            }
        }
        if !batch.conversations.is_empty() {
            let mut ins = c
                .prepare_cached(
                    "INSERT INTO conversations (org_id, seq, identity, campaign, started_at, day, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(db)?;
            for (org, v) in &batch.conversations {
                ins.execute(params![
                    org,
                    v.seq as i64,
                    v.identity,
                    v.campaign,
                    v.started_at.as_microsecond(),
                    v.day.to_string(),
                    v.created_at.as_microsecond()
                ])
                .map_err(db)?;
            }
        }
        crate::rollups::upsert(c, &batch.rollups)?;
        if !batch.notifications.is_empty() {
            let mut ins = c
                .prepare_cached(
                    "INSERT INTO notifications (org_id, seq, created_at, kind, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(db)?;
            for (org, n) in &batch.notifications {
                let body = serde_json::to_string(n).map_err(StoreError::backend)?;
                ins.execute(params![org, n.seq as i64, n.created_at.as_microsecond(), n.kind.as_str(), body])
                    .map_err(db)?;
            }
        }
        Ok(())
    }
}

const INSERT_EVENT: &str = "INSERT INTO events (org_id, seq, created_at, kind, amount, pool, status, source, \
     service, activity, project_id, project_name, user_name, user_email, description, code, hold_id, \
     idempotency_key, balance_after, prepaid_balance_after, held_after, period_usage_after, metadata, hash, draws) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, \
     ?24, ?25)";

const UPSERT_RECORD: &str = "INSERT INTO records (org_id, id, status, expires_at, body) VALUES (?1, ?2, ?3, ?4, ?5) \
     ON CONFLICT (org_id, id) DO UPDATE SET status = excluded.status, expires_at = excluded.expires_at, \
     body = excluded.body";

/// Inserts `e` with its chain hash and, for a usage, the draws of its record.
fn insert_event(
    ins: &mut rusqlite::CachedStatement<'_>,
    e: &Event,
    hash: &ChainHash,
    draws: Option<&str>,
) -> Result<(), StoreError> {
    let [t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10] = event_texts(e);
    let metadata = e.metadata.as_ref().map(|m| m.to_string());
    ins.execute(params![
        e.org_id,
        e.seq as i64,
        e.created_at.as_microsecond(),
        e.kind.as_str(),
        e.amount.micros(),
        e.pool.map(|p| p.as_str()),
        e.status.as_str(),
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
        e.balance_after.micros(),
        e.prepaid_balance_after.micros(),
        e.held_after.micros(),
        e.period_usage_after.micros(),
        metadata,
        hash.to_string(),
        draws,
    ])
    .map_err(db)?;
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
