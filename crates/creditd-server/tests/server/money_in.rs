//! The plan catalogue, Buy more and Change plan over HTTP: the API a
//! backend calls, the dashboard's form posts (with a session and its CSRF
//! token), who may (owners and service keys; members get 403 and never see
//! the forms), bad input refused with nothing written, and the signed
//! checkout URL.

use creditd_store::Store;
use creditd_store::directory::Role;
use creditd_store::webhooks::WebhookType;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};

use crate::common::{KEY, Server, Start};

const ORG: &str = "acme";
const OWNER: &str = "olivia@acme.example";
const MEMBER: &str = "mia@acme.example";

struct App(Server);

crate::app_derefs_to_server!(App, 0);

/// An answer: status, `Location`, JSON body (null when not JSON), text.
struct Answer {
    status: u16,
    location: Option<String>,
    body: Value,
    text: String,
}

impl App {
    async fn start() -> App {
        let app = App(Server::with(Start { no_redirects: true, ..Start::default() }).await);
        let (s, v) =
            app.api("POST", "/api/organizations", json!({"id": ORG, "name": "Acme", "time_zone": "UTC"})).await;
        assert_eq!(s, 201, "{v}");
        for (email, role) in [(OWNER, Role::Owner), (MEMBER, Role::Member)] {
            app.add_member(ORG, email, email, role).await;
        }
        app
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Answer {
        let r = self.0.send_raw(method, path, body, headers).await;
        let status = r.status().as_u16();
        let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        let text = r.text().await.unwrap();
        Answer { status, location, body: serde_json::from_str(&text).unwrap_or(Value::Null), text }
    }

    /// With the service key.
    async fn api(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let auth = format!("Bearer {KEY}");
        let a = self.send(method, path, Some(body), &[("authorization", &auth)]).await;
        (a.status, a.body)
    }

    async fn get(&self, path: &str) -> Value {
        let auth = format!("Bearer {KEY}");
        let a = self.send("GET", path, None, &[("authorization", &auth)]).await;
        assert_eq!(a.status, 200, "{path}: {}", a.text);
        a.body
    }

    /// A session cookie and its CSRF token.
    async fn sign_in(&self, email: &str) -> (String, String) {
        self.0.sign_in(ORG, email).await
    }

    /// A dashboard form post as a browser sends it.
    async fn form(&self, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Answer {
        let r = self.0.post_form(path, cookie, fields).await;
        let status = r.status().as_u16();
        let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        let text = r.text().await.unwrap();
        Answer { status, location, body: Value::Null, text }
    }

    async fn outbox(&self, kind: WebhookType) -> Vec<Value> {
        let all = self.store.webhooks().messages(ORG, 1000).await.unwrap();
        all.into_iter().filter(|m| m.kind == kind).map(|m| serde_json::from_str(&m.body).unwrap()).collect()
    }

    async fn event_count(&self) -> usize {
        let v = self.get(&format!("/api/organizations/{ORG}/credit-events?limit=100")).await;
        v["events"].as_array().unwrap().len()
    }
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {v}"))
}

fn plan_body(name: &str, credits: u64) -> Value {
    json!({"name": name, "credits_per_period": credits, "identities_included": 3, "price": "49", "currency": "EUR",
        "price_text": format!("{name}: 49 € / month")})
}

fn hex_hmac(key: &str, message: &str) -> String {
    let mut mac = Hmac::<sha2_hmac::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The catalogue: written whole by an all-organisations service key,
/// listed, named by `PUT …/plan` (a copy: a later change of the entry does
/// not rewrite the org); bad entries and unknown plans refused, nothing
/// written.
#[tokio::test]
async fn the_plan_catalogue_and_plans_named_from_it() {
    let mut app = App::start().await;
    let (s, v) = app.api("PUT", "/api/plans/pro", plan_body("Pro", 10000)).await;
    assert_eq!((s, &v["id"], &v["plan"]["name"]), (201, &json!("pro"), &json!("Pro")), "{v}");
    let (s, v) = app.api("PUT", "/api/plans/basic", plan_body("Basic", 1000)).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = app.api("PUT", "/api/plans/basic", plan_body("Basic", 1500)).await;
    assert_eq!((s, &v["plan"]["credits_per_period"]), (200, &json!(1500)), "replaced: {v}");
    for (path, body, status) in [
        (
            "/api/plans/x",
            json!({"name": "", "credits_per_period": 1, "identities_included": 1, "price": 1, "currency": "EUR"}),
            422,
        ),
        (
            "/api/plans/x",
            json!({"name": "X", "credits_per_period": -1, "identities_included": 1, "price": 1, "currency": "EUR"}),
            422,
        ),
        (
            "/api/plans/x",
            json!({"name": "X", "credits_per_period": 1, "identities_included": 1, "price": 1, "currency": "EUR", "price_book": "nope"}),
            422,
        ),
        (
            "/api/plans/x",
            json!({"name": "X", "credits_per_period": 1, "identities_included": 1, "price": 1, "currency": "EUR", "colour": "red"}),
            422,
        ),
        (
            "/api/plans/x",
            json!({"name": "X", "credits_per_period": 1, "identities_included": 1, "price": 1, "currency": "EUR", "price_text": ""}),
            422,
        ),
        ("/api/plans/-x", plan_body("X", 1), 422),
    ] {
        let (s, v) = app.api("PUT", path, body.clone()).await;
        assert_eq!(s, status, "{body}: {v}");
    }
    let v = app.get("/api/plans").await;
    let ids: Vec<&str> = v["plans"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["basic", "pro"], "nothing written by the refusals");
    assert_eq!(v["plans"][1]["price_text"], "Pro: 49 € / month");

    // Owners and members may not write or read it through the API.
    let (cookie, csrf) = app.sign_in(OWNER).await;
    let a = app
        .send("PUT", "/api/plans/pro", Some(plan_body("Mine", 1)), &[("cookie", &cookie), ("x-csrf-token", &csrf)])
        .await;
    assert_eq!(a.status, 403, "{}", a.text);
    assert_eq!(app.send("GET", "/api/plans", None, &[("cookie", &cookie)]).await.status, 403);

    // `PUT …/plan` names a catalogue plan, alone.
    let plan_path = format!("/api/organizations/{ORG}/plan");
    let (s, v) = app.api("PUT", &plan_path, json!({"plan_id": "pro"})).await;
    assert_eq!((s, &v["plan"]["name"], &v["plan"]["credits_per_period"]), (200, &json!("Pro"), &json!(10000)), "{v}");
    let events = app.event_count().await;
    for body in
        [json!({"plan_id": "nope"}), json!({"plan_id": "pro", "name": "Pro"}), json!({"name": "Pro"}), json!({})]
    {
        let (s, v) = app.api("PUT", &plan_path, body.clone()).await;
        assert_eq!((s, code(&v)), (422, "validation_error"), "{body}: {v}");
    }
    assert_eq!(app.event_count().await, events);
    // A change of the entry does not rewrite the org's plan.
    let (s, _) = app.api("PUT", "/api/plans/pro", plan_body("Pro", 20000)).await;
    assert_eq!(s, 200);
    let v = app.get(&plan_path).await;
    assert_eq!(v["plan"]["credits_per_period"], json!(10000), "{v}");
    // Kept across a restart.
    app.stop().await;
    let (dir, path, _) = app.0.into_data();
    let mut app = App(Server::with(Start { data_dir: Some(&path), ..Start::default() }).await);
    let v = app.get("/api/plans").await;
    assert_eq!(v["plans"][1]["plan"]["credits_per_period"], json!(20000));
    app.stop().await;
    drop(dir);
}

/// Buy more: the settings checked (https template, positive distinct
/// amounts), a purchase of an offered amount made `processing` with its
/// `top_up.requested` webhook, any other amount refused with nothing
/// written; with a template, the answer's (and the form's redirect) URL
/// carries the purchase id and its HMAC signature; members get 403.
#[tokio::test]
async fn buy_more_over_the_api_and_the_dashboard() {
    let mut app = App::start().await;
    let org_path = format!("/api/organizations/{ORG}");
    let request = format!("{org_path}/purchases/request");
    // Not offered yet.
    let (s, v) = app.api("POST", &request, json!({"amount": 100})).await;
    assert_eq!((s, code(&v)), (422, "validation_error"), "{v}");
    for bad in [
        json!({"checkout_url_template": "http://pay.example.com/{purchase_id}?s={signature}"}),
        json!({"checkout_url_template": "https://pay.example.com/{purchase_id}"}),
        json!({"checkout_url_template": "https://pay.example.com/{purchase_id}?s={signature}&x={secret}"}),
        json!({"buy_more_amounts": [0]}),
        json!({"buy_more_amounts": [10, 10]}),
        json!({"buy_more_amounts": ["1.0000001"]}),
    ] {
        let (s, v) = app.api("PATCH", &org_path, bad.clone()).await;
        assert_eq!(s, 422, "{bad}: {v}");
    }
    let v = app.get(&org_path).await;
    assert!(v.get("checkout_url_template").is_none() && v.get("buy_more_amounts").is_none(), "{v}");
    let (s, v) = app.api("PATCH", &org_path, json!({"buy_more_amounts": [100, "500.5"]})).await;
    assert_eq!(s, 200, "{v}");

    let (s, v) = app.api("POST", &request, json!({"amount": 250})).await;
    assert_eq!((s, code(&v)), (422, "validation_error"), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("100, 500.5"), "{v}");
    assert_eq!(app.event_count().await, 0, "nothing written");
    assert!(app.outbox(WebhookType::TopUpRequested).await.is_empty());

    let (s, v) = app.api("POST", &request, json!({"amount": 100, "requested_by": "billing-bot"})).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!((&v["purchase"]["status"], &v["events"][0]["kind"]), (&json!("processing"), &json!("purchase")), "{v}");
    assert_eq!((&v["balance"]["available"], &v["checkout_url"]), (&json!(0), &Value::Null), "{v}");
    let first = v["purchase"]["id"].as_str().unwrap().to_string();
    let sent = app.outbox(WebhookType::TopUpRequested).await;
    assert_eq!(sent.len(), 1);
    assert_eq!((&sent[0]["type"], &sent[0]["data"]["purchase_id"]), (&json!("top_up.requested"), &json!(first)));
    assert_eq!(sent[0]["data"]["requested_by"], "billing-bot");

    // With a checkout template: the URL is filled in and signed.
    let template = "https://pay.example.com/checkout/{purchase_id}?amount={amount}&org={org_id}&sig={signature}";
    let (s, v) = app.api("PATCH", &org_path, json!({"checkout_url_template": template})).await;
    assert_eq!((s, &v["checkout_url_template"]), (200, &json!(template)), "{v}");
    let (s, v) = app.api("POST", &request, json!({"amount": "500.5"})).await;
    assert_eq!(s, 201, "{v}");
    let id = v["purchase"]["id"].as_str().unwrap();
    let sig = hex_hmac(KEY, &format!("{ORG}.{id}.500.5"));
    assert_eq!(
        v["checkout_url"],
        json!(format!("https://pay.example.com/checkout/{id}?amount=500.5&org={ORG}&sig={sig}")),
        "{v}"
    );

    // The dashboard: the owner's form redirects to the checkout page; a
    // member is refused (and sees no form); the CSRF token is needed.
    let (owner, owner_csrf) = app.sign_in(OWNER).await;
    let home = app.send("GET", "/", None, &[("cookie", &owner)]).await;
    assert!(home.text.contains("action=\"/plan/buy-more\""), "{}", home.text);
    assert!(home.text.contains("value=\"500.5\""));
    let a = app.form("/plan/buy-more", &owner, &[("csrf_token", &owner_csrf), ("amount", "100")]).await;
    assert_eq!(a.status, 303, "{}", a.text);
    let to = a.location.unwrap();
    assert!(to.starts_with("https://pay.example.com/checkout/pur_") && to.contains("&sig="), "{to}");
    let by_owner = app.outbox(WebhookType::TopUpRequested).await;
    assert_eq!(by_owner.len(), 3);
    assert_eq!(by_owner[2]["data"]["requested_by"], OWNER);
    let events = app.event_count().await;
    for (fields, status) in [
        (vec![("csrf_token", owner_csrf.as_str()), ("amount", "99")], 422),
        (vec![("csrf_token", owner_csrf.as_str()), ("amount", "lots")], 422),
        (vec![("csrf_token", "wrong"), ("amount", "100")], 403),
        (vec![("amount", "100")], 403),
    ] {
        let a = app.form("/plan/buy-more", &owner, &fields).await;
        assert_eq!(a.status, status, "{fields:?}: {}", a.text);
        assert!(a.text.contains("<html"), "a page for the browser: {}", a.text);
    }
    let (member, member_csrf) = app.sign_in(MEMBER).await;
    let home = app.send("GET", "/", None, &[("cookie", &member)]).await;
    assert_eq!(home.status, 200);
    assert!(!home.text.contains("/plan/buy-more") && !home.text.contains("Buy more"), "{}", home.text);
    let a = app.form("/plan/buy-more", &member, &[("csrf_token", &member_csrf), ("amount", "100")]).await;
    assert_eq!(a.status, 403, "{}", a.text);
    let a = app
        .send("POST", &request, Some(json!({"amount": 100})), &[("cookie", &member), ("x-csrf-token", &member_csrf)])
        .await;
    assert_eq!((a.status, code(&a.body)), (403, "forbidden"), "{}", a.text);
    assert_eq!(app.event_count().await, events, "nothing written by the refusals");
    // Without the template, the form comes back to the tab saying so.
    let (s, _) = app.api("PATCH", &org_path, json!({"checkout_url_template": ""})).await;
    assert_eq!(s, 200);
    let a = app.form("/plan/buy-more", &owner, &[("csrf_token", &owner_csrf), ("amount", "100")]).await;
    let to = a.location.unwrap();
    assert!(to.starts_with("/?bought=pur_"), "{to}");
    let back = app.send("GET", &to, None, &[("cookie", &owner)]).await;
    assert!(back.text.contains("requested. It stays processing"), "{}", back.text);
    // Settled by the backend: the credits arrive.
    let id = to.trim_start_matches("/?bought=");
    let (s, v) = app.api("POST", &format!("{org_path}/purchases/{id}/settle"), json!({"status": "succeeded"})).await;
    assert_eq!((s, &v["balance"]["available"]), (200, &json!(100)), "{v}");
    app.stop().await;
}

/// Change plan: an unknown plan refused; without self-service a
/// `plan_change.requested` webhook and no change; with it, applied (from
/// the next renewal); members refused; the dashboard's form does the same.
#[tokio::test]
async fn change_plan_requests_or_applies() {
    let mut app = App::start().await;
    let org_path = format!("/api/organizations/{ORG}");
    for (id, name) in [("basic", "Basic"), ("pro", "Pro")] {
        let (s, _) = app.api("PUT", &format!("/api/plans/{id}"), plan_body(name, 1000)).await;
        assert_eq!(s, 201);
    }
    let (s, _) = app.api("PUT", &format!("{org_path}/plan"), json!({"plan_id": "basic"})).await;
    assert_eq!(s, 200);
    let change = format!("{org_path}/plan/change");
    let (s, v) = app.api("POST", &change, json!({"plan_id": "nope"})).await;
    assert_eq!((s, code(&v)), (422, "validation_error"), "{v}");
    let (s, v) = app.api("POST", &change, json!({"plan": "pro"})).await;
    assert_eq!(s, 422, "{v}");
    assert!(app.outbox(WebhookType::PlanChangeRequested).await.is_empty());

    let (s, v) = app.api("POST", &change, json!({"plan_id": "pro"})).await;
    assert_eq!((s, &v["applied"], &v["plan"]["plan"]["name"]), (200, &json!(false), &json!("Basic")), "{v}");
    let sent = app.outbox(WebhookType::PlanChangeRequested).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["id"], v["message_id"]);
    let d = &sent[0]["data"];
    assert_eq!(
        (&d["plan_id"], &d["current_plan"], &d["effective"]),
        (&json!("pro"), &json!("Basic"), &json!("next_period"))
    );
    assert_eq!(d["plan"]["name"], "Pro");

    let (member, member_csrf) = app.sign_in(MEMBER).await;
    let a = app
        .send("POST", &change, Some(json!({"plan_id": "pro"})), &[("cookie", &member), ("x-csrf-token", &member_csrf)])
        .await;
    assert_eq!(a.status, 403, "{}", a.text);
    let a = app.form("/plan/change", &member, &[("csrf_token", &member_csrf), ("plan_id", "pro")]).await;
    assert_eq!(a.status, 403, "{}", a.text);
    assert_eq!(app.outbox(WebhookType::PlanChangeRequested).await.len(), 1, "nothing sent for a member");

    let (owner, owner_csrf) = app.sign_in(OWNER).await;
    let home = app.send("GET", "/", None, &[("cookie", &owner)]).await;
    assert!(home.text.contains("Request Pro"), "{}", home.text);
    let a = app.form("/plan/change", &owner, &[("csrf_token", &owner_csrf), ("plan_id", "pro")]).await;
    assert_eq!((a.status, a.location.as_deref()), (303, Some("/?plan_change=requested&plan=pro")), "{}", a.text);
    let sent = app.outbox(WebhookType::PlanChangeRequested).await;
    let by: Vec<&Value> = sent.iter().map(|m| &m["data"]["requested_by"]).collect();
    assert!(by.len() == 2 && by.contains(&&json!(OWNER)) && by.contains(&&Value::Null), "{sent:?}");

    let (s, _) = app.api("PATCH", &org_path, json!({"self_service_plan_change": true})).await;
    assert_eq!(s, 200);
    let (s, v) = app.api("POST", &change, json!({"plan_id": "pro", "effective": "now"})).await;
    assert_eq!((s, &v["applied"], &v["plan"]["plan"]["name"]), (200, &json!(true), &json!("Pro")), "{v}");
    let a = app.form("/plan/change", &owner, &[("csrf_token", &owner_csrf), ("plan_id", "basic")]).await;
    assert_eq!(a.location.as_deref(), Some("/?plan_change=applied&plan=basic"), "{}", a.text);
    let v = app.get(&format!("{org_path}/plan")).await;
    assert_eq!((&v["plan"]["name"], &v["next_plan"]["name"]), (&json!("Pro"), &json!("Basic")), "{v}");
    assert_eq!(app.outbox(WebhookType::PlanChangeRequested).await.len(), 2, "applied: no webhook");
    app.stop().await;
}
