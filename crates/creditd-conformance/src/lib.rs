//! creditd-conformance: one test suite for every storage engine.
//!
//! Each case in [`cases`] is a `pub async fn` that drives a fresh store
//! through the [`Store`] trait only. An engine's test file names a factory
//! and expands one `#[tokio::test]` per case with [`conformance_tests!`], so
//! SQLite and PostgreSQL run the same tests, not copies. [`pg`] starts a
//! throwaway PostgreSQL cluster for the PostgreSQL engine's tests.

pub mod cases;
pub mod eviction;
pub mod hardening;
pub mod pg;
pub mod webhooks;

use std::sync::Arc;

use creditd_core::{CreditKind, CreditOp, Event, EventCtx, HoldOp, Micros, Op, OrgSettings, Outcome, Pool, Status};
use creditd_store::cache::OrgCacheSize;
use creditd_store::query::{EventFilter, EventQuery, PageLimit, PageStart};
use creditd_store::{Clock, Command, ManualClock, Store, StoreError};
use jiff::Timestamp;

pub use async_trait::async_trait;

/// Opens an engine's store on the same database each time it is called (a
/// restart when the previous store was shut down).
#[async_trait]
pub trait Engine: Send + Sync + 'static {
    async fn open(&self, clock: Arc<dyn Clock>) -> Result<Arc<dyn Store>, String>;

    /// [`Engine::open`] with a writer that keeps at most `orgs` org states
    /// in memory (the eviction case).
    async fn open_with_org_cache(&self, clock: Arc<dyn Clock>, orgs: OrgCacheSize) -> Result<Arc<dyn Store>, String>;

    /// Runs raw SQL on the database behind creditd's back (the tamper case).
    /// `Ok(false)`: this engine's harness cannot, and the case is skipped.
    async fn raw_sql(&self, sql: &str) -> Result<bool, String> {
        let _ = sql;
        Ok(false)
    }
}

/// What a case gets: a fresh store, the clock it runs on, and a way to
/// restart it on the same data.
pub struct Ctx {
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    engine: Box<dyn Engine>,
}

/// Where every case's clock starts: a Monday, mid-month, mid-day.
pub fn start_time() -> Timestamp {
    "2025-03-10T12:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

impl Ctx {
    pub async fn start(engine: Box<dyn Engine>) -> Ctx {
        let clock = Arc::new(ManualClock::new(start_time()));
        let store = engine.open(clock.clone()).await.unwrap_or_else(|e| panic!("opening the store: {e}"));
        Ctx { store, clock, engine }
    }

    /// Another node on the same database (engines that allow several).
    pub async fn open_another(&self) -> Arc<dyn Store> {
        self.engine.open(self.clock.clone()).await.unwrap_or_else(|e| panic!("opening another store: {e}"))
    }

    /// Raw SQL on the database, as a person with file access could (see
    /// [`Engine::raw_sql`]); false when the engine's harness cannot.
    pub async fn raw_sql(&self, sql: &str) -> bool {
        self.engine.raw_sql(sql).await.unwrap_or_else(|e| panic!("raw SQL {sql:?}: {e}"))
    }

    /// Shuts the store down and opens it again on the same data.
    pub async fn reopen(&mut self) {
        self.close().await;
        self.store = self.engine.open(self.clock.clone()).await.unwrap_or_else(|e| panic!("reopening: {e}"));
    }

    /// [`Ctx::reopen`] with a writer keeping at most `orgs` org states.
    pub async fn reopen_with_org_cache(&mut self, orgs: OrgCacheSize) {
        self.close().await;
        let opened = self.engine.open_with_org_cache(self.clock.clone(), orgs).await;
        self.store = opened.unwrap_or_else(|e| panic!("reopening: {e}"));
    }

    async fn close(&mut self) {
        self.store.shutdown().await;
        // The old store must be gone (SQLite holds a lock file) before the
        // new one opens: every clone is dropped here.
        let old = std::mem::replace(&mut self.store, Arc::new(Closed));
        drop(old);
    }

    /// Verifies every org and shuts the store down.
    pub async fn finish(self) {
        let orgs = self.store.org_ids().await.expect("listing orgs");
        for org in orgs {
            let report = self.store.verify(&org).await.expect("verify");
            assert!(report.ok, "verify {org}: {:?}", report.problems);
        }
        self.store.shutdown().await;
    }
}

/// Expands one `#[tokio::test]` per conformance case. `$engine` is an
/// expression giving `Option<Box<dyn Engine>>` (`None`: skipped, and the
/// factory has said why).
#[macro_export]
macro_rules! conformance_tests {
    ($engine:expr) => {
        $crate::conformance_tests!(@cases $engine;
            org_lifecycle,
            grant_and_balance,
            hold_and_debit_once,
            partial_debit_releases_rest,
            release_returns_credits,
            usage_refused_without_credits,
            overdraft_limit,
            consumption_order,
            refund_bounds,
            usage_refunds_return_to_their_blocks,
            adjustments,
            purchase_settles_once,
            voucher_expiry_with_open_hold,
            hold_timeout_by_tick,
            concurrent_holds_never_overdraw,
            concurrent_holds_and_debits,
            project_caps_race,
            idempotent_retry_same_body,
            idempotency_conflict_different_body,
            concurrent_idempotent_retries,
            batch_commands_independent,
            bad_input_is_refused_not_failed,
            history_filters,
            offset_paging,
            cursor_paging_while_writing,
            export_equals_history,
            restart_keeps_everything,
            plan_renewal_by_tick,
            conversations_limit_and_analytics,
            low_balance_notifications,
            directory_rules,
            tampering_is_caught,
            usage_rollups_agree_with_events,
            webhook_outbox_with_events,
            webhook_delivery_claims,
            export_rows_equal_history,
            export_formatted_equals_rows,
            import_whole_or_nothing,
            worst_inputs_read_back,
            unreadable_record_is_named,
            expired_hold_refused_before_timer,
            evicted_orgs_reload_exactly,
            full_csv_round_trips_every_field,
            price_books_are_versioned,
            org_tree_parents_and_refusals,
            transfer_moves_blocks_both_or_neither,
            transferred_credits_expire_in_the_receiver,
            transfers_race_usage_on_both_sides,
            funded_child_draws_own_first_within_its_budget,
            funding_setting_refusals,
            funded_child_races_parent_at_its_budget,
            funded_child_extends_and_times_out,
            funded_child_priced_usage_and_holds,
            priced_usage_and_holds,
            priced_tiers_cross_in_a_batch_and_renew,
            priced_versions_switch_at_an_instant,
            priced_history_imports,
            hold_extends_and_debits_up_to_the_new_total,
            priced_hold_extends_at_its_version,
            check_agrees_with_the_operation,
            reversal_under_debt_policy,
            reversal_under_write_off_policy,
            reversal_races_usage,
            transfer_in_settles_reversal_debt,
            import_after_settled_debt_keeps_pools,
            auto_top_up_races_open_one_purchase,
            auto_top_up_cap_holds_under_races,
            auto_top_up_pauses_after_failures_and_resumes,
            auto_top_up_history_imports,
            usage_alert_crossed_inside_one_batch_fires_once,
            usage_alert_rearmed_by_period_renewal,
            plan_catalogue_round_trips,
            buy_more_writes_a_purchase_and_its_webhook,
            plan_change_request_is_enqueued,
            balance_as_of_every_event,
            statements_add_up,
            usage_by_hour_agrees_with_events,
            statements_from_rollups_match_the_events,
            priced_usage_rolls_up_by_price,
        );
    };
    (@cases $engine:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(engine) = $engine.await else { return };
                let mut ctx = $crate::Ctx::start(engine).await;
                $crate::cases::$case(&mut ctx).await;
                ctx.finish().await;
            }
        )+
    };
}

/// A store that is closed: stands in while a store is reopened.
struct Closed;

#[async_trait]
impl Store for Closed {
    fn engine(&self) -> &'static str {
        "closed"
    }
    async fn create_org(&self, _: &str, _: OrgSettings) -> Result<creditd_store::OrgInfo, StoreError> {
        Err(StoreError::Closed)
    }
    async fn org(&self, _: &str) -> Result<creditd_store::OrgInfo, StoreError> {
        Err(StoreError::Closed)
    }
    async fn org_ids(&self) -> Result<Vec<String>, StoreError> {
        Err(StoreError::Closed)
    }
    async fn set_parent(&self, _: &str, _: Option<&str>) -> Result<creditd_store::OrgInfo, StoreError> {
        Err(StoreError::Closed)
    }
    async fn children(&self, _: &[String]) -> Result<Vec<String>, StoreError> {
        Err(StoreError::Closed)
    }
    async fn balance(&self, _: &str) -> Result<creditd_core::Balance, StoreError> {
        Err(StoreError::Closed)
    }
    async fn execute(&self, c: Vec<Command>) -> Vec<Result<Outcome, StoreError>> {
        c.iter().map(|_| Err(StoreError::Closed)).collect()
    }
    async fn events(&self, _: &str, _: &EventQuery) -> Result<creditd_store::Page, StoreError> {
        Err(StoreError::Closed)
    }
    async fn export(&self, _: &str, _: &EventFilter) -> Result<creditd_store::EventChunks, StoreError> {
        Err(StoreError::Closed)
    }
    async fn verify(&self, _: &str) -> Result<creditd_core::verify::VerifyReport, StoreError> {
        Err(StoreError::Closed)
    }
    async fn tick(&self) -> Result<usize, StoreError> {
        Err(StoreError::Closed)
    }
    async fn org_state(&self, _: &str) -> Result<creditd_core::OrgState, StoreError> {
        Err(StoreError::Closed)
    }
    async fn conversation_usage(
        &self,
        _: &str,
        _: &creditd_store::ConversationQuery,
    ) -> Result<Vec<creditd_store::ConversationCount>, StoreError> {
        Err(StoreError::Closed)
    }
    async fn statement_lines(
        &self,
        _: &str,
        _: jiff::civil::Date,
        _: jiff::civil::Date,
    ) -> Result<Vec<creditd_store::rollup::UsageRow>, StoreError> {
        Err(StoreError::Closed)
    }
    async fn usage(
        &self,
        _: &str,
        _: &creditd_store::rollup::UsageQuery,
    ) -> Result<Vec<creditd_store::rollup::UsageRow>, StoreError> {
        Err(StoreError::Closed)
    }
    async fn usage_hours(
        &self,
        _: &str,
        _: &creditd_store::hours::HourQuery,
    ) -> Result<Vec<creditd_store::hours::HourRow>, StoreError> {
        Err(StoreError::Closed)
    }
    async fn notifications(&self, _: &str, _: u64, _: u32) -> Result<Vec<creditd_core::Notification>, StoreError> {
        Err(StoreError::Closed)
    }
    fn now(&self) -> Timestamp {
        creditd_store::SystemClock.now()
    }
    async fn export_in(
        &self,
        _: &str,
        _: &EventFilter,
        _: creditd_store::Order,
    ) -> Result<creditd_store::EventChunks, StoreError> {
        Err(StoreError::Closed)
    }
    async fn import(
        &self,
        _: &str,
        _: OrgSettings,
        _: Vec<Event>,
    ) -> Result<creditd_store::import::ImportReport, StoreError> {
        Err(StoreError::Closed)
    }
    fn directory(&self) -> &dyn creditd_store::Directory {
        self
    }
    fn webhooks(&self) -> &dyn creditd_store::webhooks::Webhooks {
        self
    }
    fn price_books(&self) -> &dyn creditd_store::prices::PriceBooks {
        self
    }
    fn plan_catalogue(&self) -> &dyn creditd_store::catalogue::PlanCatalogue {
        self
    }
    async fn shutdown(&self) {}
}

#[async_trait]
impl creditd_store::catalogue::PlanCatalogue for Closed {
    async fn put(&self, _: &creditd_store::catalogue::CataloguePlan) -> Result<bool, StoreError> {
        Err(StoreError::Closed)
    }
    async fn get(&self, _: &str) -> Result<Option<creditd_store::catalogue::CataloguePlan>, StoreError> {
        Err(StoreError::Closed)
    }
    async fn list(&self) -> Result<Vec<creditd_store::catalogue::CataloguePlan>, StoreError> {
        Err(StoreError::Closed)
    }
}

#[async_trait]
impl creditd_store::prices::PriceBooks for Closed {
    async fn put(
        &self,
        _: &str,
        _: creditd_core::prices::PriceBookDraft,
    ) -> Result<creditd_core::prices::PriceBookVersion, StoreError> {
        Err(StoreError::Closed)
    }
    async fn book(&self, _: &str) -> Result<Option<creditd_core::prices::PriceBook>, StoreError> {
        Err(StoreError::Closed)
    }
    async fn books(&self) -> Result<Vec<creditd_core::prices::PriceBook>, StoreError> {
        Err(StoreError::Closed)
    }
    fn catalogue(&self) -> Arc<creditd_store::prices::Catalogue> {
        Arc::default()
    }
}

#[async_trait]
impl creditd_store::Directory for Closed {
    async fn add_member(
        &self,
        _: creditd_store::directory::Member,
    ) -> Result<creditd_store::directory::Member, creditd_store::directory::DirectoryError> {
        Err(StoreError::Closed.into())
    }
    async fn update_member(
        &self,
        _: &str,
        _: &str,
        _: creditd_store::directory::MemberPatch,
    ) -> Result<creditd_store::directory::Member, creditd_store::directory::DirectoryError> {
        Err(StoreError::Closed.into())
    }
    async fn remove_member(
        &self,
        _: &str,
        _: &str,
        _: Timestamp,
    ) -> Result<creditd_store::directory::Member, creditd_store::directory::DirectoryError> {
        Err(StoreError::Closed.into())
    }
    async fn member(
        &self,
        _: &str,
        _: &str,
    ) -> Result<Option<creditd_store::directory::Member>, creditd_store::directory::DirectoryError> {
        Err(StoreError::Closed.into())
    }
    async fn members(
        &self,
        _: &str,
    ) -> Result<Vec<creditd_store::directory::Member>, creditd_store::directory::DirectoryError> {
        Err(StoreError::Closed.into())
    }
    async fn create_key(
        &self,
        _: creditd_store::directory::NewKey,
    ) -> Result<creditd_store::directory::ApiKey, creditd_store::directory::DirectoryError> {
        Err(StoreError::Closed.into())
    }
    async fn key_by_hash(
        &self,
        _: &str,
    ) -> Result<Option<creditd_store::directory::ApiKey>, creditd_store::directory::DirectoryError> {
        Err(StoreError::Closed.into())
    }
    async fn key(
        &self,
        _: &str,
    ) -> Result<Option<creditd_store::directory::ApiKey>, creditd_store::directory::DirectoryError> {
        Err(StoreError::Closed.into())
    }
    async fn keys(
        &self,
        _: Option<&str>,
    ) -> Result<Vec<creditd_store::directory::ApiKey>, creditd_store::directory::DirectoryError> {
        Err(StoreError::Closed.into())
    }
    async fn revoke_key(
        &self,
        _: &str,
        _: Timestamp,
    ) -> Result<creditd_store::directory::ApiKey, creditd_store::directory::DirectoryError> {
        Err(StoreError::Closed.into())
    }
    async fn touch_keys(&self, _: &[(String, Timestamp)]) -> Result<(), creditd_store::directory::DirectoryError> {
        Err(StoreError::Closed.into())
    }
    async fn create_login_link(
        &self,
        _: &str,
        _: creditd_store::directory::LoginLink,
    ) -> Result<(), creditd_store::directory::DirectoryError> {
        Err(StoreError::Closed.into())
    }
    async fn redeem_login_link(
        &self,
        _: &str,
        _: Timestamp,
    ) -> Result<Option<creditd_store::directory::LoginLink>, creditd_store::directory::DirectoryError> {
        Err(StoreError::Closed.into())
    }
    async fn create_session(
        &self,
        _: &str,
        _: creditd_store::directory::Session,
    ) -> Result<(), creditd_store::directory::DirectoryError> {
        Err(StoreError::Closed.into())
    }
    async fn session(
        &self,
        _: &str,
        _: Timestamp,
    ) -> Result<Option<creditd_store::directory::Session>, creditd_store::directory::DirectoryError> {
        Err(StoreError::Closed.into())
    }
    async fn delete_session(&self, _: &str) -> Result<(), creditd_store::directory::DirectoryError> {
        Err(StoreError::Closed.into())
    }
    async fn purge_expired(&self, _: Timestamp) -> Result<usize, creditd_store::directory::DirectoryError> {
        Err(StoreError::Closed.into())
    }
}

#[async_trait]
impl creditd_store::webhooks::Webhooks for Closed {
    async fn create_endpoint(
        &self,
        _: &creditd_store::webhooks::Endpoint,
    ) -> Result<(), creditd_store::webhooks::WebhookError> {
        Err(StoreError::Closed.into())
    }
    async fn endpoints(
        &self,
        _: &str,
    ) -> Result<Vec<creditd_store::webhooks::Endpoint>, creditd_store::webhooks::WebhookError> {
        Err(StoreError::Closed.into())
    }
    async fn endpoint(
        &self,
        _: &str,
        _: &str,
    ) -> Result<Option<creditd_store::webhooks::Endpoint>, creditd_store::webhooks::WebhookError> {
        Err(StoreError::Closed.into())
    }
    async fn delete_endpoint(&self, _: &str, _: &str) -> Result<bool, creditd_store::webhooks::WebhookError> {
        Err(StoreError::Closed.into())
    }
    async fn deliveries(
        &self,
        _: &str,
        _: &str,
        _: u32,
    ) -> Result<Vec<creditd_store::webhooks::Delivery>, creditd_store::webhooks::WebhookError> {
        Err(StoreError::Closed.into())
    }
    async fn enqueue(
        &self,
        _: &creditd_store::webhooks::OutboxMessage,
    ) -> Result<(), creditd_store::webhooks::WebhookError> {
        Err(StoreError::Closed.into())
    }
    async fn messages(
        &self,
        _: &str,
        _: u32,
    ) -> Result<Vec<creditd_store::webhooks::OutboxMessage>, creditd_store::webhooks::WebhookError> {
        Err(StoreError::Closed.into())
    }
    async fn claim_due(
        &self,
        _: Timestamp,
        _: jiff::SignedDuration,
        _: u32,
    ) -> Result<Vec<creditd_store::webhooks::DueDelivery>, creditd_store::webhooks::WebhookError> {
        Err(StoreError::Closed.into())
    }
    async fn record_attempt(
        &self,
        _: &creditd_store::webhooks::DueDelivery,
        _: &creditd_store::webhooks::Attempt,
        _: Timestamp,
    ) -> Result<creditd_store::webhooks::Recorded, creditd_store::webhooks::WebhookError> {
        Err(StoreError::Closed.into())
    }
}

// ---- helpers the cases share -------------------------------------------

/// A decimal amount (`"12.5"`) as micro-credits.
pub fn m(text: &str) -> Micros {
    text.parse().unwrap_or_else(|e| panic!("amount {text}: {e}"))
}

pub fn credit(kind: CreditKind, amount: &str) -> CreditOp {
    CreditOp {
        kind,
        amount: m(amount),
        pool: None,
        expires_at: None,
        code: None,
        status: None,
        ctx: EventCtx::default(),
    }
}

pub fn grant(amount: &str) -> Op {
    Op::Credit(credit(CreditKind::Grant, amount))
}

pub fn credit_in(pool: Pool, amount: &str, expires_at: Option<Timestamp>) -> Op {
    let kind = match pool {
        Pool::Plan => CreditKind::SubscriptionCredit,
        Pool::Prepaid => CreditKind::Purchase,
        Pool::Voucher => CreditKind::Voucher,
        Pool::Promotional => CreditKind::Grant,
    };
    Op::Credit(CreditOp {
        expires_at,
        code: (pool == Pool::Voucher).then(|| "VOUCHER-1".to_string()),
        ..credit(kind, amount)
    })
}

pub fn purchase(amount: &str, status: Status) -> Op {
    Op::Credit(CreditOp { status: Some(status), ..credit(CreditKind::Purchase, amount) })
}

pub fn hold(amount: &str) -> Op {
    Op::Hold(HoldOp { amount: m(amount), timeout_seconds: None, ctx: EventCtx::default() })
}

pub fn hold_for(amount: &str, timeout_seconds: u64) -> Op {
    Op::Hold(HoldOp { amount: m(amount), timeout_seconds: Some(timeout_seconds), ctx: EventCtx::default() })
}

pub fn debit(hold_id: &str, amount: Option<&str>) -> Op {
    Op::Debit { hold_id: hold_id.to_string(), amount: amount.map(m), ctx: EventCtx::default() }
}

pub fn release(hold_id: &str) -> Op {
    Op::Release { hold_id: hold_id.to_string(), ctx: EventCtx::default() }
}

pub fn usage(amount: &str) -> Op {
    Op::Usage { amount: m(amount), ctx: EventCtx::default() }
}

pub fn usage_by(amount: &str, service: &str, project: &str, email: &str) -> Op {
    Op::Usage {
        amount: m(amount),
        ctx: EventCtx {
            service: Some(service.to_string()),
            project_id: Some(project.to_string()),
            project_name: Some(format!("Case {project}")),
            user_email: Some(email.to_string()),
            user_name: Some(email.split('@').next().unwrap_or("user").to_string()),
            ..EventCtx::default()
        },
    }
}

pub fn refund(refers_to: &str, amount: Option<&str>) -> Op {
    Op::Refund { refers_to: refers_to.to_string(), amount: amount.map(m), ctx: EventCtx::default() }
}

pub fn adjustment(amount: &str, reason: &str) -> Op {
    Op::Adjustment {
        amount: m(amount),
        reason: reason.to_string(),
        pool: None,
        expires_at: None,
        ctx: EventCtx::default(),
    }
}

pub async fn new_org(store: &dyn Store, org_id: &str) {
    store.create_org(org_id, OrgSettings::new(format!("Org {org_id}"), "UTC")).await.expect("create org");
}

pub async fn run(store: &dyn Store, org: &str, op: Op) -> Result<Outcome, StoreError> {
    creditd_store::execute_one(store, Command::new(org, op, None)).await
}

pub async fn run_key(store: &dyn Store, org: &str, op: Op, key: &str) -> Result<Outcome, StoreError> {
    creditd_store::execute_one(store, Command::new(org, op, Some(key.to_string()))).await
}

/// Runs `op` and expects it to succeed.
pub async fn ok(store: &dyn Store, org: &str, op: Op) -> Outcome {
    let name = op.name();
    run(store, org, op).await.unwrap_or_else(|e| panic!("{name} on {org} failed: {e}"))
}

/// The id of the hold, usage or purchase an outcome created.
pub fn record_id(o: &Outcome) -> String {
    o.record.as_ref().map(|r| r.id.clone()).expect("the outcome names a record")
}

/// The error code, or "ok".
pub fn code(r: &Result<Outcome, StoreError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code().as_str(),
    }
}

/// The whole history, newest first, through cursor pages of 100.
pub async fn history(store: &dyn Store, org: &str) -> Vec<Event> {
    history_filtered(store, org, &EventFilter::default()).await
}

pub async fn history_filtered(store: &dyn Store, org: &str, filter: &EventFilter) -> Vec<Event> {
    let mut out = Vec::new();
    let mut start = PageStart::Offset(0);
    loop {
        let q = EventQuery { filter: filter.clone(), limit: PageLimit::new(100).expect("limit"), start };
        let page = store.events(org, &q).await.expect("history page");
        out.extend(page.events);
        match page.next_cursor.as_deref().and_then(creditd_store::query::decode_cursor) {
            Some(seq) => start = PageStart::Before(seq),
            None => return out,
        }
    }
}

/// Everything an export streams.
pub async fn exported(store: &dyn Store, org: &str, filter: &EventFilter) -> Vec<Event> {
    let mut rx = store.export(org, filter).await.expect("export");
    let mut out = Vec::new();
    while let Some(chunk) = rx.recv().await {
        out.extend(chunk.expect("export chunk"));
    }
    out
}
