//! The open `SUBSCRIBE` streams: one queue per client filled by [`Streams::publish`], one
//! writer per client that sends its records and the heartbeats, the subscriber cap, the
//! slow-consumer policy, stalls, re-chunking, and closing (cleanly, or by breaking the
//! connection as a dying master does).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::SlowConsumer;
use crate::proto::Event;
use crate::recordio;

/// One open stream as the publisher sees it.
struct Sub {
    tx: mpsc::UnboundedSender<Bytes>,
    queued: Arc<AtomicUsize>,
    cancel: CancellationToken,
    abort: Arc<AtomicBool>,
}

/// What a new stream's writer needs.
pub(crate) struct Opened {
    id: u64,
    rx: mpsc::UnboundedReceiver<Bytes>,
    queued: Arc<AtomicUsize>,
    cancel: CancellationToken,
    abort: Arc<AtomicBool>,
}

/// How a writer sends: heartbeat period, chunking, the stall switch, the simulator's end.
pub(crate) struct WriterConfig {
    pub heartbeat: Duration,
    pub chunk_size: Option<usize>,
    pub shutdown: CancellationToken,
}

/// Every open stream.
pub(crate) struct Streams {
    subs: Mutex<BTreeMap<u64, Sub>>,
    next_id: AtomicUsize,
    stalled: watch::Sender<bool>,
}

impl Default for Streams {
    fn default() -> Self {
        Streams {
            subs: Mutex::new(BTreeMap::new()),
            next_id: AtomicUsize::new(1),
            stalled: watch::channel(false).0,
        }
    }
}

impl Streams {
    fn subs(&self) -> MutexGuard<'_, BTreeMap<u64, Sub>> {
        self.subs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a new stream; beyond `max` streams the oldest is closed (Mesos ≥ 1.8).
    pub(crate) fn open(&self, max: usize) -> Opened {
        let (tx, rx) = mpsc::unbounded_channel();
        let id = self.next_id.fetch_add(1, Ordering::SeqCst) as u64;
        let sub = Sub {
            tx,
            queued: Arc::new(AtomicUsize::new(0)),
            cancel: CancellationToken::new(),
            abort: Arc::new(AtomicBool::new(false)),
        };
        let opened = Opened {
            id,
            rx,
            queued: sub.queued.clone(),
            cancel: sub.cancel.clone(),
            abort: sub.abort.clone(),
        };
        let mut subs = self.subs();
        subs.insert(id, sub);
        while subs.len() > max.max(1) {
            if let Some((old, s)) = subs.pop_first() {
                tracing::info!(
                    stream = old,
                    "closing the oldest event stream: too many subscribers"
                );
                s.cancel.cancel();
            }
        }
        opened
    }

    /// Queues `record` (RecordIO-framed) for every stream; a stream too far behind is closed
    /// under [`SlowConsumer::Close`].
    pub(crate) fn publish(&self, record: &Bytes, policy: SlowConsumer) {
        let mut subs = self.subs();
        subs.retain(|id, s| {
            if let SlowConsumer::Close(limit) = policy
                && s.queued.load(Ordering::SeqCst) >= limit
            {
                tracing::info!(stream = id, limit, "closing a slow event stream");
                s.cancel.cancel();
                return false;
            }
            s.queued.fetch_add(1, Ordering::SeqCst);
            s.tx.send(record.clone()).is_ok()
        });
    }

    /// Closes every open stream: cleanly (the chunked body ends), or with `abort` by breaking
    /// the connection as a master that loses leadership does.
    pub(crate) fn close_all(&self, abort: bool) {
        let mut subs = self.subs();
        for s in subs.values() {
            s.abort.store(abort, Ordering::SeqCst);
            s.cancel.cancel();
        }
        subs.clear();
    }

    /// Number of open streams.
    pub(crate) fn count(&self) -> usize {
        self.subs().len()
    }

    /// While stalled, writers send nothing (no events, no heartbeats); queued records go out
    /// once the stall ends.
    pub(crate) fn set_stalled(&self, stalled: bool) {
        self.stalled.send_replace(stalled);
    }

    fn unregister(&self, id: u64) {
        self.subs().remove(&id);
    }
}

/// The response body of one stream: `first` (SUBSCRIBED and the first HEARTBEAT), then the
/// published records and a HEARTBEAT every period, until the stream is closed.
pub(crate) fn body(
    streams: Arc<Streams>,
    first: Bytes,
    opened: Opened,
    cfg: WriterConfig,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let (tx, body_rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::spawn(writer(streams, first, opened, cfg, tx));
    futures::stream::unfold(body_rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

/// `bytes` in pieces of at most `size` bytes.
fn pieces(bytes: Bytes, size: Option<usize>) -> Vec<Bytes> {
    match size {
        Some(n) if n > 0 && bytes.len() > n => (0..bytes.len())
            .step_by(n)
            .map(|i| bytes.slice(i..(i + n).min(bytes.len())))
            .collect(),
        _ => vec![bytes],
    }
}

async fn writer(
    streams: Arc<Streams>,
    first: Bytes,
    mut opened: Opened,
    cfg: WriterConfig,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let heartbeat_record = recordio::encode(Event::Heartbeat.to_json().as_bytes());
    let period = cfg.heartbeat.max(Duration::from_millis(1));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut stalled = streams.stalled.subscribe();
    let mut next = Some(first);
    loop {
        if let Some(bytes) = next.take() {
            for piece in pieces(bytes, cfg.chunk_size) {
                tokio::select! {
                    r = tx.send(Ok(piece)) => if r.is_err() { break },
                    _ = opened.cancel.cancelled() => break,
                    _ = cfg.shutdown.cancelled() => break,
                }
            }
        }
        if opened.cancel.is_cancelled() || cfg.shutdown.is_cancelled() || tx.is_closed() {
            break;
        }
        let is_stalled = *stalled.borrow_and_update();
        next = tokio::select! {
            _ = opened.cancel.cancelled() => break,
            _ = cfg.shutdown.cancelled() => break,
            _ = tx.closed() => break,
            r = stalled.changed() => { if r.is_err() { break } None }
            _ = tick.tick(), if !is_stalled => Some(heartbeat_record.clone()),
            r = opened.rx.recv(), if !is_stalled => match r {
                Some(b) => {
                    opened.queued.fetch_sub(1, Ordering::SeqCst);
                    Some(b)
                }
                None => break,
            },
        };
    }
    if opened.abort.load(Ordering::SeqCst) {
        // An error item makes hyper drop the connection without the final chunk.
        let _ = tx
            .send(Err(std::io::Error::other("master lost leadership")))
            .await;
    }
    streams.unregister(opened.id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_split_anywhere() {
        let b = Bytes::from_static(b"154\n{\"type\"");
        let p = pieces(b.clone(), Some(3));
        assert_eq!(p.len(), 4);
        assert_eq!(p.concat(), b.to_vec());
        assert_eq!(pieces(b.clone(), None), vec![b]);
    }

    #[test]
    fn the_oldest_stream_goes_beyond_the_cap_and_slow_ones_under_close() {
        let s = Streams::default();
        let a = s.open(2);
        let _b = s.open(2);
        let _c = s.open(2);
        assert!(a.cancel.is_cancelled());
        assert_eq!(s.count(), 2);
        let rec = Bytes::from_static(b"2\n{}");
        s.publish(&rec, SlowConsumer::Close(1));
        assert_eq!(s.count(), 2);
        s.publish(&rec, SlowConsumer::Close(1));
        assert_eq!(s.count(), 0, "both streams had one record waiting");
    }
}
