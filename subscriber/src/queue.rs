//! The bounded queue between the event sources (`/callback`, the SSE stream) and the one
//! [`Handler`](crate::ingest::Handler), with the counters that tell when everything
//! accepted so far has been handled (a reconcile waits for that, `/healthz` shows the depth).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::events::Event;

/// A decoded event waiting for the handler.
#[derive(Clone, Debug)]
pub struct Queued {
    /// The type's metrics label.
    pub label: &'static str,
    /// The event.
    pub event: Event,
    /// How often the handler took it up already (it retries what may clear).
    pub(crate) attempt: u8,
}

impl Queued {
    /// Wraps a decoded event.
    pub fn new(label: &'static str, event: Event) -> Self {
        Queued {
            label,
            event,
            attempt: 0,
        }
    }

    /// The same event, to be handled once more.
    pub(crate) fn again(self) -> Self {
        Queued {
            attempt: self.attempt.saturating_add(1),
            ..self
        }
    }
}

/// The producer side of the queue. Cheap to clone.
#[derive(Clone)]
pub struct IngestQueue {
    tx: mpsc::Sender<Queued>,
    progress: Arc<Progress>,
}

/// Counters that tell when everything accepted so far has been handled.
#[derive(Default)]
pub(crate) struct Progress {
    /// Events accepted into the queue, ever.
    accepted: AtomicU64,
    /// Events handled (written, refused, given up), ever.
    handled: AtomicU64,
}

impl Progress {
    /// Counts `n` events as handled.
    pub(crate) fn handled(&self, n: usize) {
        self.handled.fetch_add(n as u64, Ordering::SeqCst);
    }
}

/// The consumer side of the queue, for [`Handler::run`](crate::ingest::Handler::run).
pub struct QueueReceiver {
    pub(crate) rx: mpsc::Receiver<Queued>,
    pub(crate) progress: Arc<Progress>,
}

/// The queue is full (callbacks answer 503).
#[derive(Debug, thiserror::Error)]
#[error("the event queue is full")]
pub struct QueueFull;

/// The handler is gone (shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the event handler has stopped")]
pub struct QueueClosed;

impl IngestQueue {
    /// A queue of `capacity` events and its receiving end (for the handler).
    pub fn new(capacity: usize) -> (Self, QueueReceiver) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let progress = Arc::new(Progress::default());
        (
            IngestQueue {
                tx,
                progress: progress.clone(),
            },
            QueueReceiver { rx, progress },
        )
    }

    /// Enqueues without waiting (the callback path: answer fast or 503).
    pub fn try_push(&self, event: Queued) -> Result<(), QueueFull> {
        // Counted first, so that `accepted >= handled` always holds.
        self.progress.accepted.fetch_add(1, Ordering::SeqCst);
        self.tx.try_send(event).map_err(|_| {
            self.progress.accepted.fetch_sub(1, Ordering::SeqCst);
            QueueFull
        })
    }

    /// Enqueues, waiting for room (the SSE path: backpressure on the stream).
    pub async fn push(&self, event: Queued) -> Result<(), QueueClosed> {
        self.progress.accepted.fetch_add(1, Ordering::SeqCst);
        self.tx.send(event).await.map_err(|_| {
            self.progress.accepted.fetch_sub(1, Ordering::SeqCst);
            QueueClosed
        })
    }

    /// Events accepted so far, ever (it grows with every accepted event).
    pub fn accepted(&self) -> u64 {
        self.progress.accepted.load(Ordering::SeqCst)
    }

    /// Events accepted and not handled yet (queued, or in the batch being written).
    pub fn depth(&self) -> usize {
        let accepted = self.progress.accepted.load(Ordering::SeqCst);
        let handled = self.progress.handled.load(Ordering::SeqCst);
        accepted.saturating_sub(handled) as usize
    }

    /// Waits until as many events have been handled as were accepted when it was called
    /// (so a reconcile sees what the queue held), or until `limit`.
    pub async fn caught_up(&self, limit: Duration) -> bool {
        let target = self.progress.accepted.load(Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + limit;
        while self.progress.handled.load(Ordering::SeqCst) < target {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn depth_counts_what_is_accepted_and_not_handled() {
        let (queue, receiver) = IngestQueue::new(2);
        queue.try_push(Queued::new("x", Event::Ignored)).unwrap();
        queue.push(Queued::new("x", Event::Ignored)).await.unwrap();
        assert!(queue.try_push(Queued::new("x", Event::Ignored)).is_err());
        assert_eq!(queue.depth(), 2, "a refused push is not counted");
        assert!(!queue.caught_up(Duration::from_millis(20)).await);
        receiver.progress.handled(2);
        assert_eq!(queue.depth(), 0);
        assert!(queue.caught_up(Duration::ZERO).await);
        drop(receiver);
        assert!(queue.push(Queued::new("x", Event::Ignored)).await.is_err());
        assert_eq!(queue.depth(), 0);
    }
}
