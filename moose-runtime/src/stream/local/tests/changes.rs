//! Changing and deleting topics: what lifecycle management does to the embedded log.

use std::time::Duration;

use super::*;
use crate::stream::TopicChange;

#[tokio::test]
async fn a_shorter_retention_is_persisted_and_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let log = LocalLog::open_with(dir.path(), small_segments()).unwrap();
    log.ensure_topic(&spec("events", 1, KEEP)).await.unwrap();
    for i in 0..3 {
        log.produce("events", &[record("k", &i.to_string())])
            .await
            .unwrap();
    }
    let short = Duration::from_millis(50);
    let change = TopicChange {
        retention: Some(short),
        partitions: None,
    };
    log.alter_topic("events", &change).await.unwrap();
    assert_eq!(
        log.describe_topic("events").await.unwrap(),
        Some(spec("events", 1, short))
    );
    tokio::time::sleep(short * 3).await;
    assert!(log.enforce_retention().unwrap() > 0);
    assert!(log.latest("events", 10).await.unwrap().is_empty());
    drop(log);
    let log = LocalLog::open(dir.path()).unwrap();
    assert_eq!(
        log.describe_topic("events").await.unwrap(),
        Some(spec("events", 1, short)),
        "the new retention survives a restart"
    );
}

#[tokio::test]
async fn more_partitions_keep_every_record_and_take_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_with_topic(dir.path(), &spec("events", 1, KEEP)).await;
    let old: Vec<_> = (0..10)
        .map(|i| record(&format!("k{i}"), &format!("old{i}")))
        .collect();
    log.produce("events", &old).await.unwrap();
    let mut c = consumer(&log, "events", "g").await;
    let first = read_exactly(c.as_mut(), 10).await;
    c.ack(&[(0, 10)]).unwrap();
    c.commit_acked().await.unwrap();
    drop(c);
    assert_eq!(first.len(), 10);

    let change = TopicChange {
        retention: None,
        partitions: Some(4),
    };
    log.alter_topic("events", &change).await.unwrap();
    assert_eq!(
        log.describe_topic("events").await.unwrap(),
        Some(spec("events", 4, KEEP))
    );
    let new: Vec<_> = (0..40)
        .map(|i| record(&format!("k{i}"), &format!("new{i}")))
        .collect();
    log.produce("events", &new).await.unwrap();
    let mut c = consumer(&log, "events", "g").await;
    let rest = read_exactly(c.as_mut(), 40).await;
    let used: std::collections::BTreeSet<u32> = rest.iter().map(|r| r.partition).collect();
    assert_eq!(used.len(), 4, "new records spread over all 4 partitions");
    drop(c);
    drop(log);

    let log = LocalLog::open(dir.path()).unwrap();
    assert_eq!(
        log.describe_topic("events")
            .await
            .unwrap()
            .unwrap()
            .partitions,
        4
    );
    let mut fresh = consumer(&log, "events", "fresh").await;
    assert_eq!(
        read_exactly(fresh.as_mut(), 50).await.len(),
        50,
        "nothing lost"
    );
}

#[tokio::test]
async fn fewer_partitions_are_refused_and_the_topic_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_with_topic(dir.path(), &spec("events", 4, KEEP)).await;
    let change = TopicChange {
        retention: None,
        partitions: Some(2),
    };
    let error = log.alter_topic("events", &change).await.unwrap_err();
    assert!(error.to_string().contains("cannot shrink to 2"), "{error}");
    assert_eq!(
        log.describe_topic("events").await.unwrap(),
        Some(spec("events", 4, KEEP))
    );
}

#[tokio::test]
async fn a_deleted_topic_comes_back_empty_with_its_groups_starting_over() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_with_topic(dir.path(), &spec("events", 1, KEEP)).await;
    let old: Vec<_> = (0..5).map(|i| record("k", &format!("old{i}"))).collect();
    log.produce("events", &old).await.unwrap();
    let mut c = consumer(&log, "events", "sync").await;
    read_exactly(c.as_mut(), 5).await;
    c.ack(&[(0, 5)]).unwrap();
    c.commit_acked().await.unwrap();
    drop(c);

    log.delete_topic("events").await.unwrap();
    assert_eq!(log.describe_topic("events").await.unwrap(), None);
    assert!(!dir.path().join("topics").join("events").exists());
    log.delete_topic("events").await.unwrap();

    log.ensure_topic(&spec("events", 1, KEEP)).await.unwrap();
    assert!(log.latest("events", 10).await.unwrap().is_empty());
    log.produce("events", &[record("k", "new")]).await.unwrap();
    let mut c = consumer(&log, "events", "sync").await;
    let got = read_exactly(c.as_mut(), 1).await;
    assert_eq!(
        (payloads(&got), got[0].offset),
        (vec!["new".to_owned()], 0),
        "the group's old offset (5) is gone, so the new record is not skipped"
    );
    drop(c);
    drop(log);
    let log = LocalLog::open(dir.path()).unwrap();
    let mut c = consumer(&log, "events", "sync").await;
    assert_eq!(payloads(&read_exactly(c.as_mut(), 1).await), ["new"]);
}

#[tokio::test]
async fn a_deletion_cut_short_never_brings_records_back() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open_with_topic(dir.path(), &spec("events", 1, KEEP)).await;
        log.produce("events", &[record("k", "old")]).await.unwrap();
    }
    // A crash after `topic.json` was removed, before the data was.
    std::fs::remove_file(dir.path().join("topics/events/topic.json")).unwrap();
    let log = LocalLog::open(dir.path()).unwrap();
    assert_eq!(log.describe_topic("events").await.unwrap(), None);
    log.ensure_topic(&spec("events", 1, KEEP)).await.unwrap();
    assert!(log.latest("events", 10).await.unwrap().is_empty());
}
