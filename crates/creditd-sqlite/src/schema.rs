//! Schema and migrations, applied at start in order; `PRAGMA user_version`
//! records how far a database has come.
//!
//! Every table is keyed by `org_id` first so an organisation's rows sit
//! together and the same layout shards by org on PostgreSQL.

pub const MIGRATIONS: &[&str] = &[
    // 1: the ledger.
    "
    CREATE TABLE orgs (
        org_id      TEXT PRIMARY KEY,
        created_at  INTEGER NOT NULL,
        seq         INTEGER NOT NULL,
        next_expiry INTEGER,
        state       TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX orgs_next_expiry ON orgs(next_expiry) WHERE next_expiry IS NOT NULL;

    CREATE TABLE events (
        org_id                TEXT NOT NULL,
        seq                   INTEGER NOT NULL,
        created_at            INTEGER NOT NULL,
        kind                  TEXT NOT NULL,
        amount                INTEGER NOT NULL,
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
        balance_after         INTEGER NOT NULL,
        prepaid_balance_after INTEGER NOT NULL,
        held_after            INTEGER NOT NULL,
        period_usage_after    INTEGER NOT NULL,
        metadata              TEXT,
        PRIMARY KEY (org_id, seq)
    ) WITHOUT ROWID;

    CREATE TABLE records (
        org_id     TEXT NOT NULL,
        id         TEXT NOT NULL,
        status     TEXT NOT NULL,
        expires_at INTEGER,
        body       TEXT NOT NULL,
        PRIMARY KEY (org_id, id)
    ) WITHOUT ROWID;
    -- Pending holds and purchases: loaded with their org, scanned for timeouts.
    CREATE INDEX records_pending ON records(status, expires_at) WHERE status IN ('open', 'processing');

    CREATE TABLE idempotency (
        org_id      TEXT NOT NULL,
        key         TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        outcome     TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (org_id, key)
    ) WITHOUT ROWID;
    ",
    // 2: conversations (not credit events) and notifications (low balance).
    "
    CREATE TABLE conversations (
        org_id     TEXT NOT NULL,
        seq        INTEGER NOT NULL,
        identity   TEXT NOT NULL,
        campaign   TEXT,
        started_at INTEGER NOT NULL,
        day        TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (org_id, seq)
    ) WITHOUT ROWID;
    CREATE INDEX conversations_started ON conversations(org_id, started_at);

    CREATE TABLE notifications (
        org_id     TEXT NOT NULL,
        seq        INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        kind       TEXT NOT NULL,
        body       TEXT NOT NULL,
        PRIMARY KEY (org_id, seq)
    ) WITHOUT ROWID;
    ",
    // Members, API keys, dashboard sessions and sign-in links (not ledger
    // data). Secrets are stored only as SHA-256 hashes.
    "
    CREATE TABLE members (
        org_id     TEXT NOT NULL,
        email      TEXT NOT NULL,
        name       TEXT NOT NULL,
        role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (org_id, email)
    ) WITHOUT ROWID;

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
        created_at   INTEGER NOT NULL,
        revoked_at   INTEGER,
        last_used_at INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX api_keys_member ON api_keys(org_id, email);

    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        org_id     TEXT NOT NULL,
        email      TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_member ON sessions(org_id, email);

    CREATE TABLE login_links (
        token_hash TEXT PRIMARY KEY,
        org_id     TEXT NOT NULL,
        email      TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at    INTEGER
    ) WITHOUT ROWID;
    ",
    // History filters (see creditd_store::sql): each index ends in seq so a
    // page walks it backwards from the cursor. Date ranges need none (they
    // become seq ranges); pool and service are left to the walk. The partial
    // index holds only unsettled events (processing or failed purchases), so
    // it costs the common write nothing.
    "
    CREATE INDEX IF NOT EXISTS events_kind ON events(org_id, kind, seq);
    CREATE INDEX IF NOT EXISTS events_project ON events(org_id, project_id, seq) WHERE project_id IS NOT NULL;
    CREATE INDEX IF NOT EXISTS events_user ON events(org_id, user_email, seq) WHERE user_email IS NOT NULL;
    CREATE INDEX IF NOT EXISTS events_unsettled ON events(org_id, status, seq) WHERE status <> 'succeeded';
    ",
    // The per-org hash chain (creditd_core::chain): each event's hash. Rows
    // written before it get theirs from `backfill_chain` at start.
    "
    ALTER TABLE events ADD COLUMN hash TEXT;
    ",
    // Usage rollups: credits consumed per org, day, dimension and key, kept
    // in each batch's transaction (creditd_store::rollup); built from the
    // events already stored when it is first applied.
    crate::rollups::MIGRATION,
    // The balance-type filter (FPT's Top-up vs Voucher credits): a partial
    // index of the paid and voucher pools only, so usage drawn from plan or
    // promotional credits adds nothing to it.
    "
    CREATE INDEX IF NOT EXISTS events_pool_paid ON events(org_id, pool, seq) WHERE pool IN ('prepaid', 'voucher');
    ",
    // Usage rollups, second layout (month rows; a user's own rows by day,
    // action and service): rebuilt from the events.
    crate::rollups::REBUILD,
    // A usage event's draws (the blocks its credits came from, JSON): with
    // them the event is the whole usage record, so a usage writes no record
    // row until it is refunded (`reader::load_record` rebuilds it).
    "
    ALTER TABLE events ADD COLUMN draws TEXT;
    ",
    // Webhooks: endpoints, the outbox (written in the events' transaction)
    // and delivery state (creditd_store::webhooks).
    crate::webhooks::MIGRATION,
    // The user and project walks carry kind and service, so a page of one
    // user's (or project's) events of a kind or service picks its seqs from
    // the index alone (creditd_store::sql::walk_first).
    "
    DROP INDEX events_user;
    CREATE INDEX events_user ON events(org_id, user_email, seq, kind, service) WHERE user_email IS NOT NULL;
    DROP INDEX events_project;
    CREATE INDEX events_project ON events(org_id, project_id, seq, kind, service) WHERE project_id IS NOT NULL;
    ",
    // Price books (creditd_store::prices): shared by every org, one row per
    // immutable version.
    crate::prices::MIGRATION,
    // Organisations in a tree (creditd_core::tree): each org's parent, and
    // the children of an org found by index. Not in the state JSON: a tree
    // change concerns several orgs and is made on a drained writer.
    "
    ALTER TABLE orgs ADD COLUMN parent_id TEXT;
    CREATE INDEX orgs_parent ON orgs(parent_id, org_id) WHERE parent_id IS NOT NULL;
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
    ALTER TABLE events ADD COLUMN plan_balance_after INTEGER;
    ALTER TABLE events ADD COLUMN voucher_balance_after INTEGER;
    ALTER TABLE events ADD COLUMN promotional_balance_after INTEGER;
    ",
];

pub fn migrate(conn: &mut rusqlite::Connection) -> rusqlite::Result<()> {
    let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if *sql == crate::rollups::PRICES_AND_STATEMENTS {
            crate::rollups::backfill(&tx)?;
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Orgs whose history starts with an event that has no hash: the ones
/// [`backfill_chain`] has left to do.
///
/// Why looking at seq 1 alone is enough: the `hash` column came with a
/// migration, so rows without one are exactly the rows stored before it, and
/// every org's such rows are a prefix of its history starting at seq 1 (seq
/// has no gaps and starts at 1; everything written since, imports included,
/// carries its hash). `backfill_chain` fills an org's prefix in one
/// transaction, so an org is either done or still has a NULL at seq 1. The
/// check is one primary-key lookup per org, where `WHERE hash IS NULL` over
/// `events` read the whole table (and filled the writer's 64 MiB page cache)
/// at every start.
pub fn orgs_to_backfill(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare(ORGS_TO_BACKFILL)?;
    st.query_map([], |r| r.get(0))?.collect()
}

/// Open holds, counted at open for the metrics. The `IN` term repeats the
/// partial index `records_pending`'s own condition: SQLite uses a partial
/// index only when the query names that condition, and `status = 'open'`
/// alone scanned every record (filling the writer's 64 MiB page cache at
/// every start).
pub const COUNT_OPEN_HOLDS: &str =
    "SELECT count(*) FROM records WHERE status IN ('open', 'processing') AND status = 'open'";

/// The query of [`orgs_to_backfill`].
pub const ORGS_TO_BACKFILL: &str = "SELECT o.org_id FROM orgs o JOIN events e ON e.org_id = o.org_id AND e.seq = 1 \
     WHERE e.hash IS NULL ORDER BY o.org_id";

/// Computes the chain hashes of events stored before the chain existed (a
/// NULL `hash`), for each org that has any ([`orgs_to_backfill`]), and its
/// state's `last_hash`. Runs at start, before the writer; costs one lookup
/// per org once every row has a hash.
pub fn backfill_chain(conn: &mut rusqlite::Connection) -> Result<usize, creditd_store::StoreError> {
    use creditd_core::chain::{self, ChainHash};
    use creditd_store::sql::EVENT_COLUMNS;

    use crate::reader::db;
    let orgs = orgs_to_backfill(conn).map_err(db)?;
    let mut filled = 0;
    for org in &orgs {
        let tx = conn.transaction().map_err(db)?;
        let mut state = crate::reader::load_state(&tx, org)?;
        let mut prev = ChainHash::GENESIS;
        {
            let sql = format!("SELECT {EVENT_COLUMNS}, hash FROM events WHERE org_id = ?1 ORDER BY seq ASC");
            let mut st = tx.prepare(&sql).map_err(db)?;
            let mut up = tx.prepare("UPDATE events SET hash = ?3 WHERE org_id = ?1 AND seq = ?2").map_err(db)?;
            let mut rows = st.query([org]).map_err(db)?;
            while let Some(r) = rows.next().map_err(db)? {
                let stored: Option<String> = r.get(creditd_store::sql::EVENT_COLUMN_COUNT).map_err(db)?;
                let e = crate::reader::read_row(r).map_err(db)?.into_event(org)?;
                prev = match stored.and_then(|s| s.parse().ok()) {
                    Some(h) => h,
                    None => {
                        let h = chain::hash(&prev, &e);
                        up.execute(rusqlite::params![org, e.seq as i64, h.to_string()]).map_err(db)?;
                        filled += 1;
                        h
                    }
                };
            }
        }
        state.last_hash = prev;
        let json = serde_json::to_string(&state).map_err(creditd_store::StoreError::json("org state"))?;
        tx.execute("UPDATE orgs SET state = ?2 WHERE org_id = ?1", rusqlite::params![org, json]).map_err(db)?;
        tx.commit().map_err(db)?;
    }
    Ok(filled)
}
