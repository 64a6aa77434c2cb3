//! A hash map in copy-on-write shards: cloning it (publishing a snapshot) is O(1), and
//! changing it after a clone copies only the shards the change touches.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Shards per map: enough that copying a touched one stays cheap at 50,000 tasks (a few
/// hundred entries each), few enough that an empty map is small.
const SHARDS: usize = 1024;

/// A copy-on-write sharded hash map.
#[derive(Debug)]
pub struct ShardedMap<K, V> {
    shards: Arc<[Arc<HashMap<K, V>>]>,
    len: usize,
}

impl<K, V> Clone for ShardedMap<K, V> {
    fn clone(&self) -> Self {
        ShardedMap {
            shards: self.shards.clone(),
            len: self.len,
        }
    }
}

impl<K, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        ShardedMap {
            shards: (0..SHARDS).map(|_| Arc::new(HashMap::new())).collect(),
            len: 0,
        }
    }
}

fn shard_of<Q: Hash + ?Sized>(key: &Q) -> usize {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() % SHARDS as u64) as usize
}

impl<K: Hash + Eq + Clone, V: Clone> ShardedMap<K, V> {
    /// The value at `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shards[shard_of(key)].get(key)
    }

    /// The stored key equal to `key`, with its value (to share the key's allocation).
    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shards[shard_of(key)].get_key_value(key)
    }

    /// True when `key` has a value.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every entry (in no particular order).
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().flat_map(|s| s.iter())
    }

    /// The shard of `key`, copied first if a published clone still shares it.
    fn shard_mut<Q>(&mut self, key: &Q) -> &mut HashMap<K, V>
    where
        Q: Hash + ?Sized,
    {
        let index = shard_of(key);
        let shards = Arc::make_mut(&mut self.shards);
        Arc::make_mut(&mut shards[index])
    }

    /// Sets the value at `key`; true when the key is new.
    pub fn insert(&mut self, key: K, value: V) -> bool {
        let added = self.shard_mut(&key).insert(key, value).is_none();
        self.len += usize::from(added);
        added
    }

    /// Sets the value at `key`, or removes it when `value` is `None`.
    pub fn set(&mut self, key: K, value: Option<V>) {
        match value {
            Some(value) => {
                self.insert(key, value);
            }
            None => {
                self.remove(&key);
            }
        }
    }

    /// Removes `key`; true when it was there.
    pub fn remove<Q>(&mut self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !self.contains_key(key) {
            return false;
        }
        let removed = self.shard_mut(key).remove(key).is_some();
        self.len -= usize::from(removed);
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_are_snapshots() {
        let mut map: ShardedMap<u32, &str> = ShardedMap::default();
        assert!(map.insert(1, "a"));
        let before = map.clone();
        assert!(!map.insert(1, "b"));
        assert!(map.insert(2, "c"));
        assert!(map.remove(&1));
        assert!(!map.remove(&1));
        assert_eq!(before.get(&1), Some(&"a"));
        assert_eq!(before.len(), 1);
        assert_eq!(map.get(&1), None);
        assert_eq!(map.get(&2), Some(&"c"));
        assert_eq!(map.len(), 1);
        assert_eq!(map.iter().count(), 1);
    }
}
