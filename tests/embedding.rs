//! The runtime inside a program's own `#[tokio::main]`, its routes mounted in the program's
//! own axum server next to a route of the program's: `examples/embedded.rs`, run as a child
//! process exactly as its `main` is.

mod common;

#[allow(dead_code)]
#[path = "../examples/embedded.rs"]
mod embedded;

use std::time::Duration;

use common::app::{ChildApp, free_addr, is_child};
use common::clickhouse::TestClickHouse;

/// Entry point of the child: the example's own `main`, `#[tokio::main]` and all.
#[test]
#[ignore = "run only as a child process by the embedding test"]
fn child_embedded_main() {
    if is_child() {
        embedded::main().expect("the embedding program runs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedding_program_serves_its_own_route_and_moose_routes_behind_auth() {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let env = vec![
        ("MOOSE_CLICKHOUSE_URL", ch.server.http_url()),
        ("MOOSE_DATA_DIR", dir.path().display().to_string()),
        ("MOOSE_INGEST_TOKEN", "s3cret".to_owned()),
    ];
    let child =
        tokio::task::spawn_blocking(move || ChildApp::spawn("child_embedded_main", &env, addr))
            .await
            .unwrap();
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://{addr}{path}");

    let hello = client.get(url("/hello")).send().await.unwrap();
    assert_eq!(hello.status(), 200, "the program's own route");
    assert_eq!(
        hello.text().await.unwrap(),
        "hello from the embedding program"
    );

    let body = r#"[{"id": "a", "value": 1.5}, {"id": "b", "value": 2.5}]"#;
    let refused = client
        .post(url("/ingest/raw_data"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        401,
        "moose's routes keep their auth layer"
    );
    let peek = client.get(url("/peek/raw_data")).send().await.unwrap();
    assert_eq!(peek.status(), 401, "peek too");
    let accepted = client
        .post(url("/ingest/raw_data"))
        .bearer_auth("s3cret")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200, "{:?}", accepted.text().await);

    let mut rows = Vec::new();
    for _ in 0..100 {
        rows = ch
            .client
            .query_json("SELECT id, value FROM local.raw_data ORDER BY id")
            .await
            .unwrap_or_default();
        if rows.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        rows,
        [
            serde_json::json!({"id": "a", "value": 1.5}),
            serde_json::json!({"id": "b", "value": 2.5})
        ]
    );
    let status = tokio::task::spawn_blocking(move || child.terminate())
        .await
        .unwrap();
    assert!(
        status.success(),
        "the program exits cleanly on SIGTERM: {status}"
    );
}
