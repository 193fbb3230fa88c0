//! Timestamps as text and numbers: the forms ingest accepts, and the one form moose writes.
//!
//! Digits are read and written at fixed places without `core::fmt`: every record is decoded
//! and encoded again at each stage of a pipeline, and general-purpose date parsers and
//! formatters were about a tenth of the whole pipeline's CPU in profiles.

/// A point in time as seconds since 1970-01-01T00:00:00Z (negative before) and the
/// nanoseconds after that second (0..1e9).
pub type UnixParts = (i64, u32);

/// First second of year 0000 (0000-01-01T00:00:00Z): the earliest timestamp accepted.
pub const MIN_SECONDS: i64 = -62_167_219_200;
/// Last second of year 9999 (9999-12-31T23:59:59Z): the latest timestamp accepted, and the
/// last one RFC 3339 can write.
pub const MAX_SECONDS: i64 = 253_402_300_799;

/// Reads a timestamp written as text:
///
/// - RFC 3339: `2026-11-24T18:59:27.123Z`, `t` or a space for `T`, `z` for `Z`, or an offset
///   `+02:00` / `-05:30`;
/// - ClickHouse's own form, which is UTC on moose's tables: `2026-11-24 18:59:27[.123]`
///   (also with `T`): a date and time without a zone is UTC.
///
/// Any number of fraction digits (nanoseconds are kept, further digits cut); second 60 (a
/// leap second) is the first second of the next minute. `None` for anything else.
pub fn parse(text: &[u8]) -> Option<UnixParts> {
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
        b"" | b"Z" | b"z" => 0,
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
    Some((seconds, nanos))
}

/// Epoch seconds given as a whole number, if within years 0000..=9999.
pub fn from_seconds(seconds: i64) -> Option<UnixParts> {
    (MIN_SECONDS..=MAX_SECONDS)
        .contains(&seconds)
        .then_some((seconds, 0))
}

/// Epoch seconds given as a fractional number, if within years 0000..=9999. The fraction is
/// kept to the microsecond: a double holds about 16 significant digits, 10 of which are the
/// seconds of a present-day timestamp, so `1795546767.123` reads as `.123` exactly, not as
/// `.122999906`.
pub fn from_fractional_seconds(value: f64) -> Option<UnixParts> {
    if !value.is_finite() || value < MIN_SECONDS as f64 || value >= (MAX_SECONDS + 1) as f64 {
        return None;
    }
    let micros = (value * 1e6).round() as i64;
    let seconds = micros.div_euclid(1_000_000);
    let nanos = (micros.rem_euclid(1_000_000) * 1000) as u32;
    from_seconds(seconds).map(|_| (seconds, nanos))
}

/// `at` as RFC 3339 in UTC, `YYYY-MM-DDTHH:MM:SS[.f{digits}]Z` (the fraction cut to `digits`,
/// none for 0), handed to `write`. Years outside 0000..=9999, which RFC 3339 cannot write,
/// get ISO 8601's sign and as many digits as needed (`+10000-01-01T00:00:00Z`).
pub fn with_rfc3339<R>(at: UnixParts, digits: u8, write: impl FnOnce(&str) -> R) -> R {
    let (seconds, nanos) = at;
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let in_day = seconds.rem_euclid(86_400) as u32;
    let four_digits = (0..=9999).contains(&year);
    let mut buf = *b"0000-00-00T00:00:00.000000000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for slot in buf[at..at + width].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, if four_digits { year as u32 } else { 0 });
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, in_day / 3600);
    put(14, 2, in_day / 60 % 60);
    put(17, 2, in_day % 60);
    let len = if digits == 0 {
        buf[19] = b'Z';
        20
    } else {
        let digits = digits.min(9);
        // Division by constants in the common cases: a variable divisor is a slow instruction.
        let fraction = match digits {
            3 => nanos / 1_000_000,
            6 => nanos / 1_000,
            9 => nanos,
            _ => nanos / 10u32.pow(9 - u32::from(digits)),
        };
        let digits = usize::from(digits);
        put(20, digits, fraction);
        buf[20 + digits] = b'Z';
        21 + digits
    };
    let text = std::str::from_utf8(&buf[..len]).expect("ASCII digits and separators");
    if four_digits {
        write(text)
    } else {
        write(&format!("{year:+05}{}", &text[4..]))
    }
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
