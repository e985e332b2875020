//! WAL checkpoints off the writer thread.
//!
//! With SQLite's automatic checkpoint the commit that crosses the threshold
//! copies the WAL back into the database file (and fsyncs it) on the writer
//! thread, stalling every queued caller. Here the writer only raises a flag
//! after each commit; a thread of its own runs `PRAGMA
//! wal_checkpoint(PASSIVE)` on its own connection, which never blocks the
//! writer or readers. The writer keeps a large automatic threshold as a
//! backstop should this thread fall behind.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the thread looks at the flag.
const INTERVAL: Duration = Duration::from_millis(50);

/// Pages the writer lets the WAL grow to before it checkpoints by itself
/// (about 256 MiB with 4 KiB pages); only reached if this thread stalls.
pub const BACKSTOP_PAGES: i64 = 65_536;

pub struct Checkpointer {
    dirty: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub fn spawn(path: &Path) -> rusqlite::Result<Checkpointer> {
        let conn = rusqlite::Connection::open(path)?;
        let dirty = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let handle = std::thread::Builder::new()
            .name("creditd-checkpoint".into())
            .spawn({
                let (dirty, stop) = (dirty.clone(), stop.clone());
                move || run(conn, &dirty, &stop)
            })
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(Checkpointer { dirty, stop, handle: Some(handle) })
    }

    /// The flag the writer raises after each commit.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.dirty.clone()
    }
}

fn run(conn: rusqlite::Connection, dirty: &AtomicBool, stop: &AtomicBool) {
    while !stop.load(Ordering::Acquire) {
        std::thread::park_timeout(INTERVAL);
        if dirty.swap(false, Ordering::AcqRel) {
            let r = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            });
            if let Err(e) = r {
                tracing::warn!(error = %e, "background WAL checkpoint failed; the writer's backstop still applies");
            }
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
