//! `POST /callback`: one Marathon event (any Content-Type, parsed as JSON), answered once
//! it is queued (200), or refused without writing anything: 400 bad JSON, 422 unusable
//! content, 408 a body that does not arrive, 413 a body over `--max-body` or a record over
//! `--max-record-size`, 503 a full queue (413 and 503 schedule a resync: Marathon backs off
//! from a URL that answers anything but 2xx, dropping events meanwhile).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{ApiState, error};
use crate::events::{self, DecodeError, Event};
use crate::ingest;
use crate::queue::Queued;
use crate::telemetry;
use crate::writes::{self, WriteError};

/// A callback body must arrive within this (a slow or stalled client gets 408 and its
/// connection is closed, so it cannot hold a task and a buffer forever).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn callback(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match read_body(state.max_body, &headers, body).await {
        Ok(bytes) => bytes,
        Err(e) => return refuse_body(&state, e),
    };
    let decoded = match events::decode(&bytes)
        .and_then(|d| events::check_clock(d, chrono::Utc::now(), state.max_clock_skew))
    {
        Ok(d) => d,
        Err(e) => return refuse_event(e),
    };
    if decoded.event == Event::Ignored {
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

/// Why a body was not read.
enum BodyError {
    /// Longer than `--max-body` (declared, or found reading it).
    TooLarge,
    /// Not arrived within [`BODY_TIMEOUT`].
    Late,
    /// Broken off.
    Unreadable(axum::Error),
}

/// The body, at most `max_body` bytes, within [`BODY_TIMEOUT`].
async fn read_body(max_body: usize, headers: &HeaderMap, body: Body) -> Result<Bytes, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body as u64) {
        return Err(BodyError::TooLarge);
    }
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, max_body)).await {
        Err(_) => Err(BodyError::Late),
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) if over_limit(&e) => Err(BodyError::TooLarge),
        Ok(Err(e)) => Err(BodyError::Unreadable(e)),
    }
}

/// True when reading a body failed because it is longer than the limit: the error, or one
/// of its sources, is http-body-util's `LengthLimitError`.
fn over_limit(error: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// The answer to a body that was not read (counted; a resync scheduled for one too large).
fn refuse_body(state: &ApiState, e: BodyError) -> Response {
    match e {
        BodyError::TooLarge => {
            telemetry::event("unknown", "invalid");
            // Probably a real (huge) Marathon event we now miss.
            state.resync.request("an oversized callback was refused");
            error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {} bytes", state.max_body),
            )
        }
        BodyError::Late => {
            telemetry::event("unknown", "invalid");
            let mut response = error(
                StatusCode::REQUEST_TIMEOUT,
                format!("the body did not arrive within {BODY_TIMEOUT:?}"),
            );
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
        BodyError::Unreadable(e) => error(
            StatusCode::BAD_REQUEST,
            format!("cannot read the body: {e}"),
        ),
    }
}

/// The answer to a body that is no usable event (counted): 400 or 422.
fn refuse_event(e: DecodeError) -> Response {
    let label = match &e {
        DecodeError::Invalid { event_type, .. } => events::type_label(event_type),
        _ => "unknown",
    };
    telemetry::event(label, "invalid");
    let status = if e.is_bad_request() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    error(status, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(chunks: Vec<Result<&'static [u8], std::io::Error>>) -> Body {
        Body::from_stream(futures::stream::iter(chunks))
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_told_from_other_read_errors() {
        let long = chunked(vec![Ok(b"0123"), Ok(b"4567")]);
        let e = axum::body::to_bytes(long, 6).await.unwrap_err();
        assert!(over_limit(&e), "{e}");
        let broken = chunked(vec![Ok(b"01"), Err(std::io::Error::other("reset"))]);
        let e = axum::body::to_bytes(broken, 6).await.unwrap_err();
        assert!(!over_limit(&e), "{e}");
        let fits = chunked(vec![Ok(b"0123"), Ok(b"45")]);
        assert_eq!(axum::body::to_bytes(fits, 6).await.unwrap(), "012345");
    }
}
