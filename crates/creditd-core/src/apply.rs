//! The entry point of the ledger: one operation in, events out.
//!
//! It exists above the rule files so that they need not know one another:
//! [`OrgState::apply_as`] runs the steps every operation shares (catch up a
//! plan's renewals, roll the period, check the actor and their caps, charge
//! the caps, note consumption and the low balance, the usage alerts, the
//! auto top-up) and dispatches each
//! [`Op`] variant to the one function that carries it out, in `ledger`,
//! `access` or `plans` (the table is in ARCHITECTURE.md, "Operations and their rules"). It imports those
//! rule files; they import only the leaf modules below them.

use jiff::Timestamp;

use crate::effects::{Applied, Outcome, Tx};
use crate::error::{LedgerError, invalid};
use crate::op::{AccessOp, Actor, Op, PlanOp};
use crate::prices::{NoPrices, PriceSource};
use crate::state::{OrgState, Record};

impl OrgState {
    /// Applies one operation at `now`, done in no one's name (see
    /// [`OrgState::apply_as`]). On error nothing persisted changed.
    pub fn apply(&mut self, op: &Op, now: Timestamp, idempotency_key: Option<&str>) -> Result<Applied, LedgerError> {
        self.apply_as(op, None, now, idempotency_key)
    }

    /// Applies one operation at `now`, done by `actor` (a stored key or a
    /// member, as the server authenticated them): their caps apply, and a
    /// plain member settles only their own holds. On error nothing persisted
    /// changed.
    pub fn apply_as(
        &mut self,
        op: &Op,
        actor: Option<&Actor>,
        now: Timestamp,
        idempotency_key: Option<&str>,
    ) -> Result<Applied, LedgerError> {
        self.apply_priced(op, actor, now, idempotency_key, &NoPrices)
    }

    /// [`OrgState::apply_as`] with the price books priced operations
    /// ([`Op::Priced`], a debit of a priced hold) are priced from (an
    /// engine's catalogue). On error nothing persisted changed.
    pub fn apply_priced(
        &mut self,
        op: &Op,
        actor: Option<&Actor>,
        now: Timestamp,
        idempotency_key: Option<&str>,
        prices: &dyn PriceSource,
    ) -> Result<Applied, LedgerError> {
        // No engine can hold such an id or key, and PostgreSQL could not
        // even look one up: the same refusal everywhere, before any change.
        if let Some(id) = op.record_ref() {
            crate::input::check_no_nul("the id named", id)?;
        }
        if let Some(key) = idempotency_key {
            crate::input::check_no_nul("the idempotency key", key)?;
        }
        let now = match self.last_at {
            Some(last) if last > now => last,
            _ => now,
        };
        // Every operation refuses before it changes anything, except for
        // rolling the period over and catching up missed renewals (plans),
        // which are undone on a refusal.
        let period = (self.period_start, self.period_end, self.period_usage);
        let last_hash = self.last_hash;
        let saved = self.catch_up_due(now).then(|| self.save());
        let mut tx = Tx::new(now, idempotency_key.map(str::to_string));
        let result = self.run_steps(op, actor, now, prices, &mut tx);
        let record = match result {
            Ok(record) => record,
            Err(e) => {
                match saved {
                    Some(saved) => self.restore_saved(saved),
                    None => (self.period_start, self.period_end, self.period_usage) = period,
                }
                self.last_hash = last_hash;
                return Err(e);
            }
        };
        if tx.events.is_empty() && !tx.dirty {
            return Ok(Applied::default());
        }
        debug_assert!(self.check_invariants().is_ok(), "{:?}", self.check_invariants());
        let conversation = tx.conversations.last().cloned();
        Ok(Applied {
            touched_records: tx.touched,
            outcome: Some(Outcome { events: tx.events, record, balance: self.balance(), conversation }),
            conversations: tx.conversations,
            notifications: tx.notifications,
            hashes: tx.hashes,
            moved: tx.moved,
        })
    }

    /// The steps of [`OrgState::apply_priced`] that may refuse, in order
    /// (ARCHITECTURE.md, "Steps every operation shares").
    fn run_steps(
        &mut self,
        op: &Op,
        actor: Option<&Actor>,
        now: Timestamp,
        prices: &dyn PriceSource,
        tx: &mut Tx,
    ) -> Result<Option<Record>, LedgerError> {
        self.catch_up(tx)?;
        self.roll_period(now)?;
        // A priced operation's text and metadata are bad input whatever it
        // would cost: checked before it is priced, as its plain form checks
        // them before anything else (so a check and the operation both
        // answer 422, not `unknown_price`).
        if let Op::Priced(p) = op {
            crate::effects::check_ctx(p.ctx())?;
            tx.ctx_checked = true;
        }
        // A priced operation is priced now (after the renewals, in the
        // period it falls in) and then runs as the plain one it stands for.
        let resolved = self.resolve_priced(op, prices, now)?;
        let (op, count) = match resolved {
            Some(r) => {
                tx.pricing = Some(r.pricing);
                (std::borrow::Cow::Owned(r.op), r.count)
            }
            None => (std::borrow::Cow::Borrowed(op), None),
        };
        let op = op.as_ref();
        // The actor first: a member extending another's hold learns nothing
        // of that hold's caps (`hold_not_found`, as for a debit).
        self.check_actor(op, actor)?;
        self.check_caps(op, actor)?;
        let record = self.apply_op(op, tx)?;
        // Whatever the steps below run checks its own text.
        tx.ctx_checked = false;
        self.after_op(tx)?;
        self.check_alerts(tx);
        self.after_top_up(tx);
        self.count_quantity(count);
        self.charge_caps(op, actor, tx);
        Ok(record)
    }

    /// Runs the one function that carries out `op` (see ARCHITECTURE.md, "Operations and their rules");
    /// returns the record it created or changed, if any.
    fn apply_op(&mut self, op: &Op, tx: &mut Tx) -> Result<Option<Record>, LedgerError> {
        Ok(match op {
            Op::Credit(c) => self.credit(tx, c)?,
            Op::SettlePurchase { purchase_id, status, ctx } => self.settle_purchase(tx, purchase_id, *status, ctx)?,
            Op::ReversePurchase { purchase_id, reason, ctx } => {
                Some(self.reverse_purchase(tx, purchase_id, reason, ctx)?)
            }
            Op::Hold(h) => Some(self.hold(tx, h)?),
            Op::Debit { hold_id, amount, ctx } => Some(self.debit(tx, hold_id, *amount, ctx)?),
            Op::Release { hold_id, ctx } => Some(self.release(tx, hold_id, ctx, false)?),
            Op::ExtendHold(e) => Some(self.extend_hold(tx, e)?),
            Op::TimeoutHold { hold_id } => self.timeout_hold(tx, hold_id)?,
            Op::Usage { amount, ctx } => Some(self.usage(tx, *amount, ctx)?),
            Op::Refund { refers_to, amount, ctx } => Some(self.refund(tx, refers_to, *amount, ctx)?),
            Op::Adjustment { amount, reason, pool, expires_at, ctx } => {
                self.adjustment(tx, *amount, reason, *pool, *expires_at, ctx)?;
                None
            }
            Op::Billing { amount, ctx } => {
                self.billing(tx, *amount, ctx)?;
                None
            }
            Op::ExpireDue => {
                self.expire_due(tx)?;
                None
            }
            Op::Plans(PlanOp::SetPlan { plan, effective, renewal_day }) => {
                self.set_plan(tx, plan, *effective, *renewal_day)?;
                None
            }
            Op::Plans(PlanOp::Conversation { identity, campaign, started_at }) => {
                self.conversation(tx, identity, campaign.as_deref(), *started_at)?;
                None
            }
            Op::Plans(PlanOp::SetLowBalanceThreshold { threshold }) => {
                self.set_low_balance_threshold(tx, *threshold)?;
                None
            }
            Op::Plans(PlanOp::SetAutoTopUp(rule)) => {
                self.set_auto_top_up(tx, rule)?;
                None
            }
            Op::Plans(PlanOp::SetAlerts(levels)) => {
                self.set_alerts(tx, levels)?;
                None
            }
            // Buy more is checked by its rule (`plans`) and carried out as
            // the processing purchase it stands for (`ledger`).
            Op::Plans(PlanOp::BuyMore { amount, requested_by }) => {
                let purchase = self.buy_more(*amount, requested_by.as_deref())?;
                self.credit(tx, &purchase)?
            }
            Op::Access(AccessOp::SetSettings(p)) => {
                self.set_settings(tx, p)?;
                None
            }
            Op::Access(AccessOp::SetCap { subject, limit }) => {
                self.set_cap(tx, subject, *limit)?;
                None
            }
            Op::Transfer(t) => {
                self.transfer_half(tx, t)?;
                None
            }
            // Turned into the plain operation by `run_steps` first.
            Op::Priced(p) => return Err(invalid(format!("{} was not priced", p.name()))),
        })
    }

    /// A copy to go back to if the operation is refused (records are not
    /// touched by a catch-up and stay where they are).
    fn save(&mut self) -> OrgState {
        let records = std::mem::take(&mut self.records);
        let saved = self.clone();
        self.records = records;
        saved
    }

    /// Goes back to `saved`, keeping the records as they are.
    fn restore_saved(&mut self, saved: OrgState) {
        let records = std::mem::take(&mut self.records);
        *self = saved;
        self.records = records;
    }
}
