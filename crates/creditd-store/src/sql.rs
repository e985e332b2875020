//! SQL both engines share: the events table's columns and the history
//! filter, written once with the engine's placeholder style.

use creditd_core::{Event, EventKind, Micros, Pool, Status};

use crate::query::{EventFilter, EventQuery, PageStart};
use crate::{StoreError, micros_ts};

/// Columns of `events` in the order [`EventRow`] reads them.
pub const EVENT_COLUMNS: &str = "seq, created_at, kind, amount, pool, status, source, service, activity, \
     project_id, project_name, user_name, user_email, description, code, hold_id, idempotency_key, \
     balance_after, prepaid_balance_after, held_after, period_usage_after, metadata";

/// A bound value.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Int(i64),
    Text(String),
}

/// Builds `WHERE …` for an org's history; `ph(n)` renders the n-th (1-based)
/// placeholder (`?n` for SQLite, `$n` for PostgreSQL).
pub fn history_where(
    org_id: &str,
    filter: &EventFilter,
    before_seq: Option<u64>,
    ph: impl Fn(usize) -> String,
) -> (String, Vec<SqlValue>) {
    let mut sql = String::from("org_id = ");
    let mut args = vec![SqlValue::Text(org_id.to_string())];
    sql.push_str(&ph(1));
    let mut push = |sql: &mut String, clause: &str, vals: Vec<SqlValue>| {
        sql.push_str(" AND ");
        if vals.len() == 1 {
            sql.push_str(clause);
            sql.push_str(" = ");
            args.push(vals.into_iter().next().unwrap_or(SqlValue::Int(0)));
            sql.push_str(&ph(args.len()));
        } else {
            sql.push_str(clause);
            sql.push_str(" IN (");
            for (i, v) in vals.into_iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                args.push(v);
                sql.push_str(&ph(args.len()));
            }
            sql.push(')');
        }
    };
    let text = |v: &[&str]| v.iter().map(|s| SqlValue::Text(s.to_string())).collect::<Vec<_>>();
    if !filter.kinds.is_empty() {
        push(&mut sql, "kind", text(&filter.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>()));
    }
    if !filter.pools.is_empty() {
        push(&mut sql, "pool", text(&filter.pools.iter().map(|k| k.as_str()).collect::<Vec<_>>()));
    }
    if !filter.statuses.is_empty() {
        push(&mut sql, "status", text(&filter.statuses.iter().map(|k| k.as_str()).collect::<Vec<_>>()));
    }
    if !filter.services.is_empty() {
        push(&mut sql, "service", text(&filter.services.iter().map(String::as_str).collect::<Vec<_>>()));
    }
    if let Some(p) = &filter.project_id {
        push(&mut sql, "project_id", vec![SqlValue::Text(p.clone())]);
    }
    if let Some(u) = &filter.user_email {
        push(&mut sql, "user_email", vec![SqlValue::Text(u.clone())]);
    }
    let mut bound = |sql: &mut String, clause: &str, v: i64| {
        sql.push_str(" AND ");
        sql.push_str(clause);
        args.push(SqlValue::Int(v));
        sql.push_str(&ph(args.len()));
    };
    if let Some(t) = filter.date_from {
        bound(&mut sql, "created_at >= ", t.as_microsecond());
    }
    if let Some(t) = filter.date_to {
        bound(&mut sql, "created_at < ", t.as_microsecond());
    }
    if let Some(seq) = before_seq {
        bound(&mut sql, "seq < ", seq as i64);
    }
    (sql, args)
}

/// The full history page query: newest first, one row more than the page to
/// know whether another follows.
pub fn history_page_sql(org_id: &str, q: &EventQuery, ph: impl Fn(usize) -> String) -> (String, Vec<SqlValue>) {
    let before = match q.start {
        PageStart::Before(s) => Some(s),
        PageStart::Offset(_) => None,
    };
    let (w, mut args) = history_where(org_id, &q.filter, before, &ph);
    let mut sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE {w} ORDER BY seq DESC LIMIT ");
    args.push(SqlValue::Int(i64::from(q.limit.get()) + 1));
    sql.push_str(&ph(args.len()));
    if let PageStart::Offset(o) = q.start {
        args.push(SqlValue::Int(o.min(i64::MAX as u64) as i64));
        sql.push_str(" OFFSET ");
        sql.push_str(&ph(args.len()));
    }
    (sql, args)
}

/// One events row as the engines read it, before parsing.
#[derive(Debug, Default)]
pub struct EventRow {
    pub seq: i64,
    pub created_at: i64,
    pub kind: String,
    pub amount: i64,
    pub pool: Option<String>,
    pub status: String,
    pub texts: [Option<String>; 11],
    pub balance_after: i64,
    pub prepaid_balance_after: i64,
    pub held_after: i64,
    pub period_usage_after: i64,
    pub metadata: Option<String>,
}

impl EventRow {
    pub fn into_event(self, org_id: &str) -> Result<Event, StoreError> {
        let bad = |e: creditd_core::UnknownName| StoreError::Backend(format!("stored event {}: {e}", self.seq));
        let kind: EventKind = self.kind.parse().map_err(bad)?;
        let status: Status = self.status.parse().map_err(bad)?;
        let pool: Option<Pool> = match &self.pool {
            Some(p) => Some(p.parse().map_err(bad)?),
            None => None,
        };
        let metadata = match &self.metadata {
            Some(m) => Some(serde_json::from_str(m).map_err(StoreError::backend)?),
            None => None,
        };
        let [
            source,
            service,
            activity,
            project_id,
            project_name,
            user_name,
            user_email,
            description,
            code,
            hold_id,
            key,
        ] = self.texts;
        Ok(Event {
            id: Event::id_for(self.seq as u64),
            org_id: org_id.to_string(),
            seq: self.seq as u64,
            created_at: micros_ts(self.created_at)?,
            kind,
            amount: Micros::from_micros(self.amount),
            pool,
            status,
            source,
            service,
            activity,
            project_id,
            project_name,
            user_name,
            user_email,
            description,
            code,
            hold_id,
            idempotency_key: key,
            balance_after: Micros::from_micros(self.balance_after),
            prepaid_balance_after: Micros::from_micros(self.prepaid_balance_after),
            held_after: Micros::from_micros(self.held_after),
            period_usage_after: Micros::from_micros(self.period_usage_after),
            metadata,
        })
    }
}

/// The text columns of an event, in [`EVENT_COLUMNS`] order.
pub fn event_texts(e: &Event) -> [Option<&str>; 11] {
    [
        e.source.as_deref(),
        e.service.as_deref(),
        e.activity.as_deref(),
        e.project_id.as_deref(),
        e.project_name.as_deref(),
        e.user_name.as_deref(),
        e.user_email.as_deref(),
        e.description.as_deref(),
        e.code.as_deref(),
        e.hold_id.as_deref(),
        e.idempotency_key.as_deref(),
    ]
}
