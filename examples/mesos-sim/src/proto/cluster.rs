//! Agents, frameworks and executors as the v1 API reports them (`GetAgents.Agent`,
//! `GetFrameworks.Framework`, `GetExecutors.Executor`), fields in declaration order.

use serde::{Deserialize, Serialize};

use super::task::Resource;
use super::{Id, Labels, Raw, TimeInfo};

/// `AgentInfo`: what an agent says about itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AgentInfo {
    /// Its `--hostname` (an IP or a DNS name).
    pub hostname: String,
    /// Its port (default 5051).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Resources it offers (ports ranges, cpus, mem, disk).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
    /// Attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Raw>,
    /// Its id, e.g. `<cluster uuid>-S0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    /// Fault domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<Raw>,
}

/// `GetAgents.Agent`: a registered agent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Agent {
    /// What the agent said about itself.
    pub agent_info: AgentInfo,
    /// Whether it is active.
    pub active: bool,
    /// Whether it is deactivated (draining).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivated: Option<bool>,
    /// Mesos version of the agent.
    #[serde(default)]
    pub version: String,
    /// libprocess pid, `slave(1)@<ip>:<port>` (what Mesos-DNS takes the agent IP from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    /// When it registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_time: Option<TimeInfo>,
    /// When it last re-registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reregistered_time: Option<TimeInfo>,
    /// Total resources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub total_resources: Vec<Resource>,
    /// Resources allocated to frameworks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated_resources: Option<Raw>,
    /// Resources offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered_resources: Option<Raw>,
    /// `[{"type": "MULTI_ROLE"}, ...]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Raw>,
    /// Resource providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_providers: Option<Raw>,
    /// Draining state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain_info: Option<Raw>,
    /// Estimated end of draining.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_drain_end_time: Option<Raw>,
}

impl Agent {
    /// The agent's id (empty when the recorded `agent_info` had none).
    pub fn id(&self) -> &str {
        self.agent_info.id.as_ref().map_or("", |i| i.value.as_str())
    }
}

/// `FrameworkInfo`: what a framework says about itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FrameworkInfo {
    /// Unix user tasks run as by default.
    pub user: String,
    /// Name, e.g. `marathon`.
    pub name: String,
    /// Its id, e.g. `<cluster uuid>-0001`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    /// Seconds the master waits for it after a disconnect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_timeout: Option<f64>,
    /// Whether its agents checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<bool>,
    /// Deprecated single role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Roles (`MULTI_ROLE` frameworks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Raw>,
    /// Host the scheduler runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Authentication principal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Its web UI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webui_url: Option<String>,
    /// `[{"type": "PARTITION_AWARE"}, ...]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Raw>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Offer filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_filters: Option<Raw>,
}

impl FrameworkInfo {
    /// The framework's id (empty when unset).
    pub fn id(&self) -> &str {
        self.id.as_ref().map_or("", |i| i.value.as_str())
    }

    /// Whether its capabilities list `name` (e.g. `PARTITION_AWARE`).
    pub fn has_capability(&self, name: &str) -> bool {
        let Some(raw) = &self.capabilities else {
            return false;
        };
        serde_json::from_str::<Vec<serde_json::Value>>(raw.get())
            .map(|caps| caps.iter().any(|c| c["type"] == name))
            .unwrap_or(false)
    }
}

/// `GetFrameworks.Framework`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Framework {
    /// What the framework said about itself.
    pub framework_info: FrameworkInfo,
    /// Whether it is active.
    pub active: bool,
    /// Whether its scheduler is connected.
    pub connected: bool,
    /// Whether the master only knows it from a re-registering agent (after fail-over).
    pub recovered: bool,
    /// When it registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_time: Option<TimeInfo>,
    /// When it last re-registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reregistered_time: Option<TimeInfo>,
    /// When it unregistered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unregistered_time: Option<TimeInfo>,
    /// Outstanding offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offers: Option<Raw>,
    /// Outstanding inverse offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inverse_offers: Option<Raw>,
    /// Allocated resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated_resources: Option<Raw>,
    /// Offered resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered_resources: Option<Raw>,
}

/// `GetExecutors.Executor`: an executor and its agent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Executor {
    /// `ExecutorInfo`.
    pub executor_info: Raw,
    /// The agent it runs on.
    pub agent_id: Id,
}

impl Executor {
    /// `executor_info.executor_id.value` (empty when unreadable).
    pub fn executor_id(&self) -> String {
        serde_json::from_str::<serde_json::Value>(self.executor_info.get())
            .ok()
            .and_then(|v| v["executor_id"]["value"].as_str().map(str::to_string))
            .unwrap_or_default()
    }
}
