//! [`TransformWorker`] and [`ConsumerWorker`]: run user functions over a stream's batches.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::dead_letter::{DeadLetterSink, produce_durably};
use super::{Backoff, DEFAULT_POLL_WAIT, DEFAULT_TRANSFORM_BATCH, WorkerState, WorkerStatus};
use crate::graph::{
    DeadLetter, DeadLetterSource, EncodedRecord, ErasedConsumer, ErasedTransform, Failure,
};
use crate::stream::{ConsumedRecord, StreamBackend, StreamConsumer};

/// The dead letter of a record a user function failed on.
fn dead_letter(
    source: DeadLetterSource,
    stream: &str,
    record: &ConsumedRecord,
    failure: Failure,
) -> DeadLetter {
    DeadLetter::new(
        source,
        failure.kind.into(),
        stream,
        &record.payload,
        failure.message,
    )
    .at(record.partition, record.offset)
}

/// Next offset to commit per partition, after `records`.
pub(crate) fn next_offsets(records: &[ConsumedRecord]) -> Vec<(u32, u64)> {
    let mut next: BTreeMap<u32, u64> = BTreeMap::new();
    for r in records {
        let entry = next.entry(r.partition).or_default();
        *entry = (*entry).max(r.offset + 1);
    }
    next.into_iter().collect()
}

/// Acknowledges `offsets` (`None`: nothing new) and commits every acknowledged offset now,
/// retrying until it succeeds or shutdown; a failed commit only means the records may be read
/// again (at-least-once), so retrying is safe.
pub(crate) async fn commit_now(
    consumer: &mut dyn StreamConsumer,
    offsets: Option<&[(u32, u64)]>,
    what: &str,
    cancel: &CancellationToken,
) {
    if let Some(offsets) = offsets {
        acknowledge(consumer, offsets, what);
    }
    let mut backoff = Backoff::default();
    loop {
        match consumer.commit_acked().await {
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

/// Acknowledges finished offsets; the consumer commits them on its cadence. A refusal is a
/// bug in the worker (an offset it never read), logged: the records are then read again.
pub(crate) fn acknowledge(consumer: &mut dyn StreamConsumer, offsets: &[(u32, u64)], what: &str) {
    if let Err(e) = consumer.ack(offsets) {
        tracing::error!(worker = what, error = %e, "acknowledging offsets failed; the records will be read again");
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
    /// Declared name of the source stream (recorded in dead letters).
    pub source_stream: String,
    /// Where records the function fails on go.
    pub dead_letters: DeadLetterSink,
    /// Status for `/ready`.
    pub status: WorkerStatus,
}

impl TransformWorker {
    /// Runs until `cancel`; the batch in hand is finished (produced and committed) first.
    ///
    /// Per batch: apply the function, write the outputs, write the dead letters (decode
    /// failures, `Err` returns, panics), and only once both are durable acknowledge the source
    /// offsets; the consumer commits them on its cadence
    /// ([`COMMIT_INTERVAL`](crate::stream::COMMIT_INTERVAL)) and this worker once more when
    /// stopping. A crash anywhere before a commit re-reads its batches: outputs and dead
    /// letters may then be written twice (at-least-once), never lost.
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
            let polled = Instant::now();
            let payloads: Vec<&[u8]> = records.iter().map(|r| r.payload.as_slice()).collect();
            let outcomes = self.function.apply_batch(&payloads).await;
            let mut outputs: Vec<EncodedRecord> = Vec::with_capacity(records.len());
            let mut letters = Vec::new();
            for (record, outcome) in records.iter().zip(outcomes) {
                match outcome {
                    Ok(mut produced) => outputs.append(&mut produced),
                    Err(failure) => letters.push(dead_letter(
                        DeadLetterSource::Transform,
                        &self.source_stream,
                        record,
                        failure,
                    )),
                }
            }
            // Outputs and dead letters must be durable before the source offsets move.
            let durable = produce_durably(
                self.backend.as_ref(),
                &self.destination,
                &outputs,
                &self.name,
                &self.status,
                &cancel,
            )
            .await
                && self
                    .dead_letters
                    .send(&self.name, &letters, &self.status, &cancel)
                    .await;
            if !durable {
                // Shutting down while the stream refuses writes: the batch is read again
                // after a restart.
                break;
            }
            acknowledge(self.consumer.as_mut(), &next_offsets(&records), &self.name);
            tracing::debug!(
                worker = %self.name,
                records = records.len(),
                outputs = outputs.len(),
                apply_and_produce_us = polled.elapsed().as_micros() as u64,
                "batch moved"
            );
            backoff.reset();
            self.status.set(WorkerState::Running);
        }
        // Batches whose outputs are durable are committed even when stopping.
        commit_now(self.consumer.as_mut(), None, &self.name, &cancel).await;
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
    /// Declared name of the stream (recorded in dead letters).
    pub source_stream: String,
    /// Where records the function fails on go.
    pub dead_letters: DeadLetterSink,
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
            let mut letters = Vec::new();
            for (record, outcome) in records
                .iter()
                .zip(self.function.apply_batch(&payloads).await)
            {
                if let Err(failure) = outcome {
                    letters.push(dead_letter(
                        DeadLetterSource::Consumer,
                        &self.source_stream,
                        record,
                        failure,
                    ));
                }
            }
            if !self
                .dead_letters
                .send(&self.name, &letters, &self.status, &cancel)
                .await
            {
                break;
            }
            acknowledge(self.consumer.as_mut(), &next_offsets(&records), &self.name);
            backoff.reset();
        }
        commit_now(self.consumer.as_mut(), None, &self.name, &cancel).await;
        self.status.set(WorkerState::Stopped);
    }
}
