//! End to end: the Marathon simulator -> the subscriber (SSE, and callbacks) -> a real
//! etcd -> the records a DNS server would read.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use herald_subscriber::Subscriber;
use marathon_sim::{AppSpec, MarathonVersion, Networking, PortSpec, SimConfig, Simulator};
use registry::harness::EtcdServer;
use registry::{Health, NetworkMode, TaskState};

fn web_app(id: &str, n: u32, networking: Networking) -> AppSpec {
    AppSpec::new(id, n)
        .with_networking(networking)
        .with_ports(vec![
            PortSpec::new(Some("http"), Some(80), "tcp"),
            PortSpec::new(Some("dns"), Some(53), "udp,tcp"),
        ])
        .with_health_checks(true)
        .with_label("team", "web")
}

/// A callback subscriber that registers its own `/callback` URL with `sim` (Marathon 1.4's
/// event subscriptions), with `extra` flags; returns it and that URL.
async fn registering_subscriber(
    etcd: &EtcdServer,
    sim: &Simulator,
    extra: &[&str],
) -> (Subscriber, String) {
    // The callback URL is only known once the subscriber listens: bind first.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!("http://{}/callback", listener.local_addr().unwrap());
    let (marathon, endpoint) = (sim.url(), etcd.endpoint());
    let mut args = vec![
        "x",
        "--marathon",
        &marathon,
        "--etcd-endpoints",
        &endpoint,
        "--source",
        "callback",
        "--callback-url",
        &callback,
    ];
    args.extend_from_slice(extra);
    let config = <herald_subscriber::Config as clap::Parser>::try_parse_from(args).unwrap();
    let sub = Subscriber::start_on(config, listener).await.unwrap();
    (sub, callback)
}

async fn sse_scenario(version: MarathonVersion) {
    let (etcd, registry) = etcd().await;
    let sim = Simulator::start(SimConfig {
        crlf: true,
        ..SimConfig::new(version)
    })
    .await
    .unwrap();
    let sub = subscriber(
        &etcd,
        &sim.url(),
        &["--source", "sse", "--election", "false"],
    )
    .await;
    sim.wait_for_event_streams(1, WAIT).await.unwrap();

    let web = sim
        .deploy(web_app("/prod/web", 2, Networking::Bridge))
        .await
        .unwrap();
    sim.deploy(web_app("/prod/api", 1, Networking::Host))
        .await
        .unwrap();
    sim.deploy(web_app("/prod/ipt", 1, Networking::Container))
        .await
        .unwrap();
    let tasks = in_sync_with(&registry, &sim).await;
    let first = &tasks[&web[0]];
    assert_eq!(first.ports[0].name.as_deref(), Some("http"));
    assert_eq!(first.ports[1].protocols.len(), 2);
    assert_eq!(first.health, Health::Healthy);
    assert!(!first.agent_ips.is_empty(), "agent host resolved");
    let apps = registry.list(&registry::Scope::All).await.unwrap().apps;
    assert_eq!(apps.len(), 3);
    let web_app_record = apps
        .iter()
        .find(|a| a.record.app_id.as_str() == "/prod/web")
        .unwrap();
    assert_eq!(web_app_record.record.networking, NetworkMode::Bridge);
    assert_eq!(
        web_app_record.record.labels.get("team").map(String::as_str),
        Some("web")
    );

    // Health down, a kill with its replacement, a scale-up, a termination.
    sim.set_health(&web[0], false).await.unwrap();
    let tasks = in_sync_with(&registry, &sim).await;
    assert_eq!(tasks[&web[0]].health, Health::Unhealthy);
    sim.kill_task(&web[1]).await.unwrap();
    sim.scale("/prod/api", 3).await.unwrap();
    in_sync_with(&registry, &sim).await;
    sim.terminate("/prod/ipt").await.unwrap();
    in_sync_with(&registry, &sim).await;
    eventually("the terminated app's record is removed", WAIT, async || {
        let apps = registry.list(&registry::Scope::All).await.ok()?.apps;
        (apps.len() == 2).then_some(())
    })
    .await;
    sub.stop().await;
}

#[tokio::test]
async fn sse_from_marathon_1_10_gives_the_expected_records() {
    sse_scenario(MarathonVersion::V1_10).await;
}

#[tokio::test]
async fn sse_from_marathon_1_4_gives_the_expected_records() {
    sse_scenario(MarathonVersion::V1_4).await;
}

#[tokio::test]
async fn callbacks_from_marathon_1_4_give_the_expected_records() {
    let (etcd, registry) = etcd().await;
    let sim = sim(MarathonVersion::V1_4).await;
    let (sub, callback) = registering_subscriber(&etcd, &sim, &["--election", "false"]).await;
    eventually("the subscriber registers its callback", WAIT, async || {
        sim.subscriptions().contains(&callback).then_some(())
    })
    .await;

    let web = sim
        .deploy(web_app("/web", 3, Networking::Bridge))
        .await
        .unwrap();
    sim.deploy(web_app("/api", 1, Networking::Container))
        .await
        .unwrap();
    in_sync_with(&registry, &sim).await;
    sim.set_health(&web[2], false).await.unwrap();
    sim.kill_task(&web[0]).await.unwrap();
    sim.terminate("/api").await.unwrap();
    let tasks = in_sync_with(&registry, &sim).await;
    assert_eq!(tasks[&web[2]].health, Health::Unhealthy);

    // Shutdown removes the registration.
    sub.stop().await;
    assert!(!sim.subscriptions().contains(&callback));
}

#[tokio::test]
async fn killing_and_unreachable_tasks_are_kept_but_marked_down() {
    let (etcd, registry) = etcd().await;
    let sim = sim(MarathonVersion::V1_10).await;
    // The events below are stamped in 2099, after anything the simulator stamps: allow it.
    let sub = subscriber(
        &etcd,
        &sim.url(),
        &["--election", "false", "--max-clock-skew", "100y"],
    )
    .await;
    sim.wait_for_event_streams(1, WAIT).await.unwrap();
    let tasks = sim.deploy(AppSpec::new("/w", 1)).await.unwrap();
    in_sync_with(&registry, &sim).await;
    let view = sim.running_tasks().remove(0);
    for (state, at) in [
        ("TASK_UNREACHABLE", "2099-01-01T00:00:01.000Z"),
        ("TASK_KILLING", "2099-01-01T00:00:02.000Z"),
    ] {
        sim.emit_raw(serde_json::json!({
            "eventType": "status_update_event", "timestamp": at, "taskId": tasks[0], "appId": "/w",
            "taskStatus": state, "host": view.host, "slaveId": view.agent_id, "ports": view.ports,
            "ipAddresses": [], "version": "2020-01-01T00:00:00.000Z",
        }))
        .await;
        let want = TaskState::parse(state);
        let record = eventually(state, WAIT, async || {
            let t = stored_tasks(&registry).await.remove(&tasks[0])?;
            (t.state == want).then_some(t)
        })
        .await;
        assert!(!record.is_serving());
    }
    sub.stop().await;
}

#[tokio::test]
async fn events_missed_while_the_stream_was_down_are_healed_by_the_resync() {
    let (etcd, registry) = etcd().await;
    let (sim, sub) = streaming(&etcd, MarathonVersion::V1_10).await;
    let before = sim.deploy(AppSpec::new("/steady", 2)).await.unwrap();
    in_sync_with(&registry, &sim).await;

    // Marathon has no replay: what happens while the stream is down is never sent.
    sim.set_event_delivery(false);
    sim.drop_event_streams().await;
    sim.kill_task(&before[0]).await.unwrap();
    sim.deploy(AppSpec::new("/quiet", 2)).await.unwrap();
    sim.set_event_delivery(true);

    // The reconnect schedules a resync, which restores exactly Marathon's view.
    sim.wait_for_event_streams(1, WAIT).await.unwrap();
    let tasks = in_sync_with(&registry, &sim).await;
    assert!(!tasks.contains_key(&before[0]));
    sub.stop().await;
}

#[tokio::test]
async fn a_standby_takes_over_the_stream_when_the_leader_dies() {
    let (etcd, registry) = etcd().await;
    let sim = sim(MarathonVersion::V1_10).await;
    let flags = ["--election", "true", "--election-ttl", "2s"];
    let a = subscriber(&etcd, &sim.url(), &flags).await;
    let b = subscriber(&etcd, &sim.url(), &flags).await;
    eventually("one leader", WAIT, async || {
        (a.is_leader() ^ b.is_leader()).then_some(())
    })
    .await;
    sim.wait_for_event_streams(1, WAIT).await.unwrap();
    let (leader, standby) = if a.is_leader() { (a, b) } else { (b, a) };
    // The stream loop opens a connection only while its instance leads, so with one
    // leader there is exactly one stream.
    assert!(!standby.is_leader());
    assert_eq!(sim.event_stream_clients(), 1, "only the leader streams");

    // The leader dies without resigning: its lease runs out, the standby wins (within
    // `eventually`'s deadline; how fast is measured by the benchmarks, not here).
    leader.abort();
    eventually("the standby leads", WAIT, async || {
        standby.is_leader().then_some(())
    })
    .await;
    sim.wait_for_event_streams(1, WAIT).await.unwrap();
    sim.deploy(AppSpec::new("/after", 2)).await.unwrap();
    in_sync_with(&registry, &sim).await;
    standby.stop().await;
}

#[tokio::test]
async fn two_callback_subscribers_write_the_same_events_idempotently() {
    let (etcd, registry) = etcd().await;
    let sim = sim(MarathonVersion::V1_4).await;
    let mut subs = Vec::new();
    for _ in 0..2 {
        subs.push(
            registering_subscriber(&etcd, &sim, &["--election-ttl", "2s"])
                .await
                .0,
        );
    }
    eventually("both registered", WAIT, async || {
        (sim.subscriptions().len() == 2).then_some(())
    })
    .await;
    let web = sim
        .deploy(web_app("/web", 4, Networking::Bridge))
        .await
        .unwrap();
    sim.set_health(&web[1], false).await.unwrap();
    sim.kill_task(&web[2]).await.unwrap();
    sim.scale("/web", 2).await.unwrap();
    sim.deploy(AppSpec::new("/other", 2)).await.unwrap();
    sim.terminate("/other").await.unwrap();
    in_sync_with(&registry, &sim).await;
    // Exactly one of them leads (and would run the periodic reconcile).
    eventually("exactly one leader", WAIT, async || {
        (subs.iter().filter(|s| s.is_leader()).count() == 1).then_some(())
    })
    .await;
    for s in subs {
        s.stop().await;
    }
    assert!(sim.subscriptions().is_empty());
}
