//! What only Marathon 1.10's `AppInfo` has: `role`, and the 1.5+ networking shapes
//! (`networks[].mode`, `container.portMappings`; `portDefinitions` only for host
//! networking).

use serde_json::{Map, Value, json};

use super::app::{CMD, IMAGE, port_definitions, port_mappings};
use crate::Networking;
use crate::model::App;

/// Adds 1.10's own fields and its networking to `o`.
pub(super) fn version_fields(o: &mut Map<String, Value>, app: &App) {
    o.insert("role".into(), json!("*"));
    o.insert("cmd".into(), json!(CMD));
    match app.spec.networking {
        Networking::Host => {
            o.insert("networks".into(), json!([{"mode": "host"}]));
            o.insert("portDefinitions".into(), port_definitions(app));
        }
        Networking::Bridge => {
            o.insert(
                "container".into(),
                docker_container(port_mappings(app, true)),
            );
            o.insert("networks".into(), json!([{"mode": "container/bridge"}]));
        }
        Networking::Container => {
            // Container networking maps no host ports, so the mappings have no `hostPort`.
            o.insert(
                "container".into(),
                docker_container(port_mappings(app, false)),
            );
            o.insert(
                "networks".into(),
                json!([{"mode": "container", "name": "dcos"}]),
            );
        }
    }
}

/// A docker `container` with `port_mappings`.
fn docker_container(port_mappings: Value) -> Value {
    json!({
        "type": "DOCKER",
        "docker": {"forcePullImage": false, "image": IMAGE, "parameters": [], "privileged": false},
        "volumes": [],
        "portMappings": port_mappings
    })
}
