//! The state of one organisation's ledger and the data it is made of.
//!
//! It exists so that what an organisation *has* — settings, credit blocks,
//! the records of holds, usage and purchases, the plan and cap bookkeeping —
//! is defined once, in a leaf module that every rule file (`ledger`,
//! `access`, `plans`) imports and none of them owns. Here are only the data
//! types, the read-only questions asked of them (balances, due holds), the
//! period arithmetic and the invariants ([`OrgState::check_invariants`]);
//! every change goes through [`OrgState::apply`] and the rule files.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan, tz::TimeZone};
use serde::{Deserialize, Serialize};

use crate::chain::ChainHash;
use crate::error::{BrokenInvariant, LedgerError, invalid};
use crate::event::{Event, EventCtx, EventKind, Pool};
use crate::money::Micros;

/// Conversations one identity may start per month when the plan says nothing.
pub const DEFAULT_CONVERSATIONS_PER_IDENTITY: u32 = 500;
/// Highest per-identity monthly limit a plan may set.
pub const MAX_CONVERSATIONS_PER_IDENTITY: u32 = 1_000_000;
/// Most identities a plan may include; also the cap without a plan.
pub const MAX_IDENTITIES: u32 = 10_000;
/// Longest plan name, identity or campaign.
pub const MAX_NAME_LEN: usize = 200;

// ---- Settings, blocks and records -------------------------------------

/// Per-organisation settings the rules depend on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrgSettings {
    /// The organisation's display name, 1 to 200 characters, no NUL.
    pub name: String,
    /// IANA zone name; periods, "today" and renewals are in this zone.
    pub time_zone: String,
    /// Pools in the order they are consumed (after soonest-expiring first).
    pub consumption_order: Vec<Pool>,
    /// Consume blocks that expire soonest first, before the pool order.
    pub expiring_first: bool,
    /// How far below zero available credits may go, in micro-credits; not
    /// negative. Zero: no overdraft.
    pub overdraft_limit: Micros,
    /// Day of the month (1–28) a plan period starts, 00:00 in `time_zone`.
    pub renewal_day: u8,
    /// Below this many available micro-credits a `low_balance`
    /// notification is recorded once (see `plans`); not negative; none: no
    /// alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_balance_threshold: Option<Micros>,
    /// The price book priced operations use, over the plan's
    /// (`Plan::price_book`); none: the plan's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_book: Option<String>,
    /// What a reversed purchase's already spent credits become: debt
    /// settled by the next credits that arrive (the default), or written
    /// off.
    #[serde(default, skip_serializing_if = "ReversalPolicy::is_default")]
    pub reversal_policy: ReversalPolicy,
    /// Buy more: the amounts (micro-credits; exact decimals on the wire) an
    /// owner may choose on the dashboard's Plan tab
    /// (`POST …/purchases/request`); empty: Buy more is not offered.
    /// Checked by [`crate::checkout::check_amounts`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<crate::money::Amount>)]
    pub buy_more_amounts: Vec<Micros>,
    /// Buy more: where the member is sent to pay, an `https://` URL with
    /// `{purchase_id}` and `{signature}` (see [`crate::checkout`]); none:
    /// the purchase waits for the operator's backend (the
    /// `top_up.requested` webhook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout_url_template: Option<String>,
    /// Change plan: an owner's choice of a catalogue plan is applied at
    /// once; false (the default): it is sent as a `plan_change.requested`
    /// webhook for the operator to apply.
    #[serde(default, skip_serializing_if = "is_false")]
    pub self_service_plan_change: bool,
    /// How the dashboard writes numbers, money and dates for this
    /// organisation's people: `en-US` (the default), `en-GB`, `es-ES`,
    /// `de-DE`, `fr-FR` or `it-IT` (the tags of `locale::Locale::ALL`).
    #[serde(default, skip_serializing_if = "crate::locale::Locale::is_default")]
    #[schema(value_type = String, example = "es-ES")]
    pub locale: crate::locale::Locale,
    /// Whose balance this organisation's holds and usage draw on: its own
    /// (the default) or, past its own, its parent's (see `funding`).
    #[serde(default, skip_serializing_if = "Funding::is_own")]
    pub funding: Funding,
    /// With `funding: parent`, the most it may draw from its parent per
    /// period (micro-credits; exact decimals on the wire); none: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::money::Amount>)]
    pub funding_budget: Option<Micros>,
}

/// Whose balance an organisation's consumption draws on (see
/// [`crate::funding`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Funding {
    /// Its own credits only (the default).
    #[default]
    Own,
    /// Its own credits first, then its parent's, within its budget.
    Parent,
}

impl Funding {
    /// Serde's test for the default (not written).
    pub fn is_own(&self) -> bool {
        *self == Funding::Own
    }
}

/// What a parent-funded organisation drew from its parent this period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingUse {
    /// The period `drawn` counts in (the org's `period_start` then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_start: Option<Timestamp>,
    /// Micro-credits drawn from the parent in that period.
    pub drawn: Micros,
}

impl FundingUse {
    /// Serde's test: nothing drawn yet (not written).
    pub fn is_empty(&self) -> bool {
        self.period_start.is_none() && self.drawn.is_zero()
    }
}

/// Serde's test for a default `false` (not written).
fn is_false(b: &bool) -> bool {
    !*b
}

/// What happens to the credits of a reversed purchase that were already
/// spent (see `OrgState::reverse_purchase`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReversalPolicy {
    /// They become debt ([`OrgState::reversal_debt`]): available goes down
    /// by all of the purchase, and the next credits that arrive settle the
    /// debt before they can be spent.
    #[default]
    Debt,
    /// They are written off: only the unspent credits are taken back.
    WriteOff,
}

impl ReversalPolicy {
    /// The policy's stable name (`debt`, `write_off`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReversalPolicy::Debt => "debt",
            ReversalPolicy::WriteOff => "write_off",
        }
    }

    /// The default (not written in the settings).
    pub fn is_default(&self) -> bool {
        *self == ReversalPolicy::Debt
    }
}

impl OrgSettings {
    /// Settings with the defaults: every pool in [`Pool::DEFAULT_ORDER`],
    /// soonest-expiring first, no overdraft, periods from the 1st, no
    /// low-balance alert. Not validated: [`OrgState::new`] does that.
    pub fn new(name: impl Into<String>, time_zone: impl Into<String>) -> Self {
        OrgSettings {
            name: name.into(),
            time_zone: time_zone.into(),
            consumption_order: Pool::DEFAULT_ORDER.to_vec(),
            expiring_first: true,
            overdraft_limit: Micros::ZERO,
            renewal_day: 1,
            low_balance_threshold: None,
            price_book: None,
            reversal_policy: ReversalPolicy::Debt,
            buy_more_amounts: Vec::new(),
            checkout_url_template: None,
            self_service_plan_change: false,
            locale: crate::locale::Locale::default(),
            funding: Funding::Own,
            funding_budget: None,
        }
    }

    /// The locale the dashboard writes in.
    pub fn locale(&self) -> crate::locale::Locale {
        self.locale
    }

    /// Checks the settings are usable (a name of 1–200 characters, a known
    /// IANA zone, each pool once in the order, limits not negative, a
    /// renewal day 1–28); returns the parsed zone.
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
        check_book_id(self.price_book.as_deref())?;
        crate::checkout::check_amounts(&self.buy_more_amounts)?;
        if let Some(t) = &self.checkout_url_template {
            crate::checkout::check_template(t)?;
        }
        if self.funding_budget.is_some_and(|b| b.is_negative()) {
            return Err(invalid("funding_budget must not be negative"));
        }
        Ok(tz)
    }
}

/// Credits added together, with one expiry. Consumption draws from blocks;
/// a block that reaches zero is removed, so every block in a state has
/// credits left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// `blk_<seq>`: the sequence number of the event that created it, so
    /// ids sort in creation order (`block_seq`).
    pub id: String,
    /// The pool its credits count in.
    pub pool: Pool,
    /// Micro-credits left; always positive.
    pub remaining: Micros,
    /// When what is left lapses (an `expiry` event); `None`: never.
    pub expires_at: Option<Timestamp>,
    /// Plan credits: how many renewals this block has been carried over
    /// ("accumulated" credits when above zero).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rollovers: u32,
}

/// Serde's test for a zero amount (not written).
pub(crate) fn no_micros(m: &Micros) -> bool {
    m.is_zero()
}

/// Serde's test for a default `rollovers` (not written).
pub(crate) fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Part of an amount taken from one block (or, with no block, from the
/// overdraft allowance).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Draw {
    /// The block it came from; `None`: the overdraft.
    pub block_id: Option<String>,
    /// That block's pool (`None` for the overdraft), so a block that has
    /// gone can be recreated when the credits come back.
    pub pool: Option<Pool>,
    /// That block's expiry when the draw was made, for the same reason.
    pub expires_at: Option<Timestamp>,
    /// Micro-credits taken; positive.
    pub amount: Micros,
}

/// What a [`Record`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// Credits reserved by `Op::Hold` (`hold_<seq>`), later debited,
    /// released or timed out.
    Hold,
    /// Credits consumed at once by `Op::Usage` (`use_<seq>`); refundable.
    Usage,
    /// Credits bought by a purchase (`pur_<seq>`), settled once if it
    /// started `processing`.
    Purchase,
}

/// Where a [`Record`] is in its life. A hold goes from `open` to `debited`
/// or `released`, once; a usage is `consumed`; a purchase is `processing`
/// until settled `succeeded` or `failed` (or `succeeded` at once), and a
/// succeeded one may be `reversed`, once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// A hold not yet debited or released.
    Open,
    /// A hold posted by a debit (all or part of it consumed).
    Debited,
    /// A hold voided by a release or its timeout; nothing consumed.
    Released,
    /// Usage: consumed at once.
    Consumed,
    /// A purchase waiting for its payment: no credits yet.
    Processing,
    /// A purchase paid: its prepaid block was added.
    Succeeded,
    /// A purchase whose payment failed: nothing was added.
    Failed,
    /// A succeeded purchase taken back by a `reversal` event, once.
    Reversed,
}

impl RecordStatus {
    /// The status as stored and answered (`open`, `debited`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Open => "open",
            RecordStatus::Debited => "debited",
            RecordStatus::Released => "released",
            RecordStatus::Consumed => "consumed",
            RecordStatus::Processing => "processing",
            RecordStatus::Succeeded => "succeeded",
            RecordStatus::Failed => "failed",
            RecordStatus::Reversed => "reversed",
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
    /// `hold_<seq>`, `use_<seq>` or `pur_<seq>`: the sequence number of the
    /// event that created it.
    pub id: String,
    /// Hold, usage or purchase.
    pub kind: RecordKind,
    /// Where it is in its life; see [`RecordStatus`].
    pub status: RecordStatus,
    /// Reserved (hold), consumed (usage) or bought (purchase).
    pub amount: Micros,
    /// Consumed for good: the debited part of a hold, all of a usage.
    pub captured: Micros,
    /// Micro-credits given back by refunds so far; never more than
    /// `captured`.
    pub refunded: Micros,
    /// Blocks the credits came from, in the order they were taken.
    pub draws: Vec<Draw>,
    /// Hold: when it times out. Purchase: when its credits will expire.
    pub expires_at: Option<Timestamp>,
    /// When it was made (the time of its first event).
    pub created_at: Timestamp,
    /// Who, what and why, from the operation that made it; follow-ups
    /// (debit, release, refund, settle) default their fields to these.
    pub ctx: EventCtx,
    /// A hold released because its time ran out (not by a caller), so a
    /// late debit or release says `hold_expired`. Records written before
    /// this field read as `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// A priced hold: how it was priced (its line, estimated quantity, book
    /// version); its debit prices the actual quantity with the same line
    /// and version. Absent on everything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<crate::prices::Pricing>,
    /// A succeeded purchase: the block its credits were added to
    /// (`blk_<seq>` of its succeeded event), which a reversal takes them
    /// back from. `None` on other records, and on purchases recorded before
    /// this field or imported (a reversal then takes from the prepaid pool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_id: Option<String>,
}

impl Record {
    /// A new usage's record: `amount` consumed at once from `draws`, nothing
    /// refunded yet.
    pub fn usage(id: String, amount: Micros, draws: Vec<Draw>, created_at: Timestamp, ctx: EventCtx) -> Record {
        Record {
            id,
            kind: RecordKind::Usage,
            status: RecordStatus::Consumed,
            amount,
            captured: amount,
            refunded: Micros::ZERO,
            draws,
            expires_at: None,
            created_at,
            ctx,
            timed_out: false,
            pricing: None,
            block_id: None,
        }
    }

    /// The record of a usage, rebuilt from its event and the blocks it drew
    /// from, as it was before any refund; `None` if `e` is not a usage.
    pub fn consumed_by(e: &Event, draws: Vec<Draw>) -> Option<Record> {
        if e.kind != EventKind::Usage {
            return None;
        }
        let amount = e.amount.checked_neg().filter(|a| a.is_positive())?;
        Some(Record::usage(e.hold_id.clone()?, amount, draws, e.created_at, EventCtx::of(e)))
    }
}

// ---- Balances and the state itself ------------------------------------

/// Balances of one organisation at one moment, in micro-credits (exact
/// decimals of credits on the wire).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Balance {
    /// The organisation.
    pub org_id: String,
    /// Credits that can be spent now: what the blocks hold less the
    /// overdraft used (negative while in overdraft, never below
    /// `-overdraft_limit`). Held credits are not in it.
    pub available: Micros,
    /// Reserved by open holds (their sum); never negative.
    pub held: Micros,
    /// What the blocks of each pool hold (held credits not included).
    pub pools: PoolBalances,
    /// Credits consumed beyond the blocks; 0 to `overdraft_limit`.
    pub overdraft_used: Micros,
    /// How far below zero `available` may go (the org's setting).
    pub overdraft_limit: Micros,
    /// Start of the current period (00:00 on the renewal day in the org's
    /// zone), as a UTC instant.
    pub period_start: Option<Timestamp>,
    /// End of the current period (exclusive): the next renewal day.
    pub period_end: Option<Timestamp>,
    /// Consumed this period: debits and usage less refunds; never negative.
    pub period_usage: Micros,
    /// Credits owed for reversed purchases whose credits were already
    /// spent (policy `debt`); `available` is net of it, and the next
    /// credits that arrive settle it first.
    #[serde(default)]
    pub reversal_debt: Micros,
    /// Sequence number of the last event.
    pub seq: u64,
}

/// What the blocks of each pool hold, in micro-credits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PoolBalances {
    /// Plan credits (this period's allocation and any carried over).
    pub plan: Micros,
    /// Purchased credits.
    pub prepaid: Micros,
    /// Credits from voucher codes.
    pub voucher: Micros,
    /// Granted credits and positive adjustments.
    pub promotional: Micros,
}

/// The whole ledger state of one organisation. Serialized without its
/// records, which are stored one row each.
///
/// Its invariants, checked by [`OrgState::check_invariants`] after every
/// operation and before every commit: `held` and `debt` are never negative
/// and `debt` is at most the overdraft limit (so available credits never go
/// below `-overdraft_limit`); every block has credits left; period usage is
/// never negative; the period starts before it ends; there is a last event
/// time exactly when there is a last event. `held` is also the sum of the
/// open holds, checked by [`OrgState::check_open_holds`] where every open
/// hold is loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgState {
    /// The organisation (its [`OrgId`](crate::OrgId) as text).
    pub org_id: String,
    /// The settings the rules read (zone, consumption order, overdraft).
    pub settings: OrgSettings,
    /// When the organisation was created.
    pub created_at: Timestamp,
    /// Sequence number of the last event (0 before the first); events are
    /// numbered from 1 without gaps.
    pub seq: u64,
    /// Time of the last event (`None` exactly while `seq` is 0); events
    /// never go back in time within an org.
    pub last_at: Option<Timestamp>,
    /// The credit blocks with credits left, in creation order (an import
    /// rebuilds them per pool, in consumption order).
    pub blocks: Vec<Block>,
    /// Credits taken beyond the blocks (the overdraft used), in
    /// micro-credits: 0 to the overdraft limit.
    pub debt: Micros,
    /// Micro-credits reserved by open holds (their sum); never negative.
    pub held: Micros,
    /// Start of the current period (00:00 on the renewal day in the org's
    /// zone), before `period_end`.
    pub period_start: Option<Timestamp>,
    /// End of the current period (exclusive); a later operation first rolls
    /// the period over (and, with a plan, renews).
    pub period_end: Option<Timestamp>,
    /// Micro-credits consumed this period (debits and usage less refunds);
    /// never negative.
    pub period_usage: Micros,
    /// Micro-credits owed for reversed purchases whose credits were already
    /// spent (policy `debt`); never negative. Credits that arrive (a new
    /// block, credits given back to a block) settle it first
    /// (`OrgState::add_block`, `OrgState::settle_debt`).
    #[serde(default, skip_serializing_if = "no_micros")]
    pub reversal_debt: Micros,
    /// Plan, pending plan change, conversation counts, recent consumption.
    #[serde(default, skip_serializing_if = "PlanState::is_empty")]
    pub plans: PlanState,
    /// Per-member and per-key spending this period, and their caps.
    #[serde(default, skip_serializing_if = "CapState::is_empty")]
    pub caps: CapState,
    /// Hash of the last event (see `chain`); genesis before the first.
    #[serde(default, skip_serializing_if = "ChainHash::is_genesis")]
    pub last_hash: ChainHash,
    /// Units used this period per price line, for graduated tiers.
    #[serde(default, skip_serializing_if = "PeriodQuantities::is_empty")]
    pub quantities: PeriodQuantities,
    /// The auto top-up rule, its pending purchase and this period's counts
    /// (see `topup`).
    #[serde(default, skip_serializing_if = "crate::money_in::TopUpState::is_empty")]
    pub auto_top_up: crate::money_in::TopUpState,
    /// The usage alert levels and which have fired (see `alerts`).
    #[serde(default, skip_serializing_if = "crate::money_in::AlertState::is_empty")]
    pub alerts: crate::money_in::AlertState,
    /// What it drew from its parent this period (`funding: parent`).
    #[serde(default, skip_serializing_if = "FundingUse::is_empty")]
    pub funding_use: FundingUse,
    /// Loaded records: every pending one, plus any the engine fetched.
    #[serde(skip)]
    pub records: HashMap<String, Record>,
}

impl OrgState {
    /// A new organisation at `now`: no credits, no events, the period
    /// containing `now`. Refused if the settings are not valid.
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
            reversal_debt: Micros::ZERO,
            plans: PlanState::default(),
            caps: CapState::default(),
            last_hash: ChainHash::GENESIS,
            quantities: PeriodQuantities::default(),
            auto_top_up: Default::default(),
            alerts: Default::default(),
            funding_use: FundingUse::default(),
            records: HashMap::new(),
        })
    }

    /// What all blocks hold, in micro-credits (held credits not included);
    /// saturates at [`Micros::MAX`].
    pub fn blocks_total(&self) -> Micros {
        self.blocks.iter().fold(Micros::ZERO, |acc, b| acc.checked_add(b.remaining).unwrap_or(Micros::MAX))
    }

    /// Credits that can be spent now: [`OrgState::blocks_total`] less the
    /// overdraft used and the reversal debt (negative while in overdraft or
    /// in debt).
    pub fn available(&self) -> Micros {
        self.blocks_total()
            .checked_sub(self.debt)
            .and_then(|a| a.checked_sub(self.reversal_debt))
            .unwrap_or(Micros::ZERO)
    }

    /// What the blocks of `pool` hold, in micro-credits; saturates at
    /// [`Micros::MAX`].
    pub fn pool_total(&self, pool: Pool) -> Micros {
        self.blocks
            .iter()
            .filter(|b| b.pool == pool)
            .fold(Micros::ZERO, |acc, b| acc.checked_add(b.remaining).unwrap_or(Micros::MAX))
    }

    /// What each pool's blocks hold, in one pass over the blocks (each
    /// pool as [`OrgState::pool_total`] adds it up).
    pub fn pools(&self) -> PoolBalances {
        let mut p = PoolBalances::default();
        for b in &self.blocks {
            let total = match b.pool {
                Pool::Plan => &mut p.plan,
                Pool::Prepaid => &mut p.prepaid,
                Pool::Voucher => &mut p.voucher,
                Pool::Promotional => &mut p.promotional,
            };
            *total = total.checked_add(b.remaining).unwrap_or(Micros::MAX);
        }
        p
    }

    /// The balances as answered to callers and written on events.
    pub fn balance(&self) -> Balance {
        Balance {
            org_id: self.org_id.clone(),
            available: self.available(),
            held: self.held,
            pools: self.pools(),
            overdraft_used: self.debt,
            overdraft_limit: self.settings.overdraft_limit,
            period_start: self.period_start,
            period_end: self.period_end,
            period_usage: self.period_usage,
            reversal_debt: self.reversal_debt,
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

    /// The invariants that must hold after every operation (the engines
    /// check them before every commit, `verify` after reading): held and
    /// overdraft used are never negative, every block has credits left,
    /// overdraft used is within the overdraft limit, period usage is never
    /// negative, the period starts before it ends, and the state has a last
    /// event time exactly when it has a last event. That held is the sum of
    /// the open holds is [`OrgState::check_open_holds`], which needs every
    /// open hold loaded. Cheap: no allocation, one pass over the blocks.
    pub fn check_invariants(&self) -> Result<(), BrokenInvariant> {
        if self.held.is_negative() {
            return Err(BrokenInvariant(format!("org {}: held is negative ({})", self.org_id, self.held)));
        }
        if self.debt.is_negative() {
            return Err(BrokenInvariant(format!("org {}: overdraft used is negative ({})", self.org_id, self.debt)));
        }
        if self.reversal_debt.is_negative() {
            return Err(BrokenInvariant(format!(
                "org {}: reversal debt is negative ({})",
                self.org_id, self.reversal_debt
            )));
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
        if self.period_usage.is_negative() {
            return Err(BrokenInvariant(format!(
                "org {}: period usage is negative ({})",
                self.org_id, self.period_usage
            )));
        }
        if let (Some(start), Some(end)) = (self.period_start, self.period_end)
            && start >= end
        {
            return Err(BrokenInvariant(format!(
                "org {}: the period starts at {start}, not before its end {end}",
                self.org_id
            )));
        }
        if (self.seq == 0) != self.last_at.is_none() {
            return Err(BrokenInvariant(format!(
                "org {}: seq {} does not match the last event time {:?}",
                self.org_id, self.seq, self.last_at
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
}

/// The sequence number a block id (`blk_<seq>`, or `blk_<seq>.<n>` for the
/// further blocks one `transfer_in` creates) was created at.
pub(crate) fn block_seq(id: &str) -> u64 {
    id.strip_prefix("blk_").and_then(|n| n.split('.').next()).and_then(|n| n.parse().ok()).unwrap_or(u64::MAX)
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

// ---- Plans: what the organisation is subscribed to ---------------------

/// What happens to a period's unused plan credits at renewal.
///
/// In JSON: `{"policy": "none"}`, `{"policy": "all"}`,
/// `{"policy": "up_to", "max_credits": 5000}`, `{"policy": "periods",
/// "periods": 2}` (a flat object: an internally tagged enum would buffer the
/// amount, which an exact [`Micros`] refuses).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "RolloverJson", try_from = "RolloverJson")]
pub enum Rollover {
    /// Nothing is carried over (the seeds' rule "as a rule").
    #[default]
    None,
    /// Everything is carried over, for as long as the subscription lasts.
    All,
    /// Carried over up to this many accumulated credits in all.
    UpTo {
        /// Most plan micro-credits carried over in all (newest first); not
        /// negative.
        max_credits: Micros,
    },
    /// Each period's credits are carried over at most this many times.
    Periods {
        /// How many renewals a block survives; at least 1.
        periods: u32,
    },
}

/// One object per policy, as `RolloverJson` reads it.
impl utoipa::PartialSchema for Rollover {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        let policy = |name: &str| {
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("policy", ObjectBuilder::new().schema_type(Type::String).enum_values(Some([name])))
                .required("policy")
                .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)))
        };
        OneOfBuilder::new()
            .item(policy("none").description(Some("Nothing is carried over (the default)")))
            .item(policy("all").description(Some("Everything is carried over")))
            .item(
                policy("up_to")
                    .property("max_credits", <crate::money::Amount as utoipa::PartialSchema>::schema())
                    .required("max_credits")
                    .description(Some("Carried over up to this many accumulated credits in all")),
            )
            .item(
                policy("periods")
                    .property(
                        "periods",
                        ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)).maximum(Some(u32::MAX)),
                    )
                    .required("periods")
                    .description(Some("Each period's credits are carried over at most this many times")),
            )
            .into()
    }
}

impl utoipa::ToSchema for Rollover {}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RolloverPolicy {
    None,
    All,
    UpTo,
    Periods,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolloverJson {
    policy: RolloverPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_credits: Option<Micros>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    periods: Option<u32>,
}

impl From<Rollover> for RolloverJson {
    fn from(r: Rollover) -> Self {
        let (policy, max_credits, periods) = match r {
            Rollover::None => (RolloverPolicy::None, None, None),
            Rollover::All => (RolloverPolicy::All, None, None),
            Rollover::UpTo { max_credits } => (RolloverPolicy::UpTo, Some(max_credits), None),
            Rollover::Periods { periods } => (RolloverPolicy::Periods, None, Some(periods)),
        };
        RolloverJson { policy, max_credits, periods }
    }
}

impl TryFrom<RolloverJson> for Rollover {
    type Error = String;

    fn try_from(j: RolloverJson) -> Result<Self, String> {
        match (j.policy, j.max_credits, j.periods) {
            (RolloverPolicy::None, None, None) => Ok(Rollover::None),
            (RolloverPolicy::All, None, None) => Ok(Rollover::All),
            (RolloverPolicy::UpTo, Some(max_credits), None) => Ok(Rollover::UpTo { max_credits }),
            (RolloverPolicy::Periods, None, Some(periods)) => Ok(Rollover::Periods { periods }),
            (RolloverPolicy::UpTo, None, _) => Err("rollover up_to needs max_credits".into()),
            (RolloverPolicy::Periods, _, None) => Err("rollover periods needs periods".into()),
            _ => Err("rollover: max_credits goes with up_to only, periods with periods only".into()),
        }
    }
}

/// A subscription plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Plan {
    /// Its name, 1 to [`MAX_NAME_LEN`] characters (trimmed).
    pub name: String,
    /// Credits granted at the start of each period.
    pub credits_per_period: Micros,
    /// Identities that may start conversations each month, at most
    /// [`MAX_IDENTITIES`].
    pub identities_included: u32,
    /// Price per period as an exact decimal in `currency` (449 = 449.00).
    pub price: Micros,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
    #[serde(default = "default_conversations")]
    /// Conversations each identity may start per month, at most
    /// [`MAX_CONVERSATIONS_PER_IDENTITY`] (default
    /// [`DEFAULT_CONVERSATIONS_PER_IDENTITY`]).
    pub conversations_per_identity: u32,
    #[serde(default)]
    /// What happens to a period's unused plan credits (default: nothing
    /// is carried over).
    pub rollover: Rollover,
    /// The price book its priced operations use (an org's
    /// `OrgSettings::price_book` wins); none: no prices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_book: Option<String>,
}

/// A price book id names a book in the id grammar of new ids.
fn check_book_id(id: Option<&str>) -> Result<(), LedgerError> {
    match id {
        Some(id) if crate::OrgId::parse(id).is_err() => {
            Err(invalid(format!("price_book {id:?} must be 1-64 letters, digits, '-', '_' or '.'")))
        }
        _ => Ok(()),
    }
}

fn default_conversations() -> u32 {
    DEFAULT_CONVERSATIONS_PER_IDENTITY
}

impl Plan {
    /// Checks the plan's bounds (name, amounts not negative, an ISO 4217
    /// currency, identity and conversation limits, a usable rollover).
    pub fn validate(&self) -> Result<(), LedgerError> {
        let name = self.name.trim();
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(invalid(format!("plan name must be 1 to {MAX_NAME_LEN} characters")));
        }
        crate::input::check_no_nul("plan name", name)?;
        if self.credits_per_period.is_negative() {
            return Err(invalid("credits_per_period must not be negative"));
        }
        if self.price.is_negative() {
            return Err(invalid("price must not be negative"));
        }
        check_book_id(self.price_book.as_deref())?;
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid(format!(
                "currency {:?} must be an ISO 4217 code of three capital letters, e.g. EUR",
                self.currency
            )));
        }
        if self.identities_included > MAX_IDENTITIES {
            return Err(invalid(format!("identities_included must be at most {MAX_IDENTITIES}")));
        }
        if self.conversations_per_identity > MAX_CONVERSATIONS_PER_IDENTITY {
            return Err(invalid(format!(
                "conversations_per_identity must be at most {MAX_CONVERSATIONS_PER_IDENTITY}"
            )));
        }
        match self.rollover {
            Rollover::UpTo { max_credits } if max_credits.is_negative() => {
                Err(invalid("rollover max_credits must not be negative"))
            }
            Rollover::Periods { periods: 0 } => {
                Err(invalid("rollover periods must be at least 1; use {\"policy\": \"none\"} for no rollover"))
            }
            _ => Ok(()),
        }
    }
}

/// Consumption (debits and usage, less refunds) on one day in the org's zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayUsage {
    /// The day, in the org's zone.
    pub day: Date,
    /// Micro-credits consumed that day (less refunds; may be negative).
    pub consumed: Micros,
}

/// Conversations per identity in one calendar month of the org's zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationMonth {
    /// The 1st of the month.
    pub month: Date,
    /// Conversations started per identity that month.
    pub counts: BTreeMap<String, u32>,
}

/// The plan part of an organisation's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanState {
    /// The current plan; `None`: not subscribed (or only from the next
    /// renewal, see `next_plan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// Replaces `plan` at the next renewal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_plan: Option<Plan>,
    /// When the organisation subscribed (from having no plan; a change of
    /// plan keeps it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribed_at: Option<Timestamp>,
    /// The last [`FORECAST_WINDOW_DAYS`](crate::plans::FORECAST_WINDOW_DAYS) days with consumption.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage_days: Vec<DayUsage>,
    /// This month and the one before (late reports still count there).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conversation_months: Vec<ConversationMonth>,
    /// Sequence number of the last conversation stored.
    #[serde(default)]
    pub conversation_seq: u64,
    /// Since when available credits are below the low-balance threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_balance_since: Option<Timestamp>,
    /// Sequence number of the last notification stored.
    #[serde(default)]
    pub notification_seq: u64,
}

impl PlanState {
    /// Nothing recorded (serialised as nothing).
    pub fn is_empty(&self) -> bool {
        *self == PlanState::default()
    }

    /// Subscribed now or from the next renewal.
    pub fn subscribed(&self) -> bool {
        self.plan.is_some() || self.next_plan.is_some()
    }
}

impl OrgState {
    /// The price book this organisation's priced operations use: its own
    /// setting, else its current plan's; `None`: no prices.
    pub fn price_book_id(&self) -> Option<&str> {
        self.settings.price_book.as_deref().or(self.plans.plan.as_ref().and_then(|p| p.price_book.as_deref()))
    }
}

// ---- Caps: who may spend how much per period ---------------------------

/// Whose spending a cap limits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CapSubject {
    /// A member, by email (lower case).
    Member(String),
    /// An API key, by id.
    Key(String),
    /// A project, by `project_id` (as the events carry it): a budget every
    /// hold and usage naming the project counts against, whoever makes it.
    Project(String),
}

impl std::fmt::Display for CapSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CapSubject::Member(e) => write!(f, "member {e}"),
            CapSubject::Key(k) => write!(f, "key {k}"),
            CapSubject::Project(p) => write!(f, "project {p}"),
        }
    }
}

/// One subject's limit and what it has used this period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cap {
    /// Whose spending it counts.
    pub subject: CapSubject,
    /// None: tracked (an actor) but not limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Micros>,
    /// Micro-credits held or used this period (released holds give theirs
    /// back); never negative.
    pub used: Micros,
}

/// A hold that counted against caps: its release gives the credits back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CappedHold {
    /// The hold (`hold_<seq>`).
    pub hold_id: String,
    /// The subjects it was counted against.
    pub subjects: Vec<CapSubject>,
    /// The period it was counted in; a release in a later period gives
    /// nothing back (that period's count started from zero).
    pub period_start: Option<Timestamp>,
}

/// Per-subject spending this period, part of [`OrgState`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapState {
    /// The org period `used` counts in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_start: Option<Timestamp>,
    /// Every subject with a limit or spending this period, at most
    /// `access::MAX_CAPS`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<Cap>,
    /// Open holds that counted against caps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<CappedHold>,
}

impl CapState {
    /// No caps and no capped holds (serialised as nothing).
    pub fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.holds.is_empty()
    }

    /// The cap of `s`, if it has one.
    pub(crate) fn get(&self, s: &CapSubject) -> Option<&Cap> {
        self.caps.iter().find(|c| &c.subject == s)
    }
}

// ---- Quantities: units of each price line used this period --------------

/// Units of each price line ([`PriceLine::line_id`]) an organisation used
/// in one period: where a graduated price's next unit falls. Counted by
/// priced usage and priced debits (not holds: a hold is not used until it
/// is debited). Counters of an earlier period read as zero.
///
/// [`PriceLine::line_id`]: crate::prices::PriceLine::line_id
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodQuantities {
    /// The period the counters belong to (its start).
    pub period_start: Option<Timestamp>,
    /// Units used per line id.
    pub used: std::collections::BTreeMap<String, crate::prices::Quantity>,
}

impl PeriodQuantities {
    /// No counters.
    pub fn is_empty(&self) -> bool {
        self.used.is_empty()
    }

    /// Units of `line` used in the period starting at `period_start`.
    pub fn used(&self, period_start: Option<Timestamp>, line: &str) -> crate::prices::Quantity {
        if self.period_start != period_start {
            return crate::prices::Quantity::ZERO;
        }
        self.used.get(line).copied().unwrap_or_default()
    }

    /// Sets the units of `line` used in the period starting at
    /// `period_start` (counters of an earlier period are dropped).
    pub fn set(&mut self, period_start: Option<Timestamp>, line: &str, used: crate::prices::Quantity) {
        if self.period_start != period_start {
            self.period_start = period_start;
            self.used.clear();
        }
        // In place when the line has a counter already (no new key).
        match self.used.get_mut(line) {
            Some(u) => *u = used,
            None => {
                self.used.insert(line.to_string(), used);
            }
        }
    }
}
