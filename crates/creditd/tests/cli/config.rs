//! `creditd serve --config FILE` and `creditd config check`, run as the
//! real binary: a file's settings are used, a flag or a CREDITD_* variable
//! wins over them, a bad file stops everything with the key named, and the
//! example file in the repo checks and lists every serve flag.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "config-test-service-key-0123456789";

fn creditd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_creditd"));
    // The tests set the variables they mean; none leaks in from the caller.
    for var in
        ["CREDITD_CONFIG", "CREDITD_LISTEN", "CREDITD_DATA_DIR", "CREDITD_DATABASE_URL", "CREDITD_HEADER_TIMEOUT_S"]
    {
        cmd.env_remove(var);
    }
    cmd.env("CREDITD_SERVICE_KEY", KEY).env("RUST_LOG", "warn").stdin(Stdio::null());
    cmd
}

fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A server started from `cmd`; killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(cmd: Command) -> Server {
        let (child, addr) = crate::serve::start(cmd);
        Server { child, addr }
    }

    fn healthz(&self) -> String {
        let mut s = std::net::TcpStream::connect(&self.addr).unwrap();
        write!(s, "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.addr).unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        reply
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cmd` to its end; a server that started instead fails the test.
fn run(mut cmd: Command) -> Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("creditd did not exit: it started despite the file");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn serve_uses_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("from-file");
    let text = format!("listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n", data.to_str().unwrap());
    let file = write_file(dir.path(), "creditd.toml", &text);
    let mut cmd = creditd();
    cmd.arg("serve").arg("--config").arg(&file);
    let server = Server::start(cmd);
    let reply = server.healthz();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(data.join("creditd.sqlite").exists(), "the file's data_dir is used");
}

#[test]
fn the_config_variable_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("from-file");
    let text = format!("listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n", data.to_str().unwrap());
    let file = write_file(dir.path(), "creditd.toml", &text);
    let mut cmd = creditd();
    cmd.arg("serve").env("CREDITD_CONFIG", &file);
    let server = Server::start(cmd);
    assert!(server.healthz().starts_with("HTTP/1.1 200"));
    assert!(data.join("creditd.sqlite").exists(), "the file's data_dir is used");
}

#[test]
fn a_flag_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (from_file, from_flag) = (dir.path().join("from-file"), dir.path().join("from-flag"));
    let text = format!("listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n", from_file.to_str().unwrap());
    let file = write_file(dir.path(), "creditd.toml", &text);
    let mut cmd = creditd();
    cmd.arg("serve").arg("--config").arg(&file).arg("--data-dir").arg(&from_flag);
    let server = Server::start(cmd);
    assert!(server.healthz().starts_with("HTTP/1.1 200"));
    assert!(from_flag.join("creditd.sqlite").exists(), "the flag's data_dir is used");
    assert!(!from_file.exists(), "the file's data_dir is not");
}

#[test]
fn an_env_var_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (from_file, from_env) = (dir.path().join("from-file"), dir.path().join("from-env"));
    let text =
        format!("listen = \"127.0.0.1:0\"\ndata_dir = {:?}\nheader_timeout_s = 20\n", from_file.to_str().unwrap());
    let file = write_file(dir.path(), "creditd.toml", &text);
    let mut cmd = creditd();
    cmd.arg("serve").arg("--config").arg(&file).env("CREDITD_DATA_DIR", &from_env);
    let server = Server::start(cmd);
    assert!(server.healthz().starts_with("HTTP/1.1 200"));
    assert!(from_env.join("creditd.sqlite").exists(), "the variable's data_dir is used");
    assert!(!from_file.exists(), "the file's data_dir is not");
    drop(server);

    // The same reading, shown by `config check` with each value's source.
    let mut check = creditd();
    check.args(["config", "check", "--config"]).arg(&file).env("CREDITD_HEADER_TIMEOUT_S", "5");
    let out = run(check);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let setting = |key: &str| -> Vec<String> {
        let line = stdout.lines().find(|l| l.split_whitespace().next() == Some(key)).expect(key);
        line.split_whitespace().map(str::to_string).collect()
    };
    assert_eq!(setting("header_timeout_s"), ["header_timeout_s", "=", "5", "#", "env"]);
    assert_eq!(setting("listen"), ["listen", "=", "127.0.0.1:0", "#", "file"]);
    assert_eq!(setting("body_timeout_s"), ["body_timeout_s", "=", "30", "#", "default"]);
}

#[test]
fn bad_files_are_refused_with_the_key_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // (file text, what the error must say besides the file's name)
    let cases = [
        ("listen = \"127.0.0.1:0\"\nlisten_port = 8080\n", &["creditd.toml:2", "unknown key `listen_port`"][..]),
        ("header_timeout_s = \"10\"\n", &["creditd.toml:1", "header_timeout_s", "expected an integer, found string"]),
        ("trust_forwarded_proto = \"yes\"\n", &["creditd.toml:1", "trust_forwarded_proto", "expected a boolean"]),
        ("\n\nheader_timeout_s = 0\n", &["creditd.toml:3", "header_timeout_s", "0 is not in 1..=3600"]),
        ("max_connections = 2000000\n", &["creditd.toml:1", "max_connections", "not in 1..=1000000"]),
        ("listen = \"not an address\"\n", &["creditd.toml:1", "listen", "invalid socket address"]),
        ("webhook_allow_network = \"10.0.0.0/8\"\n", &["webhook_allow_network", "expected an array of strings"]),
        ("service_key = \"sk_0123456789abcdef\"\n", &["creditd.toml:1", "service_key", "CREDITD_SERVICE_KEY"]),
        ("listen = [\n", &["creditd.toml:1"]),
        // Checked after clap, on the merged settings: the file is named.
        ("public_url = \"ftp://x\"\n", &["creditd.toml", "--public-url", "https:// or http://"]),
    ];
    for (text, wanted) in cases {
        let file = write_file(dir.path(), "creditd.toml", text);
        for sub in [&["serve", "--listen", "127.0.0.1:0", "--data-dir"][..], &["config", "check"]] {
            let mut cmd = creditd();
            cmd.args(sub);
            if sub[0] == "serve" {
                cmd.arg(&data);
            }
            cmd.arg("--config").arg(&file);
            let out = run(cmd);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{sub:?} accepted {text:?}");
            for w in wanted {
                assert!(stderr.contains(w), "{sub:?} on {text:?}: {w:?} not in {stderr}");
            }
            assert!(!data.exists(), "{sub:?} on {text:?}: nothing starts");
        }
    }
}

/// The repo's example: it checks, and it lists every serve flag (the list
/// `config check` prints comes from clap's own description of `serve`).
#[test]
fn the_example_checks_and_lists_every_flag() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../creditd.example.toml");
    let mut cmd = creditd();
    cmd.env_remove("CREDITD_SERVICE_KEY").args(["config", "check", "--config"]).arg(&example);
    let out = run(cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&example).unwrap();
    let keys: Vec<&str> =
        stdout.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split_whitespace().next()).collect();
    assert!(keys.len() >= 13, "every serve flag: {keys:?}");
    for key in keys {
        let listed = text.lines().any(|l| {
            let l = l.trim_start_matches("# ");
            l.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('='))
        });
        assert!(listed, "{key} is missing from creditd.example.toml");
    }
}
