//! The Marathon REST/SSE client: a base URL with an optional path prefix (DC/OS'
//! `https://master/service/marathon`), HTTP Basic or a raw `Authorization` value
//! (`token=...`), HTTPS with a custom CA.
//!
//! Redirects are followed here, not by reqwest: reqwest drops `Authorization` when a
//! redirect changes host, and a standby Marathon (1.7+) answers `/v2/events` with a 302 to
//! the leader, which needs the same credentials.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};

use registry::AppId;

use super::listing;
use super::model;
use crate::http_client::{self, error_chain};

/// The most redirects followed for one request.
const MAX_REDIRECTS: usize = 5;
/// The largest REST answer read (a big cluster's `/v2/apps?embed=apps.tasks`).
const MAX_BODY: usize = 512 * 1024 * 1024;
/// Body chunks buffered between the network and the listing's parser.
const LISTING_CHUNKS: usize = 16;

/// How to reach Marathon.
#[derive(Clone, Default)]
pub struct MarathonConfig {
    /// The base URL, possibly with a path prefix and `user:password@`.
    pub url: String,
    /// `user:password` for HTTP Basic.
    pub credentials: Option<String>,
    /// A raw `Authorization` header value (`token=<DC/OS ACS token>`); wins over Basic.
    pub auth_header: Option<String>,
    /// A PEM bundle: trust only these CAs for HTTPS.
    pub ca: Option<PathBuf>,
    /// Do not verify Marathon's certificate (tests only).
    pub insecure: bool,
    /// Deadline of one REST request.
    pub timeout: Duration,
}

impl std::fmt::Debug for MarathonConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets.
        f.debug_struct("MarathonConfig")
            .field("url", &redact_url(&self.url))
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "auth_header",
                &self.auth_header.as_ref().map(|_| "<redacted>"),
            )
            .field("ca", &self.ca)
            .field("insecure", &self.insecure)
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("redacted"));
            }
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}

/// What went wrong talking to Marathon.
#[derive(Debug, thiserror::Error)]
pub enum MarathonError {
    /// Connection, TLS or timeout.
    #[error("cannot reach Marathon at {url}: {reason}")]
    Transport {
        /// The request URL.
        url: String,
        /// The cause, with its sources.
        reason: String,
    },
    /// A non-success status.
    #[error("Marathon answered {status} to {url}: {body}")]
    Status {
        /// The request URL.
        url: String,
        /// The status.
        status: StatusCode,
        /// The start of the body.
        body: String,
    },
    /// An answer that does not decode as expected.
    #[error("Marathon's answer to {url} is unusable: {reason}")]
    Decode {
        /// The request URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A redirect loop.
    #[error("more than {MAX_REDIRECTS} redirects from {url}")]
    Redirects {
        /// The first URL.
        url: String,
    },
    /// Bad settings.
    #[error("Marathon client settings: {0}")]
    Config(String),
}

/// A Marathon client. Cheap to clone.
#[derive(Clone)]
pub struct MarathonClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    auth: Option<HeaderValue>,
    timeout: Duration,
}

impl std::fmt::Debug for MarathonClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarathonClient")
            .field("base", &self.inner.base.as_str())
            .finish()
    }
}

impl MarathonClient {
    /// Builds a client; fails on an unparseable URL or an unreadable CA file.
    pub fn new(config: &MarathonConfig) -> Result<Self, MarathonError> {
        let mut base = Url::parse(config.url.trim())
            .map_err(|e| MarathonError::Config(format!("--marathon {:?}: {e}", config.url)))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(MarathonError::Config(format!(
                "--marathon {:?}: the scheme must be http or https",
                config.url
            )));
        }
        let mut basic = config.credentials.clone();
        if !base.username().is_empty() {
            let decode = |s: &str| {
                url_decode(s)
                    .ok_or_else(|| MarathonError::Config("bad user info in --marathon".into()))
            };
            let user = decode(base.username())?;
            let password = decode(base.password().unwrap_or(""))?;
            basic.get_or_insert(format!("{user}:{password}"));
            let _ = base.set_username("");
            let _ = base.set_password(None);
        }
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let auth = http_client::authorization(config.auth_header.as_deref(), basic.as_deref())
            .map_err(MarathonError::Config)?;
        let http = http_client::build(config.ca.as_deref(), "--marathon-ca", config.insecure)
            .map_err(MarathonError::Config)?;
        Ok(MarathonClient {
            inner: Arc::new(Inner {
                http,
                base,
                auth,
                timeout: if config.timeout.is_zero() {
                    Duration::from_secs(10)
                } else {
                    config.timeout
                },
            }),
        })
    }

    /// The base URL (without credentials).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    fn url(&self, path: &str) -> Result<Url, MarathonError> {
        self.inner
            .base
            .join(path)
            .map_err(|e| MarathonError::Config(format!("cannot build a URL for {path:?}: {e}")))
    }

    /// Sends a request, following redirects with the credentials kept.
    async fn send(
        &self,
        method: Method,
        url: Url,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, MarathonError> {
        let first = url.to_string();
        let mut url = url;
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self.inner.http.request(method.clone(), url.clone());
            if let Some(auth) = &self.inner.auth {
                request = request.header(AUTHORIZATION, auth.clone());
            }
            let response = build(request)
                .send()
                .await
                .map_err(|e| MarathonError::Transport {
                    url: url.to_string(),
                    reason: error_chain(&e),
                })?;
            if response.status().is_redirection()
                && let Some(next) = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
            {
                tracing::debug!(from = %url, to = %next, "following a Marathon redirect");
                url = next;
                continue;
            }
            return Ok(response);
        }
        Err(MarathonError::Redirects { url: first })
    }

    /// A GET of JSON within the request timeout, redirects followed; the body unread.
    async fn get_json(&self, url: &Url) -> Result<Response, MarathonError> {
        let timeout = self.inner.timeout;
        self.send(Method::GET, url.clone(), |r| {
            r.timeout(timeout).header(ACCEPT, "application/json")
        })
        .await
    }

    /// A GET whose body is read whole (up to a limit); 404 gives `None`.
    async fn get_body(&self, url: Url) -> Result<Option<Bytes>, MarathonError> {
        let mut response = self.get_json(&url).await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body = read_body(&mut response, &url).await?;
        if !status.is_success() {
            return Err(status_error(&url, status, &body));
        }
        Ok(Some(body))
    }

    /// `GET /v2/apps?embed=apps.tasks`: every app with its tasks. An answer without an
    /// `apps` list, or with an app without embedded tasks, is an error (never "no apps").
    /// Holds the whole listing: a reconcile reads it with [`Self::for_each_app_with_tasks`].
    pub async fn apps_with_tasks(&self) -> Result<Vec<model::App>, MarathonError> {
        let (_, apps) = self
            .for_each_app_with_tasks(Vec::new(), |apps, app| apps.push(app))
            .await?;
        Ok(apps)
    }

    /// `GET /v2/apps?embed=apps.tasks`, parsed as the body arrives: `each` gets `state` and
    /// every app as soon as it is complete (on a blocking thread, so it may block), and
    /// neither the body nor the whole listing is held. Returns the number of apps listed and
    /// `state`. The errors are [`Self::apps_with_tasks`]' (apps handed over before one of
    /// them are not taken back: the caller drops what it gathered).
    pub async fn for_each_app_with_tasks<S, F>(
        &self,
        state: S,
        mut each: F,
    ) -> Result<(usize, S), MarathonError>
    where
        S: Send + 'static,
        F: FnMut(&mut S, model::App) + Send + 'static,
    {
        let mut url = self.url("v2/apps")?;
        url.query_pairs_mut().append_pair("embed", "apps.tasks");
        let mut response = self.get_json(&url).await?;
        let status = response.status();
        if !status.is_success() {
            let body = read_body(&mut response, &url).await?;
            return Err(status_error(&url, status, &body));
        }
        let (chunks, mut received) = tokio::sync::mpsc::channel::<Bytes>(LISTING_CHUNKS);
        let parser = tokio::task::spawn_blocking(move || {
            let mut state = state;
            // The sender's end closing is the end of the body.
            let body = std::iter::from_fn(|| received.blocking_recv());
            listing::for_each_app(body, &mut |app| each(&mut state, app))
                .map(|count| (count, state))
        });
        let decode_error = |reason: String| MarathonError::Decode {
            url: url.to_string(),
            reason,
        };
        let mut read = 0;
        let mut failed = None;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    read += chunk.len();
                    if read > MAX_BODY {
                        failed = Some(decode_error(format!(
                            "the answer is larger than {MAX_BODY} bytes"
                        )));
                        break;
                    }
                    if chunks.send(chunk).await.is_err() {
                        // The parser stopped early; its error says why.
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    failed = Some(MarathonError::Transport {
                        url: url.to_string(),
                        reason: error_chain(&e),
                    });
                    break;
                }
            }
        }
        drop(chunks);
        let parsed = parser
            .await
            .map_err(|e| decode_error(format!("the listing's parser failed: {e}")))?;
        if let Some(e) = failed {
            return Err(e);
        }
        parsed.map_err(|e| decode_error(e.to_string()))
    }

    /// `GET /v2/apps/{id}`; `None` when Marathon does not know the app.
    pub async fn app(&self, id: &AppId) -> Result<Option<model::App>, MarathonError> {
        let url = self.url(&format!("v2/apps{}", id.as_str()))?;
        match self.get_body(url.clone()).await? {
            None => Ok(None),
            Some(body) => {
                let show: model::AppShow = decode(&url, &body)?;
                Ok(show.app)
            }
        }
    }

    /// `GET /v2/apps/{id}/versions/{version}`: an older version's definition.
    pub async fn app_version(
        &self,
        id: &AppId,
        version: &str,
    ) -> Result<Option<model::App>, MarathonError> {
        let mut url = self.url(&format!("v2/apps{}/versions/", id.as_str()))?;
        url.path_segments_mut()
            .map_err(|_| MarathonError::Config("base URL cannot have a path".into()))?
            .pop_if_empty()
            .push(version);
        match self.get_body(url.clone()).await? {
            None => Ok(None),
            Some(body) => decode(&url, &body).map(Some),
        }
    }

    /// `GET /ping`: is Marathon up (and do our credentials work)?
    pub async fn ping(&self) -> Result<(), MarathonError> {
        let url = self.url("ping")?;
        let timeout = self.inner.timeout.min(Duration::from_secs(3));
        let mut response = self
            .send(Method::GET, url.clone(), |r| r.timeout(timeout))
            .await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = read_body(&mut response, &url).await.unwrap_or_default();
        Err(status_error(&url, status, &body))
    }

    async fn subscription(&self, method: Method, callback: &str) -> Result<(), MarathonError> {
        let mut url = self.url("v2/eventSubscriptions")?;
        url.query_pairs_mut().append_pair("callbackUrl", callback);
        let timeout = self.inner.timeout;
        let mut response = self
            .send(method, url.clone(), |r| {
                // Marathon's resource is @Consumes(application/json), even with no body.
                r.timeout(timeout)
                    .header(CONTENT_TYPE, "application/json")
                    .header(ACCEPT, "application/json")
            })
            .await?;
        let status = response.status();
        let body = read_body(&mut response, &url).await?;
        if !status.is_success() {
            return Err(status_error(&url, status, &body));
        }
        Ok(())
    }

    /// `POST /v2/eventSubscriptions?callbackUrl=` (Marathon ≤1.4).
    pub async fn subscribe(&self, callback: &str) -> Result<(), MarathonError> {
        self.subscription(Method::POST, callback).await
    }

    /// `DELETE /v2/eventSubscriptions?callbackUrl=`.
    pub async fn unsubscribe(&self, callback: &str) -> Result<(), MarathonError> {
        self.subscription(Method::DELETE, callback).await
    }

    /// `GET /v2/events` with `Accept: text/event-stream` (exactly: Jetty compares it with
    /// `equals`), filtered to `event_types`. Returns the open response; the caller reads
    /// its body with [`Response::chunk`].
    pub async fn event_stream(&self, event_types: &[&str]) -> Result<Response, MarathonError> {
        let mut url = self.url("v2/events")?;
        {
            let mut query = url.query_pairs_mut();
            for t in event_types {
                query.append_pair("event_type", t);
            }
        }
        let connect = self.inner.timeout;
        let response = tokio::time::timeout(
            connect,
            self.send(Method::GET, url.clone(), |r| {
                r.header(ACCEPT, "text/event-stream")
            }),
        )
        .await
        .map_err(|_| MarathonError::Transport {
            url: url.to_string(),
            reason: format!("no answer within {connect:?}"),
        })??;
        let status = response.status();
        if !status.is_success() {
            let mut response = response;
            let body = read_body(&mut response, &url).await.unwrap_or_default();
            return Err(status_error(&url, status, &body));
        }
        Ok(response)
    }
}

fn status_error(url: &Url, status: StatusCode, body: &[u8]) -> MarathonError {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    MarathonError::Status {
        url: url.to_string(),
        status,
        body: text,
    }
}

async fn read_body(response: &mut Response, url: &Url) -> Result<Bytes, MarathonError> {
    let mut out = BytesMut::new();
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|e| MarathonError::Transport {
                url: url.to_string(),
                reason: error_chain(&e),
            })?;
        let Some(chunk) = chunk else {
            return Ok(out.freeze());
        };
        if out.len() + chunk.len() > MAX_BODY {
            return Err(MarathonError::Decode {
                url: url.to_string(),
                reason: format!("the answer is larger than {MAX_BODY} bytes"),
            });
        }
        out.extend_from_slice(&chunk);
    }
}

fn decode<T: serde::de::DeserializeOwned>(url: &Url, body: &[u8]) -> Result<T, MarathonError> {
    serde_json::from_slice(body).map_err(|e| MarathonError::Decode {
        url: url.to_string(),
        reason: e.to_string(),
    })
}

/// Percent-decodes URL user info.
fn url_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn client(url: &str) -> MarathonClient {
        MarathonClient::new(&MarathonConfig {
            url: url.into(),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn urls_keep_the_path_prefix() {
        let c = client("https://master.example/service/marathon");
        assert_eq!(
            c.url("v2/apps").unwrap().as_str(),
            "https://master.example/service/marathon/v2/apps"
        );
        let c = client("http://m:8080/");
        assert_eq!(
            c.url("v2/apps/prod/web").unwrap().as_str(),
            "http://m:8080/v2/apps/prod/web"
        );
    }

    #[test]
    fn user_info_becomes_basic_auth_and_leaves_the_url() {
        let c = client("http://us%40r:p%3Ass@m:8080");
        assert_eq!(c.base_url().as_str(), "http://m:8080/");
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("us@r:p:ss")
        );
        assert_eq!(c.inner.auth.as_ref().unwrap().to_str().unwrap(), expected);
    }

    #[test]
    fn raw_authorization_wins_and_secrets_are_not_printed() {
        let config = MarathonConfig {
            url: "http://a:b@m".into(),
            auth_header: Some("token=abc".into()),
            ..Default::default()
        };
        let c = MarathonClient::new(&config).unwrap();
        assert_eq!(
            c.inner.auth.as_ref().unwrap().to_str().unwrap(),
            "token=abc"
        );
        let printed = format!("{config:?}");
        assert!(
            !printed.contains("abc") && !printed.contains(":b@"),
            "{printed}"
        );
    }

    #[test]
    fn bad_settings_are_reported() {
        for url in ["", "ftp://m", "not a url"] {
            assert!(
                MarathonClient::new(&MarathonConfig {
                    url: url.into(),
                    ..Default::default()
                })
                .is_err()
            );
        }
    }
}
