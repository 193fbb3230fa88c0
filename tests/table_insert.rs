//! Direct table inserts from code (`OlapTable::insert`) against a real ClickHouse (Debian's
//! 18.16), one test per strategy: each counts the rows stored and checks the indices and
//! reasons returned. Rows are invalid when a float is NaN or infinite or a date is before
//! 1970 (18.16's `Date` cannot hold it: the row encoder refuses it); ClickHouse itself
//! refuses rows of the `guarded` table with a negative value (a `throwIf` column, the way a
//! CHECK constraint would; 18.16 has none). The app runs under a namespace and `readings` is
//! versioned, so every insert must find the physical name the runtime created.

mod common;

use chrono::NaiveDate;
use common::app::{free_addr, test_config};
use common::clickhouse::TestClickHouse;
use moose::prelude::*;
use moose::{InsertError, InsertReport, InsertStrategy};
use moose_runtime::graph::{FailedRow, RowFailure};

#[data_model]
#[derive(Debug, Clone)]
pub struct Reading {
    #[key]
    pub id: String,
    pub value: i64,
    pub ratio: f64,
    pub day: NaiveDate,
}

const NAMESPACE: &str = "acme";
/// `readings`, version 1.0, under the namespace.
const READINGS: &str = "local.acme_readings_1_0";
/// `guarded` under the namespace, created by the test (ExternallyManaged).
const GUARDED: &str = "local.acme_guarded";
const GUARDED_DDL: &str = "CREATE TABLE local.acme_guarded (id String, value Int64, \
     ratio Float64, day Date, guard UInt8 MATERIALIZED throwIf(value < 0)) \
     ENGINE = MergeTree ORDER BY id";

fn app() -> (App, OlapTable<Reading>, OlapTable<Reading>) {
    let app = App::new();
    let versioned = OlapConfig {
        version: Some("1.0".into()),
        ..OlapConfig::default()
    };
    let readings = app.table::<Reading>("readings", versioned).unwrap();
    let guarded = app
        .table::<Reading>(
            "guarded",
            OlapConfig::default().life_cycle(LifeCycle::ExternallyManaged),
        )
        .unwrap();
    (app, readings, guarded)
}

fn reading(i: usize) -> Reading {
    Reading {
        id: format!("r{i:03}"),
        value: i as i64,
        ratio: i as f64 / 4.0,
        day: NaiveDate::from_ymd_opt(2024, 5, 1).unwrap(),
    }
}

fn not_a_number(mut r: Reading) -> Reading {
    r.ratio = f64::NAN;
    r
}

fn before_1970(mut r: Reading) -> Reading {
    r.day = NaiveDate::from_ymd_opt(1969, 12, 31).unwrap();
    r
}

fn negative(mut r: Reading) -> Reading {
    r.value = -1;
    r
}

/// A running app (namespace `acme`) on `ch`, with `guarded` created first.
async fn start(ch: &TestClickHouse, app: &App) -> (Runtime, tempfile::TempDir) {
    ch.client.execute(GUARDED_DDL).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    config.namespace = Some(NAMESPACE.into());
    let runtime = Runtime::start(app, &config, Mode::Dev)
        .await
        .unwrap_or_else(|e| panic!("the app starts: {e}"));
    (runtime, dir)
}

async fn ids(ch: &TestClickHouse, table: &str) -> Vec<String> {
    ch.client
        .query_json(&format!("SELECT id FROM {table} ORDER BY id"))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn indices(rows: &[FailedRow]) -> Vec<usize> {
    rows.iter().map(|r| r.index).collect()
}

fn ids_of(range: impl IntoIterator<Item = usize>) -> Vec<String> {
    range.into_iter().map(|i| reading(i).id).collect()
}

#[tokio::test]
async fn insert_before_the_start_and_after_the_shutdown_is_refused() {
    let (app, readings, _) = app();
    let early = readings
        .insert([reading(0)], InsertStrategy::FailFast)
        .await
        .unwrap_err();
    assert!(
        matches!(&early, InsertError::NotRunning { table } if table == "readings"),
        "{early:?}"
    );
    assert!(early.to_string().contains("not running"), "{early}");

    let ch = TestClickHouse::start().await;
    let (runtime, _dir) = start(&ch, &app).await;
    runtime.shutdown().await;
    let late = readings
        .insert([reading(0)], InsertStrategy::Isolate)
        .await
        .unwrap_err();
    assert!(matches!(late, InsertError::NotRunning { .. }), "{late:?}");
    assert!(ids(&ch, READINGS).await.is_empty());
}

#[tokio::test]
async fn fail_fast_inserts_all_or_nothing() {
    let ch = TestClickHouse::start().await;
    let (app, readings, guarded) = app();
    let (runtime, _dir) = start(&ch, &app).await;

    // One invalid row: refused with its index and path, nothing inserted.
    let mut rows: Vec<Reading> = (0..10).map(reading).collect();
    rows[6] = not_a_number(rows[6].clone());
    let error = readings
        .insert(rows, InsertStrategy::FailFast)
        .await
        .unwrap_err();
    let InsertError::InvalidRows { table, rows, .. } = &error else {
        panic!("expected InvalidRows, got {error:?}");
    };
    assert_eq!((table.as_str(), indices(rows)), ("readings", vec![6]));
    assert!(
        matches!(&rows[0].reason, RowFailure::Invalid { path, .. } if path == ".ratio"),
        "{error}"
    );
    assert!(ids(&ch, READINGS).await.is_empty(), "nothing was inserted");

    // All valid: every row lands in the namespaced, versioned table.
    let report = readings
        .insert((0..10).map(reading), InsertStrategy::FailFast)
        .await
        .unwrap();
    assert_eq!(
        report,
        InsertReport {
            total: 10,
            inserted: 10,
            failed: vec![],
        }
    );
    assert_eq!(ids(&ch, READINGS).await, ids_of(0..10));

    // A row ClickHouse refuses: the whole insert is refused, nothing stored.
    let mut rows: Vec<Reading> = (0..10).map(reading).collect();
    rows[3] = negative(rows[3].clone());
    let error = guarded
        .insert(rows, InsertStrategy::FailFast)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, InsertError::Rejected { resume_at: 0, physical, .. } if physical.contains("acme_guarded")),
        "{error:?}"
    );
    assert!(ids(&ch, GUARDED).await.is_empty(), "nothing was inserted");
    runtime.shutdown().await;
}

#[tokio::test]
async fn discard_skips_invalid_rows_up_to_the_ratio() {
    let ch = TestClickHouse::start().await;
    let (app, readings, _) = app();
    let (runtime, _dir) = start(&ch, &app).await;
    let rows = || {
        let mut rows: Vec<Reading> = (0..10).map(reading).collect();
        rows[3] = not_a_number(rows[3].clone());
        rows[7] = before_1970(rows[7].clone());
        rows
    };

    // 2 of 10 invalid, 10% allowed: refused, nothing inserted.
    let error = readings
        .insert(rows(), InsertStrategy::discard(0.1))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, InsertError::InvalidRows { allowed: Some(r), rows, .. } if *r == 0.1 && indices(rows) == [3, 7]),
        "{error:?}"
    );
    assert!(ids(&ch, READINGS).await.is_empty(), "nothing was inserted");

    // 20% allowed: the 8 valid rows land, the 2 invalid ones are reported.
    let report = readings
        .insert(rows(), InsertStrategy::discard(0.2))
        .await
        .unwrap();
    assert_eq!((report.total, report.inserted), (10, 8));
    assert_eq!(indices(&report.failed), [3, 7]);
    let paths: Vec<&str> = report
        .failed
        .iter()
        .map(|f| match &f.reason {
            RowFailure::Invalid { path, .. } => path.as_str(),
            other => panic!("expected an invalid row, got {other:?}"),
        })
        .collect();
    assert_eq!(paths, [".ratio", ".day"], "{report:?}");
    let stored = ids(&ch, READINGS).await;
    assert_eq!(
        stored,
        ids_of((0..10).filter(|i| ![3, 7].contains(i))),
        "exactly the valid rows"
    );

    // A ratio that is not a share of the rows.
    let error = readings
        .insert(rows(), InsertStrategy::discard(1.5))
        .await
        .unwrap_err();
    assert!(
        matches!(error, InsertError::InvalidErrorRatio { .. }),
        "{error:?}"
    );
    assert_eq!(
        ids(&ch, READINGS).await.len(),
        8,
        "nothing more was inserted"
    );
    runtime.shutdown().await;
}

#[tokio::test]
async fn isolate_stores_every_storable_row_and_names_the_others() {
    let ch = TestClickHouse::start().await;
    let (app, _, guarded) = app();
    let (runtime, _dir) = start(&ch, &app).await;
    let mut rows: Vec<Reading> = (0..40).map(reading).collect();
    for i in [2, 11, 12, 39] {
        rows[i] = negative(rows[i].clone());
    }
    rows[5] = not_a_number(rows[5].clone());
    rows[17] = before_1970(rows[17].clone());

    let report = guarded.insert(rows, InsertStrategy::Isolate).await.unwrap();
    let failed: Vec<(usize, &str)> = report
        .failed
        .iter()
        .map(|f| {
            let kind = match &f.reason {
                RowFailure::Invalid { .. } => "invalid",
                RowFailure::Rejected { message } => {
                    assert!(
                        message.contains("throwIf"),
                        "ClickHouse's reason: {message}"
                    );
                    "rejected"
                }
            };
            (f.index, kind)
        })
        .collect();
    assert_eq!(
        failed,
        [
            (2, "rejected"),
            (5, "invalid"),
            (11, "rejected"),
            (12, "rejected"),
            (17, "invalid"),
            (39, "rejected"),
        ]
    );
    assert_eq!((report.total, report.inserted), (40, 34));
    assert_eq!(
        ids(&ch, GUARDED).await,
        ids_of((0..40).filter(|i| ![2, 5, 11, 12, 17, 39].contains(i))),
        "every other row is stored, once"
    );
    runtime.shutdown().await;
}
