//! The master's times: status `timestamp`s in float seconds, strictly increasing within a
//! simulator (clients order updates by them), and `TimeInfo` nanoseconds.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::proto::TimeInfo;

/// Hands out strictly increasing timestamps.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    last_us: Mutex<i64>,
}

impl Clock {
    /// Microseconds since the epoch: now, or 1 µs after the previous value.
    fn next_us(&self) -> i64 {
        let now = now_ns() / 1_000;
        let mut last = self.last_us.lock().unwrap_or_else(|p| p.into_inner());
        *last = std::cmp::max(now, *last + 1);
        *last
    }

    /// A status `timestamp`: seconds since the epoch as a double (`1520884850.64141`).
    pub(crate) fn seconds(&self) -> f64 {
        self.next_us() as f64 / 1e6
    }

    /// A `TimeInfo` for now.
    pub(crate) fn time_info(&self) -> TimeInfo {
        TimeInfo {
            nanoseconds: self.next_us() * 1_000,
        }
    }
}

/// Nanoseconds since the epoch (0 if the clock is before it).
pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_strictly_increase() {
        let c = Clock::default();
        let a = c.seconds();
        let b = c.seconds();
        assert!(b > a);
        assert!(c.time_info().nanoseconds > 1_500_000_000_000_000_000);
    }
}
