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
//!
//! ## Code map
//! One job per module (see the README's "Code layout"): the public types (`config`, `spec`,
//! `simulator`), the cluster (`model`, `alloc`, `ids`, `clock`), what changes it
//! (`scenario`), how it is shown (`render/`), how events travel (`bus`, `stream`,
//! `callbacks`), and the HTTP surface (`server/`, `auth`).

mod alloc;
mod auth;
mod bus;
mod callbacks;
mod clock;
mod config;
mod definition;
mod ids;
mod model;
mod render;
mod scenario;
mod server;
mod shared;
mod simulator;
mod spec;
mod stream;

pub use crate::auth::basic_auth_header;
pub use crate::config::{Agent, MarathonVersion, SimConfig};
pub use crate::definition::app_spec_from_definition;
pub use crate::simulator::{Simulator, TaskView};
pub use crate::spec::{AppSpec, Networking, PortSpec};
