//! glibc's resolver asking herald-dns: glibc reads only /etc/resolv.conf, so `getent` runs
//! in a private mount namespace with a resolv.conf that names a herald-dns on port 53 of a
//! private loopback address (root and `unshare -m` needed).

use std::process::Command;

use registry::harness::{EtcdServer, free_port};

use super::Herald;

/// True when this machine can run glibc through herald-dns (root, `unshare -m`).
pub fn available() -> bool {
    let unshare_works = Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .is_ok_and(|s| s.success());
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    unshare_works && is_root
}

/// Starts herald-dns against `etcd` on port 53 of a private loopback address in
/// `127.<net>.x.y` (each test its own `net`).
pub async fn herald_on_port_53(etcd: &EtcdServer, net: u8) -> Herald {
    let ip = format!(
        "127.{net}.{}.{}",
        std::process::id() % 250 + 1,
        free_port() % 250 + 1
    );
    let listen = format!("{ip}:53");
    Herald::start_on(&ip, etcd, &["--dns-listen", &listen], &[]).await
}

/// Runs each `getent <database> <name>` through `herald` (which must listen on port 53)
/// and returns their standard output and error, one after the other.
pub fn getent(herald: &Herald, queries: &[(&str, &str)]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let resolv = dir.path().join("resolv.conf");
    let ip = herald.dns.ip();
    std::fs::write(
        &resolv,
        format!("nameserver {ip}\noptions timeout:2 attempts:1\n"),
    )
    .unwrap();
    let mut script = format!("mount --bind {} /etc/resolv.conf", resolv.display());
    for (database, name) in queries {
        script.push_str(&format!(" && getent {database} {name}"));
    }
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
