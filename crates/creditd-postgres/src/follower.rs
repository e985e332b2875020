//! The rollup follower of one node: folds the usage rollups of the batches
//! this node committed, and writes them a while later, many batches at a
//! time, instead of in every batch's transaction.
//!
//! Why. On many orgs a batch holds one or two events of each org, so the
//! per-batch fold merges little and each usage event upserted about 12 of
//! its 13 rollup rows: 60% of PostgreSQL's time per batch
//! (`pg_stat_statements`, docs/scaling.md). Folded over [`FLUSH_EVERY`],
//! an org's events of those seconds share their rows.
//!
//! How it stays exact. `rollup_marks` holds, per org, the last `seq` whose
//! event is in `usage_rollups` (no row: 0, nothing folded). Only a flush
//! writes an org's rollup rows, holding the org's mark row lock
//! (`FOR UPDATE`, in `org_id` order: two nodes' flushes never deadlock),
//! and it moves the mark in the same transaction as the rows. So:
//!
//! - a read takes the rows and the events after the mark in one snapshot
//!   and adds those events' rollups to the rows
//!   ([`crate::rollups::read_rows`]): analytics and statements are exact
//!   the moment a write commits, on any node and on a replica;
//! - a flush uses what it holds in memory for an org only if that picks up
//!   exactly where the mark is (one run of this node's batches, from the
//!   mark's next `seq`, with no batch of another node in between);
//!   otherwise (another node wrote the org, a batch's answer was lost, this
//!   node restarted) it folds the org's events after the mark from the
//!   events table, as the read does, up to the last `seq` it knows
//!   committed;
//! - a node that stops without flushing (`kill -9`) leaves at most its last
//!   [`FLUSH_EVERY`] of events unfolded: reads add them, and the next flush
//!   of any node that writes the org, or of any node that starts, folds
//!   them from the events table.

use rustc_hash::FxHashMap;
use std::sync::Mutex;
use std::time::Duration;

use creditd_store::StoreError;
use creditd_store::rollup::{PG_UPSERT, RollupDelta, RollupKey, Rollups};
use deadpool_postgres::Pool;
use tokio::sync::Notify;

use crate::reader::db;
use crate::rollups::{Cols, fold_events_after};

/// How often a node writes the rollups it folded. Each flush writes
/// about 13 rows per org it saw, however many events. On 1,000 orgs
/// (10 s runs, `pg_stat_statements`), flushing every second wrote 0.87
/// rollup rows per event in 1,065 ms of upserts; every five seconds, 0.33
/// in 372 ms. With no flush at all the writes' p99 was 7.9–10.2 ms, with
/// one a second 12.0–13.6 ms (alternating runs, docs/scaling.md). Reads
/// stay exact whatever it is: they add the events past the mark, at most
/// [`FLUSH_ORG_EVENTS`] of an org.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);
/// Events of one org folded in memory that make a node write them before
/// [`FLUSH_EVERY`] is up. A hot org's tail, which every read of it folds,
/// stays this short.
pub const FLUSH_ORG_EVENTS: usize = 4_096;
/// Folded rollup rows held over all orgs that make a node write them
/// before [`FLUSH_EVERY`] is up: the memory a node's fold takes between
/// two flushes, some 30 MB. Counted in rows, not events: over many orgs
/// an org's events share their rows (1,000 orgs hold about 13k rows
/// whatever the rate), while events each of another org add about 13
/// rows each (then about 15k events fill it).
pub const FLUSH_ROWS: usize = 200_000;
/// Folded rows a node keeps in memory while its flushes fail (while
/// writes still commit): past it, it keeps only which orgs to fold again
/// from the events table, which is slower to flush but exact. Four
/// flushes' worth, some 130 MB.
const KEEP_ROWS: usize = 4 * FLUSH_ROWS;
/// Orgs one flush transaction writes: a flush of more is cut into
/// transactions of this many (in `org_id` order), [`FLUSH_PACE`] apart.
/// One transaction for all 1,000 orgs of a second upserted some 12k rows
/// in 80 ms of one PostgreSQL backend, a burst every second that the
/// writes' p99 caught; cut in 128s it is about 10 ms at a time.
pub const FLUSH_CHUNK_ORGS: usize = 128;
/// The pause between two transactions of one flush.
pub const FLUSH_PACE: Duration = Duration::from_millis(20);

/// What one node folded and has not written yet.
#[derive(Default)]
pub(crate) struct Follower {
    pending: Mutex<Pending>,
    wake: Notify,
}

#[derive(Default)]
struct Pending {
    orgs: FxHashMap<String, Vec<Run>>,
    /// Folded rows held (every run's `rows`).
    rows: usize,
}

/// A run's rollup rows: one delta per row, found by its key. Every usage
/// event folds about 13 deltas here, so a lookup is kept cheap (`perf`:
/// SipHash over the keys' strings was once most of the follower's cost,
/// then comparing the org id and copying the key on insert was the
/// largest part left): Fx hashing; the key is the delta's own, not a
/// copy; and the org id is neither hashed nor compared, since a run holds
/// one org's rows ([`Follower::committed`] files each delta under its
/// org).
#[derive(Default)]
struct Rows(hashbrown::HashTable<RollupDelta>);

impl Rows {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn values(&self) -> impl Iterator<Item = &RollupDelta> {
        self.0.iter()
    }

    fn into_values(self) -> impl Iterator<Item = RollupDelta> {
        self.0.into_iter()
    }
}

/// The hash of a row of one org's run: every part of its key but the org.
fn row_hash(k: &RollupKey) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    k.scope.hash(&mut h);
    k.dim.hash(&mut h);
    k.grain.hash(&mut h);
    k.day.hash(&mut h);
    k.key.hash(&mut h);
    h.finish()
}

/// Whether two keys of one org's run are the same row (the cheap parts
/// first).
fn same_row(a: &RollupKey, b: &RollupKey) -> bool {
    a.dim == b.dim && a.grain == b.grain && a.day == b.day && a.key == b.key && a.scope == b.scope
}

/// Consecutive events of one org that this node committed (`first..=last`,
/// with no event of another node in between), and their rollups folded.
/// `rows: None`: only the span is known (the fold could not be kept, or a
/// start-up sweep found it), so a flush folds it from the events table.
struct Run {
    first: i64,
    last: i64,
    rows: Option<Rows>,
    events: usize,
}

impl Run {
    fn row_count(&self) -> usize {
        self.rows.as_ref().map_or(0, |r| r.len())
    }

    /// Adds `later`'s rows to this run's (`later` starts right after it).
    fn absorb(&mut self, later: Run) {
        self.last = self.last.max(later.last);
        self.first = self.first.min(later.first);
        self.events += later.events;
        self.rows = match (self.rows.take(), later.rows) {
            (Some(rows), Some(more)) => folded(rows, more.into_values()),
            _ => None,
        };
    }
}

/// `rows` with every delta added, or `None` once a sum would overflow
/// (then the run is folded from the events table, which reports it).
fn folded(mut rows: Rows, deltas: impl IntoIterator<Item = RollupDelta>) -> Option<Rows> {
    deltas.into_iter().all(|d| fold(&mut rows, d)).then_some(rows)
}

/// Adds `d` to its row; `false` if a sum would overflow.
fn fold(rows: &mut Rows, d: RollupDelta) -> bool {
    let hash = row_hash(&d.at);
    match rows.0.find_mut(hash, |r| same_row(&r.at, &d.at)) {
        None => {
            debug_assert!(rows.0.iter().next().is_none_or(|r| r.at.org_id == d.at.org_id), "one org per run");
            rows.0.insert_unique(hash, d, |r| row_hash(&r.at));
            true
        }
        Some(row) => {
            let (Some(amount), Some(quantity)) =
                (row.amount.checked_add(d.amount), row.quantity.checked_add(d.quantity))
            else {
                return false;
            };
            row.amount = amount;
            row.quantity = quantity;
            row.count = row.count.saturating_add(d.count);
            if !d.name.is_empty() {
                row.name = d.name;
            }
            true
        }
    }
}

impl Pending {
    /// Files one batch's events of `org_id` (`first..=last`) and their
    /// rollups; returns the events the org now has waiting. The common
    /// case, this node's next batch right after its last one on the org,
    /// folds the deltas straight into that run; anything else goes through
    /// [`Pending::add`].
    fn add_batch(&mut self, org_id: &str, first: i64, last: i64, deltas: Vec<RollupDelta>) -> usize {
        let events = (last - first + 1).max(0) as usize;
        if let Some(runs) = self.orgs.get_mut(org_id)
            && let Some(tail) = runs.last_mut()
            && tail.last.checked_add(1) == Some(first)
        {
            tail.last = last;
            tail.events += events;
            let before = tail.row_count();
            tail.rows = tail.rows.take().and_then(|rows| folded(rows, deltas));
            self.rows = (self.rows + tail.row_count()).saturating_sub(before);
            return runs.iter().map(|r| r.events).sum();
        }
        self.add(org_id, Run { first, last, rows: folded(Rows::default(), deltas), events })
    }

    /// Files a run under its org, merged with the runs it touches; returns
    /// the events the org now has waiting.
    fn add(&mut self, org_id: &str, run: Run) -> usize {
        let runs = self.orgs.entry(org_id.to_string()).or_default();
        let before: usize = runs.iter().map(Run::row_count).sum::<usize>();
        runs.push(run);
        runs.sort_by_key(|r| r.first);
        let mut merged: Vec<Run> = Vec::with_capacity(runs.len());
        for r in runs.drain(..) {
            match merged.last_mut() {
                Some(prev) if r.first <= prev.last.saturating_add(1) => {
                    if r.first <= prev.last {
                        // Overlapping spans (the same events seen twice):
                        // keep only the span.
                        prev.rows = None;
                        prev.last = prev.last.max(r.last);
                        prev.events += r.events;
                    } else {
                        prev.absorb(r);
                    }
                }
                _ => merged.push(r),
            }
        }
        *runs = merged;
        let after: usize = runs.iter().map(Run::row_count).sum();
        self.rows = (self.rows + after).saturating_sub(before);
        runs.iter().map(|r| r.events).sum()
    }

    /// Cuts this into parts of at most `orgs` orgs each, in `org_id`
    /// order (what one flush transaction writes).
    fn into_chunks(self, orgs: usize) -> Vec<Pending> {
        let mut all: Vec<(String, Vec<Run>)> = self.orgs.into_iter().collect();
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut chunks = Vec::with_capacity(all.len().div_ceil(orgs.max(1)));
        let mut all = all.into_iter().peekable();
        while all.peek().is_some() {
            let mut chunk = Pending::default();
            for (org, runs) in all.by_ref().take(orgs.max(1)) {
                chunk.rows += runs.iter().map(Run::row_count).sum::<usize>();
                chunk.orgs.insert(org, runs);
            }
            chunks.push(chunk);
        }
        chunks
    }

    /// Keeps the spans and drops the folded rows (memory bound).
    fn forget_rows(&mut self) {
        self.rows = 0;
        for runs in self.orgs.values_mut() {
            for r in runs.iter_mut() {
                r.rows = None;
            }
        }
    }
}

impl Follower {
    /// Files the rollups of a committed batch: `deltas` (folded per row,
    /// every org of the batch) and, per org, the span of `seq`s the batch
    /// wrote (`first..=last`, every event of that org in it).
    pub(crate) fn committed(&self, deltas: Vec<RollupDelta>, spans: &[(&str, i64, i64)]) {
        if spans.is_empty() {
            return;
        }
        let index: FxHashMap<&str, usize> = spans.iter().enumerate().map(|(i, s)| (s.0, i)).collect();
        let mut per_org: Vec<Vec<RollupDelta>> = spans.iter().map(|_| Vec::new()).collect();
        for d in deltas {
            if let Some(&i) = index.get(d.at.org_id.as_str()) {
                per_org[i].push(d);
            }
        }
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let mut busiest = 0;
        for (&(org, first, last), deltas) in spans.iter().zip(per_org) {
            busiest = busiest.max(p.add_batch(org, first, last, deltas));
        }
        if busiest >= FLUSH_ORG_EVENTS || p.rows >= FLUSH_ROWS {
            self.wake.notify_one();
        }
    }

    /// Files spans to fold from the events table (a start-up sweep).
    fn behind(&self, spans: Vec<(String, i64, i64)>) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        for (org, first, last) in spans {
            p.add(&org, Run { first, last, rows: None, events: 0 });
        }
        drop(p);
        // Written at once: what a stopped node left is read by every read
        // of those orgs until then.
        self.wake.notify_one();
    }

    /// Writes what this node folded: the orgs' rollup rows and marks, in
    /// transactions of [`FLUSH_CHUNK_ORGS`] orgs, [`FLUSH_PACE`] apart. On
    /// a failure, what that transaction and the ones after it would have
    /// written is kept for the next flush (each transaction writes its
    /// orgs' rows and marks together, so what committed stays exact).
    /// `paced: false` (the last flush, once the writer has stopped: no
    /// write waits behind it) skips the pauses. Returns the orgs written.
    pub(crate) async fn flush(&self, pool: &Pool, paced: bool) -> Result<usize, StoreError> {
        let taken = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if taken.orgs.is_empty() {
            return Ok(0);
        }
        let mut chunks = taken.into_chunks(FLUSH_CHUNK_ORGS).into_iter();
        let mut written = 0;
        while let Some(chunk) = chunks.next() {
            match write(pool, &chunk).await {
                Ok(n) => written += n,
                Err(e) => {
                    self.put_back(chunk);
                    for rest in chunks {
                        self.put_back(rest);
                    }
                    return Err(e);
                }
            }
            if paced && chunks.len() > 0 {
                tokio::time::sleep(FLUSH_PACE).await;
            }
        }
        Ok(written)
    }

    /// Files again what a failed flush took (merged with what was filed
    /// meanwhile); past [`KEEP_ROWS`] only the spans are kept.
    fn put_back(&self, taken: Pending) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        for (org, runs) in taken.orgs {
            for run in runs {
                p.add(&org, run);
            }
        }
        if p.rows > KEEP_ROWS {
            p.forget_rows();
        }
    }

    /// Flushes every [`FLUSH_EVERY`], or sooner when [`FLUSH_ORG_EVENTS`]
    /// events of one org or [`FLUSH_ROWS`] folded rows of all wait; first, files
    /// every org whose events are past its mark (what a node that stopped
    /// without flushing left).
    pub(crate) async fn run(self: std::sync::Arc<Self>, pool: Pool) {
        match sweep(&pool).await {
            Ok(spans) => self.behind(spans),
            Err(e) => tracing::warn!(error = %e, "rollups: could not look for unfolded events at start"),
        }
        loop {
            tokio::select! {
                _ = tokio::time::sleep(FLUSH_EVERY) => {}
                _ = self.wake.notified() => {}
            }
            if let Err(e) = self.flush(&pool, true).await {
                tracing::warn!(error = %e, "rollups: flush failed; kept for the next one");
            }
        }
    }
}

/// Orgs whose events are past their mark, with the span to fold.
async fn sweep(pool: &Pool) -> Result<Vec<(String, i64, i64)>, StoreError> {
    let c = pool.get().await.map_err(StoreError::backend)?;
    let rows = c
        .query(
            "SELECT o.org_id, COALESCE(m.seq, 0), o.seq FROM orgs o LEFT JOIN rollup_marks m ON m.org_id = o.org_id \
             WHERE o.seq > COALESCE(m.seq, 0)",
            &[],
        )
        .await
        .map_err(db)?;
    rows.iter()
        .map(|r| Ok((r.try_get(0).map_err(db)?, r.try_get::<_, i64>(1).map_err(db)? + 1, r.try_get(2).map_err(db)?)))
        .collect()
}

/// Locks the marks of `taken`'s orgs, picks each org's rows (this node's
/// fold when it starts at the mark, else a fold of the events table), and
/// writes rows and marks.
async fn write(pool: &Pool, taken: &Pending) -> Result<usize, StoreError> {
    let mut ids: Vec<&str> = taken.orgs.keys().map(String::as_str).collect();
    ids.sort_unstable();
    let mut c = pool.get().await.map_err(StoreError::backend)?;
    let tx = c.transaction().await.map_err(db)?;
    tx.execute(
        "INSERT INTO rollup_marks (org_id, seq) SELECT unnest($1::text[]), 0 ON CONFLICT (org_id) DO NOTHING",
        &[&ids],
    )
    .await
    .map_err(db)?;
    let marks = tx
        .query("SELECT org_id, seq FROM rollup_marks WHERE org_id = ANY($1) ORDER BY org_id FOR UPDATE", &[&ids])
        .await
        .map_err(db)?;
    let mut deltas: Vec<RollupDelta> = Vec::new();
    let mut moved: (Vec<&str>, Vec<i64>) = (Vec::new(), Vec::new());
    let mut from_table: (Vec<&str>, Vec<i64>, Vec<i64>) = (Vec::new(), Vec::new(), Vec::new());
    for m in &marks {
        let org: &str = m.try_get(0).map_err(db)?;
        let mark: i64 = m.try_get(1).map_err(db)?;
        let Some((org, runs)) = taken.orgs.get_key_value(org) else { continue };
        let left: Vec<&Run> = runs.iter().filter(|r| r.last > mark).collect();
        let Some(upto) = left.iter().map(|r| r.last).max() else { continue };
        match left.as_slice() {
            [run] if run.first == mark + 1 && run.rows.is_some() => {
                deltas.extend(run.rows.iter().flat_map(|rows| rows.values().cloned()));
            }
            _ => {
                from_table.0.push(org);
                from_table.1.push(mark);
                from_table.2.push(upto);
            }
        }
        moved.0.push(org);
        moved.1.push(upto);
    }
    if !from_table.0.is_empty() {
        let rollups: Rollups = fold_events_after(&tx, &from_table.0, &from_table.1, &from_table.2).await?;
        deltas.extend(rollups.checked_deltas()?);
    }
    if !deltas.is_empty() {
        let st = tx.prepare_cached(PG_UPSERT).await.map_err(db)?;
        tx.execute(&st, &Cols::of(&deltas).params()).await.map_err(db)?;
    }
    if !moved.0.is_empty() {
        tx.execute(
            "UPDATE rollup_marks SET seq = u.seq FROM UNNEST($1::text[], $2::int8[]) AS u(org_id, seq) \
             WHERE rollup_marks.org_id = u.org_id",
            &[&moved.0, &moved.1],
        )
        .await
        .map_err(db)?;
    }
    tx.commit().await.map_err(db)?;
    Ok(moved.0.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use creditd_core::Micros;
    use creditd_core::prices::Quantity;
    use creditd_store::rollup::{Dim, Grain};

    fn delta(org: &str, amount: i64) -> RollupDelta {
        RollupDelta {
            at: RollupKey {
                org_id: org.into(),
                scope: "org".into(),
                dim: Dim::Total,
                grain: Grain::Day,
                day: jiff::civil::date(2026, 12, 7),
                key: String::new(),
            },
            name: String::new(),
            amount: Micros::from_micros(amount),
            count: 1,
            quantity: Quantity::ZERO,
        }
    }

    fn runs(f: &Follower, org: &str) -> Vec<(i64, i64, Option<i64>)> {
        let p = f.pending.lock().unwrap();
        p.orgs[org]
            .iter()
            .map(|r| (r.first, r.last, r.rows.as_ref().map(|rows| rows.values().map(|d| d.amount.micros()).sum())))
            .collect()
    }

    #[test]
    fn adjacent_batches_make_one_run_and_a_gap_keeps_two() {
        let f = Follower::default();
        f.committed(vec![delta("a", 5)], &[("a", 1, 3)]);
        f.committed(vec![delta("a", 7)], &[("a", 4, 4)]);
        assert_eq!(runs(&f, "a"), vec![(1, 4, Some(12))]);
        // Another node wrote 5..=9.
        f.committed(vec![delta("a", 1)], &[("a", 10, 10)]);
        assert_eq!(runs(&f, "a"), vec![(1, 4, Some(12)), (10, 10, Some(1))]);
        // A batch whose answer came late fills the gap: one run again.
        f.committed(vec![delta("a", 2)], &[("a", 5, 9)]);
        assert_eq!(runs(&f, "a"), vec![(1, 10, Some(15))]);
        assert_eq!(waiting(&f), 10);
    }

    #[test]
    fn an_overflowing_fold_or_an_overlap_keeps_only_the_span() {
        let f = Follower::default();
        f.committed(vec![delta("a", i64::MAX)], &[("a", 1, 1)]);
        f.committed(vec![delta("a", 1)], &[("a", 2, 2)]);
        assert_eq!(runs(&f, "a"), vec![(1, 2, None)]);
        f.committed(vec![delta("b", 1)], &[("b", 1, 2)]);
        f.committed(vec![delta("b", 1)], &[("b", 2, 3)]);
        assert_eq!(runs(&f, "b"), vec![(1, 3, None)]);
    }

    /// Whether `f` has asked its loop for a flush (consumes the request).
    fn flush_asked(f: &Follower) -> bool {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(async { tokio::time::timeout(Duration::from_millis(1), f.wake.notified()).await.is_ok() })
    }

    #[test]
    fn one_hot_org_flushes_at_its_own_count_many_orgs_at_the_total() {
        let f = Follower::default();
        let last = FLUSH_ORG_EVENTS as i64 - 1;
        f.committed(vec![delta("hot", 1)], &[("hot", 1, last)]);
        assert!(!flush_asked(&f), "one event short of a flush");
        f.committed(vec![delta("hot", 1)], &[("hot", last + 1, last + 1)]);
        assert!(flush_asked(&f), "a hot org's tail is kept at FLUSH_ORG_EVENTS");

        // Many orgs, each far below its own count: only the rows they hold
        // together ask, and events that share their rows add none.
        let f = Follower::default();
        let per_org = 100;
        let orgs: Vec<String> = (0..FLUSH_ROWS / per_org).map(|i| format!("o{i}")).collect();
        let (last, before) = orgs.split_last().unwrap();
        for org in before {
            f.committed(keyed(org, per_org), &[(org, 1, 2)]);
            f.committed(keyed(org, per_org), &[(org, 3, 3)]);
        }
        assert_eq!(f.pending.lock().unwrap().rows, FLUSH_ROWS - per_org, "the second batches shared their rows");
        // A request made earlier would still be waiting here.
        assert!(!flush_asked(&f), "{} events over {} orgs", before.len() * 3, before.len());
        f.committed(keyed(last, per_org), &[(last, 1, 1)]);
        assert!(flush_asked(&f), "FLUSH_ROWS over all orgs");
    }

    #[test]
    fn a_failed_flush_keeps_everything_and_past_the_bound_only_the_spans() {
        let f = Follower::default();
        f.committed(vec![delta("a", 5)], &[("a", 1, 10)]);
        let taken = std::mem::take(&mut *f.pending.lock().unwrap());
        // Filed while the flush was out: merged with what it took.
        f.committed(vec![delta("a", 2)], &[("a", 11, 12)]);
        f.put_back(taken);
        assert_eq!(runs(&f, "a"), vec![(1, 12, Some(7))]);
        assert_eq!(waiting(&f), 12);
        assert_eq!(f.pending.lock().unwrap().rows, 1);

        let f = Follower::default();
        f.committed(keyed("a", KEEP_ROWS), &[("a", 1, 10)]);
        let taken = std::mem::take(&mut *f.pending.lock().unwrap());
        f.committed(vec![delta("b", 1)], &[("b", 1, 1)]);
        f.put_back(taken);
        assert_eq!(runs(&f, "a"), vec![(1, 10, None)], "past the bound: the span, to fold again");
        assert_eq!(runs(&f, "b"), vec![(1, 1, None)]);
        assert_eq!((waiting(&f), f.pending.lock().unwrap().rows), (11, 0));
    }

    /// Events `p` has waiting, over all its orgs' runs.
    fn events_in(p: &Pending) -> usize {
        p.orgs.values().flatten().map(|r| r.events).sum()
    }

    fn waiting(f: &Follower) -> usize {
        events_in(&f.pending.lock().unwrap())
    }

    /// `n` deltas of `org` on distinct rows.
    fn keyed(org: &str, n: usize) -> Vec<RollupDelta> {
        (0..n)
            .map(|i| {
                let mut d = delta(org, 1);
                d.at.key = format!("k{i}");
                d
            })
            .collect()
    }

    #[test]
    fn a_flush_of_many_orgs_is_cut_in_org_order_and_keeps_every_run() {
        let f = Follower::default();
        for i in 0..300 {
            f.committed(vec![delta(&format!("o{i:03}"), 2)], &[(&format!("o{i:03}"), 1, 3)]);
        }
        f.committed(vec![delta("o007", 1)], &[("o007", 9, 9)]);
        let taken = std::mem::take(&mut *f.pending.lock().unwrap());
        let chunks = taken.into_chunks(FLUSH_CHUNK_ORGS);
        let sizes: Vec<usize> = chunks.iter().map(|c| c.orgs.len()).collect();
        assert_eq!(sizes, [128, 128, 44]);
        assert_eq!(chunks.iter().map(events_in).sum::<usize>(), 901);
        assert_eq!(chunks.iter().map(|c| c.rows).collect::<Vec<_>>(), [129, 128, 44]);
        let mut last = String::new();
        for c in &chunks {
            let mut ids: Vec<&String> = c.orgs.keys().collect();
            ids.sort();
            assert!(ids[0] > &last, "chunks follow org order");
            last = ids[ids.len() - 1].clone();
        }
        assert_eq!(chunks[0].orgs["o007"].iter().map(|r| (r.first, r.last)).collect::<Vec<_>>(), [(1, 3), (9, 9)]);
        // A failed part and the ones after it go back whole.
        for c in chunks.into_iter().skip(1) {
            f.put_back(c);
        }
        assert_eq!(f.pending.lock().unwrap().orgs.len(), 172);
        assert_eq!(runs(&f, "o299"), vec![(1, 3, Some(2))]);
    }

    #[test]
    fn deltas_fold_by_their_row_and_every_part_of_the_key_counts() {
        let mut rows = Rows::default();
        let base = delta("a", 1);
        let mut variants = vec![base.clone(), base.clone()];
        let mut other = |f: &dyn Fn(&mut RollupKey)| {
            let mut d = base.clone();
            f(&mut d.at);
            variants.push(d);
        };
        other(&|k| k.scope = "user:a@example.com".into());
        other(&|k| k.dim = Dim::Service);
        other(&|k| k.grain = Grain::Month);
        other(&|k| k.day = jiff::civil::date(2026, 12, 8));
        other(&|k| k.key = "x".into());
        for d in variants {
            assert!(fold(&mut rows, d));
        }
        assert_eq!(rows.len(), 6, "the two equal keys share a row; each change of a part makes its own");
        let same = rows.values().find(|d| d.at == base.at).expect("the base row");
        assert_eq!((same.amount.micros(), same.count), (2, 2));
        assert_eq!(rows.into_values().map(|d| d.amount.micros()).sum::<i64>(), 7);
    }

    #[test]
    fn a_batch_of_two_orgs_files_each_its_own_rows() {
        let f = Follower::default();
        f.committed(vec![delta("a", 3), delta("b", 4)], &[("a", 7, 8), ("b", 2, 2)]);
        assert_eq!(runs(&f, "a"), vec![(7, 8, Some(3))]);
        assert_eq!(runs(&f, "b"), vec![(2, 2, Some(4))]);
    }
}
