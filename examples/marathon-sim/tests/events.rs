//! `/v2/events`: framing (LF/CRLF), heartbeats, Accept, filters, redirect, drops, delivery
//! switch, raw events, slow consumers, and the event sequences of each scenario step.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use marathon_sim::{AppSpec, MarathonVersion, Networking, PortSpec, SimConfig, Simulator};
use serde_json::json;

async fn start(cfg: SimConfig) -> Simulator {
    Simulator::start(cfg).await.unwrap()
}

/// Connects and consumes the `event_stream_attached` greeting.
async fn attach(s: &Simulator) -> Sse {
    let (status, _, mut sse) = sse(&format!("{}/v2/events", s.url()), &[]).await;
    assert_eq!(status, 200);
    let first = sse.next_event(T).await.unwrap();
    assert_eq!(first.event_type, "event_stream_attached");
    sse
}

fn statuses(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.event_type == "status_update_event")
        .map(|e| e.data["taskStatus"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn lf_framing_headers_and_attached_first() {
    let s = start(SimConfig::default()).await;
    let (status, headers, mut sse) = sse(&format!("{}/v2/events", s.url()), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/event-stream;charset=UTF-8");
    let first = sse.next_event(T).await.unwrap();
    assert_eq!(first.event_type, "event_stream_attached");
    assert_shape(
        &fixture("event_stream_attached_real_v1.4.json"),
        &first.data,
        "",
        &[],
    );
    assert_eq!(first.data["remoteAddress"], "127.0.0.1");
    s.wait_for_event_streams(1, T).await.unwrap();
    s.deploy(AppSpec::new("web", 1)).await.unwrap();
    sse.until(|e| e.data["taskStatus"] == "TASK_RUNNING").await;
    let raw = String::from_utf8(sse.raw.clone()).unwrap();
    assert!(!raw.contains('\r'), "LF mode must not send CR");
    assert!(
        raw.starts_with("event: event_stream_attached\ndata: {"),
        "{raw}"
    );
    assert!(raw.contains("\n\nevent: api_post_event\ndata: {"));
}

#[tokio::test]
async fn crlf_framing_and_split_heartbeat() {
    let cfg = SimConfig {
        crlf: true,
        heartbeat: Duration::from_millis(30),
        ..SimConfig::default()
    };
    let s = start(cfg).await;
    let mut sse = attach(&s).await;
    s.deploy(AppSpec::new("web", 1)).await.unwrap();
    sse.until(|e| e.data["taskStatus"] == "TASK_RUNNING").await;
    sse.until_heartbeats(2).await;
    let raw = sse.raw.clone();
    for (i, b) in raw.iter().enumerate() {
        if *b == b'\n' {
            assert!(i > 0 && raw[i - 1] == b'\r', "bare LF at byte {i}");
        }
    }
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with("event: event_stream_attached\r\ndata: {"));
    assert!(text.contains("}\r\n\r\nevent: "));
}

#[tokio::test]
async fn lf_heartbeat_is_a_blank_line() {
    let cfg = SimConfig {
        heartbeat: Duration::from_millis(20),
        ..SimConfig::default()
    };
    let s = start(cfg).await;
    let mut sse = attach(&s).await;
    sse.until_heartbeats(2).await;
    assert!(
        String::from_utf8(sse.raw.clone())
            .unwrap()
            .ends_with("\n\n")
    );
}

#[tokio::test]
async fn accept_header_must_be_exactly_text_event_stream() {
    let s = start(SimConfig::default()).await;
    let url = format!("{}/v2/events", s.url());
    for accept in [
        None,
        Some("*/*"),
        Some("application/json"),
        Some("text/event-stream, */*"),
    ] {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("accept", *a)).collect();
        let r = request(http::Method::GET, &url, &headers, "").await;
        assert_eq!(r.status, 405, "Accept {accept:?}");
        assert!(
            r.body
                .contains("HTTP method GET is not supported by this URL")
        );
    }
    assert_eq!(s.event_stream_clients(), 0);
}

#[tokio::test]
async fn event_type_filters_apply_to_every_event() {
    let s = start(SimConfig::default()).await;
    let url = format!(
        "{}/v2/events?event_type=status_update_event&event_type=app_terminated_event",
        s.url()
    );
    let (status, _, mut sse) = sse(&url, &[]).await;
    assert_eq!(status, 200);
    s.wait_for_event_streams(1, T).await.unwrap();
    s.deploy(AppSpec::new("web", 1).with_health_checks(true))
        .await
        .unwrap();
    s.terminate("web").await.unwrap();
    let events = sse.until(|e| e.event_type == "app_terminated_event").await;
    assert_eq!(
        summary(&events),
        [
            "status_update_event:TASK_STAGING",
            "status_update_event:TASK_STARTING",
            "status_update_event:TASK_RUNNING",
            "status_update_event:TASK_KILLING",
            "status_update_event:TASK_KILLED",
            "app_terminated_event",
        ]
    );
}

#[tokio::test]
async fn deploy_sequence_v1_10_and_event_shapes() {
    let s = start(SimConfig::default()).await;
    let mut sse = attach(&s).await;
    let ids = s
        .deploy(
            AppSpec::new("web", 1)
                .with_networking(Networking::Bridge)
                .with_ports(vec![PortSpec::new(Some("http"), Some(80), "tcp")])
                .with_health_checks(true),
        )
        .await
        .unwrap();
    let events = sse
        .until(|e| e.event_type == "instance_health_changed_event")
        .await;
    assert_eq!(
        summary(&events),
        [
            "api_post_event",
            "status_update_event:TASK_STAGING",
            "instance_changed_event",
            "status_update_event:TASK_STARTING",
            "instance_changed_event",
            "status_update_event:TASK_RUNNING",
            "instance_changed_event",
            "health_status_changed_event",
            "instance_health_changed_event",
        ]
    );
    let post = &events[0].data;
    assert_shape(
        &fixture("api_post_event.json"),
        post,
        "",
        &["appDefinition"],
    );
    assert_eq!(post["uri"], "/v2/apps");
    assert_eq!(post["appDefinition"]["id"], "/web");
    assert_eq!(
        post["appDefinition"]["networks"][0]["mode"],
        "container/bridge"
    );

    let running = &events[5].data;
    assert_shape(
        &fixture("status_update_event_task_running_real_v0.11.json"),
        running,
        "",
        &[],
    );
    let tv = &s.running_tasks()[0];
    assert_eq!(running["taskId"], ids[0].as_str());
    assert_eq!(running["appId"], "/web");
    assert_eq!(running["slaveId"], tv.agent_id.as_str());
    assert_eq!(running["host"], tv.host.as_str());
    assert_eq!(running["ports"], json!(tv.ports));
    assert_eq!(
        running["ipAddresses"][0]["ipAddress"],
        tv.ip_addresses[0].as_str()
    );
    assert_eq!(running["ipAddresses"][0]["protocol"], "IPv4");
    assert_eq!(running["message"], "");
    assert_eq!(running.as_object().unwrap().len(), 11, "{running}");

    assert_shape(
        &fixture("instance_changed_event.json"),
        &events[6].data,
        "",
        &[],
    );
    assert_eq!(events[6].data["condition"], "Running");
    let hs = &events[7].data;
    assert_shape(&fixture("health_status_changed_event.json"), hs, "", &[]);
    assert_eq!(hs["instanceId"], tv.instance_id.as_str());
    assert_eq!(hs["alive"], true);
    let ih = &events[8].data;
    assert_shape(&fixture("instance_health_changed_event.json"), ih, "", &[]);
    assert_eq!(ih["healthy"], true);
    assert_eq!(ih["runSpecId"], "/web");

    // Marathon timestamps, strictly increasing in stream order.
    let ts: Vec<String> = events
        .iter()
        .map(|e| e.data["timestamp"].as_str().unwrap().to_string())
        .collect();
    for t in &ts {
        assert_eq!(t.len(), 24, "{t}");
        assert!(
            t.ends_with('Z') && &t[10..11] == "T" && &t[19..20] == ".",
            "{t}"
        );
    }
    assert!(ts.windows(2).all(|w| w[0] < w[1]), "{ts:?}");
}

#[tokio::test]
async fn scale_kill_terminate_sequences() {
    let s = start(SimConfig {
        instance_changed_events: false,
        ..SimConfig::default()
    })
    .await;
    let mut sse = attach(&s).await;
    let ids = s.deploy(AppSpec::new("web", 1)).await.unwrap();
    sse.until(|e| e.data["taskStatus"] == "TASK_RUNNING").await;

    s.scale("web", 2).await.unwrap();
    let ev = sse.until(|e| e.data["taskStatus"] == "TASK_RUNNING").await;
    assert_eq!(summary(&ev)[0], "api_post_event");
    assert_eq!(ev[0].data["uri"], "/v2/apps/web");
    assert_eq!(ev[0].data["appDefinition"]["instances"], 2);
    assert_eq!(
        statuses(&ev),
        ["TASK_STAGING", "TASK_STARTING", "TASK_RUNNING"]
    );

    s.scale("web", 1).await.unwrap();
    let ev = sse.until(|e| e.data["taskStatus"] == "TASK_KILLED").await;
    assert_eq!(statuses(&ev), ["TASK_KILLING", "TASK_KILLED"]);
    assert_ne!(
        ev[1].data["taskId"],
        ids[0].as_str(),
        "youngest killed first"
    );

    s.kill_task(&ids[0]).await.unwrap();
    let ev = sse.until(|e| e.data["taskStatus"] == "TASK_RUNNING").await;
    assert_eq!(
        statuses(&ev),
        [
            "TASK_KILLING",
            "TASK_KILLED",
            "TASK_STAGING",
            "TASK_STARTING",
            "TASK_RUNNING"
        ]
    );
    assert_eq!(ev[0].data["taskId"], ids[0].as_str());
    let replacement = ev[4].data["taskId"].as_str().unwrap().to_string();
    assert!(replacement.ends_with("._app.2"));

    s.terminate("web").await.unwrap();
    let ev = sse.until(|e| e.event_type == "app_terminated_event").await;
    assert_eq!(
        summary(&ev),
        [
            "status_update_event:TASK_KILLING",
            "status_update_event:TASK_KILLED",
            "app_terminated_event"
        ]
    );
    assert_eq!(ev[1].data["taskId"], replacement.as_str());
    assert_shape(&fixture("app_terminated_event.json"), &ev[2].data, "", &[]);
    assert_eq!(ev[2].data["appId"], "/web");
}

#[tokio::test]
async fn task_killing_can_be_turned_off() {
    let s = start(SimConfig {
        task_killing: false,
        instance_changed_events: false,
        ..SimConfig::default()
    })
    .await;
    let mut sse = attach(&s).await;
    s.deploy(AppSpec::new("web", 1)).await.unwrap();
    s.terminate("web").await.unwrap();
    let ev = sse.until(|e| e.event_type == "app_terminated_event").await;
    assert_eq!(
        statuses(&ev),
        [
            "TASK_STAGING",
            "TASK_STARTING",
            "TASK_RUNNING",
            "TASK_KILLED"
        ]
    );
}

#[tokio::test]
async fn health_sequence_v1_10() {
    let s = start(SimConfig::default()).await;
    let ids = s
        .deploy(AppSpec::new("web", 1).with_health_checks(true))
        .await
        .unwrap();
    let mut sse = attach(&s).await;
    let inst = s.running_tasks()[0].instance_id.clone();
    s.set_health(&ids[0], false).await.unwrap();
    let ev = sse
        .until(|e| e.event_type == "instance_health_changed_event")
        .await;
    assert_eq!(
        summary(&ev),
        [
            "failed_health_check_event",
            "health_status_changed_event",
            "instance_health_changed_event"
        ]
    );
    assert_shape(
        &fixture("failed_health_check_event.json"),
        &ev[0].data,
        "",
        &[],
    );
    assert_eq!(
        ev[0].data["taskId"],
        inst.as_str(),
        "1.5+: key taskId, value = instance id"
    );
    assert_eq!(ev[1].data["instanceId"], inst.as_str());
    assert_eq!(ev[1].data["alive"], false);
    assert_eq!(ev[2].data["healthy"], false);
    assert!(!s.running_tasks()[0].healthy);
    let app = get_json(&format!("{}/v2/apps/web", s.url())).await;
    assert_eq!(
        app["app"]["tasks"][0]["healthCheckResults"][0]["alive"],
        false
    );
    assert_eq!(app["app"]["tasksUnhealthy"], 1);

    s.set_health(&ids[0], true).await.unwrap();
    let ev = sse
        .until(|e| e.event_type == "instance_health_changed_event")
        .await;
    assert_eq!(
        summary(&ev),
        [
            "health_status_changed_event",
            "instance_health_changed_event"
        ]
    );
    assert_eq!(ev[1].data["healthy"], true);
    assert!(s.running_tasks()[0].healthy);

    // no health checks: an error, no events
    let other = s.deploy(AppSpec::new("nohc", 1)).await.unwrap();
    assert!(s.set_health(&other[0], false).await.is_err());
}

#[tokio::test]
async fn health_sequence_v1_4_uses_instance_id_keys() {
    let s = start(SimConfig::new(MarathonVersion::V1_4)).await;
    let ids = s
        .deploy(AppSpec::new("web", 1).with_health_checks(true))
        .await
        .unwrap();
    let mut sse = attach(&s).await;
    let inst = s.running_tasks()[0].instance_id.clone();
    assert!(inst.contains(".marathon-"));
    s.set_health(&ids[0], false).await.unwrap();
    let ev = sse
        .until(|e| e.event_type == "instance_health_changed_event")
        .await;
    assert_eq!(ev[0].event_type, "failed_health_check_event");
    assert_eq!(ev[0].data["instanceId"], inst.as_str());
    assert!(ev[0].data.get("taskId").is_none());
    assert_eq!(ev[1].data["instanceId"], inst.as_str());
}

#[tokio::test]
async fn legacy_health_keys_use_task_ids() {
    let s = start(SimConfig {
        legacy_health_keys: true,
        ..SimConfig::new(MarathonVersion::V1_4)
    })
    .await;
    let ids = s
        .deploy(AppSpec::new("web", 1).with_health_checks(true))
        .await
        .unwrap();
    let mut sse = attach(&s).await;
    s.set_health(&ids[0], false).await.unwrap();
    let ev = sse
        .until(|e| e.event_type == "health_status_changed_event")
        .await;
    assert_eq!(ev[0].data["taskId"], ids[0].as_str());
    assert_eq!(ev[1].data["taskId"], ids[0].as_str());
    assert!(ev[1].data.get("instanceId").is_none());
}

#[tokio::test]
async fn v1_4_events_use_v1_4_shapes() {
    let s = start(SimConfig::new(MarathonVersion::V1_4)).await;
    let mut sse = attach(&s).await;
    let ids = s
        .deploy(AppSpec::new("web", 1).with_networking(Networking::Bridge))
        .await
        .unwrap();
    let ev = sse.until(|e| e.data["taskStatus"] == "TASK_RUNNING").await;
    let def = &ev[0].data["appDefinition"];
    assert_eq!(def["container"]["docker"]["network"], "BRIDGE");
    assert!(def["ports"].is_array());
    let running = ev.last().unwrap();
    assert_eq!(running.data["taskId"], ids[0].as_str());
    assert!(
        running.data["ipAddresses"][0]["ipAddress"]
            .as_str()
            .unwrap()
            .starts_with("172.17.")
    );
}

#[tokio::test]
async fn redirect_to_the_leader() {
    let leader = start(SimConfig::default()).await;
    let standby = start(SimConfig {
        redirect_to: Some(leader.url()),
        ..SimConfig::default()
    })
    .await;
    let url = format!(
        "{}/v2/events?event_type=event_stream_attached",
        standby.url()
    );
    let (status, headers, _) = sse(&url, &[]).await;
    assert_eq!(status, 302);
    let loc = headers["location"].to_str().unwrap().to_string();
    assert_eq!(
        loc,
        format!(
            "{}/v2/events?event_type=event_stream_attached",
            leader.url()
        )
    );
    let (status, _, mut s2) = sse(&loc, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        s2.next_event(T).await.unwrap().event_type,
        "event_stream_attached"
    );
    // REST is still served by the standby; the redirect can be switched off at run time
    assert_eq!(get(&format!("{}/v2/apps", standby.url())).await.status, 200);
    standby.set_redirect(None);
    let (status, _, _) = sse(&url, &[]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn drop_event_streams_disconnects_everyone_and_reconnect_works() {
    let s = start(SimConfig::default()).await;
    let mut a = attach(&s).await;
    let mut b = attach(&s).await;
    assert_eq!(s.event_stream_clients(), 2);
    s.drop_event_streams().await;
    assert_eq!(s.event_stream_clients(), 0);
    assert!(a.wait_closed(T).await);
    assert!(b.wait_closed(T).await);
    let mut c = attach(&s).await;
    s.deploy(AppSpec::new("web", 1)).await.unwrap();
    c.until(|e| e.data["taskStatus"] == "TASK_RUNNING").await;
}

#[tokio::test]
async fn event_delivery_off_changes_state_silently() {
    let s = start(SimConfig::default()).await;
    let mut sse = attach(&s).await;
    s.set_event_delivery(false);
    let ids = s.deploy(AppSpec::new("web", 2)).await.unwrap();
    s.kill_task(&ids[0]).await.unwrap();
    assert_eq!(s.running_tasks().len(), 2);
    assert_eq!(
        s.apps_json()["apps"][0]["tasks"].as_array().unwrap().len(),
        2
    );
    // raw events and bookkeeping still flow
    s.emit_raw(json!({"eventType": "custom_event", "timestamp": "2014-03-01T23:29:30.158Z"}))
        .await;
    // The stream is ordered: had the deploy or the kill published anything, it would
    // arrive before the raw event.
    assert_eq!(sse.next_event(T).await.unwrap().event_type, "custom_event");
    s.set_event_delivery(true);
    s.terminate("web").await.unwrap();
    sse.until(|e| e.event_type == "app_terminated_event").await;
}

#[tokio::test]
async fn emit_raw_is_verbatim() {
    let s = start(SimConfig::default()).await;
    let mut sse = attach(&s).await;
    let ev = fixture("status_update_event_task_running_real_v0.11.json");
    s.emit_raw(ev.clone()).await;
    let got = sse.next_event(T).await.unwrap();
    assert_eq!(got.event_type, "status_update_event");
    assert_eq!(got.data, ev);
}

#[tokio::test]
async fn detached_event_is_published_to_the_others() {
    let s = start(SimConfig::default()).await;
    let mut a = attach(&s).await;
    {
        let b = attach(&s).await;
        assert_eq!(
            a.next_event(T).await.unwrap().event_type,
            "event_stream_attached"
        );
        drop(b);
    }
    let e = a.next_event(T).await.unwrap();
    assert_eq!(e.event_type, "event_stream_detached");
    assert_eq!(e.data["remoteAddress"], "127.0.0.1");
}

async fn slow_consumer(version: MarathonVersion) -> (Simulator, Sse) {
    let s = start(SimConfig {
        event_buffer: 4,
        ..SimConfig::new(version)
    })
    .await;
    let sse = attach(&s).await;
    // Big events and a reader that does not read: the socket fills up and the writer lags.
    let pad = "x".repeat(256 * 1024);
    for i in 0..200 {
        s.emit_raw(json!({"eventType": "padding", "i": i, "pad": pad}))
            .await;
        tokio::task::yield_now().await;
    }
    (s, sse)
}

#[tokio::test]
async fn slow_consumers_are_disconnected_by_v1_10() {
    let (s, mut sse) = slow_consumer(MarathonVersion::V1_10).await;
    assert!(
        sse.wait_closed(Duration::from_secs(20)).await,
        "1.10 closes slow consumers"
    );
    assert_eq!(s.event_stream_clients(), 0);
}

#[tokio::test]
async fn slow_consumers_lose_events_with_v1_4() {
    let (s, mut sse) = slow_consumer(MarathonVersion::V1_4).await;
    let mut got = Vec::new();
    while let Some(e) = sse.next_event(Duration::from_secs(1)).await {
        got.push(e.data["i"].as_u64().unwrap());
    }
    assert!(!sse.closed, "1.4 keeps the stream open");
    assert!(got.windows(2).all(|w| w[0] < w[1]), "in order");
    assert!(got.len() < 200, "some events were dropped ({})", got.len());
    assert!(
        got.windows(2).any(|w| w[1] > w[0] + 1),
        "a gap where events were dropped"
    );
    assert_eq!(s.event_stream_clients(), 1);
}

#[tokio::test]
async fn burst_emits_status_events_and_keeps_the_app_whole() {
    let s = Arc::new(
        start(SimConfig {
            instance_changed_events: false,
            ..SimConfig::default()
        })
        .await,
    );
    s.deploy(AppSpec::new("bench", 3)).await.unwrap();
    let url = format!("{}/v2/events?event_type=status_update_event", s.url());
    let (_, _, mut sse) = sse(&url, &[]).await;
    s.wait_for_event_streams(1, T).await.unwrap();
    let n = 5000;
    let (r, got) = tokio::join!(s.burst("bench", n), async {
        let mut got = 0usize;
        while got < n {
            sse.next_event(T).await.expect("burst events");
            got += 1;
        }
        got
    });
    r.unwrap();
    assert_eq!(got, n);
    let tasks = s.running_tasks();
    assert_eq!(tasks.len(), 3);
    assert!(tasks.iter().all(|t| t.state == "TASK_RUNNING"));
}

#[tokio::test]
async fn drop_event_streams_also_drops_a_blocked_slow_client() {
    let (s, mut sse) = slow_consumer(MarathonVersion::V1_4).await;
    assert_eq!(s.event_stream_clients(), 1);
    s.drop_event_streams().await;
    assert_eq!(s.event_stream_clients(), 0);
    assert!(sse.wait_closed(Duration::from_secs(20)).await);
}
