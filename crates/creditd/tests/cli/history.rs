//! `creditd gen`, `export` and `import` as a user runs them: real processes
//! on a temporary data directory.

use std::io::Read;
use std::process::{Command, Stdio};

fn creditd(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_creditd")).args(args).arg("--data-dir").arg(dir).output().expect("running creditd")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn export_then_import_round_trips_and_a_bad_line_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = creditd(&["gen", "--org", "src", "--events", "20000", "--batch", "2000", "--days", "40"], &data);
    assert!(out.status.success(), "gen: {}", text(&out.stderr));

    // Report layout to stdout, filtered like the API.
    let out = creditd(
        &["export", "--org", "src", "--range", "last_28_days", "--event-type", "reservation", "-o", "-"],
        &data,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    assert!(
        csv.starts_with("Case Name,Case ID,User's Name,Email,Kind,Amount,Created At,Description\r\n"),
        "{csv:.200}"
    );
    assert!(csv.lines().skip(1).all(|l| l.contains(",Hold,")), "only holds");
    assert!(out.stderr.is_empty(), "no progress bar when piped: {}", text(&out.stderr));

    // A bad filter is a clear error.
    let out = creditd(&["export", "--org", "src", "--event-type", "teleport", "-o", "-"], &data);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("unknown EventKind \"teleport\""), "{}", text(&out.stderr));
    // A reversed range, even by one day, is refused like the API refuses it.
    for (from, to) in [("2026-12-02", "2026-12-01"), ("2026-12-03", "2026-12-01")] {
        let out = creditd(&["export", "--org", "src", "--date-from", from, "--date-to", to, "-o", "-"], &data);
        assert!(!out.status.success(), "{from}..{to}");
        assert!(text(&out.stderr).contains("must be after date_from"), "{}", text(&out.stderr));
        assert!(out.stdout.is_empty(), "no file for {from}..{to}");
    }
    let out = creditd(&["export", "--org", "nope", "-o", "-"], &data);
    assert!(text(&out.stderr).contains("organization nope not found"), "{}", text(&out.stderr));

    // The full layout, then an import into a new org: verify ok, same balance.
    let full = dir.path().join("full.csv");
    let out = creditd(&["export", "--org", "src", "--layout", "full", "-o", full.to_str().unwrap()], &data);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // `gen` spans its 40 days and ends now, not after (its clock walks with
    // the events written).
    let rows = std::fs::read_to_string(&full).unwrap();
    let at = |line: &str| line.split(',').nth(2).unwrap().parse::<jiff::Timestamp>().unwrap();
    let (first, last) = (at(rows.lines().nth(1).unwrap()), at(rows.lines().last().unwrap()));
    let now = jiff::Timestamp::now();
    assert!(last <= now, "the newest event {last} is after now {now}");
    assert!(now.duration_since(first) <= jiff::SignedDuration::from_hours(24 * 40 + 1), "{first}");
    assert!(last.duration_since(first) >= jiff::SignedDuration::from_hours(24 * 39), "{first} to {last}");
    // Chunks formatted on several threads write exactly what one thread
    // writes row by row (the benchmark's baseline path), in both layouts.
    for layout in ["full", "report"] {
        let via = dir.path().join(format!("one-thread-{layout}.csv"));
        let out =
            creditd(&["export", "--org", "src", "--layout", layout, "--baseline", "-o", via.to_str().unwrap()], &data);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let rows = dir.path().join(format!("rows-{layout}.csv"));
        let out = creditd(&["export", "--org", "src", "--layout", layout, "-o", rows.to_str().unwrap()], &data);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let (a, b) = (std::fs::read(&via).unwrap(), std::fs::read(&rows).unwrap());
        assert!(a.len() > 100_000, "{layout}: {} bytes", a.len());
        assert!(a == b, "{layout}: the two export paths differ");
    }
    let xlsx = dir.path().join("h.xlsx");
    let out = creditd(&["export", "--org", "src", "--format", "xlsx", "-o", xlsx.to_str().unwrap()], &data);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(&std::fs::read(&xlsx).unwrap()[..2], b"PK", "a zip");

    // A bad line: refused with its number and reason; nothing written.
    let good = std::fs::read_to_string(&full).unwrap();
    let mut lines: Vec<String> = good.split("\r\n").map(str::to_string).collect();
    let mut cells: Vec<String> = lines[5].split(',').map(str::to_string).collect();
    cells[4] = "12.3456789".into();
    lines[5] = cells.join(",");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, lines.join("\r\n")).unwrap();
    let out = creditd(&["import", "--org", "copy", bad.to_str().unwrap()], &data);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("line 6: column amount: bad amount"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    let out = creditd(&["export", "--org", "copy", "-o", "-"], &data);
    assert!(
        text(&out.stderr).contains("organization copy not found"),
        "the org was not created: {}",
        text(&out.stderr)
    );

    let out = creditd(&["import", "--org", "copy", "--time-zone", "Europe/Madrid", full.to_str().unwrap()], &data);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("verify: ok"), "{said}");
    let out = creditd(&["verify", "--org", "copy"], &data);
    assert!(out.status.success(), "{}", text(&out.stdout));
    // Importing twice is refused: the org has events now.
    let out = creditd(&["import", "--org", "copy", full.to_str().unwrap()], &data);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("already exists"), "{}", text(&out.stderr));
    // The copy exports to the same full file.
    let again = dir.path().join("again.csv");
    let out = creditd(&["export", "--org", "copy", "--layout", "full", "-o", again.to_str().unwrap()], &data);
    assert!(out.status.success());
    assert_eq!(std::fs::read_to_string(&again).unwrap(), good);
}

#[test]
fn export_into_a_closed_pipe_exits_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = creditd(&["gen", "--org", "p", "--events", "20000", "--batch", "2000"], &data);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut child = Command::new(env!("CARGO_BIN_EXE_creditd"))
        .args(["export", "--org", "p", "-o", "-", "--data-dir"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `| head -c 100`: read a little, then close the pipe.
    let mut first = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "exit {status:?}: {err}");
    assert!(err.is_empty(), "quiet: {err}");
}

#[test]
fn a_running_server_is_named_when_it_holds_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = creditd(&["gen", "--org", "s", "--events", "100"], &data);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut server = Command::new(env!("CARGO_BIN_EXE_creditd"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("CREDITD_SERVICE_KEY", "cli-test-service-key-0123456789")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it is listening (it says so on stderr).
    let mut stderr = server.stderr.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !text(&seen).contains("listening") {
        let n = stderr.read(&mut buf).unwrap();
        assert!(n > 0, "server exited: {}", text(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    let out = creditd(&["export", "--org", "s", "-o", "-"], &data);
    let _ = server.kill();
    let _ = server.wait();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("in use by a running creditd server"), "{err}");
}
