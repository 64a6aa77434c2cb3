//! Security with real processes: an etcd that demands TLS client certificates *and*
//! user/password auth (certificates made in the test with the openssl CLI, users and
//! roles with etcdctl), the subscriber and herald-dns connecting to it with secrets in
//! flags and in the environment, and their debug logs and `/v1/config` searched for
//! every secret.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;
use marathon_sim::{AppSpec, MarathonVersion, SimConfig, Simulator};
use registry::EtcdArgs;
use registry::harness::{KillOnDrop, TestCa, etcd_binary, free_port};

const ETCD_PASSWORD: &str = "etcd-pw-Zq81xKc";
const ROOT_PASSWORD: &str = "root-pw-77aHj2";
const API_TOKEN: &str = "api-token-Hh3kLp0";
const API_PASSWORD: &str = "api-pw-Ty6vBn4";
const MARATHON_PASSWORD: &str = "marathon-pw-Qe5rWs9";

/// A CA, a server certificate for 127.0.0.1 and a client certificate whose CN is not an
/// etcd user (so the certificate alone grants nothing: the password is needed too).
fn make_certs(dir: &Path) {
    let ca = TestCa::new(dir).unwrap();
    let server = "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n";
    ca.issue("server", "/CN=127.0.0.1", server).unwrap();
    let client = "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n";
    ca.issue("client", "/CN=herald-node", client).unwrap();
}

/// An etcd with `--client-cert-auth` over https and auth enabled: user `herald` may read
/// and write under `/herald` only.
struct SecureEtcd {
    _child: KillOnDrop,
    endpoint: String,
    dir: PathBuf,
    _data: tempfile::TempDir,
}

impl SecureEtcd {
    fn start(dir: &Path) -> SecureEtcd {
        make_certs(dir);
        let data = tempfile::tempdir().unwrap();
        let client = format!("https://127.0.0.1:{}", free_port());
        let peer = format!("http://127.0.0.1:{}", free_port());
        let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let child = KillOnDrop::spawn(
            Command::new(etcd_binary())
                .args(["--name", "secure", "--data-dir"])
                .arg(data.path())
                .args(["--listen-client-urls", &client])
                .args(["--advertise-client-urls", &client])
                .args(["--listen-peer-urls", &peer])
                .args(["--initial-advertise-peer-urls", &peer])
                .args(["--initial-cluster", &format!("secure={peer}")])
                .args(["--cert-file", &file("server.pem")])
                .args(["--key-file", &file("server.key")])
                .args(["--trusted-ca-file", &file("ca.pem")])
                .arg("--client-cert-auth")
                .args(["--log-level", "error"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .unwrap();
        let etcd = SecureEtcd {
            _child: child,
            endpoint: client,
            dir: dir.to_path_buf(),
            _data: data,
        };
        let mut healthy = false;
        for _ in 0..200 {
            if etcd.ctl(&["endpoint", "health"]).status.success() {
                healthy = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(healthy, "the TLS etcd never became healthy");
        for args in [
            vec!["user", "add", "root", "--new-user-password", ROOT_PASSWORD],
            vec!["user", "grant-role", "root", "root"],
            vec![
                "user",
                "add",
                "herald",
                "--new-user-password",
                ETCD_PASSWORD,
            ],
            vec!["role", "add", "herald-rw"],
            vec![
                "role",
                "grant-permission",
                "herald-rw",
                "--prefix=true",
                "readwrite",
                "/herald",
            ],
            vec!["user", "grant-role", "herald", "herald-rw"],
            vec!["auth", "enable"],
        ] {
            let out = etcd.ctl(&args);
            assert!(
                out.status.success(),
                "etcdctl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        etcd
    }

    fn file(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// etcdctl with the client certificate (and no user: before `auth enable`).
    fn ctl(&self, args: &[&str]) -> Output {
        Command::new("etcdctl")
            .args(["--endpoints", &self.endpoint])
            .args(["--cacert", &self.file("ca.pem")])
            .args(["--cert", &self.file("client.pem")])
            .args(["--key", &self.file("client.key")])
            .args(["--dial-timeout", "1s"])
            .args(args)
            .output()
            .unwrap()
    }

    /// The TLS flags every binary gets (the password is passed separately).
    fn tls_flags(&self) -> Vec<String> {
        strings(&[
            "--etcd-endpoints",
            &self.endpoint,
            "--etcd-ca",
            &self.file("ca.pem"),
            "--etcd-cert",
            &self.file("client.pem"),
            "--etcd-key",
            &self.file("client.key"),
            "--etcd-user",
            "herald",
        ])
    }

    fn args(&self, cert: bool, password: Option<&str>) -> EtcdArgs {
        let mut args = EtcdArgs::for_endpoints([self.endpoint.clone()]);
        args.ca = Some(self.file("ca.pem").into());
        if cert {
            args.cert = Some(self.file("client.pem").into());
            args.key = Some(self.file("client.key").into());
        }
        if let Some(password) = password {
            args.user = Some("herald".into());
            args.password = Some(password.into());
        }
        args.timeout = Duration::from_secs(3);
        args
    }
}

/// Lists the registry with `args`: Ok(task count) or the error.
async fn try_list(args: &EtcdArgs) -> Result<usize, String> {
    let registry = args.connect().await.map_err(|e| e.to_string())?;
    let listing = registry
        .list(&registry::Scope::All)
        .await
        .map_err(|e| e.to_string())?;
    Ok(listing.tasks.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_password_auth_with_no_secret_in_logs_or_config() {
    let dir = tempfile::tempdir().unwrap();
    let etcd = SecureEtcd::start(dir.path());
    let sim = Simulator::start(SimConfig {
        auth: Some(("marathon".into(), MARATHON_PASSWORD.into())),
        ..SimConfig::new(MarathonVersion::V1_10)
    })
    .await
    .unwrap();
    let marathon = sim.url().replacen(
        "http://",
        &format!("http://marathon:{MARATHON_PASSWORD}@"),
        1,
    );

    // Secrets everywhere: etcd password and API credentials in the environment, the API
    // token and Marathon's password on the command line; debug logs for everything.
    let (sub, listen) = subscriber(
        dir.path(),
        &etcd.tls_flags(),
        &marathon,
        &[
            "--election",
            "false",
            "--api-token",
            API_TOKEN,
            "--log",
            "debug",
        ],
        &[
            ("HERALD_ETCD_PASSWORD", ETCD_PASSWORD),
            ("HERALD_API_CREDENTIALS", &format!("ops:{API_PASSWORD}")),
        ],
    )
    .await;
    let mut dns_flags = etcd.tls_flags();
    dns_flags.extend(strings(&["--etcd-password", ETCD_PASSWORD]));
    let (dns_proc, dns_addr, dns_http) =
        dns(dir.path(), &dns_flags, &[], &["--log", "debug"]).await;

    sim.deploy(AppSpec::new("/secure", 2)).await.unwrap();
    let good = etcd.args(true, Some(ETCD_PASSWORD));
    eventually(
        "the subscriber wrote through TLS + auth",
        WAIT,
        async || match try_list(&good).await? {
            2 => Ok(()),
            n => Err(format!("{n} tasks")),
        },
    )
    .await;
    eventually("herald-dns serves them", WAIT, async || {
        match srv_ports(&dns_addr, "secure").len() {
            2 => Ok(()),
            n => Err(format!("{n} SRV records")),
        }
    })
    .await;

    // Nobody else gets in: no client certificate, a wrong password, no password.
    let no_cert = try_list(&etcd.args(false, Some(ETCD_PASSWORD))).await;
    assert!(no_cert.is_err(), "no client certificate: {no_cert:?}");
    let wrong = try_list(&etcd.args(true, Some("wrong-password"))).await;
    assert!(wrong.is_err(), "a wrong password: {wrong:?}");
    let anonymous = try_list(&etcd.args(true, None)).await;
    assert!(anonymous.is_err(), "the certificate alone: {anonymous:?}");
    // The subscriber's mutating endpoints want the token or the credentials.
    let (code, _) = curl(&format!("http://{listen}/cleanup"));
    assert_eq!(code, 401);
    let (code, _) = curl(&format!("http://{listen}/cleanup?token=wrong"));
    assert_eq!(code, 401);
    let (code, _) = curl(&format!("http://{listen}/cleanup?token={API_TOKEN}"));
    assert_eq!(code, 200);

    // No secret in what the binaries show or log.
    let (code, config) = curl(&format!("http://{dns_http}/v1/config"));
    assert_eq!(code, 200, "{config}");
    let views = [
        ("herald-dns /v1/config", config),
        (
            "herald-dns /healthz",
            curl(&format!("http://{dns_http}/healthz")).1,
        ),
        (
            "subscriber /healthz",
            curl(&format!("http://{listen}/healthz")).1,
        ),
        ("subscriber log", sub.logs()),
        ("herald-dns log", dns_proc.logs()),
    ];
    let key = std::fs::read_to_string(dir.path().join("client.key")).unwrap();
    let key_line = key.lines().nth(1).unwrap().to_string();
    for (what, text) in &views {
        assert!(!text.is_empty(), "{what} is empty");
        for secret in [
            ETCD_PASSWORD,
            API_TOKEN,
            API_PASSWORD,
            MARATHON_PASSWORD,
            ROOT_PASSWORD,
            &key_line,
        ] {
            assert!(!text.contains(secret), "{what} shows a secret ({secret})");
        }
    }
    assert!(
        views[3].1.contains("DEBUG"),
        "the subscriber really logged at debug level"
    );
}
