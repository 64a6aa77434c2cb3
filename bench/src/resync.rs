//! Benchmark 4, resync: herald-subscriber's `POST /cleanup` (reconcile Marathon -> etcd)
//! over 10,000 apps / 50,000 tasks in marathon-sim: wall time when already in sync (and the
//! records it wrote then: those with a `mod_revision` newer than before it, must be none),
//! wall time from an empty registry against etcd's own put ceiling for the same number of
//! writes (measured on the same etcd afterwards, as `ingest` does), the subscriber's peak
//! memory (VmHWM) and its resident memory between reconciles (VmRSS).

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
const IN_SYNC_TARGET_S: f64 = 1.0;
const PEAK_TARGET_MB: f64 = 150.0;
const IDLE_TARGET_MB: f64 = 60.0;
/// From empty: at most this many times what etcd's put ceiling needs for the same writes.
const CEILING_TARGET: f64 = 1.1;
const PUT_TIME: Duration = Duration::from_secs(4);
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
    // The simulator's clock hands out strictly increasing milliseconds, so deploying 50,000
    // tasks puts its latest stamps minutes ahead of the wall clock; past the default 5 min
    // skew the subscriber would (rightly) rewrite those records on every reconcile.
    let sub = Subscriber::start_with(
        &etcd.endpoint(),
        &sim.url(),
        "callback",
        &["--max-clock-skew", "1h"],
    )
    .await?;
    crate::freshness::wait_for_tasks(&registry, tasks, Duration::from_secs(120)).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // How long the simulator alone takes to answer the listing (in this process, on the
    // same two cores; it renders once per state of its cluster, and the start-up reconcile
    // already asked for this one).
    let t = Instant::now();
    let (_, listing) = http::request(
        sim.addr(),
        "GET",
        "/v2/apps?embed=apps.tasks",
        CLEANUP_LIMIT,
    )
    .await?;
    let sim_answer_s = t.elapsed().as_secs_f64();
    let listing_mb = listing.len() as f64 / 1e6;
    drop(listing);

    let mut walls = Vec::new();
    let mut writes = Vec::new();
    let mut revisions = Vec::new();
    let mut cpus = Vec::new();
    for i in 0..runs {
        eprintln!("resync: in-sync /cleanup {}/{runs}", i + 1);
        let before = registry.ping().await?;
        let cpu = procs::cpu_seconds(sub.proc.pid())?;
        let wall = cleanup(&sub).await?;
        cpus.push(procs::cpu_seconds(sub.proc.pid())? - cpu);
        let after = registry.ping().await?;
        walls.push(wall);
        writes.push(written_since(&registry, before).await? as f64);
        revisions.push((after - before) as f64);
    }

    let hwm_in_sync_mb = procs::status_bytes(sub.proc.pid(), "VmHWM")? as f64 / 1e6;
    // Between reconciles: what the subscriber keeps once a run is over.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_mb = procs::status_bytes(sub.proc.pid(), "VmRSS")? as f64 / 1e6;

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

    let idle_after_mb = procs::status_bytes(sub.proc.pid(), "VmRSS")? as f64 / 1e6;
    // etcd's own ceiling for the same writes, on the same etcd, after the runs.
    let puts_per_s = crate::ingest::put_rate(&etcd.endpoint(), PUT_TIME).await?;
    let ceiling_s = (tasks + apps) as f64 / puts_per_s;

    let wall = median(&walls).unwrap_or(f64::NAN);
    let max_writes = writes.iter().copied().fold(0.0, f64::max);
    let label = format!("{}k apps / {}k tasks", apps / 1000, tasks / 1000);
    report.rows.push(
        Row::target(
            "resync",
            &format!("/cleanup in sync, {label}"),
            wall,
            "s",
            "<= 1 s",
            wall <= IN_SYNC_TARGET_S,
        )
        .note(format!(
            "median of {runs}: {}; the simulator alone takes {sim_answer_s:.2} s to answer the {listing_mb:.0} MB listing (rendered once per state)",
            list(&walls)
        )),
    );
    let cpu = median(&cpus).unwrap_or(f64::NAN);
    report.rows.push(
        Row::info("resync", "subscriber CPU of an in-sync /cleanup", cpu, "s")
            .note(format!("median of {runs}: {}; user + system", list(&cpus))),
    );
    report.rows.push(
        Row::target(
            "resync",
            "records written by an in-sync /cleanup",
            max_writes,
            "records",
            "0",
            max_writes == 0.0,
        )
        .note(format!(
            "records with a newer mod_revision, worst run; etcd revisions meanwhile {} (other writers: the status record)",
            list(&revisions)
        )),
    );
    report.rows.push(
        Row::target(
            "resync",
            &format!("/cleanup from empty etcd, {label}"),
            cold / ceiling_s,
            "x ceiling",
            "<= 1.1",
            cold / ceiling_s <= CEILING_TARGET,
        )
        .note(format!(
            "{cold:.2} s; etcd's put ceiling {puts_per_s:.0} puts/s needs {ceiling_s:.2} s for {} writes; {cold_writes} etcd revisions (txns of <= 125 writes); {stored} tasks stored after",
            tasks + apps
        )),
    );
    report.rows.push(
        Row::target(
            "resync",
            "subscriber peak memory (VmHWM)",
            hwm_mb,
            "MB",
            "<= 150 MB",
            hwm_mb <= PEAK_TARGET_MB,
        )
        .note(format!(
            "{hwm_in_sync_mb:.0} MB before the empty-etcd run (start-up sync + in-sync runs)"
        )),
    );
    report.rows.push(
        Row::target(
            "resync",
            "subscriber memory between reconciles (VmRSS)",
            idle_mb,
            "MB",
            "<= 60 MB",
            idle_mb <= IDLE_TARGET_MB,
        )
        .note(format!(
            "1 s after the in-sync runs; {idle_after_mb:.0} MB after the empty-etcd run"
        )),
    );
    report.details.insert(
        "resync".into(),
        json!({"apps": apps, "tasks": tasks, "in_sync_s": walls, "in_sync_writes": writes,
               "in_sync_revisions": revisions, "in_sync_cpu_s": cpus, "sim_answer_s": sim_answer_s, "listing_mb": listing_mb, "cold_s": cold, "cold_revisions": cold_writes,
               "etcd_puts_per_s": puts_per_s, "ceiling_s": ceiling_s,
               "stored_after_cold": stored, "vmhwm_mb": hwm_mb, "vmhwm_in_sync_mb": hwm_in_sync_mb,
               "vmrss_idle_mb": idle_mb, "vmrss_after_cold_mb": idle_after_mb}),
    );
    Ok(())
}

/// Records (tasks and apps) written after etcd revision `revision`.
async fn written_since(registry: &registry::Registry, revision: i64) -> Result<usize> {
    let snapshot = registry.list(&registry::Scope::All).await?;
    Ok(snapshot
        .tasks
        .iter()
        .map(|t| t.mod_revision)
        .chain(snapshot.apps.iter().map(|a| a.mod_revision))
        .filter(|&r| r > revision)
        .count())
}

fn list(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
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
