//! The serde form of `chrono::DateTime<Utc>` fields in `#[data_model]` structs: exactly
//! chrono's own (RFC 3339, `Z`, 0/3/6/9 fraction digits), written and read without going
//! through `core::fmt` and chrono's general parser.
//!
//! Every record is decoded and encoded again at each stage of a pipeline (ingest, each
//! transform, the table sync), and chrono's formatting and parsing were about a tenth of the
//! whole pipeline's CPU in profiles. The common case, `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` with a
//! year in 0..=9999, is handled here; anything else (other offsets, lowercase separators,
//! leap seconds, years outside 0..=9999) goes to chrono, so the accepted inputs, the output
//! and the error messages are chrono's.

use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, Timelike, Utc};
use serde::{Deserializer, Serializer, de};

use super::rfc3339::{Civil, write_rfc3339};

/// `#[serde(serialize_with)]`: chrono's RFC 3339 text.
pub fn serialize<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let naive = value.naive_utc();
    let (year, nanos) = (naive.year(), naive.nanosecond());
    // Years RFC 3339 cannot write, and leap seconds: chrono's own writer.
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return serde::Serialize::serialize(value, serializer);
    }
    // chrono's `SecondsFormat::AutoSi`: the fewest of 0, 3, 6 or 9 digits that hold the value.
    let digits = if nanos == 0 {
        0
    } else if nanos.is_multiple_of(1_000_000) {
        3
    } else if nanos.is_multiple_of(1_000) {
        6
    } else {
        9
    };
    let time = Civil {
        year: year as u32,
        month: naive.month(),
        day: naive.day(),
        hour: naive.hour(),
        minute: naive.minute(),
        second: naive.second(),
        nanos,
    };
    let mut buf = [0; 30];
    let len = write_rfc3339(&time, digits, &mut buf);
    serializer.serialize_str(std::str::from_utf8(&buf[..len]).expect("ASCII digits and separators"))
}

/// `#[serde(deserialize_with)]`: what chrono's `Deserialize` accepts, into UTC.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(Rfc3339Visitor)
}

struct Rfc3339Visitor;

impl de::Visitor<'_> for Rfc3339Visitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        // chrono's words, so error messages do not change.
        formatter.write_str("an RFC 3339 formatted date and time string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        if let Some(parsed) = parse(value.as_bytes()) {
            return Ok(parsed);
        }
        value
            .parse::<DateTime<FixedOffset>>()
            .map(|dt| dt.with_timezone(&Utc))
            .map_err(E::custom)
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`; `None` for anything else (chrono decides).
fn parse(text: &[u8]) -> Option<DateTime<Utc>> {
    if text.len() < 20 || text.last() != Some(&b'Z') {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        text[range].iter().try_fold(0u32, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(i, c)| text[i] != c) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?)?;
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let nano = match &text[19..text.len() - 1] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let value = number(20..20 + digits.len())?;
            value * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    // Second 60 (a leap second) is `None` here and left to chrono.
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nano)?;
    Some(date.and_time(time).and_utc())
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Fast(#[serde(with = "super")] DateTime<Utc>);

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Chrono(DateTime<Utc>);

    #[test]
    fn writes_what_chrono_writes() {
        let base = Utc.with_ymd_and_hms(2026, 11, 24, 20, 44, 24).unwrap();
        let mut cases: Vec<DateTime<Utc>> =
            [0, 1, 5_000_000, 245_939_000, 245_939_123, 999_999_999]
                .iter()
                .map(|&n| base + chrono::Duration::nanoseconds(n))
                .collect();
        cases.push(Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap());
        cases.push(Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap());
        cases.push(Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap());
        cases.push(Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap());
        cases.push(DateTime::from_timestamp(1_483_228_799, 1_500_000_000).unwrap());
        for case in cases {
            let fast = serde_json::to_string(&Fast(case)).unwrap();
            assert_eq!(fast, serde_json::to_string(&Chrono(case)).unwrap());
            assert_eq!(
                serde_json::from_str::<Fast>(&fast).unwrap(),
                Fast(case),
                "{fast}"
            );
        }
    }

    #[test]
    fn reads_what_chrono_reads_and_refuses_the_same() {
        for text in [
            "2026-11-24T20:44:24Z",
            "2026-11-24T20:44:24.5Z",
            "2026-11-24T20:44:24.123456789Z",
            "2026-11-24T20:44:24.1234567891Z",
            "2026-11-24t20:44:24z",
            "2026-11-24 20:44:24+02:00",
            "2026-11-24T20:44:24.123-05:30",
            "2016-12-31T23:59:60Z",
            "+10000-01-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-24T24:00:00Z",
            "2026-11-24T20:44:24.Z",
            "2026-11-24T20:44Z",
            "2026-11-24",
            "",
            "x026-11-24T20:44:24Z",
        ] {
            let json = serde_json::to_string(text).unwrap();
            let fast = serde_json::from_str::<Fast>(&json).map(|f| f.0);
            let chrono = serde_json::from_str::<Chrono>(&json).map(|c| c.0);
            match (fast, chrono) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{text}"),
                (a, b) => panic!("{text}: fast {a:?}, chrono {b:?}"),
            }
        }
        for json in ["12", "null", "[]"] {
            let fast = serde_json::from_str::<Fast>(json).unwrap_err().to_string();
            let chrono = serde_json::from_str::<Chrono>(json)
                .unwrap_err()
                .to_string();
            assert_eq!(fast, chrono, "{json}");
        }
    }
}
