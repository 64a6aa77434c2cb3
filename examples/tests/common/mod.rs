//! Shared helpers of the examples' tests: where the binaries are, and task records.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use registry::{
    AppId, AppRecord, Health, NetworkMode, PortDefinition, Protocol, Stamp, TaskPort, TaskRecord,
    TaskState,
};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The directory of the workspace's binaries (`target/debug`), from this test's own path.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .to_path_buf()
}

/// A workspace binary; `cargo test --workspace` (or `cargo build --bins`) builds them all.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}

/// PATH with the workspace binaries first.
pub fn path_with_bins() -> String {
    format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

pub fn port(name: &str, container: Option<u16>, host: u16) -> TaskPort {
    TaskPort {
        name: Some(name.into()),
        protocols: vec![Protocol::Tcp],
        container_port: container,
        host_port: Some(host),
        service_port: None,
    }
}

pub fn task(app: &str, id: &str, agent: &str, ports: Vec<TaskPort>) -> TaskRecord {
    TaskRecord {
        app_id: AppId::parse(app).unwrap(),
        task_id: id.into(),
        instance_id: None,
        agent_id: Some("agent-S1".into()),
        host: agent.into(),
        agent_ips: vec![agent.parse().unwrap()],
        task_ips: vec![],
        ports,
        state: TaskState::Running,
        health: Health::Healthy,
        app_version: None,
        updated_at: Stamp::now(),
    }
}

pub fn app(id: &str, networking: NetworkMode, ports: &[(&str, Option<u16>)]) -> AppRecord {
    AppRecord {
        app_id: AppId::parse(id).unwrap(),
        version: "2026-01-01T00:00:00.000Z".into(),
        ports: ports
            .iter()
            .map(|(name, container)| PortDefinition {
                name: Some((*name).into()),
                protocols: vec![Protocol::Tcp],
                container_port: *container,
                host_port: Some(0),
                service_port: None,
                labels: BTreeMap::new(),
            })
            .collect(),
        networking,
        labels: BTreeMap::new(),
        health_checks: false,
        updated_at: Stamp::now(),
    }
}

/// Polls `check` every 50 ms until it returns `Some`, for at most 20 s.
pub async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
