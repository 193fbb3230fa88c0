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
use crate::stream::{ConsumedRecord, MemberId, StreamConsumer, StreamError};

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
        }
    }

    async fn poll_records(
        &mut self,
        max_records: usize,
        max_wait: Duration,
    ) -> Result<Vec<ConsumedRecord>, StreamError> {
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

    async fn commit_offsets(&mut self, offsets: &[(u32, u64)]) -> Result<(), StreamError> {
        for &(partition, offset) in offsets {
            let Some(p) = self.topic.partitions.get(partition as usize) else {
                return Err(StreamError::Other(format!(
                    "cannot commit partition {partition} of topic `{}`: it has {} partitions",
                    self.topic.spec.name,
                    self.topic.partitions.len()
                )));
            };
            let end = p.high_watermark();
            if offset > end {
                return Err(StreamError::Other(format!(
                    "cannot commit offset {offset} for partition {partition} of topic `{}`: the \
                     partition ends at offset {end}; commit the offset after the last record read",
                    self.topic.spec.name
                )));
            }
        }
        let (group, offsets) = (self.offsets.clone(), offsets.to_vec());
        blocking(move || group.commit(&offsets)).await
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

impl StreamConsumer for LocalConsumer {
    fn poll(
        &mut self,
        max_records: usize,
        max_wait: Duration,
    ) -> BoxFuture<'_, Result<Vec<ConsumedRecord>, StreamError>> {
        Box::pin(self.poll_records(max_records, max_wait))
    }

    fn commit<'a>(
        &'a mut self,
        offsets: &'a [(u32, u64)],
    ) -> BoxFuture<'a, Result<(), StreamError>> {
        Box::pin(self.commit_offsets(offsets))
    }

    fn rewind(&mut self) -> BoxFuture<'_, Result<(), StreamError>> {
        Box::pin(async move {
            for owned in &mut self.owned {
                owned.position = committed_position(&self.offsets, &owned.partition);
            }
            Ok(())
        })
    }
}
