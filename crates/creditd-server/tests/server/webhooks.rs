//! Webhooks end to end: the real app on a loopback port over a fresh SQLite
//! store, a test receiver on 127.0.0.1 that is down at first (nothing
//! listens on its port), then answers 500, then 200. Every message must
//! arrive at least once, signed, with the same id and body on every
//! attempt; deduplicated by id they are exactly the outbox. The store's
//! clock is a manual one, so back-off costs no real time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use creditd_server::webhooks::{ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, TYPE_HEADER, verify_signature};
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::common::{KEY, Server, Start};

struct App(Server);

crate::app_derefs_to_server!(App, 0);

impl App {
    async fn start() -> App {
        // The receiver is on loopback, which the operator has to allow.
        Self::start_allowing(&["127.0.0.0/8"]).await
    }

    async fn start_allowing(networks: &[&str]) -> App {
        let configure = |mut state: creditd_server::AppState| {
            state.webhooks.poll_every = Duration::from_millis(20);
            state.webhooks.timeout = Duration::from_secs(2);
            state.webhooks.networks.allowed = networks.iter().map(|n| n.parse().unwrap()).collect();
            state
        };
        App(Server::with(Start { configure: Box::new(configure), ..Start::default() }).await)
    }

    async fn call(&self, method: &str, path: &str, body: Option<&str>, key: &str) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, format!("{}{}", self.base, path)).bearer_auth(key);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let text = (!body.is_null()).then(|| body.to_string());
        let (s, v) = self.call(method, path, text.as_deref(), KEY).await;
        assert!((200..300).contains(&s), "{method} {path}: {s} {v}");
        v
    }
}

/// What the receiver got: one entry per request.
#[derive(Clone, Debug)]
struct Received {
    id: String,
    kind: String,
    timestamp: String,
    signature: String,
    body: String,
    answered: u16,
}

struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    answer: Arc<AtomicU16>,
    task: tokio::task::JoinHandle<()>,
}

async fn receive(port: u16, answer: u16) -> Receiver {
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let answer = Arc::new(AtomicU16::new(answer));
    let (g, a) = (got.clone(), answer.clone());
    let handler = move |headers: HeaderMap, body: Bytes| {
        let (g, a) = (g.clone(), a.clone());
        async move {
            let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            let status = a.load(Ordering::SeqCst);
            g.lock().unwrap().push(Received {
                id: h(ID_HEADER),
                kind: h(TYPE_HEADER),
                timestamp: h(TIMESTAMP_HEADER),
                signature: h(SIGNATURE_HEADER),
                body: String::from_utf8(body.to_vec()).unwrap(),
                answered: status,
            });
            StatusCode::from_u16(status).unwrap()
        }
    };
    let router = axum::Router::new().route("/hook", axum::routing::post(handler));
    // Only loopback, on the port the endpoint names.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Receiver { got, answer, task }
}

const ACME: &str = "/api/organizations/acme";

/// Deliveries of the endpoint, as the API shows them.
async fn deliveries(app: &App, id: &str) -> Vec<Value> {
    let v = app.ok("GET", &format!("{ACME}/webhooks/{id}/deliveries?limit=100"), Value::Null).await;
    v["deliveries"].as_array().unwrap().clone()
}

/// Moves the store's clock on in small steps until `done` holds (or fails
/// after `real` seconds of wall time).
async fn until<F, Fut>(app: &App, step: SignedDuration, real: u64, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < Duration::from_secs(real), "timed out waiting until {what}");
        app.clock.advance(step);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_survives_the_receiver_being_down() {
    let started = Instant::now();
    let mut app = App::start().await;
    // A free loopback port with nothing listening on it: the receiver is down.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    app.ok("POST", "/api/organizations", json!({"id": "acme", "name": "Acme"})).await;
    let created = app
        .ok(
            "POST",
            &format!("{ACME}/webhooks"),
            json!({"url": format!("http://127.0.0.1:{port}/hook"), "description": "test receiver"}),
        )
        .await;
    let endpoint = created["endpoint"]["id"].as_str().unwrap().to_string();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_") && secret.len() > 30);

    // Every type: renewal, low balance, depleted, hold expired, purchase settled.
    app.ok(
        "PUT",
        &format!("{ACME}/plan"),
        json!({"name": "Pro", "credits_per_period": 100, "identities_included": 1, "price": 5, "currency": "EUR"}),
    )
    .await;
    app.ok("PUT", &format!("{ACME}/low-balance-threshold"), json!({"threshold": 50})).await;
    app.ok("POST", &format!("{ACME}/usage"), json!({"amount": 60})).await;
    app.ok("POST", &format!("{ACME}/holds"), json!({"amount": 40, "timeout_seconds": 30})).await;
    let p = app
        .ok("POST", &format!("{ACME}/credits"), json!({"kind": "purchase", "amount": 5, "status": "processing"}))
        .await;
    let pid = p["purchase"]["id"].as_str().unwrap();
    app.ok("POST", &format!("{ACME}/purchases/{pid}/settle"), json!({"status": "succeeded"})).await;
    // The hold times out (the server's own timer), then the plan renews.
    app.clock.advance(SignedDuration::from_secs(31));
    until(&app, SignedDuration::from_secs(0), 10, "the hold expired", || async {
        let b = app.ok("GET", &format!("{ACME}/balance"), Value::Null).await;
        b["held"] == json!(0)
    })
    .await;
    app.clock.set("2026-04-01T00:00:01Z".parse().unwrap());

    // Down: every delivery is tried and fails, a few times, with back-off.
    until(&app, SignedDuration::from_secs(2), 30, "each delivery failed 3 times", || async {
        let ds = deliveries(&app, &endpoint).await;
        ds.len() == 5 && ds.iter().all(|d| d["attempts"].as_u64().unwrap() >= 3)
    })
    .await;
    let ds = deliveries(&app, &endpoint).await;
    for d in &ds {
        assert_eq!(d["status"], "pending", "{d}");
        // One coarse class: a refused connection reads like any other failure.
        assert_eq!(d["last_error"], creditd_server::webhooks::COULD_NOT_DELIVER, "{d}");
        assert!(d["next_attempt_at"].is_string(), "{d}");
    }
    let expected: BTreeMap<String, String> =
        ds.iter().map(|d| (d["message_id"].as_str().unwrap().into(), d["type"].as_str().unwrap().into())).collect();
    let types: BTreeSet<&str> = expected.values().map(String::as_str).collect();
    assert_eq!(types, BTreeSet::from(["depleted", "hold_expired", "low_balance", "purchase_settled", "renewal"]));

    // Up, but failing: 500s are retried too.
    let receiver = receive(port, 500).await;
    until(&app, SignedDuration::from_secs(60), 30, "the receiver saw every message fail", || async {
        let got = receiver.got.lock().unwrap();
        expected.keys().all(|id| got.iter().any(|r| &r.id == id))
    })
    .await;
    let ds = deliveries(&app, &endpoint).await;
    assert!(ds.iter().all(|d| d["status"] == "pending" && d["last_status"] == 500), "{ds:?}");

    // Healthy: everything arrives.
    receiver.answer.store(200, Ordering::SeqCst);
    until(&app, SignedDuration::from_secs(600), 60, "every delivery succeeded", || async {
        deliveries(&app, &endpoint).await.iter().all(|d| d["status"] == "delivered")
    })
    .await;

    let got = receiver.got.lock().unwrap().clone();
    let mut by_id: BTreeMap<String, Vec<Received>> = BTreeMap::new();
    for r in &got {
        by_id.entry(r.id.clone()).or_default().push(r.clone());
    }
    // Deduplicated by id: exactly the outbox, each type as stored.
    let ids: BTreeSet<_> = by_id.keys().cloned().collect();
    assert_eq!(ids, expected.keys().cloned().collect::<BTreeSet<_>>());
    for (id, attempts) in &by_id {
        assert!(attempts.iter().any(|r| r.answered == 200), "{id} was never accepted");
        let first = &attempts[0];
        let body: Value = serde_json::from_str(&first.body).unwrap();
        assert_eq!(body["id"], id.as_str());
        assert_eq!(body["type"], expected[id].as_str());
        assert_eq!(first.kind, expected[id]);
        assert_eq!(body["org_id"], "acme");
        for r in attempts {
            assert_eq!(r.body, first.body, "the same body on every attempt");
            let t: i64 = r.timestamp.parse().unwrap();
            assert!(r.signature.starts_with(&format!("t={t},v1=")), "{}", r.signature);
            assert!(verify_signature(&secret, &r.signature, id, &r.body, t, 0), "signature of {id}");
            assert!(!verify_signature("whsec_wrong", &r.signature, id, &r.body, t, 0));
            // What a backend runs on receipt: the Rust client's check agrees.
            let checked = creditd_client::webhooks::verify_at(&secret, &r.signature, id, r.body.as_bytes(), t, 0)
                .unwrap_or_else(|e| panic!("the client refuses {id}: {e}"));
            assert_eq!(checked, body);
            assert!(
                creditd_client::webhooks::verify_at("whsec_wrong", &r.signature, id, r.body.as_bytes(), t, 0).is_err()
            );
        }
    }
    let failed_first = got.iter().filter(|r| r.answered == 500).count();
    let rows = deliveries(&app, &endpoint).await;
    let attempts: u64 = rows.iter().map(|d| d["attempts"].as_u64().unwrap()).sum();
    // Nothing more is sent once delivered.
    app.clock.advance(SignedDuration::from_hours(2));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.got.lock().unwrap().len(), got.len());
    eprintln!(
        "webhooks: {} messages, {attempts} attempts ({} while down, {failed_first} answered 500, {} accepted), \
         all delivered and verified in {:.1} s",
        ids.len(),
        attempts as usize - got.len(),
        got.iter().filter(|r| r.answered == 200).count(),
        started.elapsed().as_secs_f64()
    );
    receiver.task.abort();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_changes_nothing() {
    let mut app = App::start().await;
    for org in ["acme", "other"] {
        app.ok("POST", "/api/organizations", json!({"id": org, "name": org})).await;
    }
    let path = format!("{ACME}/webhooks");
    for (body, status, code) in [
        (r#"{"url": "ftp://example.com/x"}"#, 422, "validation_error"),
        (r#"{"url": "not a url"}"#, 422, "validation_error"),
        (r#"{"url": "http://"}"#, 422, "validation_error"),
        (r#"{"url": "https://example.com/", "secret": "mine"}"#, 422, "validation_error"),
        (r#"{"url": "https://example.com/", "event_types": ["nope"]}"#, 422, "validation_error"),
        (r#"{"url": "https://example.com/", "event_types": []}"#, 422, "validation_error"),
        (r#"{"url": 5}"#, 422, "validation_error"),
        (r#"{}"#, 422, "validation_error"),
        (r#"{"url": "https://example.com/""#, 400, "invalid_json"),
    ] {
        let (s, v) = app.call("POST", &path, Some(body), KEY).await;
        assert_eq!((s, v["error"]["code"].as_str()), (status, Some(code)), "{body}: {v}");
        assert!(v["error"]["message"].is_string(), "{v}");
    }
    let (s, v) =
        app.call("POST", &path, Some(&format!(r#"{{"url": "https://example.com/{}"}}"#, "a".repeat(3000))), KEY).await;
    assert_eq!((s, v["error"]["code"].as_str()), (422, Some("validation_error")));
    let listed = app.ok("GET", &path, Value::Null).await;
    assert_eq!(listed["endpoints"], json!([]), "refusals stored nothing");

    let made = app
        .ok(
            "POST",
            &path,
            json!({"url": "https://hooks.example.com/c", "event_types": ["renewal", "depleted", "renewal"]}),
        )
        .await;
    let id = made["endpoint"]["id"].as_str().unwrap();
    let secret = made["secret"].as_str().unwrap();
    assert_eq!(made["endpoint"]["event_types"], json!(["depleted", "renewal"]));
    let listed = app.ok("GET", &path, Value::Null).await;
    let text = listed.to_string();
    assert!(!text.contains(secret), "the secret is shown once");
    assert_eq!(listed["endpoints"][0]["secret_prefix"], secret[..12]);
    let one = app.ok("GET", &format!("{path}/{id}"), Value::Null).await;
    assert!(!one.to_string().contains(secret));

    // Another org's endpoint answers exactly as a missing one.
    let other = app.call("GET", &format!("/api/organizations/other/webhooks/{id}"), None, KEY).await;
    let missing = app.call("GET", "/api/organizations/other/webhooks/whe_missing", None, KEY).await;
    assert_eq!(other.0, 404);
    assert_eq!(
        other.1["error"]["message"].as_str().unwrap().replace(id, "X"),
        missing.1["error"]["message"].as_str().unwrap().replace("whe_missing", "X")
    );
    let del = app.call("DELETE", &format!("/api/organizations/other/webhooks/{id}"), None, KEY).await;
    assert_eq!(del.0, 404);
    let unknown = app.call("GET", "/api/organizations/nope/webhooks", None, KEY).await;
    assert_eq!((unknown.0, unknown.1["error"]["code"].as_str()), (404, Some("not_found")));
    let bad_limit = app.call("GET", &format!("{path}/{id}/deliveries?limit=0"), None, KEY).await;
    assert_eq!(bad_limit.0, 422);
    let odd_id = app.call("GET", &format!("{path}/..%2F..%2Fx/deliveries"), None, KEY).await;
    assert_eq!(odd_id.0, 404);

    app.ok("DELETE", &format!("{path}/{id}"), Value::Null).await;
    let gone = app.call("GET", &format!("{path}/{id}"), None, KEY).await;
    assert_eq!(gone.0, 404);
    app.stop().await;
}

/// The address is checked when the webhook is sent, after resolving: a
/// name that resolves to loopback (DNS rebinding, or `localhost`) is not
/// connected to, though it passed registration; the tenant sees only the
/// coarse class. Without an allowed network the URL is refused outright.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_checks_the_resolved_address() {
    let mut strict = App::start_allowing(&[]).await;
    strict.ok("POST", "/api/organizations", json!({"id": "acme", "name": "Acme"})).await;
    for url in ["http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://[::1]:9/", "http://u:p@example.com/"] {
        let (s, v) =
            strict.call("POST", &format!("{ACME}/webhooks"), Some(&json!({"url": url}).to_string()), KEY).await;
        assert_eq!((s, v["error"]["code"].as_str()), (422, Some("validation_error")), "{url}: {v}");
    }
    strict.stop().await;

    // Names pass registration once the operator allows some private
    // network (receivers may be named), but loopback is not that network.
    let mut app = App::start_allowing(&["10.0.0.0/8"]).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let receiver = receive(port, 200).await;
    app.ok("POST", "/api/organizations", json!({"id": "acme", "name": "Acme"})).await;
    let created =
        app.ok("POST", &format!("{ACME}/webhooks"), json!({"url": format!("http://localhost:{port}/hook")})).await;
    let endpoint = created["endpoint"]["id"].as_str().unwrap().to_string();
    let p = app
        .ok("POST", &format!("{ACME}/credits"), json!({"kind": "purchase", "amount": 5, "status": "processing"}))
        .await;
    let pid = p["purchase"]["id"].as_str().unwrap();
    app.ok("POST", &format!("{ACME}/purchases/{pid}/settle"), json!({"status": "succeeded"})).await;
    until(&app, SignedDuration::from_secs(2), 20, "the delivery was attempted", || async {
        deliveries(&app, &endpoint).await.iter().any(|d| d["attempts"].as_u64().unwrap() >= 2)
    })
    .await;
    for d in deliveries(&app, &endpoint).await {
        assert_eq!(d["status"], "pending", "{d}");
        assert_eq!(d["last_error"], creditd_server::webhooks::COULD_NOT_DELIVER, "{d}");
    }
    assert!(receiver.got.lock().unwrap().is_empty(), "a webhook reached loopback");
    receiver.task.abort();
    app.stop().await;
}
