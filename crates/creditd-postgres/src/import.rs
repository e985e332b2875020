//! `Store::import` on PostgreSQL: a whole history into a new organisation,
//! or an existing one without events, in one transaction.
//!
//! What is written is what the SQLite engine writes, from the same pure
//! [`creditd_store::import::derive`]: the events verbatim with their chain
//! hashes, the derived state, every record the events name, and the usage
//! rollups of the consuming events. The import runs on a pool connection of
//! its own rather than through the node's writer, because it is one large
//! transaction that must not hold up the writer's batches; it serialises
//! with every node's writer on the org's row instead: it locks the row
//! (`FOR UPDATE`), or inserts it (a concurrent create of the same org fails
//! the insert), and bumps `orgs.version`, so a writer that cached the org
//! before reloads it.

use creditd_core::{Event, OrgSettings, OrgState};
use creditd_store::StoreError;
use creditd_store::import::{Derived, ImportReport, derive};
use creditd_store::rollup::{Rollups, ZoneCache};
use jiff::Timestamp;
use tokio_postgres::error::SqlState;

use crate::reader::db;
use crate::writer::{EventCols, INSERT_EVENTS, UPSERT_RECORDS};

/// Events (or records) per `INSERT … SELECT * FROM UNNEST(…)`: large enough
/// that round trips do not matter, small enough that one statement's
/// parameter arrays stay a few MiB.
const ROWS_PER_STATEMENT: usize = 10_000;

/// Refuses text PostgreSQL cannot store, naming the event, before anything
/// is sent: a NUL would otherwise fail the transaction with a bare
/// "invalid byte sequence".
fn check_text(org_id: &str, events: &[Event]) -> Result<(), StoreError> {
    if org_id.is_empty() || org_id.contains('\0') {
        return Err(StoreError::OrgNotFound(org_id.replace('\0', "\\0")));
    }
    for e in events {
        let texts = creditd_store::sql::event_texts(e);
        if e.id.contains('\0') || e.org_id.contains('\0') || texts.iter().flatten().any(|t| t.contains('\0')) {
            return Err(StoreError::Ledger(creditd_core::LedgerError::Invalid(format!(
                "import refused, nothing written: event seq {} ({}): text must not contain NUL characters",
                e.seq,
                e.id.replace('\0', "\\0")
            ))));
        }
    }
    Ok(())
}

pub async fn import(
    conn: &mut deadpool_postgres::Client,
    org_id: &str,
    settings: OrgSettings,
    events: &[Event],
    now: Timestamp,
) -> Result<ImportReport, StoreError> {
    check_text(org_id, events)?;
    let tx = conn.transaction().await.map_err(db)?;
    let existing = tx.query_opt("SELECT state FROM orgs WHERE org_id = $1 FOR UPDATE", &[&org_id]).await.map_err(db)?;
    // As on SQLite: an existing org keeps its own settings, and is refused
    // if it has any history.
    let settings = match &existing {
        None => settings,
        Some(row) => {
            let state: OrgState =
                creditd_store::stored::parse_state(org_id, &row.try_get::<_, String>(0).map_err(db)?)?;
            let has_events =
                tx.query_opt("SELECT 1 FROM events WHERE org_id = $1 LIMIT 1", &[&org_id]).await.map_err(db)?;
            if state.seq > 0 || has_events.is_some() {
                return Err(StoreError::OrgExists(org_id.to_string()));
            }
            state.settings
        }
    };
    let Derived { state, records, report, hashes } = derive(org_id, settings, events, now)?;
    let json = serde_json::to_string(&state).map_err(StoreError::json("org state"))?;
    let next = creditd_store::batch::next_expiry(&state).map(|t| t.as_microsecond());
    let (created, seq) = (state.created_at.as_microsecond(), state.seq as i64);
    if existing.is_some() {
        tx.execute(
            "UPDATE orgs SET created_at = $2, seq = $3, next_expiry = $4, state = $5, version = version + 1 \
             WHERE org_id = $1",
            &[&org_id, &created, &seq, &next, &json],
        )
        .await
        .map_err(db)?;
    } else {
        let inserted = tx
            .execute(
                "INSERT INTO orgs (org_id, created_at, seq, next_expiry, state) VALUES ($1, $2, $3, $4, $5)",
                &[&org_id, &created, &seq, &next, &json],
            )
            .await;
        match inserted {
            Ok(_) => {}
            // Another node created the org since the lookup above.
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                return Err(StoreError::OrgExists(org_id.to_string()));
            }
            Err(e) => return Err(db(e)),
        }
    }
    let insert_events = tx.prepare_cached(INSERT_EVENTS).await.map_err(db)?;
    for (chunk, chunk_hashes) in events.chunks(ROWS_PER_STATEMENT).zip(hashes.chunks(ROWS_PER_STATEMENT)) {
        let cols = EventCols::from_events(chunk, chunk_hashes);
        let n = tx.execute(&insert_events, &cols.params()).await.map_err(db)?;
        if n as usize != chunk.len() {
            return Err(StoreError::Corrupt(format!("import wrote {n} of {} events", chunk.len())));
        }
    }
    let upsert_records = tx.prepare_cached(UPSERT_RECORDS).await.map_err(db)?;
    for chunk in records.chunks(ROWS_PER_STATEMENT) {
        let org: Vec<&str> = chunk.iter().map(|_| org_id).collect();
        let id: Vec<&str> = chunk.iter().map(|r| r.id.as_str()).collect();
        let status: Vec<&str> = chunk.iter().map(|r| r.status.as_str()).collect();
        let expires: Vec<Option<i64>> = chunk.iter().map(|r| r.expires_at.map(|t| t.as_microsecond())).collect();
        let body = chunk
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::json("event metadata"))?;
        tx.execute(&upsert_records, &[&org, &id, &status, &expires, &body]).await.map_err(db)?;
    }
    let tz = ZoneCache::default().get(org_id, &state.settings.time_zone);
    let mut rollups = Rollups::new();
    for e in events {
        rollups.add_event(e, &tz);
    }
    crate::rollups::upsert(&tx, &rollups).await?;
    tx.commit().await.map_err(db)?;
    Ok(report)
}
