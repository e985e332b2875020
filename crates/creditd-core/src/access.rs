//! Who acts on an organisation's credits, what they may still spend this
//! period, and changes to the organisation's settings.
//!
//! It lives in the core, not in the server, because a cap is only safe if
//! the check and the charge happen in the same step as the hold or usage
//! they limit: the writer applies operations one at a time to the org's
//! state, so however many clients race, a cap is never exceeded.
//!
//! - A **cap** is an optional credit limit per plan period for one subject:
//!   a member (by email), an API key (by id) or a project (by the
//!   `project_id` holds and usage name: a project budget). Holds and usage
//!   count at the
//!   moment they are made; a released hold (or the released rest of a
//!   partial debit) gives its credits back; refunds do not. The count starts
//!   again when the org's period rolls over.
//! - A member's cap applies to everything done in their name: with their
//!   own key, or by a service key that names them in `user_email`.
//! - An [`Actor`] goes with an operation done with a stored key or a
//!   member's session (`OrgState::apply_as`), so the key's cap applies and a
//!   plain member can settle only holds made in their own name.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::effects::Tx;
use crate::error::{LedgerError, invalid};
use crate::event::EventKind;
use crate::money::Micros;
use crate::op::{Actor, Op, SettingsPatch};
use crate::state::{Cap, CapSubject, CappedHold, OrgState, period_bounds};

/// Most caps one organisation keeps (members, keys and projects with a
/// limit, and members and keys that spent this period).
pub const MAX_CAPS: usize = 10_000;

/// A cap as shown in the balance and summary: limit, used, left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CapView {
    /// Whose spending it limits.
    pub subject: CapSubject,
    /// Micro-credits they may hold or use per period.
    pub limit: Micros,
    /// Held or used this period (0 once the period has rolled over).
    pub used: Micros,
    /// `limit - used`, never below zero.
    pub remaining: Micros,
    /// The period `used` counts in: from 00:00 on the renewal day in the
    /// org's zone…
    pub period_start: Option<Timestamp>,
    /// …to the next renewal day (exclusive).
    pub period_end: Option<Timestamp>,
}

/// An email as caps compare it: trimmed, lower case.
fn lower(s: &str) -> String {
    s.trim().to_lowercase()
}

impl OrgState {
    /// The caps with a limit, as of `now` (a period that has rolled over
    /// since the state was stored counts from zero).
    pub fn cap_views(&self, now: Timestamp) -> Vec<CapView> {
        let (start, end) = match self.period_end {
            Some(e) if now >= e => match self.settings.validate() {
                Ok(tz) => period_bounds(&tz, self.settings.renewal_day, now)
                    .map(|(s, e)| (Some(s), Some(e)))
                    .unwrap_or((self.period_start, self.period_end)),
                Err(_) => (self.period_start, self.period_end),
            },
            _ => (self.period_start, self.period_end),
        };
        let current = self.caps.period_start.is_some() && self.caps.period_start == start;
        self.caps
            .caps
            .iter()
            .filter_map(|c| {
                let limit = c.limit?;
                let used = if current { c.used } else { Micros::ZERO };
                let remaining = limit.checked_sub(used).unwrap_or(Micros::ZERO).max(Micros::ZERO);
                Some(CapView {
                    subject: c.subject.clone(),
                    limit,
                    used,
                    remaining,
                    period_start: start,
                    period_end: end,
                })
            })
            .collect()
    }

    /// What `actor` may not do to `op`: an access operation is not done in
    /// anyone's name, and a plain member settles only holds made in their
    /// own name (others' answer `hold_not_found`). Changes nothing.
    pub(crate) fn check_actor(&self, op: &Op, actor: Option<&Actor>) -> Result<(), LedgerError> {
        let Some(actor) = actor else { return Ok(()) };
        if matches!(op, Op::Access(_)) {
            return Err(invalid("an access operation cannot be done in an actor's name"));
        }
        if actor.own_holds_only
            && let Op::Debit { hold_id, .. }
            | Op::Release { hold_id, .. }
            | Op::ExtendHold(crate::op::ExtendOp { hold_id, .. }) = op
        {
            let mine = self
                .records
                .get(hold_id)
                .is_none_or(|r| r.ctx.user_email.as_deref().map(lower) == actor.member_email.as_deref().map(lower));
            if !mine {
                // As if it did not exist: a member learns nothing of others' holds.
                return Err(LedgerError::HoldNotFound(hold_id.clone()));
            }
        }
        Ok(())
    }

    /// `Access(SetSettings)`: changes the settings the patch names (at
    /// least one); the result must be valid settings. The overdraft limit
    /// cannot go below the overdraft in use; the zone and renewal day
    /// cannot change while the org has (or will have) a plan, and changing
    /// them moves the current period (usage restarts if its start moves).
    /// Writes no event.
    pub(crate) fn set_settings(&mut self, tx: &mut Tx, p: &SettingsPatch) -> Result<(), LedgerError> {
        if p.is_empty() {
            return Err(invalid("name at least one setting to change"));
        }
        if p.parent_id.is_some() {
            return Err(invalid("parent_id is changed on its own, through the organisation tree (see tree.rs)"));
        }
        let mut s = self.settings.clone();
        if let Some(v) = &p.name {
            s.name = v.trim().to_string();
        }
        if let Some(v) = &p.time_zone {
            s.time_zone = v.trim().to_string();
        }
        if let Some(v) = &p.consumption_order {
            s.consumption_order = v.clone();
        }
        if let Some(v) = p.expiring_first {
            s.expiring_first = v;
        }
        if let Some(v) = p.overdraft_limit {
            s.overdraft_limit = v;
        }
        if let Some(v) = p.renewal_day {
            s.renewal_day = v;
        }
        if let Some(v) = &p.price_book {
            s.price_book = Some(v.trim().to_string()).filter(|b| !b.is_empty());
        }
        if let Some(v) = p.reversal_policy {
            s.reversal_policy = v;
        }
        if let Some(v) = &p.buy_more_amounts {
            s.buy_more_amounts = v.clone();
        }
        if let Some(v) = &p.checkout_url_template {
            s.checkout_url_template = Some(v.trim().to_string()).filter(|t| !t.is_empty());
        }
        if let Some(v) = p.self_service_plan_change {
            s.self_service_plan_change = v;
        }
        if let Some(v) = &p.locale {
            s.locale = crate::locale::Locale::parse(v)?;
        }
        if let Some(v) = p.funding {
            s.funding = v;
        }
        if let Some(v) = p.funding_budget {
            s.funding_budget = v;
        }
        let tz = s.validate()?;
        if s.overdraft_limit < self.debt {
            return Err(invalid(format!(
                "overdraft_limit cannot go below the {} of overdraft in use; add credits first",
                self.debt
            )));
        }
        let moves = s.time_zone != self.settings.time_zone || s.renewal_day != self.settings.renewal_day;
        if moves && self.plans.subscribed() {
            return Err(invalid(
                "time_zone and renewal_day date the plan's periods and cannot change while the organisation has a plan",
            ));
        }
        if moves {
            let (start, end) = period_bounds(&tz, s.renewal_day, tx.now)?;
            if self.period_start != Some(start) {
                self.period_usage = Micros::ZERO;
            }
            self.period_start = Some(start);
            self.period_end = Some(end);
        }
        self.settings = s;
        tx.dirty = true;
        Ok(())
    }

    /// `Access(SetCap)`: sets a member's (by email, lower-cased) or a key's
    /// (by id) credit limit per period, or removes it with `None`. Not
    /// negative; at most [`MAX_CAPS`] subjects. What the subject already
    /// spent this period still counts. Writes no event.
    pub(crate) fn set_cap(
        &mut self,
        tx: &mut Tx,
        subject: &CapSubject,
        limit: Option<Micros>,
    ) -> Result<(), LedgerError> {
        if limit.is_some_and(|l| l.is_negative()) {
            return Err(invalid("a cap must not be negative"));
        }
        let subject = match subject {
            CapSubject::Member(e) if e.contains('@') && e.len() <= crate::input::MAX_TEXT_LEN => {
                CapSubject::Member(lower(e))
            }
            CapSubject::Member(e) => return Err(invalid(format!("{e:?} is not an email address"))),
            CapSubject::Key(k) if crate::valid_id(k) => CapSubject::Key(k.clone()),
            CapSubject::Key(k) => return Err(invalid(format!("{k:?} is not a key id"))),
            CapSubject::Project(p) if p.trim().is_empty() => return Err(invalid("project_id must not be empty")),
            CapSubject::Project(p) => {
                crate::input::check_text("project_id", p)?;
                CapSubject::Project(p.clone())
            }
        };
        self.roll_caps();
        match self.caps.caps.iter_mut().find(|c| c.subject == subject) {
            Some(c) => c.limit = limit,
            None if limit.is_some() => {
                if self.caps.caps.len() >= MAX_CAPS {
                    return Err(invalid(format!("an organisation keeps at most {MAX_CAPS} caps")));
                }
                self.caps.caps.push(Cap { subject, limit, used: Micros::ZERO });
            }
            None => {}
        }
        tx.dirty = true;
        Ok(())
    }

    /// Starts the count again when the org's period has moved on.
    fn roll_caps(&mut self) {
        if self.caps.period_start != self.period_start {
            self.caps.period_start = self.period_start;
            self.caps.caps.retain(|c| c.limit.is_some());
            for c in &mut self.caps.caps {
                c.used = Micros::ZERO;
            }
        }
    }

    /// The subjects `op` counts against, and the amount it would add.
    fn cap_charge(&self, op: &Op, actor: Option<&Actor>) -> (Vec<CapSubject>, Micros, bool) {
        let (amount, ctx, is_hold) = match op {
            Op::Hold(h) => (h.amount, &h.ctx, true),
            Op::Usage { amount, ctx } => (*amount, ctx, false),
            // An extension counts against the hold's own subjects (its
            // member and project) and the actor's.
            Op::ExtendHold(e) => match self.records.get(&e.hold_id) {
                Some(r) => (e.amount.unwrap_or(Micros::ZERO), &r.ctx, true),
                None => return (Vec::new(), Micros::ZERO, false),
            },
            // Only for `caps_for` (a check names the subjects before
            // pricing): `apply` charges the plain operation a priced one
            // stands for.
            Op::Priced(crate::op::PricedOp::Hold { ctx, .. } | crate::op::PricedOp::Usage { ctx, .. }) => {
                (Micros::ZERO, ctx, false)
            }
            _ => return (Vec::new(), Micros::ZERO, false),
        };
        let mut subjects = Vec::new();
        if let Some(k) = actor.and_then(|a| a.key_id.clone()) {
            subjects.push(CapSubject::Key(k));
        }
        let acting_member = actor.and_then(|a| a.member_email.as_deref()).map(lower);
        if let Some(e) = &acting_member {
            subjects.push(CapSubject::Member(e.clone()));
        }
        // A service key writing in a member's name: their cap, if they have one.
        if let Some(e) = ctx.user_email.as_deref().map(lower) {
            let m = CapSubject::Member(e);
            if !subjects.contains(&m) && self.caps.get(&m).is_some_and(|c| c.limit.is_some()) {
                subjects.push(m);
            }
        }
        // The project's budget, if it has one (projects without a limit are
        // not tracked: there can be any number of them).
        if let Some(p) = ctx.project_id.as_deref() {
            let p = CapSubject::Project(p.to_string());
            if self.caps.get(&p).is_some_and(|c| c.limit.is_some()) {
                subjects.push(p);
            }
        }
        (subjects, amount, is_hold)
    }

    /// The caps with a limit that `op` (a hold or usage, plain or priced)
    /// done by `actor` would count against, as of `now`: what a check
    /// answers as the member's, key's and project's room left.
    pub fn caps_for(&self, op: &Op, actor: Option<&Actor>, now: Timestamp) -> Vec<CapView> {
        let (subjects, _, _) = self.cap_charge(op, actor);
        self.cap_views(now).into_iter().filter(|c| subjects.contains(&c.subject)).collect()
    }

    /// Refuses a hold or usage that would take a subject past its cap.
    /// Changes nothing.
    pub(crate) fn check_caps(&self, op: &Op, actor: Option<&Actor>) -> Result<(), LedgerError> {
        let (subjects, amount, _) = self.cap_charge(op, actor);
        let current = self.caps.period_start == self.period_start;
        for s in &subjects {
            let Some(cap) = self.caps.get(s) else { continue };
            let Some(limit) = cap.limit else { continue };
            let used = if current { cap.used } else { Micros::ZERO };
            let after = used.checked_add(amount).ok_or(LedgerError::Overflow)?;
            if after > limit {
                return Err(LedgerError::CapExceeded { subject: s.to_string(), limit, used, requested: amount });
            }
        }
        Ok(())
    }

    /// After `op` succeeded: counts its hold or usage against its subjects
    /// and gives back what releases returned. Cannot fail: the operation
    /// has already changed the state.
    pub(crate) fn charge_caps(&mut self, op: &Op, actor: Option<&Actor>, tx: &Tx) {
        let has_release = self.caps.holds.iter().any(|h| {
            tx.events.iter().any(|e| {
                matches!(e.kind, EventKind::Release | EventKind::Debit) && e.hold_id.as_deref() == Some(&h.hold_id)
            })
        });
        let (subjects, amount, is_hold) = self.cap_charge(op, actor);
        if subjects.is_empty() && !has_release {
            return;
        }
        self.roll_caps();
        if has_release {
            for e in &tx.events {
                let Some(id) = e.hold_id.as_deref() else { continue };
                let Some(i) = self.caps.holds.iter().position(|h| h.hold_id == id) else { continue };
                if e.kind == EventKind::Release && self.caps.holds[i].period_start == self.caps.period_start {
                    let back = e.amount.abs();
                    for s in self.caps.holds[i].subjects.clone() {
                        if let Some(c) = self.caps.caps.iter_mut().find(|c| c.subject == s) {
                            c.used = c.used.checked_sub(back).unwrap_or(Micros::ZERO).max(Micros::ZERO);
                        }
                    }
                }
            }
            // A settled hold is done with, once every event of the op was seen.
            self.caps.holds.retain(|h| {
                !tx.events.iter().any(|e| {
                    matches!(e.kind, EventKind::Release | EventKind::Debit) && e.hold_id.as_deref() == Some(&h.hold_id)
                })
            });
        }
        if subjects.is_empty() {
            return;
        }
        for s in &subjects {
            let n = self.caps.caps.len();
            match self.caps.caps.iter_mut().find(|c| &c.subject == s) {
                Some(c) => c.used = c.used.checked_add(amount).unwrap_or(Micros::MAX),
                None if n < MAX_CAPS => self.caps.caps.push(Cap { subject: s.clone(), limit: None, used: amount }),
                None => {}
            }
        }
        if is_hold {
            let hold_id = tx.events.iter().rev().find(|e| e.kind == EventKind::Hold).and_then(|e| e.hold_id.clone());
            if let Some(hold_id) = hold_id
                && !self.caps.holds.iter().any(|h| h.hold_id == hold_id)
            {
                self.caps.holds.push(CappedHold { hold_id, subjects, period_start: self.caps.period_start });
            }
        }
    }
}
