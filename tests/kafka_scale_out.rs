//! Scale-out on Kafka's real group protocol: three app instances in one consumer group share a
//! 6-partition stream on Apache Kafka; records are posted to all three; mid-run one instance is
//! killed with SIGKILL and another stopped gracefully. Every acknowledged record lands as
//! posted, each partition is worked by one instance at a time, and the groups' lag returns to
//! zero. Prints the takeover time and the session timeout used.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::app::{ChildApp, child_main, free_addr, is_child};
use common::clickhouse::TestClickHouse;
use common::kafka::TestKafka;
use common::ledger::Ledger;
use moose::prelude::*;
use moose_runtime::stream::{MemberId, StreamBackend as _};
use serde_json::Value;

/// Deadlock guard; never reached when things work.
const GUARD: Duration = Duration::from_secs(180);

/// The group session timeout the instances use: a killed member's partitions move after it.
const SESSION_TIMEOUT_MS: u64 = 6000;

/// Partitions of the streams, and members per instance in each group.
const PARALLELISM: usize = 6;

/// A reading posted to any instance.
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    #[key]
    pub id: String,
    pub value: f64,
}

/// A reading as it lands: stamped with the instance that transformed it, and when.
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct Landed {
    #[key]
    pub id: String,
    pub value: f64,
    pub instance: String,
    pub transformed_at_ms: u64,
}

fn stamp(reading: Reading) -> Landed {
    Landed {
        id: reading.id,
        value: reading.value,
        instance: std::env::var("MOOSE_TEST_INSTANCE").unwrap_or_default(),
        transformed_at_ms: now_ms(),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn app() -> App {
    pipeline! {
        readings: IngestPipeline<Reading> { ingest: true, stream: true, table: false, parallelism: 6 },
        landed: IngestPipeline<Landed> { ingest: false, stream: true, table: true, parallelism: 6 },
        readings => transform(stamp) => landed,
    }
}

/// Entry point of the instances.
#[test]
#[ignore = "run only as a child process by the scale-out test"]
fn child_instance() {
    if is_child() {
        child_main(app());
    }
}

/// A landed row.
#[derive(Debug, Clone)]
struct Row {
    id: String,
    instance: String,
    at_ms: u64,
}

async fn rows(ch: &TestClickHouse) -> Vec<Row> {
    ch.client
        .query_json("SELECT id, instance, transformed_at_ms FROM local.landed")
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|r| Row {
            id: r["id"].as_str().unwrap().to_owned(),
            instance: r["instance"].as_str().unwrap().to_owned(),
            at_ms: r["transformed_at_ms"]
                .as_u64()
                .or_else(|| r["transformed_at_ms"].as_str()?.parse().ok())
                .unwrap(),
        })
        .collect()
}

/// The partition of every id in `ids`, read back from the `readings` topic.
async fn partitions_of(kafka: &TestKafka, ids: &BTreeSet<String>) -> HashMap<String, u32> {
    let backend = kafka.backend().await;
    let mut consumer = backend
        .consumer("readings", "test.partitions", MemberId::SOLE)
        .await
        .unwrap();
    let mut out = HashMap::new();
    let start = Instant::now();
    while ids.iter().any(|id| !out.contains_key(id)) && start.elapsed() < GUARD {
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

/// Posts batches of 20 to one instance until `stop` is set or the instance stops answering.
fn ingest(
    addr: SocketAddr,
    prefix: &'static str,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Ledger> {
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let mut ledger = Ledger::default();
        while !stop.load(Ordering::Relaxed) {
            match ledger
                .post(&client, addr, "/ingest/readings", prefix, 20)
                .await
            {
                200 => {}
                // The instance was killed or is shutting down: its poster stops.
                0 | 503 => return ledger,
                other => panic!("instance {prefix} answered {other}"),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        ledger
    })
}

/// Lag per partition of `group` on `topic`, from Kafka's own consumer-group tool.
fn lag(kafka: &TestKafka, group: &str) -> Vec<u64> {
    let out = kafka.tool(
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        &[
            "--bootstrap-server",
            &kafka.brokers(),
            "--describe",
            "--group",
            group,
        ],
        "",
    );
    let mut lines = out.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .find(|l| l.contains("LAG"))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    let column = header.iter().position(|h| *h == "LAG");
    lines
        .filter_map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            // "-" (nothing committed yet) counts as not caught up.
            Some(cells.get(column?)?.parse().unwrap_or(u64::MAX))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_six_partitions_and_survive_a_kill_and_a_graceful_stop() {
    if is_child() {
        return;
    }
    let kafka = tokio::task::spawn_blocking(TestKafka::start).await.unwrap();
    let ch = TestClickHouse::start().await;
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut instances = Vec::new();
    for (name, dir) in ["a", "b", "c"].into_iter().zip(&dirs) {
        let env = vec![
            ("MOOSE_CLICKHOUSE_URL", ch.server.http_url()),
            ("MOOSE_DATA_DIR", dir.path().display().to_string()),
            ("MOOSE_SYNC_MAX_DELAY_MS", "200".into()),
            ("MOOSE_KAFKA_BROKERS", kafka.brokers()),
            (
                "MOOSE_KAFKA_CONFIG",
                format!("session.timeout.ms={SESSION_TIMEOUT_MS}"),
            ),
            ("MOOSE_TEST_INSTANCE", name.to_owned()),
        ];
        let app = tokio::task::spawn_blocking(move || {
            ChildApp::spawn("child_instance", &env, free_addr())
        })
        .await
        .unwrap();
        instances.push(app);
    }
    let c = instances.pop().unwrap();
    let b = instances.pop().unwrap();
    let a = instances.pop().unwrap();

    // Warm-up until all three instances transform: the group has settled with everyone in.
    let client = reqwest::Client::new();
    let mut warm = Ledger::default();
    let start = Instant::now();
    loop {
        for addr in [a.addr, b.addr, c.addr] {
            assert_eq!(
                warm.post(&client, addr, "/ingest/readings", "w", 60).await,
                200
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let working: BTreeSet<String> = rows(&ch).await.into_iter().map(|r| r.instance).collect();
        if working.len() == 3 {
            break;
        }
        assert!(
            start.elapsed() < GUARD,
            "the group never gave all three instances partitions: {working:?}"
        );
    }
    let settled_ms = now_ms();

    // Records to all three; c killed with SIGKILL, then b stopped gracefully.
    let stop = Arc::new(AtomicBool::new(false));
    let posters = [
        ingest(a.addr, "a", stop.clone()),
        ingest(b.addr, "b", stop.clone()),
        ingest(c.addr, "c", stop.clone()),
    ];
    tokio::time::sleep(Duration::from_secs(4)).await;
    let killed_ms = now_ms();
    tokio::task::spawn_blocking(move || c.kill9())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(SESSION_TIMEOUT_MS / 1000 + 6)).await;
    let stopped_ms = now_ms();
    let status = tokio::task::spawn_blocking(move || b.terminate())
        .await
        .unwrap();
    assert!(status.success(), "b stops cleanly on SIGTERM: {status}");
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, Ordering::Relaxed);
    let posting_stopped = Instant::now();
    let mut ledger = Ledger::default();
    for poster in posters {
        let part = poster.await.unwrap();
        ledger.acked.extend(part.acked);
        for (status, n) in part.statuses {
            *ledger.statuses.entry(status).or_default() += n;
        }
    }
    ledger.acked.extend(warm.acked.iter().cloned());

    // Every acknowledged record lands, as posted, on the one instance left.
    let counts = ledger
        .assert_all_landed(&ch, "local.landed", Some("value"), "scale-out", GUARD)
        .await;
    assert!(
        counts.acknowledged > 1000,
        "enough records flowed: {counts:?}"
    );

    // One owner at a time: after the group settled, each partition's rows, in the order they
    // were transformed, change instance at most once per rebalance (a partition worked by two
    // instances at once would alternate between them).
    let all = rows(&ch).await;
    let after: Vec<&Row> = all.iter().filter(|r| r.at_ms >= settled_ms).collect();
    let ids: BTreeSet<String> = after.iter().map(|r| r.id.clone()).collect();
    let partition_of = partitions_of(&kafka, &ids).await;
    let mut by_partition: BTreeMap<u32, Vec<&Row>> = BTreeMap::new();
    for row in &after {
        by_partition
            .entry(partition_of[&row.id])
            .or_default()
            .push(row);
    }
    assert_eq!(
        by_partition.len(),
        6,
        "records spread over the 6 partitions"
    );
    let mut takeover_ms = 0;
    let mut c_partitions = Vec::new();
    for (partition, rows) in &mut by_partition {
        rows.sort_by_key(|r| r.at_ms);
        let mut owners: Vec<&str> = Vec::new();
        for row in rows.iter() {
            if owners.last() != Some(&row.instance.as_str()) {
                owners.push(&row.instance);
            }
        }
        // Each instance runs one member per partition (6); the killed instance's members time
        // out one by one and the stopped one's leave one by one, so the group may rebalance up
        // to 12 times, moving a partition at most once each time. Two instances working one
        // partition at once would alternate with every batch: hundreds of changes.
        assert!(
            owners.len() <= 1 + 2 * PARALLELISM,
            "partition {partition} changed hands more often than the group rebalanced: {owners:?}"
        );
        if owners.first() == Some(&"c") {
            c_partitions.push(*partition);
            let next = rows
                .iter()
                .find(|r| r.instance != "c" && r.at_ms > killed_ms)
                .unwrap_or_else(|| panic!("nobody took over partition {partition} from c"));
            takeover_ms = takeover_ms.max(next.at_ms - killed_ms);
        }
        if let Some(last) = rows.last() {
            assert_eq!(
                last.instance, "a",
                "partition {partition} ends with the only instance left"
            );
        }
    }
    assert!(
        !c_partitions.is_empty(),
        "c owned partitions before it was killed"
    );

    // The groups catch up: lag returns to zero.
    let start = Instant::now();
    let groups = [
        "moose.transform.readings.landed",
        "moose.sync.landed.landed",
    ];
    loop {
        let lags: Vec<Vec<u64>> = groups.iter().map(|g| lag(&kafka, g)).collect();
        if lags
            .iter()
            .all(|l| l.len() == 6 && l.iter().all(|&x| x == 0))
        {
            break;
        }
        assert!(
            start.elapsed() < GUARD,
            "lag did not return to zero: {lags:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!(
        "scale-out: session.timeout.ms={SESSION_TIMEOUT_MS}; c killed -9 owned partitions \
         {c_partitions:?}, taken over within {:.1} s; b stopped gracefully {:.1} s later; \
         lag zero (checked after every row landed) {:.1} s after the posting stopped",
        takeover_ms as f64 / 1000.0,
        (stopped_ms - killed_ms) as f64 / 1000.0,
        posting_stopped.elapsed().as_secs_f64()
    );
    drop(a);
}
