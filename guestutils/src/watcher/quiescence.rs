//! consul-template's `wait { min, max }`: fire once things have been quiet for `min`, but
//! never later than `max` after the first change of a burst.

use std::str::FromStr;
use std::time::Duration;

use tokio::time::Instant;

/// A `min:max` quiescence window (`200ms:1s`; `500ms` alone means `500ms:2s`, max = 4×min).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quiescence {
    /// Quiet time after the last change before firing.
    pub min: Duration,
    /// Longest delay after the first change of a burst.
    pub max: Duration,
}

impl Default for Quiescence {
    fn default() -> Self {
        Quiescence {
            min: Duration::from_millis(200),
            max: Duration::from_secs(1),
        }
    }
}

impl FromStr for Quiescence {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let parse = |part: &str| {
            humantime::parse_duration(part.trim())
                .map_err(|e| format!("invalid duration {part:?} in {s:?}: {e}"))
        };
        let (min, max) = match s.split_once(':') {
            Some((min, max)) => (parse(min)?, parse(max)?),
            None => {
                let min = parse(s)?;
                (min, min * 4)
            }
        };
        if max < min {
            return Err(format!("in {s:?} the maximum is shorter than the minimum"));
        }
        Ok(Quiescence { min, max })
    }
}

impl std::fmt::Display for Quiescence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}",
            humantime::format_duration(self.min),
            humantime::format_duration(self.max)
        )
    }
}

/// The timer of one burst: idle, or armed with a deadline.
#[derive(Debug, Default)]
pub(crate) struct Debounce {
    deadline: Option<Instant>,
    cap: Option<Instant>,
}

impl Debounce {
    /// A change happened: (re)start the quiet period, within the burst's cap.
    pub(crate) fn touch(&mut self, window: Quiescence, now: Instant) {
        let cap = *self.cap.get_or_insert(now + window.max);
        self.deadline = Some((now + window.min).min(cap));
    }

    /// When to fire; `None` when idle.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The burst is over.
    pub(crate) fn clear(&mut self) {
        *self = Debounce::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_consul_template_syntax() {
        let q: Quiescence = "200ms:1s".parse().unwrap();
        assert_eq!(q.min, Duration::from_millis(200));
        assert_eq!(q.max, Duration::from_secs(1));
        let q: Quiescence = "500ms".parse().unwrap();
        assert_eq!(q.max, Duration::from_secs(2));
        assert!("1s:200ms".parse::<Quiescence>().is_err());
        assert!("soon".parse::<Quiescence>().is_err());
    }

    #[test]
    fn each_change_resets_to_min_within_the_cap() {
        let window = Quiescence {
            min: Duration::from_millis(200),
            max: Duration::from_millis(500),
        };
        let t0 = Instant::now();
        let mut d = Debounce::default();
        d.touch(window, t0);
        assert_eq!(d.deadline(), Some(t0 + window.min));
        d.touch(window, t0 + Duration::from_millis(150));
        assert_eq!(d.deadline(), Some(t0 + Duration::from_millis(350)));
        d.touch(window, t0 + Duration::from_millis(400));
        assert_eq!(d.deadline(), Some(t0 + window.max));
        d.clear();
        assert_eq!(d.deadline(), None);
    }
}
