//! The SSE event source (the only one Marathon ≥1.5 offers): `GET /v2/events`, parse,
//! queue. Runs on the elected instance only.
//!
//! Marathon has no replay (no `id:`, no `Last-Event-ID`) and 1.8+ drops slow consumers,
//! so every (re)connect schedules a resync: the stream is opened *first*, then the
//! reconcile runs, so nothing that happens during the reconcile is missed. A stream that
//! says nothing for longer than `idle_timeout` (Marathon sends a heartbeat every 10 s) is
//! treated as dead.

use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::events::{self, HANDLED_TYPES};
use crate::marathon::MarathonClient;
use crate::marathon::sse::SseParser;
use crate::queue::{IngestQueue, Queued};
use crate::resync::Resync;
use crate::status::SourceLink;
use crate::telemetry;

/// SSE client settings.
#[derive(Clone, Debug)]
pub struct StreamConfig {
    /// A silent stream is reconnected after this long.
    pub idle_timeout: Duration,
    /// First reconnect delay (doubles up to `max_backoff`, with jitter).
    pub min_backoff: Duration,
    /// Longest reconnect delay.
    pub max_backoff: Duration,
    /// Events stamped further than this ahead of this host's clock are dropped (see
    /// [`events::check_clock`]).
    pub max_clock_skew: Duration,
    /// Told whether the stream is open (for the status record).
    pub link: SourceLink,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            idle_timeout: Duration::from_secs(60),
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_clock_skew: events::DEFAULT_MAX_CLOCK_SKEW,
            link: SourceLink::default(),
        }
    }
}

/// How a connection ended.
enum End {
    Shutdown,
    NotLeader,
    Dropped(String),
}

/// Streams events into `queue` while this instance leads, until `shutdown`.
pub async fn run(
    client: MarathonClient,
    queue: IngestQueue,
    resync: Resync,
    mut leader: watch::Receiver<bool>,
    config: StreamConfig,
    shutdown: CancellationToken,
) {
    let mut backoff = config.min_backoff;
    let mut connected_before = false;
    loop {
        // Wait for leadership.
        while !*leader.borrow_and_update() {
            tokio::select! {
                changed = leader.changed() => if changed.is_err() { return },
                _ = shutdown.cancelled() => return,
            }
        }
        let started = tokio::time::Instant::now();
        match connect_and_read(
            &client,
            &queue,
            &resync,
            &mut leader,
            &config,
            &shutdown,
            &mut connected_before,
        )
        .await
        {
            End::Shutdown => return,
            End::NotLeader => {
                if leader.has_changed().is_err() {
                    // The election is gone: shutting down.
                    return;
                }
                tracing::info!("no longer leader: SSE stream closed");
                continue;
            }
            End::Dropped(reason) => {
                if started.elapsed() > config.max_backoff {
                    backoff = config.min_backoff;
                }
                let jitter = rand::rng().random_range(0.5..1.0);
                let delay = backoff.mul_f64(jitter);
                tracing::warn!(%reason, retry_in = ?delay, "Marathon event stream lost");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.cancelled() => return,
                }
                backoff = (backoff * 2).min(config.max_backoff);
            }
        }
    }
}

async fn connect_and_read(
    client: &MarathonClient,
    queue: &IngestQueue,
    resync: &Resync,
    leader: &mut watch::Receiver<bool>,
    config: &StreamConfig,
    shutdown: &CancellationToken,
    connected_before: &mut bool,
) -> End {
    let open = tokio::select! {
        r = client.event_stream(HANDLED_TYPES) => r,
        _ = shutdown.cancelled() => return End::Shutdown,
        _ = wait_not_leader(leader) => return End::NotLeader,
    };
    let mut response = match open {
        Ok(r) => r,
        Err(e) => return End::Dropped(e.to_string()),
    };
    if *connected_before {
        telemetry::sse_reconnect();
    }
    *connected_before = true;
    telemetry::sse_connected(true);
    config.link.set(true);
    tracing::info!(url = %response.url(), "Marathon event stream open");
    // No replay: whatever happened while disconnected comes from a resync.
    resync.request("SSE stream (re)connected");
    let mut parser = SseParser::default();
    let end = loop {
        let chunk = tokio::select! {
            c = tokio::time::timeout(config.idle_timeout, response.chunk()) => c,
            _ = shutdown.cancelled() => break End::Shutdown,
            _ = wait_not_leader(leader) => break End::NotLeader,
        };
        let bytes = match chunk {
            Err(_) => {
                break End::Dropped(format!("nothing received for {:?}", config.idle_timeout));
            }
            Ok(Err(e)) => break End::Dropped(format!("read error: {e}")),
            Ok(Ok(None)) => break End::Dropped("Marathon closed the stream".into()),
            Ok(Ok(Some(b))) => b,
        };
        for event in parser.push(&bytes) {
            let decoded = serde_json::from_slice(&event.data)
                .map_err(events::DecodeError::from)
                .and_then(|v| events::decode_value(v, event.event.as_deref()))
                .and_then(|d| events::check_clock(d, chrono::Utc::now(), config.max_clock_skew));
            match decoded {
                Ok(d) => {
                    let push = queue.push(Queued::new(d.label, d.event));
                    let stop = tokio::select! {
                        r = push => r.is_err(),
                        _ = shutdown.cancelled() => true,
                    };
                    if stop {
                        telemetry::sse_connected(false);
                        config.link.set(false);
                        return End::Shutdown;
                    }
                }
                Err(e) => {
                    let label = event
                        .event
                        .as_deref()
                        .map(events::type_label)
                        .unwrap_or("unknown");
                    telemetry::event(label, "invalid");
                    tracing::warn!(error = %e, "skipping an SSE event that does not decode or cannot be used");
                }
            }
        }
    };
    telemetry::sse_connected(false);
    config.link.set(false);
    end
}

async fn wait_not_leader(leader: &mut watch::Receiver<bool>) {
    loop {
        if !*leader.borrow_and_update() {
            return;
        }
        if leader.changed().await.is_err() {
            // The election is gone (shutting down): treat as no longer leader.
            return;
        }
    }
}
