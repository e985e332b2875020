//! Reads through the pool: states, records, history pages, exports, verify.
//! Every query names its org, so each one stays on one shard when the tables
//! are distributed by `org_id`.

use std::collections::HashMap;

use creditd_core::verify::{Verifier, VerifyReport};
use creditd_core::{Event, Notification, OrgState};
use creditd_store::conversations::{ConversationCount, ConversationQuery, conversation_usage_sql};
use creditd_store::query::{EventFilter, EventQuery, Order, Page};
use creditd_store::sql::{self, Dialect, EventRow, SeqRange, SqlValue};
use creditd_store::stored;
use creditd_store::{EXPORT_CHUNK, StoreError};
use deadpool_postgres::GenericClient;
use tokio::sync::mpsc;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

pub fn db(e: tokio_postgres::Error) -> StoreError {
    StoreError::backend(e)
}

pub async fn load_state<C: GenericClient + Sync>(c: &C, org_id: &str) -> Result<OrgState, StoreError> {
    let st = c.prepare_cached("SELECT state FROM orgs WHERE org_id = $1").await.map_err(db)?;
    let row = c.query_opt(&st, &[&org_id]).await.map_err(db)?;
    let row = row.ok_or_else(|| StoreError::OrgNotFound(org_id.to_string()))?;
    stored::parse_state(org_id, &row.try_get::<_, String>(0).map_err(db)?)
}

/// States and pending records of several orgs, in two pipelined queries.
pub async fn load_states<C: GenericClient + Sync>(
    c: &C,
    org_ids: &[String],
) -> Result<HashMap<String, OrgState>, StoreError> {
    let st_orgs = c.prepare_cached("SELECT org_id, state FROM orgs WHERE org_id = ANY($1)").await.map_err(db)?;
    let st_recs = c.prepare_cached(PENDING_RECORDS).await.map_err(db)?;
    let params: [&(dyn ToSql + Sync); 1] = [&org_ids];
    let (orgs, recs) = tokio::try_join!(c.query(&st_orgs, &params), c.query(&st_recs, &params)).map_err(db)?;
    let mut states = HashMap::with_capacity(orgs.len());
    for row in orgs {
        let id: String = row.try_get(0).map_err(db)?;
        let state = stored::parse_state(&id, &row.try_get::<_, String>(1).map_err(db)?)?;
        states.insert(id, state);
    }
    add_pending_records(&mut states, recs)?;
    Ok(states)
}

/// The pending (open or processing) records of the orgs in `$1`: what an
/// org's state holds beside its row's `state` (rows of [`add_pending_records`]).
pub(crate) const PENDING_RECORDS: &str =
    "SELECT org_id, id, body FROM records WHERE org_id = ANY($1) AND status IN ('open', 'processing')";

/// Adds the rows of [`PENDING_RECORDS`] to the states of their orgs (rows
/// of orgs not in `states` are skipped).
pub(crate) fn add_pending_records(
    states: &mut HashMap<String, OrgState>,
    recs: Vec<tokio_postgres::Row>,
) -> Result<(), StoreError> {
    for row in recs {
        let org: String = row.try_get(0).map_err(db)?;
        let rec = (row.try_get::<_, String>(1), row.try_get::<_, String>(2));
        if let Some(s) = states.get_mut(&org) {
            // A pending record that cannot be read is left out and logged.
            let rec = match rec {
                (Ok(id), Ok(body)) => Ok((id, body)),
                (Err(e), _) | (_, Err(e)) => Err(db(e)),
            };
            stored::add_pending_records(s, [rec])?;
        }
    }
    Ok(())
}

/// The parent of `org_id` (`orgs.parent_id`); `OrgNotFound` if there is no
/// such org.
pub async fn parent_of<C: GenericClient + Sync>(c: &C, org_id: &str) -> Result<Option<String>, StoreError> {
    let st = c.prepare_cached("SELECT parent_id FROM orgs WHERE org_id = $1").await.map_err(db)?;
    let row = c.query_opt(&st, &[&org_id]).await.map_err(db)?;
    row.ok_or_else(|| StoreError::OrgNotFound(org_id.to_string()))?.try_get(0).map_err(db)
}

/// The direct children of each of `org_ids`, in id order.
pub async fn children<C: GenericClient + Sync>(c: &C, org_ids: &[String]) -> Result<Vec<String>, StoreError> {
    let st = c.prepare_cached("SELECT org_id FROM orgs WHERE parent_id = ANY($1) ORDER BY org_id").await.map_err(db)?;
    let rows = c.query(&st, &[&org_ids]).await.map_err(db)?;
    rows.iter().map(|r| r.try_get(0).map_err(db)).collect()
}

/// `Store::set_parent`: one transaction that takes the tree's advisory
/// lock (every tree change on every node queues behind it) and the org's
/// row lock (so the org's transfers, which lock their rows, see the tree
/// before or after, never half), gathers the facts, asks the core, and
/// only then writes the one column.
pub async fn set_parent(
    c: &mut deadpool_postgres::Client,
    org_id: &str,
    parent_id: Option<&str>,
) -> Result<creditd_store::OrgInfo, StoreError> {
    let tx = c.transaction().await.map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext('creditd org tree'))", &[]).await.map_err(db)?;
    let st = tx.prepare_cached("SELECT state FROM orgs WHERE org_id = $1 FOR UPDATE").await.map_err(db)?;
    let row = tx.query_opt(&st, &[&org_id]).await.map_err(db)?;
    let row = row.ok_or_else(|| StoreError::OrgNotFound(org_id.to_string()))?;
    let state = stored::parse_state(org_id, &row.try_get::<_, String>(0).map_err(db)?)?;
    if parent_of(&tx, org_id).await?.as_deref() != parent_id {
        // A child turning funding on locks this row too (its parent's), so
        // what is read here cannot change before the commit.
        let kids = children(&tx, &[org_id.to_string()]).await?;
        let states = load_states(&tx, &kids).await?;
        let funded: Vec<String> = kids
            .into_iter()
            .filter(|k| states.get(k).is_some_and(|s| s.settings.funding == creditd_core::Funding::Parent))
            .collect();
        creditd_core::funding::check_reparent(org_id, state.settings.funding, &funded)?;
    }
    if let Some(parent) = parent_id {
        let mut ancestors: Vec<String> = Vec::new();
        let mut at = parent_of(&tx, parent).await?;
        while let Some(p) = at {
            if ancestors.len() >= creditd_core::tree::MAX_LEVELS || ancestors.contains(&p) {
                ancestors.push(p);
                break;
            }
            at = parent_of(&tx, &p).await?;
            ancestors.push(p);
        }
        let mut level = vec![org_id.to_string()];
        let mut height = 0;
        while height < creditd_core::tree::MAX_LEVELS {
            level = children(&tx, &level).await?;
            if level.is_empty() {
                break;
            }
            height += 1;
        }
        creditd_core::tree::check_parent(org_id, parent, &ancestors, height)?;
    }
    tx.execute("UPDATE orgs SET parent_id = $2 WHERE org_id = $1", &[&org_id, &parent_id]).await.map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(creditd_store::OrgInfo {
        id: org_id.to_string(),
        created_at: state.created_at,
        parent_id: parent_id.map(str::to_string),
        settings: state.settings,
    })
}

pub async fn org_ids<C: GenericClient + Sync>(c: &C) -> Result<Vec<String>, StoreError> {
    let st = c.prepare_cached("SELECT org_id FROM orgs ORDER BY org_id").await.map_err(db)?;
    let rows = c.query(&st, &[]).await.map_err(db)?;
    rows.iter().map(|r| r.try_get(0).map_err(db)).collect()
}

async fn ensure_org<C: GenericClient + Sync>(c: &C, org_id: &str) -> Result<(), StoreError> {
    let st = c.prepare_cached("SELECT 1 FROM orgs WHERE org_id = $1").await.map_err(db)?;
    match c.query_opt(&st, &[&org_id]).await.map_err(db)? {
        Some(_) => Ok(()),
        None => Err(StoreError::OrgNotFound(org_id.to_string())),
    }
}

fn read_row(r: &Row) -> Result<EventRow, tokio_postgres::Error> {
    read_row_at(r, 0)
}

/// [`read_row`] of the event columns from column `at` on.
fn read_row_at(r: &Row, at: usize) -> Result<EventRow, tokio_postgres::Error> {
    let mut texts: [Option<String>; 11] = Default::default();
    for (i, t) in texts.iter_mut().enumerate() {
        *t = r.try_get(at + 6 + i)?;
    }
    Ok(EventRow {
        seq: r.try_get(at)?,
        created_at: r.try_get(at + 1)?,
        kind: r.try_get(at + 2)?,
        amount: r.try_get(at + 3)?,
        pool: r.try_get(at + 4)?,
        status: r.try_get(at + 5)?,
        texts,
        balance_after: r.try_get(at + 17)?,
        prepaid_balance_after: r.try_get(at + 18)?,
        held_after: r.try_get(at + 19)?,
        period_usage_after: r.try_get(at + 20)?,
        metadata: r.try_get(at + 21)?,
        pricing: r.try_get(at + 22)?,
        pools_after: [r.try_get(at + 23)?, r.try_get(at + 24)?, r.try_get(at + 25)?],
    })
}

fn to_event(r: &Row, org_id: &str) -> Result<Event, StoreError> {
    read_row(r).map_err(db)?.into_event(org_id)
}

/// Usage events by `(org_id, seq, hold_id)` (`$1`, `$2`, `$3` arrays) that
/// carry their draws: each row is `org_id`, [`sql::EVENT_COLUMNS`], `draws`.
pub(crate) static USAGE_RECORDS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT e.org_id, {}, e.draws FROM events e \
         JOIN UNNEST($1::text[], $2::int8[], $3::text[]) AS k(org_id, seq, id) \
         ON e.org_id = k.org_id AND e.seq = k.seq AND e.hold_id = k.id \
         WHERE e.kind = 'usage' AND e.draws IS NOT NULL",
        sql::EVENT_COLUMNS.split(", ").map(|c| format!("e.{}", c.trim())).collect::<Vec<_>>().join(", ")
    )
});

/// The usage record a row of [`USAGE_RECORDS`] is: its event plus the
/// blocks it drew from (a usage never refunded writes no record row).
pub(crate) fn usage_record(r: &Row, org_id: &str) -> Result<creditd_core::Record, StoreError> {
    let e = read_row_at(r, 1).map_err(db)?.into_event(org_id)?;
    let draws: String = r.try_get(1 + sql::EVENT_COLUMN_COUNT).map_err(db)?;
    let draws = serde_json::from_str(&draws).map_err(StoreError::json("stored draws"))?;
    creditd_core::Record::consumed_by(&e, draws)
        .ok_or_else(|| StoreError::Corrupt(format!("usage event {} of {org_id} does not make a usage record", e.seq)))
}

fn ph(n: usize) -> String {
    format!("${n}")
}

type Param = Box<dyn ToSql + Sync + Send>;

fn bind(args: Vec<SqlValue>) -> Vec<Param> {
    args.into_iter()
        .map(|a| match a {
            SqlValue::Int(i) => Box::new(i) as Param,
            SqlValue::Text(t) => Box::new(t) as Param,
        })
        .collect()
}

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
}

/// A read-only transaction on one snapshot: a date's seq bounds and the
/// rows they bound agree; a verify's state and events; rollup rows and
/// the events past their mark.
pub(crate) async fn snapshot(
    client: &mut deadpool_postgres::Client,
) -> Result<deadpool_postgres::Transaction<'_>, StoreError> {
    client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(db)
}

/// Checks the org exists and turns the filter's dates into a seq range
/// (`created_at` never decreases along `seq` within an org): a binary
/// search of point reads on the primary key, as [`sql::seq_range`] does.
async fn history_seqs<C: GenericClient + Sync>(
    c: &C,
    org_id: &str,
    filter: &EventFilter,
) -> Result<SeqRange, StoreError> {
    let st = c.prepare_cached("SELECT seq FROM orgs WHERE org_id = $1").await.map_err(db)?;
    let row = c.query_opt(&st, &[&org_id]).await.map_err(db)?;
    let last: i64 = row.ok_or_else(|| StoreError::OrgNotFound(org_id.to_string()))?.try_get(0).map_err(db)?;
    let last = last.max(0) as u64;
    if last == 0 || (filter.date_from.is_none() && filter.date_to.is_none()) {
        return Ok(SeqRange::default());
    }
    let probe = c.prepare_cached(&sql::created_at_sql(Dialect::Postgres)).await.map_err(db)?;
    // The first seq in [lo, hi] at or after `t_us`, or hi + 1.
    let first_at_or_after = async |lo: u64, hi: u64, t_us: i64| -> Result<u64, StoreError> {
        let (mut lo, mut hi) = (lo, hi.saturating_add(1));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let seq = mid.min(i64::MAX as u64) as i64;
            let row = c.query_opt(&probe, &[&org_id, &seq]).await.map_err(db)?;
            let at: i64 = row
                .ok_or_else(|| StoreError::Corrupt(format!("org {org_id}: event seq {mid} is missing")))?
                .try_get(0)
                .map_err(db)?;
            if at >= t_us {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok(lo)
    };
    let from = match filter.date_from {
        Some(t) => Some(first_at_or_after(1, last, t.as_microsecond()).await?),
        None => None,
    };
    let to = match filter.date_to {
        Some(t) => {
            let s = first_at_or_after(from.unwrap_or(1), last, t.as_microsecond()).await?;
            // Past the last event: left to the created_at term.
            (s <= last).then_some(s)
        }
        None => None,
    };
    Ok(SeqRange { from, to })
}

/// One page of history, newest first, through the store's shared query
/// (index walks per filter, dates as seq ranges).
pub async fn events_page(
    client: &mut deadpool_postgres::Client,
    org_id: &str,
    q: &EventQuery,
) -> Result<Page, StoreError> {
    let t = snapshot(client).await?;
    let seqs = history_seqs(&t, org_id, &q.filter).await?;
    let (sql, args) = sql::history_page_query(org_id, q, seqs, Dialect::Postgres);
    let params = bind(args);
    let st = t.prepare_cached(&sql).await.map_err(db)?;
    let rows = t.query(&st, &refs(&params)).await.map_err(db)?;
    t.commit().await.map_err(db)?;
    let events = rows.iter().map(|r| to_event(r, org_id)).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(events, q))
}

/// Usage per hour of a span of at most two days (`creditd_store::hours`):
/// the span's seq range by binary search, then one grouped sum over it,
/// in one snapshot.
pub async fn usage_hours(
    client: &mut deadpool_postgres::Client,
    org_id: &str,
    q: &creditd_store::hours::HourQuery,
) -> Result<Vec<creditd_store::hours::HourRow>, StoreError> {
    let t = snapshot(client).await?;
    let seqs = history_seqs(&t, org_id, &creditd_store::hours::span_filter(q)).await?;
    let (sql, args) = creditd_store::hours::hours_sql(org_id, q, seqs, Dialect::Postgres);
    let params = bind(args);
    let st = t.prepare_cached(&sql).await.map_err(db)?;
    let rows = t.query(&st, &refs(&params)).await.map_err(db)?;
    t.commit().await.map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(creditd_store::hours::HourRow {
                hour: r.try_get(0).map_err(db)?,
                amount: creditd_core::Micros::from_micros(r.try_get(1).map_err(db)?),
                count: r.try_get(2).map_err(db)?,
            })
        })
        .collect()
}

/// Streams every matching event in `order`, in chunks through a portal
/// (a server-side cursor): memory stays flat however long the history.
/// Stops quietly when the receiver goes away.
pub async fn stream_events(
    client: &mut deadpool_postgres::Client,
    org_id: &str,
    filter: &EventFilter,
    order: Order,
    tx: &mpsc::Sender<Result<Vec<Event>, StoreError>>,
) -> Result<(), StoreError> {
    let t = snapshot(client).await?;
    let seqs = history_seqs(&t, org_id, filter).await?;
    let (sql, args) = sql::history_export_query(org_id, filter, seqs, order, Dialect::Postgres);
    let params = bind(args);
    let st = t.prepare_cached(&sql).await.map_err(db)?;
    let portal = t.bind(&st, &refs(&params)).await.map_err(db)?;
    loop {
        let rows = t.query_portal(&portal, EXPORT_CHUNK as i32).await.map_err(db)?;
        let done = rows.len() < EXPORT_CHUNK;
        if !rows.is_empty() {
            let chunk = rows.iter().map(|r| to_event(r, org_id)).collect::<Result<Vec<_>, _>>()?;
            if tx.send(Ok(chunk)).await.is_err() {
                break;
            }
        }
        if done {
            break;
        }
    }
    t.commit().await.map_err(db)
}

/// Replays an org's events in order against its stored state, in one
/// snapshot, fetching the events in chunks.
pub async fn verify(client: &mut deadpool_postgres::Client, org_id: &str) -> Result<VerifyReport, StoreError> {
    let t = snapshot(client).await?;
    let mut states = load_states(&t, &[org_id.to_string()]).await?;
    let state = states.remove(org_id).ok_or_else(|| StoreError::OrgNotFound(org_id.to_string()))?;
    let mut bad = Vec::new();
    for row in t.query("SELECT id, body FROM records WHERE org_id = $1 ORDER BY id", &[&org_id]).await.map_err(db)? {
        let (id, body): (String, String) = (row.try_get(0).map_err(db)?, row.try_get(1).map_err(db)?);
        if let Err(e) = stored::parse_record(org_id, &id, &body) {
            bad.push(stored::Unreadable { record_id: id, reason: e.to_string() });
        }
    }
    let sql = format!("SELECT {}, hash FROM events WHERE org_id = $1 ORDER BY seq ASC", sql::EVENT_COLUMNS);
    let st = t.prepare_cached(&sql).await.map_err(db)?;
    let portal = t.bind(&st, &[&org_id]).await.map_err(db)?;
    let mut v = Verifier::new();
    loop {
        let rows = t.query_portal(&portal, EXPORT_CHUNK as i32).await.map_err(db)?;
        for r in &rows {
            let hash: Option<String> = r.try_get(sql::EVENT_COLUMN_COUNT).map_err(db)?;
            v.push_chained(&to_event(r, org_id)?, hash.as_deref());
        }
        if rows.len() < EXPORT_CHUNK {
            break;
        }
    }
    t.commit().await.map_err(db)?;
    let mut report = v.finish(&state);
    stored::report_unreadable(&mut report, &bad);
    Ok(report)
}

/// Conversations grouped by day, campaign or identity.
pub async fn conversation_usage<C: GenericClient + Sync>(
    c: &C,
    org_id: &str,
    q: &ConversationQuery,
) -> Result<Vec<ConversationCount>, StoreError> {
    let (sql, args) = conversation_usage_sql(org_id, q, ph);
    let params = bind(args);
    let st = c.prepare_cached(&sql).await.map_err(db)?;
    let (_, rows) = tokio::try_join!(ensure_org(c, org_id), async { c.query(&st, &refs(&params)).await.map_err(db) })?;
    rows.iter()
        .map(|r| {
            let n: i64 = r.try_get(1).map_err(db)?;
            Ok(ConversationCount { key: r.try_get(0).map_err(db)?, conversations: n.max(0) as u64 })
        })
        .collect()
}

/// Notifications after `after_seq`, oldest first.
pub async fn notifications<C: GenericClient + Sync>(
    c: &C,
    org_id: &str,
    after_seq: u64,
    limit: u32,
) -> Result<Vec<Notification>, StoreError> {
    let st = c
        .prepare_cached("SELECT body FROM notifications WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
        .await
        .map_err(db)?;
    let after = after_seq.min(i64::MAX as u64) as i64;
    let limit = i64::from(limit);
    let (_, rows) =
        tokio::try_join!(ensure_org(c, org_id), async { c.query(&st, &[&org_id, &after, &limit]).await.map_err(db) })?;
    rows.iter()
        .map(|r| {
            let body: String = r.try_get(0).map_err(db)?;
            serde_json::from_str(&body).map_err(StoreError::json("stored notification"))
        })
        .collect()
}
