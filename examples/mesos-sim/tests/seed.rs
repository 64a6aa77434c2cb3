//! Seeding from the recordings in `testdata/mesos/`: snapshots round-trip, replayed records go
//! out byte for byte, and the state at the end is what dcos-net expects after the replay.
#![allow(clippy::unwrap_used)]

use crate::common::*;

use mesos_sim::{SimConfig, Simulator};
use serde_json::Value;

async fn empty() -> Simulator {
    Simulator::start(SimConfig {
        agents: 0,
        marathon: false,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// `v` with every number as a float (the recordings print some doubles as integers).
fn floats(v: &Value) -> Value {
    match v {
        Value::Number(n) => serde_json::json!(n.as_f64().unwrap()),
        Value::Array(a) => Value::Array(a.iter().map(floats).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), floats(v))).collect()),
        v => v.clone(),
    }
}

#[tokio::test]
async fn a_recorded_get_state_is_served_back_unchanged() {
    for name in ["dcos-net/unhealthy.json", "dcos-net/tcp-and-udp.json"] {
        let s = empty().await;
        assert_eq!(s.seed(&fixture_text(name)).unwrap(), 1);
        let got = call(&s.leader_url().unwrap(), "GET_STATE").await.json();
        assert_eq!(floats(&got), floats(&fixture(name)), "{name}");
    }
}

#[tokio::test]
async fn replayed_records_go_out_byte_for_byte() {
    let s = empty().await;
    let text = fixture_text("dcos-net/operator-api.json");
    let (first, rest) = text.split_once('\n').unwrap();
    s.seed(first).unwrap();
    let mut st = subscribe(&s.leader_url().unwrap()).await;
    let sub = st.next_record(T).await.unwrap();
    let recorded: Value = serde_json::from_str(first).unwrap();
    assert_eq!(
        floats(&sub["subscribed"]["get_state"]),
        floats(&recorded["subscribed"]["get_state"])
    );
    st.next_record(T).await.unwrap(); // HEARTBEAT
    let start = st.raw.len();
    let n = s.seed(rest).unwrap();
    assert_eq!(n, 37);
    st.events(n).await;
    let mut want = Vec::new();
    for line in rest.lines().filter(|l| !l.is_empty()) {
        want.extend_from_slice(format!("{}\n{line}", line.len()).as_bytes());
    }
    let got = st.raw[start..].to_vec();
    // Heartbeats may be interleaved; drop them before comparing.
    let heartbeat = b"20\n{\"type\":\"HEARTBEAT\"}";
    let mut cleaned = Vec::new();
    let mut i = 0;
    while i < got.len() {
        if got[i..].starts_with(heartbeat) {
            i += heartbeat.len();
        } else {
            cleaned.push(got[i]);
            i += 1;
        }
    }
    assert_eq!(
        String::from_utf8(cleaned).unwrap(),
        String::from_utf8(want).unwrap()
    );
}

#[tokio::test]
async fn the_state_after_a_replay_is_what_dcos_net_expects() {
    let s = empty().await;
    s.seed(&fixture_text("dcos-net/operator-api.json")).unwrap();
    let state = s.state_json();
    let tasks = state["get_state"]["get_tasks"]["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 12);
    assert!(tasks.iter().all(|t| t["state"] == "TASK_RUNNING"));
    let ip_of = |prefix: &str| -> Vec<String> {
        let t = tasks
            .iter()
            .find(|t| t["task_id"]["value"].as_str().unwrap().starts_with(prefix))
            .unwrap();
        let last = t["statuses"].as_array().unwrap().last().unwrap();
        last["container_status"]["network_infos"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|n| n["ip_addresses"].as_array().unwrap().clone())
            .map(|a| a["ip_address"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ip_of("docker-on-bridge."), ["172.18.0.2"]);
    assert_eq!(
        ip_of("docker-on-ipv6."),
        ["172.19.0.2", "fd01:b::2:8000:0:2"]
    );
    assert_eq!(ip_of("pod-on-bridge."), ["172.31.254.4"]);
    let frameworks: Vec<&str> = state["get_state"]["get_frameworks"]["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["framework_info"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(frameworks, ["metronome", "marathon"]);
    // /master/state shows the same tasks, under Marathon.
    let v0 = get(&format!("{}/master/state", s.leader_url().unwrap()))
        .await
        .json();
    let marathon = v0["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "marathon")
        .unwrap();
    assert_eq!(marathon["tasks"].as_array().unwrap().len(), 12);
    assert_eq!(v0["slaves"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn replays_with_removals_pods_and_fail_over_end_as_recorded() {
    // hello-world: tasks killed and finished, the SDK framework removed: no tasks left.
    let s = empty().await;
    s.seed(&fixture_text("dcos-net/hello-world.json")).unwrap();
    let state = s.state();
    assert!(state.get_tasks.tasks.is_empty());
    assert!(
        state
            .get_frameworks
            .completed_frameworks
            .iter()
            .any(|f| f.framework_info.name == "hello-world")
    );
    // pod-tasks: bar finished, foo runs.
    let s = empty().await;
    s.seed(&fixture_text("dcos-net/pod-tasks.json")).unwrap();
    let tasks = s.state().get_tasks.tasks;
    assert_eq!(tasks.len(), 1);
    assert!(tasks[0].task_id.value.ends_with(".foo"));
    // recovered-agents (keys sorted, `type` last): the failed task is gone, ._app.2 runs.
    let s = empty().await;
    assert_eq!(
        s.seed(&fixture_text("dcos-net/recovered-agents.json"))
            .unwrap(),
        9
    );
    let state = s.state();
    assert_eq!(state.get_tasks.tasks.len(), 1);
    assert!(state.get_tasks.tasks[0].task_id.value.ends_with("._app.2"));
    assert_eq!(state.get_agents.agents.len(), 1);
    assert!(state.get_agents.recovered_agents.is_empty());
    assert!(s.seed("not json\n").is_err());
}
