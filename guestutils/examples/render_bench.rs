//! Render time of a herald-watcher template over many services (see BENCHMARKS.md):
//!
//! ```sh
//! cargo run --release -p herald-guestutils --example render_bench -- \
//!     examples/haproxy/haproxy.cfg.j2 --apps 1000 --tasks 3 --runs 50
//! ```
//!
//! Builds a [`Catalog`] of `--apps` apps (each with labels, one port with a service port and
//! a vhost on every other app) and `--tasks` running tasks each, then times `--runs` renders
//! of the whole context (building the data and rendering, as herald-watcher does per pass) and
//! prints the median, the spread and the output size. `--print` prints one render instead.
//! No etcd, no files written: this measures the renderer alone.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use herald_guestutils::template::{Catalog, Template};
use herald_guestutils::{Env, Membership, Service};
use registry::harness::records;
use registry::{Snapshot, Versioned, WatchEvent};

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
    let render =
        || -> anyhow::Result<String> { Ok(template.render(&catalog.data(Membership::Serving))?) };
    if args.print {
        print!("{}", render()?);
        return Ok(());
    }
    let bytes = render()?.len(); // warm-up
    let mut times: Vec<Duration> = Vec::with_capacity(args.runs);
    for _ in 0..args.runs.max(1) {
        let start = Instant::now();
        std::hint::black_box(render()?);
        times.push(start.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = times[times.len() / 2];
    println!(
        "{} apps x {} tasks: render median {:.2} ms (min {:.2}, max {:.2}, n={}), output {} bytes",
        args.apps,
        args.tasks,
        ms(median),
        ms(times[0]),
        ms(times[times.len() - 1]),
        times.len(),
        bytes
    );
    Ok(())
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
