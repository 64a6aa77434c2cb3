//! The `SUBSCRIBE` stream: RecordIO framing, `SUBSCRIBED` first then a `HEARTBEAT`, the events
//! of each scenario step, heartbeats, and what breaks or closes a stream.
#![allow(clippy::unwrap_used)]

use crate::common::*;

use std::time::Duration;

use http::StatusCode;
use mesos_sim::{
    AgentSpec, FrameworkSpec, FrameworkUpdate, Networking, PodSpec, PortSpec, SimConfig, Simulator,
    SlowConsumer, TaskSpec, TaskState, TaskUpdate,
};
use serde_json::Value;

fn config() -> SimConfig {
    SimConfig {
        heartbeat: Duration::from_millis(200),
        ..SimConfig::default()
    }
}

async fn sim() -> Simulator {
    Simulator::start(config()).await.unwrap()
}

/// A stream on the leader, past its `SUBSCRIBED` and first `HEARTBEAT`.
async fn stream(s: &Simulator) -> (EventStream, Value) {
    let mut st = subscribe(&s.leader_url().unwrap()).await;
    assert_eq!(st.status, StatusCode::OK);
    let subscribed = st.next_record(T).await.expect("SUBSCRIBED");
    assert_eq!(subscribed["type"], "SUBSCRIBED");
    let hb = st.next_record(T).await.expect("HEARTBEAT");
    assert_eq!(hb, serde_json::json!({"type": "HEARTBEAT"}));
    (st, subscribed)
}

#[tokio::test]
async fn subscribed_comes_first_with_the_snapshot_then_a_heartbeat() {
    let s = sim().await;
    let task = s
        .launch_task(TaskSpec::new("/web").with_ports(vec![PortSpec::new("http", 80)]))
        .unwrap();
    let (st, subscribed) = stream(&s).await;
    assert_eq!(st.headers["content-type"], "application/json");
    assert!(st.headers.get("content-length").is_none());
    assert_eq!(st.headers["transfer-encoding"], "chunked");
    // Byte level: "<len>\n<json>" with nothing after the JSON.
    let first_nl = st.raw.iter().position(|b| *b == b'\n').unwrap();
    let len: usize = std::str::from_utf8(&st.raw[..first_nl])
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(&st.raw[first_nl + 1..first_nl + 3], b"{\"");
    assert_eq!(
        &st.raw[first_nl + 1 + len..first_nl + 1 + len + 23],
        b"20\n{\"type\":\"HEARTBEAT\"}"
    );
    assert!(st.raw.starts_with(
        format!("{len}\n{{\"type\":\"SUBSCRIBED\",\"subscribed\":{{\"get_state\":").as_bytes()
    ));
    let sub = &subscribed["subscribed"];
    assert_eq!(sub["heartbeat_interval_seconds"], 0.2);
    assert_eq!(sub["get_state"], s.state_json()["get_state"]);
    let tasks = sub["get_state"]["get_tasks"]["tasks"].as_array().unwrap();
    assert_eq!(tasks[0]["task_id"]["value"], task.as_str());
    // The recorded snapshot has no key or type we differ in.
    let rec = &fixture_records("dcos-net/operator-api.json")[0];
    assert_has_keys_of(&rec["subscribed"]["get_state"], &sub["get_state"], "", &[]);
    assert_state_shape(&sub["get_state"]);
}

#[tokio::test]
async fn each_task_step_sends_its_events() {
    let s = sim().await;
    let (mut st, _) = stream(&s).await;
    let id = s
        .launch_task(
            TaskSpec::new("/web")
                .with_networking(Networking::Bridge)
                .with_ports(vec![PortSpec::new("http", 8080)])
                .with_health_check(),
        )
        .unwrap();
    let ev = st.events(4).await;
    assert_eq!(
        summary(&ev),
        [
            "TASK_ADDED:TASK_STAGING",
            "TASK_UPDATED:TASK_STARTING",
            "TASK_UPDATED:TASK_RUNNING",
            "TASK_UPDATED:TASK_RUNNING"
        ]
    );
    assert!(
        ev[0]["task_added"]["task"].get("statuses").is_none(),
        "a new task has no statuses"
    );
    let health = &ev[3]["task_updated"]["status"];
    assert_eq!(health["healthy"], true);
    assert_eq!(health["reason"], "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED");
    assert_eq!(
        ev[3]["task_updated"]["framework_id"]["value"],
        s.marathon_id().unwrap()
    );
    assert!(health["uuid"].as_str().unwrap().ends_with("=="));
    assert!(
        ev[2]["task_updated"]["status"]["timestamp"]
            .as_f64()
            .unwrap()
            < health["timestamp"].as_f64().unwrap()
    );
    // Health flips keep the state.
    s.set_health(&id, false).unwrap();
    let ev = st.next_event().await;
    assert_eq!(
        summary(std::slice::from_ref(&ev)),
        ["TASK_UPDATED:TASK_RUNNING"]
    );
    assert_eq!(ev["task_updated"]["status"]["healthy"], false);
    // A repeated state without a health reason is recorded but not sent.
    s.update_task(&id, TaskUpdate::new(TaskState::Running))
        .unwrap();
    // `state` can run ahead of `status.state`.
    s.update_task(
        &id,
        TaskUpdate {
            status_state: Some(TaskState::Running),
            ..TaskUpdate::new(TaskState::Killing)
        },
    )
    .unwrap();
    let ev = st.next_event().await;
    assert_eq!(ev["task_updated"]["state"], "TASK_KILLING");
    assert_eq!(ev["task_updated"]["status"]["state"], "TASK_RUNNING");
    // Kill: Marathon has TASK_KILLING_STATE.
    let other = s.launch_task(TaskSpec::new("/other")).unwrap();
    st.events(3).await;
    s.kill_task(&other).unwrap();
    assert_eq!(
        summary(&st.events(2).await),
        ["TASK_UPDATED:TASK_KILLING", "TASK_UPDATED:TASK_KILLED"]
    );
    // A framework without that capability: straight to TASK_KILLED.
    let fw = s.add_framework(FrameworkSpec::new("chronos")).unwrap();
    st.next_event().await;
    let t = s
        .launch_task(TaskSpec::new("/job").of_framework(&fw))
        .unwrap();
    st.events(3).await;
    s.kill_task(&t).unwrap();
    assert_eq!(
        summary(&[st.next_event().await]),
        ["TASK_UPDATED:TASK_KILLED"]
    );
    let state = s.state();
    assert!(
        state
            .get_tasks
            .completed_tasks
            .iter()
            .any(|t| t.task_id.value == other)
    );
}

#[tokio::test]
async fn agents_and_frameworks_come_and_go() {
    let s = sim().await;
    let (mut st, _) = stream(&s).await;
    let agent = s.add_agent(AgentSpec::new("127.0.0.50")).unwrap();
    let ev = st.next_event().await;
    assert_eq!(ev["type"], "AGENT_ADDED");
    assert_eq!(
        ev["agent_added"]["agent"]["pid"],
        "slave(1)@127.0.0.50:5051"
    );
    let rec = &fixture_records("dcos-net/recovered-agents.json")[2];
    assert_has_keys_of(rec, &ev, "", &["agent_added.agent.capabilities"]);
    let t = s
        .launch_task(TaskSpec::new("/web").on_agent(&agent))
        .unwrap();
    st.events(3).await;
    s.remove_agent(&agent).unwrap();
    let ev = st.events(2).await;
    assert_eq!(summary(&ev), ["TASK_UPDATED:TASK_LOST", "AGENT_REMOVED"]);
    let lost = &ev[0]["task_updated"]["status"];
    assert_eq!(lost["task_id"]["value"], t.as_str());
    assert_eq!(lost["source"], "SOURCE_MASTER");
    assert_eq!(lost["reason"], "REASON_SLAVE_REMOVED");
    assert_eq!(
        ev[1],
        serde_json::json!({"type": "AGENT_REMOVED", "agent_removed": {"agent_id": {"value": agent}}})
    );

    let fw = s
        .add_framework(FrameworkSpec {
            hostname: Some("10.0.0.9".into()),
            ..FrameworkSpec::new("hello-world")
        })
        .unwrap();
    let ev = st.next_event().await;
    assert_eq!(ev["type"], "FRAMEWORK_ADDED");
    s.update_framework(
        &fw,
        FrameworkUpdate {
            connected: Some(false),
            ..Default::default()
        },
    )
    .unwrap();
    let ev = st.next_event().await;
    assert_eq!(ev["type"], "FRAMEWORK_UPDATED");
    assert_eq!(ev["framework_updated"]["framework"]["connected"], false);
    let t = s
        .launch_task(TaskSpec::new("/hello").of_framework(&fw))
        .unwrap();
    st.events(3).await;
    s.remove_framework(&fw).unwrap();
    let ev = st.events(2).await;
    assert_eq!(
        summary(&ev),
        ["TASK_UPDATED:TASK_KILLED", "FRAMEWORK_REMOVED"]
    );
    assert_eq!(
        ev[0]["task_updated"]["status"]["reason"],
        "REASON_FRAMEWORK_REMOVED"
    );
    assert_eq!(
        ev[0]["task_updated"]["status"]["task_id"]["value"],
        t.as_str()
    );
    assert_eq!(
        ev[1]["framework_removed"]["framework_info"]["name"],
        "hello-world"
    );
    assert!(
        s.state()
            .get_frameworks
            .completed_frameworks
            .iter()
            .any(|f| f.framework_info.name == "hello-world")
    );
}

#[tokio::test]
async fn pods_launch_container_by_container() {
    let s = sim().await;
    let (mut st, _) = stream(&s).await;
    let ids = s.launch_pod(PodSpec::new("/app", &["foo", "bar"])).unwrap();
    let ev = st.events(6).await;
    assert_eq!(
        summary(&ev),
        [
            "TASK_ADDED:TASK_STAGING",
            "TASK_ADDED:TASK_STAGING",
            "TASK_UPDATED:TASK_STARTING",
            "TASK_UPDATED:TASK_STARTING",
            "TASK_UPDATED:TASK_RUNNING",
            "TASK_UPDATED:TASK_RUNNING"
        ]
    );
    // Containers end on their own.
    s.update_task(&ids[1], TaskUpdate::new(TaskState::Finished))
        .unwrap();
    let ev = st.next_event().await;
    assert_eq!(ev["task_updated"]["state"], "TASK_FINISHED");
    let state = s.state();
    assert_eq!(state.get_tasks.tasks.len(), 1);
    assert_eq!(state.get_tasks.tasks[0].task_id.value, ids[0]);
}

#[tokio::test]
async fn heartbeats_arrive_at_the_configured_period() {
    let s = sim().await;
    let (mut st, _) = stream(&s).await;
    st.until_heartbeats(4).await;
    assert!(st.heartbeats >= 4);
    // A stalled master sends nothing, then everything it held.
    s.set_stalled(true);
    for _ in 0..5 {
        // At most what was already on its way.
        if st.next_record(Duration::from_millis(300)).await.is_none() {
            break;
        }
    }
    s.add_agent(AgentSpec::new("127.0.0.60")).unwrap();
    assert!(
        st.next_record(Duration::from_millis(600)).await.is_none(),
        "nothing while stalled"
    );
    s.set_stalled(false);
    assert_eq!(st.next_event().await["type"], "AGENT_ADDED");
}

#[tokio::test]
async fn leader_change_breaks_old_streams_and_the_new_leader_serves() {
    let s = sim().await;
    let (mut old, _) = stream(&s).await;
    s.set_leader(Some(1)).await.unwrap();
    assert!(old.wait_closed(T).await, "the old leader's stream ends");
    assert!(
        old.broken,
        "by a broken connection, as when the old leader aborts"
    );
    assert_eq!(
        subscribe(&s.master_urls()[0]).await.status,
        StatusCode::TEMPORARY_REDIRECT
    );
    let mut st = subscribe(&s.master_urls()[1]).await;
    assert_eq!(st.status, StatusCode::OK);
    let sub = st.next_record(T).await.unwrap();
    assert_eq!(
        sub["subscribed"]["get_state"]["get_agents"]["agents"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    s.add_agent(AgentSpec::new("127.0.0.70")).unwrap();
    assert_eq!(st.next_event().await["type"], "AGENT_ADDED");
}

#[tokio::test]
async fn fail_over_starts_from_recovered_agents_until_they_reregister() {
    let s = sim().await;
    let agents = s.agent_ids();
    let t = s
        .launch_task(TaskSpec::new("/web").on_agent(&agents[0]))
        .unwrap();
    s.fail_over(2).await.unwrap();
    let mut st = subscribe(&s.master_urls()[2]).await;
    let sub = st.next_record(T).await.unwrap();
    let state = &sub["subscribed"]["get_state"];
    assert_eq!(
        state["get_agents"]["recovered_agents"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(state["get_agents"].get("agents").is_none());
    assert_eq!(state["get_tasks"], serde_json::json!({}));
    assert_eq!(state["get_frameworks"], serde_json::json!({}));
    assert_state_shape(&sub["subscribed"]["get_state"]);
    s.reregister_agent(&agents[0]).unwrap();
    let ev = st.events(3).await;
    assert_eq!(
        summary(&ev),
        ["FRAMEWORK_ADDED", "TASK_ADDED:TASK_RUNNING", "AGENT_ADDED"]
    );
    let fw = &ev[0]["framework_added"]["framework"];
    assert_eq!(
        (fw["recovered"].clone(), fw["active"].clone()),
        (Value::Bool(true), Value::Bool(false))
    );
    assert_eq!(ev[1]["task_added"]["task"]["task_id"]["value"], t.as_str());
    s.reregister_framework(&s.marathon_id().unwrap()).unwrap();
    let ev = st.next_event().await;
    assert_eq!(ev["type"], "FRAMEWORK_UPDATED");
    assert_eq!(ev["framework_updated"]["framework"]["recovered"], false);
}

#[tokio::test]
async fn unreachable_agents_change_only_their_tasks() {
    let s = sim().await;
    let agents = s.agent_ids();
    let t = s
        .launch_task(TaskSpec::new("/web").on_agent(&agents[1]))
        .unwrap();
    let (mut st, _) = stream(&s).await;
    s.mark_agent_unreachable(&agents[1]).unwrap();
    let ev = st.next_event().await;
    assert_eq!(summary(&[ev]), ["TASK_UPDATED:TASK_UNREACHABLE"]);
    let state = s.state();
    assert_eq!(state.get_agents.agents.len(), 1);
    assert_eq!(state.get_tasks.unreachable_tasks[0].task_id.value, t);
    s.reregister_agent(&agents[1]).unwrap();
    assert_eq!(
        summary(&st.events(2).await),
        ["TASK_ADDED:TASK_RUNNING", "AGENT_ADDED"]
    );
    assert_eq!(s.state().get_tasks.tasks[0].task_id.value, t);
}

#[tokio::test]
async fn streams_can_be_dropped_cleanly_capped_and_rechunked() {
    let s = Simulator::start(SimConfig {
        max_subscribers: 2,
        chunk_size: Some(7),
        ..config()
    })
    .await
    .unwrap();
    let (mut a, _) = stream(&s).await;
    assert!(a.frames > 2, "records split over many chunks");
    let (mut b, _) = stream(&s).await;
    let (_c, _) = stream(&s).await;
    assert!(
        a.wait_closed(T).await,
        "the oldest stream goes beyond the cap"
    );
    assert!(!a.broken);
    s.drop_event_streams(false);
    assert!(b.wait_closed(T).await);
    assert!(!b.broken, "a clean close ends the chunked body");
    assert_eq!(s.event_streams(), 0);
}

#[tokio::test]
async fn slow_consumers_are_closed_under_the_close_policy() {
    let s = sim().await;
    s.set_slow_consumer(SlowConsumer::Close(5));
    let (mut st, _) = stream(&s).await;
    // Not read: the queue grows past the limit.
    s.set_stalled(true);
    for i in 0..10 {
        s.add_agent(AgentSpec::new(format!("127.0.1.{i}"))).unwrap();
    }
    s.set_stalled(false);
    assert!(st.wait_closed(T).await);
    assert_eq!(s.event_streams(), 0);
}

#[tokio::test]
async fn raw_bytes_and_lost_events() {
    let s = sim().await;
    let (mut st, _) = stream(&s).await;
    s.set_event_delivery(false);
    s.add_agent(AgentSpec::new("127.0.0.80")).unwrap();
    s.set_event_delivery(true);
    s.emit_json(r#"{"type":"SOMETHING_NEW","something_new":{}}"#)
        .unwrap();
    assert_eq!(
        st.next_event().await["type"],
        "SOMETHING_NEW",
        "the lost AGENT_ADDED never came"
    );
    assert_eq!(
        s.state().get_agents.agents.len(),
        3,
        "but the state changed"
    );
    s.emit_bytes(&b"2\n{}"[..]);
    assert_eq!(st.next_event().await, serde_json::json!({}));
}
