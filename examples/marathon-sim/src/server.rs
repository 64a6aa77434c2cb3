//! HTTP surface: Marathon's `/v2/*` endpoints (as the configured version renders them) and the
//! simulator's own `/sim/*` control API.

use crate::definition::app_spec_from_definition;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::state::{Inner, SimError};
use crate::stream::{BusEvent, open_stream};
use crate::util::{base64_decode, parse_query, safe_path};
use crate::{AppSpec, MarathonVersion};

/// The peer address of a connection.
#[derive(Clone, Copy, Debug)]
struct Remote(SocketAddr);

type Shared = Arc<Inner>;

/// Accept loop; runs until the simulator is cancelled, then drops every connection.
pub(crate) async fn serve(inner: Shared, listener: TcpListener) {
    let router = router(inner.clone());
    loop {
        let (stream, remote) = tokio::select! {
            _ = inner.cancel.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let svc = TowerToHyperService::new(router.clone().layer(Extension(Remote(remote))));
        let cancel = inner.cancel.clone();
        tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc);
            tokio::select! {
                _ = conn => {}
                _ = cancel.cancelled() => {}
            }
        });
    }
}

fn router(inner: Shared) -> Router {
    Router::new()
        .route("/ping", get(ping))
        .route("/v2/info", get(info))
        .route("/v2/apps", get(apps_index).post(apps_create))
        .route(
            "/v2/apps/{*rest}",
            get(apps_show).put(apps_update).delete(apps_destroy),
        )
        .route("/v2/tasks", get(tasks_index))
        .route("/v2/events", get(events))
        .route(
            "/v2/eventSubscriptions",
            get(subscriptions).post(subscriptions).delete(subscriptions),
        )
        .route("/sim/healthz", get(|| async { "ok\n" }))
        .route("/sim/apps", post(sim_deploy))
        .route(
            "/sim/apps/{*rest}",
            post(sim_app_action).delete(sim_terminate),
        )
        .route("/sim/tasks", get(sim_tasks))
        .route("/sim/tasks/{id}/kill", post(sim_kill))
        .route("/sim/tasks/{id}/health", post(sim_health))
        .route("/sim/fail", post(sim_fail))
        .route("/sim/delivery", post(sim_delivery))
        .route("/sim/drop-streams", post(sim_drop_streams))
        .route("/sim/events", post(sim_emit))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(inner.clone(), guard))
        .with_state(inner)
}

fn message(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "message": msg.into() }))).into_response()
}

fn sim_error(e: SimError) -> Response {
    let status = match e {
        SimError::NotFound(_) => StatusCode::NOT_FOUND,
        SimError::Conflict(_) => StatusCode::CONFLICT,
        SimError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    message(status, e.to_string())
}

fn authorized(inner: &Inner, headers: &HeaderMap) -> bool {
    let Some((user, pass)) = &inner.cfg.auth else {
        return true;
    };
    headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("basic")
                .then(|| base64_decode(token.trim()))?
        })
        .any(|decoded| decoded == format!("{user}:{pass}").as_bytes())
}

/// Auth on every path, failing mode on `/v2/*`, `X-Marathon-Leader` on `/v2/*` answers.
async fn guard(State(inner): State<Shared>, req: Request, next: Next) -> Response {
    if !authorized(&inner, req.headers()) {
        let mut r = (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Mesosphere\""),
        );
        return r;
    }
    let v2 = req.uri().path().starts_with("/v2/");
    if v2 && inner.failing.load(Ordering::SeqCst) {
        return message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "marathon-sim failing mode: simulated internal server error",
        );
    }
    let mut resp = next.run(req).await;
    if v2
        && !resp.headers().contains_key("x-marathon-leader")
        && let Ok(v) = HeaderValue::from_str(&inner.url)
    {
        resp.headers_mut().insert("x-marathon-leader", v);
    }
    resp
}

async fn not_found(uri: Uri) -> Response {
    message(
        StatusCode::NOT_FOUND,
        format!("URI not found: {}", uri.path()),
    )
}

async fn ping() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "pong\n",
    )
        .into_response()
}

async fn info(State(inner): State<Shared>) -> Response {
    let port = inner.addr.port();
    let leader = format!("127.0.0.1:{port}");
    let mut v = json!({
        "name": "marathon",
        "version": inner.cfg.version.full_version(),
        "buildref": "marathon-sim (a simulator, not Marathon)",
        "elected": true,
        "leader": leader,
        "frameworkId": inner.framework_id,
        "marathon_config": {
            "checkpoint": true,
            "executor": "//cmd",
            "failover_timeout": 604800,
            "features": [],
            "framework_name": "marathon",
            "ha": true,
            "hostname": "127.0.0.1",
            "local_port_max": 20000,
            "local_port_min": 10000,
            "master": "zk://localhost:2181/mesos",
            "mesos_role": null,
            "mesos_user": "root",
            "reconciliation_initial_delay": 15000,
            "reconciliation_interval": 600000,
            "task_launch_timeout": 300000,
            "webui_url": null
        },
        "zookeeper_config": {
            "zk": "zk://localhost:2181/marathon",
            "zk_timeout": 10000,
            "zk_session_timeout": 10000,
            "zk_max_versions": 50
        },
        "http_config": { "http_port": port, "https_port": 8443 }
    });
    if inner.cfg.version == MarathonVersion::V1_4 && inner.cfg.callbacks {
        v["event_subscriber"] =
            json!({ "type": "http_callback", "http_endpoints": inner.bus.callbacks.urls() });
    }
    Json(v).into_response()
}

fn wants_tasks(query: &[(String, String)]) -> bool {
    query.iter().any(|(k, v)| {
        k == "embed" && matches!(v.as_str(), "apps.tasks" | "app.tasks" | "group.apps.tasks")
    })
}

async fn apps_index(State(inner): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let query = parse_query(q.as_deref());
    Json(inner.apps_json(wants_tasks(&query), &query)).into_response()
}

fn app_not_found(id: &str) -> Response {
    message(StatusCode::NOT_FOUND, format!("App '{id}' does not exist"))
}

/// `/v2/apps/{id}`, `/v2/apps/{id}/tasks`, `/v2/apps/{group}/*`.
async fn apps_show(State(inner): State<Shared>, Path(rest): Path<String>) -> Response {
    let rest = rest.trim_matches('/');
    if let Some(group) = rest
        .strip_suffix("/*")
        .or(if rest == "*" { Some("") } else { None })
    {
        let prefix = format!("/{}", group.trim_matches('/'));
        let st = inner.lock();
        let apps: Vec<Value> = st
            .apps
            .values()
            .filter(|a| prefix == "/" || a.spec.id.starts_with(&format!("{prefix}/")))
            .map(|a| inner.app_json(a, true, true))
            .collect();
        return Json(json!({ "*": apps })).into_response();
    }
    let (id, tasks) = match rest.strip_suffix("/tasks") {
        Some(id) => (format!("/{id}"), true),
        None => (format!("/{rest}"), false),
    };
    let st = inner.lock();
    let Some(app) = st.apps.get(&id) else {
        return app_not_found(&id);
    };
    if tasks {
        let t: Vec<Value> = app
            .tasks
            .iter()
            .map(|t| inner.task_json(app, t, true))
            .collect();
        Json(json!({ "tasks": t })).into_response()
    } else {
        Json(json!({ "app": inner.app_json(app, true, true) })).into_response()
    }
}

/// `POST /v2/apps`: deploys a Marathon app definition (either version's shape), answering
/// `201` with the app as `GET /v2/apps/{id}` shows it (Marathon answers with the definition).
async fn apps_create(
    State(inner): State<Shared>,
    Extension(Remote(remote)): Extension<Remote>,
    body: axum::body::Bytes,
) -> Response {
    let definition: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return message(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")),
    };
    let spec = match app_spec_from_definition(&definition) {
        Ok(spec) => spec,
        Err(e) => return message(StatusCode::UNPROCESSABLE_ENTITY, e),
    };
    let id = spec.id.clone();
    if let Err(e) = inner.deploy(spec, &remote.ip().to_string()) {
        return sim_error(e);
    }
    let id = if id.starts_with('/') {
        id
    } else {
        format!("/{id}")
    };
    let st = inner.lock();
    match st.apps.get(&id) {
        Some(app) => (StatusCode::CREATED, Json(inner.app_json(app, false, false))).into_response(),
        None => app_not_found(&id),
    }
}

/// `PUT /v2/apps/{id}`: the simulator changes only `instances` (scaling).
async fn apps_update(
    State(inner): State<Shared>,
    Extension(Remote(remote)): Extension<Remote>,
    Path(rest): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let update: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return message(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")),
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
    match inner.scale(rest.trim_matches('/'), n, &remote.ip().to_string()) {
        Ok(_) => Json(json!({ "deploymentId": "simulated", "version": inner.clock.ts() }))
            .into_response(),
        Err(e) => sim_error(e),
    }
}

/// `DELETE /v2/apps/{id}`: stops the app's tasks and removes it.
async fn apps_destroy(State(inner): State<Shared>, Path(rest): Path<String>) -> Response {
    match inner.terminate(rest.trim_matches('/')) {
        Ok(()) => Json(json!({ "deploymentId": "simulated", "version": inner.clock.ts() }))
            .into_response(),
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

async fn tasks_index(
    State(inner): State<Shared>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = parse_query(q.as_deref());
    let wanted: Vec<String> = query
        .iter()
        .filter(|(k, _)| k == "status" || k == "status[]")
        .map(|(_, v)| format!("TASK_{}", v.to_ascii_uppercase()))
        .collect();
    let st = inner.lock();
    if accepts_text(&headers) {
        let mut out = String::new();
        for app in st.apps.values() {
            for (i, sp) in app.service_ports.iter().enumerate() {
                out.push_str(&format!("{}\t{}\t", safe_path(&app.spec.id), sp));
                for t in app.tasks.iter().filter(|t| t.state == "TASK_RUNNING") {
                    if let Some(p) = t.host_ports.get(i) {
                        out.push_str(&format!("{}:{}\t", inner.cfg.agents[t.agent].host, p));
                    }
                }
                out.push('\n');
            }
        }
        return ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], out).into_response();
    }
    let tasks: Vec<Value> = st
        .apps
        .values()
        .flat_map(|app| {
            app.tasks
                .iter()
                .filter(|t| wanted.is_empty() || wanted.iter().any(|w| w == t.state))
                .map(|t| inner.task_json(app, t, true))
        })
        .collect();
    Json(json!({ "tasks": tasks })).into_response()
}

fn redirect_location(base: &str, uri: &Uri) -> String {
    let base = base.trim_end_matches('/');
    let has_path = base
        .split_once("://")
        .map(|(_, rest)| rest.contains('/'))
        .unwrap_or(false);
    let mut loc = if has_path {
        base.to_string()
    } else {
        format!("{base}{}", uri.path())
    };
    if let Some(q) = uri.query()
        && !loc.contains('?')
    {
        loc.push('?');
        loc.push_str(q);
    }
    loc
}

async fn events(
    State(inner): State<Shared>,
    Extension(Remote(remote)): Extension<Remote>,
    req: Request,
) -> Response {
    let redirect = inner.redirect.lock().map(|r| r.clone()).unwrap_or(None);
    if let Some(base) = redirect {
        let loc = redirect_location(&base, req.uri());
        return Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, loc)
            .header("x-marathon-leader", base)
            .body(Body::empty())
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    // Jetty's EventSourceServlet: one Accept value must equal "text/event-stream" exactly.
    let sse = req
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .any(|v| v.as_bytes() == b"text/event-stream");
    if !sse {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "HTTP method GET is not supported by this URL\n",
        )
            .into_response();
    }
    let filter: Vec<String> = parse_query(req.uri().query())
        .into_iter()
        .filter(|(k, _)| k == "event_type")
        .map(|(_, v)| v)
        .collect();
    let body = Body::from_stream(open_stream(&inner, remote.ip().to_string(), filter));
    let mut b = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream;charset=UTF-8")
        .header(header::CACHE_CONTROL, "no-cache, no-store, must-revalidate")
        .header(header::PRAGMA, "no-cache")
        .header(header::EXPIRES, "0");
    if req.version() <= http::Version::HTTP_11 {
        b = b.header(header::CONNECTION, "close");
    }
    b.body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

const CALLBACKS_DISABLED: &str = "http event callback system is not running on this Marathon instance. \
Please re-start this instance with \"--event_subscriber http_callback\".";

async fn subscriptions(
    State(inner): State<Shared>,
    Extension(Remote(remote)): Extension<Remote>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if inner.cfg.version != MarathonVersion::V1_4 {
        // Removed in 1.5: Jersey's NotFoundException through MarathonExceptionMapper.
        return message(
            StatusCode::NOT_FOUND,
            format!("URI not found: {}", uri.path()),
        );
    }
    if !inner.cfg.callbacks {
        return message(StatusCode::BAD_REQUEST, CALLBACKS_DISABLED);
    }
    if method == Method::GET {
        return Json(json!({ "callbackUrls": inner.bus.callbacks.urls() })).into_response();
    }
    if method == Method::POST {
        let json_ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        if !json_ct {
            return message(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type");
        }
    }
    let query = parse_query(uri.query());
    let Some(url) = query
        .iter()
        .find(|(k, _)| k == "callbackUrl")
        .map(|(_, v)| v.clone())
    else {
        return message(StatusCode::BAD_REQUEST, "callbackUrl is required");
    };
    let valid = url
        .parse::<Uri>()
        .ok()
        .is_some_and(|u| u.scheme().is_some() && u.host().is_some_and(|h| !h.is_empty()));
    if !valid {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "message": "Object is not valid",
                "details": [{ "path": "/callbackUrl", "errors": ["Callback URL is not a valid URL"] }]
            })),
        )
            .into_response();
    }
    let event_type = if method == Method::POST {
        inner.bus.callbacks.add(&url);
        "subscribe_event"
    } else {
        inner.bus.callbacks.remove(&url);
        "unsubscribe_event"
    };
    let ts = inner.clock.ts();
    let client_ip = remote.ip().to_string();
    let fields = [
        ("clientIp", json!(client_ip)),
        ("callbackUrl", json!(url)),
        ("eventType", json!(event_type)),
        ("timestamp", json!(ts)),
    ];
    inner.emit_meta(event_type, &fields);
    let body: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect();
    Json(Value::Object(body)).into_response()
}

// ------------------------------------------------------------------ /sim control API

async fn sim_deploy(
    State(inner): State<Shared>,
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
    match inner.deploy(spec, &remote.ip().to_string()) {
        Ok(tasks) => (StatusCode::CREATED, Json(json!({ "tasks": tasks }))).into_response(),
        Err(e) => sim_error(e),
    }
}

fn query_value<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn query_bool(query: &[(String, String)], key: &str, default: bool) -> Result<bool, Box<Response>> {
    match query_value(query, key) {
        None | Some("") => Ok(default),
        Some("true" | "1" | "on" | "yes") => Ok(true),
        Some("false" | "0" | "off" | "no") => Ok(false),
        Some(v) => Err(Box::new(message(
            StatusCode::BAD_REQUEST,
            format!("invalid boolean {key}={v}"),
        ))),
    }
}

/// `POST /sim/apps/{id}/scale?instances=N`, `POST /sim/apps/{id}/burst?count=N`.
async fn sim_app_action(
    State(inner): State<Shared>,
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
        return match inner.scale(id, n, &remote.ip().to_string()) {
            Ok(tasks) => Json(json!({ "tasks": tasks })).into_response(),
            Err(e) => sim_error(e),
        };
    }
    if let Some(id) = rest.strip_suffix("/burst") {
        let Some(n) = query_value(&query, "count").and_then(|v| v.parse::<usize>().ok()) else {
            return message(StatusCode::BAD_REQUEST, "count=<N> is required");
        };
        return match inner.burst(id, n).await {
            Ok(()) => Json(json!({ "count": n })).into_response(),
            Err(e) => message(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        };
    }
    message(
        StatusCode::NOT_FOUND,
        "expected /sim/apps/{id}/scale or /sim/apps/{id}/burst",
    )
}

async fn sim_terminate(State(inner): State<Shared>, Path(rest): Path<String>) -> Response {
    match inner.terminate(rest.trim_matches('/')) {
        Ok(()) => Json(json!({})).into_response(),
        Err(e) => sim_error(e),
    }
}

async fn sim_tasks(State(inner): State<Shared>) -> Response {
    Json(json!({ "tasks": inner.task_views() })).into_response()
}

/// `POST /sim/tasks/{id}/kill[?scale=true]`.
async fn sim_kill(
    State(inner): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let query = parse_query(q.as_deref());
    let scale = match query_bool(&query, "scale", false) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    match inner.kill_task(&id, !scale) {
        Ok(replacement) => Json(json!({ "replacement": replacement })).into_response(),
        Err(e) => sim_error(e),
    }
}

/// `POST /sim/tasks/{id}/health?healthy=false`.
async fn sim_health(
    State(inner): State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let query = parse_query(q.as_deref());
    let healthy = match query_bool(&query, "healthy", true) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    match inner.set_health(&id, healthy) {
        Ok(()) => Json(json!({ "healthy": healthy })).into_response(),
        Err(e) => sim_error(e),
    }
}

/// `POST /sim/fail?on=true|false`.
async fn sim_fail(State(inner): State<Shared>, RawQuery(q): RawQuery) -> Response {
    match query_bool(&parse_query(q.as_deref()), "on", true) {
        Ok(on) => {
            inner.failing.store(on, Ordering::SeqCst);
            Json(json!({ "failing": on })).into_response()
        }
        Err(r) => *r,
    }
}

/// `POST /sim/delivery?on=true|false`.
async fn sim_delivery(State(inner): State<Shared>, RawQuery(q): RawQuery) -> Response {
    match query_bool(&parse_query(q.as_deref()), "on", true) {
        Ok(on) => {
            inner.bus.delivery.store(on, Ordering::SeqCst);
            Json(json!({ "delivery": on })).into_response()
        }
        Err(r) => *r,
    }
}

async fn sim_drop_streams(State(inner): State<Shared>) -> Response {
    inner.streams.drop_all().await;
    Json(json!({})).into_response()
}

/// `POST /sim/events` with an event JSON body: broadcast verbatim.
async fn sim_emit(State(inner): State<Shared>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) => {
            inner.bus.publish(BusEvent::from_value(&v));
            Json(json!({})).into_response()
        }
        Err(e) => message(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")),
    }
}
