//! Record builders shared by the registry's integration tests.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::time::Duration;

use herald_registry::harness::records;
use herald_registry::{AppRecord, Stamp, TaskRecord, TaskState, Watch, WatchEvent};

pub fn stamp(secs: u32) -> Stamp {
    Stamp::parse(&format!(
        "2026-01-01T00:{:02}:{:02}.000Z",
        secs / 60,
        secs % 60
    ))
    .unwrap()
}

/// A task of `app` on agent `agent-S1` at 127.0.0.11, in `state`, stamped `at` seconds.
pub fn task(app: &str, id: &str, state: TaskState, at: u32) -> TaskRecord {
    records::task(app, id, "127.0.0.11")
        .agent_id("agent-S1")
        .state(state)
        .at(stamp(at))
        .build()
}

/// An app with host networking, versioned and stamped `at` seconds.
pub fn app(id: &str, at: u32) -> AppRecord {
    records::app(id)
        .version(&stamp(at).to_string())
        .at(stamp(at))
        .build()
}

/// The next watch event, or a panic after 20 s.
pub async fn next(watch: &mut Watch) -> WatchEvent {
    tokio::time::timeout(Duration::from_secs(20), watch.next())
        .await
        .expect("no watch event within 20 s")
        .expect("watch ended")
}
