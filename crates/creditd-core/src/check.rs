//! Checking before acting: would this hold or usage be accepted now, what
//! would it cost, and what is left.
//!
//! It exists above the dispatcher so that a check runs the very rules the
//! operation would run, not a second copy of them: [`OrgState::check`]
//! applies the operation to a **copy** of the state and reports what
//! happened to the copy. The state itself is never changed, and nothing is
//! returned to be written (no event, no record, no idempotency row).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::access::CapView;
use crate::error::{ErrorCode, LedgerError};
use crate::money::Micros;
use crate::op::{Actor, Op, PricedOp};
use crate::prices::{PriceSource, Pricing};
use crate::state::OrgState;

/// The answer of a check: whether the operation would be accepted now, and
/// why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckAnswer {
    /// Whether the operation would be accepted now.
    pub allowed: bool,
    /// What it would cost, exact to the micro-credit (a priced one: after
    /// rounding up once); `null` when it cannot be priced.
    #[schema(value_type = Option<crate::money::Amount>)]
    pub cost: Option<Micros>,
    /// A priced operation: the price, quantity, unit price or tiers, book
    /// and version it would be priced with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<Pricing>,
    /// Credits available now (after the renewals and expiries due), before
    /// the operation; the overdraft, if any, comes on top.
    #[schema(value_type = crate::money::Amount)]
    pub available: Micros,
    /// The caps with a limit it would count against (the member's, the
    /// key's, the project's), with what is left of each this period.
    pub caps: Vec<CapView>,
    /// Refused: the error code the operation itself would answer
    /// (`insufficient_credits`, `cap_exceeded`, `unknown_price`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Refused: the message the operation itself would answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl OrgState {
    /// Would `op` (a hold or usage, plain or priced), done by `actor` at
    /// `now`, be accepted? Applies it to a copy of this state, with the
    /// same steps and rules as [`OrgState::apply_priced`]; changes nothing.
    /// Bad input (a `validation_error` the operation would answer) is
    /// returned as `Err`, like the operation's own refusal of it: it is not
    /// an answer about credits.
    pub fn check(
        &self,
        op: &Op,
        actor: Option<&Actor>,
        now: Timestamp,
        prices: &dyn PriceSource,
    ) -> Result<CheckAnswer, LedgerError> {
        self.check_funded(None, op, actor, now, prices)
    }

    /// [`OrgState::check`] for an org that may draw on `parent` (its
    /// parent's state, given when its funding is `parent`): the operation
    /// is applied to copies of both, as [`crate::funding::apply_funded`]
    /// would apply it (`available` stays the org's own).
    pub fn check_funded(
        &self,
        parent: Option<&OrgState>,
        op: &Op,
        actor: Option<&Actor>,
        now: Timestamp,
        prices: &dyn PriceSource,
    ) -> Result<CheckAnswer, LedgerError> {
        let mut copy = self.clone();
        // The renewals and expiries due first, so `available` and the tier
        // position are the ones the operation would meet.
        let _ = copy.apply_priced(&Op::ExpireDue, None, now, None, prices);
        let available = copy.available();
        let caps = copy.caps_for(op, actor, now);
        // The cost as the operation would price it (the same function,
        // on the same state); `None` when it cannot be priced.
        let (cost, pricing) = match op {
            Op::Priced(PricedOp::Usage { price, .. } | PricedOp::Hold { price, .. }) => {
                match copy.quote(price, prices, now) {
                    Ok(q) => (Some(q.amount), Some(q.pricing)),
                    Err(_) => (None, None),
                }
            }
            Op::Usage { amount, .. } => (Some(*amount), None),
            Op::Hold(h) => (Some(h.amount), None),
            _ => (None, None),
        };
        let refusal = match op {
            Op::Usage { .. } | Op::Hold(_) | Op::Priced(PricedOp::Usage { .. } | PricedOp::Hold { .. }) => {
                match parent.filter(|_| copy.settings.funding == crate::state::Funding::Parent) {
                    Some(p) => {
                        let mut p = p.clone();
                        crate::funding::apply_funded(&mut copy, &mut p, op, actor, now, None, prices).err()
                    }
                    None => copy.apply_priced(op, actor, now, None, prices).err(),
                }
            }
            other => Some(crate::error::invalid(format!("{} cannot be checked: check a hold or usage", other.name()))),
        };
        match refusal {
            Some(e) if e.code() == ErrorCode::ValidationError => Err(e),
            Some(e) => Ok(CheckAnswer {
                allowed: false,
                cost,
                pricing,
                available,
                caps,
                reason: Some(e.code().as_str().to_string()),
                message: Some(e.to_string()),
            }),
            None => Ok(CheckAnswer { allowed: true, cost, pricing, available, caps, reason: None, message: None }),
        }
    }
}
