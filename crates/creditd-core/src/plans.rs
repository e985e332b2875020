//! Plans, periods and renewals, conversations, the low-balance alert and the
//! plan summary.
//!
//! This lives in the core, not in an engine or a handler, so that every
//! storage engine gets it by storing [`OrgState`] as it already does: the
//! plan, a pending plan change, this month's conversation counts and the
//! last 28 days of consumption are fields of the state. A renewal is a pair
//! of ordinary events (`expiry` for what lapses, `subscription_credit` for
//! the new period) applied under the organisation's serialisation, before
//! whatever operation (or scheduled `ExpireDue`) found it due. Two servers on
//! one database therefore never apply the same renewal twice, and a server
//! that was down applies each missed one once, in order, at the instant it
//! should have happened.
//!
//! Period rules, for an organisation with a plan:
//! - a period runs from the renewal day (default the 1st) at 00:00 in the
//!   org's zone to the same day of the next month;
//! - plan credits of a period are a `plan` block that expires at the period
//!   end; at the end the plan's rollover policy decides what is carried over
//!   (the block's `rollovers` goes up: "accumulated" credits) and the rest
//!   lapses with one `expiry` event per block naming the period;
//! - blocks with their own expiry (vouchers, grants) that fall due while
//!   catching up lapse at their own instant, in order with the renewals;
//! - an org without a plan keeps the older behaviour: its period rolls over
//!   silently and expired blocks lapse when the next operation sees them.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Unit};
use serde::{Deserialize, Serialize};

use crate::effects::{Conversation, Notification, NotificationKind, Tx, add, neg, sub};
use crate::error::{LedgerError, invalid};
use crate::event::{EventCtx, EventKind, Pool, Status};
use crate::money::Micros;
use crate::op::{CreditKind, CreditOp};
use crate::state::{Block, ConversationMonth, DayUsage, OrgState, block_seq, period_bounds};

// Kept at these paths for callers that name them here.
pub use crate::op::{Effective, PlanOp};

/// The `source` of a Buy more purchase's event.
pub const BUY_MORE_SOURCE: &str = "buy_more";
pub use crate::state::{
    DEFAULT_CONVERSATIONS_PER_IDENTITY, MAX_CONVERSATIONS_PER_IDENTITY, MAX_IDENTITIES, MAX_NAME_LEN, Plan, Rollover,
};

/// How far ahead of the server's clock a conversation's `started_at` may be.
pub const MAX_START_SKEW_SECONDS: i64 = 300;
/// Days of consumption the burn-rate forecast looks back on.
pub const FORECAST_WINDOW_DAYS: i64 = 28;
/// Most renewals one catch-up applies (a century of monthly periods); more
/// means a clock gone wrong, and the operation is refused.
pub const MAX_CATCH_UP_RENEWALS: usize = 1200;

/// The org's plan tab: every figure of the seeds' Plan tab and header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Summary {
    /// The organisation.
    pub org_id: String,
    /// The instant the figures are for (renewals and expiries due by then
    /// applied).
    pub as_of: Timestamp,
    /// The org's IANA zone, in which the dates below are.
    pub time_zone: String,
    /// Plan name; null without a plan (the seeds show "Not available").
    pub plan: Option<String>,
    /// Identities included in the plan.
    pub identities: Option<u32>,
    /// Identities that started a conversation this month.
    pub identities_used: u32,
    /// Conversations each identity may start per month (the default
    /// without a plan).
    pub conversations_per_identity: u32,
    /// The plan's allocation per period.
    pub plan_credits: Micros,
    /// What is left of this period's plan credits.
    pub plan_credits_left: Micros,
    /// Purchased credits (the prepaid pool).
    pub add_on_credits: Micros,
    /// Plan credits carried over from earlier periods.
    pub accumulated_credits: Micros,
    /// Voucher and promotional credits.
    pub other_credits: Micros,
    /// Credits available now: plan left + add-ons + accumulated + other,
    /// less any overdraft used.
    pub balance: Micros,
    /// Reserved by open holds (not in the balance).
    pub held: Micros,
    /// Credits consumed beyond the blocks, up to the overdraft limit.
    pub overdraft_used: Micros,
    /// The header's "Credits Left": the balance, never below zero.
    pub credits_left: Micros,
    /// Consumed this period (debits and usage less refunds).
    pub used_this_period: Micros,
    /// The plan's price per period; null without a plan.
    pub price: Option<Price>,
    /// The renewal ("top-up") date in the org's zone; null without a plan.
    pub top_up_date: Option<Date>,
    /// The renewal's instant (00:00 on the top-up date in the org's zone).
    pub renews_at: Option<Timestamp>,
    /// Whole days from today to the top-up date, in the org's zone.
    pub days_until_top_up: Option<i64>,
    /// Start of the current period (00:00 on the renewal day, org's zone).
    pub period_start: Option<Timestamp>,
    /// End of the current period (exclusive).
    pub period_end: Option<Timestamp>,
    /// The plan that takes over at the next renewal, if one was chosen.
    pub next_plan: Option<String>,
    /// When credits run out at the recent pace.
    pub forecast: Forecast,
    /// The low-balance alert: threshold and whether the balance is below.
    pub low_balance: LowBalance,
    /// Auto top-up: off, active, disabled or paused (and why).
    pub auto_top_up: crate::money_in::AutoTopUpStatus,
}

/// A plan's price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Price {
    /// An exact decimal in `currency` (449 = 449.00), not credits.
    pub amount: Micros,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
    /// The period the price is for (`month`).
    pub per: String,
}

/// "At the last 28 days' pace credits run out on DATE", or never.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Forecast {
    /// Days looked back on, today included ([`FORECAST_WINDOW_DAYS`]).
    pub window_days: i64,
    /// Consumed in the window (debits and usage less refunds).
    pub consumed: Micros,
    /// `consumed / window_days`, rounded down to the micro-credit.
    pub daily_pace: Micros,
    /// The day credits left run out at that pace; null: never.
    pub runs_out_on: Option<Date>,
    /// Whether that day comes before the next renewal.
    pub before_top_up: bool,
    /// The forecast in one sentence, for the dashboard.
    pub message: String,
}

/// The low-balance alert as of the summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LowBalance {
    /// Available micro-credits below which it fires; null: no alert.
    pub threshold: Option<Micros>,
    /// Whether available credits are below the threshold now.
    pub below: bool,
    /// Since when they are below (the notification's time).
    pub since: Option<Timestamp>,
}

fn local_date(tz: &TimeZone, t: Timestamp) -> Date {
    t.to_zoned(tz.clone()).date()
}

fn text_or_none(v: Option<&str>) -> Option<String> {
    v.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

impl OrgState {
    /// The next renewal instant, for an org with a plan (the scheduler looks
    /// at `min(next block expiry, next renewal)`).
    pub fn next_renewal(&self) -> Option<Timestamp> {
        if self.plans.subscribed() { self.period_end } else { None }
    }

    /// Whether [`OrgState::catch_up`] has anything to do at `now`.
    pub(crate) fn catch_up_due(&self, now: Timestamp) -> bool {
        self.plans.subscribed()
            && (self.period_end.is_some_and(|e| e <= now)
                || self.blocks.iter().any(|b| b.expires_at.is_some_and(|t| t <= now)))
    }
    /// Applies, in time order, every block expiry and renewal due at or
    /// before `tx.now`, each at the instant it fell due (never before the
    /// last event). Only for an org with a plan; the op's idempotency key is
    /// kept for the op's own event.
    pub(crate) fn catch_up(&mut self, tx: &mut Tx) -> Result<(), LedgerError> {
        if !self.plans.subscribed() {
            return Ok(());
        }
        let now = tx.now;
        let key = tx.key.take();
        let result = self.catch_up_until(tx, now);
        tx.now = now;
        tx.key = key;
        result
    }

    fn catch_up_until(&mut self, tx: &mut Tx, now: Timestamp) -> Result<(), LedgerError> {
        let tz = self.settings.validate()?;
        let mut renewals = 0;
        loop {
            let renewal = self.period_end.filter(|e| *e <= now);
            let expiry = self
                .blocks
                .iter()
                .filter_map(|b| b.expires_at)
                .filter(|t| *t <= now && renewal.is_none_or(|r| *t < r))
                .min();
            if let Some(t) = expiry {
                self.at(tx, t);
                self.lapse_where(
                    tx,
                    |b| b.expires_at.is_some_and(|x| x <= t),
                    |b| format!("{} credits of block {} expired (not carried over)", b.pool, b.id),
                )?;
                continue;
            }
            let Some(r) = renewal else { break };
            renewals += 1;
            if renewals > MAX_CATCH_UP_RENEWALS {
                return Err(invalid(format!(
                    "more than {MAX_CATCH_UP_RENEWALS} renewals are due; check the server's clock"
                )));
            }
            self.renew(tx, &tz, r)?;
        }
        Ok(())
    }

    /// Sets the time of the next events to `t`, never before the last one.
    fn at(&self, tx: &mut Tx, t: Timestamp) {
        tx.now = match self.last_at {
            Some(last) if last > t => last,
            _ => t,
        };
    }
    /// The renewal at `r`: lapse what is due, apply the rollover policy to
    /// the ending period's plan credits, start the new period, grant it.
    fn renew(&mut self, tx: &mut Tx, tz: &TimeZone, r: Timestamp) -> Result<(), LedgerError> {
        self.at(tx, r);
        let old_start = self.period_start.unwrap_or(r);
        let (_, next_end) = period_bounds(tz, self.settings.renewal_day, r)?;
        let end = if next_end > r { next_end } else { period_bounds(tz, self.settings.renewal_day, next_end)?.1 };
        let period_name = format!("{} – {}", local_date(tz, old_start), local_date(tz, r));
        // Plan credits of the ending period: plan blocks expiring at its end.
        let is_plan = |b: &Block| b.pool == Pool::Plan && b.expires_at == Some(r);
        // Other blocks that expire exactly now lapse first.
        self.lapse_where(
            tx,
            |b| !is_plan(b) && b.expires_at.is_some_and(|x| x <= r),
            |b| format!("{} credits of block {} expired (not carried over)", b.pool, b.id),
        )?;
        // Decide what each plan block keeps: newest credits first.
        let policy = self.plans.plan.as_ref().map(|p| p.rollover.clone()).unwrap_or_default();
        let mut ids: Vec<String> = self.blocks.iter().filter(|b| is_plan(b)).map(|b| b.id.clone()).collect();
        ids.sort_by_key(|id| std::cmp::Reverse(block_seq(id)));
        let mut kept_total = Micros::ZERO;
        let mut keep: Vec<(String, Micros)> = Vec::new();
        for id in &ids {
            let Some(b) = self.blocks.iter().find(|b| &b.id == id) else { continue };
            let k = match &policy {
                Rollover::None => Micros::ZERO,
                Rollover::All => b.remaining,
                Rollover::UpTo { max_credits } => b.remaining.min(sub(*max_credits, kept_total)?.max(Micros::ZERO)),
                Rollover::Periods { periods } => {
                    if b.rollovers < *periods {
                        b.remaining
                    } else {
                        Micros::ZERO
                    }
                }
            };
            kept_total = add(kept_total, k)?;
            keep.push((id.clone(), k));
        }
        // Apply in creation order: one expiry event per block that loses credits.
        keep.sort_by_key(|(id, _)| block_seq(id));
        for (id, k) in keep {
            let Some(i) = self.blocks.iter().position(|b| b.id == id) else { continue };
            let lapsed = sub(self.blocks[i].remaining, k)?;
            if k.is_positive() {
                let b = &mut self.blocks[i];
                b.remaining = k;
                b.rollovers = b.rollovers.saturating_add(1);
                b.expires_at = Some(end);
            } else {
                self.blocks.remove(i);
            }
            if lapsed.is_positive() {
                let carried = if k.is_positive() { format!("; {k} carried over") } else { String::new() };
                let ctx = EventCtx {
                    source: Some("system".into()),
                    description: Some(format!(
                        "Plan credits of the period {period_name} not carried over (block {id}{carried})"
                    )),
                    metadata: Some(serde_json::json!({
                        "reason": "period_end",
                        "block_id": id,
                        "period_start": old_start,
                        "period_end": r,
                        // Exact decimal as text: `Micros` serializes as a raw number,
                        // which `json!` cannot hold.
                        "carried_over": k.to_string(),
                    })),
                    ..EventCtx::default()
                };
                self.emit(tx, EventKind::Expiry, neg(lapsed)?, Some(Pool::Plan), Status::Succeeded, &ctx, None, None);
            }
        }
        // The new period.
        self.period_start = Some(r);
        self.period_end = Some(end);
        self.period_usage = Micros::ZERO;
        if let Some(next) = self.plans.next_plan.take() {
            self.plans.plan = Some(next);
        }
        self.grant_period(tx, tz, "system", "Plan credits for the period")
    }

    /// The current plan's credits for the current period, as a plan block
    /// expiring at the period end and a `subscription_credit` event.
    fn grant_period(&mut self, tx: &mut Tx, tz: &TimeZone, source: &str, what: &str) -> Result<(), LedgerError> {
        let Some(plan) = self.plans.plan.clone() else { return Ok(()) };
        let (Some(start), Some(end)) = (self.period_start, self.period_end) else { return Ok(()) };
        if !plan.credits_per_period.is_positive() {
            return Ok(());
        }
        self.check_room(plan.credits_per_period)?;
        self.add_block(Block {
            id: format!("blk_{}", self.seq + 1),
            pool: Pool::Plan,
            remaining: plan.credits_per_period,
            expires_at: Some(end),
            rollovers: 0,
        })?;
        let ctx = EventCtx {
            source: Some(source.into()),
            description: Some(format!(
                "{what} {} – {} ({} plan)",
                local_date(tz, start),
                local_date(tz, end),
                plan.name
            )),
            metadata: Some(serde_json::json!({
                "plan": plan.name,
                "period_start": start,
                "period_end": end,
            })),
            ..EventCtx::default()
        };
        self.emit(
            tx,
            EventKind::SubscriptionCredit,
            plan.credits_per_period,
            Some(Pool::Plan),
            Status::Succeeded,
            &ctx,
            None,
            None,
        );
        Ok(())
    }
    /// `Plans(BuyMore)`: the purchase a Buy more stands for, or why not.
    /// The amount must be one the organisation is offered
    /// (`OrgSettings::buy_more_amounts`; none offered: refused). The
    /// purchase starts `processing` (nothing is added until the operator's
    /// backend settles it `succeeded`); its event says `source: "buy_more"`
    /// and keeps `requested_by` (1 to 200 characters when given) in its
    /// metadata. The dispatcher carries it out as that `Credit`.
    pub(crate) fn buy_more(&self, amount: Micros, requested_by: Option<&str>) -> Result<CreditOp, LedgerError> {
        let offered = &self.settings.buy_more_amounts;
        if offered.is_empty() {
            return Err(invalid("Buy more is not offered to this organisation: its buy_more_amounts are not set"));
        }
        if !offered.contains(&amount) {
            let list: Vec<String> = offered.iter().map(Micros::to_string).collect();
            return Err(invalid(format!("amount {amount} is not offered; choose one of: {}", list.join(", "))));
        }
        let requested_by = requested_by.map(str::trim).filter(|r| !r.is_empty());
        if let Some(r) = requested_by {
            if r.chars().count() > MAX_NAME_LEN {
                return Err(invalid(format!("requested_by is longer than {MAX_NAME_LEN} characters")));
            }
            crate::input::check_no_nul("requested_by", r)?;
        }
        let mut metadata = serde_json::Map::new();
        if let Some(r) = requested_by {
            metadata.insert("requested_by".into(), serde_json::Value::String(r.to_string()));
        }
        Ok(CreditOp {
            kind: CreditKind::Purchase,
            amount,
            pool: None,
            expires_at: None,
            code: None,
            status: Some(Status::Processing),
            ctx: EventCtx {
                source: Some(BUY_MORE_SOURCE.to_string()),
                description: Some("Buy more".to_string()),
                metadata: (!metadata.is_empty()).then_some(serde_json::Value::Object(metadata)),
                ..EventCtx::default()
            },
        })
    }

    /// `Plans(SetLowBalanceThreshold)`: sets (or, with `None`, removes) the
    /// available balance below which one `low_balance` notification is
    /// recorded (see [`OrgState::after_op`]). Removing it forgets that the
    /// balance was below. Writes no event.
    pub(crate) fn set_low_balance_threshold(
        &mut self,
        tx: &mut Tx,
        threshold: Option<Micros>,
    ) -> Result<(), LedgerError> {
        if threshold.is_some_and(|t| t.is_negative()) {
            return Err(invalid("threshold must not be negative"));
        }
        self.settings.low_balance_threshold = threshold;
        if threshold.is_none() {
            self.plans.low_balance_since = None;
        }
        tx.dirty = true;
        Ok(())
    }

    /// `Plans(SetPlan)`: subscribes (by default at once: the period's plan
    /// credits are granted now, and `renewal_day` may move the anchor) or
    /// changes the plan (by default from the next renewal; `now` replaces
    /// this period's unused plan credits with the new allocation, carried
    /// over credits stay). The renewal day cannot change once subscribed.
    /// Writes a `subscription_credit` (and `expiry` events) when credits
    /// are granted now, else no event.
    pub(crate) fn set_plan(
        &mut self,
        tx: &mut Tx,
        plan: &Plan,
        effective: Option<Effective>,
        renewal_day: Option<u8>,
    ) -> Result<(), LedgerError> {
        plan.validate()?;
        let tz = self.settings.validate()?;
        let mut plan = plan.clone();
        plan.name = plan.name.trim().to_string();
        let now = tx.now;
        if let Some(day) = renewal_day {
            if !(1..=28).contains(&day) {
                return Err(invalid("renewal_day must be between 1 and 28"));
            }
            if self.plans.plan.is_some() && day != self.settings.renewal_day {
                return Err(invalid(format!(
                    "renewal_day can only be set when subscribing; this plan renews on day {}",
                    self.settings.renewal_day
                )));
            }
        }
        if self.plans.plan.is_none() {
            // A new subscription: it sets the anchor.
            if plan.credits_per_period.is_positive() && effective != Some(Effective::NextPeriod) {
                self.check_room(plan.credits_per_period)?;
            }
            if let Some(day) = renewal_day.filter(|d| *d != self.settings.renewal_day) {
                let (start, end) = period_bounds(&tz, day, now)?;
                if self.period_start != Some(start) {
                    self.period_usage = Micros::ZERO;
                }
                self.settings.renewal_day = day;
                self.period_start = Some(start);
                self.period_end = Some(end);
            }
            self.plans.subscribed_at = Some(now);
            tx.dirty = true;
            if effective == Some(Effective::NextPeriod) {
                self.plans.next_plan = Some(plan);
                return Ok(());
            }
            self.plans.next_plan = None;
            self.plans.plan = Some(plan);
            return self.grant_period(tx, &tz, "plan", "Subscribed: plan credits for the period");
        }
        match effective.unwrap_or(Effective::NextPeriod) {
            Effective::NextPeriod => {
                self.plans.next_plan = Some(plan);
                tx.dirty = true;
                Ok(())
            }
            Effective::Now => {
                if plan.credits_per_period.is_positive() {
                    self.check_room(plan.credits_per_period)?;
                }
                // This period's unused plan credits make way for the new allocation;
                // accumulated credits stay.
                let end = self.period_end;
                let name = plan.name.clone();
                self.lapse_where(
                    tx,
                    |b| b.pool == Pool::Plan && b.rollovers == 0 && end.is_some() && b.expires_at == end,
                    |b| format!("Plan credits of block {} replaced by the change to the {name} plan", b.id),
                )?;
                self.plans.next_plan = None;
                self.plans.plan = Some(plan);
                tx.dirty = true;
                self.grant_period(tx, &tz, "plan", "Plan changed: plan credits for the period")
            }
        }
    }

    /// `Plans(Conversation)`: counts a conversation an identity started,
    /// in the month (org's zone) it started: this month or the one before,
    /// at most [`MAX_START_SKEW_SECONDS`] ahead. Refused with
    /// `conversation_limit_reached` past the plan's per-identity monthly
    /// limit, or `identity_limit_reached` for a new identity in a month
    /// that has the plan's number of identities (without a plan: the
    /// defaults). Stores a [`Conversation`], not a credit event.
    pub(crate) fn conversation(
        &mut self,
        tx: &mut Tx,
        identity: &str,
        campaign: Option<&str>,
        started_at: Option<Timestamp>,
    ) -> Result<(), LedgerError> {
        let identity = identity.trim();
        if identity.is_empty() || identity.len() > MAX_NAME_LEN {
            return Err(invalid(format!("identity must be 1 to {MAX_NAME_LEN} characters")));
        }
        crate::input::check_no_nul("identity", identity)?;
        let campaign = text_or_none(campaign);
        if campaign.as_ref().is_some_and(|c| c.len() > MAX_NAME_LEN) {
            return Err(invalid(format!("campaign must be at most {MAX_NAME_LEN} characters")));
        }
        if let Some(c) = &campaign {
            crate::input::check_no_nul("campaign", c)?;
        }
        let now = tx.now;
        let started = started_at.unwrap_or(now);
        let latest = now.checked_add(MAX_START_SKEW_SECONDS.seconds()).map_err(|_| LedgerError::Overflow)?;
        if started > latest {
            return Err(invalid("started_at is in the future"));
        }
        let tz = self.settings.validate()?;
        let bad = |e: jiff::Error| invalid(format!("started_at: {e}"));
        let month = local_date(&tz, started).first_of_month();
        let this_month = local_date(&tz, now).first_of_month();
        let oldest = this_month.checked_sub(1.month()).map_err(bad)?;
        if month < oldest {
            return Err(invalid(format!(
                "started_at is before {oldest}: conversations count in this month or the one before"
            )));
        }
        let (limit, max_identities) = match &self.plans.plan {
            Some(p) => (p.conversations_per_identity, p.identities_included),
            None => (DEFAULT_CONVERSATIONS_PER_IDENTITY, MAX_IDENTITIES),
        };
        let month_name = format!("{:04}-{:02}", month.year(), month.month());
        let counts = self.plans.conversation_months.iter().find(|m| m.month == month).map(|m| &m.counts);
        let n = counts.and_then(|c| c.get(identity)).copied().unwrap_or(0);
        let identities = counts.map_or(0, |c| c.len());
        if n == 0 && identities >= max_identities as usize {
            return Err(LedgerError::IdentityLimit {
                identity: identity.to_string(),
                limit: max_identities,
                month: month_name,
            });
        }
        if n >= limit {
            return Err(LedgerError::ConversationLimit { identity: identity.to_string(), limit, month: month_name });
        }
        // Accepted: count it, forget months that can no longer be reported.
        self.plans.conversation_months.retain(|m| m.month >= oldest);
        let i = match self.plans.conversation_months.iter().position(|m| m.month == month) {
            Some(i) => i,
            None => {
                self.plans.conversation_months.push(ConversationMonth { month, counts: BTreeMap::new() });
                self.plans.conversation_months.sort_by_key(|m| m.month);
                self.plans.conversation_months.iter().position(|m| m.month == month).unwrap_or(0)
            }
        };
        self.plans.conversation_months[i].counts.insert(identity.to_string(), n + 1);
        self.plans.conversation_seq += 1;
        tx.conversations.push(Conversation {
            seq: self.plans.conversation_seq,
            identity: identity.to_string(),
            campaign,
            started_at: started,
            day: local_date(&tz, started),
            month_count: n + 1,
            month_limit: limit,
            created_at: now,
        });
        tx.dirty = true;
        Ok(())
    }

    /// After a successful operation: note consumption per day for the
    /// forecast and record a low-balance notification when the threshold is
    /// crossed downwards (once, until the balance is back above it).
    pub(crate) fn after_op(&mut self, tx: &mut Tx) -> Result<(), LedgerError> {
        if tx.events.is_empty() && !tx.dirty {
            return Ok(());
        }
        let mut consumed = Micros::ZERO;
        for e in &tx.events {
            if e.kind.consumption_count().is_some() {
                consumed = sub(consumed, e.amount)?;
            }
        }
        if !consumed.is_zero() {
            // Not `settings.validate()`: this runs on every consuming operation.
            let tz = TimeZone::get(&self.settings.time_zone).map_err(|e| invalid(format!("time zone: {e}")))?;
            let today = local_date(&tz, tx.now);
            let first = today.checked_sub((FORECAST_WINDOW_DAYS - 1).days()).unwrap_or(today);
            let days = &mut self.plans.usage_days;
            match days.iter_mut().find(|d| d.day == today) {
                Some(d) => d.consumed = add(d.consumed, consumed)?,
                None => days.push(DayUsage { day: today, consumed }),
            }
            days.retain(|d| d.day >= first);
            days.sort_by_key(|d| d.day);
        }
        if let Some(threshold) = self.settings.low_balance_threshold {
            let balance = self.available();
            let below = balance < threshold;
            if below && self.plans.low_balance_since.is_none() {
                self.plans.low_balance_since = Some(tx.now);
                self.notify(tx, Notification::new(NotificationKind::LowBalance, tx.now, threshold, balance));
            } else if !below && self.plans.low_balance_since.is_some() {
                self.plans.low_balance_since = None;
                tx.dirty = true;
            }
        }
        Ok(())
    }

    /// A copy (without records) as it will be at `now`: renewals and
    /// expiries due by then applied, the period rolled. What a reader shows
    /// before the scheduler has written them; nothing is persisted.
    pub fn as_of(&self, now: Timestamp) -> Result<OrgState, LedgerError> {
        let mut s = self.clone();
        s.records.clear();
        let now = match s.last_at {
            Some(last) if last > now => last,
            _ => now,
        };
        let mut tx = Tx::new(now, None);
        s.catch_up(&mut tx)?;
        s.roll_period(now)?;
        s.lapse_expired(&mut tx)?;
        s.after_op(&mut tx)?;
        Ok(s)
    }

    /// The plan tab as of `now`: renewals and expiries due by then are
    /// applied to a copy first, so the figures are right even before the
    /// scheduler has run.
    pub fn summary(&self, now: Timestamp) -> Result<Summary, LedgerError> {
        let now = match self.last_at {
            Some(last) if last > now => last,
            _ => now,
        };
        let s = self.as_of(now)?;
        let tz = s.settings.validate()?;
        let today = local_date(&tz, now);
        let sum = |f: &dyn Fn(&Block) -> bool| {
            s.blocks.iter().filter(|b| f(b)).try_fold(Micros::ZERO, |acc, b| add(acc, b.remaining))
        };
        let accumulated = sum(&|b| b.pool == Pool::Plan && b.rollovers > 0)?;
        let plan_left = sum(&|b| b.pool == Pool::Plan && b.rollovers == 0)?;
        let add_on = sum(&|b| b.pool == Pool::Prepaid)?;
        let other = sum(&|b| matches!(b.pool, Pool::Voucher | Pool::Promotional))?;
        let balance = s.available();
        let credits_left = balance.max(Micros::ZERO);
        let plan = s.plans.plan.as_ref();
        let renews_at = s.next_renewal();
        let top_up_date = renews_at.map(|t| local_date(&tz, t));
        let days_until_top_up = top_up_date
            .map(|d| today.until((Unit::Day, d)).map(|span| i64::from(span.get_days())))
            .transpose()
            .map_err(|e| invalid(format!("renewal date: {e}")))?;
        let this_month = today.first_of_month();
        let identities_used =
            s.plans.conversation_months.iter().find(|m| m.month == this_month).map_or(0, |m| m.counts.len() as u32);
        let forecast = forecast(&s.plans.usage_days, today, credits_left, top_up_date);
        Ok(Summary {
            org_id: s.org_id.clone(),
            as_of: now,
            time_zone: s.settings.time_zone.clone(),
            plan: plan.map(|p| p.name.clone()),
            identities: plan.map(|p| p.identities_included),
            identities_used,
            conversations_per_identity: plan
                .map_or(DEFAULT_CONVERSATIONS_PER_IDENTITY, |p| p.conversations_per_identity),
            plan_credits: plan.map_or(Micros::ZERO, |p| p.credits_per_period),
            plan_credits_left: plan_left,
            add_on_credits: add_on,
            accumulated_credits: accumulated,
            other_credits: other,
            balance,
            held: s.held,
            overdraft_used: s.debt,
            credits_left,
            used_this_period: s.period_usage,
            price: plan.map(|p| Price { amount: p.price, currency: p.currency.clone(), per: "month".into() }),
            top_up_date,
            renews_at,
            days_until_top_up,
            period_start: s.period_start,
            period_end: s.period_end,
            next_plan: s.plans.next_plan.as_ref().map(|p| p.name.clone()),
            forecast,
            low_balance: LowBalance {
                threshold: s.settings.low_balance_threshold,
                below: s.plans.low_balance_since.is_some(),
                since: s.plans.low_balance_since,
            },
            auto_top_up: s.auto_top_up.status(),
        })
    }
}

/// At the pace of the last [`FORECAST_WINDOW_DAYS`] days (today included),
/// the day `credits_left` runs out.
pub fn forecast(days: &[DayUsage], today: Date, credits_left: Micros, top_up: Option<Date>) -> Forecast {
    let first = today.checked_sub((FORECAST_WINDOW_DAYS - 1).days()).unwrap_or(today);
    let consumed = days
        .iter()
        .filter(|d| d.day >= first && d.day <= today)
        .fold(Micros::ZERO, |acc, d| acc.checked_add(d.consumed).unwrap_or(Micros::MAX))
        .max(Micros::ZERO);
    let pace = Micros::from_micros(consumed.micros() / FORECAST_WINDOW_DAYS);
    let runs_out_on = if !credits_left.is_positive() {
        Some(today)
    } else if !pace.is_positive() {
        None
    } else {
        // Whole days the credits last; past a century it is "never".
        let days = credits_left.micros() / pace.micros();
        if days > 36_500 { None } else { today.checked_add(days.days()).ok() }
    };
    let before_top_up = match (runs_out_on, top_up) {
        (Some(d), Some(t)) => d < t,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let message = match runs_out_on {
        Some(_) if !credits_left.is_positive() => "No credits left".to_string(),
        Some(d) => format!("At the last {FORECAST_WINDOW_DAYS} days' pace credits run out on {d}"),
        None => format!("At the last {FORECAST_WINDOW_DAYS} days' pace credits do not run out"),
    };
    Forecast { window_days: FORECAST_WINDOW_DAYS, consumed, daily_pace: pace, runs_out_on, before_top_up, message }
}
