//! The seed's stream configuration, stream for stream: `high_throughput` (four partitions and
//! four workers per transform and sync, one day of retention), `prod_stream` (owned by someone
//! else: moose only checks it exists and fits) and `dev_stream` (moose creates, changes and
//! deletes it as the code says).
//!
//! In `dev`, a missing ExternallyManaged topic is created on the embedded log with a warning
//! (nobody else could create it there); `start` refuses to run without it (docs/LIFECYCLE.md).
//!
//! The same streams with the builder API:
//!
//! ```
//! # use moose::prelude::*;
//! # #[data_model] pub struct RawData { #[key] pub id: String, pub value: f64 }
//! let app = App::new();
//! app.stream::<RawData>(
//!     "high_throughput",
//!     StreamConfig::default().parallelism(4).retention_secs(86_400),
//! )?;
//! app.stream::<RawData>(
//!     "prod_stream",
//!     StreamConfig::default().life_cycle(LifeCycle::ExternallyManaged),
//! )?;
//! app.stream::<RawData>(
//!     "dev_stream",
//!     StreamConfig::default().life_cycle(LifeCycle::FullyManaged),
//! )?;
//! assert_eq!(app.describe().streams[0].parallelism, 4);
//! # Ok::<(), moose::GraphError>(())
//! ```

use moose::prelude::*;

/// One record, as in the seed's other examples.
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct RawData {
    /// Record id: the message key, so one id's records stay in one partition, in order.
    #[key]
    pub id: String,
    /// The measured value.
    pub value: f64,
}

/// The pipeline graph.
pub fn app() -> App {
    pipeline! {
        // Four partitions (and four workers per transform and table sync); one day of retention.
        high_throughput: Stream<RawData> { parallelism: 4, retention: 86400 },
        // Owned by someone else: moose only checks it exists and fits the model.
        prod_stream: Stream<RawData> { life_cycle: ExternallyManaged },
        // moose creates, changes and deletes it as the code says.
        dev_stream: Stream<RawData> { life_cycle: FullyManaged },
    }
}

fn main() -> std::process::ExitCode {
    moose::run(app())
}
