//! The masters in a real ZooKeeper (Debian's package, started per test): `json.info_` nodes,
//! the leader lowest, leader changes seen through the nodes, sessions gone on shutdown.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use registry::harness::{ZooKeeper, zookeeper_unavailable as unavailable};

use http::StatusCode;
use mesos_sim::{SimConfig, Simulator, ZkConfig};
use serde_json::Value;
use zookeeper_client::Client;

/// A ZooKeeper for `test`, or `None` after printing why it cannot run here.
fn zookeeper(test: &str) -> Option<ZooKeeper> {
    if let Some(why) = unavailable() {
        skip(test, &why);
        return None;
    }
    let zk = ZooKeeper::start();
    eprintln!("ZooKeeper answered imok after {:?}", zk.startup);
    Some(zk)
}

/// The `json.info_` children of `/mesos` (sorted) and their data, read by an independent
/// client the way Mesos' detector and the Mesos CLI read them.
async fn members(client: &Client) -> Vec<(String, Value)> {
    let mut names: Vec<String> = client
        .list_children("/mesos")
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with("json.info_"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for n in names {
        match client.get_data(&format!("/mesos/{n}")).await {
            Ok((data, _)) => out.push((n, serde_json::from_slice(&data).unwrap())),
            // Gone between the listing and the read (a session just closed).
            Err(zookeeper_client::Error::NoNode) => {}
            Err(e) => panic!("reading /mesos/{n}: {e}"),
        }
    }
    out
}

/// The leader's address from ZooKeeper: `address.ip:address.port` of the lowest node.
fn leader_address(members: &[(String, Value)]) -> String {
    let info = &members[0].1;
    format!(
        "{}:{}",
        info["address"]["ip"].as_str().unwrap(),
        info["address"]["port"]
    )
}

/// Polls until `check` holds (ZooKeeper watchers see changes a moment later).
async fn eventually(
    client: &Client,
    check: impl Fn(&[(String, Value)]) -> bool,
) -> Vec<(String, Value)> {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let m = members(client).await;
        if check(&m) {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "ZooKeeper never showed it: {m:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn masters_register_as_json_info_nodes_and_the_leader_is_lowest() {
    let Some(zk) = zookeeper("zk::masters_register_as_json_info_nodes_and_the_leader_is_lowest")
    else {
        return;
    };
    let cfg = SimConfig {
        leader: Some(1),
        zk: Some(ZkConfig::from_url(&format!("zk://{}/mesos", zk.servers)).unwrap()),
        ..SimConfig::default()
    };
    let s = Simulator::start(cfg).await.unwrap();
    let client = Client::connect(&zk.servers).await.unwrap();
    let m = members(&client).await;
    assert_eq!(m.len(), 3);
    for (name, _) in &m {
        let seq = name.strip_prefix("json.info_").unwrap();
        assert_eq!(seq.len(), 10, "{name}");
        assert!(seq.bytes().all(|b| b.is_ascii_digit()));
    }
    let addrs = s.master_addrs();
    assert_eq!(
        leader_address(&m),
        addrs[1].to_string(),
        "the configured leader registered first"
    );
    let info = &m[0].1;
    let text = serde_json::to_string(info).unwrap();
    assert!(
        text.starts_with(r#"{"address":{"hostname":"#),
        "keys sorted: {text}"
    );
    assert_eq!(info["pid"], format!("master@{}", addrs[1]));
    assert_eq!(info["ip"], 16777343);
    assert_eq!(info["version"], "1.11.0");
    // Each node is ephemeral: owned by a session.
    let (_, stat) = client
        .get_data(&format!("/mesos/{}", m[0].0))
        .await
        .unwrap();
    assert_ne!(stat.ephemeral_owner, 0);
    assert_eq!(
        s.zk_nodes().await,
        m.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
    );
    // The address ZooKeeper names is the master that serves.
    let r = call(&format!("http://{}", leader_address(&m)), "GET_STATE").await;
    assert_eq!(r.status, StatusCode::OK);
    s.shutdown().await;
    eventually(&client, |m| m.is_empty()).await;
}

#[tokio::test]
async fn a_leader_change_reorders_the_nodes() {
    let Some(zk) = zookeeper("zk::a_leader_change_reorders_the_nodes") else {
        return;
    };
    let cfg = SimConfig {
        zk: Some(ZkConfig::new(zk.servers.clone(), "/mesos")),
        heartbeat: std::time::Duration::from_millis(200),
        ..SimConfig::default()
    };
    let s = Simulator::start(cfg).await.unwrap();
    let client = Client::connect(&zk.servers).await.unwrap();
    let addrs = s.master_addrs();
    let before = members(&client).await;
    assert_eq!(leader_address(&before), addrs[0].to_string());
    let mut old = subscribe(&s.master_urls()[0]).await;
    old.next_record(T).await.unwrap();
    s.set_leader(Some(2)).await.unwrap();
    let after = eventually(&client, |m| {
        m.len() == 3 && leader_address(m) == addrs[2].to_string()
    })
    .await;
    // Masters 0 and 1 came back with new, higher sequences; 2 kept its node.
    assert_eq!(after[0].0, before[2].0);
    assert!(
        after[1].0 > before[2].0 && after[2].0 > after[1].0,
        "{before:?} -> {after:?}"
    );
    assert!(old.wait_closed(T).await, "the old leader's stream broke");
    let mut st = subscribe(&format!("http://{}", leader_address(&after))).await;
    assert_eq!(st.status, StatusCode::OK);
    assert_eq!(st.next_record(T).await.unwrap()["type"], "SUBSCRIBED");
    // No leader: no nodes; a leader again: all three, it lowest.
    s.set_leader(None).await.unwrap();
    eventually(&client, |m| m.is_empty()).await;
    s.fail_over(1).await.unwrap();
    eventually(&client, |m| {
        m.len() == 3 && leader_address(m) == addrs[1].to_string()
    })
    .await;
}
