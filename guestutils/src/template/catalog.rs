//! The records the templates are rendered from: each watched service's live tasks and app
//! definitions, kept current from its registry watch.

use std::collections::BTreeMap;

use registry::{AppId, AppRecord, Change, TaskRecord, WatchEvent};

use super::data::{AppData, ServiceData, TemplateData};
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

    /// The template context: which tasks are members follows `membership`.
    pub fn data(&self, membership: Membership) -> TemplateData {
        let mut every_app: BTreeMap<String, AppData> = BTreeMap::new();
        let services = self
            .services
            .iter()
            .map(|records| {
                let apps = records.apps(membership);
                for app in &apps {
                    every_app
                        .entry(app.id.clone())
                        .or_insert_with(|| app.clone());
                }
                ServiceData {
                    name: records.service.name.clone(),
                    id: records.service.id.to_string(),
                    instances: apps.iter().flat_map(|a| a.instances.clone()).collect(),
                    tasks: apps.iter().flat_map(|a| a.tasks.clone()).collect(),
                    apps,
                }
            })
            .collect();
        TemplateData {
            revision: self.revision(),
            services,
            apps: every_app.into_values().collect(),
        }
    }
}

impl ServiceRecords {
    /// Applies one change; true when the records changed.
    fn apply(&mut self, change: Change) -> bool {
        match change {
            Change::Task(task) if self.service.covers(&task.app_id) => {
                let key = (task.app_id.clone(), task.task_id.clone());
                self.tasks.insert(key, task.clone()) != Some(task)
            }
            Change::TaskRemoved { app_id, task_id } => {
                self.tasks.remove(&(app_id, task_id)).is_some()
            }
            Change::App(app) if self.service.covers(&app.app_id) => {
                self.apps.insert(app.app_id.clone(), app.clone()) != Some(app)
            }
            Change::AppRemoved { app_id } => self.apps.remove(&app_id).is_some(),
            Change::Task(_) | Change::App(_) => false,
        }
    }

    /// Every app with a record or a task, by app id, its tasks in task-id order.
    fn apps(&self, membership: Membership) -> Vec<AppData> {
        let mut ids: Vec<&AppId> = self.apps.keys().collect();
        ids.extend(self.tasks.keys().map(|(app, _)| app));
        ids.sort();
        ids.dedup();
        ids.into_iter()
            .map(|id| {
                let tasks = self
                    .tasks
                    .range((id.clone(), String::new())..)
                    .take_while(|((app, _), _)| app == id)
                    .map(|(_, task)| task);
                AppData::new(id.to_string(), self.apps.get(id), tasks, membership)
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

        let data = catalog.data(Membership::Serving);
        assert_eq!(data.revision, 7);
        let ids = |apps: &[AppData]| apps.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&data.services[0].apps), ["/shop/db", "/shop/web"]);
        assert_eq!(ids(&data.services[1].apps), ["/shop/web"]);
        assert_eq!(ids(&data.apps), ["/shop/db", "/shop/web"]);
        let web = &data.apps[1];
        assert!(web.defined && !data.apps[0].defined);
        let tasks: Vec<&str> = web.tasks.iter().map(|t| t.task_id.as_str()).collect();
        assert_eq!(tasks, ["w1", "w2"]);

        let removed = WatchEvent::Changes {
            revision: 8,
            changes: vec![Change::TaskRemoved {
                app_id: AppId::parse("/shop/web").unwrap(),
                task_id: "w1".into(),
            }],
        };
        assert!(catalog.apply(1, removed));
        assert_eq!(catalog.revision(), 8);
        assert_eq!(catalog.data(Membership::Serving).services[1].tasks.len(), 1);
    }
}
