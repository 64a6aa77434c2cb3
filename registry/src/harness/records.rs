//! Task and app records for tests: one builder each, with the defaults most tests want, so a
//! test names only what it is about.
//!
//! ```
//! use herald_registry::harness::records::{port, task};
//! use herald_registry::Health;
//! let record = task("/web", "web.1", "10.0.0.5")
//!     .agent_id("x-S1")
//!     .ports(vec![port("http", None, Some(31000))])
//!     .health(Health::Healthy)
//!     .build();
//! assert_eq!(record.agent_ips, vec!["10.0.0.5".parse::<std::net::IpAddr>().unwrap()]);
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::ids::AppId;
use crate::schema::{
    AppRecord, Health, NetworkMode, PortDefinition, Protocol, TaskPort, TaskRecord, TaskState,
};
use crate::stamp::Stamp;

/// A running task of `app` on the agent `host`: its agent IP is `host` when that is an IP
/// (as the subscriber does), else none; no agent id, instance id, task IPs or ports;
/// unknown health; stamped now. Panics on an invalid app id (test input).
pub fn task(app: &str, task_id: &str, host: &str) -> TaskBuilder {
    TaskBuilder(TaskRecord {
        app_id: app_id(app),
        task_id: task_id.to_string(),
        instance_id: None,
        agent_id: None,
        host: host.to_string(),
        agent_ips: host.parse().into_iter().collect(),
        task_ips: Vec::new(),
        ports: Vec::new(),
        state: TaskState::Running,
        health: Health::Unknown,
        app_version: None,
        updated_at: Stamp::now(),
    })
}

/// A named TCP port of a task with its container and host port; no service port.
pub fn port(name: &str, container: Option<u16>, host: Option<u16>) -> TaskPort {
    TaskPort {
        name: Some(name.to_string()),
        protocols: vec![Protocol::Tcp],
        container_port: container,
        host_port: host,
        service_port: None,
    }
}

/// A [`TaskRecord`] under construction (see [`task`]); [`TaskBuilder::build`] ends it.
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until built"]
pub struct TaskBuilder(TaskRecord);

impl TaskBuilder {
    /// The Mesos agent id (`...-S3`: DNS's canonical names end in `-s3`).
    pub fn agent_id(mut self, agent_id: &str) -> Self {
        self.0.agent_id = Some(agent_id.to_string());
        self
    }

    /// The agent's addresses, instead of the host's own.
    pub fn agent_ips(mut self, ips: &[&str]) -> Self {
        self.0.agent_ips = ips.iter().map(|ip| parse_ip(ip)).collect();
        self
    }

    /// The task's own addresses (Marathon's `ipAddresses`).
    pub fn task_ips(mut self, ips: &[&str]) -> Self {
        self.0.task_ips = ips.iter().map(|ip| parse_ip(ip)).collect();
        self
    }

    /// The ports, in order.
    pub fn ports(mut self, ports: Vec<TaskPort>) -> Self {
        self.0.ports = ports;
        self
    }

    /// The task state.
    pub fn state(mut self, state: TaskState) -> Self {
        self.0.state = state;
        self
    }

    /// The health-check verdict.
    pub fn health(mut self, health: Health) -> Self {
        self.0.health = health;
        self
    }

    /// The Marathon timestamp of the last change (`updated_at`).
    pub fn at(mut self, stamp: Stamp) -> Self {
        self.0.updated_at = stamp;
        self
    }

    /// The record.
    pub fn build(self) -> TaskRecord {
        self.0
    }
}

/// An app with host networking, no ports, labels or health checks, version and
/// `updated_at` now. Panics on an invalid app id (test input).
pub fn app(app: &str) -> AppBuilder {
    let now = Stamp::now();
    AppBuilder(AppRecord {
        app_id: app_id(app),
        version: now.to_string(),
        ports: Vec::new(),
        networking: NetworkMode::Host,
        labels: BTreeMap::new(),
        health_checks: false,
        updated_at: now,
    })
}

/// An [`AppRecord`] under construction (see [`app`]); [`AppBuilder::build`] ends it.
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until built"]
pub struct AppBuilder(AppRecord);

impl AppBuilder {
    /// The networking mode.
    pub fn networking(mut self, networking: NetworkMode) -> Self {
        self.0.networking = networking;
        self
    }

    /// Adds a named TCP port definition with a dynamic host port (`0`) and, when given, a
    /// container port.
    pub fn port(mut self, name: &str, container: Option<u16>) -> Self {
        self.0.ports.push(PortDefinition {
            name: Some(name.to_string()),
            protocols: vec![Protocol::Tcp],
            container_port: container,
            host_port: Some(0),
            service_port: None,
            labels: BTreeMap::new(),
        });
        self
    }

    /// Marathon's app version string.
    pub fn version(mut self, version: &str) -> Self {
        self.0.version = version.to_string();
        self
    }

    /// The Marathon timestamp of the last change (`updated_at`).
    pub fn at(mut self, stamp: Stamp) -> Self {
        self.0.updated_at = stamp;
        self
    }

    /// The record.
    pub fn build(self) -> AppRecord {
        self.0
    }
}

fn app_id(app: &str) -> AppId {
    AppId::parse(app).unwrap_or_else(|e| panic!("{app:?} is not an app id: {e}"))
}

fn parse_ip(ip: &str) -> IpAddr {
    ip.parse()
        .unwrap_or_else(|e| panic!("{ip:?} is not an IP address: {e}"))
}
