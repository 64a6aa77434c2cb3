//! # marathon-sim — a Marathon **simulator** (this is *not* Marathon)
//!
//! A small in-process HTTP server that *imitates* the parts of Marathon's API that a
//! service-discovery client reads, in the documented JSON formats of Marathon **1.4** and
//! **1.10** (the sources of each shape are listed in `testdata/marathon/README.md`). There is no Mesos, no scheduler and no real
//! task behind it: apps and tasks are data that the test (or the `/sim/` control API) makes
//! up, and every state change produces the events real Marathon would publish.
//!
//! It exists for Herald's tests, demo and benchmarks. Do not point anything at it expecting
//! Marathon's behaviour beyond what is listed here.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! use marathon_sim::{AppSpec, MarathonVersion, Networking, PortSpec, SimConfig, Simulator};
//!
//! let sim = Simulator::start(SimConfig::new(MarathonVersion::V1_10)).await?;
//! let app = AppSpec::new("/prod/web", 2)
//!     .with_networking(Networking::Bridge)
//!     .with_ports(vec![PortSpec::new(Some("http"), Some(80), "tcp")])
//!     .with_health_checks(true);
//! let tasks = sim.deploy(app).await?; // both TASK_RUNNING and healthy now
//! sim.set_health(&tasks[0], false).await?;
//! sim.kill_task(&tasks[1]).await?; // a replacement starts
//! assert_eq!(sim.running_tasks().len(), 2);
//! println!("GET {}/v2/apps?embed=apps.tasks -> {}", sim.url(), sim.apps_json());
//! # Ok(())
//! # }
//! ```
//!
//! ## What it serves
//! - `GET /v2/apps[?embed=apps.tasks][&id=..][&label=..]`, `GET /v2/apps/{id}` (`{"app":..}`,
//!   404 `{"message":"App '/x' does not exist"}`), `GET /v2/apps/{id}/tasks`,
//!   `GET /v2/apps/{group}/*`, `GET /v2/tasks[?status=running]` (JSON, or `text/plain` with
//!   `Accept: text/plain`), `GET /v2/info`, `GET /ping`.
//! - `POST /v2/apps` (a Marathon app definition in the 1.4 or 1.10 shape; see
//!   [`app_spec_from_definition`] for what is read), `PUT /v2/apps/{id}` (only
//!   `{"instances": N}`), `DELETE /v2/apps/{id}`.
//! - `GET /v2/events`: Server-Sent Events. Like Marathon (Jetty's `EventSourceServlet`) the
//!   stream is only opened when one `Accept` header value is **exactly** `text/event-stream`;
//!   anything else gets **405** "HTTP method GET is not supported by this URL". Repeated
//!   `event_type=` parameters filter by exact event type (the filter applies to every event,
//!   `event_stream_attached` included, as in Marathon). Framing is
//!   `event: <type>\n` `data: <json>\n\n` (or CRLF with [`SimConfig::crlf`], which is what real
//!   Marathon sends); heartbeats are bare blank lines every [`SimConfig::heartbeat`]. Each new
//!   stream publishes `event_stream_attached` (so it is that stream's first event) and
//!   `event_stream_detached` when it goes. With [`SimConfig::redirect_to`] the endpoint answers
//!   `302` to the "leader" instead (as a 1.7+ standby does).
//!   Slow consumers: once a client is more than [`SimConfig::event_buffer`] events behind, 1.10
//!   closes its connection (1.8+ behaviour) and 1.4 silently drops events for it.
//! - `POST/GET/DELETE /v2/eventSubscriptions?callbackUrl=..` (version 1.4 only, when
//!   [`SimConfig::callbacks`] is on; otherwise 400 with the "http event callback system is not
//!   running" message; version 1.10 answers 404 `{"message":"URI not found: ..."}` because the
//!   resource was removed in 1.5). `POST` requires `Content-Type: application/json` (415
//!   otherwise, as Jersey's `@Consumes` does). Every event is `POST`ed to every callback URL,
//!   concurrently (so out of order is possible), with Marathon's 2^n-second back-off after a
//!   failed delivery (events in the back-off window are dropped for that URL).
//! - HTTP Basic auth on every path when [`SimConfig::auth`] is set (401 +
//!   `WWW-Authenticate: Basic realm="Mesosphere"`).
//! - `/sim/...`: a control API that is **not Marathon's**, for shell scripts and the demo:
//!   `POST /sim/apps` (an [`AppSpec`] as JSON → `201 {"tasks":[ids]}`),
//!   `POST /sim/apps/{id}/scale?instances=N`, `POST /sim/apps/{id}/burst?count=N`,
//!   `DELETE /sim/apps/{id}`, `POST /sim/tasks/{id}/kill[?scale=true]`,
//!   `POST /sim/tasks/{id}/health?healthy=false`, `GET /sim/tasks` (the [`TaskView`]s),
//!   `POST /sim/fail?on=true|false`, `POST /sim/delivery?on=true|false`,
//!   `POST /sim/drop-streams`, `POST /sim/events` (raw event JSON), `GET /sim/healthz`.
//!   Errors are `{"message":..}` with 404 / 409 / 422 / 400.
//!
//! ## Events per scenario step
//! (Every status change emits `status_update_event` and, when
//! [`SimConfig::instance_changed_events`] is on, an `instance_changed_event` right after it.)
//! - deploy: `api_post_event` (uri `/v2/apps`), then per task `TASK_STAGING`, `TASK_STARTING`,
//!   `TASK_RUNNING`; with health checks then `health_status_changed_event` (alive=true) and
//!   `instance_health_changed_event` (healthy=true).
//! - scale: `api_post_event` (uri `/v2/apps/<id>`), then new tasks as in deploy, or for a
//!   scale-down the youngest tasks get `TASK_KILLING` + `TASK_KILLED`.
//! - kill: `TASK_KILLING`, `TASK_KILLED`, then a replacement task as in deploy (1.10: same
//!   instance id, task id incarnation + 1; 1.4: a new instance).
//! - health: when unhealthy `failed_health_check_event`; on a change of health
//!   `health_status_changed_event` then `instance_health_changed_event`.
//! - terminate: `TASK_KILLING` + `TASK_KILLED` per task, then `app_terminated_event`.
//!
//! `TASK_KILLING` is only sent while [`SimConfig::task_killing`] is on (default).

mod definition;
mod server;
mod state;
mod stream;
mod util;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::definition::app_spec_from_definition;
use crate::state::Inner;

/// The Marathon version whose JSON formats the simulator speaks.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Default, clap::ValueEnum, Serialize, Deserialize,
)]
pub enum MarathonVersion {
    /// Marathon 1.4: legacy networking JSON (`portDefinitions`, `container.docker.portMappings`
    /// with `network: BRIDGE`, `ipAddress`), task ids `<safePath>.<uuid>`, instance ids
    /// `<safePath>.marathon-<uuid>`, HTTP callbacks available.
    #[value(name = "1.4")]
    #[serde(rename = "1.4")]
    V1_4,
    /// Marathon 1.10: `networks`, `container.portMappings`, task ids
    /// `<safePath>.instance-<uuid>._app.<n>`, no HTTP callbacks.
    #[default]
    #[value(name = "1.10")]
    #[serde(rename = "1.10")]
    V1_10,
}

impl MarathonVersion {
    /// The version string reported by `/v2/info`.
    pub fn full_version(self) -> &'static str {
        match self {
            MarathonVersion::V1_4 => "1.4.13",
            MarathonVersion::V1_10 => "1.10.26",
        }
    }
}

impl std::fmt::Display for MarathonVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MarathonVersion::V1_4 => "1.4",
            MarathonVersion::V1_10 => "1.10",
        })
    }
}

impl std::str::FromStr for MarathonVersion {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s.trim() {
            "1.4" | "1.4.13" | "v1.4" => Ok(MarathonVersion::V1_4),
            "1.10" | "1.10.26" | "v1.10" => Ok(MarathonVersion::V1_10),
            other => anyhow::bail!("unknown Marathon version '{other}' (expected 1.4 or 1.10)"),
        }
    }
}

/// A simulated Mesos agent: tasks placed on it get its id as `slaveId` and its host as `host`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Mesos agent id, e.g. `db7b40e2-791c-445f-b373-183e2a648a86-S1`.
    pub id: String,
    /// Agent hostname as Marathon reports it (`tasks[].host`): an IP such as `127.0.0.11`, or a
    /// hostname. For host networking, tasks' `ipAddresses` hold this value when it is an IP.
    pub host: String,
}

impl Agent {
    /// `n` agents with ids `<uuid>-S0..S{n-1}` and hosts `127.0.0.11`, `127.0.0.12`, …
    pub fn default_agents(n: usize) -> Vec<Agent> {
        let cluster = util::uuid_v4();
        (0..n)
            .map(|i| Agent {
                id: format!("{cluster}-S{i}"),
                host: format!("127.0.0.{}", 11 + i % 240),
            })
            .collect()
    }
}

/// Simulator settings. `SimConfig::default()` is version 1.10 on `127.0.0.1:0` with 3 agents.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Output formats (1.4 or 1.10).
    pub version: MarathonVersion,
    /// Listen address; port 0 picks a free port (see [`Simulator::url`]).
    pub listen: SocketAddr,
    /// Agents tasks are spread over (round robin). Must not be empty.
    pub agents: Vec<Agent>,
    /// HTTP Basic credentials `(user, password)` required on every path when set.
    pub auth: Option<(String, String)>,
    /// Use CRLF line ends in the SSE stream (what Marathon/Jetty sends); LF otherwise. In CRLF
    /// mode the heartbeat is written as `\r` and `\n` in two separate writes, like Jetty.
    pub crlf: bool,
    /// Answer `GET /v2/events` with `302 Location: <redirect_to>/v2/events?<query>` (a standby
    /// pointing at the leader). If the value already has a path, it is used as is.
    pub redirect_to: Option<String>,
    /// SSE heartbeat period (Marathon: 10 s).
    pub heartbeat: Duration,
    /// How far (in events) an SSE client may fall behind before it counts as slow.
    pub event_buffer: usize,
    /// 1.4 only: whether the `http_callback` event subscriber is enabled (Marathon's
    /// `--event_subscriber http_callback`). Default true.
    pub callbacks: bool,
    /// 1.4 only: callback URLs registered at start (Marathon's `--http_endpoints`).
    pub http_endpoints: Vec<String>,
    /// Timeout of one callback POST (Marathon: 10 s).
    pub callback_timeout: Duration,
    /// Skip a failing callback URL for 2^n s after n consecutive failures (Marathon does).
    pub callback_backoff: bool,
    /// Emit `TASK_KILLING` before `TASK_KILLED` (Marathon's `task_killing` feature).
    pub task_killing: bool,
    /// Emit `instance_changed_event` after each `status_update_event` (Marathon 1.4+ does).
    pub instance_changed_events: bool,
    /// Use the ≤1.3 health keys: `healthCheckResults[].taskId`, `health_status_changed_event.taskId`
    /// and `failed_health_check_event.taskId`, all holding the *task* id. Off by default
    /// (1.4+: `instanceId`).
    pub legacy_health_keys: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            version: MarathonVersion::V1_10,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            agents: Agent::default_agents(3),
            auth: None,
            crlf: false,
            redirect_to: None,
            heartbeat: Duration::from_secs(10),
            event_buffer: 1024,
            callbacks: true,
            http_endpoints: Vec::new(),
            callback_timeout: Duration::from_secs(10),
            callback_backoff: true,
            task_killing: true,
            instance_changed_events: true,
            legacy_health_keys: false,
        }
    }
}

impl SimConfig {
    /// The default config for `version`.
    pub fn new(version: MarathonVersion) -> Self {
        SimConfig {
            version,
            ..SimConfig::default()
        }
    }
}

/// How an app's tasks are networked; decides the JSON shape and what `ports`/`ipAddresses` hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Networking {
    /// Host networking: `portDefinitions`, tasks' `ports` are host ports, `ipAddresses` = agent IP.
    #[default]
    Host,
    /// Docker bridge: 1.4 `container.docker.network: BRIDGE` + `container.docker.portMappings`;
    /// 1.10 `networks:[{mode:"container/bridge"}]` + `container.portMappings`. Tasks get host
    /// ports and a `172.17.x.y` container IP.
    #[serde(alias = "BRIDGE", alias = "container/bridge")]
    Bridge,
    /// IP-per-task: 1.4 `ipAddress{discovery:{ports}}`; 1.10 `networks:[{mode:"container"}]` +
    /// `container.portMappings` without `hostPort`. Tasks get no host ports and a `10.x.y.z` IP
    /// (only data: nothing listens there).
    #[serde(alias = "CONTAINER", alias = "USER", alias = "user")]
    Container,
}

/// One port of an app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortSpec {
    /// Port name (`portDefinitions[].name` / `portMappings[].name` / discovery port name).
    pub name: Option<String>,
    /// Container port (bridge/container networking). `None`: bridge → `0` ("same as host
    /// port"), container → `8080 + index`. Ignored for host networking.
    #[serde(alias = "containerPort")]
    pub container_port: Option<u16>,
    /// `"tcp"`, `"udp"` or `"udp,tcp"`.
    pub protocol: String,
}

impl Default for PortSpec {
    fn default() -> Self {
        PortSpec {
            name: None,
            container_port: None,
            protocol: "tcp".into(),
        }
    }
}

impl PortSpec {
    /// A named TCP port.
    pub fn tcp(name: &str) -> Self {
        PortSpec {
            name: Some(name.into()),
            ..PortSpec::default()
        }
    }
    /// A port with every field given.
    pub fn new(name: Option<&str>, container_port: Option<u16>, protocol: &str) -> Self {
        PortSpec {
            name: name.map(Into::into),
            container_port,
            protocol: protocol.into(),
        }
    }
}

/// An app to deploy. `Default`: no id, 1 instance, one unnamed TCP port, host networking,
/// no health checks, no labels. JSON (for `POST /sim/apps`) uses these field names
/// (`health_checks`/`healthChecks` and `container_port`/`containerPort` both accepted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppSpec {
    /// App id; relative ids are made absolute (`web` → `/web`). Must satisfy Marathon's rules.
    pub id: String,
    /// Number of instances to keep running.
    pub instances: u32,
    /// Ports, in index order.
    pub ports: Vec<PortSpec>,
    /// Networking mode.
    pub networking: Networking,
    /// Whether the app has a (Marathon-side HTTP) health check. New tasks become healthy right
    /// after `TASK_RUNNING`; use [`Simulator::set_health`] to change that.
    #[serde(alias = "healthChecks")]
    pub health_checks: bool,
    /// App labels.
    pub labels: BTreeMap<String, String>,
}

impl Default for AppSpec {
    fn default() -> Self {
        AppSpec {
            id: String::new(),
            instances: 1,
            ports: vec![PortSpec::default()],
            networking: Networking::Host,
            health_checks: false,
            labels: BTreeMap::new(),
        }
    }
}

impl AppSpec {
    /// An app with `instances` instances and the defaults otherwise.
    pub fn new(id: &str, instances: u32) -> Self {
        AppSpec {
            id: id.into(),
            instances,
            ..AppSpec::default()
        }
    }
    /// Replaces the ports.
    pub fn with_ports(mut self, ports: Vec<PortSpec>) -> Self {
        self.ports = ports;
        self
    }
    /// Sets the networking mode.
    pub fn with_networking(mut self, networking: Networking) -> Self {
        self.networking = networking;
        self
    }
    /// Turns the health check on or off.
    pub fn with_health_checks(mut self, on: bool) -> Self {
        self.health_checks = on;
        self
    }
    /// Adds a label.
    pub fn with_label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
}

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

/// `Authorization` header value for HTTP Basic auth: `Basic base64(user:pass)`.
pub fn basic_auth_header(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        util::base64_encode(format!("{user}:{pass}").as_bytes())
    )
}

/// A running simulator. It serves until dropped (or [`Simulator::shutdown`]); dropping it
/// closes the listener and every connection at once, like a crashed Marathon.
pub struct Simulator {
    inner: Arc<Inner>,
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
        let inner = Inner::new(config, addr);
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
        self.inner.bus.publish(stream::BusEvent::from_value(&event));
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
        self.inner.apps_json(true, &[])
    }

    /// All running tasks, sorted by app id then launch order.
    pub fn running_tasks(&self) -> Vec<TaskView> {
        self.inner.task_views()
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
