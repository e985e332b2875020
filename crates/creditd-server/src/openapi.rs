//! The OpenAPI 3.1 document (`GET /openapi.json`) and Swagger UI (`/docs`),
//! served from the binary.
//!
//! [`ROUTES`] is the one list of what the router serves; the document is
//! built from it with utoipa's builders, and a test compares it with the
//! route registrations in the source so a route cannot be added without
//! being documented. Each route names the Rust types of its body, its
//! answer and its query string; their schemas are derived from those types
//! (`utoipa::ToSchema`, `IntoParams`), the ones the handlers parse and
//! serialise, so the document cannot say one thing while the code does
//! another. Tests hold every JSON route to having both, and check real
//! answers against the schemas.

use std::borrow::Cow;

use creditd_core::{EventKind, Pool, Status};
use creditd_store::range::RangePreset;
use creditd_store::rollup::UsageGroup;
use creditd_store::{ConversationGroup, OrgInfo, Page};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr, Required,
    ResponseBuilder, ResponsesBuilder,
};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::admin::{
    AddMemberRequest, CapSet, Caps, CreateKeyRequest, KeyCreated, KeyView, Keys, Me, MemberRemoved, MemberView,
    Members, PatchMemberRequest, SetCapRequest,
};
use crate::analytics::UsageReport;
use crate::api::{BalanceView, BatchResponse, Health, WriteResult};
use crate::error::ErrorBody;
use crate::plans::{
    ConversationReport, ConversationRequest, ConversationStarted, Notifications, PlanChanged, PlanView, PutPlanRequest,
    SummaryView, ThresholdRequest, ThresholdSet,
};
use crate::wire::{
    AdjustmentRequest, BatchRequest, BillingRequest, CreateOrgRequest, CreditRequest, DebitRequest, HoldRequest,
    RefundRequest, ReleaseRequest, SettleRequest, UsageRequest,
};
use creditd_core::SettingsPatch;
use creditd_core::verify::VerifyReport;

/// What a route answers with when it succeeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A JSON document.
    Json,
    /// A write: 201 with the events it made, or 200 when it made none.
    Write,
    /// An HTML page (the dashboard).
    Html,
    /// Plain text (Prometheus metrics) or a static asset.
    Text,
    /// A CSV or XLSX download.
    File,
    /// A redirect (sign-in, sign-out).
    Redirect,
}

/// A named schema and every named schema it refers to.
pub struct TypeSchema {
    pub name: Cow<'static, str>,
    pub schema: RefOr<Schema>,
    pub refs: Vec<(String, RefOr<Schema>)>,
}

/// The schema of a Rust type, as a function a `const` route can hold.
pub type SchemaFn = fn() -> TypeSchema;
/// The query parameters of a route.
pub type ParamsFn = fn() -> Vec<Parameter>;

/// The schema of `T` (a request body or an answer).
pub fn schema<T: ToSchema>() -> TypeSchema {
    let mut refs = Vec::new();
    T::schemas(&mut refs);
    TypeSchema { name: T::name(), schema: T::schema(), refs }
}

/// The query parameters of `T`. An empty value (`?date_to=`) is read as
/// if the parameter were left out (`QueryPairs`), which `allowEmptyValue`
/// says.
fn query_of<T: IntoParams>() -> Vec<Parameter> {
    let mut params = T::into_params(|| Some(ParameterIn::Query));
    for p in &mut params {
        // utoipa has no field for this 3.0 keyword (3.1 still defines it).
        let empty = utoipa::openapi::extensions::Extensions::from_iter([("allowEmptyValue", true)]);
        p.extensions.get_or_insert_with(Default::default).merge(empty);
    }
    params
}

/// One method on one path.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub answer: Answer,
    /// Needs a key or a session.
    pub auth: bool,
    /// Takes a JSON body.
    pub body: bool,
    /// The body may be left out (it then means `{}`).
    pub body_optional: bool,
    /// Reads an `Idempotency-Key` header.
    pub keyed: bool,
    /// Query parameters it reads, by name (see `params` for their types).
    pub query: &'static [&'static str],
    /// The body's type.
    pub request: Option<SchemaFn>,
    /// The successful answer's type (JSON answers).
    pub response: Option<SchemaFn>,
    /// The query string's types.
    pub params: Option<ParamsFn>,
}

const fn r(
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    answer: Answer,
) -> Route {
    let body = matches!(answer, Answer::Write) || matches!(method.as_bytes(), b"POST" | b"PUT" | b"PATCH");
    Route {
        method,
        path,
        tag,
        summary,
        answer,
        auth: true,
        body,
        body_optional: false,
        keyed: false,
        query: &[],
        request: None,
        response: None,
        params: None,
    }
}

const fn public(mut route: Route) -> Route {
    route.auth = false;
    route
}

const fn no_body(mut route: Route) -> Route {
    route.body = false;
    route
}

/// Query parameters by name only; a test asks for their types (`Route::reads`).
#[allow(dead_code)]
const fn query(mut route: Route, query: &'static [&'static str]) -> Route {
    route.query = query;
    route
}

impl Route {
    /// Takes a JSON body of this type.
    const fn takes(mut self, request: SchemaFn) -> Route {
        self.body = true;
        self.request = Some(request);
        self
    }

    /// Takes a JSON body of this type, or none (read as `{}`).
    const fn may_take(mut self, request: SchemaFn) -> Route {
        self.body_optional = true;
        self.takes(request)
    }

    /// Reads an `Idempotency-Key` header: a retry gets the first answer.
    const fn keyed(mut self) -> Route {
        self.keyed = true;
        self
    }

    /// Answers with JSON of this type.
    const fn gives(mut self, response: SchemaFn) -> Route {
        self.response = Some(response);
        self
    }

    /// Reads these query parameters (`names` as the handler checks them).
    const fn reads(mut self, names: &'static [&'static str], params: ParamsFn) -> Route {
        self.query = names;
        self.params = Some(params);
        self
    }
}

/// The credit history's filters, on pages and exports alike (the names
/// are `history::FILTER_PARAMS`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct HistoryFilters {
    /// A preset range in the organisation's zone; `custom` goes with the dates.
    #[param(value_type = Option<RangeName>)]
    range: Option<String>,
    /// From (inclusive): a date like 2026-03-01 (in the organisation's zone),
    /// a local date-time, or an RFC 3339 instant.
    date_from: Option<String>,
    /// To: a date (inclusive of that day), a local date-time, or an RFC 3339
    /// instant (exclusive).
    date_to: Option<String>,
    /// One or more kinds, repeated or comma-separated (seed aliases such as
    /// `reservation` and `top_up` are read too).
    #[param(style = Form, explode)]
    event_type: Option<Vec<EventKind>>,
    /// One or more pools (balance types).
    #[param(style = Form, explode)]
    pool: Option<Vec<Pool>>,
    project_id: Option<String>,
    /// One or more services, repeated or comma-separated.
    #[param(style = Form, explode)]
    service: Option<Vec<String>>,
    #[param(style = Form, explode)]
    status: Option<Vec<Status>>,
    user_email: Option<String>,
}

/// Where a history page starts (`history::PAGE_PARAMS`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageParams {
    /// Events per page, default 50.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Events to skip (not with `cursor`).
    #[param(minimum = 0)]
    offset: Option<u64>,
    /// `next_cursor` of the page before (not with `offset`).
    cursor: Option<String>,
}

/// The file an export makes (`history::EXPORT_PARAMS`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ExportParams {
    /// Default csv.
    #[param(value_type = Option<ExportFormat>)]
    format: Option<String>,
    /// `report`: the credit history report's columns; `full`: every field.
    #[param(value_type = Option<ExportLayout>)]
    layout: Option<String>,
    /// Default: newest first for the report, oldest first for full.
    #[param(value_type = Option<ExportOrder>)]
    order: Option<String>,
}

/// `GET …/usage` (`analytics::USAGE_PARAMS`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct UsageParams {
    /// Default this_month.
    #[param(value_type = Option<RangeName>)]
    range: Option<String>,
    /// A date like 2026-03-01 in the organisation's zone.
    #[param(value_type = Option<String>, format = Date)]
    date_from: Option<String>,
    /// A date, inclusive; default today.
    #[param(value_type = Option<String>, format = Date)]
    date_to: Option<String>,
    /// Default day.
    group_by: Option<UsageGroup>,
    /// One user's usage (a member may ask only for their own).
    user_email: Option<String>,
}

/// `GET …/conversations` and `…/conversations/usage` (`plans::CONVERSATION_PARAMS`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ConversationParams {
    /// Default day.
    group_by: Option<ConversationGroup>,
    /// An RFC 3339 instant; default the start of this month in the organisation's zone.
    #[param(value_type = Option<String>, format = DateTime)]
    date_from: Option<String>,
    /// An RFC 3339 instant, exclusive; at most 366 days after date_from.
    #[param(value_type = Option<String>, format = DateTime)]
    date_to: Option<String>,
}

/// `GET …/notifications` (`plans::NOTIFICATION_PARAMS`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct NotificationParams {
    /// Only those after this sequence number.
    #[param(minimum = 0)]
    after: Option<u64>,
    /// Default 100.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// `GET /api/keys` (`admin::KEY_LIST_PARAMS`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct KeyListParams {
    /// Only the keys of this organisation.
    org_id: Option<String>,
}

fn history_params() -> Vec<Parameter> {
    [query_of::<PageParams>(), query_of::<HistoryFilters>()].concat()
}

fn export_params() -> Vec<Parameter> {
    [query_of::<ExportParams>(), query_of::<HistoryFilters>()].concat()
}

/// A string enumeration whose values come from the code that parses it.
macro_rules! names_schema {
    ($(#[$m:meta])* $name:ident, $values:expr) => {
        $(#[$m])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let values: Vec<String> = $values;
                ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values)).into()
            }
        }

        impl ToSchema for $name {}
    };
}

names_schema!(
    /// A date range preset, or `custom`.
    RangeName,
    RangePreset::ALL.iter().map(|p| p.as_str().to_string()).chain(["custom".to_string()]).collect()
);
names_schema!(
    /// `history::Format`.
    ExportFormat,
    vec!["csv".into(), "xlsx".into()]
);
names_schema!(
    /// `creditd_export::Layout`.
    ExportLayout,
    vec!["report".into(), "full".into()]
);
names_schema!(
    /// `creditd_store::Order`, as `history::parse_order` reads it.
    ExportOrder,
    vec!["newest".into(), "oldest".into()]
);

/// `/openapi.json` answers with this document: any JSON object.
fn document_schema() -> TypeSchema {
    TypeSchema {
        name: "OpenApiDocument".into(),
        schema: ObjectBuilder::new().schema_type(Type::Object).description(Some("This document")).into(),
        refs: Vec::new(),
    }
}

use Answer::*;

use crate::admin::KEY_LIST_PARAMS;
use crate::analytics::USAGE_PARAMS;
use crate::plans::{CONVERSATION_PARAMS, NOTIFICATION_PARAMS};

/// `history::PAGE_PARAMS` and `FILTER_PARAMS`, as one list.
const HISTORY_QUERY: &[&str] = &[
    "limit",
    "offset",
    "cursor",
    "range",
    "date_from",
    "date_to",
    "event_type",
    "pool",
    "project_id",
    "service",
    "status",
    "user_email",
];

/// `history::EXPORT_PARAMS` and `FILTER_PARAMS`, as one list.
const EXPORT_QUERY: &[&str] = &[
    "format",
    "layout",
    "order",
    "range",
    "date_from",
    "date_to",
    "event_type",
    "pool",
    "project_id",
    "service",
    "status",
    "user_email",
];

/// Every route the router serves.
pub const ROUTES: &[Route] = &[
    public(r("GET", "/healthz", "operations", "The process answers", Json)).gives(schema::<Health>),
    public(r("GET", "/readyz", "operations", "The store answers a read", Json)).gives(schema::<Health>),
    public(r("GET", "/metrics", "operations", "Prometheus metrics", Text)),
    public(r("GET", "/openapi.json", "operations", "This document", Json)).gives(document_schema),
    r("POST", "/api/organizations", "organizations", "Create an organisation", Write)
        .takes(schema::<CreateOrgRequest>)
        .gives(schema::<OrgInfo>),
    r("GET", "/api/organizations/{org_id}", "organizations", "An organisation and its settings", Json)
        .gives(schema::<OrgInfo>),
    r("PATCH", "/api/organizations/{org_id}", "organizations", "Change an organisation's settings", Json)
        .may_take(schema::<SettingsPatch>)
        .gives(schema::<OrgInfo>),
    r("GET", "/api/organizations/{org_id}/balance", "ledger", "Available, held, per pool", Json)
        .gives(schema::<BalanceView>),
    r("GET", "/api/organizations/{org_id}/verify", "ledger", "Recompute balances and the hash chain", Json)
        .gives(schema::<VerifyReport>),
    r(
        "POST",
        "/api/organizations/{org_id}/credits",
        "ledger",
        "Grant, purchase, voucher or subscription credits",
        Write,
    )
    .takes(schema::<CreditRequest>)
    .gives(schema::<WriteResult>)
    .keyed(),
    r("POST", "/api/organizations/{org_id}/purchases/{id}/settle", "ledger", "Settle a purchase", Write)
        .takes(schema::<SettleRequest>)
        .gives(schema::<WriteResult>)
        .keyed(),
    r("POST", "/api/organizations/{org_id}/holds", "ledger", "Reserve credits", Write)
        .takes(schema::<HoldRequest>)
        .gives(schema::<WriteResult>)
        .keyed(),
    r("POST", "/api/organizations/{org_id}/holds/{id}/debit", "ledger", "Capture a hold once", Write)
        .may_take(schema::<DebitRequest>)
        .gives(schema::<WriteResult>)
        .keyed(),
    r("POST", "/api/organizations/{org_id}/holds/{id}/release", "ledger", "Release a hold", Write)
        .may_take(schema::<ReleaseRequest>)
        .gives(schema::<WriteResult>)
        .keyed(),
    r("POST", "/api/organizations/{org_id}/usage", "ledger", "Consume credits without a hold", Write)
        .takes(schema::<UsageRequest>)
        .gives(schema::<WriteResult>)
        .keyed(),
    r("GET", "/api/organizations/{org_id}/usage", "analytics", "Usage by action, user, project or day", Json)
        .reads(USAGE_PARAMS, query_of::<UsageParams>)
        .gives(schema::<UsageReport>),
    r(
        "GET",
        "/api/organizations/{org_id}/conversations/usage",
        "analytics",
        "Conversations by day, campaign, identity",
        Json,
    )
    .reads(CONVERSATION_PARAMS, query_of::<ConversationParams>)
    .gives(schema::<ConversationReport>),
    r("POST", "/api/organizations/{org_id}/refunds", "ledger", "Refund consumed credits", Write)
        .takes(schema::<RefundRequest>)
        .gives(schema::<WriteResult>)
        .keyed(),
    r("POST", "/api/organizations/{org_id}/adjustments", "ledger", "Signed correction with a reason", Write)
        .takes(schema::<AdjustmentRequest>)
        .gives(schema::<WriteResult>)
        .keyed(),
    r("POST", "/api/organizations/{org_id}/billing", "ledger", "An invoice or charge record", Write)
        .may_take(schema::<BillingRequest>)
        .gives(schema::<WriteResult>)
        .keyed(),
    r("GET", "/api/organizations/{org_id}/credit-events", "history", "Credit history, newest first", Json)
        .reads(HISTORY_QUERY, history_params)
        .gives(schema::<Page>),
    r(
        "GET",
        "/api/organizations/{org_id}/credit-events/export",
        "history",
        "Every matching event as CSV or XLSX",
        File,
    )
    .reads(EXPORT_QUERY, export_params),
    r("POST", "/api/batch", "ledger", "Many operations, one result each", Json)
        .takes(schema::<BatchRequest>)
        .gives(schema::<BatchResponse>),
    r("GET", "/api/organizations/{org_id}/summary", "plans", "The plan tab: plan, balance, renewal, forecast", Json)
        .gives(schema::<SummaryView>),
    r("GET", "/api/organizations/{org_id}/plan", "plans", "The plan, a pending change, the period", Json)
        .gives(schema::<PlanView>),
    r("PUT", "/api/organizations/{org_id}/plan", "plans", "Subscribe or change the plan", Json)
        .takes(schema::<PutPlanRequest>)
        .gives(schema::<PlanChanged>)
        .keyed(),
    r("GET", "/api/organizations/{org_id}/conversations", "plans", "Conversations grouped", Json)
        .reads(CONVERSATION_PARAMS, query_of::<ConversationParams>)
        .gives(schema::<ConversationReport>),
    r("POST", "/api/organizations/{org_id}/conversations", "plans", "Count a conversation against its identity", Write)
        .takes(schema::<ConversationRequest>)
        .gives(schema::<ConversationStarted>)
        .keyed(),
    r("PUT", "/api/organizations/{org_id}/low-balance-threshold", "plans", "Set or clear the alert threshold", Json)
        .takes(schema::<ThresholdRequest>)
        .gives(schema::<ThresholdSet>)
        .keyed(),
    r("GET", "/api/organizations/{org_id}/notifications", "plans", "Stored notifications", Json)
        .reads(NOTIFICATION_PARAMS, query_of::<NotificationParams>)
        .gives(schema::<Notifications>),
    r("GET", "/api/organizations/{org_id}/members", "members", "Members and their roles", Json)
        .gives(schema::<Members>),
    r("POST", "/api/organizations/{org_id}/members", "members", "Add a member", Write)
        .takes(schema::<AddMemberRequest>)
        .gives(schema::<MemberView>),
    r("GET", "/api/organizations/{org_id}/members/{email}", "members", "One member", Json).gives(schema::<MemberView>),
    r("PATCH", "/api/organizations/{org_id}/members/{email}", "members", "Change a member", Json)
        .may_take(schema::<PatchMemberRequest>)
        .gives(schema::<MemberView>),
    r("DELETE", "/api/organizations/{org_id}/members/{email}", "members", "Remove a member", Json)
        .gives(schema::<MemberRemoved>),
    r("GET", "/api/organizations/{org_id}/caps", "members", "Spending caps", Json).gives(schema::<Caps>),
    r("PUT", "/api/organizations/{org_id}/caps", "members", "Set a spending cap", Json)
        .takes(schema::<SetCapRequest>)
        .gives(schema::<CapSet>),
    r("GET", "/api/organizations/{org_id}/me", "members", "Who the caller is here", Json).gives(schema::<Me>),
    r("GET", "/api/organizations/{org_id}/webhooks", "webhooks", "Webhook endpoints (secrets never shown)", Json),
    r(
        "POST",
        "/api/organizations/{org_id}/webhooks",
        "webhooks",
        "Register an endpoint (the secret is shown once)",
        Write,
    ),
    r("GET", "/api/organizations/{org_id}/webhooks/{id}", "webhooks", "One webhook endpoint", Json),
    r("DELETE", "/api/organizations/{org_id}/webhooks/{id}", "webhooks", "Delete an endpoint and its deliveries", Json),
    query(
        r(
            "GET",
            "/api/organizations/{org_id}/webhooks/{id}/deliveries",
            "webhooks",
            "Delivery state per message",
            Json,
        ),
        &["limit"],
    ),
    r("GET", "/api/keys", "keys", "API keys", Json)
        .reads(KEY_LIST_PARAMS, query_of::<KeyListParams>)
        .gives(schema::<Keys>),
    r("POST", "/api/keys", "keys", "Create an API key (the secret is shown once)", Write)
        .takes(schema::<CreateKeyRequest>)
        .gives(schema::<KeyCreated>),
    r("GET", "/api/keys/{key_id}", "keys", "One API key", Json).gives(schema::<KeyView>),
    r("DELETE", "/api/keys/{key_id}", "keys", "Revoke an API key", Json).gives(schema::<KeyView>),
    public(r("GET", "/login/{token}", "dashboard", "Sign in with a link", Redirect)),
    public(no_body(r("POST", "/logout", "dashboard", "Sign out", Redirect))),
    public(r("GET", "/", "dashboard", "Dashboard: plan", Html)),
    public(r("GET", "/credits", "dashboard", "Dashboard: credits", Html)),
    public(r("GET", "/conversations", "dashboard", "Dashboard: conversations", Html)),
    public(r("GET", "/history", "dashboard", "Dashboard: credit history", Html)),
    public(r("GET", "/assets/dashboard.css", "dashboard", "Dashboard style sheet", Text)),
    public(r("GET", "/assets/dashboard.js", "dashboard", "Dashboard script", Text)),
    public(r("GET", "/docs", "operations", "Swagger UI", Html)),
];

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn json_response(description: &str, schema: RefOr<Schema>) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(schema)).build())
        .build()
}

fn content_response(description: &str, types: &[&str], binary: bool) -> utoipa::openapi::Response {
    let mut b = ResponseBuilder::new().description(description);
    for t in types {
        let mut s = string();
        if binary && t.starts_with("application/") {
            s = s.content_media_type(*t);
        }
        b = b.content(*t, ContentBuilder::new().schema(Some(RefOr::T(Schema::Object(s.build())))).build());
    }
    b.build()
}

/// A reference to the named schema `s` (added to the components).
fn named(s: &TypeSchema) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(s.name.clone()))
}

/// Examples for path parameters: the organisation the CI's schemathesis
/// run creates, so generated requests reach real data.
fn path_example(name: &str) -> Option<serde_json::Value> {
    match name {
        "org_id" => Some(serde_json::json!("acme")),
        "id" => Some(serde_json::json!("hold_2")),
        "email" => Some(serde_json::json!("owner@acme.example")),
        _ => None,
    }
}

fn operation(route: &Route) -> utoipa::openapi::path::Operation {
    let error = || json_response("Refused: the one error shape", RefOr::Ref(Ref::from_schema_name("Error")));
    let ok =
        route.response.map(|f| named(&f())).unwrap_or_else(|| RefOr::T(Schema::Object(ObjectBuilder::new().build())));
    let mut responses = ResponsesBuilder::new();
    responses = match route.answer {
        Json if route.method == "POST" => {
            responses.response("200", json_response("OK", ok.clone())).response("201", json_response("Created", ok))
        }
        Json => responses.response("200", json_response("OK", ok)),
        Write => responses
            .response("201", json_response("Applied: the events it made", ok.clone()))
            .response("200", json_response("Applied without new credits, or a replay", ok)),
        Html => responses.response("200", content_response("A page", &["text/html"], false)),
        Text => {
            responses.response("200", content_response("Text", &["text/plain", "text/css", "text/javascript"], false))
        }
        File => responses.response(
            "200",
            content_response(
                "The file, streamed",
                &["text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"],
                true,
            ),
        ),
        Redirect => responses
            .response("303", ResponseBuilder::new().description("Redirect to the dashboard").build())
            .response("200", content_response("A page", &["text/html"], false)),
    };
    if route.answer == Html || route.answer == Redirect {
        let page = ContentBuilder::new().schema(Some(RefOr::T(Schema::Object(string().build())))).build();
        let json = ContentBuilder::new().schema(Some(RefOr::Ref(Ref::from_schema_name("Error")))).build();
        let refused =
            ResponseBuilder::new().description("An error page, or the error shape").content("text/html", page);
        responses = responses.response("4XX", refused.content("application/json", json).build());
    } else {
        responses = responses.response("4XX", error());
    }
    responses = responses.response("503", error());
    let mut op = OperationBuilder::new()
        .tag(route.tag)
        .summary(Some(route.summary))
        .operation_id(Some(format!("{}_{}", route.method.to_lowercase(), slug(route.path))))
        .responses(responses.build());
    for name in path_params(route.path) {
        op = op.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .example(path_example(name))
                .schema(Some(string().build())),
        );
    }
    match route.params {
        Some(params) => {
            for p in params() {
                op = op.parameter(p);
            }
        }
        None => {
            for name in route.query {
                op = op.parameter(
                    ParameterBuilder::new()
                        .name(*name)
                        .parameter_in(ParameterIn::Query)
                        .required(Required::False)
                        .schema(Some(string().build())),
                );
            }
        }
    }
    if route.keyed {
        op = op.parameter(
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some("A retry with the same key gets the first answer"))
                .schema(Some(string().min_length(Some(1)).max_length(Some(255)).build())),
        );
    }
    if route.body {
        let schema = match route.request {
            Some(f) => named(&f()),
            None => RefOr::T(Schema::Object(ObjectBuilder::new().schema_type(Type::Object).build())),
        };
        let required = if route.body_optional { Required::False } else { Required::True };
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", ContentBuilder::new().schema(Some(schema)).build())
                .required(Some(required))
                .build(),
        ));
    }
    if route.auth {
        op = op.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
    }
    op.build()
}

/// Schemas the query parameters refer to by name.
fn parameter_schemas() -> Vec<TypeSchema> {
    vec![
        schema::<EventKind>(),
        schema::<Pool>(),
        schema::<Status>(),
        schema::<UsageGroup>(),
        schema::<ConversationGroup>(),
        schema::<RangeName>(),
        schema::<ExportFormat>(),
        schema::<ExportLayout>(),
        schema::<ExportOrder>(),
    ]
}

/// The `{name}` segments of a path.
pub fn path_params(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect()
}

fn slug(path: &str) -> String {
    let s: String = path.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let s = s.split('_').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("_");
    if s.is_empty() { "root".into() } else { s }
}

fn method(m: &str) -> HttpMethod {
    match m {
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

/// The document, built once.
pub fn document() -> &'static OpenApi {
    static DOC: std::sync::OnceLock<OpenApi> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let mut paths = PathsBuilder::new().build();
        let mut components = ComponentsBuilder::new();
        let mut add = |t: TypeSchema| {
            components = std::mem::take(&mut components).schema(t.name, t.schema).schemas_from_iter(t.refs);
        };
        add(schema::<ErrorBody>());
        for route in ROUTES {
            paths.add_path_operation(route.path, vec![method(route.method)], operation(route));
            route.request.into_iter().chain(route.response).for_each(|f| add(f()));
        }
        parameter_schemas().into_iter().for_each(&mut add);
        OpenApiBuilder::new()
            .info(
                InfoBuilder::new()
                    .title("creditd")
                    .version(env!("CARGO_PKG_VERSION"))
                    .description(Some(
                        "A credit ledger and credit-history service. Amounts are exact decimals: a request may \
                         write one as a JSON number or a decimal string with at most 6 decimals (Amount); \
                         answers write them as JSON numbers (Credits). Request bodies refuse unknown fields. \
                         Every error is {\"error\": {\"code\", \"message\"}}.",
                    ))
                    .build(),
            )
            .paths(paths)
            .components(Some(
                components.security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer))).build(),
            ))
            .build()
    })
}

/// The Swagger UI at `/docs` (its files compiled into the binary) and the
/// document at `/openapi.json`.
pub fn swagger_ui() -> utoipa_swagger_ui::SwaggerUi {
    utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", document().clone())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Value, json};

    use super::*;

    fn doc() -> Value {
        serde_json::to_value(document()).unwrap()
    }

    /// Every route that takes a body names its type, every JSON answer
    /// names its type, and every route that reads a query string types it
    /// with exactly the names the handler accepts.
    #[test]
    fn every_route_has_its_schemas() {
        let mut missing = Vec::new();
        // Known gap, named in the closing note: the webhook routes
        // (merged alongside this check) still answer untyped JSON.
        for r in ROUTES.iter().filter(|r| !r.path.contains("/webhooks")) {
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
        for r in ROUTES.iter().filter(|r| r.request.is_some()) {
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
