//! The seed's chained transforms: `raw_data` (ingest API + stream) goes through
//! `intermediate_stream` into `final_stream` (stream + table), field for field as in
//! MooseStack's example (camelCase on the wire and in ClickHouse).
//!
//! ```text
//! POST /ingest/raw_data {"id": "a", "value": 2}
//!   -> intermediate_stream {"id": "a", "transformedValue": 4, "transformedAt": ...}
//!   -> final_stream        {"id": "a", "transformedValue": 8, "anotherTransformedValue": 12,
//!                           "transformedAt": ...}                        (ClickHouse table)
//! ```
//!
//! The same graph with the builder API, without the macro:
//!
//! ```
//! # use moose::prelude::*;
//! # #[data_model] pub struct RawData { #[key] pub id: String, pub value: f64 }
//! # #[data_model] #[serde(rename_all = "camelCase")] pub struct IntermediateData { #[key] pub id: String, pub transformed_value: f64, pub transformed_at: chrono::DateTime<chrono::Utc> }
//! # #[data_model] #[serde(rename_all = "camelCase")] pub struct FinalData { #[key] pub id: String, pub transformed_value: f64, pub another_transformed_value: f64, pub transformed_at: chrono::DateTime<chrono::Utc> }
//! # fn first(r: RawData) -> IntermediateData { IntermediateData { id: r.id, transformed_value: r.value * 2.0, transformed_at: chrono::Utc::now() } }
//! # fn second(r: IntermediateData) -> FinalData { FinalData { id: r.id, transformed_value: r.transformed_value * 2.0, another_transformed_value: r.transformed_value * 3.0, transformed_at: chrono::Utc::now() } }
//! let app = App::new();
//! let raw_data = app.ingest_pipeline::<RawData>("raw_data", IngestPipelineConfig::new().ingest(true).stream(true))?;
//! let intermediate_stream = app.stream::<IntermediateData>("intermediate_stream", StreamConfig::default())?;
//! let final_stream = app.ingest_pipeline::<FinalData>("final_stream", IngestPipelineConfig::new().stream(true).table(true))?;
//! raw_data.stream()?.add_transform(&intermediate_stream, first)?;
//! intermediate_stream.add_transform(final_stream.stream()?, second)?;
//! assert_eq!(app.describe().transforms.len(), 2);
//! # Ok::<(), moose::GraphError>(())
//! ```

use moose::chrono::{DateTime, Utc};
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
#[serde(rename_all = "camelCase")]
#[derive(Debug, Clone, PartialEq)]
pub struct IntermediateData {
    /// Record id.
    #[key]
    pub id: String,
    /// `value * 2` (`transformedValue`).
    pub transformed_value: f64,
    /// When the first step ran (`transformedAt`).
    pub transformed_at: DateTime<Utc>,
}

/// What lands in ClickHouse.
#[data_model]
#[serde(rename_all = "camelCase")]
#[derive(Debug, Clone, PartialEq)]
pub struct FinalData {
    /// Record id.
    #[key]
    pub id: String,
    /// The intermediate `transformedValue * 2` (`transformedValue`).
    pub transformed_value: f64,
    /// The intermediate `transformedValue * 3` (`anotherTransformedValue`).
    pub another_transformed_value: f64,
    /// When the second step ran (`transformedAt`).
    pub transformed_at: DateTime<Utc>,
}

/// First step: double the value and stamp the time.
pub fn double(record: RawData) -> IntermediateData {
    IntermediateData {
        id: record.id,
        transformed_value: record.value * 2.0,
        transformed_at: Utc::now(),
    }
}

/// Second step: double and triple the intermediate value and stamp the time.
pub fn triple(record: IntermediateData) -> FinalData {
    FinalData {
        id: record.id,
        transformed_value: record.transformed_value * 2.0,
        another_transformed_value: record.transformed_value * 3.0,
        transformed_at: Utc::now(),
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
