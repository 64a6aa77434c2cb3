//! Every example runs: the Rust and shell entrypoints, the HAProxy handler under
//! herald-watcher, and the Marathon app definitions (deployed into the simulator).
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

use crate::common;

use std::process::{Command, Stdio};

use common::*;
use registry::harness::{EtcdServer, KillOnDrop};
use registry::{NetworkMode, Write, WriteOp};

/// A three-member ZooKeeper ensemble in bridge mode: client 2181, peer 2888, election 3888
/// inside; host ports on one agent.
async fn zookeeper(etcd: &EtcdServer) {
    let reg = etcd.registry().await.unwrap();
    let mut ops = vec![WriteOp::newer(Write::PutApp(app(
        "/zk-kafka/zookeeper",
        NetworkMode::Bridge,
        &[
            ("client", Some(2181)),
            ("peer", Some(2888)),
            ("election", Some(3888)),
        ],
    )))];
    for i in 0..3u16 {
        ops.push(WriteOp::newer(Write::PutTask(task(
            "/zk-kafka/zookeeper",
            &format!("zk-kafka_zookeeper.{i}"),
            "192.168.10.2",
            vec![
                port("client", Some(2181), Some(31000 + i)),
                port("peer", Some(2888), Some(31100 + i)),
                port("election", Some(3888), Some(31200 + i)),
            ],
        ))));
    }
    reg.apply(ops).await.unwrap();
}

#[tokio::test]
async fn the_rust_entrypoint_configures_a_zookeeper_ensemble() {
    let etcd = EtcdServer::start().await.unwrap();
    zookeeper(&etcd).await;
    let out = Command::new(env!("CARGO_BIN_EXE_zookeeper-entrypoint"))
        .arg("--dry-run")
        .env("HERALD_ETCD_ENDPOINTS", etcd.endpoint())
        .env("MARATHON_APP_ID", "/zk-kafka/zookeeper")
        .env("MESOS_TASK_ID", "zk-kafka_zookeeper.1")
        .env("HOST", "192.168.10.2")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("clientPort=2181"), "{stdout}");
    assert!(
        stdout.contains("server.1=192.168.10.2:31100:31200"),
        "{stdout}"
    );
    assert!(
        stdout.contains("server.3=192.168.10.2:31102:31202"),
        "{stdout}"
    );
    assert!(
        stdout.contains("myid\n2\n"),
        "the second task is member 2: {stdout}"
    );

    let alone = Command::new(env!("CARGO_BIN_EXE_zookeeper-entrypoint"))
        .arg("--dry-run")
        .env("HERALD_ETCD_ENDPOINTS", etcd.endpoint())
        .env("MESOS_TASK_ID", "x")
        .env_remove("MARATHON_APP_ID")
        .output()
        .unwrap();
    assert!(!alone.status.success());
    assert!(String::from_utf8_lossy(&alone.stderr).contains("MARATHON_APP_ID"));
}

#[tokio::test]
async fn the_shell_entrypoint_starts_kafka_with_its_zookeeper() {
    let etcd = EtcdServer::start().await.unwrap();
    zookeeper(&etcd).await;
    let out = Command::new(repo().join("examples/entrypoint/kafka-entrypoint.sh"))
        .env("PATH", path_with_bins())
        .env("HERALD_ETCD_ENDPOINTS", etcd.endpoint())
        .env("MARATHON_APP_ID", "/zk-kafka/kafka")
        .env("MESOS_TASK_ID", "zk-kafka_kafka.7")
        .env("HOST", "192.168.10.3")
        .env("PORT_BROKER", "9093")
        .env("KAFKA_START", "echo")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout
            .contains("zookeeper.connect=192.168.10.2:31000,192.168.10.2:31001,192.168.10.2:31002"),
        "{stdout}"
    );
    assert!(
        stdout.contains("advertised.listeners=PLAINTEXT://192.168.10.3:9093"),
        "{stdout}"
    );

    // Without ZooKeeper the entrypoint fails instead of starting a broker with no ensemble.
    let empty = EtcdServer::start().await.unwrap();
    let out = Command::new(repo().join("examples/entrypoint/kafka-entrypoint.sh"))
        .env("PATH", path_with_bins())
        .env("HERALD_ETCD_ENDPOINTS", empty.endpoint())
        .env("MARATHON_APP_ID", "/zk-kafka/kafka")
        .env("KAFKA_START", "echo")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("zookeeper"));
}

#[tokio::test]
async fn herald_watcher_regenerates_the_haproxy_config() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("haproxy.cfg");
    let web = |i: u16| {
        task(
            "/shop/web",
            &format!("shop_web.{i}"),
            "127.0.0.21",
            vec![port("http", None, Some(31000 + i))],
        )
    };
    reg.apply(vec![
        WriteOp::newer(Write::PutTask(web(0))),
        WriteOp::newer(Write::PutTask(web(1))),
    ])
    .await
    .unwrap();
    let watcher = KillOnDrop::spawn(
        Command::new(bin("herald-watcher"))
            .args(["--wait", "50ms:200ms", "--handler"])
            .arg(repo().join("examples/haproxy/reload.sh"))
            .env("PATH", path_with_bins())
            .env("WATCHES", "/shop/web")
            .env("HERALD_ETCD_ENDPOINTS", etcd.endpoint())
            .env("HAPROXY_CFG", &cfg)
            .env("HAPROXY_PORT_shop_web", "10080")
            .env("HAPROXY_SERVICE_PORT", "http")
            .stdout(Stdio::null()),
    )
    .unwrap();
    let servers = |n: usize| {
        let text = std::fs::read_to_string(&cfg).ok()?;
        (text.matches("    server ").count() == n).then_some(text)
    };
    let text = eventually("two servers", WAIT, async || servers(2)).await;
    assert!(text.contains("bind 127.0.0.1:10080"), "{text}");
    assert!(
        text.contains("server shop_web-1 127.0.0.21:31000 check"),
        "{text}"
    );
    reg.apply(vec![WriteOp::newer(Write::PutTask(web(2)))])
        .await
        .unwrap();
    let text = eventually("three servers", WAIT, async || servers(3)).await;
    assert!(text.contains("127.0.0.21:31002"), "{text}");
    drop(watcher);
}

#[tokio::test]
async fn the_marathon_app_definitions_deploy() {
    let sim = marathon_sim::Simulator::start(marathon_sim::SimConfig::default())
        .await
        .unwrap();
    for file in [
        "rsvp/mongodb.json",
        "rsvp/rsvp.json",
        "marathon/herald-subscriber.json",
        "marathon/herald-dns.json",
    ] {
        let text = std::fs::read_to_string(repo().join("examples").join(file)).unwrap();
        let definition: serde_json::Value = serde_json::from_str(&text).unwrap();
        let spec = marathon_sim::app_spec_from_definition(&definition).unwrap();
        let instances = spec.instances as usize;
        let tasks = sim
            .deploy(spec)
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(tasks.len(), instances, "{file}");
    }
    let dns = sim
        .running_tasks()
        .into_iter()
        .filter(|t| t.app_id == "/herald/dns")
        .count();
    assert_eq!(dns, 5);
}
