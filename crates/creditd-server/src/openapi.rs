//! The OpenAPI 3.1 document (`GET /openapi.json`) and Swagger UI (`/docs`),
//! served from the binary.
//!
//! [`ROUTES`] is the one list of what the router serves; the document is
//! built from it with utoipa's builders, and a test compares it with the
//! route registrations in the source so a route cannot be added without
//! being documented. Bodies are described by their shape (JSON object, the
//! one error shape); the README and the handlers' docs say which fields.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr, Required,
    ResponseBuilder, ResponsesBuilder,
};

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
    /// Query parameters it reads.
    pub query: &'static [&'static str],
}

const fn r(
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    answer: Answer,
) -> Route {
    let body = matches!(answer, Answer::Write) || matches!(method.as_bytes(), b"POST" | b"PUT" | b"PATCH");
    Route { method, path, tag, summary, answer, auth: true, body, query: &[] }
}

const fn public(mut route: Route) -> Route {
    route.auth = false;
    route
}

const fn no_body(mut route: Route) -> Route {
    route.body = false;
    route
}

const fn query(mut route: Route, query: &'static [&'static str]) -> Route {
    route.query = query;
    route
}

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

use Answer::*;

/// Every route the router serves.
pub const ROUTES: &[Route] = &[
    public(r("GET", "/healthz", "operations", "The process answers", Json)),
    public(r("GET", "/readyz", "operations", "The store answers a read", Json)),
    public(r("GET", "/metrics", "operations", "Prometheus metrics", Text)),
    public(r("GET", "/openapi.json", "operations", "This document", Json)),
    r("POST", "/api/organizations", "organizations", "Create an organisation", Write),
    r("GET", "/api/organizations/{org_id}", "organizations", "An organisation and its settings", Json),
    r("PATCH", "/api/organizations/{org_id}", "organizations", "Change an organisation's settings", Json),
    r("GET", "/api/organizations/{org_id}/balance", "ledger", "Available, held, per pool", Json),
    r("GET", "/api/organizations/{org_id}/verify", "ledger", "Recompute balances and the hash chain", Json),
    r(
        "POST",
        "/api/organizations/{org_id}/credits",
        "ledger",
        "Grant, purchase, voucher or subscription credits",
        Write,
    ),
    no_body(r("POST", "/api/organizations/{org_id}/purchases/{id}/settle", "ledger", "Settle a purchase", Write)),
    r("POST", "/api/organizations/{org_id}/holds", "ledger", "Reserve credits", Write),
    no_body(r("POST", "/api/organizations/{org_id}/holds/{id}/debit", "ledger", "Capture a hold once", Write)),
    no_body(r("POST", "/api/organizations/{org_id}/holds/{id}/release", "ledger", "Release a hold", Write)),
    r("POST", "/api/organizations/{org_id}/usage", "ledger", "Consume credits without a hold", Write),
    query(
        r("GET", "/api/organizations/{org_id}/usage", "analytics", "Usage by action, user, project or day", Json),
        &["group_by", "range", "date_from", "date_to", "user_email"],
    ),
    query(
        r(
            "GET",
            "/api/organizations/{org_id}/conversations/usage",
            "analytics",
            "Conversations by day, campaign, identity",
            Json,
        ),
        &["group_by", "range", "date_from", "date_to"],
    ),
    r("POST", "/api/organizations/{org_id}/refunds", "ledger", "Refund consumed credits", Write),
    r("POST", "/api/organizations/{org_id}/adjustments", "ledger", "Signed correction with a reason", Write),
    r("POST", "/api/organizations/{org_id}/billing", "ledger", "An invoice or charge record", Write),
    query(
        r("GET", "/api/organizations/{org_id}/credit-events", "history", "Credit history, newest first", Json),
        HISTORY_QUERY,
    ),
    query(
        r(
            "GET",
            "/api/organizations/{org_id}/credit-events/export",
            "history",
            "Every matching event as CSV or XLSX",
            File,
        ),
        &[
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
        ],
    ),
    r("POST", "/api/batch", "ledger", "Many operations, one result each", Json),
    r("GET", "/api/organizations/{org_id}/summary", "plans", "The plan tab: plan, balance, renewal, forecast", Json),
    r("GET", "/api/organizations/{org_id}/plan", "plans", "The plan, a pending change, the period", Json),
    r("PUT", "/api/organizations/{org_id}/plan", "plans", "Subscribe or change the plan", Json),
    query(
        r("GET", "/api/organizations/{org_id}/conversations", "plans", "Conversations grouped", Json),
        &["group_by", "date_from", "date_to"],
    ),
    r("POST", "/api/organizations/{org_id}/conversations", "plans", "Count a conversation against its identity", Write),
    r("PUT", "/api/organizations/{org_id}/low-balance-threshold", "plans", "Set or clear the alert threshold", Json),
    query(
        r("GET", "/api/organizations/{org_id}/notifications", "plans", "Stored notifications", Json),
        &["after", "limit"],
    ),
    r("GET", "/api/organizations/{org_id}/members", "members", "Members and their roles", Json),
    r("POST", "/api/organizations/{org_id}/members", "members", "Add a member", Write),
    r("GET", "/api/organizations/{org_id}/members/{email}", "members", "One member", Json),
    r("PATCH", "/api/organizations/{org_id}/members/{email}", "members", "Change a member", Json),
    r("DELETE", "/api/organizations/{org_id}/members/{email}", "members", "Remove a member", Json),
    r("GET", "/api/organizations/{org_id}/caps", "members", "Spending caps", Json),
    r("PUT", "/api/organizations/{org_id}/caps", "members", "Set a spending cap", Json),
    r("GET", "/api/organizations/{org_id}/me", "members", "Who the caller is here", Json),
    r("GET", "/api/organizations/{org_id}/webhooks", "webhooks", "Webhook endpoints (secrets never shown)", Json),
    r(
        "POST",
        "/api/organizations/{org_id}/webhooks",
        "webhooks",
        "Register an endpoint (the secret is shown once)",
        Write,
    ),
    r("GET", "/api/organizations/{org_id}/webhooks/{id}", "webhooks", "One webhook endpoint", Json),
    r(
        "DELETE",
        "/api/organizations/{org_id}/webhooks/{id}",
        "webhooks",
        "Delete an endpoint and its pending deliveries",
        Json,
    ),
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
    r("GET", "/api/keys", "keys", "API keys", Json),
    r("POST", "/api/keys", "keys", "Create an API key (the secret is shown once)", Write),
    r("GET", "/api/keys/{key_id}", "keys", "One API key", Json),
    r("DELETE", "/api/keys/{key_id}", "keys", "Revoke an API key", Json),
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

fn any_json() -> RefOr<Schema> {
    RefOr::T(Schema::Object(ObjectBuilder::new().build()))
}

fn object() -> RefOr<Schema> {
    RefOr::T(Schema::Object(ObjectBuilder::new().schema_type(Type::Object).build()))
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn error_schema() -> Schema {
    let inner = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("code", string().description(Some("Stable machine-readable code")))
        .property("message", string())
        .required("code")
        .required("message");
    Schema::Object(ObjectBuilder::new().schema_type(Type::Object).property("error", inner).required("error").build())
}

fn json_response(description: &str, schema: RefOr<Schema>) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(schema)).build())
        .build()
}

fn content_response(description: &str, types: &[&str]) -> utoipa::openapi::Response {
    let mut b = ResponseBuilder::new().description(description);
    for t in types {
        b = b.content(*t, ContentBuilder::new().schema(Some(RefOr::T(Schema::Object(string().build())))).build());
    }
    b.build()
}

fn operation(route: &Route) -> utoipa::openapi::path::Operation {
    let error = || json_response("Refused: the one error shape", RefOr::Ref(Ref::from_schema_name("Error")));
    let mut responses = ResponsesBuilder::new();
    responses = match route.answer {
        Json if route.method == "POST" => responses
            .response("200", json_response("OK", any_json()))
            .response("201", json_response("Created", any_json())),
        Json => responses.response("200", json_response("OK", any_json())),
        Write => responses
            .response("201", json_response("Applied: the events it made", any_json()))
            .response("200", json_response("Applied without events, or a replay", any_json())),
        Html => responses.response("200", content_response("A page", &["text/html"])),
        Text => responses.response("200", content_response("Text", &["text/plain", "text/css", "text/javascript"])),
        File => responses.response(
            "200",
            content_response(
                "The file, streamed",
                &["text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"],
            ),
        ),
        Redirect => responses
            .response("303", ResponseBuilder::new().description("Redirect to the dashboard").build())
            .response("200", content_response("A page", &["text/html"])),
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
                .schema(Some(string().build())),
        );
    }
    for name in route.query {
        op = op.parameter(
            ParameterBuilder::new()
                .name(*name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .schema(Some(string().build())),
        );
    }
    if route.method != "GET" && route.path.starts_with("/api/") {
        op = op.parameter(
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some("A retry with the same key gets the first answer"))
                .schema(Some(string().max_length(Some(255)).build())),
        );
    }
    if route.body {
        let required = if route.answer == Write && route.method == "POST" { Required::True } else { Required::False };
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", ContentBuilder::new().schema(Some(object())).build())
                .required(Some(required))
                .build(),
        ));
    }
    if route.auth {
        op = op.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
    }
    op.build()
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
        for route in ROUTES {
            paths.add_path_operation(route.path, vec![method(route.method)], operation(route));
        }
        OpenApiBuilder::new()
            .info(
                InfoBuilder::new()
                    .title("creditd")
                    .version(env!("CARGO_PKG_VERSION"))
                    .description(Some(
                        "A credit ledger and credit-history service. Amounts are exact decimals (numbers or \
                         strings, at most 6 decimals). Every error is {\"error\": {\"code\", \"message\"}}.",
                    ))
                    .build(),
            )
            .paths(paths)
            .components(Some(
                ComponentsBuilder::new()
                    .schema("Error", error_schema())
                    .security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)))
                    .build(),
            ))
            .build()
    })
}

/// The Swagger UI at `/docs` (its files compiled into the binary) and the
/// document at `/openapi.json`.
pub fn swagger_ui() -> utoipa_swagger_ui::SwaggerUi {
    utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", document().clone())
}
