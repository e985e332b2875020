//! Shared budgets: an organisation whose holds and usage draw on its
//! parent's balance (`funding: parent`), within a budget per period.
//!
//! It exists because a draw changes two organisations in one operation,
//! like a transfer, and the rule must be the core's, not an engine's.
//! [`apply_funded`] applies a child's hold, usage or extension with its
//! parent's state at hand; an engine holds both states (PostgreSQL: both
//! rows locked in id order) and writes what it returns in one transaction.
//!
//! - **Own credits first.** The operation is tried on the child alone;
//!   only when the child lacks credits (`insufficient_credits`) does it
//!   draw. A reseller's customer or an enterprise's team spends what was
//!   given to it (a grant, credits sent back by a released hold) before
//!   the shared pool.
//! - **A draw is a transfer.** The shortfall (what the operation needs
//!   beyond the child's available credits) moves from the parent to the
//!   child as a transfer ([`crate::transfers::transfer`]: a
//!   `transfer_out` on the parent, a `transfer_in` on the child, one
//!   transfer id, source `funding`), with its blocks' pools and expiries,
//!   and then the operation runs on the child as usual. So each org's own
//!   events add up to its own balance: `verify`, balances as of a time,
//!   statements, exports and imports of either org stay exact, and the
//!   parent's history shows every draw, with its balance after it.
//! - **A reversal debt is settled by the draw.** A draw arrives like any
//!   credits, so it settles the child's reversal debt first
//!   ([`crate::effects::settle`]); while that debt keeps the child below
//!   zero, the draw is that much larger (within the budget like the rest),
//!   so the operation goes through and the debt is paid.
//! - **Holds reserve on the parent.** A hold draws when it is placed; a
//!   release or a partial debit gives the credits back to the child's
//!   blocks, where the child's next operation spends them before drawing
//!   again.
//! - **Budget.** `funding_budget` caps what is drawn per the child's
//!   period (counted in [`crate::state::FundingUse`], reset when the
//!   child's period rolls over); a draw past it is refused with
//!   `cap_exceeded` (subject `funding`). The parent lends only its own
//!   available credits, never its overdraft and never its own parent's
//!   (`insufficient_credits`).
//! - **Everything else is the child's.** Caps of the child's members, keys
//!   and projects, pricing, period usage, usage rollups and alerts count
//!   the operation in the child, as for any other.
//! - **Who may be funded** ([`check_setting`]): an organisation with a
//!   parent that does not itself draw on its parent, and that funds no
//!   child of its own (one level of funding); refused with a 422
//!   otherwise. A funded child cannot change its parent, and a parent
//!   with funded children cannot change its own, until they switch back
//!   to `funding: own` ([`check_reparent`]).

use jiff::Timestamp;

use crate::effects::Applied;
use crate::error::{LedgerError, invalid};
use crate::event::EventCtx;
use crate::money::Micros;
use crate::op::{AccessOp, Actor, ExtendOp, Op, PricedOp, TransferOp};
use crate::prices::PriceSource;
use crate::state::{Funding, FundingUse, OrgState};
use crate::transfers::{TransferApplied, transfer};

/// The `source` of a draw's transfer events.
pub const FUNDING_SOURCE: &str = "funding";

/// The cap subject a draw past the budget is refused with.
pub const FUNDING_SUBJECT: &str = "funding";

/// What a funded operation applied: the draw from the parent, if one was
/// needed, and the operation on the child.
#[derive(Debug)]
pub struct FundedApplied {
    /// The transfer from the parent (its `out` half is the parent's).
    pub draw: Option<TransferApplied>,
    /// The operation itself, on the child.
    pub op: Applied,
}

/// Whether `op` is consumption that may draw on a parent: a hold, a
/// usage or a hold's extension by an amount, plain or priced.
pub fn draws(op: &Op) -> bool {
    matches!(
        op,
        Op::Hold(_)
            | Op::Usage { .. }
            | Op::ExtendHold(ExtendOp { amount: Some(_), .. })
            | Op::Priced(PricedOp::Hold { .. } | PricedOp::Usage { .. } | PricedOp::Extend { .. })
    )
}

/// Whether `op` turns `funding: parent` on (the engine then asks
/// [`check_setting`] with the tree's facts before applying it).
pub fn turns_on(op: &Op) -> bool {
    matches!(op, Op::Access(AccessOp::SetSettings(p)) if p.funding == Some(Funding::Parent))
}

/// Whether `org` may draw on its parent: it has a parent (`parent`, with
/// the parent's own funding), the parent does not itself draw on its
/// parent, and `org` funds none of its children (`funded_children`, their
/// ids). Refused as a 422 naming the reason; nothing is written.
pub fn check_setting(
    org: &str,
    parent: Option<(&str, Funding)>,
    funded_children: &[String],
) -> Result<(), LedgerError> {
    let Some((parent, parent_funding)) = parent else {
        return Err(invalid(format!("funding: parent needs a parent organization, and {org} has none")));
    };
    if parent_funding == Funding::Parent {
        return Err(invalid(format!(
            "funding: parent goes one level: {parent} itself draws on its parent, so {org} cannot draw on {parent}"
        )));
    }
    if let Some(child) = funded_children.first() {
        return Err(invalid(format!(
            "funding: parent goes one level: {child} draws on {org}, so {org} cannot draw on {parent}"
        )));
    }
    Ok(())
}

/// Whether `org` may change its parent: not while it draws on its parent
/// (`funding`), nor while children draw on it (`funded_children`).
/// Refused with `org_tree_invalid`.
pub fn check_reparent(org: &str, funding: Funding, funded_children: &[String]) -> Result<(), LedgerError> {
    if funding == Funding::Parent {
        return Err(LedgerError::OrgTree(format!(
            "{org} draws on its parent (funding: parent); set funding to own before changing its parent"
        )));
    }
    if let Some(child) = funded_children.first() {
        return Err(LedgerError::OrgTree(format!(
            "{child} draws on {org} (funding: parent); set its funding to own before changing {org}'s parent"
        )));
    }
    Ok(())
}

impl OrgState {
    /// What this org has drawn from its parent in the period containing
    /// `now` (zero once the period has rolled over).
    pub fn funding_drawn(&self, now: Timestamp) -> Micros {
        let rolled = self.period_end.is_some_and(|end| now >= end);
        if rolled || self.funding_use.period_start != self.period_start { Micros::ZERO } else { self.funding_use.drawn }
    }

    /// The part of the reversal debt a draw must also cover: the draw is a
    /// transfer in, and arriving credits settle the debt first
    /// ([`crate::effects::settle`]), so while the debt keeps available
    /// below zero the draw brings that much more (at most the debt; none
    /// when the credits below zero are the overdraft's).
    fn debt_in_the_way(&self, now: Timestamp) -> Micros {
        let live = self
            .blocks
            .iter()
            .filter(|b| b.expires_at.is_none_or(|t| t > now))
            .fold(Micros::ZERO, |acc, b| acc.checked_add(b.remaining).unwrap_or(Micros::MAX));
        let below_zero = self
            .debt
            .checked_add(self.reversal_debt)
            .and_then(|owed| owed.checked_sub(live))
            .unwrap_or(Micros::ZERO)
            .max(Micros::ZERO);
        below_zero.min(self.reversal_debt)
    }

    /// What is left of the budget in the period containing `now`; none
    /// without a budget.
    pub fn funding_left(&self, now: Timestamp) -> Option<Micros> {
        let budget = self.settings.funding_budget?;
        Some(budget.checked_sub(self.funding_drawn(now)).unwrap_or(Micros::ZERO).max(Micros::ZERO))
    }
}

/// Applies `op` (a hold, usage or extension: [`draws`]) to `child`, whose
/// funding is `parent`, done by `actor` at `now` with the caller's
/// idempotency key, priced from `prices`. Own credits first; the
/// shortfall is drawn from `parent` as a transfer, within the budget.
/// Both states change, or neither.
#[allow(clippy::too_many_arguments)]
pub fn apply_funded(
    child: &mut OrgState,
    parent: &mut OrgState,
    op: &Op,
    actor: Option<&Actor>,
    now: Timestamp,
    key: Option<&str>,
    prices: &dyn PriceSource,
) -> Result<FundedApplied, LedgerError> {
    if child.settings.funding != Funding::Parent || !draws(op) {
        return Ok(FundedApplied { draw: None, op: child.apply_priced(op, actor, now, key, prices)? });
    }
    let shortfall = match child.apply_priced(op, actor, now, key, prices) {
        Ok(applied) => return Ok(FundedApplied { draw: None, op: applied }),
        Err(LedgerError::InsufficientCredits { available, requested }) => {
            let short = requested.checked_sub(available).ok_or(LedgerError::Overflow)?;
            short.checked_add(child.debt_in_the_way(now)).ok_or(LedgerError::Overflow)?
        }
        Err(e) => return Err(e),
    };
    if !shortfall.is_positive() {
        return Err(invalid("a funded operation lacked no credits but was refused for want of them"));
    }
    let drawn = child.funding_drawn(now);
    if let Some(limit) = child.settings.funding_budget {
        let after = drawn.checked_add(shortfall).ok_or(LedgerError::Overflow)?;
        if after > limit {
            return Err(LedgerError::CapExceeded {
                subject: FUNDING_SUBJECT.to_string(),
                limit,
                used: drawn,
                requested: shortfall,
            });
        }
    }
    let (child_before, parent_before) = (child.clone(), parent.clone());
    let ctx = EventCtx {
        source: Some(FUNDING_SOURCE.to_string()),
        description: Some(format!("Drawn by {} from {} ({})", child.org_id, parent.org_id, op.name())),
        ..EventCtx::default()
    };
    let out = Op::Transfer(TransferOp::Out { to: child.org_id.clone(), amount: shortfall, ctx });
    let parent_id = parent.org_id.clone();
    let draw = transfer(parent, None, child, Some(&parent_id), &out, None, now, None)?;
    match child.apply_priced(op, actor, now, key, prices) {
        Ok(applied) => {
            child.funding_use = FundingUse {
                period_start: child.period_start,
                drawn: drawn.checked_add(shortfall).ok_or(LedgerError::Overflow)?,
            };
            Ok(FundedApplied { draw: Some(draw), op: applied })
        }
        Err(e) => {
            *child = child_before;
            *parent = parent_before;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn who_may_draw() {
        let none: &[String] = &[];
        let kid = vec!["kid".to_string()];
        // (parent, children drawing on the org, ok)
        type Case<'a> = (Option<(&'a str, Funding)>, &'a [String], bool);
        let cases: &[Case] = &[
            (Some(("p", Funding::Own)), none, true),
            (None, none, false),
            (Some(("p", Funding::Parent)), none, false),
            (Some(("p", Funding::Own)), &kid, false),
        ];
        for (parent, kids, ok) in cases {
            let r = check_setting("c", *parent, kids);
            assert_eq!(r.is_ok(), *ok, "{parent:?} {kids:?}: {r:?}");
            if let Err(e) = r {
                assert_eq!(e.code(), ErrorCode::ValidationError);
            }
        }
        assert!(check_reparent("c", Funding::Own, none).is_ok());
        for (f, kids) in [(Funding::Parent, none), (Funding::Own, kid.as_slice())] {
            let e = check_reparent("c", f, kids).expect_err("refused");
            assert_eq!(e.code(), ErrorCode::OrgTreeInvalid);
        }
    }

    #[test]
    fn what_draws() {
        let usage = Op::Usage { amount: Micros::from_micros(1), ctx: EventCtx::default() };
        assert!(draws(&usage));
        let only_timeout = Op::ExtendHold(ExtendOp {
            hold_id: "hold_1".into(),
            amount: None,
            timeout_seconds: Some(60),
            ctx: EventCtx::default(),
        });
        assert!(!draws(&only_timeout), "an extension of the timeout alone draws nothing");
        assert!(!draws(&Op::Release { hold_id: "hold_1".into(), ctx: EventCtx::default() }));
    }
}
