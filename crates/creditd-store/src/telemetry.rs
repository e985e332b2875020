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
