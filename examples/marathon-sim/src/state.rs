//! The simulated cluster: apps, tasks, agents' port allocations; the scenario operations and
//! the events they publish; the JSON renderings of 1.4 and 1.10.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::stream::{Bus, BusEvent, Streams};
use crate::util::{Clock, canonical_app_id, ordered_json, safe_path, uuid_node, uuid_v1, uuid_v4};
use crate::{AppSpec, MarathonVersion, Networking, SimConfig, TaskView};

/// An error of a scenario operation; maps to an HTTP status in the control API.
#[derive(Debug)]
pub(crate) enum SimError {
    NotFound(String),
    Conflict(String),
    Invalid(String),
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::NotFound(m) | SimError::Conflict(m) | SimError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for SimError {}

#[derive(Clone, Debug)]
pub(crate) struct Health {
    pub alive: bool,
    pub consecutive_failures: u32,
    pub first_success: Option<String>,
    pub last_success: Option<String>,
    pub last_failure: Option<String>,
    pub last_failure_cause: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct Task {
    pub id: String,
    pub instance_id: String,
    pub incarnation: u32,
    pub agent: usize,
    pub host_ports: Vec<u16>,
    pub ip: Option<String>,
    pub state: &'static str,
    pub staged_at: String,
    pub started_at: Option<String>,
    pub version: String,
    pub health: Option<Health>,
}

#[derive(Clone, Debug)]
pub(crate) struct App {
    pub spec: AppSpec,
    pub container_ports: Vec<u16>,
    pub service_ports: Vec<u16>,
    pub version: String,
    pub last_scaling_at: String,
    pub last_config_change_at: String,
    pub tasks: Vec<Task>,
}

#[derive(Debug, Default)]
struct AgentAlloc {
    next_port: u16,
    used: BTreeSet<u16>,
    next_bridge_ip: u32,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub apps: BTreeMap<String, App>,
    agents: Vec<AgentAlloc>,
    next_agent: usize,
    next_service_port: u16,
    next_container_ip: u32,
}

const HOST_PORT_MIN: u16 = 31000;
const HOST_PORT_MAX: u16 = 32000;

/// Shared simulator state.
pub(crate) struct Inner {
    pub cfg: SimConfig,
    pub addr: SocketAddr,
    pub url: String,
    pub state: Mutex<State>,
    pub bus: Bus,
    pub clock: Clock,
    pub failing: AtomicBool,
    pub redirect: Mutex<Option<String>>,
    pub cancel: CancellationToken,
    pub streams: Streams,
    pub framework_id: String,
    node: u64,
}

fn ip_addresses(ip: &Option<String>) -> Value {
    match ip {
        Some(ip) => {
            let proto = if ip.contains(':') { "IPv6" } else { "IPv4" };
            json!([{ "ipAddress": ip, "protocol": proto }])
        }
        None => json!([]),
    }
}

fn condition(state: &str) -> &'static str {
    match state {
        "TASK_STAGING" => "Staging",
        "TASK_STARTING" => "Starting",
        "TASK_RUNNING" => "Running",
        "TASK_KILLING" => "Killing",
        "TASK_KILLED" => "Killed",
        "TASK_FAILED" => "Failed",
        "TASK_FINISHED" => "Finished",
        _ => "Unknown",
    }
}

impl Inner {
    pub(crate) fn new(cfg: SimConfig, addr: SocketAddr) -> Arc<Inner> {
        let shown = if addr.ip().is_unspecified() {
            SocketAddr::new(IpAddr::from([127, 0, 0, 1]), addr.port())
        } else {
            addr
        };
        let state = State {
            agents: (0..cfg.agents.len())
                .map(|_| AgentAlloc {
                    next_port: HOST_PORT_MIN,
                    next_bridge_ip: 2,
                    ..Default::default()
                })
                .collect(),
            next_service_port: 10000,
            next_container_ip: 2,
            ..Default::default()
        };
        Arc::new(Inner {
            url: format!("http://{shown}"),
            addr,
            state: Mutex::new(state),
            bus: Bus::new(&cfg),
            clock: Clock::default(),
            failing: AtomicBool::new(false),
            redirect: Mutex::new(cfg.redirect_to.clone()),
            cancel: CancellationToken::new(),
            streams: Streams::default(),
            framework_id: format!("{}-0000", uuid_v4()),
            node: uuid_node(),
            cfg,
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn v110(&self) -> bool {
        self.cfg.version == MarathonVersion::V1_10
    }

    /// Publishes an event caused by a state change (suppressed while delivery is off).
    fn emit(&self, event_type: &str, data: String) {
        if self.bus.delivery.load(Ordering::SeqCst) {
            self.bus.publish(BusEvent::new(event_type, data));
        }
    }

    /// Publishes a bookkeeping event (always delivered).
    pub(crate) fn emit_meta(&self, event_type: &str, fields: &[(&str, Value)]) {
        self.bus
            .publish(BusEvent::new(event_type, ordered_json(fields)));
    }

    // ---------------------------------------------------------------- events

    fn status_event(&self, app: &App, task: &Task, status: &str, message: &str) {
        let agent = &self.cfg.agents[task.agent];
        let ts = self.clock.ts();
        self.emit(
            "status_update_event",
            ordered_json(&[
                ("slaveId", json!(agent.id)),
                ("taskId", json!(task.id)),
                ("taskStatus", json!(status)),
                ("message", json!(message)),
                ("appId", json!(app.spec.id)),
                ("host", json!(agent.host)),
                ("ipAddresses", ip_addresses(&task.ip)),
                ("ports", json!(task.host_ports)),
                ("version", json!(task.version)),
                ("eventType", json!("status_update_event")),
                ("timestamp", json!(ts)),
            ]),
        );
        if self.cfg.instance_changed_events {
            let ts = self.clock.ts();
            self.emit(
                "instance_changed_event",
                ordered_json(&[
                    ("instanceId", json!(task.instance_id)),
                    ("condition", json!(condition(status))),
                    ("runSpecId", json!(app.spec.id)),
                    ("agentId", json!(agent.id)),
                    ("host", json!(agent.host)),
                    ("runSpecVersion", json!(task.version)),
                    ("timestamp", json!(ts)),
                    ("eventType", json!("instance_changed_event")),
                ]),
            );
        }
    }

    fn health_key_and_id<'a>(&self, task: &'a Task) -> (&'static str, &'a str) {
        if self.cfg.legacy_health_keys {
            ("taskId", &task.id)
        } else {
            ("instanceId", &task.instance_id)
        }
    }

    fn health_events(&self, app: &App, task: &Task, alive: bool, changed: bool) {
        if !alive {
            let (key, id) = if self.cfg.legacy_health_keys {
                ("taskId", task.id.as_str())
            } else if self.v110() {
                // 1.5+: key `taskId`, value = the instance id.
                ("taskId", task.instance_id.as_str())
            } else {
                ("instanceId", task.instance_id.as_str())
            };
            let ts = self.clock.ts();
            self.emit(
                "failed_health_check_event",
                ordered_json(&[
                    ("appId", json!(app.spec.id)),
                    ("eventType", json!("failed_health_check_event")),
                    ("healthCheck", self.health_check_json(app)),
                    (key, json!(id)),
                    ("timestamp", json!(ts)),
                ]),
            );
        }
        if !changed {
            return;
        }
        let (key, id) = self.health_key_and_id(task);
        let ts = self.clock.ts();
        self.emit(
            "health_status_changed_event",
            ordered_json(&[
                ("appId", json!(app.spec.id)),
                (key, json!(id)),
                ("version", json!(task.version)),
                ("alive", json!(alive)),
                ("eventType", json!("health_status_changed_event")),
                ("timestamp", json!(ts)),
            ]),
        );
        let ts = self.clock.ts();
        self.emit(
            "instance_health_changed_event",
            ordered_json(&[
                ("instanceId", json!(task.instance_id)),
                ("runSpecId", json!(app.spec.id)),
                ("healthy", json!(alive)),
                ("runSpecVersion", json!(task.version)),
                ("timestamp", json!(ts)),
                ("eventType", json!("instance_health_changed_event")),
            ]),
        );
    }

    fn api_post_event(&self, app: &App, client_ip: &str, uri: &str) {
        let ts = self.clock.ts();
        self.emit(
            "api_post_event",
            ordered_json(&[
                ("clientIp", json!(client_ip)),
                ("uri", json!(uri)),
                ("appDefinition", self.app_json(app, false, false)),
                ("eventType", json!("api_post_event")),
                ("timestamp", json!(ts)),
            ]),
        );
    }

    // ---------------------------------------------------------------- operations

    fn alloc_host_ports(st: &mut State, agent: usize, n: usize) -> Vec<u16> {
        let alloc = &mut st.agents[agent];
        let mut out = Vec::with_capacity(n);
        let span = (HOST_PORT_MAX - HOST_PORT_MIN) as usize;
        for _ in 0..n {
            for _ in 0..span {
                let p = alloc.next_port;
                alloc.next_port = if p + 1 >= HOST_PORT_MAX {
                    HOST_PORT_MIN
                } else {
                    p + 1
                };
                if alloc.used.insert(p) {
                    out.push(p);
                    break;
                }
            }
        }
        out
    }

    fn free_task(st: &mut State, task: &Task) {
        if let Some(a) = st.agents.get_mut(task.agent) {
            for p in &task.host_ports {
                a.used.remove(p);
            }
        }
    }

    /// Creates a task (not yet in the app) in state TASK_STAGING.
    fn new_task(&self, st: &mut State, app_id: &str, reuse: Option<(String, u32)>) -> Task {
        let agent = st.next_agent % self.cfg.agents.len();
        st.next_agent += 1;
        let app = &st.apps[app_id];
        let networking = app.spec.networking;
        let n_ports = app.spec.ports.len();
        let version = app.version.clone();
        let host_ports = match networking {
            Networking::Host | Networking::Bridge => Self::alloc_host_ports(st, agent, n_ports),
            Networking::Container => Vec::new(),
        };
        let ip = match networking {
            Networking::Host => {
                let host = &self.cfg.agents[agent].host;
                host.parse::<IpAddr>().ok().map(|_| host.clone())
            }
            Networking::Bridge => {
                let a = &mut st.agents[agent];
                let mut n = a.next_bridge_ip;
                while n.is_multiple_of(256) || n % 256 == 255 {
                    n += 1;
                }
                a.next_bridge_ip = n + 1;
                Some(format!("172.17.{}.{}", (n >> 8) & 255, n & 255))
            }
            Networking::Container => {
                let mut n = st.next_container_ip;
                while n.is_multiple_of(256) || n % 256 == 255 {
                    n += 1;
                }
                st.next_container_ip = n + 1;
                Some(format!(
                    "10.{}.{}.{}",
                    (n >> 16) & 255,
                    (n >> 8) & 255,
                    n & 255
                ))
            }
        };
        let safe = safe_path(app_id);
        let (id, instance_id, incarnation) = match (self.cfg.version, reuse) {
            (MarathonVersion::V1_10, Some((instance, inc))) => {
                (format!("{instance}._app.{inc}"), instance, inc)
            }
            (MarathonVersion::V1_10, None) => {
                let instance = format!("{safe}.instance-{}", uuid_v1(self.node));
                (format!("{instance}._app.1"), instance, 1)
            }
            (MarathonVersion::V1_4, _) => {
                let uuid = uuid_v1(self.node);
                (
                    format!("{safe}.{uuid}"),
                    format!("{safe}.marathon-{uuid}"),
                    1,
                )
            }
        };
        Task {
            id,
            instance_id,
            incarnation,
            agent,
            host_ports,
            ip,
            state: "TASK_STAGING",
            staged_at: self.clock.ts(),
            started_at: None,
            version,
            health: None,
        }
    }

    fn healthy_result(&self) -> Health {
        let ts = self.clock.ts();
        Health {
            alive: true,
            consecutive_failures: 0,
            first_success: Some(ts.clone()),
            last_success: Some(ts),
            last_failure: None,
            last_failure_cause: None,
        }
    }

    /// Launches one task through STAGING → STARTING → RUNNING (+ healthy), publishing events.
    fn launch(&self, st: &mut State, app_id: &str, reuse: Option<(String, u32)>) -> String {
        let mut task = self.new_task(st, app_id, reuse);
        let app = st.apps.get_mut(app_id).expect("launch: app exists");
        self.status_event(app, &task, "TASK_STAGING", "");
        task.state = "TASK_STARTING";
        self.status_event(app, &task, "TASK_STARTING", "");
        task.state = "TASK_RUNNING";
        task.started_at = Some(self.clock.ts());
        self.status_event(app, &task, "TASK_RUNNING", "");
        if app.spec.health_checks {
            task.health = Some(self.healthy_result());
            self.health_events(app, &task, true, true);
        }
        let id = task.id.clone();
        app.tasks.push(task);
        id
    }

    /// Removes a task from its app with KILLING/KILLED events; returns it.
    fn kill(&self, st: &mut State, app_id: &str, task_id: &str) -> Option<Task> {
        let app = st.apps.get_mut(app_id)?;
        let pos = app.tasks.iter().position(|t| t.id == task_id)?;
        let mut task = app.tasks.remove(pos);
        if self.cfg.task_killing {
            task.state = "TASK_KILLING";
            self.status_event(app, &task, "TASK_KILLING", "");
        }
        task.state = "TASK_KILLED";
        self.status_event(
            app,
            &task,
            "TASK_KILLED",
            "Command terminated with signal Terminated",
        );
        Self::free_task(st, &task);
        Some(task)
    }

    fn find_task(st: &State, task_id: &str) -> Option<String> {
        st.apps
            .iter()
            .find(|(_, a)| a.tasks.iter().any(|t| t.id == task_id))
            .map(|(id, _)| id.clone())
    }

    fn app_not_found(id: &str) -> SimError {
        SimError::NotFound(format!("App '{id}' does not exist"))
    }

    fn resolve_app_id(id: &str) -> Result<String, SimError> {
        canonical_app_id(id).map_err(|_| Self::app_not_found(id))
    }

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
        let mut st = self.lock();
        if st.apps.contains_key(&spec.id) {
            return Err(SimError::Conflict(format!(
                "An app with id [{}] already exists.",
                spec.id
            )));
        }
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
        let service_ports = (0..spec.ports.len())
            .map(|_| {
                let p = st.next_service_port;
                st.next_service_port = if p >= 20000 { 10000 } else { p + 1 };
                p
            })
            .collect();
        let version = self.clock.ts();
        let id = spec.id.clone();
        let instances = spec.instances;
        let app = App {
            spec,
            container_ports,
            service_ports,
            last_scaling_at: version.clone(),
            last_config_change_at: version.clone(),
            version,
            tasks: Vec::new(),
        };
        self.api_post_event(&app, client_ip, "/v2/apps");
        st.apps.insert(id.clone(), app);
        Ok((0..instances)
            .map(|_| self.launch(&mut st, &id, None))
            .collect())
    }

    /// Returns the ids of the tasks started (scale up) or killed (scale down).
    pub(crate) fn scale(
        &self,
        app_id: &str,
        instances: u32,
        client_ip: &str,
    ) -> Result<Vec<String>, SimError> {
        let id = Self::resolve_app_id(app_id)?;
        let mut st = self.lock();
        let version = self.clock.ts();
        let app = st
            .apps
            .get_mut(&id)
            .ok_or_else(|| Self::app_not_found(&id))?;
        app.spec.instances = instances;
        app.version = version.clone();
        app.last_scaling_at = version;
        let app_snapshot = app.clone();
        let current = app.tasks.len();
        let uri = format!("/v2/apps{id}");
        self.api_post_event(&app_snapshot, client_ip, &uri);
        let target = instances as usize;
        let mut changed = Vec::new();
        if target > current {
            for _ in current..target {
                changed.push(self.launch(&mut st, &id, None));
            }
        } else {
            // killSelection YOUNGEST_FIRST
            let victims: Vec<String> = app_snapshot
                .tasks
                .iter()
                .rev()
                .take(current - target)
                .map(|t| t.id.clone())
                .collect();
            for t in victims {
                self.kill(&mut st, &id, &t);
                changed.push(t);
            }
        }
        Ok(changed)
    }

    /// Kills a task; with `replace`, starts a replacement (returned), else scales down by one.
    pub(crate) fn kill_task(
        &self,
        task_id: &str,
        replace: bool,
    ) -> Result<Option<String>, SimError> {
        let mut st = self.lock();
        let app_id = Self::find_task(&st, task_id)
            .ok_or_else(|| SimError::NotFound(format!("Task '{task_id}' does not exist")))?;
        let task = self.kill(&mut st, &app_id, task_id).expect("task exists");
        if !replace {
            if let Some(app) = st.apps.get_mut(&app_id) {
                app.spec.instances = app.spec.instances.saturating_sub(1);
            }
            return Ok(None);
        }
        let reuse = match self.cfg.version {
            MarathonVersion::V1_10 => Some((task.instance_id.clone(), task.incarnation + 1)),
            MarathonVersion::V1_4 => None,
        };
        Ok(Some(self.launch(&mut st, &app_id, reuse)))
    }

    pub(crate) fn set_health(&self, task_id: &str, healthy: bool) -> Result<(), SimError> {
        let mut st = self.lock();
        let app_id = Self::find_task(&st, task_id)
            .ok_or_else(|| SimError::NotFound(format!("Task '{task_id}' does not exist")))?;
        let ts = self.clock.ts();
        let app = st.apps.get_mut(&app_id).expect("app exists");
        if !app.spec.health_checks {
            return Err(SimError::Invalid(format!(
                "App '{app_id}' has no health checks"
            )));
        }
        let pos = app
            .tasks
            .iter()
            .position(|t| t.id == task_id)
            .expect("task exists");
        let task = &mut app.tasks[pos];
        let was = task.health.as_ref().map(|h| h.alive);
        let h = task.health.get_or_insert(Health {
            alive: healthy,
            consecutive_failures: 0,
            first_success: None,
            last_success: None,
            last_failure: None,
            last_failure_cause: None,
        });
        h.alive = healthy;
        if healthy {
            h.consecutive_failures = 0;
            h.last_success = Some(ts.clone());
            if h.first_success.is_none() {
                h.first_success = Some(ts);
            }
        } else {
            h.consecutive_failures += 1;
            h.last_failure = Some(ts);
            h.last_failure_cause = Some("500 Internal Server Error (simulated)".into());
        }
        let task = task.clone();
        let app = app.clone();
        self.health_events(&app, &task, healthy, was != Some(healthy));
        Ok(())
    }

    pub(crate) fn terminate(&self, app_id: &str) -> Result<(), SimError> {
        let id = Self::resolve_app_id(app_id)?;
        let mut st = self.lock();
        let tasks: Vec<String> = st
            .apps
            .get(&id)
            .ok_or_else(|| Self::app_not_found(&id))?
            .tasks
            .iter()
            .map(|t| t.id.clone())
            .collect();
        for t in tasks {
            self.kill(&mut st, &id, &t);
        }
        st.apps.remove(&id);
        let ts = self.clock.ts();
        self.emit(
            "app_terminated_event",
            ordered_json(&[
                ("appId", json!(id)),
                ("eventType", json!("app_terminated_event")),
                ("timestamp", json!(ts)),
            ]),
        );
        Ok(())
    }

    /// One burst cycle on task index `i`: KILLED + replacement RUNNING (2 status events).
    fn burst_cycle(&self, app_id: &str, i: usize) -> Result<usize, SimError> {
        let mut st = self.lock();
        let app = st
            .apps
            .get_mut(app_id)
            .ok_or_else(|| Self::app_not_found(app_id))?;
        if app.tasks.is_empty() {
            return Err(SimError::Invalid(format!(
                "App '{app_id}' has no tasks to cycle"
            )));
        }
        let pos = i % app.tasks.len();
        let mut old = app.tasks.remove(pos);
        old.state = "TASK_KILLED";
        let app_snapshot = app.clone();
        self.status_event_burst(&app_snapshot, &old, "TASK_KILLED");
        Self::free_task(&mut st, &old);
        let reuse = match self.cfg.version {
            MarathonVersion::V1_10 => Some((old.instance_id.clone(), old.incarnation + 1)),
            MarathonVersion::V1_4 => None,
        };
        let mut task = self.new_task(&mut st, app_id, reuse);
        task.state = "TASK_RUNNING";
        task.started_at = Some(task.staged_at.clone());
        let app = st.apps.get_mut(app_id).expect("app exists");
        if app.spec.health_checks {
            task.health = Some(self.healthy_result());
        }
        let app_snapshot_ref: &App = app;
        self.status_event_burst(app_snapshot_ref, &task, "TASK_RUNNING");
        let pos = pos.min(app.tasks.len());
        app.tasks.insert(pos, task);
        Ok(2)
    }

    fn status_event_burst(&self, app: &App, task: &Task, status: &str) {
        let agent = &self.cfg.agents[task.agent];
        let ts = self.clock.ts();
        self.emit(
            "status_update_event",
            ordered_json(&[
                ("slaveId", json!(agent.id)),
                ("taskId", json!(task.id)),
                ("taskStatus", json!(status)),
                ("message", json!("")),
                ("appId", json!(app.spec.id)),
                ("host", json!(agent.host)),
                ("ipAddresses", ip_addresses(&task.ip)),
                ("ports", json!(task.host_ports)),
                ("version", json!(task.version)),
                ("eventType", json!("status_update_event")),
                ("timestamp", json!(ts)),
            ]),
        );
    }

    pub(crate) async fn burst(&self, app_id: &str, count: usize) -> anyhow::Result<()> {
        let id = Self::resolve_app_id(app_id)?;
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

    // ---------------------------------------------------------------- rendering

    fn health_check_json(&self, app: &App) -> Value {
        let port_index = if app.spec.ports.is_empty() {
            None
        } else {
            Some(0)
        };
        match (self.cfg.version, port_index) {
            (_, None) => json!({
                "protocol": "COMMAND", "command": {"value": "true"},
                "gracePeriodSeconds": 300, "intervalSeconds": 60, "timeoutSeconds": 20,
                "maxConsecutiveFailures": 3, "delaySeconds": 15
            }),
            (MarathonVersion::V1_4, Some(i)) => json!({
                "path": "/", "protocol": "HTTP", "portIndex": i, "gracePeriodSeconds": 300,
                "intervalSeconds": 60, "timeoutSeconds": 20, "maxConsecutiveFailures": 3,
                "ignoreHttp1xx": false
            }),
            (MarathonVersion::V1_10, Some(i)) => json!({
                "gracePeriodSeconds": 300, "intervalSeconds": 60, "maxConsecutiveFailures": 3,
                "path": "/", "portIndex": i, "protocol": "HTTP", "ipProtocol": "IPv4",
                "timeoutSeconds": 20, "delaySeconds": 15
            }),
        }
    }

    fn port_labels() -> Value {
        json!({})
    }

    /// The app JSON (`AppInfo`) in the configured version's format.
    pub(crate) fn app_json(&self, app: &App, embed_tasks: bool, counts: bool) -> Value {
        let s = &app.spec;
        let mut o = serde_json::Map::new();
        let v14 = !self.v110();
        o.insert("id".into(), json!(s.id));
        o.insert("backoffFactor".into(), json!(1.15));
        o.insert("backoffSeconds".into(), json!(1));
        o.insert("cpus".into(), json!(0.1));
        o.insert("disk".into(), json!(0));
        o.insert("env".into(), json!({}));
        o.insert("executor".into(), json!(""));
        o.insert("instances".into(), json!(s.instances));
        o.insert("labels".into(), json!(s.labels));
        o.insert("maxLaunchDelaySeconds".into(), json!(3600));
        o.insert("mem".into(), json!(128));
        o.insert("gpus".into(), json!(0));
        o.insert("constraints".into(), json!([]));
        o.insert("fetch".into(), json!([]));
        o.insert("requirePorts".into(), json!(false));
        o.insert(
            "upgradeStrategy".into(),
            json!({"maximumOverCapacity": 1, "minimumHealthCapacity": 1}),
        );
        o.insert("version".into(), json!(app.version));
        o.insert(
            "versionInfo".into(),
            json!({"lastScalingAt": app.last_scaling_at, "lastConfigChangeAt": app.last_config_change_at}),
        );
        o.insert("killSelection".into(), json!("YOUNGEST_FIRST"));
        o.insert(
            "unreachableStrategy".into(),
            json!({"inactiveAfterSeconds": 300, "expungeAfterSeconds": 600}),
        );
        let hc = if s.health_checks {
            vec![self.health_check_json(app)]
        } else {
            Vec::new()
        };
        if v14 || !hc.is_empty() {
            o.insert("healthChecks".into(), json!(hc));
        }
        if v14 {
            o.insert("args".into(), Value::Null);
            o.insert("user".into(), Value::Null);
            o.insert("uris".into(), json!([]));
            o.insert("storeUrls".into(), json!([]));
            o.insert("dependencies".into(), json!([]));
            o.insert("readinessChecks".into(), json!([]));
            o.insert("secrets".into(), json!({}));
            o.insert("residency".into(), Value::Null);
            o.insert("taskKillGracePeriodSeconds".into(), Value::Null);
        } else {
            o.insert("role".into(), json!("*"));
        }

        let port_defs = || -> Value {
            Value::Array(
                s.ports
                    .iter()
                    .zip(&app.service_ports)
                    .map(|(p, sp)| {
                        let mut d = serde_json::Map::new();
                        d.insert("port".into(), json!(sp));
                        d.insert("protocol".into(), json!(p.protocol));
                        if let Some(n) = &p.name {
                            d.insert("name".into(), json!(n));
                        }
                        d.insert("labels".into(), Self::port_labels());
                        Value::Object(d)
                    })
                    .collect(),
            )
        };
        let mappings = |with_host_port: bool| -> Value {
            Value::Array(
                s.ports
                    .iter()
                    .zip(&app.service_ports)
                    .zip(&app.container_ports)
                    .map(|((p, sp), cp)| {
                        let mut m = serde_json::Map::new();
                        m.insert("containerPort".into(), json!(cp));
                        if with_host_port {
                            m.insert("hostPort".into(), json!(0));
                        }
                        m.insert("servicePort".into(), json!(sp));
                        m.insert("protocol".into(), json!(p.protocol));
                        if let Some(n) = &p.name {
                            m.insert("name".into(), json!(n));
                        }
                        m.insert("labels".into(), Self::port_labels());
                        Value::Object(m)
                    })
                    .collect(),
            )
        };
        let image = "registry.invalid/marathon-sim/placeholder:latest";
        match (v14, s.networking) {
            (true, Networking::Host) => {
                o.insert("cmd".into(), json!("sleep 3600 # simulated"));
                o.insert("container".into(), Value::Null);
                o.insert("ipAddress".into(), Value::Null);
                o.insert("ports".into(), json!(app.service_ports));
                o.insert("portDefinitions".into(), port_defs());
            }
            (true, Networking::Bridge) => {
                o.insert("cmd".into(), Value::Null);
                o.insert(
                    "container".into(),
                    json!({
                        "type": "DOCKER",
                        "volumes": [],
                        "docker": {
                            "image": image,
                            "network": "BRIDGE",
                            "portMappings": mappings(true),
                            "privileged": false,
                            "parameters": [],
                            "forcePullImage": false
                        }
                    }),
                );
                o.insert("ipAddress".into(), Value::Null);
                o.insert("ports".into(), json!(app.service_ports));
                o.insert("portDefinitions".into(), port_defs());
            }
            (true, Networking::Container) => {
                o.insert("cmd".into(), json!("sleep 3600 # simulated"));
                o.insert("container".into(), Value::Null);
                let ports: Vec<Value> = s
                    .ports
                    .iter()
                    .zip(&app.container_ports)
                    .enumerate()
                    .map(|(i, (p, cp))| {
                        json!({
                            "number": cp,
                            "name": p.name.clone().unwrap_or_else(|| format!("port{i}")),
                            "protocol": p.protocol
                        })
                    })
                    .collect();
                o.insert(
                    "ipAddress".into(),
                    json!({
                        "groups": [],
                        "labels": {},
                        "discovery": {"ports": ports},
                        "networkName": "dcos"
                    }),
                );
            }
            (false, Networking::Host) => {
                o.insert("cmd".into(), json!("sleep 3600 # simulated"));
                o.insert("networks".into(), json!([{"mode": "host"}]));
                o.insert("portDefinitions".into(), port_defs());
            }
            (false, Networking::Bridge) => {
                o.insert("cmd".into(), json!("sleep 3600 # simulated"));
                o.insert(
                    "container".into(),
                    json!({
                        "type": "DOCKER",
                        "docker": {"forcePullImage": false, "image": image, "parameters": [], "privileged": false},
                        "volumes": [],
                        "portMappings": mappings(true)
                    }),
                );
                o.insert("networks".into(), json!([{"mode": "container/bridge"}]));
            }
            (false, Networking::Container) => {
                o.insert("cmd".into(), json!("sleep 3600 # simulated"));
                o.insert(
                    "container".into(),
                    json!({
                        "type": "DOCKER",
                        "docker": {"forcePullImage": false, "image": image, "parameters": [], "privileged": false},
                        "volumes": [],
                        "portMappings": mappings(false)
                    }),
                );
                o.insert(
                    "networks".into(),
                    json!([{"mode": "container", "name": "dcos"}]),
                );
            }
        }

        if counts {
            let running = app
                .tasks
                .iter()
                .filter(|t| t.state == "TASK_RUNNING")
                .count();
            let staged = app.tasks.len() - running;
            let (healthy, unhealthy) = if s.health_checks {
                let h = app
                    .tasks
                    .iter()
                    .filter(|t| t.health.as_ref().is_some_and(|h| h.alive))
                    .count();
                let u = app
                    .tasks
                    .iter()
                    .filter(|t| t.health.as_ref().is_some_and(|h| !h.alive))
                    .count();
                (h, u)
            } else {
                (0, 0)
            };
            o.insert("tasksStaged".into(), json!(staged));
            o.insert("tasksRunning".into(), json!(running));
            o.insert("tasksHealthy".into(), json!(healthy));
            o.insert("tasksUnhealthy".into(), json!(unhealthy));
            o.insert("deployments".into(), json!([]));
        }
        if embed_tasks {
            o.insert(
                "tasks".into(),
                Value::Array(
                    app.tasks
                        .iter()
                        .map(|t| self.task_json(app, t, false))
                        .collect(),
                ),
            );
        }
        Value::Object(o)
    }

    /// One task (`EnrichedTask`) in the configured version's format.
    pub(crate) fn task_json(&self, app: &App, t: &Task, with_service_ports: bool) -> Value {
        let agent = &self.cfg.agents[t.agent];
        let mut o = serde_json::Map::new();
        o.insert("id".into(), json!(t.id));
        o.insert("appId".into(), json!(app.spec.id));
        o.insert("host".into(), json!(agent.host));
        o.insert("slaveId".into(), json!(agent.id));
        o.insert("state".into(), json!(t.state));
        o.insert("ipAddresses".into(), ip_addresses(&t.ip));
        o.insert("ports".into(), json!(t.host_ports));
        o.insert("stagedAt".into(), json!(t.staged_at));
        if let Some(s) = &t.started_at {
            o.insert("startedAt".into(), json!(s));
        }
        o.insert("version".into(), json!(t.version));
        if with_service_ports {
            o.insert("servicePorts".into(), json!(app.service_ports));
        }
        let results: Vec<Value> = t
            .health
            .iter()
            .map(|h| {
                let (key, id) = self.health_key_and_id(t);
                let mut r = serde_json::Map::new();
                r.insert("alive".into(), json!(h.alive));
                r.insert("consecutiveFailures".into(), json!(h.consecutive_failures));
                r.insert("firstSuccess".into(), json!(h.first_success));
                r.insert("lastFailure".into(), json!(h.last_failure));
                r.insert("lastSuccess".into(), json!(h.last_success));
                r.insert("lastFailureCause".into(), json!(h.last_failure_cause));
                r.insert(key.into(), json!(id));
                Value::Object(r)
            })
            .collect();
        if self.v110() || app.spec.health_checks {
            o.insert("healthCheckResults".into(), Value::Array(results));
        }
        if self.v110() {
            o.insert("localVolumes".into(), json!([]));
            o.insert("role".into(), json!("*"));
        }
        Value::Object(o)
    }

    /// `GET /v2/apps` body. `filters`: query pairs (`id=`, `label=`).
    pub(crate) fn apps_json(&self, embed_tasks: bool, filters: &[(String, String)]) -> Value {
        let st = self.lock();
        let apps: Vec<Value> = st
            .apps
            .values()
            .filter(|a| app_matches(a, filters))
            .map(|a| self.app_json(a, embed_tasks, true))
            .collect();
        json!({ "apps": apps })
    }

    pub(crate) fn task_views(&self) -> Vec<TaskView> {
        let st = self.lock();
        st.apps
            .values()
            .flat_map(|app| {
                app.tasks
                    .iter()
                    .filter(|t| t.state == "TASK_RUNNING")
                    .map(move |t| {
                        let agent = &self.cfg.agents[t.agent];
                        TaskView {
                            app_id: app.spec.id.clone(),
                            task_id: t.id.clone(),
                            instance_id: t.instance_id.clone(),
                            host: agent.host.clone(),
                            agent_id: agent.id.clone(),
                            ports: t.host_ports.clone(),
                            container_ports: if app.spec.networking == Networking::Host {
                                Vec::new()
                            } else {
                                app.container_ports.clone()
                            },
                            service_ports: app.service_ports.clone(),
                            ip_addresses: t.ip.iter().cloned().collect(),
                            healthy: !app.spec.health_checks
                                || t.health.as_ref().is_some_and(|h| h.alive),
                            has_health_checks: app.spec.health_checks,
                            state: t.state.to_string(),
                        }
                    })
            })
            .collect()
    }
}

/// `id=` (substring) and `label=` (`k`, `k==v`, `k!=v`, comma = AND) filters of `/v2/apps`.
fn app_matches(app: &App, filters: &[(String, String)]) -> bool {
    filters.iter().all(|(k, v)| match k.as_str() {
        "id" => app.spec.id.contains(v.as_str()),
        "label" => v
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .all(|c| {
                let labels = &app.spec.labels;
                if let Some((k, v)) = c.split_once("!=") {
                    labels.get(k.trim()).map(String::as_str) != Some(v.trim())
                } else if let Some((k, v)) = c.split_once("==") {
                    labels.get(k.trim()).map(String::as_str) == Some(v.trim())
                } else {
                    labels.contains_key(c)
                }
            }),
        _ => true,
    })
}
