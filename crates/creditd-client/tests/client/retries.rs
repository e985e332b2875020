//! The retry policy against a loopback server that answers as each test
//! scripts it and records every request it received.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use creditd_client::{Client, Error, ErrorCode, ExportRequest, NewHold, NewOrganization, Usage};
use std::io::{Read, Write};
use std::net::TcpListener;

/// What the fake answers to one request.
#[derive(Clone)]
enum Reply {
    /// A status, extra header lines, a body.
    Http(u16, &'static str, String),
    /// Close the connection without answering (the request did arrive).
    Close,
    /// Answer nothing for this long, then close.
    Hang(Duration),
    /// A CSV download that breaks off after this body.
    BrokenCsv(&'static str),
}

fn error_body(code: &str) -> String {
    format!(r#"{{"error":{{"code":"{code}","message":"scripted {code}"}}}}"#)
}

/// One request as received.
#[derive(Clone, Debug)]
struct Seen {
    request_line: String,
    idempotency_key: Option<String>,
    body: String,
}

struct Fake {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// Answers the scripted replies in order, the last one forever after (a
/// plain thread with blocking sockets, apart from the tests' runtime).
fn fake(replies: Vec<Reply>) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for (n, sock) in listener.incoming().enumerate() {
            let Ok(mut sock) = sock else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                let Ok(k) = sock.read(&mut chunk) else { break None };
                if k == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..k]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(i + 4);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
            let header = |name: &str| {
                head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                })
            };
            let len: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
            while buf.len() < head_end + len {
                match sock.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => buf.extend_from_slice(&chunk[..k]),
                }
            }
            log.lock().unwrap().push(Seen {
                request_line: head.lines().next().unwrap_or_default().to_owned(),
                idempotency_key: header("idempotency-key"),
                body: String::from_utf8_lossy(&buf[head_end..]).into_owned(),
            });
            match replies[n.min(replies.len() - 1)].clone() {
                Reply::Close => drop(sock),
                Reply::BrokenCsv(body) => {
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/csv\r\ncontent-disposition: attachment; filename=\"h.csv\"\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len() + 1000
                    );
                    let _ = sock.write_all(answer.as_bytes());
                    drop(sock);
                }
                Reply::Hang(d) => {
                    std::thread::sleep(d);
                    drop(sock);
                }
                Reply::Http(status, extra, body) => {
                    let ctype = if body.starts_with('{') { "application/json" } else { "text/html" };
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(answer.as_bytes());
                    let _ = sock.shutdown(std::net::Shutdown::Write);
                }
            }
        }
    });
    Fake { url, seen }
}

fn client(url: &str, retries: u32) -> Client {
    Client::builder(url, "test-key-0123456789abcdef")
        .max_retries(retries)
        .backoff(Duration::from_millis(5), Duration::from_millis(20))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_write_is_retried_on_5xx_and_429_with_one_key() {
    let f = fake(vec![
        Reply::Http(503, "", error_body("overloaded")),
        Reply::Http(429, "retry-after: 0\r\n", error_body("too_many_exports")),
        Reply::Http(502, "", "<html>bad gateway</html>".into()),
        Reply::Http(409, "", error_body("insufficient_credits")),
    ]);
    let e = client(&f.url, 3).record_usage("acme", &Usage::new("2.5".parse().unwrap()), None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::InsufficientCredits), "{e}");
    let seen = f.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "{seen:?}");
    let key = seen[0].idempotency_key.clone().expect("a write carries a key");
    assert_eq!(key.len(), 36);
    for s in &seen {
        assert_eq!(s.request_line, "POST /api/organizations/acme/usage HTTP/1.1");
        assert_eq!(s.idempotency_key.as_deref(), Some(key.as_str()), "every retry reuses the key");
        assert_eq!(s.body, r#"{"amount":2.5}"#, "the amount is sent exactly, as a decimal");
    }

    // The caller's own key is the one sent.
    let f = fake(vec![
        Reply::Http(500, "", error_body("storage_error")),
        Reply::Http(404, "", error_body("hold_not_found")),
    ]);
    let e = client(&f.url, 3).debit_hold("acme", "h1", &Default::default(), Some("job-7")).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::HoldNotFound));
    let keys: Vec<_> = f.seen.lock().unwrap().iter().map(|s| s.idempotency_key.clone()).collect();
    assert_eq!(keys, vec![Some("job-7".to_owned()); 2]);
}

#[tokio::test]
async fn retries_stop_at_the_limit_and_never_on_4xx() {
    let f = fake(vec![Reply::Http(503, "", error_body("overloaded"))]);
    let e = client(&f.url, 2).get_balance("acme").await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Overloaded));
    assert_eq!(e.status(), Some(503));
    assert_eq!(f.seen.lock().unwrap().len(), 3, "one try and two retries");
    assert_eq!(f.seen.lock().unwrap()[0].idempotency_key, None, "a read carries no key");

    let f = fake(vec![Reply::Http(422, "x-request-id: req-42\r\n", error_body("validation_error"))]);
    let e = client(&f.url, 3).create_hold("acme", &NewHold::new("1".parse().unwrap()), None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::ValidationError));
    assert_eq!(e.request_id(), Some("req-42"));
    assert!(e.to_string().contains("scripted validation_error"), "{e}");
    assert_eq!(f.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_broken_connection_is_retried_only_where_a_key_makes_it_safe() {
    // createHold takes an Idempotency-Key: sent again, with the same key.
    let f = fake(vec![Reply::Close, Reply::Http(409, "", error_body("insufficient_credits"))]);
    let e = client(&f.url, 3).create_hold("acme", &NewHold::new("1".parse().unwrap()), None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::InsufficientCredits), "{e}");
    let seen = f.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].idempotency_key, seen[1].idempotency_key);

    // createOrganization does not: the request may have been applied.
    let f = fake(vec![Reply::Close, Reply::Http(201, "", "{}".into())]);
    let e = client(&f.url, 3)
        .create_organization(&NewOrganization { name: "x".into(), ..Default::default() })
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Connection { operation: "createOrganization", .. }), "{e:?}");
    assert_eq!(f.seen.lock().unwrap().len(), 1);

    // Nothing listening: retried (the request never left), then an error.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = client(&format!("http://127.0.0.1:{port}"), 2).health().await.unwrap_err();
    assert!(matches!(e, Error::Connection { operation: "getHealth", .. }), "{e:?}");
}

#[tokio::test]
async fn retry_after_is_waited_for() {
    let f = fake(vec![
        Reply::Http(429, "retry-after: 1\r\n", error_body("too_many_exports")),
        Reply::Http(200, "", r#"{"status":"ok"}"#.into()),
    ]);
    let t = Instant::now();
    let h = client(&f.url, 3).health().await.unwrap();
    assert_eq!(h.status, "ok");
    assert!(t.elapsed() >= Duration::from_millis(990), "waited {:?}", t.elapsed());
    assert_eq!(f.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn answers_outside_the_document_are_unexpected_responses() {
    // An error without the error shape (after the retries a 5xx gets).
    let f = fake(vec![Reply::Http(500, "", "<html>oops</html>".into())]);
    let e = client(&f.url, 1).get_balance("acme").await.unwrap_err();
    assert!(matches!(&e, Error::UnexpectedResponse { status: 500, .. }), "{e:?}");
    assert!(e.to_string().contains("oops"), "{e}");

    // A code the client does not know.
    let f = fake(vec![Reply::Http(409, "", error_body("brand_new_code"))]);
    let e = client(&f.url, 0).get_balance("acme").await.unwrap_err();
    assert!(matches!(&e, Error::UnexpectedResponse { status: 409, .. }), "{e:?}");
    assert!(e.to_string().contains("brand_new_code"), "{e}");

    // A success whose body is not the answer's schema.
    let f = fake(vec![Reply::Http(200, "", r#"{"available":"lots"}"#.into())]);
    let e = client(&f.url, 0).get_balance("acme").await.unwrap_err();
    assert!(matches!(&e, Error::UnexpectedResponse { operation: "getBalance", status: 200, .. }), "{e:?}");
}

#[tokio::test]
async fn a_timed_out_write_without_a_key_is_not_resent() {
    let f = fake(vec![Reply::Hang(Duration::from_millis(1500)), Reply::Http(201, "", "{}".into())]);
    let client = Client::builder(&f.url, "test-key-0123456789abcdef")
        .timeout(Duration::from_millis(300))
        .backoff(Duration::from_millis(5), Duration::from_millis(20))
        .build()
        .unwrap();
    let e = client.create_organization(&NewOrganization { name: "x".into(), ..Default::default() }).await.unwrap_err();
    match &e {
        Error::Connection { operation: "createOrganization", source } => assert!(source.is_timeout(), "{source}"),
        other => panic!("{other:?}"),
    }
    // Long enough for a resend to have been read after the hang.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert_eq!(f.seen.lock().unwrap().len(), 1, "the request may have been applied: not sent again");
}

#[test]
fn a_client_needs_a_key_and_an_http_url() {
    for (url, key) in [
        ("http://127.0.0.1:1", ""),
        ("http://127.0.0.1:1", "   "),
        ("not a url", "k"),
        ("ftp://h/", "k"),
        ("mailto:a@b", "k"),
    ] {
        let e = Client::new(url, key).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{url} {key:?}: {e:?}");
    }
    let c = Client::new("https://credits.example.com/base/?x=1#y", "k").unwrap();
    assert_eq!(c.base_url().as_str(), "https://credits.example.com/base/");
    // The key never shows in debug output.
    let shown = format!("{c:?} {:?}", Client::builder("http://h", "secret-key-123"));
    assert!(!shown.contains("secret-key-123") && !shown.contains("Bearer"), "{shown}");
}

#[tokio::test]
async fn a_broken_download_leaves_no_file() {
    let f = fake(vec![Reply::BrokenCsv("Kind,Amount\ngrant,1\n")]);
    let dir = tempfile::tempdir().unwrap();
    let e = client(&f.url, 3).export_credit_events("acme", &ExportRequest::csv(), dir.path()).await.unwrap_err();
    assert!(matches!(e, Error::Connection { operation: "exportCreditEvents", .. }), "{e:?}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "neither h.csv nor h.csv.part: {left:?}");
    assert_eq!(f.seen.lock().unwrap().len(), 1, "a download that began is not started again");
}
