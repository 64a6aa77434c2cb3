//! `Task`, `TaskStatus` and `Resource` (mesos.proto), fields in declaration order.

use serde::{Deserialize, Serialize};

use super::{Id, Labels, Raw, TaskState};

/// `Task` as the master reports it (`GetTasks`, `TASK_ADDED`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Task {
    /// Task name (Marathon: the app id as a host name, or the pod container's name).
    pub name: String,
    /// Task id, unique within its framework.
    pub task_id: Id,
    /// The framework that launched it.
    pub framework_id: Id,
    /// Set for tasks of a custom or default executor (pods); absent for command tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<Id>,
    /// The agent it runs on.
    pub agent_id: Id,
    /// The latest state.
    pub state: TaskState,
    /// cpus, mem, disk, ports, ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
    /// One status per distinct state, oldest first (a repeat of the last state replaces it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<TaskStatus>,
    /// State of the latest status update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_update_state: Option<TaskState>,
    /// Base64 uuid of the latest status update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_update_uuid: Option<String>,
    /// Task labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// `DiscoveryInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<Raw>,
    /// `ContainerInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Raw>,
    /// `HealthCheck` definition (Mesos ≥ 1.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<Raw>,
    /// `CheckInfo` definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<Raw>,
    /// `KillPolicy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_policy: Option<Raw>,
    /// The user it runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl Task {
    /// `(framework id, task id)`: the key of a task (task ids are unique per framework only).
    pub fn key(&self) -> (String, String) {
        (self.framework_id.value.clone(), self.task_id.value.clone())
    }

    /// The newest status, if any.
    pub fn latest_status(&self) -> Option<&TaskStatus> {
        self.statuses.last()
    }

    /// Records a status update: `statuses` keeps one per distinct state (a repeat of the last
    /// state replaces it), `state` becomes `state`.
    pub fn record(&mut self, status: &TaskStatus, state: TaskState) {
        match self.statuses.last_mut() {
            Some(last) if last.state == status.state => *last = status.clone(),
            _ => self.statuses.push(status.clone()),
        }
        self.state = state;
        self.status_update_state = Some(status.state);
        self.status_update_uuid.clone_from(&status.uuid);
    }
}

/// `TaskStatus`: one status update.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskStatus {
    /// The task.
    pub task_id: Id,
    /// The state this update reports.
    pub state: TaskState,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `SOURCE_MASTER`, `SOURCE_AGENT` or `SOURCE_EXECUTOR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `Reason` name, e.g. `REASON_TASK_HEALTH_CHECK_STATUS_UPDATED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Base64 bytes (often `""`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// The agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Id>,
    /// The executor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<Id>,
    /// Seconds since the epoch (a double).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<f64>,
    /// Base64 of the update's 16-byte uuid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// Result of a Mesos-native health check, when the task has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy: Option<bool>,
    /// Result of a generic check (not health).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_status: Option<Raw>,
    /// Status labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// `ContainerStatus`: container id and `network_infos` (the task's IPs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_status: Option<Raw>,
    /// When the agent became unreachable (`TimeInfo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreachable_time: Option<Raw>,
    /// `TaskResourceLimitation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limitation: Option<Raw>,
}

/// `Resource`: a scalar (`cpus`, `mem`, ...) or ranges (`ports`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Resource {
    /// `cpus`, `mem`, `disk`, `gpus`, `ports`, ...
    pub name: String,
    /// `SCALAR`, `RANGES` or `SET`.
    #[serde(rename = "type")]
    pub kind: String,
    /// For `SCALAR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalar: Option<Scalar>,
    /// For `RANGES` (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranges: Option<Ranges>,
    /// For `SET`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<Raw>,
    /// Deprecated role (`*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `{"role": ..}` of allocated resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_info: Option<Raw>,
    /// Reservations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations: Option<Raw>,
    /// Disk info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<Raw>,
}

/// `Value.Scalar`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Scalar {
    /// The amount.
    pub value: f64,
}

/// `Value.Ranges`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Ranges {
    /// Inclusive ranges.
    #[serde(default)]
    pub range: Vec<Range>,
}

/// `Value.Range`: `begin..=end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// First value.
    pub begin: u64,
    /// Last value (inclusive).
    pub end: u64,
}

impl Resource {
    /// A `SCALAR` resource.
    pub fn scalar(name: &str, value: f64) -> Resource {
        Resource {
            name: name.to_string(),
            kind: "SCALAR".to_string(),
            scalar: Some(Scalar { value }),
            ranges: None,
            set: None,
            role: None,
            allocation_info: None,
            reservations: None,
            disk: None,
        }
    }

    /// A `RANGES` resource.
    pub fn ranges(name: &str, range: Vec<Range>) -> Resource {
        Resource {
            kind: "RANGES".to_string(),
            scalar: None,
            ranges: Some(Ranges { range }),
            ..Resource::scalar(name, 0.0)
        }
    }
}
