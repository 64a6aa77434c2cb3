//! The health events (every version's three shapes): what a verdict writes.

use registry::{Guard, Write, WriteOp};

use super::batch::{Disposition, Plan, Planner};
use crate::events::HealthUpdate;
use crate::marathon::ids;

impl Planner {
    /// A health verdict: amend the task's write in this batch, or rewrite the stored
    /// task(s) of the instance under their revision; remembered for a task not stored yet.
    pub(super) async fn health(&mut self, h: &HealthUpdate, plan: &mut Plan) -> Disposition {
        self.memo.set(&h.instance_key, h.health, &h.at);
        // A write for the task earlier in this batch: amend it in place.
        let in_batch: Vec<usize> = plan
            .pending_tasks
            .iter()
            .filter(|((app, task), _)| {
                app == &h.app_id && ids::instance_key(task).as_deref() == Some(&h.instance_key)
            })
            .map(|(_, &i)| i)
            .collect();
        if !in_batch.is_empty() {
            for &i in &in_batch {
                if let Write::PutTask(record) = &mut plan.ops[i].write
                    && h.at >= record.updated_at
                {
                    record.health = h.health;
                    record.updated_at = h.at.clone();
                }
            }
            return Disposition::Writes(in_batch);
        }
        let mut apps = vec![h.app_id.clone()];
        if let Some(other) = ids::app_of(&h.target).filter(|a| a != &h.app_id) {
            apps.push(other);
        }
        let mut matches = Vec::new();
        for app in &apps {
            let Some(listing) = self.listing(app, plan).await else {
                return Disposition::Retry;
            };
            matches.extend(
                listing
                    .tasks
                    .iter()
                    .filter(|t| {
                        ids::instance_key(&t.record.task_id).as_deref() == Some(&h.instance_key)
                    })
                    .cloned(),
            );
            if !matches.is_empty() {
                break;
            }
        }
        if matches.is_empty() {
            // The task's record is not there (yet): the memo applies it when it appears.
            return Disposition::Done("pending");
        }
        let mut ops = Vec::new();
        let mut outcome = "unchanged";
        for stored in matches {
            if h.at < stored.record.updated_at {
                outcome = "stale";
                continue;
            }
            if stored.record.health == h.health {
                continue;
            }
            let mut record = stored.record;
            record.health = h.health;
            record.updated_at = h.at.clone();
            ops.push(plan.push(WriteOp {
                write: Write::PutTask(record),
                guard: Guard::Revision(stored.mod_revision),
            }));
        }
        if ops.is_empty() {
            Disposition::Done(outcome)
        } else {
            Disposition::Writes(ops)
        }
    }
}
