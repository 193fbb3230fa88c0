//! The seed's single transform: `raw_data` (ingest API + stream) is transformed into
//! `transformed_data` (stream + table), field for field as in MooseStack's example:
//! `{"id", "value"}` in, `{"id", "transformedValue": value * 2, "transformedAt"}` out.
//!
//! With the builder API:
//!
//! ```
//! # use moose::prelude::*;
//! # #[data_model] pub struct RawData { #[key] pub id: String, pub value: f64 }
//! # #[data_model] #[serde(rename_all = "camelCase")] pub struct TransformedData { #[key] pub id: String, pub transformed_value: f64, pub transformed_at: chrono::DateTime<chrono::Utc> }
//! let app = App::new();
//! let raw = app.ingest_pipeline::<RawData>("raw_data", IngestPipelineConfig::new().ingest(true).stream(true))?;
//! let out = app.ingest_pipeline::<TransformedData>("transformed_data", IngestPipelineConfig::new().stream(true).table(true))?;
//! raw.stream()?.add_transform(out.stream()?, |r: RawData| TransformedData {
//!     id: r.id,
//!     transformed_value: r.value * 2.0,
//!     transformed_at: chrono::Utc::now(),
//! })?;
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

/// What lands in ClickHouse.
#[data_model]
#[serde(rename_all = "camelCase")]
#[derive(Debug, Clone, PartialEq)]
pub struct TransformedData {
    /// Record id.
    #[key]
    pub id: String,
    /// `value * 2` (`transformedValue`).
    pub transformed_value: f64,
    /// When the transform ran (`transformedAt`).
    pub transformed_at: DateTime<Utc>,
}

/// Doubles the value and stamps the time.
pub fn transform(record: RawData) -> TransformedData {
    TransformedData {
        id: record.id,
        transformed_value: record.value * 2.0,
        transformed_at: Utc::now(),
    }
}

/// The pipeline graph.
pub fn app() -> App {
    pipeline! {
        raw_data: IngestPipeline<RawData> { ingest: true, stream: true, table: false },
        transformed_data: IngestPipeline<TransformedData> { ingest: false, stream: true, table: true },
        raw_data => transform(transform) => transformed_data,
    }
}

fn main() -> std::process::ExitCode {
    moose::run(app())
}
