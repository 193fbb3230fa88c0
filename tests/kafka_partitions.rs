//! A parallelism increase (2 -> 4 partitions) rolled out on Apache Kafka while records flow, the
//! way a user deploys it: the old version keeps ingesting while the new one starts, adds the
//! partitions and takes over, then the old one stops. Nothing acknowledged is lost, the new
//! partitions carry records, and each key's records posted after the change are transformed
//! in the order they were posted.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::app::{ChildApp, child_main, free_addr, is_child};
use common::clickhouse::TestClickHouse;
use common::kafka::TestKafka;
use moose::prelude::*;
use moose_runtime::stream::{MemberId, StreamBackend as _, TopicAdmin as _};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// Deadlock guard; never reached when things work.
const GUARD: Duration = Duration::from_secs(180);

/// Keys the records are spread over.
const DEVICES: u64 = 12;

/// A device's reading; `seq` counts that device's readings in the order they were posted.
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    #[key]
    pub device: String,
    pub seq: u64,
}

/// The reading as it lands, with when it was transformed.
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    #[key]
    pub device: String,
    pub seq: u64,
    pub transformed_at_ms: u64,
}

fn see(event: Event) -> Seen {
    Seen {
        device: event.device,
        seq: event.seq,
        transformed_at_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    }
}

fn app(parallelism: u32) -> App {
    let app = App::new();
    let events = app
        .ingest_pipeline::<Event>(
            "events",
            IngestPipelineConfig {
                stream_config: StreamConfig::default().parallelism(parallelism),
                ..IngestPipelineConfig::new().ingest(true).stream(true)
            },
        )
        .unwrap();
    let seen = app
        .ingest_pipeline::<Seen>(
            "seen",
            IngestPipelineConfig {
                stream_config: StreamConfig::default().parallelism(parallelism),
                ..IngestPipelineConfig::new().stream(true).table(true)
            },
        )
        .unwrap();
    events
        .stream()
        .unwrap()
        .add_transform(seen.stream().unwrap(), see)
        .unwrap();
    app
}

/// Entry point of both versions: `MOOSE_TEST_PARALLELISM` picks the version.
#[test]
#[ignore = "run only as a child process by the partition test"]
fn child_version() {
    if is_child() {
        let parallelism = std::env::var("MOOSE_TEST_PARALLELISM")
            .unwrap()
            .parse()
            .unwrap();
        child_main(app(parallelism));
    }
}

/// Where the poster sends, and what it got acknowledged.
#[derive(Default)]
struct Posted {
    /// `(device, seq, posted after the change)` of every acknowledged record.
    acked: Vec<(String, u64, bool)>,
}

/// Posts batches of one record per device, in sequence, to whichever address `target`
/// holds, until `stop`.
fn poster(
    target: Arc<Mutex<(SocketAddr, bool)>>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Posted> {
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let mut posted = Posted::default();
        let mut seq = 0;
        while !stop.load(Ordering::Relaxed) {
            let (addr, after_change) = *target.lock().await;
            let body: Vec<Value> = (0..DEVICES)
                .map(|d| json!({"device": format!("d{d}"), "seq": seq}))
                .collect();
            let status = client
                .post(format!("http://{addr}/ingest/events"))
                .header("content-type", "application/json")
                .body(Value::Array(body).to_string())
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            // A request not answered 200 is sent again with the same sequence number, so each
            // device's sequence has no gaps; a retried one may be stored twice.
            if status == 200 {
                posted
                    .acked
                    .extend((0..DEVICES).map(|d| (format!("d{d}"), seq, after_change)));
                seq += 1;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        posted
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parallelism_increase_rolled_out_while_records_flow_loses_nothing_and_keeps_key_order() {
    if is_child() {
        return;
    }
    let kafka = tokio::task::spawn_blocking(TestKafka::start).await.unwrap();
    let ch = TestClickHouse::start().await;
    let env = |parallelism: u32, dir: &tempfile::TempDir| {
        vec![
            ("MOOSE_CLICKHOUSE_URL", ch.server.http_url()),
            ("MOOSE_DATA_DIR", dir.path().display().to_string()),
            ("MOOSE_SYNC_MAX_DELAY_MS", "200".into()),
            ("MOOSE_KAFKA_BROKERS", kafka.brokers()),
            ("MOOSE_KAFKA_CONFIG", "session.timeout.ms=6000".into()),
            ("MOOSE_TEST_PARALLELISM", parallelism.to_string()),
        ]
    };
    let (dir_v1, dir_v2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let v1_env = env(2, &dir_v1);
    let v1 =
        tokio::task::spawn_blocking(move || ChildApp::spawn("child_version", &v1_env, free_addr()))
            .await
            .unwrap();
    let backend = kafka.backend().await;
    assert_eq!(
        backend
            .describe_topic("events")
            .await
            .unwrap()
            .unwrap()
            .partitions,
        2
    );

    let target = Arc::new(Mutex::new((v1.addr, false)));
    let stop = Arc::new(AtomicBool::new(false));
    let posting = poster(target.clone(), stop.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;

    // v2 starts beside v1, adds the partitions, and takes the traffic; then v1 stops.
    let v2_env = env(4, &dir_v2);
    let v2 =
        tokio::task::spawn_blocking(move || ChildApp::spawn("child_version", &v2_env, free_addr()))
            .await
            .unwrap();
    for topic in ["events", "seen"] {
        assert_eq!(
            backend
                .describe_topic(topic)
                .await
                .unwrap()
                .unwrap()
                .partitions,
            4,
            "v2 added partitions to `{topic}` at its start"
        );
    }
    *target.lock().await = (v2.addr, true);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = tokio::task::spawn_blocking(move || v1.terminate())
        .await
        .unwrap();
    assert!(status.success(), "v1 stops cleanly: {status}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.store(true, Ordering::Relaxed);
    let posted = posting.await.unwrap();
    let after = posted.acked.iter().filter(|r| r.2).count();
    assert!(
        after > 0 && after < posted.acked.len(),
        "records were acknowledged before and after the change"
    );

    // Nothing acknowledged is lost.
    let start = Instant::now();
    let first_seen: BTreeMap<(String, u64), u64> = loop {
        let rows = ch
            .client
            .query_json(
                "SELECT device, seq, min(transformed_at_ms) AS at FROM local.seen GROUP BY device, seq",
            )
            .await
            .unwrap_or_default();
        let number = |v: &Value| v.as_u64().or_else(|| v.as_str()?.parse().ok()).unwrap();
        let seen: BTreeMap<(String, u64), u64> = rows
            .iter()
            .map(|r| {
                (
                    (r["device"].as_str().unwrap().to_owned(), number(&r["seq"])),
                    number(&r["at"]),
                )
            })
            .collect();
        if posted
            .acked
            .iter()
            .all(|(d, s, _)| seen.contains_key(&(d.clone(), *s)))
            || start.elapsed() > GUARD
        {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let missing: Vec<&(String, u64, bool)> = posted
        .acked
        .iter()
        .filter(|(d, s, _)| !first_seen.contains_key(&(d.clone(), *s)))
        .collect();
    eprintln!(
        "partitions 2 -> 4: {} records acknowledged ({after} after the change), {} stored, {} missing",
        posted.acked.len(),
        first_seen.len(),
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "acknowledged records lost: {:?}",
        &missing[..missing.len().min(5)]
    );

    // The new partitions carry records.
    let mut consumer = backend
        .consumer("events", "test.partitions", MemberId::SOLE)
        .await
        .unwrap();
    let mut partitions = BTreeSet::new();
    let start = Instant::now();
    while partitions.len() < 4 && start.elapsed() < GUARD {
        for r in consumer
            .poll(10_000, Duration::from_millis(500))
            .await
            .unwrap()
        {
            partitions.insert(r.partition);
        }
    }
    assert_eq!(
        partitions,
        BTreeSet::from([0, 1, 2, 3]),
        "records in all four partitions"
    );

    // Per key, the records posted after the change were transformed in the order posted.
    for d in 0..DEVICES {
        let device = format!("d{d}");
        let times: Vec<(u64, u64)> = posted
            .acked
            .iter()
            .filter(|(dev, _, after)| *after && *dev == device)
            .map(|(_, s, _)| (*s, first_seen[&(device.clone(), *s)]))
            .collect();
        for pair in times.windows(2) {
            assert!(
                pair[0].1 <= pair[1].1,
                "{device}: seq {} was transformed after seq {}",
                pair[0].0,
                pair[1].0
            );
        }
    }
    drop(v2);
}
