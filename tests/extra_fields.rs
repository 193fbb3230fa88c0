//! `#[data_model(extra_fields = ...)]` through the running app, on a real ClickHouse (Debian's
//! 18.16): `deny` answers 400 naming every unknown field and stores nothing; `capture` keeps
//! unknown fields in a JSON-text column and hands them on, at the top level, to the stream a
//! transform reads and to the next table.

mod common;
#[path = "common/seed.rs"]
mod seed;

use std::time::{Duration, Instant};

use common::app::{free_addr, post_json, test_config};
use common::clickhouse::TestClickHouse;
use moose::prelude::*;
use moose::serde_json::{Map, Value};
use moose::{Mode, Runtime};
use serde_json::json;

#[data_model(extra_fields = "deny")]
pub struct Size {
    pub width: u32,
}

#[data_model(extra_fields = "deny")]
pub struct Strict {
    #[key]
    pub id: String,
    pub size: Size,
}

#[data_model(extra_fields = "capture")]
pub struct Loose {
    #[key]
    pub id: String,
    pub count: u32,
    #[extra_fields]
    pub extra: Map<String, Value>,
}

/// Passes a record on as it is.
fn same(record: Loose) -> Loose {
    record
}

/// Doubles the count; the extra fields go on as they came.
fn double(record: Loose) -> Loose {
    Loose {
        count: record.count * 2,
        ..record
    }
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

async fn peek(addr: std::net::SocketAddr, name: &str) -> Value {
    reqwest::get(format!("http://{addr}/peek/{name}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn deny_answers_400_naming_every_unknown_field_and_stores_nothing() {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    let app = pipeline! {
        strict: IngestPipeline<Strict> { ingest: true, stream: true, table: true },
    };
    let runtime = Runtime::start(&app, &config, Mode::Dev)
        .await
        .expect("starts");
    let addr = runtime.http_addr().expect("serves HTTP");
    let client = reqwest::Client::new();

    let body = json!([
        {"id": "ok0", "size": {"width": 1}},
        {"id": "bad1", "size": {"width": 1}, "colour": "red"},
        {"id": "ok2", "size": {"width": 2}},
        {"id": "bad3", "colour": "blue", "size": {"width": 3, "depth": 9}, "finish": "matte"},
    ]);
    let (status, answer) = post_json(&client, addr, "/ingest/strict", body.to_string()).await;
    assert_eq!(status, 400, "{answer}");
    let listed: Vec<(u64, &str)> = answer["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            (1, ".colour"),
            (3, ".colour"),
            (3, ".finish"),
            (3, ".size.depth"),
        ],
        "{answer:#}"
    );
    assert_eq!(answer["invalid"], 2);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("2 of 4 records are not valid `Strict` records; nothing was written"),
        "{answer}"
    );
    let message = answer["records"][0]["message"].as_str().unwrap();
    assert!(
        message
            .contains("unknown field `colour`: `Strict` takes only its own fields (`id`, `size`)"),
        "{message}"
    );

    // A good request afterwards lands alone: nothing of the refused one was written.
    let (status, _) = post_json(
        &client,
        addr,
        "/ingest/strict",
        json!({"id": "later", "size": {"width": 5}}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let rows = wait_rows(&ch, "SELECT id FROM local.strict", 1).await;
    assert_eq!(rows, [json!({"id": "later"})]);
    runtime.shutdown().await;
}

#[tokio::test]
async fn capture_stores_unknown_fields_as_json_and_hands_them_on_at_the_top_level() {
    capture_scenario(seed::Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_on_kafka_hands_unknown_fields_on_through_the_topics() {
    capture_scenario(seed::Backend::Kafka).await;
}

async fn capture_scenario(backend: seed::Backend) {
    let ch = TestClickHouse::start().await;
    let deployment = backend.deploy(&ch);
    // Streams without tables, so `peek` shows their payloads; the tables hang off the end.
    let app = pipeline! {
        raw: IngestPipeline<Loose> { ingest: true, stream: true, table: false },
        doubled: Stream<Loose>,
        stored_raw: IngestPipeline<Loose> { stream: true, table: true },
        stored_doubled: IngestPipeline<Loose> { stream: true, table: true },
        raw => transform(same) => stored_raw,
        raw => transform(double) => doubled => transform(same) => stored_doubled,
    };
    let runtime = deployment.start(&app).await;
    let addr = runtime.http_addr().expect("serves HTTP");
    let client = reqwest::Client::new();
    let body = json!([
        {"id": "a", "count": 1, "colour": "red", "size": {"w": 2, "h": [1, 2]}},
        {"id": "b", "count": 2},
    ]);
    let (status, answer) = post_json(&client, addr, "/ingest/raw", body.to_string()).await;
    assert_eq!(status, 200, "{answer}");

    // The table column: the unknown fields as one JSON text (18.16 has no JSON type).
    for table in ["stored_raw", "stored_doubled"] {
        let rows = wait_rows(
            &ch,
            &format!("SELECT id, count, extra FROM local.{table} ORDER BY id"),
            2,
        )
        .await;
        let factor = if table == "stored_raw" { 1 } else { 2 };
        assert_eq!(
            rows,
            [
                json!({"id": "a", "count": factor, "extra": r#"{"colour":"red","size":{"h":[1,2],"w":2}}"#}),
                json!({"id": "b", "count": 2 * factor, "extra": "{}"}),
            ],
            "{table}"
        );
    }
    let types = ch
        .client
        .query_json("SELECT name, type FROM system.columns WHERE database = 'local' AND table = 'stored_raw' AND name = 'extra'")
        .await
        .unwrap();
    assert_eq!(types, [json!({"name": "extra", "type": "String"})]);

    // The stream payloads: the unknown fields at the top level, as sent, before and after the
    // transform, so any reader of the topic sees them.
    for (stream, count) in [("raw", 1), ("doubled", 2)] {
        let records = peek(addr, stream).await["records"].clone();
        let a = records
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "a")
            .unwrap_or_else(|| panic!("{stream}: {records}"))
            .clone();
        assert_eq!(
            a,
            json!({"id": "a", "count": count, "colour": "red", "size": {"w": 2, "h": [1, 2]}}),
            "{stream}"
        );
    }
    runtime.shutdown().await;
}
