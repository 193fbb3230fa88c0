//! What a fault test acknowledged against what landed, by key: the counts every Kafka fault
//! test prints (acknowledged / stored / duplicated) and the loss it asserts is zero.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::clickhouse::TestClickHouse;

/// Ids sent, and the answer each request got.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Ids of requests answered 200: these must land.
    pub acked: Vec<String>,
    /// Answers by status (0: no answer at all).
    pub statuses: BTreeMap<u16, usize>,
    /// 503 answers without a `Retry-After` header.
    pub unavailable_without_retry_after: usize,
    next: usize,
}

/// The value posted with the `i`th id: distinct per record, so a row that lands with the
/// wrong value is noticed.
pub fn value_of(i: usize) -> f64 {
    i as f64 + 0.25
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
        let body: Vec<Value> = (self.next - n..self.next)
            .zip(&ids)
            .map(|(i, id)| json!({"id": id, "value": value_of(i)}))
            .collect();
        let answer = client
            .post(format!("http://{addr}{route}"))
            .header("content-type", "application/json")
            .body(Value::Array(body).to_string())
            .send()
            .await;
        let status = match &answer {
            Ok(response) => {
                let status = response.status().as_u16();
                if status == 503 && response.headers().get("retry-after").is_none() {
                    self.unavailable_without_retry_after += 1;
                }
                status
            }
            Err(_) => 0,
        };
        *self.statuses.entry(status).or_default() += 1;
        if status == 200 {
            self.acked.extend(ids);
        }
        status
    }

    /// Waits until every acknowledged id is in `table` (or `guard` passed); then prints and
    /// returns the counts, and fails the test if any acknowledged record is missing or, when
    /// `value` names a column, landed with another value than it was posted with.
    pub async fn assert_all_landed(
        &self,
        ch: &TestClickHouse,
        table: &str,
        value: Option<&str>,
        what: &str,
        guard: Duration,
    ) -> Counts {
        let start = Instant::now();
        let stored = loop {
            let stored = stored_ids(ch, table, value).await;
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
            duplicated: stored.values().filter(|r| r.0 > 1).count(),
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
        if value.is_some() {
            let wrong: Vec<(&String, f64)> = self
                .acked
                .iter()
                .filter_map(|id| {
                    let got = stored.get(id)?.1;
                    let i: usize = id[id.len() - 8..].parse().ok()?;
                    (got != value_of(i)).then_some((id, got))
                })
                .collect();
            assert!(
                wrong.is_empty(),
                "{what}: {} records landed with another value than posted, e.g. {:?}",
                wrong.len(),
                &wrong[..wrong.len().min(5)]
            );
        }
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

/// Rows per id in `table`, and one of their `value`s (0 without a value column).
pub async fn stored_ids(
    ch: &TestClickHouse,
    table: &str,
    value: Option<&str>,
) -> BTreeMap<String, (usize, f64)> {
    let value = value.unwrap_or("0");
    let number = |v: &Value| {
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(f64::NAN)
    };
    ch.client
        .query_json(&format!(
            "SELECT id, count() AS n, any({value}) AS v FROM {table} GROUP BY id"
        ))
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap_or_default().to_owned(),
                (number(&r["n"]) as usize, number(&r["v"])),
            )
        })
        .collect()
}
