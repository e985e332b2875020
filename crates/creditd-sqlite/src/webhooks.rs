//! Webhook endpoints, the outbox and delivery state in SQLite.
//!
//! The outbox rows are written by the ledger writer in the batch's own
//! transaction ([`write_outbox`]); endpoints and delivery attempts change in
//! short `BEGIN IMMEDIATE` transactions on a connection of their own, like
//! the directory. The writer's `INSERT … SELECT` reads the endpoints inside
//! its write transaction, and SQLite has one writer at a time, so a message
//! goes to exactly the endpoints that existed when its event was committed.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use creditd_store::webhooks::{
    Attempt, Delivery, DueDelivery, Endpoint, OutboxMessage, Recorded, WebhookError, Webhooks, after_failure,
    clip_error, parse_types_column, types_column,
};
use creditd_store::{StoreError, micros_ts};
use jiff::{SignedDuration, Timestamp};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::reader::db;

/// Appended to [`crate::schema::MIGRATIONS`].
pub const MIGRATION: &str = "
    CREATE TABLE webhook_endpoints (
        id          TEXT PRIMARY KEY,
        org_id      TEXT NOT NULL,
        url         TEXT NOT NULL,
        -- NULL: every type; else ',a,b,'
        types       TEXT,
        description TEXT,
        secret      TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX webhook_endpoints_org ON webhook_endpoints(org_id, created_at);

    CREATE TABLE webhook_messages (
        org_id     TEXT NOT NULL,
        id         TEXT NOT NULL,
        kind       TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        event_seq  INTEGER NOT NULL,
        body       TEXT NOT NULL,
        PRIMARY KEY (org_id, id)
    ) WITHOUT ROWID;
    CREATE INDEX webhook_messages_created ON webhook_messages(org_id, created_at, id);

    CREATE TABLE webhook_deliveries (
        endpoint_id     TEXT NOT NULL,
        message_id      TEXT NOT NULL,
        org_id          TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts        INTEGER NOT NULL,
        created_at      INTEGER NOT NULL,
        next_attempt_at INTEGER,
        last_attempt_at INTEGER,
        last_status     INTEGER,
        last_error      TEXT,
        delivered_at    INTEGER,
        PRIMARY KEY (endpoint_id, message_id)
    ) WITHOUT ROWID;
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
    CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, created_at);
";

/// Writes the batch's outbox messages and one pending delivery per
/// endpoint that wants each, inside the writer's transaction.
pub(crate) fn write_outbox(c: &Connection, messages: &[OutboxMessage]) -> Result<(), StoreError> {
    if messages.is_empty() {
        return Ok(());
    }
    let mut ins = c
        .prepare_cached(
            "INSERT INTO webhook_messages (org_id, id, kind, created_at, event_seq, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
        )
        .map_err(db)?;
    let mut fan = c
        .prepare_cached(
            "INSERT INTO webhook_deliveries (endpoint_id, message_id, org_id, status, attempts, created_at, \
             next_attempt_at) \
             SELECT id, ?2, org_id, 'pending', 0, ?3, ?3 FROM webhook_endpoints \
             WHERE org_id = ?1 AND (types IS NULL OR instr(types, ',' || ?4 || ',') > 0) \
             ON CONFLICT DO NOTHING",
        )
        .map_err(db)?;
    for m in messages {
        let at = m.created_at.as_microsecond();
        ins.execute(params![m.org_id, m.id, m.kind.as_str(), at, m.event_seq as i64, m.body]).map_err(db)?;
        fan.execute(params![m.org_id, m.id, at, m.kind.as_str()]).map_err(db)?;
    }
    Ok(())
}

#[derive(Clone)]
pub struct SqliteWebhooks {
    conn: Arc<Mutex<Connection>>,
}

fn err(e: rusqlite::Error) -> WebhookError {
    WebhookError::Store(db(e))
}

fn ts(us: i64) -> Result<Timestamp, WebhookError> {
    micros_ts(us).map_err(WebhookError::Store)
}

const ENDPOINT_COLS: &str = "id, org_id, url, types, description, secret, created_at";

type EndpointRow = (String, String, String, Option<String>, Option<String>, String, i64);

fn read_endpoint(r: &rusqlite::Row<'_>) -> rusqlite::Result<EndpointRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
}

fn endpoint_of(row: EndpointRow) -> Result<Endpoint, WebhookError> {
    let (id, org_id, url, types, description, secret, at) = row;
    Ok(Endpoint {
        id,
        org_id,
        url,
        types: parse_types_column(types.as_deref())?,
        description,
        secret,
        created_at: ts(at)?,
    })
}

fn org_exists(c: &Connection, org_id: &str) -> Result<bool, WebhookError> {
    let found: Option<i64> = c
        .prepare_cached("SELECT 1 FROM orgs WHERE org_id = ?1")
        .map_err(err)?
        .query_row([org_id], |r| r.get(0))
        .optional()
        .map_err(err)?;
    Ok(found.is_some())
}

fn require_org(c: &Connection, org_id: &str) -> Result<(), WebhookError> {
    if org_exists(c, org_id)? { Ok(()) } else { Err(WebhookError::OrgNotFound(org_id.to_string())) }
}

impl SqliteWebhooks {
    /// A connection of its own to an existing, migrated database.
    pub(crate) fn connect(path: &Path) -> rusqlite::Result<SqliteWebhooks> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(SqliteWebhooks { conn: Arc::new(Mutex::new(conn)) })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, WebhookError> + Send + 'static,
    ) -> Result<T, WebhookError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut c)
        })
        .await
        .map_err(|e| WebhookError::Store(StoreError::backend(e)))?
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, WebhookError> + Send + 'static,
    ) -> Result<T, WebhookError> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
            let out = f(&tx)?;
            tx.commit().map_err(err)?;
            Ok(out)
        })
        .await
    }
}

const DUE: &str = "SELECT d.endpoint_id, d.message_id, d.org_id, d.attempts, m.kind, m.body, e.url, e.secret \
     FROM webhook_deliveries d \
     JOIN webhook_endpoints e ON e.id = d.endpoint_id \
     JOIN webhook_messages m ON m.org_id = d.org_id AND m.id = d.message_id \
     WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 \
     ORDER BY d.next_attempt_at LIMIT ?2";

fn due(c: &Connection, now: i64, limit: u32) -> Result<Vec<DueDelivery>, WebhookError> {
    let mut st = c.prepare_cached(DUE).map_err(err)?;
    let rows = st
        .query_map(params![now, limit], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
            ))
        })
        .map_err(err)?;
    let mut out = Vec::new();
    for row in rows {
        let (endpoint_id, message_id, org_id, attempts, kind, body, url, secret) = row.map_err(err)?;
        out.push(DueDelivery {
            message_id,
            endpoint_id,
            org_id,
            kind: kind.parse()?,
            url,
            secret,
            body,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        });
    }
    Ok(out)
}

#[async_trait]
impl Webhooks for SqliteWebhooks {
    async fn enqueue(&self, message: &OutboxMessage) -> Result<(), WebhookError> {
        let m = message.clone();
        self.write(move |tx| {
            require_org(tx, &m.org_id)?;
            write_outbox(tx, std::slice::from_ref(&m)).map_err(WebhookError::Store)
        })
        .await
    }

    async fn create_endpoint(&self, endpoint: &Endpoint) -> Result<(), WebhookError> {
        let e = endpoint.clone();
        self.write(move |tx| {
            require_org(tx, &e.org_id)?;
            let n: i64 = tx
                .query_row("SELECT count(*) FROM webhook_endpoints WHERE org_id = ?1", [&e.org_id], |r| r.get(0))
                .map_err(err)?;
            if n as usize >= creditd_store::webhooks::MAX_ENDPOINTS_PER_ORG {
                return Err(WebhookError::TooMany {
                    org_id: e.org_id.clone(),
                    max: creditd_store::webhooks::MAX_ENDPOINTS_PER_ORG,
                });
            }
            tx.execute(
                &format!("INSERT INTO webhook_endpoints ({ENDPOINT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                params![
                    e.id,
                    e.org_id,
                    e.url,
                    types_column(&e.types),
                    e.description,
                    e.secret,
                    e.created_at.as_microsecond()
                ],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn endpoints(&self, org_id: &str) -> Result<Vec<Endpoint>, WebhookError> {
        let org_id = org_id.to_string();
        self.run(move |c| {
            require_org(c, &org_id)?;
            let mut st = c
                .prepare_cached(&format!(
                    "SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE org_id = ?1 ORDER BY created_at, id"
                ))
                .map_err(err)?;
            let rows = st.query_map([&org_id], read_endpoint).map_err(err)?;
            rows.map(|r| endpoint_of(r.map_err(err)?)).collect()
        })
        .await
    }

    async fn endpoint(&self, org_id: &str, id: &str) -> Result<Option<Endpoint>, WebhookError> {
        let (org_id, id) = (org_id.to_string(), id.to_string());
        self.run(move |c| {
            require_org(c, &org_id)?;
            c.prepare_cached(&format!("SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE org_id = ?1 AND id = ?2"))
                .map_err(err)?
                .query_row([&org_id, &id], read_endpoint)
                .optional()
                .map_err(err)?
                .map(endpoint_of)
                .transpose()
        })
        .await
    }

    async fn delete_endpoint(&self, org_id: &str, id: &str) -> Result<bool, WebhookError> {
        let (org_id, id) = (org_id.to_string(), id.to_string());
        self.write(move |tx| {
            require_org(tx, &org_id)?;
            let n = tx
                .execute("DELETE FROM webhook_endpoints WHERE org_id = ?1 AND id = ?2", [&org_id, &id])
                .map_err(err)?;
            if n > 0 {
                tx.execute("DELETE FROM webhook_deliveries WHERE endpoint_id = ?1", [&id]).map_err(err)?;
            }
            Ok(n > 0)
        })
        .await
    }

    async fn deliveries(&self, org_id: &str, endpoint_id: &str, limit: u32) -> Result<Vec<Delivery>, WebhookError> {
        let (org_id, endpoint_id) = (org_id.to_string(), endpoint_id.to_string());
        self.run(move |c| {
            require_org(c, &org_id)?;
            let mut st = c
                .prepare_cached(
                    "SELECT d.message_id, d.endpoint_id, m.kind, m.event_seq, d.status, d.attempts, d.created_at, \
                     d.next_attempt_at, d.last_attempt_at, d.last_status, d.last_error, d.delivered_at \
                     FROM webhook_deliveries d JOIN webhook_messages m ON m.org_id = d.org_id AND m.id = d.message_id \
                     WHERE d.endpoint_id = ?1 AND d.org_id = ?2 \
                     ORDER BY d.created_at DESC, m.event_seq DESC, d.message_id DESC LIMIT ?3",
                )
                .map_err(err)?;
            let rows = st
                .query_map(params![endpoint_id, org_id, limit], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, i64>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                        r.get::<_, Option<i64>>(8)?,
                        r.get::<_, Option<i64>>(9)?,
                        r.get::<_, Option<String>>(10)?,
                        r.get::<_, Option<i64>>(11)?,
                    ))
                })
                .map_err(err)?;
            let mut out = Vec::new();
            for row in rows {
                let (message_id, endpoint_id, kind, seq, status, attempts, created, next, last, code, error, done) =
                    row.map_err(err)?;
                let status: creditd_store::webhooks::DeliveryStatus = status.parse()?;
                out.push(Delivery {
                    message_id,
                    endpoint_id,
                    kind: kind.parse()?,
                    event_seq: seq.max(0) as u64,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    created_at: ts(created)?,
                    next_attempt_at: match status {
                        creditd_store::webhooks::DeliveryStatus::Pending => next.map(ts).transpose()?,
                        _ => None,
                    },
                    status,
                    last_attempt_at: last.map(ts).transpose()?,
                    last_status: code.and_then(|c| u16::try_from(c).ok()),
                    last_error: error,
                    delivered_at: done.map(ts).transpose()?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn messages(&self, org_id: &str, limit: u32) -> Result<Vec<OutboxMessage>, WebhookError> {
        let org_id = org_id.to_string();
        self.run(move |c| {
            require_org(c, &org_id)?;
            let mut st = c
                .prepare_cached(
                    "SELECT id, kind, created_at, event_seq, body FROM webhook_messages WHERE org_id = ?1 \
                     ORDER BY created_at, event_seq, id LIMIT ?2",
                )
                .map_err(err)?;
            let rows = st
                .query_map(params![org_id, limit], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })
                .map_err(err)?;
            let mut out = Vec::new();
            for row in rows {
                let (id, kind, at, seq, body) = row.map_err(err)?;
                out.push(OutboxMessage {
                    id,
                    org_id: org_id.clone(),
                    kind: kind.parse()?,
                    created_at: ts(at)?,
                    event_seq: seq.max(0) as u64,
                    body,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn claim_due(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, WebhookError> {
        let until = now.checked_add(lease).unwrap_or(now).as_microsecond();
        let now = now.as_microsecond();
        // A read first: an idle poll never takes the write lock the ledger
        // writer needs.
        let any = self.run(move |c| Ok(!due(c, now, 1)?.is_empty())).await?;
        if !any {
            return Ok(Vec::new());
        }
        self.write(move |tx| {
            let claimed = due(tx, now, limit)?;
            let mut up = tx
                .prepare_cached(
                    "UPDATE webhook_deliveries SET next_attempt_at = ?3 \
                     WHERE endpoint_id = ?1 AND message_id = ?2 AND status = 'pending'",
                )
                .map_err(err)?;
            for d in &claimed {
                up.execute(params![d.endpoint_id, d.message_id, until]).map_err(err)?;
            }
            Ok(claimed)
        })
        .await
    }

    async fn record_attempt(
        &self,
        delivery: &DueDelivery,
        attempt: &Attempt,
        now: Timestamp,
    ) -> Result<Recorded, WebhookError> {
        let d = delivery.clone();
        let attempt = attempt.clone();
        self.write(move |tx| {
            let at = now.as_microsecond();
            let attempts = i64::from(d.attempts) + 1;
            let (n, recorded) = match &attempt {
                Attempt::Delivered { status } => (
                    tx.execute(
                        "UPDATE webhook_deliveries SET status = 'delivered', attempts = ?3, last_attempt_at = ?4, \
                         last_status = ?5, last_error = NULL, delivered_at = ?4, next_attempt_at = NULL \
                         WHERE endpoint_id = ?1 AND message_id = ?2 AND status = 'pending'",
                        params![d.endpoint_id, d.message_id, attempts, at, status],
                    )
                    .map_err(err)?,
                    Recorded::Delivered,
                ),
                Attempt::Failed { status, error } => {
                    let next = after_failure(d.attempts, now);
                    let (state, recorded) = match next {
                        Some(t) => ("pending", Recorded::Retry(t)),
                        None => ("failed", Recorded::GaveUp),
                    };
                    let n = tx
                        .execute(
                            "UPDATE webhook_deliveries SET status = ?3, attempts = ?4, last_attempt_at = ?5, \
                             last_status = ?6, last_error = ?7, next_attempt_at = ?8 \
                             WHERE endpoint_id = ?1 AND message_id = ?2 AND status = 'pending'",
                            params![
                                d.endpoint_id,
                                d.message_id,
                                state,
                                attempts,
                                at,
                                status,
                                clip_error(error),
                                next.map(|t| t.as_microsecond())
                            ],
                        )
                        .map_err(err)?;
                    (n, recorded)
                }
            };
            Ok(if n == 0 { Recorded::Gone } else { recorded })
        })
        .await
    }
}
