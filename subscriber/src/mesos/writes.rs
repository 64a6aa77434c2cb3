//! Writes of the Mesos source, isolated per record like the Marathon ones
//! ([`crate::writes`]): a record over `--max-record-size` is refused before anything is
//! sent, a batch etcd refuses is retried one write at a time so only the bad record is
//! lost, and a retryable etcd failure is returned for the caller to end the session (the
//! resync after the next subscribe rewrites whatever did not land).

use std::time::Instant;

use registry::{MesosWriteOp, Outcome, Registry};

use crate::telemetry;

/// What a batch of writes did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Written.
    pub written: usize,
    /// Already stored as is.
    pub unchanged: usize,
    /// Refused by the guard (a newer record, or a changed revision).
    pub stale: usize,
    /// Refused for good (too large, or etcd refused it alone).
    pub refused: usize,
}

/// Applies `ops`; `Err` only for a retryable etcd failure (nothing after it was tried).
pub async fn apply(
    registry: &Registry,
    ops: Vec<MesosWriteOp>,
    max_record_size: usize,
) -> Result<Tally, registry::Error> {
    let mut tally = Tally::default();
    let mut sendable = Vec::with_capacity(ops.len());
    for op in ops {
        let size = op.write.encoded_len();
        if size > max_record_size {
            tracing::warn!(key = ?op.write.key(), size, limit = max_record_size, "a Mesos record is larger than --max-record-size; not written");
            telemetry::record_refused("too_large");
            tally.refused += 1;
        } else {
            sendable.push(op);
        }
    }
    if sendable.is_empty() {
        return Ok(tally);
    }
    let started = Instant::now();
    let result = registry.apply_mesos(sendable.clone()).await;
    telemetry::etcd_write(started.elapsed(), result.as_ref().err());
    match result {
        Ok(outcomes) => count(&mut tally, &outcomes),
        Err(e) if e.is_retryable() => return Err(e),
        Err(e) => {
            tracing::warn!(error = %e, writes = sendable.len(), "etcd refused a batch of Mesos writes; writing them one by one");
            for op in sendable {
                let key = op.write.key();
                match registry.apply_mesos(vec![op]).await {
                    Ok(outcomes) => count(&mut tally, &outcomes),
                    Err(e) if e.is_retryable() => return Err(e),
                    Err(e) => {
                        tracing::warn!(?key, error = %e, "etcd refused a Mesos record");
                        telemetry::record_refused("etcd");
                        tally.refused += 1;
                    }
                }
            }
        }
    }
    telemetry::mesos_writes("written", tally.written);
    telemetry::mesos_writes("unchanged", tally.unchanged);
    telemetry::mesos_writes("stale", tally.stale);
    telemetry::mesos_writes("refused", tally.refused);
    Ok(tally)
}

fn count(tally: &mut Tally, outcomes: &[Outcome]) {
    for o in outcomes {
        match o {
            Outcome::Written => tally.written += 1,
            Outcome::Unchanged => tally.unchanged += 1,
            Outcome::Stale | Outcome::Conflict => tally.stale += 1,
        }
    }
}
