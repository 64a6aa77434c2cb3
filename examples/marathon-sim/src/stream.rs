//! SSE clients of `/v2/events`: one writer per client with Jetty's framing, event-type
//! filters, heartbeats, slow-consumer handling, and `drop_event_streams`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{broadcast, mpsc, watch};

use crate::MarathonVersion;
use crate::bus::BusEvent;
use crate::render::event;
use crate::shared::Shared;

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
    /// Number of attached clients.
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

    /// Disconnects every client attached now and waits (up to 2 s) until they are gone.
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
    sim: &Arc<Shared>,
    remote: String,
    filter: Vec<String>,
) -> impl futures::Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let rx = sim.bus.subscribe();
    let (id, generation) = sim.streams.register();
    let (tx, body_rx) = mpsc::channel::<Bytes>(16);
    let ts = sim.clock.ts();
    sim.emit_bookkeeping(event::event_stream_attached(&remote, &ts));
    tokio::spawn(writer(sim.clone(), id, generation, rx, tx, filter, remote));
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

/// Why a writer stopped: only a client that went away (not a shutdown) is announced.
enum Stop {
    Shutdown,
    Gone,
}

/// Forwards the bus to one client until it goes away, is dropped, or the simulator stops.
async fn writer(
    sim: Arc<Shared>,
    id: u64,
    generation: u64,
    mut rx: broadcast::Receiver<Arc<BusEvent>>,
    tx: mpsc::Sender<Bytes>,
    filter: Vec<String>,
    remote: String,
) {
    let nl = if sim.cfg.crlf { "\r\n" } else { "\n" };
    let mut gen_rx = sim.streams.generation.subscribe();
    let period = sim.cfg.heartbeat.max(Duration::from_millis(1));
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let close_slow = sim.cfg.version == MarathonVersion::V1_10;
    let stop = loop {
        let chunks: Vec<Bytes> = tokio::select! {
            _ = sim.cancel.cancelled() => break Stop::Shutdown,
            _ = dropped(&mut gen_rx, generation) => break Stop::Gone,
            _ = tx.closed() => break Stop::Gone,
            _ = heartbeat.tick() => {
                if sim.cfg.crlf {
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
                _ = sim.cancel.cancelled() => { failed = true; break },
                _ = dropped(&mut gen_rx, generation) => { failed = true; break },
            }
        }
        if failed {
            break if sim.cancel.is_cancelled() {
                Stop::Shutdown
            } else {
                Stop::Gone
            };
        }
    };
    drop(tx);
    sim.streams.unregister(id);
    if matches!(stop, Stop::Gone) {
        let ts = sim.clock.ts();
        sim.emit_bookkeeping(event::event_stream_detached(&remote, &ts));
    }
}
