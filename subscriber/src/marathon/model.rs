//! Marathon's JSON shapes, tolerant of every version from 0.x to 1.10: the REST API's
//! (apps, tasks, port layouts) and the events' (a task's status, health verdicts, app
//! changes). Every field is optional, `null` reads as absent, unknown fields are ignored
//! (`marathon::json` reads them). A task has the same shapes in both (`ipAddresses`,
//! `ports`); numbers that must be ports stay `i64` here and are range-checked where they
//! are used ([`crate::records::host_ports`]), so one odd value does not make a whole
//! listing unreadable.
//!
//! The shapes come from Marathon's docs and real captures (`testdata/marathon/`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::json::{self, labels, nullable};

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
    #[serde(deserialize_with = "json::text")]
    pub id: Option<String>,
    /// The app id.
    #[serde(deserialize_with = "json::text")]
    pub app_id: Option<String>,
    /// The agent's host name.
    #[serde(deserialize_with = "json::text")]
    pub host: Option<String>,
    /// The Mesos agent id.
    #[serde(deserialize_with = "json::text")]
    pub slave_id: Option<String>,
    /// `TASK_*` (absent before 0.15.5 / 1.1.2).
    #[serde(deserialize_with = "json::text")]
    pub state: Option<String>,
    /// Host ports.
    #[serde(deserialize_with = "json::port_numbers")]
    pub ports: Vec<i64>,
    /// The task's IP addresses.
    #[serde(deserialize_with = "json::objects")]
    pub ip_addresses: Vec<IpAddress>,
    /// When the task was staged.
    #[serde(deserialize_with = "json::text")]
    pub staged_at: Option<String>,
    /// When the task started running.
    #[serde(deserialize_with = "json::text")]
    pub started_at: Option<String>,
    /// The app version the task was launched with.
    #[serde(deserialize_with = "json::text")]
    pub version: Option<String>,
    /// Health check results.
    #[serde(deserialize_with = "nullable")]
    pub health_check_results: Vec<HealthCheckResult>,
}

/// `ipAddresses[]` (of a REST task and of a `status_update_event`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IpAddress {
    /// The address.
    #[serde(deserialize_with = "json::text")]
    pub ip_address: Option<String>,
    /// `IPv4` or `IPv6`.
    #[serde(deserialize_with = "json::text")]
    pub protocol: Option<String>,
}

/// `healthCheckResults[]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct HealthCheckResult {
    /// The verdict.
    pub alive: Option<bool>,
}

/// `status_update_event`: a task changed state (every version).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StatusUpdateEvent {
    /// The task id.
    #[serde(deserialize_with = "json::text")]
    pub task_id: Option<String>,
    /// The app id (absent in some versions: the task id names the app).
    #[serde(deserialize_with = "json::text")]
    pub app_id: Option<String>,
    /// `TASK_*`.
    #[serde(deserialize_with = "json::text")]
    pub task_status: Option<String>,
    /// The agent's host name.
    #[serde(deserialize_with = "json::text")]
    pub host: Option<String>,
    /// The Mesos agent id.
    #[serde(deserialize_with = "json::text")]
    pub slave_id: Option<String>,
    /// The task's IP addresses.
    #[serde(deserialize_with = "json::objects")]
    pub ip_addresses: Vec<IpAddress>,
    /// Host ports.
    #[serde(deserialize_with = "json::port_numbers")]
    pub ports: Vec<i64>,
    /// The app version the task runs.
    #[serde(deserialize_with = "json::text")]
    pub version: Option<String>,
}

/// `instance_health_changed_event` (1.4+).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InstanceHealthChangedEvent {
    /// The app id.
    #[serde(deserialize_with = "json::text")]
    pub run_spec_id: Option<String>,
    /// The instance id.
    #[serde(deserialize_with = "json::text")]
    pub instance_id: Option<String>,
    /// A task id, in place of the instance id.
    #[serde(deserialize_with = "json::text")]
    pub task_id: Option<String>,
    /// The verdict; `null` while unknown.
    #[serde(deserialize_with = "json::flag")]
    pub healthy: Option<bool>,
}

/// `health_status_changed_event` (≤1.3: `taskId`; 1.4: `instanceId`; 1.5+: `taskId`
/// holding an instance id).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HealthStatusChangedEvent {
    /// The app id.
    #[serde(deserialize_with = "json::text")]
    pub app_id: Option<String>,
    /// The instance id.
    #[serde(deserialize_with = "json::text")]
    pub instance_id: Option<String>,
    /// The task (or instance) id.
    #[serde(deserialize_with = "json::text")]
    pub task_id: Option<String>,
    /// The verdict.
    #[serde(deserialize_with = "json::flag")]
    pub alive: Option<bool>,
}

/// `failed_health_check_event`: the instance failed a check.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FailedHealthCheckEvent {
    /// The app id.
    #[serde(deserialize_with = "json::text")]
    pub app_id: Option<String>,
    /// The instance id.
    #[serde(deserialize_with = "json::text")]
    pub instance_id: Option<String>,
    /// The task (or instance) id.
    #[serde(deserialize_with = "json::text")]
    pub task_id: Option<String>,
}

/// `app_terminated_event`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AppTerminatedEvent {
    /// The app id.
    #[serde(deserialize_with = "json::text")]
    pub app_id: Option<String>,
}

/// `api_post_event`: an app was created or changed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiPostEvent {
    /// The new definition (absent for other API calls).
    pub app_definition: Option<App>,
}

/// Every event's `timestamp` (read after the rest of the event).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct EventTime {
    /// Marathon's time of the event.
    #[serde(deserialize_with = "json::text")]
    pub timestamp: Option<String>,
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
