//! Reading one's own writes from a read replica.
//!
//! An engine with read replicas (PostgreSQL's `--read-database-url`) serves
//! history pages, exports, analytics and verify from a replica, which may
//! lag the primary by a little. A caller that just wrote and must see its
//! write names the position its write answered (the org's `seq`, in every
//! write's `balance`) for the reads that follow: the server puts the
//! request's `Creditd-Read-After` header here, for the whole request, and an
//! engine reading from a replica first waits (bounded) until the replica has
//! replayed that org's events up to that seq, or reads from the primary.
//!
//! It is carried as a task-local value rather than a parameter of every
//! read, so that every read path honours it without each one being told;
//! code that moves a read to a blocking thread passes it along with
//! [`read_after_sync`]. Engines without replicas ignore it: their reads
//! always see every committed write.

use std::future::Future;

tokio::task_local! {
    static READ_AFTER: u64;
}

/// Runs `f` with reads that must see the org's events up to `seq`
/// (nothing changes with `None`).
pub async fn read_after<F: Future>(seq: Option<u64>, f: F) -> F::Output {
    match seq {
        Some(seq) => READ_AFTER.scope(seq, f).await,
        None => f.await,
    }
}

/// [`read_after`] for blocking code (an export on a blocking thread).
pub fn read_after_sync<R>(seq: Option<u64>, f: impl FnOnce() -> R) -> R {
    match seq {
        Some(seq) => READ_AFTER.sync_scope(seq, f),
        None => f(),
    }
}

/// The position reads in this task must see, if one was named.
pub fn current() -> Option<u64> {
    READ_AFTER.try_with(|seq| *seq).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_position_holds_for_the_task_and_blocking_code_it_hands_on() {
        assert_eq!(current(), None);
        let seen = read_after(Some(7), async {
            let here = current();
            let carried = current();
            let blocking = tokio::task::spawn_blocking(move || read_after_sync(carried, current)).await.unwrap();
            (here, blocking)
        })
        .await;
        assert_eq!(seen, (Some(7), Some(7)));
        assert_eq!(current(), None, "gone after the scope");
        assert_eq!(read_after(None, async { current() }).await, None);
    }
}
