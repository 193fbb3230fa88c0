//! ClickHouse column types, as declared by a model and as resolved for one server.

use std::fmt;

/// Width of a ClickHouse `Enum` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnumWidth {
    /// `Enum8`: discriminants fit in `i8`.
    Enum8,
    /// `Enum16`: discriminants fit in `i16`.
    Enum16,
}

/// A ClickHouse column type.
///
/// A model declares *logical* types (what the Rust type means);
/// [`ResolvedTable::resolve`](super::ResolvedTable::resolve) turns them into the *physical*
/// types one server can store, applying documented fallbacks.
/// Row encoding is always driven by the physical type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// `Bool` (stored as one byte, 0 or 1).
    Bool,
    /// `Int8`.
    Int8,
    /// `Int16`.
    Int16,
    /// `Int32`.
    Int32,
    /// `Int64`.
    Int64,
    /// `Int128`.
    Int128,
    /// `UInt8`.
    UInt8,
    /// `UInt16`.
    UInt16,
    /// `UInt32`.
    UInt32,
    /// `UInt64`.
    UInt64,
    /// `UInt128`.
    UInt128,
    /// `Float32`.
    Float32,
    /// `Float64`.
    Float64,
    /// `String`.
    String,
    /// `FixedString(N)`.
    FixedString(usize),
    /// `Date`: days since 1970-01-01 as `UInt16` (1970-01-01 ..= 2149-06-06).
    Date,
    /// `Date32`: days since 1970-01-01 as `Int32`.
    Date32,
    /// `DateTime('UTC')`: seconds since the epoch as `UInt32`.
    DateTime,
    /// `DateTime64(precision, 'UTC')`: ticks of `10^-precision` s since the epoch as `Int64`.
    DateTime64 {
        /// Sub-second digits, 0..=9.
        precision: u8,
    },
    /// `UUID`.
    Uuid,
    /// `Decimal(P, S)`.
    Decimal {
        /// Total digits, 1..=76.
        precision: u8,
        /// Digits after the point, 0..=precision.
        scale: u8,
    },
    /// `IPv4`.
    IPv4,
    /// `IPv6`.
    IPv6,
    /// `JSON` (sent as a JSON string in RowBinary).
    Json,
    /// `Enum8(...)` / `Enum16(...)`: variant names with their values.
    Enum {
        /// `Enum8` or `Enum16`.
        width: EnumWidth,
        /// `(name, value)` in declaration order.
        variants: Vec<(String, i16)>,
    },
    /// `Nullable(T)`.
    Nullable(Box<ColumnType>),
    /// `Array(T)`.
    Array(Box<ColumnType>),
    /// `Map(K, V)`.
    Map(Box<ColumnType>, Box<ColumnType>),
    /// `Tuple(name T, ...)`; names are dropped when rendering for servers without named tuples.
    Tuple(Vec<(String, ColumnType)>),
    /// `LowCardinality(T)`: a storage optimisation, encoded exactly like `T`.
    LowCardinality(Box<ColumnType>),
    /// `#[moose(column_type = "...")]`: the user's SQL type, encoded as the field's own type.
    Custom {
        /// The SQL type written in the DDL.
        sql: String,
        /// The type the field's value is encoded as.
        encode_as: Box<ColumnType>,
    },
}

impl ColumnType {
    /// `Nullable(T)`.
    pub fn nullable(inner: ColumnType) -> Self {
        ColumnType::Nullable(Box::new(inner))
    }

    /// `Array(T)`.
    pub fn array(inner: ColumnType) -> Self {
        ColumnType::Array(Box::new(inner))
    }

    /// Whether a value of this column may be `NULL`.
    pub fn is_nullable(&self) -> bool {
        match self {
            ColumnType::Nullable(_) => true,
            ColumnType::LowCardinality(inner) => inner.is_nullable(),
            ColumnType::Custom { sql, encode_as } => {
                sql.trim_start().starts_with("Nullable") || encode_as.is_nullable()
            }
            _ => false,
        }
    }

    /// The type whose encoding this type uses: strips `LowCardinality` and `Custom`.
    pub fn physical(&self) -> &ColumnType {
        match self {
            ColumnType::LowCardinality(inner) => inner.physical(),
            ColumnType::Custom { encode_as, .. } => encode_as.physical(),
            other => other,
        }
    }

    /// Wraps the scalar part of this type in `LowCardinality`, the way ClickHouse wants it:
    /// `LowCardinality(Nullable(String))`, `Array(LowCardinality(String))`.
    pub fn with_low_cardinality(self) -> Self {
        match self {
            ColumnType::Array(inner) => ColumnType::Array(Box::new(inner.with_low_cardinality())),
            lc @ ColumnType::LowCardinality(_) => lc,
            other => ColumnType::LowCardinality(Box::new(other)),
        }
    }
}

/// Renders ClickHouse SQL for the type. Tuple element names are written when present.
impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ColumnType::*;
        match self {
            Bool => f.write_str("Bool"),
            Int8 => f.write_str("Int8"),
            Int16 => f.write_str("Int16"),
            Int32 => f.write_str("Int32"),
            Int64 => f.write_str("Int64"),
            Int128 => f.write_str("Int128"),
            UInt8 => f.write_str("UInt8"),
            UInt16 => f.write_str("UInt16"),
            UInt32 => f.write_str("UInt32"),
            UInt64 => f.write_str("UInt64"),
            UInt128 => f.write_str("UInt128"),
            Float32 => f.write_str("Float32"),
            Float64 => f.write_str("Float64"),
            String => f.write_str("String"),
            FixedString(n) => write!(f, "FixedString({n})"),
            Date => f.write_str("Date"),
            Date32 => f.write_str("Date32"),
            DateTime => f.write_str("DateTime('UTC')"),
            DateTime64 { precision } => write!(f, "DateTime64({precision}, 'UTC')"),
            Uuid => f.write_str("UUID"),
            Decimal { precision, scale } => write!(f, "Decimal({precision}, {scale})"),
            IPv4 => f.write_str("IPv4"),
            IPv6 => f.write_str("IPv6"),
            Json => f.write_str("JSON"),
            Enum { width, variants } => {
                f.write_str(match width {
                    EnumWidth::Enum8 => "Enum8(",
                    EnumWidth::Enum16 => "Enum16(",
                })?;
                for (i, (name, value)) in variants.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} = {value}", super::sql::quote_string(name))?;
                }
                f.write_str(")")
            }
            Nullable(inner) => write!(f, "Nullable({inner})"),
            Array(inner) => write!(f, "Array({inner})"),
            Map(k, v) => write!(f, "Map({k}, {v})"),
            Tuple(fields) => {
                f.write_str("Tuple(")?;
                for (i, (name, ty)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if name.is_empty() {
                        write!(f, "{ty}")?;
                    } else {
                        write!(f, "{} {ty}", super::sql::quote_identifier(name))?;
                    }
                }
                f.write_str(")")
            }
            LowCardinality(inner) => write!(f, "LowCardinality({inner})"),
            Custom { sql, .. } => f.write_str(sql),
        }
    }
}
