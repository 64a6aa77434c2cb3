//! `GET /master/state`: the old "v0" JSON layout Mesos-DNS polls (spec §11): `slaves[]` with
//! `pid` and resources as an object (`"ports":"[31000-32000]"`), `frameworks[]` with their
//! scheduler `pid`, `hostname` and `tasks[]`, tasks with `slave_id`, statuses reduced to
//! `state, timestamp, labels, container_status, healthy`, labels as an array, times as float
//! seconds, and the `leader` pid.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::SimConfig;
use crate::masters::{Leadership, Master};
use crate::model::{AgentStatus, Cluster, FrameworkEntry};
use crate::proto::{Agent, Framework, GetTasks, Labels, Raw, Resource, Task, TimeInfo};

/// A raw sub-message as a `Value` (`null` if unreadable, which our own never are).
fn value(raw: &Raw) -> Value {
    serde_json::from_str(raw.get()).unwrap_or(Value::Null)
}

/// `TimeInfo` as float seconds.
fn seconds(t: Option<TimeInfo>) -> Value {
    t.map_or(json!(0.0), |t| json!(t.nanoseconds as f64 / 1e9))
}

/// Labels as the v0 array `[{"key":..,"value":..}]`.
fn labels(l: &Labels) -> Value {
    json!(l.labels)
}

/// Resources as the v0 object: scalars summed by name, ranges as `"[a-b, c-d]"`.
pub(crate) fn resources(list: &[Resource]) -> Value {
    let mut scalars: BTreeMap<&str, f64> = ["cpus", "disk", "gpus", "mem"]
        .into_iter()
        .map(|k| (k, 0.0))
        .collect();
    let mut ranges: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for r in list {
        if let Some(s) = r.scalar {
            *scalars.entry(r.name.as_str()).or_insert(0.0) += s.value;
        }
        if let Some(rs) = &r.ranges {
            let v = ranges.entry(r.name.as_str()).or_default();
            v.extend(rs.range.iter().map(|x| format!("{}-{}", x.begin, x.end)));
        }
    }
    let mut out = Map::new();
    for (k, v) in scalars {
        out.insert(k.to_string(), json!(v));
    }
    for (k, v) in ranges {
        out.insert(k.to_string(), json!(format!("[{}]", v.join(", "))));
    }
    Value::Object(out)
}

/// A task in the v0 layout.
fn task(t: &Task) -> Value {
    let statuses: Vec<Value> = t
        .statuses
        .iter()
        .map(|s| {
            let mut o = Map::new();
            o.insert("state".into(), json!(s.state));
            o.insert("timestamp".into(), json!(s.timestamp.unwrap_or(0.0)));
            if let Some(l) = &s.labels {
                o.insert("labels".into(), labels(l));
            }
            if let Some(cs) = &s.container_status {
                o.insert("container_status".into(), value(cs));
            }
            if let Some(h) = s.healthy {
                o.insert("healthy".into(), json!(h));
            }
            Value::Object(o)
        })
        .collect();
    let mut o = Map::new();
    o.insert("id".into(), json!(t.task_id.value));
    o.insert("name".into(), json!(t.name));
    o.insert("framework_id".into(), json!(t.framework_id.value));
    let executor = t.executor_id.as_ref().map_or("", |e| e.value.as_str());
    o.insert("executor_id".into(), json!(executor));
    o.insert("slave_id".into(), json!(t.agent_id.value));
    o.insert("state".into(), json!(t.state));
    o.insert("resources".into(), resources(&t.resources));
    o.insert("statuses".into(), Value::Array(statuses));
    if let Some(l) = &t.labels {
        o.insert("labels".into(), labels(l));
    }
    for (k, raw) in [
        ("discovery", &t.discovery),
        ("container", &t.container),
        ("health_check", &t.health_check),
    ] {
        if let Some(r) = raw {
            o.insert(k.into(), value(r));
        }
    }
    if let Some(u) = &t.user {
        o.insert("user".into(), json!(u));
    }
    Value::Object(o)
}

/// Capability names (`["PARTITION_AWARE", ..]`) from `[{"type": ..}]`.
fn capability_names(raw: Option<&Raw>) -> Value {
    let names: Vec<Value> = raw
        .map(value)
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| c.get("type").cloned())
        .collect();
    Value::Array(names)
}

/// An agent in the v0 layout.
fn slave(a: &Agent) -> Value {
    let info = &a.agent_info;
    json!({
        "id": a.id(),
        "pid": a.pid,
        "hostname": info.hostname,
        "port": info.port.unwrap_or(5051),
        "registered_time": seconds(a.registered_time),
        "reregistered_time": seconds(a.reregistered_time),
        "resources": resources(&info.resources),
        "used_resources": resources(&[]),
        "offered_resources": resources(&[]),
        "reserved_resources": {},
        "unreserved_resources": resources(&info.resources),
        "attributes": info.attributes.as_ref().map_or(json!({}), value),
        "active": a.active,
        "deactivated": a.deactivated.unwrap_or(false),
        "version": a.version,
        "capabilities": capability_names(a.capabilities.as_ref()),
    })
}

/// A framework in the v0 layout, with its tasks.
fn framework(
    f: &Framework,
    pid: Option<&str>,
    tasks: Vec<Value>,
    unreachable: Vec<Value>,
    completed: Vec<Value>,
) -> Value {
    let i = &f.framework_info;
    let mut o = json!({
        "id": i.id(),
        "name": i.name,
        "user": i.user,
        "hostname": i.hostname.clone().unwrap_or_default(),
        "webui_url": i.webui_url.clone().unwrap_or_default(),
        "failover_timeout": i.failover_timeout.unwrap_or(0.0),
        "checkpoint": i.checkpoint.unwrap_or(false),
        "role": i.role.clone().unwrap_or_else(|| "*".to_string()),
        "capabilities": capability_names(i.capabilities.as_ref()),
        "active": f.active,
        "connected": f.connected,
        "recovered": f.recovered,
        "registered_time": seconds(f.registered_time),
        "reregistered_time": seconds(f.reregistered_time),
        "unregistered_time": seconds(f.unregistered_time),
        "resources": resources(&[]),
        "used_resources": resources(&[]),
        "offered_resources": resources(&[]),
        "tasks": tasks,
        "unreachable_tasks": unreachable,
        "completed_tasks": completed,
        "offers": [],
        "executors": [],
        "completed_executors": [],
    });
    if let (Some(p), Some(map)) = (pid, o.as_object_mut()) {
        map.insert("pid".into(), json!(p));
    }
    if let (Some(p), Some(map)) = (&i.principal, o.as_object_mut()) {
        map.insert("principal".into(), json!(p));
    }
    o
}

/// The tasks of framework `id`, split into (tasks, unreachable, completed).
fn tasks_of(snapshot: &GetTasks, id: &str) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let of = |list: &[Task]| -> Vec<Value> {
        list.iter()
            .filter(|t| t.framework_id.value == id)
            .map(task)
            .collect()
    };
    (
        of(&snapshot.tasks),
        of(&snapshot.unreachable_tasks),
        of(&snapshot.completed_tasks),
    )
}

/// The whole `/master/state` answer of `master`.
pub(crate) fn master_state(
    c: &Cluster,
    cfg: &SimConfig,
    master: &Master,
    leader: Option<&Master>,
    leadership: Leadership,
) -> Value {
    let snapshot = c.snapshot().get_tasks;
    let frameworks: Vec<Value> = c
        .frameworks
        .iter()
        .filter(|f: &&FrameworkEntry| f.known)
        .map(|f| {
            let (t, u, done) = tasks_of(&snapshot, f.framework.framework_info.id());
            framework(&f.framework, f.pid.as_deref(), t, u, done)
        })
        .collect();
    let completed: Vec<Value> = c
        .completed_frameworks
        .iter()
        .map(|f| {
            let (_, _, done) = tasks_of(&snapshot, f.framework_info.id());
            framework(f, None, Vec::new(), Vec::new(), done)
        })
        .collect();
    let registered = |s: AgentStatus| c.agents.iter().filter(move |a| a.status == s);
    let mut flags = json!({
        "port": master.addr.port().to_string(),
        "hostname": master.hostname,
        "quorum": (cfg.masters / 2 + 1).to_string(),
        "registry": "replicated_log",
        "zk_session_timeout": "10secs",
    });
    if let (Some(zk), Some(map)) = (&cfg.zk, flags.as_object_mut()) {
        map.insert(
            "zk".into(),
            json!(format!("zk://{}{}", zk.servers, zk.path)),
        );
    }
    json!({
        "version": master.version,
        "build_date": "2020-11-24 09:30:00",
        "build_time": 1606210200.0,
        "build_user": "mesos-sim",
        "start_time": master.start_time,
        "elected_time": leadership.elected_time,
        "id": master.id,
        "pid": master.pid(),
        "hostname": master.hostname,
        "capabilities": ["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"],
        "activated_slaves": registered(AgentStatus::Registered).filter(|a| a.agent.active).count(),
        "deactivated_slaves": registered(AgentStatus::Registered).filter(|a| !a.agent.active).count(),
        "unreachable_slaves": registered(AgentStatus::Unreachable).count(),
        "leader": leader.map(Master::pid),
        "leader_info": leader.map(Master::leader_info),
        "flags": flags,
        "slaves": registered(AgentStatus::Registered).map(|a| slave(&a.agent)).collect::<Vec<_>>(),
        "recovered_slaves": registered(AgentStatus::Recovered).map(|a| json!(a.agent.agent_info)).collect::<Vec<_>>(),
        "frameworks": frameworks,
        "completed_frameworks": completed,
        "unregistered_frameworks": [],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Range;

    #[test]
    fn v0_resources_sum_scalars_and_print_ranges() {
        let r = resources(&[
            Resource::scalar("cpus", 0.5),
            Resource::scalar("cpus", 0.25),
            Resource::ranges(
                "ports",
                vec![
                    Range {
                        begin: 31354,
                        end: 31354,
                    },
                    Range {
                        begin: 31355,
                        end: 31356,
                    },
                ],
            ),
        ]);
        assert_eq!(r["cpus"], 0.75);
        assert_eq!(r["mem"], 0.0);
        assert_eq!(r["ports"], "[31354-31354, 31355-31356]");
    }
}
