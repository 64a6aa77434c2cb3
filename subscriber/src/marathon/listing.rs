//! `GET /v2/apps?embed=apps.tasks` read as it arrives: the body's chunks go through a
//! [`ChunkReader`] into a streaming JSON parser that hands each app of the `apps` array to
//! a callback as soon as it is complete ([`for_each_app`]). Neither the body nor the whole
//! listing is ever held: only the app being parsed and what the callback keeps of it.
//!
//! The rules are those of a whole-body read: an answer without an `apps` list (or with
//! `"apps": null`) is an error, and so is an app without embedded `tasks` (the listing
//! would look like a cluster without tasks, and a reconcile would remove them all).

use std::fmt;
use std::io::{self, Read};

use bytes::{Buf, Bytes};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tokio::sync::mpsc;

use super::model;

/// Why a listing could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ListingError {
    /// The answer has no `apps` list.
    #[error("no \"apps\" list in the answer")]
    NoApps,
    /// An app came without its tasks (`embed=apps.tasks` not honoured).
    #[error("app {0:?} has no embedded \"tasks\" (embed=apps.tasks not honoured)")]
    NoTasks(String),
    /// The body is not the JSON of a listing.
    #[error("{0}")]
    Json(String),
}

/// Parses a listing from `reader`, calling `each` with every app in order; returns how
/// many apps were listed.
pub fn for_each_app(
    reader: impl Read,
    each: &mut impl FnMut(model::App),
) -> Result<usize, ListingError> {
    let mut missing_tasks = None;
    let mut de =
        serde_json::Deserializer::from_reader(io::BufReader::with_capacity(64 * 1024, reader));
    let seed = Listing {
        each,
        missing_tasks: &mut missing_tasks,
    };
    let parsed = seed.deserialize(&mut de).and_then(|apps| {
        de.end()?;
        Ok(apps)
    });
    if let Some(id) = missing_tasks {
        return Err(ListingError::NoTasks(id));
    }
    parsed
        .map_err(|e| ListingError::Json(e.to_string()))?
        .ok_or(ListingError::NoApps)
}

/// A blocking [`Read`] over body chunks sent from async code; the sender's end closing is
/// the end of the body.
pub struct ChunkReader {
    chunks: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl ChunkReader {
    /// A reader of what `chunks` receives. Read it on a blocking thread only.
    pub fn new(chunks: mpsc::Receiver<Bytes>) -> Self {
        ChunkReader {
            chunks,
            current: Bytes::new(),
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while !self.current.has_remaining() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        self.current.copy_to_slice(&mut buf[..n]);
        Ok(n)
    }
}

/// The top-level object: `apps` is read app by app, everything else skipped. Yields the
/// number of apps, `None` when there is no `apps` list.
struct Listing<'a, F> {
    each: &'a mut F,
    missing_tasks: &'a mut Option<String>,
}

impl<'de, F: FnMut(model::App)> DeserializeSeed<'de> for Listing<'_, F> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(model::App)> Visitor<'de> for Listing<'_, F> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with an \"apps\" list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut apps = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "apps" && apps.is_none() {
                apps = map.next_value_seed(Apps {
                    each: &mut *self.each,
                    missing_tasks: &mut *self.missing_tasks,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(apps)
    }
}

/// The `apps` member: `null` reads as absent, a list is read one app at a time.
struct Apps<'a, F> {
    each: &'a mut F,
    missing_tasks: &'a mut Option<String>,
}

impl<'de, F: FnMut(model::App)> DeserializeSeed<'de> for Apps<'_, F> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, F: FnMut(model::App)> Visitor<'de> for Apps<'_, F> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of apps")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut count = 0;
        while let Some(app) = seq.next_element::<model::App>()? {
            if app.tasks.is_none() {
                let id = app.id.unwrap_or_else(|| "?".into());
                *self.missing_tasks = Some(id.clone());
                return Err(de::Error::custom(ListingError::NoTasks(id)));
            }
            (self.each)(app);
            count += 1;
        }
        Ok(Some(count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(body: &str) -> Result<(usize, Vec<String>), ListingError> {
        let mut seen = Vec::new();
        let count = for_each_app(body.as_bytes(), &mut |app: model::App| {
            seen.push(format!(
                "{}:{}",
                app.id.unwrap_or_default(),
                app.tasks.map_or(0, |t| t.len())
            ))
        })?;
        Ok((count, seen))
    }

    #[test]
    fn every_app_is_handed_over_in_order_with_its_tasks() {
        let body = r#"{"other":[1,{"x":null}],"apps":[
            {"id":"/a","tasks":[{"id":"a.1"},{"id":"a.2"}]},
            {"id":"/b","tasks":[]}],"tail":"ignored"}"#;
        assert_eq!(
            ids(body).expect("listing"),
            (2, vec!["/a:2".to_string(), "/b:0".to_string()])
        );
        assert_eq!(ids(r#"{"apps":[]}"#).expect("empty"), (0, vec![]));
    }

    #[test]
    fn no_apps_list_and_apps_without_tasks_are_errors() {
        assert!(matches!(
            ids(r#"{"message":"x"}"#),
            Err(ListingError::NoApps)
        ));
        assert!(matches!(ids(r#"{"apps":null}"#), Err(ListingError::NoApps)));
        match ids(r#"{"apps":[{"id":"/a","tasks":[]},{"id":"/b"}]}"#) {
            Err(ListingError::NoTasks(id)) => assert_eq!(id, "/b"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn broken_json_and_trailing_bytes_are_errors() {
        for body in [
            r#"{"apps":[{"id":"/a","tasks":[]}"#,
            r#"{"apps":[]} x"#,
            "[]",
        ] {
            assert!(matches!(ids(body), Err(ListingError::Json(_))), "{body}");
        }
    }

    #[test]
    fn a_chunk_reader_reads_across_chunks_and_ends_when_the_sender_closes() {
        let (tx, rx) = mpsc::channel(64);
        let body = br#"{"apps":[{"id":"/a","tasks":[{"id":"a.1"}]}]}"#;
        for part in body.chunks(5) {
            tx.try_send(Bytes::copy_from_slice(part)).expect("room");
        }
        drop(tx);
        let mut seen = 0;
        let count = for_each_app(ChunkReader::new(rx), &mut |_| seen += 1).expect("listing");
        assert_eq!((count, seen), (1, 1));
    }
}
