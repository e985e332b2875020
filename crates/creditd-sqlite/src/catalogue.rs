//! The plan catalogue in SQLite: `plan_catalogue`, one row per plan the
//! operator offers, written in short `BEGIN IMMEDIATE` transactions on a
//! connection of its own (like price books). Rules and the row format are
//! `creditd_store::catalogue`'s.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use creditd_core::LedgerError;
use creditd_store::StoreError;
use creditd_store::catalogue::{CataloguePlan, MAX_CATALOGUE_PLANS, PlanCatalogue, check_plan_id, plan_of, row_of};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::reader::db;

/// Appended to [`crate::schema::MIGRATIONS`]. Keyed by plan, not org: the
/// catalogue is shared by every organisation.
pub const MIGRATION: &str = "
    CREATE TABLE plan_catalogue (
        plan_id    TEXT PRIMARY KEY,
        body       TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    ) WITHOUT ROWID;
";

pub struct SqlitePlanCatalogue {
    conn: Arc<Mutex<Connection>>,
}

impl SqlitePlanCatalogue {
    /// A connection of its own to an existing, migrated database.
    pub(crate) fn connect(path: &Path) -> Result<SqlitePlanCatalogue, StoreError> {
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;
        Ok(SqlitePlanCatalogue { conn: Arc::new(Mutex::new(conn)) })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || f(&mut conn.lock().unwrap_or_else(|p| p.into_inner())))
            .await
            .map_err(StoreError::backend)?
    }
}

#[async_trait]
impl PlanCatalogue for SqlitePlanCatalogue {
    async fn put(&self, plan: &CataloguePlan) -> Result<bool, StoreError> {
        plan.check()?;
        let (id, body, at) = row_of(plan)?;
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
            let exists = tx
                .query_row("SELECT 1 FROM plan_catalogue WHERE plan_id = ?1", [&id], |r| r.get::<_, i64>(0))
                .optional()
                .map_err(db)?
                .is_some();
            if !exists {
                let n: i64 = tx.query_row("SELECT count(*) FROM plan_catalogue", [], |r| r.get(0)).map_err(db)?;
                if n as usize >= MAX_CATALOGUE_PLANS {
                    return Err(StoreError::Ledger(LedgerError::Invalid(format!(
                        "the catalogue holds at most {MAX_CATALOGUE_PLANS} plans"
                    ))));
                }
            }
            tx.execute(
                "INSERT INTO plan_catalogue (plan_id, body, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (plan_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
                params![id, body, at],
            )
            .map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(!exists)
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<CataloguePlan>, StoreError> {
        check_plan_id(id)?;
        let id = id.to_string();
        self.run(move |c| {
            let row = c
                .query_row("SELECT body, updated_at FROM plan_catalogue WHERE plan_id = ?1", [&id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })
                .optional()
                .map_err(db)?;
            row.map(|(body, at)| plan_of(id, &body, at)).transpose()
        })
        .await
    }

    async fn list(&self) -> Result<Vec<CataloguePlan>, StoreError> {
        self.run(|c| {
            let mut st = c
                .prepare_cached("SELECT plan_id, body, updated_at FROM plan_catalogue ORDER BY plan_id")
                .map_err(db)?;
            let rows = st
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))
                .map_err(db)?;
            let mut out = Vec::new();
            for row in rows {
                let (id, body, at) = row.map_err(db)?;
                out.push(plan_of(id, &body, at)?);
            }
            Ok(out)
        })
        .await
    }
}
