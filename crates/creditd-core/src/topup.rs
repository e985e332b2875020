//! Auto top-up: below a threshold, the ledger opens a `processing`
//! purchase and asks the organisation's backend (webhook
//! `top_up.requested`) to charge for it; the backend settles it with the
//! ordinary settle route.
//!
//! It exists as a rule file of its own (beside `ledger`, `plans`,
//! `reversal`, importing none of them) because a top-up is not asked for:
//! it follows from whatever operation left the balance low, in the same
//! `apply` (so in the same transaction, atomic with that operation's
//! events). The rules, all decided here ([`OrgState::after_top_up`]):
//!
//! - **Request.** After any operation that wrote an event or changed the
//!   state, if the rule is enabled and not paused, no top-up is pending,
//!   and available credits are below `threshold`, one purchase is opened
//!   (`pur_<seq>`, `processing`, prepaid, source `auto_top_up`). Since the
//!   writer applies an org's operations one after the other, at most one
//!   is ever pending, however many clients race.
//! - **Amount.** `amount`, or `target_balance − available` (exact; at
//!   least 1 micro-credit, since available is below the threshold and the
//!   threshold below the target). With `max_per_period.credits`, it is cut
//!   to what is left of the cap; nothing is requested when nothing is left,
//!   nor when `max_per_period.count` top-ups were already requested this
//!   period. A top-up counts in the period it was requested in, unless it
//!   fails.
//! - **Settle.** Succeeded: the credits arrive as for any purchase, and
//!   the failure count goes back to zero. Failed: the count and credits
//!   are given back to the period, the failure count goes up, and that
//!   settle requests nothing (the next operation that leaves the balance
//!   below the threshold tries again). After `pause_after_failures`
//!   consecutive failures auto top-up pauses (`top_up.paused`), until a
//!   purchase succeeds (a pending one settled, or one recorded succeeded)
//!   or the rule is set again.

use crate::effects::{Notification, NotificationKind, Tx};
use crate::error::LedgerError;
use crate::event::{Event, EventCtx, EventKind, Pool, Status};
use crate::money::Micros;
use crate::money_in::{AutoTopUpRule, PendingTopUp, TopUpPause};
use crate::state::{OrgState, Record, RecordKind, RecordStatus};

/// The `source` of every auto top-up purchase.
pub const TOP_UP_SOURCE: &str = "auto_top_up";

/// `GET …/auto-top-up`: the rule and where it stands.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AutoTopUpView {
    /// `off` (no rule), `active`, `disabled` (`enabled: false`) or
    /// `paused` (see `paused`).
    pub status: String,
    /// The rule; null: none.
    pub rule: Option<AutoTopUpRule>,
    /// The top-up waiting for its settle, if any.
    pub pending: Option<PendingTopUp>,
    /// Start of the period the counts are for.
    pub period_start: Option<jiff::Timestamp>,
    /// Top-ups requested this period that did not fail.
    pub count_this_period: u32,
    /// Their credits.
    pub credits_this_period: Micros,
    /// Top-ups settled failed since the last one that succeeded.
    pub consecutive_failures: u32,
    /// Why and since when it is paused; null: not paused.
    pub paused: Option<TopUpPause>,
}

impl OrgState {
    /// `Plans(SetAutoTopUp)`: sets the rule (checked by
    /// [`AutoTopUpRule::validate`]). Setting it resumes a paused auto
    /// top-up and forgets the failures; a pending top-up stays pending and
    /// this period's counts stay. If available credits are already below
    /// the threshold, the top-up is requested at once (by the step every
    /// operation ends with). Writes no event of its own.
    pub(crate) fn set_auto_top_up(&mut self, tx: &mut Tx, rule: &AutoTopUpRule) -> Result<(), LedgerError> {
        rule.validate()?;
        self.auto_top_up.rule = Some(rule.clone());
        self.auto_top_up.consecutive_failures = 0;
        self.auto_top_up.paused = None;
        tx.dirty = true;
        Ok(())
    }

    /// The auto top-up as of now (counts of an earlier period read as zero).
    pub fn auto_top_up_view(&self, now: jiff::Timestamp) -> AutoTopUpView {
        let t = &self.auto_top_up;
        let current = self.period_end.is_none_or(|end| now < end) && t.period_start == self.period_start;
        AutoTopUpView {
            status: t.status().status,
            rule: t.rule.clone(),
            pending: t.pending.clone(),
            period_start: if current { t.period_start } else { None },
            count_this_period: if current { t.count } else { 0 },
            credits_this_period: if current { t.credits } else { Micros::ZERO },
            consecutive_failures: t.consecutive_failures,
            paused: t.paused.clone(),
        }
    }

    /// The step every operation ends with (after the low-balance check and
    /// the usage alerts): notes the settle of a top-up and requests the
    /// next one when the balance is below the threshold (the module docs
    /// state the rules). Nothing for an operation that changed nothing.
    /// Never refuses: it runs after the operation's own changes.
    pub(crate) fn after_top_up(&mut self, tx: &mut Tx) {
        if (tx.events.is_empty() && !tx.dirty) || self.auto_top_up.is_empty() {
            return;
        }
        self.roll_top_up_period();
        let settled: Vec<(String, Status)> = tx
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Purchase && e.status != Status::Processing)
            .filter_map(|e| e.hold_id.clone().map(|id| (id, e.status)))
            .collect();
        let mut failed_now = false;
        for (id, status) in settled {
            failed_now |= self.top_up_settled(tx, &id, status);
        }
        if !failed_now {
            self.request_top_up(tx);
        }
    }

    /// A purchase `id` was settled `status`: a success (any purchase)
    /// ends the run of failures and any pause, and clears the pending
    /// top-up if it was this one; the pending top-up's failure counts.
    /// Returns whether that failure happened.
    fn top_up_settled(&mut self, tx: &mut Tx, id: &str, status: Status) -> bool {
        let ours = self.auto_top_up.pending.as_ref().is_some_and(|p| p.purchase_id == id);
        match status {
            Status::Succeeded => {
                let t = &mut self.auto_top_up;
                if ours {
                    t.pending = None;
                    t.pending_counted = false;
                }
                t.consecutive_failures = 0;
                t.paused = None;
                false
            }
            Status::Failed if ours => {
                self.top_up_failed(tx, id);
                true
            }
            _ => false,
        }
    }

    /// A top-up purchase `id` of `amount` was opened at `at`; `counted`:
    /// in the period `auto_top_up.period_start` (so it counts against the
    /// cap, and its failure gives that back).
    fn top_up_opened(&mut self, id: String, amount: Micros, at: jiff::Timestamp, counted: bool) {
        let t = &mut self.auto_top_up;
        t.pending = Some(PendingTopUp { purchase_id: id, amount, requested_at: at });
        t.pending_counted = counted;
        if counted {
            t.count = t.count.saturating_add(1);
            t.credits = t.credits.checked_add(amount).unwrap_or(Micros::MAX);
        }
    }

    /// An imported history's auto top-up, replayed through the steps the
    /// live operations take: the pending top-up (a `processing` purchase
    /// of source `auto_top_up` not settled in the file), the top-ups of
    /// the current period that did not fail (they count against the cap),
    /// and the failures since the last purchase that succeeded. The rule
    /// itself is a setting, not an event: the import has none until it is
    /// set again (which clears the failures, as any `PUT` does), and with
    /// no rule nothing pauses or is requested.
    pub fn rebuild_top_up(&mut self, events: &[Event]) {
        let mut tx = Tx::new(self.last_at.unwrap_or(self.created_at), None);
        self.auto_top_up.period_start = self.period_start;
        for e in events.iter().filter(|e| e.kind == EventKind::Purchase) {
            let Some(id) = e.hold_id.as_deref() else { continue };
            match e.status {
                Status::Processing if e.source.as_deref() == Some(TOP_UP_SOURCE) => {
                    let counted = self.period_start.is_none_or(|start| e.created_at >= start);
                    self.top_up_opened(id.to_string(), e.amount, e.created_at, counted);
                }
                Status::Processing => {}
                status => {
                    self.top_up_settled(&mut tx, id, status);
                }
            }
        }
    }

    /// Counts of an earlier period start again from zero.
    fn roll_top_up_period(&mut self) {
        let t = &mut self.auto_top_up;
        if t.period_start != self.period_start {
            t.period_start = self.period_start;
            t.count = 0;
            t.credits = Micros::ZERO;
            t.pending_counted = false;
        }
    }

    /// The pending top-up `id` was settled failed.
    fn top_up_failed(&mut self, tx: &mut Tx, id: &str) {
        let t = &mut self.auto_top_up;
        let amount = t.pending.take().map_or(Micros::ZERO, |p| p.amount);
        if t.pending_counted {
            t.count = t.count.saturating_sub(1);
            t.credits = t.credits.checked_sub(amount).unwrap_or(Micros::ZERO).max(Micros::ZERO);
            t.pending_counted = false;
        }
        t.consecutive_failures = t.consecutive_failures.saturating_add(1);
        let limit = t.rule.as_ref().map_or(u32::MAX, |r| r.pause_after_failures);
        if t.paused.is_none() && t.consecutive_failures >= limit {
            let what = match t.consecutive_failures {
                1 => "1 top-up failed".to_string(),
                n => format!("{n} top-ups failed in a row"),
            };
            let reason =
                format!("{what} (the last: {id}); it resumes when a purchase succeeds or the rule is set again");
            t.paused = Some(TopUpPause { since: tx.now, reason: reason.clone(), last_failed: id.to_string() });
            let threshold = t.rule.as_ref().map_or(Micros::ZERO, |r| r.threshold);
            let balance = self.available();
            self.notify(
                tx,
                Notification {
                    purchase_id: Some(id.to_string()),
                    reason: Some(reason),
                    ..Notification::new(NotificationKind::TopUpPaused, tx.now, threshold, balance)
                },
            );
        }
    }

    /// Opens the top-up if the rule asks for one now. Never refuses: it
    /// runs after the operation's own changes.
    fn request_top_up(&mut self, tx: &mut Tx) {
        let t = &self.auto_top_up;
        let Some(rule) = t.rule.clone() else {
            return;
        };
        let available = self.available();
        if !rule.enabled || t.paused.is_some() || t.pending.is_some() || available >= rule.threshold {
            return;
        }
        let cap = rule.max_per_period.clone().unwrap_or_default();
        if cap.count.is_some_and(|c| t.count >= c) {
            return;
        }
        // Nothing here refuses the operation that crossed: a figure out of
        // range requests nothing instead.
        let amount = match (rule.amount, rule.target_balance) {
            (Some(a), _) => Some(a),
            (None, Some(target)) => target.checked_sub(available),
            (None, None) => None,
        };
        let amount = match (amount, cap.credits) {
            (Some(a), Some(limit)) => limit.checked_sub(t.credits).map(|left| a.min(left)),
            (a, None) => a,
            (None, _) => None,
        };
        // Nothing left of the cap, or credits that could never be counted
        // or settled.
        let Some(amount) = amount.filter(|a| a.is_positive()) else {
            return;
        };
        if t.credits.checked_add(amount).is_none() {
            return;
        }
        if self.check_room(amount).is_err() {
            return;
        }
        let seq = self.seq + 1;
        let id = format!("pur_{seq}");
        let text = |m: Micros| serde_json::Value::String(m.to_string());
        let ctx = EventCtx {
            source: Some(TOP_UP_SOURCE.to_string()),
            description: Some(format!("Auto top-up: available {available} below the threshold {}", rule.threshold)),
            metadata: Some(serde_json::json!({
                "auto_top_up": true,
                "threshold": text(rule.threshold),
                "available": text(available),
            })),
            ..EventCtx::default()
        };
        let r = Record {
            id: id.clone(),
            kind: RecordKind::Purchase,
            status: RecordStatus::Processing,
            amount,
            captured: Micros::ZERO,
            refunded: Micros::ZERO,
            draws: Vec::new(),
            expires_at: None,
            created_at: tx.now,
            ctx: ctx.clone(),
            timed_out: false,
            pricing: None,
            block_id: None,
        };
        self.put_record(tx, r);
        // The caller's key stays for the operation's own event, if it has
        // not written one yet.
        let key = tx.key.take();
        self.emit(
            tx,
            EventKind::Purchase,
            amount,
            Some(Pool::Prepaid),
            Status::Processing,
            &ctx,
            None,
            Some(id.clone()),
        );
        tx.key = key;
        self.top_up_opened(id.clone(), amount, tx.now, true);
        tx.dirty = true;
        self.notify(
            tx,
            Notification {
                purchase_id: Some(id),
                amount: Some(amount),
                ..Notification::new(NotificationKind::TopUpRequested, tx.now, rule.threshold, available)
            },
        );
    }
}
