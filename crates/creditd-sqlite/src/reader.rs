//! Read-only connections: history pages, exports, balances, verify.

use std::path::PathBuf;
use std::sync::Mutex;

use creditd_core::verify::{Verifier, VerifyReport};
use std::ops::ControlFlow;

use creditd_core::{Event, EventKind, EventRef, MetadataRef, Micros, Notification, OrgState, Pool, Record, Status};
use creditd_store::conversations::{ConversationCount, ConversationQuery, conversation_usage_sql};
use creditd_store::query::{EventFilter, EventQuery, Order, Page};
use creditd_store::sql::{self, Dialect, EventRow, SeqRange, SqlValue};
use creditd_store::stored::{self, Unreadable};
use creditd_store::{EXPORT_CHUNK, Formatted, RowFormatter, StoreError, micros_ts};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc;

/// Idle connections kept for reuse.
const MAX_IDLE: usize = 16;
/// Page cache of a read connection (negative: KiB).
const READ_CACHE_KIB: i64 = -32768;
/// Page cache while it streams an export.
const EXPORT_CACHE_KIB: i64 = -2048;

/// Most of the database a read connection maps into memory: a page's
/// random row reads (a deep page of one user's events) become memory reads
/// instead of a system call per page.
const READ_MMAP_BYTES: i64 = 1 << 40;

/// A connection about to stream an export reads each page once: a small
/// page cache and no memory map (mapped pages would count as the export's
/// memory, up to the whole file). `false` sets it back for pages.
fn export_mode(c: &Connection, on: bool) -> Result<(), StoreError> {
    let (cache, mmap) = if on { (EXPORT_CACHE_KIB, 0) } else { (READ_CACHE_KIB, READ_MMAP_BYTES) };
    c.pragma_update(None, "cache_size", cache).map_err(db)?;
    c.pragma_update(None, "mmap_size", mmap).map_err(db)
}

pub struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    pub fn new(path: PathBuf) -> Self {
        ReadPool { path, idle: Mutex::new(Vec::new()) }
    }

    pub fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let conn = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match conn {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(StoreError::backend)?;
                c.busy_timeout(std::time::Duration::from_secs(5)).map_err(StoreError::backend)?;
                c.pragma_update(None, "cache_size", READ_CACHE_KIB).map_err(StoreError::backend)?;
                c.pragma_update(None, "mmap_size", READ_MMAP_BYTES).map_err(StoreError::backend)?;
                c
            }
        };
        let out = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        out
    }
}

pub fn db(e: rusqlite::Error) -> StoreError {
    StoreError::backend(e)
}

pub fn load_state(c: &Connection, org_id: &str) -> Result<OrgState, StoreError> {
    let json: Option<String> = c
        .prepare_cached("SELECT state FROM orgs WHERE org_id = ?1")
        .map_err(db)?
        .query_row([org_id], |r| r.get(0))
        .optional()
        .map_err(db)?;
    let json = json.ok_or_else(|| StoreError::OrgNotFound(org_id.to_string()))?;
    stored::parse_state(org_id, &json)
}

pub fn load_record(c: &Connection, org_id: &str, id: &str) -> Result<Option<Record>, StoreError> {
    let body: Option<String> = c
        .prepare_cached("SELECT body FROM records WHERE org_id = ?1 AND id = ?2")
        .map_err(db)?
        .query_row([org_id, id], |r| r.get(0))
        .optional()
        .map_err(db)?;
    match body {
        Some(b) => stored::parse_record(org_id, id, &b).map(Some),
        None => usage_record(c, org_id, id),
    }
}

/// A usage record never refunded has no record row: it is its usage event
/// (seq N for `use_N`) plus the draws kept on that row.
fn usage_record(c: &Connection, org_id: &str, id: &str) -> Result<Option<Record>, StoreError> {
    let Some(seq) = id.strip_prefix("use_").and_then(|n| n.parse::<i64>().ok()) else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {}, draws FROM events WHERE org_id = ?1 AND seq = ?2 AND hold_id = ?3 AND kind = 'usage' \
         AND draws IS NOT NULL",
        sql::EVENT_COLUMNS
    );
    let mut st = c.prepare_cached(&sql).map_err(db)?;
    let row = st
        .query_row(params![org_id, seq, id], |r| Ok((read_row(r)?, r.get::<_, String>(sql::EVENT_COLUMN_COUNT)?)))
        .optional()
        .map_err(db)?;
    let Some((row, draws)) = row else { return Ok(None) };
    let e = row.into_event(org_id)?;
    let draws = serde_json::from_str(&draws).map_err(StoreError::json("stored draws"))?;
    Record::consumed_by(&e, draws)
        .map(Some)
        .ok_or_else(|| StoreError::Corrupt(format!("usage event {seq} of {org_id} does not make a usage record")))
}

/// Adds the org's open holds and processing purchases to `state`; returns
/// the ones that cannot be read (left out, see `creditd_store::stored`).
pub fn load_pending_records(c: &Connection, state: &mut OrgState) -> Result<Vec<Unreadable>, StoreError> {
    let mut st = c
        .prepare_cached("SELECT id, body FROM records WHERE org_id = ?1 AND status IN ('open', 'processing')")
        .map_err(db)?;
    let rows = st.query_map([&state.org_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(db)?;
    stored::add_pending_records(state, rows).map_err(db)
}

/// Every record of the org whose body cannot be read, settled or not.
fn unreadable_records(c: &Connection, org_id: &str) -> Result<Vec<Unreadable>, StoreError> {
    let mut st = c.prepare("SELECT id, body FROM records WHERE org_id = ?1 ORDER BY id").map_err(db)?;
    let mut rows = st.query([org_id]).map_err(db)?;
    let mut bad = Vec::new();
    while let Some(r) = rows.next().map_err(db)? {
        let (id, body): (String, String) = (r.get(0).map_err(db)?, r.get(1).map_err(db)?);
        if let Err(e) = stored::parse_record(org_id, &id, &body) {
            bad.push(Unreadable { record_id: id, reason: e.to_string() });
        }
    }
    Ok(bad)
}

/// The parent of `org_id` (`orgs.parent_id`); `OrgNotFound` if there is no
/// such org.
pub fn parent_of(c: &Connection, org_id: &str) -> Result<Option<String>, StoreError> {
    c.prepare_cached("SELECT parent_id FROM orgs WHERE org_id = ?1")
        .map_err(db)?
        .query_row([org_id], |r| r.get::<_, Option<String>>(0))
        .optional()
        .map_err(db)?
        .ok_or_else(|| StoreError::OrgNotFound(org_id.to_string()))
}

/// The direct children of each of `org_ids`, in id order.
pub fn children(c: &Connection, org_ids: &[String]) -> Result<Vec<String>, StoreError> {
    let mut st = c.prepare_cached(creditd_store::tree::CHILDREN_SQL_SQLITE).map_err(db)?;
    let mut out = Vec::new();
    for id in org_ids {
        let ids = st.query_map([id], |r| r.get(0)).map_err(db)?.collect::<Result<Vec<String>, _>>().map_err(db)?;
        out.extend(ids);
    }
    out.sort();
    Ok(out)
}

pub fn org_ids(c: &Connection) -> Result<Vec<String>, StoreError> {
    let mut st = c.prepare_cached("SELECT org_id FROM orgs ORDER BY org_id").map_err(db)?;
    let ids = st.query_map([], |r| r.get(0)).map_err(db)?.collect::<Result<Vec<String>, _>>().map_err(db)?;
    Ok(ids)
}

pub(crate) fn read_row(r: &Row<'_>) -> rusqlite::Result<EventRow> {
    let mut texts: [Option<String>; 11] = Default::default();
    for (i, t) in texts.iter_mut().enumerate() {
        *t = r.get(6 + i)?;
    }
    Ok(EventRow {
        seq: r.get(0)?,
        created_at: r.get(1)?,
        kind: r.get(2)?,
        amount: r.get(3)?,
        pool: r.get(4)?,
        status: r.get(5)?,
        texts,
        balance_after: r.get(17)?,
        prepaid_balance_after: r.get(18)?,
        held_after: r.get(19)?,
        period_usage_after: r.get(20)?,
        metadata: r.get(21)?,
        pricing: r.get(22)?,
        pools_after: [r.get(23)?, r.get(24)?, r.get(25)?],
    })
}

fn bind(args: &[SqlValue]) -> Vec<rusqlite::types::Value> {
    args.iter()
        .map(|a| match a {
            SqlValue::Int(i) => rusqlite::types::Value::Integer(*i),
            SqlValue::Text(t) => rusqlite::types::Value::Text(t.clone()),
        })
        .collect()
}

fn ph(n: usize) -> String {
    format!("?{n}")
}

fn ensure_org(c: &Connection, org_id: &str) -> Result<(), StoreError> {
    let found: Option<i64> = c
        .prepare_cached("SELECT 1 FROM orgs WHERE org_id = ?1")
        .map_err(db)?
        .query_row([org_id], |r| r.get(0))
        .optional()
        .map_err(db)?;
    found.map(|_| ()).ok_or_else(|| StoreError::OrgNotFound(org_id.to_string()))
}

pub fn events_page(c: &Connection, org_id: &str, q: &EventQuery) -> Result<Page, StoreError> {
    // One read snapshot: the date's seq bounds and the page agree.
    snapshot(c, || {
        let seqs = history_seqs(c, org_id, &q.filter)?;
        let (sql, args) = sql::history_page_query(org_id, q, seqs, Dialect::Sqlite);
        let mut st = c.prepare_cached(&sql).map_err(db)?;
        let rows = st.query_map(rusqlite::params_from_iter(bind(&args)), read_row).map_err(db)?;
        let mut events = Vec::with_capacity(q.limit.get() as usize + 1);
        for row in rows {
            events.push(row.map_err(db)?.into_event(org_id)?);
        }
        Ok(Page::from_rows(events, q))
    })
}

/// Runs `f` in one read transaction (one snapshot of the database).
fn snapshot<T>(c: &Connection, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
    c.execute_batch("BEGIN").map_err(db)?;
    let out = f();
    let end = c.execute_batch(if out.is_ok() { "COMMIT" } else { "ROLLBACK" }).map_err(db);
    let out = out?;
    end?;
    Ok(out)
}

/// Checks the org exists and turns the filter's dates into a seq range.
fn history_seqs(c: &Connection, org_id: &str, filter: &EventFilter) -> Result<SeqRange, StoreError> {
    let last = last_seq(c, org_id)?;
    if filter.date_from.is_none() && filter.date_to.is_none() {
        return Ok(SeqRange::default());
    }
    let mut probe = c.prepare_cached(&sql::created_at_sql(Dialect::Sqlite)).map_err(db)?;
    sql::seq_range(last, filter, |seq| {
        probe
            .query_row(params![org_id, seq as i64], |r| r.get::<_, i64>(0))
            .optional()
            .map_err(db)?
            .ok_or_else(|| StoreError::Corrupt(format!("org {org_id}: event seq {seq} is missing")))
    })
}

/// Usage per hour of a span of at most two days (`creditd_store::hours`):
/// the span's seq range by binary search, then one grouped sum over it,
/// in one snapshot.
pub fn usage_hours(
    c: &Connection,
    org_id: &str,
    q: &creditd_store::hours::HourQuery,
) -> Result<Vec<creditd_store::hours::HourRow>, StoreError> {
    snapshot(c, || {
        let seqs = history_seqs(c, org_id, &creditd_store::hours::span_filter(q))?;
        let (sql, args) = creditd_store::hours::hours_sql(org_id, q, seqs, Dialect::Sqlite);
        let mut st = c.prepare_cached(&sql).map_err(db)?;
        let rows = st
            .query_map(rusqlite::params_from_iter(bind(&args)), |r| {
                Ok(creditd_store::hours::HourRow {
                    hour: r.get(0)?,
                    amount: Micros::from_micros(r.get(1)?),
                    count: r.get(2)?,
                })
            })
            .map_err(db)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db)
    })
}

/// Streams every matching event in `order`, in chunks. Stops quietly when
/// the receiver goes away (a client that hung up).
pub fn stream_events(
    c: &Connection,
    org_id: &str,
    filter: &EventFilter,
    order: Order,
    tx: &mpsc::Sender<Result<Vec<Event>, StoreError>>,
) -> Result<(), StoreError> {
    // A scan reads each page once: a big page cache would only hold memory.
    export_mode(c, true)?;
    let out = snapshot(c, || {
        let seqs = history_seqs(c, org_id, filter)?;
        let (sql, args) = sql::history_export_query(org_id, filter, seqs, order, Dialect::Sqlite);
        let mut st = c.prepare(&sql).map_err(db)?;
        let mut rows = st.query(rusqlite::params_from_iter(bind(&args))).map_err(db)?;
        let mut chunk = Vec::with_capacity(EXPORT_CHUNK);
        while let Some(r) = rows.next().map_err(db)? {
            chunk.push(read_row(r).map_err(db)?.into_event(org_id)?);
            if chunk.len() == EXPORT_CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(EXPORT_CHUNK));
                if tx.blocking_send(Ok(full)).is_err() {
                    return Ok(());
                }
            }
        }
        if !chunk.is_empty() {
            let _ = tx.blocking_send(Ok(chunk));
        }
        Ok(())
    });
    export_mode(c, false)?;
    out
}

/// Hands every matching event in `order` to `sink` as a row borrowed from
/// SQLite, in one read snapshot: no `Event`, no `String` per row (see
/// `creditd_core::view`). Returns the rows handed over; stops early when the
/// sink says so. Every error before the first row leaves the sink untouched.
pub fn stream_rows(
    c: &Connection,
    org_id: &str,
    filter: &EventFilter,
    order: Order,
    sink: &mut dyn FnMut(&EventRef<'_>) -> ControlFlow<()>,
) -> Result<u64, StoreError> {
    export_mode(c, true)?;
    let out = snapshot(c, || {
        let seqs = history_seqs(c, org_id, filter)?;
        let (sql, args) = sql::history_export_query(org_id, filter, seqs, order, Dialect::Sqlite);
        let mut st = c.prepare(&sql).map_err(db)?;
        let mut rows = st.query(rusqlite::params_from_iter(bind(&args))).map_err(db)?;
        let mut n = 0;
        while let Some(r) = rows.next().map_err(db)? {
            n += 1;
            if sink(&row_ref(r)?).is_break() {
                break;
            }
        }
        Ok(n)
    });
    export_mode(c, false)?;
    out
}

/// Seqs one export worker reads at a time: at most this many rows, so a
/// chunk's bytes stay a few MiB.
const CHUNK_SEQS: u64 = creditd_store::FORMAT_CHUNK_ROWS;

/// [`Store::export_formatted`](creditd_store::Store::export_formatted) on
/// `workers` threads, each with a read connection of its own: the seqs that
/// match are fixed first (the org's last seq, the date range), cut into
/// ranges of [`CHUNK_SEQS`], and worker `w` formats ranges `w`, `w +
/// workers`, …; the calling thread hands the chunks to `emit` in order. At
/// most two chunks per worker wait, so memory stays flat. Events are never
/// changed once written, so the ranges are one snapshot though each is a
/// read of its own.
pub fn export_formatted(
    pool: &ReadPool,
    workers: usize,
    org_id: &str,
    filter: &EventFilter,
    order: Order,
    make: &(dyn Fn() -> Box<dyn RowFormatter> + Sync),
    emit: &mut dyn FnMut(Formatted) -> ControlFlow<()>,
) -> Result<u64, StoreError> {
    let (lo, hi) = pool.with(|c| {
        snapshot(c, || {
            let last = last_seq(c, org_id)?;
            let seqs = history_seqs(c, org_id, filter)?;
            Ok((seqs.from.unwrap_or(1).max(1), seqs.to.unwrap_or(last + 1).min(last + 1)))
        })
    })?;
    if lo >= hi {
        return Ok(0);
    }
    let chunks = (hi - lo).div_ceil(CHUNK_SEQS);
    let range = |i: u64| match order {
        Order::NewestFirst => {
            let top = hi - i * CHUNK_SEQS;
            SeqRange { from: Some(top.saturating_sub(CHUNK_SEQS).max(lo)), to: Some(top) }
        }
        Order::OldestFirst => {
            let bottom = lo + i * CHUNK_SEQS;
            SeqRange { from: Some(bottom), to: Some((bottom + CHUNK_SEQS).min(hi)) }
        }
    };
    let workers = workers.clamp(1, chunks.min(64) as usize);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let mut queues = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Formatted, StoreError>>(1);
            queues.push(rx);
            let (stop, range) = (&stop, &range);
            std::thread::Builder::new()
                .name(format!("creditd-export-{w}"))
                .spawn_scoped(s, move || {
                    let mut f = make();
                    let _ = pool.with(|c| {
                        export_mode(c, true)?;
                        let mut i = w as u64;
                        while i < chunks && !stop.load(Ordering::Relaxed) {
                            let chunk = format_chunk(c, org_id, filter, order, range(i), f.as_mut());
                            let failed = chunk.is_err();
                            if tx.send(chunk).is_err() || failed {
                                break;
                            }
                            i += workers as u64;
                        }
                        export_mode(c, false)
                    });
                })
                .map_err(StoreError::backend)?;
        }
        let mut rows = 0;
        let mut out = Ok(());
        for i in 0..chunks {
            match queues[(i % workers as u64) as usize].recv() {
                Ok(Ok(chunk)) => {
                    rows += chunk.rows;
                    if chunk.rows > 0 && emit(chunk).is_break() {
                        break;
                    }
                }
                Ok(Err(e)) => {
                    out = Err(e);
                    break;
                }
                Err(_) => {
                    out = Err(StoreError::Stopped("an export worker stopped early".into()));
                    break;
                }
            }
        }
        // Workers waiting to hand over a chunk see the queue gone and stop.
        stop.store(true, Ordering::Relaxed);
        drop(queues);
        out.map(|()| rows)
    })
}

/// Threads an export formats on: one per core, at most four (past that
/// the single thread that sends the bytes is the bound).
pub fn export_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).min(4)
}

/// One seq range of an export, formatted.
fn format_chunk(
    c: &Connection,
    org_id: &str,
    filter: &EventFilter,
    order: Order,
    seqs: SeqRange,
    f: &mut dyn RowFormatter,
) -> Result<Formatted, StoreError> {
    let (sql, args) = sql::history_export_fields(org_id, filter, seqs, order, Dialect::Sqlite, f.fields());
    let mut st = c.prepare_cached(&sql).map_err(db)?;
    let mut rows = st.query(rusqlite::params_from_iter(bind(&args))).map_err(db)?;
    let mut n = 0;
    while let Some(r) = rows.next().map_err(db)? {
        f.push(&row_ref(r)?)?;
        n += 1;
    }
    Ok(Formatted { bytes: f.take()?, rows: n })
}

/// The org's last seq (every event up to it is committed).
fn last_seq(c: &Connection, org_id: &str) -> Result<u64, StoreError> {
    let last: Option<i64> = c
        .prepare_cached("SELECT seq FROM orgs WHERE org_id = ?1")
        .map_err(db)?
        .query_row([org_id], |r| r.get(0))
        .optional()
        .map_err(db)?;
    Ok(last.ok_or_else(|| StoreError::OrgNotFound(org_id.to_string()))?.max(0) as u64)
}

/// One `EVENT_COLUMNS` row as an [`EventRef`] over SQLite's own buffers.
fn row_ref<'r>(r: &'r Row<'_>) -> Result<EventRef<'r>, StoreError> {
    let int = |i: usize| -> Result<i64, StoreError> { r.get_ref(i).and_then(|v| Ok(v.as_i64()?)).map_err(db) };
    let seq = int(0)?;
    let bad = |what: &str| StoreError::Corrupt(format!("stored event {seq}: {what}"));
    let text = |i: usize| -> Result<Option<&'r str>, StoreError> {
        match r.get_ref(i).map_err(db)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(b) => std::str::from_utf8(b).map(Some).map_err(|e| bad(&e.to_string())),
            other => Err(bad(&format!("column {i} holds {:?}, not text", other.data_type()))),
        }
    };
    let name = |i: usize| text(i)?.ok_or_else(|| bad(&format!("column {i} is NULL")));
    let parse_err = |e: creditd_core::UnknownName| bad(&e.to_string());
    Ok(EventRef {
        id: None,
        seq: seq as u64,
        created_at: micros_ts(int(1)?)?,
        kind: name(2)?.parse::<EventKind>().map_err(parse_err)?,
        amount: Micros::from_micros(int(3)?),
        pool: text(4)?.map(|p| p.parse::<Pool>()).transpose().map_err(parse_err)?,
        status: name(5)?.parse::<Status>().map_err(parse_err)?,
        source: text(6)?,
        service: text(7)?,
        activity: text(8)?,
        project_id: text(9)?,
        project_name: text(10)?,
        user_name: text(11)?,
        user_email: text(12)?,
        description: text(13)?,
        code: text(14)?,
        hold_id: text(15)?,
        idempotency_key: text(16)?,
        balance_after: Micros::from_micros(int(17)?),
        prepaid_balance_after: Micros::from_micros(int(18)?),
        held_after: Micros::from_micros(int(19)?),
        period_usage_after: Micros::from_micros(int(20)?),
        metadata: text(21)?.map(MetadataRef::Json),
        pricing: text(22)?.map(creditd_core::PricingRef::Json),
        pools_after: {
            let opt = |i: usize| r.get::<_, Option<i64>>(i).map_err(db);
            creditd_store::sql::pools_of([opt(23)?, opt(24)?, opt(25)?])
        },
    })
}

/// Replays an org's events in order and compares them with its stored state.
pub fn verify(c: &Connection, org_id: &str) -> Result<VerifyReport, StoreError> {
    // One read transaction: the state and the events are the same snapshot.
    c.execute_batch("BEGIN").map_err(db)?;
    let result = (|| {
        let mut state = load_state(c, org_id)?;
        load_pending_records(c, &mut state)?;
        let bad = unreadable_records(c, org_id)?;
        let mut v = Verifier::new();
        let sql = format!("SELECT {}, hash FROM events WHERE org_id = ?1 ORDER BY seq ASC", sql::EVENT_COLUMNS);
        let mut st = c.prepare(&sql).map_err(db)?;
        let mut rows = st.query(params![org_id]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let hash: Option<String> = r.get(sql::EVENT_COLUMN_COUNT).map_err(db)?;
            v.push_chained(&read_row(r).map_err(db)?.into_event(org_id)?, hash.as_deref());
        }
        let mut report = v.finish(&state);
        stored::report_unreadable(&mut report, &bad);
        Ok(report)
    })();
    c.execute_batch("COMMIT").map_err(db)?;
    result
}

/// Conversations grouped by day, campaign or identity.
pub fn conversation_usage(
    c: &Connection,
    org_id: &str,
    q: &ConversationQuery,
) -> Result<Vec<ConversationCount>, StoreError> {
    ensure_org(c, org_id)?;
    let (sql, args) = conversation_usage_sql(org_id, q, ph);
    let mut st = c.prepare_cached(&sql).map_err(db)?;
    let rows = st
        .query_map(rusqlite::params_from_iter(bind(&args)), |r| {
            Ok(ConversationCount { key: r.get(0)?, conversations: r.get::<_, i64>(1)?.max(0) as u64 })
        })
        .map_err(db)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db)
}

/// Notifications after `after_seq`, oldest first.
pub fn notifications(
    c: &Connection,
    org_id: &str,
    after_seq: u64,
    limit: u32,
) -> Result<Vec<Notification>, StoreError> {
    ensure_org(c, org_id)?;
    let mut st = c
        .prepare_cached("SELECT body FROM notifications WHERE org_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3")
        .map_err(db)?;
    let rows = st
        .query_map(params![org_id, after_seq.min(i64::MAX as u64) as i64, i64::from(limit)], |r| r.get::<_, String>(0))
        .map_err(db)?;
    let mut out = Vec::new();
    for body in rows {
        out.push(serde_json::from_str(&body.map_err(db)?).map_err(StoreError::json("stored notification"))?);
    }
    Ok(out)
}
