//! `creditd bench --soak` in a tiny configuration, so the soak docs/operations.md
//! reports cannot rot: it runs, reports every interval, keeps the org cache
//! and the WAL within their bounds, and verifies every org at the end.

use std::process::Command;

#[test]
fn a_short_soak_reports_and_verifies() {
    let out = Command::new(env!("CARGO_BIN_EXE_creditd"))
        .args(["bench", "--soak", "3", "--soak-every", "1", "--clients", "4", "--soak-orgs", "5"])
        .args(["--soak-new-orgs-per-second", "20", "--org-cache", "3", "--wal-cap-mib", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let header = stdout.lines().position(|l| l.contains("req/s")).expect("a header line");
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .skip(header + 1)
        .take_while(|l| !l.starts_with("verify"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 3, "one report a second: {stdout}");
    for row in &rows {
        // s, req/s, failed, p50, p99, rss, wal, db, org_cache, new_orgs
        assert_eq!(row.len(), 10, "{row:?}");
        assert!(row[1].parse::<f64>().unwrap() > 0.0, "requests were served: {row:?}");
        assert_eq!(row[2], "0", "no request failed: {row:?}");
        assert!(row[5].parse::<f64>().unwrap() > 0.0, "RSS is read: {row:?}");
        // The cap is 1 MiB; a report may catch it one commit past.
        assert!(row[6].parse::<f64>().unwrap() < 3.0, "the WAL stays near its cap: {row:?}");
        assert!(row[8].parse::<u64>().unwrap() <= 3 + 8, "the org cache stays near its bound: {row:?}");
    }
    let new_orgs: u64 = rows.last().unwrap()[9].parse().unwrap();
    assert!(new_orgs > 20, "a stream of new orgs: {new_orgs}");
    assert!(stdout.lines().any(|l| l.starts_with("verify ok:")), "{stdout}");
}

/// `creditd bench --priced` in a tiny configuration: plain and priced
/// usage both run (a priced operation the book cannot price would fail the
/// run), each verified, and the ratio is printed.
#[test]
fn a_small_priced_bench_prints_both_and_the_ratio() {
    let out = Command::new(env!("CARGO_BIN_EXE_creditd"))
        .args(["bench", "--priced", "--ops", "2000", "--batch", "100", "--submitters", "2", "--skip-http"])
        .args(["--rounds", "2"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for what in ["plain usage (amount)", "priced usage (price+quantity)", "ratio priced / plain"] {
        assert!(stdout.contains(what), "{what}: {stdout}");
    }
    // Two pairs, each with its ratios, then the medians.
    assert_eq!(stdout.lines().filter(|l| l.starts_with("round ") && l.contains(" of 2, load average ")).count(), 2);
    assert_eq!(stdout.lines().filter(|l| l.ends_with("x ops/s") && l.starts_with("ratio")).count(), 2, "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("median of 2 rounds") && l.ends_with("x ops/s")), "{stdout}");
    let none = Command::new(env!("CARGO_BIN_EXE_creditd"))
        .args(["bench", "--priced", "--rounds", "0", "--skip-http"])
        .output()
        .unwrap();
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("--rounds must be positive"));
    let ratio: f64 = stdout
        .lines()
        .find(|l| l.starts_with("ratio priced / plain") && l.ends_with("x ops/s"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().trim_end_matches("x ops/s").trim().parse().ok())
        .unwrap_or_else(|| panic!("no ratio: {stdout}"));
    assert!(ratio > 0.0, "{stdout}");
}

/// `creditd bench` with its HTTP part, tiny: the bench org is created and
/// funded through the Rust client, the load runs, and the run checks
/// through the client that verify passes and that exactly one
/// micro-credit was spent per acknowledged usage (it fails otherwise).
#[test]
fn a_small_http_bench_sets_up_through_the_client_and_checks_the_spend() {
    let out = Command::new(env!("CARGO_BIN_EXE_creditd"))
        .args(["bench", "--ops", "1000", "--batch", "100", "--submitters", "2", "--clients", "4"])
        .args(["--http-seconds", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let usage = stdout
        .lines()
        .find(|l| l.contains("single-op POST /usage"))
        .unwrap_or_else(|| panic!("no HTTP usage line: {stdout}"));
    assert!(usage.contains("(0 failed)"), "{usage}");
    assert!(stdout.contains("ratio usage / healthz"), "{stdout}");
}
