//! One member of a consumer group on the embedded log.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, timeout_at};

use super::backend::blocking;
use super::groups::GroupOffsets;
use super::log::LogInner;
use super::partition::{Partition, Position};
use super::topic::Topic;
use crate::graph::BoxFuture;
use crate::stream::{Acked, ConsumedRecord, MemberId, StreamConsumer, StreamError};

/// A partition this member reads, and where.
#[derive(Debug, Clone)]
struct Owned {
    partition: Arc<Partition>,
    position: Position,
}

/// Reads the partitions `p % count == index` of a topic for one group.
pub(super) struct LocalConsumer {
    /// Keeps the data directory locked while the consumer lives.
    _log: Arc<LogInner>,
    topic: Arc<Topic>,
    offsets: Arc<GroupOffsets>,
    owned: Vec<Owned>,
    /// Partition the next poll starts with, rotating so none is starved.
    next: usize,
    wake: watch::Receiver<()>,
    /// Acknowledged offsets not committed yet.
    acked: Acked,
}

impl LocalConsumer {
    pub fn new(
        log: Arc<LogInner>,
        topic: Arc<Topic>,
        offsets: Arc<GroupOffsets>,
        member: MemberId,
    ) -> Self {
        let owned = topic
            .partitions
            .iter()
            .filter(|p| p.id % member.count == member.index)
            .map(|p| Owned {
                partition: p.clone(),
                position: committed_position(&offsets, p),
            })
            .collect();
        let wake = topic.wake.subscribe();
        LocalConsumer {
            _log: log,
            topic,
            offsets,
            owned,
            next: 0,
            wake,
            acked: Acked::default(),
        }
    }

    async fn poll_records(
        &mut self,
        max_records: usize,
        max_wait: Duration,
    ) -> Result<Vec<ConsumedRecord>, StreamError> {
        if self.acked.due() {
            // The commit cadence: a failed commit is retried at the next poll; meanwhile only
            // a crash would read those records again.
            if let Err(e) = self.commit_acked_offsets().await {
                tracing::warn!(topic = %self.topic.spec.name, error = %e, "committing acknowledged offsets failed; retrying at the next poll");
            }
        }
        if max_records == 0 {
            return Ok(Vec::new());
        }
        let deadline = Instant::now() + max_wait;
        loop {
            // Marked seen before looking, so an append after the look still wakes us.
            self.wake.borrow_and_update();
            let ready = self
                .owned
                .iter()
                .any(|o| o.position.offset < o.partition.high_watermark());
            if ready {
                let (records, owned) = read(self.owned.clone(), self.next, max_records).await?;
                // Applied only now, so a poll cancelled while reading loses nothing.
                self.owned = owned;
                self.next = (self.next + 1) % self.owned.len();
                if !records.is_empty() {
                    return Ok(records);
                }
            }
            match timeout_at(deadline, self.wake.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return Ok(Vec::new()),
            }
        }
    }

    /// Refuses offsets of partitions the topic does not have or past a partition's end.
    fn check(&self, offsets: &[(u32, u64)]) -> Result<(), StreamError> {
        for &(partition, offset) in offsets {
            let Some(p) = self.topic.partitions.get(partition as usize) else {
                return Err(StreamError::Other(format!(
                    "cannot acknowledge partition {partition} of topic `{}`: it has {} partitions",
                    self.topic.spec.name,
                    self.topic.partitions.len()
                )));
            };
            let end = p.high_watermark();
            if offset > end {
                return Err(StreamError::Other(format!(
                    "cannot acknowledge offset {offset} for partition {partition} of topic `{}`: \
                     the partition ends at offset {end}; acknowledge the offset after the last \
                     record read",
                    self.topic.spec.name
                )));
            }
        }
        Ok(())
    }

    async fn commit_acked_offsets(&mut self) -> Result<(), StreamError> {
        let offsets = self.acked.take();
        if offsets.is_empty() {
            return Ok(());
        }
        let group = self.offsets.clone();
        let pending = offsets.clone();
        let result = blocking(move || group.commit(&pending)).await;
        if result.is_err() {
            self.acked.add(&offsets);
        }
        result
    }
}

/// Reads up to `max` records from the partitions, starting with `first`.
async fn read(
    mut owned: Vec<Owned>,
    first: usize,
    max: usize,
) -> Result<(Vec<ConsumedRecord>, Vec<Owned>), StreamError> {
    blocking(move || {
        let mut out = Vec::new();
        let n = owned.len();
        for k in 0..n {
            if out.len() >= max {
                break;
            }
            let o = &mut owned[(first + k) % n];
            o.position = o.partition.read(o.position, max - out.len(), &mut out)?;
        }
        Ok((out, owned))
    })
    .await
}

/// The group's committed offset for a partition, moved back to the partition's end if the
/// log lost records past it (a damaged tail cut off on open): new records get those offsets
/// again and must not be skipped.
fn committed_position(offsets: &GroupOffsets, partition: &Partition) -> Position {
    let committed = offsets.committed(partition.id);
    let end = partition.high_watermark();
    if committed > end {
        tracing::warn!(
            partition = partition.id,
            dir = %partition.dir.display(),
            committed,
            end,
            "committed offset is past the end of the partition (records were lost); reading from the end"
        );
        return Position::new(end);
    }
    Position::new(committed)
}

impl Drop for LocalConsumer {
    /// A member that stops commits what it acknowledged, like a Kafka member leaving its group.
    fn drop(&mut self) {
        let offsets = self.acked.take();
        if !offsets.is_empty()
            && let Err(e) = self.offsets.commit(&offsets)
        {
            tracing::warn!(topic = %self.topic.spec.name, error = %e, "committing acknowledged offsets on close failed; those records will be read again");
        }
    }
}

impl StreamConsumer for LocalConsumer {
    fn poll(
        &mut self,
        max_records: usize,
        max_wait: Duration,
    ) -> BoxFuture<'_, Result<Vec<ConsumedRecord>, StreamError>> {
        Box::pin(self.poll_records(max_records, max_wait))
    }

    fn ack(&mut self, offsets: &[(u32, u64)]) -> Result<(), StreamError> {
        self.check(offsets)?;
        self.acked.add(offsets);
        Ok(())
    }

    fn commit_acked(&mut self) -> BoxFuture<'_, Result<(), StreamError>> {
        Box::pin(self.commit_acked_offsets())
    }
}
