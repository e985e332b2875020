//! The pipelined writer: batch N+1 is applied while batch N commits. These
//! tests hold commits at a gate (writer test hooks) so that the overlap is
//! certain rather than likely.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use creditd_core::{CreditKind, CreditOp, EventCtx, HoldOp, Micros, Op, OrgSettings, Outcome};
use creditd_store::{Command, Store, StoreError, SystemClock, execute_one};

use crate::SqliteStore;
use crate::writer::Hooks;

fn credits(n: i64) -> Micros {
    Micros::from_micros(n * 1_000_000)
}

fn grant(n: i64) -> Op {
    Op::Credit(CreditOp {
        kind: CreditKind::Grant,
        amount: credits(n),
        pool: None,
        expires_at: None,
        code: None,
        status: None,
        ctx: EventCtx::default(),
    })
}

fn usage(n: i64) -> Op {
    Op::Usage { amount: credits(n), ctx: EventCtx::default() }
}

fn cmd(op: Op, key: Option<&str>) -> Command {
    Command::new("o", op, key.map(str::to_string))
}

async fn until(what: &str, f: impl Fn() -> bool) {
    for _ in 0..1000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting until {what}");
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    hooks: Arc<Hooks>,
}

async fn fixture(funded: i64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let hooks = Arc::new(Hooks::default());
    let store = Arc::new(SqliteStore::open_with_hooks(dir.path(), Arc::new(SystemClock), hooks.clone()).unwrap());
    store.create_org("o", OrgSettings::new("O", "UTC")).await.unwrap();
    execute_one(store.as_ref(), cmd(grant(funded), None)).await.unwrap();
    Fixture { _dir: dir, store, hooks }
}

impl Fixture {
    /// Submits `c` in a task of its own; returns once the writer applied it.
    async fn submit(&self, c: Command) -> tokio::task::JoinHandle<Result<Outcome, StoreError>> {
        let before = self.hooks.applied_jobs.load(Ordering::SeqCst);
        let store = self.store.clone();
        let task = tokio::spawn(async move { execute_one(store.as_ref(), c).await });
        let hooks = self.hooks.clone();
        until("the job is applied", move || hooks.applied_jobs.load(Ordering::SeqCst) > before).await;
        task
    }

    /// Waits until exactly one batch is held at the commit gate.
    async fn one_at_gate(&self) {
        let hooks = self.hooks.clone();
        until("a batch waits at the gate", move || hooks.waiting.load(Ordering::SeqCst) == 1).await;
    }

    async fn check(&self, available: i64, seq: u64) {
        let b = self.store.balance("o").await.unwrap();
        assert_eq!(b.available, credits(available));
        let s = self.store.org_state("o").await.unwrap();
        assert_eq!(s.seq, seq);
        let v = self.store.verify("o").await.unwrap();
        assert!(v.ok, "{:?}", v.problems);
        assert_eq!(v.events, seq);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_in_the_batch_after_the_first_replays() {
    let f = fixture(100).await;
    f.hooks.close_gate();
    let first = f.submit(cmd(usage(1), Some("k"))).await;
    f.one_at_gate().await;
    // Applied while the first is written but not committed: only the
    // in-flight overlay knows the key.
    let retry = f.submit(cmd(usage(1), Some("k"))).await;
    let conflict = f.submit(cmd(usage(2), Some("k"))).await;
    assert_eq!(f.hooks.waiting.load(Ordering::SeqCst), 1);
    f.hooks.open_gate();
    let a = first.await.unwrap().unwrap();
    let b = retry.await.unwrap().unwrap();
    assert_eq!(a, b);
    assert_eq!(a.events.len(), 1);
    assert!(matches!(conflict.await.unwrap(), Err(StoreError::IdempotencyConflict { .. })));
    f.check(99, 2).await;
    f.store.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debit_of_a_hold_created_by_the_in_flight_batch() {
    let f = fixture(100).await;
    f.hooks.close_gate();
    let hold =
        f.submit(cmd(Op::Hold(HoldOp { amount: credits(10), timeout_seconds: None, ctx: EventCtx::default() }), None));
    let hold = hold.await;
    f.one_at_gate().await;
    let debit = f
        .submit(cmd(Op::Debit { hold_id: "hold_2".into(), amount: Some(credits(4)), ctx: EventCtx::default() }, None))
        .await;
    f.hooks.open_gate();
    hold.await.unwrap().unwrap();
    debit.await.unwrap().unwrap();
    let b = f.store.balance("o").await.unwrap();
    assert_eq!(b.held, Micros::ZERO);
    // seq 4: the partial debit releases the rest of the hold.
    f.check(96, 4).await;
    f.store.shutdown().await;
}

/// A record and a key written by batch N+1 are found by N+2 while N+1 is
/// in flight, after its settled records left memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refund_and_retry_of_what_the_in_flight_batch_wrote() {
    let f = fixture(100).await;
    f.hooks.close_gate();
    let a = f.submit(cmd(grant(1), None)).await;
    f.one_at_gate().await;
    let b = f.submit(cmd(usage(5), Some("kb"))).await; // seq 3: use_3
    f.hooks.allow(1);
    let a = a.await.unwrap().unwrap();
    assert_eq!(a.events[0].seq, 2);
    f.one_at_gate().await; // now b's batch is in flight
    let refund =
        f.submit(cmd(Op::Refund { refers_to: "use_3".into(), amount: None, ctx: EventCtx::default() }, None)).await;
    let retry = f.submit(cmd(usage(5), Some("kb"))).await;
    f.hooks.open_gate();
    let b = b.await.unwrap().unwrap();
    assert_eq!(b.events[0].seq, 3);
    let r = refund.await.unwrap().unwrap();
    assert_eq!(r.events[0].seq, 4);
    assert_eq!(retry.await.unwrap().unwrap(), b);
    f.check(101, 4).await;
    f.store.shutdown().await;
}

/// Batch N fails to commit while N+1 was applied on top of it: both fail,
/// neither is persisted, and memory reloads from disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_fails_the_batch_applied_on_top_of_it() {
    let f = fixture(100).await;
    f.hooks.close_gate();
    let n = f.submit(cmd(usage(10), Some("ka"))).await;
    f.one_at_gate().await;
    let n1 = f.submit(cmd(usage(20), None)).await;
    let n1_hold =
        f.submit(cmd(Op::Hold(HoldOp { amount: credits(5), timeout_seconds: None, ctx: EventCtx::default() }), None));
    let n1_hold = n1_hold.await;
    // Refused on N's state (100 - 10 - 20 - 5 left): must fail too, not
    // report a refusal computed on a state that never existed.
    let n1_refused = f.submit(cmd(usage(66), None)).await;
    f.hooks.fail_next.store(true, Ordering::SeqCst);
    f.hooks.open_gate();
    for t in [n, n1, n1_hold, n1_refused] {
        match t.await.unwrap() {
            Err(e) if e.code() == creditd_core::ErrorCode::StorageError => {}
            other => panic!("expected a storage failure, got {other:?}"),
        }
    }
    f.check(100, 1).await;
    let b = f.store.balance("o").await.unwrap();
    assert_eq!(b.held, Micros::ZERO);
    // The key was not stored: a retry is a first request.
    let again = execute_one(f.store.as_ref(), cmd(usage(10), Some("ka"))).await.unwrap();
    assert_eq!(again.events[0].seq, 2);
    assert_eq!(again.balance.available, credits(90));
    // Memory agrees with disk: exactly 90 can be spent.
    assert!(execute_one(f.store.as_ref(), cmd(usage(91), None)).await.is_err());
    execute_one(f.store.as_ref(), cmd(usage(90), None)).await.unwrap();
    f.check(0, 3).await;
    f.store.shutdown().await;
}

/// Many submitters, keyed and not, some retrying: every acknowledged
/// operation is on disk exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submitters_with_retries() {
    let f = fixture(1_000_000).await;
    let mut tasks = Vec::new();
    for t in 0..8 {
        let store = f.store.clone();
        tasks.push(tokio::spawn(async move {
            let mut spent = 0;
            for round in 0..40 {
                let batch: Vec<Command> = (0..25)
                    .map(|i| {
                        let key = (i % 2 == 0).then(|| format!("t{t}-r{round}-i{i}"));
                        Command::new("o", usage(1), key)
                    })
                    .collect();
                let again: Vec<Command> = batch.iter().filter(|c| c.idempotency_key.is_some()).cloned().collect();
                for r in store.execute(batch).await {
                    r.unwrap();
                    spent += 1;
                }
                // Retries of the keyed half replay.
                for r in store.execute(again).await {
                    r.unwrap();
                }
            }
            spent
        }));
    }
    let mut spent = 0;
    for t in tasks {
        spent += t.await.unwrap();
    }
    assert_eq!(spent, 8 * 40 * 25);
    f.check(1_000_000 - spent, 1 + spent as u64).await;
    f.store.shutdown().await;
}
