//! `/v2/eventSubscriptions` and HTTP callback delivery (Marathon ≤1.4).
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use http::Method;
use marathon_sim::{AppSpec, MarathonVersion, SimConfig, Simulator};
use serde_json::{Value, json};

async fn v14() -> Simulator {
    Simulator::start(SimConfig::new(MarathonVersion::V1_4))
        .await
        .unwrap()
}

fn subs_url(s: &Simulator, callback: &str) -> String {
    format!("{}/v2/eventSubscriptions?callbackUrl={callback}", s.url())
}

#[tokio::test]
async fn subscribe_list_unsubscribe() {
    let s = v14().await;
    let mut cb = callback_receiver().await;
    // @Consumes(application/json): no Content-Type → 415
    let r = request(Method::POST, &subs_url(&s, &cb.url), &[], "").await;
    assert_eq!(r.status, 415);
    assert!(s.subscriptions().is_empty());

    let r = post(&subs_url(&s, &cb.url), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json();
    assert_shape(
        &fixture("docs_eventSubscriptions_subscribe_v1.4.json"),
        &body,
        "",
        &[],
    );
    assert_eq!(body["callbackUrl"], cb.url.as_str());
    assert_eq!(body["eventType"], "subscribe_event");
    assert_eq!(body["clientIp"], "127.0.0.1");
    // the new subscriber gets its own subscribe_event
    let (_, ev) = cb.next(T).await.unwrap();
    assert_eq!(ev["eventType"], "subscribe_event");

    // idempotent
    assert_eq!(post(&subs_url(&s, &cb.url), "").await.status, 200);
    let list = get_json(&format!("{}/v2/eventSubscriptions", s.url())).await;
    assert_shape(
        &fixture("docs_eventSubscriptions_list_v1.4.json"),
        &list,
        "",
        &[],
    );
    assert_eq!(list["callbackUrls"], json!([cb.url]));

    let r = request(Method::DELETE, &subs_url(&s, &cb.url), &[], "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["eventType"], "unsubscribe_event");
    assert_eq!(
        get_json(&format!("{}/v2/eventSubscriptions", s.url())).await["callbackUrls"],
        json!([])
    );

    // URLs without a scheme are rejected (validation since 1.3.0)
    let r = post(&subs_url(&s, "localhost:9999/events"), "").await;
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn callbacks_get_every_event_as_json_posts() {
    let s = v14().await;
    let mut cb = callback_receiver().await;
    s.add_subscription(&cb.url);
    let (_, _, mut sse) = sse(&format!("{}/v2/events", s.url()), &[]).await;
    let attached = sse.next_event(T).await.unwrap();
    s.deploy(AppSpec::new("web", 2).with_health_checks(true))
        .await
        .unwrap();
    s.terminate("web").await.unwrap();
    let streamed = sse.until(|e| e.event_type == "app_terminated_event").await;

    let mut posted = Vec::new();
    while posted.len() < streamed.len() + 1 {
        let (headers, v) = cb.next(T).await.expect("callback");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(headers["accept"], "application/json");
        posted.push(v);
    }
    assert!(
        cb.next(Duration::from_millis(100)).await.is_none(),
        "no extra events"
    );
    // Same JSON as the SSE data lines (delivery order may differ).
    let as_set = |vs: Vec<Value>| {
        vs.into_iter()
            .map(|v| v.to_string())
            .collect::<BTreeSet<_>>()
    };
    let mut want: Vec<Value> = streamed.into_iter().map(|e| e.data).collect();
    want.push(attached.data);
    assert_eq!(as_set(posted), as_set(want));
}

#[tokio::test]
async fn http_endpoints_config_registers_callbacks() {
    let mut cb = callback_receiver().await;
    let cfg = SimConfig {
        http_endpoints: vec![cb.url.clone()],
        ..SimConfig::new(MarathonVersion::V1_4)
    };
    let s = Simulator::start(cfg).await.unwrap();
    assert_eq!(s.subscriptions(), vec![cb.url.clone()]);
    s.emit_raw(json!({"eventType": "x", "timestamp": "2014-03-01T23:29:30.158Z"}))
        .await;
    assert_eq!(cb.next(T).await.unwrap().1["eventType"], "x");
}

#[tokio::test]
async fn v1_10_has_no_event_subscriptions() {
    let s = Simulator::start(SimConfig::default()).await.unwrap();
    let r = post(&subs_url(&s, "http://127.0.0.1:9/c"), "").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({"message": "URI not found: /v2/eventSubscriptions"})
    );
    let r = get(&format!("{}/v2/eventSubscriptions", s.url())).await;
    assert_eq!(r.status, 404);
    // even a registered URL gets nothing from 1.10
    let mut cb = callback_receiver().await;
    s.add_subscription(&cb.url);
    s.deploy(AppSpec::new("web", 1)).await.unwrap();
    assert!(cb.next(Duration::from_millis(200)).await.is_none());
}

#[tokio::test]
async fn disabled_callback_subscriber_answers_400() {
    let cfg = SimConfig {
        callbacks: false,
        ..SimConfig::new(MarathonVersion::V1_4)
    };
    let s = Simulator::start(cfg).await.unwrap();
    for method in [Method::GET, Method::POST, Method::DELETE] {
        let r = request(
            method.clone(),
            &subs_url(&s, "http://127.0.0.1:9/c"),
            &[("content-type", "application/json")],
            "",
        )
        .await;
        assert_eq!(r.status, 400, "{method}");
        assert_eq!(
            r.json(),
            fixture("issue884_error_event_subscriber_disabled_v0.7.json")
        );
    }
    let info = get_json(&format!("{}/v2/info", s.url())).await;
    assert!(info.get("event_subscriber").is_none());
}

#[tokio::test]
async fn failed_deliveries_put_the_url_in_back_off() {
    let s = v14().await;
    let mut cb = callback_receiver().await;
    s.add_subscription(&cb.url);
    cb.status.store(500, Ordering::SeqCst);
    let ev = |i: u32| json!({"eventType": "x", "i": i});
    s.emit_raw(ev(1)).await;
    assert_eq!(cb.next(T).await.unwrap().1["i"], 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // in back-off (2 s): dropped, never retried
    s.emit_raw(ev(2)).await;
    assert!(cb.next(Duration::from_millis(300)).await.is_none());
    cb.status.store(200, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1900)).await;
    s.emit_raw(ev(3)).await;
    assert_eq!(cb.next(T).await.unwrap().1["i"], 3);
}
