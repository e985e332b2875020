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
    /// Everything an admin may do, and managing owners.
    Owner,
    /// Manages members other than owners, and does everything a member may.
    Admin,
    /// Reads and writes the ledger within their caps.
    Member,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Member];

    /// The role's stable name (`owner`, `admin`, `member`).
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
    /// The organisation.
    pub org_id: String,
    /// Their email, lower case: unique within the org.
    pub email: String,
    /// Their display name ([`check_name`]).
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// When they were added.
    pub created_at: Timestamp,
}

/// What a key may reach.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyScope {
    /// A platform backend: every org (`org_ids` null) or the orgs listed.
    Service {
        /// The orgs it reaches; `None`: every org.
        org_ids: Option<Vec<String>>,
    },
    /// A person or their script: acts as that member of that org, with the
    /// member's role at the time of each request.
    Member {
        /// The member's organisation.
        org_id: String,
        /// The member's email.
        email: String,
    },
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
    /// The key's id (shown in lists; not a secret).
    pub id: String,
    /// The first characters of the secret, to recognise a key in a list.
    pub prefix: String,
    /// A name to recognise it by ([`check_name`]).
    pub name: String,
    #[serde(flatten)]
    /// What it may reach.
    pub scope: KeyScope,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was revoked, if it was: a revoked key opens nothing.
    pub revoked_at: Option<Timestamp>,
    /// When it was last used, if ever (recorded in batches, never backwards).
    pub last_used_at: Option<Timestamp>,
}

/// A key to store: `secret_hash` is [`secret_hash`] of the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKey {
    /// The key's id.
    pub id: String,
    /// The first characters of the secret.
    pub prefix: String,
    /// A name to recognise it by.
    pub name: String,
    /// What it may reach.
    pub scope: KeyScope,
    /// [`secret_hash`] of the secret.
    pub secret_hash: String,
    /// When it was made.
    pub created_at: Timestamp,
}

/// A signed-in dashboard user. Stored under the hash of its cookie token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The organisation signed in to.
    pub org_id: String,
    /// The member signed in.
    pub email: String,
    /// Sent back with every form post and compared (CSRF). Not a credential
    /// on its own: without the cookie it opens nothing.
    pub csrf_token: String,
    /// When they signed in.
    pub created_at: Timestamp,
    /// When the session ends.
    pub expires_at: Timestamp,
}

/// A one-time sign-in link, stored under the hash of its token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginLink {
    /// The organisation the link signs in to.
    pub org_id: String,
    /// The member it signs in.
    pub email: String,
    /// When it was sent.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, thiserror::Error)]
/// Why a directory call was refused or failed.
pub enum DirectoryError {
    #[error("organization {0} not found")]
    /// No organisation has that id.
    OrgNotFound(String),
    #[error("{0} not found")]
    /// The member, key or link named does not exist.
    NotFound(String),
    #[error("{0} already exists")]
    /// The member or key exists already.
    Exists(String),
    #[error("organization {0} must keep at least one owner")]
    /// The change would leave the org without an owner ([`keep_an_owner`]).
    LastOwner(String),
    #[error("{0}")]
    /// A bad request (an email, a name, a role, a first member who is not an owner), with the reason.
    Invalid(String),
    #[error(transparent)]
    /// The store failed.
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
    /// The new name, if it changes.
    pub name: Option<String>,
    /// The new role, if it changes.
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
    /// Adds `member` (email normalised, name checked). `OrgNotFound`, `Exists`,
    /// or `Invalid` if the org's first member is not an owner.
    async fn add_member(&self, member: Member) -> Result<Member, DirectoryError>;
    /// Changes a member's name or role; `NotFound` for an unknown member,
    /// `LastOwner` if it demotes the last owner.
    async fn update_member(&self, org_id: &str, email: &str, patch: MemberPatch) -> Result<Member, DirectoryError>;
    /// Removes the member, revokes their keys (at `now`) and deletes their sessions.
    async fn remove_member(&self, org_id: &str, email: &str, now: Timestamp) -> Result<Member, DirectoryError>;
    /// The member of `org_id` with that email, if any.
    async fn member(&self, org_id: &str, email: &str) -> Result<Option<Member>, DirectoryError>;
    /// The org's members by email.
    async fn members(&self, org_id: &str) -> Result<Vec<Member>, DirectoryError>;

    /// Stores a new key. `OrgNotFound` for a member key of an unknown org.
    async fn create_key(&self, key: NewKey) -> Result<ApiKey, DirectoryError>;
    /// The key whose secret hashes to `secret_hash`, revoked or not.
    async fn key_by_hash(&self, secret_hash: &str) -> Result<Option<ApiKey>, DirectoryError>;
    /// The key with that id, revoked or not.
    async fn key(&self, id: &str) -> Result<Option<ApiKey>, DirectoryError>;
    /// Every key, newest first; with `org_id`, member keys of that org and
    /// service keys that reach it.
    async fn keys(&self, org_id: Option<&str>) -> Result<Vec<ApiKey>, DirectoryError>;
    /// Marks the key revoked (once; a second revoke keeps the first time).
    async fn revoke_key(&self, id: &str, now: Timestamp) -> Result<ApiKey, DirectoryError>;
    /// Records when keys were last used, in one transaction; never moves a
    /// time backwards.
    async fn touch_keys(&self, used: &[(String, Timestamp)]) -> Result<(), DirectoryError>;

    /// Stores a sign-in link under `token_hash` ([`secret_hash`] of its token).
    async fn create_login_link(&self, token_hash: &str, link: LoginLink) -> Result<(), DirectoryError>;
    /// Marks the link used and returns it, if it exists, was not used and
    /// has not expired at `now`; else `None`. Atomic: of two racing
    /// redemptions one gets the link.
    async fn redeem_login_link(&self, token_hash: &str, now: Timestamp) -> Result<Option<LoginLink>, DirectoryError>;
    /// Stores a session under `token_hash` ([`secret_hash`] of its cookie token).
    async fn create_session(&self, token_hash: &str, session: Session) -> Result<(), DirectoryError>;
    /// The session, if it exists and has not expired at `now`.
    async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Session>, DirectoryError>;
    /// Ends the session (signing out); nothing if there is none.
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
