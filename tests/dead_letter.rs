//! Dead-letter queues against a real ClickHouse server (Debian's 18.16): records a transform
//! fails on, rows ClickHouse rejects, rows that cannot be encoded for the table and invalid
//! ingest records each land in a dead-letter table with the original JSON and the error,
//! while every good record still lands.
//!
//! Over 400 lines: one test per source of dead letters (transforms, consumers, tables, ingest),
//! sharing the models and the app at the top.

mod common;

use std::time::{Duration, Instant};

use common::app::{free_addr, post_json, test_config};
use common::clickhouse::TestClickHouse;
use moose::prelude::*;
use moose::{Mode, Runtime};
use serde_json::{Value, json};

#[data_model]
#[derive(Debug)]
pub struct Reading {
    #[key]
    pub id: String,
    pub value: i64,
}

/// Negative values are an error, 666 panics, the rest pass.
fn check(reading: Reading) -> Result<Reading, String> {
    if reading.value == 666 {
        panic!("cursed value in `{}`", reading.id);
    }
    if reading.value < 0 {
        return Err(format!(
            "negative value {} in `{}`",
            reading.value, reading.id
        ));
    }
    Ok(reading)
}

fn transform_app() -> App {
    pipeline! {
        readings: IngestPipeline<Reading> { ingest: true, stream: true, table: false },
        checked: IngestPipeline<Reading> { stream: true, table: true },
        failures: IngestPipeline<DeadLetter> { stream: true, table: true },
        readings => transform(check, dead_letter_queue: failures) => checked,
    }
}

/// A date before 1970 cannot be stored in 18.16's `Date` at all: moose refuses to encode it.
#[data_model]
#[derive(Debug)]
pub struct Sample {
    #[key]
    pub id: String,
    pub value: i64,
    pub day: chrono::NaiveDate,
}

fn table_app() -> App {
    pipeline! {
        samples: IngestPipeline<Sample> {
            ingest: true,
            stream: true,
            table: true,
            dead_letter_queue: true,
        },
    }
}

/// The same pipeline over a table someone else created, which refuses negative values the
/// way a CHECK constraint would (18.16 has none): a MATERIALIZED column computed with
/// `throwIf` makes ClickHouse reject the whole insert holding such a row (code 395).
fn guarded_table_app() -> App {
    let app = App::new();
    let mut config = IngestPipelineConfig::new()
        .ingest(true)
        .stream(true)
        .table(true)
        .dead_letter_queue(true);
    config.table_config.life_cycle = LifeCycle::ExternallyManaged;
    app.ingest_pipeline::<Sample>("samples", config).unwrap();
    app
}

const GUARDED_TABLE: &str = "CREATE TABLE local.samples (id String, value Int64, day Date, \
     guard UInt8 MATERIALIZED throwIf(value < 0)) ENGINE = MergeTree ORDER BY id";

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

fn ids(rows: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = rows
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn transform_errors_and_panics_land_in_the_dead_letter_table() {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    let runtime = Runtime::start(&transform_app(), &config, Mode::Dev)
        .await
        .expect("starts");
    let values = [1, -1, 2, 666, 3, -2, 4, 5, -3, 6];
    let body: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"id": format!("r{i}"), "value": v}))
        .collect();
    let client = reqwest::Client::new();
    let (status, _) = post_json(
        &client,
        runtime.http_addr().expect("the runtime serves HTTP"),
        "/ingest/readings",
        Value::Array(body).to_string(),
    )
    .await;
    assert_eq!(status, 200);

    let good = wait_rows(&ch, "SELECT id FROM local.checked", 6).await;
    let letters = wait_rows(
        &ch,
        "SELECT source_stream, source, error_kind, error_message, original_record, \
         partition, offset FROM local.failures ORDER BY offset",
        4,
    )
    .await;
    assert_eq!(ids(&good), ["r0", "r2", "r4", "r6", "r7", "r9"]);
    assert_eq!(letters.len(), 4, "{letters:#?}");
    let expected = [
        (1, "error", -1),
        (3, "panic", 666),
        (5, "error", -2),
        (8, "error", -3),
    ];
    for (letter, (index, kind, value)) in letters.iter().zip(expected) {
        assert_eq!(letter["source_stream"], "readings");
        assert_eq!(letter["source"], "transform");
        assert_eq!(letter["error_kind"], kind, "{letter}");
        assert_eq!(letter["partition"], 0);
        assert_eq!(
            letter["offset"].to_string().trim_matches('"'),
            index.to_string()
        );
        let original: Value =
            serde_json::from_str(letter["original_record"].as_str().unwrap()).unwrap();
        assert_eq!(original, json!({"id": format!("r{index}"), "value": value}));
        let message = letter["error_message"].as_str().unwrap();
        assert!(message.contains(&format!("r{index}")), "{message}");
    }
    // The dead-letter queue is readable with peek, like any table.
    let peeked: Value = client
        .get(format!(
            "http://{}/peek/failures",
            runtime.http_addr().expect("the runtime serves HTTP")
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(peeked["rows"].as_array().unwrap().len(), 4, "{peeked}");
    assert_eq!(runtime.failures().dead_lettered, 4);
    runtime.shutdown().await;
}

#[tokio::test]
async fn a_poison_row_clickhouse_rejects_is_isolated_and_the_good_rows_land() {
    let ch = TestClickHouse::start().await;
    ch.client.execute(GUARDED_TABLE).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    // One batch holds everything, so the rejected rows must be split out of it.
    config.sync.max_delay = std::time::Duration::from_secs(1);
    let runtime = Runtime::start(&guarded_table_app(), &config, Mode::Dev)
        .await
        .expect("starts");
    let body: Vec<Value> = (0..40)
        .map(|i| {
            let (value, day) = match i {
                7 | 29 => (-1, "2024-01-01"),
                18 => (18, "1960-01-01"),
                _ => (i, "2024-01-01"),
            };
            json!({"id": format!("s{i:02}"), "value": value, "day": day})
        })
        .collect();
    let client = reqwest::Client::new();
    let (status, answer) = post_json(
        &client,
        runtime.http_addr().expect("the runtime serves HTTP"),
        "/ingest/samples",
        Value::Array(body).to_string(),
    )
    .await;
    assert_eq!((status, answer), (200, json!({"ingested": 40})));

    let letters = wait_rows(
        &ch,
        "SELECT source, error_kind, error_message, original_record, offset \
         FROM local.samples_dead_letter ORDER BY offset",
        3,
    )
    .await;
    let rows = wait_rows(&ch, "SELECT id FROM local.samples", 37).await;
    let expected: Vec<String> = (0..40)
        .filter(|i| ![7, 18, 29].contains(i))
        .map(|i| format!("s{i:02}"))
        .collect();
    assert_eq!(ids(&rows), expected, "every good row lands, once");
    assert_eq!(letters.len(), 3, "{letters:#?}");
    for (letter, index) in letters.iter().zip([7, 18, 29]) {
        assert_eq!(letter["source"], "table");
        assert_eq!(letter["error_kind"], "insert_rejected", "{letter}");
        let original: Value =
            serde_json::from_str(letter["original_record"].as_str().unwrap()).unwrap();
        assert_eq!(original["id"], format!("s{index:02}"));
    }
    let message = |i: usize| letters[i]["error_message"].as_str().unwrap();
    for i in [0, 2] {
        assert!(
            message(i).contains("ClickHouse rejected the row"),
            "{}",
            message(i)
        );
        assert!(message(i).contains("Code: 395"), "{}", message(i));
    }
    assert!(
        message(1).contains("outside Date's range"),
        "{}",
        message(1)
    );
    // Nothing waits: the partition's offsets moved past the poison rows.
    let (status, _) = post_json(
        &client,
        runtime.http_addr().expect("the runtime serves HTTP"),
        "/ingest/samples",
        json!({"id": "after", "value": 1, "day": "2024-01-02"}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let rows = wait_rows(&ch, "SELECT id FROM local.samples", 38).await;
    assert_eq!(rows.len(), 38);
    runtime.shutdown().await;
}

#[tokio::test]
async fn a_pipeline_declared_with_dead_letter_queue_true_dead_letters_what_its_table_cannot_hold() {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    let runtime = Runtime::start(&table_app(), &config, Mode::Dev)
        .await
        .expect("starts");
    let body = json!([
        {"id": "a", "value": 1, "day": "2024-01-01"},
        {"id": "old", "value": 2, "day": "1960-01-01"},
        {"id": "b", "value": 3, "day": "2024-01-02"}
    ]);
    let client = reqwest::Client::new();
    let (status, _) = post_json(
        &client,
        runtime.http_addr().expect("the runtime serves HTTP"),
        "/ingest/samples",
        body.to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let rows = wait_rows(&ch, "SELECT id FROM local.samples", 2).await;
    let letters = wait_rows(
        &ch,
        "SELECT source_stream, error_kind, original_record, partition, offset \
         FROM local.samples_dead_letter",
        1,
    )
    .await;
    assert_eq!(ids(&rows), ["a", "b"]);
    assert_eq!(letters.len(), 1, "{letters:#?}");
    assert_eq!(letters[0]["source_stream"], "samples");
    assert_eq!(letters[0]["error_kind"], "insert_rejected");
    assert_eq!(letters[0]["partition"], 0);
    assert_eq!(letters[0]["offset"].to_string().trim_matches('"'), "1");
    let original: Value =
        serde_json::from_str(letters[0]["original_record"].as_str().unwrap()).unwrap();
    assert_eq!(
        original,
        json!({"id": "old", "value": 2, "day": "1960-01-01"})
    );
    runtime.shutdown().await;
}

#[tokio::test]
async fn invalid_ingest_records_are_dead_lettered_when_the_route_says_so() {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    let app = App::new();
    app.ingest_pipeline::<Reading>(
        "lenient",
        IngestPipelineConfig::new()
            .ingest(true)
            .stream(true)
            .table(true)
            .dead_letter_queue(true)
            .invalid_records(InvalidRecordPolicy::DeadLetter),
    )
    .unwrap();
    let runtime = Runtime::start(&app, &config, Mode::Dev)
        .await
        .expect("starts");
    let client = reqwest::Client::new();
    let body =
        r#"[{"id":"a","value":1},{"id":"b","value":"two"},{"id":"c","value":3},{"value":4}]"#;
    let (status, answer) = post_json(
        &client,
        runtime.http_addr().expect("the runtime serves HTTP"),
        "/ingest/lenient",
        body.to_owned(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ingested"], 2);
    assert_eq!(answer["dead_lettered"], 2);
    let listed: Vec<(u64, &str)> = answer["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["path"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, [(1, ".value"), (3, ".")]);

    let rows = wait_rows(&ch, "SELECT id FROM local.lenient", 2).await;
    assert_eq!(ids(&rows), ["a", "c"]);
    let letters = wait_rows(
        &ch,
        "SELECT source, source_stream, error_kind, error_message, original_record, partition \
         FROM local.lenient_dead_letter ORDER BY original_record",
        2,
    )
    .await;
    assert_eq!(letters.len(), 2, "{letters:#?}");
    assert_eq!(letters[0]["original_record"], r#"{"id":"b","value":"two"}"#);
    assert_eq!(letters[1]["original_record"], r#"{"value":4}"#);
    for letter in &letters {
        assert_eq!(letter["source"], "api");
        assert_eq!(letter["source_stream"], "lenient");
        assert_eq!(letter["error_kind"], "validation");
        assert_eq!(letter["partition"], Value::Null);
    }
    assert!(
        letters[0]["error_message"]
            .as_str()
            .unwrap()
            .contains("record 1 is invalid at `.value`"),
        "{}",
        letters[0]["error_message"]
    );
    runtime.shutdown().await;
}

#[tokio::test]
async fn without_a_dead_letter_queue_failures_are_counted_and_skipped() {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    let app = pipeline! {
        readings: IngestPipeline<Reading> { ingest: true, stream: true, table: false },
        checked: IngestPipeline<Reading> { stream: true, table: true },
        readings => transform(check) => checked,
    };
    let runtime = Runtime::start(&app, &config, Mode::Dev)
        .await
        .expect("starts");
    let body = json!([{"id": "a", "value": 1}, {"id": "b", "value": -1}, {"id": "c", "value": 2}]);
    let client = reqwest::Client::new();
    let (status, _) = post_json(
        &client,
        runtime.http_addr().expect("the runtime serves HTTP"),
        "/ingest/readings",
        body.to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let rows = wait_rows(&ch, "SELECT id FROM local.checked", 2).await;
    assert_eq!(ids(&rows), ["a", "c"]);
    let start = Instant::now();
    while runtime.failures().skipped == 0 && start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(runtime.failures().skipped, 1, "the failure is counted");
    assert_eq!(runtime.failures().dead_lettered, 0);
    runtime.shutdown().await;
}

#[tokio::test]
async fn a_dead_letter_queue_of_another_model_is_refused_at_start() {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    let app = pipeline! {
        readings: Stream<Reading>,
        checked: Stream<Reading>,
        not_letters: Stream<Reading>,
        readings => transform(check, dead_letter_queue: not_letters) => checked,
    };
    let error = Runtime::start(&app, &config, Mode::Dev)
        .await
        .err()
        .expect("refused");
    assert_eq!(
        error.to_string(),
        "dead-letter queue `not_letters` is a stream of `Reading`; a dead-letter queue is a `Stream<DeadLetter>`"
    );
}

#[test]
fn a_pipeline_dead_letter_queue_is_a_stream_and_a_table() {
    let app = table_app();
    let description = app.describe();
    let stream = description
        .streams
        .iter()
        .find(|s| s.name == "samples_dead_letter")
        .expect("the dead-letter stream");
    assert_eq!(stream.model, "DeadLetter");
    assert_eq!(stream.destination.as_deref(), Some("samples_dead_letter"));
    let table = description
        .tables
        .iter()
        .find(|t| t.name == "samples_dead_letter")
        .expect("the dead-letter table");
    assert_eq!(table.order_by, "source_stream, failed_at");
    assert_eq!(
        table.columns,
        [
            "source_stream",
            "failed_at",
            "source",
            "error_kind",
            "error_message",
            "original_record",
            "partition",
            "offset"
        ]
    );

    let err = App::new()
        .ingest_pipeline::<Reading>(
            "p",
            IngestPipelineConfig::new()
                .ingest(true)
                .stream(true)
                .invalid_records(InvalidRecordPolicy::DeadLetter),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ingest pipeline `p` sends invalid records to its dead-letter queue but has none; set `dead_letter_queue: true`"
    );
    let app = App::new();
    app.stream::<Reading>("p_dead_letter", StreamConfig::default())
        .unwrap();
    let err = app
        .ingest_pipeline::<Reading>(
            "p",
            IngestPipelineConfig::new()
                .stream(true)
                .dead_letter_queue(true),
        )
        .unwrap_err();
    assert!(err.to_string().contains("declared twice"), "{err}");
}
