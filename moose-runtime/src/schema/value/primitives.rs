//! Scalars: booleans, numbers, strings, UUIDs, decimals, IP addresses, JSON.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{ColumnValue, FieldOptions, KeyColumn, NonFiniteFloat, NullableColumn, mismatch};
use crate::schema::payload::{self, PayloadError};
use crate::schema::rowbinary::write_bytes;
use crate::schema::{ColumnType, EncodeError};

impl ColumnValue for bool {
    fn column_type(_: &FieldOptions) -> ColumnType {
        ColumnType::Bool
    }

    fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match ty.physical() {
            ColumnType::Bool | ColumnType::UInt8 => {
                out.push(u8::from(*self));
                Ok(())
            }
            other => Err(mismatch("bool", other)),
        }
    }

    #[inline]
    fn write_payload(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }

    #[inline]
    fn read_payload(input: &mut &[u8]) -> Result<Self, PayloadError> {
        payload::read_flag(input, "a bool")
    }
}

/// `$rust => $ch` maps a number to its column; `if is_finite` marks the floats, the only
/// numbers that can be infinite or NaN.
macro_rules! number {
    ($($rust:ty => $ch:ident $(if $finite:ident)?),* $(,)?) => {$(
        impl ColumnValue for $rust {
            fn column_type(_: &FieldOptions) -> ColumnType {
                ColumnType::$ch
            }

            #[inline]
            fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
                match ty.physical() {
                    ColumnType::$ch => {
                        out.extend_from_slice(&self.to_le_bytes());
                        Ok(())
                    }
                    other => Err(mismatch(stringify!($rust), other)),
                }
            }

            #[inline]
            fn write_payload(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }

            #[inline]
            fn read_payload(input: &mut &[u8]) -> Result<Self, PayloadError> {
                Ok(<$rust>::from_le_bytes(payload::take_array(input, stringify!($rust))?))
            }

            $(
                #[inline]
                fn first_non_finite(&self) -> Option<NonFiniteFloat> {
                    (!self.$finite()).then(|| NonFiniteFloat::new(stringify!($rust)))
                }
            )?
        }
        impl NullableColumn for $rust {}
        impl KeyColumn for $rust {}
    )*};
}

number! {
    i8 => Int8, i16 => Int16, i32 => Int32, i64 => Int64, i128 => Int128,
    u8 => UInt8, u16 => UInt16, u32 => UInt32, u64 => UInt64, u128 => UInt128,
    f32 => Float32 if is_finite, f64 => Float64 if is_finite,
}

impl NullableColumn for bool {}
impl KeyColumn for bool {}

impl ColumnValue for String {
    fn column_type(_: &FieldOptions) -> ColumnType {
        ColumnType::String
    }

    #[inline]
    fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write_text("String", self, ty, out)
    }

    #[inline]
    fn write_payload(&self, out: &mut Vec<u8>) {
        payload::write_str(self, out);
    }

    #[inline]
    fn read_payload(input: &mut &[u8]) -> Result<Self, PayloadError> {
        payload::read_str(input).map(str::to_owned)
    }
}

/// Encodes `text` for a `String` or `FixedString` column; `rust` names the Rust type in the
/// error for any other column type.
#[inline]
pub(crate) fn write_text(
    rust: &'static str,
    text: &str,
    ty: &ColumnType,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    match ty.physical() {
        ColumnType::String => {
            write_bytes(text.as_bytes(), out);
            Ok(())
        }
        ColumnType::FixedString(n) => {
            if text.len() > *n {
                return Err(EncodeError::new(format!(
                    "string of {} bytes does not fit FixedString({n})",
                    text.len()
                )));
            }
            out.extend_from_slice(text.as_bytes());
            out.resize(out.len() + (n - text.len()), 0);
            Ok(())
        }
        other => Err(mismatch(rust, other)),
    }
}
impl NullableColumn for String {}
impl KeyColumn for String {}

impl ColumnValue for Ipv4Addr {
    fn column_type(_: &FieldOptions) -> ColumnType {
        ColumnType::IPv4
    }

    fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match ty.physical() {
            // IPv4 is a UInt32 underneath: the fallback stores the same number.
            ColumnType::IPv4 | ColumnType::UInt32 => {
                out.extend_from_slice(&self.to_bits().to_le_bytes());
                Ok(())
            }
            other => Err(mismatch("Ipv4Addr", other)),
        }
    }

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.octets());
    }

    fn read_payload(input: &mut &[u8]) -> Result<Self, PayloadError> {
        Ok(Ipv4Addr::from(payload::take_array::<4>(
            input,
            "an IPv4 address",
        )?))
    }
}
impl NullableColumn for Ipv4Addr {}
impl KeyColumn for Ipv4Addr {}

impl ColumnValue for Ipv6Addr {
    fn column_type(_: &FieldOptions) -> ColumnType {
        ColumnType::IPv6
    }

    fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match ty.physical() {
            // IPv6 is FixedString(16) in network order underneath.
            ColumnType::IPv6 | ColumnType::FixedString(16) => {
                out.extend_from_slice(&self.octets());
                Ok(())
            }
            other => Err(mismatch("Ipv6Addr", other)),
        }
    }

    fn write_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.octets());
    }

    fn read_payload(input: &mut &[u8]) -> Result<Self, PayloadError> {
        Ok(Ipv6Addr::from(payload::take_array::<16>(
            input,
            "an IPv6 address",
        )?))
    }
}
impl NullableColumn for Ipv6Addr {}
impl KeyColumn for Ipv6Addr {}

impl ColumnValue for serde_json::Value {
    fn column_type(_: &FieldOptions) -> ColumnType {
        ColumnType::Json
    }

    fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match ty.physical() {
            // Sent as text; modern servers parse it with
            // `input_format_binary_read_json_as_string = 1`, old ones store the text.
            ColumnType::Json | ColumnType::String => {
                let text = serde_json::to_vec(self)
                    .map_err(|e| EncodeError::new(format!("JSON value cannot be written: {e}")))?;
                write_bytes(&text, out);
                Ok(())
            }
            other => Err(mismatch("serde_json::Value", other)),
        }
    }
}

#[cfg(feature = "uuid")]
mod uuid_impl {
    use super::*;

    impl ColumnValue for uuid::Uuid {
        fn column_type(_: &FieldOptions) -> ColumnType {
            ColumnType::Uuid
        }

        fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
            match ty.physical() {
                // RowBinary UUID: the high and low halves, each as a little-endian u64.
                ColumnType::Uuid => {
                    let (high, low) = self.as_u64_pair();
                    out.extend_from_slice(&high.to_le_bytes());
                    out.extend_from_slice(&low.to_le_bytes());
                    Ok(())
                }
                other => Err(mismatch("Uuid", other)),
            }
        }

        fn write_payload(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(self.as_bytes());
        }

        fn read_payload(input: &mut &[u8]) -> Result<Self, PayloadError> {
            Ok(uuid::Uuid::from_bytes(payload::take_array(
                input, "a UUID",
            )?))
        }
    }
    impl NullableColumn for uuid::Uuid {}
    impl KeyColumn for uuid::Uuid {}
}

#[cfg(feature = "decimal")]
mod decimal_impl {
    use super::*;
    use rust_decimal::Decimal;

    impl ColumnValue for Decimal {
        const NEEDS_DECIMAL: bool = true;

        fn column_type(options: &FieldOptions) -> ColumnType {
            // The derive refuses a Decimal field without `decimal(P, S)` at compile time
            // (NEEDS_DECIMAL), so this default is only reached by hand-written models.
            let (precision, scale) = options.decimal.unwrap_or((38, 10));
            ColumnType::Decimal { precision, scale }
        }

        fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
            let ColumnType::Decimal { precision, scale } = *ty.physical() else {
                return Err(mismatch("Decimal", ty));
            };
            let mantissa = scaled_mantissa(self, precision, scale)?;
            match precision {
                0..=9 => out.extend_from_slice(&(mantissa as i32).to_le_bytes()),
                10..=18 => out.extend_from_slice(&(mantissa as i64).to_le_bytes()),
                19..=38 => out.extend_from_slice(&mantissa.to_le_bytes()),
                _ => {
                    // Decimal256: sign-extend the i128 to 32 bytes.
                    out.extend_from_slice(&mantissa.to_le_bytes());
                    let fill = if mantissa < 0 { 0xff } else { 0 };
                    out.extend_from_slice(&[fill; 16]);
                }
            }
            Ok(())
        }
    }
    impl NullableColumn for Decimal {}
    impl KeyColumn for Decimal {}

    /// The value as an integer count of `10^-scale`, refusing values that would lose digits
    /// or overflow `Decimal(precision, scale)`.
    fn scaled_mantissa(value: &Decimal, precision: u8, scale: u8) -> Result<i128, EncodeError> {
        let value_scale = value.scale();
        let mut mantissa = value.mantissa();
        if value_scale > u32::from(scale) {
            let drop = 10i128.pow(value_scale - u32::from(scale));
            if mantissa % drop != 0 {
                return Err(EncodeError::new(format!(
                    "{value} has more than {scale} digits after the point for Decimal({precision}, {scale})"
                )));
            }
            mantissa /= drop;
        } else {
            let factor = 10i128.pow(u32::from(scale) - value_scale);
            mantissa = mantissa
                .checked_mul(factor)
                .ok_or_else(|| overflow(value, precision, scale))?;
        }
        let limit = 10i128.checked_pow(u32::from(precision.min(38)));
        if limit.is_some_and(|limit| mantissa.abs() >= limit) {
            return Err(overflow(value, precision, scale));
        }
        Ok(mantissa)
    }

    fn overflow(value: &Decimal, precision: u8, scale: u8) -> EncodeError {
        EncodeError::new(format!(
            "{value} does not fit Decimal({precision}, {scale})"
        ))
    }
}
