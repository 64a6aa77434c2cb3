//! The v1 operator API's plain answers (`{"type":"X","x":{..}}`), built from the same
//! snapshot as the `SUBSCRIBED` event.

use serde::Serialize;

use crate::masters::{Leadership, Master, MasterInfo};
use crate::model::Cluster;
use crate::proto::mesos_json;

/// The calls answered with one JSON body.
pub(crate) const PLAIN_CALLS: [&str; 8] = [
    "GET_STATE",
    "GET_AGENTS",
    "GET_FRAMEWORKS",
    "GET_TASKS",
    "GET_EXECUTORS",
    "GET_MASTER",
    "GET_HEALTH",
    "GET_VERSION",
];

/// `{"type":"<kind>","<kind lowercase>":<payload>}`.
fn answer<T: Serialize>(kind: &str, payload: &T) -> String {
    format!(
        "{{\"type\":\"{kind}\",\"{}\":{}}}",
        kind.to_ascii_lowercase(),
        mesos_json(payload)
    )
}

/// The answer to plain call `kind` (one of [`PLAIN_CALLS`]); `None` for any other call.
pub(crate) fn plain_call(
    kind: &str,
    cluster: &Cluster,
    master: &Master,
    leadership: Leadership,
) -> Option<String> {
    let state = || cluster.snapshot();
    Some(match kind {
        "GET_STATE" => answer(kind, &state()),
        "GET_AGENTS" => answer(kind, &state().get_agents),
        "GET_FRAMEWORKS" => answer(kind, &state().get_frameworks),
        "GET_TASKS" => answer(kind, &state().get_tasks),
        "GET_EXECUTORS" => answer(kind, &state().get_executors),
        "GET_MASTER" => {
            #[derive(Serialize)]
            struct GetMaster {
                master_info: MasterInfo,
                start_time: f64,
                elected_time: f64,
            }
            answer(
                kind,
                &GetMaster {
                    master_info: master.info(),
                    start_time: master.start_time,
                    elected_time: leadership.elected_time,
                },
            )
        }
        "GET_HEALTH" => answer(kind, &serde_json::json!({ "healthy": true })),
        "GET_VERSION" => {
            #[derive(Serialize)]
            struct VersionInfo<'a> {
                version: &'a str,
                build_date: &'a str,
                build_time: f64,
                build_user: &'a str,
            }
            #[derive(Serialize)]
            struct GetVersion<'a> {
                version_info: VersionInfo<'a>,
            }
            answer(
                kind,
                &GetVersion {
                    version_info: VersionInfo {
                        version: &master.version,
                        build_date: "2020-11-24 09:30:00",
                        build_time: 1606210200.0,
                        build_user: "mesos-sim",
                    },
                },
            )
        }
        _ => return None,
    })
}
