//! The client's operation table: every API operation it calls, by the
//! document's operation id, method and path.
//!
//! Every method of [`Client`](crate::Client) sends one of these constants,
//! so this table is what the client covers. The `coverage` test compares it
//! with `openapi.json`: an operation the server documents that is neither
//! here nor in [`NOT_COVERED`] (with the reason) fails the test, as does an
//! entry here that the document lacks or describes differently.

/// An HTTP method the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET: a read.
    Get,
    /// POST: a write (most carry an `Idempotency-Key`).
    Post,
    /// PUT: sets a value.
    Put,
    /// PATCH: changes some fields.
    Patch,
    /// DELETE: removes.
    Delete,
}

impl Method {
    /// The method's name as sent.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    pub(crate) fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

/// One operation of the API document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The document's `operationId`.
    pub id: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The path template, `{name}` for each path parameter.
    pub path: &'static str,
    /// Whether the document lists an `Idempotency-Key` header: the server
    /// answers a retry with the same key with the first result, so the
    /// client may resend it even after the request may have arrived.
    pub idempotent: bool,
}

const fn op(id: &'static str, method: Method, path: &'static str, idempotent: bool) -> Operation {
    Operation { id, method, path, idempotent }
}

/// Many operations, one result each (`POST /api/batch`).
pub const RUN_BATCH: Operation = op("runBatch", Method::Post, "/api/batch", false);
/// API keys (`GET /api/keys`).
pub const LIST_API_KEYS: Operation = op("listApiKeys", Method::Get, "/api/keys", false);
/// Create an API key (the secret is shown once) (`POST /api/keys`).
pub const CREATE_API_KEY: Operation = op("createApiKey", Method::Post, "/api/keys", false);
/// Revoke an API key (`DELETE /api/keys/{key_id}`).
pub const REVOKE_API_KEY: Operation = op("revokeApiKey", Method::Delete, "/api/keys/{key_id}", false);
/// One API key (`GET /api/keys/{key_id}`).
pub const GET_API_KEY: Operation = op("getApiKey", Method::Get, "/api/keys/{key_id}", false);
/// Create an organisation (`POST /api/organizations`).
pub const CREATE_ORGANIZATION: Operation = op("createOrganization", Method::Post, "/api/organizations", false);
/// An organisation and its settings (`GET /api/organizations/{org_id}`).
pub const GET_ORGANIZATION: Operation = op("getOrganization", Method::Get, "/api/organizations/{org_id}", false);
/// Change an organisation's settings (`PATCH /api/organizations/{org_id}`).
pub const UPDATE_ORGANIZATION: Operation =
    op("updateOrganization", Method::Patch, "/api/organizations/{org_id}", false);
/// Signed correction with a reason (`POST /api/organizations/{org_id}/adjustments`).
pub const ADJUST_CREDITS: Operation =
    op("adjustCredits", Method::Post, "/api/organizations/{org_id}/adjustments", true);
/// Available, held, per pool (`GET /api/organizations/{org_id}/balance`).
pub const GET_BALANCE: Operation = op("getBalance", Method::Get, "/api/organizations/{org_id}/balance", false);
/// Available, held and open holds as they were at a time (`GET /api/organizations/{org_id}/balance/as-of`).
pub const GET_BALANCE_AS_OF: Operation =
    op("getBalanceAsOf", Method::Get, "/api/organizations/{org_id}/balance/as-of", false);
/// Opening balance, credits in and out by kind, closing balance (`GET /api/organizations/{org_id}/statement`).
pub const GET_STATEMENT: Operation = op("getStatement", Method::Get, "/api/organizations/{org_id}/statement", false);
/// A statement as CSV or XLSX (`GET /api/organizations/{org_id}/statement/export`).
pub const EXPORT_STATEMENT: Operation =
    op("exportStatement", Method::Get, "/api/organizations/{org_id}/statement/export", false);
/// An invoice or charge record (`POST /api/organizations/{org_id}/billing`).
pub const RECORD_BILLING: Operation = op("recordBilling", Method::Post, "/api/organizations/{org_id}/billing", true);
/// Spending caps (`GET /api/organizations/{org_id}/caps`).
pub const LIST_CAPS: Operation = op("listCaps", Method::Get, "/api/organizations/{org_id}/caps", false);
/// Set a spending cap (`PUT /api/organizations/{org_id}/caps`).
pub const SET_CAP: Operation = op("setCap", Method::Put, "/api/organizations/{org_id}/caps", false);
/// Conversations grouped (`GET /api/organizations/{org_id}/conversations`).
pub const LIST_CONVERSATIONS: Operation =
    op("listConversations", Method::Get, "/api/organizations/{org_id}/conversations", false);
/// Count a conversation against its identity (`POST /api/organizations/{org_id}/conversations`).
pub const START_CONVERSATION: Operation =
    op("startConversation", Method::Post, "/api/organizations/{org_id}/conversations", true);
/// Conversations by day, campaign, identity (`GET /api/organizations/{org_id}/conversations/usage`).
pub const GET_CONVERSATION_USAGE: Operation =
    op("getConversationUsage", Method::Get, "/api/organizations/{org_id}/conversations/usage", false);
/// Credit history, newest first (`GET /api/organizations/{org_id}/credit-events`).
pub const LIST_CREDIT_EVENTS: Operation =
    op("listCreditEvents", Method::Get, "/api/organizations/{org_id}/credit-events", false);
/// Every matching event as CSV or XLSX (`GET /api/organizations/{org_id}/credit-events/export`).
pub const EXPORT_CREDIT_EVENTS: Operation =
    op("exportCreditEvents", Method::Get, "/api/organizations/{org_id}/credit-events/export", false);
/// Grant, purchase, voucher or subscription credits (`POST /api/organizations/{org_id}/credits`).
pub const GRANT_CREDITS: Operation = op("grantCredits", Method::Post, "/api/organizations/{org_id}/credits", true);
/// Reserve credits (`POST /api/organizations/{org_id}/holds`).
pub const CREATE_HOLD: Operation = op("createHold", Method::Post, "/api/organizations/{org_id}/holds", true);
/// Capture a hold once (`POST /api/organizations/{org_id}/holds/{id}/debit`).
pub const DEBIT_HOLD: Operation = op("debitHold", Method::Post, "/api/organizations/{org_id}/holds/{id}/debit", true);
/// Grow a hold or give it more time (`POST /api/organizations/{org_id}/holds/{id}/extend`).
pub const EXTEND_HOLD: Operation =
    op("extendHold", Method::Post, "/api/organizations/{org_id}/holds/{id}/extend", true);
/// Would a hold or usage be accepted now (`POST /api/organizations/{org_id}/check`).
pub const CHECK_BEFORE_ACTING: Operation =
    op("checkBeforeActing", Method::Post, "/api/organizations/{org_id}/check", false);
/// Release a hold (`POST /api/organizations/{org_id}/holds/{id}/release`).
pub const RELEASE_HOLD: Operation =
    op("releaseHold", Method::Post, "/api/organizations/{org_id}/holds/{id}/release", true);
/// Set or clear the alert threshold (`PUT /api/organizations/{org_id}/low-balance-threshold`).
pub const SET_LOW_BALANCE_THRESHOLD: Operation =
    op("setLowBalanceThreshold", Method::Put, "/api/organizations/{org_id}/low-balance-threshold", true);
/// Who the caller is here (`GET /api/organizations/{org_id}/me`).
pub const GET_ME: Operation = op("getMe", Method::Get, "/api/organizations/{org_id}/me", false);
/// Members and their roles (`GET /api/organizations/{org_id}/members`).
pub const LIST_MEMBERS: Operation = op("listMembers", Method::Get, "/api/organizations/{org_id}/members", false);
/// Add a member (`POST /api/organizations/{org_id}/members`).
pub const ADD_MEMBER: Operation = op("addMember", Method::Post, "/api/organizations/{org_id}/members", false);
/// Remove a member (`DELETE /api/organizations/{org_id}/members/{email}`).
pub const REMOVE_MEMBER: Operation =
    op("removeMember", Method::Delete, "/api/organizations/{org_id}/members/{email}", false);
/// One member (`GET /api/organizations/{org_id}/members/{email}`).
pub const GET_MEMBER: Operation = op("getMember", Method::Get, "/api/organizations/{org_id}/members/{email}", false);
/// Change a member (`PATCH /api/organizations/{org_id}/members/{email}`).
pub const UPDATE_MEMBER: Operation =
    op("updateMember", Method::Patch, "/api/organizations/{org_id}/members/{email}", false);
/// The auto top-up rule and where it stands (`GET /api/organizations/{org_id}/auto-top-up`).
pub const GET_AUTO_TOP_UP: Operation =
    op("getAutoTopUp", Method::Get, "/api/organizations/{org_id}/auto-top-up", false);
/// Set the auto top-up rule (`PUT /api/organizations/{org_id}/auto-top-up`).
pub const SET_AUTO_TOP_UP: Operation = op("setAutoTopUp", Method::Put, "/api/organizations/{org_id}/auto-top-up", true);
/// The usage alert levels (`GET /api/organizations/{org_id}/alerts`).
pub const GET_ALERTS: Operation = op("getAlerts", Method::Get, "/api/organizations/{org_id}/alerts", false);
/// Set the usage alert levels (`PUT /api/organizations/{org_id}/alerts`).
pub const SET_ALERTS: Operation = op("setAlerts", Method::Put, "/api/organizations/{org_id}/alerts", true);
/// Stored notifications (`GET /api/organizations/{org_id}/notifications`).
pub const LIST_NOTIFICATIONS: Operation =
    op("listNotifications", Method::Get, "/api/organizations/{org_id}/notifications", false);
/// The plan, a pending change, the period (`GET /api/organizations/{org_id}/plan`).
pub const GET_PLAN: Operation = op("getPlan", Method::Get, "/api/organizations/{org_id}/plan", false);
/// Subscribe or change the plan (`PUT /api/organizations/{org_id}/plan`).
pub const SET_PLAN: Operation = op("setPlan", Method::Put, "/api/organizations/{org_id}/plan", true);
/// Change plan: choose a catalogue plan (`POST /api/organizations/{org_id}/plan/change`).
pub const REQUEST_PLAN_CHANGE: Operation =
    op("requestPlanChange", Method::Post, "/api/organizations/{org_id}/plan/change", true);
/// Buy more: request a purchase of an offered amount (`POST /api/organizations/{org_id}/purchases/request`).
pub const REQUEST_PURCHASE: Operation =
    op("requestPurchase", Method::Post, "/api/organizations/{org_id}/purchases/request", true);
/// Settle a purchase (`POST /api/organizations/{org_id}/purchases/{id}/settle`).
pub const SETTLE_PURCHASE: Operation =
    op("settlePurchase", Method::Post, "/api/organizations/{org_id}/purchases/{id}/settle", true);
/// Take back a succeeded purchase (`POST /api/organizations/{org_id}/purchases/{id}/reverse`).
pub const REVERSE_PURCHASE: Operation =
    op("reversePurchase", Method::Post, "/api/organizations/{org_id}/purchases/{id}/reverse", true);
/// Move credits to a parent, child or sibling (`POST /api/organizations/{org_id}/transfers`).
pub const CREATE_TRANSFER: Operation =
    op("createTransfer", Method::Post, "/api/organizations/{org_id}/transfers", true);
/// Refund consumed credits (`POST /api/organizations/{org_id}/refunds`).
pub const REFUND_USAGE: Operation = op("refundUsage", Method::Post, "/api/organizations/{org_id}/refunds", true);
/// The plan tab: plan, balance, renewal, forecast (`GET /api/organizations/{org_id}/summary`).
pub const GET_PLAN_SUMMARY: Operation = op("getPlanSummary", Method::Get, "/api/organizations/{org_id}/summary", false);
/// Usage by action, user, project or day (`GET /api/organizations/{org_id}/usage`).
pub const GET_USAGE: Operation = op("getUsage", Method::Get, "/api/organizations/{org_id}/usage", false);
/// Consume credits without a hold (`POST /api/organizations/{org_id}/usage`).
pub const RECORD_USAGE: Operation = op("recordUsage", Method::Post, "/api/organizations/{org_id}/usage", true);
/// Recompute balances and the hash chain (`GET /api/organizations/{org_id}/verify`).
pub const VERIFY_LEDGER: Operation = op("verifyLedger", Method::Get, "/api/organizations/{org_id}/verify", false);
/// Webhook endpoints (secrets never shown) (`GET /api/organizations/{org_id}/webhooks`).
pub const LIST_WEBHOOK_ENDPOINTS: Operation =
    op("listWebhookEndpoints", Method::Get, "/api/organizations/{org_id}/webhooks", false);
/// Register an endpoint (the secret is shown once) (`POST /api/organizations/{org_id}/webhooks`).
pub const CREATE_WEBHOOK_ENDPOINT: Operation =
    op("createWebhookEndpoint", Method::Post, "/api/organizations/{org_id}/webhooks", false);
/// Delete an endpoint and its deliveries (`DELETE /api/organizations/{org_id}/webhooks/{id}`).
pub const DELETE_WEBHOOK_ENDPOINT: Operation =
    op("deleteWebhookEndpoint", Method::Delete, "/api/organizations/{org_id}/webhooks/{id}", false);
/// One webhook endpoint (`GET /api/organizations/{org_id}/webhooks/{id}`).
pub const GET_WEBHOOK_ENDPOINT: Operation =
    op("getWebhookEndpoint", Method::Get, "/api/organizations/{org_id}/webhooks/{id}", false);
/// Delivery state per message (`GET /api/organizations/{org_id}/webhooks/{id}/deliveries`).
pub const LIST_WEBHOOK_DELIVERIES: Operation =
    op("listWebhookDeliveries", Method::Get, "/api/organizations/{org_id}/webhooks/{id}/deliveries", false);
/// The plan catalogue (`GET /api/plans`).
pub const LIST_CATALOGUE_PLANS: Operation = op("listCataloguePlans", Method::Get, "/api/plans", false);
/// Define a plan of the catalogue (`PUT /api/plans/{plan_id}`).
pub const PUT_CATALOGUE_PLAN: Operation = op("putCataloguePlan", Method::Put, "/api/plans/{plan_id}", false);
/// Every price book and its versions (`GET /api/price-books`).
pub const LIST_PRICE_BOOKS: Operation = op("listPriceBooks", Method::Get, "/api/price-books", false);
/// A price book's versions (`GET /api/price-books/{book_id}`).
pub const GET_PRICE_BOOK: Operation = op("getPriceBook", Method::Get, "/api/price-books/{book_id}", false);
/// Write a price book's next version (`PUT /api/price-books/{book_id}`).
pub const PUT_PRICE_BOOK: Operation = op("putPriceBook", Method::Put, "/api/price-books/{book_id}", false);
/// The process answers (`GET /healthz`).
pub const GET_HEALTH: Operation = op("getHealth", Method::Get, "/healthz", false);
/// This document (`GET /openapi.json`).
pub const GET_OPEN_API_DOCUMENT: Operation = op("getOpenApiDocument", Method::Get, "/openapi.json", false);
/// The store answers a read (`GET /readyz`).
pub const GET_READINESS: Operation = op("getReadiness", Method::Get, "/readyz", false);

/// Every operation the client calls, in the document's path order.
pub const OPERATIONS: &[Operation] = &[
    RUN_BATCH,
    LIST_API_KEYS,
    CREATE_API_KEY,
    REVOKE_API_KEY,
    GET_API_KEY,
    CREATE_ORGANIZATION,
    GET_ORGANIZATION,
    UPDATE_ORGANIZATION,
    ADJUST_CREDITS,
    GET_BALANCE,
    GET_BALANCE_AS_OF,
    RECORD_BILLING,
    LIST_CAPS,
    SET_CAP,
    CHECK_BEFORE_ACTING,
    LIST_CONVERSATIONS,
    START_CONVERSATION,
    GET_CONVERSATION_USAGE,
    LIST_CREDIT_EVENTS,
    EXPORT_CREDIT_EVENTS,
    GRANT_CREDITS,
    CREATE_HOLD,
    DEBIT_HOLD,
    EXTEND_HOLD,
    RELEASE_HOLD,
    SET_LOW_BALANCE_THRESHOLD,
    GET_ME,
    LIST_MEMBERS,
    ADD_MEMBER,
    REMOVE_MEMBER,
    GET_MEMBER,
    UPDATE_MEMBER,
    LIST_NOTIFICATIONS,
    GET_AUTO_TOP_UP,
    SET_AUTO_TOP_UP,
    GET_ALERTS,
    SET_ALERTS,
    GET_PLAN,
    SET_PLAN,
    REQUEST_PLAN_CHANGE,
    REQUEST_PURCHASE,
    SETTLE_PURCHASE,
    REVERSE_PURCHASE,
    CREATE_TRANSFER,
    REFUND_USAGE,
    GET_PLAN_SUMMARY,
    GET_STATEMENT,
    EXPORT_STATEMENT,
    GET_USAGE,
    RECORD_USAGE,
    VERIFY_LEDGER,
    LIST_WEBHOOK_ENDPOINTS,
    CREATE_WEBHOOK_ENDPOINT,
    DELETE_WEBHOOK_ENDPOINT,
    GET_WEBHOOK_ENDPOINT,
    LIST_WEBHOOK_DELIVERIES,
    LIST_CATALOGUE_PLANS,
    PUT_CATALOGUE_PLAN,
    LIST_PRICE_BOOKS,
    GET_PRICE_BOOK,
    PUT_PRICE_BOOK,
    GET_HEALTH,
    GET_OPEN_API_DOCUMENT,
    GET_READINESS,
];

/// Operations of the document the client leaves out on purpose, each with
/// the reason: they serve people's browsers, not programs.
pub const NOT_COVERED: &[(&str, &str)] = &[
    ("getDashboardPlanPage", "dashboard HTML page (session cookie, for browsers)"),
    ("getDashboardCreditsPage", "dashboard HTML page (session cookie, for browsers)"),
    ("getDashboardConversationsPage", "dashboard HTML page (session cookie, for browsers)"),
    ("getDashboardHistoryPage", "dashboard HTML page (session cookie, for browsers)"),
    ("getDashboardStatementPage", "dashboard HTML page (session cookie, for browsers)"),
    ("getDashboardStyles", "dashboard asset"),
    ("getDashboardScript", "dashboard asset"),
    ("getDashboardIcon", "dashboard asset"),
    ("getFavicon", "dashboard asset (browsers ask for /favicon.ico)"),
    ("getApiDocs", "Swagger UI HTML page"),
    ("signIn", "dashboard sign-in link (sets a session cookie)"),
    ("signOut", "dashboard sign-out (session cookie and CSRF token)"),
    ("buyMoreFromDashboard", "dashboard form (session cookie and CSRF token); programs call requestPurchase"),
    ("changePlanFromDashboard", "dashboard form (session cookie and CSRF token); programs call requestPlanChange"),
    ("getMetrics", "Prometheus text for a scraper, not an API answer"),
];
