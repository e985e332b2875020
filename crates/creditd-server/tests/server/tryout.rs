//! Defects an outside tryout of the dashboard found (issue 21, D3–D9),
//! each with a test that failed before its fix:
//!
//! - the history's "Balance at …" line is the balance after the page's
//!   first event, also when several events share its time (D3);
//! - the Statement page and the Plan tab's Buy more and Change plan write
//!   every figure in the organisation's locale (D4, D5), and a page
//!   rendered in es-ES shows no en-US grouped number;
//! - without a plan, the Plan tab shows no period and no plan credits (D6);
//! - a bad range or an old page link answers the tab with its form and a
//!   message in the form's words (D7);
//! - a refusal says who may, with the right article, and whom to ask, as
//!   the permission table says; a page's expired form says so in words
//!   (D8);
//! - an amount with 7 decimals is refused naming its field (D9);
//! - the Plan tab's conversations line and `as_of` for today's date.

use creditd_core::OrgSettings;
use creditd_store::directory::Role;
use creditd_store::{Clock, Store};
use serde_json::{Value, json};

use crate::common::{KEY, Server, Start};
use crate::dashboard::unescape;

const ORG: &str = "demo";
const OWNER: &str = "olivia@demo.example";
const ADMIN: &str = "adam@demo.example";
const MEMBER: &str = "mia@demo.example";

struct App(Server);

crate::app_derefs_to_server!(App, 0);

impl App {
    /// A server with org `demo` (UTC, en-US, no plan) and an owner, an
    /// admin and a member.
    async fn start() -> App {
        let app = App(Server::with(Start { no_redirects: true, ..Start::default() }).await);
        app.store.create_org(ORG, OrgSettings::new("Demo", "UTC")).await.unwrap();
        for (email, role) in [(OWNER, Role::Owner), (ADMIN, Role::Admin), (MEMBER, Role::Member)] {
            app.add_member(ORG, email, email, role).await;
        }
        app
    }

    /// A request with `headers`: status and body text.
    async fn send(&self, method: &str, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> (u16, String) {
        let r = self.0.send_raw(method, path, body, headers).await;
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// With the service key, JSON in and out.
    async fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let auth = format!("Bearer {KEY}");
        let (s, text) = self.send(method, path, body, &[("authorization", &auth)]).await;
        (s, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `POST /api/organizations/demo/{what}` with the service key, 2xx.
    async fn op(&self, what: &str, body: Value) -> Value {
        let (s, v) = self.api("POST", &format!("/api/organizations/{ORG}/{what}"), Some(body.clone())).await;
        assert!((200..300).contains(&s), "{what} {body}: {s} {v}");
        v
    }

    /// A session cookie and its CSRF token.
    async fn sign_in(&self, email: &str) -> (String, String) {
        self.0.sign_in(ORG, email).await
    }

    /// A page as a browser opens it.
    async fn page(&self, path: &str, cookie: &str) -> (u16, String) {
        self.send("GET", path, None, &[("cookie", cookie), ("accept", "text/html")]).await
    }

    /// A dashboard form post as a browser sends it.
    async fn form(&self, path: &str, cookie: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let r = self.0.post_form(path, cookie, fields).await;
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn set_locale(&self, tag: &str) {
        let (s, v) = self.api("PATCH", &format!("/api/organizations/{ORG}"), Some(json!({"locale": tag}))).await;
        assert_eq!(s, 200, "{v}");
    }
}

/// The page's text: tags dropped, entities read, spaces collapsed.
pub(crate) fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of the element carrying `data-testid="{testid}"`, up to its
/// first inner tag.
fn testid_text(html: &str, testid: &str) -> String {
    let start = html.find(&format!("data-testid=\"{testid}\"")).unwrap_or_else(|| panic!("no {testid} in {html}"));
    let rest = &html[start..];
    let body = &rest[rest.find('>').unwrap() + 1..];
    unescape(body[..body.find('<').unwrap()].trim())
}

/// Numbers on a page rendered es-ES that are written the en-US way:
/// a comma then a point (`30,325.375`), two commas (`1,000,000`), a
/// comma and three digits ending in 0 that no Spanish exact figure ends
/// with (`1,000`, `10,000`; an exact decimal never ends in 0, and money,
/// padded to cents, has two digits and a currency sign), or a point not
/// followed by a group of three digits (`17907.35`: a decimal point, where
/// Spanish has only thousands).
pub(crate) fn english_grouped(page_text: &str) -> Vec<String> {
    let chars: Vec<char> = page_text.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == ',' || chars[i] == '.') {
            i += 1;
        }
        let mut token: String = chars[start..i].iter().collect();
        while token.ends_with([',', '.']) {
            token.pop();
        }
        let commas = token.matches(',').count();
        let comma_then_point = token.find(',').is_some_and(|c| token[c..].contains('.'));
        let round_thousands = commas == 1 && {
            let frac = token.rsplit(',').next().unwrap_or_default();
            frac.len() == 3 && frac.ends_with('0')
        };
        let whole = token.split(',').next().unwrap_or_default();
        let decimal_point = whole.split('.').skip(1).any(|g| g.len() != 3);
        if commas > 1 || comma_then_point || round_thousands || decimal_point {
            found.push(token);
        }
    }
    found
}

#[test]
fn english_grouping_is_found_and_spanish_is_not() {
    assert_eq!(
        english_grouped("Buy 1,000 credits or 10,000; 30,325.375 left; 1,000,000; opening 17907.35"),
        ["1,000", "10,000", "30,325.375", "1,000,000", "17907.35"]
    );
    assert!(english_grouped("10.000 créditos, 30.325,375 y 5,375; 449,00 € al mes; 1000; 1.234.567,5").is_empty());
}

/// D3: 40 events written in the same microsecond; page 2 of the history
/// says the balance after its own first event, not after the newest event
/// of that time (page 1's).
#[tokio::test]
async fn the_balance_line_follows_each_pages_first_event() {
    let mut app = App::start().await;
    app.op("credits", json!({"kind": "grant", "amount": 1000})).await;
    for i in 0..40 {
        if i % 4 == 0 {
            app.op("holds", json!({"amount": "2.5"})).await;
        } else {
            app.op("usage", json!({"amount": format!("1.{i}")})).await;
        }
    }
    let (owner, _) = app.sign_in(OWNER).await;
    let (_, events) = app.api("GET", &format!("/api/organizations/{ORG}/credit-events?limit=100"), None).await;
    let events = events["events"].as_array().unwrap().clone();
    assert!(events.iter().all(|e| e["created_at"] == events[0]["created_at"]), "one instant");
    let (s, page1) = app.page("/history", &owner).await;
    assert_eq!(s, 200);
    let next = page1.split("id=\"next-page\"").next().unwrap();
    let next = unescape(&next[next.rfind("href=\"").unwrap() + 6..next.rfind('"').unwrap()]);
    let (s, page2) = app.page(&next, &owner).await;
    assert_eq!(s, 200, "{next}: {page2}");
    for html in [&page1, &page2] {
        let first_id = html.split("<tr data-id=\"").nth(1).unwrap().split('"').next().unwrap();
        let e = events.iter().find(|e| e["id"] == first_id).unwrap();
        let (available, held) = (e["balance_after"].to_string(), e["held_after"].to_string());
        let line = testid_text(html, "balance-at");
        assert!(line.contains(&format!(": {available} available, {held} held")), "{line}, first row {e}");
    }
    assert_ne!(testid_text(&page1, "balance-at"), testid_text(&page2, "balance-at"));
    // A partial debit writes a debit and then a release of the rest: right
    // after the debit, its hold is still held (10 holds open, not "more").
    let hold = events.iter().find(|e| e["kind"] == "hold").unwrap()["hold_id"].as_str().unwrap().to_string();
    let v = app.op(&format!("holds/{hold}/debit"), json!({"amount": 1})).await;
    let debit = v["events"].as_array().unwrap().iter().find(|e| e["kind"] == "debit").unwrap().clone();
    let (s, html) = app.page("/history?event_type=debit", &owner).await;
    assert_eq!(s, 200);
    let line = testid_text(&html, "balance-at");
    let (available, held) = (debit["balance_after"].to_string(), debit["held_after"].to_string());
    assert!(line.ends_with(&format!(": {available} available, {held} held, open holds: 10")), "{line}: {debit}");
    app.stop().await;
}

/// D4: the printable Statement page in en-US and es-ES; its data stays
/// exact.
#[tokio::test]
async fn the_statement_page_writes_the_orgs_numbers() {
    let mut app = App::start().await;
    app.op("credits", json!({"kind": "grant", "amount": "12345.5"})).await;
    app.op("usage", json!({"amount": "1234.25"})).await;
    let (owner, _) = app.sign_in(OWNER).await;
    for (tag, total_in, total_out, closing) in
        [("en-US", "12,345.5", "1,234.25", "11,111.25"), ("es-ES", "12.345,5", "1234,25", "11.111,25")]
    {
        app.set_locale(tag).await;
        let (s, html) = app.page("/statement?range=today", &owner).await;
        assert_eq!(s, 200, "{html}");
        assert_eq!(testid_text(&html, "total-in"), total_in, "{tag}");
        assert_eq!(testid_text(&html, "total-out"), total_out, "{tag}");
        assert_eq!(testid_text(&html, "closing"), closing, "{tag}");
        assert!(html.contains("data-testid=\"closing\" data-value=\"11111.25\""), "exact data: {tag}");
        assert!(html.contains(&format!("<td class=\"num\">{total_out}</td>")), "the usage line: {tag}");
        if tag == "es-ES" {
            assert_eq!(english_grouped(&text(&html)), Vec::<String>::new());
        }
    }
    app.stop().await;
}

/// D5: Buy more and Change plan in es-ES (and every other figure of the
/// Plan tab: no en-US grouping on the page).
#[tokio::test]
async fn buy_more_and_change_plan_speak_spanish() {
    let mut app = App::start().await;
    let plan = json!({"name": "Pro", "credits_per_period": 10000, "identities_included": 3, "price": "1449",
        "currency": "EUR"});
    let (s, v) = app.api("PUT", "/api/plans/pro", Some(plan)).await;
    assert_eq!(s, 201, "{v}");
    let org = format!("/api/organizations/{ORG}");
    let (s, v) = app.api("PUT", &format!("{org}/plan"), Some(json!({"plan_id": "pro"}))).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app.api("PATCH", &org, Some(json!({"buy_more_amounts": [1000, 12345, "25000.5"]}))).await;
    assert_eq!(s, 200, "{v}");
    app.op("usage", json!({"amount": "1234.5"})).await;
    let (owner, _) = app.sign_in(OWNER).await;
    let (_, html) = app.page("/", &owner).await;
    let en = text(&html);
    for figure in ["1,000 credits", "12,345 credits", "25,000.5 credits", "10,000 credits a period", "€1,449 a period"]
    {
        assert!(en.contains(figure), "en-US {figure}: {en}");
    }
    app.set_locale("es-ES").await;
    let (s, html) = app.page("/", &owner).await;
    assert_eq!(s, 200);
    let es = text(&html);
    for figure in [
        "1000 credits",
        "12.345 credits",
        "25.000,5 credits",
        "10.000 credits a period",
        // (the page's no-break space read as a space)
        "1449 € a period",
        "8765,5",
    ] {
        assert!(es.contains(figure), "es-ES {figure}: {es}");
    }
    assert_eq!(english_grouped(&es), Vec::<String>::new(), "{es}");
    app.stop().await;
}

/// D6: an organisation without a plan has no period and no plan credits
/// on its Plan tab; with one, both are there.
#[tokio::test]
async fn no_plan_no_period() {
    let mut app = App::start().await;
    let (owner, _) = app.sign_in(OWNER).await;
    let (s, html) = app.page("/", &owner).await;
    assert_eq!(s, 200);
    assert!(html.contains("data-testid=\"no-plan\""));
    let t = text(&html);
    assert!(!t.contains("Current period") && !html.contains("data-testid=\"period\""), "{t}");
    assert!(!t.contains("Plan credits 0") && !html.contains("data-testid=\"plan-credits\""), "{t}");
    let plan = json!({"name": "Pro", "credits_per_period": 100, "identities_included": 1, "price": 0,
        "currency": "EUR"});
    let (s, v) = app.api("PUT", "/api/plans/pro", Some(plan)).await;
    assert_eq!(s, 201, "{v}");
    let (s, _) = app.api("PUT", &format!("/api/organizations/{ORG}/plan"), Some(json!({"plan_id": "pro"}))).await;
    assert_eq!(s, 200);
    let (_, html) = app.page("/", &owner).await;
    assert!(testid_text(&html, "period").ends_with(", 2026"), "{}", testid_text(&html, "period"));
    assert_eq!(testid_text(&html, "plan-credits"), "100");
    app.stop().await;
}

/// D7: a bad range on Credits, Conversations and Statement answers the tab
/// with its range form and a message in the form's words (422); an old
/// or edited page link of the history says so and links the first page.
#[tokio::test]
async fn bad_ranges_keep_the_form_and_speak_the_forms_words() {
    let mut app = App::start().await;
    let (owner, _) = app.sign_in(OWNER).await;
    for path in ["/credits", "/conversations", "/statement"] {
        for (query, says) in [
            (
                "date_from=2026-11-30&date_to=2026-11-01",
                "The end date is before the start date (November 1, 2026 is before November 30, 2026)",
            ),
            ("range=custom&date_from=2026-11-30&date_to=2026-11-01", "The end date is before the start date"),
            ("range=bogus", "Choose a range from the list (Today, Yesterday,"),
            ("date_from=garbage", "The start date \"garbage\" is not a date"),
            ("range=custom&date_from=&date_to=", "Pick a start and an end date for a custom range."),
            ("date_from=2024-01-01&date_to=2026-03-01", "A range covers at most 366 days"),
            ("range=today&date_from=2026-03-01", "not both"),
            ("colour=red", "This page does not take \"colour\""),
        ] {
            let (s, html) = app.page(&format!("{path}?{query}"), &owner).await;
            assert_eq!(s, 422, "{path}?{query}: {html}");
            assert!(html.contains(&format!("<form class=\"custom\" method=\"get\" action=\"{path}\"")), "{path}");
            assert!(html.contains("class=\"presets\""), "{path}: the presets");
            let error = testid_text(&html, "range-error");
            assert!(error.contains(says), "{path}?{query}: {error}");
            for api_words in ["date_to (", "expected one of", "unknown query parameter", "range="] {
                assert!(!error.contains(api_words), "{path}?{query}: {error}");
            }
        }
        // The dates typed are kept in the form when they are dates.
        let (_, html) = app.page(&format!("{path}?date_from=2026-11-30&date_to=2026-11-01"), &owner).await;
        assert!(html.contains("value=\"2026-11-30\"") && html.contains("value=\"2026-11-01\""), "{path}");
    }
    // The Spanish page writes the dates its way.
    app.set_locale("es-ES").await;
    let (_, html) = app.page("/credits?date_from=2026-11-30&date_to=2026-11-01", &owner).await;
    assert!(testid_text(&html, "range-error").contains("(1 de noviembre de 2026 is before 30 de noviembre de 2026)"));
    app.set_locale("en-US").await;

    let (s, html) = app.page("/history?cursor=garbage&page=2", &owner).await;
    assert_eq!(s, 422, "{html}");
    assert_eq!(testid_text(&html, "link-expired"), "This page link has expired: start from the first page.");
    assert!(html.contains("<a href=\"/history\" id=\"expired-first-page\">"), "{html}");
    assert!(!html.contains("is not one this API issued"));
    assert!(html.contains("id=\"filters\""), "the form is there");

    // A custom range without its dates says what is missing.
    for tab in ["/credits", "/conversations", "/statement"] {
        let (s, html) = app.page(&format!("{tab}?range=custom"), &owner).await;
        assert_eq!(s, 422, "{tab}: {html}");
        assert_eq!(testid_text(&html, "range-error"), "Pick a start and an end date for a custom range.", "{tab}");
    }

    // A parameter the History tab does not take (a second tryout sent the
    // other tabs' `range`): the tab, its form, the form's words.
    let (s, html) = app.page("/history?range=bogus", &owner).await;
    assert_eq!(s, 422, "{html}");
    assert!(html.contains("id=\"filters\""), "the form is there");
    assert!(text(&html).contains("This page does not take \"range\": filter with the form's fields"), "{html}");
    assert!(!html.contains("known: "), "not the API's list of names: {html}");
    app.stop().await;
}

/// D8: refusals name the role with its article and whom to ask as the
/// permission table says; a page's form without its token has expired,
/// in words; JSON callers keep the precise message.
#[tokio::test]
async fn refusals_say_whom_to_ask() {
    let mut app = App::start().await;
    let org = format!("/api/organizations/{ORG}");
    let (s, _) = app.api("PATCH", &org, Some(json!({"buy_more_amounts": [100]}))).await;
    assert_eq!(s, 200);
    let (admin, admin_csrf) = app.sign_in(ADMIN).await;
    // Buy more: owners only.
    let (s, html) = app.form("/plan/buy-more", &admin, &[("csrf_token", &admin_csrf), ("amount", "100")]).await;
    assert_eq!(s, 403, "{html}");
    let t = text(&html);
    assert!(t.contains("An admin may not do this: Buy more"), "{t}");
    assert!(t.contains("ask an owner of the organisation."), "{t}");
    assert!(!t.contains("a admin") && !t.contains("owner or admin"), "{t}");
    let (s, body) = app
        .send(
            "POST",
            &format!("{org}/purchases/request"),
            Some(json!({"amount": 100})),
            &[("cookie", &admin), ("x-csrf-token", &admin_csrf)],
        )
        .await;
    assert_eq!(s, 403);
    let v: Value = serde_json::from_str(&body).unwrap();
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("an admin may not do this: Buy more"), "{message}");
    assert!(message.ends_with("; ask an owner of the organisation"), "{message}");
    // Setting the auto top-up: owners and admins.
    let (member, member_csrf) = app.sign_in(MEMBER).await;
    let (s, body) = app
        .send(
            "PUT",
            &format!("{org}/auto-top-up"),
            Some(json!({"threshold": 5, "amount": 10})),
            &[("cookie", &member), ("x-csrf-token", &member_csrf)],
        )
        .await;
    assert_eq!(s, 403);
    assert!(
        body.contains("a member may not do this: ") && body.contains("; ask an owner or admin of the organisation")
    );
    // A page's form without its token (an old page): in words.
    let (owner, _) = app.sign_in(OWNER).await;
    for fields in [vec![("csrf_token", "old-token"), ("amount", "100")], vec![("amount", "100")]] {
        let (s, html) = app.form("/plan/buy-more", &owner, &fields).await;
        assert_eq!(s, 403);
        let t = text(&html);
        assert!(t.contains("This form has expired: reload the page and try again."), "{t}");
        assert!(!t.contains("X-CSRF-Token"), "{t}");
    }
    // A JSON caller keeps the precise message.
    let (s, body) = app
        .send("POST", &format!("{org}/purchases/request"), Some(json!({"amount": 100})), &[("cookie", &owner)])
        .await;
    assert_eq!(s, 403);
    assert!(body.contains("X-CSRF-Token header or csrf_token form field"), "{body}");
    app.stop().await;
}

/// D9: an amount with 7 decimals is refused naming its field, in every
/// body that takes amounts; nothing is written.
#[tokio::test]
async fn a_too_precise_amount_names_its_field() {
    let mut app = App::start().await;
    let org = format!("/api/organizations/{ORG}");
    for (method, path, body, field) in [
        ("PUT", "auto-top-up", json!({"threshold": "50.0000001", "amount": 10}), "threshold \"50.0000001\""),
        ("PUT", "auto-top-up", json!({"threshold": 50, "amount": "10.0000001"}), "amount \"10.0000001\""),
        ("PUT", "auto-top-up", json!({"threshold": 5, "target_balance": 10.0000001}), "target_balance \"10.0000001\""),
        (
            "PUT",
            "alerts",
            json!({"levels": [{"percent_used": 50}, {"available_below": "1.0000001"}]}),
            "levels[1].available_below \"1.0000001\"",
        ),
        ("PATCH", "", json!({"buy_more_amounts": [5, "1.0000001"]}), "buy_more_amounts[1] \"1.0000001\""),
        ("POST", "usage", json!({"amount": "1.0000001"}), "amount \"1.0000001\""),
    ] {
        let url = if path.is_empty() { org.clone() } else { format!("{org}/{path}") };
        let (s, v) = app.api(method, &url, Some(body.clone())).await;
        assert_eq!((s, v["error"]["code"].as_str()), (422, Some("validation_error")), "{body}: {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("{field} has more than 6 decimals")), "{body}: {message}");
    }
    // Any other bad value names its field too (a second tryout found
    // `invalid type: string "50.5", expected u32` without one).
    for (method, path, body, field) in [
        ("PUT", "alerts", json!({"levels": [{"percent_used": "50.5"}]}), "levels[0].percent_used: "),
        ("PUT", "alerts", json!({"levels": [{"percent_used": 50}, {"percent_used": -1}]}), "levels[1].percent_used: "),
        (
            "PUT",
            "auto-top-up",
            json!({"threshold": 5, "amount": 10, "max_per_period": {"count": "3"}}),
            "max_per_period.count: ",
        ),
        ("PATCH", "", json!({"buy_more_amounts": 100}), "buy_more_amounts: "),
    ] {
        let url = if path.is_empty() { org.clone() } else { format!("{org}/{path}") };
        let (s, v) = app.api(method, &url, Some(body.clone())).await;
        assert_eq!((s, v["error"]["code"].as_str()), (422, Some("validation_error")), "{body}: {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("invalid request body: {field}")), "{body}: {message}");
    }
    let (_, v) = app.api("GET", &format!("{org}/auto-top-up"), None).await;
    assert!(v["rule"].is_null(), "nothing written: {v}");
    let (_, v) = app.api("GET", &format!("{org}/alerts"), None).await;
    assert!(v["levels"].as_array().is_none_or(|l| l.is_empty()), "nothing written: {v}");
    let (_, v) = app.api("GET", &org, None).await;
    assert!(v.get("buy_more_amounts").is_none(), "nothing written: {v}");
    app.stop().await;
}

/// The Plan tab's line on conversations against the per-identity limit
/// (its busiest identity for owners and admins, the limit alone for
/// members), and the balance as of today's date: now, said in the answer.
#[tokio::test]
async fn plan_conversations_line_and_as_of_today() {
    let mut app = App::start().await;
    let plan = json!({"name": "Pro", "credits_per_period": 100, "identities_included": 2, "price": 0,
        "currency": "EUR", "conversations_per_identity": 500});
    let (s, v) = app.api("PUT", "/api/plans/pro", Some(plan)).await;
    assert_eq!(s, 201, "{v}");
    let org = format!("/api/organizations/{ORG}");
    let (s, _) = app.api("PUT", &format!("{org}/plan"), Some(json!({"plan_id": "pro"}))).await;
    assert_eq!(s, 200);
    let (owner, _) = app.sign_in(OWNER).await;
    let (_, html) = app.page("/", &owner).await;
    assert_eq!(testid_text(&html, "plan-conversations"), "500 a month per identity; none started this month");
    for (identity, n) in [("anna", 3), ("ben", 1)] {
        for _ in 0..n {
            app.op("conversations", json!({"identity": identity})).await;
        }
    }
    let (_, html) = app.page("/", &owner).await;
    assert_eq!(
        testid_text(&html, "plan-conversations"),
        "500 a month per identity; 2 identities active this month, the busiest anna: 3 used, 497 left"
    );
    let (member, _) = app.sign_in(MEMBER).await;
    let (_, html) = app.page("/", &member).await;
    assert_eq!(testid_text(&html, "plan-conversations"), "500 a month per identity");

    // as_of: today's date is now; yesterday's is its end; tomorrow's is refused.
    app.op("credits", json!({"kind": "grant", "amount": 7})).await;
    let now = app.clock.now();
    let (s, v) = app.api("GET", &format!("{org}/balance/as-of?as_of=2026-03-10"), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["as_of"], json!(now.to_string()), "{v}");
    assert_eq!(v["available"], json!(107), "{v}");
    let (s, v) = app.api("GET", &format!("{org}/balance/as-of?as_of=2026-03-09"), None).await;
    assert_eq!((s, &v["as_of"]), (200, &json!("2026-03-09T23:59:59.999999Z")), "{v}");
    let (s, v) = app.api("GET", &format!("{org}/balance/as-of?as_of=2026-03-11"), None).await;
    assert_eq!((s, v["error"]["code"].as_str()), (422, Some("validation_error")), "{v}");
    app.stop().await;
}

/// Seed 004's Daily range: one day at a time, by hour like Today, with the
/// day before and after linked (no day after today); a bad day is refused
/// in the form's words.
#[tokio::test]
async fn daily_walks_day_by_day_in_hours() {
    let mut app = App::start().await;
    app.op("credits", json!({"kind": "grant", "amount": 100})).await;
    app.op("usage", json!({"amount": 7})).await;
    let (owner, _) = app.sign_in(OWNER).await;
    let (s, html) = app.page("/credits?range=daily", &owner).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("<a href=\"/credits?range=daily\" aria-current=\"true\">Daily</a>"), "{html}");
    assert!(!html.contains("aria-current=\"true\">Today</a>"), "Daily is current, not Today");
    assert_eq!(testid_text(&html, "range-label"), "Tuesday, March 10, 2026 (UTC)");
    assert!(html.contains("id=\"chart-hour\""), "by hour");
    assert!(html.contains("href=\"/credits?range=daily&#38;day=2026-03-09\" rel=\"prev\" id=\"prev-day\""), "{html}");
    assert!(!html.contains("id=\"next-day\""), "no day after today");
    assert_eq!(testid_text(&html, "total-credits"), "7");
    let (s, html) = app.page("/credits?range=daily&day=2026-03-09", &owner).await;
    assert_eq!(s, 200);
    assert_eq!(testid_text(&html, "range-label"), "Monday, March 9, 2026 (UTC)");
    assert!(html.contains("href=\"/credits?range=daily&#38;day=2026-03-10\" rel=\"next\" id=\"next-day\""));
    assert!(html.contains("href=\"/credits?range=daily&#38;day=2026-03-08\" rel=\"prev\" id=\"prev-day\""));
    assert!(html.contains("No credits used in this range."), "{html}");
    for path in ["/conversations", "/statement"] {
        let (s, html) = app.page(&format!("{path}?range=daily&day=2026-03-09"), &owner).await;
        assert_eq!(s, 200, "{path}: {html}");
        assert_eq!(testid_text(&html, "range-label"), "Monday, March 9, 2026 (UTC)", "{path}");
        assert!(html.contains(&format!("<a href=\"{path}?range=daily\" aria-current=\"true\">Daily</a>")));
    }
    for (query, says) in [
        ("range=daily&day=tuesday", "The day \"tuesday\" is not a date"),
        ("range=daily&date_from=2026-03-01", "Choose Daily or pick dates, not both."),
        ("range=today&day=2026-03-09", "A day goes with the Daily range"),
    ] {
        let (s, html) = app.page(&format!("/credits?{query}"), &owner).await;
        assert_eq!(s, 422, "{query}");
        assert!(testid_text(&html, "range-error").contains(says), "{query}: {}", testid_text(&html, "range-error"));
    }
    app.stop().await;
}
