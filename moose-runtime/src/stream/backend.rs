//! The contract every stream backend fulfils.

use std::time::Duration;

use super::StreamError;
use crate::graph::{BoxFuture, EncodedRecord};

/// A topic as the runtime wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// Topic name (namespace and version already applied).
    pub name: String,
    /// Number of partitions (the stream's parallelism).
    pub partitions: u32,
    /// How long records are kept.
    pub retention: Duration,
}

/// A change to an existing topic; `None` leaves that property as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopicChange {
    /// New retention.
    pub retention: Option<Duration>,
    /// New partition count; never below the current one (see
    /// [`StreamBackend::alter_topic`]).
    pub partitions: Option<u32>,
}

/// Which share of a topic's partitions one consumer of a group reads.
///
/// The embedded log assigns partition `p` to member `p % count == index`; Kafka ignores the
/// hint and lets its group protocol assign partitions (and reassign them when members come
/// and go).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberId {
    /// This member, `0..count`.
    pub index: u32,
    /// Members in the group in this process.
    pub count: u32,
}

impl MemberId {
    /// The only member of its group.
    pub const SOLE: MemberId = MemberId { index: 0, count: 1 };

    /// The `count` members of a group run by one process, in order.
    pub fn all(count: u32) -> impl Iterator<Item = MemberId> {
        (0..count).map(move |index| MemberId { index, count })
    }

    /// Refuses an index that is not below the count (what every backend's `consumer` checks
    /// first).
    pub fn check(self, group: &str) -> Result<(), StreamError> {
        if self.count == 0 || self.index >= self.count {
            return Err(StreamError::Other(format!(
                "consumer member {} of {} in group `{group}` is impossible: the index must be below the count",
                self.index, self.count
            )));
        }
        Ok(())
    }
}

/// One record read from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    /// Partition it was read from.
    pub partition: u32,
    /// Its offset in that partition.
    pub offset: u64,
    /// When it was appended, milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// Message key.
    pub key: Vec<u8>,
    /// JSON payload.
    pub payload: Vec<u8>,
}

/// A stream backend: topics, durable appends and consumer groups.
pub trait StreamBackend: Send + Sync + 'static {
    /// Creates the topic if missing. An existing topic is left as it is (lifecycle management
    /// decides about changes).
    fn ensure_topic<'a>(&'a self, spec: &'a TopicSpec) -> BoxFuture<'a, Result<(), StreamError>>;

    /// The topic as it exists, or `None`.
    fn describe_topic<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<TopicSpec>, StreamError>>;

    /// Changes an existing topic: sets its retention (enforced from then on) and raises its
    /// partition count. Lowering the partition count is refused with an error: records in the
    /// removed partitions would be lost and keys would move. New partitions spread keys anew
    /// (hash modulo the new count), so per-key order holds only among records written after
    /// the change. Called before the runtime starts its workers.
    ///
    /// The default refuses: a backend that cannot change topics says so.
    fn alter_topic<'a>(
        &'a self,
        name: &'a str,
        change: &'a TopicChange,
    ) -> BoxFuture<'a, Result<(), StreamError>> {
        let _ = change;
        Box::pin(async move {
            Err(StreamError::Other(format!(
                "this stream backend cannot change topic `{name}`; change it with the broker's own tools"
            )))
        })
    }

    /// Deletes a topic with its records and every consumer group's offsets on it, so a topic
    /// created later under the same name starts empty and is read from its beginning. A
    /// missing topic is not an error.
    ///
    /// The default refuses: a backend that cannot delete topics says so.
    fn delete_topic<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), StreamError>> {
        Box::pin(async move {
            Err(StreamError::Other(format!(
                "this stream backend cannot delete topic `{name}`; delete it with the broker's own tools"
            )))
        })
    }

    /// Appends records (partitioned by a hash of their key; empty keys spread round-robin)
    /// and returns only once every one of them is durable: fsynced (embedded log) or
    /// acknowledged by all in-sync replicas (Kafka). On error, none of them may be counted as
    /// written by the caller (some may have been, which at-least-once delivery tolerates).
    fn produce<'a>(
        &'a self,
        topic: &'a str,
        records: &'a [EncodedRecord],
    ) -> BoxFuture<'a, Result<(), StreamError>>;

    /// Joins consumer group `group` on `topic`. Reading starts at the group's committed
    /// offsets, or at the beginning of the topic for a new group.
    fn consumer<'a>(
        &'a self,
        topic: &'a str,
        group: &'a str,
        member: MemberId,
    ) -> BoxFuture<'a, Result<Box<dyn StreamConsumer>, StreamError>>;

    /// The last `n` records of the topic across partitions, oldest first (for `peek`).
    fn latest<'a>(
        &'a self,
        topic: &'a str,
        n: usize,
    ) -> BoxFuture<'a, Result<Vec<ConsumedRecord>, StreamError>>;

    /// Whether the backend can take writes now (for `/ready`).
    fn healthy(&self) -> BoxFuture<'_, bool>;
}

/// One member of a consumer group.
pub trait StreamConsumer: Send {
    /// Up to `max_records` records that are durable in the stream, waiting at most
    /// `max_wait` for the first one; an empty batch when none arrived.
    fn poll(
        &mut self,
        max_records: usize,
        max_wait: Duration,
    ) -> BoxFuture<'_, Result<Vec<ConsumedRecord>, StreamError>>;

    /// Commits, per partition, the offset of the next record to read. Called only after
    /// everything before it is durable downstream.
    fn commit<'a>(
        &'a mut self,
        offsets: &'a [(u32, u64)],
    ) -> BoxFuture<'a, Result<(), StreamError>>;

    /// Rewinds to the committed offsets (after a failed batch, so it is read again).
    fn rewind(&mut self) -> BoxFuture<'_, Result<(), StreamError>>;

    /// Says that, per partition, everything before `offsets` is durable downstream though not
    /// committed yet (a worker that commits every so often, not after every batch). A member
    /// that can lose partitions to another (Kafka, in a rebalance) commits these offsets of
    /// the partitions it gives up, so their next owner does not do the work again. The
    /// default does nothing: the embedded log's groups never move a partition under a worker.
    fn done(&mut self, offsets: &[(u32, u64)]) {
        let _ = offsets;
    }
}
