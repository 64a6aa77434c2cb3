//! Command-line flags (each with an environment fallback).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};

use crate::marathon::MarathonConfig;
use crate::mesos::client::MesosConfig;
use crate::mesos::masters::Masters;
use crate::mesos::source::SourceConfig;

/// Where events come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Marathon's SSE stream, `GET /v2/events` (any version ≥0.9; the only way with ≥1.5).
    /// Only the elected instance streams.
    Sse,
    /// HTTP callbacks on `POST /callback` (Marathon ≤1.4). Every instance ingests.
    Callback,
}

fn duration(s: &str) -> Result<Duration, String> {
    match s.trim() {
        "off" | "never" | "0" => Ok(Duration::ZERO),
        other => humantime::parse_duration(other).map_err(|e| e.to_string()),
    }
}

fn share(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err("expected a share between 0 and 1 (0.5 = 50%)".into())
    }
}

fn positive_duration(s: &str) -> Result<Duration, String> {
    match humantime::parse_duration(s.trim()) {
        Ok(d) if d.is_zero() => Err("must be longer than 0".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

fn positive(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(v) => Ok(v),
        Err(e) => Err(e.to_string()),
    }
}

/// `herald-subscriber`: Marathon events (SSE or HTTP callbacks) and periodic
/// reconciliation into etcd.
#[derive(Clone, Parser)]
#[command(name = "herald-subscriber", version, about, long_about = None)]
pub struct Config {
    /// Address of the HTTP API (/callback, /cleanup, /healthz, /metrics, /v1/*).
    #[arg(long, env = "HERALD_LISTEN", default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,

    /// Marathon's base URL, with any path prefix (https://master/service/marathon).
    /// `user:password@` in the URL is used for HTTP Basic. At least one of `--marathon` and
    /// `--mesos` is needed.
    #[arg(long, env = "HERALD_MARATHON_URL", required_unless_present = "mesos")]
    pub marathon: Option<String>,

    /// The Mesos masters: a list (`http://m1:5050,http://m2:5050`; a follower's 307 names
    /// the leader) or ZooKeeper (`zk://h1:2181,h2:2181/mesos`, the lowest `json.info_`
    /// member leads). Streams the master's operator API (`SUBSCRIBE`) into the Mesos records.
    #[arg(long, env = "HERALD_MESOS")]
    pub mesos: Option<String>,

    /// `user:password` for HTTP Basic towards the masters.
    #[arg(
        long = "mesos-credentials",
        env = "HERALD_MESOS_CREDENTIALS",
        hide_env_values = true
    )]
    pub mesos_credentials: Option<String>,

    /// A bearer token towards the masters (`Authorization: Bearer ...`); wins over Basic.
    #[arg(
        long = "mesos-token",
        env = "HERALD_MESOS_TOKEN",
        hide_env_values = true
    )]
    pub mesos_token: Option<String>,

    /// A PEM bundle of the CAs to trust for HTTPS masters.
    #[arg(long = "mesos-ca", env = "HERALD_MESOS_CA")]
    pub mesos_ca: Option<PathBuf>,

    /// The scheme of masters found in ZooKeeper (`http` or `https`).
    #[arg(
        long = "mesos-scheme",
        env = "HERALD_MESOS_SCHEME",
        default_value = "http"
    )]
    pub mesos_scheme: String,

    /// Deadline of one plain call to a master (the stream has none).
    #[arg(long = "mesos-timeout", env = "HERALD_MESOS_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub mesos_timeout: Duration,

    /// A Mesos stream silent this long is reconnected (default: 3x the master's heartbeat
    /// interval, 45 s with Mesos' 15 s).
    #[arg(long = "mesos-idle-timeout", env = "HERALD_MESOS_IDLE_TIMEOUT", value_parser = positive_duration)]
    pub mesos_idle_timeout: Option<Duration>,

    /// The largest record read from a master's stream, in bytes: the first one
    /// (`SUBSCRIBED`) holds the whole cluster (~1.5 KB a task).
    #[arg(long = "mesos-max-snapshot", env = "HERALD_MESOS_MAX_SNAPSHOT", default_value = "536870912", value_parser = positive)]
    pub mesos_max_snapshot: usize,

    /// With both sources: the frameworks (by name, comma-separated) whose tasks the
    /// Marathon source writes; the Mesos source leaves their tasks alone.
    #[arg(
        long = "marathon-frameworks",
        env = "HERALD_MARATHON_FRAMEWORKS",
        default_value = "marathon",
        value_delimiter = ','
    )]
    pub marathon_frameworks: Vec<String>,

    /// Where events come from.
    #[arg(long, env = "HERALD_SOURCE", value_enum, default_value_t = Source::Sse)]
    pub source: Source,

    /// `user:password` for Marathon's HTTP Basic auth.
    #[arg(
        long = "marathon-credentials",
        env = "HERALD_MARATHON_CREDENTIALS",
        hide_env_values = true
    )]
    pub marathon_credentials: Option<String>,

    /// A raw Authorization header value for Marathon (DC/OS: `token=<ACS token>`).
    #[arg(
        long = "marathon-auth-header",
        env = "HERALD_MARATHON_AUTH_HEADER",
        hide_env_values = true
    )]
    pub marathon_auth_header: Option<String>,

    /// PEM bundle of the CA(s) that signed Marathon's certificate (only these are trusted).
    #[arg(long = "marathon-ca", env = "HERALD_MARATHON_CA")]
    pub marathon_ca: Option<PathBuf>,

    /// Do not verify Marathon's TLS certificate (testing only).
    #[arg(long = "marathon-insecure", env = "HERALD_MARATHON_INSECURE")]
    pub marathon_insecure: bool,

    /// Deadline of one Marathon REST request.
    #[arg(long = "marathon-timeout", env = "HERALD_MARATHON_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub marathon_timeout: Duration,

    /// With `--source callback`: register this URL with Marathon at start
    /// (`POST /v2/eventSubscriptions`) and remove it at shutdown.
    #[arg(long = "callback-url", env = "HERALD_CALLBACK_URL")]
    pub callback_url: Option<String>,

    /// Period of the leader's reconcile against `GET /v2/apps?embed=apps.tasks`, and of the
    /// Mesos source's resubscribe (a fresh snapshot and its resync) (`0`/`off` disables it;
    /// it still runs when elected, after SSE reconnects and on demand).
    #[arg(long = "reconcile-interval", env = "HERALD_RECONCILE_INTERVAL", default_value = "5m", value_parser = duration)]
    pub reconcile_interval: Duration,

    /// A reconcile that would remove more than this share of the stored records needs
    /// `POST /cleanup?force=true`.
    #[arg(long = "max-delete-share", env = "HERALD_MAX_DELETE_SHARE", default_value = "0.5", value_parser = share)]
    pub max_delete_share: f64,

    /// Bearer token required on /callback and on GET and POST /cleanup (`Authorization:
    /// Bearer <token>`, or `?token=<token>` on any of them, since Marathon cannot send
    /// headers).
    #[arg(long = "api-token", env = "HERALD_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,

    /// `user:password` accepted as HTTP Basic on /callback and on GET and POST /cleanup.
    #[arg(
        long = "api-credentials",
        env = "HERALD_API_CREDENTIALS",
        hide_env_values = true
    )]
    pub api_credentials: Option<String>,

    /// Accepted events waiting for etcd at most; when full, callbacks get 503 and a resync
    /// is scheduled.
    #[arg(long = "queue-capacity", env = "HERALD_QUEUE_CAPACITY", default_value = "16384", value_parser = positive)]
    pub queue_capacity: usize,

    /// etcd transactions in flight per batch.
    #[arg(long = "write-concurrency", env = "HERALD_WRITE_CONCURRENCY", default_value = "4", value_parser = positive)]
    pub write_concurrency: usize,

    /// Largest accepted request body, in bytes (larger: 413).
    #[arg(long = "max-body", env = "HERALD_MAX_BODY", default_value = "1048576", value_parser = positive)]
    pub max_body: usize,

    /// Largest record written to etcd, in bytes of its encoded value. A larger one is
    /// refused, never retried: its callback gets 413, an SSE event is dropped, a reconcile
    /// skips it (logged, counted, /healthz degraded). A guarded write sends the value four
    /// times in one request: keep 4 × this well under etcd's --max-request-bytes (1.5 MiB
    /// by default).
    #[arg(long = "max-record-size", env = "HERALD_MAX_RECORD_SIZE", default_value = "262144", value_parser = positive)]
    pub max_record_size: usize,

    /// How long a shutdown keeps writing the events already accepted; what is left then is
    /// logged and counted as dropped (the next reconcile restores it).
    #[arg(long = "drain-timeout", env = "HERALD_DRAIN_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub drain_timeout: Duration,

    /// Elect one leader among the subscribers sharing this etcd (it runs the SSE stream
    /// and the periodic reconcile). `false`: this instance always leads.
    #[arg(long = "election", env = "HERALD_ELECTION", default_value_t = true, action = ArgAction::Set)]
    pub election: bool,

    /// Election name (etcd key prefix); default `<prefix>/election/subscriber`.
    #[arg(long = "election-name", env = "HERALD_ELECTION_NAME")]
    pub election_name: Option<String>,

    /// Election lease TTL: how fast a successor takes over a dead leader.
    #[arg(long = "election-ttl", env = "HERALD_ELECTION_TTL", default_value = "4s", value_parser = duration)]
    pub election_ttl: Duration,

    /// How long a resolved agent host name is cached.
    #[arg(long = "agent-dns-ttl", env = "HERALD_AGENT_DNS_TTL", default_value = "60s", value_parser = duration)]
    pub agent_dns_ttl: Duration,

    /// An SSE stream silent this long is reconnected (Marathon heartbeats every 10 s).
    #[arg(long = "sse-idle-timeout", env = "HERALD_SSE_IDLE_TIMEOUT", default_value = "60s", value_parser = duration)]
    pub sse_idle_timeout: Duration,

    /// How long tombstones of removed tasks live: a late event about a removed task is
    /// refused for this long (Marathon's own listing still restores it at once).
    #[arg(long = "tombstone-ttl", env = "HERALD_TOMBSTONE_TTL", default_value = "10m", value_parser = duration)]
    pub tombstone_ttl: Duration,

    /// An event stamped further than this ahead of this host's clock is refused (422 on
    /// /callback, dropped on SSE): its timestamp would make every later event look older.
    #[arg(long = "max-clock-skew", env = "HERALD_MAX_CLOCK_SKEW", default_value = "5m", value_parser = positive_duration)]
    pub max_clock_skew: Duration,

    /// etcd connection.
    #[command(flatten)]
    pub etcd: registry::EtcdArgs,

    /// Logging.
    #[command(flatten)]
    pub log: service::LogArgs,
}

impl Config {
    /// The Marathon client settings, when Marathon is configured.
    pub fn marathon_config(&self) -> Option<MarathonConfig> {
        Some(MarathonConfig {
            url: self.marathon.clone()?,
            credentials: self.marathon_credentials.clone(),
            auth_header: self.marathon_auth_header.clone(),
            ca: self.marathon_ca.clone(),
            insecure: self.marathon_insecure,
            timeout: self.marathon_timeout,
        })
    }

    /// The Mesos source settings, when `--mesos` is set.
    pub fn mesos_config(&self) -> Result<Option<SourceConfig>, String> {
        let Some(spec) = &self.mesos else {
            return Ok(None);
        };
        Ok(Some(SourceConfig {
            masters: Masters::parse(spec)?,
            client: MesosConfig {
                credentials: self.mesos_credentials.clone(),
                token: self.mesos_token.clone(),
                ca: self.mesos_ca.clone(),
                scheme: self.mesos_scheme.clone(),
                timeout: self.mesos_timeout,
            },
            covered_frameworks: if self.marathon.is_some() {
                self.marathon_frameworks
                    .iter()
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty())
                    .collect()
            } else {
                Default::default()
            },
            idle_timeout: self.mesos_idle_timeout,
            max_delete_share: self.max_delete_share,
            max_record_size: self.max_record_size,
            max_stream_record: self.mesos_max_snapshot,
            resync_interval: self.reconcile_interval,
        }))
    }

    /// The election name.
    pub fn election_name(&self) -> String {
        match (&self.election_name, self.etcd.layout()) {
            (Some(name), _) => name.clone(),
            (None, Ok(layout)) => layout.election_name().to_string(),
            // An invalid prefix fails at connect time, before any election.
            (None, Err(_)) => format!("{}/election/subscriber", self.etcd.prefix),
        }
    }
}

impl std::fmt::Debug for Config {
    // Hand-written: secrets never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |o: &Option<String>| o.as_ref().map(|_| "<set>");
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("marathon", &self.marathon_config())
            .field("mesos", &self.mesos_config())
            .field("marathon_frameworks", &self.marathon_frameworks)
            .field("source", &self.source)
            .field("callback_url", &self.callback_url)
            .field("reconcile_interval", &self.reconcile_interval)
            .field("max_delete_share", &self.max_delete_share)
            .field("api_token", &set(&self.api_token))
            .field("api_credentials", &set(&self.api_credentials))
            .field("queue_capacity", &self.queue_capacity)
            .field("write_concurrency", &self.write_concurrency)
            .field("max_body", &self.max_body)
            .field("max_record_size", &self.max_record_size)
            .field("drain_timeout", &self.drain_timeout)
            .field("election", &self.election)
            .field("election_ttl", &self.election_ttl)
            .field("tombstone_ttl", &self.tombstone_ttl)
            .field("max_clock_skew", &self.max_clock_skew)
            .field("etcd", &self.etcd)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_parsing() {
        let c = Config::try_parse_from(["x", "--marathon", "http://m:8080"]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8090");
        assert_eq!(c.source, Source::Sse);
        assert_eq!(c.max_delete_share, 0.5);
        assert_eq!(c.max_record_size, crate::writes::DEFAULT_MAX_RECORD_SIZE);
        assert_eq!(c.drain_timeout, crate::ingest::DEFAULT_DRAIN_TIMEOUT);
        assert_eq!(c.max_clock_skew, crate::events::DEFAULT_MAX_CLOCK_SKEW);
        assert_eq!(c.election_name(), "/herald/election/subscriber");
        let c = Config::try_parse_from([
            "x",
            "--marathon",
            "http://m",
            "--source",
            "callback",
            "--reconcile-interval",
            "off",
            "--election",
            "false",
            "--api-token",
            "secret",
        ])
        .unwrap();
        assert_eq!(c.reconcile_interval, Duration::ZERO);
        assert!(!c.election);
        assert!(!format!("{c:?}").contains("secret"));
        assert!(
            Config::try_parse_from(["x", "--marathon", "m", "--max-delete-share", "2"]).is_err()
        );
        assert!(
            Config::try_parse_from(["x", "--marathon", "m", "--max-clock-skew", "0s"]).is_err()
        );
        assert!(
            Config::try_parse_from(["x"]).is_err()
                || std::env::var_os("HERALD_MARATHON_URL").is_some()
                || std::env::var_os("HERALD_MESOS").is_some()
        );
    }

    #[test]
    fn mesos_alone_or_beside_marathon() {
        let c = Config::try_parse_from(["x", "--mesos", "zk://z1:2181/mesos"]).unwrap();
        assert!(c.marathon_config().is_none());
        let mesos = c.mesos_config().unwrap().unwrap();
        assert!(
            mesos.covered_frameworks.is_empty(),
            "no Marathon: every framework is Mesos'"
        );
        let c = Config::try_parse_from([
            "x",
            "--marathon",
            "http://m:8080",
            "--mesos",
            "http://m1:5050,http://m2:5050",
            "--mesos-token",
            "t0ken",
        ])
        .unwrap();
        let mesos = c.mesos_config().unwrap().unwrap();
        assert_eq!(mesos.covered_frameworks, ["marathon".to_string()].into());
        assert!(!format!("{c:?}").contains("t0ken"));
        let bad = Config::try_parse_from(["x", "--mesos", "ftp://m1"]).unwrap();
        assert!(bad.mesos_config().is_err());
    }
}
