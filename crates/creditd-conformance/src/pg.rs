//! A throwaway PostgreSQL 15 cluster for tests and benchmarks: initdb into a
//! temporary directory, listen on 127.0.0.1 at a free port with trust auth,
//! stop and remove it on drop.
//!
//! PostgreSQL refuses to run as root, so when the tests run as root the
//! cluster is created and run as the `postgres` user (`runuser`) in a
//! directory handed to it. `CREDITD_TEST_DATABASE_URL` points the tests at an
//! existing server instead; `CREDITD_PG_BIN` at other binaries.

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where Debian and Ubuntu install PostgreSQL 15.
pub const DEFAULT_PG_BIN: &str = "/usr/lib/postgresql/15/bin";

pub fn pg_bin_dir() -> PathBuf {
    std::env::var_os("CREDITD_PG_BIN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(DEFAULT_PG_BIN))
}

/// Whether the server binaries are there.
pub fn binaries_available() -> bool {
    let bin = pg_bin_dir();
    bin.join("initdb").exists() && bin.join("pg_ctl").exists() && bin.join("postgres").exists()
}

pub fn skip_message() -> String {
    format!(
        "SKIPPED: PostgreSQL 15 not found at {} (install postgresql-15, or set CREDITD_TEST_DATABASE_URL or CREDITD_PG_BIN)",
        pg_bin_dir().display()
    )
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// How the cluster trades durability for speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// fsync on, synchronous commit: what production runs (benchmarks).
    Durable,
    /// fsync off: fast tests.
    Fast,
}

pub struct PgCluster {
    dir: Option<tempfile::TempDir>,
    data: PathBuf,
    port: u16,
    bin: PathBuf,
    as_postgres: bool,
    stopped: bool,
}

impl PgCluster {
    /// initdb + start. Tries a few ports in case one was taken meanwhile.
    pub fn start(durability: Durability) -> Result<PgCluster, String> {
        let bin = pg_bin_dir();
        if !binaries_available() {
            return Err(skip_message());
        }
        let as_postgres = running_as_root();
        let dir = tempfile::Builder::new().prefix("creditd-pg-").tempdir().map_err(|e| format!("temp dir: {e}"))?;
        if as_postgres {
            run(Command::new("chown").arg("postgres:").arg(dir.path()), "chown the cluster directory")?;
        }
        let data = dir.path().join("data");
        let mut cluster = PgCluster { dir: Some(dir), data, port: 0, bin, as_postgres, stopped: true };
        let initdb = cluster.bin.join("initdb");
        run(
            cluster.cmd(&initdb).arg("-D").arg(&cluster.data).args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--locale=C",
            ]),
            "initdb",
        )?;
        let mut last = String::new();
        for _ in 0..3 {
            cluster.port = free_port()?;
            cluster.write_conf(durability)?;
            match cluster.pg_ctl_start() {
                Ok(()) => {
                    cluster.stopped = false;
                    return Ok(cluster);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn root(&self) -> &Path {
        self.dir.as_ref().map(|d| d.path()).unwrap_or(Path::new("/nonexistent"))
    }

    fn cmd(&self, program: &Path) -> Command {
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn write_conf(&self, durability: Durability) -> Result<(), String> {
        let fast = durability == Durability::Fast;
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\nmax_connections = 300\n\
             shared_buffers = 256MB\nfsync = {}\nsynchronous_commit = {}\nfull_page_writes = {}\n\
             max_wal_size = 2GB\nlog_min_messages = warning\n",
            self.port,
            self.root().display(),
            if fast { "off" } else { "on" },
            if fast { "off" } else { "on" },
            if fast { "off" } else { "on" },
        );
        // Written into a file of its own, included from postgresql.conf, so a
        // retry on another port replaces the settings instead of adding more.
        std::fs::write(self.data.join("creditd.conf"), conf).map_err(|e| format!("writing creditd.conf: {e}"))?;
        let main = self.data.join("postgresql.conf");
        let text = std::fs::read_to_string(&main).map_err(|e| format!("reading postgresql.conf: {e}"))?;
        if !text.contains("include = 'creditd.conf'") {
            std::fs::write(&main, format!("{text}\ninclude = 'creditd.conf'\n"))
                .map_err(|e| format!("writing postgresql.conf: {e}"))?;
        }
        if self.as_postgres {
            run(Command::new("chown").arg("postgres:").arg(self.data.join("creditd.conf")), "chown creditd.conf")?;
        }
        Ok(())
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let log = self.root().join("postgres.log");
        let pg_ctl = self.bin.join("pg_ctl");
        let r = run(
            self.cmd(&pg_ctl).arg("-D").arg(&self.data).arg("-l").arg(&log).args(["-w", "-t", "60", "start"]),
            "pg_ctl start",
        );
        r.map_err(|e| format!("{e}\n{}", std::fs::read_to_string(&log).unwrap_or_default()))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A streaming replica of this cluster: `pg_basebackup -R` over
    /// loopback into a directory of its own, started as a hot standby on a
    /// free port (PostgreSQL 15's defaults allow replication connections
    /// from 127.0.0.1 with the trust set up by [`PgCluster::start`]).
    pub fn start_standby(&self) -> Result<PgCluster, String> {
        let dir =
            tempfile::Builder::new().prefix("creditd-pg-standby-").tempdir().map_err(|e| format!("temp dir: {e}"))?;
        if self.as_postgres {
            run(Command::new("chown").arg("postgres:").arg(dir.path()), "chown the standby directory")?;
        }
        let data = dir.path().join("data");
        let backup = self.bin.join("pg_basebackup");
        run(
            self.cmd(&backup)
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-D"])
                .arg(&data)
                .args(["-R", "-X", "stream", "-c", "fast", "--no-sync"]),
            "pg_basebackup",
        )?;
        let mut standby = PgCluster {
            dir: Some(dir),
            data,
            port: 0,
            bin: self.bin.clone(),
            as_postgres: self.as_postgres,
            stopped: true,
        };
        let mut last = String::new();
        for _ in 0..3 {
            standby.port = free_port()?;
            standby.write_conf(Durability::Fast)?;
            match standby.pg_ctl_start() {
                Ok(()) => {
                    standby.stopped = false;
                    return Ok(standby);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// A URL for database `db` as the superuser `postgres`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Kills the server as a crash would (`pg_ctl stop -m immediate`: no
    /// checkpoint, clients cut off); the directory goes on drop.
    pub fn crash(&mut self) -> Result<(), String> {
        self.stopped = true;
        let pg_ctl = self.bin.join("pg_ctl");
        run(
            self.cmd(&pg_ctl).arg("-D").arg(&self.data).args(["-m", "immediate", "-w", "-t", "30", "stop"]),
            "pg_ctl stop -m immediate",
        )
    }

    /// Promotes a standby ([`PgCluster::start_standby`]) to a primary that
    /// takes writes, and waits until it does.
    pub fn promote(&self) -> Result<(), String> {
        let pg_ctl = self.bin.join("pg_ctl");
        run(self.cmd(&pg_ctl).arg("-D").arg(&self.data).args(["-w", "-t", "60", "promote"]), "pg_ctl promote")
    }

    /// Stops the server (fast shutdown); the directory goes on drop.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let pg_ctl = self.bin.join("pg_ctl");
        let _ = self
            .cmd(&pg_ctl)
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "-t", "30", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Stops the cluster and removes its directory when this process exits,
    /// for a cluster kept in a `static` (which is never dropped).
    fn stop_when_process_exits(&self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let prefix = if self.as_postgres { "runuser -u postgres -- " } else { "" };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {prefix}'{ctl}' -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{root}'",
            pid = std::process::id(),
            ctl = pg_ctl.display(),
            data = self.data.display(),
            root = self.root().display(),
        );
        let _ = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
        // TempDir removes the directory (root may remove postgres's files).
        self.dir.take();
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("{what}: cannot run: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// One cluster for every test of a test binary, started on first use and
/// stopped when the process exits.
fn shared_cluster() -> Result<&'static PgCluster, String> {
    static SHARED: OnceLock<Result<PgCluster, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let c = PgCluster::start(Durability::Fast)?;
            c.stop_when_process_exits();
            Ok(c)
        })
        .as_ref()
        .map_err(|e| e.clone())
}

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{db}?{q}"),
        None => format!("{host_part}/{db}"),
    }
}

/// A fresh, empty database for one test: on `CREDITD_TEST_DATABASE_URL`'s
/// server if set, else on the shared throwaway cluster. `Ok(None)` (after
/// printing why) when there is no PostgreSQL to test against.
pub async fn fresh_database() -> Result<Option<String>, String> {
    let base = match std::env::var("CREDITD_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            if !binaries_available() {
                println!("{}", skip_message());
                eprintln!("{}", skip_message());
                return Ok(None);
            }
            tokio::task::spawn_blocking(|| shared_cluster().map(|c| c.url("postgres")))
                .await
                .map_err(|e| e.to_string())??
        }
    };
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let name = format!(
        "creditd_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        nanos % 1_000_000_000
    );
    create_database(&base, &name).await?;
    Ok(Some(with_database(&base, &name)))
}

/// `CREATE DATABASE name` through the server at `url`.
pub async fn create_database(url: &str, name: &str) -> Result<(), String> {
    let (client, conn) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.map_err(|e| format!("connecting to {url}: {e}"))?;
    let task = tokio::spawn(conn);
    let r =
        client.batch_execute(&format!("CREATE DATABASE \"{name}\"")).await.map_err(|e| format!("create database: {e}"));
    drop(client);
    let _ = task.await;
    r
}
