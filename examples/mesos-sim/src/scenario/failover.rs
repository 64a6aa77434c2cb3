//! Leadership and its consequences (spec §5, §6, §15, §16.5): a leader change breaks the old
//! leader's streams and moves the ZooKeeper order; a fail-over also makes the new leader start
//! from its registry (agents recovered, no frameworks or tasks) until agents and frameworks
//! re-register; an unreachable agent only changes its tasks' states.

use crate::SimError;
use crate::model::AgentStatus;
use crate::proto::{Event, TaskState};
use crate::shared::Shared;

impl Shared {
    /// Makes master `leader` lead (`None`: no leader elected). Open streams break, as when the
    /// old leader's process aborts; with ZooKeeper the nodes are re-ordered so the new
    /// leader's is lowest. A no-op when `leader` already leads.
    pub(crate) async fn set_leader(&self, leader: Option<usize>) -> Result<(), SimError> {
        if let Some(l) = leader
            && l >= self.masters.list.len()
        {
            return Err(SimError::NotFound(format!("no master {l}")));
        }
        if self.masters.leadership().leader == leader {
            return Ok(());
        }
        self.change_leader(leader, false);
        let mut zk = self.zk.lock().await;
        if let Some(zk) = zk.as_mut() {
            zk.make_leader(leader, &self.masters.list).await?;
        }
        Ok(())
    }

    /// A master fail-over to `leader`: like [`Shared::set_leader`], and the new leader knows
    /// only its registry: every agent is `recovered_agents`, no framework, no task.
    pub(crate) async fn fail_over(&self, leader: usize) -> Result<(), SimError> {
        if leader >= self.masters.list.len() {
            return Err(SimError::NotFound(format!("no master {leader}")));
        }
        self.change_leader(Some(leader), true);
        let mut zk = self.zk.lock().await;
        if let Some(zk) = zk.as_mut() {
            zk.make_leader(Some(leader), &self.masters.list).await?;
        }
        Ok(())
    }

    /// An agent re-registers (after a fail-over or a partition): `FRAMEWORK_ADDED`
    /// (`recovered: true`, inactive) for each of its tasks' frameworks the leader does not
    /// know, `TASK_ADDED` for each of its tasks (in the state the agent reports), then
    /// `AGENT_ADDED` last.
    pub(crate) fn reregister_agent(&self, id: &str) -> Result<(), SimError> {
        let mut c = self.lock();
        let entry = c
            .agent(id)
            .cloned()
            .ok_or_else(|| SimError::NotFound(format!("no agent {id}")))?;
        if entry.status == AgentStatus::Registered {
            return Err(SimError::Conflict(format!("agent {id} is registered")));
        }
        let mut events = Vec::new();
        let tasks: Vec<_> = c
            .tasks
            .values()
            .filter(|t| t.agent_id.value == id)
            .cloned()
            .collect();
        let mut recovered: Vec<String> = Vec::new();
        for t in &tasks {
            let fid = &t.framework_id.value;
            if let Some(f) = c.framework(fid)
                && !f.known
                && !recovered.contains(fid)
            {
                let mut fw = f.framework.clone();
                fw.active = false;
                fw.connected = false;
                fw.recovered = true;
                recovered.push(fid.clone());
                events.push(Event::FrameworkAdded(fw));
            }
        }
        for mut t in tasks {
            // The agent never saw TASK_UNREACHABLE: it reports its own latest state.
            t.statuses.retain(|s| s.state != TaskState::Unreachable);
            t.state = t.statuses.last().map_or(TaskState::Running, |s| s.state);
            events.push(Event::TaskAdded(t));
        }
        let mut agent = entry.agent;
        agent.active = true;
        agent.reregistered_time = Some(self.clock.time_info());
        events.push(Event::AgentAdded(agent));
        self.commit(&mut c, events)
    }

    /// A framework re-registers with the leader: `FRAMEWORK_UPDATED` (active, connected, not
    /// recovered).
    pub(crate) fn reregister_framework(&self, id: &str) -> Result<(), SimError> {
        let mut c = self.lock();
        let mut f = c
            .framework(id)
            .map(|e| e.framework.clone())
            .ok_or_else(|| SimError::NotFound(format!("no framework {id}")))?;
        f.active = true;
        f.connected = true;
        f.recovered = false;
        f.reregistered_time = Some(self.clock.time_info());
        self.commit(&mut c, vec![Event::FrameworkUpdated(f)])
    }

    /// An agent stops answering pings: no agent event; each of its tasks goes
    /// `TASK_UNREACHABLE` (partition-aware frameworks) or `TASK_LOST` (others), reason
    /// `REASON_SLAVE_REMOVED`; the agent disappears from snapshots.
    pub(crate) fn mark_agent_unreachable(&self, id: &str) -> Result<(), SimError> {
        let mut c = self.lock();
        match c.agent(id) {
            None => return Err(SimError::NotFound(format!("no agent {id}"))),
            Some(a) if a.status != AgentStatus::Registered => {
                return Err(SimError::Conflict(format!("agent {id} is not registered")));
            }
            Some(_) => {}
        }
        let keys: Vec<_> = c
            .tasks
            .values()
            .filter(|t| t.agent_id.value == id)
            .map(|t| t.key())
            .collect();
        let mut events = Vec::new();
        for key in keys {
            let aware = c
                .framework(&key.0)
                .is_some_and(|f| f.framework.framework_info.has_capability("PARTITION_AWARE"));
            let state = if aware {
                TaskState::Unreachable
            } else {
                TaskState::Lost
            };
            events.push(self.master_update(&c, &key, state, "REASON_SLAVE_REMOVED")?);
        }
        if let Some(a) = c.agents.iter_mut().find(|a| a.agent.id() == id) {
            a.status = AgentStatus::Unreachable;
        }
        self.commit(&mut c, events)
    }
}
