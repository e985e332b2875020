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
//!
//! The document is also what clients are generated from (`openapi.json` at
//! the top of the repository is a copy a test keeps equal to it): every
//! route has an operation id a person would write (`createHold`), a tag
//! from [`TAGS`] and a summary, bodies and the main answers have
//! [`examples`] checked against their schemas, and no schema is an `allOf`
//! ([`build_document`] flattens them, see `flatten_all_of`), which some
//! generators refuse. `.ci/openapi-generators` runs two generators on it.

use std::collections::BTreeMap;

use creditd_core::{EventKind, Pool, Status};
use creditd_store::ConversationGroup;
use creditd_store::range::RangePreset;
use creditd_store::rollup::UsageGroup;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{AllOf, Object, ObjectBuilder, OneOf, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr, Required,
    ResponseBuilder, ResponsesBuilder,
};
use utoipa::{IntoParams, PartialSchema, ToSchema};

pub use crate::answer::{Answer, Described, SchemaFn, TypeSchema, schema};
use crate::error::ErrorBody;

/// The query parameters of a route.
pub type ParamsFn = fn() -> Vec<Parameter>;

/// An example JSON document (a request body or an answer).
pub type ExampleFn = fn() -> serde_json::Value;

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
    /// The operation's id, the name generated clients give it: camelCase,
    /// a verb first (`createHold`), unique.
    pub operation_id: &'static str,
    /// The document's group (one of [`TAGS`]).
    pub tag: &'static str,
    /// One line for people.
    pub summary: &'static str,
    /// More for people, when one line is not enough.
    pub description: Option<&'static str>,
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
    /// A body a newcomer would send (valid against `request`).
    pub request_example: Option<ExampleFn>,
    /// What the route answers when it succeeds (valid against `response`).
    pub response_example: Option<ExampleFn>,
}

impl Route {
    /// A route needing a key or a session, described by its handler.
    pub fn new(
        method: &'static str,
        path: &'static str,
        operation_id: &'static str,
        tag: &'static str,
        summary: &'static str,
        d: Described,
    ) -> Route {
        Route {
            method,
            path,
            operation_id,
            tag,
            summary,
            description: None,
            answer: d.answer,
            auth: true,
            body: d.request.is_some(),
            body_optional: false,
            keyed: d.keyed,
            query: &[],
            request: d.request,
            response: d.response,
            params: None,
            request_example: None,
            response_example: None,
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

    /// Says more than the summary.
    pub fn describe(mut self, description: &'static str) -> Route {
        self.description = Some(description);
        self
    }

    /// A body a newcomer would send.
    pub fn example(mut self, body: ExampleFn) -> Route {
        self.request_example = Some(body);
        self
    }

    /// What a success answers.
    pub fn answers(mut self, body: ExampleFn) -> Route {
        self.response_example = Some(body);
        self
    }
}

/// The document's groups, in order, with what each holds. Every route's
/// tag is one of these.
pub const TAGS: &[(&str, &str)] = &[
    ("organizations", "Create an organisation and change its settings."),
    (
        "ledger",
        "Writes: grant credits, hold (reserve) and then debit or release, record usage without a hold, \
         refund, adjust; the balance and the hash chain's check.",
    ),
    ("history", "The credit history: pages of events, and exports as CSV or XLSX."),
    ("analytics", "Usage sums by day, action, user, project or service, and conversation counts."),
    ("plans", "Subscription plans, renewals, conversations, the low-balance alert and notifications."),
    ("members", "Who may act on an organisation, with which role, and their spending caps."),
    ("keys", "API keys: service keys for backends, member keys for people's scripts."),
    ("webhooks", "Endpoints that receive signed messages when the ledger does something."),
    (
        "prices",
        "Price books: what each action costs (flat or graduated, per unit), shared by organisations, in \
         immutable versions.",
    ),
    ("operations", "Health, readiness, metrics and this document."),
    ("dashboard", "The browser dashboard's pages (HTML, not for API clients)."),
];

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
    /// `all` (default): every field of each event; `events`: seed 001's
    /// field names (`created_at`, `event_type`, `source`, `project_id`,
    /// `activity_name`, `credits`, `prepaid_balance_after`,
    /// `period_usage_after`, `metadata`).
    #[param(value_type = Option<HistoryFields>)]
    fields: Option<String>,
}

/// The file an export makes (`history::EXPORT_PARAMS`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ExportParams {
    /// Default csv.
    #[param(value_type = Option<ExportFormat>)]
    format: Option<String>,
    /// `report`: seed 000's credit history report (8 columns); `fpt`: seed
    /// 003's Date, Service, Source, Description, Code, Status, Amount;
    /// `events`: seed 001's event log columns and names, times in UTC;
    /// `full`: every field, as import reads it. In every layout but `full` a
    /// debit reads as 0 (its credits left with the hold) and says what it
    /// captured.
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

/// `GET …/balance/as-of` (`statements::AS_OF_PARAMS`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AsOfParams {
    /// Required. An RFC 3339 instant (not in the future), or a date like
    /// 2026-03-31: the end of that day in the organisation's zone; today's
    /// date means now (the answer's `as_of` is the instant used).
    #[param(value_type = String)]
    as_of: String,
}

/// `GET …/statement` (`statements::STATEMENT_PARAMS`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct StatementParams {
    /// Default last_month.
    #[param(value_type = Option<RangeName>)]
    range: Option<String>,
    /// A date like 2026-03-01 in the organisation's zone.
    #[param(value_type = Option<String>, format = Date)]
    date_from: Option<String>,
    /// A date, inclusive; default today; at most 366 days in all.
    #[param(value_type = Option<String>, format = Date)]
    date_to: Option<String>,
}

/// `GET …/statement/export` (`statements::STATEMENT_EXPORT_PARAMS`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct StatementExportParams {
    /// Default csv.
    #[param(value_type = Option<ExportFormat>)]
    format: Option<String>,
    /// Default last_month.
    #[param(value_type = Option<RangeName>)]
    range: Option<String>,
    /// A date like 2026-03-01 in the organisation's zone.
    #[param(value_type = Option<String>, format = Date)]
    date_from: Option<String>,
    /// A date, inclusive; default today; at most 366 days in all.
    #[param(value_type = Option<String>, format = Date)]
    date_to: Option<String>,
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
    creditd_export::Layout::ALL.iter().map(|l| l.as_str().into()).collect()
);
names_schema!(
    /// `history::credit_events`'s `fields`.
    HistoryFields,
    vec!["all".into(), "events".into()]
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
    "fields",
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
    example_response(description, schema, None)
}

fn example_response(
    description: &str,
    schema: RefOr<Schema>,
    example: Option<serde_json::Value>,
) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(schema)).example(example).build())
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
        Json => responses.response("200", example_response("OK", ok, route.response_example.map(|f| f()))),
        Write => responses
            .response(
                "201",
                example_response("Applied: the events it made", ok.clone(), route.response_example.map(|f| f())),
            )
            .response("200", json_response("Applied without new credits, or a replay", ok)),
        Html => responses.response("200", content_response("A page", &["text/html"], false)),
        Text => responses.response(
            "200",
            content_response("Text", &["text/plain", "text/css", "text/javascript", "image/svg+xml"], false),
        ),
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
        .description(route.description)
        .operation_id(Some(route.operation_id))
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
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(schema)).example(route.request_example.map(|f| f())).build(),
                )
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
        schema::<HistoryFields>(),
        schema::<ExportOrder>(),
    ]
}

/// The `{name}` segments of a path.
pub fn path_params(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect()
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
    let mut components =
        components.security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer))).build();
    flatten_all_of(&mut components.schemas);
    let tags = TAGS.iter().map(|(name, about)| TagBuilder::new().name(*name).description(Some(*about)).build());
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
        .tags(Some(tags))
        .paths(paths)
        .components(Some(components))
        .build()
}

/// Rewrites every `allOf` among the named schemas as what it means: one
/// object with the properties of all its parts, or, when a part is a
/// `oneOf` of objects (a flattened enum such as `KeyScope` in `ApiKey`),
/// a `oneOf` with one object per variant. `#[serde(flatten)]` makes these
/// `allOf`s, and generators refuse an `allOf` over anything but objects
/// (openapi-python-client: "Cannot take allOf a non-object"), so the
/// document holds none.
fn flatten_all_of(schemas: &mut BTreeMap<String, RefOr<Schema>>) {
    let flat: Vec<(String, RefOr<Schema>)> = schemas
        .iter()
        .filter_map(|(name, s)| match s {
            RefOr::T(Schema::AllOf(all)) => Some((name.clone(), RefOr::T(titled(name, merge_all_of(all, schemas))))),
            _ => None,
        })
        .collect();
    schemas.extend(flat);
}

/// Names the variants of a flattened enum after the schema and the tag
/// each one carries (`ApiKey` with `kind: service` is `ApiKeyService`), so
/// generated clients name their classes so, not `ApiKeyType0`.
fn titled(name: &str, schema: Schema) -> Schema {
    let Schema::OneOf(mut one) = schema else { return schema };
    let tag = |o: &Object| -> Option<String> {
        let values = o.properties.values().filter_map(|p| match p {
            RefOr::T(Schema::Object(p)) => match p.enum_values.as_deref() {
                Some([serde_json::Value::String(v)]) => Some(v.clone()),
                _ => None,
            },
            _ => None,
        });
        let values: Vec<String> = values.collect();
        let [value] = values.as_slice() else { return None };
        let pascal: String = value
            .split('_')
            .map(|w| w.chars().take(1).flat_map(char::to_uppercase).chain(w.chars().skip(1)).collect::<String>())
            .collect();
        Some(format!("{name}{pascal}"))
    };
    let titles: Vec<Option<String>> = one
        .items
        .iter()
        .map(|v| match v {
            RefOr::T(Schema::Object(o)) => tag(o),
            _ => None,
        })
        .collect();
    let unique: std::collections::BTreeSet<&String> = titles.iter().flatten().collect();
    if unique.len() == one.items.len() {
        for (item, title) in one.items.iter_mut().zip(titles) {
            if let RefOr::T(Schema::Object(o)) = item {
                o.title = title;
            }
        }
    }
    Schema::OneOf(one)
}

/// `part` with references to the named schemas followed and its own
/// `allOf` merged.
fn resolve(part: &RefOr<Schema>, schemas: &BTreeMap<String, RefOr<Schema>>) -> Schema {
    match part {
        RefOr::Ref(r) => {
            let name = r.ref_location.trim_start_matches("#/components/schemas/");
            let named = schemas.get(name).unwrap_or_else(|| panic!("allOf refers to {name}, not a named schema"));
            resolve(named, schemas)
        }
        RefOr::T(Schema::AllOf(all)) => merge_all_of(all, schemas),
        RefOr::T(s) => s.clone(),
    }
}

fn merge_all_of(all: &AllOf, schemas: &BTreeMap<String, RefOr<Schema>>) -> Schema {
    let object = |s: Schema| match s {
        Schema::Object(o) => o,
        other => panic!("allOf over a non-object: {}", serde_json::to_string(&other).unwrap_or_default()),
    };
    let mut alternatives = vec![ObjectBuilder::new().schema_type(Type::Object).build()];
    for part in &all.items {
        match resolve(part, schemas) {
            Schema::OneOf(one) => {
                let variants: Vec<Object> = one.items.iter().map(|v| object(resolve(v, schemas))).collect();
                alternatives = alternatives
                    .iter()
                    .flat_map(|a| {
                        variants.iter().map(move |v| {
                            let mut merged = a.clone();
                            merge_object(&mut merged, v);
                            merged.description = v.description.clone().or(merged.description);
                            merged
                        })
                    })
                    .collect();
            }
            other => alternatives.iter_mut().for_each(|a| merge_object(a, &object(other.clone()))),
        }
    }
    if let [one] = alternatives.as_mut_slice() {
        one.description = all.description.clone();
        one.title = all.title.clone();
        return Schema::Object(std::mem::take(one));
    }
    let mut one_of = OneOf::new();
    one_of.items = alternatives.into_iter().map(|o| RefOr::T(Schema::Object(o))).collect();
    one_of.description = all.description.clone();
    one_of.title = all.title.clone();
    Schema::OneOf(one_of)
}

/// Adds `part`'s properties, required names and `additionalProperties`
/// to `into` (a part's own description describes a field, not the whole).
fn merge_object(into: &mut Object, part: &Object) {
    into.properties.extend(part.properties.iter().map(|(k, v)| (k.clone(), v.clone())));
    for r in &part.required {
        if !into.required.contains(r) {
            into.required.push(r.clone());
        }
    }
    if into.additional_properties.is_none() {
        into.additional_properties = part.additional_properties.clone();
    }
}

/// The Swagger UI at `/docs` (its files compiled into the binary), reading
/// the document at `/openapi.json` (served by its own route).
pub fn swagger_ui() -> utoipa_swagger_ui::SwaggerUi {
    utoipa_swagger_ui::SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::from("/openapi.json"))
}

/// Examples for the document: what a newcomer would send and what they
/// get back, taken from a real session (organisation `acme`, 1,000 credits
/// granted, a hold of 12.5 debited 10.25). The route table names them;
/// tests check each against its schema.
pub mod examples {
    use serde_json::{Value, json};

    /// A price book version: a flat, a tiered and a per-model token price.
    pub fn price_book_draft() -> Value {
        json!({"effective_from": "2026-04-01T00:00:00Z", "prices": [
            {"key": "image_generation", "service": "images", "activity": "generate", "unit": "image",
             "credits_per_unit": 2.5},
            {"key": "enrichment", "service": "crm", "activity": "enrich", "unit": "row",
             "tiers": [{"up_to": 1000, "credits_per_unit": 1}, {"credits_per_unit": "0.5"}]},
            {"key": "tokens_in", "service": "llm", "activity": "input", "unit": "1k tokens",
             "credits_per_unit": 0.1},
            {"key": "tokens_in", "service": "llm", "activity": "input", "unit": "1k tokens",
             "dimensions": {"model": "large"}, "credits_per_unit": 0.3}
        ]})
    }

    const AT: &str = "2026-03-02T09:15:00.120000Z";

    /// A credit event as answered: every field, unset ones null.
    fn event(seq: u64, kind: &str, amount: Value, after: [Value; 3], fields: Value) -> Value {
        let mut e = json!({
            "id": format!("evt_{seq}"), "org_id": "acme", "seq": seq, "created_at": AT, "kind": kind,
            "amount": amount, "pool": "promotional", "status": "succeeded", "source": null, "service": null,
            "activity": null, "project_id": null, "project_name": null, "user_name": null, "user_email": null,
            "description": null, "code": null, "hold_id": null, "idempotency_key": null,
            "balance_after": after[0], "prepaid_balance_after": 0, "held_after": after[1],
            "period_usage_after": after[2], "metadata": null,
        });
        for (k, v) in fields.as_object().into_iter().flatten() {
            e[k] = v.clone();
        }
        e
    }

    fn balance(available: Value, held: Value, usage: Value, seq: u64) -> Value {
        json!({
            "org_id": "acme", "available": available, "held": held,
            "pools": {"plan": 0, "prepaid": 0, "voucher": 0, "promotional": available},
            "overdraft_used": 0, "overdraft_limit": 0, "period_start": "2026-02-28T23:00:00Z",
            "period_end": "2026-03-31T22:00:00Z", "period_usage": usage, "seq": seq,
        })
    }

    fn hold(status: &str, captured: Value) -> Value {
        json!({
            "id": "hold_2", "kind": "hold", "status": status, "amount": 12.5, "captured": captured, "refunded": 0,
            "draws": [{"block_id": "blk_1", "pool": "promotional", "expires_at": null, "amount": 12.5}],
            "expires_at": "2026-03-02T10:15:00.120000Z", "created_at": AT,
            "ctx": {"service": "AI", "activity": "Summarise a document", "user_email": "ana@acme.example"},
        })
    }

    fn hold_fields() -> Value {
        json!({"service": "AI", "activity": "Summarise a document", "user_email": "ana@acme.example",
            "hold_id": "hold_2"})
    }

    /// `POST /api/organizations` and `GET …/{org_id}`.
    pub fn organization() -> Value {
        json!({
            "id": "acme", "created_at": AT, "name": "Acme", "time_zone": "Europe/Madrid",
            "consumption_order": ["plan", "voucher", "promotional", "prepaid"], "expiring_first": true,
            "overdraft_limit": 0, "renewal_day": 1,
        })
    }

    /// `POST …/credits`: a grant of 1,000.
    pub fn granted() -> Value {
        let e = event(
            1,
            "grant",
            json!(1000),
            [json!(1000), json!(0), json!(0)],
            json!({"description": "Welcome credits"}),
        );
        json!({"events": [e], "balance": balance(json!(1000), json!(0), json!(0), 1)})
    }

    /// `POST …/holds`: 12.5 reserved.
    pub fn held() -> Value {
        let e = event(2, "hold", json!(-12.5), [json!(987.5), json!(12.5), json!(0)], hold_fields());
        json!({"events": [e], "balance": balance(json!(987.5), json!(12.5), json!(0), 2), "hold": hold("open", json!(0))})
    }

    /// `POST …/holds/{id}/debit`: 10.25 of the 12.5 captured, the rest released.
    pub fn debited() -> Value {
        let debit = event(3, "debit", json!(-10.25), [json!(987.5), json!(2.25), json!(10.25)], hold_fields());
        let mut rest = hold_fields();
        rest["description"] = json!("Rest of hold hold_2 released after a partial debit");
        let release = event(4, "release", json!(2.25), [json!(989.75), json!(0), json!(10.25)], rest);
        json!({
            "events": [debit, release],
            "balance": balance(json!(989.75), json!(0), json!(10.25), 4),
            "hold": hold("debited", json!(10.25)),
        })
    }

    /// `POST …/holds/{id}/extend`: 5 more reserved and two hours from now.
    pub fn extended() -> Value {
        let mut fields = hold_fields();
        fields["description"] = json!("Hold hold_2 extended");
        let e = event(3, "hold", json!(-5), [json!(982.5), json!(17.5), json!(0)], fields);
        let mut hold = hold("open", json!(0));
        hold["amount"] = json!(17.5);
        hold["expires_at"] = json!("2026-03-02T11:15:00.120000Z");
        hold["draws"] = json!([
            {"block_id": "blk_1", "pool": "promotional", "expires_at": null, "amount": 12.5},
            {"block_id": "blk_1", "pool": "promotional", "expires_at": null, "amount": 5},
        ]);
        json!({"events": [e], "balance": balance(json!(982.5), json!(17.5), json!(0), 3), "hold": hold})
    }

    /// `POST …/check`: 4 images would cost 10 and are allowed.
    pub fn checked() -> Value {
        json!({
            "allowed": true, "cost": 10,
            "pricing": {"price_key": "image_generation", "quantity": 4, "unit": "image", "unit_price": 2.5,
                "price_book": "standard", "version": 1},
            "available": 987.75,
            "caps": [{"subject": {"member": "ana@acme.example"}, "limit": 100, "used": 14.25, "remaining": 85.75,
                "period_start": "2026-02-28T23:00:00Z", "period_end": "2026-03-31T22:00:00Z"}],
        })
    }

    /// `POST …/holds/{id}/release`: all 12.5 back.
    pub fn released() -> Value {
        let e = event(3, "release", json!(12.5), [json!(1000), json!(0), json!(0)], hold_fields());
        json!({"events": [e], "balance": balance(json!(1000), json!(0), json!(0), 3), "hold": hold("released", json!(0))})
    }

    /// `POST …/usage`: 2 credits consumed without a hold.
    pub fn used() -> Value {
        let fields = json!({"service": "AI", "activity": "Translate a page", "user_email": "ana@acme.example",
            "hold_id": "use_5"});
        let e = event(5, "usage", json!(-2), [json!(987.75), json!(0), json!(12.25)], fields);
        let usage = json!({
            "id": "use_5", "kind": "usage", "status": "consumed", "amount": 2, "captured": 2, "refunded": 0,
            "draws": [{"block_id": "blk_1", "pool": "promotional", "expires_at": null, "amount": 2}],
            "expires_at": null, "created_at": AT,
            "ctx": {"service": "AI", "activity": "Translate a page", "user_email": "ana@acme.example"},
        });
        json!({"events": [e], "balance": balance(json!(987.75), json!(0), json!(12.25), 5), "usage": usage})
    }

    /// `GET …/balance`.
    pub fn balance_view() -> Value {
        let mut b = balance(json!(987.75), json!(0), json!(12.25), 5);
        b["caps"] = json!([]);
        b
    }

    /// `GET …/balance/as-of?as_of=2026-03-02T09:20:00Z`: one hold open then.
    pub fn balance_at() -> Value {
        json!({
            "org_id": "acme", "as_of": "2026-03-02T09:20:00Z", "before_org_created": false, "seq": 3,
            "last_event_at": AT, "available": 990, "held": 10, "prepaid": 0, "period_usage": 0,
            "period_start": "2026-02-28T23:00:00Z", "period_end": "2026-03-31T22:00:00Z",
            "open_hold_count": 1,
            "open_holds": [{"id": "hold_3", "amount": 10, "created_at": AT, "user_email": "ana@acme.example"}],
        })
    }

    /// `GET …/statement?date_from=2026-03-01&date_to=2026-03-31`.
    pub fn statement() -> Value {
        json!({
            "org_id": "acme", "time_zone": "Europe/Madrid", "date_from": "2026-03-01", "date_to": "2026-03-31",
            "from": "2026-02-28T23:00:00Z", "to": "2026-03-31T22:00:00Z",
            "opening": {"balance": 250, "available": 250, "held": 0, "seq": 41},
            "credits_in": [
                {"kind": "purchase", "title": "Purchase", "amount": 1000, "count": 1},
                {"kind": "refund", "title": "Refund", "amount": 2, "count": 1},
            ],
            "total_in": 1002,
            "credits_out": [
                {"kind": "usage_and_debits", "title": "Usage and debits", "amount": 262.25, "count": 57},
                {"kind": "expiry", "title": "Expiry", "amount": 50, "count": 1},
            ],
            "total_out": 312.25,
            "expired": 50,
            "closing": {"balance": 939.75, "available": 929.75, "held": 10, "seq": 142},
        })
    }

    /// `GET …/credit-events?limit=2`: the newest two, and where the next page starts.
    pub fn page() -> Value {
        let fields = json!({"service": "AI", "activity": "Translate a page", "user_email": "ana@acme.example",
            "hold_id": "use_5"});
        let usage = event(5, "usage", json!(-2), [json!(987.75), json!(0), json!(12.25)], fields);
        let mut rest = hold_fields();
        rest["description"] = json!("Rest of hold hold_2 released after a partial debit");
        let release = event(4, "release", json!(2.25), [json!(989.75), json!(0), json!(10.25)], rest);
        json!({"events": [usage, release], "limit": 2, "offset": 0, "next_cursor": "c4"})
    }

    /// `GET …/verify`.
    pub fn verified() -> Value {
        json!({"org_id": "acme", "events": 5, "ok": true, "problems": [], "chain_checked": true})
    }

    /// `POST …/members`: the first member, an owner.
    pub fn member() -> Value {
        json!({"org_id": "acme", "email": "ana@acme.example", "name": "Ana", "role": "owner", "created_at": AT,
            "cap": null})
    }

    /// `POST /api/keys`: a service key for one organisation, its secret shown once.
    pub fn key_created() -> Value {
        json!({
            "key": {"id": "key_o3hmlHDuavU42byj", "prefix": "cdk_AqEQ57eH", "name": "billing backend",
                "kind": "service", "org_ids": ["acme"], "created_at": AT, "revoked_at": null,
                "last_used_at": null, "cap": null},
            "secret": "cdk_AqEQ57eH9WzYJcgULAz9neGCp920vBpN6E5hKzeg",
            "note": "Store the secret now: it is shown only this once. Send it as Authorization: Bearer <secret>.",
        })
    }

    /// `POST …/webhooks`: the endpoint and its signing secret, shown once.
    pub fn endpoint_created() -> Value {
        json!({
            "endpoint": {"id": "whe_Lp3Ni0gwzh9H6OCZ", "org_id": "acme", "url": "https://example.com/hooks/creditd",
                "event_types": ["low_balance", "depleted"], "description": "Alerts for the billing team",
                "secret_prefix": "whsec_zTQOPj", "created_at": AT},
            "secret": "whsec_zTQOPj3z0X2J3wQh1kWHb9jDLJY670t4",
        })
    }

    /// `GET …/usage?group_by=service`: this month's consumption per service.
    pub fn usage_report() -> Value {
        json!({
            "org_id": "acme", "time_zone": "Europe/Madrid", "range": "this_month", "date_from": "2026-03-01",
            "date_to": "2026-03-31", "from": "2026-02-28T23:00:00Z", "to": "2026-03-31T22:00:00Z",
            "group_by": "service", "user_email": null, "total_credits": 12.25, "total_operations": 2,
            "truncated": false, "rows": [{"key": "AI", "credits": 12.25, "operations": 2, "quantity": 0}],
        })
    }

    /// `GET /healthz` and `/readyz`.
    pub fn healthy() -> Value {
        json!({"status": "ok"})
    }
}
