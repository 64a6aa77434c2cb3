//! The overview: the search form, the apps or tasks table (one page of it) and the Mesos
//! records.

use std::sync::Arc;

use maud::{Markup, html};
use registry::{AppId, Health, TaskRecord};

use super::{app_href, form_urlencoded, or_dash, pager};
use crate::names;
use crate::status::catalog::{AppEntry, Catalog, MesosView};
use crate::status::view::{self, ListQuery, PAGE_SIZE, health_name};

/// The overview's content for `query`.
pub fn overview(catalog: &Catalog, query: &ListQuery) -> Markup {
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
                (tasks_table(catalog, &view::tasks(catalog, &filter, query.page()), &href))
            } @else {
                (apps_table(catalog, &view::apps(catalog, &filter, query.page()), &href))
            }
            (mesos(&catalog.mesos))
        }
    }
}

fn health_counts(entry: &AppEntry) -> Markup {
    let count = |h: Health| entry.tasks.values().filter(|t| t.health == h).count();
    let running = entry
        .tasks
        .values()
        .filter(|t| t.state.is_running())
        .count();
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
                    @let hosts: std::collections::BTreeSet<&str> = entry.tasks.values().map(|t| t.host.as_str()).collect();
                    tr {
                        th scope="row" { a href=(app_href(app_id)) { (app_id.as_str()) } }
                        td { (names::app_label(app_id)) }
                        td class="num" { (entry.tasks.len()) }
                        td { (health_counts(entry)) }
                        td { (shortlist(hosts.into_iter(), 3)) }
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
    catalog: &Catalog,
    page: &view::Page<&Arc<TaskRecord>>,
    href: &dyn Fn(usize) -> String,
) -> Markup {
    html! {
        table class="list" id="tasks" {
            caption { (page.matching) " of " (catalog.tasks) " tasks" }
            thead { tr {
                th scope="col" { "Task" }
                th scope="col" { "App" }
                th scope="col" { "Host" }
                th scope="col" { "Addresses" }
                th scope="col" { "Ports" }
                th scope="col" { "State" }
                th scope="col" { "Health" }
            } }
            tbody {
                @for task in &page.rows { (task_row(task, true)) }
            }
        }
        (pager(page, href))
    }
}

/// One task as a table row (with its app's link when `with_app`).
pub(super) fn task_row(task: &TaskRecord, with_app: bool) -> Markup {
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
            let number = or_dash(p.host_port.or(p.container_port));
            let protocols: Vec<&str> = p.protocols.iter().map(|x| x.as_str()).collect();
            match &p.name {
                Some(name) => format!("{name}: {number}/{}", protocols.join("+")),
                None => format!("{number}/{}", protocols.join("+")),
            }
        })
        .collect();
    html! {
        tr {
            th scope="row" { code { (task.task_id) } }
            @if with_app {
                td { a href=(app_href(&task.app_id)) { (task.app_id.as_str()) } }
            }
            td { (task.host) }
            td {
                @if !task.task_ips.is_empty() { "task " (ips(&task.task_ips)) br; }
                "agent " (ips(&task.agent_ips))
            }
            td { (ports.join(", ")) }
            td { (task.state.as_str()) }
            td class=(health_name(task.health)) { (health_name(task.health)) }
        }
    }
}

/// The Mesos records, when the registry holds any (the first page of each kind).
fn mesos(view: &MesosView) -> Markup {
    if view.is_empty() {
        return html! {};
    }
    let more = |total: usize| (total > PAGE_SIZE).then(|| format!(" (first {PAGE_SIZE} shown)"));
    html! {
        section id="mesos" aria-labelledby="mesos-h" {
            h2 id="mesos-h" { "Mesos" }
            p { "Leader: "
                @match &view.leader {
                    Some(l) => { (l.master_id) " at " (or_dash(l.hostname.as_deref())) " (" (or_dash(l.ip)) ":" (or_dash(l.port)) ")" },
                    None => { "unknown" },
                }
            }
            table class="list" id="masters" {
                caption { (view.masters.len()) " masters" (more(view.masters.len()).unwrap_or_default()) }
                thead { tr { th scope="col" { "Master" } th scope="col" { "Host" } th scope="col" { "Address" } th scope="col" { "Version" } th scope="col" { "Leading" } } }
                tbody { @for m in view.masters.values().take(PAGE_SIZE) { tr {
                    th scope="row" { (m.master_id) }
                    td { (or_dash(m.hostname.as_deref())) }
                    td { (or_dash(m.ip)) ":" (or_dash(m.port)) }
                    td { (or_dash(m.version.as_deref())) }
                    td { @if m.leading { "yes" } @else { "no" } }
                } } }
            }
            table class="list" id="agents" {
                caption { (view.agents.len()) " agents" (more(view.agents.len()).unwrap_or_default()) }
                thead { tr { th scope="col" { "Agent" } th scope="col" { "Host" } th scope="col" { "Address" } } }
                tbody { @for a in view.agents.values().take(PAGE_SIZE) { tr {
                    th scope="row" { (a.agent_id) }
                    td { (a.hostname) }
                    td { (or_dash(a.ip)) ":" (or_dash(a.port)) }
                } } }
            }
            table class="list" id="frameworks" {
                caption { (view.frameworks.len()) " frameworks" (more(view.frameworks.len()).unwrap_or_default()) }
                thead { tr { th scope="col" { "Framework" } th scope="col" { "Id" } th scope="col" { "Host" } th scope="col" { "Active" } th scope="col" { "Tasks" } } }
                tbody { @for (id, f) in view.frameworks.iter().take(PAGE_SIZE) { tr {
                    th scope="row" { (or_dash(f.framework.as_ref().map(|r| r.name.as_str()))) }
                    td { code { (id) } }
                    td { (or_dash(f.framework.as_ref().and_then(|r| r.hostname.as_deref()))) }
                    td { (or_dash(f.framework.as_ref().map(|r| if r.active { "yes" } else { "no" }))) }
                    td class="num" { (f.tasks.len()) }
                } } }
            }
        }
    }
}
