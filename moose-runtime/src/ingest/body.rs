//! Reading a request body: its content type, its size limit and its deadline.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use super::decode::BodyFormat;
use super::error::IngestError;

/// The body format named by `Content-Type`: `application/json` or `application/x-ndjson`,
/// with optional parameters; a `charset` other than UTF-8 is refused, since JSON is UTF-8.
pub(crate) fn body_format(headers: &HeaderMap) -> Result<BodyFormat, IngestError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(IngestError::UnsupportedMediaType { content_type: None });
    };
    let unsupported = || IngestError::UnsupportedMediaType {
        content_type: Some(String::from_utf8_lossy(value.as_bytes()).into_owned()),
    };
    let text = value.to_str().map_err(|_| unsupported())?;
    let mut parts = text.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    let format = if essence.eq_ignore_ascii_case("application/json") {
        BodyFormat::Json
    } else if essence.eq_ignore_ascii_case("application/x-ndjson") {
        BodyFormat::NdJson
    } else {
        return Err(unsupported());
    };
    for parameter in parts {
        let Some((name, value)) = parameter.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("charset") {
            let charset = value.trim().trim_matches('"');
            if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("utf8") {
                return Err(unsupported());
            }
        }
    }
    Ok(format)
}

/// After a body is refused as too large, up to this many more of its bytes are read and
/// thrown away before the 413 goes out, within the body's deadline. A client that sends its
/// whole body before it reads the answer (Python's urllib, many HTTP libraries) otherwise sees
/// a connection reset instead of the 413: the server closed a socket with unread data. A
/// larger body gets its 413 at once and the connection is closed.
pub const TOO_LARGE_DRAIN_BYTES: u64 = 64 << 20;

/// Draining a refused body stops once the client has sent nothing for this long: one that
/// declared a large body but sends nothing, or waits for `100 Continue`, gets its 413 soon.
pub const TOO_LARGE_DRAIN_IDLE: Duration = Duration::from_millis(500);

/// The whole body, at most `limit` bytes, arriving within `timeout`.
///
/// A body sent in one piece is returned without a copy. A body over `limit` is drained (see
/// [`TOO_LARGE_DRAIN_BYTES`]) and refused.
pub(crate) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, IngestError> {
    let too_large = || IngestError::BodyTooLarge { limit };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let deadline = tokio::time::Instant::now() + timeout;
    let mut chunks = body.into_data_stream();
    if let Some(length) = declared.filter(|&length| length > limit as u64) {
        // A client that asked `Expect: 100-continue` has sent nothing yet: polling the body
        // would invite it to send everything; it gets its 413 instead.
        let expects_continue = headers.contains_key(header::EXPECT);
        if !expects_continue && length <= limit as u64 + TOO_LARGE_DRAIN_BYTES {
            drain(&mut chunks, length, deadline).await;
        }
        return Err(too_large());
    }
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    let mut total = 0usize;
    loop {
        let chunk = match tokio::time::timeout_at(deadline, chunks.next()).await {
            Err(_) => return Err(IngestError::BodyTimeout { timeout }),
            Ok(None) => break,
            Ok(Some(Err(error))) => return Err(IngestError::BodyRead(error.to_string())),
            Ok(Some(Ok(chunk))) => chunk,
        };
        total += chunk.len();
        if total > limit {
            drain(&mut chunks, limit as u64 + TOO_LARGE_DRAIN_BYTES, deadline).await;
            return Err(too_large());
        }
        match (&mut first, &mut joined) {
            (None, None) => first = Some(chunk),
            (Some(_), None) => {
                let capacity = declared.map_or(total, |length| length as usize).max(total);
                let mut buffer = BytesMut::with_capacity(capacity);
                buffer.extend_from_slice(&first.take().unwrap_or_default());
                buffer.extend_from_slice(&chunk);
                joined = Some(buffer);
            }
            (_, Some(buffer)) => buffer.extend_from_slice(&chunk),
        }
    }
    Ok(match joined {
        Some(buffer) => buffer.freeze(),
        None => first.unwrap_or_default(),
    })
}

/// Reads and discards the rest of a refused body, stopping after `at_most` bytes, at the
/// deadline, after [`TOO_LARGE_DRAIN_IDLE`] without data, or at its end, whichever comes
/// first.
async fn drain(
    chunks: &mut (impl futures::Stream<Item = Result<Bytes, axum::Error>> + Unpin),
    at_most: u64,
    deadline: tokio::time::Instant,
) {
    let mut drained = 0u64;
    while drained <= at_most {
        let until = deadline.min(tokio::time::Instant::now() + TOO_LARGE_DRAIN_IDLE);
        match tokio::time::timeout_at(until, chunks.next()).await {
            Ok(Some(Ok(chunk))) => drained += chunk.len() as u64,
            _ => return,
        }
    }
}
