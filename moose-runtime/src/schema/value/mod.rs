//! [`ColumnValue`]: how a Rust type maps to a ClickHouse column and encodes as RowBinary.
//!
//! The mapping is by trait, not by spelling, so type aliases and paths work, and a type
//! without a mapping is a compile error that says so.

mod containers;
pub mod extra_fields;
mod primitives;
mod temporal;
pub mod timestamp;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{ColumnType, EncodeError};
pub(crate) use primitives::write_text;

/// Per-field options from `#[moose(...)]` that change a field's column type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldOptions {
    /// `#[moose(decimal(P, S))]`.
    pub decimal: Option<(u8, u8)>,
    /// `#[moose(precision = N)]` for timestamps: sub-second digits (default 3).
    pub precision: Option<u8>,
}

/// Sub-second digits of timestamp columns when a field sets none: milliseconds, which is what
/// JSON producers usually send and what `DateTime64(3)` stores without waste.
pub const DEFAULT_TIMESTAMP_PRECISION: u8 = 3;

/// A Rust type that can be stored in a ClickHouse column.
///
/// Its serde form is its JSON form on streams and ingest APIs, hence the serde supertraits.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in a ClickHouse column",
    label = "no ClickHouse column type for `{Self}`",
    note = "if `{Self}` is your own struct or fieldless enum, add `#[data_model]` to its definition",
    note = "supported: bool, integers, f32/f64, String, Vec<T>, Option<T>, HashMap/BTreeMap<String, T>, SystemTime, chrono/time dates and timestamps, uuid::Uuid, rust_decimal::Decimal, serde_json::Value, Ipv4Addr/Ipv6Addr, and #[data_model] structs and enums"
)]
pub trait ColumnValue: Serialize + DeserializeOwned {
    /// `true` for types that need `#[moose(decimal(P, S))]` to have a column type.
    const NEEDS_DECIMAL: bool = false;

    /// The logical column type of a field of this type.
    fn column_type(options: &FieldOptions) -> ColumnType;

    /// Appends this value in ClickHouse RowBinary for the physical column type `ty`.
    fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError>;

    /// Appends this value in the embedded log's binary payload form
    /// ([`payload`](crate::schema::payload)). The default is the value's JSON text,
    /// length-prefixed; the types the framework maps give compact forms.
    #[inline]
    fn write_payload(&self, out: &mut Vec<u8>) {
        crate::schema::payload::write_json(self, out);
    }

    /// Reads what [`write_payload`](Self::write_payload) wrote, advancing `input` past it.
    #[inline]
    fn read_payload(input: &mut &[u8]) -> Result<Self, crate::schema::payload::PayloadError>
    where
        Self: Sized,
    {
        crate::schema::payload::read_json(input)
    }

    /// The first float in this value, in JSON order, that is infinite or NaN: JSON cannot
    /// carry it (serde_json writes `null`), and a number too large for an `f32` field decodes
    /// as infinity. `None` for types without floats; `#[data_model]` implements it field by
    /// field.
    #[inline]
    fn first_non_finite(&self) -> Option<NonFiniteFloat> {
        None
    }

    /// Adds to `out` every field of `json` (a value of this type at JSON path `path`) that a
    /// model with `extra_fields = "deny"` does not declare, at any depth. Nothing for types
    /// that hold no model; containers look inside. Only called for a record that failed to
    /// decode, to name every unknown field instead of the first.
    #[doc(hidden)]
    fn unknown_fields(
        _json: &serde_json::Value,
        _path: &str,
        _out: &mut Vec<extra_fields::UnknownField>,
    ) {
    }
}

/// A float that JSON cannot carry, as [`ColumnValue::first_non_finite`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonFiniteFloat {
    /// JSON path below the value searched (`.ratio`, `.scores[3]`, `.by_name.k`); empty when
    /// the value is the float itself.
    pub path: String,
    /// The float's Rust type: `f32` or `f64`.
    pub rust_type: &'static str,
}

impl NonFiniteFloat {
    /// A non-finite float of type `rust_type`, at the value itself.
    pub fn new(rust_type: &'static str) -> Self {
        Self {
            path: String::new(),
            rust_type,
        }
    }

    /// The same float, seen from the struct that holds it in field `name` (its serde name).
    pub fn in_field(self, name: &str) -> Self {
        self.below(&format!(".{name}"))
    }

    /// The same float, seen from the sequence that holds it at `index`.
    pub fn at_index(self, index: usize) -> Self {
        self.below(&format!("[{index}]"))
    }

    /// The same float, seen from the map that holds it under `key` (its JSON text, strings
    /// without quotes).
    pub fn at_key(self, key: &impl Serialize) -> Self {
        let key = super::key_part(key);
        self.below(&format!(".{}", String::from_utf8_lossy(&key)))
    }

    fn below(mut self, segment: &str) -> Self {
        self.path.insert_str(0, segment);
        self
    }
}

/// Types that can sit inside `Nullable(...)`.
#[diagnostic::on_unimplemented(
    message = "`Option<{Self}>` cannot be a ClickHouse column: ClickHouse has no Nullable of this type",
    label = "ClickHouse cannot make `{Self}` nullable",
    note = "ClickHouse allows Nullable only around scalar types: not around Array, Map, Tuple, JSON or another Nullable",
    note = "use an empty Vec/Map instead of None, or make the fields inside nullable"
)]
pub trait NullableColumn: ColumnValue {}

/// Types that can be part of a sorting key (`#[key]`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a `#[key]` column",
    label = "not usable in a ClickHouse sorting key",
    note = "ClickHouse sorting keys are not nullable and cannot be Map or JSON: remove `#[key]` from this field or change its type"
)]
pub trait KeyColumn: ColumnValue {
    /// Lets `#[data_model]` assert a `#[key]` field's type where the user wrote it
    /// (`<T as KeyColumn>::ASSERT`), so the error is this trait's message at the field.
    #[doc(hidden)]
    const ASSERT: () = ();
}

/// The error for a value asked to encode as a type it does not map to. It means the model and
/// the resolved table disagree, which is a bug in the caller, never in user data.
pub(crate) fn mismatch(rust: &'static str, ty: &ColumnType) -> EncodeError {
    EncodeError::new(format!(
        "a `{rust}` value cannot be encoded as ClickHouse type {ty}"
    ))
}
