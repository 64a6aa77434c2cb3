//! Marathon task + app definition -> the registry's [`TaskRecord`] / [`AppRecord`].
//!
//! Events and the reconcile both build records here, from the same facts, so that a task
//! seen through a `status_update_event` and the same task seen in `GET /v2/apps` give equal
//! records — which is what lets a reconcile of an in-sync registry write nothing.
//!
//! Port layout follows marathon-lb's recipe:
//! - host networking: the i-th port definition gets the i-th host port;
//! - bridge / container networking: the port mappings, in order; only mappings that ask
//!   for a host port consume one of the task's host ports;
//! - host ports beyond the definition, or with no definition known, stay unnamed.

use std::net::IpAddr;

use registry::{
    AppId, AppRecord, Health, NetworkMode, PortDefinition, Protocol, Stamp, TaskPort, TaskRecord,
    TaskState,
};

use crate::addresses::{self, TaskIp};
use crate::marathon::{ids, model};

/// The stamp of records whose Marathon time is unknown: any event beats it.
pub fn epoch() -> Stamp {
    Stamp::from_datetime(chrono_epoch())
}

fn chrono_epoch() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::UNIX_EPOCH
}

/// Parses an optional Marathon timestamp.
pub fn stamp_of(text: Option<&str>) -> Option<Stamp> {
    text.and_then(|t| Stamp::parse(t).ok())
}

/// True for the states Herald stores: running, and the two "going away" states, which are
/// kept but marked down (DNS does not serve them; see the README). Staging and starting
/// tasks have nothing to serve yet; terminal states remove the record.
pub fn is_stored(state: &TaskState) -> bool {
    matches!(
        state,
        TaskState::Running | TaskState::Killing | TaskState::Unreachable
    )
}

/// An app definition, normalised, with what tells which task versions it describes.
#[derive(Clone, Debug, PartialEq)]
pub struct AppDefinition {
    /// The record as it would be stored; `updated_at` is the app version's time.
    pub record: AppRecord,
    /// The app version, parsed.
    pub version: Option<Stamp>,
    /// `versionInfo.lastConfigChangeAt`: tasks launched since share this port layout.
    pub config_version: Option<Stamp>,
}

impl AppDefinition {
    /// The app id.
    pub fn app_id(&self) -> &AppId {
        &self.record.app_id
    }

    /// True when a task launched with app version `task_version` has this definition's
    /// port layout: the same version, or a version between the last configuration change
    /// and this one (a scaling changes the version, not the layout).
    pub fn describes(&self, task_version: Option<&str>) -> bool {
        let Some(raw) = task_version else {
            return true;
        };
        if raw == self.record.version {
            return true;
        }
        let (Ok(v), Some(version)) = (Stamp::parse(raw), &self.version) else {
            // Unparseable versions: nothing better to go by.
            return true;
        };
        if &v == version {
            return true;
        }
        match &self.config_version {
            Some(config) => config <= &v && &v <= version,
            None => false,
        }
    }
}

/// Why an app definition cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DefinitionError(pub String);

fn port_value(value: Option<i64>, what: &str) -> Result<Option<u16>, DefinitionError> {
    match value {
        None => Ok(None),
        Some(v) => u16::try_from(v)
            .map(Some)
            .map_err(|_| DefinitionError(format!("{what} {v} is not a port number (0-65535)"))),
    }
}

fn protocols(p: Option<&str>) -> Vec<Protocol> {
    Protocol::parse_list(p.unwrap_or(""))
}

fn networking(app: &model::App) -> NetworkMode {
    let modes: Vec<&str> = app
        .networks
        .iter()
        .filter_map(|n| n.mode.as_deref())
        .collect();
    if !modes.is_empty() {
        return if modes.contains(&"container") {
            NetworkMode::Container
        } else if modes.contains(&"container/bridge") {
            NetworkMode::Bridge
        } else {
            NetworkMode::Host
        };
    }
    if app.ip_address.is_some() {
        return NetworkMode::Container;
    }
    let docker_network = app
        .container
        .as_ref()
        .and_then(|c| c.docker.as_ref())
        .and_then(|d| d.network.as_deref())
        .map(str::to_ascii_uppercase);
    match docker_network.as_deref() {
        Some("USER") => NetworkMode::Container,
        Some("BRIDGE") => NetworkMode::Bridge,
        _ => NetworkMode::Host,
    }
}

fn mappings(app: &model::App) -> Option<&Vec<model::PortMapping>> {
    let container = app.container.as_ref()?;
    container
        .port_mappings
        .as_ref()
        .filter(|m| !m.is_empty())
        .or_else(|| container.docker.as_ref()?.port_mappings.as_ref())
}

fn mapping_definitions(
    list: &[model::PortMapping],
) -> Result<Vec<PortDefinition>, DefinitionError> {
    list.iter()
        .map(|m| {
            Ok(PortDefinition {
                name: m.name.clone(),
                protocols: protocols(m.protocol.as_deref()),
                container_port: port_value(m.container_port, "containerPort")?,
                host_port: port_value(m.host_port, "hostPort")?,
                service_port: port_value(m.service_port, "servicePort")?.filter(|&p| p != 0),
                labels: m.labels.clone(),
            })
        })
        .collect()
}

fn port_definitions(
    app: &model::App,
    mode: NetworkMode,
) -> Result<Vec<PortDefinition>, DefinitionError> {
    if mode != NetworkMode::Host {
        if let Some(list) = mappings(app) {
            return mapping_definitions(list);
        }
        if let Some(discovery) = app.ip_address.as_ref().and_then(|i| i.discovery.as_ref()) {
            return discovery
                .ports
                .iter()
                .map(|p| {
                    Ok(PortDefinition {
                        name: p.name.clone(),
                        protocols: protocols(p.protocol.as_deref()),
                        container_port: port_value(p.number, "discovery port")?,
                        host_port: None,
                        service_port: None,
                        labels: p.labels.clone(),
                    })
                })
                .collect();
        }
        return Ok(Vec::new());
    }
    if let Some(defs) = &app.port_definitions {
        return defs
            .iter()
            .map(|d| {
                Ok(PortDefinition {
                    name: d.name.clone(),
                    protocols: protocols(d.protocol.as_deref()),
                    container_port: None,
                    host_port: None,
                    service_port: port_value(d.port, "port")?.filter(|&p| p != 0),
                    labels: d.labels.clone(),
                })
            })
            .collect();
    }
    if let Some(ports) = &app.ports {
        return ports
            .iter()
            .map(|&p| {
                Ok(PortDefinition {
                    name: None,
                    protocols: vec![Protocol::Tcp],
                    container_port: None,
                    host_port: None,
                    service_port: port_value(Some(p), "port")?.filter(|&p| p != 0),
                    labels: Default::default(),
                })
            })
            .collect();
    }
    Ok(Vec::new())
}

/// Normalises a Marathon app definition. Fails on an invalid app id or a port number out
/// of range (then the app is treated as having no usable definition).
pub fn app_definition(app: &model::App) -> Result<AppDefinition, DefinitionError> {
    let raw_id = app
        .id
        .as_deref()
        .ok_or_else(|| DefinitionError("the app definition has no id".into()))?;
    let app_id = AppId::parse(raw_id).map_err(|e| DefinitionError(e.to_string()))?;
    if app_id.is_root() {
        return Err(DefinitionError("the app id names the root group".into()));
    }
    let networking = networking(app);
    let version = app.version.clone().unwrap_or_default();
    let version_stamp = stamp_of(app.version.as_deref());
    Ok(AppDefinition {
        record: AppRecord {
            app_id,
            ports: port_definitions(app, networking)?,
            networking,
            labels: app.labels.clone(),
            health_checks: !app.health_checks.is_empty(),
            updated_at: version_stamp.clone().unwrap_or_else(epoch),
            version,
        },
        version: version_stamp,
        config_version: stamp_of(app.version_info.last_config_change_at.as_deref()),
    })
}

/// What is known of one task, from an event or from the REST API.
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
    /// The health verdict.
    pub health: Health,
}

/// The ports of a task: its host ports laid over the app's port definitions.
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

/// The facts of a REST task; `None` for a task without id. Invalid ports and IPs are
/// skipped (the REST answer is Marathon's own state, not input to reject).
pub fn facts_of(app_id: &AppId, task: &model::Task) -> Option<TaskFacts> {
    let task_id = task.id.clone()?;
    registry::validate_task_id(&task_id).ok()?;
    Some(TaskFacts {
        app_id: app_id.clone(),
        task_id,
        state: state_of(task),
        host: task.host.clone().unwrap_or_default(),
        agent_id: task.slave_id.clone(),
        task_ips: task
            .ip_addresses
            .iter()
            .filter_map(|i| {
                let ip = i.ip_address.as_deref()?.parse().ok()?;
                Some(TaskIp::new(ip, i.protocol.as_deref()))
            })
            .collect(),
        host_ports: task
            .ports
            .iter()
            .filter_map(|&p| u16::try_from(p).ok().filter(|&p| p != 0))
            .collect(),
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

/// Equal apart from `updated_at` (which only orders writes).
pub fn same_task(a: &TaskRecord, b: &TaskRecord) -> bool {
    a.app_id == b.app_id
        && a.task_id == b.task_id
        && a.instance_id == b.instance_id
        && a.agent_id == b.agent_id
        && a.host == b.host
        && a.agent_ips == b.agent_ips
        && a.task_ips == b.task_ips
        && a.ports == b.ports
        && a.state == b.state
        && a.health == b.health
        && a.app_version == b.app_version
}

/// Equal apart from `updated_at`.
pub fn same_app(a: &AppRecord, b: &AppRecord) -> bool {
    a.app_id == b.app_id
        && a.version == b.version
        && a.ports == b.ports
        && a.networking == b.networking
        && a.labels == b.labels
        && a.health_checks == b.health_checks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> serde_json::Value {
        let path = format!(
            "{}/../testdata/marathon/api/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("JSON")
    }

    fn apps(name: &str) -> Vec<model::App> {
        let list: model::AppList = serde_json::from_value(fixture(name)).unwrap();
        list.apps.unwrap()
    }

    #[test]
    fn marathon_1_5_bridge_with_container_port_mappings() {
        let app = &apps("real_v2_apps_embed_tasks_marathon1.5_marathon-lb.json")[0];
        let def = app_definition(app).unwrap();
        assert_eq!(def.record.networking, NetworkMode::Bridge);
        let task = &app.tasks.as_ref().unwrap()[0];
        let facts = facts_of(def.app_id(), task).unwrap();
        assert_eq!(facts.state, TaskState::Running);
        let rec = task_record(facts, Some(&def.record), vec![], observed_at(task));
        assert_eq!(
            rec.ports,
            vec![TaskPort {
                name: Some("test".into()),
                protocols: vec![Protocol::Tcp],
                container_port: Some(80),
                host_port: Some(1565),
                service_port: Some(10101),
            }]
        );
        assert_eq!(rec.task_ips, vec!["172.17.0.2".parse::<IpAddr>().unwrap()]);
        assert_eq!(rec.updated_at.as_str(), "2017-07-19T17:35:15.654Z");
        assert_eq!(rec.instance_id, None);
    }

    #[test]
    fn legacy_docker_bridge_mappings() {
        for app in apps("real_v2_apps_embed_tasks_legacy_docker_bridge_marathon-lb.json") {
            let def = app_definition(&app).unwrap();
            assert_eq!(def.record.networking, NetworkMode::Bridge, "{:?}", app.id);
            for task in app.tasks.as_deref().unwrap_or_default() {
                let facts = facts_of(def.app_id(), task).unwrap();
                let rec = task_record(facts, Some(&def.record), vec![], epoch());
                assert!(
                    rec.ports
                        .iter()
                        .all(|p| p.host_port.is_some() && p.container_port.is_some())
                );
            }
        }
    }

    #[test]
    fn healthchecks_fixture_gives_healthy_tasks() {
        let app = &apps("real_v2_apps_embed_tasks_healthchecks_marathon1.5_marathon-lb.json")[0];
        let def = app_definition(app).unwrap();
        assert!(def.record.health_checks);
        let task = &app.tasks.as_ref().unwrap()[0];
        assert_eq!(
            facts_of(def.app_id(), task).unwrap().health,
            Health::Healthy
        );
    }

    #[test]
    fn host_networking_with_port_definitions_and_legacy_ports() {
        let app: model::App = serde_json::from_str(
            r#"{"id":"/h","version":"2020-01-01T00:00:00.000Z",
                "portDefinitions":[{"port":10000,"name":"http","protocol":"tcp"},{"port":0,"protocol":"udp,tcp"}]}"#,
        )
        .unwrap();
        let def = app_definition(&app).unwrap();
        let ports = task_ports(Some(&def.record), &[31000, 31001, 31002]);
        assert_eq!(ports.len(), 3);
        assert_eq!(ports[0].name.as_deref(), Some("http"));
        assert_eq!(ports[0].service_port, Some(10000));
        assert_eq!(ports[1].protocols, vec![Protocol::Tcp, Protocol::Udp]);
        assert_eq!(ports[1].service_port, None);
        assert_eq!(ports[2].host_port, Some(31002));
        let old = apps("docs_v2_apps_list_v1.4.json");
        for app in &old {
            app_definition(app).unwrap();
        }
        let show: model::AppShow = serde_json::from_value(fixture(
            "real_v2_apps_show_marathon0.13_marathon-consul.json",
        ))
        .unwrap();
        let def = app_definition(show.app.as_ref().unwrap()).unwrap();
        assert_eq!(def.record.networking, NetworkMode::Host);
    }

    #[test]
    fn container_networking_ports_are_container_ports() {
        let v15: model::App = serde_json::from_str(
            r#"{"id":"/c","networks":[{"mode":"container","name":"dcos"}],
                "container":{"portMappings":[{"containerPort":8080,"name":"web"},{"containerPort":9000,"hostPort":0,"name":"adm"}]}}"#,
        )
        .unwrap();
        let def = app_definition(&v15).unwrap();
        assert_eq!(def.record.networking, NetworkMode::Container);
        let ports = task_ports(Some(&def.record), &[31005]);
        assert_eq!(ports[0].container_port, Some(8080));
        assert_eq!(ports[0].host_port, None);
        assert_eq!(ports[1].host_port, Some(31005));
        let v14: model::App = serde_json::from_str(
            r#"{"id":"/c","ipAddress":{"networkName":"n","discovery":{"ports":[{"number":80,"name":"http","protocol":"tcp"}]}}}"#,
        )
        .unwrap();
        let def = app_definition(&v14).unwrap();
        assert_eq!(def.record.networking, NetworkMode::Container);
        assert_eq!(
            task_ports(Some(&def.record), &[])[0].container_port,
            Some(80)
        );
    }

    #[test]
    fn definitions_describe_task_versions_since_the_last_config_change() {
        let app: model::App = serde_json::from_str(
            r#"{"id":"/v","version":"2020-01-03T00:00:00.000Z",
                "versionInfo":{"lastConfigChangeAt":"2020-01-02T00:00:00.000Z"}}"#,
        )
        .unwrap();
        let def = app_definition(&app).unwrap();
        assert!(def.describes(Some("2020-01-03T00:00:00.000Z")));
        assert!(def.describes(Some("2020-01-02T12:00:00.000Z")));
        assert!(!def.describes(Some("2020-01-01T00:00:00.000Z")));
        assert!(!def.describes(Some("2020-01-04T00:00:00.000Z")));
        assert!(def.describes(None));
    }

    #[test]
    fn bad_definitions_are_refused() {
        for body in [
            r#"{"id":"/Bad"}"#,
            r#"{}"#,
            r#"{"id":"/"}"#,
            r#"{"id":"/a","portDefinitions":[{"port":70000}]}"#,
        ] {
            let app: model::App = serde_json::from_str(body).unwrap();
            assert!(app_definition(&app).is_err(), "{body}");
        }
    }
}
