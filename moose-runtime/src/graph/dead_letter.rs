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
//! The model is derived with `#[data_model(crate = "crate")]` and needs no date crate:
//! `failed_at` is a [`SystemTime`], written as RFC 3339 with milliseconds in JSON and as
//! `DateTime64(3, 'UTC')` in ClickHouse (`DateTime('UTC')`, whole seconds, on servers before
//! 20.1). `source` and `error_kind` are `String` columns holding the wire names, not `Enum`s,
//! so a new kind needs no `ALTER` of every dead-letter table.

use std::time::SystemTime;

use moose_macros::data_model;
use serde::{Deserialize, Serialize};

use crate::schema::value::write_text;
use crate::schema::{ColumnType, ColumnValue, EncodeError, FieldOptions};

/// Suffix of the dead-letter stream and table of an ingest pipeline with
/// `dead_letter_queue: true`: pipeline `events` gets `events_dead_letter` (one rule for the
/// builder and `pipeline!`, in `moose-names`).
pub use moose_names::DEAD_LETTER_SUFFIX;

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
/// `source_stream` is the key: one stream's dead letters stay together and in order. It is
/// the stream the record was read from, or would have been written to (ingest).
/// `original_record` is the record exactly as it was received or stored (JSON text; bytes
/// that are not UTF-8 are replaced by U+FFFD). `partition` and `offset` are none for ingest.
/// The field docs are the table's column comments.
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
#[data_model(crate = "crate")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// stream the record was read from or written to
    #[key]
    pub source_stream: String,
    /// when it failed
    pub failed_at: SystemTime,
    /// api, transform, consumer or table
    pub source: DeadLetterSource,
    /// decode, error, panic, insert_rejected or validation
    pub error_kind: DeadLetterKind,
    /// the error
    pub error_message: String,
    /// the record as received (JSON)
    pub original_record: String,
    /// partition of source_stream
    pub partition: Option<u32>,
    /// offset in that partition
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

/// `source` and `error_kind`: `String` columns of their wire names.
macro_rules! text_column {
    ($($rust:ident),*) => {$(
        // Not offered to users as an example of a column type in trait errors.
        #[diagnostic::do_not_recommend]
        impl ColumnValue for $rust {
            fn column_type(_: &FieldOptions) -> ColumnType {
                ColumnType::String
            }

            fn write_row_binary(&self, ty: &ColumnType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
                write_text(stringify!($rust), self.as_str(), ty, out)
            }
        }
    )*};
}

text_column!(DeadLetterSource, DeadLetterKind);

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::schema::{
        ClickHouseCapabilities, DataModel, OlapConfig, ResolvedTable, ServerVersion,
    };

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

    #[test]
    fn a_dead_letter_round_trips_through_json_to_the_millisecond() {
        let letter = pinned();
        let json = serde_json::to_string(&letter).unwrap();
        let back: DeadLetter = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back,
            DeadLetter {
                failed_at: UNIX_EPOCH + Duration::from_millis(1_795_546_767_123),
                ..letter
            }
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
        let config = OlapConfig::default();
        let old = ClickHouseCapabilities::for_version(ServerVersion::new(18, 16, 1));
        for (caps, failed_at) in [
            (
                ClickHouseCapabilities::MODERN,
                1_795_546_767_123u64.to_le_bytes().to_vec(),
            ),
            (old, 1_795_546_767u32.to_le_bytes().to_vec()),
        ] {
            let table =
                ResolvedTable::resolve::<DeadLetter>("local", "events_dead_letter", &config, &caps)
                    .unwrap();
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
        let config = OlapConfig::default().order_by_fields(["source_stream", "failed_at"]);
        let old = ClickHouseCapabilities::for_version(ServerVersion::new(18, 16, 1));
        let table =
            ResolvedTable::resolve::<DeadLetter>("local", "events_dead_letter", &config, &old)
                .unwrap();
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
        let modern = ResolvedTable::resolve::<DeadLetter>(
            "local",
            "events_dead_letter",
            &config,
            &ClickHouseCapabilities::MODERN,
        )
        .unwrap();
        let mut modern_row = Vec::new();
        letter
            .write_row(modern.column_types(), &mut modern_row)
            .unwrap();
        // DateTime64(3) is 8 bytes, DateTime 4.
        assert_eq!(modern_row.len(), row.len() + 4);
    }
}
