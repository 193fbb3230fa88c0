//! [`DeadLetterSink`]: where a worker's failed records go, and [`FailureCounts`].
//!
//! With a dead-letter stream configured, failed records are written to it durably before the
//! worker commits the source offsets, so a crash in between re-reads (and re-dead-letters)
//! them rather than losing them. Without one, each failure is logged with
//! `tracing::error!` and counted: never silent.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_util::sync::CancellationToken;

use super::{Backoff, WorkerStatus};
use crate::graph::{DeadLetter, EncodedRecord};
use crate::stream::{StreamBackend, StreamError};

/// Records that failed, across the workers of one runtime.
#[derive(Debug, Default)]
pub struct FailureCounts {
    dead_lettered: AtomicU64,
    skipped: AtomicU64,
}

/// A snapshot of [`FailureCounts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct FailureTotals {
    /// Records written to a dead-letter queue.
    pub dead_lettered: u64,
    /// Records that failed where no dead-letter queue is configured: logged and skipped.
    pub skipped: u64,
}

impl FailureCounts {
    /// The totals so far.
    pub fn totals(&self) -> FailureTotals {
        FailureTotals {
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
        }
    }
}

/// Where one worker sends the records it cannot pass on.
#[derive(Clone)]
pub struct DeadLetterSink {
    /// The stream backend of the dead-letter stream.
    pub backend: Arc<dyn StreamBackend>,
    /// The dead-letter stream's topic and declared name; `None`: log and count only.
    pub queue: Option<(String, String)>,
    /// Shared failure counts.
    pub counts: Arc<FailureCounts>,
    /// `moose_dead_letters_total` of this queue and worker.
    pub metric: prometheus_client::metrics::counter::Counter,
}

impl DeadLetterSink {
    /// A sink that only logs and counts.
    #[cfg(test)]
    pub fn log_only(backend: Arc<dyn StreamBackend>, counts: Arc<FailureCounts>) -> Self {
        Self {
            backend,
            queue: None,
            counts,
            metric: Default::default(),
        }
    }

    /// Writes `letters` to the dead-letter stream, retrying until it holds them durably; or,
    /// without a dead-letter stream, logs each one. `false` only when `cancel` fired while
    /// the stream was refusing writes: the caller must then not commit its source offsets.
    pub async fn send(
        &self,
        worker: &str,
        letters: &[DeadLetter],
        status: &WorkerStatus,
        cancel: &CancellationToken,
    ) -> bool {
        if letters.is_empty() {
            return true;
        }
        let Some((topic, stream)) = &self.queue else {
            let skipped = self
                .counts
                .skipped
                .fetch_add(letters.len() as u64, Ordering::Relaxed)
                + letters.len() as u64;
            for letter in letters {
                tracing::error!(
                    worker,
                    source_stream = %letter.source_stream,
                    partition = letter.partition,
                    offset = letter.offset,
                    kind = letter.error_kind.as_str(),
                    skipped_total = skipped,
                    record = %truncated(&letter.original_record),
                    "record skipped (no dead-letter queue configured): {}",
                    letter.error_message
                );
            }
            return true;
        };
        let records: Vec<EncodedRecord> = letters.iter().map(EncodedRecord::encode).collect();
        let mut backoff = Backoff::default();
        loop {
            match self.backend.produce(topic, &records).await {
                Ok(()) => break,
                Err(e) => {
                    status.failing(&e);
                    tracing::warn!(worker, dead_letter_queue = %stream, error = %e, "writing dead letters failed; retrying (source offsets stay uncommitted)");
                    if cancel.is_cancelled() {
                        return false;
                    }
                    tokio::time::sleep(backoff.next_delay()).await;
                }
            }
        }
        self.metric.inc_by(letters.len() as u64);
        let total = self
            .counts
            .dead_lettered
            .fetch_add(letters.len() as u64, Ordering::Relaxed)
            + letters.len() as u64;
        let first = &letters[0];
        tracing::warn!(
            worker,
            dead_letter_queue = %stream,
            records = letters.len(),
            dead_lettered_total = total,
            kind = first.error_kind.as_str(),
            "records sent to the dead-letter queue; first error: {}",
            first.error_message
        );
        true
    }
}

/// A record for a log line: at most 500 bytes of it.
fn truncated(record: &str) -> &str {
    const MAX: usize = 500;
    if record.len() <= MAX {
        return record;
    }
    let mut end = MAX;
    while !record.is_char_boundary(end) {
        end -= 1;
    }
    &record[..end]
}

/// What [`produce_durably`] achieved.
pub(crate) enum Produced {
    /// Every record is durable.
    Durable,
    /// `cancel` fired while the stream refused writes: nothing may be committed.
    Cancelled,
    /// The backend refused a record as too large: retrying cannot help.
    TooLarge(StreamError),
}

/// Writes `records` to `topic`, retrying until durable, unless the backend refuses a record
/// as too large or `cancel` fires while the stream refuses writes.
pub(crate) async fn produce_durably(
    backend: &dyn StreamBackend,
    topic: &str,
    records: &[EncodedRecord],
    worker: &str,
    status: &WorkerStatus,
    cancel: &CancellationToken,
) -> Produced {
    let mut backoff = Backoff::default();
    loop {
        match backend.produce(topic, records).await {
            Ok(()) => return Produced::Durable,
            Err(e @ StreamError::RecordTooLarge(_)) => return Produced::TooLarge(e),
            Err(e) => {
                status.failing(&e);
                tracing::warn!(worker, topic, error = %e, "writing outputs failed; retrying (source offsets stay uncommitted)");
                if cancel.is_cancelled() {
                    return Produced::Cancelled;
                }
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}
