//! The operations the ledger applies, and their payloads.
//!
//! It exists so that the one list of what can be done to an organisation's
//! credits ([`Op`]) is a leaf every layer can name — the server parses
//! requests into it, the store batches it, the rule files carry it out —
//! without importing a rule file. Which function carries out each variant
//! is the table in ARCHITECTURE.md, "Operations and their rules" (and [`OrgState::apply`]'s dispatch).
//!
//! [`OrgState::apply`]: crate::OrgState::apply

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::event::{EventCtx, EventKind, Pool, Status};
use crate::money::Micros;
use crate::money_in::{AlertLevel, AutoTopUpRule};
use crate::prices::{PriceRequest, Quantity};
use crate::state::{CapSubject, Draw, Plan, ReversalPolicy};

/// An operation on one organisation's credits: what a request (or the
/// timer) asks the ledger to do. [`OrgState::apply`](crate::OrgState::apply)
/// carries it out with the one function named on each variant (and in
/// ARCHITECTURE.md, "Operations and their rules"). Amounts are micro-credits ([`Micros`]); times are UTC
/// instants.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Adds credits: a grant, a subscription credit, a voucher or a
    /// purchase (`OrgState::credit`).
    Credit(CreditOp),
    /// Settles a `processing` purchase as `succeeded` (its prepaid block is
    /// added) or `failed` (nothing is added), once
    /// (`OrgState::settle_purchase`).
    SettlePurchase {
        /// The purchase record (`pur_<seq>`) a processing credit created.
        purchase_id: String,
        /// `succeeded` or `failed`; `processing` is refused.
        status: Status,
        /// Fields of the settle event; unset ones come from the purchase.
        ctx: EventCtx,
    },
    /// Takes back a succeeded purchase (a refund or chargeback at the
    /// payment provider), once (`OrgState::reverse_purchase`).
    ReversePurchase {
        /// The purchase record (`pur_<seq>`).
        purchase_id: String,
        /// Why, 1 to 1,024 characters; kept in the event's metadata.
        reason: String,
        /// Fields of the reversal event; unset ones come from the purchase.
        ctx: EventCtx,
    },
    /// Reserves credits for a later debit or release (`OrgState::hold`).
    Hold(HoldOp),
    /// Posts an open hold: consumes all or part of it and releases the
    /// rest (`OrgState::debit`).
    Debit {
        /// The hold (`hold_<seq>`).
        hold_id: String,
        /// Micro-credits to consume, at most the amount held; `None`: all.
        amount: Option<Micros>,
        /// Fields of the debit event; unset ones come from the hold.
        ctx: EventCtx,
    },
    /// Grows an open hold by more credits and/or gives it a later timeout
    /// (`OrgState::extend_hold`).
    ExtendHold(ExtendOp),
    /// Voids an open hold: every credit goes back (`OrgState::release`).
    Release {
        /// The hold (`hold_<seq>`).
        hold_id: String,
        /// Fields of the release event; unset ones come from the hold.
        ctx: EventCtx,
    },
    /// Consumes credits at once, without a hold (`OrgState::usage`).
    Usage {
        /// Micro-credits to consume; positive.
        amount: Micros,
        /// Who, what and why, kept on the usage event and record.
        ctx: EventCtx,
    },
    /// Gives back credits a usage or a debited hold consumed
    /// (`OrgState::refund`).
    Refund {
        /// The usage (`use_<seq>`) or debited hold (`hold_<seq>`).
        refers_to: String,
        /// Micro-credits to give back, at most what is still refundable;
        /// `None`: all of it.
        amount: Option<Micros>,
        /// Fields of the refund event; unset ones come from the target.
        ctx: EventCtx,
    },
    /// A manual correction, up (a new block) or down (drawn like usage but
    /// not counted as usage) (`OrgState::adjustment`).
    Adjustment {
        /// Micro-credits to add (positive) or take (negative); never zero.
        amount: Micros,
        /// Why, 1 to 1,024 characters; kept in the event's metadata.
        reason: String,
        /// Positive adjustments only: the pool of the new block (default
        /// promotional).
        pool: Option<Pool>,
        /// Positive adjustments only: when the new block lapses (future).
        expires_at: Option<Timestamp>,
        /// Who, what and why; the description defaults to the reason.
        ctx: EventCtx,
    },
    /// Records an invoice or charge (`OrgState::billing`).
    Billing {
        /// Zero (the event only) or negative (drawn like usage, not counted
        /// as usage); positive is refused.
        amount: Micros,
        /// What the invoice or charge was.
        ctx: EventCtx,
    },
    /// The timer's release of a hold whose time is up; nothing if it was
    /// settled meanwhile (`OrgState::timeout_hold`).
    TimeoutHold {
        /// The hold (`hold_<seq>`).
        hold_id: String,
    },
    /// The scheduler's tick: blocks past their expiry lapse
    /// (`OrgState::expire_due`).
    ExpireDue,
    /// Plans, conversations and the low-balance threshold (see `plans`).
    Plans(PlanOp),
    /// Settings and spending caps (see `access`).
    Access(AccessOp),
    /// One half of a transfer between related organisations (see
    /// `transfers`: `transfers::transfer` applies both halves or neither).
    Transfer(TransferOp),
    /// A hold, usage or debit named by a price and a quantity instead of an
    /// amount: priced from the org's book (`OrgState::resolve_priced`,
    /// `pricing.rs`), then carried out as that plain operation.
    Priced(PricedOp),
}

/// The two halves of a transfer. A caller sends `Out`; `transfers::transfer`
/// applies it to the sender and then the `In` it derives to the receiver.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferOp {
    /// Sends credits to a parent, child or sibling: a `transfer_out` event
    /// (`OrgState::transfer_out`).
    Out {
        /// The receiving organisation.
        to: String,
        /// Micro-credits to move; positive, at most what is available.
        amount: Micros,
        /// Who and why, kept on both events.
        ctx: EventCtx,
    },
    /// Receives what a `transfer_out` took, block by block (pool and expiry
    /// kept): a `transfer_in` event (`OrgState::transfer_in`). Made only by
    /// `transfers::transfer`.
    In {
        /// The sending organisation.
        from: String,
        /// The transfer's id (`trf_<seq>` of the `transfer_out` event).
        transfer_id: String,
        /// The parts taken from the sender's blocks, in its order.
        draws: Vec<Draw>,
        /// Who and why, as on the `transfer_out` event.
        ctx: EventCtx,
    },
}

/// The payload of [`Op::Priced`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PricedOp {
    /// Reserves what `price` costs for its estimated quantity.
    Hold {
        /// The price, quantity and dimensions.
        price: PriceRequest,
        /// As [`HoldOp::timeout_seconds`].
        timeout_seconds: Option<u64>,
        /// Who, what and why; service and activity default to the price's.
        ctx: EventCtx,
    },
    /// Consumes what `price` costs for its quantity at once.
    Usage {
        /// The price, quantity and dimensions.
        price: PriceRequest,
        /// Who, what and why; service and activity default to the price's.
        ctx: EventCtx,
    },
    /// Grows a priced hold by more estimated units, priced with the hold's
    /// price line and version (and/or a later timeout).
    Extend {
        /// The hold (`hold_<seq>`), priced when it was made.
        hold_id: String,
        /// The units added to the estimate; above zero.
        quantity: Quantity,
        /// As [`ExtendOp::timeout_seconds`].
        timeout_seconds: Option<u64>,
        /// Fields of the extension's event; unset ones come from the hold.
        ctx: EventCtx,
    },
    /// Posts a priced hold for the actual quantity (priced with the hold's
    /// price line and version); the rest is released.
    Debit {
        /// The hold (`hold_<seq>`), priced when it was made.
        hold_id: String,
        /// The actual quantity; `None`: the hold's estimate.
        quantity: Option<Quantity>,
        /// Fields of the debit event; unset ones come from the hold.
        ctx: EventCtx,
    },
}

impl TransferOp {
    /// Its free-text fields, for engines that must vet text (NUL bytes).
    pub fn texts(&self) -> Vec<&str> {
        let (org, ctx) = match self {
            TransferOp::Out { to, ctx, .. } => (to, ctx),
            TransferOp::In { from, ctx, .. } => (from, ctx),
        };
        let mut v = vec![org.as_str()];
        v.extend(
            [
                &ctx.source,
                &ctx.service,
                &ctx.activity,
                &ctx.project_id,
                &ctx.project_name,
                &ctx.user_name,
                &ctx.user_email,
                &ctx.description,
            ]
            .into_iter()
            .filter_map(|f| f.as_deref()),
        );
        v
    }
}

impl PricedOp {
    /// A short name for metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            PricedOp::Hold { .. } => "priced_hold",
            PricedOp::Usage { .. } => "priced_usage",
            PricedOp::Debit { .. } => "priced_debit",
            PricedOp::Extend { .. } => "priced_extend",
        }
    }

    /// The context the caller gave.
    pub fn ctx(&self) -> &EventCtx {
        match self {
            PricedOp::Hold { ctx, .. }
            | PricedOp::Usage { ctx, .. }
            | PricedOp::Debit { ctx, .. }
            | PricedOp::Extend { ctx, .. } => ctx,
        }
    }

    /// The context the caller gave, to change.
    pub fn ctx_mut(&mut self) -> &mut EventCtx {
        match self {
            PricedOp::Hold { ctx, .. }
            | PricedOp::Usage { ctx, .. }
            | PricedOp::Debit { ctx, .. }
            | PricedOp::Extend { ctx, .. } => ctx,
        }
    }
}

/// Which kind of credit an [`Op::Credit`] adds: it decides the event kind
/// and the default pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreditKind {
    /// Free credits given by the operator; promotional by default.
    Grant,
    /// A plan's credits for a period; plan pool by default.
    SubscriptionCredit,
    /// Credits from a redeemed voucher code; voucher pool by default.
    Voucher,
    /// Bought credits; always prepaid, and may wait for payment
    /// (`processing`).
    Purchase,
}

impl CreditKind {
    /// The kind of the event a credit of this kind writes.
    pub(crate) fn event_kind(self) -> EventKind {
        match self {
            CreditKind::Grant => EventKind::Grant,
            CreditKind::SubscriptionCredit => EventKind::SubscriptionCredit,
            CreditKind::Voucher => EventKind::Voucher,
            CreditKind::Purchase => EventKind::Purchase,
        }
    }

    /// The pool its block goes to when the operation names none.
    pub(crate) fn default_pool(self) -> Pool {
        match self {
            CreditKind::Grant => Pool::Promotional,
            CreditKind::SubscriptionCredit => Pool::Plan,
            CreditKind::Voucher => Pool::Voucher,
            CreditKind::Purchase => Pool::Prepaid,
        }
    }
}

/// The payload of [`Op::Credit`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CreditOp {
    /// Grant, subscription credit, voucher or purchase.
    pub kind: CreditKind,
    /// Micro-credits to add; positive.
    pub amount: Micros,
    /// The pool of the new block; `None`: the kind's default. A purchase
    /// can only be prepaid.
    pub pool: Option<Pool>,
    /// When the block lapses (a future instant); `None`: never.
    pub expires_at: Option<Timestamp>,
    /// Voucher code (required for a voucher) or other reference, at most
    /// 200 characters, kept on the event.
    pub code: Option<String>,
    /// Purchases only: `processing` waits for a settle, default `succeeded`.
    pub status: Option<Status>,
    /// Who, what and why, kept on the event.
    pub ctx: EventCtx,
}

/// The payload of [`Op::Hold`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HoldOp {
    /// Micro-credits to reserve; positive.
    pub amount: Micros,
    /// Seconds until the timer releases the hold: 1 to
    /// [`MAX_HOLD_TIMEOUT_SECONDS`](crate::ledger::MAX_HOLD_TIMEOUT_SECONDS)
    /// (7 days); `None`: [`DEFAULT_HOLD_TIMEOUT_SECONDS`](crate::ledger::DEFAULT_HOLD_TIMEOUT_SECONDS) (1 h).
    pub timeout_seconds: Option<u64>,
    /// Who, what and why; the debit, release or refund inherit what they
    /// leave unset.
    pub ctx: EventCtx,
}

/// The payload of [`Op::ExtendHold`]: at least one of `amount` and
/// `timeout_seconds`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExtendOp {
    /// The open hold (`hold_<seq>`).
    pub hold_id: String,
    /// Micro-credits added to the hold; positive. `None`: only the timeout.
    pub amount: Option<Micros>,
    /// The hold's new timeout, in seconds from now (1 to 7 days); it must
    /// end after the current one. `None`: the timeout stays.
    pub timeout_seconds: Option<u64>,
    /// Fields of the extension's event; unset ones come from the hold.
    pub ctx: EventCtx,
}

impl Op {
    /// The record (hold, usage, purchase) this operation needs loaded.
    pub fn record_ref(&self) -> Option<&str> {
        match self {
            Op::SettlePurchase { purchase_id, .. } | Op::ReversePurchase { purchase_id, .. } => Some(purchase_id),
            Op::Debit { hold_id, .. } | Op::Release { hold_id, .. } | Op::TimeoutHold { hold_id } => Some(hold_id),
            Op::Refund { refers_to, .. } => Some(refers_to),
            Op::Priced(PricedOp::Debit { hold_id, .. } | PricedOp::Extend { hold_id, .. }) => Some(hold_id),
            Op::ExtendHold(e) => Some(&e.hold_id),
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
            Op::ReversePurchase { .. } => "reverse_purchase",
            Op::Hold(_) => "hold",
            Op::Debit { .. } => "debit",
            Op::Release { .. } => "release",
            Op::ExtendHold(_) => "extend_hold",
            Op::Usage { .. } => "usage",
            Op::Refund { .. } => "refund",
            Op::Adjustment { .. } => "adjustment",
            Op::Billing { .. } => "billing",
            Op::TimeoutHold { .. } => "timeout_hold",
            Op::ExpireDue => "expire_due",
            Op::Plans(p) => p.name(),
            Op::Access(a) => a.name(),
            Op::Priced(p) => p.name(),
            Op::Transfer(TransferOp::Out { .. }) => "transfer_out",
            Op::Transfer(TransferOp::In { .. }) => "transfer_in",
        }
    }

    /// The other organisation a transfer writes to (its receiver): an
    /// engine loads and locks it with the command's own org.
    pub fn other_org(&self) -> Option<&str> {
        match self {
            Op::Transfer(TransferOp::Out { to, .. }) => Some(to.as_str()),
            _ => None,
        }
    }
}

/// Operations on who may spend what, and on the org's settings. None of
/// them writes a credit event; they change the org's state.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessOp {
    /// Changes the settings named; the others stay.
    SetSettings(SettingsPatch),
    /// Sets (or, with `None`, removes) a subject's credit limit per period.
    SetCap {
        /// Whose spending is limited.
        subject: CapSubject,
        /// Credits per period; `None` removes the cap.
        limit: Option<Micros>,
    },
}

impl AccessOp {
    /// A short name for metrics and logs (`set_settings`, `set_cap`).
    pub fn name(&self) -> &'static str {
        match self {
            AccessOp::SetSettings(_) => "set_settings",
            AccessOp::SetCap { .. } => "set_cap",
        }
    }

    /// Its free-text fields, for engines that must vet text (NUL bytes).
    pub fn texts(&self) -> Vec<&str> {
        match self {
            AccessOp::SetSettings(p) => {
                p.name.iter().chain(p.time_zone.iter()).chain(p.price_book.iter()).map(String::as_str).collect()
            }
            AccessOp::SetCap {
                subject: CapSubject::Member(s) | CapSubject::Key(s) | CapSubject::Project(s), ..
            } => {
                vec![s.as_str()]
            }
        }
    }
}

/// Organisation settings to change; `None` keeps the current value. The
/// result must pass [`OrgSettings::validate`](crate::OrgSettings::validate).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// The organisation's display name, 1 to 200 characters (trimmed).
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// An IANA zone name, such as Europe/Madrid. Cannot change while the
    /// organisation has a plan.
    pub time_zone: Option<String>,
    /// Each pool exactly once.
    #[schema(min_items = 4, max_items = 4)]
    pub consumption_order: Option<Vec<Pool>>,
    /// Whether blocks that expire soonest are consumed first, before the
    /// pool order.
    pub expiring_first: Option<bool>,
    /// How far below zero available credits may go (micro-credits; an
    /// exact decimal of credits on the wire); not negative, and not below
    /// the overdraft already in use.
    #[schema(value_type = Option<crate::money::Amount>)]
    pub overdraft_limit: Option<Micros>,
    /// Day of the month (1–28) periods start. Cannot change while the
    /// organisation has a plan.
    #[schema(minimum = 1, maximum = 28)]
    pub renewal_day: Option<u8>,
    /// The price book this organisation's priced operations use, over its
    /// plan's; `""` removes the override (the plan's book applies again).
    pub price_book: Option<String>,
    /// What a reversed purchase's already spent credits become: `debt`
    /// (the default) or `write_off`.
    pub reversal_policy: Option<ReversalPolicy>,
    /// Buy more: the amounts an owner may choose (at most 10, each
    /// positive, none twice); `[]` stops offering Buy more.
    #[schema(value_type = Option<Vec<crate::money::Amount>>)]
    pub buy_more_amounts: Option<Vec<Micros>>,
    /// Buy more: the checkout URL template (`https://`, with
    /// `{purchase_id}` and `{signature}`; `{amount}` and `{org_id}`
    /// allowed); `""` removes it.
    pub checkout_url_template: Option<String>,
    /// Change plan: apply an owner's choice of a catalogue plan at once
    /// (true) or send it as a `plan_change.requested` webhook (false).
    pub self_service_plan_change: Option<bool>,
    /// How the dashboard writes numbers, money and dates: `en-US` (the
    /// default), `en-GB`, `es-ES`, `de-DE`, `fr-FR` or `it-IT` (any case,
    /// `_` for `-`; stored as the tag).
    pub locale: Option<String>,
    /// Whose balance holds and usage draw on: `own` or `parent` (own
    /// credits first, then the parent's; the org must have a parent that
    /// does not itself draw on its parent; see [`crate::funding`]).
    pub funding: Option<crate::state::Funding>,
    /// With `funding: parent`, the most drawn from the parent per period
    /// (not negative); `null` removes the limit.
    #[serde(default, deserialize_with = "micros_or_null", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::money::Amount>)]
    pub funding_budget: Option<Option<Micros>>,
    /// The parent organisation (`null`: none, a root). Changed on its own,
    /// not with other settings: the server hands it to the store's tree
    /// check (`Store::set_parent`, rules in [`crate::tree`]); the ledger's
    /// `SetSettings` refuses it.
    #[serde(default, deserialize_with = "some_or_null", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<Option<String>>,
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn some_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// An amount that may be absent (`None`), `null` (`Some(None)`) or a value.
fn micros_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Micros>>, D::Error> {
    Option::<Micros>::deserialize(d).map(Some)
}

impl SettingsPatch {
    /// Names no setting at all (refused: nothing to change).
    pub fn is_empty(&self) -> bool {
        *self == SettingsPatch::default()
    }
}

/// Who did an operation, as the server authenticated them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The stored API key used, if any.
    pub key_id: Option<String>,
    /// The member acting (a member key or a session), lower case.
    pub member_email: Option<String>,
    /// A plain member: may debit or release only holds made in their name.
    pub own_holds_only: bool,
}

/// When a plan change takes effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Effective {
    /// At the next renewal (the default for a change).
    NextPeriod,
    /// At once, with the new plan's allocation (the default for a first
    /// subscription).
    Now,
}

/// Operations on plans, conversations and the low-balance alert.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanOp {
    /// Subscribe, or change the plan (from the next period, or now with the
    /// new allocation). `renewal_day` sets the anchor when subscribing.
    SetPlan {
        /// The plan (checked by [`Plan::validate`]).
        plan: Plan,
        /// When it takes effect; `None`: now for a first subscription,
        /// the next period for a change.
        effective: Option<Effective>,
        /// Day of the month (1–28) periods start; only when subscribing.
        renewal_day: Option<u8>,
    },
    /// An identity started a conversation (counted against its monthly limit).
    Conversation {
        /// Who started it (1 to 200 characters, trimmed): one of the plan's
        /// identities for the month.
        identity: String,
        /// The campaign it belongs to, for analytics (at most 200 characters).
        campaign: Option<String>,
        /// When it started: this month or the one before, at most
        /// [`MAX_START_SKEW_SECONDS`](crate::plans::MAX_START_SKEW_SECONDS)
        /// ahead of now; `None`: now.
        started_at: Option<Timestamp>,
    },
    /// Sets the available balance (micro-credits) below which a
    /// `low_balance` notification is recorded once.
    SetLowBalanceThreshold {
        /// Not negative; `None` removes the alert.
        threshold: Option<Micros>,
    },
    /// Sets the auto top-up rule (`OrgState::set_auto_top_up`, see `topup`).
    SetAutoTopUp(AutoTopUpRule),
    /// Replaces the usage alert levels (`OrgState::set_alerts`, see `alerts`).
    SetAlerts(Vec<AlertLevel>),
    /// Buy more: a `processing` purchase of one of the amounts the
    /// organisation is offered (`OrgState::buy_more`); the operator's
    /// backend charges and settles it.
    BuyMore {
        /// One of `OrgSettings::buy_more_amounts`.
        amount: Micros,
        /// Who asked (a member's email or a key's name), kept in the
        /// purchase event's metadata and told in the `top_up.requested`
        /// webhook.
        requested_by: Option<String>,
    },
}

impl PlanOp {
    /// A short name for metrics and logs (`set_plan`, `conversation`,
    /// `set_low_balance_threshold`).
    pub fn name(&self) -> &'static str {
        match self {
            PlanOp::SetPlan { .. } => "set_plan",
            PlanOp::Conversation { .. } => "conversation",
            PlanOp::SetLowBalanceThreshold { .. } => "set_low_balance_threshold",
            PlanOp::SetAutoTopUp(_) => "set_auto_top_up",
            PlanOp::SetAlerts(_) => "set_alerts",
            PlanOp::BuyMore { .. } => "buy_more",
        }
    }

    /// Every free-text field, for engines that must vet text (NUL bytes).
    pub fn texts(&self) -> Vec<&str> {
        match self {
            PlanOp::SetPlan { plan, .. } => {
                let mut v = vec![plan.name.as_str(), plan.currency.as_str()];
                v.extend(plan.price_book.as_deref());
                v
            }
            PlanOp::Conversation { identity, campaign, .. } => {
                let mut v = vec![identity.as_str()];
                v.extend(campaign.as_deref());
                v
            }
            PlanOp::SetLowBalanceThreshold { .. } | PlanOp::SetAutoTopUp(_) | PlanOp::SetAlerts(_) => Vec::new(),
            PlanOp::BuyMore { requested_by, .. } => requested_by.as_deref().into_iter().collect(),
        }
    }
}
