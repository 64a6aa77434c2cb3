//! One app (its record, its DNS names with herald-dns's answers, its tasks) and one name's
//! answer as `dig` prints it.

use maud::{Markup, html};
use registry::AppId;

use super::lists::{task_columns, task_row};
use super::{name_href, or_dash, pager};
use crate::answer::ZoneConfig;
use crate::names;
use crate::served::Naming;
use crate::snapshot::ZoneSnapshot;
use crate::status::catalog::{AppEntry, Tasks};
use crate::status::dig::{self, Reply, Sections};
use crate::status::view::{Owner, TaskRow, paginate};

/// What the DNS pages answer from.
pub struct Zone<'a> {
    /// Naming settings.
    pub naming: &'a Naming,
    /// Answer settings.
    pub config: &'a ZoneConfig,
    /// The published snapshot (`None` before the first load).
    pub snapshot: Option<&'a ZoneSnapshot>,
}

impl Zone<'_> {
    /// The answer lines at `name` for each of `types`, or nothing when there is none.
    fn answers(&self, name: &str, types: &[&str]) -> Vec<String> {
        types
            .iter()
            .flat_map(|t| match dig::ask(self.config, self.snapshot, name, t) {
                Reply::Answered(s) => s.answer,
                _ => Vec::new(),
            })
            .collect()
    }
}

/// The names a group of tasks is published under, with the types to ask: for each of its
/// families (task name `T` under framework label `F`, as the index places it), `T.F` and
/// `T.F.slave` (addresses), and the SRV names of its protocols and named ports.
pub(super) fn group_names(
    naming: &Naming,
    group: &Tasks,
) -> Vec<(String, &'static [&'static str])> {
    const ADDR: &[&str] = &["A", "AAAA"];
    const SRV: &[&str] = &["SRV"];
    let port_names: std::collections::BTreeSet<&str> = group
        .tasks
        .iter()
        .flat_map(|t| t.ports.iter().filter_map(|p| p.name.as_deref()))
        .collect();
    let mut out = Vec::new();
    for family in group.families.iter() {
        let (t, framework) = (&*family.name, &*family.framework);
        let mut push = |label: &str, slave: bool, types| {
            if let Some(name) = naming.name_in(label, framework, slave) {
                out.push((name.to_string(), types));
            }
        };
        push(t, false, ADDR);
        push(t, true, ADDR);
        let srv = names::srv_label(t);
        for proto in ["_tcp", "_udp"] {
            push(&format!("{srv}.{proto}"), false, SRV);
            push(&format!("{srv}.{proto}"), true, SRV);
            for port in &port_names {
                push(&format!("_{port}.{srv}.{proto}"), false, SRV);
            }
        }
    }
    out
}

/// A table of names with herald-dns's answers now (names without an answer left out).
pub(super) fn names_table(
    zone: &Zone<'_>,
    names: Vec<(String, &'static [&'static str])>,
) -> Markup {
    let names: Vec<(String, Vec<String>)> = names
        .into_iter()
        .map(|(name, types)| {
            let answers = zone.answers(&name, types);
            (name, answers)
        })
        .filter(|(_, answers)| !answers.is_empty())
        .collect();
    html! {
        table class="list" id="names" {
            caption { "DNS names (herald-dns's answers now)" }
            thead { tr { th scope="col" { "Name" } th scope="col" { "Answer" } } }
            tbody {
                @for (name, answers) in &names { tr {
                    th scope="row" { a href=(name_href(name, if name.starts_with('_') { "SRV" } else { "A" })) { (name) } }
                    td { pre { (answers.join("\n")) } }
                } }
                @if names.is_empty() { tr { td colspan="2" { "No name is served: no task is running and healthy." } } }
            }
        }
    }
}

/// The page of one app.
pub fn app_page(zone: &Zone<'_>, app_id: &AppId, entry: Option<&AppEntry>, page: usize) -> Markup {
    let Some(entry) = entry else {
        return html! {
            h1 { (app_id.as_str()) }
            p { "The registry holds no app " code { (app_id.as_str()) } "." }
        };
    };
    let group = &entry.group;
    let rows = group.tasks.iter().map(|task| TaskRow {
        owner: Owner::App(app_id),
        group,
        task,
        host: task.host(),
    });
    let tasks = paginate(rows, page);
    let base = format!("/ui/apps{}", app_id.as_str());
    let href = |p: usize| format!("{base}?page={p}");
    let app = entry.app.as_deref();
    html! {
        h1 { (app_id.as_str()) }
        dl class="facts" {
            div { dt { "DNS label" } dd { (names::app_label(app_id)) } }
            div { dt { "Version" } dd { (or_dash(app.map(|a| &*a.version))) } }
            div { dt { "Networking" } dd { (or_dash(app.map(|a| format!("{:?}", a.networking).to_lowercase()))) } }
            div { dt { "Health checks" } dd { (or_dash(app.map(|a| if a.health_checks { "yes" } else { "no" }))) } }
        }
        @if let Some(app) = app && !app.labels.is_empty() {
            table class="list" id="labels" {
                caption { "Labels" }
                thead { tr { th scope="col" { "Label" } th scope="col" { "Value" } } }
                tbody { @for (key, value) in &app.labels { tr { th scope="row" { (key) } td { (value) } } } }
            }
        }
        (names_table(zone, group_names(zone.naming, group)))
        table class="list" id="app-tasks" {
            caption { (group.tasks.len()) " tasks" }
            thead { tr {
                th scope="col" { "Task" }
                (task_columns())
            } }
            tbody { @for row in &tasks.rows { (task_row(zone.naming, row, false)) } }
        }
        (pager(&tasks, href))
    }
}

/// The page of one name's answer (`name` empty: only the form).
pub fn name_page(zone: &Zone<'_>, name: &str, qtype: &str) -> Markup {
    let qtype = if qtype.is_empty() { "A" } else { qtype };
    html! {
        h1 { "Look up a name" }
        form class="search" method="get" action="/ui/name" {
            label for="name" { "Name" }
            input id="name" type="text" name="name" value=(name) autocomplete="off" spellcheck="false";
            label for="type" { "Type" }
            select id="type" name="type" {
                @for t in dig::TYPES { option value=(t) selected[t.eq_ignore_ascii_case(qtype)] { (t) } }
            }
            button type="submit" { "Ask" }
        }
        div id="results" { @if !name.is_empty() {
            section aria-labelledby="answer-h" {
                h2 id="answer-h" { "What herald-dns answers" }
                pre id="dig" { (dig_text(name, qtype, &dig::ask(zone.config, zone.snapshot, name, qtype))) }
            }
        } }
    }
}

/// The reply in `dig`'s layout.
fn dig_text(name: &str, qtype: &str, reply: &Reply) -> String {
    let question = dig::parse_name(name).map_or_else(|| name.to_string(), |n| n.to_string());
    let qtype = qtype.to_ascii_uppercase();
    match reply {
        Reply::Invalid(why) => format!(";; {why}"),
        Reply::Forwarded => format!(
            ";; {question} is outside Herald's zones: herald-dns forwards it to its upstream resolvers (allowed clients only)."
        ),
        Reply::ServFail => {
            ";; ->>HEADER<<- opcode: QUERY, status: SERVFAIL\n;; the registry is not loaded yet"
                .into()
        }
        Reply::Answered(Sections {
            status,
            answer,
            authority,
            additional,
        }) => {
            let mut text = format!(
                ";; ->>HEADER<<- opcode: QUERY, status: {status}\n\n;; QUESTION SECTION:\n;{question}\t\tIN\t{qtype}\n"
            );
            for (title, lines) in [
                ("ANSWER", answer),
                ("AUTHORITY", authority),
                ("ADDITIONAL", additional),
            ] {
                if !lines.is_empty() {
                    text.push_str(&format!("\n;; {title} SECTION:\n{}\n", lines.join("\n")));
                }
            }
            text
        }
    }
}
