//! `status_update_event`: what a task's new state writes.

use registry::{Health, Write, WriteOp};

use super::batch::{Disposition, Plan, Planner};
use crate::catalog::Lookup;
use crate::events::StatusUpdate;
use crate::marathon::ids;
use crate::records::{self, TaskFacts};

impl Planner {
    /// A task changed state: upsert it while it is stored (with the remembered health),
    /// remove it when it ended; its app record goes along once per app version.
    pub(super) async fn status(&mut self, s: &StatusUpdate, plan: &mut Plan) -> Disposition {
        let StatusUpdate { task, at } = s;
        let key = ids::instance_key(&task.task_id);
        if task.state.is_terminal() {
            if let Some(k) = &key {
                self.memo.remove_older(k, at);
            }
            let op = WriteOp::newer(Write::RemoveTask {
                app_id: task.app_id.clone(),
                task_id: task.task_id.clone(),
                reason: task.state.as_str().to_string(),
                at: at.clone(),
            });
            return Disposition::Writes(vec![plan.push(op)]);
        }
        if !records::is_stored(&task.state) {
            return Disposition::Done("ignored");
        }
        let lookup = if plan.unavailable.contains(&task.app_id) {
            Lookup::Unavailable("Marathon did not answer earlier in this batch".into())
        } else {
            self.catalog
                .lookup(&task.app_id, task.version.as_deref())
                .await
        };
        let def = match lookup {
            Lookup::NotAnApp => return Disposition::Done("not_an_app"),
            Lookup::Found(def) => Some(def),
            Lookup::Unusable(reason) => {
                tracing::debug!(app = %task.app_id, %reason, "unusable app definition; ports stay unnamed");
                None
            }
            Lookup::Unavailable(reason) => {
                if plan.unavailable.insert(task.app_id.clone()) {
                    tracing::warn!(app = %task.app_id, %reason, "no app definition; writing the task without port names, a resync will complete it");
                    self.resync.request("an app definition was unavailable");
                }
                None
            }
        };
        let (health, updated_at) = match key.as_deref().and_then(|k| self.memo.get(k)) {
            Some((health, seen)) => (*health, seen.clone().max(at.clone())),
            None => (Health::Unknown, at.clone()),
        };
        let agent_ips = self.agents.resolve(&task.host).await;
        let facts = TaskFacts {
            health,
            ..task.clone()
        };
        let record = records::task_record(
            facts,
            def.as_ref().map(|d| &d.record),
            agent_ips,
            updated_at,
        );
        let mut ops = Vec::with_capacity(2);
        if def.is_some()
            && let Some(current) = self.catalog.cached_current(&task.app_id).await
            && self.written_apps.get(&task.app_id) != Some(&current.record.version)
        {
            self.written_apps
                .insert(task.app_id.clone(), current.record.version.clone());
            ops.push(plan.push(WriteOp::newer(Write::PutApp(current.record.clone()))));
        }
        ops.insert(0, plan.push(WriteOp::newer(Write::PutTask(record))));
        Disposition::Writes(ops)
    }
}
