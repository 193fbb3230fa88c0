//! What the runtime counts, in one Prometheus registry per runtime: `GET /metrics` encodes
//! it, `GET /stats` (for `top` and the dashboard) reads the same counters back.
//!
//! Workers and routes take their handles ([`Counter`], [`Histogram`]) once, when they start;
//! counting is then one relaxed atomic add per batch, not a label lookup per record.
//!
//! | metric | labels |
//! |---|---|
//! | `moose_ingest_requests_total` | `route`, `status` |
//! | `moose_ingest_records_total`, `moose_ingest_bytes_total`, `moose_ingest_request_duration_seconds` | `route` |
//! | `moose_stream_records_total` (records produced to a stream) | `stream` |
//! | `moose_transform_records_in_total`, `_records_out_total`, `_errors_total`, `_batch_duration_seconds` | `transform` (`<from>-><to>[@<version>]`) |
//! | `moose_consumer_records_in_total`, `_records_out_total`, `_errors_total`, `_batch_duration_seconds` | `consumer` |
//! | `moose_sync_rows_total`, `_batches_total`, `_insert_duration_seconds`, `_insert_failures_total`, `_rows_rejected_total` | `table` |
//! | `moose_consumer_lag_records` (end offset minus committed offset) | `group`, `stream`, `partition` |
//! | `moose_dead_letters_total` | `queue`, `source` |
//! | `moose_build_info` | `version`, `backend`, `clickhouse_version` |
//! | `process_resident_memory_bytes`, `process_cpu_seconds_total` | |

mod counted;
mod process;
pub mod stats;

use std::sync::Mutex;
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

pub use counted::{CountedStreams, LAG_SAMPLE_INTERVAL, sample_lag};
pub use stats::Stats;

/// Upper bounds of the duration histograms, in seconds: 0.5 ms doubling to ~8 s, which spans
/// a fast ingest request and a ClickHouse insert that waits on a merge.
fn duration_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

type Durations = Family<Labels, Histogram, fn() -> Histogram>;

/// A label set of one key and value: `route`, `stream`, `transform`, `consumer` or `table`
/// and what the series is about (`route="/ingest/raw_data"`).
pub type Labels = [(&'static str, String); 1];

/// `route`, `status`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteStatus {
    route: String,
    status: u16,
}

/// `group`, `stream`, `partition`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LagLabels {
    group: String,
    stream: String,
    partition: u32,
}

/// `queue`, `source`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeadLetterLabels {
    queue: String,
    source: String,
}

/// One runtime's metrics.
#[derive(Debug)]
pub struct Telemetry {
    registry: Mutex<Registry>,
    started: Instant,
    ingest_requests: Family<RouteStatus, Counter>,
    ingest_records: Family<Labels, Counter>,
    ingest_bytes: Family<Labels, Counter>,
    ingest_duration: Durations,
    stream_records: Family<Labels, Counter>,
    transform: Stage,
    consumer: Stage,
    sync_rows: Family<Labels, Counter>,
    sync_batches: Family<Labels, Counter>,
    sync_insert_duration: Durations,
    sync_insert_failures: Family<Labels, Counter>,
    sync_rows_rejected: Family<Labels, Counter>,
    lag: Family<LagLabels, Gauge>,
    dead_letters: Family<DeadLetterLabels, Counter>,
}

/// The four families of a transform or consumer stage.
#[derive(Debug)]
struct Stage {
    /// `transform` or `consumer`.
    key: &'static str,
    records_in: Family<Labels, Counter>,
    records_out: Family<Labels, Counter>,
    errors: Family<Labels, Counter>,
    duration: Durations,
}

fn durations() -> Durations {
    Family::new_with_constructor(duration_buckets)
}

impl Stage {
    fn new(key: &'static str) -> Self {
        Stage {
            key,
            records_in: Family::default(),
            records_out: Family::default(),
            errors: Family::default(),
            duration: durations(),
        }
    }
}

/// What `moose_build_info` says.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    /// `embedded` or `kafka`.
    pub backend: &'static str,
    /// The ClickHouse server's version.
    pub clickhouse_version: String,
}

impl Telemetry {
    /// Empty counters, registered under their documented names.
    pub fn new(build: BuildInfo) -> Self {
        let mut registry = Registry::default();
        let t = Telemetry {
            registry: Mutex::new(Registry::default()),
            started: Instant::now(),
            ingest_requests: Family::default(),
            ingest_records: Family::default(),
            ingest_bytes: Family::default(),
            ingest_duration: durations(),
            stream_records: Family::default(),
            transform: Stage::new("transform"),
            consumer: Stage::new("consumer"),
            sync_rows: Family::default(),
            sync_batches: Family::default(),
            sync_insert_duration: durations(),
            sync_insert_failures: Family::default(),
            sync_rows_rejected: Family::default(),
            lag: Family::default(),
            dead_letters: Family::default(),
        };
        let r = &mut registry;
        r.register(
            "moose_ingest_requests",
            "Ingest requests answered, by status code",
            t.ingest_requests.clone(),
        );
        r.register(
            "moose_ingest_records",
            "Records accepted by ingest",
            t.ingest_records.clone(),
        );
        r.register(
            "moose_ingest_bytes",
            "Request body bytes of accepted ingest requests",
            t.ingest_bytes.clone(),
        );
        r.register(
            "moose_ingest_request_duration_seconds",
            "Ingest request time, from the body's first byte to the answer",
            t.ingest_duration.clone(),
        );
        r.register(
            "moose_stream_records",
            "Records produced to a stream (acknowledged by it)",
            t.stream_records.clone(),
        );
        for (prefix, stage) in [
            ("moose_transform", &t.transform),
            ("moose_consumer", &t.consumer),
        ] {
            r.register(
                format!("{prefix}_records_in"),
                "Records read from the source stream",
                stage.records_in.clone(),
            );
            r.register(
                format!("{prefix}_records_out"),
                "Records written to the destination streams",
                stage.records_out.clone(),
            );
            r.register(
                format!("{prefix}_errors"),
                "Records the function failed on (error, panic, undecodable)",
                stage.errors.clone(),
            );
            r.register(
                format!("{prefix}_batch_duration_seconds"),
                "Time to run a batch through the function and write its output",
                stage.duration.clone(),
            );
        }
        r.register(
            "moose_sync_rows",
            "Rows inserted into the table",
            t.sync_rows.clone(),
        );
        r.register(
            "moose_sync_batches",
            "Inserts into the table",
            t.sync_batches.clone(),
        );
        r.register(
            "moose_sync_insert_duration_seconds",
            "Time of one ClickHouse insert",
            t.sync_insert_duration.clone(),
        );
        r.register(
            "moose_sync_insert_failures",
            "Inserts ClickHouse refused or did not answer (each retry counts)",
            t.sync_insert_failures.clone(),
        );
        r.register(
            "moose_sync_rows_rejected",
            "Rows that could not be stored (sent to the dead-letter queue or skipped)",
            t.sync_rows_rejected.clone(),
        );
        r.register(
            "moose_consumer_lag_records",
            "End offset minus the group's committed offset",
            t.lag.clone(),
        );
        r.register(
            "moose_dead_letters",
            "Records written to a dead-letter queue",
            t.dead_letters.clone(),
        );
        r.register(
            "moose_build",
            "Build and environment",
            Info::new(vec![
                ("version", env!("CARGO_PKG_VERSION").to_owned()),
                ("backend", build.backend.to_owned()),
                ("clickhouse_version", build.clickhouse_version),
            ]),
        );
        r.register_collector(Box::new(process::ProcessCollector));
        *t.registry.lock().expect("registry lock") = registry;
        t
    }

    /// Prometheus text (with `# EOF`), as `GET /metrics` answers.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().expect("registry lock");
        prometheus_client::encoding::text::encode(&mut out, &registry)
            .expect("writing to a String cannot fail");
        out
    }

    /// Time since the runtime started.
    pub fn uptime(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// The handles of ingest route `route` (its declared path).
    pub fn ingest(&self, route: &str) -> IngestMetrics {
        let labels = label("route", route);
        IngestMetrics {
            route: route.to_owned(),
            ok: self.ingest_requests.get_or_create_owned(&RouteStatus {
                route: route.to_owned(),
                status: 200,
            }),
            requests: self.ingest_requests.clone(),
            records: self.ingest_records.get_or_create_owned(&labels),
            bytes: self.ingest_bytes.get_or_create_owned(&labels),
            duration: self.ingest_duration.get_or_create_owned(&labels),
        }
    }

    /// Records produced to stream `stream` (its declared name).
    pub fn stream_records(&self, stream: &str) -> Counter {
        self.stream_records
            .get_or_create_owned(&label("stream", stream))
    }

    /// The handles of transform `label`.
    pub fn transform(&self, label: &str) -> StageMetrics {
        self.transform.handles(label)
    }

    /// The handles of consumer `label`.
    pub fn consumer(&self, label: &str) -> StageMetrics {
        self.consumer.handles(label)
    }

    /// The handles of the sync into table `table` (its declared name).
    pub fn sync(&self, table: &str) -> SyncMetrics {
        let labels = label("table", table);
        SyncMetrics {
            rows: self.sync_rows.get_or_create_owned(&labels),
            batches: self.sync_batches.get_or_create_owned(&labels),
            insert_duration: self.sync_insert_duration.get_or_create_owned(&labels),
            insert_failures: self.sync_insert_failures.get_or_create_owned(&labels),
            rows_rejected: self.sync_rows_rejected.get_or_create_owned(&labels),
        }
    }

    /// Records `source` sent to dead-letter queue `queue`.
    pub fn dead_letters(&self, queue: &str, source: &str) -> Counter {
        self.dead_letters.get_or_create_owned(&DeadLetterLabels {
            queue: queue.to_owned(),
            source: source.to_owned(),
        })
    }

    /// Sets the lag of `group` on one partition of `stream`.
    pub fn set_lag(&self, group: &str, stream: &str, partition: u32, records: u64) {
        self.lag
            .get_or_create(&LagLabels {
                group: group.to_owned(),
                stream: stream.to_owned(),
                partition,
            })
            .set(i64::try_from(records).unwrap_or(i64::MAX));
    }

    /// The summed lag of `group` on `stream`, as last sampled.
    pub fn lag_of(&self, group: &str, stream: &str, partitions: u32) -> u64 {
        (0..partitions)
            .filter_map(|partition| {
                self.lag
                    .get(&LagLabels {
                        group: group.to_owned(),
                        stream: stream.to_owned(),
                        partition,
                    })
                    .map(|g| g.get().max(0) as u64)
            })
            .sum()
    }
}

fn label(key: &'static str, value: &str) -> Labels {
    [(key, value.to_owned())]
}

impl Stage {
    fn handles(&self, name: &str) -> StageMetrics {
        let labels = label(self.key, name);
        StageMetrics {
            records_in: self.records_in.get_or_create_owned(&labels),
            records_out: self.records_out.get_or_create_owned(&labels),
            errors: self.errors.get_or_create_owned(&labels),
            duration: self.duration.get_or_create_owned(&labels),
        }
    }
}

/// One ingest route's handles.
#[derive(Debug, Clone)]
pub struct IngestMetrics {
    route: String,
    /// Requests answered 200: taken once, so the common answer costs no label lookup.
    ok: Counter,
    requests: Family<RouteStatus, Counter>,
    /// Records accepted.
    pub records: Counter,
    /// Body bytes of accepted requests.
    pub bytes: Counter,
    /// Request durations.
    pub duration: Histogram,
}

impl IngestMetrics {
    /// Counts one answered request.
    pub fn answered(&self, status: u16) {
        if status == 200 {
            self.ok.inc();
            return;
        }
        self.requests
            .get_or_create(&RouteStatus {
                route: self.route.clone(),
                status,
            })
            .inc();
    }

    /// Requests answered with `status` so far.
    pub fn answered_with(&self, status: u16) -> u64 {
        self.requests
            .get(&RouteStatus {
                route: self.route.clone(),
                status,
            })
            .map_or(0, |c| c.get())
    }
}

/// One transform's or consumer's handles.
#[derive(Debug, Clone)]
pub struct StageMetrics {
    /// Records read.
    pub records_in: Counter,
    /// Records written.
    pub records_out: Counter,
    /// Records failed on.
    pub errors: Counter,
    /// Batch durations.
    pub duration: Histogram,
}

impl Default for StageMetrics {
    /// Handles registered nowhere: counting into them is a no-op for `/metrics` (for workers
    /// run without a runtime, as in unit tests).
    fn default() -> Self {
        StageMetrics {
            records_in: Counter::default(),
            records_out: Counter::default(),
            errors: Counter::default(),
            duration: duration_buckets(),
        }
    }
}

/// One table sync's handles.
#[derive(Debug, Clone)]
pub struct SyncMetrics {
    /// Rows inserted.
    pub rows: Counter,
    /// Inserts.
    pub batches: Counter,
    /// Insert durations.
    pub insert_duration: Histogram,
    /// Failed inserts.
    pub insert_failures: Counter,
    /// Rows not stored.
    pub rows_rejected: Counter,
}

impl Default for SyncMetrics {
    /// Handles registered nowhere (see [`StageMetrics::default`]).
    fn default() -> Self {
        SyncMetrics {
            rows: Counter::default(),
            batches: Counter::default(),
            insert_duration: duration_buckets(),
            insert_failures: Counter::default(),
            rows_rejected: Counter::default(),
        }
    }
}
