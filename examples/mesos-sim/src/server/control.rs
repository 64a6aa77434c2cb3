//! The simulator's own `/sim/*` control API (not Mesos'), for shell scripts and the demo: the
//! [`Simulator`](crate::Simulator) methods over HTTP. Answers are JSON; errors are
//! `{"message": ..}` with 400 / 404 / 409 / 422 / 502. Served by every master.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::Ctx;
use crate::proto::mesos_json;
use crate::scenario::{FrameworkUpdate, TaskUpdate};
use crate::spec::{AgentSpec, FrameworkSpec, PodSpec, TaskSpec};
use crate::{SimError, SlowConsumer};

/// `{"message": ..}` with `status`.
fn message(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "message": msg.into() }))).into_response()
}

/// A refused step as its status and message.
fn refused(e: SimError) -> Response {
    let status = match e {
        SimError::NotFound(_) => StatusCode::NOT_FOUND,
        SimError::Conflict(_) => StatusCode::CONFLICT,
        SimError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        SimError::ZooKeeper(_) => StatusCode::BAD_GATEWAY,
    };
    message(status, e.to_string())
}

/// `Ok(v)` as 200 JSON, `Err` as [`refused`].
fn reply(r: Result<Value, SimError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => refused(e),
    }
}

/// A JSON body as `T`; an empty body is `T::default()`.
fn body<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, Box<Response>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        Box::new(message(
            StatusCode::BAD_REQUEST,
            format!("invalid JSON body: {e}"),
        ))
    })
}

/// The value of `key` in a query string.
fn query<'a>(q: &'a Option<String>, key: &str) -> Option<&'a str> {
    q.as_deref()?
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// A boolean query parameter (`true`/`false`, default `default`).
fn flag(q: &Option<String>, key: &str, default: bool) -> Result<bool, Box<Response>> {
    match query(q, key) {
        None => Ok(default),
        Some("true" | "1" | "") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(v) => Err(Box::new(message(
            StatusCode::BAD_REQUEST,
            format!("{key}={v}: expected true or false"),
        ))),
    }
}

/// `GET /sim/masters`: each master's URL and role, the leader, the ZooKeeper nodes.
pub(super) async fn masters(State(ctx): State<Ctx>) -> Response {
    let sim = &ctx.sim;
    let leader = sim.masters.leadership().leader;
    let list: Vec<Value> = sim
        .masters
        .list
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"index": i, "url": m.url(), "id": m.id, "leader": leader == Some(i)}))
        .collect();
    let nodes = sim.zk.lock().await.as_ref().map(|z| z.nodes());
    Json(json!({"masters": list, "leader": leader, "zk_nodes": nodes})).into_response()
}

/// `GET /sim/state`: the leader's `GetState` snapshot (what any master would serve if led).
pub(super) async fn snapshot(State(ctx): State<Ctx>) -> Response {
    let state = ctx.sim.lock().snapshot();
    super::json_text(mesos_json(&state))
}

/// `POST /sim/agents` with an [`AgentSpec`] (all fields optional).
pub(super) async fn add_agent(State(ctx): State<Ctx>, b: axum::body::Bytes) -> Response {
    let spec: AgentSpec = match body(&b) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    reply(ctx.sim.add_agent(spec).map(|id| json!({ "id": id })))
}

/// `DELETE /sim/agents/{id}`.
pub(super) async fn remove_agent(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    reply(ctx.sim.remove_agent(&id).map(|()| json!({})))
}

/// `POST /sim/agents/{id}/unreachable`, `POST /sim/agents/{id}/reregister`.
pub(super) async fn agent_action(
    State(ctx): State<Ctx>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let r = match action.as_str() {
        "unreachable" => ctx.sim.mark_agent_unreachable(&id),
        "reregister" => ctx.sim.reregister_agent(&id),
        other => return message(StatusCode::NOT_FOUND, format!("no agent action '{other}'")),
    };
    reply(r.map(|()| json!({})))
}

/// `POST /sim/frameworks` with a [`FrameworkSpec`].
pub(super) async fn add_framework(State(ctx): State<Ctx>, b: axum::body::Bytes) -> Response {
    let spec: FrameworkSpec = match body(&b) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    reply(ctx.sim.add_framework(spec).map(|id| json!({ "id": id })))
}

/// `POST /sim/frameworks/{id}` with a [`FrameworkUpdate`].
pub(super) async fn update_framework(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    b: axum::body::Bytes,
) -> Response {
    let u: FrameworkUpdate = match body(&b) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    reply(ctx.sim.update_framework(&id, u).map(|()| json!({})))
}

/// `POST /sim/frameworks/{id}/reregister`.
pub(super) async fn reregister_framework(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
) -> Response {
    reply(ctx.sim.reregister_framework(&id).map(|()| json!({})))
}

/// `DELETE /sim/frameworks/{id}`.
pub(super) async fn remove_framework(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    reply(ctx.sim.remove_framework(&id).map(|()| json!({})))
}

/// `POST /sim/tasks` with a [`TaskSpec`].
pub(super) async fn launch_task(State(ctx): State<Ctx>, b: axum::body::Bytes) -> Response {
    let spec: TaskSpec = match body(&b) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    reply(ctx.sim.launch_task(spec).map(|id| json!({ "id": id })))
}

/// `POST /sim/pods` with a [`PodSpec`].
pub(super) async fn launch_pod(State(ctx): State<Ctx>, b: axum::body::Bytes) -> Response {
    let spec: PodSpec = match body(&b) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    reply(ctx.sim.launch_pod(spec).map(|ids| json!({ "ids": ids })))
}

/// `POST /sim/tasks/{id}/kill`, `/sim/tasks/{id}/health?healthy=false`,
/// `/sim/tasks/{id}/update` with a [`TaskUpdate`] (`{"state":"TASK_FINISHED"}`).
pub(super) async fn task_action(
    State(ctx): State<Ctx>,
    Path((id, action)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    b: axum::body::Bytes,
) -> Response {
    let r = match action.as_str() {
        "kill" => ctx.sim.kill_task(&id),
        "health" => match flag(&q, "healthy", true) {
            Ok(h) => ctx.sim.set_health(&id, h),
            Err(r) => return *r,
        },
        "update" => match serde_json::from_slice::<TaskUpdate>(&b) {
            Ok(u) => ctx.sim.update_task(&id, u),
            Err(e) => return message(StatusCode::BAD_REQUEST, format!("invalid TaskUpdate: {e}")),
        },
        other => return message(StatusCode::NOT_FOUND, format!("no task action '{other}'")),
    };
    reply(r.map(|()| json!({})))
}

/// The `master=N` parameter (absent: none).
fn master_param(q: &Option<String>) -> Result<Option<usize>, Box<Response>> {
    match query(q, "master") {
        None | Some("") | Some("none") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            Box::new(message(
                StatusCode::BAD_REQUEST,
                format!("master={v}: expected a number"),
            ))
        }),
    }
}

/// `POST /sim/leader?master=N` (no `master`: no leader elected).
pub(super) async fn leader(State(ctx): State<Ctx>, RawQuery(q): RawQuery) -> Response {
    match master_param(&q) {
        Ok(m) => reply(ctx.sim.set_leader(m).await.map(|()| json!({ "leader": m }))),
        Err(r) => *r,
    }
}

/// `POST /sim/failover?master=N`.
pub(super) async fn failover(State(ctx): State<Ctx>, RawQuery(q): RawQuery) -> Response {
    match master_param(&q) {
        Ok(Some(m)) => reply(ctx.sim.fail_over(m).await.map(|()| json!({ "leader": m }))),
        Ok(None) => message(StatusCode::BAD_REQUEST, "master=<N> is required"),
        Err(r) => *r,
    }
}

/// `POST /sim/recovering?on=true|false`.
pub(super) async fn recovering(State(ctx): State<Ctx>, RawQuery(q): RawQuery) -> Response {
    match flag(&q, "on", true) {
        Ok(on) => {
            ctx.sim.masters.set_recovering(on);
            Json(json!({ "recovering": on })).into_response()
        }
        Err(r) => *r,
    }
}

/// `POST /sim/drop-streams[?abort=true]`.
pub(super) async fn drop_streams(State(ctx): State<Ctx>, RawQuery(q): RawQuery) -> Response {
    match flag(&q, "abort", false) {
        Ok(abort) => {
            ctx.sim.streams.close_all(abort);
            Json(json!({})).into_response()
        }
        Err(r) => *r,
    }
}

/// `POST /sim/stall?on=true|false`.
pub(super) async fn stall(State(ctx): State<Ctx>, RawQuery(q): RawQuery) -> Response {
    match flag(&q, "on", true) {
        Ok(on) => {
            ctx.sim.streams.set_stalled(on);
            Json(json!({ "stalled": on })).into_response()
        }
        Err(r) => *r,
    }
}

/// `POST /sim/delivery?on=true|false`.
pub(super) async fn delivery(State(ctx): State<Ctx>, RawQuery(q): RawQuery) -> Response {
    match flag(&q, "on", true) {
        Ok(on) => {
            ctx.sim
                .delivery
                .store(on, std::sync::atomic::Ordering::SeqCst);
            Json(json!({ "delivery": on })).into_response()
        }
        Err(r) => *r,
    }
}

/// `POST /sim/slow-consumer?limit=N` (no limit: buffer without bound, as Mesos does).
pub(super) async fn slow_consumer(State(ctx): State<Ctx>, RawQuery(q): RawQuery) -> Response {
    let policy = match query(&q, "limit") {
        None | Some("") => SlowConsumer::Buffer,
        Some(v) => match v.parse() {
            Ok(n) => SlowConsumer::Close(n),
            Err(_) => {
                return message(
                    StatusCode::BAD_REQUEST,
                    format!("limit={v}: expected a number"),
                );
            }
        },
    };
    ctx.sim.set_slow_consumer(policy);
    Json(json!({ "slow_consumer": format!("{policy:?}") })).into_response()
}

/// `POST /sim/events` with one event's JSON: applied when known, sent verbatim.
pub(super) async fn emit(State(ctx): State<Ctx>, b: axum::body::Bytes) -> Response {
    match std::str::from_utf8(&b) {
        Ok(s) => reply(ctx.sim.emit_json(s).map(|()| json!({}))),
        Err(_) => message(StatusCode::BAD_REQUEST, "body is not UTF-8"),
    }
}

/// `POST /sim/seed` with a recording (one JSON record per line).
pub(super) async fn seed(State(ctx): State<Ctx>, b: axum::body::Bytes) -> Response {
    match std::str::from_utf8(&b) {
        Ok(s) => reply(ctx.sim.seed(s).map(|n| json!({ "records": n }))),
        Err(_) => message(StatusCode::BAD_REQUEST, "body is not UTF-8"),
    }
}
