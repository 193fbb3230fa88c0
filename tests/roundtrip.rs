//! JSON -> struct -> RowBinary -> ClickHouse -> SELECT, on real servers: Debian's 18.16
//! (every type it can store, with the documented fallbacks) and modern ClickHouse through chdb
//! (every mapped type).

mod common;

use common::clickhouse::TestClickHouse;
use common::models::{EveryType, OldServerTypes};
use moose::DataModel;
use moose::schema::{ClickHouseCapabilities, OlapConfig, ResolvedTable};

const OLD_RECORDS: &str = r#"[
  {"eventId":"67e55044-10b1-426f-9247-bb680e5fe0c8","flag":true,"small":-5,"medium":123456,
   "big":-9007199254740993,"unsigned":18446744073709551615,"ratio":0.25,"label":"it's \"quoted\"\ttab",
   "happenedAt":"2024-05-06T07:08:09Z","day":"2024-02-29","amount":"12345.6789","smallAmount":"-1.5",
   "note":null,"scores":[1,-2,3],"status":"on_hold","address":{"city":"Zürich","zip":8001},
   "ipv4":"192.168.1.20","ipv6":"2001:db8::1","payload":{"a":[1,2]},"country":"CH"},
  {"eventId":"00000000-0000-0000-0000-000000000001","flag":false,"small":127,"medium":-1,
   "big":0,"unsigned":0,"ratio":-1e300,"label":"","happenedAt":"1970-01-01T00:00:01Z",
   "day":"2105-12-31","amount":"-0.0001","smallAmount":"9999999.99","note":"'; DROP TABLE x; --",
   "scores":[],"status":"Closed","address":{"city":"","zip":null},"ipv4":"0.0.0.0","ipv6":"::",
   "payload":null,"country":""}
]"#;

fn encode<T: DataModel>(records: &[T], table: &ResolvedTable) -> Vec<u8> {
    let mut rows = Vec::new();
    for record in records {
        record
            .write_row(table.column_types(), &mut rows)
            .expect("encodes");
    }
    rows
}

#[tokio::test]
async fn every_18_16_type_round_trips_through_the_real_server() {
    let ch = TestClickHouse::start().await;
    assert_eq!(
        ch.client.capabilities().version().to_string(),
        "18.16.1",
        "Debian's server"
    );
    let records: Vec<OldServerTypes> = serde_json::from_str(OLD_RECORDS).expect("valid records");
    let table = ResolvedTable::resolve::<OldServerTypes>(
        "local",
        "old_types",
        &OlapConfig::default(),
        ch.client.capabilities(),
    )
    .unwrap();
    ch.client
        .create_table(&table)
        .await
        .expect("our DDL runs on 18.16");
    ch.client
        .insert_rows(&table, encode(&records, &table).into())
        .await
        .expect("insert");

    let select = "SELECT toString(eventId), flag, small, medium, big, unsigned, ratio, label, toString(happenedAt), \
                  toString(day), toString(amount), toString(smallAmount), note, scores, status, address, \
                  IPv4NumToString(ipv4), IPv6NumToString(ipv6), payload, country \
                  FROM local.old_types ORDER BY medium DESC";
    let text = ch.client.query_text(select, "select").await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "67e55044-10b1-426f-9247-bb680e5fe0c8\t1\t-5\t123456\t-9007199254740993\t18446744073709551615\t0.25\tit\\'s \"quoted\"\\ttab\t2024-05-06 07:08:09\t2024-02-29\t12345.6789\t-1.50\t\\N\t[1,-2,3]\ton_hold\t('Zürich',8001)\t192.168.1.20\t2001:db8::1\t{\"a\":[1,2]}\tCH",
            "00000000-0000-0000-0000-000000000001\t0\t127\t-1\t0\t0\t-1e300\t\t1970-01-01 00:00:01\t2105-12-31\t-0.0001\t9999999.99\t\\'; DROP TABLE x; --\t[]\tClosed\t('',NULL)\t0.0.0.0\t::\tnull\t",
        ]
    );
}

#[tokio::test]
async fn values_18_16_cannot_store_are_refused_naming_the_column() {
    let ch = TestClickHouse::start().await;
    let table = ResolvedTable::resolve::<OldServerTypes>(
        "local",
        "old_types",
        &OlapConfig::default(),
        ch.client.capabilities(),
    )
    .unwrap();
    let mut records: Vec<OldServerTypes> = serde_json::from_str(OLD_RECORDS).unwrap();
    records[0].day = chrono::NaiveDate::from_ymd_opt(1969, 12, 31).unwrap();
    let err = records[0]
        .write_row(table.column_types(), &mut Vec::new())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "column `day`: date -1 days from 1970 is outside Date's range 1970-01-01 ..= 2105-12-31"
    );
    records[1].amount = "0.00001".parse().unwrap();
    let err = records[1]
        .write_row(table.column_types(), &mut Vec::new())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "column `amount`: 0.00001 has more than 4 digits after the point for Decimal(18, 4)"
    );
}

const MODERN_RECORD: &str = r#"{
  "id": 7, "flag": true, "i8v": -8, "i16v": -16, "i32v": -32, "i64v": -64,
  "i128v": -170141183460469231731687303715884105728, "u8v": 255, "u16v": 65535, "u32v": 4294967295,
  "u128v": 340282366920938463463374607431768211455, "f32v": 1.5, "f64v": -2.25, "name": "alpha",
  "created_at": "2024-05-06T07:08:09.123Z", "updated_at": "2024-05-06T07:08:09.123456Z",
  "birthday": "1969-07-20", "anniversary": "2300-01-01", "uuid": "67e55044-10b1-426f-9247-bb680e5fe0c8",
  "price": "-12345.6789", "maybe": "here", "tags": ["a", "b"], "attributes": {"k": -1},
  "ordered": {"x": 0.5}, "payload": {"nested": {"n": 1}}, "ipv4": "10.1.2.3", "ipv6": "2001:db8::ff",
  "status": "on_hold", "address": {"city": "Paris", "zip": 75001},
  "history": [{"city": "Rome", "zip": null}, {"city": "Oslo", "zip": 150}],
  "with_default": 1, "compressed": "zzz", "custom": "lc", "renamed_column": "r"
}"#;

#[test]
fn every_mapped_type_round_trips_through_modern_clickhouse() {
    let record: EveryType = serde_json::from_str(MODERN_RECORD).expect("valid record");
    let table = ResolvedTable::resolve::<EveryType>(
        "local",
        "every_type",
        &OlapConfig::default(),
        &ClickHouseCapabilities::MODERN,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ddl = dir.path().join("ddl.sql");
    let rows = dir.path().join("rows.bin");
    std::fs::write(&ddl, table.create_table_sql()).unwrap();
    std::fs::write(&rows, encode(std::slice::from_ref(&record), &table)).unwrap();
    let structure: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("{} {}", c.name, c.ty))
        .collect();
    let output = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/chdb_roundtrip.py"
        ))
        .args([
            ddl.to_str().unwrap(),
            "local.every_type",
            &structure.join(", "),
            rows.to_str().unwrap(),
        ])
        .output()
        .expect("python3 runs (scripts/setup.sh installs chdb-core)");
    assert!(
        output.status.success(),
        "chdb failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let back: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON row");
    let expected = serde_json::json!({
        "id": "7", "flag": true, "i8v": -8, "i16v": -16, "i32v": -32, "i64v": "-64",
        "i128v": "-170141183460469231731687303715884105728", "u8v": 255, "u16v": 65535, "u32v": 4294967295u64,
        "u128v": "340282366920938463463374607431768211455", "f32v": 1.5, "f64v": -2.25, "name": "alpha",
        "created_at": "2024-05-06 07:08:09.123", "updated_at": "2024-05-06 07:08:09.123456",
        "birthday": "1969-07-20", "anniversary": "2300-01-01", "uuid": "67e55044-10b1-426f-9247-bb680e5fe0c8",
        "price": -12345.6789, "maybe": "here", "tags": ["a", "b"], "attributes": {"k": "-1"},
        "ordered": {"x": 0.5}, "payload": {"nested": {"n": "1"}}, "ipv4": "10.1.2.3", "ipv6": "2001:db8::ff",
        "status": "on_hold", "address": {"city": "Paris", "zip": 75001},
        "history": [{"city": "Rome", "zip": null}, {"city": "Oslo", "zip": 150}],
        "with_default": 1, "compressed": "zzz", "custom": "lc", "renamed_column": "r"
    });
    assert_eq!(back, expected);
}
