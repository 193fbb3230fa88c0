//! Batching settings, with the reasons for their defaults.

use std::time::Duration;

/// ClickHouse wants few large inserts (about one per second per table, thousands of rows
/// each); 100k rows bounds a batch's memory to a few tens of MiB for small records.
pub const DEFAULT_SYNC_MAX_ROWS: usize = 100_000;

/// Caps a batch's encoded size so wide records cannot blow memory up: 16 MiB.
pub const DEFAULT_SYNC_MAX_BYTES: usize = 16 * 1024 * 1024;

/// Rows are queryable within about a second of arriving while inserts stay ~1/s per worker.
pub const DEFAULT_SYNC_MAX_DELAY: Duration = Duration::from_secs(1);

/// Records a transform worker takes per poll: large enough to amortise one produce and one
/// commit, small enough to keep per-batch latency in milliseconds.
pub const DEFAULT_TRANSFORM_BATCH: usize = 10_000;

/// How long an idle worker waits for records before checking for shutdown again.
pub const DEFAULT_POLL_WAIT: Duration = Duration::from_millis(100);

/// When a sync worker flushes a batch into ClickHouse: whichever limit is reached first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncConfig {
    /// Rows per insert at most.
    pub max_rows: usize,
    /// Encoded bytes per insert at most.
    pub max_bytes: usize,
    /// Longest a row waits in the batch.
    pub max_delay: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            max_rows: DEFAULT_SYNC_MAX_ROWS,
            max_bytes: DEFAULT_SYNC_MAX_BYTES,
            max_delay: DEFAULT_SYNC_MAX_DELAY,
        }
    }
}
