//! Guarded, batched writes and listings against a real etcd.

use crate::common;

use common::{app, stamp, task};
use herald_registry::harness::{EtcdServer, eventually};
use herald_registry::{AppId, Guard, Outcome, Scope, TaskState, Write, WriteOp};

#[tokio::test]
async fn a_stale_event_cannot_overwrite_a_newer_record() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    let newer = task("/web", "web.1", TaskState::Running, 20);
    let older = task("/web", "web.1", TaskState::Staging, 10);
    let out = reg
        .apply(vec![WriteOp::newer(Write::PutTask(newer.clone()))])
        .await
        .unwrap();
    assert_eq!(out, vec![Outcome::Written]);
    let out = reg
        .apply(vec![WriteOp::newer(Write::PutTask(older))])
        .await
        .unwrap();
    assert_eq!(out, vec![Outcome::Stale]);
    let out = reg
        .apply(vec![WriteOp::newer(Write::PutTask(newer.clone()))])
        .await
        .unwrap();
    assert_eq!(
        out,
        vec![Outcome::Unchanged],
        "a duplicate event writes nothing"
    );
    let stored = reg.get_task(&newer.app_id, "web.1").await.unwrap().unwrap();
    assert_eq!(stored.record, newer);
}

#[tokio::test]
async fn a_removed_task_is_not_revived_by_a_late_event() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    let running = task("/web", "web.1", TaskState::Running, 10);
    let killed = task("/web", "web.1", TaskState::Killed, 30);
    reg.apply(vec![WriteOp::newer(Write::PutTask(running.clone()))])
        .await
        .unwrap();
    assert_eq!(
        reg.apply(vec![WriteOp::newer(Write::PutTask(killed))])
            .await
            .unwrap(),
        vec![Outcome::Written]
    );
    assert!(
        reg.get_task(&running.app_id, "web.1")
            .await
            .unwrap()
            .is_none()
    );
    // The RUNNING event delivered late (callbacks may arrive out of order) must not bring it back.
    let late = task("/web", "web.1", TaskState::Running, 20);
    assert_eq!(
        reg.apply(vec![WriteOp::newer(Write::PutTask(late))])
            .await
            .unwrap(),
        vec![Outcome::Stale]
    );
    assert!(
        reg.get_task(&running.app_id, "web.1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(reg.list(&Scope::All).await.unwrap().tasks.is_empty());
    // At the same millisecond, the removal wins too.
    let tie_running = task("/web", "web.2", TaskState::Running, 40);
    let tie_removal = Write::RemoveTask {
        app_id: tie_running.app_id.clone(),
        task_id: "web.2".into(),
        reason: "TASK_KILLED".into(),
        at: stamp(40),
    };
    reg.apply(vec![WriteOp::newer(tie_removal)]).await.unwrap();
    assert_eq!(
        reg.apply(vec![WriteOp::newer(Write::PutTask(tie_running))])
            .await
            .unwrap(),
        vec![Outcome::Stale]
    );
}

#[tokio::test]
async fn the_revision_guard_refuses_a_changed_key() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    let t = task("/db", "db.1", TaskState::Running, 10);
    let absent = WriteOp {
        write: Write::PutTask(t.clone()),
        guard: Guard::Revision(0),
    };
    assert_eq!(
        reg.apply(vec![absent.clone()]).await.unwrap(),
        vec![Outcome::Written]
    );
    assert_eq!(
        reg.apply(vec![absent]).await.unwrap(),
        vec![Outcome::Conflict]
    );
    let seen = reg
        .get_task(&t.app_id, "db.1")
        .await
        .unwrap()
        .unwrap()
        .mod_revision;
    let mut changed = t.clone();
    changed.updated_at = stamp(11);
    let op = WriteOp {
        write: Write::PutTask(changed),
        guard: Guard::Revision(seen),
    };
    assert_eq!(
        reg.apply(vec![op.clone()]).await.unwrap(),
        vec![Outcome::Written]
    );
    assert_eq!(reg.apply(vec![op]).await.unwrap(), vec![Outcome::Conflict]);
}

#[tokio::test]
async fn batches_over_128_operations_are_split_and_all_applied() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    let ops: Vec<WriteOp> = (0..300)
        .map(|i| {
            WriteOp::newer(Write::PutTask(task(
                &format!("/g/app{}", i % 7),
                &format!("t.{i}"),
                TaskState::Running,
                5,
            )))
        })
        .chain(std::iter::once(WriteOp::newer(Write::PutApp(app(
            "/g/app0", 1,
        )))))
        .collect();
    let rev_before = reg.ping().await.unwrap();
    let outcomes = reg.apply(ops).await.unwrap();
    assert_eq!(outcomes.len(), 301);
    assert!(outcomes.iter().all(|o| *o == Outcome::Written));
    let snapshot = reg.list(&Scope::All).await.unwrap();
    assert_eq!(snapshot.tasks.len(), 300);
    assert_eq!(snapshot.apps.len(), 1);
    // One revision per transaction: 301 writes in ceil(301 / 128) = 3 transactions.
    assert_eq!(snapshot.revision - rev_before, 3);
}

#[tokio::test]
async fn a_key_repeated_across_transactions_is_written_in_order() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    let put = |id: &str, stamp| {
        WriteOp::newer(Write::PutTask(task(
            "/g/app",
            id,
            TaskState::Running,
            stamp,
        )))
    };
    // The first and last writes share a key, 300 other writes apart: three transactions,
    // which must not run side by side (the older write would then lose to the newer).
    let ops: Vec<WriteOp> = std::iter::once(put("t.0", 1))
        .chain((1..300).map(|i| put(&format!("t.{i}"), 1)))
        .chain(std::iter::once(put("t.0", 2)))
        .collect();
    let outcomes = reg.apply(ops).await.unwrap();
    assert_eq!(outcomes.len(), 301);
    assert!(
        outcomes.iter().all(|o| *o == Outcome::Written),
        "{outcomes:?}"
    );
    let snapshot = reg.list(&Scope::All).await.unwrap();
    assert_eq!(snapshot.tasks.len(), 300);
    let first = snapshot
        .tasks
        .iter()
        .find(|t| t.record.task_id == "t.0")
        .unwrap();
    assert_eq!(first.record.updated_at, common::stamp(2));
}

#[tokio::test]
async fn scopes_read_exactly_an_app_or_a_group() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    let ids = [
        "/prod/web",
        "/prod/web2",
        "/prod/web/api",
        "/prod/db",
        "/dev/web",
    ];
    let ops = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            WriteOp::newer(Write::PutTask(task(
                id,
                &format!("t{i}"),
                TaskState::Running,
                1,
            )))
        })
        .collect();
    reg.apply(ops).await.unwrap();
    let apps_of = |s: herald_registry::Snapshot| {
        let mut v: Vec<String> = s
            .tasks
            .into_iter()
            .map(|t| t.record.app_id.to_string())
            .collect();
        v.sort();
        v
    };
    let web = AppId::parse("/prod/web").unwrap();
    assert_eq!(
        apps_of(reg.list(&Scope::App(web)).await.unwrap()),
        vec!["/prod/web"]
    );
    let prod = AppId::parse("/prod").unwrap();
    assert_eq!(
        apps_of(reg.list(&Scope::Group(prod)).await.unwrap()),
        vec!["/prod/db", "/prod/web", "/prod/web/api", "/prod/web2"]
    );
    assert_eq!(reg.list(&Scope::All).await.unwrap().tasks.len(), 5);
}

#[tokio::test]
async fn listings_page_through_large_scopes() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    let ops: Vec<WriteOp> = (0..2500)
        .map(|i| {
            WriteOp::newer(Write::PutTask(task(
                "/big",
                &format!("big.{i:05}"),
                TaskState::Running,
                1,
            )))
        })
        .collect();
    reg.apply(ops).await.unwrap();
    let snapshot = reg.list(&Scope::All).await.unwrap();
    assert_eq!(snapshot.tasks.len(), 2500);
    let mut ids: Vec<&str> = snapshot
        .tasks
        .iter()
        .map(|t| t.record.task_id.as_str())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 2500, "no key listed twice across pages");
}

#[tokio::test]
async fn invalid_values_are_reported_not_fatal() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    reg.apply(vec![WriteOp::newer(Write::PutTask(task(
        "/ok",
        "ok.1",
        TaskState::Running,
        1,
    )))])
    .await
    .unwrap();
    let mut client = reg.client();
    client
        .put("/herald/v1/apps/bad/@tasks/x", "not json", None)
        .await
        .unwrap();
    let snapshot = reg.list(&Scope::All).await.unwrap();
    assert_eq!(snapshot.tasks.len(), 1);
    assert_eq!(snapshot.invalid.len(), 1);
    assert_eq!(snapshot.invalid[0].0, "/herald/v1/apps/bad/@tasks/x");
}

#[tokio::test]
async fn tombstones_expire_with_their_lease() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd
        .registry()
        .await
        .unwrap()
        .with_tombstone_ttl(std::time::Duration::from_secs(2));
    let removal = Write::RemoveTask {
        app_id: AppId::parse("/web").unwrap(),
        task_id: "web.1".into(),
        reason: "TASK_KILLED".into(),
        at: stamp(10),
    };
    reg.apply(vec![WriteOp::newer(removal)]).await.unwrap();
    let key = reg
        .layout()
        .task_key(&AppId::parse("/web").unwrap(), "web.1")
        .unwrap();
    assert!(
        reg.get(&key).await.unwrap().is_some(),
        "the tombstone is stored"
    );
    eventually(
        "the tombstone to expire",
        std::time::Duration::from_secs(15),
        async || reg.get(&key).await.unwrap().is_none(),
    )
    .await;
}

#[tokio::test]
async fn a_listing_at_a_fixed_revision_sees_nothing_written_after_it() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    let first = task("/web", "web.1", TaskState::Running, 10);
    reg.apply(vec![WriteOp::newer(Write::PutTask(first.clone()))])
        .await
        .unwrap();
    let revision = reg.revision().await.unwrap();
    // After the revision was fixed: one task changes, another appears.
    let mut changed = first.clone();
    changed.host = "10.0.0.2".into();
    changed.updated_at = stamp(20);
    let later = task("/web", "web.2", TaskState::Running, 20);
    reg.apply(vec![
        WriteOp::newer(Write::PutTask(changed.clone())),
        WriteOp::newer(Write::PutTask(later.clone())),
    ])
    .await
    .unwrap();

    let at = reg.list_stored_at(&Scope::All, revision).await.unwrap();
    assert_eq!((at.revision(), at.len()), (revision, 1));
    let held = at.get(at.find_task(&first.app_id, "web.1").unwrap());
    assert!(held.holds_task(&first) && !held.holds_task(&changed));
    assert!(held.mod_revision <= revision);
    assert!(at.find_task(&later.app_id, "web.2").is_none());

    let now = reg.list_stored(&Scope::All).await.unwrap();
    assert_eq!(now.revision(), reg.revision().await.unwrap());
    assert_eq!(now.len(), 2);
    let held = now.get(now.find_task(&first.app_id, "web.1").unwrap());
    assert!(held.holds_task(&changed));
}

#[tokio::test]
async fn a_listing_at_a_compacted_revision_says_so() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    reg.apply(vec![WriteOp::newer(Write::PutTask(task(
        "/web",
        "web.1",
        TaskState::Running,
        10,
    )))])
    .await
    .unwrap();
    let revision = reg.revision().await.unwrap();
    reg.apply(vec![WriteOp::newer(Write::PutTask(task(
        "/web",
        "web.2",
        TaskState::Running,
        10,
    )))])
    .await
    .unwrap();
    let now = reg.revision().await.unwrap();
    reg.client().compact(now, None).await.unwrap();

    let error = match reg.list_stored_at(&Scope::All, revision).await {
        Ok(_) => panic!("read at revision {revision}, compacted up to {now}"),
        Err(e) => e,
    };
    assert!(error.is_compacted(), "{error}");
    assert!(
        !error.is_retryable(),
        "the same request can only fail again"
    );
    let fresh = reg.revision().await.unwrap();
    assert_eq!(
        reg.list_stored_at(&Scope::All, fresh).await.unwrap().len(),
        2
    );
}

#[tokio::test]
async fn a_listing_whose_page_is_over_the_answer_limit_asks_for_smaller_pages() {
    // 280 apps of ~256 KiB each: a page of them all (~70 MiB) is over the 64 MiB a listing
    // accepts, so the listing has to halve its pages; without that it fails.
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    let filler = "x".repeat(256 << 10);
    let apps: Vec<_> = (0..280)
        .map(|i| {
            let mut record = app(&format!("/big-{i:03}"), 10);
            record
                .labels
                .insert("filler".into(), format!("{i}{filler}"));
            record
        })
        .collect();
    for record in &apps {
        let written = reg
            .apply(vec![WriteOp::newer(Write::PutApp(record.clone()))])
            .await
            .unwrap();
        assert_eq!(written, vec![Outcome::Written]);
    }
    let listed = reg.list(&Scope::All).await.unwrap();
    assert!(listed.invalid.is_empty(), "{:?}", listed.invalid);
    let listed: Vec<_> = listed.apps.into_iter().map(|v| v.record).collect();
    assert_eq!(listed, apps);
}
