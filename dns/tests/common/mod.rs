//! Shared test fixtures: a real etcd, the real herald-dns binary, real DNS clients.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::process::{Command, Stdio};

pub mod glibc;

pub use herald_dns::test_support::task;
use registry::harness::{EtcdServer, KillOnDrop, WAIT, eventually, free_port};
use registry::{Registry, TaskRecord, Write, WriteOp};

/// A running herald-dns process, killed on drop.
pub struct Herald {
    child: KillOnDrop,
    pub dns: SocketAddr,
    pub http: SocketAddr,
}

impl Herald {
    /// UDP queries answered from the fast path's cache so far (`/metrics`).
    pub fn fast_path_hits(&self) -> u64 {
        self.get("/metrics")
            .lines()
            .find(|l| l.starts_with("herald_dns_fast_path_hits_total"))
            .and_then(|l| l.split_whitespace().last()?.parse().ok())
            .unwrap_or(0)
    }

    /// Starts herald-dns against `etcd` with extra flags, and waits until it answers.
    pub async fn start(etcd: &EtcdServer, extra: &[&str]) -> Herald {
        Self::start_on("127.0.0.1", etcd, extra, &[]).await
    }

    /// Same, on a given loopback IP, with extra environment variables.
    pub async fn start_on(
        ip: &str,
        etcd: &EtcdServer,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Herald {
        let herald = Self::launch(ip, &etcd.endpoint(), extra, env);
        // Its zone's SOA answers once the registry is loaded.
        let apex = extra
            .iter()
            .position(|a| *a == "--domain")
            .map_or("mesos.", |i| extra[i + 1]);
        eventually("herald-dns answers", WAIT, async || {
            herald.dig(&[apex, "SOA"]).contains("status: NOERROR")
        })
        .await;
        herald
    }

    /// Starts herald-dns against the etcd at `endpoint` (which need not be running) on
    /// a given loopback IP, without waiting for anything.
    pub fn launch(ip: &str, endpoint: &str, extra: &[&str], env: &[(&str, &str)]) -> Herald {
        let given = extra.iter().position(|a| *a == "--dns-listen");
        let dns: SocketAddr = match given {
            Some(i) => extra[i + 1].parse().unwrap(),
            None => format!("{ip}:{}", free_port()).parse().unwrap(),
        };
        let http: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_herald-dns"));
        command
            .args(["--etcd-endpoints", endpoint])
            .args(["--http-listen", &http.to_string()])
            .env("HERALD_LOG", "warn,herald_registry=error");
        if given.is_none() {
            command.args(["--dns-listen", &dns.to_string()]);
        }
        if !extra.contains(&"--threads") {
            command.args(["--threads", "2"]);
        }
        command.args(extra).envs(env.iter().copied());
        let child = KillOnDrop::spawn(
            command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit()),
        )
        .unwrap();
        Herald { child, dns, http }
    }

    /// Stops the process (SIGSTOP): its sockets keep queueing what arrives.
    pub fn pause(&self) {
        self.signal(rustix::process::Signal::STOP);
    }

    /// Continues a paused process (SIGCONT).
    pub fn resume(&self) {
        self.signal(rustix::process::Signal::CONT);
    }

    fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("a child's pid");
        rustix::process::kill_process(pid, signal).expect("signalling herald-dns");
    }

    /// The value of a counter of `/metrics` (0 before it is first counted).
    pub fn counter(&self, name: &str) -> u64 {
        self.get("/metrics")
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().last()?.parse().ok())
            .unwrap_or(0)
    }

    /// The exit status, once the process has ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Runs `dig` against this server; returns its whole output.
    pub fn dig(&self, args: &[&str]) -> String {
        dig_at(self.dns, args)
    }

    /// The rdata of the answer lines of `dig +noall +answer <args>`, sorted.
    pub fn answers(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec!["+noall", "+answer"];
        all.extend_from_slice(args);
        answers(&self.dig(&all))
    }

    /// Runs `kdig` against this server; returns its whole output.
    pub fn kdig(&self, args: &[&str]) -> String {
        let out = Command::new("kdig")
            .arg(format!("@{}", self.dns.ip()))
            .args(["-p", &self.dns.port().to_string(), "+timeout=2", "+retry=0"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// GETs a path of the HTTP API with curl; returns the status code and the body.
    pub fn get_status(&self, path: &str) -> (u16, String) {
        let out = Command::new("curl")
            .args(["-s", "--max-time", "5", "-w", "\n%{http_code}"])
            .arg(format!("http://{}{}", self.http, path))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    /// GETs a path of the HTTP API with curl; returns the body.
    pub fn get(&self, path: &str) -> String {
        let out = Command::new("curl")
            .args([
                "-s",
                "--max-time",
                "5",
                &format!("http://{}{}", self.http, path),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Runs `dig @addr` with a short timeout.
pub fn dig_at(addr: SocketAddr, args: &[&str]) -> String {
    let out = Command::new("dig")
        .arg(format!("@{}", addr.ip()))
        .args(["-p", &addr.port().to_string(), "+time=2", "+tries=1"])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The rdata of every answer line of a `dig +noall +answer` output, sorted.
pub fn answers(output: &str) -> Vec<String> {
    let mut out: Vec<String> = output
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().skip(4).collect::<Vec<_>>().join(" "))
        .collect();
    out.sort();
    out
}

/// A fresh etcd holding `tasks`, and a registry client of it.
pub async fn etcd_with(tasks: Vec<TaskRecord>) -> (EtcdServer, Registry) {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    put(&registry, tasks).await;
    (etcd, registry)
}

/// Writes task records.
pub async fn put(registry: &Registry, tasks: Vec<TaskRecord>) {
    let ops = tasks
        .into_iter()
        .map(|t| WriteOp::newer(Write::PutTask(t)))
        .collect();
    registry.apply(ops).await.unwrap();
}
