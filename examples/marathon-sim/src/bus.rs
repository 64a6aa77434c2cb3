//! The event bus: every event goes to the SSE clients (a broadcast channel) and to the
//! HTTP callback subscribers.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serde_json::Value;
use tokio::sync::broadcast;

use crate::SimConfig;
use crate::callbacks::Callbacks;

/// One event as it goes out: its type (for `event:` and filters) and its JSON text.
#[derive(Debug)]
pub(crate) struct BusEvent {
    pub event_type: String,
    pub data: String,
}

impl BusEvent {
    /// An event of `event_type` whose JSON text is `data`.
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

/// Fan-out of events to SSE clients and callback URLs.
pub(crate) struct Bus {
    tx: broadcast::Sender<Arc<BusEvent>>,
    /// When false, state-change events are suppressed (`set_event_delivery`).
    pub delivery: AtomicBool,
    pub callbacks: Arc<Callbacks>,
}

impl Bus {
    /// A bus whose SSE clients may fall `cfg.event_buffer` events behind.
    pub(crate) fn new(cfg: &SimConfig) -> Bus {
        let (tx, _) = broadcast::channel(cfg.event_buffer.max(1));
        Bus {
            tx,
            delivery: AtomicBool::new(true),
            callbacks: Arc::new(Callbacks::new(cfg)),
        }
    }

    /// Sends `ev` to every SSE client and callback URL.
    pub(crate) fn publish(&self, ev: Arc<BusEvent>) {
        let _ = self.tx.send(ev.clone());
        self.callbacks.deliver(ev);
    }

    /// A receiver for a new SSE client: it sees the events published from now on.
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
