//! Settings of the Kafka backend, the named defaults with their reasons, and the librdkafka
//! properties built from them.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::config::RDKafkaLogLevel;

/// How long a produce waits for every record to be acknowledged by all in-sync replicas
/// before it fails with [`StreamError::Unavailable`](crate::stream::StreamError::Unavailable) (librdkafka `message.timeout.ms`, the
/// Java client's `delivery.timeout.ms`). While the brokers are unreachable, ingest answers 503
/// after at most this long: long enough to ride out a leader election (seconds), well under
/// the usual 30 s HTTP client timeout.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the producer waits to fill a batch (`linger.ms`). Concurrent ingest requests and
/// a transform's outputs share one request per partition; an acknowledgement is delayed by at
/// most this much.
pub const PRODUCER_LINGER: Duration = Duration::from_millis(5);

/// Largest batch of records per partition in one produce request (`batch.size`): 1 MiB,
/// the broker's default message size limit, so a full batch is one request.
pub const PRODUCER_BATCH_BYTES: usize = 1 << 20;

/// Bytes of records (keys and payloads) the producer holds in its local queue at most,
/// across topics, until the brokers acknowledge them (`queue.buffering.max.kbytes`;
/// librdkafka: 1 GiB). A produce that finds the queue full waits for room (see
/// [`PRODUCER_QUEUE_FULL_WAIT`]), so ingest slows down instead of memory growing: 32 MiB is
/// several times what 4 concurrent 10k-record ingest requests and two transforms keep in
/// flight with small records, and the benchmark never waited for room.
pub const PRODUCER_QUEUE_BYTES: usize = 32 << 20;

/// Records the producer holds in its local queue at most (`queue.buffering.max.messages`;
/// librdkafka's default, named here because each one costs a few hundred bytes of
/// librdkafka's bookkeeping on top of its key and payload).
pub const PRODUCER_QUEUE_RECORDS: usize = 100_000;

/// How long a produce waits before offering the rest of a batch again when the producer's
/// local queue is full (see [`PRODUCER_QUEUE_RECORDS`]); the whole wait is bounded by
/// [`DELIVERY_TIMEOUT`].
pub const PRODUCER_QUEUE_FULL_WAIT: Duration = Duration::from_millis(2);

/// Batch compression (`compression.type`). JSON compresses several times over; lz4 costs the
/// least CPU per byte saved on both ends and every Kafka client and broker reads it.
pub const PRODUCER_COMPRESSION: &str = "lz4";

/// How keys choose partitions (`partitioner`): murmur2, the Java client's partitioner, so one
/// key lands in the same partition whichever client wrote it (Java, kafka-python, Redpanda's
/// tools); records without a key go to a random partition.
pub const PARTITIONER: &str = "murmur2_random";

/// How consumers of a group share partitions (`partition.assignment.strategy`). The range
/// assignor orders members by member id, which the broker derives from `client.id`; the
/// runtime names its `n`th consumer of a group `moose-<n>`, so members of several instances
/// interleave and every instance gets its share of the partitions (see the module docs).
pub const ASSIGNMENT_STRATEGY: &str = "range";

/// How long a consumer pauses fetching once its local queue is full
/// (`fetch.queue.backoff.ms`; librdkafka: 1 s). A worker drains a full queue in a fraction of
/// that, then sat idle for the rest of the second: on the project's earlier test broker the
/// pipeline moved 126k rows/s with librdkafka's defaults and 192k rows/s with this and
/// [`CONSUMER_PREFETCH_RECORDS`].
pub const CONSUMER_QUEUE_BACKOFF: Duration = Duration::from_millis(10);

/// Records a consumer keeps fetched ahead per partition (`queued.min.messages`; librdkafka:
/// 100,000): two polls of a transform ([`crate::worker::DEFAULT_TRANSFORM_BATCH`]), which
/// keeps the worker busy with a tenth of the memory.
pub const CONSUMER_PREFETCH_RECORDS: usize = 20_000;

/// Bytes a consumer asks for per partition in one fetch (`max.partition.fetch.bytes`;
/// librdkafka: 1 MiB). Each fetched record becomes one librdkafka operation of a few hundred
/// bytes (malloc'd, outside the Rust allocator) until the worker takes it, and the limit
/// counts compressed bytes: 1 MiB of lz4-compressed small JSON records is ~5 MiB and ~70k
/// records once unpacked, more than three workers' batches. 256 KiB is still more than one
/// transform batch ([`crate::worker::DEFAULT_TRANSFORM_BATCH`]) of small records per fetch.
pub const CONSUMER_FETCH_PARTITION_BYTES: usize = 256 << 10;

/// Bytes a consumer asks for per fetch across its partitions (`fetch.max.bytes`; librdkafka:
/// 50 MiB): four partitions' worth of [`CONSUMER_FETCH_PARTITION_BYTES`], and above
/// librdkafka's floor (`message.max.bytes`, ~1 MB).
pub const CONSUMER_FETCH_BYTES: usize = 4 * CONSUMER_FETCH_PARTITION_BYTES;

/// Bytes of records a consumer keeps fetched ahead at most (`queued.max.messages.kbytes`;
/// librdkafka: 64 MiB per consumer, and the runtime runs one consumer per transform, sync and
/// consumer function, times `parallelism`). With small records
/// [`CONSUMER_PREFETCH_RECORDS`] binds first; this bounds the prefetch of large ones.
pub const CONSUMER_PREFETCH_BYTES: usize = 8 << 20;

/// The largest message librdkafka's producer sends (`message.max.bytes`, its default; a
/// user's `properties` may change it). Kafka brokers take a little more by default (their
/// `message.max.bytes` is 1,048,588), so with defaults the producer's limit is the one that
/// binds. Unlike Moose, one record above it is dead-lettered alone: see
/// [`StreamBackend::max_record_bytes`](crate::stream::StreamBackend::max_record_bytes).
pub const PRODUCER_MESSAGE_MAX_BYTES: usize = 1_000_000;

/// Bytes librdkafka counts on top of a record's key and payload against `message.max.bytes`
/// (`RD_KAFKAP_MESSAGE_V2_MAX_OVERHEAD`: the varints of a v2 record's framing).
const RECORD_OVERHEAD_BYTES: usize = 36;

/// Admin requests (create, describe, alter, delete topics), metadata and offset look-ups.
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How long `/ready` waits for the cluster to answer a metadata request.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

/// Where a Kafka backend connects and how. Its `Debug` output leaves out the SASL password
/// and the values of the extra properties (they may hold secrets such as `ssl.key.password`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port,...`.
    pub brokers: String,
    /// `security.protocol`: `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`. Unset:
    /// `sasl_ssl` when a SASL user is given (managed clouds), librdkafka's `plaintext`
    /// otherwise.
    pub security_protocol: Option<String>,
    /// `sasl.mechanism`: `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` or `OAUTHBEARER`. Unset:
    /// `PLAIN` when a SASL user is given.
    pub sasl_mechanism: Option<String>,
    /// `sasl.username`.
    pub sasl_username: Option<String>,
    /// `sasl.password`.
    pub sasl_password: Option<String>,
    /// Replication factor of the topics the runtime creates; unset, the broker's default.
    pub replication_factor: Option<i32>,
    /// Any further librdkafka properties, applied last to every client (they win over the
    /// runtime's own settings).
    pub properties: Vec<(String, String)>,
}

impl std::fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |set: bool| if set { Some("<redacted>") } else { None };
        let properties: Vec<String> = self
            .properties
            .iter()
            .map(|(key, _)| format!("{key}=<redacted>"))
            .collect();
        f.debug_struct("KafkaConfig")
            .field("brokers", &self.brokers)
            .field("security_protocol", &self.security_protocol)
            .field("sasl_mechanism", &self.sasl_mechanism)
            .field("sasl_username", &self.sasl_username)
            .field("sasl_password", &redacted(self.sasl_password.is_some()))
            .field("replication_factor", &self.replication_factor)
            .field("properties", &properties)
            .finish()
    }
}

impl KafkaConfig {
    /// Brokers only, everything else default.
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            ..Self::default()
        }
    }

    /// Properties every client shares: brokers, security, logging, then the user's own.
    fn client(&self, role_defaults: &[(&str, String)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in role_defaults {
            config.set(*key, value);
        }
        let protocol = self
            .security_protocol
            .clone()
            .or_else(|| self.sasl_username.as_ref().map(|_| "sasl_ssl".to_owned()));
        if let Some(protocol) = protocol {
            config.set("security.protocol", protocol);
        }
        let mechanism = self
            .sasl_mechanism
            .clone()
            .or_else(|| self.sasl_username.as_ref().map(|_| "PLAIN".to_owned()));
        if let Some(mechanism) = mechanism {
            config.set("sasl.mechanism", mechanism);
        }
        if let Some(user) = &self.sasl_username {
            config.set("sasl.username", user);
        }
        if let Some(password) = &self.sasl_password {
            config.set("sasl.password", password);
        }
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        // librdkafka's log lines go to `tracing` (target `librdkafka`); with a `debug`
        // property set, its debug lines are wanted too.
        let level = if config.get("debug").is_some() {
            RDKafkaLogLevel::Debug
        } else {
            RDKafkaLogLevel::Info
        };
        config.set_log_level(level);
        config
    }

    /// The largest key plus payload the producer sends: `message.max.bytes` (from
    /// `properties`, else 1,000,000, librdkafka's default) less librdkafka's framing.
    pub fn max_record_bytes(&self) -> usize {
        self.properties
            .iter()
            .rev()
            .find(|(key, _)| key == "message.max.bytes")
            .and_then(|(_, value)| value.trim().parse::<usize>().ok())
            .unwrap_or(PRODUCER_MESSAGE_MAX_BYTES)
            .saturating_sub(RECORD_OVERHEAD_BYTES)
    }

    /// The producer: durable (acks from all in-sync replicas), idempotent (a retried batch is
    /// not written twice), batched and compressed.
    pub(super) fn producer(&self) -> ClientConfig {
        self.client(&[
            ("client.id", "moose-producer".to_owned()),
            ("acks", "all".to_owned()),
            ("enable.idempotence", "true".to_owned()),
            (
                "message.timeout.ms",
                DELIVERY_TIMEOUT.as_millis().to_string(),
            ),
            ("linger.ms", PRODUCER_LINGER.as_millis().to_string()),
            ("batch.size", PRODUCER_BATCH_BYTES.to_string()),
            ("compression.type", PRODUCER_COMPRESSION.to_owned()),
            ("partitioner", PARTITIONER.to_owned()),
            (
                "queue.buffering.max.kbytes",
                (PRODUCER_QUEUE_BYTES >> 10).to_string(),
            ),
            (
                "queue.buffering.max.messages",
                PRODUCER_QUEUE_RECORDS.to_string(),
            ),
        ])
    }

    /// Member `index` of consumer group `group`: offsets committed by the runtime only, a new
    /// group starting at the beginning of the topic.
    pub(super) fn consumer(&self, group: &str, index: u32) -> ClientConfig {
        self.client(&[
            ("client.id", member_client_id(index)),
            ("group.id", group.to_owned()),
            ("enable.auto.commit", "false".to_owned()),
            ("enable.auto.offset.store", "false".to_owned()),
            ("auto.offset.reset", "earliest".to_owned()),
            (
                "partition.assignment.strategy",
                ASSIGNMENT_STRATEGY.to_owned(),
            ),
            ("enable.partition.eof", "false".to_owned()),
            (
                "fetch.queue.backoff.ms",
                CONSUMER_QUEUE_BACKOFF.as_millis().to_string(),
            ),
            ("queued.min.messages", CONSUMER_PREFETCH_RECORDS.to_string()),
            (
                "queued.max.messages.kbytes",
                (CONSUMER_PREFETCH_BYTES >> 10).to_string(),
            ),
            (
                "max.partition.fetch.bytes",
                CONSUMER_FETCH_PARTITION_BYTES.to_string(),
            ),
            ("fetch.max.bytes", CONSUMER_FETCH_BYTES.to_string()),
        ])
    }

    /// A consumer that reads by explicit assignment and never joins or commits (`peek`).
    pub(super) fn reader(&self) -> ClientConfig {
        self.client(&[
            ("client.id", "moose-peek".to_owned()),
            // librdkafka wants a group for assignments; this one is never joined.
            ("group.id", "moose.peek".to_owned()),
            ("enable.auto.commit", "false".to_owned()),
            ("enable.auto.offset.store", "false".to_owned()),
            ("enable.partition.eof", "false".to_owned()),
        ])
    }

    /// The client that checks whether the cluster answers (a consumer that never joins a
    /// group: its event queue can be polled).
    pub(super) fn probe(&self) -> ClientConfig {
        self.client(&[("client.id", "moose-probe".to_owned())])
    }

    /// The admin client (topics) and metadata requests.
    pub(super) fn admin(&self) -> ClientConfig {
        self.client(&[("client.id", "moose-admin".to_owned())])
    }
}

/// `client.id` of the `index`th consumer of a group in one instance. Zero-padded so member
/// ids (`<client.id>-<uuid>`) sort by index first, then by instance.
pub(super) fn member_client_id(index: u32) -> String {
    format!("moose-{index:04}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_user_means_sasl_ssl_with_plain_unless_told_otherwise() {
        let mut config = KafkaConfig::new("b:9092");
        config.sasl_username = Some("u".into());
        config.sasl_password = Some("p".into());
        let client = config.producer();
        assert_eq!(client.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(client.get("sasl.mechanism"), Some("PLAIN"));
        assert_eq!(client.get("sasl.username"), Some("u"));
        config.sasl_mechanism = Some("SCRAM-SHA-256".into());
        config.security_protocol = Some("sasl_plaintext".into());
        let client = config.consumer("g", 0);
        assert_eq!(client.get("security.protocol"), Some("sasl_plaintext"));
        assert_eq!(client.get("sasl.mechanism"), Some("SCRAM-SHA-256"));
        assert_eq!(KafkaConfig::new("b").admin().get("security.protocol"), None);
    }

    #[test]
    fn debug_output_shows_no_secrets() {
        let mut config = KafkaConfig::new("b:9092");
        config.sasl_username = Some("key".into());
        config.sasl_password = Some("hunter2".into());
        config.properties = vec![("ssl.key.password".into(), "swordfish".into())];
        let shown = format!("{config:?}");
        assert!(shown.contains("b:9092") && shown.contains("key"), "{shown}");
        assert!(shown.contains("ssl.key.password"), "{shown}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("swordfish"),
            "{shown}"
        );
    }

    #[test]
    fn user_properties_win_over_the_defaults() {
        let mut config = KafkaConfig::new("b:9092");
        config.properties = vec![("linger.ms".into(), "50".into())];
        let producer = config.producer();
        assert_eq!(producer.get("linger.ms"), Some("50"));
        assert_eq!(producer.get("acks"), Some("all"));
        assert_eq!(producer.get("enable.idempotence"), Some("true"));
        let consumer = config.consumer("moose.sync.t.t", 3);
        assert_eq!(consumer.get("client.id"), Some("moose-0003"));
        assert_eq!(consumer.get("enable.auto.commit"), Some("false"));
    }
}
