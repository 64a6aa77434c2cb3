//! What a served task puts in the zone, by the naming settings ([`Naming`]): whether it is
//! served at all (running, and healthy where health is checked), which of its addresses
//! its names carry (`--ip-sources`), its canonical names, and the (name, value) pairs it
//! adds to its app's shared names (section 9 of the Mesos-DNS notes). Pure.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::rr::{LowerName, Name};
use registry::{Health, NetworkMode};

use crate::shared_names::Shared;
use crate::task::{AddrSource, AppFacts, TaskEntry, ZoneTask};
pub use crate::values::{HostTarget, SrvTarget, SrvValue, Value};

/// Where a task's A/AAAA addresses come from, tried in order (Mesos-DNS `IPSources`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IpSource {
    /// The task's own network addresses (Marathon `ipAddresses`; Mesos `NetworkInfo`).
    Netinfo,
    /// Same data as `netinfo` (the Mesos containerizer label), kept for config compatibility.
    Mesos,
    /// Same data as `netinfo` (the Docker label), kept for config compatibility.
    Docker,
    /// The agent's address.
    Host,
}

/// The naming settings every generated name depends on.
#[derive(Clone, Debug)]
pub struct Naming {
    /// The zone apex, e.g. `mesos.` (lower-case, fully qualified).
    pub domain: Name,
    /// The framework part, e.g. `marathon` (may hold dots).
    pub framework: String,
    /// Address sources in order; the first that yields addresses wins.
    pub ip_sources: Vec<IpSource>,
    /// Also serve the legacy dotted names (`web.prod.marathon.mesos`).
    pub legacy_names: bool,
    /// Leave out tasks known to be unhealthy when their app has health checks.
    pub health_aware: bool,
    /// Serve Docker bridge containers' own addresses (Mesos-DNS does). They exist only on
    /// their agent (every agent has a `172.17.0.2`), so by default a bridge-mode task is
    /// served at its agent's address, where its host ports are.
    pub bridge_task_ips: bool,
}

impl Default for Naming {
    /// Mesos-DNS's defaults: `marathon.mesos`, task addresses before agent addresses.
    fn default() -> Self {
        Naming {
            domain: Name::from_ascii("mesos.").unwrap_or_else(|_| Name::root()),
            framework: "marathon".into(),
            ip_sources: vec![IpSource::Netinfo, IpSource::Mesos, IpSource::Host],
            legacy_names: false,
            health_aware: true,
            bridge_task_ips: false,
        }
    }
}

impl Naming {
    /// True when the task should be in the answers.
    pub fn serves(&self, task: &ZoneTask, app: Option<&AppFacts>) -> bool {
        if !task.running {
            return false;
        }
        let checked = app.is_none_or(|a| a.health_checks);
        !(self.health_aware && checked && task.health == Health::Unhealthy)
    }

    /// Where the task's A/AAAA addresses come from, by IP source: the first source that
    /// has any. A bridge-mode task's own addresses are skipped unless `bridge_task_ips`.
    pub fn address_source(&self, task: &ZoneTask, app: Option<&AppFacts>) -> AddrSource {
        let bridged = task.agent_ports || app.is_some_and(|a| a.networking == NetworkMode::Bridge);
        for source in &self.ip_sources {
            let (kind, ips) = match source {
                IpSource::Netinfo | IpSource::Mesos | IpSource::Docker
                    if bridged && !self.bridge_task_ips =>
                {
                    continue;
                }
                IpSource::Netinfo | IpSource::Mesos | IpSource::Docker => {
                    (AddrSource::Task, &task.task_ips)
                }
                IpSource::Host => (AddrSource::Agent, &task.agent_ips),
            };
            if !ips.is_empty() {
                return kind;
            }
        }
        AddrSource::Nothing
    }

    /// The task names a Marathon app is published under: its label, and the legacy dotted
    /// name when enabled.
    pub fn task_names(&self, app_id: &registry::AppId) -> Vec<String> {
        let group = crate::groups::Group::App(app_id.clone());
        let framework: Arc<str> = self.framework.as_str().into();
        let families = group.families(&framework, self.legacy_names);
        families.into_iter().map(|f| f.name.to_string()).collect()
    }

    /// `<label>.<framework>.<domain>.` for Marathon's framework (or with `.slave.` before
    /// the domain).
    pub fn name(&self, label: &str, slave: bool) -> Option<Name> {
        self.name_in(label, &self.framework, slave)
    }

    /// `<label>.<framework>.<domain>.` (or with `.slave.` before the domain).
    pub fn name_in(&self, label: &str, framework: &str, slave: bool) -> Option<Name> {
        let mid = if slave { ".slave." } else { "." };
        self.absolute(&format!("{label}.{framework}{mid}"))
    }

    /// `<relative><domain>.`, where `relative` is empty or ends in a dot; `None` when it
    /// cannot be a DNS name.
    pub fn absolute(&self, relative: &str) -> Option<Name> {
        let name = Name::from_ascii(format!("{relative}{}", self.domain)).ok()?;
        name.is_fqdn().then_some(name)
    }

    /// The canonical name of a served task (plain or `.slave.`), `None` when it cannot be a
    /// DNS name.
    pub fn canonical_name(&self, entry: &TaskEntry, slave: bool) -> Option<Name> {
        self.name_in(&entry.canonical_label(), &entry.family.framework, slave)
    }

    /// The (name, value) pairs a served task adds to its family's shared names: `T` and
    /// `T.slave` addresses, and the SRV names (those whose target has addresses): what
    /// `/v1/enumerate` and `/v1/axfr` list. Which task holds what at which name is decided
    /// in one place, [`crate::shared_names::Shared`], which queries read one name at a time.
    pub fn family_values(&self, entry: &Arc<TaskEntry>) -> Vec<(LowerName, Value)> {
        let mut out = Vec::new();
        if self.canonical_name(entry, false).is_none() || self.canonical_name(entry, true).is_none()
        {
            return out;
        }
        let mut kinds = BTreeSet::new();
        Shared::of(entry, &mut kinds);
        let mut values = Vec::new();
        for kind in kinds {
            let (label, slave) = kind.label(&entry.family);
            let Some(name) = self.name_in(&label, &entry.family.framework, slave) else {
                continue;
            };
            let name = LowerName::new(&name);
            values.clear();
            kind.values(entry, &mut values);
            out.extend(values.drain(..).map(|value| (name.clone(), value)));
        }
        out
    }

    /// The canonical-name records of a served task (A/AAAA at its plain and `.slave.`
    /// names), as `/v1/enumerate` lists them.
    pub fn canonical_values(&self, entry: &TaskEntry) -> Vec<(Name, IpAddr)> {
        let mut out = Vec::new();
        if let Some(name) = self.canonical_name(entry, false) {
            out.extend(entry.addresses().iter().map(|ip| (name.clone(), *ip)));
        }
        if let Some(name) = self.canonical_name(entry, true) {
            out.extend(entry.task.agent_ips.iter().map(|ip| (name.clone(), *ip)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use registry::TaskRecord;
    use registry::harness::records;

    use super::*;
    use crate::task::{Family, Interner};

    fn naming(bridge_task_ips: bool) -> Naming {
        Naming {
            bridge_task_ips,
            ..Naming::default()
        }
    }

    fn record() -> TaskRecord {
        records::task("/web", "web.1", "10.0.0.5")
            .agent_id("x-S1")
            .task_ips(&["172.17.0.2"])
            .build()
    }

    fn task() -> ZoneTask {
        ZoneTask::new(&record(), &mut Interner::default())
    }

    fn ips(text: &[&str]) -> Vec<IpAddr> {
        text.iter().map(|t| t.parse().unwrap()).collect()
    }

    /// The values `record` publishes as a served task of family `web`, as text.
    fn published(record: &TaskRecord) -> Vec<(String, String)> {
        let naming = Naming::default();
        let task = ZoneTask::new(record, &mut Interner::default());
        let entry = Arc::new(TaskEntry {
            family: Arc::new(Family {
                name: "web".into(),
                framework: "marathon".into(),
            }),
            source: naming.address_source(&task, None),
            task: Arc::new(task),
        });
        let mut out: Vec<(String, String)> = naming
            .family_values(&entry)
            .into_iter()
            .map(|(name, value)| {
                let value = match value {
                    Value::Addr(ip) => ip.to_string(),
                    Value::Srv(SrvValue {
                        port,
                        target: SrvTarget::Task { slave, .. },
                    }) => format!("{port} slave={slave}"),
                    Value::Srv(_) => unreachable!("tasks point at tasks"),
                };
                (name.to_string(), value)
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn unusable_addresses_are_never_served() {
        let mut record = record();
        record.task_ips = ips(&["0.0.0.0", "ff02::1", "::ffff:10.0.0.9"]);
        record.agent_ips = ips(&["255.255.255.255", "10.0.0.5", "224.0.0.251", "::"]);
        record.ports = vec![registry::TaskPort {
            name: None,
            protocols: vec![registry::Protocol::Tcp],
            container_port: None,
            host_port: Some(31000),
            service_port: None,
        }];
        // No usable task address: the next IP source (the agent's) is served instead.
        let pair = |name: &str, value: &str| (name.to_string(), value.to_string());
        assert_eq!(
            published(&record),
            vec![
                pair("_web._tcp.marathon.mesos.", "31000 slave=false"),
                pair("_web._tcp.marathon.slave.mesos.", "31000 slave=true"),
                pair("_web._udp.marathon.slave.mesos.", "31000 slave=true"),
                pair("web.marathon.mesos.", "10.0.0.5"),
                pair("web.marathon.slave.mesos.", "10.0.0.5"),
            ]
        );
        // Nothing usable at all: no address, and no SRV record pointing at a target
        // without one.
        record.agent_ips = ips(&["0.0.0.0", "ff02::2"]);
        assert_eq!(published(&record), vec![]);
        // Usable task addresses but no usable agent address: no `.slave` names.
        record.task_ips = ips(&["10.1.0.7", "0.0.0.0"]);
        assert_eq!(
            published(&record),
            vec![
                pair("_web._tcp.marathon.mesos.", "31000 slave=false"),
                pair("web.marathon.mesos.", "10.1.0.7"),
            ]
        );
    }

    fn app(networking: NetworkMode) -> AppFacts {
        AppFacts {
            networking,
            health_checks: false,
        }
    }

    #[test]
    fn bridge_tasks_are_served_at_their_agent_unless_asked_otherwise() {
        let task = task();
        let bridge = app(NetworkMode::Bridge);
        assert_eq!(
            naming(false).address_source(&task, Some(&bridge)),
            AddrSource::Agent
        );
        assert_eq!(
            naming(true).address_source(&task, Some(&bridge)),
            AddrSource::Task
        );
        let container = app(NetworkMode::Container);
        assert_eq!(
            naming(false).address_source(&task, Some(&container)),
            AddrSource::Task
        );
        // Without the app record, Mesos-DNS's order applies.
        assert_eq!(naming(false).address_source(&task, None), AddrSource::Task);
        let nowhere = ZoneTask {
            task_ips: Default::default(),
            agent_ips: Default::default(),
            ..task
        };
        assert_eq!(
            naming(false).address_source(&nowhere, None),
            AddrSource::Nothing
        );
    }

    #[test]
    fn unhealthy_tasks_are_left_out_only_where_health_is_checked() {
        let mut task = task();
        task.health = Health::Unhealthy;
        let checked = AppFacts {
            health_checks: true,
            ..app(NetworkMode::Host)
        };
        assert!(!naming(false).serves(&task, Some(&checked)));
        assert!(naming(false).serves(&task, Some(&app(NetworkMode::Host))));
        let blind = Naming {
            health_aware: false,
            ..Naming::default()
        };
        assert!(blind.serves(&task, Some(&checked)));
        task.running = false;
        assert!(!blind.serves(&task, None));
    }
}
