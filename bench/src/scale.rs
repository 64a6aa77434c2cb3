//! Benchmark 5, scale: herald-dns's resident memory, the time from its start to its first
//! answer, and its update time per change (registry write -> changed answer) at 1k, 10k,
//! 50k and 200k tasks (5 tasks per app), each size with a freshly started herald-dns that
//! loads the whole registry. Issue #18's targets are at 50k tasks.

use std::time::Duration;

use anyhow::Result;
use serde_json::json;

use crate::change::{self, Changer};
use crate::dnsq;
use crate::fixture::{self, HeraldDns};
use crate::procs;
use crate::report::{Report, Row};
use crate::stats::Summary;

const TASKS_PER_APP: usize = 5;
/// The size the targets are set at (issue #18).
const TARGET_TASKS: usize = 50_000;
/// RSS target with 50,000 tasks.
const RSS_TARGET_MB: f64 = 48.0;
/// Start-to-first-answer target with 50,000 tasks, in seconds.
const START_TARGET_S: f64 = 1.0;

/// Runs the benchmark and adds its rows.
pub async fn run(quick: bool, report: &mut Report) -> Result<()> {
    let sizes: &[usize] = &[1_000, 10_000, TARGET_TASKS, 200_000];
    let changes = if quick { 40 } else { 200 };
    let etcd = fixture::etcd().await?;
    let registry = etcd.registry().await?;
    let mut details = Vec::new();
    for &tasks in sizes {
        let apps = tasks / TASKS_PER_APP;
        let started = std::time::Instant::now();
        fixture::load(&registry, apps, TASKS_PER_APP).await?;
        eprintln!(
            "scale: {tasks} tasks in etcd ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
        let started = std::time::Instant::now();
        let herald = HeraldDns::start(&etcd.endpoint(), 2).await?;
        herald
            .wait_for_app(apps - 1, TASKS_PER_APP, Duration::from_secs(60))
            .await?;
        let load_s = started.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let rss_mb = procs::status_bytes(herald.proc.pid(), "VmRSS")? as f64 / 1e6;
        let mut client = dnsq::Client::connect(herald.dns).await?;
        let mut changer = Changer::new();
        let mut samples = Vec::with_capacity(changes);
        for i in 0..changes {
            let k = (i * 7919) % apps;
            samples.push(change::write_to_answer(&registry, &mut client, &mut changer, k).await?);
        }
        let s = Summary::of(&samples);
        let rss_after_mb = procs::status_bytes(herald.proc.pid(), "VmRSS")? as f64 / 1e6;
        let hwm_mb = procs::status_bytes(herald.proc.pid(), "VmHWM")? as f64 / 1e6;
        let label = format!("{}k tasks", tasks / 1000);
        let rss_name = format!("herald-dns RSS, {label}");
        let start_name = format!("start to first answer, {label}");
        let (rss_row, start_row) = if tasks == TARGET_TASKS {
            let rss_target = format!("<= {RSS_TARGET_MB} MB");
            let start_target = format!("<= {START_TARGET_S} s");
            (
                Row::target(
                    "scale",
                    &rss_name,
                    rss_mb,
                    "MB",
                    &rss_target,
                    rss_mb <= RSS_TARGET_MB,
                ),
                Row::target(
                    "scale",
                    &start_name,
                    load_s,
                    "s",
                    &start_target,
                    load_s <= START_TARGET_S,
                ),
            )
        } else {
            (
                Row::info("scale", &rss_name, rss_mb, "MB"),
                Row::info("scale", &start_name, load_s, "s"),
            )
        };
        report.rows.push(rss_row.note(format!(
            "VmRSS after load; {rss_after_mb:.1} MB after {changes} changes (VmHWM {hwm_mb:.1} MB)"
        )));
        report.rows.push(start_row.note(
            "herald-dns spawned -> the zone answered from the full load (SOA, then the last app's A, polled every 50 ms)",
        ));
        report.rows.push(
            Row::info("scale", &format!("update time p50, {label}"), s.p50, "ms").note(format!(
                "registry write -> changed answer; p99 {:.2} ms, max {:.2} ms, n={}",
                s.p99, s.max, s.count
            )),
        );
        details.push(json!({
            "tasks": tasks, "apps": apps, "rss_mb": rss_mb, "rss_after_changes_mb": rss_after_mb, "vmhwm_mb": hwm_mb,
            "start_to_first_answer_s": load_s, "update_ms": s,
        }));
        if tasks == TARGET_TASKS {
            match static_servers(&herald, apps, report).await {
                Ok(figures) => details.push(figures),
                Err(e) => report.rows.push(Row::not_measured(
                    "scale",
                    "NSD and Knot memory with the same records",
                    &format!("{e:#}"),
                )),
            }
        }
        drop(herald);
        if tasks == TARGET_TASKS {
            // Before the larger sizes: it rewrites exactly the tasks of this size.
            details.push(named_ports(&etcd, &registry, report).await?);
        }
    }
    report.details.insert("scale".into(), json!(details));
    Ok(())
}

/// NSD's and Knot's memory for the same records as a static zone, beside herald-dns's,
/// each as its process tree's PSS. The zone is rendered from herald-dns's own answers
/// (every app's A and SRV records and the SRV targets' A records, as the `dns` benchmark
/// renders it): herald-dns serves more than that (`T.slave`, canonical names, PTRs).
async fn static_servers(
    herald: &HeraldDns,
    apps: usize,
    report: &mut Report,
) -> Result<serde_json::Value> {
    let dir = tempfile::Builder::new()
        .prefix("herald-bench-scale-")
        .tempdir()?;
    let herald_mb = procs::tree_pss_bytes(herald.proc.pid())? as f64 / 1e6;
    let zone = crate::dns::render_zone(herald.dns, apps).await?;
    std::fs::write(dir.path().join("mesos.zone"), &zone)?;
    let records = zone.lines().count();
    let walked_mb = procs::tree_pss_bytes(herald.proc.pid())? as f64 / 1e6;
    let size = format!("{}k tasks", TARGET_TASKS / 1000);
    let mut figures = json!({"zone_records": records, "herald_dns_pss_mb": herald_mb,
        "herald_dns_pss_after_walk_mb": walked_mb});
    report.rows.push(
        Row::info("scale", &format!("herald-dns PSS, {size}"), herald_mb, "MB").note(format!(
            "beside NSD and Knot below; its index holds the zone's records and more; {walked_mb:.1} MB after answering each of the zone's names once (its answer caches)"
        )),
    );
    let nsd = crate::dns::start_nsd(dir.path()).await?;
    let knot = crate::dns::start_knot(dir.path()).await?;
    for server in [&nsd, &knot] {
        let mb = procs::tree_pss_bytes(server.proc.pid())? as f64 / 1e6;
        report.rows.push(
            Row::info("scale", &format!("{} PSS, {size}", server.name), mb, "MB").note(
                format!("the same A/SRV records as a static zone ({records} records, rendered from herald-dns's answers); its processes' PSS"),
            ),
        );
        figures[format!("{}_pss_mb", server.name)] = json!(mb);
    }
    Ok(figures)
}

/// A heavier shape at the target size, over the registry that holds its plain tasks: every
/// task with three named ports (more SRV records per task; named-port SRV names per app).
async fn named_ports(
    etcd: &registry::harness::EtcdServer,
    registry: &registry::Registry,
    report: &mut Report,
) -> Result<serde_json::Value> {
    let tasks = TARGET_TASKS;
    let apps = tasks / TASKS_PER_APP;
    load_with_ports(registry, apps).await?;
    let herald = HeraldDns::start(&etcd.endpoint(), 2).await?;
    herald
        .wait_for_app(apps - 1, TASKS_PER_APP, Duration::from_secs(60))
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_mb = procs::status_bytes(herald.proc.pid(), "VmRSS")? as f64 / 1e6;
    report.rows.push(
        Row::info(
            "scale",
            &format!("herald-dns RSS, {}k tasks x 3 named ports", tasks / 1000),
            rss_mb,
            "MB",
        )
        .note("VmRSS after load; ports http, admin, metrics on every task"),
    );
    Ok(json!({"tasks": tasks, "apps": apps, "ports_per_task": 3, "rss_mb": rss_mb}))
}

/// Rewrites the `apps x 5` tasks of `fixture::load` with three named host ports each.
async fn load_with_ports(registry: &registry::Registry, apps: usize) -> Result<()> {
    let mut ops = Vec::with_capacity(1_000);
    for k in 0..apps {
        for j in 0..TASKS_PER_APP {
            let mut task = fixture::task(k, j, fixture::task_ip(k, j));
            task.ports = ["http", "admin", "metrics"]
                .iter()
                .enumerate()
                .map(|(p, name)| registry::TaskPort {
                    name: Some((*name).into()),
                    protocols: vec![registry::Protocol::Tcp],
                    container_port: None,
                    host_port: Some(31000 + (3 * j + p) as u16),
                    service_port: None,
                })
                .collect();
            ops.push(registry::WriteOp::newer(registry::Write::PutTask(task)));
            if ops.len() >= 1_000 {
                registry.apply(std::mem::take(&mut ops)).await?;
            }
        }
    }
    registry.apply(ops).await?;
    Ok(())
}
