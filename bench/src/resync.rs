//! Benchmark 4, resync: herald-subscriber's `POST /cleanup` (reconcile Marathon -> etcd)
//! over 10,000 apps / 50,000 tasks in marathon-sim: wall time when already in sync (and the
//! number of etcd writes then, from etcd's revision before and after: must be 0), wall time
//! from an empty registry, and the subscriber's peak memory (VmHWM).

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use marathon_sim::{Agent, AppSpec, MarathonVersion, SimConfig, Simulator};
use serde_json::json;

use crate::fixture::{self, Subscriber};
use crate::http;
use crate::procs;
use crate::report::{Report, Row};
use crate::stats::median;

const TASKS_PER_APP: u32 = 5;
const WALL_TARGET_S: f64 = 3.0;
const CLEANUP_LIMIT: Duration = Duration::from_secs(60);

/// Runs the benchmark and adds its rows.
pub async fn run(quick: bool, report: &mut Report) -> Result<()> {
    let apps: usize = 10_000;
    let runs = if quick { 1 } else { 3 };
    let tasks = apps * TASKS_PER_APP as usize;
    let etcd = fixture::etcd().await?;
    let registry = etcd.registry().await?;
    let mut config = SimConfig::new(MarathonVersion::V1_10);
    // The simulator's host ports are 31000-32000 per agent: 60 agents hold 50k tasks.
    config.agents = Agent::default_agents(60);
    let sim = Simulator::start(config).await?;
    let t = Instant::now();
    for k in 0..apps {
        sim.deploy(AppSpec::new(&format!("/r{k}"), TASKS_PER_APP))
            .await?;
    }
    eprintln!(
        "resync: {apps} apps / {tasks} tasks deployed ({:.1} s)",
        t.elapsed().as_secs_f64()
    );

    // Callback mode: no event stream, only reconciles. The start-up reconcile fills etcd.
    let sub = Subscriber::start(&etcd.endpoint(), &sim.url(), "callback").await?;
    crate::freshness::wait_for_tasks(&registry, tasks, Duration::from_secs(120)).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut walls = Vec::new();
    let mut writes = Vec::new();
    for i in 0..runs {
        eprintln!("resync: in-sync /cleanup {}/{runs}", i + 1);
        let before = registry.ping().await?;
        let wall = cleanup(&sub).await?;
        let after = registry.ping().await?;
        walls.push(wall);
        writes.push((after - before) as f64);
    }

    let hwm_in_sync_mb = procs::status_bytes(sub.proc.pid(), "VmHWM")? as f64 / 1e6;

    // From an empty registry: every task and app record is created.
    let mut client = registry.client();
    client
        .delete(
            registry.layout().scope_prefix(&registry::Scope::All),
            Some(etcd_client::DeleteOptions::new().with_prefix()),
        )
        .await?;
    let before = registry.ping().await?;
    let cold = cleanup(&sub).await?;
    let cold_writes = registry.ping().await? - before;
    let stored = registry.list(&registry::Scope::All).await?.tasks.len();
    let hwm_mb = procs::status_bytes(sub.proc.pid(), "VmHWM")? as f64 / 1e6;

    let wall = median(&walls).unwrap_or(f64::NAN);
    let max_writes = writes.iter().copied().fold(0.0, f64::max);
    let label = format!("{}k apps / {}k tasks", apps / 1000, tasks / 1000);
    report.rows.push(
        Row::target(
            "resync",
            &format!("/cleanup in sync, {label}"),
            wall,
            "s",
            "<= 3 s",
            wall <= WALL_TARGET_S,
        )
        .note(format!("median of {runs}")),
    );
    report.rows.push(
        Row::target(
            "resync",
            "etcd writes of an in-sync /cleanup",
            max_writes,
            "revisions",
            "0",
            max_writes == 0.0,
        )
        .note("etcd revision after - before, worst run"),
    );
    report.rows.push(
        Row::target(
            "resync",
            &format!("/cleanup from empty etcd, {label}"),
            cold,
            "s",
            "<= 3 s",
            cold <= WALL_TARGET_S,
        )
        .note(format!(
            "{cold_writes} etcd revisions (txns of <= 125 writes); {stored} tasks stored after"
        )),
    );
    report.rows.push(
        Row::info("resync", "subscriber peak memory (VmHWM)", hwm_mb, "MB").note(format!(
            "{hwm_in_sync_mb:.0} MB before the empty-etcd run (start-up sync + in-sync runs)"
        )),
    );
    report.details.insert(
        "resync".into(),
        json!({"apps": apps, "tasks": tasks, "in_sync_s": walls, "in_sync_writes": writes,
               "cold_s": cold, "cold_revisions": cold_writes, "stored_after_cold": stored, "vmhwm_mb": hwm_mb, "vmhwm_in_sync_mb": hwm_in_sync_mb}),
    );
    Ok(())
}

/// `POST /cleanup`; returns its wall time in seconds.
async fn cleanup(sub: &Subscriber) -> Result<f64> {
    let t = Instant::now();
    let (status, body) = http::request(sub.http, "POST", "/cleanup", CLEANUP_LIMIT).await?;
    let wall = t.elapsed().as_secs_f64();
    if status != 200 {
        bail!(
            "POST /cleanup: {status} {}",
            body.chars().take(300).collect::<String>()
        );
    }
    Ok(wall)
}
