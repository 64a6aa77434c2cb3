//! How the index publishes into the snapshot: a family's served tasks (the family table,
//! which answers the names they share, and the canonical-name and reverse tables), the
//! stored infrastructure names, and the count of empty non-terminals.
//!
//! A family's shared names are not stored, but their ancestors must exist: each family
//! counts the ancestors of its names in the empty non-terminals, except those that are
//! names of its own (`_T._tcp.F.D` above `_N._T._tcp.F.D`), which exist while it
//! publishes them anyway.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use hickory_proto::rr::LowerName;

use super::ZoneIndex;
use crate::few::Few;
use crate::served::Value;
use crate::shared_names::{Shared, family_keys};
use crate::snapshot::{Entries, FamilyTasks, NameRecords, canonical_key};
use crate::stored_name::{self, NameBytes, StoredName};
use crate::task::{Family, TaskEntry};

/// The wire octets ([`NameBytes`]) of the names a family's tasks share.
type NameSet = BTreeSet<Box<[u8]>>;

impl ZoneIndex {
    /// Replaces the served tasks of `family` with `entries`.
    pub(super) fn republish(&mut self, family: Arc<Family>, entries: Vec<Arc<TaskEntry>>) {
        let old = self.published.remove(&*family);
        let keys = family_keys(&family);
        let old_named = self.family_tasks(&family, keys.0);
        // Only tasks whose canonical names are names have shared names (SRV targets). The
        // plain name is the `.slave.` one without a label: when that one is a name, so is it.
        let named: Vec<Arc<TaskEntry>> = entries
            .iter()
            .filter(|e| self.naming().canonical_name(e, true).is_some())
            .cloned()
            .collect();
        let entries: FamilyTasks = entries.into();
        let named: Option<FamilyTasks> = match named.len() {
            0 => None,
            n if n == entries.len() => Some(entries.clone()),
            _ => Some(named.into()),
        };
        let old_names = self.shared_names(&family, old_named.as_deref().unwrap_or_default());
        let new_names = self.shared_names(&family, named.as_deref().unwrap_or_default());
        if old_names != new_names {
            self.count_ancestors(&old_names, -1);
            self.count_ancestors(&new_names, 1);
            self.snapshot.shared_names =
                self.snapshot.shared_names + new_names.len() - old_names.len();
        }
        for key in [Some(keys.0), keys.1].into_iter().flatten() {
            let list = self.snapshot.families.get(&key);
            let kept = list
                .map(Few::as_slice)
                .unwrap_or_default()
                .iter()
                .filter(|tasks| tasks.first().is_none_or(|e| e.family != family));
            let updated = kept.cloned().chain(named.clone()).collect();
            self.snapshot.families.set(key, Few::non_empty(updated));
        }
        for entry in old.iter().flat_map(|tasks| tasks.iter()) {
            self.index_entry(entry, false);
        }
        for entry in entries.iter() {
            self.index_entry(entry, true);
        }
        if !entries.is_empty() {
            self.published.insert(family, entries);
        }
    }

    /// The tasks of `family` in the family table (at its key `key`).
    fn family_tasks(&self, family: &Family, key: u64) -> Option<FamilyTasks> {
        let found = self.snapshot.families.get(&key)?;
        let mine = found
            .as_slice()
            .iter()
            .find(|tasks| tasks.first().is_some_and(|e| *e.family == *family));
        mine.cloned()
    }

    /// The names `named` (served tasks of `family` whose canonical names are names) share.
    fn shared_names(&self, family: &Family, named: &[Arc<TaskEntry>]) -> NameSet {
        let mut kinds = BTreeSet::new();
        for entry in named {
            Shared::of(entry, &mut kinds);
        }
        let mut names = NameSet::new();
        for kind in kinds {
            let (label, slave) = kind.label(family);
            if let Some(name) = self.naming().name_in(&label, &family.framework, slave) {
                names.insert(NameBytes::new(&LowerName::new(&name)).as_bytes().into());
            }
        }
        names
    }

    /// Counts (`delta` 1) or uncounts (-1) the ancestors of `names` in the empty
    /// non-terminals, except those in `names`.
    fn count_ancestors(&mut self, names: &NameSet, delta: i64) {
        let mut ancestors: BTreeMap<&[u8], i64> = BTreeMap::new();
        for name in names {
            self.ancestors_of(name, |ancestor| {
                if !names.contains(ancestor) {
                    *ancestors.entry(ancestor).or_default() += delta;
                }
            });
        }
        for (ancestor, delta) in ancestors {
            self.bump(ancestor, delta);
        }
    }

    /// Adds (or removes) a served task to the canonical-name and reverse tables.
    fn index_entry(&mut self, entry: &Arc<TaskEntry>, add: bool) {
        let key = canonical_key(&entry.canonical_relative());
        let canonical = self.snapshot.canonical.get(&key);
        if let Some(updated) = updated_entries(canonical, entry, add) {
            self.snapshot.canonical.set(key, updated);
        }
        for &ip in entry.addresses() {
            let reverse = self.snapshot.reverse.get(&ip);
            if let Some(updated) = updated_entries(reverse, entry, add) {
                self.snapshot.reverse.set(ip, updated);
            }
        }
        // A dotted (legacy) task name puts its canonical names below names of their own
        // (`web.prod-4dfjd-s3` below `prod-4dfjd-s3`), which then exist. An undotted one's
        // ancestors are its family's `T` names' ancestors, counted with those.
        if entry.family.name.contains('.') {
            let forms = [
                (false, !entry.addresses().is_empty()),
                (true, !entry.task.agent_ips.is_empty()),
            ];
            for (slave, _) in forms.iter().filter(|(_, exists)| *exists) {
                if let Some(name) = self.naming().canonical_name(entry, *slave) {
                    let name = NameBytes::new(&LowerName::new(&name));
                    self.adjust_ancestors(name.as_bytes(), add);
                }
            }
        }
    }

    /// Replaces the stored infrastructure names with `fresh`, republishing only the
    /// names whose answers change.
    pub(super) fn republish_infrastructure(&mut self, fresh: HashMap<StoredName, Vec<Value>>) {
        let old = std::mem::take(&mut self.infrastructure);
        // Names often hold equal answers (`leader` and `master` with one master): they
        // share one allocation.
        let mut shared = HashSet::new();
        for name in old.iter().filter(|n| !fresh.contains_key(*n)) {
            self.publish(name, NameRecords::default(), &mut shared);
        }
        let mut names = Vec::with_capacity(fresh.len());
        for (name, values) in fresh {
            // Reuse the one allocation of this name when it is already known.
            let name = match self.snapshot.names.get_key_value(&name) {
                Some((known, _)) => known.clone(),
                None => name,
            };
            self.publish(&name, NameRecords::from_values(values.iter()), &mut shared);
            names.push(name);
        }
        self.infrastructure = names.into();
    }

    /// Publishes a name's answer set (an empty one removes the name), sharing the
    /// allocation of an equal set in `shared` (and adding its own there).
    fn publish(
        &mut self,
        name: &StoredName,
        records: NameRecords,
        shared: &mut HashSet<Arc<NameRecords>>,
    ) {
        if records.is_empty() {
            if self.snapshot.names.remove(name) {
                self.adjust_ancestors(name.as_bytes(), false);
            }
            return;
        }
        if let Some(current) = self.snapshot.names.get(name)
            && current.same_as(&records)
        {
            shared.insert(current.clone());
            return;
        }
        let records = match shared.get(&records) {
            Some(equal) => equal.clone(),
            None => {
                let records = Arc::new(records);
                shared.insert(records.clone());
                records
            }
        };
        if self.snapshot.names.insert(name.clone(), records) {
            self.adjust_ancestors(name.as_bytes(), true);
        }
    }

    /// Counts `name` in the empty non-terminals between it and the apex.
    fn adjust_ancestors(&mut self, name: &[u8], add: bool) {
        let mut ancestors = Vec::new();
        self.ancestors_of(name, |ancestor| ancestors.push(ancestor));
        for ancestor in ancestors {
            self.bump(ancestor, if add { 1 } else { -1 });
        }
    }

    /// Calls `f` with each name between `name` and the apex (both left out); none when
    /// `name` is not below the apex.
    fn ancestors_of<'n>(&self, name: &'n [u8], mut f: impl FnMut(&'n [u8])) {
        let apex = NameBytes::new(&self.apex);
        let apex = apex.as_bytes();
        if !stored_name::within(name, apex) {
            return;
        }
        let mut current = stored_name::parent(name);
        while let Some(ancestor) = current.filter(|a| a.len() > apex.len()) {
            f(ancestor);
            current = stored_name::parent(ancestor);
        }
    }

    /// Adds `delta` to the count of names below the empty non-terminal `ancestor`.
    fn bump(&mut self, ancestor: &[u8], delta: i64) {
        let ents = &mut self.snapshot.empty_non_terminals;
        let count = i64::from(ents.get(ancestor).copied().unwrap_or(0)) + delta;
        match u32::try_from(count) {
            Ok(0) | Err(_) => {
                ents.remove(ancestor);
            }
            Ok(count) => {
                let key = match ents.get_key_value(ancestor) {
                    Some((known, _)) => known.clone(),
                    None => StoredName::from_bytes(ancestor),
                };
                ents.insert(key, count);
            }
        }
    }
}

/// `list` with `entry` added (or its family's entries removed); `None` when nothing
/// changes, `Some(None)` when nothing is left.
fn updated_entries(
    list: Option<&Entries>,
    entry: &Arc<TaskEntry>,
    add: bool,
) -> Option<Option<Entries>> {
    let list = list.map(Few::as_slice).unwrap_or_default();
    if add {
        let grown = list.iter().chain([entry]).cloned().collect();
        return Some(Few::non_empty(grown));
    }
    if !list.iter().any(|e| e.family == entry.family) {
        return None;
    }
    let kept = list.iter().filter(|e| e.family != entry.family);
    Some(Few::non_empty(kept.cloned().collect()))
}
