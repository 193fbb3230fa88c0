//! What a retried insert does on each ClickHouse version moose supports: the sync workers
//! send the same `insert_deduplication_token` when they retry a batch (see
//! `moose-runtime/src/worker/tests.rs` for the retry itself); a modern server (chdb) skips
//! the repeat on a table moose created, Debian's 18.16 (no tokens) stores it again.

mod common;

use common::clickhouse::TestClickHouse;
use moose::OlapConfig;
use moose::prelude::*;
use moose::schema::{ClickHouseCapabilities, Feature, ResolvedTable};

#[data_model]
pub struct Event {
    #[key]
    pub id: String,
    pub value: i64,
}

fn rows(table: &ResolvedTable, n: i64) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        Event {
            id: format!("e{i}"),
            value: i,
        }
        .write_row(table.column_types(), &mut out)
        .unwrap();
    }
    out
}

#[test]
fn a_modern_server_skips_a_batch_retried_with_its_token() {
    let table = ResolvedTable::resolve::<Event>(
        "local",
        "events",
        &OlapConfig::default(),
        &ClickHouseCapabilities::MODERN,
    )
    .unwrap();
    let ddl = table.create_table_sql();
    assert!(
        ddl.ends_with("SETTINGS non_replicated_deduplication_window = 1000"),
        "{ddl}"
    );
    let dir = tempfile::tempdir().unwrap();
    let ddl_file = dir.path().join("ddl.sql");
    let rows_file = dir.path().join("rows.bin");
    std::fs::write(&ddl_file, &ddl).unwrap();
    std::fs::write(&rows_file, rows(&table, 100)).unwrap();
    let structure: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("{} {}", c.name, c.ty))
        .collect();
    let batch = "moose:local.events:events:0:0-99";
    let output = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/chdb_dedup.py"
        ))
        .args([
            ddl_file.to_str().unwrap(),
            "local.events",
            &structure.join(", "),
            rows_file.to_str().unwrap(),
            batch,
            batch,
            "moose:local.events:events:1:0-99",
        ])
        .output()
        .expect("python3 runs (scripts/setup.sh installs chdb-core)");
    assert!(
        output.status.success(),
        "chdb failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "200",
        "the repeat of batch 0:0-99 is skipped; another batch with the same rows is not"
    );
}

#[tokio::test]
async fn clickhouse_18_16_stores_a_retried_batch_again() {
    let ch = TestClickHouse::start().await;
    let caps = ch.client.capabilities();
    assert!(!caps.supports(Feature::InsertDeduplicationToken));
    let table =
        ResolvedTable::resolve::<Event>("local", "events", &OlapConfig::default(), caps).unwrap();
    assert!(!table.create_table_sql().contains("SETTINGS"));
    ch.client.create_table(&table).await.unwrap();
    for _ in 0..2 {
        ch.client
            .insert_rows_once(&table, rows(&table, 100).into(), Some("moose:t:0:0-99"))
            .await
            .unwrap();
    }
    let count = ch
        .client
        .query_text("SELECT count() FROM local.events", "count")
        .await
        .unwrap();
    assert_eq!(
        count.trim(),
        "200",
        "18.16 has no insert deduplication tokens: a batch retried after a crash lands twice"
    );
}
