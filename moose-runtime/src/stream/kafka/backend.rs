//! [`KafkaBackend`]: [`TopicAdmin`] and [`StreamBackend`] on Kafka / Redpanda.

use rdkafka::producer::Producer as _;

use super::admin::{Topics, Unreachable};
use super::config::{ADMIN_TIMEOUT, HEALTH_TIMEOUT, KafkaConfig};
use super::consumer::KafkaConsumer;
use super::lag::LagReaders;
use super::peek::latest;
use super::produce::Producer;
use crate::graph::{BoxFuture, EncodedRecord};
use crate::stream::{
    ConsumedRecord, MemberId, PartitionLag, StreamBackend, StreamConsumer, StreamError, TopicAdmin,
    TopicChange, TopicSpec,
};

/// Streams as Kafka topics: one shared idempotent producer, one admin client, and one
/// consumer-group member per [`StreamBackend::consumer`] call.
///
/// ```no_run
/// # async fn f() -> Result<(), moose_runtime::stream::StreamError> {
/// use moose_runtime::stream::kafka::{KafkaBackend, KafkaConfig};
/// let backend = KafkaBackend::connect(KafkaConfig::new("localhost:9092")).await?;
/// # Ok(()) }
/// ```
pub struct KafkaBackend {
    config: KafkaConfig,
    producer: Producer,
    topics: Topics,
    lag: LagReaders,
}

impl KafkaBackend {
    /// Creates the clients and checks that the cluster answers (within [`ADMIN_TIMEOUT`]).
    pub async fn connect(config: KafkaConfig) -> Result<Self, StreamError> {
        if config.brokers.trim().is_empty() {
            return Err(StreamError::Other(
                "no Kafka brokers given; set MOOSE_KAFKA_BROKERS to `host:port[,host:port...]`"
                    .into(),
            ));
        }
        let topics = Topics::new(&config)?;
        match topics.reachable(ADMIN_TIMEOUT).await {
            Ok(()) => {}
            Err(Unreachable::Refused(reason)) => {
                return Err(StreamError::Other(format!(
                    "the Kafka brokers at `{}` refused the connection: {reason}; check the \
                     authentication settings (MOOSE_KAFKA_SASL_USERNAME, \
                     MOOSE_KAFKA_SASL_PASSWORD, MOOSE_KAFKA_SASL_MECHANISM) and \
                     MOOSE_KAFKA_SECURITY_PROTOCOL, and for TLS the CA in MOOSE_KAFKA_CONFIG \
                     (ssl.ca.location)",
                    config.brokers
                )));
            }
            Err(Unreachable::Silent) => {
                return Err(StreamError::Unavailable(format!(
                    "the Kafka brokers at `{}` did not answer within {ADMIN_TIMEOUT:?}; check \
                     MOOSE_KAFKA_BROKERS and the security settings \
                     (MOOSE_KAFKA_SECURITY_PROTOCOL, MOOSE_KAFKA_SASL_*)",
                    config.brokers
                )));
            }
        }
        let producer = Producer::new(&config)?;
        Ok(Self {
            config,
            producer,
            topics,
            lag: LagReaders::default(),
        })
    }
}

impl TopicAdmin for KafkaBackend {
    fn ensure_topic<'a>(&'a self, spec: &'a TopicSpec) -> BoxFuture<'a, Result<(), StreamError>> {
        Box::pin(self.topics.ensure(spec))
    }

    fn describe_topic<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<TopicSpec>, StreamError>> {
        Box::pin(self.topics.describe(name))
    }

    fn alter_topic<'a>(
        &'a self,
        name: &'a str,
        change: &'a TopicChange,
    ) -> BoxFuture<'a, Result<(), StreamError>> {
        Box::pin(self.topics.alter(name, change))
    }

    fn delete_topic<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), StreamError>> {
        Box::pin(self.topics.delete(name))
    }
}

impl StreamBackend for KafkaBackend {
    fn produce<'a>(
        &'a self,
        topic: &'a str,
        records: &'a [EncodedRecord],
    ) -> BoxFuture<'a, Result<(), StreamError>> {
        Box::pin(self.producer.produce(topic, records))
    }

    fn consumer<'a>(
        &'a self,
        topic: &'a str,
        group: &'a str,
        member: MemberId,
    ) -> BoxFuture<'a, Result<Box<dyn StreamConsumer>, StreamError>> {
        Box::pin(async move {
            member.check(group)?;
            if self.topics.partitions(topic).await?.is_none() {
                return Err(StreamError::UnknownTopic(topic.to_owned()));
            }
            let consumer = KafkaConsumer::join(&self.config, topic, group, member.index)?;
            Ok(Box::new(consumer) as Box<dyn StreamConsumer>)
        })
    }

    fn latest<'a>(
        &'a self,
        topic: &'a str,
        n: usize,
    ) -> BoxFuture<'a, Result<Vec<ConsumedRecord>, StreamError>> {
        Box::pin(latest(&self.config, topic, n))
    }

    fn lag<'a>(
        &'a self,
        topic: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<Vec<PartitionLag>, StreamError>> {
        Box::pin(self.lag.lag(&self.config, topic, group))
    }

    fn healthy(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            if self.producer.client().client().fatal_error().is_some() {
                return false;
            }
            self.topics.reachable(HEALTH_TIMEOUT).await.is_ok()
        })
    }

    fn max_record_bytes(&self) -> usize {
        self.config.max_record_bytes()
    }

    fn payload_format(&self) -> crate::schema::PayloadFormat {
        crate::schema::PayloadFormat::Json
    }
}
