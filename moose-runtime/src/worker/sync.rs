//! [`SyncWorker`]: batches a stream into a ClickHouse table.

use std::time::Instant;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::transform::{commit_with_retry, next_offsets};
use super::{Backoff, DEFAULT_POLL_WAIT, SyncConfig, WorkerState, WorkerStatus};
use crate::clickhouse::ClickHouse;
use crate::graph::ModelCodec;
use crate::schema::ResolvedTable;
use crate::stream::{ConsumedRecord, StreamConsumer};

/// Moves one stream's records into its table.
pub struct SyncWorker {
    /// Name for logs: `final_stream -> local.final_stream`.
    pub name: String,
    /// One member of the table's sync group.
    pub consumer: Box<dyn StreamConsumer>,
    /// The stream's model.
    pub codec: ModelCodec,
    /// The table, resolved for the server.
    pub table: ResolvedTable,
    /// The server.
    pub clickhouse: ClickHouse,
    /// Batching.
    pub config: SyncConfig,
    /// Status for `/ready`.
    pub status: WorkerStatus,
}

/// The batch being filled.
struct Batch {
    rows: Vec<u8>,
    count: usize,
    records: Vec<ConsumedRecord>,
    started: Option<Instant>,
}

impl SyncWorker {
    /// Runs until `cancel`; rows already consumed are inserted and committed before it returns.
    pub async fn run(mut self, cancel: CancellationToken) {
        self.status.set(WorkerState::Running);
        let mut batch = Batch {
            rows: Vec::with_capacity(1024 * 1024),
            count: 0,
            records: Vec::new(),
            started: None,
        };
        let types = self.table.column_types().to_vec();
        let mut backoff = Backoff::default();
        loop {
            let cancelled = cancel.is_cancelled();
            let due = batch
                .started
                .is_some_and(|started| started.elapsed() >= self.config.max_delay);
            let full =
                batch.count >= self.config.max_rows || batch.rows.len() >= self.config.max_bytes;
            if batch.count > 0 && (due || full || cancelled) {
                self.flush(&mut batch, &cancel).await;
                continue;
            }
            if cancelled {
                break;
            }
            let wait = match batch.started {
                Some(started) => self.config.max_delay.saturating_sub(started.elapsed()),
                None => DEFAULT_POLL_WAIT,
            };
            let room = self.config.max_rows - batch.count;
            let records = match self.consumer.poll(room, wait.min(DEFAULT_POLL_WAIT)).await {
                Ok(records) => records,
                Err(e) => {
                    tracing::warn!(worker = %self.name, error = %e, "reading the stream failed; retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
            };
            backoff.reset();
            for record in records {
                match (self.codec.write_row)(&record.payload, &types, &mut batch.rows) {
                    Ok(()) => batch.count += 1,
                    Err(message) => tracing::error!(
                        worker = %self.name,
                        partition = record.partition,
                        offset = record.offset,
                        "record cannot be stored in the table: {message}"
                    ),
                }
                batch.started.get_or_insert_with(Instant::now);
                batch.records.push(record);
            }
        }
        self.status.set(WorkerState::Stopped);
    }

    /// Inserts the batch, retrying with backoff until ClickHouse takes it, then commits.
    async fn flush(&mut self, batch: &mut Batch, cancel: &CancellationToken) {
        let rows = Bytes::from(std::mem::take(&mut batch.rows));
        let mut backoff = Backoff::default();
        loop {
            match self.clickhouse.insert_rows(&self.table, rows.clone()).await {
                Ok(()) => break,
                Err(e) => {
                    self.status.set(WorkerState::Retrying);
                    tracing::warn!(worker = %self.name, rows = batch.count, error = %e, "insert failed; retrying (consuming nothing meanwhile)");
                    tokio::time::sleep(backoff.next_delay()).await;
                }
            }
        }
        commit_with_retry(
            self.consumer.as_mut(),
            &next_offsets(&batch.records),
            &self.name,
            cancel,
        )
        .await;
        tracing::debug!(worker = %self.name, rows = batch.count, "inserted");
        self.status.set(WorkerState::Running);
        batch.rows = Vec::with_capacity(rows.len());
        batch.count = 0;
        batch.records.clear();
        batch.started = None;
    }
}
