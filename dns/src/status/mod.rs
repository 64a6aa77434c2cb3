//! The status page: one place to see what runs where, served read-only by herald-dns on
//! its HTTP listener (`/`), next to the Mesos-DNS API and under the same access.
//!
//! | module | job |
//! |---|---|
//! | `catalog` | the registry as the page shows it: the index's own tasks and families per group, plus what the index drops (app versions and labels, the Mesos cluster's records, the subscriber status) |
//! | `intake` | what the DNS feed hands the page with every watch event (the page opens no watch of its own), published atomically |
//! | `view` | search, health filter and paging of the tables (pure) |
//! | `dig` | a name's answer from the DNS index, through the DNS answering code (pure) |
//! | `fresh` | revision, staleness, the etcd banner, the subscriber line |
//! | `html` | the server-side rendering (escaped by maud) |
//! | `events` | server-sent events: the page updates itself without polling |
//! | `assets` | the embedded script and style sheet, the security headers |
//!
//! Routes (GET only): `/` (apps, or tasks with `?view=tasks`; `q`, `health`, `page`),
//! `/ui/apps/{app id}` (one app: labels, DNS names with their answers, tasks),
//! `/ui/frameworks/{framework id}` (one Mesos framework: its tasks with their DNS names),
//! `/ui/name?name=&type=` (a name's answer as `dig` prints it), `/ui/events` (SSE),
//! `/ui/state.json` (the freshness as JSON), `/ui/assets/status.{js,css}`.

pub mod assets;
pub mod catalog;
pub mod dig;
pub mod events;
pub mod fresh;
pub mod html;
pub mod intake;
pub mod view;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use registry::{AppId, Stamp};
use serde::Deserialize;

use crate::http::ApiState;
use catalog::Catalog;
use fresh::Freshness;
use html::Zone;
pub use intake::{Intake, Published};
use view::ListQuery;

/// What the page's handlers read.
#[derive(Clone)]
pub struct StatusState {
    /// The API's state: the DNS snapshot, naming, zone settings, the feed's status.
    pub api: ApiState,
    /// The catalog and its change signal.
    pub published: Published,
}

impl StatusState {
    fn catalog(&self) -> Arc<Catalog> {
        self.published.catalog.load_full()
    }

    fn freshness(&self) -> Freshness {
        let zone_revision = self.api.zone.load().as_ref().map_or(0, |z| z.revision);
        fresh::freshness(
            &self.api.status,
            &self.catalog(),
            zone_revision,
            Stamp::now(),
        )
    }
}

/// The page's routes over `state` (ready to merge into a router of any state); the feed
/// keeps `state.published` current through an [`Intake`].
pub fn routes<S: Clone + Send + Sync + 'static>(state: StatusState) -> Router<S> {
    Router::new()
        .route("/", get(overview))
        .route("/ui/apps/{*id}", get(app))
        .route("/ui/frameworks/{id}", get(framework))
        .route("/ui/name", get(name))
        .route("/ui/events", get(events::stream))
        .route("/ui/state.json", get(state_json))
        .route("/ui/assets/status.js", get(assets::script))
        .route("/ui/assets/status.css", get(assets::style))
        .with_state(state)
}

async fn overview(State(s): State<StatusState>, Query(q): Query<ListQuery>) -> Response {
    let catalog = s.catalog();
    let title = if q.tasks_view() { "Tasks" } else { "Apps" };
    let content = html::overview(&s.api.naming, &catalog, &q);
    let page = html::document(title, &s.freshness(), content, q.fragment.is_some());
    assets::html(page)
}

/// `page` and `fragment` of the detail pages.
#[derive(Debug, Default, Deserialize)]
struct DetailQuery {
    #[serde(default)]
    page: Option<usize>,
    #[serde(default)]
    fragment: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "type")]
    qtype: Option<String>,
}

async fn app(
    State(s): State<StatusState>,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let Ok(app_id) = AppId::parse(&format!("/{id}")) else {
        let body = format!("not an app id: /{id}");
        return (StatusCode::NOT_FOUND, body).into_response();
    };
    let catalog = s.catalog();
    let snapshot = s.api.zone.load_full();
    let zone = Zone {
        naming: &s.api.naming,
        config: &s.api.zone_config,
        snapshot: snapshot.as_deref(),
    };
    let page = q.page.unwrap_or(1);
    let content = html::app_page(&zone, &app_id, catalog.apps.get(&app_id), page);
    let document = html::document(
        app_id.as_str(),
        &s.freshness(),
        content,
        q.fragment.is_some(),
    );
    assets::html(document)
}

async fn framework(
    State(s): State<StatusState>,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let catalog = s.catalog();
    let snapshot = s.api.zone.load_full();
    let zone = Zone {
        naming: &s.api.naming,
        config: &s.api.zone_config,
        snapshot: snapshot.as_deref(),
    };
    let page = q.page.unwrap_or(1);
    let content = html::framework_page(&zone, &catalog.mesos, &id, page);
    let title = format!("Framework {id}");
    let document = html::document(&title, &s.freshness(), content, q.fragment.is_some());
    assets::html(document)
}

async fn name(State(s): State<StatusState>, Query(q): Query<DetailQuery>) -> Response {
    let snapshot = s.api.zone.load_full();
    let zone = Zone {
        naming: &s.api.naming,
        config: &s.api.zone_config,
        snapshot: snapshot.as_deref(),
    };
    let name = q.name.as_deref().unwrap_or("").trim();
    let content = html::name_page(&zone, name, q.qtype.as_deref().unwrap_or(""));
    let title = if name.is_empty() {
        "Look up a name"
    } else {
        name
    };
    assets::html(html::document(
        title,
        &s.freshness(),
        content,
        q.fragment.is_some(),
    ))
}

async fn state_json(State(s): State<StatusState>) -> Response {
    assets::json(serde_json::to_string(&s.freshness()).unwrap_or_default())
}
