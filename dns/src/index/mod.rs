//! The zone index: registry records in (Marathon's and the Mesos source's), a published
//! [`ZoneSnapshot`] out.
//!
//! Tasks are kept in [`Group`]s (a Marathon app; the Mesos tasks of one framework with one
//! DNS name), and names in *families*, one per task name `T` under a framework label `F`
//! ([`Family`]): everything a family publishes depends only on its groups' tasks, so a
//! change rebuilds only the families of the groups it touches. A Marathon app and Mesos
//! tasks with the same name and framework share a family: their names answer the union.
//! The infrastructure names (`leader`, `master`, `slave`, frameworks) are one more family,
//! rebuilt whole when a master, agent or framework changes. The snapshot's tables are
//! copy-on-write shards, so publishing an update copies only the shards it touched
//! (`publish`).
//!
//! Memory matters here (a node may serve 50,000 tasks): tasks are kept in their compact
//! form ([`ZoneTask`]), once, and shared by every table that points at them; only the
//! names an app's tasks share are stored (see [`crate::snapshot`]); every stored name is
//! allocated once and shared by the table and its family.

mod members;
mod publish;
mod store;
#[cfg(test)]
mod tests;
mod view;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use hickory_proto::rr::LowerName;
use registry::{AppId, AppRecord, Change, MesosChange, MesosSnapshot, TaskRecord};

use crate::groups::{Group, MesosGroup};
use crate::mesos::{Cluster, infra};
use crate::served::{Naming, Value};
use crate::snapshot::{FamilyTasks, ZoneNames, ZoneSnapshot};
use crate::stored_name::StoredName;
use crate::task::{AgentRef, AppFacts, Family, Interner, TaskEntry, ZoneTask};
use members::Members;

/// A task in its group's set, found by its id.
#[derive(Clone, Debug)]
struct ById(Arc<ZoneTask>);

impl PartialEq for ById {
    fn eq(&self, other: &Self) -> bool {
        self.0.task_id == other.0.task_id
    }
}

impl Eq for ById {}

impl Hash for ById {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.task_id.hash(state);
    }
}

impl std::borrow::Borrow<str> for ById {
    fn borrow(&self) -> &str {
        &self.0.task_id
    }
}

/// The writer side: owns the records and keeps the snapshot up to date.
pub struct ZoneIndex {
    zone: Arc<ZoneNames>,
    /// The framework label of Marathon's tasks, shared by all their families.
    marathon: Arc<str>,
    apex: LowerName,
    strings: Interner,
    apps: HashMap<AppId, AppFacts>,
    groups: HashMap<Group, HashSet<ById>>,
    task_count: usize,
    /// Mesos framework id -> task id -> its group's name (a removal names only the ids).
    mesos_tasks: HashMap<Arc<str>, HashMap<Box<str>, MesosGroup>>,
    /// Masters, leader, agents and frameworks of the Mesos source.
    cluster: Cluster,
    /// Groups with tasks that borrow an agent's addresses, with how many tasks do.
    agent_users: HashMap<AgentRef, HashMap<Group, u32>>,
    /// Family -> the groups published under it (several raw names: a collision).
    families: HashMap<Family, Members>,
    /// Families whose groups have more than one raw name, kept as `families` changes
    /// (counting them on every publish cost a walk over every family).
    colliding: usize,
    /// Group -> the families it is published under now.
    placed: HashMap<Group, Box<[Family]>>,
    /// Family -> its served tasks, as published.
    published: HashMap<Arc<Family>, FamilyTasks>,
    /// The infrastructure names, as stored in the snapshot.
    infrastructure: Box<[StoredName]>,
    snapshot: ZoneSnapshot,
}

/// What an update did, for logs and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateStats {
    /// Families rebuilt.
    pub families: usize,
    /// Task names that newly map to more than one raw name (collisions), with the raw
    /// names (app ids, Mesos DNS names).
    pub new_collisions: Vec<(String, Vec<String>)>,
    /// The groups whose tasks or names may have changed ([`ZoneIndex::group_tasks`] and
    /// [`ZoneIndex::group_families`] say what they are now).
    pub groups: Vec<Group>,
}

/// A Marathon change, its task record in compact form.
enum Step {
    Task(Group, ZoneTask),
    TaskRemoved(Group, Box<str>),
    App(AppId, AppFacts),
    AppRemoved(AppId),
}

/// What a batch of changes touched.
#[derive(Default)]
struct Touched {
    groups: BTreeSet<Group>,
    infrastructure: bool,
}

impl ZoneIndex {
    /// An empty index.
    pub fn new(naming: Naming) -> Self {
        let apex = LowerName::new(&naming.domain);
        let marathon = Arc::from(naming.framework.as_str());
        let zone = Arc::new(ZoneNames::new(naming));
        ZoneIndex {
            marathon,
            snapshot: ZoneSnapshot {
                zone: zone.clone(),
                ..ZoneSnapshot::default()
            },
            zone,
            apex,
            strings: Interner::default(),
            apps: HashMap::new(),
            groups: HashMap::new(),
            task_count: 0,
            mesos_tasks: HashMap::new(),
            cluster: Cluster::default(),
            agent_users: HashMap::new(),
            families: HashMap::new(),
            colliding: 0,
            placed: HashMap::new(),
            published: HashMap::new(),
            infrastructure: Box::default(),
        }
    }

    fn naming(&self) -> &Naming {
        &self.zone.naming
    }

    /// The current snapshot (O(1) to clone).
    pub fn snapshot(&self) -> Arc<ZoneSnapshot> {
        Arc::new(self.snapshot.clone())
    }

    /// Number of task names that map to more than one raw name.
    pub fn collisions(&self) -> usize {
        self.colliding
    }

    /// Number of known tasks (served or not), of both sources.
    pub fn tasks(&self) -> usize {
        self.task_count
    }

    /// Replaces the Marathon source's records with a full listing (the Mesos source's
    /// stay).
    pub fn load(
        &mut self,
        revision: i64,
        tasks: impl IntoIterator<Item = TaskRecord>,
        apps: impl IntoIterator<Item = AppRecord>,
    ) -> UpdateStats {
        let mut changes: Vec<Change> = Vec::new();
        for (group, tasks) in &self.groups {
            if let Group::App(app_id) = group {
                changes.extend(tasks.iter().map(|ById(t)| Change::TaskRemoved {
                    app_id: app_id.clone(),
                    task_id: t.task_id.to_string(),
                }));
            }
        }
        changes.extend(self.apps.keys().map(|app_id| Change::AppRemoved {
            app_id: app_id.clone(),
        }));
        changes.extend(apps.into_iter().map(Change::App));
        changes.extend(tasks.into_iter().map(Change::Task));
        self.apply(revision, changes)
    }

    /// Replaces the Mesos source's records with a full listing (the Marathon source's
    /// stay).
    pub fn load_mesos(&mut self, snapshot: MesosSnapshot) -> UpdateStats {
        let mut changes = self.cluster.removals();
        for (framework_id, tasks) in &self.mesos_tasks {
            changes.extend(tasks.keys().map(|task_id| MesosChange::TaskRemoved {
                framework_id: framework_id.to_string(),
                task_id: task_id.to_string(),
            }));
        }
        changes.extend(snapshot.leader.map(|v| MesosChange::Leader(v.record)));
        let masters = snapshot.masters.into_iter().map(|v| v.record);
        changes.extend(masters.map(MesosChange::Master));
        let agents = snapshot.agents.into_iter().map(|v| v.record);
        changes.extend(agents.map(MesosChange::Agent));
        let frameworks = snapshot.frameworks.into_iter().map(|v| v.record);
        changes.extend(frameworks.map(MesosChange::Framework));
        let tasks = snapshot.tasks.into_iter().map(|v| v.record);
        changes.extend(tasks.map(MesosChange::Task));
        self.apply_mesos(snapshot.revision, changes)
    }

    /// Applies Marathon changes (idempotent: removals of unknown records are no-ops) and
    /// rebuilds the families they touch.
    pub fn apply(&mut self, revision: i64, changes: Vec<Change>) -> UpdateStats {
        // Every task takes its compact form before any record is freed, and the records
        // are then freed together: freed one at a time between the index's allocations,
        // they left holes in every page that stayed resident (~8 MB at 50,000 tasks).
        let steps: Vec<Step> = changes
            .iter()
            .map(|change| match change {
                Change::Task(record) => Step::Task(
                    Group::App(record.app_id.clone()),
                    ZoneTask::new(record, &mut self.strings),
                ),
                Change::TaskRemoved { app_id, task_id } => {
                    Step::TaskRemoved(Group::App(app_id.clone()), task_id.as_str().into())
                }
                Change::App(app) => Step::App(app.app_id.clone(), AppFacts::from(app)),
                Change::AppRemoved { app_id } => Step::AppRemoved(app_id.clone()),
            })
            .collect();
        drop(changes);
        let mut touched = Touched::default();
        for step in steps {
            match step {
                Step::Task(group, task) => {
                    self.insert_task(&group, task);
                    touched.groups.insert(group);
                }
                Step::TaskRemoved(group, task_id) => {
                    self.remove_task(&group, &task_id);
                    touched.groups.insert(group);
                }
                Step::App(app_id, facts) => {
                    self.apps.insert(app_id.clone(), facts);
                    touched.groups.insert(Group::App(app_id));
                }
                Step::AppRemoved(app_id) => {
                    self.apps.remove(&app_id);
                    touched.groups.insert(Group::App(app_id));
                }
            }
        }
        self.settle(revision, touched)
    }

    /// Applies Mesos changes (idempotent, like [`ZoneIndex::apply`]) and rebuilds what
    /// they touch: the families of the tasks' groups, the groups that borrow a changed
    /// agent's addresses or sit in a renamed framework, and the infrastructure names.
    pub fn apply_mesos(&mut self, revision: i64, changes: Vec<MesosChange>) -> UpdateStats {
        let mut touched = Touched::default();
        for change in changes {
            match change {
                MesosChange::Task(record) => {
                    let group = MesosGroup::of(&record, &mut self.strings);
                    let framework = group.framework_id.clone();
                    if self
                        .cluster
                        .note_task_framework(&framework, record.framework_name.as_deref())
                    {
                        self.touch_framework(&framework, &mut touched);
                    }
                    // A task whose DNS name changed leaves its old group.
                    if let Some(old) = self.forget_mesos_task(&framework, &record.task_id)
                        && old != group
                    {
                        let old = Group::Mesos(old);
                        self.remove_task(&old, &record.task_id);
                        touched.groups.insert(old);
                    }
                    let task = ZoneTask::from_mesos(&record, &mut self.strings);
                    self.mesos_tasks
                        .entry(framework)
                        .or_default()
                        .insert(record.task_id.as_str().into(), group.clone());
                    let group = Group::Mesos(group);
                    self.insert_task(&group, task);
                    touched.groups.insert(group);
                }
                MesosChange::TaskRemoved {
                    framework_id,
                    task_id,
                } => {
                    if let Some(group) = self.forget_mesos_task(&framework_id, &task_id) {
                        let group = Group::Mesos(group);
                        self.remove_task(&group, &task_id);
                        touched.groups.insert(group);
                    }
                }
                other => {
                    let Some(effect) = self.cluster.apply(other) else {
                        continue;
                    };
                    touched.infrastructure |= effect.infrastructure;
                    for agent in &effect.agents {
                        self.refresh_agent(agent, &mut touched);
                    }
                    if let Some(framework) = effect.framework {
                        self.touch_framework(&framework, &mut touched);
                    }
                }
            }
        }
        self.settle(revision, touched)
    }

    /// The framework label of a group's families.
    fn framework_of(&self, group: &Group) -> Option<Arc<str>> {
        match group {
            Group::App(_) => Some(self.marathon.clone()),
            Group::Mesos(g) => self.cluster.framework_label(&g.framework_id).map(Arc::from),
        }
    }

    /// Moves the touched groups to the families they now belong to, rebuilds those
    /// families (and the infrastructure names when touched) and sets the revision.
    fn settle(&mut self, revision: i64, touched: Touched) -> UpdateStats {
        let mut stats = UpdateStats::default();
        let mut rebuild: BTreeSet<Family> = BTreeSet::new();
        stats.groups = touched.groups.iter().cloned().collect();
        for group in touched.groups {
            let known = self.groups.contains_key(&group)
                || matches!(&group, Group::App(id) if self.apps.contains_key(id));
            let now: Vec<Family> = match self.framework_of(&group).filter(|_| known) {
                Some(framework) => group.families(&framework, self.naming().legacy_names),
                None => Vec::new(),
            };
            let before = self.placed.remove(&group).unwrap_or_default();
            for family in before.iter().filter(|f| !now.contains(f)) {
                if let Some(members) = self.families.get_mut(family) {
                    let was = collides(members);
                    members.remove(&group);
                    self.colliding =
                        self.colliding - usize::from(was) + usize::from(collides(members));
                    if members.is_empty() {
                        self.families.remove(family);
                    }
                }
                rebuild.insert(family.clone());
            }
            for family in &now {
                let members = self.families.entry(family.clone()).or_default();
                let was = collides(members);
                let joined = members.insert(&group);
                let is = collides(members);
                self.colliding = self.colliding - usize::from(was) + usize::from(is);
                if joined && is && newly_collides(members, &group) {
                    let raw = members.iter().map(|g| g.raw_name().into_owned());
                    stats
                        .new_collisions
                        .push((family.name.to_string(), raw.collect()));
                }
                rebuild.insert(family.clone());
            }
            if !now.is_empty() {
                self.placed.insert(group, now.into());
            }
        }
        stats.families = rebuild.len();
        for family in rebuild {
            self.rebuild_family(family);
        }
        if touched.infrastructure {
            self.rebuild_infrastructure();
        }
        self.snapshot.revision = self.snapshot.revision.max(revision);
        stats
    }

    /// Recomputes everything `family` publishes and republishes what changed.
    fn rebuild_family(&mut self, family: Family) {
        let family: Arc<Family> = match self.published.get_key_value(&family) {
            Some((key, _)) => key.clone(),
            None => Arc::new(family),
        };
        let mut entries = Vec::new();
        for group in self.families.get(&*family).into_iter().flatten() {
            let app = match group {
                Group::App(app_id) => self.apps.get(app_id),
                Group::Mesos(_) => None,
            };
            for ById(task) in self.groups.get(group).into_iter().flatten() {
                if self.naming().serves(task, app) {
                    entries.push(Arc::new(TaskEntry {
                        family: family.clone(),
                        task: task.clone(),
                        source: self.naming().address_source(task, app),
                    }));
                }
            }
        }
        self.republish(family, entries);
    }

    /// Recomputes the infrastructure names.
    fn rebuild_infrastructure(&mut self) {
        let fresh = by_name(infra::values(&self.cluster, self.naming()).into_iter());
        self.republish_infrastructure(fresh);
    }
}

/// The values of each name, by its stored form.
fn by_name(values: impl Iterator<Item = (LowerName, Value)>) -> HashMap<StoredName, Vec<Value>> {
    let mut by_name: HashMap<LowerName, Vec<Value>> = HashMap::new();
    for (name, value) in values {
        by_name.entry(name).or_default().push(value);
    }
    let stored = by_name.into_iter();
    stored
        .map(|(name, v)| (StoredName::new(&name), v))
        .collect()
}

/// True when the groups of one family have more than one raw name.
fn collides(groups: &Members) -> bool {
    let mut raw = groups.iter().map(Group::raw_name);
    let first = raw.next();
    raw.any(|r| Some(&r) != first.as_ref())
}

/// True when `group`'s raw name is new among `groups` (it just joined).
fn newly_collides(groups: &Members, group: &Group) -> bool {
    let raw = group.raw_name();
    groups
        .iter()
        .filter(|g| *g != group)
        .all(|g| g.raw_name() != raw)
}
