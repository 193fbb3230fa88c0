//! Fault injection against real servers: the chained-transform app (ingest -> two transforms
//! -> ClickHouse 18.16) runs as a child process under steady ingest while it is killed with
//! SIGKILL again and again, while its ClickHouse server is killed and restarted, and while
//! the disk under its embedded stream log is full. Each test then checks, by key, that every
//! record that got a 200 is in the final table, and reports how many keys landed twice
//! (at-least-once allows that; see the README's "Guarantees").
//!
//! Over 400 lines: three fault scenarios sharing one load generator and one checker of what was
//! acknowledged against what was stored.
//!
//! Every wait is bounded; no timing decides pass or fail.

mod common;

#[allow(dead_code)]
#[path = "../examples/chained_transforms.rs"]
mod chained_transforms;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::app::{ChildApp, child_main, free_addr, is_child};
use common::clickhouse::TestClickHouse;
use serde_json::{Value, json};

/// Entry point of the child app (re-executed by [`ChildApp::spawn`]).
#[test]
#[ignore = "run only as a child process by the fault tests"]
fn child_chained_app() {
    if is_child() {
        child_main(chained_transforms::app());
    }
}

/// What a load generator saw.
#[derive(Debug, Default)]
struct LoadReport {
    /// Ids of records in requests answered 200.
    acked: Vec<String>,
    /// Requests answered 503.
    unavailable: u64,
    /// 503 answers without a `Retry-After` header.
    unavailable_without_retry_after: u64,
    /// Requests that got no answer (app down) or another status.
    failed: u64,
}

/// Posts batches of 50 records with increasing ids to `/ingest/raw_data` until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    acked_requests: Arc<AtomicU64>,
    unavailable: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<LoadReport>,
}

impl Load {
    fn start(addr: SocketAddr, prefix: &'static str) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acked_requests = Arc::new(AtomicU64::new(0));
        let unavailable = Arc::new(AtomicU64::new(0));
        let (stop2, acked2, unavailable2) =
            (stop.clone(), acked_requests.clone(), unavailable.clone());
        let task = tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            let mut report = LoadReport::default();
            let mut next = 0usize;
            while !stop2.load(Ordering::Relaxed) {
                let ids: Vec<String> = (next..next + 50)
                    .map(|i| format!("{prefix}{i:08}"))
                    .collect();
                next += 50;
                let body: Vec<Value> = ids.iter().map(|id| json!({"id": id, "value": 1})).collect();
                let answer = client
                    .post(format!("http://{addr}/ingest/raw_data"))
                    .header("content-type", "application/json")
                    .body(Value::Array(body).to_string())
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status() == 200 => {
                        report.acked.extend(ids);
                        acked2.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) if r.status() == 503 => {
                        report.unavailable += 1;
                        unavailable2.fetch_add(1, Ordering::Relaxed);
                        if r.headers().get("retry-after").is_none() {
                            report.unavailable_without_retry_after += 1;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    _ => {
                        report.failed += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            report
        });
        Load {
            stop,
            acked_requests,
            unavailable,
            task,
        }
    }

    /// Requests answered 200 so far.
    fn acked_requests(&self) -> u64 {
        self.acked_requests.load(Ordering::Relaxed)
    }

    async fn stop(self) -> LoadReport {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap()
    }
}

/// Rows per id in the final table.
async fn counts(ch: &TestClickHouse) -> HashMap<String, u64> {
    ch.client
        .query_json("SELECT id, count() AS n FROM local.final_stream GROUP BY id")
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            let n = r["n"]
                .as_u64()
                .or_else(|| r["n"].as_str().and_then(|s| s.parse().ok()))
                .unwrap();
            (r["id"].as_str().unwrap().to_owned(), n)
        })
        .collect()
}

/// What landed, compared with what was acknowledged.
#[derive(Debug)]
struct Outcome {
    acked: usize,
    missing: Vec<String>,
    duplicated_keys: usize,
    extra_rows: u64,
}

/// Waits (at most 90 s) until every acknowledged id is in the final table, then compares.
async fn check_landed(ch: &TestClickHouse, acked: &[String]) -> Outcome {
    let start = Instant::now();
    let mut rows = counts(ch).await;
    while !acked.iter().all(|id| rows.contains_key(id)) && start.elapsed() < Duration::from_secs(90)
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
        rows = counts(ch).await;
    }
    Outcome {
        acked: acked.len(),
        missing: acked
            .iter()
            .filter(|id| !rows.contains_key(*id))
            .cloned()
            .collect(),
        duplicated_keys: rows.values().filter(|n| **n > 1).count(),
        extra_rows: rows.values().map(|n| n - 1).sum(),
    }
}

fn child_env(ch: &TestClickHouse, data_dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("MOOSE_CLICKHOUSE_URL", ch.server.http_url()),
        ("MOOSE_DATA_DIR", data_dir.display().to_string()),
        ("MOOSE_SYNC_MAX_DELAY_MS", "200".into()),
        ("RUST_LOG", "warn".into()),
    ]
}

async fn spawn_app(env: &[(&'static str, String)], addr: SocketAddr) -> ChildApp {
    let env = env.to_vec();
    tokio::task::spawn_blocking(move || ChildApp::spawn("child_chained_app", &env, addr))
        .await
        .unwrap()
}

/// Waits until `load` has had `more` more requests acknowledged (at most 60 s).
async fn wait_acked(load: &Load, more: u64) {
    let target = load.acked_requests() + more;
    let start = Instant::now();
    while load.acked_requests() < target && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn assert_nothing_lost(test: &str, outcome: &Outcome, report: &LoadReport) {
    eprintln!(
        "{test}: {} records acknowledged, {} missing, {} keys stored more than once ({} extra rows); \
         requests: {} answered 503, {} failed or unanswered",
        outcome.acked,
        outcome.missing.len(),
        outcome.duplicated_keys,
        outcome.extra_rows,
        report.unavailable,
        report.failed
    );
    assert!(
        outcome.missing.is_empty(),
        "{test}: {} acknowledged records are missing from the table, e.g. {:?}",
        outcome.missing.len(),
        &outcome.missing[..outcome.missing.len().min(5)]
    );
    assert_eq!(
        report.unavailable_without_retry_after, 0,
        "{test}: every 503 carries Retry-After"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_every_few_seconds_under_ingest_loses_nothing_acknowledged() {
    if is_child() {
        return;
    }
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let env = child_env(&ch, dir.path());
    let load = Load::start(addr, "k");
    // Killed every few seconds, at different points: some mid-batch, some between an insert
    // and its commit, some while a transform writes.
    let lives = [(60, 2000), (150, 3500), (100, 2500), (200, 4000)];
    for (cycle, (requests, millis)) in lives.into_iter().enumerate() {
        let app = spawn_app(&env, addr).await;
        let started = Instant::now();
        wait_acked(&load, requests).await;
        tokio::time::sleep(Duration::from_millis(millis).saturating_sub(started.elapsed())).await;
        let rss = app.rss_kib();
        tokio::task::spawn_blocking(move || app.kill9())
            .await
            .unwrap();
        eprintln!(
            "kill -9 cycle {}: killed {:?} after it was ready (RSS {rss} KiB)",
            cycle + 1,
            started.elapsed()
        );
    }
    let app = spawn_app(&env, addr).await;
    wait_acked(&load, 50).await;
    let report = load.stop().await;
    let outcome = check_landed(&ch, &report.acked).await;
    drop(app);
    assert_nothing_lost("kill -9 x4", &outcome, &report);
    assert!(
        report.acked.len() >= 4 * 50 * 60,
        "the load really ran: {} acknowledged",
        report.acked.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_killed_and_restarted_under_ingest_loses_nothing_acknowledged() {
    if is_child() {
        return;
    }
    let mut ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let env = child_env(&ch, dir.path());
    let app = spawn_app(&env, addr).await;
    let load = Load::start(addr, "c");
    wait_acked(&load, 100).await;
    let rss_before = app.rss_kib();
    tokio::task::block_in_place(|| ch.server.kill()).expect("kill -9 ClickHouse");
    let during_outage = load.acked_requests();
    // Ingest goes on while ClickHouse is down: the stream buffers.
    wait_acked(&load, 300).await;
    let mut rss_peak = app.rss_kib();
    let acked_while_down = load.acked_requests() - during_outage;
    tokio::time::sleep(Duration::from_secs(3)).await;
    rss_peak = rss_peak.max(app.rss_kib());
    tokio::task::block_in_place(|| ch.server.restart()).expect("restart ClickHouse");
    wait_acked(&load, 100).await;
    let report = load.stop().await;
    let outcome = check_landed(&ch, &report.acked).await;
    drop(app);
    eprintln!(
        "ClickHouse outage: {acked_while_down} requests acknowledged while it was down; \
         app RSS {rss_before} KiB before, {rss_peak} KiB peak during the outage"
    );
    assert_nothing_lost("ClickHouse kill -9 + restart", &outcome, &report);
    assert!(
        acked_while_down >= 300,
        "ingest stays up while ClickHouse is down"
    );
}

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`8m`) on `dir`. Fails the test, loudly, where mounting is
    /// impossible: the disk-full test needs a real full file system.
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .unwrap_or_else(|e| panic!("the disk-full test needs `mount` (util-linux): {e}"));
        assert!(
            out.status.success(),
            "the disk-full test mounts a small tmpfs as the app's data dir and needs root (or \
             CAP_SYS_ADMIN) for it; `mount -t tmpfs -o size={size} tmpfs {}` failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Tmpfs {
            dir: dir.to_owned(),
        }
    }

    /// Grows the file system to `size`: space is freed.
    fn grow(&self, size: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "remounting the tmpfs failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

async fn get_status(addr: SocketAddr, path: &str) -> u16 {
    match reqwest::get(format!("http://{addr}{path}")).await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_under_the_stream_log_answers_503_and_loses_nothing_acknowledged() {
    if is_child() {
        return;
    }
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mount = Tmpfs::mount(&dir.path().join("data"), "8m");
    let addr = free_addr();
    let env = child_env(&ch, &mount.dir);
    let app = spawn_app(&env, addr).await;
    let load = Load::start(addr, "d");
    // Fill the disk: 8 MiB hold a few tens of thousands of records in three streams.
    let start = Instant::now();
    while load.unavailable.load(Ordering::Relaxed) < 20 && start.elapsed() < Duration::from_secs(90)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let acked_before_full = load.acked_requests();
    assert!(
        load.unavailable.load(Ordering::Relaxed) >= 20,
        "the disk filled up and ingest answered 503 ({acked_before_full} requests acknowledged)"
    );
    assert_eq!(
        get_status(addr, "/health").await,
        200,
        "the app stays alive"
    );
    assert_eq!(
        get_status(addr, "/ready").await,
        503,
        "not ready while the stream cannot take writes"
    );
    let rss_full = app.rss_kib();
    // Free space: ingest, transforms and the table sync resume on their own.
    mount.grow("256m");
    wait_acked(&load, 100).await;
    let resumed = load.acked_requests() - acked_before_full;
    let ready_after = {
        let start = Instant::now();
        loop {
            let status = get_status(addr, "/ready").await;
            if status == 200 || start.elapsed() > Duration::from_secs(30) {
                break status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let report = load.stop().await;
    let outcome = check_landed(&ch, &report.acked).await;
    drop(app);
    eprintln!(
        "disk full: {acked_before_full} requests acknowledged before the disk filled, {} answered \
         503, {resumed} acknowledged after space was freed; app RSS {rss_full} KiB while full",
        report.unavailable
    );
    assert!(resumed >= 100, "ingest resumes once space is freed");
    assert_eq!(ready_after, 200, "ready again once space is freed");
    assert_nothing_lost("disk full", &outcome, &report);
    drop(mount);
}
