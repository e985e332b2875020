//! Who may call creditd: members of organisations, API keys, dashboard
//! sessions and one-time sign-in links.
//!
//! None of this is ledger data: these rows are not events, are not in an
//! org's state, and change in short transactions of their own. Every engine
//! implements [`Directory`] and hands it out with [`crate::Store::directory`].
//!
//! Secrets never reach storage. Keys, session tokens and sign-in link tokens
//! are high-entropy random strings made by the server; only their SHA-256
//! ([`secret_hash`]) is stored and looked up, so a copy of the database does
//! not let anyone in.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use creditd_core::ErrorCode;

use crate::StoreError;

/// A member's role in their organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = DirectoryError;
    fn from_str(s: &str) -> Result<Role, DirectoryError> {
        match s {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            _ => Err(DirectoryError::Invalid(format!("unknown role {s:?}; expected owner, admin or member"))),
        }
    }
}

/// A person in an organisation. `email` is unique within the org and stored
/// in lower case; `name` need not be unique.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Member {
    pub org_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: Timestamp,
}

/// What a key may reach.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyScope {
    /// A platform backend: every org (`org_ids` null) or the orgs listed.
    Service { org_ids: Option<Vec<String>> },
    /// A person or their script: acts as that member of that org, with the
    /// member's role at the time of each request.
    Member { org_id: String, email: String },
}

impl KeyScope {
    /// Whether the key reaches `org_id` at all.
    pub fn covers(&self, org_id: &str) -> bool {
        match self {
            KeyScope::Service { org_ids: None } => true,
            KeyScope::Service { org_ids: Some(ids) } => ids.iter().any(|o| o == org_id),
            KeyScope::Member { org_id: o, .. } => o == org_id,
        }
    }
}

/// An API key as stored and listed. The secret is not here: it is shown
/// once, when the key is made, and only its hash is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiKey {
    pub id: String,
    /// The first characters of the secret, to recognise a key in a list.
    pub prefix: String,
    pub name: String,
    #[serde(flatten)]
    pub scope: KeyScope,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

/// A key to store: `secret_hash` is [`secret_hash`] of the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKey {
    pub id: String,
    pub prefix: String,
    pub name: String,
    pub scope: KeyScope,
    pub secret_hash: String,
    pub created_at: Timestamp,
}

/// A signed-in dashboard user. Stored under the hash of its cookie token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub org_id: String,
    pub email: String,
    /// Sent back with every form post and compared (CSRF). Not a credential
    /// on its own: without the cookie it opens nothing.
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A one-time sign-in link, stored under the hash of its token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginLink {
    pub org_id: String,
    pub email: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum DirectoryError {
    #[error("organization {0} not found")]
    OrgNotFound(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Exists(String),
    #[error("organization {0} must keep at least one owner")]
    LastOwner(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DirectoryError {
    /// The stable code answered for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            DirectoryError::OrgNotFound(_) | DirectoryError::NotFound(_) => ErrorCode::NotFound,
            DirectoryError::Exists(_) => ErrorCode::AlreadyExists,
            DirectoryError::LastOwner(_) => ErrorCode::LastOwner,
            DirectoryError::Invalid(_) => ErrorCode::ValidationError,
            DirectoryError::Store(e) => e.code(),
        }
    }
}

/// Changes to a member; `None` keeps the value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
}

/// Members, keys, sessions and sign-in links of every organisation.
///
/// Rules every engine keeps, inside one transaction each:
/// - `email` is compared and stored in lower case;
/// - an org always keeps at least one owner: demoting or removing its last
///   owner is `LastOwner` and changes nothing;
/// - removing a member revokes their keys and ends their sessions;
/// - a sign-in link is redeemed at most once, and not after it expires;
/// - adding a member or a member key to an org that does not exist is
///   `OrgNotFound`.
#[async_trait]
pub trait Directory: Send + Sync {
    async fn add_member(&self, member: Member) -> Result<Member, DirectoryError>;
    async fn update_member(&self, org_id: &str, email: &str, patch: MemberPatch) -> Result<Member, DirectoryError>;
    /// Removes the member, revokes their keys (at `now`) and deletes their sessions.
    async fn remove_member(&self, org_id: &str, email: &str, now: Timestamp) -> Result<Member, DirectoryError>;
    async fn member(&self, org_id: &str, email: &str) -> Result<Option<Member>, DirectoryError>;
    /// The org's members by email.
    async fn members(&self, org_id: &str) -> Result<Vec<Member>, DirectoryError>;

    async fn create_key(&self, key: NewKey) -> Result<ApiKey, DirectoryError>;
    /// The key whose secret hashes to `secret_hash`, revoked or not.
    async fn key_by_hash(&self, secret_hash: &str) -> Result<Option<ApiKey>, DirectoryError>;
    async fn key(&self, id: &str) -> Result<Option<ApiKey>, DirectoryError>;
    /// Every key, newest first; with `org_id`, member keys of that org and
    /// service keys that reach it.
    async fn keys(&self, org_id: Option<&str>) -> Result<Vec<ApiKey>, DirectoryError>;
    /// Marks the key revoked (once; a second revoke keeps the first time).
    async fn revoke_key(&self, id: &str, now: Timestamp) -> Result<ApiKey, DirectoryError>;
    /// Records when keys were last used, in one transaction; never moves a
    /// time backwards.
    async fn touch_keys(&self, used: &[(String, Timestamp)]) -> Result<(), DirectoryError>;

    async fn create_login_link(&self, token_hash: &str, link: LoginLink) -> Result<(), DirectoryError>;
    /// Marks the link used and returns it, if it exists, was not used and
    /// has not expired at `now`; else `None`. Atomic: of two racing
    /// redemptions one gets the link.
    async fn redeem_login_link(&self, token_hash: &str, now: Timestamp) -> Result<Option<LoginLink>, DirectoryError>;
    async fn create_session(&self, token_hash: &str, session: Session) -> Result<(), DirectoryError>;
    /// The session, if it exists and has not expired at `now`.
    async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Session>, DirectoryError>;
    async fn delete_session(&self, token_hash: &str) -> Result<(), DirectoryError>;
    /// Deletes expired sessions and links; returns how many.
    async fn purge_expired(&self, now: Timestamp) -> Result<usize, DirectoryError>;
}

/// The stored form of a secret: hex SHA-256. Secrets are random with at
/// least 190 bits of entropy, so a plain hash cannot be reversed by guessing.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Lower case, trimmed; checks the shape of an email address.
pub fn normalize_email(email: &str) -> Result<String, DirectoryError> {
    let e = email.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(user, host)| !user.is_empty() && !host.is_empty() && !host.contains('@'))
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok { Ok(e) } else { Err(DirectoryError::Invalid(format!("{:?} is not an email address", email.trim()))) }
}

// The directory's rules, as pure functions both engines call with what they
// read under their own lock; only the counting is the engine's.

/// A member's or key's name: trimmed, 1 to 200 printable characters.
pub fn check_name(name: &str) -> Result<String, DirectoryError> {
    let n = name.trim();
    if n.is_empty() || n.len() > 200 || n.chars().any(char::is_control) {
        return Err(DirectoryError::Invalid("name must be 1 to 200 printable characters".into()));
    }
    Ok(n.to_string())
}

/// The first member of an organisation (`members` counted before the
/// insert) is an owner.
pub fn first_member_is_owner(org_id: &str, role: Role, members: i64) -> Result<(), DirectoryError> {
    if role != Role::Owner && members == 0 {
        return Err(DirectoryError::Invalid(format!("the first member of organization {org_id} must be an owner")));
    }
    Ok(())
}

/// Whether changing a member from `from` to `to` (`None`: removing them)
/// takes an owner away; only then need the engine count the owners for
/// [`keep_an_owner`].
pub fn takes_an_owner(from: Role, to: Option<Role>) -> bool {
    from == Role::Owner && to != Some(Role::Owner)
}

/// An organisation keeps at least one owner: taking one away is refused
/// when `owners` (counted under the engine's lock, the one taken away
/// included) is 1 or fewer.
pub fn keep_an_owner(org_id: &str, owners: i64) -> Result<(), DirectoryError> {
    if owners <= 1 {
        return Err(DirectoryError::LastOwner(org_id.to_string()));
    }
    Ok(())
}
