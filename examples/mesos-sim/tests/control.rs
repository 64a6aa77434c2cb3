//! The `/sim/*` control API: the library's steps over HTTP, on any master.
#![allow(clippy::unwrap_used)]

use crate::common::*;

use http::{Method, StatusCode};
use mesos_sim::{SimConfig, Simulator};

#[tokio::test]
async fn the_control_api_drives_the_cluster() {
    let s = Simulator::start(SimConfig {
        heartbeat: std::time::Duration::from_millis(200),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let follower = s.master_urls()[1].clone();
    let sim = |path: &str| format!("{follower}/sim/{path}");
    let masters = get(&sim("masters")).await.json();
    assert_eq!(masters["leader"], 0);
    assert_eq!(masters["masters"].as_array().unwrap().len(), 3);
    let mut st = subscribe(&s.leader_url().unwrap()).await;
    st.next_record(T).await.unwrap();

    let agent = post(&sim("agents"), r#"{"hostname":"127.0.0.99"}"#).await;
    assert_eq!(agent.status, StatusCode::OK, "{}", agent.body);
    let agent = agent.json()["id"].as_str().unwrap().to_string();
    assert_eq!(st.next_event().await["type"], "AGENT_ADDED");

    let body = format!(
        r#"{{"app_id":"/web","agent":"{agent}","networking":"bridge","ports":[{{"name":"http","container_port":80}}],"health_check":true}}"#
    );
    let task = post(&sim("tasks"), &body).await;
    assert_eq!(task.status, StatusCode::OK, "{}", task.body);
    let task = task.json()["id"].as_str().unwrap().to_string();
    assert_eq!(summary(&st.events(4).await).len(), 4);
    let r = post(&sim(&format!("tasks/{task}/health?healthy=false")), "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        st.next_event().await["task_updated"]["status"]["healthy"],
        false
    );
    let r = post(
        &sim(&format!("tasks/{task}/update")),
        r#"{"state":"TASK_FAILED","message":"boom"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ev = st.next_event().await;
    assert_eq!(ev["task_updated"]["state"], "TASK_FAILED");
    assert_eq!(ev["task_updated"]["status"]["message"], "boom");
    let pod = post(
        &sim("pods"),
        r#"{"pod_id":"/grp/pod","containers":[["a",[]],["b",[]]]}"#,
    )
    .await;
    assert_eq!(pod.json()["ids"].as_array().unwrap().len(), 2);
    st.events(6).await;

    let fw = post(
        &sim("frameworks"),
        r#"{"name":"chronos","pid":"scheduler(1)@127.0.0.5:25501"}"#,
    )
    .await;
    let fw = fw.json()["id"].as_str().unwrap().to_string();
    assert_eq!(st.next_event().await["type"], "FRAMEWORK_ADDED");
    let r = post(&sim(&format!("frameworks/{fw}")), r#"{"active":false}"#).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        st.next_event().await["framework_updated"]["framework"]["active"],
        false
    );
    let r = request(Method::DELETE, &sim(&format!("frameworks/{fw}")), &[], "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(st.next_event().await["type"], "FRAMEWORK_REMOVED");
    let r = request(Method::DELETE, &sim(&format!("agents/{agent}")), &[], "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(st.next_event().await["type"], "AGENT_REMOVED");

    // Errors name what is wrong.
    let r = post(&sim("tasks/nope/kill"), "").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json()["message"].as_str().unwrap().contains("nope"));
    assert_eq!(
        post(&sim("agents"), "{").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(&sim("leader?master=9"), "").await.status,
        StatusCode::NOT_FOUND
    );

    // Faults and leadership.
    let r = post(&sim("events"), r#"{"type":"HEARTBEAT"}"#).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = post(&sim("drop-streams?abort=true"), "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(st.wait_closed(T).await && st.broken);
    let r = post(&sim("leader?master=1"), "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(s.leader(), Some(1));
    assert_eq!(call(&follower, "GET_HEALTH").await.status, StatusCode::OK);
    let r = post(&sim("seed"), &fixture_text("dcos-net/unhealthy.json")).await;
    assert_eq!(r.json()["records"], 1);
    assert_eq!(s.state().get_tasks.tasks.len(), 1);
    let state = get(&sim("state")).await.json();
    assert_eq!(state["get_tasks"]["tasks"][0]["name"], "app");
}
