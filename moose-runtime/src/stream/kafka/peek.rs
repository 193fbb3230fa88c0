//! The last records of a topic, read by explicit assignment (no group, nothing committed).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::KafkaError;
use rdkafka::message::Message as _;
use rdkafka::{Offset, TopicPartitionList};

use super::config::{ADMIN_TIMEOUT, KafkaConfig};
use super::consumer::consumed;
use super::context::LogContext;
use super::error::stream_error;
use crate::stream::{ConsumedRecord, StreamError};

/// Longest a peek reads before returning what it has (records past a partition's end as
/// seen at the start, such as transaction markers, never arrive).
const PEEK_READ_LIMIT: Duration = Duration::from_secs(5);

/// The last `n` records of `topic` across partitions, oldest first.
pub(super) async fn latest(
    config: &KafkaConfig,
    topic: &str,
    n: usize,
) -> Result<Vec<ConsumedRecord>, StreamError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let (config, name) = (config.clone(), topic.to_owned());
    tokio::task::spawn_blocking(move || read_tail(&config, &name, n))
        .await
        .unwrap_or(Err(KafkaError::Canceled))
        .map_err(|e| stream_error("reading the latest records of", topic, &e))?
        .ok_or_else(|| StreamError::UnknownTopic(topic.to_owned()))
}

/// `None` when the topic does not exist.
fn read_tail(
    config: &KafkaConfig,
    topic: &str,
    n: usize,
) -> Result<Option<Vec<ConsumedRecord>>, KafkaError> {
    let reader: BaseConsumer<LogContext> =
        config.reader().create_with_context(LogContext::default())?;
    let metadata = reader.fetch_metadata(Some(topic), ADMIN_TIMEOUT)?;
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Ok(None);
    };
    if found.error().is_some() {
        return Ok(None);
    }
    let partitions: Vec<i32> = found.partitions().iter().map(|p| p.id()).collect();
    drop(metadata);
    // Per partition: where the tail starts and the end to read up to.
    let mut ends: BTreeMap<i32, i64> = BTreeMap::new();
    let mut assignment = TopicPartitionList::new();
    for partition in partitions {
        let (low, high) = reader.fetch_watermarks(topic, partition, ADMIN_TIMEOUT)?;
        if high > low {
            let start = (high - n as i64).max(low);
            assignment.add_partition_offset(topic, partition, Offset::Offset(start))?;
            ends.insert(partition, high);
        }
    }
    let mut out = Vec::new();
    if !ends.is_empty() {
        reader.assign(&assignment)?;
        let give_up = Instant::now() + PEEK_READ_LIMIT;
        while !ends.is_empty() && Instant::now() < give_up {
            let Some(message) = reader.poll(Duration::from_millis(100)) else {
                continue;
            };
            let message = message?;
            let partition = message.partition();
            let Some(&end) = ends.get(&partition) else {
                continue;
            };
            if message.offset() < end {
                out.push(consumed(&message));
            }
            if message.offset() + 1 >= end {
                ends.remove(&partition);
            }
        }
        reader.unassign()?;
    }
    drop(assignment);
    out.sort_by_key(|r| (r.timestamp_ms, r.partition, r.offset));
    Ok(Some(out.split_off(out.len().saturating_sub(n))))
}
