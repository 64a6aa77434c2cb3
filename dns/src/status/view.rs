//! Which rows a page shows: the search and health filters and the paging, over a
//! [`Catalog`]. Pure: the same query on the same catalog gives the same rows.

use std::borrow::Cow;
use std::sync::Arc;

use registry::{AppId, Health};
use serde::Deserialize;

use super::catalog::{AppEntry, Catalog, Tasks};
use crate::names;
use crate::task::ZoneTask;

/// Rows per page.
pub const PAGE_SIZE: usize = 100;

/// The query string of the overview (`/?view=tasks&q=web&health=unhealthy&page=2`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListQuery {
    /// `apps` (the default) or `tasks`.
    #[serde(default)]
    pub view: Option<String>,
    /// Text to find in app ids, DNS names, task ids and host names (case-insensitive).
    #[serde(default)]
    pub q: Option<String>,
    /// `healthy`, `unhealthy` or `unknown`: apps with such a task, or such tasks.
    #[serde(default)]
    pub health: Option<String>,
    /// The page, from 1.
    #[serde(default)]
    pub page: Option<usize>,
    /// Set by the page's script: answer with the content only, not the whole document.
    #[serde(default)]
    pub fragment: Option<String>,
}

/// What a list shows, once the query is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// Lower-case search text (empty: everything).
    pub text: String,
    /// The health filter.
    pub health: Option<Health>,
}

impl ListQuery {
    /// True for the tasks table.
    pub fn tasks_view(&self) -> bool {
        self.view.as_deref() == Some("tasks")
    }

    /// The filter this query asks for (an unknown health value filters nothing).
    pub fn filter(&self) -> Filter {
        let health = match self.health.as_deref() {
            Some("healthy") => Some(Health::Healthy),
            Some("unhealthy") => Some(Health::Unhealthy),
            Some("unknown") => Some(Health::Unknown),
            _ => None,
        };
        Filter {
            text: self.q.as_deref().unwrap_or("").trim().to_lowercase(),
            health,
        }
    }

    /// The requested page, from 1.
    pub fn page(&self) -> usize {
        self.page.unwrap_or(1).max(1)
    }
}

/// The health as the page names it.
pub fn health_name(health: Health) -> &'static str {
    match health {
        Health::Healthy => "healthy",
        Health::Unhealthy => "unhealthy",
        Health::Unknown => "unknown",
    }
}

impl Filter {
    fn text_matches(&self, haystack: &str) -> bool {
        self.text.is_empty() || haystack.to_lowercase().contains(&self.text)
    }

    /// True when `task`, of the group named `names` (an app id, a DNS label, ...), on
    /// `host`, passes.
    pub fn task(&self, names: &[&str], host: &str, task: &ZoneTask) -> bool {
        if self.health.is_some_and(|h| task.health != h) {
            return false;
        }
        names.iter().any(|n| self.text_matches(n))
            || self.text_matches(&task.task_id)
            || self.text_matches(host)
    }

    /// True when the app passes: its id or label matches and, with a health filter, one
    /// of its tasks has that health; or one of its tasks passes.
    pub fn app(&self, app_id: &AppId, entry: &AppEntry) -> bool {
        let label = names::app_label(app_id);
        let named = self.text_matches(app_id.as_str()) || self.text_matches(&label);
        let tasks = entry.group.tasks.iter();
        if named {
            return self.health.is_none() || tasks.clone().any(|t| Some(t.health) == self.health);
        }
        let names = [app_id.as_str(), label.as_str()];
        tasks.clone().any(|t| self.task(&names, &t.host(), t))
    }
}

/// One page of rows, with what the pager needs.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The rows of this page.
    pub rows: Vec<T>,
    /// Rows that pass the filter, on every page.
    pub matching: usize,
    /// This page, from 1.
    pub page: usize,
    /// The number of pages (at least 1).
    pub pages: usize,
}

/// Takes page `page` of `PAGE_SIZE` rows from `items`, counting them all.
pub fn paginate<T>(items: impl Iterator<Item = T>, page: usize) -> Page<T> {
    let skip = (page.max(1) - 1) * PAGE_SIZE;
    let mut rows = Vec::new();
    let mut matching = 0;
    for item in items {
        if matching >= skip && rows.len() < PAGE_SIZE {
            rows.push(item);
        }
        matching += 1;
    }
    let pages = matching.div_ceil(PAGE_SIZE).max(1);
    Page {
        rows,
        matching,
        page: page.max(1),
        pages,
    }
}

/// A row of the apps table.
pub type AppRow<'a> = (&'a AppId, &'a AppEntry);

/// The apps that pass `filter`, page `page`.
pub fn apps<'a>(catalog: &'a Catalog, filter: &Filter, page: usize) -> Page<AppRow<'a>> {
    paginate(
        catalog.apps.iter().filter(|(id, e)| filter.app(id, e)),
        page,
    )
}

/// Whose task a row of the tasks table is.
#[derive(Clone, Copy, Debug)]
pub enum Owner<'a> {
    /// A Marathon app's.
    App(&'a AppId),
    /// A Mesos framework's (its id), under a DNS name (its raw form).
    Framework(&'a Arc<str>, &'a Arc<str>),
}

/// A row of the tasks table.
#[derive(Clone, Debug)]
pub struct TaskRow<'a> {
    /// Whose task it is.
    pub owner: Owner<'a>,
    /// Its group's tasks and families.
    pub group: &'a Tasks,
    /// The task.
    pub task: &'a Arc<ZoneTask>,
    /// The host name of its agent.
    pub host: Cow<'a, str>,
}

/// The tasks that pass `filter`, page `page`: Marathon's, then every framework's.
pub fn tasks<'a>(catalog: &'a Catalog, filter: &Filter, page: usize) -> Page<TaskRow<'a>> {
    let apps = catalog.apps.iter().flat_map(|(id, entry)| {
        let label = names::app_label(id);
        let group = &entry.group;
        group.tasks.iter().filter_map(move |task| {
            let host = task.host();
            filter
                .task(&[id.as_str(), &label], &host, task)
                .then_some(TaskRow {
                    owner: Owner::App(id),
                    group,
                    task,
                    host,
                })
        })
    });
    let mesos = &catalog.mesos;
    let framework_tasks = mesos.frameworks.iter().flat_map(|(id, framework)| {
        framework.groups.iter().flat_map(move |(name, group)| {
            let labels: Vec<&str> = group.families.iter().map(|f| &*f.name).collect();
            group.tasks.iter().filter_map(move |task| {
                let host = mesos.host_of(task);
                let mut names = vec![&**name];
                names.extend(&labels);
                filter.task(&names, &host, task).then_some(TaskRow {
                    owner: Owner::Framework(id, name),
                    group,
                    task,
                    host,
                })
            })
        })
    });
    paginate(apps.chain(framework_tasks), page)
}

#[cfg(test)]
mod tests {
    use registry::Change;
    use registry::harness::records;

    use super::*;

    fn catalog() -> Catalog {
        let mut changes = Vec::new();
        for i in 0..250 {
            let app = format!("/group/app{i:03}");
            let health = if i % 2 == 0 {
                Health::Healthy
            } else {
                Health::Unhealthy
            };
            let host = format!("10.0.{}.{}", i / 200, i % 200 + 1);
            let task = records::task(&app, &format!("app{i:03}.1"), &host).health(health);
            changes.push(Change::Task(task.build()));
        }
        (*crate::status::intake::fed(changes, Vec::new())).clone()
    }

    fn query(q: &str, health: &str) -> Filter {
        ListQuery {
            q: Some(q.into()),
            health: Some(health.into()),
            ..ListQuery::default()
        }
        .filter()
    }

    #[test]
    fn filters_by_name_host_and_health_and_pages() {
        let catalog = catalog();
        let all = apps(&catalog, &query("", ""), 1);
        assert_eq!((all.matching, all.pages, all.rows.len()), (250, 3, 100));
        let last = apps(&catalog, &query("", ""), 3);
        assert_eq!(last.rows.len(), 50);
        assert_eq!(last.rows[0].0.as_str(), "/group/app200");
        assert_eq!(apps(&catalog, &query("APP01", ""), 1).matching, 10);
        // The DNS label (segments reversed) is searched too.
        assert_eq!(apps(&catalog, &query("app007-group", ""), 1).matching, 1);
        assert_eq!(apps(&catalog, &query("10.0.1.", ""), 1).matching, 50);
        assert_eq!(apps(&catalog, &query("", "unhealthy"), 1).matching, 125);
        let both = tasks(&catalog, &query("app00", "healthy"), 1);
        assert_eq!(both.matching, 5);
        assert!(both.rows.iter().all(|t| t.task.health == Health::Healthy));
        assert_eq!(apps(&catalog, &query("nothing", ""), 1).pages, 1);
    }
}
