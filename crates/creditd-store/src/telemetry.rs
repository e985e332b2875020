//! The ledger's own figures for operators, reported through the `metrics`
//! facade (the server installs a Prometheus recorder; without one these are
//! no-ops). Engines call these so both report the same names.

use std::time::Duration;

use creditd_core::{OrgState, RecordKind, RecordStatus};

/// One operation through the ledger, by its name (`hold`, `debit`, …) and
/// result: `ok` or the refusal's error code.
pub fn operation(op: &'static str, result: &'static str) {
    metrics::counter!("creditd_ledger_operations_total", "op" => op, "result" => result).increment(1);
}

/// A write transaction committed: how many commands it carried and how long
/// writing and committing took.
pub fn batch_committed(engine: &'static str, commands: usize, elapsed: Duration) {
    metrics::histogram!("creditd_writer_batch_commands", "engine" => engine).record(commands as f64);
    metrics::histogram!("creditd_writer_commit_seconds", "engine" => engine).record(elapsed.as_secs_f64());
}

/// A batch of the PostgreSQL writer, by the path it took: `ahead`
/// (applied on cached states, checked under its row locks as it commits),
/// `locked` (read and applied under its row locks: creations, ticks,
/// transfers, orgs another node wrote lately) or `redone` (refused when
/// sent ahead, run again on the locked path; also counted `locked`).
pub fn pg_writer_batch(path: &'static str) {
    metrics::counter!("creditd_pg_writer_batches_total", "path" => path).increment(1);
}

/// Jobs waiting in the writer's queue.
pub fn queue_depth(engine: &'static str, jobs: usize) {
    metrics::gauge!("creditd_writer_queue_depth", "engine" => engine).set(jobs as f64);
}

/// Open holds as counted in storage (at start).
pub fn open_holds_set(holds: u64) {
    metrics::gauge!("creditd_open_holds").set(holds as f64);
}

/// Open holds gained (positive) or settled (negative) by a committed batch.
pub fn open_holds_changed(delta: i64) {
    if delta != 0 {
        metrics::gauge!("creditd_open_holds").increment(delta as f64);
    }
}

/// Whether `id` names an open hold of `state`.
pub fn is_open_hold(state: &OrgState, id: &str) -> bool {
    state.records.get(id).is_some_and(|r| r.kind == RecordKind::Hold && r.status == RecordStatus::Open)
}

/// The writer's org state cache after a trim: entries held, and how many
/// the trim forgot.
pub fn org_cache(engine: &'static str, entries: usize, evicted: usize) {
    metrics::gauge!("creditd_org_cache_entries", "engine" => engine).set(entries as f64);
    if evicted > 0 {
        metrics::counter!("creditd_org_cache_evictions_total", "engine" => engine).increment(evicted as u64);
    }
}

/// Bytes on disk of the embedded database file and of its write-ahead log.
pub fn storage_bytes(database: Option<u64>, wal: Option<u64>) {
    if let Some(b) = database {
        metrics::gauge!("creditd_sqlite_database_bytes").set(b as f64);
    }
    if let Some(b) = wal {
        metrics::gauge!("creditd_sqlite_wal_bytes").set(b as f64);
    }
}

/// A WAL checkpoint finished: `mode` is `passive` (the background thread)
/// or `restart` (the cap), `done` whether it did all it was asked.
pub fn checkpoint(mode: &'static str, elapsed: Duration, done: bool) {
    metrics::gauge!("creditd_sqlite_checkpoint_last_seconds", "mode" => mode).set(elapsed.as_secs_f64());
    if !done {
        metrics::counter!("creditd_sqlite_checkpoint_incomplete_total", "mode" => mode).increment(1);
    }
}

/// A read an engine with read replicas routed: `replica`, or `primary`
/// with why (`lagging`: the replica had not replayed the position the read
/// named in time; `unavailable`: no connection to it).
pub fn replica_read(result: &'static str) {
    metrics::counter!("creditd_replica_reads_total", "result" => result).increment(1);
}
