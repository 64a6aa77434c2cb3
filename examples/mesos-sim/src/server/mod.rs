//! The HTTP surface of each master: the accept loop, the routes, and how a master that does
//! not lead answers (307 to the leader, or 503). Handlers are grouped by who they imitate:
//! `api` (the v1 operator API), `state` (`/master/state`, `/master/redirect`) and `control`
//! (the simulator's own `/sim/*` API).

mod api;
mod control;
mod state;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::masters::Role;
use crate::shared::Shared;

/// What every handler gets: the simulator and which master it is.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub sim: Arc<Shared>,
    pub master: usize,
}

/// Accept loop of master `master`; runs until the simulator is cancelled, then drops every
/// connection.
pub(crate) async fn serve(sim: Arc<Shared>, master: usize, listener: TcpListener) {
    let router = router(Ctx {
        sim: sim.clone(),
        master,
    });
    loop {
        let (stream, _remote) = tokio::select! {
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
        let svc = TowerToHyperService::new(router.clone());
        let cancel = sim.cancel.clone();
        tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                _ = conn => {}
                _ = cancel.cancelled() => {}
            }
        });
    }
}

fn router(ctx: Ctx) -> Router {
    Router::new()
        .route("/api/v1", any(api::call))
        .route("/master/api/v1", any(api::call))
        .route("/master/state", get(state::state))
        .route("/master/state.json", get(state::state))
        .route("/state", get(state::state))
        .route("/state.json", get(state::state))
        .route("/master/redirect", get(state::redirect))
        .route("/redirect", get(state::redirect))
        .route("/health", get(|| async { StatusCode::OK }))
        .route("/master/health", get(|| async { StatusCode::OK }))
        .route("/sim/healthz", get(|| async { "ok\n" }))
        .route("/sim/masters", get(control::masters))
        .route("/sim/state", get(control::snapshot))
        .route("/sim/agents", post(control::add_agent))
        .route(
            "/sim/agents/{id}",
            axum::routing::delete(control::remove_agent),
        )
        .route("/sim/agents/{id}/{action}", post(control::agent_action))
        .route("/sim/frameworks", post(control::add_framework))
        .route(
            "/sim/frameworks/{id}",
            post(control::update_framework).delete(control::remove_framework),
        )
        .route(
            "/sim/frameworks/{id}/reregister",
            post(control::reregister_framework),
        )
        .route("/sim/tasks", post(control::launch_task))
        .route("/sim/pods", post(control::launch_pod))
        .route("/sim/tasks/{id}/{action}", post(control::task_action))
        .route("/sim/leader", post(control::leader))
        .route("/sim/failover", post(control::failover))
        .route("/sim/recovering", post(control::recovering))
        .route("/sim/drop-streams", post(control::drop_streams))
        .route("/sim/stall", post(control::stall))
        .route("/sim/delivery", post(control::delivery))
        .route("/sim/slow-consumer", post(control::slow_consumer))
        .route("/sim/events", post(control::emit))
        .route("/sim/seed", post(control::seed))
        .fallback(not_found)
        .with_state(ctx)
}

/// libprocess' answer to an unknown path.
async fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

/// A plain-text answer, as the master gives for errors.
pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

/// A JSON answer from text already encoded.
pub(crate) fn json_text(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// How a master that cannot serve a leader-only request answers it, or `None` when it leads
/// and serves. A follower redirects to `//<leader host>:<port><path as the master saw it>`
/// (`/api/v1` is seen as `/master/api/v1`, spec §3).
pub(crate) fn not_leading(ctx: &Ctx, uri: &Uri) -> Option<Response> {
    match ctx.sim.masters.role(ctx.master) {
        Role::Leader => None,
        Role::Recovering => Some(text(
            StatusCode::SERVICE_UNAVAILABLE,
            "Master has not finished recovery",
        )),
        Role::Leaderless => Some(text(StatusCode::SERVICE_UNAVAILABLE, "No leader elected")),
        Role::Follower(location) => {
            let path = match uri.path() {
                "/api/v1" => "/master/api/v1",
                p => p,
            };
            let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
            Some(redirect(&format!("{location}{path}{query}")))
        }
    }
}

/// `307 Temporary Redirect` to `location`.
pub(crate) fn redirect(location: &str) -> Response {
    let mut r = StatusCode::TEMPORARY_REDIRECT.into_response();
    match HeaderValue::from_str(location) {
        Ok(v) => {
            r.headers_mut().insert(header::LOCATION, v);
            r
        }
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "bad leader location"),
    }
}
