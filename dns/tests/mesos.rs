//! The Mesos source's names end to end: records written to a real etcd with
//! `Registry::apply_mesos` (as the subscriber writes them), the real binary, and dig, kdig,
//! curl and glibc asking.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{Herald, etcd_with, glibc};
use herald_dns::names::task_hash;
use herald_dns::test_support::mesos::{agent, framework, leader, master, port, task};
use registry::harness::{WAIT, eventually, records};
use registry::{Health, MesosWrite, MesosWriteOp, Protocol, Registry};

/// Writes Mesos records.
async fn put_mesos(registry: &Registry, writes: Vec<MesosWrite>) {
    let ops = writes.into_iter().map(MesosWriteOp::newer).collect();
    registry.apply_mesos(ops).await.unwrap();
}

/// The cluster of Mesos-DNS's `TestInsertState` fixture (`factories/fake.json`), as the
/// project's Mesos-DNS notes (§5 "Fixture", §5.1) summarise it: leader
/// `master@144.76.157.37:5050`, masters `[144.76.157.37:5050]`; agents `…-2` 1.2.3.10,
/// `…-2410-0` 1.2.3.11, `…-2116-1` 1.2.3.12, `…-2116-3` [2001:db8::1], all port 5051;
/// frameworks `marathon` (`scheduler(1)@1.2.3.11:25501`), `ipv6-framework`
/// (`@[2001:db8::1]:25501`), `chronos with a space AND MIXED CASE-2.0.1`
/// (`@1.2.3.12:25501`) and `no pid`; the task `toy-store` of `ipv6-framework` (netinfo
/// fd01:b::1:8000:2 on agent `…-2116-3`).
fn fake_json_cluster() -> Vec<MesosWrite> {
    let id = "20140803-194229-1681915402-5050";
    let agents = [("2", "1.2.3.10"), ("2410-0", "1.2.3.11")];
    let agents = agents
        .into_iter()
        .chain([("2116-1", "1.2.3.12"), ("2116-3", "2001:db8::1")]);
    let mut writes: Vec<MesosWrite> = agents
        .map(|(tail, ip)| {
            let agent_id = format!("{id}-{tail}");
            MesosWrite::PutAgent(agent(&agent_id, ip, ip, 5051))
        })
        .collect();
    writes.push(MesosWrite::PutMaster(master(
        "m1",
        "144.76.157.37",
        5050,
        Some(0),
    )));
    writes.push(MesosWrite::PutLeader(leader("m1", "144.76.157.37", 5050)));
    let chronos = "chronos with a space AND MIXED CASE-2.0.1";
    let frameworks = [
        ("fw-marathon", "marathon", Some(("1.2.3.11", 25501))),
        ("fw-ipv6", "ipv6-framework", Some(("2001:db8::1", 25501))),
        ("fw-chronos", chronos, Some(("1.2.3.12", 25501))),
        ("fw-nopid", "no pid", None),
    ];
    for (fw, name, pid) in frameworks {
        writes.push(MesosWrite::PutFramework(framework(fw, name, None, pid)));
    }
    let toy = task("fw-ipv6", "ipv6-framework", "toy-store.1", "toy-store")
        .agent(&format!("{id}-2116-3"))
        .task_ips(&["fd01:b::1:8000:2"])
        .build();
    writes.push(MesosWrite::PutTask(toy));
    writes
}

#[tokio::test]
async fn infrastructure_names_answer_mesos_dns_vectors() {
    let (etcd, registry) = etcd_with(vec![]).await;
    put_mesos(&registry, fake_json_cluster()).await;
    let herald = Herald::start(&etcd, &[]).await;
    let ask = |name: &str, qtype: &str| herald.answers(&[name, qtype]);
    eventually("the cluster is served", WAIT, async || {
        !ask("leader.mesos", "A").is_empty()
    })
    .await;
    for name in ["leader.mesos", "master.mesos", "master0.mesos"] {
        assert_eq!(ask(name, "A"), ["144.76.157.37"], "{name}");
    }
    assert_eq!(
        ask("slave.mesos", "A"),
        ["1.2.3.10", "1.2.3.11", "1.2.3.12"]
    );
    assert_eq!(ask("slave.mesos", "AAAA"), ["2001:db8::1"]);
    assert_eq!(ask("_leader._tcp.mesos", "SRV"), ["0 1 5050 leader.mesos."]);
    assert_eq!(ask("_leader._udp.mesos", "SRV"), ["0 1 5050 leader.mesos."]);
    assert_eq!(ask("_slave._tcp.mesos", "SRV"), ["0 1 5051 slave.mesos."]);
    assert_eq!(
        ask("_framework._tcp.marathon.mesos", "SRV"),
        ["0 1 25501 marathon.mesos."]
    );
    assert_eq!(ask("marathon.mesos", "A"), ["1.2.3.11"]);
    assert_eq!(ask("ipv6-framework.mesos", "AAAA"), ["2001:db8::1"]);
    // RFC 1123 labels (the vector's `chronoswithaspaceandmixe` is RFC 952's 24 octets).
    assert_eq!(
        ask("chronoswithaspaceandmixedcase-2.0.1.mesos", "A"),
        ["1.2.3.12"]
    );
    // The SOA MNAME answers the listener's address, as Mesos-DNS's SOAMname does.
    assert_eq!(ask("ns1.mesos", "A"), [herald.dns.ip().to_string()]);
    let nopid = herald.dig(&["nopid.mesos", "A"]);
    assert!(nopid.contains("status: NXDOMAIN"), "no address: {nopid}");
    assert_eq!(
        ask("toy-store.ipv6-framework.mesos", "AAAA"),
        ["fd01:b::1:8000:2"]
    );
    assert_eq!(
        ask("toy-store.ipv6-framework.slave.mesos", "AAAA"),
        ["2001:db8::1"]
    );
    // The additional section carries the SRV target's address; kdig agrees.
    let srv = herald.dig(&[
        "+noall",
        "+answer",
        "+additional",
        "_leader._tcp.mesos",
        "SRV",
    ]);
    let glue = srv
        .lines()
        .find(|l| l.starts_with("leader.mesos.") && l.contains("\tA\t"));
    assert!(glue.is_some_and(|l| l.ends_with("144.76.157.37")), "{srv}");
    let kdig = herald.kdig(&["+short", "master0.mesos", "A"]);
    assert_eq!(kdig.trim(), "144.76.157.37");
    // Negative answers as for every name in the zone.
    let nx = herald.dig(&["master1.mesos", "A"]);
    assert!(
        nx.contains("status: NXDOMAIN") && nx.contains("IN\tSOA"),
        "{nx}"
    );
}

#[tokio::test]
async fn a_leader_change_moves_leader_at_once() {
    let (etcd, registry) = etcd_with(vec![]).await;
    put_mesos(
        &registry,
        vec![
            MesosWrite::PutMaster(master("m1", "127.0.5.1", 5050, Some(0))),
            MesosWrite::PutMaster(master("m2", "127.0.5.2", 5050, Some(1))),
            MesosWrite::PutLeader(leader("m1", "127.0.5.1", 5050)),
        ],
    )
    .await;
    let herald = Herald::start(&etcd, &[]).await;
    eventually("the first leader", WAIT, async || {
        herald.answers(&["leader.mesos", "A"]) == ["127.0.5.1"]
    })
    .await;
    assert_eq!(
        herald.answers(&["master.mesos", "A"]),
        ["127.0.5.1", "127.0.5.2"]
    );
    put_mesos(
        &registry,
        vec![MesosWrite::PutLeader(leader("m2", "127.0.5.2", 5051))],
    )
    .await;
    eventually("the new leader", WAIT, async || {
        herald.answers(&["leader.mesos", "A"]) == ["127.0.5.2"]
    })
    .await;
    assert_eq!(
        herald.answers(&["_leader._tcp.mesos", "SRV"]),
        ["0 1 5051 leader.mesos."]
    );
    let services: serde_json::Value =
        serde_json::from_str(&herald.get("/v1/services/_leader._tcp.mesos.")).unwrap();
    assert_eq!(
        services,
        serde_json::json!([{"service": "_leader._tcp.mesos.", "host": "leader.mesos.",
            "ip": "127.0.5.2", "port": "5051"}])
    );
}

#[tokio::test]
async fn framework_tasks_answer_every_name_kind() {
    let hello = |id: &str, ip: &str, health: Health| {
        task("fw-1", "Hello World", id, "hello")
            .discovery("hello")
            .agent("a-S4")
            .task_ips(&[ip])
            .ports(vec![
                port(8080, "http", &[Protocol::Tcp], Some("container")),
                port(5353, "dns", &[Protocol::Udp], Some("container")),
            ])
            .host_ports(&[31000])
            .health(health)
            .build()
    };
    let pod = |id: &str, name: &str| {
        task("fw-m", "marathon", id, name)
            .discovery("app.grp")
            .executor("instance-app.1")
            .agent("a-S4")
            .task_ips(&["127.0.6.9"])
            .build()
    };
    let app = records::task("/grp/app", "grp_app.1", "127.0.6.5")
        .agent_id("a-S4")
        .build();
    let (etcd, registry) = etcd_with(vec![app]).await;
    put_mesos(
        &registry,
        vec![
            MesosWrite::PutAgent(agent("a-S4", "agent4", "127.0.6.4", 5051)),
            MesosWrite::PutTask(hello("hello.1", "127.0.6.1", Health::Healthy)),
            MesosWrite::PutTask(hello("hello.2", "127.0.6.2", Health::Unhealthy)),
            MesosWrite::PutTask(pod("app.instance-1.foo", "foo")),
            MesosWrite::PutTask(pod("app.instance-1.bar", "bar")),
        ],
    )
    .await;
    let herald = Herald::start(&etcd, &[]).await;
    let ask = |name: &str, qtype: &str| herald.answers(&[name, qtype]);
    let h = task_hash("hello.1");
    let canonical = format!("hello-{h}-s4.helloworld.mesos.");
    let slave = format!("hello-{h}-s4.helloworld.slave.mesos.");

    // Health-aware: the unhealthy task is left out.
    assert_eq!(ask("hello.helloworld.mesos", "A"), ["127.0.6.1"]);
    assert_eq!(ask("hello.helloworld.slave.mesos", "A"), ["127.0.6.4"]);
    assert_eq!(ask(&canonical, "A"), ["127.0.6.1"]);
    assert_eq!(ask(&slave, "A"), ["127.0.6.4"]);
    assert_eq!(
        ask("_hello._tcp.helloworld.mesos", "SRV"),
        [format!("0 1 8080 {canonical}")]
    );
    assert_eq!(
        ask("_hello._udp.helloworld.mesos", "SRV"),
        [format!("0 1 5353 {canonical}")]
    );
    assert_eq!(
        ask("_http._hello._tcp.helloworld.mesos", "SRV"),
        [format!("0 1 8080 {canonical}")]
    );
    assert_eq!(
        ask("_dns._hello._udp.helloworld.mesos", "SRV"),
        [format!("0 1 5353 {canonical}")]
    );
    assert_eq!(
        ask("_hello._tcp.helloworld.slave.mesos", "SRV"),
        [format!("0 1 31000 {slave}")]
    );
    assert_eq!(ask("-x", "127.0.6.1"), [canonical.as_str()]);
    let kdig = herald.kdig(&["+short", "+tcp", "hello.helloworld.mesos", "A"]);
    assert_eq!(kdig.trim(), "127.0.6.1");

    // The pod's containers and the Marathon app `/grp/app` answer together.
    assert_eq!(
        ask("app-grp.marathon.mesos", "A"),
        ["127.0.6.5", "127.0.6.9"]
    );
    let foo = format!(
        "app-grp-{}-s4.marathon.mesos",
        task_hash("app.instance-1.foo")
    );
    assert_eq!(ask(&foo, "A"), ["127.0.6.9"]);

    // Mesos-DNS's behaviour, when asked for: the unhealthy task too.
    let blind = Herald::start(&etcd, &["--serve-unhealthy"]).await;
    assert_eq!(
        blind.answers(&["hello.helloworld.mesos", "A"]),
        ["127.0.6.1", "127.0.6.2"]
    );

    // A removal is answered at once.
    put_mesos(
        &registry,
        vec![MesosWrite::RemoveTask {
            framework_id: "fw-1".into(),
            task_id: "hello.1".into(),
            reason: "TASK_KILLED".into(),
            at: registry::Stamp::now(),
        }],
    )
    .await;
    eventually("the task is gone", WAIT, async || {
        herald
            .dig(&["hello.helloworld.mesos", "A"])
            .contains("status: NXDOMAIN")
    })
    .await;
}

#[tokio::test]
async fn marathon_tasks_without_agent_ips_borrow_their_agents() {
    let mut record = records::task("/web", "web.1", "agent7.example")
        .agent_id("a-S7")
        .build();
    record.agent_ips.clear();
    let (etcd, registry) = etcd_with(vec![record]).await;
    let herald = Herald::start(&etcd, &[]).await;
    let nx = herald.dig(&["web.marathon.mesos", "A"]);
    assert!(nx.contains("status: NXDOMAIN"), "no address yet: {nx}");
    put_mesos(
        &registry,
        vec![MesosWrite::PutAgent(agent(
            "a-S7",
            "agent7.example",
            "127.0.7.7",
            5051,
        ))],
    )
    .await;
    eventually("the agent's address", WAIT, async || {
        herald.answers(&["web.marathon.mesos", "A"]) == ["127.0.7.7"]
    })
    .await;
    assert_eq!(
        herald.answers(&["web.marathon.slave.mesos", "A"]),
        ["127.0.7.7"]
    );
}

#[tokio::test]
async fn long_legacy_names_keep_their_labels_as_mesos_dns_does() {
    let app = "/team-platform-infrastructure/observability/prometheus-long-term-storage-compactor";
    let id = "team-platform-infrastructure_observability_prometheus-long-term-storage-compactor.1";
    let web = common::task(app, id, "127.0.8.1", &[("http", 31000)]);
    let (etcd, _) = etcd_with(vec![web]).await;
    let herald = Herald::start(&etcd, &["--legacy-names"]).await;
    let legacy =
        "prometheus-long-term-storage-compactor.observability.team-platform-infrastructure";
    let canonical = format!("{legacy}-{}-s3.marathon.mesos.", task_hash(id));
    assert_eq!(herald.answers(&[&canonical, "A"]), ["127.0.8.1"]);
    let srv = format!("_{legacy}._tcp.marathon.mesos");
    assert_eq!(
        herald.answers(&[&srv, "SRV"]),
        [format!("0 1 31000 {canonical}")]
    );
}

#[tokio::test]
async fn axfr_dumps_marathon_and_mesos_names() {
    let web = common::task("/web", "web.t1", "127.0.9.1", &[("http", 31500)]);
    let (etcd, registry) = etcd_with(vec![web]).await;
    put_mesos(&registry, fake_json_cluster()).await;
    let herald = Herald::start_on(
        "127.0.0.1",
        &etcd,
        &[],
        &[("HERALD_ETCD_PASSWORD", "s3cret-pw")],
    )
    .await;
    let (code, body) = herald.get_status("/v1/axfr");
    assert_eq!(code, 200);
    assert!(!body.contains("s3cret-pw"), "{body}");
    let axfr: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(axfr["Domain"], "mesos");
    assert_eq!(axfr["Mname"], "ns1.mesos.");
    assert_eq!(axfr["Rname"], "root.ns1.mesos.");
    assert_eq!(axfr["TTL"], 60);
    assert!(axfr["Serial"].as_u64().unwrap() > 0);
    let records = &axfr["Records"];
    let set = |kind: &str, name: &str| -> Vec<String> {
        let values = records[kind][name].as_array().cloned().unwrap_or_default();
        values
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(set("As", "leader.mesos."), ["144.76.157.37"]);
    assert_eq!(set("As", "web.marathon.mesos."), ["127.0.9.1"]);
    assert_eq!(set("AAAAs", "slave.mesos."), ["2001:db8::1"]);
    let canonical = format!("web-{}-s3.marathon.mesos.", task_hash("web.t1"));
    assert_eq!(set("As", &canonical), ["127.0.9.1"], "canonical names too");
    assert_eq!(
        set("SRVs", "_web._tcp.marathon.mesos."),
        [format!("{canonical}:31500")]
    );
    assert_eq!(set("SRVs", "_leader._tcp.mesos."), ["leader.mesos.:5050"]);
    assert_eq!(
        set("AAAAs", "toy-store.ipv6-framework.mesos."),
        ["fd01:b::1:8000:2"]
    );
    // Every name dig answers is in the dump, and the other way round for a sample.
    for (kind, qtype) in [("As", "A"), ("AAAAs", "AAAA"), ("SRVs", "SRV")] {
        for (name, values) in records[kind].as_object().unwrap() {
            let mut want: Vec<String> = values
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            want.sort();
            let mut got = herald.answers(&[name, qtype]);
            if qtype == "SRV" {
                // `0 1 <port> <target>` -> `<target>:<port>`
                got = got
                    .iter()
                    .map(|r| {
                        let parts: Vec<&str> = r.split_whitespace().collect();
                        format!("{}:{}", parts[3], parts[2])
                    })
                    .collect();
                got.sort();
            }
            assert_eq!(got, want, "{qtype} {name}");
        }
    }
    let hosts: serde_json::Value =
        serde_json::from_str(&herald.get("/v1/hosts/toy-store.ipv6-framework.mesos")).unwrap();
    assert_eq!(
        hosts,
        serde_json::json!([{"host": "toy-store.ipv6-framework.mesos.", "ip": "fd01:b::1:8000:2"}])
    );
    let enumerate: serde_json::Value = serde_json::from_str(&herald.get("/v1/enumerate")).unwrap();
    let frameworks: Vec<&str> = enumerate["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(frameworks, ["ipv6-framework", "marathon"]);
}

/// glibc through herald-dns (see `common::glibc`): the leader and an IPv6 task.
#[tokio::test]
async fn glibc_resolves_mesos_names_through_herald() {
    if !glibc::available() {
        registry::harness::skip(
            "dns::mesos::glibc_resolves_mesos_names_through_herald",
            "needs root and `unshare -m` (port 53 and a private /etc/resolv.conf)",
        );
        return;
    }
    let (etcd, registry) = etcd_with(vec![]).await;
    put_mesos(&registry, fake_json_cluster()).await;
    let herald = glibc::herald_on_port_53(&etcd, 54).await;
    let queries = [
        ("hosts", "leader.mesos"),
        ("ahostsv6", "toy-store.ipv6-framework.mesos"),
    ];
    let (stdout, stderr) = glibc::getent(&herald, &queries);
    assert!(
        stdout.contains("144.76.157.37") && stdout.contains("leader.mesos"),
        "getent: {stdout} {stderr}"
    );
    assert!(
        stdout.contains("fd01:b::1:8000:2"),
        "getent: {stdout} {stderr}"
    );
}
