//! Tunables of the embedded log.

use crate::schema::PayloadFormat;

/// Size at which the active segment of a partition is sealed and a new one started.
///
/// Rolling costs one fsync and one file creation, so segments should be large enough that
/// it is rare; retention deletes whole segments, so they should be small enough that space
/// is freed in useful steps, and a sealed segment's first read (which scans it to build its
/// index) stays short: 64 MiB is scanned in tens of milliseconds.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;

/// How the embedded log lays out its files. [`Default`] is right for every real use; tests
/// shrink segments to exercise rolling and retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalLogConfig {
    /// A partition's active segment is sealed once appending the next batch would take it
    /// past this many bytes (a single batch larger than this still goes into one segment).
    pub segment_bytes: u64,
    /// How records are encoded on this log's streams: the models' binary form unless a
    /// caller asks for JSON (`MOOSE_LOCAL_PAYLOAD=json`, to compare the two).
    pub payload_format: PayloadFormat,
}

impl Default for LocalLogConfig {
    fn default() -> Self {
        Self {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            payload_format: PayloadFormat::Binary,
        }
    }
}
