//! What the app binary writes to stderr: plain text without colour escapes when stderr is not
//! a terminal (a file, a pipe, a log collector), and one JSON object per line with
//! `MOOSE_LOG_FORMAT=json`. Runs the seed's chained example binary in `dev`; on Debian's
//! ClickHouse 18.16 it warns that `transformedAt` loses its sub-second digits, a line to look at.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::app::free_addr;
use common::clickhouse::TestClickHouse;

/// The example binaries cargo builds next to the test binaries.
fn example(name: &str) -> std::path::PathBuf {
    let deps = std::env::current_exe().unwrap();
    let path = deps
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.is_file(),
        "{} is built by `cargo test`",
        path.display()
    );
    path
}

/// Runs the chained example in dev until its stderr has a line mentioning `transformedAt`;
/// that line, and whether any stderr line had an ANSI escape.
fn warning_line(ch: &TestClickHouse, format: Option<&str>) -> (String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(example("chained_transforms"));
    command
        .arg("dev")
        .env("MOOSE_DATA_DIR", dir.path())
        .env("MOOSE_HTTP_ADDR", free_addr().to_string())
        .env("MOOSE_CLICKHOUSE_URL", ch.server.http_url())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    match format {
        Some(format) => command.env("MOOSE_LOG_FORMAT", format),
        None => command.env_remove("MOOSE_LOG_FORMAT"),
    };
    let mut child = command.spawn().unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let start = Instant::now();
    let mut escapes = false;
    let mut found = None;
    for line in stderr.lines() {
        let line = line.unwrap();
        escapes |= line.contains('\u{1b}');
        if line.contains("transformedAt") {
            found = Some(line);
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no warning within 60 s"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
    (found.expect("the app warns about transformedAt"), escapes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_plain_text_off_a_terminal_and_json_on_request() {
    let ch = TestClickHouse::start().await;
    let (line, escapes) = tokio::task::block_in_place(|| warning_line(&ch, None));
    assert!(!escapes, "no colour escapes in a pipe: {line:?}");
    assert!(line.contains(" WARN "), "{line}");

    let (line, _) = tokio::task::block_in_place(|| warning_line(&ch, Some("json")));
    let record: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("a JSON line ({e}): {line}"));
    assert_eq!(record["level"], "WARN", "{record}");
    assert!(
        record["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("transformedAt"),
        "{record}"
    );
    assert!(record["timestamp"].is_string(), "{record}");

    let output = Command::new(example("chained_transforms"))
        .arg("ls")
        .env("MOOSE_LOG_FORMAT", "xml")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("MOOSE_LOG_FORMAT=\"xml\" is not a log format; use `json` or `text`")
    );
}
