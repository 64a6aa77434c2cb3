//! How a simulator is set up: its masters, the cluster it starts with, the stream's timing and
//! byte-level behaviour, and ZooKeeper.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::SimError;

/// What happens to an event stream whose client reads slower than events are published.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SlowConsumer {
    /// What Mesos does: queue everything for the client, without bound.
    #[default]
    Buffer,
    /// Close the stream once more than this many records wait for the client (a simulation
    /// aid for reconnect tests; Mesos itself never does this).
    Close(usize),
}

/// Where the masters register in ZooKeeper (`--zk=zk://host:port,host:port/path`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkConfig {
    /// `host:port[,host:port...]`.
    pub servers: String,
    /// The znode under which the masters create `json.info_` nodes (`/mesos`).
    pub path: String,
    /// Session timeout of each master's ZooKeeper session (Mesos: 10 s).
    pub session_timeout: Duration,
}

impl ZkConfig {
    /// Masters under `path` on `servers` (`127.0.0.1:2181`).
    pub fn new(servers: impl Into<String>, path: impl Into<String>) -> ZkConfig {
        ZkConfig {
            servers: servers.into(),
            path: path.into(),
            session_timeout: Duration::from_secs(10),
        }
    }

    /// Parses Mesos' `zk://host:port[,host:port]/path` (credentials are not supported).
    pub fn from_url(url: &str) -> Result<ZkConfig, SimError> {
        let bad = |why: &str| SimError::Invalid(format!("ZooKeeper URL '{url}': {why}"));
        let rest = url
            .strip_prefix("zk://")
            .ok_or_else(|| bad("expected zk://host:port/path"))?;
        let (servers, path) = rest
            .split_once('/')
            .ok_or_else(|| bad("expected a path after the servers"))?;
        if servers.is_empty() || servers.contains('@') {
            return Err(bad("expected host:port servers without credentials"));
        }
        let path = format!("/{}", path.trim_matches('/'));
        if path == "/" {
            return Err(bad("the path must not be /"));
        }
        Ok(ZkConfig::new(servers, path))
    }
}

/// Simulator settings. `SimConfig::default()`: 3 masters on `127.0.0.1` (free ports), master
/// 0 leading, 2 agents and Marathon registered, heartbeats every 15 s, no ZooKeeper.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Number of masters (each its own HTTP listener). At least 1.
    pub masters: usize,
    /// The master leading at start (`None`: no leader elected).
    pub leader: Option<usize>,
    /// IP every master listens on.
    pub listen_ip: IpAddr,
    /// Fixed ports, one per master; empty: free ports.
    pub ports: Vec<u16>,
    /// The masters' `MasterInfo.hostname` (what a redirect's `Location` names); default: the
    /// listen IP, as with `--no-hostname_lookup`.
    pub hostname: Option<String>,
    /// Mesos version reported (`GET_VERSION`, `MasterInfo.version`, `/master/state`).
    pub version: String,
    /// Heartbeat period of event streams (Mesos: always 15 s; tests use less).
    pub heartbeat: Duration,
    /// `--max_operator_event_stream_subscribers`: beyond it the oldest stream is closed.
    pub max_subscribers: usize,
    /// What a stream does with a client that falls behind.
    pub slow_consumer: SlowConsumer,
    /// Write stream bytes in pieces of at most this many bytes (re-chunking: lengths and
    /// records split across HTTP chunks). `None`: one chunk per record.
    pub chunk_size: Option<usize>,
    /// Agents registered at start (hosts `127.0.0.11`, `127.0.0.12`, ...).
    pub agents: usize,
    /// Register a Marathon framework at start.
    pub marathon: bool,
    /// Cluster id (the prefix of agent and framework ids); default: a random UUID.
    pub cluster_id: Option<String>,
    /// ZooKeeper registration of the masters.
    pub zk: Option<ZkConfig>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            masters: 3,
            leader: Some(0),
            listen_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ports: Vec::new(),
            hostname: None,
            version: "1.11.0".to_string(),
            heartbeat: Duration::from_secs(15),
            max_subscribers: 1000,
            slow_consumer: SlowConsumer::Buffer,
            chunk_size: None,
            agents: 2,
            marathon: true,
            cluster_id: None,
            zk: None,
        }
    }
}

impl SimConfig {
    /// `n` masters, otherwise the defaults.
    pub fn with_masters(n: usize) -> SimConfig {
        SimConfig {
            masters: n,
            ..SimConfig::default()
        }
    }

    /// Checks the settings that would make no sense.
    pub(crate) fn validate(&self) -> Result<(), SimError> {
        if self.masters == 0 {
            return Err(SimError::Invalid("at least one master is needed".into()));
        }
        if self.leader.is_some_and(|l| l >= self.masters) {
            return Err(SimError::Invalid(format!(
                "leader {:?} is not one of the {} masters",
                self.leader, self.masters
            )));
        }
        if !self.ports.is_empty() && self.ports.len() != self.masters {
            return Err(SimError::Invalid(format!(
                "{} ports given for {} masters",
                self.ports.len(),
                self.masters
            )));
        }
        if self.chunk_size == Some(0) {
            return Err(SimError::Invalid("chunk size must be at least 1".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zk_urls() {
        let z = ZkConfig::from_url("zk://127.0.0.1:2181,127.0.0.2:2181/mesos").unwrap();
        assert_eq!(z.servers, "127.0.0.1:2181,127.0.0.2:2181");
        assert_eq!(z.path, "/mesos");
        assert!(ZkConfig::from_url("http://x/mesos").is_err());
        assert!(ZkConfig::from_url("zk://u:p@h:1/mesos").is_err());
        assert!(ZkConfig::from_url("zk://h:1/").is_err());
    }

    #[test]
    fn validation() {
        assert!(SimConfig::default().validate().is_ok());
        assert!(SimConfig::with_masters(0).validate().is_err());
        let mut c = SimConfig::with_masters(2);
        c.leader = Some(2);
        assert!(c.validate().is_err());
    }
}
