//! [`Producer`]: durable, idempotent, batched appends, shared by every caller of a backend.

use std::collections::VecDeque;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::channel::oneshot::Canceled;
use futures::future::join_all;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::future_producer::OwnedDeliveryResult;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer as _};

use super::config::{DELIVERY_TIMEOUT, KafkaConfig};
use super::context::LogContext;
use super::error::{refuses_producer, stream_error};
use crate::graph::EncodedRecord;
use crate::stream::StreamError;

type Client = FutureProducer<LogContext>;

/// One librdkafka producer (its batching spans all callers), replaced by a fresh one (a new
/// producer id) when its state is in doubt:
///
/// - records timed out: whether they were written is unknown, so an idempotent producer
///   must not continue its sequence numbers; librdkafka would bump the producer epoch on its
///   own (KIP-360), which not every broker handles (tansu 0.6 fails every later write), while
///   a new producer id works everywhere;
/// - the broker refused the producer's id, epoch or sequence numbers;
/// - librdkafka reported a fatal error (the producer refuses every later record).
pub(super) struct Producer {
    config: KafkaConfig,
    client: RwLock<Arc<Client>>,
}

impl Producer {
    pub fn new(config: &KafkaConfig) -> Result<Self, StreamError> {
        Ok(Self {
            config: config.clone(),
            client: RwLock::new(Arc::new(create(config)?)),
        })
    }

    /// The current client.
    pub fn client(&self) -> Arc<Client> {
        self.client
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces `failed` after a fatal error (unless another caller already did).
    fn renew(&self, failed: &Arc<Client>) {
        let mut current = self.client.write().unwrap_or_else(|e| e.into_inner());
        if !Arc::ptr_eq(&current, failed) {
            return;
        }
        match create(&self.config) {
            Ok(fresh) => {
                tracing::warn!(
                    "the broker refused the Kafka producer's state (or it failed fatally); continuing with a new producer"
                );
                *current = Arc::new(fresh);
            }
            Err(e) => tracing::error!(error = %e, "replacing the failed Kafka producer failed"),
        }
    }

    /// Appends `records` to `topic` and waits until every one is acknowledged by all in-sync
    /// replicas, or fails after at most [`DELIVERY_TIMEOUT`] (plus the wait for room in the
    /// producer's queue, bounded the same way).
    ///
    /// When the broker refuses the producer's state (its id, epoch or sequence numbers: after
    /// the topic was deleted and created again, or the broker lost its producer state) the
    /// records are sent once more with a fresh producer. Records of the first attempt that
    /// were acknowledged before the refusal are then written twice (at-least-once); a timed
    /// out attempt is never repeated here, its outcome is unknown.
    pub async fn produce(&self, topic: &str, records: &[EncodedRecord]) -> Result<(), StreamError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut result = self.attempt(topic, records).await;
        if let Err(e) = &result
            && e.rdkafka_error_code().is_some_and(refuses_producer)
        {
            tracing::warn!(topic, error = %e, "the broker refused the producer's state; sending again with a new producer");
            result = self.attempt(topic, records).await;
        }
        result.map_err(|e| stream_error("producing to", topic, &e))
    }

    /// One attempt with the current client, replacing it when its state is in doubt.
    async fn attempt(&self, topic: &str, records: &[EncodedRecord]) -> Result<(), KafkaError> {
        let client = self.client();
        let result = send_all(&client, topic, records).await;
        let stale = match &result {
            Err(e) => e.rdkafka_error_code().is_some_and(|code| {
                code == RDKafkaErrorCode::MessageTimedOut || refuses_producer(code)
            }),
            Ok(()) => false,
        };
        if stale || client.client().fatal_error().is_some() {
            self.renew(&client);
        }
        release(client);
        result
    }
}

/// Drops a replaced client off the async threads: dropping purges and flushes (up to
/// 500 ms). The current client is also held by [`Producer`], so only a replaced one can be
/// the last reference here.
fn release(client: Arc<Client>) {
    if Arc::strong_count(&client) == 1
        && let Ok(handle) = tokio::runtime::Handle::try_current()
    {
        handle.spawn_blocking(move || drop(client));
    }
}

fn create(config: &KafkaConfig) -> Result<Client, StreamError> {
    config
        .producer()
        .create_with_context(LogContext::default())
        .map_err(|e| stream_error("creating the producer for", &config.brokers, &e))
}

async fn send_all(
    client: &Client,
    topic: &str,
    records: &[EncodedRecord],
) -> Result<(), KafkaError> {
    let give_up = tokio::time::Instant::now() + DELIVERY_TIMEOUT;
    let mut pending: VecDeque<DeliveryFuture> = VecDeque::with_capacity(records.len());
    for record in records {
        let mut message = FutureRecord::to(topic).payload(&record.payload);
        if !record.key.is_empty() {
            message = message.key(&record.key);
        }
        loop {
            match client.send_result(message) {
                Ok(delivery) => {
                    pending.push_back(delivery);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    // The local queue is full: wait for earlier records to be delivered, at
                    // most as long as a delivery may take.
                    if tokio::time::Instant::now() >= give_up {
                        return Err(KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull));
                    }
                    message = back;
                    match pending.pop_front() {
                        Some(earlier) => delivered(earlier.await)?,
                        None => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                }
                Err((e, _)) => return Err(e),
            }
        }
    }
    for outcome in join_all(pending).await {
        delivered(outcome)?;
    }
    Ok(())
}

/// Whether one record was acknowledged.
fn delivered(outcome: Result<OwnedDeliveryResult, Canceled>) -> Result<(), KafkaError> {
    match outcome {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((e, _))) => Err(e),
        // The producer was dropped before the broker acknowledged.
        Err(Canceled) => Err(KafkaError::Canceled),
    }
}
