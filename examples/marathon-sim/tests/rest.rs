//! REST answers: shapes against the real/docs fixtures, ids, ports, networking, queries.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::{BTreeSet, HashMap};

use common::*;
use marathon_sim::{AppSpec, MarathonVersion, Networking, PortSpec, SimConfig, Simulator};
use serde_json::Value;

async fn sim(version: MarathonVersion) -> Simulator {
    Simulator::start(SimConfig::new(version)).await.unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn v1_10_bridge_app_has_the_marathon_1_5_plus_shape() {
    let s = sim(MarathonVersion::V1_10).await;
    s.deploy(
        AppSpec::new("/pywebserver", 1)
            .with_networking(Networking::Bridge)
            .with_ports(vec![PortSpec::new(Some("test"), Some(80), "tcp")])
            .with_label("HAPROXY_GROUP", "external"),
    )
    .await
    .unwrap();
    let got = get_json(&format!("{}/v2/apps?embed=apps.tasks", s.url())).await;
    let want = fixture("real_v2_apps_embed_tasks_marathon1.5_marathon-lb.json");
    assert_shape(&want, &got, "", &[]);
    let app = &got["apps"][0];
    assert_eq!(app["networks"][0]["mode"], "container/bridge");
    assert!(
        app.get("portDefinitions").is_none(),
        "1.5+ has no portDefinitions for bridge"
    );
    assert!(app["container"]["docker"].get("portMappings").is_none());
    let pm = &app["container"]["portMappings"][0];
    assert_eq!(pm["containerPort"], 80);
    assert_eq!(pm["hostPort"], 0);
    assert_eq!(pm["name"], "test");
    assert!(pm["servicePort"].as_u64().unwrap() >= 10000);
    let task = &app["tasks"][0];
    assert_eq!(task["state"], "TASK_RUNNING");
    assert!(
        task["ipAddresses"][0]["ipAddress"]
            .as_str()
            .unwrap()
            .starts_with("172.17.")
    );
    let id = task["id"].as_str().unwrap();
    assert!(
        id.starts_with("pywebserver.instance-") && id.ends_with("._app.1"),
        "{id}"
    );
    // what the library says is exactly what GET returns
    assert_eq!(s.apps_json(), got);
}

#[tokio::test]
async fn v1_10_health_checked_app_matches_the_healthcheck_fixture() {
    let s = sim(MarathonVersion::V1_10).await;
    s.deploy(
        AppSpec::new("nginx-green", 3)
            .with_networking(Networking::Bridge)
            .with_ports(vec![PortSpec::new(None, Some(8080), "tcp")])
            .with_health_checks(true),
    )
    .await
    .unwrap();
    let got = get_json(&format!("{}/v2/apps?embed=apps.tasks", s.url())).await;
    let want = fixture("real_v2_apps_embed_tasks_healthchecks_marathon1.5_marathon-lb.json");
    assert_shape(&want, &got, "", &["apps.acceptedResourceRoles"]);
    let app = &got["apps"][0];
    assert_eq!(app["tasksHealthy"], 3);
    for t in app["tasks"].as_array().unwrap() {
        let id = t["id"].as_str().unwrap();
        let inst = t["healthCheckResults"][0]["instanceId"].as_str().unwrap();
        assert!(id.starts_with(&format!("{inst}.")), "{id} vs {inst}");
        assert_eq!(t["healthCheckResults"][0]["alive"], true);
    }
}

#[tokio::test]
async fn v1_4_bridge_app_has_the_legacy_shape() {
    let mut cfg = SimConfig::new(MarathonVersion::V1_4);
    cfg.legacy_health_keys = true; // the fixture predates 1.4: healthCheckResults[].taskId
    let s = Simulator::start(cfg).await.unwrap();
    s.deploy(
        AppSpec::new("/nginx-green", 3)
            .with_networking(Networking::Bridge)
            .with_ports(vec![PortSpec::new(None, Some(8080), "tcp")])
            .with_health_checks(true),
    )
    .await
    .unwrap();
    let got = get_json(&format!("{}/v2/apps?embed=apps.tasks", s.url())).await;
    let want = fixture("real_v2_apps_embed_tasks_legacy_docker_bridge_marathon-lb.json");
    let ignore = ["apps.acceptedResourceRoles"];
    for fixture_app in want["apps"].as_array().unwrap() {
        assert_shape(fixture_app, &got["apps"][0], "apps", &ignore);
    }
    let app = &got["apps"][0];
    assert_eq!(app["container"]["docker"]["network"], "BRIDGE");
    assert_eq!(
        app["container"]["docker"]["portMappings"][0]["containerPort"],
        8080
    );
    assert!(app.get("networks").is_none());
    let t = &app["tasks"][0];
    let id = t["id"].as_str().unwrap();
    assert!(
        id.starts_with("nginx-green.") && !id.contains("instance-"),
        "{id}"
    );
    assert_eq!(t["healthCheckResults"][0]["taskId"], t["id"]);
}

#[tokio::test]
async fn v1_4_ids_and_health_keys() {
    let s = sim(MarathonVersion::V1_4).await;
    s.deploy(AppSpec::new("/prod/web", 1).with_health_checks(true))
        .await
        .unwrap();
    let got = get_json(&format!("{}/v2/apps/prod/web", s.url())).await;
    let t = &got["app"]["tasks"][0];
    let id = t["id"].as_str().unwrap();
    let (prefix, uuid) = id.split_once('.').unwrap();
    assert_eq!(prefix, "prod_web");
    assert_eq!(uuid.len(), 36);
    assert_eq!(
        t["healthCheckResults"][0]["instanceId"],
        format!("prod_web.marathon-{uuid}")
    );
    let tv = &s.running_tasks()[0];
    assert_eq!(tv.instance_id, format!("prod_web.marathon-{uuid}"));
    // 1.4 host networking: portDefinitions + ports, container null, ipAddress null
    let app = &got["app"];
    assert!(app["container"].is_null());
    assert!(app["ipAddress"].is_null());
    assert_eq!(app["ports"][0], app["portDefinitions"][0]["port"]);
}

#[tokio::test]
async fn v1_4_container_networking_uses_ip_address_discovery() {
    let s = sim(MarathonVersion::V1_4).await;
    s.deploy(
        AppSpec::new("ipt", 2)
            .with_networking(Networking::Container)
            .with_ports(vec![PortSpec::new(
                Some("rest-endpoint"),
                Some(8080),
                "tcp",
            )]),
    )
    .await
    .unwrap();
    let got = get_json(&format!("{}/v2/apps/ipt", s.url())).await;
    let def = fixture("docs_app_definition_head.json");
    assert_shape(
        &def["ipAddress"],
        &got["app"]["ipAddress"],
        "ipAddress",
        &[],
    );
    assert_eq!(
        got["app"]["ipAddress"]["discovery"]["ports"][0]["number"],
        8080
    );
    assert_eq!(
        got["app"]["ipAddress"]["discovery"]["ports"][0]["name"],
        "rest-endpoint"
    );
    for t in got["app"]["tasks"].as_array().unwrap() {
        assert_eq!(t["ports"], serde_json::json!([]));
        assert!(
            t["ipAddresses"][0]["ipAddress"]
                .as_str()
                .unwrap()
                .starts_with("10.")
        );
    }
    let ips: BTreeSet<String> = s
        .running_tasks()
        .into_iter()
        .flat_map(|t| t.ip_addresses)
        .collect();
    assert_eq!(ips.len(), 2, "container IPs are unique");
}

#[tokio::test]
async fn v1_10_container_networking_has_mappings_without_host_port() {
    let s = sim(MarathonVersion::V1_10).await;
    s.deploy(
        AppSpec::new("ipt", 1)
            .with_networking(Networking::Container)
            .with_ports(vec![
                PortSpec::tcp("http"),
                PortSpec::new(Some("dns"), Some(53), "udp,tcp"),
            ]),
    )
    .await
    .unwrap();
    let app = &get_json(&format!("{}/v2/apps/ipt", s.url())).await["app"];
    assert_eq!(app["networks"][0]["mode"], "container");
    let pms = app["container"]["portMappings"].as_array().unwrap();
    assert_eq!(pms.len(), 2);
    assert!(pms.iter().all(|p| p.get("hostPort").is_none()));
    assert_eq!(pms[0]["containerPort"], 8080);
    assert_eq!(pms[1]["containerPort"], 53);
    assert_eq!(pms[1]["protocol"], "udp,tcp");
    assert_eq!(app["tasks"][0]["ports"], serde_json::json!([]));
}

#[tokio::test]
async fn host_ports_are_unique_per_agent_and_from_31000() {
    let s = sim(MarathonVersion::V1_10).await;
    s.deploy(AppSpec::new("a", 6).with_ports(vec![PortSpec::tcp("x"), PortSpec::tcp("y")]))
        .await
        .unwrap();
    s.deploy(AppSpec::new("b", 4)).await.unwrap();
    let mut per_agent: HashMap<String, Vec<u16>> = HashMap::new();
    for t in s.running_tasks() {
        per_agent
            .entry(t.agent_id.clone())
            .or_default()
            .extend(&t.ports);
        assert!(t.ports.iter().all(|p| (31000..32000).contains(p)));
        assert_eq!(
            t.ip_addresses,
            vec![t.host.clone()],
            "host networking reports the agent IP"
        );
    }
    assert_eq!(per_agent.len(), 3, "spread over the 3 default agents");
    for ports in per_agent.values() {
        let set: BTreeSet<_> = ports.iter().collect();
        assert_eq!(
            set.len(),
            ports.len(),
            "duplicate host port on one agent: {ports:?}"
        );
    }
}

#[tokio::test]
async fn tasks_endpoints_and_info() {
    let s = sim(MarathonVersion::V1_10).await;
    s.deploy(AppSpec::new("/tools/docker/registry", 2))
        .await
        .unwrap();
    let tasks = get_json(&format!("{}/v2/tasks", s.url())).await;
    let want = fixture("docs_v2_tasks_head.json");
    assert_shape(&want, &tasks, "", &["tasks.region", "tasks.zone"]);
    assert_eq!(tasks["tasks"].as_array().unwrap().len(), 2);
    let running = get_json(&format!("{}/v2/tasks?status=running", s.url())).await;
    assert_eq!(running["tasks"].as_array().unwrap().len(), 2);
    let staging = get_json(&format!("{}/v2/tasks?status=staging", s.url())).await;
    assert_eq!(staging["tasks"].as_array().unwrap().len(), 0);

    let app_tasks = get_json(&format!("{}/v2/apps/tools/docker/registry/tasks", s.url())).await;
    assert_eq!(app_tasks["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(app_tasks["tasks"][0]["appId"], "/tools/docker/registry");

    let group = get_json(&format!("{}/v2/apps/tools/*", s.url())).await;
    assert_eq!(group["*"].as_array().unwrap().len(), 1);

    let text = request(
        http::Method::GET,
        &format!("{}/v2/tasks", s.url()),
        &[("accept", "text/plain")],
        "",
    )
    .await;
    let line = text.body.lines().next().unwrap();
    let cols: Vec<&str> = line.split('\t').filter(|c| !c.is_empty()).collect();
    assert_eq!(cols[0], "tools_docker_registry");
    assert_eq!(cols.len(), 4, "{line:?}");

    let info = get_json(&format!("{}/v2/info", s.url())).await;
    let want = fixture("docs_v2_info_head.json");
    for k in keys(&want) {
        assert!(info.get(&k).is_some(), "info lacks {k}");
    }
    assert_eq!(info["version"], "1.10.26");
    assert!(info.get("event_subscriber").is_none());

    let ping = get(&format!("{}/ping", s.url())).await;
    assert_eq!(ping.body.trim(), "pong");
}

#[tokio::test]
async fn v1_4_info_shows_the_event_subscriber() {
    let s = sim(MarathonVersion::V1_4).await;
    s.add_subscription("http://127.0.0.1:9/callback");
    let info = get_json(&format!("{}/v2/info", s.url())).await;
    let want = fixture("docs_v2_info_v1.4_with_event_subscriber.json");
    for k in keys(&want) {
        assert!(info.get(&k).is_some(), "info lacks {k}");
    }
    assert_eq!(info["event_subscriber"]["type"], "http_callback");
    assert_eq!(
        info["event_subscriber"]["http_endpoints"][0],
        "http://127.0.0.1:9/callback"
    );
}

#[tokio::test]
async fn unknown_app_is_a_404_with_marathon_message() {
    let s = sim(MarathonVersion::V1_10).await;
    let r = get(&format!("{}/v2/apps/not_existent", s.url())).await;
    assert_eq!(r.status, 404);
    let want = fixture("docs_error_app_not_found_head.json");
    assert_eq!(r.json(), want);
    let r = get(&format!("{}/v2/apps/nope/tasks", s.url())).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "App '/nope' does not exist");
    let r = get(&format!("{}/v2/whatever", s.url())).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "URI not found: /v2/whatever");
}

#[tokio::test]
async fn embed_and_filters() {
    let s = sim(MarathonVersion::V1_10).await;
    s.deploy(AppSpec::new("/prod/web", 1).with_label("HAPROXY_GROUP", "external"))
        .await
        .unwrap();
    s.deploy(AppSpec::new("/prod/db", 1)).await.unwrap();
    let plain = get_json(&format!("{}/v2/apps", s.url())).await;
    assert!(plain["apps"][0].get("tasks").is_none());
    assert!(
        plain["apps"][0].get("tasksRunning").is_some(),
        "counts always embedded"
    );
    for embed in ["apps.tasks", "app.tasks", "group.apps.tasks"] {
        let v = get_json(&format!("{}/v2/apps?embed={embed}", s.url())).await;
        assert!(v["apps"][0].get("tasks").is_some(), "{embed}");
    }
    let by_id = get_json(&format!("{}/v2/apps?id=web", s.url())).await;
    assert_eq!(by_id["apps"].as_array().unwrap().len(), 1);
    let by_label = get_json(&format!(
        "{}/v2/apps?label=HAPROXY_GROUP%3D%3Dexternal",
        s.url()
    ))
    .await;
    assert_eq!(by_label["apps"][0]["id"], "/prod/web");
    let not_label = get_json(&format!("{}/v2/apps?label=HAPROXY_GROUP", s.url())).await;
    assert_eq!(not_label["apps"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn deploy_validates_ids_and_conflicts() {
    let s = sim(MarathonVersion::V1_10).await;
    assert!(s.deploy(AppSpec::new("Bad_Id", 1)).await.is_err());
    s.deploy(AppSpec::new("ok", 0)).await.unwrap();
    assert!(s.deploy(AppSpec::new("/ok", 1)).await.is_err());
    assert!(s.scale("/missing", 1).await.is_err());
    assert!(s.kill_task("nope").await.is_err());
    assert!(s.set_health("nope", false).await.is_err());
    assert!(s.terminate("/missing").await.is_err());
}

#[tokio::test]
async fn scale_kill_terminate_change_the_truth() {
    let s = sim(MarathonVersion::V1_10).await;
    let ids = s.deploy(AppSpec::new("web", 2)).await.unwrap();
    assert_eq!(ids.len(), 2);
    s.scale("web", 4).await.unwrap();
    assert_eq!(s.running_tasks().len(), 4);
    s.scale("/web", 1).await.unwrap();
    let left = s.running_tasks();
    assert_eq!(left.len(), 1);
    assert_eq!(
        left[0].task_id, ids[0],
        "scale-down kills the youngest first"
    );
    let app = get_json(&format!("{}/v2/apps/web", s.url())).await;
    assert_eq!(app["app"]["instances"], 1);

    let new = s.kill_task_and_replace(&ids[0]).await.unwrap();
    let inst = ids[0].rsplit_once("._app.").unwrap().0;
    assert_eq!(
        new,
        format!("{inst}._app.2"),
        "1.10 relaunches the same instance, next incarnation"
    );
    assert_eq!(s.running_tasks()[0].task_id, new);

    s.kill_task_and_scale(&new).await.unwrap();
    assert!(s.running_tasks().is_empty());
    assert_eq!(
        get_json(&format!("{}/v2/apps/web", s.url())).await["app"]["instances"],
        0
    );

    s.terminate("web").await.unwrap();
    assert_eq!(get(&format!("{}/v2/apps/web", s.url())).await.status, 404);
    assert_eq!(s.apps_json()["apps"], serde_json::json!([]));
}

#[tokio::test]
async fn v1_4_kill_starts_a_new_instance() {
    let s = sim(MarathonVersion::V1_4).await;
    let ids = s.deploy(AppSpec::new("web", 1)).await.unwrap();
    let new = s.kill_task_and_replace(&ids[0]).await.unwrap();
    assert_ne!(new, ids[0]);
    assert!(new.starts_with("web.") && !new.contains("._app."));
}

#[test]
fn simulator_can_be_shared_across_tasks() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Simulator>();
    assert_send_sync::<marathon_sim::TaskView>();
    assert_send_sync::<SimConfig>();
}
