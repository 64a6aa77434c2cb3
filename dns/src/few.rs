//! A short list kept inline when it holds one item: a task's addresses and its ports are
//! almost always one, and a boxed slice of one cost an allocation of its own per task
//! (~48 bytes a task with its allocator overhead, for each list); so are the tasks at one
//! key of the snapshot's tables (an address, a canonical-label hash, a family's hash).

use std::ops::Deref;

/// A list of `T`, inline when it has exactly one item. Compares as a slice.
#[derive(Clone, Debug)]
pub enum Few<T> {
    /// Exactly one item.
    One(T),
    /// Any other number of items (none: an empty slice, no allocation).
    Many(Box<[T]>),
}

impl<T> Few<T> {
    /// The items, as a slice.
    pub fn as_slice(&self) -> &[T] {
        self
    }

    /// The items of `list`; `None` when it is empty (for tables that keep no empty lists).
    pub fn non_empty(list: Vec<T>) -> Option<Self> {
        (!list.is_empty()).then(|| Few::from(list))
    }
}

impl<T> Default for Few<T> {
    fn default() -> Self {
        Few::Many(Box::default())
    }
}

impl<T> Deref for Few<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            Few::One(item) => std::slice::from_ref(item),
            Few::Many(items) => items,
        }
    }
}

impl<T> From<Vec<T>> for Few<T> {
    fn from(mut items: Vec<T>) -> Self {
        match (items.len(), items.pop()) {
            (1, Some(item)) => Few::One(item),
            (_, last) => {
                items.extend(last);
                Few::Many(items.into_boxed_slice())
            }
        }
    }
}

impl<T> From<Box<[T]>> for Few<T> {
    fn from(items: Box<[T]>) -> Self {
        Few::from(items.into_vec())
    }
}

impl<T> FromIterator<T> for Few<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        Few::from(items.into_iter().collect::<Vec<T>>())
    }
}

impl<T: PartialEq> PartialEq for Few<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Eq> Eq for Few<T> {}

impl<'a, T> IntoIterator for &'a Few<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_item_is_inline_and_lists_compare_as_slices() {
        let one: Few<u32> = vec![7].into();
        assert!(matches!(one, Few::One(7)));
        assert_eq!(&*one, &[7]);
        let many: Few<u32> = (1..=3).collect();
        assert_eq!(&*many, &[1, 2, 3]);
        let none: Few<u32> = Vec::new().into();
        assert!(none.is_empty());
        assert_eq!(none, Few::default());
        assert_eq!(Few::Many(vec![7].into()), one, "compared as slices");
        assert_ne!(one, many);
        assert!(Few::<u32>::non_empty(Vec::new()).is_none());
        assert_eq!(Few::non_empty(vec![7]).as_deref(), Some(&[7][..]));
    }
}
