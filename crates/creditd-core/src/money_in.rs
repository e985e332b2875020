//! What an organisation has set up for money coming in: its auto top-up
//! rule and its usage alert levels, with what the ledger remembers about
//! them (the pending top-up, this period's counts, which levels fired).
//!
//! It exists as a leaf (beside `state`, which holds these as parts of
//! [`OrgState`](crate::OrgState)) so that the data and its bounds are
//! defined once and the rule files that act on them (`topup`, `alerts`)
//! import it downward. Everything here lives in the org state JSON: no
//! table of its own, no migration.
//!
//! JSON forms are flat objects read field by field (never buffered through
//! an untagged or internally tagged enum, which an exact [`Micros`]
//! refuses).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{LedgerError, invalid};
use crate::event::Pool;
use crate::money::Micros;

/// Consecutive failed top-ups after which auto top-up pauses, when the
/// rule says nothing.
pub const DEFAULT_PAUSE_AFTER_FAILURES: u32 = 3;
/// Highest `pause_after_failures` a rule may set.
pub const MAX_PAUSE_AFTER_FAILURES: u32 = 100;
/// Most usage alert levels an organisation may set.
pub const MAX_ALERT_LEVELS: usize = 20;
/// Highest `percent_used` level (10 times the period's allocation).
pub const MAX_PERCENT_USED: u32 = 1000;

// ---- Auto top-up --------------------------------------------------------

/// The most auto top-ups one period may request (those that did not fail
/// count): by number, by credits, or both.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUpCap {
    /// Most top-ups per period; at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub count: Option<u32>,
    /// Most credits bought by top-ups per period; positive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::money::Amount>)]
    pub credits: Option<Micros>,
}

/// An organisation's auto top-up rule (`PUT …/auto-top-up`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoTopUpRule {
    /// When an operation leaves available credits below this, a top-up is
    /// requested; not negative.
    #[schema(value_type = crate::money::Amount)]
    pub threshold: Micros,
    /// Credits each top-up buys (positive). Exactly one of `amount` and
    /// `target_balance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::money::Amount>)]
    pub amount: Option<Micros>,
    /// Buy what brings available credits back to this: `target_balance −
    /// available`, exact to the micro-credit; above `threshold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::money::Amount>)]
    pub target_balance: Option<Micros>,
    /// Most top-ups per period (count and/or credits); none: no cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_period: Option<TopUpCap>,
    /// The pool the credits go to: `prepaid`, the pool of every purchase
    /// (the only one accepted).
    #[serde(default = "prepaid")]
    pub pool: Pool,
    /// Consecutive failed top-ups after which auto top-up pauses (1–100,
    /// default 3).
    #[serde(default = "default_pause")]
    #[schema(minimum = 1, maximum = 100)]
    pub pause_after_failures: u32,
    /// Whether top-ups are requested (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn prepaid() -> Pool {
    Pool::Prepaid
}

fn default_pause() -> u32 {
    DEFAULT_PAUSE_AFTER_FAILURES
}

fn yes() -> bool {
    true
}

impl AutoTopUpRule {
    /// Checks the rule's bounds: a threshold not negative, exactly one of
    /// `amount` (positive) and `target_balance` (above the threshold), a
    /// cap that names a count of at least 1 and/or positive credits, the
    /// prepaid pool, 1–100 failures before pausing.
    pub fn validate(&self) -> Result<(), LedgerError> {
        if self.threshold.is_negative() {
            return Err(invalid("threshold must not be negative"));
        }
        match (self.amount, self.target_balance) {
            (Some(_), Some(_)) => return Err(invalid("give either amount or target_balance, not both")),
            (None, None) => return Err(invalid("give amount (credits per top-up) or target_balance")),
            (Some(a), None) if !a.is_positive() => return Err(invalid("amount must be positive")),
            (None, Some(t)) if t <= self.threshold => {
                return Err(invalid(format!("target_balance {t} must be above the threshold {}", self.threshold)));
            }
            _ => {}
        }
        if let Some(cap) = &self.max_per_period {
            if cap.count.is_none() && cap.credits.is_none() {
                return Err(invalid("max_per_period needs count and/or credits"));
            }
            if cap.count == Some(0) {
                return Err(invalid("max_per_period.count must be at least 1"));
            }
            if cap.credits.is_some_and(|c| !c.is_positive()) {
                return Err(invalid("max_per_period.credits must be positive"));
            }
        }
        if self.pool != Pool::Prepaid {
            return Err(invalid(format!(
                "pool {} is not possible: a top-up is a purchase, and purchased credits are prepaid",
                self.pool
            )));
        }
        if !(1..=MAX_PAUSE_AFTER_FAILURES).contains(&self.pause_after_failures) {
            return Err(invalid(format!("pause_after_failures must be between 1 and {MAX_PAUSE_AFTER_FAILURES}")));
        }
        Ok(())
    }
}

/// A top-up waiting for its settle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PendingTopUp {
    /// The purchase (`pur_<seq>`), `processing`.
    pub purchase_id: String,
    /// Its credits.
    pub amount: Micros,
    /// When it was requested.
    pub requested_at: Timestamp,
}

/// Why and since when auto top-up is paused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TopUpPause {
    /// When it paused (the last failure's settle).
    pub since: Timestamp,
    /// Why, in one sentence.
    pub reason: String,
    /// The last failed top-up (`pur_<seq>`).
    pub last_failed: String,
}

/// The auto top-up part of an organisation's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUpState {
    /// The rule; none: no auto top-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<AutoTopUpRule>,
    /// The top-up waiting for its settle, at most one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingTopUp>,
    /// The period `count` and `credits` belong to (its start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_start: Option<Timestamp>,
    /// Top-ups requested in that period that did not fail.
    #[serde(default)]
    pub count: u32,
    /// Credits of those top-ups.
    #[serde(default)]
    pub credits: Micros,
    /// The pending top-up was requested in the period `period_start`
    /// (its failure gives the count back only then).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending_counted: bool,
    /// Top-ups settled `failed` since the last one that succeeded.
    #[serde(default)]
    pub consecutive_failures: u32,
    /// Set when `consecutive_failures` reached the rule's
    /// `pause_after_failures`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<TopUpPause>,
}

impl TopUpState {
    /// Nothing set up or remembered (serialised as nothing).
    pub fn is_empty(&self) -> bool {
        *self == TopUpState::default()
    }

    /// Where auto top-up stands, in one line (the summary's).
    pub fn status(&self) -> AutoTopUpStatus {
        let status = match &self.rule {
            None => "off",
            Some(_) if self.paused.is_some() => "paused",
            Some(r) if !r.enabled => "disabled",
            Some(_) => "active",
        };
        AutoTopUpStatus { status: status.to_string(), paused: self.paused.clone(), pending: self.pending.clone() }
    }
}

/// Auto top-up in one line: the summary's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AutoTopUpStatus {
    /// `off` (no rule), `active`, `disabled` (`enabled: false`) or
    /// `paused` (see `paused`).
    pub status: String,
    /// Why and since when it is paused; null: not paused.
    pub paused: Option<TopUpPause>,
    /// The pending top-up, if any.
    pub pending: Option<PendingTopUp>,
}

// ---- Usage alerts -------------------------------------------------------

/// One usage alert level: available credits below an amount, or a percent
/// of the plan's period allocation used.
///
/// In JSON: `{"available_below": 100}` or `{"percent_used": 80}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "AlertLevelJson", try_from = "AlertLevelJson")]
pub enum AlertLevel {
    /// Available credits below this (not negative).
    AvailableBelow(Micros),
    /// Period usage at or above this percent (1–1000, whole) of the plan's
    /// `credits_per_period`.
    PercentUsed(u32),
}

impl AlertLevel {
    /// Checks the bounds (an amount not negative; a percent of 1 to
    /// [`MAX_PERCENT_USED`]).
    pub fn validate(&self) -> Result<(), LedgerError> {
        match *self {
            AlertLevel::AvailableBelow(m) if m.is_negative() => Err(invalid("available_below must not be negative")),
            AlertLevel::PercentUsed(p) if !(1..=MAX_PERCENT_USED).contains(&p) => {
                Err(invalid(format!("percent_used must be a whole number from 1 to {MAX_PERCENT_USED}")))
            }
            _ => Ok(()),
        }
    }
}

impl std::fmt::Display for AlertLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AlertLevel::AvailableBelow(m) => write!(f, "available below {m}"),
            AlertLevel::PercentUsed(p) => write!(f, "{p}% of the period's plan credits used"),
        }
    }
}

/// The one flat object an [`AlertLevel`] is read from and written as.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertLevelJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    available_below: Option<Micros>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    percent_used: Option<u32>,
}

impl From<AlertLevel> for AlertLevelJson {
    fn from(l: AlertLevel) -> Self {
        match l {
            AlertLevel::AvailableBelow(m) => AlertLevelJson { available_below: Some(m), percent_used: None },
            AlertLevel::PercentUsed(p) => AlertLevelJson { available_below: None, percent_used: Some(p) },
        }
    }
}

impl TryFrom<AlertLevelJson> for AlertLevel {
    type Error = String;

    fn try_from(j: AlertLevelJson) -> Result<Self, String> {
        match (j.available_below, j.percent_used) {
            (Some(m), None) => Ok(AlertLevel::AvailableBelow(m)),
            (None, Some(p)) => Ok(AlertLevel::PercentUsed(p)),
            _ => Err("an alert level is either {\"available_below\": credits} or {\"percent_used\": percent}".into()),
        }
    }
}

impl utoipa::PartialSchema for AlertLevel {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .property("available_below", <crate::money::Amount as utoipa::PartialSchema>::schema())
                    .required("available_below")
                    .additional_properties(Some(AdditionalProperties::FreeForm(false)))
                    .description(Some("Available credits below this amount")),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .property(
                        "percent_used",
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(1))
                            .maximum(Some(MAX_PERCENT_USED)),
                    )
                    .required("percent_used")
                    .additional_properties(Some(AdditionalProperties::FreeForm(false)))
                    .description(Some("This percent of the plan's period allocation used")),
            )
            .into()
    }
}

impl utoipa::ToSchema for AlertLevel {}

/// One level and whether it has fired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertEntry {
    /// The level.
    pub level: AlertLevel,
    /// The period (its start) in which it fired and has not recovered
    /// since; none: armed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fired_in: Option<Timestamp>,
    /// When it fired (with `fired_in`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fired_at: Option<Timestamp>,
}

/// The usage alert part of an organisation's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertState {
    /// The levels, in the order they were set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<AlertEntry>,
}

impl AlertState {
    /// No levels (serialised as nothing).
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }
}

/// Checks a list of levels: at most [`MAX_ALERT_LEVELS`], each valid, none
/// twice.
pub fn check_levels(levels: &[AlertLevel]) -> Result<(), LedgerError> {
    if levels.len() > MAX_ALERT_LEVELS {
        return Err(invalid(format!("at most {MAX_ALERT_LEVELS} alert levels")));
    }
    for (i, l) in levels.iter().enumerate() {
        l.validate().map_err(|e| invalid(format!("levels[{i}]: {e}")))?;
        if levels[..i].contains(l) {
            return Err(invalid(format!("levels[{i}]: {l} is listed twice")));
        }
    }
    Ok(())
}
