//! Members, API keys, sessions and sign-in links in SQLite.
//!
//! These are not ledger data, so they do not go through the batching
//! writer: each change is one short `BEGIN IMMEDIATE` transaction on a
//! connection of its own. SQLite still has one writer at a time (IMMEDIATE
//! takes the write lock up front; `busy_timeout` makes the other side wait
//! its turn rather than fail), and the ledger writer never caches any of
//! these rows, so nothing in memory goes stale.
//!
//! The same type serves the server (inside [`crate::SqliteStore`]) and the
//! command line (`creditd keys|members|login-link`, through
//! [`SqliteDirectory::open`]), which may run next to a server on the same
//! data directory.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use creditd_store::directory::{
    ApiKey, Directory, DirectoryError, KeyScope, LoginLink, Member, MemberPatch, NewKey, Session, check_name,
    first_member_is_owner, keep_an_owner, normalize_email, takes_an_owner,
};
use creditd_store::{StoreError, micros_ts};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::schema::MIGRATIONS;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryOpenError {
    #[error("no creditd database in {0}; start `creditd serve --data-dir {0}` once to create it")]
    Missing(PathBuf),
    #[error("the database in {0} predates members and keys; start `creditd serve --data-dir {0}` once to upgrade it")]
    Outdated(PathBuf),
    #[error("cannot open database {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
}

#[derive(Clone)]
pub struct SqliteDirectory {
    conn: Arc<Mutex<Connection>>,
}

fn db(e: rusqlite::Error) -> DirectoryError {
    DirectoryError::Store(StoreError::backend(e))
}

fn ts(us: i64) -> Result<Timestamp, DirectoryError> {
    micros_ts(us).map_err(DirectoryError::Store)
}

impl SqliteDirectory {
    /// A connection of its own to an existing, migrated database.
    pub(crate) fn connect(path: &Path) -> rusqlite::Result<SqliteDirectory> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(SqliteDirectory { conn: Arc::new(Mutex::new(conn)) })
    }

    /// For the command line: the directory of the database in `data_dir`,
    /// which a server may be using at the same time. The database must
    /// exist and be migrated (a server start does both).
    pub fn open(data_dir: &Path) -> Result<SqliteDirectory, DirectoryOpenError> {
        let path = data_dir.join("creditd.sqlite");
        if !path.exists() {
            return Err(DirectoryOpenError::Missing(data_dir.to_path_buf()));
        }
        let sqlite = |source| DirectoryOpenError::Sqlite { path: path.clone(), source };
        let dir = SqliteDirectory::connect(&path).map_err(sqlite)?;
        let needed = MIGRATIONS.iter().position(|m| m.contains("CREATE TABLE members")).map_or(0, |i| i + 1);
        let version: i64 = {
            let c = dir.conn.lock().unwrap_or_else(|p| p.into_inner());
            c.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(sqlite)?
        };
        if (version as usize) < needed {
            return Err(DirectoryOpenError::Outdated(data_dir.to_path_buf()));
        }
        Ok(dir)
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, DirectoryError> + Send + 'static,
    ) -> Result<T, DirectoryError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut c)
        })
        .await
        .map_err(|e| DirectoryError::Store(StoreError::backend(e)))?
    }

    /// `f` in one write transaction, committed if it returns Ok.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, DirectoryError> + Send + 'static,
    ) -> Result<T, DirectoryError> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
            let out = f(&tx)?;
            tx.commit().map_err(db)?;
            Ok(out)
        })
        .await
    }
}

const MEMBER_COLS: &str = "org_id, email, name, role, created_at";
const KEY_COLS: &str = "id, prefix, name, kind, org_ids, org_id, email, created_at, revoked_at, last_used_at";

fn read_member(r: &Row<'_>) -> rusqlite::Result<(String, String, String, String, i64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn member_of(row: (String, String, String, String, i64)) -> Result<Member, DirectoryError> {
    let (org_id, email, name, role, at) = row;
    Ok(Member { org_id, email, name, role: role.parse()?, created_at: ts(at)? })
}

type KeyRow =
    (String, String, String, String, Option<String>, Option<String>, Option<String>, i64, Option<i64>, Option<i64>);

fn read_key(r: &Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?))
}

fn key_of(row: KeyRow) -> Result<ApiKey, DirectoryError> {
    let (id, prefix, name, kind, org_ids, org_id, email, created, revoked, used) = row;
    let bad = |what: &str| DirectoryError::Store(StoreError::Corrupt(format!("key {id}: {what}")));
    let scope = match kind.as_str() {
        "service" => KeyScope::Service {
            org_ids: org_ids
                .map(|j| serde_json::from_str::<Vec<String>>(&j))
                .transpose()
                .map_err(|_| bad("org_ids is not a JSON list"))?,
        },
        "member" => KeyScope::Member {
            org_id: org_id.ok_or_else(|| bad("member key without org"))?,
            email: email.ok_or_else(|| bad("member key without email"))?,
        },
        _ => return Err(bad("unknown kind")),
    };
    Ok(ApiKey {
        id,
        prefix,
        name,
        scope,
        created_at: ts(created)?,
        revoked_at: revoked.map(ts).transpose()?,
        last_used_at: used.map(ts).transpose()?,
    })
}

fn get_member(c: &Connection, org_id: &str, email: &str) -> Result<Option<Member>, DirectoryError> {
    c.prepare_cached(&format!("SELECT {MEMBER_COLS} FROM members WHERE org_id = ?1 AND email = ?2"))
        .map_err(db)?
        .query_row([org_id, email], read_member)
        .optional()
        .map_err(db)?
        .map(member_of)
        .transpose()
}

fn get_key(c: &Connection, id: &str) -> Result<Option<ApiKey>, DirectoryError> {
    c.prepare_cached(&format!("SELECT {KEY_COLS} FROM api_keys WHERE id = ?1"))
        .map_err(db)?
        .query_row([id], read_key)
        .optional()
        .map_err(db)?
        .map(key_of)
        .transpose()
}

fn org_exists(c: &Connection, org_id: &str) -> Result<bool, DirectoryError> {
    let found: Option<i64> = c
        .prepare_cached("SELECT 1 FROM orgs WHERE org_id = ?1")
        .map_err(db)?
        .query_row([org_id], |r| r.get(0))
        .optional()
        .map_err(db)?;
    Ok(found.is_some())
}

fn owners(c: &Connection, org_id: &str) -> Result<i64, DirectoryError> {
    c.prepare_cached("SELECT count(*) FROM members WHERE org_id = ?1 AND role = 'owner'")
        .map_err(db)?
        .query_row([org_id], |r| r.get(0))
        .map_err(db)
}

fn member_count(c: &Connection, org_id: &str) -> Result<i64, DirectoryError> {
    c.prepare_cached("SELECT count(*) FROM members WHERE org_id = ?1")
        .map_err(db)?
        .query_row([org_id], |r| r.get(0))
        .map_err(db)
}

#[async_trait]
impl Directory for SqliteDirectory {
    async fn add_member(&self, member: Member) -> Result<Member, DirectoryError> {
        let email = normalize_email(&member.email)?;
        let name = check_name(&member.name)?;
        self.write(move |c| {
            if !org_exists(c, &member.org_id)? {
                return Err(DirectoryError::OrgNotFound(member.org_id));
            }
            if get_member(c, &member.org_id, &email)?.is_some() {
                return Err(DirectoryError::Exists(format!("member {email} of organization {}", member.org_id)));
            }
            first_member_is_owner(&member.org_id, member.role, member_count(c, &member.org_id)?)?;
            c.prepare_cached(&format!("INSERT INTO members ({MEMBER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5)"))
                .map_err(db)?
                .execute(params![member.org_id, email, name, member.role.as_str(), member.created_at.as_microsecond()])
                .map_err(db)?;
            Ok(Member { email, name, ..member })
        })
        .await
    }

    async fn update_member(&self, org_id: &str, email: &str, patch: MemberPatch) -> Result<Member, DirectoryError> {
        let (org_id, email) = (org_id.to_string(), normalize_email(email)?);
        let name = patch.name.as_deref().map(check_name).transpose()?;
        self.write(move |c| {
            let mut m = get_member(c, &org_id, &email)?
                .ok_or_else(|| DirectoryError::NotFound(format!("member {email} of organization {org_id}")))?;
            if let Some(role) = patch.role {
                if takes_an_owner(m.role, Some(role)) {
                    keep_an_owner(&org_id, owners(c, &org_id)?)?;
                }
                m.role = role;
            }
            if let Some(name) = name {
                m.name = name;
            }
            c.prepare_cached("UPDATE members SET name = ?3, role = ?4 WHERE org_id = ?1 AND email = ?2")
                .map_err(db)?
                .execute(params![org_id, email, m.name, m.role.as_str()])
                .map_err(db)?;
            Ok(m)
        })
        .await
    }

    async fn remove_member(&self, org_id: &str, email: &str, now: Timestamp) -> Result<Member, DirectoryError> {
        let (org_id, email) = (org_id.to_string(), normalize_email(email)?);
        self.write(move |c| {
            let m = get_member(c, &org_id, &email)?
                .ok_or_else(|| DirectoryError::NotFound(format!("member {email} of organization {org_id}")))?;
            if takes_an_owner(m.role, None) {
                keep_an_owner(&org_id, owners(c, &org_id)?)?;
            }
            c.execute("DELETE FROM members WHERE org_id = ?1 AND email = ?2", params![org_id, email]).map_err(db)?;
            c.execute(
                "UPDATE api_keys SET revoked_at = ?3 WHERE kind = 'member' AND org_id = ?1 AND email = ?2 \
                 AND revoked_at IS NULL",
                params![org_id, email, now.as_microsecond()],
            )
            .map_err(db)?;
            c.execute("DELETE FROM sessions WHERE org_id = ?1 AND email = ?2", params![org_id, email]).map_err(db)?;
            c.execute(
                "DELETE FROM login_links WHERE org_id = ?1 AND email = ?2 AND used_at IS NULL",
                params![org_id, email],
            )
            .map_err(db)?;
            Ok(m)
        })
        .await
    }

    async fn member(&self, org_id: &str, email: &str) -> Result<Option<Member>, DirectoryError> {
        let Ok(email) = normalize_email(email) else { return Ok(None) };
        let org_id = org_id.to_string();
        self.run(move |c| get_member(c, &org_id, &email)).await
    }

    async fn members(&self, org_id: &str) -> Result<Vec<Member>, DirectoryError> {
        let org_id = org_id.to_string();
        self.run(move |c| {
            if !org_exists(c, &org_id)? {
                return Err(DirectoryError::OrgNotFound(org_id));
            }
            let mut st = c
                .prepare_cached(&format!("SELECT {MEMBER_COLS} FROM members WHERE org_id = ?1 ORDER BY email"))
                .map_err(db)?;
            let rows = st.query_map([&org_id], read_member).map_err(db)?;
            rows.map(|r| member_of(r.map_err(db)?)).collect()
        })
        .await
    }

    async fn create_key(&self, key: NewKey) -> Result<ApiKey, DirectoryError> {
        let name = check_name(&key.name)?;
        let scope = match key.scope {
            KeyScope::Member { org_id, email } => KeyScope::Member { org_id, email: normalize_email(&email)? },
            s => s,
        };
        self.write(move |c| {
            let (kind, org_ids, org_id, email) = match &scope {
                KeyScope::Service { org_ids } => {
                    let json = org_ids.as_ref().map(|ids| serde_json::to_string(ids).unwrap_or_default());
                    ("service", json, None, None)
                }
                KeyScope::Member { org_id, email } => {
                    if !org_exists(c, org_id)? {
                        return Err(DirectoryError::OrgNotFound(org_id.clone()));
                    }
                    if get_member(c, org_id, email)?.is_none() {
                        return Err(DirectoryError::NotFound(format!("member {email} of organization {org_id}")));
                    }
                    ("member", None, Some(org_id.clone()), Some(email.clone()))
                }
            };
            let inserted = c
                .prepare_cached(&format!(
                    "INSERT INTO api_keys ({KEY_COLS}, secret_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, NULL, ?9) \
                     ON CONFLICT DO NOTHING"
                ))
                .map_err(db)?
                .execute(params![
                    key.id,
                    key.prefix,
                    name,
                    kind,
                    org_ids,
                    org_id,
                    email,
                    key.created_at.as_microsecond(),
                    key.secret_hash
                ])
                .map_err(db)?;
            if inserted == 0 {
                return Err(DirectoryError::Exists(format!("key {}", key.id)));
            }
            get_key(c, &key.id)?.ok_or_else(|| DirectoryError::NotFound(format!("key {}", key.id)))
        })
        .await
    }

    async fn key_by_hash(&self, secret_hash: &str) -> Result<Option<ApiKey>, DirectoryError> {
        let h = secret_hash.to_string();
        self.run(move |c| {
            c.prepare_cached(&format!("SELECT {KEY_COLS} FROM api_keys WHERE secret_hash = ?1"))
                .map_err(db)?
                .query_row([h], read_key)
                .optional()
                .map_err(db)?
                .map(key_of)
                .transpose()
        })
        .await
    }

    async fn key(&self, id: &str) -> Result<Option<ApiKey>, DirectoryError> {
        let id = id.to_string();
        self.run(move |c| get_key(c, &id)).await
    }

    async fn keys(&self, org_id: Option<&str>) -> Result<Vec<ApiKey>, DirectoryError> {
        let org_id = org_id.map(str::to_string);
        self.run(move |c| {
            let mut st = c
                .prepare_cached(&format!(
                    "SELECT {KEY_COLS} FROM api_keys WHERE ?1 IS NULL OR kind = 'service' OR org_id = ?1 \
                     ORDER BY created_at DESC, id"
                ))
                .map_err(db)?;
            let rows = st.query_map([&org_id], read_key).map_err(db)?;
            let mut out = Vec::new();
            for r in rows {
                let k = key_of(r.map_err(db)?)?;
                if org_id.as_deref().is_none_or(|o| k.scope.covers(o)) {
                    out.push(k);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn revoke_key(&self, id: &str, now: Timestamp) -> Result<ApiKey, DirectoryError> {
        let id = id.to_string();
        self.write(move |c| {
            c.execute(
                "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, now.as_microsecond()],
            )
            .map_err(db)?;
            get_key(c, &id)?.ok_or_else(|| DirectoryError::NotFound(format!("key {id}")))
        })
        .await
    }

    async fn touch_keys(&self, used: &[(String, Timestamp)]) -> Result<(), DirectoryError> {
        if used.is_empty() {
            return Ok(());
        }
        let used = used.to_vec();
        self.write(move |c| {
            let mut st = c
                .prepare_cached("UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, ?2), ?2) WHERE id = ?1")
                .map_err(db)?;
            for (id, at) in &used {
                st.execute(params![id, at.as_microsecond()]).map_err(db)?;
            }
            Ok(())
        })
        .await
    }

    async fn create_login_link(&self, token_hash: &str, link: LoginLink) -> Result<(), DirectoryError> {
        let h = token_hash.to_string();
        self.write(move |c| {
            if get_member(c, &link.org_id, &link.email)?.is_none() {
                return Err(DirectoryError::NotFound(format!("member {} of organization {}", link.email, link.org_id)));
            }
            c.execute(
                "INSERT INTO login_links (token_hash, org_id, email, created_at, expires_at, used_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
                params![h, link.org_id, link.email, link.created_at.as_microsecond(), link.expires_at.as_microsecond()],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn redeem_login_link(&self, token_hash: &str, now: Timestamp) -> Result<Option<LoginLink>, DirectoryError> {
        let h = token_hash.to_string();
        self.write(move |c| {
            let row: Option<(String, String, i64, i64)> = c
                .prepare_cached(
                    "UPDATE login_links SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2 \
                     RETURNING org_id, email, created_at, expires_at",
                )
                .map_err(db)?
                .query_row(params![h, now.as_microsecond()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()
                .map_err(db)?;
            row.map(|(org_id, email, created, expires)| {
                Ok(LoginLink { org_id, email, created_at: ts(created)?, expires_at: ts(expires)? })
            })
            .transpose()
        })
        .await
    }

    async fn create_session(&self, token_hash: &str, s: Session) -> Result<(), DirectoryError> {
        let h = token_hash.to_string();
        self.write(move |c| {
            c.execute(
                "INSERT INTO sessions (token_hash, org_id, email, csrf_token, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    h,
                    s.org_id,
                    s.email,
                    s.csrf_token,
                    s.created_at.as_microsecond(),
                    s.expires_at.as_microsecond()
                ],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Session>, DirectoryError> {
        let h = token_hash.to_string();
        self.run(move |c| {
            let row: Option<(String, String, String, i64, i64)> = c
                .prepare_cached(
                    "SELECT org_id, email, csrf_token, created_at, expires_at FROM sessions \
                     WHERE token_hash = ?1 AND expires_at > ?2",
                )
                .map_err(db)?
                .query_row(params![h, now.as_microsecond()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .optional()
                .map_err(db)?;
            row.map(|(org_id, email, csrf_token, created, expires)| {
                Ok(Session { org_id, email, csrf_token, created_at: ts(created)?, expires_at: ts(expires)? })
            })
            .transpose()
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), DirectoryError> {
        let h = token_hash.to_string();
        self.write(move |c| {
            c.execute("DELETE FROM sessions WHERE token_hash = ?1", [h]).map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<usize, DirectoryError> {
        self.write(move |c| {
            let us = now.as_microsecond();
            let a = c.execute("DELETE FROM sessions WHERE expires_at <= ?1", [us]).map_err(db)?;
            let b = c.execute("DELETE FROM login_links WHERE expires_at <= ?1", [us]).map_err(db)?;
            Ok(a + b)
        })
        .await
    }
}
