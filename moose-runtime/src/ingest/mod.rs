//! The HTTP ingest API: `POST /ingest/<name>` validates records against the API's model and
//! writes them to its stream.
//!
//! # Requests
//!
//! - `POST /ingest/<name>` or `POST /ingest/<name>/<version>`, with
//!   - `Content-Type: application/json` (optional `charset=utf-8`): one JSON object, or an
//!     array of objects; or
//!   - `Content-Type: application/x-ndjson`: one object per line, blank lines ignored.
//!
//!   A UTF-8 byte order mark before the body is ignored.
//! - When tokens are configured (`MOOSE_INGEST_TOKEN`), `Authorization: Bearer <token>`.
//!
//! Every record is decoded with the model's serde implementation. Fields the model does not
//! know are ignored (serde's default) unless the model sets `#[serde(deny_unknown_fields)]`;
//! they are not written to the stream. A record must be a JSON object (serde would also read
//! a struct from a positional array; ingest refuses that), and every value must fit its
//! field: `256` for a `u8`, `1e2` for an integer, or `1e39` for an `f32` is invalid.
//!
//! # Answers
//!
//! All or nothing per request: the records of one request are written with one
//! [`StreamBackend::produce`](crate::stream::StreamBackend::produce) call after all of them
//! are valid, and 200 comes only once the stream reports them durable.
//!
//! A route configured to dead-letter invalid records
//! ([`InvalidRecordPolicy::DeadLetter`](crate::graph::InvalidRecordPolicy)) instead writes the
//! valid records and sends each invalid one to the pipeline's dead-letter queue, answering
//! 200 with `{"ingested": N, "dead_lettered": M, "records": [...]}`.
//!
//! Memory is bounded: at most [`MAX_BODY_BYTES_IN_FLIGHT`] of request bodies (counted at the
//! body limit each) are read and held at once; further requests wait, unread.
//!
//! | status | when | body |
//! |---|---|---|
//! | 200 | all records written | `{"ingested": N}` |
//! | 400 | invalid records (nothing written) | `{"error", "received", "invalid", "records": [{"index", "line"?, "path", "message"}], "unlisted"?}` |
//! | 400 | body not JSON | `{"error", "line", "column"}` |
//! | 400 | no records (empty body, `[]`) | `{"error"}` |
//! | 401 | token missing or wrong (`WWW-Authenticate: Bearer`) | `{"error"}` |
//! | 404 | no such API | `{"error", "known": ["/ingest/..."]}` |
//! | 405 | not `POST` (`Allow: POST`) | `{"error"}` |
//! | 408 | body not received within the timeout | `{"error"}` |
//! | 413 | body over the limit (`MOOSE_INGEST_BODY_LIMIT`) | `{"error", "limit_bytes"}` |
//! | 415 | other or missing `Content-Type` | `{"error", "accepted"}` |
//! | 503 | the stream did not confirm the write (`Retry-After`) | `{"error", "retryable"}` |
//!
//! A client that does not send a request's line and headers within the header timeout
//! (`MOOSE_INGEST_HEADER_TIMEOUT_MS`) is disconnected without an answer. Requests that are
//! not valid HTTP/1.1 are answered by hyper with an empty body: 400 (malformed), 414 (URI
//! too long), 431 (head over ~400 KiB or more than 100 headers).
//!
//! `error` is always a sentence saying what was wrong and what to do. `GET /health` answers
//! `{"status":"ok"}` while the process lives; `GET /ready` answers 200 once the runtime has
//! started and the stream can take writes, else 503.
//!
//! # Example
//!
//! ```no_run
//! # async fn run(
//! #     routes: Vec<moose_runtime::ingest::IngestRoute>,
//! #     backend: std::sync::Arc<dyn moose_runtime::stream::StreamBackend>,
//! # ) -> std::io::Result<()> {
//! use std::sync::Arc;
//! use moose_runtime::ingest::{IngestConfig, IngestState, router, serve};
//! use moose_runtime::worker::{DEFAULT_UNREADY_AFTER, Readiness};
//!
//! let config = IngestConfig::default();
//! let ready = Arc::new(Readiness::new(DEFAULT_UNREADY_AFTER));
//! // No telemetry: the routes count nothing.
//! let state = IngestState::new(routes, backend, config.clone(), ready.clone(), None);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await?;
//! ready.started();
//! serve(listener, router(state), &config, std::future::pending()).await;
//! # Ok(())
//! # }
//! ```

mod auth;
mod body;
mod config;
mod dead_letter;
mod decode;
mod error;
mod limit;
mod openapi;
mod router;
mod serve;

#[cfg(test)]
mod tests;

pub use config::{
    BODY_LIMIT_ENV, DEFAULT_BODY_LIMIT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_REQUEST_BODY_TIMEOUT, IngestConfig,
};
pub use dead_letter::IngestDeadLetter;
pub use decode::{
    BodyFormat, InvalidRecord, InvalidRecords, MAX_LISTED_RECORD_ERRORS, RecordError,
    SortedRecords, decode_body, decode_body_sorted,
};
pub use error::{ACCEPTED_CONTENT_TYPES, IngestError, RETRY_AFTER_SECONDS};
pub use limit::MAX_BODY_BYTES_IN_FLIGHT;
pub use openapi::{model_schema, openapi_document};
pub use router::{IngestRoute, IngestState, router, router_with};
pub use serve::serve;
