//! The simulated cluster's data: apps, their tasks, a task's state and health, and the
//! allocations that go with them. No behaviour beyond keeping itself consistent; the
//! scenario steps change it and the renderers show it.

use std::collections::BTreeMap;

use crate::alloc::Allocator;
use crate::{AppSpec, Networking};

/// A task's Mesos state. Only the states the scenario steps pass through; others can be
/// sent verbatim with `emit_raw`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TaskState {
    Staging,
    Starting,
    Running,
    Killing,
    Killed,
}

impl TaskState {
    /// Mesos' name, as `tasks[].state` and `status_update_event.taskStatus` show it.
    pub(crate) fn mesos_name(self) -> &'static str {
        match self {
            TaskState::Staging => "TASK_STAGING",
            TaskState::Starting => "TASK_STARTING",
            TaskState::Running => "TASK_RUNNING",
            TaskState::Killing => "TASK_KILLING",
            TaskState::Killed => "TASK_KILLED",
        }
    }

    /// The instance condition `instance_changed_event` reports for this state.
    pub(crate) fn condition(self) -> &'static str {
        match self {
            TaskState::Staging => "Staging",
            TaskState::Starting => "Starting",
            TaskState::Running => "Running",
            TaskState::Killing => "Killing",
            TaskState::Killed => "Killed",
        }
    }
}

/// The result of a task's (simulated) health check, as `healthCheckResults[]` shows it.
#[derive(Clone, Debug)]
pub(crate) struct Health {
    pub alive: bool,
    pub consecutive_failures: u32,
    pub first_success: Option<String>,
    pub last_success: Option<String>,
    pub last_failure: Option<String>,
    pub last_failure_cause: Option<String>,
}

impl Health {
    /// A check that has just passed for the first time, at `ts`.
    pub(crate) fn passed_at(ts: String) -> Health {
        Health {
            alive: true,
            consecutive_failures: 0,
            first_success: Some(ts.clone()),
            last_success: Some(ts),
            last_failure: None,
            last_failure_cause: None,
        }
    }

    /// A check that has not run yet.
    pub(crate) fn unknown(alive: bool) -> Health {
        Health {
            alive,
            consecutive_failures: 0,
            first_success: None,
            last_success: None,
            last_failure: None,
            last_failure_cause: None,
        }
    }

    /// Records one check result at `ts`.
    pub(crate) fn record(&mut self, healthy: bool, ts: String) {
        self.alive = healthy;
        if healthy {
            self.consecutive_failures = 0;
            self.last_success = Some(ts.clone());
            if self.first_success.is_none() {
                self.first_success = Some(ts);
            }
        } else {
            self.consecutive_failures += 1;
            self.last_failure = Some(ts);
            self.last_failure_cause = Some("500 Internal Server Error (simulated)".into());
        }
    }
}

/// One task of an app.
#[derive(Clone, Debug)]
pub(crate) struct Task {
    pub id: String,
    pub instance_id: String,
    /// 1.10's `._app.<n>`: how often this instance has been launched.
    pub incarnation: u32,
    /// Index into `SimConfig::agents`.
    pub agent: usize,
    /// Host ports by port index; empty for container networking.
    pub host_ports: Vec<u16>,
    pub ip: Option<String>,
    pub state: TaskState,
    pub staged_at: String,
    pub started_at: Option<String>,
    /// The app version the task was launched with.
    pub version: String,
    /// `None` until the app's health check first reports (and always without health checks).
    pub health: Option<Health>,
}

impl Task {
    /// Whether the app's health check passes on this task (false while unknown).
    pub(crate) fn is_alive(&self) -> bool {
        self.health.as_ref().is_some_and(|h| h.alive)
    }

    /// Whether the app's health check fails on this task (false while unknown).
    pub(crate) fn is_failing(&self) -> bool {
        self.health.as_ref().is_some_and(|h| !h.alive)
    }
}

/// One app: its spec, the ports assigned at deploy time, its version and its tasks in
/// launch order.
#[derive(Clone, Debug)]
pub(crate) struct App {
    pub spec: AppSpec,
    /// Container ports by port index; `0` for host networking and for "same as host port".
    pub container_ports: Vec<u16>,
    pub service_ports: Vec<u16>,
    pub version: String,
    pub last_scaling_at: String,
    pub last_config_change_at: String,
    pub tasks: Vec<Task>,
}

impl App {
    /// A new app without tasks, first deployed at `version`.
    pub(crate) fn new(spec: AppSpec, service_ports: Vec<u16>, version: String) -> App {
        let container_ports = spec
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| match (spec.networking, p.container_port) {
                (Networking::Host, _) => 0,
                (_, Some(c)) => c,
                (Networking::Bridge, None) => 0,
                (Networking::Container, None) => 8080 + i as u16,
            })
            .collect();
        App {
            spec,
            container_ports,
            service_ports,
            last_scaling_at: version.clone(),
            last_config_change_at: version.clone(),
            version,
            tasks: Vec::new(),
        }
    }

    /// The tasks in `TASK_RUNNING`.
    pub(crate) fn running_tasks(&self) -> impl Iterator<Item = &Task> {
        self.tasks.iter().filter(|t| t.state == TaskState::Running)
    }
}

/// Everything the simulator knows about its cluster: the apps by id, and what has been
/// allocated to their tasks.
#[derive(Debug)]
pub(crate) struct Cluster {
    pub apps: BTreeMap<String, App>,
    pub alloc: Allocator,
}

impl Cluster {
    /// An empty cluster of `agents` agents.
    pub(crate) fn new(agents: usize) -> Cluster {
        Cluster {
            apps: BTreeMap::new(),
            alloc: Allocator::new(agents),
        }
    }

    /// The id of the app that has the task `task_id`.
    pub(crate) fn app_of_task(&self, task_id: &str) -> Option<String> {
        self.apps
            .iter()
            .find(|(_, a)| a.tasks.iter().any(|t| t.id == task_id))
            .map(|(id, _)| id.clone())
    }
}
