//! The scenario steps and the events each one publishes (spec §6). This module: agents and
//! frameworks; `tasks`: launch, update, kill, health; `pods`: task groups; `failover`:
//! leadership, master fail-over, unreachable agents.

mod failover;
mod pods;
mod tasks;

pub use self::tasks::TaskUpdate;

use std::sync::atomic::Ordering;

use crate::model::Cluster;
use crate::proto::{
    Agent, AgentInfo, Event, Framework, FrameworkInfo, Id, Labels, Range, Resource, TaskState, raw,
};
use crate::shared::Shared;
use crate::spec::{AgentSpec, FrameworkSpec};
use crate::{SimError, build};

/// Changes to a registered framework ([`crate::Simulator::update_framework`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct FrameworkUpdate {
    /// New `active`.
    pub active: Option<bool>,
    /// New `connected`.
    pub connected: Option<bool>,
    /// New scheduler host.
    pub hostname: Option<String>,
    /// New web UI.
    pub webui_url: Option<String>,
}

/// An agent's resources: its port ranges, disk, cpus, mem.
fn agent_resources(spec: &AgentSpec) -> Vec<Resource> {
    let ranges = spec
        .port_ranges
        .iter()
        .map(|(b, e)| Range { begin: *b, end: *e })
        .collect();
    vec![
        Resource::ranges("ports", ranges),
        Resource::scalar("disk", spec.disk),
        Resource::scalar("cpus", spec.cpus),
        Resource::scalar("mem", spec.mem),
    ]
}

impl Shared {
    /// The id of the first known framework named `marathon`, or of `id`.
    pub(crate) fn framework_for(
        &self,
        cluster: &Cluster,
        id: Option<&str>,
    ) -> Result<String, SimError> {
        match id {
            Some(id) => match cluster.framework(id) {
                Some(f) if f.known => Ok(id.to_string()),
                Some(_) => Err(SimError::Conflict(format!(
                    "framework {id} is not registered with the leader"
                ))),
                None => Err(SimError::NotFound(format!("no framework {id}"))),
            },
            None => cluster
                .frameworks
                .iter()
                .find(|f| f.known && f.framework.framework_info.name == "marathon")
                .map(|f| f.framework.framework_info.id().to_string())
                .ok_or_else(|| SimError::NotFound("no marathon framework registered".into())),
        }
    }

    /// Registers an agent: `AGENT_ADDED`. Returns its id.
    pub(crate) fn add_agent(&self, spec: AgentSpec) -> Result<String, SimError> {
        let mut c = self.lock();
        let n = self.next_agent.fetch_add(1, Ordering::SeqCst);
        let id = spec
            .id
            .clone()
            .unwrap_or_else(|| format!("{}-S{n}", self.cluster_id));
        if c.agent(&id).is_some() {
            return Err(SimError::Conflict(format!("agent {id} exists")));
        }
        let ip = spec.ip.clone().unwrap_or_else(|| spec.hostname.clone());
        let pid_host = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip
        };
        let resources = agent_resources(&spec);
        let mut total = resources.clone();
        for r in &mut total {
            r.role = Some("*".to_string());
        }
        let now = self.clock.time_info();
        let agent = Agent {
            agent_info: AgentInfo {
                hostname: spec.hostname.clone(),
                port: Some(u32::from(spec.port)),
                resources,
                attributes: None,
                id: Some(Id::new(&id)),
                domain: None,
            },
            active: true,
            deactivated: Some(false),
            version: self.cfg.version.clone(),
            pid: Some(format!("slave(1)@{pid_host}:{}", spec.port)),
            registered_time: Some(now),
            reregistered_time: Some(now),
            total_resources: total,
            allocated_resources: None,
            offered_resources: None,
            capabilities: Some(raw(&serde_json::json!([
                {"type": "MULTI_ROLE"}, {"type": "HIERARCHICAL_ROLE"}, {"type": "RESERVATION_REFINEMENT"}
            ]))),
            resource_providers: None,
            drain_info: None,
            estimated_drain_end_time: None,
        };
        self.commit(&mut c, vec![Event::AgentAdded(agent)])?;
        Ok(id)
    }

    /// Removes an agent (it unregistered, or its machine went down for maintenance): each of
    /// its tasks `TASK_LOST` (`SOURCE_MASTER`, `REASON_SLAVE_REMOVED`), then `AGENT_REMOVED`.
    pub(crate) fn remove_agent(&self, id: &str) -> Result<(), SimError> {
        let mut c = self.lock();
        if c.agent(id).is_none() {
            return Err(SimError::NotFound(format!("no agent {id}")));
        }
        let tasks: Vec<_> = c
            .tasks
            .values()
            .filter(|t| t.agent_id.value == id)
            .map(|t| t.key())
            .collect();
        let mut events = Vec::new();
        for key in tasks {
            events.push(self.master_update(&c, &key, TaskState::Lost, "REASON_SLAVE_REMOVED")?);
        }
        events.push(Event::AgentRemoved(Id::new(id)));
        self.commit(&mut c, events)
    }

    /// Registers a framework: `FRAMEWORK_ADDED`. Returns its id.
    pub(crate) fn add_framework(&self, spec: FrameworkSpec) -> Result<String, SimError> {
        let mut c = self.lock();
        let n = self.next_framework.fetch_add(1, Ordering::SeqCst);
        let id = spec
            .id
            .clone()
            .unwrap_or_else(|| format!("{}-{n:04}", self.cluster_id));
        if c.framework(&id).is_some() {
            return Err(SimError::Conflict(format!("framework {id} exists")));
        }
        let caps: Vec<_> = spec
            .capabilities
            .iter()
            .map(|c| serde_json::json!({ "type": c }))
            .collect();
        let now = self.clock.time_info();
        let framework = Framework {
            framework_info: FrameworkInfo {
                user: spec.user.clone(),
                name: spec.name.clone(),
                id: Some(Id::new(&id)),
                failover_timeout: Some(spec.failover_timeout),
                checkpoint: Some(true),
                role: spec.role.clone(),
                roles: None,
                hostname: spec.hostname.clone(),
                principal: spec.principal.clone(),
                webui_url: spec.webui_url.clone(),
                capabilities: (!caps.is_empty()).then(|| raw(&caps)),
                labels: None,
                offer_filters: None,
            },
            active: true,
            connected: true,
            recovered: false,
            registered_time: Some(now),
            reregistered_time: Some(now),
            unregistered_time: None,
            offers: None,
            inverse_offers: None,
            allocated_resources: None,
            offered_resources: None,
        };
        self.commit(&mut c, vec![Event::FrameworkAdded(framework)])?;
        if let Some(entry) = c.framework_mut(&id) {
            entry.pid = spec.pid;
        }
        Ok(id)
    }

    /// Changes a framework: `FRAMEWORK_UPDATED`.
    pub(crate) fn update_framework(&self, id: &str, u: FrameworkUpdate) -> Result<(), SimError> {
        let mut c = self.lock();
        let entry = c
            .framework(id)
            .filter(|f| f.known)
            .ok_or_else(|| SimError::NotFound(format!("no framework {id} registered")))?;
        let mut f = entry.framework.clone();
        if let Some(a) = u.active {
            f.active = a;
        }
        if let Some(con) = u.connected {
            f.connected = con;
        }
        if u.hostname.is_some() {
            f.framework_info.hostname = u.hostname;
        }
        if u.webui_url.is_some() {
            f.framework_info.webui_url = u.webui_url;
        }
        f.reregistered_time = Some(self.clock.time_info());
        self.commit(&mut c, vec![Event::FrameworkUpdated(f)])
    }

    /// Tears a framework down: each of its tasks `TASK_KILLED` (`SOURCE_MASTER`,
    /// `REASON_FRAMEWORK_REMOVED`), then `FRAMEWORK_REMOVED`.
    pub(crate) fn remove_framework(&self, id: &str) -> Result<(), SimError> {
        let mut c = self.lock();
        let info = c
            .framework(id)
            .map(|f| f.framework.framework_info.clone())
            .ok_or_else(|| SimError::NotFound(format!("no framework {id}")))?;
        let tasks: Vec<_> = c
            .tasks
            .values()
            .filter(|t| t.framework_id.value == id)
            .map(|t| t.key())
            .collect();
        let mut events = Vec::new();
        for key in tasks {
            events.push(self.master_update(
                &c,
                &key,
                TaskState::Killed,
                "REASON_FRAMEWORK_REMOVED",
            )?);
        }
        events.push(Event::FrameworkRemoved(info));
        self.commit(&mut c, events)
    }

    /// A `TASK_UPDATED` the master itself generates (`SOURCE_MASTER`, no container status).
    pub(crate) fn master_update(
        &self,
        c: &Cluster,
        key: &(String, String),
        state: TaskState,
        reason: &str,
    ) -> Result<Event, SimError> {
        let task = c
            .tasks
            .get(key)
            .ok_or_else(|| SimError::NotFound(format!("no task {}", key.1)))?;
        let status = build::status(build::StatusArgs {
            task_id: &key.1,
            agent_id: &task.agent_id.value,
            executor_id: task.executor_id.as_ref().map(|e| e.value.as_str()),
            state,
            source: "SOURCE_MASTER",
            reason: Some(reason),
            message: None,
            healthy: None,
            container_status: None,
            timestamp: self.clock.seconds(),
        });
        Ok(Event::TaskUpdated {
            framework_id: Id::new(&key.0),
            status,
            state,
        })
    }
}

/// Labels from pairs, `None` when there are none.
pub(crate) fn labels(pairs: &[(String, String)]) -> Option<Labels> {
    (!pairs.is_empty()).then(|| Labels::from_pairs(pairs.iter().cloned()))
}
