//! Named date ranges ("today", "last week", …) and plain dates, turned into
//! instants in an organisation's time zone.
//!
//! It exists so that the history filters, the exports and the analytics
//! dashboard agree to the microsecond on what "this week" means for an
//! organisation in Europe/Madrid on the Sunday the clocks change. Everything
//! here is pure: a zone and `now` in, half-open `[from, to)` instants out.
//!
//! Rules:
//! - a day starts at 00:00 local time; where a zone skips midnight (a
//!   transition at 00:00) it starts at the first instant that exists, so a
//!   day is 23, 24 or 25 hours long and ranges always tile without gaps;
//! - weeks start on Monday;
//! - every preset covers whole days, `to` exclusive: `today` ends at the
//!   start of tomorrow, `this_month` at the start of next month;
//! - `last_28_days` is today and the 27 days before it.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// A named range of whole days in the organisation's zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RangePreset {
    /// The current local day.
    Today,
    /// The local day before today.
    Yesterday,
    /// Monday of this week up to today.
    ThisWeek,
    /// The whole week (Monday to Sunday) before this one.
    LastWeek,
    /// The first of this month up to today.
    ThisMonth,
    /// The whole month before this one.
    LastMonth,
    /// Today and the 27 days before it.
    Last28Days,
}

impl RangePreset {
    /// Every preset, in the order a picker lists them.
    pub const ALL: &'static [RangePreset] = &[
        RangePreset::Today,
        RangePreset::Yesterday,
        RangePreset::ThisWeek,
        RangePreset::LastWeek,
        RangePreset::ThisMonth,
        RangePreset::LastMonth,
        RangePreset::Last28Days,
    ];

    /// The preset's stable name (`this_week`, ...), as in query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            RangePreset::Today => "today",
            RangePreset::Yesterday => "yesterday",
            RangePreset::ThisWeek => "this_week",
            RangePreset::LastWeek => "last_week",
            RangePreset::ThisMonth => "this_month",
            RangePreset::LastMonth => "last_month",
            RangePreset::Last28Days => "last_28_days",
        }
    }

    /// The local dates `[first, last]` the preset covers on `today`.
    pub fn dates(self, today: Date) -> (Date, Date) {
        // Date arithmetic below stays far inside jiff's range for any date a
        // clock can show; saturate rather than panic at the edges.
        let add_days = |d: Date, n: i64| d.checked_add(n.days()).unwrap_or(d);
        let monday = add_days(today, -i64::from(today.weekday().to_monday_zero_offset()));
        let first_of_month = today.first_of_month();
        match self {
            RangePreset::Today => (today, today),
            RangePreset::Yesterday => {
                let y = add_days(today, -1);
                (y, y)
            }
            RangePreset::ThisWeek => (monday, add_days(monday, 6)),
            RangePreset::LastWeek => (add_days(monday, -7), add_days(monday, -1)),
            RangePreset::ThisMonth => (first_of_month, today.last_of_month()),
            RangePreset::LastMonth => {
                let last = add_days(first_of_month, -1);
                (last.first_of_month(), last)
            }
            RangePreset::Last28Days => (add_days(today, -27), today),
        }
    }
}

impl fmt::Display for RangePreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A range name that is not one of [`RangePreset::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown range {0:?}; expected one of: today, yesterday, this_week, last_week, this_month, last_month, last_28_days"
)]
pub struct UnknownRange(pub String);

impl FromStr for RangePreset {
    type Err = UnknownRange;

    /// Accepts the snake_case names and the words the dashboards show
    /// ("This week", "Last 28 days"), in any case, with spaces or hyphens.
    fn from_str(s: &str) -> Result<Self, UnknownRange> {
        let norm: String =
            s.trim().chars().map(|c| if c == ' ' || c == '-' { '_' } else { c.to_ascii_lowercase() }).collect();
        RangePreset::ALL.iter().copied().find(|p| p.as_str() == norm).ok_or_else(|| UnknownRange(s.to_string()))
    }
}

/// The first instant of local date `d` in `tz`: 00:00, or the first instant
/// after a gap that swallowed midnight.
pub fn start_of_day(d: Date, tz: &TimeZone) -> Timestamp {
    let dt = DateTime::from_parts(d, Time::midnight());
    match tz.to_ambiguous_timestamp(dt).compatible() {
        Ok(t) => t,
        // Only possible at the very ends of jiff's range.
        Err(_) => {
            if d.year() < 0 {
                Timestamp::MIN
            } else {
                Timestamp::MAX
            }
        }
    }
}

/// The local date of `t` in `tz`.
pub fn local_date(t: Timestamp, tz: &TimeZone) -> Date {
    t.to_zoned(tz.clone()).date()
}

/// `[first 00:00, day after last 00:00)`: the instants of local dates
/// `first..=last`.
pub fn days_bounds(first: Date, last: Date, tz: &TimeZone) -> (Timestamp, Timestamp) {
    let after = last.tomorrow().unwrap_or(last);
    (start_of_day(first, tz), start_of_day(after, tz))
}

/// The half-open instants `[from, to)` of `preset` in `tz` as of `now`.
pub fn range_bounds(preset: RangePreset, tz: &TimeZone, now: Timestamp) -> (Timestamp, Timestamp) {
    let (first, last) = preset.dates(local_date(now, tz));
    days_bounds(first, last, tz)
}
