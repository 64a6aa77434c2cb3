//! The guest functions against a real etcd: maestro's documented examples adapted to
//! Marathon records, and every error path.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use herald_guestutils::{Env, Error, Guest};
use registry::harness::EtcdServer;
use registry::{Health, TaskState};

fn ports(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

async fn kafka_2(etcd: &EtcdServer) -> Guest {
    Guest::new(
        Env::from_pairs(kafka_2_env()),
        etcd.registry().await.unwrap(),
    )
}

#[tokio::test]
async fn maestro_examples_from_kafka_2() {
    let etcd = EtcdServer::start().await.unwrap();
    zk_kafka(&etcd.registry().await.unwrap()).await;
    let g = kafka_2(&etcd).await;

    assert_eq!(g.get_environment_name(), "zk-kafka");
    assert_eq!(g.get_service_name().unwrap(), "/zk-kafka/kafka");
    assert_eq!(g.get_container_name().unwrap(), kafka_task_id(2));
    assert_eq!(g.get_container_host_address(false).await.unwrap(), SHIP);
    assert_eq!(
        g.get_container_internal_address()
            .await
            .unwrap()
            .to_string(),
        "172.18.42.1"
    );
    // Host networking: the broker port is Marathon's PORT_BROKER (kafka-2's is 9093).
    assert_eq!(g.get_port("broker", None).await.unwrap(), 9093);
    assert_eq!(g.get_port("unknown", Some(42)).await.unwrap(), 42);
    assert!(matches!(
        g.get_port("unknown", None).await,
        Err(Error::NoPort { .. })
    ));

    assert_eq!(
        g.get_node_list("zookeeper", &ports(&["client"]), 1)
            .await
            .unwrap(),
        [
            "192.168.10.2:2181",
            "192.168.10.2:2182",
            "192.168.10.2:2183"
        ]
    );
    assert_eq!(
        g.get_node_list("zookeeper", &ports(&["client", "peer"]), 1)
            .await
            .unwrap(),
        [
            "192.168.10.2:2181:2888",
            "192.168.10.2:2182:2889",
            "192.168.10.2:2183:2890"
        ]
    );
    let own = g.get_service_name().unwrap();
    assert_eq!(
        g.get_node_list(&own, &ports(&["broker"]), 1).await.unwrap(),
        [
            "192.168.10.2:9092",
            "192.168.10.2:9093",
            "192.168.10.2:9094"
        ]
    );
    assert_eq!(
        g.get_node_list("zookeeper", &[], 1).await.unwrap(),
        [SHIP, SHIP, SHIP]
    );

    let zk2 = zk_task_id(2);
    assert_eq!(g.get_specific_host("zookeeper", &zk2).await.unwrap(), SHIP);
    assert_eq!(
        g.get_specific_port("zookeeper", &zk2, "client", None)
            .await
            .unwrap(),
        2182
    );
    assert_eq!(
        g.get_specific_exposed_port("zookeeper", &zk2, "client", None)
            .await
            .unwrap(),
        2181
    );
    // Host networking: the exposed port is the host port.
    assert_eq!(
        g.get_specific_exposed_port("kafka", &kafka_task_id(3), "broker", None)
            .await
            .unwrap(),
        9094
    );
}

#[tokio::test]
async fn get_port_in_bridge_mode_is_the_container_port() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    zk_kafka(&registry).await;
    let env = Env::from_pairs([
        ("MARATHON_APP_ID", ZOOKEEPER.to_string()),
        ("MESOS_TASK_ID", zk_task_id(2)),
        ("PORT_CLIENT", "2182".to_string()),
    ]);
    let g = Guest::new(env, registry.clone());
    assert_eq!(g.get_port("client", None).await.unwrap(), 2181);
    assert_eq!(g.get_port("leader_election", Some(1)).await.unwrap(), 3888);

    // Without an app record the task's own record gives the container port.
    let env = Env::from_pairs([
        ("MARATHON_APP_ID", "/solo/web".to_string()),
        ("MESOS_TASK_ID", "solo_web.1".to_string()),
        ("PORT_HTTP", "31000".to_string()),
    ]);
    put(
        &registry,
        [task(
            "/solo/web",
            "solo_web.1",
            vec![port("http", Some(80), Some(31000))],
        )],
    )
    .await;
    let g = Guest::new(env, registry);
    assert_eq!(g.get_port("http", None).await.unwrap(), 80);
}

#[tokio::test]
async fn get_port_errors_name_the_variable() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    let g = Guest::new(Env::from_pairs([("PORT_ADMIN", "http")]), registry);
    let err = g.get_port("metrics", None).await.unwrap_err();
    assert!(err.to_string().contains("PORT_METRICS"), "{err}");
    let err = g.get_port("admin", Some(1)).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidVar { var, .. } if var == "PORT_ADMIN"),
        "{err}"
    );
}

#[tokio::test]
async fn node_list_errors() {
    let etcd = EtcdServer::start().await.unwrap();
    zk_kafka(&etcd.registry().await.unwrap()).await;
    let g = kafka_2(&etcd).await;

    match g.get_node_list("zookeeper", &ports(&["client"]), 4).await {
        Err(Error::NotEnoughNodes {
            service,
            found: 3,
            minimum: 4,
        }) => assert_eq!(service, ZOOKEEPER),
        other => panic!("expected NotEnoughNodes, got {other:?}"),
    }
    // maestro: a service nobody runs is an error with the default minimum, [] with 0.
    assert!(matches!(
        g.get_node_list("nobody", &[], 1).await,
        Err(Error::NotEnoughNodes { found: 0, .. })
    ));
    assert!(g.get_node_list("nobody", &[], 0).await.unwrap().is_empty());
    match g
        .get_node_list("zookeeper", &ports(&["client", "jmx"]), 1)
        .await
    {
        Err(Error::NoSuchPort { port, .. }) => assert_eq!(port, "jmx"),
        other => panic!("expected NoSuchPort, got {other:?}"),
    }
    assert!(matches!(
        g.get_node_list("Not_An_Id", &[], 0).await,
        Err(Error::InvalidService { .. })
    ));
}

#[tokio::test]
async fn a_group_is_every_app_below_it() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    zk_kafka(&registry).await;
    // A sibling whose id merely starts with the group's name is not in it.
    put(
        &registry,
        [task("/zk-kafka-old/kafka", "zk-kafka-old_kafka.1", vec![])],
    )
    .await;
    let g = Guest::new(Env::default(), registry);
    let nodes = g.get_node_list("/zk-kafka", &[], 1).await.unwrap();
    assert_eq!(nodes.len(), 6);
    // Both apps' instances are members; a port only one app has fails for the group.
    let (service, instances) = g.instances("zk-kafka").await.unwrap();
    assert_eq!(service.id.as_str(), "/zk-kafka");
    let apps: Vec<_> = instances.iter().map(|i| i.app_id.to_string()).collect();
    assert_eq!(apps.iter().filter(|a| *a == KAFKA).count(), 3);
    assert!(matches!(
        g.get_node_list("/zk-kafka", &ports(&["client"]), 1).await,
        Err(Error::NoSuchPort { .. })
    ));
}

#[tokio::test]
async fn only_serving_or_healthy_instances_are_listed() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    let mut healthy = kafka_node(1);
    healthy.health = Health::Healthy;
    let unknown = kafka_node(2);
    let mut unhealthy = kafka_node(3);
    unhealthy.health = Health::Unhealthy;
    let mut staging = task(
        KAFKA,
        "zk-kafka_kafka.staging",
        vec![port("broker", None, Some(9999))],
    );
    staging.state = TaskState::Staging;
    put(&registry, [healthy, unknown, unhealthy, staging]).await;

    let g = Guest::new(Env::default(), registry);
    let broker = ports(&["broker"]);
    assert_eq!(
        g.get_node_list(KAFKA, &broker, 1).await.unwrap(),
        ["192.168.10.2:9092", "192.168.10.2:9093"]
    );
    let g = g.only_healthy(true);
    assert_eq!(
        g.get_node_list(KAFKA, &broker, 1).await.unwrap(),
        ["192.168.10.2:9092"]
    );
    // A specific container is found whatever its state.
    assert_eq!(
        g.get_specific_port(KAFKA, "zk-kafka_kafka.staging", "broker", None)
            .await
            .unwrap(),
        9999
    );
}

#[tokio::test]
async fn container_networking_is_reached_at_the_task_ip() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    let mut t = task(
        "/overlay/db",
        "overlay_db.1",
        vec![port("pg", Some(5432), None)],
    );
    t.task_ips = vec!["10.0.5.7".parse().unwrap()];
    put(&registry, [t]).await;
    let env = Env::from_pairs([
        ("MARATHON_APP_ID", "/overlay/db"),
        ("MESOS_TASK_ID", "overlay_db.1"),
    ]);
    let g = Guest::new(env, registry);
    assert_eq!(
        g.get_node_list("db", &ports(&["pg"]), 1).await.unwrap(),
        ["10.0.5.7:5432"]
    );
    assert_eq!(
        g.get_specific_port("db", "overlay_db.1", "pg", None)
            .await
            .unwrap(),
        5432
    );
    // The internal address comes from the task record when MESOS_CONTAINER_IP is unset.
    assert_eq!(
        g.get_container_internal_address()
            .await
            .unwrap()
            .to_string(),
        "10.0.5.7"
    );
}

#[tokio::test]
async fn specific_lookups_say_what_is_missing() {
    let etcd = EtcdServer::start().await.unwrap();
    zk_kafka(&etcd.registry().await.unwrap()).await;
    let g = kafka_2(&etcd).await;
    match g.get_specific_host("zookeeper", "zk-node-9").await {
        Err(Error::NoSuchContainer { service, container }) => {
            assert_eq!(
                (service.as_str(), container.as_str()),
                (ZOOKEEPER, "zk-node-9")
            );
        }
        other => panic!("expected NoSuchContainer, got {other:?}"),
    }
    let zk1 = zk_task_id(1);
    let err = g
        .get_specific_port("zookeeper", &zk1, "jmx", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NoSuchPort { port, kind: "external", .. } if port == "jmx"),
        "{err}"
    );
    assert_eq!(
        g.get_specific_port("zookeeper", &zk1, "jmx", Some(7199))
            .await
            .unwrap(),
        7199
    );
    assert!(matches!(
        g.get_specific_exposed_port("zookeeper", &zk1, "jmx", None)
            .await,
        Err(Error::NoSuchPort {
            kind: "internal",
            ..
        })
    ));
    // A container of another service is not found under this one.
    assert!(matches!(
        g.get_specific_host("kafka", &zk1).await,
        Err(Error::NoSuchContainer { .. })
    ));
}

#[tokio::test]
async fn internal_address_missing_everywhere_is_an_error() {
    let etcd = EtcdServer::start().await.unwrap();
    let g = Guest::new(
        Env::from_pairs([("MARATHON_APP_ID", "/a"), ("MESOS_TASK_ID", "a.1")]),
        etcd.registry().await.unwrap(),
    );
    assert!(matches!(
        g.get_container_internal_address().await,
        Err(Error::NoInternalAddress)
    ));
    let g = Guest::new(
        Env::from_pairs([("HOSTNAME", "localhost")]),
        etcd.registry().await.unwrap(),
    );
    assert!(
        g.get_container_internal_address()
            .await
            .unwrap()
            .is_loopback()
    );
}

#[tokio::test]
async fn an_unreachable_registry_is_a_registry_error() {
    let mut etcd = EtcdServer::start().await.unwrap();
    let g = kafka_2(&etcd).await;
    etcd.kill();
    let err = g.get_node_list("zookeeper", &[], 0).await.unwrap_err();
    assert!(matches!(err, Error::Registry(_)), "{err}");
}
