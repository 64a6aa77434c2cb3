//! The etcd key layout. This module is the only place that builds or parses keys.
//!
//! ```text
//! {prefix}/v1/apps{app_id}/@app               the app record of {app_id}
//! {prefix}/v1/apps{app_id}/@tasks/{task_id}   one task of {app_id}
//! {prefix}/election/subscriber/...           the subscribers' leader election (etcd's own keys)
//! {prefix}/v1/mesos/...                       the Mesos source's records (`crate::mesos::keys`)
//! ```
//! `@` can never start an app-id segment, so `{prefix}/v1/apps/prod/web/@` covers exactly
//! the app `/prod/web` and its tasks, and `{prefix}/v1/apps/prod/` covers every app below
//! the group `/prod` with their tasks: one range read and one watch either way.

use crate::error::{Error, Result};
use crate::ids::{AppId, validate_task_id};

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "/herald";

/// Builds and parses the registry's keys under one prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyLayout {
    /// `{prefix}/v1/apps`, without a trailing `/`.
    apps_root: String,
    /// `{prefix}/election/subscriber`.
    election: String,
    /// `{prefix}/v1/mesos`, without a trailing `/` (the Mesos source's records, see
    /// [`crate::MesosKey`]).
    mesos_root: String,
}

/// What a key names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// The app record of this app.
    App(AppId),
    /// A task of this app.
    Task(AppId, String),
}

/// A part of the registry to read or watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Everything.
    All,
    /// One app and its tasks.
    App(AppId),
    /// A group or an app and everything below it, with their tasks (`/` is everything).
    /// Marathon never has an app and a group with one id, so this reads "the service
    /// named by this id", whichever it is.
    Group(AppId),
}

impl Scope {
    /// True when the app `id` is inside this scope.
    pub fn covers(&self, id: &AppId) -> bool {
        match self {
            Scope::All => true,
            Scope::App(app) => app == id,
            Scope::Group(group) => group.contains(id),
        }
    }
}

impl KeyLayout {
    /// A layout under `prefix` (such as `/herald`); a trailing `/` is dropped.
    pub fn new(prefix: &str) -> Result<Self> {
        let prefix = prefix.trim_end_matches('/');
        if !prefix.is_empty() && !prefix.starts_with('/') {
            return Err(Error::InvalidPrefix(prefix.to_string()));
        }
        if prefix.contains('@') {
            return Err(Error::InvalidPrefix(prefix.to_string()));
        }
        Ok(KeyLayout {
            apps_root: format!("{prefix}/v1/apps"),
            election: format!("{prefix}/election/subscriber"),
            mesos_root: format!("{prefix}/v1/mesos"),
        })
    }

    fn app_dir(&self, app: &AppId) -> String {
        if app.is_root() {
            format!("{}/", self.apps_root)
        } else {
            format!("{}{}/", self.apps_root, app.as_str())
        }
    }

    /// The etcd election name under which the subscribers elect their leader
    /// (`{prefix}/election/subscriber`; outside the record tree, so record watches never
    /// see election keys).
    pub fn election_name(&self) -> &str {
        &self.election
    }

    /// `{prefix}/v1/status/subscriber`: the elected subscriber's status record
    /// (`crate::status`), outside the record trees, so their scopes never cover it.
    pub fn subscriber_status_key(&self) -> String {
        let v1 = self
            .apps_root
            .strip_suffix("/apps")
            .unwrap_or(&self.apps_root);
        format!("{v1}/status/subscriber")
    }

    /// `{prefix}/v1/mesos`, the root of the Mesos source's records.
    pub(crate) fn mesos_root(&self) -> &str {
        &self.mesos_root
    }

    /// The key of an app record.
    pub fn app_key(&self, app: &AppId) -> String {
        format!("{}@app", self.app_dir(app))
    }

    /// The key of a task record.
    pub fn task_key(&self, app: &AppId, task_id: &str) -> Result<String> {
        validate_task_id(task_id)?;
        Ok(format!("{}@tasks/{task_id}", self.app_dir(app)))
    }

    /// The prefix that covers exactly the tasks of one app.
    pub fn app_tasks_prefix(&self, app: &AppId) -> String {
        format!("{}@tasks/", self.app_dir(app))
    }

    /// The key prefix of a scope (for a range read or a watch).
    pub fn scope_prefix(&self, scope: &Scope) -> String {
        match scope {
            Scope::All => format!("{}/", self.apps_root),
            Scope::App(app) => format!("{}@", self.app_dir(app)),
            Scope::Group(group) => self.app_dir(group),
        }
    }

    /// Parses a key of this layout; `None` for keys that are not the registry's.
    pub fn parse(&self, key: &str) -> Option<KeyKind> {
        let rest = key.strip_prefix(&self.apps_root)?;
        let at = rest.find("/@")?;
        let app = AppId::parse(&rest[..at]).ok()?;
        match &rest[at + 2..] {
            "app" => Some(KeyKind::App(app)),
            tail => {
                let task = tail.strip_prefix("tasks/")?;
                validate_task_id(task).ok()?;
                Some(KeyKind::Task(app, task.to_string()))
            }
        }
    }
}

impl Default for KeyLayout {
    fn default() -> Self {
        KeyLayout {
            apps_root: format!("{DEFAULT_PREFIX}/v1/apps"),
            election: format!("{DEFAULT_PREFIX}/election/subscriber"),
            mesos_root: format!("{DEFAULT_PREFIX}/v1/mesos"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> AppId {
        AppId::parse(s).unwrap()
    }

    #[test]
    fn keys_round_trip() {
        let l = KeyLayout::default();
        let web = id("/prod/web");
        assert_eq!(l.app_key(&web), "/herald/v1/apps/prod/web/@app");
        let t = l.task_key(&web, "prod_web.1234").unwrap();
        assert_eq!(t, "/herald/v1/apps/prod/web/@tasks/prod_web.1234");
        assert_eq!(
            l.parse(&t),
            Some(KeyKind::Task(web.clone(), "prod_web.1234".into()))
        );
        assert_eq!(l.parse(&l.app_key(&web)), Some(KeyKind::App(web)));
        assert_eq!(l.parse("/herald/v1/apps/prod/web"), None);
        assert_eq!(l.parse("/other/key"), None);
    }

    #[test]
    fn scopes_are_exact_prefixes() {
        let l = KeyLayout::new("/x/").unwrap();
        let web = id("/prod/web");
        let web2 = id("/prod/web2");
        let api = id("/prod/web/api");
        let app_scope = l.scope_prefix(&Scope::App(web.clone()));
        assert!(l.app_key(&web).starts_with(&app_scope));
        assert!(l.task_key(&web, "t").unwrap().starts_with(&app_scope));
        assert!(!l.app_key(&web2).starts_with(&app_scope));
        assert!(!l.task_key(&api, "t").unwrap().starts_with(&app_scope));
        let group = l.scope_prefix(&Scope::Group(id("/prod")));
        for app in [&web, &web2, &api] {
            assert!(l.task_key(app, "t").unwrap().starts_with(&group));
        }
        assert!(!l.app_key(&id("/production/x")).starts_with(&group));
        assert_eq!(
            l.scope_prefix(&Scope::Group(id("/"))),
            l.scope_prefix(&Scope::All)
        );
    }

    #[test]
    fn rejects_bad_prefixes() {
        assert!(KeyLayout::new("herald").is_err());
        assert!(KeyLayout::new("/a@b").is_err());
        assert!(KeyLayout::new("").is_ok());
    }
}
