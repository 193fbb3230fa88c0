//! Routes that dead-letter invalid records instead of refusing the request
//! ([`InvalidRecordPolicy::DeadLetter`](crate::graph::InvalidRecordPolicy)).
//!
//! The invalid records (their JSON text, path and message) are written to the pipeline's
//! dead-letter stream first, then the valid records to the route's stream; 200 comes only
//! once both are durable, and answers `{"ingested": N, "dead_lettered": M, "records": [...]}`.
//! If either write fails the answer is 503 and the client resends the whole request: the
//! dead letters of the first attempt may then be stored twice, valid records are never lost.

use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::decode::{MAX_LISTED_RECORD_ERRORS, RecordError, SortedRecords};
use super::error::IngestError;
use crate::graph::{DeadLetter, DeadLetterKind, DeadLetterSource, EncodedRecord};
use crate::stream::StreamBackend;

/// Where a route sends its invalid records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestDeadLetter {
    /// Topic of the dead-letter stream.
    pub topic: String,
    /// Declared name of the route's stream, recorded as each dead letter's `source_stream`.
    pub source_stream: String,
}

/// Writes the dead letters, then the valid records; the 200 answer with both counts.
pub(super) async fn write_sorted(
    backend: &dyn StreamBackend,
    topic: &str,
    dead_letter: &IngestDeadLetter,
    sorted: SortedRecords,
) -> Result<Response, IngestError> {
    let letters: Vec<EncodedRecord> = sorted
        .invalid
        .iter()
        .map(|record| {
            EncodedRecord::encode(&DeadLetter::new(
                DeadLetterSource::Api,
                DeadLetterKind::Validation,
                &dead_letter.source_stream,
                &record.json,
                format!(
                    "record {} is invalid at `{}`: {}",
                    record.error.index, record.error.path, record.error.message
                ),
            ))
        })
        .collect();
    for (what, topic, records) in [
        ("dead letters", dead_letter.topic.as_str(), &letters),
        ("records", topic, &sorted.valid),
    ] {
        if let Err(source) = backend.produce(topic, records).await {
            tracing::warn!(
                topic,
                records = records.len(),
                error = %source,
                "ingest request refused: the stream did not confirm the {what}"
            );
            return Err(IngestError::StreamUnavailable { source });
        }
    }
    let listed: Vec<&RecordError> = sorted
        .invalid
        .iter()
        .take(MAX_LISTED_RECORD_ERRORS)
        .map(|r| &r.error)
        .collect();
    Ok(axum::Json(json!({
        "ingested": sorted.valid.len(),
        "dead_lettered": sorted.invalid.len(),
        "records": listed,
    }))
    .into_response())
}
