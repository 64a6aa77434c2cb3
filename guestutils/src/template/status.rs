//! What `/healthz` reports about each template.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

/// The state of one template, by its destination.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TemplateState {
    /// The template file.
    pub source: String,
    /// The revision of the data the last render attempt saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rendered_revision: Option<i64>,
    /// The revision of the data the destination holds (written, or found equal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed_revision: Option<i64>,
    /// Why the last attempt failed (template error, refused check, write error, failed
    /// reload); none once one succeeds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A shared, cheap-to-clone board of [`TemplateState`] by destination.
#[derive(Clone, Debug, Default)]
pub struct TemplateStatus(Arc<Mutex<BTreeMap<String, TemplateState>>>);

impl TemplateStatus {
    fn board(&self) -> MutexGuard<'_, BTreeMap<String, TemplateState>> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of every template's state.
    pub fn snapshot(&self) -> BTreeMap<String, TemplateState> {
        self.board().clone()
    }

    /// True when no template's last attempt failed.
    pub fn all_ok(&self) -> bool {
        self.board().values().all(|t| t.last_error.is_none())
    }

    pub(crate) fn register(&self, dest: &str, source: &str) {
        self.board().entry(dest.to_string()).or_default().source = source.to_string();
    }

    pub(crate) fn rendered(&self, dest: &str, revision: i64, outcome: Result<(), String>) {
        let mut board = self.board();
        let entry = board.entry(dest.to_string()).or_default();
        entry.rendered_revision = Some(revision);
        match outcome {
            Ok(()) => {
                entry.installed_revision = Some(revision);
                entry.last_error = None;
            }
            Err(reason) => entry.last_error = Some(reason),
        }
    }
}
