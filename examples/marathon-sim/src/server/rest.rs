//! Marathon's `/v2` REST resources (and `/ping`), rendered in the configured version's
//! shapes.

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::query::parse_query;
use super::{Remote, Sim, json_body, message, sim_error};
use crate::definition::app_spec_from_definition;
use crate::model::App;
use crate::render::app::{app_json, apps_json};
use crate::render::info::info_json;
use crate::render::task::{task_json, tasks_text};

/// `GET /ping`.
pub(super) async fn ping() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "pong\n",
    )
        .into_response()
}

/// `GET /v2/info`.
pub(super) async fn info(State(sim): State<Sim>) -> Response {
    let body = info_json(
        &sim.cfg,
        sim.addr.port(),
        &sim.framework_id,
        sim.bus.callbacks.urls(),
    );
    Json(body).into_response()
}

/// Whether the query asks for tasks inside the apps (any of Marathon's `embed` spellings).
fn wants_tasks(query: &[(String, String)]) -> bool {
    query.iter().any(|(k, v)| {
        k == "embed" && matches!(v.as_str(), "apps.tasks" | "app.tasks" | "group.apps.tasks")
    })
}

/// `id=` (substring) and `label=` (`k`, `k==v`, `k!=v`, comma = AND) filters of `/v2/apps`.
fn app_matches(app: &App, filters: &[(String, String)]) -> bool {
    filters.iter().all(|(k, v)| match k.as_str() {
        "id" => app.spec.id.contains(v.as_str()),
        "label" => v
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .all(|c| {
                let labels = &app.spec.labels;
                if let Some((k, v)) = c.split_once("!=") {
                    labels.get(k.trim()).map(String::as_str) != Some(v.trim())
                } else if let Some((k, v)) = c.split_once("==") {
                    labels.get(k.trim()).map(String::as_str) == Some(v.trim())
                } else {
                    labels.contains_key(c)
                }
            }),
        _ => true,
    })
}

/// `GET /v2/apps[?embed=apps.tasks][&id=..][&label=..]`.
pub(super) async fn apps_index(State(sim): State<Sim>, RawQuery(q): RawQuery) -> Response {
    let query = parse_query(q.as_deref());
    let cluster = sim.lock();
    if wants_tasks(&query) && query.iter().all(|(k, _)| k == "embed") {
        let body = sim.listing(&cluster, |cluster| {
            let listing = apps_json(&sim.cfg, cluster.apps.values(), true);
            serde_json::to_vec(&listing).unwrap_or_default().into()
        });
        return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    }
    let apps = cluster.apps.values().filter(|a| app_matches(a, &query));
    Json(apps_json(&sim.cfg, apps, wants_tasks(&query))).into_response()
}

fn app_not_found(id: &str) -> Response {
    message(StatusCode::NOT_FOUND, format!("App '{id}' does not exist"))
}

/// `/v2/apps/{id}`, `/v2/apps/{id}/tasks`, `/v2/apps/{group}/*`.
pub(super) async fn apps_show(State(sim): State<Sim>, Path(rest): Path<String>) -> Response {
    let rest = rest.trim_matches('/');
    if let Some(group) = rest
        .strip_suffix("/*")
        .or(if rest == "*" { Some("") } else { None })
    {
        let prefix = format!("/{}", group.trim_matches('/'));
        let cluster = sim.lock();
        let apps: Vec<Value> = cluster
            .apps
            .values()
            .filter(|a| prefix == "/" || a.spec.id.starts_with(&format!("{prefix}/")))
            .map(|a| app_json(&sim.cfg, a, true, true))
            .collect();
        return Json(json!({ "*": apps })).into_response();
    }
    let (id, tasks) = match rest.strip_suffix("/tasks") {
        Some(id) => (format!("/{id}"), true),
        None => (format!("/{rest}"), false),
    };
    let cluster = sim.lock();
    let Some(app) = cluster.apps.get(&id) else {
        return app_not_found(&id);
    };
    if tasks {
        let t: Vec<Value> = app
            .tasks
            .iter()
            .map(|t| task_json(&sim.cfg, app, t, true))
            .collect();
        Json(json!({ "tasks": t })).into_response()
    } else {
        Json(json!({ "app": app_json(&sim.cfg, app, true, true) })).into_response()
    }
}

/// `POST /v2/apps`: deploys a Marathon app definition (either version's shape), answering
/// `201` with the app as `GET /v2/apps/{id}` shows it (Marathon answers with the definition).
pub(super) async fn apps_create(
    State(sim): State<Sim>,
    Extension(Remote(remote)): Extension<Remote>,
    body: axum::body::Bytes,
) -> Response {
    let definition = match json_body(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let spec = match app_spec_from_definition(&definition) {
        Ok(spec) => spec,
        Err(e) => return message(StatusCode::UNPROCESSABLE_ENTITY, e),
    };
    let id = spec.id.clone();
    if let Err(e) = sim.deploy(spec, &remote.ip().to_string()) {
        return sim_error(e);
    }
    let id = if id.starts_with('/') {
        id
    } else {
        format!("/{id}")
    };
    let cluster = sim.lock();
    match cluster.apps.get(&id) {
        Some(app) => (
            StatusCode::CREATED,
            Json(app_json(&sim.cfg, app, false, false)),
        )
            .into_response(),
        None => app_not_found(&id),
    }
}

/// Marathon's answer to a change that starts a deployment.
fn deployment_started(sim: &Sim) -> Response {
    Json(json!({ "deploymentId": "simulated", "version": sim.clock.ts() })).into_response()
}

/// `PUT /v2/apps/{id}`: the simulator changes only `instances` (scaling).
pub(super) async fn apps_update(
    State(sim): State<Sim>,
    Extension(Remote(remote)): Extension<Remote>,
    Path(rest): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let update = match json_body(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(n) = update
        .get("instances")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
    else {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the simulator only applies {\"instances\": N} updates",
        );
    };
    match sim.scale(rest.trim_matches('/'), n, &remote.ip().to_string()) {
        Ok(_) => deployment_started(&sim),
        Err(e) => sim_error(e),
    }
}

/// `DELETE /v2/apps/{id}`: stops the app's tasks and removes it.
pub(super) async fn apps_destroy(State(sim): State<Sim>, Path(rest): Path<String>) -> Response {
    match sim.terminate(rest.trim_matches('/')) {
        Ok(()) => deployment_started(&sim),
        Err(e) => sim_error(e),
    }
}

fn accepts_text(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/plain") && !v.contains("application/json"))
}

/// `GET /v2/tasks[?status=running]`: JSON, or the text list with `Accept: text/plain`.
pub(super) async fn tasks_index(
    State(sim): State<Sim>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = parse_query(q.as_deref());
    let wanted: Vec<String> = query
        .iter()
        .filter(|(k, _)| k == "status" || k == "status[]")
        .map(|(_, v)| format!("TASK_{}", v.to_ascii_uppercase()))
        .collect();
    let cluster = sim.lock();
    if accepts_text(&headers) {
        let text = tasks_text(&sim.cfg, cluster.apps.values());
        return ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response();
    }
    let tasks: Vec<Value> = cluster
        .apps
        .values()
        .flat_map(|app| {
            app.tasks
                .iter()
                .filter(|t| wanted.is_empty() || wanted.iter().any(|w| w == t.state.mesos_name()))
                .map(|t| task_json(&sim.cfg, app, t, true))
        })
        .collect();
    Json(json!({ "tasks": tasks })).into_response()
}
