//! [`KafkaConsumer`]: one member of a Kafka consumer group.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{FutureExt as _, StreamExt as _};
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer as RdStreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};

use super::config::KafkaConfig;
use super::context::GroupContext;
use super::error::{is_rebalance, is_transient, stream_error};
use crate::graph::BoxFuture;
use crate::stream::{ConsumedRecord, StreamConsumer, StreamError};

type Member = RdStreamConsumer<GroupContext>;

/// Reads the partitions the group assigns to this member and commits what its worker
/// acknowledged (kept in the [`GroupContext`]'s assignment): on the cadence of
/// [`Acked`](crate::stream::Acked), when a rebalance takes a partition away, and on
/// [`StreamConsumer::commit_acked`]. Nothing unacknowledged is ever committed, so a crash
/// re-reads from the last commit (at-least-once).
pub(super) struct KafkaConsumer {
    /// `Some` until dropped; dropping it leaves the group (blocking, so off the async threads).
    member: Option<Arc<Member>>,
    context: GroupContext,
    topic: String,
    group: String,
}

impl KafkaConsumer {
    /// Joins `group` on `topic` as the group's `index`th member in this process.
    pub fn join(
        config: &KafkaConfig,
        topic: &str,
        group: &str,
        index: u32,
    ) -> Result<Self, StreamError> {
        let context = GroupContext::new(topic);
        let member: Member = config
            .consumer(group, index)
            .create_with_context(context.clone())
            .map_err(|e| stream_error("creating a consumer of group", group, &e))?;
        member
            .subscribe(&[topic])
            .map_err(|e| stream_error("subscribing to topic", topic, &e))?;
        Ok(Self {
            member: Some(Arc::new(member)),
            context,
            topic: topic.to_owned(),
            group: group.to_owned(),
        })
    }

    fn member(&self) -> &Arc<Member> {
        self.member.as_ref().expect("present until dropped")
    }

    /// The record, unless its partition is no longer this member's (revoked meanwhile).
    fn take(&self, message: &BorrowedMessage<'_>) -> Option<ConsumedRecord> {
        let partition = message.partition();
        let mut assignment = self.context.lock();
        if !assignment.owned.contains(&partition) {
            return None;
        }
        assignment.positions.insert(partition, message.offset() + 1);
        Some(consumed(message))
    }

    async fn poll_records(
        &mut self,
        max_records: usize,
        max_wait: Duration,
    ) -> Result<Vec<ConsumedRecord>, StreamError> {
        let due = self.context.lock().acked.due();
        if due && let Err(e) = self.commit_acked_offsets().await {
            tracing::warn!(topic = %self.topic, group = %self.group, error = %e, "committing acknowledged offsets failed; retrying at the next poll");
        }
        let mut out = Vec::new();
        if max_records == 0 {
            return Ok(out);
        }
        let member = self.member().clone();
        let mut stream = member.stream();
        let deadline = tokio::time::Instant::now() + max_wait;
        while out.len() < max_records {
            // Wait (up to the deadline) only for the first record; then take what is ready.
            let next = if out.is_empty() {
                match tokio::time::timeout_at(deadline, stream.next()).await {
                    Ok(next) => next,
                    Err(_) => break,
                }
            } else {
                match stream.next().now_or_never() {
                    Some(next) => next,
                    None => break,
                }
            };
            match next {
                Some(Ok(message)) => {
                    if let Some(record) = self.take(&message) {
                        out.push(record);
                    }
                }
                Some(Err(e)) if e.rdkafka_error_code().is_some_and(is_transient) => {
                    // Connection trouble: librdkafka reconnects and reports it in its log;
                    // the worker just sees no records meanwhile.
                    tracing::debug!(topic = %self.topic, error = %e, "reading paused");
                    break;
                }
                Some(Err(e)) if out.is_empty() => {
                    return Err(stream_error("reading topic", &self.topic, &e));
                }
                // Handed out what was read before the error; the error comes back next poll
                // if it persists.
                Some(Err(_)) | None => break,
            }
        }
        Ok(out)
    }

    /// Commits every acknowledged offset; on failure they stay acknowledged for the next try.
    async fn commit_acked_offsets(&mut self) -> Result<(), StreamError> {
        let offsets = self.context.lock().acked.take();
        if offsets.is_empty() {
            return Ok(());
        }
        let result = self.commit_offsets(&offsets).await;
        if result.is_err() {
            self.context.lock().acked.add(&offsets);
        }
        result
    }

    async fn commit_offsets(&mut self, offsets: &[(u32, u64)]) -> Result<(), StreamError> {
        let mut list = TopicPartitionList::new();
        {
            let assignment = self.context.lock();
            for &(partition, offset) in offsets {
                let partition = partition as i32;
                if !assignment.owned.contains(&partition) {
                    // Revoked: its next owner reads from the last committed offset.
                    tracing::debug!(topic = %self.topic, group = %self.group, partition, offset, "not committing a partition this member no longer owns");
                    continue;
                }
                list.add_partition_offset(&self.topic, partition, Offset::Offset(offset as i64))
                    .map_err(|e| stream_error("committing offsets of", &self.topic, &e))?;
            }
        }
        if list.count() == 0 {
            return Ok(());
        }
        let member = self.member().clone();
        let result = blocking(move || member.commit(&list, CommitMode::Sync)).await;
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.rdkafka_error_code().is_some_and(is_rebalance) => {
                // Not accepted during a rebalance; the partition's next owner (maybe this
                // member again) reads from the last accepted commit.
                tracing::debug!(topic = %self.topic, group = %self.group, error = %e, "commit refused during a rebalance; records may be read again");
                Ok(())
            }
            Err(e) => Err(stream_error(
                &format!("committing offsets of group `{}` on", self.group),
                &self.topic,
                &e,
            )),
        }
    }
}

/// Runs a blocking librdkafka call off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, rdkafka::error::KafkaError> + Send + 'static,
) -> Result<T, rdkafka::error::KafkaError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or(Err(rdkafka::error::KafkaError::Canceled))
}

impl StreamConsumer for KafkaConsumer {
    fn poll(
        &mut self,
        max_records: usize,
        max_wait: Duration,
    ) -> BoxFuture<'_, Result<Vec<ConsumedRecord>, StreamError>> {
        Box::pin(self.poll_records(max_records, max_wait))
    }

    fn ack(&mut self, offsets: &[(u32, u64)]) -> Result<(), StreamError> {
        // Only partitions this member still owns: the work on a revoked one is its next
        // owner's to commit.
        let mut assignment = self.context.lock();
        let owned: Vec<(u32, u64)> = offsets
            .iter()
            .copied()
            .filter(|&(partition, _)| assignment.owned.contains(&(partition as i32)))
            .collect();
        assignment.acked.add(&owned);
        Ok(())
    }

    fn commit_acked(&mut self) -> BoxFuture<'_, Result<(), StreamError>> {
        Box::pin(self.commit_acked_offsets())
    }
}

impl Drop for KafkaConsumer {
    /// Leaves the group (librdkafka's close: revoke, then LeaveGroup, so the partitions move
    /// to the other members at once instead of after the session timeout). That blocks for a
    /// round trip, so it runs on a blocking thread when a runtime is there.
    fn drop(&mut self) {
        let Some(member) = self.member.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn_blocking(move || drop(member));
            }
            Err(_) => drop(member),
        }
    }
}

/// A message as a record read from its stream (its key and payload copied out of
/// librdkafka's buffer).
pub(super) fn consumed(message: &impl Message) -> ConsumedRecord {
    ConsumedRecord {
        partition: message.partition() as u32,
        offset: message.offset() as u64,
        timestamp_ms: message.timestamp().to_millis().unwrap_or_default(),
        key: message
            .key()
            .map(Bytes::copy_from_slice)
            .unwrap_or_default(),
        payload: message
            .payload()
            .map(Bytes::copy_from_slice)
            .unwrap_or_default(),
    }
}
