//! The record schema: what Herald knows about a Marathon task and a Marathon app.
//!
//! Records are plain data. Every field that Marathon may omit is optional or defaults to
//! empty, so older records still decode after additive changes (see the README's
//! versioning rules).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::ids::AppId;
use crate::stamp::Stamp;

/// The highest record schema version this build reads (and the one it writes for the
/// Mesos records; see [`MARATHON_SCHEMA_VERSION`] for the Marathon ones).
///
/// Additive, optional fields keep the version; anything else bumps it (and, if old readers
/// could misread the new records, the `v1` segment of the key layout as well).
pub const SCHEMA_VERSION: u32 = 2;

/// The schema version of the Marathon records (tasks, apps, their tombstones): unchanged
/// since version 1, so readers that know only version 1 keep reading them.
pub const MARATHON_SCHEMA_VERSION: u32 = 1;

/// A transport protocol of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// Parses Marathon's protocol field (`"tcp"`, `"udp"`, `"udp,tcp"`); empty means tcp.
    /// Unknown parts are ignored; the result is sorted and never empty.
    pub fn parse_list(input: &str) -> Vec<Protocol> {
        let mut out: Vec<Protocol> = input
            .split(',')
            .filter_map(|p| match p.trim().to_ascii_lowercase().as_str() {
                "tcp" => Some(Protocol::Tcp),
                "udp" => Some(Protocol::Udp),
                _ => None,
            })
            .collect();
        out.sort();
        out.dedup();
        if out.is_empty() {
            out.push(Protocol::Tcp);
        }
        out
    }

    /// `"tcp"` or `"udp"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

fn default_protocols() -> Vec<Protocol> {
    vec![Protocol::Tcp]
}

/// A Mesos task state as Marathon reports it (`taskStatus` / `state`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskState {
    /// `TASK_STAGING`
    #[serde(rename = "TASK_STAGING")]
    Staging,
    /// `TASK_STARTING`
    #[serde(rename = "TASK_STARTING")]
    Starting,
    /// `TASK_RUNNING`
    #[serde(rename = "TASK_RUNNING")]
    Running,
    /// `TASK_KILLING`: going away; kept, but marked down.
    #[serde(rename = "TASK_KILLING")]
    Killing,
    /// `TASK_UNREACHABLE`: not terminal, may come back; kept, but marked down.
    #[serde(rename = "TASK_UNREACHABLE")]
    Unreachable,
    /// `TASK_FINISHED` (terminal)
    #[serde(rename = "TASK_FINISHED")]
    Finished,
    /// `TASK_FAILED` (terminal)
    #[serde(rename = "TASK_FAILED")]
    Failed,
    /// `TASK_KILLED` (terminal)
    #[serde(rename = "TASK_KILLED")]
    Killed,
    /// `TASK_ERROR` (terminal)
    #[serde(rename = "TASK_ERROR")]
    Error,
    /// `TASK_LOST` (terminal for Herald: Marathon replaces the task)
    #[serde(rename = "TASK_LOST")]
    Lost,
    /// `TASK_DROPPED` (terminal)
    #[serde(rename = "TASK_DROPPED")]
    Dropped,
    /// `TASK_GONE` (terminal)
    #[serde(rename = "TASK_GONE")]
    Gone,
    /// `TASK_GONE_BY_OPERATOR` (terminal)
    #[serde(rename = "TASK_GONE_BY_OPERATOR")]
    GoneByOperator,
    /// `TASK_UNKNOWN` (terminal for Herald)
    #[serde(rename = "TASK_UNKNOWN")]
    Unknown,
    /// A state name this build does not know; treated as not running.
    #[serde(untagged)]
    Other(String),
}

impl TaskState {
    /// Parses Marathon's state name; unknown names become [`TaskState::Other`].
    pub fn parse(name: &str) -> TaskState {
        serde_json::from_value(serde_json::Value::String(name.to_string()))
            .unwrap_or_else(|_| TaskState::Other(name.to_string()))
    }

    /// The Mesos name (`TASK_RUNNING`).
    pub fn as_str(&self) -> &str {
        match self {
            TaskState::Staging => "TASK_STAGING",
            TaskState::Starting => "TASK_STARTING",
            TaskState::Running => "TASK_RUNNING",
            TaskState::Killing => "TASK_KILLING",
            TaskState::Unreachable => "TASK_UNREACHABLE",
            TaskState::Finished => "TASK_FINISHED",
            TaskState::Failed => "TASK_FAILED",
            TaskState::Killed => "TASK_KILLED",
            TaskState::Error => "TASK_ERROR",
            TaskState::Lost => "TASK_LOST",
            TaskState::Dropped => "TASK_DROPPED",
            TaskState::Gone => "TASK_GONE",
            TaskState::GoneByOperator => "TASK_GONE_BY_OPERATOR",
            TaskState::Unknown => "TASK_UNKNOWN",
            TaskState::Other(s) => s,
        }
    }

    /// True for states after which the task never runs again: its record is removed.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            TaskState::Finished
                | TaskState::Failed
                | TaskState::Killed
                | TaskState::Error
                | TaskState::Lost
                | TaskState::Dropped
                | TaskState::Gone
                | TaskState::GoneByOperator
                | TaskState::Unknown
        )
    }

    /// True only for `TASK_RUNNING`: the one state in which a task is served.
    pub fn is_running(&self) -> bool {
        *self == TaskState::Running
    }

    /// Order of states that share one Marathon timestamp: a later lifecycle step wins.
    pub(crate) fn precedence(&self) -> u8 {
        match self {
            TaskState::Staging | TaskState::Starting | TaskState::Other(_) => 0,
            TaskState::Running => 1,
            TaskState::Killing | TaskState::Unreachable => 2,
            _ => 3,
        }
    }
}

/// What the health checks say about a task.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Every health check passes.
    Healthy,
    /// A health check fails.
    Unhealthy,
    /// No result yet, or the app has no health checks.
    #[default]
    Unknown,
}

/// How an app's tasks are networked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// The task shares the agent's network; ports are host ports.
    #[default]
    Host,
    /// Docker bridge: container ports mapped to host ports.
    Bridge,
    /// A container network (CNI / USER / `ipAddress`): the task has its own IP.
    Container,
}

/// One port of a running task.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskPort {
    /// The port's name from the app definition, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Protocols, sorted, never empty (`"udp,tcp"` gives both).
    #[serde(default = "default_protocols")]
    pub protocols: Vec<Protocol>,
    /// The port inside the container (bridge and container networking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<u16>,
    /// The port on the agent, when the task has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u16>,
    /// Marathon's cluster-wide service port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_port: Option<u16>,
}

impl TaskPort {
    /// The port Mesos-DNS's DiscoveryInfo carries: the host port when there is one, else the
    /// container port.
    pub fn discovery_port(&self) -> Option<u16> {
        self.host_port.or(self.container_port)
    }
}

/// What Herald knows of one Marathon task. One etcd key per task.
///
/// DNS builds Mesos-DNS names from `app_id` (the label), `task_id` (the canonical-name
/// hash), `agent_id` (the canonical-name suffix), `task_ips` / `agent_ips` (A/AAAA) and
/// `ports` (SRV).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The app the task belongs to.
    pub app_id: AppId,
    /// Marathon's task id (any era's format).
    pub task_id: String,
    /// Marathon's instance id (1.4+), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// The Mesos agent id (`...-S3`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// The agent's host name as Marathon reports it (`host`).
    pub host: String,
    /// The agent's IP addresses (`host` resolved, or `host` itself when it is an IP).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agent_ips: Vec<IpAddr>,
    /// The task's own IP addresses (Marathon's `ipAddresses`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub task_ips: Vec<IpAddr>,
    /// The task's ports, in the app definition's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<TaskPort>,
    /// The Mesos task state.
    pub state: TaskState,
    /// The health-check verdict.
    #[serde(default)]
    pub health: Health,
    /// The app version the task was launched with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// Marathon's timestamp of the last change Herald applied to this record.
    pub updated_at: Stamp,
}

impl TaskRecord {
    /// True when the task should be served: running, and not known to be unhealthy.
    pub fn is_serving(&self) -> bool {
        self.state.is_running() && self.health != Health::Unhealthy
    }

    /// The first port with this name.
    pub fn port_named(&self, name: &str) -> Option<&TaskPort> {
        self.ports.iter().find(|p| p.name.as_deref() == Some(name))
    }
}

/// A port of an app definition (`portDefinitions` or `portMappings`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortDefinition {
    /// The port's name, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Protocols, sorted, never empty.
    #[serde(default = "default_protocols")]
    pub protocols: Vec<Protocol>,
    /// The container port (port mappings only; 0 means "same as the host port").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<u16>,
    /// The requested host port (port mappings; 0 means dynamic, absent means none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u16>,
    /// The service port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_port: Option<u16>,
    /// The port's labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// What Herald knows of one Marathon app definition. One etcd key per app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRecord {
    /// The app id.
    pub app_id: AppId,
    /// Marathon's app version (a timestamp string).
    pub version: String,
    /// Port definitions or mappings, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortDefinition>,
    /// The networking mode.
    #[serde(default)]
    pub networking: NetworkMode,
    /// The app's labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// True when the app defines health checks (then unknown health is not "healthy").
    #[serde(default)]
    pub health_checks: bool,
    /// Marathon's timestamp of the last change Herald applied to this record.
    pub updated_at: Stamp,
}
