//! Runtimes and sockets: the feed and HTTP on the main runtime; DNS on one
//! single-threaded runtime per core, each with its own `SO_REUSEPORT` UDP socket and TCP
//! listener, so the query path never shares a lock or a thread with etcd work.
//!
//! DNS and HTTP listen at once, whether or not etcd answers: until the first full load
//! the handler forwards names outside the zone and answers SERVFAIL for the zone's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwapOption;
use hickory_server::Server;
use hickory_server::proto::rr::{LowerName, Name};
use hickory_server::resolver::config::{NameServerConfig, ResolverOpts};
use hickory_server::store::forwarder::{ForwardConfig, ForwardZoneHandler};
use hickory_server::zone_handler::Catalog;
use ipnet::IpNet;
use socket2::{Domain, Protocol, Socket, Type};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use crate::answer::ZoneConfig;
use crate::config::Config;
use crate::feed::{self, FeedStatus};
use crate::handler::{DnsHandler, SharedZone};
use crate::http::{self, ApiState};
use crate::index::ZoneIndex;
use crate::status;
use crate::udp;

/// Idle TCP connections are closed after this.
const TCP_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs herald-dns until SIGINT/SIGTERM.
pub fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let naming = config.naming()?;
    let zone_config = Arc::new(config.zone()?);
    let upstreams = config.upstreams()?;
    let zone: SharedZone = Arc::new(ArcSwapOption::empty());
    let status = Arc::new(FeedStatus::default());
    // Connecting waits for etcd only with password auth; DNS does not wait for it. An
    // etcd that does not answer is waited for, settings that cannot work end the process.
    let (etcd, index) = (config.etcd.clone(), ZoneIndex::new(naming.clone()));
    let (feed_zone, feed_status) = (zone.clone(), status.clone());
    // The status page's catalog is fed by the feed, from the same watches as the index.
    let page = config.status_page.then(status::Published::default);
    let intake = page.clone().map(status::Intake::new);
    let (failed, mut connect_failed) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        match feed::connect(&etcd, &feed_status).await {
            Ok(registry) => feed::run(registry, index, feed_zone, feed_status, intake).await,
            Err(error) => {
                let _ = failed.send(error);
            }
        }
    });

    let shutdown = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind(config.http_listen)
        .await
        .with_context(|| format!("binding HTTP to {}", config.http_listen))?;
    tracing::info!(address = %listener.local_addr()?, "HTTP API listening");
    let api = ApiState {
        zone: zone.clone(),
        naming: Arc::new(naming),
        zone_config: zone_config.clone(),
        config: Arc::new(config.clone()),
        upstreams: upstreams.clone(),
        status: status.clone(),
    };
    let mut router = http::router(api.clone());
    if let Some(published) = page {
        router = router.merge(status::routes(status::StatusState { api, published }));
    }
    let http_shutdown = shutdown.clone().cancelled_owned();
    let http_task = tokio::spawn(service::serve(listener, router, http_shutdown));

    let acl = Arc::new(config.allow_recursion.clone());
    let threads = start_dns(&config, zone, zone_config, upstreams, acl, &shutdown)?;
    let fatal = tokio::select! {
        _ = service::shutdown_signal() => None,
        Ok(error) = &mut connect_failed => Some(error),
    };
    shutdown.cancel();
    for thread in threads {
        let _ = thread.join();
    }
    let _ = http_task.await;
    match fatal {
        Some(error) => Err(error).context("connecting to etcd"),
        None => Ok(()),
    }
}

/// Binds the sockets (errors surface here) and starts one DNS thread per socket pair.
fn start_dns(
    config: &Config,
    zone: SharedZone,
    zone_config: Arc<ZoneConfig>,
    upstreams: Vec<SocketAddr>,
    acl: Arc<Vec<IpNet>>,
    shutdown: &CancellationToken,
) -> anyhow::Result<Vec<std::thread::JoinHandle<()>>> {
    let threads = match config.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let mut address = config.dns_listen;
    let mut sockets = Vec::with_capacity(threads);
    for i in 0..threads {
        let udp = bind(address, Type::DGRAM, Protocol::UDP)
            .with_context(|| format!("binding DNS/UDP to {address}"))?;
        if i == 0 {
            size_buffers(&udp, config.udp_recv_buffer, config.udp_send_buffer);
        } else {
            // Sized like the first one, without logging it again.
            let _ = set_buffer(&udp, Buffer::Receive, config.udp_recv_buffer);
            let _ = set_buffer(&udp, Buffer::Send, config.udp_send_buffer);
        }
        if i == 0 {
            // With port 0, every later socket must join the port the first one got.
            address = udp
                .local_addr()?
                .as_socket()
                .context("the UDP socket has no IP address")?;
        }
        let tcp = bind(address, Type::STREAM, Protocol::TCP)
            .with_context(|| format!("binding DNS/TCP to {address}"))?;
        tcp.listen(1024)?;
        sockets.push((udp, tcp));
    }
    tracing::info!(%address, threads, upstreams = ?upstreams, "DNS listening");
    let mut handles = Vec::with_capacity(threads);
    for (i, (udp, tcp)) in sockets.into_iter().enumerate() {
        let shared = DnsShared {
            zone: zone.clone(),
            zone_config: zone_config.clone(),
            upstreams: upstreams.clone(),
            acl: acl.clone(),
            rotate: !config.fixed_order,
        };
        let shutdown = shutdown.clone();
        let handle = std::thread::Builder::new()
            .name(format!("dns-{i}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(error) => {
                        tracing::error!(%error, "cannot start a DNS runtime");
                        return;
                    }
                };
                // The UDP loop keeps its batch buffers on this thread: a local task.
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, async move {
                    if let Err(error) = dns_loop(udp, tcp, shared, shutdown).await {
                        tracing::error!(%error, "DNS thread failed");
                    }
                });
            })?;
        handles.push(handle);
    }
    Ok(handles)
}

/// What every DNS thread serves from.
struct DnsShared {
    zone: SharedZone,
    zone_config: Arc<ZoneConfig>,
    upstreams: Vec<SocketAddr>,
    acl: Arc<Vec<IpNet>>,
    rotate: bool,
}

async fn dns_loop(
    udp: Socket,
    tcp: Socket,
    shared: DnsShared,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let udp = tokio::net::UdpSocket::from_std(udp.into())?;
    let tcp = tokio::net::TcpListener::from_std(tcp.into())?;
    let DnsShared {
        zone,
        zone_config,
        upstreams,
        acl,
        rotate,
    } = shared;
    let mut handler = DnsHandler::new(zone.clone(), zone_config, forwarder(&upstreams)?, acl);
    if rotate {
        handler = handler.rotating();
    }
    let fast = tokio::task::spawn_local(udp::serve(udp, Arc::new(handler.clone()), zone, rotate));
    let mut server = Server::new(handler);
    server.register_listener(tcp, TCP_TIMEOUT, 64);
    let _abort_udp_on_exit = AbortOnDropHandle::new(fast);
    tokio::select! {
        result = server.block_until_done() => result?,
        _ = shutdown.cancelled() => {
            server.shutdown_gracefully().await?;
        }
    }
    Ok(())
}

fn bind(address: SocketAddr, kind: Type, protocol: Protocol) -> anyhow::Result<Socket> {
    let socket = Socket::new(Domain::for_address(address), kind, Some(protocol))?;
    socket.set_reuse_port(true)?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    Ok(socket)
}

/// One of a socket's two buffers.
#[derive(Clone, Copy, Debug)]
enum Buffer {
    Receive,
    Send,
}

/// Sizes the buffers of a DNS/UDP socket for bursts (0: the system default) and logs what
/// the kernel granted, with a warning when it is less than asked.
fn size_buffers(socket: &Socket, receive: usize, send: usize) {
    for (buffer, wanted) in [(Buffer::Receive, receive), (Buffer::Send, send)] {
        match set_buffer(socket, buffer, wanted) {
            Ok(None) => {}
            // Linux reports twice the size it grants (the rest is its bookkeeping).
            Ok(Some(granted)) if granted / 2 < wanted => tracing::warn!(
                ?buffer,
                wanted,
                granted = granted / 2,
                "the kernel capped a DNS/UDP socket buffer: raise net.core.rmem_max / wmem_max or grant CAP_NET_ADMIN"
            ),
            Ok(Some(granted)) => {
                tracing::info!(?buffer, bytes = granted / 2, "DNS/UDP socket buffer")
            }
            Err(error) => {
                tracing::warn!(?buffer, wanted, %error, "cannot size a DNS/UDP socket buffer")
            }
        }
    }
}

/// Sets one buffer to `bytes` (nothing when 0): forced past the system maximum when the
/// process may (CAP_NET_ADMIN), else as far as the maximum allows. The size the kernel
/// then reports.
fn set_buffer(socket: &Socket, buffer: Buffer, bytes: usize) -> std::io::Result<Option<usize>> {
    use nix::sys::socket::{setsockopt, sockopt};
    if bytes == 0 {
        return Ok(None);
    }
    let forced = match buffer {
        Buffer::Receive => setsockopt(socket, sockopt::RcvBufForce, &bytes),
        Buffer::Send => setsockopt(socket, sockopt::SndBufForce, &bytes),
    };
    if forced.is_err() {
        match buffer {
            Buffer::Receive => socket.set_recv_buffer_size(bytes)?,
            Buffer::Send => socket.set_send_buffer_size(bytes)?,
        }
    }
    match buffer {
        Buffer::Receive => socket.recv_buffer_size().map(Some),
        Buffer::Send => socket.send_buffer_size().map(Some),
    }
}

/// A catalog forwarding every name to `upstreams` (None when there are none).
fn forwarder(upstreams: &[SocketAddr]) -> anyhow::Result<Option<Arc<Catalog>>> {
    if upstreams.is_empty() {
        return Ok(None);
    }
    let name_servers = upstreams
        .iter()
        .map(|address| {
            let mut server = NameServerConfig::udp_and_tcp(address.ip());
            for connection in &mut server.connections {
                connection.port = address.port();
            }
            server
        })
        .collect();
    let config = ForwardConfig {
        name_servers,
        options: Some(ResolverOpts::default()),
    };
    let handler = ForwardZoneHandler::builder_tokio(config)
        .with_origin(Name::root())
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build the forwarder: {e}"))?;
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::from(Name::root()), vec![Arc::new(handler)]);
    Ok(Some(Arc::new(catalog)))
}
