//! Workers: the tasks that move batches between stages.
//!
//! - [`TransformWorker`]: source stream -> user function -> destination stream; commits source
//!   offsets only after the outputs are durable.
//! - [`SyncWorker`]: stream -> batches -> ClickHouse table; commits offsets only after
//!   ClickHouse acknowledged the insert, retrying with backoff (and consuming nothing)
//!   while it is down, so memory stays bounded and nothing is lost. Rows ClickHouse rejects
//!   are isolated and dead-lettered; inserts carry deduplication tokens where the server
//!   has them.
//! - [`DeadLetterSink`]: where records a worker cannot pass on go (a dead-letter stream, or a
//!   log line and a count).

mod backoff;
mod config;
mod dead_letter;
mod ledger;
mod status;
mod sync;
#[cfg(test)]
mod tests;
mod transform;

pub use backoff::Backoff;
pub use config::{
    DEFAULT_POLL_WAIT, DEFAULT_SYNC_MAX_BYTES, DEFAULT_SYNC_MAX_DELAY, DEFAULT_SYNC_MAX_ROWS,
    DEFAULT_TRANSFORM_BATCH, SyncConfig,
};
pub use dead_letter::{DeadLetterSink, FailureCounts, FailureTotals};
pub use ledger::SyncLedger;
pub use status::{DEFAULT_UNREADY_AFTER, Readiness, WorkerState, WorkerStatus};
pub use sync::{MAX_ROWS_PER_INSERT, SyncWorker};
pub use transform::{ConsumerWorker, TransformWorker};
