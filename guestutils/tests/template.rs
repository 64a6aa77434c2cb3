//! `herald-watcher --template` end to end against a harness etcd: what a template sees, the
//! atomic replace that keeps the file's mode, check and reload only when the bytes change,
//! a broken template and a refused check keeping the previous file (reported in /healthz and
//! /metrics), `--once` and `--dry-run`.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::*;
use registry::harness::{EtcdServer, free_port, records};
use registry::{AppRecord, Health, Registry, TaskRecord};

/// Lists each app of the watched group with its label and its members' `http` ports.
const TEMPLATE: &str = "\
{% for app in apps %}
{{ app.id }} group={{ app.labels.GROUP | default('-') }} tasks={{ app.tasks | length }}
{% for t in app.instances %}
  {{ t.task_id }} {{ t.named_ports.http.address }}:{{ t.named_ports.http.port }} service={{ t.named_ports.http.service_port }} {{ t.health }}
{% endfor %}
{% endfor %}
";

/// `/shop/web` with a service port and a `GROUP` label.
fn web_app(group: &str) -> AppRecord {
    let mut app = records::app("/shop/web").port("http", None).build();
    app.ports[0].service_port = Some(10001);
    app.labels.insert("GROUP".into(), group.into());
    app
}

/// Task `web.N` on 127.0.0.1, host port 31000 + N.
fn web(n: u16, health: Health) -> TaskRecord {
    records::task("/shop/web", &format!("web.{n}"), "127.0.0.1")
        .ports(vec![port("http", None, Some(31000 + n))])
        .health(health)
        .build()
}

/// A directory with the template, an existing destination (mode 0640) and the reload log.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        let files = Files {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::write(files.template(), TEMPLATE).unwrap();
        std::fs::write(files.dest(), "old\n").unwrap();
        std::fs::set_permissions(files.dest(), std::fs::Permissions::from_mode(0o640)).unwrap();
        files
    }

    fn template(&self) -> PathBuf {
        self.dir.path().join("shop.j2")
    }

    fn dest(&self) -> PathBuf {
        self.dir.path().join("shop.txt")
    }

    fn spec(&self) -> String {
        format!("{}:{}", self.template().display(), self.dest().display())
    }

    /// How many times `--reload` ran.
    fn reloads(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("reloads"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    fn reload_script(&self) -> String {
        format!(
            "echo reloaded >> '{}'",
            self.dir.path().join("reloads").display()
        )
    }
}

/// herald-watcher watching `/shop` with `args`, nothing inherited but PATH.
fn watcher(etcd: &EtcdServer, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald-watcher"));
    command
        .args(["--watch", "/shop", "--wait", "50ms:500ms"])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HERALD_ETCD_ENDPOINTS", etcd.endpoint())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    command
}

async fn seed(registry: &Registry) {
    put_app(registry, web_app("external")).await;
    put(
        registry,
        [web(1, Health::Healthy), web(2, Health::Unhealthy)],
    )
    .await;
}

/// Waits until `/metrics` has `metric` (a whole line).
async fn metric(ops: &str, line: &str) {
    eventually(&format!("{line} in /metrics"), WAIT, async || {
        let metrics = http_get(ops, "/metrics").await;
        metrics.lines().any(|l| l == line).then_some(())
    })
    .await;
}

/// The `herald_watcher_template_renders_total` line of `dest` and `outcome`.
fn renders(dest: &Path, outcome: &str, count: u32) -> String {
    format!(
        "herald_watcher_template_renders_total{{template=\"{}\",outcome=\"{outcome}\"}} {count}",
        dest.display()
    )
}

/// Waits until /healthz answers with `status` and the template's `last_error` contains
/// `error` (or has none when `error` is empty); returns the body.
async fn health(ops: &str, status: &str, error: &str) -> String {
    eventually(&format!("/healthz {status} {error:?}"), WAIT, async || {
        let response = http_get(ops, "/healthz").await;
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        let health: serde_json::Value = serde_json::from_str(body).ok()?;
        let template = health["checks"]["templates"].as_object()?.values().next()?;
        let last_error = template["last_error"].as_str().unwrap_or_default();
        let matches = if error.is_empty() {
            last_error.is_empty()
        } else {
            last_error.contains(error)
        };
        (health["status"] == status && matches).then(|| body.to_string())
    })
    .await
}

#[tokio::test]
async fn renders_the_registry_and_replaces_the_file_only_when_its_bytes_change() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    seed(&registry).await;
    let files = Files::new();
    let ops = format!("127.0.0.1:{}", free_port());
    let reload = files.reload_script();
    let _watcher = watcher(
        &etcd,
        &[
            "--template",
            &files.spec(),
            "--check",
            "! grep -q FORBIDDEN {}",
        ],
    )
    .args(["--reload", &reload, "--http-listen", &ops])
    .spawn()
    .unwrap();

    let expected =
        "/shop/web group=external tasks=2\n  web.1 127.0.0.1:31001 service=10001 healthy\n";
    eventually("the first render", WAIT, async || {
        std::fs::read_to_string(files.dest()).is_ok_and(|t| t == expected)
    })
    .await;
    let mode = std::fs::metadata(files.dest())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640, "the file keeps its mode");
    eventually("one reload", WAIT, async || files.reloads() == 1).await;
    let body = health(&ops, "ok", "").await;
    assert!(
        body.contains(r#""services":{"/shop":{"connected":true"#),
        "{body}"
    );

    // A rewrite with a newer stamp renders the same bytes: no write, no reload.
    put(&registry, [web(1, Health::Healthy)]).await;
    metric(&ops, &renders(&files.dest(), "unchanged", 1)).await;
    assert_eq!(files.reloads(), 1);

    // web.2 turns healthy: it joins, the file is replaced, the reload runs once more.
    put(&registry, [web(2, Health::Healthy)]).await;
    let both = format!("{expected}  web.2 127.0.0.1:31002 service=10001 healthy\n");
    eventually("web.2 rendered", WAIT, async || {
        std::fs::read_to_string(files.dest()).is_ok_and(|t| t == both)
    })
    .await;
    eventually("two reloads", WAIT, async || files.reloads() == 2).await;
    metric(&ops, &renders(&files.dest(), "written", 2)).await;
    let leftovers: Vec<_> = std::fs::read_dir(files.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".herald"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_broken_template_or_a_refused_check_keeps_the_previous_file() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    seed(&registry).await;
    let files = Files::new();
    let ops = format!("127.0.0.1:{}", free_port());
    let reload = files.reload_script();
    let _watcher = watcher(
        &etcd,
        &[
            "--template",
            &files.spec(),
            "--check",
            "! grep -q FORBIDDEN {}",
        ],
    )
    .args(["--reload", &reload, "--http-listen", &ops])
    .spawn()
    .unwrap();
    eventually("the first reload", WAIT, async || files.reloads() == 1).await;
    let good = std::fs::read(files.dest()).unwrap();

    // The template breaks (an unknown filter); the next change cannot be rendered.
    std::fs::write(files.template(), "{{ apps | no_such_filter }}\n").unwrap();
    put(&registry, [web(3, Health::Healthy)]).await;
    let body = health(&ops, "degraded", "template error").await;
    assert!(body.contains("no_such_filter"), "{body}");
    metric(&ops, &renders(&files.dest(), "render_failed", 1)).await;
    assert_eq!(
        std::fs::read(files.dest()).unwrap(),
        good,
        "the file is untouched"
    );
    assert_eq!(files.reloads(), 1);

    // Repaired, the template renders the change it missed.
    std::fs::write(files.template(), TEMPLATE).unwrap();
    put(&registry, [web(2, Health::Healthy)]).await;
    health(&ops, "ok", "").await;
    let text = std::fs::read_to_string(files.dest()).unwrap();
    assert!(text.contains("web.2") && text.contains("web.3"), "{text}");
    assert_eq!(files.reloads(), 2);
    let good = std::fs::read(files.dest()).unwrap();

    // A label the check refuses: the new file is dropped, the old one stays.
    put_app(&registry, web_app("FORBIDDEN")).await;
    let body = health(&ops, "degraded", "the check refused").await;
    assert!(body.contains("exited with exit status: 1"), "{body}");
    metric(&ops, &renders(&files.dest(), "check_failed", 1)).await;
    assert_eq!(
        std::fs::read(files.dest()).unwrap(),
        good,
        "the file is untouched"
    );
    assert_eq!(files.reloads(), 2);

    // Back to the old label: the same bytes as the file, so healthy without a write.
    put_app(&registry, web_app("external")).await;
    health(&ops, "ok", "").await;
    assert_eq!(std::fs::read(files.dest()).unwrap(), good);
    assert_eq!(files.reloads(), 2);
}

#[tokio::test]
async fn once_renders_and_exits_and_dry_run_prints_instead() {
    let etcd = EtcdServer::start().await.unwrap();
    seed(&etcd.registry().await.unwrap()).await;
    let files = Files::new();
    let reload = files.reload_script();

    let out = watcher(&etcd, &["--template", &files.spec(), "--once", "--dry-run"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("# herald-watcher --dry-run: ")
            && stdout.contains("web.1 127.0.0.1:31001 service=10001 healthy"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(files.dest()).unwrap(), "old\n");

    let out = watcher(&etcd, &["--template", &files.spec(), "--once"])
        .args(["--reload", &reload])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    assert!(
        std::fs::read_to_string(files.dest())
            .unwrap()
            .contains("web.1")
    );
    assert_eq!(files.reloads(), 1);

    std::fs::write(files.template(), "{% for %}\n").unwrap();
    std::fs::write(files.dest(), "kept\n").unwrap();
    let out = watcher(&etcd, &["--template", &files.spec(), "--once"])
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("template error"), "{stderr}");
    assert_eq!(std::fs::read_to_string(files.dest()).unwrap(), "kept\n");
}
