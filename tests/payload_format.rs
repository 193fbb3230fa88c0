//! The embedded log's binary payload form (`moose::schema::payload`): any model value
//! round-trips, JSON -> binary -> JSON is the identity for every mapped type, a record stored
//! for another definition of its model or in another format version is refused with a
//! message saying so (never misread), and JSON payloads (a data dir from before) still read.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::models::{Address, EveryType, Status};
use moose::graph::ModelCodec;
use moose::prelude::*;
use moose::schema::PayloadFormat;
use moose::schema::payload::{self, FORMAT_VERSION, MAGIC};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// What `EveryType` does not hold: `SystemTime`, a boxed model, nested options and an
/// extra-fields capture.
#[data_model(extra_fields = "capture")]
#[derive(Debug, Clone, PartialEq)]
pub struct Rest {
    #[key]
    pub id: String,
    pub at: SystemTime,
    pub maybe_at: Option<SystemTime>,
    pub boxed: Box<Address>,
    pub statuses: Vec<Status>,
    pub nested: Vec<Vec<i32>>,
    pub maybe_status: Option<Status>,
    #[extra_fields]
    pub extra: Map<String, Value>,
}

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::num::f64::NORMAL | prop::num::f64::ZERO | prop::num::f64::SUBNORMAL,
        -1e6f64..1e6
    ]
}

fn finite_f32() -> impl Strategy<Value = f32> {
    prop::num::f32::NORMAL | prop::num::f32::ZERO
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Active),
        Just(Status::OnHold),
        Just(Status::Closed)
    ]
}

fn address() -> impl Strategy<Value = Address> {
    (text(), any::<Option<u32>>()).prop_map(|(city, zip)| Address { city, zip })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Seconds a chrono and a time timestamp both hold (years 1..9999).
const SECONDS: std::ops::Range<i64> = -62_135_596_800..253_402_300_799;

prop_compose! {
    fn every_type()(
        (id, flag, i8v, i16v, i32v, i64v, i128v, u8v, u16v, u32v, u128v) in (
            any::<u64>(), any::<bool>(), any::<i8>(), any::<i16>(), any::<i32>(), any::<i64>(),
            any::<i128>(), any::<u8>(), any::<u16>(), any::<u32>(), any::<u128>(),
        ),
        (f32v, f64v, name, created, updated, birthday, anniversary, uuid) in (
            finite_f32(), finite_f64(), text(), (SECONDS, 0u32..1_000_000_000),
            (SECONDS, 0u32..1_000_000_000), -700_000i64..2_900_000, -700_000i64..2_900_000,
            any::<u128>(),
        ),
        (price, scale, maybe, tags, attributes, ordered, payload) in (
            any::<i64>(), 0u32..5, proptest::option::of(text()),
            prop::collection::vec(text(), 0..4),
            prop::collection::hash_map(text(), any::<i64>(), 0..4),
            prop::collection::btree_map(text(), finite_f64(), 0..4), json_value(),
        ),
        (ipv4, ipv6, status, address, history, with_default, compressed, custom, original_name) in (
            any::<u32>(), any::<u128>(), status(), address(),
            prop::collection::vec(address(), 0..3), any::<i32>(), text(), text(), text(),
        ),
    ) -> EveryType {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        EveryType {
            id, flag, i8v, i16v, i32v, i64v, i128v, u8v, u16v, u32v, u128v, f32v, f64v, name,
            created_at: chrono::DateTime::from_timestamp(created.0, created.1).unwrap(),
            updated_at: time::OffsetDateTime::from_unix_timestamp(updated.0)
                .unwrap()
                .replace_nanosecond(updated.1)
                .unwrap(),
            birthday: epoch + chrono::Duration::days(birthday),
            anniversary: time::Date::from_julian_day(2_440_588 + anniversary as i32).unwrap(),
            uuid: uuid::Uuid::from_u128(uuid),
            price: rust_decimal::Decimal::new(price, scale),
            maybe, tags, attributes, ordered, payload,
            ipv4: Ipv4Addr::from(ipv4),
            ipv6: Ipv6Addr::from(ipv6),
            status, address, history, with_default, compressed, custom, original_name,
            // `#[serde(skip)]`: neither form stores it; both read it back as the default.
            not_stored: 0,
        }
    }
}

prop_compose! {
    fn rest()(
        id in text(),
        at in (0i64..4_000_000_000, 0u32..1_000_000_000),
        maybe_at in proptest::option::of((0i64..4_000_000_000, 0u32..1_000_000_000)),
        boxed in address(),
        statuses in prop::collection::vec(status(), 0..4),
        nested in prop::collection::vec(prop::collection::vec(any::<i32>(), 0..3), 0..3),
        maybe_status in proptest::option::of(status()),
        extra in prop::collection::btree_map("x_[a-z]{1,6}", json_value(), 0..3),
    ) -> Rest {
        let time = |(s, n): (i64, u32)| UNIX_EPOCH + Duration::new(s as u64, n);
        Rest {
            id,
            at: time(at),
            maybe_at: maybe_at.map(time),
            boxed: Box::new(boxed),
            statuses,
            nested,
            maybe_status,
            extra: extra.into_iter().collect(),
        }
    }
}

/// A record's JSON as a stream would carry it (from JSON text, as ingest reads it) and the
/// same JSON read back through the binary form, as `peek` and dead letters show a record
/// stored on the embedded log; both parsed, so map order does not matter.
fn json_both_ways<T: DataModel>(record: &T) -> (Value, Value) {
    let sent = serde_json::to_string(record).unwrap();
    let typed: T = serde_json::from_str(&sent).expect("the JSON decodes");
    let direct = serde_json::to_string(&typed).unwrap();
    let binary = payload::encode(&typed, PayloadFormat::Binary);
    let shown = ModelCodec::of::<T>().payload_text(&binary);
    (
        serde_json::from_str(&direct).unwrap(),
        serde_json::from_str(&shown).expect("shown as JSON"),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_value_of_every_mapped_type_round_trips(record in every_type()) {
        let binary = payload::encode(&record, PayloadFormat::Binary);
        prop_assert_eq!(binary[0], MAGIC);
        prop_assert_eq!(payload::decode::<EveryType>(&binary).unwrap(), record);
    }

    #[test]
    fn system_time_boxes_enums_and_captured_fields_round_trip(record in rest()) {
        let binary = payload::encode(&record, PayloadFormat::Binary);
        prop_assert_eq!(payload::decode::<Rest>(&binary).unwrap(), record);
    }

    /// (Compared as `serde_json::Value`, which holds 64-bit integers: the 128-bit fields stay
    /// in that range here; `extreme_128_bit_integers_show_as_they_were_sent` covers the rest.)
    #[test]
    fn json_to_binary_to_json_is_the_identity(
        mut record in every_type(),
        other in rest(),
        (wide, uwide) in (any::<i64>(), any::<u64>()),
    ) {
        record.i128v = i128::from(wide);
        record.u128v = u128::from(uwide);
        let (direct, through_binary) = json_both_ways(&record);
        prop_assert_eq!(through_binary, direct);
        let (direct, through_binary) = json_both_ways(&other);
        prop_assert_eq!(through_binary, direct);
    }

    /// Whatever the bytes after a valid header, reading them fails or succeeds without
    /// panicking or allocating without bound (a count larger than the input is refused).
    #[test]
    fn any_bytes_after_the_header_never_panic(body in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut bytes = payload::encode(&every_type_example(), PayloadFormat::Binary)[..6].to_vec();
        bytes.extend_from_slice(&body);
        let _ = payload::decode::<EveryType>(&bytes);
        let _ = payload::decode::<Rest>(&bytes);
    }
}

fn every_type_example() -> EveryType {
    serde_json::from_value(json!({
        "id": 7, "flag": true, "i8v": -1, "i16v": 2, "i32v": 3, "i64v": 4, "i128v": 5, "u8v": 6,
        "u16v": 7, "u32v": 8, "u128v": 9, "f32v": 1.5, "f64v": 2.25, "name": "n",
        "created_at": "2024-05-06T07:08:09.123Z", "updated_at": "2024-05-06T07:08:09.123456Z",
        "birthday": "2024-02-29", "anniversary": "2024-03-01",
        "uuid": "67e55044-10b1-426f-9247-bb680e5fe0c8", "price": "12.5", "maybe": null,
        "tags": ["a"], "attributes": {"k": 1}, "ordered": {"o": 0.5}, "payload": {"a": [1]},
        "ipv4": "10.0.0.1", "ipv6": "::1", "status": "on_hold",
        "address": {"city": "Zürich", "zip": 8001}, "history": [], "with_default": 1,
        "compressed": "c", "custom": "x", "renamed_column": "r"
    }))
    .expect("a valid EveryType")
}

/// Two builds' definitions of one model: `Reading` gained a field.
mod before {
    use moose::prelude::*;
    #[data_model]
    pub struct Reading {
        #[key]
        pub id: String,
        pub value: f64,
    }
}

mod after {
    use moose::prelude::*;
    #[data_model]
    #[derive(Debug)]
    pub struct Reading {
        #[key]
        pub id: String,
        pub value: f64,
        pub unit: Option<String>,
    }
}

#[test]
fn a_record_stored_for_another_definition_of_its_model_is_refused_not_misread() {
    let old = before::Reading {
        id: "r1".into(),
        value: 1.5,
    };
    let binary = payload::encode(&old, PayloadFormat::Binary);
    let error = payload::decode::<after::Reading>(&binary).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("binary record written for another definition of `Reading`"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("added, removed, renamed, retyped or reordered")
    );
    // The same record as JSON (Kafka, or a data dir from before the binary form) still reads
    // into the new definition, the missing field `None`.
    let json = payload::encode(&old, PayloadFormat::Json);
    let read = payload::decode::<after::Reading>(&json).unwrap();
    assert_eq!((read.id.as_str(), read.value, read.unit), ("r1", 1.5, None));
}

#[test]
fn a_record_in_another_format_version_is_refused_with_the_version() {
    let mut binary = payload::encode(&every_type_example(), PayloadFormat::Binary);
    binary[1] = FORMAT_VERSION + 1;
    let error = payload::decode::<EveryType>(&binary)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("payload format {}", FORMAT_VERSION + 1))
            && error.contains("written by a newer build"),
        "{error}"
    );
    // A dead letter of such a record keeps every byte.
    let shown = ModelCodec::of::<EveryType>().payload_text(&binary);
    assert!(shown.starts_with("0xb1"), "{shown}");
    assert_eq!(shown.len(), 2 + 2 * binary.len());
}

#[test]
fn a_truncated_record_says_where_it_ends() {
    let binary = payload::encode(&every_type_example(), PayloadFormat::Binary);
    let error = payload::decode::<EveryType>(&binary[..40])
        .unwrap_err()
        .to_string();
    assert!(error.contains("ends inside"), "{error}");
    let mut longer = binary.clone();
    longer.push(0);
    let error = payload::decode::<EveryType>(&longer)
        .unwrap_err()
        .to_string();
    assert_eq!(error, "1 bytes left after the record's last field");
}

#[test]
fn extreme_128_bit_integers_show_as_they_were_sent() {
    for (i, u) in [(i128::MIN, u128::MAX), (i128::MAX, 0)] {
        let mut record = every_type_example();
        (record.i128v, record.u128v) = (i, u);
        let sent = serde_json::to_string(&record).unwrap();
        let binary = payload::encode(&record, PayloadFormat::Binary);
        assert_eq!(ModelCodec::of::<EveryType>().payload_text(&binary), sent);
    }
}

#[test]
fn binary_records_are_smaller_than_their_json() {
    let record = every_type_example();
    let binary = payload::encode(&record, PayloadFormat::Binary);
    let json = payload::encode(&record, PayloadFormat::Json);
    assert!(
        binary.len() < json.len(),
        "{} vs {}",
        binary.len(),
        json.len()
    );
}

/// The embedded log stores what ingest accepts in the binary form; the same bytes show as the
/// JSON that was posted. (Kafka streams stay JSON: `extra_fields.rs` and `timestamps.rs` peek
/// both backends.)
#[tokio::test]
async fn the_embedded_log_stores_binary_records_and_shows_them_as_json() {
    use moose_runtime::ingest::{BodyFormat, decode_body};
    use moose_runtime::stream::local::LocalLog;
    use moose_runtime::stream::{StreamBackend, TopicAdmin, TopicSpec};

    let dir = tempfile::tempdir().unwrap();
    let log = LocalLog::open(dir.path()).unwrap();
    assert_eq!(log.payload_format(), PayloadFormat::Binary);
    log.ensure_topic(&TopicSpec {
        name: "readings".into(),
        partitions: 1,
        retention: Duration::from_secs(3600),
    })
    .await
    .unwrap();
    let body = br#"[{"id":"r1","value":1.5},{"id":"r2","value":-2}]"#;
    let codec = ModelCodec::of::<before::Reading>();
    let records = decode_body(body, BodyFormat::Json, &codec, log.payload_format()).unwrap();
    log.produce("readings", &records).await.unwrap();
    let stored = log.latest("readings", 10).await.unwrap();
    let shown: Vec<Value> = stored
        .iter()
        .map(|r| {
            assert_eq!(r.payload[0], MAGIC, "stored in the binary form");
            serde_json::from_str(&codec.payload_text(&r.payload)).unwrap()
        })
        .collect();
    assert_eq!(
        shown,
        [
            json!({"id": "r1", "value": 1.5}),
            json!({"id": "r2", "value": -2.0})
        ]
    );
}
