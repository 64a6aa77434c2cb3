//! Marathon's task and instance id rules, written out by
//! hand instead of with regexes.
//!
//! Every era's task id names its app (through `safePath`, the app id with `/` turned into
//! `_`) and, since 1.4, its instance. Health events carry either a task id (≤1.3) or an
//! instance id (1.4+), so both are reduced to one *instance key* before they are matched
//! against stored tasks:
//!
//! | task id | instance key |
//! |---|---|
//! | `web.instance-UUID._app.1` (1.8+) | `web.instance-UUID` |
//! | `pod.instance-UUID.nginx` (pods 1.4–1.7) | `pod.instance-UUID` |
//! | `web.UUID` (0.7–1.7) | `web.marathon-UUID` |
//! | `web.UUID.42` (resident) | `web.marathon-UUID` |
//! | `my-app_0-1396592784349` (≤0.5) | `my-app.marathon-0-1396592784349` |

use registry::AppId;

const PREFIXES: [&str; 2] = [".instance-", ".marathon-"];

/// A task id taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedTaskId<'a> {
    /// The app's `safePath` (`prod_web`).
    pub run_spec: &'a str,
    /// The instance id, when the task id carries one (1.4+ formats).
    pub instance_id: Option<&'a str>,
    /// The instance key (see the module docs).
    pub instance_key: String,
}

/// Parses a task id of any era; `None` when it matches no known format.
pub fn parse_task_id(id: &str) -> Option<ParsedTaskId<'_>> {
    if let Some((run_spec, instance)) = split_instance_task(id) {
        return Some(ParsedTaskId {
            run_spec,
            instance_id: Some(instance),
            instance_key: instance.to_string(),
        });
    }
    // ResidentTaskId ^(.+)([\._])([^_\.]+)(\.)(\d+)$ then LegacyTaskId ^(.+)([\._])([^_\.]+)$
    let body = match id.rsplit_once('.') {
        Some((head, attempt))
            if !attempt.is_empty() && attempt.bytes().all(|b| b.is_ascii_digit()) =>
        {
            match split_legacy(head) {
                Some(parts) => Some(parts),
                None => split_legacy(id),
            }
        }
        _ => split_legacy(id),
    };
    let (run_spec, uuid) = body?;
    Some(ParsedTaskId {
        run_spec,
        instance_id: None,
        instance_key: format!("{run_spec}.marathon-{uuid}"),
    })
}

/// `^(.+)([\._])([^_\.]+)$`: the run spec and the uuid.
fn split_legacy(id: &str) -> Option<(&str, &str)> {
    let sep = id.rfind(['.', '_'])?;
    let (run_spec, uuid) = (&id[..sep], &id[sep + 1..]);
    (!run_spec.is_empty() && !uuid.is_empty()).then_some((run_spec, uuid))
}

/// The 1.4+ formats, `^(.+)\.(instance-|marathon-)([^_\.]+)[\._]([^\.]+)(\.\d+)?$`:
/// the run spec and the instance id.
fn split_instance_task(id: &str) -> Option<(&str, &str)> {
    // The regex's greedy `(.+)` picks the last prefix occurrence that lets the rest match.
    let mut candidates: Vec<(usize, usize)> = PREFIXES
        .iter()
        .flat_map(|p| id.match_indices(p).map(move |(i, _)| (i, p.len())))
        .collect();
    candidates.sort_unstable_by_key(|c| std::cmp::Reverse(c.0));
    for (at, prefix_len) in candidates {
        if at == 0 {
            continue;
        }
        let rest = &id[at + prefix_len..];
        let Some(uuid_end) = rest.find(['.', '_']) else {
            continue;
        };
        if uuid_end == 0 {
            continue;
        }
        let tail = &rest[uuid_end + 1..];
        let container_ok = match tail.rsplit_once('.') {
            None => !tail.is_empty(),
            Some((container, incarnation)) => {
                !container.is_empty()
                    && !container.contains('.')
                    && !incarnation.is_empty()
                    && incarnation.bytes().all(|b| b.is_ascii_digit())
            }
        };
        if container_ok {
            return Some((&id[..at], &id[..at + prefix_len + uuid_end]));
        }
    }
    None
}

/// True when `id` has the instance-id shape `^(.+)\.(instance-|marathon-)([^\.]+)$`.
pub fn is_instance_id(id: &str) -> bool {
    PREFIXES.iter().any(|p| {
        id.match_indices(p).any(|(at, _)| {
            let rest = &id[at + p.len()..];
            at > 0 && !rest.is_empty() && !rest.contains('.')
        })
    })
}

/// The instance key of a task id or an instance id (what health events carry).
pub fn instance_key(id: &str) -> Option<String> {
    if is_instance_id(id) {
        return Some(id.to_string());
    }
    parse_task_id(id).map(|p| p.instance_key)
}

/// The app a task id or instance id belongs to, from its `safePath` (`prod_web` ->
/// `/prod/web`); `None` when the id has no known shape or names no valid app id.
pub fn app_of(id: &str) -> Option<AppId> {
    let run_spec = if is_instance_id(id) {
        PREFIXES
            .iter()
            .filter_map(|p| id.rfind(p))
            .max()
            .map(|at| &id[..at])?
    } else {
        parse_task_id(id)?.run_spec
    };
    AppId::parse(&format!("/{}", run_spec.replace('_', "/"))).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_era() {
        let cases = [
            (
                "myGroup_myApp.instance-b6ff5fa5-7714-11e7-a55c-5ecf1c4671f6._app.1",
                "myGroup_myApp",
                Some("myGroup_myApp.instance-b6ff5fa5-7714-11e7-a55c-5ecf1c4671f6"),
            ),
            (
                "pod.instance-c7c311a4-b669-11e6-a48f-0ea4f4b1778c.nginx",
                "pod",
                Some("pod.instance-c7c311a4-b669-11e6-a48f-0ea4f4b1778c"),
            ),
            ("pod.instance-x.$anon", "pod", Some("pod.instance-x")),
            (
                "tools_docker_registry.002b4d28-46b9-11e5-b731-525400cce7ed",
                "tools_docker_registry",
                None,
            ),
            ("app.b6ff5fa5-7714-11e7-a55c-5ecf1c4671f6.42", "app", None),
            ("my-app_0-1396592784349", "my-app", None),
            ("my.dotted.app.0664256e-6771", "my.dotted.app", None),
        ];
        for (task, run_spec, instance) in cases {
            let parsed = parse_task_id(task).unwrap_or_else(|| panic!("{task}"));
            assert_eq!(parsed.run_spec, run_spec, "{task}");
            assert_eq!(parsed.instance_id, instance, "{task}");
        }
    }

    #[test]
    fn legacy_tasks_map_to_marathon_instances() {
        // The real 1.5 fixture: task nginx-green.01da… belongs to nginx-green.marathon-01da….
        assert_eq!(
            instance_key("nginx-green.01da9a15-68a7-11e7-a229-e6a514ca0c21").as_deref(),
            Some("nginx-green.marathon-01da9a15-68a7-11e7-a229-e6a514ca0c21")
        );
        assert_eq!(
            instance_key("nginx-green.marathon-01da9a15-68a7-11e7-a229-e6a514ca0c21").as_deref(),
            Some("nginx-green.marathon-01da9a15-68a7-11e7-a229-e6a514ca0c21")
        );
        assert_eq!(
            instance_key("app.b6ff5fa5.42").as_deref(),
            Some("app.marathon-b6ff5fa5")
        );
        assert_eq!(
            instance_key("my-app_0-1396592784349").as_deref(),
            Some("my-app.marathon-0-1396592784349")
        );
        assert_eq!(
            instance_key("w.instance-u._app.3"),
            instance_key("w.instance-u")
        );
    }

    #[test]
    fn instance_ids() {
        assert!(is_instance_id("my-app.instance-c7c311a4-b669"));
        assert!(is_instance_id("some_app.marathon-49d976d3-9c6f"));
        assert!(!is_instance_id("my-app.instance-c7c311a4._app.1"));
        assert!(!is_instance_id("my-app.c7c311a4"));
        assert!(!is_instance_id(".instance-x"));
    }

    #[test]
    fn apps_from_ids() {
        assert_eq!(
            app_of("prod_web.instance-u._app.1").unwrap().as_str(),
            "/prod/web"
        );
        assert_eq!(
            app_of("some_app.marathon-49d976d3").unwrap().as_str(),
            "/some/app"
        );
        assert_eq!(
            app_of("my-app_0-1396592784349").unwrap().as_str(),
            "/my-app"
        );
        assert_eq!(
            app_of("test-app.5dd78972-6771").unwrap().as_str(),
            "/test-app"
        );
        assert!(app_of("nodots").is_none());
        assert!(app_of("Bad_App.1234").is_none());
    }

    #[test]
    fn garbage_never_panics() {
        for id in [
            "",
            ".",
            "_",
            "..",
            ".instance-",
            "a.instance-",
            "a.instance-.",
            "é.ü",
            "a.1",
        ] {
            let _ = parse_task_id(id);
            let _ = instance_key(id);
            let _ = app_of(id);
        }
    }
}
