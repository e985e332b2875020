//! Time, injectable so tests drive it instead of sleeping.
//!
//! This is where time enters the ledger, so it is also where it is cut to
//! what the ledger keeps: whole microseconds. Events are stored (both
//! engines), hashed (`chain::hash`) and exported in microseconds; a write
//! answered with the clock's nanoseconds (`…26.83460514Z`) would then read
//! back from the history as another time (`…26.834605Z`). Truncating here,
//! once, makes the write's answer, the history, the exports and the chain
//! agree.

use std::sync::Mutex;

use jiff::Timestamp;

/// Where the store's time comes from: every operation is applied at
/// [`Clock::now`], so tests can drive time with a [`ManualClock`].
pub trait Clock: Send + Sync + 'static {
    /// The clock's own reading, at whatever precision it has.
    fn read(&self) -> Timestamp;

    /// Now, in whole microseconds: the time every operation is applied at.
    fn now(&self) -> Timestamp {
        to_micros(self.read())
    }
}

/// `t` without its sub-microsecond part (towards the past, so a time never
/// moves past a later reading).
pub fn to_micros(t: Timestamp) -> Timestamp {
    let nanos = t.as_nanosecond();
    Timestamp::from_nanosecond(nanos - nanos.rem_euclid(1000)).unwrap_or(t)
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn read(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    /// A clock stopped at `at`.
    pub fn new(at: Timestamp) -> Self {
        ManualClock(Mutex::new(at))
    }

    /// Moves the clock to `at` (backwards too).
    pub fn set(&self, at: Timestamp) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    /// Moves the clock by `span`; a move past the end of time leaves it where it is.
    pub fn advance(&self, span: jiff::SignedDuration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t = t.checked_add(span).unwrap_or(*t);
    }
}

impl Clock for ManualClock {
    fn read(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_whole_microseconds() {
        let clock = ManualClock::new("2026-12-02T10:11:26.834605149Z".parse().unwrap());
        assert_eq!(clock.now().to_string(), "2026-12-02T10:11:26.834605Z");
        assert_eq!(clock.read().subsec_nanosecond(), 834_605_149);
        // Before 1970 too: towards the past, not towards zero.
        clock.set("1969-12-31T23:59:59.999999999Z".parse().unwrap());
        assert_eq!(clock.now().to_string(), "1969-12-31T23:59:59.999999Z");
        for _ in 0..100 {
            assert_eq!(SystemClock.now().subsec_nanosecond() % 1000, 0);
        }
    }
}
