//! Comparisons with the recorded shapes: key sets and JSON types, never made-up values.
#![allow(clippy::unwrap_used)]

use serde_json::Value;

use super::{fixture, fixture_records};

/// The recorded streams, one record per line.
pub const STREAMS: [&str; 5] = [
    "dcos-net/operator-api.json",
    "dcos-net/pod-tasks.json",
    "dcos-net/hello-world.json",
    "dcos-net/hello-overlay.json",
    "dcos-net/recovered-agents.json",
];

/// Every recorded record of type `kind` in the streams. A `Task`, `Agent` or `Framework` of a
/// recorded snapshot is the same message as in `TASK_ADDED`, `AGENT_ADDED`, `FRAMEWORK_*`, so
/// those are added, wrapped as such events. `GET_STATE` gives the recorded answers.
pub fn recorded(kind: &str) -> Vec<Value> {
    static ALL: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    let all = ALL.get_or_init(|| {
        let mut all: Vec<Value> = STREAMS.iter().flat_map(|f| fixture_records(f)).collect();
        all.push(fixture("dcos-net/unhealthy.json"));
        all.push(fixture("dcos-net/tcp-and-udp.json"));
        let states: Vec<Value> = all
            .iter()
            .filter_map(|r| r["subscribed"]["get_state"].as_object().or(r["get_state"].as_object()))
            .map(|s| Value::Object(s.clone()))
            .collect();
        let list = |s: &Value, a: &str, b: &str| s[a][b].as_array().cloned().unwrap_or_default();
        let mut tasks: Vec<Value> = all
            .iter()
            .filter_map(|r| r["task_added"]["task"].as_object().map(|t| Value::Object(t.clone())))
            .collect();
        for s in &states {
            tasks.extend(list(s, "get_tasks", "tasks"));
            tasks.extend(list(s, "get_tasks", "completed_tasks"));
        }
        for t in &tasks {
            for st in t["statuses"].as_array().cloned().unwrap_or_default() {
                let (fw, state) = (t["framework_id"].clone(), st["state"].clone());
                all.push(serde_json::json!({"type": "TASK_UPDATED",
                    "task_updated": {"framework_id": fw, "status": st, "state": state}}));
            }
        }
        for s in &states {
            for t in list(s, "get_tasks", "tasks").into_iter().chain(list(s, "get_tasks", "completed_tasks")) {
                all.push(serde_json::json!({"type": "TASK_ADDED", "task_added": {"task": t}}));
            }
            for a in list(s, "get_agents", "agents") {
                all.push(serde_json::json!({"type": "AGENT_ADDED", "agent_added": {"agent": a}}));
            }
            for f in list(s, "get_frameworks", "frameworks") {
                let info = f["framework_info"].clone();
                all.push(serde_json::json!({"type": "FRAMEWORK_REMOVED", "framework_removed": {"framework_info": info}}));
                all.push(serde_json::json!({"type": "FRAMEWORK_ADDED", "framework_added": {"framework": f.clone()}}));
                all.push(serde_json::json!({"type": "FRAMEWORK_UPDATED", "framework_updated": {"framework": f}}));
            }
        }
        all
    });
    all.iter().filter(|r| r["type"] == kind).cloned().collect()
}

/// Asserts that an event has only keys and types the recordings of its type have (when there
/// are recordings of its type).
pub fn assert_recorded_shape(event: &Value) {
    let kind = event["type"].as_str().unwrap_or_default();
    assert_keys_within(&recorded(kind), event, "", &[]);
}

/// Asserts that a `GetState` has only keys and types the recorded snapshots have; its tasks,
/// agents and frameworks are checked against every recorded one (snapshots and events).
pub fn assert_state_shape(state: &Value) {
    // The recorded executors are SDK ones; a Marathon pod's executor holds the pod's network
    // (Marathon's TaskGroupBuilder), which no recording shows.
    let extra = [
        "get_tasks.tasks",
        "get_tasks.completed_tasks",
        "get_agents.agents",
        "get_frameworks.frameworks",
        "get_executors.executors.executor_info.container.network_infos",
    ];
    assert_keys_within(&recorded_states(), state, "", &extra);
    let list = |a: &str, b: &str| state[a][b].as_array().cloned().unwrap_or_default();
    for t in list("get_tasks", "tasks")
        .into_iter()
        .chain(list("get_tasks", "completed_tasks"))
    {
        assert_recorded_shape(
            &serde_json::json!({"type": "TASK_ADDED", "task_added": {"task": t}}),
        );
    }
    for a in list("get_agents", "agents") {
        assert_recorded_shape(
            &serde_json::json!({"type": "AGENT_ADDED", "agent_added": {"agent": a}}),
        );
    }
    for f in list("get_frameworks", "frameworks") {
        assert_recorded_shape(
            &serde_json::json!({"type": "FRAMEWORK_ADDED", "framework_added": {"framework": f}}),
        );
    }
}

/// The recorded `GetState` snapshots: every `SUBSCRIBED`'s and every `GET_STATE` answer's.
pub fn recorded_states() -> Vec<Value> {
    let mut out: Vec<Value> = recorded("SUBSCRIBED")
        .into_iter()
        .map(|r| r["subscribed"]["get_state"].clone())
        .collect();
    out.extend(
        recorded("GET_STATE")
            .into_iter()
            .map(|r| r["get_state"].clone()),
    );
    out
}

/// Asserts that `actual` has no key that none of the `examples` has at the same place, and
/// no value of a JSON type no example has there (recursively; array elements are compared
/// with every element of the examples' arrays). `extra` lists dotted paths not checked.
pub fn assert_keys_within(examples: &[Value], actual: &Value, path: &str, extra: &[&str]) {
    if examples.is_empty() || actual.is_null() || examples.iter().any(Value::is_null) {
        return;
    }
    match actual {
        Value::Object(a) => {
            let objects: Vec<&serde_json::Map<String, Value>> =
                examples.iter().filter_map(Value::as_object).collect();
            assert!(
                !objects.is_empty(),
                "{path}: recorded as {}, got an object",
                examples[0]
            );
            for (k, av) in a {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if extra.contains(&p.as_str()) {
                    continue;
                }
                let children: Vec<Value> =
                    objects.iter().filter_map(|o| o.get(k).cloned()).collect();
                assert!(!children.is_empty(), "{p}: no recording has this key");
                assert_keys_within(&children, av, &p, extra);
            }
        }
        Value::Array(a) => {
            let elements: Vec<Value> = examples
                .iter()
                .filter_map(Value::as_array)
                .flatten()
                .cloned()
                .collect();
            assert!(
                examples.iter().any(Value::is_array),
                "{path}: recorded as {}, got an array",
                examples[0]
            );
            for av in a {
                assert_keys_within(&elements, av, path, extra);
            }
        }
        scalar => {
            let same = examples
                .iter()
                .any(|e| std::mem::discriminant(e) == std::mem::discriminant(scalar));
            assert!(same, "{path}: recorded like {}, got {scalar}", examples[0]);
        }
    }
}

/// Asserts that `a` and `b` are equal, numbers up to a relative 1e-12 (serde_json's float
/// parsing is not exact, and timestamps are doubles).
pub fn assert_close(a: &Value, b: &Value, path: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
                "{path}: {x} != {y}"
            );
        }
        (Value::Object(x), Value::Object(y)) => {
            let kx: Vec<_> = x.keys().collect();
            let ky: Vec<_> = y.keys().collect();
            assert_eq!(kx, ky, "{path}: keys differ");
            for (k, v) in x {
                assert_close(v, &y[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}: lengths differ");
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                assert_close(v, w, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

/// Asserts that every key of `expected` exists in `actual` with the same JSON type
/// (recursively; first element of arrays), except the dotted paths in `ignore`.
pub fn assert_has_keys_of(expected: &Value, actual: &Value, path: &str, ignore: &[&str]) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if ignore.contains(&p.as_str()) {
                    continue;
                }
                let av = a
                    .get(k)
                    .unwrap_or_else(|| panic!("missing key {p} in {actual:#}"));
                assert_has_keys_of(ev, av, &p, ignore);
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let (Some(e0), Some(a0)) = (e.first(), a.first()) {
                assert_has_keys_of(e0, a0, path, ignore);
            }
        }
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, _) => {}
        (e, a) => panic!("type mismatch at {path}: recorded like {e}, got {a}"),
    }
}
