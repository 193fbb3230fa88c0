//! The seed's chained transforms: `raw_data` (ingest API + stream) is doubled into
//! `intermediate_stream`, which is tripled into `final_stream` (stream + table).
//!
//! ```text
//! POST /ingest/raw_data {"id": "a", "value": 2}
//!   -> intermediate_stream {"id": "a", "doubled_value": 4,  "timestamp": ...}
//!   -> final_stream        {"id": "a", "tripled_value": 12, "timestamp": ...}   (ClickHouse table)
//! ```
//!
//! The same graph with the builder API, without the macro:
//!
//! ```
//! # use moose::prelude::*;
//! # #[data_model] pub struct RawData { #[key] pub id: String, pub value: f64 }
//! # #[data_model] pub struct IntermediateData { #[key] pub id: String, pub doubled_value: f64, pub timestamp: chrono::DateTime<chrono::Utc> }
//! # #[data_model] pub struct FinalData { #[key] pub id: String, pub tripled_value: f64, pub timestamp: chrono::DateTime<chrono::Utc> }
//! # fn double(r: RawData) -> IntermediateData { IntermediateData { id: r.id, doubled_value: r.value * 2.0, timestamp: chrono::Utc::now() } }
//! # fn triple(r: IntermediateData) -> FinalData { FinalData { id: r.id, tripled_value: r.doubled_value * 3.0, timestamp: chrono::Utc::now() } }
//! let app = App::new();
//! let raw_data = app.ingest_pipeline::<RawData>("raw_data", IngestPipelineConfig::new().ingest(true).stream(true))?;
//! let intermediate_stream = app.stream::<IntermediateData>("intermediate_stream", StreamConfig::default())?;
//! let final_stream = app.ingest_pipeline::<FinalData>("final_stream", IngestPipelineConfig::new().stream(true).table(true))?;
//! raw_data.stream()?.add_transform(&intermediate_stream, double)?;
//! intermediate_stream.add_transform(final_stream.stream()?, triple)?;
//! assert_eq!(app.describe().transforms.len(), 2);
//! # Ok::<(), moose::GraphError>(())
//! ```

use chrono::{DateTime, Utc};
use moose::prelude::*;

/// What clients post.
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct RawData {
    /// Record id.
    #[key]
    pub id: String,
    /// The measured value.
    pub value: f64,
}

/// After the first step.
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct IntermediateData {
    /// Record id.
    #[key]
    pub id: String,
    /// `value * 2`.
    pub doubled_value: f64,
    /// When the first step ran.
    pub timestamp: DateTime<Utc>,
}

/// What lands in ClickHouse.
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct FinalData {
    /// Record id.
    #[key]
    pub id: String,
    /// `doubled_value * 3`.
    pub tripled_value: f64,
    /// When the second step ran.
    pub timestamp: DateTime<Utc>,
}

/// First step: double the value and stamp the time.
pub fn double(record: RawData) -> IntermediateData {
    IntermediateData {
        id: record.id,
        doubled_value: record.value * 2.0,
        timestamp: Utc::now(),
    }
}

/// Second step: triple the doubled value and stamp the time.
pub fn triple(record: IntermediateData) -> FinalData {
    FinalData {
        id: record.id,
        tripled_value: record.doubled_value * 3.0,
        timestamp: Utc::now(),
    }
}

/// The pipeline graph.
pub fn app() -> App {
    pipeline! {
        raw_data: IngestPipeline<RawData> { ingest: true, stream: true, table: false },
        intermediate_stream: Stream<IntermediateData>,
        final_stream: IngestPipeline<FinalData> { ingest: false, stream: true, table: true },
        raw_data => transform(double) => intermediate_stream => transform(triple) => final_stream,
    }
}

fn main() -> std::process::ExitCode {
    moose::run(app())
}
