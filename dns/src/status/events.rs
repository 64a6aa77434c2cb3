//! The page's live feed: server-sent `status` events carrying the [`Freshness`] JSON,
//! sent when the catalog changes (at most every [`MIN_GAP`], so a burst of changes costs
//! a few events a second) and every second (staleness, the etcd banner, the DNS snapshot
//! catching up). The script reloads the content when the event's revision differs from
//! what it shows.
//!
//! [`Freshness`]: super::fresh::Freshness

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, Sse};
use futures::Stream;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

use super::StatusState;

/// Shortest time between two events caused by changes.
pub const MIN_GAP: Duration = Duration::from_millis(200);
/// An event at least this often, changed or not.
pub const TICK: Duration = Duration::from_secs(1);

/// `GET /ui/events`.
pub async fn stream(
    State(state): State<StatusState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let changes = state.published.changed.subscribe();
    let mut ticker = interval(TICK);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let start = (state, changes, ticker, Instant::now());
    let events =
        futures::stream::unfold(start, |(state, mut changes, mut ticker, last)| async move {
            tokio::select! {
                _ = async {
                    sleep_until(last + MIN_GAP).await;
                    if changes.changed().await.is_err() {
                        // The catalog's writer is gone: only the ticks remain.
                        std::future::pending::<()>().await;
                    }
                } => {}
                _ = ticker.tick() => {}
            }
            let fresh = state.freshness();
            let event = Event::default()
                .event("status")
                .json_data(&fresh)
                .unwrap_or_else(|_| Event::default().comment("unserialisable status"));
            Some((Ok(event), (state, changes, ticker, Instant::now())))
        });
    Sse::new(events)
}
