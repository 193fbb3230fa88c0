//! The contract every stream backend fulfils.

use std::time::Duration;

use bytes::Bytes;

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
    /// [`TopicAdmin::alter_topic`]).
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
    pub key: Bytes,
    /// Payload: JSON, or on a stream of binary payloads the model's binary form.
    pub payload: Bytes,
}

/// Topic administration: what lifecycle management (`crate::plan`) uses before the workers
/// start. Both backends implement it next to [`StreamBackend`].
pub trait TopicAdmin: Send + Sync + 'static {
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
    fn alter_topic<'a>(
        &'a self,
        name: &'a str,
        change: &'a TopicChange,
    ) -> BoxFuture<'a, Result<(), StreamError>>;

    /// Deletes a topic with its records and every consumer group's offsets on it, so a topic
    /// created later under the same name starts empty and is read from its beginning. A
    /// missing topic is not an error.
    fn delete_topic<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), StreamError>>;
}

/// The data plane: durable appends, consumer groups, and the reads `peek` and `/ready` make.
pub trait StreamBackend: Send + Sync + 'static {
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

    /// The largest record (key plus payload bytes) [`produce`](StreamBackend::produce)
    /// takes; a larger one fails the produce with [`StreamError::RecordTooLarge`]. Workers
    /// check their outputs against it, so one oversized output is dead-lettered alone
    /// instead of failing its batch. A broker may still refuse a record below it (a topic
    /// configured with a lower `max.message.bytes`); that too is `RecordTooLarge`.
    /// (No default: a wrapper that forgot to forward it would let oversized outputs fail
    /// whole batches.)
    fn max_record_bytes(&self) -> usize;

    /// How records are encoded for this backend's streams: JSON where foreign clients read
    /// them (Kafka), the models' binary form where only this framework does (the embedded
    /// log). Readers take either. (No default, like `max_record_bytes`.)
    fn payload_format(&self) -> crate::schema::PayloadFormat;

    /// How far `group` is behind on `topic`, per partition (for `moose_consumer_lag_records`):
    /// the end offset and the group's committed offset (the beginning when it committed none).
    fn lag<'a>(
        &'a self,
        topic: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<Vec<PartitionLag>, StreamError>>;
}

/// One partition's end and a group's committed offset on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionLag {
    /// The partition.
    pub partition: u32,
    /// Offset the next record appended will get.
    pub end: u64,
    /// The next offset the group will read.
    pub committed: u64,
}

impl PartitionLag {
    /// Records appended and not yet committed.
    pub fn records(&self) -> u64 {
        self.end.saturating_sub(self.committed)
    }
}

/// Both halves, for code that holds one backend for administration and data (tests, tools).
pub trait Streams: StreamBackend + TopicAdmin {}

impl<T: StreamBackend + TopicAdmin> Streams for T {}

/// How long a consumer holds acknowledged offsets before committing them. A commit is a
/// durable write of its own (an fsynced file on the embedded log, a broker round trip on
/// Kafka) that took as long as moving a whole batch; committing once per interval keeps it
/// off the hot path. A crash re-reads at most this much more (at-least-once either way).
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(200);

/// One member of a consumer group.
///
/// The worker reads with [`poll`](StreamConsumer::poll) and acknowledges, per partition, the
/// offsets its finished work reached ([`ack`](StreamConsumer::ack)): outputs produced, rows
/// inserted. The consumer owns the commit cadence: acknowledged offsets are committed at most
/// [`COMMIT_INTERVAL`] later (on a poll), whenever the member gives a partition up (a Kafka
/// rebalance), and on [`commit_acked`](StreamConsumer::commit_acked), which a worker calls
/// before it stops or when its downstream needs the commit to follow a write at once.
pub trait StreamConsumer: Send {
    /// Up to `max_records` records that are durable in the stream, waiting at most
    /// `max_wait` for the first one; an empty batch when none arrived.
    fn poll(
        &mut self,
        max_records: usize,
        max_wait: Duration,
    ) -> BoxFuture<'_, Result<Vec<ConsumedRecord>, StreamError>>;

    /// Says that, per partition, everything before `offsets` is durable downstream. Refuses
    /// an offset past the partition's end (a worker's bug, never data).
    fn ack(&mut self, offsets: &[(u32, u64)]) -> Result<(), StreamError>;

    /// Commits every acknowledged offset now.
    fn commit_acked(&mut self) -> BoxFuture<'_, Result<(), StreamError>>;
}

/// Acknowledged offsets not committed yet, per partition, and since when: the commit cadence
/// both backends share.
#[derive(Debug, Default)]
pub(crate) struct Acked {
    next: std::collections::BTreeMap<u32, u64>,
    since: Option<std::time::Instant>,
}

impl Acked {
    /// Adds acknowledged offsets (the highest per partition wins).
    pub fn add(&mut self, offsets: &[(u32, u64)]) {
        for &(partition, offset) in offsets {
            let entry = self.next.entry(partition).or_default();
            *entry = (*entry).max(offset);
        }
        if !self.next.is_empty() {
            self.since.get_or_insert_with(std::time::Instant::now);
        }
    }

    /// Whether the oldest pending acknowledgement is [`COMMIT_INTERVAL`] old.
    pub fn due(&self) -> bool {
        self.since.is_some_and(|s| s.elapsed() >= COMMIT_INTERVAL)
    }

    /// Takes every pending offset (to commit; [`Acked::add`] them back if that fails).
    pub fn take(&mut self) -> Vec<(u32, u64)> {
        self.since = None;
        std::mem::take(&mut self.next).into_iter().collect()
    }
}
