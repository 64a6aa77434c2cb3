use registry::{Health, KeyKind, NetworkMode, TaskState, Versioned};

use super::*;

const NOW: &str = "2026-03-01T12:00:00.000Z";

fn at(text: &str) -> Stamp {
    Stamp::parse(text).expect("stamp")
}

fn app_id(id: &str) -> AppId {
    AppId::parse(id).expect("app id")
}

fn task(id: &str, state: TaskState, stamp: &str) -> TaskRecord {
    TaskRecord {
        app_id: app_id("/web"),
        task_id: id.into(),
        instance_id: None,
        agent_id: Some("agent-S1".into()),
        host: "10.0.0.1".into(),
        agent_ips: vec!["10.0.0.1".parse().expect("ip")],
        task_ips: Vec::new(),
        ports: Vec::new(),
        state,
        health: Health::Unknown,
        app_version: Some("2026-01-01T00:00:00.000Z".into()),
        updated_at: at(stamp),
    }
}

fn running(id: &str) -> TaskRecord {
    task(id, TaskState::Running, "2026-03-01T11:00:00.000Z")
}

fn app(id: &str) -> AppRecord {
    AppRecord {
        app_id: app_id(id),
        version: "2026-01-01T00:00:00.000Z".into(),
        ports: Vec::new(),
        networking: NetworkMode::Host,
        labels: BTreeMap::new(),
        health_checks: false,
        updated_at: at("2026-01-01T00:00:00.000Z"),
    }
}

fn stored<R>(records: Vec<R>) -> Vec<Versioned<R>> {
    records
        .into_iter()
        .zip(10..)
        .map(|(record, mod_revision)| Versioned {
            record,
            mod_revision,
        })
        .collect()
}

fn snapshot(tasks: Vec<TaskRecord>, apps: Vec<AppRecord>) -> Snapshot {
    Snapshot {
        revision: 99,
        tasks: stored(tasks),
        apps: stored(apps),
        invalid: Vec::new(),
    }
}

fn wanted(tasks: Vec<TaskRecord>, apps: Vec<AppRecord>) -> Wanted {
    Wanted {
        listed_apps: apps.len(),
        tasks: tasks
            .into_iter()
            .map(|t| ((t.app_id.clone(), t.task_id.clone()), t))
            .collect(),
        apps: apps.into_iter().map(|a| (a.app_id.clone(), a)).collect(),
        kept_apps: HashSet::new(),
    }
}

fn rules() -> Rules {
    Rules {
        horizon: Horizon::new(at(NOW).to_datetime(), Duration::from_secs(300)),
        now: at(NOW),
        max_delete_share: 0.5,
    }
}

fn tombstone(kind: KeyKind, mod_revision: i64) -> Tombstone {
    Tombstone {
        kind,
        reason: "TASK_KILLED".into(),
        at: at("2026-03-01T11:30:00.000Z"),
        mod_revision,
    }
}

fn kinds(plan: &ReconcilePlan) -> Vec<ChangeKind> {
    plan.changes.iter().map(|c| c.change).collect()
}

#[test]
fn identical_records_need_no_change_whatever_their_stamps() {
    let mut newer = running("web.1");
    newer.updated_at = at("2026-03-01T11:59:00.000Z");
    let plan = plan(
        &snapshot(vec![newer], vec![app("/web")]),
        &[],
        wanted(vec![running("web.1")], vec![app("/web")]),
        &rules(),
    );
    assert!(plan.changes.is_empty(), "{plan:?}");
    assert_eq!(plan.summary.total(), 0);
    assert_eq!(
        (plan.revision, plan.stored_records, plan.marathon_tasks),
        (99, 2, 1)
    );
    assert!(!plan.needs_force);
}

#[test]
fn missing_records_are_created_over_an_absent_key() {
    let plan = plan(
        &snapshot(vec![], vec![]),
        &[],
        wanted(vec![running("web.1")], vec![app("/web")]),
        &rules(),
    );
    assert_eq!(
        kinds(&plan),
        [ChangeKind::CreateTask, ChangeKind::CreateApp]
    );
    let create = &plan.changes[0];
    assert_eq!(
        create.op,
        WriteOp {
            write: Write::PutTask(running("web.1")),
            guard: Guard::Revision(0)
        }
    );
    assert_eq!(create.task_id(), Some("web.1"));
    assert_eq!(
        create.record_json(),
        serde_json::to_value(running("web.1")).ok()
    );
    assert_eq!(create.stored(), None);
    assert_eq!(plan.delete_share, 0.0);
}

#[test]
fn a_differing_record_is_updated_under_its_revision_keeping_the_newer_stamp() {
    let mut have = running("web.1");
    have.updated_at = at("2026-03-01T11:59:00.000Z");
    let mut want = running("web.1");
    want.health = Health::Unhealthy;
    let plan = plan(
        &snapshot(vec![have.clone()], vec![]),
        &[],
        wanted(vec![want.clone()], vec![]),
        &rules(),
    );
    assert_eq!(kinds(&plan), [ChangeKind::UpdateTask]);
    want.updated_at = have.updated_at.clone();
    assert_eq!(
        plan.changes[0].op,
        WriteOp {
            write: Write::PutTask(want),
            guard: Guard::Revision(10)
        }
    );
    assert_eq!(plan.changes[0].stored(), Some(&Stored::Task(have.clone())));
    assert_eq!(plan.unfrozen, 0);
}

#[test]
fn what_marathon_lacks_is_removed_except_apps_with_an_unusable_definition() {
    let mut want = wanted(vec![running("web.1")], vec![]);
    want.kept_apps.insert(app_id("/odd"));
    let plan = plan(
        &snapshot(
            vec![running("web.1"), running("web.2")],
            vec![app("/gone"), app("/odd")],
        ),
        &[],
        want,
        &rules(),
    );
    assert_eq!(
        kinds(&plan),
        [ChangeKind::RemoveTask, ChangeKind::RemoveApp]
    );
    assert_eq!(
        plan.changes[0].op,
        WriteOp {
            write: Write::RemoveTask {
                app_id: app_id("/web"),
                task_id: "web.2".into(),
                reason: REMOVED.into(),
                at: at(NOW),
            },
            guard: Guard::Revision(11),
        }
    );
    assert_eq!(plan.changes[1].app_id(), &app_id("/gone"));
    assert_eq!(plan.changes[1].record_json(), None);
    assert_eq!(plan.changes[1].stored(), Some(&Stored::App(app("/gone"))));
    assert_eq!(plan.summary.deletes(), 2);
    assert_eq!(plan.delete_share, 0.5);
    assert!(!plan.needs_force, "exactly the allowed share");
}

#[test]
fn removals_over_the_allowed_share_need_force_and_can_be_withheld() {
    let plan = plan(
        &snapshot(vec![running("web.1"), running("web.2")], vec![app("/web")]),
        &[],
        wanted(vec![running("web.3")], vec![]),
        &rules(),
    );
    assert_eq!(plan.summary.deletes(), 3);
    assert!(plan.needs_force);
    let all = writes(plan.changes.clone(), false);
    assert_eq!(all.ops.len(), 4);
    assert_eq!(all.withheld, 0);
    let withheld = writes(plan.changes, true);
    assert_eq!(withheld.kinds, [ChangeKind::CreateTask]);
    assert_eq!(withheld.withheld, 3);
    assert!(matches!(withheld.ops[0].write, Write::PutTask(ref t) if t.task_id == "web.3"));
}

#[test]
fn the_listing_restores_running_tasks_and_apps_over_their_tombstones() {
    let killing = task("web.2", TaskState::Killing, "2026-03-01T11:00:00.000Z");
    let plan = plan(
        &snapshot(vec![], vec![]),
        &[
            tombstone(KeyKind::Task(app_id("/web"), "web.1".into()), 41),
            tombstone(KeyKind::Task(app_id("/web"), "web.2".into()), 42),
            tombstone(KeyKind::App(app_id("/web")), 43),
        ],
        wanted(vec![running("web.1"), killing], vec![app("/web")]),
        &rules(),
    );
    assert_eq!(
        kinds(&plan),
        [ChangeKind::CreateTask, ChangeKind::CreateApp]
    );
    assert_eq!(plan.changes[0].op.guard, Guard::Revision(41));
    assert_eq!(plan.changes[0].task_id(), Some("web.1"));
    assert_eq!(plan.changes[1].op.guard, Guard::Revision(43));
    assert_eq!(plan.restored, 2);
    assert_eq!(
        plan.marathon_tasks, 2,
        "the killing task is listed, not written"
    );
}

#[test]
fn far_future_stamps_are_rewritten_with_the_listings_own() {
    let mut frozen_task = running("web.1");
    frozen_task.updated_at = at("9999-12-31T23:59:59.999Z");
    let mut frozen_app = app("/web");
    frozen_app.updated_at = at("2026-03-01T12:05:00.001Z");
    let mut within = running("web.2");
    within.updated_at = at("2026-03-01T12:05:00.000Z");
    let plan = plan(
        &snapshot(vec![frozen_task, within], vec![frozen_app, app("/other")]),
        &[],
        wanted(
            vec![running("web.1"), running("web.2")],
            vec![app("/web"), app("/other")],
        ),
        &rules(),
    );
    assert_eq!(
        kinds(&plan),
        [ChangeKind::UpdateTask, ChangeKind::UpdateApp]
    );
    assert_eq!(plan.changes[0].op.write, Write::PutTask(running("web.1")));
    assert_eq!(plan.changes[1].op.write, Write::PutApp(app("/web")));
    assert_eq!(plan.unfrozen, 2);
    // A removal of a frozen record carries this host's clock, not the frozen stamp.
    let mut frozen = running("web.9");
    frozen.updated_at = at("9999-12-31T23:59:59.999Z");
    let plan = super::plan(
        &snapshot(vec![frozen], vec![]),
        &[],
        Wanted::default(),
        &rules(),
    );
    assert!(
        matches!(&plan.changes[0].op.write, Write::RemoveTask { at: removed, .. } if removed == &at(NOW))
    );
}

#[test]
fn a_planner_takes_records_in_any_order_and_a_repeated_one_once() {
    let stored = snapshot(
        vec![running("web.3"), running("web.1"), running("web.2")],
        vec![app("/web")],
    );
    let stored = StoredRecords::from_records(KeyLayout::default(), &stored, &[]);
    let rules = rules();
    let mut planner = Planner::new(stored, &rules);
    let mut changed = running("web.2");
    changed.health = Health::Healthy;
    planner.want_task(changed.clone());
    planner.want_task(running("web.9"));
    planner.want_task(running("web.2"));
    planner.want_app(app("/web"));
    let plan = planner.finish(1);
    assert_eq!(
        kinds(&plan),
        [
            ChangeKind::UpdateTask,
            ChangeKind::CreateTask,
            ChangeKind::RemoveTask,
            ChangeKind::RemoveTask
        ]
    );
    assert_eq!(plan.changes[0].op.write, Write::PutTask(changed));
    let removed: Vec<_> = plan.changes[2..].iter().map(|c| c.task_id()).collect();
    assert_eq!(removed, [Some("web.1"), Some("web.3")], "in key order");
    assert_eq!((plan.marathon_apps, plan.marathon_tasks), (1, 2));
    assert_eq!(plan.stored_records, 4);
}

#[test]
fn a_summary_is_keyed_by_the_kinds_labels() {
    for (i, kind) in ChangeKind::ALL.into_iter().enumerate() {
        assert_eq!(kind as usize, i, "ALL is in declaration order");
        assert_eq!(serde_json::to_value(kind).expect("json"), kind.label());
    }
    let mut summary = Summary::default();
    summary.count(ChangeKind::RemoveTask);
    summary.count(ChangeKind::RemoveApp);
    summary.count(ChangeKind::CreateTask);
    assert_eq!(
        serde_json::to_string(&summary).expect("json"),
        r#"{"create_task":1,"update_task":0,"remove_task":1,"create_app":0,"update_app":0,"remove_app":1}"#
    );
    assert_eq!((summary.total(), summary.deletes()), (3, 2));
}
