//! The names a family's tasks share (`T.F.D`, `T.F.slave.D`, `_T._tcp.F.D`,
//! `_N._T._udp.F.D`, `_T._tcp.F.slave.D`, ...), answered when they are asked for from the
//! family's served tasks instead of stored with their answer sets: the snapshot keeps each
//! family's tasks once, under a hash of `T.F` ([`family_key`]), and a query name is read
//! back into the family and the kind of name it asks for ([`Shared`]).
//!
//! Which task holds what at which of these names is decided here alone ([`Shared::of`],
//! [`Shared::values`]): queries read one name at a time, and
//! [`Naming::family_values`](crate::served::Naming::family_values) lists every name with its
//! values for `/v1/axfr` and `/v1/enumerate`. The tests read each listed name back through a
//! query's path (its readings, the family table, the union of families) and expect exactly
//! the listed values.

use std::collections::BTreeSet;
use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;
use std::sync::Arc;

use crate::names;
use crate::served::{SrvValue, Value};
use crate::task::{Family, TaskEntry};

/// A kind of name a family's tasks share, relative to the family (`T` under `F`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Shared<'a> {
    /// `T.F.D` (the tasks' addresses) or `T.F.slave.D` (their agents').
    Addr {
        /// The `.slave.` form.
        slave: bool,
    },
    /// `_T._tcp.F.D`, `_N._T._udp.F.D`, `_T._tcp.F.slave.D`, ...: SRV records.
    Srv {
        /// `_udp` (else `_tcp`).
        udp: bool,
        /// The port name `N` of a named port's name.
        port: Option<&'a str>,
        /// The `.slave.` form.
        slave: bool,
    },
}

impl<'a> Shared<'a> {
    /// The names `entry` holds values at (the entry's canonical names must be names).
    pub fn of(entry: &'a TaskEntry, out: &mut BTreeSet<Shared<'a>>) {
        let task = &entry.task;
        let (plain_target, slave_target) =
            (!entry.addresses().is_empty(), !task.agent_ips.is_empty());
        if plain_target {
            out.insert(Shared::Addr { slave: false });
        }
        if slave_target {
            out.insert(Shared::Addr { slave: true });
        }
        for port in task.ports.iter() {
            if port.discovery.is_some() && plain_target {
                let protocols = [(port.tcp, false), (port.udp, true)];
                for (_, udp) in protocols.iter().filter(|(on, _)| *on) {
                    let udp = *udp;
                    out.insert(Shared::Srv {
                        udp,
                        port: None,
                        slave: false,
                    });
                    if let Some(name) = &port.name {
                        out.insert(Shared::Srv {
                            udp,
                            port: Some(name),
                            slave: false,
                        });
                    }
                }
            }
            if port.host.is_some() && slave_target {
                for udp in [false, true] {
                    out.insert(Shared::Srv {
                        udp,
                        port: None,
                        slave: true,
                    });
                    if !task.discovery_info {
                        out.insert(Shared::Srv {
                            udp,
                            port: None,
                            slave: false,
                        });
                    }
                }
            }
        }
    }

    /// The values `entry` holds at this name (none when it holds none there).
    pub fn values(&self, entry: &Arc<TaskEntry>, out: &mut Vec<Value>) {
        let task = &entry.task;
        match *self {
            Shared::Addr { slave } => {
                let ips = if slave {
                    &task.agent_ips[..]
                } else {
                    entry.addresses()
                };
                out.extend(ips.iter().map(|ip| Value::Addr(*ip)));
            }
            Shared::Srv { udp, port, slave } => {
                let (plain_target, slave_target) =
                    (!entry.addresses().is_empty(), !task.agent_ips.is_empty());
                for p in task.ports.iter() {
                    let proto = if udp { p.udp } else { p.tcp };
                    let named = port.is_none_or(|n| p.name.as_deref() == Some(n));
                    if let Some(number) = p.discovery
                        && plain_target
                        && proto
                        && named
                        && !slave
                    {
                        out.push(Value::Srv(SrvValue::task(number, false, entry)));
                    }
                    // Host ports: under `.slave.` names, and under the plain unnamed ones
                    // for a task without DiscoveryInfo, both pointing at `.slave.`.
                    if let Some(host_port) = p.host
                        && slave_target
                        && port.is_none()
                        && (slave || !task.discovery_info)
                    {
                        out.push(Value::Srv(SrvValue::task(host_port, true, entry)));
                    }
                }
            }
        }
    }

    /// The name's text relative to the domain without the `.slave` before it (the label
    /// [`Naming::name_in`](crate::served::Naming::name_in) takes), and whether it has it.
    pub fn label(&self, family: &Family) -> (String, bool) {
        match *self {
            Shared::Addr { slave } => (family.name.to_string(), slave),
            Shared::Srv { udp, port, slave } => {
                let srv = names::srv_label(&family.name);
                let proto = if udp { "_udp" } else { "_tcp" };
                match port {
                    Some(n) => (format!("_{n}.{srv}.{proto}"), slave),
                    None => (format!("{srv}.{proto}"), slave),
                }
            }
        }
    }
}

/// The key a family's tasks are found by: the hash of `T.F` (and, for SRV names, of
/// `S.F` where `_S` is the SRV label when that is not `_T`).
pub fn family_key(relative: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write(relative.as_bytes());
    hasher.finish()
}

/// The keys `family` is found by: `T.F`, and the SRV label's when it is not `_T` (a `T`
/// whose first label is shortened in it).
pub fn family_keys(family: &Family) -> (u64, Option<u64>) {
    let main = family_key(&format!("{}.{}", family.name, family.framework));
    let srv = names::srv_label(&family.name);
    let other = srv
        .strip_prefix('_')
        .filter(|s| *s != &*family.name)
        .map(|s| family_key(&format!("{s}.{}", family.framework)));
    (main, other)
}

/// A reading of a query name as a shared name: the text that finds the family
/// (`T.F`, or `S.F` for an SRV name `_S`) and the kind of name.
#[derive(Debug, PartialEq, Eq)]
pub struct Reading<'q> {
    /// `T.F` (address names) or `S.F` (SRV names, `_S` their SRV label): what
    /// [`family_key`] hashes.
    pub key: String,
    /// Where `F` starts in `key` for an SRV name (its `_proto` label separates the two);
    /// an address name `a.b.c` may be `T.F` split anywhere.
    framework_at: Option<usize>,
    /// The kind of name, with the port name of a named port's SRV name.
    pub kind: Shared<'q>,
}

impl Reading<'_> {
    /// True when `family` publishes the name read: `key` is its `T.F` (its `S.F` for an
    /// SRV name, split where the name splits it).
    pub fn matches(&self, family: &Family) -> bool {
        let srv;
        let first = match self.kind {
            Shared::Addr { .. } => &*family.name,
            Shared::Srv { .. } => {
                srv = names::srv_label(&family.name);
                srv.get(1..).unwrap_or_default()
            }
        };
        let framework = &*family.framework;
        let split = self.framework_at.unwrap_or(first.len() + 1);
        self.key.len() == first.len() + 1 + framework.len()
            && split == first.len() + 1
            && self.key.starts_with(first)
            && self.key.ends_with(framework)
            && self.key.as_bytes().get(first.len()) == Some(&b'.')
    }
}

/// Every way the labels of a query name below the domain (lower-case, leftmost first) may
/// be a shared name of some family. A family's names never have a label starting with
/// `_` in `T` or `N` (both are sanitised), so at most a few readings apply.
pub fn readings<'q>(labels: &[&'q [u8]]) -> Vec<Reading<'q>> {
    let mut out = Vec::new();
    // Readings compare text, where a dot separates labels: a label that holds a dot
    // (`web\.marathon`) is in no family's name.
    if labels.iter().any(|label| label.contains(&b'.')) {
        return out;
    }
    let mut forms = vec![(labels, false)];
    if let Some((last, rest)) = labels.split_last()
        && *last == b"slave"
    {
        forms.push((rest, true));
    }
    for (labels, slave) in forms {
        if labels.len() >= 2 {
            out.push(Reading {
                key: joined(labels),
                framework_at: None,
                kind: Shared::Addr { slave },
            });
        }
        // `[_N.]_S._proto.F`: `_S` may span labels (a legacy `T`), `F` may too.
        for (at, proto) in labels.iter().enumerate().skip(1) {
            let udp = match *proto {
                b"_tcp" => false,
                b"_udp" => true,
                _ => continue,
            };
            let framework = &labels[at + 1..];
            if framework.is_empty() {
                continue;
            }
            let mut starts = vec![(0, None)];
            if at >= 2
                && !slave
                && let Some(port) = labels[0].strip_prefix(b"_")
                && let Ok(port) = std::str::from_utf8(port)
            {
                starts.push((1, Some(port)));
            }
            for (start, port) in starts {
                let Some(first) = labels[start].strip_prefix(b"_") else {
                    continue;
                };
                let mut srv = vec![first];
                srv.extend_from_slice(&labels[start + 1..at]);
                let key = joined(&srv);
                let framework_at = key.len() + 1;
                out.push(Reading {
                    key: format!("{key}.{}", joined(framework)),
                    framework_at: Some(framework_at),
                    kind: Shared::Srv { udp, port, slave },
                });
            }
        }
    }
    out
}

/// The labels joined by dots (as text; a label that is not UTF-8 is kept lossily, and
/// then matches no family).
fn joined(labels: &[&[u8]]) -> String {
    let mut text = String::new();
    for (i, label) in labels.iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        text.push_str(&String::from_utf8_lossy(label));
    }
    text
}

#[cfg(test)]
mod tests;
