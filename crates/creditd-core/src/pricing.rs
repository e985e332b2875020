//! Priced operations: a hold, usage or debit named by a price and a
//! quantity instead of an amount.
//!
//! It exists so that the rule "which price applies, at which tier, for how
//! much" is one function the writer runs inside the apply step (so tiers
//! count exactly however many clients race) and `check` runs without
//! writing. A rule file: it imports the leaves (`state`, `op`, `prices`)
//! and no other rule file; `apply` turns a priced operation into the plain
//! one it stands for with [`OrgState::resolve_priced`], then runs that.
//!
//! # The rules
//!
//! - The book is the org's (its own setting over its plan's,
//!   [`OrgState::price_book_id`]); the version is the one in force at the
//!   operation's time ([`PriceBook::in_force`]). No book, or no version in
//!   force yet, or a key the version lacks: `unknown_price`.
//! - A hold prices its estimated quantity at the org's position in the
//!   line's tiers now; holds do not move that position.
//! - A debit of a priced hold prices the actual quantity (default: the
//!   estimate) with the **hold's** line and version, even when a later
//!   version is in force by then: the hold reserved credits at that price,
//!   so the caller was told that price. The tier position is the one at
//!   the debit. The cost must be at most the amount held
//!   (`debit_exceeds_hold`); the rest is released. A debit by `amount` of
//!   a priced hold is refused (say the quantity instead).
//! - An extension of a priced hold (more estimated units) is priced with
//!   the **hold's** line and version too, at the org's tier position now;
//!   its units join the hold's estimate (the default quantity of the
//!   debit). An extension by `amount` of a priced hold is refused (say the
//!   quantity instead), as is one by quantity of a plain hold.
//! - Usage and debits move the line's counter for the period
//!   ([`PeriodQuantities`](crate::state::PeriodQuantities)) by their
//!   quantity; the counters start again at zero each period.
//! - Service and activity default to the line's.

use jiff::Timestamp;

use crate::error::{LedgerError, invalid};
use crate::event::EventCtx;
use crate::money::Micros;
use crate::op::{ExtendOp, HoldOp, Op, PricedOp};
use crate::prices::{PriceBook, PriceBookVersion, PriceLine, PriceRequest, PriceSource, PriceText, Pricing, Quantity};
use crate::state::{OrgState, RecordKind, RecordStatus};

/// A priced operation turned into the plain one it stands for.
pub(crate) struct Resolved {
    /// The plain hold, usage or debit, with the priced amount.
    pub(crate) op: Op,
    /// What its event keeps.
    pub(crate) pricing: Pricing,
    /// Usage and debits: the line's counter after the operation.
    pub(crate) count: Option<(PriceText, Quantity)>,
}

/// What a price request costs now, and how it was priced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quote {
    /// The cost in micro-credits (rounded up once).
    pub amount: Micros,
    /// The line, quantity, unit price or tiers, book and version.
    pub pricing: Pricing,
    /// The line's service (the default of the event's).
    pub service: String,
    /// The line's activity (the default of the event's).
    pub activity: String,
    line_after: (PriceText, Quantity),
}

fn unknown(price: &str, book: &str) -> LedgerError {
    LedgerError::UnknownPrice { price: price.to_string(), book: book.to_string() }
}

/// `ctx` with the line's `service` and `activity` where it names none
/// (moved in: the quote's own strings, not copies of them).
fn with_line(ctx: &EventCtx, service: String, activity: String) -> EventCtx {
    let mut ctx = ctx.clone();
    ctx.service.get_or_insert(service);
    ctx.activity.get_or_insert(activity);
    ctx
}

impl OrgState {
    /// Prices `req` with the org's book in force at `now`, at the org's
    /// position in the line's tiers this period. Changes nothing.
    pub fn quote(&self, req: &PriceRequest, prices: &dyn PriceSource, now: Timestamp) -> Result<Quote, LedgerError> {
        let book_id = self.price_book_id().ok_or_else(|| unknown(&req.price, ""))?;
        let book: std::sync::Arc<PriceBook> = prices.book(book_id).ok_or_else(|| unknown(&req.price, ""))?;
        let version = book.in_force(now).ok_or_else(|| unknown(&req.price, ""))?;
        let line = version.find(&req.price, &req.dimensions)?;
        self.price_on(version, line, req.quantity)
    }

    /// `quantity` units priced as the hold priced `hp` was: its book,
    /// version and line (a debit or extension of a priced hold keeps the
    /// price it was quoted), at the org's tier position now.
    fn price_at_hold(&self, hp: &Pricing, quantity: Quantity, prices: &dyn PriceSource) -> Result<Quote, LedgerError> {
        let book = prices.book(&hp.price_book).ok_or_else(|| unknown(&hp.price_key, &hp.price_book))?;
        let version = book
            .versions
            .iter()
            .find(|v| v.version == hp.version)
            .ok_or_else(|| unknown(&hp.price_key, &hp.price_book))?;
        let line = version.find(&hp.price_key, &hp.dimensions)?;
        self.price_on(version, line, quantity)
    }

    fn price_on(&self, version: &PriceBookVersion, line: &PriceLine, quantity: Quantity) -> Result<Quote, LedgerError> {
        let id = line.line_id();
        let used = self.quantities.used(self.period_start, &id);
        let priced = line.price(used, quantity)?;
        let after = used.checked_add(quantity).ok_or(LedgerError::Overflow)?;
        Ok(Quote {
            amount: priced.total,
            pricing: Pricing::of(version, line, quantity, priced),
            service: line.service.to_string(),
            activity: line.activity.to_string(),
            line_after: (id, after),
        })
    }

    /// The plain operation a priced one stands for (see the module docs),
    /// or `None` for an operation that is not priced. A plain debit of a
    /// priced hold is priced too (its estimate, or refused with an amount).
    /// Changes nothing.
    pub(crate) fn resolve_priced(
        &self,
        op: &Op,
        prices: &dyn PriceSource,
        now: Timestamp,
    ) -> Result<Option<Resolved>, LedgerError> {
        Ok(Some(match op {
            Op::Priced(PricedOp::Hold { price, timeout_seconds, ctx }) => {
                let Quote { amount, pricing, service, activity, .. } = self.quote(price, prices, now)?;
                let ctx = with_line(ctx, service, activity);
                let op = Op::Hold(HoldOp { amount, timeout_seconds: *timeout_seconds, ctx });
                Resolved { op, pricing, count: None }
            }
            Op::Priced(PricedOp::Usage { price, ctx }) => {
                let Quote { amount, pricing, service, activity, line_after } = self.quote(price, prices, now)?;
                let op = Op::Usage { amount, ctx: with_line(ctx, service, activity) };
                Resolved { op, pricing, count: Some(line_after) }
            }
            Op::Priced(PricedOp::Debit { hold_id, quantity, ctx }) => {
                match self.resolve_debit(hold_id, *quantity, ctx, prices)? {
                    Some(r) => r,
                    None => return Err(invalid(format!("hold {hold_id} was not priced: debit it by amount"))),
                }
            }
            Op::Priced(PricedOp::Extend { hold_id, quantity, timeout_seconds, ctx }) => {
                self.resolve_extend(hold_id, *quantity, *timeout_seconds, ctx, prices)?
            }
            Op::ExtendHold(e) => {
                let open_priced = self
                    .records
                    .get(e.hold_id.as_str())
                    .is_some_and(|r| r.pricing.is_some() && r.status == RecordStatus::Open);
                if open_priced && e.amount.is_some() {
                    return Err(invalid(format!("hold {} was priced: extend it by quantity, not amount", e.hold_id)));
                }
                return Ok(None);
            }
            Op::Debit { hold_id, amount, ctx } => {
                // A settled or missing hold is left to the debit's own refusal.
                let open_priced = self
                    .records
                    .get(hold_id.as_str())
                    .is_some_and(|r| r.pricing.is_some() && r.status == RecordStatus::Open);
                if !open_priced {
                    return Ok(None);
                }
                if amount.is_some() {
                    return Err(invalid(format!("hold {hold_id} was priced: debit it by quantity, not amount")));
                }
                match self.resolve_debit(hold_id, None, ctx, prices)? {
                    Some(r) => r,
                    None => return Ok(None),
                }
            }
            _ => return Ok(None),
        }))
    }

    /// A debit of the priced hold `hold_id` for `quantity` (default: its
    /// estimate); `None` if the hold is missing or not priced. A hold that
    /// is no longer open is left to the debit's own refusal.
    fn resolve_debit(
        &self,
        hold_id: &str,
        quantity: Option<Quantity>,
        ctx: &EventCtx,
        prices: &dyn PriceSource,
    ) -> Result<Option<Resolved>, LedgerError> {
        let Some(r) = self.records.get(hold_id).filter(|r| r.kind == RecordKind::Hold) else {
            return Err(LedgerError::HoldNotFound(hold_id.to_string()));
        };
        let Some(hp) = &r.pricing else { return Ok(None) };
        let plain = Op::Debit { hold_id: hold_id.to_string(), amount: None, ctx: ctx.clone() };
        if r.status != RecordStatus::Open {
            return Ok(Some(Resolved { op: plain, pricing: hp.clone(), count: None }));
        }
        let quantity = quantity.unwrap_or(hp.quantity);
        let q = self.price_at_hold(hp, quantity, prices)?;
        if q.amount > r.amount {
            return Err(LedgerError::DebitExceedsHold { hold_id: r.id.clone(), held: r.amount, requested: q.amount });
        }
        let op = Op::Debit { hold_id: hold_id.to_string(), amount: Some(q.amount), ctx: ctx.clone() };
        Ok(Some(Resolved { op, pricing: q.pricing, count: Some(q.line_after) }))
    }

    /// An extension of the priced hold `hold_id` by `quantity` more units:
    /// priced with the hold's line and version (the credits it reserves
    /// were quoted at that price; the version in force now does not apply),
    /// at the org's tier position now, as a new hold on that version would
    /// be. Holds do not move the tier position, so neither does this. A
    /// hold that is not priced is refused (extend it by amount); one no
    /// longer open is left to the extension's own refusal.
    fn resolve_extend(
        &self,
        hold_id: &str,
        quantity: Quantity,
        timeout_seconds: Option<u64>,
        ctx: &EventCtx,
        prices: &dyn PriceSource,
    ) -> Result<Resolved, LedgerError> {
        let Some(r) = self.records.get(hold_id).filter(|r| r.kind == RecordKind::Hold) else {
            return Err(LedgerError::HoldNotFound(hold_id.to_string()));
        };
        let Some(hp) = &r.pricing else {
            return Err(invalid(format!("hold {hold_id} was not priced: extend it by amount")));
        };
        let plain = |amount| {
            Op::ExtendHold(ExtendOp { hold_id: hold_id.to_string(), amount, timeout_seconds, ctx: ctx.clone() })
        };
        if r.status != RecordStatus::Open {
            return Ok(Resolved { op: plain(None), pricing: hp.clone(), count: None });
        }
        let q = self.price_at_hold(hp, quantity, prices)?;
        Ok(Resolved { op: plain(Some(q.amount)), pricing: q.pricing, count: None })
    }

    /// After a priced usage or debit succeeded: moves its line's counter.
    pub(crate) fn count_quantity(&mut self, count: Option<(PriceText, Quantity)>) {
        if let Some((line, after)) = count {
            self.quantities.set(self.period_start, &line, after);
        }
    }
}
