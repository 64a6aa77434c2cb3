//! The page's script and style sheet, embedded in the binary, and the headers every
//! response of the page carries: a strict Content-Security-Policy (only these assets run
//! or style the page; nothing inline, nothing from elsewhere), no sniffing, no framing, no
//! referrer.

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The page's script.
pub const SCRIPT: &str = include_str!("assets/status.js");
/// The page's style sheet.
pub const STYLE: &str = include_str!("assets/status.css");

/// The Content-Security-Policy of every page.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

fn headers(content_type: &'static str, cache: &'static str) -> [(HeaderName, HeaderValue); 6] {
    [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ]
}

/// An HTML page (never cached: it is live data).
pub fn html(body: String) -> Response {
    (headers("text/html; charset=utf-8", "no-store"), body).into_response()
}

/// A JSON body.
pub fn json(body: String) -> Response {
    (headers("application/json", "no-store"), body).into_response()
}

/// The script.
pub async fn script() -> Response {
    let cache = "public, max-age=300";
    (headers("text/javascript; charset=utf-8", cache), SCRIPT).into_response()
}

/// The style sheet.
pub async fn style() -> Response {
    (
        headers("text/css; charset=utf-8", "public, max-age=300"),
        STYLE,
    )
        .into_response()
}
