//! Small helpers: Marathon timestamps, ids, base64, query strings, ordered JSON.

use std::sync::atomic::{AtomicI64, Ordering};

use serde_json::Value;

/// A clock that hands out strictly increasing millisecond timestamps.
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

/// A random 48-bit "node" for version-1 style UUIDs (Marathon's task UUIDs are v1).
pub(crate) fn uuid_node() -> u64 {
    rand::random::<u64>() & 0xffff_ffff_ffff
}

/// A version-1 style UUID string (random time fields, fixed node), like Marathon's task UUIDs.
pub(crate) fn uuid_v1(node: u64) -> String {
    let time_low: u32 = rand::random();
    let time_mid: u16 = rand::random();
    let time_hi: u16 = rand::random::<u16>() & 0x0fff;
    let clock_seq: u16 = (rand::random::<u16>() & 0x3fff) | 0x8000;
    format!("{time_low:08x}-{time_mid:04x}-1{time_hi:03x}-{clock_seq:04x}-{node:012x}")
}

/// A version-4 UUID string.
pub(crate) fn uuid_v4() -> String {
    let a: u32 = rand::random();
    let b: u16 = rand::random();
    let c: u16 = rand::random::<u16>() & 0x0fff;
    let d: u16 = (rand::random::<u16>() & 0x3fff) | 0x8000;
    let e: u64 = rand::random::<u64>() & 0xffff_ffff_ffff;
    format!("{a:08x}-{b:04x}-4{c:03x}-{d:04x}-{e:012x}")
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(crate) fn base64_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(B64[(n >> 18) as usize & 63] as char);
        out.push(B64[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            B64[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            B64[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Standard base64 decoding; padding optional. `None` on invalid input.
pub(crate) fn base64_decode(input: &str) -> Option<Vec<u8>> {
    let input = input.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in input.bytes() {
        let v = B64.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes a query component (`+` is a space).
pub(crate) fn pct_decode(s: &str) -> String {
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

/// Parses a query string into (key, value) pairs, keeping repeated keys.
pub(crate) fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = q else { return Vec::new() };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (pct_decode(k), pct_decode(v)),
            None => (pct_decode(p), String::new()),
        })
        .collect()
}

/// Serializes `fields` as one JSON object, keeping the given key order (Marathon's
/// serializers keep the case-class field order; `serde_json::Map` would sort them).
pub(crate) fn ordered_json(fields: &[(&str, Value)]) -> String {
    let mut s = String::with_capacity(256);
    s.push('{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&Value::String((*k).to_string()).to_string());
        s.push(':');
        s.push_str(&v.to_string());
    }
    s.push('}');
    s
}

fn valid_segment(seg: &str) -> bool {
    // ^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$
    !seg.is_empty()
        && seg.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Canonicalizes an app id to an absolute path (`web` → `/web`) and validates its segments
/// with Marathon's rules (lowercase, digits, `-`, `.`; no `_`).
pub(crate) fn canonical_app_id(id: &str) -> Result<String, String> {
    let trimmed = id.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Err(format!("invalid app id '{id}': empty"));
    }
    for seg in trimmed.split('/') {
        if !valid_segment(seg) {
            return Err(format!(
                "invalid app id '{id}': path segment '{seg}' must match \
                 ^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])$"
            ));
        }
    }
    if let Some(last) = trimmed.rsplit('/').next()
        && ["restart", "tasks", "versions"].contains(&last)
    {
        return Err(format!(
            "invalid app id '{id}': last segment must not be '{last}'"
        ));
    }
    Ok(format!("/{trimmed}"))
}

/// Marathon's `safePath`: `/prod/web/api` → `prod_web_api`.
pub(crate) fn safe_path(app_id: &str) -> String {
    app_id.trim_start_matches('/').replace('/', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_roundtrip() {
        for s in ["", "a", "ab", "abc", "user:pass", "Aladdin:open sesame"] {
            let e = base64_encode(s.as_bytes());
            assert_eq!(base64_decode(&e).as_deref(), Some(s.as_bytes()), "{s}");
        }
        assert_eq!(
            base64_encode(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[test]
    fn timestamps_increase_and_format() {
        let c = Clock::default();
        let a = c.next_ms();
        let b = c.next_ms();
        assert!(b > a);
        assert_eq!(format_ts(1_393_716_570_158), "2014-03-01T23:29:30.158Z");
    }

    #[test]
    fn app_ids() {
        assert_eq!(canonical_app_id("web").as_deref(), Ok("/web"));
        assert_eq!(
            canonical_app_id("/prod/web.api/x-1").as_deref(),
            Ok("/prod/web.api/x-1")
        );
        assert!(canonical_app_id("/My_App").is_err());
        assert!(canonical_app_id("/a/-b").is_err());
        assert!(canonical_app_id("/a/tasks").is_err());
        assert_eq!(safe_path("/prod/web/api"), "prod_web_api");
    }

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

    #[test]
    fn uuids() {
        let u = uuid_v1(0x0a0b0c0d0e0f);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "1");
        assert!(u.ends_with("0a0b0c0d0e0f"));
        assert_eq!(&uuid_v4()[14..15], "4");
    }
}
