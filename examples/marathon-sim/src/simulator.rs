//! The public handle of a running simulator: scenario steps, fault injection, and the
//! truth for assertions.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::bus::BusEvent;
use crate::model::{App, Task};
use crate::render::app::apps_json;
use crate::shared::Shared;
use crate::{AppSpec, Networking, SimConfig, server};

/// The truth about one task, for assertions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskView {
    /// App id (`/web`).
    pub app_id: String,
    /// Task id.
    pub task_id: String,
    /// Instance id (1.4: `<safePath>.marathon-<uuid>`, 1.10: `<safePath>.instance-<uuid>`).
    pub instance_id: String,
    /// Agent host (`tasks[].host`).
    pub host: String,
    /// Agent id (`tasks[].slaveId`).
    pub agent_id: String,
    /// Host ports (`tasks[].ports`); empty for container networking.
    pub ports: Vec<u16>,
    /// Container ports by port index (bridge/container networking; empty for host networking).
    pub container_ports: Vec<u16>,
    /// Service ports by port index.
    pub service_ports: Vec<u16>,
    /// `tasks[].ipAddresses[].ipAddress`.
    pub ip_addresses: Vec<String>,
    /// Health: `true` when the app has no health checks, else the last result.
    pub healthy: bool,
    /// Whether the app has health checks.
    pub has_health_checks: bool,
    /// `tasks[].state` (always `TASK_RUNNING` for tasks listed by [`Simulator::running_tasks`]).
    pub state: String,
}

/// A running simulator. It serves until dropped (or [`Simulator::shutdown`]); dropping it
/// closes the listener and every connection at once, like a crashed Marathon.
pub struct Simulator {
    inner: Arc<Shared>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("url", &self.url())
            .finish()
    }
}

impl Simulator {
    /// Binds `config.listen` and starts serving (on the current tokio runtime).
    pub async fn start(config: SimConfig) -> anyhow::Result<Simulator> {
        if config.agents.is_empty() {
            anyhow::bail!("marathon-sim needs at least one agent");
        }
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let inner = Shared::new(config, addr);
        for url in inner.cfg.http_endpoints.clone() {
            inner.bus.callbacks.add(&url);
        }
        let server = tokio::spawn(server::serve(inner.clone(), listener));
        Ok(Simulator {
            inner,
            server: Some(server),
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (an unspecified listen IP shows as 127.0.0.1).
    pub fn url(&self) -> String {
        self.inner.url.clone()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SimConfig {
        &self.inner.cfg
    }

    /// Creates an app and starts its tasks (events: see the crate docs). Returns the new task
    /// ids; they are `TASK_RUNNING` (and healthy, with health checks) when this returns.
    /// Fails if the id is invalid or the app exists.
    pub async fn deploy(&self, app: AppSpec) -> anyhow::Result<Vec<String>> {
        Ok(self.inner.deploy(app, "127.0.0.1")?)
    }

    /// Scales an app up (new tasks) or down (kills the youngest tasks).
    pub async fn scale(&self, app_id: &str, instances: u32) -> anyhow::Result<()> {
        Ok(self
            .inner
            .scale(app_id, instances, "127.0.0.1")
            .map(|_| ())?)
    }

    /// Kills one task (`TASK_KILLING`, `TASK_KILLED`); Marathon then starts a replacement to keep
    /// `instances` (1.10: same instance id, next incarnation; 1.4: new instance).
    pub async fn kill_task(&self, task_id: &str) -> anyhow::Result<()> {
        Ok(self.inner.kill_task(task_id, true).map(|_| ())?)
    }

    /// Like [`Simulator::kill_task`] but returns the replacement task's id.
    pub async fn kill_task_and_replace(&self, task_id: &str) -> anyhow::Result<String> {
        self.inner
            .kill_task(task_id, true)?
            .ok_or_else(|| anyhow::anyhow!("no replacement was started"))
    }

    /// Kills one task without a replacement and lowers the app's `instances` by one
    /// (Marathon's `DELETE /v2/apps/{id}/tasks/{taskId}?scale=true`).
    pub async fn kill_task_and_scale(&self, task_id: &str) -> anyhow::Result<()> {
        Ok(self.inner.kill_task(task_id, false).map(|_| ())?)
    }

    /// Sets a task's health-check result. Fails if the app has no health checks.
    pub async fn set_health(&self, task_id: &str, healthy: bool) -> anyhow::Result<()> {
        Ok(self.inner.set_health(task_id, healthy)?)
    }

    /// Kills all tasks of an app and removes it (`TASK_KILLED`s, then `app_terminated_event`).
    pub async fn terminate(&self, app_id: &str) -> anyhow::Result<()> {
        Ok(self.inner.terminate(app_id)?)
    }

    /// While on, every `/v2/*` request is answered `500 {"message":..}` (fault injection).
    /// Streams already open stay open; `/ping` and `/sim/*` keep working.
    pub fn set_failing(&self, failing: bool) {
        self.inner.failing.store(failing, Ordering::SeqCst);
    }

    /// Changes the `/v2/events` redirect target at run time (see [`SimConfig::redirect_to`]).
    pub fn set_redirect(&self, redirect_to: Option<String>) {
        if let Ok(mut r) = self.inner.redirect.lock() {
            *r = redirect_to;
        }
    }

    /// Disconnects every SSE client currently attached and waits (up to 2 s) until they are gone.
    pub async fn drop_event_streams(&self) {
        self.inner.streams.drop_all().await;
    }

    /// Number of SSE clients currently attached.
    pub fn event_stream_clients(&self) -> usize {
        self.inner.streams.count()
    }

    /// Waits until at least `n` SSE clients are attached (e.g. before a scenario step, so the
    /// client under test sees its events).
    pub async fn wait_for_event_streams(&self, n: usize, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.event_stream_clients() < n {
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!(
                    "timed out waiting for {n} event stream client(s), have {}",
                    self.event_stream_clients()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }

    /// Broadcasts `event` verbatim to SSE clients and callbacks (event type from its
    /// `eventType`). Not affected by [`Simulator::set_event_delivery`].
    pub async fn emit_raw(&self, event: serde_json::Value) {
        self.inner.bus.publish(BusEvent::from_value(&event));
    }

    /// When off, app/task state still changes but the events those changes cause are not sent
    /// (neither SSE nor callbacks): simulates dropped events. Stream bookkeeping events
    /// (`event_stream_attached`/`detached`, `subscribe_event`) and [`Simulator::emit_raw`] still go out.
    pub fn set_event_delivery(&self, on: bool) {
        self.inner.bus.delivery.store(on, Ordering::SeqCst);
    }

    /// Registers a callback URL as `POST /v2/eventSubscriptions` would (without the
    /// `subscribe_event`). Callbacks are only delivered by version 1.4 with callbacks enabled.
    pub fn add_subscription(&self, callback_url: &str) {
        self.inner.bus.callbacks.add(callback_url);
    }

    /// Registered callback URLs.
    pub fn subscriptions(&self) -> Vec<String> {
        self.inner.bus.callbacks.urls()
    }

    /// Exactly the body `GET /v2/apps?embed=apps.tasks` returns now.
    pub fn apps_json(&self) -> serde_json::Value {
        let cluster = self.inner.lock();
        apps_json(&self.inner.cfg, cluster.apps.values(), true)
    }

    /// All running tasks, sorted by app id then launch order.
    pub fn running_tasks(&self) -> Vec<TaskView> {
        running_task_views(&self.inner)
    }

    /// Emits at least `count` `status_update_event`s fast, for benchmarks: cycles the app's
    /// tasks (`TASK_KILLED`, then a replacement straight to `TASK_RUNNING`, healthy without
    /// health events), round robin. Only status events are sent. The app keeps `instances`
    /// running tasks; task ids (and ports) change. Paces itself so the slowest SSE client is
    /// never more than half of [`SimConfig::event_buffer`] behind.
    pub async fn burst(&self, app_id: &str, count: usize) -> anyhow::Result<()> {
        self.inner.burst(app_id, count).await
    }

    /// Stops serving and waits until the listener is closed.
    pub async fn shutdown(mut self) {
        self.inner.cancel.cancel();
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.inner.cancel.cancel();
    }
}

/// The [`TaskView`]s of all running tasks, by app id then launch order.
pub(crate) fn running_task_views(sim: &Shared) -> Vec<TaskView> {
    let cluster = sim.lock();
    cluster
        .apps
        .values()
        .flat_map(|app| app.running_tasks().map(|t| task_view(&sim.cfg, app, t)))
        .collect()
}

/// The [`TaskView`] of one task.
fn task_view(cfg: &SimConfig, app: &App, t: &Task) -> TaskView {
    let agent = &cfg.agents[t.agent];
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
        healthy: !app.spec.health_checks || t.is_alive(),
        has_health_checks: app.spec.health_checks,
        state: t.state.mesos_name().to_string(),
    }
}
