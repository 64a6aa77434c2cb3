//! Render time of a herald-watcher template over many services (see BENCHMARKS.md):
//!
//! ```sh
//! cargo run --release -p herald-guestutils --example render_bench -- \
//!     examples/haproxy/haproxy.cfg.j2 --apps 1000 --tasks 3 --runs 50
//! ```
//!
//! Builds a [`Catalog`] of `--apps` apps (each with labels, one port with a service port and
//! a vhost on every other app) and `--tasks` running tasks each, then times `--runs` render
//! passes as herald-watcher does them (the context, then the template): the first pass
//! (every app converted into template values) and a pass after one task's health changed
//! (that app converted again). Prints medians and spreads; `--print` prints one render
//! instead. No etcd, no files written: this measures the renderer alone.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use herald_guestutils::template::{Catalog, Template};
use herald_guestutils::{Env, Membership, Service};
use registry::harness::records;
use registry::{Change, Health, Snapshot, Versioned, WatchEvent};

/// Times template renders over a synthetic registry.
#[derive(Parser)]
struct Args {
    /// The template.
    template: std::path::PathBuf,
    /// Apps (each one service port).
    #[arg(long, default_value_t = 1000)]
    apps: u32,
    /// Running tasks per app.
    #[arg(long, default_value_t = 3)]
    tasks: u32,
    /// Timed renders.
    #[arg(long, default_value_t = 50)]
    runs: usize,
    /// Print one render and exit.
    #[arg(long)]
    print: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let env = Env::from_pairs([("HAPROXY_GROUP", "external")]);
    let root = Service::resolve(&env, "/")?;
    let mut catalog = Catalog::new(vec![root]);
    catalog.apply(0, WatchEvent::Resynced(snapshot(args.apps, args.tasks)));
    let source = std::fs::read_to_string(&args.template)
        .with_context(|| format!("cannot read {}", args.template.display()))?;
    let name = args.template.display().to_string();
    let template = Template::compile(&name, source, &env)?;
    let render = |catalog: &mut Catalog| -> anyhow::Result<String> {
        Ok(template.render(&catalog.context(Membership::Serving))?)
    };
    if args.print {
        print!("{}", render(&mut catalog)?);
        return Ok(());
    }
    let runs = args.runs.max(1);
    // Cold: every app converted into template values, then rendered (the first pass).
    let mut cold = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut fresh = catalog.clone();
        let start = Instant::now();
        std::hint::black_box(render(&mut fresh)?);
        cold.push(start.elapsed());
    }
    // After one change: one task's health flips, its app is converted again, all rendered.
    let bytes = render(&mut catalog)?.len();
    let mut changed = Vec::with_capacity(runs);
    for run in 0..runs {
        let health = if run % 2 == 0 {
            Health::Unhealthy
        } else {
            Health::Healthy
        };
        let task = records::task("/bench/app-0", "app-0.task-0", "10.0.0.1")
            .ports(vec![records::port("http", None, Some(31_000))])
            .health(health)
            .build();
        let start = Instant::now();
        catalog.apply(
            0,
            WatchEvent::Changes {
                revision: 2 + run as i64,
                changes: vec![Change::Task(task)],
            },
        );
        std::hint::black_box(render(&mut catalog)?);
        changed.push(start.elapsed());
    }
    println!(
        "{} apps x {} tasks, output {bytes} bytes, n={runs}: first pass {}; after one change {}",
        args.apps,
        args.tasks,
        summary(cold),
        summary(changed)
    );
    Ok(())
}

/// `median X ms (min, max)`.
fn summary(mut times: Vec<Duration>) -> String {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "median {:.2} ms (min {:.2}, max {:.2})",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1])
    )
}

/// `apps` apps `/bench/app-N` with `tasks` running tasks each, on agents 10.0.x.y.
fn snapshot(apps: u32, tasks: u32) -> Snapshot {
    let mut snapshot = Snapshot {
        revision: 1,
        ..Snapshot::default()
    };
    for a in 0..apps {
        let id = format!("/bench/app-{a}");
        let mut app = records::app(&id).port("http", None).build();
        app.ports[0].service_port = Some(10_000 + (a % 50_000) as u16);
        app.labels.insert("HAPROXY_GROUP".into(), "external".into());
        if a % 2 == 0 {
            app.labels
                .insert("HAPROXY_0_VHOST".into(), format!("app-{a}.example.com"));
        }
        snapshot.apps.push(Versioned {
            record: app,
            mod_revision: 1,
        });
        for t in 0..tasks {
            let n = a * tasks + t;
            let host = format!("10.0.{}.{}", (n / 250) % 250, n % 250 + 1);
            let port = records::port("http", None, Some(31_000 + (n % 1000) as u16));
            let task = records::task(&id, &format!("app-{a}.task-{t}"), &host)
                .ports(vec![port])
                .build();
            snapshot.tasks.push(Versioned {
                record: task,
                mod_revision: 1,
            });
        }
    }
    snapshot
}
