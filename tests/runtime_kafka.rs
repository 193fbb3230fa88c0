//! The product on Kafka: every seed example on Apache Kafka 4.4 (KRaft, one node) and a
//! real ClickHouse with the embedded-log tests' assertions; two instances sharing the work
//! through consumer groups; a Kafka client that is not ours reading and writing topics; and
//! a broker outage that loses nothing that got a 200.

mod common;
#[path = "common/seed.rs"]
mod seed;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::app::{ChildApp, child_main, free_addr, is_child, post_json};
use common::clickhouse::TestClickHouse;
use common::kafka::TestKafka;
use moose::prelude::*;
use moose::runtime::stream::{MemberId, StreamBackend as _};
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
async fn a_batch_with_bad_records_is_refused_whole_and_never_lands() {
    seed::a_batch_with_bad_records_is_refused_whole_and_never_lands(Backend::Kafka).await;
}

// --- scale-out ------------------------------------------------------------------------------

/// A reading posted to either instance.
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    #[key]
    pub id: String,
    pub value: f64,
}

/// A reading as it lands: stamped with the instance that transformed it.
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct Landed {
    #[key]
    pub id: String,
    pub value: f64,
    pub instance: String,
}

fn stamp(reading: Reading) -> Landed {
    Landed {
        id: reading.id,
        value: reading.value,
        instance: std::env::var("MOOSE_TEST_INSTANCE").unwrap_or_default(),
    }
}

fn scale_out_app() -> App {
    pipeline! {
        readings: IngestPipeline<Reading> { ingest: true, stream: true, table: false, parallelism: 4 },
        landed: IngestPipeline<Landed> { ingest: false, stream: true, table: true, parallelism: 4 },
        readings => transform(stamp) => landed,
    }
}

/// Entry point of the scale-out instances.
#[test]
#[ignore = "run only as a child process by the scale-out test"]
fn child_scale_out_app() {
    if is_child() {
        child_main(scale_out_app());
    }
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

/// Posts `ids` (value = the id's number) to `addr`, in batches of 50; panics unless every
/// batch gets a 200.
async fn post_readings(addr: SocketAddr, ids: &[String]) {
    let client = reqwest::Client::new();
    for chunk in ids.chunks(50) {
        let body: Vec<Value> = chunk
            .iter()
            .map(|id| json!({"id": id, "value": reading_value(id)}))
            .collect();
        let (status, body) = post_json(
            &client,
            addr,
            "/ingest/readings",
            Value::Array(body).to_string(),
        )
        .await;
        assert_eq!(status, 200, "ingest at {addr}: {body}");
    }
}

fn reading_value(id: &str) -> f64 {
    id.rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse::<f64>()
        .unwrap()
        + 0.25
}

fn ids(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i:06}")).collect()
}

/// `(id, value, instance)` rows of the landed table.
async fn landed_rows(ch: &TestClickHouse) -> Vec<(String, f64, String)> {
    ch.client
        .query_json("SELECT id, value, instance FROM local.landed")
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                as_f64(&r["value"]),
                r["instance"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Waits until every id in `ids` has landed (or [`GUARD`] passed); all rows then.
async fn wait_landed(ch: &TestClickHouse, ids: &[String]) -> Vec<(String, f64, String)> {
    let start = Instant::now();
    loop {
        let rows = landed_rows(ch).await;
        let have: BTreeSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        if ids.iter().all(|id| have.contains(id.as_str())) || start.elapsed() > GUARD {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Partition of every record in the `readings` topic, read with a group of its own.
async fn partitions_of(broker: &TestKafka, count: usize) -> HashMap<String, u32> {
    let backend = broker.backend().await;
    let mut consumer = backend
        .consumer("readings", "test.partitions", MemberId::SOLE)
        .await
        .unwrap();
    let mut out = HashMap::new();
    let start = Instant::now();
    while out.len() < count && start.elapsed() < GUARD {
        for r in consumer
            .poll(10_000, Duration::from_millis(500))
            .await
            .unwrap()
        {
            let body: Value = serde_json::from_slice(&r.payload).unwrap();
            out.insert(body["id"].as_str().unwrap().to_owned(), r.partition);
        }
    }
    out
}

/// Which instances transformed the records of each partition, among `ids`.
fn instances_per_partition(
    rows: &[(String, f64, String)],
    ids: &[String],
    partition_of: &HashMap<String, u32>,
) -> BTreeMap<u32, BTreeSet<String>> {
    let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    let mut out: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    for (id, _, instance) in rows.iter().filter(|r| wanted.contains(r.0.as_str())) {
        out.entry(partition_of[id])
            .or_default()
            .insert(instance.clone());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_a_4_partition_stream_and_one_takes_over_when_the_other_dies() {
    if is_child() {
        return;
    }
    let ch = TestClickHouse::start().await;
    let broker = TestKafka::start();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut env_a = kafka_env(&ch, &broker, dir_a.path());
    env_a.push(("MOOSE_TEST_INSTANCE", "a".into()));
    let mut env_b = kafka_env(&ch, &broker, dir_b.path());
    env_b.push(("MOOSE_TEST_INSTANCE", "b".into()));
    let a = ChildApp::spawn("child_scale_out_app", &env_a, free_addr());
    let b = ChildApp::spawn("child_scale_out_app", &env_b, free_addr());
    let (addr_a, addr_b) = (a.addr, b.addr);

    // Warm-up rounds until the groups have settled: both instances transform, and a round's
    // partitions went to the same instances as the round before.
    let mut previous: Option<BTreeMap<u32, BTreeSet<String>>> = None;
    let mut round = 0;
    let start = Instant::now();
    loop {
        let warm = ids(&format!("w{round}-"), 0..200);
        post_readings(if round % 2 == 0 { addr_a } else { addr_b }, &warm).await;
        let rows = wait_landed(&ch, &warm).await;
        let partition_of = partitions_of(&broker, (round + 1) * 200).await;
        let owners = instances_per_partition(&rows, &warm, &partition_of);
        let settled = owners.len() == 4
            && owners.values().all(|i| i.len() == 1)
            && owners.values().flatten().collect::<BTreeSet<_>>().len() == 2;
        if settled && previous.as_ref() == Some(&owners) {
            break;
        }
        assert!(
            start.elapsed() < GUARD,
            "the groups did not settle with both instances: {owners:?}"
        );
        previous = Some(owners);
        round += 1;
    }
    let warm_count = (round + 1) * 200;

    // Records posted to both instances land exactly as posted; each partition is transformed
    // by one instance, and both instances have partitions.
    let to_a = ids("a", 0..1000);
    let to_b = ids("b", 0..1000);
    let (_, _) = tokio::join!(post_readings(addr_a, &to_a), post_readings(addr_b, &to_b));
    let posted: Vec<String> = to_a.iter().chain(&to_b).cloned().collect();
    let rows = wait_landed(&ch, &posted).await;
    let wanted: BTreeSet<&str> = posted.iter().map(String::as_str).collect();
    let mut landed: Vec<(String, f64)> = rows
        .iter()
        .filter(|r| wanted.contains(r.0.as_str()))
        .map(|r| (r.0.clone(), r.1))
        .collect();
    landed.sort_by(|x, y| x.0.cmp(&y.0));
    let mut expected: Vec<(String, f64)> = posted
        .iter()
        .map(|id| (id.clone(), reading_value(id)))
        .collect();
    expected.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(landed, expected, "every record lands once, as posted");
    let partition_of = partitions_of(&broker, warm_count + posted.len()).await;
    let owners = instances_per_partition(&rows, &posted, &partition_of);
    assert_eq!(owners.len(), 4, "records spread over the 4 partitions");
    for (partition, instances) in &owners {
        assert_eq!(
            instances.len(),
            1,
            "partition {partition} was transformed by one instance: {instances:?}"
        );
    }
    let owner_of: BTreeMap<u32, String> = owners
        .iter()
        .map(|(p, i)| (*p, i.iter().next().unwrap().clone()))
        .collect();
    let b_partitions: BTreeSet<u32> = owner_of
        .iter()
        .filter(|(_, i)| i.as_str() == "b")
        .map(|(p, _)| *p)
        .collect();
    assert!(
        !b_partitions.is_empty() && b_partitions.len() < 4,
        "both instances own partitions: {owner_of:?}"
    );

    // Kill b: a takes over b's partitions; nothing posted is lost.
    tokio::task::spawn_blocking(move || b.kill9())
        .await
        .unwrap();
    let killed = Instant::now();
    let after = ids("c", 0..1000);
    post_readings(addr_a, &after).await;
    let rows = wait_landed(&ch, &after).await;
    eprintln!(
        "scale-out: {warm_count} warm-up + {} records over two instances, partitions {owner_of:?}; \
         after b's kill -9 the {} records posted to a landed within {:.1} s",
        posted.len(),
        after.len(),
        killed.elapsed().as_secs_f64()
    );
    let have: BTreeSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let missing: Vec<&String> = posted
        .iter()
        .chain(&after)
        .filter(|id| !have.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} records lost after the kill, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let partition_of = partitions_of(&broker, warm_count + posted.len() + after.len()).await;
    let owners = instances_per_partition(&rows, &after, &partition_of);
    for partition in &b_partitions {
        assert_eq!(
            owners
                .get(partition)
                .map(|i| i.iter().cloned().collect::<Vec<_>>()),
            Some(vec!["a".to_owned()]),
            "instance a took over partition {partition} of the killed instance"
        );
    }
    drop(a);
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
        runtime.http_addr,
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
        "SELECT id, tripled_value FROM local.final_stream WHERE id LIKE 'theirs%'",
        20,
    )
    .await;
    let landed: BTreeMap<String, f64> = rows
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                as_f64(&r["tripled_value"]),
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
        runtime.http_addr,
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
    let plan = moose::runtime::runtime::plan_app(&app, &deployment.config)
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
    let plan = moose::runtime::runtime::plan_app(&app, &deployment.config)
        .await
        .unwrap();
    assert!(plan.is_empty(), "{plan}");
}
