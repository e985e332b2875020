//! Every route, listed once: [`table`] is the one list from which both the
//! axum router ([`router`]) and the OpenAPI document ([`document`]) are
//! built, so a route cannot be served without being documented, nor
//! documented without being served.
//!
//! An entry names its method, path and handler; what the handler answers
//! (and whether it reads a typed body or an `Idempotency-Key`) is read from
//! the handler's own signature (`answer::HandlerDoc`). The entry adds what
//! a signature cannot say: the operation id (required: the name generated
//! clients give the route), tag and summary, a description and examples,
//! the type of a body the handler parses itself, the typed query string,
//! and whether the route is public or needs a key or session (the
//! `authenticate` layer). The
//! role each handler requires stays in the handler
//! (`principal.require(Action::X, org)`), next to what it guards.

use std::sync::OnceLock;

use axum::Router;
use axum::handler::Handler;
use axum::middleware;
use axum::routing::{MethodFilter, MethodRouter, on};
use creditd_core::SettingsPatch;
use serde_json::json;
use utoipa::openapi::OpenApi;

use crate::admin::{AddMemberRequest, CreateKeyRequest, KEY_LIST_PARAMS, PatchMemberRequest, SetCapRequest};
use crate::analytics::USAGE_PARAMS;
use crate::answer::{ApiDocument, HandlerDoc};
use crate::openapi::{
    AsOfParams, ConversationParams, DeliveryParams, EXPORT_QUERY, HISTORY_QUERY, KeyListParams, NotificationParams,
    Route, StatementExportParams, StatementParams, UsageParams, examples, export_params, history_params, query_of,
    schema,
};
use crate::plans::{CONVERSATION_PARAMS, NOTIFICATION_PARAMS};
use crate::statements::{AS_OF_PARAMS, STATEMENT_EXPORT_PARAMS, STATEMENT_PARAMS};
use crate::webhooks::{CreateEndpointRequest, DELIVERY_PARAMS};
use crate::wire::{
    AdjustmentRequest, BillingRequest, CheckRequest, CreditRequest, DebitRequest, ExtendRequest, HoldRequest,
    RefundRequest, ReleaseRequest, ReverseRequest, SettleRequest, UsageRequest,
};
use crate::{
    AppState, admin, analytics, api, auth, dashboard, history, money_in, ops, plans, prices, statements, topup,
    transfers, webhooks,
};

/// What serves a route.
pub enum Serve {
    /// One method of one path (boxed: a method router is large).
    Method(Box<MethodRouter<AppState>>),
    /// A router of its own, merged as it is (Swagger UI: `/docs`, its
    /// trailing-slash page and its assets).
    Router(Router<AppState>),
}

/// Extra layers a route runs behind (besides authentication).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// None.
    None,
    /// Waits for an export slot (`ops::limit_exports`).
    ExportSlot,
}

/// One route: its description in the document and what serves it.
pub struct Entry {
    /// The document's description (method, path, types, public or not).
    pub route: Route,
    /// The handler.
    pub serve: Serve,
    /// Extra layers.
    pub limit: Limit,
}

impl Entry {
    /// Open to anyone: no key or session is asked for.
    fn public(mut self) -> Entry {
        self.route = self.route.public();
        self
    }

    /// The handler parses its raw body itself, as this type.
    fn takes(mut self, request: crate::openapi::SchemaFn) -> Entry {
        self.route = self.route.takes(request);
        self
    }

    /// As [`Entry::takes`], and the body may be left out (read as `{}`).
    fn may_take(mut self, request: crate::openapi::SchemaFn) -> Entry {
        self.route = self.route.may_take(request);
        self
    }

    /// Reads these query parameters (`names` as the handler checks them).
    fn reads(mut self, names: &'static [&'static str], params: crate::openapi::ParamsFn) -> Entry {
        self.route = self.route.reads(names, params);
        self
    }

    /// Says more than the summary.
    fn describe(mut self, description: &'static str) -> Entry {
        self.route = self.route.describe(description);
        self
    }

    /// A body a newcomer would send (checked against the body's schema).
    fn example(mut self, body: crate::openapi::ExampleFn) -> Entry {
        self.route = self.route.example(body);
        self
    }

    /// What a success answers (checked against the answer's schema).
    fn answers(mut self, body: crate::openapi::ExampleFn) -> Entry {
        self.route = self.route.answers(body);
        self
    }

    /// Runs behind an export slot.
    fn export_slot(mut self) -> Entry {
        self.limit = Limit::ExportSlot;
        self
    }
}

fn filter(method: &str) -> MethodFilter {
    match method {
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "PATCH" => MethodFilter::PATCH,
        "DELETE" => MethodFilter::DELETE,
        _ => MethodFilter::GET,
    }
}

/// An entry for `handler` on `method path`, described by its signature;
/// `id` is its operation id (camelCase, a verb first: `createHold`).
fn at<H, T, M>(
    method: &'static str,
    path: &'static str,
    id: &'static str,
    tag: &'static str,
    summary: &'static str,
    handler: H,
) -> Entry
where
    H: Handler<T, AppState> + HandlerDoc<M>,
    T: 'static,
{
    Entry {
        route: Route::new(method, path, id, tag, summary, H::described()),
        serve: Serve::Method(Box::new(on(filter(method), handler))),
        limit: Limit::None,
    }
}

/// The organisation prefix of most routes.
macro_rules! org {
    ($rest:literal) => {
        concat!("/api/organizations/{org_id}", $rest)
    };
}

/// Every route the server answers, in the document's order. Each names
/// its operation id (what generated clients call it), its tag and summary.
pub fn table() -> Vec<Entry> {
    use crate::answer::Answer;
    let docs = Route::new(
        "GET",
        "/docs",
        "getApiDocs",
        "operations",
        "Swagger UI",
        crate::answer::Described { answer: Answer::Html, response: None, request: None, keyed: false },
    );
    vec![
        at("GET", "/healthz", "getHealth", "operations", "The process answers", api::healthz)
            .public()
            .answers(examples::healthy),
        at("GET", "/readyz", "getReadiness", "operations", "The store answers a read", ops::readyz).public(),
        at("GET", "/metrics", "getMetrics", "operations", "Prometheus metrics", ops::metrics).public(),
        at("GET", "/openapi.json", "getOpenApiDocument", "operations", "This document", openapi_json).public(),
        at("POST", "/api/organizations", "createOrganization", "organizations", "Create an organisation", api::create_org)
            .describe(
                "An organisation holds a ledger of its own. Its id is yours to choose (or generated); its time \
                 zone fixes its days, months and renewal dates.",
            )
            .example(|| json!({"id": "acme", "name": "Acme", "time_zone": "Europe/Madrid"}))
            .answers(examples::organization),
        at("GET", org!(""), "getOrganization", "organizations", "An organisation and its settings", api::get_org)
            .answers(examples::organization),
        at(
            "PATCH",
            org!(""),
            "updateOrganization",
            "organizations",
            "Change an organisation's settings",
            admin::patch_org,
        )
        .may_take(schema::<SettingsPatch>)
        .example(|| json!({"name": "Acme Inc.", "overdraft_limit": "50"}))
        .answers(examples::organization),
        at("GET", org!("/balance"), "getBalance", "ledger", "Available, held, per pool", api::balance)
            .describe(
                "The balances now. `GET …/balance?as_of=T` answers 307 Temporary Redirect to `getBalanceAsOf` \
                 with the same query; any other parameter is 422.",
            )
            .answers(examples::balance_view),
        at(
            "GET",
            org!("/balance/as-of"),
            "getBalanceAsOf",
            "history",
            "Available, held and open holds as they were at a time",
            statements::balance_as_of,
        )
        .reads(AS_OF_PARAMS, query_of::<AsOfParams>)
        .describe(
            "The balances after the last event at or before `as_of`, and the holds open then. `as_of` in the \
             future: 422; before the organisation was created: zeros with `before_org_created`.",
        )
        .answers(examples::balance_at),
        at(
            "GET",
            org!("/statement"),
            "getStatement",
            "history",
            "Opening balance, credits in and out by kind, closing balance",
            statements::statement,
        )
        .reads(STATEMENT_PARAMS, query_of::<StatementParams>)
        .describe(
            "Whole days in the organisation's zone, at most 366. The balance is available + held (held shown \
             apart): opening + total_in - total_out = closing, to the micro-credit.",
        )
        .answers(examples::statement),
        at(
            "GET",
            org!("/statement/export"),
            "exportStatement",
            "history",
            "A statement as CSV or XLSX",
            statements::statement_export,
        )
        .reads(STATEMENT_EXPORT_PARAMS, query_of::<StatementExportParams>)
        .describe("The figures of `getStatement`, one row each, as a file."),
        at("GET", org!("/verify"), "verifyLedger", "ledger", "Recompute balances and the hash chain", api::verify)
            .answers(examples::verified),
        at(
            "POST",
            org!("/credits"),
            "grantCredits",
            "ledger",
            "Grant, purchase, voucher or subscription credits",
            api::credits,
        )
        .takes(schema::<CreditRequest>)
        .describe(
            "Adds credits to a pool (by default the kind's own). A purchase with status `processing` adds them \
             only when it is settled (`settlePurchase`).",
        )
        .example(|| json!({"kind": "grant", "amount": 1000, "description": "Welcome credits"}))
        .answers(examples::granted),
        at("POST", org!("/purchases/{id}/settle"), "settlePurchase", "ledger", "Settle a purchase", api::settle)
            .takes(schema::<SettleRequest>)
            .example(|| json!({"status": "succeeded"})),
        at("POST", org!("/purchases/{id}/reverse"), "reversePurchase", "ledger", "Reverse a purchase", api::reverse)
            .takes(schema::<ReverseRequest>)
            .describe(
                "A refund or chargeback at the payment provider: takes back the purchase's credits still unspent \
                 from the block it created, as a `reversal` event linked to it (`hold_id`). What was already spent \
                 (consumed, reserved by open holds, or lapsed) becomes debt that the next credits arriving settle \
                 (the organisation's `reversal_policy` `debt`, the default) or is written off (`write_off`). A \
                 succeeded purchase is reversed at most once: a second answers 409 `purchase_already_reversed`, a \
                 processing or failed one 409 `purchase_not_reversible`.",
            )
            .example(|| json!({"reason": "Chargeback ch_3PqX, card reported stolen"})),
        at("POST", org!("/holds"), "createHold", "ledger", "Reserve credits", api::hold)
            .takes(schema::<HoldRequest>)
            .describe(
                "Reserves credits before the work that consumes them: they leave `available` for `held`. Settle \
                 the hold once, with `debitHold` (what was used; the rest is released) or `releaseHold`; a hold \
                 left alone is released when it expires. Send an `Idempotency-Key` and reuse it on retries.",
            )
            .example(|| {
                json!({"amount": "12.5", "user_email": "ana@acme.example", "service": "AI",
                    "activity": "Summarise a document"})
            })
            .answers(examples::held),
        at("POST", org!("/holds/{id}/debit"), "debitHold", "ledger", "Capture a hold once", api::debit)
            .may_take(schema::<DebitRequest>)
            .describe("Consumes what was used (default: all that is held) and releases the rest, in one step.")
            .example(|| json!({"amount": "10.25"}))
            .answers(examples::debited),
        at("POST", org!("/holds/{id}/extend"), "extendHold", "ledger", "Grow a hold or give it more time", api::extend)
            .takes(schema::<ExtendRequest>)
            .describe(
                "For long jobs: adds credits to an open hold (`amount`; a priced hold: `quantity`, more units \
                 priced with the hold's own price and version) and/or moves its timeout later (`timeout_seconds` \
                 from now; never earlier). Refused like a new hold when the credits or a cap do not allow it \
                 (409 `insufficient_credits`, `cap_exceeded`), and like a debit when the hold is settled or \
                 expired (409). Writes one `hold` event naming the hold, its amount the credits added; the \
                 debit may then capture up to the new total. Send an `Idempotency-Key` and reuse it on retries.",
            )
            .example(|| json!({"amount": "5", "timeout_seconds": 7200}))
            .answers(examples::extended),
        at("POST", org!("/holds/{id}/release"), "releaseHold", "ledger", "Release a hold", api::release)
            .may_take(schema::<ReleaseRequest>)
            .example(|| json!({"description": "The job was cancelled"}))
            .answers(examples::released),
        at("POST", org!("/usage"), "recordUsage", "ledger", "Consume credits without a hold", api::usage)
            .takes(schema::<UsageRequest>)
            .example(|| {
                json!({"amount": 2, "service": "AI", "activity": "Translate a page", "user_email": "ana@acme.example"})
            })
            .answers(examples::used),
        at("POST", org!("/check"), "checkBeforeActing", "ledger", "Would a hold or usage be accepted now", api::check)
            .takes(schema::<CheckRequest>)
            .describe(
                "Answers whether a hold or usage (an `amount`, or `price` and `quantity`) would be accepted now, \
                 what it would cost (with the price breakdown), the credits available, the caps it counts \
                 against with what is left of each, and, if refused, the `reason`: the error code the operation \
                 itself would answer (`insufficient_credits`, `cap_exceeded`, `unknown_price`, …). The ledger \
                 applies it to a copy of the organisation's state: nothing is written. Checks as the key in \
                 `key_id`, else the member in `user_email`, else the caller; a member checks only for \
                 themselves. Bad input answers 422 as the operation would.",
            )
            .example(|| json!({"price": "image_generation", "quantity": 4, "user_email": "ana@acme.example"}))
            .answers(examples::checked),
        at(
            "GET",
            org!("/usage"),
            "getUsage",
            "analytics",
            "Usage by action, user, project or day",
            analytics::usage,
        )
        .reads(USAGE_PARAMS, query_of::<UsageParams>)
        .answers(examples::usage_report),
        at(
            "GET",
            org!("/conversations/usage"),
            "getConversationUsage",
            "analytics",
            "Conversations by day, campaign, identity",
            analytics::conversation_usage,
        )
        .reads(CONVERSATION_PARAMS, query_of::<ConversationParams>),
        at(
            "POST",
            org!("/transfers"),
            "createTransfer",
            "ledger",
            "Move credits to a parent, child or sibling",
            transfers::create_transfer,
        )
        .takes(schema::<transfers::TransferRequest>)
        .describe(
            "Moves credits, with their blocks (pool and expiry kept, taken in this organisation's consumption \
             order), to its parent, a child or a sibling: a `transfer_out` event here and a `transfer_in` \
             there, both or neither, linked by `transfer_id`. The caller must be allowed to transfer in both. \
             Refused beyond what is available (never into an overdraft), to oneself and to an unrelated \
             organisation. Send an `Idempotency-Key` and reuse it on retries.",
        )
        .example(|| json!({"to": "acme-design", "amount": "250", "description": "Q3 design budget"})),
        at("POST", org!("/refunds"), "refundUsage", "ledger", "Refund consumed credits", api::refund)
            .takes(schema::<RefundRequest>)
            .example(|| json!({"refers_to": "use_5", "amount": 1, "description": "The translation failed"})),
        at(
            "POST",
            org!("/adjustments"),
            "adjustCredits",
            "ledger",
            "Signed correction with a reason",
            api::adjustment,
        )
        .takes(schema::<AdjustmentRequest>)
        .example(|| json!({"amount": -1, "reason": "Usage counted twice"})),
        at("POST", org!("/billing"), "recordBilling", "ledger", "An invoice or charge record", api::billing)
            .may_take(schema::<BillingRequest>)
            .example(|| json!({"description": "March invoice"})),
        at(
            "GET",
            org!("/credit-events"),
            "listCreditEvents",
            "history",
            "Credit history, newest first",
            history::credit_events,
        )
        .reads(HISTORY_QUERY, history_params)
        .describe(
            "One page of events, newest first, filtered. Follow `next_cursor` (as `cursor`) for the next page; \
             it is absent on the last.",
        )
        .answers(examples::page),
        at(
            "GET",
            org!("/credit-events/export"),
            "exportCreditEvents",
            "history",
            "Every matching event as CSV or XLSX",
            history::export,
        )
        .reads(EXPORT_QUERY, export_params)
        .describe("The same filters as `listCreditEvents`, every matching event in one file, streamed.")
        .export_slot(),
        at("POST", "/api/batch", "runBatch", "ledger", "Many operations, one result each", api::batch)
            .describe("Up to 1,000 operations on any organisations, applied in order; one result per operation.")
            .example(|| {
                json!({"operations": [
                    {"org_id": "acme", "op": "usage", "body": {"amount": 1, "service": "AI"},
                        "idempotency_key": "job-81-usage"},
                    {"org_id": "acme", "op": "debit", "hold_id": "hold_2", "body": {"amount": "10.25"}},
                ]})
            }),
        at(
            "GET",
            org!("/summary"),
            "getPlanSummary",
            "plans",
            "The plan tab: plan, balance, renewal, forecast",
            plans::summary,
        ),
        at("GET", org!("/plan"), "getPlan", "plans", "The plan, a pending change, the period", plans::get_plan),
        at("PUT", org!("/plan"), "setPlan", "plans", "Subscribe or change the plan", plans::put_plan).example(|| {
            json!({"name": "Growth", "credits_per_period": 1000, "identities_included": 2, "price": "449",
                "currency": "EUR", "rollover": {"policy": "up_to", "max_credits": "500"}})
        }),
        at(
            "POST",
            org!("/plan/change"),
            "requestPlanChange",
            "plans",
            "Change plan: choose a catalogue plan",
            money_in::request_plan_change,
        )
        .describe(
            "What an owner's \"Change plan\" does: when the organisation's `self_service_plan_change` is on, the \
             catalogue plan is applied at once (like `setPlan` with its `plan_id`; a change takes effect at the \
             next renewal unless `effective` is `now`); otherwise nothing changes and a \
             `plan_change.requested` webhook asks the operator to apply it. An unknown plan is refused (422).",
        )
        .example(|| json!({"plan_id": "pro"})),
        at(
            "POST",
            org!("/purchases/request"),
            "requestPurchase",
            "plans",
            "Buy more: request a purchase of an offered amount",
            money_in::request_purchase,
        )
        .describe(
            "What an owner's \"Buy more\" does: a `processing` purchase of one of the organisation's \
             `buy_more_amounts` (any other amount is refused, 422, nothing written) and, with it, a \
             `top_up.requested` webhook naming the purchase and who asked. Your backend charges it and settles \
             it (`settlePurchase`). When the organisation has a `checkout_url_template`, the answer's \
             `checkout_url` is that template filled in and signed: send the member there.",
        )
        .example(|| json!({"amount": 500})),
        at("GET", "/api/plans", "listCataloguePlans", "plans", "The plan catalogue", money_in::list_catalogue),
        at("PUT", "/api/plans/{plan_id}", "putCataloguePlan", "plans", "Define a plan of the catalogue", money_in::put_catalogue_plan)
            .describe(
                "The plans you offer, shared by every organisation: `setPlan` may name one (`plan_id`) and the \
                 dashboard's \"Change plan\" lists them. Written whole, replacing the entry with that id (201 \
                 when new, 200 when replaced); organisations already on the plan keep the copy they subscribed \
                 to.",
            )
            .example(|| {
                json!({"name": "Pro", "credits_per_period": 10000, "identities_included": 5, "price": "449",
                    "currency": "EUR", "price_text": "449 € / month", "rollover": {"policy": "none"}})
            }),
        at("GET", "/api/price-books", "listPriceBooks", "prices", "Every price book and its versions", prices::list_price_books),
        at("GET", "/api/price-books/{book_id}", "getPriceBook", "prices", "A price book's versions", prices::get_price_book),
        at("PUT", "/api/price-books/{book_id}", "putPriceBook", "prices", "Write a price book's next version", prices::put_price_book)
            .describe(
                "Each call adds an immutable version that applies from `effective_from` (now if left out; never \
                 in the past). A price has a key, the service and activity its events are filed under, a unit, \
                 optional dimensions (the line without them is the key's default) and either a flat \
                 `credits_per_unit` or graduated `tiers` over the organisation's quantity of that price in the \
                 current period. Costs are exact and rounded up to the micro-credit once per operation.",
            )
            .example(examples::price_book_draft),
        at("GET", org!("/conversations"), "listConversations", "plans", "Conversations grouped", plans::conversation_usage)
            .reads(CONVERSATION_PARAMS, query_of::<ConversationParams>),
        at(
            "POST",
            org!("/conversations"),
            "startConversation",
            "plans",
            "Count a conversation against its identity",
            plans::start_conversation,
        )
        .example(|| json!({"identity": "support-bot", "campaign": "spring"})),
        at(
            "PUT",
            org!("/low-balance-threshold"),
            "setLowBalanceThreshold",
            "plans",
            "Set or clear the alert threshold",
            plans::set_low_balance_threshold,
        )
        .example(|| json!({"threshold": 100})),
        at("GET", org!("/auto-top-up"), "getAutoTopUp", "plans", "The auto top-up rule and where it stands", topup::get_auto_top_up),
        at("PUT", org!("/auto-top-up"), "setAutoTopUp", "plans", "Set the auto top-up rule", topup::put_auto_top_up)
            .describe(
                "When an operation leaves available credits below `threshold`, the same transaction opens a \
                 `processing` purchase (source `auto_top_up`) of `amount`, or of `target_balance` less available \
                 credits, and sends the `top_up.requested` webhook; the backend charges it and settles it with \
                 `POST …/purchases/{purchaseId}/settle`. At most one is pending; `max_per_period` caps the \
                 top-ups per period by count and/or credits. After `pause_after_failures` consecutive failed \
                 top-ups it pauses (`top_up.paused`) until a purchase succeeds or the rule is set again.",
            )
            .example(|| {
                json!({"threshold": "100", "target_balance": "500", "max_per_period": {"count": 3, "credits": "2000"},
                    "pause_after_failures": 3, "enabled": true})
            }),
        at("GET", org!("/alerts"), "getAlerts", "plans", "The usage alert levels and which have fired", topup::get_alerts),
        at("PUT", org!("/alerts"), "setAlerts", "plans", "Set the usage alert levels", topup::put_alerts)
            .describe(
                "Each level fires once per period per crossing (webhook `usage_alert` and a notification): \
                 `available_below` while available credits are below the amount, `percent_used` while this \
                 period's usage is at least that percent of the plan's credits per period (rounded up to the \
                 micro-credit). It fires again only after recovering, or in a new period. The low-balance \
                 threshold is listed too (webhook `low_balance`); it keeps its own route.",
            )
            .example(|| json!({"levels": [{"percent_used": 50}, {"percent_used": 80}, {"available_below": "25"}]})),
        at("GET", org!("/notifications"), "listNotifications", "plans", "Stored notifications", plans::notifications)
            .reads(NOTIFICATION_PARAMS, query_of::<NotificationParams>),
        at("GET", org!("/members"), "listMembers", "members", "Members and their roles", admin::list_members),
        at("POST", org!("/members"), "addMember", "members", "Add a member", admin::add_member)
            .takes(schema::<AddMemberRequest>)
            .example(|| json!({"email": "ana@acme.example", "name": "Ana", "role": "owner"}))
        .answers(examples::member),
        at("GET", org!("/members/{email}"), "getMember", "members", "One member", admin::get_member),
        at("PATCH", org!("/members/{email}"), "updateMember", "members", "Change a member", admin::patch_member)
            .may_take(schema::<PatchMemberRequest>)
            .example(|| json!({"role": "admin"})),
        at("DELETE", org!("/members/{email}"), "removeMember", "members", "Remove a member", admin::remove_member),
        at("GET", org!("/caps"), "listCaps", "members", "Spending caps", admin::list_caps),
        at("PUT", org!("/caps"), "setCap", "members", "Set a spending cap", admin::set_cap)
            .takes(schema::<SetCapRequest>)
            .example(|| json!({"member": "ana@acme.example", "limit": "250"})),
        at("GET", org!("/me"), "getMe", "members", "Who the caller is here", admin::me),
        at(
            "GET",
            org!("/webhooks"),
            "listWebhookEndpoints",
            "webhooks",
            "Webhook endpoints (secrets never shown)",
            webhooks::list_endpoints,
        ),
        at(
            "POST",
            org!("/webhooks"),
            "createWebhookEndpoint",
            "webhooks",
            "Register an endpoint (the secret is shown once)",
            webhooks::create_endpoint,
        )
        .takes(schema::<CreateEndpointRequest>)
        .example(|| {
            json!({"url": "https://example.com/hooks/creditd", "event_types": ["low_balance", "depleted"],
                "description": "Alerts for the billing team"})
        })
        .answers(examples::endpoint_created),
        at(
            "GET",
            org!("/webhooks/{id}"),
            "getWebhookEndpoint",
            "webhooks",
            "One webhook endpoint",
            webhooks::get_endpoint,
        ),
        at(
            "DELETE",
            org!("/webhooks/{id}"),
            "deleteWebhookEndpoint",
            "webhooks",
            "Delete an endpoint and its deliveries",
            webhooks::delete_endpoint,
        ),
        at(
            "GET",
            org!("/webhooks/{id}/deliveries"),
            "listWebhookDeliveries",
            "webhooks",
            "Delivery state per message",
            webhooks::list_deliveries,
        )
        .reads(DELIVERY_PARAMS, query_of::<DeliveryParams>),
        at("GET", "/api/keys", "listApiKeys", "keys", "API keys", admin::list_keys)
            .reads(KEY_LIST_PARAMS, query_of::<KeyListParams>),
        at(
            "POST",
            "/api/keys",
            "createApiKey",
            "keys",
            "Create an API key (the secret is shown once)",
            admin::create_key,
        )
        .takes(schema::<CreateKeyRequest>)
        .example(|| json!({"kind": "service", "org_ids": ["acme"], "name": "billing backend"}))
        .answers(examples::key_created),
        at("GET", "/api/keys/{key_id}", "getApiKey", "keys", "One API key", admin::get_key),
        at("DELETE", "/api/keys/{key_id}", "revokeApiKey", "keys", "Revoke an API key", admin::revoke_key),
        at("GET", "/login/{token}", "signIn", "dashboard", "Sign in with a link", auth::login).public(),
        at("POST", "/logout", "signOut", "dashboard", "Sign out", auth::logout).public(),
        at("GET", "/", "getDashboardPlanPage", "dashboard", "Dashboard: plan", dashboard::plan_tab).public(),
        at("POST", "/plan/buy-more", "buyMoreFromDashboard", "dashboard", "Dashboard: Buy more", money_in::dashboard_buy_more)
            .public(),
        at(
            "POST",
            "/plan/change",
            "changePlanFromDashboard",
            "dashboard",
            "Dashboard: Change plan",
            money_in::dashboard_change_plan,
        )
        .public(),
        at("GET", "/credits", "getDashboardCreditsPage", "dashboard", "Dashboard: credits", dashboard::credits_tab)
            .public(),
        at(
            "GET",
            "/conversations",
            "getDashboardConversationsPage",
            "dashboard",
            "Dashboard: conversations",
            dashboard::conversations_tab,
        )
        .public(),
        at(
            "GET",
            "/history",
            "getDashboardHistoryPage",
            "dashboard",
            "Dashboard: credit history",
            dashboard::history_tab,
        )
        .public(),
        at("GET", "/statement", "getDashboardStatementPage", "dashboard", "Dashboard: statement", dashboard::statement_tab)
            .public(),
        at("GET", "/assets/dashboard.css", "getDashboardStyles", "dashboard", "Dashboard style sheet", dashboard::css)
            .public(),
        at("GET", "/assets/dashboard.js", "getDashboardScript", "dashboard", "Dashboard script", dashboard::js)
            .public(),
        at("GET", "/assets/favicon.svg", "getDashboardIcon", "dashboard", "Dashboard icon", dashboard::icon).public(),
        at("GET", "/favicon.ico", "getFavicon", "dashboard", "The icon browsers ask for by name", dashboard::icon)
            .public(),
        Entry { route: docs.public(), serve: Serve::Router(crate::openapi::swagger_ui().into()), limit: Limit::None },
    ]
}

/// `GET /openapi.json`: the document built from [`table`].
pub async fn openapi_json() -> ApiDocument {
    ApiDocument(document())
}

/// The OpenAPI document of [`table`], built once.
pub fn document() -> &'static OpenApi {
    static DOC: OnceLock<OpenApi> = OnceLock::new();
    DOC.get_or_init(|| {
        let routes: Vec<Route> = table().into_iter().map(|e| e.route).collect();
        crate::openapi::build_document(&routes)
    })
}

/// The app: every entry of [`table`] (those needing a key or a session
/// behind `auth::authenticate`), the fallbacks, and the layers every
/// request passes (refusals as pages for browsers, body limit and
/// deadline, the read position, metrics, tracing, request ids).
pub fn router(app: AppState) -> Router {
    ops::recorder();
    let mut public = Router::new();
    let mut api = Router::new();
    for entry in table() {
        let side = if entry.route.auth { &mut api } else { &mut public };
        *side = match entry.serve {
            Serve::Method(m) => {
                let mut m = *m;
                if entry.limit == Limit::ExportSlot {
                    m = m.layer(middleware::from_fn_with_state(app.clone(), ops::limit_exports));
                }
                // A second method on a path joins the first.
                std::mem::take(side).route(entry.route.path, m)
            }
            Serve::Router(r) => std::mem::take(side).merge(r),
        };
    }
    let api = api.route_layer(middleware::from_fn_with_state(app.clone(), auth::authenticate));
    let routes = public.merge(api).fallback(api::not_found).method_not_allowed_fallback(api::method_not_allowed);
    // Writes of hot orgs whose home is another node go there (forward); a
    // node without peers does not pay for the layer.
    let routes = match app.ring {
        Some(_) => routes.layer(middleware::from_fn_with_state(app.clone(), crate::forward::layer)),
        None => routes,
    };
    routes
        // Metrics, the body's limit and deadline, the read position and
        // refusals as pages for browsers: one layer (see ops::per_request).
        .layer(middleware::from_fn_with_state(app.clone(), ops::per_request))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(ops::span_for))
        // Outermost: a caller's id is checked before it is kept or logged.
        .layer(middleware::from_fn_with_state(ops::MakeId::default(), ops::request_ids))
        .with_state(app)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Value, json};

    use super::*;
    use crate::answer::Answer::{Json, Write};
    use crate::openapi::{ExportFormat, ExportLayout, ExportOrder, RangeName};
    use creditd_store::range::RangePreset;
    use utoipa::PartialSchema;
    use utoipa::openapi::{RefOr, Schema};

    fn routes() -> Vec<Route> {
        table().into_iter().map(|e| e.route).collect()
    }

    fn doc() -> Value {
        serde_json::to_value(document()).unwrap()
    }

    /// Every route that takes a body names its type, every JSON answer
    /// names its type, and every route that reads a query string types it
    /// with exactly the names the handler accepts.
    #[test]
    fn every_route_has_its_schemas() {
        let mut missing = Vec::new();
        for r in &routes() {
            let at = format!("{} {}", r.method, r.path);
            if r.body && r.request.is_none() {
                missing.push(format!("{at}: takes a body but names no request type (.takes)"));
            }
            if matches!(r.answer, Json | Write) && r.response.is_none() {
                missing.push(format!("{at}: answers JSON but names no response type (.gives)"));
            }
            match r.params {
                None if !r.query.is_empty() => {
                    missing.push(format!("{at}: query {:?} without types (.reads)", r.query))
                }
                None => {}
                Some(params) => {
                    let typed: BTreeSet<String> = params().into_iter().map(|p| p.name).collect();
                    let named: BTreeSet<String> = r.query.iter().map(|s| s.to_string()).collect();
                    if typed != named {
                        missing.push(format!("{at}: typed query {typed:?} is not the handler's {named:?}"));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "routes without schemas:\n{}", missing.join("\n"));
    }

    #[test]
    fn query_parameters_allow_empty_values() {
        let d = doc();
        let op = &d["paths"]["/api/organizations/{org_id}/credit-events"]["get"];
        let limit = op["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "limit").unwrap();
        assert_eq!(limit["allowEmptyValue"], json!(true), "{limit}");
        assert_eq!((limit["schema"]["minimum"].clone(), limit["schema"]["maximum"].clone()), (json!(1), json!(100)));
    }

    #[test]
    fn documented_query_names_are_the_handlers() {
        fn set(a: &[&[&'static str]]) -> BTreeSet<&'static str> {
            a.iter().flat_map(|l| l.iter().copied()).collect()
        }
        use crate::history::{EXPORT_PARAMS, FILTER_PARAMS, PAGE_PARAMS};
        use crate::openapi::{EXPORT_QUERY, HISTORY_QUERY};
        assert_eq!(set(&[HISTORY_QUERY]), set(&[FILTER_PARAMS, PAGE_PARAMS]));
        assert_eq!(set(&[EXPORT_QUERY]), set(&[FILTER_PARAMS, EXPORT_PARAMS]));
    }

    /// The enumerations written by hand are read by the parsers they name.
    #[test]
    fn documented_values_parse() {
        let values = |s: RefOr<Schema>| -> Vec<String> {
            let v = serde_json::to_value(s).unwrap();
            v["enum"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
        };
        for v in values(RangeName::schema()) {
            assert!(v == "custom" || v.parse::<RangePreset>().is_ok(), "range {v}");
        }
        assert_eq!(values(RangeName::schema()).len(), RangePreset::ALL.len() + 1);
        for v in values(ExportFormat::schema()) {
            crate::history::Format::parse(&v).unwrap();
        }
        for v in values(ExportLayout::schema()) {
            crate::history::parse_layout(&v).unwrap();
        }
        for v in values(ExportOrder::schema()) {
            crate::history::parse_order(Some(&v), creditd_export::Layout::Report).unwrap();
        }
    }

    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
        out.push(v);
        match v {
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves() {
        let d = doc();
        let mut all = Vec::new();
        walk(&d, &mut all);
        let mut refs = 0;
        for v in all {
            if let Some(r) = v.get("$ref").and_then(Value::as_str) {
                let name = r.strip_prefix("#/components/schemas/").expect(r);
                assert!(d["components"]["schemas"].get(name).is_some(), "{r} is not in the components");
                refs += 1;
            }
        }
        assert!(refs > 50, "only {refs} references");
    }

    /// Bodies refuse unknown fields (`deny_unknown_fields`), and say so.
    #[test]
    fn request_bodies_refuse_unknown_fields() {
        let d = doc();
        for r in routes().iter().filter(|r| r.request.is_some()) {
            let name = r.request.unwrap()().name;
            let s = &d["components"]["schemas"][name.as_ref()];
            assert_eq!(s["additionalProperties"], json!(false), "{} {}: {name} {s}", r.method, r.path);
        }
    }

    fn validator(schema: RefOr<Schema>) -> jsonschema::Validator {
        let mut s = serde_json::to_value(schema).unwrap();
        s["components"] = doc()["components"].clone();
        jsonschema::draft202012::new(&s).unwrap()
    }

    /// Operation ids are what generated clients name their functions:
    /// camelCase, a letter first, one per route.
    #[test]
    fn operation_ids_are_camel_case_and_unique() {
        let mut seen = BTreeSet::new();
        for r in &routes() {
            let id = r.operation_id;
            let camel = id.starts_with(|c: char| c.is_ascii_lowercase())
                && id.chars().all(|c| c.is_ascii_alphanumeric())
                && id.chars().any(|c| c.is_ascii_uppercase());
            assert!(camel, "{} {}: operation id {id:?} is not camelCase", r.method, r.path);
            assert!(seen.insert(id), "{} {}: operation id {id:?} is used twice", r.method, r.path);
        }
        let d = doc();
        for (path, item) in d["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                assert!(op["operationId"].as_str().is_some_and(|id| seen.contains(id)), "{method} {path}: {op}");
            }
        }
        for id in ["createHold", "debitHold", "releaseHold", "recordUsage", "grantCredits", "listCreditEvents"] {
            assert!(seen.contains(id), "no {id}");
        }
    }

    /// Every route has a summary and one of the document's tags, and every
    /// tag is used.
    #[test]
    fn every_route_has_a_summary_and_a_known_tag() {
        let known: BTreeSet<&str> = crate::openapi::TAGS.iter().map(|(t, _)| *t).collect();
        let mut used = BTreeSet::new();
        for r in &routes() {
            assert!(!r.summary.trim().is_empty(), "{} {}: no summary", r.method, r.path);
            assert!(known.contains(r.tag), "{} {}: tag {:?} is not in openapi::TAGS", r.method, r.path, r.tag);
            used.insert(r.tag);
        }
        assert_eq!(used, known, "tags no route uses");
        let d = doc();
        let listed: Vec<&str> = d["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(listed, crate::openapi::TAGS.iter().map(|(t, _)| *t).collect::<Vec<_>>());
    }

    /// Every body has an example, the main answers have one, and each is
    /// valid against its schema (as the document serves it).
    #[test]
    fn examples_are_valid_against_their_schemas() {
        let rs = routes();
        let mut checked = 0;
        for r in &rs {
            let at = format!("{} {} ({})", r.method, r.path, r.operation_id);
            assert_eq!(r.body, r.request_example.is_some(), "{at}: a body and its example go together");
            assert!(r.response_example.is_none() || r.response.is_some(), "{at}: an example of no JSON answer");
            let pairs = [(r.request, r.request_example), (r.response, r.response_example)];
            for (schema, example) in pairs {
                let (Some(schema), Some(example)) = (schema, example) else { continue };
                let v = validator(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(schema().name)));
                let example = example();
                let errors: Vec<String> =
                    v.iter_errors(&example).map(|e| format!("{e} at {}", e.instance_path())).collect();
                assert!(errors.is_empty(), "{at}: example {example} is not valid:\n{}", errors.join("\n"));
                checked += 1;
            }
        }
        let with_answer: BTreeSet<&str> =
            rs.iter().filter(|r| r.response_example.is_some()).map(|r| r.operation_id).collect();
        for id in [
            "createOrganization",
            "getBalance",
            "grantCredits",
            "createHold",
            "debitHold",
            "releaseHold",
            "recordUsage",
            "listCreditEvents",
            "getUsage",
            "addMember",
            "createApiKey",
            "createWebhookEndpoint",
        ] {
            assert!(with_answer.contains(id), "{id} has no example answer");
        }
        assert!(checked > 30, "only {checked} examples");
        // And they are in the document, where the bodies are described.
        let d = doc();
        let hold = &d["paths"]["/api/organizations/{org_id}/holds"]["post"];
        assert!(hold["requestBody"]["content"]["application/json"]["example"]["amount"].is_string(), "{hold}");
        assert!(hold["responses"]["201"]["content"]["application/json"]["example"]["hold"].is_object(), "{hold}");
    }

    /// Generators refuse an `allOf` over a non-object (openapi-python-client:
    /// "Cannot take allOf a non-object"), so the document holds none; the
    /// flattened types keep their fields and variants.
    #[test]
    fn the_document_has_no_all_of() {
        let d = doc();
        let mut all = Vec::new();
        walk(&d, &mut all);
        let found: Vec<&Value> = all.into_iter().filter(|v| v.get("allOf").is_some()).collect();
        assert!(found.is_empty(), "allOf left in the document: {found:?}");
        let schemas = &d["components"]["schemas"];
        // ApiKey flattens the KeyScope enum: one object per scope.
        let key = &schemas["ApiKey"]["oneOf"];
        assert_eq!(key.as_array().map(Vec::len), Some(2), "{}", schemas["ApiKey"]);
        for variant in key.as_array().unwrap() {
            assert_eq!(variant["type"], json!("object"), "{variant}");
            for field in ["id", "prefix", "name", "created_at", "kind"] {
                assert!(variant["required"].as_array().unwrap().contains(&json!(field)), "{field}: {variant}");
            }
        }
        let titles: Vec<&Value> = key.as_array().unwrap().iter().map(|v| &v["title"]).collect();
        assert_eq!(titles, [&json!("ApiKeyService"), &json!("ApiKeyMember")], "{key}");
        let view = &schemas["KeyView"]["oneOf"];
        assert!(view.as_array().unwrap().iter().all(|v| v["properties"]["cap"].is_object()), "{view}");
        // BalanceView is Balance's fields and the caps.
        let balance = &schemas["BalanceView"];
        assert_eq!(balance["type"], json!("object"), "{balance}");
        for field in ["available", "held", "caps"] {
            assert!(balance["required"].as_array().unwrap().contains(&json!(field)), "{field}: {balance}");
        }
    }

    /// An amount string is valid by the schema exactly when the parser
    /// reads it (or it is too large for an i64 of micro-credits).
    #[test]
    fn amount_schema_is_the_parser() {
        let amount = validator(creditd_core::money::Amount::schema());
        for text in [
            "0",
            "12",
            "12.5",
            "-3.25",
            "+7.100000",
            "0.000001",
            " 5 ",
            "1.",
            ".5",
            "1.0000001",
            "1e3",
            "abc",
            "",
            "--1",
            "1,5",
            "١",
            "99999999999999999999",
        ] {
            let schema_ok = amount.is_valid(&json!(text));
            let parsed = serde_json::from_value::<creditd_core::Micros>(json!(text));
            let too_large = parsed.as_ref().is_err_and(|e| e.to_string().contains("too large"));
            assert_eq!(schema_ok, parsed.is_ok() || too_large, "{text:?}: schema {schema_ok}, parser {parsed:?}");
        }
        assert!(amount.is_valid(&json!(12.5)));
        assert!(!amount.is_valid(&json!(null)));
        let credits = validator(creditd_core::Micros::schema());
        assert!(credits.is_valid(&json!(12.5)) && !credits.is_valid(&json!("12.5")));
    }
}
