//! `creditd demo`, the README's first command, as a new user runs it: the
//! seeded organisation is served, the printed one-time link signs its owner
//! in, and the Plan tab shows what the money-in features offer (Buy more
//! amounts, the plan catalogue for Change plan), with usage alerts set, and
//! its price book shows on the Plan tab and in the Credits tab's quantities.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn the_demo_signs_its_owner_in_and_offers_buy_more_and_change_plan() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_creditd"))
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("demo"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.split("listening on http://").nth(1).and_then(|r| r.split_whitespace().next()) {
                let _ = tx.send(("addr", addr.to_string()));
            } else if let Some(path) = line.trim().split("/login/").nth(1) {
                let _ = tx.send(("token", path.to_string()));
            } else {
                eprintln!("[creditd demo] {line}");
            }
        }
    });
    let (mut addr, mut token) = (None, None);
    while addr.is_none() || token.is_none() {
        let (what, value) = rx.recv_timeout(Duration::from_secs(180)).expect("the demo did not start");
        match what {
            "addr" => addr = Some(value),
            _ => token = Some(value),
        }
    }
    let (addr, token) = (addr.unwrap(), token.unwrap());
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = http.get(format!("http://{addr}/login/{token}")).send().await.unwrap();
    assert_eq!(login.status().as_u16(), 303, "the printed link signs in");
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let plan = http.get(format!("http://{addr}/")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(plan.status().as_u16(), 200);
    let html = plan.text().await.unwrap();
    let credits = http.get(format!("http://{addr}/credits?range=last_month")).header("cookie", &cookie).send();
    let credits = credits.await.unwrap().text().await.unwrap();
    let _ = child.kill();
    let _ = child.wait();
    // The demo's price book: the rate card, and last month's priced usage
    // by price with its quantities.
    assert!(html.contains("id=\"rate-card\""), "the rate card: {html}");
    for line in ["<code>image_generation</code>", "1.2 per 1k tokens", "0.5 per row beyond 1,000 this period"] {
        assert!(html.contains(line), "the rate card has {line}: {html}");
    }
    assert!(credits.contains("data-testid=\"by-price\""), "how many of what: {credits}");
    for (key, unit) in
        [("image_generation", " image</td>"), ("tokens", " 1k tokens</td>"), ("enrichment_rows", " row</td>")]
    {
        let row = credits.split(&format!("<tr data-key=\"{key}\">")).nth(1).unwrap_or_default();
        assert!(row.split("</tr>").next().unwrap_or_default().contains(unit), "{key} in {unit}: {credits}");
    }
    assert!(html.contains("Genesys"), "the demo's plan: {html}");
    assert!(html.contains("data-testid=\"buy-more\""), "Buy more for the owner: {html}");
    for amount in ["1,000", "5,000", "10,000"] {
        assert!(html.contains(amount), "Buy more offers {amount}: {html}");
    }
    assert!(html.contains("data-testid=\"change-plan\""), "Change plan for the owner: {html}");
    assert!(html.contains("Scale") && html.contains("990 € / month"), "the catalogue's other plan: {html}");
}
