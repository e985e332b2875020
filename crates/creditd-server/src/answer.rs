//! What a handler answers, as types: the wrappers handlers return instead
//! of a bare `Response`, and what each says about itself in the OpenAPI
//! document.
//!
//! The route table (`routes`) reads a handler's signature through
//! [`HandlerDoc`]: its return type gives the route's answer (JSON of which
//! type, a write, a page, a file, a redirect) and its arguments give what
//! it reads (a typed JSON body, an `Idempotency-Key`). So the document
//! cannot name one answer type while the handler returns another. A leaf:
//! it imports nothing else of this crate but the error shape.

use std::borrow::Cow;
use std::future::Future;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, Schema};

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
    /// The component name (`#/components/schemas/<name>`).
    pub name: Cow<'static, str>,
    /// The schema itself.
    pub schema: RefOr<Schema>,
    /// The schemas it refers to, by name.
    pub refs: Vec<(String, RefOr<Schema>)>,
}

/// The schema of a Rust type, as a function a route can hold.
pub type SchemaFn = fn() -> TypeSchema;

/// The schema of `T` (a request body or an answer).
pub fn schema<T: ToSchema>() -> TypeSchema {
    let mut refs = Vec::new();
    T::schemas(&mut refs);
    TypeSchema { name: T::name(), schema: T::schema(), refs }
}

/// An answer type that knows how the document describes it.
pub trait Documented {
    /// The kind of answer.
    const ANSWER: Answer;

    /// The JSON body's type, for JSON answers.
    fn response() -> Option<SchemaFn> {
        None
    }
}

impl<T: Documented, E> Documented for Result<T, E> {
    const ANSWER: Answer = T::ANSWER;

    fn response() -> Option<SchemaFn> {
        T::response()
    }
}

impl<T: ToSchema + Serialize> Documented for Json<T> {
    const ANSWER: Answer = Answer::Json;

    fn response() -> Option<SchemaFn> {
        Some(schema::<T>)
    }
}

/// 201 Created with a JSON body: a new organisation, member, key,
/// endpoint or conversation.
#[derive(Debug)]
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, Json(self.0)).into_response()
    }
}

impl<T: ToSchema + Serialize> Documented for Created<T> {
    const ANSWER: Answer = Answer::Write;

    fn response() -> Option<SchemaFn> {
        Some(schema::<T>)
    }
}

/// A ledger write's answer: 201 when it made credit events, 200 when it
/// made none (or replays), with a JSON body.
#[derive(Debug)]
pub struct Written<T> {
    /// 201 or 200.
    pub status: StatusCode,
    /// The body.
    pub body: T,
}

impl<T: Serialize> IntoResponse for Written<T> {
    fn into_response(self) -> Response {
        json_response(self.status, &self.body)
    }
}

/// Room a write's answer starts with: a usage answer is about 1.1 KB, a
/// hold's or a purchase's a little more, so one allocation holds it.
const WRITE_ANSWER_CAPACITY: usize = 2048;

/// `body` as JSON with `status`: the same bytes and headers as axum's
/// `Json`, serialised into one buffer of [`WRITE_ANSWER_CAPACITY`]
/// instead of one that starts at 128 bytes and is copied each time it
/// doubles (3% of a node's CPU on a hot org, perf). A value that cannot be
/// serialised answers 500 in text, as `Json` does.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    let mut buf = Vec::with_capacity(WRITE_ANSWER_CAPACITY);
    match serde_json::to_writer(&mut buf, body) {
        Ok(()) => {
            let mut r = Response::new(axum::body::Body::from(buf));
            *r.status_mut() = status;
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
            e.to_string(),
        )
            .into_response(),
    }
}

impl<T: ToSchema + Serialize> Documented for Written<T> {
    const ANSWER: Answer = Answer::Write;

    fn response() -> Option<SchemaFn> {
        Some(schema::<T>)
    }
}

/// Text with its content type: Prometheus metrics, a style sheet, a script.
#[derive(Debug)]
pub struct Text {
    /// The `Content-Type` header.
    pub content_type: &'static str,
    /// A static asset: cached for five minutes, never sniffed.
    pub asset: bool,
    /// The text.
    pub body: Cow<'static, str>,
}

impl IntoResponse for Text {
    fn into_response(self) -> Response {
        let mut r = self.body.into_owned().into_response();
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        if self.asset {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
            h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        }
        r
    }
}

impl Documented for Text {
    const ANSWER: Answer = Answer::Text;
}

/// A file download (CSV or XLSX), streamed; its headers are set by whoever
/// builds it (`history::export`).
#[derive(Debug)]
pub struct Download(pub Response);

impl IntoResponse for Download {
    fn into_response(self) -> Response {
        self.0
    }
}

impl Documented for Download {
    const ANSWER: Answer = Answer::File;
}

/// A redirect (303 See Other), with the headers it carries (a cookie).
#[derive(Debug)]
pub struct SeeOther(pub Response);

impl IntoResponse for SeeOther {
    fn into_response(self) -> Response {
        self.0
    }
}

impl Documented for SeeOther {
    const ANSWER: Answer = Answer::Redirect;
}

/// A JSON answer, or a 307 Temporary Redirect to the route a request
/// belongs to (`GET …/balance?as_of=T` → `GET …/balance/as-of?as_of=T`,
/// method, key and query kept). Documented as its JSON answer: the
/// redirect follows only from a parameter the route itself does not read.
#[derive(Debug)]
pub enum JsonOrMoved<T> {
    /// 200 with the JSON body.
    Json(T),
    /// 307 to this path and query.
    Moved(String),
}

impl<T: Serialize> IntoResponse for JsonOrMoved<T> {
    fn into_response(self) -> Response {
        match self {
            JsonOrMoved::Json(t) => Json(t).into_response(),
            JsonOrMoved::Moved(location) => {
                (StatusCode::TEMPORARY_REDIRECT, [(axum::http::header::LOCATION, location)]).into_response()
            }
        }
    }
}

impl<T: ToSchema + Serialize> Documented for JsonOrMoved<T> {
    const ANSWER: Answer = Answer::Json;

    fn response() -> Option<SchemaFn> {
        Some(schema::<T>)
    }
}

/// This document itself (`GET /openapi.json`): any JSON object.
pub struct ApiDocument(pub &'static utoipa::openapi::OpenApi);

impl IntoResponse for ApiDocument {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

impl Documented for ApiDocument {
    const ANSWER: Answer = Answer::Json;

    fn response() -> Option<SchemaFn> {
        Some(document_schema)
    }
}

/// `/openapi.json` answers with this document: any JSON object.
fn document_schema() -> TypeSchema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    TypeSchema {
        name: "OpenApiDocument".into(),
        schema: ObjectBuilder::new().schema_type(Type::Object).description(Some("This document")).into(),
        refs: Vec::new(),
    }
}

/// What a handler's signature says for the document.
#[derive(Clone, Copy, Debug)]
pub struct Described {
    /// The kind of answer (its return type).
    pub answer: Answer,
    /// The JSON answer's type (its return type).
    pub response: Option<SchemaFn>,
    /// The JSON body's type (a typed body argument).
    pub request: Option<SchemaFn>,
    /// Reads an `Idempotency-Key` header (an argument).
    pub keyed: bool,
}

/// A handler argument that the document mentions (a typed body, the
/// idempotency key) or not (the caller, the state, the path).
pub trait ArgDoc {
    /// Notes what this argument reads.
    fn describe(_: &mut Described) {}
}

impl<S> ArgDoc for State<S> {}
impl<T> ArgDoc for Path<T> {}
impl ArgDoc for HeaderMap {}
impl ArgDoc for axum::body::Bytes {}

/// A handler whose signature describes its route: implemented for async
/// functions of up to six arguments whose answer is [`Documented`] and
/// whose arguments are [`ArgDoc`].
pub trait HandlerDoc<M> {
    /// The answer and what the arguments read.
    fn described() -> Described;
}

macro_rules! handler_doc {
    ($($arg:ident),*) => {
        impl<F, Fut, O, $($arg,)*> HandlerDoc<(O, $($arg,)*)> for F
        where
            F: FnOnce($($arg),*) -> Fut,
            Fut: Future<Output = O>,
            O: Documented,
            $($arg: ArgDoc,)*
        {
            fn described() -> Described {
                #[allow(unused_mut)]
                let mut d = Described { answer: O::ANSWER, response: O::response(), request: None, keyed: false };
                $($arg::describe(&mut d);)*
                d
            }
        }
    };
}

handler_doc!();
handler_doc!(A1);
handler_doc!(A1, A2);
handler_doc!(A1, A2, A3);
handler_doc!(A1, A2, A3, A4);
handler_doc!(A1, A2, A3, A4, A5);
handler_doc!(A1, A2, A3, A4, A5, A6);
