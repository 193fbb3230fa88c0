//! The serde form of timestamp fields in `#[data_model]` structs (`std::time::SystemTime`,
//! `chrono::DateTime<Utc>`, `time::OffsetDateTime`, and `Option` of each), given by the
//! derive as `#[serde(with = "...")]` unless the field has a `with` of its own.
//!
//! **Read** (ingest, streams): any of
//!
//! - RFC 3339: `2026-11-24T18:59:27.123Z`, with `Z` or an offset such as `+02:00`;
//! - ClickHouse's text form, which `SELECT` on a moose table prints: `2026-11-24 18:59:27`
//!   or `2026-11-24 18:59:27.123` — no zone means UTC;
//! - a JSON number of seconds since 1970-01-01T00:00:00Z: `1795546767`, or with a fraction
//!   `1795546767.123` (kept to the microsecond). Numbers are seconds, never milliseconds: a
//!   number past the year 9999 is refused with the seconds it would be as milliseconds.
//!
//! **Written** (streams, dead letters, `peek`): one form, RFC 3339 in UTC with as many
//! fraction digits as the column stores (`#[moose(precision = N)]`, default 3):
//! `2026-11-24T18:59:27.123Z`.

#[cfg(test)]
mod tests;
mod text;

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserializer, Serialize, Serializer, de};

pub use text::{MAX_SECONDS, MIN_SECONDS, UnixParts, parse, with_rfc3339};

/// What a timestamp field accepts, as error messages say it.
pub const ACCEPTED_FORMS: &str = "a timestamp: RFC 3339 (2026-11-24T18:59:27.123Z), ClickHouse's 2026-11-24 18:59:27.123 (UTC), or epoch seconds as a number (1795546767 or 1795546767.123)";

/// A Rust timestamp type: a point in time that converts to and from seconds and nanoseconds
/// since the epoch.
pub trait Timestamp: Sized {
    /// The point in time `at`; `None` if this type cannot hold it.
    fn from_unix(at: UnixParts) -> Option<Self>;
    /// Seconds since the epoch (negative before it) and the nanoseconds after that second.
    fn to_unix(&self) -> UnixParts;
}

impl Timestamp for SystemTime {
    fn from_unix((seconds, nanos): UnixParts) -> Option<Self> {
        let whole = Duration::from_secs(seconds.unsigned_abs());
        let at = if seconds >= 0 {
            UNIX_EPOCH.checked_add(whole)?
        } else {
            UNIX_EPOCH.checked_sub(whole)?
        };
        at.checked_add(Duration::from_nanos(u64::from(nanos)))
    }

    fn to_unix(&self) -> UnixParts {
        match self.duration_since(UNIX_EPOCH) {
            Ok(after) => (
                i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
                after.subsec_nanos(),
            ),
            Err(before) => {
                let before = before.duration();
                let seconds = -i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
                match before.subsec_nanos() {
                    0 => (seconds, 0),
                    nanos => (seconds - 1, 1_000_000_000 - nanos),
                }
            }
        }
    }
}

#[cfg(feature = "chrono")]
impl Timestamp for chrono::DateTime<chrono::Utc> {
    fn from_unix((seconds, nanos): UnixParts) -> Option<Self> {
        chrono::DateTime::from_timestamp(seconds, nanos)
    }

    fn to_unix(&self) -> UnixParts {
        // chrono keeps a leap second as nanoseconds past 1e9: the last instant of the second.
        (
            self.timestamp(),
            self.timestamp_subsec_nanos().min(999_999_999),
        )
    }
}

#[cfg(feature = "time")]
impl Timestamp for time::OffsetDateTime {
    fn from_unix((seconds, nanos): UnixParts) -> Option<Self> {
        time::OffsetDateTime::from_unix_timestamp(seconds)
            .ok()?
            .replace_nanosecond(nanos)
            .ok()
    }

    fn to_unix(&self) -> UnixParts {
        (self.unix_timestamp(), self.nanosecond())
    }
}

/// `#[serde(with)]` for a timestamp field written with `DIGITS` fraction digits.
pub struct Rfc3339<const DIGITS: u8>;

impl<const DIGITS: u8> Rfc3339<DIGITS> {
    /// Writes `value` as RFC 3339 in UTC.
    pub fn serialize<T: Timestamp, S: Serializer>(
        value: &T,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        with_rfc3339(value.to_unix(), DIGITS, |text| {
            serializer.serialize_str(text)
        })
    }

    /// Reads any of the accepted forms (see the module docs).
    pub fn deserialize<'de, T: Timestamp, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<T, D::Error> {
        deserializer.deserialize_any(TimestampVisitor(PhantomData))
    }
}

/// `#[serde(with)]` for an `Option` of a timestamp: [`Rfc3339`] or `null`. The derive adds
/// `#[serde(default)]` too, so a missing field is `None` as for any other `Option` field.
pub struct OptionRfc3339<const DIGITS: u8>;

impl<const DIGITS: u8> OptionRfc3339<DIGITS> {
    /// Writes `Some` as RFC 3339 in UTC, `None` as `null`.
    pub fn serialize<T: Timestamp, S: Serializer>(
        value: &Option<T>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        struct Present<'a, T, const DIGITS: u8>(&'a T);
        impl<T: Timestamp, const DIGITS: u8> Serialize for Present<'_, T, DIGITS> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                Rfc3339::<DIGITS>::serialize(self.0, serializer)
            }
        }
        match value {
            Some(at) => serializer.serialize_some(&Present::<T, DIGITS>(at)),
            None => serializer.serialize_none(),
        }
    }

    /// Reads `null` or any of the accepted forms.
    pub fn deserialize<'de, T: Timestamp, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<T>, D::Error> {
        deserializer.deserialize_option(OptionVisitor(PhantomData))
    }
}

struct TimestampVisitor<T>(PhantomData<T>);

impl<T: Timestamp> TimestampVisitor<T> {
    fn out_of_range<E: de::Error>(what: fmt::Arguments<'_>) -> E {
        E::custom(format_args!(
            "timestamp {what} is out of range: a number is read as seconds since 1970-01-01T00:00:00Z and must be within the years 0000..=9999 (for milliseconds, divide by 1000)"
        ))
    }

    fn from_unix<E: de::Error>(at: UnixParts, what: fmt::Arguments<'_>) -> Result<T, E> {
        T::from_unix(at).ok_or_else(|| {
            E::custom(format_args!(
                "timestamp {what} is outside what this field's Rust type can hold"
            ))
        })
    }
}

impl<T: Timestamp> de::Visitor<'_> for TimestampVisitor<T> {
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str(ACCEPTED_FORMS)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
        match parse(value.as_bytes()) {
            Some(at) => Self::from_unix(at, format_args!("{value:?}")),
            None => Err(E::invalid_value(de::Unexpected::Str(value), &self)),
        }
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
        match text::from_seconds(value) {
            Some(at) => Self::from_unix(at, format_args!("{value}")),
            None => Err(Self::out_of_range(format_args!("{value}"))),
        }
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
        match i64::try_from(value) {
            Ok(value) => self.visit_i64(value),
            Err(_) => Err(Self::out_of_range(format_args!("{value}"))),
        }
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<T, E> {
        match text::from_fractional_seconds(value) {
            Some(at) => Self::from_unix(at, format_args!("{value}")),
            None => Err(Self::out_of_range(format_args!("{value}"))),
        }
    }
}

struct OptionVisitor<T>(PhantomData<T>);

impl<'de, T: Timestamp> de::Visitor<'de> for OptionVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str(ACCEPTED_FORMS)?;
        formatter.write_str(", or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer
            .deserialize_any(TimestampVisitor(PhantomData))
            .map(Some)
    }
}
