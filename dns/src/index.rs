//! The zone index: registry records in, name -> answer sets out.
//!
//! Names are grouped in *families*, one per task name `T` (an app label, or a legacy
//! dotted name): every name a family produces depends only on the apps mapped to `T` and
//! their tasks. A change rebuilds only the families of the apps it touches. The published
//! name table is split in copy-on-write shards, so a snapshot costs O(1) and publishing an
//! update copies only the shards it touched.
//!
//! Memory matters here (a node may serve 50,000 tasks): every name is allocated once and
//! shared (`Arc<LowerName>`) by the table, its owners and its family; answer sets are
//! exact-size slices; SRV and PTR targets are shared per task; task records are shared
//! with the snapshot.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use hickory_proto::rr::{LowerName, Name};
use registry::{AppId, AppRecord, Change, TaskRecord};

use crate::records::{Naming, SrvValue, Value};

/// The answers at one name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameRecords {
    /// A records.
    pub a: Box<[Ipv4Addr]>,
    /// AAAA records.
    pub aaaa: Box<[Ipv6Addr]>,
    /// SRV records (priority 0, weight 1).
    pub srv: Box<[SrvValue]>,
    /// PTR records.
    pub ptr: Box<[Arc<Name>]>,
}

impl NameRecords {
    fn from_values<'a>(values: impl Iterator<Item = &'a Value>) -> Self {
        let set: BTreeSet<&Value> = values.collect();
        let (mut a, mut aaaa, mut srv, mut ptr) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for value in set {
            match value {
                Value::Addr(std::net::IpAddr::V4(ip)) => a.push(*ip),
                Value::Addr(std::net::IpAddr::V6(ip)) => aaaa.push(*ip),
                Value::Srv(value) => srv.push(value.clone()),
                Value::Ptr(name) => ptr.push(name.clone()),
            }
        }
        NameRecords {
            a: a.into(),
            aaaa: aaaa.into(),
            srv: srv.into(),
            ptr: ptr.into(),
        }
    }

    fn is_empty(&self) -> bool {
        self.a.is_empty() && self.aaaa.is_empty() && self.srv.is_empty() && self.ptr.is_empty()
    }
}

/// A task as readers see it (for the HTTP API).
pub type TaskKey = (AppId, String);

/// Shards of the name table: enough that copying the touched ones stays cheap at 50,000
/// tasks (a few hundred names each), few enough that an empty table is small.
const SHARDS: usize = 1024;

/// One shard of the name table.
type Shard = HashMap<Arc<LowerName>, Arc<NameRecords>>;

/// Name -> answers, in copy-on-write shards.
#[derive(Clone, Debug)]
pub struct NameTable {
    shards: Arc<[Arc<Shard>]>,
    len: usize,
}

impl Default for NameTable {
    fn default() -> Self {
        NameTable {
            shards: (0..SHARDS).map(|_| Arc::new(HashMap::new())).collect(),
            len: 0,
        }
    }
}

fn shard_of(name: &LowerName) -> usize {
    let mut hasher = DefaultHasher::new();
    name.hash(&mut hasher);
    (hasher.finish() % SHARDS as u64) as usize
}

impl NameTable {
    /// The answers at `name`.
    pub fn get(&self, name: &LowerName) -> Option<&Arc<NameRecords>> {
        self.shards[shard_of(name)].get(name)
    }

    /// True when `name` has answers.
    pub fn contains_key(&self, name: &LowerName) -> bool {
        self.get(name).is_some()
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no names.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every name with its answers (in no particular order).
    pub fn iter(&self) -> impl Iterator<Item = (&LowerName, &Arc<NameRecords>)> {
        self.shards
            .iter()
            .flat_map(|s| s.iter().map(|(k, v)| (k.as_ref(), v)))
    }

    fn shard_mut(&mut self, name: &LowerName) -> &mut Shard {
        let index = shard_of(name);
        // Copy the shard list, then the shard, only if a published snapshot still uses them.
        let shards = Arc::make_mut(&mut self.shards);
        Arc::make_mut(&mut shards[index])
    }

    fn insert(&mut self, name: Arc<LowerName>, records: Arc<NameRecords>) -> bool {
        let added = self.shard_mut(&name).insert(name, records).is_none();
        self.len += usize::from(added);
        added
    }

    fn remove(&mut self, name: &LowerName) -> bool {
        if !self.contains_key(name) {
            return false;
        }
        let removed = self.shard_mut(name).remove(name).is_some();
        self.len -= usize::from(removed);
        removed
    }
}

/// An immutable view of the zone, shared by every query.
#[derive(Clone, Debug, Default)]
pub struct ZoneSnapshot {
    /// The etcd revision the snapshot reflects.
    pub revision: i64,
    /// Name -> answers.
    pub names: NameTable,
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

/// The families contributing to one name. Almost every name has exactly one (only reverse
/// names and colliding labels are shared); its values are then the published answer set
/// itself, so only shared names keep each family's values apart.
#[derive(Debug)]
enum Owners {
    One(Arc<str>),
    Many(Vec<(Arc<str>, Box<[Value]>)>),
}

impl NameRecords {
    /// The values these answers were built from (inverse of `from_values` up to order).
    fn values(&self) -> Box<[Value]> {
        let a = self.a.iter().map(|ip| Value::Addr((*ip).into()));
        let aaaa = self.aaaa.iter().map(|ip| Value::Addr((*ip).into()));
        let srv = self.srv.iter().cloned().map(Value::Srv);
        let ptr = self.ptr.iter().cloned().map(Value::Ptr);
        a.chain(aaaa).chain(srv).chain(ptr).collect()
    }
}

impl ZoneIndex {
    /// Sets `family`'s values at `name` and returns the name's new answer set.
    fn contribute(
        &mut self,
        name: &Arc<LowerName>,
        family: &Arc<str>,
        values: Vec<Value>,
    ) -> NameRecords {
        let published = self.snapshot.names.get(name).cloned();
        match self.owners.get_mut(name.as_ref()) {
            None => {
                self.owners
                    .insert(name.clone(), Owners::One(family.clone()));
                NameRecords::from_values(values.iter())
            }
            Some(Owners::One(f)) if f == family => NameRecords::from_values(values.iter()),
            Some(owners) => {
                if let Owners::One(first) = owners {
                    let theirs = published.map(|r| r.values()).unwrap_or_default();
                    *owners = Owners::Many(vec![(first.clone(), theirs)]);
                }
                let Owners::Many(list) = owners else {
                    unreachable!("converted above")
                };
                match list.iter_mut().find(|(f, _)| f == family) {
                    Some((_, v)) => *v = values.into(),
                    None => list.push((family.clone(), values.into())),
                }
                NameRecords::from_values(list.iter().flat_map(|(_, v)| v.iter()))
            }
        }
    }

    /// Removes `family`'s share of `name` and returns what is left to publish.
    fn withdraw(&mut self, name: &Arc<LowerName>, family: &str) -> NameRecords {
        let Some(owners) = self.owners.get_mut(name.as_ref()) else {
            return NameRecords::default();
        };
        match owners {
            Owners::One(f) if &**f == family => {
                self.owners.remove(name.as_ref());
                NameRecords::default()
            }
            // Another family owns it alone: its published answers stay.
            Owners::One(_) => self
                .snapshot
                .names
                .get(name)
                .map(|r| (**r).clone())
                .unwrap_or_default(),
            Owners::Many(list) => {
                list.retain(|(f, _)| &**f != family);
                let records = NameRecords::from_values(list.iter().flat_map(|(_, v)| v.iter()));
                if let [(f, _)] = list.as_slice() {
                    *owners = Owners::One(f.clone());
                }
                records
            }
        }
    }
}

/// The writer side: owns the records and keeps the snapshot up to date.
pub struct ZoneIndex {
    naming: Naming,
    apex: LowerName,
    apps: HashMap<AppId, AppRecord>,
    tasks: HashMap<AppId, HashMap<String, Arc<TaskRecord>>>,
    /// Task name `T` -> the apps mapped to it (more than one is a collision).
    families: HashMap<String, BTreeSet<AppId>>,
    /// Task name `T` -> the names its family currently publishes.
    family_names: HashMap<Arc<str>, Box<[Arc<LowerName>]>>,
    /// Name -> the families that contribute to it, with their values.
    owners: HashMap<Arc<LowerName>, Owners>,
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
                        .insert(task.task_id.clone(), Arc::new(task));
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
                    .insert((app_id.clone(), id.clone()), task.clone());
            }
        }
    }

    /// Recomputes every name of family `t` and republishes the names that changed.
    fn rebuild_family(&mut self, t: &str) {
        let mut fresh: HashMap<LowerName, Vec<Value>> = HashMap::new();
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
        let family: Arc<str> = match self.family_names.get_key_value(t) {
            Some((key, _)) => key.clone(),
            None => Arc::from(t),
        };
        let old = self.family_names.remove(t).unwrap_or_default();
        for name in old.iter().filter(|n| !fresh.contains_key(n.as_ref())) {
            let records = self.withdraw(name, t);
            self.publish(name, records);
        }
        let mut published = Vec::with_capacity(fresh.len());
        for (name, values) in fresh {
            // Reuse the one allocation of this name when it is already known.
            let name = match self.owners.get_key_value(&name) {
                Some((known, _)) => known.clone(),
                None => Arc::new(name),
            };
            let records = self.contribute(&name, &family, values);
            self.publish(&name, records);
            published.push(name);
        }
        if !published.is_empty() {
            self.family_names.insert(family, published.into());
        }
    }

    /// Publishes a name's answer set (an empty one removes the name).
    fn publish(&mut self, name: &Arc<LowerName>, records: NameRecords) {
        if records.is_empty() {
            if self.snapshot.names.remove(name) {
                self.adjust_ancestors(name, false);
            }
            return;
        }
        let unchanged = self
            .snapshot
            .names
            .get(name)
            .is_some_and(|r| **r == records);
        if !unchanged && self.snapshot.names.insert(name.clone(), Arc::new(records)) {
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

#[cfg(test)]
mod tests {
    use registry::{Health, Stamp, TaskState};

    use super::*;
    use crate::records::IpSource;

    fn naming() -> Naming {
        Naming {
            domain: Name::from_ascii("mesos.").unwrap(),
            framework: "marathon".into(),
            ip_sources: vec![IpSource::Netinfo, IpSource::Host],
            legacy_names: false,
            health_aware: true,
            bridge_task_ips: false,
        }
    }

    fn task(app: &str, id: &str, ip: &str) -> TaskRecord {
        TaskRecord {
            app_id: AppId::parse(app).unwrap(),
            task_id: id.into(),
            instance_id: None,
            agent_id: Some("x-S1".into()),
            host: ip.into(),
            agent_ips: vec![ip.parse().unwrap()],
            task_ips: vec![],
            ports: vec![],
            state: TaskState::Running,
            health: Health::Unknown,
            app_version: None,
            updated_at: Stamp::now(),
        }
    }

    fn ptr_targets(index: &ZoneIndex, ip: &str) -> Vec<String> {
        let ip: std::net::IpAddr = ip.parse().unwrap();
        let name = LowerName::new(&Name::from(ip));
        let snapshot = index.snapshot();
        snapshot
            .names
            .get(&name)
            .map(|r| r.ptr.iter().map(|n| n.to_string()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_name_shared_by_two_families_keeps_both_until_each_leaves() {
        let mut index = ZoneIndex::new(naming());
        index.load(
            1,
            vec![
                task("/web", "web.1", "10.0.0.5"),
                task("/db", "db.1", "10.0.0.5"),
            ],
            vec![],
        );
        let both = ptr_targets(&index, "10.0.0.5");
        assert_eq!(both.len(), 2, "{both:?}");
        assert!(
            both.iter().any(|t| t.starts_with("web-")) && both.iter().any(|t| t.starts_with("db-"))
        );

        // Rebuilding one family (a new task elsewhere) keeps the other's share.
        index.apply(2, vec![Change::Task(task("/web", "web.2", "10.0.0.6"))]);
        assert_eq!(ptr_targets(&index, "10.0.0.5").len(), 2);

        let gone = |app: &str, id: &str| Change::TaskRemoved {
            app_id: AppId::parse(app).unwrap(),
            task_id: id.into(),
        };
        index.apply(3, vec![gone("/db", "db.1")]);
        let left = ptr_targets(&index, "10.0.0.5");
        assert_eq!(left.len(), 1, "{left:?}");
        assert!(left[0].starts_with("web-"));

        index.apply(4, vec![gone("/web", "web.1")]);
        assert!(ptr_targets(&index, "10.0.0.5").is_empty());
        assert_eq!(ptr_targets(&index, "10.0.0.6").len(), 1);
        // A removal repeated (a tombstone, then its expiry) changes nothing.
        index.apply(5, vec![gone("/web", "web.1")]);
        assert_eq!(ptr_targets(&index, "10.0.0.6").len(), 1);
    }

    #[test]
    fn published_snapshots_are_not_changed_by_later_updates() {
        let mut index = ZoneIndex::new(naming());
        index.load(1, vec![task("/web", "web.1", "10.0.0.5")], vec![]);
        let before = index.snapshot();
        let names_before = before.names.len();
        index.apply(2, vec![Change::Task(task("/web", "web.2", "10.0.0.6"))]);
        assert_eq!(before.names.len(), names_before);
        assert!(index.snapshot().names.len() > names_before);
        let name = LowerName::new(&Name::from_ascii("web.marathon.mesos.").unwrap());
        assert_eq!(before.names.get(&name).map(|r| r.a.len()), Some(1));
        assert_eq!(
            index.snapshot().names.get(&name).map(|r| r.a.len()),
            Some(2)
        );
    }
}
