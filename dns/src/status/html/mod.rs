//! The page's HTML, rendered on the server with maud: every value is escaped by the
//! template engine (a label holding `<script>` is text), no inline script or style (the
//! Content-Security-Policy allows only the embedded assets), semantic tables with
//! captions and column headers, labelled form controls.
//!
//! Each page is a document whose `<main id="content">` the script replaces with the same
//! URL's fragment (`fragment=1`) when the registry changes: one renderer, with or without
//! JavaScript.

mod detail;
mod lists;
mod mesos;

pub use detail::{Zone, app_page, name_page};
pub use lists::overview;
pub use mesos::framework_page;

use maud::{DOCTYPE, Markup, html};

use super::fresh::Freshness;
use super::view::Page;

/// A whole document around `content`, or only `content` for a fragment request.
pub fn document(title: &str, fresh: &Freshness, content: Markup, fragment: bool) -> String {
    let main = html! {
        main id="content" tabindex="-1" data-revision=(fresh.revision) { (content) }
    };
    if fragment {
        return main.into_string();
    }
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · Herald" }
                link rel="stylesheet" href="/ui/assets/status.css";
                script src="/ui/assets/status.js" defer {}
            }
            body {
                a class="skip" href="#content" { "Skip to content" }
                header {
                    p class="brand" { a href="/" { "Herald" } }
                    nav aria-label="Sections" {
                        ul {
                            li { a href="/" { "Apps" } }
                            li { a href="/?view=tasks" { "Tasks" } }
                            li { a href="/#mesos" { "Mesos" } }
                            li { a href="/ui/name" { "Look up a name" } }
                        }
                    }
                }
                (banner(fresh))
                (panel(fresh))
                p id="live" class="visually-hidden" aria-live="polite" {}
                (main)
            }
        }
    }
    .into_string()
}

/// The etcd banner: always present (the script shows and hides it), hidden when fine.
fn banner(fresh: &Freshness) -> Markup {
    html! {
        div id="banner" class="banner" role="alert" hidden[fresh.banner.is_none()] {
            (fresh.banner.as_deref().unwrap_or(""))
        }
    }
}

fn panel(fresh: &Freshness) -> Markup {
    let field = |key: &str| fresh.fields.get(key).cloned().unwrap_or_default();
    let rows = [
        ("revision", "Registry revision"),
        ("staleness", "Index confirmed current"),
        ("etcd", "etcd"),
        ("counts", "Registry holds"),
        ("subscriber", "Subscriber"),
    ];
    html! {
        section class="fresh" aria-label="Freshness" {
            dl {
                @for (key, label) in rows {
                    div {
                        dt { (label) }
                        dd data-field=(key) { (field(key)) }
                    }
                }
            }
        }
    }
}

/// Links to the other pages of a list, keeping its query.
fn pager<T>(page: &Page<T>, href: impl Fn(usize) -> String) -> Markup {
    html! {
        nav class="pager" aria-label="Pages" {
            @if page.page > 1 {
                a href=(href(page.page - 1)) rel="prev" { "← Previous" }
            }
            span { "Page " (page.page) " of " (page.pages) }
            @if page.page < page.pages {
                a href=(href(page.page + 1)) rel="next" { "Next →" }
            }
        }
    }
}

/// A value or a dash.
fn or_dash(value: Option<impl std::fmt::Display>) -> String {
    value.map_or_else(|| "–".into(), |v| v.to_string())
}

/// The link to an app's page (ids hold only `a-z 0-9 - . /`, nothing to encode).
fn app_href(app_id: &registry::AppId) -> String {
    format!("/ui/apps{}", app_id.as_str())
}

/// The link to a Mesos framework's page.
fn framework_href(framework_id: &str) -> String {
    format!("/ui/frameworks/{}", percent_encode(framework_id))
}

/// The link to a name's answer.
fn name_href(name: &str, qtype: &str) -> String {
    let mut query = form_urlencoded(&[("name", name), ("type", qtype)]);
    query.insert(0, '?');
    format!("/ui/name{query}")
}

/// `text` with every byte but the unreserved ones percent-encoded.
fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `key=value&...`, percent-encoded.
fn form_urlencoded(pairs: &[(&str, &str)]) -> String {
    let encode = percent_encode;
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_encoded() {
        assert_eq!(
            form_urlencoded(&[("q", "a b&<"), ("health", ""), ("page", "2")]),
            "q=a%20b%26%3C&page=2"
        );
        assert_eq!(
            name_href("_web._tcp.marathon.mesos", "SRV"),
            "/ui/name?name=_web._tcp.marathon.mesos&type=SRV"
        );
    }
}
