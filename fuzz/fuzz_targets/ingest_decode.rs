//! Arbitrary bytes as an ingest request body, read as JSON and as NDJSON by the ingest API's
//! decoding path (`decode_body` and the model codec), for a model with many column types.
//!
//! Must never panic. Every record it accepts must also be one the table sync can store:
//! its stream payload decodes again as the model and encodes as a RowBinary row for both a
//! modern server and 18.16, and re-encoding the decoded payload gives the same bytes.

#![no_main]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use moose::prelude::*;
use moose_runtime::graph::{ModelCodec, RowError};
use moose_runtime::ingest::{BodyFormat, IngestError, MAX_LISTED_RECORD_ERRORS, decode_body};
use moose_runtime::schema::{ClickHouseCapabilities, PayloadFormat, ServerVersion};

/// A nested struct: a Tuple column.
#[data_model]
pub struct Place {
    pub city: String,
    pub zip: Option<u32>,
}

/// A fieldless enum: an Enum8 column.
#[data_model]
pub enum Level {
    Low,
    High,
}

/// One field of each kind of value JSON can carry into a model.
#[data_model]
pub struct Fuzzed {
    #[key]
    pub id: String,
    pub small: u8,
    pub signed: i16,
    pub big: i64,
    pub huge: u64,
    pub ratio: f64,
    pub narrow: f32,
    pub flag: bool,
    pub note: Option<String>,
    pub maybe_narrow: Option<f32>,
    pub tags: Vec<String>,
    pub scores: Vec<f32>,
    pub counts: BTreeMap<String, i32>,
    pub at: chrono::DateTime<chrono::Utc>,
    pub level: Level,
    pub place: Place,
    pub payload: serde_json::Value,
    #[serde(default)]
    pub defaulted: u16,
}

struct Target {
    codec: ModelCodec,
    /// Physical column types of the model's table on each server that can hold it: a modern
    /// one, and 18.16 once the model fits it (18.16 has no `Map`).
    types: Vec<Vec<moose_runtime::schema::ColumnType>>,
}

static TARGET: LazyLock<Target> = LazyLock::new(|| {
    let codec = ModelCodec::of::<Fuzzed>();
    let config = OlapConfig::default();
    let modern = (codec.resolve_table)("db", "fuzzed", &config, &ClickHouseCapabilities::MODERN)
        .expect("the fuzzed model has a table on a modern server");
    let old = ClickHouseCapabilities::for_version(ServerVersion::new(18, 16, 1));
    let types = std::iter::once(modern)
        .chain((codec.resolve_table)("db", "fuzzed", &config, &old).ok())
        .map(|table| table.column_types().to_vec())
        .collect();
    Target { codec, types }
});

fuzz_target!(|body: &[u8]| {
    let target = &*TARGET;
    let formats = [BodyFormat::Json, BodyFormat::NdJson]
        .into_iter()
        .flat_map(|body| [(body, PayloadFormat::Json), (body, PayloadFormat::Binary)]);
    for (format, payload) in formats {
        match decode_body(body, format, &target.codec, payload) {
            Ok(records) => {
                assert!(!records.is_empty(), "Ok means at least one record");
                for record in &records {
                    check_stored_form(target, &record.payload);
                }
            }
            Err(error) => {
                // Every refusal is a 400 with a non-empty sentence.
                assert_eq!(error.status().as_u16(), 400, "{error:?}");
                assert!(!error.to_string().is_empty());
                if let IngestError::InvalidRecords(invalid) = &error {
                    assert!(invalid.invalid > 0 && invalid.invalid <= invalid.received);
                    assert_eq!(
                        invalid.listed,
                        invalid.invalid.min(MAX_LISTED_RECORD_ERRORS)
                    );
                    // At least one error per listed record (more for unknown fields of a
                    // model with `extra_fields = "deny"`).
                    assert!(invalid.records.len() >= invalid.listed);
                }
            }
        }
    }
});

/// What the table sync does with a stream payload must succeed for an accepted record.
fn check_stored_form(target: &Target, payload: &[u8]) {
    // What `peek` and dead letters show of it, read as ingest would: the same bytes again.
    let json = (target.codec.payload_json)(payload)
        .unwrap_or_else(|e| panic!("an accepted record's stream payload does not decode: {e}"));
    let again = (target.codec.decode_json)(&json, PayloadFormat::of(payload)).unwrap_or_else(|e| {
        panic!(
            "an accepted record's stream payload does not decode again: {e:?}\n{}",
            String::from_utf8_lossy(payload)
        )
    });
    assert_eq!(
        again.payload, payload,
        "re-encoding an accepted record changes it"
    );
    for types in &target.types {
        let mut row = Vec::new();
        match (target.codec.write_row)(payload, types, &mut row) {
            Ok(()) => {}
            // Values the Rust type holds but a server's column cannot (a date outside
            // 18.16's range) are refused at encode time by design.
            Err(RowError::Encode(message))
                if message.contains("out of range") || message.contains("outside") => {}
            Err(error) => panic!(
                "an accepted record cannot be encoded as a row: {error:?}\n{}",
                String::from_utf8_lossy(payload)
            ),
        }
    }
}
