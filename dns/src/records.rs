//! What one task contributes to the zone: the (name, record) pairs Mesos-DNS would
//! generate for it (section 9 of the Mesos-DNS notes). Pure.

use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::rr::{LowerName, Name};
use registry::{AppRecord, Health, NetworkMode, Protocol, TaskRecord};

use crate::names;

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

/// One SRV value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SrvValue {
    /// The port.
    pub port: u16,
    /// The target host (shared by every value that points at the same task).
    pub target: Arc<Name>,
}

/// One record value at some name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    /// An address (A or AAAA by family).
    Addr(IpAddr),
    /// A service location.
    Srv(SrvValue),
    /// A reverse pointer.
    Ptr(Arc<Name>),
}

impl Naming {
    /// The task names an app is published under: its label, and the legacy dotted name
    /// when enabled.
    pub fn task_names(&self, app_id: &registry::AppId) -> Vec<String> {
        let mut out = vec![names::app_label(app_id)];
        if self.legacy_names
            && let Some(raw) = names::legacy_name(app_id)
        {
            out.push(raw);
        }
        out.retain(|n| !n.is_empty());
        out
    }

    /// True when the task should be in the answers.
    pub fn serves(&self, task: &TaskRecord, app: Option<&AppRecord>) -> bool {
        if !task.state.is_running() {
            return false;
        }
        let checked = app.is_none_or(|a| a.health_checks);
        !(self.health_aware && checked && task.health == Health::Unhealthy)
    }

    /// The task's A/AAAA addresses by IP source: every address of the first source that
    /// has any. A bridge-mode task's own addresses are skipped unless `bridge_task_ips`.
    pub fn task_addresses<'a>(
        &self,
        task: &'a TaskRecord,
        app: Option<&AppRecord>,
    ) -> &'a [IpAddr] {
        let bridged = app.is_some_and(|a| a.networking == NetworkMode::Bridge);
        for source in &self.ip_sources {
            let ips = match source {
                IpSource::Netinfo | IpSource::Mesos | IpSource::Docker
                    if bridged && !self.bridge_task_ips =>
                {
                    continue;
                }
                IpSource::Netinfo | IpSource::Mesos | IpSource::Docker => &task.task_ips,
                IpSource::Host => &task.agent_ips,
            };
            if !ips.is_empty() {
                return ips;
            }
        }
        &[]
    }

    /// `<label>.<framework>.<domain>.` (or with `.slave.` before the domain).
    pub fn name(&self, label: &str, slave: bool) -> Option<Name> {
        let mid = if slave { ".slave." } else { "." };
        let text = format!("{label}.{}{mid}{}", self.framework, self.domain);
        let name = Name::from_ascii(&text).ok()?;
        name.is_fqdn().then_some(name)
    }

    /// Every (name, value) the task contributes under the task name `t` (already checked
    /// to be served); `app` is its app record, when known.
    pub fn task_values(
        &self,
        t: &str,
        task: &TaskRecord,
        app: Option<&AppRecord>,
    ) -> Vec<(LowerName, Value)> {
        let mut out = Vec::new();
        let canonical = names::canonical_label(t, &task.task_id, task.agent_id.as_deref());
        let srv = names::srv_label(t);
        let (Some(c_task), Some(c_slave)) =
            (self.name(&canonical, false), self.name(&canonical, true))
        else {
            return out;
        };
        let (c_task, c_slave) = (Arc::new(c_task), Arc::new(c_slave));
        let addresses = self.task_addresses(task, app);
        let mut push = |label: &str, slave: bool, value: Value| {
            if let Some(name) = self.name(label, slave) {
                out.push((LowerName::new(&name), value));
            }
        };
        for &ip in addresses {
            push(t, false, Value::Addr(ip));
            push(&canonical, false, Value::Addr(ip));
        }
        for &ip in &task.agent_ips {
            push(t, true, Value::Addr(ip));
            push(&canonical, true, Value::Addr(ip));
        }
        for port in &task.ports {
            if let Some(number) = port.discovery_port() {
                let value = Value::Srv(SrvValue {
                    port: number,
                    target: c_task.clone(),
                });
                let port_name = port
                    .name
                    .as_deref()
                    .map(|n| names::sanitize_label(n, names::MAX_LABEL - 1))
                    .filter(|n| !n.is_empty());
                for protocol in &port.protocols {
                    let proto = proto_label(*protocol);
                    push(&format!("{srv}.{proto}"), false, value.clone());
                    if let Some(n) = &port_name {
                        push(&format!("_{n}.{srv}.{proto}"), false, value.clone());
                    }
                }
            }
            if let Some(host_port) = port.host_port {
                let value = Value::Srv(SrvValue {
                    port: host_port,
                    target: c_slave.clone(),
                });
                for proto in ["_tcp", "_udp"] {
                    push(&format!("{srv}.{proto}"), true, value.clone());
                }
            }
        }
        for &ip in addresses {
            out.push((LowerName::new(&Name::from(ip)), Value::Ptr(c_task.clone())));
        }
        out
    }
}

fn proto_label(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Tcp => "_tcp",
        Protocol::Udp => "_udp",
    }
}

#[cfg(test)]
mod tests {
    use registry::{AppId, NetworkMode, Stamp, TaskState};

    use super::*;

    fn naming(bridge_task_ips: bool) -> Naming {
        Naming {
            domain: Name::from_ascii("mesos.").unwrap(),
            framework: "marathon".into(),
            ip_sources: vec![IpSource::Netinfo, IpSource::Mesos, IpSource::Host],
            legacy_names: false,
            health_aware: true,
            bridge_task_ips,
        }
    }

    fn record(app_id: &AppId) -> TaskRecord {
        TaskRecord {
            app_id: app_id.clone(),
            task_id: "web.1".into(),
            instance_id: None,
            agent_id: Some("x-S1".into()),
            host: "10.0.0.5".into(),
            agent_ips: vec!["10.0.0.5".parse().unwrap()],
            task_ips: vec!["172.17.0.2".parse().unwrap()],
            ports: vec![],
            state: TaskState::Running,
            health: Health::Unknown,
            app_version: None,
            updated_at: Stamp::now(),
        }
    }

    fn app(app_id: &AppId, networking: NetworkMode) -> AppRecord {
        AppRecord {
            app_id: app_id.clone(),
            version: "v".into(),
            ports: vec![],
            networking,
            labels: Default::default(),
            health_checks: false,
            updated_at: Stamp::now(),
        }
    }

    #[test]
    fn bridge_tasks_are_served_at_their_agent_unless_asked_otherwise() {
        let id = AppId::parse("/web").unwrap();
        let task = record(&id);
        let agent: Vec<IpAddr> = vec!["10.0.0.5".parse().unwrap()];
        let own: Vec<IpAddr> = vec!["172.17.0.2".parse().unwrap()];
        let bridge = app(&id, NetworkMode::Bridge);
        assert_eq!(
            naming(false).task_addresses(&task, Some(&bridge)),
            agent.as_slice()
        );
        assert_eq!(
            naming(true).task_addresses(&task, Some(&bridge)),
            own.as_slice()
        );
        let container = app(&id, NetworkMode::Container);
        assert_eq!(
            naming(false).task_addresses(&task, Some(&container)),
            own.as_slice()
        );
        // Without the app record, Mesos-DNS's order applies.
        assert_eq!(naming(false).task_addresses(&task, None), own.as_slice());
    }
}
