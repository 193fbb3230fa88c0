//! Where a transform's failures go, end to end on the embedded log and on Apache Kafka with
//! a real ClickHouse (two of MooseStack's end-to-end cases, and its `defaultDeadLetterQueue`):
//!
//! - a stream's default dead-letter queue takes the record its transform fails on (`Err`),
//!   though the transform names no queue, and every other record lands in the table;
//!   a transform that opts out (`dead_letter_queue: false`) sends nothing there;
//! - a transform output larger than the stream backend stores (Kafka: librdkafka's
//!   `message.max.bytes`, 1,000,000 bytes; the embedded log: `MAX_RECORD_BYTES`, 128 MiB) is
//!   dead-lettered with `source = transform`, nothing of it reaches the table, and the
//!   records after it still land.

mod common;
#[path = "common/seed.rs"]
mod seed;

use common::app::post_json;
use common::clickhouse::TestClickHouse;
use moose::prelude::*;
use moose_runtime::stream::StreamBackend as _;
use seed::{Backend, wait_rows};
use serde_json::{Value, json};

#[data_model]
#[derive(Debug)]
pub struct Reading {
    #[key]
    pub id: String,
    pub value: i32,
    pub note: String,
}

/// Negative values are an error; the rest pass.
fn check(reading: Reading) -> Result<Reading, String> {
    if reading.value < 0 {
        return Err(format!("negative value in `{}`", reading.id));
    }
    Ok(reading)
}

fn default_queue_app() -> App {
    pipeline! {
        failures: IngestPipeline<DeadLetter> { stream: true, table: true },
        readings: Stream<Reading> { dead_letter_queue: failures },
        raw: IngestPipeline<Reading> { ingest: true, stream: true },
        checked: IngestPipeline<Reading> { stream: true, table: true },
        quiet: IngestPipeline<Reading> { stream: true, table: true },
        raw => transform(pass) => readings,
        readings => transform(check) => checked,
        readings => transform(check, dead_letter_queue: false) => quiet,
    }
}

fn pass(reading: Reading) -> Reading {
    reading
}

async fn post(runtime: &Runtime, path: &str, body: Value) {
    let client = reqwest::Client::new();
    let addr = runtime.http_addr().expect("the runtime serves HTTP");
    let (status, answer) = post_json(&client, addr, path, body.to_string()).await;
    assert_eq!(status, 200, "{answer}");
}

async fn a_failed_record_lands_in_the_streams_default_dead_letter_queue(backend: Backend) {
    let ch = TestClickHouse::start().await;
    let deployment = backend.deploy(&ch);
    let runtime = deployment.start(&default_queue_app()).await;
    let body: Vec<Value> = [1, 2, -3, 4, 5]
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"id": format!("r{i}"), "value": v, "note": ""}))
        .collect();
    post(&runtime, "/ingest/raw", Value::Array(body)).await;

    let checked = wait_rows(&ch, "SELECT id FROM local.checked ORDER BY id", 4).await;
    let quiet = wait_rows(&ch, "SELECT id FROM local.quiet ORDER BY id", 4).await;
    let letters = wait_rows(
        &ch,
        "SELECT source_stream, source, error_kind, error_message, original_record FROM local.failures",
        1,
    )
    .await;
    let kept = [
        json!({"id": "r0"}),
        json!({"id": "r1"}),
        json!({"id": "r3"}),
        json!({"id": "r4"}),
    ];
    assert_eq!(checked, kept);
    assert_eq!(quiet, kept);
    // One dead letter: the transform that named no queue used the stream's default; the one
    // that opted out logged and skipped its failure (counted, never silent).
    assert_eq!(letters.len(), 1, "{letters:#?}");
    let letter = &letters[0];
    assert_eq!(letter["source_stream"], "readings");
    assert_eq!(letter["source"], "transform");
    assert_eq!(letter["error_kind"], "error");
    assert_eq!(letter["error_message"], "negative value in `r2`");
    let original: Value =
        serde_json::from_str(letter["original_record"].as_str().unwrap()).unwrap();
    assert_eq!(original, json!({"id": "r2", "value": -3, "note": ""}));
    let failures = runtime.failures();
    assert_eq!((failures.dead_lettered, failures.skipped), (1, 1));
    runtime.shutdown().await;
}

#[tokio::test]
async fn a_failed_record_lands_in_the_streams_default_dead_letter_queue_on_the_embedded_log() {
    a_failed_record_lands_in_the_streams_default_dead_letter_queue(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_record_lands_in_the_streams_default_dead_letter_queue_on_kafka() {
    a_failed_record_lands_in_the_streams_default_dead_letter_queue(Backend::Kafka).await;
}

/// A reading whose `value` is `n` gets a note of `n` bytes: one record can be made larger
/// than the backend stores.
fn inflate(reading: Reading) -> Reading {
    Reading {
        note: "x".repeat(reading.value as usize),
        ..reading
    }
}

fn oversize_app() -> App {
    pipeline! {
        raw: IngestPipeline<Reading> { ingest: true, stream: true, dead_letter_queue: true },
        inflated: IngestPipeline<Reading> { stream: true, table: true },
        raw => transform(inflate) => inflated,
    }
}

async fn an_output_too_large_for_the_backend_is_dead_lettered(backend: Backend) {
    let ch = TestClickHouse::start().await;
    let deployment = backend.deploy(&ch);
    let runtime = deployment.start(&oversize_app()).await;
    // The backend's own limit, as the worker sees it.
    let max = match &deployment.broker {
        Some(broker) => broker.backend().await.max_record_bytes(),
        None => moose_runtime::stream::local::MAX_RECORD_BYTES,
    };
    assert_eq!(
        max,
        match backend {
            Backend::Kafka => 1_000_000 - 36,
            Backend::Embedded => (128 << 20) - 12,
        }
    );
    let too_big = i32::try_from(max + 1).unwrap();
    post(
        &runtime,
        "/ingest/raw",
        json!([
            {"id": "small", "value": 10, "note": ""},
            {"id": "huge", "value": too_big, "note": ""},
            {"id": "after", "value": 20, "note": ""},
        ]),
    )
    .await;
    let letters = wait_rows(
        &ch,
        "SELECT source_stream, source, error_kind, error_message, original_record FROM local.raw_dead_letter",
        1,
    )
    .await;
    let rows = wait_rows(
        &ch,
        "SELECT id, toUInt32(length(note)) AS bytes FROM local.inflated ORDER BY id",
        2,
    )
    .await;
    assert_eq!(
        rows,
        [
            json!({"id": "after", "bytes": 20}),
            json!({"id": "small", "bytes": 10})
        ]
    );
    assert_eq!(letters.len(), 1, "{letters:#?}");
    let letter = &letters[0];
    assert_eq!(letter["source_stream"], "raw");
    assert_eq!(letter["source"], "transform");
    let message = letter["error_message"].as_str().unwrap();
    assert!(
        message.contains("`inflated`") && message.contains(&format!("the {max} bytes")),
        "{message}"
    );
    let original: Value =
        serde_json::from_str(letter["original_record"].as_str().unwrap()).unwrap();
    assert_eq!(
        original,
        json!({"id": "huge", "value": too_big, "note": ""})
    );
    // The worker went on: a record posted afterwards lands too.
    post(
        &runtime,
        "/ingest/raw",
        json!([{"id": "later", "value": 5, "note": ""}]),
    )
    .await;
    let rows = wait_rows(&ch, "SELECT id FROM local.inflated WHERE id = 'later'", 1).await;
    assert_eq!(rows.len(), 1);
    let count = ch
        .client
        .query_json("SELECT count() AS n FROM local.inflated WHERE id = 'huge'")
        .await
        .unwrap();
    assert_eq!(count[0]["n"].to_string().trim_matches('"'), "0");
    runtime.shutdown().await;
}

#[tokio::test]
async fn an_output_too_large_for_the_backend_is_dead_lettered_on_the_embedded_log() {
    an_output_too_large_for_the_backend_is_dead_lettered(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_too_large_for_the_backend_is_dead_lettered_on_kafka() {
    an_output_too_large_for_the_backend_is_dead_lettered(Backend::Kafka).await;
}
