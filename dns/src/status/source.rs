//! Keeps the page's [`Catalog`] current: the registry's own watches (the Marathon
//! records, the Mesos records, the subscriber status record) applied change by change,
//! each result published atomically and announced to the page's event streams.
//!
//! The DNS index keeps only what answers need (served tasks, no host names or labels), so
//! the page follows the registry itself, on its own connection; its DNS answers still come
//! from the index's published snapshot.

use std::sync::Arc;

use arc_swap::ArcSwap;
use registry::{
    EtcdArgs, MesosScope, MesosWatchEvent, Scope, StatusEvent, WatchEvent, WatchOptions,
};
use tokio::sync::watch;

use super::catalog::Catalog;
use crate::feed::{self, FeedStatus};

/// The published catalog and the signal of its changes.
#[derive(Clone)]
pub struct Published {
    /// The current catalog.
    pub catalog: Arc<ArcSwap<Catalog>>,
    /// Bumped after every publish (its value is the catalog's revision).
    pub changed: watch::Sender<i64>,
}

impl Default for Published {
    fn default() -> Self {
        Published {
            catalog: Arc::new(ArcSwap::from_pointee(Catalog::default())),
            changed: watch::Sender::new(0),
        }
    }
}

impl Published {
    fn publish(&self, catalog: &Catalog) {
        self.catalog.store(Arc::new(catalog.clone()));
        self.changed.send_replace(catalog.revision);
    }
}

/// Connects with `etcd` (retrying while etcd is unreachable) and follows the registry
/// until the runtime stops. Settings that cannot work are logged: the page then stays
/// empty, as the DNS feed fails the process for the same settings anyway.
pub async fn run(etcd: EtcdArgs, out: Published) {
    // The feed's own status reports the connection; this one only absorbs retries.
    let registry = match feed::connect(&etcd, &FeedStatus::default()).await {
        Ok(registry) => registry,
        Err(error) => {
            tracing::error!(%error, "status page: cannot connect to etcd");
            return;
        }
    };
    let options = WatchOptions::default;
    let mut records = registry.watch(Scope::All, options());
    let mut subscriber = registry.watch_subscriber_status(options());
    let mut mesos = match registry.watch_mesos(MesosScope::All, options()) {
        Ok(watch) => Some(watch),
        Err(error) => {
            tracing::error!(%error, "status page: cannot watch the Mesos records");
            None
        }
    };
    let mut catalog = Catalog::default();
    loop {
        let changed = tokio::select! {
            Some(event) = records.next() => apply_records(&mut catalog, event),
            Some(event) = subscriber.next() => match event {
                StatusEvent::Current { status, revision } => {
                    catalog.set_subscriber(revision, status);
                    true
                }
                StatusEvent::Live { .. } | StatusEvent::Disconnected { .. } => false,
            },
            Some(event) = next_mesos(&mut mesos) => match event {
                MesosWatchEvent::Resynced(snapshot) => {
                    catalog.load_mesos(snapshot);
                    true
                }
                MesosWatchEvent::Changes { revision, changes } => {
                    catalog.apply_mesos(revision, changes);
                    true
                }
                MesosWatchEvent::Live { .. } | MesosWatchEvent::Disconnected { .. } => false,
            },
            else => return,
        };
        if changed {
            out.publish(&catalog);
        }
    }
}

async fn next_mesos(
    watch: &mut Option<registry::Watch<MesosWatchEvent>>,
) -> Option<MesosWatchEvent> {
    match watch {
        Some(watch) => watch.next().await,
        None => std::future::pending().await,
    }
}

/// Applies one watch event; true when the catalog changed.
fn apply_records(catalog: &mut Catalog, event: WatchEvent) -> bool {
    match event {
        WatchEvent::Resynced(snapshot) => {
            catalog.load(snapshot);
            true
        }
        WatchEvent::Changes { revision, changes } => {
            catalog.apply(revision, changes);
            true
        }
        WatchEvent::Live { .. } | WatchEvent::Disconnected { .. } => false,
    }
}
