//! Ingest authentication through the real runtime (embedded log, ClickHouse 18.16): with
//! `MOOSE_INGEST_TOKEN` set to a comma-separated list, every listed token is accepted, anything
//! else is refused with 401 and stores nothing, every route but `/health` and `/ready` (peek,
//! unknown paths) is behind the same check, and no token ever reaches a log line or an answer
//! (every log line of the run is captured at TRACE).

mod common;

#[allow(dead_code)]
#[path = "../examples/ingest_pipeline.rs"]
mod ingest_pipeline;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::app::{free_addr, test_config};
use common::clickhouse::TestClickHouse;
use moose::{Mode, Runtime};
use serde_json::{Value, json};

const ALPHA: &str = "tok-alpha-7f3a9c";
const BETA: &str = "tok-beta-91cc04";
const WRONG: &str = "tok-wrong-55e2d1";

/// Every log line, in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn listed_tokens_are_accepted_others_refused_and_none_is_ever_logged() {
    let logs = Captured::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .with_ansi(false)
        .init();
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    config.ingest.tokens = vec![ALPHA.to_owned(), BETA.to_owned()];
    let runtime = Runtime::start(&ingest_pipeline::app(), &config, Mode::Dev)
        .await
        .expect("starts");
    let client = reqwest::Client::new();
    let url = format!(
        "http://{}/ingest/raw_data",
        runtime.http_addr().expect("the runtime serves HTTP")
    );
    let record =
        |id: &str| json!({"id": id, "value": 1.0, "timestamp": "2024-01-02T03:04:05Z"}).to_string();
    let mut answers = Vec::new();
    for (id, authorization) in [
        ("none", None),
        ("wrong", Some(format!("Bearer {WRONG}"))),
        (
            "prefix",
            Some(format!("Bearer {}", &ALPHA[..ALPHA.len() - 1])),
        ),
        ("basic", Some(format!("Basic {ALPHA}"))),
        ("empty", Some("Bearer ".to_owned())),
        ("alpha", Some(format!("Bearer {ALPHA}"))),
        ("beta", Some(format!("bearer  {BETA} "))),
    ] {
        let mut request = client
            .post(&url)
            .header("content-type", "application/json")
            .body(record(id));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        answers.push(body.clone());
        match id {
            "alpha" | "beta" => assert_eq!(status, 200, "{id}: {body}"),
            _ => {
                assert_eq!(status, 401, "{id}: {body}");
                assert_eq!(challenge.as_deref(), Some("Bearer"), "{id}");
            }
        }
    }
    // An unknown route does not list the APIs to an unauthenticated caller.
    let status = client
        .post(format!(
            "http://{}/ingest/nope",
            runtime.http_addr().expect("the runtime serves HTTP")
        ))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    // Every route but the probes is behind the token: peek, unknown paths, any method.
    let base = format!(
        "http://{}",
        runtime.http_addr().expect("the runtime serves HTTP")
    );
    for (method, path) in [
        ("GET", "/peek/raw_data?n=10000"),
        ("GET", "/peek/nope"),
        ("GET", "/nowhere"),
        ("DELETE", "/ingest/raw_data"),
        ("GET", "/"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = client
            .request(method.clone(), format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let challenge = response.headers().get("www-authenticate").cloned();
        let body = response.text().await.unwrap();
        assert_eq!(status, 401, "{method} {path} without a token: {body}");
        assert_eq!(challenge.unwrap(), "Bearer", "{method} {path}");
        assert!(
            !body.contains("raw_data"),
            "{method} {path}: a refused caller learns no stream, table or API name: {body}"
        );
        let wrong = client
            .request(method.clone(), format!("{base}{path}"))
            .header("authorization", format!("Bearer {WRONG}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(wrong, 401, "{method} {path} with a wrong token");
    }
    // With a token the same routes answer as usual.
    let authorized = |path: &str| {
        client
            .get(format!("{base}{path}"))
            .header("authorization", format!("Bearer {BETA}"))
            .send()
    };
    assert_eq!(authorized("/peek/raw_data").await.unwrap().status(), 200);
    let unknown = authorized("/nowhere").await.unwrap();
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["known"], json!(["/ingest/raw_data"]), "{body}");
    // Probes stay open.
    for probe in ["/health", "/ready"] {
        let status = client
            .get(format!("{base}{probe}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200, "{probe} needs no token");
    }

    // Only the authorized records are stored.
    let start = Instant::now();
    let mut rows: Vec<Value> = Vec::new();
    while rows.len() < 2 && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        rows = ch
            .client
            .query_json("SELECT id FROM local.raw_data ORDER BY id")
            .await
            .unwrap_or_default();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rows = ch
        .client
        .query_json("SELECT id FROM local.raw_data ORDER BY id")
        .await
        .unwrap();
    assert_eq!(rows, [json!({"id": "alpha"}), json!({"id": "beta"})]);
    runtime.shutdown().await;

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("/ingest/raw_data"),
        "requests were traced, so the check below means something:\n{logs}"
    );
    for secret in [ALPHA, BETA, WRONG, &ALPHA[..ALPHA.len() - 1]] {
        assert!(!logs.contains(secret), "a token reached the logs:\n{logs}");
        for answer in &answers {
            assert!(!answer.contains(secret), "a token was echoed: {answer}");
        }
    }
}
