//! The public handle of a running simulator: its masters, the scenario steps, the stream
//! faults, and the truth for assertions.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;

use crate::masters::{Master, Masters};
use crate::proto::{GetState, mesos_json};
use crate::render::state::master_state;
use crate::scenario::{FrameworkUpdate, TaskUpdate};
use crate::shared::Shared;
use crate::spec::{AgentSpec, FrameworkSpec, PodSpec, TaskSpec};
use crate::zk::ZkMasters;
use crate::{SimConfig, SimError, SlowConsumer, server};

/// A running Mesos master simulator: several masters, each its own HTTP listener, one of them
/// leading. It serves until dropped (or [`Simulator::shutdown`]); dropping it closes every
/// listener and connection at once, like crashed masters.
pub struct Simulator {
    inner: Arc<Shared>,
    servers: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("masters", &self.master_urls())
            .field("leader", &self.leader())
            .finish()
    }
}

impl Simulator {
    /// Binds every master, registers the initial agents and Marathon, registers the masters
    /// in ZooKeeper when configured, and starts serving (on the current tokio runtime).
    pub async fn start(config: SimConfig) -> anyhow::Result<Simulator> {
        config.validate()?;
        let mut listeners = Vec::new();
        let mut list = Vec::new();
        let now = crate::clock::now_ns() as f64 / 1e9;
        for i in 0..config.masters {
            let port = config.ports.get(i).copied().unwrap_or(0);
            let listener =
                tokio::net::TcpListener::bind(SocketAddr::new(config.listen_ip, port)).await?;
            let addr = listener.local_addr()?;
            list.push(Master {
                addr,
                id: crate::ids::uuid_v4(),
                hostname: config
                    .hostname
                    .clone()
                    .unwrap_or_else(|| addr.ip().to_string()),
                version: config.version.clone(),
                start_time: now,
            });
            listeners.push(listener);
        }
        let masters = Masters::new(list, config.leader, now);
        let inner = Arc::new(Shared::new(config, masters));
        for i in 0..inner.cfg.agents {
            inner.add_agent(AgentSpec::new(format!("127.0.0.{}", 11 + i % 240)))?;
        }
        if inner.cfg.marathon {
            inner.add_framework(FrameworkSpec::marathon("127.0.0.1"))?;
        }
        if let Some(zk) = inner.cfg.zk.clone() {
            let registered = ZkMasters::start(zk, &inner.masters.list, inner.cfg.leader).await?;
            *inner.zk.lock().await = Some(registered);
        }
        let servers = listeners
            .into_iter()
            .enumerate()
            .map(|(i, l)| tokio::spawn(server::serve(inner.clone(), i, l)))
            .collect();
        Ok(Simulator { inner, servers })
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SimConfig {
        &self.inner.cfg
    }

    /// The cluster id (prefix of generated agent and framework ids).
    pub fn cluster_id(&self) -> &str {
        &self.inner.cluster_id
    }

    /// Every master's base URL (`http://127.0.0.1:<port>`), by index.
    pub fn master_urls(&self) -> Vec<String> {
        self.inner.masters.list.iter().map(Master::url).collect()
    }

    /// Every master's bound address, by index.
    pub fn master_addrs(&self) -> Vec<SocketAddr> {
        self.inner.masters.list.iter().map(|m| m.addr).collect()
    }

    /// The leading master's index, if one is elected.
    pub fn leader(&self) -> Option<usize> {
        self.inner.masters.leadership().leader
    }

    /// The leading master's base URL, if one is elected.
    pub fn leader_url(&self) -> Option<String> {
        self.inner.masters.leader().map(Master::url)
    }

    /// The id of the Marathon framework registered at start (or the first one named
    /// `marathon`).
    pub fn marathon_id(&self) -> Option<String> {
        let c = self.inner.lock();
        self.inner.framework_for(&c, None).ok()
    }

    /// The ids of the registered agents, in registration order.
    pub fn agent_ids(&self) -> Vec<String> {
        self.inner
            .lock()
            .agents
            .iter()
            .map(|a| a.agent.id().to_string())
            .collect()
    }

    /// Registers an agent (`AGENT_ADDED`); returns its id.
    pub fn add_agent(&self, spec: AgentSpec) -> Result<String, SimError> {
        self.inner.add_agent(spec)
    }

    /// Removes an agent: `TASK_LOST` for each of its tasks, then `AGENT_REMOVED`.
    pub fn remove_agent(&self, id: &str) -> Result<(), SimError> {
        self.inner.remove_agent(id)
    }

    /// Partitions an agent away: its tasks go `TASK_UNREACHABLE` (or `TASK_LOST` for
    /// frameworks that are not partition-aware); no agent event.
    pub fn mark_agent_unreachable(&self, id: &str) -> Result<(), SimError> {
        self.inner.mark_agent_unreachable(id)
    }

    /// Re-registers an unreachable or recovered agent: `FRAMEWORK_ADDED` (recovered) for
    /// frameworks the leader does not know, `TASK_ADDED` per task, then `AGENT_ADDED`.
    pub fn reregister_agent(&self, id: &str) -> Result<(), SimError> {
        self.inner.reregister_agent(id)
    }

    /// Registers a framework (`FRAMEWORK_ADDED`); returns its id.
    pub fn add_framework(&self, spec: FrameworkSpec) -> Result<String, SimError> {
        self.inner.add_framework(spec)
    }

    /// Changes a framework (`FRAMEWORK_UPDATED`).
    pub fn update_framework(&self, id: &str, update: FrameworkUpdate) -> Result<(), SimError> {
        self.inner.update_framework(id, update)
    }

    /// A framework re-registers (`FRAMEWORK_UPDATED`: active, connected, not recovered).
    pub fn reregister_framework(&self, id: &str) -> Result<(), SimError> {
        self.inner.reregister_framework(id)
    }

    /// Tears a framework down: `TASK_KILLED` for each of its tasks, then `FRAMEWORK_REMOVED`.
    pub fn remove_framework(&self, id: &str) -> Result<(), SimError> {
        self.inner.remove_framework(id)
    }

    /// Launches a task: `TASK_ADDED` (staging), `TASK_UPDATED` starting and running (up to
    /// [`TaskSpec::launch_to`]), then a first health result with a health check. Returns its id.
    pub fn launch_task(&self, spec: TaskSpec) -> Result<String, SimError> {
        self.inner.launch_task(spec)
    }

    /// Launches a pod (one task per container); returns the task ids in container order.
    pub fn launch_pod(&self, spec: PodSpec) -> Result<Vec<String>, SimError> {
        self.inner.launch_pod(spec)
    }

    /// Sends a status update (`TASK_UPDATED`, unless it repeats the state without a health
    /// or check reason, as the master does).
    pub fn update_task(&self, task_id: &str, update: TaskUpdate) -> Result<(), SimError> {
        self.inner.update_task(task_id, update)
    }

    /// Kills a task: `TASK_KILLING` (frameworks with `TASK_KILLING_STATE`), `TASK_KILLED`.
    pub fn kill_task(&self, task_id: &str) -> Result<(), SimError> {
        self.inner.kill_task(task_id)
    }

    /// Sends a health result (same state, `healthy`, reason
    /// `REASON_TASK_HEALTH_CHECK_STATUS_UPDATED`).
    pub fn set_health(&self, task_id: &str, healthy: bool) -> Result<(), SimError> {
        self.inner.set_health(task_id, healthy)
    }

    /// Makes master `leader` lead (`None`: no leader elected): open streams break, followers
    /// redirect to the new leader, ZooKeeper nodes are re-ordered. The state is kept.
    pub async fn set_leader(&self, leader: Option<usize>) -> Result<(), SimError> {
        self.inner.set_leader(leader).await
    }

    /// A master fail-over to `leader`: like [`Simulator::set_leader`], and the new leader knows
    /// only its registry (agents in `recovered_agents`, no frameworks, no tasks) until agents
    /// and frameworks re-register.
    pub async fn fail_over(&self, leader: usize) -> Result<(), SimError> {
        self.inner.fail_over(leader).await
    }

    /// While on, the leader answers 503 "Master has not finished recovery".
    pub fn set_recovering(&self, on: bool) {
        self.inner.masters.set_recovering(on);
    }

    /// Closes every open event stream: cleanly (the chunked body ends), or with `abort` by
    /// breaking the connection.
    pub fn drop_event_streams(&self, abort: bool) {
        self.inner.streams.close_all(abort);
    }

    /// Number of open event streams.
    pub fn event_streams(&self) -> usize {
        self.inner.streams.count()
    }

    /// Waits until at least `n` event streams are open.
    pub async fn wait_for_event_streams(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<(), SimError> {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.event_streams() < n {
            if tokio::time::Instant::now() >= deadline {
                return Err(SimError::Conflict(format!(
                    "timed out waiting for {n} event stream(s), have {}",
                    self.event_streams()
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }

    /// While on, streams send nothing, not even heartbeats (a hung master); what was queued
    /// meanwhile goes out when it ends.
    pub fn set_stalled(&self, on: bool) {
        self.inner.streams.set_stalled(on);
    }

    /// When off, state changes still happen but their events are not sent (lost events).
    pub fn set_event_delivery(&self, on: bool) {
        self.inner.delivery.store(on, Ordering::SeqCst);
    }

    /// Changes what happens to streams whose client falls behind.
    pub fn set_slow_consumer(&self, policy: SlowConsumer) {
        self.inner.set_slow_consumer(policy);
    }

    /// Seeds from a recording (one JSON record per line, e.g. `testdata/mesos/*.json`): a
    /// `SUBSCRIBED` or `GET_STATE` record replaces the state, other records are applied and
    /// sent verbatim. Returns the number of records.
    pub fn seed(&self, recording: &str) -> Result<usize, SimError> {
        self.inner.seed(recording)
    }

    /// Sends one event's JSON text verbatim, applying it first when its type is known.
    pub fn emit_json(&self, json: &str) -> Result<(), SimError> {
        self.inner.emit_json(json)
    }

    /// Sends raw bytes to every open stream, without framing: for malformed or truncated
    /// records, and records split at will.
    pub fn emit_bytes(&self, bytes: impl Into<Bytes>) {
        self.inner.publish_bytes(bytes.into());
    }

    /// The `GetState` snapshot the leader serves now.
    pub fn state(&self) -> GetState {
        self.inner.lock().snapshot()
    }

    /// The `GET_STATE` answer the leader gives now, parsed.
    pub fn state_json(&self) -> serde_json::Value {
        let text = mesos_json(&self.state());
        serde_json::from_str(&text).map_or(
            serde_json::Value::Null,
            |s: serde_json::Value| serde_json::json!({ "type": "GET_STATE", "get_state": s }),
        )
    }

    /// The leader's `/master/state` answer now (`Null` without a leader).
    pub fn master_state_json(&self) -> serde_json::Value {
        let sim = &self.inner;
        let Some(leader) = sim.masters.leader() else {
            return serde_json::Value::Null;
        };
        let c = sim.lock();
        master_state(&c, &sim.cfg, leader, Some(leader), sim.masters.leadership())
    }

    /// The masters' ZooKeeper node names (`json.info_<seq>`), lowest first; empty without
    /// ZooKeeper.
    pub async fn zk_nodes(&self) -> Vec<String> {
        self.inner
            .zk
            .lock()
            .await
            .as_ref()
            .map(ZkMasters::nodes)
            .unwrap_or_default()
    }

    /// Stops serving, closes the ZooKeeper sessions, and waits until the listeners are closed.
    pub async fn shutdown(mut self) {
        self.inner.cancel.cancel();
        if let Some(zk) = self.inner.zk.lock().await.as_mut() {
            zk.close();
        }
        for h in self.servers.drain(..) {
            let _ = h.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.inner.cancel.cancel();
    }
}
