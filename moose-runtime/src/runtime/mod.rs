//! The runtime: starts the backends, brings tables and topics to what the code declares
//! (`crate::plan`), spawns workers, serves HTTP, and shuts down cleanly (in-flight batches
//! drained) on SIGINT/SIGTERM.

mod config;
mod dead_letters;
mod names;
mod peek;
mod planning;
mod start;

pub use config::RuntimeConfig;
pub use names::{consumer_group, sync_group, table_name, topic_name, transform_group};
pub use planning::plan_app;
pub use start::{Mode, Runtime, RuntimeError};
