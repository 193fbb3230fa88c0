//! Hostile input against the real running runtime: real HTTP over loopback, the embedded
//! log, and a real ClickHouse 18.16 server. One runtime serves every case, one after the
//! other; each case is named, and every failing case is reported by name at the end.
//!
//! Over 400 lines: the harness that runs every case against one app and checks the stream and
//! tables after each; the cases themselves are in `hostile_input/`.
//!
//! For each case the suite checks what a user would notice:
//!
//! - the answer: a 4xx with a JSON `{"error": <sentence>}` for bad input (or the 200 a valid
//!   request gets), and the case's own details (paths of invalid fields, headers, ...);
//! - what was stored: the exact records the case added to the `raw_data` and `typed` streams
//!   (none for a refused request), read back from the runtime's stream backend;
//! - that the server stays healthy: `GET /health` answers 200 and a good record posted right
//!   after the case is accepted.
//!
//! At the end every accepted record, and nothing else, must have landed in ClickHouse:
//! `final_stream` (after both transforms of the chained example) and `typed`, with strings
//! byte for byte as sent (SQL-looking strings, unusual Unicode, a 5 MiB string).
//!
//! Policies the cases pin down (see `moose-runtime/src/ingest/mod.rs`):
//!
//! - unknown fields are ignored and not stored, even when they hold deep nesting or lone
//!   surrogates; a duplicate key is an invalid record;
//! - an integer field accepts only JSON integers in its range: `1e2` and `1.5` are refused
//!   for a `u8`, `256` too; a float field accepts exponents (`1.5e3`);
//! - a number too large for its float type (`1e400` for `f64`, `1e39` for `f32`) is refused;
//!   `NaN` and `Infinity` are not JSON and are refused;
//! - lone surrogate escapes (`"\ud800"`) are refused; a byte order mark before the JSON is
//!   ignored (RFC 8259 lets parsers ignore one);
//! - a record is a JSON object: a positional array (`["a", 1]`), which serde would read as a
//!   struct, is refused;
//! - strings within the body limit are stored whole (a 5 MiB string lands as sent);
//! - route names are matched byte for byte against the raw path: `..`, percent-encoding,
//!   a trailing slash or another case never reach an API;
//! - requests that are not valid HTTP (a NUL byte in the request line, an oversized head,
//!   conflicting lengths) are refused by the HTTP layer with a bare status.

mod common;

// `common` may load the example too (for other tests); this suite uses its own copy.
#[allow(dead_code, clippy::duplicate_mod)]
#[path = "../examples/chained_transforms.rs"]
mod chained_transforms;

#[path = "hostile_input/body_cases.rs"]
mod body_cases;
#[path = "hostile_input/case.rs"]
mod case;
#[path = "hostile_input/http.rs"]
mod http;
#[path = "hostile_input/request_cases.rs"]
mod request_cases;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::app::{free_addr, test_config};
use common::clickhouse::TestClickHouse;
use moose::graph::ModelCodec;
use moose::prelude::*;
use moose::{Mode, Runtime};
use moose_runtime::stream::StreamBackend;
use serde_json::{Value, json};

use case::{Action, Case, Outcome, RAW};
use http::Answer;

/// A model with more types than the chained example's, behind `POST /ingest/typed`, with a
/// stream and a table.
#[data_model]
#[derive(Debug, Clone)]
pub struct Typed {
    #[key]
    pub id: String,
    pub small: u8,
    pub big: i64,
    pub ratio: f64,
    pub narrow: f32,
    pub flag: bool,
    pub note: Option<String>,
    pub text: String,
    pub tags: Vec<String>,
    pub payload: serde_json::Value,
}

/// Body and header timeouts of the runtime under test: short, so slow-client cases are quick.
const BODY_TIMEOUT_MS: u64 = 1000;
const HEADER_TIMEOUT_MS: u64 = 1000;

/// The chained example plus the `typed` pipeline.
fn app() -> App {
    let app = chained_transforms::app();
    app.ingest_pipeline::<Typed>(
        "typed",
        IngestPipelineConfig::new()
            .ingest(true)
            .stream(true)
            .table(true),
    )
    .expect("the typed pipeline is valid");
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_is_refused_clearly_stores_nothing_and_the_server_stays_healthy() {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    config.ingest.request_body_timeout = Duration::from_millis(BODY_TIMEOUT_MS);
    config.ingest.header_read_timeout = Duration::from_millis(HEADER_TIMEOUT_MS);
    let runtime = Runtime::start(&app(), &config, Mode::Dev)
        .await
        .expect("the runtime starts");
    let addr = runtime.http_addr().expect("the runtime serves HTTP");

    let mut cases = body_cases::cases();
    cases.extend(request_cases::cases());
    // The 5 MiB record goes last, so the streams read after every case stay small.
    cases.extend(body_cases::enormous_cases());
    let mut names = HashMap::new();
    for case in &cases {
        assert!(
            names.insert(case.name.clone(), ()).is_none(),
            "two cases are named `{}`",
            case.name
        );
    }

    let mut failures: Vec<String> = Vec::new();
    let mut landed_raw: Vec<Value> = Vec::new();
    let mut landed_typed: Vec<Value> = Vec::new();
    let total = cases.len();
    for (i, case) in cases.into_iter().enumerate() {
        let started = Instant::now();
        let name = case.name.clone();
        let raw = case.raw.clone();
        let typed = case.typed.clone();
        let expected = match &case.outcome {
            Outcome::Accepted => format!("200, {} stored", raw.len() + typed.len()),
            Outcome::Refused { status, .. } => format!("{status}, nothing stored"),
            Outcome::Bare { status } => format!("bare {status}, nothing stored"),
            Outcome::Disconnected => "disconnected, nothing stored".to_owned(),
            Outcome::Custom => format!("own checks, {} stored", raw.len() + typed.len()),
        };
        match run_case(addr, runtime.backend.as_ref(), case, i).await {
            Ok(alive) => {
                landed_raw.extend(raw);
                landed_raw.push(alive);
                landed_typed.extend(typed);
            }
            Err(message) => {
                failures.push(format!("case `{name}`: {message}"));
                // Whatever the failed case stored is unknown: stop comparing the tables,
                // the per-case failures already say what went wrong.
                landed_raw.clear();
                landed_typed.clear();
            }
        }
        eprintln!(
            "[{}/{total}] {name}: {expected} ({} ms)",
            i + 1,
            started.elapsed().as_millis()
        );
    }
    if failures.is_empty()
        && let Err(message) = check_tables(&ch, &landed_raw, &landed_typed).await
    {
        failures.push(format!("tables after every case: {message}"));
    }
    // A client stuck in its request head must not hold up a graceful shutdown.
    let mut stuck = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stuck, b"POST /ingest/raw_data HTTP/1.1\r\nho")
        .await
        .unwrap();
    if tokio::time::timeout(Duration::from_secs(30), runtime.shutdown())
        .await
        .is_err()
    {
        failures.push("shutdown waits forever for a client stuck in its request head".into());
    }
    drop(stuck);
    assert!(
        failures.is_empty(),
        "{} of {total} hostile-input cases failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// Runs one case and its checks; returns the good record posted after it.
async fn run_case(
    addr: SocketAddr,
    backend: &dyn StreamBackend,
    case: Case,
    index: usize,
) -> Result<Value, String> {
    let before = streams(backend).await?;
    let expected_records = case.raw.len() + case.typed.len();
    let exchanged = match case.action {
        Action::Send(bytes) => Some(http::exchange(addr, bytes).await),
        Action::Pieces {
            pieces,
            pause,
            half_close,
        } => Some(http::exchange_with(addr, pieces, pause, half_close).await),
        Action::Custom(f) => {
            f(addr).await?;
            None
        }
    };
    let answer = match (exchanged, &case.outcome) {
        (Some(Err(e)), Outcome::Disconnected) if e == http::CLOSED_WITHOUT_ANSWER => None,
        (Some(Ok(answer)), Outcome::Disconnected) => {
            return Err(format!(
                "expected the connection to be closed without an answer, got {}",
                answer.summary()
            ));
        }
        (Some(exchanged), _) => Some(exchanged?),
        (None, _) => None,
    };
    if let Some(answer) = &answer {
        check_answer(answer, &case.outcome, expected_records)?;
        if let Some(check) = case.check {
            check(answer).map_err(|e| format!("{e}; answer: {}", answer.summary()))?;
        }
    }
    let after = streams(backend).await?;
    let added = |name: &str, before: &[Value], after: &[Value], expected: &[Value]| {
        let added = multiset_difference(after, before)?;
        if multiset(&added) == multiset(expected) {
            Ok(())
        } else {
            Err(format!(
                "stream `{name}` gained {} record(s) {}, expected {} {}",
                added.len(),
                abbreviate(&added),
                expected.len(),
                abbreviate(expected)
            ))
        }
    };
    added("raw_data", &before.0, &after.0, &case.raw)?;
    added("typed", &before.1, &after.1, &case.typed)?;
    healthy(addr, index).await
}

fn check_answer(answer: &Answer, outcome: &Outcome, records: usize) -> Result<(), String> {
    let summary = answer.summary();
    match outcome {
        Outcome::Accepted => {
            if answer.status != 200 || answer.json() != json!({ "ingested": records }) {
                return Err(format!(
                    "expected 200 {{\"ingested\":{records}}}, got {summary}"
                ));
            }
        }
        Outcome::Refused { status, fragments } => {
            if answer.status != *status {
                return Err(format!("expected {status}, got {summary}"));
            }
            if !answer
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/json"))
            {
                return Err(format!("the answer is not JSON: {:?}", answer.headers));
            }
            let error = answer.error();
            if error.len() < 20 {
                return Err(format!("no clear `error` sentence: {summary}"));
            }
            // The sentence, and for invalid records what is wrong with each listed one.
            let mut said = error.clone();
            for record in answer.json()["records"].as_array().into_iter().flatten() {
                said.push_str("\n  ");
                said.push_str(record["message"].as_str().unwrap_or_default());
            }
            for fragment in fragments {
                if !said.contains(fragment) {
                    return Err(format!(
                        "the answer does not mention `{fragment}`: {}",
                        shorten(&said)
                    ));
                }
            }
        }
        Outcome::Bare { status } => {
            if answer.status != *status {
                return Err(format!("expected a bare {status}, got {summary}"));
            }
        }
        Outcome::Disconnected | Outcome::Custom => {}
    }
    Ok(())
}

/// Every record of the `raw_data` and `typed` streams, read from the running runtime's
/// stream backend (`GET /peek/typed` would show the table, which lags behind).
async fn streams(backend: &dyn StreamBackend) -> Result<(Vec<Value>, Vec<Value>), String> {
    Ok((
        read_stream(
            backend,
            "raw_data",
            ModelCodec::of::<chained_transforms::RawData>(),
        )
        .await?,
        read_stream(backend, "typed", ModelCodec::of::<Typed>()).await?,
    ))
}

/// A stream's records as JSON: the embedded log stores each model's binary form, read here
/// through the stream's model as `peek` reads it.
async fn read_stream(
    backend: &dyn StreamBackend,
    topic: &str,
    model: ModelCodec,
) -> Result<Vec<Value>, String> {
    let records = backend
        .latest(topic, usize::MAX)
        .await
        .map_err(|e| format!("reading stream `{topic}`: {e}"))?;
    records
        .iter()
        .map(|r| {
            let json = (model.payload_json)(&r.payload).map_err(|e| {
                format!(
                    "stream `{topic}` holds a record that is not a `{}`: {e}",
                    model.name
                )
            })?;
            serde_json::from_slice(&json)
                .map_err(|e| format!("stream `{topic}` holds a record that is not JSON: {e}"))
        })
        .collect()
}

/// `GET /health` answers 200 and a good record is accepted; returns that record.
async fn healthy(addr: SocketAddr, index: usize) -> Result<Value, String> {
    let health = http::exchange(addr, http::get("/health")).await?;
    if health.status != 200 || health.json() != json!({"status": "ok"}) {
        return Err(format!(
            "unhealthy afterwards: /health {}",
            health.summary()
        ));
    }
    let record = case::raw(&format!("alive-{index:03}"), 1.0);
    let good = http::exchange(addr, http::post_json(RAW, record.to_string())).await?;
    if good.status != 200 {
        return Err(format!(
            "a good record is refused afterwards: {}",
            good.summary()
        ));
    }
    Ok(record)
}

fn multiset(records: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for record in records {
        *counts.entry(record.to_string()).or_default() += 1;
    }
    counts
}

/// `after` minus `before`, as multisets; an error if `after` lost something.
fn multiset_difference(after: &[Value], before: &[Value]) -> Result<Vec<Value>, String> {
    let mut remaining = multiset(before);
    let mut added = Vec::new();
    for record in after {
        match remaining.get_mut(&record.to_string()) {
            Some(n) if *n > 0 => *n -= 1,
            _ => added.push(record.clone()),
        }
    }
    match remaining.iter().find(|(_, n)| **n > 0) {
        Some((lost, _)) => Err(format!("a stream lost a record: {}", shorten(lost))),
        None => Ok(added),
    }
}

fn abbreviate(records: &[Value]) -> String {
    let shown: Vec<String> = records
        .iter()
        .take(3)
        .map(|r| shorten(&r.to_string()))
        .collect();
    format!(
        "[{}{}]",
        shown.join(", "),
        if records.len() > 3 { ", ..." } else { "" }
    )
}

fn shorten(text: &str) -> String {
    if text.chars().count() > 200 {
        format!("{}...", text.chars().take(200).collect::<String>())
    } else {
        text.to_owned()
    }
}

/// Every accepted record, and nothing else, has landed in ClickHouse, strings byte for byte.
async fn check_tables(ch: &TestClickHouse, raw: &[Value], typed: &[Value]) -> Result<(), String> {
    // final_stream: the chained example keeps each raw record's id.
    let mut expected_ids: BTreeMap<String, u64> = BTreeMap::new();
    for record in raw {
        *expected_ids
            .entry(record["id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let final_ids = wait_for_rows(
        ch,
        "SELECT id, count() AS n FROM local.final_stream GROUP BY id",
        raw.len(),
        |row| {
            row["n"]
                .as_str()
                .and_then(|n| n.parse().ok())
                .or(row["n"].as_u64())
                .unwrap_or(0)
        },
    )
    .await?;
    let got_ids: BTreeMap<String, u64> = final_ids
        .iter()
        .map(|row| {
            let n = row["n"]
                .as_str()
                .and_then(|n| n.parse().ok())
                .or(row["n"].as_u64())
                .unwrap_or(0);
            (row["id"].as_str().unwrap_or_default().to_owned(), n)
        })
        .collect();
    if got_ids != expected_ids {
        let missing: Vec<&String> = expected_ids
            .keys()
            .filter(|id| got_ids.get(*id) != expected_ids.get(*id))
            .take(5)
            .collect();
        let unexpected: Vec<&String> = got_ids
            .keys()
            .filter(|id| !expected_ids.contains_key(*id))
            .take(5)
            .collect();
        return Err(format!(
            "final_stream: {} ids (expected {}); differing: {missing:?}, unexpected: {unexpected:?}",
            got_ids.len(),
            expected_ids.len()
        ));
    }

    let rows = wait_for_rows(
        ch,
        "SELECT id, small, toString(big) AS big, ratio, narrow, flag, note, text, tags, payload \
         FROM local.typed",
        typed.len(),
        |_| 1,
    )
    .await?;
    if rows.len() != typed.len() {
        return Err(format!(
            "typed: {} rows, expected {}",
            rows.len(),
            typed.len()
        ));
    }
    let by_id: HashMap<&str, &Value> = rows
        .iter()
        .map(|row| (row["id"].as_str().unwrap_or_default(), row))
        .collect();
    for record in typed {
        let id = record["id"].as_str().unwrap();
        let Some(row) = by_id.get(id) else {
            return Err(format!("typed: no row for `{}`", shorten(id)));
        };
        let stored = json!({
            "id": row["id"],
            "small": row["small"],
            "big": row["big"].as_str().and_then(|b| b.parse::<i64>().ok()),
            "ratio": row["ratio"],
            "narrow": row["narrow"],
            "flag": row["flag"].as_u64().map(|f| f == 1).or(row["flag"].as_bool()),
            "note": row["note"],
            "text": row["text"],
            "tags": row["tags"],
            "payload": row["payload"].as_str().and_then(|p| serde_json::from_str::<Value>(p).ok()),
        });
        if !same_row(&stored, record) {
            return Err(format!(
                "typed row `{}` is not stored as sent:\n stored {}\n sent   {}",
                shorten(id),
                shorten(&stored.to_string()),
                shorten(&record.to_string())
            ));
        }
    }
    Ok(())
}

/// Equal, comparing numbers by value (ClickHouse prints `1500` for `1500.0`).
fn same_row(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_row(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_row(v, w)))
        }
        _ => a == b,
    }
}

/// Polls `sql` until the rows' `weight` adds up to `expected` (or 60 s pass), then once
/// more after a pause, so late extra rows are seen too.
async fn wait_for_rows(
    ch: &TestClickHouse,
    sql: &str,
    expected: usize,
    weight: fn(&Value) -> u64,
) -> Result<Vec<Value>, String> {
    let start = Instant::now();
    loop {
        let rows = ch.client.query_json(sql).await.map_err(|e| e.to_string())?;
        let total: u64 = rows.iter().map(weight).sum();
        if total >= expected as u64 || start.elapsed() > Duration::from_secs(60) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Two sync intervals: anything that should not be there has had time to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    ch.client.query_json(sql).await.map_err(|e| e.to_string())
}
