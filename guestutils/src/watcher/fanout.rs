//! One registry watch for every watched service: the watch covers the services' nearest
//! common group, and each of its events is split into the events each service's own
//! watch would have delivered. A thousand services cost etcd one watch, not a thousand.

use std::collections::HashMap;

use registry::{AppId, Change, Scope, Snapshot, WatchEvent};

use crate::service::Service;

/// Which services a task or app belongs to, and the scope that covers them all.
#[derive(Clone, Debug)]
pub(crate) struct Router {
    /// Service indices by service id (two names may resolve to nested ids).
    by_id: HashMap<AppId, Vec<usize>>,
    services: usize,
    scope: Scope,
}

impl Router {
    /// A router of `services`; an event for service `i` goes to index `i`.
    pub(crate) fn new(services: &[Service]) -> Self {
        let mut by_id: HashMap<AppId, Vec<usize>> = HashMap::new();
        for (index, service) in services.iter().enumerate() {
            by_id.entry(service.id.clone()).or_default().push(index);
        }
        let mut common = services.first().map_or_else(AppId::root, |s| s.id.clone());
        for service in services {
            while !common.contains(&service.id) {
                common = common.parent();
            }
        }
        let scope = if common.is_root() {
            Scope::All
        } else {
            Scope::Group(common)
        };
        Router {
            by_id,
            services: services.len(),
            scope,
        }
    }

    /// The registry scope of the one watch: the services' nearest common group.
    pub(crate) fn scope(&self) -> Scope {
        self.scope.clone()
    }

    /// The services that cover `app`: those whose id is `app` or one of its groups.
    fn targets(&self, app: &AppId) -> Vec<usize> {
        let mut targets = Vec::new();
        let mut id = app.clone();
        loop {
            if let Some(indices) = self.by_id.get(&id) {
                targets.extend_from_slice(indices);
            }
            if id.is_root() {
                return targets;
            }
            id = id.parent();
        }
    }

    /// `event` as each service's own watch would have delivered it, with the service's
    /// index: a listing to every service (each with its own records), changes to the
    /// services they touch, `Live` and `Disconnected` to every service.
    pub(crate) fn split(&self, event: WatchEvent) -> Vec<(usize, WatchEvent)> {
        match event {
            WatchEvent::Resynced(snapshot) => {
                let mut each: Vec<Snapshot> = (0..self.services)
                    .map(|_| Snapshot {
                        revision: snapshot.revision,
                        ..Snapshot::default()
                    })
                    .collect();
                for task in snapshot.tasks {
                    let targets = self.targets(&task.record.app_id);
                    deliver(&targets, task, &mut each, |s| &mut s.tasks);
                }
                for app in snapshot.apps {
                    let targets = self.targets(&app.record.app_id);
                    deliver(&targets, app, &mut each, |s| &mut s.apps);
                }
                each.into_iter()
                    .map(WatchEvent::Resynced)
                    .enumerate()
                    .collect()
            }
            WatchEvent::Changes { revision, changes } => {
                let mut each: Vec<Vec<Change>> = vec![Vec::new(); self.services];
                for change in changes {
                    let targets = self.targets(match &change {
                        Change::Task(task) => &task.app_id,
                        Change::TaskRemoved { app_id, .. } | Change::AppRemoved { app_id } => {
                            app_id
                        }
                        Change::App(app) => &app.app_id,
                    });
                    deliver(&targets, change, &mut each, |changes| changes);
                }
                each.into_iter()
                    .enumerate()
                    .filter(|(_, changes)| !changes.is_empty())
                    .map(|(i, changes)| (i, WatchEvent::Changes { revision, changes }))
                    .collect()
            }
            other => (0..self.services).map(|i| (i, other.clone())).collect(),
        }
    }
}

/// Puts `item` into the list `list` picks out of `each[i]` for every `i` of `targets`
/// (cloned for all but the last).
fn deliver<T: Clone, S>(
    targets: &[usize],
    item: T,
    each: &mut [S],
    list: impl Fn(&mut S) -> &mut Vec<T>,
) {
    let Some((&last, rest)) = targets.split_last() else {
        return;
    };
    for &i in rest {
        list(&mut each[i]).push(item.clone());
    }
    list(&mut each[last]).push(item);
}

#[cfg(test)]
mod tests {
    use registry::harness::records;
    use registry::{Versioned, WatchEvent};

    use super::*;
    use crate::env::Env;

    fn services(names: &[&str]) -> Vec<Service> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        Service::resolve_watch_list(&Env::default(), &names).unwrap()
    }

    fn task(app: &str, id: &str) -> registry::TaskRecord {
        records::task(app, id, "10.0.0.1").build()
    }

    #[test]
    fn the_watch_covers_the_nearest_common_group() {
        let scope = |names: &[&str]| Router::new(&services(names)).scope();
        assert_eq!(
            scope(&["/prod/web"]),
            Scope::Group(AppId::parse("/prod/web").unwrap())
        );
        assert_eq!(
            scope(&["/prod/web", "/prod/db/main", "/prod/db"]),
            Scope::Group(AppId::parse("/prod").unwrap())
        );
        assert_eq!(scope(&["/prod/web", "/staging/web"]), Scope::All);
        // `/prod/web` is no group of `/prod/webx`.
        assert_eq!(
            scope(&["/prod/web", "/prod/webx"]),
            Scope::Group(AppId::parse("/prod").unwrap())
        );
    }

    #[test]
    fn events_go_to_the_services_they_concern() {
        let router = Router::new(&services(&["/prod/web", "/prod", "/prod/webx", "/db"]));
        let changes = vec![
            Change::Task(task("/prod/web", "prod_web.1")),
            Change::TaskRemoved {
                app_id: AppId::parse("/prod/webx").unwrap(),
                task_id: "prod_webx.1".into(),
            },
            Change::Task(task("/other", "other.1")),
        ];
        let split = router.split(WatchEvent::Changes {
            revision: 7,
            changes: changes.clone(),
        });
        let to = |i: usize| -> Vec<Change> {
            split
                .iter()
                .filter(|(j, _)| *j == i)
                .flat_map(|(_, e)| match e {
                    WatchEvent::Changes {
                        revision: 7,
                        changes,
                    } => changes.clone(),
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        assert_eq!(to(0), [changes[0].clone()]);
        assert_eq!(to(1), [changes[0].clone(), changes[1].clone()], "the group");
        assert_eq!(to(2), [changes[1].clone()]);
        assert!(to(3).is_empty(), "nothing at all for /db");
        assert_eq!(split.len(), 3);

        let versioned = |record| Versioned {
            record,
            mod_revision: 3,
        };
        let listing = Snapshot {
            revision: 9,
            tasks: vec![
                versioned(task("/prod/web", "prod_web.1")),
                versioned(task("/db", "db.1")),
            ],
            apps: Vec::new(),
            invalid: Vec::new(),
        };
        let split = router.split(WatchEvent::Resynced(listing));
        assert_eq!(split.len(), 4, "every service gets its listing");
        let tasks: Vec<usize> = split
            .iter()
            .map(|(_, e)| match e {
                WatchEvent::Resynced(s) if s.revision == 9 => s.tasks.len(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(tasks, [1, 1, 0, 1]);
        let live = router.split(WatchEvent::Live { revision: 10 });
        assert_eq!(live.len(), 4);
    }
}
