//! Write and fsync failures, injected (a full disk cannot be made on demand in a test).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::*;
use crate::stream::StreamError;

/// Bytes of a record with a 1-byte key and a 1-byte payload.
const SMALL_RECORD_BYTES: u64 = 16 + 12 + 2;

fn segment_len(dir: &Path) -> u64 {
    let segment = segment_files(dir, "events", 0).pop().unwrap();
    std::fs::metadata(segment).unwrap().len()
}

fn partition0(log: &LocalLog) -> Arc<crate::stream::local::partition::Partition> {
    log.inner.topic("events").unwrap().partitions[0].clone()
}

async fn assert_log_holds(dir: &Path, config: LocalLogConfig, expected: &[&str]) {
    let log = LocalLog::open_with(dir, config).unwrap();
    let all = read_exactly(
        consumer(&log, "events", "check").await.as_mut(),
        expected.len(),
    )
    .await;
    assert_eq!(payloads(&all), expected);
    let offsets: Vec<u64> = all.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, (0..expected.len() as u64).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_write_that_fills_the_disk_is_cut_off_and_later_writes_work() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open_with_topic(dir.path(), &spec("events", 1, KEEP)).await;
        log.produce("events", &[record("k", "a")]).await.unwrap();
        partition0(&log)
            .faults
            .fail_next_write
            .store(true, Ordering::Relaxed);
        let batch = [record("k", "b"), record("k", "c"), record("k", "e")];
        let err = log.produce("events", &batch).await.unwrap_err();
        assert!(
            matches!(err, StreamError::Unavailable(ref m) if m.contains("disk is full")),
            "{err}"
        );
        assert!(err.is_retryable());
        assert_eq!(
            segment_len(dir.path()),
            SMALL_RECORD_BYTES,
            "the partial batch is cut off"
        );
        assert!(
            log.healthy().await,
            "the disk has room again, so the probe succeeds"
        );
        log.produce("events", &[record("k", "d")]).await.unwrap();
        let mut c = consumer(&log, "events", "g").await;
        assert_eq!(payloads(&read_exactly(c.as_mut(), 2).await), ["a", "d"]);
    }
    assert_log_holds(dir.path(), LocalLogConfig::default(), &["a", "d"]).await;
}

#[tokio::test]
async fn a_failed_fsync_discards_the_unsynced_records_and_later_writes_work() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open_with_topic(dir.path(), &spec("events", 1, KEEP)).await;
        log.produce("events", &[record("k", "a")]).await.unwrap();
        partition0(&log)
            .faults
            .fail_next_sync
            .store(true, Ordering::Relaxed);
        let err = log
            .produce("events", &[record("k", "b")])
            .await
            .unwrap_err();
        assert!(matches!(err, StreamError::Io { .. }), "{err}");
        assert_eq!(
            segment_len(dir.path()),
            SMALL_RECORD_BYTES,
            "the unsynced record is cut off"
        );
        log.produce("events", &[record("k", "c")]).await.unwrap();
        let mut c = consumer(&log, "events", "g").await;
        assert_eq!(payloads(&read_exactly(c.as_mut(), 2).await), ["a", "c"]);
    }
    assert_log_holds(dir.path(), LocalLogConfig::default(), &["a", "c"]).await;
}

#[tokio::test]
async fn a_failed_fsync_while_rolling_a_segment_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = LocalLog::open_with(dir.path(), small_segments()).unwrap();
        log.ensure_topic(&spec("events", 1, KEEP)).await.unwrap();
        log.produce("events", &[record("k", "a")]).await.unwrap();
        partition0(&log)
            .faults
            .fail_next_sync
            .store(true, Ordering::Relaxed);
        assert!(log.produce("events", &[record("k", "b")]).await.is_err());
        log.produce("events", &[record("k", "c")]).await.unwrap();
        assert_eq!(segment_files(dir.path(), "events", 0).len(), 2);
    }
    assert_log_holds(dir.path(), small_segments(), &["a", "c"]).await;
}
