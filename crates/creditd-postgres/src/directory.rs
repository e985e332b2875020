//! Members, API keys, sessions and sign-in links in PostgreSQL.
//!
//! Not ledger data: each change is one short transaction through the pool,
//! outside the batching writer, and no node caches these rows. Changes to
//! one org's members take a transaction-scoped advisory lock on the org, so
//! "an org keeps at least one owner" holds when two nodes demote or remove
//! owners at the same time; a sign-in link is redeemed by one `UPDATE …
//! RETURNING`, so of two racing redemptions one wins.

use async_trait::async_trait;
use creditd_store::directory::{
    ApiKey, Directory, DirectoryError, KeyScope, LoginLink, Member, MemberPatch, NewKey, Session, check_name,
    first_member_is_owner, keep_an_owner, normalize_email, takes_an_owner,
};
use creditd_store::{StoreError, micros_ts};
use deadpool_postgres::{GenericClient, Pool};
use jiff::Timestamp;
use tokio_postgres::Row;

use crate::reader::db as store_db;

#[derive(Clone)]
pub struct PgDirectory {
    pool: Pool,
}

fn db(e: tokio_postgres::Error) -> DirectoryError {
    DirectoryError::Store(store_db(e))
}

fn ts(us: i64) -> Result<Timestamp, DirectoryError> {
    micros_ts(us).map_err(DirectoryError::Store)
}

/// PostgreSQL text cannot hold NUL: such an org id names no org.
fn org_ok(org_id: &str) -> Result<(), DirectoryError> {
    if org_id.contains('\0') { Err(DirectoryError::OrgNotFound(org_id.replace('\0', "\\0"))) } else { Ok(()) }
}

fn text_ok(what: &str, s: &str) -> Result<(), DirectoryError> {
    if s.contains('\0') {
        Err(DirectoryError::Invalid(format!("{what} must not contain NUL characters")))
    } else {
        Ok(())
    }
}

const OWNERS: &str = "SELECT count(*) FROM members WHERE org_id = $1 AND role = 'owner'";
const MEMBER_COLS: &str = "org_id, email, name, role, created_at";
const KEY_COLS: &str = "id, prefix, name, kind, org_ids, org_id, email, created_at, revoked_at, last_used_at";

fn member_of(r: &Row) -> Result<Member, DirectoryError> {
    let role: String = r.try_get(3).map_err(db)?;
    Ok(Member {
        org_id: r.try_get(0).map_err(db)?,
        email: r.try_get(1).map_err(db)?,
        name: r.try_get(2).map_err(db)?,
        role: role.parse()?,
        created_at: ts(r.try_get(4).map_err(db)?)?,
    })
}

fn key_of(r: &Row) -> Result<ApiKey, DirectoryError> {
    let id: String = r.try_get(0).map_err(db)?;
    let kind: String = r.try_get(3).map_err(db)?;
    let org_ids: Option<String> = r.try_get(4).map_err(db)?;
    let org_id: Option<String> = r.try_get(5).map_err(db)?;
    let email: Option<String> = r.try_get(6).map_err(db)?;
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
    let revoked: Option<i64> = r.try_get(8).map_err(db)?;
    let used: Option<i64> = r.try_get(9).map_err(db)?;
    Ok(ApiKey {
        prefix: r.try_get(1).map_err(db)?,
        name: r.try_get(2).map_err(db)?,
        scope,
        created_at: ts(r.try_get(7).map_err(db)?)?,
        revoked_at: revoked.map(ts).transpose()?,
        last_used_at: used.map(ts).transpose()?,
        id,
    })
}

async fn get_member<C: GenericClient + Sync>(
    c: &C,
    org_id: &str,
    email: &str,
) -> Result<Option<Member>, DirectoryError> {
    let st = c
        .prepare_cached(&format!("SELECT {MEMBER_COLS} FROM members WHERE org_id = $1 AND email = $2"))
        .await
        .map_err(db)?;
    c.query_opt(&st, &[&org_id, &email]).await.map_err(db)?.as_ref().map(member_of).transpose()
}

async fn get_key<C: GenericClient + Sync>(c: &C, id: &str) -> Result<Option<ApiKey>, DirectoryError> {
    let st = c.prepare_cached(&format!("SELECT {KEY_COLS} FROM api_keys WHERE id = $1")).await.map_err(db)?;
    c.query_opt(&st, &[&id]).await.map_err(db)?.as_ref().map(key_of).transpose()
}

async fn org_exists<C: GenericClient + Sync>(c: &C, org_id: &str) -> Result<bool, DirectoryError> {
    let st = c.prepare_cached("SELECT 1 FROM orgs WHERE org_id = $1").await.map_err(db)?;
    Ok(c.query_opt(&st, &[&org_id]).await.map_err(db)?.is_some())
}

async fn count<C: GenericClient + Sync>(c: &C, sql: &str, org_id: &str) -> Result<i64, DirectoryError> {
    let st = c.prepare_cached(sql).await.map_err(db)?;
    c.query_one(&st, &[&org_id]).await.map_err(db)?.try_get(0).map_err(db)
}

/// Serialises member changes of one org across nodes until commit.
async fn lock_members<C: GenericClient + Sync>(c: &C, org_id: &str) -> Result<(), DirectoryError> {
    let st =
        c.prepare_cached("SELECT pg_advisory_xact_lock(hashtextextended('members:' || $1, 0))").await.map_err(db)?;
    c.execute(&st, &[&org_id]).await.map_err(db)?;
    Ok(())
}

fn not_member(email: &str, org_id: &str) -> DirectoryError {
    DirectoryError::NotFound(format!("member {email} of organization {org_id}"))
}

impl PgDirectory {
    pub fn new(pool: Pool) -> Self {
        PgDirectory { pool }
    }

    async fn conn(&self) -> Result<deadpool_postgres::Client, DirectoryError> {
        self.pool.get().await.map_err(|e| DirectoryError::Store(StoreError::backend(e)))
    }
}

#[async_trait]
impl Directory for PgDirectory {
    async fn add_member(&self, member: Member) -> Result<Member, DirectoryError> {
        org_ok(&member.org_id)?;
        let email = normalize_email(&member.email)?;
        let name = check_name(&member.name)?;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db)?;
        if !org_exists(&tx, &member.org_id).await? {
            return Err(DirectoryError::OrgNotFound(member.org_id));
        }
        lock_members(&tx, &member.org_id).await?;
        if get_member(&tx, &member.org_id, &email).await?.is_some() {
            return Err(DirectoryError::Exists(format!("member {email} of organization {}", member.org_id)));
        }
        let members = count(&tx, "SELECT count(*) FROM members WHERE org_id = $1", &member.org_id).await?;
        first_member_is_owner(&member.org_id, member.role, members)?;
        let st = tx
            .prepare_cached(&format!("INSERT INTO members ({MEMBER_COLS}) VALUES ($1, $2, $3, $4, $5)"))
            .await
            .map_err(db)?;
        tx.execute(&st, &[&member.org_id, &email, &name, &member.role.as_str(), &member.created_at.as_microsecond()])
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Member { email, name, ..member })
    }

    async fn update_member(&self, org_id: &str, email: &str, patch: MemberPatch) -> Result<Member, DirectoryError> {
        org_ok(org_id)?;
        let email = normalize_email(email)?;
        let name = patch.name.as_deref().map(check_name).transpose()?;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db)?;
        lock_members(&tx, org_id).await?;
        let mut m = get_member(&tx, org_id, &email).await?.ok_or_else(|| not_member(&email, org_id))?;
        if let Some(role) = patch.role {
            if takes_an_owner(m.role, Some(role)) {
                keep_an_owner(org_id, count(&tx, OWNERS, org_id).await?)?;
            }
            m.role = role;
        }
        if let Some(name) = name {
            m.name = name;
        }
        let st = tx
            .prepare_cached("UPDATE members SET name = $3, role = $4 WHERE org_id = $1 AND email = $2")
            .await
            .map_err(db)?;
        tx.execute(&st, &[&org_id, &email, &m.name, &m.role.as_str()]).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(m)
    }

    async fn remove_member(&self, org_id: &str, email: &str, now: Timestamp) -> Result<Member, DirectoryError> {
        org_ok(org_id)?;
        let email = normalize_email(email)?;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db)?;
        lock_members(&tx, org_id).await?;
        let m = get_member(&tx, org_id, &email).await?.ok_or_else(|| not_member(&email, org_id))?;
        if takes_an_owner(m.role, None) {
            keep_an_owner(org_id, count(&tx, OWNERS, org_id).await?)?;
        }
        let us = now.as_microsecond();
        tx.execute("DELETE FROM members WHERE org_id = $1 AND email = $2", &[&org_id, &email]).await.map_err(db)?;
        tx.execute(
            "UPDATE api_keys SET revoked_at = $3 WHERE kind = 'member' AND org_id = $1 AND email = $2 \
             AND revoked_at IS NULL",
            &[&org_id, &email, &us],
        )
        .await
        .map_err(db)?;
        tx.execute("DELETE FROM sessions WHERE org_id = $1 AND email = $2", &[&org_id, &email]).await.map_err(db)?;
        tx.execute("DELETE FROM login_links WHERE org_id = $1 AND email = $2 AND used_at IS NULL", &[&org_id, &email])
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(m)
    }

    async fn member(&self, org_id: &str, email: &str) -> Result<Option<Member>, DirectoryError> {
        let Ok(email) = normalize_email(email) else { return Ok(None) };
        if org_id.contains('\0') {
            return Ok(None);
        }
        get_member(&self.conn().await?, org_id, &email).await
    }

    async fn members(&self, org_id: &str) -> Result<Vec<Member>, DirectoryError> {
        org_ok(org_id)?;
        let c = self.conn().await?;
        if !org_exists(&c, org_id).await? {
            return Err(DirectoryError::OrgNotFound(org_id.to_string()));
        }
        let st = c
            .prepare_cached(&format!(
                "SELECT {MEMBER_COLS} FROM members WHERE org_id = $1 ORDER BY email COLLATE \"C\""
            ))
            .await
            .map_err(db)?;
        c.query(&st, &[&org_id]).await.map_err(db)?.iter().map(member_of).collect()
    }

    async fn create_key(&self, key: NewKey) -> Result<ApiKey, DirectoryError> {
        let name = check_name(&key.name)?;
        for (what, s) in [("key id", &key.id), ("key prefix", &key.prefix), ("secret hash", &key.secret_hash)] {
            text_ok(what, s)?;
        }
        let scope = match key.scope {
            KeyScope::Member { org_id, email } => {
                org_ok(&org_id)?;
                KeyScope::Member { org_id, email: normalize_email(&email)? }
            }
            KeyScope::Service { org_ids } => {
                for o in org_ids.iter().flatten() {
                    text_ok("org id", o)?;
                }
                KeyScope::Service { org_ids }
            }
        };
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db)?;
        let (kind, org_ids, org_id, email) = match &scope {
            KeyScope::Service { org_ids } => {
                let json = org_ids.as_ref().map(|ids| serde_json::to_string(ids).unwrap_or_default());
                ("service", json, None, None)
            }
            KeyScope::Member { org_id, email } => {
                if !org_exists(&tx, org_id).await? {
                    return Err(DirectoryError::OrgNotFound(org_id.clone()));
                }
                lock_members(&tx, org_id).await?;
                if get_member(&tx, org_id, email).await?.is_none() {
                    return Err(not_member(email, org_id));
                }
                ("member", None, Some(org_id.clone()), Some(email.clone()))
            }
        };
        let st = tx
            .prepare_cached(&format!(
                "INSERT INTO api_keys ({KEY_COLS}, secret_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, $9) \
                 ON CONFLICT DO NOTHING"
            ))
            .await
            .map_err(db)?;
        let inserted = tx
            .execute(
                &st,
                &[
                    &key.id,
                    &key.prefix,
                    &name,
                    &kind,
                    &org_ids,
                    &org_id,
                    &email,
                    &key.created_at.as_microsecond(),
                    &key.secret_hash,
                ],
            )
            .await
            .map_err(db)?;
        if inserted == 0 {
            return Err(DirectoryError::Exists(format!("key {}", key.id)));
        }
        let k = get_key(&tx, &key.id).await?.ok_or_else(|| DirectoryError::NotFound(format!("key {}", key.id)))?;
        tx.commit().await.map_err(db)?;
        Ok(k)
    }

    async fn key_by_hash(&self, secret_hash: &str) -> Result<Option<ApiKey>, DirectoryError> {
        if secret_hash.contains('\0') {
            return Ok(None);
        }
        let c = self.conn().await?;
        let st =
            c.prepare_cached(&format!("SELECT {KEY_COLS} FROM api_keys WHERE secret_hash = $1")).await.map_err(db)?;
        c.query_opt(&st, &[&secret_hash]).await.map_err(db)?.as_ref().map(key_of).transpose()
    }

    async fn key(&self, id: &str) -> Result<Option<ApiKey>, DirectoryError> {
        if id.contains('\0') {
            return Ok(None);
        }
        get_key(&self.conn().await?, id).await
    }

    async fn keys(&self, org_id: Option<&str>) -> Result<Vec<ApiKey>, DirectoryError> {
        if let Some(o) = org_id {
            org_ok(o)?;
        }
        let c = self.conn().await?;
        let st = c
            .prepare_cached(&format!(
                "SELECT {KEY_COLS} FROM api_keys WHERE $1::text IS NULL OR kind = 'service' OR org_id = $1 \
                 ORDER BY created_at DESC, id COLLATE \"C\""
            ))
            .await
            .map_err(db)?;
        let mut out = Vec::new();
        for r in c.query(&st, &[&org_id]).await.map_err(db)? {
            let k = key_of(&r)?;
            if org_id.is_none_or(|o| k.scope.covers(o)) {
                out.push(k);
            }
        }
        Ok(out)
    }

    async fn revoke_key(&self, id: &str, now: Timestamp) -> Result<ApiKey, DirectoryError> {
        if id.contains('\0') {
            return Err(DirectoryError::NotFound(format!("key {}", id.replace('\0', "\\0"))));
        }
        let c = self.conn().await?;
        c.execute(
            "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            &[&id, &now.as_microsecond()],
        )
        .await
        .map_err(db)?;
        get_key(&c, id).await?.ok_or_else(|| DirectoryError::NotFound(format!("key {id}")))
    }

    async fn touch_keys(&self, used: &[(String, Timestamp)]) -> Result<(), DirectoryError> {
        let used: Vec<&(String, Timestamp)> = used.iter().filter(|(id, _)| !id.contains('\0')).collect();
        if used.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = used.iter().map(|(id, _)| id.as_str()).collect();
        let ats: Vec<i64> = used.iter().map(|(_, at)| at.as_microsecond()).collect();
        let c = self.conn().await?;
        // One statement: latest time per key, never moving backwards.
        c.execute(
            "UPDATE api_keys k SET last_used_at = GREATEST(COALESCE(k.last_used_at, u.at), u.at) \
             FROM (SELECT id, max(at) AS at FROM UNNEST($1::text[], $2::int8[]) AS t(id, at) GROUP BY id) u \
             WHERE k.id = u.id",
            &[&ids, &ats],
        )
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn create_login_link(&self, token_hash: &str, link: LoginLink) -> Result<(), DirectoryError> {
        text_ok("token hash", token_hash)?;
        org_ok(&link.org_id)?;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db)?;
        if get_member(&tx, &link.org_id, &link.email).await?.is_none() {
            return Err(not_member(&link.email, &link.org_id));
        }
        tx.execute(
            "INSERT INTO login_links (token_hash, org_id, email, created_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, NULL)",
            &[
                &token_hash,
                &link.org_id,
                &link.email,
                &link.created_at.as_microsecond(),
                &link.expires_at.as_microsecond(),
            ],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn redeem_login_link(&self, token_hash: &str, now: Timestamp) -> Result<Option<LoginLink>, DirectoryError> {
        if token_hash.contains('\0') {
            return Ok(None);
        }
        let c = self.conn().await?;
        let row = c
            .query_opt(
                "UPDATE login_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
                 RETURNING org_id, email, created_at, expires_at",
                &[&token_hash, &now.as_microsecond()],
            )
            .await
            .map_err(db)?;
        row.map(|r| {
            Ok(LoginLink {
                org_id: r.try_get(0).map_err(db)?,
                email: r.try_get(1).map_err(db)?,
                created_at: ts(r.try_get(2).map_err(db)?)?,
                expires_at: ts(r.try_get(3).map_err(db)?)?,
            })
        })
        .transpose()
    }

    async fn create_session(&self, token_hash: &str, s: Session) -> Result<(), DirectoryError> {
        text_ok("token hash", token_hash)?;
        org_ok(&s.org_id)?;
        text_ok("email", &s.email)?;
        text_ok("csrf token", &s.csrf_token)?;
        self.conn()
            .await?
            .execute(
                "INSERT INTO sessions (token_hash, org_id, email, csrf_token, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &token_hash,
                    &s.org_id,
                    &s.email,
                    &s.csrf_token,
                    &s.created_at.as_microsecond(),
                    &s.expires_at.as_microsecond(),
                ],
            )
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Session>, DirectoryError> {
        if token_hash.contains('\0') {
            return Ok(None);
        }
        let c = self.conn().await?;
        let st = c
            .prepare_cached(
                "SELECT org_id, email, csrf_token, created_at, expires_at FROM sessions \
                 WHERE token_hash = $1 AND expires_at > $2",
            )
            .await
            .map_err(db)?;
        let row = c.query_opt(&st, &[&token_hash, &now.as_microsecond()]).await.map_err(db)?;
        row.map(|r| {
            Ok(Session {
                org_id: r.try_get(0).map_err(db)?,
                email: r.try_get(1).map_err(db)?,
                csrf_token: r.try_get(2).map_err(db)?,
                created_at: ts(r.try_get(3).map_err(db)?)?,
                expires_at: ts(r.try_get(4).map_err(db)?)?,
            })
        })
        .transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), DirectoryError> {
        if token_hash.contains('\0') {
            return Ok(());
        }
        self.conn().await?.execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash]).await.map_err(db)?;
        Ok(())
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<usize, DirectoryError> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db)?;
        let us = now.as_microsecond();
        let a = tx.execute("DELETE FROM sessions WHERE expires_at <= $1", &[&us]).await.map_err(db)?;
        let b = tx.execute("DELETE FROM login_links WHERE expires_at <= $1", &[&us]).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok((a + b) as usize)
    }
}
