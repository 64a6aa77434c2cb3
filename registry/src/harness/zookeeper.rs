//! [`ZooKeeper`], a throwaway ZooKeeper: Debian's `zookeeper` package run as a standalone server on a free
//! loopback port, its data on tmpfs (`/dev/shm` when there is one), killed on drop (also when
//! a test panics). Ready when the four-letter word `ruok` is answered `imok`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

/// Where Debian's `zookeeper` package puts the server.
const ZK_JAR: &str = "/usr/share/java/zookeeper.jar";
/// The SLF4J binding its dependencies ship (without one the server logs nothing).
const SLF4J_SIMPLE: &str = "/usr/share/java/slf4j-simple.jar";

/// A running ZooKeeper server.
pub struct ZooKeeper {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub servers: String,
    dir: tempfile::TempDir,
    /// How long it took to answer `imok`.
    pub startup: Duration,
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `java` on the `PATH`, if any.
fn java() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("java"))
            .find(|p| p.is_file())
    })
}

/// Whether the server at `addr` answers `ruok` with `imok`.
fn answers_imok(addr: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut out = String::new();
    s.write_all(b"ruok").is_ok() && s.read_to_string(&mut out).is_ok() && out == "imok"
}

/// Why ZooKeeper cannot run here at all (its programs are missing), if so.
pub fn unavailable() -> Option<String> {
    if java().is_none() {
        return Some(
            "java is not installed (Debian package zookeeper pulls in default-jre)".into(),
        );
    }
    if !Path::new(ZK_JAR).exists() {
        return Some(format!("{ZK_JAR} is missing (Debian package zookeeper)"));
    }
    None
}

impl ZooKeeper {
    /// Starts a server and waits (up to 60 s) until it answers `imok`. Panics with the
    /// server's log when it does not.
    pub fn start() -> ZooKeeper {
        let java = java().expect("java on the PATH");
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = tempfile::Builder::new()
            .prefix("herald-zk-")
            .tempdir_in(base)
            .expect("a temporary directory");
        let port = free_port();
        let cfg = dir.path().join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 admin.enableServer=false\n4lw.commands.whitelist=ruok,srvr\n",
                dir.path().join("data").display()
            ),
        )
        .expect("zoo.cfg written");
        let log = std::fs::File::create(dir.path().join("zk.log")).expect("zk.log created");
        let mut classpath = ZK_JAR.to_string();
        if Path::new(SLF4J_SIMPLE).exists() {
            classpath.push(':');
            classpath.push_str(SLF4J_SIMPLE);
        }
        let started = Instant::now();
        let child = Command::new(java)
            .args([
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-cp",
            ])
            .arg(&classpath)
            .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("java started");
        let mut zk = ZooKeeper {
            child,
            servers: format!("127.0.0.1:{port}"),
            dir,
            startup: Duration::ZERO,
        };
        let deadline = started + Duration::from_secs(60);
        loop {
            if answers_imok(&zk.servers) {
                zk.startup = started.elapsed();
                return zk;
            }
            if let Ok(Some(status)) = zk.child.try_wait() {
                panic!("ZooKeeper exited ({status}):\n{}", zk.log());
            }
            if Instant::now() > deadline {
                panic!("ZooKeeper did not answer imok within 60 s:\n{}", zk.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("zk.log")).unwrap_or_default()
    }
}
