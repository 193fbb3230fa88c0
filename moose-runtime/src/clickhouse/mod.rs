//! ClickHouse: the table side of every pipeline.
//!
//! Streams with a destination table are synced into ClickHouse. In production the runtime
//! talks to any server named by `MOOSE_CLICKHOUSE_URL`; in dev mode (and in tests) it starts a
//! server of its own with [`LocalClickHouse`]: a real `clickhouse-server` process on free
//! loopback ports, its data under the runtime's data directory, stopped when dropped.

mod client;
pub(crate) mod isolate;
mod local_server;

pub use client::{ClickHouse, ClickHouseConfig, ClickHouseError, DEFAULT_DATABASE};
pub use local_server::{LocalClickHouse, LocalServerError};
