//! [`TransformWorker`] and [`ConsumerWorker`]: run user functions over a stream's batches.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use futures::future::join_all;

use super::dead_letter::{DeadLetterSink, Produced, produce_durably};
use super::{Backoff, DEFAULT_POLL_WAIT, DEFAULT_TRANSFORM_BATCH, WorkerState, WorkerStatus};
use crate::graph::{
    DeadLetter, DeadLetterSource, EncodedRecord, ErasedConsumer, Failure, FailureKind, ModelCodec,
    TransformFunction,
};
use crate::schema::PayloadFormat;
use crate::stream::{ConsumedRecord, StreamBackend, StreamConsumer};
use crate::telemetry::StageMetrics;

/// The dead letter of a record a user function failed on.
fn dead_letter(
    source: DeadLetterSource,
    stream: &str,
    codec: &ModelCodec,
    record: &ConsumedRecord,
    failure: Failure,
) -> DeadLetter {
    DeadLetter::new(
        source,
        failure.kind.into(),
        stream,
        codec.payload_text(&record.payload).as_bytes(),
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

/// Moves records from one stream through a transform into another, or (a multi-transform)
/// into several.
pub struct TransformWorker {
    /// Name for logs: `raw_data->intermediate_stream`.
    pub name: String,
    /// Source consumer (one member of the transform's group).
    pub consumer: Box<dyn StreamConsumer>,
    /// The function.
    pub function: TransformFunction,
    /// Where outputs go.
    pub backend: Arc<dyn StreamBackend>,
    /// Destination topics with their streams' declared names: one for a transform, a
    /// multi-transform's in the order its outputs name them.
    pub destinations: Vec<(String, String)>,
    /// Declared name of the source stream (recorded in dead letters).
    pub source_stream: String,
    /// The source stream's model (dead letters show its records as JSON).
    pub source_codec: ModelCodec,
    /// Where records the function fails on go.
    pub dead_letters: DeadLetterSink,
    /// Status for `/ready`.
    pub status: WorkerStatus,
    /// What it counts (`moose_transform_*`).
    pub metrics: StageMetrics,
}

/// A batch's outputs, per destination, each with the index of the input it came from.
struct Outputs {
    records: Vec<Vec<EncodedRecord>>,
    inputs: Vec<Vec<usize>>,
    /// Inputs whose outputs are not written, with why (dead-lettered).
    failed: Vec<(usize, Failure)>,
}

impl Outputs {
    fn new(destinations: usize, capacity: usize) -> Self {
        let mut records: Vec<Vec<EncodedRecord>> = (0..destinations).map(|_| Vec::new()).collect();
        if let [only] = records.as_mut_slice() {
            only.reserve(capacity);
        }
        Self {
            records,
            inputs: (0..destinations).map(|_| Vec::new()).collect(),
            failed: Vec::new(),
        }
    }

    /// Adds the outputs of input `input`; none of them if one is larger than `max` bytes
    /// (the input is then dead-lettered: all or nothing per input record). Sizes are checked
    /// on the records in place: the outputs are moved, never copied.
    fn add<O: Output>(
        &mut self,
        input: usize,
        outputs: Vec<O>,
        max: usize,
        names: &[(String, String)],
    ) {
        let oversized = outputs
            .iter()
            .map(Output::parts)
            .find(|(_, r)| r.key.len() + r.payload.len() > max);
        if let Some((destination, record)) = oversized {
            self.failed.push((
                input,
                too_large(
                    &names[destination].1,
                    record.key.len() + record.payload.len(),
                    max,
                ),
            ));
            return;
        }
        for output in outputs {
            let (destination, record) = output.into_parts();
            self.records[destination].push(record);
            self.inputs[destination].push(input);
        }
    }

    fn len(&self) -> usize {
        self.records.iter().map(Vec::len).sum()
    }
}

/// One output of a transform: a record for its only destination, or for one of several.
trait Output {
    /// The destination's position, and the record.
    fn parts(&self) -> (usize, &EncodedRecord);
    fn into_parts(self) -> (usize, EncodedRecord);
}

impl Output for EncodedRecord {
    fn parts(&self) -> (usize, &EncodedRecord) {
        (0, self)
    }
    fn into_parts(self) -> (usize, EncodedRecord) {
        (0, self)
    }
}

impl Output for (usize, EncodedRecord) {
    fn parts(&self) -> (usize, &EncodedRecord) {
        (self.0, &self.1)
    }
    fn into_parts(self) -> (usize, EncodedRecord) {
        self
    }
}

/// The failure of an input whose output for `stream` is `size` bytes, above `max`.
fn too_large(stream: &str, size: usize, max: usize) -> Failure {
    Failure {
        kind: FailureKind::Error,
        message: format!(
            "transform output for stream `{stream}` is {size} bytes (key and payload), more than \
             the {max} bytes a record of the stream backend may have; nothing of this record \
             was written: make the output smaller or split it into several records"
        ),
    }
}

impl TransformWorker {
    /// Runs until `cancel`; the batch in hand is finished (produced and committed) first.
    ///
    /// Per batch: apply the function, write the outputs (to every destination, at once),
    /// write the dead letters (decode failures, `Err` returns, panics, outputs larger than the
    /// backend stores, records routed to a stream that is not a destination), and only once
    /// all are durable acknowledge the source offsets; the consumer commits them on its
    /// cadence ([`COMMIT_INTERVAL`](crate::stream::COMMIT_INTERVAL)) and this worker once
    /// more when stopping. A crash anywhere before a commit re-reads its batches: outputs and
    /// dead letters may then be written twice (at-least-once), never lost.
    pub async fn run(mut self, cancel: CancellationToken) {
        self.status.set(WorkerState::Running);
        let mut backoff = Backoff::default();
        let max = self.backend.max_record_bytes();
        let format = self.backend.payload_format();
        while !cancel.is_cancelled() {
            let records = match self
                .consumer
                .poll(DEFAULT_TRANSFORM_BATCH, DEFAULT_POLL_WAIT)
                .await
            {
                Ok(records) => records,
                Err(e) => {
                    tracing::warn!(worker = %self.name, error = %e, "reading the source stream failed; retrying");
                    self.status.failing(&e);
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
            };
            if records.is_empty() {
                continue;
            }
            let polled = Instant::now();
            let payloads: Vec<&[u8]> = records.iter().map(|r| &r.payload[..]).collect();
            let mut outputs = Outputs::new(self.destinations.len(), records.len());
            let names = &self.destinations;
            match &self.function {
                TransformFunction::Single(function) => {
                    for (input, outcome) in function
                        .apply_batch(&payloads, format)
                        .await
                        .into_iter()
                        .enumerate()
                    {
                        match outcome {
                            Ok(produced) => outputs.add(input, produced, max, names),
                            Err(failure) => outputs.failed.push((input, failure)),
                        }
                    }
                }
                TransformFunction::Routed(function) => {
                    for (input, outcome) in function
                        .apply_batch(&payloads, format)
                        .await
                        .into_iter()
                        .enumerate()
                    {
                        match outcome {
                            Ok(produced) => outputs.add(input, produced, max, names),
                            Err(failure) => outputs.failed.push((input, failure)),
                        }
                    }
                }
            }
            // Outputs and dead letters must be durable before the source offsets move.
            let destinations = Destinations {
                backend: self.backend.as_ref(),
                topics: &self.destinations,
                worker: &self.name,
                status: &self.status,
            };
            if !destinations.produce(&mut outputs, &cancel).await {
                // Shutting down while the stream refuses writes: the batch is read again
                // after a restart.
                break;
            }
            outputs.failed.sort_by_key(|(input, _)| *input);
            let letters: Vec<DeadLetter> = outputs
                .failed
                .drain(..)
                .map(|(input, failure)| {
                    dead_letter(
                        DeadLetterSource::Transform,
                        &self.source_stream,
                        &self.source_codec,
                        &records[input],
                        failure,
                    )
                })
                .collect();
            if !self
                .dead_letters
                .send(&self.name, &letters, &self.status, &cancel)
                .await
            {
                break;
            }
            acknowledge(self.consumer.as_mut(), &next_offsets(&records), &self.name);
            self.metrics.records_in.inc_by(records.len() as u64);
            self.metrics.records_out.inc_by(outputs.len() as u64);
            self.metrics.errors.inc_by(letters.len() as u64);
            self.metrics
                .duration
                .observe(polled.elapsed().as_secs_f64());
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

/// Where a transform worker's outputs go (borrowed apart from the worker, whose consumer
/// is not `Sync`).
struct Destinations<'a> {
    backend: &'a dyn StreamBackend,
    topics: &'a [(String, String)],
    worker: &'a str,
    status: &'a WorkerStatus,
}

impl Destinations<'_> {
    /// Writes every destination's outputs, concurrently, each retried until durable; `false`
    /// if `cancel` fired while the stream refused writes. A destination that refuses a record
    /// as too large (a limit below [`StreamBackend::max_record_bytes`], such as a topic's own
    /// `max.message.bytes`) is written record by record, and the inputs of the records it
    /// refuses are dead-lettered (their other outputs may already be written).
    async fn produce(&self, outputs: &mut Outputs, cancel: &CancellationToken) -> bool {
        let backend = self.backend;
        let results = join_all(outputs.records.iter().zip(self.topics).map(
            |(records, (topic, _))| {
                produce_durably(backend, topic, records, self.worker, self.status, cancel)
            },
        ))
        .await;
        let mut durable = true;
        for (destination, result) in results.into_iter().enumerate() {
            match result {
                Produced::Durable => {}
                Produced::Cancelled => durable = false,
                Produced::TooLarge(e) => {
                    let (topic, stream) = &self.topics[destination];
                    tracing::warn!(worker = %self.worker, topic = %topic, error = %e, "a record is too large for the destination; writing this batch's records one by one");
                    let records = &outputs.records[destination];
                    for (record, input) in records.iter().zip(&outputs.inputs[destination]) {
                        match produce_durably(backend, topic, std::slice::from_ref(record), self.worker, self.status, cancel).await {
                            Produced::Durable => {}
                            Produced::Cancelled => return false,
                            Produced::TooLarge(e) => outputs.failed.push((
                                *input,
                                Failure {
                                    kind: FailureKind::Error,
                                    message: format!(
                                        "transform output for stream `{stream}` is {} bytes and the stream backend refused it as too large: {e}",
                                        record.key.len() + record.payload.len()
                                    ),
                                },
                            )),
                        }
                    }
                }
            }
        }
        durable
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
    /// The stream's model (dead letters show its records as JSON).
    pub source_codec: ModelCodec,
    /// Where records the function fails on go.
    pub dead_letters: DeadLetterSink,
    /// Status for `/ready`.
    pub status: WorkerStatus,
    /// What it counts (`moose_consumer_*`).
    pub metrics: StageMetrics,
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
            let polled = Instant::now();
            let payloads: Vec<&[u8]> = records.iter().map(|r| &r.payload[..]).collect();
            let mut letters = Vec::new();
            for (record, outcome) in records
                .iter()
                // A consumer writes nothing: the format is unused.
                .zip(
                    self.function
                        .apply_batch(&payloads, PayloadFormat::Json)
                        .await,
                )
            {
                if let Err(failure) = outcome {
                    letters.push(dead_letter(
                        DeadLetterSource::Consumer,
                        &self.source_stream,
                        &self.source_codec,
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
            self.metrics.records_in.inc_by(records.len() as u64);
            self.metrics.errors.inc_by(letters.len() as u64);
            self.metrics
                .duration
                .observe(polled.elapsed().as_secs_f64());
            backoff.reset();
        }
        commit_now(self.consumer.as_mut(), None, &self.name, &cancel).await;
        self.status.set(WorkerState::Stopped);
    }
}
