//! What a template sees of an app: its definition (labels, ports) and its tasks, as plain
//! serialisable data. Every list has a fixed order, so that the same records always render
//! the same bytes. The context's root (`revision`, `apps`, `services`) is built by
//! [`Catalog::context`](super::Catalog::context).

use std::collections::BTreeMap;
use std::net::IpAddr;

use registry::{AppRecord, Health, NetworkMode, PortDefinition, Protocol, TaskRecord};
use serde::Serialize;

use crate::instance::Instance;
use crate::service::Membership;

/// One Marathon app: its definition (when the registry has it) and its tasks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppData {
    /// The app id (`/shop/web`).
    pub id: String,
    /// False when tasks exist but the registry has no app record (yet): then `labels` and
    /// `ports` are empty and `version` is none.
    pub defined: bool,
    /// Marathon's app version.
    pub version: Option<String>,
    /// `host`, `bridge` or `container`.
    pub networking: Option<NetworkMode>,
    /// The app's labels.
    pub labels: BTreeMap<String, String>,
    /// True when the app defines health checks.
    pub health_checks: bool,
    /// The port definitions (or mappings), in order: `ports[n]` is marathon-lb's port `n`.
    pub ports: Vec<AppPortData>,
    /// The members: running tasks not known to be unhealthy (with `--only-healthy`: running
    /// tasks whose health checks pass), by task id.
    pub instances: Vec<TaskData>,
    /// Every live task, in any state (staging, running, killing, unreachable), by task id.
    pub tasks: Vec<TaskData>,
}

/// A port of an app definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppPortData {
    /// Its position, from 0 (marathon-lb's `n` in `HAPROXY_{n}_*`).
    pub index: usize,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// `tcp`, `udp`.
    pub protocols: Vec<Protocol>,
    /// The container port (port mappings).
    pub container_port: Option<u16>,
    /// The requested host port (0: dynamic).
    pub host_port: Option<u16>,
    /// Marathon's cluster-wide service port.
    pub service_port: Option<u16>,
    /// The port's own labels.
    pub labels: BTreeMap<String, String>,
}

/// One task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TaskData {
    /// The app the task belongs to.
    pub app_id: String,
    /// Marathon's task id.
    pub task_id: String,
    /// The agent's host name as Marathon reports it.
    pub host: String,
    /// The agent address: its first IPv4 address, else its first address, else `host`.
    pub address: String,
    /// The agent's addresses.
    pub agent_ips: Vec<IpAddr>,
    /// The task's own addresses (container networking).
    pub task_ips: Vec<IpAddr>,
    /// The ports, in the app definition's order.
    pub ports: Vec<PortData>,
    /// The named ports by name.
    pub named_ports: BTreeMap<String, PortData>,
    /// The Mesos state (`TASK_RUNNING`, `TASK_KILLING`, ...).
    pub state: String,
    /// `healthy`, `unhealthy` or `unknown`.
    pub health: Health,
    /// Running and not known to be unhealthy: what DNS serves.
    pub serving: bool,
    /// True when the task is a member (in [`AppData::instances`]).
    pub member: bool,
    /// The app version the task runs.
    pub app_version: Option<String>,
}

/// One port of a task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PortData {
    /// Its position, from 0.
    pub index: usize,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// `tcp`, `udp`.
    pub protocols: Vec<Protocol>,
    /// Where clients reach it: the agent address for a host port, else the task's own IP.
    /// None when it cannot be reached from outside the task.
    pub address: Option<String>,
    /// The port at `address`.
    pub port: Option<u16>,
    /// The port the process listens on inside its container.
    pub internal: Option<u16>,
    /// The host port, when the task has one.
    pub host_port: Option<u16>,
    /// The container port, when the task has one.
    pub container_port: Option<u16>,
    /// Marathon's service port (the task's, else the app definition's at the same index).
    pub service_port: Option<u16>,
}

impl AppData {
    /// An app from its record (if any) and its live tasks.
    pub(crate) fn new<'a>(
        id: String,
        record: Option<&AppRecord>,
        tasks: impl IntoIterator<Item = &'a TaskRecord>,
        membership: Membership,
    ) -> Self {
        let definitions = record.map(|r| r.ports.as_slice()).unwrap_or_default();
        let tasks: Vec<TaskData> = tasks
            .into_iter()
            .map(|t| TaskData::new(t, definitions, membership.admits(t)))
            .collect();
        AppData {
            id,
            defined: record.is_some(),
            version: record.map(|r| r.version.clone()),
            networking: record.map(|r| r.networking),
            labels: record.map(|r| r.labels.clone()).unwrap_or_default(),
            health_checks: record.is_some_and(|r| r.health_checks),
            ports: definitions
                .iter()
                .enumerate()
                .map(|(index, p)| AppPortData::new(index, p))
                .collect(),
            instances: tasks.iter().filter(|t| t.member).cloned().collect(),
            tasks,
        }
    }
}

impl AppPortData {
    fn new(index: usize, port: &PortDefinition) -> Self {
        AppPortData {
            index,
            name: port.name.clone(),
            protocols: port.protocols.clone(),
            container_port: port.container_port,
            host_port: port.host_port,
            service_port: port.service_port,
            labels: port.labels.clone(),
        }
    }
}

impl TaskData {
    fn new(task: &TaskRecord, definitions: &[PortDefinition], member: bool) -> Self {
        let instance = Instance::from_record(task);
        let ports: Vec<PortData> = task
            .ports
            .iter()
            .zip(&instance.ports)
            .enumerate()
            .map(|(index, (raw, view))| PortData {
                index,
                name: raw.name.clone(),
                protocols: raw.protocols.clone(),
                address: view.external.as_ref().map(|e| e.address.clone()),
                port: view.external.as_ref().map(|e| e.port),
                internal: view.internal,
                host_port: raw.host_port,
                container_port: raw.container_port,
                service_port: raw
                    .service_port
                    .or_else(|| definitions.get(index).and_then(|d| d.service_port)),
            })
            .collect();
        let named_ports = ports
            .iter()
            .filter_map(|p| Some((p.name.clone()?, p.clone())))
            .collect();
        TaskData {
            app_id: task.app_id.to_string(),
            task_id: task.task_id.clone(),
            host: task.host.clone(),
            address: instance.address,
            agent_ips: task.agent_ips.clone(),
            task_ips: task.task_ips.clone(),
            ports,
            named_ports,
            state: task.state.as_str().to_string(),
            health: task.health,
            serving: task.is_serving(),
            member,
            app_version: task.app_version.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry::harness::records;
    use registry::{Health, TaskState};

    #[test]
    fn an_app_lists_members_and_every_task_with_ports_by_name() {
        let mut app = records::app("/shop/web").port("http", None).build();
        app.ports[0].service_port = Some(10001);
        app.labels.insert("HAPROXY_GROUP".into(), "external".into());
        let port = records::port("http", None, Some(31001));
        let running = records::task("/shop/web", "b", "10.0.0.1")
            .ports(vec![port.clone()])
            .build();
        let sick = records::task("/shop/web", "a", "10.0.0.2")
            .ports(vec![port.clone()])
            .health(Health::Unhealthy)
            .build();
        let killing = records::task("/shop/web", "c", "10.0.0.3")
            .ports(vec![port])
            .state(TaskState::Killing)
            .build();
        let data = AppData::new(
            "/shop/web".into(),
            Some(&app),
            [&sick, &running, &killing],
            Membership::Serving,
        );
        assert!(data.defined);
        assert_eq!(data.labels["HAPROXY_GROUP"], "external");
        assert_eq!(data.ports[0].service_port, Some(10001));
        assert_eq!(data.tasks.len(), 3);
        let members: Vec<&str> = data.instances.iter().map(|t| t.task_id.as_str()).collect();
        assert_eq!(members, ["b"]);
        let b = &data.instances[0];
        let http = &b.named_ports["http"];
        assert_eq!(http.address.as_deref(), Some("10.0.0.1"));
        assert_eq!(http.port, Some(31001));
        // The task record has no service port: the definition's is used.
        assert_eq!(http.service_port, Some(10001));
        assert_eq!(data.tasks[2].state, "TASK_KILLING");
        assert!(!data.tasks[2].serving);
    }
}
