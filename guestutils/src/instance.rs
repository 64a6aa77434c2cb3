//! One instance of a service as a guest sees it: a task record reduced to where it can be
//! reached. This module holds the addressing rules and the node-list order.
//!
//! Addressing rules:
//! - the **agent address** is the agent's first IPv4 address, else its first address, else
//!   its host name as Marathon reports it;
//! - a port with a host port is reached **externally** at the agent address and the host
//!   port (host and bridge networking); a port without one (container networking) at the
//!   task's own IP and the container port;
//! - a port's **internal** (exposed) number is the container port, or the host port when the
//!   task shares the agent's network.

use std::cmp::Ordering;
use std::net::IpAddr;

use registry::{AppId, Health, Protocol, TaskPort, TaskRecord};
use serde::Serialize;

/// A task of a service, reduced to what clients need to reach it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Instance {
    /// The app the task belongs to.
    pub app_id: AppId,
    /// The task id (maestro's container name).
    pub task_id: String,
    /// The agent's host name as Marathon reports it.
    pub host: String,
    /// The agent address (see the module docs).
    pub address: String,
    /// The task's own IP, if it has one (container networking).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_ip: Option<IpAddr>,
    /// The ports, in the app definition's order.
    pub ports: Vec<InstancePort>,
    /// The health-check verdict.
    pub health: Health,
}

/// One port of an [`Instance`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InstancePort {
    /// The port's name from the app definition, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Protocols (tcp, udp).
    pub protocols: Vec<Protocol>,
    /// Where clients outside the container reach it, as `address`, `port`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external: Option<Endpoint>,
    /// The port the process inside the container listens on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal: Option<u16>,
}

/// An address and a port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// An IP address or a host name.
    pub address: String,
    /// The port number.
    pub port: u16,
}

impl Instance {
    /// Builds the view of a task record.
    pub fn from_record(task: &TaskRecord) -> Self {
        let address = preferred(&task.agent_ips)
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| task.host.clone());
        let task_ip = preferred(&task.task_ips);
        let ports = task
            .ports
            .iter()
            .map(|p| InstancePort::new(p, &address, task_ip))
            .collect();
        Instance {
            app_id: task.app_id.clone(),
            task_id: task.task_id.clone(),
            host: task.host.clone(),
            address,
            task_ip,
            ports,
            health: task.health,
        }
    }

    /// The first port with this name.
    pub fn port_named(&self, name: &str) -> Option<&InstancePort> {
        self.ports.iter().find(|p| p.name.as_deref() == Some(name))
    }

    /// The external endpoints of the named ports, in the order given; the name of the first
    /// port that is missing or unreachable on error.
    pub fn external_endpoints<'a>(
        &'a self,
        names: &'a [String],
    ) -> Result<Vec<&'a Endpoint>, &'a str> {
        names
            .iter()
            .map(|name| {
                self.port_named(name)
                    .and_then(|p| p.external.as_ref())
                    .ok_or(name.as_str())
            })
            .collect()
    }
}

impl InstancePort {
    fn new(port: &TaskPort, agent_address: &str, task_ip: Option<IpAddr>) -> Self {
        let external = match (port.host_port, task_ip, port.container_port) {
            (Some(host_port), _, _) => Some(Endpoint {
                address: agent_address.to_string(),
                port: host_port,
            }),
            (None, Some(ip), Some(container_port)) => Some(Endpoint {
                address: ip.to_string(),
                port: container_port,
            }),
            _ => None,
        };
        InstancePort {
            name: port.name.clone(),
            protocols: port.protocols.clone(),
            external,
            internal: port.container_port.filter(|p| *p > 0).or(port.host_port),
        }
    }
}

/// The first IPv4 address, else the first address.
fn preferred(ips: &[IpAddr]) -> Option<IpAddr> {
    ips.iter()
        .find(|ip| ip.is_ipv4())
        .or_else(|| ips.first())
        .copied()
}

/// The documented node-list order: by app id, then address (IPs numerically, before host
/// names), then the requested ports' numbers, then task id. Stable across calls and
/// independent of etcd's key order.
pub(crate) fn node_order(
    a: &(&Instance, Vec<&Endpoint>),
    b: &(&Instance, Vec<&Endpoint>),
) -> Ordering {
    let address = |e: &(&Instance, Vec<&Endpoint>)| -> AddressKey {
        let text =
            e.1.first()
                .map(|p| p.address.as_str())
                .unwrap_or(&e.0.address);
        match text.parse::<IpAddr>() {
            Ok(ip) => AddressKey::Ip(ip),
            Err(_) => AddressKey::Name(text.to_string()),
        }
    };
    let ports =
        |e: &(&Instance, Vec<&Endpoint>)| -> Vec<u16> { e.1.iter().map(|p| p.port).collect() };
    a.0.app_id
        .cmp(&b.0.app_id)
        .then_with(|| address(a).cmp(&address(b)))
        .then_with(|| ports(a).cmp(&ports(b)))
        .then_with(|| a.0.task_id.cmp(&b.0.task_id))
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum AddressKey {
    Ip(IpAddr),
    Name(String),
}
