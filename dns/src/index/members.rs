//! The groups published under one family: almost always one, so they are kept in a sorted
//! boxed slice (one allocation of exactly their size) rather than a tree or a vector with
//! spare room.

use crate::groups::Group;

/// A sorted set of groups, sized to fit.
#[derive(Debug, Default)]
pub(super) struct Members(Box<[Group]>);

impl Members {
    /// Adds `group`; true when it was not there.
    pub(super) fn insert(&mut self, group: &Group) -> bool {
        let Err(at) = self.0.binary_search(group) else {
            return false;
        };
        let mut groups = std::mem::take(&mut self.0).into_vec();
        groups.insert(at, group.clone());
        self.0 = groups.into_boxed_slice();
        true
    }

    /// Removes `group`.
    pub(super) fn remove(&mut self, group: &Group) {
        if self.0.binary_search(group).is_ok() {
            let groups = std::mem::take(&mut self.0).into_vec();
            self.0 = groups.into_iter().filter(|g| g != group).collect();
        }
    }

    /// True when no group is left.
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The groups, in order.
    pub(super) fn iter(&self) -> std::slice::Iter<'_, Group> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a Members {
    type Item = &'a Group;
    type IntoIter = std::slice::Iter<'a, Group>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use registry::AppId;

    use super::*;

    fn app(id: &str) -> Group {
        Group::App(AppId::parse(id).unwrap())
    }

    #[test]
    fn groups_stay_sorted_and_unique() {
        let mut members = Members::default();
        assert!(members.insert(&app("/b")));
        assert!(members.insert(&app("/a")));
        assert!(!members.insert(&app("/b")));
        assert_eq!(
            members.iter().cloned().collect::<Vec<_>>(),
            [app("/a"), app("/b")]
        );
        members.remove(&app("/a"));
        members.remove(&app("/c"));
        assert_eq!(members.iter().cloned().collect::<Vec<_>>(), [app("/b")]);
        members.remove(&app("/b"));
        assert!(members.is_empty());
    }
}
