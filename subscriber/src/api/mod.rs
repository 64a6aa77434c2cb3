//! The subscriber's HTTP API (axum).
//!
//! | route | what |
//! |---|---|
//! | `POST /callback` | a Marathon event (`callback`): 200 once queued, 400 bad JSON, 422 unusable content, 413 a body over `--max-body` or a record over `--max-record-size`, 503 queue full (413 and 503 schedule a resync) |
//! | `GET /cleanup` | the reconcile plan as JSON; changes nothing |
//! | `POST /cleanup[?force=true]` | apply the plan; 409 when it removes too much without `force`, 502 when Marathon fails (nothing removed) |
//! | `GET /v1/apps[?group=/g]`, `GET /v1/tasks[?app=/a]` | what etcd holds |
//! | `GET /healthz`, `GET /metrics` | etcd and Marathon reachability, refused records; Prometheus metrics |
//!
//! `/callback` and `/cleanup` (GET and POST) sit behind one layer that checks the optional
//! auth (`auth`): a bearer token (in the `Authorization` header or as `?token=`), or Basic.

mod auth;
mod callback;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use registry::{AppId, Registry, Scope, Snapshot};
use serde::Serialize;
use serde_json::json;
use tokio::sync::watch;

pub use auth::ApiAuth;
pub use callback::BODY_TIMEOUT;

use crate::config::Source;
use crate::marathon::MarathonClient;
use crate::queue::IngestQueue;
use crate::reconcile::{ReconcileError, Reconciler};
use crate::resync::Resync;
use crate::writes::Writer;

/// What the handlers share.
pub struct ApiState {
    /// The event queue.
    pub queue: IngestQueue,
    /// Resync requests.
    pub resync: Resync,
    /// The reconciler.
    pub reconciler: Arc<Reconciler>,
    /// The registry (read views, health).
    pub registry: Registry,
    /// The writer (record size limit, refused records for health).
    pub writer: Writer,
    /// Marathon (health).
    pub marathon: MarathonClient,
    /// Auth of /callback and /cleanup.
    pub auth: ApiAuth,
    /// Body size limit.
    pub max_body: usize,
    /// Leadership.
    pub leader: watch::Receiver<bool>,
    /// The event source.
    pub source: Source,
    /// Events stamped further than this ahead of this host's clock get 422.
    pub max_clock_skew: Duration,
}

/// The routes (with `/healthz` and `/metrics`).
pub fn router(state: Arc<ApiState>) -> Router {
    let health_state = state.clone();
    let ops = service::ops_routes(move || health(health_state.clone()));
    // Only routes that exist: a wrong method still gets 405, not 401.
    let guarded = Router::new()
        .route("/callback", post(callback::callback))
        .route("/cleanup", get(plan_cleanup).post(apply_cleanup))
        .route_layer(axum::middleware::from_fn_with_state(
            state.auth.clone(),
            auth::require,
        ));
    guarded
        .route("/v1/apps", get(list_apps))
        .route("/v1/tasks", get(list_tasks))
        .with_state(state)
        .merge(ops)
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such route") })
}

/// `{"error": message}` with `status`.
fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, axum::Json(json!({ "error": message.to_string() }))).into_response()
}

/// A query parameter, decoded.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn reconcile_error(e: ReconcileError) -> Response {
    match e {
        ReconcileError::Marathon(e) => error(
            StatusCode::BAD_GATEWAY,
            format!("Marathon failed; nothing was changed: {e}"),
        ),
        ReconcileError::Etcd(e) => {
            error(StatusCode::SERVICE_UNAVAILABLE, format!("etcd failed: {e}"))
        }
        ReconcileError::Write(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("etcd failed some writes (the others were applied): {e}"),
        ),
        ReconcileError::NeedsForce { ref plan, .. } => {
            let body = json!({ "error": e.to_string(), "plan": plan });
            (StatusCode::CONFLICT, axum::Json(body)).into_response()
        }
    }
}

async fn plan_cleanup(State(state): State<Arc<ApiState>>) -> Response {
    match state.reconciler.plan().await {
        Ok(plan) => axum::Json(plan).into_response(),
        Err(e) => reconcile_error(e),
    }
}

async fn apply_cleanup(State(state): State<Arc<ApiState>>, RawQuery(query): RawQuery) -> Response {
    let force = match query_param(query.as_deref(), "force").as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") | Some("") => true,
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("force must be true or false, not {other:?}"),
            );
        }
    };
    match state.reconciler.run(force).await {
        Ok(report) => axum::Json(report).into_response(),
        Err(e) => reconcile_error(e),
    }
}

fn scope_param(query: Option<&str>, name: &str, app: bool) -> Result<Scope, String> {
    match query_param(query, name) {
        None => Ok(Scope::All),
        Some(raw) => match AppId::parse(&raw) {
            Ok(id) if id.is_root() => Ok(Scope::All),
            Ok(id) if app => Ok(Scope::App(id)),
            Ok(id) => Ok(Scope::Group(id)),
            Err(e) => Err(format!("{name}: {e}")),
        },
    }
}

async fn list_apps(State(state): State<Arc<ApiState>>, RawQuery(query): RawQuery) -> Response {
    let scope = scope_param(query.as_deref(), "group", false);
    view(&state, scope, "apps", |s| {
        s.apps.into_iter().map(|v| v.record).collect()
    })
    .await
}

async fn list_tasks(State(state): State<Arc<ApiState>>, RawQuery(query): RawQuery) -> Response {
    let scope = scope_param(query.as_deref(), "app", true);
    view(&state, scope, "tasks", |s| {
        s.tasks.into_iter().map(|v| v.record).collect()
    })
    .await
}

/// What etcd holds in `scope`: `{"revision": ..., <what>: records}`.
async fn view<T: Serialize>(
    state: &ApiState,
    scope: Result<Scope, String>,
    what: &str,
    records: impl FnOnce(Snapshot) -> Vec<T>,
) -> Response {
    let scope = match scope {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match state.registry.list(&scope).await {
        Ok(s) => {
            let mut body = serde_json::Map::new();
            body.insert("revision".into(), s.revision.into());
            body.insert(what.into(), json!(records(s)));
            axum::Json(body).into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("etcd: {e}")),
    }
}

async fn health(state: Arc<ApiState>) -> service::Health {
    let deadline = Duration::from_secs(2);
    let (etcd, marathon) = tokio::join!(
        tokio::time::timeout(deadline, state.registry.ping()),
        tokio::time::timeout(deadline, state.marathon.ping()),
    );
    let etcd = match etcd {
        Ok(Ok(revision)) => json!({"ok": true, "revision": revision}),
        Ok(Err(e)) => json!({"ok": false, "error": e.to_string()}),
        Err(_) => json!({"ok": false, "error": "no answer within 2s"}),
    };
    let marathon = match marathon {
        Ok(Ok(())) => json!({"ok": true, "url": state.marathon.base_url().as_str()}),
        Ok(Err(e)) => json!({"ok": false, "error": e.to_string()}),
        Err(_) => json!({"ok": false, "error": "no answer within 2s"}),
    };
    let writes = state.writer.health();
    let status = if etcd["ok"] != true {
        // Nothing accepted can be written.
        service::HealthStatus::Down
    } else if marathon["ok"] != true || writes.problem.is_some() {
        // Events still flow from callbacks; resyncs and app definitions wait. Or records
        // were refused (each alone: the others are written).
        service::HealthStatus::Degraded
    } else {
        service::HealthStatus::Ok
    };
    service::Health {
        status,
        checks: json!({
            "etcd": etcd,
            "marathon": marathon,
            "writes": writes.checks,
            "leader": *state.leader.borrow(),
            "source": state.source,
            "queue_depth": state.queue.depth(),
        }),
    }
}
