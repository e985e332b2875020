//! The plan catalogue in PostgreSQL: `plan_catalogue`, one row per plan the
//! operator offers, written in a short transaction of its own on a pool
//! connection (like price books). Every read reads the table, so every node
//! sees what any node wrote. Rules and the row format are
//! `creditd_store::catalogue`'s.

use async_trait::async_trait;
use creditd_core::LedgerError;
use creditd_store::StoreError;
use creditd_store::catalogue::{CataloguePlan, MAX_CATALOGUE_PLANS, PlanCatalogue, check_plan_id, plan_of, row_of};
use deadpool_postgres::Pool;

use crate::reader::db;

/// Appended to [`crate::schema::MIGRATIONS`]. Keyed by plan, not org: the
/// catalogue is shared by every organisation.
pub const MIGRATION: &str = "
    CREATE TABLE plan_catalogue (
        plan_id    TEXT PRIMARY KEY,
        body       TEXT NOT NULL,
        updated_at BIGINT NOT NULL
    );
";

pub struct PgPlanCatalogue {
    pool: Pool,
}

impl PgPlanCatalogue {
    /// The catalogue of the database behind `pool`.
    pub(crate) fn new(pool: Pool) -> PgPlanCatalogue {
        PgPlanCatalogue { pool }
    }
}

#[async_trait]
impl PlanCatalogue for PgPlanCatalogue {
    async fn put(&self, plan: &CataloguePlan) -> Result<bool, StoreError> {
        plan.check()?;
        let (id, body, at) = row_of(plan)?;
        let mut c = self.pool.get().await.map_err(StoreError::backend)?;
        let tx = c.transaction().await.map_err(db)?;
        // One writer of the catalogue at a time, so the count is exact.
        tx.execute("SELECT pg_advisory_xact_lock(hashtext('creditd plan catalogue'))", &[]).await.map_err(db)?;
        let exists =
            tx.query_opt("SELECT 1 FROM plan_catalogue WHERE plan_id = $1", &[&id]).await.map_err(db)?.is_some();
        if !exists {
            let n: i64 = tx.query_one("SELECT count(*) FROM plan_catalogue", &[]).await.map_err(db)?.get(0);
            if n as usize >= MAX_CATALOGUE_PLANS {
                return Err(StoreError::Ledger(LedgerError::Invalid(format!(
                    "the catalogue holds at most {MAX_CATALOGUE_PLANS} plans"
                ))));
            }
        }
        tx.execute(
            "INSERT INTO plan_catalogue (plan_id, body, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (plan_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
            &[&id, &body, &at],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(!exists)
    }

    async fn get(&self, id: &str) -> Result<Option<CataloguePlan>, StoreError> {
        check_plan_id(id)?;
        let c = self.pool.get().await.map_err(StoreError::backend)?;
        let row =
            c.query_opt("SELECT body, updated_at FROM plan_catalogue WHERE plan_id = $1", &[&id]).await.map_err(db)?;
        row.map(|r| plan_of(id.to_string(), r.get::<_, &str>(0), r.get(1))).transpose()
    }

    async fn list(&self) -> Result<Vec<CataloguePlan>, StoreError> {
        let c = self.pool.get().await.map_err(StoreError::backend)?;
        let rows =
            c.query("SELECT plan_id, body, updated_at FROM plan_catalogue ORDER BY plan_id", &[]).await.map_err(db)?;
        rows.iter().map(|r| plan_of(r.get(0), r.get::<_, &str>(1), r.get(2))).collect()
    }
}
