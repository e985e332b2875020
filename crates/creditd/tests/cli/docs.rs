//! The docs' examples, run: every ```` ```sh ```` block of `README.md` and
//! `docs/*.md` is executed by bash against a real `creditd serve`, so a page
//! cannot show a command that no longer works.
//!
//! How a page runs:
//! - A fresh server in a fresh working directory (holding a copy of
//!   `creditd.example.toml`), started as the README's tour starts it
//!   (`creditd serve &`, data in `./creditd-data`, the service key generated
//!   into `creditd-data/service-key`), on a free loopback port:
//!   `127.0.0.1:8080` in the page is replaced by that address, and
//!   `CREDITD_LISTEN` names it to any `creditd serve` the page starts.
//!   `creditd` on the `PATH` is the binary under test.
//! - A page under `docs/` runs after the README's tour (its blocks first), as
//!   a reader who took the tour has its organisation. All blocks of a page
//!   run in order in one bash (`set -euo pipefail`), so variables carry over.
//! - Every `curl` is recorded with its status. A line `#  -> EXPECTED` (or a
//!   command ending in `# -> EXPECTED`) checks the `curl` just before it:
//!   a leading status (`409`), each `"field": value` pair (found somewhere in
//!   the JSON answer, numbers compared as decimals, `"whe_…"` a prefix), and
//!   otherwise each word (found in the answer). A `curl` answered 4xx/5xx without such a line
//!   fails the page: an error shown in the docs must say it is one.
//! - Blocks tagged `console`, `text`, `toml`, `json`, ... are shown, not run
//!   (starting servers, long benchmarks, systemd).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
const DOCS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs");
/// Longest a page's examples may run, in seconds.
const PAGE_TIMEOUT_S: u32 = 300;
const EXAMPLE_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../creditd.example.toml");

/// The ```` ```sh ```` blocks of a Markdown page, in order.
fn sh_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(_), "```") => blocks.push(current.take().expect("open block")),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "a ```sh block is not closed");
    blocks
}

/// A block with its expectations turned into `__expect` calls.
fn with_expectations(block: &str) -> String {
    let mut out = String::new();
    for line in block.lines() {
        let trimmed = line.trim_start();
        if let Some(expected) = trimmed.strip_prefix("#  -> ").or_else(|| trimmed.strip_prefix("# -> ")) {
            out.push_str(&format!("__expect {}\n", shell_quote(expected)));
        } else if let Some((command, expected)) = line.split_once(" # -> ") {
            out.push_str(command);
            out.push('\n');
            out.push_str(&format!("__expect {}\n", shell_quote(expected)));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Records every `curl` (its words, answer and status, numbered) and every
/// expectation (the number of the `curl` it checks).
/// Starts the server as the tour does (`creditd serve &`, so `$!` is its
/// pid for a page that stops it), waits until it answers, and stops it when
/// the page ends. The count of `curl`s lives in a file: a `curl` inside
/// `$(…)` runs in a subshell.
const PRELUDE: &str = r#"set -euo pipefail
trap 'echo "the page stopped at: $BASH_COMMAND" >&2' ERR
creditd serve 2> "$DOCS_LOG/serve.log" &
trap 'kill -INT $(jobs -p) 2>/dev/null || true; wait || true' EXIT
for _ in $(seq 100); do command curl -s -o /dev/null "http://$CREDITD_LISTEN/readyz" && break; sleep 0.1; done
echo 0 > "$DOCS_LOG/n"
curl() {
  local n=$(( $(cat "$DOCS_LOG/n") + 1 ))
  echo "$n" > "$DOCS_LOG/n"
  printf '%q ' "$@" > "$DOCS_LOG/$n.args"
  command curl -sS -w '%{stderr}%{http_code}' "$@" 2> "$DOCS_LOG/$n.status" | tee "$DOCS_LOG/$n.body"
}
__expect() {
  printf '%s' "$1" > "$DOCS_LOG/$(cat "$DOCS_LOG/n").expect"
}
"#;

/// What a `# ->` line asks of an answer, checked; `Err` says what differs.
fn check(expected: &str, status: u16, body: &str) -> Result<(), String> {
    let mut rest = expected.trim();
    let word = rest.split_whitespace().next().unwrap_or("");
    if word.len() == 3 && word.bytes().all(|b| b.is_ascii_digit()) {
        let want: u16 = word.parse().expect("three digits");
        if want != status {
            return Err(format!("status {status}, the docs say {want}"));
        }
        rest = rest[3..].trim_start();
    }
    let json: Option<Value> = serde_json::from_str(body).ok();
    let pairs = field_pairs(rest);
    if !pairs.is_empty() {
        let json = json.ok_or_else(|| "the answer is not JSON".to_string())?;
        for (field, value) in pairs {
            if !contains_pair(&json, &field, &value) {
                return Err(format!("no \"{field}\": {value} in the answer"));
            }
        }
        return Ok(());
    }
    for word in rest.split(|c: char| c.is_whitespace() || ",;()[]{}".contains(c)) {
        let word = word.trim_matches(|c: char| c == '.' || c == '…' || c == '"');
        if !word.is_empty() && !body.contains(word) {
            return Err(format!("the answer does not contain {word:?}"));
        }
    }
    Ok(())
}

/// The `"field": scalar` pairs in an expectation (objects, arrays and `...`
/// elided).
fn field_pairs(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        let name = &after[..end];
        let tail = &after[end + 1..];
        let Some(value_text) = tail.strip_prefix(':').map(str::trim_start) else {
            rest = tail;
            continue;
        };
        let value = if let Some(quoted) = value_text.strip_prefix('"') {
            quoted.find('"').map(|e| quoted[..e].to_string())
        } else {
            let v: String = value_text.chars().take_while(|c| c.is_ascii_alphanumeric() || "-.".contains(*c)).collect();
            (!v.is_empty()).then_some(v)
        };
        if let Some(value) = value {
            pairs.push((name.to_string(), value));
        }
        rest = value_text;
    }
    pairs
}

/// Whether `field` has `value` somewhere in `json` (numbers and numeric
/// strings compared as decimals).
fn contains_pair(json: &Value, field: &str, value: &str) -> bool {
    match json {
        Value::Object(map) => {
            map.iter().any(|(k, v)| (k == field && same_scalar(v, value)) || contains_pair(v, field, value))
        }
        Value::Array(items) => items.iter().any(|v| contains_pair(v, field, value)),
        _ => false,
    }
}

fn same_scalar(actual: &Value, expected: &str) -> bool {
    let text = match actual {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_string(),
        _ => return false,
    };
    if let Some(prefix) = expected.strip_suffix('…') {
        return text.starts_with(prefix);
    }
    text == expected || decimal(&text).is_some_and(|a| decimal(expected) == Some(a))
}

/// A decimal's canonical text (no trailing zeros after the point).
fn decimal(text: &str) -> Option<String> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = int.strip_prefix('-').unwrap_or(int);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    Some(if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") })
}

/// Runs one page's script against a fresh server; `Err` names the page, the
/// command and what differs.
fn run_page(name: &str, script: &str) -> Result<(), String> {
    let work = tempfile::tempdir().expect("tempdir");
    let log = work.path().join("curl-log");
    std::fs::create_dir(&log).expect("log dir");
    std::fs::copy(EXAMPLE_CONFIG, work.path().join("creditd.example.toml")).expect("example config");
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_creditd"));
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
    let script = format!("{PRELUDE}{}", script.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}")));
    std::fs::write(work.path().join("page.sh"), &script).expect("script");
    let path = format!("{}:{}", bin.parent().expect("bin dir").display(), std::env::var("PATH").unwrap_or_default());
    // A page that waits forever (a loop whose address was not rewritten, a
    // receiver that never answers) fails instead of holding CI.
    let output = Command::new("timeout")
        .args(["--kill-after=10", &PAGE_TIMEOUT_S.to_string(), "bash", "page.sh"])
        .current_dir(work.path())
        .env("PATH", path)
        .env("DOCS_LOG", &log)
        .env("CREDITD_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .env_remove("CREDITD_SERVICE_KEY")
        .env_remove("CREDITD_DATA_DIR")
        .env_remove("CREDITD_DATABASE_URL")
        .output()
        .expect("bash");
    if !output.status.success() {
        return Err(format!(
            "{name}: the examples stopped with {}\nstdout (its end):\n{}\nstderr:\n{}",
            output.status,
            tail(&String::from_utf8_lossy(&output.stdout)),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let mut calls = 0;
    let mut failures = Vec::new();
    for n in 1.. {
        let file = |ext: &str| log.join(format!("{n}.{ext}"));
        let Ok(args) = std::fs::read_to_string(file("args")) else { break };
        calls += 1;
        // The status code is the last thing written to it, after whatever
        // curl said on stderr (a `--retry`'s warnings).
        let status: u16 = std::fs::read_to_string(file("status"))
            .ok()
            .and_then(|s| s.trim_end().get(s.trim_end().len().saturating_sub(3)..).and_then(|c| c.parse().ok()))
            .unwrap_or(0);
        let body = std::fs::read_to_string(file("body")).unwrap_or_default();
        match std::fs::read_to_string(file("expect")) {
            Ok(expected) => {
                if let Err(why) = check(&expected, status, &body) {
                    failures.push(format!("curl {args}\n  expected: {expected}\n  {why}\n  answer {status}: {body}"));
                }
            }
            Err(_) if !(200..400).contains(&status) => {
                failures.push(format!("curl {args}\n  answered {status} and the docs do not say so: {body}"))
            }
            Err(_) => {}
        }
    }
    if !failures.is_empty() {
        return Err(format!(
            "{name}: {} of {calls} requests differ from the page:\n{}",
            failures.len(),
            failures.join("\n")
        ));
    }
    println!("{name}: {calls} requests as the page says");
    Ok(())
}

/// The last 2,000 bytes of `text` (on a character boundary).
fn tail(text: &str) -> &str {
    let mut start = text.len().saturating_sub(2000);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

fn pages() -> Vec<(String, String)> {
    let mut pages: Vec<(String, String)> = std::fs::read_dir(DOCS)
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p: PathBuf| (format!("docs/{}", p.file_name().expect("name").to_string_lossy()), read(&p)))
        .collect();
    pages.sort();
    pages
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_readme_tour_runs_as_written() {
    let readme = read(Path::new(README));
    let blocks = sh_blocks(&readme);
    assert!(!blocks.is_empty(), "the README has a tour to run");
    if let Err(why) = run_page("README.md", &blocks.iter().map(|b| with_expectations(b)).collect::<String>()) {
        panic!("{why}");
    }
}

#[test]
fn every_docs_page_runs_as_written() {
    let tour: String = sh_blocks(&read(Path::new(README))).iter().map(|b| with_expectations(b)).collect();
    let pages = pages();
    assert!(pages.len() >= 8, "docs/ has its pages");
    let mut failures = Vec::new();
    let mut run = 0;
    // CREDITD_DOCS_PAGE=money-in runs only the pages whose name has it (a
    // local run while writing a page; CI runs them all).
    let only = std::env::var("CREDITD_DOCS_PAGE").ok();
    for (name, text) in pages {
        let blocks = sh_blocks(&text);
        if blocks.is_empty() || only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let started = std::time::Instant::now();
        let script = format!("{tour}{}", blocks.iter().map(|b| with_expectations(b)).collect::<String>());
        run += 1;
        if let Err(why) = run_page(&name, &script) {
            failures.push(why);
        }
        println!("{name}: {:.1} s", started.elapsed().as_secs_f64());
    }
    assert!(only.is_some() || run >= 5, "only {run} pages have examples to run");
    assert!(
        failures.is_empty(),
        "{} of {run} pages differ from what they show:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn expectations_are_read_as_written() {
    let body = r#"{"hold": {"id": "hold_2", "amount": "30"}, "balance": {"available": 70, "held": 30.0}}"#;
    assert_eq!(
        check(r#"{"hold": {"id": "hold_2", ...}, "balance": {"available": 70, "held": 30, ...}}"#, 201, body),
        Ok(())
    );
    assert!(check(r#"{"balance": {"available": 71}}"#, 201, body).is_err());
    assert!(check("409 hold_2", 201, body).is_err());
    assert_eq!(check("201 hold_2", 201, body), Ok(()));
    assert!(check("hold_9", 201, body).is_err());
    assert_eq!(check(r#""amount": 30"#, 201, body), Ok(()));
    assert_eq!(check(r#""id": "hold_…""#, 201, body), Ok(()));
    assert!(check(r#""id": "whe_…""#, 201, body).is_err());
    assert_eq!(
        with_expectations("curl x   # -> 403 forbidden\n#  -> 200\n"),
        "curl x  \n__expect '403 forbidden'\n__expect '200'\n"
    );
}
