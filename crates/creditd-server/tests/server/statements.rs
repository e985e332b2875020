//! The balance as of a time and statements over HTTP: the answers, their
//! bad inputs (a clear 422, nothing written), and the CSV and Excel
//! statements read back by independent readers (the csv crate, calamine).

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use creditd_core::OrgSettings;
use creditd_store::{Clock, Store};
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::common::{KEY, Server};

const ORG: &str = "/api/organizations/acme";

struct App(Server);

crate::app_derefs_to_server!(App, 0);

impl App {
    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Vec<u8>, String) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, format!("{}{}", self.base, path)).bearer_auth(KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        (status, resp.bytes().await.unwrap().to_vec(), ctype)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let (s, body, _) = self.send("GET", path, None).await;
        (s, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let (s, b, _) = self.send("POST", &format!("{ORG}{path}"), Some(body)).await;
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert!((200..300).contains(&s), "{path}: {s} {v}");
        v
    }
}

impl App {
    /// Signs in with a login link and returns the session cookie.
    async fn sign_in(&self, email: &str) -> String {
        let token = creditd_server::auth::issue_login_link(
            self.store.directory(),
            "acme",
            email,
            self.clock.now(),
            SignedDuration::from_mins(15),
        )
        .await
        .unwrap();
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let r = client.get(format!("{}/login/{token}", self.base)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 303);
        r.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string()
    }

    /// A dashboard page with a session cookie.
    async fn page(&self, path: &str, cookie: &str) -> (u16, String) {
        let r = self.client.get(format!("{}{path}", self.base)).header("cookie", cookie).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn balance_as_of_and_statements_over_http() {
    let app = App(Server::start().await);
    app.store.create_org("acme", OrgSettings::new("Acme", "Europe/Madrid")).await.unwrap();
    // 2026-03-10: 100 granted, a hold of 10 open overnight, 5 used.
    app.post("/credits", json!({"kind": "grant", "amount": 100})).await;
    let hold = app.post("/holds", json!({"amount": 10, "timeout_seconds": 86_400})).await;
    let hold_id = hold["hold"]["id"].as_str().unwrap().to_string();
    app.post("/usage", json!({"amount": 5})).await;
    let evening = app.clock.now().checked_add(SignedDuration::from_hours(6)).unwrap();
    // 2026-03-11: the hold is debited (4) and the rest released; 20 bought.
    app.clock.advance(SignedDuration::from_hours(23));
    app.post(&format!("/holds/{hold_id}/debit"), json!({"amount": 4})).await;
    app.post("/credits", json!({"kind": "grant", "amount": 20})).await;

    // As of the evening before: the hold was open.
    let (s, v) = app.get(&format!("{ORG}/balance/as-of?as_of={evening}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!((v["available"].clone(), v["held"].clone()), (json!(85), json!(10)), "{v}");
    assert_eq!(v["open_hold_count"], json!(1));
    assert_eq!(v["open_holds"][0]["id"], json!(hold_id));
    assert_eq!(v["period_usage"], json!(5));
    // `GET …/balance?as_of=T`, as the issue and a reader would write it: a
    // 307 to the as-of route with the same query, so a client that follows
    // redirects (reqwest here, curl -L) gets the same answer.
    let (s, same) = app.get(&format!("{ORG}/balance?as_of={evening}")).await;
    assert_eq!((s, &same), (200, &v));
    let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = raw.get(format!("{}{ORG}/balance?as_of=2026-03-10", app.base)).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 307);
    assert_eq!(r.headers()["location"], "/api/organizations/acme/balance/as-of?as_of=2026-03-10");
    // getBalance reads nothing else: an unknown parameter is refused, not ignored.
    for q in ["as_of=2026-03-10&x=1", "at=2026-03-10"] {
        let (s, e) = app.get(&format!("{ORG}/balance?{q}")).await;
        assert_eq!((s, code(&e)), (422, "validation_error"), "{q}: {e}");
    }
    // A plain date: the end of that day in Madrid, the same answer.
    let (s, d) = app.get(&format!("{ORG}/balance/as-of?as_of=2026-03-10")).await;
    assert_eq!((s, d["seq"].clone(), d["held"].clone()), (200, v["seq"].clone(), json!(10)), "{d}");
    // Now: nothing held.
    let now = app.clock.now();
    let (_, v) = app.get(&format!("{ORG}/balance/as-of?as_of={now}")).await;
    assert_eq!((v["available"].clone(), v["held"].clone(), v["open_holds"].clone()), (json!(111), json!(0), json!([])));
    // Before the org: zeros, said so.
    let (s, v) = app.get(&format!("{ORG}/balance/as-of?as_of=2020-01-01T00:00:00Z")).await;
    assert_eq!((s, v["before_org_created"].clone(), v["available"].clone()), (200, json!(true), json!(0)), "{v}");
    // Bad input: the future, no as_of, not a time, an unknown parameter.
    let future = now.checked_add(SignedDuration::from_secs(1)).unwrap();
    for q in [format!("as_of={future}"), String::new(), "as_of=yesterday".into(), "as_of=2026-03-10&x=1".into()] {
        let (s, v) = app.get(&format!("{ORG}/balance/as-of?{q}")).await;
        assert_eq!((s, code(&v)), (422, "validation_error"), "{q}: {v}");
    }
    let (s, v) = app.get("/api/organizations/ghost/balance/as-of?as_of=2026-03-10").await;
    assert_eq!((s, code(&v)), (404, "not_found"), "{v}");

    // The statement of both days: 0 + 120 in − 9 out = 111.
    let q = "date_from=2026-03-10&date_to=2026-03-11";
    let (s, st) = app.get(&format!("{ORG}/statement?{q}")).await;
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["opening"]["balance"], json!(0));
    assert_eq!(st["total_in"], json!(120));
    assert_eq!(st["total_out"], json!(9));
    assert_eq!(st["closing"], json!({"balance": 111, "available": 111, "held": 0, "seq": st["closing"]["seq"]}));
    assert_eq!(
        st["credits_out"][0],
        json!({"kind": "usage_and_debits", "title": "Usage and debits", "amount": 9, "count": 2})
    );
    // The first day alone closes with the hold still held, shown apart.
    let (_, day1) = app.get(&format!("{ORG}/statement?date_from=2026-03-10&date_to=2026-03-10")).await;
    assert_eq!(day1["closing"], json!({"balance": 95, "available": 85, "held": 10, "seq": day1["closing"]["seq"]}));
    let (_, day2) = app.get(&format!("{ORG}/statement?date_from=2026-03-11&date_to=2026-03-11")).await;
    assert_eq!(day2["opening"], day1["closing"], "a day opens where the one before closed");
    // A range preset works; over 366 days, reversed, or not dates: 422.
    let (s, _) = app.get(&format!("{ORG}/statement?range=this_month")).await;
    assert_eq!(s, 200);
    for bad in [
        "date_from=2025-01-01&date_to=2026-01-02",
        "date_from=2026-03-11&date_to=2026-03-10",
        "date_from=2026-03-10T00:00:00Z&date_to=2026-03-11",
        "range=this_month&date_from=2026-03-01",
        "range=fortnight",
    ] {
        let (s, v) = app.get(&format!("{ORG}/statement?{bad}")).await;
        assert_eq!((s, code(&v)), (422, "validation_error"), "{bad}: {v}");
    }

    // CSV: the same figures, exact decimals.
    let (s, body, ctype) = app.send("GET", &format!("{ORG}/statement/export?format=csv&{q}"), None).await;
    assert_eq!(s, 200);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    let mut rows = csv::Reader::from_reader(body.as_slice());
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    let find = |section: &str, kind: &str| {
        rows.iter().find(|r| &r[0] == section && &r[1] == kind).map(|r| r[3].to_string()).unwrap_or_default()
    };
    assert_eq!(find("opening", "balance"), "0");
    assert_eq!(find("in", "grant"), "120");
    assert_eq!(find("out", "usage_and_debits"), "9");
    assert_eq!(find("closing", "balance"), "111");
    // XLSX: one sheet, the same rows.
    let (s, body, ctype) = app.send("GET", &format!("{ORG}/statement/export?format=xlsx&{q}"), None).await;
    assert_eq!(s, 200);
    assert!(ctype.contains("spreadsheetml"), "{ctype}");
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(body)).unwrap();
    let sheet = book.worksheet_range("Statement").unwrap();
    let closing = sheet
        .rows()
        .find(|r| r[0] == Data::String("closing".into()) && r[1] == Data::String("balance".into()))
        .map(|r| r[3].clone());
    assert_eq!(closing, Some(Data::Float(111.0)));
    let (s, body, _) = app.send("GET", &format!("{ORG}/statement/export?format=pdf&{q}"), None).await;
    assert_eq!(s, 422, "{}", String::from_utf8_lossy(&body));

    // The dashboard's printable page: the same figures for an owner, a
    // refusal for a member (who reads no history).
    app.post("/members", json!({"email": "olga@acme.example", "name": "Olga", "role": "owner"})).await;
    app.post("/members", json!({"email": "mia@acme.example", "name": "Mia", "role": "member"})).await;
    let owner = app.sign_in("olga@acme.example").await;
    let (s, html) = app.page(&format!("/statement?range=custom&{q}"), &owner).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains(r#"data-testid="opening" data-value="0""#), "{html}");
    assert!(html.contains(r#"data-testid="closing" data-value="111""#), "{html}");
    assert!(html.contains(r#"data-line="out:usage_and_debits""#) && html.contains("Download CSV"), "{html}");
    let (s, html) = app.page("/history", &owner).await;
    assert!(s == 200 && html.contains(r#"href="/statement""#), "the history links to the statement");
    // The top of a history page: the balance as of its newest event.
    assert!(html.contains("111 available, 0 held, open holds: 0"), "{html}");
    // Filtered to holds, the page's first event is the hold: the balance
    // right after it (90 available, 10 held), not after the usage written
    // in the same microsecond (issue 21, D3: by the event, not its time).
    let (_, html) = app.page("/history?event_type=hold", &owner).await;
    assert!(html.contains("90 available, 10 held, open holds: 1"), "{html}");
    let (s, _) = app.page("/statement?range=fortnight", &owner).await;
    assert_eq!(s, 422);
    let member = app.sign_in("mia@acme.example").await;
    let (s, _) = app.page("/statement", &member).await;
    assert_eq!(s, 403);

    // Reading the past wrote nothing.
    let (_, b) = app.get(&format!("{ORG}/balance")).await;
    assert_eq!(b["seq"], st["closing"]["seq"]);
    let mut app = app;
    app.0.stop().await;
}
