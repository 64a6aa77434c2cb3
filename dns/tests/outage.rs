//! herald-dns started while etcd is down: it listens at once, forwards names outside its
//! zone, answers SERVFAIL for the zone's until the first full load, then serves.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{Herald, answers, etcd_with, task};
use registry::harness::{EtcdServer, WAIT, eventually};

#[tokio::test]
async fn started_without_etcd_it_forwards_and_fails_the_zone_until_the_first_load() {
    let (mut etcd, _) = etcd_with(vec![task("/web", "web.t1", "127.0.0.9", &[])]).await;
    // The upstream: a second herald-dns serving another zone from its own etcd, started
    // before the first etcd stops (so that it cannot take that etcd's port).
    let (upstream_etcd, _) = etcd_with(vec![task("/db", "db.t1", "127.0.0.30", &[])]).await;
    let upstream = Herald::start(&upstream_etcd, &["--domain", "upstream.test"]).await;
    etcd.kill();

    let upstream_flag = upstream.dns.to_string();
    let herald = Herald::launch(
        "127.0.0.1",
        &etcd.endpoint(),
        &["--upstream", &upstream_flag],
        &[],
    );
    eventually("zone names get SERVFAIL", WAIT, async || {
        herald
            .dig(&["web.marathon.mesos", "A"])
            .contains("status: SERVFAIL")
    })
    .await;
    // Over UDP and TCP, with the query's OPT kept; the apex and reverse names too.
    for transport in ["+notcp", "+tcp"] {
        let out = herald.dig(&[transport, "+edns=0", "web.marathon.mesos", "A"]);
        assert!(out.contains("status: SERVFAIL"), "{transport}: {out}");
        assert!(out.contains("EDNS: version: 0"), "{transport}: {out}");
        let apex = herald.dig(&[transport, "mesos", "SOA"]);
        assert!(apex.contains("status: SERVFAIL"), "{transport}: {apex}");
        let reverse = herald.dig(&[transport, "-x", "127.0.0.9"]);
        assert!(
            reverse.contains("status: SERVFAIL"),
            "{transport}: {reverse}"
        );
    }
    let kdig = herald.kdig(&["web.marathon.mesos", "A"]);
    assert!(kdig.contains("status: SERVFAIL"), "{kdig}");
    // Names outside the zone are forwarded as usual.
    for transport in ["+notcp", "+tcp"] {
        let out = herald.dig(&[transport, "+noall", "+answer", "db.marathon.upstream.test"]);
        assert_eq!(answers(&out), vec!["127.0.0.30"], "{transport}: {out}");
    }
    let (code, health) = herald.get_status("/healthz");
    assert_eq!(code, 503, "{health}");
    assert!(health.contains("\"down\""), "{health}");
    assert!(health.contains("\"index_loaded\":false"), "{health}");

    etcd.restart().await.unwrap();
    eventually(
        "the zone is served after the first load",
        WAIT,
        async || herald.answers(&["web.marathon.mesos", "A"]) == ["127.0.0.9"],
    )
    .await;
    let soa = herald.dig(&["mesos", "SOA"]);
    assert!(soa.contains("status: NOERROR"), "{soa}");
    let ptr = herald.dig(&["+short", "-x", "127.0.0.9"]);
    assert!(ptr.contains("web-"), "{ptr}");
    eventually("healthz ok", WAIT, async || {
        herald.get("/healthz").contains("\"ok\"")
    })
    .await;
    let out = herald.answers(&["db.marathon.upstream.test"]);
    assert_eq!(out, vec!["127.0.0.30"]);
}

/// With password auth, connecting needs etcd to answer: herald-dns still listens at once
/// and connects in the background.
#[tokio::test]
async fn with_password_auth_and_no_etcd_it_still_listens() {
    let mut etcd = EtcdServer::start().await.unwrap();
    etcd.kill();
    let herald = Herald::launch(
        "127.0.0.1",
        &etcd.endpoint(),
        &["--etcd-user", "herald"],
        &[("HERALD_ETCD_PASSWORD", "s3cret-pw")],
    );
    eventually("zone names get SERVFAIL", WAIT, async || {
        herald
            .dig(&["web.marathon.mesos", "A"])
            .contains("status: SERVFAIL")
    })
    .await;
    eventually("healthz tells why", WAIT, async || {
        let (code, health) = herald.get_status("/healthz");
        code == 503 && health.contains("\"down\"") && health.contains("connect error")
    })
    .await;
    assert!(!herald.get("/healthz").contains("s3cret-pw"));
}

/// Settings that cannot work still end the process (with an error), as before.
#[tokio::test]
async fn settings_that_cannot_work_end_the_process() {
    let mut herald = Herald::launch(
        "127.0.0.1",
        "http://127.0.0.1:9",
        &["--etcd-ca", "/nonexistent/ca.pem"],
        &[],
    );
    eventually("herald-dns exits", WAIT, async || herald.exited().is_some()).await;
    let status = herald.exited().unwrap();
    assert!(!status.success(), "{status}");
}
