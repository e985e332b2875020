//! The ledger state machine of one organisation.
//!
//! `OrgState::apply` takes an operation and the current time and either
//! returns the events it produced (and has changed the state to match) or an
//! error and has changed nothing that is persisted. The storage engines keep
//! one `OrgState` per organisation in memory, apply operations to it in
//! batches and write the events, the touched records and the state once per
//! batch.

use std::collections::HashMap;

use jiff::{Timestamp, ToSpan, tz::TimeZone};
use serde::{Deserialize, Serialize};

use crate::access::{AccessOp, Actor, CapState};
use crate::chain::{self, ChainHash};
use crate::error::{BrokenInvariant, LedgerError, add, invalid, neg, sub};
use crate::event::{Event, EventCtx, EventKind, Pool, Status};
use crate::money::Micros;
use crate::plans::{Conversation, Notification, PlanOp, PlanState};

/// Longest a hold may stay open before it is released automatically.
pub const MAX_HOLD_TIMEOUT_SECONDS: u64 = 7 * 24 * 3600;
/// Hold timeout when the caller names none.
pub const DEFAULT_HOLD_TIMEOUT_SECONDS: u64 = 3600;
pub use crate::input::MAX_TEXT_LEN;

/// Per-organisation settings the rules depend on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrgSettings {
    pub name: String,
    /// IANA zone name; periods, "today" and renewals are in this zone.
    pub time_zone: String,
    /// Pools in the order they are consumed (after soonest-expiring first).
    pub consumption_order: Vec<Pool>,
    /// Consume blocks that expire soonest first, before the pool order.
    pub expiring_first: bool,
    /// How far below zero available credits may go. Zero: no overdraft.
    pub overdraft_limit: Micros,
    /// Day of the month (1–28) a plan period starts, 00:00 in `time_zone`.
    pub renewal_day: u8,
    /// Below this many available credits a `low_balance` notification is
    /// recorded once (see `plans`); none: no alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_balance_threshold: Option<Micros>,
}

impl OrgSettings {
    pub fn new(name: impl Into<String>, time_zone: impl Into<String>) -> Self {
        OrgSettings {
            name: name.into(),
            time_zone: time_zone.into(),
            consumption_order: Pool::DEFAULT_ORDER.to_vec(),
            expiring_first: true,
            overdraft_limit: Micros::ZERO,
            renewal_day: 1,
            low_balance_threshold: None,
        }
    }

    /// Checks the settings are usable; returns the parsed zone.
    pub fn validate(&self) -> Result<TimeZone, LedgerError> {
        if self.name.trim().is_empty() || self.name.len() > 200 {
            return Err(invalid("name must be 1 to 200 characters"));
        }
        crate::input::check_no_nul("name", &self.name)?;
        let tz = TimeZone::get(&self.time_zone).map_err(|_| {
            invalid(format!("unknown time zone {:?}; use an IANA name such as Europe/Madrid", self.time_zone))
        })?;
        let mut order = self.consumption_order.clone();
        order.sort();
        order.dedup();
        if order.len() != Pool::ALL.len() || self.consumption_order.len() != Pool::ALL.len() {
            return Err(invalid(
                "consumption_order must name each pool (plan, prepaid, voucher, promotional) exactly once",
            ));
        }
        if self.overdraft_limit.is_negative() {
            return Err(invalid("overdraft_limit must not be negative"));
        }
        if !(1..=28).contains(&self.renewal_day) {
            return Err(invalid("renewal_day must be between 1 and 28"));
        }
        if self.low_balance_threshold.is_some_and(|t| t.is_negative()) {
            return Err(invalid("low_balance_threshold must not be negative"));
        }
        Ok(tz)
    }
}

/// Credits added together, with one expiry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub id: String,
    pub pool: Pool,
    pub remaining: Micros,
    pub expires_at: Option<Timestamp>,
    /// Plan credits: how many renewals this block has been carried over
    /// ("accumulated" credits when above zero).
    #[serde(default, skip_serializing_if = "crate::plans::is_zero")]
    pub rollovers: u32,
}

/// Part of an amount taken from one block (or, with no block, from the
/// overdraft allowance).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Draw {
    pub block_id: Option<String>,
    pub pool: Option<Pool>,
    pub expires_at: Option<Timestamp>,
    pub amount: Micros,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Hold,
    Usage,
    Purchase,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// A hold not yet debited or released.
    Open,
    Debited,
    Released,
    /// Usage: consumed at once.
    Consumed,
    Processing,
    Succeeded,
    Failed,
}

impl RecordStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Open => "open",
            RecordStatus::Debited => "debited",
            RecordStatus::Released => "released",
            RecordStatus::Consumed => "consumed",
            RecordStatus::Processing => "processing",
            RecordStatus::Succeeded => "succeeded",
            RecordStatus::Failed => "failed",
        }
    }

    /// Still waiting for something to happen to it.
    pub fn is_pending(self) -> bool {
        matches!(self, RecordStatus::Open | RecordStatus::Processing)
    }
}

/// A hold, a usage or a purchase: what later events (debit, release, refund,
/// settle) refer to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Record {
    pub id: String,
    pub kind: RecordKind,
    pub status: RecordStatus,
    /// Reserved (hold), consumed (usage) or bought (purchase).
    pub amount: Micros,
    /// Consumed for good: the debited part of a hold, all of a usage.
    pub captured: Micros,
    pub refunded: Micros,
    /// Blocks the credits came from, in the order they were taken.
    pub draws: Vec<Draw>,
    /// Hold: when it times out. Purchase: when its credits will expire.
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub ctx: EventCtx,
    /// A hold released because its time ran out (not by a caller), so a
    /// late debit or release says `hold_expired`. Records written before
    /// this field read as `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
}

impl Record {
    /// The record of a usage, rebuilt from its event and the blocks it drew
    /// from, as it was before any refund; `None` if `e` is not a usage.
    pub fn consumed_by(e: &Event, draws: Vec<Draw>) -> Option<Record> {
        if e.kind != EventKind::Usage {
            return None;
        }
        let amount = e.amount.checked_neg().filter(|a| a.is_positive())?;
        Some(Record {
            id: e.hold_id.clone()?,
            kind: RecordKind::Usage,
            status: RecordStatus::Consumed,
            amount,
            captured: amount,
            refunded: Micros::ZERO,
            draws,
            expires_at: None,
            created_at: e.created_at,
            ctx: EventCtx {
                source: e.source.clone(),
                service: e.service.clone(),
                activity: e.activity.clone(),
                project_id: e.project_id.clone(),
                project_name: e.project_name.clone(),
                user_name: e.user_name.clone(),
                user_email: e.user_email.clone(),
                description: e.description.clone(),
                metadata: e.metadata.clone(),
            },
            timed_out: false,
        })
    }
}

/// An operation on one organisation's credits.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Credit(CreditOp),
    SettlePurchase {
        purchase_id: String,
        status: Status,
        ctx: EventCtx,
    },
    Hold(HoldOp),
    Debit {
        hold_id: String,
        amount: Option<Micros>,
        ctx: EventCtx,
    },
    Release {
        hold_id: String,
        ctx: EventCtx,
    },
    Usage {
        amount: Micros,
        ctx: EventCtx,
    },
    Refund {
        refers_to: String,
        amount: Option<Micros>,
        ctx: EventCtx,
    },
    Adjustment {
        amount: Micros,
        reason: String,
        pool: Option<Pool>,
        expires_at: Option<Timestamp>,
        ctx: EventCtx,
    },
    Billing {
        amount: Micros,
        ctx: EventCtx,
    },
    /// Release a hold whose time is up (no-op if it was settled meanwhile).
    TimeoutHold {
        hold_id: String,
    },
    /// Let blocks past their expiry lapse.
    ExpireDue,
    /// Plans, conversations and the low-balance threshold (see `plans`).
    Plans(PlanOp),
    /// Settings, caps, and operations done by a known actor (see `access`).
    Access(AccessOp),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreditKind {
    Grant,
    SubscriptionCredit,
    Voucher,
    Purchase,
}

impl CreditKind {
    fn event_kind(self) -> EventKind {
        match self {
            CreditKind::Grant => EventKind::Grant,
            CreditKind::SubscriptionCredit => EventKind::SubscriptionCredit,
            CreditKind::Voucher => EventKind::Voucher,
            CreditKind::Purchase => EventKind::Purchase,
        }
    }

    fn default_pool(self) -> Pool {
        match self {
            CreditKind::Grant => Pool::Promotional,
            CreditKind::SubscriptionCredit => Pool::Plan,
            CreditKind::Voucher => Pool::Voucher,
            CreditKind::Purchase => Pool::Prepaid,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CreditOp {
    pub kind: CreditKind,
    pub amount: Micros,
    pub pool: Option<Pool>,
    pub expires_at: Option<Timestamp>,
    pub code: Option<String>,
    /// Purchases only: `processing` waits for a settle, default `succeeded`.
    pub status: Option<Status>,
    pub ctx: EventCtx,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HoldOp {
    pub amount: Micros,
    pub timeout_seconds: Option<u64>,
    pub ctx: EventCtx,
}

impl Op {
    /// The record (hold, usage, purchase) this operation needs loaded.
    pub fn record_ref(&self) -> Option<&str> {
        match self {
            Op::SettlePurchase { purchase_id, .. } => Some(purchase_id),
            Op::Debit { hold_id, .. } | Op::Release { hold_id, .. } | Op::TimeoutHold { hold_id } => Some(hold_id),
            Op::Refund { refers_to, .. } => Some(refers_to),
            _ => None,
        }
    }

    /// A short name for metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Credit(c) => match c.kind {
                CreditKind::Grant => "grant",
                CreditKind::SubscriptionCredit => "subscription_credit",
                CreditKind::Voucher => "voucher",
                CreditKind::Purchase => "purchase",
            },
            Op::SettlePurchase { .. } => "settle_purchase",
            Op::Hold(_) => "hold",
            Op::Debit { .. } => "debit",
            Op::Release { .. } => "release",
            Op::Usage { .. } => "usage",
            Op::Refund { .. } => "refund",
            Op::Adjustment { .. } => "adjustment",
            Op::Billing { .. } => "billing",
            Op::TimeoutHold { .. } => "timeout_hold",
            Op::ExpireDue => "expire_due",
            Op::Plans(p) => p.name(),
            Op::Access(a) => a.name(),
        }
    }
}

/// Balances of one organisation at one moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Balance {
    pub org_id: String,
    /// Credits that can be spent now (negative while in overdraft).
    pub available: Micros,
    /// Reserved by open holds.
    pub held: Micros,
    pub pools: PoolBalances,
    pub overdraft_used: Micros,
    pub overdraft_limit: Micros,
    pub period_start: Option<Timestamp>,
    pub period_end: Option<Timestamp>,
    pub period_usage: Micros,
    /// Sequence number of the last event.
    pub seq: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PoolBalances {
    pub plan: Micros,
    pub prepaid: Micros,
    pub voucher: Micros,
    pub promotional: Micros,
}

/// What an applied operation produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub events: Vec<Event>,
    /// The hold, usage or purchase created or changed, as it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Record>,
    pub balance: Balance,
    /// The conversation a `Plans(Conversation)` operation recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<Conversation>,
}

/// The whole ledger state of one organisation. Serialized without its
/// records, which are stored one row each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgState {
    pub org_id: String,
    pub settings: OrgSettings,
    pub created_at: Timestamp,
    pub seq: u64,
    /// Time of the last event; events never go back in time within an org.
    pub last_at: Option<Timestamp>,
    pub blocks: Vec<Block>,
    /// Credits taken beyond the blocks, within the overdraft limit.
    pub debt: Micros,
    pub held: Micros,
    pub period_start: Option<Timestamp>,
    pub period_end: Option<Timestamp>,
    pub period_usage: Micros,
    /// Plan, pending plan change, conversation counts, recent consumption.
    #[serde(default, skip_serializing_if = "PlanState::is_empty")]
    pub plans: PlanState,
    /// Per-member and per-key spending this period, and their caps.
    #[serde(default, skip_serializing_if = "CapState::is_empty")]
    pub caps: CapState,
    /// Hash of the last event (see `chain`); genesis before the first.
    #[serde(default, skip_serializing_if = "ChainHash::is_genesis")]
    pub last_hash: ChainHash,
    /// Loaded records: every pending one, plus any the engine fetched.
    #[serde(skip)]
    pub records: HashMap<String, Record>,
}

/// What `apply` changed besides the events: records to write.
#[derive(Debug, Default)]
pub struct Applied {
    pub outcome: Option<Outcome>,
    pub touched_records: Vec<String>,
    /// Conversations to store (not credit events).
    pub conversations: Vec<Conversation>,
    /// Notifications to store (low balance).
    pub notifications: Vec<Notification>,
    /// The chain hash of each of `outcome.events`, in the same order.
    pub hashes: Vec<ChainHash>,
}

impl OrgState {
    pub fn new(org_id: impl Into<String>, settings: OrgSettings, now: Timestamp) -> Result<Self, LedgerError> {
        let tz = settings.validate()?;
        let (start, end) = period_bounds(&tz, settings.renewal_day, now)?;
        Ok(OrgState {
            org_id: org_id.into(),
            settings,
            created_at: now,
            seq: 0,
            last_at: None,
            blocks: Vec::new(),
            debt: Micros::ZERO,
            held: Micros::ZERO,
            period_start: Some(start),
            period_end: Some(end),
            period_usage: Micros::ZERO,
            plans: PlanState::default(),
            caps: CapState::default(),
            last_hash: ChainHash::GENESIS,
            records: HashMap::new(),
        })
    }

    /// Refuses credits that would take blocks plus held credits past what an
    /// amount can hold: releasing a hold later must not overflow.
    pub(crate) fn check_room(&self, amount: Micros) -> Result<(), LedgerError> {
        let blocks = self.blocks.iter().try_fold(Micros::ZERO, |acc, b| add(acc, b.remaining))?;
        add(add(blocks, self.held)?, amount).map(|_| ())
    }

    pub fn blocks_total(&self) -> Micros {
        self.blocks.iter().fold(Micros::ZERO, |acc, b| acc.checked_add(b.remaining).unwrap_or(Micros::MAX))
    }

    pub fn available(&self) -> Micros {
        self.blocks_total().checked_sub(self.debt).unwrap_or(Micros::ZERO)
    }

    pub fn pool_total(&self, pool: Pool) -> Micros {
        self.blocks
            .iter()
            .filter(|b| b.pool == pool)
            .fold(Micros::ZERO, |acc, b| acc.checked_add(b.remaining).unwrap_or(Micros::MAX))
    }

    pub fn balance(&self) -> Balance {
        Balance {
            org_id: self.org_id.clone(),
            available: self.available(),
            held: self.held,
            pools: PoolBalances {
                plan: self.pool_total(Pool::Plan),
                prepaid: self.pool_total(Pool::Prepaid),
                voucher: self.pool_total(Pool::Voucher),
                promotional: self.pool_total(Pool::Promotional),
            },
            overdraft_used: self.debt,
            overdraft_limit: self.settings.overdraft_limit,
            period_start: self.period_start,
            period_end: self.period_end,
            period_usage: self.period_usage,
            seq: self.seq,
        }
    }

    /// Pending holds whose timeout is at or before `now`.
    pub fn due_holds(&self, now: Timestamp) -> Vec<String> {
        let mut due: Vec<&Record> = self
            .records
            .values()
            .filter(|r| r.kind == RecordKind::Hold && r.status == RecordStatus::Open)
            .filter(|r| r.expires_at.is_some_and(|t| t <= now))
            .collect();
        due.sort_by_key(|r| (r.expires_at, r.id.clone()));
        due.into_iter().map(|r| r.id.clone()).collect()
    }

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
        let result = self
            .catch_up(&mut tx)
            .and_then(|()| self.roll_period(now))
            .and_then(|()| self.check_caps(op, actor))
            .and_then(|()| self.check_actor(op, actor))
            .and_then(|()| self.apply_op(op, &mut tx))
            .and_then(|record| self.after_op(&mut tx).map(|()| record))
            .inspect(|_| self.charge_caps(op, actor, &tx));
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
        })
    }

    pub(crate) fn apply_op(&mut self, op: &Op, tx: &mut Tx) -> Result<Option<Record>, LedgerError> {
        let now = tx.now;
        Ok(match op {
            Op::Credit(c) => self.credit(tx, c)?,
            Op::SettlePurchase { purchase_id, status, ctx } => self.settle_purchase(tx, purchase_id, *status, ctx)?,
            Op::Hold(h) => Some(self.hold(tx, h)?),
            Op::Debit { hold_id, amount, ctx } => Some(self.debit(tx, hold_id, *amount, ctx)?),
            Op::Release { hold_id, ctx } => Some(self.release(tx, hold_id, ctx, false)?),
            Op::TimeoutHold { hold_id } => {
                let due = self
                    .records
                    .get(hold_id)
                    .is_some_and(|r| r.status == RecordStatus::Open && r.expires_at.is_some_and(|t| t <= now));
                if !due {
                    return Ok(None);
                }
                Some(self.release(tx, hold_id, &EventCtx::default(), true)?)
            }
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
                self.lapse_expired(tx)?;
                None
            }
            Op::Plans(p) => {
                self.apply_plan_op(tx, p)?;
                None
            }
            Op::Access(a) => self.apply_access(tx, a)?,
        })
    }

    /// The invariants that must hold after every operation (the engines
    /// check them before every commit, `verify` after reading): held and
    /// overdraft used are never negative, every block has credits left,
    /// and overdraft used is within the overdraft limit. That held is the
    /// sum of the open holds is [`OrgState::check_open_holds`], which needs
    /// every open hold loaded.
    pub fn check_invariants(&self) -> Result<(), BrokenInvariant> {
        if self.held.is_negative() {
            return Err(BrokenInvariant(format!("org {}: held is negative ({})", self.org_id, self.held)));
        }
        if self.debt.is_negative() {
            return Err(BrokenInvariant(format!("org {}: overdraft used is negative ({})", self.org_id, self.debt)));
        }
        if let Some(b) = self.blocks.iter().find(|b| !b.remaining.is_positive()) {
            return Err(BrokenInvariant(format!("org {}: block {} is not positive", self.org_id, b.id)));
        }
        if self.debt > self.settings.overdraft_limit {
            return Err(BrokenInvariant(format!(
                "org {}: overdraft used {} is over the limit {}",
                self.org_id, self.debt, self.settings.overdraft_limit
            )));
        }
        Ok(())
    }

    /// Held is the sum of the open holds. Only meaningful when every open
    /// hold is a loaded record: `verify` and the core's tests check it; an
    /// engine's state may lack a record it cannot read (`record_unreadable`).
    pub fn check_open_holds(&self) -> Result<(), BrokenInvariant> {
        let open_held = self
            .records
            .values()
            .filter(|r| r.kind == RecordKind::Hold && r.status == RecordStatus::Open)
            .try_fold(Micros::ZERO, |acc, r| acc.checked_add(r.amount));
        if open_held != Some(self.held) {
            return Err(BrokenInvariant(format!(
                "org {}: open holds add up to {} but held is {}",
                self.org_id,
                open_held.map_or("more than an amount can hold".to_string(), |h| h.to_string()),
                self.held
            )));
        }
        Ok(())
    }

    pub(crate) fn roll_period(&mut self, now: Timestamp) -> Result<(), LedgerError> {
        if self.period_end.is_some_and(|end| now < end) {
            return Ok(());
        }
        let tz = self.settings.validate()?;
        let (start, end) = period_bounds(&tz, self.settings.renewal_day, now)?;
        self.period_start = Some(start);
        self.period_end = Some(end);
        self.period_usage = Micros::ZERO;
        Ok(())
    }

    /// `Op::Credit`: adds a block of `c.amount` to its pool (the kind's
    /// default pool; a purchase is always prepaid). A voucher needs its code;
    /// only a purchase may start `processing` (no block until it is settled),
    /// and `expires_at` must be in the future. Writes one credit event.
    fn credit(&mut self, tx: &mut Tx, c: &CreditOp) -> Result<Option<Record>, LedgerError> {
        check_positive(c.amount)?;
        check_ctx(&c.ctx)?;
        let pool = c.pool.unwrap_or(c.kind.default_pool());
        if c.kind == CreditKind::Purchase && pool != Pool::Prepaid {
            // A settled purchase always lands in prepaid; so does one that succeeds at once.
            return Err(invalid("a purchase adds prepaid credits; its pool can only be prepaid"));
        }
        if let Some(at) = c.expires_at {
            if at <= tx.now {
                return Err(invalid("expires_at must be in the future"));
            }
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
            };
            record = Some(self.put_record(tx, r));
        }
        if status == Status::Succeeded {
            self.blocks.push(Block {
                id: format!("blk_{seq}"),
                pool,
                remaining: c.amount,
                expires_at: c.expires_at,
                rollovers: 0,
            });
        }
        let hold_id = record.as_ref().map(|r: &Record| r.id.clone());
        self.emit(tx, c.kind.event_kind(), c.amount, Some(pool), status, &c.ctx, code, hold_id);
        Ok(record)
    }

    /// `Op::SettlePurchase`: settles a processing purchase once. `succeeded`
    /// adds its prepaid block (refused if its credits have expired since);
    /// `failed` adds nothing. Writes one purchase event with the new status.
    fn settle_purchase(
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
        if status == Status::Succeeded {
            self.blocks.push(Block {
                id: format!("blk_{}", self.seq + 1),
                pool: Pool::Prepaid,
                remaining: r.amount,
                expires_at,
                rollovers: 0,
            });
        }
        let merged = merge_ctx(&r.ctx, ctx);
        let mut r = r;
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
    fn hold(&mut self, tx: &mut Tx, h: &HoldOp) -> Result<Record, LedgerError> {
        check_positive(h.amount)?;
        check_ctx(&h.ctx)?;
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
        };
        let r = self.put_record(tx, r);
        self.emit(tx, EventKind::Hold, neg(h.amount)?, pool, Status::Succeeded, &h.ctx, None, Some(id));
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
    fn debit(
        &mut self,
        tx: &mut Tx,
        hold_id: &str,
        amount: Option<Micros>,
        ctx: &EventCtx,
    ) -> Result<Record, LedgerError> {
        check_ctx(ctx)?;
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
    fn release(&mut self, tx: &mut Tx, hold_id: &str, ctx: &EventCtx, timeout: bool) -> Result<Record, LedgerError> {
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

    /// `Op::Usage`: consumes `amount` at once, drawn in consumption order
    /// (into the overdraft if allowed), and counts it as period usage;
    /// refused with `insufficient_credits` beyond available + overdraft.
    fn usage(&mut self, tx: &mut Tx, amount: Micros, ctx: &EventCtx) -> Result<Record, LedgerError> {
        check_positive(amount)?;
        check_ctx(ctx)?;
        let draws = self.plan_draws(amount, tx.now)?;
        add(self.period_usage, amount)?;
        self.lapse_expired(tx)?;
        self.take(&draws)?;
        self.period_usage = add(self.period_usage, amount)?;
        let id = format!("use_{}", self.seq + 1);
        let pool = main_pool(&draws);
        let r = Record {
            id: id.clone(),
            kind: RecordKind::Usage,
            status: RecordStatus::Consumed,
            amount,
            captured: amount,
            refunded: Micros::ZERO,
            draws,
            expires_at: None,
            created_at: tx.now,
            ctx: ctx.clone(),
            timed_out: false,
        };
        let r = self.put_record(tx, r);
        self.emit(tx, EventKind::Usage, neg(amount)?, pool, Status::Succeeded, ctx, None, Some(id));
        Ok(r)
    }

    /// `Op::Refund`: gives back up to what a usage or a debited hold
    /// consumed and has not been refunded (default all of it), most recently
    /// consumed part first, to the blocks it came from; lowers period usage.
    fn refund(
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
    fn adjustment(
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
            self.blocks.push(Block {
                id: format!("blk_{}", self.seq + 1),
                pool,
                remaining: amount,
                expires_at,
                rollovers: 0,
            });
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
    fn billing(&mut self, tx: &mut Tx, amount: Micros, ctx: &EventCtx) -> Result<(), LedgerError> {
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

    /// Which blocks `amount` would come from at `now`, without taking them.
    fn plan_draws(&self, amount: Micros, now: Timestamp) -> Result<Vec<Draw>, LedgerError> {
        let mut live: Vec<&Block> = self.blocks.iter().filter(|b| !b.expires_at.is_some_and(|t| t <= now)).collect();
        let rank = |p: Pool| self.settings.consumption_order.iter().position(|q| *q == p).unwrap_or(usize::MAX);
        let expiring_first = self.settings.expiring_first;
        // Stable sort keeps creation order among equals (oldest first).
        live.sort_by_key(|b| {
            let expiry = if expiring_first { b.expires_at.map_or(i128::MAX, |t| t.as_nanosecond()) } else { 0 };
            (expiry, rank(b.pool))
        });
        let live_total = live.iter().try_fold(Micros::ZERO, |acc, b| add(acc, b.remaining))?;
        let available = sub(live_total, self.debt)?;
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

    fn take(&mut self, draws: &[Draw]) -> Result<(), LedgerError> {
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
                    if let Some(b) = self.blocks.iter_mut().find(|b| &b.id == id) {
                        b.remaining = add(b.remaining, d.amount)?;
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
                                remaining: d.amount,
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

    /// Emits an `expiry` event for every block past its expiry and drops it.
    pub(crate) fn lapse_expired(&mut self, tx: &mut Tx) -> Result<(), LedgerError> {
        let now = tx.now;
        while let Some(i) = self.blocks.iter().position(|b| b.expires_at.is_some_and(|t| t <= now)) {
            let b = self.blocks.remove(i);
            let ctx = EventCtx {
                source: Some("system".into()),
                description: Some(format!("{} credits of block {} expired (not carried over)", b.pool, b.id)),
                ..EventCtx::default()
            };
            self.emit(tx, EventKind::Expiry, neg(b.remaining)?, Some(b.pool), Status::Succeeded, &ctx, None, None);
        }
        Ok(())
    }

    fn put_record(&mut self, tx: &mut Tx, r: Record) -> Record {
        if !tx.touched.contains(&r.id) {
            tx.touched.push(r.id.clone());
        }
        self.records.insert(r.id.clone(), r.clone());
        r
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn emit(
        &mut self,
        tx: &mut Tx,
        kind: EventKind,
        amount: Micros,
        pool: Option<Pool>,
        status: Status,
        ctx: &EventCtx,
        code: Option<String>,
        hold_id: Option<String>,
    ) {
        self.seq += 1;
        self.last_at = Some(tx.now);
        // The key marks the operation's first own event (not an expiry it caused).
        let key = if kind == EventKind::Expiry { None } else { tx.key.take() };
        let event = Event {
            id: Event::id_for(self.seq),
            org_id: self.org_id.clone(),
            seq: self.seq,
            created_at: tx.now,
            kind,
            amount,
            pool,
            status,
            source: ctx.source.clone(),
            service: ctx.service.clone(),
            activity: ctx.activity.clone(),
            project_id: ctx.project_id.clone(),
            project_name: ctx.project_name.clone(),
            user_name: ctx.user_name.clone(),
            user_email: ctx.user_email.clone(),
            description: ctx.description.clone(),
            code,
            hold_id,
            idempotency_key: key,
            balance_after: self.available(),
            prepaid_balance_after: self.pool_total(Pool::Prepaid),
            held_after: self.held,
            period_usage_after: self.period_usage,
            metadata: ctx.metadata.clone(),
        };
        self.last_hash = chain::hash(&self.last_hash, &event);
        tx.hashes.push(self.last_hash);
        tx.events.push(event);
    }
}

pub(crate) struct Tx {
    pub(crate) now: Timestamp,
    pub(crate) events: Vec<Event>,
    pub(crate) key: Option<String>,
    pub(crate) touched: Vec<String>,
    /// The state changed without an event (plan change, conversation).
    pub(crate) dirty: bool,
    pub(crate) conversations: Vec<Conversation>,
    pub(crate) notifications: Vec<Notification>,
    pub(crate) hashes: Vec<ChainHash>,
}

impl Tx {
    pub(crate) fn new(now: Timestamp, key: Option<String>) -> Tx {
        Tx {
            now,
            events: Vec::new(),
            key,
            touched: Vec::new(),
            dirty: false,
            conversations: Vec::new(),
            notifications: Vec::new(),
            hashes: Vec::new(),
        }
    }
}

fn check_positive(amount: Micros) -> Result<(), LedgerError> {
    if amount.is_positive() { Ok(()) } else { Err(invalid(format!("amount must be positive, got {amount}"))) }
}

fn check_ctx(ctx: &EventCtx) -> Result<(), LedgerError> {
    let fields = [
        ("source", &ctx.source),
        ("service", &ctx.service),
        ("activity", &ctx.activity),
        ("project_id", &ctx.project_id),
        ("project_name", &ctx.project_name),
        ("user_name", &ctx.user_name),
        ("user_email", &ctx.user_email),
        ("description", &ctx.description),
    ];
    for (name, value) in fields {
        if let Some(v) = value {
            crate::input::check_text(name, v)?;
        }
    }
    if let Some(email) = &ctx.user_email {
        if !email.contains('@') {
            return Err(invalid(format!("user_email {email:?} is not an email address")));
        }
    }
    if let Some(m) = &ctx.metadata {
        crate::input::check_metadata(m)?;
    }
    Ok(())
}

/// Fields of a follow-up (debit, release, refund) default to the original's.
fn merge_ctx(original: &EventCtx, now: &EventCtx) -> EventCtx {
    let pick = |a: &Option<String>, b: &Option<String>| b.clone().or_else(|| a.clone());
    EventCtx {
        source: pick(&original.source, &now.source),
        service: pick(&original.service, &now.service),
        activity: pick(&original.activity, &now.activity),
        project_id: pick(&original.project_id, &now.project_id),
        project_name: pick(&original.project_name, &now.project_name),
        user_name: pick(&original.user_name, &now.user_name),
        user_email: pick(&original.user_email, &now.user_email),
        description: pick(&original.description, &now.description),
        metadata: now.metadata.clone().or_else(|| original.metadata.clone()),
    }
}

/// The sequence number a block id (`blk_<seq>`) was created at.
pub(crate) fn block_seq(id: &str) -> u64 {
    id.strip_prefix("blk_").and_then(|n| n.parse().ok()).unwrap_or(u64::MAX)
}

/// The pool most of `draws` came from (the first on a tie).
fn main_pool(draws: &[Draw]) -> Option<Pool> {
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

/// The plan period containing `now`: from `day` of a month at 00:00 in `tz`
/// to the same day of the next month.
pub fn period_bounds(tz: &TimeZone, day: u8, now: Timestamp) -> Result<(Timestamp, Timestamp), LedgerError> {
    let bad = |e: jiff::Error| invalid(format!("period: {e}"));
    let local = now.to_zoned(tz.clone());
    let this = jiff::civil::Date::new(local.year(), local.month(), day as i8).map_err(bad)?;
    let start = if this.to_zoned(tz.clone()).map_err(bad)?.timestamp() > now {
        this.checked_sub(1.month()).map_err(bad)?
    } else {
        this
    };
    let end = start.checked_add(1.month()).map_err(bad)?;
    Ok((start.to_zoned(tz.clone()).map_err(bad)?.timestamp(), end.to_zoned(tz.clone()).map_err(bad)?.timestamp()))
}
