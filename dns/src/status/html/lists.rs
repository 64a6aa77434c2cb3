//! The overview: the search form, the apps or tasks table (one page of it) and the Mesos
//! records; a task's row, shared by every table of tasks.

use maud::{Markup, html};
use registry::{AppId, Health};

use super::{app_href, form_urlencoded, framework_href, name_href, or_dash, pager};
use crate::names;
use crate::served::Naming;
use crate::status::catalog::{AppEntry, Catalog};
use crate::status::view::{self, ListQuery, Owner, TaskRow, health_name};
use crate::task::ZoneTask;

/// The overview's content for `query`.
pub fn overview(naming: &Naming, catalog: &Catalog, query: &ListQuery) -> Markup {
    let filter = query.filter();
    let tasks_view = query.tasks_view();
    let q = query.q.as_deref().unwrap_or("");
    let health = query.health.as_deref().unwrap_or("");
    let view_name = if tasks_view { "tasks" } else { "apps" };
    let href = move |page: usize| {
        let page = page.to_string();
        let pairs = [
            ("view", view_name),
            ("q", q),
            ("health", health),
            ("page", &page),
        ];
        format!("/?{}", form_urlencoded(&pairs))
    };
    html! {
        h1 { @if tasks_view { "Tasks" } @else { "Apps" } }
        form class="search" role="search" method="get" action="/" {
            input type="hidden" name="view" value=(view_name);
            label for="q" { "Search app, DNS name, task or host" }
            input id="q" type="search" name="q" value=(q) autocomplete="off";
            label for="health" { "Health" }
            select id="health" name="health" {
                @for (value, text) in [("", "any"), ("healthy", "healthy"), ("unhealthy", "unhealthy"), ("unknown", "unknown")] {
                    option value=(value) selected[value == health] { (text) }
                }
            }
            button type="submit" { "Filter" }
        }
        div id="results" {
            @if tasks_view {
                (tasks_table(naming, catalog, &view::tasks(catalog, &filter, query.page()), &href))
            } @else {
                (apps_table(catalog, &view::apps(catalog, &filter, query.page()), &href))
            }
            (super::mesos::section(&catalog.mesos))
        }
    }
}

fn health_counts(entry: &AppEntry) -> Markup {
    let tasks = &entry.group.tasks;
    let count = |h: Health| tasks.iter().filter(|t| t.health == h).count();
    let running = tasks.iter().filter(|t| t.running).count();
    html! {
        (running) " running"
        @for h in [Health::Healthy, Health::Unhealthy, Health::Unknown] {
            @let n = count(h);
            @if n > 0 { ", " span class=(health_name(h)) { (n) " " (health_name(h)) } }
        }
    }
}

fn apps_table(
    catalog: &Catalog,
    page: &view::Page<(&AppId, &AppEntry)>,
    href: &dyn Fn(usize) -> String,
) -> Markup {
    html! {
        table class="list" id="apps" {
            caption { (page.matching) " of " (catalog.apps.len()) " apps" }
            thead { tr {
                th scope="col" { "App" }
                th scope="col" { "DNS name" }
                th scope="col" { "Tasks" }
                th scope="col" { "Health" }
                th scope="col" { "Hosts" }
            } }
            tbody {
                @for (app_id, entry) in &page.rows {
                    @let hosts: std::collections::BTreeSet<std::borrow::Cow<'_, str>> = entry.group.tasks.iter().map(|t| t.host()).collect();
                    tr {
                        th scope="row" { a href=(app_href(app_id)) { (app_id.as_str()) } }
                        td { (names::app_label(app_id)) }
                        td class="num" { (entry.group.tasks.len()) }
                        td { (health_counts(entry)) }
                        td { (shortlist(hosts.iter().map(|h| h.as_ref()), 3)) }
                    }
                }
            }
        }
        (super::pager(page, href))
    }
}

/// The first `n` items, then how many more.
fn shortlist<'a>(items: impl ExactSizeIterator<Item = &'a str>, n: usize) -> String {
    let total = items.len();
    let shown: Vec<&str> = items.take(n).collect();
    let mut text = shown.join(", ");
    if total > n {
        text.push_str(&format!(" and {} more", total - n));
    }
    text
}

fn tasks_table(
    naming: &Naming,
    catalog: &Catalog,
    page: &view::Page<TaskRow<'_>>,
    href: &dyn Fn(usize) -> String,
) -> Markup {
    let total = catalog.tasks + catalog.mesos.tasks;
    html! {
        table class="list" id="tasks" {
            caption { (page.matching) " of " (total) " tasks" }
            thead { tr {
                th scope="col" { "Task" }
                th scope="col" { "App or framework" }
                (task_columns())
            } }
            tbody {
                @for row in &page.rows { (task_row(naming, row, true)) }
            }
        }
        (pager(page, href))
    }
}

/// The column headers of a task row after its id and owner.
pub(super) fn task_columns() -> Markup {
    html! {
        th scope="col" { "DNS name" }
        th scope="col" { "Host" }
        th scope="col" { "Addresses" }
        th scope="col" { "Ports" }
        th scope="col" { "State" }
        th scope="col" { "Health" }
    }
}

/// One task as a table row (with its app or framework when `with_owner`). Its DNS name is
/// its canonical name under its group's first family, as the index names it.
pub(super) fn task_row(naming: &Naming, row: &TaskRow<'_>, with_owner: bool) -> Markup {
    let task: &ZoneTask = row.task;
    let ips = |list: &[std::net::IpAddr]| {
        list.iter()
            .map(|ip| ip.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ports: Vec<String> = task
        .ports
        .iter()
        .map(|p| {
            let number = or_dash(p.discovery.or(p.host));
            let protocols = match (p.tcp, p.udp) {
                (true, true) => "tcp+udp",
                (false, true) => "udp",
                _ => "tcp",
            };
            match &p.name {
                Some(name) => format!("{name}: {number}/{protocols}"),
                None => format!("{number}/{protocols}"),
            }
        })
        .collect();
    let canonical = row.group.families.first().and_then(|family| {
        let label = task.canonical_label(&family.name);
        naming.name_in(&label, &family.framework, false)
    });
    html! {
        tr {
            th scope="row" { code { (task.task_id) } }
            @if with_owner {
                td { @match row.owner {
                    Owner::App(app_id) => { a href=(app_href(app_id)) { (app_id.as_str()) } },
                    Owner::Framework(id, name) => { a href=(framework_href(id)) { (name) } },
                } }
            }
            td { @match &canonical {
                Some(name) => { a href=(name_href(&name.to_string(), "A")) { (name) } },
                None => { "–" },
            } }
            td { (row.host) }
            td {
                @if !task.task_ips.is_empty() { "task " (ips(&task.task_ips)) br; }
                "agent " (ips(&task.agent_ips))
            }
            td { (ports.join(", ")) }
            td { (task.state) }
            td class=(health_name(task.health)) { (health_name(task.health)) }
        }
    }
}
