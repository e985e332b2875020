//! Event times in the organisation's zone, fast.
//!
//! Asking a `TimeZone` for the offset of every row costs a search of the
//! zone's transitions, and formatting through `Zoned` allocates; an export of
//! millions of rows spends most of its time there. An offset only changes at
//! a transition, so [`LocalClock`] remembers the span between two transitions
//! that the last row fell in and does plain integer calendar arithmetic for
//! every row inside it. Rows in either order (newest or oldest first) hit the
//! cache; only a row across a transition asks the zone again.

use std::io::Write as _;

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar.
const UNIX_EPOCH_DAYS: i64 = 719_468;
/// Excel's serial number of 1970-01-01 (serials count days from 1899-12-30).
const EXCEL_UNIX_EPOCH: f64 = 25_569.0;

pub(crate) struct LocalClock {
    tz: TimeZone,
    /// `[lo, hi)` in Unix seconds: the span where `offset_secs` holds.
    /// Starts empty so the first row fills it.
    lo: i64,
    hi: i64,
    offset_secs: i32,
    offset_text: [u8; 9],
    offset_len: usize,
}

/// Big enough for `9999-12-31T23:59:59.999999999+14:00:00`.
pub(crate) type TimeBuf = [u8; 40];

impl LocalClock {
    pub(crate) fn new(tz: TimeZone) -> Self {
        LocalClock { tz, lo: 1, hi: 0, offset_secs: 0, offset_text: [0; 9], offset_len: 0 }
    }

    pub(crate) fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    fn refill(&mut self, secs: i64) {
        // `secs` comes from a valid Timestamp, so this cannot fail; fall back
        // to a one-second span rather than panic if it somehow did.
        let Ok(ts) = Timestamp::from_second(secs) else {
            self.lo = secs;
            self.hi = secs.saturating_add(1);
            self.set_offset(0);
            return;
        };
        let offset = self.tz.to_offset(ts).seconds();
        // Transitions fall on whole seconds. `preceding` yields transitions
        // strictly before its argument, so asking from secs + 1 also finds one
        // exactly at `secs` (whose new offset already applies at `secs`).
        let lo = Timestamp::from_second(secs.saturating_add(1))
            .ok()
            .and_then(|t| self.tz.preceding(t).next())
            .map_or(i64::MIN, |t| t.timestamp().as_second());
        let hi = self.tz.following(ts).next().map_or(i64::MAX, |t| t.timestamp().as_second());
        if lo <= secs && secs < hi {
            self.lo = lo;
            self.hi = hi;
        } else {
            self.lo = secs;
            self.hi = secs.saturating_add(1);
        }
        self.set_offset(offset);
    }

    fn set_offset(&mut self, offset: i32) {
        self.offset_secs = offset;
        let sign = if offset < 0 { b'-' } else { b'+' };
        let abs = offset.unsigned_abs();
        let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
        let mut text = [0u8; 9];
        let mut w = &mut text[..];
        // RFC 3339 offsets have minutes only; a zone's local mean time before
        // 1900 can have seconds, written ISO 8601 style so nothing is lost.
        let _ = if s == 0 {
            write!(w, "{}{h:02}:{m:02}", sign as char)
        } else {
            write!(w, "{}{h:02}:{m:02}:{s:02}", sign as char)
        };
        self.offset_len = 9 - w.len();
        self.offset_text = text;
    }

    /// Local wall-clock seconds since 1970-01-01T00:00 and the nanoseconds.
    #[inline]
    fn local(&mut self, ts: Timestamp) -> (i64, u32) {
        let mut secs = ts.as_second();
        let mut nanos = ts.subsec_nanosecond();
        // Before 1970 jiff gives a negative fraction; make it a floor.
        if nanos < 0 {
            secs -= 1;
            nanos += 1_000_000_000;
        }
        if secs < self.lo || secs >= self.hi {
            self.refill(secs);
        }
        (secs + i64::from(self.offset_secs), nanos as u32)
    }

    /// RFC 3339 in the zone, with the offset: `2026-03-01T09:30:00+01:00`,
    /// with as many fractional digits as the time has (none for whole seconds).
    pub(crate) fn rfc3339<'b>(&mut self, ts: Timestamp, buf: &'b mut TimeBuf) -> &'b [u8] {
        let (local, nanos) = self.local(ts);
        let days = local.div_euclid(86_400);
        let sod = local.rem_euclid(86_400) as u32;
        let (y, mo, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) {
            // Years outside 4 digits need ISO 8601's expanded form; rare enough
            // to leave to jiff.
            let offset = jiff::tz::Offset::from_seconds(self.offset_secs).unwrap_or(jiff::tz::Offset::UTC);
            let mut w = &mut buf[..];
            let _ = write!(w, "{}", ts.display_with_offset(offset));
            let len = 40 - w.len();
            return &buf[..len];
        }
        let y = y as u32;
        put2(buf, 0, y / 100);
        put2(buf, 2, y % 100);
        buf[4] = b'-';
        put2(buf, 5, mo);
        buf[7] = b'-';
        put2(buf, 8, d);
        buf[10] = b'T';
        put2(buf, 11, sod / 3600);
        buf[13] = b':';
        put2(buf, 14, sod / 60 % 60);
        buf[16] = b':';
        put2(buf, 17, sod % 60);
        let mut len = 19;
        if nanos != 0 {
            let mut frac = nanos;
            let mut width = 9;
            while frac.is_multiple_of(10) {
                frac /= 10;
                width -= 1;
            }
            buf[len] = b'.';
            for i in (0..width).rev() {
                buf[len + 1 + i] = b'0' + (frac % 10) as u8;
                frac /= 10;
            }
            len += 1 + width;
        }
        buf[len..len + self.offset_len].copy_from_slice(&self.offset_text[..self.offset_len]);
        &buf[..len + self.offset_len]
    }

    /// Excel's serial date-time of the local wall-clock time (days since
    /// 1899-12-30, the fraction being the time of day). Excel has no zones, so
    /// the cell shows the organisation's local time.
    pub(crate) fn excel_serial(&mut self, ts: Timestamp) -> f64 {
        let (local, nanos) = self.local(ts);
        let days = local.div_euclid(86_400);
        let sod = local.rem_euclid(86_400);
        // Excel resolves milliseconds at most; whole milliseconds over a
        // day's are what its own files hold.
        let ms = sod * 1000 + i64::from(nanos / 1_000_000);
        days as f64 + EXCEL_UNIX_EPOCH + ms as f64 / 86_400_000.0
    }
}

#[inline]
fn put2(buf: &mut TimeBuf, at: usize, v: u32) {
    buf[at] = b'0' + (v / 10) as u8;
    buf[at + 1] = b'0' + (v % 10) as u8;
}

/// Year, month, day of a count of days since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, exact for the whole proleptic Gregorian calendar).
#[inline]
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + UNIX_EPOCH_DAYS;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
