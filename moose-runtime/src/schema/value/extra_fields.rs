//! What a model does with JSON fields it does not declare: `#[data_model(extra_fields = ...)]`.
//!
//! - `"ignore"` (the default): unknown fields are dropped while decoding; nothing reports them.
//! - `"deny"`: a record with an unknown field is invalid; ingest answers 400 naming every
//!   unknown field's JSON path ([`ColumnValue::unknown_fields`]), and nothing is written.
//! - `"capture"`: unknown fields are kept in the model's one `#[extra_fields]` field (an
//!   [`ExtraFieldsColumn`]: `serde_json::Map<String, Value>`, or a `BTreeMap`/`HashMap` of
//!   `String` to `Value`), stored as one JSON column (`JSON` where the server has it, a
//!   `String` of JSON text on older servers such as 18.16), and written back as top-level
//!   fields whenever the record is written as JSON (streams, dead letters), so a downstream
//!   transform or Kafka reader sees them as they were sent.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use serde::{Serialize, Serializer};
use serde_json::Value;

use super::{ColumnValue, mismatch};
use crate::schema::rowbinary::write_bytes;
use crate::schema::{ColumnType, DataModel, EncodeError};

/// What a model does with JSON fields it does not declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtraFields {
    /// Unknown fields are dropped (the default).
    Ignore,
    /// A record with an unknown field is invalid.
    Deny,
    /// Unknown fields are kept in the field whose column is `column`.
    Capture {
        /// The capture field's column name.
        column: &'static str,
    },
}

/// A field that unknown fields go into (`#[extra_fields]`): a map from field name to JSON
/// value, stored as one JSON column.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold a record's extra fields",
    label = "not a map of field names to JSON values",
    note = "an `#[extra_fields]` field is `serde_json::Map<String, serde_json::Value>`, `BTreeMap<String, serde_json::Value>` or `HashMap<String, serde_json::Value>`"
)]
pub trait ExtraFieldsColumn: Serialize + serde::de::DeserializeOwned {
    /// Lets `#[data_model]` assert the field's type where the user wrote it.
    #[doc(hidden)]
    const ASSERT: () = ();

    /// The fields, in the map's order.
    fn entries(&self) -> impl Iterator<Item = (&String, &Value)>;

    /// The column type: JSON (a `String` of JSON text where the server has no JSON type).
    fn column_type() -> ColumnType {
        ColumnType::Json
    }

    /// Appends the fields as one JSON object, in RowBinary for `ty`.
    fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match ty.physical() {
            ColumnType::Json | ColumnType::String => {
                let object = Object(self);
                let text = serde_json::to_vec(&object).map_err(|e| {
                    EncodeError::new(format!("extra fields cannot be written: {e}"))
                })?;
                write_bytes(&text, out);
                Ok(())
            }
            other => Err(mismatch("extra fields", other)),
        }
    }
}

struct Object<'a, T>(&'a T);

impl<T: ExtraFieldsColumn> Serialize for Object<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.entries())
    }
}

impl ExtraFieldsColumn for serde_json::Map<String, Value> {
    fn entries(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.iter()
    }
}

impl ExtraFieldsColumn for BTreeMap<String, Value> {
    fn entries(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.iter()
    }
}

impl<S: BuildHasher + Default> ExtraFieldsColumn for HashMap<String, Value, S> {
    fn entries(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.iter()
    }
}

/// `#[serde(flatten, serialize_with)]` of an `#[extra_fields]` field of model `T`: writes the
/// captured fields as the record's own top-level fields, leaving out any whose name is one
/// of `T`'s columns (the typed field wins: JSON objects must not repeat a name).
pub struct Captured<T>(std::marker::PhantomData<T>);

impl<T: DataModel> Captured<T> {
    /// Writes `fields` into the record's map.
    pub fn serialize<F: ExtraFieldsColumn, S: Serializer>(
        fields: &F,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let own = match T::EXTRA_FIELDS {
            ExtraFields::Capture { column } => column,
            _ => "",
        };
        let taken = |name: &str| name != own && T::COLUMN_NAMES.contains(&name);
        serializer.collect_map(fields.entries().filter(|(name, _)| !taken(name)))
    }
}

/// A JSON field the model does not declare, found by [`ColumnValue::unknown_fields`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    /// JSON path of the field in the record (`.colour`, `.items[2].shade`).
    pub path: String,
    /// What is wrong, and what the model accepts.
    pub message: String,
}

/// Adds every key of `json` (an object of model `model`) that is not in `known` to `out`,
/// with a message naming the model's fields. For `#[data_model(extra_fields = "deny")]`.
#[doc(hidden)]
pub fn deny_unknown_keys(
    json: &Value,
    path: &str,
    model: &str,
    known: &[&str],
    out: &mut Vec<UnknownField>,
) {
    let Value::Object(object) = json else {
        return;
    };
    for key in object.keys().filter(|key| !known.contains(&key.as_str())) {
        let expected = known
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(UnknownField {
            path: format!("{path}.{key}"),
            message: format!(
                "unknown field `{key}`: `{model}` takes only its own fields ({expected}) and refuses others (extra_fields = \"deny\"); remove the field or add it to the model"
            ),
        });
    }
}

/// [`ColumnValue::unknown_fields`] of the field `name` of an object, if present.
#[doc(hidden)]
pub fn unknown_fields_in<T: ColumnValue>(
    json: &Value,
    path: &str,
    name: &str,
    out: &mut Vec<UnknownField>,
) {
    if let Some(value) = json.get(name) {
        T::unknown_fields(value, &format!("{path}.{name}"), out);
    }
}

/// The unknown fields of one JSON record of model `T`, in document order within each object.
pub fn unknown_fields<T: DataModel>(json: &[u8]) -> Vec<UnknownField> {
    let Ok(value) = serde_json::from_slice::<Value>(json) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    T::unknown_fields(&value, "", &mut out);
    out
}
