//! Marathon's listing (`GET /v2/apps?embed=apps.tasks`) -> the records etcd should hold,
//! built exactly as events build them ([`records`]), so that an in-sync registry plans no
//! change. The app definitions seen on the way are observed into the catalog.

use std::sync::Arc;

use registry::AppId;

use super::plan::Wanted;
use crate::agents::AgentResolver;
use crate::catalog::{Catalog, Lookup};
use crate::marathon::model;
use crate::records;

/// What `apps` (Marathon's listing) says etcd should hold.
pub(super) async fn wanted(
    apps: &[model::App],
    catalog: &Catalog,
    agents: &AgentResolver,
) -> Wanted {
    let hosts: Vec<&str> = apps
        .iter()
        .flat_map(|a| a.tasks.iter().flatten())
        .filter_map(|t| t.host.as_deref())
        .collect();
    agents.prefetch(hosts).await;

    let mut wanted = Wanted {
        listed_apps: apps.len(),
        ..Wanted::default()
    };
    for app in apps {
        let Some(app_id) = app.id.as_deref().and_then(|id| AppId::parse(id).ok()) else {
            tracing::warn!(id = ?app.id, "Marathon lists an app with an invalid id; skipped");
            continue;
        };
        let def = match records::app_definition(app) {
            Ok(def) => {
                let def = Arc::new(def);
                catalog.observe(def.clone()).await;
                wanted.apps.insert(app_id.clone(), def.record.clone());
                Some(def)
            }
            Err(e) => {
                tracing::warn!(app = %app_id, error = %e, "unusable app definition; its record is left as is");
                wanted.kept_apps.insert(app_id.clone());
                None
            }
        };
        for task in app.tasks.iter().flatten() {
            let Some(facts) = records::facts_of(&app_id, task) else {
                continue;
            };
            if !records::is_stored(&facts.state) {
                continue;
            }
            // Tasks of an older version (mid-deployment) get that version's port layout.
            let task_def = match &def {
                Some(d) if d.describes(facts.version.as_deref()) => Some(d.clone()),
                Some(d) => match catalog.lookup(&app_id, facts.version.as_deref()).await {
                    Lookup::Found(older) => Some(older),
                    _ => Some(d.clone()),
                },
                None => None,
            };
            let agent_ips = agents.resolve(&facts.host).await;
            let record = records::task_record(
                facts,
                task_def.as_ref().map(|d| &d.record),
                agent_ips,
                records::observed_at(task),
            );
            wanted
                .tasks
                .insert((app_id.clone(), record.task_id.clone()), record);
        }
    }
    wanted
}
