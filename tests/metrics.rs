//! `/metrics`, `/stats` and `/ready` on the seed's chained pipeline with a real ClickHouse:
//! the counts match what was posted, a failing transform shows in its errors and dead
//! letters, and a ClickHouse outage shows as insert failures, growing lag and a 503 from
//! `/ready` naming the sync, all draining back to lag 0 and ready once the server returns.

mod common;
#[path = "common/seed.rs"]
mod seed;

use std::time::{Duration, Instant};

use moose::prelude::*;
use seed::chained_transforms::{self, FinalData, IntermediateData, RawData, triple};
use seed::{Backend, Deployment};
use serde_json::{Value, json};

use common::app::{free_addr, post_json, test_config};
use common::clickhouse::TestClickHouse;

/// Deadlock guard for waits; never reached when things work.
const GUARD: Duration = Duration::from_secs(90);

/// The seed's chained pipeline, its first step failing for value 13 (into a dead-letter
/// queue): the builder twin of `chained_transforms::app()` plus that queue.
fn app() -> App {
    let app = App::new();
    let raw = app
        .ingest_pipeline::<RawData>(
            "raw_data",
            IngestPipelineConfig::new().ingest(true).stream(true),
        )
        .unwrap();
    let failed = app
        .ingest_pipeline::<DeadLetter>(
            "failed",
            IngestPipelineConfig::new().stream(true).table(true),
        )
        .unwrap();
    let intermediate = app
        .stream::<IntermediateData>("intermediate_stream", StreamConfig::default())
        .unwrap();
    let fin = app
        .ingest_pipeline::<FinalData>(
            "final_stream",
            IngestPipelineConfig::new().stream(true).table(true),
        )
        .unwrap();
    raw.stream()
        .unwrap()
        .add_transform_with(
            &intermediate,
            |r: RawData| {
                if r.value == 13.0 {
                    Err("13 is unlucky")
                } else {
                    Ok(chained_transforms::double(r))
                }
            },
            TransformConfig::default().dead_letter_queue(failed.name.as_str()),
        )
        .unwrap();
    intermediate
        .add_transform(fin.stream().unwrap(), triple)
        .unwrap();
    app
}

/// The value of the sample `name{labels}` in Prometheus text (labels as written, sorted as
/// the encoder writes them); 0 when absent.
fn sample(text: &str, name: &str, labels: &str) -> f64 {
    let prefix = if labels.is_empty() {
        format!("{name} ")
    } else {
        format!("{name}{{{labels}}} ")
    };
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

struct Probe {
    client: reqwest::Client,
    addr: std::net::SocketAddr,
}

impl Probe {
    async fn metrics(&self) -> String {
        let response = self
            .client
            .get(format!("http://{}/metrics", self.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        response.text().await.unwrap()
    }

    async fn stats(&self) -> Value {
        self.client
            .get(format!("http://{}/stats", self.addr))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn ready(&self) -> (u16, Value) {
        let response = self
            .client
            .get(format!("http://{}/ready", self.addr))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Polls `/metrics` until `done` holds for it.
    async fn until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let text = self.metrics().await;
            if done(&text) {
                return text;
            }
            assert!(
                start.elapsed() < GUARD,
                "timed out waiting for {what}:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn lag_total(text: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with("moose_consumer_lag_records{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_embedded_log_metrics_count_what_was_posted_and_show_an_outage_until_it_drains() {
    counts_and_outage(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_kafka_metrics_count_what_was_posted_and_show_an_outage_until_it_drains() {
    counts_and_outage(Backend::Kafka).await;
}

async fn counts_and_outage(backend: Backend) {
    let mut ch = TestClickHouse::start().await;
    let mut deployment: Deployment = backend.deploy(&ch);
    deployment.config.unready_after = Duration::from_secs(1);
    let runtime = deployment.start(&app()).await;
    let probe = Probe {
        client: reqwest::Client::new(),
        addr: runtime.http_addr().unwrap(),
    };

    // 300 records in 3 requests, one of them the unlucky 13.
    const N: usize = 300;
    for batch in 0..3 {
        let records: Vec<Value> = (0..100)
            .map(|i| json!({"id": format!("r{}", batch * 100 + i), "value": batch * 100 + i}))
            .collect();
        let (status, body) = post_json(
            &probe.client,
            probe.addr,
            "/ingest/raw_data",
            Value::Array(records).to_string(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let text = probe
        .until("every row synced and lag 0", |t| {
            sample(t, "moose_sync_rows_total", r#"table="final_stream""#) == (N - 1) as f64
                && sample(t, "moose_sync_rows_total", r#"table="failed""#) == 1.0
                && lag_total(t) == 0.0
                && t.contains("moose_consumer_lag_records{")
        })
        .await;
    let route = r#"route="/ingest/raw_data""#;
    assert_eq!(sample(&text, "moose_ingest_records_total", route), N as f64);
    assert_eq!(
        sample(
            &text,
            "moose_ingest_requests_total",
            r#"route="/ingest/raw_data",status="200""#
        ),
        3.0
    );
    assert!(sample(&text, "moose_ingest_bytes_total", route) > (N * 20) as f64);
    assert_eq!(
        sample(&text, "moose_ingest_request_duration_seconds_count", route),
        3.0
    );
    assert_eq!(
        sample(&text, "moose_stream_records_total", r#"stream="raw_data""#),
        N as f64
    );
    assert_eq!(
        sample(
            &text,
            "moose_stream_records_total",
            r#"stream="intermediate_stream""#
        ),
        (N - 1) as f64
    );
    let first = r#"transform="raw_data->intermediate_stream""#;
    let second = r#"transform="intermediate_stream->final_stream""#;
    assert_eq!(
        sample(&text, "moose_transform_records_in_total", first),
        N as f64
    );
    assert_eq!(
        sample(&text, "moose_transform_records_out_total", first),
        (N - 1) as f64
    );
    assert_eq!(sample(&text, "moose_transform_errors_total", first), 1.0);
    assert_eq!(
        sample(&text, "moose_transform_records_in_total", second),
        (N - 1) as f64
    );
    assert_eq!(
        sample(&text, "moose_transform_records_out_total", second),
        (N - 1) as f64
    );
    assert_eq!(sample(&text, "moose_transform_errors_total", second), 0.0);
    assert_eq!(
        sample(
            &text,
            "moose_dead_letters_total",
            r#"queue="failed",source="raw_data->intermediate_stream""#
        ),
        1.0
    );
    assert!(sample(&text, "moose_sync_batches_total", r#"table="final_stream""#) >= 1.0);
    assert!(sample(&text, "process_resident_memory_bytes", "") > 0.0);
    assert!(text.contains("moose_build_info{version=\""), "{text}");
    let name = match backend {
        Backend::Embedded => "embedded",
        Backend::Kafka => "kafka",
    };
    assert!(text.contains(&format!("backend=\"{name}\"")), "{text}");

    // /stats reads the same counters, by topology.
    let stats = probe.stats().await;
    assert_eq!(stats["routes"][0]["records"], N);
    assert_eq!(stats["transforms"][0]["errors"], 1);
    assert_eq!(stats["transforms"][0]["dead_letters"], 1);
    assert_eq!(stats["syncs"].as_array().unwrap().len(), 2);
    assert_eq!(stats["ready"]["ready"], true);
    assert_eq!(probe.ready().await.0, 200);

    // ClickHouse goes away: inserts fail, lag grows, /ready says why.
    ch.server.kill().unwrap();
    let records: Vec<Value> = (0..50)
        .map(|i| json!({"id": format!("late{i}"), "value": 1000 + i}))
        .collect();
    let (status, _) = post_json(
        &probe.client,
        probe.addr,
        "/ingest/raw_data",
        Value::Array(records).to_string(),
    )
    .await;
    assert_eq!(status, 200, "ingest does not need ClickHouse");
    probe
        .until("insert failures and lag during the outage", |t| {
            sample(
                t,
                "moose_sync_insert_failures_total",
                r#"table="final_stream""#,
            ) > 0.0
                && lag_total(t) >= 50.0
        })
        .await;
    let start = Instant::now();
    let (status, body) = loop {
        let (status, body) = probe.ready().await;
        if status == 503 || start.elapsed() > GUARD {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status, 503, "{body}");
    let reasons = body["reasons"].to_string();
    assert!(
        reasons.contains("final_stream -> `local`.`final_stream`")
            && reasons.contains("has been failing for"),
        "{body}"
    );

    // It returns: everything drains, lag 0, ready again.
    ch.server.restart().unwrap();
    probe
        .until("drained after the outage", |t| {
            sample(t, "moose_sync_rows_total", r#"table="final_stream""#) == (N - 1 + 50) as f64
                && lag_total(t) == 0.0
        })
        .await;
    let start = Instant::now();
    while probe.ready().await.0 != 200 {
        assert!(start.elapsed() < GUARD, "ready again after the outage");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    runtime.shutdown().await;
}

#[tokio::test]
async fn metrics_and_stats_are_behind_the_ingest_token() {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    config.ingest.tokens = vec!["secret".into()];
    let runtime = Runtime::start(&chained_transforms::app(), &config, Mode::Dev)
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let addr = runtime.http_addr().unwrap();
    for path in ["/metrics", "/stats"] {
        let url = format!("http://{addr}{path}");
        assert_eq!(
            client.get(&url).send().await.unwrap().status(),
            401,
            "{path}"
        );
        assert_eq!(
            client
                .get(&url)
                .bearer_auth("secret")
                .send()
                .await
                .unwrap()
                .status(),
            200,
            "{path}"
        );
    }
    runtime.shutdown().await;
}
