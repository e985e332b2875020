//! Webhook endpoints, the outbox and delivery state in PostgreSQL.
//!
//! The writer adds a batch's messages and their deliveries in the batch's
//! transaction ([`OutboxCols`]), fanning out with one `INSERT … SELECT`
//! over the endpoints. Several nodes may deliver at once: a claim takes due
//! rows with `FOR UPDATE SKIP LOCKED` and moves their `next_attempt_at` past
//! a lease in the same statement, so two nodes do not send one delivery at
//! the same time (a node that dies mid-attempt leaves it to be retried when
//! the lease ends: at least once).

use async_trait::async_trait;
use creditd_store::webhooks::{
    Attempt, Delivery, DeliveryStatus, DueDelivery, Endpoint, MAX_ENDPOINTS_PER_ORG, OutboxMessage, Recorded,
    WebhookError, Webhooks, after_failure, clip_error, parse_types_column, types_column,
};
use creditd_store::{StoreError, micros_ts};
use deadpool_postgres::{GenericClient, Pool};
use jiff::{SignedDuration, Timestamp};
use tokio_postgres::Row;

use crate::reader::db as store_db;

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
        created_at  BIGINT NOT NULL
    );
    CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id, created_at);

    CREATE TABLE webhook_messages (
        org_id     TEXT NOT NULL,
        id         TEXT NOT NULL,
        kind       TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        event_seq  BIGINT NOT NULL,
        body       TEXT NOT NULL,
        PRIMARY KEY (org_id, id)
    );
    CREATE INDEX webhook_messages_created ON webhook_messages (org_id, created_at, id);

    CREATE TABLE webhook_deliveries (
        endpoint_id     TEXT NOT NULL,
        message_id      TEXT NOT NULL,
        org_id          TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts        INTEGER NOT NULL,
        created_at      BIGINT NOT NULL,
        next_attempt_at BIGINT,
        last_attempt_at BIGINT,
        last_status     INTEGER,
        last_error      TEXT,
        delivered_at    BIGINT,
        PRIMARY KEY (endpoint_id, message_id)
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
    CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
";

pub(crate) const INSERT_MESSAGES: &str = "INSERT INTO webhook_messages (org_id, id, kind, created_at, event_seq, body) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::text[]) \
     ON CONFLICT DO NOTHING";

pub(crate) const FAN_OUT: &str = "INSERT INTO webhook_deliveries (endpoint_id, message_id, org_id, status, attempts, \
     created_at, next_attempt_at) \
     SELECT e.id, u.id, e.org_id, 'pending', 0, u.created_at, u.created_at \
     FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[]) AS u(org_id, id, kind, created_at) \
     JOIN webhook_endpoints e ON e.org_id = u.org_id \
       AND (e.types IS NULL OR position(',' || u.kind || ',' in e.types) > 0) \
     ON CONFLICT DO NOTHING";

/// A batch's outbox messages, one array per column of [`INSERT_MESSAGES`]
/// and [`FAN_OUT`] (which writes one pending delivery per endpoint that
/// wants each): the writer sends both with its other statements, inside
/// the batch's transaction.
pub(crate) struct OutboxCols<'a> {
    org: Vec<&'a str>,
    id: Vec<&'a str>,
    kind: Vec<&'a str>,
    at: Vec<i64>,
    seq: Vec<i64>,
    body: Vec<&'a str>,
}

impl<'a> OutboxCols<'a> {
    pub(crate) fn of(messages: &'a [OutboxMessage]) -> Self {
        OutboxCols {
            org: messages.iter().map(|m| m.org_id.as_str()).collect(),
            id: messages.iter().map(|m| m.id.as_str()).collect(),
            kind: messages.iter().map(|m| m.kind.as_str()).collect(),
            at: messages.iter().map(|m| m.created_at.as_microsecond()).collect(),
            seq: messages.iter().map(|m| m.event_seq as i64).collect(),
            body: messages.iter().map(|m| m.body.as_str()).collect(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.org.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.org.len()
    }

    pub(crate) fn message_params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 6] {
        [&self.org, &self.id, &self.kind, &self.at, &self.seq, &self.body]
    }

    pub(crate) fn fan_out_params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 4] {
        [&self.org, &self.id, &self.kind, &self.at]
    }
}

/// Writes `messages` and their pending deliveries inside `tx`, for a
/// message that no ledger batch carries (a plan change request).
async fn write_outbox(tx: &deadpool_postgres::Transaction<'_>, messages: &[OutboxMessage]) -> Result<(), StoreError> {
    let cols = OutboxCols::of(messages);
    if cols.is_empty() {
        return Ok(());
    }
    let st = tx.prepare_cached(INSERT_MESSAGES).await.map_err(store_db)?;
    tx.execute(&st, &cols.message_params()).await.map_err(store_db)?;
    let st = tx.prepare_cached(FAN_OUT).await.map_err(store_db)?;
    tx.execute(&st, &cols.fan_out_params()).await.map_err(store_db)?;
    Ok(())
}

#[derive(Clone)]
pub struct PgWebhooks {
    pool: Pool,
}

fn db(e: tokio_postgres::Error) -> WebhookError {
    WebhookError::Store(store_db(e))
}

fn ts(us: i64) -> Result<Timestamp, WebhookError> {
    micros_ts(us).map_err(WebhookError::Store)
}

/// PostgreSQL text cannot hold NUL: such an id names nothing.
fn org_ok(org_id: &str) -> Result<(), WebhookError> {
    if org_id.contains('\0') { Err(WebhookError::OrgNotFound(org_id.replace('\0', "\\0"))) } else { Ok(()) }
}

const ENDPOINT_COLS: &str = "id, org_id, url, types, description, secret, created_at";

fn endpoint_of(r: &Row) -> Result<Endpoint, WebhookError> {
    let types: Option<String> = r.try_get(3).map_err(db)?;
    Ok(Endpoint {
        id: r.try_get(0).map_err(db)?,
        org_id: r.try_get(1).map_err(db)?,
        url: r.try_get(2).map_err(db)?,
        types: parse_types_column(types.as_deref())?,
        description: r.try_get(4).map_err(db)?,
        secret: r.try_get(5).map_err(db)?,
        created_at: ts(r.try_get(6).map_err(db)?)?,
    })
}

async fn require_org<C: GenericClient + Sync>(c: &C, org_id: &str) -> Result<(), WebhookError> {
    org_ok(org_id)?;
    let st = c.prepare_cached("SELECT 1 FROM orgs WHERE org_id = $1").await.map_err(db)?;
    match c.query_opt(&st, &[&org_id]).await.map_err(db)? {
        Some(_) => Ok(()),
        None => Err(WebhookError::OrgNotFound(org_id.to_string())),
    }
}

impl PgWebhooks {
    pub fn new(pool: Pool) -> Self {
        PgWebhooks { pool }
    }

    async fn conn(&self) -> Result<deadpool_postgres::Client, WebhookError> {
        self.pool.get().await.map_err(|e| WebhookError::Store(StoreError::backend(e)))
    }
}

fn due_of(r: &Row) -> Result<DueDelivery, WebhookError> {
    let kind: String = r.try_get(4).map_err(db)?;
    let attempts: i32 = r.try_get(3).map_err(db)?;
    Ok(DueDelivery {
        endpoint_id: r.try_get(0).map_err(db)?,
        message_id: r.try_get(1).map_err(db)?,
        org_id: r.try_get(2).map_err(db)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        kind: kind.parse()?,
        body: r.try_get(5).map_err(db)?,
        url: r.try_get(6).map_err(db)?,
        secret: r.try_get(7).map_err(db)?,
    })
}

const CLAIM: &str = "WITH due AS ( \
       SELECT d.endpoint_id, d.message_id FROM webhook_deliveries d \
       JOIN webhook_endpoints e ON e.id = d.endpoint_id \
       WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
       ORDER BY d.next_attempt_at LIMIT $2 \
       FOR UPDATE OF d SKIP LOCKED), \
     claimed AS ( \
       UPDATE webhook_deliveries w SET next_attempt_at = $3 FROM due \
       WHERE w.endpoint_id = due.endpoint_id AND w.message_id = due.message_id \
       RETURNING w.endpoint_id, w.message_id, w.org_id, w.attempts) \
     SELECT c.endpoint_id, c.message_id, c.org_id, c.attempts, m.kind, m.body, e.url, e.secret \
     FROM claimed c \
     JOIN webhook_messages m ON m.org_id = c.org_id AND m.id = c.message_id \
     JOIN webhook_endpoints e ON e.id = c.endpoint_id";

#[async_trait]
impl Webhooks for PgWebhooks {
    async fn enqueue(&self, message: &OutboxMessage) -> Result<(), WebhookError> {
        org_ok(&message.org_id)?;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db)?;
        require_org(&tx, &message.org_id).await?;
        write_outbox(&tx, std::slice::from_ref(message)).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn create_endpoint(&self, e: &Endpoint) -> Result<(), WebhookError> {
        org_ok(&e.org_id)?;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db)?;
        require_org(&tx, &e.org_id).await?;
        // One creation per org at a time, so the limit holds across nodes.
        let lock = format!("creditd webhooks {}", e.org_id);
        tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&lock]).await.map_err(db)?;
        let n: i64 = tx
            .query_one("SELECT count(*) FROM webhook_endpoints WHERE org_id = $1", &[&e.org_id])
            .await
            .map_err(db)?
            .try_get(0)
            .map_err(db)?;
        if n as usize >= MAX_ENDPOINTS_PER_ORG {
            return Err(WebhookError::TooMany { org_id: e.org_id.clone(), max: MAX_ENDPOINTS_PER_ORG });
        }
        for (what, s) in [("url", Some(e.url.as_str())), ("description", e.description.as_deref())] {
            if s.is_some_and(|s| s.contains('\0')) {
                return Err(WebhookError::Invalid(format!("{what} must not contain NUL characters")));
            }
        }
        tx.execute(
            &format!("INSERT INTO webhook_endpoints ({ENDPOINT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
            &[
                &e.id,
                &e.org_id,
                &e.url,
                &types_column(&e.types),
                &e.description,
                &e.secret,
                &e.created_at.as_microsecond(),
            ],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn endpoints(&self, org_id: &str) -> Result<Vec<Endpoint>, WebhookError> {
        let c = self.conn().await?;
        require_org(&c, org_id).await?;
        let st = c
            .prepare_cached(&format!(
                "SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE org_id = $1 ORDER BY created_at, id"
            ))
            .await
            .map_err(db)?;
        c.query(&st, &[&org_id]).await.map_err(db)?.iter().map(endpoint_of).collect()
    }

    async fn endpoint(&self, org_id: &str, id: &str) -> Result<Option<Endpoint>, WebhookError> {
        let c = self.conn().await?;
        require_org(&c, org_id).await?;
        if id.contains('\0') {
            return Ok(None);
        }
        let st = c
            .prepare_cached(&format!("SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE org_id = $1 AND id = $2"))
            .await
            .map_err(db)?;
        c.query_opt(&st, &[&org_id, &id]).await.map_err(db)?.as_ref().map(endpoint_of).transpose()
    }

    async fn delete_endpoint(&self, org_id: &str, id: &str) -> Result<bool, WebhookError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db)?;
        require_org(&tx, org_id).await?;
        if id.contains('\0') {
            return Ok(false);
        }
        let n = tx
            .execute("DELETE FROM webhook_endpoints WHERE org_id = $1 AND id = $2", &[&org_id, &id])
            .await
            .map_err(db)?;
        if n > 0 {
            tx.execute("DELETE FROM webhook_deliveries WHERE endpoint_id = $1", &[&id]).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(n > 0)
    }

    async fn deliveries(&self, org_id: &str, endpoint_id: &str, limit: u32) -> Result<Vec<Delivery>, WebhookError> {
        let c = self.conn().await?;
        require_org(&c, org_id).await?;
        if endpoint_id.contains('\0') {
            return Ok(Vec::new());
        }
        let st = c
            .prepare_cached(
                "SELECT d.message_id, d.endpoint_id, m.kind, m.event_seq, d.status, d.attempts, d.created_at, \
                 d.next_attempt_at, d.last_attempt_at, d.last_status, d.last_error, d.delivered_at \
                 FROM webhook_deliveries d JOIN webhook_messages m ON m.org_id = d.org_id AND m.id = d.message_id \
                 WHERE d.endpoint_id = $1 AND d.org_id = $2 \
                 ORDER BY d.created_at DESC, m.event_seq DESC, d.message_id DESC LIMIT $3",
            )
            .await
            .map_err(db)?;
        let rows = c.query(&st, &[&endpoint_id, &org_id, &i64::from(limit)]).await.map_err(db)?;
        let mut out = Vec::new();
        for r in rows {
            let kind: String = r.try_get(2).map_err(db)?;
            let seq: i64 = r.try_get(3).map_err(db)?;
            let status: String = r.try_get(4).map_err(db)?;
            let status: DeliveryStatus = status.parse()?;
            let attempts: i32 = r.try_get(5).map_err(db)?;
            let next: Option<i64> = r.try_get(7).map_err(db)?;
            let last: Option<i64> = r.try_get(8).map_err(db)?;
            let code: Option<i32> = r.try_get(9).map_err(db)?;
            let done: Option<i64> = r.try_get(11).map_err(db)?;
            out.push(Delivery {
                message_id: r.try_get(0).map_err(db)?,
                endpoint_id: r.try_get(1).map_err(db)?,
                kind: kind.parse()?,
                event_seq: seq.max(0) as u64,
                attempts: u32::try_from(attempts).unwrap_or(0),
                created_at: ts(r.try_get(6).map_err(db)?)?,
                next_attempt_at: match status {
                    DeliveryStatus::Pending => next.map(ts).transpose()?,
                    _ => None,
                },
                status,
                last_attempt_at: last.map(ts).transpose()?,
                last_status: code.and_then(|c| u16::try_from(c).ok()),
                last_error: r.try_get(10).map_err(db)?,
                delivered_at: done.map(ts).transpose()?,
            });
        }
        Ok(out)
    }

    async fn messages(&self, org_id: &str, limit: u32) -> Result<Vec<OutboxMessage>, WebhookError> {
        let c = self.conn().await?;
        require_org(&c, org_id).await?;
        let st = c
            .prepare_cached(
                "SELECT id, kind, created_at, event_seq, body FROM webhook_messages WHERE org_id = $1 \
                 ORDER BY created_at, event_seq, id LIMIT $2",
            )
            .await
            .map_err(db)?;
        let mut out = Vec::new();
        for r in c.query(&st, &[&org_id, &i64::from(limit)]).await.map_err(db)? {
            let kind: String = r.try_get(1).map_err(db)?;
            let seq: i64 = r.try_get(3).map_err(db)?;
            out.push(OutboxMessage {
                id: r.try_get(0).map_err(db)?,
                org_id: org_id.to_string(),
                kind: kind.parse()?,
                created_at: ts(r.try_get(2).map_err(db)?)?,
                event_seq: seq.max(0) as u64,
                body: r.try_get(4).map_err(db)?,
            });
        }
        Ok(out)
    }

    async fn claim_due(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, WebhookError> {
        let until = now.checked_add(lease).unwrap_or(now).as_microsecond();
        let c = self.conn().await?;
        let st = c.prepare_cached(CLAIM).await.map_err(db)?;
        let rows = c.query(&st, &[&now.as_microsecond(), &i64::from(limit), &until]).await.map_err(db)?;
        rows.iter().map(due_of).collect()
    }

    async fn record_attempt(
        &self,
        d: &DueDelivery,
        attempt: &Attempt,
        now: Timestamp,
    ) -> Result<Recorded, WebhookError> {
        let c = self.conn().await?;
        let at = now.as_microsecond();
        let attempts = i32::try_from(d.attempts.saturating_add(1)).unwrap_or(i32::MAX);
        let (n, recorded) = match attempt {
            Attempt::Delivered { status } => {
                let st = c
                    .prepare_cached(
                        "UPDATE webhook_deliveries SET status = 'delivered', attempts = $3, last_attempt_at = $4, \
                         last_status = $5, last_error = NULL, delivered_at = $4, next_attempt_at = NULL \
                         WHERE endpoint_id = $1 AND message_id = $2 AND status = 'pending'",
                    )
                    .await
                    .map_err(db)?;
                let n = c
                    .execute(&st, &[&d.endpoint_id, &d.message_id, &attempts, &at, &i32::from(*status)])
                    .await
                    .map_err(db)?;
                (n, Recorded::Delivered)
            }
            Attempt::Failed { status, error } => {
                let next = after_failure(d.attempts, now);
                let (state, recorded) = match next {
                    Some(t) => ("pending", Recorded::Retry(t)),
                    None => ("failed", Recorded::GaveUp),
                };
                let st = c
                    .prepare_cached(
                        "UPDATE webhook_deliveries SET status = $3, attempts = $4, last_attempt_at = $5, \
                         last_status = $6, last_error = $7, next_attempt_at = $8 \
                         WHERE endpoint_id = $1 AND message_id = $2 AND status = 'pending'",
                    )
                    .await
                    .map_err(db)?;
                let error = clip_error(error).replace('\0', "");
                let n = c
                    .execute(
                        &st,
                        &[
                            &d.endpoint_id,
                            &d.message_id,
                            &state,
                            &attempts,
                            &at,
                            &status.map(i32::from),
                            &error,
                            &next.map(|t| t.as_microsecond()),
                        ],
                    )
                    .await
                    .map_err(db)?;
                (n, recorded)
            }
        };
        Ok(if n == 0 { Recorded::Gone } else { recorded })
    }
}
