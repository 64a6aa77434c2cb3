//! # mesos-sim — a Mesos master **simulator** (this is *not* Mesos)
//!
//! An in-process set of HTTP servers that *imitate* what a Mesos master cluster shows a
//! service-discovery client: the v1 operator API (`POST /api/v1`: the RecordIO `SUBSCRIBE`
//! event stream and the `GET_*` calls), the v0 `/master/state` Mesos-DNS polls, leader
//! redirects between several masters, and the masters' registration in ZooKeeper. There is
//! no allocator, no agent and no real task behind it: agents, frameworks and tasks are data
//! a test (or the `/sim/*` control API) makes up or seeds from recordings, and every change
//! produces the events a real master would send. Formats follow the recorded streams in
//! `testdata/mesos/` (their sources are in that folder's README).
//!
//! It exists for Herald's tests and demo. Do not point anything at it expecting Mesos'
//! behaviour beyond what is listed here and in the README.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> anyhow::Result<()> {
//! use mesos_sim::{Networking, PortSpec, SimConfig, Simulator, TaskSpec};
//!
//! let sim = Simulator::start(SimConfig::default()).await?; // 3 masters, 2 agents, Marathon
//! let task = sim.launch_task(
//!     TaskSpec::new("/prod/web")
//!         .with_networking(Networking::Bridge)
//!         .with_ports(vec![PortSpec::new("http", 8080)])
//!         .with_health_check(),
//! )?; // TASK_ADDED, TASK_UPDATED starting, running, healthy
//! sim.set_health(&task, false)?;
//! sim.kill_task(&task)?; // TASK_KILLING, TASK_KILLED
//! sim.set_leader(Some(1)).await?; // master 0 now redirects to master 1
//! println!("POST {}/api/v1 {{\"type\":\"SUBSCRIBE\"}}", sim.leader_url().unwrap_or_default());
//! # Ok(())
//! # }
//! ```
//!
//! ## What each master serves
//! - `POST /api/v1` and `/master/api/v1`: `{"type":"SUBSCRIBE"}` → `200`,
//!   `Content-Type: application/json`, a chunked body of RecordIO records (`<len>\n<json>`):
//!   `SUBSCRIBED` (the `GetState` snapshot and `heartbeat_interval_seconds`), one `HEARTBEAT`,
//!   then the events of every scenario step and a `HEARTBEAT` every [`SimConfig::heartbeat`].
//!   `GET_STATE`, `GET_AGENTS`, `GET_FRAMEWORKS`, `GET_TASKS`, `GET_EXECUTORS`, `GET_MASTER`,
//!   `GET_HEALTH`, `GET_VERSION` → one JSON body. Checks as the master's: 405 for a method
//!   other than POST, 400 without `Content-Type`, 415 unless it is exactly
//!   `application/json`, 400 for a body that is not a call, 406 when `Accept` refuses JSON,
//!   501 for the calls that are not simulated.
//! - `GET /master/state` (and `/master/state.json`, `/state`, `/state.json`): the v0 layout.
//! - `GET /master/redirect` (and `/redirect`): `307` with `Location: //<leader>:<port>`.
//! - A master that does not lead answers the above (but `/master/redirect`) with
//!   `307 Location: //<leader host>:<port><path>` (`/api/v1` is seen as `/master/api/v1`);
//!   with no leader elected, `503 No leader elected`; a leader set "recovering" answers
//!   `503 Master has not finished recovery`.
//! - `GET /health`; `/sim/*`: the control API (see the README), on every master.
//!
//! JSON is written as the master writes it: fields in `.proto` order, unset ones omitted,
//! enums as names, 64-bit integers as bare numbers, `bytes` in base64, `/` escaped as `\/`.
//!
//! ## Code map
//! One job per module (see the README's "Code layout"): the public types (`config`, `spec`,
//! `error`, `simulator`), the messages (`proto/`), the cluster (`model`, `alloc`, `ids`,
//! `clock`, `build`), what changes it (`scenario/`, `seed`), how it is shown (`render/`),
//! how events travel (`shared`, `streams`, `recordio`), leadership (`masters`, `zk`) and the
//! HTTP surface (`server/`).

mod alloc;
mod build;
mod clock;
mod config;
mod error;
mod ids;
mod masters;
mod model;
pub mod proto;
pub mod recordio;
mod render;
mod scenario;
mod seed;
mod server;
mod shared;
mod simulator;
mod spec;
mod streams;
mod zk;

pub use crate::config::{SimConfig, SlowConsumer, ZkConfig};
pub use crate::error::SimError;
pub use crate::proto::{GetState, TaskState};
pub use crate::scenario::{FrameworkUpdate, TaskUpdate};
pub use crate::simulator::Simulator;
pub use crate::spec::{
    AgentSpec, Containerizer, FrameworkSpec, Networking, PodSpec, PortSpec, TaskSpec,
};
