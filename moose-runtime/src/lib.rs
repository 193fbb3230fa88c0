//! The moose runtime: schema model, pipeline graph, stream backends, ClickHouse, ingest API
//! and workers. Most users reach it through the `moose` facade crate.

#![warn(missing_docs)]

pub mod cli;
pub mod clickhouse;
pub mod graph;
pub mod ingest;
pub mod plan;
pub mod runtime;
pub mod schema;
pub mod stream;
pub mod worker;

#[doc(hidden)]
pub mod __private {
    pub use crate::graph;
    pub use crate::schema;

    /// Whether `names` contains `name`; `const` so `pipeline!` can check columns while compiling.
    pub const fn has_column(names: &[&str], name: &str) -> bool {
        let mut i = 0;
        while i < names.len() {
            let candidate = names[i].as_bytes();
            let wanted = name.as_bytes();
            if candidate.len() == wanted.len() {
                let mut j = 0;
                while j < wanted.len() && candidate[j] == wanted[j] {
                    j += 1;
                }
                if j == wanted.len() {
                    return true;
                }
            }
            i += 1;
        }
        false
    }

    /// Identity, spanned on the user's function so a type mismatch is reported there.
    pub fn check_transform<T, U, M, F: graph::IntoTransform<T, U, M>>(function: F) -> F {
        function
    }

    /// Identity, spanned on the user's function so a type mismatch is reported there.
    pub fn check_consumer<T, M, F: graph::IntoConsumer<T, M>>(function: F) -> F {
        function
    }
    pub use serde;
    pub use serde_json;
    #[cfg(feature = "time")]
    pub use time::serde::rfc3339 as time_rfc3339;
}
