//! Configuration of streams, ingest pipelines and transforms, with named defaults.

use std::time::Duration;

pub use crate::schema::{LifeCycle, OlapConfig};

/// One week: long enough to replay a weekend's worth of data after a downstream outage,
/// short enough that a busy stream does not fill a disk (Moose's default too).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// One partition and one worker: ordered and cheap; raise it for throughput.
pub const DEFAULT_PARALLELISM: u32 = 1;

/// A stream's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConfig {
    /// Partitions of the topic, and concurrent workers per transform and table sync.
    pub parallelism: u32,
    /// How long records are kept in the stream.
    pub retention_period: Duration,
    /// What moose may change about the topic.
    pub life_cycle: LifeCycle,
    /// Version suffix of the topic name (`name_1_0` for `"1.0"`).
    pub version: Option<String>,
    /// Name of the table this stream is synced into.
    pub destination: Option<String>,
    /// The stream's default dead-letter queue (the name of a stream of
    /// [`DeadLetter`](super::DeadLetter)): where records go that its transforms and consumers
    /// fail on, unless one names its own queue or opts out
    /// ([`TransformConfig::no_dead_letter_queue`]), and rows its table sync cannot store when
    /// the stream has no other queue. Moose's `defaultDeadLetterQueue`. The stream of an
    /// ingest pipeline with `dead_letter_queue: true` gets the pipeline's queue as default.
    pub dead_letter_queue: Option<String>,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            parallelism: DEFAULT_PARALLELISM,
            retention_period: DEFAULT_RETENTION,
            life_cycle: LifeCycle::default(),
            version: None,
            destination: None,
            dead_letter_queue: None,
        }
    }
}

impl StreamConfig {
    /// Sets [`StreamConfig::parallelism`].
    pub fn parallelism(mut self, parallelism: u32) -> Self {
        self.parallelism = parallelism;
        self
    }

    /// Sets [`StreamConfig::retention_period`] in seconds.
    pub fn retention_secs(mut self, seconds: u64) -> Self {
        self.retention_period = Duration::from_secs(seconds);
        self
    }

    /// Sets [`StreamConfig::life_cycle`].
    pub fn life_cycle(mut self, life_cycle: LifeCycle) -> Self {
        self.life_cycle = life_cycle;
        self
    }

    /// Sets [`StreamConfig::version`].
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Sets [`StreamConfig::destination`].
    pub fn destination(mut self, table: impl Into<String>) -> Self {
        self.destination = Some(table.into());
        self
    }

    /// Sets [`StreamConfig::dead_letter_queue`], the stream's default dead-letter queue.
    pub fn dead_letter_queue(mut self, stream: impl Into<String>) -> Self {
        self.dead_letter_queue = Some(stream.into());
        self
    }
}

/// An ingest pipeline: an HTTP ingest API, a stream, a table, or any sensible mix.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IngestPipelineConfig {
    /// Serve `POST /ingest/<name>` (needs `stream`).
    pub ingest: bool,
    /// Buffer records in a stream named like the pipeline.
    pub stream: bool,
    /// Store records in a table named like the pipeline (synced from the stream).
    pub table: bool,
    /// Stream settings (used when `stream`).
    pub stream_config: StreamConfig,
    /// Table settings (used when `table`).
    pub table_config: OlapConfig,
    /// Version of the API path, topic and table names: `POST /ingest/<name>/<version>`,
    /// topic and table `<name>_<version>` (dots become `_`). Several versions of one name may
    /// be declared side by side; `POST /ingest/<name>` goes to the latest of them unless an
    /// unversioned pipeline of that name has an ingest API.
    pub version: Option<String>,
    /// Serve the ingest API at `/ingest/<path>` instead of `/ingest/<name>[/<version>]`
    /// (segments of ASCII letters, digits, `_`, `-` and `.`, separated by `/`).
    pub path: Option<String>,
    /// Give the pipeline a dead-letter queue: a stream and a table named `<name>_dead_letter`
    /// of [`DeadLetter`](super::DeadLetter) records. Rows of the pipeline's table that cannot
    /// be stored (ClickHouse rejects them, or they cannot be encoded for the table) go there,
    /// and so do invalid ingest records under [`InvalidRecordPolicy::DeadLetter`]. Transforms
    /// name their own dead-letter stream ([`TransformConfig::dead_letter_queue`]).
    pub dead_letter_queue: bool,
    /// What the ingest API does with invalid records (default: reject the request).
    pub invalid_records: InvalidRecordPolicy,
}

/// What an ingest API does with a request that holds invalid records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvalidRecordPolicy {
    /// Answer 400 listing every invalid record; write nothing of the request. The client
    /// learns at once, and one request is all or nothing.
    #[default]
    Reject,
    /// Write the valid records, send each invalid one (its JSON text and the error) to the
    /// pipeline's dead-letter queue, and answer 200 with both counts. Needs
    /// `dead_letter_queue: true`. For producers that cannot fix or resend data.
    DeadLetter,
}

impl IngestPipelineConfig {
    /// Everything off; switch on what you need.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`IngestPipelineConfig::ingest`].
    pub fn ingest(mut self, on: bool) -> Self {
        self.ingest = on;
        self
    }

    /// Sets [`IngestPipelineConfig::stream`].
    pub fn stream(mut self, on: bool) -> Self {
        self.stream = on;
        self
    }

    /// Sets [`IngestPipelineConfig::table`].
    pub fn table(mut self, on: bool) -> Self {
        self.table = on;
        self
    }

    /// Sets [`IngestPipelineConfig::version`].
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Sets [`IngestPipelineConfig::path`].
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Sets [`IngestPipelineConfig::dead_letter_queue`].
    pub fn dead_letter_queue(mut self, on: bool) -> Self {
        self.dead_letter_queue = on;
        self
    }

    /// Sets [`IngestPipelineConfig::invalid_records`].
    pub fn invalid_records(mut self, policy: InvalidRecordPolicy) -> Self {
        self.invalid_records = policy;
        self
    }
}

/// Options of one transform or consumer.
///
/// ```
/// use moose_runtime::graph::TransformConfig;
///
/// let config = TransformConfig::default().version("2").dead_letter_queue("failures");
/// assert_eq!(config.dead_letter_queue.as_deref(), Some("failures"));
/// // Failures are logged and skipped, even if the source stream has a default queue:
/// assert!(TransformConfig::no_dead_letter_queue().no_dead_letter_queue);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransformConfig {
    /// Distinguishes several transforms between the same two streams.
    pub version: Option<String>,
    /// Name of the dead-letter stream (a stream of [`DeadLetter`](super::DeadLetter)) for
    /// records the function fails on: decode failures, `Err` returns, panics, outputs too
    /// large for the destination, records routed to an undeclared destination. Without one,
    /// the source stream's default ([`StreamConfig::dead_letter_queue`]) is used; without
    /// that either, such records are logged (`tracing::error!`), counted, and skipped.
    pub dead_letter_queue: Option<String>,
    /// Use no dead-letter queue, not even the source stream's default: failed records are
    /// logged, counted and skipped. Ignored when [`TransformConfig::dead_letter_queue`] is set.
    pub no_dead_letter_queue: bool,
}

impl TransformConfig {
    /// Options that opt out of the source stream's default dead-letter queue.
    pub fn no_dead_letter_queue() -> Self {
        Self {
            no_dead_letter_queue: true,
            ..Self::default()
        }
    }

    /// Sets [`TransformConfig::version`].
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Sets [`TransformConfig::dead_letter_queue`].
    pub fn dead_letter_queue(mut self, stream: impl Into<String>) -> Self {
        self.dead_letter_queue = Some(stream.into());
        self
    }
}
