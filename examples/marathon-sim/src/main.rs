//! `marathon-sim`: a Marathon SIMULATOR (not Marathon) for Herald's demo and manual testing.
//! See the library docs (`cargo doc -p marathon-sim`) or the README for what it serves.

use std::net::SocketAddr;

use clap::Parser;
use marathon_sim::{Agent, MarathonVersion, SimConfig, Simulator};

/// A Marathon SIMULATOR — this is NOT Marathon. It serves Marathon's documented /v2 REST, SSE
/// (/v2/events) and (1.4) callback formats over made-up apps and tasks, which you drive with
/// the /sim/* control API (POST /sim/apps, /sim/apps/{id}/scale?instances=N,
/// /sim/tasks/{id}/kill, /sim/tasks/{id}/health?healthy=false, DELETE /sim/apps/{id},
/// /sim/fail?on=true). For Herald's tests, demo and benchmarks only.
#[derive(Debug, Parser)]
#[command(name = "marathon-sim")]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "MARATHON_SIM_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Marathon version whose formats to speak.
    #[arg(
        long = "version",
        env = "MARATHON_SIM_VERSION",
        value_enum,
        default_value = "1.10"
    )]
    version: MarathonVersion,
    /// Number of simulated agents (hosts 127.0.0.11, 127.0.0.12, ...).
    #[arg(long, env = "MARATHON_SIM_AGENTS", default_value_t = 3)]
    agents: usize,
    /// Require HTTP Basic auth, as user:pass.
    #[arg(long, env = "MARATHON_SIM_AUTH")]
    auth: Option<String>,
    /// Use CRLF line ends on the SSE stream (as real Marathon does).
    #[arg(long, env = "MARATHON_SIM_CRLF")]
    crlf: bool,
    /// Answer /v2/events with a 302 to this base URL (a standby pointing at its leader).
    #[arg(long, env = "MARATHON_SIM_REDIRECT_TO")]
    redirect_to: Option<String>,
    /// SSE heartbeat period in seconds.
    #[arg(long, env = "MARATHON_SIM_HEARTBEAT_SECS", default_value_t = 10)]
    heartbeat_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MARATHON_SIM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let auth = match args.auth {
        Some(a) => match a.split_once(':') {
            Some((u, p)) => Some((u.to_string(), p.to_string())),
            None => anyhow::bail!("--auth must be user:pass"),
        },
        None => None,
    };
    let config = SimConfig {
        version: args.version,
        listen: args.listen,
        agents: Agent::default_agents(args.agents.max(1)),
        auth,
        crlf: args.crlf,
        redirect_to: args.redirect_to,
        heartbeat: std::time::Duration::from_secs(args.heartbeat_secs.max(1)),
        ..SimConfig::default()
    };
    let sim = Simulator::start(config).await?;
    println!("{}", sim.url());
    eprintln!(
        "marathon-sim (a Marathon SIMULATOR, not Marathon) speaking Marathon {} at {}",
        args.version,
        sim.url()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    sim.shutdown().await;
    Ok(())
}
