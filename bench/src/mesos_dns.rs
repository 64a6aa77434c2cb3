//! The DNS half of benchmark `mesos` (issue #15): with the Mesos records of the `mesos`
//! benchmark in etcd, herald-dns's first-answer time and memory, a Mesos event → changed DNS
//! answer, and a leader change → changed `_leader._tcp` answer.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use hickory_proto::rr::RecordType;
use mesos_sim::Simulator;
use serde_json::json;

use crate::dnsq;
use crate::fixture::HeraldDns;
use crate::procs;
use crate::report::{Report, Row};
use crate::stats::Summary;

const EVENT_P99_TARGET_MS: f64 = 10.0;

/// What the DNS half measures against.
pub struct Setup<'a> {
    /// The simulator (two masters).
    pub sim: &'a Simulator,
    /// etcd's endpoint.
    pub etcd: &'a str,
    /// A task with a health check, and its DNS name (`probe.marathon.mesos.`).
    pub probe: (&'a str, &'a str),
    /// Health flips to time.
    pub samples: usize,
    /// Leader changes to time.
    pub leader_changes: usize,
    /// The label of the cluster's size.
    pub label: &'a str,
    /// The subscriber's HTTP API (its `/healthz` tells when a resync is done).
    pub subscriber: std::net::SocketAddr,
}

/// Polls `name`/`kind` until `done` holds for its answer lines; returns when it did.
async fn until(
    client: &mut dnsq::Client,
    name: &str,
    kind: RecordType,
    limit: Duration,
    done: impl Fn(&[String]) -> bool,
) -> Result<Instant> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(a) = client.answer(name, kind, Duration::from_millis(100)).await
            && done(&a.answers)
        {
            return Ok(Instant::now());
        }
        crate::change::pause().await;
    }
    bail!("{name} {kind} did not change within {limit:?}")
}

/// Runs the DNS measurements and adds their rows.
pub async fn run(setup: Setup<'_>, report: &mut Report) -> Result<()> {
    let Setup {
        sim,
        etcd,
        probe: (probe, probe_name),
        samples,
        leader_changes,
        label,
        subscriber,
    } = setup;
    let started = Instant::now();
    let dns = HeraldDns::start(etcd, 2).await?;
    let mut client = dnsq::Client::connect(dns.dns).await?;
    until(
        &mut client,
        probe_name,
        RecordType::A,
        Duration::from_secs(60),
        |a| !a.is_empty(),
    )
    .await?;
    let first_answer_s = started.elapsed().as_secs_f64();
    let rss_mb = procs::status_bytes(dns.proc.pid(), "VmRSS")? as f64 / 1e6;

    // A health flip: unhealthy tasks leave the answer, healthy ones come back.
    let mut event_ms = Vec::with_capacity(samples);
    let mut healthy = true;
    for _ in 0..samples {
        healthy = !healthy;
        let t = Instant::now();
        sim.set_health(probe, healthy)?;
        let seen = until(
            &mut client,
            probe_name,
            RecordType::A,
            Duration::from_secs(5),
            |a| a.is_empty() != healthy,
        )
        .await?;
        event_ms.push((seen - t).as_secs_f64() * 1e3);
    }
    if !healthy {
        sim.set_health(probe, true)?;
    }

    // Leader changes between the two masters.
    let ports: Vec<u16> = sim.master_addrs().iter().map(|a| a.port()).collect();
    let mut leader_ms = Vec::with_capacity(leader_changes);
    let mut last_resync = serde_json::Value::Null;
    for i in 0..leader_changes {
        // Each change is timed on a settled source, not on one still reading the last
        // snapshot.
        last_resync =
            crate::mesos::resynced_after(subscriber, &last_resync, Duration::from_secs(120))
                .await?;
        let next = (sim.leader().unwrap_or(0) + 1) % ports.len();
        let needle = format!(" {} ", ports[next]);
        let t = Instant::now();
        sim.set_leader(Some(next)).await?;
        let seen = until(
            &mut client,
            "_leader._tcp.mesos.",
            RecordType::SRV,
            Duration::from_secs(30),
            |a| a.iter().any(|l| l.contains(&needle)),
        )
        .await?;
        leader_ms.push((seen - t).as_secs_f64() * 1e3);
        eprintln!(
            "mesos: leader change {}/{leader_changes}: {:.1} ms",
            i + 1,
            leader_ms[i]
        );
    }

    let e = Summary::of(&event_ms);
    let l = Summary::of(&leader_ms);
    report.rows.push(
        Row::info(
            "mesos",
            &format!("herald-dns start -> first answer, {label}"),
            first_answer_s,
            "s",
        )
        .note("a task's name answered after the first full load of both trees"),
    );
    report.rows.push(Row::info(
        "mesos",
        &format!("herald-dns RSS, {label}"),
        rss_mb,
        "MB",
    ));
    report.rows.push(
        Row::target(
            "mesos",
            "Mesos event -> changed DNS answer, p99",
            e.p99,
            "ms",
            "<= 10 ms",
            e.p99 <= EVENT_P99_TARGET_MS,
        )
        .note(format!(
            "{} health flips (TASK_UPDATED -> subscriber -> etcd -> herald-dns); p50 {:.2} ms, max {:.2} ms",
            e.count, e.p50, e.max
        )),
    );
    report.rows.push(
        Row::info("mesos", "leader change -> _leader._tcp answer, p99", l.p99, "ms").note(format!(
            "{} changes, each on a settled source (stream breaks, 307 names the new leader, its record written before its snapshot); p50 {:.1} ms, max {:.1} ms",
            l.count, l.p50, l.max
        )),
    );
    report.details.insert(
        "mesos_dns".into(),
        json!({"first_answer_s": first_answer_s, "rss_mb": rss_mb, "event_ms": event_ms, "leader_ms": leader_ms}),
    );
    Ok(())
}
