//! Test helpers: a raw HTTP/1.1 client (hyper's connection API, one connection per request),
//! a RecordIO event-stream reader that keeps the raw bytes, the fixtures, a shape comparison,
//! and the skip convention.
#![allow(dead_code, clippy::unwrap_used)]

pub mod zookeeper;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use mesos_sim::recordio::Decoder;
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
/// convention as `registry::harness::skip`, which this crate cannot import).
pub fn skip(test: &str, reason: &str) {
    let line = format!("SKIPPED: {test}: {reason}");
    eprintln!("{line}");
    if let Some(path) = std::env::var_os("HERALD_SKIP_FILE") {
        use std::io::Write as _;
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            eprintln!("could not record the skip: {e}");
        }
    }
}

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

async fn send(
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

/// An open `SUBSCRIBE` stream, read record by record.
pub struct EventStream {
    pub status: StatusCode,
    pub headers: HeaderMap,
    body: Incoming,
    decoder: Decoder,
    queue: VecDeque<Value>,
    /// Every byte received, as received.
    pub raw: Vec<u8>,
    /// Number of HTTP data frames received.
    pub frames: usize,
    pub heartbeats: usize,
    /// The stream ended (cleanly or not).
    pub closed: bool,
    /// The stream ended with a transport error (connection broken, no final chunk).
    pub broken: bool,
}

/// `POST <base>/api/v1 {"type":"SUBSCRIBE"}`.
pub async fn subscribe(base: &str) -> EventStream {
    let resp = tokio::time::timeout(
        T,
        send(
            Method::POST,
            &format!("{base}/api/v1"),
            &[
                ("content-type", "application/json"),
                ("accept", "application/json"),
            ],
            r#"{"type":"SUBSCRIBE"}"#,
        ),
    )
    .await
    .expect("subscribe timed out");
    EventStream {
        status: resp.status(),
        headers: resp.headers().clone(),
        body: resp.into_body(),
        decoder: Decoder::new(),
        queue: VecDeque::new(),
        raw: Vec::new(),
        frames: 0,
        heartbeats: 0,
        closed: false,
        broken: false,
    }
}

impl EventStream {
    /// Reads one body frame into the decoder; false when the stream ended.
    async fn read_frame(&mut self) -> bool {
        match self.body.frame().await {
            Some(Ok(f)) => {
                if let Ok(d) = f.into_data() {
                    self.frames += 1;
                    self.raw.extend_from_slice(&d);
                    self.decoder.push(&d);
                    while let Some(rec) = self.decoder.next_record().unwrap() {
                        let v: Value = serde_json::from_slice(&rec).unwrap_or_else(|e| {
                            panic!(
                                "record is not JSON ({e}): {}",
                                String::from_utf8_lossy(&rec)
                            )
                        });
                        if v["type"] == "HEARTBEAT" {
                            self.heartbeats += 1;
                        }
                        self.queue.push_back(v);
                    }
                }
                true
            }
            Some(Err(_)) => {
                self.closed = true;
                self.broken = true;
                false
            }
            None => {
                self.closed = true;
                false
            }
        }
    }

    /// The next record (heartbeats included), or `None` on timeout or end of stream.
    pub async fn next_record(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(v) = self.queue.pop_front() {
                return Some(v);
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

    /// The next record that is not a heartbeat (panics after [`T`]).
    pub async fn next_event(&mut self) -> Value {
        loop {
            let v = self
                .next_record(T)
                .await
                .unwrap_or_else(|| panic!("stream ended or timed out (closed: {})", self.closed));
            if v["type"] != "HEARTBEAT" {
                assert_recorded_shape(&v);
                return v;
            }
        }
    }

    /// The next `n` events that are not heartbeats.
    pub async fn events(&mut self, n: usize) -> Vec<Value> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(self.next_event().await);
        }
        out
    }

    /// Reads until at least `n` heartbeats have arrived in total (panics after [`T`]).
    pub async fn until_heartbeats(&mut self, n: usize) {
        let deadline = tokio::time::Instant::now() + T;
        while self.heartbeats < n {
            match tokio::time::timeout_at(deadline, self.read_frame()).await {
                Ok(true) => {}
                _ => panic!(
                    "{} of {n} heartbeats before the stream ended or timed out",
                    self.heartbeats
                ),
            }
        }
    }

    /// Waits until the server ends the stream; false on timeout.
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

/// `TYPE` or `TYPE:STATE` for task updates and additions, for readable sequence assertions.
pub fn summary(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let t = e["type"].as_str().unwrap_or("?").to_string();
            let state = e["task_updated"]["state"]
                .as_str()
                .or(e["task_added"]["task"]["state"].as_str());
            match state {
                Some(s) => format!("{t}:{s}"),
                None => t,
            }
        })
        .collect()
}

/// The recorded streams, one record per line.
pub const STREAMS: [&str; 5] = [
    "dcos-net/operator-api.json",
    "dcos-net/pod-tasks.json",
    "dcos-net/hello-world.json",
    "dcos-net/hello-overlay.json",
    "dcos-net/recovered-agents.json",
];

/// Every recorded record of type `kind` in the streams. A `Task`, `Agent` or `Framework` of a
/// recorded snapshot is the same message as in `TASK_ADDED`, `AGENT_ADDED`, `FRAMEWORK_*`, so
/// those are added, wrapped as such events. `GET_STATE` gives the recorded answers.
pub fn recorded(kind: &str) -> Vec<Value> {
    static ALL: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    let all = ALL.get_or_init(|| {
        let mut all: Vec<Value> = STREAMS.iter().flat_map(|f| fixture_records(f)).collect();
        all.push(fixture("dcos-net/unhealthy.json"));
        all.push(fixture("dcos-net/tcp-and-udp.json"));
        let states: Vec<Value> = all
            .iter()
            .filter_map(|r| r["subscribed"]["get_state"].as_object().or(r["get_state"].as_object()))
            .map(|s| Value::Object(s.clone()))
            .collect();
        let list = |s: &Value, a: &str, b: &str| s[a][b].as_array().cloned().unwrap_or_default();
        let mut tasks: Vec<Value> = all
            .iter()
            .filter_map(|r| r["task_added"]["task"].as_object().map(|t| Value::Object(t.clone())))
            .collect();
        for s in &states {
            tasks.extend(list(s, "get_tasks", "tasks"));
            tasks.extend(list(s, "get_tasks", "completed_tasks"));
        }
        for t in &tasks {
            for st in t["statuses"].as_array().cloned().unwrap_or_default() {
                let (fw, state) = (t["framework_id"].clone(), st["state"].clone());
                all.push(serde_json::json!({"type": "TASK_UPDATED",
                    "task_updated": {"framework_id": fw, "status": st, "state": state}}));
            }
        }
        for s in &states {
            for t in list(s, "get_tasks", "tasks").into_iter().chain(list(s, "get_tasks", "completed_tasks")) {
                all.push(serde_json::json!({"type": "TASK_ADDED", "task_added": {"task": t}}));
            }
            for a in list(s, "get_agents", "agents") {
                all.push(serde_json::json!({"type": "AGENT_ADDED", "agent_added": {"agent": a}}));
            }
            for f in list(s, "get_frameworks", "frameworks") {
                let info = f["framework_info"].clone();
                all.push(serde_json::json!({"type": "FRAMEWORK_REMOVED", "framework_removed": {"framework_info": info}}));
                all.push(serde_json::json!({"type": "FRAMEWORK_ADDED", "framework_added": {"framework": f.clone()}}));
                all.push(serde_json::json!({"type": "FRAMEWORK_UPDATED", "framework_updated": {"framework": f}}));
            }
        }
        all
    });
    all.iter().filter(|r| r["type"] == kind).cloned().collect()
}

/// Asserts that an event has only keys and types the recordings of its type have (when there
/// are recordings of its type).
pub fn assert_recorded_shape(event: &Value) {
    let kind = event["type"].as_str().unwrap_or_default();
    assert_keys_within(&recorded(kind), event, "", &[]);
}

/// Asserts that a `GetState` has only keys and types the recorded snapshots have; its tasks,
/// agents and frameworks are checked against every recorded one (snapshots and events).
pub fn assert_state_shape(state: &Value) {
    // The recorded executors are SDK ones; a Marathon pod's executor holds the pod's network
    // (Marathon's TaskGroupBuilder), which no recording shows.
    let extra = [
        "get_tasks.tasks",
        "get_tasks.completed_tasks",
        "get_agents.agents",
        "get_frameworks.frameworks",
        "get_executors.executors.executor_info.container.network_infos",
    ];
    assert_keys_within(&recorded_states(), state, "", &extra);
    let list = |a: &str, b: &str| state[a][b].as_array().cloned().unwrap_or_default();
    for t in list("get_tasks", "tasks")
        .into_iter()
        .chain(list("get_tasks", "completed_tasks"))
    {
        assert_recorded_shape(
            &serde_json::json!({"type": "TASK_ADDED", "task_added": {"task": t}}),
        );
    }
    for a in list("get_agents", "agents") {
        assert_recorded_shape(
            &serde_json::json!({"type": "AGENT_ADDED", "agent_added": {"agent": a}}),
        );
    }
    for f in list("get_frameworks", "frameworks") {
        assert_recorded_shape(
            &serde_json::json!({"type": "FRAMEWORK_ADDED", "framework_added": {"framework": f}}),
        );
    }
}

/// The recorded `GetState` snapshots: every `SUBSCRIBED`'s and every `GET_STATE` answer's.
pub fn recorded_states() -> Vec<Value> {
    let mut out: Vec<Value> = recorded("SUBSCRIBED")
        .into_iter()
        .map(|r| r["subscribed"]["get_state"].clone())
        .collect();
    out.extend(
        recorded("GET_STATE")
            .into_iter()
            .map(|r| r["get_state"].clone()),
    );
    out
}

/// Asserts that `actual` has no key that none of the `examples` has at the same place, and
/// no value of a JSON type no example has there (recursively; array elements are compared
/// with every element of the examples' arrays). `extra` lists dotted paths not checked.
pub fn assert_keys_within(examples: &[Value], actual: &Value, path: &str, extra: &[&str]) {
    if examples.is_empty() || actual.is_null() || examples.iter().any(Value::is_null) {
        return;
    }
    match actual {
        Value::Object(a) => {
            let objects: Vec<&serde_json::Map<String, Value>> =
                examples.iter().filter_map(Value::as_object).collect();
            assert!(
                !objects.is_empty(),
                "{path}: recorded as {}, got an object",
                examples[0]
            );
            for (k, av) in a {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if extra.contains(&p.as_str()) {
                    continue;
                }
                let children: Vec<Value> =
                    objects.iter().filter_map(|o| o.get(k).cloned()).collect();
                assert!(!children.is_empty(), "{p}: no recording has this key");
                assert_keys_within(&children, av, &p, extra);
            }
        }
        Value::Array(a) => {
            let elements: Vec<Value> = examples
                .iter()
                .filter_map(Value::as_array)
                .flatten()
                .cloned()
                .collect();
            assert!(
                examples.iter().any(Value::is_array),
                "{path}: recorded as {}, got an array",
                examples[0]
            );
            for av in a {
                assert_keys_within(&elements, av, path, extra);
            }
        }
        scalar => {
            let same = examples
                .iter()
                .any(|e| std::mem::discriminant(e) == std::mem::discriminant(scalar));
            assert!(same, "{path}: recorded like {}, got {scalar}", examples[0]);
        }
    }
}

/// Asserts that `a` and `b` are equal, numbers up to a relative 1e-12 (serde_json's float
/// parsing is not exact, and timestamps are doubles).
pub fn assert_close(a: &Value, b: &Value, path: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
                "{path}: {x} != {y}"
            );
        }
        (Value::Object(x), Value::Object(y)) => {
            let kx: Vec<_> = x.keys().collect();
            let ky: Vec<_> = y.keys().collect();
            assert_eq!(kx, ky, "{path}: keys differ");
            for (k, v) in x {
                assert_close(v, &y[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}: lengths differ");
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                assert_close(v, w, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

/// Asserts that every key of `expected` exists in `actual` with the same JSON type
/// (recursively; first element of arrays), except the dotted paths in `ignore`.
pub fn assert_has_keys_of(expected: &Value, actual: &Value, path: &str, ignore: &[&str]) {
    match (expected, actual) {
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
                assert_has_keys_of(ev, av, &p, ignore);
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let (Some(e0), Some(a0)) = (e.first(), a.first()) {
                assert_has_keys_of(e0, a0, path, ignore);
            }
        }
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, _) => {}
        (e, a) => panic!("type mismatch at {path}: recorded like {e}, got {a}"),
    }
}
