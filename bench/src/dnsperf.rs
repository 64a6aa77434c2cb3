//! Runs `dnsperf` (DNS-OARC) against a loopback server and parses its statistics.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::stats::Summary;

/// One dnsperf run's settings.
#[derive(Clone, Debug)]
pub struct Load {
    /// Target rate (`-Q`); `None` for as fast as dnsperf can go (peak).
    pub rate: Option<u32>,
    /// Run length (`-l`).
    pub duration: Duration,
    /// Client sockets (`-c`).
    pub clients: u32,
    /// Outstanding queries (`-q`).
    pub outstanding: u32,
    /// Report every answer's latency (`-v`) and summarise them in [`Stats::latency`]. It
    /// costs dnsperf a line of output per query: for fixed rates well below its peak.
    pub latencies: bool,
}

/// What dnsperf reports at the end of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Queries sent.
    pub sent: u64,
    /// Queries answered.
    pub completed: u64,
    /// Queries lost (timed out).
    pub lost: u64,
    /// Answered queries per second.
    pub qps: f64,
    /// Mean latency in seconds.
    pub avg_latency_s: f64,
    /// Largest latency in seconds.
    pub max_latency_s: f64,
    /// Mean response size in bytes.
    pub response_bytes: f64,
    /// Response codes and their counts (`NOERROR`, `NXDOMAIN`, ...).
    pub rcodes: Vec<(String, u64)>,
    /// Percentiles of the answers' latencies in seconds, with [`Load::latencies`].
    pub latency: Option<Summary>,
}

impl Stats {
    /// Lost queries as a share of those sent (0..=1).
    pub fn loss(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            self.lost as f64 / self.sent as f64
        }
    }
}

/// Runs dnsperf with `load` against `server`, reading queries from `queries`.
pub async fn run(server: SocketAddr, queries: &Path, load: &Load) -> Result<Stats> {
    let mut cmd = tokio::process::Command::new("dnsperf");
    cmd.arg("-s")
        .arg(server.ip().to_string())
        .arg("-p")
        .arg(server.port().to_string())
        .arg("-d")
        .arg(queries)
        .arg("-l")
        .arg(load.duration.as_secs_f64().max(1.0).round().to_string())
        .arg("-c")
        .arg(load.clients.to_string())
        .arg("-q")
        .arg(load.outstanding.to_string())
        .arg("-t")
        .arg("2");
    if let Some(rate) = load.rate {
        cmd.arg("-Q").arg(rate.to_string());
    }
    if load.latencies {
        cmd.arg("-v");
    }
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    let limit = load.duration + Duration::from_secs(15);
    let out = tokio::time::timeout(limit, cmd.output())
        .await
        .context("dnsperf did not finish in time")?
        .context("cannot run dnsperf (install Debian's dnsperf)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut stats = parse(&text).with_context(|| {
        format!(
            "unexpected dnsperf output: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    if load.latencies {
        stats.latency = Some(Summary::of(&latencies(&text)));
    }
    Ok(stats)
}

/// The latencies (seconds) of the answered queries in `-v` output: one line per answer,
/// `> RCODE name type latency`; timed-out (`> T`) and interrupted (`> I`) queries have none.
pub fn latencies(output: &str) -> Vec<f64> {
    output
        .lines()
        .filter_map(|line| line.strip_prefix("> "))
        .filter(|rest| !rest.starts_with("T ") && !rest.starts_with("I "))
        .filter_map(|rest| rest.split_whitespace().last()?.parse().ok())
        .collect()
}

/// Parses the "Statistics:" block of dnsperf's output.
pub fn parse(output: &str) -> Result<Stats> {
    let mut stats = Stats::default();
    let mut seen = 0;
    for line in output.lines().map(str::trim) {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let first = value.split_whitespace().next().unwrap_or("");
        match key {
            "Queries sent" => {
                stats.sent = first.parse()?;
                seen += 1;
            }
            "Queries completed" => {
                stats.completed = first.parse()?;
                seen += 1;
            }
            "Queries lost" => stats.lost = first.parse()?,
            "Queries per second" => stats.qps = first.parse()?,
            "Average Latency (s)" => {
                stats.avg_latency_s = first.parse()?;
                if let Some(max) = value.split("max ").nth(1) {
                    stats.max_latency_s = max.trim_end_matches(')').trim().parse()?;
                }
            }
            "Average packet size" => {
                if let Some(size) = value.split("response ").nth(1) {
                    stats.response_bytes = size.trim().parse()?;
                }
            }
            "Response codes" => {
                for part in value.split(',') {
                    let mut words = part.split_whitespace();
                    if let (Some(code), Some(count)) = (words.next(), words.next()) {
                        stats.rcodes.push((code.to_string(), count.parse()?));
                    }
                }
            }
            _ => {}
        }
    }
    if seen < 2 {
        bail!("no dnsperf statistics found");
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
[Status] Testing complete (time limit)

Statistics:

  Queries sent:         400000
  Queries completed:    399990 (100.00%)
  Queries lost:         10 (0.00%)

  Response codes:       NOERROR 359991 (90.00%), NXDOMAIN 39999 (10.00%)
  Average packet size:  request 38, response 85
  Run time (s):         8.000043
  Queries per second:   49998.481252

  Average Latency (s):  0.000108 (min 0.000013, max 0.003127)
  Latency StdDev (s):   0.000102
";

    #[test]
    fn parses_statistics() {
        let s = parse(SAMPLE).unwrap();
        assert_eq!((s.sent, s.completed, s.lost), (400000, 399990, 10));
        assert!((s.qps - 49998.481252).abs() < 1e-6);
        assert!((s.avg_latency_s - 0.000108).abs() < 1e-12);
        assert!((s.max_latency_s - 0.003127).abs() < 1e-12);
        assert_eq!(
            s.rcodes,
            vec![("NOERROR".into(), 359991), ("NXDOMAIN".into(), 39999)]
        );
        assert!((s.loss() - 0.000025).abs() < 1e-9);
        assert_eq!(s.response_bytes, 85.0);
    }

    #[test]
    fn parses_a_run_with_no_answers() {
        let s = parse(
            "  Queries sent:         100\n  Queries completed:    0 (0.00%)\n  \
             Queries lost:         100 (100.00%)\n\n  Response codes:       \n",
        )
        .unwrap();
        assert_eq!((s.completed, s.lost), (0, 100));
        assert!(s.rcodes.is_empty());
    }

    #[test]
    fn reads_verbose_latencies() {
        let out = "> NOERROR app1.marathon.mesos A 0.000052\n\
                   > NXDOMAIN nope1.marathon.mesos A 0.000110\n\
                   > T app2.marathon.mesos A\n\
                   [Status] Testing complete\n";
        assert_eq!(latencies(out), [0.000052, 0.000110]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("dnsperf: command not found").is_err());
    }
}
