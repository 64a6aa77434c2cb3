//! herald-dns end to end: real etcd, the real binary, dig.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{Herald, answers, etcd_with, put, task};
use registry::harness::{EtcdServer, WAIT, eventually};
use registry::{Stamp, Write, WriteOp};

#[tokio::test]
async fn mesos_dns_names_answer_over_udp_and_tcp() {
    let api = task(
        "/prod/web/api",
        "prod_web_api.t1",
        "127.0.0.7",
        &[("http", 31000), ("admin", 31001)],
    );
    let (etcd, registry) = etcd_with(vec![api.clone()]).await;
    let herald = Herald::start(&etcd, &[]).await;
    let h = herald_dns::names::task_hash("prod_web_api.t1");
    let canonical = format!("api-web-prod-{h}-s3");

    let a = herald.answers(&["api-web-prod.marathon.mesos", "A"]);
    assert_eq!(a, vec!["127.0.0.7"]);
    let slave = herald.answers(&["api-web-prod.marathon.slave.mesos", "A"]);
    assert_eq!(slave, vec!["127.0.0.7"]);
    let canon = herald.answers(&[&format!("{canonical}.marathon.mesos"), "A"]);
    assert_eq!(canon, vec!["127.0.0.7"]);

    let srv = herald.dig(&[
        "+noall",
        "+answer",
        "+additional",
        "_api-web-prod._tcp.marathon.mesos",
        "SRV",
    ]);
    let lines = answers(&srv);
    assert!(
        lines.contains(&format!("0 1 31000 {canonical}.marathon.mesos.")),
        "{srv}"
    );
    assert!(
        lines.contains(&format!("0 1 31001 {canonical}.marathon.mesos.")),
        "{srv}"
    );
    assert!(
        lines.contains(&"127.0.0.7".to_string()),
        "additional carries the target: {srv}"
    );
    let named = herald.answers(&["_http._api-web-prod._tcp.marathon.mesos", "SRV"]);
    assert_eq!(
        named,
        vec![format!("0 1 31000 {canonical}.marathon.mesos.")]
    );
    let slave_udp = herald.answers(&["_api-web-prod._udp.marathon.slave.mesos", "SRV"]);
    assert_eq!(slave_udp.len(), 2);

    // Negative answers carry the SOA; NODATA is not NXDOMAIN.
    let nodata = herald.dig(&["api-web-prod.marathon.mesos", "AAAA"]);
    assert!(nodata.contains("status: NOERROR"), "{nodata}");
    assert!(
        nodata.contains("ANSWER: 0") && nodata.contains("AUTHORITY: 1"),
        "{nodata}"
    );
    let nx = herald.dig(&["missing.marathon.mesos", "A"]);
    assert!(
        nx.contains("status: NXDOMAIN") && nx.contains("IN\tSOA"),
        "{nx}"
    );
    let srv_miss = herald.dig(&["_api-web-prod._udp.marathon.mesos", "SRV"]);
    assert!(srv_miss.contains("AUTHORITY: 1"), "{srv_miss}");
    let apex = herald.dig(&["+noall", "+answer", "mesos", "SOA"]);
    assert!(apex.contains("ns1.mesos. root.ns1.mesos."), "{apex}");

    // Case kept, EDNS echoed with at most 1232, flags authoritative, TCP works.
    let mixed = herald.dig(&["+bufsize=4096", "Api-Web-PROD.Marathon.Mesos", "A"]);
    assert!(mixed.contains("Api-Web-PROD.Marathon.Mesos."), "{mixed}");
    assert!(mixed.contains("udp: 1232"), "{mixed}");
    assert!(mixed.contains("flags: qr aa rd"), "{mixed}");
    let tcp = herald.answers(&["+tcp", "api-web-prod.marathon.mesos", "A"]);
    assert_eq!(tcp, vec!["127.0.0.7"]);

    // PTR for the task address.
    let ptr = herald.answers(&["-x", "127.0.0.7"]);
    assert_eq!(ptr, vec![format!("{canonical}.marathon.mesos.")]);

    // kdig agrees.
    let out = std::process::Command::new("kdig")
        .arg(format!("@{}", herald.dns.ip()))
        .args([
            "-p",
            &herald.dns.port().to_string(),
            "+short",
            "api-web-prod.marathon.mesos",
            "A",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "127.0.0.7");

    // A change written to etcd shows up, a removal disappears.
    put(
        &registry,
        vec![task(
            "/prod/web/api",
            "prod_web_api.t2",
            "127.0.0.8",
            &[("http", 31002)],
        )],
    )
    .await;
    eventually("second task served", WAIT, async || {
        herald.answers(&["api-web-prod.marathon.mesos", "A"]).len() == 2
    })
    .await;
    let remove = WriteOp::newer(Write::RemoveTask {
        app_id: api.app_id.clone(),
        task_id: api.task_id.clone(),
        reason: "test".into(),
        at: Stamp::now(),
    });
    registry.apply(vec![remove]).await.unwrap();
    eventually("first task gone", WAIT, async || {
        herald.answers(&["api-web-prod.marathon.mesos", "A"]) == vec!["127.0.0.8"]
    })
    .await;
}

#[tokio::test]
async fn big_answers_truncate_over_udp_and_come_whole_over_tcp() {
    let tasks = (0..80)
        .map(|i| {
            task(
                "/big",
                &format!("big.{i}"),
                &format!("127.0.1.{}", i + 1),
                &[("http", 31000)],
            )
        })
        .collect();
    let (etcd, _) = etcd_with(tasks).await;
    let herald = Herald::start(&etcd, &[]).await;
    eventually("all tasks loaded", WAIT, async || {
        herald.answers(&["+tcp", "big.marathon.mesos", "A"]).len() == 80
    })
    .await;
    let udp = herald.dig(&["+noedns", "+ignore", "big.marathon.mesos", "A"]);
    assert!(udp.contains(" tc"), "TC set over UDP without EDNS: {udp}");
    let tcp = herald.answers(&["+tcp", "_big._tcp.marathon.mesos", "SRV"]);
    assert_eq!(tcp.len(), 80);
}

#[tokio::test]
async fn http_api_matches_mesos_dns_and_hides_secrets() {
    let web = task("/web", "web.t1", "127.0.0.9", &[("http", 31500)]);
    let (etcd, _) = etcd_with(vec![web]).await;
    let herald = Herald::start_on(
        "127.0.0.1",
        &etcd,
        &[],
        &[("HERALD_ETCD_PASSWORD", "s3cret-pw")],
    )
    .await;
    let hosts: serde_json::Value =
        serde_json::from_str(&herald.get("/v1/hosts/web.marathon.mesos")).unwrap();
    assert_eq!(
        hosts,
        serde_json::json!([{"host": "web.marathon.mesos.", "ip": "127.0.0.9"}])
    );
    let miss: serde_json::Value =
        serde_json::from_str(&herald.get("/v1/hosts/nope.marathon.mesos")).unwrap();
    assert_eq!(miss, serde_json::json!([{"host": "", "ip": ""}]));
    let services: serde_json::Value =
        serde_json::from_str(&herald.get("/v1/services/_web._tcp.marathon.mesos")).unwrap();
    assert_eq!(services[0]["port"], "31500");
    assert_eq!(services[0]["ip"], "127.0.0.9");
    assert_eq!(services[0]["service"], "_web._tcp.marathon.mesos.");
    let config = herald.get("/v1/config");
    assert!(config.contains("\"Domain\":\"mesos\""), "{config}");
    assert!(!config.contains("s3cret-pw"), "{config}");
    let version: serde_json::Value = serde_json::from_str(&herald.get("/v1/version")).unwrap();
    assert!(version["Version"].is_string());
    let enumerate: serde_json::Value = serde_json::from_str(&herald.get("/v1/enumerate")).unwrap();
    assert_eq!(enumerate["frameworks"][0]["tasks"][0]["id"], "web.t1");
    herald.dig(&["web.marathon.mesos", "A"]);
    let metrics = herald.get("/metrics");
    assert!(metrics.contains("herald_dns_queries_total"), "{metrics}");
    assert!(metrics.contains("herald_dns_index_names"), "{metrics}");
    let health: serde_json::Value = serde_json::from_str(&herald.get("/healthz")).unwrap();
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn keeps_answering_and_reports_staleness_while_etcd_is_down() {
    let (mut etcd, _) = etcd_with(vec![task("/web", "web.t1", "127.0.0.9", &[])]).await;
    let herald = Herald::start(&etcd, &[]).await;
    etcd.kill();
    eventually("healthz degraded", WAIT, async || {
        herald.get("/healthz").contains("\"degraded\"")
    })
    .await;
    let a = herald.answers(&["web.marathon.mesos", "A"]);
    assert_eq!(a, vec!["127.0.0.9"]);
    assert!(
        herald
            .get("/metrics")
            .contains("herald_dns_staleness_seconds")
    );
}

/// etcd frozen (SIGSTOP) for 20 s: herald-dns keeps answering from its index, reports
/// itself degraded, and after SIGCONT catches up and reports ok again by itself.
#[tokio::test]
async fn a_frozen_etcd_degrades_then_recovers_by_itself() {
    let (etcd, _) = etcd_with(vec![task("/web", "web.t1", "127.0.0.9", &[])]).await;
    let herald = Herald::start(&etcd, &[]).await;
    etcd.freeze();
    let frozen = std::time::Instant::now();
    let minute = std::time::Duration::from_secs(60);
    eventually(
        "healthz degraded while etcd is frozen",
        minute,
        async || herald.get("/healthz").contains("\"degraded\""),
    )
    .await;
    let mut answered = 0;
    while frozen.elapsed() < std::time::Duration::from_secs(20) {
        let a = herald.answers(&["web.marathon.mesos", "A"]);
        assert_eq!(a, vec!["127.0.0.9"], "answers from the index");
        answered += 1;
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert!(answered > 5);
    etcd.thaw();
    // The test's own client lived through the freeze while the test waited (its keepalive
    // may have given up on the connection): write with a fresh one.
    let registry = etcd.registry().await.unwrap();
    put(&registry, vec![task("/web", "web.t2", "127.0.0.10", &[])]).await;
    eventually(
        "recovered: ok and the new task served",
        minute,
        async || {
            let a = herald.answers(&["web.marathon.mesos", "A"]);
            herald.get("/healthz").contains("\"ok\"") && a == vec!["127.0.0.10", "127.0.0.9"]
        },
    )
    .await;
}

/// Mesos-DNS's own fixture (§5.1/§5.3): `liquor-store` on a container network, ports
/// http/80 and https/443 (no host ports), agent `...-2410-0`.
#[tokio::test]
async fn mesos_dns_liquor_store_vectors() {
    let mut t = task(
        "/liquor-store",
        "liquor-store.b8db9f73-562f-11e4-a088-c20493233aa5",
        "127.0.0.11",
        &[],
    );
    t.agent_id = Some("20140803-194229-1681915402-5050-2410-0".into());
    t.task_ips = vec!["127.3.0.1".parse().unwrap()];
    for (name, number) in [("http", 80), ("https", 443)] {
        t.ports.push(registry::TaskPort {
            name: Some(name.into()),
            protocols: vec![registry::Protocol::Tcp],
            container_port: Some(number),
            host_port: None,
            service_port: None,
        });
    }
    let (etcd, _) = etcd_with(vec![t]).await;
    let herald = Herald::start(&etcd, &[]).await;
    let srv = herald.answers(&["+additional", "_liquor-store._tcp.marathon.mesos", "SRV"]);
    assert_eq!(
        srv,
        vec![
            "0 1 443 liquor-store-4dfjd-0.marathon.mesos.",
            "0 1 80 liquor-store-4dfjd-0.marathon.mesos.",
            "127.3.0.1",
        ]
    );
    let https = herald.answers(&["_https._liquor-store._tcp.marathon.mesos", "SRV"]);
    assert_eq!(https, vec!["0 1 443 liquor-store-4dfjd-0.marathon.mesos."]);
    let a = herald.answers(&["liquor-store.marathon.mesos", "A"]);
    assert_eq!(a, vec!["127.3.0.1"]);
    let slave = herald.answers(&["liquor-store.marathon.slave.mesos", "A"]);
    assert_eq!(slave, vec!["127.0.0.11"]);
    let udp = herald.answers(&["_liquor-store._udp.marathon.mesos", "SRV"]);
    assert!(udp.is_empty());
    // IPSources [host]: the agent address instead.
    let host_only = Herald::start(&etcd, &["--ip-sources", "host"]).await;
    let a = host_only.answers(&["liquor-store.marathon.mesos", "A"]);
    assert_eq!(a, vec!["127.0.0.11"]);
    // The legacy dotted form, when asked for.
    let legacy = Herald::start(&etcd, &["--legacy-names"]).await;
    let a = legacy.answers(&["liquor-store.marathon.mesos", "A"]);
    assert_eq!(a, vec!["127.3.0.1"]);
}

/// A raw DNS query: RD set, optionally an EDNS OPT advertising 4096 bytes.
fn raw_query(id: u16, name: &str, qtype: u16, edns: bool) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns)]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&[0, 1]);
    if edns {
        q.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
    }
    q
}

fn exchange(server: std::net::SocketAddr, query: &[u8]) -> Vec<u8> {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(3)))
        .unwrap();
    socket.send_to(query, server).unwrap();
    let mut buf = [0u8; 4096];
    let (len, _) = socket.recv_from(&mut buf).unwrap();
    buf[..len].to_vec()
}

#[tokio::test]
async fn fast_path_answers_are_byte_identical_to_the_slow_path() {
    let web = task("/web", "web.t1", "127.0.0.9", &[("http", 31500)]);
    let (etcd, registry) = etcd_with(vec![web]).await;
    // One DNS thread, so the second query surely meets the first one's cache.
    let herald = Herald::start(&etcd, &["--threads", "1"]).await;
    let cases = [
        ("WeB.marathon.mesos", 1, true),
        ("web.marathon.mesos", 28, false),
        ("_web._tcp.marathon.mesos", 33, true),
        ("nope.marathon.mesos", 1, true),
        ("mesos", 6, false),
    ];
    for (name, qtype, edns) in cases {
        let before = herald.fast_path_hits();
        let slow = exchange(herald.dns, &raw_query(0x1111, name, qtype, edns));
        let fast = exchange(herald.dns, &raw_query(0x2222, name, qtype, edns));
        assert_eq!(&fast[..2], &[0x22, 0x22], "{name}: the ID is patched");
        assert_eq!(&fast[2..], &slow[2..], "{name}: same bytes after the ID");
        assert!(
            herald.fast_path_hits() > before,
            "{name}: the second answer came from the fast path"
        );
    }
    // A change invalidates cached answers.
    put(&registry, vec![task("/web", "web.t2", "127.0.0.10", &[])]).await;
    eventually("new task visible through the cache", WAIT, async || {
        let answer = exchange(
            herald.dns,
            &raw_query(0x3333, "web.marathon.mesos", 1, false),
        );
        u16::from_be_bytes([answer[6], answer[7]]) == 2
    })
    .await;
}

/// The value of an unlabelled sample in Prometheus text; 0 when absent.
fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn each_applied_change_is_timed_until_its_snapshot_is_published() {
    let (etcd, registry) = etcd_with(vec![task("/web", "web.t1", "127.0.0.9", &[])]).await;
    let herald = Herald::start(&etcd, &[]).await;
    let count = "herald_dns_index_update_seconds_count";
    // The first load is not a change.
    assert_eq!(sample(&herald.get("/metrics"), count), 0.0);
    put(&registry, vec![task("/web", "web.t2", "127.0.0.10", &[])]).await;
    eventually("the new task answers", WAIT, async || {
        herald.answers(&["web.marathon.mesos", "A"]).len() == 2
    })
    .await;
    let metrics = herald.get("/metrics");
    assert_eq!(sample(&metrics, count), 1.0, "{metrics}");
    assert!(sample(&metrics, "herald_dns_index_update_seconds_sum") > 0.0);
}

/// The A records of a raw response, in order.
fn a_records_in_order(wire: &[u8]) -> Vec<String> {
    let message = hickory_proto::op::Message::from_vec(wire).unwrap();
    message.answers.iter().map(|r| r.data.to_string()).collect()
}

#[tokio::test]
async fn address_answers_rotate_from_one_udp_answer_to_the_next() {
    let (etcd, _) = etcd_with(vec![
        task("/web", "web.t1", "127.0.0.11", &[]),
        task("/web", "web.t2", "127.0.0.12", &[]),
        task("/web", "web.t3", "127.0.0.13", &[]),
    ])
    .await;
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    for (flags, rotates) in [(&[][..], true), (&["--fixed-order"][..], false)] {
        let mut args = vec!["--threads", "1"];
        args.extend_from_slice(flags);
        let herald = Herald::start(&etcd, &args).await;
        for edns in [false, true] {
            let firsts: Vec<String> = (0..6u16)
                .map(|id| {
                    let wire = exchange(herald.dns, &raw_query(id, "web.marathon.mesos", 1, edns));
                    let answers = a_records_in_order(&wire);
                    assert_eq!(
                        sorted(answers.clone()),
                        ["127.0.0.11", "127.0.0.12", "127.0.0.13"],
                        "every answer holds every task"
                    );
                    answers[0].clone()
                })
                .collect();
            let distinct: std::collections::BTreeSet<&String> = firsts.iter().collect();
            if rotates {
                assert_eq!(
                    distinct.len(),
                    3,
                    "each task comes first in turn: {firsts:?}"
                );
                // Round-robin: the six answers start with each address twice.
                for ip in &distinct {
                    assert_eq!(firsts.iter().filter(|f| f == ip).count(), 2, "{firsts:?}");
                }
            } else {
                assert_eq!(distinct.len(), 1, "--fixed-order: {firsts:?}");
            }
        }
        // dig sends a fresh cookie each time (a slow-path query), and TCP is all slow path.
        for transport in ["+notcp", "+tcp"] {
            let firsts: Vec<String> = (0..6)
                .map(|_| {
                    let out = herald.dig(&[transport, "+short", "web.marathon.mesos", "A"]);
                    let lines: Vec<&str> = out.lines().collect();
                    assert_eq!(lines.len(), 3, "{transport}: {out}");
                    lines[0].to_string()
                })
                .collect();
            let distinct: std::collections::BTreeSet<&String> = firsts.iter().collect();
            let want = if rotates { 3 } else { 1 };
            assert_eq!(distinct.len(), want, "{transport} {flags:?}: {firsts:?}");
        }
    }
}

#[tokio::test]
async fn an_unknown_edns_version_gets_badvers() {
    let (etcd, _) = etcd_with(vec![task("/web", "web.t1", "127.0.0.9", &[])]).await;
    let herald = Herald::start(&etcd, &[]).await;
    for transport in ["+notcp", "+tcp"] {
        // RFC 6891 6.1.3: BADVERS, with an OPT of the highest version we know (0).
        let out = herald.dig(&[
            transport,
            "+edns=1",
            "+noednsneg",
            "web.marathon.mesos",
            "A",
        ]);
        assert!(out.contains("status: BADVERS"), "{transport}: {out}");
        assert!(out.contains("EDNS: version: 0"), "{transport}: {out}");
        assert!(!out.contains("127.0.0.9"), "no answer with BADVERS: {out}");
        let ok = herald.dig(&[transport, "+edns=0", "web.marathon.mesos", "A"]);
        assert!(ok.contains("status: NOERROR"), "{transport}: {ok}");
    }
}

/// `raw_query` with EDNS and a client cookie (RFC 7873) of 8 bytes.
fn cookie_query(id: u16, name: &str, cookie: [u8; 8]) -> Vec<u8> {
    let mut q = raw_query(id, name, 1, true);
    let rdlen = q.len() - 2;
    q[rdlen..].copy_from_slice(&12u16.to_be_bytes());
    q.extend_from_slice(&[0, 10, 0, 8]);
    q.extend_from_slice(&cookie);
    q
}

#[tokio::test]
async fn queries_with_fresh_cookies_are_answered_from_the_cache() {
    let (etcd, _) = etcd_with(vec![task("/web", "web.t1", "127.0.0.9", &[])]).await;
    let herald = Herald::start(&etcd, &["--threads", "1"]).await;
    let first = exchange(herald.dns, &cookie_query(1, "web.marathon.mesos", [1; 8]));
    let message = hickory_proto::op::Message::from_vec(&first).unwrap();
    assert_eq!(a_records_in_order(&first), ["127.0.0.9"]);
    let edns = message.edns.expect("EDNS echoed");
    assert_eq!(
        edns.options().as_ref().len(),
        0,
        "Herald sends no cookie back, so any cookie gets the same answer"
    );
    let before = herald.fast_path_hits();
    let second = exchange(herald.dns, &cookie_query(2, "web.marathon.mesos", [2; 8]));
    assert_eq!(&second[2..], &first[2..], "same bytes after the ID");
    assert!(
        herald.fast_path_hits() > before,
        "a fresh cookie is a cache hit"
    );
    // The same query without a cookie shares the entry.
    let before = herald.fast_path_hits();
    let plain = exchange(herald.dns, &raw_query(3, "web.marathon.mesos", 1, true));
    assert_eq!(&plain[2..], &first[2..]);
    assert!(herald.fast_path_hits() > before);
}

#[tokio::test]
async fn refused_answers_keep_the_opt_record() {
    let etcd = EtcdServer::start().await.unwrap();
    // Loopback is outside this recursion ACL: names outside the zone get REFUSED.
    let herald = Herald::start(&etcd, &["--allow-recursion", "10.0.0.0/8"]).await;
    for transport in ["+notcp", "+tcp"] {
        let out = herald.dig(&[transport, "+edns=0", "web.svc.test", "A"]);
        assert!(out.contains("status: REFUSED"), "{transport}: {out}");
        assert!(out.contains("OPT PSEUDOSECTION"), "{transport}: {out}");
        assert!(out.contains("EDNS: version: 0"), "{transport}: {out}");
        let plain = herald.dig(&[transport, "+noedns", "web.svc.test", "A"]);
        assert!(plain.contains("status: REFUSED"), "{transport}: {plain}");
        assert!(!plain.contains("OPT PSEUDOSECTION"), "{transport}: {plain}");
    }
    for transport in ["+notcp", "+tcp"] {
        let out = herald.kdig(&[transport, "+edns", "web.svc.test", "A"]);
        assert!(out.contains("status: REFUSED"), "{transport}: {out}");
        assert!(out.contains("EDNS PSEUDOSECTION"), "{transport}: {out}");
    }
}

#[tokio::test]
async fn addresses_no_client_can_use_are_never_served() {
    let ips = |list: &[&str]| -> Vec<std::net::IpAddr> {
        list.iter().map(|ip| ip.parse().unwrap()).collect()
    };
    // As an older subscriber, or a hand, could have written them.
    let mut mixed = task("/mixed", "mixed.t1", "127.0.0.40", &[("http", 31000)]);
    mixed.agent_ips = ips(&["0.0.0.0", "127.0.0.40", "255.255.255.255", "ff02::1"]);
    mixed.task_ips = ips(&["224.0.0.251", "127.0.0.41", "::", "::ffff:127.0.0.42"]);
    let mut none = task("/none", "none.t1", "0.0.0.0", &[("http", 31001)]);
    none.agent_ips = ips(&["0.0.0.0", "255.255.255.255"]);
    none.task_ips = ips(&["ff02::1", "239.1.2.3"]);
    let (etcd, _) = etcd_with(vec![mixed, none]).await;
    // Loopback outside the recursion ACL: reverse names that are not Herald's get REFUSED.
    let herald = Herald::start(&etcd, &["--allow-recursion", "10.0.0.0/8"]).await;
    let dig = |name: &str, qtype: &str| herald.answers(&["+additional", name, qtype]);
    assert_eq!(dig("mixed.marathon.mesos", "A"), ["127.0.0.41"]);
    assert_eq!(dig("mixed.marathon.slave.mesos", "A"), ["127.0.0.40"]);
    let h = herald_dns::names::task_hash("mixed.t1");
    let target = format!("mixed-{h}-s3.marathon.mesos.");
    assert_eq!(
        dig("_mixed._tcp.marathon.mesos", "SRV"),
        [format!("0 1 31000 {target}"), "127.0.0.41".into()]
    );
    assert_eq!(dig(&target, "ANY"), ["127.0.0.41"]);
    let nodata = herald.dig(&["mixed.marathon.mesos", "AAAA"]);
    assert!(
        nodata.contains("status: NOERROR") && nodata.contains("ANSWER: 0"),
        "{nodata}"
    );
    assert_eq!(herald.answers(&["-x", "127.0.0.41"]), [target]);
    for unusable in ["0.0.0.0", "224.0.0.251", "::", "::ffff:127.0.0.42"] {
        let out = herald.dig(&["-x", unusable]);
        assert!(out.contains("status: REFUSED"), "{unusable}: {out}");
    }
    let hosts = herald.get("/v1/hosts/mixed.marathon.mesos");
    assert!(
        hosts.contains("127.0.0.41") && !hosts.contains("224.0.0.251"),
        "{hosts}"
    );
    // A task with no usable address at all has no names.
    for (name, qtype) in [
        ("none.marathon.mesos", "A"),
        ("none.marathon.slave.mesos", "A"),
        ("_none._tcp.marathon.mesos", "SRV"),
        ("_none._tcp.marathon.slave.mesos", "SRV"),
    ] {
        let out = herald.dig(&[name, qtype]);
        assert!(out.contains("status: NXDOMAIN"), "{name}: {out}");
    }
}
