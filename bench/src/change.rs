//! One measured change: rewrite a task's address in the registry, then poll herald-dns
//! over UDP every ~0.5 ms until the answer shows it.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use hickory_proto::rr::RecordType;
use registry::{Registry, Stamp, Write, WriteOp};

use crate::dnsq;
use crate::fixture;

/// How often the DNS answer is polled.
pub const POLL: Duration = Duration::from_micros(500);
/// Waits [`POLL`], precisely: tokio's timer rounds every sleep up to its next
/// millisecond tick, which would add up to a millisecond to each measured change, so the
/// pause is a thread sleep on the blocking pool.
pub async fn pause() {
    let _ = tokio::task::spawn_blocking(|| std::thread::sleep(POLL)).await;
}

/// How long one change may take to show before it counts as failed.
pub const LIMIT: Duration = Duration::from_secs(3);

/// Writes changes with strictly increasing Marathon timestamps (the registry's guard
/// orders by them), all later than the initial load.
pub struct Changer {
    base: DateTime<Utc>,
    seq: u32,
}

impl Changer {
    /// Starts the sequence a second from now (after anything already written).
    pub fn new() -> Changer {
        Changer {
            base: Utc::now() + chrono::Duration::seconds(1),
            seq: 0,
        }
    }

    /// The next change: task 0 of `/app{k}` moves to a fresh address, which is returned.
    pub fn next(&mut self, k: usize) -> Result<(WriteOp, Ipv4Addr)> {
        self.seq += 1;
        let s = self.seq;
        let ip = Ipv4Addr::new(11, (s >> 16) as u8, (s >> 8) as u8, s as u8);
        let mut rec = fixture::task(k, 0, ip);
        rec.updated_at = Stamp::from_datetime(self.base + chrono::Duration::milliseconds(s.into()));
        Ok((WriteOp::newer(Write::PutTask(rec)), ip))
    }
}

/// Polls `appK.marathon.mesos A` until it contains `ip`; returns when it was seen.
pub async fn wait_for_ip(
    client: &mut dnsq::Client,
    k: usize,
    ip: Ipv4Addr,
    limit: Duration,
) -> Result<Instant> {
    let name = format!("app{k}.marathon.mesos.");
    let needle = format!(" {ip}");
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(a) = client
            .answer(&name, RecordType::A, Duration::from_millis(100))
            .await
            && a.answers.iter().any(|l| l.ends_with(&needle))
        {
            return Ok(Instant::now());
        }
        pause().await;
    }
    bail!("{name} did not show {ip} within {limit:?}")
}

/// Writes one change to `/app{k}` and returns milliseconds from the write to the changed
/// DNS answer.
pub async fn write_to_answer(
    registry: &Registry,
    client: &mut dnsq::Client,
    changer: &mut Changer,
    k: usize,
) -> Result<f64> {
    let (op, ip) = changer.next(k)?;
    let start = Instant::now();
    registry.apply(vec![op]).await?;
    let seen = wait_for_ip(client, k, ip, LIMIT).await?;
    Ok(seen.duration_since(start).as_secs_f64() * 1e3)
}
