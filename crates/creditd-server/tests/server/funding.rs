//! Shared budgets over HTTP: who may set a child's funding, a funded
//! child's usage and summary, the parent's summary, history and usage by
//! org, and both Plan tabs.

use creditd_store::{Clock, Store};
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::common::{KEY, Server};

struct App(Server);

crate::app_derefs_to_server!(App, 0);

impl App {
    async fn call(&self, method: &str, path: &str, body: Option<Value>, key: &str) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let sep = if path.is_empty() { "" } else { "/" };
        let url = format!("{}/api/organizations{sep}{path}", self.base);
        let mut req = self.client.request(method, url).bearer_auth(key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if body.is_null() { None } else { Some(body) };
        let (s, v) = self.call(method, path, body, KEY).await;
        assert!((200..300).contains(&s), "{method} {path}: {s} {v}");
        v
    }

    async fn member_key(&self, org: &str, email: &str, role: &str) -> String {
        self.ok("POST", &format!("{org}/members"), json!({"email": email, "name": email, "role": role})).await;
        let r = self
            .client
            .post(format!("{}/api/keys", self.base))
            .bearer_auth(KEY)
            .json(&json!({"kind": "member", "org_id": org, "email": email}))
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        v["secret"].as_str().unwrap().to_string()
    }

    async fn plan_tab(&self, org: &str, email: &str) -> String {
        let token = creditd_server::auth::issue_login_link(
            self.store.directory(),
            org,
            email,
            self.clock.now(),
            SignedDuration::from_mins(15),
        )
        .await
        .unwrap();
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let r = client.get(format!("{}/login/{token}", self.base)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 303);
        let cookie = r.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
        let r = self.client.get(format!("{}/", self.base)).header("cookie", cookie).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        r.text().await.unwrap()
    }
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_child_draws_on_its_parent_over_http() {
    let app = App(Server::start().await);
    app.ok("POST", "", json!({"id": "holding", "name": "Holding Ltd"})).await;
    app.ok("POST", "", json!({"id": "team", "name": "Team A"})).await;
    app.ok("PATCH", "team", json!({"parent_id": "holding"})).await;
    app.ok("POST", "holding/credits", json!({"kind": "grant", "amount": 100})).await;
    app.ok("POST", "team/credits", json!({"kind": "grant", "amount": 2})).await;
    let hana = app.member_key("holding", "hana@holding.example", "owner").await;
    let tom = app.member_key("team", "tom@team.example", "owner").await;

    // The child's own owner may not make its parent pay; the parent's may.
    let funding = json!({"funding": "parent", "funding_budget": 10});
    let (s, v) = app.call("PATCH", "team", Some(funding.clone()), &tom).await;
    assert_eq!((s, code(&v)), (403, "forbidden"), "{v}");
    let (s, v) = app.call("PATCH", "team", Some(funding.clone()), &hana).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!((v["funding"].clone(), v["funding_budget"].clone()), (json!("parent"), json!(10)));
    // With other settings, the parent's owner lacks ManageOrg.
    let (s, v) = app.call("PATCH", "team", Some(json!({"funding": "parent", "name": "X"})), &hana).await;
    assert_eq!((s, code(&v)), (403, "forbidden"), "{v}");
    // A root has no parent to draw on: 422, nothing written.
    let (s, v) = app.call("PATCH", "holding", Some(json!({"funding": "parent"})), KEY).await;
    assert_eq!((s, code(&v)), (422, "validation_error"), "{v}");
    let (s, v) = app.call("GET", "holding", None, KEY).await;
    assert_eq!((s, v.get("funding")), (200, None), "{v}");
    let (s, v) = app.call("PATCH", "team", Some(json!({"funding": "sometimes"})), KEY).await;
    assert_eq!(s, 422, "{v}");

    // 5 used: its own 2, then 3 drawn.
    let v = app.ok("POST", "team/usage", json!({"amount": 5, "service": "chat"})).await;
    let kinds: Vec<&str> = v["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["transfer_in", "usage"]);
    app.ok("POST", "holding/usage", json!({"amount": 1})).await;
    // A check answers what the usage would: within the budget, allowed.
    let v = app.ok("POST", "team/check", json!({"amount": 7})).await;
    assert_eq!((v["allowed"].clone(), v["available"].clone()), (json!(true), json!(0)), "{v}");
    let v = app.ok("POST", "team/check", json!({"amount": 8})).await;
    assert_eq!((v["allowed"].clone(), v["reason"].clone()), (json!(false), json!("cap_exceeded")), "{v}");
    let (s, v) = app.call("POST", "team/usage", Some(json!({"amount": 8})), KEY).await;
    assert_eq!((s, code(&v)), (409, "cap_exceeded"), "{v}");

    let summary = app.ok("GET", "team/summary", Value::Null).await;
    assert_eq!(
        summary["funded_by"],
        json!({"parent_id": "holding", "parent_name": "Holding Ltd", "budget": 10, "drawn_this_period": 3, "budget_left": 7})
    );
    let summary = app.ok("GET", "holding/summary", Value::Null).await;
    assert_eq!(
        summary["funded_children"],
        json!([{"org_id": "team", "name": "Team A", "budget": 10, "drawn_this_period": 3, "used_this_period": 5}])
    );
    assert_eq!(summary["balance"], json!(96));

    // The parent's history shows the draw, with its balance after it.
    let page = app.ok("GET", "holding/credit-events?event_type=transfer_out", Value::Null).await;
    let draw = &page["events"][0];
    assert_eq!(
        (draw["code"].clone(), draw["amount"].clone(), draw["source"].clone()),
        (json!("team"), json!(-3), json!("funding"))
    );
    assert_eq!(draw["balance_after"], json!(97));

    // Usage by org: the parent itself and each child, with names.
    let r = app.ok("GET", "holding/usage?range=this_month&group_by=org", Value::Null).await;
    assert_eq!(r["group_by"], json!("org"));
    let rows: Vec<(String, String, Value)> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["key"].as_str().unwrap().into(), x["name"].as_str().unwrap().into(), x["credits"].clone()))
        .collect();
    assert_eq!(rows, [("team".into(), "Team A".into(), json!(5)), ("holding".into(), "Holding Ltd".into(), json!(1))]);
    assert_eq!(r["total_credits"], json!(6));
    let (s, v) = app.call("GET", "holding/usage?group_by=orgs", None, KEY).await;
    assert_eq!(s, 422, "{v}");

    for org in ["holding", "team"] {
        let v = app.ok("GET", &format!("{org}/verify"), Value::Null).await;
        assert_eq!(v["ok"], json!(true), "{org}: {v}");
    }

    // Both Plan tabs.
    let child = app.plan_tab("team", "tom@team.example").await;
    assert!(child.contains("Funded by Holding Ltd: 3 of its 10 credits budget drawn this period, 7 left."), "{child}");
    let parent = app.plan_tab("holding", "hana@holding.example").await;
    assert!(parent.contains(r#"data-testid="funded-children""#) && parent.contains("Team A"), "{parent}");
    assert!(!parent.contains(r#"data-testid="funded-by""#));
}
