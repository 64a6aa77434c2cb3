//! Marathon's listing (`GET /v2/apps?embed=apps.tasks`) -> the records etcd should hold,
//! built exactly as events build them ([`records`]), so that an in-sync registry plans no
//! change. The app definitions seen on the way are observed into the catalog.
//!
//! The listing is read as it arrives: each app is reduced to its definition and the facts
//! of its stored tasks while the body is still being parsed ([`listed`], on the parser's
//! thread), and its records are built and handed to the [`Planner`] as it comes
//! ([`Builder::add`]), so neither the body, nor Marathon's JSON shapes, nor the listing's
//! records are ever held whole.
//!
//! etcd's side is read meanwhile ([`plan`]): what the listing brings before that read is
//! done is held reduced, then compared, since a record is compared with etcd's as it is
//! built.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use registry::{AppId, Stamp, StoredRecords};
use tokio::sync::mpsc;

use super::ReconcileError;
use super::changes::ReconcilePlan;
use super::plan::{Planner, Rules};
use crate::agents::AgentResolver;
use crate::catalog::{Catalog, Lookup};
use crate::marathon::{MarathonClient, model};
use crate::records::{self, AppDefinition, DefinitionError, TaskFacts};

/// Listed apps buffered between the parser and the record builder.
const IN_FLIGHT: usize = 64;

/// Plans what makes etcd hold what Marathon's listing says: the listing is read while
/// `stored` reads etcd's side, each listed record compared with it once it is there.
/// Whoever fails first fails the plan, and the other side is given up: nothing is planned
/// from half a listing or half of etcd.
pub(super) async fn plan(
    client: &MarathonClient,
    catalog: &Catalog,
    agents: &AgentResolver,
    stored: impl Future<Output = Result<StoredRecords, registry::Error>>,
    rules: &Rules,
) -> Result<ReconcilePlan, ReconcileError> {
    let started = Instant::now();
    let (tx, mut rx) = mpsc::channel::<Listed>(IN_FLIGHT);
    let read = async {
        let (listed_apps, ()) = client
            .for_each_app_with_tasks((), move |_, app| {
                if let Some(listed) = listed(app) {
                    // The builder only goes away when the reconcile is dropped.
                    let _ = tx.blocking_send(listed);
                }
            })
            .await?;
        tracing::debug!(elapsed = ?started.elapsed(), listed_apps, "reconcile: Marathon's listing read");
        Ok::<_, ReconcileError>(listed_apps)
    };
    let build = async {
        // Until etcd's side is read, the apps listed so far are kept as they come.
        let mut early = Vec::new();
        let stored = {
            tokio::pin!(stored);
            loop {
                tokio::select! {
                    stored = &mut stored => break stored?,
                    Some(listed) = rx.recv() => early.push(listed),
                }
            }
        };
        tracing::debug!(elapsed = ?started.elapsed(), held = early.len(), "reconcile: etcd's side read");
        let mut planner = Planner::new(stored, rules);
        let mut builder = Builder {
            planner: &mut planner,
            catalog,
            agents,
        };
        for listed in early {
            builder.add(listed).await;
        }
        while let Some(listed) = rx.recv().await {
            builder.add(listed).await;
        }
        Ok::<_, ReconcileError>(planner)
    };
    let (listed_apps, planner) = tokio::try_join!(read, build)?;
    let plan = planner.finish(listed_apps);
    tracing::debug!(elapsed = ?started.elapsed(), "reconcile: planned");
    Ok(plan)
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

/// Builds the records of listed apps for the planner.
struct Builder<'a, 'p> {
    planner: &'a mut Planner<'p>,
    catalog: &'a Catalog,
    agents: &'a AgentResolver,
}

impl Builder<'_, '_> {
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
                Some(def)
            }
            Err(e) => {
                tracing::warn!(app = %app_id, error = %e, "unusable app definition; its record is left as is");
                self.planner.keep_app(app_id.clone());
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
            self.planner.want_task(record);
        }
        // The app after its tasks, as a whole plan orders them.
        if let Some(def) = def {
            self.planner.want_app(def.record.clone());
        }
    }
}
