//! The app events: `api_post_event` stores a definition, `app_terminated_event` removes an
//! app with its tasks.

use std::sync::Arc;

use registry::{AppId, Stamp, Write, WriteOp};

use super::batch::{Disposition, Plan, Planner, app_record};
use crate::marathon::ids;
use crate::records::AppDefinition;

impl Planner {
    /// `api_post_event`: store the definition it carries.
    pub(super) async fn app_changed(
        &mut self,
        definition: &AppDefinition,
        at: &Stamp,
        plan: &mut Plan,
    ) -> Disposition {
        let def = Arc::new(definition.clone());
        self.catalog.observe(def.clone()).await;
        let record = app_record(&def, at);
        self.written_apps
            .insert(record.app_id.clone(), record.version.clone());
        Disposition::Writes(vec![plan.push(WriteOp::newer(Write::PutApp(record)))])
    }

    /// `app_terminated_event`: remove the app record and every task of the app.
    pub(super) async fn app_terminated(
        &mut self,
        app: &AppId,
        at: &Stamp,
        plan: &mut Plan,
    ) -> Disposition {
        self.catalog.forget(app).await;
        self.written_apps.remove(app);
        let stored: Vec<String> = match self.listing(app, plan).await {
            Some(listing) => listing
                .tasks
                .iter()
                .map(|t| t.record.task_id.clone())
                .collect(),
            None => return Disposition::Retry,
        };
        let mut tasks: Vec<String> = plan
            .pending_tasks
            .keys()
            .filter(|(a, _)| a == app)
            .map(|(_, t)| t.clone())
            .chain(stored)
            .collect();
        tasks.sort();
        tasks.dedup();
        let mut ops = Vec::with_capacity(tasks.len() + 1);
        for task_id in tasks {
            if let Some(k) = ids::instance_key(&task_id) {
                self.memo.remove(&k);
            }
            ops.push(plan.push(WriteOp::newer(Write::RemoveTask {
                app_id: app.clone(),
                task_id,
                reason: "app_terminated_event".into(),
                at: at.clone(),
            })));
        }
        ops.push(plan.push(WriteOp::newer(Write::RemoveApp {
            app_id: app.clone(),
            reason: "app_terminated_event".into(),
            at: at.clone(),
        })));
        plan.listings.remove(app);
        Disposition::Writes(ops)
    }
}
