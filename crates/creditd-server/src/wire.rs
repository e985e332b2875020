//! Request bodies as clients send them, and their translation into ledger
//! operations. Unknown fields are refused: a misspelt `amount` must not
//! become a default.

use creditd_core::ErrorCode;
use std::collections::BTreeMap;

use creditd_core::prices::PriceRequest;
use creditd_core::{
    CreditKind, CreditOp, EventCtx, ExtendOp, HoldOp, Micros, Op, OrgSettings, Pool, PricedOp, Quantity, Status,
};
use jiff::Timestamp;
use serde::Deserialize;

use crate::error::ApiError;

/// Declares a request body that also carries the common context fields
/// (who, what, which project) every event can hold.
macro_rules! with_ctx {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fm])* pub $field: $ty,)*
            /// Where the operation came from (a system, a job).
            #[schema(max_length = 1024)]
            pub source: Option<String>,
            /// The service used.
            #[schema(max_length = 1024)]
            pub service: Option<String>,
            /// What was done.
            #[schema(max_length = 1024)]
            pub activity: Option<String>,
            /// The project it was for.
            #[schema(max_length = 1024)]
            pub project_id: Option<String>,
            /// The project's name.
            #[schema(max_length = 1024)]
            pub project_name: Option<String>,
            /// Who did it.
            #[schema(max_length = 1024)]
            pub user_name: Option<String>,
            /// Must contain `@`.
            #[schema(max_length = 1024)]
            pub user_email: Option<String>,
            /// For people.
            #[schema(max_length = 1024)]
            pub description: Option<String>,
            /// Any JSON value, within bounds checked before anything is
            /// written (422 `validation_error` past them): at most 16 KiB as
            /// compact JSON, 32 levels of nested objects and arrays, 256 object
            /// keys over all levels. NUL is allowed inside its strings (it is
            /// stored escaped); the text fields above refuse it.
            pub metadata: Option<serde_json::Value>,
        }

        impl $name {
            /// The event context the body carried (taken out of it).
            pub fn ctx(&mut self) -> EventCtx {
                EventCtx {
                    source: self.source.take(),
                    service: self.service.take(),
                    activity: self.activity.take(),
                    project_id: self.project_id.take(),
                    project_name: self.project_name.take(),
                    user_name: self.user_name.take(),
                    user_email: self.user_email.take(),
                    description: self.description.take(),
                    metadata: self.metadata.take(),
                }
            }
        }
    };
}

with_ctx! {
    /// `POST /api/organizations/{orgId}/credits`
    pub struct CreditRequest {
        /// Grant, purchase, voucher or subscription credit.
        pub kind: CreditKind,
        /// Credits, above zero.
        #[schema(value_type = creditd_core::money::Amount)]
        pub amount: Micros,
        /// Default: the kind's pool (grant: promotional, subscription_credit: plan, voucher, purchase: prepaid).
        pub pool: Option<Pool>,
        /// When what is left of them lapses.
        pub expires_at: Option<Timestamp>,
        /// Vouchers: the code redeemed.
        pub code: Option<String>,
        /// Purchases: `processing` waits for a settle; default `succeeded`.
        pub status: Option<Status>,
    }
}

with_ctx! {
    /// `POST /api/organizations/{orgId}/holds`
    pub struct HoldRequest {
        /// Credits to reserve, above zero; or give `price` and `quantity`.
        #[schema(value_type = Option<creditd_core::money::Amount>)]
        pub amount: Option<Micros>,
        /// A price of the organisation's book (instead of `amount`).
        pub price: Option<String>,
        /// With `price`: the estimated units, above zero.
        pub quantity: Option<Quantity>,
        /// With `price`: selects the price's line (e.g. `{"model": "large"}`).
        pub dimensions: Option<BTreeMap<String, String>>,
        /// Default 3600; at most 7 days.
        #[schema(minimum = 1, maximum = 604_800)]
        pub timeout_seconds: Option<u64>,
    }
}

with_ctx! {
    /// `POST …/holds/{holdId}/debit`: `amount` defaults to all that is held.
    pub struct DebitRequest {
        /// At most what is held; the rest is released.
        #[schema(value_type = Option<creditd_core::money::Amount>)]
        pub amount: Option<Micros>,
        /// A priced hold: the actual units (default: the hold's estimate),
        /// priced with the hold's price and version; at most the amount held.
        pub quantity: Option<Quantity>,
    }
}

with_ctx! {
    /// `POST …/holds/{holdId}/extend`: more credits (`amount`, a plain
    /// hold) or more units (`quantity`, a priced hold), and/or a later
    /// timeout; at least one.
    pub struct ExtendRequest {
        /// A plain hold: credits added, above zero.
        #[schema(value_type = Option<creditd_core::money::Amount>)]
        pub amount: Option<Micros>,
        /// A priced hold: units added to its estimate, above zero, priced
        /// with the hold's own price and version.
        pub quantity: Option<Quantity>,
        /// The new timeout, in seconds from now (at most 7 days); it must
        /// end after the hold's current one.
        #[schema(minimum = 1, maximum = 604_800)]
        pub timeout_seconds: Option<u64>,
    }
}

with_ctx! {
    /// `POST …/check`: a hold or usage to check (an `amount`, or `price` and
    /// `quantity`), and whose it would be. Nothing is written.
    pub struct CheckRequest {
        /// Credits, above zero; or give `price` and `quantity`.
        #[schema(value_type = Option<creditd_core::money::Amount>)]
        pub amount: Option<Micros>,
        /// A price of the organisation's book (instead of `amount`).
        pub price: Option<String>,
        /// With `price`: the units, above zero.
        pub quantity: Option<Quantity>,
        /// With `price`: selects the price's line (e.g. `{"model": "large"}`).
        pub dimensions: Option<BTreeMap<String, String>>,
        /// Check as this stored API key would act (its cap applies). Not
        /// for members.
        pub key_id: Option<String>,
    }
}

with_ctx! {
    /// `POST …/purchases/{id}/settle`: `status` succeeded or failed.
    pub struct SettleRequest {
        /// `succeeded` or `failed`.
        pub status: Status,
    }
}

with_ctx! {
    /// `POST …/purchases/{id}/reverse`: why the purchase is taken back.
    pub struct ReverseRequest {
        /// Why (a refund, a chargeback and its case number, …), 1 to 1,024
        /// characters; kept in the event's metadata.
        #[schema(min_length = 1, max_length = 1024)]
        pub reason: String,
    }
}

with_ctx! {
    /// `POST …/holds/{holdId}/release`: only the context fields.
    pub struct ReleaseRequest {}
}

with_ctx! {
    /// `POST /api/organizations/{orgId}/usage`
    pub struct UsageRequest {
        /// Credits consumed, above zero; or give `price` and `quantity`.
        #[schema(value_type = Option<creditd_core::money::Amount>)]
        pub amount: Option<Micros>,
        /// A price of the organisation's book (instead of `amount`).
        pub price: Option<String>,
        /// With `price`: the units used, above zero.
        pub quantity: Option<Quantity>,
        /// With `price`: selects the price's line (e.g. `{"model": "large"}`).
        pub dimensions: Option<BTreeMap<String, String>>,
    }
}

with_ctx! {
    /// `POST /api/organizations/{orgId}/refunds`: `refers_to` is a hold or usage id.
    pub struct RefundRequest {
        /// The hold or usage refunded.
        pub refers_to: String,
        /// Default: all that is still refundable.
        #[schema(value_type = Option<creditd_core::money::Amount>)]
        pub amount: Option<Micros>,
    }
}

with_ctx! {
    /// `POST /api/organizations/{orgId}/adjustments`: signed amount and a reason.
    pub struct AdjustmentRequest {
        /// Signed credits: added when positive, taken when negative.
        #[schema(value_type = creditd_core::money::Amount)]
        pub amount: Micros,
        /// Why, for people.
        #[schema(min_length = 1, max_length = 1024)]
        pub reason: String,
        /// The pool added to (positive amounts).
        pub pool: Option<Pool>,
        /// When added credits lapse.
        pub expires_at: Option<Timestamp>,
    }
}

with_ctx! {
    /// `POST /api/organizations/{orgId}/billing`
    pub struct BillingRequest {
        /// Zero or negative; default 0.
        #[serde(default)]
        #[schema(value_type = creditd_core::money::Amount)]
        pub amount: Micros,
    }
}

/// `POST /api/organizations`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgRequest {
    /// Default: a generated `org_…` id.
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    pub id: Option<String>,
    /// For people.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// An IANA zone name; default UTC.
    pub time_zone: Option<String>,
    /// Each pool exactly once; default plan, voucher, promotional, prepaid.
    #[schema(min_items = 4, max_items = 4)]
    pub consumption_order: Option<Vec<Pool>>,
    /// Default true.
    pub expiring_first: Option<bool>,
    /// Default 0: no overdraft.
    #[schema(value_type = Option<creditd_core::money::Amount>)]
    pub overdraft_limit: Option<Micros>,
    /// Default 1.
    #[schema(minimum = 1, maximum = 28)]
    pub renewal_day: Option<u8>,
}

impl CreateOrgRequest {
    /// The chosen id (if any) and the settings, defaults filled in.
    pub fn settings(self) -> (Option<String>, OrgSettings) {
        let mut s = OrgSettings::new(self.name, self.time_zone.unwrap_or_else(|| "UTC".into()));
        if let Some(o) = self.consumption_order {
            s.consumption_order = o;
        }
        if let Some(e) = self.expiring_first {
            s.expiring_first = e;
        }
        if let Some(l) = self.overdraft_limit {
            s.overdraft_limit = l;
        }
        if let Some(d) = self.renewal_day {
            s.renewal_day = d;
        }
        (self.id, s)
    }
}

/// The operations a request can name, as routes and as `op` in a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpName {
    /// `POST …/credits`.
    Credits,
    /// `POST …/purchases/{id}/settle`.
    Settle,
    /// `POST …/purchases/{id}/reverse`.
    Reverse,
    /// `POST …/holds`.
    Hold,
    /// `POST …/holds/{id}/debit`.
    Debit,
    /// `POST …/holds/{id}/release`.
    Release,
    /// `POST …/holds/{id}/extend`.
    Extend,
    /// `POST …/usage`.
    Usage,
    /// `POST …/refunds`.
    Refund,
    /// `POST …/adjustments`.
    Adjustment,
    /// `POST …/billing`.
    Billing,
}

/// serde reads a struct from a JSON array too (`[null, null]`); a body is
/// an object, as the document says.
pub fn ensure_object(body: &str) -> Result<(), ApiError> {
    match body.trim_start().as_bytes().first() {
        Some(b'{') => Ok(()),
        _ => Err(ApiError::validation("the request body must be a JSON object")),
    }
}

/// `body` parsed as a JSON object of type `T`: malformed JSON is 400
/// `invalid_json`, anything else wrong (not an object, an unknown field, a
/// wrong type) 422 `validation_error`.
pub fn parse_object<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, ApiError> {
    ensure_object(body)?;
    from_json(body)
}

/// `body` read as a `T`, a bad value's error naming the field it is in:
/// an amount's error reads `threshold "50.0000001" has more than 6
/// decimals`, not `amount …` (the amount parser knows no field name;
/// the path to it is tracked here).
pub fn from_json<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, ApiError> {
    let refused = |path: String, e: serde_json::Error| {
        if e.is_syntax() || e.is_eof() {
            return ApiError::new(ErrorCode::InvalidJson, format!("malformed JSON: {e}"));
        }
        let text = e.to_string();
        let named = path != "." && !path.is_empty();
        let text = match text.strip_prefix("amount ") {
            Some(rest) if named => format!("{path} {rest}"),
            // Any other bad value: the field it is in, first.
            _ if named => format!("{path}: {text}"),
            _ => text,
        };
        ApiError::validation(format!("invalid request body: {text}"))
    };
    // The path is tracked only to word a refusal: a body that reads is
    // read once, without it (every request's body passes here).
    let e = match serde_json::from_str(body) {
        Ok(value) => return Ok(value),
        Err(e) => e,
    };
    let path = match serde_path_to_error::deserialize::<_, T>(&mut serde_json::Deserializer::from_str(body)) {
        Err(traced) if traced.inner().to_string() == e.to_string() => traced.path().to_string(),
        _ => String::new(),
    };
    Err(refused(path, e))
}

/// Builds the ledger operation for `name` from a JSON body; `target` is the
/// hold or purchase id from the path.
pub fn build_op(name: OpName, target: Option<&str>, body: &str) -> Result<Op, ApiError> {
    let target = || {
        target
            .map(str::to_string)
            .ok_or_else(|| ApiError::validation("this operation needs the id of its hold or purchase"))
    };
    Ok(match name {
        OpName::Credits => {
            let mut r: CreditRequest = parse_object(body)?;
            let ctx = r.ctx();
            Op::Credit(CreditOp {
                kind: r.kind,
                amount: r.amount,
                pool: r.pool,
                expires_at: r.expires_at,
                code: r.code,
                status: r.status,
                ctx,
            })
        }
        OpName::Settle => {
            let mut r: SettleRequest = parse_object(body)?;
            let ctx = r.ctx();
            Op::SettlePurchase { purchase_id: target()?, status: r.status, ctx }
        }
        OpName::Reverse => {
            let mut r: ReverseRequest = parse_object(body)?;
            let ctx = r.ctx();
            Op::ReversePurchase { purchase_id: target()?, reason: r.reason, ctx }
        }
        OpName::Hold => {
            let mut r: HoldRequest = parse_object(body)?;
            let ctx = r.ctx();
            match amount_or_price(r.amount, r.price, r.quantity, r.dimensions)? {
                Ok(amount) => Op::Hold(HoldOp { amount, timeout_seconds: r.timeout_seconds, ctx }),
                Err(price) => Op::Priced(PricedOp::Hold { price, timeout_seconds: r.timeout_seconds, ctx }),
            }
        }
        OpName::Debit => {
            let mut r: DebitRequest = parse_object(body)?;
            let ctx = r.ctx();
            match (r.amount, r.quantity) {
                (Some(_), Some(_)) => {
                    return Err(ApiError::validation("give amount or quantity, not both"));
                }
                (_, Some(quantity)) => {
                    check_quantity(quantity)?;
                    Op::Priced(PricedOp::Debit { hold_id: target()?, quantity: Some(quantity), ctx })
                }
                (amount, None) => Op::Debit { hold_id: target()?, amount, ctx },
            }
        }
        OpName::Extend => {
            let mut r: ExtendRequest = parse_object(body)?;
            let ctx = r.ctx();
            let hold_id = target()?;
            match (r.amount, r.quantity) {
                (Some(_), Some(_)) => return Err(ApiError::validation("give amount or quantity, not both")),
                (None, None) if r.timeout_seconds.is_none() => {
                    return Err(ApiError::validation(
                        "nothing to extend: give amount (a plain hold) or quantity (a priced hold), and/or \
                         timeout_seconds",
                    ));
                }
                (_, Some(quantity)) => {
                    check_quantity(quantity)?;
                    Op::Priced(PricedOp::Extend { hold_id, quantity, timeout_seconds: r.timeout_seconds, ctx })
                }
                (amount, None) => Op::ExtendHold(ExtendOp { hold_id, amount, timeout_seconds: r.timeout_seconds, ctx }),
            }
        }
        OpName::Release => {
            let mut r: ReleaseRequest = parse_object(body)?;
            Op::Release { hold_id: target()?, ctx: r.ctx() }
        }
        OpName::Usage => {
            let mut r: UsageRequest = parse_object(body)?;
            let ctx = r.ctx();
            match amount_or_price(r.amount, r.price, r.quantity, r.dimensions)? {
                Ok(amount) => Op::Usage { amount, ctx },
                Err(price) => Op::Priced(PricedOp::Usage { price, ctx }),
            }
        }
        OpName::Refund => {
            let mut r: RefundRequest = parse_object(body)?;
            let ctx = r.ctx();
            Op::Refund { refers_to: r.refers_to, amount: r.amount, ctx }
        }
        OpName::Adjustment => {
            let mut r: AdjustmentRequest = parse_object(body)?;
            let ctx = r.ctx();
            Op::Adjustment { amount: r.amount, reason: r.reason, pool: r.pool, expires_at: r.expires_at, ctx }
        }
        OpName::Billing => {
            let mut r: BillingRequest = parse_object(body)?;
            Op::Billing { amount: r.amount, ctx: r.ctx() }
        }
    })
}

/// A quantity must be above zero.
fn check_quantity(quantity: Quantity) -> Result<(), ApiError> {
    if quantity.is_positive() {
        Ok(())
    } else {
        Err(ApiError::validation(format!("quantity must be more than 0 (got {quantity})")))
    }
}

/// A body's `amount` (`Ok`), or its `price`, `quantity` and `dimensions`
/// (`Err`: a priced operation): exactly one of the two, never both.
pub fn amount_or_price(
    amount: Option<Micros>,
    price: Option<String>,
    quantity: Option<Quantity>,
    dimensions: Option<BTreeMap<String, String>>,
) -> Result<Result<Micros, PriceRequest>, ApiError> {
    match (amount, price) {
        (Some(_), Some(_)) => Err(ApiError::validation("give either amount or price (with quantity), not both")),
        (Some(amount), None) => {
            if quantity.is_some() || dimensions.is_some() {
                return Err(ApiError::validation("quantity and dimensions go with price, not with amount"));
            }
            Ok(Ok(amount))
        }
        (None, Some(price)) => {
            let Some(quantity) = quantity else {
                return Err(ApiError::validation(format!("price {price:?} needs a quantity")));
            };
            check_quantity(quantity)?;
            Ok(Err(PriceRequest { price, quantity, dimensions: dimensions.unwrap_or_default() }))
        }
        (None, None) => Err(ApiError::validation("give amount, or price and quantity")),
    }
}

/// One entry of `POST /api/batch`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchItem {
    /// The organisation.
    pub org_id: String,
    /// Which operation.
    pub op: OpName,
    /// The hold (debit, release) or purchase (settle) the operation is about.
    pub hold_id: Option<String>,
    /// Settles and reversals: the purchase.
    pub purchase_id: Option<String>,
    /// A retry with the same key gets the first answer.
    pub idempotency_key: Option<String>,
    /// The same body the operation's own route takes.
    #[schema(value_type = Option<Object>)]
    pub body: Option<Box<serde_json::value::RawValue>>,
}

/// `POST /api/batch`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// 1 to 1,000 operations, applied in order.
    #[schema(min_items = 1, max_items = 1000)]
    pub operations: Vec<BatchItem>,
}
