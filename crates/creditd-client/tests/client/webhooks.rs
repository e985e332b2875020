//! Webhook signatures: a real delivery from a live server checks with the
//! client's `verify`; changed bodies, ids, secrets and stale times do not.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use creditd_client::webhooks::{self, ID_HEADER, SIGNATURE_HEADER, TYPE_HEADER};
use creditd_client::{Context, Credit, CreditKind, Error, NewEndpoint, Settlement, Status};

use crate::common::{Server, c, org};

/// A received POST: its headers (lower-case names) and raw body.
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default()
    }
}

/// A receiver on a loopback port that answers 204 to everything.
fn receiver() -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/creditd", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let end = loop {
                match sock.read(&mut chunk) {
                    Ok(0) | Err(_) => break None,
                    Ok(k) => buf.extend_from_slice(&chunk[..k]),
                }
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(i + 4);
                }
            };
            let Some(end) = end else { continue };
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let headers: Vec<(String, String)> = head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned())))
                .collect();
            let len: usize =
                headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
            while buf.len() < end + len {
                match sock.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => buf.extend_from_slice(&chunk[..k]),
                }
            }
            let _ = sock.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
            let _ = tx.send(Received { headers, body: buf[end..].to_vec() });
        }
    });
    (url, rx)
}

#[tokio::test]
async fn a_real_delivery_verifies_and_a_changed_one_does_not() {
    let server = Server::start();
    let client = server.client();
    let o = org(&client, "hooks").await;
    let (url, inbox) = receiver();
    let created = client
        .create_webhook_endpoint(
            &o,
            &NewEndpoint { url: url.clone(), event_types: Some(vec!["purchase_settled".into()]) },
        )
        .await
        .unwrap();
    assert!(created.secret.starts_with("whsec_"), "{}", created.secret);
    assert_eq!(created.endpoint.url, url);
    assert!(created.secret.starts_with(&created.endpoint.secret_prefix));

    let bought = client
        .grant_credits(
            &o,
            &Credit { status: Some(Status::Processing), ..Credit::new(CreditKind::Purchase, c("12.5")) },
            None,
        )
        .await
        .unwrap();
    let purchase = bought.purchase.unwrap().id;
    client
        .settle_purchase(&o, &purchase, &Settlement { status: Status::Succeeded, ctx: Context::default() }, None)
        .await
        .unwrap();

    let got = tokio::task::spawn_blocking(move || inbox.recv_timeout(Duration::from_secs(30)))
        .await
        .unwrap()
        .expect("a delivery within 30 s");
    assert_eq!(got.header(TYPE_HEADER), "purchase_settled");
    let (sig, id) = (got.header(SIGNATURE_HEADER), got.header(ID_HEADER));
    let message = webhooks::verify(&created.secret, sig, id, &got.body).unwrap();
    assert!(message.to_string().contains(&purchase), "{message}");

    // Anything changed fails: the body, the id, the secret.
    let mut body = got.body.clone();
    body.push(b' ');
    for (secret, id, body) in [
        (created.secret.as_str(), id, body.as_slice()),
        (created.secret.as_str(), "msg_other", got.body.as_slice()),
        ("whsec_wrong", id, got.body.as_slice()),
    ] {
        let e = webhooks::verify(secret, sig, id, body).unwrap_err();
        assert!(matches!(e, Error::Webhook(_)), "{e:?}");
    }

    // The delivery is recorded as delivered.
    let mut delivered = false;
    for _ in 0..50 {
        let d = client.list_webhook_deliveries(&o, &created.endpoint.id, Some(10)).await.unwrap();
        if d.deliveries.iter().any(|d| d.message_id == id && d.status == "delivered") {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(delivered, "the server recorded the delivery");
}

#[test]
fn signatures_check_time_and_every_v1() {
    let body = br#"{"type":"low_balance"}"#;
    let header = webhooks::sign("whsec_s", "msg_1", 1_000_000, body);
    assert!(header.starts_with("t=1000000,v1="));
    let ok = |h: &str, now: i64| webhooks::verify_at("whsec_s", h, "msg_1", body, now, 300);
    assert_eq!(ok(&header, 1_000_000).unwrap()["type"], "low_balance");
    assert!(ok(&header, 1_000_300).is_ok(), "at the tolerance");
    assert!(ok(&header, 1_000_301).is_err(), "past it");
    assert!(ok(&header, 999_699).is_err(), "before it");
    // A rotated secret: any v1 may match.
    let v1 = header.split("v1=").nth(1).unwrap();
    assert!(ok(&format!("t=1000000,v1=00ff,v1={v1}"), 1_000_000).is_ok());
    for bad in ["", "t=1000000", &format!("v1={v1}"), &format!("t=x,v1={v1}"), "t=1000000,v1=zz"] {
        assert!(ok(bad, 1_000_000).is_err(), "{bad:?}");
    }
    assert!(webhooks::verify_at("whsec_s", &header, "", body, 1_000_000, 300).is_err());
    // A signed body that is not JSON is refused too.
    let h = webhooks::sign("whsec_s", "msg_1", 5, b"not json");
    assert!(webhooks::verify_at("whsec_s", &h, "msg_1", b"not json", 5, 300).is_err());
}
