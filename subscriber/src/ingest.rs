//! The one event handler both ingest paths feed: decoded events go into a bounded queue;
//! one worker drains it in batches, turns each batch into registry writes and applies them
//! in a few concurrent transactions (≤128 operations each).
//!
//! What each event does:
//! - `status_update_event`: `TASK_RUNNING` upserts the task; `TASK_KILLING` and
//!   `TASK_UNREACHABLE` upsert it *with that state* (kept, but marked down: DNS serves
//!   running tasks only, and an unreachable task may come back); a terminal state removes
//!   it; staging, starting and unknown states are ignored (nothing to serve yet).
//! - health events (all three shapes) set the health of the task(s) of the instance they
//!   name; a verdict for a task not stored yet is remembered and applied when it appears.
//! - `app_terminated_event` removes the app record and every task of the app.
//! - `api_post_event` stores the app definition it carries.
//!
//! Ordering: every write carries Marathon's timestamp and is guarded by
//! [`Guard::Newer`], so late, duplicate or replayed events (and other subscribers writing
//! the same events) never undo a newer state. Health writes are read-modify-write and use
//! [`Guard::Revision`] instead, retried on conflict.
//!
//! No event stalls the others: writes go through [`Writer`], which refuses a record that is
//! too large (or that etcd refuses) on its own, without retrying it, while the rest of the
//! batch lands. Events whose writes failed in a way that may clear (etcd down, a timeout)
//! are retried with backoff, alongside the events that arrive meanwhile; while etcd is down
//! the queue fills and callbacks get 503 (and a resync is scheduled). A shutdown stops
//! taking events and writes what was accepted, for up to the drain timeout; what it cannot
//! write is logged and counted (`outcome="dropped"`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use registry::{AppId, Guard, Health, Outcome, Scope, Snapshot, Stamp, Write, WriteOp};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::agents::AgentResolver;
use crate::catalog::{Catalog, Lookup};
use crate::events::{Event, HealthUpdate, StatusUpdate};
use crate::marathon::ids;
use crate::reconcile::Resync;
use crate::records::{self, TaskFacts};
use crate::telemetry;
use crate::writes::{WriteError, Writer};

/// Events taken from the queue at once.
pub const MAX_BATCH: usize = 4096;
/// Health writes retried this often on a revision conflict before giving up (the next
/// reconcile fixes what is left).
const MAX_ATTEMPTS: u8 = 5;
/// Remembered health verdicts at most.
const MAX_MEMO: usize = 131_072;
/// First delay before events are retried after a failure that may clear.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest delay between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Default of `--drain-timeout`: how long a shutdown keeps writing accepted events.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A decoded event waiting for the handler.
#[derive(Clone, Debug)]
pub struct Queued {
    /// The type's metrics label.
    pub label: &'static str,
    /// The event.
    pub event: Event,
    attempt: u8,
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
}

/// The producer side of the queue. Cheap to clone.
#[derive(Clone)]
pub struct IngestQueue {
    tx: mpsc::Sender<Queued>,
    progress: Arc<Progress>,
}

/// Counters that tell when everything accepted so far has been handled.
#[derive(Default)]
struct Progress {
    /// Events accepted into the queue, ever.
    accepted: AtomicU64,
    /// Events handled (written, refused, given up), ever.
    handled: AtomicU64,
}

/// The consumer side of the queue, for [`Handler::run`].
pub struct QueueReceiver {
    rx: mpsc::Receiver<Queued>,
    progress: Arc<Progress>,
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
    /// A queue of `capacity` events and its receiving end (for [`Handler::run`]).
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

/// The last health verdict seen per instance, so that a verdict that arrives before its
/// task's record (or a repeated `TASK_RUNNING`) is not lost.
#[derive(Default)]
struct HealthMemo {
    by_instance: HashMap<String, (Health, Stamp)>,
}

impl HealthMemo {
    fn get(&self, key: &str) -> Option<&(Health, Stamp)> {
        self.by_instance.get(key)
    }

    fn set(&mut self, key: &str, health: Health, at: &Stamp) {
        if self.by_instance.len() >= MAX_MEMO {
            self.by_instance.clear();
        }
        match self.by_instance.get_mut(key) {
            Some(entry) if &entry.1 > at => {}
            Some(entry) => *entry = (health, at.clone()),
            None => {
                self.by_instance
                    .insert(key.to_string(), (health, at.clone()));
            }
        }
    }

    fn remove(&mut self, key: &str) {
        self.by_instance.remove(key);
    }

    /// Forgets a verdict older than `at` (a 1.8+ replacement task reuses its instance id,
    /// and must not inherit the health of the task it replaces).
    fn remove_older(&mut self, key: &str, at: &Stamp) {
        if self
            .by_instance
            .get(key)
            .is_some_and(|(_, seen)| seen <= at)
        {
            self.by_instance.remove(key);
        }
    }
}

/// What became of one event, before its writes are applied.
enum Disposition {
    /// Decided without writing (`ignored`, `not_an_app`, `pending`, `unchanged`, `stale`).
    Done(&'static str),
    /// Depends on the outcome of these operations.
    Writes(Vec<usize>),
    /// Must be handled again in the next batch (etcd read failed, revision conflict).
    Retry,
}

/// One batch's planned writes.
#[derive(Default)]
struct Plan {
    ops: Vec<WriteOp>,
    /// The last task write of each task in this batch: (app, task id) -> op index.
    pending_tasks: HashMap<(AppId, String), usize>,
    /// Task listings read from etcd during this batch.
    listings: HashMap<AppId, Snapshot>,
    /// Apps whose definition Marathon could not give in this batch.
    unavailable: HashSet<AppId>,
}

impl Plan {
    fn push(&mut self, op: WriteOp) -> usize {
        let index = self.ops.len();
        if let Some(key) = task_key(&op.write) {
            self.pending_tasks.insert(key, index);
        }
        self.ops.push(op);
        index
    }
}

fn task_key(write: &Write) -> Option<(AppId, String)> {
    match write {
        Write::PutTask(t) => Some((t.app_id.clone(), t.task_id.clone())),
        Write::RemoveTask {
            app_id, task_id, ..
        } => Some((app_id.clone(), task_id.clone())),
        _ => None,
    }
}

/// The facts a status event gives about its task.
fn facts_of(s: &StatusUpdate, health: Health) -> TaskFacts {
    TaskFacts {
        app_id: s.app_id.clone(),
        task_id: s.task_id.clone(),
        state: s.state.clone(),
        host: s.host.clone(),
        agent_id: s.agent_id.clone(),
        task_ips: s.task_ips.clone(),
        host_ports: s.host_ports.clone(),
        version: s.version.clone(),
        health,
    }
}

/// The record an event writes, as far as the event alone tells: the app definition and the
/// agent's addresses only add to a task record. Lets the callback path refuse an event
/// whose record is too large before accepting it ([`Writer::admit`]).
pub fn provisional_write(event: &Event) -> Option<Write> {
    match event {
        Event::Status(s) if records::is_stored(&s.state) => Some(Write::PutTask(
            records::task_record(facts_of(s, Health::Unknown), None, Vec::new(), s.at.clone()),
        )),
        Event::AppChanged { definition, at } => {
            let mut record = definition.record.clone();
            record.updated_at = at.clone();
            Some(Write::PutApp(record))
        }
        _ => None,
    }
}

/// The event handler (one per process).
pub struct Handler {
    writer: Writer,
    catalog: Catalog,
    agents: AgentResolver,
    resync: Resync,
    memo: HealthMemo,
    /// The app version last written per app (to write each app record once per version).
    written_apps: HashMap<AppId, String>,
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
        Handler {
            writer,
            catalog,
            agents,
            resync,
            memo: HealthMemo::default(),
            written_apps: HashMap::new(),
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
        let timer = tokio::spawn({
            let (shutdown, expired, limit) =
                (shutdown.clone(), expired.clone(), self.drain_timeout);
            async move {
                shutdown.cancelled().await;
                tokio::time::sleep(limit).await;
                expired.cancel();
            }
        });
        let mut buf = Vec::with_capacity(MAX_BATCH);
        // Events to handle again (etcd failed in a way that may clear), not before `retry_at`.
        let mut retry: Vec<Queued> = Vec::new();
        let mut retry_at = tokio::time::Instant::now();
        let mut backoff = MIN_BACKOFF;
        // The types of the events of a batch the drain timeout cut short.
        let mut dropped: Vec<&'static str> = Vec::new();
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
                    dropped = labels;
                    break;
                }
            };
            progress
                .handled
                .fetch_add((taken - again.len()) as u64, Ordering::SeqCst);
            if again.is_empty() {
                if retrying {
                    backoff = MIN_BACKOFF;
                }
                continue;
            }
            if retrying {
                // Retries that failed again: wait longer.
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            if retry.is_empty() {
                retry_at = tokio::time::Instant::now() + backoff;
            }
            retry.extend(again);
        }
        // Shutting down: write what was accepted, until the drain timeout.
        rx.close();
        let mut pending = retry;
        pending.append(&mut buf);
        while let Ok(q) = rx.try_recv() {
            pending.push(q);
        }
        if !pending.is_empty() && !expired.is_cancelled() {
            tracing::info!(
                events = pending.len(),
                "writing the accepted events before exit"
            );
        }
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
            progress
                .handled
                .fetch_add((taken - again.len()) as u64, Ordering::SeqCst);
            if !again.is_empty() {
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = expired.cancelled() => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            again.append(&mut pending);
            pending = again;
        }
        timer.abort();
        dropped.extend(pending.iter().map(|q| q.label));
        if !dropped.is_empty() {
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
    }

    /// Handles one batch; returns the events to handle again (a write failed in a way that
    /// may clear, etcd could not be read, a health write conflicted).
    async fn handle_batch(&mut self, batch: Vec<Queued>) -> Vec<Queued> {
        self.warm_caches(&batch).await;
        let mut plan = Plan::default();
        let mut dispositions = Vec::with_capacity(batch.len());
        for q in &batch {
            let d = match &q.event {
                Event::Status(s) => self.plan_status(s, &mut plan).await,
                Event::Health(h) => self.plan_health(h, &mut plan).await,
                Event::AppTerminated { app_id, at } => {
                    self.plan_terminated(app_id, at, &mut plan).await
                }
                Event::AppChanged { definition, at } => {
                    let def = Arc::new((**definition).clone());
                    self.catalog.observe(def.clone()).await;
                    let mut record = def.record.clone();
                    record.updated_at = at.clone();
                    self.written_apps
                        .insert(record.app_id.clone(), record.version.clone());
                    Disposition::Writes(vec![plan.push(WriteOp::newer(Write::PutApp(record)))])
                }
                Event::Ignored => Disposition::Done("ignored"),
            };
            dispositions.push(d);
        }
        let app_writes: Vec<(usize, AppId)> = plan
            .ops
            .iter()
            .enumerate()
            .filter_map(|(i, op)| match &op.write {
                Write::PutApp(app) => Some((i, app.app_id.clone())),
                _ => None,
            })
            .collect();
        let results = self.writer.apply(plan.ops).await;
        for (i, app) in app_writes {
            if let Some(Err(WriteError::Unavailable(_))) = results.get(i) {
                // Not written (yet): the next event of the app, or its retry, writes it.
                self.written_apps.remove(&app);
            }
        }
        let mut retry = Vec::new();
        for (q, d) in batch.into_iter().zip(dispositions) {
            let outcome = match d {
                Disposition::Done(o) => o,
                Disposition::Retry => {
                    retry.push(Queued {
                        attempt: q.attempt.saturating_add(1),
                        ..q
                    });
                    continue;
                }
                Disposition::Writes(ops) => {
                    let mut got = Vec::with_capacity(ops.len());
                    let (mut refused, mut unavailable) = (false, false);
                    for result in ops.iter().filter_map(|&i| results.get(i)) {
                        match result {
                            Ok(outcome) => got.push(*outcome),
                            Err(WriteError::Unavailable(_)) => unavailable = true,
                            // Logged and counted by the writer; the other writes went on.
                            Err(_) => refused = true,
                        }
                    }
                    if unavailable {
                        retry.push(Queued {
                            attempt: q.attempt.saturating_add(1),
                            ..q
                        });
                        continue;
                    }
                    if refused {
                        "refused"
                    } else if got.contains(&Outcome::Written) {
                        "written"
                    } else if got.contains(&Outcome::Conflict) {
                        if matches!(q.event, Event::Health(_)) && q.attempt < MAX_ATTEMPTS {
                            retry.push(Queued {
                                attempt: q.attempt + 1,
                                ..q
                            });
                            continue;
                        }
                        "conflict"
                    } else if got.contains(&Outcome::Stale) {
                        "stale"
                    } else {
                        "unchanged"
                    }
                }
            };
            telemetry::event(q.label, outcome);
        }
        retry
    }

    /// Fetches missing app definitions and agent addresses for the whole batch at once.
    async fn warm_caches(&self, batch: &[Queued]) {
        let mut defs = Vec::new();
        let mut hosts = Vec::new();
        for q in batch {
            if let Event::Status(s) = &q.event
                && records::is_stored(&s.state)
            {
                defs.push((s.app_id.clone(), s.version.clone()));
                hosts.push(s.host.as_str());
            }
        }
        if defs.is_empty() {
            return;
        }
        tokio::join!(self.catalog.prefetch(defs), self.agents.prefetch(hosts));
    }

    async fn plan_status(&mut self, s: &StatusUpdate, plan: &mut Plan) -> Disposition {
        let key = ids::instance_key(&s.task_id);
        if s.state.is_terminal() {
            if let Some(k) = &key {
                self.memo.remove_older(k, &s.at);
            }
            let op = WriteOp::newer(Write::RemoveTask {
                app_id: s.app_id.clone(),
                task_id: s.task_id.clone(),
                reason: s.state.as_str().to_string(),
                at: s.at.clone(),
            });
            return Disposition::Writes(vec![plan.push(op)]);
        }
        if !records::is_stored(&s.state) {
            return Disposition::Done("ignored");
        }
        let lookup = if plan.unavailable.contains(&s.app_id) {
            Lookup::Unavailable("Marathon did not answer earlier in this batch".into())
        } else {
            self.catalog.lookup(&s.app_id, s.version.as_deref()).await
        };
        let def = match lookup {
            Lookup::NotAnApp => return Disposition::Done("not_an_app"),
            Lookup::Found(def) => Some(def),
            Lookup::Unusable(reason) => {
                tracing::debug!(app = %s.app_id, %reason, "unusable app definition; ports stay unnamed");
                None
            }
            Lookup::Unavailable(reason) => {
                if plan.unavailable.insert(s.app_id.clone()) {
                    tracing::warn!(app = %s.app_id, %reason, "no app definition; writing the task without port names, a resync will complete it");
                    self.resync.request("an app definition was unavailable");
                }
                None
            }
        };
        let (health, updated_at) = match key.as_deref().and_then(|k| self.memo.get(k)) {
            Some((health, at)) => (*health, at.clone().max(s.at.clone())),
            None => (Health::Unknown, s.at.clone()),
        };
        let agent_ips = self.agents.resolve(&s.host).await;
        let record = records::task_record(
            facts_of(s, health),
            def.as_ref().map(|d| &d.record),
            agent_ips,
            updated_at,
        );
        let mut ops = Vec::with_capacity(2);
        if def.is_some()
            && let Some(current) = self.catalog.cached_current(&s.app_id).await
            && self.written_apps.get(&s.app_id) != Some(&current.record.version)
        {
            self.written_apps
                .insert(s.app_id.clone(), current.record.version.clone());
            ops.push(plan.push(WriteOp::newer(Write::PutApp(current.record.clone()))));
        }
        ops.insert(0, plan.push(WriteOp::newer(Write::PutTask(record))));
        Disposition::Writes(ops)
    }

    /// The app's stored tasks, read once per batch.
    async fn listing<'p>(&self, app: &AppId, plan: &'p mut Plan) -> Option<&'p Snapshot> {
        if !plan.listings.contains_key(app) {
            match self.writer.registry().list(&Scope::App(app.clone())).await {
                Ok(s) => {
                    plan.listings.insert(app.clone(), s);
                }
                Err(e) => {
                    tracing::warn!(app = %app, error = %e, "cannot read the app's tasks from etcd; retrying");
                    return None;
                }
            }
        }
        plan.listings.get(app)
    }

    async fn plan_health(&mut self, h: &HealthUpdate, plan: &mut Plan) -> Disposition {
        self.memo.set(&h.instance_key, h.health, &h.at);
        // A write for the task earlier in this batch: amend it in place.
        let in_batch: Vec<usize> = plan
            .pending_tasks
            .iter()
            .filter(|((app, task), _)| {
                app == &h.app_id && ids::instance_key(task).as_deref() == Some(&h.instance_key)
            })
            .map(|(_, &i)| i)
            .collect();
        if !in_batch.is_empty() {
            for &i in &in_batch {
                if let Write::PutTask(record) = &mut plan.ops[i].write
                    && h.at >= record.updated_at
                {
                    record.health = h.health;
                    record.updated_at = h.at.clone();
                }
            }
            return Disposition::Writes(in_batch);
        }
        let mut apps = vec![h.app_id.clone()];
        if let Some(other) = ids::app_of(&h.target).filter(|a| a != &h.app_id) {
            apps.push(other);
        }
        let mut matches = Vec::new();
        for app in &apps {
            let Some(listing) = self.listing(app, plan).await else {
                return Disposition::Retry;
            };
            matches.extend(
                listing
                    .tasks
                    .iter()
                    .filter(|t| {
                        ids::instance_key(&t.record.task_id).as_deref() == Some(&h.instance_key)
                    })
                    .cloned(),
            );
            if !matches.is_empty() {
                break;
            }
        }
        if matches.is_empty() {
            // The task's record is not there (yet): the memo applies it when it appears.
            return Disposition::Done("pending");
        }
        let mut ops = Vec::new();
        let mut outcome = "unchanged";
        for stored in matches {
            if h.at < stored.record.updated_at {
                outcome = "stale";
                continue;
            }
            if stored.record.health == h.health {
                continue;
            }
            let mut record = stored.record;
            record.health = h.health;
            record.updated_at = h.at.clone();
            ops.push(plan.push(WriteOp {
                write: Write::PutTask(record),
                guard: Guard::Revision(stored.mod_revision),
            }));
        }
        if ops.is_empty() {
            Disposition::Done(outcome)
        } else {
            Disposition::Writes(ops)
        }
    }

    async fn plan_terminated(&mut self, app: &AppId, at: &Stamp, plan: &mut Plan) -> Disposition {
        self.catalog.forget(app).await;
        self.written_apps.remove(app);
        let stored: Vec<String> = match self.listing(app, plan).await {
            Some(listing) => listing
                .tasks
                .iter()
                .map(|t| t.record.task_id.clone())
                .collect(),
            None => return Disposition::Retry,
        };
        let mut tasks: Vec<String> = plan
            .pending_tasks
            .keys()
            .filter(|(a, _)| a == app)
            .map(|(_, t)| t.clone())
            .chain(stored)
            .collect();
        tasks.sort();
        tasks.dedup();
        let mut ops = Vec::with_capacity(tasks.len() + 1);
        for task_id in tasks {
            if let Some(k) = ids::instance_key(&task_id) {
                self.memo.remove(&k);
            }
            ops.push(plan.push(WriteOp::newer(Write::RemoveTask {
                app_id: app.clone(),
                task_id,
                reason: "app_terminated_event".into(),
                at: at.clone(),
            })));
        }
        ops.push(plan.push(WriteOp::newer(Write::RemoveApp {
            app_id: app.clone(),
            reason: "app_terminated_event".into(),
            at: at.clone(),
        })));
        plan.listings.remove(app);
        Disposition::Writes(ops)
    }
}
