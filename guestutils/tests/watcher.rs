//! The watcher against a real etcd: initial fire, one fire per burst, no fire for writes
//! that change nothing, resumption after an etcd restart, failure policies, and stopping a
//! command handler with everything it started.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::*;
use herald_guestutils::Env;
use herald_guestutils::watcher::{
    CommandHandler, Handler, HandlerError, Quiescence, Update, WatchStatus, Watcher, WatcherConfig,
};
use registry::harness::EtcdServer;
use registry::{Registry, Stamp};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Generous bound for anything the watcher should do.
const DEADLINE: Duration = Duration::from_secs(20);

fn config() -> WatcherConfig {
    WatcherConfig {
        // Long enough that a burst of local writes always falls in one window.
        wait: Quiescence {
            min: Duration::from_millis(400),
            max: Duration::from_secs(4),
        },
        ..WatcherConfig::default()
    }
}

/// Starts a watcher of `services` whose handler forwards every update (and fails when
/// `fail` is set).
fn start(
    registry: Registry,
    services: &[&str],
    config: WatcherConfig,
    fail: bool,
) -> (
    mpsc::UnboundedReceiver<Update>,
    JoinHandle<herald_guestutils::Result<()>>,
    WatchStatus,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let handler = move |update: Update| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(update);
            if fail {
                Err::<(), HandlerError>("handler says no".into())
            } else {
                Ok(())
            }
        }
    };
    let (task, status) = start_with(registry, services, config, handler);
    (rx, task, status)
}

/// Starts a watcher of `services`, as seen from kafka-2, that runs `handler`.
fn start_with<H: Handler>(
    registry: Registry,
    services: &[&str],
    config: WatcherConfig,
    handler: H,
) -> (JoinHandle<herald_guestutils::Result<()>>, WatchStatus) {
    let services: Vec<String> = services.iter().map(|s| s.to_string()).collect();
    let env = Env::from_pairs(kafka_2_env());
    match Watcher::new(registry, &env, &services, config) {
        Ok(watcher) => {
            let status = watcher.status();
            (tokio::spawn(watcher.run(handler)), status)
        }
        Err(e) => (tokio::spawn(async move { Err(e) }), WatchStatus::default()),
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Update>) -> Update {
    tokio::time::timeout(DEADLINE, rx.recv())
        .await
        .expect("no handler run before the deadline")
        .expect("the watcher stopped")
}

fn ids(list: &[herald_guestutils::Instance]) -> Vec<String> {
    list.iter().map(|i| i.task_id.clone()).collect()
}

#[tokio::test]
async fn fires_at_start_then_once_per_burst() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    zk_kafka(&registry).await;
    let (mut rx, _watcher, _) = start(registry.clone(), &["zookeeper"], config(), false);

    let initial = next(&mut rx).await;
    assert!(initial.initial);
    assert_eq!(initial.service, "zookeeper");
    assert_eq!(initial.app_id.as_str(), ZOOKEEPER);
    assert_eq!(initial.delta.count, 3);
    assert_eq!(initial.delta.added.len(), 3);
    assert_eq!(initial.instances.len(), 3);

    // A burst: one removal and two additions, written separately.
    remove(&registry, &zk_node(1)).await;
    put(&registry, [zk_node(4)]).await;
    put(&registry, [zk_node(5)]).await;
    let burst = next(&mut rx).await;
    assert!(!burst.initial);
    assert_eq!(burst.delta.count, 1);
    assert_eq!(ids(&burst.delta.removed), [zk_task_id(1)]);
    assert_eq!(burst.delta.added.len(), 2);
    assert_eq!(burst.instances.len(), 4);

    // The next run is for the next change, not a leftover of the burst.
    remove(&registry, &zk_node(2)).await;
    let after = next(&mut rx).await;
    assert_eq!(ids(&after.delta.removed), [zk_task_id(2)]);
    assert!(after.delta.added.is_empty());
    assert!(after.revision > burst.revision);
}

#[tokio::test]
async fn rewrites_that_change_nothing_do_not_fire() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    zk_kafka(&registry).await;
    remove(&registry, &kafka_node(3)).await;
    let (mut rx, _watcher, _) = start(registry.clone(), &["kafka"], config(), false);
    assert_eq!(next(&mut rx).await.instances.len(), 2);

    // A newer record with the same content (a real etcd write), a repeated removal, an app
    // rewrite, and a task of another app.
    let mut same = kafka_node(1);
    same.updated_at = Stamp::now();
    put(&registry, [same]).await;
    remove(&registry, &kafka_node(3)).await;
    put_app(
        &registry,
        app(KAFKA, registry::NetworkMode::Host, &[("broker", 0)]),
    )
    .await;
    put(&registry, [zk_node(7)]).await;
    // Then one real change: the only thing the next run reports.
    let mut moved = kafka_node(2);
    moved.ports = vec![port("broker", None, Some(19093))];
    put(&registry, [moved]).await;
    let update = next(&mut rx).await;
    assert_eq!(update.delta.count, 0);
    assert!(update.delta.added.is_empty() && update.delta.removed.is_empty());
    assert_eq!(ids(&update.delta.changed), [kafka_task_id(2)]);
    let external = update.delta.changed[0].ports[0].external.clone().unwrap();
    assert_eq!(external.port, 19093);
}

#[tokio::test]
async fn changes_that_cancel_out_do_not_fire() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    zk_kafka(&registry).await;
    let (mut rx, _watcher, _) = start(registry.clone(), &["kafka"], config(), false);
    next(&mut rx).await;
    // Within one window a task goes away...
    remove(&registry, &kafka_node(1)).await;
    // ...a task appears and goes away again...
    put(&registry, [kafka_node(5)]).await;
    remove(&registry, &kafka_node(5)).await;
    // ...and one comes for good.
    put(&registry, [kafka_node(4)]).await;
    let update = next(&mut rx).await;
    // ...so the run reports only what differs from the previous run.
    assert_eq!(ids(&update.delta.removed), [kafka_task_id(1)]);
    assert_eq!(ids(&update.delta.added), [kafka_task_id(4)]);
}

#[tokio::test]
async fn no_initial_fire_when_opted_out() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    zk_kafka(&registry).await;
    let config = WatcherConfig {
        initial_fire: false,
        ..config()
    };
    let (mut rx, _watcher, status) =
        start(registry.clone(), &["kafka", "zookeeper"], config, false);
    // Once both watches have listed, the first run must be for this change.
    eventually("the watches to list", DEADLINE, async || {
        status.all_connected() && status.snapshot().len() >= 2
    })
    .await;
    remove(&registry, &kafka_node(2)).await;
    let update = next(&mut rx).await;
    assert!(!update.initial);
    assert_eq!(update.service, "kafka");
    assert_eq!(ids(&update.delta.removed), [kafka_task_id(2)]);
}

#[tokio::test]
async fn fires_after_an_etcd_restart_for_a_change_made_meanwhile() {
    let mut etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    zk_kafka(&registry).await;
    let (mut rx, _watcher, _) = start(registry, &["kafka"], config(), false);
    assert_eq!(next(&mut rx).await.instances.len(), 3);

    etcd.kill();
    etcd.restart().await.unwrap();
    // Written before the watcher's watch reconnects (it backs off after the failure).
    let writer = etcd.registry().await.unwrap();
    put(&writer, [kafka_node(4)]).await;
    let update = next(&mut rx).await;
    assert_eq!(ids(&update.delta.added), [kafka_task_id(4)]);
    assert_eq!(update.instances.len(), 4);
}

#[tokio::test]
async fn a_failing_handler_is_recorded_in_the_status_and_the_watcher_goes_on() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    zk_kafka(&registry).await;
    let (mut rx, watcher, status) = start(registry.clone(), &["kafka"], config(), true);
    next(&mut rx).await;
    remove(&registry, &kafka_node(1)).await;
    let update = next(&mut rx).await;
    assert_eq!(ids(&update.delta.removed), [kafka_task_id(1)]);
    assert!(!watcher.is_finished());
    // The failure is recorded once the handler has returned, just after it sent the update.
    let recorded = eventually("the run's failure in the status", WAIT, async || {
        let kafka = status.snapshot().remove("kafka")?;
        (kafka.fired_revision == Some(update.revision)).then_some(kafka)
    })
    .await;
    assert_eq!(recorded.last_error.as_deref(), Some("handler says no"));
    // The watcher goes on: the next change runs the handler again.
    remove(&registry, &kafka_node(2)).await;
    assert_eq!(ids(&next(&mut rx).await.delta.removed), [kafka_task_id(2)]);
}

#[tokio::test]
async fn a_failing_handler_stops_the_watcher_when_asked() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    zk_kafka(&registry).await;
    let config = WatcherConfig {
        exit_on_failure: true,
        ..config()
    };
    let (mut rx, watcher, _) = start(registry, &["kafka"], config, true);
    next(&mut rx).await;
    let outcome = tokio::time::timeout(DEADLINE, watcher)
        .await
        .unwrap()
        .unwrap();
    match outcome {
        Err(herald_guestutils::Error::HandlerFailed { service, reason }) => {
            assert_eq!(service, "kafka");
            assert!(reason.contains("handler says no"), "{reason}");
        }
        other => panic!("expected HandlerFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn an_empty_watch_list_is_an_error() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    let (_rx, watcher, _) = start(registry, &[" ", ""], config(), false);
    let outcome = tokio::time::timeout(DEADLINE, watcher)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        outcome,
        Err(herald_guestutils::Error::NothingToWatch)
    ));
}

#[tokio::test]
async fn a_handler_that_overruns_its_timeout_fails() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    let config = WatcherConfig {
        handler_timeout: Duration::from_millis(100),
        exit_on_failure: true,
        ..config()
    };
    let handler = |_update: Update| async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok::<(), HandlerError>(())
    };
    let env = Env::default();
    let outcome = tokio::time::timeout(
        DEADLINE,
        herald_guestutils::watcher::watch(registry, &env, &["kafka".to_string()], config, handler),
    )
    .await
    .unwrap();
    match outcome {
        Err(herald_guestutils::Error::HandlerFailed { reason, .. }) => {
            assert!(reason.contains("did not finish within 100ms"), "{reason}");
        }
        other => panic!("expected HandlerFailed, got {other:?}"),
    }
}

/// A config whose command handlers overrun `timeout`.
fn timeout_config(timeout: Duration) -> WatcherConfig {
    WatcherConfig {
        handler_timeout: timeout,
        ..config()
    }
}

#[tokio::test]
async fn a_command_that_overruns_its_timeout_is_stopped_with_its_process_group() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    zk_kafka(&registry).await;
    let dir = tempfile::tempdir().unwrap();
    // The shell notes its SIGTERM, as a handler cleaning up would.
    let terminated = dir.path().join("terminated");
    let prelude = format!("trap 'echo > {}; exit 1' TERM", terminated.display());
    let handler = CommandHandler::shell(&sleeper_script(dir.path(), &prelude));
    let config = timeout_config(Duration::from_secs(2));
    let (watcher, status) = start_with(registry, &["kafka"], config, handler);
    let shell = pid_in(&dir.path().join("shell")).await;
    let child = pid_in(&dir.path().join("child")).await;

    let recorded = eventually("the timeout in the status", WAIT, async || {
        let kafka = status.snapshot().remove("kafka")?;
        kafka.fired_revision.is_some().then_some(kafka)
    })
    .await;
    assert_eq!(
        recorded.last_error.as_deref(),
        Some("did not finish within 2s")
    );
    // The shell's background child is stopped too, not only the shell, which had a SIGTERM
    // (not a SIGKILL) and ran its trap.
    all_gone(&[shell, child]).await;
    assert!(terminated.exists());
    assert!(!watcher.is_finished());
}

#[tokio::test]
async fn a_command_that_ignores_sigterm_is_killed_after_the_grace() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    zk_kafka(&registry).await;
    let dir = tempfile::tempdir().unwrap();
    // Ignored signals stay ignored in the children: only SIGKILL stops the group.
    let handler = CommandHandler::shell(&sleeper_script(dir.path(), "trap '' TERM"));
    let config = timeout_config(Duration::from_secs(1));
    let (_watcher, _) = start_with(registry, &["kafka"], config, handler);
    let shell = pid_in(&dir.path().join("shell")).await;
    let child = pid_in(&dir.path().join("child")).await;
    all_gone(&[shell, child]).await;
}

#[tokio::test]
async fn stopping_the_watcher_stops_a_running_command_with_its_process_group() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    zk_kafka(&registry).await;
    let dir = tempfile::tempdir().unwrap();
    let handler = CommandHandler::shell(&sleeper_script(dir.path(), ""));
    let config = timeout_config(Duration::from_secs(3600));
    let (watcher, _) = start_with(registry, &["kafka"], config, handler);
    let shell = pid_in(&dir.path().join("shell")).await;
    let child = pid_in(&dir.path().join("child")).await;
    watcher.abort();
    assert!(watcher.await.unwrap_err().is_cancelled());
    all_gone(&[shell, child]).await;
}

/// etcd's count of its watchers (`etcd_debugging_mvcc_watcher_total` on `/metrics`).
async fn etcd_watchers(etcd: &EtcdServer) -> u64 {
    let address = etcd.endpoint().trim_start_matches("http://").to_string();
    let metrics = http_get(&address, "/metrics").await;
    metrics
        .lines()
        .find(|l| l.starts_with("etcd_debugging_mvcc_watcher_total "))
        .and_then(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .map(|watchers| watchers as u64)
        .expect("etcd reports its watchers")
}

#[tokio::test]
async fn many_services_are_fed_by_one_etcd_watch() {
    const SERVICES: usize = 60;
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    let app = |i: usize| format!("/fleet/svc{i}");
    let node = |i: usize, n: usize| task(&app(i), &format!("fleet_svc{i}.t{n}"), Vec::new());
    put(&registry, (0..SERVICES).map(|i| node(i, 1))).await;
    let names: Vec<String> = (0..SERVICES).map(app).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (mut rx, _watcher, _) = start(registry.clone(), &names, config(), false);

    let mut initial = std::collections::BTreeMap::new();
    for _ in 0..SERVICES {
        let update = next(&mut rx).await;
        assert!(update.initial);
        assert_eq!(update.instances.len(), 1, "{}", update.service);
        assert!(initial.insert(update.service, update.revision).is_none());
    }
    assert_eq!(initial.len(), SERVICES, "every service fired once");

    // One new task per service: every service fires once more, with its own task only.
    put(&registry, (0..SERVICES).map(|i| node(i, 2))).await;
    let mut fired = std::collections::BTreeSet::new();
    for _ in 0..SERVICES {
        let update = next(&mut rx).await;
        assert!(!update.initial);
        let i: usize = update.service["/fleet/svc".len()..].parse().unwrap();
        assert_eq!(ids(&update.delta.added), [format!("fleet_svc{i}.t2")]);
        assert_eq!(update.instances.len(), 2);
        assert!(fired.insert(i), "{} fired twice", update.service);
    }
    // Counted only now: the initial fire comes from a read that precedes the watch, and
    // the changes above arrived through it, so whatever watches serve them exist by now.
    assert_eq!(
        etcd_watchers(&etcd).await,
        1,
        "one etcd watch for {SERVICES} services"
    );
}
