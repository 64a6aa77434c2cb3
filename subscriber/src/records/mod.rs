//! Marathon task + app definition -> the registry's [`TaskRecord`] / [`AppRecord`]
//! ([`app`]: app definitions; [`task`]: tasks), and when two records are the same.
//!
//! Events and the reconcile both build records here, from the same facts, so that a task
//! seen through a `status_update_event` and the same task seen in `GET /v2/apps` give equal
//! records — which is what lets a reconcile of an in-sync registry write nothing.

pub mod app;
pub mod task;

use registry::{AppRecord, Stamp, TaskRecord, TaskState};

pub use app::{AppDefinition, DefinitionError, app_definition};
pub use task::{
    TaskFacts, facts_of, health_of, host_ports, observed_at, reported_ips, state_of, task_ports,
    task_record,
};

/// The stamp of records whose Marathon time is unknown: any event beats it.
pub fn epoch() -> Stamp {
    Stamp::from_datetime(chrono_epoch())
}

fn chrono_epoch() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::UNIX_EPOCH
}

/// Parses an optional Marathon timestamp.
pub fn stamp_of(text: Option<&str>) -> Option<Stamp> {
    text.and_then(|t| Stamp::parse(t).ok())
}

/// True for the states Herald stores: running, and the two "going away" states, which are
/// kept but marked down (DNS does not serve them; see the README). Staging and starting
/// tasks have nothing to serve yet; terminal states remove the record.
pub fn is_stored(state: &TaskState) -> bool {
    matches!(
        state,
        TaskState::Running | TaskState::Killing | TaskState::Unreachable
    )
}

/// Equal apart from `updated_at` (which only orders writes). Every other field is named
/// here, so a field added to [`TaskRecord`] does not compile until it is compared.
pub fn same_task(a: &TaskRecord, b: &TaskRecord) -> bool {
    let TaskRecord {
        app_id,
        task_id,
        instance_id,
        agent_id,
        host,
        agent_ips,
        task_ips,
        ports,
        state,
        health,
        app_version,
        updated_at: _,
    } = a;
    *app_id == b.app_id
        && *task_id == b.task_id
        && *instance_id == b.instance_id
        && *agent_id == b.agent_id
        && *host == b.host
        && *agent_ips == b.agent_ips
        && *task_ips == b.task_ips
        && *ports == b.ports
        && *state == b.state
        && *health == b.health
        && *app_version == b.app_version
}

/// Equal apart from `updated_at`; like [`same_task`], every other field is named.
pub fn same_app(a: &AppRecord, b: &AppRecord) -> bool {
    let AppRecord {
        app_id,
        version,
        ports,
        networking,
        labels,
        health_checks,
        updated_at: _,
    } = a;
    *app_id == b.app_id
        && *version == b.version
        && *ports == b.ports
        && *networking == b.networking
        && *labels == b.labels
        && *health_checks == b.health_checks
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use registry::{Health, NetworkMode, Protocol, TaskPort};

    use super::*;
    use crate::marathon::model;

    fn fixture(name: &str) -> serde_json::Value {
        let path = format!(
            "{}/../testdata/marathon/api/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("JSON")
    }

    fn apps(name: &str) -> Vec<model::App> {
        let list: model::AppList = serde_json::from_value(fixture(name)).unwrap();
        list.apps.unwrap()
    }

    #[test]
    fn marathon_1_5_bridge_with_container_port_mappings() {
        let app = &apps("real_v2_apps_embed_tasks_marathon1.5_marathon-lb.json")[0];
        let def = app_definition(app).unwrap();
        assert_eq!(def.record.networking, NetworkMode::Bridge);
        let task = &app.tasks.as_ref().unwrap()[0];
        let facts = facts_of(def.app_id(), task).unwrap();
        assert_eq!(facts.state, TaskState::Running);
        let rec = task_record(facts, Some(&def.record), vec![], observed_at(task));
        assert_eq!(
            rec.ports,
            vec![TaskPort {
                name: Some("test".into()),
                protocols: vec![Protocol::Tcp],
                container_port: Some(80),
                host_port: Some(1565),
                service_port: Some(10101),
            }]
        );
        assert_eq!(rec.task_ips, vec!["172.17.0.2".parse::<IpAddr>().unwrap()]);
        assert_eq!(rec.updated_at.as_str(), "2017-07-19T17:35:15.654Z");
        assert_eq!(rec.instance_id, None);
    }

    #[test]
    fn legacy_docker_bridge_mappings() {
        for app in apps("real_v2_apps_embed_tasks_legacy_docker_bridge_marathon-lb.json") {
            let def = app_definition(&app).unwrap();
            assert_eq!(def.record.networking, NetworkMode::Bridge, "{:?}", app.id);
            for task in app.tasks.as_deref().unwrap_or_default() {
                let facts = facts_of(def.app_id(), task).unwrap();
                let rec = task_record(facts, Some(&def.record), vec![], epoch());
                assert!(
                    rec.ports
                        .iter()
                        .all(|p| p.host_port.is_some() && p.container_port.is_some())
                );
            }
        }
    }

    #[test]
    fn healthchecks_fixture_gives_healthy_tasks() {
        let app = &apps("real_v2_apps_embed_tasks_healthchecks_marathon1.5_marathon-lb.json")[0];
        let def = app_definition(app).unwrap();
        assert!(def.record.health_checks);
        let task = &app.tasks.as_ref().unwrap()[0];
        assert_eq!(
            facts_of(def.app_id(), task).unwrap().health,
            Health::Healthy
        );
    }

    #[test]
    fn host_networking_with_port_definitions_and_legacy_ports() {
        let app: model::App = serde_json::from_str(
            r#"{"id":"/h","version":"2020-01-01T00:00:00.000Z",
                "portDefinitions":[{"port":10000,"name":"http","protocol":"tcp"},{"port":0,"protocol":"udp,tcp"}]}"#,
        )
        .unwrap();
        let def = app_definition(&app).unwrap();
        let ports = task_ports(Some(&def.record), &[31000, 31001, 31002]);
        assert_eq!(ports.len(), 3);
        assert_eq!(ports[0].name.as_deref(), Some("http"));
        assert_eq!(ports[0].service_port, Some(10000));
        assert_eq!(ports[1].protocols, vec![Protocol::Tcp, Protocol::Udp]);
        assert_eq!(ports[1].service_port, None);
        assert_eq!(ports[2].host_port, Some(31002));
        let old = apps("docs_v2_apps_list_v1.4.json");
        for app in &old {
            app_definition(app).unwrap();
        }
        let show: model::AppShow = serde_json::from_value(fixture(
            "real_v2_apps_show_marathon0.13_marathon-consul.json",
        ))
        .unwrap();
        let def = app_definition(show.app.as_ref().unwrap()).unwrap();
        assert_eq!(def.record.networking, NetworkMode::Host);
    }

    #[test]
    fn container_networking_ports_are_container_ports() {
        let v15: model::App = serde_json::from_str(
            r#"{"id":"/c","networks":[{"mode":"container","name":"dcos"}],
                "container":{"portMappings":[{"containerPort":8080,"name":"web"},{"containerPort":9000,"hostPort":0,"name":"adm"}]}}"#,
        )
        .unwrap();
        let def = app_definition(&v15).unwrap();
        assert_eq!(def.record.networking, NetworkMode::Container);
        let ports = task_ports(Some(&def.record), &[31005]);
        assert_eq!(ports[0].container_port, Some(8080));
        assert_eq!(ports[0].host_port, None);
        assert_eq!(ports[1].host_port, Some(31005));
        let v14: model::App = serde_json::from_str(
            r#"{"id":"/c","ipAddress":{"networkName":"n","discovery":{"ports":[{"number":80,"name":"http","protocol":"tcp"}]}}}"#,
        )
        .unwrap();
        let def = app_definition(&v14).unwrap();
        assert_eq!(def.record.networking, NetworkMode::Container);
        assert_eq!(
            task_ports(Some(&def.record), &[])[0].container_port,
            Some(80)
        );
    }

    #[test]
    fn definitions_describe_task_versions_since_the_last_config_change() {
        let app: model::App = serde_json::from_str(
            r#"{"id":"/v","version":"2020-01-03T00:00:00.000Z",
                "versionInfo":{"lastConfigChangeAt":"2020-01-02T00:00:00.000Z"}}"#,
        )
        .unwrap();
        let def = app_definition(&app).unwrap();
        assert!(def.describes(Some("2020-01-03T00:00:00.000Z")));
        assert!(def.describes(Some("2020-01-02T12:00:00.000Z")));
        assert!(!def.describes(Some("2020-01-01T00:00:00.000Z")));
        assert!(!def.describes(Some("2020-01-04T00:00:00.000Z")));
        assert!(def.describes(None));
    }

    #[test]
    fn bad_definitions_are_refused() {
        for body in [
            r#"{"id":"/Bad"}"#,
            r#"{}"#,
            r#"{"id":"/"}"#,
            r#"{"id":"/a","portDefinitions":[{"port":70000}]}"#,
        ] {
            let app: model::App = serde_json::from_str(body).unwrap();
            assert!(app_definition(&app).is_err(), "{body}");
        }
    }

    #[test]
    fn records_are_the_same_whatever_their_stamp_and_differ_in_any_other_field() {
        let def = app_definition(&apps("docs_v2_apps_list_v1.4.json")[0]).unwrap();
        let app = def.record;
        let mut later = app.clone();
        later.updated_at = Stamp::now();
        assert!(same_app(&app, &later));
        let mut other = app.clone();
        other.health_checks = !other.health_checks;
        assert!(!same_app(&app, &other));
        let mut other = app.clone();
        other.labels.insert("new".into(), "label".into());
        assert!(!same_app(&app, &other));

        let app_id = app.app_id.clone();
        let task = model::Task {
            id: Some("web.1".into()),
            host: Some("10.0.0.1".into()),
            state: Some("TASK_RUNNING".into()),
            ..model::Task::default()
        };
        let record = task_record(facts_of(&app_id, &task).unwrap(), None, vec![], epoch());
        let mut later = record.clone();
        later.updated_at = Stamp::now();
        assert!(same_task(&record, &later));
        let changes: [fn(&mut TaskRecord); 5] = [
            |t| t.health = Health::Unhealthy,
            |t| t.state = TaskState::Killing,
            |t| t.agent_ips.push("10.0.0.2".parse().unwrap()),
            |t| t.instance_id = Some("web.instance-1".into()),
            |t| t.app_version = Some("2026-01-01T00:00:00.000Z".into()),
        ];
        for change in changes {
            let mut other = record.clone();
            change(&mut other);
            assert!(!same_task(&record, &other), "{other:?}");
        }
    }
}
