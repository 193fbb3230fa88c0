//! Request bodies to records: split a body into JSON records without building value trees,
//! decode every one with the model's codec, and report every invalid one.

use serde::Serialize;
use serde_json::value::RawValue;

use super::error::IngestError;
use crate::graph::{DecodeError, EncodedRecord, ModelCodec};
use crate::schema::PayloadFormat;

/// Most invalid records listed in one 400 answer (with every error of each: a record of a
/// model with `extra_fields = "deny"` has one per unknown field). A client that sent 100k bad
/// records learns what is wrong from the first thousand; listing all would make the answer
/// larger than the request. The answer still says how many were invalid in total.
pub const MAX_LISTED_RECORD_ERRORS: usize = 1000;

/// How a request body holds its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/json`: one object, or an array of objects.
    Json,
    /// `application/x-ndjson`: one object per line; blank lines are ignored.
    NdJson,
}

/// One invalid record of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordError {
    /// Position of the record in the array or NDJSON body (blank lines not counted); 0 for a
    /// single object.
    pub index: usize,
    /// 1-based line of the record in an NDJSON body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// JSON path of the offending value inside the record (`.user.id`, `.tags[2]`), `.` for
    /// the whole record.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The invalid records of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRecords {
    /// The model the records should be.
    pub model: &'static str,
    /// Records in the request.
    pub received: usize,
    /// Invalid records in the request.
    pub invalid: usize,
    /// Invalid records whose errors are listed: at most [`MAX_LISTED_RECORD_ERRORS`].
    pub listed: usize,
    /// The errors of the first `listed` invalid records, in request order; a record can have
    /// several (one per unknown field of a model that denies them, plus its decoding error).
    pub records: Vec<RecordError>,
}

/// Decodes every record of `body`. All of them, or an error listing every invalid one.
///
/// Valid records are encoded in `payload`, the destination stream's payload format.
pub fn decode_body(
    body: &[u8],
    format: BodyFormat,
    codec: &ModelCodec,
    payload: PayloadFormat,
) -> Result<Vec<EncodedRecord>, IngestError> {
    if let Some(valid) = whole_array(body, format, codec, payload) {
        return Ok(valid);
    }
    let mut records = Records::new(codec, payload);
    split_records(body, format, &mut records)?;
    records.finish()
}

/// One invalid record of a request, with its JSON text (for a dead-letter queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRecord {
    /// Where and why it is invalid.
    pub error: RecordError,
    /// The record's JSON text as sent.
    pub json: Vec<u8>,
}

/// A body's valid records and its invalid ones, each kept whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortedRecords {
    /// The valid records, encoded for the stream, in request order.
    pub valid: Vec<EncodedRecord>,
    /// The invalid records, in request order.
    pub invalid: Vec<InvalidRecord>,
}

/// Decodes every record of `body`, keeping the valid ones and the text of every invalid one
/// (for routes that dead-letter invalid records instead of refusing the request). Errors
/// only for bodies that hold no records or are not JSON at all.
pub fn decode_body_sorted(
    body: &[u8],
    format: BodyFormat,
    codec: &ModelCodec,
    payload: PayloadFormat,
) -> Result<SortedRecords, IngestError> {
    if let Some(valid) = whole_array(body, format, codec, payload) {
        return Ok(SortedRecords {
            valid,
            invalid: Vec::new(),
        });
    }
    let mut records = Records::new(codec, payload);
    records.keep_invalid = Some(Vec::new());
    split_records(body, format, &mut records)?;
    if records.received == 0 {
        return Err(IngestError::NoRecords);
    }
    Ok(SortedRecords {
        valid: records.valid,
        invalid: records.keep_invalid.unwrap_or_default(),
    })
}

/// The records of a JSON array body whose records are all valid, decoded in one pass over
/// it (the common case, and the fast one); `None` for anything else, which [`split_records`]
/// then reads record by record to report every invalid one.
fn whole_array(
    body: &[u8],
    format: BodyFormat,
    codec: &ModelCodec,
    payload: PayloadFormat,
) -> Option<Vec<EncodedRecord>> {
    let body = body.strip_prefix(UTF8_BOM).unwrap_or(body);
    let first = body.iter().find(|b| !is_json_whitespace(**b));
    if format != BodyFormat::Json || first != Some(&b'[') {
        return None;
    }
    // An empty array is refused below, with its own message.
    (codec.decode_json_array)(body, payload).filter(|records| !records.is_empty())
}

/// Feeds every record of `body` to `records`.
fn split_records(
    body: &[u8],
    format: BodyFormat,
    records: &mut Records<'_>,
) -> Result<(), IngestError> {
    // RFC 8259 section 8.1: senders must not add a byte order mark, parsers may ignore one.
    // Some Windows tools add it, and it is invisible in an editor: ignore it.
    let body = body.strip_prefix(UTF8_BOM).unwrap_or(body);
    match format {
        BodyFormat::Json => {
            let start = body.iter().position(|b| !is_json_whitespace(*b));
            match start.map(|i| body[i]) {
                None => return Err(IngestError::NoRecords),
                Some(b'[') => {
                    // One pass over the array: each element's text is found and decoded before
                    // the next is looked at, with no list of them built first.
                    let mut json = serde_json::Deserializer::from_slice(body);
                    serde::Deserializer::deserialize_seq(&mut json, EachElement(records))
                        .and_then(|()| json.end())
                        .map_err(|source| IngestError::MalformedJson { source })?;
                }
                Some(_) => {
                    // Checked as a whole first, so broken JSON is reported as such (with its
                    // line and column) rather than as an invalid record.
                    let item: &RawValue = serde_json::from_slice(body)
                        .map_err(|source| IngestError::MalformedJson { source })?;
                    records.decode(0, None, item.get().as_bytes());
                }
            }
        }
        BodyFormat::NdJson => {
            let mut index = 0;
            for (line, text) in body.split(|b| *b == b'\n').enumerate() {
                if text.iter().all(|b| is_json_whitespace(*b)) {
                    continue;
                }
                records.decode(index, Some(line + 1), text);
                index += 1;
            }
        }
    }
    Ok(())
}

/// Feeds each element of a JSON array to the records as it is read.
struct EachElement<'r, 'c>(&'r mut Records<'c>);

impl<'de> serde::de::Visitor<'de> for EachElement<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(item) = items.next_element::<&'de RawValue>()? {
            self.0.decode(index, None, item.get().as_bytes());
            index += 1;
        }
        Ok(())
    }
}

/// The UTF-8 byte order mark.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// JSON's insignificant whitespace (RFC 8259 section 2).
fn is_json_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// Decoded records so far, or, once one is invalid, only the errors.
struct Records<'c> {
    codec: &'c ModelCodec,
    payload: PayloadFormat,
    valid: Vec<EncodedRecord>,
    errors: Vec<RecordError>,
    received: usize,
    invalid: usize,
    /// Invalid records in `errors`.
    listed: usize,
    /// `Some`: keep valid records after invalid ones, and every invalid record's text.
    keep_invalid: Option<Vec<InvalidRecord>>,
}

impl<'c> Records<'c> {
    fn new(codec: &'c ModelCodec, payload: PayloadFormat) -> Self {
        Self {
            codec,
            payload,
            valid: Vec::new(),
            errors: Vec::new(),
            received: 0,
            invalid: 0,
            listed: 0,
            keep_invalid: None,
        }
    }

    fn decode(&mut self, index: usize, line: Option<usize>, json: &[u8]) {
        self.received += 1;
        match (self.codec.decode_json)(json, self.payload) {
            // After the first invalid record nothing is written, so valid ones are not kept
            // (unless invalid records are dead-lettered).
            Ok(record) if self.invalid == 0 || self.keep_invalid.is_some() => {
                self.valid.push(record)
            }
            Ok(_) => {}
            Err(error) if self.keep_invalid.is_some() => {
                self.invalid += 1;
                let mut errors = record_errors(self.codec, index, line, error, json).into_iter();
                let mut first = errors.next().expect("at least the decoding error");
                // One dead letter per record: its message names every error.
                for more in errors {
                    first.message = format!(
                        "{}; and at `{}`: {}",
                        first.message, more.path, more.message
                    );
                }
                if let Some(kept) = &mut self.keep_invalid {
                    kept.push(InvalidRecord {
                        error: first,
                        json: json.to_vec(),
                    });
                }
            }
            Err(error) => {
                if self.invalid == 0 {
                    self.valid = Vec::new();
                }
                self.invalid += 1;
                if self.listed < MAX_LISTED_RECORD_ERRORS {
                    self.listed += 1;
                    self.errors
                        .extend(record_errors(self.codec, index, line, error, json));
                }
            }
        }
    }

    fn finish(self) -> Result<Vec<EncodedRecord>, IngestError> {
        if self.received == 0 {
            Err(IngestError::NoRecords)
        } else if self.invalid > 0 {
            Err(IngestError::InvalidRecords(InvalidRecords {
                model: self.codec.name,
                received: self.received,
                invalid: self.invalid,
                listed: self.listed,
                records: self.errors,
            }))
        } else {
            Ok(self.valid)
        }
    }
}

/// The errors of one invalid record: the decoding error, and every unknown field if its model
/// (or one nested in it) has `extra_fields = "deny"`. serde stops at the first unknown field;
/// the answer names all of them, so a client fixes its records in one round.
fn record_errors(
    codec: &ModelCodec,
    index: usize,
    line: Option<usize>,
    error: DecodeError,
    json: &[u8],
) -> Vec<RecordError> {
    let unknown = (codec.unknown_fields)(json);
    let mut errors = Vec::with_capacity(1 + unknown.len());
    // serde's own error, unless it is the first of the unknown fields, listed below.
    if unknown.is_empty() || !error.message.starts_with("unknown field `") {
        errors.push(RecordError {
            index,
            line,
            path: error.path,
            message: error.message,
        });
    }
    errors.extend(unknown.into_iter().map(|field| RecordError {
        index,
        line,
        path: field.path,
        message: field.message,
    }));
    errors
}
