//! Failures on the etcd side: nothing accepted is lost.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use marathon_sim::{AppSpec, MarathonVersion};

#[tokio::test]
async fn an_etcd_restart_during_a_burst_loses_no_record() {
    let (mut etcd, registry) = etcd().await;
    let sim = sim(MarathonVersion::V1_10).await;
    // No periodic reconcile: the records must come from the events alone.
    let sub = subscriber(
        &etcd,
        &sim.url(),
        &["--election", "false", "--reconcile-interval", "off"],
    )
    .await;
    sim.wait_for_event_streams(1, WAIT).await.unwrap();
    sim.deploy(AppSpec::new("/burst", 30)).await.unwrap();
    in_sync_with(&registry, &sim).await;

    let outage = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        etcd.kill();
        tokio::time::sleep(Duration::from_secs(2)).await;
        etcd.restart().await.unwrap();
    };
    let (burst, ()) = tokio::join!(sim.burst("/burst", 6000), outage);
    burst.unwrap();
    in_sync_with(&registry, &sim).await;
    sub.stop().await;
}

#[tokio::test]
async fn a_frozen_etcd_delays_but_does_not_lose_events() {
    let (etcd, registry) = etcd().await;
    let sim = sim(MarathonVersion::V1_4).await;
    let sub = subscriber(
        &etcd,
        &sim.url(),
        &["--election", "false", "--reconcile-interval", "off"],
    )
    .await;
    sim.wait_for_event_streams(1, WAIT).await.unwrap();
    etcd.freeze();
    let tasks = sim.deploy(AppSpec::new("/slow", 3)).await.unwrap();
    sim.kill_task(&tasks[0]).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    etcd.thaw();
    in_sync_with(&registry, &sim).await;
    sub.stop().await;
}

/// Throughput of the event path: status events from the simulator's SSE stream into etcd.
/// `cargo test --release -p herald-subscriber --test resilience -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark; run explicitly"]
async fn throughput_of_status_events_into_etcd() {
    let (etcd, registry) = etcd().await;
    let sim = marathon_sim::Simulator::start(marathon_sim::SimConfig {
        event_buffer: 65_536,
        ..marathon_sim::SimConfig::new(MarathonVersion::V1_10)
    })
    .await
    .unwrap();
    let sub = subscriber(
        &etcd,
        &sim.url(),
        &["--election", "false", "--reconcile-interval", "off"],
    )
    .await;
    sim.wait_for_event_streams(1, WAIT).await.unwrap();
    sim.deploy(AppSpec::new("/bench", 200)).await.unwrap();
    in_sync_with(&registry, &sim).await;
    let events = 40_000;
    let started = Instant::now();
    sim.burst("/bench", events).await.unwrap();
    let emitted = started.elapsed();
    in_sync_with(&registry, &sim).await;
    let total = started.elapsed();
    println!(
        "{events} status events: emitted in {emitted:?}, in etcd after {total:?}: {:.0} events/s",
        events as f64 / total.as_secs_f64()
    );
    sub.stop().await;
}

/// Throughput of the handler alone: decoded status events pushed straight into the queue.
/// `cargo test --release -p herald-subscriber --test resilience -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark; run explicitly"]
async fn throughput_of_the_handler_alone() {
    use herald_subscriber::agents::AgentResolver;
    use herald_subscriber::catalog::Catalog;
    use herald_subscriber::events;
    use herald_subscriber::ingest::{Handler, IngestQueue, Queued};
    use herald_subscriber::marathon::{MarathonClient, MarathonConfig};
    use herald_subscriber::reconcile::Resync;

    let (_etcd, registry) = etcd().await;
    let sim = sim(MarathonVersion::V1_10).await;
    sim.deploy(AppSpec::new("/bench", 0)).await.unwrap();
    let client = MarathonClient::new(&MarathonConfig {
        url: sim.url(),
        ..Default::default()
    })
    .unwrap();
    let (queue, rx) = IngestQueue::new(65_536);
    let handler = Handler::new(
        registry.clone(),
        Catalog::new(client),
        AgentResolver::new(Duration::from_secs(60)),
        Resync::default(),
        4,
    );
    let stop = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn(handler.run(rx, stop.clone()));
    let n = 50_000u32;
    let bodies: Vec<String> = (0..n)
        .map(|i| {
            serde_json::json!({
                "eventType": "status_update_event", "timestamp": "2030-01-01T00:00:00.000Z",
                "taskId": format!("bench.instance-{i:08}._app.1"), "appId": "/bench",
                "taskStatus": if i % 2 == 0 { "TASK_RUNNING" } else { "TASK_KILLED" },
                "host": "127.0.0.11", "slaveId": "S1", "ports": [31000 + (i % 1000) as u16],
                "ipAddresses": [{"ipAddress": "127.0.0.11", "protocol": "IPv4"}],
                "version": "2030-01-01T00:00:00.000Z",
            })
            .to_string()
        })
        .collect();
    let started = Instant::now();
    for body in &bodies {
        let d = events::decode(body.as_bytes()).unwrap();
        queue.push(Queued::new(d.label, d.event)).await.unwrap();
    }
    assert!(queue.caught_up(Duration::from_secs(120)).await);
    let took = started.elapsed();
    println!(
        "{n} events decoded and written in {took:?}: {:.0} events/s",
        n as f64 / took.as_secs_f64()
    );
    let stored = registry
        .list(&registry::Scope::All)
        .await
        .unwrap()
        .tasks
        .len();
    assert_eq!(stored, (n / 2) as usize);
    stop.cancel();
    worker.await.unwrap();
}
