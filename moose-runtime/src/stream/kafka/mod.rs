//! Streams on Kafka / Redpanda ([`KafkaBackend`]) through rdkafka with a vendored librdkafka:
//! what `start` uses when brokers are configured.
//!
//! # Guarantees
//!
//! - **Durable acknowledgements.** `produce` returns `Ok` only once the brokers acknowledged
//!   every record with `acks=all` (every in-sync replica has it). The producer is idempotent,
//!   so its own retries never write a record twice. While the cluster is unreachable a
//!   produce fails with
//!   [`StreamError::Unavailable`](crate::stream::StreamError::Unavailable) after at most [`DELIVERY_TIMEOUT`]:
//!   ingest answers 503, never 200 for a record that was not stored.
//! - **Commits only after downstream durability.** Nothing is committed automatically; a
//!   worker commits a batch's offsets after its outputs are produced or its rows inserted. A
//!   crash re-reads from the last commit (at-least-once).
//! - **Rebalances lose nothing.** Commits happen right after each durable batch, so at a
//!   revocation everything done is committed already; records handed out but not done are
//!   dropped by the member (a commit for a partition it no longer owns is skipped) and read
//!   again by the partition's next owner from the committed offset. A partition that comes
//!   straight back to its previous member continues where that member stood.
//! - **Keys keep order.** The message key is the model's key field(s) and partitions are chosen
//!   by murmur2 of the key ([`PARTITIONER`], the Java client's choice), so one key's records
//!   stay in one partition, in order, whichever client wrote them.
//!
//! # Topics and groups
//!
//! Topics are `[<namespace>.]<name>[_<version>]`, created at start with
//! `partitions = parallelism`, `retention.ms = retention` and the broker's default replication
//! factor (or `MOOSE_KAFKA_REPLICATION_FACTOR`); an existing topic is left as it is. Consumer
//! groups: `moose.transform.<from>.<to>[.<version>]` per transform, `moose.sync.<topic>.<table>`
//! per table sync, `moose.consumer.<topic>.<version|index>` per consumer function.
//!
//! # Scale-out
//!
//! Every instance of an app started against the same brokers joins the same groups, and
//! Kafka's group protocol shares the partitions; nothing else coordinates the instances. Each
//! instance runs `parallelism` members per group, named `client.id = moose-<index>`; the range
//! assignor ([`ASSIGNMENT_STRATEGY`]) orders members by id (`<client.id>-<uuid>`), so the first
//! members of all instances come first and the partitions spread over instances rather than
//! filling one instance's members first. A partition is read by one member at a time; when an
//! instance stops (or its session times out after a crash, `session.timeout.ms`) its
//! partitions move to the others, which read on from the committed offsets.
//!
//! # Settings
//!
//! [`KafkaConfig`]: brokers, `security.protocol`, SASL mechanism, user and password (TLS and
//! SASL PLAIN/SCRAM work out of the box: librdkafka is built with OpenSSL), the replication
//! factor, and any librdkafka property (`MOOSE_KAFKA_CONFIG`), which wins over the defaults
//! named in this module.

mod admin;
mod backend;
mod config;
mod consumer;
mod context;
mod error;
mod incremental;
mod lag;
mod peek;
mod produce;

pub use backend::KafkaBackend;
pub use config::{
    ADMIN_TIMEOUT, ASSIGNMENT_STRATEGY, CONSUMER_FETCH_BYTES, CONSUMER_FETCH_PARTITION_BYTES,
    CONSUMER_PREFETCH_BYTES, CONSUMER_PREFETCH_RECORDS, CONSUMER_QUEUE_BACKOFF, DELIVERY_TIMEOUT,
    HEALTH_TIMEOUT, KafkaConfig, PARTITIONER, PRODUCER_BATCH_BYTES, PRODUCER_COMPRESSION,
    PRODUCER_LINGER, PRODUCER_QUEUE_BYTES, PRODUCER_QUEUE_FULL_WAIT, PRODUCER_QUEUE_RECORDS,
};
