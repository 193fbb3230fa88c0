//! The pipeline graph: streams, tables, ingest APIs, transforms and consumers.
//!
//! [`App`] collects them through typed handles ([`Stream`], [`OlapTable`],
//! [`IngestPipeline`]); `pipeline!` expands to exactly these calls. Mistakes that only show
//! at run time (names computed at run time) come back as [`GraphError`], never a panic.
//!
//! Once a [`Runtime`](crate::runtime::Runtime) runs the app, the same handles write from
//! code: [`Stream::send`] publishes records (checked like ingest, durable on return) and
//! [`OlapTable::insert`] inserts rows straight into a table ([`InsertStrategy`]).

mod app;
mod codec;
mod config;
mod dead_letter;
mod describe;
mod error;
mod handles;
mod insert;
mod nodes;
mod routing;
pub(crate) mod running;
mod send;
mod transform;

pub use app::{
    App, ConsumerNode, Graph, IngestApiNode, StreamNode, TableNode, TransformFunction,
    TransformNode, versioned_name,
};
pub use codec::{DecodeError, ModelCodec, RowError, decode_value};
pub use config::{
    DEFAULT_PARALLELISM, DEFAULT_RETENTION, IngestPipelineConfig, InvalidRecordPolicy, LifeCycle,
    OlapConfig, StreamConfig, TransformConfig,
};
pub use dead_letter::{DEAD_LETTER_SUFFIX, DeadLetter, DeadLetterKind, DeadLetterSource};
pub use describe::{
    ConsumerDescription, GraphDescription, IngestApiDescription, StreamDescription,
    TableDescription, TransformDescription,
};
pub use error::GraphError;
pub use handles::{IngestPipeline, OlapTable, Stream};
pub use insert::{FailedRow, InsertError, InsertReport, InsertStrategy, RowFailure};
pub use routing::{
    Destinations, ErasedRoutedTransform, Routed, RoutedOutput, RoutedRecord, RoutedReturn,
    StreamRefOf,
};
pub use send::{InvalidRecord, SendError};
pub use transform::{
    AsyncFn, BoxFuture, ConsumerOutput, ConsumerReturn, EncodedRecord, ErasedConsumer,
    ErasedFunction, ErasedTransform, Failure, FailureKind, Outcome, RECORDS_PER_YIELD, Settle,
    SyncFn, TransformOutput, TransformReturn, erase_consumer, erase_transform,
};
