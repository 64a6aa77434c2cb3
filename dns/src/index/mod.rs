//! The zone index: registry records in, a published [`ZoneSnapshot`] out.
//!
//! Names are grouped in *families*, one per task name `T` (an app label, or a legacy
//! dotted name): everything a family publishes depends only on the apps mapped to `T` and
//! their tasks. A change rebuilds only the families of the apps it touches, and the
//! snapshot's tables are copy-on-write shards, so publishing an update copies only the
//! shards it touched.
//!
//! Memory matters here (a node may serve 50,000 tasks): tasks are kept in their compact
//! form ([`ZoneTask`]), once, and shared by every table that points at them; only the
//! names an app's tasks share are stored (see [`crate::snapshot`]); every stored name is
//! allocated once and shared by the table, its owners and its family.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use hickory_proto::rr::LowerName;
use registry::{AppId, AppRecord, Change, TaskRecord};

use crate::served::{Naming, Value};
use crate::snapshot::{EntryTable, NameRecords, ZoneNames, ZoneSnapshot, canonical_key};
use crate::task::{AppFacts, Interner, TaskEntry, ZoneTask};

/// A task in its app's set, found by its id.
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

/// The families contributing to one name. Almost every name has exactly one (only
/// colliding labels share names); its values are then the published answer set itself,
/// so only shared names keep each family's values apart.
#[derive(Debug)]
enum Owners {
    One(Arc<str>),
    Many(Vec<(Arc<str>, Box<[Value]>)>),
}

/// What one family currently publishes, so that a rebuild can take it back.
#[derive(Debug, Default)]
struct Published {
    names: Box<[Arc<LowerName>]>,
    entries: Box<[Arc<TaskEntry>]>,
}

/// The writer side: owns the records and keeps the snapshot up to date.
pub struct ZoneIndex {
    zone: Arc<ZoneNames>,
    apex: LowerName,
    strings: Interner,
    apps: HashMap<AppId, AppFacts>,
    tasks: HashMap<AppId, HashSet<ById>>,
    task_count: usize,
    /// Task name `T` -> the apps mapped to it (more than one is a collision).
    families: HashMap<String, BTreeSet<AppId>>,
    /// Task name `T` -> what its family currently publishes.
    published: HashMap<Arc<str>, Published>,
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
        let zone = Arc::new(ZoneNames::new(naming));
        ZoneIndex {
            snapshot: ZoneSnapshot {
                zone: zone.clone(),
                ..ZoneSnapshot::default()
            },
            zone,
            apex,
            strings: Interner::default(),
            apps: HashMap::new(),
            tasks: HashMap::new(),
            task_count: 0,
            families: HashMap::new(),
            published: HashMap::new(),
            owners: HashMap::new(),
        }
    }

    fn naming(&self) -> &Naming {
        &self.zone.naming
    }

    /// The current snapshot (O(1) to clone).
    pub fn snapshot(&self) -> Arc<ZoneSnapshot> {
        Arc::new(self.snapshot.clone())
    }

    /// Number of task names that map to more than one app id.
    pub fn collisions(&self) -> usize {
        self.families.values().filter(|a| a.len() > 1).count()
    }

    /// Number of known tasks (served or not).
    pub fn tasks(&self) -> usize {
        self.task_count
    }

    /// Replaces everything with a full listing.
    pub fn load(
        &mut self,
        revision: i64,
        tasks: impl IntoIterator<Item = TaskRecord>,
        apps: impl IntoIterator<Item = AppRecord>,
    ) -> UpdateStats {
        let naming = self.naming().clone();
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
                Change::Task(record) => {
                    let task = ById(Arc::new(ZoneTask::new(&record, &mut self.strings)));
                    let tasks = self.tasks.entry(record.app_id.clone()).or_default();
                    if tasks.replace(task).is_none() {
                        self.task_count += 1;
                    }
                    touched.insert(record.app_id);
                }
                Change::TaskRemoved { app_id, task_id } => {
                    if let Some(tasks) = self.tasks.get_mut(&app_id) {
                        if tasks.remove(task_id.as_str()) {
                            self.task_count -= 1;
                        }
                        if tasks.is_empty() {
                            self.tasks.remove(&app_id);
                        }
                    }
                    touched.insert(app_id);
                }
                Change::App(app) => {
                    self.apps.insert(app.app_id.clone(), AppFacts::from(&app));
                    touched.insert(app.app_id);
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
            let known = self.apps.contains_key(app_id) || self.tasks.contains_key(app_id);
            for t in self.naming().task_names(app_id) {
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

    /// Recomputes everything family `t` publishes and republishes what changed.
    fn rebuild_family(&mut self, t: &str) {
        let family: Arc<str> = match self.published.get_key_value(t) {
            Some((key, _)) => key.clone(),
            None => Arc::from(t),
        };
        let mut entries = Vec::new();
        for app_id in self.families.get(t).into_iter().flatten() {
            let app = self.apps.get(app_id);
            for ById(task) in self.tasks.get(app_id).into_iter().flatten() {
                if self.naming().serves(task, app) {
                    entries.push(Arc::new(TaskEntry {
                        family: family.clone(),
                        task: task.clone(),
                        source: self.naming().address_source(task, app),
                    }));
                }
            }
        }
        let mut fresh: HashMap<LowerName, Vec<Value>> = HashMap::new();
        for entry in &entries {
            for (name, value) in self.naming().family_values(entry) {
                fresh.entry(name).or_default().push(value);
            }
        }
        let old = self.published.remove(t).unwrap_or_default();
        for name in old.names.iter().filter(|n| !fresh.contains_key(n.as_ref())) {
            let records = self.withdraw(name, t);
            self.publish(name, records);
        }
        let mut names = Vec::with_capacity(fresh.len());
        for (name, values) in fresh {
            // Reuse the one allocation of this name when it is already known.
            let name = match self.owners.get_key_value(&name) {
                Some((known, _)) => known.clone(),
                None => Arc::new(name),
            };
            let records = self.contribute(&name, &family, values);
            self.publish(&name, records);
            names.push(name);
        }
        for entry in old.entries.iter() {
            self.index_entry(entry, false);
        }
        for entry in &entries {
            self.index_entry(entry, true);
        }
        if !names.is_empty() || !entries.is_empty() {
            let published = Published {
                names: names.into(),
                entries: entries.into(),
            };
            self.published.insert(family, published);
        }
    }

    /// Adds (or removes) a served task to the canonical-name and reverse tables.
    fn index_entry(&mut self, entry: &Arc<TaskEntry>, add: bool) {
        let key = canonical_key(&entry.canonical_label());
        update_entries(&mut self.snapshot.canonical, key, entry, add);
        for ip in entry.addresses() {
            update_entries(&mut self.snapshot.reverse, *ip, entry, add);
        }
        // A dotted (legacy) task name puts its canonical names below names of their own
        // (`web.prod-4dfjd-s3` below `prod-4dfjd-s3`), which then exist. An undotted one's
        // ancestors are its family's `T` names' ancestors, counted with those.
        if entry.family.contains('.') {
            let forms = [
                (false, !entry.addresses().is_empty()),
                (true, !entry.task.agent_ips.is_empty()),
            ];
            for (slave, _) in forms.iter().filter(|(_, exists)| *exists) {
                if let Some(name) = self.naming().canonical_name(entry, *slave) {
                    self.adjust_ancestors(&LowerName::new(&name), add);
                }
            }
        }
    }

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
                    *owners = Owners::Many(vec![(first.clone(), theirs.into())]);
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

/// Adds `entry` to (or removes its family's entries from) the list at `key`.
fn update_entries<K: Hash + Eq + Clone>(
    table: &mut EntryTable<K>,
    key: K,
    entry: &Arc<TaskEntry>,
    add: bool,
) {
    let list = table.get(&key).map(|l| &l[..]).unwrap_or_default();
    let updated: Box<[Arc<TaskEntry>]> = if add {
        list.iter().chain([entry]).cloned().collect()
    } else {
        if !list.iter().any(|e| e.family == entry.family) {
            return;
        }
        list.iter()
            .filter(|e| e.family != entry.family)
            .cloned()
            .collect()
    };
    if updated.is_empty() {
        table.remove(&key);
    } else {
        table.insert(key, updated);
    }
}

#[cfg(test)]
mod tests {
    use registry::TaskState;

    use super::*;
    use crate::test_support::naming;
    use hickory_proto::rr::Name;

    /// A task of `app` without ports on agent `x-S1` (canonical names end in `-s1`).
    fn task(app: &str, id: &str, ip: &str) -> TaskRecord {
        registry::harness::records::task(app, id, ip)
            .agent_id("x-S1")
            .build()
    }

    fn ptr_targets(index: &ZoneIndex, ip: &str) -> Vec<String> {
        let ip: std::net::IpAddr = ip.parse().unwrap();
        let name = LowerName::new(&Name::from(ip));
        let snapshot = index.snapshot();
        snapshot
            .lookup(&name)
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
        let entries_before = before.entries().count();
        index.apply(2, vec![Change::Task(task("/web", "web.2", "10.0.0.6"))]);
        assert_eq!(before.entries().count(), entries_before);
        assert_eq!(index.snapshot().entries().count(), entries_before + 1);
        let h = crate::names::task_hash("web.2");
        let own = Name::from_ascii(format!("web-{h}-s1.marathon.mesos.")).unwrap();
        let own = LowerName::new(&own);
        assert!(before.lookup(&own).is_none());
        assert_eq!(index.snapshot().lookup(&own).map(|r| r.a.len()), Some(1));
        let name = LowerName::new(&Name::from_ascii("web.marathon.mesos.").unwrap());
        assert_eq!(before.names.get(&name).map(|r| r.a.len()), Some(1));
        assert_eq!(
            index.snapshot().names.get(&name).map(|r| r.a.len()),
            Some(2)
        );
    }

    fn lower(text: &str) -> LowerName {
        LowerName::new(&Name::from_ascii(text).unwrap())
    }

    fn a_records(index: &ZoneIndex, name: &str) -> Vec<String> {
        let snapshot = index.snapshot();
        snapshot
            .lookup(&lower(name))
            .map(|r| r.a.iter().map(|ip| ip.to_string()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn canonical_names_follow_their_task() {
        let mut index = ZoneIndex::new(naming());
        let h = crate::names::task_hash("web.1");
        let own = format!("web-{h}-s1.marathon.mesos.");
        let slave = format!("web-{h}-s1.marathon.slave.mesos.");
        index.load(1, vec![task("/web", "web.1", "10.0.0.5")], vec![]);
        assert_eq!(a_records(&index, &own), ["10.0.0.5"]);
        assert_eq!(a_records(&index, &slave), ["10.0.0.5"]);
        assert_eq!(
            a_records(&index, &own.to_uppercase()),
            ["10.0.0.5"],
            "names match case-insensitively"
        );
        assert!(
            !index
                .snapshot()
                .exists(&lower(&format!("web-{h}-s2.marathon.mesos.")))
        );

        // The agent moves: the PTR and the canonical name follow.
        let mut moved = task("/web", "web.1", "10.0.0.9");
        moved.agent_id = Some("x-S2".into());
        index.apply(2, vec![Change::Task(moved.clone())]);
        assert!(a_records(&index, &own).is_empty());
        assert_eq!(
            a_records(&index, &format!("web-{h}-s2.marathon.mesos.")),
            ["10.0.0.9"]
        );
        assert!(ptr_targets(&index, "10.0.0.5").is_empty());
        assert_eq!(ptr_targets(&index, "10.0.0.9").len(), 1);

        // Not served any more: every name of the task goes.
        moved.state = TaskState::Killed;
        index.apply(3, vec![Change::Task(moved)]);
        assert!(a_records(&index, &format!("web-{h}-s2.marathon.mesos.")).is_empty());
        assert!(ptr_targets(&index, "10.0.0.9").is_empty());
        assert_eq!(index.snapshot().entries().count(), 0);
        assert_eq!(index.tasks(), 1, "still known, for the next update");
    }

    #[test]
    fn legacy_canonical_names_have_their_ancestors() {
        let mut index = ZoneIndex::new(Naming {
            legacy_names: true,
            ..naming()
        });
        index.load(1, vec![task("/prod/web", "prod_web.1", "10.0.0.5")], vec![]);
        let h = crate::names::task_hash("prod_web.1");
        assert_eq!(
            a_records(&index, &format!("web.prod-{h}-s1.marathon.mesos.")),
            ["10.0.0.5"]
        );
        let parent = lower(&format!("prod-{h}-s1.marathon.mesos."));
        assert!(index.snapshot().exists(&parent), "an empty non-terminal");
        assert!(index.snapshot().lookup(&parent).is_none());
        index.apply(
            2,
            vec![Change::TaskRemoved {
                app_id: AppId::parse("/prod/web").unwrap(),
                task_id: "prod_web.1".into(),
            }],
        );
        assert!(!index.snapshot().exists(&parent));
        assert!(index.snapshot().empty_non_terminals.is_empty());
    }

    #[test]
    fn a_canonical_name_that_is_also_an_app_label_answers_both() {
        let mut index = ZoneIndex::new(naming());
        let h = crate::names::task_hash("web.1");
        // `/s1/<hash>/web` is labelled `web-<hash>-s1`: the canonical name of `web.1`.
        let twin = format!("/s1/{h}/web");
        index.load(
            1,
            vec![
                task("/web", "web.1", "10.0.0.5"),
                task(&twin, "twin.1", "10.0.0.6"),
            ],
            vec![],
        );
        let mut both = a_records(&index, &format!("web-{h}-s1.marathon.mesos."));
        both.sort();
        assert_eq!(both, ["10.0.0.5", "10.0.0.6"]);
    }

    #[test]
    fn shortened_canonical_names_are_found() {
        let mut index = ZoneIndex::new(naming());
        let long = format!("/{}", "x".repeat(70));
        index.load(1, vec![task(&long, "x.1", "10.0.0.5")], vec![]);
        let label = crate::names::canonical_label(&"x".repeat(63), "x.1", Some("x-S1"));
        assert_eq!(label.len(), 63);
        assert_eq!(
            a_records(&index, &format!("{label}.marathon.mesos.")),
            ["10.0.0.5"]
        );
        assert_eq!(
            ptr_targets(&index, "10.0.0.5"),
            [format!("{label}.marathon.mesos.")]
        );
    }
}
