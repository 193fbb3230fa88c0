//! The RFC 3339 writer of `chrono_utc` and `system_time`: digits at fixed places, no
//! `core::fmt`, because records are encoded again at every stage of a pipeline.

/// A UTC time split as RFC 3339 writes it; `year` in 0..=9999.
pub(super) struct Civil {
    pub year: u32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanos: u32,
}

/// Writes `time` as `YYYY-MM-DDTHH:MM:SS[.f{digits}]Z` (the fraction truncated) into `buf`;
/// the length written.
pub(super) fn write_rfc3339(time: &Civil, digits: u8, buf: &mut [u8; 30]) -> usize {
    *buf = *b"0000-00-00T00:00:00.000000000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for slot in buf[at..at + width].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, time.year);
    put(5, 2, time.month);
    put(8, 2, time.day);
    put(11, 2, time.hour);
    put(14, 2, time.minute);
    put(17, 2, time.second);
    if digits == 0 {
        buf[19] = b'Z';
        return 20;
    }
    let digits = digits.min(9);
    // Division by constants in the common cases: a variable divisor is a slow instruction.
    let fraction = match digits {
        3 => time.nanos / 1_000_000,
        6 => time.nanos / 1_000,
        9 => time.nanos,
        _ => time.nanos / 10u32.pow(9 - u32::from(digits)),
    };
    let digits = usize::from(digits);
    put(20, digits, fraction);
    buf[20 + digits] = b'Z';
    21 + digits
}
