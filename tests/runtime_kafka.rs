//! The product on Kafka: every seed example on Apache Kafka 4.4 (KRaft, one node) and a
//! real ClickHouse with the embedded-log tests' assertions; `plan` reading the topics; Kafka's
//! own console clients and kafka-python reading and writing topics; and a broker outage that
//! loses nothing that got a 200. (Three brokers, several instances, partitions added while
//! records flow, and authentication have files of their own: `tests/kafka_*.rs`.)
//!
//! Over 400 lines: each seed example and each foreign Kafka client on the same broker harness.

mod common;
#[path = "common/seed.rs"]
mod seed;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::app::{ChildApp, child_main, free_addr, is_child, post_json};
use common::clickhouse::TestClickHouse;
use common::kafka::TestKafka;
use seed::{Backend, as_f64, chained_transforms};
use serde_json::{Value, json};

/// Deadlock guard for loops that wait for something to happen; never reached when it works.
const GUARD: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chained_transforms_land_doubled_then_tripled() {
    seed::chained_transforms_land_doubled_then_tripled(Backend::Kafka).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_seed_example_lands_its_rows() {
    seed::every_seed_example_lands_its_rows(Backend::Kafka).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_array_field_fans_out_into_one_row_per_element() {
    seed::an_array_field_fans_out_into_one_row_per_element(Backend::Kafka).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_bad_records_is_refused_whole_and_never_lands() {
    seed::a_batch_with_bad_records_is_refused_whole_and_never_lands(Backend::Kafka).await;
}

/// Entry point of the broker outage test's app.
#[test]
#[ignore = "run only as a child process by the broker outage test"]
fn child_chained_app() {
    if is_child() {
        child_main(chained_transforms::app());
    }
}

fn kafka_env(
    ch: &TestClickHouse,
    broker: &TestKafka,
    dir: &std::path::Path,
) -> Vec<(&'static str, String)> {
    vec![
        ("MOOSE_CLICKHOUSE_URL", ch.server.http_url()),
        ("MOOSE_DATA_DIR", dir.display().to_string()),
        ("MOOSE_SYNC_MAX_DELAY_MS", "200".into()),
        ("MOOSE_KAFKA_BROKERS", broker.brokers()),
        // A killed instance's partitions move after 6 s instead of librdkafka's 45 s.
        ("MOOSE_KAFKA_CONFIG", "session.timeout.ms=6000".into()),
    ]
}

// --- a client that is not ours ----------------------------------------------------------------

/// Runs `script` with python3 (kafka-python, installed by scripts/setup.sh); its stdout.
fn python(script: &str, args: &[&str]) -> String {
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 is required (scripts/setup.sh installs it)");
    assert!(
        output.status.success(),
        "python3 failed (kafka-python is installed by scripts/setup.sh):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

const PYTHON_READ: &str = r#"
import json, sys
from kafka import KafkaConsumer, TopicPartition
brokers, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
consumer = KafkaConsumer(bootstrap_servers=brokers, group_id=None, auto_offset_reset="earliest",
                         enable_auto_commit=False, consumer_timeout_ms=20000)
partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
consumer.assign(partitions)
consumer.seek_to_beginning()
out = []
for message in consumer:
    out.append({"key": message.key.decode(), "value": json.loads(message.value)})
    if len(out) >= n:
        break
print(json.dumps(out))
"#;

const PYTHON_WRITE: &str = r#"
import json, sys
from kafka import KafkaProducer
brokers, topic, records = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
producer = KafkaProducer(bootstrap_servers=brokers, acks="all")
for record in records:
    producer.send(topic, key=record["id"].encode(), value=json.dumps(record).encode())
producer.flush()
print("sent", len(records))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_reads_the_documented_json_and_its_records_are_transformed() {
    let ch = TestClickHouse::start().await;
    let deployment = Backend::Kafka.deploy(&ch);
    let broker = deployment.broker.as_ref().unwrap().brokers();
    let runtime = deployment.start(&chained_transforms::app()).await;
    let client = reqwest::Client::new();
    let ours: Vec<Value> = (0..20)
        .map(|i| json!({"id": format!("ours{i}"), "value": i as f64 + 0.5}))
        .collect();
    let (status, _) = post_json(
        &client,
        runtime.http_addr().expect("the runtime serves HTTP"),
        "/ingest/raw_data",
        Value::Array(ours.clone()).to_string(),
    )
    .await;
    assert_eq!(status, 200);

    // kafka-python reads the topic: one JSON object per record, keyed by the id.
    let read =
        tokio::task::spawn_blocking(move || python(PYTHON_READ, &[&broker, "raw_data", "20"]))
            .await
            .unwrap();
    let read: Vec<Value> = serde_json::from_str(read.trim()).unwrap();
    let mut got: Vec<(String, Value)> = read
        .iter()
        .map(|m| (m["key"].as_str().unwrap().to_owned(), m["value"].clone()))
        .collect();
    got.sort_by(|x, y| x.0.cmp(&y.0));
    let mut expected: Vec<(String, Value)> = ours
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r.clone()))
        .collect();
    expected.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        got, expected,
        "kafka-python reads one JSON object per record (the model's serde form), keyed by id"
    );

    // kafka-python writes to the stream: its records are transformed and land.
    let theirs: Vec<Value> = (0..20)
        .map(|i| json!({"id": format!("theirs{i}"), "value": i}))
        .collect();
    let broker = deployment.broker.as_ref().unwrap().brokers();
    let payload = Value::Array(theirs.clone()).to_string();
    tokio::task::spawn_blocking(move || python(PYTHON_WRITE, &[&broker, "raw_data", &payload]))
        .await
        .unwrap();
    let rows = seed::wait_rows(
        &ch,
        "SELECT id, anotherTransformedValue FROM local.final_stream WHERE id LIKE 'theirs%'",
        20,
    )
    .await;
    let landed: BTreeMap<String, f64> = rows
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                as_f64(&r["anotherTransformedValue"]),
            )
        })
        .collect();
    let expected: BTreeMap<String, f64> = (0..20)
        .map(|i| (format!("theirs{i}"), i as f64 * 6.0))
        .collect();
    assert_eq!(
        landed, expected,
        "records written by kafka-python are transformed and land"
    );
    runtime.shutdown().await;
}

/// Kafka's own console consumer reads our records (key = the model key, value = its JSON), and
/// what its console producer writes is transformed and lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafkas_console_clients_read_our_json_and_their_records_land() {
    let ch = TestClickHouse::start().await;
    let deployment = Backend::Kafka.deploy(&ch);
    let runtime = deployment.start(&chained_transforms::app()).await;
    let client = reqwest::Client::new();
    let ours: Vec<Value> = (0..10)
        .map(|i| json!({"id": format!("ours{i}"), "value": i as f64 + 0.5}))
        .collect();
    let (status, _) = post_json(
        &client,
        runtime.http_addr().expect("the runtime serves HTTP"),
        "/ingest/raw_data",
        Value::Array(ours.clone()).to_string(),
    )
    .await;
    assert_eq!(status, 200);

    let kafka = deployment.broker.as_ref().unwrap();
    let brokers = kafka.brokers();
    let read = tokio::task::block_in_place(|| {
        kafka.tool(
            "org.apache.kafka.tools.consumer.ConsoleConsumer",
            &[
                "--bootstrap-server",
                &brokers,
                "--topic",
                "raw_data",
                "--from-beginning",
                "--max-messages",
                "10",
                "--timeout-ms",
                "60000",
                "--formatter-property",
                "print.key=true",
                "--formatter-property",
                "key.separator=|",
            ],
            "",
        )
    });
    let mut got: Vec<(String, Value)> = read
        .lines()
        .map(|line| {
            let (key, value) = line
                .split_once('|')
                .unwrap_or_else(|| panic!("key|value: {line}"));
            (key.to_owned(), serde_json::from_str(value).unwrap())
        })
        .collect();
    got.sort_by(|x, y| x.0.cmp(&y.0));
    let mut expected: Vec<(String, Value)> = ours
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r.clone()))
        .collect();
    expected.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(got, expected, "the console consumer reads JSON keyed by id");

    let theirs: String = (0..10)
        .map(|i| {
            format!(
                "console{i}|{}\n",
                json!({"id": format!("console{i}"), "value": i})
            )
        })
        .collect();
    tokio::task::block_in_place(|| {
        kafka.tool(
            "org.apache.kafka.tools.ConsoleProducer",
            &[
                "--bootstrap-server",
                &brokers,
                "--topic",
                "raw_data",
                "--reader-property",
                "parse.key=true",
                "--reader-property",
                "key.separator=|",
                "--command-property",
                "acks=all",
            ],
            &theirs,
        )
    });
    let rows = seed::wait_rows(
        &ch,
        "SELECT id FROM local.final_stream WHERE id LIKE 'console%' ORDER BY id",
        10,
    )
    .await;
    let landed: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let expected: Vec<String> = (0..10).map(|i| format!("console{i}")).collect();
    assert_eq!(landed, expected, "records the console producer wrote land");
    runtime.shutdown().await;
}

// --- broker outage ----------------------------------------------------------------------------

/// Posts one batch of 20 new ids; the status (0: no answer) and the ids.
async fn post_batch(
    client: &reqwest::Client,
    addr: SocketAddr,
    next: &mut usize,
) -> (u16, Vec<String>) {
    let ids: Vec<String> = (*next..*next + 20).map(|i| format!("k{i:08}")).collect();
    *next += 20;
    let body: Vec<Value> = ids.iter().map(|id| json!({"id": id, "value": 1})).collect();
    let (status, _) = post_json(
        client,
        addr,
        "/ingest/raw_data",
        Value::Array(body).to_string(),
    )
    .await;
    (status, ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_ingest_answers_503_and_everything_acked_lands_after_it_returns() {
    if is_child() {
        return;
    }
    let ch = TestClickHouse::start().await;
    let mut broker = TestKafka::start();
    let dir = tempfile::tempdir().unwrap();
    let env = kafka_env(&ch, &broker, dir.path());
    let app = ChildApp::spawn("child_chained_app", &env, free_addr());
    // Longer than the producer's delivery timeout, so every request gets its answer.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut next = 0;
    let mut acked: Vec<String> = Vec::new();
    let mut statuses: Vec<u16> = Vec::new();

    // Up: records arrive and are acknowledged.
    for _ in 0..20 {
        let (status, ids) = post_batch(&client, app.addr, &mut next).await;
        assert_eq!(status, 200, "ingest works while the broker is up");
        acked.extend(ids);
    }

    // Down: records keep arriving; ingest refuses them with 503, never 200.
    broker.stop();
    let down = Instant::now();
    let mut refused = 0;
    while refused < 3 {
        let (status, ids) = post_batch(&client, app.addr, &mut next).await;
        statuses.push(status);
        match status {
            200 => acked.extend(ids),
            503 => refused += 1,
            other => panic!("ingest answered {other} while the broker was down"),
        }
        assert!(
            down.elapsed() < GUARD,
            "ingest never answered 503: {statuses:?}"
        );
    }
    let acked_while_down = statuses.iter().filter(|s| **s == 200).count();

    // Back: ingest accepts again by itself, and everything acked lands.
    broker.restart();
    let back = Instant::now();
    loop {
        let (status, ids) = post_batch(&client, app.addr, &mut next).await;
        if status == 200 {
            acked.extend(ids);
            break;
        }
        assert!(
            back.elapsed() < GUARD,
            "ingest did not recover after the broker returned"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for _ in 0..10 {
        let (status, ids) = post_batch(&client, app.addr, &mut next).await;
        assert_eq!(
            status, 200,
            "ingest keeps working after the broker returned"
        );
        acked.extend(ids);
    }
    let start = Instant::now();
    let landed = loop {
        let landed: BTreeSet<String> = ch
            .client
            .query_json("SELECT DISTINCT id FROM local.final_stream")
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        if acked.iter().all(|id| landed.contains(id)) || start.elapsed() > GUARD {
            break landed;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let missing: Vec<&String> = acked.iter().filter(|id| !landed.contains(*id)).collect();
    eprintln!(
        "broker outage: {} records acknowledged, {acked_while_down} requests answered 200 while the \
         broker was down, {refused} answered 503, {} missing",
        acked.len(),
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "{} acknowledged records never landed, e.g. {:?} (200s while down: {acked_while_down})",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    drop(app);
}

// --- plan ---------------------------------------------------------------------------------------

/// `plan` with brokers configured reads the topics on Kafka, as `start` would use them: all
/// three topics to create before the first start, nothing to change after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_reads_the_topics_on_kafka() {
    let ch = TestClickHouse::start().await;
    let deployment = Backend::Kafka.deploy(&ch);
    let app = chained_transforms::app();
    let plan = moose_runtime::runtime::plan_app(&app, &deployment.config)
        .await
        .unwrap();
    let mut topics: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| s.resource.as_str() == "topic")
        .map(|s| format!("{} {}", s.sign(), s.name))
        .collect();
    topics.sort();
    assert_eq!(
        topics,
        ["+ final_stream", "+ intermediate_stream", "+ raw_data"]
    );
    deployment.start(&app).await.shutdown().await;
    let plan = moose_runtime::runtime::plan_app(&app, &deployment.config)
        .await
        .unwrap();
    assert!(plan.is_empty(), "{plan}");
}
