//! The subscriber's HTTP API (axum).
//!
//! | route | what |
//! |---|---|
//! | `POST /callback` | a Marathon event (any Content-Type, parsed as JSON): 200 once queued, 400 bad JSON, 422 unusable content, 413 a body over `--max-body` or a record over `--max-record-size`, 503 queue full (413 and 503 schedule a resync) |
//! | `GET /cleanup` | the reconcile plan as JSON; changes nothing |
//! | `POST /cleanup[?force=true]` | apply the plan; 409 when it removes too much without `force`, 502 when Marathon fails (nothing removed) |
//! | `GET /v1/apps[?group=/g]`, `GET /v1/tasks[?app=/a]` | what etcd holds |
//! | `GET /healthz`, `GET /metrics` | etcd and Marathon reachability, refused records; Prometheus metrics |
//!
//! `/callback` and `/cleanup` (GET and POST) take the optional auth: a bearer token (in the
//! `Authorization` header or as `?token=`), or Basic.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use registry::{AppId, Registry, Scope};
use serde_json::json;
use tokio::sync::watch;

use crate::config::Source;
use crate::events;
use crate::ingest;
use crate::marathon::MarathonClient;
use crate::queue::{IngestQueue, Queued};
use crate::reconcile::{ReconcileError, Reconciler};
use crate::resync::Resync;
use crate::telemetry;
use crate::writes::{self, WriteError, Writer};

/// A callback body must arrive within this (a slow or stalled client gets 408 and its
/// connection is closed, so it cannot hold a task and a buffer forever).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Who may call `/callback` and `/cleanup`.
#[derive(Clone, Default)]
pub struct ApiAuth {
    token: Option<String>,
    basic: Option<String>,
}

impl ApiAuth {
    /// No auth when both are `None`.
    pub fn new(token: Option<String>, credentials: Option<String>) -> Self {
        ApiAuth {
            token: token.filter(|t| !t.is_empty()),
            basic: credentials.filter(|c| !c.is_empty()).map(|c| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(c)
                )
            }),
        }
    }

    fn enabled(&self) -> bool {
        self.token.is_some() || self.basic.is_some()
    }

    fn allows(&self, headers: &HeaderMap, query_token: Option<&str>) -> bool {
        if !self.enabled() {
            return true;
        }
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Some(token) = &self.token {
            if let Some(bearer) = given.strip_prefix("Bearer ")
                && same(bearer.trim().as_bytes(), token.as_bytes())
            {
                return true;
            }
            if let Some(q) = query_token
                && same(q.as_bytes(), token.as_bytes())
            {
                return true;
            }
        }
        if let Some(basic) = &self.basic
            && same(given.trim().as_bytes(), basic.as_bytes())
        {
            return true;
        }
        false
    }
}

/// Constant-time comparison (for secrets).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

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

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, axum::Json(json!({ "error": message.to_string() }))).into_response()
}

fn unauthorized() -> Response {
    let mut r = error(StatusCode::UNAUTHORIZED, "missing or wrong credentials");
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer, Basic realm=\"herald\""),
    );
    r
}

fn query_param(query: &Option<String>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The routes (with `/healthz` and `/metrics`).
pub fn router(state: Arc<ApiState>) -> Router {
    let health_state = state.clone();
    let ops = service::ops_routes(move || health(health_state.clone()));
    Router::new()
        .route("/callback", post(callback))
        .route("/cleanup", get(plan_cleanup).post(apply_cleanup))
        .route("/v1/apps", get(list_apps))
        .route("/v1/tasks", get(list_tasks))
        .with_state(state)
        .merge(ops)
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such route") })
}

async fn callback(
    State(state): State<Arc<ApiState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !state
        .auth
        .allows(&headers, query_param(&query, "token").as_deref())
    {
        return unauthorized();
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_big = || {
        telemetry::event("unknown", "invalid");
        // Probably a real (huge) Marathon event we now miss.
        state.resync.request("an oversized callback was refused");
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {} bytes", state.max_body),
        )
    };
    if declared.is_some_and(|n| n > state.max_body as u64) {
        return too_big();
    }
    let read = tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, state.max_body));
    let Ok(read) = read.await else {
        telemetry::event("unknown", "invalid");
        let mut response = error(
            StatusCode::REQUEST_TIMEOUT,
            format!("the body did not arrive within {BODY_TIMEOUT:?}"),
        );
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    };
    let bytes = match read {
        Ok(b) => b,
        Err(e) => {
            let limit = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.to_string().contains("length limit");
            if limit {
                return too_big();
            }
            return error(
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {e}"),
            );
        }
    };
    let decoded = match events::decode(&bytes)
        .and_then(|d| events::check_clock(d, chrono::Utc::now(), state.max_clock_skew))
    {
        Ok(d) => d,
        Err(e) => {
            let label = match &e {
                events::DecodeError::Invalid { event_type, .. } => events::type_label(event_type),
                _ => "unknown",
            };
            telemetry::event(label, "invalid");
            let status = if e.is_bad_request() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            return error(status, e);
        }
    };
    if decoded.event == events::Event::Ignored {
        telemetry::event(decoded.label, "ignored");
        return (StatusCode::OK, axum::Json(json!({"status": "ignored"}))).into_response();
    }
    let label = decoded.label;
    if let Some(write) = ingest::provisional_write(&decoded.event)
        && let Err(WriteError::TooLarge { size, limit }) = state.writer.admit(&write)
    {
        telemetry::event(label, "refused");
        // Marathon backs off from a callback URL that answers 4xx, dropping events.
        state
            .resync
            .request("a callback whose record is too large was refused");
        let (app, task) = writes::subject(&write);
        let body = json!({
            "error": format!(
                "the record of {} would be {size} bytes, more than the {limit} allowed \
                 (--max-record-size); nothing was written",
                task.map_or_else(|| format!("app {app}"), |t| format!("task {t}"))
            ),
            "app": app.as_str(),
            "task": task,
            "size": size,
            "limit": limit,
        });
        return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response();
    }
    match state.queue.try_push(Queued::new(label, decoded.event)) {
        Ok(()) => (StatusCode::OK, axum::Json(json!({"status": "accepted"}))).into_response(),
        Err(_) => {
            telemetry::event(label, "rejected");
            state.resync.request("the callback queue was full");
            let mut r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the event queue is full; a resync is scheduled",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
    }
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

async fn plan_cleanup(
    State(state): State<Arc<ApiState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !state
        .auth
        .allows(&headers, query_param(&query, "token").as_deref())
    {
        return unauthorized();
    }
    match state.reconciler.plan().await {
        Ok(plan) => axum::Json(plan).into_response(),
        Err(e) => reconcile_error(e),
    }
}

async fn apply_cleanup(
    State(state): State<Arc<ApiState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !state
        .auth
        .allows(&headers, query_param(&query, "token").as_deref())
    {
        return unauthorized();
    }
    let force = match query_param(&query, "force").as_deref() {
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

fn scope_param(query: &Option<String>, name: &str, app: bool) -> Result<Scope, String> {
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
    let scope = match scope_param(&query, "group", false) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match state.registry.list(&scope).await {
        Ok(s) => {
            let apps: Vec<_> = s.apps.into_iter().map(|v| v.record).collect();
            axum::Json(json!({ "revision": s.revision, "apps": apps })).into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("etcd: {e}")),
    }
}

async fn list_tasks(State(state): State<Arc<ApiState>>, RawQuery(query): RawQuery) -> Response {
    let scope = match scope_param(&query, "app", true) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match state.registry.list(&scope).await {
        Ok(s) => {
            let tasks: Vec<_> = s.tasks.into_iter().map(|v| v.record).collect();
            axum::Json(json!({ "revision": s.revision, "tasks": tasks })).into_response()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_accepts_bearer_query_token_and_basic() {
        let auth = ApiAuth::new(Some("s3cret".into()), Some("u:p".into()));
        let mut h = HeaderMap::new();
        assert!(!auth.allows(&h, None));
        assert!(auth.allows(&h, Some("s3cret")));
        assert!(!auth.allows(&h, Some("s3cre")));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(auth.allows(&h, None));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dTpw"),
        );
        assert!(auth.allows(&h, None));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dTpx"),
        );
        assert!(!auth.allows(&h, None));
        assert!(ApiAuth::default().allows(&HeaderMap::new(), None));
    }
}
