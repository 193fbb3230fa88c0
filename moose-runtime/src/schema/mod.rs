//! The schema model: what `#[data_model]` derives and everything rendered from it.
//!
//! - [`ColumnValue`] maps a Rust type to a ClickHouse column type and its RowBinary encoding;
//! - [`DataModel`] is a whole record: columns, key, row encoding, message key;
//! - [`ClickHouseCapabilities`] says what a server version can store;
//! - [`ResolvedTable`] is a model's table resolved for one server: `CREATE TABLE` and the
//!   physical column types rows are encoded with.

mod capabilities;
mod cluster;
mod error;
mod model;
mod parse;
pub mod payload;
mod resolve;
pub mod rowbinary;
pub mod sql;
mod table;
mod types;
pub(crate) mod value;

pub use capabilities::{ClickHouseCapabilities, Feature, ParseVersionError, ServerVersion};
pub use cluster::LOCAL_SUFFIX;
pub use error::{EncodeError, SchemaError, SchemaWarning};
pub use model::{Column, DataModel, check_row_types, key_part, tuple_types, write_enum};
pub use parse::ParseTypeError;
pub use payload::{PayloadError, PayloadFormat};
pub use table::{
    DEDUPLICATION_WINDOW_SETTING, DEFAULT_DEDUPLICATION_WINDOW, Engine, LifeCycle, OlapConfig,
    OrderBy, ResolvedColumn, ResolvedTable,
};
pub use types::{ColumnType, EnumWidth};
pub use value::extra_fields::{
    ExtraFields, ExtraFieldsColumn, UnknownField, deny_unknown_keys, unknown_fields,
    unknown_fields_in,
};
pub use value::{
    ColumnValue, DEFAULT_TIMESTAMP_PRECISION, FieldOptions, KeyColumn, NonFiniteFloat,
    NullableColumn,
};
