//! Usage alerts: levels of available credits, or of the plan's period
//! allocation used, each told once per crossing (webhook `usage_alert`
//! and a stored notification).
//!
//! It exists as a rule file of its own (importing no other rule file)
//! because, like the low-balance threshold (`plans`), an alert follows
//! from whatever operation moved the balance, in the same `apply`. The
//! rules ([`OrgState::check_alerts`]):
//!
//! - `{"available_below": N}` is crossed while available credits are
//!   below N; `{"percent_used": P}` while the period's usage is at least P %
//!   of the current plan's `credits_per_period`, i.e. at least
//!   `credits_per_period × P / 100` rounded up to the micro-credit (the
//!   figure the notification gives as its `threshold`). Without a plan, or
//!   with a plan of 0 credits, a percent level is never crossed.
//! - A level fires when an operation leaves it crossed and it has not
//!   fired in this period since it was last not crossed: once per period
//!   per crossing. An operation that leaves it not crossed re-arms it; a
//!   new period re-arms every level (one still crossed fires again with
//!   the period's first operation). Within one batch the operations apply
//!   one after the other, so a crossing inside a batch fires exactly once.
//! - The low-balance threshold (`PUT …/low-balance-threshold`, the
//!   `low_balance` webhook) is the level `available_below` that predates
//!   these; it keeps its route and its webhook, fires once per crossing,
//!   and is listed with the others by [`OrgState::alerts_view`].

use crate::effects::{Notification, NotificationKind, Tx};
use crate::error::LedgerError;
use crate::money::Micros;
use crate::money_in::{AlertEntry, AlertLevel, check_levels};
use crate::state::OrgState;

/// One level of `GET …/alerts` and where it stands.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AlertLevelView {
    /// The level.
    pub level: AlertLevel,
    /// The webhook it sends: `usage_alert`, or `low_balance` for the
    /// low-balance threshold.
    pub webhook: String,
    /// Whether it has fired and not recovered since (this period, for a
    /// usage alert).
    pub fired: bool,
    /// When it fired.
    pub fired_at: Option<jiff::Timestamp>,
}

/// `GET …/alerts` (and the answer of `PUT …/alerts`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AlertsView {
    /// The usage alert levels, in the order set, then the low-balance
    /// threshold if one is set.
    pub levels: Vec<AlertLevelView>,
    /// Available credits.
    pub available: Micros,
    /// Consumed this period.
    pub period_usage: Micros,
    /// The plan's credits per period (what `percent_used` is of); null:
    /// no plan.
    pub allocation: Option<Micros>,
}

/// `allocation × percent / 100`, rounded up to the micro-credit; `None`
/// past what an amount holds (a level no usage can reach).
pub fn percent_of(allocation: Micros, percent: u32) -> Option<Micros> {
    let n = i128::from(allocation.micros()) * i128::from(percent);
    let up = n.div_euclid(100) + i128::from(n.rem_euclid(100) != 0);
    i64::try_from(up).ok().map(Micros::from_micros)
}

impl OrgState {
    /// `Plans(SetAlerts)`: replaces the usage alert levels (checked by
    /// [`check_levels`]: at most 20, none twice). A level kept from the
    /// previous list keeps whether it has fired; a new one is armed (and
    /// fires with this very operation if it is already crossed). Writes no
    /// event.
    pub(crate) fn set_alerts(&mut self, tx: &mut Tx, levels: &[AlertLevel]) -> Result<(), LedgerError> {
        check_levels(levels)?;
        let old = std::mem::take(&mut self.alerts.levels);
        self.alerts.levels = levels
            .iter()
            .map(|l| {
                old.iter().find(|e| &e.level == l).cloned().unwrap_or(AlertEntry {
                    level: l.clone(),
                    fired_in: None,
                    fired_at: None,
                })
            })
            .collect();
        tx.dirty = true;
        Ok(())
    }

    /// Where `level` stands: crossed or not, and its figure in credits (the
    /// amount for `available_below`, the usage it fires at for
    /// `percent_used`).
    fn crossed(&self, level: &AlertLevel) -> (bool, Micros) {
        match *level {
            AlertLevel::AvailableBelow(n) => (self.available() < n, n),
            AlertLevel::PercentUsed(p) => {
                let allocation = self.plans.plan.as_ref().map(|p| p.credits_per_period);
                match allocation.filter(|a| a.is_positive()).and_then(|a| percent_of(a, p)) {
                    Some(at) => (self.period_usage >= at, at),
                    None => (false, Micros::ZERO),
                }
            }
        }
    }

    /// The step after every operation that wrote an event or changed the
    /// state: fires each level newly crossed and re-arms each level no
    /// longer crossed (the module docs state the rules).
    /// Never refuses: it runs after the operation's own changes.
    pub(crate) fn check_alerts(&mut self, tx: &mut Tx) {
        if self.alerts.levels.is_empty() || (tx.events.is_empty() && !tx.dirty) {
            return;
        }
        let period = self.period_start.unwrap_or(self.created_at);
        let allocation = self.plans.plan.as_ref().map(|p| p.credits_per_period);
        for i in 0..self.alerts.levels.len() {
            let level = self.alerts.levels[i].level.clone();
            let (crossed, figure) = self.crossed(&level);
            let entry = &mut self.alerts.levels[i];
            if crossed && entry.fired_in != Some(period) {
                entry.fired_in = Some(period);
                entry.fired_at = Some(tx.now);
                let (balance, usage) = (self.available(), self.period_usage);
                self.notify(
                    tx,
                    Notification {
                        level: Some(level.clone()),
                        period_usage: Some(usage),
                        allocation: if matches!(level, AlertLevel::PercentUsed(_)) { allocation } else { None },
                        ..Notification::new(NotificationKind::UsageAlert, tx.now, figure, balance)
                    },
                );
            } else if !crossed && entry.fired_in.is_some() {
                entry.fired_in = None;
                entry.fired_at = None;
                tx.dirty = true;
            }
        }
    }

    /// The alert levels as of the state (a level that fired in an earlier
    /// period reads as not fired), then the low-balance threshold.
    pub fn alerts_view(&self, now: jiff::Timestamp) -> AlertsView {
        let current = self.period_end.is_none_or(|end| now < end);
        let period = self.period_start.unwrap_or(self.created_at);
        let mut levels: Vec<AlertLevelView> = self
            .alerts
            .levels
            .iter()
            .map(|e| {
                let fired = current && e.fired_in == Some(period);
                AlertLevelView {
                    level: e.level.clone(),
                    webhook: "usage_alert".into(),
                    fired,
                    fired_at: if fired { e.fired_at } else { None },
                }
            })
            .collect();
        if let Some(t) = self.settings.low_balance_threshold {
            levels.push(AlertLevelView {
                level: AlertLevel::AvailableBelow(t),
                webhook: "low_balance".into(),
                fired: self.plans.low_balance_since.is_some(),
                fired_at: self.plans.low_balance_since,
            });
        }
        AlertsView {
            levels,
            available: self.available(),
            period_usage: if current { self.period_usage } else { Micros::ZERO },
            allocation: self.plans.plan.as_ref().map(|p| p.credits_per_period),
        }
    }
}
