//! `POST /api/v1` (and `/master/api/v1`): the operator API (spec §1, §2). A non-leader
//! redirects first, as `Master::Http::api` does; then the method, `Content-Type` (compared
//! whole: `application/json` only), `Accept` and the body are checked; `SUBSCRIBE` opens a
//! RecordIO stream, the `GET_*` calls answer one JSON body.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::{Ctx, json_text, not_leading, text};
use crate::render::calls::{PLAIN_CALLS, plain_call};
use crate::streams::{WriterConfig, body};

/// Call types of master.proto that the simulator knows but does not answer.
const OTHER_CALLS: [&str; 31] = [
    "GET_FLAGS",
    "GET_METRICS",
    "GET_LOGGING_LEVEL",
    "SET_LOGGING_LEVEL",
    "LIST_FILES",
    "READ_FILE",
    "GET_OPERATIONS",
    "GET_ROLES",
    "GET_WEIGHTS",
    "UPDATE_WEIGHTS",
    "RESERVE_RESOURCES",
    "UNRESERVE_RESOURCES",
    "CREATE_VOLUMES",
    "DESTROY_VOLUMES",
    "GROW_VOLUME",
    "SHRINK_VOLUME",
    "GET_MAINTENANCE_STATUS",
    "GET_MAINTENANCE_SCHEDULE",
    "UPDATE_MAINTENANCE_SCHEDULE",
    "START_MAINTENANCE",
    "STOP_MAINTENANCE",
    "DRAIN_AGENT",
    "DEACTIVATE_AGENT",
    "REACTIVATE_AGENT",
    "GET_QUOTA",
    "UPDATE_QUOTA",
    "SET_QUOTA",
    "REMOVE_QUOTA",
    "TEARDOWN",
    "MARK_AGENT_GONE",
    "UNKNOWN",
];

/// Whether `Accept` allows JSON: absent, or a media range `application/json`,
/// `application/*` or `*/*` not refused with `q=0`.
fn accepts_json(headers: &HeaderMap) -> bool {
    let values: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return true;
    }
    values.iter().flat_map(|v| v.split(',')).any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f64>().ok())
                .is_some_and(|q| q == 0.0)
        });
        !refused && matches!(media.as_str(), "application/json" | "application/*" | "*/*")
    })
}

/// The `POST /api/v1` handler.
pub(super) async fn call(
    State(ctx): State<Ctx>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    payload: Bytes,
) -> Response {
    if let Some(r) = not_leading(&ctx, &uri) {
        return r;
    }
    if method != Method::POST {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Expecting one of {{ 'POST' }}, but received '{method}'"),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let Some(content_type) = headers.get(header::CONTENT_TYPE) else {
        return text(
            StatusCode::BAD_REQUEST,
            "Expecting 'Content-Type' to be present",
        );
    };
    if content_type.as_bytes() != b"application/json" {
        let why = if content_type.as_bytes() == b"application/x-protobuf" {
            " (mesos-sim, a simulator, reads JSON only)"
        } else {
            ""
        };
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Expecting 'Content-Type' of application/json or application/x-protobuf{why}"),
        );
    }
    let value: serde_json::Value = match serde_json::from_slice(&payload) {
        Ok(v) => v,
        Err(e) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("Failed to parse body into JSON: {e}"),
            );
        }
    };
    let Some(kind) = value.get("type").and_then(|t| t.as_str()) else {
        return text(
            StatusCode::BAD_REQUEST,
            "Failed to validate master::Call: Expecting 'type' to be present",
        );
    };
    if !accepts_json(&headers) {
        return text(
            StatusCode::NOT_ACCEPTABLE,
            "Expecting 'Accept' to allow application/json or application/x-protobuf (mesos-sim writes JSON only)",
        );
    }
    if kind == "SUBSCRIBE" {
        return subscribe(&ctx);
    }
    if PLAIN_CALLS.contains(&kind) {
        let sim = &ctx.sim;
        let Some(master) = sim.masters.list.get(ctx.master) else {
            return text(StatusCode::INTERNAL_SERVER_ERROR, "no such master");
        };
        let body = {
            let c = sim.lock();
            plain_call(kind, &c, master, sim.masters.leadership())
        };
        return match body {
            Some(b) => json_text(b),
            None => text(StatusCode::INTERNAL_SERVER_ERROR, "call not answered"),
        };
    }
    if OTHER_CALLS.contains(&kind) {
        return text(
            StatusCode::NOT_IMPLEMENTED,
            format!("{kind} is not simulated by mesos-sim (a Mesos master simulator)"),
        );
    }
    text(
        StatusCode::BAD_REQUEST,
        format!("Failed to convert JSON into Call protobuf: Failed to find enum for '{kind}'"),
    )
}

/// `SUBSCRIBE`: 200, `Content-Type: application/json`, a chunked RecordIO body.
fn subscribe(ctx: &Ctx) -> Response {
    let sim = &ctx.sim;
    let Some((first, opened)) = sim.subscribe(ctx.master) else {
        // Leadership moved between the check and now: answer as a non-leader.
        let uri = axum::http::Uri::from_static("/master/api/v1");
        return not_leading(ctx, &uri)
            .unwrap_or_else(|| text(StatusCode::SERVICE_UNAVAILABLE, "No leader elected"));
    };
    let cfg = WriterConfig {
        heartbeat: sim.cfg.heartbeat,
        chunk_size: sim.cfg.chunk_size,
        shutdown: sim.cancel.clone(),
    };
    let stream = body(sim.streams.clone(), first, opened, cfg);
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn accept_rules() {
        assert!(accepts_json(&HeaderMap::new()));
        assert!(accepts_json(&accept("application/json")));
        assert!(accepts_json(&accept("text/html, */*;q=0.1")));
        assert!(!accepts_json(&accept("application/x-protobuf")));
        assert!(!accepts_json(&accept("application/json;q=0")));
    }
}
