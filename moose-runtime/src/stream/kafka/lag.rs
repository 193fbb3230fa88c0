//! A group's lag on a topic: the partitions' high watermarks minus the group's committed
//! offsets (an OffsetFetch for the group; the reader never joins it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

use super::config::{ADMIN_TIMEOUT, KafkaConfig};
use super::context::LogContext;
use super::error::stream_error;
use crate::stream::{PartitionLag, StreamError};

/// One reader per group, kept: lag is sampled every few seconds.
#[derive(Default)]
pub(super) struct LagReaders {
    by_group: Mutex<HashMap<String, Arc<BaseConsumer<LogContext>>>>,
}

impl LagReaders {
    /// The lag of `group` on `topic`, per partition.
    pub async fn lag(
        &self,
        config: &KafkaConfig,
        topic: &str,
        group: &str,
    ) -> Result<Vec<PartitionLag>, StreamError> {
        let reader = self
            .reader(config, group)
            .map_err(|e| stream_error("reading the lag of", topic, &e))?;
        let name = topic.to_owned();
        tokio::task::spawn_blocking(move || read_lag(&reader, &name))
            .await
            .unwrap_or(Err(KafkaError::Canceled))
            .map_err(|e| stream_error("reading the lag of", topic, &e))?
            .ok_or_else(|| StreamError::UnknownTopic(topic.to_owned()))
    }

    fn reader(
        &self,
        config: &KafkaConfig,
        group: &str,
    ) -> Result<Arc<BaseConsumer<LogContext>>, KafkaError> {
        let mut readers = self.by_group.lock().expect("lag readers lock");
        if let Some(reader) = readers.get(group) {
            return Ok(reader.clone());
        }
        let mut client = config.reader();
        client.set("group.id", group);
        let reader: Arc<BaseConsumer<LogContext>> =
            Arc::new(client.create_with_context(LogContext::default())?);
        readers.insert(group.to_owned(), reader.clone());
        Ok(reader)
    }
}

/// `None` when the topic does not exist.
fn read_lag(
    reader: &BaseConsumer<LogContext>,
    topic: &str,
) -> Result<Option<Vec<PartitionLag>>, KafkaError> {
    let metadata = reader.fetch_metadata(Some(topic), ADMIN_TIMEOUT)?;
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Ok(None);
    };
    if found.error().is_some() {
        return Ok(None);
    }
    let partitions: Vec<i32> = found.partitions().iter().map(|p| p.id()).collect();
    drop(metadata);
    let mut list = TopicPartitionList::new();
    for partition in &partitions {
        list.add_partition(topic, *partition);
    }
    let committed = reader.committed_offsets(list, ADMIN_TIMEOUT)?;
    let mut lag = Vec::with_capacity(partitions.len());
    for partition in partitions {
        let (low, high) = reader.fetch_watermarks(topic, partition, ADMIN_TIMEOUT)?;
        let done = match committed
            .find_partition(topic, partition)
            .map(|p| p.offset())
        {
            Some(Offset::Offset(offset)) => offset.max(low),
            _ => low,
        };
        lag.push(PartitionLag {
            partition: partition as u32,
            end: high.max(0) as u64,
            committed: done.max(0) as u64,
        });
    }
    // The list from `committed_offsets` must not outlive the reader's use (a dropped
    // consumer hangs while one is alive); it goes here, before returning.
    drop(committed);
    Ok(Some(lag))
}
