//! The scenario steps (deploy, scale, kill, health, terminate, burst): each changes the
//! cluster and publishes the events real Marathon would publish for that change, in
//! Marathon's order. The cluster stays locked for a whole step (for a burst, a whole
//! cycle), so the events of two steps never interleave.

use std::time::Duration;

use crate::ids::{canonical_app_id, task_ids};
use crate::model::{App, Cluster, Health, Task, TaskState};
use crate::render::event;
use crate::shared::Shared;
use crate::{AppSpec, Networking};

/// An error of a scenario step; maps to an HTTP status in the control API.
#[derive(Debug)]
pub(crate) enum SimError {
    NotFound(String),
    Conflict(String),
    Invalid(String),
}

impl SimError {
    fn app_not_found(id: &str) -> SimError {
        SimError::NotFound(format!("App '{id}' does not exist"))
    }

    fn task_not_found(id: &str) -> SimError {
        SimError::NotFound(format!("Task '{id}' does not exist"))
    }
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::NotFound(m) | SimError::Conflict(m) | SimError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for SimError {}

/// The message of `TASK_KILLED` after a kill, as the Mesos executor reports it.
const KILLED_MESSAGE: &str = "Command terminated with signal Terminated";

impl Shared {
    /// Creates an app and launches its tasks; returns their ids.
    pub(crate) fn deploy(
        &self,
        mut spec: AppSpec,
        client_ip: &str,
    ) -> Result<Vec<String>, SimError> {
        spec.id = canonical_app_id(&spec.id).map_err(SimError::Invalid)?;
        for p in &spec.ports {
            if !["tcp", "udp", "udp,tcp", "tcp,udp"].contains(&p.protocol.as_str()) {
                return Err(SimError::Invalid(format!(
                    "invalid port protocol '{}'",
                    p.protocol
                )));
            }
        }
        let mut cluster = self.lock();
        if cluster.apps.contains_key(&spec.id) {
            return Err(SimError::Conflict(format!(
                "An app with id [{}] already exists.",
                spec.id
            )));
        }
        let service_ports = cluster.alloc.service_ports(spec.ports.len());
        let id = spec.id.clone();
        let instances = spec.instances;
        let app = App::new(spec, service_ports, self.clock.ts());
        self.emit_state_change(event::api_post(
            &self.cfg,
            &app,
            client_ip,
            "/v2/apps",
            &self.clock.ts(),
        ));
        cluster.apps.insert(id.clone(), app);
        Ok((0..instances)
            .map(|_| self.launch(&mut cluster, &id, None))
            .collect())
    }

    /// Sets an app's `instances`: launches tasks, or kills the youngest. Returns the ids of
    /// the tasks started or killed.
    pub(crate) fn scale(
        &self,
        app_id: &str,
        instances: u32,
        client_ip: &str,
    ) -> Result<Vec<String>, SimError> {
        let id = resolve_app_id(app_id)?;
        let mut cluster = self.lock();
        let version = self.clock.ts();
        let app = cluster
            .apps
            .get_mut(&id)
            .ok_or_else(|| SimError::app_not_found(&id))?;
        app.spec.instances = instances;
        app.version = version.clone();
        app.last_scaling_at = version;
        let uri = format!("/v2/apps{id}");
        self.emit_state_change(event::api_post(
            &self.cfg,
            app,
            client_ip,
            &uri,
            &self.clock.ts(),
        ));
        let current = app.tasks.len();
        let target = instances as usize;
        if target > current {
            return Ok((current..target)
                .map(|_| self.launch(&mut cluster, &id, None))
                .collect());
        }
        // Marathon's killSelection YOUNGEST_FIRST.
        let victims: Vec<String> = app
            .tasks
            .iter()
            .rev()
            .take(current - target)
            .map(|t| t.id.clone())
            .collect();
        for t in &victims {
            self.kill(&mut cluster, &id, t);
        }
        Ok(victims)
    }

    /// Kills a task; with `replace`, starts a replacement (returned), else scales down by one.
    pub(crate) fn kill_task(
        &self,
        task_id: &str,
        replace: bool,
    ) -> Result<Option<String>, SimError> {
        let mut cluster = self.lock();
        let app_id = cluster
            .app_of_task(task_id)
            .ok_or_else(|| SimError::task_not_found(task_id))?;
        let task = self
            .kill(&mut cluster, &app_id, task_id)
            .expect("task exists");
        if !replace {
            if let Some(app) = cluster.apps.get_mut(&app_id) {
                app.spec.instances = app.spec.instances.saturating_sub(1);
            }
            return Ok(None);
        }
        let replaces = (task.instance_id.as_str(), task.incarnation);
        Ok(Some(self.launch(&mut cluster, &app_id, Some(replaces))))
    }

    /// Records a health-check result for a task; events only where Marathon sends them (a
    /// failure every time, a change of health once).
    pub(crate) fn set_health(&self, task_id: &str, healthy: bool) -> Result<(), SimError> {
        let mut cluster = self.lock();
        let app_id = cluster
            .app_of_task(task_id)
            .ok_or_else(|| SimError::task_not_found(task_id))?;
        let ts = self.clock.ts();
        let app = cluster.apps.get_mut(&app_id).expect("app exists");
        if !app.spec.health_checks {
            return Err(SimError::Invalid(format!(
                "App '{app_id}' has no health checks"
            )));
        }
        let task = app
            .tasks
            .iter_mut()
            .find(|t| t.id == task_id)
            .expect("task exists");
        let was = task.health.as_ref().map(|h| h.alive);
        task.health
            .get_or_insert(Health::unknown(healthy))
            .record(healthy, ts);
        let task = task.clone();
        self.announce_health(app, &task, healthy, was != Some(healthy));
        Ok(())
    }

    /// Kills every task of an app, removes it, and announces that it is gone.
    pub(crate) fn terminate(&self, app_id: &str) -> Result<(), SimError> {
        let id = resolve_app_id(app_id)?;
        let mut cluster = self.lock();
        let tasks: Vec<String> = cluster
            .apps
            .get(&id)
            .ok_or_else(|| SimError::app_not_found(&id))?
            .tasks
            .iter()
            .map(|t| t.id.clone())
            .collect();
        for t in tasks {
            self.kill(&mut cluster, &id, &t);
        }
        cluster.apps.remove(&id);
        self.emit_state_change(event::app_terminated(&id, &self.clock.ts()));
        Ok(())
    }

    /// Sends at least `count` status events by cycling the app's tasks, never letting the
    /// slowest SSE client fall more than half the event buffer behind (a benchmark wants
    /// load, not dropped clients).
    pub(crate) async fn burst(&self, app_id: &str, count: usize) -> anyhow::Result<()> {
        let id = resolve_app_id(app_id)?;
        let half = (self.cfg.event_buffer / 2).max(1);
        let mut sent = 0usize;
        let mut i = 0usize;
        while sent < count {
            let mut waited = 0u32;
            while self.bus.backlog() >= half && waited < 10_000 {
                tokio::time::sleep(Duration::from_millis(1)).await;
                waited += 1;
            }
            sent += self.burst_cycle(&id, i)?;
            i += 1;
            if i.is_multiple_of(32) {
                tokio::task::yield_now().await;
            }
        }
        Ok(())
    }

    /// One burst cycle on task index `i`: `TASK_KILLED`, then a replacement straight to
    /// `TASK_RUNNING` in the same place; status events only. Returns the events sent.
    fn burst_cycle(&self, app_id: &str, i: usize) -> Result<usize, SimError> {
        let mut cluster = self.lock();
        let app = cluster
            .apps
            .get_mut(app_id)
            .ok_or_else(|| SimError::app_not_found(app_id))?;
        if app.tasks.is_empty() {
            return Err(SimError::Invalid(format!(
                "App '{app_id}' has no tasks to cycle"
            )));
        }
        let pos = i % app.tasks.len();
        let mut old = app.tasks.remove(pos);
        old.state = TaskState::Killed;
        self.announce_status_only(app, &old);
        cluster.alloc.release_host_ports(old.agent, &old.host_ports);
        let mut task = self.new_task(
            &mut cluster,
            app_id,
            Some((&old.instance_id, old.incarnation)),
        );
        task.state = TaskState::Running;
        task.started_at = Some(task.staged_at.clone());
        let app = cluster.apps.get_mut(app_id).expect("app exists");
        if app.spec.health_checks {
            task.health = Some(Health::passed_at(self.clock.ts()));
        }
        self.announce_status_only(app, &task);
        let pos = pos.min(app.tasks.len());
        app.tasks.insert(pos, task);
        Ok(2)
    }

    /// Launches one task through STAGING → STARTING → RUNNING (+ healthy), publishing events;
    /// returns its id. `replaces`: see [`task_ids`].
    fn launch(&self, cluster: &mut Cluster, app_id: &str, replaces: Option<(&str, u32)>) -> String {
        let mut task = self.new_task(cluster, app_id, replaces);
        let app = cluster.apps.get_mut(app_id).expect("launch: app exists");
        self.announce_state(app, &task, "");
        task.state = TaskState::Starting;
        self.announce_state(app, &task, "");
        task.state = TaskState::Running;
        task.started_at = Some(self.clock.ts());
        self.announce_state(app, &task, "");
        if app.spec.health_checks {
            task.health = Some(Health::passed_at(self.clock.ts()));
            self.announce_health(app, &task, true, true);
        }
        let id = task.id.clone();
        app.tasks.push(task);
        id
    }

    /// Removes a task from its app with KILLING/KILLED events and frees its ports; returns it.
    fn kill(&self, cluster: &mut Cluster, app_id: &str, task_id: &str) -> Option<Task> {
        let app = cluster.apps.get_mut(app_id)?;
        let pos = app.tasks.iter().position(|t| t.id == task_id)?;
        let mut task = app.tasks.remove(pos);
        if self.cfg.task_killing {
            task.state = TaskState::Killing;
            self.announce_state(app, &task, "");
        }
        task.state = TaskState::Killed;
        self.announce_state(app, &task, KILLED_MESSAGE);
        cluster
            .alloc
            .release_host_ports(task.agent, &task.host_ports);
        Some(task)
    }

    /// A task of `app_id` (not yet in the app) in `TASK_STAGING`, on the next agent, with
    /// its ports and address allocated.
    fn new_task(&self, cluster: &mut Cluster, app_id: &str, replaces: Option<(&str, u32)>) -> Task {
        let agent = cluster.alloc.place();
        let app = &cluster.apps[app_id];
        let networking = app.spec.networking;
        let n_ports = app.spec.ports.len();
        let version = app.version.clone();
        let host_ports = match networking {
            Networking::Host | Networking::Bridge => cluster.alloc.host_ports(agent, n_ports),
            Networking::Container => Vec::new(),
        };
        let ip = match networking {
            // An agent known by name has no address to report.
            Networking::Host => {
                let host = &self.cfg.agents[agent].host;
                host.parse::<std::net::IpAddr>().ok().map(|_| host.clone())
            }
            Networking::Bridge => Some(cluster.alloc.bridge_ip(agent)),
            Networking::Container => Some(cluster.alloc.container_ip()),
        };
        let ids = task_ids(self.cfg.version, app_id, self.uuid_node, replaces);
        Task {
            id: ids.task_id,
            instance_id: ids.instance_id,
            incarnation: ids.incarnation,
            agent,
            host_ports,
            ip,
            state: TaskState::Staging,
            staged_at: self.clock.ts(),
            started_at: None,
            version,
            health: None,
        }
    }

    /// Publishes the task's current state: `status_update_event`, then
    /// `instance_changed_event` unless those are turned off.
    fn announce_state(&self, app: &App, task: &Task, message: &str) {
        self.emit_state_change(event::status_update(
            &self.cfg,
            app,
            task,
            message,
            &self.clock.ts(),
        ));
        if self.cfg.instance_changed_events {
            self.emit_state_change(event::instance_changed(
                &self.cfg,
                app,
                task,
                &self.clock.ts(),
            ));
        }
    }

    /// Publishes only the `status_update_event` of the task's current state, as a burst does.
    fn announce_status_only(&self, app: &App, task: &Task) {
        self.emit_state_change(event::status_update(
            &self.cfg,
            app,
            task,
            "",
            &self.clock.ts(),
        ));
    }

    /// Publishes a health-check result: a failure always, a change of health (`changed`)
    /// as `health_status_changed_event` + `instance_health_changed_event`.
    fn announce_health(&self, app: &App, task: &Task, alive: bool, changed: bool) {
        if !alive {
            self.emit_state_change(event::failed_health_check(
                &self.cfg,
                app,
                task,
                &self.clock.ts(),
            ));
        }
        if !changed {
            return;
        }
        self.emit_state_change(event::health_status_changed(
            &self.cfg,
            app,
            task,
            alive,
            &self.clock.ts(),
        ));
        self.emit_state_change(event::instance_health_changed(
            app,
            task,
            alive,
            &self.clock.ts(),
        ));
    }
}

/// An app id as the user wrote it, made canonical; an invalid one is simply not found.
fn resolve_app_id(id: &str) -> Result<String, SimError> {
    canonical_app_id(id).map_err(|_| SimError::app_not_found(id))
}
