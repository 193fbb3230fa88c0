use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;

use super::text::{from_fractional_seconds, from_seconds};
use super::*;

fn text(at: UnixParts, digits: u8) -> String {
    with_rfc3339(at, digits, str::to_owned)
}

fn system_time(seconds: i64, nanos: u32) -> SystemTime {
    SystemTime::from_unix((seconds, nanos)).unwrap()
}

#[test]
fn writes_utc_with_the_column_s_digits() {
    let t = (1_795_546_767, 123_456_789);
    assert_eq!(text(t, 3), "2026-11-24T18:59:27.123Z");
    assert_eq!(text(t, 0), "2026-11-24T18:59:27Z");
    assert_eq!(text(t, 6), "2026-11-24T18:59:27.123456Z");
    assert_eq!(text(t, 9), "2026-11-24T18:59:27.123456789Z");
    assert_eq!(text((0, 0), 3), "1970-01-01T00:00:00.000Z");
    assert_eq!(text((951_782_400, 0), 3), "2000-02-29T00:00:00.000Z");
    assert_eq!(text((-1, 999_000_000), 3), "1969-12-31T23:59:59.999Z");
    assert_eq!(text((-62_167_219_201, 0), 0), "-0001-12-31T23:59:59Z");
    assert_eq!(text((253_402_300_800, 0), 0), "+10000-01-01T00:00:00Z");
}

#[test]
fn reads_rfc_3339_in_any_offset_and_clickhouse_s_form_as_utc() {
    let utc = parse(b"2026-11-24T18:59:27.123Z");
    assert_eq!(utc, Some((1_795_546_767, 123_000_000)));
    for same in [
        "2026-11-24t18:59:27.123z",
        "2026-11-24 18:59:27.123+00:00",
        "2026-11-24T20:59:27.123+02:00",
        "2026-11-24T13:29:27.123-05:30",
        "2026-11-24T18:59:27.1230Z",
        // ClickHouse's text form (and the same with `T`): UTC.
        "2026-11-24 18:59:27.123",
        "2026-11-24 18:59:27.123000",
        "2026-11-24T18:59:27.123",
    ] {
        assert_eq!(parse(same.as_bytes()), utc, "{same}");
    }
    assert_eq!(
        parse(b"2013-01-01 21:00:00"),
        Some((1_357_074_000, 0)),
        "what peek of an 18.16 table printed"
    );
    assert_eq!(
        parse(b"2026-11-24T18:59:27.123456789123Z"),
        Some((1_795_546_767, 123_456_789))
    );
    assert_eq!(
        parse(b"2016-12-31T23:59:60Z"),
        Some((1_483_228_800, 0)),
        "a leap second is the next minute's first second"
    );
    for bad in [
        "",
        "2026-11-24",
        "2026-11-24T18:59Z",
        "2026-11-24 18:59",
        "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2026-11-24T24:00:00Z",
        "2026-11-24T18:59:27.Z",
        "2026-11-24T18:59:27+0200",
        "2026-11-24T18:59:27+24:00",
        "2026-11-24 18:59:27 UTC",
        "x026-11-24T18:59:27Z",
        "1795546767",
    ] {
        assert_eq!(parse(bad.as_bytes()), None, "{bad}");
    }
    assert!(parse(b"2024-02-29T00:00:00Z").is_some());
}

#[test]
fn epoch_numbers_are_seconds_with_the_fraction_kept_to_the_microsecond() {
    assert_eq!(from_seconds(1_795_546_767), Some((1_795_546_767, 0)));
    assert_eq!(from_seconds(-1), Some((-1, 0)));
    assert_eq!(
        from_fractional_seconds(1_795_546_767.123),
        Some((1_795_546_767, 123_000_000))
    );
    assert_eq!(
        from_fractional_seconds(1_795_546_767.000_001),
        Some((1_795_546_767, 1_000))
    );
    assert_eq!(from_fractional_seconds(-0.5), Some((-1, 500_000_000)));
    // Milliseconds sent as if they were seconds: after the year 9999, refused.
    assert_eq!(from_seconds(1_795_546_767_123), None);
    assert_eq!(from_fractional_seconds(1_795_546_767_123.0), None);
    assert_eq!(from_seconds(MAX_SECONDS), Some((MAX_SECONDS, 0)));
    assert_eq!(from_seconds(MAX_SECONDS + 1), None);
    assert_eq!(from_seconds(MIN_SECONDS - 1), None);
    assert_eq!(from_fractional_seconds(f64::NAN), None);
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
        at: system_time(1_795_546_767, 123_456_789),
        maybe: Some(system_time(1_795_546_767, 0)),
    };
    let json = serde_json::to_string(&record).unwrap();
    assert_eq!(
        json,
        r#"{"at":"2026-11-24T18:59:27.123Z","maybe":"2026-11-24T18:59:27Z"}"#
    );
    let back: Record = serde_json::from_str(&json).unwrap();
    assert_eq!(back.at, system_time(1_795_546_767, 123_000_000));
    assert_eq!(back.maybe, record.maybe);
    let none: Record = serde_json::from_str(r#"{"at":"1970-01-01T00:00:00Z"}"#).unwrap();
    assert_eq!(none.maybe, None);
    let null: Record =
        serde_json::from_str(r#"{"at":"1970-01-01T00:00:00Z","maybe":null}"#).unwrap();
    assert_eq!(null.maybe, None);
    for (json, seconds, nanos) in [
        (r#"{"at":"2013-01-01 21:00:00"}"#, 1_357_074_000, 0),
        (r#"{"at":1357074000}"#, 1_357_074_000, 0),
        (r#"{"at":1357074000.25}"#, 1_357_074_000, 250_000_000),
        (r#"{"at":-1}"#, -1, 0),
    ] {
        let read: Record = serde_json::from_str(json).unwrap();
        assert_eq!(read.at, system_time(seconds, nanos), "{json}");
    }
    let read: Record = serde_json::from_str(r#"{"at":0,"maybe":"2013-01-01 21:00:00.5"}"#).unwrap();
    assert_eq!(read.maybe, Some(system_time(1_357_074_000, 500_000_000)));
}

#[test]
fn errors_say_the_accepted_forms() {
    let error = serde_json::from_str::<Record>(r#"{"at":"yesterday"}"#)
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "invalid value: string \"yesterday\", expected a timestamp: RFC 3339 (2026-11-24T18:59:27.123Z), ClickHouse's 2026-11-24 18:59:27.123 (UTC), or epoch seconds as a number (1795546767 or 1795546767.123) at line 1 column 17"
    );
    let error = serde_json::from_str::<Record>(r#"{"at":true}"#)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("invalid type: boolean `true`, expected a timestamp: RFC 3339"),
        "{error}"
    );
    let error = serde_json::from_str::<Record>(r#"{"at":0,"maybe":[]}"#)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("invalid type: sequence, expected a timestamp: RFC 3339"),
        "{error}"
    );
    let error = serde_json::from_str::<Record>(r#"{"at":1795546767123}"#)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("timestamp 1795546767123 is out of range: a number is read as seconds since 1970-01-01T00:00:00Z"),
        "{error}"
    );
    assert!(
        error.contains("for milliseconds, divide by 1000"),
        "{error}"
    );
}

#[cfg(all(feature = "chrono", feature = "time"))]
#[test]
fn every_timestamp_type_reads_every_form_to_the_same_instant() {
    #[derive(serde::Deserialize)]
    struct Three {
        #[serde(with = "Rfc3339::<9>")]
        system: SystemTime,
        #[serde(with = "Rfc3339::<9>")]
        chrono: chrono::DateTime<chrono::Utc>,
        #[serde(with = "Rfc3339::<9>")]
        time: time::OffsetDateTime,
    }
    for (form, nanos) in [
        ("\"2026-11-24T20:59:27.5+02:00\"", 500_000_000),
        ("\"2026-11-24 18:59:27.5\"", 500_000_000),
        ("1795546767.5", 500_000_000),
        ("1795546767", 0),
    ] {
        let json = format!(r#"{{"system":{form},"chrono":{form},"time":{form}}}"#);
        let three: Three = serde_json::from_str(&json).unwrap();
        let expected = (1_795_546_767, nanos);
        assert_eq!(three.system.to_unix(), expected, "{form}");
        assert_eq!(three.chrono.to_unix(), expected, "{form}");
        assert_eq!(three.time.to_unix(), expected, "{form}");
    }
}

#[cfg(all(feature = "chrono", feature = "time"))]
#[test]
fn chrono_and_time_write_the_same_text_as_system_time() {
    let at = (1_795_546_767, 123_456_789);
    #[derive(serde::Serialize)]
    struct Three {
        #[serde(with = "Rfc3339::<6>")]
        system: SystemTime,
        #[serde(with = "Rfc3339::<6>")]
        chrono: chrono::DateTime<chrono::Utc>,
        #[serde(with = "Rfc3339::<6>")]
        time: time::OffsetDateTime,
    }
    let three = Three {
        system: SystemTime::from_unix(at).unwrap(),
        chrono: chrono::DateTime::from_unix(at).unwrap(),
        // Another offset: written in UTC all the same.
        time: time::OffsetDateTime::from_unix(at)
            .unwrap()
            .to_offset(time::macros::offset!(+2)),
    };
    assert_eq!(
        serde_json::to_string(&three).unwrap(),
        r#"{"system":"2026-11-24T18:59:27.123456Z","chrono":"2026-11-24T18:59:27.123456Z","time":"2026-11-24T18:59:27.123456Z"}"#
    );
}

proptest! {
    /// What moose writes, it reads back: RFC 3339 with nine digits, and ClickHouse's form of
    /// the same instant, both to the nanosecond.
    #[test]
    fn written_text_and_clickhouse_s_form_read_back_exactly(
        seconds in MIN_SECONDS..=MAX_SECONDS,
        nanos in 0u32..1_000_000_000,
    ) {
        let written = text((seconds, nanos), 9);
        prop_assert_eq!(parse(written.as_bytes()), Some((seconds, nanos)), "{}", written);
        let clickhouse = written.replacen('T', " ", 1).trim_end_matches('Z').to_owned();
        prop_assert_eq!(parse(clickhouse.as_bytes()), Some((seconds, nanos)), "{}", clickhouse);
        let cut = text((seconds, nanos), 3);
        prop_assert_eq!(parse(cut.as_bytes()), Some((seconds, nanos / 1_000_000 * 1_000_000)));
    }

    /// Epoch seconds with up to six fraction digits read back to the microsecond.
    #[test]
    fn fractional_epoch_seconds_keep_microseconds(
        seconds in -2_208_988_800i64..=4_102_444_800,
        micros in 0u32..1_000_000,
    ) {
        let value: f64 = format!("{seconds}.{micros:06}").parse().unwrap();
        let read = from_fractional_seconds(value).unwrap();
        let expected_micros = i128::from(seconds) * 1_000_000 + i128::from(micros) * if seconds < 0 { -1 } else { 1 };
        let got = i128::from(read.0) * 1_000_000 + i128::from(read.1 / 1000);
        prop_assert_eq!(got, expected_micros);
    }

    /// No input makes the parser panic.
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        let _ = parse(&bytes);
    }
}

#[test]
fn system_time_parts_before_the_epoch() {
    let before = UNIX_EPOCH - Duration::from_millis(1);
    assert_eq!(before.to_unix(), (-1, 999_000_000));
    assert_eq!(SystemTime::from_unix((-1, 999_000_000)), Some(before));
}
