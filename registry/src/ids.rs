//! Marathon identifiers, validated so that every one maps to exactly one etcd key.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A validated, absolute Marathon app (or group) id such as `/prod/web`.
///
/// Segments follow Marathon's own rule (`PathId`): lower-case letters, digits, `-` and `.`,
/// not starting or ending with `-` or `.`. That rule is also what keeps the key layout
/// unambiguous: `@`, `_` and `/` can never appear inside a segment. The root group is `/`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AppId(String);

/// Longest app id accepted (etcd keys should stay small; Marathon has no lower limit).
const MAX_APP_ID_LEN: usize = 512;
/// Longest task id accepted.
const MAX_TASK_ID_LEN: usize = 512;

impl AppId {
    /// Parses an absolute app id; a missing leading `/` is added, a trailing `/` dropped.
    pub fn parse(input: &str) -> Result<Self> {
        let bad = |reason| Error::InvalidAppId {
            id: input.to_string(),
            reason,
        };
        if input.len() > MAX_APP_ID_LEN {
            return Err(bad("longer than 512 bytes"));
        }
        let trimmed = input.trim_start_matches('/').trim_end_matches('/');
        if trimmed.is_empty() {
            return if input.starts_with('/') || input.is_empty() {
                Ok(AppId("/".to_string()))
            } else {
                Err(bad("empty"))
            };
        }
        for segment in trimmed.split('/') {
            validate_segment(segment).map_err(bad)?;
        }
        Ok(AppId(format!("/{trimmed}")))
    }

    /// The root group `/`.
    pub fn root() -> Self {
        AppId("/".to_string())
    }

    /// Resolves `input` against the group `base` the way Marathon does for relative ids:
    /// absolute ids stand alone, `..` goes up one group, `.` stays.
    pub fn resolve(base: &AppId, input: &str) -> Result<Self> {
        if input.starts_with('/') {
            return Self::parse(input);
        }
        let mut segments: Vec<&str> = base.segments().collect();
        for part in input.split('/').filter(|p| !p.is_empty()) {
            match part {
                "." => {}
                ".." => {
                    if segments.pop().is_none() {
                        return Err(Error::InvalidAppId {
                            id: input.to_string(),
                            reason: "'..' goes above the root group",
                        });
                    }
                }
                other => segments.push(other),
            }
        }
        Self::parse(&format!("/{}", segments.join("/")))
    }

    /// The id as a string, always starting with `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the root group `/`.
    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The path segments, outermost group first (`/prod/web` gives `prod`, `web`).
    pub fn segments(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    /// The group that contains this id (`/prod/web` -> `/prod`); the root's parent is itself.
    pub fn parent(&self) -> AppId {
        match self.0.rfind('/') {
            Some(0) | None => AppId("/".to_string()),
            Some(i) => AppId(self.0[..i].to_string()),
        }
    }

    /// Marathon's `safePath`: segments joined with `_` (`/prod/web` -> `prod_web`), the
    /// prefix of every task id of the app.
    pub fn safe_path(&self) -> String {
        self.segments().collect::<Vec<_>>().join("_")
    }

    /// True when `self` is `other` or a group that contains it.
    pub fn contains(&self, other: &AppId) -> bool {
        self.is_root()
            || other.0 == self.0
            || (other.0.starts_with(&self.0) && other.0.as_bytes().get(self.0.len()) == Some(&b'/'))
    }
}

fn validate_segment(segment: &str) -> std::result::Result<(), &'static str> {
    if segment.is_empty() {
        return Err("empty path segment ('//')");
    }
    if segment == "." || segment == ".." {
        return Err("relative segment in an absolute id");
    }
    if !segment
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        return Err("segments may hold only a-z, 0-9, '-' and '.'");
    }
    let first_last = [segment.as_bytes()[0], segment.as_bytes()[segment.len() - 1]];
    if first_last.iter().any(|&b| b == b'-' || b == b'.') {
        return Err("a segment must start and end with a letter or digit");
    }
    if segment.contains("..") || segment.contains(".-") || segment.contains("-.") {
        return Err("a '.' must separate two labels");
    }
    Ok(())
}

impl fmt::Display for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for AppId {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        AppId::parse(&value)
    }
}

impl From<AppId> for String {
    fn from(id: AppId) -> String {
        id.0
    }
}

impl std::str::FromStr for AppId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        AppId::parse(s)
    }
}

/// Checks that a Marathon task id can be one etcd key: non-empty, at most 512 bytes, no
/// `/`, no whitespace or control characters. Every real format (§6 of the Marathon notes,
/// including pod ids with `$anon`) passes.
pub fn validate_task_id(id: &str) -> Result<()> {
    let bad = |reason| Error::InvalidTaskId {
        id: id.to_string(),
        reason,
    };
    if id.is_empty() {
        return Err(bad("empty"));
    }
    if id.len() > MAX_TASK_ID_LEN {
        return Err(bad("longer than 512 bytes"));
    }
    if id.contains('/') {
        return Err(bad("contains '/'"));
    }
    if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("contains whitespace or control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        assert_eq!(AppId::parse("/prod/web").unwrap().as_str(), "/prod/web");
        assert_eq!(AppId::parse("prod/web/").unwrap().as_str(), "/prod/web");
        assert_eq!(AppId::parse("/").unwrap().as_str(), "/");
        assert_eq!(AppId::parse("/a.b/c-d/0").unwrap().as_str(), "/a.b/c-d/0");
    }

    #[test]
    fn rejects_what_marathon_rejects() {
        for bad in [
            "/Prod", "/a//b", "/a_b", "/-a", "/a-", "/a b", "/a/@x", "/a/../b", "/a..b",
        ] {
            assert!(AppId::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn resolves_relative_ids() {
        let base = AppId::parse("/prod/web").unwrap();
        let group = base.parent();
        assert_eq!(AppId::resolve(&group, "db").unwrap().as_str(), "/prod/db");
        assert_eq!(
            AppId::resolve(&group, "../dev/db").unwrap().as_str(),
            "/dev/db"
        );
        assert_eq!(AppId::resolve(&group, "/x").unwrap().as_str(), "/x");
        assert!(AppId::resolve(&group, "../../..").is_err());
    }

    #[test]
    fn containment_is_by_segment() {
        let prod = AppId::parse("/prod").unwrap();
        assert!(prod.contains(&AppId::parse("/prod/web").unwrap()));
        assert!(prod.contains(&prod));
        assert!(!prod.contains(&AppId::parse("/production").unwrap()));
        assert!(AppId::parse("/").unwrap().contains(&prod));
        assert_eq!(AppId::parse("/prod/web").unwrap().safe_path(), "prod_web");
    }

    #[test]
    fn task_ids() {
        validate_task_id("myGroup_myApp.instance-b6ff5fa5-7714-11e7-a55c-5ecf1c4671f6._app.1")
            .unwrap();
        validate_task_id("pod.instance-x.$anon").unwrap();
        assert!(validate_task_id("").is_err());
        assert!(validate_task_id("a/b").is_err());
        assert!(validate_task_id("a b").is_err());
    }
}
