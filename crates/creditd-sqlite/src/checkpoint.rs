//! WAL checkpoints: a background thread that copies the WAL back into the
//! database off the writer's path, and a cap that resets the WAL from the
//! committer when the background thread alone cannot.
//!
//! With SQLite's automatic checkpoint the commit that crosses the threshold
//! copies the WAL back into the database file (and fsyncs it) on the writer
//! thread, stalling every queued caller. Here the writer only raises a flag
//! after each commit; a thread of its own runs `PRAGMA
//! wal_checkpoint(PASSIVE)` on its own connection, which never blocks the
//! writer or readers.
//!
//! A PASSIVE checkpoint copies frames but never resets the WAL: under
//! steady writes new frames arrive while it copies, so it never finishes
//! the whole log, the log is never started again from its beginning and
//! the file grows to the writer's backstop (1 GiB). So the committer checks
//! the WAL's size after each commit and, past the cap, runs a RESTART
//! checkpoint itself, between two commits ([`WalCap`]): it copies what is
//! left, waits (briefly, [`RESTART_WAIT`]) for readers still on old
//! snapshots, and makes the next commit write from the start of the file,
//! which `journal_size_limit` then cuts back.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use creditd_store::telemetry;

/// How often the thread looks at the flag.
const INTERVAL: Duration = Duration::from_millis(50);

/// Pages the writer lets the WAL grow to before it checkpoints by itself:
/// 65,536 pages, 1 GiB with the 16 KiB pages of a new database (256 MiB
/// for an old one with 4 KiB pages). With the cap on (the default) the
/// committer resets the WAL long before; without it, this is the bound.
pub const BACKSTOP_PAGES: i64 = 65_536;

/// The default cap on the WAL file.
pub const DEFAULT_WAL_CAP_BYTES: u64 = 64 << 20;

/// How long a RESTART checkpoint waits for readers on old snapshots (and
/// for a directory write holding the write lock) before it gives up until a
/// later commit. The committer waits that long at most, never forever.
pub const RESTART_WAIT: Duration = Duration::from_millis(100);

/// After the third RESTART in a row that could not finish (a reader holds
/// an old snapshot), commits within this time do not try again; the pause
/// doubles with each further failure, up to 2 s ([`pause_after`]).
const RETRY_AFTER: Duration = Duration::from_millis(250);

/// The pause before the next RESTART after `failures` in a row that could
/// not finish. The first two are tried again at the next commit (a reader
/// slow to be scheduled on a loaded machine, not a long snapshot: pausing
/// then would let the WAL grow by every commit of the pause); from the
/// third, 250 ms doubling up to 2 s (a long export range holds its
/// snapshot: trying at every commit would cost the writer a wait per
/// commit).
fn pause_after(failures: u32) -> Option<Duration> {
    (failures >= 3).then(|| RETRY_AFTER.saturating_mul(1 << (failures - 3).min(3)))
}

/// The longest a RESTART waits once the WAL is past twice its cap: each
/// attempt that could not finish doubles the wait (100, 200, 400 ms), so on
/// a loaded machine, where a reader's short snapshot can outlast 100 ms
/// because its thread is not scheduled, the log is still reset within a few
/// attempts. From the third failure in a row there is a pause before the
/// next attempt (250 ms doubling up to 2 s, [`pause_after`]), so a reader
/// that holds one snapshot for long (a long export range), which keeps the
/// WAL past the cap until it is done, costs the writer at most 400 ms in
/// every 2.4 s.
pub const RESTART_WAIT_MAX: Duration = Duration::from_millis(400);

/// The busy timeout of the writer's connection outside a cap checkpoint.
pub const WRITER_BUSY: Duration = Duration::from_secs(5);

pub struct Checkpointer {
    dirty: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    shared: Arc<Shared>,
    paths: Paths,
    handle: Option<JoinHandle<()>>,
}

/// What the background thread and the cap share. SQLite runs one
/// checkpoint at a time and a RESTART that finds another running fails at
/// once (its busy handler is not called for that), so they take turns.
struct Shared {
    running: Mutex<()>,
    /// The cap wants a turn: the background thread skips its passes.
    restart_wanted: AtomicBool,
}

#[derive(Clone)]
struct Paths {
    db: PathBuf,
    wal: PathBuf,
}

impl Paths {
    fn new(db: &Path) -> Paths {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        Paths { db: db.to_path_buf(), wal: wal.into() }
    }

    /// Reports both files' sizes; returns the WAL's (None: no file yet).
    fn report(&self) -> Option<u64> {
        let wal = file_len(&self.wal);
        telemetry::storage_bytes(file_len(&self.db), wal);
        wal
    }
}

fn file_len(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

impl Checkpointer {
    pub fn spawn(path: &Path) -> rusqlite::Result<Checkpointer> {
        let conn = rusqlite::Connection::open(path)?;
        let dirty = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared { running: Mutex::new(()), restart_wanted: AtomicBool::new(false) });
        let paths = Paths::new(path);
        paths.report();
        let handle = std::thread::Builder::new()
            .name("creditd-checkpoint".into())
            .spawn({
                let (dirty, stop, shared, paths) = (dirty.clone(), stop.clone(), shared.clone(), paths.clone());
                move || run(conn, &dirty, &stop, &shared, &paths)
            })
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(Checkpointer { dirty, stop, shared, paths, handle: Some(handle) })
    }

    /// The flag the writer raises after each commit.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.dirty.clone()
    }

    /// The committer's side: the WAL capped at `cap_bytes` (None: no cap).
    pub fn cap(&self, cap_bytes: Option<u64>) -> WalCap {
        WalCap {
            cap_bytes,
            shared: self.shared.clone(),
            paths: self.paths.clone(),
            not_before: None,
            failures: 0,
            last_wal: None,
        }
    }
}

fn run(conn: rusqlite::Connection, dirty: &AtomicBool, stop: &AtomicBool, shared: &Shared, paths: &Paths) {
    while !stop.load(Ordering::Acquire) {
        std::thread::park_timeout(INTERVAL);
        if shared.restart_wanted.load(Ordering::Acquire) {
            continue;
        }
        if dirty.swap(false, Ordering::AcqRel) {
            let Ok(_turn) = shared.running.try_lock() else {
                // The cap's checkpoint runs: it does this pass's work too.
                continue;
            };
            let started = Instant::now();
            let r = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            });
            match r {
                // Done when every frame in the log is in the database.
                Ok((_, log, copied)) => telemetry::checkpoint("passive", started.elapsed(), log == copied),
                Err(e) => {
                    telemetry::checkpoint("passive", started.elapsed(), false);
                    tracing::warn!(error = %e, "background WAL checkpoint failed; the WAL cap still applies");
                }
            }
            paths.report();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

/// The committer's cap on the WAL (see the module docs).
pub struct WalCap {
    cap_bytes: Option<u64>,
    shared: Arc<Shared>,
    paths: Paths,
    /// No try before this (the last one could not finish).
    not_before: Option<Instant>,
    /// Attempts in a row that could not finish.
    failures: u32,
    /// The WAL's size after the last commit.
    last_wal: Option<u64>,
}

impl WalCap {
    /// The `journal_size_limit` that goes with the cap: after a reset the
    /// next commit cuts the file back to this (a quarter of the cap, so the
    /// file's size still tells the cap check how much of it is in use).
    pub fn journal_size_limit(&self) -> Option<i64> {
        self.cap_bytes.map(|c| i64::try_from(c / 4).unwrap_or(i64::MAX))
    }

    /// After a commit: reports the sizes, and says whether the WAL is past
    /// the cap and a reset may be tried now.
    pub fn due(&mut self) -> bool {
        let wal = self.paths.report();
        self.last_wal = wal;
        let over = matches!((self.cap_bytes, wal), (Some(cap), Some(w)) if w > cap);
        over && self.not_before.is_none_or(|t| Instant::now() >= t)
    }

    /// How long the next RESTART may wait for readers: [`RESTART_WAIT`],
    /// doubled after each attempt that could not finish while the WAL is
    /// past twice the cap, up to [`RESTART_WAIT_MAX`].
    fn wait(&self) -> Duration {
        let far_over = matches!((self.cap_bytes, self.last_wal), (Some(cap), Some(w)) if w > cap.saturating_mul(2));
        if !far_over {
            return RESTART_WAIT;
        }
        RESTART_WAIT.saturating_mul(1 << self.failures.min(2)).min(RESTART_WAIT_MAX)
    }

    /// Runs a RESTART checkpoint on the writer's connection, which must be
    /// outside a transaction (between two commits). Waits for the
    /// background pass to end, for readers and for the write lock at most
    /// [`RESTART_WAIT`] each; a checkpoint that cannot finish is tried again
    /// after a later commit. Returns whether the WAL was reset.
    pub fn restart(&mut self, conn: &rusqlite::Connection) -> bool {
        self.shared.restart_wanted.store(true, Ordering::Release);
        let turn = self.shared.running.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        let r = conn.busy_timeout(self.wait()).and_then(|()| {
            conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })
        });
        let elapsed = started.elapsed();
        if let Err(e) = conn.busy_timeout(WRITER_BUSY) {
            tracing::warn!(error = %e, "cannot restore the writer's busy timeout");
        }
        drop(turn);
        self.shared.restart_wanted.store(false, Ordering::Release);
        // busy = 0: every frame copied and no reader left on the log.
        let done = matches!(r, Ok((0, log, copied)) if log == copied);
        telemetry::checkpoint("restart", elapsed, done);
        match &r {
            Err(e) => tracing::warn!(error = %e, "WAL cap checkpoint failed; trying again after a later commit"),
            Ok(_) if !done => {
                tracing::debug!(?elapsed, "WAL cap checkpoint waited for readers on old snapshots; trying again later")
            }
            Ok(_) => {}
        }
        self.failures = if done { 0 } else { self.failures.saturating_add(1) };
        self.not_before = if done { None } else { pause_after(self.failures).map(|p| Instant::now() + p) };
        self.paths.report();
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_two_failures_retry_at_the_next_commit_then_pauses_double_to_two_seconds() {
        let ms = |n| pause_after(n).map(|d| d.as_millis());
        assert_eq!([ms(0), ms(1), ms(2)], [None, None, None]);
        assert_eq!([ms(3), ms(4), ms(5), ms(6), ms(7), ms(40)], [250, 500, 1000, 2000, 2000, 2000].map(Some));
    }
}
