//! What lifecycle management needs from every stream backend's topics, as one check that
//! each backend's tests call with a fresh backend: `tests/lifecycle.rs` for the embedded log,
//! the Kafka suite for Kafka.

use std::time::{Duration, Instant};

use moose_runtime::stream::{EncodedRecord, MemberId, Streams, TopicChange, TopicSpec};

/// Long enough never to expire during a test.
const KEEP: Duration = Duration::from_secs(3600);

fn records(prefix: &str, n: usize) -> Vec<EncodedRecord> {
    (0..n)
        .map(|i| EncodedRecord {
            key: format!("k{i}").into_bytes(),
            payload: format!("{{\"id\":\"{prefix}{i}\"}}").into_bytes(),
        })
        .collect()
}

/// `describe_topic` until `done` holds (brokers apply some changes asynchronously).
async fn described(
    backend: &dyn Streams,
    topic: &str,
    done: impl Fn(&Option<TopicSpec>) -> bool,
) -> Option<TopicSpec> {
    let start = Instant::now();
    loop {
        let spec = backend.describe_topic(topic).await.unwrap();
        if done(&spec) || start.elapsed() > Duration::from_secs(30) {
            return spec;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads a topic from the beginning in a new group: every payload, in no particular order.
async fn read_all(backend: &dyn Streams, topic: &str, group: &str, n: usize) -> Vec<String> {
    let mut consumer = backend
        .consumer(topic, group, MemberId::SOLE)
        .await
        .unwrap();
    let mut out = Vec::new();
    let start = Instant::now();
    while out.len() < n && start.elapsed() < Duration::from_secs(30) {
        for record in consumer.poll(n, Duration::from_millis(500)).await.unwrap() {
            out.push(String::from_utf8(record.payload.to_vec()).unwrap());
        }
    }
    out.sort();
    out
}

/// Retention changes, more partitions, refused fewer partitions, and deletion, on topics
/// whose names start with `prefix`.
pub async fn check_topic_changes(backend: &dyn Streams, prefix: &str) {
    let topic = format!("{prefix}changes");
    let spec = TopicSpec {
        name: topic.clone(),
        partitions: 1,
        retention: KEEP,
    };
    backend.ensure_topic(&spec).await.unwrap();
    backend.produce(&topic, &records("old", 10)).await.unwrap();

    let retention = Duration::from_secs(2 * 3600);
    let change = TopicChange {
        retention: Some(retention),
        partitions: None,
    };
    backend.alter_topic(&topic, &change).await.unwrap();
    let got = described(backend, &topic, |s| {
        s.as_ref().is_some_and(|s| s.retention == retention)
    })
    .await;
    assert_eq!(
        got.map(|s| (s.partitions, s.retention)),
        Some((1, retention))
    );

    let change = TopicChange {
        retention: None,
        partitions: Some(3),
    };
    backend.alter_topic(&topic, &change).await.unwrap();
    let partitions = 3;
    let got = described(backend, &topic, |s| {
        s.as_ref().is_some_and(|s| s.partitions == partitions)
    })
    .await;
    assert_eq!(
        got.map(|s| (s.partitions, s.retention)),
        Some((partitions, retention))
    );
    backend.produce(&topic, &records("new", 30)).await.unwrap();
    assert_eq!(
        read_all(backend, &topic, "check.grown", 40).await.len(),
        40,
        "the topic keeps every record and takes new ones"
    );

    {
        let change = TopicChange {
            retention: None,
            partitions: Some(partitions - 1),
        };
        let refused = backend.alter_topic(&topic, &change).await;
        assert!(refused.is_err(), "fewer partitions must be refused");
        assert_eq!(
            backend
                .describe_topic(&topic)
                .await
                .unwrap()
                .unwrap()
                .partitions,
            partitions
        );
    }

    // Deletion: the topic goes, and a topic created again under its name starts empty with
    // its groups reading from the beginning.
    let mut consumer = backend
        .consumer(&topic, "check.deleted", MemberId::SOLE)
        .await
        .unwrap();
    let mut seen = 0;
    let start = Instant::now();
    while seen < 40 && start.elapsed() < Duration::from_secs(30) {
        let batch = consumer.poll(40, Duration::from_millis(500)).await.unwrap();
        seen += batch.len();
        let mut ends: Vec<(u32, u64)> = Vec::new();
        for r in &batch {
            match ends.iter_mut().find(|(p, _)| *p == r.partition) {
                Some(end) => end.1 = end.1.max(r.offset + 1),
                None => ends.push((r.partition, r.offset + 1)),
            }
        }
        consumer.ack(&ends).unwrap();
        consumer.commit_acked().await.unwrap();
    }
    drop(consumer);
    backend.delete_topic(&topic).await.unwrap();
    assert_eq!(described(backend, &topic, |s| s.is_none()).await, None);
    backend.delete_topic(&topic).await.unwrap();
    backend.ensure_topic(&spec).await.unwrap();
    backend.produce(&topic, &records("again", 1)).await.unwrap();
    assert_eq!(
        read_all(backend, &topic, "check.deleted", 1).await,
        ["{\"id\":\"again0\"}"],
        "the re-created topic holds only the new record, and the old group offsets are gone"
    );
}
