//! [`DataModel`]: the schema and encodings `#[data_model]` derives from a struct.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{ColumnType, ColumnValue, EncodeError, ExtraFields};

/// One ClickHouse column of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name: the field's serde wire name.
    pub name: String,
    /// Logical ClickHouse type, before resolution for a server.
    pub ty: ColumnType,
    /// Part of the model's key (`#[key]`): default `ORDER BY` and Kafka message key.
    pub key: bool,
    /// `DEFAULT` expression, from `#[moose(default = "...")]`.
    pub default: Option<String>,
    /// Column comment, from the field's `///` doc comment.
    pub comment: Option<String>,
    /// Compression codec, from `#[moose(codec = "...")]`.
    pub codec: Option<String>,
}

impl Column {
    /// Whether the column accepts `NULL`.
    pub fn nullable(&self) -> bool {
        self.ty.is_nullable()
    }
}

/// A typed record: its schema, its JSON form (serde) and its ClickHouse row encoding.
///
/// Implemented by `#[data_model]`; implementing it by hand is possible but the derive keeps
/// the column names, serde names and encoding in step.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a data model",
    label = "add `#[data_model]` to the definition of `{Self}`",
    note = "streams, tables and ingest APIs carry `#[data_model]` structs"
)]
pub trait DataModel: ColumnValue + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The model's name: the Rust struct's name.
    const NAME: &'static str;

    /// Column names in order, as serde writes them.
    const COLUMN_NAMES: &'static [&'static str];

    /// Names of the `#[key]` columns, in field order.
    const KEY_NAMES: &'static [&'static str];

    /// What the model does with JSON fields it does not declare
    /// (`#[data_model(extra_fields = "...")]`).
    const EXTRA_FIELDS: ExtraFields = ExtraFields::Ignore;

    /// The columns, in field order.
    fn columns() -> Vec<Column>;

    /// Names of the `#[key]` columns, in field order.
    fn key_columns() -> Vec<String> {
        Self::columns()
            .into_iter()
            .filter(|c| c.key)
            .map(|c| c.name)
            .collect()
    }

    /// Appends this record as one RowBinary row; `types` are the table's resolved column types,
    /// in column order.
    fn write_row(&self, types: &[ColumnType], out: &mut Vec<u8>) -> Result<(), EncodeError>;

    /// The stream message key: the key field(s). A single string key is its text, other keys
    /// are their JSON; several keys are a JSON array. Empty for a model without keys.
    fn message_key(&self) -> Vec<u8>;

    /// The fingerprint binary payloads of this model carry
    /// ([`payload`](super::payload)): a hash of the column names and types, so a record
    /// stored for another definition of the model is refused, not misread. `#[data_model]`
    /// computes it once.
    fn payload_fingerprint() -> u32 {
        super::payload::fingerprint::<Self>()
    }
}

/// The message-key bytes of one key value: strings as their text, everything else as JSON.
#[doc(hidden)]
pub fn key_part<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let json = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
    match json {
        serde_json::Value::String(text) => text.into_bytes(),
        other => other.to_string().into_bytes(),
    }
}

/// The element types of a `Tuple` column holding a nested model, checked for arity.
#[doc(hidden)]
pub fn tuple_types<'a>(
    ty: &'a ColumnType,
    count: usize,
    model: &str,
) -> Result<Vec<&'a ColumnType>, EncodeError> {
    match ty.physical() {
        ColumnType::Tuple(fields) if fields.len() == count => {
            Ok(fields.iter().map(|(_, t)| t).collect())
        }
        other => Err(EncodeError::new(format!(
            "model `{model}` ({count} fields) cannot be encoded as ClickHouse type {other}"
        ))),
    }
}

/// Checks a resolved table has as many columns as the model.
#[doc(hidden)]
pub fn check_row_types(types: &[ColumnType], count: usize, model: &str) -> Result<(), EncodeError> {
    if types.len() == count {
        Ok(())
    } else {
        Err(EncodeError::new(format!(
            "model `{model}` has {count} columns but the table was resolved with {}",
            types.len()
        )))
    }
}

/// Writes an enum discriminant as `Enum8`/`Enum16`.
#[doc(hidden)]
pub fn write_enum(value: i16, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    use super::EnumWidth;
    match ty.physical() {
        ColumnType::Enum {
            width: EnumWidth::Enum8,
            ..
        }
        | ColumnType::Int8 => {
            out.push(value as i8 as u8);
            Ok(())
        }
        ColumnType::Enum {
            width: EnumWidth::Enum16,
            ..
        }
        | ColumnType::Int16 => {
            out.extend_from_slice(&value.to_le_bytes());
            Ok(())
        }
        other => Err(EncodeError::new(format!(
            "an enum value cannot be encoded as ClickHouse type {other}"
        ))),
    }
}
