//! What the status page shows of the registry: every app and task record as stored (host
//! names, labels, states and health, not only the tasks DNS serves), the Mesos records and
//! the subscriber's status. Persistent maps, so a published [`Catalog`] is O(1) to clone
//! and a change copies only the paths it touches.

use std::sync::Arc;

use imbl::OrdMap;
use registry::{
    AgentRecord, AppId, AppRecord, Change, FrameworkRecord, LeaderRecord, MasterRecord,
    MesosChange, MesosSnapshot, MesosTaskRecord, Snapshot, SubscriberStatus, TaskRecord,
};

/// One app: its record (absent until the subscriber wrote it) and its tasks by id.
#[derive(Clone, Debug, Default)]
pub struct AppEntry {
    /// The app record.
    pub app: Option<Arc<AppRecord>>,
    /// Its tasks, by task id.
    pub tasks: OrdMap<String, Arc<TaskRecord>>,
}

/// One Mesos framework: its record and its tasks by id.
#[derive(Clone, Debug, Default)]
pub struct FrameworkEntry {
    /// The framework record.
    pub framework: Option<Arc<FrameworkRecord>>,
    /// Its tasks, by task id.
    pub tasks: OrdMap<String, Arc<MesosTaskRecord>>,
}

/// The Mesos source's records.
#[derive(Clone, Debug, Default)]
pub struct MesosView {
    /// The leader record.
    pub leader: Option<Arc<LeaderRecord>>,
    /// Masters by id.
    pub masters: OrdMap<String, Arc<MasterRecord>>,
    /// Agents by id.
    pub agents: OrdMap<String, Arc<AgentRecord>>,
    /// Frameworks by id.
    pub frameworks: OrdMap<String, FrameworkEntry>,
}

impl MesosView {
    /// True when the registry holds no Mesos record.
    pub fn is_empty(&self) -> bool {
        self.leader.is_none()
            && self.masters.is_empty()
            && self.agents.is_empty()
            && self.frameworks.is_empty()
    }
}

/// The status page's view of the registry. Cloning is O(1).
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    /// True once the Marathon records were listed.
    pub loaded: bool,
    /// The newest etcd revision applied, from any of the watches.
    pub revision: i64,
    /// Apps by id.
    pub apps: OrdMap<AppId, AppEntry>,
    /// Number of task records.
    pub tasks: usize,
    /// The Mesos records.
    pub mesos: MesosView,
    /// The subscriber's status record.
    pub subscriber: Option<Arc<SubscriberStatus>>,
}

impl Catalog {
    fn advance(&mut self, revision: i64) {
        self.revision = self.revision.max(revision);
    }

    /// Replaces the Marathon records with a full listing.
    pub fn load(&mut self, snapshot: Snapshot) {
        self.apps = OrdMap::new();
        self.tasks = 0;
        let apps = snapshot.apps.into_iter().map(|v| Change::App(v.record));
        let tasks = snapshot.tasks.into_iter().map(|v| Change::Task(v.record));
        self.apply(snapshot.revision, apps.chain(tasks));
        self.loaded = true;
    }

    /// Applies Marathon changes (idempotent: removing what is absent changes nothing).
    pub fn apply(&mut self, revision: i64, changes: impl IntoIterator<Item = Change>) {
        for change in changes {
            match change {
                Change::Task(task) => {
                    let entry = self.apps.entry(task.app_id.clone()).or_default();
                    let id = task.task_id.clone();
                    if entry.tasks.insert(id, Arc::new(task)).is_none() {
                        self.tasks += 1;
                    }
                }
                Change::TaskRemoved { app_id, task_id } => {
                    if let Some(entry) = self.apps.get_mut(&app_id)
                        && entry.tasks.remove(&task_id).is_some()
                    {
                        self.tasks -= 1;
                    }
                    self.forget_if_empty(&app_id);
                }
                Change::App(app) => {
                    let entry = self.apps.entry(app.app_id.clone()).or_default();
                    entry.app = Some(Arc::new(app));
                }
                Change::AppRemoved { app_id } => {
                    if let Some(entry) = self.apps.get_mut(&app_id) {
                        entry.app = None;
                    }
                    self.forget_if_empty(&app_id);
                }
            }
        }
        self.advance(revision);
    }

    fn forget_if_empty(&mut self, app_id: &AppId) {
        let empty = self
            .apps
            .get(app_id)
            .is_some_and(|e| e.app.is_none() && e.tasks.is_empty());
        if empty {
            self.apps.remove(app_id);
        }
    }

    /// Replaces the Mesos records with a full listing.
    pub fn load_mesos(&mut self, snapshot: MesosSnapshot) {
        let mut view = MesosView {
            leader: snapshot.leader.map(|v| Arc::new(v.record)),
            ..MesosView::default()
        };
        for master in snapshot.masters {
            view.masters
                .insert(master.record.master_id.clone(), Arc::new(master.record));
        }
        for agent in snapshot.agents {
            view.agents
                .insert(agent.record.agent_id.clone(), Arc::new(agent.record));
        }
        self.mesos = view;
        let frameworks = snapshot.frameworks.into_iter().map(|v| v.record);
        let tasks = snapshot.tasks.into_iter().map(|v| v.record);
        let changes = frameworks
            .map(MesosChange::Framework)
            .chain(tasks.map(MesosChange::Task));
        self.apply_mesos(snapshot.revision, changes);
    }

    /// Applies Mesos changes.
    pub fn apply_mesos(&mut self, revision: i64, changes: impl IntoIterator<Item = MesosChange>) {
        let view = &mut self.mesos;
        for change in changes {
            match change {
                MesosChange::Leader(r) => view.leader = Some(Arc::new(r)),
                MesosChange::LeaderRemoved => view.leader = None,
                MesosChange::Master(r) => {
                    view.masters.insert(r.master_id.clone(), Arc::new(r));
                }
                MesosChange::MasterRemoved { master_id } => {
                    view.masters.remove(&master_id);
                }
                MesosChange::Agent(r) => {
                    view.agents.insert(r.agent_id.clone(), Arc::new(r));
                }
                MesosChange::AgentRemoved { agent_id } => {
                    view.agents.remove(&agent_id);
                }
                MesosChange::Framework(r) => {
                    let entry = view.frameworks.entry(r.framework_id.clone()).or_default();
                    entry.framework = Some(Arc::new(r));
                }
                MesosChange::FrameworkRemoved { framework_id } => {
                    if let Some(entry) = view.frameworks.get_mut(&framework_id) {
                        entry.framework = None;
                        if entry.tasks.is_empty() {
                            view.frameworks.remove(&framework_id);
                        }
                    }
                }
                MesosChange::Task(t) => {
                    let entry = view.frameworks.entry(t.framework_id.clone()).or_default();
                    entry.tasks.insert(t.task_id.clone(), Arc::new(t));
                }
                MesosChange::TaskRemoved {
                    framework_id,
                    task_id,
                } => {
                    if let Some(entry) = view.frameworks.get_mut(&framework_id) {
                        entry.tasks.remove(&task_id);
                        if entry.tasks.is_empty() && entry.framework.is_none() {
                            view.frameworks.remove(&framework_id);
                        }
                    }
                }
            }
        }
        self.advance(revision);
    }

    /// Replaces the subscriber's status.
    pub fn set_subscriber(&mut self, revision: i64, status: Option<SubscriberStatus>) {
        self.subscriber = status.map(Arc::new);
        self.advance(revision);
    }
}

#[cfg(test)]
mod tests {
    use registry::harness::records;

    use super::*;

    fn id(s: &str) -> AppId {
        AppId::parse(s).unwrap_or_else(|_| AppId::root())
    }

    #[test]
    fn tasks_and_apps_come_and_go_and_empty_apps_are_forgotten() {
        let mut catalog = Catalog::default();
        let t1 = records::task("/web", "web.1", "10.0.0.1").build();
        let t2 = records::task("/web", "web.2", "10.0.0.2").build();
        catalog.apply(3, [Change::Task(t1.clone()), Change::Task(t2)]);
        catalog.apply(
            4,
            [Change::Task(t1), Change::App(records::app("/web").build())],
        );
        assert_eq!((catalog.tasks, catalog.revision), (2, 4));
        let before = catalog.clone();
        let removals = [
            Change::TaskRemoved {
                app_id: id("/web"),
                task_id: "web.1".into(),
            },
            Change::TaskRemoved {
                app_id: id("/web"),
                task_id: "web.1".into(),
            },
            Change::TaskRemoved {
                app_id: id("/web"),
                task_id: "web.2".into(),
            },
        ];
        catalog.apply(5, removals);
        assert_eq!(catalog.tasks, 0);
        assert!(
            catalog.apps.contains_key(&id("/web")),
            "the app record stays"
        );
        catalog.apply(6, [Change::AppRemoved { app_id: id("/web") }]);
        assert!(catalog.apps.is_empty());
        // A published clone is unaffected.
        assert_eq!(before.tasks, 2);
        assert_eq!(before.apps[&id("/web")].tasks.len(), 2);
    }
}
