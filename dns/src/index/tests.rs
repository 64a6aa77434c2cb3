//! The index's own tests: families, shared names, canonical names, the Mesos source.
use registry::TaskState;

use super::*;
use crate::test_support::naming;
use hickory_proto::rr::Name;

/// A task of `app` without ports on agent `x-S1` (canonical names end in `-s1`).
fn task(app: &str, id: &str, ip: &str) -> TaskRecord {
    registry::harness::records::task(app, id, ip)
        .agent_id("x-S1")
        .build()
}

fn ptr_targets(index: &ZoneIndex, ip: &str) -> Vec<String> {
    let ip: std::net::IpAddr = ip.parse().unwrap();
    let name = LowerName::new(&Name::from(ip));
    let snapshot = index.snapshot();
    snapshot
        .lookup(&name)
        .map(|r| r.ptr.iter().map(|n| n.to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn a_name_shared_by_two_families_keeps_both_until_each_leaves() {
    let mut index = ZoneIndex::new(naming());
    index.load(
        1,
        vec![
            task("/web", "web.1", "10.0.0.5"),
            task("/db", "db.1", "10.0.0.5"),
        ],
        vec![],
    );
    let both = ptr_targets(&index, "10.0.0.5");
    assert_eq!(both.len(), 2, "{both:?}");
    assert!(
        both.iter().any(|t| t.starts_with("web-")) && both.iter().any(|t| t.starts_with("db-"))
    );

    // Rebuilding one family (a new task elsewhere) keeps the other's share.
    index.apply(2, vec![Change::Task(task("/web", "web.2", "10.0.0.6"))]);
    assert_eq!(ptr_targets(&index, "10.0.0.5").len(), 2);

    let gone = |app: &str, id: &str| Change::TaskRemoved {
        app_id: AppId::parse(app).unwrap(),
        task_id: id.into(),
    };
    index.apply(3, vec![gone("/db", "db.1")]);
    let left = ptr_targets(&index, "10.0.0.5");
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with("web-"));

    index.apply(4, vec![gone("/web", "web.1")]);
    assert!(ptr_targets(&index, "10.0.0.5").is_empty());
    assert_eq!(ptr_targets(&index, "10.0.0.6").len(), 1);
    // A removal repeated (a tombstone, then its expiry) changes nothing.
    index.apply(5, vec![gone("/web", "web.1")]);
    assert_eq!(ptr_targets(&index, "10.0.0.6").len(), 1);
}

#[test]
fn published_snapshots_are_not_changed_by_later_updates() {
    let mut index = ZoneIndex::new(naming());
    index.load(1, vec![task("/web", "web.1", "10.0.0.5")], vec![]);
    let before = index.snapshot();
    let entries_before = before.entries().count();
    index.apply(2, vec![Change::Task(task("/web", "web.2", "10.0.0.6"))]);
    assert_eq!(before.entries().count(), entries_before);
    assert_eq!(index.snapshot().entries().count(), entries_before + 1);
    let h = crate::names::task_hash("web.2");
    let own = Name::from_ascii(format!("web-{h}-s1.marathon.mesos.")).unwrap();
    let own = LowerName::new(&own);
    assert!(before.lookup(&own).is_none());
    assert_eq!(index.snapshot().lookup(&own).map(|r| r.a.len()), Some(1));
    let name = LowerName::new(&Name::from_ascii("web.marathon.mesos.").unwrap());
    assert_eq!(before.names.get(&name).map(|r| r.a.len()), Some(1));
    assert_eq!(
        index.snapshot().names.get(&name).map(|r| r.a.len()),
        Some(2)
    );
}

fn lower(text: &str) -> LowerName {
    LowerName::new(&Name::from_ascii(text).unwrap())
}

fn a_records(index: &ZoneIndex, name: &str) -> Vec<String> {
    let snapshot = index.snapshot();
    snapshot
        .lookup(&lower(name))
        .map(|r| r.a.iter().map(|ip| ip.to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn canonical_names_follow_their_task() {
    let mut index = ZoneIndex::new(naming());
    let h = crate::names::task_hash("web.1");
    let own = format!("web-{h}-s1.marathon.mesos.");
    let slave = format!("web-{h}-s1.marathon.slave.mesos.");
    index.load(1, vec![task("/web", "web.1", "10.0.0.5")], vec![]);
    assert_eq!(a_records(&index, &own), ["10.0.0.5"]);
    assert_eq!(a_records(&index, &slave), ["10.0.0.5"]);
    assert_eq!(
        a_records(&index, &own.to_uppercase()),
        ["10.0.0.5"],
        "names match case-insensitively"
    );
    assert!(
        !index
            .snapshot()
            .exists(&lower(&format!("web-{h}-s2.marathon.mesos.")))
    );

    // The agent moves: the PTR and the canonical name follow.
    let mut moved = task("/web", "web.1", "10.0.0.9");
    moved.agent_id = Some("x-S2".into());
    index.apply(2, vec![Change::Task(moved.clone())]);
    assert!(a_records(&index, &own).is_empty());
    assert_eq!(
        a_records(&index, &format!("web-{h}-s2.marathon.mesos.")),
        ["10.0.0.9"]
    );
    assert!(ptr_targets(&index, "10.0.0.5").is_empty());
    assert_eq!(ptr_targets(&index, "10.0.0.9").len(), 1);

    // Not served any more: every name of the task goes.
    moved.state = TaskState::Killed;
    index.apply(3, vec![Change::Task(moved)]);
    assert!(a_records(&index, &format!("web-{h}-s2.marathon.mesos.")).is_empty());
    assert!(ptr_targets(&index, "10.0.0.9").is_empty());
    assert_eq!(index.snapshot().entries().count(), 0);
    assert_eq!(index.tasks(), 1, "still known, for the next update");
}

#[test]
fn legacy_canonical_names_have_their_ancestors() {
    let mut index = ZoneIndex::new(Naming {
        legacy_names: true,
        ..naming()
    });
    index.load(1, vec![task("/prod/web", "prod_web.1", "10.0.0.5")], vec![]);
    let h = crate::names::task_hash("prod_web.1");
    assert_eq!(
        a_records(&index, &format!("web.prod-{h}-s1.marathon.mesos.")),
        ["10.0.0.5"]
    );
    let parent = lower(&format!("prod-{h}-s1.marathon.mesos."));
    assert!(index.snapshot().exists(&parent), "an empty non-terminal");
    assert!(index.snapshot().lookup(&parent).is_none());
    index.apply(
        2,
        vec![Change::TaskRemoved {
            app_id: AppId::parse("/prod/web").unwrap(),
            task_id: "prod_web.1".into(),
        }],
    );
    assert!(!index.snapshot().exists(&parent));
    assert!(index.snapshot().empty_non_terminals.is_empty());
}

#[test]
fn a_canonical_name_that_is_also_an_app_label_answers_both() {
    let mut index = ZoneIndex::new(naming());
    let h = crate::names::task_hash("web.1");
    // `/s1/<hash>/web` is labelled `web-<hash>-s1`: the canonical name of `web.1`.
    let twin = format!("/s1/{h}/web");
    index.load(
        1,
        vec![
            task("/web", "web.1", "10.0.0.5"),
            task(&twin, "twin.1", "10.0.0.6"),
        ],
        vec![],
    );
    let mut both = a_records(&index, &format!("web-{h}-s1.marathon.mesos."));
    both.sort();
    assert_eq!(both, ["10.0.0.5", "10.0.0.6"]);
}

#[test]
fn shortened_canonical_names_are_found() {
    let mut index = ZoneIndex::new(naming());
    let long = format!("/{}", "x".repeat(70));
    index.load(1, vec![task(&long, "x.1", "10.0.0.5")], vec![]);
    let label = crate::names::canonical_label(&"x".repeat(63), "x.1", Some("x-S1"));
    assert_eq!(label.len(), 63);
    assert_eq!(
        a_records(&index, &format!("{label}.marathon.mesos.")),
        ["10.0.0.5"]
    );
    assert_eq!(
        ptr_targets(&index, "10.0.0.5"),
        [format!("{label}.marathon.mesos.")]
    );
}
