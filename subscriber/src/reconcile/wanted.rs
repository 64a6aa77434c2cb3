//! Marathon's listing (`GET /v2/apps?embed=apps.tasks`) -> the records etcd should hold,
//! built exactly as events build them ([`records`]), so that an in-sync registry plans no
//! change. The app definitions seen on the way are observed into the catalog.
//!
//! The listing is read as it arrives: each app is reduced to its definition and the facts
//! of its stored tasks while the body is still being parsed ([`listed`], on the parser's
//! thread), and turned into records here as it comes ([`Builder::add`]), so neither the
//! body nor Marathon's JSON shapes are ever held whole.

use std::sync::Arc;

use registry::{AppId, Stamp};
use tokio::sync::mpsc;

use super::plan::Wanted;
use crate::agents::AgentResolver;
use crate::catalog::{Catalog, Lookup};
use crate::marathon::{MarathonClient, MarathonError, model};
use crate::records::{self, AppDefinition, DefinitionError, TaskFacts};

/// Listed apps buffered between the parser and the record builder.
const IN_FLIGHT: usize = 64;

/// What Marathon's listing says etcd should hold.
pub(super) async fn wanted(
    client: &MarathonClient,
    catalog: &Catalog,
    agents: &AgentResolver,
) -> Result<Wanted, MarathonError> {
    let (tx, mut rx) = mpsc::channel::<Listed>(IN_FLIGHT);
    let read = client.for_each_app_with_tasks((), move |_, app| {
        if let Some(listed) = listed(app) {
            // The builder only goes away when the reconcile is dropped.
            let _ = tx.blocking_send(listed);
        }
    });
    let build = async {
        let mut builder = Builder {
            wanted: Wanted::default(),
            catalog,
            agents,
        };
        while let Some(listed) = rx.recv().await {
            builder.add(listed).await;
        }
        builder.wanted
    };
    let (read, wanted) = tokio::join!(read, build);
    let (listed_apps, ()) = read?;
    Ok(Wanted {
        listed_apps,
        ..wanted
    })
}

/// One listed app, reduced to what its records are made of.
struct Listed {
    app_id: AppId,
    definition: Result<AppDefinition, DefinitionError>,
    /// Its tasks in a state Herald stores, with the stamp a reconcile gives them.
    tasks: Vec<(TaskFacts, Stamp)>,
}

/// An app of the listing -> its [`Listed`]; `None` (logged) for an invalid app id.
fn listed(app: model::App) -> Option<Listed> {
    let Some(app_id) = app.id.as_deref().and_then(|id| AppId::parse(id).ok()) else {
        tracing::warn!(id = ?app.id, "Marathon lists an app with an invalid id; skipped");
        return None;
    };
    let tasks = app
        .tasks
        .iter()
        .flatten()
        .filter_map(|task| {
            let facts = records::facts_of(&app_id, task)?;
            records::is_stored(&facts.state).then(|| (facts, records::observed_at(task)))
        })
        .collect();
    Some(Listed {
        definition: records::app_definition(&app),
        app_id,
        tasks,
    })
}

/// Gathers the records of listed apps.
struct Builder<'a> {
    wanted: Wanted,
    catalog: &'a Catalog,
    agents: &'a AgentResolver,
}

impl Builder<'_> {
    /// Adds the records of one listed app.
    async fn add(&mut self, listed: Listed) {
        let Listed {
            app_id,
            definition,
            tasks,
        } = listed;
        let def = match definition {
            Ok(def) => {
                let def = Arc::new(def);
                self.catalog.observe(def.clone()).await;
                self.wanted.apps.insert(app_id.clone(), def.record.clone());
                Some(def)
            }
            Err(e) => {
                tracing::warn!(app = %app_id, error = %e, "unusable app definition; its record is left as is");
                self.wanted.kept_apps.insert(app_id.clone());
                None
            }
        };
        self.agents
            .prefetch(tasks.iter().map(|(facts, _)| facts.host.as_str()))
            .await;
        for (facts, observed_at) in tasks {
            // Tasks of an older version (mid-deployment) get that version's port layout.
            let task_def = match &def {
                Some(d) if d.describes(facts.version.as_deref()) => Some(d.clone()),
                Some(d) => match self.catalog.lookup(&app_id, facts.version.as_deref()).await {
                    Lookup::Found(older) => Some(older),
                    _ => Some(d.clone()),
                },
                None => None,
            };
            let agent_ips = self.agents.resolve(&facts.host).await;
            let record = records::task_record(
                facts,
                task_def.as_ref().map(|d| &d.record),
                agent_ips,
                observed_at,
            );
            self.wanted
                .tasks
                .insert((app_id.clone(), record.task_id.clone()), record);
        }
    }
}
