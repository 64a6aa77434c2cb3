//! A watch that never gives up: it resumes after errors from the last revision it
//! delivered, re-lists after compaction, and detects a hung server.
//!
//! etcd-client's watch stream dies with its connection and hangs with a frozen server;
//! this module is the loop around it that every consumer would otherwise write.

use std::future::Future;
use std::time::Duration;

use etcd_client::{EventType, WatchOptions as EtcdWatchOptions, WatchResponse};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, timeout};

use crate::codec::{self, Entry};
use crate::error::Result;
use crate::ids::AppId;
use crate::keys::{KeyKind, Scope};
use crate::schema::{AppRecord, TaskRecord};
use crate::store::{Registry, Snapshot};

/// One typed change.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// A task record was created or replaced.
    Task(TaskRecord),
    /// A task is gone (removed, expired or deleted).
    TaskRemoved {
        /// Its app.
        app_id: AppId,
        /// Its id.
        task_id: String,
    },
    /// An app record was created or replaced.
    App(AppRecord),
    /// An app record is gone.
    AppRemoved {
        /// The app.
        app_id: AppId,
    },
}

/// What a [`Watch`] delivers.
#[derive(Clone, Debug, PartialEq)]
pub enum WatchEvent {
    /// Forget everything: this is the whole scope now. Sent first (unless the watch
    /// started at a revision) and after etcd compacted away revisions the watch needed.
    Resynced(Snapshot),
    /// Changes, in etcd order, up to and including `revision`.
    Changes {
        /// The revision of the last change.
        revision: i64,
        /// The changes.
        changes: Vec<Change>,
    },
    /// etcd confirmed that nothing else changed up to `revision` (the watch is live).
    Live {
        /// The confirmed revision.
        revision: i64,
    },
    /// The connection to etcd was lost; the watch retries with backoff and resumes where it
    /// stopped. Consumers keep what they have and may report themselves stale.
    Disconnected {
        /// Why.
        error: String,
    },
}

/// Tuning of a [`Watch`].
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// Start after this revision instead of with a full listing (`Resynced`).
    pub after_revision: Option<i64>,
    /// How often to ask etcd to confirm the watch is current (a `Live` event).
    pub progress_interval: Duration,
    /// A server that answers nothing for this long is treated as hung: reconnect.
    pub hung_after: Duration,
    /// First reconnect delay; doubles up to `max_backoff`.
    pub min_backoff: Duration,
    /// Longest reconnect delay.
    pub max_backoff: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            after_revision: None,
            progress_interval: Duration::from_secs(2),
            hung_after: Duration::from_secs(6),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// A running watch: of the Marathon records ([`WatchEvent`]s, the default) or of the Mesos
/// records (`crate::MesosWatchEvent`s). Dropping it stops the background task.
pub struct Watch<E = WatchEvent> {
    events: mpsc::Receiver<E>,
    task: tokio::task::JoinHandle<()>,
}

impl<E> Watch<E> {
    /// The next event; `None` only if the background task ended (it does not, unless the
    /// runtime shuts down).
    pub async fn next(&mut self) -> Option<E> {
        self.events.recv().await
    }
}

impl<E> Drop for Watch<E> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Registry {
    /// Watches a scope. See [`WatchEvent`] for what arrives.
    pub fn watch(&self, scope: Scope, options: WatchOptions) -> Watch {
        self.watch_source(MarathonSource(scope), options)
    }

    /// Watches what a [`Source`] names.
    pub(crate) fn watch_source<S: Source>(
        &self,
        source: S,
        options: WatchOptions,
    ) -> Watch<S::Event> {
        let (tx, events) = mpsc::channel(1024);
        let registry = self.clone();
        let task = tokio::spawn(async move { run(registry, source, options, tx).await });
        Watch { events, task }
    }
}

/// What a watch delivers, before it becomes a source's own event type.
pub(crate) enum Raw<S, C> {
    /// A full listing.
    Resynced(S),
    /// Changes up to `revision`.
    Changes { revision: i64, changes: Vec<C> },
    /// Confirmed current up to `revision`.
    Live { revision: i64 },
    /// The connection was lost.
    Disconnected { error: String },
}

/// A part of the registry a watch follows: its prefix, its listing, and how a watched key
/// becomes a typed change.
pub(crate) trait Source: Send + Sync + 'static {
    /// The listing sent as `Resynced`.
    type Snapshot: Send + 'static;
    /// One typed change.
    type Change: Send + 'static;
    /// The event the consumer receives.
    type Event: Send + 'static;
    /// The key prefix watched.
    fn prefix(&self, registry: &Registry) -> String;
    /// Lists the scope: the snapshot and its revision.
    fn list(
        &self,
        registry: &Registry,
    ) -> impl Future<Output = Result<(Self::Snapshot, i64)>> + Send;
    /// A watched put (`Some(value)`) or delete (`None`) of `key`; `None` to skip the key.
    fn change(&self, registry: &Registry, key: &str, value: Option<&[u8]>) -> Option<Self::Change>;
    /// The consumer's event.
    fn event(raw: Raw<Self::Snapshot, Self::Change>) -> Self::Event;
}

/// The Marathon records of a [`Scope`].
struct MarathonSource(Scope);

impl Source for MarathonSource {
    type Snapshot = Snapshot;
    type Change = Change;
    type Event = WatchEvent;

    fn prefix(&self, registry: &Registry) -> String {
        registry.layout().scope_prefix(&self.0)
    }

    async fn list(&self, registry: &Registry) -> Result<(Snapshot, i64)> {
        let snapshot = registry.list(&self.0).await?;
        let revision = snapshot.revision;
        Ok((snapshot, revision))
    }

    fn change(&self, registry: &Registry, key: &str, value: Option<&[u8]>) -> Option<Change> {
        let kind = registry.decode_key(key)?;
        Some(match (value, kind) {
            (None, KeyKind::Task(app_id, task_id)) => Change::TaskRemoved { app_id, task_id },
            (None, KeyKind::App(app_id)) => Change::AppRemoved { app_id },
            (Some(value), kind) => match (codec::decode(key, value), kind) {
                (Ok(Entry::Task(task)), _) => Change::Task(task),
                (Ok(Entry::App(app)), _) => Change::App(app),
                (Ok(Entry::Gone { .. }), KeyKind::Task(app_id, task_id)) => {
                    Change::TaskRemoved { app_id, task_id }
                }
                (Ok(Entry::Gone { .. }), KeyKind::App(app_id)) => Change::AppRemoved { app_id },
                (Err(e), _) => {
                    tracing::warn!(%key, error = %e, "skipping a watched record that does not decode");
                    return None;
                }
            },
        })
    }

    fn event(raw: Raw<Snapshot, Change>) -> WatchEvent {
        match raw {
            Raw::Resynced(s) => WatchEvent::Resynced(s),
            Raw::Changes { revision, changes } => WatchEvent::Changes { revision, changes },
            Raw::Live { revision } => WatchEvent::Live { revision },
            Raw::Disconnected { error } => WatchEvent::Disconnected { error },
        }
    }
}

/// Why one watch session ended.
enum End {
    /// The consumer went away.
    Closed,
    /// etcd compacted the revisions we need: re-list.
    Compacted,
    /// An error: reconnect and resume.
    Error(String),
}

async fn run<S: Source>(
    registry: Registry,
    source: S,
    options: WatchOptions,
    tx: mpsc::Sender<S::Event>,
) {
    let mut next_revision = options.after_revision.map(|r| r + 1);
    let mut backoff = options.min_backoff;
    loop {
        let start = match next_revision {
            Some(rev) => rev,
            None => match source.list(&registry).await {
                Ok((snapshot, rev)) => {
                    if tx.send(S::event(Raw::Resynced(snapshot))).await.is_err() {
                        return;
                    }
                    backoff = options.min_backoff;
                    rev + 1
                }
                Err(e) => {
                    if !disconnected::<S>(&tx, e.to_string()).await {
                        return;
                    }
                    sleep(jitter(backoff)).await;
                    backoff = (backoff * 2).min(options.max_backoff);
                    continue;
                }
            },
        };
        let mut delivered = start - 1;
        let pinned = registry.endpoints().pinned_client();
        let end = session(
            &registry,
            pinned.client.clone(),
            &source,
            &options,
            start,
            &mut delivered,
            &tx,
        )
        .await;
        let progressed = delivered >= start;
        match end {
            End::Closed => return,
            End::Compacted => {
                tracing::info!(revision = start, "watch revision compacted; re-listing");
                next_revision = None;
                continue;
            }
            End::Error(error) => {
                tracing::warn!(%error, resume_at = delivered + 1, "etcd watch lost; reconnecting");
                // Whatever failed (the member, the connection, a hang), try another member.
                registry.endpoints().failed(&pinned).await;
                next_revision = Some(delivered + 1);
                if !disconnected::<S>(&tx, error).await {
                    return;
                }
            }
        }
        if progressed {
            backoff = options.min_backoff;
        }
        sleep(jitter(backoff)).await;
        backoff = (backoff * 2).min(options.max_backoff);
    }
}

async fn disconnected<S: Source>(tx: &mpsc::Sender<S::Event>, error: String) -> bool {
    tx.send(S::event(Raw::Disconnected { error })).await.is_ok()
}

fn jitter(d: Duration) -> Duration {
    d.mul_f64(0.75 + rand::random::<f64>() * 0.5)
}

/// One watch stream from `start`, until it fails. `delivered` tracks the last revision
/// handed to the consumer, so the caller can resume right after it.
async fn session<S: Source>(
    registry: &Registry,
    mut client: etcd_client::Client,
    source: &S,
    options: &WatchOptions,
    start: i64,
    delivered: &mut i64,
    tx: &mpsc::Sender<S::Event>,
) -> End {
    let prefix = source.prefix(registry);
    let etcd_options = EtcdWatchOptions::new()
        .with_prefix()
        .with_start_revision(start)
        .with_progress_notify();
    let mut stream = match timeout(registry.timeout(), client.watch(prefix, Some(etcd_options)))
        .await
    {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return End::Error(e.to_string()),
        Err(_) => return End::Error(format!("watch not created within {:?}", registry.timeout())),
    };
    let mut last_heard = Instant::now();
    let mut ticker = tokio::time::interval(options.progress_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = stream.message() => {
                last_heard = Instant::now();
                let response = match message {
                    Ok(Some(r)) => r,
                    Ok(None) => return End::Error("watch stream closed by etcd".into()),
                    Err(e) => return End::Error(e.to_string()),
                };
                if response.canceled() {
                    if response.compact_revision() > 0 {
                        return End::Compacted;
                    }
                    return End::Error(format!("watch canceled by etcd: {}", response.cancel_reason()));
                }
                if let Some(event) = translate(registry, source, &response, delivered)
                    && tx.send(event).await.is_err()
                {
                    return End::Closed;
                }
            }
            _ = ticker.tick() => {
                if last_heard.elapsed() > options.hung_after {
                    return End::Error(format!("etcd silent for {:?}; presumed hung", last_heard.elapsed()));
                }
                if let Err(e) = stream.request_progress().await {
                    return End::Error(e.to_string());
                }
            }
        }
    }
}

/// Turns one etcd watch response into a source's event, advancing `delivered`.
fn translate<S: Source>(
    registry: &Registry,
    source: &S,
    response: &WatchResponse,
    delivered: &mut i64,
) -> Option<S::Event> {
    let header_revision = response.header().map(|h| h.revision()).unwrap_or(0);
    if response.events().is_empty() {
        if response.created() {
            // The watch exists, but etcd may still be replaying history: not yet live.
            return None;
        }
        // A progress notification: etcd sends it only when the watch has caught up.
        *delivered = (*delivered).max(header_revision);
        return Some(S::event(Raw::Live {
            revision: *delivered,
        }));
    }
    let mut changes = Vec::with_capacity(response.events().len());
    for event in response.events() {
        let Some(kv) = event.kv() else { continue };
        // Use the event's own revision: a catching-up watch sees headers ahead of its events.
        *delivered = (*delivered).max(kv.mod_revision());
        let key = String::from_utf8_lossy(kv.key());
        let value = match event.event_type() {
            EventType::Delete => None,
            EventType::Put => Some(kv.value()),
        };
        if let Some(change) = source.change(registry, &key, value) {
            changes.push(change);
        }
    }
    Some(S::event(Raw::Changes {
        revision: *delivered,
        changes,
    }))
}
