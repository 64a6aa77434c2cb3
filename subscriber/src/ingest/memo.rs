//! The last health verdict seen per instance, so that a verdict that arrives before its
//! task's record (or a repeated `TASK_RUNNING`) is not lost.

use std::collections::HashMap;

use registry::{Health, Stamp};

/// Remembered health verdicts at most (then the memo starts over: the next reconcile
/// restores what it forgot).
const MAX_MEMO: usize = 131_072;

/// Verdicts by instance key ([`crate::marathon::ids::instance_key`]).
#[derive(Default)]
pub(super) struct HealthMemo {
    by_instance: HashMap<String, (Health, Stamp)>,
}

impl HealthMemo {
    /// The verdict remembered for an instance, with its time.
    pub(super) fn get(&self, key: &str) -> Option<&(Health, Stamp)> {
        self.by_instance.get(key)
    }

    /// Remembers a verdict, unless a newer one is remembered already.
    pub(super) fn set(&mut self, key: &str, health: Health, at: &Stamp) {
        if self.by_instance.len() >= MAX_MEMO {
            self.by_instance.clear();
        }
        match self.by_instance.get_mut(key) {
            Some(entry) if &entry.1 > at => {}
            Some(entry) => *entry = (health, at.clone()),
            None => {
                self.by_instance
                    .insert(key.to_string(), (health, at.clone()));
            }
        }
    }

    /// Forgets an instance (its app is gone).
    pub(super) fn remove(&mut self, key: &str) {
        self.by_instance.remove(key);
    }

    /// Forgets a verdict older than `at` (a 1.8+ replacement task reuses its instance id,
    /// and must not inherit the health of the task it replaces).
    pub(super) fn remove_older(&mut self, key: &str, at: &Stamp) {
        if self
            .by_instance
            .get(key)
            .is_some_and(|(_, seen)| seen <= at)
        {
            self.by_instance.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Stamp {
        Stamp::parse(text).expect("stamp")
    }

    #[test]
    fn an_older_verdict_never_replaces_a_newer_one() {
        let mut memo = HealthMemo::default();
        memo.set(
            "web.instance-1",
            Health::Healthy,
            &at("2026-01-01T00:00:02.000Z"),
        );
        memo.set(
            "web.instance-1",
            Health::Unhealthy,
            &at("2026-01-01T00:00:01.000Z"),
        );
        assert_eq!(
            memo.get("web.instance-1"),
            Some(&(Health::Healthy, at("2026-01-01T00:00:02.000Z")))
        );
        memo.set(
            "web.instance-1",
            Health::Unhealthy,
            &at("2026-01-01T00:00:03.000Z"),
        );
        assert_eq!(
            memo.get("web.instance-1").map(|v| v.0),
            Some(Health::Unhealthy)
        );
        memo.remove("web.instance-1");
        assert_eq!(memo.get("web.instance-1"), None);
    }

    #[test]
    fn a_replacement_task_forgets_only_older_verdicts() {
        let mut memo = HealthMemo::default();
        memo.set(
            "web.instance-1",
            Health::Healthy,
            &at("2026-01-01T00:00:02.000Z"),
        );
        memo.remove_older("web.instance-1", &at("2026-01-01T00:00:01.000Z"));
        assert!(memo.get("web.instance-1").is_some(), "the verdict is newer");
        memo.remove_older("web.instance-1", &at("2026-01-01T00:00:02.000Z"));
        assert_eq!(memo.get("web.instance-1"), None);
    }
}
