//! One bad event never freezes a record, and Marathon's own listing always heals: events
//! stamped beyond the clock skew are refused, a reconcile replaces far-future guards and
//! restores what a partial listing removed, and unusable addresses never reach a record.
//! Real etcd, the Marathon simulator (behind a front that can skew its listing).
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use common::*;
use herald_subscriber::Subscriber;
use marathon_sim::{AppSpec, MarathonVersion, Simulator, TaskView};
use registry::{
    AppId, Entry, Guard, Health, Registry, Scope, Stamp, TaskRecord, TaskState, Write, WriteOp,
};
use serde_json::{Value, json};

const FAR_FUTURE: &str = "9999-12-31T23:59:59.999Z";

/// What [`PartialMarathon`] changes in `GET /v2/apps` answers.
#[derive(Clone, Default)]
struct ListingFaults {
    /// Apps left out.
    omitted: Vec<String>,
    /// Tasks shown as `TASK_KILLING` (the listing lagging behind the kill's events).
    killing: Vec<String>,
}

type Faults = Arc<Mutex<ListingFaults>>;

/// A Marathon that answers like a leader failing over: every GET is the simulator's answer,
/// but `GET /v2/apps` leaves out the apps in [`PartialMarathon::omit`] and shows the tasks
/// in [`PartialMarathon::show_killing`] as killing.
struct PartialMarathon {
    url: String,
    faults: Faults,
    server: tokio::task::JoinHandle<()>,
}

impl PartialMarathon {
    async fn start(sim: &Simulator) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let faults = Faults::default();
        let router = axum::Router::new()
            .fallback(forward)
            .with_state((sim.url(), faults.clone()));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        PartialMarathon {
            url,
            faults,
            server,
        }
    }

    /// Until called again, `GET /v2/apps` leaves these apps out (`&[]`: none).
    fn omit(&self, app_ids: &[&str]) {
        self.faults.lock().unwrap().omitted = app_ids.iter().map(|a| a.to_string()).collect();
    }

    /// Until called again, `GET /v2/apps` shows these tasks as `TASK_KILLING`.
    fn show_killing(&self, task_ids: &[&str]) {
        self.faults.lock().unwrap().killing = task_ids.iter().map(|t| t.to_string()).collect();
    }
}

impl Drop for PartialMarathon {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn forward(State((sim, faults)): State<(String, Faults)>, uri: Uri) -> Response {
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let answer = match http().get(format!("{sim}{target}")).send().await {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
    let mut body = answer.bytes().await.unwrap_or_default().to_vec();
    if uri.path() == "/v2/apps"
        && let Ok(mut listing) = serde_json::from_slice::<Value>(&body)
    {
        let faults = faults.lock().unwrap().clone();
        if let Some(apps) = listing["apps"].as_array_mut() {
            apps.retain(|app| !faults.omitted.iter().any(|id| app["id"] == id.as_str()));
            for task in apps.iter_mut().filter_map(|a| a["tasks"].as_array_mut()) {
                for t in task
                    .iter_mut()
                    .filter(|t| faults.killing.iter().any(|id| t["id"] == id.as_str()))
                {
                    t["state"] = json!("TASK_KILLING");
                }
            }
        }
        body = serde_json::to_vec(&listing).unwrap();
    }
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// etcd, a simulator running `apps` behind a [`PartialMarathon`], and a callback subscriber
/// (no events but the ones a test posts, no reconcile but the start-up one and the ones a
/// test asks for), once the start-up reconcile has stored every task.
async fn setup(
    apps: Vec<AppSpec>,
) -> (
    registry::harness::EtcdServer,
    Registry,
    Simulator,
    PartialMarathon,
    Subscriber,
) {
    let (etcd, registry) = etcd().await;
    let sim = sim(MarathonVersion::V1_10).await;
    for app in apps {
        sim.deploy(app).await.unwrap();
    }
    let marathon = PartialMarathon::start(&sim).await;
    let sub = callback_subscriber(&etcd, &marathon.url, &[]).await;
    in_sync_with(&registry, &sim).await;
    (etcd, registry, sim, marathon, sub)
}

/// A `status_update_event` for a task the simulator runs.
fn status(task: &TaskView, state: &str, at: &str) -> Value {
    json!({
        "eventType": "status_update_event", "timestamp": at, "taskId": task.task_id,
        "appId": task.app_id, "taskStatus": state, "host": task.host, "slaveId": task.agent_id,
        "ports": task.ports, "ipAddresses": [], "message": "",
    })
}

async fn stored(registry: &Registry, task: &TaskView) -> Option<TaskRecord> {
    let app = AppId::parse(&task.app_id).unwrap();
    registry
        .get_task(&app, &task.task_id)
        .await
        .ok()?
        .map(|v| v.record)
}

/// What the task's key holds: `Some((reason, at))` for a tombstone.
async fn tombstone(registry: &Registry, task: &TaskView) -> Option<(String, Stamp)> {
    let app = AppId::parse(&task.app_id).unwrap();
    let key = registry.layout().task_key(&app, &task.task_id).unwrap();
    match registry.get(&key).await.ok()? {
        Some((Entry::Gone { reason, at }, _)) => Some((reason, at)),
        _ => None,
    }
}

async fn wait_for_state(registry: &Registry, task: &TaskView, state: TaskState) -> TaskRecord {
    eventually(
        &format!("{} becomes {state:?}", task.task_id),
        WAIT,
        async || stored(registry, task).await.filter(|r| r.state == state),
    )
    .await
}

/// This host's time plus `secs`, in Marathon's format (well within the clock skew).
fn now_plus(secs: i64) -> String {
    Stamp::from_datetime(chrono::Utc::now() + chrono::TimeDelta::seconds(secs)).to_string()
}

/// `startedAt` of a task in the simulator's `GET /v2/apps?embed=apps.tasks`.
fn started_at(sim: &Simulator, task_id: &str) -> Stamp {
    let apps = sim.apps_json();
    let task = apps["apps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["tasks"].as_array().unwrap())
        .find(|t| t["id"] == task_id)
        .unwrap();
    Stamp::parse(task["startedAt"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_callback_from_beyond_the_clock_skew_gets_422_and_the_real_kill_applies() {
    let (_etcd, registry, sim, _marathon, sub) = setup(vec![AppSpec::new("/web", 2)]).await;
    let task = sim.running_tasks().remove(0);
    let before = stored(&registry, &task).await.unwrap();

    let (code, answer) =
        post_callback(&sub, status(&task, "TASK_RUNNING", FAR_FUTURE).to_string()).await;
    assert_eq!(code, 422, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains(FAR_FUTURE) && error.contains("--max-clock-skew"),
        "the error says what and why: {error}"
    );
    assert_eq!(stored(&registry, &task).await.unwrap(), before);

    // The real events that follow are not stale.
    let now = Stamp::now().to_string();
    let (code, _) = post_callback(&sub, status(&task, "TASK_KILLING", &now).to_string()).await;
    assert_eq!(code, 200);
    let killing = wait_for_state(&registry, &task, TaskState::Killing).await;
    assert!(!killing.is_serving());
    let now = Stamp::now().to_string();
    let (code, _) = post_callback(&sub, status(&task, "TASK_KILLED", &now).to_string()).await;
    assert_eq!(code, 200);
    let (reason, at) = eventually("the kill leaves a tombstone", WAIT, async || {
        tombstone(&registry, &task).await
    })
    .await;
    assert_eq!((reason, at.to_string()), ("TASK_KILLED".to_string(), now));
    sub.stop().await;
}

#[tokio::test]
async fn an_sse_event_from_beyond_the_clock_skew_is_dropped_and_real_events_apply() {
    let (etcd, registry) = etcd().await;
    let (sim, sub) = streaming(&etcd, MarathonVersion::V1_10).await;
    sim.deploy(AppSpec::new("/web", 2).with_health_checks(true))
        .await
        .unwrap();
    in_sync_with(&registry, &sim).await;
    let task = sim.running_tasks().remove(0);
    // No reconcile can help (a start-up resync may still be due): only events count here.
    sim.set_failing(true);

    // One stream, in order: the far-future event is handled before the real health event.
    sim.emit_raw(status(&task, "TASK_RUNNING", FAR_FUTURE))
        .await;
    sim.set_health(&task.task_id, false).await.unwrap();
    let record = eventually("the real health event applies", WAIT, async || {
        stored(&registry, &task)
            .await
            .filter(|r| r.health == Health::Unhealthy)
    })
    .await;
    assert_ne!(record.updated_at.as_str(), FAR_FUTURE);

    sim.set_failing(false);
    sim.kill_task(&task.task_id).await.unwrap();
    let (reason, at) = eventually("the kill's tombstone", WAIT, async || {
        tombstone(&registry, &task).await
    })
    .await;
    assert_ne!(at.as_str(), FAR_FUTURE, "{reason}");
    in_sync_with(&registry, &sim).await;
    sub.stop().await;
}

#[tokio::test]
async fn a_reconcile_replaces_a_far_future_guard_with_the_listings_own() {
    let (_etcd, registry, sim, _marathon, sub) = setup(vec![AppSpec::new("/web", 2)]).await;
    let task = sim.running_tasks().remove(0);
    let app_id = AppId::parse("/web").unwrap();

    // Records written by a subscriber that still took events from the future.
    let mut frozen_task = stored(&registry, &task).await.unwrap();
    frozen_task.updated_at = Stamp::parse(FAR_FUTURE).unwrap();
    let mut frozen_app = registry.get_app(&app_id).await.unwrap().unwrap().record;
    frozen_app.updated_at = Stamp::parse(FAR_FUTURE).unwrap();
    registry
        .apply(vec![
            WriteOp {
                write: Write::PutTask(frozen_task.clone()),
                guard: Guard::Always,
            },
            WriteOp {
                write: Write::PutApp(frozen_app),
                guard: Guard::Always,
            },
        ])
        .await
        .unwrap();
    // Frozen: a real event is refused.
    let now = Stamp::now().to_string();
    let (code, _) = post_callback(&sub, status(&task, "TASK_KILLING", &now).to_string()).await;
    assert_eq!(code, 200);
    eventually("the event is handled", WAIT, async || {
        let (_, h) = get_json(&url(&sub, "/healthz")).await?;
        (h["checks"]["queue_depth"] == 0).then_some(())
    })
    .await;
    assert_eq!(stored(&registry, &task).await.unwrap(), frozen_task);

    // Nothing but the guard differs from Marathon's listing, and the reconcile rewrites it.
    let (code, report) = post_json(&url(&sub, "/cleanup")).await;
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["written"], 2, "the task and the app: {report}");
    assert_eq!(report["conflicts"], 0, "{report}");
    let healed = stored(&registry, &task).await.unwrap();
    assert_eq!(healed.updated_at, started_at(&sim, &task.task_id));
    let app = registry.get_app(&app_id).await.unwrap().unwrap().record;
    assert_eq!(app.updated_at, Stamp::parse(&app.version).unwrap());

    // Real events apply again.
    let now = Stamp::now().to_string();
    let (code, _) = post_callback(&sub, status(&task, "TASK_KILLING", &now).to_string()).await;
    assert_eq!(code, 200);
    wait_for_state(&registry, &task, TaskState::Killing).await;
    sub.stop().await;
}

/// How many tasks and apps etcd holds as tombstones.
async fn tombstones(registry: &Registry) -> usize {
    registry
        .list_with_tombstones(&Scope::All)
        .await
        .unwrap()
        .1
        .len()
}

#[tokio::test]
async fn an_app_left_out_of_one_listing_is_restored_by_the_next_cleanup() {
    let (_etcd, registry, sim, marathon, sub) =
        setup(vec![AppSpec::new("/a", 3), AppSpec::new("/b", 6)]).await;

    // A failing-over Marathon leader answers without /a: a reconcile removes it
    // (4 of 11 records, under the delete share).
    marathon.omit(&["/a"]);
    let (code, report) = post_json(&url(&sub, "/cleanup")).await;
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["planned"]["remove_task"], 3, "{report}");
    assert_eq!(report["planned"]["remove_app"], 1, "{report}");
    assert_eq!(report["written"], 4, "{report}");
    let left: Vec<String> = stored_tasks(&registry)
        .await
        .into_values()
        .map(|t| t.app_id.to_string())
        .collect();
    assert_eq!(left, vec!["/b"; 6]);
    assert_eq!(tombstones(&registry).await, 4);

    // Marathon lists /a again: the next cleanup restores every record of it at once,
    // over the tombstones.
    marathon.omit(&[]);
    let (code, report) = post_json(&url(&sub, "/cleanup")).await;
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["written"], 4, "3 tasks and the app: {report}");
    assert_eq!(report["conflicts"], 0, "{report}");
    let have = stored_tasks(&registry).await;
    assert_eq!(diff(&sim.running_tasks(), &have), None);
    assert!(
        registry
            .get_app(&AppId::parse("/a").unwrap())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(tombstones(&registry).await, 0);
    sub.stop().await;
}

#[tokio::test]
async fn a_forced_cleanup_on_an_empty_listing_is_undone_by_the_next_one() {
    let (_etcd, registry, sim, marathon, sub) =
        setup(vec![AppSpec::new("/a", 3), AppSpec::new("/b", 4)]).await;
    let records = sim.running_tasks().len() + 2;

    // Marathon answers {"apps":[]}; the operator forces the cleanup.
    marathon.omit(&["/a", "/b"]);
    let listing = get_json(&format!("{}/v2/apps?embed=apps.tasks", marathon.url)).await;
    assert_eq!(listing, Some((200, json!({ "apps": [] }))));
    let (code, _) = post_json(&url(&sub, "/cleanup")).await;
    assert_eq!(code, 409, "removing everything needs force");
    let (code, report) = post_json(&url(&sub, "/cleanup?force=true")).await;
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["written"], records, "{report}");
    assert!(stored_tasks(&registry).await.is_empty());

    marathon.omit(&[]);
    let (code, report) = post_json(&url(&sub, "/cleanup")).await;
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["written"], records, "{report}");
    assert_eq!(report["conflicts"], 0, "{report}");
    assert_eq!(
        diff(&sim.running_tasks(), &stored_tasks(&registry).await),
        None
    );
    assert_eq!(registry.list(&Scope::All).await.unwrap().apps.len(), 2);
    sub.stop().await;
}

#[tokio::test]
async fn a_running_task_in_the_listing_replaces_a_tombstone_and_a_killing_one_does_not() {
    let (_etcd, registry, sim, marathon, sub) = setup(vec![AppSpec::new("/web", 2)]).await;
    let task = sim.running_tasks().remove(0);
    // The kill's events arrive before Marathon's listing shows the kill.
    let now = Stamp::now().to_string();
    let (code, _) = post_callback(&sub, status(&task, "TASK_KILLED", &now).to_string()).await;
    assert_eq!(code, 200);
    eventually("the kill's tombstone", WAIT, async || {
        tombstone(&registry, &task).await
    })
    .await;

    // Listed as killing: on its way out, the tombstone stays.
    marathon.show_killing(&[&task.task_id]);
    let (code, report) = post_json(&url(&sub, "/cleanup")).await;
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["planned"]["create_task"], 0, "{report}");
    assert!(tombstone(&registry, &task).await.is_some());

    // Listed as running: the listing is the truth, and the task is back at once.
    marathon.show_killing(&[]);
    let (code, report) = post_json(&url(&sub, "/cleanup")).await;
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["written"], 1, "{report}");
    assert_eq!(
        stored(&registry, &task).await.map(|t| t.state),
        Some(TaskState::Running)
    );
    sub.stop().await;
}

#[tokio::test]
async fn addresses_no_client_can_use_never_reach_a_record() {
    let (_etcd, registry, sim, _marathon, sub) = setup(vec![AppSpec::new("/web", 1)]).await;
    let task = sim.running_tasks().remove(0);
    let mut event = status(&task, "TASK_RUNNING", &now_plus(1));
    event["host"] = json!("0.0.0.0");
    event["ipAddresses"] = json!([
        {"ipAddress": "0.0.0.0", "protocol": "IPv4"},
        {"ipAddress": "224.0.0.251", "protocol": "IPv4"},
        {"ipAddress": "255.255.255.255", "protocol": "IPv4"},
        {"ipAddress": "fd00::7", "protocol": "IPv4"},
        {"ipAddress": "10.0.0.8", "protocol": "IPv6"},
        {"ipAddress": "ff02::1", "protocol": "IPv6"},
        {"ipAddress": "::", "protocol": "IPv6"},
        {"ipAddress": "10.0.0.7", "protocol": "IPv4"},
        {"ipAddress": "fd00::8", "protocol": "IPv6"},
    ]);
    let (code, answer) = post_callback(&sub, event.to_string()).await;
    assert_eq!(code, 200, "{answer}");
    let record = eventually("the event's record", WAIT, async || {
        stored(&registry, &task)
            .await
            .filter(|r| r.host == "0.0.0.0")
    })
    .await;
    let ips: Vec<String> = record.task_ips.iter().map(|i| i.to_string()).collect();
    assert_eq!(ips, vec!["10.0.0.7", "fd00::8"]);
    assert!(record.agent_ips.is_empty(), "{:?}", record.agent_ips);

    // An empty host gives no agent address at all.
    let mut event = status(&task, "TASK_RUNNING", &now_plus(2));
    event["host"] = json!("");
    let (code, _) = post_callback(&sub, event.to_string()).await;
    assert_eq!(code, 200);
    let record = eventually("the empty-host record", WAIT, async || {
        stored(&registry, &task).await.filter(|r| r.host.is_empty())
    })
    .await;
    assert!(record.agent_ips.is_empty() && record.task_ips.is_empty());
    sub.stop().await;
}
