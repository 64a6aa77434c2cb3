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
    assert_eq!(before.lookup(&name).map(|r| r.a.len()), Some(1));
    assert_eq!(index.snapshot().lookup(&name).map(|r| r.a.len()), Some(2));
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
fn srv_glue_follows_a_task_that_moves() {
    let mut index = ZoneIndex::new(naming());
    let at = |ip: &str| {
        let port = registry::harness::records::port("http", None, Some(31000));
        registry::harness::records::task("/web", "web.1", ip)
            .agent_id("x-S1")
            .ports(vec![port])
            .build()
    };
    index.load(1, vec![at("10.0.0.5")], vec![]);
    // Same port, same target name: the SRV record is unchanged for a client, but its
    // target's address (the additional section, `/v1/services`) is the new one.
    index.apply(2, vec![Change::Task(at("10.0.0.9"))]);
    let snapshot = index.snapshot();
    let srv = snapshot
        .lookup(&lower("_web._tcp.marathon.mesos."))
        .unwrap();
    let glue: Vec<String> = srv.srv[0]
        .addresses()
        .iter()
        .map(|ip| ip.to_string())
        .collect();
    assert_eq!(glue, ["10.0.0.9"]);
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

mod mesos {
    use registry::{Health, MesosChange, Protocol};

    use super::*;
    use crate::test_support::mesos::{agent, framework, port, task as mesos_task};

    const FW: &str = "30257977-0001";

    fn srv_records(index: &ZoneIndex, name: &str) -> Vec<String> {
        let snapshot = index.snapshot();
        let naming = &snapshot.zone.naming;
        let mut out: Vec<String> = snapshot
            .lookup(&lower(name))
            .map(|r| {
                r.srv
                    .iter()
                    .map(|s| format!("{}:{}", s.target_name(naming).unwrap(), s.port))
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    fn hello(id: &str, agent_id: &str) -> registry::MesosTaskRecord {
        mesos_task(FW, "Hello World", id, "hello")
            .agent(agent_id)
            .task_ips(&["9.0.0.2"])
            .ports(vec![
                port(8080, "http", &[Protocol::Tcp], Some("container")),
                port(53, "", &[Protocol::Udp, Protocol::Tcp], None),
            ])
            .host_ports(&[31000])
            .build()
    }

    /// A framework labelled `web.marathon` has the name `web.marathon.mesos` (the
    /// infrastructure family), which Marathon's app `/web` has too.
    fn scheduler(id: &str) -> MesosChange {
        MesosChange::Framework(framework(
            id,
            "web.marathon",
            None,
            Some(("10.9.9.9", 8080)),
        ))
    }

    #[test]
    fn a_name_two_families_publish_answers_both_until_each_leaves() {
        let web = "web.marathon.mesos.";
        let gone = |id: &str| Change::TaskRemoved {
            app_id: AppId::parse("/web").unwrap(),
            task_id: id.into(),
        };
        // Either family may come first.
        for framework_first in [true, false] {
            let mut index = ZoneIndex::new(naming());
            let first = Change::Task(task("/web", "web.1", "10.0.0.5"));
            if framework_first {
                index.apply_mesos(1, vec![scheduler("fw-web")]);
                assert_eq!(a_records(&index, web), ["10.9.9.9"]);
                index.apply(2, vec![first]);
            } else {
                index.apply(1, vec![first]);
                assert_eq!(a_records(&index, web), ["10.0.0.5"]);
                index.apply_mesos(2, vec![scheduler("fw-web")]);
            }
            assert_eq!(a_records(&index, web), ["10.0.0.5", "10.9.9.9"]);
            // A rebuild of one family keeps the other's share.
            index.apply(3, vec![Change::Task(task("/web", "web.2", "10.0.0.6"))]);
            assert_eq!(a_records(&index, web), ["10.0.0.5", "10.0.0.6", "10.9.9.9"]);
            index.apply_mesos(4, vec![scheduler("fw-web")]);
            assert_eq!(a_records(&index, web), ["10.0.0.5", "10.0.0.6", "10.9.9.9"]);
            index.apply(5, vec![gone("web.1"), gone("web.2")]);
            assert_eq!(a_records(&index, web), ["10.9.9.9"]);
            // The one left owns the name alone again: its own change replaces its answer.
            index.apply(6, vec![Change::Task(task("/web", "web.3", "10.0.0.7"))]);
            assert_eq!(a_records(&index, web), ["10.0.0.7", "10.9.9.9"]);
            let removed = MesosChange::FrameworkRemoved {
                framework_id: "fw-web".into(),
            };
            index.apply_mesos(7, vec![removed]);
            assert_eq!(a_records(&index, web), ["10.0.0.7"]);
            index.apply(8, vec![gone("web.3")]);
            assert!(!index.snapshot().exists(&lower(web)));
        }
    }

    #[test]
    fn a_framework_task_gets_every_mesos_dns_name() {
        let mut index = ZoneIndex::new(naming());
        let h = crate::names::task_hash("hello.1");
        // The task first: no agent known, so no `.slave.` names yet.
        index.apply_mesos(1, vec![MesosChange::Task(hello("hello.1", "x-S4"))]);
        assert_eq!(a_records(&index, "hello.helloworld.mesos."), ["9.0.0.2"]);
        assert!(a_records(&index, "hello.helloworld.slave.mesos.").is_empty());
        let canonical = format!("hello-{h}-s4.helloworld.mesos.");
        assert_eq!(a_records(&index, &canonical), ["9.0.0.2"]);
        assert_eq!(
            srv_records(&index, "_hello._tcp.helloworld.mesos."),
            [format!("{canonical}:53"), format!("{canonical}:8080")]
        );
        assert_eq!(
            srv_records(&index, "_http._hello._tcp.helloworld.mesos."),
            [format!("{canonical}:8080")]
        );
        assert_eq!(
            srv_records(&index, "_hello._udp.helloworld.mesos."),
            [format!("{canonical}:53")]
        );
        // The agent arrives: its address fills the `.slave.` names.
        index.apply_mesos(
            2,
            vec![MesosChange::Agent(agent("x-S4", "a4", "10.0.0.4", 5051))],
        );
        assert_eq!(
            a_records(&index, "hello.helloworld.slave.mesos."),
            ["10.0.0.4"]
        );
        let slave = format!("hello-{h}-s4.helloworld.slave.mesos.");
        assert_eq!(a_records(&index, &slave), ["10.0.0.4"]);
        assert_eq!(
            srv_records(&index, "_hello._udp.helloworld.slave.mesos."),
            [format!("{slave}:31000")]
        );
        assert_eq!(a_records(&index, "slave.mesos."), ["10.0.0.4"]);
        // Known unhealthy: no names; the agent's stay.
        let mut sick = hello("hello.1", "x-S4");
        sick.health = Health::Unhealthy;
        index.apply_mesos(3, vec![MesosChange::Task(sick)]);
        assert!(!index.snapshot().exists(&lower("hello.helloworld.mesos.")));
        assert_eq!(a_records(&index, "slave.mesos."), ["10.0.0.4"]);
        index.apply_mesos(4, vec![MesosChange::Task(hello("hello.1", "x-S4"))]);
        index.apply_mesos(
            5,
            vec![MesosChange::TaskRemoved {
                framework_id: FW.into(),
                task_id: "hello.1".into(),
            }],
        );
        assert!(!index.snapshot().exists(&lower("hello.helloworld.mesos.")));
        assert_eq!(index.tasks(), 0);
    }

    #[test]
    fn host_ports_without_discovery_info_are_under_the_plain_names_too() {
        let mut index = ZoneIndex::new(naming());
        let record = mesos_task(FW, "chronos", "job.1", "job")
            .agent("x-S1")
            .host_ports(&[31364, 31365])
            .build();
        index.apply_mesos(
            1,
            vec![
                MesosChange::Agent(agent("x-S1", "a1", "1.2.3.11", 5051)),
                MesosChange::Task(record),
            ],
        );
        let h = crate::names::task_hash("job.1");
        let target = format!("job-{h}-s1.chronos.slave.mesos.");
        let want = [format!("{target}:31364"), format!("{target}:31365")];
        for name in [
            "_job._tcp.chronos.mesos.",
            "_job._udp.chronos.mesos.",
            "_job._tcp.chronos.slave.mesos.",
        ] {
            assert_eq!(srv_records(&index, name), want, "{name}");
        }
        // No task IP: the agent's address (`--ip-sources` netinfo,host).
        assert_eq!(a_records(&index, "job.chronos.mesos."), ["1.2.3.11"]);
    }

    #[test]
    fn pods_and_marathon_apps_of_one_name_answer_together() {
        let mut index = ZoneIndex::new(naming());
        let container = |id: &str, name: &str| {
            mesos_task(FW, "marathon", id, name)
                .discovery("app.grp")
                .executor("instance-app.1")
                .agent("x-S1")
                .task_ips(&["9.0.0.2"])
                .build()
        };
        let app = registry::harness::records::task("/grp/app", "grp_app.1", "10.0.0.5")
            .agent_id("x-S1")
            .build();
        index.apply(1, vec![Change::Task(app)]);
        let stats = index.apply_mesos(
            2,
            vec![
                MesosChange::Task(container("app.instance-1.foo", "foo")),
                MesosChange::Task(container("app.instance-1.bar", "bar")),
            ],
        );
        assert!(
            stats.new_collisions.is_empty(),
            "one raw name: no collision"
        );
        let mut both = a_records(&index, "app-grp.marathon.mesos.");
        both.sort();
        assert_eq!(both, ["10.0.0.5", "9.0.0.2"]);
        let h = crate::names::task_hash("app.instance-1.foo");
        assert_eq!(
            a_records(&index, &format!("app-grp-{h}-s1.marathon.mesos.")),
            ["9.0.0.2"]
        );
        // The Mesos side leaves: the Marathon task stays.
        index.load_mesos(registry::MesosSnapshot::default());
        assert_eq!(a_records(&index, "app-grp.marathon.mesos."), ["10.0.0.5"]);
        assert_eq!(index.tasks(), 1);
    }

    #[test]
    fn a_marathon_task_without_agent_ips_borrows_its_agents() {
        let mut index = ZoneIndex::new(naming());
        let mut record = task("/web", "web.1", "agent7.example");
        record.agent_ips.clear();
        index.apply(1, vec![Change::Task(record)]);
        assert!(!index.snapshot().exists(&lower("web.marathon.mesos.")));
        index.apply_mesos(
            2,
            vec![MesosChange::Agent(agent(
                "x-S7",
                "agent7.example",
                "10.0.0.7",
                5051,
            ))],
        );
        assert_eq!(a_records(&index, "web.marathon.mesos."), ["10.0.0.7"]);
        assert_eq!(a_records(&index, "web.marathon.slave.mesos."), ["10.0.0.7"]);
        index.apply_mesos(
            3,
            vec![MesosChange::AgentRemoved {
                agent_id: "x-S7".into(),
            }],
        );
        assert!(!index.snapshot().exists(&lower("web.marathon.mesos.")));
    }

    #[test]
    fn a_task_without_its_framework_name_waits_for_the_framework_record() {
        let mut index = ZoneIndex::new(naming());
        let record = mesos_task(FW, "", "t.1", "svc")
            .framework_name(None)
            .task_ips(&["9.0.0.3"])
            .build();
        index.apply_mesos(1, vec![MesosChange::Task(record)]);
        assert!(index.snapshot().names.is_empty());
        let named = framework(FW, "kafka", Some("10.0.0.9"), None);
        index.apply_mesos(2, vec![MesosChange::Framework(named)]);
        assert_eq!(a_records(&index, "svc.kafka.mesos."), ["9.0.0.3"]);
        assert_eq!(
            a_records(&index, "kafka.mesos."),
            ["10.0.0.9"],
            "host name is an IP"
        );
        let renamed = framework(FW, "kafka-2", None, Some(("10.0.0.8", 8080)));
        index.apply_mesos(3, vec![MesosChange::Framework(renamed)]);
        assert!(!index.snapshot().exists(&lower("svc.kafka.mesos.")));
        assert_eq!(a_records(&index, "svc.kafka-2.mesos."), ["9.0.0.3"]);
        assert_eq!(
            srv_records(&index, "_framework._tcp.kafka-2.mesos."),
            ["kafka-2.mesos.:8080"]
        );
    }
}
