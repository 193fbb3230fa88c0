//! Ingest routes on a running app: versioned APIs side by side, `/ingest/<name>` reaching
//! the latest version, a custom path, and the 404 that lists them all.

mod common;

use moose::prelude::*;
use serde_json::json;

use common::app::{free_addr, post_json, test_config};
use common::clickhouse::TestClickHouse;

/// Version 1.9 of the events API.
#[data_model]
#[derive(Debug)]
pub struct EventV1 {
    /// Key.
    #[key]
    pub id: String,
}

/// Version 1.10: one more field.
#[data_model]
#[derive(Debug)]
pub struct EventV2 {
    /// Key.
    #[key]
    pub id: String,
    /// Added in 1.10.
    pub note: String,
}

fn app() -> Result<App, GraphError> {
    let app = App::new();
    let all = || {
        IngestPipelineConfig::new()
            .ingest(true)
            .stream(true)
            .table(true)
    };
    app.ingest_pipeline::<EventV1>("events", all().version("1.9"))?;
    app.ingest_pipeline::<EventV2>("events", all().version("1.10"))?;
    app.ingest_pipeline::<EventV1>("legacy", all().path("v0/events-old"))?;
    Ok(app)
}

async fn rows(ch: &TestClickHouse, table: &str) -> Vec<serde_json::Value> {
    ch.client
        .query_json(&format!("SELECT * FROM local.{table} ORDER BY id"))
        .await
        .unwrap()
}

#[tokio::test]
async fn versions_side_by_side_the_latest_at_the_bare_name_and_a_custom_path() {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    let runtime = Runtime::start(&app().unwrap(), &config, Mode::Dev)
        .await
        .unwrap();
    let addr = runtime.http_addr().unwrap();
    let client = reqwest::Client::new();
    let post = |path: &'static str, body: serde_json::Value| {
        let client = client.clone();
        async move { post_json(&client, addr, path, body.to_string()).await }
    };

    assert_eq!(
        post("/ingest/events/1.9", json!({"id": "old"})).await.0,
        200
    );
    assert_eq!(
        post("/ingest/events/1.10", json!({"id": "new", "note": "n"}))
            .await
            .0,
        200
    );
    // The bare name is 1.10 (numerically later than 1.9): a 1.9 record lacks `note`.
    let (status, body) = post("/ingest/events", json!({"id": "bare"})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("note"), "{body}");
    assert_eq!(
        post("/ingest/events", json!({"id": "bare", "note": "latest"}))
            .await
            .0,
        200
    );
    assert_eq!(
        post("/ingest/v0/events-old", json!({"id": "custom"}))
            .await
            .0,
        200
    );
    let (status, body) = post("/ingest/legacy", json!({"id": "x"})).await;
    assert_eq!(status, 404, "a custom path replaces the name: {body}");
    for path in [
        "/ingest/events",
        "/ingest/events/1.10",
        "/ingest/events/1.9",
        "/ingest/v0/events-old",
    ] {
        assert!(body.to_string().contains(path), "404 lists {path}: {body}");
    }

    let wait = |table: &'static str, n: usize| {
        let ch = &ch;
        async move {
            for _ in 0..300 {
                let got = rows(ch, table).await;
                if got.len() >= n {
                    return got;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            rows(ch, table).await
        }
    };
    assert_eq!(wait("events_1_9", 1).await, [json!({"id": "old"})]);
    assert_eq!(
        wait("events_1_10", 2).await,
        [
            json!({"id": "bare", "note": "latest"}),
            json!({"id": "new", "note": "n"})
        ]
    );
    assert_eq!(wait("legacy", 1).await, [json!({"id": "custom"})]);
    runtime.shutdown().await;
}

#[test]
fn two_apis_at_one_path_and_a_bad_path_are_refused_when_declared() {
    let app = App::new();
    let all = || IngestPipelineConfig::new().ingest(true).stream(true);
    app.ingest_pipeline::<EventV1>("events", all()).unwrap();
    let error = app
        .ingest_pipeline::<EventV1>("other", all().path("events"))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "ingest APIs `events` and `other` would both be served at `/ingest/events`; give one of them another `path` or version"
    );
    let error = app
        .ingest_pipeline::<EventV1>("third", all().path("/a/../b"))
        .unwrap_err();
    assert!(
        error.to_string().starts_with(
            "ingest pipeline `third`: `/a/../b` cannot be an ingest path: a path is `/`-separated segments"
        ),
        "{error}"
    );
    // Two versions of one name are fine; the same version twice is not.
    app.ingest_pipeline::<EventV1>("v", all().version("1"))
        .unwrap();
    app.ingest_pipeline::<EventV1>("v", all().version("2"))
        .unwrap();
    assert!(matches!(
        app.ingest_pipeline::<EventV1>("v", all().version("2")),
        Err(GraphError::DuplicateName { .. })
    ));
}
