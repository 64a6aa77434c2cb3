//! The subscriber's HTTP API (axum).
//!
//! | route | what |
//! |---|---|
//! | `POST /callback` | a Marathon event (`callback`): 200 once queued, 400 bad JSON, 422 unusable content, 413 a body over `--max-body` or a record over `--max-record-size`, 503 queue full (413 and 503 schedule a resync) |
//! | `GET /cleanup` | the Marathon reconcile plan as JSON; changes nothing (404 without `--marathon`) |
//! | `POST /cleanup[?force=true]` | apply the Marathon plan; 409 when it removes too much without `force`, 502 when Marathon fails (nothing removed). With `--mesos` it also asks the Mesos source to subscribe again (its resync follows every snapshot); Mesos alone: 202 |
//! | `GET /v1/apps[?group=/g]`, `GET /v1/tasks[?app=/a]` | what etcd holds |
//! | `GET /healthz`, `GET /metrics` | etcd, Marathon and Mesos reachability, refused records; Prometheus metrics |
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
use crate::mesos::source::{MesosStatus, MesosView};
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
    /// The registry (read views, health).
    pub registry: Registry,
    /// The writer (record size limit, refused records for health).
    pub writer: Writer,
    /// The Marathon side, when configured.
    pub marathon: Option<MarathonApi>,
    /// The Mesos source, when configured.
    pub mesos: Option<MesosApi>,
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

/// What the API uses of the Marathon source.
pub struct MarathonApi {
    /// The client (health).
    pub client: MarathonClient,
    /// The reconciler (`/cleanup`).
    pub reconciler: Arc<Reconciler>,
}

/// What the API uses of the Mesos source.
pub struct MesosApi {
    /// Its status (health).
    pub status: MesosStatus,
    /// Asks it to subscribe again (`POST /cleanup`).
    pub resync: Resync,
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

const NO_MARATHON: &str = "no Marathon source is configured (--marathon); the Mesos source resyncs after every subscribe, POST /cleanup asks for one";

async fn plan_cleanup(State(state): State<Arc<ApiState>>) -> Response {
    let Some(marathon) = &state.marathon else {
        return error(StatusCode::NOT_FOUND, NO_MARATHON);
    };
    match marathon.reconciler.plan().await {
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
    if let Some(mesos) = &state.mesos {
        mesos.resync.request("POST /cleanup");
    }
    let Some(marathon) = &state.marathon else {
        return (
            StatusCode::ACCEPTED,
            axum::Json(json!({"mesos": "a new subscription (and its resync) was requested"})),
        )
            .into_response();
    };
    match marathon.reconciler.run(force).await {
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
    let marathon_ping = async {
        match &state.marathon {
            Some(m) => Some(tokio::time::timeout(deadline, m.client.ping()).await),
            None => None,
        }
    };
    let (etcd, marathon) = tokio::join!(
        tokio::time::timeout(deadline, state.registry.ping()),
        marathon_ping,
    );
    let etcd = match etcd {
        Ok(Ok(revision)) => json!({"ok": true, "revision": revision}),
        Ok(Err(e)) => json!({"ok": false, "error": e.to_string()}),
        Err(_) => json!({"ok": false, "error": "no answer within 2s"}),
    };
    let marathon = match (marathon, &state.marathon) {
        (Some(Ok(Ok(()))), Some(m)) => json!({"ok": true, "url": m.client.base_url().as_str()}),
        (Some(Ok(Err(e))), _) => json!({"ok": false, "error": e.to_string()}),
        (Some(Err(_)), _) => json!({"ok": false, "error": "no answer within 2s"}),
        _ => json!(null),
    };
    let leading = *state.leader.borrow();
    let mesos = state
        .mesos
        .as_ref()
        .map(|m| mesos_health(&m.status.view(), leading));
    let writes = state.writer.health();
    let mesos_down = mesos.as_ref().is_some_and(|m| m["ok"] != true);
    let status = if etcd["ok"] != true {
        // Nothing accepted can be written.
        service::HealthStatus::Down
    } else if (marathon != json!(null) && marathon["ok"] != true)
        || mesos_down
        || writes.problem.is_some()
    {
        // Events still flow from callbacks; resyncs and app definitions wait. Or the
        // Mesos stream is down (its records are kept as they were). Or records were
        // refused (each alone: the others are written).
        service::HealthStatus::Degraded
    } else {
        service::HealthStatus::Ok
    };
    service::Health {
        status,
        checks: json!({
            "etcd": etcd,
            "marathon": marathon,
            "mesos": mesos,
            "writes": writes.checks,
            "leader": leading,
            "source": state.source,
            "queue_depth": state.queue.depth(),
        }),
    }
}

/// The Mesos source's part of `/healthz`: a standby (not leading) does not stream, and is
/// fine; the leader is fine while its stream is open.
fn mesos_health(view: &MesosView, leading: bool) -> serde_json::Value {
    json!({
        "ok": (!leading || view.connected) && view.withheld == 0,
        "connected": view.connected,
        "leader": view.leader,
        "last_event_at": view.last_event_at,
        "last_resync_at": view.last_resync.as_ref().map(|(at, _)| at),
        "withheld_removals": view.withheld,
        "error": if view.connected { None } else { view.last_error.clone() },
    })
}
