//! `GET /openapi.json` on the live seed app: the document Python's `openapi-spec-validator`
//! accepts, behind the ingest token like every route but the probes, and `schemathesis`
//! (positive and negative cases, every check) finds no 5xx and no answer that contradicts it.
//! Both tools come from PyPI through `scripts/setup.sh --tests`.

#[allow(dead_code)]
#[path = "../examples/chained_transforms.rs"]
mod chained_transforms;
mod common;

use std::process::Command;

use moose::{Mode, Runtime};
use serde_json::Value;

use common::app::{free_addr, test_config};
use common::clickhouse::TestClickHouse;

const TOKEN: &str = "openapi-test-token";

/// Cases schemathesis generates per operation and phase: bounded, so the suite stays quick.
const MAX_EXAMPLES: &str = "60";

fn python_tool(args: &[&str]) -> (bool, String) {
    let hooks = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/schemathesis_ndjson.py"
    );
    let output = Command::new("python3")
        .args(args)
        .env("SCHEMATHESIS_HOOKS", hooks)
        .output()
        .unwrap_or_else(|e| panic!("python3 runs ({e}); run scripts/setup.sh --tests"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !text.contains("No module named"),
        "a Python tool is missing; run scripts/setup.sh --tests:\n{text}"
    );
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_app_serves_a_valid_openapi_document_that_schemathesis_cannot_contradict() {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    config.ingest.tokens = vec![TOKEN.into()];
    let app = chained_transforms::app();
    let runtime = Runtime::start(&app, &config, Mode::Dev).await.unwrap();
    let addr = runtime.http_addr().unwrap();
    let url = format!("http://{addr}/openapi.json");
    let client = reqwest::Client::new();

    let anonymous = client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401, "the document is behind the token");
    let document: Value = client
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let post = &document["paths"]["/ingest/raw_data"]["post"];
    for status in [
        "200", "400", "401", "404", "405", "408", "413", "415", "503",
    ] {
        assert!(post["responses"][status].is_object(), "{status} documented");
    }
    assert_eq!(
        document["components"]["schemas"]["RawData"]["required"],
        serde_json::json!(["id", "value"])
    );
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(
        post["requestBody"]["content"]["application/x-ndjson"].is_object(),
        "NDJSON is documented"
    );
    // The `openapi` subcommand writes the same document.
    let offline = moose_runtime::cli::openapi_json(&app, &config).unwrap();
    assert_eq!(offline["paths"], document["paths"]);

    let file = dir.path().join("openapi.json");
    std::fs::write(&file, document.to_string()).unwrap();
    let (valid, report) = python_tool(&["-m", "openapi_spec_validator", file.to_str().unwrap()]);
    assert!(
        valid,
        "openapi-spec-validator refuses the document:\n{report}"
    );

    let auth = format!("Authorization: Bearer {TOKEN}");
    let (passed, report) = tokio::task::spawn_blocking(move || {
        python_tool(&[
            "-m",
            "schemathesis.cli",
            "run",
            &url,
            "--header",
            &auth,
            "--checks",
            "all",
            "--max-examples",
            MAX_EXAMPLES,
            "--generation-deterministic",
            "--no-color",
        ])
    })
    .await
    .unwrap();
    println!("{report}");
    assert!(
        passed,
        "schemathesis found answers that contradict the document:\n{report}"
    );
    assert!(report.contains("No issues found"), "{report}");
    runtime.shutdown().await;
}
