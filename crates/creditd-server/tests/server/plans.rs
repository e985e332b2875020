//! Plans, the summary, conversations and renewals over HTTP: the real app on
//! a loopback port over a fresh SQLite store per test, time driven by a
//! manual clock (no sleeps).

use creditd_store::Store;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::common::{KEY, Server, Start};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

struct App(Server);

crate::app_derefs_to_server!(App, 0);

impl App {
    async fn start(at: &str) -> App {
        App(Server::with(Start { at, ..Start::default() }).await)
    }

    async fn start_in(path: &std::path::Path, at: &str) -> App {
        App(Server::with(Start { at, data_dir: Some(path), ..Start::default() }).await)
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

    async fn get(&self, path: &str) -> Value {
        let (s, v) = self.call("GET", path, None).await;
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("PUT", path, Some(body)).await
    }

    /// A new organisation in `zone`, through the Rust client.
    async fn org(&self, id: &str, zone: &str) {
        let new = creditd_client::NewOrganization {
            id: Some(id.into()),
            name: "Acme".into(),
            time_zone: Some(zone.into()),
            ..Default::default()
        };
        let org = self.api.create_organization(&new).await.unwrap();
        assert_eq!(org.time_zone, zone);
    }

    async fn subscribe(&self, org: &str, plan: Value) -> Value {
        let (s, v) = self.put(&format!("/api/organizations/{org}/plan"), plan).await;
        assert_eq!(s, 200, "{v}");
        v
    }

    /// Every event, oldest first.
    async fn events(&self, org: &str) -> Vec<Value> {
        let v = self.get(&format!("/api/organizations/{org}/credit-events?limit=100")).await;
        let mut events = v["events"].as_array().unwrap().clone();
        events.reverse();
        events
    }

    async fn verify(&self, org: &str) {
        let v = self.get(&format!("/api/organizations/{org}/verify")).await;
        assert_eq!(v["ok"], json!(true), "{v}");
    }
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {v}"))
}

fn growth(credits: u64, rollover: Value) -> Value {
    json!({
        "name": "Growth",
        "credits_per_period": credits,
        "identities_included": 5,
        "price": 449,
        "currency": "EUR",
        "rollover": rollover,
    })
}

/// `kind amount @created_at` of each event.
fn shown(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| format!("{} {} @{}", e["kind"].as_str().unwrap(), e["amount"], e["created_at"].as_str().unwrap()))
        .collect()
}

#[tokio::test]
async fn the_summary_matches_the_seed_plan_tab_field_for_field() {
    // Seed 002's Plan tab: Plan, Identities 5, Plan Credits 10.000, Add-on
    // Credits 0, Price 449€ / month, Top-up Date In 1 Day, Balance 14.931 +
    // 4931 accumulated; seed 004's header: Credits Left, days to renewal.
    let app = App::start("2026-02-10T12:00:00Z").await;
    app.org("acme", "Europe/Madrid").await;
    let v = app.get("/api/organizations/acme/summary").await;
    assert_eq!((&v["plan"], &v["price"], &v["top_up_date"]), (&json!(null), &json!(null), &json!(null)), "{v}");

    let v = app.subscribe("acme", growth(10000, json!({"policy": "all"}))).await;
    assert_eq!(v["plan"]["name"], "Growth");
    assert_eq!(v["renews_at"], "2026-02-28T23:00:00Z");
    assert_eq!(v["events"][0]["kind"], "subscription_credit");
    let (s, v) = app.post("/api/organizations/acme/usage", json!({"amount": 5069, "service": "Enrichment"})).await;
    assert_eq!(s, 201, "{v}");
    // 1 March 00:00 in Madrid: the renewal carries 4931 over.
    app.clock.set(ts("2026-02-28T23:00:00Z"));
    app.store.tick().await.unwrap();
    app.clock.set(ts("2026-03-31T08:00:00Z"));

    let s = app.get("/api/organizations/acme/summary").await;
    assert_eq!(s["plan"], "Growth");
    assert_eq!(s["identities"], 5);
    assert_eq!(s["plan_credits"], 10000);
    assert_eq!(s["plan_credits_left"], 10000);
    assert_eq!(s["add_on_credits"], 0);
    assert_eq!(s["accumulated_credits"], 4931);
    assert_eq!(s["balance"], 14931);
    assert_eq!(s["credits_left"], 14931);
    assert_eq!(s["held"], 0);
    assert_eq!(s["used_this_period"], 0);
    assert_eq!(s["price"], json!({"amount": 449, "currency": "EUR", "per": "month"}));
    assert_eq!(s["top_up_date"], "2026-04-01");
    assert_eq!(s["renews_at"], "2026-03-31T22:00:00Z");
    assert_eq!(s["days_until_top_up"], 1);
    assert_eq!(s["conversations_per_identity"], 500);
    assert_eq!(s["forecast"]["message"], "At the last 28 days' pace credits do not run out");

    // Add-on credits (a purchase) and a hold show up where the tab puts them.
    let (st, v) = app.post("/api/organizations/acme/credits", json!({"kind": "purchase", "amount": "100.5"})).await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = app.post("/api/organizations/acme/holds", json!({"amount": 31})).await;
    assert_eq!(st, 201, "{v}");
    let s = app.get("/api/organizations/acme/summary").await;
    assert_eq!((&s["add_on_credits"], &s["held"], &s["balance"]), (&json!(100.5), &json!(31), &json!(15000.5)));
    // The hold drew the oldest plan credits (the accumulated ones).
    assert_eq!((&s["accumulated_credits"], &s["plan_credits_left"]), (&json!(4900), &json!(10000)));
    app.verify("acme").await;
}

#[tokio::test]
async fn a_restart_after_months_of_downtime_catches_up_each_renewal_once() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut app = App::start_in(dir.path(), "2026-01-10T12:00:00Z").await;
        app.org("acme", "Europe/Madrid").await;
        app.subscribe("acme", growth(10, json!({"policy": "none"}))).await;
        app.stop().await;
    }
    // Down until 20 April. On start the timer (and our own tick) find the
    // org due: orgs.next_expiry holds the next renewal.
    let mut app = App::start_in(dir.path(), "2026-04-20T08:00:00Z").await;
    app.store.tick().await.unwrap();
    app.store.tick().await.unwrap();
    let want = [
        "subscription_credit 10 @2026-01-10T12:00:00Z",
        "expiry -10 @2026-01-31T23:00:00Z",
        "subscription_credit 10 @2026-01-31T23:00:00Z",
        "expiry -10 @2026-02-28T23:00:00Z",
        "subscription_credit 10 @2026-02-28T23:00:00Z",
        "expiry -10 @2026-03-31T22:00:00Z",
        "subscription_credit 10 @2026-03-31T22:00:00Z",
    ];
    assert_eq!(shown(&app.events("acme").await), want);
    app.verify("acme").await;
    app.stop().await;
    drop(app);
    // A second restart finds nothing more to do.
    let mut app = App::start_in(dir.path(), "2026-04-20T09:00:00Z").await;
    assert_eq!(app.store.tick().await.unwrap(), 0);
    assert_eq!(shown(&app.events("acme").await), want);
    let v = app.get("/api/organizations/acme/plan").await;
    assert_eq!((&v["period_start"], &v["renews_at"]), (&json!("2026-03-31T22:00:00Z"), &json!("2026-04-30T22:00:00Z")));
    app.stop().await;
}

#[tokio::test]
async fn the_summary_shows_a_due_renewal_before_the_timer_writes_it() {
    let app = App::start("2026-01-10T12:00:00Z").await;
    app.org("acme", "UTC").await;
    app.subscribe("acme", growth(10, json!({"policy": "none"}))).await;
    let (s, _) = app.post("/api/organizations/acme/usage", json!({"amount": 4})).await;
    assert_eq!(s, 201);
    app.clock.set(ts("2026-02-03T00:00:00Z"));
    let s = app.get("/api/organizations/acme/summary").await;
    assert_eq!((&s["balance"], &s["used_this_period"], &s["days_until_top_up"]), (&json!(10), &json!(0), &json!(26)));
}

#[tokio::test]
async fn plan_changes_and_bad_plans() {
    let app = App::start("2026-01-10T12:00:00Z").await;
    app.org("acme", "UTC").await;
    let v = app.get("/api/organizations/acme/plan").await;
    assert_eq!((&v["plan"], &v["renews_at"], &v["renewal_day"]), (&json!(null), &json!(null), &json!(1)));
    // Bad input: a clear 4xx and nothing changes.
    let bad = [
        (
            json!({"name": "G", "credits_per_period": 10, "identities_included": 5, "price": 1, "currency": "EUR", "colour": "red"}),
            422,
        ),
        (
            json!({"name": "G", "credits_per_period": 10, "identities_included": 5, "price": 1, "currency": "euros"}),
            422,
        ),
        (json!({"name": "G", "credits_per_period": 10, "identities_included": 5, "price": -1, "currency": "EUR"}), 422),
        (
            json!({"name": "G", "credits_per_period": "0.0000001", "identities_included": 5, "price": 1, "currency": "EUR"}),
            422,
        ),
        (
            json!({"name": "G", "credits_per_period": 10, "identities_included": 5, "price": 1, "currency": "EUR", "rollover": {"policy": "up_to"}}),
            422,
        ),
        (
            json!({"name": "G", "credits_per_period": 10, "identities_included": 5, "price": 1, "currency": "EUR", "renewal_day": 31}),
            422,
        ),
        (
            json!({"name": "G", "credits_per_period": 10, "identities_included": 5, "price": 1, "currency": "EUR", "effective": "tomorrow"}),
            422,
        ),
        (json!({"name": "", "credits_per_period": 10, "identities_included": 5, "price": 1, "currency": "EUR"}), 422),
    ];
    for (body, status) in bad {
        let (s, v) = app.put("/api/organizations/acme/plan", body.clone()).await;
        assert_eq!(s, status, "{body} → {v}");
        assert_eq!(code(&v), "validation_error", "{v}");
    }
    let (s, v) = app.put("/api/organizations/nope/plan", growth(10, json!({"policy": "none"}))).await;
    assert_eq!((s, code(&v)), (404, "not_found"));
    assert!(app.events("acme").await.is_empty());
    assert_eq!(app.get("/api/organizations/acme/plan").await["plan"], json!(null));

    // Subscribe with an anchor on the 15th, then a change from the next period.
    let mut body = growth(10, json!({"policy": "up_to", "max_credits": "2.5"}));
    body["renewal_day"] = json!(15);
    let v = app.subscribe("acme", body).await;
    assert_eq!(
        (&v["renewal_day"], &v["period_start"], &v["renews_at"]),
        (&json!(15), &json!("2025-12-15T00:00:00Z"), &json!("2026-01-15T00:00:00Z"))
    );
    assert_eq!(v["plan"]["rollover"], json!({"policy": "up_to", "max_credits": 2.5}));
    let mut pro = growth(30, json!({"policy": "none"}));
    pro["name"] = json!("Pro");
    let v = app.subscribe("acme", pro).await;
    assert_eq!((&v["plan"]["name"], &v["next_plan"]["name"]), (&json!("Growth"), &json!("Pro")));
    assert_eq!(v["events"], json!([]));
    app.clock.set(ts("2026-01-15T00:00:00Z"));
    app.store.tick().await.unwrap();
    let v = app.get("/api/organizations/acme/plan").await;
    assert_eq!((&v["plan"]["name"], &v["next_plan"]), (&json!("Pro"), &json!(null)));
    // 10 unused under Growth's up_to 2.5: 7.5 lapse, 2.5 carried; Pro's 30.
    let s = app.get("/api/organizations/acme/summary").await;
    assert_eq!(
        (&s["accumulated_credits"], &s["plan_credits_left"], &s["balance"]),
        (&json!(2.5), &json!(30), &json!(32.5))
    );
    // The anchor stays.
    let mut body = growth(10, json!({"policy": "none"}));
    body["renewal_day"] = json!(1);
    let (st, v) = app.put("/api/organizations/acme/plan", body).await;
    assert_eq!((st, code(&v)), (422, "validation_error"));
    app.verify("acme").await;
}

#[tokio::test]
async fn conversations_are_limited_per_identity_and_month_and_are_not_credit_events() {
    let app = App::start("2026-03-01T12:00:00Z").await;
    app.org("acme", "Europe/Madrid").await;
    let mut plan = growth(10, json!({"policy": "none"}));
    plan["identities_included"] = json!(2);
    app.subscribe("acme", plan).await;
    let url = "/api/organizations/acme/conversations";
    app.clock.set(ts("2026-03-10T09:00:00Z"));
    for i in 0..500 {
        let campaign = if i % 5 == 0 { "spring" } else { "launch" };
        let (s, v) = app.post(url, json!({"identity": "mikaela", "campaign": campaign})).await;
        assert_eq!(s, 201, "{v}");
        if i == 499 {
            assert_eq!(v["conversation"]["month_count"], 500);
            assert_eq!(v["remaining_this_month"], 0);
        }
    }
    let (s, v) = app.post(url, json!({"identity": "mikaela", "campaign": "spring"})).await;
    assert_eq!((s, code(&v)), (409, "conversation_limit_reached"), "{v}");
    let (s, v) = app.post(url, json!({"identity": "samara", "started_at": "2026-03-09T10:00:00Z"})).await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = app.post(url, json!({"identity": "third"})).await;
    assert_eq!((s, code(&v)), (409, "identity_limit_reached"), "{v}");
    for bad in [
        json!({"identity": ""}),
        json!({"identity": "x", "colour": 1}),
        json!({"campaign": "x"}),
        json!({"identity": "x", "started_at": "yesterday"}),
        json!({"identity": "x", "started_at": "2026-03-12T10:00:00Z"}),
    ] {
        let (s, v) = app.post(url, bad.clone()).await;
        assert_eq!((s, code(&v)), (422, "validation_error"), "{bad} → {v}");
    }
    // Not credit events: the history is only the subscription credit.
    assert_eq!(app.events("acme").await.len(), 1);

    // Breakdowns for this month (the default range).
    let v = app.get(&format!("{url}?group_by=identity")).await;
    assert_eq!(v["total"], 501);
    assert_eq!(v["rows"], json!([{"key": "mikaela", "conversations": 500}, {"key": "samara", "conversations": 1}]));
    let v = app.get(&format!("{url}?group_by=campaign")).await;
    assert_eq!(
        v["rows"],
        json!([{"key": "launch", "conversations": 400}, {"key": "spring", "conversations": 100}, {"key": null, "conversations": 1}])
    );
    let v = app.get(&format!("{url}?group_by=day")).await;
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 31, "every day of March");
    assert_eq!(
        (&rows[9], &rows[8], &rows[0]),
        (
            &json!({"key": "2026-03-10", "conversations": 500}),
            &json!({"key": "2026-03-09", "conversations": 1}),
            &json!({"key": "2026-03-01", "conversations": 0})
        )
    );
    // One day in Madrid (CET, +1): 9 March 00:00 to 10 March 00:00.
    let v = app.get(&format!("{url}?group_by=day&date_from=2026-03-08T23:00:00Z&date_to=2026-03-09T23:00:00Z")).await;
    assert_eq!(v["rows"], json!([{"key": "2026-03-09", "conversations": 1}]));
    assert_eq!(v["total"], 1);
    for bad in [
        "group_by=week",
        "date_from=yesterday",
        "date_from=2026-03-10T00:00:00Z&date_to=2026-03-01T00:00:00Z",
        "date_from=2025-01-01T00:00:00Z&date_to=2026-03-01T00:00:00Z",
        "groupby=day",
    ] {
        let (s, v) = app.call("GET", &format!("{url}?{bad}"), None).await;
        assert_eq!((s, code(&v)), (422, "validation_error"), "{bad} → {v}");
    }

    // 1 April 00:00 in Madrid: a new month, a new 500.
    app.clock.set(ts("2026-03-31T22:00:00Z"));
    let (s, v) = app.post(url, json!({"identity": "mikaela"})).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["conversation"]["month_count"], 1);
    assert_eq!(v["conversation"]["day"], "2026-04-01");
    let s = app.get("/api/organizations/acme/summary").await;
    assert_eq!(s["identities_used"], 1);
}

#[tokio::test]
async fn a_conversation_retry_with_its_idempotency_key_counts_once() {
    let app = App::start("2026-03-01T12:00:00Z").await;
    app.org("acme", "UTC").await;
    let send = || async {
        let resp = app
            .client
            .post(format!("{}/api/organizations/acme/conversations", app.base))
            .bearer_auth(KEY)
            .header("idempotency-key", "conv-1")
            .json(&json!({"identity": "mikaela", "campaign": "spring"}))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
    };
    let (s1, v1) = send().await;
    let (s2, v2) = send().await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(v1, v2);
    let v = app.get("/api/organizations/acme/conversations?group_by=identity").await;
    assert_eq!(v["total"], 1);
}

#[tokio::test]
async fn low_balance_is_recorded_as_a_notification_not_an_event() {
    let app = App::start("2026-03-01T12:00:00Z").await;
    app.org("acme", "UTC").await;
    let (s, _) = app.post("/api/organizations/acme/credits", json!({"kind": "grant", "amount": 100})).await;
    assert_eq!(s, 201);
    let url = "/api/organizations/acme/low-balance-threshold";
    for bad in [json!({"threshold": -1}), json!({"threshold": 1, "x": 2}), json!({"threshold": "lots"})] {
        let (s, v) = app.put(url, bad.clone()).await;
        assert_eq!((s, code(&v)), (422, "validation_error"), "{bad} → {v}");
    }
    let (s, v) = app.put(url, json!({"threshold": 50})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["low_balance"], json!({"threshold": 50, "below": false, "since": null}));
    for amount in [40, 15, 5] {
        let (s, _) = app.post("/api/organizations/acme/usage", json!({"amount": amount})).await;
        assert_eq!(s, 201);
    }
    let v = app.get("/api/organizations/acme/notifications").await;
    let list = v["notifications"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    assert_eq!(
        (&list[0]["kind"], &list[0]["threshold"], &list[0]["balance"], &list[0]["seq"]),
        (&json!("low_balance"), &json!(50), &json!(45), &json!(1))
    );
    assert_eq!(app.get("/api/organizations/acme/notifications?after=1").await["notifications"], json!([]));
    let s = app.get("/api/organizations/acme/summary").await;
    assert_eq!(
        (&s["low_balance"]["below"], &s["low_balance"]["since"]),
        (&json!(true), &json!("2026-03-01T12:00:00Z"))
    );
    // Only credit events in the history: grant and three usages.
    assert_eq!(app.events("acme").await.len(), 4);
    let (s, v) = app.call("GET", "/api/organizations/acme/notifications?limit=0", None).await;
    assert_eq!((s, code(&v)), (422, "validation_error"));
}
