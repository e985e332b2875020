//! `creditd backup` while a server writes, and `creditd restore`: the copy
//! is one consistent moment of the live database (every org's events a
//! prefix of the live ones, between what was acknowledged when the backup
//! began and when it ended), it verifies, and a server started on the
//! restored directory serves exactly that prefix.

use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_json::{Value, json};

const KEY: &str = "backup-test-service-key-0123456789";

fn creditd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_creditd")).args(args).output().expect("running creditd")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every event of org `o`, oldest first, through the API's cursor pages.
async fn history(c: &reqwest::Client, base: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let url = format!("{base}/api/organizations/o/credit-events?limit=100{cursor}");
        let page: Value = c.get(url).bearer_auth(KEY).send().await.expect("page").json().await.expect("json");
        out.extend(page["events"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    out.reverse();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_writing_is_a_consistent_prefix_that_restores() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (live_dir, copy, restored) =
        (dir.path().join("live"), dir.path().join("copy.sqlite"), dir.path().join("restored"));
    let (mut live, addr) = super::serve::spawn_serve(&["--data-dir".as_ref(), live_dir.as_os_str()], KEY);
    let base = format!("http://{addr}");
    let c = reqwest::Client::new();
    let post = {
        let (c, base) = (c.clone(), base.clone());
        move |path: String, body: Value, key: Option<String>| {
            let c = c.clone();
            let url = format!("{base}{path}");
            async move {
                let mut r = c.post(url).bearer_auth(KEY).json(&body);
                if let Some(k) = key {
                    r = r.header("Idempotency-Key", k);
                }
                r.send().await.expect("request").status().as_u16()
            }
        }
    };
    assert_eq!(post("/api/organizations".into(), json!({"id": "o", "name": "O"}), None).await, 201);
    assert_eq!(
        post("/api/organizations/o/credits".into(), json!({"kind": "grant", "amount": 100000}), None).await,
        201
    );

    // Four writers, each usage acknowledged counted, until told to stop.
    let acked = Arc::new(AtomicU64::new(2));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (acked, stop, post) = (acked.clone(), stop.clone(), post.clone());
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let status =
                    post("/api/organizations/o/usage".into(), json!({"amount": "0.5"}), Some(format!("w{w}-{i}")))
                        .await;
                assert_eq!(status, 201);
                acked.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    while acked.load(Ordering::Relaxed) < 300 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before = acked.load(Ordering::Relaxed);
    let args = ["backup".to_string(), "--data-dir".into(), live_dir.display().to_string(), copy.display().to_string()];
    let out = tokio::task::spawn_blocking(move || creditd(&args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .expect("task");
    let after = acked.load(Ordering::Relaxed);
    assert!(out.status.success(), "backup: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("the copy verifies"), "{}", text(&out.stderr));
    // A little more writing after it, then the live history.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.expect("writer");
    }
    let live_events = history(&c, &base).await;
    assert!(live_events.len() as u64 > after, "writes went on after the backup");

    // Refusals: a backup never overwrites; a restore needs a free, empty directory.
    let out = creditd(&["backup", "--data-dir", live_dir.to_str().unwrap(), copy.to_str().unwrap()]);
    assert!(!out.status.success() && text(&out.stderr).contains("already exists"), "{}", text(&out.stderr));
    let out = creditd(&["restore", copy.to_str().unwrap(), "--data-dir", live_dir.to_str().unwrap()]);
    assert!(!out.status.success() && text(&out.stderr).contains("stop it before restoring"), "{}", text(&out.stderr));
    let garbage = dir.path().join("garbage.sqlite");
    std::fs::write(&garbage, b"not a database").expect("write");
    let out = creditd(&["restore", garbage.to_str().unwrap(), "--data-dir", restored.to_str().unwrap()]);
    assert!(!out.status.success(), "a file that is not a creditd database is refused");

    // A copy edited behind creditd's back does not verify, so it is not restored.
    let tampered = dir.path().join("tampered.sqlite");
    std::fs::copy(&copy, &tampered).expect("copy");
    let db = rusqlite::Connection::open(&tampered).expect("open");
    db.execute("UPDATE events SET amount = amount - 1000000 WHERE seq = 3", []).expect("tamper");
    drop(db);
    let out = creditd(&["restore", tampered.to_str().unwrap(), "--data-dir", restored.to_str().unwrap()]);
    assert!(!out.status.success() && text(&out.stderr).contains("does not verify"), "{}", text(&out.stderr));
    assert!(!restored.join("creditd.sqlite").exists(), "nothing was put in place");

    let out = creditd(&["restore", copy.to_str().unwrap(), "--data-dir", restored.to_str().unwrap()]);
    assert!(out.status.success(), "restore: {}", text(&out.stderr));
    let out = creditd(&["restore", copy.to_str().unwrap(), "--data-dir", restored.to_str().unwrap()]);
    assert!(!out.status.success() && text(&out.stderr).contains("holds a database already"), "{}", text(&out.stderr));
    let out = creditd(&["verify", "--data-dir", restored.to_str().unwrap()]);
    assert!(out.status.success(), "verify of the restored copy: {}{}", text(&out.stdout), text(&out.stderr));

    // The restored server serves a prefix of the live history: the moment
    // the backup read, between the writes acknowledged before and after it.
    let (mut copy_server, copy_addr) = super::serve::spawn_serve(&["--data-dir".as_ref(), restored.as_os_str()], KEY);
    let copied = history(&c, &format!("http://{copy_addr}")).await;
    let n = copied.len() as u64;
    assert!(before <= n && n <= after, "the copy holds {n} events; {before} were acknowledged before, {after} after");
    println!("backup: {before} events acknowledged before it, {n} in the copy, {after} after it");
    assert_eq!(copied[..], live_events[..copied.len()], "the copy is the live history's prefix, field for field");
    let balance: Value = c
        .get(format!("http://{copy_addr}/api/organizations/o/balance"))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("balance")
        .json()
        .await
        .expect("json");
    assert_eq!(balance["seq"].as_u64(), Some(n));
    assert_eq!(balance["available"], copied.last().unwrap()["balance_after"]);
    for child in [&mut live, &mut copy_server] {
        let _ = child.kill();
        let _ = child.wait();
    }
}
