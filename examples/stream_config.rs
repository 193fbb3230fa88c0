//! The seed's stream configuration: parallelism, retention and lifecycle modes.
//!
//! With the builder API:
//!
//! ```
//! # use moose::prelude::*;
//! # #[data_model] pub struct Event { #[key] pub id: String }
//! let app = App::new();
//! let events = app.stream::<Event>(
//!     "high_throughput",
//!     StreamConfig::default()
//!         .parallelism(4)
//!         .retention_secs(86_400)
//!         .life_cycle(LifeCycle::DeletionProtected),
//! )?;
//! assert_eq!(app.describe().streams[0].parallelism, 4);
//! # let _ = events;
//! # Ok::<(), moose::GraphError>(())
//! ```

use moose::prelude::*;

/// One event.
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Event id: the message key, so one id's events stay in one partition, in order.
    #[key]
    pub id: String,
    /// Event payload.
    pub value: f64,
}

/// The pipeline graph.
pub fn app() -> App {
    pipeline! {
        // Four partitions and four workers per transform and table sync; one day of retention.
        high_throughput: Stream<Event> { parallelism: 4, retention: 86400, destination: events_table },
        events_table: OlapTable<Event> { order_by: [id] },
        // moose may extend but never drop these.
        protected: IngestPipeline<Event> {
            ingest: true, stream: true, table: true,
            life_cycle: DeletionProtected,
        },
        // Owned by someone else: moose only checks they fit the model.
        external: Stream<Event> { life_cycle: ExternallyManaged },
        managed: Stream<Event> { life_cycle: FullyManaged, version: "1.1" },
    }
}

fn main() -> std::process::ExitCode {
    moose::run(app())
}
