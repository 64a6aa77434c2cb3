//! Tombstones refuse late events, yet a writer restoring its source's listing can replace
//! them at once (`list_with_tombstones` + `Guard::Revision`), against a real etcd.

use crate::common;

use common::{app, stamp, task};
use herald_registry::harness::EtcdServer;
use herald_registry::{Guard, KeyKind, Outcome, Scope, TaskState, Write, WriteOp};

#[tokio::test]
async fn a_listed_record_replaces_its_tombstone_at_once() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    let running = task("/web", "web.1", TaskState::Running, 10);
    let other = task("/web", "web.2", TaskState::Running, 10);
    let web = app("/web", 5);
    reg.apply(vec![
        WriteOp::newer(Write::PutTask(running.clone())),
        WriteOp::newer(Write::PutTask(other.clone())),
        WriteOp::newer(Write::PutApp(web.clone())),
    ])
    .await
    .unwrap();
    // A reconcile removed the task and the app (Marathon left the app out of one answer).
    reg.apply(vec![
        WriteOp::newer(Write::RemoveTask {
            app_id: running.app_id.clone(),
            task_id: "web.1".into(),
            reason: "reconcile: not in Marathon".into(),
            at: stamp(30),
        }),
        WriteOp::newer(Write::RemoveApp {
            app_id: web.app_id.clone(),
            reason: "reconcile: not in Marathon".into(),
            at: stamp(30),
        }),
    ])
    .await
    .unwrap();

    // `list` leaves tombstones out; `list_with_tombstones` reports them at the same revision.
    let plain = reg.list(&Scope::All).await.unwrap();
    let (snapshot, tombstones) = reg.list_with_tombstones(&Scope::All).await.unwrap();
    assert_eq!(snapshot.tasks, plain.tasks);
    assert_eq!(snapshot.tasks.len(), 1, "web.2 is still live");
    assert!(snapshot.apps.is_empty());
    let mut kinds: Vec<KeyKind> = tombstones.iter().map(|t| t.kind.clone()).collect();
    kinds.sort_by_key(|k| format!("{k:?}"));
    assert_eq!(
        kinds,
        vec![
            KeyKind::App(web.app_id.clone()),
            KeyKind::Task(running.app_id.clone(), "web.1".into()),
        ]
    );
    assert!(tombstones.iter().all(|t| t.at == stamp(30)
        && t.reason == "reconcile: not in Marathon"
        && t.mod_revision > 0
        && t.mod_revision <= snapshot.revision));

    // A late event is still refused by the tombstone...
    assert_eq!(
        reg.apply(vec![WriteOp::newer(Write::PutTask(task(
            "/web",
            "web.1",
            TaskState::Running,
            20
        )))])
        .await
        .unwrap(),
        vec![Outcome::Stale]
    );
    // ...but the listing's own record, older than the removal, replaces it through the
    // tombstone's revision.
    let ops: Vec<WriteOp> = tombstones
        .iter()
        .map(|t| WriteOp {
            write: match &t.kind {
                KeyKind::Task(..) => Write::PutTask(running.clone()),
                KeyKind::App(_) => Write::PutApp(web.clone()),
            },
            guard: Guard::Revision(t.mod_revision),
        })
        .collect();
    assert_eq!(
        reg.apply(ops.clone()).await.unwrap(),
        vec![Outcome::Written, Outcome::Written]
    );
    assert_eq!(
        reg.apply(ops).await.unwrap(),
        vec![Outcome::Conflict, Outcome::Conflict],
        "only the tombstone that was listed is replaced"
    );
    let stored = reg.get_task(&running.app_id, "web.1").await.unwrap();
    assert_eq!(stored.map(|v| v.record), Some(running.clone()));
    assert_eq!(
        reg.get_app(&web.app_id).await.unwrap().map(|v| v.record),
        Some(web)
    );
    let (_, left) = reg.list_with_tombstones(&Scope::All).await.unwrap();
    assert!(left.is_empty(), "{left:?}");

    // The restored record is no longer bound to the tombstone's lease.
    let key = reg.layout().task_key(&running.app_id, "web.1").unwrap();
    let mut client = reg.client();
    let raw = client.get(key, None).await.unwrap();
    assert_eq!(raw.kvs().first().map(|kv| kv.lease()), Some(0));
}
