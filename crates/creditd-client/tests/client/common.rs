//! A real `creditd serve` per test: the binary of this target directory
//! (or `CREDITD_BIN`) on a loopback port it picks itself (port 0, read back
//! from its "listening on" line), a fresh data directory, a service key
//! given by environment. Dropping the [`Server`] kills the process.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use std::collections::HashMap;
use std::sync::LazyLock;

use creditd_client::transport::Answer;
use creditd_client::{Client, NewOrganization};

/// The `creditd` binary the tests start.
pub fn creditd_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("CREDITD_BIN") {
        return PathBuf::from(p);
    }
    // target/debug/deps/client-… → target/debug/creditd
    let exe = std::env::current_exe().expect("the test binary's path");
    let debug = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps");
    debug.join(format!("creditd{}", std::env::consts::EXE_SUFFIX))
}

/// A running `creditd serve`.
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The service key it was started with.
    pub key: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts one and waits until it listens (at most 30 s).
    pub fn start() -> Server {
        let bin = creditd_binary();
        assert!(
            bin.exists(),
            "no creditd binary at {}: build it first (`cargo build -p creditd` with this CARGO_TARGET_DIR) or set CREDITD_BIN",
            bin.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let key = format!("rust-client-test-{}", creditd_client::transport::new_idempotency_key());
        let mut child = Command::new(&bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--webhook-allow-network", "127.0.0.0/8", "--data-dir"])
            .arg(dir.path().join("db"))
            .env("CREDITD_SERVICE_KEY", &key)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            // Reads to the end, so the server never blocks on a full pipe.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let url = rest.split_whitespace().next().unwrap_or_default().to_owned();
                    let _ = tx.send(url);
                }
                lines.lock().unwrap().push(line);
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("creditd did not start listening:\n{}", log.lock().unwrap().join("\n"));
            }
        };
        Server { url, key, child, log, _dir: dir }
    }

    /// A client of it with short back-offs that holds every answer
    /// against `openapi.json` (a mismatch fails the test).
    pub fn client(&self) -> Client {
        Client::builder(&self.url, &self.key)
            .backoff(Duration::from_millis(10), Duration::from_millis(100))
            .observer(|a| {
                if let Err(why) = check_against_document(a) {
                    panic!("the server answered differently from openapi.json: {why}");
                }
            })
            .build()
            .unwrap()
    }

    /// What the server printed so far.
    #[allow(dead_code)]
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh organisation in `Europe/Madrid`, its id returned.
pub async fn org(client: &Client, id: &str) -> String {
    let created = client
        .create_organization(&NewOrganization {
            id: Some(id.to_owned()),
            name: format!("Test {id}"),
            time_zone: Some("Europe/Madrid".into()),
            ..NewOrganization::default()
        })
        .await
        .unwrap();
    assert_eq!(created.id, id);
    created.id
}

/// Credits from their exact decimal text.
pub fn c(text: &str) -> creditd_client::Micros {
    text.parse().unwrap()
}

/// The API document.
pub static DOC: LazyLock<serde_json::Value> = LazyLock::new(|| {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
});

type Validators = HashMap<(String, u16), Arc<jsonschema::Validator>>;
static VALIDATORS: LazyLock<Mutex<Validators>> = LazyLock::new(Default::default);

/// Whether an answer is what the document says `operation` answers with
/// that status: a documented status (or its class, `4XX`), JSON, and valid
/// under the response's schema.
pub fn check_against_document(a: &Answer<'_>) -> Result<(), String> {
    let id = a.operation.id;
    let key = (id.to_owned(), a.status);
    let cached = VALIDATORS.lock().unwrap().get(&key).cloned();
    let validator = match cached {
        Some(v) => v,
        None => {
            let op = DOC["paths"]
                .as_object()
                .unwrap()
                .values()
                .flat_map(|m| m.as_object().unwrap().values())
                .find(|o| o["operationId"] == id)
                .ok_or_else(|| format!("{id} is not in the document"))?;
            let responses = &op["responses"];
            let response = responses
                .get(a.status.to_string())
                .or_else(|| responses.get(format!("{}XX", a.status / 100)))
                .ok_or_else(|| format!("{id}: status {} is not documented", a.status))?;
            let schema = &response["content"]["application/json"]["schema"];
            if !schema.is_object() {
                return Err(format!("{id} {}: no JSON schema documented", a.status));
            }
            let mut root = schema.clone();
            root["components"] = DOC["components"].clone();
            let v = Arc::new(jsonschema::draft202012::new(&root).map_err(|e| e.to_string())?);
            VALIDATORS.lock().unwrap().insert(key, v.clone());
            v
        }
    };
    if !a.content_type.starts_with("application/json") {
        return Err(format!("{id} {}: content-type {:?}", a.status, a.content_type));
    }
    let value: serde_json::Value =
        serde_json::from_slice(a.body).map_err(|e| format!("{id} {}: not JSON: {e}", a.status))?;
    let errors: Vec<String> = validator.iter_errors(&value).map(|e| format!("{e} at {}", e.instance_path())).collect();
    if errors.is_empty() { Ok(()) } else { Err(format!("{id} {}: {}\n{value:#}", a.status, errors.join("\n"))) }
}
