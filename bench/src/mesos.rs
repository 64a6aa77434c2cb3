//! Benchmark `mesos`: herald-subscriber's Mesos source against the Mesos master simulator
//! (in-process; not Mesos) with 5,000 agents, 20 frameworks and 50,000 tasks:
//! - the `SUBSCRIBED` snapshot into an empty etcd: time from the subscriber's start to its
//!   first resync done, and the subscriber's peak memory (VmHWM);
//! - an in-sync resync (`POST /cleanup` → resubscribe): the Mesos records it rewrites (a
//!   `mod_revision` newer than before it: must be none) and its time;
//! - one Mesos event (a health flip: one `TASK_UPDATED`) → the changed record delivered by
//!   an etcd watch: p50/p99/max over repeated samples.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use mesos_sim::{AgentSpec, FrameworkSpec, SimConfig, Simulator, TaskSpec};
use registry::{Health, MesosChange, MesosScope, MesosWatchEvent, WatchOptions};
use serde_json::{Value, json};
use std::process::Command;

use crate::fixture;
use crate::http;
use crate::procs::{self, Proc};
use crate::report::{Report, Row};
use crate::stats::Summary;

const FRAMEWORKS: usize = 20;
const EVENT_P99_TARGET_MS: f64 = 10.0;

/// A herald-subscriber with only the Mesos source.
struct MesosSubscriber {
    proc: Proc,
    http: std::net::SocketAddr,
}

impl MesosSubscriber {
    async fn start(etcd: &str, master: &str) -> Result<MesosSubscriber> {
        let http = procs::free_addr()?;
        let mut cmd = Command::new(procs::binary("herald-subscriber")?);
        cmd.args(["--etcd-endpoints", etcd])
            .args(["--mesos", master])
            .args(["--listen", &http.to_string()])
            .args(["--election", "false"])
            .args(["--reconcile-interval", "0"])
            .env("HERALD_LOG", "warn,herald_registry=error");
        Ok(MesosSubscriber {
            proc: Proc::spawn("herald-subscriber", &mut cmd)?,
            http,
        })
    }
}

/// Waits until the subscriber at `http` has its Mesos stream open and a resync newer than
/// `after` (its `last_resync_at` in `/healthz`) is done; returns that resync's time.
pub(crate) async fn resynced_after(
    http: std::net::SocketAddr,
    after: &Value,
    limit: Duration,
) -> Result<Value> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok((_, body)) = http::request(http, "GET", "/healthz", Duration::from_secs(5)).await
            && let Ok(v) = serde_json::from_str::<Value>(&body)
        {
            let m = &v["checks"]["mesos"];
            if m["connected"] == true
                && m["last_resync_at"] != Value::Null
                && &m["last_resync_at"] != after
            {
                return Ok(m["last_resync_at"].clone());
            }
        }
        if Instant::now() > deadline {
            bail!("no Mesos resync within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs the benchmark and adds its rows.
pub async fn run(quick: bool, report: &mut Report) -> Result<()> {
    let (agents, tasks, samples) = if quick {
        (1_000, 10_000, 50)
    } else {
        (5_000, 50_000, 200)
    };
    let etcd = fixture::etcd().await?;
    let registry = etcd.registry().await?;
    let sim = Simulator::start(SimConfig {
        masters: 2,
        agents: 0,
        heartbeat: Duration::from_secs(15),
        ..SimConfig::default()
    })
    .await?;
    let t = Instant::now();
    for a in 0..agents {
        let ip = format!("10.{}.{}.{}", a / 65536 % 256 + 1, a / 256 % 256, a % 256);
        sim.add_agent(AgentSpec {
            ip: Some(ip),
            ..AgentSpec::new(format!("agent-{a}.example"))
        })?;
    }
    let mut frameworks = vec![sim.marathon_id().context("the simulator's Marathon")?];
    for f in 1..FRAMEWORKS {
        frameworks.push(sim.add_framework(FrameworkSpec::new(format!("framework-{f}")))?);
    }
    let mut ids = Vec::with_capacity(tasks);
    for k in 0..tasks {
        let framework = &frameworks[k % FRAMEWORKS];
        let spec = TaskSpec::new(&format!("/app{}", k / 5)).of_framework(framework);
        ids.push(sim.launch_task(spec)?);
    }
    eprintln!(
        "mesos: {agents} agents, {FRAMEWORKS} frameworks, {tasks} tasks made ({:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let master = sim.master_urls().join(",");

    // The snapshot into an empty etcd.
    let empty = registry.ping().await?;
    let started = Instant::now();
    let sub = MesosSubscriber::start(&etcd.endpoint(), &master).await?;
    let first = resynced_after(sub.http, &Value::Null, Duration::from_secs(300)).await?;
    let snapshot_s = started.elapsed().as_secs_f64();
    let stored = registry.list_mesos(&MesosScope::All).await?;
    if stored.tasks.len() != tasks {
        bail!("{} tasks stored, {tasks} expected", stored.tasks.len());
    }
    let hwm_mb = procs::status_bytes(sub.proc.pid(), "VmHWM")? as f64 / 1e6;

    // An in-sync resync: no Mesos record may change (the status record may).
    let before = registry.ping().await?;
    let newest_before = registry::harness::records_revision(&registry).await?;
    let t = Instant::now();
    let (status, body) =
        http::request(sub.http, "POST", "/cleanup", Duration::from_secs(30)).await?;
    if status != 202 {
        bail!("POST /cleanup: {status} {body}");
    }
    resynced_after(sub.http, &first, Duration::from_secs(300)).await?;
    let in_sync_s = t.elapsed().as_secs_f64();
    let after = registry.list_mesos(&MesosScope::All).await?;
    let writes = changed_since(&after, newest_before);
    let hwm_after_mb = procs::status_bytes(sub.proc.pid(), "VmHWM")? as f64 / 1e6;
    let rss_after_mb = procs::status_bytes(sub.proc.pid(), "VmRSS")? as f64 / 1e6;

    // Event -> etcd: health flips, each seen through a watch.
    let mut watch = registry.watch_mesos(MesosScope::All, WatchOptions::default())?;
    loop {
        match watch.next().await {
            Some(MesosWatchEvent::Live { .. }) => break,
            Some(_) => continue,
            None => bail!("the watch ended"),
        }
    }
    // Health flips need a task with a check: launch one per sample round.
    let probe = sim.launch_task(TaskSpec::new("/probe").with_health_check())?;
    let mut healthy = true;
    let mut latencies = Vec::with_capacity(samples);
    for _ in 0..samples {
        healthy = !healthy;
        let want = if healthy {
            Health::Healthy
        } else {
            Health::Unhealthy
        };
        let t = Instant::now();
        sim.set_health(&probe, healthy)?;
        let deadline = t + Duration::from_secs(10);
        'seen: loop {
            let event = tokio::time::timeout_at(deadline.into(), watch.next())
                .await
                .context("no watch event within 10 s")?;
            if let Some(MesosWatchEvent::Changes { changes, .. }) = event {
                for change in changes {
                    if let MesosChange::Task(t) = change
                        && t.task_id == probe
                        && t.health == want
                    {
                        break 'seen;
                    }
                }
            }
        }
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let s = Summary::of(&latencies);
    let label = format!(
        "{}k agents / {}k tasks / {FRAMEWORKS} frameworks",
        agents / 1000,
        tasks / 1000
    );
    report.rows.push(
        Row::info(
            "mesos",
            &format!("SUBSCRIBED snapshot into empty etcd, {label}"),
            snapshot_s,
            "s",
        )
        .note(format!(
            "subscriber start -> first resync done; {} etcd revisions",
            before - empty
        )),
    );
    report.rows.push(Row::info(
        "mesos",
        "subscriber peak memory (VmHWM) after the snapshot",
        hwm_mb,
        "MB",
    ));
    report.rows.push(
        Row::target("mesos", "Mesos records rewritten by an in-sync resync", writes as f64, "records", "0", writes == 0)
            .note(format!("POST /cleanup -> resubscribe -> resync: {in_sync_s:.2} s; VmHWM then {hwm_after_mb:.0} MB, VmRSS {rss_after_mb:.0} MB")),
    );
    report.rows.push(
        Row::target(
            "mesos",
            "Mesos event -> etcd watch, p99",
            s.p99,
            "ms",
            "<= 10 ms",
            s.p99 <= EVENT_P99_TARGET_MS,
        )
        .note(format!(
            "{} health flips; p50 {:.2} ms, max {:.2} ms",
            latencies.len(),
            s.p50,
            s.max
        )),
    );
    report.details.insert(
        "mesos".into(),
        json!({"agents": agents, "frameworks": FRAMEWORKS, "tasks": tasks, "snapshot_s": snapshot_s,
               "vmhwm_mb": hwm_mb, "vmrss_after_in_sync_mb": rss_after_mb, "in_sync_s": in_sync_s, "in_sync_writes": writes,
               "event_ms": latencies}),
    );
    // The DNS half after the subscriber's rows, so that its failure does not hide them.
    crate::mesos_dns::run(
        crate::mesos_dns::Setup {
            sim: &sim,
            etcd: &etcd.endpoint(),
            probe: (&probe, "probe.marathon.mesos."),
            samples,
            leader_changes: if quick { 3 } else { 10 },
            label: &label,
            subscriber: sub.http,
        },
        report,
    )
    .await?;
    drop(sub);
    sim.shutdown().await;
    Ok(())
}

/// How many records of a listing changed after `revision`.
fn changed_since(s: &registry::MesosSnapshot, revision: i64) -> usize {
    s.tasks
        .iter()
        .map(|t| t.mod_revision)
        .chain(s.agents.iter().map(|a| a.mod_revision))
        .chain(s.frameworks.iter().map(|f| f.mod_revision))
        .chain(s.masters.iter().map(|m| m.mod_revision))
        .chain(s.leader.iter().map(|l| l.mod_revision))
        .filter(|r| *r > revision)
        .count()
}
