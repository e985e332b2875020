//! The usage rollups on SQLite (see `creditd_store::rollup`): the table's
//! migration, the upsert the writer runs inside each batch's transaction,
//! the analytics read, and the backfill that builds the rollups of a
//! database written before they existed.

use std::collections::HashMap;

use creditd_core::prices::Quantity;
use creditd_core::{Micros, OrgState};
use creditd_store::StoreError;
use creditd_store::rollup::{
    BACKFILL_COLUMNS, BackfillRow, ROLLUP_KINDS_SQL, RollupDelta, Rollups, SQLITE_UPSERT, UsageQuery, UsageRow,
    ZoneCache, usage_sql,
};
use creditd_store::sql::SqlValue;
use rusqlite::{Connection, params};

use crate::reader::db;

/// The migration that creates the table (see the schema's `MIGRATIONS`);
/// the CHECKs make an integer overflow (which SQLite would turn into a
/// float) fail the transaction instead of storing an inexact sum.
pub const MIGRATION: &str = "
    CREATE TABLE IF NOT EXISTS usage_rollups (
        org_id        TEXT NOT NULL,
        scope         TEXT NOT NULL,
        dim           TEXT NOT NULL,
        day           TEXT NOT NULL,
        key           TEXT NOT NULL,
        name          TEXT NOT NULL,
        amount_micros INTEGER NOT NULL CHECK (typeof(amount_micros) = 'integer'),
        event_count   INTEGER NOT NULL CHECK (typeof(event_count) = 'integer'),
        PRIMARY KEY (org_id, scope, dim, day, key)
    ) WITHOUT ROWID;
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
    ALTER TABLE usage_rollups ADD COLUMN quantity_micros INTEGER NOT NULL DEFAULT 0
        CHECK (typeof(quantity_micros) = 'integer');
    DELETE FROM usage_rollups;
    ";

/// Writes a batch's deltas, already checked (inside the batch's
/// transaction; see `creditd_store::write::Rows::rollups`).
pub fn upsert(c: &Connection, deltas: &[RollupDelta]) -> Result<(), StoreError> {
    if deltas.is_empty() {
        return Ok(());
    }
    let mut st = c.prepare_cached(SQLITE_UPSERT).map_err(db)?;
    for d in deltas {
        st.execute(params![
            d.at.org_id,
            d.at.scope,
            d.at.dim_column(),
            d.at.day_column(),
            d.at.key,
            d.name,
            d.amount.micros(),
            d.count,
            d.quantity.micros()
        ])
        .map_err(db)?;
    }
    Ok(())
}

/// The analytics read.
pub fn usage(c: &Connection, org_id: &str, q: &UsageQuery) -> Result<Vec<UsageRow>, StoreError> {
    let (sql, args) = usage_sql(org_id, q, |n| format!("?{n}"));
    read_rows(c, &sql, args)
}

/// Rows of `key, name, amount, count, quantity` (`creditd_store::rollup`'s
/// readers).
pub fn read_rows(c: &Connection, sql: &str, args: Vec<SqlValue>) -> Result<Vec<UsageRow>, StoreError> {
    let args: Vec<rusqlite::types::Value> = args
        .into_iter()
        .map(|a| match a {
            SqlValue::Int(i) => rusqlite::types::Value::Integer(i),
            SqlValue::Text(t) => rusqlite::types::Value::Text(t),
        })
        .collect();
    let mut st = c.prepare_cached(sql).map_err(db)?;
    let rows = st
        .query_map(rusqlite::params_from_iter(args), |r| {
            Ok(UsageRow {
                key: r.get(0)?,
                name: r.get(1)?,
                amount: Micros::from_micros(r.get(2)?),
                count: r.get(3)?,
                quantity: Quantity::from_micros(r.get(4)?),
            })
        })
        .map_err(db)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db)
}

/// Rebuilds the rollups from every consuming or statement-line event
/// stored (run by [`PRICES_AND_STATEMENTS`], inside its transaction, so a
/// database written before them gets every row, priced ones included). It starts from an
/// empty table, so running it again changes nothing. Each event's day is
/// taken in its organisation's current zone.
pub fn backfill(c: &Connection) -> rusqlite::Result<()> {
    c.execute("DELETE FROM usage_rollups", [])?;
    let mut zones = ZoneCache::default();
    let mut tz_names: HashMap<String, String> = HashMap::new();
    {
        let mut st = c.prepare("SELECT org_id, state FROM orgs")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let org: String = r.get(0)?;
            let json: String = r.get(1)?;
            let zone = serde_json::from_str::<OrgState>(&json).map(|s| s.settings.time_zone).unwrap_or_default();
            tz_names.insert(org, zone);
        }
    }
    let sql = format!("SELECT {BACKFILL_COLUMNS} FROM events WHERE kind IN {ROLLUP_KINDS_SQL} ORDER BY org_id, seq");
    let mut st = c.prepare(&sql)?;
    let mut rows = st.query([])?;
    let mut rollups = Rollups::new();
    let bad = |what: String| rusqlite::Error::ToSqlConversionFailure(what.into());
    while let Some(r) = rows.next()? {
        let row = BackfillRow {
            org_id: r.get(0)?,
            seq: r.get(1)?,
            created_at_us: r.get(2)?,
            kind: r.get(3)?,
            amount: r.get(4)?,
            texts: [r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?],
            status: r.get(11)?,
            pricing: r.get(12)?,
        };
        let parsed = row.parsed().map_err(bad)?;
        let tz = zones.get(&row.org_id, tz_names.get(&row.org_id).map_or("UTC", String::as_str));
        rollups.add_facts(&row.facts(&parsed), &tz);
    }
    rollups.checked_deltas().and_then(|d| upsert(c, &d)).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use creditd_core::{CreditKind, CreditOp, EventCtx, Op, OrgSettings};
    use creditd_store::{Command, ManualClock, Store};
    use jiff::SignedDuration;

    use super::*;
    use crate::SqliteStore;

    type Row = (String, String, String, String, String, String, i64, i64, i64);

    fn rows(c: &Connection) -> Vec<Row> {
        let mut st = c.prepare("SELECT * FROM usage_rollups ORDER BY org_id, scope, dim, day, key").unwrap();
        st.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    /// The migration's backfill rebuilds exactly the rows the writer kept
    /// batch by batch (across the night the clocks change in Madrid).
    #[tokio::test]
    async fn backfill_rebuilds_what_the_writer_kept() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new("2026-03-28T18:00:00Z".parse().unwrap()));
        let store = SqliteStore::open(dir.path(), clock.clone()).unwrap();
        store.create_org("o", OrgSettings::new("O", "Europe/Madrid")).await.unwrap();
        let grant = CreditOp {
            kind: CreditKind::Grant,
            amount: Micros::from_micros(1_000_000_000),
            pool: None,
            expires_at: None,
            code: None,
            status: None,
            ctx: EventCtx::default(),
        };
        creditd_store::execute_one(&store, Command::new("o", Op::Credit(grant), None)).await.unwrap();
        for i in 0..40i64 {
            clock.advance(SignedDuration::from_mins(47));
            let ctx = |name: &str| EventCtx {
                activity: Some(["Scrape", "Enrich"][(i % 2) as usize].into()),
                user_name: Some(name.into()),
                user_email: Some(["a@x.example", "b@x.example"][(i % 3 % 2) as usize].into()),
                project_id: (i % 4 != 0).then(|| format!("p{}", i % 3)),
                ..EventCtx::default()
            };
            // A user renamed half-way: the latest name wins in both.
            let name = if i < 20 { "Ann" } else { "Ann Lee" };
            let ops = vec![
                Op::Usage { amount: Micros::from_micros(1_250_000 + i), ctx: ctx(name) },
                Op::Usage { amount: Micros::from_micros(2_000_000), ctx: ctx(name) },
            ];
            let out = store.execute(ops.into_iter().map(|op| Command::new("o", op, None)).collect()).await;
            if i % 7 == 0 {
                let id = out[0].as_ref().unwrap().record.as_ref().unwrap().id.clone();
                let refund = Op::Refund { refers_to: id, amount: None, ctx: EventCtx::default() };
                creditd_store::execute_one(&store, Command::new("o", refund, None)).await.unwrap();
            }
        }
        store.shutdown().await;
        drop(store);
        let c = Connection::open(dir.path().join("creditd.sqlite")).unwrap();
        let kept = rows(&c);
        assert!(kept.len() > 40, "{} rows", kept.len());
        assert!(kept.iter().any(|r| r.3 == "2026-03-29") && kept.iter().any(|r| r.3 == "2026-03-30"));
        backfill(&c).unwrap();
        assert_eq!(rows(&c), kept);
        backfill(&c).unwrap();
        assert_eq!(rows(&c), kept, "running it again changes nothing");
    }
}
