//! Every Marathon fixture in `testdata/marathon` parses, or is cleanly ignored.
//!
//! Table-driven over the directory: a new fixture is picked up without touching this file,
//! and classified by what it is (an event, an SSE capture, a REST answer, text/plain).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use herald_subscriber::events::{self, Event, HANDLED_TYPES};
use herald_subscriber::marathon::model;
use herald_subscriber::marathon::sse::SseParser;
use herald_subscriber::records;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/marathon")
}

fn files(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(fixtures().join(dir))
        .unwrap_or_else(|e| panic!("fixtures/{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .collect();
    out.sort();
    out
}

/// What one event fixture decoded to.
fn check_event(name: &str, body: &[u8]) -> &'static str {
    let decoded = events::decode(body).unwrap_or_else(|e| panic!("{name}: {e}"));
    let value: serde_json::Value = serde_json::from_slice(body).unwrap();
    let event_type = value["eventType"].as_str().unwrap_or_default();
    if HANDLED_TYPES.contains(&event_type) {
        assert_ne!(
            decoded.event,
            Event::Ignored,
            "{name}: a handled type was ignored"
        );
        "handled"
    } else {
        assert_eq!(
            decoded.event,
            Event::Ignored,
            "{name}: {event_type} should be ignored"
        );
        assert_ne!(
            decoded.label, "unknown",
            "{name}: {event_type} is a known Marathon type"
        );
        "ignored"
    }
}

#[test]
fn every_event_fixture_decodes_or_is_ignored() {
    let mut handled = 0;
    for path in files("events") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let body = std::fs::read(&path).unwrap();
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => {
                if check_event(&name, &body) == "handled" {
                    handled += 1;
                }
            }
            Some("txt") => {
                // An SSE capture: split into chunks of every size to exercise framing.
                for chunk in [1, 7, 64, body.len().max(1)] {
                    let mut parser = SseParser::default();
                    let got: Vec<_> = body.chunks(chunk).flat_map(|c| parser.push(c)).collect();
                    assert!(!got.is_empty(), "{name}: no events");
                    for e in got {
                        let value: serde_json::Value = serde_json::from_slice(&e.data)
                            .unwrap_or_else(|err| panic!("{name}: data is not JSON: {err}"));
                        events::decode_value(value, e.event.as_deref())
                            .unwrap_or_else(|err| panic!("{name}: {err}"));
                    }
                }
            }
            _ => panic!("{name}: unexpected fixture type"),
        }
    }
    // status_update (4), the three health shapes (4), app_terminated, api_post (2).
    assert!(handled >= 10, "only {handled} handled fixtures");
}

#[test]
fn every_rest_fixture_parses_or_is_cleanly_refused() {
    for path in files("api") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let body = std::fs::read(&path).unwrap();
        if path.extension().and_then(|e| e.to_str()) == Some("txt") {
            // text/plain task lists: Herald never asks for them; they are not JSON.
            assert!(
                serde_json::from_slice::<model::AppList>(&body).is_err(),
                "{name}"
            );
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        let obj = value
            .as_object()
            .unwrap_or_else(|| panic!("{name}: not an object"));
        if let Some(apps) = obj.get("apps") {
            let list: model::AppList =
                serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            let apps_n = apps.as_array().map_or(0, Vec::len);
            for app in list.apps.unwrap() {
                check_app(&name, &app);
            }
            assert!(apps_n > 0, "{name}");
        } else if obj.contains_key("app") {
            let show: model::AppShow =
                serde_json::from_value(value).unwrap_or_else(|e| panic!("{name}: {e}"));
            check_app(&name, show.app.as_ref().unwrap());
        } else if let Some(tasks) = obj.get("tasks").or(obj.get("task")) {
            let tasks: Vec<model::Task> = match tasks {
                serde_json::Value::Array(_) => serde_json::from_value(tasks.clone()),
                _ => serde_json::from_value(serde_json::Value::Array(vec![tasks.clone()])),
            }
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            for task in &tasks {
                let app_id = task
                    .app_id
                    .as_deref()
                    .and_then(|a| registry::AppId::parse(a).ok())
                    .unwrap_or_else(|| "/fixture".parse().unwrap());
                let facts = records::facts_of(&app_id, task)
                    .unwrap_or_else(|| panic!("{name}: task without a usable id"));
                records::task_record(facts, None, vec![], records::observed_at(task));
            }
        } else if obj.contains_key("message") {
            // An error answer: never mistaken for "no apps".
            let list: model::AppList = serde_json::from_value(value).unwrap();
            assert!(list.apps.is_none(), "{name}");
        } else if obj.contains_key("id") && obj.contains_key("instances") {
            // A bare app definition.
            let app: model::App = serde_json::from_value(value).unwrap();
            check_app(&name, &app);
        } else {
            // /v2/info, /v2/eventSubscriptions answers: nothing Herald reads beyond status.
            let known = ["callbackUrl", "callbackUrls", "frameworkId", "name"];
            assert!(
                known.iter().any(|k| obj.contains_key(*k)),
                "{name}: an unclassified fixture"
            );
        }
    }
}

fn check_app(name: &str, app: &model::App) {
    let def = records::app_definition(app).unwrap_or_else(|e| panic!("{name}: {e}"));
    for task in app.tasks.iter().flatten() {
        let facts = records::facts_of(def.app_id(), task)
            .unwrap_or_else(|| panic!("{name}: task without a usable id"));
        let record =
            records::task_record(facts, Some(&def.record), vec![], records::observed_at(task));
        assert_eq!(&record.app_id, def.app_id());
    }
}
