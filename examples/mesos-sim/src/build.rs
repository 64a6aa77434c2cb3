//! Mesos messages built the way Marathon's tasks look in the recorded streams (spec §11,
//! §13): DiscoveryInfo ports (one per protocol, `network-scope` labels), Docker and Mesos
//! containers with port mappings, `container_status.network_infos` holding the task's IPs,
//! resources with the host ports, a `MESOS_HTTP` health check.

use serde::Serialize;

use crate::proto::{Id, Labels, Range, Raw, Resource, TaskState, TaskStatus, raw};
use crate::spec::{Containerizer, Networking, PortSpec};

/// One port of a launched task: its spec and the host port it got, if any.
#[derive(Clone, Debug)]
pub(crate) struct BoundPort {
    pub spec: PortSpec,
    pub host_port: Option<u64>,
}

#[derive(Serialize)]
struct Discovery<'a> {
    visibility: &'a str,
    name: &'a str,
    ports: DiscoveryPorts,
}

#[derive(Serialize)]
struct DiscoveryPorts {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<DiscoveryPort>,
}

#[derive(Serialize)]
struct DiscoveryPort {
    number: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<Labels>,
}

/// `DiscoveryInfo` as Marathon writes it: visibility `FRAMEWORK`, the name, and one port per
/// port and protocol; `network-scope` `host` for a mapped host port, `container` (with
/// `network-name`) on a container network, no scope label with host networking.
pub(crate) fn discovery(name: &str, networking: &Networking, ports: &[BoundPort]) -> Raw {
    let mut out = Vec::new();
    for p in ports {
        for protocol in p.spec.protocol.split(',').map(str::trim) {
            let mut labels: Vec<(String, String)> = p.spec.labels.clone();
            let number = match (networking, p.host_port) {
                (Networking::Container(net), None) => {
                    labels.push(("network-scope".into(), "container".into()));
                    labels.push(("network-name".into(), net.clone()));
                    u64::from(p.spec.container_port.unwrap_or(0))
                }
                (Networking::Host, Some(h)) => h,
                (_, Some(h)) => {
                    labels.push(("network-scope".into(), "host".into()));
                    h
                }
                (_, None) => u64::from(p.spec.container_port.unwrap_or(0)),
            };
            out.push(DiscoveryPort {
                number,
                name: p.spec.name.clone(),
                protocol: protocol.to_string(),
                labels: (!labels.is_empty()).then(|| Labels::from_pairs(labels)),
            });
        }
    }
    raw(&Discovery {
        visibility: "FRAMEWORK",
        name,
        ports: DiscoveryPorts { ports: out },
    })
}

#[derive(Serialize)]
struct PortMapping {
    host_port: u64,
    container_port: u16,
    protocol: String,
}

/// The port mappings of bridged ports (one per protocol).
fn port_mappings(ports: &[BoundPort]) -> Vec<PortMapping> {
    let mut out = Vec::new();
    for p in ports {
        if let (Some(h), Some(c)) = (p.host_port, p.spec.container_port) {
            for protocol in p.spec.protocol.split(',').map(str::trim) {
                out.push(PortMapping {
                    host_port: h,
                    container_port: c,
                    protocol: protocol.to_string(),
                });
            }
        }
    }
    out
}

#[derive(Serialize)]
struct IpAddress<'a> {
    protocol: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_address: Option<&'a str>,
}

#[derive(Serialize)]
struct NetworkInfo<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ip_addresses: Vec<IpAddress<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<Labels>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    port_mappings: Vec<PortMapping>,
}

/// The `ip_addresses` entries of `ips` (IPv6 when the address has a `:`).
fn ip_addresses(ips: &[String]) -> Vec<IpAddress<'_>> {
    ips.iter()
        .map(|ip| IpAddress {
            protocol: if ip.contains(':') { "IPv6" } else { "IPv4" },
            ip_address: Some(ip.as_str()),
        })
        .collect()
}

/// `ContainerInfo` of a task. `None` for a command task without a containerizer.
pub(crate) fn container(
    kind: Option<Containerizer>,
    networking: &Networking,
    ports: &[BoundPort],
    task_id: &str,
) -> Option<Raw> {
    let kind = kind?;
    let net_name = match networking {
        Networking::Container(n) => Some(n.as_str()),
        Networking::Bridge if kind == Containerizer::Mesos => Some("mesos-bridge"),
        _ => None,
    };
    Some(match kind {
        Containerizer::Docker => {
            #[derive(Serialize)]
            struct Docker<'a> {
                image: &'a str,
                network: &'a str,
                #[serde(skip_serializing_if = "Vec::is_empty")]
                port_mappings: Vec<PortMapping>,
                privileged: bool,
                parameters: Vec<crate::proto::Label>,
                force_pull_image: bool,
            }
            #[derive(Serialize)]
            struct C<'a> {
                #[serde(rename = "type")]
                kind: &'a str,
                docker: Docker<'a>,
                #[serde(skip_serializing_if = "Vec::is_empty")]
                network_infos: Vec<NetworkInfo<'a>>,
            }
            let network = match networking {
                Networking::Host => "HOST",
                Networking::Bridge => "BRIDGE",
                Networking::Container(_) => "USER",
            };
            let parameters =
                Labels::from_pairs([("label", format!("MESOS_TASK_ID={task_id}"))]).labels;
            raw(&C {
                kind: "DOCKER",
                docker: Docker {
                    image: "python:3-alpine",
                    network,
                    port_mappings: if *networking == Networking::Bridge {
                        port_mappings(ports)
                    } else {
                        Vec::new()
                    },
                    privileged: false,
                    parameters,
                    force_pull_image: false,
                },
                network_infos: net_name
                    .map(|n| NetworkInfo {
                        ip_addresses: Vec::new(),
                        name: Some(n),
                        labels: None,
                        port_mappings: Vec::new(),
                    })
                    .into_iter()
                    .collect(),
            })
        }
        Containerizer::Mesos => {
            let image = serde_json::json!({"image": {"type": "DOCKER", "docker": {"name": "python:3-alpine"}, "cached": true}});
            #[derive(Serialize)]
            struct C<'a> {
                #[serde(rename = "type")]
                kind: &'a str,
                mesos: serde_json::Value,
                #[serde(skip_serializing_if = "Vec::is_empty")]
                network_infos: Vec<NetworkInfo<'a>>,
            }
            raw(&C {
                kind: "MESOS",
                mesos: image,
                network_infos: net_name
                    .map(|n| NetworkInfo {
                        ip_addresses: vec![IpAddress {
                            protocol: "IPv4",
                            ip_address: None,
                        }],
                        name: Some(n),
                        labels: Some(Labels::default()),
                        port_mappings: port_mappings(ports),
                    })
                    .into_iter()
                    .collect(),
            })
        }
    })
}

/// What a task's statuses say about its container: the container id (and its parent for a
/// pod's nested container), the network it is on, its IPs and port mappings.
#[derive(Clone, Debug)]
pub(crate) struct ContainerFacts {
    pub container_id: String,
    pub parent: Option<String>,
    pub network: Option<String>,
    pub ips: Vec<String>,
    pub mappings_in_status: bool,
    pub ports: Vec<BoundPort>,
    /// The executor's pid; the Docker containerizer reports none.
    pub executor_pid: Option<u32>,
}

/// `ContainerStatus` for `facts`.
pub(crate) fn container_status(facts: &ContainerFacts) -> Raw {
    #[derive(Serialize)]
    struct ContainerId<'a> {
        value: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        parent: Option<Id>,
    }
    #[derive(Serialize)]
    struct S<'a> {
        container_id: ContainerId<'a>,
        network_infos: Vec<NetworkInfo<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        executor_pid: Option<u32>,
    }
    let named = facts.network.is_some();
    raw(&S {
        container_id: ContainerId {
            value: &facts.container_id,
            parent: facts.parent.as_ref().map(Id::new),
        },
        network_infos: vec![NetworkInfo {
            ip_addresses: ip_addresses(&facts.ips),
            name: facts.network.as_deref(),
            labels: named.then(Labels::default),
            port_mappings: if facts.mappings_in_status {
                port_mappings(&facts.ports)
            } else {
                Vec::new()
            },
        }],
        executor_pid: facts.executor_pid,
    })
}

/// The task's resources: cpus, mem, and its host ports as single-port ranges.
pub(crate) fn resources(host_ports: &[u64]) -> Vec<Resource> {
    let role = raw(&serde_json::json!({"role": "*"}));
    let mut out = vec![
        Resource::scalar("cpus", 0.1),
        Resource::scalar("mem", 128.0),
    ];
    if !host_ports.is_empty() {
        out.push(Resource::ranges(
            "ports",
            host_ports
                .iter()
                .map(|p| Range { begin: *p, end: *p })
                .collect(),
        ));
    }
    for r in &mut out {
        r.allocation_info = Some(role.clone());
    }
    out
}

/// Marathon's `MESOS_HTTP` health check on the first port (Task.health_check, Mesos ≥ 1.8).
pub(crate) fn health_check(port: u64) -> Raw {
    raw(&serde_json::json!({
        "delay_seconds": 15.0, "interval_seconds": 10.0, "timeout_seconds": 20.0,
        "consecutive_failures": 3, "grace_period_seconds": 300.0, "type": "HTTP",
        "http": {"protocol": "IPv4", "scheme": "http", "port": port, "path": "/"}
    }))
}

/// A status update of `task_id` on `agent_id`.
pub(crate) struct StatusArgs<'a> {
    pub task_id: &'a str,
    pub agent_id: &'a str,
    pub executor_id: Option<&'a str>,
    pub state: TaskState,
    pub source: &'a str,
    pub reason: Option<&'a str>,
    pub message: Option<&'a str>,
    pub healthy: Option<bool>,
    pub container_status: Option<Raw>,
    pub timestamp: f64,
}

/// A `TaskStatus` from `a`, with a fresh uuid.
pub(crate) fn status(a: StatusArgs<'_>) -> TaskStatus {
    TaskStatus {
        task_id: Id::new(a.task_id),
        state: a.state,
        message: a.message.map(str::to_string),
        source: Some(a.source.to_string()),
        reason: a.reason.map(str::to_string),
        data: None,
        agent_id: Some(Id::new(a.agent_id)),
        executor_id: a.executor_id.map(Id::new),
        timestamp: Some(a.timestamp),
        uuid: Some(crate::ids::status_uuid()),
        healthy: a.healthy,
        check_status: None,
        labels: None,
        container_status: a.container_status,
        unreachable_time: None,
        limitation: None,
    }
}
