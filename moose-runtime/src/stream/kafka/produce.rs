//! [`Producer`]: durable, idempotent, batched appends, shared by every caller of a backend.
//!
//! A produced batch is handed to librdkafka in one call (`rd_kafka_produce_batch`: one topic
//! look-up, one clock reading and one timestamp for the whole batch) and waited for as a
//! whole: every record carries the batch's [`Acks`] as its delivery opaque, librdkafka's
//! delivery reports (served by the producer's polling thread) count down there, and the last
//! one wakes the one waiting caller. Per record this costs an atomic increment and decrement,
//! not a future, a channel and a wake-up as with rdkafka's `FutureProducer`.

use std::ffi::CString;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{Producer as _, ProducerContext, ThreadedProducer};
use rdkafka::util::IntoOpaque;
use rdkafka_sys as rdsys;
use tokio::sync::Notify;

use super::config::{DELIVERY_TIMEOUT, KafkaConfig, PRODUCER_QUEUE_FULL_WAIT};
use super::context::LogContext;
use super::error::{refuses_producer, stream_error};
use crate::graph::EncodedRecord;
use crate::stream::StreamError;

type Client = ThreadedProducer<DeliveryContext>;

/// One librdkafka producer (its batching spans all callers), replaced by a fresh one (a new
/// producer id) when its state is in doubt:
///
/// - records timed out: whether they were written is unknown, so an idempotent producer
///   must not continue its sequence numbers; librdkafka would bump the producer epoch on its
///   own (KIP-360), which not every Kafka-compatible broker handles, while
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
        .create_with_context(DeliveryContext::default())
        .map_err(|e| stream_error("creating the producer for", &config.brokers, &e))
}

/// librdkafka's `RD_KAFKA_PARTITION_UA` (a macro, not in the bindings): let the configured
/// partitioner choose ([`PARTITIONER`](super::config::PARTITIONER): by key).
const PARTITION_UA: i32 = -1;

/// How long a batch waits for its delivery reports at most: librdkafka reports every
/// record within [`DELIVERY_TIMEOUT`] (as failed if need be), so this only ends a wait whose
/// reports were lost with a client shut down meanwhile.
const ACKS_WAIT: Duration = Duration::from_secs(DELIVERY_TIMEOUT.as_secs() * 2 + 5);

/// Appends `records` to `topic` and waits until librdkafka reported every one delivered.
async fn send_all(
    client: &Client,
    topic: &str,
    records: &[EncodedRecord],
) -> Result<(), KafkaError> {
    let give_up = tokio::time::Instant::now() + DELIVERY_TIMEOUT;
    let acks = Arc::new(Acks::new(records.len()));
    let mut rest = records;
    while !rest.is_empty() {
        let enqueued = enqueue(client, topic, rest, &acks)?;
        rest = &rest[enqueued..];
        if !rest.is_empty() {
            // The local queue is full: wait for earlier records to be delivered, at most as
            // long as a delivery may take.
            if tokio::time::Instant::now() >= give_up {
                return Err(KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull));
            }
            tokio::time::sleep(PRODUCER_QUEUE_FULL_WAIT).await;
        }
    }
    match tokio::time::timeout(ACKS_WAIT, acks.wait()).await {
        Ok(result) => result,
        Err(_) => Err(KafkaError::MessageProduction(
            RDKafkaErrorCode::MessageTimedOut,
        )),
    }
}

/// Hands `records` to librdkafka in one call; returns how many it took (all of them, or those
/// before the first that found the local queue full). Any other refusal fails the batch.
fn enqueue(
    client: &Client,
    topic: &str,
    records: &[EncodedRecord],
    acks: &Arc<Acks>,
) -> Result<usize, KafkaError> {
    let name = CString::new(topic)
        .map_err(|_| KafkaError::MessageProduction(RDKafkaErrorCode::InvalidTopic))?;
    let count = i32::try_from(records.len())
        .map_err(|_| KafkaError::MessageProduction(RDKafkaErrorCode::InvalidArgument))?;
    let mut messages: Vec<rdsys::rd_kafka_message_t> = records
        .iter()
        .map(|record| rdsys::rd_kafka_message_t {
            err: rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR,
            rkt: std::ptr::null_mut(),
            partition: PARTITION_UA,
            // librdkafka copies both (RD_KAFKA_MSG_F_COPY) and never writes through them.
            payload: record.payload.as_ptr() as *mut _,
            len: record.payload.len(),
            key: if record.key.is_empty() {
                std::ptr::null_mut()
            } else {
                record.key.as_ptr() as *mut _
            },
            key_len: record.key.len(),
            offset: 0,
            _private: Arc::clone(acks).into_ptr(),
        })
        .collect();
    // SAFETY: `client` is a live producer; the topic handle is released before returning;
    // `messages` points into `records`, which outlive the call, and librdkafka copies what
    // it keeps. Each record it accepted owns one reference to `acks` (returned through the
    // delivery report); for each it refused, the reference is taken back below.
    unsafe {
        let handle = rdsys::rd_kafka_topic_new(
            client.client().native_ptr(),
            name.as_ptr(),
            std::ptr::null_mut(),
        );
        if handle.is_null() {
            for message in &messages {
                drop(Arc::<Acks>::from_ptr(message._private));
            }
            return Err(KafkaError::MessageProduction(
                RDKafkaErrorCode::InvalidTopic,
            ));
        }
        rdsys::rd_kafka_produce_batch(
            handle,
            PARTITION_UA,
            rdsys::RD_KAFKA_MSG_F_COPY,
            messages.as_mut_ptr(),
            count,
        );
        rdsys::rd_kafka_topic_destroy(handle);
    }
    let mut taken = records.len();
    let mut refused = None;
    for (index, message) in messages.iter().enumerate() {
        if message.err == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            continue;
        }
        // SAFETY: refused, so the reference made above is still ours.
        drop(unsafe { Arc::<Acks>::from_ptr(message._private) });
        let code = RDKafkaErrorCode::from(message.err);
        taken = taken.min(index);
        if code != RDKafkaErrorCode::QueueFull && refused.is_none() {
            refused = Some(code);
        }
    }
    match refused {
        Some(code) => Err(KafkaError::MessageProduction(code)),
        None => Ok(taken),
    }
}

/// The delivery reports of one produced batch.
pub(super) struct Acks {
    /// Records not reported yet.
    pending: AtomicUsize,
    /// The first failure reported.
    failed: Mutex<Option<KafkaError>>,
    /// Woken by the last report.
    done: Notify,
}

impl Acks {
    fn new(records: usize) -> Self {
        Self {
            pending: AtomicUsize::new(records),
            failed: Mutex::new(None),
            done: Notify::new(),
        }
    }

    fn report(&self, outcome: Result<(), KafkaError>) {
        if let Err(e) = outcome {
            self.failed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert(e);
        }
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Stores a permit when the caller is not waiting yet.
            self.done.notify_one();
        }
    }

    /// Once every record is reported: `Ok` if all were acknowledged, else the first failure.
    async fn wait(&self) -> Result<(), KafkaError> {
        while self.pending.load(Ordering::Acquire) > 0 {
            self.done.notified().await;
        }
        match self.failed.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The producer's context: logs like [`LogContext`] and counts delivery reports into each
/// record's batch.
#[derive(Default)]
pub(super) struct DeliveryContext {
    log: LogContext,
}

impl ClientContext for DeliveryContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        self.log.log(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.log.error(error, reason);
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Arc<Acks>;

    fn delivery(&self, result: &DeliveryResult<'_>, acks: Arc<Acks>) {
        acks.report(match result {
            Ok(_) => Ok(()),
            Err((e, _)) => Err(e.clone()),
        });
    }
}
