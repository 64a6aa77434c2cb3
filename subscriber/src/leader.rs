//! Leader election through etcd's election API, so that of several subscribers (one per
//! Marathon master, say) exactly one runs the SSE stream and the periodic reconcile.
//!
//! Each term: grant a lease (TTL a few seconds), keep it alive every TTL/3, `campaign` with
//! it, and lead until the lease cannot be refreshed (then step down *before* etcd expires
//! it, so two leaders never overlap by more than a few hundred milliseconds) or until
//! shutdown (then `resign` and revoke the lease, so a successor takes over at once).
//! When a leader dies, its lease expires within the TTL and the next campaigner wins.
//!
//! Leadership only decides who does the *extra* work: callback ingestion runs everywhere,
//! and every write is guarded, so a brief overlap is harmless.

use std::time::{Duration, Instant};

use etcd_client::{Client, ResignOptions};
use registry::Endpoints;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

/// Election settings.
#[derive(Clone, Debug)]
pub struct ElectionConfig {
    /// The election's name (an etcd key prefix).
    pub name: String,
    /// This instance's value (shown to observers).
    pub id: String,
    /// The lease TTL (whole seconds, at least 2).
    pub ttl: Duration,
}

/// Runs elections until `shutdown`; `leader` says whether this instance leads. A term that
/// fails moves the next one to another etcd member.
pub async fn run(
    endpoints: Endpoints,
    config: ElectionConfig,
    leader: watch::Sender<bool>,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        let pinned = endpoints.pinned_client();
        let mut client = pinned.client.clone();
        let result = term(&mut client, &config, &leader, &shutdown).await;
        leader.send_replace(false);
        if result.is_err() {
            endpoints.failed(&pinned).await;
        }
        match result {
            Ok(()) => backoff = Duration::from_millis(200),
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "leader election failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.cancelled() => {}
                }
                backoff = (backoff * 2).min(config.ttl.max(Duration::from_secs(2)));
            }
        }
    }
}

/// A short deadline for the unary calls (the election client has none of its own, so
/// that `campaign` may wait as long as another instance leads).
async fn quick<T>(
    what: &str,
    call: impl std::future::Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, String> {
    match tokio::time::timeout(Duration::from_secs(3), call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: no answer within 3s")),
    }
}

async fn term(
    client: &mut Client,
    config: &ElectionConfig,
    leader: &watch::Sender<bool>,
    shutdown: &CancellationToken,
) -> Result<(), String> {
    let ttl = config.ttl.max(Duration::from_secs(2));
    let lease = quick(
        "lease grant",
        client.lease_grant(ttl.as_secs() as i64, None),
    )
    .await?
    .id();
    let lost = CancellationToken::new();
    // Dropped with this future, so an aborted election (a crash, in tests) stops
    // refreshing the lease and a successor takes over.
    let keeper = AbortOnDropHandle::new(tokio::spawn(keep_alive(
        client.clone(),
        lease,
        ttl,
        lost.clone(),
    )));
    let result = async {
        let campaign = tokio::select! {
            r = client.campaign(config.name.as_bytes(), config.id.as_bytes(), lease) => {
                r.map_err(|e| format!("campaign: {e}"))?
            }
            _ = lost.cancelled() => return Ok(()),
            _ = shutdown.cancelled() => return Ok(()),
        };
        if lost.is_cancelled() {
            return Ok(());
        }
        leader.send_replace(true);
        tracing::info!(election = %config.name, id = %config.id, "elected leader");
        tokio::select! {
            _ = lost.cancelled() => {
                tracing::warn!("lost leadership: the election lease could not be kept alive");
            }
            _ = shutdown.cancelled() => {
                leader.send_replace(false);
                if let Some(key) = campaign.leader().cloned() {
                    let _ = quick("resign", client.resign(Some(ResignOptions::new().with_leader(key)))).await;
                }
                tracing::info!("resigned leadership");
            }
        }
        Ok(())
    }
    .await;
    leader.send_replace(false);
    drop(keeper);
    let _ = quick("lease revoke", client.lease_revoke(lease)).await;
    result
}

/// Refreshes `lease` every TTL/3; cancels `lost` when it expired or could not be
/// refreshed for 3/4 of its TTL.
async fn keep_alive(mut client: Client, lease: i64, ttl: Duration, lost: CancellationToken) {
    let interval = ttl / 3;
    let give_up = ttl * 3 / 4;
    let mut last_ok = Instant::now();
    loop {
        if let Ok(Ok((mut keeper, mut stream))) =
            tokio::time::timeout(interval, client.lease_keep_alive(lease)).await
        {
            loop {
                if tokio::time::timeout(interval, keeper.keep_alive())
                    .await
                    .map_or(true, |r| r.is_err())
                {
                    break;
                }
                match tokio::time::timeout(interval, stream.message()).await {
                    Ok(Ok(Some(response))) => {
                        if response.ttl() <= 0 {
                            lost.cancel();
                            return;
                        }
                        last_ok = Instant::now();
                    }
                    _ => break,
                }
                tokio::time::sleep(interval).await;
                if last_ok.elapsed() >= give_up {
                    lost.cancel();
                    return;
                }
            }
        }
        if last_ok.elapsed() >= give_up {
            lost.cancel();
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// This host's name (for the election value).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "herald".to_string())
}
