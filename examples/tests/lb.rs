//! herald-watcher as marathon-lb: `examples/haproxy/haproxy.cfg.j2` rendered from registry
//! records, checked with `haproxy -c` and reloaded (master-worker, SIGUSR2) into a real
//! HAProxy in front of real TCP and HTTP backends on loopback, while a bounded client load
//! runs through it: scale up and down, health flips and kills lose no request, vhosts route
//! by Host header, and a refused check or a broken template leave the running config
//! byte-equal, reported in /healthz and /metrics. Also the nginx template's output.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use registry::harness::{EtcdServer, KillOnDrop, free_port, records, skip};
use registry::{AppRecord, Health, Registry, Stamp, TaskRecord, TaskState, Write, WriteOp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Requests each load client sends at most, and the longest it runs: the load stops by
/// itself even if the test fails to stop it.
const LOAD_MAX_REQUESTS: u64 = 4000;
const LOAD_MAX_TIME: Duration = Duration::from_secs(120);
/// Pause between two requests of one client (a steady trickle, not a flood).
const LOAD_PACE: Duration = Duration::from_millis(3);
/// Deadline of one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How a backend answers: HTTP (one response, then close) or raw TCP (its id, then close).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Proto {
    Http,
    Tcp,
}

/// A task's process: a loopback listener answering with its own id, counting connections.
struct Backend {
    id: String,
    port: u16,
    hits: Arc<AtomicU64>,
    server: JoinHandle<()>,
}

impl Backend {
    async fn start(id: &str, proto: Proto) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicU64::new(0));
        let (answer, counter) = (id.to_string(), hits.clone());
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(serve(stream, proto, answer.clone()));
            }
        });
        Backend {
            id: id.to_string(),
            port,
            hits,
            server,
        }
    }

    fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// The process dies: new connections are refused.
    fn stop(&self) {
        self.server.abort();
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn serve(mut stream: TcpStream, proto: Proto, id: String) {
    if proto == Proto::Http {
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16384 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{id}",
            id.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
    } else {
        let _ = stream.write_all(format!("{id}\n").as_bytes()).await;
    }
    let _ = stream.shutdown().await;
}

/// One request through HAProxy: the answering backend's id.
async fn request(port: u16, proto: Proto, host: &str) -> Result<String, String> {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        if proto == Proto::Http {
            let head = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
            stream
                .write_all(head.as_bytes())
                .await
                .map_err(|e| format!("send: {e}"))?;
        }
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .await
            .map_err(|e| format!("receive: {e}"))?;
        match proto {
            Proto::Tcp if !response.is_empty() => Ok(response.trim().to_string()),
            Proto::Http if response.starts_with("HTTP/1.1 200") => Ok(response
                .split_once("\r\n\r\n")
                .map(|(_, body)| body.to_string())
                .unwrap_or_default()),
            _ => Err(format!(
                "unexpected answer {:?}",
                response.lines().next().unwrap_or("(nothing)")
            )),
        }
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| Err("timed out".into()))
}

/// A route the load exercises: a frontend port, how to ask, and whose answers are right.
#[derive(Clone)]
struct Route {
    port: u16,
    proto: Proto,
    host: &'static str,
    /// The id prefix of the app's backends (`web-`).
    app: &'static str,
}

/// Clients running routes in a loop until stopped (or their bounds), recording failures.
struct Load {
    stop: Arc<AtomicBool>,
    clients: Vec<JoinHandle<(u64, Vec<String>)>>,
}

impl Load {
    fn start(routes: Vec<Vec<Route>>) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let clients = routes
            .into_iter()
            .map(|routes| {
                let stop = stop.clone();
                tokio::spawn(async move {
                    let started = tokio::time::Instant::now();
                    let (mut sent, mut failures) = (0u64, Vec::new());
                    while !stop.load(Ordering::Relaxed)
                        && sent < LOAD_MAX_REQUESTS
                        && started.elapsed() < LOAD_MAX_TIME
                    {
                        let route = &routes[(sent as usize) % routes.len()];
                        sent += 1;
                        match request(route.port, route.proto, route.host).await {
                            Ok(id) if id.starts_with(route.app) => {}
                            Ok(id) => failures.push(format!("{} answered {}", route.host, id)),
                            Err(e) => {
                                failures.push(format!("{} via :{}: {e}", route.host, route.port))
                            }
                        }
                        tokio::time::sleep(LOAD_PACE).await;
                    }
                    (sent, failures)
                })
            })
            .collect();
        Load { stop, clients }
    }

    /// Stops the clients: requests sent, failures.
    async fn finish(mut self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let mut total = (0, Vec::new());
        for client in std::mem::take(&mut self.clients) {
            let (sent, failures) = client.await.unwrap();
            total.0 += sent;
            total.1.extend(failures);
        }
        total
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// HAProxy in master-worker mode, leader of its own process group: the whole group (master
/// and workers, old and new) is killed on drop.
struct Haproxy {
    master: KillOnDrop,
}

impl Haproxy {
    fn start(config: &Path, log: &Path) -> Haproxy {
        use std::os::unix::process::CommandExt;
        let log = std::fs::File::create(log).unwrap();
        let master = KillOnDrop::spawn(
            Command::new("haproxy")
                .args(["-W", "-db", "-f"])
                .arg(config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .process_group(0),
        )
        .unwrap();
        Haproxy { master }
    }

    fn pid(&self) -> u32 {
        self.master.id()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let group = format!("-{}", self.master.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    }
}

/// An app of the shop: one `http` port with a service port, marathon-lb labels.
fn shop_app(id: &str, service_port: u16, labels: &[(&str, &str)]) -> AppRecord {
    let mut app = records::app(id).port("http", None).build();
    app.ports[0].service_port = Some(service_port);
    for (key, value) in labels {
        app.labels.insert(key.to_string(), value.to_string());
    }
    app
}

/// A task record for a backend of `app`.
fn task_of(app: &str, backend: &Backend) -> TaskRecord {
    records::task(app, &backend.id, "127.0.0.1")
        .ports(vec![port("http", None, Some(backend.port))])
        .health(Health::Healthy)
        .build()
}

async fn put_app(registry: &Registry, app: AppRecord) {
    registry
        .apply(vec![WriteOp::newer(Write::PutApp(app))])
        .await
        .unwrap();
}

async fn put_task(registry: &Registry, task: TaskRecord) {
    registry
        .apply(vec![WriteOp::newer(Write::PutTask(task))])
        .await
        .unwrap();
}

async fn remove_task(registry: &Registry, app: &str, backend: &Backend) {
    let app_id = registry::AppId::parse(app).unwrap();
    registry
        .apply(vec![WriteOp::newer(Write::RemoveTask {
            app_id,
            task_id: backend.id.clone(),
            reason: "TASK_KILLED".into(),
            at: Stamp::now(),
        })])
        .await
        .unwrap();
}

/// Waits until requests through `route` reach `backend`.
async fn reaches(route: &Route, backend: &Backend) {
    eventually(
        &format!("traffic reaching {}", backend.id),
        WAIT,
        async || {
            for _ in 0..10 {
                if request(route.port, route.proto, route.host).await.ok()? == backend.id {
                    return Some(());
                }
            }
            None
        },
    )
    .await;
}

/// Waits until no request reaches `backend`: a batch through `route` (the load runs too)
/// during which its connection count does not move.
async fn avoided(route: &Route, backend: &Backend) {
    eventually(
        &format!("no traffic reaching {}", backend.id),
        WAIT,
        async || {
            let before = backend.hits();
            for _ in 0..10 {
                request(route.port, route.proto, route.host).await.ok()?;
            }
            (backend.hits() == before).then_some(())
        },
    )
    .await;
}

/// The watcher's /healthz (status and the template's last error) and /metrics.
async fn ops_get(addr: &str, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let head = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    Some(response.split_once("\r\n\r\n")?.1.to_string())
}

/// Waits until /healthz says `status` with a template error containing `error` (none when
/// empty).
async fn healthz(ops: &str, status: &str, error: &str) {
    eventually(&format!("/healthz {status} {error:?}"), WAIT, async || {
        let body: serde_json::Value =
            serde_json::from_str(&ops_get(ops, "/healthz").await?).ok()?;
        let template = body["checks"]["templates"]
            .as_object()?
            .values()
            .next()?
            .clone();
        let last = template["last_error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let matches = if error.is_empty() {
            last.is_empty()
        } else {
            last.contains(error)
        };
        (body["status"] == status && matches).then_some(())
    })
    .await;
}

/// Waits until /metrics counts at least one render of `outcome`.
async fn counted(ops: &str, outcome: &str) {
    let prefix = "herald_watcher_template_renders_total{";
    let label = format!("outcome=\"{outcome}\"}}");
    eventually(
        &format!("a {outcome} render in /metrics"),
        WAIT,
        async || {
            let metrics = ops_get(ops, "/metrics").await?;
            metrics
                .lines()
                .any(|l| l.starts_with(prefix) && l.contains(&label))
                .then_some(())
        },
    )
    .await;
}

fn haproxy_installed() -> bool {
    Command::new("haproxy")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn herald_watcher_drives_a_real_haproxy_without_losing_a_request() {
    if !haproxy_installed() {
        skip(
            "examples::lb::herald_watcher_drives_a_real_haproxy_without_losing_a_request",
            "haproxy is not installed (Debian package haproxy; test.sh installs it)",
        );
        return;
    }
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (web_port, api_port, db_port, vhost_port) =
        (free_port(), free_port(), free_port(), free_port());

    // The shop: web and api are HTTP behind vhosts, db is TCP; cache is another LB's.
    let ext = ("HAPROXY_GROUP", "external");
    put_app(
        &registry,
        shop_app(
            "/shop/web",
            web_port,
            &[ext, ("HAPROXY_0_VHOST", "web.example.test")],
        ),
    )
    .await;
    let api_labels = [
        ext,
        ("HAPROXY_0_VHOST", "api.example.test,API.example.org"),
        ("HAPROXY_0_MODE", "http"),
    ];
    put_app(&registry, shop_app("/shop/api", api_port, &api_labels)).await;
    let db_labels = [
        ext,
        ("HAPROXY_0_MODE", "tcp"),
        ("HAPROXY_0_BALANCE", "leastconn"),
    ];
    put_app(&registry, shop_app("/shop/db", db_port, &db_labels)).await;
    put_app(
        &registry,
        shop_app(
            "/internal/cache",
            free_port(),
            &[("HAPROXY_GROUP", "internal")],
        ),
    )
    .await;
    let mut backends: BTreeMap<String, Backend> = BTreeMap::new();
    for (app, id, proto) in [
        ("/shop/web", "web-1", Proto::Http),
        ("/shop/web", "web-2", Proto::Http),
        ("/shop/api", "api-1", Proto::Http),
        ("/shop/api", "api-2", Proto::Http),
        ("/shop/db", "db-1", Proto::Tcp),
        ("/shop/db", "db-2", Proto::Tcp),
    ] {
        let backend = Backend::start(id, proto).await;
        put_task(&registry, task_of(app, &backend)).await;
        backends.insert(id.to_string(), backend);
    }

    // The template is a copy, so that the test can break it.
    let template = dir.path().join("haproxy.cfg.j2");
    std::fs::copy(repo().join("examples/haproxy/haproxy.cfg.j2"), &template).unwrap();
    let config = dir.path().join("haproxy.cfg");
    let spec = format!("{}:{}", template.display(), config.display());
    let watcher = |args: &[&str]| {
        let mut command = Command::new(bin("herald-watcher"));
        command
            .args([
                "--watch",
                "/",
                "--template",
                &spec,
                "--check",
                "haproxy -c -q -f {}",
            ])
            .args(args)
            .env("HERALD_ETCD_ENDPOINTS", etcd.endpoint())
            .env("HAPROXY_GROUP", "external")
            .env("HAPROXY_BIND_ADDR", "127.0.0.1")
            .env("HAPROXY_HTTP_PORT", vhost_port.to_string())
            .env("HAPROXY_STATS_SOCKET", dir.path().join("haproxy.sock"))
            // No retries or redispatch: a request sent to a dead backend fails, as it should
            // for this test to see it.
            .env("HAPROXY_RETRIES", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        command
    };

    // A container entrypoint: render once, start HAProxy on it.
    let once = watcher(&["--once"]).output().unwrap();
    assert!(
        once.status.success(),
        "{}",
        String::from_utf8_lossy(&once.stderr)
    );
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("backend shop_web_") && !text.contains("internal_cache"),
        "{text}"
    );
    let haproxy = Haproxy::start(&config, &dir.path().join("haproxy.log"));

    let reloads = dir.path().join("reloads");
    let reload = format!(
        "kill -USR2 {} && echo reloaded >> '{}'",
        haproxy.pid(),
        reloads.display()
    );
    let ops = format!("127.0.0.1:{}", free_port());
    let _watcher = KillOnDrop::spawn(
        watcher(&[
            "--reload",
            &reload,
            "--http-listen",
            &ops,
            "--wait",
            "100ms:500ms",
        ])
        .stderr(Stdio::null()),
    )
    .unwrap();

    let web = Route {
        port: web_port,
        proto: Proto::Http,
        host: "any.example.test",
        app: "web-",
    };
    let web_vhost = Route {
        port: vhost_port,
        proto: Proto::Http,
        host: "web.example.test",
        app: "web-",
    };
    let api_vhost = Route {
        port: vhost_port,
        proto: Proto::Http,
        host: "api.example.test",
        app: "api-",
    };
    let api_alias = Route {
        port: vhost_port,
        proto: Proto::Http,
        host: "api.example.org:80",
        app: "api-",
    };
    let db = Route {
        port: db_port,
        proto: Proto::Tcp,
        host: "",
        app: "db-",
    };
    for id in ["web-1", "web-2"] {
        reaches(&web_vhost, &backends[id]).await;
    }
    for id in ["api-1", "api-2"] {
        reaches(&api_alias, &backends[id]).await;
    }
    for id in ["db-1", "db-2"] {
        reaches(&db, &backends[id]).await;
    }
    // No vhost matches: HAProxy has no backend for it.
    let unknown = request(vhost_port, Proto::Http, "other.example.test").await;
    assert!(
        unknown.as_ref().is_err_and(|e| e.contains("503")),
        "{unknown:?}"
    );
    healthz(&ops, "ok", "").await;

    let load = Load::start(vec![
        vec![web_vhost.clone(), api_vhost.clone()],
        vec![web.clone(), api_alias.clone()],
        vec![db.clone()],
    ]);

    // Scale up: web-3 joins.
    let web3 = Backend::start("web-3", Proto::Http).await;
    put_task(&registry, task_of("/shop/web", &web3)).await;
    reaches(&web, &web3).await;
    backends.insert("web-3".into(), web3);

    // web-1 turns unhealthy: it leaves the backend (it still answers, nothing fails), then
    // comes back.
    let mut web1 = task_of("/shop/web", &backends["web-1"]);
    web1.health = Health::Unhealthy;
    put_task(&registry, web1).await;
    avoided(&web, &backends["web-1"]).await;
    put_task(&registry, task_of("/shop/web", &backends["web-1"])).await;
    reaches(&web, &backends["web-1"]).await;

    // web-2 is killed: TASK_KILLING takes it out of the backend before the process dies.
    let mut killing = task_of("/shop/web", &backends["web-2"]);
    killing.state = TaskState::Killing;
    put_task(&registry, killing).await;
    avoided(&web_vhost, &backends["web-2"]).await;
    backends["web-2"].stop();
    remove_task(&registry, "/shop/web", &backends["web-2"]).await;

    // Scale down: db-2's record goes first, its process after it gets no more traffic.
    remove_task(&registry, "/shop/db", &backends["db-2"]).await;
    avoided(&db, &backends["db-2"]).await;
    backends["db-2"].stop();

    // Scale up api.
    let api3 = Backend::start("api-3", Proto::Http).await;
    put_task(&registry, task_of("/shop/api", &api3)).await;
    reaches(&api_vhost, &api3).await;
    backends.insert("api-3".into(), api3);

    // A label HAProxy refuses: `haproxy -c` fails, the running config stays as it is.
    let good = std::fs::read(&config).unwrap();
    let bad_labels = [
        ext,
        ("HAPROXY_0_VHOST", "api.example.test"),
        ("HAPROXY_0_BALANCE", "no-such-algorithm"),
    ];
    put_app(&registry, shop_app("/shop/api", api_port, &bad_labels)).await;
    healthz(&ops, "degraded", "the check refused").await;
    counted(&ops, "check_failed").await;
    assert_eq!(
        std::fs::read(&config).unwrap(),
        good,
        "the config is untouched"
    );
    put_app(&registry, shop_app("/shop/api", api_port, &api_labels)).await;
    healthz(&ops, "ok", "").await;

    // A broken template: the next change cannot be rendered, the config stays.
    std::fs::write(&template, "{{ apps | no_such_filter }}\n").unwrap();
    let api4 = Backend::start("api-4", Proto::Http).await;
    put_task(&registry, task_of("/shop/api", &api4)).await;
    healthz(&ops, "degraded", "template error").await;
    counted(&ops, "render_failed").await;
    assert_eq!(
        std::fs::read(&config).unwrap(),
        good,
        "the config is untouched"
    );
    // Repaired, it renders what it missed at the next change (api-4 rewritten).
    std::fs::copy(repo().join("examples/haproxy/haproxy.cfg.j2"), &template).unwrap();
    put_task(&registry, task_of("/shop/api", &api4)).await;
    reaches(&api_vhost, &api4).await;
    healthz(&ops, "ok", "").await;
    backends.insert("api-4".into(), api4);

    let (sent, failures) = load.finish().await;
    let reloaded = std::fs::read_to_string(&reloads).unwrap().lines().count();
    assert!(
        failures.is_empty(),
        "{} of {sent} requests failed: {failures:?}",
        failures.len()
    );
    // One reload per config change: web-3, web-1 out and back, web-2 killing, db-2, api-3,
    // api-4. None for web-2's removal (already out), the refused check, the restored label
    // (the same bytes) or the broken template.
    assert_eq!(reloaded, 7);
    eprintln!("lb: {sent} requests through HAProxy, none failed, {reloaded} reloads");
    drop(haproxy);
}

#[tokio::test]
async fn the_nginx_template_renders_upstreams_and_virtual_hosts() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    let ext = ("HAPROXY_GROUP", "external");
    let web_labels = [
        ext,
        ("HAPROXY_0_VHOST", "web.example.test,WWW.example.test"),
    ];
    put_app(&registry, shop_app("/shop/web", 10001, &web_labels)).await;
    let db_labels = [
        ext,
        ("HAPROXY_0_MODE", "tcp"),
        ("HAPROXY_0_BALANCE", "leastconn"),
    ];
    put_app(&registry, shop_app("/shop/db", 10002, &db_labels)).await;
    put_app(
        &registry,
        shop_app("/shop/idle", 10003, &[ext, ("HAPROXY_0_MODE", "http")]),
    )
    .await;
    put_app(
        &registry,
        shop_app("/internal/cache", 10004, &[("HAPROXY_GROUP", "internal")]),
    )
    .await;
    let task = |app: &str, id: &str, port: u16, health: Health| {
        records::task(app, id, "127.0.0.1")
            .ports(vec![common::port("http", None, Some(port))])
            .health(health)
            .build()
    };
    put_task(
        &registry,
        task("/shop/web", "web-1", 31001, Health::Healthy),
    )
    .await;
    put_task(
        &registry,
        task("/shop/web", "web-2", 31002, Health::Unhealthy),
    )
    .await;
    put_task(&registry, task("/shop/db", "db-1", 31003, Health::Unknown)).await;
    put_task(
        &registry,
        task("/internal/cache", "cache-1", 31004, Health::Healthy),
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("nginx.conf");
    let spec = format!(
        "{}:{}",
        repo().join("examples/nginx/nginx.conf.j2").display(),
        config.display()
    );
    let nginx = Command::new("nginx")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    let mut command = Command::new(bin("herald-watcher"));
    command
        .args(["--watch", "/", "--template", &spec, "--once"])
        .env("HERALD_ETCD_ENDPOINTS", etcd.endpoint())
        .env("HAPROXY_BIND_ADDR", "127.0.0.1")
        .env("HAPROXY_HTTP_PORT", free_port().to_string())
        .env("NGINX_PID", dir.path().join("nginx.pid"));
    if nginx {
        command.args(["--check", "nginx -t -q -c {}"]);
    } else {
        skip(
            "examples::lb::the_nginx_template_renders_upstreams_and_virtual_hosts (nginx -t)",
            "nginx is not installed (Debian package nginx-light); the output is checked without it",
        );
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&config).unwrap();
    for expected in [
        "upstream shop_web_10001 {\n        server 127.0.0.1:31001;\n    }",
        "listen 127.0.0.1:10001;",
        "server_name web.example.test www.example.test;",
        "proxy_pass http://shop_web_10001;",
        // An app without members keeps a valid, refusing upstream.
        "upstream shop_idle_10003 {\n        # No member",
    ] {
        assert!(text.contains(expected), "{expected:?} missing in:\n{text}");
    }
    for absent in ["31002", "internal_cache", "stream {", "shop_db"] {
        assert!(!text.contains(absent), "{absent:?} in:\n{text}");
    }

    // With NGINX_STREAM=on, TCP ports get a stream block (nginx needs its stream module).
    let out = Command::new(bin("herald-watcher"))
        .args(["--watch", "/", "--template", &spec, "--once", "--dry-run"])
        .env("HERALD_ETCD_ENDPOINTS", etcd.endpoint())
        .env("NGINX_STREAM", "on")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("stream {\n\n    upstream shop_db_10002 {\n        least_conn;\n        server 127.0.0.1:31003;\n    }"),
        "{text}"
    );
    assert!(text.contains("proxy_pass shop_db_10002;"), "{text}");
}
