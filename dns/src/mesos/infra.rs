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

/// Mesos-DNS's `TestMasterRecord` (records/generator_test.go, domain `foo.com`), as the
/// notes' §5.2 give it: a leader and a masters list in, `leader`, `master`, `masterN` and
/// `_leader` records out.
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use hickory_proto::rr::Name;
    use registry::MesosChange;

    use super::*;
    use crate::test_support::mesos::{leader, master};

    fn naming() -> Naming {
        Naming {
            domain: Name::from_ascii("foo.com.").unwrap(),
            ..Naming::default()
        }
    }

    /// name -> sorted values (`ip`, or `target:port` for SRV).
    fn zone(changes: Vec<MesosChange>) -> BTreeMap<String, Vec<String>> {
        let mut cluster = Cluster::default();
        for change in changes {
            cluster.apply(change);
        }
        let naming = naming();
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in values(&cluster, &naming) {
            let text = match value {
                Value::Addr(ip) => ip.to_string(),
                Value::Srv(srv) => format!("{}:{}", srv.target_name(&naming).unwrap(), srv.port),
            };
            let values = out.entry(name.to_string()).or_default();
            if !values.contains(&text) {
                values.push(text);
            }
        }
        out.values_mut().for_each(|v| v.sort());
        out
    }

    fn at(master_id: &str, address: &str, port: u16, position: u32) -> MesosChange {
        MesosChange::Master(master(master_id, address, port, Some(position)))
    }

    fn leading(address: &str, port: u16) -> MesosChange {
        MesosChange::Leader(leader("leader-id", address, port))
    }

    #[test]
    fn a_leader_without_a_usable_address_makes_no_records() {
        // Mesos-DNS: leader PIDs "", "@", "1@", "@2", "3@4" give nothing.
        let mut nowhere = leader("m", "10.0.0.1", 5050);
        nowhere.ip = None;
        for hostname in [None, Some(""), Some("4"), Some("m1.example")] {
            nowhere.hostname = hostname.map(Into::into);
            assert!(zone(vec![MesosChange::Leader(nowhere.clone())]).is_empty());
        }
    }

    #[test]
    fn a_lone_leader_is_leader_master_and_master0() {
        let got = zone(vec![leading("0.0.0.6", 7)]);
        let one = vec!["0.0.0.6".to_string()];
        assert_eq!(got["leader.foo.com."], one);
        assert_eq!(got["master.foo.com."], one);
        assert_eq!(got["master0.foo.com."], one);
        assert_eq!(got["_leader._tcp.foo.com."], ["leader.foo.com.:7"]);
        assert_eq!(got["_leader._udp.foo.com."], ["leader.foo.com.:7"]);
        assert_eq!(got.len(), 5, "{got:?}");

        let v6 = zone(vec![leading("2001:db8::1", 7)]);
        assert_eq!(v6["leader.foo.com."], ["2001:db8::1"]);
        assert_eq!(v6["master0.foo.com."], ["2001:db8::1"]);
        assert_eq!(v6["_leader._tcp.foo.com."], ["leader.foo.com.:7"]);
    }

    #[test]
    fn masters_follow_the_list_and_a_leader_outside_it_comes_last() {
        let got = zone(vec![at("a", "0.0.0.8", 9, 0), leading("0.0.0.6", 7)]);
        assert_eq!(got["master0.foo.com."], ["0.0.0.8"]);
        assert_eq!(got["master1.foo.com."], ["0.0.0.6"]);
        assert_eq!(got["master.foo.com."], ["0.0.0.6", "0.0.0.8"]);
        assert_eq!(got["leader.foo.com."], ["0.0.0.6"]);

        let got = zone(vec![
            at("a", "0.0.0.8", 9, 0),
            at("b", "0.0.0.6", 7, 1),
            at("c", "0.0.0.7", 0, 2),
            leading("0.0.0.6", 7),
        ]);
        assert_eq!(got["master0.foo.com."], ["0.0.0.8"]);
        assert_eq!(got["master1.foo.com."], ["0.0.0.6"]);
        assert_eq!(got["master2.foo.com."], ["0.0.0.7"]);
        assert!(
            !got.contains_key("master3.foo.com."),
            "the leader is listed once"
        );
    }

    #[test]
    fn with_zookeeper_the_leader_is_master0() {
        // The subscriber puts the leader first when it follows ZooKeeper.
        let got = zone(vec![
            at("b", "10.0.0.2", 5050, 1),
            at("a", "10.0.0.1", 5050, 0),
            at("c", "10.0.0.3", 5050, 2),
            leading("10.0.0.1", 5050),
        ]);
        assert_eq!(got["master0.foo.com."], ["10.0.0.1"]);
        assert_eq!(got["master1.foo.com."], ["10.0.0.2"]);
        assert_eq!(got["master2.foo.com."], ["10.0.0.3"]);
        // A leader change moves `leader` at once; `masterN` follows the positions.
        let moved = zone(vec![
            at("a", "10.0.0.1", 5050, 1),
            leading("10.0.0.2", 5050),
        ]);
        assert_eq!(moved["leader.foo.com."], ["10.0.0.2"]);
    }

    #[test]
    fn duplicate_masters_take_no_index() {
        let got = zone(vec![
            at("a", "0.0.0.8", 9, 0),
            at("b", "0.0.0.8", 9, 1),
            at("c", "0.0.0.7", 0, 2),
        ]);
        assert_eq!(got["master0.foo.com."], ["0.0.0.8"]);
        assert_eq!(got["master1.foo.com."], ["0.0.0.7"]);
        assert!(!got.contains_key("master2.foo.com."));
        assert!(!got.contains_key("leader.foo.com."), "no leader record");
        // Masters without a position follow, by address.
        let got = zone(vec![
            MesosChange::Master(master("z", "0.0.0.2", 1, None)),
            at("a", "0.0.0.9", 1, 0),
        ]);
        assert_eq!(got["master0.foo.com."], ["0.0.0.9"]);
        assert_eq!(got["master1.foo.com."], ["0.0.0.2"]);
    }
}
