//! Seeding from recordings (the fixtures in `testdata/mesos/`): one JSON record per line,
//! without RecordIO lengths. A `SUBSCRIBED` record, or a `GET_STATE` answer, replaces the
//! cluster; every other record is applied to the cluster and sent to the open streams
//! exactly as recorded (key order, `\/` escapes and number forms kept), framed as
//! `<byte length>\n<line>` like dcos-net's test server does.

use crate::SimError;
use crate::proto::{Envelope, Event};
use crate::shared::Shared;

/// One recorded line and what it means, if the simulator knows its type.
pub(crate) struct Record<'a> {
    pub line: &'a str,
    pub event: Option<Event>,
}

/// The records of `text`; an unreadable line is an error naming it.
pub(crate) fn records(text: &str) -> Result<Vec<Record<'_>>, SimError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let envelope: Envelope = serde_json::from_str(line)
            .map_err(|e| SimError::Invalid(format!("line {}: not a Mesos record: {e}", n + 1)))?;
        let event = envelope
            .into_event()
            .map_err(|e| SimError::Invalid(format!("line {}: {e}", n + 1)))?;
        out.push(Record { line, event });
    }
    Ok(out)
}

impl Shared {
    /// Applies a recording (see the module docs). Returns how many records it held. Open
    /// streams are closed (cleanly) when a snapshot replaces the state, so their clients
    /// subscribe again and see it. A record that does not fit the state (an update of an
    /// unknown task) is still sent, and logged.
    pub(crate) fn seed(&self, text: &str) -> Result<usize, SimError> {
        let records = records(text)?;
        let mut c = self.lock();
        for r in &records {
            match &r.event {
                Some(ev @ Event::Subscribed { .. }) => {
                    c.apply(ev).map_err(SimError::Invalid)?;
                    self.streams.close_all(false);
                }
                Some(ev) => {
                    if let Err(e) = c.apply(ev) {
                        tracing::warn!(error = %e, "recorded event does not fit the state");
                    }
                    self.publish_json(r.line);
                }
                None => self.publish_json(r.line),
            }
        }
        Ok(records.len())
    }

    /// Sends one event given as JSON text, verbatim, after applying it to the cluster when
    /// its type is known (an event that does not fit the state is refused).
    pub(crate) fn emit_json(&self, json: &str) -> Result<(), SimError> {
        let envelope: Envelope = serde_json::from_str(json)
            .map_err(|e| SimError::Invalid(format!("not a Mesos event: {e}")))?;
        let event = envelope.into_event().map_err(SimError::Invalid)?;
        let mut c = self.lock();
        if let Some(ev) = &event {
            if matches!(ev, Event::Subscribed { .. }) {
                return Err(SimError::Invalid(
                    "SUBSCRIBED is only sent first; seed a snapshot instead".into(),
                ));
            }
            c.apply(ev).map_err(SimError::Invalid)?;
        }
        self.publish_json(json.trim());
        Ok(())
    }
}
