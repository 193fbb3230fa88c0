//! Comparing column types: the same type, a type that can hold what the model writes, and
//! changes that keep every value.

use crate::schema::{ColumnType, EnumWidth};

/// `ty` in one comparable form: `Custom` SQL parsed where moose can read it, so
/// `#[moose(column_type = "Decimal(18,4)")]` equals the server's `Decimal(18, 4)`.
pub(crate) fn canonical(ty: &ColumnType) -> ColumnType {
    use ColumnType as T;
    match ty {
        T::Custom { sql, encode_as } => match sql.parse::<ColumnType>() {
            Ok(T::Custom { sql, encode_as }) => T::Custom {
                sql: squeeze(&sql),
                encode_as,
            },
            Ok(parsed) => canonical(&parsed),
            Err(_) => T::Custom {
                sql: squeeze(sql),
                encode_as: encode_as.clone(),
            },
        },
        T::Nullable(inner) => T::Nullable(Box::new(canonical(inner))),
        T::Array(inner) => T::Array(Box::new(canonical(inner))),
        T::LowCardinality(inner) => T::LowCardinality(Box::new(canonical(inner))),
        T::Map(k, v) => T::Map(Box::new(canonical(k)), Box::new(canonical(v))),
        T::Tuple(fields) => T::Tuple(
            fields
                .iter()
                .map(|(name, ty)| (name.clone(), canonical(ty)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// SQL with whitespace normalised: none around brackets, one space after commas.
fn squeeze(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    for c in sql.trim().chars() {
        if c == '\'' {
            quoted = !quoted;
        }
        if !quoted && c.is_whitespace() {
            continue;
        }
        out.push(c);
        if !quoted && c == ',' {
            out.push(' ');
        }
    }
    out
}

/// Whether the server's `actual` type is exactly what moose would create for `declared`.
pub(crate) fn same_type(declared: &ColumnType, actual: &ColumnType) -> bool {
    canonical(declared).to_string() == canonical(actual).to_string()
}

/// Why a column of type `actual` cannot take the rows moose writes for `declared`, if it
/// cannot. Rows are RowBinary encoded for the declared type, so the two must share their
/// encoding (a `LowCardinality` wrapper, a time zone or tuple element names do not change
/// it) and `actual` must accept every value (an `Enum` needs every declared variant).
pub(crate) fn cannot_hold(declared: &ColumnType, actual: &ColumnType) -> Option<String> {
    if holds(&canonical(declared), &canonical(actual)) {
        None
    } else {
        Some(format!(
            "it is `{actual}` on the server and the model writes `{declared}`"
        ))
    }
}

fn holds(declared: &ColumnType, actual: &ColumnType) -> bool {
    use ColumnType as T;
    let (declared, actual) = (encoding(declared), encoding(actual));
    match (declared, actual) {
        (T::Nullable(d), T::Nullable(a)) | (T::Array(d), T::Array(a)) => holds(d, a),
        (T::Map(dk, dv), T::Map(ak, av)) => holds(dk, ak) && holds(dv, av),
        (T::Tuple(d), T::Tuple(a)) => {
            d.len() == a.len() && d.iter().zip(a).all(|((_, d), (_, a))| holds(d, a))
        }
        (
            T::Enum {
                width: dw,
                variants: dv,
            },
            T::Enum {
                width: aw,
                variants: av,
            },
        ) => dw == aw && dv.iter().all(|v| av.contains(v)),
        (T::Custom { sql: d, .. }, T::Custom { sql: a, .. }) => d == a,
        (T::Custom { .. }, _) | (_, T::Custom { .. }) => false,
        (d, a) => d == a,
    }
}

/// The type whose RowBinary encoding `ty` uses: wrappers and aliases removed.
fn encoding(ty: &ColumnType) -> &ColumnType {
    use ColumnType as T;
    match ty {
        T::LowCardinality(inner) => encoding(inner),
        T::Bool => &T::UInt8,
        T::IPv4 => &T::UInt32,
        T::IPv6 => &T::FixedString(16),
        // A time zone changes how values print, not what is stored.
        T::Custom { encode_as, sql } if sql.starts_with("DateTime") => encoding(encode_as),
        other => other,
    }
}

/// Why changing a column from `from` to `to` can lose or alter values, if it can.
pub(crate) fn loses_data(from: &ColumnType, to: &ColumnType) -> Option<String> {
    let (from_c, to_c) = (canonical(from), canonical(to));
    if keeps(&from_c, &to_c) {
        None
    } else {
        Some(format!(
            "converting `{from}` to `{to}` can change or lose values"
        ))
    }
}

fn keeps(from: &ColumnType, to: &ColumnType) -> bool {
    use ColumnType as T;
    if from == to {
        return true;
    }
    match (from, to) {
        (T::LowCardinality(f), t) => keeps(f, t),
        (f, T::LowCardinality(t)) => keeps(f, t),
        (T::Nullable(f), T::Nullable(t)) => keeps(f, t),
        (T::Nullable(_), _) => false,
        (f, T::Nullable(t)) => keeps(f, t),
        (T::Array(f), T::Array(t)) => keeps(f, t),
        (T::Map(fk, fv), T::Map(tk, tv)) => keeps(fk, tk) && keeps(fv, tv),
        (T::Tuple(f), T::Tuple(t)) => {
            f.len() == t.len() && f.iter().zip(t).all(|((_, f), (_, t))| keeps(f, t))
        }
        (
            T::Enum {
                width: fw,
                variants: fv,
            },
            T::Enum {
                width: tw,
                variants: tv,
            },
        ) => (fw == tw || *tw == EnumWidth::Enum16) && fv.iter().all(|v| tv.contains(v)),
        (
            T::Decimal {
                precision: fp,
                scale: fs,
            },
            T::Decimal {
                precision: tp,
                scale: ts,
            },
        ) => ts >= fs && tp - ts >= fp - fs,
        (T::FixedString(f), T::FixedString(t)) => t >= f,
        (T::Date, T::Date32 | T::DateTime | T::DateTime64 { .. }) => true,
        (T::DateTime, T::DateTime64 { .. }) => true,
        (T::DateTime64 { precision: f }, T::DateTime64 { precision: t }) => t >= f,
        (T::Bool, t) if int_range(t).is_some() => true,
        // Every value has a text form that reads back as the same value.
        (f, T::String) => !matches!(f, T::Custom { .. } | T::Tuple(_) | T::Map(..) | T::Array(_)),
        (f, t) => match (int_range(f), int_range(t)) {
            (Some(f), Some(t)) => t.0 <= f.0 && f.1 <= t.1,
            (Some((lo, hi)), None) => match t {
                // Floats hold integers exactly up to their mantissa width.
                T::Float32 => lo >= -(1 << 24) && hi <= 1 << 24,
                T::Float64 => lo >= -(1 << 53) && hi <= 1 << 53,
                _ => false,
            },
            _ => matches!((f, t), (T::Float32, T::Float64)),
        },
    }
}

/// The value range of an integer type.
fn int_range(ty: &ColumnType) -> Option<(i128, i128)> {
    use ColumnType as T;
    Some(match ty {
        T::Int8 => (i8::MIN.into(), i8::MAX.into()),
        T::Int16 => (i16::MIN.into(), i16::MAX.into()),
        T::Int32 => (i32::MIN.into(), i32::MAX.into()),
        T::Int64 => (i64::MIN.into(), i64::MAX.into()),
        T::Int128 => (i128::MIN, i128::MAX),
        T::UInt8 => (0, u8::MAX.into()),
        T::UInt16 => (0, u16::MAX.into()),
        T::UInt32 => (0, u32::MAX.into()),
        T::UInt64 => (0, u64::MAX.into()),
        T::UInt128 => (0, i128::MAX),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(s: &str) -> ColumnType {
        s.parse().unwrap()
    }

    #[test]
    fn custom_sql_compares_by_meaning_not_spelling() {
        let custom = ColumnType::Custom {
            sql: "Decimal(18,4)".into(),
            encode_as: Box::new(ColumnType::String),
        };
        assert!(same_type(&custom, &ty("Decimal(18, 4)")));
        assert!(!same_type(&ty("Int32"), &ty("Int64")));
        assert!(same_type(
            &ty("Nullable(String)"),
            &ty("Nullable( String )")
        ));
    }

    #[test]
    fn widening_keeps_values_and_narrowing_does_not() {
        for (from, to) in [
            ("Int32", "Int64"),
            ("UInt32", "Int64"),
            ("Int32", "Float64"),
            ("Float32", "Float64"),
            ("String", "Nullable(String)"),
            ("String", "LowCardinality(String)"),
            ("Int64", "String"),
            ("Decimal(9, 2)", "Decimal(18, 4)"),
            ("Enum8('a' = 1)", "Enum8('a' = 1, 'b' = 2)"),
            ("DateTime('UTC')", "DateTime64(3, 'UTC')"),
            ("Array(Int8)", "Array(Int16)"),
        ] {
            assert_eq!(loses_data(&ty(from), &ty(to)), None, "{from} -> {to}");
        }
        for (from, to) in [
            ("Int64", "Int32"),
            ("Int32", "UInt64"),
            ("Int64", "Float64"),
            ("Float64", "Int64"),
            ("Nullable(String)", "String"),
            ("String", "Int64"),
            ("Decimal(18, 4)", "Decimal(18, 2)"),
            ("Enum8('a' = 1, 'b' = 2)", "Enum8('a' = 1)"),
        ] {
            assert!(loses_data(&ty(from), &ty(to)).is_some(), "{from} -> {to}");
        }
    }

    #[test]
    fn a_column_holds_the_model_when_the_encoding_matches() {
        assert_eq!(
            cannot_hold(&ty("String"), &ty("LowCardinality(String)")),
            None
        );
        assert_eq!(cannot_hold(&ty("Bool"), &ty("UInt8")), None);
        assert_eq!(cannot_hold(&ty("DateTime('UTC')"), &ty("DateTime")), None);
        assert_eq!(
            cannot_hold(&ty("Enum8('a' = 1)"), &ty("Enum8('a' = 1, 'b' = 2)")),
            None
        );
        assert_eq!(
            cannot_hold(&ty("Float64"), &ty("Int32")).as_deref(),
            Some("it is `Int32` on the server and the model writes `Float64`")
        );
        assert!(cannot_hold(&ty("String"), &ty("Nullable(String)")).is_some());
        assert!(cannot_hold(&ty("Int32"), &ty("Int64")).is_some());
    }
}
