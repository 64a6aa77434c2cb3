//! How the index publishes a family's names into the snapshot: the owners of each stored
//! name (a name two families share answers the union of their values), the canonical-name
//! and reverse tables, and the count of empty non-terminals.
//!
//! Almost every name has one owner: the family whose [`Published`] names list it. Only
//! the rare names that several families share are in the index's `shared` table, with
//! each family's values apart.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use hickory_proto::rr::LowerName;

use super::ZoneIndex;
use crate::served::Value;
use crate::snapshot::{Entries, NameRecords, canonical_key};
use crate::stored_name::{self, NameBytes, StoredName};
use crate::task::{Family, TaskEntry};

/// The families contributing to a name that several share, each with its values.
pub(super) type Owners = Vec<(Arc<Family>, Box<[Value]>)>;

/// What one family currently publishes, so that a rebuild can take it back.
#[derive(Debug, Default)]
pub(super) struct Published {
    names: Box<[StoredName]>,
    entries: Box<[Arc<TaskEntry>]>,
}

impl ZoneIndex {
    /// Replaces what `family` publishes with `fresh` names and served `entries`,
    /// republishing only the names whose answers change.
    pub(super) fn republish(
        &mut self,
        family: Arc<Family>,
        fresh: HashMap<StoredName, Vec<Value>>,
        entries: Vec<Arc<TaskEntry>>,
    ) {
        let old = self.published.remove(&*family).unwrap_or_default();
        // Names of one family often hold equal answers (`T` and `T.slave`, `_T._tcp.slave`
        // and `_T._udp.slave`): they share one allocation.
        let mut shared = HashSet::new();
        for name in old.names.iter().filter(|n| !fresh.contains_key(*n)) {
            let records = self.withdraw(name, &family);
            self.publish(name, records, &mut shared);
        }
        let mine: HashSet<&StoredName> = old.names.iter().collect();
        let mut names = Vec::with_capacity(fresh.len());
        for (name, values) in fresh {
            // Reuse the one allocation of this name when it is already known.
            let name = match self.snapshot.names.get_key_value(&name) {
                Some((known, _)) => known.clone(),
                None => name,
            };
            let was_mine = mine.contains(&name);
            let records = self.contribute(&name, &family, was_mine, values);
            self.publish(&name, records, &mut shared);
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

    /// Sets `family`'s values at `name` (which it held before when `was_mine`) and returns
    /// the name's new answer set.
    fn contribute(
        &mut self,
        name: &StoredName,
        family: &Arc<Family>,
        was_mine: bool,
        values: Vec<Value>,
    ) -> NameRecords {
        if let Some(owners) = self.shared.get_mut(name) {
            match owners.iter_mut().find(|(f, _)| f == family) {
                Some((_, v)) => *v = values.into(),
                None => owners.push((family.clone(), values.into())),
            }
            return NameRecords::from_values(owners.iter().flat_map(|(_, v)| v.iter()));
        }
        let published = self.snapshot.names.get(name);
        let other = match published {
            Some(_) if !was_mine => self.sole_owner(name),
            _ => None,
        };
        let (Some(other), Some(published)) = (other, published) else {
            return NameRecords::from_values(values.iter());
        };
        // A second family arrives at a name: from now on each one's values are kept apart.
        let owners: Owners = vec![
            (other, published.values().into()),
            (family.clone(), values.into()),
        ];
        let records = NameRecords::from_values(owners.iter().flat_map(|(_, v)| v.iter()));
        self.shared.insert(name.clone(), owners);
        records
    }

    /// The one family that publishes `name` (rare: only when another family arrives at it).
    fn sole_owner(&self, name: &StoredName) -> Option<Arc<Family>> {
        let lists = |p: &Published| p.names.iter().any(|n| n == name);
        let owner = self.published.iter().find(|(_, p)| lists(p));
        owner.map(|(family, _)| family.clone())
    }

    /// Removes `family`'s share of `name` and returns what is left to publish.
    fn withdraw(&mut self, name: &StoredName, family: &Family) -> NameRecords {
        let Some(owners) = self.shared.get_mut(name) else {
            // Its own name: nothing is left.
            return NameRecords::default();
        };
        owners.retain(|(f, _)| **f != *family);
        let records = NameRecords::from_values(owners.iter().flat_map(|(_, v)| v.iter()));
        if owners.len() <= 1 {
            // The one left owns it alone again.
            self.shared.remove(name);
        }
        records
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
        let apex = NameBytes::new(&self.apex);
        let apex = apex.as_bytes();
        if !stored_name::within(name, apex) {
            return;
        }
        let ents = &mut self.snapshot.empty_non_terminals;
        let mut current = stored_name::parent(name);
        while let Some(ancestor) = current.filter(|a| a.len() > apex.len()) {
            let count = ents.get(ancestor).copied().unwrap_or(0);
            let key = || match ents.get_key_value(ancestor) {
                Some((known, _)) => known.clone(),
                None => StoredName::from_bytes(ancestor),
            };
            if add {
                ents.insert(key(), count + 1);
            } else if count <= 1 {
                ents.remove(ancestor);
            } else {
                ents.insert(key(), count - 1);
            }
            current = stored_name::parent(ancestor);
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
    let list = list.map(Entries::as_slice).unwrap_or_default();
    if add {
        let grown = list.iter().chain([entry]).cloned().collect();
        return Some(Entries::from_vec(grown));
    }
    if !list.iter().any(|e| e.family == entry.family) {
        return None;
    }
    let kept = list.iter().filter(|e| e.family != entry.family);
    Some(Entries::from_vec(kept.cloned().collect()))
}
