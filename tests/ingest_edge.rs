//! The ingest API's edge as ordinary HTTP clients meet it: a body over the limit sent by
//! Python's urllib (which sends the whole body before reading the answer) gets a readable 413,
//! not a connection reset.

mod common;

#[allow(dead_code)]
#[path = "../examples/ingest_pipeline.rs"]
mod ingest_pipeline;

use common::app::{free_addr, test_config};
use common::clickhouse::TestClickHouse;
use moose::{Mode, Runtime};

/// Posts `size` bytes of JSON-looking data with urllib; prints `<status> <body>`.
const PYTHON_POST: &str = r#"
import sys, urllib.request, urllib.error
url, size = sys.argv[1], int(sys.argv[2])
body = b"[" + b" " * (size - 2) + b"]"
request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(request, timeout=60) as response:
        print(response.status, response.read().decode())
except urllib.error.HTTPError as error:
    print(error.code, error.read().decode())
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_from_urllib_gets_a_413_it_can_read() {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    let limit = config.ingest_body_limit;
    let runtime = Runtime::start(&ingest_pipeline::app(), &config, Mode::Dev)
        .await
        .expect("starts");
    let url = format!("http://{}/ingest/raw_data", runtime.http_addr);
    let size = (limit + 3 * 1024 * 1024).to_string();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args(["-c", PYTHON_POST, &url, &size])
            .output()
            .expect("python3 is required (scripts/setup.sh installs it)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "urllib failed instead of reading the answer (a reset connection?):\n{stderr}"
    );
    let (status, body) = stdout.trim().split_once(' ').unwrap_or_default();
    assert_eq!(status, "413", "{stdout}");
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["limit_bytes"], limit, "{body}");
    runtime.shutdown().await;
}
