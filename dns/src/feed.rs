//! The watch loop that feeds the index and publishes snapshots, and the staleness it
//! reports. The only part of herald-dns that talks to etcd. Two watches feed one index:
//! the Marathon records and the Mesos source's; the zone is published once both are
//! loaded, and it is as fresh as the staler of the two. With the status page on, every
//! event also goes to the page's [`Intake`] (before and after the index applies it), and
//! a third watch follows the subscriber's status record for the page alone.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use registry::{
    EtcdArgs, MesosScope, MesosWatchEvent, Registry, Scope, StatusEvent, Watch, WatchEvent,
    WatchOptions,
};
use service::{Health, HealthStatus};

use crate::allocator;
use crate::handler::SharedZone;
use crate::index::{UpdateStats, ZoneIndex};
use crate::metrics as m;
use crate::status::intake::Intake;

/// What the feed knows about its own freshness.
#[derive(Debug, Default)]
pub struct FeedStatus {
    inner: Mutex<StatusInner>,
}

#[derive(Debug, Default)]
struct StatusInner {
    loaded: bool,
    connected: bool,
    revision: i64,
    last_confirmed: Option<Instant>,
    last_error: Option<String>,
    sources: [SourceFeed; 2],
}

/// One watch's state.
#[derive(Clone, Copy, Debug, Default)]
struct SourceFeed {
    loaded: bool,
    connected: bool,
    last_confirmed: Option<Instant>,
}

/// The two watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Marathon = 0,
    Mesos = 1,
}

impl StatusInner {
    /// The zone's state from its sources': loaded and connected when both are, as fresh
    /// as the staler one.
    fn combine(&mut self) {
        let [a, b] = self.sources;
        self.loaded = a.loaded && b.loaded;
        self.connected = a.connected && b.connected;
        self.last_confirmed = a
            .last_confirmed
            .zip(b.last_confirmed)
            .map(|(a, b)| a.min(b));
    }
}

impl FeedStatus {
    fn update(&self, f: impl FnOnce(&mut StatusInner)) {
        if let Ok(mut inner) = self.inner.lock() {
            f(&mut inner);
        }
    }

    fn source(&self, source: Source, f: impl FnOnce(&mut SourceFeed)) {
        self.update(|s| {
            f(&mut s.sources[source as usize]);
            s.combine();
        });
    }

    fn confirmed(&self, source: Source, revision: i64) {
        self.update(|s| {
            s.revision = s.revision.max(revision);
            s.last_error = None;
            let feed = &mut s.sources[source as usize];
            feed.connected = true;
            feed.last_confirmed = Some(Instant::now());
            s.combine();
        });
    }

    /// True once the first full load is published.
    pub fn loaded(&self) -> bool {
        self.inner.lock().map(|s| s.loaded).unwrap_or(false)
    }

    /// How long since etcd last confirmed the index is current (`None` before the first
    /// load).
    pub fn staleness(&self) -> Option<Duration> {
        let inner = self.inner.lock().ok()?;
        inner.last_confirmed.map(|t| t.elapsed())
    }

    /// The `/healthz` verdict: down until loaded, degraded while etcd is unreachable.
    pub fn health(&self) -> Health {
        let Ok(inner) = self.inner.lock() else {
            return Health {
                status: HealthStatus::Down,
                checks: serde_json::json!({"error": "status lock poisoned"}),
            };
        };
        let staleness = inner.last_confirmed.map(|t| t.elapsed().as_secs_f64());
        let status = match (inner.loaded, inner.connected) {
            (false, _) => HealthStatus::Down,
            (true, false) => HealthStatus::Degraded,
            (true, true) => HealthStatus::Ok,
        };
        Health {
            status,
            checks: serde_json::json!({
                "index_loaded": inner.loaded,
                "registry_connected": inner.connected,
                "revision": inner.revision,
                "staleness_seconds": staleness,
                "last_error": inner.last_error,
            }),
        }
    }
}

/// Longest wait between two attempts to connect.
const MAX_CONNECT_BACKOFF: Duration = Duration::from_secs(10);

/// True when `error` says etcd could not be reached (it may answer later), rather than
/// that the settings cannot work.
pub fn unreachable(error: &registry::Error) -> bool {
    match error {
        registry::Error::Etcd(e) => registry::is_transport_failure(e),
        registry::Error::Timeout(_) => true,
        _ => false,
    }
}

/// Connects with `args`, trying again while etcd is [`unreachable()`] (with a growing
/// pause; the error is recorded in the status). etcd-client connects lazily, so this
/// waits only when password auth is on, which needs etcd to answer first. Fails on
/// settings that cannot work and on etcd refusing the credentials.
pub async fn connect(args: &EtcdArgs, status: &FeedStatus) -> registry::Result<Registry> {
    let mut pause = Duration::from_millis(500);
    loop {
        match args.connect().await {
            Ok(registry) => return Ok(registry),
            Err(error) if unreachable(&error) => {
                tracing::warn!(%error, retry_in = ?pause, "cannot connect to etcd");
                status.update(|s| s.last_error = Some(error.to_string()));
            }
            Err(error) => return Err(error),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_CONNECT_BACKOFF);
    }
}

/// Runs the feed until a watch ends: full loads, then incremental updates, each
/// published atomically to `zone` (which stays empty until both sources are loaded) and,
/// when given, handed to the status page's `page`.
pub async fn run(
    registry: Registry,
    mut index: ZoneIndex,
    zone: SharedZone,
    status: Arc<FeedStatus>,
    mut page: Option<Intake>,
) {
    let mut marathon = registry.watch(Scope::All, WatchOptions::default());
    let mut mesos = match registry.watch_mesos(MesosScope::All, WatchOptions::default()) {
        Ok(watch) => watch,
        Err(error) => {
            tracing::error!(%error, "cannot watch the Mesos records");
            return;
        }
    };
    // Only the page shows the subscriber's status: no page, no watch.
    let mut subscriber = page
        .is_some()
        .then(|| registry.watch_subscriber_status(WatchOptions::default()));
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            event = marathon.next() => {
                let Some(event) = event else { break };
                on_marathon(event, &mut index, &zone, &status, page.as_mut());
            }
            event = mesos.next() => {
                let Some(event) = event else { break };
                on_mesos(event, &mut index, &zone, &status, page.as_mut());
            }
            event = next_status(&mut subscriber) => match (event, page.as_mut()) {
                (Some(event), Some(page)) => page.subscriber(event),
                (Some(_), None) => {}
                (None, _) => subscriber = None,
            },
            _ = ticker.tick() => {}
        }
        let (connected, staleness) = match status.inner.lock() {
            Ok(s) => (s.connected, s.last_confirmed.map(|t| t.elapsed())),
            Err(_) => (false, None),
        };
        metrics::gauge!(m::CONNECTED).set(if connected { 1.0 } else { 0.0 });
        if let Some(staleness) = staleness {
            metrics::gauge!(m::STALENESS).set(staleness.as_secs_f64());
        }
    }
}

/// The next event of the subscriber status watch; never, without one.
async fn next_status(watch: &mut Option<Watch<StatusEvent>>) -> Option<StatusEvent> {
    match watch {
        Some(watch) => watch.next().await,
        None => std::future::pending().await,
    }
}

/// One event of the Marathon watch.
fn on_marathon(
    event: WatchEvent,
    index: &mut ZoneIndex,
    zone: &SharedZone,
    status: &FeedStatus,
    mut page: Option<&mut Intake>,
) {
    if let Some(page) = page.as_deref_mut() {
        page.before_marathon(&event);
    }
    match event {
        WatchEvent::Resynced(snapshot) => {
            for (key, reason) in &snapshot.invalid {
                tracing::warn!(%key, %reason, "skipping a record that does not decode");
            }
            let revision = snapshot.revision;
            let tasks = snapshot.tasks.into_iter().map(|v| v.record);
            let apps = snapshot.apps.into_iter().map(|v| v.record);
            let stats = index.load(revision, tasks, apps);
            // The records just freed: their pages back to the system.
            allocator::release_free_pages();
            status.source(Source::Marathon, |s| s.loaded = true);
            status.confirmed(Source::Marathon, revision);
            publish(index, zone, status, &stats);
            if let Some(page) = page {
                page.after(index, &stats, revision);
            }
            tracing::info!(
                revision,
                families = stats.families,
                "Marathon records loaded"
            );
        }
        WatchEvent::Changes { revision, changes } => {
            let received = Instant::now();
            metrics::counter!(m::CHANGES).increment(changes.len() as u64);
            let stats = index.apply(revision, changes);
            status.confirmed(Source::Marathon, revision);
            publish(index, zone, status, &stats);
            metrics::histogram!(m::UPDATE_SECONDS).record(received.elapsed().as_secs_f64());
            if let Some(page) = page {
                page.after(index, &stats, revision);
            }
        }
        WatchEvent::Live { revision } => status.confirmed(Source::Marathon, revision),
        WatchEvent::Disconnected { error } => disconnected(Source::Marathon, error, status),
    }
}

/// One event of the Mesos watch.
fn on_mesos(
    event: MesosWatchEvent,
    index: &mut ZoneIndex,
    zone: &SharedZone,
    status: &FeedStatus,
    mut page: Option<&mut Intake>,
) {
    if let Some(page) = page.as_deref_mut() {
        page.before_mesos(&event);
    }
    match event {
        MesosWatchEvent::Resynced(snapshot) => {
            for (key, reason) in &snapshot.invalid {
                tracing::warn!(%key, %reason, "skipping a Mesos record that does not decode");
            }
            let revision = snapshot.revision;
            let stats = index.load_mesos(snapshot);
            allocator::release_free_pages();
            status.source(Source::Mesos, |s| s.loaded = true);
            status.confirmed(Source::Mesos, revision);
            publish(index, zone, status, &stats);
            if let Some(page) = page {
                page.after(index, &stats, revision);
            }
            tracing::info!(revision, families = stats.families, "Mesos records loaded");
        }
        MesosWatchEvent::Changes { revision, changes } => {
            let received = Instant::now();
            metrics::counter!(m::CHANGES).increment(changes.len() as u64);
            let stats = index.apply_mesos(revision, changes);
            status.confirmed(Source::Mesos, revision);
            publish(index, zone, status, &stats);
            metrics::histogram!(m::UPDATE_SECONDS).record(received.elapsed().as_secs_f64());
            if let Some(page) = page {
                page.after(index, &stats, revision);
            }
        }
        MesosWatchEvent::Live { revision } => status.confirmed(Source::Mesos, revision),
        MesosWatchEvent::Disconnected { error } => disconnected(Source::Mesos, error, status),
    }
}

fn disconnected(source: Source, error: String, status: &FeedStatus) {
    if status.loaded() {
        tracing::warn!(?source, %error, "registry unreachable; answering from the last index");
    } else {
        tracing::warn!(?source, %error, "registry unreachable; the zone gets SERVFAIL until the first load");
    }
    status.source(source, |s| s.connected = false);
    status.update(|s| s.last_error = Some(error));
}

/// Publishes the index, once both sources are loaded.
fn publish(index: &ZoneIndex, zone: &SharedZone, status: &FeedStatus, stats: &UpdateStats) {
    for (name, raw) in &stats.new_collisions {
        tracing::warn!(%name, ?raw, "several names map to one DNS name; their tasks are merged");
        metrics::counter!(m::LABEL_COLLISIONS_TOTAL).increment(1);
    }
    if !status.loaded() {
        return;
    }
    let snapshot = index.snapshot();
    metrics::gauge!(m::INDEX_NAMES).set((snapshot.names.len() + snapshot.shared_names) as f64);
    metrics::gauge!(m::INDEX_TASKS).set(index.tasks() as f64);
    metrics::gauge!(m::LABEL_COLLISIONS).set(index.collisions() as f64);
    zone.store(Some(snapshot));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unreachable_etcd_is_worth_waiting_for() {
        let timeout = registry::Error::Timeout(Duration::from_secs(5));
        assert!(unreachable(&timeout));
        let settings = registry::Error::Config("no etcd endpoints".into());
        assert!(!unreachable(&settings));
        assert!(!unreachable(&registry::Error::InvalidPrefix("x".into())));
    }

    #[test]
    fn health_is_down_until_the_first_load() {
        let status = FeedStatus::default();
        status.update(|s| s.last_error = Some("connection refused".into()));
        let health = status.health();
        assert_eq!(health.status, HealthStatus::Down);
        assert_eq!(health.checks["last_error"], "connection refused");
        status.source(Source::Marathon, |s| s.loaded = true);
        status.confirmed(Source::Marathon, 3);
        assert_eq!(
            status.health().status,
            HealthStatus::Down,
            "Mesos not loaded yet"
        );
        status.source(Source::Mesos, |s| s.loaded = true);
        status.confirmed(Source::Mesos, 4);
        assert_eq!(status.health().status, HealthStatus::Ok);
        status.source(Source::Mesos, |s| s.connected = false);
        assert_eq!(status.health().status, HealthStatus::Degraded);
    }
}
