//! # moose
//!
//! Typed real-time ingest pipelines from Kafka/Redpanda (or an embedded stream log) into
//! ClickHouse. Annotate structs with [`data_model`], declare pipelines, run the binary.
//!
//! ```
//! use moose::prelude::*;
//!
//! /// One measurement from a sensor.
//! #[data_model]
//! pub struct Reading {
//!     /// Sensor id: the key, so one sensor's readings stay in order.
//!     #[key]
//!     pub sensor: String,
//!     pub value: f64,
//!     #[moose(low_cardinality)]
//!     pub unit: String,
//! }
//!
//! let columns = Reading::columns();
//! assert_eq!(columns[0].name, "sensor");
//! assert_eq!(columns[2].ty.to_string(), "LowCardinality(String)");
//! ```
//!
//! ## Type mapping
//!
//! | Rust | ClickHouse |
//! |---|---|
//! | `bool` | `Bool` (`UInt8` on servers before 21.12) |
//! | `i8`..`i128`, `u8`..`u128` | `Int8`..`Int128`, `UInt8`..`UInt128` |
//! | `f32`, `f64` | `Float32`, `Float64` |
//! | `String` | `String` |
//! | `std::time::SystemTime`, `chrono::DateTime<Utc>`, `time::OffsetDateTime` | `DateTime64(3, 'UTC')`, `#[moose(precision = N)]` to change |
//! | `chrono::NaiveDate`, `time::Date` | `Date32` |
//! | `uuid::Uuid` | `UUID` |
//! | `rust_decimal::Decimal` with `#[moose(decimal(P, S))]` | `Decimal(P, S)` |
//! | `Option<T>` | `Nullable(T)` |
//! | `Vec<T>` | `Array(T)` |
//! | `HashMap<String, T>`, `BTreeMap<String, T>` | `Map(String, T)` |
//! | `serde_json::Value` | `JSON` |
//! | `Ipv4Addr`, `Ipv6Addr` | `IPv4`, `IPv6` |
//! | fieldless `#[data_model] enum` | `Enum8` / `Enum16` |
//! | nested `#[data_model] struct` | `Tuple(name T, ...)` |
//!
//! Timestamps are RFC 3339 text in JSON. A `SystemTime` is written in UTC with as many
//! sub-second digits as its column stores (`2026-11-24T18:59:27.123Z`) and read with any
//! offset; it needs no date crate.
//!
//! A nested struct is a `Tuple`, not `Nested`: one column per field of the outer model, a
//! RowBinary encoding that is the plain concatenation of the inner fields, and the same shape
//! on every server version (`Nested` is flattened into parallel arrays, which splits one
//! Rust field into several columns and breaks the one-field-one-column rule).

pub use moose_macros::{data_model, pipeline};
/// Declarations: the graph, its handles and settings (what `pipeline!` builds).
pub use moose_runtime::graph;
pub use moose_runtime::graph::{
    App, DeadLetter, DeadLetterKind, DeadLetterSource, GraphError, IngestPipeline,
    IngestPipelineConfig, InvalidRecordPolicy, LifeCycle, OlapConfig, OlapTable, Routed, Stream,
    StreamConfig, TransformConfig,
};
// Writing from code while the app runs: `Stream::send` and `OlapTable::insert`.
pub use moose_runtime::graph::{InsertError, InsertReport, InsertStrategy, SendError};
/// The data-model layer: column types, DDL, the type mapping per server version.
pub use moose_runtime::schema;
pub use moose_runtime::schema::{
    ClickHouseCapabilities, Column, ColumnType, ColumnValue, DataModel, Engine, OrderBy,
    ResolvedTable, ServerVersion,
};
/// What an app runs, resolved: topics, tables, consumer groups, routes.
pub use moose_runtime::topology;

/// Everything a pipeline file needs: `use moose::prelude::*;`.
pub mod prelude {
    pub use crate::{data_model, pipeline};
    pub use moose_runtime::graph::{
        App, DeadLetter, DeadLetterKind, DeadLetterSource, GraphError, IngestPipeline,
        IngestPipelineConfig, InvalidRecordPolicy, LifeCycle, OlapConfig, OlapTable, Routed,
        Stream, StreamConfig, TransformConfig,
    };
    pub use moose_runtime::graph::{InsertStrategy, SendError};
    pub use moose_runtime::runtime::{Mode, Runtime, RuntimeConfig};
    pub use moose_runtime::schema::{ColumnType, DataModel, Engine, OrderBy};
}

/// The command line of an app binary: `dev`, `start`, `plan`, `ddl`, `peek`.
pub use moose_runtime::cli::{self, run, run_async};
pub use moose_runtime::ingest::IngestConfig;
pub use moose_runtime::runtime::{Mode, Runtime, RuntimeConfig, RuntimeError, plan_app};
#[cfg(feature = "kafka")]
pub use moose_runtime::stream::kafka::KafkaConfig;
pub use moose_runtime::worker::SyncConfig;

/// The crates of mapped field types (`chrono::DateTime<Utc>`, `uuid::Uuid`, ...), re-exported
/// so an app's `Cargo.toml` needs only `moose` (and `serde` for its own derives).
#[cfg(feature = "chrono")]
pub use moose_runtime::chrono;
#[cfg(feature = "decimal")]
pub use moose_runtime::rust_decimal;
#[cfg(feature = "time")]
pub use moose_runtime::time;
#[cfg(feature = "uuid")]
pub use moose_runtime::uuid;

#[doc(hidden)]
pub use moose_runtime::__private;
