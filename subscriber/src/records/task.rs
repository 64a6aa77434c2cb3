//! Tasks: what Marathon reports about a task ([`TaskFacts`], the one shape a
//! `status_update_event` and a REST listing both become) and the registry's [`TaskRecord`]
//! built from it. The task's lists are checked here, for events and listings alike
//! ([`host_ports`], [`reported_ips`]); an event with a bad entry is refused, a listing's bad
//! entry is skipped.

use std::net::IpAddr;

use registry::{
    AppId, AppRecord, Health, NetworkMode, Protocol, Stamp, TaskPort, TaskRecord, TaskState,
};

use super::{epoch, stamp_of};
use crate::addresses::{self, TaskIp};
use crate::marathon::{ids, model};

/// What is known of one task: the one shape a `status_update_event` and a task of the REST
/// listing both become.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskFacts {
    /// The app.
    pub app_id: AppId,
    /// The task id.
    pub task_id: String,
    /// The Mesos state.
    pub state: TaskState,
    /// The agent's host name.
    pub host: String,
    /// The Mesos agent id.
    pub agent_id: Option<String>,
    /// The task's own IPs, as Marathon tagged them (unusable ones are left out of the
    /// record by [`task_record`]).
    pub task_ips: Vec<TaskIp>,
    /// Host ports, in Marathon's order.
    pub host_ports: Vec<u16>,
    /// The app version the task was launched with.
    pub version: Option<String>,
    /// The health verdict, where the source gives one (a REST task's check results; a
    /// status event gives none: [`Health::Unknown`]).
    pub health: Health,
}

/// A task's host ports (`ports`), in Marathon's order, each checked: `Err` names an entry
/// that is no port number (1-65535).
pub fn host_ports(ports: &[i64]) -> impl Iterator<Item = Result<u16, String>> + '_ {
    ports.iter().enumerate().map(|(i, &p)| {
        u16::try_from(p)
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| format!("ports[{i}] = {p} is not a port number (1-65535)"))
    })
}

/// A task's own addresses (`ipAddresses`) with the `protocol` Marathon tagged each with, in
/// order, each checked: an entry without an address is skipped; `Err` names one that is no
/// IP address. (Which addresses a record may hold is [`crate::addresses`]' rule.)
pub fn reported_ips(
    list: &[model::IpAddress],
) -> impl Iterator<Item = Result<TaskIp, String>> + '_ {
    list.iter().enumerate().filter_map(|(i, entry)| {
        let ip = entry.ip_address.as_deref()?;
        Some(
            ip.parse::<IpAddr>()
                .map(|ip| TaskIp::new(ip, entry.protocol.as_deref()))
                .map_err(|_| format!("ipAddresses[{i}].ipAddress {ip:?} is not an IP address")),
        )
    })
}

/// The ports of a task: its host ports laid over the app's port definitions, following
/// marathon-lb's recipe:
/// - host networking: the i-th port definition gets the i-th host port;
/// - bridge / container networking: the port mappings, in order; only mappings that ask
///   for a host port consume one of the task's host ports;
/// - host ports beyond the definition, or with no definition known, stay unnamed.
pub fn task_ports(def: Option<&AppRecord>, host_ports: &[u16]) -> Vec<TaskPort> {
    let unnamed = |p: u16| TaskPort {
        name: None,
        protocols: vec![Protocol::Tcp],
        container_port: None,
        host_port: Some(p),
        service_port: None,
    };
    let Some(def) = def else {
        return host_ports.iter().copied().map(unnamed).collect();
    };
    let mut host = host_ports.iter().copied();
    let mut out = Vec::with_capacity(def.ports.len().max(host_ports.len()));
    for pd in &def.ports {
        let (host_port, container_port) = match def.networking {
            NetworkMode::Host => (host.next(), None),
            NetworkMode::Bridge | NetworkMode::Container => {
                let hp = if pd.host_port.is_some() {
                    host.next()
                } else {
                    None
                };
                let cp = match pd.container_port {
                    Some(0) | None => hp.filter(|_| def.networking == NetworkMode::Bridge),
                    Some(c) => Some(c),
                };
                (hp, cp)
            }
        };
        if host_port.is_none() && container_port.is_none() {
            continue;
        }
        out.push(TaskPort {
            name: pd.name.clone(),
            protocols: pd.protocols.clone(),
            container_port,
            host_port,
            service_port: pd.service_port,
        });
    }
    out.extend(host.map(unnamed));
    out
}

/// The record of a task. Addresses no client can use are left out here (and logged; see
/// [`crate::addresses`]), for events and the reconcile alike.
pub fn task_record(
    facts: TaskFacts,
    def: Option<&AppRecord>,
    agent_ips: Vec<IpAddr>,
    updated_at: Stamp,
) -> TaskRecord {
    let ports = task_ports(def, &facts.host_ports);
    let instance_id =
        ids::parse_task_id(&facts.task_id).and_then(|p| p.instance_id.map(str::to_string));
    TaskRecord {
        app_id: facts.app_id,
        instance_id,
        agent_id: facts.agent_id.filter(|a| !a.is_empty()),
        agent_ips: addresses::agent_ips(&facts.task_id, &facts.host, agent_ips),
        task_ips: addresses::task_ips(&facts.task_id, facts.task_ips),
        host: facts.host,
        ports,
        state: facts.state,
        health: facts.health,
        app_version: facts.version,
        updated_at,
        task_id: facts.task_id,
    }
}

/// The health verdict of a REST task's `healthCheckResults`.
pub fn health_of(results: &[model::HealthCheckResult]) -> Health {
    if results.is_empty() {
        Health::Unknown
    } else if results.iter().all(|r| r.alive == Some(true)) {
        Health::Healthy
    } else if results.iter().any(|r| r.alive == Some(false)) {
        Health::Unhealthy
    } else {
        Health::Unknown
    }
}

/// The state of a REST task: `state`, or for versions without it, running once started.
pub fn state_of(task: &model::Task) -> TaskState {
    match task.state.as_deref() {
        Some(s) => TaskState::parse(s),
        None if task.started_at.is_some() => TaskState::Running,
        None => TaskState::Staging,
    }
}

/// The facts of a REST task; `None` for a task without a valid id. Invalid ports and IPs
/// are skipped (the REST answer is Marathon's own state, not input to reject).
pub fn facts_of(app_id: &AppId, task: &model::Task) -> Option<TaskFacts> {
    let task_id = task.id.clone()?;
    registry::validate_task_id(&task_id).ok()?;
    Some(TaskFacts {
        app_id: app_id.clone(),
        task_id,
        state: state_of(task),
        host: task.host.clone().unwrap_or_default(),
        agent_id: task.slave_id.clone(),
        task_ips: reported_ips(&task.ip_addresses)
            .filter_map(Result::ok)
            .collect(),
        host_ports: host_ports(&task.ports).filter_map(Result::ok).collect(),
        version: task.version.clone(),
        health: health_of(&task.health_check_results),
    })
}

/// The Marathon time a reconcile stamps on a task it writes: when it started (or was
/// staged, or its version), so that any later state change still wins.
pub fn observed_at(task: &model::Task) -> Stamp {
    stamp_of(task.started_at.as_deref())
        .or_else(|| stamp_of(task.staged_at.as_deref()))
        .or_else(|| stamp_of(task.version.as_deref()))
        .unwrap_or_else(epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip_address(ip: Option<&str>, protocol: Option<&str>) -> model::IpAddress {
        model::IpAddress {
            ip_address: ip.map(str::to_string),
            protocol: protocol.map(str::to_string),
        }
    }

    #[test]
    fn host_ports_name_the_entry_that_is_no_port() {
        let checked: Vec<_> = host_ports(&[80, 0, 65536, -1, 65535]).collect();
        assert_eq!(checked[0], Ok(80));
        assert_eq!(
            checked[1],
            Err("ports[1] = 0 is not a port number (1-65535)".into())
        );
        assert!(
            checked[2]
                .as_ref()
                .is_err_and(|e| e.starts_with("ports[2] = 65536"))
        );
        assert!(checked[3].is_err());
        assert_eq!(checked[4], Ok(65535));
    }

    #[test]
    fn reported_ips_keep_their_tag_and_skip_empty_entries() {
        let list = [
            ip_address(Some("10.0.0.1"), Some("IPv4")),
            ip_address(None, Some("IPv6")),
            ip_address(Some("fd00::1"), None),
            ip_address(Some("x"), None),
        ];
        let checked: Vec<_> = reported_ips(&list).collect();
        assert_eq!(checked.len(), 3);
        assert_eq!(
            checked[0],
            Ok(TaskIp::new("10.0.0.1".parse().unwrap(), Some("IPv4")))
        );
        assert_eq!(
            checked[1],
            Ok(TaskIp::from("fd00::1".parse::<IpAddr>().unwrap()))
        );
        assert_eq!(
            checked[2],
            Err(r#"ipAddresses[3].ipAddress "x" is not an IP address"#.into())
        );
    }

    #[test]
    fn a_listed_task_skips_what_an_event_would_be_refused_for() {
        let task = model::Task {
            id: Some("web.1".into()),
            host: Some("10.0.2.148".into()),
            state: Some("TASK_RUNNING".into()),
            ports: vec![31000, 70000],
            ip_addresses: vec![
                ip_address(Some("x"), None),
                ip_address(Some("172.17.0.2"), None),
            ],
            ..model::Task::default()
        };
        let app = AppId::parse("/web").unwrap();
        let facts = facts_of(&app, &task).unwrap();
        assert_eq!(facts.host_ports, [31000]);
        assert_eq!(
            facts.task_ips,
            [TaskIp::from("172.17.0.2".parse::<IpAddr>().unwrap())]
        );
        assert_eq!(facts.state, TaskState::Running);
        let bad_id = model::Task {
            id: Some("web/1".into()),
            ..task
        };
        assert_eq!(facts_of(&app, &bad_id), None);
    }
}
