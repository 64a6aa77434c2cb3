//! The simulator's own `/sim/*` control API (not Marathon's), for shell scripts and the
//! demo: the [`Simulator`](crate::Simulator) methods over HTTP.

use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::query::{parse_query, query_bool, query_value};
use super::{Remote, Sim, json_body, message, sim_error};
use crate::AppSpec;
use crate::bus::BusEvent;
use crate::simulator::running_task_views;

/// `POST /sim/apps` with an [`AppSpec`] as JSON.
pub(super) async fn deploy(
    State(sim): State<Sim>,
    Extension(Remote(remote)): Extension<Remote>,
    body: axum::body::Bytes,
) -> Response {
    let spec: AppSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return message(
                StatusCode::BAD_REQUEST,
                format!("invalid AppSpec JSON: {e}"),
            );
        }
    };
    match sim.deploy(spec, &remote.ip().to_string()) {
        Ok(tasks) => (StatusCode::CREATED, Json(json!({ "tasks": tasks }))).into_response(),
        Err(e) => sim_error(e),
    }
}

/// `POST /sim/apps/{id}/scale?instances=N`, `POST /sim/apps/{id}/burst?count=N`.
pub(super) async fn app_action(
    State(sim): State<Sim>,
    Extension(Remote(remote)): Extension<Remote>,
    Path(rest): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let query = parse_query(q.as_deref());
    let rest = rest.trim_matches('/');
    if let Some(id) = rest.strip_suffix("/scale") {
        let Some(n) = query_value(&query, "instances").and_then(|v| v.parse::<u32>().ok()) else {
            return message(StatusCode::BAD_REQUEST, "instances=<N> is required");
        };
        return match sim.scale(id, n, &remote.ip().to_string()) {
            Ok(tasks) => Json(json!({ "tasks": tasks })).into_response(),
            Err(e) => sim_error(e),
        };
    }
    if let Some(id) = rest.strip_suffix("/burst") {
        let Some(n) = query_value(&query, "count").and_then(|v| v.parse::<usize>().ok()) else {
            return message(StatusCode::BAD_REQUEST, "count=<N> is required");
        };
        return match sim.burst(id, n).await {
            Ok(()) => Json(json!({ "count": n })).into_response(),
            Err(e) => message(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        };
    }
    message(
        StatusCode::NOT_FOUND,
        "expected /sim/apps/{id}/scale or /sim/apps/{id}/burst",
    )
}

/// `DELETE /sim/apps/{id}`.
pub(super) async fn terminate(State(sim): State<Sim>, Path(rest): Path<String>) -> Response {
    match sim.terminate(rest.trim_matches('/')) {
        Ok(()) => Json(json!({})).into_response(),
        Err(e) => sim_error(e),
    }
}

/// `GET /sim/tasks`: the running tasks' [`TaskView`](crate::TaskView)s.
pub(super) async fn tasks(State(sim): State<Sim>) -> Response {
    Json(json!({ "tasks": running_task_views(&sim) })).into_response()
}

/// `POST /sim/tasks/{id}/kill[?scale=true]`.
pub(super) async fn kill(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let scale = match query_bool(&parse_query(q.as_deref()), "scale", false) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    match sim.kill_task(&id, !scale) {
        Ok(replacement) => Json(json!({ "replacement": replacement })).into_response(),
        Err(e) => sim_error(e),
    }
}

/// `POST /sim/tasks/{id}/health?healthy=false`.
pub(super) async fn health(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let healthy = match query_bool(&parse_query(q.as_deref()), "healthy", true) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    match sim.set_health(&id, healthy) {
        Ok(()) => Json(json!({ "healthy": healthy })).into_response(),
        Err(e) => sim_error(e),
    }
}

/// Sets a switch from `?on=true|false` and answers `{name: on}`.
fn set_switch(switch: &AtomicBool, name: &str, query: Option<&str>) -> Response {
    match query_bool(&parse_query(query), "on", true) {
        Ok(on) => {
            switch.store(on, Ordering::SeqCst);
            Json(json!({ name: on })).into_response()
        }
        Err(r) => *r,
    }
}

/// `POST /sim/fail?on=true|false`.
pub(super) async fn fail(State(sim): State<Sim>, RawQuery(q): RawQuery) -> Response {
    set_switch(&sim.failing, "failing", q.as_deref())
}

/// `POST /sim/delivery?on=true|false`.
pub(super) async fn delivery(State(sim): State<Sim>, RawQuery(q): RawQuery) -> Response {
    set_switch(&sim.bus.delivery, "delivery", q.as_deref())
}

/// `POST /sim/drop-streams`.
pub(super) async fn drop_streams(State(sim): State<Sim>) -> Response {
    sim.streams.drop_all().await;
    Json(json!({})).into_response()
}

/// `POST /sim/events` with an event JSON body: broadcast verbatim.
pub(super) async fn emit(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    match json_body(&body) {
        Ok(v) => {
            sim.bus.publish(BusEvent::from_value(&v));
            Json(json!({})).into_response()
        }
        Err(r) => *r,
    }
}
