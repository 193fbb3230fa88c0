//! The embedded durable stream log ([`LocalLog`]): what dev mode uses instead of Kafka.
//!
//! # Guarantees
//!
//! - **Durable acknowledgements.** `produce` returns `Ok` only once its records are fsynced.
//!   Concurrent producers share fsyncs (group commit): each writes its batch with one
//!   positioned write under the partition lock, then waits; one producer at a time fsyncs
//!   everything written so far and acknowledges everyone it covered.
//! - **Consumers see only durable records.** A partition's high watermark is its fsynced
//!   end; nothing past it is ever served, so no record a consumer saw can be lost by a crash.
//! - **Crash recovery.** Every record carries a CRC-32. On open, the last segment of every
//!   partition is scanned and a torn or damaged tail is cut off (with a warning giving the
//!   number of bytes); appends continue after the last intact record.
//! - **Write errors** (disk full: [`StreamError::Unavailable`](crate::stream::StreamError);
//!   others: `Io`) cut the failed append off again, so the log stays consistent and accepts
//!   writes once space is back. A failed fsync also discards every unsynced record, whose
//!   producers get an error.
//! - **One process per directory**, enforced by an OS advisory lock on `LOCK`.
//!
//! # On disk
//!
//! ```text
//! <dir>/LOCK                                   advisory lock; holds the owner's pid
//! <dir>/topics/<topic>/topic.json              {"name", "partitions", "retention_ms", "format"}
//! <dir>/topics/<topic>/<partition>/<base>.log  segments, named by their first offset (20 digits)
//! <dir>/groups/<group>/<topic>.json            {"group", "topic", "offsets": {"<partition>": next}}
//! ```
//!
//! Topic and group names are kept in file names with unsafe bytes escaped as `%XX`. The
//! record format is described in `record.rs`. Offsets per partition start at 0 and are dense.
//! Segments roll at [`DEFAULT_SEGMENT_BYTES`]; a segment whose newest record is older than
//! its topic's retention is deleted (on append, on open, and by
//! [`LocalLog::enforce_retention`]), and consumers positioned before the oldest retained
//! offset skip forward to it.
//!
//! Lifecycle management changes topics through `alter_topic` and `delete_topic`: a new
//! retention is written to `topic.json` and applies to the open partitions at once; more
//! partitions are new directories named in `topic.json` afterwards (fewer are refused);
//! deleting a topic removes its groups' offsets, then `topic.json`, then its data, and a
//! topic directory without `topic.json` is cleared when the topic is created again, so a
//! deleted topic's records never come back.
//!
//! Keys are spread over partitions by 64-bit FNV-1a modulo the partition count, so one key
//! always lands in one partition; records with an empty key go round-robin. Member
//! `MemberId { index, count }` of a group reads the partitions `p % count == index`.

mod append;
mod backend;
mod config;
mod consumer;
mod cursor;
mod disk;
mod groups;
mod lock;
mod log;
mod partition;
mod record;
mod retention;
mod segment;
mod topic;

#[cfg(test)]
mod tests;

pub use config::{DEFAULT_SEGMENT_BYTES, LocalLogConfig};
pub use log::LocalLog;
pub use record::MAX_RECORD_BYTES;
