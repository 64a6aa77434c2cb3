//! `GET /master/state` (and its aliases) and `GET /master/redirect`.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;

use super::{Ctx, json_text, not_leading, text};
use crate::proto::mesos_json;
use crate::render::state::master_state;

/// `GET /master/state`, `/master/state.json`, `/state`, `/state.json`: the v0 state, from the
/// leader only.
pub(super) async fn state(State(ctx): State<Ctx>, uri: Uri) -> Response {
    if let Some(r) = not_leading(&ctx, &uri) {
        return r;
    }
    let sim = &ctx.sim;
    let Some(master) = sim.masters.list.get(ctx.master) else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "no such master");
    };
    let body = {
        let c = sim.lock();
        master_state(
            &c,
            &sim.cfg,
            master,
            sim.masters.leader(),
            sim.masters.leadership(),
        )
    };
    json_text(mesos_json(&body))
}

/// `GET /master/redirect`: 307 to `//<leader host>:<port>` (no path), from any master,
/// the leader included; 503 when no leader is elected.
pub(super) async fn redirect(State(ctx): State<Ctx>) -> Response {
    match ctx.sim.masters.leader() {
        Some(m) => super::redirect(&m.location()),
        None => text(StatusCode::SERVICE_UNAVAILABLE, "No leader elected"),
    }
}
