//! Streams: the [`StreamBackend`] trait and its implementations.
//!
//! - `local`: the embedded durable log (dev mode; nothing to install);
//! - `kafka`: Kafka / Redpanda through rdkafka (production; the `kafka` feature).
//!
//! Both move batches, not single records, and both pass the same conformance tests.
//! Payloads are one JSON object per record (wire names = serde names) and the message key is
//! the model's key field(s), so any Kafka tool can read a topic.

mod backend;
mod error;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod local;

pub(crate) use backend::Acked;
pub use backend::{
    COMMIT_INTERVAL, ConsumedRecord, MemberId, PartitionLag, StreamBackend, StreamConsumer,
    Streams, TopicAdmin, TopicChange, TopicSpec,
};
pub use error::StreamError;

pub use crate::graph::EncodedRecord;
