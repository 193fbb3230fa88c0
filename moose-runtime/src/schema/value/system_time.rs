//! The serde form of `std::time::SystemTime` fields in `#[data_model]` structs: RFC 3339 in
//! UTC with as many sub-second digits as the column stores (`#[moose(precision = N)]`,
//! default 3), `2026-11-24T18:59:27.123Z`. serde's own form, a struct of seconds and
//! nanoseconds, is not what JSON producers send.
//!
//! Reading takes any RFC 3339 timestamp: `T`, `t` or a space between date and time, any number
//! of fraction digits (nanoseconds are kept), `Z`, `z` or an offset such as `+02:00`.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserializer, Serialize, Serializer, de};

use super::rfc3339::{Civil, write_rfc3339};

/// `#[serde(with)]` for a `SystemTime` field written with `DIGITS` sub-second digits.
pub struct Rfc3339<const DIGITS: u8>;

impl<const DIGITS: u8> Rfc3339<DIGITS> {
    /// Writes `value` as RFC 3339 text.
    pub fn serialize<S: Serializer>(value: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
        with_rfc3339(*value, DIGITS, |text| serializer.serialize_str(text))
    }

    /// Reads RFC 3339 text.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SystemTime, D::Error> {
        deserializer.deserialize_str(Rfc3339Visitor)
    }
}

/// `#[serde(with)]` for an `Option<SystemTime>` field: [`Rfc3339`] or `null`.
pub struct OptionRfc3339<const DIGITS: u8>;

impl<const DIGITS: u8> OptionRfc3339<DIGITS> {
    /// Writes `Some` as RFC 3339 text, `None` as `null`.
    pub fn serialize<S: Serializer>(
        value: &Option<SystemTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        struct Present<const DIGITS: u8>(SystemTime);
        impl<const DIGITS: u8> Serialize for Present<DIGITS> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                Rfc3339::<DIGITS>::serialize(&self.0, serializer)
            }
        }
        match value {
            Some(at) => serializer.serialize_some(&Present::<DIGITS>(*at)),
            None => serializer.serialize_none(),
        }
    }

    /// Reads RFC 3339 text or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        deserializer.deserialize_option(OptionVisitor)
    }
}

struct Rfc3339Visitor;

impl de::Visitor<'_> for Rfc3339Visitor {
    type Value = SystemTime;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an RFC 3339 timestamp such as 2026-11-24T18:59:27.123Z")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<SystemTime, E> {
        parse(value.as_bytes()).ok_or_else(|| E::invalid_value(de::Unexpected::Str(value), &self))
    }
}

struct OptionVisitor;

impl<'de> de::Visitor<'de> for OptionVisitor {
    type Value = Option<SystemTime>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        Rfc3339Visitor.expecting(formatter)?;
        formatter.write_str(" or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(Rfc3339Visitor).map(Some)
    }
}

/// Seconds since the epoch (negative before it) and the nanoseconds after that second.
pub(crate) fn unix_parts(at: SystemTime) -> (i64, u32) {
    match at.duration_since(UNIX_EPOCH) {
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

/// `at` as RFC 3339 text with `digits` sub-second digits, handed to `write`. Years outside
/// 0000..=9999, which RFC 3339 cannot write, get ISO 8601's sign and as many digits as
/// needed (`+10000-01-01T00:00:00Z`).
fn with_rfc3339<R>(at: SystemTime, digits: u8, write: impl FnOnce(&str) -> R) -> R {
    let (seconds, nanos) = unix_parts(at);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let in_day = seconds.rem_euclid(86_400) as u32;
    let four_digits = (0..=9999).contains(&year);
    let time = Civil {
        year: if four_digits { year as u32 } else { 0 },
        month,
        day,
        hour: in_day / 3600,
        minute: in_day / 60 % 60,
        second: in_day % 60,
        nanos,
    };
    let mut buf = [0; 30];
    let len = write_rfc3339(&time, digits, &mut buf);
    let text = std::str::from_utf8(&buf[..len]).expect("ASCII digits and separators");
    if four_digits {
        write(text)
    } else {
        write(&format!("{year:+05}{}", &text[4..]))
    }
}

/// Reads `YYYY-MM-DD(T|t| )HH:MM:SS[.fraction](Z|z|±HH:MM)`; `None` for anything else.
fn parse(text: &[u8]) -> Option<SystemTime> {
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.iter().try_fold(0i64, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0'))
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(i, c)| text.get(i) != Some(&c))
        || !matches!(text.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        // 60: a leap second, which RFC 3339 allows and the epoch count cannot tell apart.
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut nanos = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let len = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        for (i, digit) in fraction[..len.min(9)].iter().enumerate() {
            nanos += u32::from(digit - b'0') * 10u32.pow(8 - i as u32);
        }
        rest = &fraction[len..];
    }
    let offset = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let (hours, minutes) = (two(*h1, *h2)?, two(*m1, *m2)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    let whole = Duration::from_secs(seconds.unsigned_abs());
    let at = if seconds >= 0 {
        UNIX_EPOCH.checked_add(whole)?
    } else {
        UNIX_EPOCH.checked_sub(whole)?
    };
    at.checked_add(Duration::from_nanos(u64::from(nanos)))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) to days since 1970-01-01.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use super::*;

    fn text(at: SystemTime, digits: u8) -> String {
        with_rfc3339(at, digits, str::to_owned)
    }

    fn at(seconds: i64, nanos: u32) -> SystemTime {
        let whole = Duration::from_secs(seconds.unsigned_abs());
        let base = if seconds >= 0 {
            UNIX_EPOCH + whole
        } else {
            UNIX_EPOCH - whole
        };
        base + Duration::from_nanos(u64::from(nanos))
    }

    #[test]
    fn writes_utc_with_the_column_s_digits() {
        let t = at(1_795_546_767, 123_456_789);
        assert_eq!(text(t, 3), "2026-11-24T18:59:27.123Z");
        assert_eq!(text(t, 0), "2026-11-24T18:59:27Z");
        assert_eq!(text(t, 6), "2026-11-24T18:59:27.123456Z");
        assert_eq!(text(t, 9), "2026-11-24T18:59:27.123456789Z");
        assert_eq!(text(at(0, 0), 3), "1970-01-01T00:00:00.000Z");
        assert_eq!(text(at(951_782_400, 0), 3), "2000-02-29T00:00:00.000Z");
        assert_eq!(text(at(-1, 999_000_000), 3), "1969-12-31T23:59:59.999Z");
        assert_eq!(text(at(-62_167_219_201, 0), 0), "-0001-12-31T23:59:59Z");
        assert_eq!(text(at(253_402_300_800, 0), 0), "+10000-01-01T00:00:00Z");
    }

    #[test]
    fn reads_rfc_3339_in_any_offset() {
        for seconds in [
            0,
            1,
            86_399,
            951_782_400,
            1_795_546_767,
            4_102_444_800,
            -1,
            -86_401,
        ] {
            for digits in [0, 3, 9] {
                let t = at(seconds, if digits == 0 { 0 } else { 5_000_000 });
                assert_eq!(
                    parse(text(t, digits).as_bytes()),
                    Some(t),
                    "{seconds} {digits}"
                );
            }
        }
        let utc = parse(b"2026-11-24T18:59:27.123Z");
        for same in [
            "2026-11-24t18:59:27.123z",
            "2026-11-24 18:59:27.123+00:00",
            "2026-11-24T20:59:27.123+02:00",
            "2026-11-24T13:29:27.123-05:30",
            "2026-11-24T18:59:27.1230Z",
        ] {
            assert_eq!(parse(same.as_bytes()), utc, "{same}");
        }
        assert_eq!(
            parse(b"2026-11-24T18:59:27.123456789123Z"),
            Some(at(1_795_546_767, 123_456_789))
        );
        for bad in [
            "",
            "2026-11-24",
            "2026-11-24T18:59Z",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-24T24:00:00Z",
            "2026-11-24T18:59:27.Z",
            "2026-11-24T18:59:27",
            "2026-11-24T18:59:27+0200",
            "2026-11-24T18:59:27+24:00",
            "x026-11-24T18:59:27Z",
        ] {
            assert_eq!(parse(bad.as_bytes()), None, "{bad}");
        }
        assert!(parse(b"2024-02-29T00:00:00Z").is_some());
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Record {
        #[serde(with = "Rfc3339::<3>")]
        at: SystemTime,
        #[serde(with = "OptionRfc3339::<0>", default)]
        maybe: Option<SystemTime>,
    }

    #[test]
    fn serde_forms() {
        let record = Record {
            at: at(1_795_546_767, 123_456_789),
            maybe: Some(at(1_795_546_767, 0)),
        };
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(
            json,
            r#"{"at":"2026-11-24T18:59:27.123Z","maybe":"2026-11-24T18:59:27Z"}"#
        );
        let back: Record = serde_json::from_str(&json).unwrap();
        assert_eq!(back.at, at(1_795_546_767, 123_000_000));
        assert_eq!(back.maybe, record.maybe);
        let none: Record = serde_json::from_str(r#"{"at":"1970-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(none.maybe, None);
        let null: Record =
            serde_json::from_str(r#"{"at":"1970-01-01T00:00:00Z","maybe":null}"#).unwrap();
        assert_eq!(null.maybe, None);
        let error = serde_json::from_str::<Record>(r#"{"at":"yesterday"}"#).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid value: string \"yesterday\", expected an RFC 3339 timestamp such as 2026-11-24T18:59:27.123Z at line 1 column 17"
        );
    }
}
