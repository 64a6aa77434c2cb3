//! `EnrichedTask`, the task JSON of `/v2/apps/{id}/tasks`, `/v2/tasks` and embedded tasks,
//! and the tab-separated `text/plain` task list of `/v2/tasks`.

use serde_json::{Map, Value, json};

use super::{health_key_and_id, ip_addresses};
use crate::ids::safe_path;
use crate::model::{App, Health, Task};
use crate::{MarathonVersion, SimConfig};

/// One task (`EnrichedTask`) in the configured version's format; `with_service_ports` adds
/// `servicePorts` as `/v2/tasks` does.
pub(crate) fn task_json(cfg: &SimConfig, app: &App, t: &Task, with_service_ports: bool) -> Value {
    let v1_10 = cfg.version == MarathonVersion::V1_10;
    let agent = &cfg.agents[t.agent];
    let mut o = Map::new();
    o.insert("id".into(), json!(t.id));
    o.insert("appId".into(), json!(app.spec.id));
    o.insert("host".into(), json!(agent.host));
    o.insert("slaveId".into(), json!(agent.id));
    o.insert("state".into(), json!(t.state.mesos_name()));
    o.insert("ipAddresses".into(), ip_addresses(&t.ip));
    o.insert("ports".into(), json!(t.host_ports));
    o.insert("stagedAt".into(), json!(t.staged_at));
    if let Some(s) = &t.started_at {
        o.insert("startedAt".into(), json!(s));
    }
    o.insert("version".into(), json!(t.version));
    if with_service_ports {
        o.insert("servicePorts".into(), json!(app.service_ports));
    }
    // 1.10 always lists results; 1.4 only for apps with health checks.
    if v1_10 || app.spec.health_checks {
        let results = t.health.iter().map(|h| health_result(cfg, t, h));
        o.insert("healthCheckResults".into(), Value::Array(results.collect()));
    }
    if v1_10 {
        o.insert("localVolumes".into(), json!([]));
        o.insert("role".into(), json!("*"));
    }
    Value::Object(o)
}

/// One `healthCheckResults[]` entry.
fn health_result(cfg: &SimConfig, t: &Task, h: &Health) -> Value {
    let (key, id) = health_key_and_id(cfg, t);
    let mut r = Map::new();
    r.insert("alive".into(), json!(h.alive));
    r.insert("consecutiveFailures".into(), json!(h.consecutive_failures));
    r.insert("firstSuccess".into(), json!(h.first_success));
    r.insert("lastFailure".into(), json!(h.last_failure));
    r.insert("lastSuccess".into(), json!(h.last_success));
    r.insert("lastFailureCause".into(), json!(h.last_failure_cause));
    r.insert(key.into(), json!(id));
    Value::Object(r)
}

/// `GET /v2/tasks` with `Accept: text/plain`: per app and port index one line
/// `<safePath>\t<servicePort>\t<host>:<hostPort>\t...` over the running tasks.
pub(crate) fn tasks_text<'a>(cfg: &SimConfig, apps: impl Iterator<Item = &'a App>) -> String {
    let mut out = String::new();
    for app in apps {
        for (i, sp) in app.service_ports.iter().enumerate() {
            out.push_str(&format!("{}\t{}\t", safe_path(&app.spec.id), sp));
            for t in app.running_tasks() {
                if let Some(p) = t.host_ports.get(i) {
                    out.push_str(&format!("{}:{}\t", cfg.agents[t.agent].host, p));
                }
            }
            out.push('\n');
        }
    }
    out
}
