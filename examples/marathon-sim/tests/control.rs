//! Basic auth, failing mode, the `/sim/*` control API and the binary.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use http::Method;
use marathon_sim::{SimConfig, Simulator, basic_auth_header};
use serde_json::json;

#[tokio::test]
async fn basic_auth_on_every_path() {
    let cfg = SimConfig {
        auth: Some(("marathon".into(), "s3cret".into())),
        ..SimConfig::default()
    };
    let s = Simulator::start(cfg).await.unwrap();
    let good = basic_auth_header("marathon", "s3cret");
    let bad = basic_auth_header("marathon", "nope");
    for path in [
        "/ping",
        "/v2/apps",
        "/v2/info",
        "/v2/events",
        "/sim/tasks",
        "/nope",
    ] {
        let url = format!("{}{path}", s.url());
        let r = get(&url).await;
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.headers["www-authenticate"], "Basic realm=\"Mesosphere\"");
        let r = request(Method::GET, &url, &[("authorization", &bad)], "").await;
        assert_eq!(r.status, 401, "{path}");
    }
    let r = request(
        Method::GET,
        &format!("{}/v2/apps", s.url()),
        &[("authorization", &good)],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    let (status, _, mut stream) = sse(
        &format!("{}/v2/events", s.url()),
        &[("authorization", &good)],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        stream.next_event(T).await.unwrap().event_type,
        "event_stream_attached"
    );
    // the SSE 401 comes before the stream starts
    let (status, headers, _) = sse(&format!("{}/v2/events", s.url()), &[]).await;
    assert_eq!(status, 401);
    assert!(headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn failing_mode_answers_500_on_v2() {
    let s = Simulator::start(SimConfig::default()).await.unwrap();
    let (_, _, mut stream) = sse(&format!("{}/v2/events", s.url()), &[]).await;
    stream.next_event(T).await.unwrap();
    s.set_failing(true);
    for path in ["/v2/apps", "/v2/apps/x", "/v2/tasks", "/v2/info"] {
        let r = get(&format!("{}{path}", s.url())).await;
        assert_eq!(r.status, 500, "{path}");
        assert!(r.json()["message"].is_string());
    }
    let (status, _, _) = sse(&format!("{}/v2/events", s.url()), &[]).await;
    assert_eq!(status, 500);
    assert_eq!(get(&format!("{}/ping", s.url())).await.status, 200);
    // state changes still happen and the open stream still gets them
    let r = post(&format!("{}/sim/apps", s.url()), r#"{"id":"web"}"#).await;
    assert_eq!(r.status, 201);
    stream
        .until(|e| e.data["taskStatus"] == "TASK_RUNNING")
        .await;
    // switched off through the control API
    let r = post(&format!("{}/sim/fail?on=false", s.url()), "").await;
    assert_eq!(r.status, 200);
    assert_eq!(get(&format!("{}/v2/apps", s.url())).await.status, 200);
}

#[tokio::test]
async fn control_api() {
    let s = Simulator::start(SimConfig::default()).await.unwrap();
    let base = s.url();
    let (_, _, mut stream) = sse(
        &format!("{base}/v2/events?event_type=status_update_event"),
        &[],
    )
    .await;
    s.wait_for_event_streams(1, T).await.unwrap();

    let spec = r#"{"id":"/prod/web","instances":2,"networking":"bridge",
        "ports":[{"name":"http","containerPort":80,"protocol":"tcp"}],
        "healthChecks":true,"labels":{"HAPROXY_GROUP":"external"}}"#;
    let r = post(&format!("{base}/sim/apps"), spec).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let ids: Vec<String> = serde_json::from_value(r.json()["tasks"].clone()).unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(post(&format!("{base}/sim/apps"), spec).await.status, 409);
    assert_eq!(
        post(&format!("{base}/sim/apps"), r#"{"id":"Bad_Id"}"#)
            .await
            .status,
        422
    );
    assert_eq!(
        post(&format!("{base}/sim/apps"), "not json").await.status,
        400
    );

    let app = get_json(&format!("{base}/v2/apps/prod/web")).await;
    assert_eq!(
        app["app"]["container"]["portMappings"][0]["containerPort"],
        80
    );
    assert_eq!(app["app"]["labels"]["HAPROXY_GROUP"], "external");

    let r = post(&format!("{base}/sim/apps/prod/web/scale?instances=3"), "").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        get_json(&format!("{base}/sim/tasks")).await["tasks"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        post(&format!("{base}/sim/apps/nope/scale?instances=3"), "")
            .await
            .status,
        404
    );
    assert_eq!(
        post(&format!("{base}/sim/apps/prod/web/scale"), "")
            .await
            .status,
        400
    );

    let r = post(
        &format!("{base}/sim/tasks/{}/health?healthy=false", ids[0]),
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    let tasks = get_json(&format!("{base}/sim/tasks")).await;
    let t0 = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task_id"] == ids[0].as_str())
        .unwrap();
    assert_eq!(t0["healthy"], false);

    let r = post(&format!("{base}/sim/tasks/{}/kill", ids[0]), "").await;
    assert_eq!(r.status, 200);
    assert!(
        r.json()["replacement"]
            .as_str()
            .unwrap()
            .ends_with("._app.2")
    );
    assert_eq!(
        post(&format!("{base}/sim/tasks/nope/kill"), "")
            .await
            .status,
        404
    );
    let r = post(&format!("{base}/sim/tasks/{}/kill?scale=true", ids[1]), "").await;
    assert_eq!(r.json()["replacement"], json!(null));
    assert_eq!(s.running_tasks().len(), 2);

    let r = post(&format!("{base}/sim/apps/prod/web/burst?count=10"), "").await;
    assert_eq!(r.status, 200);

    let r = post(&format!("{base}/sim/delivery?on=false"), "").await;
    assert_eq!(r.json()["delivery"], false);
    let r = post(&format!("{base}/sim/delivery?on=true"), "").await;
    assert_eq!(r.json()["delivery"], true);

    let r = post(
        &format!("{base}/sim/events"),
        r#"{"eventType":"status_update_event","taskStatus":"TASK_LOST"}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    let r = request(
        Method::DELETE,
        &format!("{base}/sim/apps/prod/web"),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        request(
            Method::DELETE,
            &format!("{base}/sim/apps/prod/web"),
            &[],
            ""
        )
        .await
        .status,
        404
    );

    // the stream saw all of it: raw TASK_LOST, then the two KILLED of terminate
    let ev = stream.until(|e| e.data["taskStatus"] == "TASK_LOST").await;
    assert!(ev.len() > 10);
    let ev = stream
        .until(|e| e.data["taskStatus"] == "TASK_KILLED")
        .await;
    assert_eq!(ev.last().unwrap().data["appId"], "/prod/web");

    let r = post(&format!("{base}/sim/drop-streams"), "").await;
    assert_eq!(r.status, 200);
    assert!(stream.wait_closed(T).await);
    assert_eq!(get(&format!("{base}/sim/healthz")).await.status, 200);
}

#[tokio::test]
async fn dropping_the_simulator_closes_everything() {
    let s = Simulator::start(SimConfig::default()).await.unwrap();
    let url = s.url();
    let (_, _, mut stream) = sse(&format!("{url}/v2/events"), &[]).await;
    stream.next_event(T).await.unwrap();
    let addr = s.addr();
    s.shutdown().await;
    assert!(stream.wait_closed(T).await);
    assert!(
        tokio::net::TcpStream::connect(url.trim_start_matches("http://"))
            .await
            .is_err()
    );
    // "Marathon comes back" on the same address (with empty state)
    let again = Simulator::start(SimConfig {
        listen: addr,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(again.url(), url);
    assert_eq!(get(&format!("{url}/ping")).await.status, 200);
}

#[test]
fn binary_says_it_is_a_simulator_and_serves() {
    let exe = env!("CARGO_BIN_EXE_marathon-sim");
    let help = Command::new(exe).arg("--help").output().unwrap();
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(
        text.contains("SIMULATOR") && text.contains("NOT Marathon"),
        "{text}"
    );
    for flag in [
        "--listen",
        "--version",
        "--agents",
        "--auth",
        "--crlf",
        "MARATHON_SIM_LISTEN",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}");
    }

    let mut child = Command::new(exe)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--version",
            "1.4",
            "--agents",
            "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let info = rt.block_on(get_json(&format!("{url}/v2/info")));
    assert_eq!(info["version"], "1.4.13");
    let r = rt.block_on(post(
        &format!("{url}/sim/apps"),
        r#"{"id":"web","instances":2}"#,
    ));
    assert_eq!(r.status, 201);
    let apps = rt.block_on(get_json(&format!("{url}/v2/apps?embed=apps.tasks")));
    assert_eq!(apps["apps"][0]["tasks"].as_array().unwrap().len(), 2);
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "did not exit on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn marathon_app_definitions_deploy_scale_and_destroy() {
    let s = Simulator::start(SimConfig::default()).await.unwrap();
    let definition = json!({
        "id": "/rsvp/mongodb",
        "instances": 1,
        "networks": [{"mode": "container/bridge"}],
        "container": {"type": "DOCKER", "docker": {"image": "mongo:4.4"},
                      "portMappings": [{"containerPort": 27017, "hostPort": 0, "name": "mongo"}]}
    });
    let r = post(&format!("{}/v2/apps", s.url()), &definition.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["id"], "/rsvp/mongodb");
    let app = get_json(&format!("{}/v2/apps/rsvp/mongodb", s.url())).await;
    assert_eq!(app["app"]["container"]["portMappings"][0]["name"], "mongo");
    assert_eq!(s.running_tasks().len(), 1);

    let r = request(
        Method::PUT,
        &format!("{}/v2/apps/rsvp/mongodb", s.url()),
        &[],
        r#"{"instances": 3}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(s.running_tasks().len(), 3);
    let r = request(
        Method::PUT,
        &format!("{}/v2/apps/rsvp/mongodb", s.url()),
        &[],
        r#"{"cmd": "x"}"#,
    )
    .await;
    assert_eq!(r.status, 422);

    let r = request(
        Method::DELETE,
        &format!("{}/v2/apps/rsvp/mongodb", s.url()),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(s.running_tasks().is_empty());
    let r = post(&format!("{}/v2/apps", s.url()), r#"{"instances": 1}"#).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("id"));
}
