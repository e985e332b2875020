//! The credit history over HTTP end to end: filters (each against
//! `EventFilter::matches` over every event, and a few by hand), page limits,
//! cursor paging while events arrive, and the CSV and Excel downloads read
//! back by independent readers (the csv crate, calamine).

use std::collections::BTreeSet;
use std::io::Cursor;
use std::sync::Arc;

use calamine::{Data, Reader, Xlsx};
use creditd_core::{CreditKind, CreditOp, Event, EventCtx, EventKind, HoldOp, Micros, Op, OrgSettings, Pool, Status};
use creditd_store::query::EventFilter;
use creditd_store::range::{RangePreset, range_bounds, start_of_day};
use creditd_store::{Command, Store};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::common::{KEY, Server, Start};

const ORG: &str = "acme";
const ZONE: &str = "Europe/Madrid";

struct App(Server);

crate::app_derefs_to_server!(App, 0);

/// A raw answer: status, headers, body bytes.
struct Got {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

impl App {
    async fn start(at: &str) -> App {
        App(Server::with(Start { at, ..Start::default() }).await)
    }

    async fn stop(mut self) {
        self.0.stop().await
    }

    async fn raw(&self, path: &str) -> Got {
        let resp = self.client.get(format!("{}{}", self.base, path)).bearer_auth(KEY).send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap().to_vec();
        Got { status, headers, body }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let got = self.raw(path).await;
        (got.status, got.json())
    }

    async fn create_org(&self) {
        self.store.create_org(ORG, OrgSettings::new("Acme", ZONE)).await.unwrap();
    }

    async fn run(&self, op: Op) -> creditd_core::Outcome {
        let name = op.name();
        creditd_store::execute_one(self.store.as_ref(), Command::new(ORG, op, None))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// Every event, newest first, straight from the store (the oracle's input).
    async fn all_events(&self) -> Vec<Event> {
        let mut rx = self.store.export(ORG, &EventFilter::default()).await.unwrap();
        let mut all = Vec::new();
        while let Some(chunk) = rx.recv().await {
            all.extend(chunk.unwrap());
        }
        all
    }

    /// Every page of `query` through the API with the cursor.
    async fn pages(&self, query: &str, limit: u32) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/organizations/{ORG}/credit-events?limit={limit}");
            if !query.is_empty() {
                path.push('&');
                path.push_str(query);
            }
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let (s, v) = self.get(&path).await;
            assert_eq!(s, 200, "{query}: {v}");
            let events = v["events"].as_array().unwrap();
            assert!(events.len() <= limit as usize);
            out.extend(events.iter().cloned());
            match v["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        out
    }
}

fn m(credits: &str) -> Micros {
    credits.parse().unwrap()
}

fn ctx(service: &str, project: &str, user: &str) -> EventCtx {
    EventCtx {
        source: Some("app".into()),
        service: Some(service.into()),
        activity: Some(format!("{service} run")),
        project_id: Some(project.into()),
        project_name: Some(format!("Case {project}")),
        user_name: Some(user.split('@').next().unwrap_or("user").into()),
        user_email: Some(user.into()),
        description: Some(format!("{service} for {project}")),
        metadata: None,
    }
}

fn credit(kind: CreditKind, amount: &str, status: Option<Status>) -> Op {
    Op::Credit(CreditOp {
        kind,
        amount: m(amount),
        pool: None,
        expires_at: None,
        code: (kind == CreditKind::Voucher).then(|| "SPRING-26".to_string()),
        status,
        ctx: EventCtx { source: Some("stripe".into()), ..EventCtx::default() },
    })
}

fn record_id(o: &creditd_core::Outcome) -> String {
    o.record.as_ref().unwrap().id.clone()
}

fn seq_of(v: &Value) -> u64 {
    v["seq"].as_u64().unwrap()
}

fn madrid() -> TimeZone {
    TimeZone::get(ZONE).unwrap()
}

const SERVICES: [&str; 3] = ["AI Inference", "Scraping", "Enrichment"];
const PROJECTS: [&str; 3] = ["p1", "p2", "p3"];
const USERS: [&str; 3] = ["ana@example.com", "ben@example.com", "cy@example.com"];

/// Three weeks of every kind of event, a few a day, in Madrid; the clock
/// ends on Tuesday 2026-03-10 12:00 UTC. Returns how many holds were made.
async fn varied_history(app: &App) -> usize {
    app.create_org().await;
    app.clock.set("2026-02-16T07:00:00Z".parse().unwrap());
    app.run(credit(CreditKind::Grant, "5000", None)).await;
    app.run(credit(CreditKind::SubscriptionCredit, "1000", None)).await;
    let mut holds = 0;
    for day in 0..20i64 {
        let i = day as usize;
        let c = |k: usize| ctx(SERVICES[(i + k) % 3], PROJECTS[(i * 2 + k) % 3], USERS[(i + 2 * k) % 3]);
        app.run(Op::Usage { amount: m("1.5"), ctx: c(0) }).await;
        app.run(Op::Usage { amount: m("2"), ctx: c(1) }).await;
        let h = app.run(Op::Hold(HoldOp { amount: m("3"), timeout_seconds: None, ctx: c(2) })).await;
        holds += 1;
        if day % 3 == 0 {
            app.run(Op::Release { hold_id: record_id(&h), ctx: EventCtx::default() }).await;
        } else {
            app.run(Op::Debit { hold_id: record_id(&h), amount: Some(m("2.25")), ctx: EventCtx::default() }).await;
        }
        match day % 5 {
            0 => {
                let p = app.run(credit(CreditKind::Purchase, "40", Some(Status::Processing))).await;
                let status = if day % 2 == 0 { Status::Failed } else { Status::Succeeded };
                app.run(Op::SettlePurchase { purchase_id: record_id(&p), status, ctx: EventCtx::default() }).await;
            }
            1 => {
                app.run(credit(CreditKind::Voucher, "15", None)).await;
            }
            2 => {
                let u = app.run(Op::Usage { amount: m("4"), ctx: c(1) }).await;
                app.run(Op::Refund { refers_to: record_id(&u), amount: Some(m("1")), ctx: EventCtx::default() }).await;
            }
            3 => {
                app.run(Op::Adjustment {
                    amount: m("-0.5"),
                    reason: "goodwill correction".into(),
                    pool: None,
                    expires_at: None,
                    ctx: EventCtx::default(),
                })
                .await;
            }
            _ => {
                app.run(Op::Billing {
                    amount: Micros::ZERO,
                    ctx: EventCtx { description: Some(format!("Invoice {day}")), ..EventCtx::default() },
                })
                .await;
                app.run(credit(CreditKind::Purchase, "25", None)).await;
            }
        }
        app.clock.advance(SignedDuration::from_hours(24));
    }
    // Two events either side of midnight in Madrid on 2026-03-08 (UTC+1).
    app.clock.set("2026-03-08T22:59:00Z".parse().unwrap());
    app.run(Op::Usage { amount: m("1"), ctx: ctx("AI Inference", "p1", "ana@example.com") }).await;
    app.clock.set("2026-03-08T23:30:00Z".parse().unwrap());
    app.run(Op::Usage { amount: m("1"), ctx: ctx("AI Inference", "p1", "ana@example.com") }).await;
    app.clock.set("2026-03-10T12:00:00Z".parse().unwrap());
    holds
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn day(s: &str) -> Timestamp {
    start_of_day(s.parse().unwrap(), &madrid())
}

/// Query strings and the filter each must mean, written out by hand.
fn filter_cases() -> Vec<(&'static str, EventFilter)> {
    let f = EventFilter::default;
    let now = ts("2026-03-10T12:00:00Z");
    let tz = madrid();
    let range = |p| {
        let (a, b) = range_bounds(p, &tz, now);
        EventFilter { date_from: Some(a), date_to: Some(b), ..f() }
    };
    vec![
        ("", f()),
        ("event_type=usage", EventFilter { kinds: vec![EventKind::Usage], ..f() }),
        (
            "event_type=reservation,reservation_released",
            EventFilter { kinds: vec![EventKind::Hold, EventKind::Release], ..f() },
        ),
        (
            "event_type=Grant&event_type=prepaid_purchase",
            EventFilter { kinds: vec![EventKind::Grant, EventKind::Purchase], ..f() },
        ),
        ("event_type=Top-up", EventFilter { kinds: vec![EventKind::Purchase], ..f() }),
        ("event_type=Plan%20credits", EventFilter { kinds: vec![EventKind::SubscriptionCredit], ..f() }),
        (
            "event_type=debit,refund,adjustment,billing,voucher",
            EventFilter {
                kinds: vec![
                    EventKind::Debit,
                    EventKind::Refund,
                    EventKind::Adjustment,
                    EventKind::Billing,
                    EventKind::Voucher,
                ],
                ..f()
            },
        ),
        ("pool=prepaid", EventFilter { pools: vec![Pool::Prepaid], ..f() }),
        ("pool=Voucher%20credits", EventFilter { pools: vec![Pool::Voucher], ..f() }),
        ("pool=Top-up%20credits,promotional", EventFilter { pools: vec![Pool::Prepaid, Pool::Promotional], ..f() }),
        ("status=failed", EventFilter { statuses: vec![Status::Failed], ..f() }),
        ("status=Processed", EventFilter { statuses: vec![Status::Processing], ..f() }),
        ("status=failed,processing", EventFilter { statuses: vec![Status::Failed, Status::Processing], ..f() }),
        ("status=Success", EventFilter { statuses: vec![Status::Succeeded], ..f() }),
        ("service=AI%20Inference", EventFilter { services: vec!["AI Inference".into()], ..f() }),
        (
            "service=AI%20Inference,Scraping",
            EventFilter { services: vec!["AI Inference".into(), "Scraping".into()], ..f() },
        ),
        ("project_id=p2", EventFilter { project_id: Some("p2".into()), ..f() }),
        ("user_email=ana@example.com", EventFilter { user_email: Some("ana@example.com".into()), ..f() }),
        ("date_from=2026-03-02", EventFilter { date_from: Some(day("2026-03-02")), ..f() }),
        ("date_to=2026-03-01", EventFilter { date_to: Some(day("2026-03-02")), ..f() }),
        (
            "date_from=2026-02-20&date_to=2026-02-25",
            EventFilter { date_from: Some(day("2026-02-20")), date_to: Some(day("2026-02-26")), ..f() },
        ),
        (
            "date_from=2026-03-02T00:00:00Z&date_to=2026-03-03T12:00:00%2B01:00",
            EventFilter {
                date_from: Some(ts("2026-03-02T00:00:00Z")),
                date_to: Some(ts("2026-03-03T11:00:00Z")),
                ..f()
            },
        ),
        ("date_from=2026-03-02T08:00", EventFilter { date_from: Some(ts("2026-03-02T07:00:00Z")), ..f() }),
        ("range=today", range(RangePreset::Today)),
        ("range=yesterday", range(RangePreset::Yesterday)),
        ("range=this_week", range(RangePreset::ThisWeek)),
        ("range=last_week", range(RangePreset::LastWeek)),
        ("range=This%20month", range(RangePreset::ThisMonth)),
        ("range=last_month", range(RangePreset::LastMonth)),
        ("range=last_28_days", range(RangePreset::Last28Days)),
        ("range=custom&date_from=2026-03-01", EventFilter { date_from: Some(day("2026-03-01")), ..f() }),
        (
            "event_type=usage&project_id=p1&date_from=2026-03-02",
            EventFilter {
                kinds: vec![EventKind::Usage],
                project_id: Some("p1".into()),
                date_from: Some(day("2026-03-02")),
                ..f()
            },
        ),
        (
            "event_type=usage,hold&service=Scraping&user_email=ben@example.com",
            EventFilter {
                kinds: vec![EventKind::Usage, EventKind::Hold],
                services: vec!["Scraping".into()],
                user_email: Some("ben@example.com".into()),
                ..f()
            },
        ),
        (
            "status=failed&event_type=purchase&range=last_month",
            EventFilter {
                statuses: vec![Status::Failed],
                kinds: vec![EventKind::Purchase],
                ..range(RangePreset::LastMonth)
            },
        ),
        (
            "pool=plan&event_type=debit,usage&project_id=p3&date_to=2026-03-05",
            EventFilter {
                pools: vec![Pool::Plan],
                kinds: vec![EventKind::Debit, EventKind::Usage],
                project_id: Some("p3".into()),
                date_to: Some(day("2026-03-06")),
                ..f()
            },
        ),
        ("service=Nothing", EventFilter { services: vec!["Nothing".into()], ..f() }),
    ]
}

#[tokio::test]
async fn every_filter_alone_and_combined_matches_the_reference() {
    let app = App::start("2026-02-16T07:00:00Z").await;
    let holds = varied_history(&app).await;
    let all = app.all_events().await;
    assert!(all.len() > 110, "{}", all.len());
    for (query, filter) in filter_cases() {
        let expected: Vec<u64> = all.iter().filter(|e| filter.matches(e)).map(|e| e.seq).collect();
        let got: Vec<u64> = app.pages(query, 7).await.iter().map(seq_of).collect();
        assert_eq!(got, expected, "cursor pages of {query:?}");
        // Offset pages agree with cursor pages.
        let (s, v) = app.get(&format!("/api/organizations/{ORG}/credit-events?limit=5&offset=3&{query}")).await;
        assert_eq!(s, 200, "{v}");
        let offset: Vec<u64> = v["events"].as_array().unwrap().iter().map(seq_of).collect();
        assert_eq!(offset, expected.iter().skip(3).take(5).copied().collect::<Vec<_>>(), "offset page of {query:?}");
    }

    // The Rust client's page stream follows the cursors to the same events,
    // typed, for filters built with its own types.
    use creditd_client::{HistoryFilter, TryStreamExt};
    let typed = [
        (HistoryFilter::default(), EventFilter::default()),
        (
            HistoryFilter { event_type: vec![EventKind::Hold, EventKind::Release], ..HistoryFilter::default() },
            EventFilter { kinds: vec![EventKind::Hold, EventKind::Release], ..EventFilter::default() },
        ),
        (
            HistoryFilter { status: vec![Status::Failed], ..HistoryFilter::default() },
            EventFilter { statuses: vec![Status::Failed], ..EventFilter::default() },
        ),
    ];
    for (client_filter, reference) in typed {
        let expected: Vec<u64> = all.iter().filter(|e| reference.matches(e)).map(|e| e.seq).collect();
        let streamed: Vec<Event> =
            app.api.credit_event_pages(ORG, client_filter.clone(), Some(9)).events().try_collect().await.unwrap();
        let got: Vec<u64> = streamed.iter().map(|e| e.seq).collect();
        assert_eq!(got, expected, "client pages of {client_filter:?}");
        let stored: Vec<&Event> = all.iter().filter(|e| reference.matches(e)).collect();
        assert!(streamed.iter().zip(stored).all(|(a, b)| a == b), "the client reads each event as stored");
    }

    // A few expectations by hand, not through `matches`.
    let reservations = app.pages("event_type=reservation", 100).await;
    assert_eq!(reservations.len(), holds);
    assert!(reservations.iter().all(|e| e["kind"] == "hold"));
    let failed = app.pages("status=failed", 100).await;
    assert_eq!(failed.len(), 2, "days 0 and 10 fail their purchase");
    assert!(failed.iter().all(|e| e["kind"] == "purchase" && e["status"] == "failed"));
    // 22:59 UTC on 2026-03-08 is 23:59 in Madrid, 23:30 UTC is 00:30 the next day.
    let on_8th: Vec<String> = app
        .pages("date_from=2026-03-08&date_to=2026-03-08", 100)
        .await
        .iter()
        .map(|e| e["created_at"].as_str().unwrap().to_string())
        .collect();
    assert!(on_8th.contains(&"2026-03-08T22:59:00Z".to_string()), "{on_8th:?}");
    assert!(!on_8th.contains(&"2026-03-08T23:30:00Z".to_string()), "{on_8th:?}");
    let on_9th = app.pages("date_from=2026-03-09&date_to=2026-03-09", 100).await;
    assert_eq!(on_9th.len(), 1);
    assert_eq!(on_9th[0]["created_at"], "2026-03-08T23:30:00Z");
    // Today (Tuesday 10 March in Madrid) has nothing; this week has Monday 9th.
    assert!(app.pages("range=today", 100).await.is_empty());
    assert!(app.pages("range=this_week", 100).await.iter().any(|e| e["created_at"] == "2026-03-08T23:30:00Z"));
    app.stop().await;
}

/// Every reversed (or empty) range is refused alike, by the history and
/// the export API, however its ends are written: plain dates one day or two
/// apart (the one-day case used to answer 200 with nothing), instants,
/// local times, a mix. A range of one whole day is not reversed.
#[tokio::test]
async fn reversed_ranges_are_refused_alike() {
    let app = App::start("2026-12-10T12:00:00Z").await;
    app.create_org().await;
    app.run(credit(CreditKind::Grant, "10", None)).await;
    let reversed = [
        "date_from=2026-12-02&date_to=2026-12-01",
        "date_from=2026-12-03&date_to=2026-12-01",
        "date_from=2026-12-02T00:00:00Z&date_to=2026-12-01T00:00:00Z",
        "date_from=2026-12-01T10:00:00Z&date_to=2026-12-01T10:00:00Z",
        "date_from=2026-12-01T10:00&date_to=2026-12-01T09:00",
        "date_from=2026-12-02&date_to=2026-12-01T23:00:00Z",
        "range=custom&date_from=2026-12-02&date_to=2026-12-01",
    ];
    for q in reversed {
        for path in ["credit-events?", "credit-events/export?format=csv&", "credit-events/export?format=xlsx&"] {
            let (s, v) = app.get(&format!("/api/organizations/{ORG}/{path}{q}")).await;
            assert_eq!((s, v["error"]["code"].as_str()), (422, Some("validation_error")), "{path}{q}: {v}");
            let msg = v["error"]["message"].as_str().unwrap();
            assert!(msg.contains("must be after date_from") && msg.contains("reversed"), "{path}{q}: {msg}");
        }
    }
    // The same day as both ends is that whole day; it holds the grant.
    let (s, v) =
        app.get(&format!("/api/organizations/{ORG}/credit-events?date_from=2026-12-10&date_to=2026-12-10")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["events"].as_array().map(Vec::len), Some(1), "{v}");
    app.stop().await;
}

/// The next chunk of a CSV body, as hyper would poll it.
async fn next(body: &mut creditd_server::history::ChunkStream) -> Option<std::io::Result<axum::body::Bytes>> {
    std::future::poll_fn(|cx| futures_core::Stream::poll_next(std::pin::Pin::new(&mut *body), cx)).await
}

/// A client that reads a CSV download slowly holds the producer back: the
/// HTTP side never holds more than two chunks the client has not read (one
/// in the channel, one the producer is blocked handing over), so memory is
/// bounded by the reader, not by the file. When the client goes away the
/// producer stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_csv_reader_holds_the_producer_back() {
    use creditd_server::history::csv_stream;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    const CHUNKS: usize = 40;
    const CHUNK_BYTES: usize = 256 * 1024;
    let (started, done) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let (s2, d2) = (started.clone(), done.clone());
    let (answer, mut body) = csv_stream(creditd_export::Layout::Report, move |emit| {
        let mut sent = 0;
        for i in 0..CHUNKS {
            s2.fetch_add(1, SeqCst);
            if emit(vec![b'0' + (i % 10) as u8; CHUNK_BYTES]).is_break() {
                break;
            }
            sent += 1;
        }
        d2.store(true, SeqCst);
        Ok(sent)
    });
    answer.await.unwrap().unwrap();
    // Waits until the producer has made `n` chunks (or a while has passed).
    let settle = |n: usize| {
        let started = started.clone();
        async move {
            for _ in 0..200 {
                if started.load(SeqCst) >= n {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    let header = next(&mut body).await.unwrap().unwrap();
    assert!(header.starts_with(b"Case Name,"), "the header first");
    let mut read = 0;
    for _ in 0..10 {
        settle(read + 2).await;
        let made = started.load(SeqCst);
        assert!(made <= read + 2, "{made} chunks made, {read} read: the server buffers the file");
        assert_eq!(made, read + 2, "the producer keeps two ahead of the reader");
        let chunk = next(&mut body).await.unwrap().unwrap();
        assert_eq!(chunk.len(), CHUNK_BYTES);
        assert_eq!(chunk[0], b'0' + (read % 10) as u8, "in order");
        read += 1;
    }
    // The client hangs up: the producer is told and stops.
    drop(body);
    for _ in 0..200 {
        if done.load(SeqCst) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(done.load(SeqCst), "the producer stopped");
    assert!(started.load(SeqCst) <= read + 3, "{} chunks made", started.load(SeqCst));
}

/// A write answers the time that is stored: with a clock reading
/// nanoseconds, the write's `created_at`, the history's, the full export's
/// and the instant the hash chain covers are the same string.
#[tokio::test]
async fn a_write_answers_the_created_at_the_history_shows() {
    let app = App::start("2026-12-02T10:11:26.83460514Z").await;
    app.create_org().await;
    let mut written = Vec::new();
    for (i, body) in [
        serde_json::json!({"kind": "grant", "amount": "100"}),
        serde_json::json!({"amount": "2.5", "service": "AI Inference"}),
    ]
    .into_iter()
    .enumerate()
    {
        let path = if i == 0 { "credits" } else { "usage" };
        let resp = app
            .client
            .post(format!("{}/api/organizations/{ORG}/{path}", app.base))
            .bearer_auth(KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        let v: Value = resp.json().await.unwrap();
        let e = &v["events"][0];
        written.push((e["seq"].as_u64().unwrap(), e["created_at"].as_str().unwrap().to_string()));
        app.clock.advance(SignedDuration::from_nanos(1_234_567_891));
    }
    assert_eq!(written[0].1, "2026-12-02T10:11:26.834605Z", "whole microseconds");
    let (s, v) = app.get(&format!("/api/organizations/{ORG}/credit-events")).await;
    assert_eq!(s, 200);
    let mut read: Vec<(u64, String)> =
        v["events"].as_array().unwrap().iter().map(|e| (seq_of(e), text(&e["created_at"]))).collect();
    read.reverse();
    assert_eq!(read, written);
    let stored: Vec<Timestamp> = app.all_events().await.iter().rev().map(|e| e.created_at).collect();
    assert_eq!(stored, written.iter().map(|(_, t)| ts(t)).collect::<Vec<_>>());
    let full = app.raw(&format!("/api/organizations/{ORG}/credit-events/export?format=csv&layout=full")).await;
    let rows = csv_rows(&full.body);
    let exported: Vec<Timestamp> = rows[1..].iter().map(|r| r[2].parse().unwrap()).collect();
    assert_eq!(exported, stored);
    let (s, v) = app.get(&format!("/api/organizations/{ORG}/verify")).await;
    assert_eq!((s, &v["ok"]), (200, &Value::Bool(true)), "{v}");
    app.stop().await;
}

#[tokio::test]
async fn bad_parameters_are_refused_clearly() {
    let app = App::start("2026-03-10T12:00:00Z").await;
    app.create_org().await;
    let cases = [
        ("limit=0", "limit must be from 1 to 100"),
        ("limit=101", "above the maximum of 100"),
        ("limit=abc", "limit must be a whole number"),
        ("limit=-1", "limit must be a whole number"),
        ("offset=x", "offset must be a whole number"),
        ("cursor=zz", "is not one this API issued"),
        ("cursor=c10&offset=1", "either cursor or offset"),
        ("event_type=teleport", "unknown EventKind"),
        ("pool=gold", "unknown Pool"),
        ("status=maybe", "unknown Status"),
        ("date_from=yesterday", "neither a date"),
        ("date_to=2026-02-30", "neither a date"),
        ("range=fortnight", "unknown range"),
        ("range=today&date_from=2026-03-01", "either range or date_from"),
        ("date_from=2026-03-05&date_to=2026-03-01", "must be after date_from"),
        ("colour=red", "unknown query parameter"),
        ("limit=5&limit=6", "more than once"),
    ];
    for (q, says) in cases {
        let (s, v) = app.get(&format!("/api/organizations/{ORG}/credit-events?{q}")).await;
        assert_eq!(s, 422, "{q}: {v}");
        assert_eq!(v["error"]["code"], "validation_error", "{q}: {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(says), "{q}: {msg}");
    }
    for q in ["limit=10&format=csv", "cursor=c5", "offset=0", "format=pdf", "layout=wide", "range=never"] {
        let (s, v) = app.get(&format!("/api/organizations/{ORG}/credit-events/export?{q}")).await;
        assert_eq!((s, v["error"]["code"].as_str()), (422, Some("validation_error")), "{q}: {v}");
    }
    let (s, v) = app.get("/api/organizations/nope/credit-events/export?format=csv").await;
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("not_found")), "{v}");
    let (s, v) = app.get("/api/organizations/nope/credit-events/export?format=xlsx").await;
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("not_found")), "{v}");
    let (s, v) = app.get("/api/organizations/nope/credit-events?range=today").await;
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("not_found")), "{v}");
    let got =
        app.client.get(format!("{}/api/organizations/{ORG}/credit-events/export", app.base)).send().await.unwrap();
    assert_eq!(got.status().as_u16(), 401);
    app.stop().await;
}

#[tokio::test]
async fn cursor_pages_see_each_event_once_while_writes_arrive() {
    let app = App::start("2026-03-10T12:00:00Z").await;
    app.create_org().await;
    app.run(credit(CreditKind::Grant, "1000000", None)).await;
    for batch in 0..10 {
        let cmds = (0..1000)
            .map(|i| {
                let c = ctx(SERVICES[i % 3], PROJECTS[i % 3], USERS[(i + batch) % 3]);
                Command::new(ORG, Op::Usage { amount: m("0.01"), ctx: c }, None)
            })
            .collect();
        assert!(app.store.execute(cmds).await.iter().all(|r| r.is_ok()));
    }
    let before: Vec<u64> = (1..=10_001).rev().collect();
    for (query, filter) in [
        ("", EventFilter::default()),
        ("project_id=p2", EventFilter { project_id: Some("p2".into()), ..EventFilter::default() }),
    ] {
        let snapshot: Vec<u64> = app.all_events().await.iter().filter(|e| filter.matches(e)).map(|e| e.seq).collect();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut written = 0;
        loop {
            let mut path = format!("/api/organizations/{ORG}/credit-events?limit=100&{query}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let (s, v) = app.get(&path).await;
            assert_eq!(s, 200, "{v}");
            let page: Vec<u64> = v["events"].as_array().unwrap().iter().map(seq_of).collect();
            if cursor.is_none() {
                // The first page may already see new events; skip them.
                seen.extend(page.iter().filter(|s| **s <= *snapshot.first().unwrap()));
            } else {
                seen.extend(page);
            }
            // New events arrive between pages.
            let cmds = (0..7)
                .map(|i| {
                    Command::new(
                        ORG,
                        Op::Usage { amount: m("0.01"), ctx: ctx("Scraping", PROJECTS[i % 3], USERS[0]) },
                        None,
                    )
                })
                .collect();
            assert!(app.store.execute(cmds).await.iter().all(|r| r.is_ok()));
            written += 7;
            match v["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert!(written > 30);
        let unique: BTreeSet<u64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "no event twice ({query:?})");
        assert_eq!(seen, snapshot, "every event once, newest first ({query:?})");
    }
    assert_eq!(before.len(), 10_001);
    app.stop().await;
}

/// Parses a report CSV into rows of cells (header first).
fn csv_rows(body: &[u8]) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(body);
    r.records().map(|rec| rec.unwrap().iter().map(str::to_string).collect()).collect()
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The seed layouts over HTTP: seed 003's and seed 001's columns, one row
/// per event the API pages give, in CSV and Excel; their amounts add up to
/// what happened to the available balance (a hold counted once), and the
/// history API answers seed 001's names for the same events.
#[tokio::test]
async fn fpt_and_events_exports_read_as_their_seeds() {
    let app = App::start("2026-02-16T07:00:00Z").await;
    varied_history(&app).await;
    let api = app.pages("", 100).await;
    let oldest = api.last().unwrap();
    let before = oldest["balance_after"]
        .to_string()
        .parse::<Micros>()
        .unwrap()
        .checked_sub(oldest["amount"].to_string().parse::<Micros>().unwrap());
    let change = |rows: &[Vec<String>], col: usize| {
        rows[1..].iter().fold(Micros::ZERO, |t, r| t.checked_add(r[col].parse::<Micros>().unwrap()).unwrap())
    };
    let available = |v: &Value| v["balance_after"].to_string().parse::<Micros>().unwrap();
    // The first event is a grant into an empty org: the change is the last balance.
    assert_eq!(before, Some(Micros::ZERO), "{oldest}");
    let last = available(&api[0]);

    let got = app.raw(&format!("/api/organizations/{ORG}/credit-events/export?format=csv&layout=fpt")).await;
    assert_eq!(got.status, 200);
    let rows = csv_rows(&got.body);
    assert_eq!(rows[0], ["Date", "Service", "Source", "Description", "Code", "Status", "Amount"]);
    assert_eq!(rows.len(), api.len() + 1);
    for (row, e) in rows[1..].iter().zip(&api) {
        assert_eq!(row[0].parse::<Timestamp>().unwrap(), ts(e["created_at"].as_str().unwrap()));
        let status = match text(&e["status"]).as_str() {
            "succeeded" => "Success",
            "processing" => "Processed",
            _ => "Failed",
        };
        assert_eq!(row[5], status);
        if e["kind"] == "voucher" {
            assert_eq!((row[1].as_str(), row[2].as_str(), row[4].clone()), ("System", "Voucher", text(&e["code"])));
        }
    }
    assert_eq!(change(&rows, 6), last, "fpt amounts sum to the balance");

    let got = app.raw(&format!("/api/organizations/{ORG}/credit-events/export?format=csv&layout=events")).await;
    assert_eq!(got.status, 200);
    let rows = csv_rows(&got.body);
    assert_eq!(rows[0][..3], ["created_at", "event_type", "source"]);
    assert_eq!(rows.len(), api.len() + 1);
    assert_eq!(change(&rows, 5), last, "seed 001 credits sum to the balance");
    let seed = app.get("/api/organizations/acme/credit-events?limit=100&fields=events").await.1;
    for ((row, e), s) in rows[1..].iter().zip(&api).zip(seed["events"].as_array().unwrap()) {
        let kind: EventKind = text(&e["kind"]).parse().unwrap();
        let want = match kind {
            EventKind::Hold => "reservation",
            EventKind::Release => "reservation_released",
            EventKind::Purchase => "prepaid_purchase",
            EventKind::Debit => "usage",
            other => other.as_str(),
        };
        assert_eq!((row[1].as_str(), s["event_type"].as_str().unwrap()), (want, want));
        assert_eq!(row[5].parse::<Micros>().unwrap(), s["credits"].to_string().parse::<Micros>().unwrap());
        assert_eq!(row[3], text(&s["project_id"]));
        assert!(row[0].ends_with("+00:00"), "UTC: {}", row[0]);
    }

    for layout in ["fpt", "events"] {
        let got = app.raw(&format!("/api/organizations/{ORG}/credit-events/export?format=xlsx&layout={layout}")).await;
        assert_eq!(got.status, 200, "{layout}");
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(got.body)).unwrap();
        let sheet: Vec<Vec<Data>> = book.worksheet_range("History").unwrap().rows().map(|r| r.to_vec()).collect();
        assert_eq!(sheet.len(), api.len() + 1, "{layout}");
        let col = if layout == "fpt" { 6 } else { 5 };
        let total = sheet[1..].iter().fold(0i64, |t, r| match &r[col] {
            Data::Float(f) => t + (f * 1e6).round() as i64,
            other => panic!("{layout}: amount {other:?}"),
        });
        assert_eq!(total, last.micros(), "{layout} in Excel");
    }
    let got = app.raw(&format!("/api/organizations/{ORG}/credit-events/export?layout=fancy")).await;
    assert_eq!(got.status, 422);
    assert!(String::from_utf8_lossy(&got.body).contains("report, fpt, events or full"));
    app.stop().await;
}

#[tokio::test]
async fn report_csv_equals_the_api_rows_and_xlsx_holds_them_typed() {
    let app = App::start("2026-02-16T07:00:00Z").await;
    varied_history(&app).await;
    let query = "event_type=usage,debit,hold&date_from=2026-02-20&date_to=2026-03-05";
    let api = app.pages(query, 100).await;
    assert!(api.len() > 30);

    let got = app.raw(&format!("/api/organizations/{ORG}/credit-events/export?format=csv&layout=report&{query}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        got.header("content-disposition"),
        "attachment; filename=\"credit-history_acme_2026-02-20_2026-03-05.csv\""
    );
    let rows = csv_rows(&got.body);
    assert_eq!(
        rows[0],
        ["Case Name", "Case ID", "User's Name", "Email", "Kind", "Amount", "Created At", "Description"]
    );
    assert_eq!(rows.len(), api.len() + 1);
    for (row, e) in rows[1..].iter().zip(&api) {
        let kind: EventKind = text(&e["kind"]).parse().unwrap();
        assert_eq!(row[0], text(&e["project_name"]));
        assert_eq!(row[1], text(&e["project_id"]));
        assert_eq!(row[2], text(&e["user_name"]));
        assert_eq!(row[3], text(&e["user_email"]));
        assert_eq!(row[4], kind.title());
        // A debit reads 0 (its credits left with its hold) and says what it
        // captured; every other row its amount.
        let amount = e["amount"].to_string().parse::<Micros>().unwrap();
        assert_eq!(row[5].parse::<Micros>().unwrap(), if kind == EventKind::Debit { Micros::ZERO } else { amount });
        // Local time with its offset, the same instant.
        assert!(row[6].ends_with("+01:00"), "{}", row[6]);
        assert_eq!(row[6].parse::<Timestamp>().unwrap(), ts(e["created_at"].as_str().unwrap()));
        if kind == EventKind::Debit {
            let note = format!("{} credits captured from hold {}", amount.checked_neg().unwrap(), text(&e["hold_id"]));
            assert!(row[7].starts_with(&text(&e["description"])) && row[7].contains(&note), "{}", row[7]);
        } else {
            assert_eq!(row[7], text(&e["description"]));
        }
    }

    let got = app.raw(&format!("/api/organizations/{ORG}/credit-events/export?format=xlsx&{query}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert!(got.header("content-disposition").ends_with(".xlsx\""));
    assert_eq!(got.header("content-length"), got.body.len().to_string());
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(got.body)).unwrap();
    let range = book.worksheet_range("History").unwrap();
    let sheet: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
    assert_eq!(sheet.len(), api.len() + 1);
    assert_eq!(sheet[0][0], Data::String("Case Name".into()));
    for (row, e) in sheet[1..].iter().zip(&api) {
        assert_eq!(row[1], Data::String(text(&e["project_id"])));
        assert_eq!(row[3], Data::String(text(&e["user_email"])));
        let amount = e["amount"].to_string().parse::<Micros>().unwrap();
        let amount = if e["kind"] == "debit" { Micros::ZERO } else { amount };
        assert_eq!(row[5], Data::Float(amount.micros() as f64 / 1e6), "Amount is a number cell");
        assert!(matches!(&row[6], Data::DateTime(dt) if dt.is_datetime()), "Created At is a date-time cell");
    }

    // The full layout reads back into the very events the API serves.
    let got = app.raw(&format!("/api/organizations/{ORG}/credit-events/export?layout=full&{query}")).await;
    assert_eq!(got.status, 200);
    // (oldest first by default for the full layout, the order a ledger reads).
    let parsed = creditd_export::parse_full_csv(&got.body[..], ORG).unwrap();
    let mut api_events: Vec<Event> = api.iter().map(|v| serde_json::from_value(v.clone()).unwrap()).collect();
    api_events.reverse();
    assert_eq!(parsed, api_events);
    let got = app.raw(&format!("/api/organizations/{ORG}/credit-events/export?layout=full&order=newest&{query}")).await;
    let newest: Vec<Vec<String>> = csv_rows(&got.body);
    assert_eq!(newest[1][1], api[0]["seq"].to_string());

    // An empty selection is still a file with its header.
    let got = app.raw(&format!("/api/organizations/{ORG}/credit-events/export?service=Nothing")).await;
    assert_eq!(got.status, 200);
    assert_eq!(csv_rows(&got.body).len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn formula_injection_is_neutralised_end_to_end() {
    let app = App::start("2026-03-10T12:00:00Z").await;
    app.create_org().await;
    app.run(credit(CreditKind::Grant, "100", None)).await;
    let evil = EventCtx {
        project_id: Some("@SUM(A1:A9)".into()),
        project_name: Some("=HYPERLINK(\"http://x.example\",\"click\")".into()),
        user_name: Some("+cmd|' /C calc'!A0".into()),
        user_email: Some("-2+3@example.com".into()),
        description: Some("\t=1+1".into()),
        ..EventCtx::default()
    };
    app.run(Op::Usage { amount: m("1"), ctx: evil }).await;
    let got = app.raw(&format!("/api/organizations/{ORG}/credit-events/export?format=csv")).await;
    let rows = csv_rows(&got.body);
    let row = &rows[1];
    for cell in &row[0..4] {
        assert!(cell.starts_with('\''), "{cell:?} is defused");
    }
    assert!(row[7].starts_with('\''), "{:?}", row[7]);
    // Amounts stay numbers: a negative amount is not text.
    assert_eq!(row[5], "-1");
    // Excel cells are strings, never formulas.
    let got = app.raw(&format!("/api/organizations/{ORG}/credit-events/export?format=xlsx")).await;
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(got.body)).unwrap();
    let formulas = book.worksheet_formula("History").unwrap();
    assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "no formula cells");
    let range = book.worksheet_range("History").unwrap();
    assert_eq!(range.get((1, 0)), Some(&Data::String("=HYPERLINK(\"http://x.example\",\"click\")".into())));
    // The full layout reads back to the original text.
    let got = app.raw(&format!("/api/organizations/{ORG}/credit-events/export?layout=full")).await;
    let parsed = creditd_export::parse_full_csv(&got.body[..], ORG).unwrap();
    assert!(parsed.iter().any(|e| e.project_name.as_deref() == Some("=HYPERLINK(\"http://x.example\",\"click\")")));
    app.stop().await;
}
