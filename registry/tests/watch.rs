//! The resumable watch against real etcd processes: restarts, compaction, hangs, clusters.

use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{next, task};
use herald_registry::harness::{EtcdCluster, EtcdServer};
use herald_registry::{Change, Scope, TaskState, Watch, WatchEvent, WatchOptions, Write, WriteOp};

fn fast() -> WatchOptions {
    WatchOptions {
        progress_interval: Duration::from_millis(500),
        hung_after: Duration::from_secs(3),
        max_backoff: Duration::from_millis(500),
        ..WatchOptions::default()
    }
}

fn put(i: usize) -> WriteOp {
    WriteOp::newer(Write::PutTask(task(
        "/w",
        &format!("w.{i}"),
        TaskState::Running,
        1,
    )))
}

/// Collects task ids from watch events until `want` ids have been seen.
async fn collect_until(watch: &mut Watch, seen: &mut BTreeSet<String>, want: usize) {
    while seen.len() < want {
        match next(watch).await {
            WatchEvent::Changes { changes, .. } => {
                for c in changes {
                    if let Change::Task(t) = c {
                        seen.insert(t.task_id);
                    }
                }
            }
            WatchEvent::Resynced(s) => seen.extend(s.tasks.into_iter().map(|t| t.record.task_id)),
            _ => {}
        }
    }
}

#[tokio::test]
async fn starts_with_a_snapshot_then_streams_typed_changes() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    reg.apply(vec![put(0)]).await.unwrap();
    let mut watch = reg.watch(Scope::All, fast());
    let WatchEvent::Resynced(snapshot) = next(&mut watch).await else {
        panic!("expected a snapshot first")
    };
    assert_eq!(snapshot.tasks.len(), 1);
    reg.apply(vec![put(1)]).await.unwrap();
    let removal = Write::RemoveTask {
        app_id: "/w".parse().unwrap(),
        task_id: "w.0".into(),
        reason: "TASK_KILLED".into(),
        at: common::stamp(2),
    };
    reg.apply(vec![WriteOp::newer(removal)]).await.unwrap();
    let mut changes = Vec::new();
    while changes.len() < 2 {
        if let WatchEvent::Changes { changes: c, .. } = next(&mut watch).await {
            changes.extend(c);
        }
    }
    assert!(matches!(&changes[0], Change::Task(t) if t.task_id == "w.1"));
    assert!(matches!(&changes[1], Change::TaskRemoved { task_id, .. } if task_id == "w.0"));
}

#[tokio::test]
async fn resumes_across_an_etcd_restart_without_losing_a_change() {
    let mut etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    let mut watch = reg.watch(Scope::All, fast());
    assert!(matches!(next(&mut watch).await, WatchEvent::Resynced(_)));
    let mut seen = BTreeSet::new();
    reg.apply((0..50).map(put).collect()).await.unwrap();
    collect_until(&mut watch, &mut seen, 50).await;

    etcd.kill();
    let mut disconnected = false;
    while !disconnected {
        disconnected = matches!(next(&mut watch).await, WatchEvent::Disconnected { .. });
    }
    etcd.restart().await.unwrap();
    // Written through a fresh client while the watch is still backing off.
    let writer = etcd.registry().await.unwrap();
    for i in 50..100 {
        writer.apply(vec![put(i)]).await.unwrap();
    }
    collect_until(&mut watch, &mut seen, 100).await;
    assert_eq!(seen.len(), 100);
}

#[tokio::test]
async fn compaction_falls_back_to_a_full_relist() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    reg.apply(vec![put(0)]).await.unwrap();
    let start = reg.ping().await.unwrap();
    for i in 1..20 {
        reg.apply(vec![put(i)]).await.unwrap();
    }
    let now = reg.ping().await.unwrap();
    reg.client().compact(now, None).await.unwrap();
    // Resume from a revision etcd no longer has.
    let mut watch = reg.watch(
        Scope::All,
        WatchOptions {
            after_revision: Some(start),
            ..fast()
        },
    );
    loop {
        match next(&mut watch).await {
            WatchEvent::Resynced(snapshot) => {
                assert_eq!(snapshot.tasks.len(), 20);
                assert!(snapshot.revision >= now);
                break;
            }
            WatchEvent::Changes { .. } => panic!("changes from a compacted revision"),
            _ => {}
        }
    }
    reg.apply(vec![put(20)]).await.unwrap();
    loop {
        if let WatchEvent::Changes { changes, .. } = next(&mut watch).await {
            assert!(matches!(&changes[0], Change::Task(t) if t.task_id == "w.20"));
            break;
        }
    }
}

#[tokio::test]
async fn a_hung_server_is_detected_and_the_watch_recovers() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    let mut watch = reg.watch(Scope::All, fast());
    assert!(matches!(next(&mut watch).await, WatchEvent::Resynced(_)));
    etcd.freeze();
    // Bounded: a server that never hangs (a freeze that did nothing) fails here, not never.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !matches!(next(&mut watch).await, WatchEvent::Disconnected { .. }) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the frozen server was never declared hung"
        );
    }
    etcd.thaw();
    reg.apply(vec![put(7)]).await.unwrap();
    let mut seen = BTreeSet::new();
    collect_until(&mut watch, &mut seen, 1).await;
    assert!(seen.contains("w.7"));
}

#[tokio::test]
async fn live_events_confirm_the_watch_is_current() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    let mut watch = reg.watch(Scope::All, fast());
    let WatchEvent::Resynced(s) = next(&mut watch).await else {
        panic!()
    };
    loop {
        if let WatchEvent::Live { revision } = next(&mut watch).await {
            assert!(revision >= s.revision);
            break;
        }
    }
}

#[tokio::test]
async fn a_three_member_cluster_keeps_working_with_one_member_killed() {
    let mut cluster = EtcdCluster::start(3).await.unwrap();
    let reg = cluster.registry().await.unwrap();
    let mut watch = reg.watch(Scope::All, fast());
    assert!(matches!(next(&mut watch).await, WatchEvent::Resynced(_)));
    reg.apply((0..10).map(put).collect()).await.unwrap();
    let leader = cluster.leader().await.unwrap();
    cluster.kill_member(leader);
    // Writes go on once the two survivors elect a new leader (a few seconds at most).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut i = 10;
    while i < 30 {
        match reg.apply(vec![put(i)]).await {
            Ok(_) => i += 1,
            Err(e) if tokio::time::Instant::now() < deadline => {
                eprintln!("retrying after {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cluster did not recover: {e}"),
        }
    }
    let mut seen = BTreeSet::new();
    collect_until(&mut watch, &mut seen, 30).await;
    assert_eq!(reg.list(&Scope::All).await.unwrap().tasks.len(), 30);
}

#[tokio::test]
async fn losing_the_pinned_member_moves_reads_writes_and_watches_to_another() {
    let mut cluster = EtcdCluster::start(3).await.unwrap();
    let reg = cluster.registry().await.unwrap();
    let mut watch = reg.watch(Scope::All, fast());
    assert!(matches!(next(&mut watch).await, WatchEvent::Resynced(_)));
    reg.apply((0..5).map(put).collect()).await.unwrap();
    // The registry pins the first endpoint; kill exactly that member.
    cluster.kill_member(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut i = 5;
    while i < 20 {
        match reg.apply(vec![put(i)]).await {
            Ok(_) => i += 1,
            Err(e) if tokio::time::Instant::now() < deadline => {
                eprintln!("retrying after {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("no failover away from the dead member: {e}"),
        }
    }
    assert_eq!(reg.list(&Scope::All).await.unwrap().tasks.len(), 20);
    let mut seen = BTreeSet::new();
    collect_until(&mut watch, &mut seen, 20).await;
}
