//! The published zone: an immutable snapshot that every query reads, and how a name is
//! looked up in it.
//!
//! Names shared by the tasks of an app (`T`, `T.slave`, the SRV names) are stored with
//! their answer sets. A task's own names are not: its canonical names are found through a
//! hash of their label and its PTRs through its address, and both are answered from the
//! task itself. At 50,000 tasks that keeps about one stored name per task instead of four.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use hickory_proto::rr::{LowerName, Name};

use crate::served::{Naming, SrvValue, Value};
use crate::sharded::ShardedMap;
use crate::stored_name::{NameBytes, StoredName};
use crate::task::TaskEntry;

/// The answers at one name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NameRecords {
    /// A records.
    pub a: Box<[Ipv4Addr]>,
    /// AAAA records.
    pub aaaa: Box<[Ipv6Addr]>,
    /// SRV records (priority 0, weight 1).
    pub srv: Box<[SrvValue]>,
    /// PTR records.
    pub ptr: Box<[Name]>,
}

impl NameRecords {
    /// The answer set of `values`: sorted, without duplicates.
    pub fn from_values<'a>(values: impl Iterator<Item = &'a Value>) -> Self {
        let set: BTreeSet<&Value> = values.collect();
        let (mut a, mut aaaa, mut srv) = (Vec::new(), Vec::new(), Vec::new());
        for value in set {
            match value {
                Value::Addr(IpAddr::V4(ip)) => a.push(*ip),
                Value::Addr(IpAddr::V6(ip)) => aaaa.push(*ip),
                Value::Srv(value) => srv.push(value.clone()),
            }
        }
        NameRecords {
            a: a.into(),
            aaaa: aaaa.into(),
            srv: srv.into(),
            ptr: Box::default(),
        }
    }

    /// The values these answers were built from (inverse of `from_values` up to order).
    pub fn values(&self) -> Vec<Value> {
        let a = self.a.iter().map(|ip| Value::Addr((*ip).into()));
        let aaaa = self.aaaa.iter().map(|ip| Value::Addr((*ip).into()));
        let srv = self.srv.iter().cloned().map(Value::Srv);
        a.chain(aaaa).chain(srv).collect()
    }

    /// True when `other` holds the same records with the same targets behind its SRV
    /// records ([`SrvValue::same_as`]): `==` compares what a client sees of the records
    /// themselves, not the addresses their targets' glue comes from.
    pub fn same_as(&self, other: &NameRecords) -> bool {
        self == other
            && self
                .srv
                .iter()
                .zip(other.srv.iter())
                .all(|(a, b)| a.same_as(b))
    }

    /// True when there is no record at all.
    pub fn is_empty(&self) -> bool {
        self.a.is_empty() && self.aaaa.is_empty() && self.srv.is_empty() && self.ptr.is_empty()
    }

    fn merged(&self, other: &NameRecords) -> NameRecords {
        let (mine, theirs) = (self.values(), other.values());
        let mut out = NameRecords::from_values(mine.iter().chain(theirs.iter()));
        let ptr: BTreeSet<&Name> = self.ptr.iter().chain(other.ptr.iter()).collect();
        out.ptr = ptr.into_iter().cloned().collect();
        out
    }
}

/// Stored names and their answers.
pub type NameTable = ShardedMap<StoredName, Arc<NameRecords>>;

/// Served tasks by some key (a canonical-label hash, an address).
pub type EntryTable<K> = ShardedMap<K, Entries>;

/// The served tasks at one key of an [`EntryTable`]: almost always one, kept without a
/// list of its own (a table holds one per served task).
#[derive(Clone, Debug)]
pub enum Entries {
    /// A single task.
    One(Arc<TaskEntry>),
    /// Several tasks (a shared address, colliding hashes).
    Many(Box<[Arc<TaskEntry>]>),
}

impl Entries {
    /// The tasks, as a slice.
    pub fn as_slice(&self) -> &[Arc<TaskEntry>] {
        match self {
            Entries::One(entry) => std::slice::from_ref(entry),
            Entries::Many(list) => list,
        }
    }

    /// The entries of `list`; `None` when it is empty.
    pub fn from_vec(mut list: Vec<Arc<TaskEntry>>) -> Option<Entries> {
        match list.len() {
            0 => None,
            1 => list.pop().map(Entries::One),
            _ => Some(Entries::Many(list.into())),
        }
    }
}

/// Served tasks by address: IPv4 and IPv6 apart, so that a key takes 4 bytes, not 17.
#[derive(Clone, Debug, Default)]
pub struct ReverseTable {
    v4: EntryTable<Ipv4Addr>,
    v6: EntryTable<Ipv6Addr>,
}

impl ReverseTable {
    /// The tasks that `ip` belongs to.
    pub fn get(&self, ip: &IpAddr) -> Option<&Entries> {
        match ip {
            IpAddr::V4(ip) => self.v4.get(ip),
            IpAddr::V6(ip) => self.v6.get(ip),
        }
    }

    /// Sets the tasks of `ip` (`None` removes them).
    pub fn set(&mut self, ip: IpAddr, entries: Option<Entries>) {
        match ip {
            IpAddr::V4(ip) => self.v4.set(ip, entries),
            IpAddr::V6(ip) => self.v6.set(ip, entries),
        }
    }
}

/// The naming settings, with the domain names end in.
#[derive(Debug)]
pub struct ZoneNames {
    /// The naming settings.
    pub naming: Naming,
    /// The domain, lower-case.
    domain: LowerName,
}

impl Default for ZoneNames {
    fn default() -> Self {
        ZoneNames::new(Naming::default())
    }
}

impl ZoneNames {
    /// The zone of `naming`.
    pub fn new(naming: Naming) -> Self {
        ZoneNames {
            domain: LowerName::new(&naming.domain),
            naming,
        }
    }

    /// The text of `name` relative to the domain (`web-4dfjd-s3.marathon`), when it may be
    /// a task's canonical name: a canonical label ends in `-<hash>-<agent>`, so names
    /// without a dash (most stored names, `web.marathon.mesos`) are not.
    fn relative(&self, name: &LowerName) -> Option<String> {
        if !self.domain.zone_of(name) || name.num_labels() <= self.domain.num_labels() {
            return None;
        }
        let keep = usize::from(name.num_labels() - self.domain.num_labels());
        if !name.iter().take(keep).any(|label| label.contains(&b'-')) {
            return None;
        }
        let mut text = String::new();
        for (i, part) in name.iter().take(keep).enumerate() {
            if i > 0 {
                text.push('.');
            }
            text.push_str(std::str::from_utf8(part).ok()?);
        }
        Some(text)
    }
}

/// The key under which a task is found by its canonical name relative to the domain
/// ([`TaskEntry::canonical_relative`]).
pub fn canonical_key(label: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    label.hash(&mut hasher);
    hasher.finish()
}

/// An immutable view of the zone, shared by every query. Cloning it is O(1).
#[derive(Clone, Debug, Default)]
pub struct ZoneSnapshot {
    /// The etcd revision the snapshot reflects.
    pub revision: i64,
    /// The naming settings.
    pub zone: Arc<ZoneNames>,
    /// Stored names (shared by an app's tasks) -> answers.
    pub names: NameTable,
    /// Empty non-terminals (ancestors of published names): they exist, with no records.
    pub empty_non_terminals: ShardedMap<StoredName, u32>,
    /// [`canonical_key`] of a canonical name -> the served tasks with that key.
    pub canonical: EntryTable<u64>,
    /// A served address -> the tasks it belongs to (their PTRs).
    pub reverse: ReverseTable,
}

impl ZoneSnapshot {
    /// The answers at `name`: a stored name, a task's canonical name or the reverse name
    /// of a task address. `None` when the name owns no records.
    pub fn lookup(&self, name: &LowerName) -> Option<Cow<'_, NameRecords>> {
        let stored = self.stored(name);
        let computed = self
            .canonical_records(name)
            .or_else(|| self.reverse_records(name));
        match (stored, computed) {
            (Some(stored), None) => Some(Cow::Borrowed(stored.as_ref())),
            (None, Some(computed)) => Some(Cow::Owned(computed)),
            // A canonical name that is also an app's label (`/s3/4dfjd/web` and a task of
            // `/web`): both answer.
            (Some(stored), Some(computed)) => Some(Cow::Owned(stored.merged(&computed))),
            (None, None) => None,
        }
    }

    /// The stored answers at `name` (a name an app's tasks share), if any.
    pub fn stored(&self, name: &LowerName) -> Option<&Arc<NameRecords>> {
        self.names.get(NameBytes::new(name).as_bytes())
    }

    /// True when the name owns records or is an ancestor of a name that does.
    pub fn exists(&self, name: &LowerName) -> bool {
        let octets = NameBytes::new(name);
        self.empty_non_terminals.contains_key(octets.as_bytes()) || self.lookup(name).is_some()
    }

    /// Every served task under every task name it is published under.
    pub fn entries(&self) -> impl Iterator<Item = &Arc<TaskEntry>> {
        self.canonical.iter().flat_map(|(_, list)| list.as_slice())
    }

    /// A task's canonical name, `C.F.D` (its addresses) or `C.F.slave.D` (its agent's).
    fn canonical_records(&self, name: &LowerName) -> Option<NameRecords> {
        let relative = self.zone.relative(name)?;
        let slave = relative.strip_suffix(".slave");
        let forms = [Some((relative.as_str(), false)), slave.map(|r| (r, true))];
        let mut values: Vec<Value> = Vec::new();
        for (relative, slave) in forms.into_iter().flatten() {
            let Some(entries) = self.canonical.get(&canonical_key(relative)) else {
                continue;
            };
            for entry in entries.as_slice() {
                if entry.canonical_relative() != relative {
                    continue;
                }
                let ips = if slave {
                    &entry.task.agent_ips[..]
                } else {
                    entry.addresses()
                };
                values.extend(ips.iter().map(|ip| Value::Addr(*ip)));
            }
        }
        let records = NameRecords::from_values(values.iter());
        (!records.is_empty()).then_some(records)
    }

    fn reverse_records(&self, name: &LowerName) -> Option<NameRecords> {
        let net = name.parse_arpa_name().ok()?;
        if net.prefix_len() != net.max_prefix_len() {
            return None;
        }
        let entries = self.reverse.get(&net.addr())?;
        let targets: BTreeSet<Name> = entries
            .as_slice()
            .iter()
            .filter_map(|e| self.zone.naming.canonical_name(e, false))
            .collect();
        let records = NameRecords {
            ptr: targets.into_iter().collect(),
            ..NameRecords::default()
        };
        (!records.is_empty()).then_some(records)
    }
}
