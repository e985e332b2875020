//! The usage rollups on PostgreSQL (see `creditd_store::rollup`): the
//! table's migration and backfill, the upsert each batch runs inside its
//! transaction, and the analytics read. Rows of one org are only written
//! by a batch that holds the org's row lock, so nodes never race on them.

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
/// runs right after it and rebuilds every row from the events (the only
/// migration that does: the earlier rollup migrations are followed by it).
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

/// The analytics read.
pub async fn usage<C: GenericClient + Sync>(c: &C, org_id: &str, q: &UsageQuery) -> Result<Vec<UsageRow>, StoreError> {
    if org_id.contains('\0') || q.user_email.as_deref().is_some_and(|e| e.contains('\0')) {
        return Ok(Vec::new());
    }
    let (sql, args) = usage_sql(org_id, q, |n| format!("${n}"));
    read_rows(c, &sql, args).await
}

/// Rows of `key, name, amount, count, quantity` (`creditd_store::rollup`'s
/// readers).
pub async fn read_rows<C: GenericClient + Sync>(
    c: &C,
    sql: &str,
    args: Vec<SqlValue>,
) -> Result<Vec<UsageRow>, StoreError> {
    let params: Vec<Box<dyn ToSql + Sync + Send>> = args
        .into_iter()
        .map(|a| match a {
            SqlValue::Int(i) => Box::new(i) as Box<dyn ToSql + Sync + Send>,
            SqlValue::Text(t) => Box::new(t) as Box<dyn ToSql + Sync + Send>,
        })
        .collect();
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
    let st = c.prepare_cached(sql).await.map_err(db)?;
    let rows = c.query(&st, &refs).await.map_err(db)?;
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

/// Rebuilds the rollups from every consuming or statement-line event
/// stored (run by [`PRICES_AND_STATEMENTS`], in its transaction, under the
/// migration lock). It starts from an empty table, so running it again
/// changes nothing. Each event's day is taken in its organisation's
/// current zone.
pub async fn backfill(tx: &tokio_postgres::Transaction<'_>) -> Result<(), String> {
    let pg = |e: tokio_postgres::Error| db(e).to_string();
    tx.execute("DELETE FROM usage_rollups", &[]).await.map_err(pg)?;
    let mut zones: HashMap<String, jiff::tz::TimeZone> = HashMap::new();
    for r in tx.query("SELECT org_id, state FROM orgs", &[]).await.map_err(pg)? {
        let org: String = r.try_get(0).map_err(pg)?;
        let json: String = r.try_get(1).map_err(pg)?;
        let name = serde_json::from_str::<OrgState>(&json).map(|s| s.settings.time_zone).unwrap_or_default();
        zones.insert(org, jiff::tz::TimeZone::get(&name).unwrap_or(jiff::tz::TimeZone::UTC));
    }
    let sql = format!(
        "SELECT {BACKFILL_COLUMNS} FROM events WHERE kind IN {ROLLUP_KINDS_SQL} AND (org_id, seq) > ($1, $2) \
         ORDER BY org_id, seq LIMIT $3"
    );
    let st = tx.prepare(&sql).await.map_err(pg)?;
    let (mut after_org, mut after_seq) = (String::new(), -1i64);
    loop {
        let rows = tx.query(&st, &[&after_org, &after_seq, &BACKFILL_CHUNK]).await.map_err(pg)?;
        if rows.is_empty() {
            break;
        }
        let mut rollups = Rollups::new();
        for r in &rows {
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
            (after_org, after_seq) = (row.org_id.clone(), row.seq);
            let parsed = row.parsed()?;
            let tz = zones.get(&row.org_id).cloned().unwrap_or(jiff::tz::TimeZone::UTC);
            rollups.add_facts(&row.facts(&parsed), &tz);
        }
        let deltas = rollups.checked_deltas().map_err(|e| e.to_string())?;
        tx.execute(PG_UPSERT, &Cols::of(&deltas).params()).await.map_err(|e| db(e).to_string())?;
    }
    Ok(())
}
