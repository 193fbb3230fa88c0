//! Resolution of logical column types for one server: fallbacks and refusals.

use super::capabilities::{ClickHouseCapabilities, Feature};
use super::{ColumnType, SchemaError, SchemaWarning};

/// Resolves column types of one table for one server, collecting warnings.
pub(crate) struct TypeResolver<'a> {
    pub caps: &'a ClickHouseCapabilities,
    pub table: &'a str,
    pub warnings: Vec<SchemaWarning>,
}

impl TypeResolver<'_> {
    fn warn(&mut self, place: &str, message: String) {
        let warning = SchemaWarning {
            table: self.table.to_owned(),
            place: place.to_owned(),
            message,
        };
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    fn refuse(&self, place: &str, feature: Feature) -> SchemaError {
        SchemaError::Unsupported {
            table: self.table.to_owned(),
            place: place.to_owned(),
            feature,
            server_version: self.caps.version(),
        }
    }

    /// The physical type of column `column` (named in messages as `place`).
    pub fn resolve(&mut self, place: &str, ty: &ColumnType) -> Result<ColumnType, SchemaError> {
        use ColumnType as T;
        let caps = self.caps;
        Ok(match ty {
            T::Bool if !caps.supports(Feature::Bool) => {
                self.warn(
                    place,
                    "Bool stored as UInt8 (0/1): reads back as a number".into(),
                );
                T::UInt8
            }
            T::DateTime64 { precision } if !caps.supports(Feature::DateTime64) => {
                if *precision > 0 {
                    self.warn(
                        place,
                        format!(
                            "DateTime64({precision}) stored as DateTime: sub-second digits are dropped"
                        ),
                    );
                }
                T::DateTime
            }
            T::Date32 if !caps.supports(Feature::Date32) => {
                self.warn(
                    place,
                    "Date32 stored as Date: dates outside 1970-01-01 ..= 2105-12-31 are refused at insert".into(),
                );
                T::Date
            }
            T::IPv4 if !caps.supports(Feature::IpAddress) => {
                self.warn(
                    place,
                    "IPv4 stored as UInt32: reads back as a number".into(),
                );
                T::UInt32
            }
            T::IPv6 if !caps.supports(Feature::IpAddress) => {
                self.warn(
                    place,
                    "IPv6 stored as FixedString(16): reads back as 16 raw bytes".into(),
                );
                T::FixedString(16)
            }
            T::Json if !caps.supports(Feature::Json) => {
                self.warn(place, "JSON stored as String holding the JSON text".into());
                T::String
            }
            T::Int128 if !caps.supports(Feature::Int128) => {
                return Err(self.refuse(place, Feature::Int128));
            }
            T::UInt128 if !caps.supports(Feature::UInt128) => {
                return Err(self.refuse(place, Feature::UInt128));
            }
            T::Decimal { precision, .. }
                if *precision > 38 && !caps.supports(Feature::Decimal256) =>
            {
                return Err(self.refuse(place, Feature::Decimal256));
            }
            T::Decimal { precision, scale }
                if *precision == 0 || *precision > 76 || scale > precision =>
            {
                return Err(SchemaError::Invalid {
                    table: self.table.to_owned(),
                    message: format!(
                        "{place}: Decimal({precision}, {scale}) is not a ClickHouse type: precision must be 1..=76 and scale at most the precision"
                    ),
                });
            }
            T::DateTime64 { precision } if *precision > 9 => {
                return Err(SchemaError::Invalid {
                    table: self.table.to_owned(),
                    message: format!(
                        "{place}: DateTime64 precision {precision} is over the maximum 9"
                    ),
                });
            }
            T::Map(k, v) => {
                if !caps.supports(Feature::Map) {
                    return Err(self.refuse(place, Feature::Map));
                }
                T::Map(
                    Box::new(self.resolve(place, k)?),
                    Box::new(self.resolve(place, v)?),
                )
            }
            T::LowCardinality(inner) => {
                let inner = self.resolve(place, inner)?;
                if caps.supports(Feature::LowCardinality) {
                    T::LowCardinality(Box::new(inner))
                } else {
                    self.warn(place, "LowCardinality dropped: this server only has it behind an experimental setting".into());
                    inner
                }
            }
            T::Nullable(inner) => T::Nullable(Box::new(self.resolve(place, inner)?)),
            T::Array(inner) => T::Array(Box::new(self.resolve(place, inner)?)),
            T::Tuple(fields) => {
                let named = caps.supports(Feature::NamedTuple);
                let mut out = Vec::with_capacity(fields.len());
                for (name, field) in fields {
                    let field = self.resolve(&format!("{place}.{name}"), field)?;
                    out.push((if named { name.clone() } else { String::new() }, field));
                }
                T::Tuple(out)
            }
            T::Custom { sql, encode_as } => T::Custom {
                sql: sql.clone(),
                encode_as: Box::new(self.resolve(place, encode_as)?),
            },
            other => other.clone(),
        })
    }
}
