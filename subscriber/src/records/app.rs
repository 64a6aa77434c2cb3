//! App definitions: Marathon's app JSON (every version's port layout) normalised into the
//! registry's [`AppRecord`], with what tells which task versions a definition describes.

use registry::{AppId, AppRecord, NetworkMode, PortDefinition, Protocol, Stamp};

use super::{epoch, stamp_of};
use crate::marathon::model;

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
