//! The elected subscriber's status record: who leads, whether its sources (Marathon, the
//! Mesos master) are connected, when the last event arrived and how full its queue is.
//! herald-dns's status page shows it.
//!
//! One key, `{prefix}/v1/status/subscriber` ([`KeyLayout::subscriber_status_key`]),
//! outside the record trees, so no Marathon or Mesos scope lists or watches it. The value
//! is `{"schema":2,"subscriber_status":{...}}`; it is written unconditionally by the
//! leader (last write wins) and never removed: `updated_at` tells a reader how old it is.
//!
//! [`KeyLayout::subscriber_status_key`]: crate::KeyLayout::subscriber_status_key

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schema::SCHEMA_VERSION;
use crate::stamp::Stamp;
use crate::store::Registry;
use crate::watch::{Raw, Source, Watch, WatchOptions};

/// What the elected subscriber reports about itself. Every field is shown on herald-dns's
/// status page as it is: never put a secret (a password, a URL with credentials) in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberStatus {
    /// The leader's id (its election value, such as `host:port`); `None` when no
    /// subscriber leads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_id: Option<String>,
    /// One entry per source the subscriber follows.
    #[serde(default)]
    pub sources: Vec<SourceStatus>,
    /// When the last event from any source arrived (the writer's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_at: Option<Stamp>,
    /// Events accepted but not yet written.
    #[serde(default)]
    pub queue_depth: u64,
    /// When this record was written (the writer's clock).
    pub updated_at: Stamp,
}

/// The connection to one source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// Which source: `marathon` or `mesos`.
    pub source: String,
    /// Its connection state.
    pub state: SourceState,
    /// A short explanation (the last error); no secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The state of a source's connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceState {
    /// The event stream is open.
    Connected,
    /// Connecting, or reconnecting after a failure.
    Connecting,
    /// Not connected (and not trying: a standby, or stopped).
    Disconnected,
    /// A state this build does not know (written by a newer subscriber).
    #[serde(other)]
    Unknown,
}

impl SourceState {
    /// The lowercase name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceState::Connected => "connected",
            SourceState::Connecting => "connecting",
            SourceState::Disconnected => "disconnected",
            SourceState::Unknown => "unknown",
        }
    }
}

/// What [`Registry::watch_subscriber_status`] delivers.
#[derive(Clone, Debug, PartialEq)]
pub enum StatusEvent {
    /// The record as it is now (`None`: absent, or it does not decode), at `revision`.
    /// Sent first and after every change.
    Current {
        /// The record.
        status: Option<SubscriberStatus>,
        /// The etcd revision it was read or changed at.
        revision: i64,
    },
    /// etcd confirmed nothing changed up to `revision`.
    Live {
        /// The confirmed revision.
        revision: i64,
    },
    /// The connection to etcd was lost; the watch resumes where it stopped.
    Disconnected {
        /// Why.
        error: String,
    },
}

#[derive(Serialize)]
struct Out<'a> {
    schema: u32,
    subscriber_status: &'a SubscriberStatus,
}

#[derive(Deserialize)]
struct In {
    schema: u32,
    subscriber_status: Option<SubscriberStatus>,
}

fn encode(status: &SubscriberStatus) -> Vec<u8> {
    // A plain struct with string keys: serialising cannot fail.
    serde_json::to_vec(&Out {
        schema: SCHEMA_VERSION,
        subscriber_status: status,
    })
    .unwrap_or_default()
}

fn decode(key: &str, value: &[u8]) -> Result<SubscriberStatus> {
    let parsed: In = serde_json::from_slice(value).map_err(|e| Error::Decode {
        key: key.to_string(),
        reason: e.to_string(),
    })?;
    if parsed.schema > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            key: key.to_string(),
            found: parsed.schema,
            supported: SCHEMA_VERSION,
        });
    }
    parsed.subscriber_status.ok_or_else(|| Error::Decode {
        key: key.to_string(),
        reason: "no subscriber_status member".into(),
    })
}

/// A value that does not decode is reported and read as absent, never as an error that
/// would stop a watch.
fn decode_or_none(key: &str, value: &[u8]) -> Option<SubscriberStatus> {
    decode(key, value)
        .inspect_err(|error| tracing::warn!(%key, %error, "ignoring the subscriber status record"))
        .ok()
}

impl Registry {
    /// Writes the subscriber's status record (unconditionally: the leader is its only
    /// writer, and the last write wins).
    pub async fn put_subscriber_status(&self, status: &SubscriberStatus) -> Result<()> {
        let key = self.layout().subscriber_status_key();
        let value = encode(status);
        self.endpoints()
            .call(|mut c| {
                let (key, value) = (key.clone(), value.clone());
                async move { c.put(key, value, None).await }
            })
            .await?;
        Ok(())
    }

    /// Reads the subscriber's status record; `None` when there is none.
    pub async fn get_subscriber_status(&self) -> Result<Option<SubscriberStatus>> {
        Ok(self.read_status().await?.0)
    }

    /// Follows the subscriber's status record with the registry's resumable watch: a
    /// [`StatusEvent::Current`] first and after every change.
    pub fn watch_subscriber_status(&self, options: WatchOptions) -> Watch<StatusEvent> {
        self.watch_source(StatusSource, options)
    }

    async fn read_status(&self) -> Result<(Option<SubscriberStatus>, i64)> {
        let key = self.layout().subscriber_status_key();
        let response = self
            .endpoints()
            .call(|mut c| {
                let key = key.clone();
                async move { c.get(key, None).await }
            })
            .await?;
        let revision = response.header().map(|h| h.revision()).unwrap_or(0);
        let status = match response.kvs().first() {
            Some(kv) => Some(decode(&key, kv.value())?),
            None => None,
        };
        Ok((status, revision))
    }
}

struct StatusSource;

impl Source for StatusSource {
    /// The record and the revision it was read at.
    type Snapshot = (Option<SubscriberStatus>, i64);
    type Change = Option<SubscriberStatus>;
    type Event = StatusEvent;

    fn prefix(&self, registry: &Registry) -> String {
        registry.layout().subscriber_status_key()
    }

    async fn list(&self, registry: &Registry) -> Result<(Self::Snapshot, i64)> {
        let read = match registry.read_status().await {
            Err(e @ (Error::Decode { .. } | Error::SchemaTooNew { .. })) => {
                tracing::warn!(error = %e, "ignoring the subscriber status record");
                (None, registry.ping().await?)
            }
            other => other?,
        };
        Ok((read.clone(), read.1))
    }

    fn change(
        &self,
        registry: &Registry,
        key: &str,
        value: Option<&[u8]>,
    ) -> Option<Option<SubscriberStatus>> {
        // The watch covers every key starting with the status key's text: only it counts.
        if key != registry.layout().subscriber_status_key() {
            return None;
        }
        Some(value.and_then(|value| decode_or_none(key, value)))
    }

    fn event(raw: Raw<Self::Snapshot, Option<SubscriberStatus>>) -> StatusEvent {
        match raw {
            Raw::Resynced((status, revision)) => StatusEvent::Current { status, revision },
            Raw::Changes {
                revision,
                mut changes,
            } => match changes.pop() {
                Some(status) => StatusEvent::Current { status, revision },
                None => StatusEvent::Live { revision },
            },
            Raw::Live { revision } => StatusEvent::Live { revision },
            Raw::Disconnected { error } => StatusEvent::Disconnected { error },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SubscriberStatus {
        SubscriberStatus {
            leader_id: Some("10.0.0.5:8080".into()),
            sources: vec![SourceStatus {
                source: "marathon".into(),
                state: SourceState::Connected,
                detail: None,
            }],
            last_event_at: Stamp::parse("2026-01-01T00:00:01Z").ok(),
            queue_depth: 3,
            updated_at: Stamp::parse("2026-01-01T00:00:02Z").unwrap_or_else(|_| Stamp::now()),
        }
    }

    #[test]
    fn round_trips_with_its_schema() {
        let bytes = encode(&sample());
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.starts_with(r#"{"schema":2,"subscriber_status":{"#),
            "{text}"
        );
        assert_eq!(decode("k", &bytes).ok(), Some(sample()));
    }

    #[test]
    fn unknown_fields_and_states_are_read_newer_schemas_refused() {
        let value = br#"{"schema":2,"subscriber_status":{"sources":[{"source":"mesos","state":"paused"}],"extra":1,"updated_at":"2026-01-01T00:00:02.000Z"}}"#;
        let status = decode("k", value).ok();
        assert_eq!(
            status.map(|s| s.sources[0].state),
            Some(SourceState::Unknown)
        );
        let newer =
            br#"{"schema":9,"subscriber_status":{"updated_at":"2026-01-01T00:00:02.000Z"}}"#;
        assert!(matches!(
            decode("k", newer),
            Err(Error::SchemaTooNew { found: 9, .. })
        ));
        assert!(decode_or_none("k", b"not json").is_none());
    }
}
