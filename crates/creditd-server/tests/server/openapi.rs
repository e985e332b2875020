//! The OpenAPI document is a contract: real answers of a real server,
//! route by route, validate against the schemas the document gives for
//! their status (JSON Schema 2020-12, the dialect of OpenAPI 3.1), so a
//! handler that drifts from its documented type fails here. The copy
//! checked into the repository (`openapi.json`, what clients are generated
//! from) must be the served document.

use std::collections::BTreeSet;

use creditd_store::Store as _;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{KEY, Server};

struct App {
    srv: Server,
    doc: Value,
    /// (METHOD, path template) of every answer checked.
    checked: BTreeSet<(String, String)>,
}

crate::app_derefs_to_server!(App, srv);

impl App {
    async fn start() -> App {
        let srv = Server::start().await;
        let doc: Value =
            srv.client.get(format!("{}/openapi.json", srv.base)).send().await.unwrap().json().await.unwrap();
        App { srv, doc, checked: BTreeSet::new() }
    }

    async fn stop(mut self) {
        self.srv.stop().await
    }

    /// The documented path template `path` is an instance of.
    fn template(&self, path: &str) -> String {
        let path = path.split('?').next().unwrap();
        let segs: Vec<&str> = path.split('/').collect();
        let mut found: Vec<&String> = self.doc["paths"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|t| {
                let ts: Vec<&str> = t.split('/').collect();
                ts.len() == segs.len() && ts.iter().zip(&segs).all(|(t, s)| t.starts_with('{') || t == s)
            })
            .collect();
        // A literal segment beats a parameter (`…/conversations/usage` over `…/{id}`).
        found.sort_by_key(|t| t.matches('{').count());
        found.first().unwrap_or_else(|| panic!("{path} is not documented")).to_string()
    }

    /// Sends a request and checks the answer against the document.
    async fn call(&mut self, method: Method, path: &str, body: Option<Value>, key: &str) -> (u16, Value) {
        let mut r = self.client.request(method.clone(), format!("{}{}", self.base, path)).bearer_auth(key);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let ctype = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let text = resp.text().await.unwrap();
        assert!(ctype.starts_with("application/json"), "{method} {path}: {status} {ctype} {text}");
        let value: Value = serde_json::from_str(&text).unwrap();
        let template = self.template(path);
        let op = &self.doc["paths"][&template][method.as_str().to_lowercase()];
        assert!(op.is_object(), "{method} {template} is not documented");
        let responses = &op["responses"];
        let class = format!("{}XX", status / 100);
        let response = responses
            .get(status.to_string())
            .or_else(|| responses.get(&class))
            .unwrap_or_else(|| panic!("{method} {template}: status {status} is not documented: {text}"));
        let schema = &response["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{method} {template} {status}: no JSON schema");
        let mut root = schema.clone();
        root["components"] = self.doc["components"].clone();
        let validator = jsonschema::draft202012::new(&root).unwrap();
        let errors: Vec<String> =
            validator.iter_errors(&value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(
            errors.is_empty(),
            "{method} {path} {status} does not match {schema}:\n{}\n{value:#}",
            errors.join("\n")
        );
        self.checked.insert((method.to_string(), template));
        (status, value)
    }

    async fn get(&mut self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None, KEY).await
    }

    async fn send(&mut self, method: Method, path: &str, body: Value) -> (u16, Value) {
        self.call(method, path, Some(body), KEY).await
    }

    async fn post(&mut self, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::POST, path, body).await
    }
}

fn expect(got: (u16, Value), status: u16) -> Value {
    assert_eq!(got.0, status, "{:#}", got.1);
    got.1
}

/// A walk through the API, every answer checked against its schema.
#[tokio::test]
async fn answers_match_the_documented_schemas() {
    let mut app = App::start().await;
    const ORG: &str = "/api/organizations/acme";
    expect(app.call(Method::GET, "/healthz", None, "").await, 200);
    expect(app.call(Method::GET, "/readyz", None, "").await, 200);
    expect(app.call(Method::GET, "/openapi.json", None, "").await, 200);

    // Organisation and settings.
    let body = json!({"id": "acme", "name": "Acme", "time_zone": "Europe/Madrid", "overdraft_limit": "5"});
    expect(app.post("/api/organizations", body).await, 201);
    expect(app.get(ORG).await, 200);
    expect(app.send(Method::PATCH, ORG, json!({"expiring_first": false})).await, 200);

    // Credits, a purchase settled, holds debited and released, usage refunded.
    expect(app.post(&format!("{ORG}/credits"), json!({"kind": "grant", "amount": 100})).await, 201);
    let bought = json!({"kind": "purchase", "amount": "20.5", "status": "processing", "project_id": "p1"});
    let v = expect(app.post(&format!("{ORG}/credits"), bought).await, 201);
    let purchase = v["purchase"]["id"].as_str().unwrap().to_string();
    let settle = json!({"status": "succeeded"});
    expect(app.post(&format!("{ORG}/purchases/{purchase}/settle"), settle).await, 200);
    // A purchase reversed (nothing of it spent: prepaid is consumed last).
    let v = expect(app.post(&format!("{ORG}/credits"), json!({"kind": "purchase", "amount": 3})).await, 201);
    let reversed = v["purchase"]["id"].as_str().unwrap().to_string();
    let v = expect(app.post(&format!("{ORG}/purchases/{reversed}/reverse"), json!({"reason": "refund"})).await, 200);
    assert_eq!(v["events"][0]["kind"], "reversal", "{v}");
    let again = app.post(&format!("{ORG}/purchases/{reversed}/reverse"), json!({"reason": "refund"})).await;
    assert_eq!(expect(again, 409)["error"]["code"], "purchase_already_reversed");
    let hold = json!({"amount": 30, "user_email": "mikaela@acme.example", "metadata": {"case": 1}});
    let v = expect(app.post(&format!("{ORG}/holds"), hold).await, 201);
    let hold = v["hold"]["id"].as_str().unwrap().to_string();
    expect(app.post(&format!("{ORG}/holds/{hold}/debit"), json!({"amount": "25.000001"})).await, 200);
    let again = app.post(&format!("{ORG}/holds/{hold}/debit"), json!({})).await;
    assert_eq!(expect(again, 409)["error"]["code"], "hold_already_settled");
    let v = expect(app.post(&format!("{ORG}/holds"), json!({"amount": "12.5"})).await, 201);
    let hold = v["hold"]["id"].as_str().unwrap().to_string();
    expect(app.post(&format!("{ORG}/holds/{hold}/release"), json!({})).await, 200);
    // A child, its parent set, and a transfer to it (the answer checked too).
    expect(app.post("/api/organizations", json!({"id": "acme-lab", "name": "Lab"})).await, 201);
    let v = expect(app.send(Method::PATCH, "/api/organizations/acme-lab", json!({"parent_id": "acme"})).await, 200);
    assert_eq!(v["parent_id"], "acme");
    let v = expect(app.post(&format!("{ORG}/transfers"), json!({"to": "acme-lab", "amount": 1})).await, 201);
    assert_eq!((v["from"].as_str(), v["to"].as_str()), (Some("acme"), Some("acme-lab")));
    let v = expect(app.post(&format!("{ORG}/usage"), json!({"amount": 5, "service": "AI"})).await, 201);
    let usage = v["usage"]["id"].as_str().unwrap().to_string();
    expect(app.post(&format!("{ORG}/refunds"), json!({"refers_to": usage, "amount": 1})).await, 201);
    expect(app.post(&format!("{ORG}/adjustments"), json!({"amount": -1, "reason": "typo"})).await, 201);
    expect(app.post(&format!("{ORG}/billing"), json!({"description": "March invoice"})).await, 201);
    let batch = json!({"operations": [
        {"org_id": "acme", "op": "usage", "body": {"amount": 1}},
        {"org_id": "acme", "op": "debit", "hold_id": "hold_404"},
    ]});
    let v = expect(app.post("/api/batch", batch).await, 200);
    assert_eq!((v["results"][0]["ok"].clone(), v["results"][1]["ok"].clone()), (json!(true), json!(false)), "{v}");

    // Reads.
    let v = expect(app.get(&format!("{ORG}/balance")).await, 200);
    assert!(v["available"].is_number(), "amounts are answered as numbers: {v}");
    expect(app.get(&format!("{ORG}/verify")).await, 200);
    // The past: an open hold at this instant, and today's statement.
    let held =
        expect(app.post(&format!("{ORG}/holds"), json!({"amount": 2, "user_email": "a@acme.example"})).await, 201);
    let now = app.store.now();
    let v = expect(app.get(&format!("{ORG}/balance/as-of?as_of={now}")).await, 200);
    assert_eq!(v["open_holds"][0]["id"], held["hold"]["id"], "{v}");
    let v = expect(app.get(&format!("{ORG}/statement?range=today")).await, 200);
    assert!(v["credits_in"].as_array().is_some_and(|l| !l.is_empty()), "{v}");
    let v = expect(app.get(&format!("{ORG}/credit-events?limit=2&event_type=hold,debit")).await, 200);
    assert!(v["next_cursor"].is_string(), "{v}");
    // Seed 001's names: the hold is a reservation that takes the credits,
    // its debit a usage of 0 that says what it captured; the cursor goes on.
    let v = expect(app.get(&format!("{ORG}/credit-events?limit=100&event_type=hold,debit&fields=events")).await, 200);
    let events = v["events"].as_array().unwrap();
    let debit = events.iter().find(|e| e["event_type"] == "usage").expect("the debit, as usage");
    assert_eq!(debit["credits"], json!(0), "{v}");
    assert_eq!(debit["metadata"]["captured"], "25.000001", "{v}");
    let hold = events.iter().find(|e| e["credits"] == json!(-30)).expect("the hold of 30");
    assert_eq!(
        (hold["event_type"].clone(), hold["metadata"].clone()),
        (json!("reservation"), json!({"case": 1})),
        "{v}"
    );
    assert!(debit.get("kind").is_none() && debit["created_at"].is_string(), "{v}");
    let v = expect(app.get(&format!("{ORG}/credit-events?limit=2&event_type=hold,debit&fields=events")).await, 200);
    let next = v["next_cursor"].as_str().unwrap().to_string();
    expect(
        app.get(&format!("{ORG}/credit-events?limit=2&event_type=hold,debit&fields=events&cursor={next}")).await,
        200,
    );
    let bad = expect(app.get(&format!("{ORG}/credit-events?fields=seed")).await, 422);
    assert!(bad["error"]["message"].as_str().unwrap().contains("fields must be all"), "{bad}");
    expect(app.get(&format!("{ORG}/usage?group_by=service&range=this_month")).await, 200);
    expect(app.get(&format!("{ORG}/summary")).await, 200);
    // The plan catalogue, Buy more, Change plan.
    let pro = json!({"name": "Pro", "credits_per_period": 10000, "identities_included": 5, "price": "449",
        "currency": "EUR", "price_text": "449 € / month", "description": "For teams"});
    expect(app.send(Method::PUT, "/api/plans/pro", pro).await, 201);
    expect(app.get("/api/plans").await, 200);
    let offer = json!({"buy_more_amounts": [100, "250.5"],
        "checkout_url_template": "https://pay.example.com/c/{purchase_id}?sig={signature}"});
    expect(app.send(Method::PATCH, ORG, offer).await, 200);
    let v = expect(app.post(&format!("{ORG}/purchases/request"), json!({"amount": "250.5"})).await, 201);
    assert!(v["checkout_url"].as_str().unwrap().starts_with("https://pay.example.com/c/pur_"), "{v}");
    let v = expect(app.post(&format!("{ORG}/plan/change"), json!({"plan_id": "pro"})).await, 200);
    assert_eq!(v["applied"], json!(false), "{v}");

    // Price books (shared by every organisation); a plan names one.
    let draft = creditd_server::openapi::examples::price_book_draft();
    expect(app.send(Method::PUT, "/api/price-books/standard", draft).await, 201);
    expect(app.get("/api/price-books/standard").await, 200);
    expect(app.get("/api/price-books").await, 200);

    // Plans, conversations, the low-balance alert.
    let plan = json!({"name": "Growth", "credits_per_period": 1000, "identities_included": 2, "price": "449",
        "currency": "EUR", "rollover": {"policy": "up_to", "max_credits": "500"}, "price_book": "standard"});
    expect(app.send(Method::PUT, &format!("{ORG}/plan"), plan).await, 200);
    expect(app.get(&format!("{ORG}/plan")).await, 200);
    // Priced usage, hold and debit (a version in force now).
    let mut now = creditd_server::openapi::examples::price_book_draft();
    now.as_object_mut().unwrap().remove("effective_from");
    now["prices"][0]["credits_per_unit"] = json!(3);
    expect(app.send(Method::PUT, "/api/price-books/standard", now).await, 201);
    expect(app.send(Method::PATCH, ORG, json!({"price_book": "standard"})).await, 200);
    let tokens = json!({"price": "tokens_in", "quantity": "2.5", "dimensions": {"model": "large"}});
    expect(app.post(&format!("{ORG}/usage"), tokens).await, 201);
    let v = expect(app.post(&format!("{ORG}/holds"), json!({"price": "enrichment", "quantity": 10})).await, 201);
    let priced = v["hold"]["id"].as_str().unwrap().to_string();
    // Extended by units, then by time alone; checked before acting.
    let v = expect(app.post(&format!("{ORG}/holds/{priced}/extend"), json!({"quantity": 2})).await, 200);
    assert_eq!(v["hold"]["pricing"]["quantity"], json!(12), "{v}");
    expect(app.post(&format!("{ORG}/holds/{priced}/extend"), json!({"timeout_seconds": 7200})).await, 200);
    let v = expect(app.post(&format!("{ORG}/check"), json!({"price": "enrichment", "quantity": 3})).await, 200);
    assert!(v["allowed"] == json!(true) && v["pricing"]["tiers"].is_array(), "{v}");
    let v = expect(app.post(&format!("{ORG}/check"), json!({"amount": 1000000})).await, 200);
    assert_eq!(v["reason"], "insufficient_credits", "{v}");
    let v = expect(app.post(&format!("{ORG}/holds/{priced}/debit"), json!({"quantity": 4})).await, 200);
    assert!(v["events"][0]["pricing"]["tiers"].is_array(), "{v}");
    expect(app.post(&format!("{ORG}/conversations"), json!({"identity": "bot-1", "campaign": "spring"})).await, 201);
    expect(app.get(&format!("{ORG}/conversations?group_by=campaign")).await, 200);
    expect(app.get(&format!("{ORG}/conversations/usage")).await, 200);
    let threshold = json!({"threshold": 5000});
    expect(app.send(Method::PUT, &format!("{ORG}/low-balance-threshold"), threshold).await, 200);
    let v = expect(app.get(&format!("{ORG}/notifications?limit=10")).await, 200);
    assert!(!v["notifications"].as_array().unwrap().is_empty(), "{v}");
    expect(app.get(&format!("{ORG}/summary")).await, 200);

    // Members, caps, keys, who am I.
    let owner = json!({"email": "owner@acme.example", "name": "Olga", "role": "owner"});
    expect(app.post(&format!("{ORG}/members"), owner).await, 201);
    expect(app.post(&format!("{ORG}/members"), json!({"email": "m@acme.example", "name": "Max"})).await, 201);
    expect(app.get(&format!("{ORG}/members")).await, 200);
    expect(app.send(Method::PATCH, &format!("{ORG}/members/m@acme.example"), json!({"role": "admin"})).await, 200);
    let cap = json!({"member": "owner@acme.example", "limit": "10.5"});
    expect(app.send(Method::PUT, &format!("{ORG}/caps"), cap).await, 200);
    expect(app.get(&format!("{ORG}/caps")).await, 200);
    expect(app.get(&format!("{ORG}/members/owner@acme.example")).await, 200);
    expect(app.get(&format!("{ORG}/me")).await, 200);
    let v = expect(app.post("/api/keys", json!({"kind": "service", "org_ids": ["acme"]})).await, 201);
    let service_key = v["key"]["id"].as_str().unwrap().to_string();
    let mine = json!({"kind": "member", "org_id": "acme", "email": "owner@acme.example", "name": "script"});
    let v = expect(app.post("/api/keys", mine).await, 201);
    let (member_key, secret) =
        (v["key"]["id"].as_str().unwrap().to_string(), v["secret"].as_str().unwrap().to_string());
    expect(app.get("/api/keys?org_id=acme").await, 200);
    expect(app.get(&format!("/api/keys/{member_key}")).await, 200);
    let v = expect(app.call(Method::GET, &format!("{ORG}/me"), None, &secret).await, 200);
    assert_eq!(v["role"], "owner", "{v}");
    expect(app.call(Method::DELETE, &format!("/api/keys/{service_key}"), None, KEY).await, 200);
    expect(app.call(Method::DELETE, &format!("{ORG}/members/m@acme.example"), None, KEY).await, 200);

    // Refusals take the error shape.
    expect(app.get("/api/organizations/nope").await, 404);
    let too_precise = app.post(&format!("{ORG}/holds"), json!({"amount": "1.0000001"})).await;
    assert_eq!(expect(too_precise, 422)["error"]["code"], "validation_error");
    expect(app.post(&format!("{ORG}/holds"), json!({"amount": 1, "amout": 2})).await, 422);
    expect(app.get(&format!("{ORG}/credit-events?limit=101")).await, 422);
    expect(app.call(Method::GET, &format!("{ORG}/balance"), None, "wrong").await, 401);

    // Found by schemathesis: an empty query value is read as no value
    // (the document says allowEmptyValue), page positions are u64 (uint64),
    // and the routes documented with an Idempotency-Key header read it (an
    // empty one is refused).
    expect(app.get(&format!("{ORG}/credit-events?date_to=&limit=&offset=18446744073709551615")).await, 200);
    expect(app.get(&format!("{ORG}/notifications?after=18446744073709551615")).await, 200);
    let routes: Vec<creditd_server::openapi::Route> =
        creditd_server::routes::table().into_iter().map(|e| e.route).collect();
    for r in routes.iter().filter(|r| r.keyed) {
        let path = r.path.replace("{org_id}", "acme").replace("{id}", "hold_x");
        let resp = app
            .client
            .request(r.method.parse().unwrap(), format!("{}{path}", app.base))
            .bearer_auth(KEY)
            .header("idempotency-key", "")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 422, "{} {}: an empty Idempotency-Key", r.method, r.path);
    }

    // Found by schemathesis: serde reads a struct from an array, so
    // `[null, null]` passed as an empty patch; bodies must be objects.
    let (s, _) = app.send(Method::PATCH, &format!("{ORG}/members/owner@acme.example"), json!([null, null])).await;
    assert_eq!(s, 422);
    expect(app.post(&format!("{ORG}/holds"), json!([1])).await, 422);
    expect(app.send(Method::PUT, &format!("{ORG}/low-balance-threshold"), json!([null])).await, 422);
    let batch = json!({"operations": [{"org_id": "acme", "op": "usage", "body": [1]}]});
    expect(app.post("/api/batch", batch).await, 422);

    // Money in: the auto top-up rule (below its threshold at once, so the
    // answers carry a pending top-up) and the usage alert levels.
    expect(app.get(&format!("{ORG}/auto-top-up")).await, 200);
    let rule = json!({"threshold": "100000", "amount": 5, "max_per_period": {"count": 2, "credits": 10}});
    let set = expect(app.send(Method::PUT, &format!("{ORG}/auto-top-up"), rule).await, 200);
    assert_eq!(set["pending"]["amount"], json!(5), "{set}");
    expect(app.get(&format!("{ORG}/auto-top-up")).await, 200);
    let levels = json!({"levels": [{"percent_used": 50}, {"available_below": 1000000}]});
    let set = expect(app.send(Method::PUT, &format!("{ORG}/alerts"), levels).await, 200);
    assert_eq!(set["levels"][1]["fired"], json!(true), "{set}");
    expect(app.get(&format!("{ORG}/alerts")).await, 200);
    expect(app.get(&format!("{ORG}/summary")).await, 200);

    // Webhook endpoints: registered, listed, read, their deliveries, deleted.
    let body = json!({"url": "https://example.com/hook", "event_types": ["low_balance"], "description": "ops"});
    let created = expect(app.post(&format!("{ORG}/webhooks"), body).await, 201);
    let id = created["endpoint"]["id"].as_str().unwrap().to_string();
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"), "{created}");
    expect(app.get(&format!("{ORG}/webhooks")).await, 200);
    expect(app.get(&format!("{ORG}/webhooks/{id}")).await, 200);
    expect(app.get(&format!("{ORG}/webhooks/{id}/deliveries?limit=10")).await, 200);
    let deleted = expect(app.send(Method::DELETE, &format!("{ORG}/webhooks/{id}"), json!({})).await, 200);
    assert_eq!(deleted["deleted"], json!(true), "{deleted}");

    // Most JSON routes were checked; the rest are covered by schemathesis.
    let json_routes: BTreeSet<(String, String)> =
        routes.iter().filter(|r| r.response.is_some()).map(|r| (r.method.to_string(), r.path.to_string())).collect();
    let unchecked: Vec<_> = json_routes.difference(&app.checked).collect();
    assert!(unchecked.is_empty(), "JSON routes this walk did not check: {unchecked:?}");
    app.stop().await;
}

/// The checker itself: an answer that does not match is caught.
#[tokio::test]
async fn a_drifted_answer_is_caught() {
    let app = App::start().await;
    let schema = &app.doc["components"]["schemas"]["BalanceView"];
    let mut root = schema.clone();
    root["components"] = app.doc["components"].clone();
    let v = jsonschema::draft202012::new(&root).unwrap();
    let good = json!({"org_id": "a", "available": 1, "held": 0, "overdraft_used": 0, "overdraft_limit": 0,
        "pools": {"plan": 0, "prepaid": 0, "voucher": 0, "promotional": 1}, "period_start": null,
        "period_end": null, "period_usage": 0, "seq": 1, "caps": []});
    assert!(v.is_valid(&good), "{:?}", v.iter_errors(&good).map(|e| e.to_string()).collect::<Vec<_>>());
    for (field, bad) in [("available", json!("1")), ("seq", json!(-1)), ("caps", json!(null)), ("pools", json!({}))] {
        let mut b = good.clone();
        b[field] = bad;
        assert!(!v.is_valid(&b), "{field} = {} passed", b[field]);
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("held");
    assert!(!v.is_valid(&missing), "a missing field passed");
    app.stop().await;
}

/// `openapi.json` at the top of the repository, pretty-printed with its
/// keys sorted, is the served document: clients are generated from the
/// file, so it may not fall behind the server.
/// `CREDITD_UPDATE_OPENAPI=1 cargo test -p creditd-server openapi` rewrites it.
#[tokio::test]
async fn the_checked_in_document_is_the_served_one() {
    let app = App::start().await;
    let served = serde_json::to_string_pretty(&sorted(&app.doc)).unwrap() + "\n";
    app.stop().await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root.canonicalize().unwrap_or(root).join("openapi.json");
    if std::env::var_os("CREDITD_UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(&path, &served).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    if stored != served {
        let line = stored.lines().zip(served.lines()).position(|(a, b)| a != b).map_or_else(
            || format!("the files differ in length ({} and {} lines)", stored.lines().count(), served.lines().count()),
            |i| {
                let (a, b) = (stored.lines().nth(i).unwrap_or(""), served.lines().nth(i).unwrap_or(""));
                format!("first difference at line {}:\n  checked in: {a}\n  served:     {b}", i + 1)
            },
        );
        panic!(
            "{} is not the served /openapi.json; {line}\nRegenerate it (and commit it) with:\n  \
             CREDITD_UPDATE_OPENAPI=1 cargo test -p creditd-server openapi",
            path.display()
        );
    }
}

/// `v` with every object's keys in order, whatever serde_json's map keeps.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&m[k]))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}
