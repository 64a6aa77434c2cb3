//! How the index publishes a family's names into the snapshot: the owners of each stored
//! name (a name two families share answers the union of their values), the canonical-name
//! and reverse tables, and the count of empty non-terminals.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use hickory_proto::rr::LowerName;

use super::ZoneIndex;
use crate::served::Value;
use crate::snapshot::{EntryTable, NameRecords, canonical_key};
use crate::task::{Family, TaskEntry};

/// The families contributing to one name. Almost every name has exactly one (only
/// colliding labels share names); its values are then the published answer set itself,
/// so only shared names keep each family's values apart.
#[derive(Debug)]
pub(super) enum Owners {
    One(Arc<Family>),
    Many(Vec<(Arc<Family>, Box<[Value]>)>),
}

/// What one family currently publishes, so that a rebuild can take it back.
#[derive(Debug, Default)]
pub(super) struct Published {
    names: Box<[Arc<LowerName>]>,
    entries: Box<[Arc<TaskEntry>]>,
}

impl ZoneIndex {
    /// Replaces what `family` publishes with `fresh` names and served `entries`,
    /// republishing only the names whose answers change.
    pub(super) fn republish(
        &mut self,
        family: Arc<Family>,
        fresh: HashMap<LowerName, Vec<Value>>,
        entries: Vec<Arc<TaskEntry>>,
    ) {
        let old = self.published.remove(&*family).unwrap_or_default();
        for name in old.names.iter().filter(|n| !fresh.contains_key(n.as_ref())) {
            let records = self.withdraw(name, &family);
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
        let key = canonical_key(&entry.canonical_relative());
        update_entries(&mut self.snapshot.canonical, key, entry, add);
        for ip in entry.addresses() {
            update_entries(&mut self.snapshot.reverse, *ip, entry, add);
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
                    self.adjust_ancestors(&LowerName::new(&name), add);
                }
            }
        }
    }

    /// Sets `family`'s values at `name` and returns the name's new answer set.
    fn contribute(
        &mut self,
        name: &Arc<LowerName>,
        family: &Arc<Family>,
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
    fn withdraw(&mut self, name: &Arc<LowerName>, family: &Family) -> NameRecords {
        let Some(owners) = self.owners.get_mut(name.as_ref()) else {
            return NameRecords::default();
        };
        match owners {
            Owners::One(f) if **f == *family => {
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
                list.retain(|(f, _)| **f != *family);
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
