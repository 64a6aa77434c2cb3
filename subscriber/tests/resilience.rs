//! Failures on the etcd side: nothing accepted is lost.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::*;
use marathon_sim::{AppSpec, MarathonVersion};

#[tokio::test]
async fn an_etcd_restart_during_a_burst_loses_no_record() {
    let (mut etcd, registry) = etcd().await;
    // No periodic reconcile: the records must come from the events alone.
    let (sim, sub) = streaming(&etcd, MarathonVersion::V1_10).await;
    sim.deploy(AppSpec::new("/burst", 30)).await.unwrap();
    in_sync_with(&registry, &sim).await;

    let outage = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        etcd.kill();
        tokio::time::sleep(Duration::from_secs(2)).await;
        etcd.restart().await.unwrap();
    };
    let (burst, ()) = tokio::join!(sim.burst("/burst", 6000), outage);
    burst.unwrap();
    in_sync_with(&registry, &sim).await;
    sub.stop().await;
}

#[tokio::test]
async fn a_frozen_etcd_delays_but_does_not_lose_events() {
    let (etcd, registry) = etcd().await;
    let (sim, sub) = streaming(&etcd, MarathonVersion::V1_4).await;
    etcd.freeze();
    let tasks = sim.deploy(AppSpec::new("/slow", 3)).await.unwrap();
    sim.kill_task(&tasks[0]).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    etcd.thaw();
    in_sync_with(&registry, &sim).await;
    sub.stop().await;
}
