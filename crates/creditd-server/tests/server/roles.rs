//! Roles, keys, sign-in and caps end to end: the real app on a loopback port
//! over a fresh SQLite store per test (harness copied from `tests/api.rs`).
//!
//! The main test walks every endpoint with every kind of caller (service
//! key, owner, admin, member, revoked key, no key, a key of another org) and
//! checks the answer against the permission table, that an org a caller
//! does not reach answers exactly as a missing one, and that a refusal
//! changes nothing.

use std::io::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use creditd_server::permissions::{Action, Who, allowed, markdown_table};
use creditd_store::{Clock, Store};
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::common::{KEY, Server, Start};

/// Everything the app logs, for the test that no secret is ever logged.
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || LogSink(sink.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buf
    })
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct App(Server);

crate::app_derefs_to_server!(App, 0);

#[derive(Debug, Clone)]
struct Resp {
    status: u16,
    body: Value,
    text: String,
    set_cookie: Option<String>,
    location: Option<String>,
}

impl App {
    async fn start() -> App {
        logs();
        App(Server::with(Start { no_redirects: true, ..Start::default() }).await)
    }

    async fn send(&self, method: &str, path: &str, body: Option<&Value>, headers: &[(&str, &str)]) -> Resp {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, format!("{}{}", self.base, path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (set_cookie, location) = (header("set-cookie"), header("location"));
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
        Resp { status, body, text, set_cookie, location }
    }

    async fn call(&self, method: &str, path: &str, body: Option<&Value>, key: Option<&str>) -> Resp {
        let auth = key.map(|k| format!("Bearer {k}"));
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
        self.send(method, path, body, &headers).await
    }

    /// As the bootstrap service key; the answer must be 2xx.
    async fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if body.is_null() { None } else { Some(&body) };
        let r = self.call(method, path, body, Some(KEY)).await;
        assert!((200..300).contains(&r.status), "{method} {path}: {} {}", r.status, r.text);
        r.body
    }

    async fn new_key(&self, body: Value) -> (String, String) {
        let v = self.ok("POST", "/api/keys", body).await;
        (v["key"]["id"].as_str().unwrap().to_string(), v["secret"].as_str().unwrap().to_string())
    }
}

fn code(r: &Resp) -> &str {
    r.body["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {} {}", r.status, r.text))
}

const ACME: &str = "/api/organizations/acme";

/// Two organisations, their members and a key for each kind of caller;
/// acme is the child of a third, holding, whose people reach acme as its
/// parent.
struct World {
    app: App,
    service: String,
    owner: String,
    admin: String,
    member: String,
    revoked: String,
    other_owner: String,
    parent_owner: String,
    parent_admin: String,
    parent_member: String,
}

async fn world() -> World {
    let app = App::start().await;
    for (id, credits) in [("acme", "1000"), ("other", "100"), ("holding", "10")] {
        app.ok("POST", "/api/organizations", json!({"id": id, "name": id, "time_zone": "Europe/Madrid"})).await;
        app.ok("POST", &format!("/api/organizations/{id}/credits"), json!({"kind": "grant", "amount": credits})).await;
    }
    app.ok("PATCH", ACME, json!({"parent_id": "holding"})).await;
    // acme's own child, which transfers go to.
    app.ok("POST", "/api/organizations", json!({"id": "acme-lab", "name": "Lab"})).await;
    app.ok("PATCH", "/api/organizations/acme-lab", json!({"parent_id": "acme"})).await;
    for (org, email, name, role) in [
        ("acme", "olga@acme.example", "Olga", "owner"),
        ("acme", "adam@acme.example", "Adam", "admin"),
        ("acme", "mia@acme.example", "Mia", "member"),
        ("other", "oscar@other.example", "Oscar", "owner"),
        ("holding", "hana@holding.example", "Hana", "owner"),
        ("holding", "hal@holding.example", "Hal", "admin"),
        ("holding", "hugo@holding.example", "Hugo", "member"),
    ] {
        app.ok(
            "POST",
            &format!("/api/organizations/{org}/members"),
            json!({"email": email, "name": name, "role": role}),
        )
        .await;
    }
    let member_key = |org: &str, email: &str| json!({"kind": "member", "org_id": org, "email": email});
    let (_, service) = app.new_key(json!({"kind": "service", "name": "backend"})).await;
    let (_, owner) = app.new_key(member_key("acme", "olga@acme.example")).await;
    let (_, admin) = app.new_key(member_key("acme", "adam@acme.example")).await;
    let (_, member) = app.new_key(member_key("acme", "mia@acme.example")).await;
    let (revoked_id, revoked) = app.new_key(member_key("acme", "mia@acme.example")).await;
    app.ok("DELETE", &format!("/api/keys/{revoked_id}"), Value::Null).await;
    let (_, other_owner) = app.new_key(member_key("other", "oscar@other.example")).await;
    let (_, parent_owner) = app.new_key(member_key("holding", "hana@holding.example")).await;
    let (_, parent_admin) = app.new_key(member_key("holding", "hal@holding.example")).await;
    let (_, parent_member) = app.new_key(member_key("holding", "hugo@holding.example")).await;
    World { app, service, owner, admin, member, revoked, other_owner, parent_owner, parent_admin, parent_member }
}

/// Every endpoint of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ep {
    CreateOrg,
    GetOrg,
    PatchOrg,
    PatchFunding,
    Balance,
    Verify,
    Grant,
    Purchase,
    Settle,
    Reverse,
    Hold,
    Debit,
    Extend,
    Release,
    Usage,
    Check,
    Refund,
    Adjustment,
    Billing,
    History,
    Export,
    UsageReport,
    ConversationReport,
    Batch,
    Summary,
    GetPlan,
    PutPlan,
    StartConversation,
    Conversations,
    Threshold,
    Notifications,
    GetAutoTopUp,
    PutAutoTopUp,
    GetAlerts,
    PutAlerts,
    ListMembers,
    AddMember,
    GetMember,
    PatchMember,
    RemoveMember,
    ListCaps,
    SetCap,
    Me,
    CreateOwnKey,
    CreateOthersKey,
    CreateServiceKey,
    ListKeys,
    GetKey,
    RevokeKey,
    ListWebhooks,
    CreateWebhook,
    GetWebhook,
    DeleteWebhook,
    WebhookDeliveries,
    PutPriceBook,
    GetPriceBook,
    ListPriceBooks,
    Transfer,
    BalanceAsOf,
    Statement,
    StatementExport,
}

const ALL: &[Ep] = &[
    Ep::CreateOrg,
    Ep::GetOrg,
    Ep::PatchOrg,
    Ep::PatchFunding,
    Ep::Balance,
    Ep::Verify,
    Ep::Grant,
    Ep::Purchase,
    Ep::Settle,
    Ep::Reverse,
    Ep::Hold,
    Ep::Debit,
    Ep::Extend,
    Ep::Release,
    Ep::Usage,
    Ep::Check,
    Ep::Refund,
    Ep::Adjustment,
    Ep::Billing,
    Ep::History,
    Ep::Export,
    Ep::UsageReport,
    Ep::ConversationReport,
    Ep::Batch,
    Ep::Summary,
    Ep::GetPlan,
    Ep::PutPlan,
    Ep::StartConversation,
    Ep::Conversations,
    Ep::Threshold,
    Ep::Notifications,
    Ep::GetAutoTopUp,
    Ep::PutAutoTopUp,
    Ep::GetAlerts,
    Ep::PutAlerts,
    Ep::ListMembers,
    Ep::AddMember,
    Ep::GetMember,
    Ep::PatchMember,
    Ep::RemoveMember,
    Ep::ListCaps,
    Ep::SetCap,
    Ep::Me,
    Ep::CreateOwnKey,
    Ep::CreateOthersKey,
    Ep::CreateServiceKey,
    Ep::ListKeys,
    Ep::GetKey,
    Ep::RevokeKey,
    Ep::ListWebhooks,
    Ep::CreateWebhook,
    Ep::GetWebhook,
    Ep::DeleteWebhook,
    Ep::WebhookDeliveries,
    Ep::PutPriceBook,
    Ep::GetPriceBook,
    Ep::ListPriceBooks,
    Ep::Transfer,
    Ep::BalanceAsOf,
    Ep::Statement,
    Ep::StatementExport,
];

impl Ep {
    /// The permission the endpoint needs; None: any authenticated caller.
    fn action(self) -> Option<Action> {
        use Action::*;
        Some(match self {
            Ep::CreateOrg => CreateOrg,
            Ep::GetOrg | Ep::Balance | Ep::Summary | Ep::GetPlan => ReadSummary,
            Ep::PatchOrg => ManageOrg,
            // acme is holding's child: holding's people decide its funding.
            Ep::PatchFunding => ManageFunding,
            Ep::Verify | Ep::History | Ep::Notifications | Ep::BalanceAsOf | Ep::Statement => ReadHistory,
            Ep::Export | Ep::StatementExport => Export,
            Ep::Grant => Grant,
            Ep::Purchase | Ep::Settle | Ep::Refund | Ep::Billing => WriteCredits,
            Ep::Hold | Ep::Debit | Ep::Extend | Ep::Release | Ep::Usage | Ep::Batch | Ep::StartConversation => Consume,
            Ep::Check => Check,
            Ep::Adjustment => Adjust,
            Ep::Reverse => ReversePurchases,
            Ep::PutPlan | Ep::Threshold => ManagePlan,
            Ep::GetAutoTopUp | Ep::GetAlerts => ReadMoneyIn,
            Ep::PutAutoTopUp | Ep::PutAlerts => ManageMoneyIn,
            Ep::Conversations | Ep::ConversationReport => ReadAnalytics,
            // Members get their own usage (analytics.rs narrows it).
            Ep::UsageReport => ReadOwnUsage,
            Ep::ListMembers | Ep::GetMember => ReadMembers,
            Ep::AddMember | Ep::PatchMember | Ep::RemoveMember => ManageMembers,
            Ep::ListCaps | Ep::SetCap => ManageCaps,
            Ep::Me => ReadOwnUsage,
            // A key of mia's: every role of acme reaches it (hers, or as a key manager).
            Ep::CreateOwnKey | Ep::GetKey | Ep::RevokeKey => ManageOwnKeys,
            Ep::CreateOthersKey => IssueKeysForOthers,
            Ep::ListWebhooks | Ep::CreateWebhook | Ep::GetWebhook | Ep::DeleteWebhook | Ep::WebhookDeliveries => {
                ManageWebhooks
            }
            Ep::PutPriceBook => ManagePriceBooks,
            Ep::GetPriceBook | Ep::ListPriceBooks => ReadPriceBooks,
            // To acme's child: the caller needs it in both.
            Ep::Transfer => Transfer,
            Ep::CreateServiceKey | Ep::ListKeys => return None,
        })
    }

    /// Not about one org: a key of another org gets its role's answer, not 404.
    fn unscoped(self) -> bool {
        matches!(
            self,
            Ep::CreateOrg
                | Ep::CreateServiceKey
                | Ep::ListKeys
                | Ep::PutPriceBook
                | Ep::GetPriceBook
                | Ep::ListPriceBooks
        )
    }
}

struct Req {
    method: &'static str,
    path: String,
    body: Option<Value>,
}

fn req(method: &'static str, path: impl Into<String>, body: Value) -> Req {
    Req { method, path: path.into(), body: if body.is_null() { None } else { Some(body) } }
}

static N: AtomicU32 = AtomicU32::new(0);

fn n() -> u32 {
    N.fetch_add(1, Ordering::Relaxed)
}

/// The request for `ep`, made by someone with `email` (for holds they may
/// settle and keys of their own); what it needs is prepared with the
/// bootstrap key.
async fn prepare(app: &App, ep: Ep, email: &str) -> Req {
    match ep {
        Ep::CreateOrg => req("POST", "/api/organizations", json!({"id": format!("new-{}", n()), "name": "New"})),
        Ep::GetOrg => req("GET", ACME, Value::Null),
        Ep::PatchOrg => req("PATCH", ACME, json!({"name": format!("Acme {}", n())})),
        Ep::PatchFunding => req("PATCH", ACME, json!({"funding_budget": n() + 1})),
        Ep::Balance => req("GET", format!("{ACME}/balance"), Value::Null),
        Ep::Verify => req("GET", format!("{ACME}/verify"), Value::Null),
        Ep::Grant => req("POST", format!("{ACME}/credits"), json!({"kind": "grant", "amount": 1})),
        Ep::Purchase => req("POST", format!("{ACME}/credits"), json!({"kind": "purchase", "amount": 1})),
        Ep::Settle => {
            let v = app
                .ok(
                    "POST",
                    &format!("{ACME}/credits"),
                    json!({"kind": "purchase", "amount": 2, "status": "processing"}),
                )
                .await;
            let id = v["purchase"]["id"].as_str().unwrap();
            req("POST", format!("{ACME}/purchases/{id}/settle"), json!({"status": "succeeded"}))
        }
        Ep::Reverse => {
            let v = app.ok("POST", &format!("{ACME}/credits"), json!({"kind": "purchase", "amount": 2})).await;
            let id = v["purchase"]["id"].as_str().unwrap();
            req("POST", format!("{ACME}/purchases/{id}/reverse"), json!({"reason": "chargeback"}))
        }
        Ep::Hold => req("POST", format!("{ACME}/holds"), json!({"amount": 1})),
        Ep::Debit | Ep::Release => {
            let v = app.ok("POST", &format!("{ACME}/holds"), json!({"amount": 1, "user_email": email})).await;
            let id = v["hold"]["id"].as_str().unwrap();
            let what = if ep == Ep::Debit { "debit" } else { "release" };
            req("POST", format!("{ACME}/holds/{id}/{what}"), json!({}))
        }
        Ep::Extend => {
            let v = app.ok("POST", &format!("{ACME}/holds"), json!({"amount": 1, "user_email": email})).await;
            let id = v["hold"]["id"].as_str().unwrap();
            req("POST", format!("{ACME}/holds/{id}/extend"), json!({"amount": 1}))
        }
        // For oneself: a member may check only that.
        Ep::Check => req("POST", format!("{ACME}/check"), json!({"amount": 1})),
        Ep::Usage => req("POST", format!("{ACME}/usage"), json!({"amount": 1})),
        Ep::Refund => {
            let v = app.ok("POST", &format!("{ACME}/usage"), json!({"amount": 1})).await;
            req("POST", format!("{ACME}/refunds"), json!({"refers_to": v["usage"]["id"]}))
        }
        Ep::Adjustment => req("POST", format!("{ACME}/adjustments"), json!({"amount": 1, "reason": "fix"})),
        Ep::Billing => req("POST", format!("{ACME}/billing"), json!({"amount": 0})),
        Ep::History => req("GET", format!("{ACME}/credit-events?limit=5"), Value::Null),
        Ep::Export => req("GET", format!("{ACME}/credit-events/export"), Value::Null),
        Ep::UsageReport => req("GET", format!("{ACME}/usage"), Value::Null),
        Ep::ConversationReport => req("GET", format!("{ACME}/conversations/usage"), Value::Null),
        Ep::Batch => {
            req("POST", "/api/batch", json!({"operations": [{"org_id": "acme", "op": "usage", "body": {"amount": 1}}]}))
        }
        Ep::Summary => req("GET", format!("{ACME}/summary"), Value::Null),
        Ep::GetPlan => req("GET", format!("{ACME}/plan"), Value::Null),
        Ep::PutPlan => req(
            "PUT",
            format!("{ACME}/plan"),
            json!({"name": "Pro", "credits_per_period": 10, "identities_included": 1, "price": 5, "currency": "EUR"}),
        ),
        Ep::StartConversation => req("POST", format!("{ACME}/conversations"), json!({"identity": "id-1"})),
        Ep::Conversations => req("GET", format!("{ACME}/conversations?group_by=identity"), Value::Null),
        Ep::Threshold => req("PUT", format!("{ACME}/low-balance-threshold"), json!({"threshold": 1})),
        Ep::Notifications => req("GET", format!("{ACME}/notifications"), Value::Null),
        Ep::GetAutoTopUp => req("GET", format!("{ACME}/auto-top-up"), Value::Null),
        Ep::PutAutoTopUp => req("PUT", format!("{ACME}/auto-top-up"), json!({"threshold": 0, "amount": 10})),
        Ep::GetAlerts => req("GET", format!("{ACME}/alerts"), Value::Null),
        Ep::PutAlerts => req("PUT", format!("{ACME}/alerts"), json!({"levels": [{"percent_used": 90}]})),
        Ep::ListMembers => req("GET", format!("{ACME}/members"), Value::Null),
        Ep::AddMember => req(
            "POST",
            format!("{ACME}/members"),
            json!({"email": format!("new{}@acme.example", n()), "name": "New", "role": "member"}),
        ),
        Ep::GetMember => req("GET", format!("{ACME}/members/mia@acme.example"), Value::Null),
        Ep::PatchMember | Ep::RemoveMember => {
            let email = format!("tmp{}@acme.example", n());
            app.ok("POST", &format!("{ACME}/members"), json!({"email": email, "name": "Tmp", "role": "member"})).await;
            match ep {
                Ep::PatchMember => req("PATCH", format!("{ACME}/members/{email}"), json!({"name": "Renamed"})),
                _ => req("DELETE", format!("{ACME}/members/{email}"), Value::Null),
            }
        }
        Ep::ListCaps => req("GET", format!("{ACME}/caps"), Value::Null),
        Ep::SetCap => req("PUT", format!("{ACME}/caps"), json!({"member": "mia@acme.example", "limit": 1000})),
        Ep::Me => req("GET", format!("{ACME}/me"), Value::Null),
        Ep::CreateOwnKey => {
            let own = if email.ends_with("@acme.example") { email } else { "mia@acme.example" };
            req("POST", "/api/keys", json!({"kind": "member", "org_id": "acme", "email": own}))
        }
        Ep::CreateOthersKey => {
            req("POST", "/api/keys", json!({"kind": "member", "org_id": "acme", "email": "olga@acme.example"}))
        }
        Ep::CreateServiceKey => req("POST", "/api/keys", json!({"kind": "service", "org_ids": ["acme"]})),
        Ep::ListKeys => req("GET", "/api/keys", Value::Null),
        Ep::ListWebhooks => req("GET", format!("{ACME}/webhooks"), Value::Null),
        Ep::CreateWebhook => req("POST", format!("{ACME}/webhooks"), json!({"url": "https://hooks.example.com/c"})),
        Ep::GetWebhook | Ep::WebhookDeliveries | Ep::DeleteWebhook => {
            // One endpoint to read; a fresh one for each delete.
            let listed = app.ok("GET", &format!("{ACME}/webhooks"), Value::Null).await;
            let id = match listed["endpoints"].as_array().unwrap().first() {
                Some(e) if ep != Ep::DeleteWebhook => e["id"].as_str().unwrap().to_string(),
                _ => {
                    let made = app
                        .ok("POST", &format!("{ACME}/webhooks"), json!({"url": "https://hooks.example.com/d"}))
                        .await;
                    made["endpoint"]["id"].as_str().unwrap().to_string()
                }
            };
            match ep {
                Ep::GetWebhook => req("GET", format!("{ACME}/webhooks/{id}"), Value::Null),
                Ep::WebhookDeliveries => req("GET", format!("{ACME}/webhooks/{id}/deliveries"), Value::Null),
                _ => req("DELETE", format!("{ACME}/webhooks/{id}"), Value::Null),
            }
        }
        Ep::PutPriceBook => req(
            "PUT",
            "/api/price-books/standard",
            json!({"prices": [{"key": "img", "service": "images", "activity": "generate", "unit": "image",
                "credits_per_unit": 2.5}]}),
        ),
        Ep::GetPriceBook => {
            app.ok(
                "PUT",
                "/api/price-books/listed",
                json!({"prices": [{"key": "img", "service": "s", "activity": "a", "unit": "u", "credits_per_unit": 1}]}),
            )
            .await;
            req("GET", "/api/price-books/listed", Value::Null)
        }
        Ep::ListPriceBooks => req("GET", "/api/price-books", Value::Null),
        Ep::Transfer => req("POST", format!("{ACME}/transfers"), json!({"to": "acme-lab", "amount": 1})),
        Ep::BalanceAsOf => req("GET", format!("{ACME}/balance/as-of?as_of=2020-01-01T00:00:00Z"), Value::Null),
        Ep::Statement => req("GET", format!("{ACME}/statement?range=this_month"), Value::Null),
        Ep::StatementExport => req("GET", format!("{ACME}/statement/export?format=csv"), Value::Null),
        Ep::GetKey | Ep::RevokeKey => {
            let (id, _) = app.new_key(json!({"kind": "member", "org_id": "acme", "email": "mia@acme.example"})).await;
            let method = if ep == Ep::GetKey { "GET" } else { "DELETE" };
            req(method, format!("/api/keys/{id}"), Value::Null)
        }
    }
}

/// Everything a request could change, as the bootstrap key sees it (minus
/// when keys were last used: using a key is not a change).
async fn snapshot(app: &App) -> Value {
    let mut out = serde_json::Map::new();
    for org in ["acme", "other", "acme-lab", "holding"] {
        for part in [
            "",
            "/balance",
            "/members",
            "/caps",
            "/conversations?group_by=identity",
            "/notifications",
            "/plan",
            "/webhooks",
            "/auto-top-up",
            "/alerts",
        ] {
            let path = format!("/api/organizations/{org}{part}");
            out.insert(path.clone(), app.ok("GET", &path, Value::Null).await);
        }
    }
    let mut keys = app.ok("GET", "/api/keys", Value::Null).await;
    for k in keys["keys"].as_array_mut().unwrap() {
        k.as_object_mut().unwrap().remove("last_used_at");
    }
    out.insert("keys".into(), keys);
    out.insert("price_books".into(), json!(app.store.price_books().books().await.unwrap()));
    out.insert("orgs".into(), json!(app.store.org_ids().await.unwrap()));
    Value::Object(out)
}

/// The same request against an organisation (or key) that does not exist.
fn missing_version(r: &Req) -> Req {
    let swap = |s: &str| s.replace("/organizations/acme", "/organizations/ghost").replace("\"acme\"", "\"ghost\"");
    let path = match r.path.strip_prefix("/api/keys/") {
        Some(_) => "/api/keys/key_doesnotexist000".to_string(),
        None => swap(&r.path),
    };
    Req { method: r.method, path, body: r.body.as_ref().map(|b| serde_json::from_str(&swap(&b.to_string())).unwrap()) }
}

/// Error answers of a request and of its missing version are the same
/// once the names are swapped back.
fn same_as_missing(got: &Resp, missing: &Resp, r: &Req) {
    let key_id = r.path.strip_prefix("/api/keys/").unwrap_or("key_doesnotexist000");
    let back = missing.text.replace("ghost", "acme").replace("key_doesnotexist000", key_id);
    assert_eq!(got.status, missing.status, "{} {}: {} vs missing {}", r.method, r.path, got.text, missing.text);
    assert_eq!(got.text, back, "{} {}: another org's id must answer as a missing one", r.method, r.path);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Service,
    Owner,
    Admin,
    Member,
    Revoked,
    NoKey,
    WrongOrg,
    /// Owner of acme's parent: acts in acme as `Who::Parent`.
    ParentOwner,
    /// Admin of acme's parent: acts in acme as `Who::Parent`.
    ParentAdmin,
    /// A plain member of acme's parent: reaches no child, like another org.
    ParentMember,
}

#[tokio::test]
async fn every_endpoint_with_every_caller_follows_the_permission_table() {
    let mut w = world().await;
    let app = &w.app;
    // Routes other work adds (exports, analytics): walked when routed, else
    // skipped with a clear message.
    let mut absent = Vec::new();
    for ep in [Ep::Export, Ep::UsageReport, Ep::ConversationReport] {
        let r = prepare(app, ep, "svc@backend.example").await;
        let probe = app.call(r.method, &r.path, None, Some(KEY)).await;
        if probe.text.contains("no such route") || probe.status == 405 {
            eprintln!("SKIPPED: {} {} is not routed in this build; not walked", r.method, r.path);
            absent.push(ep);
        }
    }
    let callers = [
        (Caller::Service, Some(w.service.clone()), "svc@backend.example"),
        (Caller::Owner, Some(w.owner.clone()), "olga@acme.example"),
        (Caller::Admin, Some(w.admin.clone()), "adam@acme.example"),
        (Caller::Member, Some(w.member.clone()), "mia@acme.example"),
        (Caller::Revoked, Some(w.revoked.clone()), "mia@acme.example"),
        (Caller::NoKey, None, "nobody@acme.example"),
        (Caller::WrongOrg, Some(w.other_owner.clone()), "oscar@other.example"),
        (Caller::ParentOwner, Some(w.parent_owner.clone()), "hana@holding.example"),
        (Caller::ParentAdmin, Some(w.parent_admin.clone()), "hal@holding.example"),
        (Caller::ParentMember, Some(w.parent_member.clone()), "hugo@holding.example"),
    ];
    let mut checked = 0;
    for &ep in ALL {
        if absent.contains(&ep) {
            continue;
        }
        for (caller, key, email) in &callers {
            let r = prepare(app, ep, email).await;
            let who = match caller {
                Caller::Service => Some(Who::Service),
                Caller::Owner | Caller::WrongOrg => Some(Who::Owner),
                Caller::Admin => Some(Who::Admin),
                Caller::Member => Some(Who::Member),
                Caller::Revoked | Caller::NoKey => None,
                // In acme a parent's owner or admin is `Parent`; elsewhere
                // (unscoped routes) their own role.
                Caller::ParentOwner if ep.unscoped() => Some(Who::Owner),
                Caller::ParentAdmin if ep.unscoped() => Some(Who::Admin),
                Caller::ParentOwner | Caller::ParentAdmin => Some(Who::Parent),
                Caller::ParentMember => Some(Who::Member),
            };
            // Like another org's caller: acme answers as a missing org. A
            // parent's key managers do not manage a child's keys: those
            // keys answer as missing ones too.
            let as_missing = !ep.unscoped()
                && (matches!(caller, Caller::WrongOrg | Caller::ParentMember)
                    || (who == Some(Who::Parent) && matches!(ep, Ep::GetKey | Ep::RevokeKey)));
            let expect_ok = match (who, ep.action()) {
                (None, _) => false,
                (Some(_), _) if as_missing => false,
                (Some(w), None) => ep != Ep::CreateServiceKey || w == Who::Service,
                (Some(w), Some(a)) => allowed(w, a),
            };
            let before = if expect_ok { Value::Null } else { snapshot(app).await };
            let got = app.call(r.method, &r.path, r.body.as_ref(), key.as_deref()).await;
            let label = format!("{:?} as {caller:?}: {} {} -> {} {}", ep, r.method, r.path, got.status, got.text);
            checked += 1;
            // A batch answers 200 with one result per operation.
            let (status, body) = if ep == Ep::Batch && got.status == 200 {
                let item = &got.body["results"][0];
                (item["status"].as_u64().unwrap() as u16, item.clone())
            } else {
                (got.status, got.body.clone())
            };
            if expect_ok {
                assert!((200..300).contains(&status), "allowed, but refused: {label}");
                continue;
            }
            match caller {
                Caller::Revoked | Caller::NoKey => {
                    assert_eq!((got.status, code(&got)), (401, "unauthorized"), "{label}");
                }
                _ if as_missing => {
                    let m = missing_version(&r);
                    let missing = app.call(m.method, &m.path, m.body.as_ref(), Some(KEY)).await;
                    if ep == Ep::Batch {
                        let item = &missing.body["results"][0];
                        let back: Value = serde_json::from_str(&item.to_string().replace("ghost", "acme")).unwrap();
                        assert_eq!(body, back, "{label}");
                        assert_eq!(status, 404, "{label}");
                    } else {
                        same_as_missing(&got, &missing, &r);
                        assert_eq!(got.status, 404, "{label}");
                    }
                }
                _ => {
                    assert_eq!(status, 403, "denied by the table, so 403: {label}");
                    assert_eq!(body["error"]["code"], "forbidden", "{label}");
                }
            }
            assert_eq!(snapshot(app).await, before, "a refusal changed something: {label}");
        }
    }
    assert_eq!(checked, (ALL.len() - absent.len()) * callers.len(), "walked {checked} calls");
    w.app.stop().await;
}

#[tokio::test]
async fn spot_checks_of_the_table_and_the_readme() {
    // Seed 000 and the brief, said plainly.
    assert!(allowed(Who::Owner, Action::ReadHistory) && allowed(Who::Admin, Action::ReadHistory));
    assert!(!allowed(Who::Member, Action::ReadHistory) && !allowed(Who::Member, Action::Export));
    assert!(allowed(Who::Member, Action::ReadSummary) && allowed(Who::Member, Action::ReadOwnUsage));
    assert!(!allowed(Who::Member, Action::ReadAnalytics));
    assert!(allowed(Who::Owner, Action::Grant) && allowed(Who::Owner, Action::Adjust));
    assert!(!allowed(Who::Admin, Action::Grant) && !allowed(Who::Owner, Action::WriteCredits));
    assert!(allowed(Who::Owner, Action::ManageMembers) && allowed(Who::Admin, Action::ManageMembers));
    for w in Who::ALL {
        assert!(allowed(w, Action::ReadSummary));
    }
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/roles.md")).unwrap();
    assert!(
        page.contains(&markdown_table()),
        "docs/roles.md must show the permission table exactly as the code has it:\n{}",
        markdown_table()
    );
}

#[tokio::test]
async fn a_member_settles_only_their_own_holds_and_events_name_the_acting_member() {
    let mut w = world().await;
    let app = &w.app;
    // A hold made by the backend in Adam's name: Mia cannot touch it, and
    // learns nothing: the same answer as a hold that does not exist.
    let v = app.ok("POST", &format!("{ACME}/holds"), json!({"amount": 5, "user_email": "adam@acme.example"})).await;
    let id = v["hold"]["id"].as_str().unwrap().to_string();
    let before = snapshot(app).await;
    let theirs = app.call("POST", &format!("{ACME}/holds/{id}/release"), Some(&json!({})), Some(&w.member)).await;
    let missing = app.call("POST", &format!("{ACME}/holds/hold_999/release"), Some(&json!({})), Some(&w.member)).await;
    assert_eq!(theirs.status, 404);
    assert_eq!(theirs.text, missing.text.replace("hold_999", &id));
    assert_eq!(snapshot(app).await, before);
    // The owner may release it.
    let r = app.call("POST", &format!("{ACME}/holds/{id}/release"), Some(&json!({})), Some(&w.owner)).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Mia's usage carries her name and email, whatever the body claims.
    let r = app
        .call(
            "POST",
            &format!("{ACME}/usage"),
            Some(&json!({"amount": 2, "user_email": "olga@acme.example", "user_name": "Olga"})),
            Some(&w.member),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["events"][0]["user_email"], "mia@acme.example");
    assert_eq!(r.body["events"][0]["user_name"], "Mia");
    // Her own usage: visible to her; the history is not.
    let me = app.call("GET", &format!("{ACME}/me"), None, Some(&w.member)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["role"], "member");
    assert_eq!(me.body["usage_this_period"]["consumed"], json!(2));
    let h = app.call("GET", &format!("{ACME}/credit-events"), None, Some(&w.member)).await;
    assert_eq!((h.status, code(&h)), (403, "forbidden"));
    // A service key writing on a user's behalf keeps the user it names.
    let r = app
        .call(
            "POST",
            &format!("{ACME}/usage"),
            Some(&json!({"amount": 1, "user_email": "end@user.example"})),
            Some(&w.service),
        )
        .await;
    assert_eq!(r.body["events"][0]["user_email"], "end@user.example");
    w.app.stop().await;
}

#[tokio::test]
async fn secrets_are_shown_once_never_logged_and_stored_only_as_hashes() {
    let mut w = world().await;
    let app = &w.app;
    let created =
        app.ok("POST", "/api/keys", json!({"kind": "member", "org_id": "acme", "email": "mia@acme.example"})).await;
    let secret = created["secret"].as_str().unwrap().to_string();
    let id = created["key"]["id"].as_str().unwrap().to_string();
    let prefix = created["key"]["prefix"].as_str().unwrap().to_string();
    assert!(secret.starts_with(&prefix) && secret.len() >= 40 && prefix.len() < 16, "{created}");
    assert!(!created["key"].to_string().contains(&secret), "the key object itself never holds the secret");

    // Use it, well and badly, and sign in with a link: all of it logged at TRACE.
    let mut answers = Vec::new();
    for (m, p) in
        [("GET", format!("{ACME}/balance")), ("GET", format!("{ACME}/credit-events")), ("GET", format!("{ACME}/me"))]
    {
        answers.push(app.call(m, &p, None, Some(&secret)).await);
    }
    answers.push(app.call("POST", &format!("{ACME}/usage"), Some(&json!({"amount": 1})), Some(&secret)).await);
    let token = creditd_server::auth::issue_login_link(
        app.store.directory(),
        "acme",
        "olga@acme.example",
        app.clock.now(),
        SignedDuration::from_mins(15),
    )
    .await
    .unwrap();
    let login = app.send("GET", &format!("/login/{token}"), None, &[]).await;
    assert_eq!(login.status, 303);
    let cookie = login.set_cookie.clone().unwrap();
    let session = cookie.split(';').next().unwrap().trim_start_matches("creditd_session=").to_string();
    for path in ["/api/keys".to_string(), format!("/api/keys/{id}"), format!("{ACME}/members")] {
        answers.push(app.call("GET", &path, None, Some(KEY)).await);
        answers.push(app.call("GET", &path, None, Some(&secret)).await);
    }
    answers.push(app.call("DELETE", &format!("/api/keys/{id}"), None, Some(&secret)).await);
    answers.push(app.call("GET", &format!("{ACME}/balance"), None, Some(&secret)).await);
    assert_eq!(answers.last().unwrap().status, 401, "a revoked key is refused at once");
    for a in &answers {
        assert!(!a.text.contains(&secret), "a secret came back after creation: {}", a.text);
    }
    let listed = app.ok("GET", "/api/keys", Value::Null).await;
    let k = listed["keys"].as_array().unwrap().iter().find(|k| k["id"] == id).unwrap().clone();
    assert_eq!(k["prefix"], prefix);
    assert!(k["revoked_at"].is_string() && k["last_used_at"].is_string(), "{k}");

    w.app.stop().await;
    let logs = String::from_utf8_lossy(&logs().lock().unwrap()).to_string();
    assert!(logs.contains(&id), "the logs name keys by id (so this test looks at the right logs)");
    for s in [&secret, &token, &session] {
        assert!(!logs.contains(s.as_str()), "a secret reached the logs");
    }
    // On disk: the hash, never the secret (database and its WAL).
    let mut disk = Vec::new();
    for f in std::fs::read_dir(&w.app.data_dir).unwrap() {
        let p = f.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with("creditd.sqlite") {
            disk.extend(std::fs::read(&p).unwrap());
        }
    }
    let disk = String::from_utf8_lossy(&disk);
    assert!(disk.contains(&creditd_store::directory::secret_hash(&secret)), "the key's hash is stored");
    for s in [&secret, &token, &session] {
        assert!(!disk.contains(s.as_str()), "a secret was stored as is");
    }
    assert_ne!(creditd_store::directory::secret_hash(&secret), secret);
    // When the key was last used is written (at the latest at shutdown), not lost.
    let dir = creditd_sqlite::SqliteDirectory::open(&w.app.data_dir).unwrap();
    let stored = creditd_store::Directory::key(&dir, &id).await.unwrap().unwrap();
    assert!(stored.last_used_at.is_some() && stored.revoked_at.is_some(), "{stored:?}");
}

fn cookie_of(r: &Resp) -> String {
    let c = r.set_cookie.clone().unwrap_or_else(|| panic!("no cookie: {} {}", r.status, r.text));
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/"), "{c}");
    c.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn sign_in_links_are_single_use_and_expire_and_form_posts_need_the_csrf_token() {
    let mut w = world().await;
    let app = &w.app;
    let link = |email: &'static str, mins: i64| {
        creditd_server::auth::issue_login_link(
            app.store.directory(),
            "acme",
            email,
            app.clock.now(),
            SignedDuration::from_mins(mins),
        )
    };
    // Not a member: no link.
    assert!(link("stranger@acme.example", 15).await.is_err());

    let token = link("olga@acme.example", 15).await.unwrap();
    let first = app.send("GET", &format!("/login/{token}"), None, &[]).await;
    assert_eq!((first.status, first.location.as_deref()), (303, Some("/")));
    let cookie = cookie_of(&first);
    let again = app.send("GET", &format!("/login/{token}"), None, &[]).await;
    assert_eq!((again.status, code(&again)), (410, "login_link_invalid"), "a link works once");
    assert!(again.set_cookie.is_none());

    // Expired links do not work.
    let late = link("adam@acme.example", 15).await.unwrap();
    app.clock.advance(SignedDuration::from_mins(16));
    let r = app.send("GET", &format!("/login/{late}"), None, &[]).await;
    assert_eq!((r.status, code(&r)), (410, "login_link_invalid"));
    let r = app.send("GET", "/login/ll_madeup", None, &[]).await;
    assert_eq!(r.status, 410);

    // The session knows who it is and its CSRF token; the home page answers.
    let me = app.send("GET", &format!("{ACME}/me"), None, &[("cookie", &cookie)]).await;
    assert_eq!(
        (me.status, me.body["email"].as_str(), me.body["role"].as_str()),
        (200, Some("olga@acme.example"), Some("owner"))
    );
    let csrf = me.body["csrf_token"].as_str().unwrap().to_string();
    let home = app.send("GET", "/", None, &[("cookie", &cookie)]).await;
    assert_eq!(home.status, 200, "{}", home.text);
    let by_key = app.call("GET", &format!("{ACME}/me"), None, Some(&w.owner)).await;
    assert!(by_key.body.get("csrf_token").is_none(), "keys have no CSRF token");

    // The session reads the API as the owner; writes need the CSRF token.
    let r = app.send("GET", &format!("{ACME}/credit-events"), None, &[("cookie", &cookie)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let before = snapshot(app).await;
    let grant = json!({"kind": "grant", "amount": 5});
    let r = app.send("POST", &format!("{ACME}/credits"), Some(&grant), &[("cookie", &cookie)]).await;
    assert_eq!((r.status, code(&r)), (403, "csrf_failed"));
    let r = app
        .send("POST", &format!("{ACME}/credits"), Some(&grant), &[("cookie", &cookie), ("x-csrf-token", "wrong")])
        .await;
    assert_eq!((r.status, code(&r)), (403, "csrf_failed"));
    assert_eq!(snapshot(app).await, before, "refused form posts change nothing");
    let r = app
        .send("POST", &format!("{ACME}/credits"), Some(&grant), &[("cookie", &cookie), ("x-csrf-token", &csrf)])
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["events"][0]["user_email"], "olga@acme.example");

    // Sign-out is a CSRF-checked form post.
    let form = [("cookie", cookie.as_str()), ("content-type", "application/x-www-form-urlencoded")];
    let r = app.send("POST", "/logout", None, &form).await;
    assert_eq!((r.status, code(&r)), (403, "csrf_failed"));
    let r = app.send("GET", &format!("{ACME}/balance"), None, &[("cookie", &cookie)]).await;
    assert_eq!(r.status, 200, "still signed in after a refused sign-out");
    let out = app
        .client
        .post(format!("{}/logout", app.base))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf_token={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 303);
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let r = app.send("GET", &format!("{ACME}/balance"), None, &[("cookie", &cookie)]).await;
    assert_eq!((r.status, code(&r)), (401, "unauthorized"));

    // Sessions expire.
    let t = link("mia@acme.example", 15).await.unwrap();
    let c = cookie_of(&app.send("GET", &format!("/login/{t}"), None, &[]).await);
    let r = app.send("GET", &format!("{ACME}/balance"), None, &[("cookie", &c)]).await;
    assert_eq!(r.status, 200);
    let r = app.send("GET", &format!("{ACME}/credit-events"), None, &[("cookie", &c)]).await;
    assert_eq!(r.status, 403, "a member's session cannot read the history");
    app.clock.advance(SignedDuration::from_hours(13));
    let r = app.send("GET", &format!("{ACME}/balance"), None, &[("cookie", &c)]).await;
    assert_eq!(r.status, 401);
    w.app.stop().await;
}

#[tokio::test]
async fn caps_limit_members_and_keys_per_period_even_when_racing() {
    let mut w = world().await;
    let app = &w.app;
    let owner = w.owner.as_str();
    let set = |body: Value| async move {
        let r = app.call("PUT", &format!("{ACME}/caps"), Some(&body), Some(owner)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body
    };
    let v = set(json!({"member": "Mia@Acme.example", "limit": 10})).await;
    assert_eq!(v["cap"]["limit"], json!(10));
    let mia = |path: String, body: Value| {
        let key = w.member.clone();
        async move { app.call("POST", &format!("{ACME}{path}"), Some(&body), Some(&key)).await }
    };
    let h = mia(String::from("/holds"), json!({"amount": 6})).await;
    assert_eq!(h.status, 201, "{}", h.text);
    let before = snapshot(app).await;
    let r = mia(String::from("/usage"), json!({"amount": 5})).await;
    assert_eq!((r.status, code(&r)), (409, "cap_exceeded"), "{}", r.text);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("mia@acme.example"));
    assert_eq!(snapshot(app).await, before, "a refusal at the cap changes nothing");
    // Releasing the hold gives the room back.
    let id = h.body["hold"]["id"].as_str().unwrap();
    assert_eq!(mia(format!("/holds/{id}/release"), json!({})).await.status, 200);
    assert_eq!(mia(String::from("/usage"), json!({"amount": "9.999999"})).await.status, 201);
    let r = mia(String::from("/usage"), json!({"amount": "0.000002"})).await;
    assert_eq!(code(&r), "cap_exceeded");
    assert_eq!(mia(String::from("/usage"), json!({"amount": "0.000001"})).await.status, 201, "exactly up to the cap");
    // The backend writing in Mia's name is held to her cap too.
    let r = app
        .call(
            "POST",
            &format!("{ACME}/usage"),
            Some(&json!({"amount": 1, "user_email": "mia@acme.example"})),
            Some(&w.service),
        )
        .await;
    assert_eq!(code(&r), "cap_exceeded");
    // Visible in the balance and summary: hers to her, everyone's to the owner.
    let b = app.call("GET", &format!("{ACME}/balance"), None, Some(&w.member)).await;
    assert_eq!(b.body["caps"][0]["remaining"], json!(0), "{}", b.text);
    let s = app.call("GET", &format!("{ACME}/summary"), None, Some(&w.member)).await;
    assert_eq!(s.body["caps"][0]["used"], json!(10), "{}", s.text);

    // A key's cap, and a race: 40 usages of 1 against a cap of 7.
    let svc_id = {
        let keys = app.ok("GET", "/api/keys", Value::Null).await;
        keys["keys"].as_array().unwrap().iter().find(|k| k["name"] == "backend").unwrap()["id"].clone()
    };
    set(json!({"key_id": svc_id, "limit": 7})).await;
    let owner_view = app.call("GET", &format!("{ACME}/balance"), None, Some(&w.owner)).await;
    assert_eq!(owner_view.body["caps"].as_array().unwrap().len(), 2, "{}", owner_view.text);
    let member_view = app.call("GET", &format!("{ACME}/balance"), None, Some(&w.member)).await;
    assert_eq!(member_view.body["caps"].as_array().unwrap().len(), 1, "a member sees only their own cap");
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let (client, url, key) = (app.client.clone(), format!("{}{ACME}/usage", app.base), w.service.clone());
        tasks.push(tokio::spawn(async move {
            client.post(url).bearer_auth(key).json(&json!({"amount": 1})).send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 7, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 33, "{statuses:?}");
    // The bootstrap key has no cap.
    app.ok("POST", &format!("{ACME}/usage"), json!({"amount": 1})).await;

    // A new period starts the count again.
    app.clock.advance(SignedDuration::from_hours(24 * 31));
    assert_eq!(mia(String::from("/usage"), json!({"amount": 10})).await.status, 201);
    assert_eq!(code(&mia(String::from("/usage"), json!({"amount": 1})).await), "cap_exceeded");
    // Removing the cap lifts it; bad caps are refused clearly.
    set(json!({"member": "mia@acme.example", "limit": null})).await;
    assert_eq!(mia(String::from("/usage"), json!({"amount": 1})).await.status, 201);
    for bad in [
        json!({"member": "mia@acme.example", "limit": -1}),
        json!({"member": "mia@acme.example", "key_id": "x", "limit": 1}),
        json!({"limit": 1}),
        json!({"member": "mia@acme.example", "limit": "1.0000001"}),
    ] {
        let r = app.call("PUT", &format!("{ACME}/caps"), Some(&bad), Some(&w.owner)).await;
        assert_eq!(r.status, 422, "{bad}: {}", r.text);
    }
    let r = app
        .call(
            "PUT",
            &format!("{ACME}/caps"),
            Some(&json!({"member": "nobody@acme.example", "limit": 1})),
            Some(&w.owner),
        )
        .await;
    assert_eq!((r.status, code(&r)), (404, "not_found"));
    w.app.stop().await;
}

/// A project budget over HTTP: whoever works on the project (a member, the
/// backend in anyone's name) counts against it; other projects do not; a
/// member sees the project budgets beside their own cap; bad bodies are 422.
#[tokio::test]
async fn project_budgets_limit_everyone_working_on_the_project() {
    let mut w = world().await;
    let app = &w.app;
    let r = app
        .call("PUT", &format!("{ACME}/caps"), Some(&json!({"project_id": "case-1", "limit": 5})), Some(&w.admin))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.body["subject"].clone(), r.body["cap"]["remaining"].clone()),
        (json!({"project": "case-1"}), json!(5))
    );
    let spend = |key: &str, body: Value| {
        let key = key.to_string();
        async move { app.call("POST", &format!("{ACME}/usage"), Some(&body), Some(&key)).await }
    };
    assert_eq!(spend(&w.member, json!({"amount": 3, "project_id": "case-1"})).await.status, 201);
    let before = snapshot(app).await;
    let r = spend(&w.service, json!({"amount": "2.000001", "project_id": "case-1", "user_email": "olga@acme.example"}))
        .await;
    assert_eq!((r.status, code(&r)), (409, "cap_exceeded"), "{}", r.text);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("project case-1"), "{}", r.text);
    assert_eq!(snapshot(app).await, before, "a refusal at the budget changes nothing");
    assert_eq!(spend(&w.service, json!({"amount": 2, "project_id": "case-1"})).await.status, 201, "exactly up to it");
    assert_eq!(spend(&w.member, json!({"amount": 4, "project_id": "case-2"})).await.status, 201, "another project");
    // The member sees the project's budget in the summary, used up.
    let s = app.call("GET", &format!("{ACME}/summary"), None, Some(&w.member)).await;
    let caps = s.body["caps"].as_array().unwrap();
    let p = caps.iter().find(|c| c["subject"] == json!({"project": "case-1"})).expect("the project budget");
    assert_eq!((p["used"].clone(), p["remaining"].clone()), (json!(5), json!(0)), "{}", s.text);
    for bad in [
        json!({"project_id": "", "limit": 1}),
        json!({"project_id": "case-1", "member": "mia@acme.example", "limit": 1}),
        json!({"project_id": "x".repeat(5000), "limit": 1}),
    ] {
        let r = app.call("PUT", &format!("{ACME}/caps"), Some(&bad), Some(&w.owner)).await;
        assert_eq!(r.status, 422, "{}", r.text);
    }
    let r = app
        .call("PUT", &format!("{ACME}/caps"), Some(&json!({"project_id": "case-1", "limit": 1})), Some(&w.member))
        .await;
    assert_eq!((r.status, code(&r)), (403, "forbidden"), "members do not set budgets");
    w.app.stop().await;
}

#[tokio::test]
async fn members_keep_an_owner_and_removing_one_revokes_their_keys() {
    let mut w = world().await;
    let app = &w.app;
    let members = format!("{ACME}/members");
    // The only owner cannot be demoted or removed.
    let r =
        app.call("PATCH", &format!("{members}/olga@acme.example"), Some(&json!({"role": "admin"})), Some(KEY)).await;
    assert_eq!((r.status, code(&r)), (409, "last_owner"), "{}", r.text);
    let r = app.call("DELETE", &format!("{members}/olga@acme.example"), None, Some(&w.owner)).await;
    assert_eq!((r.status, code(&r)), (409, "last_owner"));
    // Admins manage members, not owners.
    let r = app
        .call(
            "POST",
            &members,
            Some(&json!({"email": "o2@acme.example", "name": "O2", "role": "owner"})),
            Some(&w.admin),
        )
        .await;
    assert_eq!((r.status, code(&r)), (403, "forbidden"));
    let r = app.call("DELETE", &format!("{members}/olga@acme.example"), None, Some(&w.admin)).await;
    assert_eq!((r.status, code(&r)), (403, "forbidden"));
    // Emails are unique per org, whatever their case.
    let r =
        app.call("POST", &members, Some(&json!({"email": "MIA@acme.example", "name": "Mia 2"})), Some(&w.admin)).await;
    assert_eq!((r.status, code(&r)), (409, "already_exists"));
    let r = app.call("POST", &members, Some(&json!({"email": "not-an-email", "name": "X"})), Some(&w.admin)).await;
    assert_eq!(r.status, 422);
    let r = app
        .call("POST", &members, Some(&json!({"email": "x@acme.example", "name": "X", "role": "boss"})), Some(&w.admin))
        .await;
    assert_eq!(r.status, 422);
    // Admins neither mint keys that act as someone else nor revoke owners' keys.
    let (olga_key, _) = app.new_key(json!({"kind": "member", "org_id": "acme", "email": "olga@acme.example"})).await;
    let body = json!({"kind": "member", "org_id": "acme", "email": "mia@acme.example"});
    let r = app.call("POST", "/api/keys", Some(&body), Some(&w.admin)).await;
    assert_eq!((r.status, code(&r)), (403, "forbidden"));
    let r = app.call("DELETE", &format!("/api/keys/{olga_key}"), None, Some(&w.admin)).await;
    assert_eq!((r.status, code(&r)), (403, "forbidden"));
    let r = app.call("DELETE", &format!("/api/keys/{olga_key}"), None, Some(&w.owner)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // A second owner makes the first removable.
    let r = app
        .call(
            "POST",
            &members,
            Some(&json!({"email": "o2@acme.example", "name": "O2", "role": "owner"})),
            Some(&w.owner),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // Removing Mia revokes her key at once.
    assert_eq!(app.call("GET", &format!("{ACME}/balance"), None, Some(&w.member)).await.status, 200);
    let r = app.call("DELETE", &format!("{members}/mia@acme.example"), None, Some(&w.admin)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.call("GET", &format!("{ACME}/balance"), None, Some(&w.member)).await.status, 401);
    // A demoted admin loses admin rights at once.
    assert_eq!(app.call("GET", &format!("{ACME}/credit-events"), None, Some(&w.admin)).await.status, 200);
    app.ok("PATCH", &format!("{members}/adam@acme.example"), json!({"role": "member"})).await;
    assert_eq!(app.call("GET", &format!("{ACME}/credit-events"), None, Some(&w.admin)).await.status, 403);
    // The first member of a new org must be its owner.
    app.ok("POST", "/api/organizations", json!({"id": "fresh", "name": "Fresh"})).await;
    let r = app
        .call(
            "POST",
            "/api/organizations/fresh/members",
            Some(&json!({"email": "a@f.example", "name": "A"})),
            Some(KEY),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    w.app.stop().await;
}

#[tokio::test]
async fn organisation_settings_change_through_the_ledger() {
    let mut w = world().await;
    let app = &w.app;
    let v = app
        .ok(
            "PATCH",
            ACME,
            json!({"name": "Acme Research", "time_zone": "America/New_York", "overdraft_limit": 50, "renewal_day": 5}),
        )
        .await;
    assert_eq!(
        (v["name"].as_str(), v["time_zone"].as_str(), v["renewal_day"].as_u64()),
        (Some("Acme Research"), Some("America/New_York"), Some(5))
    );
    let b = app.ok("GET", &format!("{ACME}/balance"), Value::Null).await;
    assert_eq!(b["period_start"], "2026-03-05T05:00:00Z", "the period follows the new anchor and zone");
    // The overdraft limit applies at once.
    let available = b["available"].as_f64().unwrap();
    app.ok("POST", &format!("{ACME}/usage"), json!({"amount": available + 40.0})).await;
    let r = app.call("POST", &format!("{ACME}/usage"), Some(&json!({"amount": 11})), Some(KEY)).await;
    assert_eq!(code(&r), "insufficient_credits");
    // It cannot drop below the overdraft in use; bad settings are 422.
    for bad in [
        json!({"overdraft_limit": 10}),
        json!({"time_zone": "Mars/Olympus"}),
        json!({"renewal_day": 31}),
        json!({"consumption_order": ["plan"]}),
        json!({"nmae": "typo"}),
        json!({}),
    ] {
        let r = app.call("PATCH", ACME, Some(&bad), Some(KEY)).await;
        assert_eq!(r.status, 422, "{bad}: {}", r.text);
    }
    let r = app.call("PATCH", ACME, Some(&json!({"name": "Mine"})), Some(&w.owner)).await;
    assert_eq!((r.status, code(&r)), (403, "forbidden"));
    // Survives a restart.
    w.app.stop().await;
    let (_dir, data_dir, clock) = w.app.0.into_data();
    let store = creditd_sqlite::SqliteStore::open(&data_dir, clock).unwrap();
    assert_eq!(store.org("acme").await.unwrap().settings.name, "Acme Research");
    store.shutdown().await;
}

#[tokio::test]
async fn scoped_service_keys_reach_only_their_orgs() {
    let mut w = world().await;
    let app = &w.app;
    let (_, scoped) = app.new_key(json!({"kind": "service", "org_ids": ["acme", "later"]})).await;
    assert_eq!(app.call("GET", &format!("{ACME}/balance"), None, Some(&scoped)).await.status, 200);
    let r = app.call("GET", "/api/organizations/other/balance", None, Some(&scoped)).await;
    let missing = app.call("GET", "/api/organizations/ghost/balance", None, Some(KEY)).await;
    assert_eq!((r.status, r.text.clone()), (404, missing.text.replace("ghost", "other")));
    // It may create an org it lists, not another; nor service keys.
    let r = app.call("POST", "/api/organizations", Some(&json!({"id": "later", "name": "L"})), Some(&scoped)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app.call("POST", "/api/organizations", Some(&json!({"id": "elsewhere", "name": "E"})), Some(&scoped)).await;
    assert_eq!((r.status, code(&r)), (403, "forbidden"));
    let r = app.call("POST", "/api/keys", Some(&json!({"kind": "service"})), Some(&scoped)).await;
    assert_eq!((r.status, code(&r)), (403, "forbidden"));
    // Its key list holds only keys of its orgs (and itself).
    let keys = app.call("GET", "/api/keys", None, Some(&scoped)).await;
    for k in keys.body["keys"].as_array().unwrap() {
        assert!(k["org_id"] == "acme" || k["kind"] == "service", "{k}");
    }
    let r = app.call("GET", "/api/keys?org_id=other", None, Some(&scoped)).await;
    assert_eq!(r.status, 404);
    w.app.stop().await;
}

#[test]
fn logs_sink_is_writable() {
    // Keeps `LogSink` honest when no async test ran first.
    let mut s = LogSink(Arc::new(Mutex::new(Vec::new())));
    s.write_all(b"x").unwrap();
}

#[tokio::test]
async fn parents_reach_their_children_and_children_never_reach_their_parents() {
    let mut w = world().await;
    let app = &w.app;
    let holding = "/api/organizations/holding";
    // acme's own people, whatever their role, never see holding: it answers
    // exactly as a missing org.
    let missing = app.call("GET", "/api/organizations/ghost/balance", None, Some(&w.owner)).await;
    for key in [&w.owner, &w.admin, &w.member] {
        let got = app.call("GET", &format!("{holding}/balance"), None, Some(key)).await;
        assert_eq!(got.status, 404, "{}", got.text);
        assert_eq!(got.text, missing.text.replace("ghost", "holding"));
    }
    // holding's owner reads acme's history but may not spend there.
    let r = app.call("GET", &format!("{ACME}/credit-events"), None, Some(&w.parent_owner)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.call("POST", &format!("{ACME}/usage"), Some(&json!({"amount": 1})), Some(&w.parent_owner)).await;
    assert_eq!((r.status, code(&r)), (403, "forbidden"), "{}", r.text);
    assert!(r.text.contains("parent organisation"), "{}", r.text);

    // A grandchild is reached too; a sibling's owner reaches neither.
    app.ok("POST", "/api/organizations", json!({"id": "acme-team", "name": "Team"})).await;
    app.ok("PATCH", "/api/organizations/acme-team", json!({"parent_id": "acme"})).await;
    app.ok("POST", "/api/organizations", json!({"id": "sister", "name": "Sister"})).await;
    app.ok("PATCH", "/api/organizations/sister", json!({"parent_id": "holding"})).await;
    app.ok(
        "POST",
        "/api/organizations/sister/members",
        json!({"email": "sam@sister.example", "name": "Sam", "role": "owner"}),
    )
    .await;
    let (_, sam) = app.new_key(json!({"kind": "member", "org_id": "sister", "email": "sam@sister.example"})).await;
    let team = "/api/organizations/acme-team";
    for (key, path, status) in [
        (&w.parent_owner, team, 200),
        (&w.parent_admin, team, 200),
        (&w.owner, team, 200),
        (&w.parent_member, team, 404),
        (&sam, ACME, 404),
        (&sam, team, 404),
        (&w.owner, "/api/organizations/sister", 404),
    ] {
        let r = app.call("GET", &format!("{path}/balance"), None, Some(key)).await;
        assert_eq!(r.status, status, "{path}: {}", r.text);
    }
    // A service key limited to holding reaches its children as a parent.
    let (_, scoped) = app.new_key(json!({"kind": "service", "org_ids": ["holding"]})).await;
    let r = app.call("GET", &format!("{team}/members"), None, Some(&scoped)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.call("PATCH", team, Some(&json!({"name": "Renamed"})), Some(&scoped)).await;
    assert_eq!((r.status, code(&r)), (403, "forbidden"), "a parent does not change a child's settings: {}", r.text);

    // The tree's own refusals: nothing changes.
    let before = snapshot(app).await;
    let tree_before: Vec<Value> = {
        let mut v = Vec::new();
        for o in ["holding", "acme", "acme-team", "sister"] {
            v.push(app.ok("GET", &format!("/api/organizations/{o}"), Value::Null).await);
        }
        v
    };
    for (org, body, status, want) in [
        ("acme", json!({"parent_id": "acme"}), 409, "org_tree_invalid"),
        ("holding", json!({"parent_id": "acme-team"}), 409, "org_tree_invalid"),
        ("holding", json!({"parent_id": "acme"}), 409, "org_tree_invalid"),
        // A fourth level, under the grandchild.
        ("other", json!({"parent_id": "acme-team"}), 409, "org_tree_invalid"),
        // A subtree of two levels under a child would make four.
        ("acme", json!({"parent_id": "sister"}), 409, "org_tree_invalid"),
        ("acme", json!({"parent_id": "ghost"}), 404, "not_found"),
        ("acme", json!({"parent_id": "holding", "name": "x"}), 422, "validation_error"),
        ("acme", json!({"parent_id": 7}), 422, "validation_error"),
    ] {
        let r = app.call("PATCH", &format!("/api/organizations/{org}"), Some(&body), Some(KEY)).await;
        assert_eq!((r.status, code(&r)), (status, want), "{org} {body}: {}", r.text);
    }
    let r = app.call("PATCH", "/api/organizations/other", Some(&json!({"parent_id": "holding"})), Some(&scoped)).await;
    assert_eq!(r.status, 404, "a key must reach both orgs: {}", r.text);
    assert_eq!(snapshot(app).await, before);
    for (i, o) in ["holding", "acme", "acme-team", "sister"].iter().enumerate() {
        assert_eq!(app.ok("GET", &format!("/api/organizations/{o}"), Value::Null).await, tree_before[i]);
    }
    assert_eq!(tree_before[1]["parent_id"], "holding");
    assert_eq!(tree_before[2]["parent_id"], "acme");

    // Cutting acme loose ends holding's reach at once.
    let info = app.ok("PATCH", ACME, json!({"parent_id": null})).await;
    assert!(info.get("parent_id").is_none(), "{info}");
    for key in [&w.parent_owner, &scoped] {
        let r = app.call("GET", &format!("{ACME}/balance"), None, Some(key)).await;
        assert_eq!(r.status, 404, "{}", r.text);
        let r = app.call("GET", &format!("{team}/balance"), None, Some(key)).await;
        assert_eq!(r.status, 404, "{}", r.text);
    }
    w.app.stop().await;
}
