//! Marathon's REST shapes (apps, tasks, port layouts), tolerant of every version from 0.x
//! to 1.10: every field is optional, `null` reads as absent, unknown fields are ignored.
//! Numbers that must be ports stay `i64` here and are range-checked where they are used,
//! so one odd value does not make a whole listing unreadable.
//!
//! The shapes come from Marathon's docs and real captures (`testdata/marathon/`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// `null` or absent reads as the type's default.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Labels: string values are kept, numbers and booleans are turned into strings, anything
/// else is dropped (Marathon itself only allows strings).
fn labels<'de, D>(d: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw: Option<BTreeMap<String, serde_json::Value>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k, s)),
            serde_json::Value::Number(n) => Some((k, n.to_string())),
            serde_json::Value::Bool(b) => Some((k, b.to_string())),
            _ => None,
        })
        .collect())
}

/// `GET /v2/apps` (`{"apps": [...]}`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AppList {
    /// The apps; `None` when the member is missing (an error answer, not "no apps").
    #[serde(default)]
    pub apps: Option<Vec<App>>,
}

/// `GET /v2/apps/{id}` (`{"app": {...}}`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AppShow {
    /// The app.
    #[serde(default)]
    pub app: Option<App>,
}

/// An app definition (AppInfo), with its tasks when embedded.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct App {
    /// The app id (`/prod/web`).
    pub id: Option<String>,
    /// The app version (a timestamp; changes on scaling too).
    pub version: Option<String>,
    /// When the configuration (not the scale) last changed.
    #[serde(deserialize_with = "nullable")]
    pub version_info: VersionInfo,
    /// Labels.
    #[serde(deserialize_with = "labels")]
    pub labels: BTreeMap<String, String>,
    /// Host-networking ports (≤1.4 always, 1.5+ only with host networking).
    pub port_definitions: Option<Vec<PortDefinition>>,
    /// Legacy service ports (0.x).
    pub ports: Option<Vec<i64>>,
    /// ≤1.4 per-task IP (`ipAddress`), or `null`.
    pub ip_address: Option<IpAddressSpec>,
    /// The container (Docker or Mesos).
    pub container: Option<Container>,
    /// 1.5+ networks.
    #[serde(deserialize_with = "nullable")]
    pub networks: Vec<Network>,
    /// Health checks (only their presence matters here).
    #[serde(deserialize_with = "nullable")]
    pub health_checks: Vec<serde_json::Value>,
    /// Embedded tasks (`embed=apps.tasks`); `None` when not embedded.
    pub tasks: Option<Vec<Task>>,
}

/// `versionInfo`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VersionInfo {
    /// The last configuration change.
    pub last_config_change_at: Option<String>,
    /// The last scaling.
    pub last_scaling_at: Option<String>,
}

/// `portDefinitions[]`: `port` is the service port.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PortDefinition {
    /// The (service) port; 0 means "assign one".
    pub port: Option<i64>,
    /// `tcp`, `udp` or `udp,tcp`.
    pub protocol: Option<String>,
    /// The port's name.
    pub name: Option<String>,
    /// Port labels.
    #[serde(deserialize_with = "labels")]
    pub labels: BTreeMap<String, String>,
}

/// ≤1.4 `ipAddress`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IpAddressSpec {
    /// The network's name.
    pub network_name: Option<String>,
    /// Discovery info with the container ports.
    pub discovery: Option<Discovery>,
}

/// ≤1.4 `ipAddress.discovery`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Discovery {
    /// Container ports.
    #[serde(deserialize_with = "nullable")]
    pub ports: Vec<DiscoveryPort>,
}

/// ≤1.4 `ipAddress.discovery.ports[]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct DiscoveryPort {
    /// The container port.
    pub number: Option<i64>,
    /// The port's name.
    pub name: Option<String>,
    /// The protocol.
    pub protocol: Option<String>,
    /// Port labels.
    #[serde(deserialize_with = "labels")]
    pub labels: BTreeMap<String, String>,
}

/// `container`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Container {
    /// `DOCKER` or `MESOS`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Docker settings (≤1.4: also the network and the port mappings).
    pub docker: Option<Docker>,
    /// 1.5+ port mappings.
    pub port_mappings: Option<Vec<PortMapping>>,
}

/// `container.docker`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Docker {
    /// ≤1.4: `HOST`, `BRIDGE`, `USER` or `NONE`.
    pub network: Option<String>,
    /// ≤1.4 port mappings.
    pub port_mappings: Option<Vec<PortMapping>>,
}

/// A port mapping (either shape).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PortMapping {
    /// The container port; 0 means "same as the host port".
    pub container_port: Option<i64>,
    /// The host port; 0 means dynamic, absent (1.5+) means none.
    pub host_port: Option<i64>,
    /// The service port.
    pub service_port: Option<i64>,
    /// `tcp`, `udp` or `udp,tcp`.
    pub protocol: Option<String>,
    /// The port's name.
    pub name: Option<String>,
    /// Port labels.
    #[serde(deserialize_with = "labels")]
    pub labels: BTreeMap<String, String>,
}

/// 1.5+ `networks[]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Network {
    /// `host`, `container/bridge` or `container`.
    pub mode: Option<String>,
    /// The network's name.
    pub name: Option<String>,
}

/// A task as the REST API shows it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Task {
    /// The task id.
    pub id: Option<String>,
    /// The app id.
    pub app_id: Option<String>,
    /// The agent's host name.
    pub host: Option<String>,
    /// The Mesos agent id.
    pub slave_id: Option<String>,
    /// `TASK_*` (absent before 0.15.5 / 1.1.2).
    pub state: Option<String>,
    /// Host ports.
    #[serde(deserialize_with = "nullable")]
    pub ports: Vec<i64>,
    /// The task's IP addresses.
    #[serde(deserialize_with = "nullable")]
    pub ip_addresses: Vec<IpAddress>,
    /// When the task was staged.
    pub staged_at: Option<String>,
    /// When the task started running.
    pub started_at: Option<String>,
    /// The app version the task was launched with.
    pub version: Option<String>,
    /// Health check results.
    #[serde(deserialize_with = "nullable")]
    pub health_check_results: Vec<HealthCheckResult>,
}

/// `ipAddresses[]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IpAddress {
    /// The address.
    pub ip_address: Option<String>,
    /// `IPv4` or `IPv6`.
    pub protocol: Option<String>,
}

/// `healthCheckResults[]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct HealthCheckResult {
    /// The verdict.
    pub alive: Option<bool>,
}

/// `POST /v2/eventSubscriptions` answers.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Subscription {
    /// The registered URL.
    pub callback_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_and_odd_values_read_as_absent() {
        let app: App = serde_json::from_str(
            r#"{"id":"/a","container":null,"ipAddress":null,"networks":null,"labels":{"a":"b","n":1,"o":{}},
                "tasks":[{"id":"a.1","ports":null,"ipAddresses":null,"healthCheckResults":[{"alive":true,"lastFailure":null}]}],
                "versionInfo":null,"unknownField":[1,2]}"#,
        )
        .unwrap();
        assert!(app.container.is_none() && app.ip_address.is_none());
        assert_eq!(app.labels.len(), 2);
        let tasks = app.tasks.unwrap();
        assert!(tasks[0].ports.is_empty());
        assert_eq!(tasks[0].health_check_results[0].alive, Some(true));
    }

    #[test]
    fn a_missing_apps_member_is_not_an_empty_list() {
        let list: AppList = serde_json::from_str(r#"{"message":"oops"}"#).unwrap();
        assert!(list.apps.is_none());
    }
}
