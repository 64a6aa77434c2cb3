//! The command line: one subcommand per guest function.

use clap::{Parser, Subcommand};
use herald_guestutils::{Env, Guest};
use registry::EtcdArgs;
use serde_json::{Value, json};

/// maestro-style service discovery for Marathon tasks, read from Herald's registry.
#[derive(Parser)]
#[command(name = "guestutils", version)]
pub struct Cli {
    /// Print JSON (a string, a number or an array) instead of one value per line.
    #[arg(long, global = true, env = "GUESTUTILS_JSON")]
    json: bool,
    /// Keep only instances whose health checks pass.
    #[arg(long, global = true, env = "GUESTUTILS_ONLY_HEALTHY")]
    only_healthy: bool,
    #[command(flatten)]
    etcd: EtcdArgs,
    #[command(flatten)]
    pub log: service::LogArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// `address:port...` of every instance of SERVICE (an app or a group id).
    GetNodeList {
        /// App or group id, absolute or relative to this task's group.
        service: String,
        /// Named port to append (repeat for several, in order).
        #[arg(long = "port", env = "GUESTUTILS_PORTS", value_delimiter = ',')]
        ports: Vec<String>,
        /// Fail when fewer instances exist.
        #[arg(long, env = "GUESTUTILS_MINIMUM", default_value_t = 1)]
        minimum: usize,
    },
    /// The port this container listens on for the named port.
    GetPort {
        /// The port name.
        name: String,
        /// Printed when the port is unknown.
        #[arg(long, env = "GUESTUTILS_DEFAULT_PORT")]
        default: Option<u16>,
    },
    /// The agent address of one instance.
    GetSpecificHost {
        /// App or group id.
        service: String,
        /// The instance's task id.
        container: String,
    },
    /// The external port of one instance's named port.
    GetSpecificPort {
        /// App or group id.
        service: String,
        /// The instance's task id.
        container: String,
        /// The port name.
        port: String,
        /// Printed when the port is unknown.
        #[arg(long, env = "GUESTUTILS_DEFAULT_PORT")]
        default: Option<u16>,
    },
    /// The internal (container) port of one instance's named port.
    GetSpecificExposedPort {
        /// App or group id.
        service: String,
        /// The instance's task id.
        container: String,
        /// The port name.
        port: String,
        /// Printed when the port is unknown.
        #[arg(long, env = "GUESTUTILS_DEFAULT_PORT")]
        default: Option<u16>,
    },
    /// This task's app id (`MARATHON_APP_ID`).
    GetServiceName,
    /// This task's id (`MESOS_TASK_ID`).
    GetContainerName,
    /// The agent this task runs on (`HOST`).
    GetContainerHostAddress {
        /// Resolve the host name to an IP address.
        #[arg(long, env = "GUESTUTILS_AS_IP_ADDRESS")]
        as_ip_address: bool,
    },
    /// The container's own IP address.
    GetContainerInternalAddress,
    /// `HERALD_ENVIRONMENT`, else the top-level group, else `local`.
    GetEnvironmentName,
    /// Shell `export` lines for the values known from the environment.
    Env,
}

impl Cli {
    /// Runs the subcommand and prints its answer.
    pub async fn run(self) -> anyhow::Result<()> {
        let env = Env::from_process();
        let value = match self.command {
            Command::GetServiceName => json!(env.get_service_name()?),
            Command::GetContainerName => json!(env.get_container_name()?),
            Command::GetContainerHostAddress { as_ip_address } => {
                json!(env.get_container_host_address(as_ip_address).await?)
            }
            Command::GetEnvironmentName => json!(env.get_environment_name()),
            Command::Env => {
                print!("{}", exports(&env));
                return Ok(());
            }
            command => {
                let registry = self.etcd.connect().await?;
                let guest = Guest::new(env, registry).only_healthy(self.only_healthy);
                ask(&guest, command).await?
            }
        };
        print!("{}", render(&value, self.json));
        Ok(())
    }
}

/// The subcommands that read the registry.
async fn ask(guest: &Guest, command: Command) -> anyhow::Result<Value> {
    Ok(match command {
        Command::GetNodeList {
            service,
            ports,
            minimum,
        } => json!(guest.get_node_list(&service, &ports, minimum).await?),
        Command::GetPort { name, default } => json!(guest.get_port(&name, default).await?),
        Command::GetSpecificHost { service, container } => {
            json!(guest.get_specific_host(&service, &container).await?)
        }
        Command::GetSpecificPort {
            service,
            container,
            port,
            default,
        } => json!(
            guest
                .get_specific_port(&service, &container, &port, default)
                .await?
        ),
        Command::GetSpecificExposedPort {
            service,
            container,
            port,
            default,
        } => json!(
            guest
                .get_specific_exposed_port(&service, &container, &port, default)
                .await?
        ),
        Command::GetContainerInternalAddress => {
            json!(guest.get_container_internal_address().await?.to_string())
        }
        _ => anyhow::bail!("this subcommand does not read the registry"),
    })
}

/// One value per line, or the JSON text.
fn render(value: &Value, as_json: bool) -> String {
    if as_json {
        return format!("{value}\n");
    }
    match value {
        Value::Array(items) => items.iter().map(|v| render(v, false)).collect(),
        Value::String(s) => format!("{s}\n"),
        other => format!("{other}\n"),
    }
}

/// `export NAME='value'` lines for what the environment tells (missing values are left out).
fn exports(env: &Env) -> String {
    let mut pairs = vec![("GUEST_ENVIRONMENT_NAME", Some(env.get_environment_name()))];
    pairs.push(("GUEST_SERVICE_NAME", env.get_service_name().ok()));
    pairs.push(("GUEST_CONTAINER_NAME", env.get_container_name().ok()));
    pairs.push((
        "GUEST_CONTAINER_HOST_ADDRESS",
        env.get("HOST").map(str::to_string),
    ));
    pairs
        .into_iter()
        .filter_map(|(name, value)| Some(format!("export {name}={}\n", shell_quote(&value?))))
        .collect()
}

/// Single-quotes a value for POSIX shells (`'` becomes `'\''`).
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}
