//! What `/healthz` reports about each watched service.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

/// The state of one service's watch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ServiceStatus {
    /// True while the etcd watch delivers events.
    pub connected: bool,
    /// The last etcd revision seen.
    pub revision: i64,
    /// The revision the last handler run saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fired_revision: Option<i64>,
    /// The last handler failure or watch error, if the latest one failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A shared, cheap-to-clone board of [`ServiceStatus`] by service name.
#[derive(Clone, Debug, Default)]
pub struct WatchStatus(Arc<Mutex<BTreeMap<String, ServiceStatus>>>);

impl WatchStatus {
    fn board(&self) -> MutexGuard<'_, BTreeMap<String, ServiceStatus>> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of every service's status.
    pub fn snapshot(&self) -> BTreeMap<String, ServiceStatus> {
        self.board().clone()
    }

    /// True when every service's watch is connected (and at least one exists).
    pub fn all_connected(&self) -> bool {
        let board = self.board();
        !board.is_empty() && board.values().all(|s| s.connected)
    }

    pub(crate) fn connected(&self, service: &str, revision: i64) {
        let mut board = self.board();
        let entry = board.entry(service.to_string()).or_default();
        entry.connected = true;
        entry.revision = entry.revision.max(revision);
    }

    pub(crate) fn disconnected(&self, service: &str, error: String) {
        let mut board = self.board();
        let entry = board.entry(service.to_string()).or_default();
        entry.connected = false;
        entry.last_error = Some(error);
    }

    pub(crate) fn fired(&self, service: &str, revision: i64, failure: Option<String>) {
        let mut board = self.board();
        let entry = board.entry(service.to_string()).or_default();
        entry.fired_revision = Some(revision);
        entry.last_error = failure;
    }
}
