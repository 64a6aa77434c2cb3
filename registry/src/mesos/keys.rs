//! The key layout of the Mesos source's records (beside the Marathon tree, never inside it):
//!
//! ```text
//! {prefix}/v1/mesos/masters/@leader                                 which master leads
//! {prefix}/v1/mesos/masters/{master_id}                             one master
//! {prefix}/v1/mesos/agents/{agent_id}                               one agent
//! {prefix}/v1/mesos/frameworks/{framework_id}/@framework            one framework
//! {prefix}/v1/mesos/frameworks/{framework_id}/@tasks/{task_id}      one task of it
//! ```
//! Mesos ids are validated ([`validate_mesos_id`]: no `/`, never starting with `@`), so
//! `…/frameworks/{id}/@` covers exactly one framework and its tasks, and
//! `…/frameworks/{id}/@tasks/` exactly its tasks: one range read and one watch either way.

use crate::error::{Error, Result};
use crate::keys::KeyLayout;

/// Longest Mesos id accepted.
const MAX_MESOS_ID_LEN: usize = 512;

/// What a key of the Mesos tree names.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MesosKey {
    /// The leader record.
    Leader,
    /// A master.
    Master(String),
    /// An agent.
    Agent(String),
    /// A framework record.
    Framework(String),
    /// A task: (framework id, task id).
    Task(String, String),
}

/// A part of the Mesos tree to read or watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MesosScope {
    /// Every Mesos record.
    All,
    /// The masters and the leader record.
    Masters,
    /// Every agent.
    Agents,
    /// Every framework with its tasks.
    Frameworks,
    /// One framework and its tasks.
    Framework(String),
    /// Only the tasks of one framework.
    FrameworkTasks(String),
}

/// Checks that a Mesos id (master, agent, framework or task id) can be one key segment:
/// non-empty, at most 512 bytes, no `/`, no whitespace or control characters, not `.` or
/// `..`, and not starting with `@` (which marks Herald's own segments). Mesos itself refuses
/// `/`, `.`, `..` and control characters in ids.
pub fn validate_mesos_id(what: &'static str, id: &str) -> Result<()> {
    let bad = |reason| Error::InvalidMesosId {
        what,
        id: id.to_string(),
        reason,
    };
    if id.is_empty() {
        return Err(bad("empty"));
    }
    if id.len() > MAX_MESOS_ID_LEN {
        return Err(bad("longer than 512 bytes"));
    }
    if id.contains('/') {
        return Err(bad("contains '/'"));
    }
    if id == "." || id == ".." {
        return Err(bad("is '.' or '..'"));
    }
    if id.starts_with('@') {
        return Err(bad("starts with '@'"));
    }
    if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("contains whitespace or control characters"));
    }
    Ok(())
}

impl KeyLayout {
    /// The key of the leader record.
    pub fn mesos_leader_key(&self) -> String {
        format!("{}/masters/@leader", self.mesos_root())
    }

    /// The key of a master.
    pub fn mesos_master_key(&self, master_id: &str) -> Result<String> {
        validate_mesos_id("master id", master_id)?;
        Ok(format!("{}/masters/{master_id}", self.mesos_root()))
    }

    /// The key of an agent.
    pub fn mesos_agent_key(&self, agent_id: &str) -> Result<String> {
        validate_mesos_id("agent id", agent_id)?;
        Ok(format!("{}/agents/{agent_id}", self.mesos_root()))
    }

    /// The key of a framework record.
    pub fn mesos_framework_key(&self, framework_id: &str) -> Result<String> {
        validate_mesos_id("framework id", framework_id)?;
        Ok(format!(
            "{}/frameworks/{framework_id}/@framework",
            self.mesos_root()
        ))
    }

    /// The key of a task of a framework.
    pub fn mesos_task_key(&self, framework_id: &str, task_id: &str) -> Result<String> {
        validate_mesos_id("framework id", framework_id)?;
        validate_mesos_id("task id", task_id)?;
        Ok(format!(
            "{}/frameworks/{framework_id}/@tasks/{task_id}",
            self.mesos_root()
        ))
    }

    /// The key prefix of a Mesos scope (for a range read or a watch).
    pub fn mesos_scope_prefix(&self, scope: &MesosScope) -> Result<String> {
        let root = self.mesos_root();
        Ok(match scope {
            MesosScope::All => format!("{root}/"),
            MesosScope::Masters => format!("{root}/masters/"),
            MesosScope::Agents => format!("{root}/agents/"),
            MesosScope::Frameworks => format!("{root}/frameworks/"),
            MesosScope::Framework(id) => {
                validate_mesos_id("framework id", id)?;
                format!("{root}/frameworks/{id}/@")
            }
            MesosScope::FrameworkTasks(id) => {
                validate_mesos_id("framework id", id)?;
                format!("{root}/frameworks/{id}/@tasks/")
            }
        })
    }

    /// Parses a key of the Mesos tree; `None` for any other key.
    pub fn parse_mesos(&self, key: &str) -> Option<MesosKey> {
        let rest = key.strip_prefix(self.mesos_root())?.strip_prefix('/')?;
        let ok = |what, id: &str| validate_mesos_id(what, id).is_ok();
        if let Some(master) = rest.strip_prefix("masters/") {
            if master == "@leader" {
                return Some(MesosKey::Leader);
            }
            return ok("master id", master).then(|| MesosKey::Master(master.to_string()));
        }
        if let Some(agent) = rest.strip_prefix("agents/") {
            return ok("agent id", agent).then(|| MesosKey::Agent(agent.to_string()));
        }
        let rest = rest.strip_prefix("frameworks/")?;
        let (framework, tail) = rest.split_once("/@")?;
        if !ok("framework id", framework) {
            return None;
        }
        if tail == "framework" {
            return Some(MesosKey::Framework(framework.to_string()));
        }
        let task = tail.strip_prefix("tasks/")?;
        ok("task id", task).then(|| MesosKey::Task(framework.to_string(), task.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Scope;

    #[test]
    fn keys_round_trip() {
        let l = KeyLayout::default();
        let fw = "52b1358f-7a8a-4b57-9e43-4f6c9bc7a0a8-0001";
        let task = l.mesos_task_key(fw, "web.instance-1._app.1").unwrap();
        assert_eq!(
            task,
            format!("/herald/v1/mesos/frameworks/{fw}/@tasks/web.instance-1._app.1")
        );
        assert_eq!(
            l.parse_mesos(&task),
            Some(MesosKey::Task(fw.into(), "web.instance-1._app.1".into()))
        );
        let fk = l.mesos_framework_key(fw).unwrap();
        assert_eq!(l.parse_mesos(&fk), Some(MesosKey::Framework(fw.into())));
        let ak = l.mesos_agent_key("a-S0").unwrap();
        assert_eq!(ak, "/herald/v1/mesos/agents/a-S0");
        assert_eq!(l.parse_mesos(&ak), Some(MesosKey::Agent("a-S0".into())));
        let mk = l.mesos_master_key("m1").unwrap();
        assert_eq!(l.parse_mesos(&mk), Some(MesosKey::Master("m1".into())));
        assert_eq!(
            l.mesos_leader_key(),
            "/herald/v1/mesos/masters/@leader".to_string()
        );
        assert_eq!(l.parse_mesos(&l.mesos_leader_key()), Some(MesosKey::Leader));
        assert_eq!(l.parse_mesos("/herald/v1/apps/web/@app"), None);
        assert_eq!(l.parse_mesos("/herald/v1/mesos/frameworks/x/@other"), None);
        assert_eq!(l.parse(&task), None, "a Marathon reader never parses it");
    }

    #[test]
    fn scopes_are_exact_prefixes() {
        let l = KeyLayout::new("/x").unwrap();
        let one = l
            .mesos_scope_prefix(&MesosScope::Framework("f1".into()))
            .unwrap();
        assert!(l.mesos_task_key("f1", "t").unwrap().starts_with(&one));
        assert!(l.mesos_framework_key("f1").unwrap().starts_with(&one));
        assert!(!l.mesos_task_key("f10", "t").unwrap().starts_with(&one));
        let tasks = l
            .mesos_scope_prefix(&MesosScope::FrameworkTasks("f1".into()))
            .unwrap();
        assert!(!l.mesos_framework_key("f1").unwrap().starts_with(&tasks));
        let masters = l.mesos_scope_prefix(&MesosScope::Masters).unwrap();
        assert!(l.mesos_leader_key().starts_with(&masters));
        let all = l.mesos_scope_prefix(&MesosScope::All).unwrap();
        let marathon = l.scope_prefix(&Scope::All);
        assert!(!all.starts_with(&marathon) && !marathon.starts_with(&all));
    }

    #[test]
    fn rejects_ids_that_would_make_ambiguous_keys() {
        for bad in ["", "a/b", "@leader", ".", "..", "a b", "a\nb"] {
            assert!(validate_mesos_id("task id", bad).is_err(), "{bad:?}");
        }
        validate_mesos_id("task id", "app.instance-x.$anon.foo.1").unwrap();
    }
}
