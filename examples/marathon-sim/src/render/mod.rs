//! Marathon's JSON, one renderer per shape: `app` (`AppInfo`, the fields both versions
//! share) with `app_v1_4` and `app_v1_10` (what only that version has), `task`
//! (`EnrichedTask` and the `text/plain` task list), `event` (every event the simulator
//! publishes) and `info` (`/v2/info`). Renderers read the model and never change it.
//!
//! REST bodies are `serde_json` maps (keys come out sorted; clients and the fixture tests
//! read them as objects). Events are written field by field with [`ordered_json`], in
//! Marathon's own field order, because clients may read the event text as it comes.

pub(crate) mod app;
mod app_v1_10;
mod app_v1_4;
pub(crate) mod event;
pub(crate) mod info;
pub(crate) mod task;

use serde_json::{Value, json};

use crate::SimConfig;
use crate::model::Task;

/// Serializes `fields` as one JSON object, keeping the given key order (Marathon's
/// serializers keep the case-class field order; `serde_json::Map` would sort them).
pub(crate) fn ordered_json(fields: &[(&str, Value)]) -> String {
    let mut s = String::with_capacity(256);
    s.push('{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&Value::String((*k).to_string()).to_string());
        s.push(':');
        s.push_str(&v.to_string());
    }
    s.push('}');
    s
}

/// A task's `ipAddresses`: its one address, or none.
fn ip_addresses(ip: &Option<String>) -> Value {
    match ip {
        Some(ip) => {
            let proto = if ip.contains(':') { "IPv6" } else { "IPv4" };
            json!([{ "ipAddress": ip, "protocol": proto }])
        }
        None => json!([]),
    }
}

/// The key that names a task in health results and `health_status_changed_event`, and its
/// value: 1.4+ names the instance, <= 1.3 (`legacy_health_keys`) the task.
fn health_key_and_id<'a>(cfg: &SimConfig, task: &'a Task) -> (&'static str, &'a str) {
    if cfg.legacy_health_keys {
        ("taskId", &task.id)
    } else {
        ("instanceId", &task.instance_id)
    }
}
