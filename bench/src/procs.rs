//! Child processes killed on drop, and what `/proc` says about them (CPU time, memory).

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};
use registry::harness::KillOnDrop;

/// A running child process, killed (SIGKILL) and reaped when dropped.
pub struct Proc {
    name: String,
    child: KillOnDrop,
}

impl Proc {
    /// Spawns `command` with stdin and stdout closed; stderr is kept only with
    /// `HERALD_BENCH_VERBOSE=1`.
    pub fn spawn(name: &str, command: &mut Command) -> Result<Proc> {
        let stderr = if std::env::var_os("HERALD_BENCH_VERBOSE").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        let child = KillOnDrop::spawn(
            command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr),
        )
        .with_context(|| format!("cannot start {name} ({command:?})"))?;
        Ok(Proc {
            name: name.to_string(),
            child,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails if the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => bail!("{} exited: {status}", self.name),
            Err(e) => bail!("{}: {e}", self.name),
        }
    }
}

/// A free port on 127.0.0.1, free for both TCP and UDP when it was checked.
pub fn free_port() -> Result<u16> {
    for _ in 0..50 {
        let tcp = TcpListener::bind("127.0.0.1:0")?;
        let port = tcp.local_addr()?.port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no free loopback port")
}

/// A free loopback address (`127.0.0.1:PORT`).
pub fn free_addr() -> Result<SocketAddr> {
    Ok(SocketAddr::from(([127, 0, 0, 1], free_port()?)))
}

/// Clock ticks per second of `/proc/*/stat` times (`getconf CLK_TCK`, normally 100).
pub fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// utime + stime of a process (all its threads) in seconds, from `/proc/PID/stat`.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("process {pid} is gone"))?;
    let after = stat
        .rsplit_once(") ")
        .map(|(_, rest)| rest)
        .context("malformed /proc stat")?;
    // Fields after the command: state is field 3, utime 14, stime 15 (1-based).
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64> {
        Ok(fields.get(i).context("short /proc stat")?.parse::<f64>()?)
    };
    Ok((ticks(11)? + ticks(12)?) / clock_ticks())
}

/// utime + stime in seconds of a process, its threads and its child processes (recursively;
/// NSD forks its server processes).
pub fn tree_cpu_seconds(pid: u32) -> Result<f64> {
    let mut total = cpu_seconds(pid)?;
    for child in children(pid) {
        total += tree_cpu_seconds(child).unwrap_or(0.0);
    }
    Ok(total)
}

/// Proportional set size in bytes of a process and its child processes (recursively):
/// the memory a server costs the machine, pages its forked children share with it counted
/// once (NSD forks its server processes).
pub fn tree_pss_bytes(pid: u32) -> Result<u64> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .with_context(|| format!("process {pid} is gone"))?;
    let mut total = parse_status_kb(&rollup, "Pss")
        .map(|kb| kb * 1024)
        .with_context(|| format!("no Pss in /proc/{pid}/smaps_rollup"))?;
    for child in children(pid) {
        total += tree_pss_bytes(child).unwrap_or(0);
    }
    Ok(total)
}

/// The child processes of every thread of `pid`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// A `/proc/PID/status` memory field (`VmRSS`, `VmHWM`) in bytes.
pub fn status_bytes(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("process {pid} is gone"))?;
    parse_status_kb(&status, field)
        .map(|kb| kb * 1024)
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

fn parse_status_kb(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// The directory of the release binaries: `$HERALD_BENCH_BIN_DIR`, else this binary's own
/// (the harness's [`registry::harness::bin_dir`]).
pub fn bin_dir() -> PathBuf {
    match std::env::var_os("HERALD_BENCH_BIN_DIR") {
        Some(dir) => dir.into(),
        None => registry::harness::bin_dir(),
    }
}

/// A binary from [`bin_dir`]; fails with a hint when it was not built.
pub fn binary(name: &str) -> Result<PathBuf> {
    let path = bin_dir().join(name);
    if !path.exists() {
        bail!(
            "{} not found: run `cargo build --release --workspace --bins` (./bench.sh does)",
            path.display()
        );
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_fields() {
        let s = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(parse_status_kb(s, "VmRSS"), Some(1024));
        assert_eq!(parse_status_kb(s, "VmHWM"), Some(2048));
        assert_eq!(parse_status_kb(s, "VmSwap"), None);
    }

    #[test]
    fn reads_own_cpu_and_memory() {
        let pid = std::process::id();
        assert!(cpu_seconds(pid).unwrap() >= 0.0);
        assert!(status_bytes(pid, "VmRSS").unwrap() > 0);
    }
}
