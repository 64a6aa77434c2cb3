//! Plain answers: request checks, the `GET_*` calls and `/master/state` against the recorded
//! shapes, and how followers, a leaderless cluster and a recovering leader answer.
#![allow(clippy::unwrap_used)]

use crate::common::*;

use http::{Method, StatusCode};
use mesos_sim::{
    Containerizer, Networking, PodSpec, PortSpec, SimConfig, Simulator, TaskSpec, TaskState,
    TaskUpdate,
};
use serde_json::Value;

async fn sim() -> Simulator {
    Simulator::start(SimConfig::default()).await.unwrap()
}

fn leader(s: &Simulator) -> String {
    s.leader_url().unwrap()
}

#[tokio::test]
async fn requests_are_checked_like_the_masters() {
    let s = sim().await;
    let url = format!("{}/api/v1", leader(&s));
    let r = request(Method::GET, &url, &[], "").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow"), "POST");
    let body = r#"{"type":"GET_STATE"}"#;
    let r = request(Method::POST, &url, &[], body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("Content-Type"), "{}", r.body);
    for ct in [
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-protobuf",
    ] {
        let r = request(Method::POST, &url, &[("content-type", ct)], body).await;
        assert_eq!(
            r.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{ct}: {}",
            r.body
        );
    }
    let r = post(&url, "{not json").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = post(&url, r#"{"type":"NO_SUCH_CALL"}"#).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = post(&url, r#"{"type":"GET_FLAGS"}"#).await;
    assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED);
    let r = request(
        Method::POST,
        &url,
        &[
            ("content-type", "application/json"),
            ("accept", "application/x-protobuf"),
        ],
        body,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);
    // The same handler answers on /master/api/v1.
    let r = post(&format!("{}/master/api/v1", leader(&s)), body).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/json");
}

/// A cluster like the recorded ones: Marathon tasks on each networking mode, a
/// health-checked one, a pod, a second framework with a task.
fn populate(s: &Simulator) -> Vec<String> {
    let mut ids = vec![
        s.launch_task(
            TaskSpec::new("/docker-on-bridge")
                .with_networking(Networking::Bridge)
                .with_ports(vec![PortSpec::new("http", 8080)]),
        )
        .unwrap(),
        s.launch_task(TaskSpec {
            containerizer: Some(Containerizer::Mesos),
            ..TaskSpec::new("/app")
                .with_networking(Networking::Container("dcos".into()))
                .with_ports(vec![PortSpec::new("http", 80)])
                .with_health_check()
        })
        .unwrap(),
        s.launch_task(TaskSpec::new("/none-on-host").with_ports(vec![PortSpec::new("http", 0)]))
            .unwrap(),
    ];
    ids.extend(s.launch_pod(PodSpec::new("/app", &["foo", "bar"])).unwrap());
    ids
}

#[tokio::test]
async fn get_state_has_the_recorded_shape() {
    let s = sim().await;
    populate(&s);
    let got = call(&leader(&s), "GET_STATE").await;
    assert_eq!(got.status, StatusCode::OK);
    let got = got.json();
    assert_eq!(
        got,
        s.state_json(),
        "the library's view is what the master serves"
    );
    // The recorded masters' task (Mesos containerizer, container network, health check) has
    // no key we lack.
    let checked = got["get_state"]["get_tasks"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t.get("health_check").is_some())
        .unwrap()
        .clone();
    let want = fixture("dcos-net/unhealthy.json");
    assert_has_keys_of(
        &want["get_state"]["get_tasks"]["tasks"][0],
        &checked,
        "task",
        &[],
    );
    let recorded = fixture("dcos-net/unhealthy.json");
    for key in ["get_agents", "get_frameworks", "get_tasks", "get_executors"] {
        assert!(got["get_state"].get(key).is_some(), "{key}");
    }
    assert_has_keys_of(
        &recorded["get_state"]["get_frameworks"]["frameworks"][0],
        &got["get_state"]["get_frameworks"]["frameworks"][0],
        "framework",
        &["framework.allocated_resources"],
    );
    assert_has_keys_of(
        &recorded["get_state"]["get_agents"]["agents"][0],
        &got["get_state"]["get_agents"]["agents"][0],
        "agent",
        &["agent.allocated_resources"],
    );
    // And nothing the recordings do not have: the whole snapshot against every recorded one,
    // each task against every recorded task.
    assert_state_shape(&got["get_state"]);
}

#[tokio::test]
async fn tasks_look_like_marathons_in_the_recordings() {
    let s = sim().await;
    let ids = populate(&s);
    let state = s.state_json();
    let tasks = state["get_state"]["get_tasks"]["tasks"]
        .as_array()
        .unwrap()
        .clone();
    let by_id = |id: &str| -> Value {
        tasks
            .iter()
            .find(|t| t["task_id"]["value"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no task {id}"))
    };
    let recorded: Vec<Value> = fixture_records("dcos-net/operator-api.json");
    let recorded_task = |prefix: &str| -> Value {
        recorded
            .iter()
            .find(|r| {
                r["task_added"]["task"]["task_id"]["value"]
                    .as_str()
                    .is_some_and(|id| id.starts_with(prefix))
            })
            .map(|r| r["task_added"]["task"].clone())
            .unwrap()
    };
    // Docker bridge: a host port mapped to 8080, network-scope host, the bridge IP.
    let bridge = by_id(&ids[0]);
    assert!(recorded_task("docker-on-bridge.")["container"]["docker"]["port_mappings"].is_array());
    assert_recorded_shape(
        &serde_json::json!({"type": "TASK_ADDED", "task_added": {"task": bridge}}),
    );
    let pm = &bridge["container"]["docker"]["port_mappings"][0];
    assert_eq!(pm["container_port"], 8080);
    assert_eq!(
        bridge["discovery"]["ports"]["ports"][0]["number"],
        pm["host_port"]
    );
    assert_eq!(
        bridge["discovery"]["ports"]["ports"][0]["labels"]["labels"][0]["value"],
        "host"
    );
    let ports = &bridge["resources"][2];
    assert_eq!(ports["name"], "ports");
    assert_eq!(ports["ranges"]["range"][0]["begin"], pm["host_port"]);
    let ip = &bridge["statuses"][1]["container_status"]["network_infos"][0]["ip_addresses"][0];
    assert!(
        ip["ip_address"].as_str().unwrap().starts_with("172.18."),
        "{ip}"
    );
    assert_eq!(bridge["name"], "docker-on-bridge");
    assert!(
        bridge["task_id"]["value"]
            .as_str()
            .unwrap()
            .starts_with("docker-on-bridge.instance-")
    );
    // Container network: the container port, network-scope container + network-name, a 9.x IP,
    // a health check and a healthy status.
    let overlay = by_id(&ids[1]);
    let port = &overlay["discovery"]["ports"]["ports"][0];
    assert_eq!(port["number"], 80);
    assert_eq!(port["labels"]["labels"][1]["value"], "dcos");
    assert_eq!(overlay["health_check"]["type"], "HTTP");
    let last = overlay["statuses"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["healthy"], true);
    assert_eq!(last["reason"], "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED");
    assert_eq!(last["container_status"]["network_infos"][0]["name"], "dcos");
    // One status per distinct state: STARTING and RUNNING (the health result replaced it).
    assert_eq!(overlay["statuses"].as_array().unwrap().len(), 2);
    // Host networking: the agent's IP, the host port in discovery, no scope label.
    let host = by_id(&ids[2]);
    let agent_ip = host["statuses"][1]["container_status"]["network_infos"][0]["ip_addresses"][0]["ip_address"].clone();
    assert!(
        agent_ip.as_str().unwrap().starts_with("127.0.0."),
        "{agent_ip}"
    );
    assert!(
        host["discovery"]["ports"]["ports"][0]
            .get("labels")
            .is_none()
    );
    // Pods: one executor, the pod name in discovery, the container name as name, one IP.
    let (foo, bar) = (by_id(&ids[3]), by_id(&ids[4]));
    assert_eq!(foo["name"], "foo");
    assert_eq!(foo["discovery"]["name"], "app");
    assert_eq!(foo["executor_id"], bar["executor_id"]);
    assert!(foo["task_id"]["value"].as_str().unwrap().ends_with(".foo"));
    let ip = |t: &Value| {
        t["statuses"][1]["container_status"]["network_infos"][0]["ip_addresses"][0]["ip_address"]
            .clone()
    };
    assert_eq!(ip(&foo), ip(&bar));
    assert!(foo["statuses"][1]["container_status"]["container_id"]["parent"].is_object());
    assert_recorded_shape(&serde_json::json!({"type": "TASK_ADDED", "task_added": {"task": foo}}));
    assert_eq!(
        state["get_state"]["get_executors"]["executors"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn other_calls_answer_from_the_same_state() {
    let s = sim().await;
    let base = leader(&s);
    let agents = call(&base, "GET_AGENTS").await.json();
    assert_eq!(agents["type"], "GET_AGENTS");
    assert_eq!(agents["get_agents"]["agents"].as_array().unwrap().len(), 2);
    let agent = &agents["get_agents"]["agents"][0];
    assert!(
        agent["pid"]
            .as_str()
            .unwrap()
            .starts_with("slave(1)@127.0.0.11:5051")
    );
    let fw = call(&base, "GET_FRAMEWORKS").await.json();
    assert_eq!(
        fw["get_frameworks"]["frameworks"][0]["framework_info"]["name"],
        "marathon"
    );
    let tasks = call(&base, "GET_TASKS").await.json();
    assert_eq!(
        tasks,
        serde_json::json!({"type": "GET_TASKS", "get_tasks": {}})
    );
    let master = call(&base, "GET_MASTER").await.json();
    let info = &master["get_master"]["master_info"];
    let port = s.master_addrs()[0].port();
    assert_eq!(info["address"]["port"], port);
    assert_eq!(info["address"]["ip"], "127.0.0.1");
    assert_eq!(
        info["ip"], 16777343,
        "127.0.0.1 in network order read as little-endian"
    );
    assert_eq!(info["pid"], format!("master@127.0.0.1:{port}"));
    assert!(master["get_master"]["elected_time"].is_f64());
    let health = call(&base, "GET_HEALTH").await.json();
    assert_eq!(health["get_health"]["healthy"], true);
    let version = call(&base, "GET_VERSION").await.json();
    assert_eq!(version["get_version"]["version_info"]["version"], "1.11.0");
}

#[tokio::test]
async fn master_state_has_the_layout_mesos_dns_reads() {
    let s = sim().await;
    let ids = populate(&s);
    s.update_task(&ids[4], TaskUpdate::new(TaskState::Finished))
        .unwrap();
    let r = get(&format!("{}/master/state", leader(&s))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains(r#"http:\/\/127.0.0.1:8080"#),
        "the master escapes '/'"
    );
    let got = r.json();
    assert_close(&got, &s.master_state_json(), "");
    let want = fixture("mesos-dns/fake.json");
    // Mesos-DNS's fake state is a 0.19-era file with later fields added: the counters and
    // git fields are not in a 1.x /master/state; everything else it has, we have too.
    let not_in_1x = [
        "failed_tasks",
        "finished_tasks",
        "killed_tasks",
        "lost_tasks",
        "staged_tasks",
        "started_tasks",
        "git_sha",
        "git_tag",
        "log_dir",
        "flags",
    ];
    // A task without host ports has no "ports" resource (as in Mesos' v0 JSON).
    // Attributes are free-form.
    let no_ports = ["frameworks.tasks.resources.ports", "slaves.attributes.host"];
    assert_has_keys_of(&strip(&want, &not_in_1x), &got, "", &no_ports);
    let marathon = got["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "marathon")
        .unwrap();
    assert!(
        marathon["pid"].as_str().unwrap().starts_with("scheduler-"),
        "{marathon}"
    );
    assert_eq!(marathon["hostname"], "127.0.0.1");
    let task = marathon["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == ids[0].as_str())
        .unwrap();
    let want_task = &want["frameworks"][3]["tasks"][0];
    assert_has_keys_of(want_task, task, "task", &["task.statuses.labels"]);
    assert!(marathon["tasks"][0]["resources"].get("cpus").is_some());
    assert!(
        task["resources"]["ports"]
            .as_str()
            .unwrap()
            .starts_with("[3"),
        "{task}"
    );
    assert_eq!(
        task["statuses"][0].as_object().unwrap().len(),
        3,
        "state, timestamp, container_status"
    );
    assert_eq!(marathon["completed_tasks"][0]["id"], ids[4].as_str());
    let slave = &got["slaves"][0];
    assert_eq!(slave["pid"], "slave(1)@127.0.0.11:5051");
    assert_eq!(slave["resources"]["ports"], "[31000-32000]");
    assert_eq!(got["leader"], format!("master@{}", s.master_addrs()[0]));
    for alias in ["/master/state.json", "/state", "/state.json"] {
        let r = get(&format!("{}{alias}", leader(&s))).await;
        assert_eq!(r.status, StatusCode::OK, "{alias}");
    }
}

/// `v` without the top-level keys `drop`.
fn strip(v: &Value, drop: &[&str]) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        for k in drop {
            m.remove(*k);
        }
    }
    v
}

#[tokio::test]
async fn followers_redirect_to_the_leader_and_leaderless_masters_refuse() {
    let s = sim().await;
    let urls = s.master_urls();
    let leader_port = s.master_addrs()[0].port();
    for follower in &urls[1..] {
        let r = call(follower, "GET_STATE").await;
        assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(
            r.header("location"),
            format!("//127.0.0.1:{leader_port}/master/api/v1")
        );
        let r = get(&format!("{follower}/master/state?jsonp=x")).await;
        assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(
            r.header("location"),
            format!("//127.0.0.1:{leader_port}/master/state?jsonp=x")
        );
        let r = get(&format!("{follower}/master/redirect")).await;
        assert_eq!(r.header("location"), format!("//127.0.0.1:{leader_port}"));
    }
    // The leader redirects to itself too.
    let r = get(&format!("{}/master/redirect", urls[0])).await;
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(r.header("location"), format!("//127.0.0.1:{leader_port}"));
    assert_eq!(
        get(&format!("{}/master/redirect/x", urls[0])).await.status,
        StatusCode::NOT_FOUND
    );
    // A leader still recovering.
    s.set_recovering(true);
    let r = call(&urls[0], "GET_STATE").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body, "Master has not finished recovery");
    s.set_recovering(false);
    // No leader elected.
    s.set_leader(None).await.unwrap();
    for url in &urls {
        let r = call(url, "GET_STATE").await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.body, "No leader elected");
        assert_eq!(
            get(&format!("{url}/master/redirect")).await.status,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    // A new leader: the others point at it.
    s.set_leader(Some(2)).await.unwrap();
    let r = call(&urls[0], "GET_STATE").await;
    assert_eq!(
        r.header("location"),
        format!("//127.0.0.1:{}/master/api/v1", s.master_addrs()[2].port())
    );
    assert_eq!(call(&urls[2], "GET_STATE").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_configured_hostname_is_what_redirects_name() {
    let cfg = SimConfig {
        hostname: Some("localhost".into()),
        ..SimConfig::default()
    };
    let s = Simulator::start(cfg).await.unwrap();
    let r = call(&s.master_urls()[1], "GET_STATE").await;
    let port = s.master_addrs()[0].port();
    assert_eq!(
        r.header("location"),
        format!("//localhost:{port}/master/api/v1")
    );
}
