//! Who is calling: a bearer key or a dashboard session cookie, resolved
//! into a [`Principal`] that handlers take as an extractor and ask
//! `principal.require(Action::X, org)?`.
//!
//! - The bootstrap service key (`CREDITD_SERVICE_KEY` or
//!   `<data-dir>/service-key`) is compared in constant time and reaches
//!   every organisation; it is never stored.
//! - Stored keys (`cdk_…`) are looked up by the SHA-256 of the secret. A
//!   found key is cached for [`KEY_CACHE_TTL`] so a busy client costs no
//!   read per request; revoking a key or changing a member through this
//!   server empties the cache at once, a change made by the command line
//!   next to a running server takes effect within the TTL.
//! - `last_used_at` is noted in memory and written every
//!   [`LAST_USED_FLUSH_EVERY`] (and at shutdown), not once per request.
//! - A session cookie (`creditd_session`, HttpOnly, SameSite=Strict) comes
//!   from a one-time sign-in link. Anything but GET/HEAD made with a session
//!   must carry the session's CSRF token (`X-CSRF-Token` header, or the
//!   `csrf_token` field of a form).
//!
//! Secrets never reach a log or an answer: only a key's id and prefix do.

use creditd_core::ErrorCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use creditd_core::{AccessOp, Actor, CapSubject, CapView, EventCtx, Op, OrgState};
use creditd_store::directory::{
    ApiKey, Directory, DirectoryError, KeyScope, LoginLink, Role, Session, normalize_email, secret_hash,
};
use creditd_store::{Command, Store};
use jiff::{SignedDuration, Timestamp};

use crate::AppState;
use crate::error::ApiError;
use crate::permissions::{Action, Who, allowed};

/// How long a resolved stored key is trusted without a read.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(5);
/// How often noted `last_used_at` times are written.
pub const LAST_USED_FLUSH_EVERY: Duration = Duration::from_secs(10);
/// Most resolved keys kept in memory.
const MAX_CACHED_KEYS: usize = 10_000;
/// The dashboard session cookie.
pub const SESSION_COOKIE: &str = "creditd_session";
/// How long a dashboard session lasts.
pub const SESSION_TTL: SignedDuration = SignedDuration::from_hours(12);
/// How long a sign-in link stays valid unless told otherwise.
pub const LOGIN_LINK_TTL: SignedDuration = SignedDuration::from_mins(15);

/// Stored key secrets start with this; the first [`KEY_PREFIX_LEN`]
/// characters are kept, visible, as the key's prefix.
pub const KEY_SECRET_PREFIX: &str = "cdk_";
/// Characters of a key secret kept, visible, as its prefix.
pub const KEY_PREFIX_LEN: usize = 12;
const SESSION_PREFIX: &str = "cs_";
const LINK_PREFIX: &str = "ll_";
/// Random characters in a secret (62 symbols each: about 238 bits).
const SECRET_CHARS: usize = 40;

/// What a principal reaches and as whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// A platform backend: every org (`None`) or those listed.
    Service {
        /// The organisations reached; `None`: every one.
        org_ids: Option<Vec<String>>,
    },
    /// A member of one org, with their current role.
    Member {
        /// The member's organisation.
        org_id: String,
        /// Their email.
        email: String,
        /// Their name.
        name: String,
        /// Their current role.
        role: Role,
    },
}

#[derive(Clone, PartialEq, Eq)]
struct SessionRef {
    token_hash: String,
    csrf_token: String,
}

impl std::fmt::Debug for SessionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionRef(..)")
    }
}

/// The authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The stored key used; none for the bootstrap key and sessions.
    pub key_id: Option<String>,
    /// What it reaches and as whom.
    pub access: Access,
    /// The organisations below the ones it reaches (children and
    /// grandchildren), where an owner, admin or service key acts as
    /// [`Who::Parent`]; read when the principal is resolved. Empty for a
    /// plain member and for a key that reaches every organisation.
    pub via_parent: Vec<String>,
    session: Option<SessionRef>,
}

impl Principal {
    fn bootstrap() -> Principal {
        Principal { key_id: None, access: Access::Service { org_ids: None }, via_parent: Vec::new(), session: None }
    }

    /// The role the permission table knows this caller by.
    pub fn who(&self) -> Who {
        match &self.access {
            Access::Service { .. } => Who::Service,
            Access::Member { role: Role::Owner, .. } => Who::Owner,
            Access::Member { role: Role::Admin, .. } => Who::Admin,
            Access::Member { role: Role::Member, .. } => Who::Member,
        }
    }

    /// Whether this principal reaches `org_id` at all: its own
    /// organisation(s) or one below them.
    pub fn reaches(&self, org_id: &str) -> bool {
        self.reaches_directly(org_id) || self.via_parent.iter().any(|o| o == org_id)
    }

    /// Whether `org_id` is one of its own organisations (not one it reaches
    /// as a parent).
    pub fn reaches_directly(&self, org_id: &str) -> bool {
        match &self.access {
            Access::Service { org_ids: None } => true,
            Access::Service { org_ids: Some(ids) } => ids.iter().any(|o| o == org_id),
            Access::Member { org_id: o, .. } => o == org_id,
        }
    }

    /// The role the permission table knows this caller by in `org_id`:
    /// its own role there, or [`Who::Parent`] in an organisation below its
    /// own.
    pub fn who_in(&self, org_id: &str) -> Who {
        if self.reaches_directly(org_id) { self.who() } else { Who::Parent }
    }

    /// A platform key that reaches every organisation.
    pub fn is_all_orgs_service(&self) -> bool {
        matches!(self.access, Access::Service { org_ids: None })
    }

    /// The member acting, if any: (org, email).
    pub fn member(&self) -> Option<(&str, &str)> {
        match &self.access {
            Access::Member { org_id, email, .. } => Some((org_id, email)),
            Access::Service { .. } => None,
        }
    }

    /// Signed in through the dashboard (a cookie, not a key).
    pub fn is_session(&self) -> bool {
        self.session.is_some()
    }

    /// The session's CSRF token, to put in forms.
    pub fn csrf_token(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.csrf_token.as_str())
    }

    /// `Ok` if this principal may do `action` in `org_id`. An org it does
    /// not reach answers exactly as a missing org does (404, same body); a
    /// reachable org where the role does not allow it is 403.
    pub fn require(&self, action: Action, org_id: &str) -> Result<(), ApiError> {
        if !creditd_core::valid_id(org_id) {
            return Err(ApiError::not_found(format!("organization {org_id:?} not found")));
        }
        if !self.reaches(org_id) {
            return Err(org_not_found(org_id));
        }
        let who = self.who_in(org_id);
        if allowed(who, action) { Ok(()) } else { Err(ApiError::forbidden(crate::permissions::refusal(who, action))) }
    }

    /// `Ok` if this principal may create organisation `org_id`: a service
    /// key that reaches it (an all-orgs key, or one listing that id).
    /// Refused with 403 whether or not the org exists, so a refusal tells
    /// nothing about other organisations.
    pub fn require_create_org(&self, org_id: &str) -> Result<(), ApiError> {
        self.require_role(Action::CreateOrg)?;
        if self.reaches(org_id) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("this key may not create organization {org_id:?}")))
        }
    }

    /// `Ok` if the role allows `action` (reach checked elsewhere).
    pub fn require_role(&self, action: Action) -> Result<(), ApiError> {
        let who = self.who();
        if allowed(who, action) { Ok(()) } else { Err(ApiError::forbidden(crate::permissions::refusal(who, action))) }
    }

    /// Who did an operation, for the ledger: caps of the key and the
    /// member apply, and a plain member settles only their own holds. None
    /// for the bootstrap key.
    pub fn actor(&self) -> Option<Actor> {
        let member = match &self.access {
            Access::Member { email, role, .. } => Some((email.clone(), *role == Role::Member)),
            Access::Service { .. } => None,
        };
        if self.key_id.is_none() && member.is_none() {
            return None;
        }
        Some(Actor {
            key_id: self.key_id.clone(),
            own_holds_only: member.as_ref().is_some_and(|(_, plain)| *plain),
            member_email: member.map(|(e, _)| e),
        })
    }

    /// The command for `op` done by this principal: a member's name and
    /// email go on the events (whatever the body said), and the operation
    /// is marked with its actor so caps apply. The idempotency fingerprint
    /// is the operation's own, so a retry with another key still replays.
    pub fn command(&self, org_id: &str, mut op: Op, idempotency_key: Option<String>) -> Command {
        if let Access::Member { email, name, .. } = &self.access
            && let Some(ctx) = ctx_mut(&mut op)
        {
            ctx.user_email = Some(email.clone());
            ctx.user_name = Some(name.clone());
        }
        Command::new(org_id, op, idempotency_key).by(self.actor())
    }

    /// The caps this principal may see in `state` as of `now`: all of them
    /// for service keys, owners and admins; a member's own and the project
    /// budgets (shared by whoever works on the project) otherwise.
    pub fn visible_caps(&self, state: &OrgState, now: Timestamp) -> Vec<CapView> {
        let all = state.cap_views(now);
        if self.who() != Who::Member {
            return all;
        }
        all.into_iter().filter(|c| self.owns_cap(&c.subject) || matches!(c.subject, CapSubject::Project(_))).collect()
    }

    /// Whether a cap limits this principal itself: its key, its membership.
    pub fn owns_cap(&self, s: &CapSubject) -> bool {
        match s {
            CapSubject::Key(k) => self.key_id.as_deref() == Some(k),
            CapSubject::Member(e) => self.member().is_some_and(|(_, me)| me == e),
            CapSubject::Project(_) => false,
        }
    }
}

/// The caps `principal` may see in `org_id` as of now (none when the engine
/// cannot tell): for the balance and summary.
pub async fn caps_shown(app: &AppState, principal: &Principal, org_id: &str) -> Vec<CapView> {
    match app.store.org_state(org_id).await {
        Ok(state) => principal.visible_caps(&state, app.store.now()),
        Err(_) => Vec::new(),
    }
}

/// The answer for an organisation that does not exist.
pub fn org_not_found(org_id: &str) -> ApiError {
    ApiError::from(creditd_store::StoreError::OrgNotFound(org_id.to_string()))
}

fn ctx_mut(op: &mut Op) -> Option<&mut EventCtx> {
    match op {
        Op::Credit(c) => Some(&mut c.ctx),
        Op::Hold(h) => Some(&mut h.ctx),
        Op::SettlePurchase { ctx, .. }
        | Op::ReversePurchase { ctx, .. }
        | Op::Debit { ctx, .. }
        | Op::Release { ctx, .. }
        | Op::ExtendHold(creditd_core::ExtendOp { ctx, .. })
        | Op::Usage { ctx, .. }
        | Op::Refund { ctx, .. }
        | Op::Adjustment { ctx, .. }
        | Op::Billing { ctx, .. } => Some(ctx),
        Op::Transfer(creditd_core::TransferOp::Out { ctx, .. }) => Some(ctx),
        Op::Priced(p) => Some(p.ctx_mut()),
        _ => None,
    }
}

/// The action an operation needs.
pub fn action_for(op: &Op) -> Action {
    use creditd_core::{CreditKind, PlanOp};
    match op {
        Op::Credit(c) if c.kind == CreditKind::Grant => Action::Grant,
        Op::Credit(_) | Op::SettlePurchase { .. } | Op::Refund { .. } | Op::Billing { .. } => Action::WriteCredits,
        Op::Hold(_) | Op::Debit { .. } | Op::Release { .. } | Op::ExtendHold(_) | Op::Usage { .. } | Op::Priced(_) => {
            Action::Consume
        }
        Op::Adjustment { .. } => Action::Adjust,
        Op::ReversePurchase { .. } => Action::ReversePurchases,
        Op::Plans(PlanOp::Conversation { .. }) => Action::Consume,
        Op::Plans(PlanOp::SetAutoTopUp(_) | PlanOp::SetAlerts(_)) => Action::ManageMoneyIn,
        Op::Plans(PlanOp::BuyMore { .. }) => Action::BuyMore,
        Op::Plans(_) => Action::ManagePlan,
        Op::Access(AccessOp::SetSettings(_)) => Action::ManageOrg,
        Op::Access(AccessOp::SetCap { .. }) => Action::ManageCaps,
        Op::TimeoutHold { .. } | Op::ExpireDue => Action::WriteCredits,
        Op::Transfer(_) => Action::Transfer,
    }
}

#[derive(Clone)]
struct Cached {
    at: Instant,
    principal: Principal,
}

/// Key resolution, its cache and the `last_used_at` buffer. One per server.
pub struct Auth {
    bootstrap: Arc<str>,
    cache: Mutex<HashMap<String, Cached>>,
    /// Bumped by [`Auth::forget`]: a lookup that started before a revoke
    /// does not put its (stale) answer in the cache.
    generation: std::sync::atomic::AtomicU64,
    /// Bounded without a limit of its own: only a key that resolved (one
    /// that exists and is not revoked) gets an entry, one per key id, and
    /// every flush (each few seconds) empties it.
    last_used: Mutex<HashMap<String, Timestamp>>,
}

impl Auth {
    /// Resolution with `bootstrap` as the bootstrap service key.
    pub fn new(bootstrap: impl Into<Arc<str>>) -> Auth {
        Auth {
            bootstrap: bootstrap.into(),
            cache: Mutex::new(HashMap::new()),
            generation: std::sync::atomic::AtomicU64::new(0),
            last_used: Mutex::new(HashMap::new()),
        }
    }

    /// HMAC-SHA256 of `message` keyed with the bootstrap service key, as
    /// lower-case hex: the signature of a Buy more checkout URL (see
    /// `money_in::checkout_url`). The operator's backend, which holds the
    /// service key, recomputes it to trust the purchase id it is sent.
    pub fn sign_with_service_key(&self, message: &str) -> String {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = Hmac::<sha2_hmac::Sha256>::new_from_slice(self.bootstrap.as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Forgets every resolved key (after a revoke or a member change).
    pub fn forget(&self) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        cache.clear();
    }

    /// When a key was last used, if that is newer than what is stored.
    pub fn pending_last_used(&self, key_id: &str) -> Option<Timestamp> {
        self.last_used.lock().unwrap_or_else(|p| p.into_inner()).get(key_id).copied()
    }

    /// A key as shown to clients: with its latest use, even if not yet written.
    pub fn shown(&self, mut key: ApiKey) -> ApiKey {
        if let Some(t) = self.pending_last_used(&key.id) {
            key.last_used_at = Some(key.last_used_at.map_or(t, |s| s.max(t)));
        }
        key
    }

    /// Writes the noted `last_used_at` times.
    pub async fn flush(&self, dir: &dyn Directory) {
        let used: Vec<(String, Timestamp)> = {
            let mut m = self.last_used.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut *m).into_iter().collect()
        };
        if used.is_empty() {
            return;
        }
        if let Err(e) = dir.touch_keys(&used).await {
            tracing::warn!(error = %e, keys = used.len(), "could not record when keys were last used");
        }
    }

    /// The principal behind a request's `Authorization` header or session
    /// cookie; `None` when there is neither or it is not valid.
    pub async fn resolve(&self, store: &dyn Store, headers: &HeaderMap) -> Result<Option<Principal>, ApiError> {
        if let Some(v) = headers.get(header::AUTHORIZATION) {
            let Some(key) = v.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim) else {
                return Ok(None);
            };
            return self.resolve_key(store, key).await;
        }
        match cookie(headers, SESSION_COOKIE) {
            Some(token) => resolve_session(store, token).await,
            None => Ok(None),
        }
    }

    async fn resolve_key(&self, store: &dyn Store, key: &str) -> Result<Option<Principal>, ApiError> {
        if same_secret(key.as_bytes(), self.bootstrap.as_bytes()) {
            return Ok(Some(Principal::bootstrap()));
        }
        if !key.starts_with(KEY_SECRET_PREFIX) || key.len() > 128 {
            return Ok(None);
        }
        let hash = secret_hash(key);
        let cached = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.get(&hash).filter(|c| c.at.elapsed() < KEY_CACHE_TTL).map(|c| c.principal.clone())
        };
        let principal = match cached {
            Some(p) => p,
            None => {
                let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
                let dir = store.directory();
                let Some(k) = dir.key_by_hash(&hash).await? else { return Ok(None) };
                if k.revoked_at.is_some() {
                    return Ok(None);
                }
                let access = match k.scope {
                    KeyScope::Service { org_ids } => Access::Service { org_ids },
                    KeyScope::Member { org_id, email } => match dir.member(&org_id, &email).await? {
                        Some(m) => Access::Member { org_id, email: m.email, name: m.name, role: m.role },
                        None => return Ok(None),
                    },
                };
                let via_parent = below(store, &access).await?;
                let p = Principal { key_id: Some(k.id), access, via_parent, session: None };
                let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                if cache.len() >= MAX_CACHED_KEYS {
                    cache.clear();
                }
                if self.generation.load(std::sync::atomic::Ordering::SeqCst) == generation {
                    cache.insert(hash, Cached { at: Instant::now(), principal: p.clone() });
                }
                p
            }
        };
        if let Some(id) = &principal.key_id {
            self.last_used.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone(), store.now());
        }
        Ok(Some(principal))
    }
}

async fn resolve_session(store: &dyn Store, token: &str) -> Result<Option<Principal>, ApiError> {
    if !token.starts_with(SESSION_PREFIX) || token.len() > 128 {
        return Ok(None);
    }
    let hash = secret_hash(token);
    let dir = store.directory();
    let Some(s) = dir.session(&hash, store.now()).await? else { return Ok(None) };
    let Some(m) = dir.member(&s.org_id, &s.email).await? else { return Ok(None) };
    let access = Access::Member { org_id: m.org_id, email: m.email, name: m.name, role: m.role };
    let via_parent = below(store, &access).await?;
    Ok(Some(Principal {
        key_id: None,
        access,
        via_parent,
        session: Some(SessionRef { token_hash: hash, csrf_token: s.csrf_token }),
    }))
}

/// The organisations below those `access` reaches, where it acts as a
/// parent: for owners, admins and service keys limited to a list (a key
/// that reaches every organisation needs none; a plain member gets none:
/// a child's or a parent's plain members reach only their own org).
async fn below(store: &dyn Store, access: &Access) -> Result<Vec<String>, ApiError> {
    let roots: Vec<String> = match access {
        Access::Service { org_ids: None } => return Ok(Vec::new()),
        Access::Service { org_ids: Some(ids) } => ids.clone(),
        Access::Member { role: Role::Member, .. } => return Ok(Vec::new()),
        Access::Member { org_id, .. } => vec![org_id.clone()],
    };
    let mut out = Vec::new();
    for root in &roots {
        out.extend(creditd_store::descendants(store, root).await?);
    }
    out.retain(|o| !roots.contains(o));
    out.sort();
    out.dedup();
    Ok(out)
}

/// Compares without stopping at the first difference, so timing does not
/// tell how much of a guessed key was right.
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Middleware for `/api`: resolves the caller or answers 401, and checks
/// the CSRF token of anything but GET/HEAD made with a session cookie.
pub async fn authenticate(State(app): State<AppState>, mut req: Request, next: Next) -> Result<Response, ApiError> {
    let principal = app.auth.resolve(app.store.as_ref(), req.headers()).await?.ok_or_else(ApiError::unauthorized)?;
    if let Some(s) = &principal.session
        && !req.method().is_safe()
    {
        let sent = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok());
        if !sent.is_some_and(|t| same_secret(t.as_bytes(), s.csrf_token.as_bytes())) {
            return Err(csrf_failed());
        }
    }
    req.extensions_mut().insert(principal);
    Ok(next.run(req).await)
}

fn csrf_failed() -> ApiError {
    ApiError::new(
        ErrorCode::CsrfFailed,
        "this request needs the session's CSRF token (X-CSRF-Token header or csrf_token form field)",
    )
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(ApiError::unauthorized)
    }
}

impl crate::answer::ArgDoc for Principal {}

/// For pages outside `/api`: the signed-in member, if any (cookie only).
pub struct MaybeSession(pub Option<Principal>);

impl crate::answer::ArgDoc for MaybeSession {}

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        match cookie(&parts.headers, SESSION_COOKIE) {
            Some(token) => Ok(MaybeSession(resolve_session(app.store.as_ref(), token).await?)),
            None => Ok(MaybeSession(None)),
        }
    }
}

/// Checks a form post's CSRF token against the session's.
pub fn check_csrf(principal: &Principal, presented: Option<&str>) -> Result<(), ApiError> {
    match (&principal.session, presented) {
        (Some(s), Some(t)) if same_secret(t.as_bytes(), s.csrf_token.as_bytes()) => Ok(()),
        _ => Err(csrf_failed()),
    }
}

/// A new random secret with `prefix`.
fn secret(prefix: &str) -> String {
    format!("{prefix}{}", crate::random_token(SECRET_CHARS))
}

/// A new key secret, its visible prefix and its stored hash.
pub fn new_key_secret() -> (String, String, String) {
    let s = secret(KEY_SECRET_PREFIX);
    let prefix = s[..KEY_PREFIX_LEN].to_string();
    let hash = secret_hash(&s);
    (s, prefix, hash)
}

/// A new key id (not secret).
pub fn new_key_id() -> String {
    format!("key_{}", crate::random_token(16))
}

/// Makes a one-time sign-in link for a member; returns the token to put
/// in the URL (`{base}/login/{token}`). Only its hash is stored.
pub async fn issue_login_link(
    dir: &dyn Directory,
    org_id: &str,
    email: &str,
    now: Timestamp,
    ttl: SignedDuration,
) -> Result<String, DirectoryError> {
    let email = normalize_email(email)?;
    if ttl <= SignedDuration::ZERO || ttl > SignedDuration::from_hours(24 * 7) {
        return Err(DirectoryError::Invalid("a sign-in link lasts between 1 second and 7 days".into()));
    }
    let expires_at = now.checked_add(ttl).map_err(|e| DirectoryError::Invalid(e.to_string()))?;
    let token = secret(LINK_PREFIX);
    dir.create_login_link(
        &secret_hash(&token),
        LoginLink { org_id: org_id.to_string(), email, created_at: now, expires_at },
    )
    .await?;
    Ok(token)
}

/// When the session cookie gets `Secure` (sent back over HTTPS only).
/// creditd itself speaks plain HTTP; it is reached over HTTPS through a TLS
/// proxy, which it learns from the operator.
#[derive(Clone, Copy, Debug, Default)]
pub struct HttpsPolicy {
    /// `--public-url https://…`: every browser reaches this server over
    /// HTTPS, so every session cookie is `Secure`.
    pub public_https: bool,
    /// `--trust-forwarded-proto`: the proxy in front sets
    /// `X-Forwarded-Proto` (and strips the client's own), so `https` there
    /// means the browser used HTTPS. Without this the header is ignored: a
    /// client could send it itself.
    pub trust_forwarded_proto: bool,
}

impl HttpsPolicy {
    /// Whether the request that `headers` came with reached us over HTTPS.
    pub fn is_https(&self, headers: &HeaderMap) -> bool {
        self.public_https
            || (self.trust_forwarded_proto
                && headers
                    .get("x-forwarded-proto")
                    .and_then(|v| v.to_str().ok())
                    // A chain of proxies appends: the first is the client's.
                    .and_then(|v| v.split(',').next())
                    .is_some_and(|p| p.trim().eq_ignore_ascii_case("https")))
    }

    fn cookie_attributes(&self, headers: &HeaderMap) -> &'static str {
        if self.is_https(headers) {
            "Path=/; HttpOnly; Secure; SameSite=Strict"
        } else {
            "Path=/; HttpOnly; SameSite=Strict"
        }
    }
}

/// `GET /login/{token}`: redeems a sign-in link once, starts a session
/// (HttpOnly, SameSite=Strict cookie, `Secure` when reached over HTTPS,
/// see [`HttpsPolicy`]) and sends the browser to `/`.
pub async fn login(
    State(app): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<crate::answer::SeeOther, ApiError> {
    let invalid = || {
        ApiError::new(
            ErrorCode::LoginLinkInvalid,
            "this sign-in link is unknown, already used or expired; ask for a new one (creditd login-link)",
        )
    };
    if !token.starts_with(LINK_PREFIX) || token.len() > 128 {
        return Err(invalid());
    }
    let dir = app.store.directory();
    let now = app.store.now();
    let Some(link) = dir.redeem_login_link(&secret_hash(&token), now).await? else { return Err(invalid()) };
    if dir.member(&link.org_id, &link.email).await?.is_none() {
        return Err(invalid());
    }
    let session_token = secret(SESSION_PREFIX);
    let expires_at = now.checked_add(SESSION_TTL).map_err(|e| ApiError::validation(e.to_string()))?;
    let session = Session {
        org_id: link.org_id.clone(),
        email: link.email.clone(),
        csrf_token: crate::random_token(32),
        created_at: now,
        expires_at,
    };
    dir.create_session(&secret_hash(&session_token), session).await?;
    tracing::info!(org = %link.org_id, email = %link.email, "signed in with a one-time link");
    let cookie = format!(
        "{SESSION_COOKIE}={session_token}; {}; Max-Age={}",
        app.https.cookie_attributes(&headers),
        SESSION_TTL.as_secs()
    );
    Ok(redirect_home("/", &cookie))
}

fn redirect_home(to: &'static str, cookie: &str) -> crate::answer::SeeOther {
    let mut r = StatusCode::SEE_OTHER.into_response();
    r.headers_mut().insert(header::LOCATION, HeaderValue::from_static(to));
    if let Ok(v) = HeaderValue::from_str(cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    crate::answer::SeeOther(r)
}

/// `POST /logout`: ends the session (CSRF-checked form post) and sends the
/// browser to the sign-in page.
pub async fn logout(
    State(app): State<AppState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
    body: Bytes,
) -> Result<crate::answer::SeeOther, ApiError> {
    let Some(p) = session else { return Err(ApiError::unauthorized()) };
    let header_token = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_string);
    let form_token = form_urlencoded::parse(&body).find(|(k, _)| k == "csrf_token").map(|(_, v)| v.into_owned());
    check_csrf(&p, header_token.or(form_token).as_deref())?;
    if let Some(s) = &p.session {
        app.store.directory().delete_session(&s.token_hash).await?;
    }
    // The sign-in page then says the member has signed out.
    Ok(redirect_home(
        "/?signed_out=1",
        &format!("{SESSION_COOKIE}=; {}; Max-Age=0", app.https.cookie_attributes(&headers)),
    ))
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// `GET /`: a placeholder that shows who is signed in (the dashboard
/// replaces it).
pub async fn home(MaybeSession(session): MaybeSession) -> Response {
    let body = match &session {
        Some(p) => {
            let Access::Member { org_id, email, name, role } = &p.access else { unreachable!("sessions are members") };
            format!(
                "<p>Signed in as <strong>{}</strong> &lt;{}&gt;, {} of organisation <code>{}</code>.</p>\
                 <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf_token\" value=\"{}\">\
                 <button type=\"submit\">Sign out</button></form>",
                escape(name),
                escape(email),
                role,
                escape(org_id),
                escape(p.csrf_token().unwrap_or_default())
            )
        }
        None => "<p>Not signed in. Ask an operator for a sign-in link: \
                 <code>creditd login-link --org ORG --email you@example.com</code></p>"
            .to_string(),
    };
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>creditd</title></head>\
         <body><h1>creditd</h1>{body}</body></html>"
    );
    let mut r = Html(page).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
