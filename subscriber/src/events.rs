//! Decoding a Marathon event (a callback body or an SSE `data:` payload) into a typed
//! [`Event`], validating everything that will become part of an etcd key or record.
//!
//! An event's members are read into Marathon's own shapes ([`model`]: the same
//! `ipAddresses` and `ports` a REST task has), and a task is checked where a REST task is
//! ([`records::host_ports`], [`records::reported_ips`]) into the one [`TaskFacts`] both
//! become.
//!
//! Errors split in two: a body that is not a JSON object with an `eventType` is a *bad
//! request* (400); an event whose members are of the wrong kind, or whose ids, ports,
//! addresses or timestamp are unusable, is *unprocessable* (422) and nothing of it is
//! written. The message names the member (`ports[1] = 65536 is not a port number
//! (1-65535)`). Unknown event types decode fine, as [`Event::Ignored`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use registry::{AppId, Health, Stamp, TaskState};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::marathon::{ids, model};
use crate::records::{self, AppDefinition, TaskFacts};

/// How far ahead of the subscriber's clock a Marathon timestamp may be by default
/// (`--max-clock-skew`).
pub const DEFAULT_MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// Every event type Marathon (0.x to 1.10) is known to emit; anything else is counted as
/// `unknown` (so that metrics labels stay bounded whatever a client sends).
pub const KNOWN_TYPES: &[&str] = &[
    "status_update_event",
    "instance_changed_event",
    "unknown_instance_terminated_event",
    "instance_health_changed_event",
    "health_status_changed_event",
    "failed_health_check_event",
    "unhealthy_task_kill_event",
    "unhealthy_instance_kill_event",
    "add_health_check_event",
    "remove_health_check_event",
    "api_post_event",
    "app_terminated_event",
    "pod_created_event",
    "pod_updated_event",
    "pod_deleted_event",
    "subscribe_event",
    "unsubscribe_event",
    "event_stream_attached",
    "event_stream_detached",
    "framework_message_event",
    "scheduler_registered_event",
    "scheduler_reregistered_event",
    "scheduler_disconnected_event",
    "group_change_success",
    "group_change_failed",
    "deployment_success",
    "deployment_failed",
    "deployment_info",
    "deployment_step_success",
    "deployment_step_failure",
];

/// The event types Herald acts on: the SSE client asks Marathon for these only.
pub const HANDLED_TYPES: &[&str] = &[
    "status_update_event",
    "instance_health_changed_event",
    "health_status_changed_event",
    "failed_health_check_event",
    "app_terminated_event",
    "api_post_event",
];

/// The metrics label of an event type: the type itself when known, else `unknown`.
pub fn type_label(event_type: &str) -> &'static str {
    KNOWN_TYPES
        .iter()
        .find(|t| **t == event_type)
        .copied()
        .unwrap_or("unknown")
}

/// A task changed state (`status_update_event`).
#[derive(Clone, Debug, PartialEq)]
pub struct StatusUpdate {
    /// The task as the event reports it (a status event carries no health verdict: its
    /// health is [`Health::Unknown`]).
    pub task: TaskFacts,
    /// Marathon's timestamp.
    pub at: Stamp,
}

/// A health verdict for a task or an instance (every version's health event).
#[derive(Clone, Debug, PartialEq)]
pub struct HealthUpdate {
    /// The app.
    pub app_id: AppId,
    /// The instance key the event names (see [`ids::instance_key`]).
    pub instance_key: String,
    /// The id as the event carried it.
    pub target: String,
    /// The verdict.
    pub health: Health,
    /// Marathon's timestamp.
    pub at: Stamp,
}

/// A decoded event.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// `status_update_event`.
    Status(StatusUpdate),
    /// `instance_health_changed_event`, `health_status_changed_event`,
    /// `failed_health_check_event`.
    Health(HealthUpdate),
    /// `app_terminated_event`: the app and its tasks go.
    AppTerminated {
        /// The app.
        app_id: AppId,
        /// Marathon's timestamp.
        at: Stamp,
    },
    /// `api_post_event`: an app was created or changed; its definition is inline.
    AppChanged {
        /// The new definition.
        definition: Box<AppDefinition>,
        /// Marathon's timestamp.
        at: Stamp,
    },
    /// Anything else: counted and ignored.
    Ignored,
}

/// A decoded event with its type's metrics label.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// [`type_label`] of the event's type.
    pub label: &'static str,
    /// The event.
    pub event: Event,
}

/// Why a body is not a usable event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON, but not an object.
    #[error("expected a JSON object (a Marathon event), found {0}")]
    NotAnObject(&'static str),
    /// No `eventType` member.
    #[error("the event has no \"eventType\" string member")]
    NoEventType,
    /// A known event with unusable content.
    #[error("invalid {event_type}: {reason}")]
    Invalid {
        /// The event type.
        event_type: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl DecodeError {
    /// True for syntax-level problems (HTTP 400), false for content problems (422).
    pub fn is_bad_request(&self) -> bool {
        !matches!(self, DecodeError::Invalid { .. })
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Decodes a callback body or SSE payload.
pub fn decode(body: &[u8]) -> Result<Decoded, DecodeError> {
    decode_value(serde_json::from_slice(body)?, None)
}

/// Decodes a parsed event; `fallback_type` (the SSE `event:` field) names events whose
/// JSON lacks `eventType`.
pub fn decode_value(value: Value, fallback_type: Option<&str>) -> Result<Decoded, DecodeError> {
    let Value::Object(obj) = &value else {
        return Err(DecodeError::NotAnObject(kind_of(&value)));
    };
    let event_type = match obj.get("eventType") {
        Some(Value::String(s)) => s.as_str(),
        None | Some(Value::Null) => fallback_type.ok_or(DecodeError::NoEventType)?,
        Some(_) => return Err(DecodeError::NoEventType),
    };
    let label = type_label(event_type);
    let event = event(event_type, &value).map_err(|reason| DecodeError::Invalid {
        event_type: label,
        reason,
    })?;
    Ok(Decoded { label, event })
}

/// The event an object of type `event_type` is; `Err` says what is wrong with it.
fn event(event_type: &str, value: &Value) -> Result<Event, String> {
    Ok(match event_type {
        "status_update_event" => Event::Status(status(fields(value)?, value)?),
        "instance_health_changed_event" => {
            let e: model::InstanceHealthChangedEvent = fields(value)?;
            let target = e.instance_id.or(e.task_id);
            Event::Health(health_update(
                target,
                ("runSpecId", e.run_spec_id),
                verdict(e.healthy),
                value,
            )?)
        }
        "health_status_changed_event" => {
            let e: model::HealthStatusChangedEvent = fields(value)?;
            let target = e.instance_id.or(e.task_id);
            Event::Health(health_update(
                target,
                ("appId", e.app_id),
                verdict(e.alive),
                value,
            )?)
        }
        "failed_health_check_event" => {
            let e: model::FailedHealthCheckEvent = fields(value)?;
            let target = e.instance_id.or(e.task_id);
            Event::Health(health_update(
                target,
                ("appId", e.app_id),
                Health::Unhealthy,
                value,
            )?)
        }
        "app_terminated_event" => {
            let e: model::AppTerminatedEvent = fields(value)?;
            let app_id = app("appId", e.app_id)?.ok_or_else(|| "appId is missing".to_string())?;
            Event::AppTerminated {
                app_id,
                at: stamp(value)?,
            }
        }
        "api_post_event" => match definition(value)? {
            None => Event::Ignored,
            Some(app) => {
                let definition =
                    records::app_definition(&app).map_err(|e| format!("appDefinition: {e}"))?;
                Event::AppChanged {
                    definition: Box::new(definition),
                    at: stamp(value)?,
                }
            }
        },
        _ => Event::Ignored,
    })
}

impl Event {
    /// The Marathon timestamps the event would store as write guards: its own, and for
    /// `api_post_event` the app version too (it orders the app record).
    fn guard_stamps(&self) -> Vec<&Stamp> {
        match self {
            Event::Status(s) => vec![&s.at],
            Event::Health(h) => vec![&h.at],
            Event::AppTerminated { at, .. } => vec![at],
            Event::AppChanged { definition, at } => std::iter::once(at)
                .chain(definition.version.as_ref())
                .collect(),
            Event::Ignored => Vec::new(),
        }
    }
}

/// Refuses an event stamped more than `max_skew` ahead of `now` (this subscriber's clock).
///
/// Its timestamp would become the record's write guard, and every real event after it
/// would then be refused as older: one event from the future would freeze the record. The
/// error is *unprocessable* (422 on `/callback`; logged, counted and dropped on SSE).
pub fn check_clock(
    decoded: Decoded,
    now: DateTime<Utc>,
    max_skew: Duration,
) -> Result<Decoded, DecodeError> {
    // A skew too large for chrono is no limit at all.
    let Some(limit) = chrono::TimeDelta::from_std(max_skew)
        .ok()
        .and_then(|skew| now.checked_add_signed(skew))
    else {
        return Ok(decoded);
    };
    let ahead = decoded
        .event
        .guard_stamps()
        .into_iter()
        .find(|at| at.to_datetime() > limit)
        .cloned();
    match ahead {
        None => Ok(decoded),
        Some(at) => Err(DecodeError::Invalid {
            event_type: decoded.label,
            reason: format!(
                "timestamp {at} is more than {} ahead of this subscriber's clock ({}); \
                 refused, as it would make every later event look older \
                 (check the clocks, or --max-clock-skew)",
                humantime::format_duration(max_skew),
                Stamp::from_datetime(now),
            ),
        }),
    }
}

/// An event's members, read into Marathon's shape `T` ([`model`]); an error names the
/// member and what is wrong with its kind (`ports[1] must be a port number (1-65535), found
/// a string`).
fn fields<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| format!("{} {}", e.path(), e.inner()))
}

/// `api_post_event`'s app definition, read into Marathon's app shape; an error names where
/// in it (`appDefinition.portDefinitions[0].port: invalid type: ...`).
fn definition(value: &Value) -> Result<Option<model::App>, String> {
    serde_path_to_error::deserialize::<_, model::ApiPostEvent>(value)
        .map(|e| e.app_definition)
        .map_err(|e| e.to_string())
}

/// The event's `timestamp`.
fn stamp(value: &Value) -> Result<Stamp, String> {
    let time: model::EventTime = fields(value)?;
    match time.timestamp {
        // Every field is optional; without Marathon's time, ours is the best guess.
        None => Ok(Stamp::now()),
        Some(t) => Stamp::parse(&t).map_err(|e| format!("timestamp: {e}")),
    }
}

/// An app id member `key`: absent is `None`; present must be a valid, non-root app id.
fn app(key: &str, raw: Option<String>) -> Result<Option<AppId>, String> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let id = AppId::parse(&raw).map_err(|e| format!("{key}: {e}"))?;
    if id.is_root() {
        return Err(format!("{key} names the root group, not an app"));
    }
    Ok(Some(id))
}

/// A health event's verdict: `null` (or absent) is unknown.
fn verdict(flag: Option<bool>) -> Health {
    match flag {
        None => Health::Unknown,
        Some(true) => Health::Healthy,
        Some(false) => Health::Unhealthy,
    }
}

fn status(e: model::StatusUpdateEvent, value: &Value) -> Result<StatusUpdate, String> {
    let task_id = e.task_id.ok_or_else(|| "taskId is missing".to_string())?;
    registry::validate_task_id(&task_id).map_err(|e| format!("taskId: {e}"))?;
    let app_id = match app("appId", e.app_id)? {
        Some(id) => id,
        None => ids::app_of(&task_id)
            .ok_or_else(|| format!("appId is missing and task id {task_id:?} names no app"))?,
    };
    let state = TaskState::parse(
        e.task_status
            .as_deref()
            .ok_or_else(|| "taskStatus is missing".to_string())?,
    );
    let task_ips = records::reported_ips(&e.ip_addresses).collect::<Result<_, _>>()?;
    let host_ports = records::host_ports(&e.ports).collect::<Result<_, _>>()?;
    let host = e.host.unwrap_or_default();
    if host.len() > 255 || host.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!("host {host:?} is not a host name"));
    }
    Ok(StatusUpdate {
        task: TaskFacts {
            app_id,
            task_id,
            state,
            host,
            agent_id: e.slave_id.filter(|s| !s.is_empty()),
            task_ips,
            host_ports,
            version: e.version,
            health: Health::Unknown,
        },
        at: stamp(value)?,
    })
}

/// A health verdict for `target` (an instance id, or a task id: ≤1.3 `taskId`, 1.4.x
/// `instanceId`, 1.5+ `taskId` holding an instance id) of the app named by the member
/// `app_key`, or else by the target.
fn health_update(
    target: Option<String>,
    (app_key, app_raw): (&str, Option<String>),
    health: Health,
    value: &Value,
) -> Result<HealthUpdate, String> {
    let target = target.ok_or_else(|| "neither instanceId nor taskId is present".to_string())?;
    registry::validate_task_id(&target).map_err(|e| format!("instance/task id: {e}"))?;
    let instance_key = ids::instance_key(&target)
        .ok_or_else(|| format!("{target:?} is neither a task id nor an instance id"))?;
    let app_id = match app(app_key, app_raw)? {
        Some(id) => id,
        None => ids::app_of(&target)
            .ok_or_else(|| format!("{app_key} is missing and {target:?} names no app"))?,
    };
    Ok(HealthUpdate {
        app_id,
        instance_key,
        target,
        health,
        at: stamp(value)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addresses::TaskIp;

    fn dec(s: &str) -> Result<Decoded, DecodeError> {
        decode(s.as_bytes())
    }

    #[test]
    fn status_update_modern_shape() {
        let d = dec(r#"{"slaveId":"db7b-S1","taskId":"pywebserver.instance-8cad6a69-6ca8-11e7-beb2-0e2beceebfcc._app.1","taskStatus":"TASK_RUNNING","message":"","appId":"/pywebserver","host":"10.0.2.148","ipAddresses":[{"ipAddress":"172.17.0.2","protocol":"IPv4"}],"ports":[1565],"version":"2017-07-19T17:34:41.967Z","eventType":"status_update_event","timestamp":"2017-07-19T17:35:15.660Z"}"#).unwrap();
        let Event::Status(s) = d.event else { panic!() };
        assert_eq!(s.task.app_id.as_str(), "/pywebserver");
        assert_eq!(s.task.state, TaskState::Running);
        assert_eq!(s.task.host_ports, vec![1565]);
        assert_eq!(s.task.task_ips.len(), 1);
        assert_eq!(d.label, "status_update_event");
    }

    #[test]
    fn errors_name_the_problem() {
        let cases = [
            ("{", true, "invalid JSON"),
            ("[1]", true, "expected a JSON object"),
            (r#"{"a":1}"#, true, "eventType"),
            (
                r#"{"eventType":"status_update_event","taskStatus":"TASK_RUNNING"}"#,
                false,
                "taskId is missing",
            ),
            (
                r#"{"eventType":"status_update_event","taskId":"a.1","taskStatus":"TASK_RUNNING","appId":"/A"}"#,
                false,
                "appId",
            ),
            (
                r#"{"eventType":"status_update_event","taskId":"a/1","taskStatus":"TASK_RUNNING"}"#,
                false,
                "taskId",
            ),
            (
                r#"{"eventType":"status_update_event","taskId":"a.1","taskStatus":"TASK_RUNNING","ports":[70000]}"#,
                false,
                "ports[0]",
            ),
            (
                r#"{"eventType":"status_update_event","taskId":"a.1","taskStatus":"TASK_RUNNING","ports":[-1]}"#,
                false,
                "ports[0]",
            ),
            (
                r#"{"eventType":"status_update_event","taskId":"a.1","taskStatus":"TASK_RUNNING","ports":"80"}"#,
                false,
                "ports must be an array",
            ),
            (
                r#"{"eventType":"status_update_event","taskId":"a.1","taskStatus":"TASK_RUNNING","ipAddresses":[{"ipAddress":"x"}]}"#,
                false,
                "not an IP",
            ),
            (
                r#"{"eventType":"status_update_event","taskId":"a.1","taskStatus":"TASK_RUNNING","timestamp":"yesterday"}"#,
                false,
                "timestamp",
            ),
            (
                r#"{"eventType":"app_terminated_event"}"#,
                false,
                "appId is missing",
            ),
            (
                r#"{"eventType":"app_terminated_event","appId":"/"}"#,
                false,
                "root group",
            ),
            (
                r#"{"eventType":"instance_health_changed_event","instanceId":"x y"}"#,
                false,
                "instance/task id",
            ),
            (
                r#"{"eventType":"api_post_event","appDefinition":{"id":"/a","portDefinitions":[{"port":99999}]}}"#,
                false,
                "not a port",
            ),
        ];
        for (body, bad_request, needle) in cases {
            let err = dec(body).expect_err(body);
            assert_eq!(err.is_bad_request(), bad_request, "{body}: {err}");
            assert!(err.to_string().contains(needle), "{body}: {err}");
        }
    }

    #[test]
    fn unknown_types_are_ignored_with_a_bounded_label() {
        let d = dec(r#"{"eventType":"brand_new_event"}"#).unwrap();
        assert_eq!(d.event, Event::Ignored);
        assert_eq!(d.label, "unknown");
        let d = decode_value(serde_json::json!({"x": 1}), Some("deployment_info")).unwrap();
        assert_eq!(d.label, "deployment_info");
    }

    #[test]
    fn health_events_of_every_version() {
        for (body, key, health) in [
            (
                r#"{"eventType":"health_status_changed_event","appId":"/my-app","taskId":"my-app.c7c3","alive":false}"#,
                "my-app.marathon-c7c3",
                Health::Unhealthy,
            ),
            (
                r#"{"eventType":"health_status_changed_event","appId":"/my-app","instanceId":"my-app.instance-c7c3","alive":true}"#,
                "my-app.instance-c7c3",
                Health::Healthy,
            ),
            (
                r#"{"eventType":"instance_health_changed_event","runSpecId":"/some/app","instanceId":"some_app.marathon-49d9","healthy":null}"#,
                "some_app.marathon-49d9",
                Health::Unknown,
            ),
            (
                r#"{"eventType":"failed_health_check_event","appId":"/my-app","taskId":"my-app.instance-c7c3"}"#,
                "my-app.instance-c7c3",
                Health::Unhealthy,
            ),
        ] {
            let Event::Health(h) = dec(body).unwrap().event else {
                panic!("{body}")
            };
            assert_eq!(h.instance_key, key);
            assert_eq!(h.health, health);
        }
    }

    #[test]
    fn events_from_beyond_the_clock_skew_are_unprocessable() {
        let now = Stamp::parse("2026-03-01T12:00:00.000Z")
            .unwrap()
            .to_datetime();
        let skew = Duration::from_secs(300);
        let status = |at: &str| {
            dec(&format!(
                r#"{{"eventType":"status_update_event","taskId":"web.1","taskStatus":"TASK_RUNNING","appId":"/web","timestamp":"{at}"}}"#
            ))
            .unwrap()
        };
        for fine in [
            "2026-03-01T11:00:00.000Z",
            "2026-03-01T12:04:59.999Z",
            "2026-03-01T12:05:00.000Z",
        ] {
            assert!(check_clock(status(fine), now, skew).is_ok(), "{fine}");
        }
        for ahead in ["2026-03-01T12:05:00.001Z", "9999-12-31T23:59:59.999Z"] {
            let err = check_clock(status(ahead), now, skew).unwrap_err();
            assert!(!err.is_bad_request(), "422, not 400: {err}");
            let text = err.to_string();
            assert!(text.contains("status_update_event"), "{text}");
            assert!(
                text.contains(ahead) && text.contains("--max-clock-skew"),
                "{text}"
            );
        }
        // Every kind of event, and an app definition whose version is from the future.
        for body in [
            r#"{"eventType":"instance_health_changed_event","runSpecId":"/web","instanceId":"web.marathon-1","healthy":true,"timestamp":"9999-12-31T23:59:59.999Z"}"#,
            r#"{"eventType":"app_terminated_event","appId":"/web","timestamp":"9999-12-31T23:59:59.999Z"}"#,
            r#"{"eventType":"api_post_event","appDefinition":{"id":"/web","version":"9999-12-31T23:59:59.999Z"},"timestamp":"2026-03-01T12:00:00.000Z"}"#,
        ] {
            assert!(
                check_clock(dec(body).unwrap(), now, skew).is_err(),
                "{body}"
            );
        }
        let ignored =
            dec(r#"{"eventType":"deployment_info","timestamp":"9999-12-31T23:59:59.999Z"}"#);
        assert!(check_clock(ignored.unwrap(), now, skew).is_ok());
        // A skew chrono cannot represent is no limit.
        assert!(check_clock(status("9999-12-31T23:59:59.999Z"), now, Duration::MAX).is_ok());
    }

    #[test]
    fn task_addresses_keep_their_protocol_tag() {
        let d = dec(r#"{"eventType":"status_update_event","taskId":"web.1","taskStatus":"TASK_RUNNING","appId":"/web","ipAddresses":[{"ipAddress":"fd00::1","protocol":"IPv4"},{"ipAddress":"10.0.0.1"}]}"#).unwrap();
        let Event::Status(s) = d.event else { panic!() };
        assert_eq!(
            s.task.task_ips,
            vec![
                TaskIp::new("fd00::1".parse().unwrap(), Some("IPv4")),
                TaskIp::new("10.0.0.1".parse().unwrap(), None),
            ]
        );
        let err = dec(r#"{"eventType":"status_update_event","taskId":"web.1","taskStatus":"TASK_RUNNING","ipAddresses":[{"ipAddress":"10.0.0.1","protocol":4}]}"#).unwrap_err();
        assert!(err.to_string().contains("protocol"), "{err}");
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                "[a-z_./-]{0,12}".prop_map(Value::from),
                ".{0,8}".prop_map(Value::from),
                Just(Value::from("/web")),
                Just(Value::from("web.instance-u._app.1")),
                Just(Value::from("2030-01-01T00:00:00.000Z")),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    proptest::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        const KEYS: &[&str] = &[
            "taskId",
            "appId",
            "taskStatus",
            "host",
            "slaveId",
            "ipAddresses",
            "ports",
            "version",
            "timestamp",
            "instanceId",
            "runSpecId",
            "healthy",
            "alive",
            "appDefinition",
            "healthCheck",
        ];

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
                let _ = decode(&bytes);
            }

            #[test]
            fn event_shaped_json_never_panics(
                t in proptest::sample::select(KNOWN_TYPES),
                fields in proptest::collection::vec((proptest::sample::select(KEYS), json()), 0..10),
            ) {
                let mut obj = serde_json::Map::new();
                obj.insert("eventType".into(), Value::from(t));
                for (k, v) in fields {
                    obj.insert(k.to_string(), v);
                }
                let _ = decode_value(Value::Object(obj), None);
            }
        }
    }
}
