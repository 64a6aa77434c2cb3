//! The HTTP side of the master's operator API: `SUBSCRIBE` (the stream), `GET_MASTER` (who
//! leads) and `/master/state` (the scheduler PIDs only the v0 state has), with HTTP Basic
//! or a bearer token and HTTPS with a custom CA.
//!
//! Redirects are not followed blindly: a follower answers `307` with a protocol-relative
//! `Location: //<leader>:<port>/master/api/v1`; the client keeps its own scheme and path
//! and takes only host and port from it (what the Mesos docs and dcos-net advise).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use super::convert::SchedulerPid;
use crate::http_client::{self, error_chain};

/// How to reach the masters.
#[derive(Clone, Default)]
pub struct MesosConfig {
    /// `user:password` for HTTP Basic.
    pub credentials: Option<String>,
    /// A bearer token (`Authorization: Bearer <token>`); wins over Basic.
    pub token: Option<String>,
    /// A PEM bundle: trust only these CAs for HTTPS.
    pub ca: Option<PathBuf>,
    /// The scheme used for masters found in ZooKeeper (`http` or `https`).
    pub scheme: String,
    /// Deadline of one plain call (the stream itself has none).
    pub timeout: Duration,
}

impl std::fmt::Debug for MesosConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MesosConfig")
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "<redacted>"),
            )
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("ca", &self.ca)
            .field("scheme", &self.scheme)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What went wrong talking to a master.
#[derive(Debug, thiserror::Error)]
pub enum MesosError {
    /// Connection, TLS or timeout.
    #[error("cannot reach the Mesos master at {url}: {reason}")]
    Transport {
        /// The request URL.
        url: String,
        /// The cause.
        reason: String,
    },
    /// A non-success status.
    #[error("the Mesos master at {url} answered {status}: {body}")]
    Status {
        /// The request URL.
        url: String,
        /// The status.
        status: StatusCode,
        /// The start of the body.
        body: String,
    },
    /// A `307` without a usable `Location`.
    #[error("the Mesos master at {url} redirected to an unusable location {location:?}")]
    BadRedirect {
        /// The request URL.
        url: String,
        /// The `Location` value.
        location: String,
    },
    /// An answer that does not decode.
    #[error("the Mesos master's answer to {url} is unusable: {reason}")]
    Decode {
        /// The request URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// Bad settings.
    #[error("Mesos client settings: {0}")]
    Config(String),
}

/// The answer to `SUBSCRIBE`.
pub enum Subscribed {
    /// The leader accepted: the RecordIO byte stream.
    Stream(Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send + Unpin>),
    /// A follower named the leader: its base URL.
    Redirect(Url),
}

/// A master's `MasterInfo`, as `GET_MASTER` and ZooKeeper give it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct MasterInfo {
    /// The master id.
    #[serde(default)]
    pub id: Option<String>,
    /// `hostname`.
    #[serde(default)]
    pub hostname: Option<String>,
    /// `address` (≥ 0.24).
    #[serde(default)]
    pub address: Option<Address>,
    /// `port`.
    #[serde(default)]
    pub port: Option<u32>,
    /// `pid` (`master@10.0.0.1:5050`).
    #[serde(default)]
    pub pid: Option<String>,
    /// `version`.
    #[serde(default)]
    pub version: Option<String>,
}

/// `MasterInfo.address`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Address {
    /// `hostname`.
    #[serde(default)]
    pub hostname: Option<String>,
    /// `ip`, as text.
    #[serde(default)]
    pub ip: Option<String>,
    /// `port`.
    #[serde(default)]
    pub port: Option<u32>,
}

/// A client of the masters. Cheap to clone.
#[derive(Clone)]
pub struct MesosClient {
    http: reqwest::Client,
    auth: Option<HeaderValue>,
    timeout: Duration,
    scheme: String,
}

/// The largest plain answer read (a big cluster's `/master/state`).
const MAX_BODY: usize = 512 * 1024 * 1024;

impl MesosClient {
    /// Builds a client; fails on an unreadable CA file or bad credentials.
    pub fn new(config: &MesosConfig) -> Result<Self, MesosError> {
        let bearer = config
            .token
            .as_ref()
            .map(|t| format!("Bearer {}", t.trim()));
        let auth = http_client::authorization(bearer.as_deref(), config.credentials.as_deref())
            .map_err(MesosError::Config)?;
        let http = http_client::build(config.ca.as_deref(), "--mesos-ca", false)
            .map_err(MesosError::Config)?;
        let scheme = match config.scheme.as_str() {
            "" => "http".to_string(),
            "http" | "https" => config.scheme.clone(),
            other => {
                return Err(MesosError::Config(format!(
                    "--mesos-scheme {other:?}: http or https"
                )));
            }
        };
        Ok(MesosClient {
            http,
            auth,
            timeout: if config.timeout.is_zero() {
                Duration::from_secs(10)
            } else {
                config.timeout
            },
            scheme,
        })
    }

    /// The scheme for masters known by host and port only.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    fn post(&self, url: Url, body: &'static str) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .post(url)
            // Exactly this: the master refuses `application/json; charset=utf-8` (415).
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body);
        if let Some(auth) = &self.auth {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        request
    }

    /// `POST {base}/api/v1 {"type":"SUBSCRIBE"}`: the stream, or the leader a follower
    /// names. A `503` (no leader elected, recovering) is an error.
    pub async fn subscribe(&self, base: &Url) -> Result<Subscribed, MesosError> {
        let url = join(base, "api/v1")?;
        let response = tokio::time::timeout(
            self.timeout,
            self.post(url.clone(), r#"{"type":"SUBSCRIBE"}"#).send(),
        )
        .await
        .map_err(|_| transport(&url, "no answer in time"))?
        .map_err(|e| transport(&url, &error_chain(&e)))?;
        match response.status() {
            StatusCode::OK => Ok(Subscribed::Stream(Box::new(Box::pin(
                response.bytes_stream(),
            )))),
            StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                leader_base(base, &location)
                    .map(Subscribed::Redirect)
                    .ok_or(MesosError::BadRedirect {
                        url: url.to_string(),
                        location,
                    })
            }
            status => Err(status_error(&url, status, response).await),
        }
    }

    /// `GET_MASTER` on the leader: its `MasterInfo`.
    pub async fn get_master(&self, base: &Url) -> Result<MasterInfo, MesosError> {
        #[derive(Deserialize)]
        struct Answer {
            get_master: Option<GetMaster>,
        }
        #[derive(Deserialize)]
        struct GetMaster {
            master_info: Option<MasterInfo>,
        }
        let url = join(base, "api/v1")?;
        let body = self
            .read(&url, self.post(url.clone(), r#"{"type":"GET_MASTER"}"#))
            .await?;
        let answer: Answer = decode(&url, &body)?;
        answer
            .get_master
            .and_then(|g| g.master_info)
            .ok_or_else(|| MesosError::Decode {
                url: url.to_string(),
                reason: "no get_master.master_info".into(),
            })
    }

    /// The scheduler PIDs of `/master/state`'s frameworks (by framework id); frameworks
    /// without one (v1 HTTP schedulers) are left out.
    pub async fn scheduler_pids(
        &self,
        base: &Url,
    ) -> Result<HashMap<String, SchedulerPid>, MesosError> {
        #[derive(Deserialize)]
        struct State {
            #[serde(default)]
            frameworks: Vec<Framework>,
        }
        #[derive(Deserialize)]
        struct Framework {
            id: Option<String>,
            pid: Option<String>,
        }
        let url = join(base, "master/state")?;
        let mut request = self
            .http
            .get(url.clone())
            .header(ACCEPT, "application/json");
        if let Some(auth) = &self.auth {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        let body = self.read(&url, request).await?;
        let state: State = decode(&url, &body)?;
        Ok(state
            .frameworks
            .into_iter()
            .filter_map(|f| {
                Some((
                    f.id?,
                    SchedulerPid {
                        pid: f.pid.filter(|p| !p.is_empty())?,
                    },
                ))
            })
            .collect())
    }

    async fn read(&self, url: &Url, request: reqwest::RequestBuilder) -> Result<Bytes, MesosError> {
        let call = async {
            let response = request
                .send()
                .await
                .map_err(|e| transport(url, &error_chain(&e)))?;
            if !response.status().is_success() {
                return Err(status_error(url, response.status(), response).await);
            }
            if response
                .content_length()
                .is_some_and(|l| l > MAX_BODY as u64)
            {
                return Err(MesosError::Decode {
                    url: url.to_string(),
                    reason: format!("larger than {MAX_BODY} bytes"),
                });
            }
            response
                .bytes()
                .await
                .map_err(|e| transport(url, &error_chain(&e)))
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| transport(url, "no answer in time"))?
    }
}

fn transport(url: &Url, reason: &str) -> MesosError {
    MesosError::Transport {
        url: url.to_string(),
        reason: reason.to_string(),
    }
}

async fn status_error(url: &Url, status: StatusCode, response: reqwest::Response) -> MesosError {
    let body = response.text().await.unwrap_or_default();
    MesosError::Status {
        url: url.to_string(),
        status,
        body: body.chars().take(200).collect(),
    }
}

fn decode<T: serde::de::DeserializeOwned>(url: &Url, body: &[u8]) -> Result<T, MesosError> {
    serde_json::from_slice(body).map_err(|e| MesosError::Decode {
        url: url.to_string(),
        reason: e.to_string(),
    })
}

fn join(base: &Url, path: &str) -> Result<Url, MesosError> {
    base.join(path)
        .map_err(|e| MesosError::Config(format!("cannot build a URL for {path:?} on {base}: {e}")))
}

/// The leader's base URL from a follower's `Location` (`//host:port/path`, or absolute):
/// host and port from it, scheme and path prefix from `base`.
pub fn leader_base(base: &Url, location: &str) -> Option<Url> {
    let absolute = if location.starts_with("//") {
        Url::parse(&format!("{}:{location}", base.scheme())).ok()?
    } else {
        Url::parse(location).ok()?
    };
    let host = absolute.host_str()?;
    let mut leader = base.clone();
    leader.set_host(Some(host)).ok()?;
    leader.set_port(absolute.port()).ok()?;
    Some(leader)
}

/// A master's base URL from a host (name or IP) and port, with `scheme`.
pub fn master_base(scheme: &str, host: &str, port: u16) -> Option<Url> {
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    Url::parse(&format!("{scheme}://{host}:{port}/")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_keep_scheme_and_path_and_take_host_and_port() {
        let base = Url::parse("https://m1.example:5050/prefix/").unwrap();
        assert_eq!(
            leader_base(&base, "//m2.example:5051/master/api/v1")
                .unwrap()
                .as_str(),
            "https://m2.example:5051/prefix/"
        );
        assert_eq!(
            leader_base(&base, "http://10.0.0.2:5050/x")
                .unwrap()
                .as_str(),
            "https://10.0.0.2:5050/prefix/"
        );
        assert_eq!(
            leader_base(&base, "//[::1]:5050").unwrap().as_str(),
            "https://[::1]:5050/prefix/"
        );
        assert!(leader_base(&base, "").is_none());
    }

    #[test]
    fn master_bases() {
        assert_eq!(
            master_base("http", "10.0.0.1", 5050).unwrap().as_str(),
            "http://10.0.0.1:5050/"
        );
        assert_eq!(
            master_base("http", "::1", 5050).unwrap().as_str(),
            "http://[::1]:5050/"
        );
    }

    #[test]
    fn a_bad_scheme_is_refused() {
        let config = MesosConfig {
            scheme: "ftp".into(),
            ..MesosConfig::default()
        };
        assert!(matches!(
            MesosClient::new(&config),
            Err(MesosError::Config(_))
        ));
    }
}
