//! The subscriber status record against a real etcd: written, read, watched, and never
//! seen by the record watches.

use crate::common;

use std::time::Duration;

use common::{app, stamp};
use herald_registry::harness::EtcdServer;
use herald_registry::{
    Scope, SourceState, SourceStatus, StatusEvent, SubscriberStatus, WatchEvent, WatchOptions,
    Write, WriteOp,
};

fn status(queue_depth: u64) -> SubscriberStatus {
    SubscriberStatus {
        leader_id: Some("subscriber-1".into()),
        sources: vec![SourceStatus {
            source: "marathon".into(),
            state: SourceState::Connected,
            detail: None,
        }],
        last_event_at: Some(stamp(1)),
        queue_depth,
        updated_at: stamp(2),
    }
}

async fn next_status(watch: &mut herald_registry::Watch<StatusEvent>) -> StatusEvent {
    tokio::time::timeout(Duration::from_secs(20), watch.next())
        .await
        .expect("no status event within 20 s")
        .expect("watch ended")
}

#[tokio::test]
async fn is_written_read_and_watched_outside_the_record_trees() {
    let etcd = EtcdServer::start().await.unwrap();
    let reg = etcd.registry().await.unwrap();
    assert_eq!(reg.get_subscriber_status().await.unwrap(), None);

    let mut watch = reg.watch_subscriber_status(WatchOptions::default());
    let first = next_status(&mut watch).await;
    assert!(
        matches!(first, StatusEvent::Current { status: None, .. }),
        "{first:?}"
    );
    let mut records = reg.watch(Scope::All, WatchOptions::default());
    assert!(matches!(
        records.next().await,
        Some(WatchEvent::Resynced(_))
    ));

    reg.put_subscriber_status(&status(7)).await.unwrap();
    assert_eq!(reg.get_subscriber_status().await.unwrap(), Some(status(7)));
    loop {
        match next_status(&mut watch).await {
            StatusEvent::Current {
                status: Some(s),
                revision,
            } => {
                assert_eq!(s, status(7));
                assert!(revision > 0);
                break;
            }
            StatusEvent::Live { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    // The record watch sees the next record write, not the status record before it.
    let write = WriteOp::newer(Write::PutApp(app("/after", 1)));
    reg.apply(vec![write]).await.unwrap();
    loop {
        match records.next().await {
            Some(WatchEvent::Changes { changes, .. }) => {
                assert_eq!(changes.len(), 1, "{changes:?}");
                break;
            }
            Some(WatchEvent::Live { .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    // A key that merely starts with the status key's text is not the record.
    let key = format!("{}-other", reg.layout().subscriber_status_key());
    reg.client().put(key, "x", None).await.unwrap();
    reg.put_subscriber_status(&status(9)).await.unwrap();
    loop {
        match next_status(&mut watch).await {
            StatusEvent::Current { status, .. } => {
                assert_eq!(status, Some(self::status(9)));
                break;
            }
            StatusEvent::Live { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}
