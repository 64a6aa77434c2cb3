//! Marathon timestamps, normalised so that byte order is time order.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A UTC instant in Marathon's format, `yyyy-MM-ddTHH:mm:ss.SSSZ`, always with three
/// fraction digits. Fixed width makes the string order equal the time order, which the
/// write guard relies on (see [`crate::Guard::Newer`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Stamp(String);

impl Stamp {
    /// Parses any RFC 3339 timestamp (offsets are converted to UTC, the fraction is
    /// truncated to milliseconds).
    pub fn parse(input: &str) -> Result<Self> {
        let parsed = DateTime::parse_from_rfc3339(input.trim())
            .map_err(|_| Error::InvalidStamp(input.to_string()))?;
        Ok(Self::from_datetime(parsed.with_timezone(&Utc)))
    }

    /// The current time.
    pub fn now() -> Self {
        Self::from_datetime(Utc::now())
    }

    /// Converts a chrono instant.
    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        Stamp(at.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    /// Converts to a chrono instant.
    pub fn to_datetime(&self) -> DateTime<Utc> {
        // The string was produced by `from_datetime`, so it always parses.
        DateTime::parse_from_rfc3339(&self.0)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Stamp {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        Stamp::parse(&value)
    }
}

impl From<Stamp> for String {
    fn from(s: Stamp) -> String {
        s.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_to_fixed_width_utc() {
        assert_eq!(
            Stamp::parse("2017-07-19T17:35:15.660Z").unwrap().as_str(),
            "2017-07-19T17:35:15.660Z"
        );
        assert_eq!(
            Stamp::parse("2017-07-19T17:35:15Z").unwrap().as_str(),
            "2017-07-19T17:35:15.000Z"
        );
        assert_eq!(
            Stamp::parse("2017-07-19T19:35:15.1234+02:00")
                .unwrap()
                .as_str(),
            "2017-07-19T17:35:15.123Z"
        );
        assert!(Stamp::parse("yesterday").is_err());
    }

    #[test]
    fn string_order_is_time_order() {
        let a = Stamp::parse("2017-07-19T17:35:15.660Z").unwrap();
        let b = Stamp::parse("2017-07-19T17:35:15.7Z").unwrap();
        assert!(a < b && a.as_str() < b.as_str());
    }
}
