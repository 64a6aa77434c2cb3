//! Marathon's id rules: app ids, `safePath`, task and instance ids per version, and the UUIDs
//! inside them.

use crate::MarathonVersion;

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

/// The ids of a new task: its task id, its instance id and its incarnation (1.10's `._app.<n>`).
#[derive(Debug)]
pub(crate) struct TaskIds {
    pub task_id: String,
    pub instance_id: String,
    pub incarnation: u32,
}

/// Ids for a new task of `app_id`. `replaces` is the instance id and incarnation of the
/// killed task it replaces, if any: 1.10 relaunches that instance with the next
/// incarnation, while 1.4 always starts a new instance.
pub(crate) fn task_ids(
    version: MarathonVersion,
    app_id: &str,
    node: u64,
    replaces: Option<(&str, u32)>,
) -> TaskIds {
    let safe = safe_path(app_id);
    let (task_id, instance_id, incarnation) = match (version, replaces) {
        (MarathonVersion::V1_10, Some((instance, previous))) => {
            let inc = previous + 1;
            (format!("{instance}._app.{inc}"), instance.to_string(), inc)
        }
        (MarathonVersion::V1_10, None) => {
            let instance = format!("{safe}.instance-{}", uuid_v1(node));
            (format!("{instance}._app.1"), instance, 1)
        }
        (MarathonVersion::V1_4, _) => {
            let uuid = uuid_v1(node);
            (
                format!("{safe}.{uuid}"),
                format!("{safe}.marathon-{uuid}"),
                1,
            )
        }
    };
    TaskIds {
        task_id,
        instance_id,
        incarnation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn uuids() {
        let u = uuid_v1(0x0a0b0c0d0e0f);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "1");
        assert!(u.ends_with("0a0b0c0d0e0f"));
        assert_eq!(&uuid_v4()[14..15], "4");
    }
}
