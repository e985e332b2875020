//! Online backups of the embedded database, and restoring one.
//!
//! A backup is one SQLite file: `VACUUM INTO` run on a read-only connection
//! of its own, next to a running server or not. It reads inside one read
//! transaction, so the copy is the database as it was at one commit: every
//! organisation's events a prefix of what the live one has, with the state,
//! records, rollups and outbox of that same moment. The server's writer
//! goes on meanwhile (WAL mode: a reader never blocks it). The copy is then
//! verified (every organisation's balances and hash chain, from its own
//! events) before the backup is reported done; a copy that does not verify
//! is removed and the backup fails.
//!
//! A restore verifies the file the same way, then puts it in place as the
//! data directory's database, only when no server holds the directory and
//! it holds no database yet (a restore never overwrites data).

use std::path::{Path, PathBuf};
use std::time::Instant;

use creditd_core::verify::VerifyReport;
use rusqlite::{Connection, OpenFlags};

use crate::{DB_FILE, LOCK_FILE, reader};

/// What went wrong with a backup or a restore.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists; a backup never overwrites a file")]
    Exists(PathBuf),
    #[error("there is no creditd database at {0}")]
    NoDatabase(PathBuf),
    #[error("{path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the copy does not verify: {0}")]
    Invalid(String),
    #[error("{0} holds a database already; restore into an empty data directory")]
    NotEmpty(PathBuf),
    #[error("a creditd server is using {0}; stop it before restoring")]
    Locked(PathBuf),
}

/// What a backup or a restore checked.
#[derive(Debug)]
pub struct CopyReport {
    /// The file written (backup) or read (restore).
    pub file: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Organisations verified, each with its report.
    pub orgs: Vec<VerifyReport>,
    /// Seconds the copy took (backup) and the verification after it.
    pub copy_seconds: f64,
    pub verify_seconds: f64,
}

impl CopyReport {
    /// Events in the copy, over every organisation.
    pub fn events(&self) -> u64 {
        self.orgs.iter().map(|r| r.events).sum()
    }
}

/// Copies the database of `data_dir` into the new file `dest` (online: a
/// server may be writing), then verifies every organisation of the copy.
pub fn backup(data_dir: &Path, dest: &Path) -> Result<CopyReport, BackupError> {
    let source = data_dir.join(DB_FILE);
    if !source.is_file() {
        return Err(BackupError::NoDatabase(data_dir.to_path_buf()));
    }
    if dest.exists() {
        return Err(BackupError::Exists(dest.to_path_buf()));
    }
    let started = Instant::now();
    let conn = Connection::open_with_flags(&source, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| sqlite(&source, e))?;
    conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(|e| sqlite(&source, e))?;
    let dest_text = dest.to_str().ok_or_else(|| BackupError::Io {
        path: dest.to_path_buf(),
        source: std::io::Error::other("the path is not UTF-8"),
    })?;
    conn.execute("VACUUM INTO ?1", [dest_text]).map_err(|e| sqlite(dest, e))?;
    drop(conn);
    set_private(dest)?;
    let copy_seconds = started.elapsed().as_secs_f64();
    match verify_file(dest) {
        Ok(mut report) => {
            report.copy_seconds = copy_seconds;
            Ok(report)
        }
        Err(e) => {
            let _ = std::fs::remove_file(dest);
            Err(e)
        }
    }
}

/// Verifies every organisation of the database file `file` (read-only).
pub fn verify_file(file: &Path) -> Result<CopyReport, BackupError> {
    let started = Instant::now();
    let bytes = std::fs::metadata(file).map_err(|e| BackupError::Io { path: file.to_path_buf(), source: e })?.len();
    let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| sqlite(file, e))?;
    let orgs = reader::org_ids(&conn).map_err(|e| BackupError::Invalid(format!("not a creditd database: {e}")))?;
    let mut reports = Vec::with_capacity(orgs.len());
    for org in orgs {
        let report = reader::verify(&conn, &org).map_err(|e| BackupError::Invalid(format!("{org}: {e}")))?;
        if !report.ok {
            return Err(BackupError::Invalid(format!("{org}: {}", report.problems.join("; "))));
        }
        reports.push(report);
    }
    Ok(CopyReport {
        file: file.to_path_buf(),
        bytes,
        orgs: reports,
        copy_seconds: 0.0,
        verify_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Verifies `file`, then makes it the database of `data_dir` (created if
/// needed), which must hold none and be used by no server.
pub fn restore(file: &Path, data_dir: &Path) -> Result<CopyReport, BackupError> {
    let report = verify_file(file)?;
    crate::create_private_dir(data_dir).map_err(|e| BackupError::Io { path: data_dir.to_path_buf(), source: e })?;
    let lock_path = data_dir.join(LOCK_FILE);
    let lock = crate::private_file(&lock_path).map_err(|e| BackupError::Io { path: lock_path.clone(), source: e })?;
    if lock.try_lock().is_err() {
        return Err(BackupError::Locked(data_dir.to_path_buf()));
    }
    let target = data_dir.join(DB_FILE);
    let in_use = |p: PathBuf| std::fs::metadata(&p).is_ok_and(|m| m.len() > 0);
    if in_use(target.clone()) || in_use(data_dir.join(format!("{DB_FILE}-wal"))) {
        return Err(BackupError::NotEmpty(data_dir.to_path_buf()));
    }
    // Copied beside the target, then renamed over the empty file (if any):
    // the database appears whole or not at all.
    let partial = data_dir.join(format!("{DB_FILE}.restoring"));
    std::fs::copy(file, &partial).map_err(|e| BackupError::Io { path: partial.clone(), source: e })?;
    set_private(&partial)?;
    for stale in [format!("{DB_FILE}-wal"), format!("{DB_FILE}-shm")] {
        let _ = std::fs::remove_file(data_dir.join(stale));
    }
    std::fs::rename(&partial, &target).map_err(|e| BackupError::Io { path: target.clone(), source: e })?;
    drop(lock);
    Ok(report)
}

fn set_private(path: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| BackupError::Io { path: path.to_path_buf(), source: e })?;
    }
    Ok(())
}

fn sqlite(path: &Path, source: rusqlite::Error) -> BackupError {
    BackupError::Sqlite { path: path.to_path_buf(), source }
}
