//! Test helpers: the fixtures, a raw HTTP/1.1 client (hyper's connection API, one connection
//! per request), the skip convention (`registry::harness::skip`); `stream`: a RecordIO event-stream reader that keeps the
//! raw bytes; `shapes`: comparisons with the recorded shapes; the throwaway ZooKeeper is `registry::harness::ZooKeeper`.
#![allow(dead_code, clippy::unwrap_used)]

pub mod shapes;
pub mod stream;

pub use shapes::*;
pub use stream::*;

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

/// How long any single wait may take.
pub const T: Duration = Duration::from_secs(10);

/// The text of a fixture under `testdata/mesos/` (`dcos-net/operator-api.json`).
pub fn fixture_text(path: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/mesos")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

/// The JSON records of a fixture, one per non-empty line.
pub fn fixture_records(path: &str) -> Vec<Value> {
    fixture_text(path)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A fixture holding one JSON document.
pub fn fixture(path: &str) -> Value {
    serde_json::from_str(&fixture_text(path)).unwrap()
}

/// Prints `SKIPPED: <test>: <reason>` and records it in `$HERALD_SKIP_FILE` (the same
pub use registry::harness::skip;

/// A complete answer.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

pub(crate) async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> hyper::Response<Incoming> {
    let uri: Uri = url.parse().unwrap();
    let authority = uri.authority().unwrap().clone();
    let stream = TcpStream::connect(authority.as_str()).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut b = Request::builder()
        .method(method)
        .uri(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .header(http::header::HOST, authority.as_str());
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b.body(Full::new(Bytes::from(body.to_string()))).unwrap();
    sender.send_request(req).await.unwrap()
}

/// Any request, read to the end.
pub async fn request(method: Method, url: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let resp = tokio::time::timeout(T, send(method, url, headers, body))
        .await
        .expect("request timed out");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = tokio::time::timeout(T, resp.into_body().collect())
        .await
        .expect("body timed out")
        .unwrap();
    Resp {
        status,
        headers,
        body: String::from_utf8(body.to_bytes().to_vec()).unwrap(),
    }
}

pub async fn get(url: &str) -> Resp {
    request(Method::GET, url, &[], "").await
}

/// `POST` with `Content-Type: application/json`.
pub async fn post(url: &str, body: &str) -> Resp {
    request(
        Method::POST,
        url,
        &[("content-type", "application/json")],
        body,
    )
    .await
}

/// An operator API call (`{"type": kind}`) on `base`.
pub async fn call(base: &str, kind: &str) -> Resp {
    post(
        &format!("{base}/api/v1"),
        &format!(r#"{{"type":"{kind}"}}"#),
    )
    .await
}
