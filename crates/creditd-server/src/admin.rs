//! Members, API keys, caps, organisation settings and "who am I" over HTTP.
//!
//! - `GET|POST /api/organizations/{orgId}/members`,
//!   `GET|PATCH|DELETE …/members/{email}`
//! - `POST|GET /api/keys`, `GET|DELETE /api/keys/{keyId}`
//! - `GET|PUT /api/organizations/{orgId}/caps`
//! - `PATCH /api/organizations/{orgId}` (settings)
//! - `GET /api/organizations/{orgId}/me`
//!
//! Thin like the other handlers: authorise first, then parse, call the
//! directory or the ledger, shape the answer. A key's secret appears in one
//! answer only, the one that creates it.

use axum::Json;
use axum::extract::{Path, State};
use creditd_core::ErrorCode;
use creditd_core::ledger::period_bounds;
use creditd_core::money::Amount;
use creditd_core::{AccessOp, CapSubject, CapView, EventKind, Micros, Op, SettingsPatch, valid_id};
use creditd_store::directory::{ApiKey, KeyScope, Member, MemberPatch, NewKey, Role, normalize_email};
use creditd_store::{Command, EventFilter, OrgInfo, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::answer::Created;
use crate::auth::{Access, Principal, new_key_id, new_key_secret, org_not_found};
use crate::error::ApiError;
use crate::extract::{OrgPath, PathId, QueryPairs, RawBody, parse_body as parse};
use crate::permissions::{Action, Who, allowed};

fn member_not_found(org: &str, email: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("member {email} of organization {org} not found"))
}

fn key_not_found(id: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("key {id} not found"))
}

/// The org's caps as of now, or none when the engine cannot tell.
async fn caps(app: &AppState, org: &str) -> Vec<CapView> {
    match app.store.org_state(org).await {
        Ok(s) => s.cap_views(app.store.now()),
        Err(_) => Vec::new(),
    }
}

fn cap_of<'a>(caps: &'a [CapView], subject: &CapSubject) -> Option<&'a CapView> {
    caps.iter().find(|c| &c.subject == subject)
}

/// A member and their spending cap, if one is set.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    /// The member.
    #[serde(flatten)]
    pub member: Member,
    /// Their spending cap, if one is set.
    pub cap: Option<CapView>,
}

/// `GET …/members`: every member of the organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Members {
    /// Each with their cap.
    pub members: Vec<MemberView>,
}

/// `DELETE …/members/{email}`: who was removed (their keys are revoked).
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberRemoved {
    /// The member as they were.
    pub removed: Member,
}

fn member_json(m: &Member, caps: &[CapView]) -> MemberView {
    MemberView { member: m.clone(), cap: cap_of(caps, &CapSubject::Member(m.email.clone())).cloned() }
}

// ---- members ----

/// `POST …/members`: `role` defaults to member.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    /// Their sign-in address (normalised).
    pub email: String,
    /// How people see them.
    pub name: String,
    /// Default: member.
    #[serde(default = "default_role")]
    pub role: Role,
}

fn default_role() -> Role {
    Role::Member
}

/// `PATCH …/members/{email}`: what to change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchMemberRequest {
    /// A new name.
    pub name: Option<String>,
    /// A new role (to or from owner: owners only).
    pub role: Option<Role>,
}

/// `GET …/members`: the members, their roles and caps.
pub async fn list_members(
    State(app): State<AppState>,
    principal: Principal,
    OrgPath(org): OrgPath,
) -> Result<Json<Members>, ApiError> {
    principal.require(Action::ReadMembers, &org)?;
    let members = app.store.directory().members(&org).await?;
    let caps = caps(&app, &org).await;
    let members = members.iter().map(|m| member_json(m, &caps)).collect();
    Ok(Json(Members { members }))
}

/// `POST …/members`: adds a member (an owner only by an owner).
pub async fn add_member(
    State(app): State<AppState>,
    principal: Principal,
    OrgPath(org): OrgPath,
    RawBody(body): RawBody,
) -> Result<Created<MemberView>, ApiError> {
    principal.require(Action::ManageMembers, &org)?;
    let req: AddMemberRequest = parse(&body)?;
    if req.role == Role::Owner {
        principal.require(Action::ManageOwners, &org)?;
    }
    let m =
        Member { org_id: org.clone(), email: req.email, name: req.name, role: req.role, created_at: app.store.now() };
    let m = app.store.directory().add_member(m).await?;
    tracing::info!(org = %org, email = %m.email, role = %m.role, "member added");
    Ok(Created(member_json(&m, &[])))
}

/// The member, or 404: for a missing organisation the same answer as every
/// other route gives, else "member not found".
async fn target_member(app: &AppState, org: &str, email: &str) -> Result<Member, ApiError> {
    let found = match normalize_email(email) {
        Ok(e) => app.store.directory().member(org, &e).await?,
        Err(_) => None,
    };
    match found {
        Some(m) => Ok(m),
        None => {
            app.store.org(org).await?;
            Err(member_not_found(org, email))
        }
    }
}

/// `GET …/members/{email}`: one member.
pub async fn get_member(
    State(app): State<AppState>,
    principal: Principal,
    OrgPath(org): OrgPath,
    PathId(email): PathId,
) -> Result<Json<MemberView>, ApiError> {
    principal.require(Action::ReadMembers, &org)?;
    let m = target_member(&app, &org, &email).await?;
    let caps = caps(&app, &org).await;
    Ok(Json(member_json(&m, &caps)))
}

/// `PATCH …/members/{email}`: renames a member or changes their role.
pub async fn patch_member(
    State(app): State<AppState>,
    principal: Principal,
    OrgPath(org): OrgPath,
    PathId(email): PathId,
    RawBody(body): RawBody,
) -> Result<Json<MemberView>, ApiError> {
    principal.require(Action::ManageMembers, &org)?;
    let m = target_member(&app, &org, &email).await?;
    let req: PatchMemberRequest = parse(&body)?;
    if m.role == Role::Owner || req.role == Some(Role::Owner) {
        principal.require(Action::ManageOwners, &org)?;
    }
    let m = app.store.directory().update_member(&org, &m.email, MemberPatch { name: req.name, role: req.role }).await?;
    app.auth.forget();
    let caps = caps(&app, &org).await;
    Ok(Json(member_json(&m, &caps)))
}

/// `DELETE …/members/{email}`: removes a member and revokes their keys.
pub async fn remove_member(
    State(app): State<AppState>,
    principal: Principal,
    OrgPath(org): OrgPath,
    PathId(email): PathId,
) -> Result<Json<MemberRemoved>, ApiError> {
    principal.require(Action::ManageMembers, &org)?;
    let m = target_member(&app, &org, &email).await?;
    if m.role == Role::Owner {
        principal.require(Action::ManageOwners, &org)?;
    }
    let m = app.store.directory().remove_member(&org, &m.email, app.store.now()).await?;
    app.auth.forget();
    tracing::info!(org = %org, email = %m.email, "member removed; their keys are revoked");
    Ok(Json(MemberRemoved { removed: m }))
}

// ---- keys ----

/// Query parameters of `GET /api/keys`.
pub const KEY_LIST_PARAMS: &[&str] = &["org_id"];

/// Whose a key is: a platform's (service) or a member's.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// A platform backend's key.
    Service,
    /// A member's own key.
    Member,
}

/// `POST /api/keys`: a service key (`org_ids`, or every org) or a
/// member key (`org_id` and `email`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    /// Service or member.
    pub kind: KeyKind,
    /// For people; default "service key" or "member key".
    pub name: Option<String>,
    /// Service keys: the orgs reached (1 to 1000); absent: every org.
    pub org_ids: Option<Vec<String>>,
    /// Member keys: whose.
    pub org_id: Option<String>,
    /// Member keys: the member's email.
    pub email: Option<String>,
}

/// A key as listed (never its secret), with its spending cap.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// The key (its prefix, never its secret).
    #[serde(flatten)]
    pub key: ApiKey,
    /// Its spending cap, if one is set.
    pub cap: Option<CapView>,
}

/// `GET /api/keys`: the keys the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct Keys {
    /// Never their secrets.
    pub keys: Vec<KeyView>,
}

/// `POST /api/keys`: the key and its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyCreated {
    /// The key as listed.
    pub key: KeyView,
    /// `cdk_…`: send it as `Authorization: Bearer <secret>`.
    pub secret: String,
    /// A reminder that the secret is not shown again.
    pub note: String,
}

/// Whether `p` may see (and so revoke) key `k`.
fn can_see(p: &Principal, k: &ApiKey) -> bool {
    match (&p.access, &k.scope) {
        (Access::Service { org_ids: None }, _) => true,
        (Access::Service { org_ids: Some(ids) }, KeyScope::Member { org_id, .. }) => ids.contains(org_id),
        (Access::Service { .. }, KeyScope::Service { .. }) => p.key_id.as_deref() == Some(&k.id),
        (Access::Member { org_id, email, .. }, KeyScope::Member { org_id: ko, email: ke }) => {
            org_id == ko && (allowed(p.who(), Action::ManageKeys) || email == ke)
        }
        (Access::Member { .. }, KeyScope::Service { .. }) => false,
    }
}

fn key_json(app: &AppState, k: ApiKey, caps: &[CapView]) -> KeyView {
    let cap = cap_of(caps, &CapSubject::Key(k.id.clone())).cloned();
    KeyView { key: app.auth.shown(k), cap }
}

/// `POST /api/keys`: a new key; its secret is in this answer only.
pub async fn create_key(
    State(app): State<AppState>,
    principal: Principal,
    RawBody(body): RawBody,
) -> Result<Created<KeyCreated>, ApiError> {
    let req: CreateKeyRequest = parse(&body)?;
    let scope = match req.kind {
        KeyKind::Service => {
            if req.org_id.is_some() || req.email.is_some() {
                return Err(ApiError::validation("a service key takes org_ids, not org_id or email"));
            }
            if !principal.is_all_orgs_service() {
                return Err(ApiError::forbidden(
                    "only a service key that reaches every organisation creates service keys",
                ));
            }
            let org_ids = match req.org_ids {
                None => None,
                Some(mut ids) => {
                    if ids.is_empty() || ids.len() > 1000 {
                        return Err(ApiError::validation("org_ids lists 1 to 1000 organisations (omit it for all)"));
                    }
                    if let Some(bad) = ids.iter().find(|o| !valid_id(o)) {
                        return Err(ApiError::validation(format!("{bad:?} is not an organization id")));
                    }
                    ids.sort();
                    ids.dedup();
                    Some(ids)
                }
            };
            KeyScope::Service { org_ids }
        }
        KeyKind::Member => {
            if req.org_ids.is_some() {
                return Err(ApiError::validation("a member key takes org_id and email, not org_ids"));
            }
            let (Some(org), Some(email)) = (req.org_id, req.email) else {
                return Err(ApiError::validation("a member key needs org_id and email"));
            };
            let own =
                principal.member().is_some_and(|(o, e)| o == org && Some(e) == normalize_email(&email).ok().as_deref());
            principal.require(if own { Action::ManageOwnKeys } else { Action::IssueKeysForOthers }, &org)?;
            let email = normalize_email(&email).map_err(|_| member_not_found(&org, &email))?;
            KeyScope::Member { org_id: org, email }
        }
    };
    let (secret, prefix, secret_hash) = new_key_secret();
    let name = req.name.unwrap_or_else(|| {
        match &scope {
            KeyScope::Service { .. } => "service key",
            KeyScope::Member { .. } => "member key",
        }
        .to_string()
    });
    let new = NewKey { id: new_key_id(), prefix, name, scope, secret_hash, created_at: app.store.now() };
    let key = app.store.directory().create_key(new).await?;
    tracing::info!(key_id = %key.id, prefix = %key.prefix, "API key created");
    let caps = match &key.scope {
        KeyScope::Member { org_id, .. } => caps(&app, org_id).await,
        KeyScope::Service { .. } => Vec::new(),
    };
    let body = KeyCreated {
        key: key_json(&app, key, &caps),
        secret,
        note: "Store the secret now: it is shown only this once. Send it as Authorization: Bearer <secret>.".into(),
    };
    Ok(Created(body))
}

/// `GET /api/keys`: the keys the caller may see (never their secrets).
pub async fn list_keys(
    State(app): State<AppState>,
    principal: Principal,
    q: QueryPairs,
) -> Result<Json<Keys>, ApiError> {
    q.only(KEY_LIST_PARAMS)?;
    let org = q.one("org_id")?.map(str::to_string);
    if let Some(o) = &org {
        if !principal.reaches(o) {
            // As for a missing org: nothing to list, and no hint why.
            return Err(org_not_found(o));
        }
        app.store.org(o).await?;
    }
    let org = org.or_else(|| principal.member().map(|(o, _)| o.to_string()));
    let keys = app.store.directory().keys(org.as_deref()).await?;
    let caps = match &org {
        Some(o) => caps(&app, o).await,
        None => Vec::new(),
    };
    let keys = keys.into_iter().filter(|k| can_see(&principal, k)).map(|k| key_json(&app, k, &caps)).collect();
    Ok(Json(Keys { keys }))
}

async fn visible_key(app: &AppState, principal: &Principal, id: &str) -> Result<ApiKey, ApiError> {
    if !valid_id(id) {
        return Err(key_not_found(id));
    }
    match app.store.directory().key(id).await? {
        Some(k) if can_see(principal, &k) => Ok(k),
        _ => Err(key_not_found(id)),
    }
}

/// `GET /api/keys/{key_id}`: one key the caller may see.
pub async fn get_key(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<KeyView>, ApiError> {
    let k = visible_key(&app, &principal, &id).await?;
    let caps = match &k.scope {
        KeyScope::Member { org_id, .. } => caps(&app, org_id).await,
        KeyScope::Service { .. } => Vec::new(),
    };
    Ok(Json(key_json(&app, k, &caps)))
}

/// `DELETE /api/keys/{key_id}`: revokes a key.
pub async fn revoke_key(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<KeyView>, ApiError> {
    let k = visible_key(&app, &principal, &id).await?;
    if let KeyScope::Member { org_id, email } = &k.scope {
        // Admins manage members' keys, not owners'.
        let mine = principal.member().is_some_and(|(o, e)| o == org_id && e == email);
        let target = app.store.directory().member(org_id, email).await?;
        if !mine && target.is_some_and(|m| m.role == Role::Owner) {
            principal.require(Action::ManageOwners, org_id)?;
        }
    }
    let k = app.store.directory().revoke_key(&id, app.store.now()).await?;
    app.auth.forget();
    tracing::info!(key_id = %k.id, prefix = %k.prefix, "API key revoked");
    Ok(Json(key_json(&app, k, &[])))
}

// ---- caps ----

/// `PUT …/caps`: name exactly one of `member` (an email) or `key_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCapRequest {
    /// A member's email.
    pub member: Option<String>,
    /// A key's id.
    pub key_id: Option<String>,
    /// A project, as holds and usage name it in `project_id`: a budget for
    /// everything done for the project, whoever does it.
    pub project_id: Option<String>,
    /// Credits per period; null or absent removes the cap.
    #[schema(value_type = Option<Amount>)]
    pub limit: Option<Micros>,
}

/// `GET …/caps`: every spending cap of the organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Caps {
    /// Members' and keys' caps, as of now.
    pub caps: Vec<CapView>,
}

/// `PUT …/caps`: the subject and its cap now (null: removed).
#[derive(Debug, Serialize, ToSchema)]
pub struct CapSet {
    /// The member or key capped.
    pub subject: CapSubject,
    /// Its cap now; null: removed.
    pub cap: Option<CapView>,
}

/// `GET …/caps`: every spending cap of the organisation.
pub async fn list_caps(
    State(app): State<AppState>,
    principal: Principal,
    OrgPath(org): OrgPath,
) -> Result<Json<Caps>, ApiError> {
    principal.require(Action::ManageCaps, &org)?;
    let state = app.store.org_state(&org).await?;
    Ok(Json(Caps { caps: state.cap_views(app.store.now()) }))
}

/// `PUT …/caps`: sets or removes a member's or a key's cap.
pub async fn set_cap(
    State(app): State<AppState>,
    principal: Principal,
    OrgPath(org): OrgPath,
    RawBody(body): RawBody,
) -> Result<Json<CapSet>, ApiError> {
    principal.require(Action::ManageCaps, &org)?;
    let req: SetCapRequest = parse(&body)?;
    app.store.org(&org).await?;
    let subject = match (req.member, req.key_id, req.project_id) {
        (Some(email), None, None) => {
            let m = target_member(&app, &org, &email).await?;
            CapSubject::Member(m.email)
        }
        (None, Some(id), None) => {
            let k = if valid_id(&id) { app.store.directory().key(&id).await? } else { None };
            match k {
                Some(k) if k.scope.covers(&org) => CapSubject::Key(k.id),
                _ => return Err(key_not_found(&id)),
            }
        }
        // A project needs no record: its budget counts what names it.
        (None, None, Some(project)) => CapSubject::Project(project),
        _ => return Err(ApiError::validation("name exactly one of member (an email), key_id or project_id")),
    };
    let op = Op::Access(AccessOp::SetCap { subject: subject.clone(), limit: req.limit });
    creditd_store::execute_one(app.store.as_ref(), Command::new(&org, op, None)).await?;
    let caps = caps(&app, &org).await;
    let cap = cap_of(&caps, &subject).cloned();
    Ok(Json(CapSet { subject, cap }))
}

// ---- organisation settings ----

/// `PATCH /api/organizations/{orgId}`: changes the settings named
/// (name, time_zone, consumption_order, expiring_first, overdraft_limit,
/// renewal_day, …), through the writer so the ledger state follows.
/// `funding` and `funding_budget` need `ManageFunding` (a parent's people
/// or a service key), every other setting `ManageOrg`.
pub async fn patch_org(
    State(app): State<AppState>,
    principal: Principal,
    OrgPath(org): OrgPath,
    RawBody(body): RawBody,
) -> Result<Json<OrgInfo>, ApiError> {
    // Reach first (404 for an org the caller does not reach), then the
    // action the fields named need.
    principal.require(Action::ReadSummary, &org)?;
    let mut patch: SettingsPatch = parse(&body)?;
    let funding = patch.funding.is_some() || patch.funding_budget.is_some();
    let others = SettingsPatch { funding: None, funding_budget: None, ..patch.clone() };
    if funding {
        principal.require(Action::ManageFunding, &org)?;
    }
    if !funding || !others.is_empty() {
        principal.require(Action::ManageOrg, &org)?;
    }
    if let Some(parent) = patch.parent_id.take() {
        if !patch.is_empty() {
            return Err(ApiError::validation("change parent_id on its own, not with other settings"));
        }
        if let Some(p) = &parent {
            // The caller must manage the new parent too; one it does not
            // reach answers as a missing org.
            principal.require(Action::ManageOrg, p)?;
        }
        let info = app.store.set_parent(&org, parent.as_deref()).await?;
        // Keys resolved before now reach the old tree: forget them.
        app.auth.forget();
        tracing::info!(org = %org, parent = ?info.parent_id, "organization parent changed");
        return Ok(Json(info));
    }
    crate::prices::require_book(&app, patch.price_book.as_deref()).await?;
    let op = Op::Access(AccessOp::SetSettings(patch));
    creditd_store::execute_one(app.store.as_ref(), Command::new(&org, op, None)).await?;
    let info = app.store.org(&org).await?;
    tracing::info!(org = %org, "organization settings changed");
    Ok(Json(info))
}

// ---- who am I ----

/// `GET …/me`. The member fields are there for a member only, the CSRF
/// token for a dashboard session only.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The organisation asked about.
    pub org_id: String,
    /// A service key or a member.
    pub kind: KeyKind,
    /// The stored key used; null for the bootstrap key and sessions.
    pub key_id: Option<String>,
    /// The caps on the caller (their key, their membership).
    pub caps: Vec<CapView>,
    /// The session's CSRF token (dashboard sessions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    /// The member's email (members only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The member's name (members only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The member's role (members only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// What the member consumed this period (members only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_this_period: Option<OwnUsage>,
}

/// A member's own consumption this period: debits and usage less refunds.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnUsage {
    /// The period's first instant.
    pub period_start: jiff::Timestamp,
    /// The next period's first instant.
    pub period_end: jiff::Timestamp,
    /// Debits and usage less refunds, in the member's name.
    pub consumed: Micros,
}

/// `GET …/me`: who the caller is here, their caps, (for a member) the
/// credits consumed in their name this period: debits and usage less
/// refunds, and (for a dashboard session) its CSRF token.
pub async fn me(
    State(app): State<AppState>,
    principal: Principal,
    OrgPath(org): OrgPath,
) -> Result<Json<Me>, ApiError> {
    principal.require(Action::ReadOwnUsage, &org)?;
    let state = app.store.org_state(&org).await?;
    let now = app.store.now();
    let own: Vec<CapView> = state.cap_views(now).into_iter().filter(|c| principal.owns_cap(&c.subject)).collect();
    let tz = state.settings.validate().map_err(|e| ApiError::from(StoreError::from(e)))?;
    let (start, end) =
        period_bounds(&tz, state.settings.renewal_day, now).map_err(|e| ApiError::from(StoreError::from(e)))?;
    let mut v = Me {
        org_id: org.clone(),
        kind: if principal.who() == Who::Service { KeyKind::Service } else { KeyKind::Member },
        key_id: principal.key_id.clone(),
        caps: own,
        // A dashboard session reads its CSRF token here, for its form posts.
        csrf_token: principal.csrf_token().map(str::to_string),
        email: None,
        name: None,
        role: None,
        usage_this_period: None,
    };
    if let Access::Member { email, name, role, .. } = &principal.access {
        v.email = Some(email.clone());
        v.name = Some(name.clone());
        v.role = Some(*role);
        let filter = EventFilter {
            date_from: Some(start),
            date_to: Some(end),
            kinds: vec![EventKind::Debit, EventKind::Usage, EventKind::Refund],
            user_email: Some(email.clone()),
            ..EventFilter::default()
        };
        let mut chunks = app.store.export(&org, &filter).await?;
        let mut consumed = Micros::ZERO;
        while let Some(chunk) = chunks.recv().await {
            for e in chunk? {
                consumed = consumed
                    .checked_sub(e.amount)
                    .ok_or_else(|| ApiError::from(StoreError::Ledger(creditd_core::LedgerError::Overflow)))?;
            }
        }
        v.usage_this_period = Some(OwnUsage { period_start: start, period_end: end, consumed });
    }
    Ok(Json(v))
}
