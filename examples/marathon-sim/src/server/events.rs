//! `/v2/events` (SSE, or a redirect to the leader) and 1.4's `/v2/eventSubscriptions`.

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::query::parse_query;
use super::{Remote, Sim, message, uri_not_found};
use crate::MarathonVersion;
use crate::render::event::{Subscription, subscription};
use crate::stream::open_stream;

/// Where a standby redirects `/v2/events`: `base` plus the request's path (unless `base`
/// has its own) and query.
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

/// `GET /v2/events`: a redirect when set, else an SSE stream for a client that asks for one
/// exactly as Jetty requires.
pub(super) async fn events(
    State(sim): State<Sim>,
    Extension(Remote(remote)): Extension<Remote>,
    req: Request,
) -> Response {
    let redirect = sim.redirect.lock().map(|r| r.clone()).unwrap_or(None);
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
    let body = Body::from_stream(open_stream(&sim, remote.ip().to_string(), filter));
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

/// `GET/POST/DELETE /v2/eventSubscriptions?callbackUrl=..`: 1.4's callback registrations.
pub(super) async fn subscriptions(
    State(sim): State<Sim>,
    Extension(Remote(remote)): Extension<Remote>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if sim.cfg.version != MarathonVersion::V1_4 {
        // Removed in 1.5: Jersey's NotFoundException through MarathonExceptionMapper.
        return uri_not_found(&uri);
    }
    if !sim.cfg.callbacks {
        return message(StatusCode::BAD_REQUEST, CALLBACKS_DISABLED);
    }
    if method == Method::GET {
        return Json(json!({ "callbackUrls": sim.bus.callbacks.urls() })).into_response();
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
    let change = if method == Method::POST {
        sim.bus.callbacks.add(&url);
        Subscription::Subscribe
    } else {
        sim.bus.callbacks.remove(&url);
        Subscription::Unsubscribe
    };
    let ts = sim.clock.ts();
    let (event, answer) = subscription(change, &remote.ip().to_string(), &url, &ts);
    sim.emit_bookkeeping(event);
    Json(answer).into_response()
}
