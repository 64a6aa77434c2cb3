//! Shared set-up for the subscriber's integration tests: a real etcd, the Marathon
//! simulator, a subscriber in-process, and polling helpers.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::collections::BTreeMap;

use clap::Parser;
use herald_subscriber::{Config, Subscriber};
use marathon_sim::{MarathonVersion, SimConfig, Simulator, TaskView};
use registry::harness::{EtcdServer, EtcdSpec};
pub use registry::harness::{WAIT, eventually};
use registry::{Registry, Scope, TaskRecord};

/// What most set-ups return: etcd, a registry client of it, the simulator and a subscriber.
pub type Setup = (EtcdServer, Registry, Simulator, Subscriber);

/// The flags of a subscriber that writes only what events say: no election, no periodic
/// reconcile.
pub const EVENTS_ONLY: [&str; 4] = ["--election", "false", "--reconcile-interval", "off"];

/// Logs to the test output when `HERALD_TEST_LOG` is set (e.g. `herald_subscriber=debug`).
pub fn init_logs() {
    if let Ok(filter) = std::env::var("HERALD_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    }
}

pub async fn etcd() -> (EtcdServer, Registry) {
    etcd_with(EtcdSpec::default()).await
}

/// An etcd with extra settings, and a registry client of it.
pub async fn etcd_with(spec: EtcdSpec) -> (EtcdServer, Registry) {
    init_logs();
    let etcd = EtcdServer::start_with(spec).await.expect("etcd starts");
    let registry = etcd.registry().await.expect("registry");
    (etcd, registry)
}

pub async fn sim(version: MarathonVersion) -> Simulator {
    Simulator::start(SimConfig::new(version))
        .await
        .expect("simulator starts")
}

/// A subscriber on a free port, for `etcd` and `marathon`, with extra flags.
pub async fn subscriber(etcd: &EtcdServer, marathon: &str, extra: &[&str]) -> Subscriber {
    let endpoint = etcd.endpoint();
    let mut args = vec![
        "herald-subscriber",
        "--listen",
        "127.0.0.1:0",
        "--marathon",
        marathon,
        "--etcd-endpoints",
        &endpoint,
        "--tombstone-ttl",
        "60s",
    ];
    args.extend_from_slice(extra);
    let config = Config::try_parse_from(args).expect("flags");
    Subscriber::start(config).await.expect("subscriber starts")
}

/// A simulator of `version` and a subscriber streaming its events into `etcd`
/// ([`EVENTS_ONLY`]), once the event stream is open.
pub async fn streaming(etcd: &EtcdServer, version: MarathonVersion) -> (Simulator, Subscriber) {
    let sim = sim(version).await;
    let sub = subscriber(etcd, &sim.url(), &EVENTS_ONLY).await;
    sim.wait_for_event_streams(1, WAIT).await.unwrap();
    (sim, sub)
}

/// A subscriber taking callbacks only ([`EVENTS_ONLY`] and `extra` flags): nothing is
/// written but what a test posts, and what the start-up reconcile against `marathon` finds.
pub async fn callback_subscriber(etcd: &EtcdServer, marathon: &str, extra: &[&str]) -> Subscriber {
    let mut flags = vec!["--source", "callback"];
    flags.extend_from_slice(&EVENTS_ONLY);
    flags.extend_from_slice(extra);
    subscriber(etcd, marathon, &flags).await
}

pub fn http() -> reqwest::Client {
    herald_subscriber::http_client::install_crypto_provider();
    reqwest::Client::new()
}

pub fn url(sub: &Subscriber, path: &str) -> String {
    format!("http://{}{}", sub.addr(), path)
}

/// POSTs a callback body; returns the status and the JSON answer.
pub async fn post_callback(
    sub: &Subscriber,
    body: impl Into<reqwest::Body>,
) -> (u16, serde_json::Value) {
    let r = http()
        .post(url(sub, "/callback"))
        .header("content-type", "text/plain; charset=UTF-8")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap_or_default();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// The live task records, by task id.
pub async fn stored_tasks(registry: &Registry) -> BTreeMap<String, TaskRecord> {
    match registry.list(&Scope::All).await {
        Ok(s) => s
            .tasks
            .into_iter()
            .map(|t| (t.record.task_id.clone(), t.record))
            .collect(),
        Err(_) => BTreeMap::new(),
    }
}

/// Waits until etcd holds exactly the simulator's running tasks (ids, ports, IPs, health)
/// and returns them.
pub async fn in_sync_with(registry: &Registry, sim: &Simulator) -> BTreeMap<String, TaskRecord> {
    eventually("etcd to match the simulator", WAIT, async || {
        let want = sim.running_tasks();
        let have = stored_tasks(registry).await;
        match diff(&want, &have) {
            None => Ok(have),
            Some(last) => Err(last),
        }
    })
    .await
}

/// `None` when the records match the simulator's truth, else what differs.
pub fn diff(want: &[TaskView], have: &BTreeMap<String, TaskRecord>) -> Option<String> {
    let want_ids: Vec<&str> = want.iter().map(|t| t.task_id.as_str()).collect();
    let have_ids: Vec<&str> = have.keys().map(String::as_str).collect();
    let mut want_sorted = want_ids.clone();
    want_sorted.sort();
    if want_sorted != have_ids {
        return Some(format!("task ids: want {want_sorted:?}, have {have_ids:?}"));
    }
    for t in want {
        let r = &have[&t.task_id];
        if r.app_id.as_str() != t.app_id {
            return Some(format!("{}: app {} != {}", t.task_id, r.app_id, t.app_id));
        }
        if r.state != registry::TaskState::Running {
            return Some(format!("{}: state {:?}", t.task_id, r.state));
        }
        let host_ports: Vec<u16> = r.ports.iter().filter_map(|p| p.host_port).collect();
        if host_ports != t.ports {
            return Some(format!(
                "{}: host ports {host_ports:?} != {:?}",
                t.task_id, t.ports
            ));
        }
        if !t.container_ports.is_empty() {
            let cps: Vec<u16> = r.ports.iter().filter_map(|p| p.container_port).collect();
            if cps != t.container_ports {
                return Some(format!(
                    "{}: container ports {cps:?} != {:?}",
                    t.task_id, t.container_ports
                ));
            }
        }
        let sps: Vec<u16> = r.ports.iter().filter_map(|p| p.service_port).collect();
        // Marathon 1.4 shows no service ports for IP-per-task apps (the simulator knows some).
        if !sps.is_empty() && sps != t.service_ports {
            return Some(format!(
                "{}: service ports {sps:?} != {:?}",
                t.task_id, t.service_ports
            ));
        }
        let ips: Vec<String> = r.task_ips.iter().map(|i| i.to_string()).collect();
        if ips != t.ip_addresses {
            return Some(format!(
                "{}: ips {ips:?} != {:?}",
                t.task_id, t.ip_addresses
            ));
        }
        if t.has_health_checks {
            let want_health = if t.healthy {
                registry::Health::Healthy
            } else {
                registry::Health::Unhealthy
            };
            if r.health != want_health {
                return Some(format!(
                    "{}: health {:?} != {want_health:?}",
                    t.task_id, r.health
                ));
            }
        }
        if r.agent_id.as_deref() != Some(t.agent_id.as_str()) || r.host != t.host {
            return Some(format!(
                "{}: agent {:?}/{} != {}/{}",
                t.task_id, r.agent_id, r.host, t.agent_id, t.host
            ));
        }
    }
    None
}

/// The newest change of the record trees (to prove that nothing was written; etcd's own
/// revision also moves with the subscriber's status record).
pub async fn revision(registry: &Registry) -> i64 {
    registry::harness::records_revision(registry)
        .await
        .expect("the record trees can be read")
}

/// The text of the subscriber's `/metrics`.
pub async fn metrics(sub: &Subscriber) -> String {
    http()
        .get(url(sub, "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// GETs a JSON document.
pub async fn get_json(url: &str) -> Option<(u16, serde_json::Value)> {
    let r = http().get(url).send().await.ok()?;
    let code = r.status().as_u16();
    let bytes = r.bytes().await.ok()?;
    Some((code, serde_json::from_slice(&bytes).ok()?))
}

/// POSTs with an empty body and returns the status and JSON answer.
pub async fn post_json(url: &str) -> (u16, serde_json::Value) {
    let r = http().post(url).send().await.unwrap();
    let code = r.status().as_u16();
    let bytes = r.bytes().await.unwrap_or_default();
    (
        code,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}
