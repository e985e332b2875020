//! The engine-neutral conformance suite, run against the SQLite engine,
//! and the SQLite-only checks beside it (one test binary).

#[path = "engine/history.rs"]
mod history;

use std::sync::Arc;

use creditd_conformance::{Engine, async_trait};
use creditd_sqlite::{SqliteOptions, SqliteStore};
use creditd_store::cache::OrgCacheSize;
use creditd_store::{Clock, Store};

struct Sqlite(tempfile::TempDir);

#[async_trait]
impl Engine for Sqlite {
    async fn open(&self, clock: Arc<dyn Clock>) -> Result<Arc<dyn Store>, String> {
        let store = SqliteStore::open(self.0.path(), clock).map_err(|e| e.to_string())?;
        Ok(Arc::new(store))
    }

    async fn open_with_org_cache(&self, clock: Arc<dyn Clock>, orgs: OrgCacheSize) -> Result<Arc<dyn Store>, String> {
        let options = SqliteOptions { org_cache: orgs, ..SqliteOptions::default() };
        let store = SqliteStore::open_with_options(self.0.path(), clock, options).map_err(|e| e.to_string())?;
        Ok(Arc::new(store))
    }

    async fn raw_sql(&self, sql: &str) -> Result<bool, String> {
        let c = rusqlite::Connection::open(self.0.path().join("creditd.sqlite")).map_err(|e| e.to_string())?;
        c.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| e.to_string())?;
        c.execute_batch(sql).map_err(|e| e.to_string())?;
        Ok(true)
    }
}

async fn engine() -> Option<Box<dyn Engine>> {
    Some(Box::new(Sqlite(tempfile::tempdir().expect("temp dir"))))
}

creditd_conformance::conformance_tests!(engine());

/// A database written before price books (the schema taken back to then)
/// migrates at open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn price_books_migrate_from_previous_schema() {
    let mut ctx = creditd_conformance::Ctx::start(engine().await.expect("engine")).await;
    // Back to before price books, so also before the org tree, priced events, the plan catalogue the third rollup layout and the pools after each event that came after.
    let previous = creditd_sqlite::schema::MIGRATIONS.len() - 6;
    let downgrade = format!(
        "ALTER TABLE events DROP COLUMN plan_balance_after; ALTER TABLE events DROP COLUMN voucher_balance_after; ALTER TABLE events DROP COLUMN promotional_balance_after; ALTER TABLE usage_rollups DROP COLUMN quantity_micros; DROP TABLE plan_catalogue; ALTER TABLE events DROP COLUMN pricing; DROP INDEX orgs_parent; ALTER TABLE orgs DROP COLUMN parent_id; \
         DROP TABLE price_book_versions; PRAGMA user_version = {previous};"
    );
    creditd_conformance::cases::price_books_migrate_from_previous_schema(&mut ctx, &downgrade).await;
    ctx.finish().await;
}

/// A database written before the org tree (the schema taken back to then)
/// migrates at open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_tree_migrates_from_previous_schema() {
    let mut ctx = creditd_conformance::Ctx::start(engine().await.expect("engine")).await;
    // Back to before the org tree, so also before priced events, the plan catalogue the third rollup layout and the pools after each event that came after.
    let previous = creditd_sqlite::schema::MIGRATIONS.len() - 5;
    let downgrade = format!(
        "ALTER TABLE events DROP COLUMN plan_balance_after; ALTER TABLE events DROP COLUMN voucher_balance_after; ALTER TABLE events DROP COLUMN promotional_balance_after; ALTER TABLE usage_rollups DROP COLUMN quantity_micros; DROP TABLE plan_catalogue; ALTER TABLE events DROP COLUMN pricing; DROP INDEX orgs_parent; ALTER TABLE orgs DROP COLUMN parent_id; \
         PRAGMA user_version = {previous};"
    );
    creditd_conformance::cases::org_tree_migrates_from_previous_schema(&mut ctx, &downgrade).await;
    ctx.finish().await;
}

/// A database written before priced events (no `pricing` column) migrates
/// at open, keeps its chain, and prices from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priced_events_migrate_from_previous_schema() {
    let mut ctx = creditd_conformance::Ctx::start(engine().await.expect("engine")).await;
    let previous = creditd_sqlite::schema::MIGRATIONS.len() - 4;
    let downgrade = format!(
        "ALTER TABLE events DROP COLUMN plan_balance_after; ALTER TABLE events DROP COLUMN voucher_balance_after; ALTER TABLE events DROP COLUMN promotional_balance_after; ALTER TABLE usage_rollups DROP COLUMN quantity_micros; DROP TABLE plan_catalogue; ALTER TABLE events DROP COLUMN pricing; PRAGMA user_version = {previous};"
    );
    creditd_conformance::cases::priced_events_migrate_from_previous_schema(&mut ctx, &downgrade).await;
    ctx.finish().await;
}

/// A database written before the plan catalogue (the schema taken back to
/// then) migrates at open: the table is there and empty, the orgs intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_catalogue_migrates_from_previous_schema() {
    let mut ctx = creditd_conformance::Ctx::start(engine().await.expect("engine")).await;
    let previous = creditd_sqlite::schema::MIGRATIONS.len() - 3;
    let downgrade = format!(
        "ALTER TABLE events DROP COLUMN plan_balance_after; ALTER TABLE events DROP COLUMN voucher_balance_after; ALTER TABLE events DROP COLUMN promotional_balance_after; ALTER TABLE usage_rollups DROP COLUMN quantity_micros; DROP TABLE plan_catalogue; PRAGMA user_version = {previous};"
    );
    creditd_conformance::cases::plan_catalogue_migrates_from_previous_schema(&mut ctx, &downgrade).await;
    ctx.finish().await;
}

/// A database written before the third rollup layout (no quantities, no
/// price rows, no statement lines) is rebuilt at open by the migration's
/// backfill, priced events and statements included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollups_backfill_from_previous_schema() {
    let mut ctx = creditd_conformance::Ctx::start(engine().await.expect("engine")).await;
    let previous = creditd_sqlite::schema::MIGRATIONS.len() - 2;
    let downgrade = format!(
        "ALTER TABLE events DROP COLUMN plan_balance_after; ALTER TABLE events DROP COLUMN voucher_balance_after; ALTER TABLE events DROP COLUMN promotional_balance_after; DELETE FROM usage_rollups WHERE dim IN ('price', 'm:price', 'kind', 'm:kind'); \
         ALTER TABLE usage_rollups DROP COLUMN quantity_micros; PRAGMA user_version = {previous};"
    );
    creditd_conformance::cases::rollups_backfill_from_previous_schema(&mut ctx, &downgrade).await;
    ctx.finish().await;
}

/// A database written before the pools after each event were recorded
/// opens and migrates: its events read back without them, an as-of in that
/// past says no split, and the events written after carry it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pools_after_migrate_from_previous_schema() {
    let mut ctx = creditd_conformance::Ctx::start(engine().await.expect("engine")).await;
    let previous = creditd_sqlite::schema::MIGRATIONS.len() - 1;
    let downgrade = format!(
        "ALTER TABLE events DROP COLUMN plan_balance_after; ALTER TABLE events DROP COLUMN voucher_balance_after; ALTER TABLE events DROP COLUMN promotional_balance_after; PRAGMA user_version = {previous};"
    );
    creditd_conformance::cases::pools_after_migrate_from_previous_schema(&mut ctx, &downgrade).await;
    ctx.finish().await;
}
