//! Transfers: credits moving between related organisations, with their
//! blocks.
//!
//! It exists because a transfer is the one operation that changes two
//! organisations, and "both or neither" must be a rule of the core, not of
//! an engine. [`transfer`] applies the sending half to one state and the
//! receiving half to the other, and leaves both as they were when either
//! half is refused; an engine only has to hold both states (and, on
//! PostgreSQL, lock both rows in id order) and write both halves in one
//! transaction.
//!
//! - Who: a parent and its child (either way) or two siblings
//!   ([`crate::tree::relation`]); not oneself, not anyone else
//!   (`orgs_not_related`).
//! - How much: a positive amount, at most what the sender has available
//!   now, never into its overdraft (`insufficient_credits`).
//! - Which credits: taken from the sender's blocks in its consumption order
//!   (soonest expiring first, then its pool order), exactly like usage;
//!   the receiver gets one block per (pool, expiry) taken, so plan credits
//!   stay plan credits and expiring credits still expire at the same
//!   instant (then in the receiver, an `expiry` event there). Like every
//!   credit arrival they settle the receiver's reversal debt first
//!   ([`crate::effects::settle`], through `OrgState::add_block`): only
//!   what is left becomes its blocks, in the order taken.
//! - What is written: a `transfer_out` event (amount negative) on the
//!   sender and a `transfer_in` event (positive) on the receiver. Both carry
//!   the transfer id (`trf_<seq>`, the seq of the `transfer_out`) in
//!   `hold_id` and the other organisation's id in `code`. Neither is
//!   usage: period usage, caps and the usage rollups do not count them.
//! - Check: [`check_halves`] says whether a `transfer_out` and a
//!   `transfer_in` are the two halves of one transfer; `verify` runs it for
//!   every transfer of an organisation.

use jiff::Timestamp;

use crate::effects::check_ctx;
use crate::effects::{Applied, Tx, add, neg};
use crate::error::{LedgerError, invalid};
use crate::event::{Event, EventCtx, EventKind, Pool, Status};
use crate::ledger::{check_positive, main_pool};
use crate::money::Micros;
use crate::op::{Actor, Op, TransferOp};
use crate::state::{Block, Draw, OrgState};
use crate::tree;

/// The prefix of a transfer id (`trf_<seq>`).
pub const TRANSFER_ID_PREFIX: &str = "trf_";

/// Both halves of an applied transfer.
#[derive(Debug)]
pub struct TransferApplied {
    /// The sender's: its `transfer_out` event (and any expiry it caused).
    pub out: Applied,
    /// The receiver's: its `transfer_in` event (and any expiry it caused).
    pub into: Applied,
}

/// Refusals that need neither state: a transfer to oneself, or an `op`
/// that is not a sending half. Engines ask this before they load the
/// receiver (which, for a transfer to oneself, is the sender).
pub fn check_request(from_org: &str, op: &Op) -> Result<(), LedgerError> {
    match op {
        Op::Transfer(TransferOp::Out { to, .. }) if to == from_org => {
            Err(invalid(format!("a transfer goes to another organization, not to {from_org} itself")))
        }
        Op::Transfer(TransferOp::Out { to, .. }) if !crate::valid_id(to) => {
            Err(invalid(format!("to: {to:?} is not an organization id")))
        }
        Op::Transfer(TransferOp::Out { .. }) => Ok(()),
        _ => Err(invalid("only a transfer's sending half is applied with transfers::transfer")),
    }
}

/// Applies the transfer `op` (a [`TransferOp::Out`]) from `from` (whose
/// parent is `from_parent`) to `to` (whose parent is `to_parent`), done by
/// `actor`, at `now`, with the caller's idempotency key on the sending
/// event. Both halves or neither: on a refusal neither state has changed.
#[allow(clippy::too_many_arguments)]
pub fn transfer(
    from: &mut OrgState,
    from_parent: Option<&str>,
    to: &mut OrgState,
    to_parent: Option<&str>,
    op: &Op,
    actor: Option<&Actor>,
    now: Timestamp,
    key: Option<&str>,
) -> Result<TransferApplied, LedgerError> {
    check_request(&from.org_id, op)?;
    let Op::Transfer(TransferOp::Out { to: to_id, ctx, .. }) = op else {
        return Err(invalid("only a transfer's sending half is applied with transfers::transfer"));
    };
    if *to_id != to.org_id {
        return Err(invalid(format!("the receiving state is {}, not {to_id}", to.org_id)));
    }
    if tree::relation(&from.org_id, from_parent, &to.org_id, to_parent).is_none() {
        return Err(LedgerError::NotRelated { from: from.org_id.clone(), to: to.org_id.clone() });
    }
    // The sender is changed first; kept to go back to if the receiver refuses.
    let before = from.clone();
    let out = from.apply_as(op, actor, now, key)?;
    let transfer_id = out
        .outcome
        .as_ref()
        .and_then(|o| o.events.iter().find(|e| e.kind == EventKind::TransferOut))
        .and_then(|e| e.hold_id.clone());
    let Some(transfer_id) = transfer_id else {
        *from = before;
        return Err(invalid("the sending half wrote no transfer_out event"));
    };
    let into_op = Op::Transfer(TransferOp::In {
        from: from.org_id.clone(),
        transfer_id,
        draws: out.moved.clone(),
        ctx: ctx.clone(),
    });
    match to.apply_as(&into_op, None, now, None) {
        Ok(into) => Ok(TransferApplied { out, into }),
        Err(e) => {
            *from = before;
            Err(e)
        }
    }
}

impl OrgState {
    /// `Op::Transfer`: one half of a transfer (the rules are this module's
    /// docs). Called through [`transfer`], which applies both.
    pub(crate) fn transfer_half(&mut self, tx: &mut Tx, t: &TransferOp) -> Result<(), LedgerError> {
        match t {
            TransferOp::Out { to, amount, ctx } => self.transfer_out(tx, to, *amount, ctx),
            TransferOp::In { from, transfer_id, draws, ctx } => self.transfer_in(tx, from, transfer_id, draws, ctx),
        }
    }

    /// The sending half: `amount` (positive, at most available, no
    /// overdraft) taken from the blocks in consumption order; one
    /// `transfer_out` event; the parts are left in `tx.moved`.
    fn transfer_out(&mut self, tx: &mut Tx, to: &str, amount: Micros, ctx: &EventCtx) -> Result<(), LedgerError> {
        check_positive(amount)?;
        check_ctx(ctx)?;
        self.lapse_expired(tx)?;
        let available = self.available();
        if amount > available {
            return Err(LedgerError::InsufficientCredits { available: available.max(Micros::ZERO), requested: amount });
        }
        let draws = self.plan_draws(amount, tx.now)?;
        if draws.iter().any(|d| d.block_id.is_none()) {
            // Unreachable while amount <= available; refuse rather than move debt.
            return Err(LedgerError::InsufficientCredits { available: available.max(Micros::ZERO), requested: amount });
        }
        self.take(&draws)?;
        let id = format!("{TRANSFER_ID_PREFIX}{}", self.seq + 1);
        let mut ctx = ctx.clone();
        ctx.description.get_or_insert_with(|| format!("Transfer to {to}"));
        let pool = main_pool(&draws);
        self.emit(
            tx,
            EventKind::TransferOut,
            neg(amount)?,
            pool,
            Status::Succeeded,
            &ctx,
            Some(to.to_string()),
            Some(id),
        );
        tx.moved = draws;
        Ok(())
    }

    /// The receiving half: one block per (pool, expiry) of `draws`, in the
    /// order they were taken, after a reversal debt is settled from them;
    /// one `transfer_in` event. Credits whose expiry
    /// has passed by now lapse at once (an `expiry` event after it).
    fn transfer_in(
        &mut self,
        tx: &mut Tx,
        from: &str,
        transfer_id: &str,
        draws: &[Draw],
        ctx: &EventCtx,
    ) -> Result<(), LedgerError> {
        check_ctx(ctx)?;
        if !transfer_id.starts_with(TRANSFER_ID_PREFIX) {
            return Err(invalid(format!("{transfer_id:?} is not a transfer id")));
        }
        let mut parts: Vec<(Pool, Option<Timestamp>, Micros)> = Vec::new();
        for d in draws {
            let (Some(_), Some(pool)) = (&d.block_id, d.pool) else {
                return Err(invalid("a transfer moves credits of blocks only, never an overdraft"));
            };
            check_positive(d.amount)?;
            match parts.iter_mut().find(|(p, e, _)| *p == pool && *e == d.expires_at) {
                Some(part) => part.2 = add(part.2, d.amount)?,
                None => parts.push((pool, d.expires_at, d.amount)),
            }
        }
        let total = parts.iter().try_fold(Micros::ZERO, |acc, p| add(acc, p.2))?;
        check_positive(total)?;
        self.check_room(total)?;
        self.lapse_expired(tx)?;
        let seq = self.seq + 1;
        for (i, (pool, expires_at, amount)) in parts.iter().enumerate() {
            let id = if i == 0 { format!("blk_{seq}") } else { format!("blk_{seq}.{i}") };
            // Like any credits arriving, they settle a reversal debt first.
            self.add_block(Block { id, pool: *pool, remaining: *amount, expires_at: *expires_at, rollovers: 0 })?;
        }
        let mut ctx = ctx.clone();
        ctx.description.get_or_insert_with(|| format!("Transfer from {from}"));
        let pool = main_pool(draws);
        self.emit(
            tx,
            EventKind::TransferIn,
            total,
            pool,
            Status::Succeeded,
            &ctx,
            Some(from.to_string()),
            Some(transfer_id.to_string()),
        );
        // Credits that expired while they travelled lapse here, at once.
        self.lapse_expired(tx)
    }
}

/// Whether `out` (on `out.org_id`) and `into` (on `into.org_id`) are the two
/// halves of one transfer: kinds, the same transfer id, each naming the
/// other org, amounts that cancel. Returns what is wrong, in words.
pub fn check_halves(out: &Event, into: &Event) -> Result<(), String> {
    let id = out.hold_id.as_deref().unwrap_or("?");
    if out.kind != EventKind::TransferOut || into.kind != EventKind::TransferIn {
        return Err(format!(
            "transfer {id}: expected a transfer_out and a transfer_in, got {} and {}",
            out.kind, into.kind
        ));
    }
    if out.hold_id.is_none() || out.hold_id != into.hold_id {
        return Err(format!("transfer {id}: the halves carry ids {:?} and {:?}", out.hold_id, into.hold_id));
    }
    if out.code.as_deref() != Some(into.org_id.as_str()) || into.code.as_deref() != Some(out.org_id.as_str()) {
        return Err(format!(
            "transfer {id}: {} names {:?} and {} names {:?} as the other side",
            out.org_id, out.code, into.org_id, into.code
        ));
    }
    if out.amount.checked_neg() != Some(into.amount) || !into.amount.is_positive() {
        return Err(format!(
            "transfer {id}: {} sent {} but {} received {}",
            out.org_id, out.amount, into.org_id, into.amount
        ));
    }
    Ok(())
}
