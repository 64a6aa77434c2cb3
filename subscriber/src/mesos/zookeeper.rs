//! Follows the masters' ZooKeeper group: every `json.info_*` child of the path, read again
//! whenever the children change (a one-shot children watch, set anew on each read), so a
//! leader change is seen as soon as ZooKeeper tells it. The members go out on a
//! [`tokio::sync::watch`] channel; `None` until the first read, an empty list while no
//! master is registered.
//!
//! A lost session or a failed read is retried with backoff; the last members stay
//! published meanwhile (a ZooKeeper outage is not a Mesos outage).

use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use zookeeper_client::{Client, EventType};

use super::client::MasterInfo;
use super::masters::{Member, member_sequence};

/// Members of the group, as last read.
pub type Members = Option<Vec<Member>>;

/// Watches `path` on `servers` until `stop`, publishing the members on `tx`.
pub async fn follow(
    servers: String,
    path: String,
    tx: watch::Sender<Members>,
    stop: CancellationToken,
) {
    let mut delay = Duration::from_millis(200);
    while !stop.is_cancelled() {
        let connect = Client::connector()
            .with_session_timeout(Duration::from_secs(10))
            .with_connection_timeout(Duration::from_secs(5))
            .connect(&servers);
        let client = tokio::select! {
            c = connect => c,
            _ = stop.cancelled() => return,
        };
        match client {
            Ok(client) => {
                delay = Duration::from_millis(200);
                if let Err(e) = follow_session(&client, &path, &tx, &stop).await {
                    tracing::warn!(%servers, %path, error = %e, "ZooKeeper: watching the masters failed; reconnecting");
                }
            }
            Err(e) => {
                tracing::warn!(%servers, error = %e, retry_in = ?delay, "ZooKeeper: cannot connect");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.cancelled() => return,
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// Reads and watches the group in one session until it fails or `stop`.
async fn follow_session(
    client: &Client,
    path: &str,
    tx: &watch::Sender<Members>,
    stop: &CancellationToken,
) -> Result<(), zookeeper_client::Error> {
    loop {
        let watcher = match client.list_and_watch_children(path).await {
            Ok((children, watcher)) => {
                let members = read_members(client, path, &children).await?;
                tx.send_if_modified(|old| {
                    let changed = old.as_ref() != Some(&members);
                    *old = Some(members);
                    changed
                });
                watcher
            }
            Err(zookeeper_client::Error::NoNode) => {
                // No master has registered yet: wait for the path to appear.
                tx.send_if_modified(|old| {
                    let changed = old.as_ref().is_none_or(|m| !m.is_empty());
                    *old = Some(Vec::new());
                    changed
                });
                let (stat, watcher) = client.check_and_watch_stat(path).await?;
                if stat.is_some() {
                    continue; // created meanwhile: list it
                }
                watcher
            }
            Err(e) => return Err(e),
        };
        let event = tokio::select! {
            e = watcher.changed() => e,
            _ = stop.cancelled() => return Ok(()),
        };
        if event.event_type == EventType::Session {
            return Err(zookeeper_client::Error::SessionExpired);
        }
    }
}

/// The `json.info_*` members among `children` with their `MasterInfo`. A member that
/// vanished between listing and reading is skipped; one whose data does not decode is
/// logged and skipped.
async fn read_members(
    client: &Client,
    path: &str,
    children: &[String],
) -> Result<Vec<Member>, zookeeper_client::Error> {
    let mut members = Vec::new();
    for node in children {
        let Some(sequence) = member_sequence(node) else {
            continue;
        };
        let data = match client.get_data(&format!("{path}/{node}")).await {
            Ok((data, _)) => data,
            Err(zookeeper_client::Error::NoNode) => continue,
            Err(e) => return Err(e),
        };
        match serde_json::from_slice::<MasterInfo>(&data) {
            Ok(info) => members.push(Member {
                sequence,
                node: node.clone(),
                info,
            }),
            Err(e) => {
                tracing::warn!(%path, %node, error = %e, "ZooKeeper: a master's data is not MasterInfo JSON; skipped")
            }
        }
    }
    members.sort_by_key(|m| m.sequence);
    Ok(members)
}
