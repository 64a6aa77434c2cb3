//! One RecordIO record of the master's `SUBSCRIBE` stream → a typed [`MesosEvent`].
//!
//! The models follow the operator API's JSON (proto2 as Mesos writes it): snake_case field
//! names in any order, enums as their names (unknown names kept as strings), ids wrapped as
//! `{"value": …}`, 64-bit integers as bare numbers (never read through `f64`), doubles in any
//! number form, unset fields omitted. So every field is optional and unknown fields are
//! ignored; an error names the field that has the wrong kind (`task_added.task.statuses[0].timestamp: …`).
//! Only what an event cannot mean anything without is required (the ids of TASK_UPDATED,
//! AGENT_REMOVED and FRAMEWORK_REMOVED, the task of TASK_ADDED).

use std::fmt;
use std::net::IpAddr;

use serde::Deserialize;

/// A decoded event.
#[derive(Clone, Debug, PartialEq)]
pub enum MesosEvent {
    /// The first record: the whole state, and the heartbeat interval (Mesos ≥ 1.5).
    Subscribed {
        /// The `get_state` snapshot.
        state: Box<GetState>,
        /// `heartbeat_interval_seconds`, when sent.
        heartbeat_interval_seconds: Option<f64>,
    },
    /// A task was launched, or reported by a re-registering agent (any state).
    TaskAdded(Box<Task>),
    /// A task reached a new state, or its health changed.
    TaskUpdated {
        /// The framework of the task (task ids are unique only per framework).
        framework_id: String,
        /// The status update being processed (IPs, health, timestamp).
        status: Box<TaskStatus>,
        /// The latest state known to the agent (use it for the lifecycle).
        state: Option<String>,
    },
    /// An agent registered or re-registered.
    AgentAdded(Box<Agent>),
    /// An agent was removed.
    AgentRemoved {
        /// Its id.
        agent_id: String,
    },
    /// A framework registered.
    FrameworkAdded(Box<Framework>),
    /// A framework re-registered (treat like added: upsert).
    FrameworkUpdated(Box<Framework>),
    /// A framework was removed.
    FrameworkRemoved {
        /// Its id.
        framework_id: String,
        /// Its `framework_info`.
        info: Box<FrameworkInfo>,
    },
    /// The stream is alive.
    Heartbeat,
    /// A type this build does not handle (the enum may grow; `UNKNOWN`).
    Ignored {
        /// The `type`.
        kind: String,
    },
}

/// Why a record is not an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The path of the offending field (`.` for the record itself).
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mesos event: {}: {}", self.path, self.reason)
    }
}

impl std::error::Error for DecodeError {}

fn missing(path: &str) -> DecodeError {
    DecodeError {
        path: path.to_string(),
        reason: "missing".to_string(),
    }
}

/// `{"value": "…"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Id {
    /// The id.
    #[serde(default)]
    pub value: Option<String>,
}

/// Reads a required wrapped id, naming `path` when it is absent or empty.
fn required(id: Option<&Id>, path: &str) -> Result<String, DecodeError> {
    match id.and_then(|i| i.value.as_deref()) {
        Some(v) if !v.is_empty() => Ok(v.to_string()),
        _ => Err(missing(&format!("{path}.value"))),
    }
}

/// `{"labels": [{"key", "value"?}]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Labels {
    /// The labels, in order.
    #[serde(default)]
    pub labels: Vec<Label>,
}

/// One label.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Label {
    /// The key.
    #[serde(default)]
    pub key: Option<String>,
    /// The value (optional in Mesos).
    #[serde(default)]
    pub value: Option<String>,
}

/// `GetState`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct GetState {
    /// `get_tasks`.
    #[serde(default)]
    pub get_tasks: Option<GetTasks>,
    /// `get_agents`.
    #[serde(default)]
    pub get_agents: Option<GetAgents>,
    /// `get_frameworks`.
    #[serde(default)]
    pub get_frameworks: Option<GetFrameworks>,
}

/// `GetTasks`. Finished tasks (`completed_tasks`, up to a thousand per framework on a real
/// master) and the deprecated `orphan_tasks` are skipped unread: nothing is made of them,
/// and a snapshot is big enough without them.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct GetTasks {
    /// Staging, running, and terminal-but-unacknowledged tasks.
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// Tasks on unreachable agents.
    #[serde(default)]
    pub unreachable_tasks: Vec<Task>,
}

/// `GetAgents`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct GetAgents {
    /// Registered agents.
    #[serde(default)]
    pub agents: Vec<Agent>,
    /// Agents known from the registry that have not re-registered yet.
    #[serde(default)]
    pub recovered_agents: Vec<AgentInfo>,
}

/// `GetFrameworks` (removed frameworks, `completed_frameworks`, are skipped unread).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct GetFrameworks {
    /// Registered frameworks.
    #[serde(default)]
    pub frameworks: Vec<Framework>,
}

/// `Task`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Task {
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `task_id`.
    #[serde(default)]
    pub task_id: Option<Id>,
    /// `framework_id`.
    #[serde(default)]
    pub framework_id: Option<Id>,
    /// `executor_id` (absent for command tasks).
    #[serde(default)]
    pub executor_id: Option<Id>,
    /// `agent_id`.
    #[serde(default)]
    pub agent_id: Option<Id>,
    /// The latest state.
    #[serde(default)]
    pub state: Option<String>,
    /// `resources` (host ports are the `ports` ranges).
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// `statuses`, oldest first.
    #[serde(default)]
    pub statuses: Vec<TaskStatus>,
    /// `labels`.
    #[serde(default)]
    pub labels: Option<Labels>,
    /// `discovery`.
    #[serde(default)]
    pub discovery: Option<DiscoveryInfo>,
    /// `container`.
    #[serde(default)]
    pub container: Option<ContainerInfo>,
    /// `health_check` (≥ 1.8): only whether one is defined matters here.
    #[serde(default)]
    pub health_check: Option<serde_json::Value>,
}

/// `TaskStatus`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct TaskStatus {
    /// `task_id`.
    #[serde(default)]
    pub task_id: Option<Id>,
    /// `state`.
    #[serde(default)]
    pub state: Option<String>,
    /// `source`.
    #[serde(default)]
    pub source: Option<String>,
    /// `reason`.
    #[serde(default)]
    pub reason: Option<String>,
    /// `message`.
    #[serde(default)]
    pub message: Option<String>,
    /// `agent_id`.
    #[serde(default)]
    pub agent_id: Option<Id>,
    /// `executor_id`.
    #[serde(default)]
    pub executor_id: Option<Id>,
    /// `timestamp`, float seconds since the epoch.
    #[serde(default)]
    pub timestamp: Option<f64>,
    /// `healthy` (Mesos-native health checks only).
    #[serde(default)]
    pub healthy: Option<bool>,
    /// `labels`.
    #[serde(default)]
    pub labels: Option<Labels>,
    /// `container_status`.
    #[serde(default)]
    pub container_status: Option<ContainerStatus>,
}

/// `ContainerStatus`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ContainerStatus {
    /// `container_id` (`parent` set for nested containers: pods).
    #[serde(default)]
    pub container_id: Option<ContainerId>,
    /// `network_infos`.
    #[serde(default)]
    pub network_infos: Vec<NetworkInfo>,
    /// `executor_pid`.
    #[serde(default)]
    pub executor_pid: Option<u64>,
}

/// `ContainerID`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ContainerId {
    /// `value`.
    #[serde(default)]
    pub value: Option<String>,
    /// `parent`.
    #[serde(default)]
    pub parent: Option<Box<ContainerId>>,
}

/// `NetworkInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct NetworkInfo {
    /// `ip_addresses`.
    #[serde(default)]
    pub ip_addresses: Vec<IpAddress>,
    /// `name` (CNI network).
    #[serde(default)]
    pub name: Option<String>,
    /// `labels`.
    #[serde(default)]
    pub labels: Option<Labels>,
    /// `port_mappings`.
    #[serde(default)]
    pub port_mappings: Vec<PortMapping>,
}

/// `NetworkInfo.IPAddress`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct IpAddress {
    /// `IPv4` (default) or `IPv6`.
    #[serde(default)]
    pub protocol: Option<String>,
    /// The address, as text (often absent in requests).
    #[serde(default)]
    pub ip_address: Option<String>,
}

/// A port mapping (`NetworkInfo` or Docker).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct PortMapping {
    /// `host_port`.
    #[serde(default)]
    pub host_port: Option<u32>,
    /// `container_port`.
    #[serde(default)]
    pub container_port: Option<u32>,
    /// `protocol`.
    #[serde(default)]
    pub protocol: Option<String>,
}

/// `DiscoveryInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct DiscoveryInfo {
    /// `visibility` (`FRAMEWORK`, `CLUSTER`, `EXTERNAL`).
    #[serde(default)]
    pub visibility: Option<String>,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `ports`.
    #[serde(default)]
    pub ports: Option<Ports>,
    /// `labels`.
    #[serde(default)]
    pub labels: Option<Labels>,
}

/// `Ports`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Ports {
    /// The ports.
    #[serde(default)]
    pub ports: Vec<Port>,
}

/// `Port`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Port {
    /// `number`.
    #[serde(default)]
    pub number: Option<u32>,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `protocol` (free text; Marathon writes `tcp` / `udp`).
    #[serde(default)]
    pub protocol: Option<String>,
    /// `visibility`.
    #[serde(default)]
    pub visibility: Option<String>,
    /// `labels`.
    #[serde(default)]
    pub labels: Option<Labels>,
}

/// `Resource` (only what ports and scalars need).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Resource {
    /// `name` (`ports`, `cpus`, ...).
    #[serde(default)]
    pub name: Option<String>,
    /// `type` (`RANGES`, `SCALAR`, `SET`).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `ranges`.
    #[serde(default)]
    pub ranges: Option<Ranges>,
    /// `scalar`.
    #[serde(default)]
    pub scalar: Option<Scalar>,
}

/// `Value.Ranges`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Ranges {
    /// Inclusive ranges.
    #[serde(default)]
    pub range: Vec<Range>,
}

/// `Value.Range`, inclusive.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Range {
    /// `begin`.
    #[serde(default)]
    pub begin: Option<u64>,
    /// `end`.
    #[serde(default)]
    pub end: Option<u64>,
}

/// `Value.Scalar`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Scalar {
    /// `value`.
    #[serde(default)]
    pub value: Option<f64>,
}

/// `ContainerInfo` (networking only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ContainerInfo {
    /// `type` (`DOCKER`, `MESOS`).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `docker`.
    #[serde(default)]
    pub docker: Option<DockerInfo>,
    /// `network_infos`.
    #[serde(default)]
    pub network_infos: Vec<NetworkInfo>,
}

/// `ContainerInfo.DockerInfo` (networking only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct DockerInfo {
    /// `network` (`HOST`, `BRIDGE`, `USER`, `NONE`).
    #[serde(default)]
    pub network: Option<String>,
    /// `port_mappings`.
    #[serde(default)]
    pub port_mappings: Vec<PortMapping>,
}

/// `GetAgents.Agent`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Agent {
    /// `agent_info`.
    #[serde(default)]
    pub agent_info: Option<AgentInfo>,
    /// `active`.
    #[serde(default)]
    pub active: Option<bool>,
    /// `version`.
    #[serde(default)]
    pub version: Option<String>,
    /// `pid` (`slave(1)@10.0.0.1:5051`).
    #[serde(default)]
    pub pid: Option<String>,
    /// `registered_time`.
    #[serde(default)]
    pub registered_time: Option<TimeInfo>,
    /// `reregistered_time`.
    #[serde(default)]
    pub reregistered_time: Option<TimeInfo>,
}

/// `TimeInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct TimeInfo {
    /// Nanoseconds since the epoch (an `int64`: beyond `f64`'s exact range).
    #[serde(default)]
    pub nanoseconds: Option<i64>,
}

/// `AgentInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AgentInfo {
    /// `hostname`.
    #[serde(default)]
    pub hostname: Option<String>,
    /// `port` (5051 by default).
    #[serde(default)]
    pub port: Option<u32>,
    /// `id`.
    #[serde(default)]
    pub id: Option<Id>,
}

/// `GetFrameworks.Framework`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Framework {
    /// `framework_info`.
    #[serde(default)]
    pub framework_info: Option<FrameworkInfo>,
    /// `active`.
    #[serde(default)]
    pub active: Option<bool>,
    /// `connected`.
    #[serde(default)]
    pub connected: Option<bool>,
    /// `recovered`.
    #[serde(default)]
    pub recovered: Option<bool>,
}

/// `FrameworkInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct FrameworkInfo {
    /// `id`.
    #[serde(default)]
    pub id: Option<Id>,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `user`.
    #[serde(default)]
    pub user: Option<String>,
    /// `hostname`.
    #[serde(default)]
    pub hostname: Option<String>,
    /// `webui_url`.
    #[serde(default)]
    pub webui_url: Option<String>,
    /// `principal`.
    #[serde(default)]
    pub principal: Option<String>,
    /// `role` (deprecated).
    #[serde(default)]
    pub role: Option<String>,
    /// `roles`.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// The envelope: `type` and the payload of each known type.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    subscribed: Option<Subscribed>,
    #[serde(default)]
    task_added: Option<TaskAdded>,
    #[serde(default)]
    task_updated: Option<TaskUpdated>,
    #[serde(default)]
    agent_added: Option<AgentAdded>,
    #[serde(default)]
    agent_removed: Option<AgentRemoved>,
    #[serde(default)]
    framework_added: Option<FrameworkPayload>,
    #[serde(default)]
    framework_updated: Option<FrameworkPayload>,
    #[serde(default)]
    framework_removed: Option<FrameworkRemoved>,
}

#[derive(Deserialize)]
struct Subscribed {
    #[serde(default)]
    get_state: Option<GetState>,
    #[serde(default)]
    heartbeat_interval_seconds: Option<f64>,
}

#[derive(Deserialize)]
struct TaskAdded {
    #[serde(default)]
    task: Option<Task>,
}

#[derive(Deserialize)]
struct TaskUpdated {
    #[serde(default)]
    framework_id: Option<Id>,
    #[serde(default)]
    status: Option<TaskStatus>,
    #[serde(default)]
    state: Option<String>,
}

#[derive(Deserialize)]
struct AgentAdded {
    #[serde(default)]
    agent: Option<Agent>,
}

#[derive(Deserialize)]
struct AgentRemoved {
    #[serde(default)]
    agent_id: Option<Id>,
}

#[derive(Deserialize)]
struct FrameworkPayload {
    #[serde(default)]
    framework: Option<Framework>,
}

#[derive(Deserialize)]
struct FrameworkRemoved {
    #[serde(default)]
    framework_info: Option<FrameworkInfo>,
}

/// Decodes one record (the JSON of one `Event`).
pub fn decode(record: &[u8]) -> Result<MesosEvent, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(record);
    let envelope: Envelope = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        DecodeError {
            path,
            reason: e.into_inner().to_string(),
        }
    })?;
    de.end().map_err(|e| DecodeError {
        path: ".".to_string(),
        reason: e.to_string(),
    })?;
    let kind = envelope.kind.ok_or_else(|| missing("type"))?;
    Ok(match kind.as_str() {
        "SUBSCRIBED" => {
            let s = envelope.subscribed.ok_or_else(|| missing("subscribed"))?;
            MesosEvent::Subscribed {
                state: Box::new(s.get_state.unwrap_or_default()),
                heartbeat_interval_seconds: s.heartbeat_interval_seconds,
            }
        }
        "TASK_ADDED" => {
            let task = envelope
                .task_added
                .and_then(|t| t.task)
                .ok_or_else(|| missing("task_added.task"))?;
            required(task.task_id.as_ref(), "task_added.task.task_id")?;
            required(task.framework_id.as_ref(), "task_added.task.framework_id")?;
            MesosEvent::TaskAdded(Box::new(task))
        }
        "TASK_UPDATED" => {
            let u = envelope
                .task_updated
                .ok_or_else(|| missing("task_updated"))?;
            let framework_id = required(u.framework_id.as_ref(), "task_updated.framework_id")?;
            let status = u.status.ok_or_else(|| missing("task_updated.status"))?;
            required(status.task_id.as_ref(), "task_updated.status.task_id")?;
            MesosEvent::TaskUpdated {
                framework_id,
                status: Box::new(status),
                state: u.state,
            }
        }
        "AGENT_ADDED" => {
            let agent = envelope
                .agent_added
                .and_then(|a| a.agent)
                .ok_or_else(|| missing("agent_added.agent"))?;
            required(
                agent.agent_info.as_ref().and_then(|i| i.id.as_ref()),
                "agent_added.agent.agent_info.id",
            )?;
            MesosEvent::AgentAdded(Box::new(agent))
        }
        "AGENT_REMOVED" => {
            let removed = envelope
                .agent_removed
                .ok_or_else(|| missing("agent_removed"))?;
            MesosEvent::AgentRemoved {
                agent_id: required(removed.agent_id.as_ref(), "agent_removed.agent_id")?,
            }
        }
        "FRAMEWORK_ADDED" | "FRAMEWORK_UPDATED" => {
            let (payload, path) = if kind == "FRAMEWORK_ADDED" {
                (envelope.framework_added, "framework_added")
            } else {
                (envelope.framework_updated, "framework_updated")
            };
            let framework = payload
                .and_then(|p| p.framework)
                .ok_or_else(|| missing(&format!("{path}.framework")))?;
            required(
                framework
                    .framework_info
                    .as_ref()
                    .and_then(|i| i.id.as_ref()),
                &format!("{path}.framework.framework_info.id"),
            )?;
            if kind == "FRAMEWORK_ADDED" {
                MesosEvent::FrameworkAdded(Box::new(framework))
            } else {
                MesosEvent::FrameworkUpdated(Box::new(framework))
            }
        }
        "FRAMEWORK_REMOVED" => {
            let info = envelope
                .framework_removed
                .and_then(|r| r.framework_info)
                .ok_or_else(|| missing("framework_removed.framework_info"))?;
            let framework_id = required(info.id.as_ref(), "framework_removed.framework_info.id")?;
            MesosEvent::FrameworkRemoved {
                framework_id,
                info: Box::new(info),
            }
        }
        "HEARTBEAT" => MesosEvent::Heartbeat,
        _ => MesosEvent::Ignored { kind },
    })
}

/// A libprocess PID (`slave(1)@10.0.0.1:5051`, `master@[::1]:5050`), split into its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pid {
    /// The process id before `@` (`slave(1)`).
    pub id: String,
    /// The host: an IP or a host name (IPv6 without brackets).
    pub host: String,
    /// The port.
    pub port: u16,
}

impl Pid {
    /// Parses a PID; `None` when it is not `id@host:port`.
    pub fn parse(pid: &str) -> Option<Pid> {
        let (id, address) = pid.split_once('@')?;
        let (host, port) = if let Some(rest) = address.strip_prefix('[') {
            let (host, tail) = rest.split_once(']')?;
            (host, tail.strip_prefix(':')?)
        } else {
            address.rsplit_once(':')?
        };
        if id.is_empty() || host.is_empty() {
            return None;
        }
        Some(Pid {
            id: id.to_string(),
            host: host.to_string(),
            port: port.parse().ok()?,
        })
    }

    /// The host, when it is an IP address.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_examples_decode() {
        let subscribed = br#"{"type":"SUBSCRIBED","subscribed":{"get_state":{"get_tasks":{},"get_executors":{},"get_frameworks":{},"get_agents":{}},"heartbeat_interval_seconds":15.0}}"#;
        let MesosEvent::Subscribed {
            state,
            heartbeat_interval_seconds,
        } = decode(subscribed).unwrap()
        else {
            panic!("not SUBSCRIBED")
        };
        assert_eq!(heartbeat_interval_seconds, Some(15.0));
        assert_eq!(state.get_tasks, Some(GetTasks::default()));
        assert_eq!(
            decode(br#"{"type":"HEARTBEAT"}"#).unwrap(),
            MesosEvent::Heartbeat
        );
        let updated = br#"{"type":"TASK_UPDATED","task_updated":{"framework_id":{"value":"f-0001"},"status":{"task_id":{"value":"t.1"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR","data":"","agent_id":{"value":"a-S0"},"timestamp":1520884850.64141,"uuid":"5vx6i1n4SE6OIYFSUa3DKg==","container_status":{"container_id":{"value":"e305"},"network_infos":[{"ip_addresses":[{"protocol":"IPv4","ip_address":"172.18.0.2"}]}]}},"state":"TASK_RUNNING"}}"#;
        let MesosEvent::TaskUpdated {
            framework_id,
            status,
            state,
        } = decode(updated).unwrap()
        else {
            panic!("not TASK_UPDATED")
        };
        assert_eq!(framework_id, "f-0001");
        assert_eq!(state.as_deref(), Some("TASK_RUNNING"));
        assert_eq!(status.timestamp, Some(1520884850.64141));
        let ips = &status.container_status.unwrap().network_infos[0].ip_addresses[0];
        assert_eq!(ips.ip_address.as_deref(), Some("172.18.0.2"));
        assert_eq!(
            decode(br#"{"type":"AGENT_REMOVED","agent_removed":{"agent_id":{"value":"c3-S3"}}}"#)
                .unwrap(),
            MesosEvent::AgentRemoved {
                agent_id: "c3-S3".into()
            }
        );
        let agent = br#"{"type":"AGENT_ADDED","agent_added":{"agent":{"agent_info":{"hostname":"172.17.0.4","port":5051,"id":{"value":"65-S0"}},"active":true,"pid":"slave(1)@172.17.0.4:5051","registered_time":{"nanoseconds":1566970849683100928}}}}"#;
        let MesosEvent::AgentAdded(agent) = decode(agent).unwrap() else {
            panic!("not AGENT_ADDED")
        };
        assert_eq!(
            agent.registered_time.unwrap().nanoseconds,
            Some(1566970849683100928),
            "int64 read exactly"
        );
        let removed = br#"{"type":"FRAMEWORK_REMOVED","framework_removed":{"framework_info":{"user":"root","name":"hello-world","id":{"value":"52-0002"}}}}"#;
        assert!(matches!(
            decode(removed).unwrap(),
            MesosEvent::FrameworkRemoved { framework_id, .. } if framework_id == "52-0002"
        ));
    }

    #[test]
    fn unknown_types_are_ignored_and_unknown_fields_skipped() {
        assert_eq!(
            decode(br#"{"type":"OPERATION_UPDATED","operation_updated":{"x":1}}"#).unwrap(),
            MesosEvent::Ignored {
                kind: "OPERATION_UPDATED".into()
            }
        );
        assert_eq!(
            decode(br#"{"new_field":[1,2],"type":"HEARTBEAT"}"#).unwrap(),
            MesosEvent::Heartbeat,
            "type need not come first"
        );
    }

    #[test]
    fn errors_name_the_bad_field() {
        let bad_kind = br#"{"type":"TASK_ADDED","task_added":{"task":{"task_id":{"value":"t"},"statuses":[{"timestamp":"soon"}]}}}"#;
        let e = decode(bad_kind).unwrap_err();
        assert_eq!(e.path, "task_added.task.statuses[0].timestamp", "{e}");
        let e = decode(br#"{"type":"TASK_UPDATED","task_updated":{"status":{}}}"#).unwrap_err();
        assert_eq!(e.path, "task_updated.framework_id.value");
        let e = decode(
            br#"{"type":"TASK_ADDED","task_added":{"task":{"framework_id":{"value":"f"}}}}"#,
        )
        .unwrap_err();
        assert_eq!(e.path, "task_added.task.task_id.value");
        assert_eq!(
            decode(br#"{"type":"AGENT_REMOVED"}"#).unwrap_err().path,
            "agent_removed"
        );
        assert_eq!(decode(b"{}").unwrap_err().path, "type");
        assert!(decode(b"not json").is_err());
        assert!(decode(br#"{"type":"HEARTBEAT"} trailing"#).is_err());
        let e =
            decode(br#"{"type":"AGENT_ADDED","agent_added":{"agent":{"agent_info":{"port":-1}}}}"#)
                .unwrap_err();
        assert_eq!(e.path, "agent_added.agent.agent_info.port");
    }

    #[test]
    fn pids() {
        let pid = Pid::parse("slave(1)@10.0.0.1:5051").unwrap();
        assert_eq!(pid.ip(), Some("10.0.0.1".parse().unwrap()));
        assert_eq!((pid.id.as_str(), pid.port), ("slave(1)", 5051));
        let v6 = Pid::parse("master@[2001:db8::1]:5050").unwrap();
        assert_eq!(v6.ip(), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(
            Pid::parse("scheduler-1@m1.example:8080").unwrap().ip(),
            None
        );
        for bad in [
            "",
            "slave(1)",
            "@1.2.3.4:5",
            "x@1.2.3.4",
            "x@[::1]5050",
            "x@h:99999",
        ] {
            assert_eq!(Pid::parse(bad), None, "{bad}");
        }
    }

    /// Every record of the recorded streams decodes; each known type appears.
    #[test]
    fn recorded_streams_decode() {
        use super::super::recordio::{RecordIoParser, encode};
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/mesos/dcos-net");
        let mut kinds = std::collections::BTreeSet::new();
        let mut tasks_in_snapshots = 0;
        for file in [
            "operator-api.json",
            "pod-tasks.json",
            "hello-world.json",
            "hello-overlay.json",
            "recovered-agents.json",
        ] {
            let Ok(text) = std::fs::read(format!("{dir}/{file}")) else {
                continue;
            };
            let stream: Vec<u8> = text
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .flat_map(encode)
                .collect();
            let (records, result) = RecordIoParser::default().push_collect(&stream);
            result.unwrap();
            for record in records {
                let event = decode(&record).unwrap_or_else(|e| panic!("{file}: {e}"));
                if let MesosEvent::Subscribed { state, .. } = &event {
                    tasks_in_snapshots += state.get_tasks.as_ref().map_or(0, |t| t.tasks.len());
                }
                let kind = format!("{event:?}");
                kinds.insert(kind.split([' ', '(', '{']).next().unwrap_or("").to_string());
            }
        }
        if kinds.is_empty() {
            return; // no recordings in this checkout
        }
        for want in [
            "Subscribed",
            "TaskAdded",
            "TaskUpdated",
            "AgentAdded",
            "FrameworkAdded",
            "FrameworkUpdated",
            "FrameworkRemoved",
            "Heartbeat",
        ] {
            assert!(kinds.contains(want), "{want} not in {kinds:?}");
        }
        assert!(
            tasks_in_snapshots >= 4,
            "hello-world's snapshot holds 4 tasks"
        );
    }

    /// The `GET_STATE` answers share the snapshot's model.
    #[test]
    fn recorded_get_state_answers_decode() {
        #[derive(Deserialize)]
        struct Answer {
            get_state: GetState,
        }
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/mesos/dcos-net");
        for file in ["unhealthy.json", "tcp-and-udp.json"] {
            let Ok(text) = std::fs::read(format!("{dir}/{file}")) else {
                continue;
            };
            let answer: Answer = serde_json::from_slice(&text).unwrap();
            let tasks = answer.get_state.get_tasks.unwrap().tasks;
            assert!(!tasks.is_empty(), "{file}");
            if file == "unhealthy.json" {
                assert!(tasks[0].health_check.is_some());
            } else {
                let ports = tasks[0].discovery.as_ref().unwrap().ports.as_ref().unwrap();
                assert!(ports.ports.len() >= 2);
            }
        }
    }
}
