//! herald-dns with other real DNS software: forwarding to a real Knot upstream, the
//! recursion ACL, and glibc's resolver (`getent hosts`).
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::{Command, Stdio};

use common::{Herald, dig_at, etcd_with, glibc, task};
use registry::harness::{EtcdServer, KillOnDrop, WAIT, eventually, free_port};

const ZONE: &str = "$ORIGIN svc.test.
$TTL 60
@   IN SOA ns1.svc.test. hostmaster.svc.test. 1 3600 600 86400 60
@   IN NS  ns1.svc.test.
ns1 IN A 127.0.0.1
web IN A 10.0.0.1
web IN A 10.0.0.2
";

/// knotd serving svc.test on a free loopback port, stopped on drop.
struct Knot {
    _child: KillOnDrop,
    port: u16,
    _dir: tempfile::TempDir,
}

async fn start_knot() -> Knot {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let d = dir.path().display();
    std::fs::write(dir.path().join("svc.test.zone"), ZONE).unwrap();
    let conf = format!(
        "server:\n    listen: 127.0.0.1@{port}\n    rundir: {d}\n    pidfile: {d}/knot.pid\n    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n\
database:\n    storage: {d}\ncontrol:\n    listen: {d}/knot.sock\nlog:\n  - target: stderr\n    any: warning\n\
zone:\n  - domain: svc.test\n    file: {d}/svc.test.zone\n    journal-content: none\n    zonefile-sync: -1\n"
    );
    let conf_path = dir.path().join("knot.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = KillOnDrop::spawn(
        Command::new("/usr/sbin/knotd")
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null()),
    )
    .unwrap();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    eventually("knotd answers", WAIT, async || {
        dig_at(addr, &["web.svc.test", "A"]).contains("10.0.0.1")
    })
    .await;
    Knot {
        _child: child,
        port,
        _dir: dir,
    }
}

#[tokio::test]
async fn forwards_names_outside_the_zone_to_a_real_upstream() {
    let knot = start_knot().await;
    let etcd = EtcdServer::start().await.unwrap();
    let upstream = format!("127.0.0.1:{}", knot.port);
    let herald = Herald::start(&etcd, &["--upstream", &upstream]).await;
    let out = herald.answers(&["web.svc.test", "A"]);
    assert_eq!(out, vec!["10.0.0.1", "10.0.0.2"]);
    let nx = herald.dig(&["nope.svc.test", "A"]);
    assert!(nx.contains("status: NXDOMAIN"), "{nx}");
}

#[tokio::test]
async fn clients_outside_the_recursion_acl_are_refused() {
    let knot = start_knot().await;
    let (etcd, _) = etcd_with(vec![task("/web", "web.t1", "127.0.0.9", &[])]).await;
    let upstream = format!("127.0.0.1:{}", knot.port);
    let herald = Herald::start(
        &etcd,
        &["--upstream", &upstream, "--allow-recursion", "10.0.0.0/8"],
    )
    .await;
    let out = herald.dig(&["web.svc.test", "A"]);
    assert!(out.contains("status: REFUSED"), "{out}");
    let own = herald.answers(&["web.marathon.mesos", "A"]);
    assert_eq!(own, vec!["127.0.0.9"], "zone answers need no recursion");
}

/// glibc reads only /etc/resolv.conf (see `common::glibc`).
#[tokio::test]
async fn glibc_resolves_through_herald() {
    if !glibc::available() {
        registry::harness::skip(
            "dns::clients::glibc_resolves_through_herald",
            "needs root and `unshare -m` (port 53 and a private /etc/resolv.conf)",
        );
        return;
    }
    let (etcd, _) = etcd_with(vec![task("/prod/web", "prod_web.t1", "127.0.0.9", &[])]).await;
    let herald = glibc::herald_on_port_53(&etcd, 53).await;
    let (stdout, stderr) = glibc::getent(&herald, &[("hosts", "web-prod.marathon.mesos")]);
    assert!(stdout.contains("127.0.0.9"), "getent: {stdout} {stderr}");
    assert!(stdout.contains("web-prod.marathon.mesos"), "{stdout}");
}
