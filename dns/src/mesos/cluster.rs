//! The Mesos cluster as the registry describes it: the leader, the masters, the agents and
//! the frameworks, with the lookups the zone needs (an agent's addresses by id or host
//! name, a framework's label and address). Pure: no I/O, and no name is ever resolved
//! through DNS.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use registry::addresses::is_usable;
use registry::{AgentRecord, FrameworkRecord, LeaderRecord, MasterRecord, MesosChange};

use crate::few::Few;
use crate::names;
use crate::task::AgentRef;

/// What the zone knows of the Mesos cluster.
#[derive(Debug, Default)]
pub struct Cluster {
    /// The last leader the registry named.
    pub leader: Option<LeaderRecord>,
    /// Masters by id.
    pub masters: BTreeMap<String, MasterRecord>,
    /// Agents by id.
    pub agents: BTreeMap<String, AgentRecord>,
    /// Agent ids by host name.
    hosts: HashMap<String, BTreeSet<String>>,
    /// Frameworks by id.
    pub frameworks: BTreeMap<String, FrameworkRecord>,
    /// The framework names tasks carry, by framework id (for tasks whose framework record
    /// is not known).
    task_framework_names: HashMap<Arc<str>, String>,
}

/// What a change did to the cluster.
#[derive(Debug, Default)]
pub struct Effect {
    /// The infrastructure names may have changed.
    pub infrastructure: bool,
    /// Tasks borrowing these agents' addresses must be looked at again.
    pub agents: Vec<AgentRef>,
    /// The framework whose name may have changed.
    pub framework: Option<Arc<str>>,
}

/// A usable address, from an IP or a host name that is an IP literal.
fn usable(ip: Option<IpAddr>, hostname: Option<&str>) -> Option<IpAddr> {
    ip.or_else(|| hostname?.parse().ok())
        .filter(|ip| is_usable(*ip))
}

impl Cluster {
    /// Applies a change that is not a task's; `None` for task changes.
    pub fn apply(&mut self, change: MesosChange) -> Option<Effect> {
        let mut effect = Effect {
            infrastructure: true,
            ..Effect::default()
        };
        match change {
            MesosChange::Leader(leader) => self.leader = Some(leader),
            MesosChange::LeaderRemoved => self.leader = None,
            MesosChange::Master(master) => {
                self.masters.insert(master.master_id.clone(), master);
            }
            MesosChange::MasterRemoved { master_id } => {
                self.masters.remove(&master_id);
            }
            MesosChange::Agent(agent) => {
                effect.agents = self.remove_agent(&agent.agent_id);
                effect
                    .agents
                    .push(AgentRef::Host(agent.hostname.as_str().into()));
                self.hosts
                    .entry(agent.hostname.clone())
                    .or_default()
                    .insert(agent.agent_id.clone());
                self.agents.insert(agent.agent_id.clone(), agent);
            }
            MesosChange::AgentRemoved { agent_id } => effect.agents = self.remove_agent(&agent_id),
            MesosChange::Framework(framework) => {
                effect.framework = Some(framework.framework_id.as_str().into());
                self.frameworks
                    .insert(framework.framework_id.clone(), framework);
            }
            MesosChange::FrameworkRemoved { framework_id } => {
                // Its tasks go by their own removals; what they carried goes now (a
                // short-lived framework, a Spark driver, must not leave anything behind).
                self.frameworks.remove(&framework_id);
                self.task_framework_names.remove(framework_id.as_str());
                effect.framework = Some(framework_id.into());
            }
            MesosChange::Task(_) | MesosChange::TaskRemoved { .. } => return None,
        }
        Some(effect)
    }

    /// Forgets an agent; returns the references whose addresses that changes.
    fn remove_agent(&mut self, agent_id: &str) -> Vec<AgentRef> {
        let mut refs = vec![AgentRef::Id(agent_id.into())];
        if let Some(old) = self.agents.remove(agent_id) {
            if let Some(ids) = self.hosts.get_mut(&old.hostname) {
                ids.remove(agent_id);
                if ids.is_empty() {
                    self.hosts.remove(&old.hostname);
                }
            }
            refs.push(AgentRef::Host(old.hostname.as_str().into()));
        }
        refs
    }

    /// Notes the framework name a task carries; true when that changes the framework's
    /// label (its tasks move to other names).
    pub fn note_task_framework(&mut self, framework_id: &Arc<str>, name: Option<&str>) -> bool {
        let Some(name) = name else { return false };
        if self
            .task_framework_names
            .get(framework_id)
            .map(String::as_str)
            == Some(name)
        {
            return false;
        }
        let before = self.framework_label(framework_id);
        self.task_framework_names
            .insert(framework_id.clone(), name.to_string());
        before != self.framework_label(framework_id)
    }

    /// The label `F` of a framework's names: its record's name, else the name its tasks
    /// carry, through Mesos-DNS's `DomainFrag` (`marathon.prod` stays two labels). `None`
    /// while neither is known or when nothing of the name is left.
    pub fn framework_label(&self, framework_id: &str) -> Option<String> {
        let name = match self.frameworks.get(framework_id) {
            Some(framework) => &framework.name,
            None => self.task_framework_names.get(framework_id)?,
        };
        Some(names::domain_frag(name)).filter(|label| !label.is_empty())
    }

    /// The addresses a task borrows from its agent: the agent with that id, or every agent
    /// with that host name.
    pub fn agent_ips(&self, agent: &AgentRef) -> Few<IpAddr> {
        let ip = |id: &str| {
            let agent = self.agents.get(id)?;
            usable(agent.ip, Some(&agent.hostname))
        };
        let mut out: Vec<IpAddr> = match agent {
            AgentRef::Id(id) => ip(id).into_iter().collect(),
            AgentRef::Host(host) => self
                .hosts
                .get(&**host)
                .into_iter()
                .flatten()
                .filter_map(|id| ip(id))
                .collect(),
        };
        out.dedup();
        out.into()
    }

    /// An agent's address (its PID IP, else its host name when that is an IP).
    pub fn agent_address(agent: &AgentRecord) -> Option<IpAddr> {
        usable(agent.ip, Some(&agent.hostname))
    }

    /// The leader's address and port: its record's IP (or host name when an IP), else its
    /// master record's.
    pub fn leader_address(&self) -> Option<(IpAddr, Option<u16>)> {
        let leader = self.leader.as_ref()?;
        let master = self.masters.get(&leader.master_id);
        let ip = usable(leader.ip, leader.hostname.as_deref())
            .or_else(|| master.and_then(Self::master_address))?;
        Some((ip, leader.port.or(master.and_then(|m| m.port))))
    }

    /// A master's address.
    pub fn master_address(master: &MasterRecord) -> Option<IpAddr> {
        usable(master.ip, master.hostname.as_deref())
    }

    /// A framework's address, without any DNS lookup: its scheduler PID's IP, else its
    /// host name when that is an IP, else the address of the agent or master with that
    /// host name.
    pub fn framework_address(&self, framework: &FrameworkRecord) -> Option<IpAddr> {
        if let Some(ip) = usable(framework.ip, framework.hostname.as_deref()) {
            return Some(ip);
        }
        let host = framework.hostname.as_deref()?;
        let agent = self.hosts.get(host).into_iter().flatten();
        let agent = agent.filter_map(|id| self.agents.get(id).and_then(Self::agent_address));
        let master = self
            .masters
            .values()
            .filter(|m| m.hostname.as_deref() == Some(host));
        let master = master.filter_map(Self::master_address);
        agent.chain(master).next()
    }

    /// Every task-free record's key, for a full reload (what is not listed again goes).
    pub fn removals(&self) -> Vec<MesosChange> {
        let masters = self.masters.keys().map(|id| MesosChange::MasterRemoved {
            master_id: id.clone(),
        });
        let agents = self.agents.keys().map(|id| MesosChange::AgentRemoved {
            agent_id: id.clone(),
        });
        let frameworks = self
            .frameworks
            .keys()
            .map(|id| MesosChange::FrameworkRemoved {
                framework_id: id.clone(),
            });
        let leader = self.leader.as_ref().map(|_| MesosChange::LeaderRemoved);
        leader
            .into_iter()
            .chain(masters)
            .chain(agents)
            .chain(frameworks)
            .collect()
    }
}
