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
//! Layout. One row per (org, scope, dimension, day, key), where
//! - `day` is the event's date in the organisation's time zone when it was
//!   written (`YYYY-MM-DD`, so text order is date order);
//! - `dim` is one of `total` (key `''`), `action` (the activity), `user`
//!   (the user's email; `name` their latest name), `project` (the project
//!   id; `name` its latest name) and `service`;
//! - `scope` is `org` for the whole organisation, or `user:<email>` for one
//!   user's own usage (what a member sees), with the same dimensions.
//!
//! Each dimension has its own rows ("grouping sets") instead of one row per
//! (user, activity, project, service) combination: a query then reads
//! `days × distinct keys` rows of one dimension, not the product of every
//! dimension's cardinality. Every consuming event adds to ten rows; a batch
//! folds its events first, so each touched row is upserted once per batch
//! (`amount = amount + excluded.amount`). A missing text (no activity, no
//! project) is the key `''`.

use std::collections::HashMap;

use creditd_core::{Event, EventKind, Micros};
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
    Total,
    Action,
    User,
    Project,
    Service,
}

impl Dim {
    pub const ALL: [Dim; 5] = [Dim::Total, Dim::Action, Dim::User, Dim::Project, Dim::Service];

    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Total => "total",
            Dim::Action => "action",
            Dim::User => "user",
            Dim::Project => "project",
            Dim::Service => "service",
        }
    }
}

/// What the rollups read of an event: its kind and amount, when, and who
/// and what consumed. [`UsageFacts::of`] takes them from an [`Event`]; a
/// backfill reads them straight from the events table.
#[derive(Clone, Copy, Debug)]
pub struct UsageFacts<'a> {
    pub org_id: &'a str,
    pub seq: u64,
    pub created_at: Timestamp,
    pub kind: EventKind,
    pub amount: Micros,
    pub service: Option<&'a str>,
    pub activity: Option<&'a str>,
    pub project_id: Option<&'a str>,
    pub project_name: Option<&'a str>,
    pub user_name: Option<&'a str>,
    pub user_email: Option<&'a str>,
}

impl<'a> UsageFacts<'a> {
    pub fn of(e: &'a Event) -> Self {
        UsageFacts {
            org_id: &e.org_id,
            seq: e.seq,
            created_at: e.created_at,
            kind: e.kind,
            amount: e.amount,
            service: e.service.as_deref(),
            activity: e.activity.as_deref(),
            project_id: e.project_id.as_deref(),
            project_name: e.project_name.as_deref(),
            user_name: e.user_name.as_deref(),
            user_email: e.user_email.as_deref(),
        }
    }

    /// The credits consumed and the operations counted, or `None` if this
    /// is not consumption. Checked: `i64::MIN` micro-credits cannot be
    /// negated and is an error.
    pub fn consumption(&self) -> Result<Option<(Micros, i64)>, StoreError> {
        let count = match self.kind {
            EventKind::Debit | EventKind::Usage => 1,
            EventKind::Refund => 0,
            _ => return Ok(None),
        };
        let consumed = self.amount.checked_neg().ok_or_else(|| {
            StoreError::Backend(format!("event {} of {}: amount out of range", self.seq, self.org_id))
        })?;
        Ok(Some((consumed, count)))
    }
}

/// Where one delta goes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RollupKey {
    pub org_id: String,
    pub scope: String,
    pub dim: Dim,
    pub day: Date,
    pub key: String,
}

/// What a batch adds to one rollup row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupDelta {
    pub at: RollupKey,
    /// The latest name seen for the key (users and projects), else `''`.
    pub name: String,
    pub amount: Micros,
    pub count: i64,
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
    day: Date,
    key: u32,
}

/// The scope id of the organisation-wide rows.
const ORG: u32 = u32::MAX;

#[derive(Debug)]
struct Folded {
    at: Slot,
    name: u32,
    amount: Micros,
    count: i64,
}

/// Deltas folded per row, in first-touched order.
#[derive(Debug, Default)]
pub struct Rollups {
    texts: Vec<String>,
    ids: HashMap<String, u32>,
    index: HashMap<Slot, usize>,
    rows: Vec<Folded>,
    /// The last event's (org, instant) and its local day: a batch's
    /// events mostly share both.
    last_day: Option<(u32, Timestamp, Date)>,
    /// Set when a sum overflowed: the batch must not commit ([`Rollups::check`]).
    broken: Option<String>,
}

impl Rollups {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The folded deltas, one per row touched, in first-touched order.
    pub fn deltas(&self) -> Vec<RollupDelta> {
        let text = |id: u32| self.texts.get(id as usize).cloned().unwrap_or_default();
        self.rows
            .iter()
            .map(|r| RollupDelta {
                at: RollupKey {
                    org_id: text(r.at.org),
                    scope: if r.at.scope == ORG { ORG_SCOPE.to_string() } else { user_scope(&text(r.at.scope)) },
                    dim: r.at.dim,
                    day: r.at.day,
                    key: text(r.at.key),
                },
                name: text(r.name),
                amount: r.amount,
                count: r.count,
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
        match &self.broken {
            Some(why) => Err(StoreError::Backend(format!("refusing to commit: {why}"))),
            None => Ok(()),
        }
    }

    fn try_add(&mut self, f: &UsageFacts<'_>, tz: &TimeZone) -> Result<(), StoreError> {
        let Some((amount, count)) = f.consumption()? else { return Ok(()) };
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
        let email = self.intern(f.user_email);
        let (activity, service) = (self.intern(f.activity), self.intern(f.service));
        let (project, project_name) = (self.intern(f.project_id), self.intern(f.project_name));
        let user_name = self.intern(f.user_name);
        for scope in [ORG, email] {
            for (dim, key, name) in [
                (Dim::Total, none, none),
                (Dim::Action, activity, none),
                (Dim::User, email, user_name),
                (Dim::Project, project, project_name),
                (Dim::Service, service, none),
            ] {
                self.add(Slot { org, scope, dim, day, key }, name, none, amount, count)?;
            }
        }
        Ok(())
    }

    fn add(&mut self, at: Slot, name: u32, none: u32, amount: Micros, count: i64) -> Result<(), StoreError> {
        match self.index.get(&at) {
            Some(&i) => {
                let r = &mut self.rows[i];
                r.amount = r.amount.checked_add(amount).ok_or_else(|| {
                    let org = self.texts.get(at.org as usize).map_or("?", String::as_str);
                    StoreError::Backend(format!("usage rollup of {org}: amount overflow"))
                })?;
                r.count = r.count.saturating_add(count);
                if name != none {
                    r.name = name;
                }
            }
            None => {
                self.index.insert(at, self.rows.len());
                self.rows.push(Folded { at, name, amount, count });
            }
        }
        Ok(())
    }
}

/// Parsed time zones by organisation, so a batch does not parse a zone per
/// event. An entry is reused while the org's zone name is unchanged.
#[derive(Debug, Default)]
pub struct ZoneCache {
    zones: HashMap<String, (String, TimeZone)>,
}

/// Orgs whose zone a cache keeps before it starts over.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageGroup {
    /// The activity (seed 004's "action type").
    Action,
    User,
    Project,
    Service,
    /// Every day of the range, oldest first.
    Day,
}

impl UsageGroup {
    pub const ALL: [UsageGroup; 5] =
        [UsageGroup::Action, UsageGroup::User, UsageGroup::Project, UsageGroup::Service, UsageGroup::Day];

    pub fn as_str(self) -> &'static str {
        match self {
            UsageGroup::Action => "action",
            UsageGroup::User => "user",
            UsageGroup::Project => "project",
            UsageGroup::Service => "service",
            UsageGroup::Day => "day",
        }
    }

    pub fn parse(v: &str) -> Option<UsageGroup> {
        let v = v.trim().to_ascii_lowercase();
        let v = match v.as_str() {
            "activity" | "action_type" => "action",
            "case" => "project",
            other => other,
        };
        UsageGroup::ALL.into_iter().find(|g| g.as_str() == v)
    }

    fn dim(self) -> Dim {
        match self {
            UsageGroup::Action => Dim::Action,
            UsageGroup::User => Dim::User,
            UsageGroup::Project => Dim::Project,
            UsageGroup::Service => Dim::Service,
            UsageGroup::Day => Dim::Total,
        }
    }
}

/// Usage on the local dates `first_day..=last_day`, grouped; only
/// `user_email`'s own when given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageQuery {
    pub first_day: Date,
    pub last_day: Date,
    pub group_by: UsageGroup,
    pub user_email: Option<String>,
}

/// One group: its key (`''`: none given), the latest name for users and
/// projects, credits consumed and operations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRow {
    pub key: String,
    pub name: String,
    pub amount: Micros,
    pub count: i64,
}

/// Most groups one answer carries (one more is fetched to tell it was cut).
pub const MAX_USAGE_GROUPS: usize = 1000;

/// `SELECT key, name, amount, count` for `q`: days oldest first (only days
/// with rows; the caller fills the gaps), other groups most consumed
/// first, then by key; at most [`MAX_USAGE_GROUPS`] + 1 rows. Sums are of
/// integers (`SUM`, never SQLite's float `total()`), cast back to BIGINT
/// for PostgreSQL, whose `SUM(bigint)` is numeric.
pub fn usage_sql(org_id: &str, q: &UsageQuery, ph: impl Fn(usize) -> String) -> (String, Vec<SqlValue>) {
    let scope = q.user_email.as_deref().map_or_else(|| ORG_SCOPE.to_string(), user_scope);
    let (key, name, order) = match q.group_by {
        UsageGroup::Day => ("day", "''", "1"),
        _ => ("key", "MAX(name)", "3 DESC, 1"),
    };
    let sql = format!(
        "SELECT {key}, {name}, CAST(SUM(amount_micros) AS BIGINT), CAST(SUM(event_count) AS BIGINT) \
         FROM usage_rollups WHERE org_id = {} AND scope = {} AND dim = {} AND day >= {} AND day <= {} \
         GROUP BY {key} ORDER BY {order} LIMIT {}",
        ph(1),
        ph(2),
        ph(3),
        ph(4),
        ph(5),
        ph(6)
    );
    let args = vec![
        SqlValue::Text(org_id.to_string()),
        SqlValue::Text(scope),
        SqlValue::Text(q.group_by.dim().as_str().to_string()),
        SqlValue::Text(q.first_day.to_string()),
        SqlValue::Text(q.last_day.to_string()),
        SqlValue::Int(MAX_USAGE_GROUPS as i64 + 1),
    ];
    (sql, args)
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
        d.at.scope == scope && d.at.dim == q.group_by.dim() && d.at.day >= q.first_day && d.at.day <= q.last_day
    }) {
        let key = if q.group_by == UsageGroup::Day { d.at.day.to_string() } else { d.at.key.clone() };
        let row =
            groups.entry(key.clone()).or_insert(UsageRow { key, name: String::new(), amount: Micros::ZERO, count: 0 });
        row.amount = row.amount.checked_add(d.amount).ok_or_else(|| StoreError::Backend("overflow".into()))?;
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

/// SQLite's upsert of one delta (`?1`…`?8`: org_id, scope, dim, day, key,
/// name, amount_micros, event_count). A name is replaced only by a
/// non-empty one.
pub const SQLITE_UPSERT: &str = "INSERT INTO usage_rollups (org_id, scope, dim, day, key, name, amount_micros, \
     event_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
     ON CONFLICT (org_id, scope, dim, day, key) DO UPDATE SET \
     amount_micros = usage_rollups.amount_micros + excluded.amount_micros, \
     event_count = usage_rollups.event_count + excluded.event_count, \
     name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE usage_rollups.name END";

/// PostgreSQL's upsert of a whole batch, one array per column. Each row
/// appears once ([`Rollups`] folds them), as `ON CONFLICT DO UPDATE`
/// requires.
pub const PG_UPSERT: &str = "INSERT INTO usage_rollups (org_id, scope, dim, day, key, name, amount_micros, \
     event_count) SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
     $7::int8[], $8::int8[]) \
     ON CONFLICT (org_id, scope, dim, day, key) DO UPDATE SET \
     amount_micros = usage_rollups.amount_micros + excluded.amount_micros, \
     event_count = usage_rollups.event_count + excluded.event_count, \
     name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE usage_rollups.name END";

/// The kinds a rollup backfill reads.
pub const CONSUMING_KINDS_SQL: &str = "('debit', 'usage', 'refund')";
