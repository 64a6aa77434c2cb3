//! The infrastructure names Mesos-DNS builds from the cluster (its `masterRecord`,
//! `slaveRecords` and `frameworkRecords`; notes §1.4), for domain `D`:
//!
//! - `leader.D` and `master.D`: the leading master; `master.D` also every other master;
//!   `masterN.D`: the masters in the order of Mesos-DNS's masters list, which the
//!   subscriber records as `MasterRecord::position` (the configured order; with ZooKeeper
//!   the leader first, then the other members by sequence); masters without a position
//!   follow, by address; a leader that is not in the list takes the next index; an address
//!   already listed takes none (notes §1.4, §5.2);
//! - `_leader._tcp.D` and `_leader._udp.D`: SRV `leader.D:<leader port>`;
//! - `slave.D`: every agent's address; `_slave._tcp.D`: SRV `slave.D:<port>`, one per
//!   distinct agent PID port;
//! - `F.D`: a framework's address (scheduler PID IP, else a host name that is an IP, else
//!   the agent or master of that host name: never a DNS lookup); `_framework._tcp.F.D`:
//!   SRV `F.D:<scheduler PID port>` when the PID is known.
//!
//! Pure.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::rr::LowerName;

use super::Cluster;
use crate::names;
use crate::served::{HostTarget, Naming, SrvTarget, SrvValue, Value};

/// The masters in `masterN` order: by position, those without one after by address,
/// then the leader when it is not listed; an address (IP and port) already listed is
/// skipped without taking an index.
pub fn master_order(cluster: &Cluster) -> Vec<IpAddr> {
    let mut masters: Vec<(bool, Option<u32>, IpAddr, Option<u16>)> = cluster
        .masters
        .values()
        .filter_map(|m| {
            let ip = Cluster::master_address(m)?;
            Some((m.position.is_none(), m.position, ip, m.port))
        })
        .collect();
    masters.sort();
    let listed = masters.into_iter().map(|(_, _, ip, port)| (ip, port));
    let mut seen = BTreeSet::new();
    listed
        .chain(cluster.leader_address())
        .filter(|address| seen.insert(*address))
        .map(|(ip, _)| ip)
        .collect()
}

/// Every (name, value) of the infrastructure names.
pub fn values(cluster: &Cluster, naming: &Naming) -> Vec<(LowerName, Value)> {
    let mut out = Vec::new();
    let mut push = |relative: &str, value: Value| {
        if let Some(name) = naming.absolute(relative) {
            out.push((LowerName::new(&name), value));
        }
    };
    let srv = |relative: &str, port: u16, addresses: &[IpAddr]| {
        let name = naming.absolute(relative)?;
        Some(Value::Srv(SrvValue {
            port,
            target: SrvTarget::Host(Arc::new(HostTarget::new(name, addresses))),
        }))
    };

    if let Some((ip, port)) = cluster.leader_address() {
        push("leader.", Value::Addr(ip));
        push("master.", Value::Addr(ip));
        if let Some(value) = port.and_then(|port| srv("leader.", port, &[ip])) {
            push("_leader._tcp.", value.clone());
            push("_leader._udp.", value);
        }
    }
    for (i, ip) in master_order(cluster).into_iter().enumerate() {
        push(&format!("master{i}."), Value::Addr(ip));
        push("master.", Value::Addr(ip));
    }

    let mut agents = Vec::new();
    let mut ports = BTreeSet::new();
    for agent in cluster.agents.values() {
        if let Some(ip) = Cluster::agent_address(agent) {
            agents.push(ip);
            ports.extend(agent.port);
        }
    }
    for ip in &agents {
        push("slave.", Value::Addr(*ip));
    }
    for port in ports {
        if let Some(value) = srv("slave.", port, &agents) {
            push("_slave._tcp.", value);
        }
    }

    for framework in cluster.frameworks.values() {
        let label = names::domain_frag(&framework.name);
        let Some(ip) = cluster.framework_address(framework) else {
            continue;
        };
        if label.is_empty() {
            continue;
        }
        push(&format!("{label}."), Value::Addr(ip));
        let pid_port = framework.ip.and(framework.port);
        if let Some(value) = pid_port.and_then(|port| srv(&format!("{label}."), port, &[ip])) {
            push(&format!("_framework._tcp.{label}."), value);
        }
    }
    out
}
