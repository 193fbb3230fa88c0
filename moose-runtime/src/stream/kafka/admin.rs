//! [`Topics`]: creating, describing, changing and deleting topics through the admin API.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{
    AdminClient, AdminOptions, ConfigSource, NewPartitions, NewTopic, ResourceSpecifier,
    TopicReplication,
};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use super::config::{ADMIN_TIMEOUT, KafkaConfig};
use super::context::LogContext;
use super::error::{admin_error, stream_error};
use super::incremental::set_topic_config;
use crate::stream::{StreamError, TopicChange, TopicSpec};
use rdkafka::consumer::{BaseConsumer, Consumer as _};

/// How often a just created or deleted topic is looked up until the cluster agrees.
const PROPAGATION_POLL: Duration = Duration::from_millis(100);

/// The topic property that holds retention.
const RETENTION_MS: &str = "retention.ms";

/// The admin client of a backend.
pub(super) struct Topics {
    admin: Arc<AdminClient<LogContext>>,
    /// A client only for "does the cluster answer": unlike the admin client's, its main
    /// queue is polled, so librdkafka's log lines and errors (a refused password, a failed
    /// TLS handshake) reach its context.
    probe: Arc<BaseConsumer<LogContext>>,
    /// The probe's callbacks: why the brokers refused it, if they did.
    context: LogContext,
    /// Replication factor of new topics; -1: the broker's default (Kafka 2.4+, Redpanda).
    replication: i32,
}

impl Topics {
    pub fn new(config: &KafkaConfig) -> Result<Self, StreamError> {
        let admin = config
            .admin()
            .create_with_context(LogContext::default())
            .map_err(|e| stream_error("creating the admin client for", &config.brokers, &e))?;
        let context = LogContext::default();
        let probe = config
            .probe()
            .create_with_context(context.clone())
            .map_err(|e| stream_error("creating a client for", &config.brokers, &e))?;
        Ok(Self {
            admin: Arc::new(admin),
            probe: Arc::new(probe),
            context,
            replication: config.replication_factor.unwrap_or(-1),
        })
    }

    fn options() -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(ADMIN_TIMEOUT))
            .operation_timeout(Some(ADMIN_TIMEOUT))
    }

    /// Partition count of `topic`, `None` when it does not exist.
    pub async fn partitions(&self, topic: &str) -> Result<Option<u32>, StreamError> {
        let (admin, name) = (self.admin.clone(), topic.to_owned());
        // Metadata requests block; off the async threads.
        let found = tokio::task::spawn_blocking(move || {
            let metadata = admin.inner().fetch_metadata(Some(&name), ADMIN_TIMEOUT)?;
            Ok::<_, KafkaError>(
                metadata
                    .topics()
                    .iter()
                    .find(|t| t.name() == name)
                    .map(|t| (t.partitions().len() as u32, t.error())),
            )
        })
        .await
        .unwrap_or(Err(KafkaError::Canceled))
        .map_err(|e| stream_error("looking up topic", topic, &e))?;
        match found {
            None => Ok(None),
            Some((partitions, None)) => Ok(Some(partitions)),
            Some((_, Some(code))) => match RDKafkaErrorCode::from(code) {
                RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => {
                    Ok(None)
                }
                code => Err(admin_error("looking up topic", topic, code)),
            },
        }
    }

    /// Waits until the cluster's metadata shows `topic` with `partitions` (or, for `None`,
    /// no longer shows it), at most [`ADMIN_TIMEOUT`].
    async fn settle(&self, topic: &str, partitions: Option<u32>) -> Result<(), StreamError> {
        let give_up = tokio::time::Instant::now() + ADMIN_TIMEOUT;
        loop {
            let now = self.partitions(topic).await?;
            let settled = match (partitions, now) {
                (None, None) => true,
                (Some(want), Some(have)) => have >= want,
                _ => false,
            };
            if settled {
                return Ok(());
            }
            if tokio::time::Instant::now() >= give_up {
                return Err(StreamError::Unavailable(format!(
                    "topic `{topic}`: the cluster did not show the change within {ADMIN_TIMEOUT:?}"
                )));
            }
            tokio::time::sleep(PROPAGATION_POLL).await;
        }
    }

    pub async fn ensure(&self, spec: &TopicSpec) -> Result<(), StreamError> {
        if self.partitions(&spec.name).await?.is_some() {
            return Ok(());
        }
        let retention = retention_ms(spec.retention);
        let topic = NewTopic::new(
            &spec.name,
            spec.partitions as i32,
            TopicReplication::Fixed(self.replication),
        )
        .set(RETENTION_MS, &retention);
        let results = self
            .admin
            .create_topics([&topic], &Self::options())
            .await
            .map_err(|e| stream_error("creating topic", &spec.name, &e))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => return Err(admin_error("creating topic", &name, code)),
            }
        }
        self.settle(&spec.name, Some(spec.partitions)).await
    }

    pub async fn describe(&self, name: &str) -> Result<Option<TopicSpec>, StreamError> {
        let Some(partitions) = self.partitions(name).await? else {
            return Ok(None);
        };
        // A broker that has not caught up with a topic created a moment ago (on another
        // broker) describes it without its settings: asked again until it has them.
        let give_up = tokio::time::Instant::now() + ADMIN_TIMEOUT;
        let retention = loop {
            let late = tokio::time::Instant::now() >= give_up;
            let retention = match self.config(name).await {
                Ok(entries) => entries.into_iter().find(|(key, _, _)| key == RETENTION_MS),
                Err(StreamError::UnknownTopic(_)) if !late => None,
                Err(other) => return Err(other),
            };
            if retention.is_some() || late {
                break retention;
            }
            tokio::time::sleep(PROPAGATION_POLL).await;
        };
        let retention = retention
            .and_then(|(_, value, _)| value.parse::<i64>().ok())
            .map(|ms| match u64::try_from(ms) {
                Ok(ms) => Duration::from_millis(ms),
                // -1: kept forever.
                Err(_) => Duration::MAX,
            })
            .ok_or_else(|| {
                StreamError::Other(format!(
                    "topic `{name}`: the broker did not report its `{RETENTION_MS}`"
                ))
            })?;
        Ok(Some(TopicSpec {
            name: name.to_owned(),
            partitions,
            retention,
        }))
    }

    /// The topic's configuration: name, value, whether it was set on the topic itself.
    async fn config(&self, name: &str) -> Result<Vec<(String, String, bool)>, StreamError> {
        let described = self
            .admin
            .describe_configs([&ResourceSpecifier::Topic(name)], &Self::options())
            .await
            .map_err(|e| stream_error("describing topic", name, &e))?;
        let mut out = Vec::new();
        for resource in described {
            let resource = resource.map_err(|code| admin_error("describing topic", name, code))?;
            for entry in resource.entries {
                if let Some(value) = entry.value {
                    let own = matches!(entry.source, ConfigSource::DynamicTopic)
                        && !entry.is_default
                        && !entry.is_read_only
                        && !entry.is_sensitive;
                    out.push((entry.name, value, own));
                }
            }
        }
        Ok(out)
    }

    pub async fn alter(&self, name: &str, change: &TopicChange) -> Result<(), StreamError> {
        let Some(current) = self.partitions(name).await? else {
            return Err(StreamError::UnknownTopic(name.to_owned()));
        };
        if let Some(retention) = change.retention {
            // IncrementalAlterConfigs: only retention changes, the topic's other settings stay.
            let (admin, topic, retention) =
                (self.admin.clone(), name.to_owned(), retention_ms(retention));
            tokio::task::spawn_blocking(move || {
                set_topic_config(&admin, &topic, RETENTION_MS, &retention, ADMIN_TIMEOUT)
            })
            .await
            .map_err(|e| StreamError::Other(format!("changing the retention of `{name}`: {e}")))?
            .map_err(|failure| {
                let mut error = admin_error("changing the retention of topic", name, failure.code);
                if let StreamError::Other(text) = &mut error {
                    text.push_str(&format!(" ({})", failure.message));
                }
                error
            })?;
        }
        if let Some(partitions) = change.partitions {
            if partitions < current {
                return Err(StreamError::Other(format!(
                    "topic `{name}` has {current} partitions; lowering them to {partitions} would \
                     lose the records of the removed partitions and move keys: Kafka cannot do \
                     it. Keep {current} or more, or create a new stream version"
                )));
            }
            if partitions > current {
                let more = NewPartitions::new(name, partitions as usize);
                let results = self
                    .admin
                    .create_partitions([&more], &Self::options())
                    .await
                    .map_err(|e| admin_failure("adding partitions to topic", name, &e))?;
                for result in results {
                    result.map_err(|(_, code)| {
                        admin_error("adding partitions to topic", name, code)
                    })?;
                }
                self.settle(name, Some(partitions)).await?;
            }
        }
        Ok(())
    }

    pub async fn delete(&self, name: &str) -> Result<(), StreamError> {
        let results = self
            .admin
            .delete_topics(&[name], &Self::options())
            .await
            .map_err(|e| admin_failure("deleting topic", name, &e))?;
        for result in results {
            match result {
                Ok(_)
                | Err((
                    _,
                    RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic,
                )) => {}
                Err((_, code)) => return Err(admin_error("deleting topic", name, code)),
            }
        }
        self.settle(name, None).await
    }

    /// Whether the cluster answers a metadata request within `timeout`: `Ok`, or why not
    /// (the brokers refused the credentials or the TLS handshake: at once, not after
    /// `timeout`, since librdkafka would retry forever).
    pub async fn reachable(&self, timeout: Duration) -> Result<(), Unreachable> {
        let start = std::time::Instant::now();
        loop {
            let probe = self.probe.clone();
            let answered = tokio::task::spawn_blocking(move || {
                let answered = probe.fetch_metadata(None, REACHABLE_POLL).is_ok();
                // Serves the probe's events: log lines and errors reach its context.
                while probe.poll(Duration::ZERO).is_some() {}
                answered
            })
            .await
            .unwrap_or(false);
            if answered {
                return Ok(());
            }
            if let Some(reason) = self.context.refusal() {
                return Err(Unreachable::Refused(reason));
            }
            if start.elapsed() >= timeout {
                return Err(Unreachable::Silent);
            }
        }
    }
}

/// One metadata request's wait while [`Topics::reachable`] watches for a refusal.
const REACHABLE_POLL: Duration = Duration::from_secs(1);

/// Why the cluster did not answer.
pub(super) enum Unreachable {
    /// The brokers refused this client: librdkafka's reason.
    Refused(String),
    /// No answer at all.
    Silent,
}

/// An admin request that failed as a whole (the broker refused the request type, or could
/// not be reached).
fn admin_failure(what: &str, topic: &str, error: &KafkaError) -> StreamError {
    match error {
        KafkaError::AdminOp(code) => admin_error(what, topic, *code),
        other => stream_error(what, topic, other),
    }
}

/// `retention.ms` for a retention; `-1` (forever) for one too long to express.
fn retention_ms(retention: Duration) -> String {
    match i64::try_from(retention.as_millis()) {
        Ok(ms) => ms.to_string(),
        Err(_) => "-1".to_owned(),
    }
}
