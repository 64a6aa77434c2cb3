//! `/cleanup`: the reconcile against `GET /v2/apps?embed=apps.tasks`, with a real etcd.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use common::*;
use herald_subscriber::agents::AgentResolver;
use herald_subscriber::catalog::Catalog;
use herald_subscriber::marathon::{MarathonClient, MarathonConfig};
use herald_subscriber::reconcile::Reconciler;
use herald_subscriber::writes::{DEFAULT_MAX_RECORD_SIZE, Writer};
use marathon_sim::{AppSpec, MarathonVersion, Networking, PortSpec, Simulator};
use registry::{Health, Outcome, Registry, Scope, Stamp, Write, WriteOp};
use tokio::sync::Mutex;

async fn setup(version: MarathonVersion) -> Setup {
    let (etcd, registry) = etcd().await;
    let (sim, sub) = streaming(&etcd, version).await;
    (etcd, registry, sim, sub)
}

fn app(id: &str, n: u32) -> AppSpec {
    AppSpec::new(id, n)
        .with_networking(Networking::Bridge)
        .with_ports(vec![PortSpec::new(Some("http"), Some(8080), "tcp")])
        .with_health_checks(true)
}

#[tokio::test]
async fn an_in_sync_registry_gets_zero_writes() {
    for version in [MarathonVersion::V1_10, MarathonVersion::V1_4] {
        let (_etcd, registry, sim, sub) = setup(version).await;
        let tasks = sim.deploy(app("/a", 3)).await.unwrap();
        sim.deploy(app("/b/c", 2).with_networking(Networking::Container))
            .await
            .unwrap();
        sim.deploy(AppSpec::new("/d", 2)).await.unwrap();
        sim.set_health(&tasks[1], false).await.unwrap();
        in_sync_with(&registry, &sim).await;
        // The start-up and reconnect resyncs have nothing left to do once the dry run
        // plans no change; from then on nothing may write.
        eventually("a dry run plans no change", WAIT, async || {
            let (_, plan) = get_json(&url(&sub, "/cleanup")).await?;
            (plan["changes"] == serde_json::json!([])).then_some(())
        })
        .await;

        let before = revision(&registry).await;
        let (code, plan) = get_json(&url(&sub, "/cleanup")).await.unwrap();
        assert_eq!(code, 200);
        assert_eq!(
            plan["changes"],
            serde_json::json!([]),
            "{version}: {plan:#}"
        );
        let (code, report) = post_json(&url(&sub, "/cleanup")).await;
        assert_eq!(code, 200, "{report}");
        assert_eq!(report["written"], 0, "{version}: {report}");
        assert_eq!(revision(&registry).await, before, "{version}: zero writes");
        sub.stop().await;
    }
}

#[tokio::test]
async fn dropped_events_are_healed_by_cleanup_and_get_changes_nothing() {
    let (_etcd, registry, sim, sub) = setup(MarathonVersion::V1_10).await;
    let tasks = sim.deploy(app("/a", 3)).await.unwrap();
    sim.deploy(app("/gone", 1)).await.unwrap();
    in_sync_with(&registry, &sim).await;

    sim.set_event_delivery(false);
    sim.kill_task(&tasks[0]).await.unwrap();
    sim.scale("/a", 4).await.unwrap();
    sim.set_health(&tasks[2], false).await.unwrap();
    sim.deploy(app("/new", 2)).await.unwrap();
    sim.terminate("/gone").await.unwrap();

    let before = revision(&registry).await;
    let (code, plan) = get_json(&url(&sub, "/cleanup")).await.unwrap();
    assert_eq!(code, 200);
    let s = &plan["summary"];
    assert_eq!(s["create_task"], 4, "{plan:#}"); // a's replacement + 1 scaled + 2 of /new
    assert_eq!(s["remove_task"], 2, "{plan:#}"); // the killed one and /gone's
    assert_eq!(s["update_task"], 1, "{plan:#}"); // the unhealthy one
    assert_eq!(s["create_app"], 1);
    assert_eq!(s["remove_app"], 1);
    assert!(
        s["update_app"].as_u64().unwrap() <= 1,
        "/a's version changed with the scale"
    );
    assert_eq!(
        revision(&registry).await,
        before,
        "GET /cleanup changes nothing"
    );

    let (code, report) = post_json(&url(&sub, "/cleanup")).await;
    assert_eq!(code, 200, "{report}");
    in_sync_with(&registry, &sim).await;
    let apps: Vec<String> = registry
        .list(&Scope::All)
        .await
        .unwrap()
        .apps
        .into_iter()
        .map(|a| a.record.app_id.to_string())
        .collect();
    assert_eq!(apps, vec!["/a", "/new"]);
    sub.stop().await;
}

#[tokio::test]
async fn marathon_down_during_a_reconcile_deletes_nothing() {
    let (_etcd, registry, sim, sub) = setup(MarathonVersion::V1_10).await;
    sim.deploy(app("/a", 3)).await.unwrap();
    let before = in_sync_with(&registry, &sim).await;
    let rev = revision(&registry).await;

    sim.set_failing(true);
    let (code, answer) = post_json(&url(&sub, "/cleanup?force=true")).await;
    assert_eq!(code, 502, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("nothing was changed")
    );
    let (code, _) = get_json(&url(&sub, "/cleanup")).await.unwrap();
    assert_eq!(code, 502);

    // Marathon gone altogether: the same.
    drop(sim);
    let (code, _) = post_json(&url(&sub, "/cleanup?force=true")).await;
    assert_eq!(code, 502);
    assert_eq!(revision(&registry).await, rev);
    assert_eq!(stored_tasks(&registry).await, before);
    let (code, health) = get_json(&url(&sub, "/healthz")).await.unwrap();
    assert_eq!(code, 200, "Marathon down is degraded, not down");
    assert_eq!(health["status"], "degraded");
    let why = health["checks"]["marathon"]["error"].as_str().unwrap_or("");
    assert!(!why.is_empty(), "/healthz says why: {health}");
    assert_eq!(health["checks"]["etcd"]["ok"], true, "{health}");
    sub.stop().await;
}

#[tokio::test]
async fn removing_more_than_the_allowed_share_needs_force() {
    let (_etcd, registry, sim, sub) = setup(MarathonVersion::V1_10).await;
    sim.deploy(app("/a", 3)).await.unwrap();
    sim.deploy(app("/b", 1)).await.unwrap();
    in_sync_with(&registry, &sim).await;

    sim.set_event_delivery(false);
    sim.terminate("/a").await.unwrap();
    let rev = revision(&registry).await;
    // 3 tasks + 1 app of 6 records: 67% > 50%.
    let (code, answer) = post_json(&url(&sub, "/cleanup")).await;
    assert_eq!(code, 409, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("force=true"));
    assert_eq!(answer["plan"]["summary"]["remove_task"], 3);
    assert_eq!(revision(&registry).await, rev, "nothing applied");

    let (code, report) = post_json(&url(&sub, "/cleanup?force=true")).await;
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["written"], 4);
    in_sync_with(&registry, &sim).await;
    sub.stop().await;
}

#[tokio::test]
async fn read_views_show_what_etcd_holds() {
    let (_etcd, registry, sim, sub) = setup(MarathonVersion::V1_10).await;
    sim.deploy(app("/prod/web", 2)).await.unwrap();
    sim.deploy(app("/dev/web", 1)).await.unwrap();
    in_sync_with(&registry, &sim).await;
    let (_, tasks) = get_json(&url(&sub, "/v1/tasks?app=/prod/web"))
        .await
        .unwrap();
    assert_eq!(tasks["tasks"].as_array().unwrap().len(), 2);
    let (_, apps) = get_json(&url(&sub, "/v1/apps?group=/dev")).await.unwrap();
    assert_eq!(apps["apps"].as_array().unwrap().len(), 1);
    let (code, _) = get_json(&url(&sub, "/v1/tasks?app=/Bad")).await.unwrap();
    assert_eq!(code, 400);
    let metrics = metrics(&sub).await;
    assert!(
        metrics.contains("herald_subscriber_events_total"),
        "{metrics}"
    );
    sub.stop().await;
}

/// A Marathon in front of the simulator that, when asked for the apps listing, first applies
/// the writes queued in `during_listing` (as the event handler would while a reconcile
/// waits for the listing), then answers with the simulator's listing.
struct RacingMarathon {
    url: String,
    during_listing: Arc<Mutex<Vec<WriteOp>>>,
    listings: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct Racing {
    sim: String,
    registry: Registry,
    during_listing: Arc<Mutex<Vec<WriteOp>>>,
    listings: Arc<AtomicUsize>,
}

impl RacingMarathon {
    async fn start(sim: &Simulator, registry: &Registry) -> Self {
        let racing = Racing {
            sim: sim.url(),
            registry: registry.clone(),
            during_listing: Arc::default(),
            listings: Arc::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let marathon = RacingMarathon {
            url,
            during_listing: racing.during_listing.clone(),
            listings: racing.listings.clone(),
        };
        let router = axum::Router::new().fallback(forward).with_state(racing);
        tokio::spawn(async move { axum::serve(listener, router).await });
        marathon
    }

    /// A reconciler of `registry` against this Marathon.
    fn reconciler(&self, registry: &Registry) -> Reconciler {
        let client = MarathonClient::new(&MarathonConfig {
            url: self.url.clone(),
            timeout: Duration::from_secs(10),
            ..Default::default()
        })
        .unwrap();
        Reconciler::new(
            Writer::new(registry.clone(), DEFAULT_MAX_RECORD_SIZE, 4),
            client.clone(),
            Catalog::new(client),
            AgentResolver::new(Duration::from_secs(60)),
            0.5,
        )
    }
}

async fn forward(State(racing): State<Racing>, uri: Uri) -> (StatusCode, Bytes) {
    if uri.path() == "/v2/apps" {
        racing.listings.fetch_add(1, Ordering::SeqCst);
        let writes = std::mem::take(&mut *racing.during_listing.lock().await);
        if !writes.is_empty() {
            let outcomes = racing.registry.apply(writes).await.unwrap();
            assert!(
                outcomes.iter().all(|o| *o == Outcome::Written),
                "{outcomes:?}"
            );
        }
    }
    let answer = http()
        .get(format!("{}{uri}", racing.sim))
        .send()
        .await
        .unwrap();
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
    (status, answer.bytes().await.unwrap())
}

#[tokio::test]
async fn records_written_while_marathon_answers_are_neither_removed_nor_undone() {
    let (_etcd, registry) = etcd().await;
    let sim = sim(MarathonVersion::V1_10).await;
    sim.deploy(app("/a", 2)).await.unwrap();
    let marathon = RacingMarathon::start(&sim, &registry).await;
    let reconciler = marathon.reconciler(&registry);
    let filled = reconciler.run(false).await.unwrap();
    assert_eq!(filled.written, 3, "{filled:?}");
    let before = stored_tasks(&registry).await;
    let listed = before.values().next().unwrap().clone();

    // Events written after the plan fixed etcd's revision, before Marathon's answer: one
    // changes a listed task, the other adds a task the listing lacks.
    let mut changed = listed.clone();
    changed.health = match listed.health {
        Health::Healthy => Health::Unhealthy,
        _ => Health::Healthy,
    };
    changed.updated_at =
        Stamp::from_datetime(listed.updated_at.to_datetime() + chrono::TimeDelta::seconds(1));
    let mut late = changed.clone();
    late.task_id = format!("{}9", listed.task_id);
    late.instance_id = None;
    *marathon.during_listing.lock().await = vec![
        WriteOp::newer(Write::PutTask(changed.clone())),
        WriteOp::newer(Write::PutTask(late.clone())),
    ];

    let report = reconciler.run(false).await.unwrap();
    assert_eq!(marathon.listings.load(Ordering::SeqCst), 2);
    assert!(marathon.during_listing.lock().await.is_empty());
    // etcd as of before the listing was in sync with it: nothing to plan, nothing undone.
    assert_eq!(report.planned.total(), 0, "{report:?}");
    let after = stored_tasks(&registry).await;
    assert_eq!(after.get(&changed.task_id), Some(&changed));
    assert_eq!(after.get(&late.task_id), Some(&late));
    assert_eq!(after.len(), before.len() + 1);
}
