//! Marathon app definitions (the JSON an operator `POST`s to `/v2/apps`) turned into an
//! [`AppSpec`], in both the <= 1.4 shape (`container.docker.portMappings`, `ipAddress`,
//! `portDefinitions`, `ports`) and the 1.5+ shape (`networks`, `container.portMappings`).
//! Only what the simulator models is read; everything else (cmd, cpus, image, ...) is
//! accepted and ignored.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{AppSpec, Networking, PortSpec};

/// Builds an [`AppSpec`] from a Marathon app definition; the error names the bad field.
pub fn app_spec_from_definition(definition: &Value) -> Result<AppSpec, String> {
    let id = definition
        .get("id")
        .and_then(Value::as_str)
        .ok_or("the app definition needs a string \"id\"")?;
    let instances = match definition.get("instances") {
        None | Some(Value::Null) => 1,
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or("\"instances\" must be a non-negative integer")?,
    };
    let networking = networking(definition);
    let ports = match networking {
        Networking::Host => host_ports(definition)?,
        Networking::Bridge | Networking::Container => mapped_ports(definition)?,
    };
    let health_checks = definition
        .get("healthChecks")
        .and_then(Value::as_array)
        .is_some_and(|checks| !checks.is_empty());
    let labels = match definition.get("labels") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(format!("label {k:?} must be a string")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("\"labels\" must be an object of strings".into()),
    };
    Ok(AppSpec {
        id: id.to_string(),
        instances,
        ports,
        networking,
        health_checks,
        labels,
    })
}

fn networking(definition: &Value) -> Networking {
    let mode = definition
        .pointer("/networks/0/mode")
        .and_then(Value::as_str);
    match mode {
        Some("container/bridge") => return Networking::Bridge,
        Some("container") => return Networking::Container,
        Some(_) => return Networking::Host,
        None => {}
    }
    if definition.get("ipAddress").is_some_and(|v| !v.is_null()) {
        return Networking::Container;
    }
    match definition
        .pointer("/container/docker/network")
        .and_then(Value::as_str)
    {
        Some("BRIDGE") => Networking::Bridge,
        Some("USER") => Networking::Container,
        _ => Networking::Host,
    }
}

fn port(entry: &Value, number_key: &str) -> Result<PortSpec, String> {
    let name = entry
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string);
    let protocol = entry
        .get("protocol")
        .and_then(Value::as_str)
        .unwrap_or("tcp")
        .to_string();
    let container_port = match entry.get(number_key) {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| format!("\"{number_key}\" must be a port number"))?,
        ),
    };
    Ok(PortSpec {
        name,
        container_port,
        protocol,
    })
}

fn host_ports(definition: &Value) -> Result<Vec<PortSpec>, String> {
    if let Some(defs) = definition.get("portDefinitions").and_then(Value::as_array) {
        return defs
            .iter()
            .map(|d| {
                port(d, "containerPort").map(|p| PortSpec {
                    container_port: None,
                    ..p
                })
            })
            .collect();
    }
    if let Some(ports) = definition.get("ports").and_then(Value::as_array) {
        return Ok(ports.iter().map(|_| PortSpec::default()).collect());
    }
    Ok(vec![PortSpec::default()])
}

fn mapped_ports(definition: &Value) -> Result<Vec<PortSpec>, String> {
    let mappings = definition
        .pointer("/container/portMappings")
        .or_else(|| definition.pointer("/container/docker/portMappings"));
    if let Some(mappings) = mappings.and_then(Value::as_array) {
        return mappings.iter().map(|m| port(m, "containerPort")).collect();
    }
    if let Some(ports) = definition
        .pointer("/ipAddress/discovery/ports")
        .and_then(Value::as_array)
    {
        return ports.iter().map(|p| port(p, "number")).collect();
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_1_10_shape() {
        let spec = app_spec_from_definition(&json!({
            "id": "/db/mongodb", "instances": 2,
            "networks": [{"mode": "container/bridge"}],
            "container": {"type": "DOCKER", "docker": {"image": "mongo:4"},
                          "portMappings": [{"containerPort": 27017, "hostPort": 0, "name": "mongo"}]},
            "healthChecks": [{"protocol": "MESOS_TCP", "portIndex": 0}],
            "labels": {"team": "rsvp"}
        }))
        .unwrap();
        assert_eq!(spec.id, "/db/mongodb");
        assert_eq!(spec.instances, 2);
        assert_eq!(spec.networking, Networking::Bridge);
        assert_eq!(
            spec.ports,
            vec![PortSpec::new(Some("mongo"), Some(27017), "tcp")]
        );
        assert!(spec.health_checks);
        assert_eq!(spec.labels.get("team").map(String::as_str), Some("rsvp"));
    }

    #[test]
    fn reads_the_1_4_shapes() {
        let bridge = app_spec_from_definition(&json!({
            "id": "web", "container": {"docker": {"network": "BRIDGE",
                "portMappings": [{"containerPort": 80, "protocol": "udp,tcp", "name": "http"}]}}
        }))
        .unwrap();
        assert_eq!(bridge.networking, Networking::Bridge);
        assert_eq!(bridge.instances, 1);
        assert_eq!(
            bridge.ports,
            vec![PortSpec::new(Some("http"), Some(80), "udp,tcp")]
        );
        let ip = app_spec_from_definition(&json!({
            "id": "/x", "ipAddress": {"discovery": {"ports": [{"number": 8080, "name": "api", "protocol": "tcp"}]}}
        }))
        .unwrap();
        assert_eq!(ip.networking, Networking::Container);
        assert_eq!(
            ip.ports,
            vec![PortSpec::new(Some("api"), Some(8080), "tcp")]
        );
        let host = app_spec_from_definition(&json!({
            "id": "/h", "portDefinitions": [{"port": 0, "name": "http"}, {"port": 0, "protocol": "udp"}]
        }))
        .unwrap();
        assert_eq!(host.networking, Networking::Host);
        assert_eq!(
            host.ports,
            vec![
                PortSpec::new(Some("http"), None, "tcp"),
                PortSpec::new(None, None, "udp")
            ]
        );
    }

    #[test]
    fn names_the_bad_field() {
        assert!(
            app_spec_from_definition(&json!({"instances": 1}))
                .unwrap_err()
                .contains("id")
        );
        assert!(
            app_spec_from_definition(&json!({"id": "/a", "instances": -1}))
                .unwrap_err()
                .contains("instances")
        );
        assert!(
            app_spec_from_definition(&json!({"id": "/a", "labels": {"k": 1}}))
                .unwrap_err()
                .contains("label")
        );
    }

    #[test]
    fn the_docs_app_definition_parses() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/marathon/api/docs_app_definition_head.json"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let spec = app_spec_from_definition(&serde_json::from_str(&text).unwrap()).unwrap();
        assert!(!spec.id.is_empty());
    }
}
