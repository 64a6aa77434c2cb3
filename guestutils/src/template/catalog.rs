//! The records the templates are rendered from: each watched service's live tasks and app
//! definitions, kept current from its registry watch, and the template context built from
//! them. Each app's part of the context is converted once and kept until one of its records
//! changes, so a pass after a small change converts only what changed.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::value::{Serde, Value};
use registry::{AppId, AppRecord, Change, TaskRecord, WatchEvent};

use super::data::AppData;
use crate::service::{Membership, Service};

/// The tasks and apps of every watched service.
#[derive(Clone, Debug)]
pub struct Catalog {
    services: Vec<ServiceRecords>,
}

/// One service's records.
#[derive(Clone, Debug)]
struct ServiceRecords {
    service: Service,
    /// Tasks by (app id, task id).
    tasks: BTreeMap<(AppId, String), TaskRecord>,
    apps: BTreeMap<AppId, AppRecord>,
    /// The revision of the last event; 0 until the first listing arrived.
    revision: i64,
    /// Each app's [`AppData`] as a template value, while its records are unchanged.
    converted: BTreeMap<AppId, Value>,
    /// Apps whose records changed since they were converted.
    stale: BTreeSet<AppId>,
}

impl Catalog {
    /// An empty catalog of these services (in watch-list order).
    pub fn new(services: Vec<Service>) -> Self {
        Catalog {
            services: services
                .into_iter()
                .map(|service| ServiceRecords {
                    service,
                    tasks: BTreeMap::new(),
                    apps: BTreeMap::new(),
                    revision: 0,
                    converted: BTreeMap::new(),
                    stale: BTreeSet::new(),
                })
                .collect(),
        }
    }

    /// The services, in watch-list order.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.services.iter().map(|s| &s.service)
    }

    /// Applies one watch event of the service at `index`; true when its records changed.
    pub fn apply(&mut self, index: usize, event: WatchEvent) -> bool {
        let Some(records) = self.services.get_mut(index) else {
            return false;
        };
        match event {
            WatchEvent::Resynced(snapshot) => {
                records.revision = snapshot.revision;
                let covers = |id: &AppId| records.service.covers(id);
                let tasks: BTreeMap<_, _> = snapshot
                    .tasks
                    .into_iter()
                    .map(|v| v.record)
                    .filter(|t| covers(&t.app_id))
                    .map(|t| ((t.app_id.clone(), t.task_id.clone()), t))
                    .collect();
                let apps: BTreeMap<_, _> = snapshot
                    .apps
                    .into_iter()
                    .map(|v| v.record)
                    .filter(|a| covers(&a.app_id))
                    .map(|a| (a.app_id.clone(), a))
                    .collect();
                let changed = tasks != records.tasks || apps != records.apps;
                if changed {
                    records.converted.clear();
                }
                records.tasks = tasks;
                records.apps = apps;
                changed
            }
            WatchEvent::Changes { revision, changes } => {
                records.revision = revision;
                let mut changed = false;
                for change in changes {
                    changed |= records.apply(change);
                }
                changed
            }
            WatchEvent::Live { revision } => {
                records.revision = records.revision.max(revision);
                false
            }
            WatchEvent::Disconnected { .. } => false,
        }
    }

    /// True once every service has had its first listing.
    pub fn synced(&self) -> bool {
        self.services.iter().all(|s| s.revision > 0)
    }

    /// The highest revision any service's records reflect.
    pub fn revision(&self) -> i64 {
        self.services.iter().map(|s| s.revision).max().unwrap_or(0)
    }

    /// The template context (see `guestutils/README.md`, *The data*): `revision`, `apps`
    /// (every app once, by id) and `services` (in watch-list order, each with `name`, `id`,
    /// `apps`, `instances`, `tasks`). Which tasks are members follows `membership`, which
    /// must be the same at every call (converted apps are reused).
    pub fn context(&mut self, membership: Membership) -> Value {
        let revision = self.revision();
        let mut every_app: BTreeMap<String, Value> = BTreeMap::new();
        let services: Vec<Value> = self
            .services
            .iter_mut()
            .map(|records| {
                let apps = records.convert(membership);
                let list = |field: &str| -> Vec<Value> {
                    apps.iter()
                        .filter_map(|(_, app)| app.get_attr(field).ok()?.try_iter().ok())
                        .flatten()
                        .collect()
                };
                let (instances, tasks) = (list("instances"), list("tasks"));
                for (id, app) in &apps {
                    every_app
                        .entry(id.to_string())
                        .or_insert_with(|| app.clone());
                }
                minijinja::context! {
                    name => records.service.name.clone(),
                    id => records.service.id.to_string(),
                    apps => apps.into_iter().map(|(_, app)| app).collect::<Vec<_>>(),
                    instances,
                    tasks,
                }
            })
            .collect();
        minijinja::context! {
            revision,
            services,
            apps => every_app.into_values().collect::<Vec<_>>(),
        }
    }
}

impl ServiceRecords {
    /// Applies one change; true when the records changed.
    fn apply(&mut self, change: Change) -> bool {
        let (app_id, changed) = match change {
            Change::Task(task) if self.service.covers(&task.app_id) => {
                let key = (task.app_id.clone(), task.task_id.clone());
                (
                    task.app_id.clone(),
                    self.tasks.insert(key, task.clone()) != Some(task),
                )
            }
            Change::TaskRemoved { app_id, task_id } => {
                let removed = self.tasks.remove(&(app_id.clone(), task_id)).is_some();
                (app_id, removed)
            }
            Change::App(app) if self.service.covers(&app.app_id) => (
                app.app_id.clone(),
                self.apps.insert(app.app_id.clone(), app.clone()) != Some(app),
            ),
            Change::AppRemoved { app_id } => {
                let removed = self.apps.remove(&app_id).is_some();
                (app_id, removed)
            }
            Change::Task(_) | Change::App(_) => return false,
        };
        if changed {
            self.stale.insert(app_id);
        }
        changed
    }

    /// Every app with a record or a task, by app id, as template values: the cached one
    /// while its records are unchanged, else converted again (tasks in task-id order).
    fn convert(&mut self, membership: Membership) -> Vec<(AppId, Value)> {
        let mut ids: Vec<AppId> = self.apps.keys().cloned().collect();
        ids.extend(self.tasks.keys().map(|(app, _)| app.clone()));
        ids.sort();
        ids.dedup();
        for id in std::mem::take(&mut self.stale) {
            self.converted.remove(&id);
        }
        self.converted.retain(|id, _| ids.binary_search(id).is_ok());
        ids.into_iter()
            .map(|id| {
                let value = match self.converted.get(&id) {
                    Some(value) => value.clone(),
                    None => {
                        let tasks = self
                            .tasks
                            .range((id.clone(), String::new())..)
                            .take_while(|((app, _), _)| *app == id)
                            .map(|(_, task)| task);
                        let data =
                            AppData::new(id.to_string(), self.apps.get(&id), tasks, membership);
                        let value = Value::from(Serde(&data));
                        self.converted.insert(id.clone(), value.clone());
                        value
                    }
                };
                (id, value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Env;
    use registry::harness::records;
    use registry::{Snapshot, Versioned};

    fn versioned<T>(record: T) -> Versioned<T> {
        Versioned {
            record,
            mod_revision: 1,
        }
    }

    fn json(catalog: &mut Catalog) -> serde_json::Value {
        serde_json::to_value(catalog.context(Membership::Serving)).unwrap()
    }

    #[test]
    fn keeps_each_services_tasks_and_apps_and_lists_every_app_once() {
        let env = Env::default();
        let shop = Service::resolve(&env, "/shop").unwrap();
        let web = Service::resolve(&env, "/shop/web").unwrap();
        let mut catalog = Catalog::new(vec![shop, web]);
        assert!(!catalog.synced());
        let snapshot = Snapshot {
            revision: 7,
            tasks: vec![
                versioned(records::task("/shop/web", "w2", "10.0.0.2").build()),
                versioned(records::task("/shop/web", "w1", "10.0.0.1").build()),
                versioned(records::task("/shop/db", "d1", "10.0.0.3").build()),
                versioned(records::task("/other", "o1", "10.0.0.4").build()),
            ],
            apps: vec![versioned(records::app("/shop/web").build())],
            invalid: Vec::new(),
        };
        assert!(catalog.apply(0, WatchEvent::Resynced(snapshot.clone())));
        assert!(catalog.apply(1, WatchEvent::Resynced(snapshot.clone())));
        assert!(catalog.synced());
        // The same listing again changes nothing.
        assert!(!catalog.apply(0, WatchEvent::Resynced(snapshot)));

        let data = json(&mut catalog);
        assert_eq!(data["revision"], 7);
        let ids = |apps: &serde_json::Value| -> Vec<String> {
            let apps = apps.as_array().unwrap();
            apps.iter()
                .map(|a| a["id"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(ids(&data["services"][0]["apps"]), ["/shop/db", "/shop/web"]);
        assert_eq!(ids(&data["services"][1]["apps"]), ["/shop/web"]);
        assert_eq!(ids(&data["apps"]), ["/shop/db", "/shop/web"]);
        let web = &data["apps"][1];
        assert!(web["defined"] == true && data["apps"][0]["defined"] == false);
        let tasks: Vec<&str> = web["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["task_id"].as_str().unwrap())
            .collect();
        assert_eq!(tasks, ["w1", "w2"]);
        assert_eq!(
            data["services"][0]["instances"].as_array().unwrap().len(),
            3
        );

        let removed = WatchEvent::Changes {
            revision: 8,
            changes: vec![Change::TaskRemoved {
                app_id: AppId::parse("/shop/web").unwrap(),
                task_id: "w1".into(),
            }],
        };
        assert!(catalog.apply(1, removed.clone()));
        assert_eq!(catalog.revision(), 8);
        let data = json(&mut catalog);
        assert_eq!(data["services"][1]["tasks"].as_array().unwrap().len(), 1);
        assert_eq!(data["services"][0]["tasks"].as_array().unwrap().len(), 3);
        // The web app converted for the first context is converted again once it changed.
        assert!(catalog.apply(0, removed));
        let data = json(&mut catalog);
        assert_eq!(data["services"][0]["tasks"].as_array().unwrap().len(), 2);
        assert_eq!(data["apps"][1]["tasks"].as_array().unwrap().len(), 1);
    }
}
