//! The immutable event: what every change to an organisation's credits leaves
//! behind, with the balances right after it.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::money::Micros;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[derive(utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// Every value, in the order declared.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value's stable name (stored, answered, exported).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $($text $(| $alias)* => Ok($name::$variant),)+
                    _ => Err(UnknownName {
                        what: stringify!($name),
                        got: s.to_string(),
                        expected: vec![$($text),+].join(", "),
                    }),
                }
            }
        }
    };
}

/// A name that is not one of an enumeration's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {got:?}; expected one of: {expected}")]
pub struct UnknownName {
    /// The enumeration (`EventKind`, `Pool`, `Status`).
    pub what: &'static str,
    /// The name given.
    pub got: String,
    /// The names accepted, comma-separated.
    pub expected: String,
}

string_enum! {
    /// What happened. Seed aliases (`prepaid_purchase`, `reservation`,
    /// `reservation_released`) are accepted when parsing.
    EventKind {
        /// Free credits added by the operator (a new block).
        Grant = "grant",
        /// Credits bought: a prepaid block once `succeeded`; `processing` and
        /// `failed` move no balance.
        Purchase = "purchase" | "prepaid_purchase" | "top_up",
        /// A plan's credits for a period (a plan block expiring at its end).
        SubscriptionCredit = "subscription_credit",
        /// Credits from a voucher code (a new block).
        Voucher = "voucher",
        /// Credits reserved: out of available, into held.
        Hold = "hold" | "reservation",
        /// Held credits consumed for good: out of held.
        Debit = "debit",
        /// Held credits given back to available (a release, a timeout, or
        /// the rest of a partial debit).
        Release = "release" | "reservation_released",
        /// Credits consumed at once, without a hold.
        Usage = "usage" | "charged",
        /// Consumed credits given back to the blocks they came from.
        Refund = "refund",
        /// A manual correction, up or down.
        Adjustment = "adjustment",
        /// A block's credits lapsed at its expiry (or at a period's end).
        Expiry = "expiry",
        /// An invoice or charge: zero, or credits drawn without counting as
        /// usage.
        Billing = "billing",
        /// Credits sent to a parent, child or sibling organisation, taken
        /// from the blocks in consumption order (`hold_id`: the transfer
        /// id; `code`: the receiving org).
        TransferOut = "transfer_out",
        /// Credits received from a parent, child or sibling organisation,
        /// as blocks with the sender's pools and expiries (`hold_id`: the
        /// transfer id; `code`: the sending org).
        TransferIn = "transfer_in",
        /// A succeeded purchase taken back (refund or chargeback at the
        /// payment provider): its unspent credits leave its block, and what
        /// was spent becomes debt or is written off (see `reversal`).
        Reversal = "reversal",
    }
}

string_enum! {
    /// A balance type: where credits live.
    Pool {
        /// A plan's credits for a period; they lapse at its end unless the
        /// rollover policy carries them over.
        Plan = "plan",
        /// Purchased credits ("add-ons").
        Prepaid = "prepaid" | "top_up" | "add_on",
        /// Credits from voucher codes.
        Voucher = "voucher",
        /// Granted credits and positive adjustments.
        Promotional = "promotional",
    }
}

string_enum! {
    /// The state of the transaction behind an event (FPT: Success, Processed, Failed).
    Status {
        /// Done; every event but a pending or failed purchase.
        Succeeded = "succeeded" | "success",
        /// A purchase waiting for its payment; moves no balance.
        Processing = "processing" | "processed",
        /// A purchase whose payment failed; moves no balance.
        Failed = "failed",
    }
}

impl EventKind {
    /// The kinds that are consumption ("credits used"): debits and usage
    /// consume (their amounts are negative), refunds give consumption back.
    /// Holds and releases are not consumption: a hold counts once, when
    /// (and as far as) it is debited. The one definition; the forecast, the
    /// usage rollups and their SQL all follow it.
    pub const CONSUMING: [EventKind; 3] = [EventKind::Debit, EventKind::Usage, EventKind::Refund];

    /// For a consuming kind, the consuming operations one event counts (1
    /// for a debit or a usage, 0 for a refund); `None` for any other kind.
    /// An event's credits consumed are then `-amount`.
    pub fn consumption_count(self) -> Option<i64> {
        match self {
            EventKind::Debit | EventKind::Usage => Some(1),
            EventKind::Refund => Some(0),
            _ => None,
        }
    }

    /// The word shown in reports (Genira's Kind column).
    pub fn title(self) -> &'static str {
        match self {
            EventKind::Grant => "Grant",
            EventKind::Purchase => "Purchase",
            EventKind::SubscriptionCredit => "Subscription credit",
            EventKind::Voucher => "Voucher",
            EventKind::Hold => "Hold",
            EventKind::Debit => "Debit",
            EventKind::Release => "Release",
            EventKind::Usage => "Usage",
            EventKind::Refund => "Refund",
            EventKind::Adjustment => "Adjustment",
            EventKind::Expiry => "Expiry",
            EventKind::Billing => "Billing",
            EventKind::TransferOut => "Transfer out",
            EventKind::TransferIn => "Transfer in",
            EventKind::Reversal => "Reversal",
        }
    }
}

impl Pool {
    /// The default consumption order: free before paid.
    pub const DEFAULT_ORDER: [Pool; 4] = [Pool::Plan, Pool::Voucher, Pool::Promotional, Pool::Prepaid];
}

/// Who and what an operation is about; copied onto its events.
///
/// Every text field is at most [`MAX_TEXT_LEN`](crate::input::MAX_TEXT_LEN)
/// bytes with no NUL; `metadata` is bounded by the limits in
/// [`input`](crate::input).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventCtx {
    /// Where the operation came from: the caller's own label, or
    /// `system`, `timeout` and `plan` on the ledger's own events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The service that consumed the credits (a usage dimension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// What was done with them (the report's action column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    /// The caller's project id (a usage dimension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// The project's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    /// The user's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The user's email (must contain `@`): a usage dimension, and whose
    /// cap applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    /// Free text shown in the history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Free JSON kept with the event (stored with sorted keys in the hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

impl EventCtx {
    /// The context an event was written with (its who-and-what fields and
    /// metadata), as rebuilt when a record is read back from its events.
    pub fn of(e: &Event) -> EventCtx {
        EventCtx {
            source: e.source.clone(),
            service: e.service.clone(),
            activity: e.activity.clone(),
            project_id: e.project_id.clone(),
            project_name: e.project_name.clone(),
            user_name: e.user_name.clone(),
            user_email: e.user_email.clone(),
            description: e.description.clone(),
            metadata: e.metadata.clone(),
        }
    }
}

/// One immutable entry of an organisation's credit history.
///
/// `amount` is the signed change the event makes: for grants, purchases,
/// vouchers, subscription credits, releases, refunds and positive adjustments
/// it is what was added to available credits; for holds, usage, expiry and
/// negative adjustments what left them; for a debit it is the held credits
/// consumed (available does not move). A purchase that is `processing` or
/// `failed` carries its amount but moves no balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// `evt_<seq>` ([`Event::id_for`]).
    pub id: String,
    /// The organisation.
    pub org_id: String,
    /// Per-org sequence number: from 1, no gaps.
    pub seq: u64,
    /// When it was written (UTC); never before the org's previous event.
    pub created_at: Timestamp,
    /// What happened.
    pub kind: EventKind,
    /// The signed change in micro-credits (see above).
    pub amount: Micros,
    /// The pool most of the credits came from or went to; `None` when
    /// none did (an overdraft draw, a zero billing).
    pub pool: Option<Pool>,
    /// `succeeded`, except for a purchase that is pending or failed.
    pub status: Status,
    /// [`EventCtx::source`] of the operation.
    pub source: Option<String>,
    /// [`EventCtx::service`] of the operation.
    pub service: Option<String>,
    /// [`EventCtx::activity`] of the operation.
    pub activity: Option<String>,
    /// [`EventCtx::project_id`] of the operation.
    pub project_id: Option<String>,
    /// [`EventCtx::project_name`] of the operation.
    pub project_name: Option<String>,
    /// [`EventCtx::user_name`] of the operation.
    pub user_name: Option<String>,
    /// [`EventCtx::user_email`] of the operation.
    pub user_email: Option<String>,
    /// [`EventCtx::description`] of the operation (or the ledger's own).
    pub description: Option<String>,
    /// A voucher's code or a credit's reference, if one was given.
    pub code: Option<String>,
    /// The hold, usage or purchase this event belongs to.
    pub hold_id: Option<String>,
    /// The caller's idempotency key, on the first own event of the
    /// operation that carried it (never on an expiry it caused).
    pub idempotency_key: Option<String>,
    /// Available micro-credits right after the event (negative in
    /// overdraft).
    pub balance_after: Micros,
    /// What the prepaid pool holds right after the event.
    pub prepaid_balance_after: Micros,
    /// Held micro-credits right after the event.
    pub held_after: Micros,
    /// Period usage right after the event.
    pub period_usage_after: Micros,
    /// [`EventCtx::metadata`] of the operation (an adjustment adds its
    /// `reason`).
    pub metadata: Option<serde_json::Value>,
    /// A priced hold, usage or debit: the price key, quantity, unit, unit
    /// price (or tier breakdown), book and version; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<crate::prices::Pricing>,
    /// What the plan, voucher and promotional pools hold right after the
    /// event (prepaid is `prepaid_balance_after`): the balance per pool as
    /// of any instant. Absent for events written before creditd recorded
    /// it and for imported ones (a file does not carry it). Not part of the
    /// hash chain: it follows from the ledger's blocks, which `verify`
    /// recomputes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pools_after: Option<FreePools>,
}

/// The plan, voucher and promotional pools right after an event, in
/// micro-credits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FreePools {
    /// Plan credits.
    pub plan: Micros,
    /// Voucher credits.
    pub voucher: Micros,
    /// Granted (promotional) credits.
    pub promotional: Micros,
}

impl FreePools {
    /// What these pools and `prepaid` (an event's columns) say the blocks
    /// hold beyond `available`: the overdraft used plus the reversal debt.
    /// `None` when they cannot be an event's: a pool below zero, or less
    /// than available plus the reversal `debt` the events leave. The one
    /// check of an event's pool columns (verify, import).
    pub fn owed_beyond(&self, prepaid: Micros, available: Micros, debt: Micros) -> Option<i128> {
        let pools = [self.plan, self.voucher, self.promotional, prepaid];
        if pools.iter().any(|v| v.is_negative()) {
            return None;
        }
        let owed = pools.iter().map(|v| i128::from(v.micros())).sum::<i128>() - i128::from(available.micros());
        (owed >= i128::from(debt.micros())).then_some(owed)
    }

    /// What `pool` held (none for prepaid, which events carry apart as
    /// `prepaid_balance_after`).
    pub fn get(&self, pool: Pool) -> Micros {
        match pool {
            Pool::Plan => self.plan,
            Pool::Voucher => self.voucher,
            Pool::Promotional => self.promotional,
            Pool::Prepaid => Micros::ZERO,
        }
    }
}

impl Event {
    /// The id of the event with sequence number `seq`: `evt_<seq>`.
    pub fn id_for(seq: u64) -> String {
        format!("evt_{seq}")
    }

    /// How this event moves (available, held). The single place that says
    /// what each kind does to the balances; `verify` replays it.
    pub fn deltas(&self) -> (Micros, Micros) {
        Event::deltas_of(self.kind, self.status, self.amount)
    }

    /// [`Event::deltas`] from the three columns it depends on (the rollups'
    /// backfill reads them straight from the events table).
    pub fn deltas_of(kind: EventKind, status: Status, a: Micros) -> (Micros, Micros) {
        match (kind, status) {
            (EventKind::Purchase, Status::Processing | Status::Failed) => (Micros::ZERO, Micros::ZERO),
            (EventKind::Hold, _) => (a, a.checked_neg().unwrap_or(Micros::MAX)),
            (EventKind::Debit, _) => (Micros::ZERO, a),
            (EventKind::Release, _) => (a, a.checked_neg().unwrap_or(Micros::MAX)),
            _ => (a, Micros::ZERO),
        }
    }
}
