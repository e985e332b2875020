//! Reversing a purchase: a refund or chargeback at the payment provider
//! takes back the credits it bought.
//!
//! It exists as a rule file of its own (beside `ledger`, `access` and
//! `plans`, importing none of them) because a reversal is not a refund of
//! consumption nor an adjustment: it names one purchase, happens at most
//! once, takes back only what is still in the block that purchase created,
//! and decides by the organisation's [`ReversalPolicy`] what becomes of the
//! credits already spent.
//!
//! The rule, in numbers (all exact micro-credits): the purchase bought `A`;
//! its block still holds `U` (at most `A`; credits reserved by open holds,
//! consumed, or lapsed are no longer in it); the spent part is `S = A − U`.
//! The `reversal` event takes `U` out of the block, and
//! - policy `debt` (the default): adds `S` to [`OrgState::reversal_debt`];
//!   the event's amount is `−A` and available goes down by all of the
//!   purchase (below zero when `S` is more than the rest of the balance);
//!   credits that arrive later settle the debt first, so the debt is paid
//!   before anything else can be spent (see below);
//! - policy `write_off`: `S` is forgiven; the event's amount is `−U`.
//!
//! Either way the event's metadata says `reason`, `policy`, `unspent` and
//! `debt` or `written_off` (exact decimals), and `hold_id` links it to the
//! purchase, whose record becomes `reversed`.
//!
//! **Credits arriving settle the debt**, whatever brings them: a grant, a
//! purchase, a subscription credit or renewal, a voucher, a positive
//! adjustment, a transfer in (also a funded child's draw from its parent),
//! credits given back to their block by a release, a partial debit or a
//! refund. Of `C` credits arriving against a debt `D`, `min(C, D)` pays the
//! debt and only `C − min(C, D)` reaches a block; available moves by all
//! of `C` either way. The rule's one home is [`crate::effects::settle`]
//! (in the shared machinery, since every rule file adds credits): the
//! live ledger applies it through `OrgState::add_block` and
//! `OrgState::settle_debt`, and an import or `verify` replays it over a
//! stored history with [`crate::effects::debt_after`], so an imported
//! organisation owes and holds exactly what the live one did.

use crate::effects::{Tx, add, check_ctx, merge_ctx, neg, sub};
use crate::error::{LedgerError, invalid};
use crate::event::{EventCtx, EventKind, Pool, Status};
use crate::input::MAX_TEXT_LEN;
use crate::money::Micros;
use crate::state::{OrgState, Record, RecordKind, RecordStatus, ReversalPolicy};

/// What a reversal takes and what it leaves, before anything changes.
struct Plan {
    /// Each block it takes from and how much, in order.
    takes: Vec<(String, Micros)>,
    /// What the blocks gave back (`U`).
    unspent: Micros,
    /// What was already spent (`S = A − U`).
    spent: Micros,
}

impl OrgState {
    /// `Op::ReversePurchase`: takes back a succeeded purchase once. Its
    /// still unspent credits leave the block it created; what was spent
    /// becomes debt (policy `debt`) or is written off (`write_off`), per
    /// the organisation's setting (see the module docs for the numbers).
    /// Refused: a reason that is empty or over 1,024 characters (checked
    /// first), an unknown purchase (`purchase_not_found`), a processing or
    /// failed one (`purchase_not_reversible`), one already reversed
    /// (`purchase_already_reversed`). Writes one `reversal` event naming the purchase
    /// (expiries due first, as every operation).
    pub(crate) fn reverse_purchase(
        &mut self,
        tx: &mut Tx,
        purchase_id: &str,
        reason: &str,
        ctx: &EventCtx,
    ) -> Result<Record, LedgerError> {
        check_ctx(ctx)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > MAX_TEXT_LEN {
            return Err(invalid("a reversal needs a reason (1 to 1024 characters)"));
        }
        crate::input::check_no_nul("reason", reason)?;
        let mut r = match self.records.get(purchase_id) {
            Some(r) if r.kind == RecordKind::Purchase => r.clone(),
            _ => return Err(LedgerError::PurchaseNotFound(purchase_id.to_string())),
        };
        match r.status {
            RecordStatus::Succeeded => {}
            RecordStatus::Reversed => return Err(LedgerError::PurchaseAlreadyReversed(r.id)),
            RecordStatus::Processing => {
                return Err(LedgerError::PurchaseNotReversible {
                    purchase_id: r.id,
                    status: "processing",
                    hint: "; settle it as failed instead",
                });
            }
            other => {
                return Err(LedgerError::PurchaseNotReversible { purchase_id: r.id, status: other.as_str(), hint: "" });
            }
        }
        let policy = self.settings.reversal_policy;
        // Only live blocks count: expiries due now happen first, as in
        // every operation, so credits that have lapsed are not "unspent".
        let plan = self.plan_reversal(&r, tx.now)?;
        let debt = match policy {
            ReversalPolicy::Debt => add(self.reversal_debt, plan.spent)?,
            ReversalPolicy::WriteOff => self.reversal_debt,
        };
        let amount = match policy {
            ReversalPolicy::Debt => neg(r.amount)?,
            ReversalPolicy::WriteOff => neg(plan.unspent)?,
        };
        let mut merged = merge_ctx(&r.ctx, ctx);
        merged.description = ctx.description.clone().or_else(|| Some(format!("Purchase {} reversed: {reason}", r.id)));
        let mut meta = match merged.metadata.take() {
            Some(serde_json::Value::Object(m)) => m,
            Some(other) => serde_json::Map::from_iter([("value".to_string(), other)]),
            None => serde_json::Map::new(),
        };
        let text = |m: Micros| serde_json::Value::String(m.to_string());
        meta.insert("reason".into(), serde_json::Value::String(reason.to_string()));
        meta.insert("policy".into(), serde_json::Value::String(policy.as_str().to_string()));
        meta.insert("unspent".into(), text(plan.unspent));
        let spent_as = if policy == ReversalPolicy::Debt { "debt" } else { "written_off" };
        meta.insert(spent_as.into(), text(plan.spent));
        let meta = serde_json::Value::Object(meta);
        crate::input::check_metadata(&meta)?;
        merged.metadata = Some(meta);

        // Nothing is refused from here on.
        self.lapse_expired(tx)?;
        for (id, take) in &plan.takes {
            let i =
                self.blocks.iter().position(|b| &b.id == id).ok_or_else(|| LedgerError::BlockMissing(id.clone()))?;
            let b = &mut self.blocks[i];
            b.remaining = sub(b.remaining, *take)?;
            if b.remaining.is_zero() {
                self.blocks.remove(i);
            }
        }
        self.reversal_debt = debt;
        r.status = RecordStatus::Reversed;
        let r = self.put_record(tx, r);
        self.emit(
            tx,
            EventKind::Reversal,
            amount,
            Some(Pool::Prepaid),
            Status::Succeeded,
            &merged,
            None,
            Some(r.id.clone()),
        );
        Ok(r)
    }

    /// Which blocks a reversal of `r` takes from at `now`, and how much:
    /// its own block (what is left of it, if it has not expired); for a purchase recorded
    /// without its block (before blocks were recorded on purchases, or
    /// imported), the prepaid blocks, newest first, up to its amount.
    fn plan_reversal(&self, r: &Record, now: jiff::Timestamp) -> Result<Plan, LedgerError> {
        let live = |b: &&crate::state::Block| b.expires_at.is_none_or(|t| t > now);
        let mut takes = Vec::new();
        let mut left = r.amount;
        match &r.block_id {
            Some(id) => {
                if let Some(b) = self.blocks.iter().filter(live).find(|b| &b.id == id) {
                    let take = b.remaining.min(left);
                    takes.push((b.id.clone(), take));
                    left = sub(left, take)?;
                }
            }
            None => {
                for b in self.blocks.iter().filter(live).filter(|b| b.pool == Pool::Prepaid).rev() {
                    if !left.is_positive() {
                        break;
                    }
                    let take = b.remaining.min(left);
                    takes.push((b.id.clone(), take));
                    left = sub(left, take)?;
                }
            }
        }
        let unspent = sub(r.amount, left)?;
        Ok(Plan { takes, unspent, spent: left })
    }
}
