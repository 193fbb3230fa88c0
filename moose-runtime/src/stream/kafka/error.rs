//! librdkafka errors as [`StreamError`]s: what a retry may fix is `Unavailable` (ingest
//! answers 503), a missing topic is `UnknownTopic`, the rest says what failed and where.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::stream::StreamError;

/// Error codes that mean "the cluster cannot serve this now; later it may".
pub(super) fn is_transient(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        code,
        BrokerTransportFailure
            | AllBrokersDown
            | Resolve
            | MessageTimedOut
            | OperationTimedOut
            | QueueFull
            | RequestTimedOut
            | NetworkException
            | LeaderNotAvailable
            | NotLeaderForPartition
            | PreferredLeaderNotAvailable
            | CoordinatorNotAvailable
            | CoordinatorLoadInProgress
            | NotCoordinator
            | NotEnoughReplicas
            | NotEnoughReplicasAfterAppend
            | KafkaStorageError
            | Fatal
    )
}

/// Error codes with which a broker refuses an idempotent producer's identity or sequence
/// numbers (or fails on them: `Unknown`). The producer is replaced by a fresh one (a new
/// producer id), and the records are refused as unavailable so their sender retries.
pub(super) fn refuses_producer(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        code,
        Unknown
            | UnknownProducerId
            | OutOfOrderSequenceNumber
            | InvalidProducerEpoch
            | InvalidProducerIdMapping
            | ProducerFenced
    )
}

/// Error codes a group reports while it is being rebalanced: the member's commits are not
/// accepted now; whoever owns the partitions afterwards reads from the last committed offset.
pub(super) fn is_rebalance(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        code,
        RebalanceInProgress
            | IllegalGeneration
            | UnknownMemberId
            | FencedInstanceId
            | StaleMemberEpoch
            | AssignmentLost
            | State
    )
}

/// `error` while doing `what` (to what), as a stream error.
pub(super) fn stream_error(what: &str, topic: &str, error: &KafkaError) -> StreamError {
    if let KafkaError::Canceled = error {
        return StreamError::Unavailable(format!(
            "{what} `{topic}`: the Kafka client shut down before the operation completed"
        ));
    }
    match error.rdkafka_error_code() {
        Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic) => {
            StreamError::UnknownTopic(topic.to_owned())
        }
        Some(RDKafkaErrorCode::MessageSizeTooLarge) => StreamError::RecordTooLarge(format!(
            "{what} `{topic}`: {error}; a record is larger than the producer or the broker \
             takes (`message.max.bytes`, or the topic's `max.message.bytes`)"
        )),
        Some(code) if is_transient(code) => StreamError::Unavailable(format!(
            "{what} `{topic}`: {error}; the Kafka brokers are unreachable or not ready, retry later"
        )),
        Some(code) if refuses_producer(code) => StreamError::Unavailable(format!(
            "{what} `{topic}`: {error}; the broker refused the producer's state, which is \
             replaced by a fresh producer: retry"
        )),
        _ => StreamError::Other(format!("{what} `{topic}`: {error}")),
    }
}

/// An admin operation's per-topic error code as a stream error.
pub(super) fn admin_error(what: &str, topic: &str, code: RDKafkaErrorCode) -> StreamError {
    match code {
        RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => {
            StreamError::UnknownTopic(topic.to_owned())
        }
        RDKafkaErrorCode::UnsupportedFeature | RDKafkaErrorCode::UnsupportedVersion => {
            StreamError::Other(format!(
                "{what} `{topic}`: the broker does not support this request ({code}); change the \
                 topic with the broker's own tools"
            ))
        }
        code if is_transient(code) => StreamError::Unavailable(format!(
            "{what} `{topic}`: {code}; the Kafka brokers are unreachable or not ready, retry later"
        )),
        code => StreamError::Other(format!("{what} `{topic}`: {code}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broker_outage_is_retryable_and_a_missing_topic_is_named() {
        let timed_out = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        let e = stream_error("producing to", "raw", &timed_out);
        assert!(matches!(e, StreamError::Unavailable(_)), "{e}");
        assert!(e.is_retryable());
        let missing = KafkaError::MessageProduction(RDKafkaErrorCode::UnknownTopicOrPartition);
        assert!(matches!(
            stream_error("producing to", "raw", &missing),
            StreamError::UnknownTopic(t) if t == "raw"
        ));
        let too_big = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        let e = stream_error("producing to", "raw", &too_big);
        assert!(
            matches!(&e, StreamError::RecordTooLarge(m) if m.contains("raw")),
            "{e}"
        );
        assert!(!e.is_retryable());
    }

    #[test]
    fn an_unsupported_admin_request_says_what_to_do() {
        let e = admin_error("changing topic", "t", RDKafkaErrorCode::UnsupportedFeature);
        assert!(e.to_string().contains("broker's own tools"), "{e}");
    }
}
