//! The runtime: opens the backends, resolves the app's [`Topology`](crate::topology::Topology),
//! brings tables and topics to what the code declares (`crate::plan`), spawns workers, serves
//! HTTP, and shuts down cleanly (in-flight batches drained) on SIGINT/SIGTERM.

mod backends;
mod config;
mod observe;
mod peek;
mod planning;
mod start;
mod threads;
mod workers;

pub(crate) use config::redact_url;
pub use config::{RuntimeConfig, default_worker_threads};
pub use planning::plan_app;
pub use start::{Mode, Runtime, RuntimeError};
