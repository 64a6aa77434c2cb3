//! The Mesos v1 messages the simulator keeps and sends, in Mesos' JSON encoding (spec §8):
//! `.proto` field names, fields in declaration order, unset optional and empty repeated fields
//! omitted, enums as their names, 64-bit integers as bare numbers, ids wrapped in
//! `{"value": ..}`.
//!
//! Only what the simulator reads or changes is typed. Sub-messages it only carries (a task's
//! `container`, `discovery` or `health_check`, a status' `container_status`, an agent's
//! `capabilities`, ...) are kept as raw JSON text ([`Raw`]): a recorded fixture's bytes are
//! sent back exactly as recorded, and what the simulator builds keeps Mesos' field order.

mod cluster;
mod event;
mod json;
mod task;

pub use self::cluster::{Agent, AgentInfo, Executor, Framework, FrameworkInfo};
pub(crate) use self::event::Envelope;
pub use self::event::{Event, GetAgents, GetExecutors, GetFrameworks, GetState, GetTasks};
pub use self::json::mesos_json;
pub(crate) use self::json::raw;
pub use self::task::{Range, Ranges, Resource, Scalar, Task, TaskStatus};

use serde::{Deserialize, Serialize};

/// Raw JSON text of a sub-message the simulator carries without looking inside.
pub type Raw = Box<serde_json::value::RawValue>;

/// A wrapped id (`FrameworkID`, `AgentID`, `TaskID`, `ExecutorID`, ...): `{"value": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Id {
    /// The id itself.
    pub value: String,
}

impl Id {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Id {
        Id {
            value: value.into(),
        }
    }
}

/// `TimeInfo`: `{"nanoseconds": <int64>}` (a bare JSON number, beyond 2^53).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeInfo {
    /// Nanoseconds since the epoch.
    pub nanoseconds: i64,
}

/// `Labels`: `{"labels": [{"key": .., "value": ..}]}`; an empty set is `{}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labels {
    /// The labels, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<Label>,
}

/// One `Label`; `value` is optional in the proto.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// Key.
    pub key: String,
    /// Value, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Labels {
    /// Labels from `(key, value)` pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Labels {
        Labels {
            labels: pairs
                .into_iter()
                .map(|(k, v)| Label {
                    key: k.into(),
                    value: Some(v.into()),
                })
                .collect(),
        }
    }
}

/// `TaskState` (mesos.proto), written as its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(clippy::upper_case_acronyms)]
pub enum TaskState {
    /// Accepted by the master, not yet started.
    #[serde(rename = "TASK_STAGING")]
    Staging,
    /// The executor is launching it.
    #[serde(rename = "TASK_STARTING")]
    Starting,
    /// Running.
    #[serde(rename = "TASK_RUNNING")]
    Running,
    /// Being killed (frameworks with the `TASK_KILLING_STATE` capability only).
    #[serde(rename = "TASK_KILLING")]
    Killing,
    /// Ended successfully (terminal).
    #[serde(rename = "TASK_FINISHED")]
    Finished,
    /// Ended with a failure (terminal).
    #[serde(rename = "TASK_FAILED")]
    Failed,
    /// Killed (terminal).
    #[serde(rename = "TASK_KILLED")]
    Killed,
    /// Could not be launched (terminal).
    #[serde(rename = "TASK_ERROR")]
    Error,
    /// Lost (terminal); sent to frameworks that are not partition-aware, and on agent removal.
    #[serde(rename = "TASK_LOST")]
    Lost,
    /// Dropped before it started (terminal).
    #[serde(rename = "TASK_DROPPED")]
    Dropped,
    /// Its agent is partitioned away; it may come back.
    #[serde(rename = "TASK_UNREACHABLE")]
    Unreachable,
    /// Its agent is gone for good (terminal).
    #[serde(rename = "TASK_GONE")]
    Gone,
    /// An operator marked its agent gone (terminal).
    #[serde(rename = "TASK_GONE_BY_OPERATOR")]
    GoneByOperator,
    /// The master knows nothing about it.
    #[serde(rename = "TASK_UNKNOWN")]
    Unknown,
}

impl TaskState {
    /// Every state, in `TaskState` enum order.
    pub const ALL: [TaskState; 14] = [
        TaskState::Staging,
        TaskState::Starting,
        TaskState::Running,
        TaskState::Killing,
        TaskState::Finished,
        TaskState::Failed,
        TaskState::Killed,
        TaskState::Error,
        TaskState::Lost,
        TaskState::Dropped,
        TaskState::Unreachable,
        TaskState::Gone,
        TaskState::GoneByOperator,
        TaskState::Unknown,
    ];

    /// Mesos' `isTerminalState` (spec §10): finished, failed, killed, error, lost, dropped,
    /// gone, gone by operator.
    pub fn is_terminal(self) -> bool {
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
        )
    }

    /// The name Mesos writes, e.g. `TASK_RUNNING`.
    pub fn name(self) -> &'static str {
        match self {
            TaskState::Staging => "TASK_STAGING",
            TaskState::Starting => "TASK_STARTING",
            TaskState::Running => "TASK_RUNNING",
            TaskState::Killing => "TASK_KILLING",
            TaskState::Finished => "TASK_FINISHED",
            TaskState::Failed => "TASK_FAILED",
            TaskState::Killed => "TASK_KILLED",
            TaskState::Error => "TASK_ERROR",
            TaskState::Lost => "TASK_LOST",
            TaskState::Dropped => "TASK_DROPPED",
            TaskState::Unreachable => "TASK_UNREACHABLE",
            TaskState::Gone => "TASK_GONE",
            TaskState::GoneByOperator => "TASK_GONE_BY_OPERATOR",
            TaskState::Unknown => "TASK_UNKNOWN",
        }
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for TaskState {
    type Err = String;
    /// Parses `TASK_RUNNING` or `running` (any case).
    fn from_str(s: &str) -> Result<Self, String> {
        let up = s.trim().to_ascii_uppercase();
        let full = if up.starts_with("TASK_") {
            up
        } else {
            format!("TASK_{up}")
        };
        TaskState::ALL
            .into_iter()
            .find(|t| t.name() == full)
            .ok_or_else(|| format!("unknown task state '{s}'"))
    }
}
