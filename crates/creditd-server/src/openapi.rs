//! The OpenAPI 3.1 document (`GET /openapi.json`) and Swagger UI (`/docs`),
//! served from the binary: how one route is described ([`Route`]) and how
//! the document is built from the route table ([`build_document`]).
//!
//! The routes themselves are listed once, in `routes::table`, which builds
//! both the router and this document. A route's answer type and whether it
//! reads a typed body or an `Idempotency-Key` come from its handler's
//! signature (`answer::HandlerDoc`); its query string's types are the
//! `IntoParams` structs below. Every schema is derived (`utoipa::ToSchema`)
//! from the types the handlers parse and serialise, so the document cannot
//! say one thing while the code does another. Tests check real answers
//! against the schemas.

use creditd_core::{EventKind, Pool, Status};
use creditd_store::ConversationGroup;
use creditd_store::range::RangePreset;
use creditd_store::rollup::UsageGroup;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr, Required,
    ResponseBuilder, ResponsesBuilder,
};
use utoipa::{IntoParams, PartialSchema, ToSchema};

pub use crate::answer::{Answer, Described, SchemaFn, TypeSchema, schema};
use crate::error::ErrorBody;

/// The query parameters of a route.
pub type ParamsFn = fn() -> Vec<Parameter>;

/// The query parameters of `T`. An empty value (`?date_to=`) is read as
/// if the parameter were left out (`QueryPairs`), which `allowEmptyValue`
/// says.
pub fn query_of<T: IntoParams>() -> Vec<Parameter> {
    let mut params = T::into_params(|| Some(ParameterIn::Query));
    for p in &mut params {
        // utoipa has no field for this 3.0 keyword (3.1 still defines it).
        let empty = utoipa::openapi::extensions::Extensions::from_iter([("allowEmptyValue", true)]);
        p.extensions.get_or_insert_with(Default::default).merge(empty);
    }
    params
}

/// One method on one path, as the document describes it.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// The path, with `{name}` parameters.
    pub path: &'static str,
    /// The document's group.
    pub tag: &'static str,
    /// One line for people.
    pub summary: &'static str,
    /// What it answers when it succeeds (its handler's return type).
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

impl Route {
    /// A route needing a key or a session, described by its handler.
    pub fn new(
        method: &'static str,
        path: &'static str,
        tag: &'static str,
        summary: &'static str,
        d: Described,
    ) -> Route {
        Route {
            method,
            path,
            tag,
            summary,
            answer: d.answer,
            auth: true,
            body: d.request.is_some(),
            body_optional: false,
            keyed: d.keyed,
            query: &[],
            request: d.request,
            response: d.response,
            params: None,
        }
    }

    /// Open to anyone (no key, no session).
    pub fn public(mut self) -> Route {
        self.auth = false;
        self
    }

    /// Takes a JSON body of this type (a handler that parses its raw body
    /// itself names it here).
    pub fn takes(mut self, request: SchemaFn) -> Route {
        self.body = true;
        self.request = Some(request);
        self
    }

    /// Takes a JSON body of this type, or none (read as `{}`).
    pub fn may_take(mut self, request: SchemaFn) -> Route {
        self.body_optional = true;
        self.takes(request)
    }

    /// Reads these query parameters (`names` as the handler checks them).
    pub fn reads(mut self, names: &'static [&'static str], params: ParamsFn) -> Route {
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

/// A history page's query string: where it starts and the filters.
pub fn history_params() -> Vec<Parameter> {
    [query_of::<PageParams>(), query_of::<HistoryFilters>()].concat()
}

/// An export's query string: the file's shape and the filters.
pub fn export_params() -> Vec<Parameter> {
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

/// `history::PAGE_PARAMS` and `FILTER_PARAMS`, as one list.
pub const HISTORY_QUERY: &[&str] = &[
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
pub const EXPORT_QUERY: &[&str] = &[
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

/// `GET …/webhooks/{id}/deliveries` (`webhooks::DELIVERY_PARAMS`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct DeliveryParams {
    /// Default 50.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

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
    use Answer::*;
    responses = match route.answer {
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
    if route.body {
        // Answered by the connection layer before the handler runs.
        responses = responses
            .response(
                "408",
                json_response(
                    "request_timeout: the body did not arrive within the body deadline (30 s by default); \
                     the connection is closed and nothing was applied",
                    RefOr::Ref(Ref::from_schema_name("Error")),
                ),
            )
            .response(
                "413",
                json_response(
                    "payload_too_large: the body is over 1 MiB; nothing was applied",
                    RefOr::Ref(Ref::from_schema_name("Error")),
                ),
            );
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

/// The document of `routes`, in their order.
pub fn build_document<'a>(routes: impl IntoIterator<Item = &'a Route>) -> OpenApi {
    let mut paths = PathsBuilder::new().build();
    let mut components = ComponentsBuilder::new();
    let mut add = |t: TypeSchema| {
        components = std::mem::take(&mut components).schema(t.name, t.schema).schemas_from_iter(t.refs);
    };
    add(schema::<ErrorBody>());
    for route in routes {
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
}

/// The Swagger UI at `/docs` (its files compiled into the binary), reading
/// the document at `/openapi.json` (served by its own route).
pub fn swagger_ui() -> utoipa_swagger_ui::SwaggerUi {
    utoipa_swagger_ui::SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::from("/openapi.json"))
}
