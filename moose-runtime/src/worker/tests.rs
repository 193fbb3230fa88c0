//! The sync worker against the embedded log and a fake ClickHouse that records every insert
//! (its deduplication token and rows): a worker killed between an insert and its commit is
//! replaced by one that re-inserts exactly the same batch under the same token.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::routing::post;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::clickhouse::{ClickHouse, ClickHouseConfig};
use crate::graph::{DeadLetter, DeadLetterKind, DeadLetterSource, EncodedRecord, ModelCodec};
use crate::schema::{OlapConfig, ResolvedTable};
use crate::stream::local::LocalLog;
use crate::stream::{MemberId, StreamBackend, TopicAdmin, TopicSpec};

/// A ClickHouse that reports version 24.8 and records inserts; while `hang` is set it never
/// answers an insert (as if the process died after the server stored it).
#[derive(Default)]
struct FakeClickHouse {
    inserts: Mutex<Vec<(Option<String>, Bytes)>>,
    hang: AtomicBool,
}

async fn answer(
    State(fake): State<Arc<FakeClickHouse>>,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> String {
    let query = params
        .get("query")
        .cloned()
        .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
    if query.contains("version()") {
        return "24.8.1.1\n".into();
    }
    if query.starts_with("INSERT") {
        let token = params.get("insert_deduplication_token").cloned();
        fake.inserts.lock().unwrap().push((token, body));
        if fake.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    }
    String::new()
}

async fn fake_clickhouse() -> (Arc<FakeClickHouse>, String) {
    let fake = Arc::new(FakeClickHouse::default());
    let app = Router::new()
        .route("/", post(answer))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (fake, url)
}

fn letter(i: u64) -> EncodedRecord {
    EncodedRecord::encode(&DeadLetter::new(
        DeadLetterSource::Api,
        DeadLetterKind::Validation,
        "s",
        format!("{{\"n\":{i}}}").as_bytes(),
        "m",
    ))
}

async fn produce(log: &LocalLog, range: std::ops::Range<u64>) {
    let records: Vec<EncodedRecord> = range.map(letter).collect();
    log.produce("t", &records).await.unwrap();
}

async fn spawn_worker(
    log: &LocalLog,
    clickhouse: &ClickHouse,
    dir: &std::path::Path,
    ledger: bool,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let config = OlapConfig::default().order_by_fields(["source_stream"]);
    let table = ResolvedTable::resolve::<DeadLetter>(
        "local",
        "letters",
        &config,
        clickhouse.capabilities(),
    )
    .unwrap();
    let backend: Arc<dyn StreamBackend> = Arc::new(log.clone());
    let worker = SyncWorker {
        name: "t -> letters".into(),
        consumer: log.consumer("t", "g", MemberId::SOLE).await.unwrap(),
        codec: ModelCodec::of::<DeadLetter>(),
        table,
        clickhouse: clickhouse.clone(),
        config: SyncConfig {
            max_rows: 1000,
            max_bytes: 1 << 20,
            max_delay: Duration::from_millis(50),
        },
        status: WorkerStatus::default(),
        metrics: Default::default(),
        topic: "t".into(),
        stream: "s".into(),
        dead_letters: DeadLetterSink::log_only(backend, Arc::default()),
        ledger: ledger.then(|| (dir.join("sync"), "g".to_owned())),
    };
    let cancel = CancellationToken::new();
    let handle = tokio::spawn(worker.run(cancel.clone()));
    (cancel, handle)
}

async fn wait_inserts(fake: &FakeClickHouse, n: usize) -> Vec<(Option<String>, Bytes)> {
    let start = Instant::now();
    loop {
        let inserts = fake.inserts.lock().unwrap().clone();
        if inserts.len() >= n || start.elapsed() > Duration::from_secs(20) {
            return inserts;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs the crash scenario; the inserts the fake saw.
async fn crash_between_insert_and_commit(ledger: bool) -> Vec<(Option<String>, Bytes)> {
    let dir = tempfile::tempdir().unwrap();
    let log = LocalLog::open(&dir.path().join("streams")).unwrap();
    log.ensure_topic(&TopicSpec {
        name: "t".into(),
        partitions: 1,
        retention: Duration::from_secs(3600),
    })
    .await
    .unwrap();
    let (fake, url) = fake_clickhouse().await;
    let clickhouse = ClickHouse::connect(ClickHouseConfig::new(url))
        .await
        .unwrap();
    produce(&log, 0..10).await;
    fake.hang.store(true, Ordering::SeqCst);
    let (_, first) = spawn_worker(&log, &clickhouse, dir.path(), ledger).await;
    assert_eq!(wait_inserts(&fake, 1).await.len(), 1);
    // The process dies: the server has the rows, the offsets are not committed.
    first.abort();
    let _ = first.await;
    produce(&log, 10..15).await;
    fake.hang.store(false, Ordering::SeqCst);
    let (cancel, second) = spawn_worker(&log, &clickhouse, dir.path(), ledger).await;
    let seen = wait_inserts(&fake, if ledger { 3 } else { 2 }).await;
    cancel.cancel();
    second.await.unwrap();
    // Everything is committed now: a new member reads nothing.
    let mut consumer = log.consumer("t", "g", MemberId::SOLE).await.unwrap();
    let left = consumer.poll(100, Duration::from_millis(50)).await.unwrap();
    assert!(left.is_empty(), "{} records left uncommitted", left.len());
    seen
}

#[tokio::test]
async fn a_batch_retried_after_a_crash_is_cut_the_same_and_carries_the_same_token() {
    let inserts = crash_between_insert_and_commit(true).await;
    assert_eq!(inserts.len(), 3, "the retried batch, then the new records");
    assert_eq!(
        inserts[0].0.as_deref(),
        Some("moose:local.letters:t:0:0-9"),
        "the token names table, topic, partition and offsets"
    );
    assert_eq!(
        inserts[1], inserts[0],
        "same token, same rows: the server skips it"
    );
    assert_eq!(
        inserts[2].0.as_deref(),
        Some("moose:local.letters:t:0:10-14")
    );
}

#[tokio::test]
async fn without_the_ledger_the_retried_batch_would_differ() {
    let inserts = crash_between_insert_and_commit(false).await;
    assert_eq!(inserts.len(), 2);
    assert_eq!(
        inserts[1].0.as_deref(),
        Some("moose:local.letters:t:0:0-14"),
        "re-read with the new records, the batch is cut differently"
    );
    assert_ne!(inserts[1].0, inserts[0].0);
}
