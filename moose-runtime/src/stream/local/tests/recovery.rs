use std::fs::OpenOptions;
use std::time::Duration;

use super::*;
use crate::stream::StreamError;

/// Writes ten records (offsets 0..10) to a one-partition topic, then drops the log without
/// any shutdown, as a `kill -9` would.
async fn ten_records(dir: &std::path::Path) {
    let log = open_with_topic(dir, &spec("events", 1, KEEP)).await;
    for i in 0..10 {
        log.produce("events", &[record("k", &format!("{{\"n\":{i}}}"))])
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn acknowledged_records_survive_a_drop_without_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    ten_records(dir.path()).await;
    let log = LocalLog::open(dir.path()).unwrap();
    let all = read_exactly(consumer(&log, "events", "g").await.as_mut(), 10).await;
    assert_eq!(
        all.iter().map(|r| r.offset).collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
}

async fn assert_tail_cut_off_and_appends_continue(dir: &std::path::Path) {
    let log = LocalLog::open(dir).unwrap();
    let mut c = consumer(&log, "events", "g").await;
    let before = read_exactly(c.as_mut(), 9).await;
    assert_eq!(&before.last().unwrap().payload[..], b"{\"n\":8}");
    log.produce("events", &[record("k", "{\"n\":\"new\"}")])
        .await
        .unwrap();
    let after = read_exactly(c.as_mut(), 1).await;
    assert_eq!(
        (after[0].offset, after[0].payload.as_ref()),
        (9, &b"{\"n\":\"new\"}"[..])
    );
    drop((c, log));
    // The repaired segment reads back cleanly after another restart.
    let log = LocalLog::open(dir).unwrap();
    assert_eq!(
        read_exactly(consumer(&log, "events", "g2").await.as_mut(), 10)
            .await
            .len(),
        10
    );
}

#[tokio::test]
async fn a_torn_tail_is_cut_off_and_never_served() {
    let dir = tempfile::tempdir().unwrap();
    ten_records(dir.path()).await;
    let segment = segment_files(dir.path(), "events", 0).pop().unwrap();
    let file = OpenOptions::new().write(true).open(&segment).unwrap();
    let len = file.metadata().unwrap().len();
    file.set_len(len - 5).unwrap();
    drop(file);
    assert_tail_cut_off_and_appends_continue(dir.path()).await;
}

#[tokio::test]
async fn a_damaged_last_record_is_cut_off_and_never_served() {
    let dir = tempfile::tempdir().unwrap();
    ten_records(dir.path()).await;
    let segment = segment_files(dir.path(), "events", 0).pop().unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x20;
    std::fs::write(&segment, &bytes).unwrap();
    assert_tail_cut_off_and_appends_continue(dir.path()).await;
}

#[tokio::test]
async fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = LocalLog::open(dir.path()).unwrap();
    let err = LocalLog::open(dir.path()).unwrap_err();
    let StreamError::Locked(message) = &err else {
        panic!("expected Locked, got {err:?}")
    };
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
    assert!(message.contains("another moose process"), "{message}");
    assert!(
        message.contains(&format!("process {}", std::process::id())),
        "{message}"
    );
    assert!(message.contains("MOOSE_DATA_DIR"), "{message}");
    drop(log);
    LocalLog::open(dir.path()).expect("the lock is released when the log is dropped");
}

#[tokio::test]
async fn a_consumer_keeps_the_directory_locked() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_with_topic(dir.path(), &spec("events", 1, KEEP)).await;
    let mut c = consumer(&log, "events", "g").await;
    drop(log);
    assert!(LocalLog::open(dir.path()).is_err());
    assert!(
        c.poll(1, Duration::from_millis(1))
            .await
            .unwrap()
            .is_empty()
    );
    drop(c);
    LocalLog::open(dir.path()).unwrap();
}
