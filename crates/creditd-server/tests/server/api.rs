//! The HTTP API end to end: the real app on a loopback port over a fresh
//! SQLite store per test.

use std::sync::Arc;

use creditd_sqlite::SqliteStore;
use creditd_store::{ManualClock, Store};
use serde_json::{Value, json};

use creditd_client::{Context, Credit, Debit, ErrorCode, Micros, NewHold, NewOrganization, Release};

use crate::common::{KEY, Server, Start};

struct App(Server);

crate::app_derefs_to_server!(App, 0);

impl App {
    async fn start() -> App {
        App(Server::start().await)
    }

    async fn start_in(path: &std::path::Path) -> App {
        App(Server::with(Start { data_dir: Some(path), ..Start::default() }).await)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>, key: Option<&str>) -> (u16, Value) {
        let url = format!("{}{}", self.base, path);
        let mut req = match method {
            "GET" => self.client.get(&url),
            "POST" => self.client.post(&url),
            "DELETE" => self.client.delete(&url),
            "PATCH" => self.client.patch(&url),
            _ => unreachable!(),
        };
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        (status, v)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None, Some(KEY)).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body), Some(KEY)).await
    }

    async fn post_raw(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut req = self.client.post(format!("{}{}", self.base, path)).bearer_auth(KEY).body(body.to_string());
        req = req.header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    /// A new organisation with `credits` granted, made through the Rust
    /// client as a backend would.
    async fn org(&self, id: &str, credits: &str) {
        let new = NewOrganization {
            id: Some(id.into()),
            name: "Acme".into(),
            time_zone: Some("Europe/Madrid".into()),
            ..NewOrganization::default()
        };
        let created = self.api.create_organization(&new).await.unwrap();
        assert_eq!(created.id, id);
        if credits != "0" {
            let amount: Micros = credits.parse().unwrap();
            let granted = self.api.grant_credits(id, &Credit::grant(amount), None).await.unwrap();
            assert_eq!(granted.balance.available, amount);
        }
    }

    async fn balance(&self, org: &str) -> Value {
        let (s, v) = self.get(&format!("/api/organizations/{org}/balance")).await;
        assert_eq!(s, 200, "{v}");
        v
    }

    async fn events(&self, org: &str) -> Vec<Value> {
        let (s, v) = self.get(&format!("/api/organizations/{org}/credit-events?limit=100")).await;
        assert_eq!(s, 200, "{v}");
        v["events"].as_array().unwrap().clone()
    }
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {v}"))
}

fn credits(text: &str) -> Micros {
    text.parse().unwrap()
}

#[tokio::test]
async fn genira_flow_grant_hold_debit_once_and_release() {
    let app = App::start().await;
    app.org("acme", "100").await;
    let api = &app.api;

    let mut hold = NewHold::new(credits("30"));
    hold.ctx = Context {
        project_id: Some("case-1".into()),
        project_name: Some("Case one".into()),
        user_name: Some("Mikaela".into()),
        user_email: Some("mikaela@acme.example".into()),
        service: Some("AI Inference".into()),
        activity: Some("Model generation".into()),
        ..Context::default()
    };
    let held = api.create_hold("acme", &hold, None).await.unwrap();
    let hold_id = held.hold.as_ref().expect("the answer names the hold").id.clone();
    assert_eq!(held.balance.available, credits("70"));
    assert_eq!(held.balance.held, credits("30"));

    // First download: debit.
    let d = api.debit_hold("acme", &hold_id, &Debit::default(), None).await.unwrap();
    assert_eq!(d.balance.available, credits("70"));
    assert_eq!(d.balance.held, Micros::ZERO);
    // Second download: refused, nothing changes.
    let e = api.debit_hold("acme", &hold_id, &Debit::default(), None).await.unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(409), Some(ErrorCode::HoldAlreadySettled)));

    // Rejected model: hold then release returns the credits.
    let h2 = api.create_hold("acme", &NewHold::new(credits("12.5")), None).await.unwrap();
    let h2 = h2.hold.expect("the answer names the hold").id;
    assert_eq!(api.get_balance("acme").await.unwrap().available, credits("57.5"));
    let r = api.release_hold("acme", &h2, &Release::default(), None).await.unwrap();
    assert_eq!(r.balance.available, credits("70"));
    assert_eq!(app.balance("acme").await["available"], json!(70), "the wire shape: whole credits as a number");
    let e = api.debit_hold("acme", &h2, &Debit::default(), None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::HoldAlreadySettled), "a debit on a released hold is refused");

    let kinds: Vec<String> = app.events("acme").await.iter().map(|e| e["kind"].as_str().unwrap().to_string()).collect();
    assert_eq!(kinds, ["release", "hold", "debit", "hold", "grant"]);
    let evs = app.events("acme").await;
    assert_eq!(evs[2]["user_email"], "mikaela@acme.example", "the debit carries the hold's context");
    assert_eq!(evs[2]["amount"], json!(-30));
    let report = api.verify_ledger("acme").await.unwrap();
    assert!(report.ok, "{report:?}");
}

#[tokio::test]
async fn partial_debit_releases_the_rest_and_amounts_are_exact() {
    let app = App::start().await;
    app.org("acme", "0.3").await;
    let h = app.api.create_hold("acme", &NewHold::new(credits("0.2")), None).await.unwrap();
    let id = h.hold.expect("the answer names the hold").id;
    let debit = Debit { amount: Some(credits("0.1")), ..Debit::default() };
    let d = app.api.debit_hold("acme", &id, &debit, None).await.unwrap();
    let kinds: Vec<&str> = d.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["debit", "release"]);
    let b = app.api.get_balance("acme").await.unwrap();
    assert_eq!(b.available, credits("0.2"));
    assert_eq!(b.held, Micros::ZERO);
    assert_eq!(app.balance("acme").await["available"], json!(0.2), "the wire shape: a JSON number");
    // Seven decimals are refused, not rounded.
    let (s, e) = app.post("/api/organizations/acme/usage", json!({"amount": "0.0000001"})).await;
    assert_eq!((s, code(&e)), (422, "validation_error"));
    let (s, e) = app.post_raw("/api/organizations/acme/usage", r#"{"amount": 1e-7}"#, &[]).await;
    assert_eq!((s, code(&e)), (422, "validation_error"));
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let app = App::start().await;
    app.org("acme", "10").await;
    let before = app.events("acme").await.len();
    let cases: Vec<(&str, &str, u16, &str)> = vec![
        ("/api/organizations/acme/usage", "{not json", 400, "invalid_json"),
        ("/api/organizations/acme/usage", r#"{"amount": 1, "colour": "red"}"#, 422, "validation_error"),
        ("/api/organizations/acme/usage", r#"{"amount": -1}"#, 422, "validation_error"),
        ("/api/organizations/acme/usage", r#"{"amount": 0}"#, 422, "validation_error"),
        ("/api/organizations/acme/usage", r#"{"amount": "ten"}"#, 422, "validation_error"),
        ("/api/organizations/acme/usage", r#"{}"#, 422, "validation_error"),
        ("/api/organizations/acme/usage", r#"{"amount": 11}"#, 409, "insufficient_credits"),
        ("/api/organizations/nope/usage", r#"{"amount": 1}"#, 404, "not_found"),
        ("/api/organizations/acme/holds/hold_999/debit", "{}", 404, "hold_not_found"),
        ("/api/organizations/acme/holds/hold_999/release", "{}", 404, "hold_not_found"),
        ("/api/organizations/acme/holds", r#"{"amount": 1, "timeout_seconds": 0}"#, 422, "validation_error"),
        ("/api/organizations/acme/credits", r#"{"kind": "voucher", "amount": 5}"#, 422, "validation_error"),
        ("/api/organizations/acme/credits", r#"{"kind": "gift", "amount": 5}"#, 422, "validation_error"),
        (
            "/api/organizations/acme/credits",
            r#"{"kind": "grant", "amount": 5, "expires_at": "2020-01-01T00:00:00Z"}"#,
            422,
            "validation_error",
        ),
        ("/api/organizations/acme/adjustments", r#"{"amount": 5}"#, 422, "validation_error"),
        ("/api/organizations/acme/adjustments", r#"{"amount": -50, "reason": "x"}"#, 409, "insufficient_credits"),
        ("/api/organizations/acme/refunds", r#"{"refers_to": "use_404"}"#, 404, "refund_target_not_found"),
        ("/api/organizations/acme/purchases/pur_1/settle", r#"{"status": "succeeded"}"#, 404, "purchase_not_found"),
        ("/api/organizations/acme/usage", r#"{"amount": 99999999999999}"#, 422, "validation_error"),
    ];
    for (path, body, status, c) in cases {
        let (s, v) = app.post_raw(path, body, &[]).await;
        assert_eq!((s, code(&v)), (status, c), "{path} {body}: {v}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(app.events("acme").await.len(), before, "refusals wrote nothing");
    assert_eq!(app.balance("acme").await["available"], json!(10));

    for q in [
        "limit=0",
        "limit=101",
        "limit=abc",
        "offset=-1",
        "cursor=zzz",
        "colour=red",
        "event_type=gift",
        "date_from=yesterday",
    ] {
        let (s, v) = app.get(&format!("/api/organizations/acme/credit-events?{q}")).await;
        assert_eq!((s, code(&v)), (422, "validation_error"), "{q}: {v}");
    }
    let (s, v) = app.call("GET", "/api/organizations/acme/balance", None, None).await;
    assert_eq!((s, code(&v)), (401, "unauthorized"));
    let (s, v) = app.call("GET", "/api/organizations/acme/balance", None, Some("wrong-key")).await;
    assert_eq!((s, code(&v)), (401, "unauthorized"));
    let (s, v) = app.get("/api/nothing-here").await;
    assert_eq!((s, code(&v)), (404, "not_found"));
    let (s, v) = app.call("DELETE", "/api/organizations/acme/balance", None, Some(KEY)).await;
    assert_eq!((s, code(&v)), (405, "method_not_allowed"));
    let (s, v) = app.post("/api/organizations", json!({"id": "acme", "name": "Again"})).await;
    assert_eq!((s, code(&v)), (409, "already_exists"));
    let (s, v) = app.post("/api/organizations", json!({"id": "x", "name": "X", "time_zone": "Mars/Olympus"})).await;
    assert_eq!((s, code(&v)), (422, "validation_error"));
    let big = format!(r#"{{"amount": 1, "description": "{}"}}"#, "x".repeat(2 << 20));
    let (s, v) = app.post_raw("/api/organizations/acme/usage", &big, &[]).await;
    assert_eq!((s, code(&v)), (413, "payload_too_large"));
}

#[tokio::test]
async fn purchases_settle_once_and_refunds_are_bounded() {
    let app = App::start().await;
    app.org("acme", "0").await;
    let (s, p) = app
        .post(
            "/api/organizations/acme/credits",
            json!({"kind": "purchase", "amount": 50, "status": "processing", "source": "Stripe"}),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(app.balance("acme").await["available"], json!(0), "processing adds nothing");
    let pid = p["purchase"]["id"].as_str().unwrap();
    let (s, v) =
        app.post(&format!("/api/organizations/acme/purchases/{pid}/settle"), json!({"status": "succeeded"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(app.balance("acme").await["pools"]["prepaid"], json!(50));
    let (s, v) =
        app.post(&format!("/api/organizations/acme/purchases/{pid}/settle"), json!({"status": "failed"})).await;
    assert_eq!((s, code(&v)), (409, "purchase_already_settled"));

    let (_, u) = app.post("/api/organizations/acme/usage", json!({"amount": 20})).await;
    let uid = u["usage"]["id"].as_str().unwrap();
    let (s, v) = app.post("/api/organizations/acme/refunds", json!({"refers_to": uid, "amount": 15})).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = app.post("/api/organizations/acme/refunds", json!({"refers_to": uid, "amount": 6})).await;
    assert_eq!((s, code(&v)), (422, "refund_exceeds_consumed"));
    let (s, _) = app.post("/api/organizations/acme/refunds", json!({"refers_to": uid})).await;
    assert_eq!(s, 201, "the rest (5) can still be refunded");
    assert_eq!(app.balance("acme").await["available"], json!(50));
}

#[tokio::test]
async fn idempotency_keys_replay_and_conflict() {
    let app = App::start().await;
    app.org("acme", "100").await;
    let body = r#"{"amount": 3, "service": "Scraping"}"#;
    let (s1, a) = app.post_raw("/api/organizations/acme/usage", body, &[("idempotency-key", "k-1")]).await;
    let (s2, b) = app.post_raw("/api/organizations/acme/usage", body, &[("idempotency-key", "k-1")]).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(a, b, "a retry returns the first result");
    let (s, v) = app.post_raw("/api/organizations/acme/usage", r#"{"amount": 4}"#, &[("idempotency-key", "k-1")]).await;
    assert_eq!((s, code(&v)), (409, "idempotency_conflict"));

    // Concurrent retries of one request: one event.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (client, url) = (app.client.clone(), format!("{}/api/organizations/acme/holds", app.base));
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(KEY)
                .header("idempotency-key", "hold-once")
                .json(&json!({"amount": 5}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (s, v) = t.await.unwrap();
        assert_eq!(s, 201, "{v}");
        ids.insert(v["hold"]["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "every retry got the same hold");
    let holds = app.events("acme").await.iter().filter(|e| e["kind"] == "hold").count();
    assert_eq!(holds, 1);
    assert_eq!(app.balance("acme").await["available"], json!(92));
}

#[tokio::test]
async fn sixty_four_racing_holds_never_overdraw() {
    let app = App::start().await;
    app.org("acme", "37").await;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let api = app.api.clone();
        tasks.push(tokio::spawn(async move {
            let mut hold = NewHold::new(credits("2"));
            hold.ctx.user_email = Some(format!("u{i}@x.io"));
            api.create_hold("acme", &hold, None).await
        }));
    }
    let mut ok = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) if e.code() == Some(ErrorCode::InsufficientCredits) && e.status() == Some(409) => refused += 1,
            Err(other) => panic!("unexpected answer {other}"),
        }
    }
    assert_eq!((ok, refused), (18, 46), "exactly floor(37 / 2) holds fit");
    let b = app.api.get_balance("acme").await.unwrap();
    assert_eq!(b.available, credits("1"));
    assert_eq!(b.held, credits("36"));
    let report = app.api.verify_ledger("acme").await.unwrap();
    assert!(report.ok, "{report:?}");
}

#[tokio::test]
async fn batch_applies_in_order_each_with_its_own_result() {
    let app = App::start().await;
    app.org("acme", "10").await;
    app.org("beta", "5").await;
    let (s, v) = app
        .post(
            "/api/batch",
            json!({"operations": [
                {"org_id": "acme", "op": "usage", "body": {"amount": 4}},
                {"org_id": "beta", "op": "hold", "body": {"amount": 5}},
                {"org_id": "acme", "op": "usage", "body": {"amount": 7}},
                {"org_id": "acme", "op": "usage", "body": {"amount": 6}},
                {"org_id": "acme", "op": "debit", "hold_id": "hold_1"},
                {"org_id": "acme", "op": "usage", "body": {"amount": "x"}},
                {"org_id": "ghost", "op": "usage", "body": {"amount": 1}}
            ]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let r = v["results"].as_array().unwrap();
    let got: Vec<(bool, u64)> = r.iter().map(|x| (x["ok"].as_bool().unwrap(), x["status"].as_u64().unwrap())).collect();
    assert_eq!(got, [(true, 201), (true, 201), (false, 409), (true, 201), (false, 404), (false, 422), (false, 404)]);
    assert_eq!(app.balance("acme").await["available"], json!(0));
    assert_eq!(app.balance("beta").await["held"], json!(5));
    let (s, v) = app.post("/api/batch", json!({"operations": []})).await;
    assert_eq!((s, code(&v)), (422, "validation_error"));
}

#[tokio::test]
async fn holds_time_out_and_vouchers_expire() {
    let app = App::start().await;
    app.org("acme", "0").await;
    let (s, v) = app
        .post(
            "/api/organizations/acme/credits",
            json!({"kind": "voucher", "amount": 10, "code": "SPRING", "expires_at": "2026-03-20T00:00:00Z"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["events"][0]["code"], "SPRING");
    let (_, h) = app.post("/api/organizations/acme/holds", json!({"amount": 4, "timeout_seconds": 60})).await;
    let id = h["hold"]["id"].as_str().unwrap().to_string();
    app.clock.advance(jiff::SignedDuration::from_secs(61));
    assert_eq!(app.store.tick().await.unwrap(), 1);
    let evs = app.events("acme").await;
    assert_eq!(evs[0]["kind"], "release");
    assert_eq!(evs[0]["source"], "timeout");
    // A hold its timeout released answers `hold_expired` (the core's rule
    // since holds past their time are refused; docs/api.md, error codes).
    let (s, e) = app.post(&format!("/api/organizations/acme/holds/{id}/debit"), json!({})).await;
    assert_eq!((s, code(&e)), (409, "hold_expired"));
    // Past the voucher's expiry the tick lapses it.
    app.clock.set("2026-03-21T00:00:00Z".parse().unwrap());
    assert_eq!(app.store.tick().await.unwrap(), 1);
    let evs = app.events("acme").await;
    assert_eq!((evs[0]["kind"].as_str(), evs[0]["amount"].clone()), (Some("expiry"), json!(-10)));
    assert_eq!(app.balance("acme").await["available"], json!(0));
}

#[tokio::test]
async fn history_pages_by_offset_and_cursor() {
    let app = App::start().await;
    app.org("acme", "1000").await;
    for i in 0..25 {
        let (s, _) =
            app.post("/api/organizations/acme/usage", json!({"amount": 1, "project_id": format!("p{}", i % 2)})).await;
        assert_eq!(s, 201);
    }
    let (_, p1) = app.get("/api/organizations/acme/credit-events?limit=10").await;
    assert_eq!(p1["events"][0]["seq"], json!(26));
    let cursor = p1["next_cursor"].as_str().unwrap().to_string();
    // New writes between pages do not shift a cursor walk.
    app.post("/api/organizations/acme/usage", json!({"amount": 1})).await;
    let (_, p2) = app.get(&format!("/api/organizations/acme/credit-events?limit=10&cursor={cursor}")).await;
    assert_eq!(p2["events"][0]["seq"], json!(16));
    let (_, p3) =
        app.get("/api/organizations/acme/credit-events?limit=10&offset=20&event_type=usage&project_id=p1").await;
    let seqs: Vec<u64> = p3["events"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.is_empty(), "only 12 events of p1: {seqs:?}");
    let (_, p4) = app.get("/api/organizations/acme/credit-events?limit=100&event_type=grant,usage&project_id=p1").await;
    assert_eq!(p4["events"].as_array().unwrap().len(), 12);
    assert!(p4["next_cursor"].is_null());
}

#[tokio::test]
async fn restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (balance, events) = {
        let mut app = App::start_in(dir.path()).await;
        app.org("acme", "50").await;
        let (_, h) = app.post("/api/organizations/acme/holds", json!({"amount": 7})).await;
        assert!(h["hold"]["id"].is_string());
        app.post("/api/organizations/acme/usage", json!({"amount": 3})).await;
        let out = (app.balance("acme").await, app.events("acme").await);
        app.stop().await;
        out
    };
    let mut app = App::start_in(dir.path()).await;
    assert_eq!(app.balance("acme").await, balance);
    assert_eq!(app.events("acme").await, events);
    // The open hold survived and can still be debited once.
    let (s, _) = app.post("/api/organizations/acme/holds/hold_2/debit", json!({})).await;
    assert_eq!(s, 200);
    let (s, _) = app.post("/api/organizations/acme/holds/hold_2/debit", json!({})).await;
    assert_eq!(s, 409);
    app.stop().await;
}

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(jiff::Timestamp::now()));
    let _first = SqliteStore::open(dir.path(), clock.clone()).unwrap();
    let second = SqliteStore::open(dir.path(), clock);
    let err = second.err().expect("the second open must fail").to_string();
    assert!(err.contains("another creditd"), "{err}");
}

/// `depth` JSON arrays around a number, as a body's text.
fn nested_array(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

/// Issue 14's poisoned org: a member's 252-byte hold with a 126-deep array
/// in `metadata` was accepted and made every later write to the org fail
/// after a restart. Now anything past 32 levels is a clear 422 on every
/// write route and writes nothing; the deepest accepted metadata reads back
/// after a restart, and the org goes on taking writes and verifies.
#[tokio::test]
async fn metadata_past_its_bounds_is_refused_and_the_deepest_accepted_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::start_in(dir.path()).await;
    app.org("acme", "50").await;
    let raw = |path: &str, body: String| {
        let req = app
            .client
            .post(format!("{}{path}", app.base))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(body);
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let routes = [
        ("/api/organizations/acme/holds", r#"{"amount": 1, "metadata": "#),
        ("/api/organizations/acme/usage", r#"{"amount": 1, "metadata": "#),
        (
            "/api/organizations/acme/credits",
            r#"{"kind": "purchase", "status": "processing", "amount": 1, "metadata": "#,
        ),
    ];
    for (path, head) in routes {
        let (status, body) = raw(path, format!("{head}{}}}", nested_array(126))).await;
        assert_eq!((status, body["error"]["code"].as_str()), (422, Some("validation_error")), "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains("metadata") && message.contains("32"), "{path}: {message}");
        let (status, body) = raw(path, format!("{head}{}}}", nested_array(33))).await;
        assert_eq!(status, 422, "{path}: {body}");
    }
    assert_eq!(app.balance("acme").await["available"], json!(50), "nothing was written");
    let (status, hold) = raw(routes[0].0, format!("{}{}}}", routes[0].1, nested_array(32))).await;
    assert_eq!(status, 201, "{hold}");
    let hold_id = hold["hold"]["id"].as_str().unwrap().to_string();
    let (status, purchase) = raw(routes[2].0, format!("{}{}}}", routes[2].1, nested_array(32))).await;
    assert_eq!(status, 201, "{purchase}");
    app.stop().await;
    drop(app);

    let mut app = App::start_in(dir.path()).await;
    let (status, report) = app.get("/api/organizations/acme/verify").await;
    assert_eq!((status, report["ok"].as_bool()), (200, Some(true)), "{report}");
    let (status, _) = app.post("/api/organizations/acme/usage", json!({"amount": 2})).await;
    assert_eq!(status, 201);
    let (status, body) = app.post(&format!("/api/organizations/acme/holds/{hold_id}/debit"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let events = app.events("acme").await;
    let stored = events.iter().find(|e| e["kind"] == "hold").unwrap();
    assert_eq!(stored["metadata"], serde_json::from_str::<Value>(&nested_array(32)).unwrap());
    app.stop().await;
}

/// A hold past its `expires_at` cannot be debited, whether or not the timer
/// has released it: 409 `hold_expired`, and the release is in the history.
#[tokio::test]
async fn a_debit_after_expires_at_is_refused_and_releases_the_hold() {
    let mut app = App::start().await;
    app.org("acme", "50").await;
    let (_, h) = app.post("/api/organizations/acme/holds", json!({"amount": 7, "timeout_seconds": 30})).await;
    let id = h["hold"]["id"].as_str().unwrap().to_string();
    app.clock.advance(jiff::SignedDuration::from_secs(31));
    let (status, body) = app.post(&format!("/api/organizations/acme/holds/{id}/debit"), json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("hold_expired")), "{body}");
    assert_eq!(app.balance("acme").await["available"], json!(50));
    let events = app.events("acme").await;
    assert_eq!(events[0]["kind"], "release");
    assert_eq!(events[0]["source"], "timeout");
    app.stop().await;
}

/// `POST …/purchases/{id}/reverse`: a partly spent purchase is taken back
/// once (debt by default, or written off by the org's setting), linked to
/// the purchase in the history; every bad request is a clear 4xx that
/// writes nothing.
#[tokio::test]
async fn purchases_are_reversed_once() {
    let app = App::start().await;
    app.org("acme", "0").await;
    let (s, p) = app.post("/api/organizations/acme/credits", json!({"kind": "purchase", "amount": 40})).await;
    assert_eq!(s, 201, "{p}");
    let pid = p["purchase"]["id"].as_str().unwrap().to_string();
    let (s, _) = app.post("/api/organizations/acme/usage", json!({"amount": "10.5"})).await;
    assert_eq!(s, 201);
    let url = format!("/api/organizations/acme/purchases/{pid}/reverse");

    for (body, status, want) in [
        (r#"{}"#, 422, "validation_error"),
        (r#"{"reason": ""}"#, 422, "validation_error"),
        (r#"{"reason": "x", "amount": 1}"#, 422, "validation_error"),
        (r#"{"reason": 5}"#, 422, "validation_error"),
        (r#"{"reason": "#, 400, "invalid_json"),
    ] {
        let (s, v) = app.post_raw(&url, body, &[]).await;
        assert_eq!((s, code(&v)), (status, want), "{body}: {v}");
    }
    let (s, v) = app.post("/api/organizations/acme/purchases/pur_999/reverse", json!({"reason": "x"})).await;
    assert_eq!((s, code(&v)), (404, "purchase_not_found"));
    let (_, pending) = app
        .post("/api/organizations/acme/credits", json!({"kind": "purchase", "amount": 5, "status": "processing"}))
        .await;
    let pending = pending["purchase"]["id"].as_str().unwrap();
    let (s, v) =
        app.post(&format!("/api/organizations/acme/purchases/{pending}/reverse"), json!({"reason": "x"})).await;
    assert_eq!((s, code(&v)), (409, "purchase_not_reversible"), "{v}");
    assert_eq!(app.balance("acme").await["available"], json!(29.5), "nothing was written");

    let body = r#"{"reason": "Chargeback ch_9", "source": "Stripe"}"#;
    let (s, v) = app.post_raw(&url, body, &[("idempotency-key", "rev-9")]).await;
    assert_eq!(s, 200, "{v}");
    let e = &v["events"][0];
    assert_eq!(
        (e["kind"].clone(), e["amount"].clone(), e["hold_id"].clone()),
        (json!("reversal"), json!(-40), json!(pid))
    );
    assert_eq!(
        e["metadata"],
        json!({"reason": "Chargeback ch_9", "policy": "debt", "unspent": "29.5", "debt": "10.5"})
    );
    assert_eq!(v["purchase"]["status"], "reversed");
    assert_eq!((v["balance"]["available"].clone(), v["balance"]["reversal_debt"].clone()), (json!(-10.5), json!(10.5)));
    let (s, again) = app.post_raw(&url, body, &[("idempotency-key", "rev-9")]).await;
    assert_eq!((s, &again), (200, &v), "a retry answers the first result");
    let (s, v) = app.post(&url, json!({"reason": "twice"})).await;
    assert_eq!((s, code(&v)), (409, "purchase_already_reversed"));
    let (s, v) = app.get("/api/organizations/acme/credit-events?event_type=reversal").await;
    assert_eq!((s, v["events"].as_array().map(Vec::len)), (200, Some(1)), "{v}");
    let (s, v) = app.get("/api/organizations/acme/verify").await;
    assert_eq!((s, v["ok"].clone()), (200, json!(true)), "{v}");

    // The org's policy: written off.
    let (s, v) =
        app.call("PATCH", "/api/organizations/acme", Some(json!({"reversal_policy": "write_off"})), Some(KEY)).await;
    assert_eq!((s, v["reversal_policy"].clone()), (200, json!("write_off")), "{v}");
    let (s, v) =
        app.call("PATCH", "/api/organizations/acme", Some(json!({"reversal_policy": "forgive"})), Some(KEY)).await;
    assert_eq!((s, code(&v)), (422, "validation_error"));
    let (_, q) = app.post("/api/organizations/acme/credits", json!({"kind": "purchase", "amount": 20})).await;
    let qid = q["purchase"]["id"].as_str().unwrap();
    // The new credits settle the 10.5 owed first: 9.5 are left of them.
    assert_eq!(app.balance("acme").await["available"], json!(9.5));
    let (s, v) =
        app.post(&format!("/api/organizations/acme/purchases/{qid}/reverse"), json!({"reason": "refund"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["events"][0]["amount"], json!(-9.5));
    assert_eq!(v["events"][0]["metadata"]["written_off"], "10.5");
    assert_eq!(app.balance("acme").await["available"], json!(0));
}
