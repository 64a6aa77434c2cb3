//! The compact form in which the zone keeps tasks and apps: only what names and answers
//! are computed from. A `TaskRecord` is ~550 bytes with its strings; a `ZoneTask` about a
//! third of that, and its agent suffix and port names are shared between tasks.

use std::borrow::Cow;
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use registry::{AppRecord, Health, MesosTaskRecord, NetworkMode, Protocol, TaskRecord};

use crate::few::Few;
use crate::{addresses, names};

/// One port of a task, as DNS uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZonePort {
    /// The port's name as an SRV label part (sanitised, at most 62 octets), if any.
    pub name: Option<Arc<str>>,
    /// Served over TCP.
    pub tcp: bool,
    /// Served over UDP.
    pub udp: bool,
    /// The DiscoveryInfo port (host port, else container port).
    pub discovery: Option<u16>,
    /// The host port.
    pub host: Option<u16>,
}

/// Where a task's agent addresses come from when its record does not carry them: the Mesos
/// agent record with this id (Mesos tasks), or with this host name (a Marathon task whose
/// record has no agent IPs).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AgentRef {
    /// The agent with this id.
    Id(Arc<str>),
    /// The agent with this host name.
    Host(Arc<str>),
}

/// A task as the zone keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneTask {
    /// Marathon's task id.
    pub task_id: Box<str>,
    /// Mesos-DNS's hash of the task id (5 zbase32 characters).
    pub hash: [u8; 5],
    /// The canonical-name suffix of the agent (`s3`), empty without an agent id.
    pub agent_suffix: Arc<str>,
    /// The task is running.
    pub running: bool,
    /// The state's Mesos name (`TASK_STAGING`), shared; shown by the status page.
    pub state: Arc<str>,
    /// The agent's host name as the task record gives it (Marathon's `host`), shared;
    /// shown by the status page. Empty when it is the text of the agent's first address
    /// (not kept twice: [`ZoneTask::host`] gives it back) and for a Mesos task (its agent
    /// record has it).
    pub host: Arc<str>,
    /// The health-check verdict.
    pub health: Health,
    /// The task's own addresses, those a client can use ([`registry::addresses::is_usable`]).
    pub task_ips: Few<IpAddr>,
    /// The agent's addresses, those a client can use.
    pub agent_ips: Few<IpAddr>,
    /// The ports.
    pub ports: Few<ZonePort>,
    /// The task has DiscoveryInfo (every Marathon task does): its host ports then have SRV
    /// records only under `.slave.` names (Mesos-DNS §1.3).
    pub discovery_info: bool,
    /// Its ports are its agent's (Marathon bridge or host networking, a Mesos
    /// DiscoveryInfo port labelled `network-scope: host`): its own addresses are then
    /// served only with `--bridge-task-ips`.
    pub agent_ports: bool,
    /// Where `agent_ips` come from when the record does not carry them.
    pub agent: Option<AgentRef>,
}

impl ZoneTask {
    /// The compact form of `record`, sharing strings through `strings`. Addresses no
    /// client can use are left out here, the one place where a record's addresses enter
    /// the zone.
    pub fn new(record: &TaskRecord, strings: &mut Interner) -> Self {
        let suffix = record
            .agent_id
            .as_deref()
            .map(names::agent_suffix)
            .unwrap_or_default();
        let ports = record
            .ports
            .iter()
            .map(|p| ZonePort {
                name: port_label(p.name.as_deref(), strings),
                tcp: p.protocols.contains(&Protocol::Tcp),
                udp: p.protocols.contains(&Protocol::Udp),
                discovery: p.discovery_port(),
                host: p.host_port,
            })
            .collect();
        let (task_ips, dropped_task) = addresses::usable_only(&record.task_ips);
        let (agent_ips, dropped_agent) = addresses::usable_only(&record.agent_ips);
        if dropped_task + dropped_agent > 0 {
            tracing::warn!(
                task = %record.task_id,
                task_ips = ?record.task_ips,
                agent_ips = ?record.agent_ips,
                "a task record holds addresses no client can use; they are not served"
            );
        }
        // Without agent IPs, the Mesos agent of that host name gives them (the index
        // resolves `agent`).
        let agent = (agent_ips.is_empty() && !record.host.is_empty())
            .then(|| AgentRef::Host(strings.get(&record.host)));
        ZoneTask {
            task_id: record.task_id.as_str().into(),
            hash: hash_of(&record.task_id),
            agent_suffix: strings.get(&suffix),
            running: record.state.is_running(),
            state: strings.get(record.state.as_str()),
            host: match record.host.parse::<IpAddr>() {
                Ok(ip) if agent_ips.first() == Some(&ip) => strings.get(""),
                _ => strings.get(&record.host),
            },
            health: record.health,
            task_ips,
            agent_ips,
            ports,
            discovery_info: true,
            agent_ports: false,
            agent,
        }
    }

    /// The compact form of a Mesos task of any framework. Its agent addresses are not in
    /// the record: they come from its agent's record (`agent`), which the index resolves.
    /// DiscoveryInfo ports become SRV ports; the host ports of its resources become
    /// `.slave.` SRV ports (for both protocols, as Mesos-DNS does).
    pub fn from_mesos(record: &MesosTaskRecord, strings: &mut Interner) -> Self {
        let mut ports: Vec<ZonePort> = record
            .ports
            .iter()
            .map(|p| ZonePort {
                name: port_label(p.name.as_deref(), strings),
                tcp: p.protocols.is_empty() || p.protocols.contains(&Protocol::Tcp),
                udp: p.protocols.contains(&Protocol::Udp),
                discovery: Some(p.number),
                host: None,
            })
            .collect();
        ports.extend(record.host_ports.iter().map(|&port| ZonePort {
            name: None,
            tcp: true,
            udp: true,
            discovery: None,
            host: Some(port),
        }));
        let (task_ips, dropped) = addresses::usable_only(&record.task_ips);
        if dropped > 0 {
            tracing::warn!(
                task = %record.task_id,
                task_ips = ?record.task_ips,
                "a Mesos task record holds addresses no client can use; they are not served"
            );
        }
        let agent_ports = record
            .ports
            .iter()
            .any(|p| p.labels.get("network-scope").is_some_and(|s| s == "host"));
        let suffix = record.agent_id.as_deref().map(names::agent_suffix);
        ZoneTask {
            task_id: record.task_id.as_str().into(),
            hash: hash_of(&record.task_id),
            agent_suffix: strings.get(suffix.as_deref().unwrap_or_default()),
            running: record.state.is_running(),
            state: strings.get(record.state.as_str()),
            host: strings.get(""),
            health: record.health,
            task_ips,
            agent_ips: Few::default(),
            ports: ports.into(),
            discovery_info: record.discovery_name.is_some() || !record.ports.is_empty(),
            agent_ports,
            agent: record
                .agent_id
                .as_deref()
                .map(|id| AgentRef::Id(strings.get(id))),
        }
    }

    /// The hash as text.
    pub fn hash_str(&self) -> &str {
        // Always ASCII: built from the zbase32 alphabet.
        std::str::from_utf8(&self.hash).unwrap_or("")
    }

    /// The host name its record gave (empty when it gave none).
    pub fn host(&self) -> Cow<'_, str> {
        match self.agent_ips.first() {
            Some(ip) if self.host.is_empty() && self.agent.is_none() => Cow::Owned(ip.to_string()),
            _ => Cow::Borrowed(&self.host),
        }
    }

    /// Its canonical label under the task name `name`: `T-<hash>-<agent suffix>` (may hold
    /// dots for a legacy `T`).
    pub fn canonical_label(&self, name: &str) -> String {
        names::canonical_from_parts(name, self.hash_str(), &self.agent_suffix)
    }
}

/// Mesos-DNS's hash of a task id, as bytes.
fn hash_of(task_id: &str) -> [u8; 5] {
    let mut hash = [0u8; 5];
    hash.copy_from_slice(&names::task_hash(task_id).as_bytes()[..5]);
    hash
}

/// A port's name as an SRV label part (sanitised, at most 62 octets), shared.
fn port_label(name: Option<&str>, strings: &mut Interner) -> Option<Arc<str>> {
    name.map(|n| names::sanitize_label(n, names::MAX_LABEL - 1))
        .filter(|n| !n.is_empty())
        .map(|n| strings.get(&n))
}

/// What DNS needs of an app record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppFacts {
    /// How its tasks are networked.
    pub networking: NetworkMode,
    /// Whether it defines health checks.
    pub health_checks: bool,
}

impl From<&AppRecord> for AppFacts {
    fn from(app: &AppRecord) -> Self {
        AppFacts {
            networking: app.networking,
            health_checks: app.health_checks,
        }
    }
}

/// Which of a task's addresses its A/AAAA records carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AddrSource {
    /// Its own addresses.
    Task,
    /// Its agent's.
    Agent,
    /// None.
    Nothing,
}

/// A family of names: a task name `T` under a framework label `F` (`web` under
/// `marathon`). Everything a family publishes depends only on the tasks named `T` in
/// frameworks labelled `F`, whichever source (Marathon or Mesos) they come from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Family {
    /// The task name `T` (a label, or a legacy dotted name), shared by the family's copies
    /// (the index's tables, the status page).
    pub name: Arc<str>,
    /// The framework part `F` (may hold dots).
    pub framework: Arc<str>,
}

/// A served task under one family: what a canonical name, a PTR or an SRV target is made
/// from.
#[derive(Clone, Debug)]
pub struct TaskEntry {
    /// The task name `T` and its framework `F`.
    pub family: Arc<Family>,
    /// The task.
    pub task: Arc<ZoneTask>,
    /// Where its A/AAAA addresses come from.
    pub source: AddrSource,
}

impl TaskEntry {
    /// The addresses of the task's A/AAAA records.
    pub fn addresses(&self) -> &[IpAddr] {
        match self.source {
            AddrSource::Task => &self.task.task_ips,
            AddrSource::Agent => &self.task.agent_ips,
            AddrSource::Nothing => &[],
        }
    }

    /// The canonical label `T-<hash>-<agent suffix>` (may hold dots for a legacy `T`).
    pub fn canonical_label(&self) -> String {
        self.task.canonical_label(&self.family.name)
    }

    /// The canonical name relative to the domain, `C.F`: what the snapshot finds the
    /// task by.
    pub fn canonical_relative(&self) -> String {
        format!("{}.{}", self.canonical_label(), self.family.framework)
    }

    /// The fields that make its canonical name: SRV values with equal keys have one target.
    pub(crate) fn name_key(&self) -> (&Family, &[u8; 5], &str) {
        (&self.family, &self.task.hash, &self.task.agent_suffix)
    }
}

/// Shared copies of small strings that many tasks repeat (agent suffixes, port names).
#[derive(Debug, Default)]
pub struct Interner {
    strings: HashSet<Arc<str>>,
    /// Size after the last sweep: the next sweep waits until the set has doubled.
    swept_at: usize,
}

impl Interner {
    /// The shared copy of `s`.
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(shared) = self.strings.get(s) {
            return shared.clone();
        }
        if self.strings.len() >= 2 * self.swept_at.max(1024) {
            // Forget strings no task uses any more (agents come and go over months).
            self.strings.retain(|s| Arc::strong_count(s) > 1);
            self.swept_at = self.strings.len();
        }
        let shared: Arc<str> = Arc::from(s);
        self.strings.insert(shared.clone());
        shared
    }
}

#[cfg(test)]
mod tests {
    use registry::TaskPort;
    use registry::harness::records;

    use super::*;

    fn record(id: &str, agent: &str) -> TaskRecord {
        records::task("/web", id, "10.0.0.5")
            .agent_id(agent)
            .ports(vec![TaskPort {
                protocols: vec![Protocol::Tcp, Protocol::Udp],
                service_port: Some(10000),
                ..records::port("Http_Main", Some(80), None)
            }])
            .health(Health::Healthy)
            .build()
    }

    #[test]
    fn compact_tasks_keep_what_names_need_and_share_strings() {
        let mut strings = Interner::default();
        let a = ZoneTask::new(&record("web.1", "x-S3"), &mut strings);
        let b = ZoneTask::new(&record("web.2", "y-S3"), &mut strings);
        assert_eq!(a.hash_str(), names::task_hash("web.1"));
        assert_eq!(&*a.agent_suffix, "s3");
        assert!(Arc::ptr_eq(&a.agent_suffix, &b.agent_suffix));
        let port = &a.ports[0];
        assert_eq!(port.name.as_deref(), Some("http-main"));
        assert!(port.tcp && port.udp);
        assert_eq!((port.discovery, port.host), (Some(80), None));
        assert!(a.running);
        let entry = TaskEntry {
            family: Arc::new(Family {
                name: "web".into(),
                framework: "marathon".into(),
            }),
            task: Arc::new(a),
            source: AddrSource::Agent,
        };
        assert_eq!(
            entry.canonical_label(),
            names::canonical_label("web", "web.1", Some("x-S3"))
        );
        assert_eq!(entry.addresses().len(), 1);
    }

    #[test]
    fn addresses_no_client_can_use_are_dropped() {
        let mut with_bad = record("web.1", "x-S3");
        with_bad.agent_ips = ["0.0.0.0", "10.0.0.5", "255.255.255.255"]
            .map(|ip| ip.parse().unwrap())
            .into();
        with_bad.task_ips = ["ff02::1", "fd00::7", "::ffff:10.0.0.6"]
            .map(|ip| ip.parse().unwrap())
            .into();
        let task = ZoneTask::new(&with_bad, &mut Interner::default());
        assert_eq!(&*task.agent_ips, &["10.0.0.5".parse::<IpAddr>().unwrap()]);
        assert_eq!(&*task.task_ips, &["fd00::7".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn unused_strings_are_swept() {
        let mut strings = Interner::default();
        let kept = strings.get("kept");
        for i in 0..5000 {
            strings.get(&format!("agent-{i}"));
        }
        assert!(strings.strings.len() < 2100, "{}", strings.strings.len());
        assert!(Arc::ptr_eq(&kept, &strings.get("kept")));
    }
}
