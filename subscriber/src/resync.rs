//! Requests for a resync, from anywhere: a full callback queue, an SSE (re)connect, an app
//! definition Marathon could not give, a callback registration. The reconcile loop
//! ([`crate::reconcile::run_loop`]) serves them; requests made while one is pending
//! coalesce into it.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// The request slot. Cheap to clone; clones share it.
#[derive(Clone, Default)]
pub struct Resync {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    notify: Notify,
    reason: Mutex<Option<String>>,
}

impl Resync {
    /// Asks for a resync soon.
    pub fn request(&self, reason: &str) {
        if let Ok(mut slot) = self.inner.reason.lock() {
            slot.get_or_insert_with(|| reason.to_string());
        }
        self.inner.notify.notify_one();
    }

    /// Waits for a request; returns its reason.
    pub async fn requested(&self) -> String {
        loop {
            if let Some(reason) = self.take() {
                return reason;
            }
            self.inner.notify.notified().await;
        }
    }

    /// Takes a pending request without waiting.
    pub fn take(&self) -> Option<String> {
        self.inner.reason.lock().ok().and_then(|mut r| r.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_coalesce_and_keep_the_first_reason() {
        let resync = Resync::default();
        assert_eq!(resync.take(), None);
        resync.request("first");
        resync.clone().request("second");
        assert_eq!(resync.requested().await, "first");
        assert_eq!(resync.take(), None, "one run serves both");
    }
}
