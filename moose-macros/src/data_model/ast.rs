//! The owned form of a `#[data_model]` item, parsed from syn: what later phases work on.

use proc_macro2::Span;
use syn::{Ident, LitStr, Type};

/// A parsed `#[data_model]` item.
pub struct Model {
    /// The item as it will be emitted: our attributes removed, serde's kept.
    pub item: syn::Item,
    /// Struct or enum name.
    pub ident: Ident,
    /// The crate every generated path starts from: `::moose`, or `#[data_model(crate = "...")]`.
    pub krate: syn::Path,
    /// `#[data_model(extra_fields = "...")]`, if given.
    pub extra_fields: Option<ExtraFields>,
    /// Fields or variants.
    pub kind: Kind,
}

pub enum Kind {
    Struct(Vec<Field>),
    Enum(Vec<Variant>),
}

/// `#[data_model(extra_fields = "...")]`.
pub struct ExtraFields {
    pub mode: ExtraFieldsMode,
    /// The string as written, for error spans.
    pub literal: LitStr,
}

/// What a model does with JSON fields it does not declare.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExtraFieldsMode {
    /// Dropped (serde's default).
    Ignore,
    /// The record is invalid.
    Deny,
    /// Kept in the `#[extra_fields]` field.
    Capture,
}

/// One named struct field.
pub struct Field {
    pub member: Ident,
    pub ty: Type,
    /// Column name: the serde wire name.
    pub column: String,
    /// `#[serde(skip)]`: not a column.
    pub skipped: bool,
    pub key: Option<Span>,
    /// `#[extra_fields]`: unknown JSON fields go here (`extra_fields = "capture"`).
    pub extra_fields: Option<Span>,
    /// serde's `alias` names: accepted on input like the column name.
    pub aliases: Vec<String>,
    /// The user's own `#[serde(with | serialize_with | deserialize_with)]`, if any.
    pub serde_with: Option<Span>,
    pub low_cardinality: Option<Span>,
    pub default: Option<LitStr>,
    pub codec: Option<LitStr>,
    pub column_type: Option<LitStr>,
    pub decimal: Option<Decimal>,
    pub precision: Option<(u8, Span)>,
    /// The `///` doc comment, lines joined.
    pub doc: Option<String>,
    /// The serde form the expansion gives a timestamp field; `None` for other fields and for
    /// fields with the user's own `#[serde(with = ...)]`.
    pub time_format: Option<TimeFormat>,
}

/// The serde form the expansion gives a timestamp field (`SystemTime`, `DateTime<Utc>`,
/// `OffsetDateTime`; recognised by how the field's type is spelled): the runtime's
/// `timestamp` module, which reads RFC 3339, ClickHouse's text form and epoch seconds, and
/// writes RFC 3339 with the column's digits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TimeFormat {
    /// The timestamp itself.
    Timestamp,
    /// `Option` of a timestamp; `missing_is_none` when the field needs `#[serde(default)]` so
    /// a missing field reads as `None`, as for any other `Option` field.
    OptionTimestamp { missing_is_none: bool },
}

/// `#[moose(decimal(P, S))]`.
pub struct Decimal {
    pub precision: u8,
    pub scale: u8,
    pub span: Span,
}

/// One fieldless enum variant.
pub struct Variant {
    pub ident: Ident,
    /// serde wire name: the Enum value's name in ClickHouse.
    pub wire: String,
    pub discriminant: i64,
    pub span: Span,
}
