//! The shared setup: synthetic task records (`/appK`, host networking, one port), an etcd
//! from the registry's harness, and a herald-dns process fed by it.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use hickory_proto::rr::RecordType;
use registry::harness::{EtcdServer, EtcdSpec, records};
use registry::{Registry, TaskRecord, Write, WriteOp};

use crate::dnsq;
use crate::procs::{self, Proc};

/// Records written per `Registry::apply` call when loading.
const LOAD_CHUNK: usize = 2_000;

/// The agent address of task `j` of app `k` (stable, unique up to 65,536 apps).
pub fn task_ip(k: usize, j: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, ((k >> 8) & 255) as u8, (k & 255) as u8, (j + 1) as u8)
}

/// A running task `j` of the app `/app{k}` on agent `10.x.y.(j+1)`, host port `31000+j`.
pub fn task(k: usize, j: usize, ip: Ipv4Addr) -> TaskRecord {
    let task_id = format!("app{k}.{:08x}-0000-4000-8000-{:012x}", k, j);
    records::task(&format!("/app{k}"), &task_id, &ip.to_string())
        .agent_id(&format!("2f3a9d0c-1111-4d7e-8a3b-5c2b1f0e9d77-S{j}"))
        .ports(vec![records::port("http", None, Some(31000 + j as u16))])
        .build()
}

/// Writes `apps x tasks` running task records.
pub async fn load(registry: &Registry, apps: usize, tasks: usize) -> Result<()> {
    let mut ops = Vec::with_capacity(LOAD_CHUNK);
    for k in 0..apps {
        for j in 0..tasks {
            ops.push(WriteOp::newer(Write::PutTask(task(k, j, task_ip(k, j)))));
            if ops.len() >= LOAD_CHUNK {
                registry.apply(std::mem::take(&mut ops)).await?;
            }
        }
    }
    if !ops.is_empty() {
        registry.apply(ops).await?;
    }
    Ok(())
}

/// A throwaway single-node etcd with a larger quota (50k records plus churn).
pub async fn etcd() -> Result<EtcdServer> {
    let spec = EtcdSpec {
        extra_args: vec!["--quota-backend-bytes".into(), "4294967296".into()],
        tls: false,
    };
    EtcdServer::start_with(spec)
        .await
        .context("cannot start etcd (install Debian's etcd-server)")
}

/// A herald-dns process.
pub struct HeraldDns {
    /// The process.
    pub proc: Proc,
    /// Its UDP/TCP DNS address.
    pub dns: SocketAddr,
    /// Its HTTP listener (API, status page).
    pub http: SocketAddr,
}

impl HeraldDns {
    /// Starts herald-dns on free loopback ports with `threads` DNS threads and waits until
    /// it answers the zone's SOA (after its first full load).
    pub async fn start(etcd_endpoint: &str, threads: usize) -> Result<HeraldDns> {
        let dns = procs::free_addr()?;
        let http = procs::free_addr()?;
        let mut cmd = Command::new(procs::binary("herald-dns")?);
        cmd.args(["--etcd-endpoints", etcd_endpoint])
            .args(["--dns-listen", &dns.to_string()])
            .args(["--http-listen", &http.to_string()])
            .args(["--threads", &threads.to_string()])
            .args(["--upstream", "127.0.0.1:9"])
            .env("HERALD_LOG", "warn,herald_registry=error");
        let mut server = HeraldDns {
            proc: Proc::spawn("herald-dns", &mut cmd)?,
            dns,
            http,
        };
        let mut client = dnsq::Client::connect(dns).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            server.proc.check_alive()?;
            if let Ok(a) = client
                .answer("mesos.", RecordType::SOA, Duration::from_millis(200))
                .await
                && a.rcode == "NoError"
            {
                return Ok(server);
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("herald-dns did not answer within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `appK.marathon.mesos A` has `count` addresses (the load has been seen).
    pub async fn wait_for_app(&self, k: usize, count: usize, limit: Duration) -> Result<()> {
        let mut client = dnsq::Client::connect(self.dns).await?;
        let name = format!("app{k}.marathon.mesos.");
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            let answer = client
                .answer(&name, RecordType::A, Duration::from_millis(200))
                .await;
            if answer.is_ok_and(|a| a.answers.len() == count) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        anyhow::bail!("herald-dns not serving {name} with {count} addresses after {limit:?}")
    }
}

/// A herald-subscriber process.
pub struct Subscriber {
    /// The process.
    pub proc: Proc,
    /// Its HTTP API (`/callback`, `/cleanup`, `/metrics`).
    pub http: SocketAddr,
}

impl Subscriber {
    /// Starts herald-subscriber against `marathon` (SSE or callbacks), without election and
    /// without periodic reconcile, and waits until its API answers.
    pub async fn start(etcd_endpoint: &str, marathon: &str, source: &str) -> Result<Subscriber> {
        Self::start_with(etcd_endpoint, marathon, source, &[]).await
    }

    /// [`Subscriber::start`] with `extra` flags.
    pub async fn start_with(
        etcd_endpoint: &str,
        marathon: &str,
        source: &str,
        extra: &[&str],
    ) -> Result<Subscriber> {
        let http = procs::free_addr()?;
        let mut cmd = Command::new(procs::binary("herald-subscriber")?);
        cmd.args(["--etcd-endpoints", etcd_endpoint])
            .args(["--marathon", marathon])
            .args(["--source", source])
            .args(["--listen", &http.to_string()])
            .args(["--election", "false"])
            .args(["--reconcile-interval", "0"])
            .args(extra)
            .env("HERALD_LOG", "warn,herald_registry=error");
        let mut sub = Subscriber {
            proc: Proc::spawn("herald-subscriber", &mut cmd)?,
            http,
        };
        for _ in 0..300 {
            sub.proc.check_alive()?;
            if crate::http::request(http, "GET", "/metrics", Duration::from_secs(1))
                .await
                .is_ok()
            {
                return Ok(sub);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("herald-subscriber API did not answer")
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> Result<String> {
        let (_, body) =
            crate::http::request(self.http, "GET", "/metrics", Duration::from_secs(5)).await?;
        Ok(body)
    }
}

/// A herald-watcher process whose handler appends `date +%s%N` (its start time, ns since
/// the epoch) to a file, one line per run.
pub struct Watcher {
    /// The process.
    pub proc: Proc,
    /// The handler's output.
    pub file: std::path::PathBuf,
}

impl Watcher {
    /// Watches `service` with debounce `wait` (`10ms:50ms`); the initial run is waited for.
    pub async fn start(
        etcd_endpoint: &str,
        service: &str,
        wait: &str,
        file: &std::path::Path,
    ) -> Result<Watcher> {
        std::fs::write(file, "")?;
        let mut cmd = Command::new(procs::binary("herald-watcher")?);
        cmd.args(["--etcd-endpoints", etcd_endpoint])
            .args(["--watch", service])
            .args(["--wait", wait])
            .args(["--handler", &format!("date +%s%N >> '{}'", file.display())])
            .env("HERALD_LOG", "warn,herald_registry=error");
        let mut w = Watcher {
            proc: Proc::spawn("herald-watcher", &mut cmd)?,
            file: file.to_path_buf(),
        };
        for _ in 0..300 {
            w.proc.check_alive()?;
            if !w.runs()?.is_empty() {
                return Ok(w);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("herald-watcher's initial handler run did not happen")
    }

    /// Start times (ns since the epoch) of every handler run so far.
    pub fn runs(&self) -> Result<Vec<u128>> {
        Ok(std::fs::read_to_string(&self.file)?
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect())
    }

    /// Waits until there are more than `seen` runs; returns the first new run's start time.
    pub async fn next_run(&self, seen: usize, limit: Duration) -> Result<u128> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(t) = self.runs()?.get(seen) {
                return Ok(*t);
            }
            crate::change::pause().await;
        }
        anyhow::bail!("no handler run within {limit:?}")
    }
}

/// Now, in ns since the epoch (comparable with `date +%s%N`).
pub fn epoch_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}
