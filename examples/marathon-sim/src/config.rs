//! How a simulator is set up: the Marathon version it imitates, its agents, and the
//! switches for Marathon's optional behaviours and for the test harness.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[cfg(doc)]
use crate::Simulator;

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
        let cluster = crate::ids::uuid_v4();
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
