//! The API's other operations: plans and the summary, members, keys and
//! caps, conversations, notifications and the low-balance level, reports,
//! verification, webhook endpoints, price books, the batch.
//!
//! Answers that carry amounts are plain structs listing every field (no
//! `#[serde(flatten)]`, no internally tagged enums): serde buffers those
//! through its own value type, where an exact amount cannot be read
//! without a float.

use creditd_core::alerts::AlertsView;
use creditd_core::money_in::{AlertLevel, AutoTopUpRule, AutoTopUpStatus};
use creditd_core::plans::{Forecast, LowBalance, Price};
use creditd_core::prices::{PriceBook, PriceBookDraft, PriceBookVersion};
/// `getBalanceAsOf`'s and `getStatement`'s answers: the core's own.
pub use creditd_core::statement::{BalanceAt, OpenHoldAt, Statement, StatementBalance, StatementLine};
use creditd_core::topup::AutoTopUpView;
/// `verifyLedger`'s answer: the core's own report.
pub use creditd_core::verify::{BrokenLink, VerifyReport};
use creditd_core::{Balance, CapSubject, CapView, Effective, Event, Micros, Plan, Rollover};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::operations as ops;
use crate::{Client, WriteResult};

// ---- plans and the summary ---------------------------------------------------

/// `setPlan`'s body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlanRequest {
    /// The plan's name.
    pub name: String,
    /// Credits granted at each period start.
    pub credits_per_period: Micros,
    /// Sending identities included.
    pub identities_included: u32,
    /// The price, an exact decimal in `currency`.
    pub price: Micros,
    /// ISO 4217 code.
    pub currency: String,
    /// Conversations per identity per month; default 500.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversations_per_identity: Option<u32>,
    /// When a change takes effect; default now for a first plan, else the
    /// next period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective: Option<Effective>,
    /// The price book its priced operations use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_book: Option<String>,
    /// The renewal day to set with a first plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_day: Option<u8>,
    /// What is carried over at renewal; default nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollover: Option<Rollover>,
}

/// `getPlan`'s answer: the plan, a pending change, the period.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PlanView {
    /// The plan in force.
    #[serde(default)]
    pub plan: Option<Plan>,
    /// The plan from the next renewal.
    #[serde(default)]
    pub next_plan: Option<Plan>,
    /// Day of the month periods start.
    pub renewal_day: u8,
    /// The org's zone.
    pub time_zone: String,
    /// The current period's start.
    #[serde(default)]
    pub period_start: Option<Timestamp>,
    /// Its end.
    #[serde(default)]
    pub period_end: Option<Timestamp>,
    /// The next renewal.
    #[serde(default)]
    pub renews_at: Option<Timestamp>,
    /// When the subscription started.
    #[serde(default)]
    pub subscribed_at: Option<Timestamp>,
}

/// `setPlan`'s answer: the plan view, the events it made, the balance.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PlanChanged {
    /// The plan in force.
    #[serde(default)]
    pub plan: Option<Plan>,
    /// The plan from the next renewal.
    #[serde(default)]
    pub next_plan: Option<Plan>,
    /// Day of the month periods start.
    pub renewal_day: u8,
    /// The org's zone.
    pub time_zone: String,
    /// The current period's start.
    #[serde(default)]
    pub period_start: Option<Timestamp>,
    /// Its end.
    #[serde(default)]
    pub period_end: Option<Timestamp>,
    /// The next renewal.
    #[serde(default)]
    pub renews_at: Option<Timestamp>,
    /// When the subscription started.
    #[serde(default)]
    pub subscribed_at: Option<Timestamp>,
    /// The events the change made (a subscription credit, an expiry).
    pub events: Vec<Event>,
    /// The balance after them.
    pub balance: Balance,
}

/// `getPlanSummary`'s answer: the seeds' Plan tab.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SummaryView {
    /// The organisation.
    pub org_id: String,
    /// The instant the figures are for.
    pub as_of: Timestamp,
    /// The org's zone.
    pub time_zone: String,
    /// The plan's name.
    #[serde(default)]
    pub plan: Option<String>,
    /// Identities the plan includes.
    #[serde(default)]
    pub identities: Option<u32>,
    /// Identities that started a conversation this month.
    pub identities_used: u32,
    /// The plan's monthly conversations per identity.
    pub conversations_per_identity: u32,
    /// The plan's credits per period.
    pub plan_credits: Micros,
    /// What is left of them.
    pub plan_credits_left: Micros,
    /// Prepaid (add-on) credits.
    pub add_on_credits: Micros,
    /// Plan credits carried over.
    pub accumulated_credits: Micros,
    /// Voucher and promotional credits.
    pub other_credits: Micros,
    /// Available credits.
    pub balance: Micros,
    /// Held credits.
    pub held: Micros,
    /// Overdraft in use.
    pub overdraft_used: Micros,
    /// What can still be spent.
    pub credits_left: Micros,
    /// Consumed this period.
    pub used_this_period: Micros,
    /// The plan's price.
    #[serde(default)]
    pub price: Option<Price>,
    /// The next top-up (renewal) date in the org's zone.
    #[serde(default)]
    pub top_up_date: Option<String>,
    /// The next renewal instant.
    #[serde(default)]
    pub renews_at: Option<Timestamp>,
    /// Days until the top-up.
    #[serde(default)]
    pub days_until_top_up: Option<i64>,
    /// The period's start.
    #[serde(default)]
    pub period_start: Option<Timestamp>,
    /// The period's end.
    #[serde(default)]
    pub period_end: Option<Timestamp>,
    /// The plan from the next renewal.
    #[serde(default)]
    pub next_plan: Option<String>,
    /// When credits run out at the recent pace.
    pub forecast: Forecast,
    /// The low-balance level and whether the balance is below it.
    pub low_balance: LowBalance,
    /// Auto top-up: off, active, disabled or paused (and why), and the
    /// top-up waiting for its payment.
    pub auto_top_up: AutoTopUpStatus,
    /// The caps the caller may see.
    pub caps: Vec<CapView>,
}

// ---- members, keys, caps -----------------------------------------------------------

/// A member's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including members.
    Owner,
    /// Everything of the org's credits.
    Admin,
    /// The summary and their own usage.
    Member,
}

/// `addMember`'s body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewMember {
    /// Unique in the org.
    pub email: String,
    /// For people.
    pub name: String,
    /// Default `member`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// `updateMember`'s body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MemberPatch {
    /// A new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// A member (`MemberView`; `Member` without the cap).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct MemberView {
    /// The organisation.
    pub org_id: String,
    /// Their email.
    pub email: String,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: Role,
    /// When they were added.
    pub created_at: Timestamp,
    /// Their spending cap, if any.
    #[serde(default)]
    pub cap: Option<CapView>,
}

/// `listMembers`' answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Members {
    /// Every member.
    pub members: Vec<MemberView>,
}

/// `removeMember`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct MemberRemoved {
    /// Who was removed.
    pub removed: MemberView,
}

/// Who a key acts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// A platform's key, for the orgs it is scoped to.
    Service,
    /// A member's own key in one org.
    Member,
}

/// `createApiKey`'s body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewKey {
    /// Service or member.
    pub kind: KeyKind,
    /// For people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A member key's org.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    /// A member key's member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A service key's orgs; none: every org.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_ids: Option<Vec<String>>,
}

/// An API key, never its secret (`KeyView`: its service and member forms
/// in one struct, `kind` telling which).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct KeyView {
    /// Service or member.
    pub kind: KeyKind,
    /// Its id.
    pub id: String,
    /// The start of its secret.
    pub prefix: String,
    /// Its name.
    pub name: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was last used.
    #[serde(default)]
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked.
    #[serde(default)]
    pub revoked_at: Option<Timestamp>,
    /// Its cap, if any.
    #[serde(default)]
    pub cap: Option<CapView>,
    /// A service key's orgs (none: every org).
    #[serde(default)]
    pub org_ids: Option<Vec<String>>,
    /// A member key's org.
    #[serde(default)]
    pub org_id: Option<String>,
    /// A member key's member.
    #[serde(default)]
    pub email: Option<String>,
}

/// `createApiKey`'s answer: the secret, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct KeyCreated {
    /// The key.
    pub key: KeyView,
    /// The secret to send as `Authorization: Bearer …`.
    pub secret: String,
    /// A reminder that it is not shown again.
    pub note: String,
}

/// `listApiKeys`' answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Keys {
    /// The keys.
    pub keys: Vec<KeyView>,
}

/// Who `getMe` says the caller is.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Me {
    /// The organisation asked about.
    pub org_id: String,
    /// Service or member.
    pub kind: KeyKind,
    /// The key's id, when a key.
    #[serde(default)]
    pub key_id: Option<String>,
    /// The member's email.
    #[serde(default)]
    pub email: Option<String>,
    /// The member's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The member's role.
    #[serde(default)]
    pub role: Option<Role>,
    /// A session's CSRF token.
    #[serde(default)]
    pub csrf_token: Option<String>,
    /// The caps that apply to the caller.
    pub caps: Vec<CapView>,
    /// The member's own consumption this period.
    #[serde(default)]
    pub usage_this_period: Option<OwnUsage>,
}

/// A member's own consumption in a period.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct OwnUsage {
    /// The period's start.
    pub period_start: Timestamp,
    /// Its end.
    pub period_end: Timestamp,
    /// What they consumed.
    pub consumed: Micros,
}

/// `setCap`'s body: exactly one subject; `limit` none removes the cap.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SetCap {
    /// A member, by email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// A key, by id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// A project, by id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Credits per period; none: no cap.
    pub limit: Option<Micros>,
}

/// `setCap`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CapSet {
    /// Whose cap.
    pub subject: CapSubject,
    /// The cap now; none when removed.
    #[serde(default)]
    pub cap: Option<CapView>,
}

/// `listCaps`' answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Caps {
    /// Every cap.
    pub caps: Vec<CapView>,
}

// ---- conversations, notifications, reports -----------------------------------------

/// `startConversation`'s body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewConversation {
    /// The sending identity.
    pub identity: String,
    /// The campaign, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    /// When it started; default now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
}

/// A conversation as stored.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Conversation {
    /// Per-org number.
    pub seq: u64,
    /// Who started it.
    pub identity: String,
    /// Its campaign.
    #[serde(default)]
    pub campaign: Option<String>,
    /// When it started.
    pub started_at: Timestamp,
    /// The analytics day (`YYYY-MM-DD` in the org's zone).
    pub day: String,
    /// The identity's conversations this month, this one included.
    pub month_count: u32,
    /// The identity's monthly limit.
    pub month_limit: u32,
    /// When it was recorded.
    pub created_at: Timestamp,
}

/// `startConversation`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ConversationStarted {
    /// The conversation.
    pub conversation: Conversation,
    /// How many more this identity may start this month.
    pub remaining_this_month: u32,
}

/// Conversations counted by `key` (a day, campaign or identity).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ConversationCount {
    /// The group's key.
    #[serde(default)]
    pub key: Option<String>,
    /// How many.
    pub conversations: u64,
}

/// `listConversations` and `getConversationUsage`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ConversationReport {
    /// `day`, `campaign` or `identity`.
    pub group_by: String,
    /// The range's first day.
    pub date_from: String,
    /// Its last day.
    pub date_to: String,
    /// The org's zone.
    pub time_zone: String,
    /// All conversations in the range.
    pub total: u64,
    /// Whether rows were cut at the server's limit.
    pub truncated: bool,
    /// One per group.
    pub rows: Vec<ConversationCount>,
}

/// The query of the conversation reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConversationQuery {
    /// `day`, `campaign` or `identity`.
    pub group_by: Option<String>,
    /// The first day.
    pub date_from: Option<String>,
    /// The last day.
    pub date_to: Option<String>,
}

impl ConversationQuery {
    fn pairs(&self) -> Vec<(String, String)> {
        [("group_by", &self.group_by), ("date_from", &self.date_from), ("date_to", &self.date_to)]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_owned(), v.clone())))
            .collect()
    }
}

/// `setLowBalanceThreshold`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ThresholdSet {
    /// The level and whether the balance is below it.
    pub low_balance: LowBalance,
    /// Available credits now.
    pub balance: Micros,
}

/// A stored notification.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Notification {
    /// Per-org number (pass as `after` to read on).
    pub seq: u64,
    /// When it was recorded.
    pub created_at: Timestamp,
    /// `low_balance`.
    pub kind: String,
    /// The level crossed.
    pub threshold: Micros,
    /// The balance then.
    pub balance: Micros,
    /// The event that crossed it.
    pub event_seq: u64,
}

/// `listNotifications`' answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Notifications {
    /// Oldest first.
    pub notifications: Vec<Notification>,
}

/// One row of a usage report.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct UsageEntry {
    /// The group's key (an action, email, project id, service, price key
    /// or day).
    #[serde(default)]
    pub key: Option<String>,
    /// A display name, when there is one.
    #[serde(default)]
    pub name: Option<String>,
    /// Credits consumed.
    pub credits: Micros,
    /// Operations counted.
    pub operations: i64,
    /// Priced quantity (0: none of these operations was priced).
    #[serde(default)]
    pub quantity: creditd_core::Quantity,
    /// By price: the price's unit.
    #[serde(default)]
    pub unit: Option<String>,
}

/// `getUsage`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct UsageReport {
    /// The organisation.
    pub org_id: String,
    /// The org's zone.
    pub time_zone: String,
    /// The range's name.
    pub range: String,
    /// Its first day.
    pub date_from: String,
    /// Its last day.
    pub date_to: String,
    /// Its first instant.
    pub from: Timestamp,
    /// Its end (exclusive).
    pub to: Timestamp,
    /// `action`, `user`, `project`, `service` or `day`.
    pub group_by: String,
    /// Credits in all.
    pub total_credits: Micros,
    /// Operations in all.
    pub total_operations: i64,
    /// Whether rows were cut at the server's limit.
    pub truncated: bool,
    /// The user the report is limited to.
    #[serde(default)]
    pub user_email: Option<String>,
    /// One per group.
    pub rows: Vec<UsageEntry>,
}

/// The query of `getUsage`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageQuery {
    /// A named range (`this_month`, …) or `custom`.
    pub range: Option<crate::Range>,
    /// The first day of a custom range.
    pub date_from: Option<String>,
    /// Its last day.
    pub date_to: Option<String>,
    /// `action`, `user`, `project`, `service` or `day`.
    pub group_by: Option<String>,
    /// Only this user.
    pub user_email: Option<String>,
}

/// The days of `getStatement` and `exportStatement`: a named range, or
/// `date_from`/`date_to` (plain dates, both inclusive).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatementQuery {
    /// A named range (`last_month`, …) or `custom`.
    pub range: Option<crate::Range>,
    /// The first day of a custom range.
    pub date_from: Option<String>,
    /// Its last day.
    pub date_to: Option<String>,
}

impl StatementQuery {
    fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        if let Some(r) = self.range {
            pairs.push(("range".to_owned(), r.as_str().to_owned()));
        }
        for (k, v) in [("date_from", &self.date_from), ("date_to", &self.date_to)] {
            if let Some(v) = v {
                pairs.push((k.to_owned(), v.clone()));
            }
        }
        pairs
    }
}

// ---- webhook endpoints ----------------------------------------------------------------

/// `createWebhookEndpoint`'s body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewEndpoint {
    /// Where messages are POSTed.
    pub url: String,
    /// The message types it wants; none: every type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<String>>,
}

/// A webhook endpoint, never its secret.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct EndpointView {
    /// `whe_…`.
    pub id: String,
    /// The organisation.
    pub org_id: String,
    /// Where messages go.
    pub url: String,
    /// The types it wants; none: every type.
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// The start of its secret.
    pub secret_prefix: String,
    /// When it was registered.
    pub created_at: Timestamp,
}

/// `createWebhookEndpoint`'s answer: the signing secret, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct EndpointCreated {
    /// The endpoint.
    pub endpoint: EndpointView,
    /// `whsec_…`: check deliveries with [`crate::webhooks::verify`].
    pub secret: String,
}

/// One message's delivery state.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct DeliveryView {
    /// The message id (the `Creditd-Webhook-Id` header).
    pub message_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The message type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The event behind it.
    pub event_seq: u64,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When it was delivered.
    #[serde(default)]
    pub delivered_at: Option<Timestamp>,
    /// The last attempt.
    #[serde(default)]
    pub last_attempt_at: Option<Timestamp>,
    /// The last attempt's error.
    #[serde(default)]
    pub last_error: Option<String>,
    /// The last attempt's HTTP status.
    #[serde(default)]
    pub last_status: Option<u16>,
    /// The next attempt.
    #[serde(default)]
    pub next_attempt_at: Option<Timestamp>,
}

/// `listWebhookDeliveries`' answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Deliveries {
    /// The endpoint.
    pub endpoint_id: String,
    /// Newest first.
    pub deliveries: Vec<DeliveryView>,
}

#[derive(Deserialize)]
struct Endpoints {
    endpoints: Vec<EndpointView>,
}

#[derive(Deserialize)]
struct EndpointFound {
    endpoint: EndpointView,
}

/// `deleteWebhookEndpoint`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct EndpointDeleted {
    /// The endpoint that was.
    pub endpoint: EndpointView,
    /// Whether it was deleted.
    pub deleted: bool,
}

// ---- the batch ----------------------------------------------------------------------

/// One operation of a batch (`BatchItem`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BatchItem {
    /// The organisation.
    pub org_id: String,
    /// `credits`, `settle`, `hold`, `debit`, `release`, `usage`, `refund`,
    /// `adjustment` or `billing`.
    pub op: String,
    /// The operation's body, as its own route takes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// The hold a `debit` or `release` settles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_id: Option<String>,
    /// The purchase a `settle` settles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase_id: Option<String>,
    /// The item's own key (the client gives none by default: set one to
    /// make the batch safe to resend).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// One item's result: `result` when `ok`, else `error`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct BatchResult {
    /// Whether it was applied.
    pub ok: bool,
    /// The status its own route would answer.
    pub status: u16,
    /// What it wrote.
    #[serde(default)]
    pub result: Option<WriteResult>,
    /// Why it was refused.
    #[serde(default)]
    pub error: Option<BatchError>,
}

/// A refused item's error.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct BatchError {
    /// The code (as the core's `ErrorCode` string).
    pub code: String,
    /// For people.
    pub message: String,
}

impl BatchError {
    /// The code as the core's enum (none for a code this client lacks).
    pub fn error_code(&self) -> Option<creditd_core::ErrorCode> {
        self.code.parse().ok()
    }
}

#[derive(Serialize)]
struct BatchRequest<'a> {
    operations: &'a [BatchItem],
}

#[derive(Deserialize)]
struct BatchResponse {
    results: Vec<BatchResult>,
}

#[derive(Serialize)]
struct Threshold {
    threshold: Option<Micros>,
}

#[derive(Deserialize)]
struct PriceBookList {
    price_books: Vec<PriceBook>,
}

/// One plan of the catalogue (`listCataloguePlans`, `putCataloguePlan`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CataloguePlan {
    /// Its id in the catalogue.
    pub id: String,
    /// The plan an organisation subscribes to when it chooses this one.
    pub plan: Plan,
    /// How the price is shown.
    #[serde(default)]
    pub price_text: Option<String>,
    /// A line about the plan.
    #[serde(default)]
    pub description: Option<String>,
    /// When this definition was written.
    pub updated_at: Timestamp,
}

/// `setPlan`'s body when it names a catalogue plan.
#[derive(Serialize)]
struct CataloguePlanChoice<'a> {
    plan_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    effective: Option<Effective>,
}

/// `putCataloguePlan`'s body: the plan and how it is shown.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CataloguePlanRequest {
    /// The plan's name.
    pub name: String,
    /// Credits granted at each period start.
    pub credits_per_period: Micros,
    /// Sending identities included.
    pub identities_included: u32,
    /// The price, an exact decimal in `currency`.
    pub price: Micros,
    /// ISO 4217 code.
    pub currency: String,
    /// Conversations per identity per month; default 500.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversations_per_identity: Option<u32>,
    /// What is carried over at renewal; default nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollover: Option<Rollover>,
    /// The price book its priced operations use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_book: Option<String>,
    /// How the price is shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_text: Option<String>,
    /// A line about the plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Deserialize)]
struct CatalogueList {
    plans: Vec<CataloguePlan>,
}

#[derive(Serialize)]
struct BuyMoreBody<'a> {
    amount: Micros,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_by: Option<&'a str>,
}

/// `requestPurchase`'s answer: the processing purchase, and where to pay.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct BuyMoreResult {
    /// The purchase event.
    pub events: Vec<Event>,
    /// The balance (unchanged until the purchase is settled).
    pub balance: Balance,
    /// The processing purchase.
    #[serde(default)]
    pub purchase: Option<creditd_core::Record>,
    /// The signed checkout URL, when the organisation has a template.
    #[serde(default)]
    pub checkout_url: Option<String>,
}

#[derive(Serialize)]
struct PlanChangeBody<'a> {
    plan_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    effective: Option<Effective>,
}

/// `requestPlanChange`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PlanChangeResult {
    /// True: applied (self-service); false: sent to the operator as a
    /// `plan_change.requested` webhook.
    pub applied: bool,
    /// The catalogue plan chosen.
    pub plan_id: String,
    /// The webhook message, when not applied.
    #[serde(default)]
    pub message_id: Option<String>,
    /// The organisation's plan after the request.
    pub plan: PlanView,
}

impl Client {
    // ---- the plan catalogue, Buy more, Change plan ---------------------------

    /// `listCataloguePlans`: every plan offered, in id order.
    pub async fn list_catalogue_plans(&self) -> Result<Vec<CataloguePlan>, Error> {
        let l: CatalogueList = self.call::<(), _>(&ops::LIST_CATALOGUE_PLANS, &[], Vec::new(), None, None).await?;
        Ok(l.plans)
    }

    /// `putCataloguePlan`: defines (or replaces) the plan `plan_id`.
    pub async fn put_catalogue_plan(&self, plan_id: &str, plan: &CataloguePlanRequest) -> Result<CataloguePlan, Error> {
        self.call(&ops::PUT_CATALOGUE_PLAN, &[plan_id], Vec::new(), Some(plan), None).await
    }

    /// `requestPurchase`: Buy more, a processing purchase of an offered
    /// amount (`requested_by`: whom a service key acts for).
    pub async fn request_purchase(
        &self,
        org_id: &str,
        amount: Micros,
        requested_by: Option<&str>,
        key: Option<&str>,
    ) -> Result<BuyMoreResult, Error> {
        let body = BuyMoreBody { amount, requested_by };
        self.call(&ops::REQUEST_PURCHASE, &[org_id], Vec::new(), Some(&body), key).await
    }

    /// `requestPlanChange`: Change plan to the catalogue's `plan_id`.
    pub async fn request_plan_change(
        &self,
        org_id: &str,
        plan_id: &str,
        effective: Option<Effective>,
        key: Option<&str>,
    ) -> Result<PlanChangeResult, Error> {
        let body = PlanChangeBody { plan_id, effective };
        self.call(&ops::REQUEST_PLAN_CHANGE, &[org_id], Vec::new(), Some(&body), key).await
    }

    // ---- plans --------------------------------------------------------------

    /// `getPlan`.
    pub async fn get_plan(&self, org_id: &str) -> Result<PlanView, Error> {
        self.call::<(), _>(&ops::GET_PLAN, &[org_id], Vec::new(), None, None).await
    }

    /// `setPlan`: subscribes, or changes the plan.
    pub async fn set_plan(&self, org_id: &str, plan: &PlanRequest, key: Option<&str>) -> Result<PlanChanged, Error> {
        self.call(&ops::SET_PLAN, &[org_id], Vec::new(), Some(plan), key).await
    }

    /// `setPlan` naming a plan of the catalogue (`putCataloguePlan`): the
    /// organisation gets a copy of it, from `effective` (default as
    /// `set_plan`'s).
    pub async fn set_catalogue_plan(
        &self,
        org_id: &str,
        plan_id: &str,
        effective: Option<Effective>,
        key: Option<&str>,
    ) -> Result<PlanChanged, Error> {
        let body = CataloguePlanChoice { plan_id, effective };
        self.call(&ops::SET_PLAN, &[org_id], Vec::new(), Some(&body), key).await
    }

    /// `getPlanSummary`: the Plan tab's figures.
    pub async fn get_plan_summary(&self, org_id: &str) -> Result<SummaryView, Error> {
        self.call::<(), _>(&ops::GET_PLAN_SUMMARY, &[org_id], Vec::new(), None, None).await
    }

    /// `setLowBalanceThreshold`: sets (or, with none, clears) the level.
    pub async fn set_low_balance_threshold(
        &self,
        org_id: &str,
        threshold: Option<Micros>,
        key: Option<&str>,
    ) -> Result<ThresholdSet, Error> {
        self.call(&ops::SET_LOW_BALANCE_THRESHOLD, &[org_id], Vec::new(), Some(&Threshold { threshold }), key).await
    }

    /// `getAutoTopUp`: the rule, the pending top-up, this period's counts,
    /// paused or not and why.
    pub async fn get_auto_top_up(&self, org_id: &str) -> Result<AutoTopUpView, Error> {
        self.call::<(), _>(&ops::GET_AUTO_TOP_UP, &[org_id], Vec::new(), None, None).await
    }

    /// `setAutoTopUp`: sets the rule (and resumes a paused auto top-up).
    pub async fn set_auto_top_up(
        &self,
        org_id: &str,
        rule: &AutoTopUpRule,
        key: Option<&str>,
    ) -> Result<AutoTopUpView, Error> {
        self.call(&ops::SET_AUTO_TOP_UP, &[org_id], Vec::new(), Some(rule), key).await
    }

    /// `getAlerts`: the usage alert levels and which have fired.
    pub async fn get_alerts(&self, org_id: &str) -> Result<AlertsView, Error> {
        self.call::<(), _>(&ops::GET_ALERTS, &[org_id], Vec::new(), None, None).await
    }

    /// `setAlerts`: replaces the usage alert levels.
    pub async fn set_alerts(
        &self,
        org_id: &str,
        levels: &[AlertLevel],
        key: Option<&str>,
    ) -> Result<AlertsView, Error> {
        #[derive(Serialize)]
        struct Levels<'a> {
            levels: &'a [AlertLevel],
        }
        self.call(&ops::SET_ALERTS, &[org_id], Vec::new(), Some(&Levels { levels }), key).await
    }

    /// `listNotifications`: those after `after` (a `seq`), at most `limit`.
    pub async fn list_notifications(
        &self,
        org_id: &str,
        after: Option<u64>,
        limit: Option<u32>,
    ) -> Result<Vec<Notification>, Error> {
        let mut q = Vec::new();
        if let Some(a) = after {
            q.push(("after".to_owned(), a.to_string()));
        }
        if let Some(l) = limit {
            q.push(("limit".to_owned(), l.to_string()));
        }
        let n: Notifications = self.call::<(), _>(&ops::LIST_NOTIFICATIONS, &[org_id], q, None, None).await?;
        Ok(n.notifications)
    }

    // ---- members, keys, caps ---------------------------------------------------

    /// `listMembers`.
    pub async fn list_members(&self, org_id: &str) -> Result<Vec<MemberView>, Error> {
        let m: Members = self.call::<(), _>(&ops::LIST_MEMBERS, &[org_id], Vec::new(), None, None).await?;
        Ok(m.members)
    }

    /// `addMember`.
    pub async fn add_member(&self, org_id: &str, member: &NewMember) -> Result<MemberView, Error> {
        self.call(&ops::ADD_MEMBER, &[org_id], Vec::new(), Some(member), None).await
    }

    /// `getMember`.
    pub async fn get_member(&self, org_id: &str, email: &str) -> Result<MemberView, Error> {
        self.call::<(), _>(&ops::GET_MEMBER, &[org_id, email], Vec::new(), None, None).await
    }

    /// `updateMember`.
    pub async fn update_member(&self, org_id: &str, email: &str, patch: &MemberPatch) -> Result<MemberView, Error> {
        self.call(&ops::UPDATE_MEMBER, &[org_id, email], Vec::new(), Some(patch), None).await
    }

    /// `removeMember`.
    pub async fn remove_member(&self, org_id: &str, email: &str) -> Result<MemberView, Error> {
        let r: MemberRemoved =
            self.call::<(), _>(&ops::REMOVE_MEMBER, &[org_id, email], Vec::new(), None, None).await?;
        Ok(r.removed)
    }

    /// `getMe`: who the caller is in `org_id`.
    pub async fn get_me(&self, org_id: &str) -> Result<Me, Error> {
        self.call::<(), _>(&ops::GET_ME, &[org_id], Vec::new(), None, None).await
    }

    /// `listApiKeys`, of one org or (none) every key the caller may see.
    pub async fn list_api_keys(&self, org_id: Option<&str>) -> Result<Vec<KeyView>, Error> {
        let q = org_id.map(|o| vec![("org_id".to_owned(), o.to_owned())]).unwrap_or_default();
        let k: Keys = self.call::<(), _>(&ops::LIST_API_KEYS, &[], q, None, None).await?;
        Ok(k.keys)
    }

    /// `createApiKey`: the answer has the secret, once.
    pub async fn create_api_key(&self, key: &NewKey) -> Result<KeyCreated, Error> {
        self.call(&ops::CREATE_API_KEY, &[], Vec::new(), Some(key), None).await
    }

    /// `getApiKey`.
    pub async fn get_api_key(&self, key_id: &str) -> Result<KeyView, Error> {
        self.call::<(), _>(&ops::GET_API_KEY, &[key_id], Vec::new(), None, None).await
    }

    /// `revokeApiKey`.
    pub async fn revoke_api_key(&self, key_id: &str) -> Result<KeyView, Error> {
        self.call::<(), _>(&ops::REVOKE_API_KEY, &[key_id], Vec::new(), None, None).await
    }

    /// `listCaps`.
    pub async fn list_caps(&self, org_id: &str) -> Result<Vec<CapView>, Error> {
        let c: Caps = self.call::<(), _>(&ops::LIST_CAPS, &[org_id], Vec::new(), None, None).await?;
        Ok(c.caps)
    }

    /// `setCap`: sets or removes a member's, key's or project's cap.
    pub async fn set_cap(&self, org_id: &str, cap: &SetCap) -> Result<CapSet, Error> {
        self.call(&ops::SET_CAP, &[org_id], Vec::new(), Some(cap), None).await
    }

    // ---- conversations and reports ---------------------------------------------

    /// `startConversation`: counts one against its identity's limits.
    pub async fn start_conversation(
        &self,
        org_id: &str,
        conversation: &NewConversation,
        key: Option<&str>,
    ) -> Result<ConversationStarted, Error> {
        self.call(&ops::START_CONVERSATION, &[org_id], Vec::new(), Some(conversation), key).await
    }

    /// `listConversations`: conversations grouped.
    pub async fn list_conversations(&self, org_id: &str, q: &ConversationQuery) -> Result<ConversationReport, Error> {
        self.call::<(), _>(&ops::LIST_CONVERSATIONS, &[org_id], q.pairs(), None, None).await
    }

    /// `getConversationUsage`: conversations by day, campaign, identity.
    pub async fn get_conversation_usage(
        &self,
        org_id: &str,
        q: &ConversationQuery,
    ) -> Result<ConversationReport, Error> {
        self.call::<(), _>(&ops::GET_CONVERSATION_USAGE, &[org_id], q.pairs(), None, None).await
    }

    /// `getUsage`: usage by action, user, project, service or day.
    pub async fn get_usage(&self, org_id: &str, q: &UsageQuery) -> Result<UsageReport, Error> {
        let mut pairs = Vec::new();
        if let Some(r) = q.range {
            pairs.push(("range".to_owned(), r.as_str().to_owned()));
        }
        for (k, v) in [
            ("date_from", &q.date_from),
            ("date_to", &q.date_to),
            ("group_by", &q.group_by),
            ("user_email", &q.user_email),
        ] {
            if let Some(v) = v {
                pairs.push((k.to_owned(), v.clone()));
            }
        }
        self.call::<(), _>(&ops::GET_USAGE, &[org_id], pairs, None, None).await
    }

    /// `getBalanceAsOf`: the balances as they were at `as_of` (an RFC 3339
    /// time, or a date meaning its end in the organisation's zone).
    pub async fn get_balance_as_of(&self, org_id: &str, as_of: &str) -> Result<BalanceAt, Error> {
        let pairs = vec![("as_of".to_owned(), as_of.to_owned())];
        self.call::<(), _>(&ops::GET_BALANCE_AS_OF, &[org_id], pairs, None, None).await
    }

    /// `getStatement`: opening balance, credits in and out by kind, closing
    /// balance over whole days.
    pub async fn get_statement(&self, org_id: &str, q: &StatementQuery) -> Result<Statement, Error> {
        self.call::<(), _>(&ops::GET_STATEMENT, &[org_id], q.pairs(), None, None).await
    }

    /// `exportStatement`: the statement as a file (`format`: `csv` or
    /// `xlsx`), its bytes.
    pub async fn export_statement(&self, org_id: &str, q: &StatementQuery, format: &str) -> Result<Vec<u8>, Error> {
        let mut pairs = q.pairs();
        pairs.push(("format".to_owned(), format.to_owned()));
        let response = self.send(&ops::EXPORT_STATEMENT, &[org_id], pairs, None, None).await?;
        let bytes =
            response.bytes().await.map_err(|e| Error::Connection { operation: ops::EXPORT_STATEMENT.id, source: e })?;
        Ok(bytes.to_vec())
    }

    /// `verifyLedger`: recomputes the balances and the hash chain.
    pub async fn verify_ledger(&self, org_id: &str) -> Result<VerifyReport, Error> {
        self.call::<(), _>(&ops::VERIFY_LEDGER, &[org_id], Vec::new(), None, None).await
    }

    // ---- webhook endpoints -------------------------------------------------------

    /// `createWebhookEndpoint`: the answer has the signing secret, once.
    pub async fn create_webhook_endpoint(
        &self,
        org_id: &str,
        endpoint: &NewEndpoint,
    ) -> Result<EndpointCreated, Error> {
        self.call(&ops::CREATE_WEBHOOK_ENDPOINT, &[org_id], Vec::new(), Some(endpoint), None).await
    }

    /// `listWebhookEndpoints`.
    pub async fn list_webhook_endpoints(&self, org_id: &str) -> Result<Vec<EndpointView>, Error> {
        let e: Endpoints = self.call::<(), _>(&ops::LIST_WEBHOOK_ENDPOINTS, &[org_id], Vec::new(), None, None).await?;
        Ok(e.endpoints)
    }

    /// `getWebhookEndpoint`.
    pub async fn get_webhook_endpoint(&self, org_id: &str, id: &str) -> Result<EndpointView, Error> {
        let e: EndpointFound =
            self.call::<(), _>(&ops::GET_WEBHOOK_ENDPOINT, &[org_id, id], Vec::new(), None, None).await?;
        Ok(e.endpoint)
    }

    /// `deleteWebhookEndpoint`: the endpoint and its deliveries.
    pub async fn delete_webhook_endpoint(&self, org_id: &str, id: &str) -> Result<EndpointDeleted, Error> {
        self.call::<(), _>(&ops::DELETE_WEBHOOK_ENDPOINT, &[org_id, id], Vec::new(), None, None).await
    }

    /// `listWebhookDeliveries`: each message's delivery state.
    pub async fn list_webhook_deliveries(
        &self,
        org_id: &str,
        id: &str,
        limit: Option<u32>,
    ) -> Result<Deliveries, Error> {
        let q = limit.map(|l| vec![("limit".to_owned(), l.to_string())]).unwrap_or_default();
        self.call::<(), _>(&ops::LIST_WEBHOOK_DELIVERIES, &[org_id, id], q, None, None).await
    }

    // ---- price books and the batch ---------------------------------------------

    /// `listPriceBooks`: every book and its versions.
    pub async fn list_price_books(&self) -> Result<Vec<PriceBook>, Error> {
        let l: PriceBookList = self.call::<(), _>(&ops::LIST_PRICE_BOOKS, &[], Vec::new(), None, None).await?;
        Ok(l.price_books)
    }

    /// `getPriceBook`.
    pub async fn get_price_book(&self, book_id: &str) -> Result<PriceBook, Error> {
        self.call::<(), _>(&ops::GET_PRICE_BOOK, &[book_id], Vec::new(), None, None).await
    }

    /// `putPriceBook`: writes the book's next version.
    pub async fn put_price_book(&self, book_id: &str, draft: &PriceBookDraft) -> Result<PriceBookVersion, Error> {
        self.call(&ops::PUT_PRICE_BOOK, &[book_id], Vec::new(), Some(draft), None).await
    }

    /// `runBatch`: many ledger operations, one result each, in order. The
    /// request is resent only where nothing was applied (429, 5xx, no
    /// connection): give each item its own `idempotency_key` to make any
    /// resend safe.
    pub async fn run_batch(&self, items: &[BatchItem]) -> Result<Vec<BatchResult>, Error> {
        let r: BatchResponse =
            self.call(&ops::RUN_BATCH, &[], Vec::new(), Some(&BatchRequest { operations: items }), None).await?;
        Ok(r.results)
    }
}
