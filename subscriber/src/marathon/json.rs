//! How Marathon's JSON is read into [`super::model`]: a `null` member reads as absent, and
//! the readers below name a member of the wrong JSON kind by what was expected and what was
//! found (`must be a string, found a number`), so that an event's decoding error, with the
//! member's path in front, reads `ipAddresses[0].protocol must be a string, found a number`
//! (see [`crate::events`]).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// `null` or absent reads as the type's default.
pub(super) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Labels: string values are kept, numbers and booleans are turned into strings, anything
/// else is dropped (Marathon itself only allows strings).
pub(super) fn labels<'de, D>(d: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw: Option<BTreeMap<String, serde_json::Value>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k, s)),
            serde_json::Value::Number(n) => Some((k, n.to_string())),
            serde_json::Value::Bool(b) => Some((k, b.to_string())),
            _ => None,
        })
        .collect())
}

/// A string; `null` is `None`.
pub(super) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(Text)
}

/// A boolean; `null` is `None`.
pub(super) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(Flag)
}

/// An array of objects; `null` is empty.
pub(super) fn objects<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let list: Vec<Object<T>> = d.deserialize_any(List(PhantomData))?;
    Ok(list.into_iter().map(|Object(item)| item).collect())
}

/// An array of port numbers, kept as they are (their range is checked where they are used:
/// [`crate::records::host_ports`]); `null` is empty.
pub(super) fn port_numbers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    let list: Vec<PortNumber> = d.deserialize_any(List(PhantomData))?;
    Ok(list.into_iter().map(|PortNumber(port)| port).collect())
}

fn wrong<E: de::Error>(expected: &str, found: impl fmt::Display) -> E {
    E::custom(format_args!("must be {expected}, found {found}"))
}

/// The `visit_*` methods that refuse a kind of JSON value with [`wrong`].
macro_rules! refuse {
    ($expected:literal: $($kind:ident)*) => { $(refuse!(@$kind $expected);)* };
    (@null $e:literal) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(wrong($e, "null"))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(wrong($e, "null"))
        }
    };
    (@boolean $e:literal) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(wrong($e, "a boolean"))
        }
    };
    (@number $e:literal) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(wrong($e, "a number"))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(wrong($e, "a number"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(wrong($e, "a number"))
        }
    };
    (@string $e:literal) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(wrong($e, "a string"))
        }
    };
    (@array $e:literal) => {
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(wrong($e, "an array"))
        }
    };
    (@object $e:literal) => {
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(wrong($e, "an object"))
        }
    };
}

struct Text;

impl<'de> Visitor<'de> for Text {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    refuse!("a string": boolean number array object);
}

struct Flag;

impl<'de> Visitor<'de> for Flag {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a boolean")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    refuse!("a boolean": number string array object);
}

/// An array of entries `T`; `null` is empty.
struct List<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for List<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(entry) = seq.next_element()? {
            out.push(entry);
        }
        Ok(out)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    refuse!("an array": boolean number string object);
}

/// One entry of [`objects`]: an object, read as `T`.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ObjectVisitor(PhantomData))
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = Object<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Object)
    }

    refuse!("an object": null boolean number string array);
}

/// One entry of [`port_numbers`]: an integer.
struct PortNumber(i64);

const PORT: &str = "a port number (1-65535)";

impl<'de> Deserialize<'de> for PortNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PortNumberVisitor)
    }
}

struct PortNumberVisitor;

impl<'de> Visitor<'de> for PortNumberVisitor {
    type Value = PortNumber;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(PORT)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(PortNumber(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v).map(PortNumber).map_err(|_| wrong(PORT, v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Err(wrong(PORT, v))
    }

    refuse!("a port number (1-65535)": null boolean string array object);
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Shape {
        #[serde(deserialize_with = "super::text")]
        name: Option<String>,
        #[serde(deserialize_with = "super::flag")]
        alive: Option<bool>,
        #[serde(deserialize_with = "super::objects")]
        entries: Vec<Shape>,
        #[serde(deserialize_with = "super::port_numbers")]
        ports: Vec<i64>,
    }

    fn error(value: serde_json::Value) -> String {
        let e = serde_path_to_error::deserialize::<_, Shape>(&value).expect_err("an error");
        format!("{} {}", e.path(), e.inner())
    }

    #[test]
    fn null_and_absent_read_as_empty() {
        let shape: Shape = serde_json::from_value(
            json!({"name": null, "alive": null, "entries": null, "ports": null}),
        )
        .expect("shape");
        assert_eq!((shape.name, shape.alive), (None, None));
        assert!(shape.entries.is_empty() && shape.ports.is_empty());
        let shape: Shape = serde_json::from_value(
            json!({"name": "n", "alive": false, "entries": [{"name": "e"}], "ports": [0, -1, 80]}),
        )
        .expect("shape");
        assert_eq!(shape.entries[0].name.as_deref(), Some("e"));
        assert_eq!(
            shape.ports,
            [0, -1, 80],
            "the range is checked where ports are used"
        );
    }

    #[test]
    fn a_wrong_kind_is_named_with_its_path() {
        for (value, message) in [
            (json!({"name": 7}), "name must be a string, found a number"),
            (
                json!({"alive": "yes"}),
                "alive must be a boolean, found a string",
            ),
            (
                json!({"entries": {}}),
                "entries must be an array, found an object",
            ),
            (
                json!({"entries": [3]}),
                "entries[0] must be an object, found a number",
            ),
            (
                json!({"entries": [{"name": []}]}),
                "entries[0].name must be a string, found an array",
            ),
            (
                json!({"ports": "80"}),
                "ports must be an array, found a string",
            ),
            (
                json!({"ports": [80, "80"]}),
                "ports[1] must be a port number (1-65535), found a string",
            ),
            (
                json!({"ports": [1.5]}),
                "ports[0] must be a port number (1-65535), found 1.5",
            ),
            (
                json!({"ports": [u64::MAX]}),
                "ports[0] must be a port number (1-65535), found 18446744073709551615",
            ),
        ] {
            assert_eq!(error(value.clone()), message, "{value}");
        }
    }
}
