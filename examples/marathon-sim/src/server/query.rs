//! Query strings: Marathon's parameters repeat (`event_type=a&event_type=b`), so they are
//! kept as ordered pairs rather than a map.

use axum::http::StatusCode;
use axum::response::Response;

use super::message;

/// Percent-decodes a query component (`+` is a space).
fn pct_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parses a query string into (key, value) pairs, keeping repeated keys.
pub(super) fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = q else { return Vec::new() };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (pct_decode(k), pct_decode(v)),
            None => (pct_decode(p), String::new()),
        })
        .collect()
}

/// The first value of `key`.
pub(super) fn query_value<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A boolean parameter (`true/1/on/yes`, `false/0/off/no`; absent or empty: `default`), or
/// the 400 that names a bad value.
pub(super) fn query_bool(
    query: &[(String, String)],
    key: &str,
    default: bool,
) -> Result<bool, Box<Response>> {
    match query_value(query, key) {
        None | Some("") => Ok(default),
        Some("true" | "1" | "on" | "yes") => Ok(true),
        Some("false" | "0" | "off" | "no") => Ok(false),
        Some(v) => Err(Box::new(message(
            StatusCode::BAD_REQUEST,
            format!("invalid boolean {key}={v}"),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query() {
        let q = parse_query(Some("event_type=a&event_type=b%5Fc&x=1+2&flag"));
        assert_eq!(q[0], ("event_type".into(), "a".into()));
        assert_eq!(q[1], ("event_type".into(), "b_c".into()));
        assert_eq!(q[2], ("x".into(), "1 2".into()));
        assert_eq!(q[3], ("flag".into(), String::new()));
        assert_eq!(pct_decode("100%"), "100%");
        assert_eq!(pct_decode("a%2"), "a%2");
    }
}
