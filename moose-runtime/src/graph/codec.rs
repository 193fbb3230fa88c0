//! [`ModelCodec`]: a model's JSON decoding and row encoding behind plain function pointers, so
//! workers and the ingest API handle any stream without knowing its Rust type.

use std::any::TypeId;
use std::marker::PhantomData;

use super::transform::EncodedRecord;
use crate::schema::{
    ClickHouseCapabilities, Column, ColumnType, DataModel, OlapConfig, PayloadError, PayloadFormat,
    ResolvedTable, SchemaError, UnknownField,
};

/// A record that is not a valid instance of its model.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DecodeError {
    /// JSON path of the offending value (`.user.id`, `.tags[2]`), `.` for the whole record.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Decodes a stream payload and appends it as a RowBinary row.
pub type WriteRowFn = fn(&[u8], &[ColumnType], &mut Vec<u8>) -> Result<(), RowError>;

/// Why a stored record could not become a table row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    /// The payload is not a valid record of the stream's model.
    #[error("{0}")]
    Decode(String),
    /// The record is valid but cannot be encoded for the table's column types (a value
    /// outside what this server's type holds).
    #[error("{0}")]
    Encode(String),
}

/// Resolves a model's table for a server.
pub type ResolveTableFn =
    fn(&str, &str, &OlapConfig, &ClickHouseCapabilities) -> Result<ResolvedTable, SchemaError>;

/// A model's schema and codecs, type-erased.
#[derive(Clone, Copy)]
pub struct ModelCodec {
    /// The model's name.
    pub name: &'static str,
    /// The model's Rust type.
    pub type_id: fn() -> TypeId,
    /// The model's columns.
    pub columns: fn() -> Vec<Column>,
    /// Decodes one JSON record and encodes it for a stream whose payloads are in the format.
    pub decode_json: fn(&[u8], PayloadFormat) -> Result<EncodedRecord, DecodeError>,
    /// Decodes a JSON array of records in one pass, each encoded for a stream whose payloads
    /// are in the format: `None` unless every record is valid (then decode them one by one
    /// with `decode_json` to learn which are not and why).
    pub decode_json_array: fn(&[u8], PayloadFormat) -> Option<Vec<EncodedRecord>>,
    /// Every field of a JSON record that a model with `extra_fields = "deny"` (the model or
    /// one nested in it) does not declare; for a record `decode_json` refused.
    pub unknown_fields: fn(&[u8]) -> Vec<UnknownField>,
    /// Decodes a stream payload and appends it as a RowBinary row.
    pub write_row: WriteRowFn,
    /// A stream payload (either format) as JSON text: what `peek`, dead letters and the
    /// dashboard show.
    pub payload_json: fn(&[u8]) -> Result<Vec<u8>, PayloadError>,
    /// Resolves the model's table for a server.
    pub resolve_table: ResolveTableFn,
}

impl std::fmt::Debug for ModelCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelCodec")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ModelCodec {
    /// A stored payload as text for people and dead letters: its JSON. A payload that does
    /// not decode keeps every byte: JSON text as it is, a binary record as `0x` and its hex.
    pub fn payload_text(&self, payload: &[u8]) -> String {
        match (self.payload_json)(payload) {
            Ok(json) => String::from_utf8(json)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            Err(_) if PayloadFormat::of(payload) == PayloadFormat::Json => {
                String::from_utf8_lossy(payload).into_owned()
            }
            Err(_) => {
                use std::fmt::Write;
                let mut text = String::with_capacity(2 + 2 * payload.len());
                text.push_str("0x");
                for byte in payload {
                    let _ = write!(text, "{byte:02x}");
                }
                text
            }
        }
    }

    /// The codec of model `T`.
    pub fn of<T: DataModel>() -> Self {
        Self {
            name: T::NAME,
            type_id: TypeId::of::<T>,
            columns: T::columns,
            decode_json: decode_json::<T>,
            decode_json_array: decode_json_array::<T>,
            unknown_fields: crate::schema::unknown_fields::<T>,
            write_row: write_row::<T>,
            payload_json: crate::schema::payload::to_json::<T>,
            resolve_table: |db, name, config, caps| {
                ResolvedTable::resolve::<T>(db, name, config, caps)
            },
        }
    }
}

/// Decodes one record with the path of the first error.
pub fn decode_value<T: DataModel>(json: &[u8]) -> Result<T, DecodeError> {
    // Valid records (nearly all) are decoded without tracking the path, which costs about a
    // third of the decoding time; only a record that fails is decoded again to find it.
    if let Ok(value) = serde_json::from_slice(json) {
        return Ok(value);
    }
    decode_value_with_path(json)
}

/// [`decode_value`]'s slow path: the decoding error with its JSON path.
fn decode_value_with_path<T: DataModel>(json: &[u8]) -> Result<T, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        DecodeError {
            path: if path.is_empty() || path == "." {
                ".".into()
            } else {
                format!(".{}", path.trim_start_matches('.'))
            },
            message: e.into_inner().to_string(),
        }
    })?;
    de.end().map_err(|e| DecodeError {
        path: ".".into(),
        message: e.to_string(),
    })?;
    Ok(value)
}

fn decode_json<T: DataModel>(
    json: &[u8],
    format: PayloadFormat,
) -> Result<EncodedRecord, DecodeError> {
    // serde also reads a struct from a positional array (`["a", 1]`); records are objects.
    if let Some(kind) = non_object_kind(json) {
        return Err(DecodeError {
            path: ".".into(),
            message: format!("a record must be a JSON object, not {kind}"),
        });
    }
    let record = decode_value::<T>(json)?;
    // A number too large for an `f32` decodes as infinity, which JSON cannot carry: the
    // stream would hold `null` and the record would never reach its table.
    if let Some(found) = record.first_non_finite() {
        let ty = found.rust_type;
        return Err(DecodeError {
            path: if found.path.is_empty() {
                ".".into()
            } else {
                found.path
            },
            message: format!(
                "number out of range for {ty}{}",
                if ty == "f32" {
                    " (at most 3.4028235e38 in magnitude)"
                } else {
                    ""
                }
            ),
        });
    }
    Ok(EncodedRecord::encode_as(&record, format))
}

/// [`ModelCodec::decode_json_array`]: the array is parsed once, each record decoded into
/// `T` straight from it, where [`decode_json`] needs each record's text found first. Accepts
/// exactly the records `decode_json` accepts (objects, finite numbers).
fn decode_json_array<T: DataModel>(
    body: &[u8],
    format: PayloadFormat,
) -> Option<Vec<EncodedRecord>> {
    let mut json = serde_json::Deserializer::from_slice(body);
    let records = serde::Deserializer::deserialize_seq(
        &mut json,
        EachRecord::<T> {
            format,
            model: PhantomData,
        },
    )
    .ok()?;
    json.end().ok()?;
    Some(records)
}

/// The visitor of [`decode_json_array`]'s array.
struct EachRecord<T> {
    format: PayloadFormat,
    model: PhantomData<fn() -> T>,
}

impl<'de, T: DataModel> serde::de::Visitor<'de> for EachRecord<T> {
    type Value = Vec<EncodedRecord>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut items: A,
    ) -> Result<Self::Value, A::Error> {
        let mut records = Vec::with_capacity(items.size_hint().unwrap_or(0));
        while let Some(record) = items.next_element_seed(ObjectOf::<T>(PhantomData))? {
            if record.first_non_finite().is_some() {
                return Err(serde::de::Error::custom("a number out of range"));
            }
            records.push(EncodedRecord::encode_as(&record, self.format));
        }
        Ok(records)
    }
}

/// Decodes a `T` from a JSON object only: a derived struct also reads a positional array
/// (`["a", 1]`), which [`decode_json`] refuses.
struct ObjectOf<T>(PhantomData<fn() -> T>);

impl<'de, T: DataModel> serde::de::DeserializeSeed<'de> for ObjectOf<T> {
    type Value = T;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::deserialize(ObjectOnly(deserializer))
    }
}

/// A deserializer that reads a struct only from a map: whatever a model's derived
/// `Deserialize` asks for (a struct, or a map with flattened fields) is read as a map.
struct ObjectOnly<D>(D);

impl<'de, D: serde::Deserializer<'de>> serde::Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// What a JSON text that is not an object holds (`None` for objects and for text that is not
/// JSON at all, which the parser reports).
fn non_object_kind(json: &[u8]) -> Option<&'static str> {
    let first = json
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))?;
    Some(match first {
        b'[' => "an array",
        b'"' => "a string",
        b'n' => "null",
        b't' | b'f' => "a boolean",
        b'-' | b'0'..=b'9' => "a number",
        _ => return None,
    })
}

fn write_row<T: DataModel>(
    payload: &[u8],
    types: &[ColumnType],
    out: &mut Vec<u8>,
) -> Result<(), RowError> {
    let record: T = crate::schema::payload::decode(payload).map_err(|e| {
        RowError::Decode(format!("stored record is not a valid `{}`: {e}", T::NAME))
    })?;
    let start = out.len();
    record.write_row(types, out).map_err(|e| {
        out.truncate(start);
        RowError::Encode(e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use moose_macros::data_model;

    use super::*;
    use crate::schema::ColumnValue;

    #[data_model(crate = "crate")]
    struct Inner {
        zip: Option<f32>,
    }

    #[data_model(crate = "crate")]
    struct Record {
        id: String,
        ratio: f64,
        narrow: f32,
        scores: Vec<f32>,
        by_name: BTreeMap<String, f32>,
        inner: Inner,
        #[serde(rename = "perhaps")]
        maybe: Option<f32>,
        nested: Vec<Vec<Option<f64>>>,
    }

    fn record() -> Record {
        Record {
            id: "a".into(),
            ratio: 1e300,
            narrow: 3.4e38,
            scores: vec![1.0, 2.0],
            by_name: BTreeMap::from([("k".to_owned(), 1.0)]),
            inner: Inner { zip: Some(1.0) },
            maybe: None,
            nested: vec![vec![], vec![Some(1.0), None]],
        }
    }

    #[test]
    fn finite_records_pass() {
        assert_eq!(record().first_non_finite(), None);
    }

    #[test]
    fn the_first_non_finite_float_is_found_with_its_json_path() {
        /// Makes one float non-finite; the path and type that must be reported.
        type Damage = (fn(&mut Record), &'static str, &'static str);
        let cases: [Damage; 8] = [
            (|r| r.narrow = f32::INFINITY, ".narrow", "f32"),
            (|r| r.ratio = f64::NAN, ".ratio", "f64"),
            (|r| r.scores[1] = f32::NEG_INFINITY, ".scores[1]", "f32"),
            (
                |r| {
                    r.by_name.insert("k".into(), f32::INFINITY);
                },
                ".by_name.k",
                "f32",
            ),
            (|r| r.inner.zip = Some(f32::INFINITY), ".inner.zip", "f32"),
            (|r| r.maybe = Some(f32::NAN), ".perhaps", "f32"),
            (|r| r.nested[1][0] = Some(f64::NAN), ".nested[1][0]", "f64"),
            (
                |r| {
                    r.ratio = f64::NAN;
                    r.scores[0] = f32::NAN;
                },
                ".ratio",
                "f64",
            ),
        ];
        for (damage, path, ty) in cases {
            let mut r = record();
            damage(&mut r);
            let found = r.first_non_finite().expect(path);
            assert_eq!((found.path.as_str(), found.rust_type), (path, ty));
        }
    }

    /// What ingest answers for a number too large for its `f32` field.
    #[test]
    fn a_float_out_of_range_is_a_decode_error_at_its_path() {
        let json = br#"{"id":"a","ratio":1,"narrow":1,"scores":[1,-1e39],"by_name":{},"inner":{"zip":null},"perhaps":null,"nested":[]}"#;
        assert_eq!(
            decode_json::<Record>(json, PayloadFormat::Json).unwrap_err(),
            DecodeError {
                path: ".scores[1]".into(),
                message: "number out of range for f32 (at most 3.4028235e38 in magnitude)".into(),
            }
        );
    }

    /// The one-pass array decode takes a body exactly when every record of it decodes on its
    /// own, and encodes the same bytes; anything else is left to the record-by-record path.
    #[test]
    fn the_one_pass_array_decode_agrees_with_decoding_each_record() {
        let valid = r#"{"id":"a","ratio":1.5,"narrow":2,"scores":[1,2],"by_name":{"k":3},"inner":{"zip":null},"perhaps":4,"nested":[[1,null]]}"#;
        let other = r#"{"id":"b","ratio":-1,"narrow":0,"scores":[],"by_name":{},"inner":{"zip":1},"perhaps":null,"nested":[]}"#;
        let positional = r#"["c",1,2,[],{},{"zip":null},null,[]]"#;
        let too_large = r#"{"id":"d","ratio":1,"narrow":1e39,"scores":[],"by_name":{},"inner":{"zip":null},"perhaps":null,"nested":[]}"#;
        let missing = r#"{"id":"e"}"#;
        let cases: [(&[&str], bool); 7] = [
            (&[valid], true),
            (&[valid, other, valid], true),
            (&[valid, positional], false),
            (&[too_large, valid], false),
            (&[other, missing], false),
            (&["1"], false),
            (&[], true),
        ];
        for format in [PayloadFormat::Json, PayloadFormat::Binary] {
            for (records, all_valid) in cases {
                let body = format!("[{}]", records.join(", "));
                let one_by_one: Result<Vec<EncodedRecord>, DecodeError> = records
                    .iter()
                    .map(|r| decode_json::<Record>(r.as_bytes(), format))
                    .collect();
                assert_eq!(one_by_one.is_ok(), all_valid, "{body}");
                assert_eq!(
                    decode_json_array::<Record>(body.as_bytes(), format),
                    one_by_one.ok(),
                    "{body} ({format:?})"
                );
            }
        }
        // Broken JSON and trailing text are never taken.
        assert_eq!(
            decode_json_array::<Record>(format!("[{valid}").as_bytes(), PayloadFormat::Json),
            None
        );
        assert_eq!(
            decode_json_array::<Record>(format!("[{valid}] x").as_bytes(), PayloadFormat::Json),
            None
        );
    }
}
