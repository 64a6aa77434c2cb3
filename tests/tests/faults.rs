//! Faults with every binary running: the subscriber, herald-dns and herald-watcher as real
//! processes, real etcd (killed, or a cluster losing its leader) and the Marathon
//! simulator streaming about 1,000 status events a second. Afterwards etcd, the DNS
//! answers and the watcher's last state must equal the simulator's truth.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::*;
use marathon_sim::{AppSpec, MarathonVersion, SimConfig, Simulator};
use registry::harness::{EtcdCluster, EtcdServer};

/// Events per second of the stream.
const RATE: usize = 1000;

async fn simulator() -> Simulator {
    Simulator::start(SimConfig {
        event_buffer: 65_536,
        ..SimConfig::new(MarathonVersion::V1_10)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_sigkilled_during_a_stream_of_1000_events_per_second_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    let etcd_args = endpoints(&[etcd.endpoint()]);
    let sim = simulator().await;
    sim.deploy(AppSpec::new("/stream", 20)).await.unwrap();
    // No periodic reconcile: what survives the outage comes from the stream and the
    // resumable writes and watches alone.
    let (_sub, _) = subscriber(
        dir.path(),
        &etcd_args,
        &sim.url(),
        &["--election", "false", "--reconcile-interval", "off"],
        &[],
    )
    .await;
    let (_dns, dns_addr, dns_http) = dns(dir.path(), &etcd_args, &[], &[]).await;
    let (_watcher, state) = watcher(dir.path(), &etcd_args, "stream", "watcher");
    sim.wait_for_event_streams(1, WAIT).await.unwrap();
    all_views_match(&sim, &registry, "/stream", "stream", &dns_addr, &state).await;

    let outage = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        etcd.kill();
        let down = tokio::time::Instant::now();
        tokio::time::sleep(Duration::from_secs(3)).await;
        etcd.restart().await.unwrap();
        (down, tokio::time::Instant::now())
    };
    let (published, (down, up)) = tokio::join!(stream(&sim, "/stream", RATE, 8), outage);
    let during = published_between(&published, down, up);
    assert!(
        during > 0,
        "events were published while etcd was down: {during} slices"
    );
    assert!(
        published.last().is_some_and(|t| *t > up),
        "events were published after etcd came back"
    );
    let truth = all_views_match(&sim, &registry, "/stream", "stream", &dns_addr, &state).await;
    assert_eq!(truth.len(), 20);
    let (code, health) = curl(&format!("http://{dns_http}/healthz"));
    assert_eq!(code, 200, "{health}");
    assert!(health.contains("\"ok\""), "herald-dns recovered: {health}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_killed_mid_burst_is_healed_by_its_start_up_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    let etcd_args = endpoints(&[etcd.endpoint()]);
    let sim = simulator().await;
    sim.deploy(AppSpec::new("/burst", 20)).await.unwrap();
    // The periodic reconcile is off: only the start-up one can heal.
    let (mut sub, listen) = subscriber(
        dir.path(),
        &etcd_args,
        &sim.url(),
        &["--election", "false", "--reconcile-interval", "off"],
        &[],
    )
    .await;
    sim.wait_for_event_streams(1, WAIT).await.unwrap();
    eventually("etcd holds the deployment", WAIT, async || {
        same(
            "etcd",
            &truth(&sim, "/burst"),
            &in_etcd(&registry, "/burst").await?,
        )
    })
    .await;

    let kill = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        sub.kill();
    };
    let (_, ()) = tokio::join!(stream(&sim, "/burst", RATE, 3), kill);
    // Everything after the kill was missed: etcd is behind the simulator now.
    let stale = in_etcd(&registry, "/burst").await.unwrap();
    assert!(
        same("etcd", &truth(&sim, "/burst"), &stale).is_err(),
        "events were missed while the subscriber was down"
    );
    sub.restart();
    eventually("the restarted subscriber healed etcd", WAIT, async || {
        same(
            "etcd",
            &truth(&sim, "/burst"),
            &in_etcd(&registry, "/burst").await?,
        )
    })
    .await;
    let (code, body) = curl(&format!("http://{listen}/healthz"));
    assert_eq!(code, 200, "{body}");
    let logs = sub.logs();
    assert!(
        logs.contains("reconcile"),
        "the start-up reconcile is logged:\n{logs}"
    );
}

/// etcd-client's balanced channel keeps sending requests to a killed member
/// (etcdv3/etcd-client#39); the registry pins one member and fails over itself
/// (`registry/src/endpoints.rs`), which this test proves end to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_member_cluster_losing_its_leader_mid_stream_loses_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = EtcdCluster::start(3).await.unwrap();
    let etcd_args = endpoints(&cluster.endpoints());
    let sim = simulator().await;
    sim.deploy(AppSpec::new("/ha", 20)).await.unwrap();
    let (_sub, _) = subscriber(
        dir.path(),
        &etcd_args,
        &sim.url(),
        &["--election", "false", "--reconcile-interval", "off"],
        &[],
    )
    .await;
    let (_dns, dns_addr, _) = dns(dir.path(), &etcd_args, &[], &[]).await;
    let (_watcher, state) = watcher(dir.path(), &etcd_args, "ha", "watcher");
    sim.wait_for_event_streams(1, WAIT).await.unwrap();
    let leader = cluster.leader().await.unwrap();
    {
        let registry = cluster.registry().await.unwrap();
        all_views_match(&sim, &registry, "/ha", "ha", &dns_addr, &state).await;
    }

    let failover = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        cluster.kill_member(leader);
        tokio::time::Instant::now()
    };
    let (published, killed) = tokio::join!(stream(&sim, "/ha", RATE, 6), failover);
    let after = published_between(&published, killed, tokio::time::Instant::now());
    assert!(
        after > 0,
        "events were published after the leader member died"
    );
    let new_leader = cluster.leader().await.unwrap();
    assert_ne!(new_leader, leader, "a new leader was elected");
    // The test reads through the survivors (the binaries were given all three).
    let survivors: Vec<String> = cluster
        .endpoints()
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i != leader)
        .map(|(_, e)| e)
        .collect();
    let registry = registry::EtcdArgs::for_endpoints(survivors)
        .connect()
        .await
        .unwrap();
    let truth = all_views_match(&sim, &registry, "/ha", "ha", &dns_addr, &state).await;
    assert_eq!(truth.len(), 20);
}
