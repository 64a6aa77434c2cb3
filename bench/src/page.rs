//! Benchmark `page`: does herald-dns's status page slow DNS answering down? 10,000 apps x 5
//! tasks (the `scale` fixture) in etcd, one herald-dns. In each run dnsperf sends the `dns`
//! benchmark's query mix at a fixed rate while a burst of task address changes goes into
//! etcd (`change::Changer`, spread over the dnsperf window), either (a) with no browser or
//! (b) with one headless Chromium showing `/?view=tasks`, the live page subscribed to
//! `/ui/events` (it refetches its rows on every changed revision, at most 5 times a
//! second). A third case, quiet (no browser, no changes), is the baseline of DNS answering
//! alone; a fourth, (b) with the browser at `nice 19`, tells herald-dns's own extra work
//! from the browser's competing for the same cores on a small box. Measured per run: herald-dns's CPU per answered query, dnsperf's latency
//! percentiles (`-v`), loss, herald-dns's VmRSS and how long its threads waited for a CPU
//! (`/proc/PID/task/*/schedstat`: on a small box the browser competes with herald-dns and
//! dnsperf for the cores). The cases rotate, and the ratios page/no page are taken within
//! each run.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Result, bail};
use registry::Registry;
use registry::harness::chromium::{self, CHROMIUM};
use serde::Serialize;
use serde_json::json;

use crate::change::{self, Changer};
use crate::dns;
use crate::dnsperf::{self, Load, Stats};
use crate::dnsq;
use crate::fixture::{self, HeraldDns};
use crate::procs::{self, Proc};
use crate::report::{Report, Row};
use crate::stats::median;

const APPS: usize = 10_000;
const TASKS: usize = 5;
/// The fixed dnsperf rate (the `dns` benchmark's lower rate).
const RATE: u32 = 30_000;
/// Registry changes per second during a run (2,000 over a 10 s window).
const CHANGES_PER_S: usize = 200;
/// Changes per registry transaction (one every 50 ms).
const BATCH: usize = 10;
/// Time for the page to load and settle before a measured run.
const SETTLE: Duration = Duration::from_secs(3);

/// The two cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
enum Case {
    /// No browser, no changes.
    Quiet,
    /// No browser, the burst of changes.
    NoPage,
    /// The page open, the burst of changes.
    Page,
    /// [`Case::Page`] with the browser at `nice -n 19`.
    PageNiced,
}

/// One measured run.
#[derive(Clone, Debug, Serialize)]
struct Measure {
    case: Case,
    /// herald-dns utime+stime per answered query, microseconds.
    cpu_us_per_query: f64,
    /// herald-dns utime+stime over the run, seconds.
    herald_cpu_s: f64,
    /// The browser's process tree's utime+stime over the run, seconds.
    browser_cpu_s: Option<f64>,
    /// Established connections to the HTTP listener at the end of the run.
    http_connections: usize,
    /// Registry changes written during the run.
    changes: usize,
    /// Time herald-dns's threads spent runnable but waiting for a CPU, seconds.
    run_queue_wait_s: f64,
    /// herald-dns VmRSS after the run, MB.
    rss_mb: f64,
    /// herald-dns VmRSS after the run less before it (the browser opened), MB.
    rss_growth_mb: f64,
    dnsperf: Stats,
}

/// Runs the benchmark and adds its rows.
pub async fn run(quick: bool, report: &mut Report) -> Result<()> {
    let runs = if quick { 1 } else { 3 };
    let window = Duration::from_secs(if quick { 5 } else { 10 });
    let dir = tempfile::Builder::new()
        .prefix("herald-bench-page-")
        .tempdir()?;
    let query_file = dir.path().join("queries.txt");
    std::fs::write(
        &query_file,
        dns::query_lines(APPS, 100_000).join("\n") + "\n",
    )?;

    let etcd = fixture::etcd().await?;
    let registry = etcd.registry().await?;
    let started = std::time::Instant::now();
    fixture::load(&registry, APPS, TASKS).await?;
    eprintln!(
        "page: {} tasks in etcd ({:.1} s)",
        APPS * TASKS,
        started.elapsed().as_secs_f64()
    );
    let herald = HeraldDns::start(&etcd.endpoint(), 1).await?;
    herald
        .wait_for_app(APPS - 1, TASKS, Duration::from_secs(60))
        .await?;
    let browser = Path::new(CHROMIUM).exists();
    let cases: &[Case] = if browser {
        &[Case::Quiet, Case::NoPage, Case::Page, Case::PageNiced]
    } else {
        &[Case::Quiet, Case::NoPage]
    };
    let mut client = dnsq::Client::connect(herald.dns).await?;
    let mut changer = Changer::new();
    let mut results: Vec<Measure> = Vec::new();
    for run in 0..runs {
        // Rotate which case goes first (warm caches, a growing etcd, noisy neighbours).
        for i in 0..cases.len() {
            let case = cases[(i + run) % cases.len()];
            eprintln!("page: run {}/{runs}: {case:?}", run + 1);
            let ctx = Ctx {
                herald: &herald,
                registry: &registry,
                queries: &query_file,
                window,
            };
            let m = measure(&ctx, case, &mut changer, &mut client).await?;
            results.push(m);
            // Let the killed browser's processes go before the next run.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    add_rows(report, &results, runs, window, browser);
    report.details.insert(
        "page".into(),
        json!({
            "apps": APPS, "tasks_per_app": TASKS, "rate": RATE, "window_s": window.as_secs(),
            "changes_per_s": CHANGES_PER_S, "batch": BATCH, "runs": results,
        }),
    );
    Ok(())
}

/// What every run shares.
struct Ctx<'a> {
    herald: &'a HeraldDns,
    registry: &'a Registry,
    queries: &'a Path,
    window: Duration,
}

async fn measure(
    ctx: &Ctx<'_>,
    case: Case,
    changer: &mut Changer,
    client: &mut dnsq::Client,
) -> Result<Measure> {
    let pid = ctx.herald.proc.pid();
    let http = ctx.herald.http;
    let mut browser = match case {
        Case::Quiet | Case::NoPage => None,
        Case::Page | Case::PageNiced => Some(
            Browser::open(
                &format!("http://{http}/?view=tasks"),
                http,
                case == Case::PageNiced,
            )
            .await?,
        ),
    };
    let rss_before = procs::status_bytes(pid, "VmRSS")? as f64 / 1e6;
    let browser_before = match &browser {
        Some(b) => Some(procs::tree_cpu_seconds(b.proc.pid())?),
        None => None,
    };
    let load = Load {
        rate: Some(RATE),
        duration: ctx.window,
        clients: 4,
        outstanding: 500,
        latencies: true,
    };
    let window = if case == Case::Quiet {
        Duration::ZERO
    } else {
        ctx.window
    };
    let before = procs::cpu_seconds(pid)?;
    let waited_before = run_queue_wait(pid);
    let (stats, last) = tokio::join!(
        dnsperf::run(ctx.herald.dns, ctx.queries, &load),
        burst(ctx.registry, changer, window)
    );
    let after = procs::cpu_seconds(pid)?;
    let run_queue_wait_s = run_queue_wait(pid) - waited_before;
    let (stats, (changes, last)) = (stats?, last?);
    let browser_cpu_s = match (&mut browser, browser_before) {
        (Some(b), Some(before)) => {
            b.proc.check_alive()?;
            Some(procs::tree_cpu_seconds(b.proc.pid())? - before)
        }
        _ => None,
    };
    let http_connections = established(http.port());
    drop(browser);
    // The burst's last change must have reached the index.
    if let Some((k, ip)) = last {
        change::wait_for_ip(client, k, ip, change::LIMIT).await?;
    }
    Ok(Measure {
        case,
        cpu_us_per_query: (after - before) * 1e6 / stats.completed.max(1) as f64,
        herald_cpu_s: after - before,
        browser_cpu_s,
        http_connections,
        changes,
        run_queue_wait_s,
        rss_mb: procs::status_bytes(pid, "VmRSS")? as f64 / 1e6,
        rss_growth_mb: procs::status_bytes(pid, "VmRSS")? as f64 / 1e6 - rss_before,
        dnsperf: stats,
    })
}

/// Writes `CHANGES_PER_S` task address changes a second, `BATCH` per transaction, over 90%
/// of `window`; returns how many and the last one (app, address).
async fn burst(
    registry: &Registry,
    changer: &mut Changer,
    window: Duration,
) -> Result<(usize, Option<(usize, std::net::Ipv4Addr)>)> {
    let txns = (window.as_secs_f64() * CHANGES_PER_S as f64 / BATCH as f64) as usize;
    if txns == 0 {
        return Ok((0, None));
    }
    let gap = window.mul_f64(0.9) / txns as u32;
    let mut ticker = tokio::time::interval(gap);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = None;
    let mut written = 0;
    for t in 0..txns {
        ticker.tick().await;
        let mut ops = Vec::with_capacity(BATCH);
        for b in 0..BATCH {
            // Spread over the apps, a different one each time (7919 is prime to APPS);
            // every run changes the same apps.
            let k = ((t * BATCH + b) * 7919) % APPS;
            let (op, ip) = changer.next(k)?;
            ops.push(op);
            last = Some((k, ip));
        }
        registry.apply(ops).await?;
        written += BATCH;
    }
    Ok((written, last))
}

/// Seconds the threads of `pid` have spent runnable but not running (the second field of
/// `/proc/PID/task/TID/schedstat`, ns); 0 when unreadable. Threads that ended are not
/// counted (herald-dns's threads live as long as it does).
fn run_queue_wait(pid: u32) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0.0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .sum::<f64>()
        / 1e9
}

/// Headless Chromium showing one URL, in its own process group, killed with the whole
/// group when dropped (the wrapper script, the browser, its zygote, renderer, GPU and
/// network processes).
struct Browser {
    proc: Proc,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium on `url` with a fresh profile (at `nice 19` if `niced`) and waits until it holds a connection
    /// to `http`, then [`SETTLE`].
    async fn open(url: &str, http: SocketAddr, niced: bool) -> Result<Browser> {
        let profile = tempfile::Builder::new()
            .prefix("herald-bench-chromium-")
            .tempdir()?;
        let mut cmd = if niced {
            let mut nice = Command::new("nice");
            nice.args(["-n", "19", CHROMIUM]);
            nice
        } else {
            Command::new(CHROMIUM)
        };
        cmd.args(chromium::headless_flags(profile.path()))
            .arg(url)
            .process_group(0);
        let mut browser = Browser {
            proc: Proc::spawn("chromium", &mut cmd)?,
            _profile: profile,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while established(http.port()) == 0 {
            browser.proc.check_alive()?;
            if tokio::time::Instant::now() > deadline {
                bail!("chromium did not connect to {http} within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(SETTLE).await;
        browser.proc.check_alive()?;
        if established(http.port()) == 0 {
            bail!("chromium holds no connection to {http} (no live feed)");
        }
        Ok(browser)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The group's id is the leader's pid (`process_group(0)`); `Proc`'s own drop then
        // reaps the leader.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.proc.pid())])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Established TCP connections whose local port is `port` (the server's side of the
/// browser's connections), from `/proc/net/tcp`.
fn established(port: u16) -> usize {
    std::fs::read_to_string("/proc/net/tcp").map_or(0, |t| count_established(&t, port))
}

fn count_established(table: &str, port: u16) -> usize {
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let mut fields = line.split_whitespace().skip(1);
            let local = fields.next().and_then(|a| a.rsplit_once(':'));
            let state = fields.nth(1);
            local.is_some_and(|(_, p)| u16::from_str_radix(p, 16) == Ok(port))
                && state == Some("01")
        })
        .count()
}

fn add_rows(
    report: &mut Report,
    results: &[Measure],
    runs: usize,
    window: Duration,
    browser: bool,
) {
    let of = |case: Case| -> Vec<&Measure> { results.iter().filter(|m| m.case == case).collect() };
    let med = |ms: &[&Measure], f: &dyn Fn(&Measure) -> f64| -> f64 {
        median(&ms.iter().map(|m| f(m)).collect::<Vec<_>>()).unwrap_or(f64::NAN)
    };
    let cpu = |m: &Measure| m.cpu_us_per_query;
    let p99 = |m: &Measure| m.dnsperf.latency.map_or(f64::NAN, |l| l.p99 * 1e3);
    let changes = of(Case::NoPage).first().map_or(0, |m| m.changes);
    let label = |case: Case| match case {
        Case::Quiet => "quiet",
        Case::NoPage => "changes, no page",
        Case::Page => "changes, page open",
        Case::PageNiced => "changes, page open, browser niced",
    };
    let mut cases = vec![Case::Quiet, Case::NoPage];
    if browser {
        cases.extend([Case::Page, Case::PageNiced]);
    }
    for case in cases {
        let ms = of(case);
        let n = ms.len();
        let what = match case {
            Case::Quiet => "no browser, no registry changes".to_string(),
            Case::NoPage => format!("no browser; {changes} task address changes in the window"),
            Case::Page | Case::PageNiced => format!(
                "headless Chromium{} on /?view=tasks (live feed); {changes} task address changes in the window; \
                 chromium's own CPU {:.2} s per run, {:.0} connection(s) to the HTTP listener",
                if case == Case::PageNiced {
                    " at nice 19"
                } else {
                    ""
                },
                med(&ms, &|m| m.browser_cpu_s.unwrap_or(f64::NAN)),
                med(&ms, &|m| m.http_connections as f64)
            ),
        };
        report.rows.push(
            Row::info(
                "page",
                &format!("herald-dns CPU per query @{RATE}/s, {}", label(case)),
                med(&ms, &cpu),
                "us",
            )
            .note(format!(
                "median of {n}; {} tasks; dnsperf -Q {RATE} -c 4 -q 500 -v, {} s; {what}; herald-dns {:.2} s CPU per run, \
                 its threads waited {:.2} s for a CPU; loss {:.3}%",
                APPS * TASKS,
                window.as_secs(),
                med(&ms, &|m| m.herald_cpu_s),
                med(&ms, &|m| m.run_queue_wait_s),
                med(&ms, &|m| m.dnsperf.loss() * 100.0),
            )),
        );
        let ms_of = |f: &dyn Fn(&crate::stats::Summary) -> f64| {
            med(&ms, &|m| {
                m.dnsperf.latency.as_ref().map_or(f64::NAN, f) * 1e3
            })
        };
        report.rows.push(
            Row::info(
                "page",
                &format!("herald-dns latency p99 @{RATE}/s, {}", label(case)),
                med(&ms, &p99),
                "ms",
            )
            .note(format!(
                "p50 {:.3} ms, p99.9 {:.3} ms, max {:.2} ms (medians of {n})",
                ms_of(&|l| l.p50),
                ms_of(&|l| l.p999),
                ms_of(&|l| l.max),
            )),
        );
        report.rows.push(
            Row::info(
                "page",
                &format!("herald-dns VmRSS growth over a run, {}", label(case)),
                med(&ms, &|m| m.rss_growth_mb),
                "MB",
            )
            .note(format!(
                "median of {n}; VmRSS after the runs {}",
                ms.iter()
                    .map(|m| format!("{:.1}", m.rss_mb))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
    }
    if !browser {
        let reason = format!("{CHROMIUM} is missing");
        for metric in [
            "herald-dns with the page open".into(),
            "CPU per query ratio page/no page".into(),
            "latency p50 ratio page/no page".into(),
            "latency p99 ratio page/no page".to_string(),
        ] {
            report
                .rows
                .push(Row::not_measured("page", &metric, &reason));
        }
        return;
    }
    // Within each run: one of each case.
    let none = of(Case::NoPage);
    let p50 = |m: &Measure| m.dnsperf.latency.map_or(f64::NAN, |l| l.p50 * 1e3);
    for (case, what) in [
        (Case::Page, "page"),
        (Case::PageNiced, "page (browser niced)"),
    ] {
        let page = of(case);
        for (figure, f) in [
            ("CPU per query", &cpu as &dyn Fn(&Measure) -> f64),
            ("latency p50", &p50),
            ("latency p99", &p99),
        ] {
            let r: Vec<f64> = (0..runs)
                .filter_map(|i| Some(f(page.get(i)?) / f(none.get(i)?)))
                .collect();
            let each: Vec<String> = r.iter().map(|x| format!("{x:.2}")).collect();
            report.rows.push(
                Row::info(
                    "page",
                    &format!("{figure} ratio {what}/no page"),
                    median(&r).unwrap_or(f64::NAN),
                    "x",
                )
                .note(format!(
                    "both with the burst of changes; median of per-run ratios {}",
                    each.join(", ")
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_established_connections_on_a_local_port() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1\n\
           1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 2\n\
           2: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 3\n\
           3: 0100007F:1F90 0100007F:D432 06 00000000:00000000 00:00000000 00000000  1000        0 4\n";
        assert_eq!(count_established(table, 0x1F90), 1);
        assert_eq!(count_established(table, 0xD431), 1);
        assert_eq!(count_established(table, 80), 0);
    }
}
