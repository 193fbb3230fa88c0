//! [`DeadLetter`]: the record a dead-letter queue holds, one per record that could not go on.
//!
//! A dead-letter queue is an ordinary stream of `DeadLetter` (usually with a table of the same
//! name, so failures are queryable and `peek`-able). Records land there from four places:
//!
//! | `source` | `error_kind` | when |
//! |---|---|---|
//! | `api` | `validation` | an ingest route configured with [`InvalidRecordPolicy::DeadLetter`](super::InvalidRecordPolicy) got an invalid record |
//! | `transform` / `consumer` | `decode`, `error`, `panic` | the stored record is not a valid input, the function returned `Err`, or it panicked |
//! | `table` | `decode`, `insert_rejected` | the record cannot be encoded for its table, or ClickHouse rejected its row |
//!
//! The model is implemented by hand (not with `#[data_model]`, whose expansion names the
//! `moose` facade crate) and needs no date crate: `failed_at` is a [`SystemTime`], written as
//! RFC 3339 with milliseconds in JSON and as `DateTime64(3, 'UTC')` in ClickHouse
//! (`DateTime('UTC')`, whole seconds, on servers before 20.1).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::schema::rowbinary::write_bytes;
use crate::schema::{
    Column, ColumnType, ColumnValue, DataModel, EncodeError, FieldOptions, check_row_types,
    tuple_types,
};

/// Suffix of the dead-letter stream and table of an ingest pipeline with
/// `dead_letter_queue: true`: pipeline `events` gets `events_dead_letter`.
pub const DEAD_LETTER_SUFFIX: &str = "_dead_letter";

/// Where a record failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterSource {
    /// The HTTP ingest API (an invalid record, dead-lettered instead of rejected).
    Api,
    /// A transform between two streams.
    Transform,
    /// A consumer function.
    Consumer,
    /// The sync of a stream into its table.
    Table,
}

impl DeadLetterSource {
    /// The wire name: `api`, `transform`, `consumer`, `table`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadLetterSource::Api => "api",
            DeadLetterSource::Transform => "transform",
            DeadLetterSource::Consumer => "consumer",
            DeadLetterSource::Table => "table",
        }
    }
}

/// Why a record failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterKind {
    /// The stored record is not a valid record of the model that reads it.
    Decode,
    /// The user's function returned `Err`.
    Error,
    /// The user's function panicked (caught; the worker lives on).
    Panic,
    /// The record cannot be stored in its table: moose cannot encode it for the table's
    /// column types, or ClickHouse rejected its row.
    InsertRejected,
    /// The ingest API found the record invalid.
    Validation,
}

impl DeadLetterKind {
    /// The wire name: `decode`, `error`, `panic`, `insert_rejected`, `validation`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadLetterKind::Decode => "decode",
            DeadLetterKind::Error => "error",
            DeadLetterKind::Panic => "panic",
            DeadLetterKind::InsertRejected => "insert_rejected",
            DeadLetterKind::Validation => "validation",
        }
    }
}

impl From<super::FailureKind> for DeadLetterKind {
    fn from(kind: super::FailureKind) -> Self {
        match kind {
            super::FailureKind::Decode => DeadLetterKind::Decode,
            super::FailureKind::Error => DeadLetterKind::Error,
            super::FailureKind::Panic => DeadLetterKind::Panic,
        }
    }
}

/// One record that could not go on, with why, when and where from.
///
/// ```
/// use moose_runtime::graph::{DeadLetter, DeadLetterKind, DeadLetterSource};
///
/// let letter = DeadLetter::new(
///     DeadLetterSource::Transform,
///     DeadLetterKind::Error,
///     "raw_data",
///     br#"{"id":"a","value":-1}"#,
///     "negative value",
/// )
/// .at(0, 41);
/// let json = serde_json::to_value(&letter).unwrap();
/// assert_eq!(json["error_kind"], "error");
/// assert_eq!(json["original_record"], r#"{"id":"a","value":-1}"#);
/// assert_eq!(json["offset"], 41);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The stream the record was read from, or would have been written to (ingest). The key:
    /// one stream's dead letters stay together and in order.
    pub source_stream: String,
    /// When the failure happened.
    #[serde(with = "rfc3339_millis")]
    pub failed_at: SystemTime,
    /// Which stage failed.
    pub source: DeadLetterSource,
    /// What kind of failure.
    pub error_kind: DeadLetterKind,
    /// The error, as a sentence.
    pub error_message: String,
    /// The record exactly as it was received or stored (JSON text; bytes that are not UTF-8
    /// are replaced by U+FFFD).
    pub original_record: String,
    /// Partition of `source_stream` the record was read from (none for ingest).
    pub partition: Option<u32>,
    /// Offset of the record in that partition (none for ingest).
    pub offset: Option<u64>,
}

impl DeadLetter {
    /// A dead letter failed now, without a stream position.
    pub fn new(
        source: DeadLetterSource,
        error_kind: DeadLetterKind,
        source_stream: impl Into<String>,
        original_record: &[u8],
        error_message: impl Into<String>,
    ) -> Self {
        Self {
            source_stream: source_stream.into(),
            failed_at: SystemTime::now(),
            source,
            error_kind,
            error_message: error_message.into(),
            original_record: String::from_utf8_lossy(original_record).into_owned(),
            partition: None,
            offset: None,
        }
    }

    /// With the record's position in `source_stream`.
    pub fn at(mut self, partition: u32, offset: u64) -> Self {
        self.partition = Some(partition);
        self.offset = Some(offset);
        self
    }
}

/// Column names, in order.
const COLUMN_NAMES: &[&str] = &[
    "source_stream",
    "failed_at",
    "source",
    "error_kind",
    "error_message",
    "original_record",
    "partition",
    "offset",
];

/// Sub-second digits of `failed_at`.
const FAILED_AT_PRECISION: u8 = 3;

impl ColumnValue for DeadLetter {
    fn column_type(_: &FieldOptions) -> ColumnType {
        ColumnType::Tuple(
            <Self as DataModel>::columns()
                .into_iter()
                .map(|c| (c.name, c.ty))
                .collect(),
        )
    }

    fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let types: Vec<ColumnType> = tuple_types(ty, COLUMN_NAMES.len(), "DeadLetter")?
            .into_iter()
            .cloned()
            .collect();
        self.write_fields(&types, out)
    }
}

impl DeadLetter {
    fn write_fields(&self, types: &[ColumnType], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.source_stream.write_row_binary(&types[0], out)?;
        write_failed_at(self.failed_at, &types[1], out)?;
        write_string_column(self.source.as_str(), &types[2], out)?;
        write_string_column(self.error_kind.as_str(), &types[3], out)?;
        self.error_message.write_row_binary(&types[4], out)?;
        self.original_record.write_row_binary(&types[5], out)?;
        self.partition.write_row_binary(&types[6], out)?;
        self.offset.write_row_binary(&types[7], out)
    }
}

fn write_string_column(text: &str, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match ty.physical() {
        ColumnType::String => {
            write_bytes(text.as_bytes(), out);
            Ok(())
        }
        other => Err(EncodeError::new(format!(
            "a dead letter's text column cannot be encoded as ClickHouse type {other}"
        ))),
    }
}

fn write_failed_at(at: SystemTime, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let millis = unix_millis(at);
    match ty.physical() {
        ColumnType::DateTime64 { precision } => {
            let precision = u32::from(*precision).min(9);
            let ticks = i128::from(millis) * 10i128.pow(precision) / 1000;
            let ticks = i64::try_from(ticks)
                .map_err(|_| EncodeError::new("failed_at is outside DateTime64"))?;
            out.extend_from_slice(&ticks.to_le_bytes());
            Ok(())
        }
        ColumnType::DateTime => {
            let seconds = u32::try_from(millis.div_euclid(1000)).map_err(|_| {
                EncodeError::new("failed_at is outside DateTime's range 1970-01-01 ..= 2106-02-07")
            })?;
            out.extend_from_slice(&seconds.to_le_bytes());
            Ok(())
        }
        other => Err(EncodeError::new(format!(
            "failed_at cannot be encoded as ClickHouse type {other}"
        ))),
    }
}

impl DataModel for DeadLetter {
    const NAME: &'static str = "DeadLetter";
    const COLUMN_NAMES: &'static [&'static str] = COLUMN_NAMES;
    const KEY_NAMES: &'static [&'static str] = &["source_stream"];

    fn columns() -> Vec<Column> {
        let column = |name: &str, ty: ColumnType, comment: &str| Column {
            name: name.to_owned(),
            ty,
            key: name == "source_stream",
            default: None,
            comment: Some(comment.to_owned()),
            codec: None,
        };
        vec![
            column(
                "source_stream",
                ColumnType::String,
                "stream the record was read from or written to",
            ),
            column(
                "failed_at",
                ColumnType::DateTime64 {
                    precision: FAILED_AT_PRECISION,
                },
                "when it failed",
            ),
            column(
                "source",
                ColumnType::String,
                "api, transform, consumer or table",
            ),
            column(
                "error_kind",
                ColumnType::String,
                "decode, error, panic, insert_rejected or validation",
            ),
            column("error_message", ColumnType::String, "the error"),
            column(
                "original_record",
                ColumnType::String,
                "the record as received (JSON)",
            ),
            column(
                "partition",
                ColumnType::nullable(ColumnType::UInt32),
                "partition of source_stream",
            ),
            column(
                "offset",
                ColumnType::nullable(ColumnType::UInt64),
                "offset in that partition",
            ),
        ]
    }

    fn write_row(&self, types: &[ColumnType], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        check_row_types(types, COLUMN_NAMES.len(), "DeadLetter")?;
        self.write_fields(types, out)
    }

    fn message_key(&self) -> Vec<u8> {
        self.source_stream.as_bytes().to_vec()
    }
}

/// Milliseconds since the epoch (negative before it).
fn unix_millis(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

fn from_unix_millis(millis: i64) -> SystemTime {
    if millis >= 0 {
        UNIX_EPOCH + Duration::from_millis(millis as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(millis.unsigned_abs())
    }
}

/// `failed_at` as RFC 3339 in UTC with milliseconds: `2026-11-24T18:59:27.123Z`.
mod rfc3339_millis {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&super::format_rfc3339(super::unix_millis(*at)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::parse_rfc3339(&text)
            .map(super::from_unix_millis)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{text}` is not an RFC 3339 UTC timestamp like 2026-11-24T18:59:27.123Z"
                ))
            })
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
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = i64::from(if month > 2 { month - 3 } else { month + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn format_rfc3339(millis: i64) -> String {
    let (days, in_day) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
    let (year, month, day) = civil_from_days(days);
    let seconds = in_day / 1000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        in_day % 1000
    )
}

/// Reads `YYYY-MM-DD[T ]HH:MM:SS[.fraction](Z|+00:00)`; `None` for anything else.
fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let separators_ok = b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && matches!(b.get(10), Some(b'T' | b't' | b' '))
        && b.get(13) == Some(&b':')
        && b.get(16) == Some(&b':');
    if !separators_ok
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let len = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        for (i, d) in fraction[..len.min(3)].iter().enumerate() {
            millis += i64::from(d - b'0') * [100, 10, 1][i];
        }
        rest = &fraction[len..];
    }
    if !matches!(rest, b"Z" | b"z" | b"+00:00" | b"-00:00") {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ClickHouseCapabilities, ResolvedTable, ServerVersion, TableConfig};

    #[test]
    fn timestamps_round_trip_through_rfc3339() {
        for millis in [
            0,
            1,
            999,
            86_399_999,
            951_782_400_000, // 2000-02-29
            1_795_546_767_123,
            4_102_444_800_000, // 2100-01-01
            -1,
            -86_400_001,
        ] {
            let text = format_rfc3339(millis);
            assert_eq!(parse_rfc3339(&text), Some(millis), "{text}");
        }
        assert_eq!(format_rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            parse_rfc3339("2026-11-24 18:59:27+00:00"),
            parse_rfc3339("2026-11-24T18:59:27.000Z")
        );
        for bad in [
            "",
            "2026-11-24",
            "2026-13-01T00:00:00Z",
            "2026-11-24T18:59:27+02:00",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_dead_letter_round_trips_through_json() {
        let letter = DeadLetter::new(
            DeadLetterSource::Table,
            DeadLetterKind::InsertRejected,
            "events",
            b"{\"id\":1}",
            "ClickHouse rejected the row",
        )
        .at(2, 7);
        let json = serde_json::to_string(&letter).unwrap();
        let back: DeadLetter = serde_json::from_str(&json).unwrap();
        // Milliseconds survive; finer digits do not.
        assert_eq!(unix_millis(back.failed_at), unix_millis(letter.failed_at));
        assert_eq!(
            DeadLetter {
                failed_at: letter.failed_at,
                ..back
            },
            letter
        );
        assert!(json.contains(r#""source":"table""#), "{json}");
        assert!(json.contains(r#""error_kind":"insert_rejected""#), "{json}");
    }

    /// A dead letter with every field set and a `failed_at` with nanoseconds.
    fn pinned() -> DeadLetter {
        DeadLetter {
            failed_at: UNIX_EPOCH + Duration::from_nanos(1_795_546_767_123_456_789),
            ..DeadLetter::new(
                DeadLetterSource::Table,
                DeadLetterKind::InsertRejected,
                "events",
                br#"{"id":1}"#,
                "ClickHouse rejected the row",
            )
            .at(2, 7)
        }
    }

    /// Dead-letter streams and tables outlive moose versions: the JSON a stream holds must
    /// stay readable, so its form is pinned.
    #[test]
    fn the_json_form_is_pinned() {
        assert_eq!(
            serde_json::to_string(&pinned()).unwrap(),
            r#"{"source_stream":"events","failed_at":"2026-11-24T18:59:27.123Z","source":"table","error_kind":"insert_rejected","error_message":"ClickHouse rejected the row","original_record":"{\"id\":1}","partition":2,"offset":7}"#
        );
        let unplaced = DeadLetter {
            partition: None,
            offset: None,
            ..pinned()
        };
        let json = serde_json::to_string(&unplaced).unwrap();
        assert!(
            json.ends_with(r#""partition":null,"offset":null}"#),
            "{json}"
        );
        for source in [
            DeadLetterSource::Api,
            DeadLetterSource::Transform,
            DeadLetterSource::Consumer,
            DeadLetterSource::Table,
        ] {
            assert_eq!(serde_json::to_value(source).unwrap(), source.as_str());
        }
        for kind in [
            DeadLetterKind::Decode,
            DeadLetterKind::Error,
            DeadLetterKind::Panic,
            DeadLetterKind::InsertRejected,
            DeadLetterKind::Validation,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        let read: DeadLetter = serde_json::from_str(
            r#"{"source_stream":"s","failed_at":"2026-11-24 18:59:27+00:00","source":"api","error_kind":"validation","error_message":"m","original_record":"{}","partition":null,"offset":null}"#,
        )
        .unwrap();
        assert_eq!(
            read.failed_at,
            UNIX_EPOCH + Duration::from_secs(1_795_546_767)
        );
    }

    /// A change here is a migration of every deployed dead-letter table.
    #[test]
    fn the_columns_are_pinned() {
        let columns: Vec<(String, String, bool, Option<String>)> = DeadLetter::columns()
            .into_iter()
            .inspect(|c| assert_eq!((&c.default, &c.codec), (&None, &None)))
            .map(|c| (c.name, c.ty.to_string(), c.key, c.comment))
            .collect();
        let expected = [
            (
                "source_stream",
                "String",
                true,
                "stream the record was read from or written to",
            ),
            ("failed_at", "DateTime64(3, 'UTC')", false, "when it failed"),
            (
                "source",
                "String",
                false,
                "api, transform, consumer or table",
            ),
            (
                "error_kind",
                "String",
                false,
                "decode, error, panic, insert_rejected or validation",
            ),
            ("error_message", "String", false, "the error"),
            (
                "original_record",
                "String",
                false,
                "the record as received (JSON)",
            ),
            (
                "partition",
                "Nullable(UInt32)",
                false,
                "partition of source_stream",
            ),
            (
                "offset",
                "Nullable(UInt64)",
                false,
                "offset in that partition",
            ),
        ]
        .map(|(name, ty, key, comment)| {
            (
                name.to_owned(),
                ty.to_owned(),
                key,
                Some(comment.to_owned()),
            )
        });
        assert_eq!(columns, expected);
        assert_eq!(DeadLetter::NAME, "DeadLetter");
        assert_eq!(DeadLetter::KEY_NAMES, ["source_stream"]);
        assert_eq!(
            DeadLetter::COLUMN_NAMES,
            expected.map(|(name, ..)| name).as_slice()
        );
        assert_eq!(pinned().message_key(), b"events");
    }

    /// The RowBinary rows, on a modern server and on 18.16 (`DateTime`, whole seconds).
    #[test]
    fn the_row_encoding_is_pinned() {
        let config = TableConfig::new("events_dead_letter");
        let old = ClickHouseCapabilities::for_version(ServerVersion::new(18, 16, 1));
        for (caps, failed_at) in [
            (
                ClickHouseCapabilities::MODERN,
                1_795_546_767_123u64.to_le_bytes().to_vec(),
            ),
            (old, 1_795_546_767u32.to_le_bytes().to_vec()),
        ] {
            let table = ResolvedTable::resolve::<DeadLetter>("local", &config, &caps).unwrap();
            let mut row = Vec::new();
            pinned().write_row(table.column_types(), &mut row).unwrap();
            let mut expected = b"\x06events".to_vec();
            expected.extend(failed_at);
            expected.extend(b"\x05table\x0finsert_rejected\x1bClickHouse rejected the row");
            expected
                .extend(b"\x08{\"id\":1}\x00\x02\x00\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00");
            assert_eq!(row, expected);
        }
    }

    #[test]
    fn the_table_resolves_on_old_and_modern_servers() {
        let mut config = TableConfig::new("events_dead_letter");
        config.order_by =
            crate::schema::OrderBy::Fields(vec!["source_stream".into(), "failed_at".into()]);
        let old = ClickHouseCapabilities::for_version(ServerVersion::new(18, 16, 1));
        let table = ResolvedTable::resolve::<DeadLetter>("local", &config, &old).unwrap();
        assert!(
            table
                .create_table_sql()
                .contains("`failed_at` DateTime('UTC')"),
            "{}",
            table.create_table_sql()
        );
        let letter = DeadLetter::new(
            DeadLetterSource::Api,
            DeadLetterKind::Validation,
            "events",
            b"{}",
            "missing field `id`",
        );
        let mut row = Vec::new();
        letter.write_row(table.column_types(), &mut row).unwrap();
        let modern =
            ResolvedTable::resolve::<DeadLetter>("local", &config, &ClickHouseCapabilities::MODERN)
                .unwrap();
        let mut modern_row = Vec::new();
        letter
            .write_row(modern.column_types(), &mut modern_row)
            .unwrap();
        // DateTime64(3) is 8 bytes, DateTime 4.
        assert_eq!(modern_row.len(), row.len() + 4);
    }
}
