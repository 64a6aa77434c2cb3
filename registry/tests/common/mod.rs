//! Record builders shared by the registry's integration tests.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::time::Duration;

use herald_registry::{
    AppId, AppRecord, Health, NetworkMode, Stamp, TaskRecord, TaskState, Watch, WatchEvent,
};

pub fn stamp(secs: u32) -> Stamp {
    Stamp::parse(&format!(
        "2026-01-01T00:{:02}:{:02}.000Z",
        secs / 60,
        secs % 60
    ))
    .unwrap()
}

pub fn task(app: &str, id: &str, state: TaskState, at: u32) -> TaskRecord {
    TaskRecord {
        app_id: AppId::parse(app).unwrap(),
        task_id: id.to_string(),
        instance_id: None,
        agent_id: Some("agent-S1".into()),
        host: "127.0.0.11".into(),
        agent_ips: vec!["127.0.0.11".parse().unwrap()],
        task_ips: vec![],
        ports: vec![],
        state,
        health: Health::Unknown,
        app_version: None,
        updated_at: stamp(at),
    }
}

pub fn app(id: &str, at: u32) -> AppRecord {
    AppRecord {
        app_id: AppId::parse(id).unwrap(),
        version: stamp(at).to_string(),
        ports: vec![],
        networking: NetworkMode::Host,
        labels: Default::default(),
        health_checks: false,
        updated_at: stamp(at),
    }
}

/// The next watch event, or a panic after 20 s.
pub async fn next(watch: &mut Watch) -> WatchEvent {
    tokio::time::timeout(Duration::from_secs(20), watch.next())
        .await
        .expect("no watch event within 20 s")
        .expect("watch ended")
}
