//! Benchmark 3, ingest: status events per second that herald-subscriber turns into etcd
//! writes (SSE from marathon-sim's `burst`, single-node etcd) with zero lost records, and
//! etcd's own put rate on the same box in the same run (64 concurrent etcd-client puts) as
//! the ceiling.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use marathon_sim::{AppSpec, MarathonVersion, SimConfig, Simulator};
use registry::{AppId, Registry, Scope};
use serde_json::json;

use crate::fixture::{self, Subscriber};
use crate::http;
use crate::report::{Report, Row};
use crate::stats::median;

const APP: &str = "/burst";
const INSTANCES: u32 = 50;
const EVENTS_TARGET: f64 = 10_000.0;
const PUT_CONCURRENCY: usize = 64;
const EVENTS: &str = "herald_subscriber_events_total";

/// One run's figures.
#[derive(Clone, Copy, Debug, serde::Serialize)]
struct Run {
    events: u64,
    events_per_s: f64,
    lost_records: usize,
    failed_events: f64,
    etcd_puts_per_s: f64,
}

/// Runs the benchmark and adds its rows.
pub async fn run(quick: bool, report: &mut Report) -> Result<()> {
    let runs = if quick { 1 } else { 3 };
    let events: usize = if quick { 20_000 } else { 60_000 };
    let put_time = Duration::from_secs(if quick { 2 } else { 4 });
    let etcd = fixture::etcd().await?;
    let registry = etcd.registry().await?;
    let sim = Simulator::start(SimConfig::new(MarathonVersion::V1_10)).await?;
    sim.deploy(AppSpec::new(APP, INSTANCES)).await?;
    let sub = Subscriber::start(&etcd.endpoint(), &sim.url(), "sse").await?;
    sim.wait_for_event_streams(1, Duration::from_secs(30))
        .await?;
    crate::freshness::wait_for_tasks(&registry, INSTANCES as usize, Duration::from_secs(30))
        .await?;
    let mut results = Vec::new();
    for i in 0..runs {
        eprintln!("ingest: run {}/{runs}", i + 1);
        let base = http::metric_sum(&sub.metrics().await?, EVENTS);
        let failed_base = failures(&sub.metrics().await?);
        let t0 = Instant::now();
        sim.burst(APP, events).await?;
        let deadline = Instant::now() + Duration::from_secs(120);
        let (done, elapsed) = loop {
            let m = sub.metrics().await?;
            let n = http::metric_sum(&m, EVENTS) - base;
            if n >= events as f64 {
                break (n, t0.elapsed());
            }
            if Instant::now() > deadline {
                bail!("the subscriber handled {n} of {events} events in 120 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        let lost = lost_records(&registry, &sim).await?;
        let failed = failures(&sub.metrics().await?) - failed_base;
        let puts = put_rate(&etcd.endpoint(), put_time).await?;
        results.push(Run {
            events: done as u64,
            events_per_s: done / elapsed.as_secs_f64(),
            lost_records: lost,
            failed_events: failed,
            etcd_puts_per_s: puts,
        });
    }
    let med = |f: &dyn Fn(&Run) -> f64| {
        median(&results.iter().map(f).collect::<Vec<_>>()).unwrap_or(f64::NAN)
    };
    let rate = med(&|r| r.events_per_s);
    let lost: usize = results.iter().map(|r| r.lost_records).sum();
    let failed: f64 = results.iter().map(|r| r.failed_events).sum();
    let ok = rate >= EVENTS_TARGET && lost == 0 && failed == 0.0;
    report.rows.push(
        Row::target("ingest", "subscriber status events/s (SSE -> etcd)", rate, "ev/s", ">= 10000, 0 lost", ok)
            .note(format!(
                "median of {runs} bursts of {events}; lost records {lost}, failed/rejected events {failed}"
            )),
    );
    report.rows.push(
        Row::info(
            "ingest",
            "etcd put rate (64 concurrent puts, ceiling)",
            med(&|r| r.etcd_puts_per_s),
            "puts/s",
        )
        .note("same etcd, same run"),
    );
    report.rows.push(Row::info(
        "ingest",
        "ratio subscriber events / etcd puts",
        med(&|r| r.events_per_s / r.etcd_puts_per_s),
        "x",
    ));
    report.details.insert(
        "ingest".into(),
        json!({"app_instances": INSTANCES, "runs": results}),
    );
    Ok(())
}

/// Events the subscriber failed, rejected or found invalid.
fn failures(metrics: &str) -> f64 {
    ["failed", "rejected", "invalid"]
        .iter()
        .map(|o| http::metric_sum_where(metrics, EVENTS, &format!("outcome=\"{o}\"")))
        .sum()
}

/// Tasks that the simulator runs but etcd lacks, plus tasks etcd has that no longer run.
async fn lost_records(registry: &Registry, sim: &Simulator) -> Result<usize> {
    let truth: BTreeSet<String> = sim
        .running_tasks()
        .into_iter()
        .filter(|t| t.app_id == APP)
        .map(|t| t.task_id)
        .collect();
    let stored: BTreeSet<String> = registry
        .list(&Scope::App(AppId::parse(APP)?))
        .await?
        .tasks
        .into_iter()
        .map(|t| t.record.task_id)
        .collect();
    Ok(truth.symmetric_difference(&stored).count())
}

/// etcd's put rate with `PUT_CONCURRENCY` concurrent clients for `time`.
pub(crate) async fn put_rate(endpoint: &str, time: Duration) -> Result<f64> {
    let client = etcd_client::Client::connect([endpoint], None)
        .await
        .context("cannot connect to etcd")?;
    let count = Arc::new(AtomicU64::new(0));
    let value = "x".repeat(600);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..PUT_CONCURRENCY {
        let mut kv = client.kv_client();
        let count = count.clone();
        let value = value.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            while start.elapsed() < time {
                if kv
                    .put(format!("/bench/put/{w}/{}", i % 100), value.as_str(), None)
                    .await
                    .is_ok()
                {
                    count.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}
