//! SQLite-only bounds: the WAL stays under its cap however long the writer
//! writes and however often readers hold snapshots.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use creditd_core::{CreditKind, CreditOp, EventCtx, Micros, Op, OrgSettings};
use creditd_sqlite::{SqliteOptions, SqliteStore};
use creditd_store::{Command, Store, SystemClock};

fn usage(i: usize) -> Op {
    Op::Usage {
        amount: Micros::from_micros(1),
        ctx: EventCtx {
            service: Some(format!("service {}", i % 7)),
            project_id: Some(format!("p{}", i % 11)),
            user_email: Some(format!("u{}@example.com", i % 13)),
            ..EventCtx::default()
        },
    }
}

fn wal_len(store: &SqliteStore) -> u64 {
    let mut wal = store.database_path().as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
}

/// Writes `commits` batches while `readers` threads keep opening short read
/// transactions; returns the largest WAL seen after a commit and how many
/// read transactions ran.
async fn write_under_readers(options: SqliteOptions, commits: usize, readers: usize) -> (u64, usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_with_options(dir.path(), Arc::new(SystemClock), options).unwrap());
    store.create_org("o", OrgSettings::new("O", "UTC")).await.unwrap();
    let grant = Op::Credit(CreditOp {
        kind: CreditKind::Grant,
        amount: Micros::from_micros(1_000_000_000),
        pool: None,
        expires_at: None,
        code: None,
        status: None,
        ctx: EventCtx::default(),
    });
    creditd_store::execute_one(store.as_ref(), Command::new("o", grant, None)).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..readers)
        .map(|_| {
            let (path, stop, reads) = (store.database_path().to_path_buf(), stop.clone(), reads.clone());
            std::thread::spawn(move || {
                let c =
                    rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
                c.busy_timeout(Duration::from_secs(5)).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    // A snapshot held across two statements and a pause,
                    // as a page of history or an export range does.
                    c.execute_batch("BEGIN").unwrap();
                    let seq: i64 = c.query_row("SELECT seq FROM orgs WHERE org_id = 'o'", [], |r| r.get(0)).unwrap();
                    std::thread::sleep(Duration::from_millis(2));
                    let last: i64 =
                        c.query_row("SELECT max(seq) FROM events WHERE org_id = 'o'", [], |r| r.get(0)).unwrap();
                    assert_eq!(seq, last, "one snapshot");
                    c.execute_batch("COMMIT").unwrap();
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut largest = 0;
    for n in 0..commits {
        let cmds = (0..40).map(|i| Command::new("o", usage(n * 40 + i), None)).collect();
        for r in store.execute(cmds).await {
            r.unwrap();
        }
        largest = largest.max(wal_len(&store));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let report = store.verify("o").await.unwrap();
    assert!(report.ok, "{:?}", report.problems);
    store.shutdown().await;
    (largest, reads.load(Ordering::Relaxed))
}

/// 400 commits under three readers that are always inside a transaction or
/// about to start one: the WAL file never passes the cap by more than a
/// few commits' frames. (Without the cap the same run left a WAL of
/// 354 MB after 600 commits: each commit of 40 usages writes about 36
/// pages of 16 KiB, and the passive checkpoint never resets the log.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wal_stays_under_its_cap_with_readers_always_open() {
    const CAP: u64 = 1 << 20;
    let options = SqliteOptions { wal_cap_bytes: Some(CAP), ..SqliteOptions::default() };
    let (largest, reads) = write_under_readers(options, 400, 3).await;
    assert!(reads > 100, "the readers ran ({reads} transactions)");
    // Past the cap the committer resets the WAL after that commit; a reset
    // that has to wait for a reader is tried again 250 ms later.
    assert!(largest <= 3 * CAP, "the WAL reached {largest} bytes with a cap of {CAP}");
}
