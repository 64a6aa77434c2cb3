//! A raw HTTP/1.1 test client: hyper's connection API, one connection per request, nothing
//! added (no redirects, no default headers but `Host`), so a test sees exactly what a
//! server sent. The simulators' tests use it for REST calls and, through [`send`], for
//! their event streams.

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

use super::WAIT;

/// A complete answer, its body read to the end.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: StatusCode,
    /// The header fields.
    pub headers: HeaderMap,
    /// The body, as text.
    pub body: String,
}

impl Response {
    /// The body as JSON; panics (failing the test) when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The value of header `name`, empty when it is missing.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
}

/// Sends one request on a new connection and returns the answer with its body unread
/// (for streams). Panics when the URL is not `http://host:port/...` or the server cannot be
/// reached.
pub async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> hyper::Response<Incoming> {
    let uri: Uri = url.parse().unwrap_or_else(|e| panic!("URL {url}: {e}"));
    let authority = uri
        .authority()
        .unwrap_or_else(|| panic!("URL {url} has no host"))
        .clone();
    let stream = TcpStream::connect(authority.as_str())
        .await
        .unwrap_or_else(|e| panic!("connect to {authority}: {e}"));
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap_or_else(|e| panic!("HTTP handshake with {authority}: {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut builder = Request::builder()
        .method(method)
        .uri(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(http::header::HOST, authority.as_str());
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|e| panic!("request to {url}: {e}"));
    sender
        .send_request(request)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// Any request, its answer read to the end; each step fails the test after [`WAIT`].
pub async fn request(method: Method, url: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let answer = tokio::time::timeout(WAIT, send(method, url, headers, body))
        .await
        .unwrap_or_else(|_| panic!("{url}: no answer within {WAIT:?}"));
    let status = answer.status();
    let headers = answer.headers().clone();
    let body = tokio::time::timeout(WAIT, answer.into_body().collect())
        .await
        .unwrap_or_else(|_| panic!("{url}: body not complete within {WAIT:?}"))
        .unwrap_or_else(|e| panic!("{url}: body: {e}"))
        .to_bytes();
    Response {
        status,
        headers,
        body: String::from_utf8(body.to_vec())
            .unwrap_or_else(|e| panic!("{url}: body not UTF-8: {e}")),
    }
}

/// `GET url`.
pub async fn get(url: &str) -> Response {
    request(Method::GET, url, &[], "").await
}

/// `GET url`, which must answer 200 with JSON.
pub async fn get_json(url: &str) -> Value {
    let answer = get(url).await;
    assert_eq!(answer.status, StatusCode::OK, "GET {url}: {}", answer.body);
    answer.json()
}

/// `POST url` with `Content-Type: application/json`.
pub async fn post(url: &str, body: &str) -> Response {
    let json = [("content-type", "application/json")];
    request(Method::POST, url, &json, body).await
}
