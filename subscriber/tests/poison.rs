//! One bad event never stops the pipeline: a record too large for etcd is refused on its
//! own (413 on `/callback`, dropped from SSE), a write etcd refuses inside a batch leaves
//! the rest of the batch written, `/healthz` and `/metrics` say so, and a shutdown writes
//! what was accepted or counts what it drops.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use herald_subscriber::Subscriber;
use marathon_sim::{AppSpec, MarathonVersion, Networking, PortSpec, Simulator};
use registry::harness::{EtcdServer, EtcdSpec};
use registry::{Registry, Stamp, TaskState};
use serde_json::{Value, json};

/// Ports of the event QA found: a 70 KB body, a ~390 KB record (the limit is 256 KiB).
const HUGE: usize = 10_000;
/// Ports of a ~195 KB record: under `--max-record-size`, but its guarded write (the value
/// four times) is over the 512 KiB request limit of [`small_request_etcd`].
const LARGE: usize = 5_000;

/// An etcd that refuses requests over 512 KiB (etcd's default is 1.5 MiB).
async fn small_request_etcd() -> (EtcdServer, Registry) {
    etcd_with(EtcdSpec {
        extra_args: vec!["--max-request-bytes".into(), "524288".into()],
        ..EtcdSpec::default()
    })
    .await
}

/// A `status_update_event` for `task` of `app` with `ports` host ports.
fn status(app: &str, task: &str, state: &str, ports: usize, at: &Stamp) -> Value {
    let ports: Vec<u16> = (0..ports).map(|i| 20_000 + i as u16).collect();
    json!({
        "eventType": "status_update_event", "timestamp": at.as_str(), "slaveId": "agent-S1",
        "taskId": task, "taskStatus": state, "message": "", "appId": app, "host": "127.0.0.11",
        "ipAddresses": [{"ipAddress": "127.0.0.11", "protocol": "IPv4"}], "ports": ports,
    })
}

/// A task id of `app` (`/web` -> `web.instance-<n>._app.1`) that the simulator never ran.
fn unknown_task(app: &str, n: u32) -> String {
    format!(
        "{}.instance-{n:08x}-dead-beef-0000-000000000000._app.1",
        app.trim_start_matches('/')
    )
}

/// The value of one sample of `/metrics` (`name{labels}`), 0 when absent.
async fn metric(sub: &Subscriber, sample: &str) -> f64 {
    metrics(sub)
        .await
        .lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// The stored state of `task`, polled until present.
async fn stored_state(registry: &Registry, task: &str) -> TaskState {
    eventually(&format!("{task} in etcd"), WAIT, async || {
        stored_tasks(registry).await.remove(task).map(|r| r.state)
    })
    .await
}

/// How the 10,000-port event reaches the subscriber.
enum Path {
    Callback,
    Sse,
}

/// `/web` with 3 running tasks in sync, then Marathon's REST API failing, so that from
/// here on only events write (no reconcile can fix what the events should have).
async fn events_only_setup() -> (EtcdServer, Registry, Simulator, Subscriber, Vec<String>) {
    let (etcd, registry) = etcd().await;
    let (sim, sub) = streaming(&etcd, MarathonVersion::V1_10).await;
    let tasks = sim.deploy(AppSpec::new("/web", 3)).await.unwrap();
    in_sync_with(&registry, &sim).await;
    sim.set_failing(true);
    (etcd, registry, sim, sub, tasks)
}

/// The 10,000-port event arrives by `path`; the events after it must be written: a
/// `TASK_KILLING` of a running task, and a scale from 3 to 5.
async fn a_huge_event_is_refused_alone(path: Path) {
    let (_etcd, registry, sim, sub, tasks) = events_only_setup().await;
    let refused_before = metric(
        &sub,
        r#"herald_subscriber_records_refused_total{reason="too_large"}"#,
    )
    .await;
    let poison = unknown_task("/web", 1);
    let huge = status("/web", &poison, "TASK_RUNNING", HUGE, &Stamp::now());
    match path {
        Path::Callback => {
            let body = huge.to_string();
            assert!(body.len() < 1_048_576, "under --max-body");
            let (code, answer) = post_callback(&sub, body).await;
            assert_eq!(code, 413, "{answer}");
            assert_eq!(answer["task"], poison.as_str(), "{answer}");
            assert_eq!(answer["limit"], 262_144, "{answer}");
            assert!(answer["size"].as_u64().unwrap() > 262_144, "{answer}");
            assert!(
                answer["error"].as_str().unwrap().contains(&poison),
                "{answer}"
            );
        }
        Path::Sse => sim.emit_raw(huge).await,
    }

    // The events after it.
    let killing_task = &tasks[0];
    let stored = stored_tasks(&registry).await.remove(killing_task).unwrap();
    let later =
        Stamp::from_datetime(stored.updated_at.to_datetime() + chrono::TimeDelta::milliseconds(1));
    let killing = status("/web", killing_task, "TASK_KILLING", 1, &later);
    match path {
        Path::Callback => assert_eq!(post_callback(&sub, killing.to_string()).await.0, 200),
        Path::Sse => sim.emit_raw(killing).await,
    }
    sim.scale("/web", 5).await.unwrap();

    let running: Vec<String> = sim.running_tasks().into_iter().map(|t| t.task_id).collect();
    assert_eq!(running.len(), 5);
    eventually("the killing task marked down", WAIT, async || {
        (stored_state(&registry, killing_task).await == TaskState::Killing).then_some(())
    })
    .await;
    for task in running.iter().filter(|t| *t != killing_task) {
        assert_eq!(stored_state(&registry, task).await, TaskState::Running);
    }
    let stored = stored_tasks(&registry).await;
    assert!(
        !stored.contains_key(&poison),
        "the huge record was not written"
    );
    assert_eq!(stored.len(), 5, "{:?}", stored.keys());

    // Counted, and reported with the task's id.
    assert!(
        metric(
            &sub,
            r#"herald_subscriber_records_refused_total{reason="too_large"}"#
        )
        .await
            > refused_before
    );
    let (_, health) = get_json(&url(&sub, "/healthz")).await.unwrap();
    assert_eq!(health["status"], "degraded", "{health}");
    let reason = health["checks"]["writes"]["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("1 record refused") && reason.contains(&poison),
        "{health}"
    );
    assert!(reason.contains("--max-record-size"), "{health}");
    sub.stop().await;
}

#[tokio::test]
async fn a_huge_callback_gets_413_and_the_events_after_it_are_written() {
    a_huge_event_is_refused_alone(Path::Callback).await;
}

#[tokio::test]
async fn a_huge_sse_event_is_dropped_and_the_events_after_it_are_written() {
    a_huge_event_is_refused_alone(Path::Sse).await;
}

#[tokio::test]
async fn a_write_etcd_refuses_inside_a_burst_leaves_every_other_record_written() {
    let (etcd, registry) = small_request_etcd().await;
    let (sim, sub) = streaming(&etcd, MarathonVersion::V1_10).await;
    sim.deploy(AppSpec::new("/burst", 30)).await.unwrap();
    in_sync_with(&registry, &sim).await;
    let permanent_before = metric(
        &sub,
        r#"herald_subscriber_etcd_write_errors_total{class="permanent"}"#,
    )
    .await;
    let refused_before = metric(
        &sub,
        r#"herald_subscriber_records_refused_total{reason="etcd"}"#,
    )
    .await;

    // 10,000 events with, in the middle, one whose write etcd refuses.
    sim.burst("/burst", 5_000).await.unwrap();
    let poison = unknown_task("/burst", 2);
    sim.emit_raw(status(
        "/burst",
        &poison,
        "TASK_RUNNING",
        LARGE,
        &Stamp::now(),
    ))
    .await;
    sim.burst("/burst", 5_000).await.unwrap();

    // Every other record is written (the poison is not in the simulator's truth).
    in_sync_with(&registry, &sim).await;
    let health = eventually("/healthz reports the refused record", WAIT, async || {
        let (_, health) = get_json(&url(&sub, "/healthz")).await?;
        (health["status"] == "degraded").then_some(health)
    })
    .await;
    assert_eq!(health["checks"]["etcd"]["ok"], true, "{health}");
    assert_eq!(health["checks"]["marathon"]["ok"], true, "{health}");
    let reason = health["checks"]["writes"]["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains(&poison) && reason.contains("request is too large"),
        "{health}"
    );
    assert!(
        metric(
            &sub,
            r#"herald_subscriber_etcd_write_errors_total{class="permanent"}"#
        )
        .await
            > permanent_before
    );
    assert!(
        metric(
            &sub,
            r#"herald_subscriber_records_refused_total{reason="etcd"}"#
        )
        .await
            > refused_before
    );
    sub.stop().await;
}

#[tokio::test]
async fn a_shutdown_writes_every_accepted_event_despite_a_refused_one() {
    let (etcd, registry) = small_request_etcd().await;
    let sim = sim(MarathonVersion::V1_10).await;
    sim.set_event_delivery(false);
    sim.deploy(AppSpec::new("/web", 0)).await.unwrap();
    let sub = callback_subscriber(&etcd, &sim.url(), &[]).await;

    // Accepted (under --max-record-size), then refused by etcd.
    let poison = unknown_task("/web", 3);
    let large = status("/web", &poison, "TASK_RUNNING", LARGE, &Stamp::now());
    assert_eq!(post_callback(&sub, large.to_string()).await.0, 200);
    let good: Vec<String> = (10..60).map(|n| unknown_task("/web", n)).collect();
    for task in &good {
        let event = status("/web", task, "TASK_RUNNING", 1, &Stamp::now());
        assert_eq!(post_callback(&sub, event.to_string()).await.0, 200);
    }
    sub.stop().await;

    let stored = stored_tasks(&registry).await;
    for task in &good {
        assert!(stored.contains_key(task), "{task} was written before exit");
    }
    assert!(!stored.contains_key(&poison));
}

#[tokio::test]
async fn a_shutdown_counts_the_events_it_cannot_write() {
    let (etcd, _registry) = etcd().await;
    let sim = sim(MarathonVersion::V1_10).await;
    sim.set_event_delivery(false);
    sim.deploy(AppSpec::new("/web", 0)).await.unwrap();
    let sub = callback_subscriber(&etcd, &sim.url(), &["--drain-timeout", "1s"]).await;
    let dropped_sample =
        r#"herald_subscriber_events_total{type="status_update_event",outcome="dropped"}"#;
    let before = metric(&sub, dropped_sample).await;

    etcd.freeze();
    let events = 20;
    for n in 0..events {
        let event = status(
            "/web",
            &unknown_task("/web", 100 + n),
            "TASK_RUNNING",
            1,
            &Stamp::now(),
        );
        assert_eq!(post_callback(&sub, event.to_string()).await.0, 200);
    }
    // Rendered after the HTTP server is gone: the recorder is the process's.
    sub.stop().await;
    let text = service::prometheus().render();
    let after: f64 = text
        .lines()
        .find_map(|l| {
            l.strip_prefix(dropped_sample)?
                .strip_prefix(' ')?
                .parse()
                .ok()
        })
        .unwrap_or(0.0);
    assert!(
        after - before >= f64::from(events),
        "{} dropped events counted, {events} accepted",
        after - before
    );
    etcd.thaw();
}

#[tokio::test]
async fn a_reconcile_skips_a_record_too_large_and_writes_the_rest() {
    let (etcd, registry) = small_request_etcd().await;
    let sim = sim(MarathonVersion::V1_10).await;
    // 7,000 named container ports: the app and task records are each over 256 KiB (and,
    // written once as a reconcile writes them, over this etcd's 512 KiB request limit).
    let ports = (0..7_000)
        .map(|i| PortSpec::tcp(&format!("p{i}")))
        .collect();
    let big = sim
        .deploy(
            AppSpec::new("/big", 1)
                .with_networking(Networking::Container)
                .with_ports(ports),
        )
        .await
        .unwrap();
    let small = sim.deploy(AppSpec::new("/small", 2)).await.unwrap();
    // Marathon 1.10 sends no callbacks: only reconciles write.
    let sub = callback_subscriber(&etcd, &sim.url(), &[]).await;
    let (code, report) = post_json(&url(&sub, "/cleanup")).await;
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["refused"], 2, "the big app and its task: {report}");
    let stored = stored_tasks(&registry).await;
    assert!(!stored.contains_key(&big[0]));
    for task in &small {
        assert_eq!(stored[task].state, TaskState::Running);
    }
    let (_, health) = get_json(&url(&sub, "/healthz")).await.unwrap();
    assert_eq!(health["status"], "degraded", "{health}");
    // The start-up reconcile may have refused them too.
    assert!(
        health["checks"]["writes"]["records_refused"].as_u64() >= Some(2),
        "{health}"
    );
    let reason = health["checks"]["writes"]["reason"].as_str().unwrap_or("");
    assert!(reason.contains("/big"), "{health}");
    sub.stop().await;
}
