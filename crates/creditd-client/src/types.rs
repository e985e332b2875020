//! Request bodies and answers of the ledger's operations.
//!
//! Where the server answers with a creditd-core type (events, balances,
//! records, caps, settings) the client decodes into that same type, so
//! amounts are [`Micros`] end to end: sent as exact decimal numbers, read
//! without passing through a float. The bodies here are the document's
//! request schemas (`CreditRequest`, `HoldRequest`, …); fields left `None`
//! are not sent and take the server's default.

use creditd_core::{Balance, CapView, CreditKind, Event, Micros, Pool, PoolBalances, Record, ReversalPolicy, Status};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Who and what an operation is about; copied onto its events (the
/// document's `source` … `metadata` fields every write takes). Each text is
/// at most 1024 bytes; `metadata` is free JSON within the server's limits.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Context {
    /// Where the operation came from (your own label).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The service that consumed the credits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// What was done with them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    /// Your project id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// The project's display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    /// The user's display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The user's email (whose cap applies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    /// Free JSON kept with the events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

/// `createOrganization`'s body.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NewOrganization {
    /// 1–64 of `A-Z a-z 0-9 . _ -`; default a generated `org_…` id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// For people, 1–200 characters.
    pub name: String,
    /// An IANA zone; default UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Each pool exactly once; default plan, voucher, promotional, prepaid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumption_order: Option<Vec<Pool>>,
    /// Default true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiring_first: Option<bool>,
    /// Default 0: no overdraft.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdraft_limit: Option<Micros>,
    /// 1–28, default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_day: Option<u8>,
}

/// `updateOrganization`'s body: only the fields given change.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OrganizationPatch {
    /// A new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new zone (not while there is a plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// A new consumption order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumption_order: Option<Vec<Pool>>,
    /// Soonest-expiring first or not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiring_first: Option<bool>,
    /// A new overdraft limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdraft_limit: Option<Micros>,
    /// A new renewal day (not while there is a plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_day: Option<u8>,
    /// The price book the org's priced operations use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_book: Option<String>,
    /// What a reversed purchase's spent credits become (`debt` or `write_off`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reversal_policy: Option<ReversalPolicy>,
    /// Buy more: the amounts offered (`[]` stops offering it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buy_more_amounts: Option<Vec<Micros>>,
    /// Buy more: the checkout URL template (`""` removes it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout_url_template: Option<String>,
    /// Change plan: applied at once (true) or sent to the operator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_service_plan_change: Option<bool>,
    /// How the dashboard writes numbers, money and dates (`en-US`, `en-GB`,
    /// `es-ES`, `de-DE`, `fr-FR`, `it-IT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The parent organisation: `Some(Some(id))` sets it, `Some(None)`
    /// clears it (sent as `null`); changed on its own, not with other fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Option<String>>,
}

/// An organisation and its settings (`OrgInfo`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Organization {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its IANA zone.
    pub time_zone: String,
    /// Pools in the order they are consumed.
    pub consumption_order: Vec<Pool>,
    /// Soonest-expiring blocks first.
    pub expiring_first: bool,
    /// How far below zero available credits may go.
    pub overdraft_limit: Micros,
    /// Day of the month a plan period starts.
    pub renewal_day: u8,
    /// The low-balance alert level, if any.
    #[serde(default)]
    pub low_balance_threshold: Option<Micros>,
    /// The org's own price book, over its plan's.
    #[serde(default)]
    pub price_book: Option<String>,
    /// Buy more: the amounts offered (none: not offered).
    #[serde(default)]
    pub buy_more_amounts: Vec<Micros>,
    /// Buy more: the checkout URL template, if any.
    #[serde(default)]
    pub checkout_url_template: Option<String>,
    /// Change plan: applied at once when true.
    #[serde(default)]
    pub self_service_plan_change: bool,
    /// How the dashboard writes numbers, money and dates (absent: `en-US`).
    #[serde(default = "default_locale")]
    pub locale: String,
    /// When it was created.
    pub created_at: Timestamp,
}

/// `grantCredits`' body: a grant, purchase, voucher or subscription credit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Credit {
    /// Which kind of credit.
    pub kind: CreditKind,
    /// Credits to add (positive).
    pub amount: Micros,
    /// The pool, over the kind's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<Pool>,
    /// A purchase's status (`processing` waits for `settlePurchase`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// A voucher's code or a credit's reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// When the block lapses; never by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Who and what.
    #[serde(flatten)]
    pub ctx: Context,
}

impl Credit {
    /// A credit of `kind` for `amount`, every other field defaulted.
    pub fn new(kind: CreditKind, amount: Micros) -> Credit {
        Credit { kind, amount, pool: None, status: None, code: None, expires_at: None, ctx: Context::default() }
    }

    /// A grant (promotional credits) of `amount`.
    pub fn grant(amount: Micros) -> Credit {
        Credit::new(CreditKind::Grant, amount)
    }
}

/// `createHold`'s body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewHold {
    /// Credits to reserve.
    pub amount: Micros,
    /// 1 s – 7 days; default 1 hour.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// Who and what.
    #[serde(flatten)]
    pub ctx: Context,
}

impl NewHold {
    /// A hold of `amount` with the default timeout.
    pub fn new(amount: Micros) -> NewHold {
        NewHold { amount, timeout_seconds: None, ctx: Context::default() }
    }
}

/// `debitHold`'s body.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Debit {
    /// What to capture; default the whole hold. The rest is released.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Micros>,
    /// Who and what.
    #[serde(flatten)]
    pub ctx: Context,
}

/// `extendHold`'s body: `amount` (a plain hold) or `quantity` (a priced
/// one), and/or a later `timeout_seconds`; at least one.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HoldExtension {
    /// Credits added to a plain hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Micros>,
    /// Units added to a priced hold's estimate (a decimal, at most 6
    /// places), priced with the hold's own price and version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Micros>,
    /// The new timeout in seconds from now (at most 7 days), after the
    /// current one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// Who and what.
    #[serde(flatten)]
    pub ctx: Context,
}

/// `checkBeforeActing`'s body: an `amount`, or a `price` and `quantity`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CheckRequest {
    /// Credits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Micros>,
    /// A price of the organisation's book (instead of `amount`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    /// With `price`: the units (a decimal, at most 6 places).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Micros>,
    /// With `price`: selects the price's line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<std::collections::BTreeMap<String, String>>,
    /// Check as this stored key would act (owners, admins, service keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Who and what (`user_email`: check for that member).
    #[serde(flatten)]
    pub ctx: Context,
}

/// `releaseHold`'s body (and `settlePurchase`'s context).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Release {
    /// Who and what.
    #[serde(flatten)]
    pub ctx: Context,
}

/// `recordUsage`'s body (and `recordBilling`'s).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Usage {
    /// Credits consumed.
    pub amount: Micros,
    /// Who and what.
    #[serde(flatten)]
    pub ctx: Context,
}

impl Usage {
    /// A usage of `amount`.
    pub fn new(amount: Micros) -> Usage {
        Usage { amount, ctx: Context::default() }
    }
}

/// `refundUsage`'s body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Refund {
    /// The debited hold or the usage to refund.
    pub refers_to: String,
    /// How much; default all that is still refundable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Micros>,
    /// Who and what.
    #[serde(flatten)]
    pub ctx: Context,
}

impl Refund {
    /// Refunds everything still refundable of `refers_to`.
    pub fn all_of(refers_to: impl Into<String>) -> Refund {
        Refund { refers_to: refers_to.into(), amount: None, ctx: Context::default() }
    }
}

/// `adjustCredits`' body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Adjustment {
    /// Signed: up adds a block, down is drawn like usage.
    pub amount: Micros,
    /// Why (1–1024 characters), kept in the event's metadata.
    pub reason: String,
    /// The pool an upward adjustment goes to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<Pool>,
    /// When an upward adjustment's block lapses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Who and what.
    #[serde(flatten)]
    pub ctx: Context,
}

impl Adjustment {
    /// An adjustment of `amount` for `reason`.
    pub fn new(amount: Micros, reason: impl Into<String>) -> Adjustment {
        Adjustment { amount, reason: reason.into(), pool: None, expires_at: None, ctx: Context::default() }
    }
}

/// `settlePurchase`'s body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Settlement {
    /// `succeeded` (adds the credits) or `failed`.
    pub status: Status,
    /// Who and what.
    #[serde(flatten)]
    pub ctx: Context,
}

/// `reversePurchase`'s body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reversal {
    /// Why (a refund, a chargeback and its case number), 1 to 1,024 characters.
    pub reason: String,
    /// Who and what.
    #[serde(flatten)]
    pub ctx: Context,
}

impl Reversal {
    /// A reversal for `reason`.
    pub fn because(reason: impl Into<String>) -> Reversal {
        Reversal { reason: reason.into(), ctx: Context::default() }
    }
}

/// `createTransfer`'s body: credits to a parent, child or sibling.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewTransfer {
    /// The receiving organisation.
    pub to: String,
    /// How much, above zero.
    pub amount: Micros,
    /// Why, kept on both events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `createTransfer`'s answer: both halves and the sender's balance.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Transfer {
    /// The transfer's id (`trf_<seq>`), on both events.
    pub transfer_id: String,
    /// The sending organisation.
    pub from: String,
    /// The receiving organisation.
    pub to: String,
    /// How much moved.
    pub amount: Micros,
    /// The `transfer_out` event on the sender.
    pub sent: Event,
    /// The `transfer_in` event on the receiver.
    pub received: Event,
    /// Both events.
    pub events: Vec<Event>,
    /// The sender's balance after.
    pub balance: Balance,
}

/// What every ledger write answers: the events it made, the balance after,
/// and the hold, usage or purchase it made or changed.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct WriteResult {
    /// The events, in order.
    pub events: Vec<Event>,
    /// The balance after them.
    pub balance: Balance,
    /// The hold made or settled.
    #[serde(default)]
    pub hold: Option<Record>,
    /// The usage recorded or refunded.
    #[serde(default)]
    pub usage: Option<Record>,
    /// The purchase made or settled.
    #[serde(default)]
    pub purchase: Option<Record>,
}

/// `getBalance`'s answer: the balance and the caps the caller may see.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct BalanceView {
    /// The organisation.
    pub org_id: String,
    /// Credits that can be spent now.
    pub available: Micros,
    /// Reserved by open holds.
    pub held: Micros,
    /// Per pool.
    pub pools: PoolBalances,
    /// Credits consumed beyond the blocks.
    pub overdraft_used: Micros,
    /// How far below zero available may go.
    pub overdraft_limit: Micros,
    /// Start of the current period.
    #[serde(default)]
    pub period_start: Option<Timestamp>,
    /// End of the current period (exclusive).
    #[serde(default)]
    pub period_end: Option<Timestamp>,
    /// Consumed this period.
    pub period_usage: Micros,
    /// Sequence number of the last event.
    pub seq: u64,
    /// Caps with their use.
    pub caps: Vec<CapView>,
}

/// One page of credit history (`fields=all`, which the client always asks).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Page {
    /// The events, newest first (or as ordered).
    pub events: Vec<Event>,
    /// The page size used.
    pub limit: u32,
    /// Pass as `cursor` for the next page; none on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
    /// The offset, when paged by offset.
    #[serde(default)]
    pub offset: Option<u64>,
}

/// `getHealth` and `getReadiness`' answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Health {
    /// `ok` when all is well.
    pub status: String,
}

/// `recordBilling`'s body: an invoice or charge record.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Billing {
    /// Default 0 (only the event is written); negative is drawn like usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Micros>,
    /// Who and what.
    #[serde(flatten)]
    pub ctx: Context,
}

fn default_locale() -> String {
    "en-US".to_string()
}
