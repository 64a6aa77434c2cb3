//! The compact form in which the snapshot keeps a stored name: its lower-case labels in
//! DNS wire order (each after its length octet, no root label) in one shared allocation,
//! about 40 bytes for `_web._tcp.marathon.slave.mesos` where a `LowerName` takes 80 bytes
//! inline plus its labels on the heap. A query's name is looked up through
//! [`NameBytes`], the same octets on the stack, so a lookup allocates nothing.

use std::borrow::Borrow;
use std::sync::Arc;

use hickory_proto::rr::{LowerName, Name};

/// A stored name: lower-case labels, each after its length octet, without the root.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoredName(Arc<[u8]>);

impl StoredName {
    /// The stored form of `name`.
    pub fn new(name: &LowerName) -> Self {
        StoredName::from_bytes(NameBytes::new(name).as_bytes())
    }

    /// The name whose octets (as [`NameBytes`] lays them out) are `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        StoredName(Arc::from(bytes))
    }

    /// The name as hickory has it (fully qualified); `None` if it cannot be one.
    pub fn to_name(&self) -> Option<Name> {
        Name::from_labels(labels(&self.0)).ok()
    }

    /// Its octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Borrow<[u8]> for StoredName {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

/// A name's octets as [`StoredName`] lays them out, on the stack: what a lookup uses.
pub struct NameBytes {
    octets: [u8; 256],
    len: usize,
}

impl NameBytes {
    /// The octets of `name` (already lower-case: a `LowerName`).
    pub fn new(name: &LowerName) -> Self {
        let mut out = NameBytes {
            octets: [0; 256],
            len: 0,
        };
        for label in name.iter() {
            // A name is at most 255 octets with its root label, so this never overflows;
            // a label that would is left out rather than written past the end.
            let end = out.len + 1 + label.len();
            let Some(slot) = out.octets.get_mut(out.len..end) else {
                break;
            };
            slot[0] = label.len() as u8;
            slot[1..].copy_from_slice(label);
            out.len = end;
        }
        out
    }

    /// The octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.octets[..self.len]
    }
}

/// The labels of `octets`, from the leftmost.
fn labels(octets: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = octets;
    std::iter::from_fn(move || {
        let (&len, tail) = rest.split_first()?;
        let (label, tail) = tail.split_at_checked(usize::from(len))?;
        rest = tail;
        Some(label)
    })
}

/// The name one label up (`marathon.mesos` for `web.marathon.mesos`); `None` at the root.
pub fn parent(octets: &[u8]) -> Option<&[u8]> {
    let (&len, tail) = octets.split_first()?;
    tail.get(usize::from(len)..)
}

/// True when `octets` is `apex` or a name below it.
pub fn within(octets: &[u8], apex: &[u8]) -> bool {
    let mut current = Some(octets);
    while let Some(name) = current {
        if name == apex {
            return true;
        }
        current = parent(name);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower(text: &str) -> LowerName {
        LowerName::new(&Name::from_ascii(text).unwrap())
    }

    #[test]
    fn names_keep_their_labels_in_lower_case() {
        let name = StoredName::new(&lower("_Web._tcp.Marathon.mesos."));
        assert_eq!(name.as_bytes(), b"\x04_web\x04_tcp\x08marathon\x05mesos");
        assert_eq!(
            name.to_name().unwrap(),
            Name::from_ascii("_web._tcp.marathon.mesos.").unwrap()
        );
        let root = StoredName::new(&lower("."));
        assert!(root.as_bytes().is_empty());
        assert_eq!(root.to_name().unwrap(), Name::root());
    }

    #[test]
    fn parents_walk_up_to_the_apex() {
        let name = NameBytes::new(&lower("a.b.mesos."));
        let apex = NameBytes::new(&lower("mesos."));
        let up = parent(name.as_bytes()).unwrap();
        assert_eq!(up, b"\x01b\x05mesos");
        assert!(within(name.as_bytes(), apex.as_bytes()));
        assert!(within(apex.as_bytes(), apex.as_bytes()));
        let other = NameBytes::new(&lower("a.bmesos."));
        assert!(!within(other.as_bytes(), apex.as_bytes()));
        assert_eq!(parent(b""), None);
    }
}
