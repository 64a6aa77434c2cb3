//! The one event handler both ingest paths feed: decoded events wait in the
//! [queue](crate::queue); one worker drains it in batches, turns each batch into registry
//! writes (`batch`; what each kind of event writes is one file: `status`, `health`, `app`)
//! and applies them through the [`Writer`] in a few concurrent transactions.
//!
//! What each event does:
//! - `status_update_event`: `TASK_RUNNING` upserts the task; `TASK_KILLING` and
//!   `TASK_UNREACHABLE` upsert it *with that state* (kept, but marked down: DNS serves
//!   running tasks only, and an unreachable task may come back); a terminal state removes
//!   it; staging, starting and unknown states are ignored (nothing to serve yet).
//! - health events (all three shapes) set the health of the task(s) of the instance they
//!   name; a verdict for a task not stored yet is remembered (`memo`) and applied when it
//!   appears.
//! - `app_terminated_event` removes the app record and every task of the app.
//! - `api_post_event` stores the app definition it carries.
//!
//! Ordering: every write carries Marathon's timestamp and is guarded by
//! [`registry::Guard::Newer`], so late, duplicate or replayed events (and other subscribers
//! writing the same events) never undo a newer state. Health writes are read-modify-write
//! and use [`registry::Guard::Revision`] instead, retried on conflict.
//!
//! No event stalls the others: the [`Writer`] refuses a record that is too large (or that
//! etcd refuses) on its own, without retrying it, while the rest of the batch lands. Events
//! whose writes failed in a way that may clear (etcd down, a timeout) are retried with
//! backoff, alongside the events that arrive meanwhile; while etcd is down the queue fills
//! and callbacks get 503 (and a resync is scheduled). A shutdown stops taking events and
//! writes what was accepted, for up to the drain timeout; what it cannot write is logged and
//! counted (`outcome="dropped"`).

mod app;
mod batch;
mod health;
mod memo;
mod status;

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

pub use batch::provisional_write;

use crate::agents::AgentResolver;
use crate::catalog::Catalog;
use crate::queue::{Progress, QueueReceiver, Queued};
use crate::resync::Resync;
use crate::telemetry;
use crate::writes::Writer;
use batch::Planner;

/// Events taken from the queue at once.
pub const MAX_BATCH: usize = 4096;
/// First delay before events are retried after a failure that may clear.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest delay between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Default of `--drain-timeout`: how long a shutdown keeps writing accepted events.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The event handler (one per process).
pub struct Handler {
    writer: Writer,
    planner: Planner,
    drain_timeout: Duration,
}

impl Handler {
    /// A handler writing through `writer`; a shutdown keeps writing accepted events for up
    /// to `drain_timeout`.
    pub fn new(
        writer: Writer,
        catalog: Catalog,
        agents: AgentResolver,
        resync: Resync,
        drain_timeout: Duration,
    ) -> Self {
        let registry = writer.registry().clone();
        Handler {
            writer,
            planner: Planner::new(catalog, agents, registry, resync),
            drain_timeout,
        }
    }

    /// Drains the queue until it closes or `shutdown` fires; then writes what was accepted
    /// until the drain timeout (counted from `shutdown`) and returns. Events not written by
    /// then are logged and counted as dropped.
    pub async fn run(mut self, queue: QueueReceiver, shutdown: CancellationToken) {
        let QueueReceiver { mut rx, progress } = queue;
        // Fires `drain_timeout` after `shutdown`: whatever is still being written then is
        // given up.
        let expired = CancellationToken::new();
        let _timer = AbortOnDropHandle::new(tokio::spawn({
            let (shutdown, expired, limit) =
                (shutdown.clone(), expired.clone(), self.drain_timeout);
            async move {
                shutdown.cancelled().await;
                tokio::time::sleep(limit).await;
                expired.cancel();
            }
        }));
        let (mut pending, mut dropped) = self.live(&mut rx, &progress, &shutdown, &expired).await;
        // Shutting down: write what was accepted, until the drain timeout.
        rx.close();
        while let Ok(q) = rx.try_recv() {
            pending.push(q);
        }
        dropped.extend(self.drain(pending, &progress, &expired).await);
        self.report_dropped(dropped);
    }

    /// Takes batches until `shutdown` (or until the queue closes), retrying with backoff
    /// what failed in a way that may clear. Returns the events still to write, and the
    /// types of a batch the drain timeout cut short.
    async fn live(
        &mut self,
        rx: &mut mpsc::Receiver<Queued>,
        progress: &Progress,
        shutdown: &CancellationToken,
        expired: &CancellationToken,
    ) -> (Vec<Queued>, Vec<&'static str>) {
        let mut buf = Vec::with_capacity(MAX_BATCH);
        // Events to handle again (etcd failed in a way that may clear), not before `retry_at`.
        let mut retry: Vec<Queued> = Vec::new();
        let mut retry_at = tokio::time::Instant::now();
        let mut backoff = MIN_BACKOFF;
        loop {
            let due = !retry.is_empty();
            let batch = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep_until(retry_at), if due => {
                    let mut batch = std::mem::take(&mut retry);
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(q) => batch.push(q),
                            Err(_) => break,
                        }
                    }
                    batch
                }
                // New events do not wait for the retries' backoff.
                n = rx.recv_many(&mut buf, MAX_BATCH) => {
                    if n == 0 {
                        break;
                    }
                    std::mem::take(&mut buf)
                }
            };
            telemetry::queue_depth(rx.len());
            let retrying = batch.iter().any(|q| q.attempt > 0);
            let taken = batch.len();
            let labels: Vec<&'static str> = batch.iter().map(|q| q.label).collect();
            let again = tokio::select! {
                again = self.handle_batch(batch) => again,
                _ = expired.cancelled() => {
                    retry.append(&mut buf);
                    return (retry, labels);
                }
            };
            progress.handled(taken - again.len());
            if again.is_empty() {
                if retrying {
                    backoff = MIN_BACKOFF;
                }
                continue;
            }
            if retrying {
                // Retries that failed again: wait longer.
                backoff = longer(backoff);
            }
            if retry.is_empty() {
                retry_at = tokio::time::Instant::now() + backoff;
            }
            retry.extend(again);
        }
        retry.append(&mut buf);
        (retry, Vec::new())
    }

    /// Writes `pending` until it is written or the drain timeout expires; returns the
    /// types of the events not known to be written.
    async fn drain(
        &mut self,
        mut pending: Vec<Queued>,
        progress: &Progress,
        expired: &CancellationToken,
    ) -> Vec<&'static str> {
        if !pending.is_empty() && !expired.is_cancelled() {
            tracing::info!(
                events = pending.len(),
                "writing the accepted events before exit"
            );
        }
        let mut dropped = Vec::new();
        let mut backoff = MIN_BACKOFF;
        while !pending.is_empty() && !expired.is_cancelled() {
            let rest = pending.split_off(pending.len().min(MAX_BATCH));
            let batch = std::mem::replace(&mut pending, rest);
            let taken = batch.len();
            let labels: Vec<&'static str> = batch.iter().map(|q| q.label).collect();
            let mut again = tokio::select! {
                again = self.handle_batch(batch) => again,
                _ = expired.cancelled() => {
                    dropped.extend(labels);
                    break;
                }
            };
            progress.handled(taken - again.len());
            if !again.is_empty() {
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = expired.cancelled() => {}
                }
                backoff = longer(backoff);
            }
            again.append(&mut pending);
            pending = again;
        }
        dropped.extend(pending.iter().map(|q| q.label));
        dropped
    }

    /// Logs and counts the accepted events a shutdown could not write.
    fn report_dropped(&self, dropped: Vec<&'static str>) {
        if dropped.is_empty() {
            return;
        }
        tracing::warn!(
            events = dropped.len(),
            drain_timeout = ?self.drain_timeout,
            "accepted events not known to be written by the drain timeout; the next reconcile restores what is missing"
        );
        let mut by_type: BTreeMap<&'static str, usize> = BTreeMap::new();
        for label in dropped {
            *by_type.entry(label).or_default() += 1;
        }
        for (label, n) in by_type {
            telemetry::events_dropped(label, n);
        }
    }

    /// Handles one batch; returns the events to handle again (a write failed in a way that
    /// may clear, etcd could not be read, a health write conflicted).
    async fn handle_batch(&mut self, batch: Vec<Queued>) -> Vec<Queued> {
        let (plan, dispositions) = self.planner.plan(&batch).await;
        let app_writes = plan.app_writes();
        let results = self.writer.apply(plan.ops).await;
        self.planner.unwritten(app_writes, &results);
        let mut retry = Vec::new();
        for (q, d) in batch.into_iter().zip(dispositions) {
            match batch::settle(d, &results, &q) {
                Some(outcome) => telemetry::event(q.label, outcome),
                None => retry.push(q.again()),
            }
        }
        retry
    }
}

/// The next, longer retry delay.
fn longer(backoff: Duration) -> Duration {
    (backoff * 2).min(MAX_BACKOFF)
}
