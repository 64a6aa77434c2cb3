//! Which tasks share their names: the tasks of a Marathon app (the Marathon source), or the
//! Mesos tasks of one framework with one DNS name (the Mesos source: a pod's containers,
//! an SDK service's tasks). A group is published under one family per task name: its
//! label `T` and, with `--legacy-names`, its raw dotted name. Pure.

use std::borrow::Cow;
use std::sync::Arc;

use registry::{AppId, MesosTaskRecord};

use crate::names::{self, MAX_LABEL};
use crate::task::{Family, Interner};

/// The tasks that share their names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// A Marathon app's tasks.
    App(AppId),
    /// The Mesos tasks of one framework with one DNS name.
    Mesos(MesosGroup),
}

/// The Mesos tasks of one framework with one DNS name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MesosGroup {
    /// The framework id.
    pub framework_id: Arc<str>,
    /// The raw DNS name: `discovery.name`, else the task's `name` (`app.grp`).
    pub name: Arc<str>,
    /// The name is a DiscoveryInfo name: only those have a legacy raw form, as in Mesos-DNS.
    pub discovery: bool,
}

impl MesosGroup {
    /// The group of `record`, its strings shared through `strings`.
    pub fn of(record: &MesosTaskRecord, strings: &mut Interner) -> Self {
        MesosGroup {
            framework_id: strings.get(&record.framework_id),
            name: strings.get(record.dns_name()),
            discovery: record.discovery_name.is_some(),
        }
    }
}

impl Group {
    /// The families the group is published under in the framework labelled `framework`:
    /// its label and, when `legacy`, its raw dotted name (where that is a valid name).
    pub fn families(&self, framework: &Arc<str>, legacy: bool) -> Vec<Family> {
        let (label, raw) = match self {
            Group::App(app_id) => (
                names::app_label(app_id),
                legacy.then(|| names::legacy_name(app_id)).flatten(),
            ),
            Group::Mesos(group) => (
                names::sanitize_label(&group.name, MAX_LABEL),
                (legacy && group.discovery)
                    .then(|| names::legacy_form(&group.name))
                    .flatten(),
            ),
        };
        [Some(label), raw]
            .into_iter()
            .flatten()
            .filter(|name| !name.is_empty() && !framework.is_empty())
            .map(|name| Family {
                name: name.into(),
                framework: framework.clone(),
            })
            .collect()
    }

    /// The name before sanitising: groups with different raw names that land in one
    /// family collide (`/a-b/c` and `/b/c-a`); a Marathon app and Mesos tasks with one raw
    /// name (`web`) merely share their names.
    pub fn raw_name(&self) -> Cow<'_, str> {
        match self {
            Group::App(app_id) => Cow::Owned(names::discovery_name(app_id)),
            Group::Mesos(group) => Cow::Borrowed(&group.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(group: &Group, legacy: bool) -> Vec<String> {
        let families = group.families(&Arc::from("marathon"), legacy);
        families.iter().map(|f| f.name.to_string()).collect()
    }

    #[test]
    fn groups_are_named_like_mesos_dns_names_them() {
        let app = Group::App(AppId::parse("/grp/app").unwrap());
        assert_eq!(names(&app, false), ["app-grp"]);
        assert_eq!(names(&app, true), ["app-grp", "app.grp"]);
        let pod = Group::Mesos(MesosGroup {
            framework_id: "f-0001".into(),
            name: "app.grp".into(),
            discovery: true,
        });
        assert_eq!(names(&pod, true), ["app-grp", "app.grp"]);
        assert_eq!(app.raw_name(), pod.raw_name(), "one name, no collision");
        let plain = Group::Mesos(MesosGroup {
            discovery: false,
            ..match pod {
                Group::Mesos(g) => g,
                Group::App(_) => unreachable!(),
            }
        });
        assert_eq!(
            names(&plain, true),
            ["app-grp"],
            "no DiscoveryInfo, no legacy name"
        );
        assert!(app.families(&Arc::from(""), false).is_empty());
    }
}
