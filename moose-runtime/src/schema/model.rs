//! [`DataModel`]: the schema and encodings `#[data_model]` derives from a struct.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{ColumnType, ColumnValue, EncodeError};

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

    /// The columns, in field order.
    fn columns() -> Vec<Column>;

    /// Names of the `#[key]` columns, in field order.
    fn key_columns() -> Vec<String> {
        Self::columns().into_iter().filter(|c| c.key).map(|c| c.name).collect()
    }

    /// Appends this record as one RowBinary row; `types` are the table's resolved column types,
    /// in column order.
    fn write_row(&self, types: &[ColumnType], out: &mut Vec<u8>) -> Result<(), EncodeError>;

    /// The stream message key: the key field(s). A single string key is its text, other keys
    /// are their JSON; several keys are a JSON array. Empty for a model without keys.
    fn message_key(&self) -> Vec<u8>;
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
