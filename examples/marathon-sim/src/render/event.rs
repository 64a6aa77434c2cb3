//! Every event the simulator publishes, in Marathon's field order. Each takes its
//! `timestamp` from the caller, which owns the clock and so the order of timestamps.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::app::{app_json, health_check_json};
use super::{health_key_and_id, ip_addresses, ordered_json};
use crate::bus::BusEvent;
use crate::model::{App, Task};
use crate::{MarathonVersion, SimConfig};

fn event(event_type: &str, fields: &[(&str, Value)]) -> Arc<BusEvent> {
    BusEvent::new(event_type, ordered_json(fields))
}

/// `status_update_event`: the task is now in `task.state`.
pub(crate) fn status_update(
    cfg: &SimConfig,
    app: &App,
    task: &Task,
    message: &str,
    ts: &str,
) -> Arc<BusEvent> {
    let kind = "status_update_event";
    let agent = &cfg.agents[task.agent];
    event(
        kind,
        &[
            ("slaveId", json!(agent.id)),
            ("taskId", json!(task.id)),
            ("taskStatus", json!(task.state.mesos_name())),
            ("message", json!(message)),
            ("appId", json!(app.spec.id)),
            ("host", json!(agent.host)),
            ("ipAddresses", ip_addresses(&task.ip)),
            ("ports", json!(task.host_ports)),
            ("version", json!(task.version)),
            ("eventType", json!(kind)),
            ("timestamp", json!(ts)),
        ],
    )
}

/// `instance_changed_event`: the instance's condition follows its task's state.
pub(crate) fn instance_changed(cfg: &SimConfig, app: &App, task: &Task, ts: &str) -> Arc<BusEvent> {
    let kind = "instance_changed_event";
    let agent = &cfg.agents[task.agent];
    event(
        kind,
        &[
            ("instanceId", json!(task.instance_id)),
            ("condition", json!(task.state.condition())),
            ("runSpecId", json!(app.spec.id)),
            ("agentId", json!(agent.id)),
            ("host", json!(agent.host)),
            ("runSpecVersion", json!(task.version)),
            ("timestamp", json!(ts)),
            ("eventType", json!(kind)),
        ],
    )
}

/// `failed_health_check_event`: one failed check, sent on every failure.
pub(crate) fn failed_health_check(
    cfg: &SimConfig,
    app: &App,
    task: &Task,
    ts: &str,
) -> Arc<BusEvent> {
    let kind = "failed_health_check_event";
    let (key, id) = if cfg.legacy_health_keys {
        ("taskId", task.id.as_str())
    } else if cfg.version == MarathonVersion::V1_10 {
        // 1.5+ kept the key `taskId` but puts the instance id in it.
        ("taskId", task.instance_id.as_str())
    } else {
        ("instanceId", task.instance_id.as_str())
    };
    event(
        kind,
        &[
            ("appId", json!(app.spec.id)),
            ("eventType", json!(kind)),
            ("healthCheck", health_check_json(cfg.version, app)),
            (key, json!(id)),
            ("timestamp", json!(ts)),
        ],
    )
}

/// `health_status_changed_event`: the task's health flipped to `alive`.
pub(crate) fn health_status_changed(
    cfg: &SimConfig,
    app: &App,
    task: &Task,
    alive: bool,
    ts: &str,
) -> Arc<BusEvent> {
    let kind = "health_status_changed_event";
    let (key, id) = health_key_and_id(cfg, task);
    event(
        kind,
        &[
            ("appId", json!(app.spec.id)),
            (key, json!(id)),
            ("version", json!(task.version)),
            ("alive", json!(alive)),
            ("eventType", json!(kind)),
            ("timestamp", json!(ts)),
        ],
    )
}

/// `instance_health_changed_event`: the instance's health flipped to `healthy`.
pub(crate) fn instance_health_changed(
    app: &App,
    task: &Task,
    healthy: bool,
    ts: &str,
) -> Arc<BusEvent> {
    let kind = "instance_health_changed_event";
    event(
        kind,
        &[
            ("instanceId", json!(task.instance_id)),
            ("runSpecId", json!(app.spec.id)),
            ("healthy", json!(healthy)),
            ("runSpecVersion", json!(task.version)),
            ("timestamp", json!(ts)),
            ("eventType", json!(kind)),
        ],
    )
}

/// `api_post_event`: `client_ip` changed the app through `uri`; carries the new definition.
pub(crate) fn api_post(
    cfg: &SimConfig,
    app: &App,
    client_ip: &str,
    uri: &str,
    ts: &str,
) -> Arc<BusEvent> {
    let kind = "api_post_event";
    event(
        kind,
        &[
            ("clientIp", json!(client_ip)),
            ("uri", json!(uri)),
            ("appDefinition", app_json(cfg, app, false, false)),
            ("eventType", json!(kind)),
            ("timestamp", json!(ts)),
        ],
    )
}

/// `app_terminated_event`: the app and all its tasks are gone.
pub(crate) fn app_terminated(app_id: &str, ts: &str) -> Arc<BusEvent> {
    let kind = "app_terminated_event";
    event(
        kind,
        &[
            ("appId", json!(app_id)),
            ("eventType", json!(kind)),
            ("timestamp", json!(ts)),
        ],
    )
}

/// `event_stream_attached`: an SSE client at `remote` connected.
pub(crate) fn event_stream_attached(remote: &str, ts: &str) -> Arc<BusEvent> {
    event_stream("event_stream_attached", remote, ts)
}

/// `event_stream_detached`: the SSE client at `remote` went away.
pub(crate) fn event_stream_detached(remote: &str, ts: &str) -> Arc<BusEvent> {
    event_stream("event_stream_detached", remote, ts)
}

fn event_stream(kind: &str, remote: &str, ts: &str) -> Arc<BusEvent> {
    event(
        kind,
        &[
            ("remoteAddress", json!(remote)),
            ("eventType", json!(kind)),
            ("timestamp", json!(ts)),
        ],
    )
}

/// Whether a callback URL was added or removed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Subscription {
    Subscribe,
    Unsubscribe,
}

/// `subscribe_event` / `unsubscribe_event`, and the answer to the request that caused it,
/// which carries the same fields.
pub(crate) fn subscription(
    change: Subscription,
    client_ip: &str,
    callback_url: &str,
    ts: &str,
) -> (Arc<BusEvent>, Value) {
    let kind = match change {
        Subscription::Subscribe => "subscribe_event",
        Subscription::Unsubscribe => "unsubscribe_event",
    };
    let fields = [
        ("clientIp", json!(client_ip)),
        ("callbackUrl", json!(callback_url)),
        ("eventType", json!(kind)),
        ("timestamp", json!(ts)),
    ];
    let answer: Map<String, Value> = fields
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect();
    (event(kind, &fields), Value::Object(answer))
}
