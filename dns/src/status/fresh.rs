//! How current the page is: the registry revision and the index's staleness as the DNS
//! feed reports them, whether etcd answers (the banner), and the subscriber's own status.
//! Rendered into the page and sent as JSON with every `status` event, as display text:
//! the script only copies it into place.

use std::collections::BTreeMap;
use std::time::Duration;

use registry::{Stamp, SubscriberStatus};
use serde::Serialize;

use super::catalog::Catalog;
use crate::feed::FeedStatus;

/// The freshness panel's texts and the banner.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Freshness {
    /// Shown in a banner when set: etcd unreachable, or no first load yet.
    pub banner: Option<String>,
    /// Display text of each field of the panel, by field name (`revision`, `staleness`,
    /// `etcd`, `counts`, `subscriber`).
    pub fields: BTreeMap<&'static str, String>,
    /// What the page's content reflects: the catalog's revision and the DNS snapshot's
    /// (`12-12`). The script reloads the content when it differs from what it shows.
    pub revision: String,
}

/// Reads the feed's status, the catalog and the DNS snapshot's revision at `now`.
pub fn freshness(
    feed: &FeedStatus,
    catalog: &Catalog,
    zone_revision: i64,
    now: Stamp,
) -> Freshness {
    let checks = feed.health().checks;
    let loaded = checks["index_loaded"].as_bool().unwrap_or(false);
    let connected = checks["registry_connected"].as_bool().unwrap_or(false);
    let revision = checks["revision"].as_i64().unwrap_or(0);
    let staleness = feed.staleness();
    let error = checks["last_error"].as_str().map(redact);
    let banner = match (loaded, connected) {
        (false, _) => Some(format!(
            "The registry has not been loaded yet: Herald's names get SERVFAIL until it is.{}",
            error
                .as_deref()
                .map(|e| format!(" Last error: {e}"))
                .unwrap_or_default()
        )),
        (true, false) => Some(format!(
            "etcd is unreachable: this page and DNS answers show the index as it was {} ago.{}",
            seconds(staleness),
            error
                .as_deref()
                .map(|e| format!(" Last error: {e}"))
                .unwrap_or_default()
        )),
        (true, true) => None,
    };
    let mut fields = BTreeMap::new();
    fields.insert("revision", revision.to_string());
    fields.insert("staleness", format!("{} ago", seconds(staleness)));
    let etcd = if connected {
        "connected"
    } else {
        "unreachable"
    };
    fields.insert("etcd", etcd.to_string());
    let mut counts = format!("{} apps, {} tasks", catalog.apps.len(), catalog.tasks);
    if !catalog.mesos.frameworks.is_empty() {
        let mesos = &catalog.mesos;
        let frameworks = mesos.frameworks.len();
        counts.push_str(&format!(
            "; {frameworks} Mesos frameworks, {} framework tasks",
            mesos.tasks
        ));
    }
    fields.insert("counts", counts);
    let subscriber = catalog.subscriber.as_deref();
    fields.insert("subscriber", subscriber_text(subscriber, &now));
    Freshness {
        banner,
        fields,
        revision: format!("{}-{zone_revision}", catalog.revision),
    }
}

/// `1.2 s`, or `never` for no value.
fn seconds(value: Option<Duration>) -> String {
    match value {
        Some(d) => format!("{:.1} s", d.as_secs_f64()),
        None => "never".into(),
    }
}

fn age(at: &Stamp, now: &Stamp) -> String {
    let elapsed = now.to_datetime() - at.to_datetime();
    let elapsed = elapsed.to_std().unwrap_or_default();
    format!("{} ago", seconds(Some(elapsed)))
}

/// One line about the subscriber.
fn subscriber_text(status: Option<&SubscriberStatus>, now: &Stamp) -> String {
    let Some(s) = status else {
        return "no status record".into();
    };
    let mut parts = vec![match &s.leader_id {
        Some(leader) => format!("leader {}", redact(leader)),
        None => "no leader".into(),
    }];
    for source in &s.sources {
        let mut text = format!("{} {}", redact(&source.source), source.state.as_str());
        if let Some(detail) = &source.detail {
            text.push_str(&format!(" ({})", redact(detail)));
        }
        parts.push(text);
    }
    let last = match &s.last_event_at {
        Some(at) => format!("last event {}", age(at, now)),
        None => "no event yet".into(),
    };
    parts.push(last);
    parts.push(format!("queue {}", s.queue_depth));
    parts.push(format!("reported {}", age(&s.updated_at, now)));
    parts.join(" · ")
}

/// Text with the credentials of any URL in it (`scheme://user:password@host`) removed: a
/// writer should never store them, and the page never shows them.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(userinfo) => {
                out.push_str("***@");
                rest = &tail[userinfo + 1..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use registry::{SourceState, SourceStatus};

    use super::*;

    fn stamp(text: &str) -> Stamp {
        Stamp::parse(text).unwrap_or_else(|_| Stamp::now())
    }

    #[test]
    fn credentials_in_urls_are_never_shown() {
        assert_eq!(
            redact("GET http://user:s3cret@marathon:8080/v2/events failed"),
            "GET http://***@marathon:8080/v2/events failed"
        );
        assert_eq!(redact("a@b http://h/x@y"), "a@b http://h/x@y");
        assert_eq!(redact("plain"), "plain");
    }

    #[test]
    fn banner_until_loaded_and_while_etcd_is_unreachable() {
        let feed = FeedStatus::default();
        let catalog = Catalog::default();
        let now = stamp("2026-01-01T00:00:10Z");
        let fresh = freshness(&feed, &catalog, 0, now);
        assert!(fresh.banner.is_some_and(|b| b.contains("not been loaded")));
        assert_eq!(fresh.fields["subscriber"], "no status record");
    }

    #[test]
    fn the_subscriber_line_names_every_source() {
        let status = SubscriberStatus {
            leader_id: Some("s1".into()),
            sources: vec![SourceStatus {
                source: "mesos".into(),
                state: SourceState::Connecting,
                detail: Some("http://u:p@m:5050 refused".into()),
            }],
            last_event_at: Some(stamp("2026-01-01T00:00:07Z")),
            queue_depth: 4,
            updated_at: stamp("2026-01-01T00:00:09Z"),
        };
        let text = subscriber_text(Some(&status), &stamp("2026-01-01T00:00:10Z"));
        assert_eq!(
            text,
            "leader s1 · mesos connecting (http://***@m:5050 refused) · last event 3.0 s ago · queue 4 · reported 1.0 s ago"
        );
    }
}
