//! Agent host names -> IP addresses, cached with a TTL.
//!
//! Marathon reports a task's agent by host name (`host`); DNS wants addresses. An IP
//! literal needs no lookup. A failed lookup keeps the last good answer (a resolver hiccup
//! must not strip addresses from records) and is retried after a short negative TTL.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// How long one lookup may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);
/// Entries kept at most (agents are few; this only bounds garbage input).
const MAX_ENTRIES: usize = 65_536;

#[derive(Clone)]
struct Entry {
    ips: Vec<IpAddr>,
    fresh_until: Instant,
}

/// The cache. Cheap to clone.
#[derive(Clone)]
pub struct AgentResolver {
    ttl: Duration,
    negative_ttl: Duration,
    cache: Arc<Mutex<HashMap<String, Entry>>>,
}

impl AgentResolver {
    /// A resolver whose answers live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        AgentResolver {
            ttl,
            negative_ttl: ttl.min(Duration::from_secs(10)),
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The addresses of `host`, sorted; empty when it does not resolve.
    pub async fn resolve(&self, host: &str) -> Vec<IpAddr> {
        if let Some(ips) = literal(host) {
            return ips;
        }
        let stale = {
            let cache = self.cache.lock().await;
            match cache.get(host) {
                Some(e) if e.fresh_until > Instant::now() => return e.ips.clone(),
                Some(e) => Some(e.ips.clone()),
                None => None,
            }
        };
        let looked_up = lookup(host).await;
        let (ips, ttl) = match looked_up {
            Some(ips) if !ips.is_empty() => (ips, self.ttl),
            _ => {
                tracing::debug!(%host, "agent host name does not resolve");
                (stale.unwrap_or_default(), self.negative_ttl)
            }
        };
        let mut cache = self.cache.lock().await;
        if cache.len() >= MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(
            host.to_string(),
            Entry {
                ips: ips.clone(),
                fresh_until: Instant::now() + ttl,
            },
        );
        ips
    }

    /// Resolves many hosts concurrently (warms the cache before a batch).
    pub async fn prefetch<'a>(&self, hosts: impl IntoIterator<Item = &'a str>) {
        let mut unique: Vec<&str> = hosts.into_iter().collect();
        unique.sort_unstable();
        unique.dedup();
        futures::future::join_all(unique.into_iter().map(|h| self.resolve(h))).await;
    }
}

/// `Some` for hosts that need no lookup: IP literals, and Marathon's "unknown".
fn literal(host: &str) -> Option<Vec<IpAddr>> {
    if host.is_empty() || host == "unknown" {
        return Some(Vec::new());
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().ok().map(|ip| vec![ip])
}

async fn lookup(host: &str) -> Option<Vec<IpAddr>> {
    let found = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, 0)))
        .await
        .ok()?
        .ok()?;
    let mut ips: Vec<IpAddr> = found.map(|a| a.ip()).collect();
    ips.sort();
    ips.dedup();
    Some(ips)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn literals_need_no_lookup() {
        let r = AgentResolver::new(Duration::from_secs(60));
        assert_eq!(
            r.resolve("10.0.2.148").await,
            vec!["10.0.2.148".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            r.resolve("[::1]").await,
            vec!["::1".parse::<IpAddr>().unwrap()]
        );
        assert!(r.resolve("unknown").await.is_empty());
        assert!(r.resolve("").await.is_empty());
    }

    #[tokio::test]
    async fn names_resolve_and_failures_give_nothing() {
        let r = AgentResolver::new(Duration::from_secs(60));
        assert!(
            r.resolve("localhost")
                .await
                .iter()
                .any(|ip| ip.is_loopback())
        );
        assert!(r.resolve("no-such-agent.invalid").await.is_empty());
    }
}
