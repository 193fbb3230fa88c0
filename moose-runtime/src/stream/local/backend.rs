//! [`TopicAdmin`] and [`StreamBackend`] for [`LocalLog`].

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::future::try_join_all;

use super::consumer::LocalConsumer;
use super::log::{LocalLog, now_ms};
use super::partition::Position;
use super::record::{EncodedBatch, MAX_RECORD_BYTES};
use crate::graph::{BoxFuture, EncodedRecord};
use crate::stream::{
    ConsumedRecord, MemberId, PartitionLag, StreamBackend, StreamConsumer, StreamError, TopicAdmin,
    TopicChange, TopicSpec,
};

/// Runs blocking file work off the async threads.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StreamError> + Send + 'static,
) -> Result<T, StreamError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(StreamError::Other(format!(
            "embedded stream log task failed: {e}"
        )))
    })
}

impl LocalLog {
    async fn produce_records(
        &self,
        topic: &str,
        records: &[EncodedRecord],
    ) -> Result<(), StreamError> {
        if records.is_empty() {
            return Ok(());
        }
        let topic = self.inner.topic(topic)?;
        let now = now_ms();
        let mut batches: Vec<EncodedBatch> = topic
            .partitions
            .iter()
            .map(|_| EncodedBatch::default())
            .collect();
        if let [only] = batches.as_mut_slice() {
            // One partition (the default): one allocation for the whole batch.
            only.reserve(records);
        }
        for (index, record) in records.iter().enumerate() {
            let partition = topic.partition_for(&record.key);
            batches[partition]
                .push(&record.key, &record.payload, now)
                .map_err(|_| {
                    StreamError::RecordTooLarge(format!(
                        "record {index} for topic `{}` is {} bytes (key and payload); the embedded \
                     log stores at most {MAX_RECORD_BYTES} bytes per record: split it",
                        topic.spec.name,
                        record.key.len() + record.payload.len()
                    ))
                })?;
        }
        let writer = topic.clone();
        let appended = blocking(move || {
            let mut appended = Vec::new();
            for (partition, batch) in writer.partitions.iter().zip(&mut batches) {
                if batch.count > 0 {
                    appended.push((partition.clone(), partition.append(batch, now)?));
                }
            }
            Ok(appended)
        })
        .await;
        let result = match appended {
            Ok(appended) => try_join_all(appended.iter().map(|(p, a)| p.wait_durable(*a)))
                .await
                .map(drop),
            Err(e) => Err(e),
        };
        self.inner
            .write_failed
            .store(result.is_err(), Ordering::Relaxed);
        result
    }

    async fn latest_records(
        &self,
        topic: &str,
        n: usize,
    ) -> Result<Vec<ConsumedRecord>, StreamError> {
        let topic = self.inner.topic(topic)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        blocking(move || {
            let mut out = Vec::new();
            for partition in &topic.partitions {
                let end = partition.high_watermark();
                let start = end.saturating_sub(n as u64).max(partition.log_start());
                partition.read(Position::new(start), n, &mut out)?;
            }
            out.sort_by_key(|r| (r.timestamp_ms, r.partition, r.offset));
            Ok(out.split_off(out.len().saturating_sub(n)))
        })
        .await
    }
}

impl TopicAdmin for LocalLog {
    fn ensure_topic<'a>(&'a self, spec: &'a TopicSpec) -> BoxFuture<'a, Result<(), StreamError>> {
        let inner = self.inner.clone();
        let spec = spec.clone();
        Box::pin(blocking(move || inner.ensure_topic(&spec)))
    }

    fn describe_topic<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<TopicSpec>, StreamError>> {
        Box::pin(async move {
            match self.inner.topic(name) {
                Ok(topic) => Ok(Some(topic.spec.clone())),
                Err(StreamError::UnknownTopic(_)) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn alter_topic<'a>(
        &'a self,
        name: &'a str,
        change: &'a TopicChange,
    ) -> BoxFuture<'a, Result<(), StreamError>> {
        let (inner, name, change) = (self.inner.clone(), name.to_owned(), *change);
        Box::pin(blocking(move || inner.alter_topic(&name, &change)))
    }

    fn delete_topic<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), StreamError>> {
        let (inner, name) = (self.inner.clone(), name.to_owned());
        Box::pin(blocking(move || inner.delete_topic(&name)))
    }
}

impl StreamBackend for LocalLog {
    fn produce<'a>(
        &'a self,
        topic: &'a str,
        records: &'a [EncodedRecord],
    ) -> BoxFuture<'a, Result<(), StreamError>> {
        Box::pin(self.produce_records(topic, records))
    }

    fn consumer<'a>(
        &'a self,
        topic: &'a str,
        group: &'a str,
        member: MemberId,
    ) -> BoxFuture<'a, Result<Box<dyn StreamConsumer>, StreamError>> {
        Box::pin(async move {
            member.check(group)?;
            let topic = self.inner.topic(topic)?;
            let (inner, group, name) = (
                self.inner.clone(),
                group.to_owned(),
                topic.spec.name.clone(),
            );
            let offsets = blocking(move || inner.group(&group, &name)).await?;
            let consumer = LocalConsumer::new(self.inner.clone(), topic, offsets, member);
            Ok(Box::new(consumer) as Box<dyn StreamConsumer>)
        })
    }

    fn latest<'a>(
        &'a self,
        topic: &'a str,
        n: usize,
    ) -> BoxFuture<'a, Result<Vec<ConsumedRecord>, StreamError>> {
        Box::pin(self.latest_records(topic, n))
    }

    fn lag<'a>(
        &'a self,
        topic: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<Vec<PartitionLag>, StreamError>> {
        let (inner, topic, group) = (self.inner.clone(), topic.to_owned(), group.to_owned());
        Box::pin(blocking(move || {
            let found = inner.topic(&topic)?;
            let offsets = inner.group(&group, &topic)?;
            Ok(found
                .partitions
                .iter()
                .enumerate()
                .map(|(i, partition)| PartitionLag {
                    partition: i as u32,
                    end: partition.high_watermark(),
                    // Records dropped by retention are no longer behind anyone.
                    committed: offsets.committed(i as u32).max(partition.log_start()),
                })
                .collect())
        }))
    }

    fn healthy(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            if !self.inner.write_failed.load(Ordering::Relaxed) {
                return self.inner.dir.is_dir();
            }
            let inner = Arc::clone(&self.inner);
            blocking(move || Ok(inner.probe_disk()))
                .await
                .unwrap_or(false)
        })
    }

    fn max_record_bytes(&self) -> usize {
        MAX_RECORD_BYTES
    }

    fn payload_format(&self) -> crate::schema::PayloadFormat {
        self.inner.config.payload_format
    }
}
