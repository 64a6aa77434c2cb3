//! The HTTP surface: the accept loop, the routes, and what every request goes through
//! (auth, failing mode, `X-Marathon-Leader`). The handlers are grouped by who they imitate:
//! `rest` (Marathon's `/v2` resources), `events` (`/v2/events` and callback subscriptions)
//! and `control` (the simulator's own `/sim/*` API).

mod control;
mod events;
mod query;
mod rest;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Extension, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::auth::has_credentials;
use crate::scenario::SimError;
use crate::shared::Shared;

/// The peer address of a connection.
#[derive(Clone, Copy, Debug)]
struct Remote(SocketAddr);

/// What every handler gets as its state.
type Sim = Arc<Shared>;

/// Accept loop; runs until the simulator is cancelled, then drops every connection.
pub(crate) async fn serve(sim: Sim, listener: TcpListener) {
    let router = router(sim.clone());
    loop {
        let (stream, remote) = tokio::select! {
            _ = sim.cancel.cancelled() => break,
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
        let cancel = sim.cancel.clone();
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

fn router(sim: Sim) -> Router {
    Router::new()
        .route("/ping", get(rest::ping))
        .route("/v2/info", get(rest::info))
        .route("/v2/apps", get(rest::apps_index).post(rest::apps_create))
        .route(
            "/v2/apps/{*rest}",
            get(rest::apps_show)
                .put(rest::apps_update)
                .delete(rest::apps_destroy),
        )
        .route("/v2/tasks", get(rest::tasks_index))
        .route("/v2/events", get(events::events))
        .route(
            "/v2/eventSubscriptions",
            get(events::subscriptions)
                .post(events::subscriptions)
                .delete(events::subscriptions),
        )
        .route("/sim/healthz", get(|| async { "ok\n" }))
        .route("/sim/apps", post(control::deploy))
        .route(
            "/sim/apps/{*rest}",
            post(control::app_action).delete(control::terminate),
        )
        .route("/sim/tasks", get(control::tasks))
        .route("/sim/tasks/{id}/kill", post(control::kill))
        .route("/sim/tasks/{id}/health", post(control::health))
        .route("/sim/fail", post(control::fail))
        .route("/sim/delivery", post(control::delivery))
        .route("/sim/drop-streams", post(control::drop_streams))
        .route("/sim/events", post(control::emit))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(sim.clone(), guard))
        .with_state(sim)
}

/// Marathon's error body: `{"message": ...}` with `status`.
fn message(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "message": msg.into() }))).into_response()
}

/// A scenario step's error as Marathon's error body.
fn sim_error(e: SimError) -> Response {
    let status = match e {
        SimError::NotFound(_) => StatusCode::NOT_FOUND,
        SimError::Conflict(_) => StatusCode::CONFLICT,
        SimError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    message(status, e.to_string())
}

/// A JSON request body, or the 400 that says why it is not one (boxed: a `Response` is large).
fn json_body(body: &[u8]) -> Result<Value, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(message(
            StatusCode::BAD_REQUEST,
            format!("invalid JSON: {e}"),
        ))
    })
}

/// Auth on every path, failing mode on `/v2/*`, `X-Marathon-Leader` on `/v2/*` answers.
async fn guard(State(sim): State<Sim>, req: Request, next: Next) -> Response {
    let authorized = match &sim.cfg.auth {
        Some((user, pass)) => has_credentials(req.headers(), user, pass),
        None => true,
    };
    if !authorized {
        let mut r = (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Mesosphere\""),
        );
        return r;
    }
    let v2 = req.uri().path().starts_with("/v2/");
    if v2 && sim.failing.load(Ordering::SeqCst) {
        return message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "marathon-sim failing mode: simulated internal server error",
        );
    }
    let mut resp = next.run(req).await;
    if v2
        && !resp.headers().contains_key("x-marathon-leader")
        && let Ok(v) = HeaderValue::from_str(&sim.url)
    {
        resp.headers_mut().insert("x-marathon-leader", v);
    }
    resp
}

/// Marathon's answer to an unknown path (Jersey's `NotFoundException` through its mapper).
async fn not_found(uri: Uri) -> Response {
    uri_not_found(&uri)
}

fn uri_not_found(uri: &Uri) -> Response {
    message(
        StatusCode::NOT_FOUND,
        format!("URI not found: {}", uri.path()),
    )
}
