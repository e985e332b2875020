//! The immutable event: what every change to an organisation's credits leaves
//! behind, with the balances right after it.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::money::Micros;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[derive(utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

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
    pub what: &'static str,
    pub got: String,
    pub expected: String,
}

string_enum! {
    /// What happened. Seed aliases (`prepaid_purchase`, `reservation`,
    /// `reservation_released`) are accepted when parsing.
    EventKind {
        Grant = "grant",
        Purchase = "purchase" | "prepaid_purchase" | "top_up",
        SubscriptionCredit = "subscription_credit",
        Voucher = "voucher",
        Hold = "hold" | "reservation",
        Debit = "debit",
        Release = "release" | "reservation_released",
        Usage = "usage" | "charged",
        Refund = "refund",
        Adjustment = "adjustment",
        Expiry = "expiry",
        Billing = "billing",
    }
}

string_enum! {
    /// A balance type: where credits live.
    Pool {
        Plan = "plan",
        Prepaid = "prepaid" | "top_up" | "add_on",
        Voucher = "voucher",
        Promotional = "promotional",
    }
}

string_enum! {
    /// The state of the transaction behind an event (FPT: Success, Processed, Failed).
    Status {
        Succeeded = "succeeded" | "success",
        Processing = "processing" | "processed",
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
        }
    }
}

impl Pool {
    /// The default consumption order: free before paid.
    pub const DEFAULT_ORDER: [Pool; 4] = [Pool::Plan, Pool::Voucher, Pool::Promotional, Pool::Prepaid];
}

/// Who and what an operation is about; copied onto its events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventCtx {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
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
    pub id: String,
    pub org_id: String,
    pub seq: u64,
    pub created_at: Timestamp,
    pub kind: EventKind,
    pub amount: Micros,
    pub pool: Option<Pool>,
    pub status: Status,
    pub source: Option<String>,
    pub service: Option<String>,
    pub activity: Option<String>,
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub user_name: Option<String>,
    pub user_email: Option<String>,
    pub description: Option<String>,
    pub code: Option<String>,
    /// The hold, usage or purchase this event belongs to.
    pub hold_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub balance_after: Micros,
    pub prepaid_balance_after: Micros,
    pub held_after: Micros,
    pub period_usage_after: Micros,
    pub metadata: Option<serde_json::Value>,
}

impl Event {
    pub fn id_for(seq: u64) -> String {
        format!("evt_{seq}")
    }

    /// How this event moves (available, held). The single place that says
    /// what each kind does to the balances; `verify` replays it.
    pub fn deltas(&self) -> (Micros, Micros) {
        let a = self.amount;
        match (self.kind, self.status) {
            (EventKind::Purchase, Status::Processing | Status::Failed) => (Micros::ZERO, Micros::ZERO),
            (EventKind::Hold, _) => (a, a.checked_neg().unwrap_or(Micros::MAX)),
            (EventKind::Debit, _) => (Micros::ZERO, a),
            (EventKind::Release, _) => (a, a.checked_neg().unwrap_or(Micros::MAX)),
            _ => (a, Micros::ZERO),
        }
    }
}
