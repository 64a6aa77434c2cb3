//! The published zone: an immutable snapshot that every query reads, and how a name is
//! looked up in it.
//!
//! No task name is stored. The names an app's tasks share (`T`, `T.slave`, the SRV names)
//! are found through a hash of `T.F` ([`crate::shared_names`]), a task's canonical names
//! through a hash of their label and its PTRs through its address, and all of them are
//! answered from the served tasks themselves. Only the Mesos infrastructure names
//! (`leader`, `master`, `slave`, frameworks) are stored with their answer sets.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use hickory_proto::rr::{LowerName, Name};

use crate::few::Few;
use crate::served::{Naming, SrvValue, Value};
use crate::sharded::ShardedMap;
use crate::shared_names::{self, family_key};
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
        // Each kind sorted apart, then deduplicated: the order a tree of values would give,
        // but cheaper to build, as an app's answers are built when asked for. Addresses
        // compare as plain numbers; SRV values keep the first of equal ones (a stable
        // sort), as a tree would.
        let (mut a, mut aaaa, mut srv) = (Vec::new(), Vec::new(), Vec::new());
        for value in values {
            match value {
                Value::Addr(IpAddr::V4(ip)) => a.push(*ip),
                Value::Addr(IpAddr::V6(ip)) => aaaa.push(*ip),
                Value::Srv(value) => srv.push(value),
            }
        }
        a.sort_unstable();
        a.dedup();
        aaaa.sort_unstable();
        aaaa.dedup();
        srv.sort();
        srv.dedup();
        let srv: Vec<SrvValue> = srv.into_iter().cloned().collect();
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

/// The served tasks at one key of an [`EntryTable`].
pub type Entries = Few<Arc<TaskEntry>>;

/// The served tasks of one family whose canonical names are names, never empty: what the
/// names they share are answered from (their family is the first one's).
pub type FamilyTasks = Arc<[Arc<TaskEntry>]>;

/// Families' tasks by [`shared_names::family_keys`].
pub type FamilyTable = ShardedMap<u64, Few<FamilyTasks>>;

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

    /// The labels of `name` below the domain (`web-4dfjd-s3`, `marathon` of
    /// `web-4dfjd-s3.marathon.mesos`), leftmost first; `None` for the apex and outside it.
    fn below<'n>(&self, name: &'n LowerName) -> Option<Vec<&'n [u8]>> {
        if !self.domain.zone_of(name) || name.num_labels() <= self.domain.num_labels() {
            return None;
        }
        let keep = usize::from(name.num_labels() - self.domain.num_labels());
        Some(name.iter().take(keep).collect())
    }
}

/// The text of labels below the domain (`web-4dfjd-s3.marathon`), when it may be a task's
/// canonical name: a canonical label ends in `-<hash>-<agent>`, so names without a dash
/// (`web.marathon`) are not.
fn canonical_relative(labels: &[&[u8]]) -> Option<String> {
    if !labels.iter().any(|label| label.contains(&b'-')) {
        return None;
    }
    let mut text = String::new();
    for (i, part) in labels.iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        text.push_str(std::str::from_utf8(part).ok()?);
    }
    Some(text)
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
    /// Stored names (the Mesos infrastructure's) -> answers.
    pub names: NameTable,
    /// Families' served tasks, by the hash of their `T.F` (the names they share).
    pub families: FamilyTable,
    /// How many names the families' tasks share, counted once per family.
    pub shared_names: usize,
    /// Empty non-terminals (ancestors of published names): they exist, with no records.
    pub empty_non_terminals: ShardedMap<StoredName, u32>,
    /// [`canonical_key`] of a canonical name -> the served tasks with that key.
    pub canonical: EntryTable<u64>,
    /// A served address -> the tasks it belongs to (their PTRs).
    pub reverse: ReverseTable,
}

impl ZoneSnapshot {
    /// The answers at `name`: a stored name, a name an app's tasks share, a task's
    /// canonical name or the reverse name of a task address. `None` when the name owns no
    /// records.
    pub fn lookup(&self, name: &LowerName) -> Option<Cow<'_, NameRecords>> {
        let stored = self.stored(name);
        let computed = self
            .task_records(name)
            .or_else(|| self.reverse_records(name));
        match (stored, computed) {
            (Some(stored), None) => Some(Cow::Borrowed(stored.as_ref())),
            (None, Some(computed)) => Some(Cow::Owned(computed)),
            // An infrastructure name that is also a task's (`_framework._tcp.marathon`
            // and the app `/framework`): both answer.
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
        self.is_empty_non_terminal(name) || self.lookup(name).is_some()
    }

    /// True when the name is an ancestor of a name that owns records (whether or not it
    /// owns records itself): what tells NODATA from NXDOMAIN once [`ZoneSnapshot::lookup`]
    /// found nothing, without looking the name up again.
    pub fn is_empty_non_terminal(&self, name: &LowerName) -> bool {
        let octets = NameBytes::new(name);
        self.empty_non_terminals.contains_key(octets.as_bytes())
    }

    /// Every served task under every task name it is published under.
    pub fn entries(&self) -> impl Iterator<Item = &Arc<TaskEntry>> {
        self.canonical.iter().flat_map(|(_, list)| list.as_slice())
    }

    /// The names tasks answer under the domain: the names a family's tasks share and a
    /// task's canonical names (a canonical name that is also an app's label, `/s3/4dfjd/web`
    /// and a task of `/web`, answers both).
    fn task_records(&self, name: &LowerName) -> Option<NameRecords> {
        let labels = self.zone.below(name)?;
        let mut values: Vec<Value> = Vec::new();
        self.shared_values(&labels, &mut values);
        if let Some(relative) = canonical_relative(&labels) {
            self.canonical_values(&relative, &mut values);
        }
        let records = NameRecords::from_values(values.iter());
        (!records.is_empty()).then_some(records)
    }

    /// The values at a name a family's tasks share (`T.F.D`, `_T._tcp.F.slave.D`, ...).
    fn shared_values(&self, labels: &[&[u8]], values: &mut Vec<Value>) {
        for reading in shared_names::readings(labels) {
            let Some(found) = self.families.get(&family_key(&reading.key)) else {
                continue;
            };
            for tasks in found.as_slice() {
                let Some(first) = tasks.first() else { continue };
                if reading.matches(&first.family) {
                    for entry in tasks.iter() {
                        reading.kind.values(entry, values);
                    }
                }
            }
        }
    }

    /// The values at a task's canonical name, `C.F.D` (its addresses) or `C.F.slave.D`
    /// (its agent's), `relative` to the domain.
    fn canonical_values(&self, relative: &str, values: &mut Vec<Value>) {
        let slave = relative.strip_suffix(".slave");
        let forms = [Some((relative, false)), slave.map(|r| (r, true))];
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
