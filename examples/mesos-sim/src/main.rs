//! `mesos-sim`: a Mesos master SIMULATOR (not Mesos) for Herald's demo and manual testing.
//! See the library docs (`cargo doc -p mesos-sim`) or the README for what it serves.

use std::net::IpAddr;

use clap::Parser;
use mesos_sim::{SimConfig, Simulator, SlowConsumer, ZkConfig};

/// A Mesos master SIMULATOR — this is NOT Mesos. It runs several fake masters (one HTTP
/// listener each, one leading) serving the v1 operator API (POST /api/v1: the RecordIO
/// SUBSCRIBE stream, GET_STATE, ...), the v0 /master/state, 307 redirects from followers,
/// and optionally registers them in ZooKeeper. Its agents, frameworks and tasks are made up
/// or seeded from recordings, and driven with the /sim/* control API (POST /sim/tasks,
/// /sim/tasks/{id}/kill, /sim/agents, /sim/leader?master=N, ...). For Herald's tests and demo.
#[derive(Debug, Parser)]
#[command(name = "mesos-sim")]
struct Args {
    /// Number of simulated masters.
    #[arg(long, env = "MESOS_SIM_MASTERS", default_value_t = 3)]
    masters: usize,
    /// IP every master listens on.
    #[arg(long, env = "MESOS_SIM_LISTEN_IP", default_value = "127.0.0.1")]
    listen_ip: IpAddr,
    /// Comma-separated ports, one per master (default: free ports).
    #[arg(long, env = "MESOS_SIM_PORTS", value_delimiter = ',')]
    ports: Vec<u16>,
    /// The masters' hostname, as redirects name it (default: the listen IP).
    #[arg(long, env = "MESOS_SIM_HOSTNAME")]
    hostname: Option<String>,
    /// Index of the master leading at start.
    #[arg(long, env = "MESOS_SIM_LEADER", default_value_t = 0)]
    leader: usize,
    /// Heartbeat period of event streams, in seconds (Mesos: 15).
    #[arg(long, env = "MESOS_SIM_HEARTBEAT_SECS", default_value_t = 15.0)]
    heartbeat_secs: f64,
    /// Agents registered at start (hosts 127.0.0.11, 127.0.0.12, ...).
    #[arg(long, env = "MESOS_SIM_AGENTS", default_value_t = 3)]
    agents: usize,
    /// Do not register a Marathon framework at start.
    #[arg(long, env = "MESOS_SIM_NO_MARATHON")]
    no_marathon: bool,
    /// Register the masters in ZooKeeper, e.g. zk://127.0.0.1:2181/mesos.
    #[arg(long, env = "MESOS_SIM_ZK")]
    zk: Option<String>,
    /// Seed the state from a recording (one JSON record per line, e.g. testdata/mesos/*.json).
    #[arg(long, env = "MESOS_SIM_SEED")]
    seed: Option<std::path::PathBuf>,
    /// Close a stream once this many records wait for its client (default: buffer, as Mesos).
    #[arg(long, env = "MESOS_SIM_SLOW_CONSUMER_LIMIT")]
    slow_consumer_limit: Option<usize>,
    /// Write stream bytes in HTTP chunks of at most this many bytes.
    #[arg(long, env = "MESOS_SIM_CHUNK_SIZE")]
    chunk_size: Option<usize>,
    /// Mesos version reported.
    #[arg(
        long = "mesos-version",
        env = "MESOS_SIM_MESOS_VERSION",
        default_value = "1.11.0"
    )]
    mesos_version: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MESOS_SIM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if !(args.heartbeat_secs.is_finite() && args.heartbeat_secs > 0.0) {
        anyhow::bail!("--heartbeat-secs must be a positive number");
    }
    let seed = match &args.seed {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?,
        ),
        None => None,
    };
    let config = SimConfig {
        masters: args.masters,
        leader: Some(args.leader),
        listen_ip: args.listen_ip,
        ports: args.ports,
        hostname: args.hostname,
        version: args.mesos_version,
        heartbeat: std::time::Duration::from_secs_f64(args.heartbeat_secs),
        slow_consumer: args
            .slow_consumer_limit
            .map_or(SlowConsumer::Buffer, SlowConsumer::Close),
        chunk_size: args.chunk_size,
        agents: args.agents,
        marathon: !args.no_marathon,
        zk: args.zk.as_deref().map(ZkConfig::from_url).transpose()?,
        ..SimConfig::default()
    };
    let sim = Simulator::start(config).await?;
    if let Some(text) = seed {
        let n = sim.seed(&text)?;
        eprintln!("mesos-sim: seeded {n} records");
    }
    for url in sim.master_urls() {
        println!("{url}");
    }
    eprintln!(
        "mesos-sim (a Mesos master SIMULATOR, not Mesos): {} masters, leader {}",
        sim.master_urls().len(),
        sim.leader_url().unwrap_or_else(|| "none".into())
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    sim.shutdown().await;
    Ok(())
}
