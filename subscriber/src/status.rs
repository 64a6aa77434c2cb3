//! The elected subscriber's status record (`registry::SubscriberStatus`), for herald-dns's
//! status page: who leads, whether each source's stream is open, when the last event
//! arrived, how deep the queue is. Only the leader writes it: when something in it
//! changes (checked every second) and at least every [`REFRESH`], so its age tells a
//! reader whether the leader is alive.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use registry::{Registry, SourceState, SourceStatus, Stamp, SubscriberStatus};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::Source;
use crate::mesos::source::MesosStatus;
use crate::queue::IngestQueue;

/// How often an unchanged status is written again.
pub const REFRESH: Duration = Duration::from_secs(15);
/// How often the status is checked for changes.
const TICK: Duration = Duration::from_secs(1);

/// Whether a stream is open: set by the stream's loop, read by the status. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct SourceLink(Arc<AtomicBool>);

impl SourceLink {
    /// Marks the stream open or closed.
    pub fn set(&self, open: bool) {
        self.0.store(open, Ordering::Relaxed);
    }

    /// True while the stream is open.
    pub fn is_open(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// What the status is made of.
pub struct StatusInputs {
    /// This instance's election id.
    pub id: String,
    /// The Marathon source: how events arrive and the SSE stream's link.
    pub marathon: Option<(Source, SourceLink)>,
    /// The Mesos source's status.
    pub mesos: Option<MesosStatus>,
    /// The Marathon event queue.
    pub queue: IngestQueue,
}

impl StatusInputs {
    /// The status now; `last_event_at` is the caller's.
    fn status(&self, last_event_at: Option<Stamp>) -> SubscriberStatus {
        let mut sources = Vec::new();
        if let Some((source, link)) = &self.marathon {
            sources.push(match source {
                Source::Sse => SourceStatus {
                    source: "marathon".into(),
                    state: if link.is_open() {
                        SourceState::Connected
                    } else {
                        SourceState::Connecting
                    },
                    detail: Some("SSE /v2/events".into()),
                },
                Source::Callback => SourceStatus {
                    source: "marathon".into(),
                    state: SourceState::Unknown,
                    detail: Some("HTTP callbacks (no stream to watch)".into()),
                },
            });
        }
        if let Some(mesos) = &self.mesos {
            let view = mesos.view();
            sources.push(SourceStatus {
                source: "mesos".into(),
                state: if view.connected {
                    SourceState::Connected
                } else {
                    SourceState::Connecting
                },
                detail: if view.connected {
                    view.leader.map(|l| format!("leading master {l}"))
                } else {
                    view.last_error
                },
            });
        }
        SubscriberStatus {
            leader_id: Some(self.id.clone()),
            sources,
            last_event_at,
            queue_depth: self.queue.depth() as u64,
            updated_at: Stamp::now(),
        }
    }
}

/// Writes the status while this instance leads, until `stop`.
pub async fn publish(
    registry: Registry,
    inputs: StatusInputs,
    mut leader: watch::Receiver<bool>,
    stop: CancellationToken,
) {
    let mut last: Option<(SubscriberStatus, Instant)> = None;
    let mut accepted = inputs.queue.accepted();
    let mut last_event_at: Option<Stamp> = None;
    let mut mesos_event_at: Option<Stamp> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            r = leader.changed() => if r.is_err() { return },
            _ = stop.cancelled() => return,
        }
        if !*leader.borrow() {
            last = None;
            continue;
        }
        let now_accepted = inputs.queue.accepted();
        if now_accepted != accepted {
            accepted = now_accepted;
            last_event_at = Some(Stamp::now());
        }
        if let Some(at) = inputs.mesos.as_ref().and_then(|m| m.view().last_event_at)
            && mesos_event_at.as_ref() != Some(&at)
        {
            mesos_event_at = Some(at.clone());
            last_event_at = last_event_at.max(Some(at));
        }
        let status = inputs.status(last_event_at.clone());
        let due = last
            .as_ref()
            .is_none_or(|(old, at)| at.elapsed() >= REFRESH || !same_but_time(old, &status));
        if !due {
            continue;
        }
        match registry.put_subscriber_status(&status).await {
            Ok(()) => last = Some((status, Instant::now())),
            Err(e) => tracing::debug!(error = %e, "cannot write the status record"),
        }
    }
}

/// Equal but for `updated_at`.
fn same_but_time(a: &SubscriberStatus, b: &SubscriberStatus) -> bool {
    SubscriberStatus {
        updated_at: b.updated_at.clone(),
        ..a.clone()
    } == *b
}
