//! Dates and timestamps: `std::time::SystemTime`, and those of `chrono` and `time`.
//!
//! Timestamps map to `DateTime64(p, 'UTC')` and dates to `Date32`; on servers without those
//! types the resolved column is `DateTime('UTC')` / `Date`, and the writers below encode for
//! whichever one the table really has.

use std::time::SystemTime;

use super::timestamp::Timestamp;
use super::{ColumnValue, FieldOptions, KeyColumn, NullableColumn, mismatch};
use crate::schema::payload::{self, PayloadError};
use crate::schema::{ColumnType, EncodeError, value::DEFAULT_TIMESTAMP_PRECISION};

/// A timestamp's payload form: seconds (i64) and nanoseconds (u32) since the epoch, the same
/// for every timestamp type (they share a column type, hence a model fingerprint).
#[inline]
fn write_timestamp_payload(at: &impl Timestamp, out: &mut Vec<u8>) {
    let (seconds, nanos) = at.to_unix();
    out.extend_from_slice(&seconds.to_le_bytes());
    out.extend_from_slice(&nanos.to_le_bytes());
}

#[inline]
fn read_timestamp_payload<T: Timestamp>(input: &mut &[u8]) -> Result<T, PayloadError> {
    let seconds = i64::from_le_bytes(payload::take_array(input, "a timestamp")?);
    let nanos = u32::from_le_bytes(payload::take_array(input, "a timestamp")?);
    T::from_unix((seconds, nanos)).ok_or_else(|| {
        PayloadError(format!(
            "timestamp {seconds}s {nanos}ns is outside what `{}` holds",
            std::any::type_name::<T>()
        ))
    })
}

/// A date's payload form: days since 1970-01-01 (i32).
#[cfg(any(feature = "chrono", feature = "time"))]
fn write_date_payload(days: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(&(days as i32).to_le_bytes());
}

#[cfg(any(feature = "chrono", feature = "time"))]
fn read_date_payload(input: &mut &[u8]) -> Result<i64, PayloadError> {
    Ok(i64::from(i32::from_le_bytes(payload::take_array(
        input, "a date",
    )?)))
}

/// Encodes a timestamp given as seconds and nanoseconds since the epoch.
fn write_timestamp(
    rust: &'static str,
    seconds: i64,
    nanos: u32,
    ty: &ColumnType,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    match ty.physical() {
        ColumnType::DateTime64 { precision } => {
            let precision = u32::from(*precision);
            let ticks = i128::from(seconds) * 10i128.pow(precision)
                + i128::from(nanos) / 10i128.pow(9 - precision);
            let ticks = i64::try_from(ticks).map_err(|_| {
                EncodeError::new(format!(
                    "timestamp {seconds}s is outside DateTime64({precision})"
                ))
            })?;
            out.extend_from_slice(&ticks.to_le_bytes());
            Ok(())
        }
        ColumnType::DateTime => {
            let seconds = u32::try_from(seconds).map_err(|_| {
                EncodeError::new(format!(
                    "timestamp {seconds}s since 1970 is outside DateTime's range 1970-01-01 ..= 2106-02-07"
                ))
            })?;
            out.extend_from_slice(&seconds.to_le_bytes());
            Ok(())
        }
        other => Err(mismatch(rust, other)),
    }
}

/// Last day a `Date` column holds on every server that lacks `Date32` (measured on 18.16:
/// later days read back as 1970-01-01): 2105-12-31, 49_672 days after 1970-01-01.
#[cfg(any(feature = "chrono", feature = "time"))]
const MAX_OLD_DATE_DAYS: u16 = 49_672;

/// Encodes a date given as days since 1970-01-01.
#[cfg(any(feature = "chrono", feature = "time"))]
fn write_date(
    rust: &'static str,
    days: i64,
    ty: &ColumnType,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    match ty.physical() {
        ColumnType::Date32 => {
            let days = i32::try_from(days).map_err(|_| {
                EncodeError::new(format!("date {days} days from 1970 is outside Date32"))
            })?;
            out.extend_from_slice(&days.to_le_bytes());
            Ok(())
        }
        ColumnType::Date => {
            let days = u16::try_from(days)
                .ok()
                .filter(|d| *d <= MAX_OLD_DATE_DAYS)
                .ok_or_else(|| {
                    EncodeError::new(format!(
                        "date {days} days from 1970 is outside Date's range 1970-01-01 ..= 2105-12-31"
                    ))
                })?;
            out.extend_from_slice(&days.to_le_bytes());
            Ok(())
        }
        other => Err(mismatch(rust, other)),
    }
}

fn timestamp_type(options: &FieldOptions) -> ColumnType {
    ColumnType::DateTime64 {
        precision: options.precision.unwrap_or(DEFAULT_TIMESTAMP_PRECISION),
    }
}

/// Needs no date crate; `#[data_model]` gives it the serde form of every timestamp
/// ([`timestamp`](super::timestamp)).
impl ColumnValue for SystemTime {
    fn column_type(options: &FieldOptions) -> ColumnType {
        timestamp_type(options)
    }

    fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let (seconds, nanos) = super::timestamp::Timestamp::to_unix(self);
        write_timestamp("SystemTime", seconds, nanos, ty, out)
    }

    #[inline]
    fn write_payload(&self, out: &mut Vec<u8>) {
        write_timestamp_payload(self, out);
    }

    #[inline]
    fn read_payload(input: &mut &[u8]) -> Result<Self, PayloadError> {
        read_timestamp_payload(input)
    }
}
impl NullableColumn for SystemTime {}
impl KeyColumn for SystemTime {}

#[cfg(feature = "chrono")]
mod chrono_impl {
    use super::*;
    use chrono::{DateTime, NaiveDate, Utc};

    impl ColumnValue for DateTime<Utc> {
        fn column_type(options: &FieldOptions) -> ColumnType {
            timestamp_type(options)
        }

        fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
            write_timestamp(
                "DateTime<Utc>",
                self.timestamp(),
                self.timestamp_subsec_nanos(),
                ty,
                out,
            )
        }

        fn write_payload(&self, out: &mut Vec<u8>) {
            write_timestamp_payload(self, out);
        }

        fn read_payload(input: &mut &[u8]) -> Result<Self, PayloadError> {
            read_timestamp_payload(input)
        }
    }
    impl NullableColumn for DateTime<Utc> {}
    impl KeyColumn for DateTime<Utc> {}

    impl ColumnValue for NaiveDate {
        fn column_type(_: &FieldOptions) -> ColumnType {
            ColumnType::Date32
        }

        fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("1970-01-01 is a date");
            write_date("NaiveDate", (*self - epoch).num_days(), ty, out)
        }

        fn write_payload(&self, out: &mut Vec<u8>) {
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("1970-01-01 is a date");
            write_date_payload((*self - epoch).num_days(), out);
        }

        fn read_payload(input: &mut &[u8]) -> Result<Self, PayloadError> {
            let days = read_date_payload(input)?;
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("1970-01-01 is a date");
            epoch
                .checked_add_signed(chrono::Duration::days(days))
                .ok_or_else(|| {
                    PayloadError(format!("date {days} days from 1970 is outside NaiveDate"))
                })
        }
    }
    impl NullableColumn for NaiveDate {}
    impl KeyColumn for NaiveDate {}
}

#[cfg(feature = "time")]
mod time_impl {
    use super::*;
    use time::{Date, OffsetDateTime};

    impl ColumnValue for OffsetDateTime {
        fn column_type(options: &FieldOptions) -> ColumnType {
            timestamp_type(options)
        }

        fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
            write_timestamp(
                "OffsetDateTime",
                self.unix_timestamp(),
                self.nanosecond(),
                ty,
                out,
            )
        }

        fn write_payload(&self, out: &mut Vec<u8>) {
            write_timestamp_payload(self, out);
        }

        fn read_payload(input: &mut &[u8]) -> Result<Self, PayloadError> {
            read_timestamp_payload(input)
        }
    }
    impl NullableColumn for OffsetDateTime {}
    impl KeyColumn for OffsetDateTime {}

    impl ColumnValue for Date {
        fn column_type(_: &FieldOptions) -> ColumnType {
            ColumnType::Date32
        }

        fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
            let days = i64::from(self.to_julian_day())
                - i64::from(time::macros::date!(1970 - 01 - 01).to_julian_day());
            write_date("time::Date", days, ty, out)
        }

        fn write_payload(&self, out: &mut Vec<u8>) {
            let days = i64::from(self.to_julian_day())
                - i64::from(time::macros::date!(1970 - 01 - 01).to_julian_day());
            write_date_payload(days, out);
        }

        fn read_payload(input: &mut &[u8]) -> Result<Self, PayloadError> {
            let days = read_date_payload(input)?;
            i32::try_from(days + i64::from(time::macros::date!(1970 - 01 - 01).to_julian_day()))
                .ok()
                .and_then(|julian| Date::from_julian_day(julian).ok())
                .ok_or_else(|| {
                    PayloadError(format!("date {days} days from 1970 is outside time::Date"))
                })
        }
    }
    impl NullableColumn for Date {}
    impl KeyColumn for Date {}
}
