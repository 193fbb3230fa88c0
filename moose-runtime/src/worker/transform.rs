//! [`TransformWorker`] and [`ConsumerWorker`]: run user functions over a stream's batches.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{Backoff, DEFAULT_POLL_WAIT, DEFAULT_TRANSFORM_BATCH, WorkerState, WorkerStatus};
use crate::graph::{EncodedRecord, ErasedConsumer, ErasedTransform};
use crate::stream::{ConsumedRecord, StreamBackend, StreamConsumer};

/// Next offset to commit per partition, after `records`.
pub(crate) fn next_offsets(records: &[ConsumedRecord]) -> Vec<(u32, u64)> {
    let mut next: BTreeMap<u32, u64> = BTreeMap::new();
    for r in records {
        let entry = next.entry(r.partition).or_default();
        *entry = (*entry).max(r.offset + 1);
    }
    next.into_iter().collect()
}

/// Retries `commit` until it succeeds or shutdown; a failed commit only means the batch may be
/// read again (at-least-once), so retrying is safe.
pub(crate) async fn commit_with_retry(
    consumer: &mut dyn StreamConsumer,
    offsets: &[(u32, u64)],
    what: &str,
    cancel: &CancellationToken,
) {
    let mut backoff = Backoff::default();
    loop {
        match consumer.commit(offsets).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(worker = what, error = %e, "commit failed; retrying");
                if cancel.is_cancelled() {
                    return;
                }
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}

/// Moves records from one stream through a transform into another.
pub struct TransformWorker {
    /// Name for logs: `raw_data -> intermediate_stream`.
    pub name: String,
    /// Source consumer (one member of the transform's group).
    pub consumer: Box<dyn StreamConsumer>,
    /// The function.
    pub function: Arc<dyn ErasedTransform>,
    /// Where outputs go.
    pub backend: Arc<dyn StreamBackend>,
    /// Destination topic.
    pub destination: String,
    /// Status for `/ready`.
    pub status: WorkerStatus,
}

impl TransformWorker {
    /// Runs until `cancel`; the batch in hand is finished (produced and committed) first.
    pub async fn run(mut self, cancel: CancellationToken) {
        self.status.set(WorkerState::Running);
        let mut backoff = Backoff::default();
        while !cancel.is_cancelled() {
            let records = match self
                .consumer
                .poll(DEFAULT_TRANSFORM_BATCH, DEFAULT_POLL_WAIT)
                .await
            {
                Ok(records) => records,
                Err(e) => {
                    tracing::warn!(worker = %self.name, error = %e, "reading the source stream failed; retrying");
                    self.status.set(WorkerState::Retrying);
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
            };
            if records.is_empty() {
                continue;
            }
            let payloads: Vec<&[u8]> = records.iter().map(|r| r.payload.as_slice()).collect();
            let outcomes = self.function.apply_batch(&payloads).await;
            let mut outputs: Vec<EncodedRecord> = Vec::with_capacity(records.len());
            for (record, outcome) in records.iter().zip(outcomes) {
                match outcome {
                    Ok(mut produced) => outputs.append(&mut produced),
                    Err(failure) => tracing::error!(
                        worker = %self.name,
                        partition = record.partition,
                        offset = record.offset,
                        kind = ?failure.kind,
                        "transform failed: {}",
                        failure.message
                    ),
                }
            }
            // Outputs must be durable before the source offsets move: retry until they are.
            loop {
                match self.backend.produce(&self.destination, &outputs).await {
                    Ok(()) => break,
                    Err(e) => {
                        self.status.set(WorkerState::Retrying);
                        tracing::warn!(worker = %self.name, error = %e, "writing transform outputs failed; retrying");
                        tokio::time::sleep(backoff.next_delay()).await;
                    }
                }
            }
            commit_with_retry(
                self.consumer.as_mut(),
                &next_offsets(&records),
                &self.name,
                &cancel,
            )
            .await;
            backoff.reset();
            self.status.set(WorkerState::Running);
        }
        self.status.set(WorkerState::Stopped);
    }
}

/// Runs a consumer function over a stream.
pub struct ConsumerWorker {
    /// Name for logs.
    pub name: String,
    /// The stream consumer.
    pub consumer: Box<dyn StreamConsumer>,
    /// The function.
    pub function: Arc<dyn ErasedConsumer>,
    /// Status for `/ready`.
    pub status: WorkerStatus,
}

impl ConsumerWorker {
    /// Runs until `cancel`.
    pub async fn run(mut self, cancel: CancellationToken) {
        self.status.set(WorkerState::Running);
        let mut backoff = Backoff::default();
        while !cancel.is_cancelled() {
            let records = match self
                .consumer
                .poll(DEFAULT_TRANSFORM_BATCH, DEFAULT_POLL_WAIT)
                .await
            {
                Ok(records) => records,
                Err(e) => {
                    tracing::warn!(worker = %self.name, error = %e, "reading the stream failed; retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
            };
            if records.is_empty() {
                continue;
            }
            let payloads: Vec<&[u8]> = records.iter().map(|r| r.payload.as_slice()).collect();
            for (record, outcome) in records
                .iter()
                .zip(self.function.consume_batch(&payloads).await)
            {
                if let Err(failure) = outcome {
                    tracing::error!(worker = %self.name, partition = record.partition, offset = record.offset, "consumer failed: {}", failure.message);
                }
            }
            commit_with_retry(
                self.consumer.as_mut(),
                &next_offsets(&records),
                &self.name,
                &cancel,
            )
            .await;
            backoff.reset();
        }
        self.status.set(WorkerState::Stopped);
    }
}
