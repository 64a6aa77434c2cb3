//! `herald-bench`: Herald's benchmark harness. Starts what it needs on loopback (etcd,
//! herald-dns, NSD, Knot, the subscriber, the Marathon simulator, watchers), runs each
//! benchmark with bounded time, prints a Markdown table and writes a JSON file.
//! Run it through `./bench.sh` (which builds everything in release mode first).

mod change;
mod dns;
mod dnsperf;
mod dnsq;
mod fixture;
mod freshness;
mod http;
mod ingest;
mod mesos;
mod mesos_dns;
mod page;
mod procs;
mod report;
mod resync;
mod scale;
mod stats;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, Subcommand};

use report::{Report, Row};

/// Herald's benchmarks.
#[derive(Parser, Debug)]
#[command(name = "herald-bench", version, about)]
struct Cli {
    /// Which benchmark.
    #[command(subcommand)]
    bench: Bench,
    /// Short runs (fewer repetitions, shorter loads): the whole set in under 3 minutes.
    #[arg(long, global = true, env = "HERALD_BENCH_QUICK")]
    quick: bool,
    /// Where the JSON results go.
    #[arg(
        long,
        global = true,
        env = "HERALD_BENCH_OUT",
        default_value = "target/bench/results.json"
    )]
    out: PathBuf,
}

/// The benchmarks.
#[derive(Subcommand, Debug, Clone, Copy, PartialEq, Eq)]
enum Bench {
    /// Every benchmark, in order.
    All,
    /// DNS answer cost: herald-dns vs NSD vs Knot.
    Dns,
    /// Registry write / subscriber event -> changed DNS answer and watcher handler start.
    Freshness,
    /// Subscriber status events/s into etcd vs etcd's own put rate.
    Ingest,
    /// The Mesos source: a 5,000-agent / 50,000-task snapshot into etcd, an in-sync
    /// resync, Mesos event -> etcd.
    Mesos,
    /// DNS answering (CPU per query, latency) with and without the status page open in
    /// headless Chromium during a burst of changes, 50,000 tasks.
    Page,
    /// `/cleanup` over 10,000 apps / 50,000 tasks.
    Resync,
    /// herald-dns memory, start to first answer and update time at 1k, 10k, 50k and 200k tasks.
    Scale,
}

impl Bench {
    fn name(self) -> &'static str {
        match self {
            Bench::All => "all",
            Bench::Dns => "dns",
            Bench::Freshness => "freshness",
            Bench::Ingest => "ingest",
            Bench::Mesos => "mesos",
            Bench::Page => "page",
            Bench::Resync => "resync",
            Bench::Scale => "scale",
        }
    }

    /// The time limit of one benchmark.
    fn limit(self, quick: bool) -> Duration {
        let secs = match self {
            Bench::Dns => 300,
            Bench::Freshness => 240,
            Bench::Ingest => 180,
            Bench::Mesos => 420,
            Bench::Page => 300,
            Bench::Resync => 180,
            Bench::Scale => 360,
            Bench::All => 1500,
        };
        Duration::from_secs(if quick { secs / 3 } else { secs })
    }
}

async fn run_one(bench: Bench, quick: bool, report: &mut Report) -> Result<()> {
    match bench {
        Bench::Dns => dns::run(quick, report).await,
        Bench::Freshness => freshness::run(quick, report).await,
        Bench::Ingest => ingest::run(quick, report).await,
        Bench::Mesos => mesos::run(quick, report).await,
        Bench::Page => page::run(quick, report).await,
        Bench::Resync => resync::run(quick, report).await,
        Bench::Scale => scale::run(quick, report).await,
        Bench::All => Ok(()),
    }
}

async fn run_all(cli: &Cli, report: &mut Report) {
    let benches = match cli.bench {
        Bench::All => vec![
            Bench::Dns,
            Bench::Freshness,
            Bench::Ingest,
            Bench::Mesos,
            Bench::Page,
            Bench::Resync,
            Bench::Scale,
        ],
        one => vec![one],
    };
    for bench in benches {
        eprintln!("==> {}", bench.name());
        let limit = bench.limit(cli.quick);
        let result = tokio::time::timeout(limit, run_one(bench, cli.quick, report)).await;
        let error = match result {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => format!("{e:#}"),
            Err(_) => format!("time limit of {limit:?} reached"),
        };
        eprintln!("{}: {error}", bench.name());
        report.rows.push(Row::not_measured(
            bench.name(),
            "(benchmark failed)",
            &error,
        ));
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut report = Report::new(cli.quick);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    // Dropping the benchmark future drops every child process handle, which kills it.
    tokio::select! {
        () = run_all(&cli, &mut report) => {}
        _ = tokio::signal::ctrl_c() => eprintln!("interrupted: children stopped, partial results follow"),
        _ = term.recv() => eprintln!("terminated: children stopped, partial results follow"),
    }
    println!("{}", report.table());
    report.write_json(&cli.out)?;
    eprintln!("results: {}", cli.out.display());
    Ok(())
}
