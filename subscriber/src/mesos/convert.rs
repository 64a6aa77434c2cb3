//! The master's objects → registry records (pure): an agent, a framework, a task and the
//! status updates that change it. Where names, IPs and ports come from follows what the
//! Mesos-DNS and dcos-net readers of the same API do (see `registry/README.md`, "Mesos
//! records").

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use registry::addresses::is_usable;
use registry::{
    AgentRecord, FrameworkRecord, Health, MesosPort, MesosTaskRecord, Protocol, Stamp, TaskState,
};

use super::events::{Agent, Framework, FrameworkInfo, Labels, Pid, Task, TaskStatus};

/// The stamp of a task Mesos has sent no status for yet (`TASK_STAGING`): the oldest
/// possible, so that its first real status always wins the write guard, whatever the
/// clocks of the master and the subscriber say.
pub fn unstamped() -> Stamp {
    Stamp::from_datetime(DateTime::<Utc>::UNIX_EPOCH)
}

/// A status' `timestamp` (float seconds) as a stamp; `None` when absent or not a time.
pub fn status_stamp(status: &TaskStatus) -> Option<Stamp> {
    let seconds = status.timestamp?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    let whole = seconds.trunc() as i64;
    let nanos = ((seconds - seconds.trunc()) * 1e9) as u32;
    DateTime::<Utc>::from_timestamp(whole, nanos).map(Stamp::from_datetime)
}

/// The labels as a map (a label without value maps to "").
fn labels(labels: Option<&Labels>) -> BTreeMap<String, String> {
    labels
        .map(|l| {
            l.labels
                .iter()
                .filter_map(|l| Some((l.key.clone()?, l.value.clone().unwrap_or_default())))
                .collect()
        })
        .unwrap_or_default()
}

/// An agent's record: its advertised address is the host of its PID (resolved names are
/// not looked up here: a PID host that is a name leaves `ip` unset, and the host name is
/// then the reader's to resolve), else the host name when it is an IP.
pub fn agent_record(agent: &Agent, observed: &Stamp) -> Option<AgentRecord> {
    let info = agent.agent_info.as_ref()?;
    let agent_id = info.id.as_ref()?.value.clone()?;
    let hostname = info.hostname.clone().unwrap_or_default();
    let pid = agent.pid.as_deref().and_then(Pid::parse);
    let ip = pid
        .as_ref()
        .and_then(Pid::ip)
        .filter(|ip| is_usable(*ip))
        .or_else(|| hostname.parse().ok().filter(|ip| is_usable(*ip)));
    let port = pid
        .as_ref()
        .map(|p| p.port)
        .or_else(|| info.port.and_then(|p| u16::try_from(p).ok()));
    Some(AgentRecord {
        agent_id,
        hostname,
        ip,
        port,
        pid: agent.pid.clone(),
        updated_at: observed.clone(),
    })
}

/// What only the v0 `/master/state` knows of a framework: its scheduler PID.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchedulerPid {
    /// The PID text (`scheduler-…@10.0.0.9:25501`).
    pub pid: String,
}

/// A framework's record; `pid` (from `/master/state`) fills in the scheduler's address.
pub fn framework_record(
    framework: &Framework,
    pid: Option<&SchedulerPid>,
    observed: &Stamp,
) -> Option<FrameworkRecord> {
    let info = framework.framework_info.as_ref()?;
    let mut record = framework_info_record(info, observed)?;
    record.active = framework.active.unwrap_or(true);
    if let Some(pid) = pid {
        with_scheduler_pid(&mut record, pid);
    }
    Some(record)
}

/// Sets the scheduler address from its PID.
pub fn with_scheduler_pid(record: &mut FrameworkRecord, pid: &SchedulerPid) {
    let parsed = Pid::parse(&pid.pid);
    record.ip = parsed
        .as_ref()
        .and_then(Pid::ip)
        .filter(|ip| is_usable(*ip));
    record.port = parsed.as_ref().map(|p| p.port);
    record.pid = Some(pid.pid.clone());
}

fn framework_info_record(info: &FrameworkInfo, observed: &Stamp) -> Option<FrameworkRecord> {
    Some(FrameworkRecord {
        framework_id: info.id.as_ref()?.value.clone()?,
        name: info.name.clone().unwrap_or_default(),
        hostname: info.hostname.clone(),
        ip: None,
        port: None,
        pid: None,
        active: true,
        updated_at: observed.clone(),
    })
}

/// The host ports of a task's `ports` resources, every range expanded, in order (a range
/// beyond 65535 is cut there; at most 10,000 ports).
fn host_ports(task: &Task) -> Vec<u16> {
    const MAX_PORTS: usize = 10_000;
    let mut out = Vec::new();
    for resource in task
        .resources
        .iter()
        .filter(|r| r.name.as_deref() == Some("ports"))
    {
        for range in resource.ranges.iter().flat_map(|r| &r.range) {
            let (Some(begin), Some(end)) = (range.begin, range.end) else {
                continue;
            };
            let end = end.min(u64::from(u16::MAX));
            for port in begin..=end {
                if out.len() == MAX_PORTS {
                    return out;
                }
                if let Ok(port) = u16::try_from(port) {
                    out.push(port);
                }
            }
        }
    }
    out
}

/// The DiscoveryInfo ports, in order (ports without a valid number are left out).
fn discovery_ports(task: &Task) -> Vec<MesosPort> {
    let Some(ports) = task.discovery.as_ref().and_then(|d| d.ports.as_ref()) else {
        return Vec::new();
    };
    ports
        .ports
        .iter()
        .filter_map(|p| {
            let number = u16::try_from(p.number?).ok().filter(|n| *n != 0)?;
            Some(MesosPort {
                number,
                name: p.name.clone().filter(|n| !n.is_empty()),
                protocols: Protocol::parse_list(p.protocol.as_deref().unwrap_or("")),
                visibility: p.visibility.clone(),
                labels: labels(p.labels.as_ref()),
            })
        })
        .collect()
}

/// The usable container IPs a status reports, in order; `None` when it reports none (then
/// the task keeps the IPs it had).
fn status_ips(status: &TaskStatus) -> Option<Vec<IpAddr>> {
    let infos = &status.container_status.as_ref()?.network_infos;
    let ips: Vec<IpAddr> = infos
        .iter()
        .flat_map(|n| &n.ip_addresses)
        .filter_map(|a| a.ip_address.as_deref()?.trim().parse().ok())
        .filter(|ip| is_usable(*ip))
        .collect();
    (!ips.is_empty()).then_some(ips)
}

/// The newest status (greatest timestamp; the last one on ties or without timestamps).
fn newest(statuses: &[TaskStatus]) -> Option<&TaskStatus> {
    statuses
        .iter()
        .enumerate()
        .max_by(|(i, a), (j, b)| {
            let ta = a.timestamp.unwrap_or(f64::MIN);
            let tb = b.timestamp.unwrap_or(f64::MIN);
            ta.total_cmp(&tb).then(i.cmp(j))
        })
        .map(|(_, s)| s)
}

/// A task's record. `framework_name` is the framework's, when known.
pub fn task_record(task: &Task, framework_name: Option<&str>) -> Option<MesosTaskRecord> {
    let framework_id = task.framework_id.as_ref()?.value.clone()?;
    let task_id = task.task_id.as_ref()?.value.clone()?;
    let newest_status = newest(&task.statuses);
    // IPs: the newest status that reports any (many updates carry no container status).
    let mut by_time: Vec<&TaskStatus> = task.statuses.iter().collect();
    by_time.sort_by(|a, b| {
        a.timestamp
            .unwrap_or(f64::MIN)
            .total_cmp(&b.timestamp.unwrap_or(f64::MIN))
    });
    let task_ips = by_time
        .iter()
        .rev()
        .find_map(|s| status_ips(s))
        .unwrap_or_default();
    let health = match newest_status.and_then(|s| s.healthy) {
        Some(true) => Health::Healthy,
        Some(false) => Health::Unhealthy,
        // A defined check without a result yet (Mesos ≥ 1.8 shows the definition).
        None if task.health_check.is_some() => Health::Unhealthy,
        None => Health::Unknown,
    };
    let state = task
        .state
        .as_deref()
        .or_else(|| newest_status.and_then(|s| s.state.as_deref()))
        .map(TaskState::parse)
        .unwrap_or(TaskState::Staging);
    let discovery = task.discovery.as_ref();
    Some(MesosTaskRecord {
        framework_id,
        framework_name: framework_name.map(str::to_string),
        task_id,
        name: task.name.clone().unwrap_or_default(),
        discovery_name: discovery
            .and_then(|d| d.name.clone())
            .filter(|n| !n.is_empty()),
        discovery_visibility: discovery.and_then(|d| d.visibility.clone()),
        agent_id: task.agent_id.as_ref().and_then(|a| a.value.clone()),
        executor_id: task.executor_id.as_ref().and_then(|e| e.value.clone()),
        ports: discovery_ports(task),
        host_ports: host_ports(task),
        task_ips,
        labels: labels(task.labels.as_ref()),
        state,
        health,
        updated_at: newest_status
            .and_then(status_stamp)
            .unwrap_or_else(unstamped),
    })
}

/// Applies a `TASK_UPDATED` to a task's record: the state (`state`, the latest the agent
/// knows, wins over the status' own), the IPs when the status reports any, the health
/// when it carries a result, and the stamp (the status' time, and always later than the
/// record's).
pub fn apply_status(record: &mut MesosTaskRecord, status: &TaskStatus, state: Option<&str>) {
    if let Some(state) = state.or(status.state.as_deref()) {
        record.state = TaskState::parse(state);
    }
    if let Some(ips) = status_ips(status) {
        record.task_ips = ips;
    }
    if let Some(healthy) = status.healthy {
        record.health = if healthy {
            Health::Healthy
        } else {
            Health::Unhealthy
        };
    }
    if let Some(agent) = status.agent_id.as_ref().and_then(|a| a.value.clone()) {
        record.agent_id = Some(agent);
    }
    // The stream is ordered, so each update must win the write guard over the one before,
    // also when Mesos stamped both within one millisecond (the guard's resolution): the
    // stamp moves on by at least 1 ms per update.
    let next =
        Stamp::from_datetime(record.updated_at.to_datetime() + chrono::Duration::milliseconds(1));
    record.updated_at = match status_stamp(status) {
        Some(stamp) if stamp > next => stamp,
        _ => next,
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::events::{MesosEvent, decode};

    fn event(json: &str) -> MesosEvent {
        decode(json.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn agents_take_their_address_from_the_pid() {
        let MesosEvent::AgentAdded(agent) = event(
            r#"{"type":"AGENT_ADDED","agent_added":{"agent":{"agent_info":{"hostname":"a1.example","port":5051,"id":{"value":"S1"}},"pid":"slave(1)@10.0.0.7:5052"}}}"#,
        ) else {
            panic!("not AGENT_ADDED")
        };
        let r = agent_record(&agent, &Stamp::now()).unwrap();
        assert_eq!(r.agent_id, "S1");
        assert_eq!(r.hostname, "a1.example");
        assert_eq!(r.ip, Some("10.0.0.7".parse().unwrap()));
        assert_eq!(r.port, Some(5052));
        // Without a PID: the host name when it is an IP, the info's port.
        let mut bare = (*agent).clone();
        bare.pid = None;
        assert_eq!(agent_record(&bare, &Stamp::now()).unwrap().ip, None);
        assert_eq!(agent_record(&bare, &Stamp::now()).unwrap().port, Some(5051));
        bare.agent_info.as_mut().unwrap().hostname = Some("10.1.1.1".into());
        assert_eq!(
            agent_record(&bare, &Stamp::now()).unwrap().ip,
            Some("10.1.1.1".parse().unwrap())
        );
        // An unusable PID host is left out.
        bare.pid = Some("slave(1)@0.0.0.0:5051".into());
        assert_eq!(
            agent_record(&bare, &Stamp::now()).unwrap().ip,
            Some("10.1.1.1".parse().unwrap())
        );
    }

    #[test]
    fn tasks_take_ports_ips_labels_and_health() {
        let MesosEvent::TaskAdded(task) = event(
            r#"{"type":"TASK_ADDED","task_added":{"task":{"name":"web","task_id":{"value":"web.1"},"framework_id":{"value":"F1"},"agent_id":{"value":"S1"},"state":"TASK_RUNNING",
            "resources":[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":31001},{"begin":31005,"end":31005}]}},{"name":"cpus","type":"SCALAR","scalar":{"value":0.1}}],
            "statuses":[{"task_id":{"value":"web.1"},"state":"TASK_STARTING","timestamp":1.5,"container_status":{"network_infos":[{"ip_addresses":[{"ip_address":"9.0.0.1"}]}]}},
                        {"task_id":{"value":"web.1"},"state":"TASK_RUNNING","timestamp":2.25,"healthy":false}],
            "labels":{"labels":[{"key":"team","value":"x"},{"key":"flag"}]},
            "discovery":{"visibility":"FRAMEWORK","name":"web.grp","ports":{"ports":[{"number":31000,"name":"http","protocol":"tcp"},{"number":0,"name":"bad"},{"number":31001,"protocol":"udp,tcp"}]}}}}}"#,
        ) else {
            panic!("not TASK_ADDED")
        };
        let r = task_record(&task, Some("marathon")).unwrap();
        assert_eq!(
            (r.framework_id.as_str(), r.task_id.as_str()),
            ("F1", "web.1")
        );
        assert_eq!(r.framework_name.as_deref(), Some("marathon"));
        assert_eq!(r.dns_name(), "web.grp");
        assert_eq!(r.host_ports, vec![31000, 31001, 31005]);
        assert_eq!(r.ports.len(), 2, "a port numbered 0 is left out");
        assert_eq!(r.ports[0].name.as_deref(), Some("http"));
        assert_eq!(r.ports[1].protocols, vec![Protocol::Tcp, Protocol::Udp]);
        // The newest status has no IPs: the previous one's are kept.
        assert_eq!(r.task_ips, vec!["9.0.0.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(r.health, Health::Unhealthy);
        assert_eq!(r.state, TaskState::Running);
        assert_eq!(r.labels.get("flag").map(String::as_str), Some(""));
        assert_eq!(r.updated_at.as_str(), "1970-01-01T00:00:02.250Z");
    }

    #[test]
    fn a_task_without_statuses_is_unstamped_and_staging() {
        let MesosEvent::TaskAdded(task) = event(
            r#"{"type":"TASK_ADDED","task_added":{"task":{"name":"t","task_id":{"value":"t.1"},"framework_id":{"value":"F1"}}}}"#,
        ) else {
            panic!("not TASK_ADDED")
        };
        let r = task_record(&task, None).unwrap();
        assert_eq!(r.state, TaskState::Staging);
        assert_eq!(r.updated_at, unstamped());
        assert_eq!(r.health, Health::Unknown);
    }

    #[test]
    fn status_updates_change_state_ips_and_health() {
        let MesosEvent::TaskAdded(task) = event(
            r#"{"type":"TASK_ADDED","task_added":{"task":{"name":"t","task_id":{"value":"t.1"},"framework_id":{"value":"F1"},"health_check":{"type":"HTTP"}}}}"#,
        ) else {
            panic!("not TASK_ADDED")
        };
        let mut r = task_record(&task, None).unwrap();
        assert_eq!(r.health, Health::Unhealthy, "a check without a result yet");
        let MesosEvent::TaskUpdated { status, state, .. } = event(
            r#"{"type":"TASK_UPDATED","task_updated":{"framework_id":{"value":"F1"},"status":{"task_id":{"value":"t.1"},"state":"TASK_STARTING","timestamp":10.0,"healthy":true,"container_status":{"network_infos":[{"ip_addresses":[{"ip_address":"fd00::1"},{"ip_address":"0.0.0.0"}]}]}},"state":"TASK_RUNNING"}}"#,
        ) else {
            panic!("not TASK_UPDATED")
        };
        apply_status(&mut r, &status, state.as_deref());
        assert_eq!(r.state, TaskState::Running, "the latest state wins");
        assert_eq!(r.task_ips, vec!["fd00::1".parse::<IpAddr>().unwrap()]);
        assert_eq!(r.health, Health::Healthy);
        assert_eq!(r.updated_at.as_str(), "1970-01-01T00:00:10.000Z");
        // A second update within the same millisecond still moves the stamp on.
        apply_status(&mut r, &status, state.as_deref());
        assert_eq!(r.updated_at.as_str(), "1970-01-01T00:00:10.001Z");
    }

    #[test]
    fn frameworks_take_the_scheduler_pid() {
        let MesosEvent::FrameworkAdded(f) = event(
            r#"{"type":"FRAMEWORK_ADDED","framework_added":{"framework":{"framework_info":{"id":{"value":"F1"},"name":"marathon","hostname":"m1"},"active":true}}}"#,
        ) else {
            panic!("not FRAMEWORK_ADDED")
        };
        let pid = SchedulerPid {
            pid: "scheduler-1@10.0.0.9:25501".into(),
        };
        let r = framework_record(&f, Some(&pid), &Stamp::now()).unwrap();
        assert_eq!(r.name, "marathon");
        assert_eq!(r.ip, Some("10.0.0.9".parse().unwrap()));
        assert_eq!(r.port, Some(25501));
        assert_eq!(
            framework_record(&f, None, &Stamp::now()).unwrap().port,
            None
        );
    }
}
