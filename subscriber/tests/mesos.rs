//! The Mesos source against the Mesos master simulator (`examples/mesos-sim`, not Mesos)
//! and a real etcd (and a real ZooKeeper where the test says so): every event kind lands,
//! leader changes through a follower's 307 and through ZooKeeper, a stream cut mid-record,
//! a silent stream, the master down (nothing deleted), removals over the cap withheld, and
//! both sources side by side.

use std::collections::BTreeSet;
use std::time::Duration;

use clap::Parser;
use herald_subscriber::{Config, Subscriber};
use mesos_sim::{
    AgentSpec, FrameworkSpec, Networking, PodSpec, PortSpec, SimConfig, Simulator, TaskSpec,
    ZkConfig,
};
use registry::harness::{EtcdServer, ZooKeeper, skip, zookeeper_unavailable};
use registry::{
    Health, MesosScope, MesosSnapshot, MesosTaskRecord, MesosWrite, MesosWriteOp, Registry, Stamp,
    TaskState,
};
use serde_json::Value;

use crate::common::{WAIT, etcd, eventually, get_json, post_json, url};

/// A subscriber with only the Mesos source, for `masters` (`--mesos`), and `extra` flags.
async fn mesos_subscriber(etcd: &EtcdServer, masters: &str, extra: &[&str]) -> Subscriber {
    let endpoint = etcd.endpoint();
    let mut args = vec![
        "herald-subscriber",
        "--listen",
        "127.0.0.1:0",
        "--mesos",
        masters,
        "--etcd-endpoints",
        &endpoint,
        "--election",
        "false",
        "--reconcile-interval",
        "off",
    ];
    args.extend_from_slice(extra);
    let config = Config::try_parse_from(args).expect("flags");
    Subscriber::start(config).await.expect("subscriber starts")
}

/// A simulator with `masters` masters (master 0 leads) and quick heartbeats.
async fn simulator(masters: usize) -> Simulator {
    Simulator::start(SimConfig {
        heartbeat: Duration::from_millis(200),
        ..SimConfig::with_masters(masters)
    })
    .await
    .expect("simulator starts")
}

/// What a v1 `get_state` holds, as comparable ids: agents, frameworks and live tasks
/// (`(framework id, task id)`).
#[derive(Debug, PartialEq, Eq)]
struct Ids {
    agents: BTreeSet<String>,
    frameworks: BTreeSet<String>,
    tasks: BTreeSet<(String, String)>,
}

fn value(v: &Value) -> String {
    v["value"].as_str().unwrap_or_default().to_string()
}

/// The simulator's truth (tasks of the frameworks named in `except` left out).
fn truth(sim: &Simulator, except: &[&str]) -> Ids {
    let state = &sim.state_json()["get_state"];
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let frameworks = list(&state["get_frameworks"]["frameworks"]);
    let skipped: BTreeSet<String> = frameworks
        .iter()
        .filter(|f| except.contains(&f["framework_info"]["name"].as_str().unwrap_or_default()))
        .map(|f| value(&f["framework_info"]["id"]))
        .collect();
    let tasks = list(&state["get_tasks"]["tasks"])
        .into_iter()
        .chain(list(&state["get_tasks"]["unreachable_tasks"]))
        .filter(|t| {
            let s = t["state"].as_str().unwrap_or_default();
            !TaskState::parse(s).is_terminal() || s == "TASK_UNKNOWN"
        })
        .map(|t| (value(&t["framework_id"]), value(&t["task_id"])))
        .filter(|(f, _)| !skipped.contains(f))
        .collect();
    Ids {
        agents: list(&state["get_agents"]["agents"])
            .iter()
            .map(|a| value(&a["agent_info"]["id"]))
            .collect(),
        frameworks: frameworks
            .iter()
            .map(|f| value(&f["framework_info"]["id"]))
            .collect(),
        tasks,
    }
}

fn stored_ids(s: &MesosSnapshot) -> Ids {
    Ids {
        agents: s.agents.iter().map(|a| a.record.agent_id.clone()).collect(),
        frameworks: s
            .frameworks
            .iter()
            .map(|f| f.record.framework_id.clone())
            .collect(),
        tasks: s
            .tasks
            .iter()
            .map(|t| (t.record.framework_id.clone(), t.record.task_id.clone()))
            .collect(),
    }
}

/// Waits until etcd's Mesos records hold exactly the simulator's ids; returns them.
async fn in_sync(registry: &Registry, sim: &Simulator, except: &[&str]) -> MesosSnapshot {
    eventually(
        "etcd's Mesos records to match the simulator",
        WAIT,
        async || {
            let stored = registry
                .list_mesos(&MesosScope::All)
                .await
                .map_err(|e| e.to_string())?;
            let want = truth(sim, except);
            let have = stored_ids(&stored);
            if want == have {
                Ok(stored)
            } else {
                Err(format!("want {want:?}\nhave {have:?}"))
            }
        },
    )
    .await
}

/// The stored record of task `task_id`, once `check` holds for it.
async fn task_where(
    registry: &Registry,
    task_id: &str,
    what: &str,
    check: impl Fn(&MesosTaskRecord) -> bool,
) -> MesosTaskRecord {
    eventually(what, WAIT, async || {
        let stored = registry.list_mesos(&MesosScope::All).await.ok()?;
        stored
            .tasks
            .into_iter()
            .map(|t| t.record)
            .find(|t| t.task_id == task_id && check(t))
    })
    .await
}

/// The leader record's id, once it is `want`.
async fn leader_is(registry: &Registry, want: &str) {
    eventually(
        &format!("the leader record to name {want}"),
        WAIT,
        async || {
            let stored = registry.list_mesos(&MesosScope::Masters).await.ok()?;
            let leader = stored.leader?.record;
            (leader.master_id == want).then_some(())
        },
    )
    .await
}

/// The subscriber's `/healthz` `checks.mesos`.
async fn mesos_health(sub: &Subscriber) -> Value {
    get_json(&url(sub, "/healthz"))
        .await
        .map(|(_, h)| h["checks"]["mesos"].clone())
        .unwrap_or(Value::Null)
}

/// Waits for a resync newer than `after` (`last_resync_at`), with the stream open.
async fn resynced_after(sub: &Subscriber, after: &Value) -> Value {
    eventually("a new resync", WAIT, async || {
        let m = mesos_health(sub).await;
        (m["connected"] == true
            && m["last_resync_at"] != Value::Null
            && &m["last_resync_at"] != after)
            .then_some(m)
    })
    .await
}

#[tokio::test]
async fn every_event_kind_lands_in_etcd() {
    let (etcd, registry) = etcd().await;
    let sim = simulator(1).await;
    let leader = sim.leader_url().expect("a leader");
    let sub = mesos_subscriber(&etcd, &leader, &[]).await;
    let first = in_sync(&registry, &sim, &[]).await;
    assert!(!first.agents.is_empty());
    assert!(
        first.agents.iter().all(|a| a.record.ip.is_some()),
        "agents get their PID's IP"
    );

    // A Marathon task with named ports and a health check: TASK_ADDED then TASK_UPDATEDs.
    let web = sim
        .launch_task(
            TaskSpec::new("/web")
                .with_ports(vec![PortSpec::new("http", 80)])
                .with_networking(Networking::Bridge)
                .with_health_check(),
        )
        .unwrap();
    let record = task_where(&registry, &web, "the web task running and healthy", |t| {
        t.state == TaskState::Running && t.health == Health::Healthy
    })
    .await;
    assert_eq!(record.framework_name.as_deref(), Some("marathon"));
    assert_eq!(record.dns_name(), "web");
    assert_eq!(record.host_ports.len(), 1, "{record:?}");
    assert_eq!(record.ports[0].name.as_deref(), Some("http"));
    assert!(!record.task_ips.is_empty());
    // A health flip.
    sim.set_health(&web, false).unwrap();
    task_where(&registry, &web, "web unhealthy", |t| {
        t.health == Health::Unhealthy
    })
    .await;

    // Another framework and its task.
    let chronos = sim.add_framework(FrameworkSpec::new("chronos")).unwrap();
    let job = sim
        .launch_task(TaskSpec::new("/job").of_framework(&chronos))
        .unwrap();
    let job_record = task_where(&registry, &job, "the chronos task", |t| {
        t.state == TaskState::Running
    })
    .await;
    assert_eq!(job_record.framework_name.as_deref(), Some("chronos"));

    // A pod: one task per container, one discovery name.
    let pod = sim
        .launch_pod(PodSpec::new("/grp/pod", &["a", "b"]))
        .unwrap();
    for id in &pod {
        let t = task_where(&registry, id, "a pod container", |t| {
            t.state == TaskState::Running
        })
        .await;
        assert_eq!(t.dns_name(), "pod.grp");
    }

    // Agents come and go.
    let agent = sim
        .add_agent(AgentSpec {
            ip: Some("127.0.0.9".into()),
            ..AgentSpec::new("agent-9.example")
        })
        .unwrap();
    let stored = in_sync(&registry, &sim, &[]).await;
    let a = stored
        .agents
        .iter()
        .find(|a| a.record.agent_id == agent)
        .unwrap();
    assert_eq!(a.record.ip, Some("127.0.0.9".parse().unwrap()));
    assert_eq!(a.record.hostname, "agent-9.example");
    sim.remove_agent(&agent).unwrap();

    // A kill removes the task; a removed framework takes its tasks.
    sim.kill_task(&web).unwrap();
    sim.remove_framework(&chronos).unwrap();
    let last = in_sync(&registry, &sim, &[]).await;
    assert!(
        !last
            .frameworks
            .iter()
            .any(|f| f.record.framework_id == chronos)
    );
    assert!(
        !last
            .tasks
            .iter()
            .any(|t| t.record.task_id == job || t.record.task_id == web)
    );
    sub.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_follower_redirects_to_the_leader_and_a_new_leader_is_followed() {
    let (etcd, registry) = etcd().await;
    let sim = simulator(3).await;
    let urls = sim.master_urls();
    let addrs = sim.master_addrs();
    // Only the followers are configured: their 307 names the leader.
    let list = format!("{},{}", urls[1], urls[2]);
    let sub = mesos_subscriber(&etcd, &list, &[]).await;
    in_sync(&registry, &sim, &[]).await;
    let leader_id = sim.master_state_json()["leader_info"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    leader_is(&registry, &leader_id).await;
    let masters = registry.list_mesos(&MesosScope::Masters).await.unwrap();
    let order: Vec<(String, Option<u32>, bool)> = masters
        .masters
        .iter()
        .map(|m| {
            (
                m.record.master_id.clone(),
                m.record.position,
                m.record.leading,
            )
        })
        .collect();
    assert!(
        order.contains(&(addrs[0].to_string(), Some(2), true)),
        "the unlisted leader comes last: {order:?}"
    );
    assert!(
        order.contains(&(addrs[1].to_string(), Some(0), false)),
        "{order:?}"
    );

    // Master 1 takes over: the old stream breaks, the old leader redirects.
    sim.set_leader(Some(1)).await.unwrap();
    let new_id = eventually("the simulator's new leader id", WAIT, async || {
        let id = sim.master_state_json()["leader_info"]["id"]
            .as_str()?
            .to_string();
        (id != leader_id).then_some(id)
    })
    .await;
    leader_is(&registry, &new_id).await;
    let t = sim.launch_task(TaskSpec::new("/after")).unwrap();
    task_where(&registry, &t, "a task launched after the change", |t| {
        t.state == TaskState::Running
    })
    .await;
    sub.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_leader_change_in_zookeeper_is_followed() {
    if let Some(reason) = zookeeper_unavailable() {
        skip("mesos::a_leader_change_in_zookeeper_is_followed", &reason);
        return;
    }
    let zk = tokio::task::spawn_blocking(ZooKeeper::start).await.unwrap();
    let (etcd, registry) = etcd().await;
    let sim = Simulator::start(SimConfig {
        heartbeat: Duration::from_millis(200),
        zk: Some(ZkConfig::new(zk.servers.clone(), "/mesos")),
        ..SimConfig::with_masters(3)
    })
    .await
    .expect("simulator starts");
    let spec = format!("zk://{}/mesos", zk.servers);
    let sub = mesos_subscriber(&etcd, &spec, &[]).await;
    in_sync(&registry, &sim, &[]).await;
    let first = sim.master_state_json()["leader_info"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    leader_is(&registry, &first).await;
    let masters = registry.list_mesos(&MesosScope::Masters).await.unwrap();
    assert_eq!(
        masters.masters.len(),
        3,
        "every ZooKeeper member is a master"
    );
    let leading: Vec<_> = masters
        .masters
        .iter()
        .filter(|m| m.record.leading)
        .collect();
    assert_eq!(leading.len(), 1);
    assert_eq!(leading[0].record.position, Some(0));

    sim.set_leader(Some(2)).await.unwrap();
    let second = eventually("the simulator's new leader id", WAIT, async || {
        let id = sim.master_state_json()["leader_info"]["id"]
            .as_str()?
            .to_string();
        (id != first).then_some(id)
    })
    .await;
    leader_is(&registry, &second).await;
    let t = sim.launch_task(TaskSpec::new("/after-zk")).unwrap();
    task_where(&registry, &t, "a task launched after the change", |t| {
        t.state == TaskState::Running
    })
    .await;
    sub.stop().await;
    sim.shutdown().await;
    drop(zk);
}

#[tokio::test]
async fn a_stream_cut_mid_record_resubscribes_and_resyncs() {
    let (etcd, registry) = etcd().await;
    let sim = simulator(1).await;
    let sub = mesos_subscriber(&etcd, &sim.leader_url().unwrap(), &[]).await;
    in_sync(&registry, &sim, &[]).await;
    let before = resynced_after(&sub, &Value::Null).await["last_resync_at"].clone();

    // A task whose events are lost, then half a record and a broken connection.
    sim.set_event_delivery(false);
    let lost = sim.launch_task(TaskSpec::new("/lost")).unwrap();
    sim.set_event_delivery(true);
    sim.emit_bytes(&b"120\n{\"type\":\"TASK_UPDATED\",\"task_upd"[..]);
    sim.drop_event_streams(true);
    resynced_after(&sub, &before).await;
    in_sync(&registry, &sim, &[]).await;
    task_where(&registry, &lost, "the task whose events were lost", |t| {
        t.state == TaskState::Running
    })
    .await;
    sub.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_silent_stream_is_reconnected() {
    let (etcd, registry) = etcd().await;
    let sim = simulator(1).await;
    let sub = mesos_subscriber(
        &etcd,
        &sim.leader_url().unwrap(),
        &["--mesos-idle-timeout", "1s"],
    )
    .await;
    in_sync(&registry, &sim, &[]).await;
    let before = resynced_after(&sub, &Value::Null).await["last_resync_at"].clone();
    sim.set_stalled(true);
    // Events while stalled are not sent on the stalled stream; the resubscribe brings them.
    let t = sim.launch_task(TaskSpec::new("/during-stall")).unwrap();
    eventually("a reconnect for silence", WAIT, async || {
        let r = crate::common::http()
            .get(url(&sub, "/metrics"))
            .send()
            .await
            .ok()?;
        let text = r.text().await.ok()?;
        text.lines()
            .any(|l| l.starts_with("herald_subscriber_mesos_reconnects_total{reason=\"idle\"}"))
            .then_some(())
    })
    .await;
    sim.set_stalled(false);
    resynced_after(&sub, &before).await;
    task_where(&registry, &t, "the task launched while stalled", |t| {
        t.state == TaskState::Running
    })
    .await;
    sub.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn the_master_down_deletes_nothing_and_an_in_sync_resync_writes_nothing() {
    let (etcd, registry) = etcd().await;
    let sim = simulator(1).await;
    for i in 0..3 {
        sim.launch_task(TaskSpec::new(&format!("/app{i}"))).unwrap();
    }
    let sub = mesos_subscriber(&etcd, &sim.leader_url().unwrap(), &[]).await;
    let before = resynced_after(&sub, &Value::Null).await["last_resync_at"].clone();
    // One task through events too (its stamps moved on per update).
    let live = sim
        .launch_task(TaskSpec::new("/live").with_health_check())
        .unwrap();
    task_where(&registry, &live, "the live task healthy", |t| {
        t.health == Health::Healthy
    })
    .await;
    let kept = in_sync(&registry, &sim, &[]).await;

    // No leader: every call answers 503 and the stream is gone.
    sim.set_leader(None).await.unwrap();
    eventually("the subscriber to see the master gone", WAIT, async || {
        let m = mesos_health(&sub).await;
        (m["connected"] == false && m["error"] != Value::Null).then_some(())
    })
    .await;
    let status = eventually(
        "the status record to show the master gone",
        WAIT,
        async || {
            let status = registry.get_subscriber_status().await.ok()??;
            let mesos = status.sources.iter().find(|s| s.source == "mesos")?.clone();
            (mesos.state == registry::SourceState::Connecting).then_some(mesos)
        },
    )
    .await;
    assert!(
        status.detail.is_some_and(|d| d.contains("503")),
        "the last error says why"
    );
    let during = registry.list_mesos(&MesosScope::All).await.unwrap();
    assert_eq!(
        during.tasks, kept.tasks,
        "nothing removed while the master is down"
    );
    assert_eq!(during.agents, kept.agents);

    // Back: the snapshot equals etcd, so the resync writes nothing.
    sim.set_leader(Some(0)).await.unwrap();
    resynced_after(&sub, &before).await;
    let after = registry.list_mesos(&MesosScope::All).await.unwrap();
    // Every record (with its mod_revision) as it was: nothing rewritten.
    assert_eq!(
        (
            &after.leader,
            &after.masters,
            &after.agents,
            &after.frameworks,
            &after.tasks
        ),
        (
            &kept.leader,
            &kept.masters,
            &kept.agents,
            &kept.frameworks,
            &kept.tasks
        ),
        "an in-sync resync writes nothing"
    );
    sub.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn removals_over_the_share_are_withheld() {
    let (etcd, registry) = etcd().await;
    let sim = simulator(1).await;
    // Records the master does not know, more than half of what will be stored.
    let ghosts: Vec<MesosWriteOp> = (0..20)
        .map(|i| {
            MesosWriteOp::newer(MesosWrite::PutTask(MesosTaskRecord {
                framework_id: "ghost-framework".into(),
                framework_name: Some("ghost".into()),
                task_id: format!("ghost.{i}"),
                name: "ghost".into(),
                discovery_name: None,
                discovery_visibility: None,
                agent_id: None,
                executor_id: None,
                ports: vec![],
                host_ports: vec![],
                task_ips: vec![],
                labels: Default::default(),
                state: TaskState::Running,
                health: Health::Unknown,
                updated_at: Stamp::now(),
            }))
        })
        .collect();
    registry.apply_mesos(ghosts).await.unwrap();
    let sub = mesos_subscriber(&etcd, &sim.leader_url().unwrap(), &[]).await;
    let health = eventually("the removals withheld", WAIT, async || {
        let m = mesos_health(&sub).await;
        (m["withheld_removals"] == 20).then_some(m)
    })
    .await;
    assert_eq!(health["ok"], false, "{health}");
    let stored = registry.list_mesos(&MesosScope::All).await.unwrap();
    assert_eq!(
        stored
            .tasks
            .iter()
            .filter(|t| t.record.framework_id == "ghost-framework")
            .count(),
        20,
        "nothing removed past the share"
    );
    // The agents and frameworks the master knows are written all the same.
    assert!(!stored.agents.is_empty());
    let (code, answer) = post_json(&url(&sub, "/cleanup")).await;
    assert_eq!(code, 202, "{answer}");
    sub.stop().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn with_both_sources_marathon_writes_its_own_tasks() {
    let (etcd, registry) = etcd().await;
    let mesos = simulator(1).await;
    let marathon = crate::common::sim(marathon_sim::MarathonVersion::V1_10).await;
    let chronos = mesos.add_framework(FrameworkSpec::new("chronos")).unwrap();
    let web = mesos.launch_task(TaskSpec::new("/web")).unwrap();
    let job = mesos
        .launch_task(TaskSpec::new("/job").of_framework(&chronos))
        .unwrap();
    let endpoint = etcd.endpoint();
    let leader = mesos.leader_url().unwrap();
    let marathon_url = marathon.url();
    let config = Config::try_parse_from([
        "herald-subscriber",
        "--listen",
        "127.0.0.1:0",
        "--marathon",
        &marathon_url,
        "--mesos",
        &leader,
        "--etcd-endpoints",
        &endpoint,
        "--election",
        "false",
    ])
    .unwrap();
    let sub = Subscriber::start(config).await.unwrap();
    let stored = in_sync(&registry, &mesos, &["marathon"]).await;
    assert!(stored.tasks.iter().any(|t| t.record.task_id == job));
    assert!(
        !stored.tasks.iter().any(|t| t.record.task_id == web),
        "the marathon framework's tasks are the Marathon source's"
    );
    // The framework itself is still a Mesos record (its name and scheduler address).
    let framework = stored
        .frameworks
        .iter()
        .find(|f| f.record.name == "marathon")
        .expect("the marathon framework record");
    assert!(
        framework.record.port.is_some(),
        "the scheduler PID's port, from /master/state"
    );
    sub.stop().await;
    mesos.shutdown().await;
}

/// A stand-in master that only records the `Authorization` header of each `SUBSCRIBE` and
/// answers 503 (no leader), so the subscriber keeps retrying.
async fn recording_master() -> (String, tokio::sync::watch::Receiver<Vec<String>>) {
    use axum::http::HeaderMap;
    let (tx, rx) = tokio::sync::watch::channel(Vec::<String>::new());
    let tx = std::sync::Arc::new(tx);
    let app = axum::Router::new().route(
        "/api/v1",
        axum::routing::post(move |headers: HeaderMap| {
            let tx = tx.clone();
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("<none>")
                    .to_string();
                tx.send_modify(|seen| seen.push(auth));
                (
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "No leader elected",
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, rx)
}

#[tokio::test]
async fn credentials_go_to_the_masters() {
    let (etcd, _registry) = etcd().await;
    for (flags, want) in [
        (["--mesos-token", "t0ken"], "Bearer t0ken".to_string()),
        (
            ["--mesos-credentials", "ops:s3cret"],
            format!("Basic {}", base64_of("ops:s3cret")),
        ),
    ] {
        let (url, mut seen) = recording_master().await;
        let sub = mesos_subscriber(&etcd, &url, &flags).await;
        let got = tokio::time::timeout(WAIT, seen.wait_for(|s| !s.is_empty()))
            .await
            .expect("a SUBSCRIBE within the wait")
            .expect("the recorder runs")[0]
            .clone();
        assert_eq!(got, want);
        // The 503 shows in /healthz, and nothing secret does.
        let health = eventually("the 503 in /healthz", WAIT, async || {
            let m = mesos_health(&sub).await;
            m["error"]
                .as_str()
                .is_some_and(|e| e.contains("503"))
                .then_some(m)
        })
        .await;
        assert!(!health.to_string().contains("t0ken") && !health.to_string().contains("s3cret"));
        sub.stop().await;
    }
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
