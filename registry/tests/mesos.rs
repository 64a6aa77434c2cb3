//! The Mesos source's records against a real etcd: round trips, guards and tombstones,
//! listings per scope, the watch, and the separation from the Marathon tree.

use crate::common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::{stamp, task};
use herald_registry::harness::EtcdServer;
use herald_registry::{
    AgentRecord, FrameworkRecord, Guard, Health, LeaderRecord, MasterRecord, MesosChange,
    MesosEntry, MesosKey, MesosPort, MesosScope, MesosTaskRecord, MesosWatchEvent, MesosWrite,
    MesosWriteOp, Outcome, Protocol, Scope, TaskState, Watch, WatchOptions, Write, WriteOp,
};

const FW: &str = "52b1358f-7a8a-4b57-9e43-4f6c9bc7a0a8-0001";

fn mtask(framework: &str, id: &str, state: TaskState, at: u32) -> MesosTaskRecord {
    MesosTaskRecord {
        framework_id: framework.into(),
        framework_name: Some("marathon".into()),
        task_id: id.into(),
        name: "web".into(),
        discovery_name: Some("web.prod".into()),
        discovery_visibility: Some("FRAMEWORK".into()),
        agent_id: Some("agent-S0".into()),
        executor_id: None,
        ports: vec![MesosPort {
            number: 31001,
            name: Some("http".into()),
            protocols: vec![Protocol::Tcp, Protocol::Udp],
            visibility: None,
            labels: BTreeMap::from([("network-scope".into(), "host".into())]),
        }],
        host_ports: vec![31001],
        task_ips: vec![IpAddr::V4(Ipv4Addr::new(9, 0, 0, 2))],
        labels: BTreeMap::from([("team".into(), "web".into())]),
        state,
        health: Health::Healthy,
        updated_at: stamp(at),
    }
}

fn agent(id: &str, at: u32) -> AgentRecord {
    AgentRecord {
        agent_id: id.into(),
        hostname: "agent1.example".into(),
        ip: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
        port: Some(5051),
        pid: Some("slave(1)@10.0.0.1:5051".into()),
        updated_at: stamp(at),
    }
}

fn framework(id: &str, at: u32) -> FrameworkRecord {
    FrameworkRecord {
        framework_id: id.into(),
        name: "marathon".into(),
        hostname: Some("10.0.0.9".into()),
        ip: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9))),
        port: Some(8080),
        pid: None,
        active: true,
        updated_at: stamp(at),
    }
}

fn master(id: &str, leading: bool, at: u32) -> MasterRecord {
    MasterRecord {
        master_id: id.into(),
        hostname: Some(format!("{id}.example")),
        ip: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))),
        port: Some(5050),
        version: Some("1.11.0".into()),
        leading,
        position: None,
        updated_at: stamp(at),
    }
}

fn leader(id: &str, at: u32) -> LeaderRecord {
    LeaderRecord {
        master_id: id.into(),
        hostname: Some(format!("{id}.example")),
        ip: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))),
        port: Some(5050),
        updated_at: stamp(at),
    }
}

fn newer(w: MesosWrite) -> MesosWriteOp {
    MesosWriteOp::newer(w)
}

#[tokio::test]
async fn every_record_round_trips_and_lists_by_scope() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    let t1 = mtask(FW, "web.1", TaskState::Running, 10);
    let t2 = mtask("other-0002", "web.1", TaskState::Staging, 10);
    let out = reg
        .apply_mesos(vec![
            newer(MesosWrite::PutLeader(leader("m1", 1))),
            newer(MesosWrite::PutMaster(master("m1", true, 1))),
            newer(MesosWrite::PutMaster(master("m2", false, 1))),
            newer(MesosWrite::PutAgent(agent("agent-S0", 1))),
            newer(MesosWrite::PutFramework(framework(FW, 1))),
            newer(MesosWrite::PutTask(t1.clone())),
            newer(MesosWrite::PutTask(t2.clone())),
        ])
        .await
        .unwrap();
    assert_eq!(out, vec![Outcome::Written; 7]);
    let all = reg.list_mesos(&MesosScope::All).await.unwrap();
    assert_eq!(all.leader.unwrap().record, leader("m1", 1));
    assert_eq!(all.masters.len(), 2);
    assert_eq!(all.agents[0].record, agent("agent-S0", 1));
    assert_eq!(all.frameworks[0].record, framework(FW, 1));
    assert_eq!(all.tasks.len(), 2, "task ids are unique only per framework");
    assert!(all.invalid.is_empty());

    let one = reg
        .list_mesos(&MesosScope::Framework(FW.into()))
        .await
        .unwrap();
    assert_eq!(one.frameworks.len(), 1);
    assert_eq!(
        one.tasks.iter().map(|t| &t.record).collect::<Vec<_>>(),
        vec![&t1]
    );
    let tasks = reg
        .list_mesos(&MesosScope::FrameworkTasks(FW.into()))
        .await
        .unwrap();
    assert!(tasks.frameworks.is_empty());
    assert_eq!(tasks.tasks.len(), 1);
    let masters = reg.list_mesos(&MesosScope::Masters).await.unwrap();
    assert!(masters.leader.is_some() && masters.masters.len() == 2 && masters.tasks.is_empty());
    assert_eq!(
        reg.list_mesos(&MesosScope::Agents)
            .await
            .unwrap()
            .agents
            .len(),
        1
    );
    let (entry, _) = reg
        .get_mesos(&MesosKey::Task(FW.into(), "web.1".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry, MesosEntry::Task(t1));

    // The Marathon tree does not see them, and the Mesos tree does not see Marathon's.
    reg.apply(vec![WriteOp::newer(Write::PutTask(task(
        "/web",
        "web.1",
        TaskState::Running,
        1,
    )))])
    .await
    .unwrap();
    let marathon = reg.list(&Scope::All).await.unwrap();
    assert_eq!(marathon.tasks.len(), 1);
    assert!(marathon.invalid.is_empty());
    assert_eq!(
        reg.list_mesos(&MesosScope::All).await.unwrap().tasks.len(),
        2
    );
}

#[tokio::test]
async fn guards_and_tombstones_follow_the_marathon_rules() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    let running = mtask(FW, "t", TaskState::Running, 20);
    let key = MesosKey::Task(FW.into(), "t".into());
    assert_eq!(
        reg.apply_mesos(vec![newer(MesosWrite::PutTask(running.clone()))])
            .await
            .unwrap(),
        vec![Outcome::Written]
    );
    let older = mtask(FW, "t", TaskState::Staging, 10);
    assert_eq!(
        reg.apply_mesos(vec![
            newer(MesosWrite::PutTask(older)),
            newer(MesosWrite::PutTask(running.clone()))
        ])
        .await
        .unwrap(),
        vec![Outcome::Stale, Outcome::Unchanged]
    );
    // A terminal state is a tombstone; a late running update cannot revive the task.
    let killed = mtask(FW, "t", TaskState::Killed, 30);
    assert_eq!(
        reg.apply_mesos(vec![newer(MesosWrite::PutTask(killed))])
            .await
            .unwrap(),
        vec![Outcome::Written]
    );
    let late = mtask(FW, "t", TaskState::Running, 25);
    assert_eq!(
        reg.apply_mesos(vec![newer(MesosWrite::PutTask(late))])
            .await
            .unwrap(),
        vec![Outcome::Stale]
    );
    // At one timestamp a removal beats a running task; TASK_UNKNOWN is held, not removed.
    let (gone, rev) = reg.get_mesos(&key).await.unwrap().unwrap();
    assert!(matches!(gone, MesosEntry::Gone { ref reason, .. } if reason == "TASK_KILLED"));
    let (snapshot, tombstones) = reg
        .list_mesos_with_tombstones(&MesosScope::All)
        .await
        .unwrap();
    assert!(snapshot.tasks.is_empty());
    assert_eq!(tombstones.len(), 1);
    assert_eq!(tombstones[0].key, key);
    // A reconcile restores what the master lists over the tombstone with its revision.
    let listed = mtask(FW, "t", TaskState::Unknown, 5);
    assert_eq!(
        reg.apply_mesos(vec![MesosWriteOp {
            write: MesosWrite::PutTask(listed.clone()),
            guard: Guard::Revision(rev),
        }])
        .await
        .unwrap(),
        vec![Outcome::Written]
    );
    assert_eq!(
        reg.get_mesos(&key).await.unwrap().unwrap().0,
        MesosEntry::Task(listed)
    );
    // Agents, frameworks and masters: newer wins; removal is a tombstone.
    let a = agent("agent-S0", 10);
    reg.apply_mesos(vec![newer(MesosWrite::PutAgent(a.clone()))])
        .await
        .unwrap();
    let remove = MesosWrite::RemoveAgent {
        agent_id: "agent-S0".into(),
        reason: "AGENT_REMOVED".into(),
        at: stamp(10),
    };
    assert_eq!(
        reg.apply_mesos(vec![
            newer(remove),
            newer(MesosWrite::PutAgent(agent("agent-S0", 9)))
        ])
        .await
        .unwrap(),
        vec![Outcome::Written, Outcome::Stale]
    );
    assert!(
        reg.list_mesos(&MesosScope::Agents)
            .await
            .unwrap()
            .agents
            .is_empty()
    );
    assert_eq!(
        reg.apply_mesos(vec![
            newer(MesosWrite::PutLeader(leader("m2", 5))),
            newer(MesosWrite::PutLeader(leader("m1", 4)))
        ])
        .await
        .unwrap(),
        vec![Outcome::Written, Outcome::Stale],
        "an older leader observation never replaces a newer one"
    );
    // Invalid ids are errors, never writes.
    let bad = mtask("a/b", "t", TaskState::Running, 1);
    assert!(
        reg.apply_mesos(vec![newer(MesosWrite::PutTask(bad))])
            .await
            .is_err()
    );
}

async fn next(watch: &mut Watch<MesosWatchEvent>) -> MesosWatchEvent {
    tokio::time::timeout(Duration::from_secs(20), watch.next())
        .await
        .expect("no watch event within 20 s")
        .expect("watch ended")
}

#[tokio::test]
async fn the_watch_delivers_a_snapshot_then_typed_changes() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    reg.apply_mesos(vec![newer(MesosWrite::PutAgent(agent("agent-S0", 1)))])
        .await
        .unwrap();
    let options = WatchOptions {
        progress_interval: Duration::from_millis(500),
        ..WatchOptions::default()
    };
    let mut watch = reg.watch_mesos(MesosScope::All, options.clone()).unwrap();
    let MesosWatchEvent::Resynced(snapshot) = next(&mut watch).await else {
        panic!("expected a snapshot first")
    };
    assert_eq!(snapshot.agents.len(), 1);
    let mut fw_watch = reg
        .watch_mesos(MesosScope::FrameworkTasks(FW.into()), options)
        .unwrap();
    assert!(matches!(
        next(&mut fw_watch).await,
        MesosWatchEvent::Resynced(_)
    ));
    let t = mtask(FW, "t", TaskState::Running, 2);
    reg.apply_mesos(vec![
        newer(MesosWrite::PutLeader(leader("m1", 2))),
        newer(MesosWrite::PutMaster(master("m1", true, 2))),
        newer(MesosWrite::PutFramework(framework(FW, 2))),
        newer(MesosWrite::PutTask(t.clone())),
        newer(MesosWrite::PutTask(mtask(
            "other",
            "t",
            TaskState::Running,
            2,
        ))),
    ])
    .await
    .unwrap();
    reg.apply_mesos(vec![
        newer(MesosWrite::PutTask(mtask(FW, "t", TaskState::Finished, 3))),
        newer(MesosWrite::RemoveAgent {
            agent_id: "agent-S0".into(),
            reason: "AGENT_REMOVED".into(),
            at: stamp(3),
        }),
        newer(MesosWrite::RemoveFramework {
            framework_id: FW.into(),
            reason: "FRAMEWORK_REMOVED".into(),
            at: stamp(3),
        }),
        newer(MesosWrite::RemoveMaster {
            master_id: "m1".into(),
            reason: "left ZooKeeper".into(),
            at: stamp(3),
        }),
    ])
    .await
    .unwrap();
    let want = vec![
        MesosChange::Leader(leader("m1", 2)),
        MesosChange::Master(master("m1", true, 2)),
        MesosChange::Framework(framework(FW, 2)),
        MesosChange::Task(t.clone()),
        MesosChange::Task(mtask("other", "t", TaskState::Running, 2)),
        MesosChange::TaskRemoved {
            framework_id: FW.into(),
            task_id: "t".into(),
        },
        MesosChange::AgentRemoved {
            agent_id: "agent-S0".into(),
        },
        MesosChange::FrameworkRemoved {
            framework_id: FW.into(),
        },
        MesosChange::MasterRemoved {
            master_id: "m1".into(),
        },
    ];
    let mut got = Vec::new();
    while got.len() < want.len() {
        if let MesosWatchEvent::Changes { changes, .. } = next(&mut watch).await {
            got.extend(changes);
        }
    }
    assert_eq!(got, want);
    let mut got = Vec::new();
    while got.len() < 2 {
        if let MesosWatchEvent::Changes { changes, .. } = next(&mut fw_watch).await {
            got.extend(changes);
        }
    }
    assert_eq!(
        got,
        vec![
            MesosChange::Task(t),
            MesosChange::TaskRemoved {
                framework_id: FW.into(),
                task_id: "t".into()
            }
        ],
        "a framework's tasks are one prefix"
    );
    assert!(
        reg.watch_mesos(MesosScope::Framework("a/b".into()), WatchOptions::default())
            .is_err()
    );
}
