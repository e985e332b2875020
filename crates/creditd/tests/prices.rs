//! `creditd prices set|list` against a real `creditd serve`: a file becomes
//! a version, a bad file is refused with its line named and nothing
//! written, and the list shows every version's prices.

#[path = "cli/serve.rs"]
mod serve;

use std::process::Command;

const KEY: &str = "prices-test-service-key-0123456789";

fn prices(args: &[&str], url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_creditd"))
        .arg("prices")
        .args(args)
        .args(["--url", url])
        .env("CREDITD_SERVICE_KEY", KEY)
        .env_remove("CREDITD_URL")
        .output()
        .expect("running creditd prices")
}

#[test]
fn set_and_list_price_books() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut child, addr) = serve::spawn_serve(&["--data-dir".as_ref(), data.as_os_str()], KEY);
    let url = format!("http://{addr}");
    let good = dir.path().join("book.json");
    std::fs::write(
        &good,
        r#"{"prices": [
  {"key": "image_generation", "service": "images", "activity": "generate", "unit": "image", "credits_per_unit": 2.5},
  {"key": "enrichment", "service": "crm", "activity": "enrich", "unit": "row",
   "tiers": [{"up_to": 1000, "credits_per_unit": 1}, {"credits_per_unit": 0.5}]},
  {"key": "tokens_in", "service": "llm", "activity": "input", "unit": "1k tokens",
   "dimensions": {"model": "large"}, "credits_per_unit": 0.3}
]}"#,
    )
    .unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"prices\": [\n  {\"key\": \"k\", \"service\": \"s\", \"activity\": \"a\", \"unit\": \"u\",\n   \"credits_per_unit\": 0.0000001}\n]}",
    )
    .unwrap();

    let out = prices(&["set", "--book", "standard", bad.to_str().unwrap()], &url);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("validation_error") && err.contains("line 3"), "{err}");

    let out = prices(&["set", "--book", "standard", good.to_str().unwrap()], &url);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("price book standard version 1 written: 3 prices"));

    let out = prices(&["list"], &url);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.starts_with("standard v1 from "), "{listed}");
    assert!(listed.contains("  image_generation (images/generate): 2.5 per image\n"), "{listed}");
    assert!(listed.contains("  enrichment (crm/enrich): 1 per row up to 1000; 0.5 per row after\n"), "{listed}");
    assert!(listed.contains("  tokens_in [model=large] (llm/input): 0.3 per 1k tokens\n"), "{listed}");
    let _ = child.kill();
    let _ = child.wait();
}
