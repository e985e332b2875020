//! Webhooks: the outbox and the delivery state every engine keeps.
//!
//! A webhook message is derived from a batch's events and notifications by
//! [`derive`] (called from [`crate::batch::Batch::apply`]) and written by the
//! engine in the batch's own transaction, together with one delivery row per
//! endpoint of the organisation that wants its type. So a message exists if
//! and only if its event was committed: a refused operation or a rolled-back
//! batch leaves none, and an acknowledged one cannot lose its message.
//!
//! Delivery is at least once. Each message has an id ([`message_id`]) that
//! is a pure function of the org, the type and the event (or notification)
//! it comes from, so it is stable across retries and receivers deduplicate
//! by it. The server's worker claims due deliveries ([`Webhooks::claim_due`]),
//! which pushes their `next_attempt_at` forward by a lease so that another
//! node (PostgreSQL) does not send the same one at the same time, then
//! records each attempt ([`Webhooks::record_attempt`]): delivered, or retried
//! after [`backoff`], or failed for good after [`MAX_ATTEMPTS`].
//!
//! Endpoints are not ledger data: like the [`crate::Directory`] they change
//! in short transactions of their own.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use creditd_core::effects::NotificationKind;
use creditd_core::{ErrorCode, Event, EventKind, Micros, Notification, Op, PlanOp, Status};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::StoreError;

/// Most endpoints one organisation may register.
pub const MAX_ENDPOINTS_PER_ORG: usize = 20;
/// Attempts before a delivery is given up (`failed`): with [`backoff`]'s
/// schedule, about 24 hours after the first.
pub const MAX_ATTEMPTS: u32 = 36;
/// The first retry waits this long; each next one twice as long...
pub const FIRST_BACKOFF: SignedDuration = SignedDuration::from_secs(1);
/// ...up to this.
pub const MAX_BACKOFF: SignedDuration = SignedDuration::from_secs(3600);
/// Most delivery rows one listing returns.
pub const MAX_DELIVERIES_PAGE: u32 = 100;

/// What a webhook tells about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookType {
    /// Available credits went below the org's low-balance threshold (the
    /// `low_balance` notification).
    LowBalance,
    /// Available credits went from above zero to zero or below.
    Depleted,
    /// A hold timed out and was released.
    HoldExpired,
    /// A plan period began: its `subscription_credit`.
    Renewal,
    /// A processing purchase was settled, succeeded or failed.
    PurchaseSettled,
    /// A purchase was reversed: its `reversal` event.
    PurchaseReversed,
    /// A top-up purchase was created `processing` for the operator's
    /// backend to charge and settle: by Buy more (`requested_by` names who
    /// asked) or by the auto top-up rule (`trigger: auto_top_up`).
    #[serde(rename = "top_up.requested")]
    TopUpRequested,
    /// An owner chose a catalogue plan and the organisation does not
    /// change plans by itself (`self_service_plan_change` is off): the
    /// operator applies it (`PUT …/plan` with `plan_id`).
    #[serde(rename = "plan_change.requested")]
    PlanChangeRequested,
    /// A usage alert level was crossed (the `usage_alert` notification).
    UsageAlert,
    /// Auto top-up paused after consecutive failed top-ups.
    #[serde(rename = "top_up.paused")]
    TopUpPaused,
}

impl WebhookType {
    /// Every type, in the order they are listed.
    pub const ALL: [WebhookType; 10] = [
        WebhookType::LowBalance,
        WebhookType::Depleted,
        WebhookType::HoldExpired,
        WebhookType::Renewal,
        WebhookType::PurchaseSettled,
        WebhookType::PurchaseReversed,
        WebhookType::TopUpRequested,
        WebhookType::PlanChangeRequested,
        WebhookType::UsageAlert,
        WebhookType::TopUpPaused,
    ];

    /// The type's stable name (`low_balance`, ...), as in bodies and filters.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookType::LowBalance => "low_balance",
            WebhookType::Depleted => "depleted",
            WebhookType::HoldExpired => "hold_expired",
            WebhookType::Renewal => "renewal",
            WebhookType::PurchaseSettled => "purchase_settled",
            WebhookType::PurchaseReversed => "purchase_reversed",
            WebhookType::TopUpRequested => "top_up.requested",
            WebhookType::PlanChangeRequested => "plan_change.requested",
            WebhookType::UsageAlert => "usage_alert",
            WebhookType::TopUpPaused => "top_up.paused",
        }
    }
}

impl fmt::Display for WebhookType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WebhookType {
    type Err = WebhookError;
    fn from_str(s: &str) -> Result<Self, WebhookError> {
        WebhookType::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            let expected: Vec<_> = WebhookType::ALL.iter().map(|t| t.as_str()).collect();
            WebhookError::Invalid(format!("unknown event type {s:?}; expected one of: {}", expected.join(", ")))
        })
    }
}

/// One message in the outbox, as the receiver gets it (`body`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Stable: the same for every attempt and every endpoint.
    pub id: String,
    /// The organisation it is about.
    pub org_id: String,
    /// What it tells about.
    pub kind: WebhookType,
    /// When its event or notification was written.
    pub created_at: Timestamp,
    /// The event it comes from (for `low_balance`: the event after which
    /// the balance was below, 0 when none).
    pub event_seq: u64,
    /// The JSON body sent, exactly as signed.
    pub body: String,
}

/// The stable id of the message of `kind` about `source` (`e<seq>` for an
/// event, `n<seq>` for a notification) of `org_id`.
pub fn message_id(org_id: &str, kind: WebhookType, source: &str) -> String {
    let mut h = Sha256::new();
    h.update(org_id.as_bytes());
    h.update([0]);
    h.update(kind.as_str().as_bytes());
    h.update([0]);
    h.update(source.as_bytes());
    format!("whmsg_{}", &hex::encode(h.finalize())[..32])
}

#[derive(Serialize)]
struct Body<'a, D: Serialize> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: WebhookType,
    org_id: &'a str,
    created_at: Timestamp,
    data: D,
}

#[derive(Serialize)]
struct EventData<'a> {
    /// Available credits after the event.
    available: Micros,
    event: &'a Event,
}

/// `top_up.requested`: the purchase to charge and settle, and who asked.
#[derive(Serialize)]
struct TopUpData<'a> {
    /// Available credits after the event (the purchase adds nothing yet).
    available: Micros,
    /// The processing purchase (`pur_<seq>`): settle it with
    /// `POST …/purchases/{id}/settle`.
    purchase_id: Option<&'a str>,
    /// Its amount.
    amount: Micros,
    /// What asked for it: `buy_more` or `auto_top_up`.
    trigger: &'static str,
    /// Who asked (a member's email or a key's name), when known; null for
    /// an auto top-up.
    requested_by: Option<&'a str>,
    /// An auto top-up: the rule's threshold that available credits went
    /// below.
    #[serde(skip_serializing_if = "Option::is_none")]
    threshold: Option<Micros>,
    event: &'a Event,
}

#[derive(Serialize)]
struct LowBalanceData {
    threshold: Micros,
    available: Micros,
    notification_seq: u64,
    event_seq: u64,
}

/// The data of a `usage_alert`, `top_up.requested` or `top_up.paused`
/// message: the notification's own fields (whichever it has) and its
/// `notification_seq` and `event_seq`.
#[derive(Serialize)]
struct NotificationData<'a> {
    threshold: Micros,
    available: Micros,
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<&'a creditd_core::AlertLevel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    period_usage: Option<Micros>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allocation: Option<Micros>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purchase_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<Micros>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    notification_seq: u64,
    event_seq: u64,
}

fn notification_data(n: &Notification) -> NotificationData<'_> {
    NotificationData {
        threshold: n.threshold,
        available: n.balance,
        level: n.level.as_ref(),
        period_usage: n.period_usage,
        allocation: n.allocation,
        purchase_id: n.purchase_id.as_deref(),
        amount: n.amount,
        reason: n.reason.as_deref(),
        notification_seq: n.seq,
        event_seq: n.event_seq,
    }
}

fn message<D: Serialize>(
    org_id: &str,
    kind: WebhookType,
    source: &str,
    created_at: Timestamp,
    event_seq: u64,
    data: D,
) -> Result<OutboxMessage, StoreError> {
    let id = message_id(org_id, kind, source);
    let body = serde_json::to_string(&Body { id: &id, kind, org_id, created_at, data })
        .map_err(StoreError::json("webhook event body"))?;
    Ok(OutboxMessage { id, org_id: org_id.to_string(), kind, created_at, event_seq, body })
}

/// The messages one applied operation makes: from its events (in order)
/// and the notifications it stored.
pub fn derive(
    org_id: &str,
    op: &Op,
    events: &[Event],
    notifications: &[Notification],
) -> Result<Vec<OutboxMessage>, StoreError> {
    let mut out = Vec::new();
    for e in events {
        let data = || EventData { available: e.balance_after, event: e };
        let source = format!("e{}", e.seq);
        // Buy more's processing purchase: the backend is to charge it.
        if let Op::Plans(PlanOp::BuyMore { requested_by, .. }) = op
            && e.kind == EventKind::Purchase
            && e.status == Status::Processing
        {
            let data = TopUpData {
                available: e.balance_after,
                purchase_id: e.hold_id.as_deref(),
                amount: e.amount,
                trigger: "buy_more",
                requested_by: requested_by.as_deref(),
                threshold: None,
                event: e,
            };
            out.push(message(org_id, WebhookType::TopUpRequested, &source, e.created_at, e.seq, data)?);
        }
        let mut push = |kind| -> Result<(), StoreError> {
            out.push(message(org_id, kind, &source, e.created_at, e.seq, data())?);
            Ok(())
        };
        match e.kind {
            EventKind::Release if matches!(op, Op::TimeoutHold { .. }) => push(WebhookType::HoldExpired)?,
            EventKind::Reversal => push(WebhookType::PurchaseReversed)?,
            EventKind::Purchase
                if matches!(op, Op::SettlePurchase { .. })
                    && matches!(e.status, Status::Succeeded | Status::Failed) =>
            {
                push(WebhookType::PurchaseSettled)?
            }
            // Renewals are granted by the ledger itself ("system"), with the
            // period in the metadata; subscribing or changing a plan is not
            // a renewal.
            EventKind::SubscriptionCredit
                if e.source.as_deref() == Some("system")
                    && e.metadata.as_ref().is_some_and(|m| m.get("period_start").is_some()) =>
            {
                push(WebhookType::Renewal)?
            }
            _ => {}
        }
        let (delta, _) = e.deltas();
        let before = e.balance_after.checked_sub(delta);
        if before.is_some_and(|b| b.is_positive()) && !e.balance_after.is_positive() && !delta.is_zero() {
            push(WebhookType::Depleted)?;
        }
    }
    for n in notifications {
        let source = format!("n{}", n.seq);
        let msg = |kind, data| message(org_id, kind, &source, n.created_at, n.event_seq, data);
        out.push(match n.kind {
            NotificationKind::LowBalance => {
                let data = LowBalanceData {
                    threshold: n.threshold,
                    available: n.balance,
                    notification_seq: n.seq,
                    event_seq: n.event_seq,
                };
                message(org_id, WebhookType::LowBalance, &source, n.created_at, n.event_seq, data)?
            }
            NotificationKind::UsageAlert => msg(WebhookType::UsageAlert, notification_data(n))?,
            // The same message as Buy more's, about the purchase's event.
            NotificationKind::TopUpRequested => match events.iter().find(|e| e.seq == n.event_seq) {
                Some(e) => {
                    let data = TopUpData {
                        available: e.balance_after,
                        purchase_id: e.hold_id.as_deref(),
                        amount: e.amount,
                        trigger: "auto_top_up",
                        requested_by: None,
                        threshold: Some(n.threshold),
                        event: e,
                    };
                    let source = format!("e{}", e.seq);
                    message(org_id, WebhookType::TopUpRequested, &source, e.created_at, e.seq, data)?
                }
                None => msg(WebhookType::TopUpRequested, notification_data(n))?,
            },
            NotificationKind::TopUpPaused => msg(WebhookType::TopUpPaused, notification_data(n))?,
        });
    }
    Ok(out)
}

/// `plan_change.requested`: the plan chosen, what it replaces, who asked.
#[derive(Clone, Debug, Serialize)]
pub struct PlanChangeData {
    /// The catalogue plan chosen (`PUT …/plan` with `{"plan_id": …}`
    /// applies it).
    pub plan_id: String,
    /// The plan as the catalogue defines it now.
    pub plan: creditd_core::Plan,
    /// The organisation's plan now (its name), if any.
    pub current_plan: Option<String>,
    /// `now` or `next_period`, as asked (default `next_period`).
    pub effective: creditd_core::Effective,
    /// Who asked (a member's email or a key's name), when known.
    pub requested_by: Option<String>,
}

/// The `plan_change.requested` message of `org_id` about request
/// `request_id` (stable: the same request makes the same message id).
/// Not derived from an event: a request changes no ledger state, so the
/// message is the only thing written ([`Webhooks::enqueue`]).
pub fn plan_change_message(
    org_id: &str,
    request_id: &str,
    created_at: Timestamp,
    data: &PlanChangeData,
) -> Result<OutboxMessage, StoreError> {
    message(org_id, WebhookType::PlanChangeRequested, &format!("r{request_id}"), created_at, 0, data)
}

/// How long to wait after the `attempts`-th failed attempt (1-based):
/// 1 s, 2 s, 4 s, … doubling, at most [`MAX_BACKOFF`].
pub fn backoff(attempts: u32) -> SignedDuration {
    backoff_from(FIRST_BACKOFF, MAX_BACKOFF, attempts)
}

/// [`backoff`] with another first step and cap.
pub fn backoff_from(first: SignedDuration, cap: SignedDuration, attempts: u32) -> SignedDuration {
    let shift = attempts.saturating_sub(1).min(40);
    let factor = 1i64 << shift;
    let step = first.as_millis().saturating_mul(i128::from(factor));
    let capped = step.min(cap.as_millis()).max(0);
    SignedDuration::from_millis(i64::try_from(capped).unwrap_or(i64::MAX))
}

/// A registered receiver. `secret` signs every message sent to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The endpoint's id (`whe_…`).
    pub id: String,
    /// The organisation it belongs to.
    pub org_id: String,
    /// Where messages are POSTed.
    pub url: String,
    /// The types it wants; `None`: every type.
    pub types: Option<Vec<WebhookType>>,
    /// The operator's note, if any.
    pub description: Option<String>,
    /// The signing secret (`whsec_…`), shown in full only at creation.
    pub secret: String,
    /// When it was registered; it receives messages committed after this.
    pub created_at: Timestamp,
}

impl Endpoint {
    /// What may be shown after creation: enough of the secret to recognise it.
    pub fn secret_prefix(&self) -> String {
        self.secret.chars().take(12).collect()
    }
}

/// Stored form of an endpoint's types: `NULL` for all, else `,a,b,` so a
/// type is matched with a plain substring test in either SQL dialect.
pub fn types_column(types: &Option<Vec<WebhookType>>) -> Option<String> {
    types.as_ref().map(|ts| {
        let mut s = String::from(",");
        for t in ts {
            s.push_str(t.as_str());
            s.push(',');
        }
        s
    })
}

/// The inverse of [`types_column`].
pub fn parse_types_column(column: Option<&str>) -> Result<Option<Vec<WebhookType>>, StoreError> {
    column
        .map(|s| {
            s.split(',')
                .filter(|p| !p.is_empty())
                .map(|p| p.parse().map_err(|e: WebhookError| StoreError::Corrupt(format!("stored endpoint: {e}"))))
                .collect()
        })
        .transpose()
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not yet delivered; tried again at `next_attempt_at`.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Given up after [`MAX_ATTEMPTS`].
    Failed,
}

impl DeliveryStatus {
    /// The status's stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

impl FromStr for DeliveryStatus {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "failed" => Ok(DeliveryStatus::Failed),
            _ => Err(StoreError::Corrupt(format!("unknown delivery status {s:?}"))),
        }
    }
}

/// One message to one endpoint, as operators see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// The message's id.
    pub message_id: String,
    /// The endpoint's id.
    pub endpoint_id: String,
    #[serde(rename = "type")]
    /// The message's type.
    pub kind: WebhookType,
    /// The event the message comes from.
    pub event_seq: u64,
    /// Where the delivery stands.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the delivery was queued (its message's creation).
    pub created_at: Timestamp,
    /// When it is tried next (pending only).
    pub next_attempt_at: Option<Timestamp>,
    /// When it was last tried, if ever.
    pub last_attempt_at: Option<Timestamp>,
    /// The last answer's HTTP status, if there was one.
    pub last_status: Option<u16>,
    /// Why the last attempt failed (connection refused, timeout, `HTTP 500`).
    pub last_error: Option<String>,
    /// When a 2xx answer was received, if one was.
    pub delivered_at: Option<Timestamp>,
}

/// A claimed delivery: everything the worker needs to send it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueDelivery {
    /// The message's id.
    pub message_id: String,
    /// The endpoint's id.
    pub endpoint_id: String,
    /// The organisation.
    pub org_id: String,
    /// The message's type.
    pub kind: WebhookType,
    /// Where to POST it.
    pub url: String,
    /// The endpoint's signing secret.
    pub secret: String,
    /// The JSON body, exactly as signed.
    pub body: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// A 2xx answer.
    Delivered {
        /// The HTTP status answered.
        status: u16,
    },
    /// Anything else: an answer that is not 2xx (`status`), or none.
    Failed {
        /// The HTTP status answered, if there was an answer.
        status: Option<u16>,
        /// Why it failed (connection refused, timeout, `HTTP 500`).
        error: String,
    },
}

/// What [`Webhooks::record_attempt`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// A 2xx answer: delivered.
    Delivered,
    /// Failed; tried again at this time.
    Retry(Timestamp),
    /// Failed for the last time.
    GaveUp,
    /// The delivery was no longer pending (its endpoint was deleted, or
    /// another node recorded it first).
    Gone,
}

/// Where a failed attempt leaves a delivery that had made `attempts`
/// attempts before it: retried after [`backoff`], or given up.
pub fn after_failure(attempts_before: u32, now: Timestamp) -> Option<Timestamp> {
    let attempts = attempts_before.saturating_add(1);
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    Some(now.checked_add(backoff(attempts)).unwrap_or(now))
}

/// Longest error text kept with a delivery.
pub const MAX_ERROR_CHARS: usize = 300;

/// `error` cut to [`MAX_ERROR_CHARS`] characters, to be stored.
pub fn clip_error(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

#[derive(Debug, Clone, thiserror::Error)]
/// Why a webhook call was refused or failed.
pub enum WebhookError {
    #[error("organization {0} not found")]
    /// No organisation has that id.
    OrgNotFound(String),
    #[error("webhook endpoint {0} not found")]
    /// The org has no endpoint with that id.
    NotFound(String),
    #[error("{0}")]
    /// A bad request (an unknown type, a bad URL), with the reason.
    Invalid(String),
    #[error("organization {org_id} already has {max} webhook endpoints; delete one first")]
    /// The org already has the most endpoints allowed.
    TooMany {
        /// The organisation.
        org_id: String,
        /// The most endpoints an org may have ([`MAX_ENDPOINTS_PER_ORG`]).
        max: usize,
    },
    #[error(transparent)]
    /// The store failed.
    Store(#[from] StoreError),
}

impl WebhookError {
    /// The stable code answered for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            WebhookError::OrgNotFound(_) | WebhookError::NotFound(_) => ErrorCode::NotFound,
            WebhookError::Invalid(_) => ErrorCode::ValidationError,
            WebhookError::TooMany { .. } => ErrorCode::TooManyEndpoints,
            WebhookError::Store(e) => e.code(),
        }
    }
}

/// Endpoints, the outbox and delivery state. Every engine implements it and
/// hands it out with [`crate::Store::webhooks`].
#[async_trait]
pub trait Webhooks: Send + Sync {
    /// Stores a new endpoint. `OrgNotFound` for an unknown org, `TooMany`
    /// beyond [`MAX_ENDPOINTS_PER_ORG`]. Messages committed after it
    /// receive it.
    async fn create_endpoint(&self, endpoint: &Endpoint) -> Result<(), WebhookError>;
    /// The org's endpoints, oldest first (`OrgNotFound` for an unknown org).
    async fn endpoints(&self, org_id: &str) -> Result<Vec<Endpoint>, WebhookError>;
    /// The endpoint `id` of `org_id`; `None` if there is none.
    async fn endpoint(&self, org_id: &str, id: &str) -> Result<Option<Endpoint>, WebhookError>;
    /// Deletes the endpoint and its deliveries, pending ones included.
    /// False when there was none.
    async fn delete_endpoint(&self, org_id: &str, id: &str) -> Result<bool, WebhookError>;
    /// The endpoint's deliveries, newest message first, at most `limit`.
    async fn deliveries(&self, org_id: &str, endpoint_id: &str, limit: u32) -> Result<Vec<Delivery>, WebhookError>;
    /// Writes one message that no ledger event carries (a
    /// `plan_change.requested`) to the outbox, with a pending delivery per
    /// endpoint that wants its type, in one transaction of its own. A
    /// message with the same id already there is left as it is.
    /// `OrgNotFound` for an unknown org.
    async fn enqueue(&self, message: &OutboxMessage) -> Result<(), WebhookError>;
    /// The org's outbox, oldest first (by creation, then id), at most `limit`.
    async fn messages(&self, org_id: &str, limit: u32) -> Result<Vec<OutboxMessage>, WebhookError>;
    /// Claims up to `limit` pending deliveries due at `now` (endpoint still
    /// there), oldest due first, by moving their `next_attempt_at` to
    /// `now + lease`: another claim (on any node) skips them until then, so
    /// an attempt whose worker died is retried after the lease.
    async fn claim_due(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, WebhookError>;
    /// Records an attempt of a claimed delivery made at `now`.
    async fn record_attempt(
        &self,
        delivery: &DueDelivery,
        attempt: &Attempt,
        now: Timestamp,
    ) -> Result<Recorded, WebhookError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let secs: Vec<i64> = (1..=14).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600]);
        assert_eq!(backoff(u32::MAX).as_secs(), 3600);
        let total: i64 = (1..MAX_ATTEMPTS).map(|a| backoff(a).as_secs()).sum();
        assert!((23 * 3600..26 * 3600).contains(&total), "{total}");
    }

    #[test]
    fn types_column_round_trips() {
        for t in [None, Some(vec![]), Some(vec![WebhookType::Renewal, WebhookType::LowBalance])] {
            let col = types_column(&t);
            assert_eq!(parse_types_column(col.as_deref()).unwrap(), t.map(|v| v.into_iter().collect::<Vec<_>>()));
        }
    }

    #[test]
    fn message_ids_are_stable_and_distinct() {
        let a = message_id("acme", WebhookType::Depleted, "e7");
        assert_eq!(a, message_id("acme", WebhookType::Depleted, "e7"));
        assert_ne!(a, message_id("acme", WebhookType::LowBalance, "e7"));
        assert_ne!(a, message_id("acme", WebhookType::Depleted, "e8"));
        assert_ne!(a, message_id("acm", WebhookType::Depleted, "e7"));
        assert!(a.starts_with("whmsg_") && a.len() == 38);
    }
}
