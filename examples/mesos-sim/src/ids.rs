//! Ids and the random values inside them: cluster UUIDs, Marathon-style task ids, executor
//! ids of pods, status uuids (base64 of 16 bytes), container ids.

/// A version-4 UUID string.
pub(crate) fn uuid_v4() -> String {
    let a: u32 = rand::random();
    let b: u16 = rand::random();
    let c: u16 = rand::random::<u16>() & 0x0fff;
    let d: u16 = (rand::random::<u16>() & 0x3fff) | 0x8000;
    let e: u64 = rand::random::<u64>() & 0xffff_ffff_ffff;
    format!("{a:08x}-{b:04x}-4{c:03x}-{d:04x}-{e:012x}")
}

/// A version-1 style UUID (random time fields, fixed node), like Marathon's task UUIDs
/// (`0ef76549-2630-11e8-af52-70b3d5800001`).
pub(crate) fn uuid_v1(node: u64) -> String {
    let time_low: u32 = rand::random();
    let time_mid: u16 = rand::random();
    let time_hi: u16 = rand::random::<u16>() & 0x0fff;
    let clock_seq: u16 = (rand::random::<u16>() & 0x3fff) | 0x8000;
    let node = node & 0xffff_ffff_ffff;
    format!("{time_low:08x}-{time_mid:04x}-1{time_hi:03x}-{clock_seq:04x}-{node:012x}")
}

/// Marathon's `safePath`: `/grp/app` → `grp_app`.
pub(crate) fn safe_path(run_spec_id: &str) -> String {
    run_spec_id.trim_matches('/').replace('/', "_")
}

/// Marathon's `PathId.toHostname`: `/grp/app` → `app.grp`.
pub(crate) fn to_hostname(run_spec_id: &str) -> String {
    let mut parts: Vec<&str> = run_spec_id
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    parts.reverse();
    parts.join(".")
}

/// Base64 (standard alphabet, padded) of `bytes`: how Mesos writes `bytes` fields.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A status update uuid: 16 random bytes in base64 (`5vx6i1n4SE6OIYFSUa3DKg==`).
pub(crate) fn status_uuid() -> String {
    base64(&rand::random::<[u8; 16]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_with_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(status_uuid().len(), 24);
    }

    #[test]
    fn marathon_path_rules() {
        assert_eq!(safe_path("/grp/app"), "grp_app");
        assert_eq!(to_hostname("/grp/app"), "app.grp");
        assert_eq!(to_hostname("web"), "web");
        let u = uuid_v1(0x70b3d5800001);
        assert!(u.ends_with("-70b3d5800001"), "{u}");
        assert_eq!(uuid_v4().len(), 36);
    }
}
