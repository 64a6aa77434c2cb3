//! `GET /v2/apps?embed=apps.tasks` read as it arrives: the body's chunks are cut into one
//! complete JSON value at a time ([`cut`]: the top-level members' names and values, and
//! each app of the `apps` list), and each is parsed from its own slice by serde_json, which
//! checks it; each app is handed to a callback as soon as it is complete ([`for_each_app`]).
//! Neither the body nor the whole listing is ever held: the bytes of the app being cut (and
//! of the chunk it ends in), and what the callback keeps.
//!
//! The rules are those of a whole-body read: the body must be one JSON object, and nothing
//! but whitespace may follow it; an answer without an `apps` list (or with `"apps": null`)
//! is an error, and so is an app without embedded `tasks` (the listing would look like a
//! cluster without tasks, and a reconcile would remove them all). Members other than the
//! first `apps` list are checked and skipped.

mod cut;

use serde::de::IgnoredAny;

use super::model;
use cut::ValueEnd;

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

/// Parses a listing from the pieces of its body, in order, calling `each` with every app
/// in order; returns how many apps were listed.
pub fn for_each_app<C: AsRef<[u8]>>(
    chunks: impl IntoIterator<Item = C>,
    each: &mut impl FnMut(model::App),
) -> Result<usize, ListingError> {
    let mut pending = Vec::new();
    let mut grammar = Grammar::new(each);
    for chunk in chunks {
        pending.extend_from_slice(chunk.as_ref());
        let consumed = grammar.advance(&pending)?;
        pending.drain(..consumed);
    }
    grammar.finish(pending.len())
}

/// Where the listing's top-level grammar stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    /// Before the top-level object.
    Start,
    /// After `{`: a member's name or `}`.
    FirstMember,
    /// After `,` between members: a member's name.
    Member,
    /// In a member's name.
    Name,
    /// After a member's name: `:`.
    Colon(Member),
    /// After `:`: the member's value.
    ValueStart(Member),
    /// In a member's value (not the `apps` list).
    Value(Member),
    /// After the `apps` list's `[`: an app or `]`.
    FirstApp,
    /// After `,` in the `apps` list: an app.
    App,
    /// In an app.
    InApp,
    /// After an app: `,` or `]`.
    AfterApp,
    /// After a member's value: `,` or `}`.
    AfterMember,
    /// After the top-level object: whitespace only.
    End,
}

/// Which member a value belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Member {
    /// `apps`, while no list of apps was read.
    Apps,
    /// Anything else: checked and skipped.
    Other,
}

/// The top-level grammar, over the bytes received and not yet consumed.
struct Grammar<'a, F> {
    each: &'a mut F,
    at: At,
    /// The end of the value being cut (in [`At::Name`], [`At::Value`], [`At::InApp`]).
    value: ValueEnd,
    /// How many bytes of the value being cut were scanned already.
    scanned: usize,
    /// Bytes of the body consumed before the current input.
    offset: usize,
    /// Apps read so far from the `apps` list.
    listed: usize,
    /// The number of apps once the `apps` list is read.
    apps: Option<usize>,
}

impl<'a, F: FnMut(model::App)> Grammar<'a, F> {
    fn new(each: &'a mut F) -> Self {
        Grammar {
            each,
            at: At::Start,
            value: ValueEnd::default(),
            scanned: 0,
            offset: 0,
            listed: 0,
            apps: None,
        }
    }

    /// Reads what `input` holds (the unconsumed bytes so far, in order); returns how many
    /// of its bytes are consumed: all but the start of an unfinished value.
    fn advance(&mut self, input: &[u8]) -> Result<usize, ListingError> {
        let mut pos = 0;
        loop {
            if matches!(self.at, At::Name | At::Value(_) | At::InApp) {
                let from = pos + self.scanned;
                let Some(len) = self.value.scan(&input[from..]) else {
                    self.scanned = input.len() - pos;
                    break;
                };
                let end = from + len;
                self.complete(&input[pos..end], self.offset + pos)?;
                (pos, self.scanned, self.value) = (end, 0, ValueEnd::default());
                continue;
            }
            let Some(skip) = input[pos..].iter().position(|b| !is_whitespace(*b)) else {
                pos = input.len();
                break;
            };
            pos += skip;
            let byte = input[pos];
            let (next, consumed) = self.punctuation(byte, self.offset + pos)?;
            self.at = next;
            if consumed {
                pos += 1;
            }
        }
        self.offset += pos;
        Ok(pos)
    }

    /// The next state on `byte` (at `at` in the body) outside a value, and whether the
    /// byte is consumed (it is not when it starts a value).
    fn punctuation(&mut self, byte: u8, at: usize) -> Result<(At, bool), ListingError> {
        let starts_value = !matches!(byte, b',' | b':' | b']' | b'}');
        Ok(match (self.at, byte) {
            (At::Start, b'{') => (At::FirstMember, true),
            (At::Start, _) => return Err(unexpected("an object with an \"apps\" list", byte, at)),
            (At::FirstMember, b'}') => (At::End, true),
            (At::FirstMember | At::Member, b'"') => (At::Name, false),
            (At::FirstMember | At::Member, _) => return Err(unexpected("a member name", byte, at)),
            (At::Colon(member), b':') => (At::ValueStart(member), true),
            (At::Colon(_), _) => return Err(unexpected("':'", byte, at)),
            (At::ValueStart(Member::Apps), b'[') => {
                self.listed = 0;
                (At::FirstApp, true)
            }
            (At::ValueStart(member), _) if starts_value => (At::Value(member), false),
            (At::FirstApp, b']') => {
                self.apps = Some(0);
                (At::AfterMember, true)
            }
            (At::FirstApp | At::App, _) if starts_value => (At::InApp, false),
            (At::ValueStart(_) | At::FirstApp | At::App, _) => {
                return Err(unexpected("a value", byte, at));
            }
            (At::AfterApp, b',') => (At::App, true),
            (At::AfterApp, b']') => {
                self.apps = Some(self.listed);
                (At::AfterMember, true)
            }
            (At::AfterApp, _) => return Err(unexpected("',' or ']' after an app", byte, at)),
            (At::AfterMember, b',') => (At::Member, true),
            (At::AfterMember, b'}') => (At::End, true),
            (At::AfterMember, _) => return Err(unexpected("',' or '}'", byte, at)),
            (At::End, _) => return Err(unexpected("nothing after the object", byte, at)),
            (At::Name | At::Value(_) | At::InApp, _) => {
                unreachable!("values are cut, not read as punctuation")
            }
        })
    }

    /// A complete value (`value`, starting at `at` in the body) of the current state.
    fn complete(&mut self, value: &[u8], at: usize) -> Result<(), ListingError> {
        self.at = match self.at {
            At::Name => {
                let name: String = parse(value, "the member name", at)?;
                At::Colon(if name == "apps" && self.apps.is_none() {
                    Member::Apps
                } else {
                    Member::Other
                })
            }
            At::Value(Member::Apps) => {
                // Not a list: `null` reads as absent, anything else is refused.
                if serde_json::from_slice::<()>(value).is_err() {
                    return Err(ListingError::Json(format!(
                        "\"apps\" at byte {at} is neither a list nor null"
                    )));
                }
                At::AfterMember
            }
            At::Value(Member::Other) => {
                parse::<IgnoredAny>(value, "the member", at)?;
                At::AfterMember
            }
            At::InApp => {
                let app: model::App = parse(value, "the app", at)?;
                if app.tasks.is_none() {
                    return Err(ListingError::NoTasks(app.id.unwrap_or_else(|| "?".into())));
                }
                (self.each)(app);
                self.listed += 1;
                At::AfterApp
            }
            other => other,
        };
        Ok(())
    }

    /// At the end of the body (`unconsumed` bytes of it left): the number of apps.
    fn finish(self, unconsumed: usize) -> Result<usize, ListingError> {
        if self.at != At::End {
            return Err(ListingError::Json(format!(
                "the answer ends at byte {} before its JSON does",
                self.offset + unconsumed
            )));
        }
        self.apps.ok_or(ListingError::NoApps)
    }
}

/// Parses `value` (`what`, at byte `at` of the body), naming both in its error.
fn parse<'de, T: serde::Deserialize<'de>>(
    value: &'de [u8],
    what: &str,
    at: usize,
) -> Result<T, ListingError> {
    serde_json::from_slice(value)
        .map_err(|e| ListingError::Json(format!("{what} at byte {at}: {e}")))
}

fn unexpected(expected: &str, found: u8, at: usize) -> ListingError {
    let found = if found.is_ascii_graphic() {
        format!("'{}'", char::from(found))
    } else {
        format!("byte 0x{found:02x}")
    };
    ListingError::Json(format!("expected {expected} at byte {at}, found {found}"))
}

fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

#[cfg(test)]
mod tests;
