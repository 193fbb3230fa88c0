//! librdkafka callbacks: log lines and errors into `tracing`, and a consumer's rebalances
//! into the [`Assignment`] its [`KafkaConsumer`](super::consumer::KafkaConsumer) consults.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;

use super::error::is_transient;
use crate::stream::Acked;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};

/// Forwards librdkafka's log lines and errors to `tracing` (target `librdkafka`), and keeps
/// the last authentication or TLS failure: librdkafka retries those forever and reports them
/// only as log lines (an admin client's error events are never polled), so `connect` would
/// otherwise wait out its timeout and blame the network.
#[derive(Debug, Clone, Default)]
pub(super) struct LogContext {
    refused: Arc<Mutex<Option<String>>>,
}

impl LogContext {
    /// Why the brokers refused this client (wrong credentials, a failed TLS handshake), if
    /// they did.
    pub fn refusal(&self) -> Option<String> {
        self.refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn note_refusal(&self, message: &str) {
        *self.refused.lock().unwrap_or_else(|e| e.into_inner()) = Some(message.to_owned());
    }
}

/// Whether a librdkafka log line says the brokers refuse this client's credentials or TLS
/// settings: retrying cannot fix it. (librdkafka's wording, from its `rdkafka_sasl*.c` and
/// `rdkafka_ssl.c`.)
fn is_refusal(message: &str) -> bool {
    message.contains("SASL authentication error")
        || message.contains("SSL handshake failed")
        || message.contains("certificate verify failed")
}

/// The same for an error event (clients whose main queue is polled).
fn is_refusal_error(error: &KafkaError) -> bool {
    use rdkafka::error::RDKafkaErrorCode::*;
    matches!(
        error.rdkafka_error_code(),
        Some(Authentication | SaslAuthenticationFailed | SSL)
    )
}

fn log(level: RDKafkaLogLevel, facility: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error
        | RDKafkaLogLevel::Warning => {
            tracing::warn!(target: "librdkafka", facility, "{message}")
        }
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "librdkafka", facility, "{message}")
        }
        RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", facility, "{message}"),
    }
}

impl ClientContext for LogContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        if is_refusal(message) {
            self.note_refusal(message);
        }
        log(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if is_refusal_error(&error) {
            self.note_refusal(reason);
        }
        report(&error, reason, "");
    }
}

/// A client-wide error: connection trouble (which librdkafka retries, and its log already
/// shows) at debug level, anything else as a warning.
fn report(error: &KafkaError, reason: &str, topic: &str) {
    if error.rdkafka_error_code().is_some_and(is_transient) {
        tracing::debug!(target: "librdkafka", %error, topic, "{reason}");
    } else {
        tracing::warn!(target: "librdkafka", %error, topic, "{reason}");
    }
}

impl ConsumerContext for LogContext {}

/// The partitions one group member owns now, and where its reader stands in them.
#[derive(Debug, Default)]
pub(super) struct Assignment {
    /// Partitions assigned to this member.
    pub owned: BTreeSet<i32>,
    /// Per owned partition: offset of the next record to hand out.
    pub positions: BTreeMap<i32, i64>,
    /// Positions of partitions revoked in an orderly rebalance, for when the next assignment
    /// gives them back (see [`GroupContext::rebalance`]).
    kept: BTreeMap<i32, i64>,
    /// Per owned partition: the offset before which the worker acknowledged everything
    /// (`StreamConsumer::ack`) and which is not committed yet; committed on the consumer's
    /// cadence, and when the partition is revoked.
    pub acked: Acked,
    /// Incremented by every assignment and revocation.
    pub generation: u64,
}

/// Context of a group member: logs like [`LogContext`] and tracks the member's assignment.
#[derive(Debug, Clone, Default)]
pub(super) struct GroupContext {
    /// Topic the member reads.
    pub topic: String,
    /// Shared with the consumer that polls and commits.
    pub assignment: Arc<Mutex<Assignment>>,
}

impl GroupContext {
    pub fn new(topic: &str) -> Self {
        Self {
            topic: topic.to_owned(),
            assignment: Arc::default(),
        }
    }

    /// The assignment, also after a panic elsewhere (it holds plain data).
    pub fn lock(&self) -> MutexGuard<'_, Assignment> {
        self.assignment.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ClientContext for GroupContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        report(&error, reason, &self.topic);
    }
}

impl ConsumerContext for GroupContext {
    /// Runs inside the member's poll (never concurrently with its worker's commits).
    ///
    /// - **Revoke**: what the worker acknowledged but is not committed yet (`acked`) is committed
    ///   now, before the partitions go; records handed out but not yet done are dropped by
    ///   the ownership check in `commit` (their next owner reads them again from the
    ///   committed offset). librdkafka purges fetched records of revoked partitions. A lost
    ///   assignment (session timed out) cannot commit: its next owner redoes that work.
    /// - **Assign**: partitions start at the group's committed offsets, except a partition
    ///   this member held until the orderly rebalance just before: nobody else read it in
    ///   between, and the worker still holds what was handed out, so reading continues where
    ///   it stood instead of handing the same records out twice.
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        partitions: &mut TopicPartitionList,
    ) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let mut assignment = self.lock();
                let kept = std::mem::take(&mut assignment.kept);
                let mut owned = BTreeSet::new();
                let mut positions = BTreeMap::new();
                for element in partitions.elements() {
                    owned.insert(element.partition());
                }
                for &partition in &owned {
                    if let Some(&position) = kept.get(&partition) {
                        let _ = partitions.set_partition_offset(
                            &self.topic,
                            partition,
                            Offset::Offset(position),
                        );
                        positions.insert(partition, position);
                    }
                }
                if let Err(e) = consumer.assign(partitions) {
                    tracing::error!(topic = %self.topic, error = %e, "taking the partitions the group assigned failed");
                    return;
                }
                tracing::info!(topic = %self.topic, partitions = ?owned, "partitions assigned");
                assignment.owned = owned;
                assignment.positions = positions;
                assignment.generation += 1;
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let lost = consumer.assignment_lost();
                let acked = self.lock().acked.take();
                if !lost && !acked.is_empty() {
                    commit_acked(consumer, &self.topic, &acked);
                }
                let mut assignment = self.lock();
                assignment.kept = if lost {
                    BTreeMap::new()
                } else {
                    std::mem::take(&mut assignment.positions)
                };
                assignment.owned.clear();
                assignment.positions.clear();
                assignment.generation += 1;
                if let Err(e) = consumer.unassign() {
                    tracing::warn!(topic = %self.topic, error = %e, "giving partitions back failed");
                }
                tracing::info!(topic = %self.topic, lost, "partitions revoked");
            }
            other => {
                tracing::warn!(topic = %self.topic, error = ?other, "rebalance failed; leaving the assignment");
                let mut assignment = self.lock();
                assignment.owned.clear();
                assignment.positions.clear();
                assignment.kept.clear();
                assignment.acked = Acked::default();
                assignment.generation += 1;
                let _ = consumer.unassign();
            }
        }
    }
}

/// Commits the finished offsets of partitions being revoked, synchronously: the rebalance
/// waits for it, so the partitions' next owners start after them.
fn commit_acked(consumer: &BaseConsumer<GroupContext>, topic: &str, acked: &[(u32, u64)]) {
    let mut list = TopicPartitionList::new();
    for &(partition, offset) in acked {
        if list
            .add_partition_offset(topic, partition as i32, Offset::Offset(offset as i64))
            .is_err()
        {
            return;
        }
    }
    match consumer.commit(&list, rdkafka::consumer::CommitMode::Sync) {
        Ok(()) => tracing::debug!(
            topic,
            ?acked,
            "committed finished work of revoked partitions"
        ),
        Err(e) => {
            tracing::info!(topic, error = %e, "committing finished work at a revocation failed; the partitions' next owners do it again")
        }
    }
}
