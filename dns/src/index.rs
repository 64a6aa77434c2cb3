//! The zone index: registry records in, name -> answer sets out.
//!
//! Names are grouped in *families*, one per task name `T` (an app label, or a legacy
//! dotted name): every name a family produces depends only on the apps mapped to `T` and
//! their tasks. A change rebuilds only the families of the apps it touches, and the
//! published maps are persistent (`imbl`), so a snapshot costs O(1) and an update costs
//! O(changed names).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use hickory_proto::rr::LowerName;
use registry::{AppId, AppRecord, Change, TaskRecord};

use crate::records::{Naming, SrvValue, Value};

/// The answers at one name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameRecords {
    /// A records.
    pub a: Vec<Ipv4Addr>,
    /// AAAA records.
    pub aaaa: Vec<Ipv6Addr>,
    /// SRV records (priority 0, weight 1).
    pub srv: Vec<SrvValue>,
    /// PTR records.
    pub ptr: Vec<hickory_proto::rr::Name>,
}

impl NameRecords {
    fn from_values<'a>(values: impl Iterator<Item = &'a Value>) -> Self {
        let set: BTreeSet<&Value> = values.collect();
        let mut out = NameRecords::default();
        for value in set {
            match value {
                Value::Addr(std::net::IpAddr::V4(ip)) => out.a.push(*ip),
                Value::Addr(std::net::IpAddr::V6(ip)) => out.aaaa.push(*ip),
                Value::Srv(srv) => out.srv.push(srv.clone()),
                Value::Ptr(name) => out.ptr.push(name.clone()),
            }
        }
        out
    }
}

/// A task as readers see it (for the HTTP API).
pub type TaskKey = (AppId, String);

/// An immutable view of the zone, shared by every query.
#[derive(Clone, Debug, Default)]
pub struct ZoneSnapshot {
    /// The etcd revision the snapshot reflects.
    pub revision: i64,
    /// Name -> answers.
    pub names: imbl::HashMap<LowerName, Arc<NameRecords>>,
    /// Empty non-terminals (ancestors of published names): they exist, with no records.
    pub empty_non_terminals: imbl::HashMap<LowerName, u32>,
    /// Every known task (served or not), for the HTTP API.
    pub tasks: imbl::OrdMap<TaskKey, Arc<TaskRecord>>,
    /// Every known app record, for the HTTP API.
    pub apps: imbl::OrdMap<AppId, Arc<AppRecord>>,
}

impl ZoneSnapshot {
    /// True when the name owns records or is an ancestor of a name that does.
    pub fn exists(&self, name: &LowerName) -> bool {
        self.names.contains_key(name) || self.empty_non_terminals.contains_key(name)
    }
}

/// The writer side: owns the records and keeps the snapshot up to date.
pub struct ZoneIndex {
    naming: Naming,
    apex: LowerName,
    apps: HashMap<AppId, AppRecord>,
    tasks: HashMap<AppId, BTreeMap<String, TaskRecord>>,
    /// Task name `T` -> the apps mapped to it (more than one is a collision).
    families: HashMap<String, BTreeSet<AppId>>,
    /// Task name `T` -> the names its family currently publishes.
    family_names: HashMap<String, BTreeSet<LowerName>>,
    /// Name -> family -> values contributed.
    owners: HashMap<LowerName, BTreeMap<String, Vec<Value>>>,
    snapshot: ZoneSnapshot,
}

/// What an update did, for logs and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateStats {
    /// Families rebuilt.
    pub families: usize,
    /// Task names that newly map to more than one app id (collisions).
    pub new_collisions: Vec<(String, Vec<AppId>)>,
}

impl ZoneIndex {
    /// An empty index.
    pub fn new(naming: Naming) -> Self {
        let apex = LowerName::new(&naming.domain);
        ZoneIndex {
            naming,
            apex,
            apps: HashMap::new(),
            tasks: HashMap::new(),
            families: HashMap::new(),
            family_names: HashMap::new(),
            owners: HashMap::new(),
            snapshot: ZoneSnapshot::default(),
        }
    }

    /// The current snapshot (O(1) to clone).
    pub fn snapshot(&self) -> Arc<ZoneSnapshot> {
        Arc::new(self.snapshot.clone())
    }

    /// Number of task names that map to more than one app id.
    pub fn collisions(&self) -> usize {
        self.families.values().filter(|a| a.len() > 1).count()
    }

    /// Replaces everything with a full listing.
    pub fn load(
        &mut self,
        revision: i64,
        tasks: impl IntoIterator<Item = TaskRecord>,
        apps: impl IntoIterator<Item = AppRecord>,
    ) -> UpdateStats {
        let naming = self.naming.clone();
        *self = ZoneIndex::new(naming);
        let mut changes: Vec<Change> = apps.into_iter().map(Change::App).collect();
        changes.extend(tasks.into_iter().map(Change::Task));
        self.apply(revision, changes)
    }

    /// Applies changes (idempotent: removals of unknown records are no-ops) and rebuilds
    /// the families they touch.
    pub fn apply(&mut self, revision: i64, changes: Vec<Change>) -> UpdateStats {
        let mut touched: BTreeSet<AppId> = BTreeSet::new();
        for change in changes {
            match change {
                Change::Task(task) => {
                    touched.insert(task.app_id.clone());
                    self.tasks
                        .entry(task.app_id.clone())
                        .or_default()
                        .insert(task.task_id.clone(), task);
                }
                Change::TaskRemoved { app_id, task_id } => {
                    if let Some(tasks) = self.tasks.get_mut(&app_id) {
                        tasks.remove(&task_id);
                        if tasks.is_empty() {
                            self.tasks.remove(&app_id);
                        }
                    }
                    touched.insert(app_id);
                }
                Change::App(app) => {
                    touched.insert(app.app_id.clone());
                    self.apps.insert(app.app_id.clone(), app);
                }
                Change::AppRemoved { app_id } => {
                    self.apps.remove(&app_id);
                    touched.insert(app_id);
                }
            }
        }
        let mut stats = UpdateStats::default();
        let mut rebuild: BTreeSet<String> = BTreeSet::new();
        for app_id in &touched {
            self.sync_tasks_snapshot(app_id);
            match self.apps.get(app_id) {
                Some(app) => self
                    .snapshot
                    .apps
                    .insert(app_id.clone(), Arc::new(app.clone())),
                None => self.snapshot.apps.remove(app_id),
            };
            let known = self.apps.contains_key(app_id) || self.tasks.contains_key(app_id);
            for t in self.naming.task_names(app_id) {
                let members = self.families.entry(t.clone()).or_default();
                let added = if known {
                    members.insert(app_id.clone())
                } else {
                    members.remove(app_id);
                    false
                };
                if added && members.len() > 1 {
                    stats
                        .new_collisions
                        .push((t.clone(), members.iter().cloned().collect()));
                }
                if members.is_empty() {
                    self.families.remove(&t);
                }
                rebuild.insert(t);
            }
        }
        stats.families = rebuild.len();
        for t in rebuild {
            self.rebuild_family(&t);
        }
        self.snapshot.revision = revision;
        stats
    }

    fn sync_tasks_snapshot(&mut self, app_id: &AppId) {
        let stale: Vec<TaskKey> = self
            .snapshot
            .tasks
            .range((app_id.clone(), String::new())..)
            .take_while(|((a, _), _)| a == app_id)
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            self.snapshot.tasks.remove(&key);
        }
        if let Some(tasks) = self.tasks.get(app_id) {
            for (id, task) in tasks {
                self.snapshot
                    .tasks
                    .insert((app_id.clone(), id.clone()), Arc::new(task.clone()));
            }
        }
    }

    /// Recomputes every name of family `t` and republishes the names that changed.
    fn rebuild_family(&mut self, t: &str) {
        let mut fresh: BTreeMap<LowerName, Vec<Value>> = BTreeMap::new();
        for app_id in self.families.get(t).into_iter().flatten() {
            let app = self.apps.get(app_id);
            for task in self.tasks.get(app_id).into_iter().flat_map(|m| m.values()) {
                if self.naming.serves(task, app) {
                    for (name, value) in self.naming.task_values(t, task, app) {
                        fresh.entry(name).or_default().push(value);
                    }
                }
            }
        }
        let old = self.family_names.remove(t).unwrap_or_default();
        let new: BTreeSet<LowerName> = fresh.keys().cloned().collect();
        for name in old.difference(&new) {
            if let Some(owners) = self.owners.get_mut(name) {
                owners.remove(t);
            }
            self.republish(name);
        }
        for (name, values) in fresh {
            self.owners
                .entry(name.clone())
                .or_default()
                .insert(t.to_string(), values);
            self.republish(&name);
        }
        if !new.is_empty() {
            self.family_names.insert(t.to_string(), new);
        }
    }

    /// Rebuilds the published answers of one name from its owners.
    fn republish(&mut self, name: &LowerName) {
        let records = self
            .owners
            .get(name)
            .map(|o| NameRecords::from_values(o.values().flatten()))
            .unwrap_or_default();
        if records == NameRecords::default() {
            self.owners.remove(name);
            if self.snapshot.names.remove(name).is_some() {
                self.adjust_ancestors(name, false);
            }
            return;
        }
        let unchanged = self
            .snapshot
            .names
            .get(name)
            .is_some_and(|r| **r == records);
        if !unchanged
            && self
                .snapshot
                .names
                .insert(name.clone(), Arc::new(records))
                .is_none()
        {
            self.adjust_ancestors(name, true);
        }
    }

    /// Counts `name` in the empty non-terminals between it and the apex.
    fn adjust_ancestors(&mut self, name: &LowerName, add: bool) {
        if !self.apex.zone_of(name) {
            return;
        }
        let mut current = name.base_name();
        while current != self.apex && self.apex.zone_of(&current) {
            let ents = &mut self.snapshot.empty_non_terminals;
            let count = ents.get(&current).copied().unwrap_or(0);
            if add {
                ents.insert(current.clone(), count + 1);
            } else if count <= 1 {
                ents.remove(&current);
            } else {
                ents.insert(current.clone(), count - 1);
            }
            current = current.base_name();
        }
    }
}
