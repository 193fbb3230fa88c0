//! [`IngestError`]: every way an ingest request can fail, and its JSON answer.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::config::BODY_LIMIT_ENV;
use super::decode::InvalidRecords;
use crate::stream::StreamError;

/// The content types an ingest API accepts, named in 415 answers.
pub const ACCEPTED_CONTENT_TYPES: [&str; 2] = ["application/json", "application/x-ndjson"];

/// `Retry-After` sent with 503: a broker or disk that just failed usually needs a moment, and
/// clients retrying every second keep load low while recovering quickly.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// Longest request path echoed back in a 404, so a huge URL does not make a huge answer.
const MAX_ECHOED_PATH: usize = 200;

/// Why an ingest request was refused. Its `Display` is the `error` sentence of the JSON
/// answer: what was wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// 401: tokens are configured and the request has none, or a wrong one.
    #[error(
        "{}; send `Authorization: Bearer <token>` with a token the server accepts (MOOSE_INGEST_TOKEN)",
        if *.missing { "the request has no bearer token" } else { "the bearer token is not accepted" }
    )]
    Unauthorized {
        /// No `Authorization: Bearer` header at all (as opposed to a wrong token).
        missing: bool,
    },
    /// 404: no ingest API at this path.
    #[error(
        "no ingest API at `{}`; {}",
        truncate(path),
        if known.is_empty() {
            "this app declares no ingest APIs".to_owned()
        } else {
            format!("POST to one of: {}", known.join(", "))
        }
    )]
    NotFound {
        /// The request path.
        path: String,
        /// The paths that exist (`/ingest/<name>[/<version>]`).
        known: Vec<String>,
    },
    /// 405: a known path asked with another method.
    #[error("`{method}` is not allowed on `{path}`; use {allow}")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The path.
        path: String,
        /// The method to use (sent as `Allow`).
        allow: &'static str,
    },
    /// 415: a content type the API does not read.
    #[error(
        "{}; send `application/json` (one object or an array of objects) or `application/x-ndjson` (one object per line), in UTF-8",
        match content_type {
            Some(ct) => format!("unsupported Content-Type `{}`", truncate(ct)),
            None => "the request has no Content-Type".to_owned(),
        }
    )]
    UnsupportedMediaType {
        /// The `Content-Type` sent, if any.
        content_type: Option<String>,
    },
    /// 413: the body is larger than the configured limit.
    #[error(
        "the request body is larger than the limit of {limit} bytes; send fewer records per request, or raise the limit with {BODY_LIMIT_ENV} (bytes)"
    )]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 408: the client did not send its whole body in time.
    #[error(
        "the request body did not arrive within {} s; nothing was written. Send the request again, faster or in smaller parts",
        .timeout.as_secs_f64()
    )]
    BodyTimeout {
        /// The configured request body timeout.
        timeout: Duration,
    },
    /// 400: the body could not be read (the client broke off).
    #[error(
        "the request body could not be read ({0}); nothing was written. Send the request again"
    )]
    BodyRead(String),
    /// 400: the body is not JSON at all.
    #[error(
        "the body is not valid JSON: {source}; nothing was written. Fix the JSON and send the request again"
    )]
    MalformedJson {
        /// The parser's error, with line and column.
        source: serde_json::Error,
    },
    /// 400: an empty body, an empty array or only blank NDJSON lines.
    #[error(
        "the request contains no records; send one JSON object, a non-empty array of objects, or NDJSON lines"
    )]
    NoRecords,
    /// 400: some records are not valid instances of the API's model.
    #[error(
        "{} of {} records are not valid `{}` records{}; nothing was written. Fix them and send the request again",
        .0.invalid,
        .0.received,
        .0.model,
        if .0.listed < .0.invalid {
            format!(" (the first {} are listed)", .0.listed)
        } else {
            String::new()
        }
    )]
    InvalidRecords(InvalidRecords),
    /// 503: the stream did not confirm the records as durable.
    #[error(
        "the stream is unavailable and nothing from this request can be confirmed as written; retry in {RETRY_AFTER_SECONDS} s"
    )]
    StreamUnavailable {
        /// What the backend reported.
        source: StreamError,
    },
    /// 503 from `/ready`: the runtime is starting or the stream cannot take writes.
    #[error(
        "{}; wait and retry in {RETRY_AFTER_SECONDS} s",
        if *.starting { "the runtime is still starting" } else { "the stream backend cannot take writes" }
    )]
    NotReady {
        /// The runtime has not finished starting (as opposed to an unhealthy stream).
        starting: bool,
    },
    /// 503 from `/ready`: workers stopped, or failing for longer than the threshold.
    #[error("the app cannot do its job: {}", .reasons.join("; "))]
    WorkersFailing {
        /// One sentence per worker.
        reasons: Vec<String>,
    },
}

impl IngestError {
    /// The HTTP status of this answer.
    pub fn status(&self) -> StatusCode {
        match self {
            IngestError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            IngestError::NotFound { .. } => StatusCode::NOT_FOUND,
            IngestError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            IngestError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IngestError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            IngestError::BodyRead(_)
            | IngestError::MalformedJson { .. }
            | IngestError::NoRecords
            | IngestError::InvalidRecords(_) => StatusCode::BAD_REQUEST,
            IngestError::StreamUnavailable { .. }
            | IngestError::NotReady { .. }
            | IngestError::WorkersFailing { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The JSON answer: `{"error": <sentence>}` plus details.
    fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("error".into(), Value::String(self.to_string()));
        match self {
            IngestError::NotFound { known, .. } => {
                body.insert("known".into(), json!(known));
            }
            IngestError::UnsupportedMediaType { .. } => {
                body.insert("accepted".into(), json!(ACCEPTED_CONTENT_TYPES));
            }
            IngestError::BodyTooLarge { limit } => {
                body.insert("limit_bytes".into(), json!(limit));
            }
            IngestError::MalformedJson { source } => {
                body.insert("line".into(), json!(source.line()));
                body.insert("column".into(), json!(source.column()));
            }
            IngestError::InvalidRecords(invalid) => {
                body.insert("received".into(), json!(invalid.received));
                body.insert("invalid".into(), json!(invalid.invalid));
                body.insert("records".into(), json!(invalid.records));
                let unlisted = invalid.invalid.saturating_sub(invalid.listed);
                if unlisted > 0 {
                    body.insert("unlisted".into(), json!(unlisted));
                }
            }
            IngestError::StreamUnavailable { source } => {
                body.insert("retryable".into(), json!(source.is_retryable()));
            }
            IngestError::WorkersFailing { reasons } => {
                body.insert("reasons".into(), json!(reasons));
            }
            _ => {}
        }
        Value::Object(body)
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        match &self {
            IngestError::Unauthorized { .. } => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            IngestError::MethodNotAllowed { allow, .. } => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            IngestError::StreamUnavailable { .. } | IngestError::NotReady { .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            }
            // The rest of the body was not read: the connection cannot carry another request.
            IngestError::BodyTooLarge { .. } | IngestError::BodyTimeout { .. } => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}

/// `text`, cut to [`MAX_ECHOED_PATH`] characters.
fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHOED_PATH) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}
