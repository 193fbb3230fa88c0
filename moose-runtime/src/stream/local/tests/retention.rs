use std::time::Duration;

use super::*;

/// Short enough to pass within a test.
const SHORT: Duration = Duration::from_millis(100);

#[tokio::test]
async fn segments_roll_at_their_size_and_read_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = LocalLog::open_with(
        dir.path(),
        LocalLogConfig {
            segment_bytes: 200,
            ..Default::default()
        },
    )
    .unwrap();
    log.ensure_topic(&spec("events", 1, KEEP)).await.unwrap();
    for i in 0..50 {
        log.produce("events", &[record("k", &format!("{{\"i\":{i}}}"))])
            .await
            .unwrap();
    }
    assert!(segment_files(dir.path(), "events", 0).len() >= 10);
    let all = read_exactly(consumer(&log, "events", "g").await.as_mut(), 50).await;
    assert_eq!(
        all.iter().map(|r| r.offset).collect::<Vec<_>>(),
        (0..50).collect::<Vec<_>>()
    );
    drop(log);
    // Sealed segments found on open are indexed when first read.
    let log = LocalLog::open_with(
        dir.path(),
        LocalLogConfig {
            segment_bytes: 200,
            ..Default::default()
        },
    )
    .unwrap();
    let all = read_exactly(consumer(&log, "events", "g").await.as_mut(), 50).await;
    assert_eq!(&all[49].payload[..], b"{\"i\":49}");
}

#[tokio::test]
async fn expired_segments_are_deleted_and_consumers_skip_to_the_oldest_record_left() {
    let dir = tempfile::tempdir().unwrap();
    let log = LocalLog::open_with(dir.path(), small_segments()).unwrap();
    log.ensure_topic(&spec("events", 1, SHORT)).await.unwrap();
    let mut c = consumer(&log, "events", "g").await;
    for i in 0..3 {
        log.produce("events", &[record("k", &format!("old{i}"))])
            .await
            .unwrap();
    }
    assert_eq!(
        c.poll(1, Duration::from_secs(5)).await.unwrap()[0].offset,
        0
    );
    tokio::time::sleep(SHORT * 2).await;
    log.produce("events", &[record("k", "new")]).await.unwrap();

    let files = segment_files(dir.path(), "events", 0);
    assert_eq!(
        files.len(),
        1,
        "only the segment of the new record is left: {files:?}"
    );
    let rest = read_exactly(c.as_mut(), 1).await;
    assert_eq!(
        (rest[0].offset, rest[0].payload.as_ref()),
        (3, &b"new"[..]),
        "offsets continue"
    );
    let fresh = read_exactly(consumer(&log, "events", "fresh").await.as_mut(), 1).await;
    assert_eq!(fresh[0].offset, 3);
}

#[tokio::test]
async fn an_idle_topic_is_emptied_by_enforce_retention_and_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = LocalLog::open(dir.path()).unwrap();
        log.ensure_topic(&spec("idle", 1, SHORT)).await.unwrap();
        log.ensure_topic(&spec("kept", 1, KEEP)).await.unwrap();
        for topic in ["idle", "kept"] {
            log.produce(topic, &[record("k", "a"), record("k", "b")])
                .await
                .unwrap();
        }
        tokio::time::sleep(SHORT * 2).await;
        assert_eq!(log.enforce_retention().unwrap(), 1);
        assert!(log.latest("idle", 10).await.unwrap().is_empty());
        log.produce("idle", &[record("k", "c")]).await.unwrap();
    }
    tokio::time::sleep(SHORT * 2).await;
    let log = LocalLog::open(dir.path()).unwrap();
    assert!(
        log.latest("idle", 10).await.unwrap().is_empty(),
        "expired on open"
    );
    assert_eq!(payloads(&log.latest("kept", 10).await.unwrap()), ["a", "b"]);
    log.produce("idle", &[record("k", "d")]).await.unwrap();
    assert_eq!(log.latest("idle", 1).await.unwrap()[0].offset, 3);
}
