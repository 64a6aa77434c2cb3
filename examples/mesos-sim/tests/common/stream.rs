//! An open `SUBSCRIBE` stream read record by record with the crate's RecordIO decoder; every
//! event read is checked against the recorded shapes of its type.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::time::Duration;

use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use mesos_sim::recordio::Decoder;
use serde_json::Value;

use super::shapes::assert_recorded_shape;
use super::{T, send};

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
