//! `AppInfo`, the app JSON of `/v2/apps`: the fields both versions share, the health check,
//! the port lists, and the task counts. What differs by version is in `app_v1_4` and
//! `app_v1_10`.

use serde_json::{Map, Value, json};

use super::task::task_json;
use super::{app_v1_4, app_v1_10};
use crate::model::App;
use crate::{MarathonVersion, PortSpec, SimConfig};

/// The docker image of bridge and container apps: a placeholder, nothing is pulled.
pub(super) const IMAGE: &str = "registry.invalid/marathon-sim/placeholder:latest";
/// The command of the apps that have one.
pub(super) const CMD: &str = "sleep 3600 # simulated";

/// The app JSON (`AppInfo`) in the configured version's format. `embed_tasks` adds
/// `tasks`; `counts` adds the task counts and `deployments`.
pub(crate) fn app_json(cfg: &SimConfig, app: &App, embed_tasks: bool, counts: bool) -> Value {
    let mut o = common_fields(app);
    let v1_4 = cfg.version == MarathonVersion::V1_4;
    let checks = if app.spec.health_checks {
        vec![health_check_json(cfg.version, app)]
    } else {
        Vec::new()
    };
    // 1.4 always lists health checks; 1.10 leaves out an empty list.
    if v1_4 || !checks.is_empty() {
        o.insert("healthChecks".into(), json!(checks));
    }
    match cfg.version {
        MarathonVersion::V1_4 => app_v1_4::version_fields(&mut o, app),
        MarathonVersion::V1_10 => app_v1_10::version_fields(&mut o, app),
    }
    if counts {
        task_counts(&mut o, app);
    }
    if embed_tasks {
        let tasks = app.tasks.iter().map(|t| task_json(cfg, app, t, false));
        o.insert("tasks".into(), Value::Array(tasks.collect()));
    }
    Value::Object(o)
}

/// `{"apps": [...]}`, the body of `GET /v2/apps`.
pub(crate) fn apps_json<'a>(
    cfg: &SimConfig,
    apps: impl Iterator<Item = &'a App>,
    embed_tasks: bool,
) -> Value {
    let apps: Vec<Value> = apps.map(|a| app_json(cfg, a, embed_tasks, true)).collect();
    json!({ "apps": apps })
}

/// The app's one health check: HTTP on the first port, or a command without ports.
pub(crate) fn health_check_json(version: MarathonVersion, app: &App) -> Value {
    let port_index = if app.spec.ports.is_empty() {
        None
    } else {
        Some(0)
    };
    match (version, port_index) {
        (_, None) => json!({
            "protocol": "COMMAND", "command": {"value": "true"},
            "gracePeriodSeconds": 300, "intervalSeconds": 60, "timeoutSeconds": 20,
            "maxConsecutiveFailures": 3, "delaySeconds": 15
        }),
        (MarathonVersion::V1_4, Some(i)) => json!({
            "path": "/", "protocol": "HTTP", "portIndex": i, "gracePeriodSeconds": 300,
            "intervalSeconds": 60, "timeoutSeconds": 20, "maxConsecutiveFailures": 3,
            "ignoreHttp1xx": false
        }),
        (MarathonVersion::V1_10, Some(i)) => json!({
            "gracePeriodSeconds": 300, "intervalSeconds": 60, "maxConsecutiveFailures": 3,
            "path": "/", "portIndex": i, "protocol": "HTTP", "ipProtocol": "IPv4",
            "timeoutSeconds": 20, "delaySeconds": 15
        }),
    }
}

/// The fields every app has in both versions, with Marathon's defaults for what the
/// simulator does not model.
fn common_fields(app: &App) -> Map<String, Value> {
    let s = &app.spec;
    let mut o = Map::new();
    o.insert("id".into(), json!(s.id));
    o.insert("backoffFactor".into(), json!(1.15));
    o.insert("backoffSeconds".into(), json!(1));
    o.insert("cpus".into(), json!(0.1));
    o.insert("disk".into(), json!(0));
    o.insert("env".into(), json!({}));
    o.insert("executor".into(), json!(""));
    o.insert("instances".into(), json!(s.instances));
    o.insert("labels".into(), json!(s.labels));
    o.insert("maxLaunchDelaySeconds".into(), json!(3600));
    o.insert("mem".into(), json!(128));
    o.insert("gpus".into(), json!(0));
    o.insert("constraints".into(), json!([]));
    o.insert("fetch".into(), json!([]));
    o.insert("requirePorts".into(), json!(false));
    o.insert(
        "upgradeStrategy".into(),
        json!({"maximumOverCapacity": 1, "minimumHealthCapacity": 1}),
    );
    o.insert("version".into(), json!(app.version));
    o.insert(
        "versionInfo".into(),
        json!({"lastScalingAt": app.last_scaling_at, "lastConfigChangeAt": app.last_config_change_at}),
    );
    o.insert("killSelection".into(), json!("YOUNGEST_FIRST"));
    o.insert(
        "unreachableStrategy".into(),
        json!({"inactiveAfterSeconds": 300, "expungeAfterSeconds": 600}),
    );
    o
}

/// `tasksStaged`, `tasksRunning`, `tasksHealthy`, `tasksUnhealthy` and `deployments`.
fn task_counts(o: &mut Map<String, Value>, app: &App) {
    let running = app.running_tasks().count();
    let staged = app.tasks.len() - running;
    let (healthy, unhealthy) = if app.spec.health_checks {
        (
            app.tasks.iter().filter(|t| t.is_alive()).count(),
            app.tasks.iter().filter(|t| t.is_failing()).count(),
        )
    } else {
        (0, 0)
    };
    o.insert("tasksStaged".into(), json!(staged));
    o.insert("tasksRunning".into(), json!(running));
    o.insert("tasksHealthy".into(), json!(healthy));
    o.insert("tasksUnhealthy".into(), json!(unhealthy));
    o.insert("deployments".into(), json!([]));
}

/// `portDefinitions`: one per port, with its service port.
pub(super) fn port_definitions(app: &App) -> Value {
    let defs = app
        .spec
        .ports
        .iter()
        .zip(&app.service_ports)
        .map(|(p, sp)| {
            let mut d = Map::new();
            d.insert("port".into(), json!(sp));
            insert_protocol_name_labels(&mut d, p);
            Value::Object(d)
        });
    Value::Array(defs.collect())
}

/// `portMappings`: one per port; `hostPort: 0` ("any") unless the task has no host ports
/// (container networking).
pub(super) fn port_mappings(app: &App, with_host_port: bool) -> Value {
    let mappings = app
        .spec
        .ports
        .iter()
        .zip(&app.service_ports)
        .zip(&app.container_ports)
        .map(|((p, sp), cp)| {
            let mut m = Map::new();
            m.insert("containerPort".into(), json!(cp));
            if with_host_port {
                m.insert("hostPort".into(), json!(0));
            }
            m.insert("servicePort".into(), json!(sp));
            insert_protocol_name_labels(&mut m, p);
            Value::Object(m)
        });
    Value::Array(mappings.collect())
}

/// The fields a port definition and a port mapping end with.
fn insert_protocol_name_labels(o: &mut Map<String, Value>, port: &PortSpec) {
    o.insert("protocol".into(), json!(port.protocol));
    if let Some(n) = &port.name {
        o.insert("name".into(), json!(n));
    }
    o.insert("labels".into(), json!({}));
}
