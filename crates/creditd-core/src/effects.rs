//! What applying an operation produces, and the one way to produce it.
//!
//! It exists so that the machinery every rule file shares is a leaf they
//! import downward rather than a private corner of one of them: the
//! transaction an operation builds (`Tx`), the one function that writes an
//! event (`OrgState::emit`: sequence number, balances after, chain hash),
//! checked arithmetic that refuses with [`LedgerError::Overflow`], and the
//! steps several rules take (lapsing expired blocks, rolling the period
//! over, refusing credits that would overflow). The results handed back to
//! the engines ([`Applied`], [`Outcome`], [`Conversation`], [`Notification`])
//! are defined here too.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::chain::{self, ChainHash};
use crate::error::{LedgerError, invalid};
use crate::event::{Event, EventCtx, EventKind, Pool, Status};
use crate::money::Micros;
use crate::state::{Balance, Block, OrgState, Record, ReversalPolicy, period_bounds};

/// `a + b`, or [`LedgerError::Overflow`] past what an `i64` of micro-credits holds.
pub(crate) fn add(a: Micros, b: Micros) -> Result<Micros, LedgerError> {
    a.checked_add(b).ok_or(LedgerError::Overflow)
}

/// `a - b`, or [`LedgerError::Overflow`] past what an `i64` of micro-credits holds.
pub(crate) fn sub(a: Micros, b: Micros) -> Result<Micros, LedgerError> {
    a.checked_sub(b).ok_or(LedgerError::Overflow)
}

/// `-a`, or [`LedgerError::Overflow`] for the one amount that has no negation.
pub(crate) fn neg(a: Micros) -> Result<Micros, LedgerError> {
    a.checked_neg().ok_or(LedgerError::Overflow)
}

/// Checks the text fields and metadata an operation carries onto its events.
pub(crate) fn check_ctx(ctx: &EventCtx) -> Result<(), LedgerError> {
    let fields = [
        ("source", &ctx.source),
        ("service", &ctx.service),
        ("activity", &ctx.activity),
        ("project_id", &ctx.project_id),
        ("project_name", &ctx.project_name),
        ("user_name", &ctx.user_name),
        ("user_email", &ctx.user_email),
        ("description", &ctx.description),
    ];
    for (name, value) in fields {
        if let Some(v) = value {
            crate::input::check_text(name, v)?;
        }
    }
    if let Some(email) = &ctx.user_email
        && !email.contains('@')
    {
        return Err(invalid(format!("user_email {email:?} is not an email address")));
    }
    if let Some(m) = &ctx.metadata {
        crate::input::check_metadata(m)?;
    }
    Ok(())
}

/// Fields of a follow-up (debit, release, refund, settle, reversal) default
/// to the original's.
pub(crate) fn merge_ctx(original: &EventCtx, now: &EventCtx) -> EventCtx {
    let pick = |a: &Option<String>, b: &Option<String>| b.clone().or_else(|| a.clone());
    EventCtx {
        source: pick(&original.source, &now.source),
        service: pick(&original.service, &now.service),
        activity: pick(&original.activity, &now.activity),
        project_id: pick(&original.project_id, &now.project_id),
        project_name: pick(&original.project_name, &now.project_name),
        user_name: pick(&original.user_name, &now.user_name),
        user_email: pick(&original.user_email, &now.user_email),
        description: pick(&original.description, &now.description),
        metadata: now.metadata.clone().or_else(|| original.metadata.clone()),
    }
}

/// One operation in progress: its time, the events and records it has
/// written so far and what else it produced. Built by `apply`, passed to
/// every rule, turned into an [`Applied`] when the operation succeeds and
/// dropped (with the state restored) when it is refused.
pub(crate) struct Tx {
    /// The time of the next event (a catch-up moves it to each renewal).
    pub(crate) now: Timestamp,
    /// The events written so far, in `seq` order.
    pub(crate) events: Vec<Event>,
    /// The idempotency key, until the operation's first own event takes it.
    pub(crate) key: Option<String>,
    /// Ids of the records created or changed, each once.
    pub(crate) touched: Vec<String>,
    /// The state changed without an event (plan change, conversation).
    pub(crate) dirty: bool,
    /// Conversations recorded (stored beside the events).
    pub(crate) conversations: Vec<Conversation>,
    /// Notifications recorded (the webhook outbox's source).
    pub(crate) notifications: Vec<Notification>,
    /// The chain hash of each of `events`, in the same order.
    pub(crate) hashes: Vec<ChainHash>,
    /// What a `transfer_out` took, block by block, for its `transfer_in`.
    pub(crate) moved: Vec<crate::state::Draw>,
    /// A priced operation's pricing, until its hold, usage or debit event
    /// takes it.
    pub(crate) pricing: Option<crate::prices::Pricing>,
    /// A priced operation's text was checked before it was priced
    /// (`apply.rs`, `run_steps`): the plain operation it stands for only
    /// adds its price line's service and activity, which the book's own
    /// checks already hold to stricter limits (at most 200 bytes, no NUL),
    /// so its handler does not check the same text again ([`Tx::check_ctx`]).
    pub(crate) ctx_checked: bool,
}

impl Tx {
    /// An operation at `now` carrying the caller's idempotency key.
    pub(crate) fn new(now: Timestamp, key: Option<String>) -> Tx {
        Tx {
            now,
            events: Vec::new(),
            key,
            touched: Vec::new(),
            dirty: false,
            conversations: Vec::new(),
            notifications: Vec::new(),
            hashes: Vec::new(),
            moved: Vec::new(),
            pricing: None,
            ctx_checked: false,
        }
    }

    /// [`check_ctx`], unless this operation's text was already checked
    /// (`ctx_checked`).
    pub(crate) fn check_ctx(&self, ctx: &EventCtx) -> Result<(), LedgerError> {
        if self.ctx_checked { Ok(()) } else { check_ctx(ctx) }
    }
}

/// What an applied operation produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The events written, in `seq` order (expiries it caused included).
    pub events: Vec<Event>,
    /// The hold, usage or purchase created or changed, as it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Record>,
    /// The balances after the operation.
    pub balance: Balance,
    /// The conversation a `Plans(Conversation)` operation recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<Conversation>,
}

/// What `apply` changed besides the events: records to write.
#[derive(Debug, Default)]
pub struct Applied {
    /// What to answer; `None`: the operation changed nothing (a timeout of
    /// a settled hold, an expiry tick with nothing due).
    pub outcome: Option<Outcome>,
    /// Ids of the records created or changed, to write (each once).
    pub touched_records: Vec<String>,
    /// Conversations to store (not credit events).
    pub conversations: Vec<Conversation>,
    /// Notifications to store (low balance).
    pub notifications: Vec<Notification>,
    /// The chain hash of each of `outcome.events`, in the same order.
    pub hashes: Vec<ChainHash>,
    /// A `transfer_out`'s parts, block by block (pool, expiry, amount), for
    /// the receiver's `transfer_in`; empty for every other operation.
    pub moved: Vec<crate::state::Draw>,
}

/// A conversation as stored (the `conversations` table), for analytics by
/// day, campaign and identity. Not a credit event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Conversation {
    /// Per-org sequence number, from 1.
    pub seq: u64,
    /// Who started it (trimmed).
    pub identity: String,
    /// The campaign it belongs to, if named.
    pub campaign: Option<String>,
    /// When it started (given, or the time it was recorded).
    pub started_at: Timestamp,
    /// `started_at`'s date in the org's zone (the analytics day).
    pub day: Date,
    /// This identity's conversations in that month, this one included.
    pub month_count: u32,
    /// The plan's per-identity monthly limit when it was recorded.
    pub month_limit: u32,
    /// When it was recorded.
    pub created_at: Timestamp,
}

/// What a [`Notification`] tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// Available credits went below the org's low-balance threshold.
    LowBalance,
    /// A usage alert level was crossed (`alerts`).
    UsageAlert,
    /// An auto top-up purchase was opened (`topup`).
    TopUpRequested,
    /// Auto top-up paused after consecutive failures (`topup`).
    TopUpPaused,
}

impl NotificationKind {
    /// The kind as stored (`low_balance`, `usage_alert`,
    /// `top_up_requested`, `top_up_paused`).
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::LowBalance => "low_balance",
            NotificationKind::UsageAlert => "usage_alert",
            NotificationKind::TopUpRequested => "top_up_requested",
            NotificationKind::TopUpPaused => "top_up_paused",
        }
    }
}

/// Something an org should be told about (webhooks deliver these later); the
/// `notifications` table is their outbox. Not a credit event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    /// Per-org sequence number, from 1.
    pub seq: u64,
    /// When the balance went below the threshold.
    pub created_at: Timestamp,
    /// What happened.
    pub kind: NotificationKind,
    /// The org's threshold then, in micro-credits.
    pub threshold: Micros,
    /// Available micro-credits then (below the threshold).
    pub balance: Micros,
    /// The event after which the balance was below (0 when none, e.g. the
    /// threshold was raised above the balance).
    pub event_seq: u64,
    /// A usage alert: the level crossed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<crate::money_in::AlertLevel>,
    /// A usage alert: micro-credits consumed this period then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_usage: Option<Micros>,
    /// A usage alert on percent used: the plan's credits per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation: Option<Micros>,
    /// An auto top-up: the purchase requested (`top_up_requested`) or the
    /// last one that failed (`top_up_paused`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_id: Option<String>,
    /// An auto top-up requested: its micro-credits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Micros>,
    /// Auto top-up paused: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Notification {
    /// A notification of `kind` at `at` (its `seq` and `event_seq` are set
    /// by [`OrgState::notify`]); the other fields empty.
    pub(crate) fn new(kind: NotificationKind, at: Timestamp, threshold: Micros, balance: Micros) -> Notification {
        Notification {
            seq: 0,
            created_at: at,
            kind,
            threshold,
            balance,
            event_seq: 0,
            level: None,
            period_usage: None,
            allocation: None,
            purchase_id: None,
            amount: None,
            reason: None,
        }
    }
}

impl OrgState {
    /// Records `n` as the org's next notification (its `seq`; its
    /// `event_seq` the operation's last event so far, 0 when none).
    pub(crate) fn notify(&mut self, tx: &mut Tx, mut n: Notification) {
        self.plans.notification_seq += 1;
        n.seq = self.plans.notification_seq;
        n.event_seq = tx.events.last().map_or(0, |e| e.seq);
        tx.notifications.push(n);
        tx.dirty = true;
    }

    /// Refuses credits that would take blocks plus held credits past what an
    /// amount can hold: releasing a hold later must not overflow.
    pub(crate) fn check_room(&self, amount: Micros) -> Result<(), LedgerError> {
        let blocks = self.blocks.iter().try_fold(Micros::ZERO, |acc, b| add(acc, b.remaining))?;
        add(add(blocks, self.held)?, amount).map(|_| ())
    }

    /// Starts the period containing `now` if the stored one has ended
    /// (period usage back to zero). Writes no event: an org without a plan
    /// rolls over silently; one with a plan was renewed by `catch_up` first.
    pub(crate) fn roll_period(&mut self, now: Timestamp) -> Result<(), LedgerError> {
        if self.period_end.is_some_and(|end| now < end) {
            return Ok(());
        }
        let tz = self.settings.validate()?;
        let (start, end) = period_bounds(&tz, self.settings.renewal_day, now)?;
        self.period_start = Some(start);
        self.period_end = Some(end);
        self.period_usage = Micros::ZERO;
        Ok(())
    }

    /// Emits an `expiry` event for every block past its expiry at `tx.now`
    /// and drops it.
    pub(crate) fn lapse_expired(&mut self, tx: &mut Tx) -> Result<(), LedgerError> {
        let now = tx.now;
        self.lapse_where(
            tx,
            |b| b.expires_at.is_some_and(|t| t <= now),
            |b| format!("{} credits of block {} expired (not carried over)", b.pool, b.id),
        )
    }

    /// Lapses (whole) every block matching `due`, in creation order.
    pub(crate) fn lapse_where(
        &mut self,
        tx: &mut Tx,
        due: impl Fn(&Block) -> bool,
        describe: impl Fn(&Block) -> String,
    ) -> Result<(), LedgerError> {
        while let Some(i) = self.blocks.iter().position(&due) {
            let b = self.blocks.remove(i);
            let ctx =
                EventCtx { source: Some("system".into()), description: Some(describe(&b)), ..EventCtx::default() };
            self.emit(tx, EventKind::Expiry, neg(b.remaining)?, Some(b.pool), Status::Succeeded, &ctx, None, None);
        }
        Ok(())
    }

    /// Stores `r` in the state's records and marks it to be written.
    pub(crate) fn put_record(&mut self, tx: &mut Tx, r: Record) -> Record {
        if !tx.touched.contains(&r.id) {
            tx.touched.push(r.id.clone());
        }
        self.records.insert(r.id.clone(), r.clone());
        r
    }

    /// Writes one event of the operation: the next `seq`, the time of `tx`,
    /// the balances after it (the state must already be changed), and the
    /// next link of the hash chain. The idempotency key goes on the
    /// operation's first own event (never on an expiry it caused). The only
    /// place events are made.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn emit(
        &mut self,
        tx: &mut Tx,
        kind: EventKind,
        amount: Micros,
        pool: Option<Pool>,
        status: Status,
        ctx: &EventCtx,
        code: Option<String>,
        hold_id: Option<String>,
    ) {
        self.seq += 1;
        self.last_at = Some(tx.now);
        // The key marks the operation's first own event (not an expiry it caused).
        let key = if kind == EventKind::Expiry { None } else { tx.key.take() };
        let pricing = match kind {
            EventKind::Hold | EventKind::Usage | EventKind::Debit => tx.pricing.take(),
            _ => None,
        };
        let pools = self.pools();
        let event = Event {
            id: Event::id_for(self.seq),
            org_id: self.org_id.clone(),
            seq: self.seq,
            created_at: tx.now,
            kind,
            amount,
            pool,
            status,
            source: ctx.source.clone(),
            service: ctx.service.clone(),
            activity: ctx.activity.clone(),
            project_id: ctx.project_id.clone(),
            project_name: ctx.project_name.clone(),
            user_name: ctx.user_name.clone(),
            user_email: ctx.user_email.clone(),
            description: ctx.description.clone(),
            code,
            hold_id,
            idempotency_key: key,
            balance_after: self.available(),
            prepaid_balance_after: pools.prepaid,
            held_after: self.held,
            period_usage_after: self.period_usage,
            metadata: ctx.metadata.clone(),
            pricing,
            pools_after: Some(crate::event::FreePools {
                plan: pools.plan,
                voucher: pools.voucher,
                promotional: pools.promotional,
            }),
        };
        self.last_hash = chain::hash(&self.last_hash, &event);
        tx.hashes.push(self.last_hash);
        tx.events.push(event);
    }
}

impl OrgState {
    /// Adds credits that arrive as a new block (a grant, a purchase, a
    /// subscription credit, a positive adjustment, a transfer in). They settle the
    /// reversal debt first ([`OrgState::settle_debt`]); only what is left
    /// becomes the block, and none is added when the debt takes it all.
    pub(crate) fn add_block(&mut self, block: Block) -> Result<(), LedgerError> {
        let left = self.settle_debt(block.remaining)?;
        if left.is_positive() {
            self.blocks.push(Block { remaining: left, ..block });
        }
        Ok(())
    }

    /// Of `amount` credits arriving (a new block, a transfer in, or credits
    /// given back to their block by a release or refund), the part that
    /// settles the reversal debt is taken ([`settle`], the rule's one
    /// home); returns the rest, what reaches the block.
    /// Available moves by all of `amount` either way.
    pub(crate) fn settle_debt(&mut self, amount: Micros) -> Result<Micros, LedgerError> {
        let (debt, left) = settle(self.reversal_debt, amount)?;
        self.reversal_debt = debt;
        Ok(left)
    }
}

/// How `arriving` credits settle a reversal debt of `debt` (the rule in
/// `crate::reversal`'s docs): returns the debt after them and what is left of them
/// for a block. Nothing negative settles anything.
pub fn settle(debt: Micros, arriving: Micros) -> Result<(Micros, Micros), LedgerError> {
    let pay = arriving.min(debt).max(Micros::ZERO);
    Ok((sub(debt, pay)?, sub(arriving, pay)?))
}

/// The reversal debt after the stored event `e`, from the debt before it
/// (replaying a history: an import, `verify`). A `reversal` under policy
/// `debt` adds the `debt` its metadata states; an event that adds to
/// available (credits arriving, held credits coming back) settles it by
/// [`settle`]; nothing else changes it.
///
/// The one case the events cannot tell apart: a release or refund whose
/// credits had come partly from the overdraft gives that part back to the
/// overdraft, not to the debt; the replay counts all of it against the
/// debt, so it never owes more than the live organisation did.
pub fn debt_after(debt: Micros, e: &Event) -> Micros {
    if e.kind == EventKind::Reversal {
        let meta = |k: &str| e.metadata.as_ref().and_then(|m| m.get(k)).and_then(|v| v.as_str());
        if meta("policy") != Some(ReversalPolicy::Debt.as_str()) {
            return debt;
        }
        let owed = meta("debt").and_then(|d| d.parse::<Micros>().ok()).unwrap_or(Micros::ZERO).max(Micros::ZERO);
        return debt.checked_add(owed).unwrap_or(Micros::MAX);
    }
    let (arriving, _) = e.deltas();
    if arriving.is_positive() { settle(debt, arriving).map_or(debt, |(after, _)| after) } else { debt }
}
