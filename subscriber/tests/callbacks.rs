//! The callback receiver and the event handler against a real etcd, driven by hand-made
//! and fixture events: ordering, duplicates, every state and health shape, bad input.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::*;
use herald_subscriber::Subscriber;
use marathon_sim::{AppSpec, MarathonVersion, Networking, PortSpec};
use registry::{Health, Registry, Scope, TaskState};
use serde_json::{Value, json};

/// etcd, a simulator that knows `/web` (bridge, ports http+admin) but sends no events,
/// and a callback subscriber.
async fn setup(extra: &[&str]) -> Setup {
    let (etcd, registry) = etcd().await;
    let sim = sim(MarathonVersion::V1_10).await;
    sim.set_event_delivery(false);
    sim.deploy(
        AppSpec::new("/web", 0)
            .with_networking(Networking::Bridge)
            .with_ports(vec![
                PortSpec::new(Some("http"), Some(80), "tcp"),
                PortSpec::tcp("admin"),
            ])
            .with_health_checks(true),
    )
    .await
    .unwrap();
    // The hand-made events are stamped in 2030, after anything the simulator stamps: allow it.
    let mut flags = vec!["--max-clock-skew", "100y"];
    flags.extend_from_slice(extra);
    let sub = callback_subscriber(&etcd, &sim.url(), &flags).await;
    // The start-up reconcile stores the app record.
    eventually("the start-up reconcile", WAIT, async || {
        let apps = registry.list(&Scope::All).await.ok()?.apps;
        (!apps.is_empty()).then_some(())
    })
    .await;
    (etcd, registry, sim, sub)
}

fn at(second: u32) -> String {
    format!("2030-01-01T00:00:{second:02}.000Z")
}

fn status(task: &str, state: &str, second: u32) -> Value {
    json!({
        "eventType": "status_update_event", "timestamp": at(second), "slaveId": "agent-S1",
        "taskId": task, "taskStatus": state, "message": "", "appId": "/web", "host": "127.0.0.21",
        "ipAddresses": [{"ipAddress": "172.17.0.9", "protocol": "IPv4"}], "ports": [31001, 31002],
        "version": "2030-01-01T00:00:00.000Z",
    })
}

async fn post(sub: &Subscriber, event: &Value) -> u16 {
    post_callback(sub, event.to_string()).await.0
}

async fn task_state(registry: &Registry, task: &str) -> Option<(TaskState, Health, i64)> {
    let snapshot = registry.list(&Scope::All).await.ok()?;
    snapshot
        .tasks
        .into_iter()
        .find(|t| t.record.task_id == task)
        .map(|t| (t.record.state, t.record.health, t.mod_revision))
}

/// Waits until every accepted event is handled: `queue_depth` counts events from their
/// acceptance until their batch's etcd writes have returned, so 0 means written.
async fn settle(sub: &Subscriber) {
    eventually("every accepted event is written", WAIT, async || {
        let (_, h) = get_json(&url(sub, "/healthz")).await?;
        (h["checks"]["queue_depth"] == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn running_upserts_with_port_names_from_the_app_definition() {
    let (_etcd, registry, _sim, sub) = setup(&[]).await;
    let task = "web.instance-11111111-0000-0000-0000-000000000001._app.1";
    assert_eq!(post(&sub, &status(task, "TASK_RUNNING", 1)).await, 200);
    let record = eventually("the task record", WAIT, async || {
        stored_tasks(&registry).await.remove(task)
    })
    .await;
    assert_eq!(record.state, TaskState::Running);
    assert_eq!(record.ports[0].name.as_deref(), Some("http"));
    assert_eq!(record.ports[0].container_port, Some(80));
    assert_eq!(record.ports[0].host_port, Some(31001));
    assert_eq!(record.ports[1].name.as_deref(), Some("admin"));
    assert_eq!(
        record.instance_id.as_deref(),
        Some("web.instance-11111111-0000-0000-0000-000000000001")
    );
    assert_eq!(
        record.agent_ips,
        vec!["127.0.0.21".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(record.updated_at.as_str(), at(1));
    // The app record came along.
    let apps = registry.list(&Scope::All).await.unwrap().apps;
    assert_eq!(apps.len(), 1);
    sub.stop().await;
}

#[tokio::test]
async fn out_of_order_and_duplicate_events_never_undo_a_newer_state() {
    let (_etcd, registry, _sim, sub) = setup(&[]).await;
    let a = "web.aaaaaaaa-0000-0000-0000-000000000001";
    let b = "web.bbbbbbbb-0000-0000-0000-000000000002";

    // a: running, a duplicate, then killed, then the running event again, late.
    post(&sub, &status(a, "TASK_RUNNING", 1)).await;
    settle(&sub).await;
    let (_, _, rev) = task_state(&registry, a).await.expect("a is stored");
    post(&sub, &status(a, "TASK_RUNNING", 1)).await;
    settle(&sub).await;
    assert_eq!(
        task_state(&registry, a).await.unwrap().2,
        rev,
        "a duplicate writes nothing"
    );
    post(&sub, &status(a, "TASK_KILLED", 3)).await;
    post(&sub, &status(a, "TASK_RUNNING", 2)).await;
    post(&sub, &status(a, "TASK_STAGING", 0)).await;

    // b: killing arrives before the running it follows.
    post(&sub, &status(b, "TASK_KILLING", 6)).await;
    post(&sub, &status(b, "TASK_RUNNING", 5)).await;
    settle(&sub).await;

    assert_eq!(task_state(&registry, a).await, None, "a stays removed");
    let (state, _, _) = task_state(&registry, b)
        .await
        .expect("b is kept while killing");
    assert_eq!(state, TaskState::Killing);
    sub.stop().await;
}

#[tokio::test]
async fn health_events_of_every_shape_reach_the_task() {
    let (_etcd, registry, _sim, sub) = setup(&[]).await;
    let modern = "web.instance-22222222-0000-0000-0000-000000000001._app.1";
    let legacy = "web.33333333-0000-0000-0000-000000000001";

    // A verdict that arrives before its task is applied when the task appears.
    post(
        &sub,
        &json!({"eventType": "instance_health_changed_event", "timestamp": at(2),
        "instanceId": "web.instance-22222222-0000-0000-0000-000000000001", "runSpecId": "/web",
        "healthy": true, "runSpecVersion": at(0)}),
    )
    .await;
    post(&sub, &status(modern, "TASK_RUNNING", 1)).await;
    post(&sub, &status(legacy, "TASK_RUNNING", 1)).await;
    settle(&sub).await;
    assert_eq!(
        task_state(&registry, modern).await.unwrap().1,
        Health::Healthy
    );
    assert_eq!(
        task_state(&registry, legacy).await.unwrap().1,
        Health::Unknown
    );

    // 1.4.x: health_status_changed_event with the instance id of a legacy task.
    post(
        &sub,
        &json!({"eventType": "health_status_changed_event", "timestamp": at(3), "appId": "/web",
        "instanceId": "web.marathon-33333333-0000-0000-0000-000000000001", "alive": true}),
    )
    .await;
    settle(&sub).await;
    assert_eq!(
        task_state(&registry, legacy).await.unwrap().1,
        Health::Healthy
    );

    // ≤1.3: failed_health_check_event with the task id; 1.5+: taskId holding an instance id.
    post(
        &sub,
        &json!({"eventType": "failed_health_check_event", "timestamp": at(4), "appId": "/web",
        "taskId": legacy, "healthCheck": {"protocol": "HTTP"}}),
    )
    .await;
    post(
        &sub,
        &json!({"eventType": "failed_health_check_event", "timestamp": at(4), "appId": "/web",
        "taskId": "web.instance-22222222-0000-0000-0000-000000000001", "healthCheck": {}}),
    )
    .await;
    settle(&sub).await;
    assert_eq!(
        task_state(&registry, legacy).await.unwrap().1,
        Health::Unhealthy
    );
    assert_eq!(
        task_state(&registry, modern).await.unwrap().1,
        Health::Unhealthy
    );

    // An older verdict does not undo a newer one.
    post(
        &sub,
        &json!({"eventType": "health_status_changed_event", "timestamp": at(3), "appId": "/web",
        "taskId": legacy, "alive": true}),
    )
    .await;
    settle(&sub).await;
    assert_eq!(
        task_state(&registry, legacy).await.unwrap().1,
        Health::Unhealthy
    );
    sub.stop().await;
}

#[tokio::test]
async fn app_events_store_and_remove_apps_with_their_tasks() {
    let (_etcd, registry, _sim, sub) = setup(&[]).await;
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/marathon/events/api_post_event.json"
    ))
    .unwrap();
    assert_eq!(post_callback(&sub, fixture).await.0, 200);
    post(
        &sub,
        &status(
            "web.cccccccc-0000-0000-0000-000000000001",
            "TASK_RUNNING",
            1,
        ),
    )
    .await;
    post(
        &sub,
        &status(
            "web.cccccccc-0000-0000-0000-000000000002",
            "TASK_RUNNING",
            1,
        ),
    )
    .await;
    settle(&sub).await;
    let s = registry.list(&Scope::All).await.unwrap();
    let my_app = s
        .apps
        .iter()
        .find(|a| a.record.app_id.as_str() == "/my-app")
        .expect("/my-app");
    assert_eq!(my_app.record.ports[0].service_port, Some(10001));
    assert_eq!(s.tasks.len(), 2);

    post(
        &sub,
        &json!({"eventType": "app_terminated_event", "appId": "/web", "timestamp": at(9)}),
    )
    .await;
    settle(&sub).await;
    let s = registry.list(&Scope::All).await.unwrap();
    assert!(s.tasks.is_empty());
    assert!(s.apps.iter().all(|a| a.record.app_id.as_str() != "/web"));
    sub.stop().await;
}

#[tokio::test]
async fn every_fixture_event_is_accepted_or_ignored() {
    let (_etcd, _registry, _sim, sub) = setup(&[]).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/marathon/events");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let (code, body) = post_callback(&sub, std::fs::read(&path).unwrap()).await;
        assert_eq!(code, 200, "{}: {body}", path.display());
        n += 1;
    }
    assert!(n > 20);
    sub.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_writes_nothing() {
    let (_etcd, registry, _sim, sub) = setup(&[]).await;
    let before = revision(&registry).await;
    let ok_task = "web.dddddddd-0000-0000-0000-000000000001";
    let with = |k: &str, v: Value| {
        let mut e = status(ok_task, "TASK_RUNNING", 1);
        e[k] = v;
        e.to_string()
    };
    let cases: Vec<(String, u16, &str)> = vec![
        ("{\"eventType\":".into(), 400, "invalid JSON"),
        ("".into(), 400, "invalid JSON"),
        ("[1,2]".into(), 400, "JSON object"),
        ("{\"taskId\":\"x\"}".into(), 400, "eventType"),
        (with("appId", json!("/Web")), 422, "appId"),
        (with("appId", json!("/")), 422, "root group"),
        (with("appId", json!(7)), 422, "appId must be a string"),
        (with("taskId", json!("web/1")), 422, "taskId"),
        (with("taskId", json!("")), 422, "taskId"),
        (with("ports", json!([31000, 65536])), 422, "ports[1]"),
        (with("ports", json!([0])), 422, "ports[0]"),
        (with("ports", json!(["80"])), 422, "ports[0]"),
        (
            with("ipAddresses", json!([{"ipAddress": "999.1.1.1"}])),
            422,
            "not an IP",
        ),
        (with("timestamp", json!("soon")), 422, "timestamp"),
        (with("host", json!("bad host")), 422, "host"),
        (
            json!({"eventType": "app_terminated_event", "appId": "../x"}).to_string(),
            422,
            "appId",
        ),
        ("[".repeat(10_000), 400, "invalid JSON"),
    ];
    for (body, want, needle) in cases {
        let (code, answer) = post_callback(&sub, body.clone()).await;
        assert_eq!(code, want, "{body:.80}: {answer}");
        assert!(
            answer["error"].as_str().unwrap_or("").contains(needle),
            "{body:.80}: {answer}"
        );
    }
    let (code, _) = post_callback(&sub, vec![0xffu8, 0xfe, 0x00, 0x7b]).await;
    assert_eq!(code, 400);
    // Over the 1 MiB cap.
    let big = format!(
        "{{\"eventType\":\"x\",\"pad\":\"{}\"}}",
        "a".repeat(1024 * 1024)
    );
    assert_eq!(post_callback(&sub, big).await.0, 413);
    settle(&sub).await;
    assert_eq!(revision(&registry).await, before, "nothing was written");

    // Garbage never makes it fall over: mutated events, then a normal one still works.
    let seed = status(ok_task, "TASK_RUNNING", 1).to_string().into_bytes();
    for i in 0..300usize {
        let mut bytes = seed.clone();
        let at = (i * 7919) % bytes.len();
        bytes[at] = (i * 31) as u8;
        bytes.truncate(bytes.len() - (i % 5));
        let (code, _) = post_callback(&sub, bytes).await;
        assert!(code == 200 || code == 400 || code == 422, "status {code}");
    }
    assert_eq!(post(&sub, &status(ok_task, "TASK_RUNNING", 1)).await, 200);
    sub.stop().await;
}

/// A client that announces a body and then stalls gets 408 after
/// `api::BODY_TIMEOUT`, its connection is closed, and nothing is written; others are
/// served meanwhile.
#[tokio::test]
async fn a_stalled_body_gets_408_and_writes_nothing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let (_etcd, registry, _sim, sub) = setup(&[]).await;
    let before = revision(&registry).await;
    let event = status(
        "web.ffffffff-0000-0000-0000-000000000001",
        "TASK_RUNNING",
        1,
    )
    .to_string();
    let mut slow = tokio::net::TcpStream::connect(sub.addr()).await.unwrap();
    let head = format!(
        "POST /callback HTTP/1.1\r\nhost: herald\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        event.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&event.as_bytes()[..10]).await.unwrap();
    // Others are not held up by the stalled one.
    let (code, _) = get_json(&url(&sub, "/healthz")).await.unwrap();
    assert_eq!(code, 200);
    let limit = herald_subscriber::api::BODY_TIMEOUT + Duration::from_secs(20);
    let mut answer = Vec::new();
    tokio::time::timeout(limit, slow.read_to_end(&mut answer))
        .await
        .expect("the server closes a stalled connection")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive"), "{answer}");
    settle(&sub).await;
    assert_eq!(revision(&registry).await, before, "nothing was written");
    sub.stop().await;
}

#[tokio::test]
async fn callback_and_cleanup_auth() {
    let (_etcd, _registry, _sim, sub) =
        setup(&["--api-token", "t0ken", "--api-credentials", "ops:pw"]).await;
    let event = status(
        "web.eeeeeeee-0000-0000-0000-000000000001",
        "TASK_RUNNING",
        1,
    )
    .to_string();
    let client = http();
    let send =
        |req: reqwest::RequestBuilder| async move { req.send().await.unwrap().status().as_u16() };
    assert_eq!(
        send(client.post(url(&sub, "/callback")).body(event.clone())).await,
        401
    );
    assert_eq!(
        send(
            client
                .post(url(&sub, "/callback?token=t0ken"))
                .body(event.clone())
        )
        .await,
        200
    );
    assert_eq!(
        send(
            client
                .post(url(&sub, "/callback"))
                .bearer_auth("t0ken")
                .body(event.clone())
        )
        .await,
        200
    );
    assert_eq!(
        send(
            client
                .post(url(&sub, "/callback"))
                .basic_auth("ops", Some("pw"))
                .body(event.clone())
        )
        .await,
        200
    );
    assert_eq!(send(client.get(url(&sub, "/cleanup"))).await, 401);
    assert_eq!(
        send(client.get(url(&sub, "/cleanup")).bearer_auth("t0ken")).await,
        200
    );
    assert_eq!(
        send(client.post(url(&sub, "/cleanup")).bearer_auth("wrong")).await,
        401
    );
    // Read views and health stay open.
    assert_eq!(send(client.get(url(&sub, "/v1/tasks"))).await, 200);
    assert_eq!(send(client.get(url(&sub, "/healthz"))).await, 200);
    sub.stop().await;
}

#[tokio::test]
async fn a_full_queue_answers_503_and_loses_no_accepted_event() {
    let (etcd, registry, sim, sub) = setup(&["--queue-capacity", "2"]).await;
    // Marathon fails: the resyncs the 503s schedule cannot remove anything, so what ends
    // up in etcd is exactly what the handler wrote.
    sim.set_failing(true);
    // Freeze etcd: the handler blocks on its first batch, the queue fills.
    etcd.freeze();
    let mut accepted = Vec::new();
    let mut refused = 0;
    for i in 1..=40u32 {
        let task = format!("web.ffffffff-0000-0000-0000-{i:012}");
        match post(&sub, &status(&task, "TASK_RUNNING", 1)).await {
            200 => accepted.push(task),
            503 => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(refused > 0, "the queue never filled");
    assert!(!accepted.is_empty());
    etcd.thaw();
    eventually(
        "every accepted event is written once etcd answers",
        WAIT,
        async || {
            let tasks = stored_tasks(&registry).await;
            accepted.iter().all(|t| tasks.contains_key(t)).then_some(())
        },
    )
    .await;
    sub.stop().await;
}
