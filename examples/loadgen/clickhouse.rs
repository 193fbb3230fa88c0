//! ClickHouse over plain HTTP for the load generator: queries that watch the final table, and
//! the direct `JSONEachRow` insert reference.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::mpsc;

use crate::load::{self, Load, Sample, Target};
use crate::records::BodyFormat;
use crate::workload::Records;

/// A ClickHouse HTTP endpoint.
#[derive(Clone)]
pub struct Http {
    pub url: String,
    pub user: String,
    pub password: String,
    pub client: reqwest::Client,
}

impl Http {
    pub fn new(url: &str, user: &str, password: &str) -> Self {
        Self {
            url: url.trim_end_matches('/').to_owned(),
            user: user.to_owned(),
            password: password.to_owned(),
            client: load::client(2),
        }
    }

    /// Runs `sql`; its text output.
    pub async fn query(&self, sql: &str) -> Result<String, String> {
        let response = self
            .client
            .post(format!("{}/", self.url))
            .basic_auth(&self.user, Some(&self.password))
            .body(sql.to_owned())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(format!("{status}: {}", text.trim()))
        }
    }

    /// Rows in the active parts of `database.table`: what a `SELECT` sees, read from
    /// metadata so that watching a table does not load the server.
    pub async fn rows(&self, database: &str, table: &str) -> Result<u64, String> {
        let text = self
            .query(&format!(
                "SELECT sum(rows) FROM system.parts WHERE active AND database = '{database}' AND table = '{table}'"
            ))
            .await?;
        text.trim().parse().map_err(|e| format!("{text:?}: {e}"))
    }

    /// Waits until no merge is running (at most `limit`), so one phase's merges do not
    /// slow the next one down.
    pub async fn settle(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            match self.query("SELECT count() FROM system.merges").await {
                Ok(text) if text.trim() == "0" => return,
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

/// What watching the final table found.
pub struct Watched {
    /// When every record was queryable.
    pub complete: Instant,
    /// From a sampled record's request to its first appearance in a `SELECT` (µs).
    pub queryable: Histogram<u64>,
}

/// How often the final table is looked at: the resolution of the queryable latency.
const WATCH_EVERY: Duration = Duration::from_millis(20);

/// Which table to watch and how a sample is found in it: `SELECT <shown> ... WHERE <key> IN
/// (<literals>)` prints each found sample's `SampleKey::shown`.
pub struct Watch<'a> {
    pub database: &'a str,
    pub table: &'a str,
    pub shown: &'a str,
    pub key: &'a str,
}

/// Watches the table until it holds `expected` rows, timing each sample from its request to
/// the first `SELECT` that returns it. Query errors (a server that is down) are skipped.
/// `None` if no row arrived for `patience`.
pub async fn watch(
    http: &Http,
    what: Watch<'_>,
    expected: u64,
    mut samples: mpsc::UnboundedReceiver<Sample>,
    patience: Duration,
    progress: indicatif::ProgressBar,
) -> Option<Watched> {
    let Watch {
        database,
        table,
        shown,
        key,
    } = what;
    let qualified = format!("`{database}`.`{table}`");
    let mut pending: Vec<Sample> = Vec::new();
    let mut queryable = load::new_histogram();
    let mut last_rows = 0;
    let mut last_progress = Instant::now();
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        while let Ok(sample) = samples.try_recv() {
            pending.push(sample);
        }
        if !pending.is_empty() {
            let literals: Vec<&str> = pending
                .iter()
                .take(1000)
                .map(|s| s.key.literal.as_str())
                .collect();
            let sql = format!(
                "SELECT {shown} FROM {qualified} WHERE {key} IN ({}) FORMAT TabSeparated",
                literals.join(",")
            );
            if let Ok(text) = http.query(&sql).await {
                let seen = Instant::now();
                let found: std::collections::HashSet<&str> = text.lines().collect();
                pending.retain(|s| {
                    if found.contains(s.key.shown.as_str()) {
                        let micros = seen.duration_since(s.sent).as_micros() as u64;
                        queryable.saturating_record(micros.max(1));
                        false
                    } else {
                        true
                    }
                });
            }
        }
        if let Ok(rows) = http.rows(database, table).await {
            progress.set_position(rows.min(expected));
            if rows != last_rows {
                last_rows = rows;
                last_progress = Instant::now();
            }
            if rows >= expected && pending.is_empty() && samples.is_closed() && samples.is_empty() {
                return Some(Watched {
                    complete: Instant::now(),
                    queryable,
                });
            }
            if rows >= expected && last_progress.elapsed() > Duration::from_secs(5) {
                // Every row is there; samples still pending were sent more than once.
                return Some(Watched {
                    complete: last_progress,
                    queryable,
                });
            }
        }
        if last_progress.elapsed() > patience {
            eprintln!(
                "loadgen: {qualified} stopped at {last_rows} of {expected} rows for {patience:?}"
            );
            return None;
        }
    }
}

/// The reference: the same records inserted straight into ClickHouse table `table`, made
/// with `create` (in `database`), with `INSERT ... FORMAT JSONEachRow`, same batches, same
/// connections. Rows per second.
pub async fn direct_insert(
    http: &Http,
    database: &str,
    (table, create): (&str, String),
    load: Load,
    records: Records,
) -> Result<f64, String> {
    http.query(&format!("CREATE DATABASE IF NOT EXISTS `{database}`"))
        .await?;
    http.query(&create).await?;
    let query = format!("INSERT INTO `{database}`.`{table}` FORMAT JSONEachRow");
    let url = reqwest::Url::parse_with_params(&format!("{}/", http.url), [("query", &query)])
        .map_err(|e| e.to_string())?;
    let target = Target {
        url: url.to_string(),
        format: BodyFormat::Ndjson,
        auth: Some((http.user.clone(), http.password.clone())),
    };
    let progress = crate::progress::bar("direct insert", load.records as u64);
    let sent = load::send(load, records, target, None, &progress).await;
    progress.finish_and_clear();
    let elapsed = sent.last_ack.duration_since(sent.first_send);
    let rows = http.rows(database, table).await?;
    if rows != load.records as u64 {
        return Err(format!(
            "the direct insert stored {rows} rows, not {}",
            load.records
        ));
    }
    Ok(load.records as f64 / elapsed.as_secs_f64())
}
