//! The credit rules: grants, vouchers, purchases, holds, debits, releases,
//! usage, refunds, adjustments, billing and expiry.
//!
//! It exists so that each operation on credits is one documented function
//! (`OrgState::credit`, `hold`, `debit`, …) next to the helpers only they
//! use (drawing in consumption order, giving draws back). It imports the
//! leaf modules downward — `state` (what an org has), `op` (the payloads),
//! `effects` (`Tx`, `emit`, checked arithmetic) — and nothing from `access`
//! or `plans`. `apply` (in `apply.rs`) decides which function runs.

use jiff::{Timestamp, ToSpan};

use crate::effects::{Tx, add, check_ctx, merge_ctx, neg, sub};
use crate::error::{LedgerError, invalid};
use crate::event::{EventCtx, EventKind, Pool, Status};
use crate::money::Micros;
use crate::op::{CreditKind, CreditOp, ExtendOp, HoldOp};
use crate::state::{Block, Draw, OrgState, Record, RecordKind, RecordStatus, block_seq};

/// Longest a hold may stay open before it is released automatically.
pub const MAX_HOLD_TIMEOUT_SECONDS: u64 = 7 * 24 * 3600;
/// Hold timeout when the caller names none.
pub const DEFAULT_HOLD_TIMEOUT_SECONDS: u64 = 3600;
pub use crate::input::MAX_TEXT_LEN;
/// Kept at this path for callers that name it here.
pub use crate::state::period_bounds;

impl OrgState {
    /// `Op::Credit`: adds a block of `c.amount` to the pool named (default:
    /// the kind's; a purchase is always prepaid). A voucher needs its code;
    /// only a purchase may start `processing` (no block until it is settled),
    /// `expires_at` must be in the future, and the credits must not take the
    /// org past what an amount can hold. Writes one credit event (the
    /// purchase's carries its `pur_<seq>` record).
    pub(crate) fn credit(&mut self, tx: &mut Tx, c: &CreditOp) -> Result<Option<Record>, LedgerError> {
        check_positive(c.amount)?;
        check_ctx(&c.ctx)?;
        let pool = c.pool.unwrap_or(c.kind.default_pool());
        if c.kind == CreditKind::Purchase && pool != Pool::Prepaid {
            // A settled purchase always lands in prepaid; so does one that succeeds at once.
            return Err(invalid("a purchase adds prepaid credits; its pool can only be prepaid"));
        }
        if let Some(at) = c.expires_at
            && at <= tx.now
        {
            return Err(invalid("expires_at must be in the future"));
        }
        let code = match (c.kind, c.code.as_deref().map(str::trim)) {
            (CreditKind::Voucher, None | Some("")) => return Err(invalid("a voucher needs its code")),
            (_, Some(code)) if code.len() > 200 => return Err(invalid("code is longer than 200 characters")),
            (_, Some(code)) if code.contains('\0') => return Err(invalid("code contains a NUL character (U+0000)")),
            (_, code) => code.filter(|c| !c.is_empty()).map(str::to_string),
        };
        let status = c.status.unwrap_or(Status::Succeeded);
        if c.kind != CreditKind::Purchase && status != Status::Succeeded {
            return Err(invalid("only a purchase can be processing or failed"));
        }
        if status == Status::Failed {
            return Err(invalid("a purchase starts processing or succeeded; settle it to fail it"));
        }
        self.check_room(c.amount)?;
        self.lapse_expired(tx)?;
        let seq = self.seq + 1;
        let mut record = None;
        if c.kind == CreditKind::Purchase {
            let id = format!("pur_{seq}");
            let r = Record {
                id: id.clone(),
                kind: RecordKind::Purchase,
                status: if status == Status::Processing { RecordStatus::Processing } else { RecordStatus::Succeeded },
                amount: c.amount,
                captured: Micros::ZERO,
                refunded: Micros::ZERO,
                draws: Vec::new(),
                expires_at: c.expires_at,
                created_at: tx.now,
                ctx: c.ctx.clone(),
                timed_out: false,
                pricing: None,
                block_id: (status == Status::Succeeded).then(|| format!("blk_{seq}")),
            };
            record = Some(self.put_record(tx, r));
        }
        if status == Status::Succeeded {
            self.add_block(Block {
                id: format!("blk_{seq}"),
                pool,
                remaining: c.amount,
                expires_at: c.expires_at,
                rollovers: 0,
            })?;
        }
        let hold_id = record.as_ref().map(|r: &Record| r.id.clone());
        self.emit(tx, c.kind.event_kind(), c.amount, Some(pool), status, &c.ctx, code, hold_id);
        Ok(record)
    }

    /// `Op::SettlePurchase`: settles a processing purchase once. `succeeded`
    /// adds its prepaid block (refused if its credits have expired since);
    /// `failed` adds nothing. Writes one purchase event with the new status.
    pub(crate) fn settle_purchase(
        &mut self,
        tx: &mut Tx,
        purchase_id: &str,
        status: Status,
        ctx: &EventCtx,
    ) -> Result<Option<Record>, LedgerError> {
        check_ctx(ctx)?;
        let r = match self.records.get(purchase_id) {
            Some(r) if r.kind == RecordKind::Purchase => r.clone(),
            _ => return Err(LedgerError::PurchaseNotFound(purchase_id.to_string())),
        };
        if r.status != RecordStatus::Processing {
            return Err(LedgerError::PurchaseAlreadySettled { purchase_id: r.id, status: r.status.as_str() });
        }
        let new_status = match status {
            Status::Succeeded => RecordStatus::Succeeded,
            Status::Failed => RecordStatus::Failed,
            Status::Processing => return Err(invalid("settle a purchase as succeeded or failed")),
        };
        let expires_at = r.expires_at.filter(|t| *t > tx.now);
        if status == Status::Succeeded {
            self.check_room(r.amount)?;
            if r.expires_at.is_some() && expires_at.is_none() {
                return Err(invalid("the purchase's credits have already expired"));
            }
        }
        self.lapse_expired(tx)?;
        let mut r = r;
        if status == Status::Succeeded {
            let id = format!("blk_{}", self.seq + 1);
            r.block_id = Some(id.clone());
            self.add_block(Block { id, pool: Pool::Prepaid, remaining: r.amount, expires_at, rollovers: 0 })?;
        }
        let merged = merge_ctx(&r.ctx, ctx);
        r.status = new_status;
        let r = self.put_record(tx, r);
        self.emit(tx, EventKind::Purchase, r.amount, Some(Pool::Prepaid), status, &merged, None, Some(r.id.clone()));
        Ok(Some(r))
    }

    /// `Op::Hold`: reserves `h.amount` now, drawn in consumption order (into
    /// the overdraft if allowed), for 1 s to 7 days (default 1 h); refused
    /// with `insufficient_credits` beyond available + overdraft. The held
    /// credits leave their blocks and count in `held` until debit, release or
    /// timeout.
    pub(crate) fn hold(&mut self, tx: &mut Tx, h: &HoldOp) -> Result<Record, LedgerError> {
        check_positive(h.amount)?;
        tx.check_ctx(&h.ctx)?;
        let timeout = h.timeout_seconds.unwrap_or(DEFAULT_HOLD_TIMEOUT_SECONDS);
        if timeout == 0 || timeout > MAX_HOLD_TIMEOUT_SECONDS {
            return Err(invalid(format!("timeout_seconds must be between 1 and {MAX_HOLD_TIMEOUT_SECONDS}")));
        }
        let draws = self.plan_draws(h.amount, tx.now)?;
        add(self.held, h.amount)?;
        let expires_at = tx.now.checked_add((timeout as i64).seconds()).map_err(|_| LedgerError::Overflow)?;
        self.lapse_expired(tx)?;
        self.take(&draws)?;
        self.held = add(self.held, h.amount)?;
        let id = format!("hold_{}", self.seq + 1);
        let pool = main_pool(&draws);
        let r = Record {
            id: id.clone(),
            kind: RecordKind::Hold,
            status: RecordStatus::Open,
            amount: h.amount,
            captured: Micros::ZERO,
            refunded: Micros::ZERO,
            draws,
            expires_at: Some(expires_at),
            created_at: tx.now,
            ctx: h.ctx.clone(),
            timed_out: false,
            pricing: tx.pricing.clone(),
            block_id: None,
        };
        let r = self.put_record(tx, r);
        self.emit(tx, EventKind::Hold, neg(h.amount)?, pool, Status::Succeeded, &h.ctx, None, Some(id));
        Ok(r)
    }

    /// `Op::ExtendHold`: grows an open, unexpired hold by `e.amount` (drawn
    /// in consumption order like a new hold, refused the same way with
    /// `insufficient_credits`) and/or moves its timeout to `timeout_seconds`
    /// from now (1 s to 7 days, and after the current timeout: a timeout is
    /// never shortened). At least one of the two. Writes one `hold` event
    /// naming the hold, its amount the credits added (zero for a timeout
    /// alone); a later debit may capture up to the new total. A priced
    /// extension (`tx.pricing`, see `pricing.rs`) adds its units to the
    /// hold's estimate.
    pub(crate) fn extend_hold(&mut self, tx: &mut Tx, e: &ExtendOp) -> Result<Record, LedgerError> {
        tx.check_ctx(&e.ctx)?;
        let mut r = self.open_hold(&e.hold_id, Some(tx.now))?;
        if e.amount.is_none() && e.timeout_seconds.is_none() {
            return Err(invalid("nothing to extend: give amount (or quantity) and/or a later timeout_seconds"));
        }
        let amount = e.amount.unwrap_or(Micros::ZERO);
        if let Some(a) = e.amount {
            check_positive(a)?;
        }
        let expires_at = match e.timeout_seconds {
            None => r.expires_at,
            Some(t) => {
                if t == 0 || t > MAX_HOLD_TIMEOUT_SECONDS {
                    return Err(invalid(format!("timeout_seconds must be between 1 and {MAX_HOLD_TIMEOUT_SECONDS}")));
                }
                let at = tx.now.checked_add((t as i64).seconds()).map_err(|_| LedgerError::Overflow)?;
                if let Some(current) = r.expires_at
                    && at <= current
                {
                    return Err(invalid(format!(
                        "timeout_seconds {t} ends at {at}, not after the hold's current timeout {current}: \
                         a hold's timeout is only ever made later"
                    )));
                }
                Some(at)
            }
        };
        let draws = if amount.is_positive() { self.plan_draws(amount, tx.now)? } else { Vec::new() };
        add(self.held, amount)?;
        let total = add(r.amount, amount)?;
        let pricing = match (r.pricing.take(), tx.pricing.as_ref()) {
            (Some(mut held), Some(more)) => {
                held.quantity = held.quantity.checked_add(more.quantity).ok_or(LedgerError::Overflow)?;
                if let (Some(parts), Some(added)) = (held.tiers.as_mut(), more.tiers.as_ref()) {
                    parts.extend(added.iter().cloned());
                }
                Some(held)
            }
            (held, _) => held,
        };
        self.lapse_expired(tx)?;
        self.take(&draws)?;
        self.held = add(self.held, amount)?;
        r.amount = total;
        r.draws.extend(draws.iter().cloned());
        r.expires_at = expires_at;
        r.pricing = pricing;
        let mut ctx = merge_ctx(&r.ctx, &e.ctx);
        if e.ctx.description.is_none() {
            ctx.description = Some(format!("Hold {} extended", r.id));
        }
        let pool = main_pool(&draws).or_else(|| main_pool(&r.draws));
        let id = r.id.clone();
        let r = self.put_record(tx, r);
        self.emit(tx, EventKind::Hold, neg(amount)?, pool, Status::Succeeded, &ctx, None, Some(id));
        Ok(r)
    }

    /// The open hold `hold_id`, for a caller's debit or release at `now`.
    /// A hold whose `expires_at` has passed is refused as expired, whether or
    /// not the timer has released it yet (the engine then writes that release:
    /// `creditd_store::Batch::apply`). `now` is `None` for the timer itself.
    fn open_hold(&self, hold_id: &str, now: Option<Timestamp>) -> Result<Record, LedgerError> {
        let Some(r) = self.records.get(hold_id).filter(|r| r.kind == RecordKind::Hold) else {
            return Err(LedgerError::HoldNotFound(hold_id.to_string()));
        };
        let expired_at = now.and(r.expires_at).filter(|t| now.is_some_and(|now| *t <= now));
        match (r.status, expired_at) {
            (RecordStatus::Open, None) => Ok(r.clone()),
            (RecordStatus::Open, Some(t)) => Err(LedgerError::HoldExpired { hold_id: r.id.clone(), expired_at: t }),
            (RecordStatus::Released, _) if r.timed_out => Err(LedgerError::HoldExpired {
                hold_id: r.id.clone(),
                expired_at: r.expires_at.unwrap_or(r.created_at),
            }),
            (status, _) => Err(LedgerError::HoldAlreadySettled { hold_id: r.id.clone(), status: status.as_str() }),
        }
    }

    /// `Op::Debit`: posts an open, unexpired hold: `amount` (default all of
    /// it, never more) is consumed and counts as period usage; the rest goes
    /// back to the blocks it came from in one release event.
    pub(crate) fn debit(
        &mut self,
        tx: &mut Tx,
        hold_id: &str,
        amount: Option<Micros>,
        ctx: &EventCtx,
    ) -> Result<Record, LedgerError> {
        tx.check_ctx(ctx)?;
        let mut r = self.open_hold(hold_id, Some(tx.now))?;
        let take = amount.unwrap_or(r.amount);
        check_positive(take)?;
        if take > r.amount {
            return Err(LedgerError::DebitExceedsHold { hold_id: r.id, held: r.amount, requested: take });
        }
        let period_usage = add(self.period_usage, take)?;
        self.lapse_expired(tx)?;
        let merged = merge_ctx(&r.ctx, ctx);
        self.held = sub(self.held, take)?;
        self.period_usage = period_usage;
        r.captured = take;
        r.status = RecordStatus::Debited;
        let pool = main_pool(&slice_draws(&r.draws, Micros::ZERO, take));
        let rest = sub(r.amount, take)?;
        let draws = r.draws.clone();
        let r = self.put_record(tx, r);
        self.emit(tx, EventKind::Debit, neg(take)?, pool, Status::Succeeded, &merged, None, Some(r.id.clone()));
        if rest.is_positive() {
            let back = slice_draws(&draws, take, r.amount);
            self.held = sub(self.held, rest)?;
            let mut release_ctx = merged.clone();
            release_ctx.description = Some(format!("Rest of hold {} released after a partial debit", r.id));
            self.restore(tx, &back, EventKind::Release, rest, &release_ctx, Some(r.id.clone()))?;
        }
        Ok(r)
    }

    /// `Op::Release` (and `Op::TimeoutHold` with `timeout`): voids an open
    /// hold; every credit goes back to the block it came from (credits whose
    /// block has expired meanwhile lapse at once). A caller's release of a
    /// hold past its time is refused as `hold_expired`.
    pub(crate) fn release(
        &mut self,
        tx: &mut Tx,
        hold_id: &str,
        ctx: &EventCtx,
        timeout: bool,
    ) -> Result<Record, LedgerError> {
        check_ctx(ctx)?;
        let mut r = self.open_hold(hold_id, (!timeout).then_some(tx.now))?;
        self.lapse_expired(tx)?;
        let mut merged = merge_ctx(&r.ctx, ctx);
        if timeout {
            merged.source = Some("timeout".to_string());
            merged.description = Some(format!("Hold {} timed out", r.id));
        }
        self.held = sub(self.held, r.amount)?;
        r.status = RecordStatus::Released;
        r.timed_out = timeout;
        let draws = r.draws.clone();
        let r = self.put_record(tx, r);
        self.restore(tx, &draws, EventKind::Release, r.amount, &merged, Some(r.id.clone()))?;
        Ok(r)
    }

    /// `Op::TimeoutHold` (the timer): releases a hold whose time is up, as
    /// [`OrgState::release`] with `timeout` (source `timeout`; a later debit
    /// or release of it answers `hold_expired`). Does nothing and writes
    /// nothing if the hold is not open or not yet due: it was settled
    /// meanwhile, or the timer ran early.
    pub(crate) fn timeout_hold(&mut self, tx: &mut Tx, hold_id: &str) -> Result<Option<Record>, LedgerError> {
        let now = tx.now;
        let due = self
            .records
            .get(hold_id)
            .is_some_and(|r| r.status == RecordStatus::Open && r.expires_at.is_some_and(|t| t <= now));
        if !due {
            return Ok(None);
        }
        Ok(Some(self.release(tx, hold_id, &EventCtx::default(), true)?))
    }

    /// `Op::Usage`: consumes `amount` at once, drawn in consumption order
    /// (into the overdraft if allowed), and counts it as period usage;
    /// refused with `insufficient_credits` beyond available + overdraft.
    pub(crate) fn usage(&mut self, tx: &mut Tx, amount: Micros, ctx: &EventCtx) -> Result<Record, LedgerError> {
        check_positive(amount)?;
        tx.check_ctx(ctx)?;
        let draws = self.plan_draws(amount, tx.now)?;
        add(self.period_usage, amount)?;
        self.lapse_expired(tx)?;
        self.take(&draws)?;
        self.period_usage = add(self.period_usage, amount)?;
        let id = format!("use_{}", self.seq + 1);
        let pool = main_pool(&draws);
        let r = self.put_record(tx, Record::usage(id.clone(), amount, draws, tx.now, ctx.clone()));
        self.emit(tx, EventKind::Usage, neg(amount)?, pool, Status::Succeeded, ctx, None, Some(id));
        Ok(r)
    }

    /// `Op::Refund`: gives back up to what a usage or a debited hold
    /// consumed and has not been refunded (default all of it), most recently
    /// consumed part first, to the blocks it came from; lowers period usage.
    pub(crate) fn refund(
        &mut self,
        tx: &mut Tx,
        refers_to: &str,
        amount: Option<Micros>,
        ctx: &EventCtx,
    ) -> Result<Record, LedgerError> {
        check_ctx(ctx)?;
        let mut r = match self.records.get(refers_to) {
            Some(r) if r.kind != RecordKind::Purchase => r.clone(),
            _ => return Err(LedgerError::RefundTargetNotFound(refers_to.to_string())),
        };
        if r.kind == RecordKind::Hold && r.status != RecordStatus::Debited {
            return Err(LedgerError::NotRefundable {
                refers_to: r.id,
                why: "only a debited hold has consumed credits; release an open hold instead",
            });
        }
        let refundable = sub(r.captured, r.refunded)?;
        let amount = amount.unwrap_or(refundable);
        check_positive(amount)?;
        if amount > refundable {
            return Err(LedgerError::RefundExceedsConsumed { refers_to: r.id, refundable, requested: amount });
        }
        self.check_room(amount)?;
        self.lapse_expired(tx)?;
        // Give back the most recently consumed part first.
        let hi = refundable;
        let lo = sub(hi, amount)?;
        let back = slice_draws(&r.draws, lo, hi);
        r.refunded = add(r.refunded, amount)?;
        self.period_usage = sub(self.period_usage, amount.min(self.period_usage))?;
        let merged = merge_ctx(&r.ctx, ctx);
        let r = self.put_record(tx, r);
        self.restore(tx, &back, EventKind::Refund, amount, &merged, Some(r.id.clone()))?;
        Ok(r)
    }

    /// `Op::Adjustment`: a manual correction with a reason (kept in the
    /// event's metadata). Positive: a new block (promotional unless a pool is
    /// named). Negative: drawn like usage but not counted as usage.
    pub(crate) fn adjustment(
        &mut self,
        tx: &mut Tx,
        amount: Micros,
        reason: &str,
        pool: Option<Pool>,
        expires_at: Option<Timestamp>,
        ctx: &EventCtx,
    ) -> Result<(), LedgerError> {
        check_ctx(ctx)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > MAX_TEXT_LEN {
            return Err(invalid("an adjustment needs a reason (1 to 1024 characters)"));
        }
        crate::input::check_no_nul("reason", reason)?;
        if amount.is_zero() {
            return Err(invalid("an adjustment amount must not be zero"));
        }
        let mut ctx = ctx.clone();
        if ctx.description.is_none() {
            ctx.description = Some(reason.to_string());
        }
        let mut meta = match ctx.metadata.take() {
            Some(serde_json::Value::Object(m)) => m,
            Some(other) => {
                let mut m = serde_json::Map::new();
                m.insert("value".into(), other);
                m
            }
            None => serde_json::Map::new(),
        };
        meta.insert("reason".into(), serde_json::Value::String(reason.to_string()));
        ctx.metadata = Some(serde_json::Value::Object(meta));
        if amount.is_positive() {
            if expires_at.is_some_and(|t| t <= tx.now) {
                return Err(invalid("expires_at must be in the future"));
            }
            self.check_room(amount)?;
            self.lapse_expired(tx)?;
            let pool = pool.unwrap_or(Pool::Promotional);
            self.add_block(Block {
                id: format!("blk_{}", self.seq + 1),
                pool,
                remaining: amount,
                expires_at,
                rollovers: 0,
            })?;
            self.emit(tx, EventKind::Adjustment, amount, Some(pool), Status::Succeeded, &ctx, None, None);
        } else {
            if pool.is_some() || expires_at.is_some() {
                return Err(invalid("pool and expires_at apply to positive adjustments only"));
            }
            let draws = self.plan_draws(neg(amount)?, tx.now)?;
            self.lapse_expired(tx)?;
            self.take(&draws)?;
            self.emit(tx, EventKind::Adjustment, amount, main_pool(&draws), Status::Succeeded, &ctx, None, None);
        }
        Ok(())
    }

    /// `Op::Billing`: records an invoice or charge; 0 writes only the
    /// event, a negative amount is drawn like usage (not counted as usage).
    pub(crate) fn billing(&mut self, tx: &mut Tx, amount: Micros, ctx: &EventCtx) -> Result<(), LedgerError> {
        check_ctx(ctx)?;
        if amount.is_positive() {
            return Err(invalid("a billing event records an invoice or charge: its amount is 0 or negative"));
        }
        let draws = if amount.is_negative() { self.plan_draws(neg(amount)?, tx.now)? } else { Vec::new() };
        self.lapse_expired(tx)?;
        self.take(&draws)?;
        self.emit(tx, EventKind::Billing, amount, main_pool(&draws), Status::Succeeded, ctx, None, None);
        Ok(())
    }
    /// `Op::ExpireDue` (the scheduler's tick): every block past its expiry
    /// lapses, one `expiry` event each (an org with a plan has already
    /// caught up its renewals and expiries, each at its own instant).
    pub(crate) fn expire_due(&mut self, tx: &mut Tx) -> Result<(), LedgerError> {
        self.lapse_expired(tx)
    }

    /// Which blocks `amount` would come from at `now`, without taking them.
    pub(crate) fn plan_draws(&self, amount: Micros, now: Timestamp) -> Result<Vec<Draw>, LedgerError> {
        let mut live: Vec<&Block> = self.blocks.iter().filter(|b| b.expires_at.is_none_or(|t| t > now)).collect();
        let rank = |p: Pool| self.settings.consumption_order.iter().position(|q| *q == p).unwrap_or(usize::MAX);
        let expiring_first = self.settings.expiring_first;
        // Stable sort keeps creation order among equals (oldest first).
        live.sort_by_key(|b| {
            let expiry = if expiring_first { b.expires_at.map_or(i128::MAX, |t| t.as_nanosecond()) } else { 0 };
            (expiry, rank(b.pool))
        });
        let live_total = live.iter().try_fold(Micros::ZERO, |acc, b| add(acc, b.remaining))?;
        let available = sub(sub(live_total, self.debt)?, self.reversal_debt)?;
        let floor = neg(self.settings.overdraft_limit)?;
        if sub(available, amount)? < floor {
            return Err(LedgerError::InsufficientCredits { available: available.max(Micros::ZERO), requested: amount });
        }
        let mut left = amount;
        let mut draws = Vec::new();
        for b in live {
            if left.is_zero() {
                break;
            }
            let take = left.min(b.remaining);
            draws.push(Draw {
                block_id: Some(b.id.clone()),
                pool: Some(b.pool),
                expires_at: b.expires_at,
                amount: take,
            });
            left = sub(left, take)?;
        }
        if left.is_positive() {
            draws.push(Draw { block_id: None, pool: None, expires_at: None, amount: left });
        }
        Ok(draws)
    }

    pub(crate) fn take(&mut self, draws: &[Draw]) -> Result<(), LedgerError> {
        for d in draws {
            match &d.block_id {
                Some(id) => {
                    let i = self
                        .blocks
                        .iter()
                        .position(|b| &b.id == id)
                        .ok_or_else(|| LedgerError::BlockMissing(id.clone()))?;
                    let b = &mut self.blocks[i];
                    b.remaining = sub(b.remaining, d.amount)?;
                    if b.remaining.is_zero() {
                        self.blocks.remove(i);
                    }
                }
                None => self.debt = add(self.debt, d.amount)?,
            }
        }
        Ok(())
    }

    /// Gives `draws` back to their blocks with one event of `kind`; credits
    /// whose block has expired meanwhile lapse at once.
    fn restore(
        &mut self,
        tx: &mut Tx,
        draws: &[Draw],
        kind: EventKind,
        amount: Micros,
        ctx: &EventCtx,
        hold_id: Option<String>,
    ) -> Result<(), LedgerError> {
        let mut lapsed: Vec<Draw> = Vec::new();
        for d in draws {
            match &d.block_id {
                Some(id) => {
                    // Credits coming back settle a reversal debt first.
                    let back = self.settle_debt(d.amount)?;
                    if back.is_zero() {
                        continue;
                    }
                    if let Some(b) = self.blocks.iter_mut().find(|b| &b.id == id) {
                        b.remaining = add(b.remaining, back)?;
                    } else {
                        // Back in its place among the blocks (kept in creation
                        // order), so ties in the consumption order still go
                        // to the oldest block.
                        let at = self.blocks.iter().position(|b| block_seq(&b.id) > block_seq(id));
                        self.blocks.insert(
                            at.unwrap_or(self.blocks.len()),
                            Block {
                                id: id.clone(),
                                pool: d.pool.unwrap_or(Pool::Promotional),
                                remaining: back,
                                expires_at: d.expires_at,
                                rollovers: 0,
                            },
                        );
                    }
                    if d.expires_at.is_some_and(|t| t <= tx.now) {
                        lapsed.push(d.clone());
                    }
                }
                None => {
                    let back = d.amount.min(self.debt);
                    self.debt = sub(self.debt, back)?;
                }
            }
        }
        self.emit(tx, kind, amount, main_pool(draws), Status::Succeeded, ctx, None, hold_id);
        if !lapsed.is_empty() {
            self.lapse_expired(tx)?;
        }
        Ok(())
    }
}

pub(crate) fn check_positive(amount: Micros) -> Result<(), LedgerError> {
    if amount.is_positive() { Ok(()) } else { Err(invalid(format!("amount must be positive, got {amount}"))) }
}

/// The pool most of `draws` came from (the first on a tie).
pub(crate) fn main_pool(draws: &[Draw]) -> Option<Pool> {
    let mut best: Option<(Pool, Micros)> = None;
    for p in Pool::ALL {
        let total = draws
            .iter()
            .filter(|d| d.pool == Some(*p))
            .fold(Micros::ZERO, |a, d| a.checked_add(d.amount).unwrap_or(Micros::MAX));
        let first_index = draws.iter().position(|d| d.pool == Some(*p));
        if total.is_positive() {
            match best {
                Some((_, bt)) if bt > total => {}
                Some((bp, bt)) if bt == total && draws.iter().position(|d| d.pool == Some(bp)) < first_index => {}
                _ => best = Some((*p, total)),
            }
        }
    }
    best.map(|(p, _)| p)
}

/// The part of `draws` between cumulative offsets `from` and `to`.
pub fn slice_draws(draws: &[Draw], from: Micros, to: Micros) -> Vec<Draw> {
    let mut out = Vec::new();
    let mut offset: i64 = 0;
    for d in draws {
        let start = offset;
        let end = offset.saturating_add(d.amount.micros());
        offset = end;
        let lo = start.max(from.micros());
        let hi = end.min(to.micros());
        if hi > lo {
            out.push(Draw { amount: Micros::from_micros(hi - lo), ..d.clone() });
        }
    }
    out
}
