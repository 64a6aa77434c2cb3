//! Task steps: launch (`TASK_ADDED` in `TASK_STAGING`, then `TASK_UPDATED` to starting and
//! running, a first health result), any state change, kill (`TASK_KILLING` for frameworks
//! with that capability, then `TASK_KILLED`), and health results (same state, reason
//! `REASON_TASK_HEALTH_CHECK_STATUS_UPDATED`).

use crate::SimError;
use crate::build::{self, BoundPort, ContainerFacts, StatusArgs};
use crate::ids::{safe_path, to_hostname, uuid_v1, uuid_v4};
use crate::model::{AgentStatus, Cluster};
use crate::proto::{Event, Id, Raw, Task, TaskState};
use crate::shared::Shared;
use crate::spec::{Containerizer, Networking, TaskSpec};

/// A status update to send for a task ([`crate::Simulator::update_task`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskUpdate {
    /// The task's new state (`task_updated.state`).
    pub state: TaskState,
    /// `status.state` when it should lag behind `state` (default: `state`).
    #[serde(default)]
    pub status_state: Option<TaskState>,
    /// `status.reason`.
    #[serde(default)]
    pub reason: Option<String>,
    /// `status.source` (default `SOURCE_EXECUTOR`).
    #[serde(default)]
    pub source: Option<String>,
    /// `status.message`.
    #[serde(default)]
    pub message: Option<String>,
    /// `status.healthy`.
    #[serde(default)]
    pub healthy: Option<bool>,
}

impl TaskUpdate {
    /// An update to `state` from the executor.
    pub fn new(state: TaskState) -> TaskUpdate {
        TaskUpdate {
            state,
            status_state: None,
            reason: None,
            source: None,
            message: None,
            healthy: None,
        }
    }
}

/// Whether an update is sent even though the state did not change (spec §6).
fn is_check_reason(reason: Option<&str>) -> bool {
    matches!(
        reason,
        Some("REASON_TASK_HEALTH_CHECK_STATUS_UPDATED" | "REASON_TASK_CHECK_STATUS_UPDATED")
    )
}

/// The step order of a launch.
fn rank(s: TaskState) -> Option<u8> {
    match s {
        TaskState::Staging => Some(0),
        TaskState::Starting => Some(1),
        TaskState::Running => Some(2),
        _ => None,
    }
}

impl Shared {
    /// The key of the task with id `task_id` (the first, if frameworks share the id).
    pub(crate) fn find_task(c: &Cluster, task_id: &str) -> Result<(String, String), SimError> {
        c.tasks
            .keys()
            .find(|(_, t)| t == task_id)
            .cloned()
            .ok_or_else(|| SimError::NotFound(format!("no task {task_id}")))
    }

    /// An executor status update of `task` carrying its latest container status.
    pub(crate) fn executor_status(&self, task: &Task, u: &TaskUpdate) -> crate::proto::TaskStatus {
        let container_status: Option<Raw> = task
            .statuses
            .iter()
            .rev()
            .find_map(|s| s.container_status.clone());
        let default_executor = task.task_id.value.as_str();
        build::status(StatusArgs {
            task_id: &task.task_id.value,
            agent_id: &task.agent_id.value,
            executor_id: Some(
                task.executor_id
                    .as_ref()
                    .map_or(default_executor, |e| e.value.as_str()),
            ),
            state: u.status_state.unwrap_or(u.state),
            source: u.source.as_deref().unwrap_or("SOURCE_EXECUTOR"),
            reason: u.reason.as_deref(),
            message: u.message.as_deref(),
            healthy: u.healthy,
            container_status,
            timestamp: self.clock.seconds(),
        })
    }

    /// Picks the agent for a launch: `wanted`, or round robin over the registered agents.
    pub(crate) fn place(c: &mut Cluster, wanted: Option<&str>) -> Result<usize, SimError> {
        if let Some(id) = wanted {
            return match c.agents.iter().position(|a| a.agent.id() == id) {
                Some(i) if c.agents[i].status == AgentStatus::Registered => Ok(i),
                Some(_) => Err(SimError::Conflict(format!("agent {id} is not registered"))),
                None => Err(SimError::NotFound(format!("no agent {id}"))),
            };
        }
        let registered: Vec<usize> = (0..c.agents.len())
            .filter(|i| c.agents[*i].status == AgentStatus::Registered)
            .collect();
        let k = c
            .alloc
            .pick(registered.len())
            .ok_or_else(|| SimError::Conflict("no registered agent to launch on".into()))?;
        Ok(registered[k])
    }

    /// Launches a task as `spec` says. Returns its id.
    pub(crate) fn launch_task(&self, spec: TaskSpec) -> Result<String, SimError> {
        let to = rank(spec.launch_to).ok_or_else(|| {
            SimError::Invalid(format!("a launch cannot end in {}", spec.launch_to))
        })?;
        let mut c = self.lock();
        let framework_id = self.framework_for(&c, spec.framework.as_deref())?;
        let a = Self::place(&mut c, spec.agent.as_deref())?;
        let agent = c.agents[a].agent.clone();
        let task_id = spec.task_id.clone().unwrap_or_else(|| {
            format!(
                "{}.instance-{}._app.1",
                safe_path(&spec.app_id),
                uuid_v1(self.uuid_node)
            )
        });
        if c.tasks
            .contains_key(&(framework_id.clone(), task_id.clone()))
        {
            return Err(SimError::Conflict(format!("task {task_id} exists")));
        }
        let host_ports = match spec.networking {
            Networking::Container(_) => Vec::new(),
            _ => c
                .alloc
                .host_ports(&agent, spec.ports.len())
                .ok_or_else(|| SimError::Conflict(format!("agent {} has no ports", agent.id())))?,
        };
        let ports: Vec<BoundPort> = spec
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| BoundPort {
                spec: p.clone(),
                host_port: host_ports.get(i).copied(),
            })
            .collect();
        let mesos = spec.containerizer == Some(Containerizer::Mesos);
        let (network, mut ips) = match &spec.networking {
            Networking::Host => (None, vec![agent_ip(&agent)]),
            Networking::Bridge if mesos => (
                Some("mesos-bridge".to_string()),
                vec![c.alloc.mesos_bridge_ip()],
            ),
            Networking::Bridge => (None, vec![c.alloc.docker_bridge_ip()]),
            Networking::Container(n) => (Some(n.clone()), vec![c.alloc.container_ip(n)]),
        };
        if spec.ipv6
            && let Networking::Container(n) = &spec.networking
        {
            ips.push(c.alloc.container_ipv6(n));
        }
        let facts = ContainerFacts {
            container_id: uuid_v4(),
            parent: None,
            network,
            ips,
            mappings_in_status: mesos && spec.networking == Networking::Bridge,
            ports: ports.clone(),
            executor_pid: (spec.containerizer != Some(Containerizer::Docker))
                .then(|| 1000 + rand::random::<u32>() % 30000),
        };
        let name = spec
            .name
            .clone()
            .unwrap_or_else(|| to_hostname(&spec.app_id));
        let health_port = ports
            .first()
            .map(|p| {
                p.host_port
                    .unwrap_or(u64::from(p.spec.container_port.unwrap_or(80)))
            })
            .unwrap_or(80);
        let task = Task {
            name: name.clone(),
            task_id: Id::new(&task_id),
            framework_id: Id::new(&framework_id),
            executor_id: None,
            agent_id: Id::new(agent.id()),
            state: TaskState::Staging,
            resources: build::resources(&host_ports),
            statuses: Vec::new(),
            status_update_state: None,
            status_update_uuid: None,
            labels: super::labels(&spec.labels),
            discovery: Some(build::discovery(&name, &spec.networking, &ports)),
            container: build::container(spec.containerizer, &spec.networking, &ports, &task_id),
            health_check: spec.health_check.then(|| build::health_check(health_port)),
            check: None,
            kill_policy: None,
            user: None,
        };
        let health = if spec.health_check {
            spec.initial_health
        } else {
            None
        };
        let events = self.launch_events(&task, &framework_id, &facts, to, health);
        self.commit(&mut c, events)?;
        Ok(task_id)
    }

    /// `TASK_ADDED`, then the updates up to `to` (0 staging, 1 starting, 2 running), then a
    /// first health result.
    pub(crate) fn launch_events(
        &self,
        task: &Task,
        framework_id: &str,
        facts: &ContainerFacts,
        to: u8,
        health: Option<bool>,
    ) -> Vec<Event> {
        let mut events = vec![Event::TaskAdded(task.clone())];
        let container_status = build::container_status(facts);
        let mut with_status = task.clone();
        with_status.statuses.push(crate::proto::TaskStatus {
            container_status: Some(container_status),
            ..self.executor_status(task, &TaskUpdate::new(TaskState::Staging))
        });
        let mut push = |u: TaskUpdate| {
            let status = self.executor_status(&with_status, &u);
            events.push(Event::TaskUpdated {
                framework_id: Id::new(framework_id),
                status,
                state: u.state,
            });
        };
        if to >= 1 {
            push(TaskUpdate::new(TaskState::Starting));
        }
        if to >= 2 {
            push(TaskUpdate::new(TaskState::Running));
            if let Some(h) = health {
                push(TaskUpdate {
                    reason: Some("REASON_TASK_HEALTH_CHECK_STATUS_UPDATED".into()),
                    healthy: Some(h),
                    ..TaskUpdate::new(TaskState::Running)
                });
            }
        }
        events
    }

    /// Sends a status update. Like the master, an update that repeats the task's state is
    /// recorded but not published, unless its reason is a health or check result.
    pub(crate) fn update_task(&self, task_id: &str, u: TaskUpdate) -> Result<(), SimError> {
        let mut c = self.lock();
        let key = Self::find_task(&c, task_id)?;
        let Some(task) = c.tasks.get(&key) else {
            return Err(SimError::NotFound(format!("no task {task_id}")));
        };
        let event = Event::TaskUpdated {
            framework_id: Id::new(&key.0),
            status: self.executor_status(task, &u),
            state: u.state,
        };
        if task.state == u.state && !is_check_reason(u.reason.as_deref()) {
            return c.apply(&event).map_err(SimError::Invalid);
        }
        self.commit(&mut c, vec![event])
    }

    /// Kills a task: `TASK_KILLING` (if its framework has `TASK_KILLING_STATE`), `TASK_KILLED`.
    pub(crate) fn kill_task(&self, task_id: &str) -> Result<(), SimError> {
        let (killing, key) = {
            let c = self.lock();
            let key = Self::find_task(&c, task_id)?;
            let killing = c.framework(&key.0).is_some_and(|f| {
                f.framework
                    .framework_info
                    .has_capability("TASK_KILLING_STATE")
            });
            (killing, key)
        };
        if killing {
            self.update_task(&key.1, TaskUpdate::new(TaskState::Killing))?;
        }
        self.update_task(&key.1, TaskUpdate::new(TaskState::Killed))
    }

    /// Sends a health result: same state, `healthy`, reason
    /// `REASON_TASK_HEALTH_CHECK_STATUS_UPDATED`. Only for tasks with a Mesos health check.
    pub(crate) fn set_health(&self, task_id: &str, healthy: bool) -> Result<(), SimError> {
        let state = {
            let c = self.lock();
            let key = Self::find_task(&c, task_id)?;
            let task = c
                .tasks
                .get(&key)
                .ok_or_else(|| SimError::NotFound(format!("no task {task_id}")))?;
            let checked =
                task.health_check.is_some() || task.statuses.iter().any(|s| s.healthy.is_some());
            if !checked {
                return Err(SimError::Conflict(format!(
                    "task {task_id} has no Mesos health check (Marathon-side checks never reach Mesos)"
                )));
            }
            task.state
        };
        self.update_task(
            task_id,
            TaskUpdate {
                reason: Some("REASON_TASK_HEALTH_CHECK_STATUS_UPDATED".into()),
                healthy: Some(healthy),
                ..TaskUpdate::new(state)
            },
        )
    }
}

/// The agent's IP: the host part of its pid, else its hostname.
pub(crate) fn agent_ip(agent: &crate::proto::Agent) -> String {
    agent
        .pid
        .as_deref()
        .and_then(|p| p.split_once('@'))
        .and_then(|(_, hp)| hp.rsplit_once(':'))
        .map(|(h, _)| h.trim_matches(['[', ']']).to_string())
        .unwrap_or_else(|| agent.agent_info.hostname.clone())
}
