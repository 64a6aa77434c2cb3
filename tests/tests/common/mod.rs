//! Shared helpers of the system tests: the workspace binaries as child processes with
//! their logs captured, and the three views of the truth (etcd, DNS, a watcher) compared
//! with the simulator's.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use marathon_sim::Simulator;
use registry::harness::{KillOnDrop, free_port};
pub use registry::harness::{bin, eventually};
use registry::{Registry, Scope};

/// Deadline of every "eventually" poll: generous (three times the harness's own `WAIT`),
/// since CI machines are slow and busy.
pub const WAIT: Duration = Duration::from_secs(60);

/// A child process whose stdout and stderr go to a log file; SIGKILLed on drop.
pub struct Proc {
    name: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    child: Option<KillOnDrop>,
    pub log: PathBuf,
}

impl Proc {
    /// Starts workspace binary `name` with `args` and extra environment `env`, logging
    /// into `dir/<label>.log` (appended to across restarts).
    pub fn start(
        dir: &Path,
        label: &str,
        name: &str,
        args: &[String],
        env: &[(&str, &str)],
    ) -> Proc {
        let mut proc = Proc {
            name: name.into(),
            args: args.to_vec(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            child: None,
            log: dir.join(format!("{label}.log")),
        };
        proc.spawn();
        proc
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = KillOnDrop::spawn(
            Command::new(bin(&self.name))
                .args(&self.args)
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log),
        )
        .unwrap();
        self.child = Some(child);
    }

    /// SIGKILL, and wait for the process to be gone (dropping the child does both).
    pub fn kill(&mut self) {
        self.child = None;
    }

    /// Starts the same command again.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Everything the process logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// True while the process runs.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

/// `127.0.0.1:<free port>`.
pub fn free_addr() -> String {
    format!("127.0.0.1:{}", free_port())
}

/// `args` as owned strings.
pub fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// GETs `url` with curl: (status, body); status 0 when nothing answered.
pub fn curl(url: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "5", "-w", "\n%{http_code}", url])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// Task id -> host ports: the simulator's running tasks of `app` (the truth).
pub fn truth(sim: &Simulator, app: &str) -> BTreeMap<String, Vec<u16>> {
    sim.running_tasks()
        .into_iter()
        .filter(|t| t.app_id == app)
        .map(|t| (t.task_id, t.ports))
        .collect()
}

/// Task id -> host ports as etcd holds them for `app`.
pub async fn in_etcd(registry: &Registry, app: &str) -> Result<BTreeMap<String, Vec<u16>>, String> {
    let listing = registry
        .list(&Scope::All)
        .await
        .map_err(|e| e.to_string())?;
    Ok(listing
        .tasks
        .into_iter()
        .filter(|t| t.record.app_id.to_string() == app)
        .map(|t| {
            let ports = t.record.ports.iter().filter_map(|p| p.host_port).collect();
            (t.record.task_id, ports)
        })
        .collect())
}

/// `Ok` when `have` equals `want`, else a short description of the difference.
pub fn same(
    what: &str,
    want: &BTreeMap<String, Vec<u16>>,
    have: &BTreeMap<String, Vec<u16>>,
) -> Result<(), String> {
    if want == have {
        return Ok(());
    }
    let missing = want.keys().filter(|k| !have.contains_key(*k)).count();
    let extra = have.keys().filter(|k| !want.contains_key(*k)).count();
    Err(format!(
        "{what}: {} wanted, {} held, {missing} missing, {extra} extra",
        want.len(),
        have.len()
    ))
}

/// Runs `dig @dns` with `args`; returns stdout.
pub fn dig(dns: &str, args: &[&str]) -> String {
    let (ip, port) = dns.rsplit_once(':').unwrap();
    let out = Command::new("dig")
        .arg(format!("@{ip}"))
        .args(["-p", port, "+time=2", "+tries=1"])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The SRV ports herald-dns serves for `label` (over TCP, so nothing is truncated), sorted.
pub fn srv_ports(dns: &str, label: &str) -> Vec<u16> {
    let out = dig(
        dns,
        &[
            "+tcp",
            "+short",
            &format!("_{label}._tcp.marathon.mesos"),
            "SRV",
        ],
    );
    let mut ports: Vec<u16> = out
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2)?.parse().ok())
        .collect();
    ports.sort();
    ports
}

/// Every host port of `tasks`, sorted.
pub fn all_ports(tasks: &BTreeMap<String, Vec<u16>>) -> Vec<u16> {
    let mut ports: Vec<u16> = tasks.values().flatten().copied().collect();
    ports.sort();
    ports
}

/// The task ids of the last state a watcher handler wrote (its stdin JSON) to `file`.
pub fn watcher_state(file: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("no state yet: {e}"))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let instances = json["instances"]
        .as_array()
        .ok_or_else(|| format!("no instances in {text:.200}"))?;
    let mut ids: Vec<String> = instances
        .iter()
        .filter_map(|i| i["task_id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    Ok(ids)
}

/// herald-subscriber on a free port with `etcd_args` and `extra` flags; waits until its
/// `/healthz` answers. Returns the process and its HTTP address.
pub async fn subscriber(
    dir: &Path,
    etcd_args: &[String],
    marathon: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Proc, String) {
    let listen = free_addr();
    let mut args = strings(&["--listen", &listen, "--marathon", marathon]);
    args.extend_from_slice(etcd_args);
    args.extend(strings(extra));
    let proc = Proc::start(dir, "subscriber", "herald-subscriber", &args, env);
    let health = format!("http://{listen}/healthz");
    eventually(
        "herald-subscriber answers /healthz",
        WAIT,
        async || match curl(&health) {
            (0, _) => Err("not listening"),
            _ => Ok(()),
        },
    )
    .await;
    (proc, listen)
}

/// herald-dns on free ports (2 DNS threads, no upstreams reachable); waits until the
/// index is loaded and it answers. Returns the process, the DNS and the HTTP addresses.
pub async fn dns(
    dir: &Path,
    etcd_args: &[String],
    env: &[(&str, &str)],
    extra: &[&str],
) -> (Proc, String, String) {
    let dns = free_addr();
    let http = free_addr();
    let mut args = strings(&[
        "--dns-listen",
        &dns,
        "--http-listen",
        &http,
        "--threads",
        "2",
        "--upstream",
        "127.0.0.1:9",
    ]);
    args.extend_from_slice(etcd_args);
    args.extend(strings(extra));
    let proc = Proc::start(dir, "dns", "herald-dns", &args, env);
    eventually("herald-dns answers", WAIT, async || {
        let out = dig(&dns, &["mesos.", "SOA"]);
        if out.contains("status: NOERROR") {
            Ok(())
        } else {
            Err(out)
        }
    })
    .await;
    (proc, dns, http)
}

/// herald-watcher watching `service`; its handler writes the state it gets on stdin to
/// `dir/<label>.json`. Returns the process and that file.
pub fn watcher(dir: &Path, etcd_args: &[String], service: &str, label: &str) -> (Proc, PathBuf) {
    let out = dir.join(format!("{label}.json"));
    let mut args = strings(&[
        "--watch",
        service,
        "--wait",
        "100ms:1s",
        "--handler",
        "cat > \"$STATE_FILE.tmp\" && mv \"$STATE_FILE.tmp\" \"$STATE_FILE\"",
    ]);
    args.extend_from_slice(etcd_args);
    let file = out.to_string_lossy().into_owned();
    let proc = Proc::start(
        dir,
        label,
        "herald-watcher",
        &args,
        &[("STATE_FILE", &file)],
    );
    (proc, out)
}

/// `--etcd-endpoints` for plain endpoints.
pub fn endpoints(endpoints: &[String]) -> Vec<String> {
    vec!["--etcd-endpoints".into(), endpoints.join(",")]
}

/// Waits until etcd, herald-dns's SRV answers and the watcher's last state all equal the
/// simulator's running tasks of `app` (`label` is its DNS label).
pub async fn all_views_match(
    sim: &Simulator,
    registry: &Registry,
    app: &str,
    label: &str,
    dns: &str,
    watcher_file: &Path,
) -> BTreeMap<String, Vec<u16>> {
    eventually(
        "etcd, DNS and the watcher equal the simulator",
        WAIT,
        async || {
            let want = truth(sim, app);
            same("etcd", &want, &in_etcd(registry, app).await?)?;
            let served = srv_ports(dns, label);
            if served != all_ports(&want) {
                return Err(format!(
                    "DNS serves {} SRV ports, the truth has {}",
                    served.len(),
                    all_ports(&want).len()
                ));
            }
            let watched = watcher_state(watcher_file)?;
            let ids: Vec<String> = want.keys().cloned().collect();
            if watched != ids {
                return Err(format!(
                    "the watcher saw {} tasks, the truth has {}",
                    watched.len(),
                    ids.len()
                ));
            }
            Ok(want)
        },
    )
    .await
}

/// Drives about `per_second` status events per second for `seconds` through
/// `sim.burst` (in slices of a tenth of a second). Returns when each slice had been
/// published, so a test can tell which events went out during a fault.
pub async fn stream(
    sim: &Simulator,
    app: &str,
    per_second: usize,
    seconds: u64,
) -> Vec<tokio::time::Instant> {
    let slice = per_second / 10;
    let mut published = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    for _ in 0..seconds * 10 {
        tick.tick().await;
        sim.burst(app, slice).await.unwrap();
        published.push(tokio::time::Instant::now());
    }
    published
}

/// How many of `published` (from [`stream`]) fall between `from` and `to`.
pub fn published_between(
    published: &[tokio::time::Instant],
    from: tokio::time::Instant,
    to: tokio::time::Instant,
) -> usize {
    published.iter().filter(|t| (from..to).contains(t)).count()
}
