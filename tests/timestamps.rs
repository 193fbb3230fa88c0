//! Timestamps in and out: every accepted form posted to ingest lands as the same instant in a
//! real ClickHouse (Debian's 18.16), `peek` prints RFC 3339 for streams and tables alike (and
//! what it prints can be posted again), and precision 6 and 9 round-trip exactly through
//! RowBinary on modern ClickHouse (chdb) while 18.16 keeps whole seconds with a warning.

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::app::{free_addr, post_json, test_config};
use common::clickhouse::TestClickHouse;
use moose::chrono::{DateTime, Utc};
use moose::prelude::*;
use moose::schema::{ClickHouseCapabilities, OlapConfig, ResolvedTable};
use moose::time::OffsetDateTime;
use moose::{DataModel, Mode, Runtime};
use serde_json::{Value, json};

/// One timestamp of each type the models map.
#[data_model]
pub struct Event {
    #[key]
    pub id: String,
    pub chrono_at: DateTime<Utc>,
    pub system_at: SystemTime,
    pub time_at: OffsetDateTime,
    pub maybe_at: Option<DateTime<Utc>>,
}

/// 2013-01-01T21:00:00Z.
const SECONDS: i64 = 1_357_074_000;

/// Passes an event on as it is.
fn same(event: Event) -> Event {
    event
}

/// Each accepted form of 2013-01-01T21:00:00Z, with a quarter second where the form has a
/// fraction.
fn forms() -> Vec<(&'static str, Value)> {
    vec![
        ("rfc3339", json!("2013-01-01T21:00:00Z")),
        ("rfc3339_fraction", json!("2013-01-01T21:00:00.250Z")),
        ("rfc3339_offset", json!("2013-01-01T23:00:00+02:00")),
        ("clickhouse", json!("2013-01-01 21:00:00")),
        ("clickhouse_fraction", json!("2013-01-01 21:00:00.250")),
        ("epoch_seconds", json!(SECONDS)),
        ("epoch_fraction", json!(SECONDS as f64 + 0.25)),
    ]
}

/// Polls `sql` until it returns at least `rows` rows or 30 s pass.
async fn wait_rows(ch: &TestClickHouse, sql: &str, rows: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let got = ch.client.query_json(sql).await.unwrap_or_default();
        if got.len() >= rows || start.elapsed() > Duration::from_secs(30) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn every_accepted_form_lands_as_the_same_instant_and_peek_prints_rfc_3339() {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    // A stream without a table, so `peek events` shows the stream; `stored` is a table.
    let app = pipeline! {
        events: IngestPipeline<Event> { ingest: true, stream: true, table: false },
        stored: IngestPipeline<Event> { stream: true, table: true },
        events => transform(same) => stored,
    };
    let runtime = Runtime::start(&app, &config, Mode::Dev)
        .await
        .expect("starts");
    let addr = runtime.http_addr().expect("serves HTTP");
    let client = reqwest::Client::new();

    let forms = forms();
    let body: Vec<Value> = forms
        .iter()
        .map(|(id, at)| {
            json!({"id": id, "chrono_at": at, "system_at": at, "time_at": at, "maybe_at": at})
        })
        .collect();
    let (status, answer) = post_json(
        &client,
        addr,
        "/ingest/events",
        Value::Array(body).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    // 18.16 stores whole seconds (DateTime): every form is the same second.
    let rows = wait_rows(
        &ch,
        "SELECT id, toUnixTimestamp(chrono_at) AS c, toUnixTimestamp(system_at) AS s, \
         toUnixTimestamp(time_at) AS t, toUnixTimestamp(maybe_at) AS m FROM local.stored ORDER BY id",
        forms.len(),
    )
    .await;
    assert_eq!(rows.len(), forms.len(), "{rows:#?}");
    for row in &rows {
        for column in ["c", "s", "t", "m"] {
            assert_eq!(row[column], json!(SECONDS), "{row}");
        }
    }

    // peek of the stream: RFC 3339 with the column's 3 digits, the fraction kept.
    let stream: Value = reqwest::get(format!("http://{addr}/peek/events?n=100"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for record in stream["records"].as_array().unwrap() {
        let id = record["id"].as_str().unwrap();
        let expected = if id.contains("fraction") {
            "2013-01-01T21:00:00.250Z"
        } else {
            "2013-01-01T21:00:00.000Z"
        };
        for field in ["chrono_at", "system_at", "time_at", "maybe_at"] {
            assert_eq!(record[field], expected, "{id} {field}: {record}");
        }
    }

    // peek of the table: RFC 3339 too (whole seconds: what 18.16 stores), not ClickHouse's
    // `2013-01-01 21:00:00`.
    let table: Value = reqwest::get(format!("http://{addr}/peek/stored?n=100"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = table["rows"].as_array().expect("table rows");
    assert_eq!(rows.len(), forms.len(), "{table}");
    for row in rows {
        for field in ["chrono_at", "system_at", "time_at", "maybe_at"] {
            assert_eq!(row[field], "2013-01-01T21:00:00Z", "{field}: {row}");
        }
    }

    // What either peek printed is accepted by ingest as it is, and ClickHouse's own text (what
    // a `SELECT` prints) too.
    let printed = json!([
        stream["records"][0],
        rows[0],
        {"id": "selected", "chrono_at": "2013-01-01 21:00:00", "system_at": "2013-01-01 21:00:00",
         "time_at": "2013-01-01 21:00:00", "maybe_at": null},
    ]);
    let (status, answer) = post_json(&client, addr, "/ingest/events", printed.to_string()).await;
    assert_eq!(status, 200, "{answer}");

    // Anything else: 400, with the accepted forms in the message.
    let (status, answer) = post_json(
        &client,
        addr,
        "/ingest/events",
        json!({"id": "bad", "chrono_at": "01/01/2013 9pm", "system_at": SECONDS,
               "time_at": 1_357_074_000_000i64, "maybe_at": null})
        .to_string(),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    let record = &answer["records"][0];
    assert_eq!(record["path"], ".chrono_at", "{answer}");
    let message = record["message"].as_str().unwrap();
    assert!(
        message.starts_with("invalid value: string \"01/01/2013 9pm\", expected a timestamp: RFC 3339 (2026-11-24T18:59:27.123Z), ClickHouse's 2026-11-24 18:59:27.123 (UTC), or epoch seconds as a number (1795546767 or 1795546767.123)"),
        "{message}"
    );
    let (status, answer) = post_json(
        &client,
        addr,
        "/ingest/events",
        json!({"id": "ms", "chrono_at": SECONDS, "system_at": SECONDS,
               "time_at": 1_357_074_000_000i64, "maybe_at": null})
        .to_string(),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["records"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("timestamp 1357074000000 is out of range: a number is read as seconds since 1970-01-01T00:00:00Z")
            && message.contains("for milliseconds, divide by 1000"),
        "{message}"
    );
    runtime.shutdown().await;
}

/// Micro- and nanosecond timestamps.
#[data_model]
#[derive(Debug, PartialEq)]
pub struct Precise {
    #[key]
    pub id: u32,
    #[moose(precision = 6)]
    pub micros: DateTime<Utc>,
    #[moose(precision = 9)]
    pub nanos: DateTime<Utc>,
    #[moose(precision = 9)]
    pub system_nanos: SystemTime,
    #[moose(precision = 9)]
    pub time_nanos: OffsetDateTime,
    #[moose(precision = 6)]
    pub maybe_micros: Option<SystemTime>,
}

const PRECISE: &str = r#"{"id": 1, "micros": "2024-05-06T07:08:09.123456Z",
    "nanos": "2024-05-06T07:08:09.123456789Z", "system_nanos": "1969-12-31T23:59:59.999999999Z",
    "time_nanos": "2024-05-06T09:08:09.000000001+02:00", "maybe_micros": "2024-05-06 07:08:09.000001"}"#;

fn encode(record: &Precise, table: &ResolvedTable) -> Vec<u8> {
    let mut rows = Vec::new();
    record
        .write_row(table.column_types(), &mut rows)
        .expect("encodes");
    rows
}

#[test]
fn precision_6_and_9_round_trip_exactly_through_modern_clickhouse() {
    let record: Precise = serde_json::from_str(PRECISE).expect("valid record");
    let table = ResolvedTable::resolve::<Precise>(
        "local",
        "precise",
        &OlapConfig::default(),
        &ClickHouseCapabilities::MODERN,
    )
    .unwrap();
    assert!(table.warnings.is_empty(), "{:?}", table.warnings);
    let sql = table.create_table_sql();
    assert!(sql.contains("`micros` DateTime64(6, 'UTC')"), "{sql}");
    assert!(sql.contains("`nanos` DateTime64(9, 'UTC')"), "{sql}");
    let dir = tempfile::tempdir().unwrap();
    let ddl = dir.path().join("ddl.sql");
    let rows = dir.path().join("rows.bin");
    std::fs::write(&ddl, &sql).unwrap();
    std::fs::write(&rows, encode(&record, &table)).unwrap();
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
            "local.precise",
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
    let back: Value = serde_json::from_slice(&output.stdout).expect("one JSON row");
    assert_eq!(
        back,
        json!({
            "id": 1,
            "micros": "2024-05-06 07:08:09.123456",
            "nanos": "2024-05-06 07:08:09.123456789",
            "system_nanos": "1969-12-31 23:59:59.999999999",
            "time_nanos": "2024-05-06 07:08:09.000000001",
            "maybe_micros": "2024-05-06 07:08:09.000001",
        })
    );
    // What the server prints reads back as the very same record: no digit lost either way.
    let again: Precise = serde_json::from_value(back).unwrap();
    assert_eq!(again, record);
    // And the stream form carries every digit.
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["nanos"], "2024-05-06T07:08:09.123456789Z");
    assert_eq!(json["time_nanos"], "2024-05-06T07:08:09.000000001Z");
    assert_eq!(json["maybe_micros"], "2024-05-06T07:08:09.000001Z");
}

#[tokio::test]
async fn precision_6_and_9_on_18_16_keep_whole_seconds_with_a_warning() {
    let ch = TestClickHouse::start().await;
    // 18.16's DateTime starts in 1970: the last nanosecond of a second after it instead.
    let json = PRECISE.replace(
        "1969-12-31T23:59:59.999999999Z",
        "2024-05-06T07:08:10.999999999Z",
    );
    let record: Precise = serde_json::from_str(&json).expect("valid record");
    let table = ResolvedTable::resolve::<Precise>(
        "local",
        "precise",
        &OlapConfig::default(),
        ch.client.capabilities(),
    )
    .unwrap();
    let warnings: Vec<String> = table.warnings.iter().map(ToString::to_string).collect();
    for (column, digits) in [
        ("micros", 6),
        ("nanos", 9),
        ("system_nanos", 9),
        ("time_nanos", 9),
        ("maybe_micros", 6),
    ] {
        let expected = format!(
            "table `precise`, column `{column}`: DateTime64({digits}) stored as DateTime: sub-second digits are dropped"
        );
        assert!(warnings.contains(&expected), "{expected} in {warnings:#?}");
    }
    ch.client
        .create_table(&table)
        .await
        .expect("DDL runs on 18.16");
    ch.client
        .insert_rows(&table, encode(&record, &table).into())
        .await
        .expect("insert");
    let text = ch
        .client
        .query_text(
            "SELECT micros, nanos, system_nanos, time_nanos, maybe_micros FROM local.precise",
            "select",
        )
        .await
        .unwrap();
    // Truncated, never rounded: 07:08:10.999999999 stays in its second.
    assert_eq!(
        text.trim_end(),
        "2024-05-06 07:08:09\t2024-05-06 07:08:09\t2024-05-06 07:08:10\t2024-05-06 07:08:09\t2024-05-06 07:08:09"
    );
}
