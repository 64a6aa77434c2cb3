//! Shared helpers of the examples' tests: where the binaries are, and task records.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::path::PathBuf;

use registry::harness::records;
pub use registry::harness::records::port;
pub use registry::harness::{WAIT, bin, bin_dir, eventually};
use registry::{AppRecord, Health, NetworkMode, TaskPort, TaskRecord};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// PATH with the workspace binaries first.
pub fn path_with_bins() -> String {
    format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// A running, healthy task on agent `agent-S1` at `agent`.
pub fn task(app: &str, id: &str, agent: &str, ports: Vec<TaskPort>) -> TaskRecord {
    records::task(app, id, agent)
        .agent_id("agent-S1")
        .ports(ports)
        .health(Health::Healthy)
        .build()
}

/// An app with named TCP ports (name, container port).
pub fn app(id: &str, networking: NetworkMode, ports: &[(&str, Option<u16>)]) -> AppRecord {
    ports
        .iter()
        .fold(records::app(id), |app, (name, container)| {
            app.port(name, *container)
        })
        .networking(networking)
        .version("2026-01-01T00:00:00.000Z")
        .build()
}
