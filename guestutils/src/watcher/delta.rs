//! What a handler is told: the service's current instances and how they differ from what
//! the previous handler run saw.

use std::collections::BTreeMap;

use registry::AppId;
use serde::Serialize;

use crate::instance::Instance;

/// Instances by task id.
pub(crate) type Members = BTreeMap<String, Instance>;

/// How the set of instances changed since the last handler run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Delta {
    /// The seed's integer delta: current count minus previous count.
    pub count: i64,
    /// Instances that appeared.
    pub added: Vec<Instance>,
    /// Instances that went away (as they were last seen).
    pub removed: Vec<Instance>,
    /// Instances that are still there but changed (address, ports or health), as they are now.
    pub changed: Vec<Instance>,
}

impl Delta {
    /// The difference from `before` to `after`, each list in task-id order.
    pub(crate) fn between(before: &Members, after: &Members) -> Self {
        let mut delta = Delta {
            count: after.len() as i64 - before.len() as i64,
            ..Delta::default()
        };
        for (id, now) in after {
            match before.get(id) {
                None => delta.added.push(now.clone()),
                Some(then) if then != now => delta.changed.push(now.clone()),
                Some(_) => {}
            }
        }
        delta.removed = before
            .iter()
            .filter(|(id, _)| !after.contains_key(*id))
            .map(|(_, then)| then.clone())
            .collect();
        delta
    }

    /// True when nothing was added, removed or changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// One handler run's input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Update {
    /// The service as named in the watch list.
    pub service: String,
    /// The resolved app or group id.
    pub app_id: AppId,
    /// The etcd revision the state reflects.
    pub revision: i64,
    /// True for the run at start-up (everything is "added").
    pub initial: bool,
    /// The change since the previous run.
    pub delta: Delta,
    /// Every current instance, in task-id order.
    pub instances: Vec<Instance>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry::harness::records;

    /// A running task of `/a` on the agent named `host` (no address).
    fn member(id: &str, host: &str) -> (String, Instance) {
        let task = records::task("/a", id, host).build();
        (id.to_string(), Instance::from_record(&task))
    }

    #[test]
    fn delta_lists_added_removed_and_changed() {
        let before: Members = [member("a", "h1"), member("b", "h1"), member("c", "h1")].into();
        let after: Members = [member("b", "h1"), member("c", "h2"), member("d", "h1")].into();
        let delta = Delta::between(&before, &after);
        let ids = |l: &[Instance]| l.iter().map(|i| i.task_id.clone()).collect::<Vec<_>>();
        assert_eq!(delta.count, 0);
        assert_eq!(ids(&delta.added), ["d"]);
        assert_eq!(ids(&delta.removed), ["a"]);
        assert_eq!(ids(&delta.changed), ["c"]);
        assert!(Delta::between(&after, &after).is_empty());
    }
}
