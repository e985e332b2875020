//! Usage per hour of one or two local days (the dashboard's Today,
//! Yesterday and any one-day range): not from the rollups, which hold
//! whole days, but from the day's own events.
//!
//! Bounded by construction: a query spans at most [`MAX_HOUR_SPAN_HOURS`]
//! hours, the span is turned into a seq range by the binary search every
//! date filter uses ([`crate::sql::seq_range`]), and the engine sums the
//! consuming events of that range per hour in one `GROUP BY` on the
//! primary key's range: O(log n + events of the span), never the history.
//!
//! An hour is counted from the span's start (`from`, a local midnight), so
//! a zone a half hour off UTC still gets its own hours, and a day the
//! clocks change has 23 or 25 of them. Consumption is the rollups' rule
//! ([`crate::rollup::UsageFacts::consumption`]): debits and usage less
//! refunds; debits and usage count as operations, refunds do not.

#[cfg(test)]
use creditd_core::EventKind;
use creditd_core::{Event, Micros};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::rollup::{CONSUMING_KINDS_SQL, UsageFacts};
use crate::sql::{Dialect, SeqRange, SqlValue};

/// Longest span one query covers, in hours: two local days, a day the
/// clocks go back included.
pub const MAX_HOUR_SPAN_HOURS: i64 = 50;

/// Microseconds in an hour.
const HOUR_US: i64 = 3_600_000_000;

/// Credits consumed per hour on `[from, to)`; only `user_email`'s own
/// (the user email the events carry) when given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HourQuery {
    /// The span's start (a local midnight); hour 0 starts here.
    pub from: Timestamp,
    /// The span's end (exclusive).
    pub to: Timestamp,
    /// Only this user's usage, when given.
    pub user_email: Option<String>,
}

impl HourQuery {
    /// Checks the span (`from` before `to`, at most
    /// [`MAX_HOUR_SPAN_HOURS`]) and the email (no NUL, which no engine
    /// stores).
    pub fn check(&self) -> Result<(), StoreError> {
        let span = self.to.duration_since(self.from);
        if span <= SignedDuration::ZERO || span > SignedDuration::from_hours(MAX_HOUR_SPAN_HOURS) {
            return Err(StoreError::Ledger(creditd_core::LedgerError::Invalid(format!(
                "usage by hour covers 1 second to {MAX_HOUR_SPAN_HOURS} hours, not {from} to {to}",
                from = self.from,
                to = self.to
            ))));
        }
        if self.user_email.as_deref().is_some_and(|e| e.contains('\0')) {
            return Err(StoreError::Ledger(creditd_core::LedgerError::Invalid(
                "a user email must not contain NUL characters".into(),
            )));
        }
        Ok(())
    }

    /// How many hours the span has (the last one may be cut short).
    pub fn hours(&self) -> i64 {
        let us = self.to.as_microsecond() - self.from.as_microsecond();
        (us + HOUR_US - 1) / HOUR_US
    }
}

/// One hour with usage: its index from the span's start, credits consumed
/// and consuming operations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourRow {
    /// Hours since `from` (0 is the first).
    pub hour: i64,
    /// Credits consumed, in micro-credits.
    pub amount: Micros,
    /// Consuming operations (debits and usage).
    pub count: i64,
}

/// `SELECT hour, amount, count` for `q` over `seqs` (the span's seq range,
/// found in the same snapshot): hours with usage only, oldest first. Sums
/// are of integers (`SUM`, cast back to BIGINT for PostgreSQL, whose
/// `SUM(bigint)` is numeric); `created_at` bounds keep events written
/// after the snapshot's search out.
pub fn hours_sql(org_id: &str, q: &HourQuery, seqs: SeqRange, d: Dialect) -> (String, Vec<SqlValue>) {
    let mut args = vec![
        SqlValue::Text(org_id.to_string()),
        SqlValue::Int(q.from.as_microsecond()),
        SqlValue::Int(q.to.as_microsecond()),
        SqlValue::Int(HOUR_US),
    ];
    let mut sql = format!(
        "SELECT (created_at - {from}) / {hour}, CAST(SUM(-amount) AS BIGINT), \
         CAST(SUM(CASE WHEN kind = 'refund' THEN 0 ELSE 1 END) AS BIGINT) \
         FROM events WHERE org_id = {org} AND kind IN {CONSUMING_KINDS_SQL} \
         AND created_at >= {from} AND created_at < {to}",
        org = d.ph(1),
        from = d.ph(2),
        to = d.ph(3),
        hour = d.ph(4),
    );
    if let Some(s) = seqs.from {
        args.push(SqlValue::Int(s as i64));
        sql.push_str(&format!(" AND seq >= {}", d.ph(args.len())));
    }
    if let Some(s) = seqs.to {
        args.push(SqlValue::Int(s as i64));
        sql.push_str(&format!(" AND seq < {}", d.ph(args.len())));
    }
    if let Some(email) = &q.user_email {
        args.push(SqlValue::Text(email.clone()));
        sql.push_str(&format!(" AND user_email = {}", d.ph(args.len())));
    }
    sql.push_str(" GROUP BY 1 ORDER BY 1");
    (sql, args)
}

/// The same answer folded over `events` in memory: the reference the
/// engines are checked against.
pub fn hours_from_events<'a>(
    events: impl IntoIterator<Item = &'a Event>,
    q: &HourQuery,
) -> Result<Vec<HourRow>, StoreError> {
    let mut by_hour = std::collections::BTreeMap::<i64, (Micros, i64)>::new();
    for e in events {
        if e.created_at < q.from || e.created_at >= q.to {
            continue;
        }
        if q.user_email.as_deref().is_some_and(|u| e.user_email.as_deref() != Some(u)) {
            continue;
        }
        let Some((amount, count)) = UsageFacts::of(e).consumption()? else { continue };
        let hour = (e.created_at.as_microsecond() - q.from.as_microsecond()) / HOUR_US;
        let slot = by_hour.entry(hour).or_insert((Micros::ZERO, 0));
        slot.0 = slot.0.checked_add(amount).ok_or_else(|| StoreError::Corrupt("hourly usage overflows".into()))?;
        slot.1 += count;
    }
    Ok(by_hour.into_iter().map(|(hour, (amount, count))| HourRow { hour, amount, count }).collect())
}

/// The date filter whose seq range bounds `q` ([`crate::sql::seq_range`]).
pub fn span_filter(q: &HourQuery) -> crate::query::EventFilter {
    crate::query::EventFilter { date_from: Some(q.from), date_to: Some(q.to), ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(from: &str, to: &str) -> HourQuery {
        HourQuery { from: from.parse().unwrap(), to: to.parse().unwrap(), user_email: None }
    }

    #[test]
    fn spans_are_bounded() {
        assert!(q("2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00").check().is_ok());
        assert_eq!(q("2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00").hours(), 23);
        assert_eq!(q("2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00").hours(), 25);
        assert!(q("2026-03-01T00:00:00Z", "2026-03-03T02:00:01Z").check().is_err());
        assert!(q("2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z").check().is_err());
        assert!(q("2026-03-02T00:00:00Z", "2026-03-01T00:00:00Z").check().is_err());
    }

    #[test]
    fn the_kinds_are_the_rollups() {
        for k in EventKind::CONSUMING {
            assert!(k.consumption_count().is_some());
            assert!(CONSUMING_KINDS_SQL.contains(&format!("'{}'", k.as_str())));
        }
    }

    #[test]
    fn sql_binds_the_seq_range_and_the_user() {
        let mut query = q("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
        query.user_email = Some("a@b.example".into());
        let (sql, args) = hours_sql("acme", &query, SeqRange { from: Some(10), to: Some(20) }, Dialect::Postgres);
        assert!(sql.contains("seq >= $5") && sql.contains("seq < $6") && sql.contains("user_email = $7"), "{sql}");
        assert_eq!(args.len(), 7);
        let (sql, args) = hours_sql("acme", &query, SeqRange::default(), Dialect::Sqlite);
        assert!(!sql.contains("seq") && sql.contains("user_email = ?5"), "{sql}");
        assert_eq!(args.len(), 5);
    }
}
