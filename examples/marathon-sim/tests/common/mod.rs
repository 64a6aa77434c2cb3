//! Test helpers: the raw HTTP/1.1 client of `registry::harness::http` (re-exported), an
//! incremental SSE reader that keeps the raw bytes, and a callback receiver.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;
use tokio::sync::mpsc;

pub const T: Duration = Duration::from_secs(5);

/// A fixture from `testdata/marathon`, by file name.
pub fn fixture(name: &str) -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/marathon");
    let p = ["api", "events"]
        .iter()
        .map(|dir| root.join(dir).join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("fixture {name} not found under {}", root.display()));
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

pub use registry::harness::http::{get, get_json, post, request, send};

#[derive(Debug, Clone)]
pub struct Event {
    pub event_type: String,
    pub data: Value,
}

/// An SSE stream reader that keeps every raw byte received.
pub struct Sse {
    body: Incoming,
    pending: Vec<u8>,
    cur_event: Option<String>,
    cur_data: Vec<String>,
    queue: VecDeque<Event>,
    pub raw: Vec<u8>,
    pub heartbeats: usize,
    pub closed: bool,
}

pub async fn sse(url: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, Sse) {
    let mut all = vec![("accept", "text/event-stream")];
    all.extend_from_slice(headers);
    let resp = tokio::time::timeout(T, send(Method::GET, url, &all, ""))
        .await
        .expect("connect timed out");
    let status = resp.status();
    let headers = resp.headers().clone();
    let sse = Sse {
        body: resp.into_body(),
        pending: Vec::new(),
        cur_event: None,
        cur_data: Vec::new(),
        queue: VecDeque::new(),
        raw: Vec::new(),
        heartbeats: 0,
        closed: false,
    };
    (status, headers, sse)
}

impl Sse {
    fn line(&mut self, line: &[u8]) {
        let line = String::from_utf8_lossy(line).into_owned();
        if line.is_empty() {
            if self.cur_event.is_none() && self.cur_data.is_empty() {
                self.heartbeats += 1;
            } else {
                let data = self.cur_data.join("\n");
                let v: Value = serde_json::from_str(&data)
                    .unwrap_or_else(|e| panic!("bad data ({e}): {data}"));
                let t = self
                    .cur_event
                    .take()
                    .unwrap_or_else(|| v["eventType"].as_str().unwrap().to_string());
                self.cur_data.clear();
                self.queue.push_back(Event {
                    event_type: t,
                    data: v,
                });
            }
        } else if let Some(v) = line.strip_prefix("event:") {
            self.cur_event = Some(v.trim_start().to_string());
        } else if let Some(v) = line.strip_prefix("data:") {
            self.cur_data
                .push(v.strip_prefix(' ').unwrap_or(v).to_string());
        }
    }

    /// Reads one body frame; false when the stream ended.
    async fn read_frame(&mut self) -> bool {
        match self.body.frame().await {
            Some(Ok(f)) => {
                if let Ok(d) = f.into_data() {
                    self.raw.extend_from_slice(&d);
                    self.pending.extend_from_slice(&d);
                    while let Some(pos) = self.pending.iter().position(|b| *b == b'\n') {
                        let mut l: Vec<u8> = self.pending.drain(..=pos).collect();
                        l.pop();
                        if l.last() == Some(&b'\r') {
                            l.pop();
                        }
                        self.line(&l);
                    }
                }
                true
            }
            _ => {
                self.closed = true;
                false
            }
        }
    }

    /// The next event, or None on timeout / end of stream.
    pub async fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(e) = self.queue.pop_front() {
                return Some(e);
            }
            if self.closed {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.read_frame()).await {
                Ok(true) => {}
                Ok(false) | Err(_) => return None,
            }
        }
    }

    /// Events until (and including) the first one matching `pred`.
    pub async fn until(&mut self, pred: impl Fn(&Event) -> bool) -> Vec<Event> {
        let mut out = Vec::new();
        loop {
            let e = self
                .next_event(T)
                .await
                .unwrap_or_else(|| panic!("stream ended/timed out; got {out:#?}"));
            let done = pred(&e);
            out.push(e);
            if done {
                return out;
            }
        }
    }

    /// Reads until at least `n` heartbeats have arrived (panics after [`T`]); returns the
    /// events read meanwhile.
    pub async fn until_heartbeats(&mut self, n: usize) -> Vec<Event> {
        let deadline = tokio::time::Instant::now() + T;
        let mut out: Vec<Event> = self.queue.drain(..).collect();
        while self.heartbeats < n {
            match tokio::time::timeout_at(deadline, self.read_frame()).await {
                Ok(true) => out.extend(self.queue.drain(..)),
                Ok(false) | Err(_) => {
                    panic!(
                        "{} of {n} heartbeats before the stream ended or timed out",
                        self.heartbeats
                    )
                }
            }
        }
        out
    }

    /// Waits until the server closes the stream.
    pub async fn wait_closed(&mut self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.closed {
            if tokio::time::timeout_at(deadline, self.read_frame())
                .await
                .is_err()
            {
                return false;
            }
        }
        true
    }
}

/// `(eventType, taskStatus or "")` pairs, for readable sequence assertions.
pub fn summary(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e.data.get("taskStatus").and_then(Value::as_str) {
            Some(s) => format!("{}:{s}", e.event_type),
            None => e.event_type.clone(),
        })
        .collect()
}

/// A callback receiver: records every POST (headers, JSON body) and answers `status`.
pub struct Callback {
    pub url: String,
    pub rx: mpsc::UnboundedReceiver<(HeaderMap, Value)>,
    pub status: Arc<AtomicU16>,
}

pub async fn callback_receiver() -> Callback {
    let (tx, rx) = mpsc::unbounded_channel();
    let status = Arc::new(AtomicU16::new(200));
    let st = status.clone();
    let app = axum::Router::new().route(
        "/callback",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            let st = st.clone();
            async move {
                let v: Value = serde_json::from_slice(&body).unwrap();
                let _ = tx.send((headers, v));
                StatusCode::from_u16(st.load(Ordering::SeqCst)).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callback", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Callback { url, rx, status }
}

impl Callback {
    pub async fn next(&mut self, timeout: Duration) -> Option<(HeaderMap, Value)> {
        tokio::time::timeout(timeout, self.rx.recv())
            .await
            .ok()
            .flatten()
    }
}

/// Asserts that every key of `expected` (recursively, first element of arrays) exists in
/// `actual` with the same JSON type (null in `expected` matches anything). `ignore` lists
/// dotted paths (e.g. `apps.tasks.region`) that the simulator does not produce.
pub fn assert_shape(expected: &Value, actual: &Value, path: &str, ignore: &[&str]) {
    match (expected, actual) {
        (Value::Null, _) => {}
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if ignore.contains(&p.as_str()) {
                    continue;
                }
                let av = a
                    .get(k)
                    .unwrap_or_else(|| panic!("missing key {p} in {actual:#}"));
                if ["labels", "env"].contains(&k.as_str()) {
                    // free-form maps: only the type matters
                    assert!(av.is_object(), "{p} should be an object: {av}");
                    continue;
                }
                assert_shape(ev, av, &p, ignore);
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let (Some(e0), Some(a0)) = (e.first(), a.first()) {
                assert_shape(e0, a0, path, ignore);
            }
        }
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        (e, a) => panic!("type mismatch at {path}: expected like {e}, got {a}"),
    }
}
