//! What only Marathon 1.4's `AppInfo` has: the fields 1.5 removed, and the legacy
//! networking shapes (`ports` + `portDefinitions`, `container.docker.network` with
//! `container.docker.portMappings`, and `ipAddress.discovery`).

use serde_json::{Map, Value, json};

use super::app::{CMD, IMAGE, port_definitions, port_mappings};
use crate::Networking;
use crate::model::App;

/// Adds 1.4's own fields and its networking to `o`.
pub(super) fn version_fields(o: &mut Map<String, Value>, app: &App) {
    o.insert("args".into(), Value::Null);
    o.insert("user".into(), Value::Null);
    o.insert("uris".into(), json!([]));
    o.insert("storeUrls".into(), json!([]));
    o.insert("dependencies".into(), json!([]));
    o.insert("readinessChecks".into(), json!([]));
    o.insert("secrets".into(), json!({}));
    o.insert("residency".into(), Value::Null);
    o.insert("taskKillGracePeriodSeconds".into(), Value::Null);
    match app.spec.networking {
        Networking::Host => {
            o.insert("cmd".into(), json!(CMD));
            o.insert("container".into(), Value::Null);
            o.insert("ipAddress".into(), Value::Null);
            o.insert("ports".into(), json!(app.service_ports));
            o.insert("portDefinitions".into(), port_definitions(app));
        }
        Networking::Bridge => {
            o.insert("cmd".into(), Value::Null);
            o.insert(
                "container".into(),
                json!({
                    "type": "DOCKER",
                    "volumes": [],
                    "docker": {
                        "image": IMAGE,
                        "network": "BRIDGE",
                        "portMappings": port_mappings(app, true),
                        "privileged": false,
                        "parameters": [],
                        "forcePullImage": false
                    }
                }),
            );
            o.insert("ipAddress".into(), Value::Null);
            o.insert("ports".into(), json!(app.service_ports));
            o.insert("portDefinitions".into(), port_definitions(app));
        }
        Networking::Container => {
            o.insert("cmd".into(), json!(CMD));
            o.insert("container".into(), Value::Null);
            o.insert(
                "ipAddress".into(),
                json!({
                    "groups": [],
                    "labels": {},
                    "discovery": {"ports": discovery_ports(app)},
                    "networkName": "dcos"
                }),
            );
        }
    }
}

/// `ipAddress.discovery.ports`: container ports, named `port<i>` when the app does not name
/// them.
fn discovery_ports(app: &App) -> Vec<Value> {
    app.spec
        .ports
        .iter()
        .zip(&app.container_ports)
        .enumerate()
        .map(|(i, (p, cp))| {
            json!({
                "number": cp,
                "name": p.name.clone().unwrap_or_else(|| format!("port{i}")),
                "protocol": p.protocol
            })
        })
        .collect()
}
