//! Test helpers shared by every crate's tests (feature `test-harness`), each written once:
//!
//! - [`EtcdServer`], [`EtcdCluster`]: a real `/usr/bin/etcd` on free loopback ports with its
//!   data on tmpfs, killed when dropped; [`TestCa`] for TLS; [`ZooKeeper`], Debian's
//!   server the same way;
//! - [`eventually`]: poll a check until it holds, or fail the test after a deadline;
//! - [`records`]: task and app records with the defaults tests want;
//! - [`KillOnDrop`], [`bin`], [`bin_dir`]: child processes that never outlive their test, and
//!   where the workspace's binaries are;
//! - [`records_revision`]: the newest change of the record trees ("nothing was written");
//! - [`http`]: a raw HTTP/1.1 client (one connection a request, nothing added);
//! - [`chromium`]: Debian's headless Chromium, its path and flags;
//! - [`free_port`], [`skip`], [`XorShift`] (deterministic test input).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let etcd = herald_registry::harness::EtcdServer::start().await?;
//! let registry = etcd.registry().await?;
//! # Ok(()) }
//! ```

use std::net::{TcpListener, UdpSocket};
use std::path::Path;

pub mod chromium;
mod etcd;
pub mod http;
mod poll;
mod procs;
pub mod records;
mod revision;
mod tls;
mod zookeeper;

pub use etcd::{EtcdCluster, EtcdServer, EtcdSpec, etcd_binary};
pub use poll::{Check, WAIT, eventually};
pub use procs::{KillOnDrop, bin, bin_dir};
pub use revision::records_revision;
pub use tls::TestCa;
pub use zookeeper::{ZooKeeper, unavailable as zookeeper_unavailable};

/// A port on 127.0.0.1 that was free for both TCP and UDP when checked (bound, read back
/// and released).
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let Ok(port) = UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()) else {
            continue;
        };
        if TcpListener::bind(("127.0.0.1", port.port())).is_ok() {
            return port.port();
        }
    }
    panic!("no loopback port is free for both TCP and UDP");
}

/// A tiny deterministic generator (xorshift64): the same inputs on every run, with no
/// dependency. Seed it with any value but 0.
#[derive(Clone, Debug)]
pub struct XorShift(pub u64);

impl XorShift {
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// The next value below `n` (not 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() as usize) % n
    }
}

/// The file `test.sh` collects skipped checks in (one `SKIPPED: <test>: <reason>` line each).
pub const SKIP_FILE_VAR: &str = "HERALD_SKIP_FILE";

/// Says that a check could not run here and why: prints `SKIPPED: <test>: <reason>` and, when
/// `$HERALD_SKIP_FILE` is set (`test.sh` sets it), appends the same line there, so the run's
/// summary counts and repeats it. The caller then returns: a skip is never a silent pass.
pub fn skip(test: &str, reason: &str) {
    let line = format!("SKIPPED: {test}: {reason}");
    eprintln!("{line}");
    if let Some(path) = std::env::var_os(SKIP_FILE_VAR) {
        use std::io::Write as _;
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            eprintln!(
                "could not record the skip in {}: {e}",
                Path::new(&path).display()
            );
        }
    }
}
