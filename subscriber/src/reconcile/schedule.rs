//! When a reconcile runs: on becoming leader (so at start), every `--reconcile-interval`
//! while leader, and when requested through [`Resync`] (on any instance). Failed runs are
//! retried with backoff.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::Reconciler;
use crate::resync::Resync;

/// The background reconcile: on becoming leader, every `interval` while leader, and on
/// request (any instance, at most one run per `min_gap`). Failed runs are retried with
/// backoff.
pub async fn run_loop(
    reconciler: Arc<Reconciler>,
    resync: Resync,
    mut leader: watch::Receiver<bool>,
    interval: Option<Duration>,
    shutdown: CancellationToken,
) {
    let min_gap = Duration::from_secs(1);
    let mut was_leader = false;
    let mut next_periodic: Option<tokio::time::Instant> = None;
    let mut retry_at: Option<tokio::time::Instant> = None;
    let mut retry_delay = Duration::from_secs(2);
    let mut last_run = tokio::time::Instant::now() - min_gap;
    loop {
        let is_leader = *leader.borrow_and_update();
        let mut reason: Option<String> = None;
        if is_leader && !was_leader {
            reason = Some("became leader".into());
        }
        if !is_leader {
            next_periodic = None;
        }
        was_leader = is_leader;
        if reason.is_none() {
            let periodic = async {
                match next_periodic {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let retry = async {
                match retry_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                changed = leader.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    continue;
                }
                r = resync.requested() => reason = Some(r),
                _ = periodic => reason = Some("periodic".into()),
                _ = retry => reason = Some("retry after a failed run".into()),
            }
        }
        let reason = reason.unwrap_or_default();
        let wait = (last_run + min_gap).saturating_duration_since(tokio::time::Instant::now());
        if !wait.is_zero() {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        // Requests made while waiting are served by this run.
        let _ = resync.take();
        tracing::debug!(%reason, "reconcile starting");
        last_run = tokio::time::Instant::now();
        let result = tokio::select! {
            r = reconciler.run_automatic() => r,
            // Stopping mid-way is safe: every write is guarded.
            _ = shutdown.cancelled() => return,
        };
        match result {
            Ok(_) => {
                retry_at = None;
                retry_delay = Duration::from_secs(2);
            }
            Err(e) => {
                tracing::warn!(%reason, error = %e, retry_in = ?retry_delay, "reconcile failed; nothing was removed");
                retry_at = Some(tokio::time::Instant::now() + retry_delay);
                retry_delay = (retry_delay * 2).min(Duration::from_secs(60));
            }
        }
        if was_leader && let Some(every) = interval {
            next_periodic = Some(tokio::time::Instant::now() + every);
        }
    }
}
