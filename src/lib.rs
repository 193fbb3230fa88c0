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
//! ## Timestamps
//!
//! Timestamp fields (`SystemTime`, `DateTime<Utc>`, `OffsetDateTime`, and `Option` of each)
//! accept, in JSON:
//!
//! - RFC 3339: `"2026-11-24T18:59:27.123Z"`, `"2026-11-24T20:59:27.123+02:00"`;
//! - ClickHouse's text form, what `SELECT` on a table prints: `"2026-11-24 18:59:27"`,
//!   `"2026-11-24 18:59:27.123"` (no zone: UTC);
//! - epoch **seconds** as a JSON number: `1795546767`, or `1795546767.123` (the fraction kept
//!   to the microsecond). Numbers are never milliseconds: one past the year 9999 (such as
//!   `1795546767123`) is refused with a hint to divide by 1000.
//!
//! Anything else is refused at ingest with the accepted forms in the message. They are
//! written in one form everywhere (streams, dead letters, `peek` of streams and of tables):
//! RFC 3339 in UTC with as many sub-second digits as the column stores
//! (`#[moose(precision = N)]`, default 3): `"2026-11-24T18:59:27.123Z"`. A field with a
//! `#[serde(with = ...)]` (or `deserialize_with`) of your own keeps your form; timestamps
//! inside a `Vec` or a map keep their crate's own serde form.
//!
//! Precision 6 and 9 (`DateTime64(6|9, 'UTC')`) round-trip exactly on servers with
//! `DateTime64` (20.1+). Servers without it (Debian's 18.16) store `DateTime('UTC')`: whole
//! seconds, the sub-second digits dropped, with a warning naming the column when the table is
//! resolved (`dev`, `start`, `plan`, `ddl`).
//!
//! ## Unknown JSON fields
//!
//! `#[data_model(extra_fields = "...")]` says what a struct does with JSON fields it does not
//! declare:
//!
//! - `"ignore"` (the default): they are dropped;
//! - `"deny"`: a record with one is invalid; ingest answers 400 listing every unknown field's
//!   JSON path (`{"index": 3, "path": ".colour", ...}`, nested ones too, `.layers[0].gloss`),
//!   and nothing is written (with `invalid_records(InvalidRecordPolicy::DeadLetter)`, each
//!   such record is one dead letter naming every path). A record with unknown fields that
//!   reaches the stream another way (a foreign Kafka producer) fails to decode at the next
//!   transform or table and is dead-lettered like any undecodable record;
//! - `"capture"`: they are kept in the one field marked `#[extra_fields]`
//!   (`serde_json::Map<String, Value>`, or a `BTreeMap`/`HashMap` of `String` to `Value`),
//!   stored as one `JSON` column (a `String` of JSON text on servers without `JSON`, such as
//!   18.16), and written back as top-level fields of the record on every stream, so a
//!   downstream transform or Kafka reader sees the record as it was sent. A captured name that
//!   is also one of the model's columns is not written twice: the typed field wins.
//!
//! ```
//! use moose::prelude::*;
//!
//! #[data_model(extra_fields = "capture")]
//! pub struct Event {
//!     #[key]
//!     pub id: String,
//!     #[extra_fields]
//!     pub extra: moose::serde_json::Map<String, moose::serde_json::Value>,
//! }
//!
//! let event: Event = moose::serde_json::from_str(r#"{"id":"a","colour":"red"}"#).unwrap();
//! assert_eq!(event.extra["colour"], "red");
//! assert_eq!(moose::serde_json::to_string(&event).unwrap(), r#"{"id":"a","colour":"red"}"#);
//! ```
//!
//! Capturing decodes through serde's `flatten`, which buffers the unknown fields: a capturing
//! model decodes somewhat slower than the others.
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
/// `serde_json`: `Value` fields and the `Map` an `#[extra_fields]` field holds.
pub use moose_runtime::serde_json;
#[cfg(feature = "time")]
pub use moose_runtime::time;
#[cfg(feature = "uuid")]
pub use moose_runtime::uuid;

#[doc(hidden)]
pub use moose_runtime::__private;
