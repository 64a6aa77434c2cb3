//! Mesos-DNS naming, exactly: label sanitising, app-id labels, task hashes and canonical
//! per-task names. Pure functions, tested on Mesos-DNS's own vectors.

use registry::AppId;
use sha1::{Digest, Sha1};

/// The longest DNS label (RFC 1035).
pub const MAX_LABEL: usize = 63;

/// Sanitises `input` into one RFC 1123 label of at most `max` octets, the way Mesos-DNS's
/// `labels.RFC1123` does: lower-case, `-`/`.`/`_` become `-`, anything else outside
/// `[a-z0-9]` is dropped, no leading or trailing `-`, and a run of dashes straddling the
/// length limit collapses.
pub fn sanitize_label(input: &str, max: usize) -> String {
    let mapped: String = input
        .chars()
        .filter_map(|c| match c {
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            'a'..='z' | '0'..='9' => Some(c),
            '-' | '.' | '_' => Some('-'),
            _ => None,
        })
        .collect();
    trim_cut(&mapped, max)
}

/// Mesos-DNS's `trimCut` with `-` as both cutsets (all input is ASCII here).
fn trim_cut(label: &str, max: usize) -> String {
    let trimmed = label.trim_start_matches('-');
    let size = trimmed.len().min(max);
    let (head, rest) = trimmed.split_at(size);
    let mut out = head.trim_end_matches('-').to_string();
    if out.len() < size {
        let tail = rest.trim_start_matches('-');
        let take = (size - out.len()).min(tail.len());
        out.push_str(&tail[..take]);
    }
    out.trim_end_matches('-').to_string()
}

/// Marathon's `PathId.toHostname`: segments reversed and joined with `.`
/// (`/prod/web` -> `web.prod`). This is the raw DiscoveryInfo name Mesos-DNS sees.
pub fn discovery_name(app_id: &AppId) -> String {
    app_id.segments().rev().collect::<Vec<_>>().join(".")
}

/// The Mesos-DNS label of an app: `/prod/web` -> `web-prod`.
pub fn app_label(app_id: &AppId) -> String {
    sanitize_label(&discovery_name(app_id), MAX_LABEL)
}

/// The legacy dotted name Mesos-DNS also registers (`web.prod`), when every part of it is
/// a valid label; `None` when it equals the plain label or cannot be a DNS name.
pub fn legacy_name(app_id: &AppId) -> Option<String> {
    legacy_form(&discovery_name(app_id))
}

/// The raw DiscoveryInfo name Mesos-DNS also registers unsanitised (its "LEGACY" block),
/// when every part of it is already a clean label (a query is lower-cased, so Mesos-DNS
/// never matches anything else); `None` when it equals its sanitised label.
pub fn legacy_form(raw: &str) -> Option<String> {
    let clean = |l: &str| !l.is_empty() && sanitize_label(l, MAX_LABEL) == l;
    let valid = raw.split('.').all(clean);
    (valid && raw != sanitize_label(raw, MAX_LABEL)).then(|| raw.to_string())
}

const ZBASE32: &[u8; 32] = b"ybndrfg8ejkmcpqxot1uwisza345h769";

/// Mesos-DNS's `hashString`: the first 5 characters of zbase32(SHA-1(`s`)).
pub fn task_hash(s: &str) -> String {
    let digest = Sha1::digest(s.as_bytes());
    // 5 characters are 25 bits: the first 4 bytes hold them.
    let bits = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    (0..5)
        .map(|i| ZBASE32[((bits >> (27 - 5 * i)) & 0x1f) as usize] as char)
        .collect()
}

/// The canonical-name suffix of an agent: its id's last `-` field, lower-cased
/// (`...-S3` -> `s3`, `...-2410-0` -> `0`), sanitised.
pub fn agent_suffix(agent_id: &str) -> String {
    let last = agent_id.rsplit('-').next().unwrap_or(agent_id);
    sanitize_label(last, MAX_LABEL)
}

/// The canonical per-task label `T-<hash5>-<agent suffix>` (Mesos-DNS's `canonical`).
/// Where Mesos-DNS would exceed 63 octets, `T` is shortened so the label stays valid. A
/// legacy dotted `T` (`web.prod`) keeps every label but its last as it is: only the last
/// label carries the tail, so only it is shortened, and only when it is too long.
pub fn canonical_label(task_label: &str, task_id: &str, agent_id: Option<&str>) -> String {
    let suffix = agent_id.map(agent_suffix).unwrap_or_default();
    canonical_from_parts(task_label, &task_hash(task_id), &suffix)
}

/// [`canonical_label`] from the task's hash and agent suffix (empty: no agent id).
pub fn canonical_from_parts(task_label: &str, hash: &str, suffix: &str) -> String {
    let tail = if suffix.is_empty() {
        format!("-{hash}")
    } else {
        format!("-{hash}-{suffix}")
    };
    let tail = &tail[..tail.len().min(MAX_LABEL - 1)];
    let (parents, last) = match task_label.rsplit_once('.') {
        Some((parents, last)) => (Some(parents), last),
        None => (None, task_label),
    };
    let last = shorten(last, MAX_LABEL - tail.len());
    match parents {
        Some(parents) => format!("{parents}.{last}{tail}"),
        None => format!("{last}{tail}"),
    }
}

/// The `_T` label of an SRV name, kept within 63 octets after adding `_` (Mesos-DNS
/// issue #522). Dotted legacy names keep their dots (only the first label gets `_`).
pub fn srv_label(label: &str) -> String {
    match label.split_once('.') {
        Some((first, rest)) => format!("_{}.{rest}", shorten(first, MAX_LABEL - 1)),
        None => format!("_{}", shorten(label, MAX_LABEL - 1)),
    }
}

/// A sanitised label cut to `max` octets with no trailing `-` (labels are ASCII).
fn shorten(label: &str, max: usize) -> String {
    if label.len() <= max {
        label.to_string()
    } else {
        label[..max].trim_end_matches('-').to_string()
    }
}

/// Mesos-DNS's `DomainFrag` for the framework name: split on `.`, sanitise each part,
/// drop empty parts (`marathon.prod` stays two labels).
pub fn domain_frag(name: &str) -> String {
    name.split('.')
        .map(|p| sanitize_label(p, MAX_LABEL))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(id: &str) -> AppId {
        AppId::parse(id).unwrap()
    }

    #[test]
    fn hashes_match_mesos_dns_vectors() {
        assert_eq!(task_hash("test"), "iffe9");
        assert_eq!(
            task_hash("liquor-store.b8db9f73-562f-11e4-a088-c20493233aa5"),
            "4dfjd"
        );
    }

    #[test]
    fn labels_match_rfc1123_vectors() {
        let cases = [
            ("4abc123", "4abc123"),
            ("-4abc123", "4abc123"),
            ("a.b.c.d.e", "a-b-c-d-e"),
            ("a.c.d_de.", "a-c-d-de"),
            ("---a---b", "a---b"),
            ("a---", "a"),
            ("-", ""),
            ("abc--123", "abc--123"),
            ("r29f.dev.angrypigs", "r29f-dev-angrypigs"),
            (
                "fd%gsf---gs7-f$gs--d7fddg-123",
                "fdgsf---gs7-fgs--d7fddg-123",
            ),
            ("89fdgsf---gs7-fgs--d7fddg-", "89fdgsf---gs7-fgs--d7fddg"),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize_label(input, MAX_LABEL), want, "{input}");
        }
        let kept = format!("hello{}f", "-".repeat(56));
        assert_eq!(sanitize_label(&kept, MAX_LABEL), kept);
        let collapsed = format!("hello{}f", "-".repeat(58));
        assert_eq!(sanitize_label(&collapsed, MAX_LABEL), "hellof");
        let long = "$$fdgsf---gs7-fgs--d7fddg123456789012345678901234567890123456789-123";
        assert_eq!(
            sanitize_label(long, MAX_LABEL),
            "fdgsf---gs7-fgs--d7fddg1234567890123456789012345678901234567891"
        );
    }

    #[test]
    fn domain_frags_match_vectors() {
        assert_eq!(domain_frag(".a.c"), "a.c");
        assert_eq!(domain_frag("a..c"), "a.c");
        assert_eq!(domain_frag("MiXeDcase.CoM"), "mixedcase.com");
        assert_eq!(domain_frag("not$1234.com"), "not1234.com");
        assert_eq!(
            domain_frag("pod_123$abc.marathon-0.6.0-dev.mesos"),
            "pod-123abc.marathon-0.6.0-dev.mesos"
        );
        assert_eq!(domain_frag("marathon"), "marathon");
    }

    #[test]
    fn app_ids_map_like_mesos_dns() {
        assert_eq!(app_label(&app("/web")), "web");
        assert_eq!(app_label(&app("/prod/web")), "web-prod");
        assert_eq!(
            app_label(&app("/sample/group/appname")),
            "appname-group-sample"
        );
        assert_eq!(
            app_label(&app("/product/database/mongo004")),
            "mongo004-database-product"
        );
        assert_eq!(
            app_label(&app("/somereallllllyyyylongappname/stage/1.91-snapshot")),
            "1-91-snapshot-stage-somereallllllyyyylongappname"
        );
        assert_eq!(app_label(&app("/a-b/c")), app_label(&app("/b/c-a")));
        let long = format!("/prod/api/{}", "x".repeat(70));
        assert_eq!(app_label(&app(&long)), "x".repeat(63));
        assert_eq!(legacy_name(&app("/prod/web")).as_deref(), Some("web.prod"));
        assert_eq!(legacy_name(&app("/web")), None);
        assert_eq!(legacy_form("app.grp").as_deref(), Some("app.grp"));
        assert_eq!(
            legacy_form("App.grp"),
            None,
            "never matched by a lower-cased query"
        );
        assert_eq!(legacy_form("a..b"), None);
    }

    #[test]
    fn canonical_names_match_vectors() {
        let id = "liquor-store.b8db9f73-562f-11e4-a088-c20493233aa5";
        assert_eq!(
            canonical_label(
                "liquor-store",
                id,
                Some("20140803-194229-1681915402-5050-2410-0")
            ),
            "liquor-store-4dfjd-0"
        );
        assert_eq!(agent_suffix("a1b2-S3"), "s3");
        let long = "y".repeat(63);
        let c = canonical_label(&long, id, Some("x-S12"));
        assert_eq!(c.len(), 63);
        assert!(c.ends_with("-4dfjd-s12"));
        assert_eq!(srv_label(&"z".repeat(63)).len(), 63);
        assert_eq!(srv_label("web.prod"), "_web.prod");
    }

    /// Issue #15: a legacy (dotted) task name keeps every label but the last whole, and the
    /// last is shortened only when it is too long, so canonical names equal Mesos-DNS's.
    #[test]
    fn legacy_canonical_names_shorten_only_their_last_label() {
        let app_id = app(
            "/team-platform-infrastructure/observability/prometheus-long-term-storage-compactor",
        );
        let legacy = legacy_name(&app_id).unwrap();
        assert_eq!(
            legacy,
            "prometheus-long-term-storage-compactor.observability.team-platform-infrastructure"
        );
        let id =
            "team-platform-infrastructure_observability_prometheus-long-term-storage-compactor.1";
        let h = task_hash(id);
        assert_eq!(
            canonical_label(&legacy, id, Some("x-S12")),
            format!("{legacy}-{h}-s12"),
            "Mesos-DNS's name: nothing is cut"
        );
        // Only a last label that would pass 63 octets is shortened, and only it.
        let long_last = format!("web.{}", "p".repeat(60));
        let c = canonical_label(&long_last, id, Some("x-S12"));
        let (first, last) = c.split_once('.').unwrap();
        assert_eq!(first, "web");
        assert_eq!(last.len(), 63);
        assert!(last.ends_with(&format!("-{h}-s12")), "{c}");
    }
}
