//! `GET /stats`: the topology with its live counts, as JSON, for `top` and the dashboard.
//! Counters are totals since start; clients compute rates from two snapshots.
//!
//! `top` reads the answer back into these same types. Every field has a default, so it also
//! reads an app built with a slightly older or newer moose (a field it does not know is
//! ignored, one it misses reads as zero or empty).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use serde::{Deserialize, Serialize};

use super::{Labels, Telemetry, label};
use crate::topology::{DeadLetterTarget, Topology};

/// A snapshot of the running app.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    /// The server's clock, milliseconds since the epoch.
    pub taken_at_ms: u64,
    /// Seconds since the runtime started.
    pub uptime_secs: f64,
    /// moose's version.
    pub version: String,
    /// `embedded log` or `kafka <brokers>`.
    pub backend: String,
    /// The ClickHouse server.
    pub clickhouse: ClickHouseStats,
    /// What `/ready` says.
    pub ready: ReadyStats,
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

/// The ClickHouse server in use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClickHouseStats {
    /// URL, credentials redacted.
    pub url: String,
    /// Server version.
    pub version: String,
    /// Database of the tables.
    pub database: String,
}

/// Readiness and why not.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReadyStats {
    /// What `/ready` answers 200 for.
    pub ready: bool,
    /// Sentences saying what is wrong, when not ready.
    pub reasons: Vec<String>,
}

/// One ingest route.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskStats {
    /// Its label.
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

/// Every status an ingest route answers with (`ingest::IngestError::status` and 200).
const ANSWERS: [u16; 11] = [200, 400, 401, 404, 405, 408, 413, 415, 422, 500, 503];

fn value(family: &Family<Labels, Counter>, key: &'static str, name: &str) -> u64 {
    family.get(&label(key, name)).map_or(0, |c| c.get())
}

impl Stats {
    /// The snapshot of `topology` from `telemetry`'s counters.
    pub fn collect(
        topology: &Topology,
        telemetry: &Telemetry,
        backend: String,
        clickhouse: ClickHouseStats,
        ready: ReadyStats,
    ) -> Stats {
        let queue = |q: &Option<DeadLetterTarget>| q.as_ref().map(|q| q.name.clone());
        let dead = |q: &Option<DeadLetterTarget>, source: &str| {
            q.as_ref().map_or(0, |q| {
                telemetry
                    .dead_letters
                    .get(&super::DeadLetterLabels {
                        queue: q.name.clone(),
                        source: source.to_owned(),
                    })
                    .map_or(0, |c| c.get())
            })
        };
        let name = |id| topology.stream(id).declared.clone();
        let lag = |group: &str, id| {
            let topic = topology.stream(id);
            telemetry.lag_of(group, &topic.declared, topic.spec.partitions)
        };
        let dead_letter_streams: Vec<String> = topology
            .transforms
            .iter()
            .map(|t| &t.dead_letter)
            .chain(topology.consumers.iter().map(|c| &c.dead_letter))
            .chain(topology.syncs.iter().map(|s| &s.dead_letter))
            .filter_map(queue)
            .chain(
                topology
                    .routes
                    .iter()
                    .filter_map(|r| r.dead_letter.as_ref())
                    .filter_map(|d| topology.streams().find(|(_, t)| t.spec.name == d.topic))
                    .map(|(_, t)| t.declared.clone()),
            )
            .collect();
        let stage = &telemetry.transform;
        let transforms = topology
            .transforms
            .iter()
            .map(|t| TaskStats {
                label: t.label.clone(),
                from: Some(name(t.from)),
                to: Some(t.to.iter().map(|id| name(*id)).collect()),
                stream: None,
                group: t.group.clone(),
                records_in: value(&stage.records_in, stage.key, &t.label),
                records_out: value(&stage.records_out, stage.key, &t.label),
                errors: value(&stage.errors, stage.key, &t.label),
                dead_letters: dead(&t.dead_letter, &t.label),
                dead_letter_queue: queue(&t.dead_letter),
                lag: lag(&t.group, t.from),
            })
            .collect();
        let stage = &telemetry.consumer;
        let consumers = topology
            .consumers
            .iter()
            .map(|c| TaskStats {
                label: c.label.clone(),
                from: None,
                to: None,
                stream: Some(name(c.stream)),
                group: c.group.clone(),
                records_in: value(&stage.records_in, stage.key, &c.label),
                records_out: value(&stage.records_out, stage.key, &c.label),
                errors: value(&stage.errors, stage.key, &c.label),
                dead_letters: dead(&c.dead_letter, &c.label),
                dead_letter_queue: queue(&c.dead_letter),
                lag: lag(&c.group, c.stream),
            })
            .collect();
        let syncs = topology
            .syncs
            .iter()
            .map(|s| {
                let table = topology.table(s.table);
                SyncStats {
                    stream: name(s.stream),
                    table: table.declared.clone(),
                    qualified_table: table.resolved.qualified_name(),
                    group: s.group.clone(),
                    rows: value(&telemetry.sync_rows, "table", &table.declared),
                    batches: value(&telemetry.sync_batches, "table", &table.declared),
                    insert_failures: value(
                        &telemetry.sync_insert_failures,
                        "table",
                        &table.declared,
                    ),
                    rows_rejected: value(&telemetry.sync_rows_rejected, "table", &table.declared),
                    dead_letter_queue: queue(&s.dead_letter),
                    lag: lag(&s.group, s.stream),
                }
            })
            .collect();
        Stats {
            taken_at_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            uptime_secs: telemetry.uptime().as_secs_f64(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            backend,
            clickhouse,
            ready,
            routes: topology
                .routes
                .iter()
                .map(|r| {
                    let path = r.path();
                    let metrics = telemetry.ingest(&path);
                    let requests: u64 = ANSWERS.iter().map(|s| metrics.answered_with(*s)).sum();
                    let ok = metrics.answered_with(200);
                    RouteStats {
                        stream: topology
                            .streams()
                            .find(|(_, t)| t.spec.name == r.topic)
                            .map(|(_, t)| t.declared.clone())
                            .unwrap_or_default(),
                        requests,
                        refused: requests - ok,
                        records: value(&telemetry.ingest_records, "route", &path),
                        bytes: value(&telemetry.ingest_bytes, "route", &path),
                        path,
                    }
                })
                .collect(),
            streams: topology
                .streams()
                .map(|(_, t)| StreamStats {
                    name: t.declared.clone(),
                    topic: t.spec.name.clone(),
                    partitions: t.spec.partitions,
                    records: value(&telemetry.stream_records, "stream", &t.declared),
                    dead_letter_queue: dead_letter_streams.contains(&t.declared),
                })
                .collect(),
            transforms,
            consumers,
            syncs,
        }
    }
}
