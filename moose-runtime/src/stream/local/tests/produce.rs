use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::stream::StreamError;

#[tokio::test]
async fn offsets_are_dense_and_each_key_stays_in_order_in_one_partition() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_with_topic(dir.path(), &spec("events", 3, KEEP)).await;
    for batch in 0..10 {
        let records: Vec<_> = (0..30)
            .map(|i| record(&format!("k{}", i % 10), &format!("{}", batch * 3 + i / 10)))
            .collect();
        log.produce("events", &records).await.unwrap();
    }
    let mut c = consumer(&log, "events", "g").await;
    let all = read_exactly(c.as_mut(), 300).await;

    let mut next_offset = HashMap::new();
    let mut key_partition = HashMap::new();
    let mut key_seq: HashMap<Vec<u8>, Vec<u64>> = HashMap::new();
    for r in &all {
        let expected = next_offset.entry(r.partition).or_insert(0);
        assert_eq!(
            r.offset, *expected,
            "offsets of partition {} are dense",
            r.partition
        );
        *expected += 1;
        assert_eq!(
            *key_partition.entry(r.key.clone()).or_insert(r.partition),
            r.partition
        );
        key_seq.entry(r.key.to_vec()).or_default().push(
            String::from_utf8(r.payload.to_vec())
                .unwrap()
                .parse()
                .unwrap(),
        );
    }
    assert_eq!(key_seq.len(), 10);
    for seq in key_seq.values() {
        assert_eq!(
            *seq,
            (0..30).collect::<Vec<u64>>(),
            "one key's records arrive in produce order"
        );
    }
}

#[tokio::test]
async fn records_without_a_key_are_spread_over_all_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_with_topic(dir.path(), &spec("events", 3, KEEP)).await;
    let records: Vec<_> = (0..30).map(|i| record("", &i.to_string())).collect();
    log.produce("events", &records).await.unwrap();
    let all = read_exactly(consumer(&log, "events", "g").await.as_mut(), 30).await;
    for p in 0..3 {
        assert_eq!(all.iter().filter(|r| r.partition == p).count(), 10);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_producers_all_get_durable_writes_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(open_with_topic(dir.path(), &spec("events", 2, KEEP)).await);
    let tasks: Vec<_> = (0..16)
        .map(|task| {
            let log = log.clone();
            tokio::spawn(async move {
                for call in 0..25 {
                    let records: Vec<_> = (0..8)
                        .map(|i| record(&format!("t{task}"), &format!("{}", call * 8 + i)))
                        .collect();
                    log.produce("events", &records).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let all = read_exactly(consumer(&log, "events", "g").await.as_mut(), 16 * 25 * 8).await;
    let mut by_key: HashMap<Vec<u8>, Vec<u64>> = HashMap::new();
    for r in &all {
        by_key.entry(r.key.to_vec()).or_default().push(
            String::from_utf8(r.payload.to_vec())
                .unwrap()
                .parse()
                .unwrap(),
        );
    }
    assert_eq!(by_key.len(), 16);
    for seq in by_key.values() {
        assert_eq!(*seq, (0..200).collect::<Vec<u64>>());
    }
}

#[tokio::test]
async fn poll_waits_for_an_append_and_wakes_up_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_with_topic(dir.path(), &spec("events", 2, KEEP)).await;
    let mut c = consumer(&log, "events", "g").await;
    assert!(
        c.poll(10, Duration::from_millis(30))
            .await
            .unwrap()
            .is_empty(),
        "nothing to read yet"
    );

    let waiting = tokio::spawn(async move {
        let started = Instant::now();
        let records = c.poll(10, Duration::from_secs(30)).await.unwrap();
        (records, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    log.produce("events", &[record("k", "late")]).await.unwrap();
    let (records, waited) = waiting.await.unwrap();
    assert_eq!(payloads(&records), ["late"]);
    assert!(
        waited < Duration::from_secs(30),
        "woken by the append, not by the timeout"
    );
}

#[tokio::test]
async fn latest_returns_the_newest_records_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_with_topic(dir.path(), &spec("events", 2, KEEP)).await;
    for i in 0..5 {
        log.produce("events", &[record(&format!("k{i}"), &i.to_string())])
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(
        payloads(&log.latest("events", 3).await.unwrap()),
        ["2", "3", "4"]
    );
    assert_eq!(log.latest("events", 10).await.unwrap().len(), 5);
}

#[tokio::test]
async fn topics_are_described_from_their_metadata_and_unknown_topics_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let topic = spec("events", 4, Duration::from_secs(7 * 24 * 3600));
    {
        let log = open_with_topic(dir.path(), &topic).await;
        // An existing topic is left as it is.
        log.ensure_topic(&spec("events", 1, KEEP)).await.unwrap();
        assert!(log.healthy().await);
    }
    let log = LocalLog::open(dir.path()).unwrap();
    assert_eq!(log.describe_topic("events").await.unwrap(), Some(topic));
    assert_eq!(log.describe_topic("missing").await.unwrap(), None);
    let err = log
        .produce("missing", &[record("k", "{}")])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StreamError::UnknownTopic(ref t) if t == "missing"),
        "{err}"
    );
    assert!(log.consumer("missing", "g", MemberId::SOLE).await.is_err());
}
