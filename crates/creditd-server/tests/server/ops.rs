//! Operations end to end: metrics, readiness, request ids, limits, the
//! OpenAPI document, webhooks. The real app on a loopback port over a fresh
//! SQLite store per test.

use std::sync::Arc;

use creditd_server::AppState;
use serde_json::{Value, json};

use crate::common::{KEY, Server, Start};

struct App(Server);

crate::app_derefs_to_server!(App, 0);

impl App {
    async fn start() -> App {
        Self::start_with(|s| s).await
    }

    async fn start_with(configure: impl FnOnce(AppState) -> AppState) -> App {
        App(Server::with(Start { configure: Box::new(configure), ..Start::default() }).await)
    }

    async fn stop(mut self) {
        self.0.stop().await
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{}", self.base, path)).bearer_auth(KEY)
    }

    async fn send(&self, r: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.req(reqwest::Method::GET, path)).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.req(reqwest::Method::POST, path).json(&body)).await
    }

    async fn text(&self, path: &str) -> (u16, String) {
        let resp = self.client.get(format!("{}{}", self.base, path)).send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// A new organisation with `credits` granted, through the Rust client.
    async fn org(&self, id: &str, credits: &str) {
        let new = creditd_client::NewOrganization { id: Some(id.into()), name: id.into(), ..Default::default() };
        self.api.create_organization(&new).await.unwrap();
        let grant = creditd_client::Credit::grant(credits.parse().unwrap());
        self.api.grant_credits(id, &grant, None).await.unwrap();
    }
}

/// The value of the first sample of `name` whose labels contain all of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .find(|l| labels.iter().all(|x| l.contains(x)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_health_readiness_and_request_ids() {
    let app = App::start().await;
    app.org("m1", "100").await;
    let (s, hold) = app.post("/api/organizations/m1/holds", json!({"amount": 10})).await;
    assert_eq!(s, 201, "{hold}");
    let (s, _) = app.post("/api/organizations/m1/usage", json!({"amount": 1000})).await;
    assert_eq!(s, 409);
    let (s, _) = app.get("/api/organizations/nope-404/balance").await;
    assert_eq!(s, 404);

    let (s, body) = app.text("/healthz").await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = app.text("/readyz").await;
    assert_eq!((s, body.contains("ready")), (200, true), "{body}");

    // Every answer carries a request id; one the caller sent comes back.
    let r = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert!(r.headers().get("x-request-id").is_some());
    let r = app.client.get(format!("{}/healthz", app.base)).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(r.headers().get("x-request-id").unwrap(), "abc-123");

    let (s, text) = app.text("/metrics").await;
    assert_eq!(s, 200);
    // By matched route, never the raw path (no org id in a label).
    let holds = r#"route="/api/organizations/{org_id}/holds""#;
    assert!(sample(&text, "creditd_http_requests_total", &[holds, r#"status="201""#]).unwrap() >= 1.0, "{text}");
    assert!(!text.contains("nope-404"), "raw paths leak into labels");
    assert!(text.contains("creditd_http_request_duration_seconds_bucket"), "{text}");
    assert!(sample(&text, "creditd_ledger_operations_total", &[r#"op="hold""#, r#"result="ok""#]).unwrap() >= 1.0);
    assert!(
        sample(&text, "creditd_ledger_operations_total", &[r#"op="usage""#, r#"result="insufficient_credits""#])
            .unwrap()
            >= 1.0
    );
    assert!(text.contains("creditd_writer_batch_commands_bucket"), "{text}");
    assert!(text.contains("creditd_writer_commit_seconds_bucket"), "{text}");
    assert!(text.contains("creditd_writer_queue_depth"), "{text}");
    assert!(sample(&text, "creditd_open_holds", &[]).is_some(), "{text}");
    assert!(!text.contains(KEY), "no secrets in metrics");
    app.stop().await;
}

/// Every limit answers a clear 4xx in the one error shape.
#[tokio::test]
async fn limits_answer_clear_4xx() {
    let app = App::start_with(|mut s| {
        s.export_slots = Arc::new(tokio::sync::Semaphore::new(1));
        s
    })
    .await;
    app.org("l1", "100").await;
    let code = |v: &Value| v["error"]["code"].as_str().unwrap_or_default().to_string();

    // Request body: 1 MiB.
    let big = json!({"amount": 1, "description": "x".repeat(1 << 20)});
    let (s, v) = app.post("/api/organizations/l1/usage", big.clone()).await;
    assert_eq!((s, code(&v).as_str()), (413, "payload_too_large"), "{v}");
    // The rest of the body was not read: the answer says the connection
    // closes, so no client sends its next request on it.
    let r = app.req(reqwest::Method::POST, "/api/organizations/l1/usage").json(&big).send().await.expect("send");
    assert_eq!(r.status().as_u16(), 413);
    assert_eq!(r.headers().get("connection").map(|v| v.to_str().unwrap()), Some("close"));
    let r = app.req(reqwest::Method::GET, "/api/organizations/l1/balance").send().await.expect("send");
    assert!(r.headers().get("connection").is_none(), "other answers keep the connection");

    // Batch: 1,000 operations.
    let op = json!({"org_id": "l1", "op": "usage", "body": {"amount": "0.000001"}});
    let (s, v) = app.post("/api/batch", json!({"operations": vec![op; 1001]})).await;
    assert_eq!((s, code(&v).as_str()), (422, "validation_error"), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("1000"), "{v}");

    // Page: 100 events.
    let (s, v) = app.get("/api/organizations/l1/credit-events?limit=101").await;
    assert_eq!((s, code(&v).as_str()), (422, "validation_error"), "{v}");

    // Exports at once: the only slot taken, the next export waits its turn.
    let export = "/api/organizations/l1/credit-events/export?format=csv";
    let slot = app.state.export_slots.clone().try_acquire_owned().unwrap();
    let (s, v) = app.get(export).await;
    assert_eq!((s, code(&v).as_str()), (429, "too_many_exports"), "{v}");
    drop(slot);
    for _ in 0..2 {
        let r = app.req(reqwest::Method::GET, export).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert!(r.text().await.unwrap().contains("Kind"));
    }
    // The slot is back once the body has been sent.
    for _ in 0..100 {
        if app.state.export_slots.available_permits() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(app.state.export_slots.available_permits(), 1);
    app.stop().await;
}

/// The route table the router and the document are both built from, as
/// (METHOD, path).
fn routed() -> std::collections::BTreeSet<(String, String)> {
    creditd_server::routes::table()
        .into_iter()
        .map(|e| (e.route.method.to_string(), e.route.path.to_string()))
        .collect()
}

/// Every route the router serves is in the OpenAPI document, and every
/// documented route is served.
#[tokio::test]
async fn openapi_documents_every_route() {
    let app = App::start().await;
    let (s, doc) = app.get("/openapi.json").await;
    assert_eq!(s, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in ["get", "post", "put", "patch", "delete"] {
            if item.get(m).is_some() {
                documented.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    let routed = routed();
    assert!(routed.len() > 40, "the route table holds only {routed:?}");
    let missing: Vec<_> = routed.difference(&documented).collect();
    assert!(missing.is_empty(), "routes missing from the OpenAPI document: {missing:?}");
    // Documented routes exist: none falls through to "no such route".
    for (method, path) in &documented {
        let url = path.split('/').map(|s| if s.starts_with('{') { "x" } else { s }).collect::<Vec<_>>().join("/");
        let r = app.req(method.parse().unwrap(), &url).send().await.unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert!(!body.contains("no such route") && status != 405, "{method} {path}: {status} {body}");
    }
    // Routes that take a body say the connection layer's refusals: a body
    // that does not arrive in time (408) or is too large (413).
    let hold = &doc["paths"]["/api/organizations/{org_id}/holds"]["post"]["responses"];
    for code in ["408", "413"] {
        assert!(hold[code]["content"]["application/json"].is_object(), "{code} missing: {hold}");
    }
    assert!(hold["408"]["description"].as_str().unwrap().contains("request_timeout"), "{hold}");
    let balance = &doc["paths"]["/api/organizations/{org_id}/balance"]["get"]["responses"];
    assert!(balance.get("408").is_none(), "a GET takes no body: {balance}");
    // Swagger UI is served from the binary.
    let (s, page) = app.text("/docs/").await;
    assert_eq!(s, 200);
    assert!(page.contains("swagger"), "{page}");
    app.stop().await;
}

// ---------------------------------------------------------------------------
// Fuzzing (proptest-driven): hostile input never gets a 5xx, never panics.
// CREDITD_FUZZ_CASES scales the number of cases (default: a CI-sized run).

fn fuzz_cases(default: u32) -> u32 {
    std::env::var("CREDITD_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "[a-z_]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("1e9"),
            Just("-0"),
            Just("0.0000001"),
            Just("99999999999999999999"),
            Just("9223372036854.775807"),
            Just("-9223372036854.775808"),
            Just("NaN"),
            Just(""),
            Just("hold_1"),
            Just("2026-03-10T12:00:00Z"),
            Just("\u{0}"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,16}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid body for each write route, to mutate.
fn valid_bodies() -> Vec<(&'static str, Value)> {
    let org = "/api/organizations/fz";
    vec![
        ("/api/organizations", json!({"id": "fz2", "name": "F", "time_zone": "Europe/Madrid"})),
        (
            "/credits",
            json!({"kind": "purchase", "amount": "5", "status": "processing", "expires_at": "2027-01-01T00:00:00Z"}),
        ),
        ("/holds", json!({"amount": "1.5", "timeout_seconds": 60, "user_email": "a@b.c", "metadata": {"k": 1}})),
        ("/holds/hold_2/debit", json!({"amount": "0.5"})),
        ("/holds/hold_2/release", json!({})),
        ("/usage", json!({"amount": 1, "service": "s", "project_id": "p"})),
        ("/refunds", json!({"refers_to": "use_3", "amount": "0.1"})),
        ("/adjustments", json!({"amount": "-1", "reason": "fix"})),
        ("/billing", json!({"amount": 0})),
        ("/purchases/pur_1/settle", json!({"status": "succeeded"})),
        ("/conversations", json!({"identity": "i", "campaign": "c"})),
        ("/api/batch", json!({"operations": [{"org_id": "fz", "op": "usage", "body": {"amount": 1}}]})),
    ]
    .into_iter()
    .map(|(p, b)| (if p.starts_with("/api") { p } else { Box::leak(format!("{org}{p}").into_boxed_str()) as &str }, b))
    .collect()
}

/// Changes one thing about `body`.
fn mutate(body: &Value, how: u8, key_pick: usize, value: Value) -> Value {
    let mut b = body.clone();
    let Some(map) = b.as_object_mut() else { return value };
    let keys: Vec<String> = map.keys().cloned().collect();
    match how % 4 {
        0 if !keys.is_empty() => {
            map.remove(&keys[key_pick % keys.len()]);
        }
        1 if !keys.is_empty() => {
            map.insert(keys[key_pick % keys.len()].clone(), value);
        }
        2 => {
            map.insert(format!("unknown_{key_pick}"), value);
        }
        _ => return value,
    }
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_write_bodies_never_fail() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, TestRunner};
    let app = App::start().await;
    app.org("fz", "1000").await;
    let routes = valid_bodies();
    let methods_raw = [
        ("PUT", "/api/organizations/fz/plan"),
        ("PUT", "/api/organizations/fz/low-balance-threshold"),
        ("PATCH", "/api/organizations/fz"),
    ];
    let cases = fuzz_cases(400);
    let mut runner = TestRunner::new(Config { cases, ..Config::default() });
    let strategy = (0..routes.len() + methods_raw.len(), any_u8(), 0usize..8, json_value(), 0u8..4);
    let mut tried = 0u32;
    for _ in 0..cases {
        let (route, how, key, value, form) = strategy.new_tree(&mut runner).unwrap().current();
        let (method, path, body) = if route < routes.len() {
            let (path, valid) = &routes[route];
            ("POST", *path, mutate(valid, how, key, value))
        } else {
            let (m, p) = methods_raw[route - routes.len()];
            (m, p, value)
        };
        let bytes = match form {
            // Broken JSON: cut short, or not UTF-8.
            0 => {
                let t = body.to_string();
                t.as_bytes()[..t.len() / 2].to_vec()
            }
            1 => [b"{\"amount\": \"".as_slice(), &[0xff, 0xfe], b"\"}"].concat(),
            _ => body.to_string().into_bytes(),
        };
        let r = app
            .req(method.parse().unwrap(), path)
            .header("content-type", "application/json")
            .header("idempotency-key", format!("fz-{tried}"))
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert!(status < 500, "{method} {path} {} -> {status} {text}", String::from_utf8_lossy(&bytes));
        if status >= 400 {
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not the error shape: {text}"));
            assert!(v["error"]["code"].is_string(), "{text}");
        }
        tried += 1;
    }
    let (s, v) = app.get("/api/organizations/fz/verify").await;
    assert!(s == 200 && v["ok"] == json!(true), "{v}");
    eprintln!("fuzz: {tried} write bodies tried, no 5xx, ledger verified");
    app.stop().await;
}

fn any_u8() -> impl proptest::strategy::Strategy<Value = u8> {
    proptest::prelude::any::<u8>()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_history_query_strings_never_fail() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};
    let app = App::start().await;
    app.org("fq", "100").await;
    app.post("/api/organizations/fq/usage", json!({"amount": 1})).await;
    // Every documented history parameter, the export ones, and one unknown.
    let keys: Vec<&str> =
        creditd_server::openapi::HISTORY_QUERY.iter().copied().chain(["format", "layout", "order", "x"]).collect();
    let value = prop_oneof![
        "[a-zA-Z0-9_:.+-]{0,24}",
        "%[0-9A-F]{2}|%|%zz|%ff%fe",
        Just("-1".to_string()),
        Just("18446744073709551616".to_string()),
        Just("2026-02-30".to_string()),
        Just("2026-03-10T25:00:00Z".to_string()),
        Just("this_month".to_string()),
        Just("eyJzZXEiOjF9".to_string()),
    ];
    let strategy = proptest::collection::vec((0..keys.len(), value), 0..6);
    let cases = fuzz_cases(300);
    let mut runner = TestRunner::new(Config { cases, ..Config::default() });
    for i in 0..cases {
        let pairs = strategy.new_tree(&mut runner).unwrap().current();
        let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={v}", keys[*k])).collect();
        let path = if i % 4 == 0 { "credit-events/export" } else { "credit-events" };
        let url = format!("/api/organizations/fq/{path}?{}", q.join("&"));
        let r = app.req(reqwest::Method::GET, &url).send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert!(status < 500, "{url} -> {status} {text}");
    }
    eprintln!("fuzz: {cases} history query strings tried, no 5xx");
    app.stop().await;
}

/// The import CSV parser (and the state derived from what it accepts) on
/// mutated real exports and random bytes: an answer, never a panic.
#[tokio::test]
async fn fuzz_import_csv_never_panics() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};
    let app = App::start().await;
    app.org("fc", "100").await;
    let (_, hold) =
        app.post("/api/organizations/fc/holds", json!({"amount": 3, "description": "a, \"quoted\"\nline"})).await;
    let hold_id = hold["hold"]["id"].as_str().unwrap().to_string();
    app.post(&format!("/api/organizations/fc/holds/{hold_id}/debit"), json!({"amount": 1})).await;
    app.post("/api/organizations/fc/usage", json!({"amount": "0.5", "metadata": {"a": [1, 2]}})).await;
    let csv = app
        .req(
            reqwest::Method::GET,
            "/api/organizations/fc/credit-events/export?format=csv&layout=full&order=oldest_first",
        )
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    assert!(creditd_export::parse_full_csv(csv.as_slice(), "fc").is_ok(), "{}", String::from_utf8_lossy(&csv));
    let edit = (0usize..4096, any::<u8>(), 0u8..5, proptest::collection::vec(any::<u8>(), 0..64));
    let cases = fuzz_cases(1500);
    let mut runner = TestRunner::new(Config { cases, ..Config::default() });
    let now = "2026-03-10T12:00:00Z".parse().unwrap();
    let mut accepted = 0;
    for _ in 0..cases {
        let (at, byte, how, junk) = edit.new_tree(&mut runner).unwrap().current();
        let mut bytes = csv.clone();
        let at = at % bytes.len().max(1);
        match how {
            0 => bytes[at] = byte,
            1 => {
                bytes.remove(at);
            }
            2 => bytes.splice(at..at, junk.iter().copied()).for_each(drop),
            3 => bytes.truncate(at),
            _ => bytes = junk,
        }
        if let Ok(events) = creditd_export::parse_full_csv(bytes.as_slice(), "fc") {
            accepted += 1;
            let settings = creditd_core::OrgSettings::new("F", "UTC");
            let _ = creditd_store::import::derive("fc", settings, &events, now);
        }
    }
    eprintln!("fuzz: {cases} import CSV inputs tried ({accepted} parsed), no panic");
    app.stop().await;
}

/// Callers choose methods and paths, never label values: invented methods
/// are counted as `other`, unknown paths as `unmatched`, and the series
/// stay bounded however many are sent.
#[tokio::test]
async fn metrics_labels_are_never_chosen_by_callers() {
    let app = App::start().await;
    for i in 0..200 {
        let method = reqwest::Method::from_bytes(format!("PROBE{i}").as_bytes()).unwrap();
        let r = app.client.request(method, format!("{}/healthz", app.base)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 405);
        let r = app.client.get(format!("{}/no-such-path-{i}", app.base)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 404);
    }
    let (_, text) = app.text("/metrics").await;
    assert!(!text.contains("PROBE"), "an invented method became a label: {text}");
    assert!(!text.contains("no-such-path"), "a raw path became a label");
    assert!(
        sample(&text, "creditd_http_requests_total", &[r#"method="other""#, r#"route="/healthz""#]).unwrap() >= 200.0
    );
    assert!(
        sample(&text, "creditd_http_requests_total", &[r#"route="unmatched""#, r#"status="404""#]).unwrap() >= 200.0
    );
    // 400 invented requests made a few series (one counter and one
    // histogram per label set), not 400.
    let series = text.lines().filter(|l| l.contains(r#"method="other""#) || l.contains(r#"route="unmatched""#)).count();
    assert!(series <= 100, "{series} series of invented requests: {text}");
    for m in ["GET", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS"] {
        assert_eq!(creditd_server::ops::method_label(&m.parse().unwrap()), m);
    }
    app.stop().await;
}

/// A caller's request id is kept only in a bounded printable form; anything
/// else is replaced by a generated one (it is echoed and logged).
#[tokio::test]
async fn request_ids_are_bounded() {
    let app = App::start().await;
    let id_for = |sent: Option<String>| {
        let mut r = app.client.get(format!("{}/healthz", app.base));
        if let Some(s) = sent {
            r = r.header("x-request-id", reqwest::header::HeaderValue::from_bytes(s.as_bytes()).unwrap());
        }
        async move {
            let resp = r.send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 200);
            resp.headers().get("x-request-id").unwrap().to_str().unwrap().to_string()
        }
    };
    let good = ["abc-123", "trace:4bf92f3577b34da6.a3ce929d0e0e4736", &"a".repeat(128), "A_b.c-d:e"];
    for id in good {
        assert_eq!(id_for(Some(id.to_string())).await, id);
    }
    let generated = id_for(None).await;
    let bad = ["has spaces in it".to_string(), "x".repeat(7 * 1024), "a".repeat(129), "tab\there".into(), "ü".into()];
    for id in bad {
        let got = id_for(Some(id.clone())).await;
        assert_ne!(got, id);
        assert!(creditd_server::ops::valid_request_id(got.as_bytes()), "{got}");
        // Generated like an unsent one: the process prefix and a counter.
        assert_eq!(got.split('-').next(), generated.split('-').next(), "{got}");
    }
    app.stop().await;
}

/// The session cookie says `Secure` exactly when the browser reached us
/// over HTTPS: always with an https public URL; with a trusted proxy's
/// `X-Forwarded-Proto: https`; never from that header when the proxy is not
/// declared trusted (a client could send it itself).
#[tokio::test]
async fn session_cookie_is_secure_behind_https() {
    use creditd_server::auth::HttpsPolicy;
    async fn cookie(policy: HttpsPolicy, forwarded: Option<&str>) -> String {
        let app = App::start_with(|mut s| {
            s.https = policy;
            s
        })
        .await;
        let store = app.state.store.clone();
        store.create_org("c1", creditd_core::OrgSettings::new("C", "UTC")).await.unwrap();
        store
            .directory()
            .add_member(creditd_store::directory::Member {
                org_id: "c1".into(),
                email: "a@example.com".into(),
                name: "A".into(),
                role: creditd_store::directory::Role::Owner,
                created_at: store.now(),
            })
            .await
            .unwrap();
        let token = creditd_server::auth::issue_login_link(
            store.directory(),
            "c1",
            "a@example.com",
            store.now(),
            jiff::SignedDuration::from_mins(5),
        )
        .await
        .unwrap();
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let mut r = client.get(format!("{}/login/{token}", app.base));
        if let Some(p) = forwarded {
            r = r.header("x-forwarded-proto", p);
        }
        let resp = r.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 303);
        let c = resp.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict"), "{c}");
        app.stop().await;
        c
    }
    let secure = |c: &str| c.split(';').any(|a| a.trim() == "Secure");
    let plain = HttpsPolicy::default();
    let public = HttpsPolicy { public_https: true, ..HttpsPolicy::default() };
    let proxied = HttpsPolicy { trust_forwarded_proto: true, ..HttpsPolicy::default() };
    assert!(!secure(&cookie(plain, None).await));
    assert!(!secure(&cookie(plain, Some("https")).await), "an untrusted X-Forwarded-Proto is ignored");
    assert!(secure(&cookie(public, None).await));
    assert!(secure(&cookie(proxied, Some("https")).await));
    assert!(secure(&cookie(proxied, Some("HTTPS, http")).await));
    assert!(!secure(&cookie(proxied, Some("http")).await));
    assert!(!secure(&cookie(proxied, None).await));
}

/// Reads until the server closes the connection (or 5 s pass): what it
/// sent and when it closed.
async fn until_closed(s: &mut tokio::net::TcpStream) -> (String, std::time::Instant) {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the server left a slow connection open: {}", String::from_utf8_lossy(&out));
    (String::from_utf8_lossy(&out).into_owned(), std::time::Instant::now())
}

/// Slow clients are cut off: a connection that sends nothing or half a
/// request line after the header deadline, one that sends half a body after
/// the body deadline (408 `request_timeout`, then closed), an idle
/// kept-alive one after the idle deadline. Others are served meanwhile.
#[tokio::test]
async fn slow_connections_are_closed() {
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    let limits = creditd_server::conn::Limits {
        header_timeout: Duration::from_millis(400),
        body_timeout: Duration::from_millis(800),
        idle_timeout: Duration::from_millis(1200),
        max_connections: 64,
    };
    let app = start_with_limits(limits).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let connect = || tokio::net::TcpStream::connect(addr.clone());

    let t0 = std::time::Instant::now();
    let mut silent = connect().await.unwrap();
    let mut half_line = connect().await.unwrap();
    half_line.write_all(b"GET /heal").await.unwrap();
    let mut half_body = connect().await.unwrap();
    let head = format!(
        "POST /api/organizations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"id\": \"slow\""
    );
    half_body.write_all(head.as_bytes()).await.unwrap();
    let mut idle = connect().await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();

    // A normal client is served while the slow ones wait.
    let t = std::time::Instant::now();
    let (s, _) = app.text("/healthz").await;
    assert_eq!(s, 200);
    assert!(t.elapsed() < limits.header_timeout, "a normal request waited for the slow ones");

    let (sent, closed) = until_closed(&mut silent).await;
    let took = closed - t0;
    assert_eq!(sent, "");
    assert!(took >= limits.header_timeout - Duration::from_millis(150), "{took:?}");
    let (sent, _) = until_closed(&mut half_line).await;
    assert!(!sent.contains(" 200 "), "{sent}");
    let (sent, closed) = until_closed(&mut half_body).await;
    let took = closed - t0;
    assert!(sent.starts_with("HTTP/1.1 408"), "{sent}");
    assert!(sent.contains("\"request_timeout\""), "{sent}");
    assert!(took >= limits.body_timeout - Duration::from_millis(500), "{took:?}");
    // The idle one got its answer, then stayed open past the header
    // deadline (idle is longer) and was closed at the idle one.
    let (sent, closed) = until_closed(&mut idle).await;
    let took = closed - t0;
    assert!(sent.starts_with("HTTP/1.1 200"), "{sent}");
    assert!(took >= limits.header_timeout + Duration::from_millis(200), "{took:?}");
    // A fresh connection: the pooled one from the normal request above was
    // itself idle past the idle deadline, so the server may close it just as
    // the client reuses it.
    let fresh = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let (s, _) = app.send(fresh.get(format!("{}/api/organizations/slow", app.base)).bearer_auth(KEY)).await;
    assert_eq!(s, 404, "a body that never arrived changed nothing");
    app.stop().await;
}

/// A server with these connection limits.
async fn start_with_limits(limits: creditd_server::conn::Limits) -> App {
    App::start_with(|mut s| {
        s.limits = limits;
        s
    })
    .await
}

/// A kept-alive connection in use stays open past the idle deadline
/// counted from its first answer: each answer starts the idle period
/// again (the server moves its idle timer only to earlier deadlines and
/// re-arms one that fires early, so this is what could go wrong). A body
/// sent in two parts within the body deadline is read whole.
#[tokio::test]
async fn a_connection_in_use_stays_open_past_the_idle_deadline() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let limits = creditd_server::conn::Limits {
        header_timeout: Duration::from_millis(400),
        body_timeout: Duration::from_millis(800),
        idle_timeout: Duration::from_millis(1000),
        max_connections: 64,
    };
    let app = start_with_limits(limits).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // One whole answer: its head, then as many body bytes as it says.
    async fn answer(conn: &mut tokio::net::TcpStream) -> String {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&got).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .expect("a content length");
                if got.len() >= end + 4 + length {
                    return text;
                }
            }
            let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
                .await
                .expect("an answer within 5 s")
                .expect("read");
            assert!(n > 0, "closed while in use, after {} bytes: {text}", got.len());
            got.extend_from_slice(&buf[..n]);
        }
    }
    let t0 = std::time::Instant::now();
    for i in 0..4 {
        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let a = answer(&mut conn).await;
        assert!(a.starts_with("HTTP/1.1 200"), "request {i}: {a}");
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    assert!(t0.elapsed() > limits.idle_timeout * 2, "{:?}", t0.elapsed());
    // A body in two parts, 300 ms apart (under the body deadline).
    let body = r#"{"id": "two-parts", "name": "Two parts"}"#;
    let head = format!(
        "POST /api/organizations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..10]
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    conn.write_all(&body.as_bytes()[10..]).await.unwrap();
    let a = answer(&mut conn).await;
    assert!(a.starts_with("HTTP/1.1 201"), "{a}");
    let answered = std::time::Instant::now();
    // Then idle, its answer read: closed at the idle deadline.
    let (sent, closed) = until_closed(&mut conn).await;
    assert_eq!(sent, "");
    let took = closed - answered;
    assert!(took >= limits.idle_timeout - Duration::from_millis(150), "closed {took:?} after its answer");
    app.stop().await;
}

/// Beyond `max_connections` a connection waits (it is not accepted) until
/// one of the open ones closes.
#[tokio::test]
async fn connections_beyond_the_limit_wait() {
    use std::time::Duration;
    let limits = creditd_server::conn::Limits {
        header_timeout: Duration::from_millis(600),
        max_connections: 2,
        ..creditd_server::conn::Limits::default()
    };
    let app = start_with_limits(limits).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let _a = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _b = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = std::time::Instant::now();
    let (s, _) = app.text("/healthz").await;
    assert_eq!(s, 200);
    assert!(t.elapsed() >= Duration::from_millis(400), "served at once beyond the limit: {:?}", t.elapsed());
    app.stop().await;
}

/// New organisation ids follow the one URL-safe grammar (422 otherwise,
/// nothing created); one an earlier release stored is still served.
#[tokio::test]
async fn org_ids_have_one_grammar() {
    let app = App::start().await;
    for bad in [".", "..", "...", "-x", "_x", "a~b", "a b", "a/b"] {
        let (s, b) = app.post("/api/organizations", json!({"id": bad, "name": "x"})).await;
        assert_eq!((s, b["error"]["code"].as_str()), (422, Some("validation_error")), "{bad}: {b}");
    }
    assert!(!app.state.store.org_ids().await.unwrap().iter().any(|o| !o.starts_with(char::is_alphanumeric)));
    let (s, b) = app.post("/api/organizations", json!({"id": "acme.eu-1", "name": "x"})).await;
    assert_eq!(s, 201, "{b}");
    // As written by the previous release, which took dot-only ids.
    app.state.store.create_org("...", creditd_core::OrgSettings::new("Old", "UTC")).await.unwrap();
    let (s, b) = app.get("/api/organizations/.../balance").await;
    assert_eq!(s, 200, "{b}");
    app.stop().await;
}

/// Home nodes: a node whose org's home took a write and never answered.
/// A write with an idempotency key runs here (the key answers it once
/// either way); one without is refused with 503 `peer_unavailable` and
/// `Retry-After`, and changes nothing. Reads never leave the node.
#[tokio::test]
async fn a_home_node_that_takes_writes_and_never_answers() {
    use creditd_server::forward::Ring;

    // A peer that reads what it is sent and closes, answering nothing.
    let rude = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rude_addr = rude.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = rude.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = [0u8; 256];
                let _ = tokio::io::AsyncReadExt::read(&mut tcp, &mut buf).await;
            });
        }
    });
    let ring = Ring::new("127.0.0.1:1", [rude_addr.clone()]).with_hot_rate(0);
    let org = (0..).map(|i| format!("away-{i}")).find(|o| ring.home(o).is_some()).unwrap();
    let ring = Arc::new(ring);
    let app = App::start_with(move |mut s| {
        s.ring = Some(ring);
        s
    })
    .await;
    // Set up through the Rust client, which sends a key with every write.
    app.org(&org, "100").await;
    let usage = format!("/api/organizations/{org}/usage");
    let (s, body) = app.post(&usage, json!({"amount": 1})).await;
    assert_eq!((s, body["error"]["code"].as_str()), (503, Some("peer_unavailable")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains(&rude_addr), "{body}");
    let r = app.req(reqwest::Method::POST, &usage).json(&json!({"amount": 1})).send().await.unwrap();
    assert_eq!(r.headers()["retry-after"], "1");
    let (s, b) = app.get(&format!("/api/organizations/{org}/balance")).await;
    assert_eq!((s, b["available"].clone()), (200, json!(100)), "the refused writes changed nothing: {b}");

    let keyed = || app.req(reqwest::Method::POST, &usage).header("Idempotency-Key", "k-1").json(&json!({"amount": 1}));
    let (s, first) = app.send(keyed()).await;
    assert_eq!(s, 201, "{first}");
    let (s, again) = app.send(keyed()).await;
    assert_eq!((s, &again), (201, &first), "the same key answers the same, once");
    let (_, b) = app.get(&format!("/api/organizations/{org}/balance")).await;
    assert_eq!(b["available"], json!(99), "{b}");

    let (_, text) = app.text("/metrics").await;
    assert_eq!(sample(&text, "creditd_forwarded_requests_total", &["outcome=\"lost\""]), Some(2.0), "{text}");
    assert!(sample(&text, "creditd_forwarded_requests_total", &["outcome=\"lost_retried\""]).unwrap() >= 3.0);
    app.stop().await;
}
