//! Services: a Marathon app id or a group id, absolute or relative to the caller's group,
//! and the one range read that lists its instances.

use registry::{AppId, Registry, Scope, TaskRecord};

use crate::env::Env;
use crate::error::{Error, Result};

/// A service name resolved to an id: an app (its tasks) or a group (the tasks of every app
/// below it). Which of the two it is does not matter: one prefix covers both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// The name as the caller gave it.
    pub name: String,
    /// The resolved absolute id.
    pub id: AppId,
}

impl Service {
    /// Resolves `name` against the caller's group (the parent of `MARATHON_APP_ID`, or the
    /// root): `kafka` from `/zk-kafka/zookeeper` is `/zk-kafka/kafka`, `/x` stays `/x`.
    pub fn resolve(env: &Env, name: &str) -> Result<Self> {
        let invalid = |source| Error::InvalidService {
            service: name.to_string(),
            source,
        };
        let trimmed = name.trim();
        if trimmed.is_empty() {
            return Err(invalid(registry::Error::InvalidAppId {
                id: String::new(),
                reason: "empty",
            }));
        }
        let base = env.base_group().unwrap_or_else(AppId::root);
        let id = AppId::resolve(&base, trimmed).map_err(invalid)?;
        Ok(Service {
            name: trimmed.to_string(),
            id,
        })
    }

    /// Resolves a watch list: blanks are ignored and duplicates dropped, in the given order.
    /// Fails on an invalid name or when nothing is left.
    pub fn resolve_watch_list(env: &Env, names: &[String]) -> Result<Vec<Self>> {
        let mut services: Vec<Service> = Vec::new();
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            let service = Service::resolve(env, name)?;
            if !services.iter().any(|s| s.name == service.name) {
                services.push(service);
            }
        }
        if services.is_empty() {
            return Err(Error::NothingToWatch);
        }
        Ok(services)
    }

    /// The registry scope that covers the service: `{prefix}/v1/apps{id}/` holds the app's
    /// own keys when it is an app and every app below it when it is a group.
    pub fn scope(&self) -> Scope {
        if self.id.is_root() {
            Scope::All
        } else {
            Scope::Group(self.id.clone())
        }
    }

    /// True when a task of `app` belongs to the service.
    pub fn covers(&self, app: &AppId) -> bool {
        self.id.contains(app)
    }

    /// Every live task record of the service (any state), in key order.
    pub async fn tasks(&self, registry: &Registry) -> Result<Vec<TaskRecord>> {
        let snapshot = registry.list(&self.scope()).await?;
        Ok(snapshot
            .tasks
            .into_iter()
            .map(|v| v.record)
            .filter(|t| self.covers(&t.app_id))
            .collect())
    }
}

/// Which instances count as members of a service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Membership {
    /// Running and not known to be unhealthy (`TaskRecord::is_serving`).
    #[default]
    Serving,
    /// Running and every health check passing.
    Healthy,
}

impl Membership {
    /// `Healthy` when `only_healthy` is set, else `Serving`.
    pub fn from_flag(only_healthy: bool) -> Self {
        if only_healthy {
            Membership::Healthy
        } else {
            Membership::Serving
        }
    }

    /// True when the task is a member.
    pub fn admits(self, task: &TaskRecord) -> bool {
        match self {
            Membership::Serving => task.is_serving(),
            Membership::Healthy => task.is_serving() && task.health == registry::Health::Healthy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_to_the_callers_group() {
        let env = Env::from_pairs([("MARATHON_APP_ID", "/zk-kafka/kafka")]);
        let s = |n| Service::resolve(&env, n).unwrap().id.to_string();
        assert_eq!(s("zookeeper"), "/zk-kafka/zookeeper");
        assert_eq!(s("/other/app"), "/other/app");
        assert_eq!(s("../x"), "/x");
        let root = Env::default();
        assert_eq!(
            Service::resolve(&root, "kafka").unwrap().id.as_str(),
            "/kafka"
        );
        for bad in ["", "Bad_Name", "../../.."] {
            let err = Service::resolve(&env, bad).unwrap_err();
            assert!(matches!(err, Error::InvalidService { .. }), "{bad}: {err}");
        }
    }
}
