//! herald-watcher driving a real HAProxy (see BENCHMARKS.md): how long from a registry write
//! until HAProxy routes to the new backend, and how many requests fail while tasks are
//! scaled up and killed under a client load.
//!
//! ```sh
//! cargo build --release -p herald-guestutils --bins --examples
//! target/release/examples/lb_bench --events 100
//! ```
//!
//! Everything on loopback: a harness etcd, HAProxy in master-worker mode (reloaded with
//! SIGUSR2), herald-watcher (`--wait 10ms:50ms`) rendering `examples/haproxy/haproxy.cfg.j2`,
//! HTTP backends in this process. Each event is a scale-up (a new backend, then its record;
//! timed until a request through HAProxy reaches it) or a kill (`TASK_KILLING`, then the
//! backend stops once no request reaches it, then the record goes), alternating, while two
//! clients send requests through HAProxy. Every process started is killed on exit, also on
//! a panic; the load is bounded in count and time.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use registry::harness::{EtcdServer, KillOnDrop, free_port, records};
use registry::{Health, Registry, Stamp, TaskRecord, TaskState, Write, WriteOp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Times HAProxy's routing after registry writes, and counts failed requests under events.
#[derive(Parser)]
struct Args {
    /// Scale-up and kill events (alternating).
    #[arg(long, default_value_t = 100)]
    events: usize,
    /// The herald-watcher binary.
    #[arg(long, default_value = "target/release/herald-watcher")]
    watcher: PathBuf,
    /// The template.
    #[arg(long, default_value = "examples/haproxy/haproxy.cfg.j2")]
    template: PathBuf,
}

/// Upper bounds of the load, whatever happens.
const LOAD_MAX_REQUESTS: u64 = 200_000;
const LOAD_MAX_TIME: Duration = Duration::from_secs(600);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let etcd = EtcdServer::start().await?;
    let registry = etcd.registry().await?;
    let dir = tempfile::tempdir()?;
    let (web_port, vhost_port) = (free_port(), free_port());
    let mut app = records::app("/bench/web").port("http", None).build();
    app.ports[0].service_port = Some(web_port);
    app.labels.insert("HAPROXY_GROUP".into(), "external".into());
    registry
        .apply(vec![WriteOp::newer(Write::PutApp(app))])
        .await?;
    let mut backends = Vec::new();
    for i in 0..2 {
        let backend = Backend::start(format!("web-{i}")).await?;
        put(&registry, backend.record(TaskState::Running)).await?;
        backends.push(backend);
    }

    let config = dir.path().join("haproxy.cfg");
    let spec = format!("{}:{}", args.template.display(), config.display());
    let watcher = |extra: &[&str]| {
        let mut command = Command::new(&args.watcher);
        command
            .args([
                "--watch",
                "/",
                "--template",
                &spec,
                "--check",
                "haproxy -c -q -f {}",
            ])
            .args(["--wait", "10ms:50ms"])
            .args(extra)
            .env("HERALD_ETCD_ENDPOINTS", etcd.endpoint())
            .env("HAPROXY_BIND_ADDR", "127.0.0.1")
            .env("HAPROXY_HTTP_PORT", vhost_port.to_string())
            .env("HAPROXY_STATS_SOCKET", dir.path().join("haproxy.sock"))
            .env("HAPROXY_RETRIES", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    };
    let once = watcher(&["--once"]).status()?;
    anyhow::ensure!(once.success(), "herald-watcher --once failed");
    let haproxy = Group(KillOnDrop::spawn(
        Command::new("haproxy")
            .args(["-W", "-db", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0),
    )?);
    let reload = format!("kill -USR2 {}", haproxy.0.id());
    let _watcher = KillOnDrop::spawn(&mut watcher(&["--reload", &reload]))
        .with_context(|| format!("cannot start {}", args.watcher.display()))?;
    for backend in &backends {
        reached(web_port, backend, Duration::from_secs(20)).await?;
    }

    let load = Load::start(web_port, 2);
    let mut latencies = Vec::new();
    let mut next = backends.len();
    for event in 0..args.events {
        if event % 2 == 0 {
            let backend = Backend::start(format!("web-{next}")).await?;
            next += 1;
            let start = Instant::now();
            put(&registry, backend.record(TaskState::Running)).await?;
            reached(web_port, &backend, Duration::from_secs(20)).await?;
            latencies.push(start.elapsed());
            backends.push(backend);
        } else {
            let backend = backends.remove(0);
            put(&registry, backend.record(TaskState::Killing)).await?;
            avoided(web_port, &backend, Duration::from_secs(20)).await?;
            backend.stop();
            registry
                .apply(vec![WriteOp::newer(Write::RemoveTask {
                    app_id: registry::AppId::parse("/bench/web")?,
                    task_id: backend.id.clone(),
                    reason: "TASK_KILLED".into(),
                    at: Stamp::now(),
                })])
                .await?;
        }
    }
    let (sent, failed) = load.finish().await;
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "registry write -> HAProxy routes to the new backend: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (n={}; --wait 10ms:50ms)",
        ms(at(0.5)),
        ms(at(0.99)),
        ms(at(1.0)),
        latencies.len()
    );
    println!(
        "{} scale/kill events under load: {failed} of {sent} requests failed",
        args.events
    );
    Ok(())
}

/// HAProxy's process group (master and workers), killed on drop.
struct Group(KillOnDrop);

impl Drop for Group {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    }
}

/// An HTTP backend on loopback answering with its id, counting connections.
struct Backend {
    id: String,
    port: u16,
    hits: Arc<AtomicU64>,
    server: tokio::task::JoinHandle<()>,
}

impl Backend {
    async fn start(id: String) -> anyhow::Result<Backend> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let hits = Arc::new(AtomicU64::new(0));
        let (answer, counter) = (id.clone(), hits.clone());
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(serve(stream, answer.clone()));
            }
        });
        Ok(Backend {
            id,
            port,
            hits,
            server,
        })
    }

    fn record(&self, state: TaskState) -> TaskRecord {
        records::task("/bench/web", &self.id, "127.0.0.1")
            .ports(vec![records::port("http", None, Some(self.port))])
            .health(Health::Healthy)
            .state(state)
            .build()
    }

    fn stop(&self) {
        self.server.abort();
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn serve(mut stream: TcpStream, id: String) {
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
    let _ = stream.shutdown().await;
}

/// One request through HAProxy: the answering backend's id.
async fn request(port: u16) -> anyhow::Result<String> {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            .await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        match response.split_once("\r\n\r\n") {
            Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_string()),
            _ => anyhow::bail!("unexpected answer {:?}", response.lines().next()),
        }
    };
    tokio::time::timeout(Duration::from_secs(5), exchange).await?
}

async fn put(registry: &Registry, task: TaskRecord) -> anyhow::Result<()> {
    registry
        .apply(vec![WriteOp::newer(Write::PutTask(task))])
        .await?;
    Ok(())
}

/// Sends requests until one reaches `backend`.
async fn reached(port: u16, backend: &Backend, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if request(port).await.is_ok_and(|id| id == backend.id) {
            return Ok(());
        }
    }
    anyhow::bail!("no request reached {} within {within:?}", backend.id)
}

/// Sends batches of requests until one passes without reaching `backend`.
async fn avoided(port: u16, backend: &Backend, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let before = backend.hits.load(Ordering::Relaxed);
        for _ in 0..10 {
            let _ = request(port).await;
        }
        if backend.hits.load(Ordering::Relaxed) == before {
            return Ok(());
        }
    }
    anyhow::bail!("{} still gets requests after {within:?}", backend.id)
}

/// Clients sending requests in a loop; failures counted.
struct Load {
    stop: Arc<AtomicBool>,
    clients: Vec<tokio::task::JoinHandle<(u64, u64)>>,
}

impl Load {
    fn start(port: u16, clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let clients = (0..clients)
            .map(|_| {
                let stop = stop.clone();
                tokio::spawn(async move {
                    let started = Instant::now();
                    let (mut sent, mut failed) = (0, 0);
                    while !stop.load(Ordering::Relaxed)
                        && sent < LOAD_MAX_REQUESTS
                        && started.elapsed() < LOAD_MAX_TIME
                    {
                        sent += 1;
                        if request(port).await.is_err() {
                            failed += 1;
                        }
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    (sent, failed)
                })
            })
            .collect();
        Load { stop, clients }
    }

    async fn finish(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let mut total = (0, 0);
        for client in std::mem::take(&mut self.clients) {
            if let Ok((sent, failed)) = client.await {
                total.0 += sent;
                total.1 += failed;
            }
        }
        total
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
