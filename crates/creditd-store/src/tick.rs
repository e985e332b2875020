//! Scheduled work, the same on both engines: which holds have timed out
//! and which orgs have blocks to expire or a plan to renew, the commands
//! that settle them, and how a tick counts what it did.
//!
//! The engines run the two queries ([`due_holds_sql`], [`due_orgs_sql`]) in
//! their own dialect, turn the rows into commands with [`commands`], and
//! apply them like any other command with [`run`].

use creditd_core::{Op, Outcome};

use crate::{Command, StoreError};

/// Most due holds, and most due orgs, one tick handles (the next tick takes
/// the rest).
pub const MAX_TICK_WORK: usize = 4096;

/// Open holds whose timeout is at or before the first parameter (an
/// instant in microseconds since the epoch), soonest first, at most the
/// second parameter: rows of (org_id, hold id). `ph(n)` renders the n-th
/// placeholder. The `IN` term is the partial index `records_pending`'s own
/// condition: SQLite uses a partial index only when the query names it, and
/// without it every tick (once a second) scanned every record (0.35 s and
/// the writer's whole page cache at 1.7M records).
pub fn due_holds_sql(ph: impl Fn(usize) -> String) -> String {
    format!(
        "SELECT org_id, id FROM records WHERE status IN ('open', 'processing') AND status = 'open' \
         AND expires_at <= {} ORDER BY expires_at LIMIT {}",
        ph(1),
        ph(2)
    )
}

/// Orgs whose next scheduled work (`orgs.next_expiry`, see
/// [`crate::batch::next_expiry`]) is at or before the first parameter, at
/// most the second parameter: rows of (org_id).
pub fn due_orgs_sql(ph: impl Fn(usize) -> String) -> String {
    format!("SELECT org_id FROM orgs WHERE next_expiry <= {} LIMIT {}", ph(1), ph(2))
}

/// The commands of one tick: a `TimeoutHold` per due hold, then an
/// `ExpireDue` per due org (which also renews plans), none keyed.
pub fn commands(
    due_holds: impl IntoIterator<Item = (String, String)>,
    due_orgs: impl IntoIterator<Item = String>,
) -> impl Iterator<Item = Command> {
    due_holds
        .into_iter()
        .map(|(org, hold_id)| Command::new(org, Op::TimeoutHold { hold_id }, None))
        .chain(due_orgs.into_iter().map(|org| Command::new(org, Op::ExpireDue, None)))
}

/// Applies each of `commands` with `apply` and returns how many wrote
/// something. A refusal is logged and skipped: scheduled work never fails
/// the tick.
pub fn run<'c>(
    commands: impl IntoIterator<Item = &'c Command>,
    mut apply: impl FnMut(&Command) -> Result<Outcome, StoreError>,
) -> usize {
    let mut done = 0;
    for cmd in commands {
        match apply(cmd) {
            Ok(o) if !o.events.is_empty() => done += 1,
            Ok(_) => {}
            Err(e) => tracing::warn!(org = %cmd.org_id, op = cmd.op.name(), error = %e, "scheduled work refused"),
        }
    }
    done
}
