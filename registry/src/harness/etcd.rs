//! Throwaway etcd servers: a real `/usr/bin/etcd` on free loopback ports with its data on
//! tmpfs, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};

use crate::config::EtcdArgs;
use crate::error::{Error, Result};
use crate::store::Registry;

use super::{KillOnDrop, free_port};

/// How long a member may take to answer after start.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// The etcd binary: `$HERALD_ETCD_BIN`, else `/usr/bin/etcd`, else `etcd` on the PATH.
pub fn etcd_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("HERALD_ETCD_BIN") {
        return bin.into();
    }
    let debian = Path::new("/usr/bin/etcd");
    if debian.exists() {
        debian.to_path_buf()
    } else {
        PathBuf::from("etcd")
    }
}

/// Extra settings for a test server.
#[derive(Clone, Debug, Default)]
pub struct EtcdSpec {
    /// Extra command-line arguments (auto-compaction, TLS files, ...).
    pub extra_args: Vec<String>,
    /// Serve clients over https (the TLS flags go in `extra_args`).
    pub tls: bool,
}

/// One etcd member process, killed on drop before its data dir is removed.
struct Member {
    child: Option<KillOnDrop>,
    name: String,
    client_port: u16,
    peer_port: u16,
    data_dir: tempfile::TempDir,
    tls: bool,
    args: Vec<String>,
}

impl Member {
    fn new(name: &str, spec: &EtcdSpec) -> Result<Self> {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let data_dir = tempfile::Builder::new()
            .prefix("herald-etcd-")
            .tempdir_in(base)
            .map_err(|e| Error::Config(format!("cannot create an etcd data dir: {e}")))?;
        Ok(Member {
            name: name.to_string(),
            client_port: free_port(),
            peer_port: free_port(),
            data_dir,
            child: None,
            tls: spec.tls,
            args: spec.extra_args.clone(),
        })
    }

    fn client_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.client_port)
    }

    fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer_port)
    }

    fn spawn(&mut self, initial_cluster: &str, state: &str) -> Result<()> {
        let mut command = Command::new(etcd_binary());
        command
            .arg("--name")
            .arg(&self.name)
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .args(["--listen-client-urls", &self.client_url()])
            .args(["--advertise-client-urls", &self.client_url()])
            .args(["--listen-peer-urls", &self.peer_url()])
            .args(["--initial-advertise-peer-urls", &self.peer_url()])
            .args(["--initial-cluster", initial_cluster])
            .args(["--initial-cluster-state", state])
            .args(["--initial-cluster-token", "herald-test"])
            .args([
                "--logger",
                "zap",
                "--log-outputs",
                "stderr",
                "--log-level",
                "error",
            ])
            .args(["--experimental-watch-progress-notify-interval", "1s"])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("HERALD_ETCD_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            });
        let child = command.spawn().map_err(|e| {
            Error::Config(format!(
                "cannot start {} ({e}); install Debian's etcd-server",
                etcd_binary().display()
            ))
        })?;
        self.child = Some(KillOnDrop::new(child));
        Ok(())
    }

    /// SIGKILL, and wait until the process is gone (dropping the child does both).
    fn kill(&mut self) {
        self.child = None;
    }

    /// Sends `signal` to the running member; a signal that cannot be sent fails the test
    /// (a freeze that silently did nothing would leave it waiting forever).
    fn signal(&self, signal: Signal) {
        if let Some(child) = &self.child {
            let pid = i32::try_from(child.id())
                .ok()
                .and_then(Pid::from_raw)
                .expect("a child's pid is a positive i32");
            if let Err(e) = kill_process(pid, signal) {
                panic!("cannot send {signal:?} to etcd member {}: {e}", self.name);
            }
        }
    }

    fn exited(&mut self) -> bool {
        match &mut self.child {
            Some(child) => !matches!(child.try_wait(), Ok(None)),
            None => true,
        }
    }
}

/// A single-member etcd, killed on drop.
pub struct EtcdServer {
    member: Member,
}

impl EtcdServer {
    /// Starts a plain single-member server and waits until it answers.
    pub async fn start() -> Result<Self> {
        Self::start_with(EtcdSpec::default()).await
    }

    /// Starts a server with extra settings; retries on a port clash.
    pub async fn start_with(spec: EtcdSpec) -> Result<Self> {
        let mut last = None;
        for _ in 0..3 {
            let mut member = Member::new("solo", &spec)?;
            let cluster = format!("solo={}", member.peer_url());
            member.spawn(&cluster, "new")?;
            let mut server = EtcdServer { member };
            match server.wait_ready().await {
                Ok(()) => return Ok(server),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Config("etcd did not start".into())))
    }

    /// The client URL (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> String {
        self.member.client_url()
    }

    /// Connection settings for this server.
    pub fn args(&self) -> EtcdArgs {
        EtcdArgs::for_endpoints([self.endpoint()])
    }

    /// A connected registry with the default prefix.
    pub async fn registry(&self) -> Result<Registry> {
        self.args().connect().await
    }

    /// Kills the process with SIGKILL (the data stays).
    pub fn kill(&mut self) {
        self.member.kill();
    }

    /// Restarts a killed server on the same ports and data, and waits until it answers.
    pub async fn restart(&mut self) -> Result<()> {
        self.member.kill();
        let cluster = format!("solo={}", self.member.peer_url());
        self.member.spawn(&cluster, "existing")?;
        self.wait_ready().await
    }

    /// Freezes the process (SIGSTOP): it keeps its sockets but answers nothing.
    pub fn freeze(&self) {
        self.member.signal(Signal::STOP);
    }

    /// Thaws a frozen process (SIGCONT).
    pub fn thaw(&self) {
        self.member.signal(Signal::CONT);
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let endpoint = self.endpoint();
        wait_ready(&mut [&mut self.member], &[endpoint]).await
    }
}

/// A three-member etcd cluster on loopback, killed on drop.
pub struct EtcdCluster {
    members: Vec<Member>,
}

impl EtcdCluster {
    /// Starts `size` members and waits until the cluster answers.
    pub async fn start(size: usize) -> Result<Self> {
        let spec = EtcdSpec::default();
        let mut members = Vec::with_capacity(size);
        for i in 0..size {
            members.push(Member::new(&format!("m{i}"), &spec)?);
        }
        let cluster = members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url()))
            .collect::<Vec<_>>()
            .join(",");
        for member in &mut members {
            member.spawn(&cluster, "new")?;
        }
        let mut cluster = EtcdCluster { members };
        let endpoints = cluster.endpoints();
        let mut refs: Vec<&mut Member> = cluster.members.iter_mut().collect();
        wait_ready(&mut refs, &endpoints).await?;
        Ok(cluster)
    }

    /// Every member's client URL.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(Member::client_url).collect()
    }

    /// Connection settings naming every member.
    pub fn args(&self) -> EtcdArgs {
        EtcdArgs::for_endpoints(self.endpoints())
    }

    /// A connected registry over every member.
    pub async fn registry(&self) -> Result<Registry> {
        self.args().connect().await
    }

    /// Kills member `index` with SIGKILL.
    pub fn kill_member(&mut self, index: usize) {
        if let Some(m) = self.members.get_mut(index) {
            m.kill();
        }
    }

    /// The index of the current leader, asked of the first live member that answers.
    pub async fn leader(&self) -> Result<usize> {
        for member in &self.members {
            let Ok(mut client) = etcd_client::Client::connect([member.client_url()], None).await
            else {
                continue;
            };
            let Ok(status) = client.status().await else {
                continue;
            };
            let leader = status.leader();
            let Ok(list) = client.member_list().await else {
                continue;
            };
            let name = list
                .members()
                .iter()
                .find(|m| m.id() == leader)
                .map(|m| m.name().to_string());
            if let Some(i) = name.and_then(|n| self.members.iter().position(|m| m.name == n)) {
                return Ok(i);
            }
        }
        Err(Error::Config("no member reports a leader".into()))
    }
}

async fn wait_ready(members: &mut [&mut Member], endpoints: &[String]) -> Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let options = etcd_client::ConnectOptions::new()
        .with_timeout(Duration::from_secs(1))
        .with_connect_timeout(Duration::from_millis(500));
    loop {
        if members.iter_mut().any(|m| m.exited()) {
            return Err(Error::Config(
                "etcd exited during start (port taken?)".into(),
            ));
        }
        if let Ok(mut client) = etcd_client::Client::connect(endpoints, Some(options.clone())).await
            && client.put("/herald-harness/ready", "1", None).await.is_ok()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Config(format!(
                "etcd at {endpoints:?} not ready after {READY_TIMEOUT:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
