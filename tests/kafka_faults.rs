//! Three Apache Kafka brokers (replication factor 3, `min.insync.replicas=2`) under continuous
//! ingest: a leader killed with SIGKILL, a rolling restart of all three, and two of three down.
//! Each scenario asserts, by key, that every record answered 200 lands exactly as posted;
//! that while a record cannot be made durable ingest answers 503 with `Retry-After` (never
//! 200-then-lost); and that it recovers by itself. Each prints acknowledged / stored /
//! duplicated counts.
//!
//! The scenarios run one at a time (three JVMs each on a 2-core machine).

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::app::{ChildApp, child_main, free_addr, is_child};
use common::clickhouse::TestClickHouse;
use common::kafka::TestKafka;
use common::ledger::Ledger;
use moose::prelude::*;
use tokio::sync::Mutex;

/// Deadlock guard; never reached when things work.
const GUARD: Duration = Duration::from_secs(180);

/// One scenario at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// A reading as posted.
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    #[key]
    pub id: String,
    pub value: f64,
}

/// The same reading after a transform: it crossed two topics before its table.
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct Landed {
    #[key]
    pub id: String,
    pub value: f64,
}

fn land(reading: Reading) -> Landed {
    Landed {
        id: reading.id,
        value: reading.value,
    }
}

fn app() -> App {
    pipeline! {
        readings: IngestPipeline<Reading> { ingest: true, stream: true, table: false, parallelism: 3 },
        landed: IngestPipeline<Landed> { ingest: false, stream: true, table: true, parallelism: 3 },
        readings => transform(land) => landed,
    }
}

/// Entry point of the app under test.
#[test]
#[ignore = "run only as a child process by the fault tests"]
fn child_app() {
    if is_child() {
        child_main(app());
    }
}

/// A three-node cluster, ClickHouse, and the app on them.
struct Setup {
    kafka: TestKafka,
    ch: TestClickHouse,
    app: ChildApp,
    _data: tempfile::TempDir,
}

async fn setup() -> Setup {
    let kafka = tokio::task::spawn_blocking(|| TestKafka::start_nodes(3))
        .await
        .unwrap();
    let ch = TestClickHouse::start().await;
    let data = tempfile::tempdir().unwrap();
    let env = vec![
        ("MOOSE_CLICKHOUSE_URL", ch.server.http_url()),
        ("MOOSE_DATA_DIR", data.path().display().to_string()),
        ("MOOSE_SYNC_MAX_DELAY_MS", "200".into()),
        ("MOOSE_KAFKA_BROKERS", kafka.brokers()),
        ("MOOSE_KAFKA_CONFIG", "session.timeout.ms=6000".into()),
    ];
    let app = tokio::task::spawn_blocking(move || ChildApp::spawn("child_app", &env, free_addr()))
        .await
        .unwrap();
    Setup {
        kafka,
        ch,
        app,
        _data: data,
    }
}

fn client() -> reqwest::Client {
    // Longer than the producer's delivery timeout: every request gets its answer.
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Posts batches of 20 until `stop` is set; the ledger of what was answered.
fn ingest_until(addr: SocketAddr, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Ledger> {
    tokio::spawn(async move {
        let client = client();
        let mut ledger = Ledger::default();
        while !stop.load(Ordering::Relaxed) {
            let status = ledger
                .post(&client, addr, "/ingest/readings", "r", 20)
                .await;
            assert!(
                matches!(status, 200 | 503),
                "ingest answered {status}: only 200 (durable) or 503 (retry) are allowed"
            );
            if status != 200 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        ledger
    })
}

/// Posts until a request is answered 200, for at most `guard`; how long that took.
async fn until_accepted(ledger: &mut Ledger, addr: SocketAddr, what: &str) -> Duration {
    let client = client();
    let start = Instant::now();
    loop {
        if ledger
            .post(&client, addr, "/ingest/readings", "r", 20)
            .await
            == 200
        {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < GUARD,
            "{what}: ingest did not recover by itself: {:?}",
            ledger.statuses
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn acked_count(ledger: &Ledger) -> usize {
    ledger.statuses.get(&200).copied().unwrap_or(0)
}

async fn finish(setup: &Setup, ledger: &Ledger, what: &str) {
    assert_eq!(
        ledger.unavailable_without_retry_after, 0,
        "{what}: every 503 carries Retry-After"
    );
    ledger
        .assert_all_landed(&setup.ch, "local.landed", Some("value"), what, GUARD)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_killed_under_ingest_loses_nothing_acknowledged_and_ingest_recovers() {
    if is_child() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let setup = setup().await;
    let stop = Arc::new(AtomicBool::new(false));
    let ingest = ingest_until(setup.app.addr, stop.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;

    let leaders = setup.kafka.leaders("readings");
    let leader = leaders
        .iter()
        .find_map(|(p, l)| (*p == 0).then_some(*l).flatten())
        .unwrap_or_else(|| panic!("partition 0 of readings has a leader: {leaders:?}"));
    let kafka = &setup.kafka;
    tokio::task::block_in_place(|| kafka.kill_node(leader));
    let killed = Instant::now();
    eprintln!("killed node {leader}, the leader of readings/0 ({leaders:?})");
    tokio::time::sleep(Duration::from_secs(15)).await;
    stop.store(true, Ordering::Relaxed);
    let mut ledger = ingest.await.unwrap();
    let recovered = until_accepted(&mut ledger, setup.app.addr, "leader killed").await;
    eprintln!(
        "after the kill: ingest accepted again {:.1} s later",
        killed.elapsed().as_secs_f64() - 15.0 + recovered.as_secs_f64()
    );
    assert!(acked_count(&ledger) > 0);
    tokio::task::block_in_place(|| kafka.start_node(leader));
    finish(&setup, &ledger, "leader killed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_of_all_three_brokers_loses_nothing_acknowledged() {
    if is_child() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let setup = setup().await;
    let stop = Arc::new(AtomicBool::new(false));
    let ingest = ingest_until(setup.app.addr, stop.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let kafka = &setup.kafka;
    for node in 1..=3 {
        tokio::task::block_in_place(|| {
            kafka.stop_node(node);
            kafka.start_node(node);
        });
        eprintln!("rolling restart: node {node} is back");
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut ledger = ingest.await.unwrap();
    until_accepted(&mut ledger, setup.app.addr, "rolling restart").await;
    finish(&setup, &ledger, "rolling restart").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_of_three_brokers_down_ingest_answers_503_and_recovers_when_one_returns() {
    if is_child() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let setup = setup().await;
    let client = client();
    let addr = setup.app.addr;
    let mut ledger = Ledger::default();
    for _ in 0..20 {
        let status = ledger
            .post(&client, addr, "/ingest/readings", "r", 20)
            .await;
        assert_eq!(status, 200, "ingest works with three brokers");
    }

    let kafka = &setup.kafka;
    tokio::task::block_in_place(|| {
        kafka.kill_node(2);
        kafka.kill_node(3);
    });
    // With one broker of three the records cannot reach min.insync.replicas=2: every
    // request is refused, none acknowledged.
    let before = acked_count(&ledger);
    let mut refused = 0;
    let down = Instant::now();
    while refused < 3 {
        let status = ledger
            .post(&client, addr, "/ingest/readings", "r", 20)
            .await;
        assert!(
            matches!(status, 200 | 503),
            "with two brokers down ingest answered {status}"
        );
        if status == 503 {
            refused += 1;
        }
        assert!(down.elapsed() < GUARD, "ingest never answered 503");
    }
    // The first requests may still have been acknowledged by the three-broker ISR while the
    // controller had not yet noticed; once refusing, it keeps refusing.
    let acked_while_down = acked_count(&ledger) - before;
    for _ in 0..3 {
        let status = ledger
            .post(&client, addr, "/ingest/readings", "r", 20)
            .await;
        assert_eq!(
            status, 503,
            "with two of three brokers down ingest keeps refusing"
        );
    }

    tokio::task::block_in_place(|| kafka.start_node(2));
    let recovered = until_accepted(&mut ledger, addr, "two of three down").await;
    eprintln!(
        "two of three down: {acked_while_down} requests acknowledged before the refusals began; \
         accepted again {:.1} s after one broker returned",
        recovered.as_secs_f64()
    );
    for _ in 0..10 {
        let status = ledger
            .post(&client, addr, "/ingest/readings", "r", 20)
            .await;
        assert_eq!(
            status, 200,
            "ingest keeps working with two brokers of three"
        );
    }
    tokio::task::block_in_place(|| kafka.start_node(3));
    finish(&setup, &ledger, "two of three down").await;
}
