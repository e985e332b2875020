//! The README's five-minute example, run against a live server. The code
//! between the markers below is the README's `rust` block word for word
//! (the first test checks), so the README cannot drift from what runs.

// README example start
use std::path::Path;

use creditd_client::webhooks;
use creditd_client::{Client, Credit, Debit, ExportRequest, HistoryFilter, NewHold, NewOrganization, TryStreamExt};

async fn five_minutes(client: &Client, downloads: &Path) -> Result<(), Box<dyn std::error::Error>> {
    // An organisation with 100 credits.
    let org = client.create_organization(&NewOrganization { name: "Acme".into(), ..Default::default() }).await?.id;
    client.grant_credits(&org, &Credit::grant("100".parse()?), None).await?;

    // Reserve 30 before the work starts; capture 25 when it is delivered.
    // The key makes the write safe to retry: a retry gets the first result.
    let held = client.create_hold(&org, &NewHold::new("30".parse()?), Some("job-1-hold")).await?;
    let hold_id = held.hold.expect("a hold").id;
    let debit = Debit { amount: Some("25".parse()?), ..Default::default() };
    let done = client.debit_hold(&org, &hold_id, &debit, Some("job-1-debit")).await?;
    println!("available {} held {}", done.balance.available, done.balance.held);

    // Refusals carry the server's error code.
    let again = client.debit_hold(&org, &hold_id, &Debit::default(), None).await.unwrap_err();
    assert_eq!(again.code(), Some(creditd_client::ErrorCode::HoldAlreadySettled));

    // The history, newest first, page after page by cursor.
    let mut events = client.credit_event_pages(&org, HistoryFilter::default(), Some(100)).events();
    while let Some(event) = events.try_next().await? {
        println!("{} {:?} {} -> {}", event.seq, event.kind, event.amount, event.balance_after);
    }

    // Everything as CSV, streamed to a file.
    let export = client.export_credit_events(&org, &ExportRequest::csv(), downloads).await?;
    println!("wrote {} bytes to {:?}", export.bytes, export.path);
    Ok(())
}

/// In your webhook handler: check the raw body before trusting it.
fn on_webhook(secret: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<serde_json::Value, creditd_client::Error> {
    let header = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map_or("", |(_, v)| *v);
    webhooks::verify(secret, header(webhooks::SIGNATURE_HEADER), header(webhooks::ID_HEADER), body)
}
// README example end

use crate::common::Server;

const THIS: &str = include_str!("readme.rs");
const README: &str = include_str!("../../README.md");

#[test]
fn the_readme_shows_this_code() {
    let start = THIS.find("// README example start\n").unwrap() + "// README example start\n".len();
    let end = THIS.find("// README example end\n").unwrap();
    let example = &THIS[start..end];
    let block =
        README.split("```rust\n").nth(1).and_then(|b| b.split("```").next()).expect("the README has a rust block");
    assert!(block.contains(example), "README.md's rust block differs from tests/client/readme.rs:\n{example}");
}

#[tokio::test]
async fn the_readme_example_runs() {
    let server = Server::start();
    let client = server.client();
    let dir = tempfile::tempdir().unwrap();
    five_minutes(&client, dir.path()).await.unwrap();
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let csv = std::fs::read_to_string(&files[0]).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 4,
        "a header, the grant, the hold, the debit and the release of the rest:\n{csv}"
    );

    let body = br#"{"type":"low_balance"}"#;
    let now = jiff::Timestamp::now().as_second();
    let signature = webhooks::sign("whsec_x", "msg_1", now, body);
    let headers = [("Creditd-Signature", signature.as_str()), ("Creditd-Webhook-Id", "msg_1")];
    assert_eq!(on_webhook("whsec_x", &headers, body).unwrap()["type"], "low_balance");
    assert!(on_webhook("whsec_y", &headers, body).is_err());
}
