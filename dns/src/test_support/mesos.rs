//! Mesos source records for tests (the registry's harness builds Marathon records only):
//! a running task builder and one-line masters, leader, agents and frameworks, each with
//! the defaults most tests want.

use std::collections::BTreeMap;
use std::net::IpAddr;

use registry::{
    AgentRecord, FrameworkRecord, Health, LeaderRecord, MasterRecord, MesosPort, MesosTaskRecord,
    Protocol, Stamp, TaskState,
};

fn ip(text: &str) -> IpAddr {
    text.parse().expect("an IP (test input)")
}

/// A running task of framework `framework_id` named `framework_name`, called `name`, with
/// no DiscoveryInfo, agent, ports or addresses; unknown health; stamped now.
pub fn task(
    framework_id: &str,
    framework_name: &str,
    task_id: &str,
    name: &str,
) -> MesosTaskBuilder {
    MesosTaskBuilder(MesosTaskRecord {
        framework_id: framework_id.into(),
        framework_name: Some(framework_name.into()),
        task_id: task_id.into(),
        name: name.into(),
        discovery_name: None,
        discovery_visibility: None,
        agent_id: None,
        executor_id: None,
        ports: Vec::new(),
        host_ports: Vec::new(),
        task_ips: Vec::new(),
        labels: BTreeMap::new(),
        state: TaskState::Running,
        health: Health::Unknown,
        updated_at: Stamp::now(),
    })
}

/// A DiscoveryInfo port: `number`, `name` (empty: none), protocols, and a `network-scope`
/// label when `scope` is given (`host`, `container`).
pub fn port(number: u16, name: &str, protocols: &[Protocol], scope: Option<&str>) -> MesosPort {
    MesosPort {
        number,
        name: (!name.is_empty()).then(|| name.into()),
        protocols: protocols.to_vec(),
        visibility: Some("FRAMEWORK".into()),
        labels: scope
            .map(|s| BTreeMap::from([("network-scope".to_string(), s.to_string())]))
            .unwrap_or_default(),
    }
}

/// A [`MesosTaskRecord`] under construction (see [`task`]).
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until built"]
pub struct MesosTaskBuilder(MesosTaskRecord);

impl MesosTaskBuilder {
    /// The DiscoveryInfo name.
    pub fn discovery(mut self, name: &str) -> Self {
        self.0.discovery_name = Some(name.into());
        self
    }

    /// The agent id.
    pub fn agent(mut self, agent_id: &str) -> Self {
        self.0.agent_id = Some(agent_id.into());
        self
    }

    /// The executor id (shared by a pod's containers).
    pub fn executor(mut self, executor_id: &str) -> Self {
        self.0.executor_id = Some(executor_id.into());
        self
    }

    /// The DiscoveryInfo ports.
    pub fn ports(mut self, ports: Vec<MesosPort>) -> Self {
        self.0.ports = ports;
        self
    }

    /// The host ports of its resources.
    pub fn host_ports(mut self, ports: &[u16]) -> Self {
        self.0.host_ports = ports.to_vec();
        self
    }

    /// The container IPs.
    pub fn task_ips(mut self, ips: &[&str]) -> Self {
        self.0.task_ips = ips.iter().map(|t| ip(t)).collect();
        self
    }

    /// The framework name the task carries (`None`: unknown).
    pub fn framework_name(mut self, name: Option<&str>) -> Self {
        self.0.framework_name = name.map(Into::into);
        self
    }

    /// The state.
    pub fn state(mut self, state: TaskState) -> Self {
        self.0.state = state;
        self
    }

    /// The health verdict.
    pub fn health(mut self, health: Health) -> Self {
        self.0.health = health;
        self
    }

    /// The record.
    pub fn build(self) -> MesosTaskRecord {
        self.0
    }
}

/// An agent with its PID `slave(1)@ip:port`.
pub fn agent(agent_id: &str, hostname: &str, address: &str, port: u16) -> AgentRecord {
    AgentRecord {
        agent_id: agent_id.into(),
        hostname: hostname.into(),
        ip: address.parse().ok(),
        port: Some(port),
        pid: Some(format!("slave(1)@{address}:{port}")),
        updated_at: Stamp::now(),
    }
}

/// A framework; `pid` is the scheduler's `ip:port` when known (v0 `/master/state`).
pub fn framework(
    framework_id: &str,
    name: &str,
    hostname: Option<&str>,
    pid: Option<(&str, u16)>,
) -> FrameworkRecord {
    FrameworkRecord {
        framework_id: framework_id.into(),
        name: name.into(),
        hostname: hostname.map(Into::into),
        ip: pid.map(|(address, _)| ip(address)),
        port: pid.map(|(_, port)| port),
        pid: pid.map(|(address, port)| format!("scheduler(1)@{address}:{port}")),
        active: true,
        updated_at: Stamp::now(),
    }
}

/// A master at `address:port` with its place in the masters list.
pub fn master(master_id: &str, address: &str, port: u16, position: Option<u32>) -> MasterRecord {
    MasterRecord {
        master_id: master_id.into(),
        hostname: None,
        ip: Some(ip(address)),
        port: Some(port),
        version: Some("1.11.0".into()),
        leading: false,
        position,
        updated_at: Stamp::now(),
    }
}

/// The leader record naming master `master_id` at `address:port`.
pub fn leader(master_id: &str, address: &str, port: u16) -> LeaderRecord {
    LeaderRecord {
        master_id: master_id.into(),
        hostname: None,
        ip: Some(ip(address)),
        port: Some(port),
        updated_at: Stamp::now(),
    }
}
