//! The values a name holds in the zone: addresses, and SRV records pointing at a task's
//! canonical name or at an infrastructure name. They order and compare by what a client
//! sees (port and target name), so two tasks whose names collide give one record. Pure.

use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::rr::Name;

use crate::served::Naming;
use crate::task::{Family, TaskEntry};

/// Where an SRV record points.
#[derive(Clone, Debug)]
pub enum SrvTarget {
    /// A task's canonical name (plain, or `.slave.` with the agent's addresses).
    Task {
        /// The `.slave.` form of the target.
        slave: bool,
        /// The task the target names (shared by every SRV value that points at it).
        entry: Arc<TaskEntry>,
    },
    /// A name of the Mesos infrastructure (`leader.mesos.`, `slave.mesos.`, a framework).
    Host(Arc<HostTarget>),
}

/// An infrastructure SRV target: its name and the addresses the additional section
/// carries for it (the first A and the first AAAA, as Mesos-DNS gives).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostTarget {
    /// The target name.
    pub name: Name,
    /// Its first IPv4 and first IPv6 address.
    pub glue: Box<[IpAddr]>,
}

impl HostTarget {
    /// The target `name` with the first IPv4 and the first IPv6 address of `addresses`.
    pub fn new(name: Name, addresses: &[IpAddr]) -> Self {
        let v4 = addresses.iter().find(|ip| ip.is_ipv4());
        let v6 = addresses.iter().find(|ip| ip.is_ipv6());
        HostTarget {
            name,
            glue: v4.into_iter().chain(v6).copied().collect(),
        }
    }
}

/// One SRV value: a port at a target. Values are equal when their port and target name
/// are (two tasks whose hashes collide on one agent have one name, as in Mesos-DNS).
#[derive(Clone, Debug)]
pub struct SrvValue {
    /// The port.
    pub port: u16,
    /// The target.
    pub target: SrvTarget,
}

/// What orders and identifies an SRV value.
#[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
enum SrvKey<'a> {
    Task((&'a Family, &'a [u8; 5], &'a str), bool),
    Host(&'a Name),
}

impl SrvValue {
    /// A port at a task's canonical name.
    pub fn task(port: u16, slave: bool, entry: &Arc<TaskEntry>) -> Self {
        SrvValue {
            port,
            target: SrvTarget::Task {
                slave,
                entry: entry.clone(),
            },
        }
    }

    /// The target's addresses (for the additional section).
    pub fn addresses(&self) -> &[IpAddr] {
        match &self.target {
            SrvTarget::Task { slave: true, entry } => &entry.task.agent_ips,
            SrvTarget::Task {
                slave: false,
                entry,
            } => entry.addresses(),
            SrvTarget::Host(host) => &host.glue,
        }
    }

    /// The target's name, `None` when it cannot be a DNS name.
    pub fn target_name(&self, naming: &Naming) -> Option<Name> {
        match &self.target {
            SrvTarget::Task { slave, entry } => naming.canonical_name(entry, *slave),
            SrvTarget::Host(host) => Some(host.name.clone()),
        }
    }

    /// True when `other` is this value with the same target behind it: equal for a client
    /// and, for a task's target, the same task entry (whose addresses the additional
    /// section and `/v1/services` give).
    pub fn same_as(&self, other: &SrvValue) -> bool {
        let same_target = match (&self.target, &other.target) {
            (SrvTarget::Task { entry: a, .. }, SrvTarget::Task { entry: b, .. }) => {
                Arc::ptr_eq(a, b)
            }
            (SrvTarget::Host(a), SrvTarget::Host(b)) => a == b,
            _ => false,
        };
        same_target && self == other
    }

    fn key(&self) -> (u16, SrvKey<'_>) {
        let target = match &self.target {
            SrvTarget::Task { slave, entry } => SrvKey::Task(entry.name_key(), *slave),
            SrvTarget::Host(host) => SrvKey::Host(&host.name),
        };
        (self.port, target)
    }
}

impl PartialEq for SrvValue {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for SrvValue {}

impl Ord for SrvValue {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for SrvValue {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::hash::Hash for SrvValue {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

/// One record value at some name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    /// An address (A or AAAA by family).
    Addr(IpAddr),
    /// A service location.
    Srv(SrvValue),
}
