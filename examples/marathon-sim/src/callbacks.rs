//! HTTP callback subscribers (Marathon <= 1.4's `http_callback` event subscriber): every
//! event is POSTed to every registered URL, with Marathon's back-off after failures.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::bus::BusEvent;
use crate::{MarathonVersion, SimConfig};

/// Consecutive failed deliveries to one URL, and until when it is skipped.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
    skip_until: Option<Instant>,
}

/// The registered callback URLs and their delivery state.
pub(crate) struct Callbacks {
    enabled: bool,
    urls: Mutex<Vec<String>>,
    backoff: Mutex<HashMap<String, Backoff>>,
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
    use_backoff: bool,
}

impl Callbacks {
    /// No URLs yet; delivers only for 1.4 with callbacks on.
    pub(crate) fn new(cfg: &SimConfig) -> Callbacks {
        Callbacks {
            enabled: cfg.version == MarathonVersion::V1_4 && cfg.callbacks,
            urls: Mutex::new(Vec::new()),
            backoff: Mutex::new(HashMap::new()),
            client: Client::builder(TokioExecutor::new()).build_http(),
            timeout: cfg.callback_timeout,
            use_backoff: cfg.callback_backoff,
        }
    }

    /// Adds a URL (idempotent); true if it was new.
    pub(crate) fn add(&self, url: &str) -> bool {
        let mut urls = self.urls.lock().unwrap_or_else(|p| p.into_inner());
        if urls.iter().any(|u| u == url) {
            false
        } else {
            urls.push(url.to_string());
            true
        }
    }

    /// Removes a URL; true if it was registered.
    pub(crate) fn remove(&self, url: &str) -> bool {
        let mut urls = self.urls.lock().unwrap_or_else(|p| p.into_inner());
        let before = urls.len();
        urls.retain(|u| u != url);
        self.backoff
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(url);
        urls.len() != before
    }

    /// The registered URLs, in registration order.
    pub(crate) fn urls(&self) -> Vec<String> {
        self.urls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// POSTs the event to every subscriber, each in its own task (so order is not guaranteed).
    pub(crate) fn deliver(self: &Arc<Self>, ev: Arc<BusEvent>) {
        if !self.enabled {
            return;
        }
        let urls = self.urls();
        if urls.is_empty() || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let now = Instant::now();
        for url in urls {
            if self.use_backoff {
                let b = self.backoff.lock().unwrap_or_else(|p| p.into_inner());
                if b.get(&url)
                    .and_then(|b| b.skip_until)
                    .is_some_and(|t| t > now)
                {
                    tracing::debug!(%url, event = %ev.event_type, "callback in back-off: event dropped");
                    continue;
                }
            }
            let this = self.clone();
            let ev = ev.clone();
            tokio::spawn(async move {
                let ok = this.post(&url, &ev).await;
                this.record(&url, ok);
            });
        }
    }

    async fn post(&self, url: &str, ev: &BusEvent) -> bool {
        let req = match http::Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(ev.data.clone())))
        {
            Ok(r) => r,
            Err(_) => return false,
        };
        let fut = async {
            let resp = self.client.request(req).await.ok()?;
            let status = resp.status();
            let _ = resp.into_body().collect().await;
            Some(status.is_success() || status.is_redirection())
        };
        matches!(
            tokio::time::timeout(self.timeout, fut).await,
            Ok(Some(true))
        )
    }

    fn record(&self, url: &str, ok: bool) {
        let mut b = self.backoff.lock().unwrap_or_else(|p| p.into_inner());
        let e = b.entry(url.to_string()).or_default();
        if ok {
            *e = Backoff::default();
        } else {
            e.failures = e.failures.saturating_add(1);
            if self.use_backoff {
                let secs = 1u64 << e.failures.min(8);
                e.skip_until = Some(Instant::now() + Duration::from_secs(secs));
            }
            tracing::debug!(%url, failures = e.failures, "callback delivery failed");
        }
    }
}
