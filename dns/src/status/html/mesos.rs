//! The Mesos records: the overview's section (leader, masters, agents, frameworks) and one
//! framework's page (its names with herald-dns's answers, its tasks with their DNS names).

use std::collections::BTreeMap;
use std::sync::Arc;

use maud::{Markup, html};

use super::detail::{Zone, group_names, names_table};
use super::lists::{task_columns, task_row};
use super::{framework_href, name_href, or_dash, pager};
use crate::status::catalog::{MesosView, Tasks};
use crate::status::view::{Owner, PAGE_SIZE, TaskRow, paginate};

/// The Mesos records, when the registry holds any (the first page of each kind).
pub fn section(view: &MesosView) -> Markup {
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
                thead { tr { th scope="col" { "Framework" } th scope="col" { "Id" } th scope="col" { "DNS label" } th scope="col" { "Host" } th scope="col" { "Active" } th scope="col" { "Tasks" } } }
                tbody { @for (id, f) in view.frameworks.iter().take(PAGE_SIZE) { tr {
                    @let record = f.framework.as_deref();
                    th scope="row" { a href=(framework_href(id)) { (or_dash(record.map(|r| r.name.as_str()))) } }
                    td { code { (id) } }
                    td { (or_dash(f.label.as_deref())) }
                    td { (or_dash(record.and_then(|r| r.hostname.as_deref()))) }
                    td { (or_dash(record.map(|r| if r.active { "yes" } else { "no" }))) }
                    td class="num" { (f.tasks) }
                } } }
            }
        }
    }
}

/// The page of one framework: its record, the names of the tasks on this page with
/// herald-dns's answers, and its tasks (100 a page) with their canonical names.
pub fn framework_page(
    zone: &Zone<'_>,
    view: &MesosView,
    framework_id: &str,
    page: usize,
) -> Markup {
    let Some((id, entry)) = view.frameworks.get_key_value(framework_id) else {
        return html! {
            h1 { "Framework " (framework_id) }
            p { "The registry holds no framework " code { (framework_id) } "." }
        };
    };
    let rows = entry.groups.iter().flat_map(|(name, group)| {
        group.tasks.iter().map(move |task| TaskRow {
            owner: Owner::Framework(id, name),
            group,
            task,
            host: view.host_of(task),
        })
    });
    let tasks = paginate(rows, page);
    // The names of the groups on this page, each once.
    let shown: BTreeMap<&Arc<str>, &Tasks> = tasks
        .rows
        .iter()
        .filter_map(|row| match row.owner {
            Owner::Framework(_, name) => Some((name, row.group)),
            Owner::App(_) => None,
        })
        .collect();
    let names = shown
        .values()
        .flat_map(|group| group_names(zone.naming, group))
        .collect();
    let record = entry.framework.as_deref();
    let label_name = entry
        .label
        .as_deref()
        .and_then(|label| zone.naming.absolute(&format!("{label}.")));
    let base = framework_href(id);
    let href = |p: usize| format!("{base}?page={p}");
    html! {
        h1 { "Framework " (or_dash(record.map(|r| r.name.as_str()))) }
        dl class="facts" {
            div { dt { "Id" } dd { code { (id) } } }
            div { dt { "DNS name" } dd { @match &label_name {
                Some(name) => { a href=(name_href(&name.to_string(), "A")) { (name) } },
                None => { "–" },
            } } }
            div { dt { "Host" } dd { (or_dash(record.and_then(|r| r.hostname.as_deref()))) } }
            div { dt { "Active" } dd { (or_dash(record.map(|r| if r.active { "yes" } else { "no" }))) } }
        }
        (names_table(zone, names))
        table class="list" id="framework-tasks" {
            caption { (entry.tasks) " tasks" }
            thead { tr {
                th scope="col" { "Task" }
                th scope="col" { "Name" }
                (task_columns())
            } }
            tbody { @for row in &tasks.rows { (task_row(zone.naming, row, true)) } }
        }
        (pager(&tasks, href))
    }
}
