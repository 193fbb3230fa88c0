//! What a fault test acknowledged against what landed, by key: the counts every Kafka fault
//! test prints (acknowledged / stored / duplicated) and the loss it asserts is zero.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::app::post_json;
use super::clickhouse::TestClickHouse;

/// Ids sent, and the answer each request got.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Ids of requests answered 200: these must land.
    pub acked: Vec<String>,
    /// Answers by status (0: no answer at all).
    pub statuses: BTreeMap<u16, usize>,
    next: usize,
}

impl Ledger {
    /// Posts one batch of `n` new ids (`{"id", "value": 1}`) to `route`; its status.
    pub async fn post(
        &mut self,
        client: &reqwest::Client,
        addr: SocketAddr,
        route: &str,
        prefix: &str,
        n: usize,
    ) -> u16 {
        let ids: Vec<String> = (self.next..self.next + n)
            .map(|i| format!("{prefix}{i:08}"))
            .collect();
        self.next += n;
        let body: Vec<Value> = ids.iter().map(|id| json!({"id": id, "value": 1})).collect();
        let (status, _) = post_json(client, addr, route, Value::Array(body).to_string()).await;
        *self.statuses.entry(status).or_default() += 1;
        if status == 200 {
            self.acked.extend(ids);
        }
        status
    }

    /// Waits until every acknowledged id is in `table` (or `guard` passed); then prints and
    /// returns the counts, and fails the test if any acknowledged record is missing.
    pub async fn assert_all_landed(
        &self,
        ch: &TestClickHouse,
        table: &str,
        what: &str,
        guard: Duration,
    ) -> Counts {
        let start = Instant::now();
        let stored = loop {
            let stored = stored_ids(ch, table).await;
            if self.acked.iter().all(|id| stored.contains_key(id)) || start.elapsed() > guard {
                break stored;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let acked: BTreeSet<&String> = self.acked.iter().collect();
        let missing: Vec<&&String> = acked
            .iter()
            .filter(|id| !stored.contains_key(**id))
            .collect();
        let counts = Counts {
            acknowledged: acked.len(),
            stored: stored.len(),
            duplicated: stored.values().filter(|&&n| n > 1).count(),
            missing: missing.len(),
        };
        eprintln!(
            "{what}: {} acknowledged, {} stored, {} duplicated, {} missing; answers by status {:?}",
            counts.acknowledged, counts.stored, counts.duplicated, counts.missing, self.statuses
        );
        assert!(
            missing.is_empty(),
            "{what}: {} acknowledged records never landed, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
        counts
    }
}

/// The counts a fault test prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub acknowledged: usize,
    pub stored: usize,
    pub duplicated: usize,
    pub missing: usize,
}

/// Rows per id in `table`.
pub async fn stored_ids(ch: &TestClickHouse, table: &str) -> BTreeMap<String, usize> {
    ch.client
        .query_json(&format!("SELECT id, count() AS n FROM {table} GROUP BY id"))
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            let n = r["n"]
                .as_u64()
                .or_else(|| r["n"].as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(0);
            (r["id"].as_str().unwrap_or_default().to_owned(), n as usize)
        })
        .collect()
}
