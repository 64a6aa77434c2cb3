//! Keeps the page's [`Catalog`] current from what the DNS feed reads. The feed is the one
//! etcd user: it hands every watch event here as well as to the index, in two steps:
//! before the index takes the event, the page notes what the index does not keep (app
//! versions and labels, the Mesos cluster's records); after it, the page takes the groups
//! the update touched as the index now holds them (shared tasks, their families). Each
//! result is published atomically and announced to the page's event streams.

use std::sync::Arc;

use arc_swap::ArcSwap;
use registry::{MesosChange, MesosWatchEvent, StatusEvent, WatchEvent};
use tokio::sync::watch;

use super::catalog::{AppInfo, Catalog, Tasks};
use crate::groups::Group;
use crate::index::{UpdateStats, ZoneIndex};
use crate::task::Interner;

/// The published catalog and the signal of its changes.
#[derive(Clone)]
pub struct Published {
    /// The current catalog.
    pub catalog: Arc<ArcSwap<Catalog>>,
    /// Bumped after every publish (its value is the catalog's revision).
    pub changed: watch::Sender<i64>,
}

impl Default for Published {
    fn default() -> Self {
        Published {
            catalog: Arc::new(ArcSwap::from_pointee(Catalog::default())),
            changed: watch::Sender::new(0),
        }
    }
}

/// The writer of the catalog, driven by the feed.
pub struct Intake {
    catalog: Catalog,
    strings: Interner,
    /// Mesos cluster changes read before the index took them, applied after it (a
    /// framework's label is the index's).
    pending: Vec<MesosChange>,
    out: Published,
}

impl Intake {
    /// A writer publishing to `out`.
    pub fn new(out: Published) -> Self {
        Intake {
            catalog: Catalog::default(),
            strings: Interner::default(),
            pending: Vec::new(),
            out,
        }
    }

    /// Before the index takes a Marathon event: the app records' facts it drops.
    pub fn before_marathon(&mut self, event: &WatchEvent) {
        match event {
            WatchEvent::Resynced(snapshot) => {
                self.catalog.apps = imbl::OrdMap::new();
                self.catalog.tasks = 0;
                self.catalog.loaded = true;
                for app in &snapshot.apps {
                    let info = AppInfo::new(&app.record, &mut self.strings);
                    self.catalog.set_app(&app.record.app_id, Some(info));
                }
            }
            WatchEvent::Changes { changes, .. } => {
                for change in changes {
                    match change {
                        registry::Change::App(app) => {
                            let info = AppInfo::new(app, &mut self.strings);
                            self.catalog.set_app(&app.app_id, Some(info));
                        }
                        registry::Change::AppRemoved { app_id } => {
                            self.catalog.set_app(app_id, None);
                        }
                        registry::Change::Task(_) | registry::Change::TaskRemoved { .. } => {}
                    }
                }
            }
            WatchEvent::Live { .. } | WatchEvent::Disconnected { .. } => {}
        }
    }

    /// Before the index takes a Mesos event: the cluster's records (masters, agents,
    /// frameworks, the leader), kept for after it.
    pub fn before_mesos(&mut self, event: &MesosWatchEvent) {
        match event {
            MesosWatchEvent::Resynced(snapshot) => {
                self.catalog.clear_mesos();
                let leader = snapshot.leader.iter();
                let leader = leader.map(|v| MesosChange::Leader(v.record.clone()));
                let masters = snapshot.masters.iter();
                let masters = masters.map(|v| MesosChange::Master(v.record.clone()));
                let agents = snapshot.agents.iter();
                let agents = agents.map(|v| MesosChange::Agent(v.record.clone()));
                let frameworks = snapshot.frameworks.iter();
                let frameworks = frameworks.map(|v| MesosChange::Framework(v.record.clone()));
                self.pending = leader
                    .chain(masters)
                    .chain(agents)
                    .chain(frameworks)
                    .collect();
            }
            MesosWatchEvent::Changes { changes, .. } => {
                let cluster = changes.iter().filter(|c| {
                    !matches!(c, MesosChange::Task(_) | MesosChange::TaskRemoved { .. })
                });
                self.pending = cluster.cloned().collect();
            }
            MesosWatchEvent::Live { .. } | MesosWatchEvent::Disconnected { .. } => {}
        }
    }

    /// After the index applied an update at `revision`: the cluster changes noted before
    /// it, and every group it touched as the index now holds it. Publishes the result.
    pub fn after(&mut self, index: &ZoneIndex, stats: &UpdateStats, revision: i64) {
        for change in std::mem::take(&mut self.pending) {
            self.catalog
                .apply_cluster(&change, |id| index.framework_label(id));
        }
        for group in &stats.groups {
            let tasks = Tasks {
                tasks: index.group_tasks(group).into(),
                families: index.group_families(group).into(),
            };
            match group {
                Group::App(app_id) => self.catalog.set_app_group(app_id, tasks),
                Group::Mesos(g) => {
                    let label = index.framework_label(&g.framework_id);
                    self.catalog
                        .set_mesos_group(&g.framework_id, label, &g.name, tasks);
                }
            }
        }
        self.catalog.advance(revision);
        self.publish();
    }

    /// An event of the subscriber status watch.
    pub fn subscriber(&mut self, event: StatusEvent) {
        if let StatusEvent::Current { status, revision } = event {
            self.catalog.set_subscriber(revision, status);
            self.publish();
        }
    }

    fn publish(&self) {
        self.out.catalog.store(Arc::new(self.catalog.clone()));
        self.out.changed.send_replace(self.catalog.revision);
    }
}

/// The catalog that Marathon `changes` and then Mesos `mesos` changes make, fed as the
/// feed feeds it (through an index with the test naming).
#[cfg(test)]
pub(crate) fn fed(changes: Vec<registry::Change>, mesos: Vec<MesosChange>) -> Arc<Catalog> {
    let out = Published::default();
    let mut intake = Intake::new(out.clone());
    let mut index = ZoneIndex::new(crate::test_support::naming());
    let event = WatchEvent::Changes {
        revision: 1,
        changes,
    };
    intake.before_marathon(&event);
    if let WatchEvent::Changes { revision, changes } = event {
        let stats = index.apply(revision, changes);
        intake.after(&index, &stats, revision);
    }
    let event = MesosWatchEvent::Changes {
        revision: 2,
        changes: mesos,
    };
    intake.before_mesos(&event);
    if let MesosWatchEvent::Changes { revision, changes } = event {
        let stats = index.apply_mesos(revision, changes);
        intake.after(&index, &stats, revision);
    }
    out.catalog.load_full()
}

#[cfg(test)]
mod tests {
    use registry::harness::records;
    use registry::{AppId, Change, Health, TaskState};

    use super::*;
    use crate::test_support::mesos;

    fn id(s: &str) -> AppId {
        AppId::parse(s).unwrap_or_else(|_| AppId::root())
    }

    #[test]
    fn the_catalog_shares_the_index_tasks_and_keeps_only_what_it_drops() {
        let staging = records::task("/web", "web.2", "10.0.0.2")
            .state(TaskState::Staging)
            .build();
        let mut app = records::app("/web").build();
        app.labels.insert("team".into(), "payments".into());
        let changes = vec![
            Change::Task(records::task("/web", "web.1", "10.0.0.1").build()),
            Change::Task(staging),
            Change::App(app),
        ];
        let fw = "fw-1";
        let toy = mesos::task(fw, "chronos", "toy.1", "toy")
            .agent("a-S1")
            .health(Health::Unhealthy)
            .build();
        let cluster = vec![
            MesosChange::Agent(mesos::agent("a-S1", "agent-1.example", "10.1.0.1", 5051)),
            MesosChange::Framework(mesos::framework(fw, "chronos", None, None)),
            MesosChange::Task(toy),
        ];
        let catalog = fed(changes, cluster);
        assert_eq!(
            (catalog.tasks, catalog.mesos.tasks, catalog.revision),
            (2, 1, 2)
        );
        let web = &catalog.apps[&id("/web")];
        let states: Vec<&str> = web.group.tasks.iter().map(|t| &*t.state).collect();
        assert_eq!(
            states,
            ["TASK_RUNNING", "TASK_STAGING"],
            "unserved tasks too"
        );
        assert_eq!(
            &*web.group.tasks[0].host, "",
            "its agent address: not kept twice"
        );
        assert_eq!(web.group.tasks[0].host(), "10.0.0.1");
        let families: Vec<_> = web.group.families.iter().map(|f| &*f.name).collect();
        assert_eq!(families, ["web"]);
        let info = web.app.as_deref().map(|a| a.labels.to_vec());
        assert_eq!(info, Some(vec![("team".into(), "payments".into())]));

        let framework = &catalog.mesos.frameworks[fw];
        assert_eq!(framework.label.as_deref(), Some("chronos"));
        let toy = &framework.groups["toy"];
        assert_eq!(&*toy.families[0].framework, "chronos");
        let task = &toy.tasks[0];
        assert_eq!(
            (task.health, catalog.mesos.host_of(task)),
            (Health::Unhealthy, "agent-1.example".into())
        );
        assert_eq!(
            &*task.agent_ips,
            &["10.1.0.1".parse::<std::net::IpAddr>().unwrap()]
        );
    }

    #[test]
    fn removals_empty_the_catalog_and_a_published_one_stays_as_it_was() {
        let out = Published::default();
        let mut intake = Intake::new(out.clone());
        let mut index = ZoneIndex::new(crate::test_support::naming());
        let mut feed = |changes: Vec<Change>, revision: i64| {
            let event = WatchEvent::Changes { revision, changes };
            intake.before_marathon(&event);
            if let WatchEvent::Changes { revision, changes } = event {
                let stats = index.apply(revision, changes);
                intake.after(&index, &stats, revision);
            }
            out.catalog.load_full()
        };
        let task = records::task("/web", "web.1", "10.0.0.1").build();
        let before = feed(
            vec![
                Change::Task(task),
                Change::App(records::app("/web").build()),
            ],
            3,
        );
        let removed = Change::TaskRemoved {
            app_id: id("/web"),
            task_id: "web.1".into(),
        };
        let kept = feed(vec![removed.clone(), removed], 4);
        assert_eq!(kept.tasks, 0);
        assert!(kept.apps.contains_key(&id("/web")), "the app record stays");
        let gone = feed(vec![Change::AppRemoved { app_id: id("/web") }], 5);
        assert!(gone.apps.is_empty());
        assert_eq!(gone.revision, 5);
        assert_eq!(before.apps[&id("/web")].group.tasks.len(), 1);
        assert_eq!(*out.changed.borrow(), 5);
    }
}
