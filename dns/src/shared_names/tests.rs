//! The names answered at query time hold exactly what [`Naming::family_values`] says a
//! family's tasks put there, in zones with every kind of name and every way two families
//! meet at one name.

use std::collections::HashMap;

use hickory_proto::rr::{LowerName, Name};
use registry::harness::records;
use registry::{AppId, Change, MesosChange, Protocol, TaskPort, TaskRecord};

use crate::index::ZoneIndex;
use crate::served::{Naming, Value};
use crate::snapshot::{NameRecords, ZoneSnapshot};
use crate::stored_name::{self, NameBytes, StoredName};
use crate::test_support::mesos::{agent, framework, port, task as mesos_task};
use crate::test_support::naming;

fn lower(text: &str) -> LowerName {
    LowerName::new(&Name::from_ascii(text).unwrap())
}

/// A Marathon task of `app` on agent `x-S<agent>` at `ip` with `ports`.
fn task(app: &str, id: &str, ip: &str, agent: u8, ports: Vec<TaskPort>) -> TaskRecord {
    records::task(app, id, ip)
        .agent_id(&format!("x-S{agent}"))
        .ports(ports)
        .build()
}

fn tcp_udp(name: &str, container: Option<u16>, host: Option<u16>) -> TaskPort {
    TaskPort {
        protocols: vec![Protocol::Tcp, Protocol::Udp],
        ..records::port(name, container, host)
    }
}

fn udp(name: &str, host: u16) -> TaskPort {
    TaskPort {
        protocols: vec![Protocol::Udp],
        ..records::port(name, None, Some(host))
    }
}

/// Apps and framework tasks with every kind of shared name, and families that meet at one
/// name: `/prod/web`'s legacy `web.prod.marathon` and framework `prod.marathon`'s `web`,
/// a 62- and a 63-octet label with one SRV label, Marathon's `/web` and framework
/// `marathon.slave`'s `web` (`web.marathon.slave`), and a framework `web.marathon` (an
/// infrastructure name) beside `/web`.
fn zone() -> ZoneIndex {
    let mut index = ZoneIndex::new(Naming {
        legacy_names: true,
        ..naming()
    });
    let long = "a".repeat(63);
    let shorter = "a".repeat(62);
    let tasks = vec![
        task(
            "/web",
            "web.1",
            "10.0.0.1",
            1,
            vec![tcp_udp("http", None, Some(31000))],
        ),
        task(
            "/web",
            "web.2",
            "10.0.0.2",
            2,
            vec![tcp_udp("http", None, Some(31001)), udp("dns", 31053)],
        ),
        task(
            "/prod/web",
            "prod.1",
            "10.0.1.1",
            1,
            vec![records::port("admin", Some(9000), Some(31002))],
        ),
        task(
            &format!("/{long}"),
            "long.1",
            "10.0.2.1",
            1,
            vec![records::port("x", None, Some(31003))],
        ),
        task(
            &format!("/{shorter}"),
            "short.1",
            "10.0.2.2",
            1,
            vec![records::port("x", None, Some(31004))],
        ),
        task("/noports", "np.1", "10.0.3.1", 1, vec![]),
    ];
    index.load(1, tasks, vec![]);
    let mut container = task(
        "/ctr",
        "ctr.1",
        "10.0.4.1",
        1,
        vec![records::port("web", Some(80), None)],
    );
    container.task_ips = vec!["172.30.0.9".parse().unwrap()];
    index.apply(2, vec![Change::Task(container)]);
    let framework_task = |fw: &str, fw_name: &str, id: &str, name: &str| {
        mesos_task(fw, fw_name, id, name)
            .agent("agent-S1")
            .task_ips(&["9.0.0.2"])
            .ports(vec![
                port(8080, "http", &[Protocol::Tcp], Some("container")),
                port(53, "", &[Protocol::Udp, Protocol::Tcp], None),
            ])
            .host_ports(&[31010])
            .build()
    };
    let plain_task = mesos_task("fw-3", "bare", "bare.1", "bare")
        .agent("agent-S1")
        .host_ports(&[31020, 31021])
        .build();
    index.apply_mesos(3, infrastructure());
    index.apply_mesos(
        4,
        vec![
            MesosChange::Task(framework_task("fw-1", "prod.marathon", "p.1", "web")),
            MesosChange::Task(framework_task("fw-2", "marathon.slave", "s.1", "web")),
            MesosChange::Task(plain_task),
        ],
    );
    index
}

/// An agent and four frameworks (`web.marathon` with its scheduler's address).
fn infrastructure() -> Vec<MesosChange> {
    vec![
        MesosChange::Agent(agent("agent-S1", "a1", "10.1.0.1", 5051)),
        MesosChange::Framework(framework("fw-1", "prod.marathon", None, None)),
        MesosChange::Framework(framework("fw-2", "marathon.slave", None, None)),
        MesosChange::Framework(framework("fw-3", "bare", None, None)),
        MesosChange::Framework(framework(
            "fw-4",
            "web.marathon",
            None,
            Some(("10.9.9.9", 8080)),
        )),
    ]
}

/// Every name the snapshot's served tasks share, with the answers [`Naming::family_values`]
/// gives it (the union of every family's values there) and the stored ones there.
fn expected(snapshot: &ZoneSnapshot) -> HashMap<LowerName, NameRecords> {
    let naming = &snapshot.zone.naming;
    let mut values: HashMap<LowerName, Vec<Value>> = HashMap::new();
    for entry in snapshot.entries() {
        for (name, value) in naming.family_values(entry) {
            values.entry(name).or_default().push(value);
        }
    }
    values
        .into_iter()
        .map(|(name, mut values)| {
            if let Some(stored) = snapshot.stored(&name) {
                values.extend(stored.values());
            }
            (name, NameRecords::from_values(values.iter()))
        })
        .collect()
}

fn check(snapshot: &ZoneSnapshot) -> usize {
    let expected = expected(snapshot);
    let apex = NameBytes::new(&lower("mesos."));
    for (name, records) in &expected {
        let found = snapshot.lookup(name).expect("a shared name answers");
        assert!(found.same_as(records), "{name}: {found:?} != {records:?}");
        // Every name between it and the apex exists.
        let octets = NameBytes::new(name);
        let mut up = stored_name::parent(octets.as_bytes());
        while let Some(ancestor) = up.filter(|a| a.len() > apex.as_bytes().len()) {
            let above = StoredName::from_bytes(ancestor).to_name().unwrap();
            assert!(
                snapshot.exists(&LowerName::new(&above)),
                "{above} above {name}"
            );
            up = stored_name::parent(ancestor);
        }
    }
    expected.len()
}

#[test]
fn shared_names_answer_what_their_families_put_there() {
    let index = zone();
    let snapshot = index.snapshot();
    let names = check(&snapshot);
    assert!(names > 30, "{names} names");
    // The meeting points hold both families' values.
    let both = |name: &str| {
        snapshot
            .lookup(&lower(name))
            .map(|r| r.a.len() + r.srv.len())
    };
    assert_eq!(both("web.prod.marathon.mesos."), Some(2));
    assert_eq!(both("web.marathon.slave.mesos."), Some(3));
    assert_eq!(both("web.marathon.mesos."), Some(3));
    assert_eq!(
        both(&format!("_{}._tcp.marathon.mesos.", "a".repeat(62))),
        Some(2)
    );
    // Near misses are not names.
    for name in [
        "_admin._web-prod._udp.marathon.mesos.",
        "_admin._web-prod._tcp.marathon.slave.mesos.",
        "_dns._web._tcp.marathon.mesos.",
        "_web._tcp.mesos.",
        "_web.marathon.mesos.",
        "web._tcp.marathon.mesos.",
        "_noports._tcp.marathon.mesos.",
        "_web._sctp.marathon.mesos.",
        "web.slave.mesos.",
        // One label with a dot in it is not two labels.
        "web\\.marathon.slave.mesos.",
        "web.marathon\\.slave.mesos.",
    ] {
        assert!(snapshot.lookup(&lower(name)).is_none(), "{name}");
    }
    assert!(snapshot.exists(&lower("_tcp.marathon.mesos.")));
    assert!(!snapshot.exists(&lower("_http._tcp.marathon.mesos.")));
}

#[test]
fn shared_names_and_their_ancestors_go_with_their_tasks() {
    let mut index = zone();
    // A task moves, a port goes, a family leaves: what is left still answers exactly.
    let moved = task("/web", "web.2", "10.0.0.9", 3, vec![udp("dns", 31053)]);
    index.apply(5, vec![Change::Task(moved)]);
    check(&index.snapshot());
    let gone = |app: &str, id: &str| Change::TaskRemoved {
        app_id: AppId::parse(app).unwrap(),
        task_id: id.into(),
    };
    index.apply(6, vec![gone("/web", "web.1")]);
    check(&index.snapshot());
    assert!(
        index
            .snapshot()
            .lookup(&lower("_http._web._tcp.marathon.mesos."))
            .is_none()
    );

    let marathon: Vec<Change> = [
        ("/web", "web.2"),
        ("/prod/web", "prod.1"),
        (&*format!("/{}", "a".repeat(63)), "long.1"),
        (&*format!("/{}", "a".repeat(62)), "short.1"),
        ("/noports", "np.1"),
        ("/ctr", "ctr.1"),
    ]
    .into_iter()
    .map(|(app, id)| gone(app, id))
    .collect();
    index.apply(7, marathon);
    let mesos = [("fw-1", "p.1"), ("fw-2", "s.1"), ("fw-3", "bare.1")]
        .into_iter()
        .map(|(framework_id, task_id)| MesosChange::TaskRemoved {
            framework_id: framework_id.into(),
            task_id: task_id.into(),
        })
        .collect();
    index.apply_mesos(8, mesos);
    let snapshot = index.snapshot();
    assert_eq!(snapshot.entries().count(), 0);
    assert!(snapshot.families.is_empty());
    assert_eq!(snapshot.shared_names, 0);
    // Only the infrastructure names' ancestors are left.
    let mut alone = ZoneIndex::new(naming());
    alone.apply_mesos(1, infrastructure());
    assert_eq!(ancestors(&snapshot), ancestors(&alone.snapshot()));
    assert!(!ancestors(&snapshot).is_empty());
}

fn ancestors(snapshot: &ZoneSnapshot) -> Vec<(String, u32)> {
    let mut out: Vec<(String, u32)> = snapshot
        .empty_non_terminals
        .iter()
        .map(|(name, count)| (name.to_name().unwrap().to_string(), *count))
        .collect();
    out.sort();
    out
}
