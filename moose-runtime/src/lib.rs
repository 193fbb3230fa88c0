//! The moose runtime: schema model, pipeline graph, stream backends, ClickHouse, ingest API
//! and workers. Most users reach it through the `moose` facade crate.

#![warn(missing_docs)]

pub mod schema;

#[doc(hidden)]
pub mod __private {
    pub use crate::schema;
    pub use serde;
    pub use serde_json;
    #[cfg(feature = "time")]
    pub use time::serde::rfc3339 as time_rfc3339;
}
