//! The seed's basic ingest pipeline: `raw_data` is an ingest API, a stream and a table.
//!
//! With the builder API:
//!
//! ```
//! # use moose::prelude::*;
//! # #[data_model] pub struct RawData { #[key] pub id: String, pub value: f64 }
//! let app = App::new();
//! let raw = app.ingest_pipeline::<RawData>(
//!     "raw_data",
//!     IngestPipelineConfig::new().ingest(true).stream(true).table(true),
//! )?;
//! assert!(raw.stream.is_some() && raw.table.is_some());
//! # Ok::<(), moose::GraphError>(())
//! ```

use moose::prelude::*;

/// One record as clients post it: the seed's `{"id", "value"}`.
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct RawData {
    /// Record id.
    #[key]
    pub id: String,
    /// The measured value.
    pub value: f64,
}

/// The pipeline graph.
pub fn app() -> App {
    pipeline! {
        raw_data: IngestPipeline<RawData> { ingest: true, stream: true, table: true },
    }
}

fn main() -> std::process::ExitCode {
    moose::run(app())
}
