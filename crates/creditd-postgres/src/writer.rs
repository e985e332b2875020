//! The writer task of one node: batches queued jobs into one transaction.
//!
//! Several nodes may write the same organisation. Each batch locks the rows
//! of the orgs it touches (`FOR UPDATE`, in `org_id` order, so two nodes
//! never deadlock on each other), and a cached [`OrgState`] is used only if
//! the `orgs.version` it was read or written at still equals the locked
//! row's (every batch that rewrites the row bumps it by one): otherwise
//! another node wrote the org since, and its state and pending records are
//! read again under the lock. Within a node, one hot org still gets group
//! commit: every queued command for it shares one lock, one transaction and
//! one commit.
//!
//! What a batch writes is computed by [`WriteSet::encode`] in the store
//! crate, as on SQLite; this file only binds its rows into array statements.

use std::collections::HashMap;
use std::sync::Arc;
use tokio_postgres::types::ToSql;

use creditd_core::{Op, OrgSettings, OrgState, Outcome};
use creditd_store::batch::{self, Batch, IdemRow};
use creditd_store::cache::{OrgCache, OrgCacheSize};
use creditd_store::tick::{self, MAX_TICK_WORK};
use creditd_store::write::{self, EventRow, Rows, UsageLayout, WriteSet};
use creditd_store::{Clock, Command, OrgInfo, StoreError, micros_ts, telemetry};
use deadpool_postgres::{GenericClient, Pool, Transaction};
use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::error::SqlState;

use crate::reader::{db, load_states};

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
}

/// A cached org state and the `orgs.version` it was read or written at.
struct Cached {
    state: OrgState,
    version: i64,
}

impl Writer {
    pub fn new(
        pool: Pool,
        clock: Arc<dyn Clock>,
        org_cache: OrgCacheSize,
        prices: Arc<creditd_store::prices::Catalogue>,
    ) -> Self {
        Writer { pool, conn: None, states: OrgCache::new("postgres", org_cache), clock, prices }
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
            // A transfer writes its receiver too: locked with the others.
            .flat_map(|c| std::iter::once(c.org_id.as_str()).chain(c.op.other_org().filter(|o| !o.contains('\0'))))
            .map(str::to_string)
            .collect();
        org_ids.sort_unstable();
        org_ids.dedup();
        touched.extend(org_ids.iter().cloned());
        let mut locked: HashMap<String, i64> = HashMap::with_capacity(org_ids.len());
        // Each locked org's parent, read under the lock (a tree change locks
        // the row too): what transfers check their relation with.
        let mut parents: HashMap<String, Option<String>> = HashMap::with_capacity(org_ids.len());
        if !org_ids.is_empty() {
            let st = tx
                .prepare_cached(
                    "SELECT org_id, version, parent_id FROM orgs WHERE org_id = ANY($1) ORDER BY org_id FOR UPDATE",
                )
                .await?;
            for row in tx.query(&st, &[&org_ids]).await? {
                let id: String = row.try_get(0)?;
                locked.insert(id.clone(), row.try_get(1)?);
                parents.insert(id, row.try_get(2)?);
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

        // A priced operation (or a debit, which may post a priced hold)
        // prices from versions another node may have written.
        if all_commands().any(|c| matches!(c.op, creditd_core::Op::Priced(_) | creditd_core::Op::Debit { .. })) {
            crate::prices::refresh(&tx, &self.prices).await?;
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

        if !batch.is_empty() {
            let set = WriteSet::encode(&batch, |org| self.states.get(org).map(|c| &c.state), UsageLayout::RecordRows)?;
            write(&tx, set.rows(&batch)?).await?;
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
        let state =
            &mut self.states.get_mut(&cmd.org_id).ok_or_else(|| StoreError::OrgNotFound(cmd.org_id.clone()))?.state;
        let idem = cmd.idempotency_key.as_ref().and_then(|k| stored.get(&(cmd.org_id.clone(), k.clone())));
        batch.apply_with(state, cmd, now, idem, &*self.prices)
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

/// Appends the batch's events and writes each touched row once: six
/// array statements, pipelined, then the rollups and the outbox.
async fn write(tx: &Transaction<'_>, rows: Rows<'_>) -> Result<(), Failure> {
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
    let (st_events, st_records, st_orgs, st_idem, st_conv, st_notes) = tokio::try_join!(
        tx.prepare_cached(INSERT_EVENTS),
        tx.prepare_cached(UPSERT_RECORDS),
        tx.prepare_cached(UPDATE_ORGS),
        tx.prepare_cached(INSERT_IDEM),
        tx.prepare_cached(INSERT_CONVERSATIONS),
        tx.prepare_cached(INSERT_NOTIFICATIONS),
    )?;
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
    let (r, o, i, c, n) = (&recs, &orgs, &idem, &conv, &notes);
    let p_events = events.params();
    let p_records: [&(dyn ToSql + Sync); 5] = [&r.org_id, &r.id, &r.status, &r.expires_at, &r.body];
    let p_orgs: [&(dyn ToSql + Sync); 4] = [&o.org_id, &o.seq, &o.next_expiry, &o.state];
    let p_idem: [&(dyn ToSql + Sync); 5] = [&i.org_id, &i.key, &i.fingerprint, &i.outcome, &i.created_at];
    let p_conv: [&(dyn ToSql + Sync); 7] =
        [&c.org_id, &c.seq, &c.identity, &c.campaign, &c.started_at, &c.day, &c.created_at];
    let p_notes: [&(dyn ToSql + Sync); 5] = [&n.org_id, &n.seq, &n.created_at, &n.kind, &n.body];
    let (n_events, _, n_orgs, _, _, _) = tokio::try_join!(
        unless_empty(tx, &st_events, events.org_id.is_empty(), &p_events),
        unless_empty(tx, &st_records, r.org_id.is_empty(), &p_records),
        unless_empty(tx, &st_orgs, o.org_id.is_empty(), &p_orgs),
        unless_empty(tx, &st_idem, i.org_id.is_empty(), &p_idem),
        unless_empty(tx, &st_conv, c.org_id.is_empty(), &p_conv),
        unless_empty(tx, &st_notes, n.org_id.is_empty(), &p_notes),
    )?;
    let (want_events, want_orgs) = (rows.events().len(), rows.orgs().len());
    if n_events as usize != want_events || n_orgs as usize != want_orgs {
        return Err(StoreError::Corrupt(format!(
            "wrote {n_events} of {want_events} events and {n_orgs} of {want_orgs} org rows"
        ))
        .into());
    }
    crate::rollups::upsert(tx, &rows.rollups()?).await?;
    crate::webhooks::write_outbox(tx, rows.webhooks()).await?;
    Ok(())
}

/// Runs one of the batch's array statements, or nothing (0 rows) when its
/// arrays are empty.
async fn unless_empty(
    tx: &Transaction<'_>,
    st: &tokio_postgres::Statement,
    empty: bool,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, tokio_postgres::Error> {
    if empty { Ok(0) } else { tx.execute(st, params).await }
}

pub(crate) const INSERT_EVENTS: &str = "INSERT INTO events (org_id, seq, created_at, kind, amount, pool, status, source, \
     service, activity, project_id, project_name, user_name, user_email, description, code, hold_id, \
     idempotency_key, balance_after, prepaid_balance_after, held_after, period_usage_after, metadata, hash, pricing) \
     SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::text[], $5::int8[], $6::text[], $7::text[], \
     $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], \
     $16::text[], $17::text[], $18::text[], $19::int8[], $20::int8[], $21::int8[], $22::int8[], $23::text[], \
     $24::text[], $25::text[])";

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
}

impl<'a> EventCols<'a> {
    /// The columns of `rows` (the `draws` of [`EventRow`] has no column
    /// here: usage records are `records` rows on PostgreSQL).
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
        }
        c
    }

    /// The parameters of [`INSERT_EVENTS`].
    pub(crate) fn params(&self) -> [&(dyn ToSql + Sync); 25] {
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
