//! A Rust container entrypoint built on the guestutils library: a ZooKeeper server that finds
//! its peers in the registry, writes `zoo.cfg` and `myid`, then execs the server.
//!
//! Marathon gives the task `MARATHON_APP_ID`, `MESOS_TASK_ID`, `HOST` and `PORT_<NAME>`; the
//! registry flags come from `HERALD_ETCD_ENDPOINTS` / `HERALD_PREFIX`. `--dry-run` prints the
//! files and the command instead (the test uses it).

use std::fmt::Write as _;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use herald_guestutils::{Env, Guest};

/// Flags of the example entrypoint.
#[derive(Parser)]
struct Args {
    /// Where zoo.cfg and myid go.
    #[arg(long, env = "ZK_CONF_DIR", default_value = "/conf")]
    conf_dir: PathBuf,
    /// The ZooKeeper start command.
    #[arg(long, env = "ZK_START", default_value = "zkServer.sh")]
    start: String,
    /// Print what would be written and run, and exit.
    #[arg(long, env = "ZK_DRY_RUN")]
    dry_run: bool,
    #[command(flatten)]
    etcd: registry::EtcdArgs,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    let guest = Guest::new(Env::from_process(), args.etcd.connect().await?);
    let me = guest.get_container_name()?;
    let service = guest.get_service_name()?;
    // Every ensemble member with its peer and election ports, in the documented stable
    // order: each member computes the same server list, so the ids agree.
    let members = guest
        .get_node_list(&service, &["peer".into(), "election".into()], 1)
        .await
        .context("listing the ensemble")?;
    let (_, instances) = guest.instances(&service).await?;
    let mut ids: Vec<&str> = instances.iter().map(|i| i.task_id.as_str()).collect();
    ids.sort_unstable();
    let myid = ids.iter().position(|id| *id == me).map_or(0, |i| i + 1);
    let client_port = guest.get_port("client", Some(2181)).await?;

    let mut cfg = format!(
        "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=/data\nclientPort={client_port}\n"
    );
    for (i, member) in members.iter().enumerate() {
        // `host:peer:election`, as get_node_list returns it.
        let _ = writeln!(cfg, "server.{}={member}", i + 1);
    }
    if args.dry_run {
        println!(
            "# {}/zoo.cfg\n{cfg}# {}/myid\n{myid}\n# exec {} start-foreground",
            args.conf_dir.display(),
            args.conf_dir.display(),
            args.start
        );
        return Ok(());
    }
    std::fs::write(args.conf_dir.join("zoo.cfg"), cfg).context("writing zoo.cfg")?;
    std::fs::write(args.conf_dir.join("myid"), format!("{myid}\n")).context("writing myid")?;
    let err = std::process::Command::new(&args.start)
        .arg("start-foreground")
        .exec();
    Err(err).with_context(|| format!("cannot exec {}", args.start))
}
