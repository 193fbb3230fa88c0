//! `GET /stats` as `top` reads it: the runtime's `telemetry::stats::Stats`, deserialized.
//!
//! Every field has a default, so `top` also reads an app built with a slightly older or newer
//! moose (a field it does not know is ignored, one it misses reads as zero or empty).

use serde::{Deserialize, Serialize};

/// One answer of `GET /stats`: totals since the app started.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Snapshot {
    /// The server's clock, milliseconds since the epoch.
    pub taken_at_ms: u64,
    /// Seconds since the app started.
    pub uptime_secs: f64,
    /// The app's moose version.
    pub version: String,
    /// `embedded log` or `kafka <brokers>`.
    pub backend: String,
    /// The ClickHouse server in use.
    pub clickhouse: ClickHouseInfo,
    /// What `/ready` says.
    pub ready: Readiness,
    /// Ingest routes.
    pub routes: Vec<RouteStats>,
    /// Streams.
    pub streams: Vec<StreamStats>,
    /// Transforms.
    pub transforms: Vec<TaskStats>,
    /// Consumers.
    pub consumers: Vec<TaskStats>,
    /// Table syncs.
    pub syncs: Vec<SyncStats>,
}

/// The ClickHouse server of the app.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ClickHouseInfo {
    /// URL, credentials redacted.
    pub url: String,
    /// Server version.
    pub version: String,
    /// Database of the tables.
    pub database: String,
}

/// Readiness and why not.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Readiness {
    /// What `/ready` answers 200 for.
    pub ready: bool,
    /// Sentences saying what is wrong, when not ready.
    pub reasons: Vec<String>,
}

/// One ingest route.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct RouteStats {
    /// Declared path.
    pub path: String,
    /// Stream written to.
    pub stream: String,
    /// Requests answered.
    pub requests: u64,
    /// Requests answered with a status other than 200.
    pub refused: u64,
    /// Records accepted.
    pub records: u64,
    /// Body bytes accepted.
    pub bytes: u64,
}

/// One stream.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct StreamStats {
    /// Declared name.
    pub name: String,
    /// Topic.
    pub topic: String,
    /// Partitions.
    pub partitions: u32,
    /// Records produced to it.
    pub records: u64,
    /// Whether it holds dead letters.
    pub dead_letter_queue: bool,
}

/// One transform or consumer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct TaskStats {
    /// Its label (`from->to` for a transform).
    pub label: String,
    /// Source stream (transforms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Destination streams (transforms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<String>>,
    /// The stream (consumers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// Consumer group.
    pub group: String,
    /// Records read.
    pub records_in: u64,
    /// Records written (transforms).
    pub records_out: u64,
    /// Records failed on.
    pub errors: u64,
    /// Records sent to its dead-letter queue.
    pub dead_letters: u64,
    /// Its dead-letter queue.
    pub dead_letter_queue: Option<String>,
    /// Records not yet committed by its group.
    pub lag: u64,
}

/// One table sync.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct SyncStats {
    /// The stream.
    pub stream: String,
    /// The table's declared name.
    pub table: String,
    /// `database.table`.
    pub qualified_table: String,
    /// Consumer group.
    pub group: String,
    /// Rows inserted.
    pub rows: u64,
    /// Inserts.
    pub batches: u64,
    /// Failed inserts.
    pub insert_failures: u64,
    /// Rows not stored.
    pub rows_rejected: u64,
    /// Its dead-letter queue.
    pub dead_letter_queue: Option<String>,
    /// Records not yet committed by its group.
    pub lag: u64,
}
