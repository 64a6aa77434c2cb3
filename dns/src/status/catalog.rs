//! What the status page shows of the registry, without a second copy of it: every group's
//! tasks are the DNS index's own [`ZoneTask`]s (served or not: state, health, host,
//! addresses, ports), shared by reference, with the families the index publishes the
//! group under; only what the index drops is kept here, compactly (an app's version and
//! labels as shared strings; the Mesos masters, agents and frameworks; the subscriber's
//! status). Persistent maps, so a published [`Catalog`] is O(1) to clone and a change
//! copies only the paths it touches.

use std::borrow::Cow;
use std::sync::Arc;

use imbl::OrdMap;
use registry::{
    AgentRecord, AppId, AppRecord, FrameworkRecord, LeaderRecord, MasterRecord, MesosChange,
    NetworkMode, SubscriberStatus,
};

use crate::task::{AgentRef, Family, Interner, ZoneTask};

/// A group's tasks as the index holds them, and the families (task name `T` under
/// framework label `F`) it is published under.
#[derive(Clone, Debug, Default)]
pub struct Tasks {
    /// The tasks, by task id.
    pub tasks: Arc<[Arc<ZoneTask>]>,
    /// Its families: its DNS names are built from these.
    pub families: Arc<[Family]>,
}

/// What the page shows of an app record that the DNS index does not keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppInfo {
    /// Marathon's app version.
    pub version: Arc<str>,
    /// How its tasks are networked.
    pub networking: NetworkMode,
    /// Whether it defines health checks.
    pub health_checks: bool,
    /// Its labels, by key (keys and values shared between apps).
    pub labels: Box<[(Arc<str>, Arc<str>)]>,
}

impl AppInfo {
    /// The page's part of `app`, its strings shared through `strings`.
    pub fn new(app: &AppRecord, strings: &mut Interner) -> Self {
        AppInfo {
            version: strings.get(&app.version),
            networking: app.networking,
            health_checks: app.health_checks,
            labels: app
                .labels
                .iter()
                .map(|(k, v)| (strings.get(k), strings.get(v)))
                .collect(),
        }
    }
}

/// One app: its record's page facts (absent until the subscriber wrote it) and its tasks.
#[derive(Clone, Debug, Default)]
pub struct AppEntry {
    /// The app record's facts.
    pub app: Option<Arc<AppInfo>>,
    /// Its tasks and families.
    pub group: Tasks,
}

/// One Mesos framework: its record, its label, and its tasks by DNS name.
#[derive(Clone, Debug, Default)]
pub struct FrameworkEntry {
    /// The framework record.
    pub framework: Option<Arc<FrameworkRecord>>,
    /// The label `F` of its names, as the zone uses it.
    pub label: Option<Arc<str>>,
    /// Its tasks, by their raw DNS name (DiscoveryInfo name, else task name).
    pub groups: OrdMap<Arc<str>, Tasks>,
    /// Number of its tasks.
    pub tasks: usize,
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
    pub frameworks: OrdMap<Arc<str>, FrameworkEntry>,
    /// Number of tasks of every framework.
    pub tasks: usize,
}

impl MesosView {
    /// True when the registry holds no Mesos record.
    pub fn is_empty(&self) -> bool {
        self.leader.is_none()
            && self.masters.is_empty()
            && self.agents.is_empty()
            && self.frameworks.is_empty()
    }

    /// The host name of the agent a task runs on: its own record's, else its agent's.
    pub fn host_of<'a>(&'a self, task: &'a ZoneTask) -> Cow<'a, str> {
        let own = task.host();
        match &task.agent {
            Some(AgentRef::Id(id)) if own.is_empty() => {
                let agent = self.agents.get(&**id);
                Cow::Borrowed(agent.map_or("", |a| a.hostname.as_str()))
            }
            _ => own,
        }
    }
}

/// The status page's view of the registry. Cloning is O(1).
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    /// True once the Marathon records were listed.
    pub loaded: bool,
    /// The newest etcd revision applied.
    pub revision: i64,
    /// Apps by id.
    pub apps: OrdMap<AppId, AppEntry>,
    /// Number of Marathon tasks.
    pub tasks: usize,
    /// The Mesos records.
    pub mesos: MesosView,
    /// The subscriber's status record.
    pub subscriber: Option<Arc<SubscriberStatus>>,
}

impl Catalog {
    /// Moves the revision forward to `revision`.
    pub fn advance(&mut self, revision: i64) {
        self.revision = self.revision.max(revision);
    }

    /// Sets an app record's facts (`None`: removed).
    pub fn set_app(&mut self, app_id: &AppId, app: Option<AppInfo>) {
        match app {
            Some(app) => {
                let entry = self.apps.entry(app_id.clone()).or_default();
                entry.app = Some(Arc::new(app));
            }
            None => {
                if let Some(entry) = self.apps.get_mut(app_id) {
                    entry.app = None;
                }
                self.forget_app_if_empty(app_id);
            }
        }
    }

    /// Sets an app's tasks and families as the index has them now.
    pub fn set_app_group(&mut self, app_id: &AppId, group: Tasks) {
        let entry = self.apps.entry(app_id.clone()).or_default();
        self.tasks = self.tasks - entry.group.tasks.len() + group.tasks.len();
        entry.group = group;
        self.forget_app_if_empty(app_id);
    }

    fn forget_app_if_empty(&mut self, app_id: &AppId) {
        let empty = self
            .apps
            .get(app_id)
            .is_some_and(|e| e.app.is_none() && e.group.tasks.is_empty());
        if empty {
            self.apps.remove(app_id);
        }
    }

    /// Sets the tasks of a framework's DNS name `name` as the index has them now, and the
    /// framework's label.
    pub fn set_mesos_group(
        &mut self,
        framework_id: &Arc<str>,
        label: Option<String>,
        name: &Arc<str>,
        group: Tasks,
    ) {
        let view = &mut self.mesos;
        let entry = view.frameworks.entry(framework_id.clone()).or_default();
        entry.label = label.map(Arc::from);
        let before = entry.groups.get(name).map_or(0, |g| g.tasks.len());
        view.tasks = view.tasks - before + group.tasks.len();
        entry.tasks = entry.tasks - before + group.tasks.len();
        if group.tasks.is_empty() {
            entry.groups.remove(name);
        } else {
            entry.groups.insert(name.clone(), group);
        }
        forget_framework_if_empty(view, framework_id);
    }

    /// Forgets every Mesos record (before a full listing).
    pub fn clear_mesos(&mut self) {
        self.mesos = MesosView::default();
    }

    /// Applies a change of the Mesos cluster (a task change does nothing here: tasks come
    /// from the index). `label` gives a framework's label as the zone uses it.
    pub fn apply_cluster(&mut self, change: &MesosChange, label: impl Fn(&str) -> Option<String>) {
        let view = &mut self.mesos;
        match change {
            MesosChange::Leader(r) => view.leader = Some(Arc::new(r.clone())),
            MesosChange::LeaderRemoved => view.leader = None,
            MesosChange::Master(r) => {
                view.masters
                    .insert(r.master_id.clone(), Arc::new(r.clone()));
            }
            MesosChange::MasterRemoved { master_id } => {
                view.masters.remove(master_id);
            }
            MesosChange::Agent(r) => {
                view.agents.insert(r.agent_id.clone(), Arc::new(r.clone()));
            }
            MesosChange::AgentRemoved { agent_id } => {
                view.agents.remove(agent_id);
            }
            MesosChange::Framework(r) => {
                let id: Arc<str> = r.framework_id.as_str().into();
                let entry = view.frameworks.entry(id).or_default();
                entry.framework = Some(Arc::new(r.clone()));
                entry.label = label(&r.framework_id).map(Arc::from);
            }
            MesosChange::FrameworkRemoved { framework_id } => {
                if let Some(entry) = view.frameworks.get_mut(framework_id.as_str()) {
                    entry.framework = None;
                    entry.label = label(framework_id).map(Arc::from);
                }
                forget_framework_if_empty(view, framework_id);
            }
            MesosChange::Task(_) | MesosChange::TaskRemoved { .. } => {}
        }
    }

    /// Replaces the subscriber's status.
    pub fn set_subscriber(&mut self, revision: i64, status: Option<SubscriberStatus>) {
        self.subscriber = status.map(Arc::new);
        self.advance(revision);
    }
}

fn forget_framework_if_empty(view: &mut MesosView, framework_id: &str) {
    let empty = view
        .frameworks
        .get(framework_id)
        .is_some_and(|e| e.framework.is_none() && e.groups.is_empty());
    if empty {
        view.frameworks.remove(framework_id);
    }
}
