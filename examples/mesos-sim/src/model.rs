//! The simulated cluster as the leading master knows it: agents, frameworks, tasks and
//! executors, and what a snapshot (`GetState`) shows of them. Every change made by an event
//! goes through [`Cluster::apply`], so scenario steps and replayed recordings change the state
//! the same way.

use std::collections::BTreeMap;

use crate::alloc::Allocator;
use crate::proto::{
    Agent, AgentInfo, Event, Executor, Framework, GetAgents, GetExecutors, GetFrameworks, GetState,
    GetTasks, Task,
};

/// How many ended tasks and removed frameworks a master keeps (Mesos: 1000 per framework and
/// 50 frameworks by default; one bound is enough here).
const COMPLETED_KEPT: usize = 1000;

/// Whether the master knows an agent as registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AgentStatus {
    /// Registered: listed in `agents`, its tasks are known.
    Registered,
    /// Known from the registry after a fail-over, not re-registered yet: listed in
    /// `recovered_agents`, its tasks are not known.
    Recovered,
    /// Partitioned away: not listed; its tasks are `TASK_UNREACHABLE` (or lost).
    Unreachable,
}

/// An agent and how the master knows it.
#[derive(Clone, Debug)]
pub(crate) struct AgentEntry {
    pub agent: Agent,
    pub status: AgentStatus,
}

/// A framework, its scheduler pid (only `/master/state` shows it) and whether the current
/// leader knows it (after a fail-over, not until it re-registers or an agent reports it).
#[derive(Clone, Debug)]
pub(crate) struct FrameworkEntry {
    pub framework: Framework,
    pub pid: Option<String>,
    pub known: bool,
}

/// The cluster.
#[derive(Debug, Default)]
pub(crate) struct Cluster {
    pub agents: Vec<AgentEntry>,
    pub frameworks: Vec<FrameworkEntry>,
    pub completed_frameworks: Vec<Framework>,
    /// Live tasks by `(framework id, task id)`.
    pub tasks: BTreeMap<(String, String), Task>,
    pub completed_tasks: Vec<Task>,
    pub executors: Vec<Executor>,
    pub alloc: Allocator,
}

impl Cluster {
    /// Changes the state as `event` says. `SUBSCRIBED` replaces everything (seeding);
    /// `HEARTBEAT` changes nothing. An update for an unknown task is an error.
    pub(crate) fn apply(&mut self, event: &Event) -> Result<(), String> {
        match event {
            Event::Subscribed { get_state, .. } => self.replace(get_state.clone()),
            Event::TaskAdded(task) => self.upsert_task(task.clone()),
            Event::TaskUpdated {
                framework_id,
                status,
                state,
            } => {
                let key = (framework_id.value.clone(), status.task_id.value.clone());
                let Some(task) = self.tasks.get_mut(&key) else {
                    return Err(format!(
                        "TASK_UPDATED for unknown task {} of framework {}",
                        key.1, key.0
                    ));
                };
                task.record(status, *state);
                if state.is_terminal() {
                    self.complete_task(&key);
                }
            }
            Event::AgentAdded(agent) => {
                let entry = AgentEntry {
                    agent: agent.clone(),
                    status: AgentStatus::Registered,
                };
                match self.agents.iter_mut().find(|a| a.agent.id() == agent.id()) {
                    Some(a) => *a = entry,
                    None => self.agents.push(entry),
                }
            }
            Event::AgentRemoved(id) => {
                self.agents.retain(|a| a.agent.id() != id.value);
                self.executors.retain(|e| e.agent_id != *id);
            }
            Event::FrameworkAdded(f) | Event::FrameworkUpdated(f) => {
                let id = f.framework_info.id();
                match self
                    .frameworks
                    .iter_mut()
                    .find(|e| e.framework.framework_info.id() == id)
                {
                    Some(e) => {
                        e.framework = f.clone();
                        e.known = true;
                    }
                    None => self.frameworks.push(FrameworkEntry {
                        framework: f.clone(),
                        pid: None,
                        known: true,
                    }),
                }
            }
            Event::FrameworkRemoved(info) => {
                let id = info.id().to_string();
                if let Some(pos) = self
                    .frameworks
                    .iter()
                    .position(|e| e.framework.framework_info.id() == id)
                {
                    let mut f = self.frameworks.remove(pos).framework;
                    f.active = false;
                    f.connected = false;
                    push_bounded(&mut self.completed_frameworks, f);
                }
                self.executors.retain(|e| !executor_of(e, &id));
            }
            Event::Heartbeat => {}
        }
        Ok(())
    }

    /// Replaces the whole state with a snapshot.
    fn replace(&mut self, state: GetState) {
        let alloc = std::mem::take(&mut self.alloc);
        *self = Cluster {
            alloc,
            ..Cluster::default()
        };
        for agent in state.get_agents.agents {
            self.agents.push(AgentEntry {
                agent,
                status: AgentStatus::Registered,
            });
        }
        for info in state.get_agents.recovered_agents {
            self.agents.push(AgentEntry {
                agent: recovered_agent(info),
                status: AgentStatus::Recovered,
            });
        }
        for framework in state.get_frameworks.frameworks {
            self.frameworks.push(FrameworkEntry {
                framework,
                pid: None,
                known: true,
            });
        }
        self.completed_frameworks = state.get_frameworks.completed_frameworks;
        let t = state.get_tasks;
        for task in t.tasks.into_iter().chain(t.unreachable_tasks) {
            self.tasks.insert(task.key(), task);
        }
        self.completed_tasks = t.completed_tasks;
        self.executors = state.get_executors.executors;
    }

    /// Adds or replaces a task; a terminal one goes straight to the completed tasks.
    fn upsert_task(&mut self, task: Task) {
        let key = task.key();
        let terminal = task.state.is_terminal();
        self.tasks.insert(key.clone(), task);
        if terminal {
            self.complete_task(&key);
        }
    }

    /// Moves a task to the completed tasks.
    fn complete_task(&mut self, key: &(String, String)) {
        if let Some(task) = self.tasks.remove(key) {
            push_bounded(&mut self.completed_tasks, task);
        }
    }

    /// The agent entry with id `id`.
    pub(crate) fn agent(&self, id: &str) -> Option<&AgentEntry> {
        self.agents.iter().find(|a| a.agent.id() == id)
    }

    /// The framework entry with id `id`.
    pub(crate) fn framework(&self, id: &str) -> Option<&FrameworkEntry> {
        self.frameworks
            .iter()
            .find(|e| e.framework.framework_info.id() == id)
    }

    /// The framework entry with id `id`, to change.
    pub(crate) fn framework_mut(&mut self, id: &str) -> Option<&mut FrameworkEntry> {
        self.frameworks
            .iter_mut()
            .find(|e| e.framework.framework_info.id() == id)
    }

    /// Whether the leader currently knows this task: its agent is registered (or the task is
    /// unreachable) and its framework is known.
    fn visible(&self, task: &Task) -> bool {
        let agent_ok = self.agent(&task.agent_id.value).is_none_or(|a| {
            a.status == AgentStatus::Registered || task.state == crate::TaskState::Unreachable
        });
        let framework_ok = self
            .framework(&task.framework_id.value)
            .is_none_or(|f| f.known);
        agent_ok && framework_ok
    }

    /// The `GetState` snapshot the leader serves now.
    pub(crate) fn snapshot(&self) -> GetState {
        let mut get_tasks = GetTasks::default();
        for task in self.tasks.values().filter(|t| self.visible(t)) {
            if task.state == crate::TaskState::Unreachable {
                get_tasks.unreachable_tasks.push(task.clone());
            } else {
                get_tasks.tasks.push(task.clone());
            }
        }
        get_tasks.completed_tasks = self.completed_tasks.clone();
        let mut get_agents = GetAgents::default();
        for a in &self.agents {
            match a.status {
                AgentStatus::Registered => get_agents.agents.push(a.agent.clone()),
                AgentStatus::Recovered => {
                    get_agents.recovered_agents.push(a.agent.agent_info.clone())
                }
                AgentStatus::Unreachable => {}
            }
        }
        let registered = |id: &crate::proto::Id| {
            self.agent(&id.value)
                .is_none_or(|a| a.status == AgentStatus::Registered)
        };
        GetState {
            get_tasks,
            get_executors: GetExecutors {
                executors: self
                    .executors
                    .iter()
                    .filter(|e| registered(&e.agent_id))
                    .cloned()
                    .collect(),
                ..GetExecutors::default()
            },
            get_frameworks: GetFrameworks {
                frameworks: self
                    .frameworks
                    .iter()
                    .filter(|f| f.known)
                    .map(|f| f.framework.clone())
                    .collect(),
                completed_frameworks: self.completed_frameworks.clone(),
                ..GetFrameworks::default()
            },
            get_agents,
        }
    }
}

/// An `Agent` around a recovered `AgentInfo` (kept until the agent re-registers).
fn recovered_agent(info: AgentInfo) -> Agent {
    Agent {
        agent_info: info,
        active: false,
        deactivated: None,
        version: String::new(),
        pid: None,
        registered_time: None,
        reregistered_time: None,
        total_resources: Vec::new(),
        allocated_resources: None,
        offered_resources: None,
        capabilities: None,
        resource_providers: None,
        drain_info: None,
        estimated_drain_end_time: None,
    }
}

/// Whether executor `e` belongs to framework `framework_id`.
fn executor_of(e: &Executor, framework_id: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(e.executor_info.get())
        .map(|v| v["framework_id"]["value"] == framework_id)
        .unwrap_or(false)
}

/// Appends, dropping the oldest beyond [`COMPLETED_KEPT`].
fn push_bounded<T>(list: &mut Vec<T>, item: T) {
    list.push(item);
    if list.len() > COMPLETED_KEPT {
        let excess = list.len() - COMPLETED_KEPT;
        list.drain(..excess);
    }
}
