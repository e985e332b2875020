//! The operations the ledger applies, and their payloads.
//!
//! It exists so that the one list of what can be done to an organisation's
//! credits ([`Op`]) is a leaf every layer can name — the server parses
//! requests into it, the store batches it, the rule files carry it out —
//! without importing a rule file. Which function carries out each variant
//! is the table in `OPERATIONS.md` (and [`OrgState::apply`]'s dispatch).
//!
//! [`OrgState::apply`]: crate::OrgState::apply

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::event::{EventCtx, EventKind, Pool, Status};
use crate::money::Micros;
use crate::state::{CapSubject, Plan};

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
    pub(crate) fn event_kind(self) -> EventKind {
        match self {
            CreditKind::Grant => EventKind::Grant,
            CreditKind::SubscriptionCredit => EventKind::SubscriptionCredit,
            CreditKind::Voucher => EventKind::Voucher,
            CreditKind::Purchase => EventKind::Purchase,
        }
    }

    pub(crate) fn default_pool(self) -> Pool {
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
    pub fn name(&self) -> &'static str {
        match self {
            AccessOp::SetSettings(_) => "set_settings",
            AccessOp::SetCap { .. } => "set_cap",
        }
    }

    /// Its free-text fields, for engines that must vet text (NUL bytes).
    pub fn texts(&self) -> Vec<&str> {
        match self {
            AccessOp::SetSettings(p) => p.name.iter().chain(p.time_zone.iter()).map(String::as_str).collect(),
            AccessOp::SetCap { subject: CapSubject::Member(s) | CapSubject::Key(s), .. } => vec![s.as_str()],
        }
    }
}

/// Organisation settings to change; `None` keeps the current value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// An IANA zone name, such as Europe/Madrid.
    pub time_zone: Option<String>,
    /// Each pool exactly once.
    #[schema(min_items = 4, max_items = 4)]
    pub consumption_order: Option<Vec<Pool>>,
    pub expiring_first: Option<bool>,
    #[schema(value_type = Option<crate::money::Amount>)]
    pub overdraft_limit: Option<Micros>,
    #[schema(minimum = 1, maximum = 28)]
    pub renewal_day: Option<u8>,
}

impl SettingsPatch {
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
        plan: Plan,
        effective: Option<Effective>,
        renewal_day: Option<u8>,
    },
    /// An identity started a conversation (counted against its monthly limit).
    Conversation {
        identity: String,
        campaign: Option<String>,
        started_at: Option<Timestamp>,
    },
    SetLowBalanceThreshold {
        threshold: Option<Micros>,
    },
}

impl PlanOp {
    pub fn name(&self) -> &'static str {
        match self {
            PlanOp::SetPlan { .. } => "set_plan",
            PlanOp::Conversation { .. } => "conversation",
            PlanOp::SetLowBalanceThreshold { .. } => "set_low_balance_threshold",
        }
    }

    /// Every free-text field, for engines that must vet text (NUL bytes).
    pub fn texts(&self) -> Vec<&str> {
        match self {
            PlanOp::SetPlan { plan, .. } => vec![&plan.name, &plan.currency],
            PlanOp::Conversation { identity, campaign, .. } => {
                let mut v = vec![identity.as_str()];
                v.extend(campaign.as_deref());
                v
            }
            PlanOp::SetLowBalanceThreshold { .. } => Vec::new(),
        }
    }
}
