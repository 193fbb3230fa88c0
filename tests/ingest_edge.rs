//! The ingest API's edge as ordinary HTTP clients meet it: a body over the limit sent by
//! Python's urllib (which sends the whole body before reading the answer) gets a readable 413,
//! not a connection reset; connections over the cap get a 503 instead of piling up.

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
    let limit = config.ingest.body_limit;
    let runtime = Runtime::start(&ingest_pipeline::app(), &config, Mode::Dev)
        .await
        .expect("starts");
    let url = format!(
        "http://{}/ingest/raw_data",
        runtime.http_addr().expect("the runtime serves HTTP")
    );
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

/// Sends `request` on a new connection and reads until the server closes it.
fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_get_a_503_and_the_server_serves_again_once_they_close() {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    config.ingest.max_connections = 8;
    let runtime = Runtime::start(&ingest_pipeline::app(), &config, Mode::Dev)
        .await
        .expect("starts");
    let addr = runtime.http_addr().expect("the runtime serves HTTP");
    let health = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

    // Eight idle connections fill the cap (each waits for its request head).
    let idle: Vec<std::net::TcpStream> = (0..8)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let refused = tokio::task::spawn_blocking(move || exchange(addr, health))
        .await
        .unwrap();
    assert!(
        refused.starts_with("HTTP/1.1 503"),
        "a ninth connection is answered 503: {refused:?}"
    );
    assert!(refused.contains("retry-after: 1"), "{refused}");
    assert!(
        refused.contains("MOOSE_INGEST_MAX_CONNECTIONS"),
        "the answer names the setting: {refused}"
    );

    // Once they close, the server serves again.
    drop(idle);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let served = tokio::task::spawn_blocking(move || exchange(addr, health))
        .await
        .unwrap();
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
    runtime.shutdown().await;
}
