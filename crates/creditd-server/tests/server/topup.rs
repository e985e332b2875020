//! Auto top-up and usage alerts over HTTP: the real app on a loopback port
//! over a fresh SQLite store, time driven by a manual clock. The rules are
//! tested in creditd-core and on both engines in creditd-conformance; here
//! the routes, their answers, the summary and the webhook outbox, and
//! that bad input is a 422 that writes nothing.

use creditd_store::Store;
use serde_json::{Value, json};

use crate::common::{KEY, Server, Start};

struct App(Server);

crate::app_derefs_to_server!(App, 0);

const ACME: &str = "/api/organizations/acme";

impl App {
    async fn start() -> App {
        let app = App(Server::with(Start { at: "2026-03-10T12:00:00Z", no_redirects: true, ..Start::default() }).await);
        let (s, v) = app.call("POST", "/api/organizations", Some(json!({"id": "acme", "name": "Acme"}))).await;
        assert_eq!(s, 201, "{v}");
        app
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{}", self.base, path);
        let mut req = match method {
            "GET" => self.client.get(&url),
            "POST" => self.client.post(&url),
            "PUT" => self.client.put(&url),
            _ => unreachable!(),
        };
        req = req.bearer_auth(KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        (status, v)
    }

    async fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if body.is_null() { None } else { Some(body) };
        let (s, v) = self.call(method, &format!("{ACME}{path}"), body).await;
        assert!((200..300).contains(&s), "{method} {path}: {s} {v}");
        v
    }

    async fn outbox(&self, kind: &str) -> Vec<Value> {
        let all = self.store.webhooks().messages("acme", 100).await.unwrap();
        all.iter().filter(|m| m.kind.as_str() == kind).map(|m| serde_json::from_str(&m.body).unwrap()).collect()
    }
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {v}"))
}

#[tokio::test]
async fn auto_top_up_is_requested_settled_and_shown() {
    let app = App::start().await;
    let off = app.ok("GET", "/auto-top-up", Value::Null).await;
    assert_eq!((off["status"].as_str(), &off["rule"], &off["pending"]), (Some("off"), &Value::Null, &Value::Null));
    app.ok("POST", "/credits", json!({"kind": "grant", "amount": 100})).await;
    let rule = json!({"threshold": 50, "target_balance": "200.5", "max_per_period": {"count": 2}});
    let v = app.ok("PUT", "/auto-top-up", rule).await;
    assert_eq!(v["status"], "active");
    assert_eq!(
        v["rule"],
        json!({"threshold": 50, "target_balance": 200.5, "max_per_period": {"count": 2}, "pool": "prepaid",
            "pause_after_failures": 3, "enabled": true})
    );
    // The usage that crosses answers its own event and the top-up's.
    let u = app.ok("POST", "/usage", json!({"amount": "60.25"})).await;
    let events = u["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{u}");
    assert_eq!((&events[1]["kind"], &events[1]["status"]), (&json!("purchase"), &json!("processing")));
    assert_eq!((&events[1]["amount"], &events[1]["source"]), (&json!(160.75), &json!("auto_top_up")));
    let id = events[1]["hold_id"].as_str().unwrap().to_string();
    let v = app.ok("GET", "/auto-top-up", Value::Null).await;
    assert_eq!((&v["pending"]["purchase_id"], &v["pending"]["amount"]), (&json!(id), &json!(160.75)));
    assert_eq!((&v["count_this_period"], &v["credits_this_period"]), (&json!(1), &json!(160.75)));
    let s = app.ok("GET", "/summary", Value::Null).await;
    assert_eq!(
        (&s["auto_top_up"]["status"], &s["auto_top_up"]["pending"]["purchase_id"]),
        (&json!("active"), &json!(id))
    );
    let hooks = app.outbox("top_up.requested").await;
    assert_eq!(hooks.len(), 1);
    assert_eq!((&hooks[0]["type"], &hooks[0]["data"]["purchase_id"]), (&json!("top_up.requested"), &json!(id)));
    // The backend settles it with the ordinary route.
    let done = app.ok("POST", &format!("/purchases/{id}/settle"), json!({"status": "succeeded"})).await;
    assert_eq!(done["balance"]["available"], json!(200.5));
    let v = app.ok("GET", "/auto-top-up", Value::Null).await;
    assert_eq!(v["pending"], Value::Null);
    // Three failures pause it; the summary says why; a PUT resumes.
    app.ok("POST", "/usage", json!({"amount": 151})).await;
    for round in 0..3 {
        let p = app.ok("GET", "/auto-top-up", Value::Null).await["pending"]["purchase_id"].clone();
        let p = p.as_str().unwrap_or_else(|| panic!("round {round}: nothing pending")).to_string();
        app.ok("POST", &format!("/purchases/{p}/settle"), json!({"status": "failed"})).await;
        app.ok("POST", "/usage", json!({"amount": 1})).await;
        let _ = round;
    }
    let s = app.ok("GET", "/summary", Value::Null).await;
    assert_eq!(s["auto_top_up"]["status"], "paused", "{s}");
    assert!(s["auto_top_up"]["paused"]["reason"].as_str().unwrap().contains("3 top-ups failed in a row"));
    assert_eq!(app.outbox("top_up.paused").await.len(), 1);
    let v = app.ok("GET", "/auto-top-up", Value::Null).await;
    assert_eq!((&v["status"], &v["consecutive_failures"], &v["pending"]), (&json!("paused"), &json!(3), &Value::Null));
    let v = app.ok("PUT", "/auto-top-up", json!({"threshold": 50, "amount": 10})).await;
    assert_eq!((&v["status"], &v["consecutive_failures"]), (&json!("active"), &json!(0)));
    assert_eq!(v["pending"]["amount"], json!(10), "below the threshold: requested by the PUT");
    let notes = app.ok("GET", "/notifications", Value::Null).await;
    let kinds: Vec<&str> =
        notes["notifications"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "top_up_paused").count(), 1, "{kinds:?}");
}

#[tokio::test]
async fn bad_rules_and_levels_are_422_and_write_nothing() {
    let app = App::start().await;
    app.ok("POST", "/credits", json!({"kind": "grant", "amount": 10})).await;
    let before = (app.ok("GET", "/auto-top-up", Value::Null).await, app.ok("GET", "/alerts", Value::Null).await);
    for bad in [
        json!({"threshold": 100, "target_balance": 100}),
        json!({"threshold": 100, "target_balance": 50}),
        json!({"threshold": 1, "amount": 0}),
        json!({"threshold": 1, "amount": -5}),
        json!({"threshold": 1, "amount": "1.0000001"}),
        json!({"threshold": "0.0000001", "amount": 1}),
        json!({"threshold": 1, "amount": 1, "max_per_period": {"count": 0}}),
        json!({"threshold": 1, "amount": 1, "max_per_period": {"credits": 0}}),
        json!({"threshold": 1, "amount": 1, "max_per_period": {}}),
        json!({"threshold": 1, "amount": 1, "target_balance": 5}),
        json!({"threshold": 1}),
        json!({"threshold": 1, "amount": 1, "pool": "promotional"}),
        json!({"threshold": 1, "amount": 1, "pause_after_failures": 0}),
        json!({"threshold": 1, "amount": 1, "colour": "red"}),
    ] {
        let (s, v) = app.call("PUT", &format!("{ACME}/auto-top-up"), Some(bad.clone())).await;
        assert_eq!((s, code(&v)), (422, "validation_error"), "{bad} -> {v}");
    }
    for bad in [
        json!({"levels": [{"percent_used": 0}]}),
        json!({"levels": [{"percent_used": 80.5}]}),
        json!({"levels": [{"available_below": -1}]}),
        json!({"levels": [{"available_below": "1.0000001"}]}),
        json!({"levels": [{"percent_used": 80}, {"percent_used": 80}]}),
        json!({"levels": [{"percent_used": 80, "available_below": 1}]}),
        json!({"levels": [{}]}),
        json!({"level": []}),
    ] {
        let (s, v) = app.call("PUT", &format!("{ACME}/alerts"), Some(bad.clone())).await;
        assert_eq!((s, code(&v)), (422, "validation_error"), "{bad} -> {v}");
    }
    let after = (app.ok("GET", "/auto-top-up", Value::Null).await, app.ok("GET", "/alerts", Value::Null).await);
    assert_eq!(before, after);
    assert_eq!(app.ok("GET", "/notifications", Value::Null).await["notifications"], json!([]));
}

#[tokio::test]
async fn an_80_percent_alert_fires_once_and_the_low_balance_route_keeps_working() {
    let app = App::start().await;
    let plan = json!({"name": "Growth", "credits_per_period": 100, "identities_included": 1, "price": 49,
        "currency": "EUR"});
    app.ok("PUT", "/plan", plan).await;
    let v = app.ok("PUT", "/alerts", json!({"levels": [{"percent_used": 80}]})).await;
    assert_eq!(
        v["levels"],
        json!([{"level": {"percent_used": 80}, "webhook": "usage_alert", "fired": false,
        "fired_at": null}])
    );
    let t = app.ok("PUT", "/low-balance-threshold", json!({"threshold": 25})).await;
    assert_eq!(t["low_balance"]["threshold"], json!(25));
    for _ in 0..5 {
        app.ok("POST", "/usage", json!({"amount": 17})).await;
    }
    let v = app.ok("GET", "/alerts", Value::Null).await;
    assert_eq!((&v["period_usage"], &v["allocation"], &v["available"]), (&json!(85), &json!(100), &json!(15)));
    let levels = v["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 2, "{v}");
    assert_eq!((&levels[0]["fired"], &levels[0]["fired_at"]), (&json!(true), &json!("2026-03-10T12:00:00Z")));
    assert_eq!(
        (&levels[1]["level"], &levels[1]["webhook"], &levels[1]["fired"]),
        (&json!({"available_below": 25}), &json!("low_balance"), &json!(true))
    );
    let alerts = app.outbox("usage_alert").await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (&alerts[0]["data"]["level"], &alerts[0]["data"]["threshold"], &alerts[0]["data"]["period_usage"]),
        (&json!({"percent_used": 80}), &json!(80), &json!(85))
    );
    assert_eq!(app.outbox("low_balance").await.len(), 1);
    let notes = app.ok("GET", "/notifications", Value::Null).await;
    let kinds: Vec<&str> =
        notes["notifications"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["low_balance", "usage_alert"], "the same usage crossed both");
    app.ok("PUT", "/alerts", json!({"levels": []})).await;
    assert_eq!(app.ok("GET", "/alerts", Value::Null).await["levels"].as_array().unwrap().len(), 1);
}

/// The Plan tab tells the owner that auto top-up is paused and why, and
/// which usage alerts fired this period.
#[tokio::test]
async fn the_plan_tab_shows_a_paused_top_up_and_fired_alerts() {
    use creditd_store::Clock;
    use creditd_store::directory::{Member, Role};
    let app = App::start().await;
    app.store
        .directory()
        .add_member(Member {
            org_id: "acme".into(),
            email: "olga@acme.example".into(),
            name: "Olga".into(),
            role: Role::Owner,
            created_at: app.clock.now(),
        })
        .await
        .unwrap();
    app.ok("POST", "/credits", json!({"kind": "grant", "amount": 10})).await;
    app.ok("PUT", "/auto-top-up", json!({"threshold": 50, "amount": 100, "pause_after_failures": 1})).await;
    let id = app.ok("GET", "/auto-top-up", Value::Null).await["pending"]["purchase_id"].as_str().unwrap().to_string();
    app.ok("POST", &format!("/purchases/{id}/settle"), json!({"status": "failed"})).await;
    app.ok("PUT", "/alerts", json!({"levels": [{"available_below": 20}]})).await;

    let token = creditd_server::auth::issue_login_link(
        app.store.directory(),
        "acme",
        "olga@acme.example",
        app.clock.now(),
        jiff::SignedDuration::from_mins(15),
    )
    .await
    .unwrap();
    let login = app.client.get(format!("{}/login/{token}", app.base)).send().await.unwrap();
    assert_eq!(login.status().as_u16(), 303);
    let cookie = login.headers().get("set-cookie").map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string());
    let cookie = cookie.expect("a session cookie");
    let page = app.client.get(format!("{}/", app.base)).header("cookie", cookie).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap().replace("&#x27;", "'").replace("&#39;", "'");
    let notices: Vec<&str> =
        html.split("data-testid=\"top-up-notice\">").skip(1).map(|p| p.split("</p>").next().unwrap()).collect();
    assert_eq!(notices.len(), 2, "{html}");
    assert!(notices[0].contains("Auto top-up is paused: 1 top-up failed (the last: "), "{}", notices[0]);
    assert!(notices[0].contains(&id), "{}", notices[0]);
    assert!(notices[1].contains("Usage alert: available below 20."), "{}", notices[1]);
}
