//! The seed examples end to end, written once and run on both stream backends: the embedded
//! log (`tests/runtime_dev.rs`) and Kafka on Apache Kafka (`tests/runtime_kafka.rs`), so both are
//! held to the same assertions. Those two test files include it as `mod seed` next to
//! `mod common` (not from `common/mod.rs`: other tests include the examples themselves).
#![allow(dead_code)]

#[allow(dead_code)]
#[path = "../../examples/chained_transforms.rs"]
pub mod chained_transforms;
#[allow(dead_code)]
#[path = "../../examples/ingest_pipeline.rs"]
pub mod ingest_pipeline;
#[allow(dead_code)]
#[path = "../../examples/single_transform.rs"]
pub mod single_transform;
#[allow(dead_code)]
#[path = "../../examples/stream_config.rs"]
pub mod stream_config;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use moose::{App, Mode, Runtime, RuntimeConfig};
use moose_runtime::stream::kafka::KafkaConfig;
use moose_runtime::stream::local::LocalLog;
use moose_runtime::stream::{TopicAdmin as _, TopicSpec};
use serde_json::{Value, json};

use crate::common::app::{free_addr, post_json, test_config};
use crate::common::clickhouse::TestClickHouse;
use crate::common::kafka::TestKafka;

/// Which stream backend a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded log (`dev`).
    Embedded,
    /// Kafka on a fresh one-node Apache Kafka cluster (`start` with `MOOSE_KAFKA_BROKERS`).
    Kafka,
}

/// One app's surroundings: a fresh data dir and, for Kafka, a fresh broker.
pub struct Deployment {
    pub config: RuntimeConfig,
    pub mode: Mode,
    pub broker: Option<TestKafka>,
    _dir: tempfile::TempDir,
}

impl Backend {
    /// A fresh data dir (and broker) for an app using `ch`.
    pub fn deploy(self, ch: &TestClickHouse) -> Deployment {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(&ch.server.http_url(), dir.path(), free_addr());
        let (mode, broker) = match self {
            Backend::Embedded => (Mode::Dev, None),
            Backend::Kafka => {
                let broker = TestKafka::start();
                let mut kafka = KafkaConfig::new(broker.brokers());
                kafka.properties = vec![("session.timeout.ms".into(), "6000".into())];
                config.kafka = Some(kafka);
                (Mode::Start, Some(broker))
            }
        };
        Deployment {
            config,
            mode,
            broker,
            _dir: dir,
        }
    }
}

impl Deployment {
    /// Starts `app` here.
    pub async fn start(&self, app: &App) -> Runtime {
        Runtime::start(app, &self.config, self.mode)
            .await
            .unwrap_or_else(|e| panic!("the app starts: {e}"))
    }

    /// Creates a topic as its owner would (for `ExternallyManaged` streams).
    pub async fn create_topic(&self, spec: &TopicSpec) {
        match &self.broker {
            None => {
                let log = LocalLog::open(&self.config.data_dir.join("streams")).unwrap();
                log.ensure_topic(spec).await.unwrap();
            }
            Some(broker) => broker.backend().await.ensure_topic(spec).await.unwrap(),
        }
    }
}

impl Deployment {
    /// The topic `name` as the backend describes it (after the runtime stopped: the embedded
    /// log admits one process at a time); panics when it does not exist.
    pub async fn describe_topic(&self, name: &str) -> TopicSpec {
        let described = match &self.broker {
            None => {
                let log = LocalLog::open(&self.config.data_dir.join("streams")).unwrap();
                log.describe_topic(name).await.unwrap()
            }
            Some(broker) => broker.backend().await.describe_topic(name).await.unwrap(),
        };
        described.unwrap_or_else(|| panic!("topic `{name}` exists"))
    }
}

/// Polls `sql` until it returns `rows` rows or 60 s pass.
pub async fn wait_rows(ch: &TestClickHouse, sql: &str, rows: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let got = ch.client.query_json(sql).await.unwrap_or_default();
        if got.len() >= rows || start.elapsed() > Duration::from_secs(60) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn as_f64(v: &Value) -> f64 {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap()
}

/// The chained example: 501 records posted land exactly once with the seed's columns:
/// `transformedValue` = value * 2 * 2, `anotherTransformedValue` = value * 2 * 3,
/// `transformedAt` set by the transforms.
pub async fn chained_transforms_land_doubled_then_tripled(backend: Backend) {
    let ch = TestClickHouse::start().await;
    let deployment = backend.deploy(&ch);
    let runtime = deployment.start(&chained_transforms::app()).await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let records: Vec<Value> = (0..500)
        .map(|i| json!({"id": format!("r{i}"), "value": i as f64 + 0.5}))
        .collect();
    let client = reqwest::Client::new();
    let (status, body) = post_json(
        &client,
        runtime.http_addr().expect("the runtime serves HTTP"),
        "/ingest/raw_data",
        Value::Array(records).to_string(),
    )
    .await;
    assert_eq!((status, body), (200, json!({"ingested": 500})));
    let (status, _) = post_json(
        &client,
        runtime.http_addr().expect("the runtime serves HTTP"),
        "/ingest/raw_data",
        json!({"id": "single", "value": 2}).to_string(),
    )
    .await;
    assert_eq!(status, 200);

    let rows = wait_rows(
        &ch,
        "SELECT id, transformedValue, anotherTransformedValue, \
         toUnixTimestamp(transformedAt) AS ts FROM local.final_stream",
        501,
    )
    .await;
    assert_eq!(rows.len(), 501, "every record lands exactly once");
    let by_id: HashMap<String, &Value> = rows
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r))
        .collect();
    let single = by_id["single"];
    assert_eq!(
        (
            as_f64(&single["transformedValue"]),
            as_f64(&single["anotherTransformedValue"])
        ),
        (8.0, 12.0),
        "2 doubled is 4; 4 doubled is 8 and tripled is 12"
    );
    for i in 0..500 {
        let row = by_id[&format!("r{i}")];
        let value = i as f64 + 0.5;
        assert_eq!(as_f64(&row["transformedValue"]), value * 4.0);
        assert_eq!(as_f64(&row["anotherTransformedValue"]), value * 6.0);
        assert!(
            as_f64(&row["ts"]) >= before.timestamp() as f64,
            "transformedAt set by the transforms"
        );
    }
    runtime.shutdown().await;
}

/// The other three seed examples each land their rows.
pub async fn every_seed_example_lands_its_rows(backend: Backend) {
    let ch = TestClickHouse::start().await;
    let client = reqwest::Client::new();
    // ingest_pipeline: raw_data is ingest + stream + table.
    {
        let deployment = backend.deploy(&ch);
        let runtime = deployment.start(&ingest_pipeline::app()).await;
        let body = json!([{"id": "a", "value": 1.5}]).to_string();
        assert_eq!(
            post_json(
                &client,
                runtime.http_addr().expect("the runtime serves HTTP"),
                "/ingest/raw_data",
                body
            )
            .await
            .0,
            200
        );
        let rows = wait_rows(&ch, "SELECT id, value FROM local.raw_data", 1).await;
        assert_eq!(rows, [json!({"id": "a", "value": 1.5})]);
        runtime.shutdown().await;
    }
    // single_transform: raw_data -> transformed_data (`transformedValue` = value * 2).
    {
        let deployment = backend.deploy(&ch);
        let runtime = deployment.start(&single_transform::app()).await;
        let body = json!([{"id": "x", "value": 21}]).to_string();
        assert_eq!(
            post_json(
                &client,
                runtime.http_addr().expect("the runtime serves HTTP"),
                "/ingest/raw_data",
                body
            )
            .await
            .0,
            200
        );
        let rows = wait_rows(
            &ch,
            "SELECT id, transformedValue, transformedAt > toDateTime('2020-01-01 00:00:00') AS stamped \
             FROM local.transformed_data",
            1,
        )
        .await;
        assert_eq!(
            rows,
            [json!({"id": "x", "transformedValue": 42, "stamped": 1})]
        );
        runtime.shutdown().await;
    }
    // stream_config: the seed's three streams, as topics with the declared partitions and
    // retention. `prod_stream` is ExternallyManaged: in `start` (Kafka here) its owner creates
    // the topic first; dev creates it on the embedded log by itself.
    {
        let deployment = backend.deploy(&ch);
        let owners = TopicSpec {
            name: "prod_stream".into(),
            partitions: 2,
            retention: Duration::from_secs(3600),
        };
        if backend == Backend::Kafka {
            deployment.create_topic(&owners).await;
        }
        let runtime = deployment.start(&stream_config::app()).await;
        runtime.shutdown().await;
        let fast = deployment.describe_topic("high_throughput").await;
        assert_eq!(
            (fast.partitions, fast.retention),
            (4, Duration::from_secs(86_400)),
            "parallelism 4, retention 86,400 s"
        );
        let dev = deployment.describe_topic("dev_stream").await;
        assert_eq!(
            (dev.partitions, dev.retention),
            (1, Duration::from_secs(7 * 24 * 3600)),
            "the defaults"
        );
        let prod = deployment.describe_topic("prod_stream").await;
        if backend == Backend::Kafka {
            assert_eq!(
                prod, owners,
                "moose never changes an ExternallyManaged topic"
            );
        }
    }
}

/// A batch with invalid records is refused whole with every bad record listed; none of it
/// ever lands, a good batch after it does.
pub async fn a_batch_with_bad_records_is_refused_whole_and_never_lands(backend: Backend) {
    let ch = TestClickHouse::start().await;
    let deployment = backend.deploy(&ch);
    let runtime = deployment.start(&chained_transforms::app()).await;
    let client = reqwest::Client::new();
    let bad = json!([
        {"id": "bad-0", "value": 1},
        {"id": "bad-1", "value": "not a number"},
        {"id": "bad-2"},
        {"id": 3, "value": 1}
    ]);
    let (status, body) = post_json(
        &client,
        runtime.http_addr().expect("the runtime serves HTTP"),
        "/ingest/raw_data",
        bad.to_string(),
    )
    .await;
    assert_eq!(status, 400);
    let listed: Vec<(u64, String)> = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap(),
                r["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (1, ".value".to_owned()),
            (2, ".".to_owned()),
            (3, ".id".to_owned())
        ]
    );
    // A good batch after it lands; the bad batch's valid record never does.
    let (status, _) = post_json(
        &client,
        runtime.http_addr().expect("the runtime serves HTTP"),
        "/ingest/raw_data",
        json!({"id": "good", "value": 1}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let rows = wait_rows(&ch, "SELECT id FROM local.final_stream", 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rows_later = ch
        .client
        .query_json("SELECT id FROM local.final_stream")
        .await
        .unwrap();
    assert_eq!(rows, [json!({"id": "good"})]);
    assert_eq!(rows_later, [json!({"id": "good"})]);
    runtime.shutdown().await;
}

/// An order as posted: its lines in an array.
#[moose::data_model]
#[derive(Debug, Clone)]
pub struct Order {
    /// Key.
    #[key]
    pub order_id: String,
    /// Its lines.
    pub lines: Vec<OrderLine>,
}

/// One line of an order.
#[moose::data_model]
#[derive(Debug, Clone)]
pub struct OrderLine {
    /// Product.
    pub sku: String,
    /// How many.
    pub quantity: u32,
}

/// One row per order line.
#[moose::data_model]
#[derive(Debug, Clone)]
pub struct LineRow {
    /// Key: the order.
    #[key]
    pub order_id: String,
    /// Position in the order.
    #[key]
    pub position: u32,
    /// Product.
    pub sku: String,
    /// How many.
    pub quantity: u32,
}

/// MooseStack's fan-out case: a transform returning a `Vec` turns one posted record with an
/// array of 5 into 5 rows, each exactly once, with its own values.
pub async fn an_array_field_fans_out_into_one_row_per_element(backend: Backend) {
    use moose::prelude::*;
    let ch = TestClickHouse::start().await;
    let deployment = backend.deploy(&ch);
    let app = pipeline! {
        orders: IngestPipeline<Order> { ingest: true, stream: true, table: false },
        order_lines: IngestPipeline<LineRow> { ingest: false, stream: true, table: true },
        orders => transform(split_lines) => order_lines,
    };
    let runtime = deployment.start(&app).await;
    let client = reqwest::Client::new();
    let lines: Vec<Value> = (0..5)
        .map(|i| json!({"sku": format!("sku-{i}"), "quantity": i + 1}))
        .collect();
    let (status, body) = post_json(
        &client,
        runtime.http_addr().expect("the runtime serves HTTP"),
        "/ingest/orders",
        json!({"order_id": "o-1", "lines": lines}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let rows = wait_rows(
        &ch,
        "SELECT order_id, position, sku, quantity FROM local.order_lines ORDER BY position",
        5,
    )
    .await;
    let expected: Vec<Value> = (0..5)
        .map(|i| json!({"order_id": "o-1", "position": i, "sku": format!("sku-{i}"), "quantity": i + 1}))
        .collect();
    assert_eq!(rows, expected);
    runtime.shutdown().await;
}

/// The fan-out transform: one row per line.
fn split_lines(order: Order) -> Vec<LineRow> {
    order
        .lines
        .into_iter()
        .enumerate()
        .map(|(position, line)| LineRow {
            order_id: order.order_id.clone(),
            position: position as u32,
            sku: line.sku,
            quantity: line.quantity,
        })
        .collect()
}
