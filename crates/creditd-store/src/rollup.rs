//! Usage rollups: credits consumed per day, kept in the same transaction as
//! the events, so a month of analytics reads a few hundred rows whatever the
//! number of events, and always agrees with them.
//!
//! What counts. "Credits used" is consumption: `debit` + `usage` − `refund`
//! (`consumed = −amount` of those events: debits and usage are negative,
//! refunds positive). A `hold` only reserves credits and a `release` gives
//! them back, so neither is consumption: a hold counts once, when (and as
//! much as) it is debited. Grants, purchases, vouchers, plan credits,
//! adjustments, expiries and billing records are not usage either. This is
//! the same rule as the summary's `used_this_period` and its forecast.
//! `count` is the number of consuming operations (debits and usage); a
//! refund lowers the amount but is not an operation of its own.
//!
//! Layout. One row per (org, scope, dim, day, key), where
//! - `day` is the event's date in the organisation's time zone when it was
//!   written (`YYYY-MM-DD`, so text order is date order), or its month
//!   (`YYYY-MM`) for month rows;
//! - `dim` is one of `total` (key `''`), `action` (the activity), `user`
//!   (the user's email; `name` their latest name), `project` (the project
//!   id; `name` its latest name) and `service`; month rows have the same
//!   dimensions prefixed `m:` (`m:project`);
//! - `scope` is `org` for the whole organisation (day and month rows of
//!   every dimension), or `user:<email>` for one user's own usage (what a
//!   member sees: day rows of `total`, `action` and `service`).
//!
//! Each dimension has its own rows ("grouping sets") instead of one row per
//! (user, activity, project, service) combination: a query reads `days ×
//! distinct keys` rows of one dimension, not the product of every
//! dimension's cardinality, and a range of whole months reads one row per
//! key and month ([`usage_sql`] splits a range into leading days, whole
//! months and trailing days). A user's own rows leave out users and
//! projects, whose product (every user on every project) would be the
//! biggest by far. Every consuming event adds to thirteen rows; a batch
//! folds its events first, so each touched row is upserted once per batch
//! (`amount = amount + excluded.amount`). The fold has two levels: events
//! that share org, day, user, action, service, project and price are summed
//! first (one lookup per event), and each such group is spread over its
//! rows once per batch; groups are spread in the order of their last
//! events, so a row's `name` is its latest event's. A missing text (no activity, no
//! project) is the key `''`.
//!
//! Quantities and prices (issue 16). Every row also sums `quantity`: the
//! priced quantity (micro-units of the price's unit) of the debits and
//! usage that were priced. Plain usage adds 0 to it, so an action used
//! both plainly and priced shows the credits of both but the quantity of
//! the priced ones only; a refund names no price and adds 0 (it lowers the
//! credits, as it does `count`'s operations nothing). Only a priced debit
//! or usage adds rows of the dimension `price` (key: the price key; `name`:
//! its unit), day and month rows of the org and a day row of the user's
//! own: three more rows for a priced event, none for plain usage (row
//! count is PostgreSQL's main cost). A refund names no price, so price
//! rows are the credits priced, before refunds.
//!
//! Statement lines (issue 18). The kinds a statement shows one line each
//! for ([`creditd_core::statement::STATEMENT_SCANNED_KINDS`]: grants,
//! purchases, plan credits, vouchers, refunds, adjustments, expiries,
//! billing, transfers, reversals) add day and month rows of the dimension
//! `kind` of the org: key `in:<kind>` or `out:<kind>` by the sign of what
//! the event moved ([`creditd_core::Event::deltas`], available + held),
//! `amount` what it moved (never negative), `count` 1; an event that moves
//! nothing adds none. They are about 4% of a history, and a statement of a
//! year reads at most a few hundred of them instead of scanning its
//! events. A refund is both consumption and a statement line.

// FxHash: keys are our own ids and names, hashed on every operation.
use rustc_hash::FxHashMap as HashMap;

use creditd_core::prices::{Pricing, Quantity};
use creditd_core::statement::STATEMENT_SCANNED_KINDS;
use creditd_core::{Event, EventKind, Micros, Status};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::sql::SqlValue;

/// The scope of the organisation-wide rows.
pub const ORG_SCOPE: &str = "org";

/// The scope of one user's own rows.
pub fn user_scope(email: &str) -> String {
    format!("user:{email}")
}

/// What a rollup row is keyed by, besides the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dim {
    /// Everything consumed (key `''`).
    Total,
    /// By activity.
    Action,
    /// By user email (`name`: the user's latest name).
    User,
    /// By project id (`name`: the project's latest name).
    Project,
    /// By service.
    Service,
    /// By price key (`name`: its unit); priced debits and usage only.
    Price,
    /// Statement lines: `in:<kind>` or `out:<kind>`; the kinds a statement
    /// lists one by one only, org scope only.
    Kind,
}

impl Dim {
    /// Every dimension of consumption, in the order rows are folded.
    pub const ALL: [Dim; 5] = [Dim::Total, Dim::Action, Dim::User, Dim::Project, Dim::Service];
    /// The dimensions of a user's own rows (and [`Dim::Price`] for priced
    /// events).
    pub const OWN: [Dim; 3] = [Dim::Total, Dim::Action, Dim::Service];

    /// The `dim` column of this dimension's day rows.
    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Total => "total",
            Dim::Action => "action",
            Dim::User => "user",
            Dim::Project => "project",
            Dim::Service => "service",
            Dim::Price => "price",
            Dim::Kind => "kind",
        }
    }

    /// The `dim` column of this dimension's month rows.
    pub fn month_str(self) -> &'static str {
        match self {
            Dim::Total => "m:total",
            Dim::Action => "m:action",
            Dim::User => "m:user",
            Dim::Project => "m:project",
            Dim::Service => "m:service",
            Dim::Price => "m:price",
            Dim::Kind => "m:kind",
        }
    }
}

/// How long a rollup row's period is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    /// One local day.
    Day,
    /// A calendar month in the org's zone; the row's date is its first day.
    Month,
}

/// What the rollups read of an event: its kind and amount, when, and who
/// and what consumed. [`UsageFacts::of`] takes them from an [`Event`]; a
/// backfill reads them straight from the events table.
#[derive(Clone, Copy, Debug)]
pub struct UsageFacts<'a> {
    /// The organisation.
    pub org_id: &'a str,
    /// The event's seq (named in errors).
    pub seq: u64,
    /// When it was written: its local day is the row's day.
    pub created_at: Timestamp,
    /// The event kind (only consuming kinds and statement lines count).
    pub kind: EventKind,
    /// Its status (a purchase still processing, or failed, moves nothing).
    pub status: Status,
    /// The event's amount, in micro-credits (negative for debits and usage).
    pub amount: Micros,
    /// The service, if any.
    pub service: Option<&'a str>,
    /// The activity, if any.
    pub activity: Option<&'a str>,
    /// The project id, if any.
    pub project_id: Option<&'a str>,
    /// The project's name, if any.
    pub project_name: Option<&'a str>,
    /// The user's name, if any.
    pub user_name: Option<&'a str>,
    /// The user's email, if any.
    pub user_email: Option<&'a str>,
    /// The price key, unit and quantity of a priced operation.
    pub pricing: Option<&'a Pricing>,
}

impl<'a> UsageFacts<'a> {
    /// The facts of `e`, borrowed.
    pub fn of(e: &'a Event) -> Self {
        UsageFacts {
            org_id: &e.org_id,
            seq: e.seq,
            created_at: e.created_at,
            kind: e.kind,
            status: e.status,
            amount: e.amount,
            service: e.service.as_deref(),
            activity: e.activity.as_deref(),
            project_id: e.project_id.as_deref(),
            project_name: e.project_name.as_deref(),
            user_name: e.user_name.as_deref(),
            user_email: e.user_email.as_deref(),
            pricing: e.pricing.as_ref(),
        }
    }

    /// For a kind a statement lists one by one, whether it moved credits in
    /// and how many (never negative); `None` for other kinds and for an
    /// event that moved nothing.
    pub fn statement_line(&self) -> Result<Option<(bool, Micros)>, StoreError> {
        if !STATEMENT_SCANNED_KINDS.contains(&self.kind) {
            return Ok(None);
        }
        let (a, h) = Event::deltas_of(self.kind, self.status, self.amount);
        let overflow = || StoreError::Corrupt(format!("event {} of {}: amount out of range", self.seq, self.org_id));
        let moved = a.checked_add(h).ok_or_else(overflow)?;
        if moved.is_zero() {
            return Ok(None);
        }
        if moved.is_positive() {
            Ok(Some((true, moved)))
        } else {
            Ok(Some((false, moved.checked_neg().ok_or_else(overflow)?)))
        }
    }

    /// The credits consumed and the operations counted, or `None` if this
    /// is not consumption. Checked: `i64::MIN` micro-credits cannot be
    /// negated and is an error.
    pub fn consumption(&self) -> Result<Option<(Micros, i64)>, StoreError> {
        let Some(count) = self.kind.consumption_count() else { return Ok(None) };
        let consumed = self.amount.checked_neg().ok_or_else(|| {
            StoreError::Corrupt(format!("event {} of {}: amount out of range", self.seq, self.org_id))
        })?;
        Ok(Some((consumed, count)))
    }
}

/// Where one delta goes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RollupKey {
    /// The organisation.
    pub org_id: String,
    /// [`ORG_SCOPE`], or [`user_scope`] of a user's email for their own rows.
    pub scope: String,
    /// What the row is keyed by.
    pub dim: Dim,
    /// A day row or a month row.
    pub grain: Grain,
    /// The day, or the first day of the month.
    pub day: Date,
    /// The dimension's value (`''` for none, and for `Total`).
    pub key: String,
}

impl RollupKey {
    /// The `dim` column: `action`, or `m:action` for a month row.
    pub fn dim_column(&self) -> &'static str {
        match self.grain {
            Grain::Day => self.dim.as_str(),
            Grain::Month => self.dim.month_str(),
        }
    }

    /// The `day` column: `2026-03-05`, or `2026-03` for a month row.
    pub fn day_column(&self) -> String {
        match self.grain {
            Grain::Day => self.day.to_string(),
            Grain::Month => month_text(self.day),
        }
    }
}

/// `YYYY-MM` of `d`.
pub fn month_text(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// What a batch adds to one rollup row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupDelta {
    /// The row it adds to.
    pub at: RollupKey,
    /// The latest name seen for the key (users and projects), else `''`.
    pub name: String,
    /// Credits consumed, in micro-credits (a refund lowers it).
    pub amount: Micros,
    /// Consuming operations (debits and usage).
    pub count: i64,
    /// Priced quantity (0 for plain usage and refunds).
    pub quantity: Quantity,
}

/// The key of a statement line's rows ([`Dim::Kind`]): `in:grant`,
/// `out:expiry`.
pub fn statement_key(kind: EventKind, inward: bool) -> String {
    format!("{}:{}", if inward { "in" } else { "out" }, kind.as_str())
}

/// [`statement_key`] read back: the kind and whether it moved credits in.
pub fn parse_statement_key(key: &str) -> Option<(EventKind, bool)> {
    let (side, kind) = key.split_once(':')?;
    let inward = match side {
        "in" => true,
        "out" => false,
        _ => return None,
    };
    Some((kind.parse().ok()?, inward))
}

/// A row while folding: every text interned, so the per-event work is a
/// few lookups of borrowed strings and hashes of small copyable keys, not
/// ten allocated keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Slot {
    org: u32,
    /// The user's email for a user's own rows; [`ORG`] for the org's.
    scope: u32,
    dim: Dim,
    grain: Grain,
    day: Date,
    key: u32,
}

/// The scope id of the organisation-wide rows.
const ORG: u32 = u32::MAX;

#[derive(Clone, Debug)]
struct Folded {
    at: Slot,
    name: u32,
    amount: Micros,
    count: i64,
    quantity: Quantity,
}

/// What one consuming event is, interned: every row it adds to follows
/// from it. Events of a batch that share it are summed first (one lookup
/// each), and each distinct one is spread over its thirteen to sixteen
/// rows once per batch ([`Rollups::rows`]), not once per event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Use {
    org: u32,
    day: Date,
    email: u32,
    user_name: u32,
    activity: u32,
    service: u32,
    project: u32,
    project_name: u32,
    /// A priced debit's or usage's price key and unit.
    price: Option<(u32, u32)>,
}

/// The sums of the events of one [`Use`], exact (`i128`: a batch of
/// events each within an amount's range cannot overflow them).
#[derive(Clone, Copy, Debug)]
struct UseSum {
    amount: i128,
    count: i64,
    quantity: i128,
    /// The number of the last event added to it: uses are spread in the
    /// order of their last events, so a row's name is its latest event's.
    last: u64,
}

/// Deltas folded per row.
#[derive(Debug, Default)]
pub struct Rollups {
    texts: Vec<String>,
    ids: HashMap<String, u32>,
    /// Rows added directly (statement lines), in first-touched order.
    index: HashMap<Slot, usize>,
    rows: Vec<Folded>,
    /// Consuming events, summed per [`Use`].
    use_index: HashMap<Use, usize>,
    uses: Vec<(Use, UseSum)>,
    /// Consuming events added so far.
    events: u64,
    /// The last event's (org, instant) and its local day: a batch's
    /// events mostly share both.
    last_day: Option<(u32, Timestamp, Date)>,
    /// Set when a sum overflowed: the batch must not commit ([`Rollups::check`]).
    broken: Option<String>,
}

impl Rollups {
    /// No deltas.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no row was touched.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.uses.is_empty()
    }

    /// How many rows were touched.
    pub fn len(&self) -> usize {
        self.rows().map_or(0, |r| r.len())
    }

    /// Every row touched: the statement lines as added, then each use
    /// spread over its rows, in the order of its last event.
    fn rows(&self) -> Result<Vec<Folded>, StoreError> {
        if self.uses.is_empty() {
            return Ok(self.rows.clone());
        }
        let mut index = self.index.clone();
        let mut rows = self.rows.clone();
        let mut uses: Vec<&(Use, UseSum)> = self.uses.iter().collect();
        uses.sort_unstable_by_key(|(_, sum)| sum.last);
        let none = self.ids.get("").copied().unwrap_or(u32::MAX);
        for (u, sum) in uses {
            let overflow = || self.overflow(u.org);
            let amount = i64::try_from(sum.amount).map(Micros::from_micros).map_err(|_| overflow())?;
            let quantity = i64::try_from(sum.quantity).map(Quantity::from_micros).map_err(|_| overflow())?;
            let (org, day, month) = (u.org, u.day, u.day.first_of_month());
            let mut add = |at: Slot, name: u32| -> Result<(), StoreError> {
                fold_into(&mut index, &mut rows, at, name, none, amount, sum.count, quantity).ok_or_else(overflow)
            };
            let dims = [
                (Dim::Total, none, none),
                (Dim::Action, u.activity, none),
                (Dim::User, u.email, u.user_name),
                (Dim::Project, u.project, u.project_name),
                (Dim::Service, u.service, none),
            ];
            for (grain, day) in [(Grain::Day, day), (Grain::Month, month)] {
                for (dim, key, name) in dims {
                    add(Slot { org, scope: ORG, dim, grain, day, key }, name)?;
                }
            }
            for (dim, key, name) in dims.into_iter().filter(|r| Dim::OWN.contains(&r.0)) {
                add(Slot { org, scope: u.email, dim, grain: Grain::Day, day, key }, name)?;
            }
            if let Some((key, unit)) = u.price {
                let price = |scope, grain, day| Slot { org, scope, dim: Dim::Price, grain, day, key };
                for at in
                    [price(ORG, Grain::Day, day), price(ORG, Grain::Month, month), price(u.email, Grain::Day, day)]
                {
                    add(at, unit)?;
                }
            }
        }
        Ok(rows)
    }

    /// The folded deltas, one per row touched (none if a sum overflowed:
    /// engines take [`Rollups::checked_deltas`]).
    pub fn deltas(&self) -> Vec<RollupDelta> {
        self.rows().map(|rows| self.deltas_of(&rows)).unwrap_or_default()
    }

    fn deltas_of(&self, rows: &[Folded]) -> Vec<RollupDelta> {
        let text = |id: u32| self.texts.get(id as usize).cloned().unwrap_or_default();
        rows.iter()
            .map(|r| RollupDelta {
                at: RollupKey {
                    org_id: text(r.at.org),
                    scope: if r.at.scope == ORG { ORG_SCOPE.to_string() } else { user_scope(&text(r.at.scope)) },
                    dim: r.at.dim,
                    grain: r.at.grain,
                    day: r.at.day,
                    key: text(r.at.key),
                },
                name: text(r.name),
                amount: r.amount,
                count: r.count,
                quantity: r.quantity,
            })
            .collect()
    }

    fn intern(&mut self, s: Option<&str>) -> u32 {
        let s = s.unwrap_or_default();
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.texts.len() as u32;
        self.texts.push(s.to_string());
        self.ids.insert(s.to_string(), id);
        id
    }

    /// Adds `e` (written in an organisation whose zone is `tz`) if it is
    /// consumption. Never fails half-way through a batch: an amount that
    /// cannot be summed exactly marks the rollups broken, and the engine's
    /// [`Rollups::check`] before the commit refuses the whole batch.
    pub fn add_event(&mut self, e: &Event, tz: &TimeZone) {
        self.add_facts(&UsageFacts::of(e), tz);
    }

    /// [`Rollups::add_event`] from the facts alone.
    pub fn add_facts(&mut self, f: &UsageFacts<'_>, tz: &TimeZone) {
        if let Err(e) = self.try_add(f, tz) {
            self.broken.get_or_insert(e.to_string());
        }
    }

    /// `Err` if an amount could not be summed exactly; engines call it
    /// before writing the deltas.
    pub fn check(&self) -> Result<(), StoreError> {
        self.checked_rows().map(|_| ())
    }

    fn checked_rows(&self) -> Result<Vec<Folded>, StoreError> {
        match &self.broken {
            Some(why) => Err(StoreError::BrokenInvariant(creditd_core::BrokenInvariant(why.clone()))),
            None => self.rows().map_err(|e| StoreError::BrokenInvariant(creditd_core::BrokenInvariant(e.to_string()))),
        }
    }

    /// [`Rollups::check`], then [`Rollups::deltas`]: what an engine
    /// upserts, or why the batch must not commit.
    pub fn checked_deltas(&self) -> Result<Vec<RollupDelta>, StoreError> {
        Ok(self.deltas_of(&self.checked_rows()?))
    }

    fn try_add(&mut self, f: &UsageFacts<'_>, tz: &TimeZone) -> Result<(), StoreError> {
        let line = f.statement_line()?;
        let consumed = f.consumption()?;
        if line.is_none() && consumed.is_none() {
            return Ok(());
        }
        let org = self.intern(Some(f.org_id));
        let day = match self.last_day {
            Some((o, t, d)) if o == org && t == f.created_at => d,
            _ => {
                let d = f.created_at.to_zoned(tz.clone()).date();
                self.last_day = Some((org, f.created_at, d));
                d
            }
        };
        let none = self.intern(None);
        let month = day.first_of_month();
        if let Some((inward, moved)) = line {
            let key = self.intern(Some(&statement_key(f.kind, inward)));
            for (grain, day) in [(Grain::Day, day), (Grain::Month, month)] {
                let at = Slot { org, scope: ORG, dim: Dim::Kind, grain, day, key };
                fold_into(&mut self.index, &mut self.rows, at, none, none, moved, 1, Quantity::ZERO)
                    .ok_or_else(|| self.overflow(org))?;
            }
        }
        let Some((amount, count)) = consumed else { return Ok(()) };
        // Quantities are a debit's or usage's own; a refund names no price.
        let pricing = f.pricing.filter(|_| count > 0);
        let quantity = pricing.map_or(Quantity::ZERO, |p| p.quantity);
        let u = Use {
            org,
            day,
            email: self.intern(f.user_email),
            user_name: self.intern(f.user_name),
            activity: self.intern(f.activity),
            service: self.intern(f.service),
            project: self.intern(f.project_id),
            project_name: self.intern(f.project_name),
            price: pricing.map(|p| (self.intern(Some(&p.price_key)), self.intern(Some(&p.unit)))),
        };
        let last = self.events;
        self.events += 1;
        let (amount, quantity) = (i128::from(amount.micros()), i128::from(quantity.micros()));
        match self.use_index.get(&u) {
            Some(&i) => {
                let sum = &mut self.uses[i].1;
                // Exact: each term is an i64, and a batch has far fewer
                // than 2^64 events.
                sum.amount += amount;
                sum.quantity += quantity;
                sum.count = sum.count.saturating_add(count);
                sum.last = last;
            }
            None => {
                self.use_index.insert(u, self.uses.len());
                self.uses.push((u, UseSum { amount, count, quantity, last }));
            }
        }
        Ok(())
    }

    /// A rollup sum of `org` (interned) that overflowed.
    fn overflow(&self, org: u32) -> StoreError {
        let org = self.texts.get(org as usize).map_or("?", String::as_str);
        StoreError::Corrupt(format!("usage rollup of {org}: amount overflow"))
    }
}

/// Adds a delta to the row `at` (a new row if untouched); a `name` other
/// than `none` becomes the row's name. `None` if a sum overflows.
#[allow(clippy::too_many_arguments)]
fn fold_into(
    index: &mut HashMap<Slot, usize>,
    rows: &mut Vec<Folded>,
    at: Slot,
    name: u32,
    none: u32,
    amount: Micros,
    count: i64,
    quantity: Quantity,
) -> Option<()> {
    match index.get(&at) {
        Some(&i) => {
            let r = &mut rows[i];
            r.amount = r.amount.checked_add(amount)?;
            r.quantity = r.quantity.checked_add(quantity)?;
            r.count = r.count.saturating_add(count);
            if name != none {
                r.name = name;
            }
        }
        None => {
            index.insert(at, rows.len());
            rows.push(Folded { at, name, amount, count, quantity });
        }
    }
    Some(())
}

/// Parsed time zones by organisation, so a batch does not parse a zone per
/// event. An entry is reused while the org's zone name is unchanged.
#[derive(Debug, Default)]
pub struct ZoneCache {
    zones: HashMap<String, (String, TimeZone)>,
}

/// Orgs whose zone a cache keeps before it starts over: the bound on the
/// writer's zone cache, which lives as long as the writer (about 100 bytes
/// an org, so 10 MiB at most; starting over costs one zone parse per org).
const MAX_CACHED_ZONES: usize = 100_000;

impl ZoneCache {
    /// The zone named `name` of `org_id`. Settings are validated when
    /// stored, so an unknown name (a tz database that lost it) falls back to
    /// UTC rather than refusing the write.
    pub fn get(&mut self, org_id: &str, name: &str) -> TimeZone {
        if let Some((n, tz)) = self.zones.get(org_id)
            && n == name
        {
            return tz.clone();
        }
        let tz = TimeZone::get(name).unwrap_or(TimeZone::UTC);
        if self.zones.len() >= MAX_CACHED_ZONES {
            self.zones.clear();
        }
        self.zones.insert(org_id.to_string(), (name.to_string(), tz.clone()));
        tz
    }
}

/// The dimension usage is broken down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UsageGroup {
    /// The activity (seed 004's "action type").
    Action,
    /// By user email.
    User,
    /// By project id.
    Project,
    /// By service.
    Service,
    /// Every day of the range, oldest first.
    Day,
    /// By price key (priced debits and usage only; `name`: the unit).
    Price,
    /// By organisation: the org itself and each of its children, with
    /// their names (each org's total from its own rollups; the server
    /// adds them up, see `creditd-server`'s analytics). Not in
    /// [`UsageGroup::ALL`]: no rollup dimension of one org answers it.
    Org,
}

impl UsageGroup {
    /// Every group, in the order they are offered.
    pub const ALL: [UsageGroup; 6] = [
        UsageGroup::Action,
        UsageGroup::User,
        UsageGroup::Project,
        UsageGroup::Service,
        UsageGroup::Day,
        UsageGroup::Price,
    ];

    /// The group's stable name (`action`, `user`, ...), as in query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageGroup::Action => "action",
            UsageGroup::User => "user",
            UsageGroup::Project => "project",
            UsageGroup::Service => "service",
            UsageGroup::Day => "day",
            UsageGroup::Price => "price",
            UsageGroup::Org => "org",
        }
    }

    /// Parses a group name, case-insensitively, accepting the seeds' aliases
    /// (`activity` and `action_type` for `action`, `case` for `project`).
    pub fn parse(v: &str) -> Option<UsageGroup> {
        let v = v.trim().to_ascii_lowercase();
        let v = match v.as_str() {
            "activity" | "action_type" => "action",
            "case" => "project",
            other => other,
        };
        if v == "org" {
            return Some(UsageGroup::Org);
        }
        UsageGroup::ALL.into_iter().find(|g| g.as_str() == v)
    }

    fn dim(self) -> Dim {
        match self {
            UsageGroup::Action => Dim::Action,
            UsageGroup::User => Dim::User,
            UsageGroup::Project => Dim::Project,
            UsageGroup::Service => Dim::Service,
            UsageGroup::Day => Dim::Total,
            UsageGroup::Price => Dim::Price,
            UsageGroup::Org => Dim::Total,
        }
    }
}

/// Usage on the local dates `first_day..=last_day`, grouped; only
/// `user_email`'s own when given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageQuery {
    /// First local date (inclusive).
    pub first_day: Date,
    /// Last local date (inclusive).
    pub last_day: Date,
    /// What the usage is grouped by.
    pub group_by: UsageGroup,
    /// Only this user's own usage, when given.
    pub user_email: Option<String>,
}

/// One group: its key (`''`: none given), the latest name for users and
/// projects, credits consumed and operations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRow {
    /// The group's key (`''`: none given; a `YYYY-MM-DD` day when grouped by day).
    pub key: String,
    /// The latest name for users and projects, else `''`.
    pub name: String,
    /// Credits consumed, in micro-credits.
    pub amount: Micros,
    /// Consuming operations.
    pub count: i64,
    /// Priced quantity, in micro-units (0: none of it was priced).
    pub quantity: Quantity,
}

/// Most groups one answer carries (one more is fetched to tell it was cut).
pub const MAX_USAGE_GROUPS: usize = 1000;

/// `SELECT key, name, amount, count, quantity` for `q`: days oldest first
/// (only days with rows; the caller fills the gaps), other groups most
/// consumed first, then by key; at most [`MAX_USAGE_GROUPS`] + 1 rows. Sums
/// are of integers (`SUM`, never SQLite's float `total()`), cast back to
/// BIGINT for PostgreSQL, whose `SUM(bigint)` is numeric.
///
/// The organisation's usage by action, user, project, service or price
/// reads the month rows of the whole months in the range and the day rows
/// of the days before and after them, so a month costs one row per key.
/// `ph(n)` renders the n-th placeholder (`?n` or `$n`).
pub fn usage_sql(org_id: &str, q: &UsageQuery, ph: impl Fn(usize) -> String) -> (String, Vec<SqlValue>) {
    let scope = q.user_email.as_deref().map_or_else(|| ORG_SCOPE.to_string(), user_scope);
    let days_only = q.group_by == UsageGroup::Day || q.user_email.is_some();
    rollup_sql(
        org_id,
        scope,
        q.group_by.dim(),
        (q.group_by == UsageGroup::Day, days_only),
        (q.first_day, q.last_day),
        ph,
    )
}

/// The statement lines ([`Dim::Kind`]) of the local dates
/// `first_day..=last_day`: rows of `key` ([`statement_key`]), amount and
/// count, read like [`usage_sql`]'s groups (whole months from month rows).
pub fn statement_lines_sql(
    org_id: &str,
    first_day: Date,
    last_day: Date,
    ph: impl Fn(usize) -> String,
) -> (String, Vec<SqlValue>) {
    rollup_sql(org_id, ORG_SCOPE.to_string(), Dim::Kind, (false, false), (first_day, last_day), ph)
}

/// The one reader of rollup rows: `dim` of `scope` on `first..=last`,
/// grouped by key (or by day when `by_day`), from day rows only when
/// `days_only` (a user's own rows have no month rows).
fn rollup_sql(
    org_id: &str,
    scope: String,
    dim: Dim,
    (by_day, days_only): (bool, bool),
    (first_day, last_day): (Date, Date),
    ph: impl Fn(usize) -> String,
) -> (String, Vec<SqlValue>) {
    let mut args = vec![SqlValue::Text(org_id.to_string()), SqlValue::Text(scope)];
    let arg = |v: SqlValue, args: &mut Vec<SqlValue>| {
        args.push(v);
        ph(args.len())
    };
    let (org, scope) = (ph(1), ph(2));
    let sums = "CAST(SUM(amount_micros) AS BIGINT), CAST(SUM(event_count) AS BIGINT), \
                CAST(SUM(quantity_micros) AS BIGINT)";
    if days_only {
        let (key, name, order) = if by_day { ("day", "''", "1") } else { ("key", "MAX(name)", "3 DESC, 1") };
        let d = arg(SqlValue::Text(dim.as_str().to_string()), &mut args);
        let a = arg(SqlValue::Text(first_day.to_string()), &mut args);
        let b = arg(SqlValue::Text(last_day.to_string()), &mut args);
        let limit = arg(SqlValue::Int(MAX_USAGE_GROUPS as i64 + 1), &mut args);
        let sql = format!(
            "SELECT {key}, {name}, {sums} \
             FROM usage_rollups WHERE org_id = {org} AND scope = {scope} AND dim = {d} AND day >= {a} AND day <= {b} \
             GROUP BY {key} ORDER BY {order} LIMIT {limit}"
        );
        return (sql, args);
    }
    let mut parts = Vec::new();
    for (grain, first, last) in split_months(first_day, last_day) {
        let (d, a, b) = match grain {
            Grain::Day => (dim.as_str(), first.to_string(), last.to_string()),
            Grain::Month => (dim.month_str(), month_text(first), month_text(last)),
        };
        let d = arg(SqlValue::Text(d.to_string()), &mut args);
        let a = arg(SqlValue::Text(a), &mut args);
        let b = arg(SqlValue::Text(b), &mut args);
        parts.push(format!(
            "SELECT key, name, amount_micros, event_count, quantity_micros FROM usage_rollups \
             WHERE org_id = {org} AND scope = {scope} AND dim = {d} AND day >= {a} AND day <= {b}"
        ));
    }
    let limit = arg(SqlValue::Int(MAX_USAGE_GROUPS as i64 + 1), &mut args);
    let sql = format!(
        "SELECT key, MAX(name), {sums} FROM ({}) AS u GROUP BY key ORDER BY 3 DESC, 1 LIMIT {limit}",
        parts.join(" UNION ALL ")
    );
    (sql, args)
}

/// `first..=last` as at most three spans: the days before the first whole
/// month, the whole months (as their first days), the days after them.
/// A range inside one month is all days.
pub fn split_months(first: Date, last: Date) -> Vec<(Grain, Date, Date)> {
    let whole_from = if first.day() == 1 { Some(first) } else { first.last_of_month().tomorrow().ok() };
    let whole_to = if last == last.last_of_month() {
        Some(last.first_of_month())
    } else {
        last.first_of_month().yesterday().ok().map(|d| d.first_of_month())
    };
    match (whole_from, whole_to) {
        (Some(mf), Some(mt)) if mf <= mt => {
            let mut out = Vec::with_capacity(3);
            if first < mf {
                out.push((Grain::Day, first, mf.yesterday().unwrap_or(first)));
            }
            out.push((Grain::Month, mf, mt));
            let after = mt.last_of_month();
            if after < last {
                out.push((Grain::Day, after.tomorrow().unwrap_or(last), last));
            }
            out
        }
        _ => vec![(Grain::Day, first, last)],
    }
}

/// The reference the rollups must agree with: usage of `events` (all of
/// one org, zone `tz`) on `first..=last`, grouped, folded in memory.
/// Tests and `verify`-style checks compare an engine's answer with it.
pub fn usage_from_events<'a>(
    events: impl IntoIterator<Item = &'a Event>,
    tz: &TimeZone,
    q: &UsageQuery,
) -> Result<Vec<UsageRow>, StoreError> {
    let mut r = Rollups::new();
    for e in events {
        r.add_event(e, tz);
    }
    r.check()?;
    let scope = q.user_email.as_deref().map_or_else(|| ORG_SCOPE.to_string(), user_scope);
    let mut groups: std::collections::BTreeMap<String, UsageRow> = Default::default();
    for d in r.deltas().iter().filter(|d| {
        d.at.scope == scope
            && d.at.grain == Grain::Day
            && d.at.dim == q.group_by.dim()
            && d.at.day >= q.first_day
            && d.at.day <= q.last_day
    }) {
        let key = if q.group_by == UsageGroup::Day { d.at.day.to_string() } else { d.at.key.clone() };
        let row = groups.entry(key.clone()).or_insert(UsageRow { key, ..UsageRow::default() });
        let overflow = || StoreError::Corrupt("usage rollup: amount overflow".into());
        row.amount = row.amount.checked_add(d.amount).ok_or_else(overflow)?;
        row.quantity = row.quantity.checked_add(d.quantity).ok_or_else(overflow)?;
        row.count += d.count;
        if d.name > row.name {
            row.name = d.name.clone();
        }
    }
    let mut rows: Vec<UsageRow> = groups.into_values().collect();
    if q.group_by != UsageGroup::Day {
        rows.sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.key.cmp(&b.key)));
    }
    Ok(rows)
}

/// SQLite's upsert of one delta (`?1`…`?9`: org_id, scope, dim, day, key,
/// name, amount_micros, event_count, quantity_micros). A name is replaced
/// only by a non-empty one.
pub const SQLITE_UPSERT: &str = "INSERT INTO usage_rollups (org_id, scope, dim, day, key, name, amount_micros, \
     event_count, quantity_micros) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
     ON CONFLICT (org_id, scope, dim, day, key) DO UPDATE SET \
     amount_micros = usage_rollups.amount_micros + excluded.amount_micros, \
     event_count = usage_rollups.event_count + excluded.event_count, \
     quantity_micros = usage_rollups.quantity_micros + excluded.quantity_micros, \
     name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE usage_rollups.name END";

/// PostgreSQL's upsert of a whole batch, one array per column. Each row
/// appears once ([`Rollups`] folds them), as `ON CONFLICT DO UPDATE`
/// requires.
pub const PG_UPSERT: &str = "INSERT INTO usage_rollups (org_id, scope, dim, day, key, name, amount_micros, \
     event_count, quantity_micros) SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], \
     $5::text[], $6::text[], $7::int8[], $8::int8[], $9::int8[]) \
     ON CONFLICT (org_id, scope, dim, day, key) DO UPDATE SET \
     amount_micros = usage_rollups.amount_micros + excluded.amount_micros, \
     event_count = usage_rollups.event_count + excluded.event_count, \
     quantity_micros = usage_rollups.quantity_micros + excluded.quantity_micros, \
     name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE usage_rollups.name END";

/// The kinds a rollup backfill reads: [`EventKind::CONSUMING`] as an SQL
/// list (a test checks they agree).
pub const CONSUMING_KINDS_SQL: &str = "('debit', 'usage', 'refund')";

/// The kinds the rollup backfill reads: [`EventKind::CONSUMING`] and the
/// statement's lines ([`STATEMENT_SCANNED_KINDS`]), as an SQL list (a test
/// checks it).
pub const ROLLUP_KINDS_SQL: &str = "('debit', 'usage', 'refund', 'grant', 'purchase', 'subscription_credit', \
     'voucher', 'adjustment', 'expiry', 'billing', 'transfer_out', 'transfer_in', 'reversal')";

/// The columns of the events table the backfill reads, in the order
/// [`BackfillRow::facts`] expects them.
pub const BACKFILL_COLUMNS: &str = "org_id, seq, created_at, kind, amount, service, activity, project_id, \
     project_name, user_name, user_email, status, pricing";

/// One event's columns as the backfill reads them (owned), turned into
/// [`UsageFacts`] by [`BackfillRow::facts`]: the one reading of them for
/// both engines.
#[derive(Debug, Default)]
pub struct BackfillRow {
    /// `org_id`.
    pub org_id: String,
    /// `seq`.
    pub seq: i64,
    /// `created_at`, microseconds since the epoch.
    pub created_at_us: i64,
    /// `kind`.
    pub kind: String,
    /// `amount`, micro-credits.
    pub amount: i64,
    /// `service`, `activity`, `project_id`, `project_name`, `user_name`,
    /// `user_email`.
    pub texts: [Option<String>; 6],
    /// `status`.
    pub status: String,
    /// `pricing` (JSON).
    pub pricing: Option<String>,
}

impl BackfillRow {
    /// The parsed pricing, then the facts (`Err`: a kind, status, instant or
    /// pricing the store cannot read).
    pub fn parsed(&self) -> Result<(EventKind, Status, Timestamp, Option<Pricing>), String> {
        let what = || format!("event {} of {}", self.seq, self.org_id);
        let kind: EventKind = self.kind.parse().map_err(|e| format!("{}: {e}", what()))?;
        let status: Status = self.status.parse().map_err(|e| format!("{}: {e}", what()))?;
        let created_at = Timestamp::from_microsecond(self.created_at_us).map_err(|e| format!("{}: {e}", what()))?;
        let pricing = match &self.pricing {
            Some(json) => Some(serde_json::from_str::<Pricing>(json).map_err(|e| format!("{}: pricing: {e}", what()))?),
            None => None,
        };
        Ok((kind, status, created_at, pricing))
    }

    /// The facts of this row, with what [`BackfillRow::parsed`] read.
    pub fn facts<'a>(
        &'a self,
        (kind, status, created_at, pricing): &'a (EventKind, Status, Timestamp, Option<Pricing>),
    ) -> UsageFacts<'a> {
        let [service, activity, project_id, project_name, user_name, user_email] = &self.texts;
        UsageFacts {
            org_id: &self.org_id,
            seq: self.seq as u64,
            created_at: *created_at,
            kind: *kind,
            status: *status,
            amount: Micros::from_micros(self.amount),
            service: service.as_deref(),
            activity: activity.as_deref(),
            project_id: project_id.as_deref(),
            project_name: project_name.as_deref(),
            user_name: user_name.as_deref(),
            user_email: user_email.as_deref(),
            pricing: pricing.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consuming_kinds_sql_is_the_core_list() {
        let names: Vec<String> = EventKind::CONSUMING.iter().map(|k| format!("'{}'", k.as_str())).collect();
        assert_eq!(CONSUMING_KINDS_SQL, format!("({})", names.join(", ")));
        let all: Vec<String> = EventKind::CONSUMING
            .iter()
            .chain(STATEMENT_SCANNED_KINDS.iter().filter(|k| !EventKind::CONSUMING.contains(k)))
            .map(|k| format!("'{}'", k.as_str()))
            .collect();
        let listed: String = ROLLUP_KINDS_SQL.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(listed, format!("({})", all.join(", ")));
    }

    fn facts<'a>(kind: EventKind, amount: i64, pricing: Option<&'a Pricing>) -> UsageFacts<'a> {
        UsageFacts {
            org_id: "o",
            seq: 1,
            created_at: "2026-03-05T10:00:00Z".parse().unwrap(),
            kind,
            status: Status::Succeeded,
            amount: Micros::from_micros(amount),
            service: Some("images"),
            activity: Some("generate"),
            project_id: Some("p1"),
            project_name: Some("Case 1"),
            user_name: Some("Ana"),
            user_email: Some("ana@example.com"),
            pricing,
        }
    }

    /// Two images at 2.5 credits each from the book `standard`.
    fn image_pricing() -> Pricing {
        Pricing {
            price_key: "image_generation".into(),
            dimensions: Default::default(),
            quantity: Quantity::from_micros(2_000_000),
            unit: "image".into(),
            unit_price: Some(Micros::from_micros(2_500_000)),
            tiers: None,
            price_book: "standard".into(),
            version: 1,
        }
    }

    /// Row count per event is PostgreSQL's main cost (issue 20): plain
    /// usage adds its 13 rows and no more; a priced one 3 more (price: day
    /// and month of the org, day of the user); a statement line 2 (day and
    /// month of the org); a hold, a release and a processing purchase none.
    #[test]
    fn rows_per_event() {
        let pricing = image_pricing();
        let count = |f: UsageFacts<'_>| {
            let mut r = Rollups::new();
            r.add_facts(&f, &TimeZone::UTC);
            r.checked_deltas().unwrap()
        };
        assert_eq!(count(facts(EventKind::Usage, -5, None)).len(), 13);
        let priced = count(facts(EventKind::Usage, -5, Some(&pricing)));
        assert_eq!(priced.len(), 16);
        let price_rows: Vec<&RollupDelta> = priced.iter().filter(|d| d.at.dim == Dim::Price).collect();
        assert_eq!(price_rows.len(), 3);
        for d in price_rows {
            assert_eq!(
                (d.at.key.as_str(), d.name.as_str(), d.quantity),
                ("image_generation", "image", pricing.quantity)
            );
        }
        assert!(priced.iter().all(|d| d.quantity == pricing.quantity && d.amount == Micros::from_micros(5)));
        // Plain usage: quantity 0 everywhere.
        assert!(count(facts(EventKind::Usage, -5, None)).iter().all(|d| d.quantity == Quantity::ZERO));
        // A refund (which names no price) lowers the amount, adds no quantity
        // and no operation, and is a statement line besides.
        let refund = count(facts(EventKind::Refund, 2, Some(&pricing)));
        assert_eq!(refund.len(), 13 + 2);
        assert!(refund.iter().all(|d| d.quantity == Quantity::ZERO && d.at.dim != Dim::Price));
        let lines: Vec<(&str, Grain, Micros, i64)> = refund
            .iter()
            .filter(|d| d.at.dim == Dim::Kind)
            .map(|d| (d.at.key.as_str(), d.at.grain, d.amount, d.count))
            .collect();
        let two = Micros::from_micros(2);
        assert_eq!(lines, vec![("in:refund", Grain::Day, two, 1), ("in:refund", Grain::Month, two, 1)]);
        let expiry = count(facts(EventKind::Expiry, -7, None));
        assert_eq!(
            expiry.iter().map(|d| (d.at.key.as_str(), d.amount)).collect::<Vec<_>>(),
            vec![("out:expiry", Micros::from_micros(7)), ("out:expiry", Micros::from_micros(7))]
        );
        assert!(count(facts(EventKind::Hold, -5, Some(&pricing))).is_empty());
        assert!(count(facts(EventKind::Release, 5, None)).is_empty());
        let processing = UsageFacts { status: Status::Processing, ..facts(EventKind::Purchase, 9, None) };
        assert!(count(processing).is_empty(), "a purchase still processing moves nothing");
    }

    #[test]
    fn statement_keys_read_back() {
        for kind in STATEMENT_SCANNED_KINDS {
            for inward in [true, false] {
                assert_eq!(parse_statement_key(&statement_key(kind, inward)), Some((kind, inward)));
            }
        }
        assert_eq!(parse_statement_key("sideways:grant"), None);
        assert_eq!(parse_statement_key("in:nothing"), None);
    }

    /// Folding a batch at once gives every row what folding its events one
    /// by one gives (sums, counts, quantities), and each row's name is its
    /// latest event's, whichever group that event summed into.
    #[test]
    fn a_batch_folds_to_the_sum_of_its_events_with_the_latest_names() {
        let pricing = image_pricing();
        let base = facts(EventKind::Usage, -5, None);
        let events = [
            base,
            UsageFacts { user_name: Some("Ana B"), project_id: Some("p2"), amount: Micros::from_micros(-7), ..base },
            UsageFacts { pricing: Some(&pricing), user_name: Some("Ana B"), ..base },
            facts(EventKind::Refund, 2, None),
            UsageFacts { project_name: Some("Case One"), created_at: "2026-03-06T10:00:00Z".parse().unwrap(), ..base },
            UsageFacts { user_name: None, ..base },
            UsageFacts { user_name: Some("Ana C"), user_email: Some("bo@example.com"), ..base },
        ];
        let mut batch = Rollups::new();
        let mut one_by_one: std::collections::BTreeMap<RollupKey, (Micros, i64, Quantity, String)> = Default::default();
        for f in &events {
            batch.add_facts(f, &TimeZone::UTC);
            let mut alone = Rollups::new();
            alone.add_facts(f, &TimeZone::UTC);
            for d in alone.checked_deltas().unwrap() {
                let row = one_by_one.entry(d.at).or_insert((Micros::ZERO, 0, Quantity::ZERO, String::new()));
                row.0 = row.0.checked_add(d.amount).unwrap();
                row.1 += d.count;
                row.2 = row.2.checked_add(d.quantity).unwrap();
                if !d.name.is_empty() {
                    row.3 = d.name;
                }
            }
        }
        let folded: std::collections::BTreeMap<RollupKey, (Micros, i64, Quantity, String)> = batch
            .checked_deltas()
            .unwrap()
            .into_iter()
            .map(|d| (d.at, (d.amount, d.count, d.quantity, d.name)))
            .collect();
        assert_eq!(folded, one_by_one);
        assert_eq!(batch.len(), folded.len());
        let name_of = |email: &str, grain: Grain| {
            let at = folded.iter().find(|(k, _)| k.dim == Dim::User && k.grain == grain && k.key == email);
            at.map(|(_, v)| v.3.clone()).unwrap()
        };
        // On the 5th Ana was "Ana", then "Ana B" twice, then "Ana" again in
        // a group first seen before the "Ana B" ones (and once nameless).
        assert_eq!(name_of("ana@example.com", Grain::Day), "Ana");
        assert_eq!(name_of("ana@example.com", Grain::Month), "Ana");
        assert_eq!(name_of("bo@example.com", Grain::Month), "Ana C");
        let project = folded.iter().find(|(k, _)| k.dim == Dim::Project && k.grain == Grain::Month && k.key == "p1");
        assert_eq!(project.map(|(_, v)| v.3.as_str()), Some("Case 1"), "the last event of p1 names it Case 1");
        let total = folded.iter().find(|(k, _)| k.dim == Dim::Total && k.grain == Grain::Month).unwrap().1;
        assert_eq!((total.0, total.1), (Micros::from_micros(5 + 7 + 5 - 2 + 5 + 5 + 5), 6));
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_split_into_days_and_whole_months() {
        use Grain::{Day, Month};
        for (first, last, want) in [
            ("2026-03-01", "2026-03-31", vec![(Month, "2026-03-01", "2026-03-01")]),
            ("2026-03-05", "2026-03-20", vec![(Day, "2026-03-05", "2026-03-20")]),
            ("2026-03-01", "2026-03-30", vec![(Day, "2026-03-01", "2026-03-30")]),
            ("2026-02-10", "2026-03-31", vec![(Day, "2026-02-10", "2026-02-28"), (Month, "2026-03-01", "2026-03-01")]),
            (
                "2025-12-30",
                "2026-03-02",
                vec![
                    (Day, "2025-12-30", "2025-12-31"),
                    (Month, "2026-01-01", "2026-02-01"),
                    (Day, "2026-03-01", "2026-03-02"),
                ],
            ),
            ("2026-02-20", "2026-03-10", vec![(Day, "2026-02-20", "2026-03-10")]),
        ] {
            let want: Vec<(Grain, Date, Date)> = want.into_iter().map(|(g, a, b)| (g, d(a), d(b))).collect();
            assert_eq!(split_months(d(first), d(last)), want, "{first}..{last}");
        }
    }
}
