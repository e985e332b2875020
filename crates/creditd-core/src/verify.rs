//! Recomputes balances from events and compares them with what was stored:
//! available, held and prepaid after every event, the free pools after the
//! last one (when events carry them; each event's pools must also hold at
//! least its available plus the reversal debt the events leave), reversals
//! and the state's invariants.
//!
//! Works on a stream so a 10M-event org needs constant memory.

use crate::chain::{self, ChainHash};
use crate::event::{Event, FreePools, Pool};
use crate::money::Micros;
use crate::state::{OrgState, RecordKind, RecordStatus};

/// Folds events in sequence order and reports the first inconsistency.
#[derive(Debug, Default)]
pub struct Verifier {
    /// Events pushed so far.
    pub events: u64,
    last_seq: u64,
    available: Micros,
    held: Micros,
    prepaid: Micros,
    problems: Vec<String>,
    /// The stored hash of the last event pushed with [`Verifier::push_chained`].
    prev_hash: ChainHash,
    chained: bool,
    broken_link: Option<BrokenLink>,
    /// Purchases reversed so far (a purchase is reversed at most once).
    reversed: std::collections::HashSet<String>,
    /// The reversal debt the events leave so far (replayed by
    /// [`crate::effects::debt_after`]).
    reversal_debt: Micros,
    /// The free pools after the last event, when it carries them.
    pools: Option<FreePools>,
}

/// The first event whose stored hash does not follow from the one before it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct BrokenLink {
    /// The event whose link is broken.
    pub seq: u64,
    /// The hash stored with the event (none: the row has no hash).
    pub stored_hash: Option<String>,
    /// What the previous stored hash and the event's stored content give.
    pub recomputed_hash: String,
    /// What this means, in one sentence (an edited row, a missing hash, …).
    pub what: String,
}

/// The end of a verification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct VerifyReport {
    /// The organisation verified.
    pub org_id: String,
    /// Events read.
    pub events: u64,
    /// No problem found.
    pub ok: bool,
    /// What is wrong, in words; at most the first 20.
    pub problems: Vec<String>,
    /// Whether the hash chain was checked (engines do; a bare replay does not).
    #[serde(default)]
    pub chain_checked: bool,
    /// The first broken link of the hash chain, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken_link: Option<BrokenLink>,
}

const MAX_PROBLEMS: usize = 20;

impl Verifier {
    /// A verifier before the first event.
    pub fn new() -> Self {
        Self::default()
    }

    fn problem(&mut self, msg: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(msg);
        }
    }

    /// Folds the next event (in `seq` order): checks there is no gap and
    /// that its balances after follow from the one before.
    pub fn push(&mut self, e: &Event) {
        self.events += 1;
        if e.seq != self.last_seq + 1 {
            self.problem(format!("event seq {} follows seq {}: a gap or a repeat", e.seq, self.last_seq));
        }
        self.last_seq = e.seq;
        let (da, dh) = e.deltas();
        let (Some(a), Some(h)) = (self.available.checked_add(da), self.held.checked_add(dh)) else {
            self.problem(format!("event {}: amount overflows", e.seq));
            return;
        };
        if a != e.balance_after {
            self.problem(format!(
                "event {} ({}): balance_after is {} but the events before it sum to {}",
                e.seq, e.kind, e.balance_after, a
            ));
        }
        if h != e.held_after {
            self.problem(format!("event {} ({}): held_after is {} but should be {}", e.seq, e.kind, e.held_after, h));
        }
        if e.held_after.is_negative() {
            self.problem(format!("event {}: held is negative", e.seq));
        }
        if e.kind == crate::event::EventKind::Reversal {
            self.check_reversal(e);
        }
        self.reversal_debt = crate::effects::debt_after(self.reversal_debt, e);
        if let Some(p) = e.pools_after {
            self.check_pools(e, &p);
        }
        self.pools = e.pools_after;
        // Carry the stored values on so one bad row is reported once.
        self.available = e.balance_after;
        self.held = e.held_after;
        self.prepaid = e.prepaid_balance_after;
    }

    /// An event's pool columns: none negative, and what the blocks hold
    /// (the free pools and prepaid) less available is the overdraft used
    /// plus the reversal debt, so never less than the debt the events
    /// leave ([`FreePools::owed_beyond`]).
    fn check_pools(&mut self, e: &Event, p: &FreePools) {
        if p.owed_beyond(e.prepaid_balance_after, e.balance_after, self.reversal_debt).is_none() {
            self.problem(format!(
                "event {} ({}): its pools (plan {}, voucher {}, promotional {}, prepaid {}) are negative or hold \
                 less than its balance_after {} plus the reversal debt the events leave ({})",
                e.seq,
                e.kind,
                p.plan,
                p.voucher,
                p.promotional,
                e.prepaid_balance_after,
                e.balance_after,
                self.reversal_debt
            ));
        }
    }

    /// A `reversal` takes credits (never adds), names its purchase, and is
    /// the only one for that purchase.
    fn check_reversal(&mut self, e: &Event) {
        if e.amount.is_positive() {
            self.problem(format!(
                "event {} (reversal): a reversal takes credits, but its amount is {}",
                e.seq, e.amount
            ));
        }
        match e.hold_id.as_deref() {
            Some(p) if p.starts_with("pur_") => {
                if !self.reversed.insert(p.to_string()) {
                    self.problem(format!("event {} (reversal): purchase {p} is reversed a second time", e.seq));
                }
            }
            other => self.problem(format!("event {} (reversal): names no purchase ({other:?})", e.seq)),
        }
    }

    /// Like [`Verifier::push`], and checks `stored` (the hash kept with the
    /// event) is the chain hash of the event after the previous stored one.
    /// Only the first broken link is reported: carrying the stored hash on
    /// means a single edited row breaks one link.
    pub fn push_chained(&mut self, e: &Event, stored: Option<&str>) {
        self.chained = true;
        self.push(e);
        let recomputed = chain::hash(&self.prev_hash, e);
        let parsed = stored.and_then(|s| s.parse::<ChainHash>().ok());
        if parsed != Some(recomputed) && self.broken_link.is_none() {
            let what = match (stored, parsed) {
                (None, _) => "the event has no stored hash".to_string(),
                (Some(_), None) => "the stored hash is not 64 hex digits".to_string(),
                (Some(_), Some(_)) => format!(
                    "the stored hash does not match the event's content chained after event {}'s hash: event {} \
                     was changed after it was written (or event {} was, and its hash rewritten)",
                    e.seq.saturating_sub(1),
                    e.seq,
                    e.seq.saturating_sub(1)
                ),
            };
            self.problem(format!("hash chain broken at event {}: {what}", e.seq));
            self.broken_link = Some(BrokenLink {
                seq: e.seq,
                stored_hash: stored.map(str::to_string),
                recomputed_hash: recomputed.to_string(),
                what,
            });
        }
        self.prev_hash = parsed.unwrap_or(recomputed);
    }

    /// Compares the folded events with the stored state.
    pub fn finish(mut self, state: &OrgState) -> VerifyReport {
        if self.chained && state.last_hash != self.prev_hash && state.seq == self.last_seq {
            self.problem(format!(
                "the state's last hash {} differs from event {}'s stored hash {}",
                state.last_hash, self.last_seq, self.prev_hash
            ));
        }
        if state.seq != self.last_seq {
            self.problem(format!("state is at seq {} but the last event is seq {}", state.seq, self.last_seq));
        }
        if state.available() != self.available {
            self.problem(format!("stored available {} differs from the events' {}", state.available(), self.available));
        }
        if state.held != self.held {
            self.problem(format!("stored held {} differs from the events' {}", state.held, self.held));
        }
        let prepaid = state.pool_total(crate::event::Pool::Prepaid);
        if prepaid != self.prepaid {
            self.problem(format!("stored prepaid {} differs from the events' {}", prepaid, self.prepaid));
        }
        if let Some(p) = self.pools {
            let stored =
                [state.pool_total(Pool::Plan), state.pool_total(Pool::Voucher), state.pool_total(Pool::Promotional)];
            if stored != [p.plan, p.voucher, p.promotional] {
                self.problem(format!(
                    "stored pools (plan {}, voucher {}, promotional {}) differ from the last event's ({}, {}, {})",
                    stored[0], stored[1], stored[2], p.plan, p.voucher, p.promotional
                ));
            }
        }
        let open_held = state
            .records
            .values()
            .filter(|r| r.kind == RecordKind::Hold && r.status == RecordStatus::Open)
            .fold(Micros::ZERO, |acc, r| acc.checked_add(r.amount).unwrap_or(Micros::MAX));
        if open_held != state.held {
            self.problem(format!("open holds add up to {} but held is {}", open_held, state.held));
        }
        if let Err(e) = state.check_invariants() {
            self.problem(e.0);
        }
        VerifyReport {
            org_id: state.org_id.clone(),
            events: self.events,
            ok: self.problems.is_empty(),
            problems: self.problems,
            chain_checked: self.chained,
            broken_link: self.broken_link,
        }
    }
}
