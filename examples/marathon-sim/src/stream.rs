//! The event bus: SSE clients (`/v2/events`) and HTTP callback subscribers (1.4).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, watch};

use crate::state::Inner;
use crate::{MarathonVersion, SimConfig};

/// One event as it goes out: its type (for `event:` and filters) and its JSON text.
#[derive(Debug)]
pub(crate) struct BusEvent {
    pub event_type: String,
    pub data: String,
}

impl BusEvent {
    pub(crate) fn new(event_type: &str, data: String) -> Arc<BusEvent> {
        Arc::new(BusEvent {
            event_type: event_type.to_string(),
            data,
        })
    }

    /// A verbatim event; its type is its `eventType` (or `unknown`).
    pub(crate) fn from_value(v: &Value) -> Arc<BusEvent> {
        let t = v
            .get("eventType")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        BusEvent::new(t, v.to_string())
    }
}

/// Fan-out of events to SSE clients (a broadcast channel) and callback URLs.
pub(crate) struct Bus {
    tx: broadcast::Sender<Arc<BusEvent>>,
    /// When false, state-change events are suppressed (`set_event_delivery`).
    pub delivery: AtomicBool,
    pub callbacks: Arc<Callbacks>,
}

impl Bus {
    pub(crate) fn new(cfg: &SimConfig) -> Bus {
        let (tx, _) = broadcast::channel(cfg.event_buffer.max(1));
        Bus {
            tx,
            delivery: AtomicBool::new(true),
            callbacks: Arc::new(Callbacks::new(cfg)),
        }
    }

    pub(crate) fn publish(&self, ev: Arc<BusEvent>) {
        let _ = self.tx.send(ev.clone());
        self.callbacks.deliver(ev);
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<BusEvent>> {
        self.tx.subscribe()
    }

    /// How many events the slowest SSE client is behind.
    pub(crate) fn backlog(&self) -> usize {
        if self.tx.receiver_count() == 0 {
            0
        } else {
            self.tx.len()
        }
    }
}

// -------------------------------------------------------------------- callbacks

#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
    skip_until: Option<Instant>,
}

/// HTTP callback subscribers (Marathon ≤1.4 `http_callback` event subscriber).
pub(crate) struct Callbacks {
    enabled: bool,
    urls: Mutex<Vec<String>>,
    backoff: Mutex<HashMap<String, Backoff>>,
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
    use_backoff: bool,
}

impl Callbacks {
    fn new(cfg: &SimConfig) -> Callbacks {
        Callbacks {
            enabled: cfg.version == MarathonVersion::V1_4 && cfg.callbacks,
            urls: Mutex::new(Vec::new()),
            backoff: Mutex::new(HashMap::new()),
            client: Client::builder(TokioExecutor::new()).build_http(),
            timeout: cfg.callback_timeout,
            use_backoff: cfg.callback_backoff,
        }
    }

    /// Adds a URL (idempotent); true if it was new.
    pub(crate) fn add(&self, url: &str) -> bool {
        let mut urls = self.urls.lock().unwrap_or_else(|p| p.into_inner());
        if urls.iter().any(|u| u == url) {
            false
        } else {
            urls.push(url.to_string());
            true
        }
    }

    /// Removes a URL; true if it was registered.
    pub(crate) fn remove(&self, url: &str) -> bool {
        let mut urls = self.urls.lock().unwrap_or_else(|p| p.into_inner());
        let before = urls.len();
        urls.retain(|u| u != url);
        self.backoff
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(url);
        urls.len() != before
    }

    pub(crate) fn urls(&self) -> Vec<String> {
        self.urls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// POSTs the event to every subscriber, each in its own task (so order is not guaranteed).
    fn deliver(self: &Arc<Self>, ev: Arc<BusEvent>) {
        if !self.enabled {
            return;
        }
        let urls = self.urls();
        if urls.is_empty() || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let now = Instant::now();
        for url in urls {
            if self.use_backoff {
                let b = self.backoff.lock().unwrap_or_else(|p| p.into_inner());
                if b.get(&url)
                    .and_then(|b| b.skip_until)
                    .is_some_and(|t| t > now)
                {
                    tracing::debug!(%url, event = %ev.event_type, "callback in back-off: event dropped");
                    continue;
                }
            }
            let this = self.clone();
            let ev = ev.clone();
            tokio::spawn(async move {
                let ok = this.post(&url, &ev).await;
                this.record(&url, ok);
            });
        }
    }

    async fn post(&self, url: &str, ev: &BusEvent) -> bool {
        let req = match http::Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(ev.data.clone())))
        {
            Ok(r) => r,
            Err(_) => return false,
        };
        let fut = async {
            let resp = self.client.request(req).await.ok()?;
            let status = resp.status();
            let _ = resp.into_body().collect().await;
            Some(status.is_success() || status.is_redirection())
        };
        matches!(
            tokio::time::timeout(self.timeout, fut).await,
            Ok(Some(true))
        )
    }

    fn record(&self, url: &str, ok: bool) {
        let mut b = self.backoff.lock().unwrap_or_else(|p| p.into_inner());
        let e = b.entry(url.to_string()).or_default();
        if ok {
            *e = Backoff::default();
        } else {
            e.failures = e.failures.saturating_add(1);
            if self.use_backoff {
                let secs = 1u64 << e.failures.min(8);
                e.skip_until = Some(Instant::now() + Duration::from_secs(secs));
            }
            tracing::debug!(%url, failures = e.failures, "callback delivery failed");
        }
    }
}

// -------------------------------------------------------------------- SSE clients

/// Registry of attached SSE clients, with a generation counter for `drop_event_streams`.
pub(crate) struct Streams {
    next_id: AtomicU64,
    clients: Mutex<HashMap<u64, u64>>,
    generation: watch::Sender<u64>,
}

impl Default for Streams {
    fn default() -> Self {
        Streams {
            next_id: AtomicU64::new(1),
            clients: Mutex::new(HashMap::new()),
            generation: watch::channel(0).0,
        }
    }
}

impl Streams {
    pub(crate) fn count(&self) -> usize {
        self.clients.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn register(&self) -> (u64, u64) {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let generation = *self.generation.borrow();
        self.clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, generation);
        (id, generation)
    }

    fn unregister(&self, id: u64) {
        self.clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    pub(crate) async fn drop_all(&self) {
        let mut target = 0;
        self.generation.send_modify(|g| {
            *g += 1;
            target = *g;
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            let old = self
                .clients
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .values()
                .any(|g| *g < target);
            if !old || tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// Opens one SSE stream: registers the client, publishes `event_stream_attached` and returns
/// the response body stream.
pub(crate) fn open_stream(
    inner: &Arc<Inner>,
    remote: String,
    filter: Vec<String>,
) -> impl futures::Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let rx = inner.bus.subscribe();
    let (id, generation) = inner.streams.register();
    let (tx, body_rx) = mpsc::channel::<Bytes>(16);
    let ts = inner.clock.ts();
    inner.emit_meta(
        "event_stream_attached",
        &[
            ("remoteAddress", json!(remote)),
            ("eventType", json!("event_stream_attached")),
            ("timestamp", json!(ts)),
        ],
    );
    tokio::spawn(writer(
        inner.clone(),
        id,
        generation,
        rx,
        tx,
        filter,
        remote,
    ));
    futures::stream::unfold(body_rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    })
}

/// Resolves once `drop_event_streams` has targeted this client's generation.
async fn dropped(gen_rx: &mut watch::Receiver<u64>, generation: u64) {
    loop {
        if *gen_rx.borrow_and_update() > generation {
            return;
        }
        if gen_rx.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

enum Stop {
    Shutdown,
    Gone,
}

async fn writer(
    inner: Arc<Inner>,
    id: u64,
    generation: u64,
    mut rx: broadcast::Receiver<Arc<BusEvent>>,
    tx: mpsc::Sender<Bytes>,
    filter: Vec<String>,
    remote: String,
) {
    let nl = if inner.cfg.crlf { "\r\n" } else { "\n" };
    let mut gen_rx = inner.streams.generation.subscribe();
    let period = inner.cfg.heartbeat.max(Duration::from_millis(1));
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let close_slow = inner.cfg.version == MarathonVersion::V1_10;
    let stop = loop {
        let chunks: Vec<Bytes> = tokio::select! {
            _ = inner.cancel.cancelled() => break Stop::Shutdown,
            _ = dropped(&mut gen_rx, generation) => break Stop::Gone,
            _ = tx.closed() => break Stop::Gone,
            _ = heartbeat.tick() => {
                if inner.cfg.crlf {
                    // Jetty writes '\r', flushes, then '\n'.
                    vec![Bytes::from_static(b"\r"), Bytes::from_static(b"\n")]
                } else {
                    vec![Bytes::from_static(b"\n")]
                }
            }
            m = rx.recv() => match m {
                Ok(ev) => {
                    if !filter.is_empty() && !filter.iter().any(|f| *f == ev.event_type) {
                        continue;
                    }
                    vec![Bytes::from(format!("event: {}{nl}data: {}{nl}{nl}", ev.event_type, ev.data))]
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    if close_slow {
                        tracing::info!(%remote, lagged = n, "closing connection on slow event consumer");
                        break Stop::Gone;
                    }
                    tracing::info!(%remote, dropped = n, "slow event consumer: events dropped");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => break Stop::Shutdown,
            },
        };
        let mut failed = false;
        for c in chunks {
            tokio::select! {
                r = tx.send(c) => if r.is_err() { failed = true; break },
                _ = inner.cancel.cancelled() => { failed = true; break },
                _ = dropped(&mut gen_rx, generation) => { failed = true; break },
            }
        }
        if failed {
            break if inner.cancel.is_cancelled() {
                Stop::Shutdown
            } else {
                Stop::Gone
            };
        }
    };
    drop(tx);
    inner.streams.unregister(id);
    if matches!(stop, Stop::Gone) {
        let ts = inner.clock.ts();
        inner.emit_meta(
            "event_stream_detached",
            &[
                ("remoteAddress", json!(remote)),
                ("eventType", json!("event_stream_detached")),
                ("timestamp", json!(ts)),
            ],
        );
    }
}
