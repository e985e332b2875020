//! The writer task of one node: batches queued jobs into one transaction.
//!
//! Several nodes may write the same organisation. Each batch locks the rows
//! of the orgs it touches (`FOR UPDATE`, in `org_id` order, so two nodes
//! never deadlock on each other), and a cached [`OrgState`] is used only if
//! its `seq` still equals the locked row's: otherwise another node wrote the
//! org since, and its state and pending records are read again under the
//! lock. Within a node, one hot org still gets group commit: every queued
//! command for it shares one lock, one transaction and one commit.

use std::collections::HashMap;
use std::sync::Arc;

use creditd_core::{Op, OrgSettings, OrgState, Outcome};
use creditd_store::batch::{self, Batch, IdemRow};
use creditd_store::cache::{OrgCache, OrgCacheSize};
use creditd_store::sql::event_texts;
use creditd_store::{Clock, Command, OrgInfo, StoreError, micros_ts, telemetry};
use deadpool_postgres::{GenericClient, Pool, Transaction};
use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::error::SqlState;

use crate::reader::{db, load_states};

/// Most commands one transaction carries.
pub const MAX_BATCH_COMMANDS: usize = 8192;
/// Most due holds or expiries one tick handles (the next tick takes the rest).
const MAX_TICK_WORK: i64 = 4096;
/// Times a batch is tried again after a deadlock, serialization failure or
/// a unique violation from a concurrent node.
const MAX_RETRIES: usize = 5;

pub enum Job {
    Execute { commands: Vec<Command>, reply: oneshot::Sender<Vec<Result<Outcome, StoreError>>> },
    CreateOrg { org_id: String, settings: OrgSettings, reply: oneshot::Sender<Result<OrgInfo, StoreError>> },
    Tick { reply: oneshot::Sender<Result<usize, StoreError>> },
    Shutdown { reply: oneshot::Sender<()> },
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
}

/// A cached org state and the `orgs.version` it was read or written at.
struct Cached {
    state: OrgState,
    version: i64,
}

impl Writer {
    pub fn new(pool: Pool, clock: Arc<dyn Clock>, org_cache: OrgCacheSize) -> Self {
        Writer { pool, conn: None, states: OrgCache::new("postgres", org_cache), clock }
    }

    pub async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let mut shutdown: Option<oneshot::Sender<()>> = None;
        while let Some(first) = rx.recv().await {
            let mut jobs = Vec::new();
            let mut size = 0;
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    Job::Shutdown { reply } => {
                        shutdown = Some(reply);
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
            telemetry::queue_depth("postgres", rx.len());
            if !jobs.is_empty() {
                self.process(jobs).await;
            }
            if shutdown.is_some() {
                break;
            }
        }
        // Drain what was queued before the shutdown so no caller is dropped.
        rx.close();
        let mut rest = Vec::new();
        while let Ok(job) = rx.try_recv() {
            match job {
                Job::Shutdown { reply } => {
                    let _ = reply.send(());
                }
                job => rest.push(job),
            }
        }
        if !rest.is_empty() {
            self.process(rest).await;
        }
        if let Some(reply) = shutdown {
            let _ = reply.send(());
        }
    }

    async fn process(&mut self, jobs: Vec<Job>) {
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
        let commands: usize = reqs.iter().map(|r| if let Req::Execute(c) = r { c.len() } else { 1 }).sum();
        let result = loop {
            match self.attempt(&reqs, now).await {
                Ok(answers) => break Ok(answers),
                Err(f) if f.retry && tries < MAX_RETRIES => {
                    tries += 1;
                    tracing::debug!(error = %f.error, tries, "write batch conflicted with another node; trying again");
                }
                Err(f) => break Err(f.error),
            }
        };
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
    async fn attempt(&mut self, reqs: &[Req], now: Timestamp) -> Result<Vec<Ans>, Failure> {
        let mut conn = match self.conn.take() {
            Some(c) if !c.is_closed() => c,
            _ => self.pool.get().await.map_err(StoreError::backend)?,
        };
        let mut touched = Vec::new();
        let result = self.attempt_on(&mut conn, reqs, now, &mut touched).await;
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

    async fn attempt_on(
        &mut self,
        conn: &mut deadpool_postgres::Client,
        reqs: &[Req],
        now: Timestamp,
        touched: &mut Vec<String>,
    ) -> Result<Vec<Ans>, Failure> {
        let tx = conn.transaction().await?;

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
        let mut created: HashMap<usize, Result<OrgInfo, StoreError>> = HashMap::new();
        for (i, id, settings) in creates {
            let r = self.create_org(&tx, id, settings, now, touched).await?;
            created.insert(i, r);
        }

        let tick_commands =
            if reqs.iter().any(|r| matches!(r, Req::Tick)) { due_work(&tx, now).await? } else { Vec::new() };

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
            .map(|c| c.org_id.clone())
            .collect();
        org_ids.sort_unstable();
        org_ids.dedup();
        touched.extend(org_ids.iter().cloned());
        let mut locked: HashMap<String, i64> = HashMap::with_capacity(org_ids.len());
        if !org_ids.is_empty() {
            let st = tx
                .prepare_cached("SELECT org_id, version FROM orgs WHERE org_id = ANY($1) ORDER BY org_id FOR UPDATE")
                .await?;
            for row in tx.query(&st, &[&org_ids]).await? {
                locked.insert(row.try_get(0)?, row.try_get(1)?);
            }
        }
        // A cached state is current only if no other node wrote the org since.
        let mut stale = Vec::new();
        for id in &org_ids {
            match (locked.get(id), self.states.get_mut(id).map(|c| c.version)) {
                (None, _) => {
                    self.states.remove(id);
                }
                (Some(v), Some(cached)) if *v == cached => {}
                (Some(_), _) => stale.push(id.clone()),
            }
        }
        if !stale.is_empty() {
            let mut fresh = load_states(&tx, &stale).await?;
            for id in &stale {
                let Some(state) = fresh.remove(id) else {
                    return Err(StoreError::Corrupt(format!("org {id}: locked but its state was not read")).into());
                };
                self.states.insert(id.clone(), Cached { state, version: locked[id] });
            }
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
        let mut key_orgs = Vec::new();
        let mut keys = Vec::new();
        let mut ref_orgs = Vec::new();
        let mut refs = Vec::new();
        for c in all_commands() {
            if let Some(k) = &c.idempotency_key {
                key_orgs.push(c.org_id.as_str());
                keys.push(k.as_str());
            }
            if let Some(id) = c.op.record_ref()
                && self.states.get(&c.org_id).is_some_and(|c| !c.state.records.contains_key(id))
            {
                ref_orgs.push(c.org_id.as_str());
                refs.push(id);
            }
        }
        let (idem_rows, record_rows) = tokio::try_join!(
            async {
                if keys.is_empty() {
                    return Ok(Vec::new());
                }
                let st = tx
                    .prepare_cached(
                        "SELECT i.org_id, i.key, i.fingerprint, i.outcome, i.created_at FROM idempotency i \
                         JOIN UNNEST($1::text[], $2::text[]) AS k(org_id, key) \
                         ON i.org_id = k.org_id AND i.key = k.key",
                    )
                    .await?;
                tx.query(&st, &[&key_orgs, &keys]).await
            },
            async {
                if refs.is_empty() {
                    return Ok(Vec::new());
                }
                let st = tx
                    .prepare_cached(
                        "SELECT r.org_id, r.id, r.body FROM records r \
                         JOIN UNNEST($1::text[], $2::text[]) AS k(org_id, id) \
                         ON r.org_id = k.org_id AND r.id = k.id",
                    )
                    .await?;
                tx.query(&st, &[&ref_orgs, &refs]).await
            }
        )?;
        let mut stored: HashMap<(String, String), IdemRow> = HashMap::with_capacity(idem_rows.len());
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
        // A referenced record that cannot be read refuses only the commands
        // naming it (`StoreError::UnreadableRecord`), not the batch.
        let mut unreadable: HashMap<(String, String), StoreError> = HashMap::new();
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

        // Run the ledger.
        let mut batch = Batch::new();
        let mut answers = Vec::with_capacity(reqs.len());
        for (i, req) in reqs.iter().enumerate() {
            answers.push(match req {
                Req::Execute(cmds) => Ans::Execute(
                    cmds.iter().map(|c| self.apply(&mut batch, c, now, &locked, &stored, &unreadable)).collect(),
                ),
                Req::CreateOrg(..) => Ans::CreateOrg(created.remove(&i).unwrap_or_else(|| {
                    Err(StoreError::Stopped("the answer to an organisation creation was lost".into()))
                })),
                Req::Tick => {
                    let mut done = 0;
                    for c in &tick_commands {
                        match self.apply(&mut batch, c, now, &locked, &stored, &unreadable) {
                            Ok(o) if !o.events.is_empty() => done += 1,
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(org = %c.org_id, op = c.op.name(), error = %e, "scheduled work refused")
                            }
                        }
                    }
                    Ans::Tick(Ok(done))
                }
            });
        }

        if !batch.is_empty() {
            self.write(&tx, &batch).await?;
        }
        tx.commit().await.map_err(|e| Failure { error: db(e), retry: false })?;
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

    fn apply(
        &mut self,
        batch: &mut Batch,
        cmd: &Command,
        now: Timestamp,
        locked: &HashMap<String, i64>,
        stored: &HashMap<(String, String), IdemRow>,
        unreadable: &HashMap<(String, String), StoreError>,
    ) -> Result<Outcome, StoreError> {
        pg_text_ok(cmd)?;
        if !locked.contains_key(&cmd.org_id) {
            return Err(StoreError::OrgNotFound(cmd.org_id.clone()));
        }
        if let Some(e) = cmd.op.record_ref().and_then(|id| unreadable.get(&(cmd.org_id.clone(), id.to_string()))) {
            return Err(e.clone());
        }
        let state =
            &mut self.states.get_mut(&cmd.org_id).ok_or_else(|| StoreError::OrgNotFound(cmd.org_id.clone()))?.state;
        let idem = cmd.idempotency_key.as_ref().and_then(|k| stored.get(&(cmd.org_id.clone(), k.clone())));
        batch.apply(state, cmd, now, idem)
    }

    /// Inserts the org row; `Ok(Err(_))` is a refusal, `Err(_)` a failed
    /// transaction.
    async fn create_org(
        &mut self,
        tx: &Transaction<'_>,
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
        let state = match OrgState::new(org_id, settings.clone(), now) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e.into())),
        };
        let json = serde_json::to_string(&state).map_err(StoreError::json("org state"))?;
        let st = tx
            .prepare_cached(
                "INSERT INTO orgs (org_id, created_at, seq, next_expiry, state) VALUES ($1, $2, 0, NULL, $3) \
                 ON CONFLICT (org_id) DO NOTHING",
            )
            .await?;
        let n = tx.execute(&st, &[&org_id, &now.as_microsecond(), &json]).await?;
        if n == 0 {
            return Ok(Err(StoreError::OrgExists(org_id.to_string())));
        }
        touched.push(org_id.to_string());
        let info = OrgInfo { id: org_id.to_string(), created_at: now, settings: state.settings.clone() };
        self.states.insert(org_id.to_string(), Cached { state, version: 0 });
        Ok(Ok(info))
    }

    /// Appends the batch's events and writes each touched row once: four
    /// array statements, pipelined.
    async fn write(&self, tx: &Transaction<'_>, batch: &Batch) -> Result<(), Failure> {
        let mut orgs = OrgCols::default();
        for org in &batch.orgs {
            let s = &self.states.get(org).ok_or_else(|| StoreError::OrgNotFound(org.clone()))?.state;
            if let Err(problem) = s.check_invariants() {
                return Err(StoreError::BrokenInvariant(problem).into());
            }
            orgs.org_id.push(org.as_str());
            orgs.seq.push(s.seq as i64);
            orgs.next_expiry.push(batch::next_expiry(s).map(|t| t.as_microsecond()));
            orgs.state.push(serde_json::to_string(s).map_err(StoreError::json("org state"))?);
        }
        let events = EventCols::from_batch(batch);
        let mut recs = RecordCols::default();
        // Usage records live in the records table here; one refunded within
        // the batch is written once, in its newer version from `records`.
        let usage = batch.usage_records.iter().map(|(i, r)| (&batch.events[*i].org_id, r));
        let usage = usage.filter(|(org, r)| !batch.has_record(org, &r.id));
        for (org, r) in usage.chain(batch.records.iter().map(|(org, r)| (org, r))) {
            recs.org_id.push(org.as_str());
            recs.id.push(r.id.as_str());
            recs.status.push(r.status.as_str());
            recs.expires_at.push(r.expires_at.map(|t| t.as_microsecond()));
            recs.body.push(serde_json::to_string(r).map_err(StoreError::json("record"))?);
        }
        let (st_events, st_records, st_orgs, st_idem, st_conv, st_notes) = tokio::try_join!(
            tx.prepare_cached(INSERT_EVENTS),
            tx.prepare_cached(UPSERT_RECORDS),
            tx.prepare_cached(UPDATE_ORGS),
            tx.prepare_cached(INSERT_IDEM),
            tx.prepare_cached(INSERT_CONVERSATIONS),
            tx.prepare_cached(INSERT_NOTIFICATIONS),
        )?;
        let mut conv = ConversationCols::default();
        for (org, v) in &batch.conversations {
            conv.org_id.push(org.as_str());
            conv.seq.push(v.seq as i64);
            conv.identity.push(v.identity.as_str());
            conv.campaign.push(v.campaign.as_deref());
            conv.started_at.push(v.started_at.as_microsecond());
            conv.day.push(v.day.to_string());
            conv.created_at.push(v.created_at.as_microsecond());
        }
        let mut notes = NotificationCols::default();
        for (org, n) in &batch.notifications {
            notes.org_id.push(org.as_str());
            notes.seq.push(n.seq as i64);
            notes.created_at.push(n.created_at.as_microsecond());
            notes.kind.push(n.kind.as_str());
            notes.body.push(serde_json::to_string(n).map_err(StoreError::json("notification"))?);
        }
        let idem_org: Vec<&str> = batch.idem.iter().map(|i| i.org_id.as_str()).collect();
        let idem_key: Vec<&str> = batch.idem.iter().map(|i| i.key.as_str()).collect();
        let idem_fp: Vec<&str> = batch.idem.iter().map(|i| i.fingerprint.as_str()).collect();
        let idem_out: Vec<&str> = batch.idem.iter().map(|i| i.outcome.as_str()).collect();
        let idem_at: Vec<i64> = batch.idem.iter().map(|i| i.created_at.as_microsecond()).collect();
        let e = &events;
        let (n_events, _, n_orgs, _, _, _) = tokio::try_join!(
            async {
                if e.org_id.is_empty() {
                    return Ok(0);
                }
                tx.execute(&st_events, &e.params()).await
            },
            async {
                if recs.org_id.is_empty() {
                    return Ok(0);
                }
                tx.execute(&st_records, &[&recs.org_id, &recs.id, &recs.status, &recs.expires_at, &recs.body]).await
            },
            async {
                if orgs.org_id.is_empty() {
                    return Ok(0);
                }
                tx.execute(&st_orgs, &[&orgs.org_id, &orgs.seq, &orgs.next_expiry, &orgs.state]).await
            },
            async {
                if idem_org.is_empty() {
                    return Ok(0);
                }
                tx.execute(&st_idem, &[&idem_org, &idem_key, &idem_fp, &idem_out, &idem_at]).await
            },
            async {
                if conv.org_id.is_empty() {
                    return Ok(0);
                }
                let c = &conv;
                tx.execute(
                    &st_conv,
                    &[&c.org_id, &c.seq, &c.identity, &c.campaign, &c.started_at, &c.day, &c.created_at],
                )
                .await
            },
            async {
                if notes.org_id.is_empty() {
                    return Ok(0);
                }
                let n = &notes;
                tx.execute(&st_notes, &[&n.org_id, &n.seq, &n.created_at, &n.kind, &n.body]).await
            },
        )?;
        if n_events as usize != batch.events.len() || n_orgs as usize != batch.orgs.len() {
            return Err(StoreError::Corrupt(format!(
                "wrote {n_events} of {} events and {n_orgs} of {} org rows",
                batch.events.len(),
                batch.orgs.len()
            ))
            .into());
        }
        crate::rollups::upsert(tx, &batch.rollups).await?;
        crate::webhooks::write_outbox(tx, &batch.webhooks).await?;
        Ok(())
    }
}

pub(crate) const INSERT_EVENTS: &str = "INSERT INTO events (org_id, seq, created_at, kind, amount, pool, status, source, \
     service, activity, project_id, project_name, user_name, user_email, description, code, hold_id, \
     idempotency_key, balance_after, prepaid_balance_after, held_after, period_usage_after, metadata, hash) \
     SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::text[], $5::int8[], $6::text[], $7::text[], \
     $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], \
     $16::text[], $17::text[], $18::text[], $19::int8[], $20::int8[], $21::int8[], $22::int8[], $23::text[], \
     $24::text[])";

pub(crate) const UPSERT_RECORDS: &str = "INSERT INTO records (org_id, id, status, expires_at, body) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[]) \
     ON CONFLICT (org_id, id) DO UPDATE SET status = excluded.status, expires_at = excluded.expires_at, \
     body = excluded.body";

const UPDATE_ORGS: &str = "UPDATE orgs SET seq = u.seq, next_expiry = u.next_expiry, state = u.state, \
     version = orgs.version + 1 \
     FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::text[]) AS u(org_id, seq, next_expiry, state) \
     WHERE orgs.org_id = u.org_id";

const INSERT_IDEM: &str = "INSERT INTO idempotency (org_id, key, fingerprint, outcome, created_at) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[])";

const INSERT_CONVERSATIONS: &str = "INSERT INTO conversations (org_id, seq, identity, campaign, started_at, day, \
     created_at) SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[], $5::int8[], $6::text[], \
     $7::int8[])";

const INSERT_NOTIFICATIONS: &str = "INSERT INTO notifications (org_id, seq, created_at, kind, body) \
     SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::text[], $5::text[])";

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

#[derive(Default)]
struct NotificationCols<'a> {
    org_id: Vec<&'a str>,
    seq: Vec<i64>,
    created_at: Vec<i64>,
    kind: Vec<&'static str>,
    body: Vec<String>,
}

#[derive(Default)]
struct OrgCols<'a> {
    org_id: Vec<&'a str>,
    seq: Vec<i64>,
    next_expiry: Vec<Option<i64>>,
    state: Vec<String>,
}

#[derive(Default)]
struct RecordCols<'a> {
    org_id: Vec<&'a str>,
    id: Vec<&'a str>,
    status: Vec<&'static str>,
    expires_at: Vec<Option<i64>>,
    body: Vec<String>,
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
    metadata: Vec<Option<String>>,
    hash: Vec<String>,
}

impl<'a> EventCols<'a> {
    fn from_batch(batch: &'a Batch) -> Self {
        Self::from_events(&batch.events, &batch.hashes)
    }

    /// `events` with their chain hashes (the same length).
    pub(crate) fn from_events(events: &'a [creditd_core::Event], hashes: &[creditd_core::ChainHash]) -> Self {
        let mut c = EventCols::default();
        for e in events {
            c.org_id.push(e.org_id.as_str());
            c.seq.push(e.seq as i64);
            c.created_at.push(e.created_at.as_microsecond());
            c.kind.push(e.kind.as_str());
            c.amount.push(e.amount.micros());
            c.pool.push(e.pool.map(|p| p.as_str()));
            c.status.push(e.status.as_str());
            for (col, t) in c.texts.iter_mut().zip(event_texts(e)) {
                col.push(t);
            }
            c.balance_after.push(e.balance_after.micros());
            c.prepaid_balance_after.push(e.prepaid_balance_after.micros());
            c.held_after.push(e.held_after.micros());
            c.period_usage_after.push(e.period_usage_after.micros());
            c.metadata.push(e.metadata.as_ref().map(|m| m.to_string()));
        }
        c.hash = hashes.iter().map(|h| h.to_string()).collect();
        c
    }

    /// The parameters of [`INSERT_EVENTS`].
    pub(crate) fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 24] {
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
        ]
    }
}

/// Holds whose timeout has passed and orgs with blocks past their expiry.
async fn due_work<C: GenericClient + Sync>(c: &C, now: Timestamp) -> Result<Vec<Command>, Failure> {
    let us = now.as_microsecond();
    let st_holds = c
        .prepare_cached(
            "SELECT org_id, id FROM records WHERE status = 'open' AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
        )
        .await?;
    let st_orgs = c.prepare_cached("SELECT org_id FROM orgs WHERE next_expiry <= $1 LIMIT $2").await?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&us, &MAX_TICK_WORK];
    let (holds, orgs) = tokio::try_join!(c.query(&st_holds, &params), c.query(&st_orgs, &params))?;
    let mut out = Vec::with_capacity(holds.len() + orgs.len());
    for row in holds {
        out.push(Command::new(row.try_get::<_, String>(0)?, Op::TimeoutHold { hold_id: row.try_get(1)? }, None));
    }
    for row in orgs {
        out.push(Command::new(row.try_get::<_, String>(0)?, Op::ExpireDue, None));
    }
    Ok(out)
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
        Op::Hold(h) => ctx_nul(&h.ctx),
        Op::Debit { hold_id, ctx, .. } | Op::Release { hold_id, ctx } => nul(hold_id) || ctx_nul(ctx),
        Op::Usage { ctx, .. } | Op::Billing { ctx, .. } => ctx_nul(ctx),
        Op::Refund { refers_to, ctx, .. } => nul(refers_to) || ctx_nul(ctx),
        Op::Adjustment { reason, ctx, .. } => nul(reason) || ctx_nul(ctx),
        Op::TimeoutHold { hold_id } => nul(hold_id),
        Op::ExpireDue => false,
        Op::Plans(p) => p.texts().into_iter().any(nul),
        Op::Access(a) => a.texts().into_iter().any(nul),
    };
    let found =
        found || cmd.actor.as_ref().is_some_and(|a| a.key_id.iter().chain(a.member_email.iter()).any(|s| nul(s)));
    if found { Err(bad()) } else { Ok(()) }
}
