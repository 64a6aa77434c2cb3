//! The README's first command works: `./demo.sh` brings up the whole stack, shows real
//! answers, and the README's operations commands then work against it; `./demo.sh stop`
//! ends it. Run on free ports with the already-built binaries, so it cannot clash with a
//! demo a developer has running.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Command;

use common::{bin_dir, repo};
use registry::harness::free_port;

fn sh(script: &str) -> (bool, String) {
    let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Runs its closure (`./demo.sh stop`) once: explicitly, or when dropped during a panic.
struct StopOnDrop<F: FnOnce() -> std::process::Output>(Option<F>);

impl<F: FnOnce() -> std::process::Output> StopOnDrop<F> {
    fn stop_now(mut self) -> std::process::Output {
        let stop = self.0.take().expect("stopped once");
        stop()
    }
}

impl<F: FnOnce() -> std::process::Output> Drop for StopOnDrop<F> {
    fn drop(&mut self) {
        if let Some(stop) = self.0.take() {
            stop();
        }
    }
}

#[test]
fn the_demo_runs_and_the_readme_commands_work_against_it() {
    let state = tempfile::tempdir().unwrap();
    let etcd = free_port();
    let ports = [
        ("HERALD_DEMO_ETCD_PORT", etcd),
        ("HERALD_DEMO_MARATHON_PORT", free_port()),
        ("HERALD_DEMO_MESOS_PORT", free_port()),
        ("HERALD_DEMO_MESOS_PORT2", free_port()),
        ("HERALD_DEMO_SUBSCRIBER_PORT", free_port()),
        ("HERALD_DEMO_DNS_PORT", free_port()),
        ("HERALD_DEMO_DNS_HTTP_PORT", free_port()),
    ];
    let demo = |arg: Option<&str>| {
        let mut cmd = Command::new(repo().join("demo.sh"));
        cmd.args(arg)
            .env("HERALD_DEMO_DIR", state.path())
            .env("HERALD_DEMO_BIN", bin_dir());
        for (k, v) in ports {
            cmd.env(k, v.to_string());
        }
        cmd.output().unwrap()
    };
    // The demo leaves its stack running by design: whatever happens below (a failed
    // assertion included), `./demo.sh stop` runs when this guard drops.
    let stop = || demo(Some("stop"));
    let guard = StopOnDrop(Some(stop));
    let out = demo(None);
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{log}");
    // What the demo promises to show.
    for expected in [
        "mongodb.marathon.mesos.",
        "_mongodb._tcp.marathon.mesos.",
        "_mongo._mongodb._tcp.marathon.mesos.",
        "[watcher] rsvp changed",
        "now=3 instance(s)",
        "killed rsvp.",
        "leader.mesos.",
        "_leader._tcp.mesos.",
        "slave.mesos.",
        "nightly-report.chronos.mesos.",
        "status page        http://127.0.0.1:",
        "Stop it all with: ./demo.sh stop",
    ] {
        assert!(
            log.contains(expected),
            "demo output lacks {expected:?}:\n{log}"
        );
    }
    let mesos_port2 = ports[3].1;
    assert!(
        log.contains(&format!(" {mesos_port2} leader.mesos.")),
        "the leader change shows in _leader._tcp.mesos SRV:\n{log}"
    );
    assert_eq!(
        log.matches("rsvp.marathon.mesos.\t").count(),
        3,
        "three rsvp A records after scaling:\n{log}"
    );

    // The README's operations commands, with the demo's ports.
    let sub = ports[4].1;
    let dns_http = ports[6].1;
    let (ok, plan) = sh(&format!("curl -sf http://127.0.0.1:{sub}/cleanup"));
    assert!(ok, "{plan}");
    let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
    assert!(plan.is_object(), "{plan}");
    let (ok, applied) = sh(&format!("curl -sf -X POST http://127.0.0.1:{sub}/cleanup"));
    assert!(ok, "{applied}");
    let (ok, served) = sh(&format!(
        "curl -sf http://127.0.0.1:{dns_http}/v1/enumerate"
    ));
    assert!(ok && served.contains("rsvp"), "{served}");
    let (ok, tasks) = sh(&format!("curl -sf http://127.0.0.1:{sub}/v1/tasks"));
    assert!(ok && tasks.contains("mongodb"), "{tasks}");
    let (ok, keys) = sh(&format!(
        "etcdctl --endpoints 127.0.0.1:{etcd} get --prefix /herald/v1/apps/ --keys-only"
    ));
    assert!(
        ok && keys.contains("/herald/v1/apps/rsvp/@tasks/"),
        "{keys}"
    );
    for health in [
        format!("http://127.0.0.1:{sub}/healthz"),
        format!("http://127.0.0.1:{dns_http}/healthz"),
    ] {
        let (ok, body) = sh(&format!("curl -sf {health}"));
        assert!(ok && body.contains("\"status\""), "{health}: {body}");
    }

    let out = guard.stop_now();
    assert!(out.status.success());
    let pids = std::fs::read_dir(state.path().join("pids"))
        .unwrap()
        .count();
    assert_eq!(pids, 0, "demo.sh stop left processes behind");
    let (up, _) = sh(&format!("curl -sf http://127.0.0.1:{sub}/healthz"));
    assert!(!up, "the subscriber still answers after ./demo.sh stop");
}
