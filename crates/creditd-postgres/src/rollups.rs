//! The usage rollups on PostgreSQL (see `creditd_store::rollup`): the
//! table's migrations and backfill, the upsert, and the reads, which add
//! the events past each org's mark (`crate::follower` writes the rows a
//! second after their events). Rows of one org are only written by a
//! transaction that holds the org's mark row lock (or the migration lock),
//! so nodes never race on them.

use std::collections::HashMap;

use creditd_core::prices::Quantity;
use creditd_core::{Micros, OrgState};
use creditd_store::StoreError;
use creditd_store::rollup::{
    BACKFILL_COLUMNS, BackfillRow, PG_UPSERT, ROLLUP_KINDS_SQL, RollupDelta, Rollups, UsageQuery, UsageRow, usage_sql,
};
use creditd_store::sql::SqlValue;
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use crate::reader::db;

/// The migration that creates the table (appended to the schema's
/// `MIGRATIONS`; [`backfill`] runs right after it).
pub const MIGRATION: &str = "
    CREATE TABLE IF NOT EXISTS usage_rollups (
        org_id        TEXT NOT NULL,
        scope         TEXT NOT NULL,
        dim           TEXT NOT NULL,
        day           TEXT NOT NULL,
        key           TEXT NOT NULL,
        name          TEXT NOT NULL,
        amount_micros BIGINT NOT NULL,
        event_count   BIGINT NOT NULL,
        PRIMARY KEY (org_id, scope, dim, day, key)
    );
    ";

/// The migration that rebuilds the table for its second layout (month
/// rows; a user's own rows by day, action and service): [`backfill`] runs
/// right after it.
pub const REBUILD: &str = "
    -- usage rollups, second layout: rebuilt from the events by the backfill
    DELETE FROM usage_rollups;
    ";

/// The migration that adds the priced quantity to every row, and the rows
/// of prices and statement lines (see `creditd_store::rollup`): [`backfill`]
/// runs after it and rebuilds every row from the events (it and [`MARKS`]
/// are the migrations that do: the earlier rollup migrations are followed
/// by them).
pub const PRICES_AND_STATEMENTS: &str = "
    -- usage rollups, third layout: quantities, prices and statement lines
    ALTER TABLE usage_rollups ADD COLUMN quantity_micros BIGINT NOT NULL DEFAULT 0;
    DELETE FROM usage_rollups;
    ";

/// Events read per backfill round trip.
const BACKFILL_CHUNK: i64 = 10_000;

/// A batch's deltas, one array per column of [`PG_UPSERT`].
pub(crate) struct Cols<'a> {
    org: Vec<&'a str>,
    scope: Vec<&'a str>,
    dim: Vec<&'static str>,
    day: Vec<String>,
    key: Vec<&'a str>,
    name: Vec<&'a str>,
    amount: Vec<i64>,
    count: Vec<i64>,
    quantity: Vec<i64>,
}

impl<'a> Cols<'a> {
    pub(crate) fn of(deltas: &'a [RollupDelta]) -> Self {
        let mut c = Cols {
            org: Vec::new(),
            scope: Vec::new(),
            dim: Vec::new(),
            day: Vec::new(),
            key: Vec::new(),
            name: Vec::new(),
            amount: Vec::new(),
            count: Vec::new(),
            quantity: Vec::new(),
        };
        for d in deltas {
            c.org.push(&d.at.org_id);
            c.scope.push(&d.at.scope);
            c.dim.push(d.at.dim_column());
            c.day.push(d.at.day_column());
            c.key.push(&d.at.key);
            c.name.push(&d.name);
            c.amount.push(d.amount.micros());
            c.count.push(d.count);
            c.quantity.push(d.quantity.micros());
        }
        c
    }

    pub(crate) fn params(&self) -> [&(dyn ToSql + Sync); 9] {
        [&self.org, &self.scope, &self.dim, &self.day, &self.key, &self.name, &self.amount, &self.count, &self.quantity]
    }
}

/// Writes deltas in one statement, inside the caller's transaction (the
/// writer sends its batch's with its other statements instead). `BIGINT` addition raises on overflow, so a sum is exact or
/// the batch fails.
pub async fn upsert(tx: &deadpool_postgres::Transaction<'_>, deltas: &[RollupDelta]) -> Result<(), StoreError> {
    if deltas.is_empty() {
        return Ok(());
    }
    let cols = Cols::of(deltas);
    let st = tx.prepare_cached(PG_UPSERT).await.map_err(db)?;
    tx.execute(&st, &cols.params()).await.map_err(db)?;
    Ok(())
}

/// The migration that moves rollup writes out of the batches (see
/// `crate::follower`): each org's mark, the last `seq` folded into its
/// rows, set to the org's last event; [`backfill`] runs after it, so the
/// rows are every event's whatever the database held.
pub const MARKS: &str = "
    -- rollup marks: how far each org's events are folded into usage_rollups
    CREATE TABLE IF NOT EXISTS rollup_marks (
        org_id TEXT PRIMARY KEY,
        seq    BIGINT NOT NULL
    );
    INSERT INTO rollup_marks (org_id, seq) SELECT org_id, seq FROM orgs ON CONFLICT (org_id) DO NOTHING;
    ";

/// The analytics read.
pub async fn usage(
    c: &mut deadpool_postgres::Client,
    org_id: &str,
    q: &UsageQuery,
) -> Result<Vec<UsageRow>, StoreError> {
    if org_id.contains('\0') || q.user_email.as_deref().is_some_and(|e| e.contains('\0')) {
        return Ok(Vec::new());
    }
    let (sql, args) = usage_sql(org_id, q, |n| format!("${n}"));
    read_rows(c, org_id, &sql, args).await
}

/// Rows of `key, name, amount, count, quantity` (`creditd_store::rollup`'s
/// readers) of `org_id`: the stored rows plus the rollups of the org's
/// events past its mark (not folded yet, `crate::follower`), both from one
/// snapshot. The events are added as rows of their own under the table's
/// name (a `WITH` of the same name), so the reader's query, the one home
/// of what a range and a grouping read, runs unchanged.
pub async fn read_rows(
    c: &mut deadpool_postgres::Client,
    org_id: &str,
    sql: &str,
    args: Vec<SqlValue>,
) -> Result<Vec<UsageRow>, StoreError> {
    let mut params: Vec<Box<dyn ToSql + Sync + Send>> = args
        .into_iter()
        .map(|a| match a {
            SqlValue::Int(i) => Box::new(i) as Box<dyn ToSql + Sync + Send>,
            SqlValue::Text(t) => Box::new(t) as Box<dyn ToSql + Sync + Send>,
        })
        .collect();
    let t = crate::reader::snapshot(c).await?;
    let ids = [org_id];
    let tail = fold_events_after(&t, &ids, &[-1], &[i64::MAX]).await?;
    let deltas = tail.checked_deltas()?;
    let with_tail;
    let sql = if deltas.is_empty() {
        sql
    } else {
        let n = params.len();
        let arrays: Vec<String> = ["text", "text", "text", "text", "text", "text", "int8", "int8", "int8"]
            .iter()
            .enumerate()
            .map(|(i, ty)| format!("${}::{ty}[]", n + 1 + i))
            .collect();
        with_tail = format!(
            "WITH usage_rollups AS NOT MATERIALIZED (\
             SELECT org_id, scope, dim, day, key, name, amount_micros, event_count, quantity_micros FROM usage_rollups \
             UNION ALL SELECT * FROM UNNEST({})) {sql}",
            arrays.join(", ")
        );
        let cols = Cols::of(&deltas);
        params.push(Box::new(cols.org.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
        params.push(Box::new(cols.scope.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
        params.push(Box::new(cols.dim.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
        params.push(Box::new(cols.day));
        params.push(Box::new(cols.key.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
        params.push(Box::new(cols.name.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
        params.push(Box::new(cols.amount));
        params.push(Box::new(cols.count));
        params.push(Box::new(cols.quantity));
        with_tail.as_str()
    };
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
    let st = t.prepare_cached(sql).await.map_err(db)?;
    let rows = t.query(&st, &refs).await.map_err(db)?;
    t.commit().await.map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(UsageRow {
                key: r.try_get(0).map_err(db)?,
                name: r.try_get(1).map_err(db)?,
                amount: Micros::from_micros(r.try_get(2).map_err(db)?),
                count: r.try_get(3).map_err(db)?,
                quantity: Quantity::from_micros(r.try_get(4).map_err(db)?),
            })
        })
        .collect()
}

/// The rollups of the events of each of `orgs` after its mark, or after
/// `after` (whichever is later), up to `upto` (inclusive), each event's day
/// taken in its org's current zone: the reads' tail and a flush's fold of
/// what it does not hold. `after: -1` means "from the mark".
pub(crate) async fn fold_events_after<C: GenericClient + Sync>(
    c: &C,
    orgs: &[&str],
    after: &[i64],
    upto: &[i64],
) -> Result<Rollups, StoreError> {
    let sql = format!(
        "SELECT {} FROM UNNEST($1::text[], $2::int8[], $3::int8[]) AS r(org_id, after, upto) \
         JOIN events e ON e.org_id = r.org_id \
         AND e.seq > GREATEST(r.after, COALESCE((SELECT m.seq FROM rollup_marks m WHERE m.org_id = r.org_id), 0)) \
         AND e.seq <= r.upto \
         WHERE e.kind IN {ROLLUP_KINDS_SQL} ORDER BY e.org_id, e.seq",
        BACKFILL_COLUMNS.split(", ").map(|c| format!("e.{c}")).collect::<Vec<_>>().join(", ")
    );
    let st = c.prepare_cached(&sql).await.map_err(db)?;
    let rows = c.query(&st, &[&orgs, &after, &upto]).await.map_err(db)?;
    let mut rollups = Rollups::new();
    if rows.is_empty() {
        return Ok(rollups);
    }
    let states = c.query(&format!("{STATES} WHERE org_id = ANY($1)"), &[&orgs]).await.map_err(db)?;
    let zones = zones(states).map_err(StoreError::Corrupt)?;
    fold_rows(&rows, &zones, &mut rollups).map_err(StoreError::Corrupt)?;
    Ok(rollups)
}

/// Each org's state, for [`zones`]; of the orgs `$1`, or of all without
/// the `WHERE`.
const STATES: &str = "SELECT org_id, state FROM orgs";

/// The zone of each org of `rows` ([`STATES`]): where its events' days are
/// taken.
fn zones(rows: Vec<tokio_postgres::Row>) -> Result<HashMap<String, jiff::tz::TimeZone>, String> {
    let pg = |e: tokio_postgres::Error| db(e).to_string();
    let mut zones = HashMap::new();
    for r in rows {
        let org: String = r.try_get(0).map_err(pg)?;
        let json: String = r.try_get(1).map_err(pg)?;
        let name = serde_json::from_str::<OrgState>(&json).map(|s| s.settings.time_zone).unwrap_or_default();
        zones.insert(org, jiff::tz::TimeZone::get(&name).unwrap_or(jiff::tz::TimeZone::UTC));
    }
    Ok(zones)
}

/// Folds rows of [`BACKFILL_COLUMNS`] into `rollups`; the last row's
/// `(org_id, seq)`.
fn fold_rows(
    rows: &[tokio_postgres::Row],
    zones: &HashMap<String, jiff::tz::TimeZone>,
    rollups: &mut Rollups,
) -> Result<Option<(String, i64)>, String> {
    let pg = |e: tokio_postgres::Error| db(e).to_string();
    let mut last = None;
    for r in rows {
        let mut texts: [Option<String>; 6] = Default::default();
        for (i, t) in texts.iter_mut().enumerate() {
            *t = r.try_get(5 + i).map_err(pg)?;
        }
        let row = BackfillRow {
            org_id: r.try_get(0).map_err(pg)?,
            seq: r.try_get(1).map_err(pg)?,
            created_at_us: r.try_get(2).map_err(pg)?,
            kind: r.try_get(3).map_err(pg)?,
            amount: r.try_get(4).map_err(pg)?,
            texts,
            status: r.try_get(11).map_err(pg)?,
            pricing: r.try_get(12).map_err(pg)?,
        };
        let parsed = row.parsed()?;
        let tz = zones.get(&row.org_id).cloned().unwrap_or(jiff::tz::TimeZone::UTC);
        rollups.add_facts(&row.facts(&parsed), &tz);
        last = Some((row.org_id, row.seq));
    }
    Ok(last)
}

/// Rebuilds the rollups from every consuming or statement-line event
/// stored (run after [`PRICES_AND_STATEMENTS`] or [`MARKS`], once, in the
/// migrations' transaction, under the migration lock). It starts from an empty table, so running it again
/// changes nothing. Each event's day is taken in its organisation's
/// current zone.
pub async fn backfill(tx: &tokio_postgres::Transaction<'_>) -> Result<(), String> {
    let pg = |e: tokio_postgres::Error| db(e).to_string();
    tx.execute("DELETE FROM usage_rollups", &[]).await.map_err(pg)?;
    let zones = zones(tx.query(STATES, &[]).await.map_err(pg)?)?;
    let sql = format!(
        "SELECT {BACKFILL_COLUMNS} FROM events WHERE kind IN {ROLLUP_KINDS_SQL} AND (org_id, seq) > ($1, $2) \
         ORDER BY org_id, seq LIMIT $3"
    );
    let st = tx.prepare(&sql).await.map_err(pg)?;
    let (mut after_org, mut after_seq) = (String::new(), -1i64);
    loop {
        let rows = tx.query(&st, &[&after_org, &after_seq, &BACKFILL_CHUNK]).await.map_err(pg)?;
        let mut rollups = Rollups::new();
        let Some(last) = fold_rows(&rows, &zones, &mut rollups)? else { break };
        (after_org, after_seq) = last;
        let deltas = rollups.checked_deltas().map_err(|e| e.to_string())?;
        tx.execute(PG_UPSERT, &Cols::of(&deltas).params()).await.map_err(|e| db(e).to_string())?;
    }
    Ok(())
}
