//! The product's main job on the embedded default, against a real ClickHouse server: records
//! posted to the ingest API land, transformed, in ClickHouse; bad records are refused; restarts
//! and ClickHouse outages lose nothing that got a 200.

mod common;
#[path = "common/seed.rs"]
mod seed;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::app::{ChildApp, child_main, free_addr, is_child, post_json};
use common::clickhouse::TestClickHouse;
use seed::{Backend, as_f64, chained_transforms};
use serde_json::{Value, json};

// The seed examples' scenarios are shared with the Kafka tests (`tests/runtime_kafka.rs`).

#[tokio::test]
async fn chained_transforms_land_doubled_then_tripled() {
    seed::chained_transforms_land_doubled_then_tripled(Backend::Embedded).await;
}

#[tokio::test]
async fn every_seed_example_lands_its_rows() {
    seed::every_seed_example_lands_its_rows(Backend::Embedded).await;
}

#[tokio::test]
async fn an_array_field_fans_out_into_one_row_per_element() {
    seed::an_array_field_fans_out_into_one_row_per_element(Backend::Embedded).await;
}

#[tokio::test]
async fn a_batch_with_bad_records_is_refused_whole_and_never_lands() {
    seed::a_batch_with_bad_records_is_refused_whole_and_never_lands(Backend::Embedded).await;
}

/// `stream_config` declares an ExternallyManaged stream whose topic nobody has created: `start`
/// refuses, naming it; `dev` creates it on the embedded log and starts.
#[tokio::test]
async fn an_externally_managed_topic_is_created_by_dev_but_never_by_start() {
    let ch = TestClickHouse::start().await;
    let deployment = Backend::Embedded.deploy(&ch);
    let app = seed::stream_config::app();
    let refused = moose::Runtime::start(&app, &deployment.config, moose::Mode::Start)
        .await
        .err()
        .expect("`start` does not create an ExternallyManaged topic")
        .to_string();
    assert!(
        refused.contains("prod_stream") && refused.contains("ExternallyManaged"),
        "the refusal names the stream and why: {refused}"
    );
    let runtime = deployment.start(&app).await;
    assert_eq!(deployment.mode, moose::Mode::Dev);
    let peek = reqwest::get(format!(
        "http://{}/peek/prod_stream",
        runtime.http_addr().expect("the runtime serves HTTP")
    ))
    .await
    .unwrap();
    assert_eq!(peek.status(), 200, "dev created the topic");
    runtime.shutdown().await;
}

/// Entry point of the child app used by the restart tests.
#[test]
#[ignore = "run only as a child process by the restart tests"]
fn child_chained_app() {
    if is_child() {
        child_main(chained_transforms::app());
    }
}

/// Posts batches of 50 with increasing ids until `stop`; returns the ids that got a 200.
async fn post_until(addr: std::net::SocketAddr, start: usize, duration: Duration) -> Vec<String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut acked = Vec::new();
    let begin = Instant::now();
    let mut next = start;
    while begin.elapsed() < duration {
        let ids: Vec<String> = (next..next + 50).map(|i| format!("k{i:08}")).collect();
        next += 50;
        let body: Vec<Value> = ids.iter().map(|id| json!({"id": id, "value": 1})).collect();
        if post_json(
            &client,
            addr,
            "/ingest/raw_data",
            Value::Array(body).to_string(),
        )
        .await
        .0 == 200
        {
            acked.extend(ids);
        }
    }
    acked
}

async fn count_by_id(ch: &TestClickHouse) -> HashMap<String, u64> {
    ch.client
        .query_json("SELECT id, count() AS n FROM local.final_stream GROUP BY id")
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), as_f64(&r["n"]) as u64))
        .collect()
}

async fn wait_all(ch: &TestClickHouse, acked: &[String]) -> HashMap<String, u64> {
    let start = Instant::now();
    loop {
        let counts = count_by_id(ch).await;
        if acked.iter().all(|id| counts.contains_key(id))
            || start.elapsed() > Duration::from_secs(60)
        {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn child_env(ch: &TestClickHouse, dir: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("MOOSE_CLICKHOUSE_URL", ch.server.http_url()),
        ("MOOSE_DATA_DIR", dir.display().to_string()),
        ("MOOSE_SYNC_MAX_DELAY_MS", "200".into()),
    ]
}

/// How the app is stopped mid-load in [`stop_under_load_then_restart`].
enum Stop {
    Sigterm,
    Kill9,
}

/// Posts for 3 s, stops the app 1.5 s in, restarts it, posts 1 s more; returns the acked ids
/// and the row count per id once every acked id has landed (or 60 s passed).
async fn stop_under_load_then_restart(stop: Stop) -> (Vec<String>, HashMap<String, u64>) {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let env = child_env(&ch, dir.path());
    let app = ChildApp::spawn("child_chained_app", &env, addr);
    let load = tokio::spawn(post_until(addr, 0, Duration::from_secs(3)));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    match stop {
        Stop::Sigterm => {
            let status = tokio::task::spawn_blocking(move || app.terminate())
                .await
                .unwrap();
            assert!(status.success(), "a SIGTERMed app exits cleanly: {status}");
        }
        Stop::Kill9 => tokio::task::spawn_blocking(move || app.kill9())
            .await
            .unwrap(),
    }
    let mut acked = load.await.unwrap();
    let app = ChildApp::spawn("child_chained_app", &env, addr);
    acked.extend(post_until(addr, 1_000_000, Duration::from_secs(1)).await);
    let counts = wait_all(&ch, &acked).await;
    drop(app);
    let missing: Vec<&String> = acked
        .iter()
        .filter(|id| !counts.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acked records missing after the restart, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(
        acked.len() > 100,
        "the load really ran: {} acked",
        acked.len()
    );
    (acked, counts)
}

#[tokio::test]
async fn sigterm_under_load_then_restart_keeps_every_acked_record_exactly_once() {
    if is_child() {
        return;
    }
    let (_, counts) = stop_under_load_then_restart(Stop::Sigterm).await;
    let duplicated = counts.values().filter(|n| **n > 1).count();
    assert_eq!(
        duplicated, 0,
        "a clean shutdown commits what it inserted: no duplicates"
    );
}

#[tokio::test]
async fn kill_9_under_load_then_restart_keeps_every_acked_record() {
    if is_child() {
        return;
    }
    let (acked, counts) = stop_under_load_then_restart(Stop::Kill9).await;
    let duplicated = counts.values().filter(|n| **n > 1).count();
    eprintln!(
        "kill -9: {} acked, {duplicated} duplicated (at-least-once allows duplicates here)",
        acked.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_down_for_20s_loses_nothing_and_memory_stays_bounded() {
    if is_child() {
        return;
    }
    let mut ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let env = child_env(&ch, dir.path());
    let app = ChildApp::spawn("child_chained_app", &env, addr);
    let mut acked = post_until(addr, 0, Duration::from_secs(1)).await;
    let rss_before = app.rss_kib();
    tokio::task::block_in_place(|| ch.server.kill()).expect("kill ClickHouse");
    let load = tokio::spawn(post_until(addr, 1_000_000, Duration::from_secs(20)));
    let mut rss_peak = 0;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss_peak = rss_peak.max(app.rss_kib());
    }
    acked.extend(load.await.unwrap());
    tokio::task::block_in_place(|| ch.server.restart()).expect("restart ClickHouse");
    let counts = wait_all(&ch, &acked).await;
    let missing = acked.iter().filter(|id| !counts.contains_key(*id)).count();
    assert_eq!(
        missing,
        0,
        "every acked record arrives after ClickHouse returns ({} acked)",
        acked.len()
    );
    eprintln!(
        "RSS before outage {rss_before} KiB, peak during outage {rss_peak} KiB, {} acked",
        acked.len()
    );
    assert!(
        rss_peak < rss_before + 200 * 1024,
        "memory stays bounded during the outage: {rss_before} -> {rss_peak} KiB"
    );
    drop(app);
}
