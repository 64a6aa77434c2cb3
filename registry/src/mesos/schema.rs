//! The records of the Mesos master source: masters and their leader, agents, frameworks, and
//! the tasks of every framework (task groups / pods included: each container is a task).
//!
//! Plain data, like the Marathon records: everything Mesos may omit is optional or empty.
//! `updated_at` orders the writes of one key (see the README's "Write guards"): for a task
//! the Mesos time of its newest status (`TaskStatus.timestamp`), for the other records the
//! time the writer observed the change (the operator API carries no time for them).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::schema::{Health, Protocol, TaskState};
use crate::stamp::Stamp;

/// The schema version of the Mesos records (the Marathon records stay at 1).
pub const MESOS_SCHEMA_VERSION: u32 = crate::schema::SCHEMA_VERSION;

/// One Mesos master (a `json.info_*` member in ZooKeeper, or a configured master).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterRecord {
    /// `MasterInfo.id`.
    pub master_id: String,
    /// `MasterInfo.address.hostname` (or `hostname`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// `MasterInfo.address.ip` (or the host of its PID), when it is a usable address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// `MasterInfo.address.port` (5050 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The Mesos version, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// True for the leading master (the [`LeaderRecord`] names it too).
    #[serde(default)]
    pub leading: bool,
    /// The master's place in the masters list, from 0 (`master0.D`, `master1.D`, ...): the
    /// configured order of a masters list; with ZooKeeper the leader first, then the other
    /// members by sequence. `None` when the writer does not know it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
    /// When the writer observed this.
    pub updated_at: Stamp,
}

/// Which master leads: one record, replaced on every leader change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderRecord {
    /// The leader's `MasterInfo.id`.
    pub master_id: String,
    /// Its host name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Its IP, when known and usable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// Its port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// When the writer observed this leader.
    pub updated_at: Stamp,
}

/// One registered Mesos agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRecord {
    /// `agent_info.id` (`…-S3`).
    pub agent_id: String,
    /// `agent_info.hostname`.
    pub hostname: String,
    /// The advertised IP: the host of its PID (`slave(1)@10.0.0.1:5051`), or the host name
    /// when that is an IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// The PID's port (else `agent_info.port`, 5051 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The PID as Mesos reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    /// When the writer observed this.
    pub updated_at: Stamp,
}

/// One framework.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkRecord {
    /// `framework_info.id`.
    pub framework_id: String,
    /// `framework_info.name`.
    pub name: String,
    /// `framework_info.hostname` (or the scheduler PID's host), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The scheduler PID's IP (v0 `/master/state` only), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// The scheduler PID's port (v0 `/master/state` only), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The scheduler PID, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    /// True while the framework is active.
    #[serde(default)]
    pub active: bool,
    /// When the writer observed this.
    pub updated_at: Stamp,
}

/// A DiscoveryInfo port of a task.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MesosPort {
    /// `number`.
    pub number: u16,
    /// `name`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `protocol` (`tcp`, `udp`, `udp,tcp`), sorted, never empty (empty means tcp).
    #[serde(default = "default_protocols")]
    pub protocols: Vec<Protocol>,
    /// `visibility` (`FRAMEWORK`, `CLUSTER`, `EXTERNAL`), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// The port's labels (a label without value maps to "").
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

fn default_protocols() -> Vec<Protocol> {
    vec![Protocol::Tcp]
}

/// One Mesos task of any framework. One etcd key per (framework id, task id): task ids are
/// unique only within a framework.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MesosTaskRecord {
    /// The framework id.
    pub framework_id: String,
    /// The framework's name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_name: Option<String>,
    /// The task id.
    pub task_id: String,
    /// The task's `name`.
    pub name: String,
    /// `discovery.name`, when set (Mesos-DNS prefers it to `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_name: Option<String>,
    /// `discovery.visibility`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_visibility: Option<String>,
    /// The agent the task runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// The executor id (shared by the containers of one pod instance), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<String>,
    /// `discovery.ports`, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<MesosPort>,
    /// Host ports from the task's `ports` resources (every range expanded), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_ports: Vec<u16>,
    /// Container IPs from the newest status' `container_status.network_infos`, usable ones
    /// only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub task_ips: Vec<IpAddr>,
    /// The task's labels (a label without value maps to "").
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The task's latest state.
    pub state: TaskState,
    /// The health verdict of its statuses (`healthy`; a defined check without a result yet
    /// is `unhealthy`).
    #[serde(default)]
    pub health: Health,
    /// The Mesos time of the newest status (the launch time of a task without one).
    pub updated_at: Stamp,
}

impl MesosTaskRecord {
    /// The name Mesos-DNS uses: `discovery.name`, else `name`.
    pub fn dns_name(&self) -> &str {
        self.discovery_name.as_deref().unwrap_or(&self.name)
    }

    /// True when the task should be served: running, and not known to be unhealthy.
    pub fn is_serving(&self) -> bool {
        self.state.is_running() && self.health != Health::Unhealthy
    }
}

/// True when a Mesos task in `state` is gone for good (its record becomes a tombstone).
/// Every terminal state of Mesos' `isTerminalState`; `TASK_UNKNOWN` is not one on this
/// source (the master does not know the task: hold it, §10 of the Mesos notes).
pub fn mesos_state_is_terminal(state: &TaskState) -> bool {
    state.is_terminal() && *state != TaskState::Unknown
}
