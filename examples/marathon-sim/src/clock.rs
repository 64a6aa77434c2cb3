//! Marathon's timestamps: `yyyy-MM-ddTHH:mm:ss.SSSZ`, strictly increasing within a simulator.

use std::sync::atomic::{AtomicI64, Ordering};

/// A clock that hands out strictly increasing millisecond timestamps.
///
/// Strictly increasing, not just "now": clients order events by timestamp, and a burst of
/// events inside one millisecond must still have a defined order.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    last: AtomicI64,
}

impl Clock {
    /// The next timestamp in milliseconds since the epoch: now, or 1 ms after the previous one.
    pub(crate) fn next_ms(&self) -> i64 {
        let now = chrono::Utc::now().timestamp_millis();
        let prev = self
            .last
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| {
                Some(std::cmp::max(now, l + 1))
            })
            .unwrap_or(now);
        std::cmp::max(now, prev + 1)
    }

    /// The next timestamp in Marathon's format.
    pub(crate) fn ts(&self) -> String {
        format_ts(self.next_ms())
    }
}

/// Formats milliseconds since the epoch as Marathon does: `yyyy-MM-ddTHH:mm:ss.SSSZ` (UTC).
pub(crate) fn format_ts(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => "1970-01-01T00:00:00.000Z".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_increase_and_format() {
        let c = Clock::default();
        let a = c.next_ms();
        let b = c.next_ms();
        assert!(b > a);
        assert_eq!(format_ts(1_393_716_570_158), "2014-03-01T23:29:30.158Z");
    }
}
