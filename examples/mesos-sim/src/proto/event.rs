//! The operator API's `Event` (master.proto) and the `GetState` family of answers.
//!
//! On the wire every event is `{"type":"<TYPE>","<payload key>":{..}}`, the payload key being
//! the snake_case type, except `HEARTBEAT` which has no payload (spec §6).

use serde::{Deserialize, Serialize};

use super::cluster::{Agent, AgentInfo, Executor, Framework, FrameworkInfo};
use super::json::mesos_json;
use super::task::{Task, TaskStatus};
use super::{Id, TaskState};

/// `Response.GetTasks`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GetTasks {
    /// Deprecated, always empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_tasks: Vec<Task>,
    /// Staging, running, killing (and terminal-but-unacknowledged) tasks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
    /// Tasks on unreachable agents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreachable_tasks: Vec<Task>,
    /// Ended tasks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub completed_tasks: Vec<Task>,
    /// Always empty since Mesos 1.3.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orphan_tasks: Vec<Task>,
}

/// `Response.GetExecutors`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GetExecutors {
    /// Executors with their agents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub executors: Vec<Executor>,
    /// Always empty since Mesos 1.3.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orphan_executors: Vec<Executor>,
}

/// `Response.GetFrameworks`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GetFrameworks {
    /// Registered (or recovered) frameworks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frameworks: Vec<Framework>,
    /// Removed frameworks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub completed_frameworks: Vec<Framework>,
    /// Always empty since Mesos 1.3.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovered_frameworks: Vec<Framework>,
}

/// `Response.GetAgents`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GetAgents {
    /// Registered agents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<Agent>,
    /// Agents known from the registry that have not re-registered since a fail-over.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovered_agents: Vec<AgentInfo>,
}

/// `Response.GetState`: the snapshot in `SUBSCRIBED` and the `GET_STATE` answer.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GetState {
    /// Tasks.
    #[serde(default)]
    pub get_tasks: GetTasks,
    /// Executors.
    #[serde(default)]
    pub get_executors: GetExecutors,
    /// Frameworks.
    #[serde(default)]
    pub get_frameworks: GetFrameworks,
    /// Agents.
    #[serde(default)]
    pub get_agents: GetAgents,
}

/// One operator API event.
#[derive(Clone, Debug)]
pub enum Event {
    /// First event of a stream: the whole state and the heartbeat period.
    Subscribed {
        /// The snapshot.
        get_state: GetState,
        /// Seconds between heartbeats (Mesos: always 15.0).
        heartbeat_interval_seconds: f64,
    },
    /// A task was launched, or reported by a re-registering agent.
    TaskAdded(Task),
    /// A task's state changed (or a health/check result with the same state).
    TaskUpdated {
        /// Its framework.
        framework_id: Id,
        /// The status update being processed.
        status: TaskStatus,
        /// The latest state known (can differ from `status.state`).
        state: TaskState,
    },
    /// An agent registered or re-registered.
    AgentAdded(Agent),
    /// An agent unregistered or was removed.
    AgentRemoved(Id),
    /// A framework registered (or was recovered from an agent).
    FrameworkAdded(Framework),
    /// A framework re-registered or changed.
    FrameworkUpdated(Framework),
    /// A framework was torn down.
    FrameworkRemoved(FrameworkInfo),
    /// Keep-alive.
    Heartbeat,
}

/// The `subscribed` payload.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SubscribedPayload {
    pub get_state: GetState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_interval_seconds: Option<f64>,
}

#[derive(Serialize)]
struct TaskUpdatedRef<'a> {
    framework_id: &'a Id,
    status: &'a TaskStatus,
    state: TaskState,
}

impl Event {
    /// The `type` name, e.g. `TASK_ADDED`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::Subscribed { .. } => "SUBSCRIBED",
            Event::TaskAdded(_) => "TASK_ADDED",
            Event::TaskUpdated { .. } => "TASK_UPDATED",
            Event::AgentAdded(_) => "AGENT_ADDED",
            Event::AgentRemoved(_) => "AGENT_REMOVED",
            Event::FrameworkAdded(_) => "FRAMEWORK_ADDED",
            Event::FrameworkUpdated(_) => "FRAMEWORK_UPDATED",
            Event::FrameworkRemoved(_) => "FRAMEWORK_REMOVED",
            Event::Heartbeat => "HEARTBEAT",
        }
    }

    /// The event as the master writes it: compact JSON, `type` first.
    pub fn to_json(&self) -> String {
        let payload = match self {
            Event::Subscribed {
                get_state,
                heartbeat_interval_seconds,
            } => {
                #[derive(Serialize)]
                struct S<'a> {
                    get_state: &'a GetState,
                    heartbeat_interval_seconds: f64,
                }
                mesos_json(&S {
                    get_state,
                    heartbeat_interval_seconds: *heartbeat_interval_seconds,
                })
            }
            Event::TaskAdded(task) => wrap("task", &mesos_json(task)),
            Event::TaskUpdated {
                framework_id,
                status,
                state,
            } => mesos_json(&TaskUpdatedRef {
                framework_id,
                status,
                state: *state,
            }),
            Event::AgentAdded(agent) => wrap("agent", &mesos_json(agent)),
            Event::AgentRemoved(id) => wrap("agent_id", &mesos_json(id)),
            Event::FrameworkAdded(f) | Event::FrameworkUpdated(f) => {
                wrap("framework", &mesos_json(f))
            }
            Event::FrameworkRemoved(info) => wrap("framework_info", &mesos_json(info)),
            Event::Heartbeat => return r#"{"type":"HEARTBEAT"}"#.to_string(),
        };
        let kind = self.type_name();
        format!(
            "{{\"type\":\"{kind}\",\"{}\":{payload}}}",
            kind.to_ascii_lowercase()
        )
    }
}

/// `{"<key>":<json>}`.
fn wrap(key: &str, json: &str) -> String {
    format!("{{\"{key}\":{json}}}")
}

#[derive(Deserialize)]
struct TaskAddedP {
    task: Task,
}
#[derive(Deserialize)]
struct TaskUpdatedP {
    framework_id: Id,
    status: TaskStatus,
    state: Option<TaskState>,
}
#[derive(Deserialize)]
struct AgentAddedP {
    agent: Agent,
}
#[derive(Deserialize)]
struct AgentRemovedP {
    agent_id: Id,
}
#[derive(Deserialize)]
struct FrameworkP {
    framework: Framework,
}
#[derive(Deserialize)]
struct FrameworkRemovedP {
    framework_info: FrameworkInfo,
}

/// Any record of a recorded stream or a `GET_STATE` answer, read without relying on key order.
#[derive(Deserialize)]
pub(crate) struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    subscribed: Option<SubscribedPayload>,
    get_state: Option<GetState>,
    task_added: Option<TaskAddedP>,
    task_updated: Option<TaskUpdatedP>,
    agent_added: Option<AgentAddedP>,
    agent_removed: Option<AgentRemovedP>,
    framework_added: Option<FrameworkP>,
    framework_updated: Option<FrameworkP>,
    framework_removed: Option<FrameworkRemovedP>,
}

impl Envelope {
    /// The event this record holds; a `GET_STATE` answer reads as a `SUBSCRIBED` snapshot.
    /// `Ok(None)` for a type the simulator does not know (still replayable verbatim).
    pub(crate) fn into_event(self) -> Result<Option<Event>, String> {
        let missing = || format!("{} record without its payload", self.kind);
        Ok(Some(match self.kind.as_str() {
            "SUBSCRIBED" => {
                let s = self.subscribed.ok_or_else(missing)?;
                Event::Subscribed {
                    get_state: s.get_state,
                    heartbeat_interval_seconds: s.heartbeat_interval_seconds.unwrap_or(15.0),
                }
            }
            "GET_STATE" => Event::Subscribed {
                get_state: self.get_state.ok_or_else(missing)?,
                heartbeat_interval_seconds: 15.0,
            },
            "TASK_ADDED" => Event::TaskAdded(self.task_added.ok_or_else(missing)?.task),
            "TASK_UPDATED" => {
                let p = self.task_updated.ok_or_else(missing)?;
                Event::TaskUpdated {
                    state: p.state.unwrap_or(p.status.state),
                    framework_id: p.framework_id,
                    status: p.status,
                }
            }
            "AGENT_ADDED" => Event::AgentAdded(self.agent_added.ok_or_else(missing)?.agent),
            "AGENT_REMOVED" => {
                Event::AgentRemoved(self.agent_removed.ok_or_else(missing)?.agent_id)
            }
            "FRAMEWORK_ADDED" => {
                Event::FrameworkAdded(self.framework_added.ok_or_else(missing)?.framework)
            }
            "FRAMEWORK_UPDATED" => {
                Event::FrameworkUpdated(self.framework_updated.ok_or_else(missing)?.framework)
            }
            "FRAMEWORK_REMOVED" => {
                Event::FrameworkRemoved(self.framework_removed.ok_or_else(missing)?.framework_info)
            }
            "HEARTBEAT" => Event::Heartbeat,
            _ => return Ok(None),
        }))
    }
}
