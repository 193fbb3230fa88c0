//! [`SyncWorker`]: batches a stream into a ClickHouse table.
//!
//! Over 400 lines: batching, inserting, isolating poison rows and committing are one loop over
//! one batch's state; the ledger and the dead-letter sink are separate files.
//!
//! - **Batches per partition.** A batch holds consecutive records of one partition, so its
//!   offset range `[start, end)` names it: the insert carries the deduplication token
//!   `moose:<db>.<table>:<topic>:<partition>:<first>-<last>` (servers with
//!   [`Feature::InsertDeduplicationToken`]), and the range is recorded in the
//!   [`SyncLedger`] before the insert, so after a crash the batch is cut, and deduplicated,
//!   exactly as before.
//! - **Poison rows.** When ClickHouse rejects a batch for its data
//!   ([`ClickHouseError::is_data_error`]), the batch is split in halves until the rejected
//!   rows are alone; every other row is inserted and the rejected ones go to the dead-letter
//!   queue (`insert_rejected`). Records that cannot even be encoded for the table go there
//!   too (`decode`, `insert_rejected`). A rejected row never blocks the partition.
//! - **Outages.** Any other failure is retried with backoff while nothing more is consumed:
//!   memory stays bounded by one batch, offsets stay uncommitted, nothing is lost.
//! - **Clusters.** Into a clustered table the insert goes through its `Distributed` table
//!   with `insert_distributed_sync=1`: acknowledged once every shard has its rows. A retry
//!   (or the batch re-cut from the ledger after a crash) is the same block, split between
//!   the shards the same way, so each shard's replicated table drops what it already has. A
//!   shard down or ZooKeeper lost is an outage as above, logged with what it means.
//! - **Commit last.** Offsets are committed only after the rows are in ClickHouse and the
//!   dead letters are durable.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::dead_letter::DeadLetterSink;
use super::ledger::SyncLedger;
use super::transform::commit_now;
use super::{Backoff, DEFAULT_POLL_WAIT, SyncConfig, WorkerState, WorkerStatus};
use crate::clickhouse::isolate::{Refused, insert_isolating};
use crate::clickhouse::{ClickHouse, ClickHouseError};
use crate::graph::{DeadLetter, DeadLetterKind, DeadLetterSource, ModelCodec, RowError};
use crate::schema::{ColumnType, Feature, ResolvedTable};
use crate::stream::{ConsumedRecord, StreamConsumer};
use crate::telemetry::SyncMetrics;

/// Most rows in one insert. ClickHouse parses an insert into blocks of
/// `max_insert_block_size` (1,048,576) rows and writes each block on its own; kept below that,
/// an insert is one block, which the server stores (and deduplicates) all or nothing.
pub const MAX_ROWS_PER_INSERT: usize = 1_000_000;

/// Most records taken per poll. Each is decoded and encoded on an async worker thread
/// without yielding; 10k (a few milliseconds) keeps ingest requests sharing those threads
/// from waiting behind the encoding of a whole 100k-row batch.
const MAX_RECORDS_PER_POLL: usize = 10_000;

/// Records encoded between yields to the async runtime (see [`MAX_RECORDS_PER_POLL`]).
const RECORDS_PER_YIELD: usize = 1024;

/// How long a batch being re-cut to a range recorded before a restart waits for the rest of
/// that range. Records of a recorded range were durable when it was recorded, so they come
/// back at once; this only guards against a stream that lost them.
const RECORDED_RANGE_PATIENCE: Duration = Duration::from_secs(30);

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
    /// The stream's topic (in deduplication tokens).
    pub topic: String,
    /// The stream's declared name (in dead letters).
    pub stream: String,
    /// Where rows that cannot be stored go.
    pub dead_letters: DeadLetterSink,
    /// Directory of the [`SyncLedger`] (`<data dir>/sync`) and the group's name; the ledger is
    /// used on servers with deduplication tokens and for clustered tables (replicated, so deduplicated by block).
    pub ledger: Option<(PathBuf, String)>,
    /// What it counts (`moose_sync_*`).
    pub metrics: SyncMetrics,
}

/// One consumed record in a batch, with where its row ends in the batch's rows.
struct Entry {
    offset: u64,
    payload: Bytes,
    row_end: usize,
}

/// The batch being filled for one partition.
#[derive(Default)]
struct Batch {
    rows: Vec<u8>,
    entries: Vec<Entry>,
    /// Records that could not be encoded for the table.
    letters: Vec<DeadLetter>,
    /// Offsets of the first and last record consumed (encoded or not).
    range: Option<(u64, u64)>,
    started: Option<Instant>,
    /// Bytes held: encoded rows plus payloads.
    bytes: usize,
    /// The end of a range recorded before a restart, and until when to wait for it.
    recorded_end: Option<(u64, Instant)>,
}

impl Batch {
    fn records(&self) -> usize {
        self.entries.len() + self.letters.len()
    }

    /// Whether it holds exactly a recorded range now.
    fn at_recorded_end(&self) -> bool {
        match (self.recorded_end, self.range) {
            (Some((end, _)), Some((_, last))) => last + 1 >= end,
            _ => false,
        }
    }
}

impl SyncWorker {
    /// Runs until `cancel`; rows already consumed are inserted and committed before it returns
    /// (unless ClickHouse is down then: they are read again after a restart).
    pub async fn run(mut self, cancel: CancellationToken) {
        self.status.set(WorkerState::Running);
        let max_rows = self.config.max_rows.clamp(1, MAX_ROWS_PER_INSERT);
        let dedup = self
            .clickhouse
            .capabilities()
            .supports(Feature::InsertDeduplicationToken);
        // Replicated tables (a clustered table's) drop a block identical to a recent one even
        // without tokens: the ledger makes the batch after a crash that identical block.
        let mut ledger = match (&self.ledger, dedup || self.table.is_clustered()) {
            (Some((dir, group)), true) => Some(SyncLedger::open(dir, group)),
            _ => None,
        };
        let types = self.table.column_types().to_vec();
        let mut batches: BTreeMap<u32, Batch> = BTreeMap::new();
        let mut seen: HashSet<u32> = HashSet::new();
        let mut backoff = Backoff::default();
        'run: loop {
            let cancelled = cancel.is_cancelled();
            let now = Instant::now();
            let rows: usize = batches.values().map(Batch::records).sum();
            let bytes: usize = batches.values().map(|b| b.bytes).sum();
            let full = rows >= max_rows || bytes >= self.config.max_bytes;
            let ready: Vec<u32> = batches
                .iter()
                .filter(|(_, b)| b.records() > 0)
                .filter(|(_, b)| match b.recorded_end {
                    // A re-cut batch ends exactly at its recorded end, whatever the limits.
                    Some((_, deadline)) => b.at_recorded_end() || now >= deadline,
                    None => {
                        cancelled
                            || full
                            || b.started
                                .is_some_and(|s| s.elapsed() >= self.config.max_delay)
                    }
                })
                .map(|(p, _)| *p)
                .collect();
            if !ready.is_empty() {
                for partition in ready {
                    let batch = batches.remove(&partition).unwrap_or_default();
                    if !self.flush(partition, batch, &mut ledger, &cancel).await {
                        break 'run;
                    }
                }
                continue;
            }
            if cancelled {
                // Re-cut batches short of their recorded end are left for the next start,
                // which cuts them the same way.
                break;
            }
            // Batches re-cut to a recorded range wait for records, not for the clock.
            let wait = batches
                .values()
                .filter(|b| b.recorded_end.is_none())
                .filter_map(|b| b.started)
                .map(|s| self.config.max_delay.saturating_sub(s.elapsed()))
                .min()
                .unwrap_or(DEFAULT_POLL_WAIT)
                .min(DEFAULT_POLL_WAIT);
            let waiting_for_recorded_end = batches.values().any(|b| b.recorded_end.is_some());
            let room = (max_rows - rows.min(max_rows))
                .min(MAX_RECORDS_PER_POLL)
                .max(usize::from(waiting_for_recorded_end));
            let records = match self.consumer.poll(room, wait).await {
                Ok(records) => records,
                Err(e) => {
                    tracing::warn!(worker = %self.name, error = %e, "reading the stream failed; retrying");
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
            };
            backoff.reset();
            for (i, record) in records.into_iter().enumerate() {
                if i > 0 && i % RECORDS_PER_YIELD == 0 {
                    // Encoding is CPU work on an async thread: let ingest requests in.
                    tokio::task::yield_now().await;
                }
                let partition = record.partition;
                if seen.insert(partition)
                    && let Some((start, end)) = ledger.as_ref().and_then(|l| l.range(partition))
                    && record.offset == start
                    && end > start
                {
                    tracing::info!(worker = %self.name, partition, start, end, "re-cutting the batch recorded before the restart, so its insert is deduplicated");
                    batches.entry(partition).or_default().recorded_end =
                        Some((end, Instant::now() + RECORDED_RANGE_PATIENCE));
                }
                let passed_recorded_end = batches
                    .get(&partition)
                    .and_then(|b| b.recorded_end)
                    .is_some_and(|(end, _)| record.offset >= end);
                if passed_recorded_end {
                    let batch = batches.remove(&partition).unwrap_or_default();
                    if batch.records() > 0
                        && !self.flush(partition, batch, &mut ledger, &cancel).await
                    {
                        break 'run;
                    }
                }
                self.push(batches.entry(partition).or_default(), record, &types);
            }
        }
        self.status.set(WorkerState::Stopped);
    }

    /// Adds a record to its partition's batch: its row, or its dead letter.
    fn push(&self, batch: &mut Batch, record: ConsumedRecord, types: &[ColumnType]) {
        let ConsumedRecord {
            partition,
            offset,
            payload,
            ..
        } = record;
        batch.started.get_or_insert_with(Instant::now);
        batch.range = Some(match batch.range {
            Some((first, _)) => (first, offset),
            None => (offset, offset),
        });
        let before = batch.rows.len();
        match (self.codec.write_row)(&payload, types, &mut batch.rows) {
            Ok(()) => {
                batch.bytes += batch.rows.len() - before + payload.len();
                batch.entries.push(Entry {
                    offset,
                    payload,
                    row_end: batch.rows.len(),
                });
            }
            Err(error) => {
                let (kind, message) = match error {
                    RowError::Decode(m) => (DeadLetterKind::Decode, m),
                    RowError::Encode(m) => (
                        DeadLetterKind::InsertRejected,
                        format!("cannot be stored in {}: {m}", self.table.qualified_name()),
                    ),
                };
                batch.bytes += payload.len();
                batch.letters.push(
                    DeadLetter::new(
                        DeadLetterSource::Table,
                        kind,
                        &self.stream,
                        self.codec.payload_text(&payload).as_bytes(),
                        message,
                    )
                    .at(partition, offset),
                );
            }
        }
    }

    /// Inserts a partition's batch (isolating rejected rows), dead-letters what cannot be
    /// stored, then commits. `false` when `cancel` fired while ClickHouse or the dead-letter
    /// stream was failing: nothing was committed.
    async fn flush(
        &mut self,
        partition: u32,
        batch: Batch,
        ledger: &mut Option<SyncLedger>,
        cancel: &CancellationToken,
    ) -> bool {
        let Some((first, last)) = batch.range else {
            return true;
        };
        if let Some(recorded) = ledger.take() {
            *ledger = Some(record_range(recorded, partition, first, last + 1, &self.name).await);
        }
        let flush_start = Instant::now();
        let rows = Bytes::from(batch.rows);
        let mut letters = batch.letters;
        if !self
            .insert_or_isolate(partition, &rows, &batch.entries, &mut letters, cancel)
            .await
        {
            return false;
        }
        letters.sort_by_key(|l| l.offset);
        self.metrics.rows_rejected.inc_by(letters.len() as u64);
        if !self
            .dead_letters
            .send(&self.name, &letters, &self.status, cancel)
            .await
        {
            return false;
        }
        // Committed at once, not on the consumer's cadence: the ledger's range of this
        // partition is only right while the committed offset is its start.
        commit_now(
            self.consumer.as_mut(),
            Some(&[(partition, last + 1)]),
            &self.name,
            cancel,
        )
        .await;
        tracing::debug!(worker = %self.name, partition, first, last, rows = batch.entries.len(), flush_us = flush_start.elapsed().as_micros() as u64, "inserted");
        self.status.set(WorkerState::Running);
        true
    }

    /// Inserts `entries`, splitting on data errors until each rejected row is alone
    /// ([`insert_isolating`]); the rejected ones are added to `letters`. `false` when
    /// `cancel` fired while ClickHouse was failing.
    async fn insert_or_isolate(
        &mut self,
        partition: u32,
        rows: &Bytes,
        entries: &[Entry],
        letters: &mut Vec<DeadLetter>,
        cancel: &CancellationToken,
    ) -> bool {
        let table = self.table.qualified_name();
        let inserter = Inserter {
            clickhouse: &self.clickhouse,
            table: &self.table,
            status: &self.status,
            name: &self.name,
            metrics: &self.metrics,
        };
        let insert = |range: Range<usize>| {
            let start = match range.start {
                0 => 0,
                lo => entries[lo - 1].row_end,
            };
            let slice = rows.slice(start..entries[range.end - 1].row_end);
            let token = format!(
                "moose:{}:{}:{partition}:{}-{}",
                table.replace('`', ""),
                self.topic,
                entries[range.start].offset,
                entries[range.end - 1].offset
            );
            async move {
                inserter
                    .insert_with_retry(slice, &token, range.len(), cancel)
                    .await
                    .map_err(|e| e.map_or(Refused::Stop(()), Refused::Data))
            }
        };
        let rejected = match insert_isolating(entries.len(), &self.name, insert).await {
            Ok(rejected) => rejected,
            Err(((), _)) => return false,
        };
        for (index, rejected) in rejected {
            let entry = &entries[index];
            tracing::warn!(worker = %self.name, partition, offset = entry.offset, error = %rejected, "ClickHouse rejected a row; it goes to the dead-letter queue");
            letters.push(
                DeadLetter::new(
                    DeadLetterSource::Table,
                    DeadLetterKind::InsertRejected,
                    &self.stream,
                    self.codec.payload_text(&entry.payload).as_bytes(),
                    format!("ClickHouse rejected the row for {table}: {rejected}"),
                )
                .at(partition, entry.offset),
            );
        }
        true
    }
}

/// What one insert of the sync needs, borrowed from its [`SyncWorker`] (whose consumer is not
/// `Sync`, so the worker itself cannot be shared by the inserts of a split batch).
#[derive(Clone, Copy)]
struct Inserter<'a> {
    clickhouse: &'a ClickHouse,
    table: &'a ResolvedTable,
    status: &'a WorkerStatus,
    name: &'a str,
    metrics: &'a SyncMetrics,
}

impl Inserter<'_> {
    /// One insert, retried with backoff until it succeeds or fails for its data
    /// (`Err(Some)`); `Err(None)` when `cancel` fired while retrying.
    async fn insert_with_retry(
        self,
        rows: Bytes,
        token: &str,
        count: usize,
        cancel: &CancellationToken,
    ) -> Result<(), Option<ClickHouseError>> {
        let mut backoff = Backoff::default();
        loop {
            let started = Instant::now();
            let outcome = self
                .clickhouse
                .insert_rows_once(self.table, rows.clone(), Some(token))
                .await;
            self.metrics
                .insert_duration
                .observe(started.elapsed().as_secs_f64());
            match outcome {
                Ok(()) => {
                    self.metrics.batches.inc();
                    self.metrics.rows.inc_by(count as u64);
                    return Ok(());
                }
                Err(e) if e.is_data_error() => {
                    self.metrics.insert_failures.inc();
                    return Err(Some(e));
                }
                Err(e) => {
                    self.metrics.insert_failures.inc();
                    self.status.failing(&e);
                    match e.cluster_hint().filter(|_| self.table.is_clustered()) {
                        Some(why) => {
                            tracing::warn!(worker = %self.name, rows = count, error = %e, "insert into the cluster failed: {why}; retrying the same block (consuming nothing meanwhile)")
                        }
                        None => {
                            tracing::warn!(worker = %self.name, rows = count, error = %e, "insert failed; retrying (consuming nothing meanwhile)")
                        }
                    }
                    if cancel.is_cancelled() {
                        return Err(None);
                    }
                    tokio::time::sleep(backoff.next_delay()).await;
                }
            }
        }
    }
}

/// Records `[start, end)` for `partition` off the async threads; a failure is logged and the
/// insert goes ahead (only deduplication after a crash is lost).
async fn record_range(
    mut ledger: SyncLedger,
    partition: u32,
    start: u64,
    end: u64,
    worker: &str,
) -> SyncLedger {
    let (ledger, result) = tokio::task::spawn_blocking(move || {
        let result = ledger.record(partition, start, end);
        (ledger, result)
    })
    .await
    .expect("writing the sync ledger does not panic");
    if let Err(e) = result {
        tracing::warn!(worker, partition, error = %e, "recording the batch range failed; inserting anyway (a crash before the commit may then store this batch twice)");
    }
    ledger
}
