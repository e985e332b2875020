//! Crash safety: `creditd serve` is killed with SIGKILL at random moments
//! while many clients write (holds, debits, usage, each with an idempotency
//! key), and restarted on the same data directory. Afterwards:
//!
//! - every acknowledged write is there: replaying its key returns the very
//!   events it was acknowledged with, and they are in the database;
//! - nothing is half-applied: every stored event belongs to exactly one
//!   operation's outcome (no orphan event, no key on two operations), and an
//!   unacknowledged write is either wholly there or not at all;
//! - `creditd verify` passes (balances and the hash chain).
//!
//! CI runs a short version (`CREDITD_CRASH_KILLS`, default 10 kills). The
//! longer run: `CREDITD_CRASH_KILLS=200 cargo test --release -p creditd --test crash -- --nocapture`.

#[path = "cli/serve.rs"]
mod serve;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Value, json};

const KEY: &str = "crash-test-service-key-0123456789";
const ORG: &str = "crash";
const CLIENTS: usize = 12;

struct Server {
    child: Child,
    base: String,
}

fn spawn(data_dir: &Path) -> Server {
    let (child, addr) = serve::spawn_serve(&["--data-dir".as_ref(), data_dir.as_os_str()], KEY);
    Server { child, base: format!("http://{addr}/api/organizations/{ORG}") }
}

/// One write as sent: where, what, its key, and what came back.
#[derive(Clone, Debug)]
struct Write {
    path: String,
    body: Value,
    key: String,
    /// The 2xx answer, if one arrived; `None`: no answer (the server died).
    acked: Option<Value>,
}

fn event_seqs(outcome: &Value) -> Vec<(u64, String, String)> {
    outcome["events"]
        .as_array()
        .map(|es| {
            es.iter()
                .map(|e| (e["seq"].as_u64().unwrap_or(0), e["kind"].to_string(), e["amount"].to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The current server's base URL; empty while it is down.
#[derive(Default)]
struct Target {
    base: Mutex<String>,
}

async fn client_loop(
    id: usize,
    target: Arc<Target>,
    stop: Arc<AtomicBool>,
    writes: Arc<Mutex<Vec<Write>>>,
    sent: Arc<AtomicU64>,
) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let mut open_holds: Vec<String> = Vec::new();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let base = target.base.lock().unwrap().clone();
        if base.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        n += 1;
        let (path, body) = {
            let mut rng = rand::rng();
            let amount = format!("{}.{:02}", rng.random_range(0..5), rng.random_range(1..100));
            match rng.random_range(0..3) {
                0 => ("/holds".to_string(), json!({"amount": amount, "service": "crash", "user_email": "c@x.io"})),
                1 if !open_holds.is_empty() => {
                    let h = open_holds.swap_remove(rng.random_range(0..open_holds.len()));
                    let body = if rng.random_bool(0.5) { json!({}) } else { json!({"amount": "0.01"}) };
                    (format!("/holds/{h}/debit"), body)
                }
                _ => ("/usage".to_string(), json!({"amount": amount, "activity": format!("client {id}")})),
            }
        };
        let key = format!("c{id}-{n}");
        sent.fetch_add(1, Ordering::Relaxed);
        let resp = http
            .post(format!("{base}{path}"))
            .bearer_auth(KEY)
            .header("idempotency-key", &key)
            .json(&body)
            .send()
            .await;
        let acked = match resp {
            Ok(r) => {
                let status = r.status().as_u16();
                match r.json::<Value>().await {
                    Ok(v) if (200..300).contains(&status) => Some(v),
                    // A refusal (409 hold already settled, …) is an answer but
                    // not a write; a 5xx must never happen.
                    Ok(v) => {
                        assert!(status < 500, "{path} answered {status}: {v}");
                        None
                    }
                    Err(_) => None,
                }
            }
            Err(_) => None,
        };
        if let Some(v) = &acked
            && let Some(h) = v["hold"]["id"].as_str()
        {
            open_holds.push(h.to_string());
        }
        writes.lock().unwrap().push(Write { path, body, key, acked });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    let kills: usize = std::env::var("CREDITD_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut server = spawn(dir.path());
    let http = reqwest::Client::new();
    let root = server.base.trim_end_matches(&format!("/{ORG}")).to_string();
    let r = http.post(&root).bearer_auth(KEY).json(&json!({"id": ORG, "name": "Crash"})).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let r = http
        .post(format!("{}/credits", server.base))
        .bearer_auth(KEY)
        .json(&json!({"kind": "grant", "amount": 10_000_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);

    let target = Arc::new(Target::default());
    *target.base.lock().unwrap() = server.base.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(Mutex::new(Vec::new()));
    let sent = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| tokio::spawn(client_loop(i, target.clone(), stop.clone(), writes.clone(), sent.clone())))
        .collect();

    for k in 0..kills {
        let wait = rand::rng().random_range(100..900);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        server.child.kill().expect("SIGKILL"); // SIGKILL on Unix
        let _ = server.child.wait();
        target.base.lock().unwrap().clear();
        server = spawn(dir.path());
        *target.base.lock().unwrap() = server.base.clone();
        if k % 10 == 9 {
            eprintln!("crash: {} kills, {} writes sent", k + 1, sent.load(Ordering::Relaxed));
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }

    // Replay every write with its key: an acknowledged one returns exactly
    // what was acknowledged; an unacknowledged one returns what was stored
    // (or is applied now, whole).
    let writes = std::mem::take(&mut *writes.lock().unwrap());
    let acked = writes.iter().filter(|w| w.acked.is_some()).count();
    let mut outcomes: HashMap<String, Vec<(u64, String, String)>> = HashMap::new();
    for w in &writes {
        let r = http
            .post(format!("{}{}", server.base, w.path))
            .bearer_auth(KEY)
            .header("idempotency-key", &w.key)
            .json(&w.body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert!(status < 500, "replay of {} answered {status}: {v}", w.key);
        if let Some(first) = &w.acked {
            assert!((200..300).contains(&status), "acknowledged {} is gone: {status} {v}", w.key);
            assert_eq!(event_seqs(first), event_seqs(&v), "replay of acknowledged {} differs", w.key);
        }
        if (200..300).contains(&status) {
            outcomes.insert(w.key.clone(), event_seqs(&v));
        }
    }
    server.child.kill().unwrap();
    let _ = server.child.wait();

    // The database: every event belongs to exactly one operation.
    let db = rusqlite::Connection::open(dir.path().join("creditd.sqlite")).unwrap();
    let mut st = db.prepare("SELECT seq, kind, amount, idempotency_key FROM events WHERE org_id = ?1").unwrap();
    let stored: BTreeMap<u64, (String, i64, Option<String>)> = st
        .query_map([ORG], |r| Ok((r.get::<_, i64>(0)? as u64, (r.get(1)?, r.get(2)?, r.get(3)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut owner: HashMap<u64, &str> = HashMap::new();
    for (key, events) in &outcomes {
        for (seq, kind, _) in events {
            let (stored_kind, _, _) = stored.get(seq).unwrap_or_else(|| panic!("{key}: event {seq} is not stored"));
            assert_eq!(&format!("{stored_kind:?}"), kind, "{key}: event {seq}");
            assert!(owner.insert(*seq, key).is_none(), "event {seq} belongs to two operations");
        }
        let keyed: Vec<u64> =
            stored.iter().filter(|(_, (_, _, k))| k.as_deref() == Some(key.as_str())).map(|(s, _)| *s).collect();
        assert_eq!(keyed.len(), 1, "{key} marks {keyed:?}");
    }
    // Seq 1 is the opening grant (sent without a key).
    let orphans: Vec<&u64> = stored.keys().filter(|s| **s != 1 && !owner.contains_key(s)).collect();
    assert!(orphans.is_empty(), "events of no operation (half-applied?): {orphans:?}");
    drop(st);
    drop(db);

    let out =
        Command::new(env!("CARGO_BIN_EXE_creditd")).arg("verify").arg("--data-dir").arg(dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "verify failed:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("hash chain intact"), "{text}");
    eprintln!(
        "crash: {kills} kills survived; {} writes sent, {acked} acknowledged and checked, {} stored events, {:.1} s",
        writes.len(),
        stored.len(),
        started.elapsed().as_secs_f64()
    );
}
