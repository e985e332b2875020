//! Starting the real binary as a server on a free loopback port, for the
//! tests that run `creditd serve` as a process (kill -9, several nodes).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Starts `creditd serve --listen 127.0.0.1:0` with `args` after it and
/// `key` as the service key; returns the child and the address it reported
/// (`host:port`).
pub fn spawn_serve(args: &[&std::ffi::OsStr], key: &str) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_creditd"));
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("CREDITD_SERVICE_KEY", key)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    start(cmd)
}

/// Spawns `cmd` (a `creditd serve` the caller has set up) and waits for the
/// address it reports (`host:port`); its other stderr lines are echoed,
/// prefixed with `[creditd]`.
pub fn start(mut cmd: Command) -> (Child, String) {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("starting creditd");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            match line.split("listening on http://").nth(1).and_then(|r| r.split_whitespace().next()) {
                Some(addr) => {
                    let _ = tx.send(addr.to_string());
                }
                None => eprintln!("[creditd] {line}"),
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(60)).expect("creditd did not report its address");
    (child, addr)
}
