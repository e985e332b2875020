//! SQL both engines share: the events table's columns and the history
//! filter, written once with the engine's placeholder style.

use creditd_core::{Event, EventKind, Micros, Pool, Status};

use crate::query::{EventFilter, EventQuery, PageStart};
use crate::{StoreError, micros_ts};

/// Columns of `events` in the order [`EventRow`] reads them.
pub const EVENT_COLUMNS: &str = "seq, created_at, kind, amount, pool, status, source, service, activity, \
     project_id, project_name, user_name, user_email, description, code, hold_id, idempotency_key, \
     balance_after, prepaid_balance_after, held_after, period_usage_after, metadata, pricing, \
     plan_balance_after, voucher_balance_after, promotional_balance_after";

/// How many columns [`EVENT_COLUMNS`] names: the index of a column a query
/// selects after them (`SELECT {EVENT_COLUMNS}, hash`).
pub const EVENT_COLUMN_COUNT: usize = 26;

/// [`EVENT_COLUMNS`] with only what [`Fields::Report`](crate::Fields)
/// reads: the rest are constants (NULL, or 0 for the balances), so a row
/// has the same shape and decodes the same way.
pub const REPORT_COLUMNS: &str = "seq, created_at, kind, amount, NULL, status, NULL, NULL, NULL, \
     project_id, project_name, user_name, user_email, description, NULL, hold_id, NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL";

/// A bound value.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    /// An integer (also times in microseconds and amounts in micro-credits).
    Int(i64),
    /// A text.
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
    /// Per-org sequence number, from 1.
    pub seq: i64,
    /// When it was written, in microseconds since the epoch.
    pub created_at: i64,
    /// The kind's stable name.
    pub kind: String,
    /// The amount, in micro-credits.
    pub amount: i64,
    /// The pool's stable name, if any.
    pub pool: Option<String>,
    /// The status's stable name.
    pub status: String,
    /// The text columns from `source` to `idempotency_key`, in
    /// [`EVENT_COLUMNS`] order.
    pub texts: [Option<String>; 11],
    /// Balance after the event, in micro-credits.
    pub balance_after: i64,
    /// Prepaid balance after the event, in micro-credits.
    pub prepaid_balance_after: i64,
    /// Held amount after the event, in micro-credits.
    pub held_after: i64,
    /// The period's usage after the event, in micro-credits.
    pub period_usage_after: i64,
    /// The metadata object as JSON, if any.
    pub metadata: Option<String>,
    /// A priced event's pricing as JSON, if any.
    pub pricing: Option<String>,
    /// The plan, voucher and promotional pools after the event, in
    /// micro-credits (NULL for events written before they were recorded).
    pub pools_after: [Option<i64>; 3],
}

impl EventRow {
    /// The event of `org_id` this row stores; `Corrupt` for an unknown name
    /// or a time out of range.
    pub fn into_event(self, org_id: &str) -> Result<Event, StoreError> {
        let bad = |e: creditd_core::UnknownName| StoreError::Corrupt(format!("stored event {}: {e}", self.seq));
        let kind: EventKind = self.kind.parse().map_err(bad)?;
        let status: Status = self.status.parse().map_err(bad)?;
        let pool: Option<Pool> = match &self.pool {
            Some(p) => Some(p.parse().map_err(bad)?),
            None => None,
        };
        let metadata = match &self.metadata {
            Some(m) => Some(serde_json::from_str(m).map_err(StoreError::json("stored event metadata"))?),
            None => None,
        };
        let pricing = match &self.pricing {
            Some(p) => Some(serde_json::from_str(p).map_err(StoreError::json("stored event pricing"))?),
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
            pricing,
            pools_after: pools_of(self.pools_after),
        })
    }
}

/// The three nullable pool columns as an event's
/// [`pools_after`](Event::pools_after): all three or none.
pub fn pools_of(cols: [Option<i64>; 3]) -> Option<creditd_core::FreePools> {
    match cols {
        [Some(plan), Some(voucher), Some(promotional)] => Some(creditd_core::FreePools {
            plan: Micros::from_micros(plan),
            voucher: Micros::from_micros(voucher),
            promotional: Micros::from_micros(promotional),
        }),
        _ => None,
    }
}

/// An event's [`pools_after`](Event::pools_after) as the three nullable
/// columns store it.
pub fn pools_columns(pools: Option<creditd_core::FreePools>) -> [Option<i64>; 3] {
    match pools {
        Some(p) => [Some(p.plan.micros()), Some(p.voucher.micros()), Some(p.promotional.micros())],
        None => [None; 3],
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

// ---------------------------------------------------------------------------
// History queries that stay fast at any depth.
//
// Three facts make every page cost about what page 1 costs:
// 1. Pages after the first are asked for with a cursor (`seq < cursor`),
//    which is a seek, not a skip. `offset` paging still skips `offset` rows
//    (O(offset)); it exists because the seed API promises it.
// 2. Within an organisation `created_at` never decreases along `seq` (the
//    ledger clamps time to the last event's, and import checks it), so a date
//    range is a seq range, found by a binary search over the primary key
//    ([`first_seq_at_or_after`]): no index on `created_at`, no write cost.
// 3. The selective filters have an index ending in `seq`, so a page walks
//    that index backwards from the cursor and reads only matching rows.
//    A filter with several values on an indexed column is a UNION ALL of one
//    walk per value, each stopped after one page, merged.
//
// Filters without an index of their own (pool, service, a status list that
// includes `succeeded`) are checked row by row on the walk: cheap when many
// rows match, proportional to the rows skipped when few do.

/// How an engine writes SQL: placeholders, and whether it takes SQLite's
/// index hints (`INDEXED BY`, unary `+` to keep a term off an index).
/// PostgreSQL plans from its statistics and gets no hints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite: `?n` placeholders, index hints.
    Sqlite,
    /// PostgreSQL: `$n` placeholders, no hints.
    Postgres,
}

impl Dialect {
    /// The n-th (1-based) placeholder.
    pub fn ph(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }
}

/// Indexes of the history filters (SQLite migration 3; PostgreSQL mirrors
/// them under the same names).
pub const INDEX_KIND: &str = "events_kind";
/// The index of the project filter (org, project, seq; rows with a project only).
pub const INDEX_PROJECT: &str = "events_project";
/// The index of the user filter (org, user email, seq, kind, service).
pub const INDEX_USER: &str = "events_user";
/// Partial: only events whose status is not `succeeded` (purchases waiting
/// or failed), so it costs nothing on the common write.
pub const INDEX_UNSETTLED: &str = "events_unsettled";
/// Partial: only events of the prepaid and voucher pools (the balance-type
/// filter), so usage of plan or promotional credits costs it nothing.
pub const INDEX_POOL_PAID: &str = "events_pool_paid";
/// The partial indexes' conditions, spelled exactly as declared so either
/// planner may use them.
const UNSETTLED_TERM: &str = " AND status <> 'succeeded'";
const POOL_PAID_TERM: &str = " AND pool IN ('prepaid', 'voucher')";

/// The part of `events` a date range covers: seqs `[from, to)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeqRange {
    /// First seq in the range (inclusive); `None`: from the first event.
    pub from: Option<u64>,
    /// End of the range (exclusive); `None`: to the last event.
    pub to: Option<u64>,
}

/// The first seq in `[lo, hi]` whose event is at or after `t_us`
/// (microseconds), or `hi + 1` if none is: a binary search over the primary
/// key, `created_at(seq)` reading one event. O(log n) point reads.
pub fn first_seq_at_or_after(
    lo: u64,
    hi: u64,
    t_us: i64,
    mut created_at: impl FnMut(u64) -> Result<i64, StoreError>,
) -> Result<u64, StoreError> {
    let (mut lo, mut hi) = (lo, hi.saturating_add(1));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if created_at(mid)? >= t_us {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(lo)
}

/// The seq range of `filter`'s dates in an organisation whose last event is
/// `last_seq`. Call it in the same read snapshot as the query it bounds.
pub fn seq_range(
    last_seq: u64,
    filter: &EventFilter,
    mut created_at: impl FnMut(u64) -> Result<i64, StoreError>,
) -> Result<SeqRange, StoreError> {
    if last_seq == 0 {
        return Ok(SeqRange::default());
    }
    let from = match filter.date_from {
        Some(t) => Some(first_seq_at_or_after(1, last_seq, t.as_microsecond(), &mut created_at)?),
        None => None,
    };
    let to = match filter.date_to {
        Some(t) => {
            let s = first_seq_at_or_after(from.unwrap_or(1), last_seq, t.as_microsecond(), &mut created_at)?;
            // Past the last event: leave it to the created_at term, which
            // also holds for events written after this snapshot.
            (s <= last_seq).then_some(s)
        }
        None => None,
    };
    Ok(SeqRange { from, to })
}

/// The SQL reading one event's time, for [`first_seq_at_or_after`].
pub fn created_at_sql(d: Dialect) -> String {
    format!("SELECT created_at FROM events WHERE org_id = {} AND seq = {}", d.ph(1), d.ph(2))
}

/// Which index a history query walks.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Driver {
    /// The primary key (org_id, seq).
    Seq,
    /// An index (org_id, column, seq): one walk per value.
    Index { index: &'static str, column: &'static str, values: Vec<String> },
}

/// Picks the walk: the filter most likely to be selective that has an index.
/// Whether a page walking `index` should pick its seqs from the index
/// alone before reading any row: when the filter's other terms are all on
/// columns the index carries (`events_user` and `events_project` carry
/// kind and service), the walk skips the rows that fail them without
/// reading them, and only the page's rows are read. A user or project with
/// a rare service or kind otherwise reads thousands of rows per page.
fn walk_first(filter: &EventFilter, index: &str) -> bool {
    (index == INDEX_USER || index == INDEX_PROJECT)
        && (!filter.kinds.is_empty() || !filter.services.is_empty())
        && filter.statuses.is_empty()
        && filter.pools.is_empty()
        && filter.date_from.is_none()
        && filter.date_to.is_none()
        && (index == INDEX_USER || filter.user_email.is_none())
        && (index == INDEX_PROJECT || filter.project_id.is_none())
}

fn driver(filter: &EventFilter) -> Driver {
    use creditd_core::Status;
    let idx = |index, column, values: Vec<String>| Driver::Index { index, column, values };
    if !filter.statuses.is_empty() && !filter.statuses.contains(&Status::Succeeded) {
        return idx(INDEX_UNSETTLED, "status", filter.statuses.iter().map(|s| s.as_str().to_string()).collect());
    }
    if let Some(p) = &filter.project_id {
        return idx(INDEX_PROJECT, "project_id", vec![p.clone()]);
    }
    if let Some(u) = &filter.user_email {
        return idx(INDEX_USER, "user_email", vec![u.clone()]);
    }
    if !filter.pools.is_empty()
        && filter.pools.iter().all(|p| matches!(p, creditd_core::Pool::Prepaid | creditd_core::Pool::Voucher))
    {
        return idx(INDEX_POOL_PAID, "pool", filter.pools.iter().map(|p| p.as_str().to_string()).collect());
    }
    if !filter.kinds.is_empty() {
        return idx(INDEX_KIND, "kind", filter.kinds.iter().map(|k| k.as_str().to_string()).collect());
    }
    Driver::Seq
}

struct Builder {
    d: Dialect,
    sql: String,
    args: Vec<SqlValue>,
}

impl Builder {
    fn arg(&mut self, v: SqlValue) -> String {
        self.args.push(v);
        self.d.ph(self.args.len())
    }

    /// `column = ?` or `column IN (?, …)`; `plus` keeps SQLite off the index.
    fn any_of(&mut self, column: &str, values: &[&str], plus: bool) {
        if values.is_empty() {
            return;
        }
        self.sql.push_str(" AND ");
        if plus && self.d == Dialect::Sqlite {
            self.sql.push('+');
        }
        self.sql.push_str(column);
        if values.len() == 1 {
            let p = self.arg(SqlValue::Text(values[0].to_string()));
            self.sql.push_str(" = ");
            self.sql.push_str(&p);
        } else {
            self.sql.push_str(" IN (");
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    self.sql.push_str(", ");
                }
                let p = self.arg(SqlValue::Text(v.to_string()));
                self.sql.push_str(&p);
            }
            self.sql.push(')');
        }
    }

    fn int_term(&mut self, clause: &str, v: i64) {
        let p = self.arg(SqlValue::Int(v));
        self.sql.push_str(" AND ");
        self.sql.push_str(clause);
        self.sql.push_str(&p);
    }

    /// `FROM events [INDEXED BY …] WHERE …` for one walk: `driven` is the
    /// driver's column and value, every other filter a residual term.
    fn push_from_where(
        &mut self,
        org_id: &str,
        filter: &EventFilter,
        seqs: SeqRange,
        before: Option<u64>,
        driven: Option<(&'static str, &'static str, &str)>,
    ) {
        self.sql.push_str(" FROM events");
        if let (Some((index, _, _)), Dialect::Sqlite) = (driven, self.d) {
            self.sql.push_str(" INDEXED BY ");
            self.sql.push_str(index);
        }
        let p = self.arg(SqlValue::Text(org_id.to_string()));
        self.sql.push_str(" WHERE org_id = ");
        self.sql.push_str(&p);
        let column = driven.map(|(_, c, _)| c);
        if let Some((index, column, value)) = driven {
            self.any_of(column, &[value], false);
            match index {
                INDEX_UNSETTLED => self.sql.push_str(UNSETTLED_TERM),
                INDEX_POOL_PAID => self.sql.push_str(POOL_PAID_TERM),
                _ => {}
            }
        }
        // Residual terms; on an indexed column they carry SQLite's `+` so the
        // planner keeps to the walk chosen here.
        let strs = |v: Vec<&'static str>| v;
        if column != Some("kind") {
            self.any_of("kind", &strs(filter.kinds.iter().map(|k| k.as_str()).collect()), true);
        }
        if column != Some("status") {
            self.any_of("status", &strs(filter.statuses.iter().map(|s| s.as_str()).collect()), true);
        }
        if column != Some("pool") {
            self.any_of("pool", &strs(filter.pools.iter().map(|p| p.as_str()).collect()), true);
        }
        let services: Vec<&str> = filter.services.iter().map(String::as_str).collect();
        self.any_of("service", &services, false);
        if column != Some("project_id")
            && let Some(p) = &filter.project_id
        {
            self.any_of("project_id", &[p.as_str()], true);
        }
        if column != Some("user_email")
            && let Some(u) = &filter.user_email
        {
            self.any_of("user_email", &[u.as_str()], true);
        }
        if let Some(t) = filter.date_from {
            self.int_term("created_at >= ", t.as_microsecond());
        }
        if let Some(t) = filter.date_to {
            self.int_term("created_at < ", t.as_microsecond());
        }
        if let Some(s) = seqs.from {
            self.int_term("seq >= ", s.min(i64::MAX as u64) as i64);
        }
        let upper = match (seqs.to, before) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(s) = upper {
            self.int_term("seq < ", s.min(i64::MAX as u64) as i64);
        }
    }
}

fn clamp_i64(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

/// One page of history, newest first, one row more than the page to know
/// whether another follows. `seqs` comes from [`seq_range`].
pub fn history_page_query(org_id: &str, q: &EventQuery, seqs: SeqRange, d: Dialect) -> (String, Vec<SqlValue>) {
    let (before, offset) = match q.start {
        PageStart::Before(s) => (Some(s), 0),
        PageStart::Offset(o) => (None, o),
    };
    let want = u64::from(q.limit.get()) + 1;
    let mut b = Builder { d, sql: String::new(), args: Vec::new() };
    match driver(&q.filter) {
        Driver::Seq => {
            b.sql.push_str("SELECT ");
            b.sql.push_str(EVENT_COLUMNS);
            b.push_from_where(org_id, &q.filter, seqs, before, None);
        }
        Driver::Index { index, column, values } if values.len() == 1 && !walk_first(&q.filter, index) => {
            b.sql.push_str("SELECT ");
            b.sql.push_str(EVENT_COLUMNS);
            b.push_from_where(org_id, &q.filter, seqs, before, Some((index, column, &values[0])));
        }
        Driver::Index { index, column, values } => {
            // One walk per value, each stopped after what the page can use;
            // the walks read only seqs (from the index alone when no other
            // filter needs the row), and only the page's rows are read.
            b.sql.push_str("SELECT ");
            b.sql.push_str(EVENT_COLUMNS);
            let p = b.arg(SqlValue::Text(org_id.to_string()));
            b.sql.push_str(&format!(" FROM events WHERE org_id = {p} AND seq IN ("));
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    b.sql.push_str(" UNION ALL ");
                }
                b.sql.push_str("SELECT seq FROM (SELECT seq");
                b.push_from_where(org_id, &q.filter, seqs, before, Some((index, column, v)));
                let p = b.arg(SqlValue::Int(clamp_i64(want.saturating_add(offset))));
                b.sql.push_str(&format!(" ORDER BY seq DESC LIMIT {p}) AS walk{i}"));
            }
            let p = b.arg(SqlValue::Int(clamp_i64(want)));
            b.sql.push_str(&format!(" ORDER BY seq DESC LIMIT {p}"));
            if offset > 0 {
                let p = b.arg(SqlValue::Int(clamp_i64(offset)));
                b.sql.push_str(&format!(" OFFSET {p}"));
            }
            b.sql.push_str(") ORDER BY seq DESC");
            return (b.sql, b.args);
        }
    }
    let p = b.arg(SqlValue::Int(clamp_i64(want)));
    b.sql.push_str(" ORDER BY seq DESC LIMIT ");
    b.sql.push_str(&p);
    if offset > 0 {
        let p = b.arg(SqlValue::Int(clamp_i64(offset)));
        b.sql.push_str(" OFFSET ");
        b.sql.push_str(&p);
    }
    (b.sql, b.args)
}

/// Every matching event in `order`, for an export. A single-valued
/// indexed filter walks its index; several values walk the primary key
/// within the date's seq range (a merge of many walks would need a sort).
pub fn history_export_query(
    org_id: &str,
    filter: &EventFilter,
    seqs: SeqRange,
    order: crate::query::Order,
    d: Dialect,
) -> (String, Vec<SqlValue>) {
    history_export_fields(org_id, filter, seqs, order, d, crate::Fields::All)
}

/// [`history_export_query`] reading only `fields`.
pub fn history_export_fields(
    org_id: &str,
    filter: &EventFilter,
    seqs: SeqRange,
    order: crate::query::Order,
    d: Dialect,
    fields: crate::Fields,
) -> (String, Vec<SqlValue>) {
    let mut b = Builder { d, sql: String::from("SELECT "), args: Vec::new() };
    b.sql.push_str(match fields {
        crate::Fields::All => EVENT_COLUMNS,
        crate::Fields::Report => REPORT_COLUMNS,
    });
    match driver(filter) {
        Driver::Index { index, column, values } if values.len() == 1 => {
            b.push_from_where(org_id, filter, seqs, None, Some((index, column, &values[0])))
        }
        _ => b.push_from_where(org_id, filter, seqs, None, None),
    }
    b.sql.push_str(match order {
        crate::query::Order::NewestFirst => " ORDER BY seq DESC",
        crate::query::Order::OldestFirst => " ORDER BY seq ASC",
    });
    (b.sql, b.args)
}

#[cfg(test)]
mod column_tests {
    use super::*;

    /// The count the readers index past is the list's own length, and the
    /// report list has the same shape.
    #[test]
    fn the_column_count_is_the_lists_length() {
        assert_eq!(EVENT_COLUMNS.split(',').count(), EVENT_COLUMN_COUNT);
        assert_eq!(REPORT_COLUMNS.split(',').count(), EVENT_COLUMN_COUNT);
    }
}
