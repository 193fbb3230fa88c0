//! Tests of the embedded log through the `StreamBackend` / `StreamConsumer` traits.

mod changes;
mod faults;
mod groups;
mod produce;
mod recovery;
mod retention;

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{LocalLog, LocalLogConfig};
use crate::stream::{
    ConsumedRecord, EncodedRecord, MemberId, StreamBackend, StreamConsumer, TopicAdmin, TopicSpec,
};

/// Long enough never to expire during a test.
const KEEP: Duration = Duration::from_secs(3600);

fn spec(name: &str, partitions: u32, retention: Duration) -> TopicSpec {
    TopicSpec {
        name: name.to_owned(),
        partitions,
        retention,
    }
}

fn record(key: &str, payload: &str) -> EncodedRecord {
    EncodedRecord {
        key: key.as_bytes().to_vec(),
        payload: payload.as_bytes().to_vec(),
    }
}

fn small_segments() -> LocalLogConfig {
    LocalLogConfig {
        segment_bytes: 1,
        ..Default::default()
    }
}

async fn open_with_topic(dir: &Path, topic: &TopicSpec) -> LocalLog {
    let log = LocalLog::open(dir).unwrap();
    log.ensure_topic(topic).await.unwrap();
    log
}

async fn consumer(log: &LocalLog, topic: &str, group: &str) -> Box<dyn StreamConsumer> {
    log.consumer(topic, group, MemberId::SOLE).await.unwrap()
}

/// Polls until `n` records arrived (failing after a generous timeout) and checks that no
/// more follow.
async fn read_exactly(consumer: &mut dyn StreamConsumer, n: usize) -> Vec<ConsumedRecord> {
    let mut out = Vec::new();
    while out.len() < n {
        let batch = consumer
            .poll(n - out.len(), Duration::from_secs(10))
            .await
            .unwrap();
        assert!(
            !batch.is_empty(),
            "expected {n} records, got {} and then nothing",
            out.len()
        );
        out.extend(batch);
    }
    let extra = consumer.poll(10, Duration::from_millis(20)).await.unwrap();
    assert!(
        extra.is_empty(),
        "expected {n} records, got more: {extra:?}"
    );
    out
}

fn payloads(records: &[ConsumedRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8(r.payload.to_vec()).unwrap())
        .collect()
}

/// The segment files of one partition, oldest first.
fn segment_files(dir: &Path, topic: &str, partition: u32) -> Vec<PathBuf> {
    let dir = dir.join("topics").join(topic).join(partition.to_string());
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    files
}
