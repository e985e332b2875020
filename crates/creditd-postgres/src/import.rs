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
use creditd_store::write::{self, EventRow, EventText, ImportedOrg, RecordRow};
use jiff::Timestamp;
use tokio_postgres::error::SqlState;

use crate::reader::db;
use crate::writer::{EventCols, INSERT_EVENTS, RecordCols, UPSERT_RECORDS};

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
    let ImportedOrg { created_at_us: created, seq, next_expiry_us: next, state_json: json } = ImportedOrg::of(&state)?;
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
        let texts: Vec<EventText> = chunk.iter().zip(chunk_hashes).map(|(e, h)| EventText::new(e, h, None)).collect();
        let cols = EventCols::from_rows(chunk.iter().zip(&texts).map(|(e, t)| EventRow::new(e, t)));
        let n = tx.execute(&insert_events, &cols.params()).await.map_err(db)?;
        if n as usize != chunk.len() {
            return Err(StoreError::Corrupt(format!("import wrote {n} of {} events", chunk.len())));
        }
    }
    let upsert_records = tx.prepare_cached(UPSERT_RECORDS).await.map_err(db)?;
    for chunk in records.chunks(ROWS_PER_STATEMENT) {
        let bodies = chunk.iter().map(write::record_body).collect::<Result<Vec<_>, _>>()?;
        let mut c = RecordCols::default();
        for (r, body) in chunk.iter().zip(&bodies) {
            let r = RecordRow::new(org_id, r, body);
            c.org_id.push(r.org_id);
            c.id.push(r.id);
            c.status.push(r.status);
            c.expires_at.push(r.expires_at_us);
            c.body.push(r.body_json);
        }
        tx.execute(&upsert_records, &[&c.org_id, &c.id, &c.status, &c.expires_at, &c.body]).await.map_err(db)?;
    }
    crate::rollups::upsert(&tx, &write::history_rollups(org_id, &state.settings.time_zone, events)?).await?;
    // Every event imported is folded (crate::follower).
    tx.execute(
        "INSERT INTO rollup_marks (org_id, seq) VALUES ($1, $2) ON CONFLICT (org_id) DO UPDATE SET seq = excluded.seq",
        &[&org_id, &seq],
    )
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(report)
}
