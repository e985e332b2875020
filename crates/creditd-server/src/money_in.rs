//! Money in from the operator's offer: the plan catalogue, Buy more and
//! Change plan, over HTTP and from the dashboard's Plan tab.
//!
//! - `PUT /api/plans/{plan_id}`, `GET /api/plans`: the catalogue (shared by
//!   every organisation; `creditd_store::catalogue`).
//! - `POST /api/organizations/{org_id}/purchases/request`: Buy more, a
//!   `processing` purchase of an offered amount (the rule:
//!   `OrgState::buy_more`) and its `top_up.requested` webhook, plus the
//!   signed checkout URL when the org has a template
//!   (`creditd_core::checkout`).
//! - `POST /api/organizations/{org_id}/plan/change`: Change plan, applied
//!   at once when the org is self-service, else a `plan_change.requested`
//!   webhook (a message of its own in the outbox, `Webhooks::enqueue`).
//! - `POST /plan/buy-more`, `POST /plan/change`: the same from the
//!   dashboard's forms (session cookie, CSRF token), answered with a
//!   redirect; and [`plan_tab`], what the Plan tab shows of them.
//!
//! Thin like the other handlers: who may is the permission table's
//! (`BuyMore`, `RequestPlanChange`), the rules are the core's and the
//! store's.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use creditd_core::checkout::{self, CheckoutValues};
use creditd_core::plans::{DEFAULT_CONVERSATIONS_PER_IDENTITY, Effective, Plan, PlanOp, Rollover};
use creditd_core::{Micros, Op, OrgSettings, OrgState};
use creditd_store::catalogue::CataloguePlan;
use creditd_store::webhooks::{PlanChangeData, plan_change_message};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::answer::{Created, SeeOther, Written};
use crate::api::WriteResult;
use crate::auth::{MaybeSession, Principal, check_csrf};
use crate::error::ApiError;
use crate::extract::{Body, IdempotencyKey, OrgPath, PathId, QueryPairs};
use crate::permissions::Action;
use crate::plans::PlanView;

// ---- the catalogue ------------------------------------------------------------

/// `PUT /api/plans/{plan_id}`: the plan offered (the fields of `PUT …/plan`)
/// and how it is shown.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CataloguePlanRequest {
    /// The plan's name.
    pub name: String,
    /// Credits each period.
    #[schema(value_type = creditd_core::money::Amount)]
    pub credits_per_period: Micros,
    /// Identities the plan counts conversations for.
    pub identities_included: u32,
    /// The price per period.
    #[schema(value_type = creditd_core::money::Amount)]
    pub price: Micros,
    /// The price's currency.
    pub currency: String,
    /// Default 500.
    pub conversations_per_identity: Option<u32>,
    /// Default `{"policy": "none"}`.
    pub rollover: Option<Rollover>,
    /// The price book the plan's priced operations use (it must exist).
    pub price_book: Option<String>,
    /// How the price is shown (e.g. `49 € / month`), 1–200 characters;
    /// default: the price and currency.
    pub price_text: Option<String>,
    /// A line about the plan, 1–200 characters.
    pub description: Option<String>,
}

/// `GET /api/plans`: the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogueList {
    /// In id order.
    pub plans: Vec<CataloguePlan>,
}

/// `PUT /api/plans/{plan_id}`: writes the entry whole (201 when new, 200
/// when it replaces one). Organisations already on the plan keep the copy
/// they subscribed to.
pub async fn put_catalogue_plan(
    State(app): State<AppState>,
    principal: Principal,
    PathId(plan_id): PathId,
    Body(req): Body<CataloguePlanRequest>,
) -> Result<Written<CataloguePlan>, ApiError> {
    principal.require_role(Action::ManagePlanCatalogue)?;
    if !principal.is_all_orgs_service() {
        return Err(ApiError::forbidden(
            "the plan catalogue is shared by every organisation: only a service key that reaches every \
             organisation may write it",
        ));
    }
    crate::prices::require_book(&app, req.price_book.as_deref()).await?;
    let text = |t: Option<String>| t.map(|t| t.trim().to_string());
    let entry = CataloguePlan {
        id: plan_id,
        plan: Plan {
            name: req.name.trim().to_string(),
            credits_per_period: req.credits_per_period,
            identities_included: req.identities_included,
            price: req.price,
            currency: req.currency,
            conversations_per_identity: req.conversations_per_identity.unwrap_or(DEFAULT_CONVERSATIONS_PER_IDENTITY),
            rollover: req.rollover.unwrap_or_default(),
            price_book: req.price_book.filter(|b| !b.trim().is_empty()),
        },
        price_text: text(req.price_text),
        description: text(req.description),
        updated_at: app.store.now(),
    };
    let created = app.store.plan_catalogue().put(&entry).await?;
    Ok(Written { status: if created { StatusCode::CREATED } else { StatusCode::OK }, body: entry })
}

/// `GET /api/plans`: every plan offered.
pub async fn list_catalogue(
    State(app): State<AppState>,
    principal: Principal,
) -> Result<Json<CatalogueList>, ApiError> {
    principal.require_role(Action::ReadPlanCatalogue)?;
    Ok(Json(CatalogueList { plans: app.store.plan_catalogue().list().await? }))
}

/// The catalogue's plan `id`; a request naming one that is not there is
/// refused (422, nothing written).
pub(crate) async fn catalogue_plan(app: &AppState, id: &str) -> Result<CataloguePlan, ApiError> {
    match app.store.plan_catalogue().get(id.trim()).await? {
        Some(p) => Ok(p),
        None => Err(ApiError::validation(format!(
            "plan {id:?} is not in the catalogue; define it first with PUT /api/plans/{id}"
        ))),
    }
}

// ---- Buy more -------------------------------------------------------------------

/// `POST …/purchases/request`: one of the amounts the organisation is
/// offered (`buy_more_amounts`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyMoreRequest {
    /// One of the organisation's `buy_more_amounts`.
    #[schema(value_type = creditd_core::money::Amount)]
    pub amount: Micros,
    /// Who asked, for a service key acting for someone (a member's own
    /// request always names the member).
    pub requested_by: Option<String>,
}

/// `POST …/purchases/request`: the processing purchase and where to pay.
#[derive(Debug, Serialize, ToSchema)]
pub struct BuyMoreResult {
    /// The purchase event, the balance (unchanged until it is settled) and
    /// the purchase.
    #[serde(flatten)]
    pub write: WriteResult,
    /// The organisation's checkout URL template filled in and signed
    /// (send the member there to pay); null without a template: the
    /// operator's backend charges the purchase on the `top_up.requested`
    /// webhook.
    pub checkout_url: Option<String>,
}

/// Who asked, as a webhook names them: a member's email, else the
/// caller's `requested_by`, else the stored key's id.
fn requester(principal: &Principal, given: Option<String>) -> Option<String> {
    match principal.member() {
        Some((_, email)) => Some(email.to_string()),
        None => given.or_else(|| principal.key_id.clone()),
    }
}

/// The checkout URL of purchase `purchase_id` of `amount`: the template
/// filled in, its `{signature}` the hex HMAC-SHA256 of
/// `<org_id>.<purchase_id>.<amount>` keyed with the service key.
pub fn checkout_url(app: &AppState, template: &str, org_id: &str, purchase_id: &str, amount: Micros) -> String {
    let signature = app.auth.sign_with_service_key(&checkout::signed_message(org_id, purchase_id, amount));
    checkout::fill(template, CheckoutValues { org_id, purchase_id, amount, signature: &signature })
}

async fn buy_more(
    app: &AppState,
    principal: &Principal,
    org: &str,
    amount: Micros,
    requested_by: Option<String>,
    key: Option<String>,
) -> Result<BuyMoreResult, ApiError> {
    let op = Op::Plans(PlanOp::BuyMore { amount, requested_by: requester(principal, requested_by) });
    let outcome = creditd_store::execute_one(app.store.as_ref(), principal.command(org, op, key)).await?;
    let write = crate::api::outcome_json(outcome);
    let settings = app.store.org(org).await?.settings;
    let checkout_url = match (&settings.checkout_url_template, &write.purchase) {
        (Some(t), Some(p)) => Some(checkout_url(app, t, org, &p.id, p.amount)),
        _ => None,
    };
    Ok(BuyMoreResult { write, checkout_url })
}

/// `POST …/purchases/request`: Buy more (see [`BuyMoreRequest`]).
pub async fn request_purchase(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
    IdempotencyKey(key): IdempotencyKey,
    Body(req): Body<BuyMoreRequest>,
) -> Result<Created<BuyMoreResult>, ApiError> {
    let org = org.as_str();
    principal.require(Action::BuyMore, org)?;
    Ok(Created(buy_more(&app, &principal, org, req.amount, req.requested_by, key).await?))
}

// ---- Change plan ------------------------------------------------------------------

/// `POST …/plan/change`: a plan of the catalogue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanChangeRequest {
    /// The catalogue plan chosen.
    pub plan_id: String,
    /// When it applies: `now` or `next_period` (the default for a change;
    /// a first plan starts now).
    pub effective: Option<Effective>,
}

/// `POST …/plan/change`: applied, or sent to the operator.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanChangeResult {
    /// True: the plan was changed (the organisation is self-service);
    /// false: a `plan_change.requested` webhook asks the operator to.
    pub applied: bool,
    /// The catalogue plan chosen.
    pub plan_id: String,
    /// The `plan_change.requested` message, when not applied.
    pub message_id: Option<String>,
    /// The organisation's plan after the request.
    pub plan: PlanView,
}

async fn change_plan(
    app: &AppState,
    principal: &Principal,
    org: &str,
    plan_id: &str,
    effective: Option<Effective>,
    key: Option<String>,
) -> Result<PlanChangeResult, ApiError> {
    let entry = catalogue_plan(app, plan_id).await?;
    let settings = app.store.org(org).await?.settings;
    if settings.self_service_plan_change {
        let op = Op::Plans(PlanOp::SetPlan { plan: entry.plan, effective, renewal_day: None });
        creditd_store::execute_one(app.store.as_ref(), principal.command(org, op, key)).await?;
        let (state, _) = crate::plans::state_now(app, org).await?;
        return Ok(PlanChangeResult {
            applied: true,
            plan_id: entry.id,
            message_id: None,
            plan: crate::plans::plan_view(&state),
        });
    }
    let (state, now) = crate::plans::state_now(app, org).await?;
    let data = PlanChangeData {
        plan_id: entry.id.clone(),
        plan: entry.plan,
        current_plan: state.plans.plan.as_ref().map(|p| p.name.clone()),
        effective: effective.unwrap_or(Effective::NextPeriod),
        requested_by: requester(principal, None),
    };
    // A retry with the same key is the same request (the same message);
    // without a key each request is new.
    let request_id = match &key {
        Some(k) => format!("k{}.{k}", entry.id),
        None => crate::random_token(24),
    };
    let message = plan_change_message(org, &request_id, now, &data)?;
    app.store.webhooks().enqueue(&message).await.map_err(crate::webhooks::api_error)?;
    Ok(PlanChangeResult {
        applied: false,
        plan_id: entry.id,
        message_id: Some(message.id),
        plan: crate::plans::plan_view(&state),
    })
}

/// `POST …/plan/change`: Change plan (see [`PlanChangeRequest`]).
pub async fn request_plan_change(
    State(app): State<AppState>,
    principal: Principal,
    org: OrgPath,
    IdempotencyKey(key): IdempotencyKey,
    Body(req): Body<PlanChangeRequest>,
) -> Result<Json<PlanChangeResult>, ApiError> {
    let org = org.as_str();
    principal.require(Action::RequestPlanChange, org)?;
    Ok(Json(change_plan(&app, &principal, org, &req.plan_id, req.effective, key).await?))
}

// ---- the dashboard --------------------------------------------------------------

/// One amount of the Buy more form.
#[derive(Clone, Debug)]
pub struct AmountChoice {
    /// The exact decimal sent.
    pub value: String,
    /// As shown, in the org's locale ("1,000 credits" in en-US, "10.000
    /// credits" in es-ES).
    pub label: String,
    /// Checked at first.
    pub first: bool,
}

/// One plan of the Change plan list.
#[derive(Clone, Debug)]
pub struct PlanChoice {
    /// The catalogue id sent.
    pub id: String,
    /// Its name.
    pub name: String,
    /// "10,000 credits a period".
    pub credits: String,
    /// The price as the operator shows it.
    pub price: String,
    /// The operator's line about it.
    pub description: String,
    /// The organisation's plan now.
    pub current: bool,
    /// The organisation's plan from the next renewal.
    pub next: bool,
}

/// What the Plan tab shows of Buy more and Change plan (the template
/// `plan_money_in.html`): only what the member may do.
#[derive(Clone, Debug, Default)]
pub struct PlanTabMoneyIn {
    /// The session's CSRF token for the forms.
    pub csrf: String,
    /// Buy more is offered and the member may use it.
    pub buy_more: bool,
    /// The amounts offered.
    pub amounts: Vec<AmountChoice>,
    /// Buy more sends the member to the checkout page.
    pub checkout: bool,
    /// The member may change the plan and the catalogue has plans.
    pub change_plan: bool,
    /// The catalogue's plans.
    pub plans: Vec<PlanChoice>,
    /// A choice is applied at once (else sent to the operator).
    pub self_service: bool,
    /// What the last form did, in words.
    pub notice: String,
}

/// The Plan tab's Buy more and Change plan for `principal` in `org`, and
/// the notice a form's redirect asked for (`?bought=`, `?plan_change=`).
pub(crate) async fn plan_tab(
    app: &AppState,
    principal: &Principal,
    org: &str,
    state: &OrgState,
    settings: &OrgSettings,
    q: &QueryPairs,
    loc: creditd_core::locale::Locale,
) -> Result<PlanTabMoneyIn, ApiError> {
    let may_buy = principal.require(Action::BuyMore, org).is_ok();
    let may_change = principal.require(Action::RequestPlanChange, org).is_ok();
    let amounts: Vec<AmountChoice> = settings
        .buy_more_amounts
        .iter()
        .enumerate()
        .map(|(i, a)| AmountChoice {
            value: a.to_string(),
            label: format!("{} credits", loc.number(*a)),
            first: i == 0,
        })
        .collect();
    let plans: Vec<PlanChoice> = if may_change {
        app.store
            .plan_catalogue()
            .list()
            .await?
            .into_iter()
            .map(|p| PlanChoice {
                current: state.plans.plan.as_ref() == Some(&p.plan),
                next: state.plans.next_plan.as_ref() == Some(&p.plan),
                name: p.plan.name.clone(),
                credits: format!("{} credits a period", loc.number(p.plan.credits_per_period)),
                price: p
                    .price_text
                    .clone()
                    .unwrap_or_else(|| format!("{} a period", loc.money(p.plan.price, &p.plan.currency))),
                description: p.description.clone().unwrap_or_default(),
                id: p.id,
            })
            .collect()
    } else {
        Vec::new()
    };
    let one = |k: &str| q.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    // A plan is named as the catalogue names it (its id if it is gone).
    let name_of = |id: &str| plans.iter().find(|p| p.id == id).map_or(id.to_string(), |p| p.name.clone());
    let notice = match (one("bought"), one("plan_change"), one("plan")) {
        (Some(p), _, _) if creditd_core::valid_id(p) => format!(
            "Purchase {p} requested. It stays processing until the payment is settled; then its credits are \
             added."
        ),
        (_, Some("applied"), Some(id)) if creditd_core::valid_id(id) => {
            format!("Plan changed to {}: see the plan details.", name_of(id))
        }
        (_, Some("requested"), Some(id)) if creditd_core::valid_id(id) => {
            format!("Change to {} requested: your account manager will confirm it.", name_of(id))
        }
        _ => String::new(),
    };
    Ok(PlanTabMoneyIn {
        csrf: principal.csrf_token().unwrap_or_default().to_string(),
        buy_more: may_buy && !amounts.is_empty(),
        amounts,
        checkout: settings.checkout_url_template.is_some(),
        change_plan: may_change && !plans.is_empty(),
        plans,
        self_service: settings.self_service_plan_change,
        notice,
    })
}

/// A 303 to `to` (a page of ours or the checkout URL).
fn see_other(to: &str) -> Result<SeeOther, ApiError> {
    let mut r = StatusCode::SEE_OTHER.into_response();
    let location =
        HeaderValue::from_str(to).map_err(|_| ApiError::validation("the redirect is not a valid URL".to_string()))?;
    r.headers_mut().insert(header::LOCATION, location);
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(SeeOther(r))
}

/// A dashboard form post: who sent it, their organisation, the fields.
struct Form {
    principal: Principal,
    org: String,
    fields: Vec<(String, String)>,
}

impl Form {
    /// The signed-in member's form, the CSRF token checked and `action`
    /// required.
    fn read(session: Option<Principal>, body: &Bytes, action: Action) -> Result<Form, ApiError> {
        let principal = session.ok_or_else(ApiError::unauthorized)?;
        let fields: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        let form = Form { org: String::new(), principal, fields };
        check_csrf(&form.principal, form.field("csrf_token"))?;
        let org = form.principal.member().map(|(o, _)| o.to_string()).ok_or_else(ApiError::unauthorized)?;
        form.principal.require(action, &org)?;
        Ok(Form { org, ..form })
    }

    fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// `POST /plan/buy-more` (form: `csrf_token`, `amount`): Buy more from the
/// Plan tab, then to the checkout page, or back to the tab saying so.
pub async fn dashboard_buy_more(
    State(app): State<AppState>,
    MaybeSession(session): MaybeSession,
    body: Bytes,
) -> Result<SeeOther, ApiError> {
    let f = Form::read(session, &body, Action::BuyMore)?;
    let amount = f.field("amount").ok_or_else(|| ApiError::validation("choose an amount to buy"))?;
    let amount: Micros =
        amount.parse().map_err(|_| ApiError::validation(format!("{amount:?} is not an amount of credits")))?;
    let r = buy_more(&app, &f.principal, &f.org, amount, None, None).await?;
    match (r.checkout_url, r.write.purchase) {
        (Some(url), _) => see_other(&url),
        (None, Some(purchase)) => see_other(&format!("/?bought={}", purchase.id)),
        (None, None) => see_other("/"),
    }
}

/// `POST /plan/change` (form: `csrf_token`, `plan_id`): Change plan from
/// the Plan tab, then back to the tab saying what happened.
pub async fn dashboard_change_plan(
    State(app): State<AppState>,
    MaybeSession(session): MaybeSession,
    body: Bytes,
) -> Result<SeeOther, ApiError> {
    let f = Form::read(session, &body, Action::RequestPlanChange)?;
    let plan_id = f.field("plan_id").ok_or_else(|| ApiError::validation("choose a plan"))?;
    let r = change_plan(&app, &f.principal, &f.org, plan_id, None, None).await?;
    let outcome = if r.applied { "applied" } else { "requested" };
    see_other(&format!("/?plan_change={outcome}&plan={}", r.plan_id))
}
