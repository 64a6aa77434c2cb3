//! The apps a test deploys: what the simulator models of a Marathon app definition.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[cfg(doc)]
use crate::Simulator;

/// How an app's tasks are networked; decides the JSON shape and what `ports`/`ipAddresses` hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Networking {
    /// Host networking: `portDefinitions`, tasks' `ports` are host ports, `ipAddresses` = agent IP.
    #[default]
    Host,
    /// Docker bridge: 1.4 `container.docker.network: BRIDGE` + `container.docker.portMappings`;
    /// 1.10 `networks:[{mode:"container/bridge"}]` + `container.portMappings`. Tasks get host
    /// ports and a `172.17.x.y` container IP.
    #[serde(alias = "BRIDGE", alias = "container/bridge")]
    Bridge,
    /// IP-per-task: 1.4 `ipAddress{discovery:{ports}}`; 1.10 `networks:[{mode:"container"}]` +
    /// `container.portMappings` without `hostPort`. Tasks get no host ports and a `10.x.y.z` IP
    /// (only data: nothing listens there).
    #[serde(alias = "CONTAINER", alias = "USER", alias = "user")]
    Container,
}

/// One port of an app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortSpec {
    /// Port name (`portDefinitions[].name` / `portMappings[].name` / discovery port name).
    pub name: Option<String>,
    /// Container port (bridge/container networking). `None`: bridge → `0` ("same as host
    /// port"), container → `8080 + index`. Ignored for host networking.
    #[serde(alias = "containerPort")]
    pub container_port: Option<u16>,
    /// `"tcp"`, `"udp"` or `"udp,tcp"`.
    pub protocol: String,
}

impl Default for PortSpec {
    fn default() -> Self {
        PortSpec {
            name: None,
            container_port: None,
            protocol: "tcp".into(),
        }
    }
}

impl PortSpec {
    /// A named TCP port.
    pub fn tcp(name: &str) -> Self {
        PortSpec {
            name: Some(name.into()),
            ..PortSpec::default()
        }
    }
    /// A port with every field given.
    pub fn new(name: Option<&str>, container_port: Option<u16>, protocol: &str) -> Self {
        PortSpec {
            name: name.map(Into::into),
            container_port,
            protocol: protocol.into(),
        }
    }
}

/// An app to deploy. `Default`: no id, 1 instance, one unnamed TCP port, host networking,
/// no health checks, no labels. JSON (for `POST /sim/apps`) uses these field names
/// (`health_checks`/`healthChecks` and `container_port`/`containerPort` both accepted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppSpec {
    /// App id; relative ids are made absolute (`web` → `/web`). Must satisfy Marathon's rules.
    pub id: String,
    /// Number of instances to keep running.
    pub instances: u32,
    /// Ports, in index order.
    pub ports: Vec<PortSpec>,
    /// Networking mode.
    pub networking: Networking,
    /// Whether the app has a (Marathon-side HTTP) health check. New tasks become healthy right
    /// after `TASK_RUNNING`; use [`Simulator::set_health`] to change that.
    #[serde(alias = "healthChecks")]
    pub health_checks: bool,
    /// App labels.
    pub labels: BTreeMap<String, String>,
}

impl Default for AppSpec {
    fn default() -> Self {
        AppSpec {
            id: String::new(),
            instances: 1,
            ports: vec![PortSpec::default()],
            networking: Networking::Host,
            health_checks: false,
            labels: BTreeMap::new(),
        }
    }
}

impl AppSpec {
    /// An app with `instances` instances and the defaults otherwise.
    pub fn new(id: &str, instances: u32) -> Self {
        AppSpec {
            id: id.into(),
            instances,
            ..AppSpec::default()
        }
    }
    /// Replaces the ports.
    pub fn with_ports(mut self, ports: Vec<PortSpec>) -> Self {
        self.ports = ports;
        self
    }
    /// Sets the networking mode.
    pub fn with_networking(mut self, networking: Networking) -> Self {
        self.networking = networking;
        self
    }
    /// Turns the health check on or off.
    pub fn with_health_checks(mut self, on: bool) -> Self {
        self.health_checks = on;
        self
    }
    /// Adds a label.
    pub fn with_label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
}
