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

/// The whole body, at most `limit` bytes, arriving within `timeout`.
///
/// A body sent in one piece is returned without a copy.
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
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let mut chunks = body.into_data_stream();
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
