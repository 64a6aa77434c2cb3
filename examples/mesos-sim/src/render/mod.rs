//! What the masters answer, one shape per module: `calls` (the v1 operator API's plain
//! answers: `GET_STATE`, `GET_AGENTS`, `GET_MASTER`, ...) and `state` (the v0 `/master/state`
//! that Mesos-DNS polls).

pub(crate) mod calls;
pub(crate) mod state;
