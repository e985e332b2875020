//! Schema and migrations, applied at start in order under an advisory lock so
//! nodes starting together do not race; `schema_version` records how far a
//! database has come.
//!
//! The layout is the SQLite engine's: every table's primary key starts with
//! `org_id` and every query names one org (or a set of orgs), so the tables
//! can be distributed by `org_id` (one shard holds all of an org's rows).

use tokio_postgres::Client;

/// Key of the advisory lock held while migrating ("creditd" in ASCII).
const MIGRATION_LOCK: i64 = 0x0063_7265_6469_7464;

pub const MIGRATIONS: &[&str] = &[
    // 1: the ledger.
    "
    CREATE TABLE orgs (
        org_id      TEXT PRIMARY KEY,
        created_at  BIGINT NOT NULL,
        seq         BIGINT NOT NULL,
        next_expiry BIGINT,
        state       TEXT NOT NULL,
        -- Bumped on every write of the row: a node's cached state is current
        -- only while this is what it last saw (some writes add no event).
        version     BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX orgs_next_expiry ON orgs (next_expiry) WHERE next_expiry IS NOT NULL;

    CREATE TABLE events (
        org_id                TEXT NOT NULL,
        seq                   BIGINT NOT NULL,
        created_at            BIGINT NOT NULL,
        kind                  TEXT NOT NULL,
        amount                BIGINT NOT NULL,
        pool                  TEXT,
        status                TEXT NOT NULL,
        source                TEXT,
        service               TEXT,
        activity              TEXT,
        project_id            TEXT,
        project_name          TEXT,
        user_name             TEXT,
        user_email            TEXT,
        description           TEXT,
        code                  TEXT,
        hold_id               TEXT,
        idempotency_key       TEXT,
        balance_after         BIGINT NOT NULL,
        prepaid_balance_after BIGINT NOT NULL,
        held_after            BIGINT NOT NULL,
        period_usage_after    BIGINT NOT NULL,
        metadata              TEXT,
        PRIMARY KEY (org_id, seq)
    );

    CREATE TABLE records (
        org_id     TEXT NOT NULL,
        id         TEXT NOT NULL,
        status     TEXT NOT NULL,
        expires_at BIGINT,
        body       TEXT NOT NULL,
        PRIMARY KEY (org_id, id)
    );
    -- Pending holds and purchases, loaded with their org.
    CREATE INDEX records_pending ON records (org_id) WHERE status IN ('open', 'processing');
    -- Open holds by timeout, for the tick.
    CREATE INDEX records_due ON records (expires_at) WHERE status = 'open';

    CREATE TABLE idempotency (
        org_id      TEXT NOT NULL,
        key         TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        outcome     TEXT NOT NULL,
        created_at  BIGINT NOT NULL,
        PRIMARY KEY (org_id, key)
    );
    ",
    // 2: conversations (not credit events) and notifications (low balance).
    "
    CREATE TABLE conversations (
        org_id     TEXT NOT NULL,
        seq        BIGINT NOT NULL,
        identity   TEXT NOT NULL,
        campaign   TEXT,
        started_at BIGINT NOT NULL,
        day        TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (org_id, seq)
    );
    CREATE INDEX conversations_started ON conversations (org_id, started_at);

    CREATE TABLE notifications (
        org_id     TEXT NOT NULL,
        seq        BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        kind       TEXT NOT NULL,
        body       TEXT NOT NULL,
        PRIMARY KEY (org_id, seq)
    );
    ",
    // 3: members, API keys, dashboard sessions and sign-in links (not ledger
    // data). Secrets are stored only as SHA-256 hashes. Keys, sessions and
    // links are found by their own id or hash, not by org: on a distributed
    // engine they are reference tables (small, replicated), members are
    // distributed by org_id with the ledger.
    "
    CREATE TABLE members (
        org_id     TEXT NOT NULL,
        email      TEXT NOT NULL,
        name       TEXT NOT NULL,
        role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
        created_at BIGINT NOT NULL,
        PRIMARY KEY (org_id, email)
    );

    CREATE TABLE api_keys (
        id           TEXT PRIMARY KEY,
        prefix       TEXT NOT NULL,
        secret_hash  TEXT NOT NULL UNIQUE,
        name         TEXT NOT NULL,
        kind         TEXT NOT NULL CHECK (kind IN ('service', 'member')),
        -- service keys: JSON array of the orgs reached; NULL: every org
        org_ids      TEXT,
        -- member keys: whose
        org_id       TEXT,
        email        TEXT,
        created_at   BIGINT NOT NULL,
        revoked_at   BIGINT,
        last_used_at BIGINT
    );
    CREATE INDEX api_keys_member ON api_keys (org_id, email);

    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        org_id     TEXT NOT NULL,
        email      TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX sessions_member ON sessions (org_id, email);

    CREATE TABLE login_links (
        token_hash TEXT PRIMARY KEY,
        org_id     TEXT NOT NULL,
        email      TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at    BIGINT
    );
    ",
    // 4: indexes of the history filters, under the names the shared history
    // SQL knows (creditd_store::sql): each ends in seq, so a filtered page
    // walks one backwards from its cursor.
    "
    CREATE INDEX IF NOT EXISTS events_kind ON events (org_id, kind, seq);
    CREATE INDEX IF NOT EXISTS events_project ON events (org_id, project_id, seq) WHERE project_id IS NOT NULL;
    CREATE INDEX IF NOT EXISTS events_user ON events (org_id, user_email, seq) WHERE user_email IS NOT NULL;
    CREATE INDEX IF NOT EXISTS events_unsettled ON events (org_id, status, seq) WHERE status <> 'succeeded';
    ",
    // 5: the per-org hash chain (creditd_core::chain): each event's hash.
    // Events written before it have none, and `verify` reports them.
    "
    ALTER TABLE events ADD COLUMN hash TEXT;
    ",
    // Usage rollups (creditd_store::rollup), built from the events already
    // stored when first applied (crate::rollups::backfill).
    crate::rollups::MIGRATION,
    // Usage rollups, second layout (month rows; a user's own rows by day,
    // action and service): rebuilt from the events.
    crate::rollups::REBUILD,
    // Webhooks: endpoints, the outbox (written in the events' transaction)
    // and delivery state (creditd_store::webhooks).
    crate::webhooks::MIGRATION,
    // The balance-type filter (FPT's Top-up vs Voucher credits), as on
    // SQLite: without it a `pool=voucher` page walks the primary key past
    // every plan and promotional event. Partial, so usage drawn from plan or
    // promotional credits adds nothing to it.
    "
    CREATE INDEX IF NOT EXISTS events_pool_paid ON events (org_id, pool, seq) WHERE pool IN ('prepaid', 'voucher');
    ",
    // Price books (creditd_store::prices): shared by every org, one row per
    // immutable version.
    crate::prices::MIGRATION,
    // Organisations in a tree (creditd_core::tree), as on SQLite: each
    // org's parent, and the children of an org found by index.
    "
    ALTER TABLE orgs ADD COLUMN parent_id TEXT;
    CREATE INDEX orgs_parent ON orgs (parent_id, org_id) WHERE parent_id IS NOT NULL;
    ",
    // Priced operations (creditd_core::pricing): a priced hold, usage or
    // debit keeps its price key, quantity, unit, unit price or tiers, book
    // and version as JSON (creditd_core::prices::Pricing); NULL otherwise.
    "
    ALTER TABLE events ADD COLUMN pricing TEXT;
    ",
    // The plan catalogue (creditd_store::catalogue): shared by every org,
    // one row per plan offered.
    crate::catalogue::MIGRATION,
    // Usage rollups, third layout (issues 16 and 18): the priced quantity of
    // every row, rows by price, and the statement's lines by kind; rebuilt
    // from the events (the one migration whose backfill runs: it rebuilds
    // what the earlier rollup migrations built).
    crate::rollups::PRICES_AND_STATEMENTS,
    // Balances per pool as of a time (issue 18): the plan, voucher and
    // promotional pools after each event (prepaid has its own column since
    // the start); NULL for the events written before.
    "
    ALTER TABLE events ADD COLUMN plan_balance_after BIGINT;
    ALTER TABLE events ADD COLUMN voucher_balance_after BIGINT;
    ALTER TABLE events ADD COLUMN promotional_balance_after BIGINT;
    ",
    // Rollups written by each node's follower seconds after the batches,
    // folded over many of them (issue 20): each org's mark, the last event
    // folded into its rollup rows (crate::follower). The rows are rebuilt
    // from the events when it runs, so they and the marks agree whatever
    // was folded before.
    crate::rollups::MARKS,
    // A usage event's draws (the blocks its credits came from, JSON), as on
    // SQLite: with them the event is the whole usage record, so a usage
    // writes no `records` row until it is refunded (`reader::usage_record`
    // rebuilds it). Usages written before keep their record rows.
    "
    ALTER TABLE events ADD COLUMN draws TEXT;
    ",
];

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("migration failed: {0}")]
    Sql(#[from] tokio_postgres::Error),
    #[error("the database's schema is at version {found}, newer than this creditd knows ({known}); upgrade creditd")]
    TooNew { found: i64, known: usize },
    #[error("building the usage rollups: {0}")]
    Rollups(String),
}

/// Brings the schema up to date in one transaction. The transaction-scoped
/// advisory lock makes a second node wait, then see the finished schema.
pub async fn migrate(client: &mut Client) -> Result<(), MigrateError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)").await?;
    let row = tx.query_opt("SELECT version FROM schema_version", &[]).await?;
    let version = match row {
        Some(r) => r.try_get::<_, i64>(0)?,
        None => {
            tx.execute("INSERT INTO schema_version (version) VALUES (0)", &[]).await?;
            0
        }
    };
    if version as usize > MIGRATIONS.len() || version < 0 {
        return Err(MigrateError::TooNew { found: version, known: MIGRATIONS.len() });
    }
    let mut rebuild = false;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.batch_execute(sql).await?;
        rebuild |= *sql == crate::rollups::PRICES_AND_STATEMENTS || *sql == crate::rollups::MARKS;
        tx.execute("UPDATE schema_version SET version = $1", &[&((i + 1) as i64)]).await?;
    }
    // Once, after the migrations that need it: every org's rows rebuilt
    // from its events, which its mark (set by `MARKS` to its last event)
    // then says.
    if rebuild {
        crate::rollups::backfill(&tx).await.map_err(MigrateError::Rollups)?;
    }
    tx.commit().await?;
    Ok(())
}
