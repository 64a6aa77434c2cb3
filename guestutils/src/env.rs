//! The task's environment, as Marathon and Mesos set it, behind a value that tests build
//! from a map instead of mutating the process environment.

use std::collections::BTreeMap;
use std::net::IpAddr;

use registry::AppId;

use crate::error::{Error, Result};

/// Overrides the environment name (maestro's `MAESTRO_ENVIRONMENT_NAME`).
pub const ENVIRONMENT_VAR: &str = "HERALD_ENVIRONMENT";
/// The app id of the task (`/prod/kafka`), set by Marathon.
pub const APP_ID_VAR: &str = "MARATHON_APP_ID";
/// The task id, set by Marathon.
pub const TASK_ID_VAR: &str = "MESOS_TASK_ID";
/// The agent's host name, set by Marathon.
pub const HOST_VAR: &str = "HOST";
/// The container's own IP, set by the Mesos default executor.
pub const CONTAINER_IP_VAR: &str = "MESOS_CONTAINER_IP";
/// The container's host name (Docker sets it).
pub const HOSTNAME_VAR: &str = "HOSTNAME";
/// The environment name when nothing else gives one.
pub const DEFAULT_ENVIRONMENT: &str = "local";

/// A snapshot of environment variables. Empty values count as unset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The current process's environment (variables that are not UTF-8 are skipped).
    pub fn from_process() -> Self {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment made of these pairs (for tests and embedding).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// A variable's value; `None` when unset or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn require(&self, var: &'static str, what: &'static str) -> Result<&str> {
        self.get(var).ok_or(Error::MissingVar { var, what })
    }

    /// `HERALD_ENVIRONMENT`, else the top-level group of `MARATHON_APP_ID` (`prod` for
    /// `/prod/kafka`), else `local`. Never fails.
    pub fn get_environment_name(&self) -> String {
        if let Some(name) = self.get(ENVIRONMENT_VAR) {
            return name.to_string();
        }
        self.app_id()
            .ok()
            .filter(|id| id.segments().count() > 1)
            .and_then(|id| id.segments().next().map(str::to_string))
            .unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_string())
    }

    /// This task's app id as Marathon set it in `MARATHON_APP_ID`.
    pub fn get_service_name(&self) -> Result<String> {
        Ok(self.app_id()?.to_string())
    }

    /// This task's app id, validated.
    pub fn app_id(&self) -> Result<AppId> {
        let raw = self.require(APP_ID_VAR, "the service name")?;
        AppId::parse(raw).map_err(|_| Error::InvalidVar {
            var: APP_ID_VAR.to_string(),
            value: raw.to_string(),
            expected: "a Marathon app id",
        })
    }

    /// The group that relative service names are resolved against: the parent of
    /// `MARATHON_APP_ID`; `None` (meaning the root group) when it is unset or invalid.
    pub fn base_group(&self) -> Option<AppId> {
        self.app_id().ok().map(|id| id.parent())
    }

    /// This task's id (`MESOS_TASK_ID`).
    pub fn get_container_name(&self) -> Result<String> {
        self.require(TASK_ID_VAR, "the container name")
            .map(str::to_string)
    }

    /// The agent this task runs on (`HOST`), as given, or resolved to an IP address when
    /// `as_ip_address` is set (IPv4 preferred).
    pub async fn get_container_host_address(&self, as_ip_address: bool) -> Result<String> {
        let host = self.require(HOST_VAR, "the container host address")?;
        if !as_ip_address {
            return Ok(host.to_string());
        }
        Ok(resolve(host).await?.to_string())
    }

    /// `MESOS_CONTAINER_IP`, when set and valid.
    pub fn container_ip(&self) -> Option<IpAddr> {
        self.get(CONTAINER_IP_VAR).and_then(|v| v.parse().ok())
    }

    /// The value of Marathon's `PORT_<NAME>` for a named port, with the variable's name.
    /// `Ok(None)` when unset; an error when it is not a port number.
    pub fn named_port(&self, name: &str) -> Result<(String, Option<u16>)> {
        let var = port_var_name(name);
        match self.get(&var) {
            None => Ok((var, None)),
            Some(value) => match value.parse::<u16>() {
                Ok(port) if port > 0 => Ok((var, Some(port))),
                _ => Err(Error::InvalidVar {
                    var,
                    value: value.to_string(),
                    expected: "a port number",
                }),
            },
        }
    }
}

/// Marathon's variable for a named port: `PORT_` plus the name upper-cased, with every run
/// of characters outside `[A-Za-z0-9_]` turned into one `_`.
pub fn port_var_name(name: &str) -> String {
    let mut var = String::from("PORT_");
    let mut in_run = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            var.push(c.to_ascii_uppercase());
            in_run = false;
        } else if !in_run {
            var.push('_');
            in_run = true;
        }
    }
    var
}

/// Resolves a host name (or parses an IP literal), preferring IPv4.
pub async fn resolve(host: &str) -> Result<IpAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip);
    }
    let fail = |reason: String| Error::Resolve {
        host: host.to_string(),
        reason,
    };
    let addrs: Vec<IpAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| fail(e.to_string()))?
        .map(|a| a.ip())
        .collect();
    addrs
        .iter()
        .find(|ip| ip.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| fail("no address".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn environment_name_falls_back_to_group_then_local() {
        assert_eq!(env(&[]).get_environment_name(), "local");
        assert_eq!(
            env(&[(APP_ID_VAR, "/kafka")]).get_environment_name(),
            "local"
        );
        assert_eq!(
            env(&[(APP_ID_VAR, "/zk-kafka/kafka")]).get_environment_name(),
            "zk-kafka"
        );
        assert_eq!(
            env(&[(APP_ID_VAR, "/zk-kafka/kafka"), (ENVIRONMENT_VAR, "prod")])
                .get_environment_name(),
            "prod"
        );
    }

    #[test]
    fn names_come_from_marathon_variables() {
        let e = env(&[(APP_ID_VAR, "/zk-kafka/kafka"), (TASK_ID_VAR, "t.1")]);
        assert_eq!(e.get_service_name().unwrap(), "/zk-kafka/kafka");
        assert_eq!(e.get_container_name().unwrap(), "t.1");
        assert_eq!(e.base_group().unwrap().as_str(), "/zk-kafka");
        assert_eq!(env(&[]).base_group(), None);
    }

    #[test]
    fn missing_or_bad_variables_are_named() {
        let e = env(&[(TASK_ID_VAR, "")]);
        let err = e.get_service_name().unwrap_err().to_string();
        assert!(err.contains("MARATHON_APP_ID"), "{err}");
        let err = e.get_container_name().unwrap_err().to_string();
        assert!(err.contains("MESOS_TASK_ID"), "{err}");
        let err = env(&[(APP_ID_VAR, "/Bad_Id")])
            .get_service_name()
            .unwrap_err()
            .to_string();
        assert!(err.contains("Bad_Id"), "{err}");
    }

    #[test]
    fn named_ports_follow_marathon_naming() {
        assert_eq!(
            port_var_name("leader-election.v2"),
            "PORT_LEADER_ELECTION_V2"
        );
        let e = env(&[("PORT_CLIENT", "31000"), ("PORT_PEER", "x")]);
        assert_eq!(e.named_port("client").unwrap().1, Some(31000));
        assert_eq!(e.named_port("admin").unwrap(), ("PORT_ADMIN".into(), None));
        assert!(e.named_port("peer").is_err());
    }

    #[tokio::test]
    async fn host_address_is_resolved_on_request() {
        let e = env(&[(HOST_VAR, "localhost")]);
        assert_eq!(
            e.get_container_host_address(false).await.unwrap(),
            "localhost"
        );
        let ip = e.get_container_host_address(true).await.unwrap();
        assert!(ip.parse::<IpAddr>().unwrap().is_loopback(), "{ip}");
        let err = env(&[]).get_container_host_address(true).await.unwrap_err();
        assert!(err.to_string().contains("HOST"), "{err}");
    }
}
